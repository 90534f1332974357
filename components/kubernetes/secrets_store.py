"""`SecretsStoreCsi`: the Secrets Store CSI driver and its cloud provider, and the SecretProviderClass builder."""

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi

from components._common import gpu
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _platform_policies, _values
from components.kubernetes._checks import check_bool, check_choice, check_known_arguments
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace
from components.kubernetes.gpu_stack import GpuPoolTaintArgs, check_pool_taints

PROVIDERS = ("aws", "azure")
DEFAULT_NAMESPACE = "secrets-store-csi"
DEFAULT_SYNC_SECRETS = False
DEFAULT_CLOUD_API_CIDRS: list[str] = []
DEFAULT_GPU_POOL_TAINTS: list[GpuPoolTaintArgs] = []
DEFAULT_PROTECT = False

SECRETS_TIER = _platform_policies.SECRETS_TIER
DRIVER_NAME = "secrets-store.csi.k8s.io"
"""The CSI driver name pods' `csi` volumes name (the chart's CSIDriver object)."""
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"
SECRET_PROVIDER_CLASS_NAME = "app-secrets"
"""The SecretProviderClass of a serving namespace (`ModelServingNamespace`), which `ModelDeployment` mounts."""
SYNCED_SECRET_NAME = "app-secrets"
"""The Kubernetes Secret the driver syncs a serving namespace's secrets into (one key per secret), for env vars."""
SECRETS_MOUNT_PATH = "/var/run/secrets/app"
"""Where `ModelDeployment` mounts each secret file (`<path>/<file>`), read-only."""
AKS_ADDON_NAMESPACE = "kube-system"
"""Where the AKS `azureKeyvaultSecretsProvider` add-on runs the driver and the Azure provider."""
DRIVER_RELEASE = "secrets-store-csi-driver"
AWS_PROVIDER_RELEASE = "secrets-store-csi-driver-provider-aws"

SECRET_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
"""A secret name valid in all four places it is used: a Key Vault secret name (letters, digits, hyphens), a
Secrets Manager name segment, a file name and a Kubernetes Secret key."""


class SecretsStoreCsiArgs(TypedDict, total=False):
    """Arguments of `SecretsStoreCsi`."""

    provider: Required[str]
    """`aws` (install the driver and the AWS Secrets Manager provider) or `azure` (the AKS
    `azureKeyvaultSecretsProvider` add-on already runs both in kube-system: nothing is installed). Required."""

    namespace: str
    """Namespace of the driver and the AWS provider (Pod Security `privileged`, tier `secrets`). Defaults to
    secrets-store-csi."""

    aws_region: pulumi.Input[str]
    """The cluster's AWS region (aws only): the provider then never reads nodes and pods to find it. Defaults to the
    provider looking the region up from the node."""

    sync_secrets: bool
    """Let the driver copy mounted secrets into Kubernetes Secrets (`secretObjects`), which env vars need (aws
    only; the AKS add-on always can). The risk: the driver's ServiceAccount gets a ClusterRole reading and writing
    every Secret in the cluster (the driver caches Secrets cluster-wide), and synced values are stored in etcd
    (encrypted with the cluster's KMS key); the policy packs flag that ClusterRole. Defaults to false (files
    only)."""

    cloud_api_cidrs: list[str]
    """Where the AWS provider may reach STS and Secrets Manager on TCP 443: the VPC CIDR when both have interface
    endpoints. Defaults to none, meaning any address on 443 (the public endpoints have no fixed ranges)."""

    gpu_pool_taints: pulumi.Input[list[GpuPoolTaintArgs]]
    """Every taint of the cluster's GPU pools (`{key, value, effect}`; the same list `GpuStack` takes, also as a
    foundation stack's output): the DaemonSets tolerate each exactly, so a serving pod on any GPU pool can mount its
    secrets. Defaults to none (the GPU contract's own taints)."""

    protect: bool
    """Protect the driver chart (its CRDs: deleting them deletes every SecretProviderClass) against `pulumi
    destroy` (`protect` + `retainOnDelete`). Set in prod. Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra namespace labels; cannot override the tier or Pod Security labels. Defaults to none."""


