"""Pure builders of Karpenter's EC2NodeClass and NodePool objects from the autoscaling contract, and their checks.

Field names, patterns and restrictions follow the CRDs of aws/karpenter-provider-aws at tag v1.14.1
(`pkg/apis/crds/karpenter.sh_nodepools.yaml`, `pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml`) and the v1.14
docs (`website/content/en/v1.14/concepts/{nodepools,nodeclasses,disruption}.md`).
"""

import re
from collections.abc import Mapping
from typing import Any

from components._common import gpu
from components._common.autoscaling import ScaledPoolSpec
from components._common.validation import Problems, dns1123_label_problem
from components.kubernetes import _charts
from components.kubernetes._checks import camel

NODE_POOL_API_VERSION = "karpenter.sh/v1"
EC2_NODE_CLASS_API_VERSION = "karpenter.k8s.aws/v1"
EC2_NODE_CLASS_GROUP = "karpenter.k8s.aws"
EC2_NODE_CLASS_KIND = "EC2NodeClass"

CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"
ZONE_LABEL = "topology.kubernetes.io/zone"

CAPACITY_TYPES: tuple[str, ...] = ("spot", "on-demand")
"""Capacity types a pool may ask for; with both, Karpenter launches spot and falls back to on-demand within
milliseconds when no spot offering is available (concepts/nodepools.md, `karpenter.sh/capacity-type`)."""

ARCHITECTURES: tuple[str, ...] = ("amd64", "arm64")

DISRUPTION_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
"""`consolidateAfter` and `expireAfter`: Go-style hours, minutes and seconds, or `Never` (no days)."""

GRACE_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")
"""`terminationGracePeriod`: hours, minutes and seconds; no `Never`."""

POOL_NAME_TAG = "node-pool"
"""EC2 tag naming the pool on every instance and volume Karpenter launches for it (cost allocation per pool)."""

BOTTLEROCKET_OS_VOLUME_GB = 4
"""Bottlerocket's OS volume (/dev/xvda); Karpenter's own default for the family (pkg/providers/amifamily/
bottlerocket.go `DefaultBlockDeviceMappings`: 4Gi). Images, containers and logs live on the data volume."""

GP3_MAX_GB = 16384
"""Largest gp3 volume, in GiB (the CRD's `volumeSize` description: gp2 and gp3 1-16,384)."""

MAX_REQUIREMENTS = 100
"""Requirements plus template labels of one NodePool: Karpenter turns labels into NodeClaim requirements and caps
the two together at 100 (concepts/nodepools.md, "limit of 100 on the total number of requirements")."""

IMDS_OPTIONS: dict[str, Any] = {
    "httpEndpoint": "enabled",
    "httpProtocolIPv6": "disabled",
    "httpPutResponseHopLimit": 1,
    "httpTokens": "required",
}
"""IMDSv2 only, hop limit 1: a pod (one network hop away) cannot reach the node role's credentials."""

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_KARPENTER_SH_ALLOWED = frozenset({CAPACITY_TYPE_LABEL, "karpenter.sh/nodepool"})
# The `karpenter.k8s.aws` labels the CRD's CEL rule lets a NodePool name (nodepools CRD @v1.14.1, template labels and
# requirement keys); every other key of that domain is Karpenter's own.
_KARPENTER_AWS_ALLOWED = frozenset(
    f"karpenter.k8s.aws/{name}"
    for name in (
        "instance-tenancy", "capacity-reservation-type", "capacity-reservation-id",
        "capacity-reservation-interruptible", "ec2nodeclass", "instance-encryption-in-transit-supported",
        "instance-category", "instance-hypervisor", "instance-family", "instance-generation", "instance-local-nvme",
        "instance-size", "instance-cpu", "instance-cpu-manufacturer", "instance-cpu-sustained-clock-speed-mhz",
        "instance-memory", "instance-ebs-bandwidth", "instance-network-bandwidth", "instance-gpu-name",
        "instance-gpu-manufacturer", "instance-gpu-count", "instance-gpu-memory", "instance-accelerator-name",
        "instance-accelerator-manufacturer", "instance-accelerator-count", "instance-capability-flex",
        "placement-group-id", "placement-group-partition",
    )
)  # fmt: skip

_RESTRICTED_TAG_KEYS = frozenset(
    {"eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass"}
)


