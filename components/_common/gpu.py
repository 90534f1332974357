"""The GPU contract every layer agrees on: taints, labels, tolerations, placement, runtimes and instance catalogs.

The cloud layer (EKS managed node groups, AKS agent pools) puts these taints and labels on GPU nodes; the
Kubernetes layer (device plugin / GPU operator, DCGM exporter, node exporter, log shipper, serving pods)
derives its tolerations and node selectors from the same constants, so a new pool type or a new agent
cannot drift out of sync. Facts: ../shared/REFERENCE.md (EKS GPU taint `nvidia.com/gpu=true:NO_SCHEDULE`,
AKS `sku=gpu:NoSchedule`, device plugin node affinity on `nvidia.com/gpu.present=true`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Cloud = Literal["aws", "azure", "kubernetes"]

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource name the NVIDIA device plugin advertises and pods request."""

GPU_QUOTA_KEY = f"requests.{GPU_RESOURCE}"
"""ResourceQuota key for GPUs: extended resources accept only the `requests.` prefix."""

GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
"""Node label on every GPU node; the device plugin's and GPU operator's default node affinity keys off it."""

GPU_POOL_LABEL = "mlplatform.io/gpu-pool"
"""Node label naming the platform GPU pool a node belongs to (for per-pool dashboards and scheduling)."""

ACCELERATOR_LABEL = "mlplatform.io/accelerator"
"""Node label naming the accelerator model, e.g. `nvidia-a10g`, for workload placement."""

AKS_ACCELERATOR_LABEL = "kubernetes.azure.com/accelerator"
"""Label AKS itself sets on GPU nodes (value `nvidia`); informational, never relied on alone."""

WORKLOAD_LABEL = "mlplatform.io/workload"
"""Node label (and training taint key) saying which kind of work a GPU pool is for: `training` or `serving`."""

TRAINING_WORKLOAD = "training"
"""`WORKLOAD_LABEL` value of pools reserved for training: serving pods never land on them or scale them up."""

SERVING_WORKLOAD = "serving"
"""`WORKLOAD_LABEL` value of pools for model serving (the default kind of GPU pool)."""

SERVING_SERVICE_ACCOUNT = "model-server"
"""The service account serving pods run as in each serving namespace; cloud identities trust exactly this one."""
TRACKING_SERVICE_ACCOUNT = "mlflow"
"""The service account the experiment-tracking server runs as; its cloud identity (IRSA role, workload identity)
trusts exactly this one."""
TRAINING_SERVICE_ACCOUNT = "trainer"
"""The service account training jobs run as in each training namespace (`TrainingNamespace` creates it); the
training identities of both clouds trust exactly this one."""

NodeEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

_EKS_EFFECTS: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}


