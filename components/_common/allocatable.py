"""Capacity and allocatable CPU/memory of the instance types and VM sizes the platform uses, for offline checks.

Capacity (vCPUs, memory in GiB) is the cloud's published size. Allocatable is what the kubelet offers pods:
capacity minus the kube-reserved CPU and memory and the hard eviction threshold, computed with each cloud's
documented formula for its managed node images:

- EKS (Amazon Linux 2023 and Bottlerocket EKS AMIs, `nodeadm`/`amazon-eks-ami`): CPU reserved is 6% of the first
  core, 1% of the second, 0.5% of the third and fourth and 0.25% of every core above four; memory reserved is
  `11 MiB x maxPods + 255 MiB`; the eviction threshold is `memory.available<100Mi`
  (https://github.com/awslabs/amazon-eks-ami, `nodeadm/internal/kubelet/config.go`; EKS user guide, "Choose an
  optimal Amazon EC2 node instance type"). `maxPods` depends on the ENI limits and prefix delegation; the rule
  here takes the larger value EKS recommends (110 below 30 vCPUs, 250 from 30 vCPUs), so memory is never
  overestimated.
- AKS (Kubernetes 1.29 and later): CPU reserved per the AKS table (60m for 1 core, 100m for 2, 140m for 4, 180m
  for 8, 260m for 16, 420m for 32, 740m for 64 cores); memory reserved is `20 MiB x maxPods + 50 MiB`, at most 25%
  of the memory; the eviction threshold is `memory.available<100Mi`
  (https://learn.microsoft.com/azure/aks/node-resource-reservations). `maxPods` defaults to 250 (Azure CNI
  Overlay, the largest default), again the conservative choice when the pool does not set it.

The real allocatable of a node also depends on its image and kubelet flags: `kubectl describe node` on the first
real node is the authority. Sources of the sizes: AWS "Amazon EC2 instance type specifications"
(https://docs.aws.amazon.com/ec2/latest/instancetypes/), Azure "Sizes for virtual machines"
(https://learn.microsoft.com/azure/virtual-machines/sizes).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from components._common import gpu

Cloud = Literal["aws", "azure"]

MIB = 1024 * 1024
GIB = 1024 * MIB
EVICTION_HARD_BYTES = 100 * MIB
"""`memory.available<100Mi`, the hard eviction threshold on EKS and AKS nodes."""


# A NamedTuple rather than a frozen dataclass: the same immutable record, but a frozen dataclass compiles six
# generated methods when the module is imported (about 1 ms a class, paid by every synthesis).
class NodeSize(NamedTuple):
    """What one node of an instance type or VM size offers."""

    name: str
    vcpus: int
    memory_gib: float
    gpus: int
    cpu_allocatable_millis: int
    """CPU the kubelet offers pods, in millicores."""
    memory_allocatable_bytes: int
    """Memory the kubelet offers pods, in bytes."""


# (vCPUs, memory GiB) per EC2 size. General purpose families share the 4 GiB per vCPU ratio.
_AWS_GENERAL = {
    "large": (2, 8),
    "xlarge": (4, 16),
    "2xlarge": (8, 32),
    "4xlarge": (16, 64),
    "8xlarge": (32, 128),
    "12xlarge": (48, 192),
    "16xlarge": (64, 256),
    "24xlarge": (96, 384),
}
_AWS_COMPUTE = {size: (cpus, memory / 2) for size, (cpus, memory) in _AWS_GENERAL.items()}
_AWS_MEMORY = {size: (cpus, memory * 2) for size, (cpus, memory) in _AWS_GENERAL.items()}
_AWS_SIZES: dict[str, dict[str, tuple[int, float]]] = {
    **dict.fromkeys(("m5", "m5a", "m6i", "m6a", "m7i", "m7a", "t3"), _AWS_GENERAL),
    **dict.fromkeys(("c5", "c6i", "c6a", "c7i"), _AWS_COMPUTE),
    **dict.fromkeys(("r5", "r6i", "r6a", "r7i"), _AWS_MEMORY),
    "m6g": _AWS_GENERAL, "m7g": _AWS_GENERAL, "c7g": _AWS_COMPUTE, "r7g": _AWS_MEMORY,
    "g4dn": {"xlarge": (4, 16), "2xlarge": (8, 32), "4xlarge": (16, 64), "8xlarge": (32, 128),
             "12xlarge": (48, 192), "16xlarge": (64, 256), "metal": (96, 384)},
    "g5": {"xlarge": (4, 16), "2xlarge": (8, 32), "4xlarge": (16, 64), "8xlarge": (32, 128), "12xlarge": (48, 192),
           "16xlarge": (64, 256), "24xlarge": (96, 384), "48xlarge": (192, 768)},
    "g5g": {"xlarge": (4, 8), "2xlarge": (8, 16), "4xlarge": (16, 32), "8xlarge": (32, 64), "16xlarge": (64, 128)},
    "g6": {"xlarge": (4, 16), "2xlarge": (8, 32), "4xlarge": (16, 64), "8xlarge": (32, 128), "12xlarge": (48, 192),
           "16xlarge": (64, 256), "24xlarge": (96, 384), "48xlarge": (192, 768)},
    "g6e": {"xlarge": (4, 32), "2xlarge": (8, 64), "4xlarge": (16, 128), "8xlarge": (32, 256),
            "12xlarge": (48, 384), "16xlarge": (64, 512), "24xlarge": (96, 768), "48xlarge": (192, 1536)},
    "p3": {"2xlarge": (8, 61), "8xlarge": (32, 244), "16xlarge": (64, 488)},
    "p3dn": {"24xlarge": (96, 768)},
    "p4d": {"24xlarge": (96, 1152)},
    "p4de": {"24xlarge": (96, 1152)},
    "p5": {"4xlarge": (16, 256), "48xlarge": (192, 2048)},
    "p5e": {"48xlarge": (192, 2048)},
    "p5en": {"48xlarge": (192, 2048)},
}  # fmt: skip

# (vCPUs, memory GiB) per Azure VM size.
_AZURE_D_V5 = {2: 8, 4: 16, 8: 32, 16: 64, 32: 128, 48: 192, 64: 256, 96: 384}
_AZURE_E_V5 = {2: 16, 4: 32, 8: 64, 16: 128, 20: 160, 32: 256, 48: 384, 64: 512, 96: 672}
_AZURE_SIZES: dict[str, tuple[int, float]] = {
    **{f"Standard_D{cpus}{suffix}_v5": (cpus, memory) for cpus, memory in _AZURE_D_V5.items()
       for suffix in ("s", "ds", "as", "ads")},
    **{f"Standard_D{cpus}{suffix}_v4": (cpus, memory) for cpus, memory in _AZURE_D_V5.items()
       for suffix in ("s", "ds", "as")},
    **{f"Standard_E{cpus}{suffix}_v5": (cpus, memory) for cpus, memory in _AZURE_E_V5.items()
       for suffix in ("s", "ds", "as", "ads")},
    "Standard_NC4as_T4_v3": (4, 28), "Standard_NC8as_T4_v3": (8, 56), "Standard_NC16as_T4_v3": (16, 110),
    "Standard_NC64as_T4_v3": (64, 440),
    "Standard_NC24ads_A100_v4": (24, 220), "Standard_NC48ads_A100_v4": (48, 440),
    "Standard_NC96ads_A100_v4": (96, 880),
    "Standard_ND96asr_v4": (96, 900), "Standard_ND96amsr_A100_v4": (96, 1900),
    "Standard_NC40ads_H100_v5": (40, 320), "Standard_NC80adis_H100_v5": (80, 640),
    "Standard_ND96isr_H100_v5": (96, 1900), "Standard_ND96isr_H200_v5": (96, 1850),
    "Standard_NC6s_v3": (6, 112), "Standard_NC12s_v3": (12, 224), "Standard_NC24s_v3": (24, 448),
    "Standard_NC24rs_v3": (24, 448),
}  # fmt: skip

_AKS_CPU_RESERVED = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))
"""AKS kube-reserved CPU (millicores) by cores; sizes between two rows take the larger row's value."""