def restricted_label_reason(key: str) -> str | None:
    """Why a NodePool may not set label `key` (the CRD's CEL rules), or None when it may."""
    # The CRD's rule takes everything before the first "/" (the whole key when it has none) as the domain.
    domain = key.split("/", 1)[0]
    if key == "karpenter.sh/nodepool":
        return 'label "karpenter.sh/nodepool" is restricted (Karpenter sets it)'
    if domain.endswith("karpenter.sh") and key not in _KARPENTER_SH_ALLOWED:
        return 'label domain "karpenter.sh" is restricted'
    if key == "kubernetes.io/hostname":
        return 'label "kubernetes.io/hostname" is restricted'
    if domain.endswith("karpenter.k8s.aws") and key not in _KARPENTER_AWS_ALLOWED:
        return 'label domain "karpenter.k8s.aws" is restricted'
    return None


def restricted_tag_reason(key: str) -> str | None:
    """Why an EC2NodeClass may not carry tag `key` (Karpenter and EKS own it), or None when it may."""
    if not key:
        return "empty tag keys are not supported"
    if key in _RESTRICTED_TAG_KEYS or key.startswith("kubernetes.io/cluster"):
        return f"tag '{key}' is set by Karpenter or EKS and restricted in EC2NodeClass tags"
    return None


def is_gpu_pool(spec: ScaledPoolSpec) -> bool:
    """Whether the pool's nodes carry GPUs."""
    return int(spec["gpus_per_node"]) > 0


def ami_alias(os_family: str) -> str:
    """The pinned EKS-optimized AMI alias of a node OS family (`_charts.EKS_AMI_ALIASES`)."""
    return _charts.EKS_AMI_ALIASES[os_family]


def _volume(device: str, size_gb: int, kms_key_id: str, *, root: bool) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "deviceName": device,
        "ebs": {
            "volumeType": "gp3",
            "volumeSize": f"{size_gb}Gi",
            "encrypted": True,
            "kmsKeyID": kms_key_id,
            "deleteOnTermination": True,
        },
    }
    if root:
        mapping["rootVolume"] = True
    return mapping


def block_device_mappings(os_family: str, disk_size_gb: int, kms_key_id: str) -> list[dict[str, Any]]:
    """The node's EBS volumes, gp3 and encrypted with the cluster key.

    AL2023 has one volume (/dev/xvda) holding the OS, images and kubelet state. Bottlerocket keeps a small read-only
    OS volume (/dev/xvda) and a data volume (/dev/xvdb) for images, containers and kubelet state, the one sized by
    the pool (`rootVolume`: the kubelet's root dir, whose size Karpenter reports as ephemeral storage).
    """
    if os_family == "bottlerocket":
        return [
            _volume("/dev/xvda", BOTTLEROCKET_OS_VOLUME_GB, kms_key_id, root=False),
            _volume("/dev/xvdb", disk_size_gb, kms_key_id, root=True),
        ]
    return [_volume("/dev/xvda", disk_size_gb, kms_key_id, root=True)]


def ec2_node_class(
    name: str,
    *,
    os_family: str,
    disk_size_gb: int,
    node_role_name: str,
    kms_key_id: str,
    discovery_tag_key: str,
    discovery_tag_value: str,
    tags: Mapping[str, str],
    placement_group: str | None = None,
) -> dict[str, Any]:
    """An EC2NodeClass (karpenter.k8s.aws/v1) for one pool's nodes.

    Args:
        name: the object's name (the pool's name: one class per pool).
        os_family: `al2023` or `bottlerocket`; selects the pinned AMI alias and the volume layout.
        disk_size_gb: size of the root (AL2023) or data (Bottlerocket) volume, in GiB.
        node_role_name: the IAM role of the nodes (Karpenter creates and manages the instance profile).
        kms_key_id: the KMS key (ARN) every node volume is encrypted with.
        discovery_tag_key: the tag key marking the cluster's private node subnets and node security group.
        discovery_tag_value: its value (usually the cluster name).
        tags: tags for the instances, volumes and launch templates (the platform's).
        placement_group: the placement group every node of the class launches into, by name (an EFA pool's
            cluster placement group); None for none.
    """
    discovery = {discovery_tag_key: discovery_tag_value}
    manifest = {
        "apiVersion": EC2_NODE_CLASS_API_VERSION,
        "kind": EC2_NODE_CLASS_KIND,
        "metadata": {"name": name},
        "spec": {
            # An alias selects the EKS-optimized AMI of the family (NVIDIA variant for GPU instance types) and
            # implies `amiFamily`; it must be the only selector term.
            "amiSelectorTerms": [{"alias": ami_alias(os_family)}],
            "role": node_role_name,
            # Only subnets and security groups tagged for this cluster: the private node subnets (the network
            # tags no public subnet) and the cluster's node security group.
            "subnetSelectorTerms": [{"tags": dict(discovery)}],
            "securityGroupSelectorTerms": [{"tags": dict(discovery)}],
            "associatePublicIPAddress": False,
            "metadataOptions": dict(IMDS_OPTIONS),
            "blockDeviceMappings": block_device_mappings(os_family, disk_size_gb, kms_key_id),
            "tags": {**dict(tags), POOL_NAME_TAG: name},
        },
    }
    if placement_group:
        manifest["spec"]["placementGroupSelector"] = {"name": placement_group}
    return manifest


