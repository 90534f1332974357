"""`EfaDevicePlugin`: makes the EFA interfaces of EKS GPU nodes schedulable (`vpc.amazonaws.com/efa`)."""

import re
from collections.abc import Iterable, Mapping
from typing import Any, Required, TypedDict

import pulumi

from components._common import gpu
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts
from components.kubernetes._checks import check_choice, check_known_arguments, check_object_name

DEFAULT_NAMESPACE = "kube-system"
RELEASE = "aws-efa-k8s-device-plugin"
"""The Helm release name: the DaemonSet is then `aws-efa-k8s-device-plugin` (the release contains the chart name)."""
IMAGE_TAG = "v0.5.20"
"""The plugin image tag the pinned chart ships (Chart.yaml `appVersion`, values.yaml `image.tag`)."""
IMAGE_PATH = "eks/aws-efa-k8s-device-plugin"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
"""The well-known node label of the EC2 instance type (the chart's `supportedInstanceLabels.keys` default)."""
EKS_IMAGE_ACCOUNT = "602401143452"
EKS_IMAGE_ACCOUNTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
            "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
            "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        ),
        EKS_IMAGE_ACCOUNT,
    ),
    "af-south-1": "877085696533",
    "ap-east-1": "800184023465",
    "ap-south-2": "900889452093",
    "ap-southeast-3": "296578399912",
    "ap-southeast-4": "491585149902",
    "ca-west-1": "761377655185",
    "eu-central-2": "900612956339",
    "eu-south-1": "590381155156",
    "eu-south-2": "455263428931",
    "il-central-1": "066635153087",
    "me-central-1": "759879836304",
    "me-south-1": "558608220178",
}  # fmt: skip
"""The account of the regional ECR registry EKS publishes its add-on images to, by region (EKS user guide, "View
Amazon container image registries for Amazon EKS add-ons", https://docs.aws.amazon.com/eks/latest/userguide/
add-ons-images.html). The chart defaults to the us-west-2 registry; pulling from the cluster's own region keeps
the image in-region (and inside the EU registries the policy packs allow)."""

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

RESOURCES: dict[str, Any] = {"requests": {"cpu": "10m", "memory": "20Mi"}, "limits": {"memory": "128Mi"}}
"""The chart's requests, stated, and a memory limit bounding a leak (the chart sets none)."""
SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": True,
    "privileged": True,
    "runAsNonRoot": False,
    "runAsUser": 0,
}
"""The chart's container context, stated: the plugin opens the node's /dev/infiniband devices and the kubelet's
device-plugin socket directory, so it runs privileged in a namespace that admits that (kube-system)."""


class EfaPoolTaintArgs(TypedDict, total=False):
    """A taint of an EFA pool, in Kubernetes form."""

    key: Required[str]
    """Taint key."""
    value: str
    """Taint value. Defaults to empty."""
    effect: str
    """NoSchedule, PreferNoSchedule or NoExecute. Defaults to NoSchedule."""


class EfaDevicePluginArgs(TypedDict, total=False):
    """Arguments of `EfaDevicePlugin`."""

    region: Required[str]
    """The cluster's AWS region: the plugin's image comes from EKS's registry in that region. Required."""

    image_repository: str
    """The plugin image repository, for a region EKS_IMAGE_ACCOUNTS does not list (or a pull-through mirror).
    Defaults to `<account>.dkr.ecr.<region>.amazonaws.com/eks/aws-efa-k8s-device-plugin`."""

    namespace: str
    """Namespace of the DaemonSet; it must admit privileged pods. Defaults to kube-system (as AWS installs it)."""

    pool_taints: list[EfaPoolTaintArgs]
    """Taints of the EFA pools beyond the GPU contract's (which the plugin always tolerates), e.g. a `workload` or
    spot taint: one exact toleration each. Defaults to none."""