# A dataclass, not a NamedTuple like the records below: taints travel inside Outputs (`gpuPoolTaints`), and
# `Output.from_input` rebuilds every tuple it meets as a plain tuple.
@dataclass(frozen=True)
class Taint:
    """A node taint in Kubernetes form, convertible to each cloud's API shape."""

    key: str
    value: str
    effect: NodeEffect = "NoSchedule"

    def eks(self) -> dict[str, str]:
        """The EKS managed node group form (effect as the EKS API enum, e.g. `NO_SCHEDULE`)."""
        return {"key": self.key, "value": self.value, "effect": _EKS_EFFECTS[self.effect]}

    def aks(self) -> str:
        """The AKS agent pool form, `key=value:Effect`."""
        return f"{self.key}={self.value}:{self.effect}"

    def kubernetes(self) -> dict[str, str]:
        """The Kubernetes Node/Karpenter form."""
        return {"key": self.key, "value": self.value, "effect": self.effect}

    def toleration(self) -> dict[str, str]:
        """A toleration matching exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}

    def tolerated_by(self, toleration: Mapping[str, Any]) -> bool:
        """Whether `toleration` tolerates this taint, by Kubernetes' rule (`Toleration.ToleratesTaint`).

        An empty effect matches every effect, an empty key with `Exists` every taint; `Equal` (the default
        operator) compares values, `Exists` ignores them.
        """
        effect = toleration.get("effect") or ""
        if effect and effect != self.effect:
            return False
        key = toleration.get("key") or ""
        if key and key != self.key:
            return False
        operator = toleration.get("operator") or "Equal"
        if operator == "Exists":
            return True
        return operator == "Equal" and (toleration.get("value") or "") == self.value


NVIDIA_GPU_TAINT = Taint(GPU_RESOURCE, "true", "NoSchedule")
"""The taint EKS GPU pools carry (terraform-aws-eks and pulumi examples use the same)."""

AKS_SKU_GPU_TAINT = Taint("sku", "gpu", "NoSchedule")
"""The taint Microsoft documents for AKS GPU pools."""

GPU_TAINTS: dict[Cloud, tuple[Taint, ...]] = {
    "aws": (NVIDIA_GPU_TAINT,),
    # Both on AKS: `sku=gpu` is the AKS convention, `nvidia.com/gpu` is what NVIDIA's charts tolerate
    # out of the box, so neither an AKS-documented workload nor an NVIDIA default is locked out.
    "azure": (AKS_SKU_GPU_TAINT, NVIDIA_GPU_TAINT),
    # Existing clusters: the taint cluster admins most commonly use; the tolerations below cover both.
    "kubernetes": (NVIDIA_GPU_TAINT,),
}

AKS_SPOT_TAINT = Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")
"""The taint AKS puts on every spot pool; GPU work tolerates it because spot GPU pools are the dev preset."""

CRITICAL_ADDONS_TAINT = Taint("CriticalAddonsOnly", "true", "NoSchedule")
"""Taint on the AKS system pool (AKS baseline) so only critical add-ons land there."""

TRAINING_TAINT = Taint(WORKLOAD_LABEL, TRAINING_WORKLOAD, "NoSchedule")
"""Taint on training pools: only pods that ask for training capacity (and the GPU agents) tolerate it."""

SPOT_TAINTS: dict[Cloud, tuple[Taint, ...]] = {
    "aws": (),  # EKS managed node groups put no taint on spot capacity.
    "azure": (AKS_SPOT_TAINT,),
    "kubernetes": (),
}
"""The taints a cloud adds to a spot GPU pool by itself."""


def gpu_taints(cloud: Cloud) -> tuple[Taint, ...]:
    """The taints every GPU pool of `cloud` carries."""
    return GPU_TAINTS[cloud]


def gpu_pool_taints(
    cloud: Cloud, *, spot: bool = False, workload: str | None = None, extra: Iterable[Taint] = ()
) -> tuple[Taint, ...]:
    """Every taint one GPU pool of `cloud` carries: the contract's, the cloud's spot taint, training, extras.

    Args:
        cloud: the pool's cloud.
        spot: the pool runs on spot capacity (AKS then adds its own taint).
        workload: `training` reserves the pool for training (adds `TRAINING_TAINT`); `serving` or None adds none.
        extra: the pool's own extra taints (e.g. `workload=training:NoSchedule` from a stack file).
    """
    taints = [*GPU_TAINTS[cloud], *(SPOT_TAINTS[cloud] if spot else ())]
    if workload == TRAINING_WORKLOAD:
        taints.append(TRAINING_TAINT)
    taints.extend(extra)
    return tuple(dict.fromkeys(taints))


def workload_labels(workload: str | None) -> dict[str, str]:
    """The node labels of a GPU pool reserved for `workload` (`training` or `serving`); none for None."""
    return {WORKLOAD_LABEL: workload} if workload else {}


def gpu_tolerations() -> list[dict[str, str]]:
    """Tolerations for anything that must run on GPU nodes of any cloud (agents and GPU workloads).

    `Exists` on `nvidia.com/gpu` covers any value; `sku=gpu` is matched exactly so unrelated `sku`
    taints (e.g. AKS `sku=Windows`) still repel; AKS spot pools add their own spot taint.
    """
    return [
        {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
        AKS_SKU_GPU_TAINT.toleration(),
        AKS_SPOT_TAINT.toleration(),
    ]


def gpu_agent_tolerations(pool_taints: Iterable[Taint] = ()) -> list[dict[str, str]]:
    """Tolerations every GPU agent (GPU operator operands, device plugin, DCGM exporter) carries.

    The GPU contract decides them, not each caller: the GPU and spot taints of every cloud, the training taint,
    and one exact toleration for each taint in `pool_taints` (every taint of every GPU pool of the cluster,
    e.g. from `gpu_pool_taints`) that those do not already cover. No keyless `Exists`: an agent reaches every
    GPU pool without tolerating taints nobody declared.

    Args:
        pool_taints: the taints of the cluster's GPU pools; the contract's own may be among them.
    """
    tolerations = [*gpu_tolerations(), TRAINING_TAINT.toleration()]
    for taint in pool_taints:
        if not any(taint.tolerated_by(toleration) for toleration in tolerations):
            tolerations.append(taint.toleration())
    return tolerations


def agent_tolerations(pool_taints: Iterable[Taint] = ()) -> list[dict[str, str]]:
    """Tolerations for node agents (exporters, log shippers) that must run on every node, GPU or system.

    Args:
        pool_taints: the taints of the cluster's GPU pools, as for `gpu_agent_tolerations`.
    """
    return [
        *gpu_agent_tolerations(pool_taints),
        {"key": CRITICAL_ADDONS_TAINT.key, "operator": "Exists", "effect": "NoSchedule"},
    ]


def gpu_node_selector() -> dict[str, str]:
    """Node selector restricting a pod or DaemonSet to GPU nodes."""
    return {GPU_PRESENT_LABEL: "true"}


def serving_node_affinity(*, gpus: bool) -> dict[str, Any]:
    """Required node affinity of serving pods: never a training pool; GPU nodes only when `gpus`.

    `NotIn` also matches nodes without the workload label, so unlabelled pools (existing clusters, CPU pools)
    stay eligible; pools labelled `mlplatform.io/workload=training` are excluded even when they carry the same
    taints as serving pools, and the cluster autoscaler, which simulates pending pods against each pool's
    labels, never scales one up for a serving pod. Callers learn no taint: serving pods simply do not
    tolerate the training taint.
    """
    expressions: list[dict[str, Any]] = [
        {"key": WORKLOAD_LABEL, "operator": "NotIn", "values": [TRAINING_WORKLOAD]},
    ]
    if gpus:
        expressions.insert(0, {"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]})
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}
        }
    }


def gpu_pool_labels(
    pool_name: str, accelerator: str | None, extra: dict[str, str] | None = None, *, workload: str | None = None
) -> dict[str, str]:
    """Node labels every GPU pool carries: presence, pool name, accelerator model, workload, plus user extras.

    User extras cannot override the contract labels (they would break scheduling of the GPU agents).

    Args:
        pool_name: the pool's name.
        accelerator: the accelerator model, e.g. `nvidia-a10g`; None when the instance types disagree.
        extra: the user's extra labels.
        workload: `training` or `serving` to label the pool with `WORKLOAD_LABEL`; None leaves it unlabelled.
    """
    labels = dict(extra or {})
    labels.update({GPU_PRESENT_LABEL: "true", GPU_POOL_LABEL: pool_name, **workload_labels(workload)})
    if accelerator:
        labels[ACCELERATOR_LABEL] = accelerator
    return labels


NODE_IMAGE_OPERANDS: dict[str, dict[str, str]] = {
    # Bottlerocket's NVIDIA variants run their own device plugin; a second one from the GPU operator would
    # register nvidia.com/gpu twice. The operator skips an operand on nodes labelled `...deploy.<operand>=false`.
    "bottlerocket": {"nvidia.com/gpu.deploy.device-plugin": "false"},
}
"""Node labels telling the NVIDIA GPU operator which operands a node image already provides, by OS family."""


PREINSTALLED_RUNTIME_CLASS: dict[Cloud, str] = {
    # EKS AL2023 and Bottlerocket NVIDIA AMIs register the toolkit's handler under the operator's default name.
    "aws": "nvidia",
    # AKS GPU images (gpuProfile.driver=Install) register `nvidia-container-runtime`; NVIDIA's advice for them
    # is `operator.runtimeClass=nvidia-container-runtime` (https://github.com/NVIDIA/gpu-operator/issues/525).
    "azure": "nvidia-container-runtime",
    # Existing clusters: `nvidia-ctk runtime configure`, the toolkit's own setup, names it `nvidia`.
    "kubernetes": "nvidia",
}
"""The containerd runtime handler the node image's preinstalled NVIDIA toolkit registers, by cloud."""