class SecretsStoreCsi(pulumi.ComponentResource):
    """The Secrets Store CSI driver with a cloud provider, through which pods mount secrets from the cloud's store.

    On AWS the driver and the AWS Secrets Manager provider are charts; on AKS the cluster's
    `azureKeyvaultSecretsProvider` add-on runs both, so nothing is installed. Either way a pod's secrets are fetched
    with the pod's own service-account token, exchanged for its namespace's cloud identity (IRSA, Entra workload
    identity): the identity's grants, not the cluster, decide what a pod can read.

    Creates: on AKS nothing (the add-on's own objects serve); on AWS:
    - the namespace, Pod Security `privileged` (the driver container is privileged and both DaemonSets mount host
      paths: the kubelet's pods directory with mount propagation, and the provider socket directory; Pod Security
      `baseline` forbids both), tier `secrets`;
    - the secrets-store-csi-driver chart: the CSIDriver (`tokenRequests` for `sts.amazonaws.com`), the
      SecretProviderClass CRDs and the driver DaemonSet on every node, GPU nodes included, with rotation on;
    - the secrets-store-csi-driver-provider-aws chart: the provider DaemonSet next to it;
    - NetworkPolicies: default deny, DNS, the API server out for both, HTTPS out for the provider only.

    Security defaults: no secret sync (files only) unless `sync_secrets`; no inbound traffic; tolerations for the
    node agents' taints rather than the chart's tolerate-everything; the provider's region given so it needs no node
    or pod reads.
    """

    namespace: pulumi.Output[str]
    """Namespace the driver and provider run in (kube-system on AKS, the add-on's)."""

    provider: pulumi.Output[str]
    """The provider: aws or azure (the SecretProviderClass `provider`)."""

    driver_name: pulumi.Output[str]
    """The CSI driver name pods' volumes reference."""

    def __init__(self, name: str, args: SecretsStoreCsiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        provider = args.get("provider")
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        sync_secrets = args.get("sync_secrets", DEFAULT_SYNC_SECRETS)
        cidrs = args.get("cloud_api_cidrs", DEFAULT_CLOUD_API_CIDRS)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, SecretsStoreCsiArgs)
        check_choice(problems, "provider", provider, PROVIDERS)
        check_namespace_name(problems, "namespace", namespace)
        check_bool(problems, "syncSecrets", sync_secrets)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        pool_taints = args.get("gpu_pool_taints", DEFAULT_GPU_POOL_TAINTS)
        taints: pulumi.Input[list[gpu.Taint]] = (
            pool_taints.apply(_resolved_pool_taints)
            if isinstance(pool_taints, pulumi.Output)
            else check_pool_taints(problems, "gpuPoolTaints", pool_taints)
        )
        if not isinstance(cidrs, list):
            problems.add("cloudApiCidrs", "must be a list of CIDRs")
        else:
            for index, cidr in enumerate(cidrs):
                try:
                    ipaddress.ip_network(cidr, strict=True)
                except (TypeError, ValueError) as error:
                    problems.add(f"cloudApiCidrs[{index}]", f"{cidr!r} is not a CIDR such as 10.0.0.0/16: {error}")
        if provider == "azure":
            for key, path in (
                ("aws_region", "awsRegion"),
                ("sync_secrets", "syncSecrets"),
                ("cloud_api_cidrs", "cloudApiCidrs"),
                ("namespace", "namespace"),
            ):
                if key in args:
                    problems.add(path, "aws only: on AKS the azureKeyvaultSecretsProvider add-on runs the driver")
        problems.raise_if_any(f"SecretsStoreCsi '{name}'")

        super().__init__("mlplatform:index:SecretsStoreCsi", name, {}, opts)

        self.provider = pulumi.Output.from_input(str(provider))
        self.driver_name = pulumi.Output.from_input(DRIVER_NAME)
        if provider == "azure":
            self.namespace = pulumi.Output.from_input(AKS_ADDON_NAMESPACE)
        else:
            ns = create_namespace(
                f"{name}-namespace",
                namespace,
                tier=SECRETS_TIER,
                enforce="privileged",
                extra_labels=namespace_labels,
                parent=self,
            )
            _platform_policies.create_network_policies(
                f"{name}-netpol",
                ns.metadata.name,
                _platform_policies.secrets_store_network_policies(aws_provider=True, cloud_api_cidrs=list(cidrs)),
                parent=self,
            )
            driver = _charts.helm_chart(
                f"{name}-driver",
                _charts.SECRETS_STORE_CSI_DRIVER,
                release_name=DRIVER_RELEASE,
                namespace=ns.metadata.name,
                values=pulumi.Output.from_input(taints).apply(
                    lambda resolved: _values.secrets_store_csi_driver_values(
                        pool_taints=resolved,
                        token_audiences=[_values.IRSA_TOKEN_AUDIENCE],
                        sync_secrets=bool(sync_secrets),
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
            )
            # The provider registers on the driver's socket directory; ordering only spares it a restart at install.
            _charts.helm_chart(
                f"{name}-aws-provider",
                _charts.SECRETS_STORE_CSI_PROVIDER_AWS,
                release_name=AWS_PROVIDER_RELEASE,
                namespace=ns.metadata.name,
                values=pulumi.Output.all(taints, args.get("aws_region")).apply(
                    lambda resolved: _values.secrets_store_aws_provider_values(
                        pool_taints=resolved[0], region=resolved[1]
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[driver]),
            )
            self.namespace = ns.metadata.name
        self.register_outputs({"namespace": self.namespace, "provider": self.provider, "driverName": self.driver_name})


def _resolved_pool_taints(value: object) -> list[gpu.Taint]:
    """The GPU pool taints of a resolved Output (a foundation stack's `gpuPoolTaints`), or an error naming them."""
    problems = Problems()
    taints = check_pool_taints(problems, "gpuPoolTaints", value)
    problems.raise_if_any("SecretsStoreCsi gpuPoolTaints (resolved)")
    return taints


def check_secret_names(problems: Problems, path: str, names: object) -> list[str]:
    """Record a problem for every name that is not a valid, unique secret name; return the valid ones."""
    if not isinstance(names, list):
        problems.add(path, "must be a list of secret names")
        return []
    valid: list[str] = []
    for index, secret in enumerate(names):
        if not isinstance(secret, str) or not SECRET_NAME.match(secret):
            problems.add(f"{path}[{index}]", f"{secret!r} is not a secret name (1-63 letters, digits, inner hyphens)")
        elif secret in valid:
            problems.add(f"{path}[{index}]", f"duplicate secret '{secret}'")
        else:
            valid.append(secret)
    return valid


def aws_objects(name_prefix: str, secrets: Sequence[str]) -> str:
    """The AWS provider's `objects` parameter: each secret `<name_prefix>/<name>` from Secrets Manager, as file `<name>`.

    JSON, which is YAML: the provider parses the parameter as YAML.
    """
    return json.dumps(
        [
            {"objectName": f"{name_prefix}/{secret}", "objectType": "secretsmanager", "objectAlias": secret}
            for secret in secrets
        ]
    )


def azure_objects(secrets: Sequence[str]) -> str:
    """The Azure provider's `objects` parameter: `{array: [<one YAML document per object>]}`, each a vault secret."""
    return json.dumps(
        {
            "array": [
                json.dumps({"objectName": secret, "objectType": "secret", "objectAlias": secret}) for secret in secrets
            ]
        }
    )


def secret_provider_class_spec(
    *,
    provider: str,
    secrets: Sequence[str],
    sync: bool,
    aws_region: pulumi.Input[str] | None = None,
    name_prefix: str | None = None,
    client_id: pulumi.Input[str] | None = None,
    key_vault_name: pulumi.Input[str] | None = None,
    tenant_id: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    """The spec of a serving namespace's SecretProviderClass, bound to the namespace's identity.

    AWS: `usePodIdentity: "false"`, so the provider exchanges the pod's token for the IRSA role its ServiceAccount
    names; every object is `<name_prefix>/<secret>` (the role's policy allows exactly that prefix). Azure:
    `clientID` is the namespace's workload identity, whose federation trusts only the namespace's ServiceAccount,
    in the namespace's own vault; never the node's managed identity (`useVMManagedIdentity` stays unset).
    With `sync`, every secret is also synced into the Secret `app-secrets` (one key per secret) for env vars.

    Args:
        provider: aws or azure.
        secrets: the secret names the namespace may mount.
        sync: declare `secretObjects` (a synced Kubernetes Secret).
        aws_region: the secrets' region (aws).
        name_prefix: the Secrets Manager name prefix of the namespace (aws).
        client_id: the namespace's workload identity client ID (azure).
        key_vault_name: the namespace's vault (azure).
        tenant_id: the vault's Entra tenant (azure).
    """
    parameters: dict[str, pulumi.Input[str]]
    if provider == "aws":
        parameters = {"usePodIdentity": "false", "objects": aws_objects(str(name_prefix), secrets)}
        if aws_region is not None:
            parameters["region"] = aws_region
    else:
        parameters = {
            "usePodIdentity": "false",
            "clientID": client_id,  # type: ignore[dict-item]
            "keyvaultName": key_vault_name,  # type: ignore[dict-item]
            "tenantId": tenant_id,  # type: ignore[dict-item]
            "objects": azure_objects(secrets),
        }
    spec: dict[str, Any] = {"provider": provider, "parameters": parameters}
    if sync and secrets:
        spec["secretObjects"] = [
            {
                "secretName": SYNCED_SECRET_NAME,
                "type": "Opaque",
                "labels": {"app.kubernetes.io/managed-by": "secrets-store-csi-driver"},
                "data": [{"objectName": secret, "key": secret} for secret in secrets],
            }
        ]
    return spec


def secret_volume() -> dict[str, Any]:
    """The pod volume of a serving namespace's secrets: the CSI driver, read-only, its SecretProviderClass."""
    return {
        "name": SECRET_PROVIDER_CLASS_NAME,
        "csi": {
            "driver": DRIVER_NAME,
            "readOnly": True,
            "volumeAttributes": {"secretProviderClass": SECRET_PROVIDER_CLASS_NAME},
        },
    }


def secret_mounts_and_env(secrets: Sequence[Mapping[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The container's read-only mounts and env entries for `secrets` ({name, env?, file?}).

    Each secret is one file, `<SECRETS_MOUNT_PATH>/<file or name>` (a `subPath` of the CSI volume, so the container
    sees only the secrets it names; a subPath file keeps the value the pod started with: rotation reaches it, like
    env vars, at the next restart). A secret with `env` is also that variable, by reference to the synced Secret:
    the value is never in the pod spec.
    """
    mounts = [
        {
            "name": SECRET_PROVIDER_CLASS_NAME,
            "mountPath": f"{SECRETS_MOUNT_PATH}/{secret.get('file') or secret['name']}",
            "subPath": secret["name"],
            "readOnly": True,
        }
        for secret in secrets
    ]
    env = [
        {"name": secret["env"], "valueFrom": {"secretKeyRef": {"name": SYNCED_SECRET_NAME, "key": secret["name"]}}}
        for secret in secrets
        if secret.get("env")
    ]
    return mounts, env