class EfaDevicePlugin(pulumi.ComponentResource):
    """The AWS EFA device plugin on the EFA-enabled GPU nodes of an EKS cluster.

    Creates:
    - the `aws-efa-k8s-device-plugin` chart (helm.v4.Chart from https://aws.github.io/eks-charts, pinned): a DaemonSet
      that advertises each node's EFA interfaces as `vpc.amazonaws.com/efa`, only on nodes labelled
      `vpc.amazonaws.com/efa.present: "true"` (the EFA pools of `AwsGpuCluster`), tolerating the GPU contract's
      taints and the given pool taints, with its image from the cluster region's EKS registry.

    Security defaults: the plugin is privileged (device access) and runs only on EFA nodes, in a namespace that is
    already privileged for node agents; it mounts no API token.
    """

    namespace: pulumi.Output[str]
    """Namespace of the device plugin."""

    node_selector: pulumi.Output[dict[str, str]]
    """The node labels the plugin selects (what an EFA pool must carry)."""

    def __init__(self, name: str, args: EfaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        region = args.get("region")
        image_repository = args.get("image_repository")
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        pool_taints = args.get("pool_taints", [])

        problems = Problems()
        check_known_arguments(problems, args, EfaDevicePluginArgs)
        check_object_name(problems, "name", name)
        check_object_name(problems, "namespace", namespace)
        if not isinstance(region, str) or not _REGION.match(region):
            problems.add("region", f"{region!r} is not an AWS region such as eu-west-1")
        elif image_repository is None and region not in EKS_IMAGE_ACCOUNTS:
            problems.add(
                "imageRepository",
                f"required in {region}: EKS_IMAGE_ACCOUNTS does not know its EKS image registry; give "
                "<account>.dkr.ecr.<region>.amazonaws.com/eks/aws-efa-k8s-device-plugin from the EKS user guide",
            )
        if image_repository is not None and (not isinstance(image_repository, str) or not image_repository):
            problems.add("imageRepository", "must be an image repository without a tag")
        taints = check_pool_taints(problems, pool_taints)
        problems.raise_if_any(f"EfaDevicePlugin '{name}'")

        super().__init__("mlplatform:index:EfaDevicePlugin", name, {}, opts)
        values = efa_device_plugin_values(
            image_repository=image_repository or image_repository_for(str(region)), pool_taints=taints
        )
        self._chart = _charts.helm_chart(
            f"{name}-efa-device-plugin",
            _charts.AWS_EFA_DEVICE_PLUGIN,
            release_name=RELEASE,
            namespace=namespace,
            values=values,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = pulumi.Output.from_input(namespace)
        self.node_selector = pulumi.Output.from_input(efa_node_selector())
        self.register_outputs({"namespace": self.namespace, "nodeSelector": self.node_selector})


def check_pool_taints(problems: Problems, pool_taints: object) -> list[gpu.Taint]:
    """Record the problems of `poolTaints`; return the well-formed ones."""
    taints: list[gpu.Taint] = []
    if not isinstance(pool_taints, list):
        problems.add("poolTaints", "must be a list of {key, value, effect}")
        return taints
    for index, taint in enumerate(pool_taints):
        path = f"poolTaints[{index}]"
        if not isinstance(taint, Mapping) or not isinstance(taint.get("key"), str) or not taint.get("key"):
            problems.add(path, "must have a non-empty `key`")
            continue
        effect = taint.get("effect", "NoSchedule")
        check_choice(problems, f"{path}.effect", effect, _TAINT_EFFECTS)
        if effect in _TAINT_EFFECTS:
            taints.append(gpu.Taint(taint["key"], str(taint.get("value", "")), effect))
    return taints


def image_repository_for(region: str) -> str:
    """The plugin's image repository in `region`'s EKS registry (`EKS_IMAGE_ACCOUNTS`)."""
    return f"{EKS_IMAGE_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/{IMAGE_PATH}"


def efa_node_selector() -> dict[str, str]:
    """The nodes the plugin runs on: those of the EFA pools."""
    return {gpu.EFA_PRESENT_LABEL: "true"}


def efa_device_plugin_values(*, image_repository: str, pool_taints: Iterable[gpu.Taint] = ()) -> dict[str, Any]:
    """Values of the EFA device plugin chart (aws/eks-charts stable/aws-efa-k8s-device-plugin v0.5.30).

    The chart turns `supportedInstanceLabels` into a required node affinity; it is narrowed here from the chart's
    every-EFA-type list to the GPU types the platform accepts for EFA pools (`gpu.AWS_EFA_GPU_INSTANCE_TYPES`). The
    node selector keeps the plugin to the EFA pools, and the tolerations are the GPU contract's agent tolerations
    (`gpu.gpu_agent_tolerations`) plus one per extra pool taint.

    Args:
        image_repository: the plugin image repository (tag: `IMAGE_TAG`).
        pool_taints: the EFA pools' taints beyond the GPU contract's.
    """
    return {
        "image": {"repository": image_repository, "tag": IMAGE_TAG},
        "supportedInstanceLabels": {
            "keys": [INSTANCE_TYPE_LABEL],
            "values": sorted(gpu.AWS_EFA_GPU_INSTANCE_TYPES),
        },
        "nodeSelector": efa_node_selector(),
        "tolerations": gpu.gpu_agent_tolerations(pool_taints),
        "resources": {key: dict(value) for key, value in RESOURCES.items()},
        "securityContext": dict(SECURITY_CONTEXT),
    }


EFA_DEVICE_PLUGIN_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "image.repository",
        "image.tag",
        "supportedInstanceLabels.keys*",
        "supportedInstanceLabels.values*",
        "nodeSelector*",
        "tolerations*",
        "resources*",
        "securityContext*",
    }
)
"""Every values key `efa_device_plugin_values` sets, each read in the chart's `values.yaml` and used by
`templates/daemonset.yaml` at aws/eks-charts 5239609 (chart v0.5.30). A `*` key is copied whole into the object."""