OPERATOR_RUNTIME_CLASS = "nvidia"
"""The runtime handler the GPU operator's own toolkit registers (and its chart's `operator.runtimeClass`)."""


def preinstalled_runtime_class(cloud: Cloud) -> str:
    """The runtime class GPU operands use on `cloud` when the node image ships driver and toolkit."""
    return PREINSTALLED_RUNTIME_CLASS[cloud]


def node_image_labels(os_family: str | None) -> dict[str, str]:
    """Labels a GPU pool of `os_family` carries so the GPU operator does not duplicate what the image ships."""
    return dict(NODE_IMAGE_OPERANDS.get(os_family or "", {}))


# --- Instance catalogs -------------------------------------------------------------------------------


# A NamedTuple rather than a frozen dataclass: the same immutable record, but a frozen dataclass compiles six
# generated methods when the module is imported (about 1 ms a class, paid by every synthesis).
class GpuInstance(NamedTuple):
    """What the platform knows about a GPU instance type or VM size."""

    family: str
    accelerator: str
    gpus: int
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    vcpus: int | None = None
    """vCPUs per instance, what EC2 and Azure vCPU quotas count; None when the catalog does not know the size."""


# EKS NVIDIA GPU families -> accelerator (REFERENCE.md "EKS GPU instance families"; AWS docs).
# g4ad (AMD Radeon) and inf/trn (Neuron) are deliberately absent: the NVIDIA stack cannot use them.
AWS_GPU_FAMILIES: dict[str, tuple[str, Literal["x86_64", "arm64"]]] = {
    "g4dn": ("nvidia-t4", "x86_64"),
    "g5": ("nvidia-a10g", "x86_64"),
    "g5g": ("nvidia-t4g", "arm64"),
    "g6": ("nvidia-l4", "x86_64"),
    "gr6": ("nvidia-l4", "x86_64"),
    "g6e": ("nvidia-l40s", "x86_64"),
    "g7e": ("nvidia-rtx-pro-6000", "x86_64"),
    "p3": ("nvidia-v100", "x86_64"),
    "p3dn": ("nvidia-v100", "x86_64"),
    "p4d": ("nvidia-a100", "x86_64"),
    "p4de": ("nvidia-a100-80gb", "x86_64"),
    "p5": ("nvidia-h100", "x86_64"),
    "p5e": ("nvidia-h200", "x86_64"),
    "p5en": ("nvidia-h200", "x86_64"),
    "p6-b200": ("nvidia-b200", "x86_64"),
}