AKS_DEFAULT_MAX_PODS = 250
"""Max pods assumed for an AKS pool that does not set `maxPods` (the largest AKS default)."""


def eks_max_pods(vcpus: int) -> int:
    """The max pods assumed on an EKS node: 110 below 30 vCPUs, else 250 (EKS's recommended values)."""
    return 110 if vcpus < 30 else 250


def eks_reserved_cpu_millis(vcpus: int) -> int:
    """EKS kube-reserved CPU: 6% of core 1, 1% of core 2, 0.5% of cores 3-4, 0.25% of each core above 4."""
    reserved = 60.0 if vcpus >= 1 else 0.0
    reserved += 10.0 if vcpus >= 2 else 0.0
    reserved += 5.0 * max(0, min(vcpus, 4) - 2)
    reserved += 2.5 * max(0, vcpus - 4)
    return int(reserved + 0.999)


def aks_reserved_cpu_millis(vcpus: int) -> int:
    """AKS kube-reserved CPU from Microsoft's table (rounded up to the next listed core count)."""
    for cores, millis in _AKS_CPU_RESERVED:
        if vcpus <= cores:
            return millis
    return _AKS_CPU_RESERVED[-1][1] + 10 * (vcpus - _AKS_CPU_RESERVED[-1][0])


def capacity(cloud: Cloud, name: str) -> tuple[int, float] | None:
    """(vCPUs, memory GiB) of an instance type or VM size; None when the table does not know it."""
    if cloud == "aws":
        family, _, size = name.partition(".")
        return _AWS_SIZES.get(family, {}).get(size)
    return _AZURE_SIZES.get(name)


def node_size(cloud: Cloud, name: str, *, max_pods: int | None = None) -> NodeSize | None:
    """Capacity and allocatable of one node of `name` on `cloud`; None when the size is unknown.

    Args:
        cloud: `aws` (EKS managed node groups) or `azure` (AKS agent pools).
        name: EC2 instance type or Azure VM size.
        max_pods: the pool's max pods when it sets one (AKS `maxPods`); else the conservative default.
    """
    known = capacity(cloud, name)
    if known is None:
        return None
    vcpus, memory_gib = known
    memory = int(memory_gib * GIB)
    if cloud == "aws":
        cpu_reserved = eks_reserved_cpu_millis(vcpus)
        memory_reserved = (11 * (max_pods or eks_max_pods(vcpus)) + 255) * MIB
        instance = gpu.aws_gpu_instance(name)
    else:
        cpu_reserved = aks_reserved_cpu_millis(vcpus)
        memory_reserved = min((20 * (max_pods or AKS_DEFAULT_MAX_PODS) + 50) * MIB, memory // 4)
        instance = gpu.azure_gpu_instance(name)
    return NodeSize(
        name=name,
        vcpus=vcpus,
        memory_gib=memory_gib,
        gpus=instance.gpus if instance else 0,
        cpu_allocatable_millis=vcpus * 1000 - cpu_reserved,
        memory_allocatable_bytes=memory - memory_reserved - EVICTION_HARD_BYTES,
    )