def _taint(taint: Mapping[str, str]) -> dict[str, str]:
    # The NodePool CRD's taint value must match a pattern that refuses "", so a valueless taint omits the field.
    result = {"key": taint["key"], "effect": taint["effect"]}
    if taint.get("value"):
        result["value"] = taint["value"]
    return result


def requirements(spec: ScaledPoolSpec) -> list[dict[str, Any]]:
    """The node requirements of a pool: its instance types, capacity types, architecture, Linux, and zones."""
    result: list[dict[str, Any]] = [
        {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": list(spec["instance_types"])},
        {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": list(spec["capacity_types"])},
        {"key": ARCH_LABEL, "operator": "In", "values": [spec["architecture"]]},
        {"key": OS_LABEL, "operator": "In", "values": ["linux"]},
    ]
    if spec.get("zones"):
        result.append({"key": ZONE_LABEL, "operator": "In", "values": list(spec["zones"])})
    return result


def disruption(spec: ScaledPoolSpec, *, consolidate_after: str) -> dict[str, Any]:
    """How Karpenter may take a pool's nodes away.

    GPU pools: `WhenEmpty`, so an idle GPU node goes `consolidate_after` after its last pod, and a node running a job
    is never consolidated (`WhenEmptyOrUnderutilized` would evict busy GPU pods to repack them onto fewer nodes).
    Drift is budgeted to zero nodes: a changed AMI pin or node class never evicts a job; drifted GPU nodes are
    replaced when they empty (and are consolidated) or expire (`expireAfter`, which budgets cannot block).

    CPU pools: `WhenEmptyOrUnderutilized`, one node at a time for repacking and drift. The platform pods on them are
    controllers, exporters and stateful stores whose volumes follow them; Karpenter drains through the Eviction API
    (PodDisruptionBudgets and `karpenter.sh/do-not-disrupt` hold it back) and starts the replacement first. A CPU
    burst node holding one straggler pod is not worth keeping for the rest of its 30 days.

    Every pool: at most 10% of its nodes (rounded up, so at least one) disrupted at once.
    """
    if is_gpu_pool(spec):
        return {
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": consolidate_after,
            "budgets": [{"nodes": "10%"}, {"nodes": "0", "reasons": ["Drifted"]}],
        }
    return {
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "consolidateAfter": consolidate_after,
        "budgets": [{"nodes": "10%"}, {"nodes": "1", "reasons": ["Underutilized", "Drifted"]}],
    }


def limits(spec: ScaledPoolSpec) -> dict[str, str]:
    """The pool's ceiling: vCPUs (and GPUs) of `max_nodes` of its largest nodes, as strings (the API coerces
    quantities to strings; integers would show as a diff on every read, concepts/nodepools.md)."""
    result = {"cpu": str(int(spec["max_nodes"]) * int(spec["cpus_per_node"]))}
    if is_gpu_pool(spec):
        result[gpu.GPU_RESOURCE] = str(int(spec["max_nodes"]) * int(spec["gpus_per_node"]))
    return result


def node_pool(
    spec: ScaledPoolSpec,
    *,
    node_class_name: str,
    consolidate_after: str,
    node_expiry: str,
    drain_grace: str,
) -> dict[str, Any]:
    """A NodePool (karpenter.sh/v1) for one autoscaled pool.

    Args:
        spec: the pool, as the cloud layer plans it; the NodePool is named after it.
        node_class_name: the EC2NodeClass its nodes are launched with.
        consolidate_after: how long an empty (GPU) or empty/underutilized (CPU) node stays (`consolidateAfter`).
        node_expiry: node lifetime before replacement (`expireAfter`).
        drain_grace: how long a node being removed waits for pods that block eviction (`terminationGracePeriod`).
    """
    body: dict[str, Any] = {
        "template": {
            "metadata": {"labels": dict(spec["labels"])},
            "spec": {
                "nodeClassRef": {"group": EC2_NODE_CLASS_GROUP, "kind": EC2_NODE_CLASS_KIND, "name": node_class_name},
                "requirements": requirements(spec),
                "taints": [_taint(taint) for taint in spec["taints"]],
                "expireAfter": node_expiry,
                "terminationGracePeriod": drain_grace,
            },
        },
        "disruption": disruption(spec, consolidate_after=consolidate_after),
        "limits": limits(spec),
    }
    if int(spec["priority"]) > 0:
        # The CRD takes 1..100; a pool without weight counts as 0, the lowest.
        body["weight"] = int(spec["priority"])
    return {
        "apiVersion": NODE_POOL_API_VERSION,
        "kind": "NodePool",
        "metadata": {"name": spec["name"]},
        "spec": body,
    }


# --- Checks -----------------------------------------------------------------------------------------------

_SPEC_FIELDS = frozenset(ScaledPoolSpec.__annotations__)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_label_value(problems: Problems, path: str, value: object) -> None:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
        problems.add(path, f"{value!r} is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')")


def _check_strings(problems: Problems, path: str, value: object, *, allowed: tuple[str, ...] | None = None) -> None:
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty list")
        return
    if len(set(map(str, value))) != len(value):
        problems.add(path, "must not repeat a value")
    for index, item in enumerate(value):
        if allowed is not None and item not in allowed:
            problems.add(f"{path}[{index}]", f"must be one of {', '.join(allowed)} (got {item!r})")
        elif allowed is None:
            _check_label_value(problems, f"{path}[{index}]", item)


def check_duration(problems: Problems, path: str, value: object, *, never: bool = True) -> None:
    """Record a problem when `value` is not a Karpenter duration (`30s`, `10m`, `720h`, `1h30m`, or `Never`)."""
    pattern = DISRUPTION_DURATION if never else GRACE_DURATION
    if not isinstance(value, str) or not pattern.match(value):
        example = "'10m', '720h' or 'Never'" if never else "'30m' or '24h'"
        problems.add(path, f"{value!r} is not a Karpenter duration like {example} (units h, m, s; no days)")


def check_tags(problems: Problems, path: str, tags: object) -> None:
    """Record a problem for every tag an EC2NodeClass cannot carry."""
    if not isinstance(tags, Mapping):
        problems.add(path, "must be a map of tag keys to string values")
        return
    for key, value in tags.items():
        reason = restricted_tag_reason(key) if isinstance(key, str) else "tag keys must be strings"
        if reason:
            problems.add(f"{path}.{key}", reason)
        elif not isinstance(value, str):
            problems.add(f"{path}.{key}", "tag values must be strings")
        elif key == POOL_NAME_TAG:
            problems.add(f"{path}.{key}", "is set by the component to each pool's name")


def check_pool(problems: Problems, path: str, spec: object) -> None:
    """Record every reason `spec` cannot become a valid NodePool and EC2NodeClass, with its property path."""
    if not isinstance(spec, Mapping):
        problems.add(path, "must be a pool spec (a mapping with name, instanceTypes, capacityTypes, ...)")
        return
    unknown = set(map(str, spec)) - _SPEC_FIELDS
    if unknown:
        problems.add(path, f"unknown fields {', '.join(sorted(unknown))}")
    missing = sorted(field for field in _SPEC_FIELDS - {"zones"} if field not in spec)
    for field in missing:
        problems.add(f"{path}.{camel(field)}", "required")

    name = spec.get("name")
    if "name" in spec:
        reason = dns1123_label_problem(name) if isinstance(name, str) else "must be a string"
        if reason:
            problems.add(f"{path}.name", f"names the NodePool and EC2NodeClass: {reason}")
    if "instance_types" in spec:
        _check_strings(problems, f"{path}.instanceTypes", spec["instance_types"])
    if "capacity_types" in spec:
        _check_strings(problems, f"{path}.capacityTypes", spec["capacity_types"], allowed=CAPACITY_TYPES)
    if "architecture" in spec and spec["architecture"] not in ARCHITECTURES:
        problems.add(
            f"{path}.architecture", f"must be one of {', '.join(ARCHITECTURES)} (got {spec['architecture']!r})"
        )
    if "os_family" in spec and spec["os_family"] not in _charts.EKS_AMI_ALIASES:
        problems.add(
            f"{path}.osFamily", f"must be one of {', '.join(_charts.EKS_AMI_ALIASES)} (got {spec['os_family']!r})"
        )
    disk = spec.get("disk_size_gb")
    minimum_disk = BOTTLEROCKET_OS_VOLUME_GB if spec.get("os_family") == "bottlerocket" else 1
    if "disk_size_gb" in spec and (not _is_int(disk) or not minimum_disk <= disk <= GP3_MAX_GB):  # type: ignore[operator]
        problems.add(f"{path}.diskSizeGb", f"must be a whole number of GiB from {minimum_disk} to {GP3_MAX_GB} (gp3)")
    for field, minimum, maximum in (
        ("gpus_per_node", 0, None),
        ("max_nodes", 1, None),
        ("cpus_per_node", 1, None),
        ("priority", 0, 100),
    ):
        value = spec.get(field)
        if field in spec and (not _is_int(value) or value < minimum or (maximum is not None and value > maximum)):  # type: ignore[operator]
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            why = {"max_nodes": " (the NodePool's limits derive from it, and a limit of 0 launches nothing)",
                   "priority": " (the NodePool weight; 0 leaves it unweighted)"}.get(field, "")  # fmt: skip
            problems.add(f"{path}.{camel(field)}", f"must be a whole number {bound}{why} (got {value!r})")
    if "zones" in spec:
        _check_strings(problems, f"{path}.zones", spec["zones"])

    labels = spec.get("labels")
    if "labels" in spec:
        _check_labels(problems, f"{path}.labels", labels)
    taints = spec.get("taints")
    if "taints" in spec:
        _check_taints(problems, f"{path}.taints", taints)
    requirement_count = 4 + (1 if spec.get("zones") else 0)
    if isinstance(labels, Mapping) and len(labels) + requirement_count > MAX_REQUIREMENTS:
        problems.add(f"{path}.labels", f"labels and the {requirement_count} requirements exceed Karpenter's "
                     f"{MAX_REQUIREMENTS} per NodePool")  # fmt: skip
    if _is_int(spec.get("gpus_per_node")) and spec["gpus_per_node"] > 0:  # type: ignore[operator]
        _check_gpu_contract(problems, path, labels, taints)


def _check_labels(problems: Problems, path: str, labels: object) -> None:
    if not isinstance(labels, Mapping):
        problems.add(path, "must be a map of label keys to string values")
        return
    for key, value in labels.items():
        if not isinstance(key, str) or len(key) > 316 or not _LABEL_KEY.match(key):
            problems.add(f"{path}.{key}", f"{key!r} is not a Kubernetes label key")
            continue
        reason = restricted_label_reason(key)
        if reason:
            problems.add(f"{path}.{key}", reason)
        _check_label_value(problems, f"{path}.{key}", value)


def _check_taints(problems: Problems, path: str, taints: object) -> None:
    if not isinstance(taints, list):
        problems.add(path, "must be a list of taints ({key, value, effect})")
        return
    for index, taint in enumerate(taints):
        item = f"{path}[{index}]"
        if not isinstance(taint, Mapping) or set(taint) - {"key", "value", "effect"}:
            problems.add(item, "must be a taint with key, value and effect")
            continue
        key, value, effect = taint.get("key"), taint.get("value", ""), taint.get("effect")
        if not isinstance(key, str) or not _LABEL_KEY.match(key):
            problems.add(f"{item}.key", f"{key!r} is not a valid taint key (a Kubernetes label key)")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.add(f"{item}.value", f"{value!r} is not a valid taint value (a Kubernetes label value)")
        if effect not in _TAINT_EFFECTS:
            problems.add(f"{item}.effect", f"must be one of {', '.join(_TAINT_EFFECTS)} (got {effect!r})")


def _check_gpu_contract(problems: Problems, path: str, labels: object, taints: object) -> None:
    """A GPU pool's nodes must carry the GPU contract, or the GPU agents and GPU workloads would miss them."""
    if isinstance(labels, Mapping) and labels.get(gpu.GPU_PRESENT_LABEL) != "true":
        problems.add(f"{path}.labels", f"a GPU pool carries {gpu.GPU_PRESENT_LABEL}=true: the device plugin, DCGM "
                     "exporter and GPU workloads select it")  # fmt: skip
    if isinstance(taints, list):
        contract = gpu.NVIDIA_GPU_TAINT.kubernetes()
        if not any(isinstance(taint, Mapping) and dict(taint) == contract for taint in taints):
            problems.add(f"{path}.taints", f"a GPU pool carries the taint {gpu.NVIDIA_GPU_TAINT.key}="
                         f"{gpu.NVIDIA_GPU_TAINT.value}:{gpu.NVIDIA_GPU_TAINT.effect}, so only GPU work lands there")  # fmt: skip


def check_pools(problems: Problems, path: str, pools: object) -> None:
    """Record every problem of the pool list: empty, malformed pools, repeated names."""
    if not isinstance(pools, list) or not pools:
        problems.add(path, "must list at least one pool to autoscale")
        return
    seen: set[str] = set()
    for index, spec in enumerate(pools):
        check_pool(problems, f"{path}[{index}]", spec)
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                problems.add(f"{path}[{index}].name", f"'{name}' names another pool too (NodePool names are unique)")
            seen.add(name)