# GPUs per instance where it is not 1 (AWS instance type pages). Karpenter's pools state their GPUs per node
# (`ScaledPoolSpec.gpus_per_node`), from which the Kubernetes layer derives each NodePool's GPU limit.
_AWS_MULTI_GPU: dict[str, int] = {
    "g4dn.12xlarge": 4, "g4dn.metal": 8,
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g5g.16xlarge": 2, "g5g.metal": 2,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
    "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
    "g7e.12xlarge": 2, "g7e.24xlarge": 4, "g7e.48xlarge": 8,
    "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8,
    "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
    "p6-b200.48xlarge": 8,
}  # fmt: skip

# vCPUs per instance (AWS "Accelerated computing instance specifications",
# https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html). EC2 vCPU quotas count these, so preflight
# compares a pool's minSize/maxSize times this number with the quota of its family.
_AWS_VCPUS_BY_SIZE: dict[str, dict[str, int]] = {
    "g4dn": {"xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "metal": 96},
    "g5": {"xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "24xlarge": 96,
           "48xlarge": 192},
    "g5g": {"xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "16xlarge": 64, "metal": 64},
    "g6": {"xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "24xlarge": 96,
           "48xlarge": 192},
    "gr6": {"4xlarge": 16, "8xlarge": 32},
    "g6e": {"xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "24xlarge": 96,
            "48xlarge": 192},
    "g7e": {"2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "24xlarge": 96, "48xlarge": 192},
    "p3": {"2xlarge": 8, "8xlarge": 32, "16xlarge": 64},
    "p3dn": {"24xlarge": 96},
    "p4d": {"24xlarge": 96},
    "p4de": {"24xlarge": 96},
    "p5": {"4xlarge": 16, "48xlarge": 192},
    "p5e": {"48xlarge": 192},
    "p5en": {"48xlarge": 192},
    "p6-b200": {"48xlarge": 192},
}  # fmt: skip

_AWS_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")


def aws_gpu_instance(instance_type: str) -> GpuInstance | None:
    """Classify an EC2 instance type; None when it is not an NVIDIA GPU type this platform supports."""
    match = _AWS_INSTANCE_TYPE.match(instance_type)
    if not match or match["family"] not in AWS_GPU_FAMILIES:
        return None
    accelerator, architecture = AWS_GPU_FAMILIES[match["family"]]
    vcpus = _AWS_VCPUS_BY_SIZE.get(match["family"], {}).get(match["size"])
    return GpuInstance(match["family"], accelerator, _AWS_MULTI_GPU.get(instance_type, 1), architecture, vcpus)


# AKS NVIDIA sizes: the NC and ND series (Microsoft "GPU-optimized VM sizes"). NV (visualization, NVv4 is
# AMD) and the ND MI300X (AMD) sizes are not usable with the NVIDIA stack.
_AZURE_GPU_SIZE = re.compile(r"^Standard_(?P<series>N[CD])(?P<cpus>\d+)(?P<rest>[A-Za-z_0-9]*)$")
_AZURE_ACCELERATORS: tuple[tuple[str, str], ...] = (
    ("GB300", "nvidia-gb300"),
    ("GB200", "nvidia-gb200"),
    ("H200", "nvidia-h200"),
    ("H100", "nvidia-h100"),
    ("A100", "nvidia-a100"),
    ("A10", "nvidia-a10"),
    ("T4", "nvidia-t4"),
)
_AZURE_MULTI_GPU: dict[str, int] = {
    "Standard_NC64as_T4_v3": 4,
    "Standard_NC48ads_A100_v4": 2, "Standard_NC96ads_A100_v4": 4,
    "Standard_ND96asr_v4": 8, "Standard_ND96amsr_A100_v4": 8,
    "Standard_NC80adis_H100_v5": 2,
    "Standard_ND96isr_H100_v5": 8, "Standard_ND96isr_H200_v5": 8,
    "Standard_NC12s_v3": 2, "Standard_NC24s_v3": 4, "Standard_NC24rs_v3": 4,
}  # fmt: skip


def azure_gpu_instance(vm_size: str) -> GpuInstance | None:
    """Classify an Azure VM size; None when it is not an NVIDIA NC/ND size."""
    match = _AZURE_GPU_SIZE.match(vm_size)
    if not match or "MI300" in vm_size.upper():
        return None
    upper = vm_size.upper()
    accelerator = next((name for marker, name in _AZURE_ACCELERATORS if marker in upper), None)
    if accelerator is None:
        # NCv3 (V100) and ND A100 v4 sizes carry no model marker in their names.
        if match["series"] == "NC" and upper.endswith("S_V3"):
            accelerator = "nvidia-v100"
        elif match["series"] == "ND" and upper.endswith("_V4"):
            accelerator = "nvidia-a100"
        else:
            return None
    return GpuInstance(
        f"{match['series']}{match['rest']}",
        accelerator,
        _AZURE_MULTI_GPU.get(vm_size, 1),
        vcpus=azure_vm_vcpus(vm_size),
    )


_AZURE_VM_SIZE = re.compile(r"^Standard_[A-Z]+(?P<vcpus>\d+)(-(?P<constrained>\d+))?[a-z]*(_[A-Za-z0-9]+)*$")


def azure_vm_vcpus(vm_size: str) -> int | None:
    """vCPUs of an Azure VM size, read from its name; None when the name does not follow the convention.

    Microsoft's naming convention puts the vCPU count right after the family letters ("Standard_NC24ads_A100_v4"
    has 24; https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions). For a constrained-vCPU
    size ("Standard_E8-4ds_v5") this is the first number, the size it is cut down from.
    """
    match = _AZURE_VM_SIZE.match(vm_size)
    return int(match["vcpus"]) if match else None


def gpu_instance(cloud: Cloud, instance_type: str) -> GpuInstance | None:
    """Classify an instance type or VM size for `cloud`; existing clusters accept any name."""
    if cloud == "aws":
        return aws_gpu_instance(instance_type)
    if cloud == "azure":
        return azure_gpu_instance(instance_type)
    return GpuInstance(instance_type, "nvidia", 1)


# --- EFA (Elastic Fabric Adapter) on EKS ---------------------------------------------------------------

EFA_RESOURCE = "vpc.amazonaws.com/efa"
"""The extended resource the AWS EFA device plugin advertises, one per EFA interface of the node; a pod requests
EFA devices with it (EKS user guide, "Run machine learning training on Amazon EKS with Elastic Fabric Adapter",
https://docs.aws.amazon.com/eks/latest/userguide/node-efa.html)."""

EFA_PRESENT_LABEL = "vpc.amazonaws.com/efa.present"
"""Node label every EFA-enabled GPU pool carries (`"true"`): the EFA device plugin selects exactly these nodes
(terraform-aws-eks v21.19.0 `tests/eks-managed-node-group` `efa` group labels its nodes the same way)."""

AWS_EFA_GPU_INSTANCE_TYPES: frozenset[str] = frozenset(
    {
        "g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge", "g4dn.metal",
        "g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge",
        "g6.8xlarge", "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge",
        "gr6.8xlarge",
        "g6e.8xlarge", "g6e.12xlarge", "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge",
        "g7e.8xlarge", "g7e.12xlarge", "g7e.24xlarge", "g7e.48xlarge",
        "p3dn.24xlarge",
        "p4d.24xlarge", "p4de.24xlarge",
        "p5.4xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
        "p6-b200.48xlarge",
    }
)  # fmt: skip
"""The NVIDIA GPU instance types of `AWS_GPU_FAMILIES` that support EFA: AWS EC2 user guide, "Elastic Fabric Adapter
for AI/ML and HPC workloads", *Supported instance types* (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
efa.html#efa-instance-types), as transcribed into the EFA device plugin chart's `supportedInstanceLabels` (aws/
eks-charts stable/aws-efa-k8s-device-plugin/values.yaml at 5239609). Smaller sizes of these families have no EFA:
an EFA pool of them is refused."""

AWS_EFA_DEVICE_RDMA_FAMILIES: frozenset[str] = frozenset({"p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"})
"""GPU families whose EFA supports RDMA read, so NCCL's libfabric plugin may move data straight from GPU memory
(`FI_EFA_USE_DEVICE_RDMA=1`). AWS documents the variable for the P4d/P4de and P5 families in "Get started with EFA
and NCCL for ML workloads" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start-nccl.html), and RDMA
read support per instance type in *Supported instance types* of the EFA page (P6-B200 included). On a type without
RDMA read libfabric refuses the setting, so the builders set it only here."""


def aws_efa_supported(instance_type: str) -> bool:
    """Whether `instance_type` is an NVIDIA GPU instance type with EFA (`AWS_EFA_GPU_INSTANCE_TYPES`)."""
    return instance_type in AWS_EFA_GPU_INSTANCE_TYPES


def aws_efa_device_rdma(instance_type: str) -> bool:
    """Whether NCCL over EFA may use device RDMA on `instance_type` (`AWS_EFA_DEVICE_RDMA_FAMILIES`)."""
    return aws_efa_supported(instance_type) and instance_type.split(".", 1)[0] in AWS_EFA_DEVICE_RDMA_FAMILIES
