"""The node-autoscaling contract: what the cloud layer tells the autoscaler about each pool it may grow.

One GPU-pool schema drives both clouds' autoscalers: on EKS every pool becomes a Karpenter NodePool built
from a `ScaledPoolSpec` (`components/kubernetes/autoscaling`); on AKS the same fields drive the agent pools'
autoscaler and the priority expander. No resources here, only the plain data both sides agree on.
"""

from typing import NotRequired, TypedDict

DEFAULT_SCALE_DOWN_AFTER = "10m"
"""How long an empty node stays before it is removed (Karpenter `consolidateAfter`, AKS
`scale-down-unneeded-time`): long enough for the next job or a rollout to reuse a warm GPU node."""

DEFAULT_NODE_EXPIRY = "720h"
"""Karpenter `expireAfter`: nodes older than this are replaced (new AMI, patched kernel). 30 days."""

DEFAULT_DRAIN_GRACE = "24h"
"""Karpenter `terminationGracePeriod`: how long a node being removed waits for pods that block eviction
(`karpenter.sh/do-not-disrupt`, PodDisruptionBudgets) before they are deleted; a training job's checkpoint window."""

PRIORITY_SPOT = 20
"""Default priority (Karpenter NodePool `weight`, AKS priority expander) of a spot pool: tried first."""

PRIORITY_ON_DEMAND = 10
"""Default priority of an on-demand pool."""


class ScaledPoolTaint(TypedDict):
    """A node taint in Kubernetes form (`NoSchedule`, not EKS's `NO_SCHEDULE`)."""

    key: str
    """Taint key, a Kubernetes label key (e.g. `nvidia.com/gpu`)."""
    value: str
    """Taint value (e.g. `true`); empty for a taint without a value."""
    effect: str
    """`NoSchedule`, `PreferNoSchedule` or `NoExecute`."""


class ScaledPoolSpec(TypedDict):
    """One pool an autoscaler may grow from zero, as the cloud layer plans it (a plain, JSON-able mapping)."""

    name: str
    """Pool name (`platform` for the platform pool); the NodePool and its EC2NodeClass are named after it."""
    instance_types: list[str]
    """Instance types / VM sizes the pool may launch."""
    capacity_types: list[str]
    """`spot` and/or `on-demand`, in order of preference; both means spot with an on-demand fallback."""
    architecture: str
    """`amd64` or `arm64` (Kubernetes `kubernetes.io/arch`)."""
    os_family: str
    """Node image family: `al2023` or `bottlerocket` on EKS."""
    disk_size_gb: int
    """Root (or Bottlerocket data) volume size in GiB, encrypted with the cluster key."""
    labels: dict[str, str]
    """Node labels: the GPU contract's (or the platform pool's) and the pool's extra labels."""
    taints: list[ScaledPoolTaint]
    """Node taints: the GPU contract's and the pool's extra ones."""
    gpus_per_node: int
    """GPUs of one node (0 for CPU pools)."""
    max_nodes: int
    """Most nodes the autoscaler may add above the pool's warm capacity (`maxSize - minSize`)."""
    cpus_per_node: int
    """vCPUs of the largest instance type, so a CPU limit can be derived from `max_nodes`."""
    priority: int
    """Preference between pools that fit a pod (Karpenter `weight`, AKS priority expander); higher first."""
    zones: NotRequired[list[str]]
    """Zones the pool may use. Defaults to all of the cluster's zones."""


KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag key on the node subnets and security group that EC2NodeClasses select by (value: the cluster name)."""

KARPENTER_NAMESPACE = "kube-system"
"""Namespace of the Karpenter controller (where its docs install it). The EKS Pod Identity association of the
controller role names this namespace and `KARPENTER_SERVICE_ACCOUNT`; the chart creates that service account."""

KARPENTER_SERVICE_ACCOUNT = "karpenter"
"""Service account of the Karpenter controller, bound to its IAM role by EKS Pod Identity (no IRSA annotation)."""
