"""ML-specific GPU rules: tainted GPU pools, GPU agents that tolerate them, GPU quotas, bounded autoscaled pools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from components._common import gpu
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_dict,
    as_list,
    dicts,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.kubernetes_common import (
    DAEMON_SET_TYPES,
    KARPENTER_NODE_POOL,
    RESOURCE_QUOTA,
    lands_in,
    namespace_objects,
    namespace_of,
    pod_spec,
    serving_namespaces,
)
from policies.rules.settings import SERVING_NAMESPACES, SYSTEM_NAMESPACES

_EKS_GPU_TAINT = gpu.NVIDIA_GPU_TAINT.eks()


def _eks_gpu_pool(group: Resource) -> bool | Any:
    ami = group.props.get("amiType")
    types = as_list(group.props.get("instanceTypes"))
    if isinstance(ami, str) and ("NVIDIA" in ami or ami.endswith("_GPU")):
        return True
    if types is not UNKNOWN and any(isinstance(kind, str) and gpu.aws_gpu_instance(kind) for kind in types):
        return True
    if ami is UNKNOWN or types is UNKNOWN or UNKNOWN in types:
        return UNKNOWN
    return False


_NODE_POOL_GPU_TAINT = gpu.NVIDIA_GPU_TAINT.kubernetes()
_KARPENTER_AWS = "karpenter.k8s.aws"


def _gpu_requirement(requirement: dict[str, Any]) -> bool | Any:
    """Whether one NodePool requirement lets the pool launch NVIDIA GPU instances (`UNKNOWN` if unreadable)."""
    key, operator, values = requirement.get("key"), requirement.get("operator"), as_list(requirement.get("values"))
    if UNKNOWN in (key, operator) or values is UNKNOWN or UNKNOWN in values:
        return UNKNOWN
    if key == f"{_KARPENTER_AWS}/instance-gpu-count":
        return operator in ("Gt", "Exists") or (operator == "In" and "0" not in values and bool(values))
    if operator != "In" or not values:
        return operator == "Exists" and key in (f"{_KARPENTER_AWS}/instance-gpu-name", gpu.GPU_PRESENT_LABEL)
    if key == "node.kubernetes.io/instance-type":
        return any(isinstance(kind, str) and gpu.aws_gpu_instance(kind) is not None for kind in values)
    if key == f"{_KARPENTER_AWS}/instance-family":
        return any(family in gpu.AWS_GPU_FAMILIES for family in values)
    if key == f"{_KARPENTER_AWS}/instance-gpu-manufacturer":
        return "nvidia" in values
    return key in (f"{_KARPENTER_AWS}/instance-gpu-name", gpu.GPU_PRESENT_LABEL) and "false" not in values


def _node_pool_gpu_pool(pool: Resource) -> bool | Any:
    """True when a Karpenter NodePool may launch GPU nodes: by its GPU labels or its instance requirements.

    Karpenter puts a NodePool's taints on every node it launches, so one GPU instance type among others is
    enough for the pool to need the GPU taint.
    """
    labels = as_dict(pool.get("spec.template.metadata.labels"))
    if labels is not UNKNOWN and (labels.get(gpu.GPU_PRESENT_LABEL) == "true" or gpu.GPU_POOL_LABEL in labels):
        return True
    requirements, unknown = dicts(pool.get("spec.template.spec.requirements"))
    verdicts = [_gpu_requirement(requirement) for requirement in requirements]
    if True in verdicts:
        return True
    return UNKNOWN if unknown or labels is UNKNOWN or UNKNOWN in verdicts else False


@resource_rule(
    name="aws-eks-node-group-gpu-taint",
    title="EKS GPU node groups and Karpenter GPU NodePools carry the GPU taint",
    description=(
        f"EKS node groups with an NVIDIA AMI type or a GPU instance type carry the taint key "
        f"{gpu.GPU_RESOURCE} with effect NO_SCHEDULE, and Karpenter NodePools that launch GPU nodes (GPU "
        f"labels, or requirements on GPU instance types, families or GPU counts) put the taint {gpu.GPU_RESOURCE} "
        "NoSchedule on their nodes, so only pods that request GPUs land on the expensive nodes."
    ),
    remediation=(
        f"Add taints=[{{'key': '{gpu.GPU_RESOURCE}', 'value': 'true', 'effect': 'NO_SCHEDULE'}}] to aws.eks.NodeGroup "
        "(components._common.gpu.NVIDIA_GPU_TAINT.eks()); on a Karpenter NodePool add spec.template.spec.taints="
        f"[{{'key': '{gpu.GPU_RESOURCE}', 'value': 'true', 'effect': 'NoSchedule'}}] "
        "(NVIDIA_GPU_TAINT.kubernetes())."
    ),
    scope="EKS GPU node groups and Karpenter GPU NodePools",
    types=("aws:eks/nodeGroup:NodeGroup", KARPENTER_NODE_POOL),
)
def eks_gpu_taint(group: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if group.type == KARPENTER_NODE_POOL:
        yield from _node_pool_gpu_taint(group)
        return
    is_gpu = _eks_gpu_pool(group)
    if is_gpu is False:
        raise NotApplicable(f"node group '{group.name}' has no NVIDIA AMI type or GPU instance type")
    taints, unknown = dicts(group.props.get("taints"))
    if any(
        taint.get("key") == _EKS_GPU_TAINT["key"] and taint.get("effect") == _EKS_GPU_TAINT["effect"]
        for taint in taints
    ):
        return
    if is_gpu is UNKNOWN or unknown:
        yield Unverified(f"the GPU taint of EKS node group '{group.name}'")
        return
    yield (
        f"EKS GPU node group '{group.name}' has no {gpu.GPU_RESOURCE} NO_SCHEDULE taint, so any pod can occupy the "
        f"GPU nodes; add taints=[{{'key': '{gpu.GPU_RESOURCE}', 'value': 'true', 'effect': 'NO_SCHEDULE'}}]."
    )


def _node_pool_gpu_taint(pool: Resource) -> Iterator[Finding]:
    is_gpu = _node_pool_gpu_pool(pool)
    if is_gpu is False:
        raise NotApplicable(f"NodePool '{pool.name}' has no GPU label or GPU instance requirement")
    # startupTaints are removed once the node is ready, so only spec.template.spec.taints keep other pods off.
    taints, unknown = dicts(pool.get("spec.template.spec.taints"))
    if any(
        taint.get("key") == _NODE_POOL_GPU_TAINT["key"] and taint.get("effect") == _NODE_POOL_GPU_TAINT["effect"]
        for taint in taints
    ):
        return
    if is_gpu is UNKNOWN or unknown:
        yield Unverified(f"the GPU taint of NodePool '{pool.name}'")
        return
    yield (
        f"Karpenter GPU NodePool '{pool.name}' has no {gpu.GPU_RESOURCE} NoSchedule taint, so any pod can occupy the "
        f"GPU nodes; add spec.template.spec.taints=[{{'key': '{gpu.GPU_RESOURCE}', 'value': 'true', "
        "'effect': 'NoSchedule'}]."
    )


@resource_rule(
    name="kubernetes-node-pool-limits",
    title="Karpenter NodePools have a capacity ceiling",
    description=(
        "Karpenter NodePools that scale with demand set spec.limits (e.g. cpu, nvidia.com/gpu or nodes), so a "
        "burst of pending pods cannot launch GPU nodes without bound; static NodePools (spec.replicas) are "
        "bounded by their replica count."
    ),
    remediation=(
        "Set spec.limits on the NodePool from the pool's maximum size, e.g. {'cpu': max_nodes * cpus_per_node, "
        f"'{gpu.GPU_RESOURCE}': max_nodes * gpus_per_node}} (components._common.autoscaling.ScaledPoolSpec)."
    ),
    scope="Karpenter NodePools",
    types=(KARPENTER_NODE_POOL,),
)
def node_pool_limits(pool: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    spec = as_dict(pool.props.get("spec"))
    if spec is not UNKNOWN and spec.get("replicas") is not None:
        return  # a static NodePool keeps exactly spec.replicas nodes (a count computed later counts as set)
    limits = UNKNOWN if spec is UNKNOWN else as_dict(spec.get("limits"))
    if limits is UNKNOWN:
        yield Unverified(f"spec.limits of NodePool '{pool.name}'")
    elif not limits:
        yield (
            f"Karpenter NodePool '{pool.name}' has no spec.limits, so pending pods can make it launch nodes without "
            f"bound; set spec.limits, e.g. {{'cpu': '<max nodes x vCPUs>', '{gpu.GPU_RESOURCE}': '<max GPUs>'}}."
        )


def _aks_gpu_taint(taint: Any) -> bool:
    if not isinstance(taint, str):
        return False
    key_value, _, effect = taint.partition(":")
    return effect == "NoSchedule" and (
        key_value == gpu.AKS_SKU_GPU_TAINT.aks().split(":")[0] or key_value.split("=")[0] == gpu.GPU_RESOURCE
    )


@resource_rule(
    name="azure-aks-node-pool-gpu-taint",
    title="AKS GPU node pools carry the GPU taint",
    description=(
        "AKS node pools with an NVIDIA NC/ND VM size carry node taint 'sku=gpu:NoSchedule' or "
        f"'{gpu.GPU_RESOURCE}=...:NoSchedule', so only pods that request GPUs land on them."
    ),
    remediation="Add node_taints=['sku=gpu:NoSchedule', 'nvidia.com/gpu=true:NoSchedule'] to the agent pool (components._common.gpu.gpu_taints('azure')); node taints are create-time only.",
    scope="AKS GPU node pools",
    types=("azure-native:containerservice:ManagedCluster", "azure-native:containerservice:AgentPool"),
)
def aks_gpu_taint(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if resource.type.endswith(":AgentPool"):
        pools, unknown = [{"name": resource.props.get("agentPoolName", resource.name), **resource.props}], False
    else:
        pools, unknown = dicts(resource.props.get("agentPoolProfiles"))
    if unknown:
        yield Unverified(f"the agent pools of '{resource.name}'")
    gpu_pools = 0
    for pool in pools:
        size = pool.get("vmSize")
        if size is UNKNOWN:
            yield Unverified(f"the VM size of node pool '{pool.get('name')}' in '{resource.name}'")
            continue
        if not (isinstance(size, str) and gpu.azure_gpu_instance(size)):
            continue
        gpu_pools += 1
        taints = as_list(pool.get("nodeTaints"))
        if taints is UNKNOWN or UNKNOWN in taints:
            yield Unverified(f"the taints of node pool '{pool.get('name')}' in '{resource.name}'")
        elif not any(_aks_gpu_taint(taint) for taint in taints):
            yield (
                f"AKS GPU node pool '{pool.get('name')}' ({size}) of '{resource.name}' has no GPU taint; add "
                "node_taints=['sku=gpu:NoSchedule', 'nvidia.com/gpu=true:NoSchedule']."
            )
    if not gpu_pools and not unknown:
        raise NotApplicable(f"'{resource.name}' defines no NC/ND GPU node pool")


GPU_AGENT_NAMESPACES = string_list(
    "gpuAgentNamespaces",
    "Namespaces whose DaemonSets must run on GPU nodes too (GPU operator, exporters, log shippers).",
    ["gpu-operator", "monitoring", "logging"],
)
_GPU_NODE_LABELS = (gpu.GPU_PRESENT_LABEL, "feature.node.kubernetes.io/pci-10de.present", gpu.AKS_ACCELERATOR_LABEL)
_REQUIRED_TAINTS = sorted(
    {taint for taints in gpu.GPU_TAINTS.values() for taint in taints}, key=lambda taint: (taint.key, taint.value)
)


def _targets_gpu_nodes(spec: dict[str, Any]) -> bool:
    selector = as_dict(spec.get("nodeSelector"))
    if isinstance(selector, dict) and any(label in selector for label in _GPU_NODE_LABELS):
        return True
    terms, _ = dicts(
        as_dict(
            as_dict(as_dict(spec.get("affinity")).get("nodeAffinity")).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            )
        ).get("nodeSelectorTerms")
    )
    for term in terms:
        expressions, _ = dicts(term.get("matchExpressions"))
        if any(expression.get("key") in _GPU_NODE_LABELS for expression in expressions):
            return True
    return False


def _tolerates(tolerations: list[dict[str, Any]], taint: gpu.Taint) -> bool:
    for toleration in tolerations:
        key, operator = toleration.get("key"), toleration.get("operator", "Equal")
        effect = toleration.get("effect")
        if effect not in (None, "", taint.effect):
            continue
        if not key and operator == "Exists":
            return True
        if key == taint.key and (operator == "Exists" or toleration.get("value") == taint.value):
            return True
    return False


@resource_rule(
    name="kubernetes-gpu-daemonset-tolerations",
    title="GPU node agents tolerate the GPU taints",
    description=(
        "DaemonSets that target GPU nodes (node selector or affinity on nvidia.com/gpu.present, the NFD NVIDIA PCI "
        "label or the AKS accelerator label) or run in gpuAgentNamespaces tolerate every GPU taint of the GPU "
        "contract (nvidia.com/gpu and sku=gpu, NoSchedule), so device plugin, DCGM exporter and log shippers run there."
    ),
    remediation="Add components._common.gpu.agent_tolerations() (or gpu_tolerations()) to spec.template.spec.tolerations.",
    scope="DaemonSets on GPU nodes",
    types=DAEMON_SET_TYPES,
    settings=(GPU_AGENT_NAMESPACES,),
)
def gpu_daemonset_tolerations(daemon_set: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    spec = pod_spec(daemon_set)
    namespace = namespace_of(daemon_set)
    if spec is UNKNOWN or namespace is UNKNOWN:
        yield Unverified(f"the pod spec of DaemonSet '{daemon_set.name}'")
        return
    if not (_targets_gpu_nodes(spec) or namespace in as_list(config.get("gpuAgentNamespaces"))):
        raise NotApplicable(f"DaemonSet '{daemon_set.name}' does not target GPU nodes")
    tolerations, unknown = dicts(spec.get("tolerations"))
    missing = [taint for taint in _REQUIRED_TAINTS if not _tolerates(tolerations, taint)]
    if missing and unknown:
        yield Unverified(f"the tolerations of DaemonSet '{daemon_set.name}'")
    elif missing:
        yield (
            f"DaemonSet '{daemon_set.name}' does not tolerate {', '.join(f'{taint.key}={taint.value}:{taint.effect}' for taint in missing)}, "
            "so it never runs on GPU nodes; add components._common.gpu.gpu_tolerations() to its tolerations."
        )


_GPU_QUOTA_KEY = gpu.GPU_QUOTA_KEY


@stack_rule(
    name="kubernetes-serving-namespace-gpu-quota",
    title="Serving namespaces have a GPU quota",
    description=(
        f"Every serving namespace has a ResourceQuota whose spec.hard sets {_GPU_QUOTA_KEY}, so one team cannot "
        "take every GPU of the cluster (0 is a valid quota for CPU-only namespaces)."
    ),
    remediation=f"Add kubernetes.core.v1.ResourceQuota(metadata={{'namespace': ns}}, spec={{'hard': {{'{_GPU_QUOTA_KEY}': '2', 'requests.cpu': '16', 'requests.memory': '64Gi'}}}}).",
    scope="serving namespaces",
    settings=(SERVING_NAMESPACES, SYSTEM_NAMESPACES),
)
def serving_gpu_quota(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    names = serving_namespaces(
        stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces")), outside=False
    )
    if not names:
        raise NotApplicable("the stack has no serving namespaces")
    owners = namespace_objects(stack)
    quotas = stack.of((RESOURCE_QUOTA,))
    for name in sorted(names):
        owner = owners.get(name)
        in_namespace = [quota for quota in quotas if lands_in(quota, name, owner)]
        hards = [quota.get("spec.hard") for quota in in_namespace]
        if any(isinstance(hard, dict) and hard.get(_GPU_QUOTA_KEY) not in (None, UNKNOWN) for hard in hards):
            continue
        if UNKNOWN in hards or any(isinstance(hard, dict) and hard.get(_GPU_QUOTA_KEY) is UNKNOWN for hard in hards):
            yield owner, Unverified(f"the GPU quota of serving namespace '{name}'")
        else:
            yield (
                owner,
                (
                    f"Serving namespace '{name}' has no GPU quota; add a ResourceQuota with spec.hard['{_GPU_QUOTA_KEY}']."
                ),
            )
