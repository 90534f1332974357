"""`EncryptedStorageClass`: the cluster's default StorageClass, encrypted with the platform's customer-managed key."""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common.validation import Problems, require_args_mapping
from components.kubernetes._checks import check_object_name

DEFAULT_CLASS_NAME = "mlplatform-encrypted"
DEFAULT_IS_DEFAULT = True
DEFAULT_RETAIN = False
ENCRYPTION_PARAMETERS = {
    "ebs.csi.aws.com": ("encrypted", "kmsKeyId"),
    "disk.csi.azure.com": ("diskEncryptionSetID",),
}
"""Parameters that carry the customer-managed key, per CSI driver (HIPAA-ENC-K8S-STORAGECLASS)."""


class EncryptedStorageClassArgs(TypedDict):
    """Arguments of EncryptedStorageClass."""

    provisioner: pulumi.Input[str]
    """CSI driver: `ebs.csi.aws.com` (EKS) or `disk.csi.azure.com` (AKS), from the cluster's `storageClass` output.
    Required."""
    parameters: pulumi.Input[Mapping[str, str]]
    """Driver parameters naming the key: EBS `encrypted`/`kmsKeyId`, Azure Disk `diskEncryptionSetID`. Required."""
    class_name: NotRequired[str]
    """Name of the StorageClass. Defaults to mlplatform-encrypted."""
    is_default: NotRequired[bool]
    """Mark it as the cluster default, so claims without a class are encrypted too. Defaults to true."""
    retain: NotRequired[bool]
    """Keep volumes when their claims are deleted (prod). Defaults to false."""


class EncryptedStorageClass(pulumi.ComponentResource):
    """A StorageClass whose volumes are encrypted with the platform's customer-managed key.

    Creates:
    - a `storage.k8s.io/v1` StorageClass with `WaitForFirstConsumer` binding (volumes land in the zone of
      their pod) and volume expansion allowed.

    Security defaults: the cloud layer supplies the key parameters; a class without them is rejected when the
    provisioner is known. With `retain`, deleting a claim keeps the volume (no data loss in prod).
    """

    class_name: pulumi.Output[str]
    """The StorageClass name to use in volume claims."""

    def __init__(self, name: str, args: EncryptedStorageClassArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        class_name = args.get("class_name", DEFAULT_CLASS_NAME)
        check_object_name(problems, "className", class_name)
        provisioner, parameters = args.get("provisioner"), args.get("parameters")
        if provisioner is None:
            problems.add("provisioner", "required: the CSI driver from the cluster's storageClass output")
        if parameters is None:
            problems.add("parameters", "required: the encryption parameters from the cluster's storageClass output")
        if isinstance(provisioner, str) and isinstance(parameters, Mapping):
            missing = [key for key in ENCRYPTION_PARAMETERS.get(provisioner, ()) if not parameters.get(key)]
            if missing:
                problems.add(
                    "parameters", f"{provisioner} volumes need {', '.join(missing)} to be encrypted with the key"
                )
        problems.raise_if_any(f"EncryptedStorageClass '{name}'")
        super().__init__("mlplatform:index:EncryptedStorageClass", name, {}, opts)
        annotations = (
            {"storageclass.kubernetes.io/is-default-class": "true"}
            if args.get("is_default", DEFAULT_IS_DEFAULT)
            else {}
        )
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=class_name, annotations=annotations),
            provisioner=provisioner,
            parameters=parameters,
            reclaim_policy="Retain" if args.get("retain", DEFAULT_RETAIN) else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.class_name = storage_class.metadata.apply(lambda metadata: metadata.name)
        self.register_outputs({"className": self.class_name})
