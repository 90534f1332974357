"""The deployability check: whether what a synthesized stack registers can actually run, before any cloud exists.

It reads the recorded graph (and, for a Kubernetes layer deployed by its own stack, the foundation's node pools)
and answers six questions, each a check kind with its own rule in the machine formats:

- `placement`: every workload has a node pool it can be scheduled on (taints vs tolerations, node selector and
  required node affinity, requests vs the allocatable capacity of the pool's instance type or VM size); every
  DaemonSet runs, and fits, on every pool it selects;
- `zonal-volumes`: a workload with zonal persistent volumes finds a node in every zone its volumes can be in;
- `pod-security`: each namespace's Pod Security `enforce` level admits the pods put there;
- `rollout-quota`: every workload, and every rolling update's surge, fits its namespace's ResourceQuota;
- `service-selector`: every Service selects the pods of some workload in its namespace (and their named port), and
  every Gateway API HTTPRoute's Service backend is a Service of the graph exposing that port;
- `probe`: every probe hits a port the container declares, and a path the server serves where the project knows
  the server (the example model server in examples/model-server);
- `autoscaler-target`: every KEDA ScaledObject and HorizontalPodAutoscaler scales a workload the graph creates.
  An autoscaled workload is judged everywhere else at its autoscaler's maximum: its pods must fit the pools and
  the namespace's quota (GPUs included) at `maxReplicas`, and so must its rolling update's surge at that scale.

Workloads are the Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods in the graph, the pods ECK runs
for Elasticsearch and Kibana, those the Prometheus operator runs for Prometheus and Alertmanager, and the pods each
pinned chart creates with the values the project passes (`components/kubernetes/_chart_workloads.py`).
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from components._common import allocatable, gpu
from components._common.validation import parse_quantity
from components.kubernetes._chart_workloads import chart_workloads, envoy_proxy_workload
from stacks.load import FULL_KEY, stack_config_from_file
from stacks.synth import PROJECT_ROOT, UNKNOWN, Registration, Synthesis, cluster_layer_of, synthesize

PLACEMENT, ZONAL_VOLUMES, POD_SECURITY, ROLLOUT_QUOTA, SERVICE_SELECTOR, PROBE, AUTOSCALER_TARGET = (
    "placement",
    "zonal-volumes",
    "pod-security",
    "rollout-quota",
    "service-selector",
    "probe",
    "autoscaler-target",
)


@dataclass(frozen=True)
class CheckKind:
    """One kind of deployability check (a SARIF rule, a JUnit test case)."""

    key: str
    rule: str
    title: str
    description: str
    fix: str


CHECK_KINDS: dict[str, CheckKind] = {
    kind.key: kind
    for kind in (
        CheckKind(
            PLACEMENT,
            "deployability-placement",
            "Every workload has a node pool it can be scheduled on",
            "Each pod tolerates the NoSchedule/NoExecute taints of at least one node pool the platform creates, "
            "selects its labels (nodeSelector, required node affinity) and fits its allocatable CPU, memory and GPUs; "
            "each DaemonSet tolerates and fits every pool it selects.",
            "Add a node pool the workload can use (e.g. an untainted platform pool), or give the workload the "
            "tolerations and selectors of an existing pool; for DaemonSets, tolerate every taint of the pools they "
            "select.",
        ),
        CheckKind(
            ZONAL_VOLUMES,
            "deployability-zonal-volumes",
            "Workloads with zonal volumes find a node in every zone their volumes can be in",
            "A pod whose persistent volume is zonal (EBS, Azure Disk LRS) can only run in that zone; every zone a "
            "volume may be created in has a node pool that keeps a node there.",
            "Create one node pool per zone with minSize >= 1 (or a pool whose minSize is at least its number of "
            "zones), or use a zone-redundant storage class (Azure Premium_ZRS / StandardSSD_ZRS).",
        ),
        CheckKind(
            POD_SECURITY,
            "deployability-pod-security",
            "Each namespace's Pod Security level admits its pods",
            "The `pod-security.kubernetes.io/enforce` level of a namespace (baseline, restricted) admits the pod "
            "templates of the workloads placed there; a rejected pod is never created.",
            "Move the workload to a namespace whose level admits it, or harden its pod and container security "
            "context to the namespace's level.",
        ),
        CheckKind(
            ROLLOUT_QUOTA,
            "deployability-rollout-quota",
            "Every workload and every rolling update fits its namespace's ResourceQuota",
            "The pods of a namespace, plus the surge pods of a rolling update (maxSurge x requests, GPUs included), "
            "fit the namespace's ResourceQuota; otherwise the surge pod is rejected and a rollout with "
            "maxUnavailable 0 never progresses.",
            "Raise the quota by the surge (e.g. one more GPU), or roll out with maxSurge 0 and maxUnavailable 1.",
        ),
        CheckKind(
            SERVICE_SELECTOR,
            "deployability-service-selector",
            "Every Service selects pods",
            "A Service's selector matches the pod labels of some workload in its namespace, and a named targetPort "
            "is a port those pods declare; an HTTPRoute's Service backends exist and expose the port it names.",
            "Make the Service's selector match the workload's pod template labels (and its targetPort a declared "
            "port name); point the route's backendRefs at a Service and port the stack creates.",
        ),
        CheckKind(
            PROBE,
            "deployability-probe",
            "Every probe hits a declared port and a served path",
            "Liveness, readiness and startup probes name a port the container declares; where the project knows "
            "the server (examples/model-server), HTTP probes ask for a path it serves.",
            "Point the probe at a declared port and, for the example model server, at /ready and /live "
            "(ModelDeployment's generic server preset), or serve the probed path.",
        ),
        CheckKind(
            AUTOSCALER_TARGET,
            "deployability-autoscaler-target",
            "Every autoscaler scales a workload that exists",
            "Each KEDA ScaledObject and HorizontalPodAutoscaler names, in its scaleTargetRef, a Deployment or "
            "StatefulSet the stack creates in its namespace; that workload is judged at the autoscaler's maximum "
            "replicas (placement, pool capacity, quota and rollout surge).",
            "Point scaleTargetRef at the workload's kind and name (ModelDeployment's autoscaling does), or create "
            "the workload.",
        ),
    )
}

LIMITS = (
    "What the deployability check cannot see: it judges the graph offline. Node pools, taints, labels and sizes are "
    "read from the registered EKS node groups and AKS agent pools; allocatable CPU and memory come from the table in "
    "components/_common/allocatable.py (the clouds' documented reservations), not from a real node, whose image "
    "and kubelet flags decide. Pods inside Helm charts come from a table of what each pinned chart renders with "
    "the project's values (components/kubernetes/_chart_workloads.py), not from Helm. Operands the GPU operator "
    "creates at run time are modelled from its ClusterPolicy (tolerations, node labels it sets), and what other "
    "operators or admission webhooks add to pods (ECK and Prometheus operator defaults, init containers) is not "
    "seen. Pods are fitted one at a time to a node and in sum to a pool at its maxSize; bin packing, the autoscaler's choices, "
    "capacity and quota in the cloud account are not judged (`python -m stacks preflight` covers quotas). On an "
    "existing cluster (kubeconfig context) the node pools are unknown, so placement and zones are not verifiable "
    "offline."
)

ZONE_REDUNDANT_AZURE_SKUS = frozenset({"Premium_ZRS", "StandardSSD_ZRS"})
ZONAL_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs", "disk.csi.azure.com", "kubernetes.io/azure-disk"})  # fmt: skip
DEFAULT_CLASS_PROVISIONER = {"aws": ("ebs.csi.aws.com", "gp2"), "azure": ("disk.csi.azure.com", "StandardSSD_LRS")}
"""The storage class a cluster offers by default when the stack does not mark one: EKS `gp2`, AKS `managed-csi`."""

BUILT_IN_CLASSES: dict[str, dict[str, tuple[str, str]]] = {
    "aws": {"gp2": ("kubernetes.io/aws-ebs", "gp2")},
    "azure": {
        "default": ("disk.csi.azure.com", "StandardSSD_LRS"),
        "managed-csi": ("disk.csi.azure.com", "StandardSSD_LRS"),
        "managed-csi-premium": ("disk.csi.azure.com", "Premium_LRS"),
        "managed-premium": ("disk.csi.azure.com", "Premium_LRS"),
        "azurefile-csi": ("file.csi.azure.com", "Standard_LRS"),
        "azurefile-csi-premium": ("file.csi.azure.com", "Premium_LRS"),
    },
}
"""Storage classes the cluster itself ships (EKS `gp2`; AKS's built-in classes), by cloud."""
MIG_CAPABLE = ("a100", "a30", "h100", "h200", "b200", "gb200", "gb300")
"""Accelerators that support MIG (NVIDIA MIG user guide, "Supported GPUs")."""
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
_EKS_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}
_AWS_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")
_AZURE_ARM = re.compile(r"^Standard_[A-Z]+\d+[a-z]*p[a-z]*_")
MODEL_SERVER_DIR = PROJECT_ROOT / "examples" / "model-server"


# --- Model ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taint:
    """A node taint in Kubernetes form."""

    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class Pool:
    """A node pool the stack creates."""

    name: str
    urn: str
    type: str
    cloud: str
    taints: tuple[Taint, ...]
    labels: Mapping[str, frozenset[str]]
    """Node labels, including those the cloud and the GPU stack add; a label may hold one value per node kind
    (instance types, zones)."""
    sizes: tuple[str, ...]
    """Instance types or VM sizes its nodes may have."""
    zones: tuple[str, ...] | None
    """Zones its nodes are spread over; () for a regional (zoneless) pool; None when the graph does not say."""
    min_size: int
    max_size: int
    autoscaled: bool
    max_pods: int | None = None

    def node_sizes(self) -> list[allocatable.NodeSize | None]:
        """The allocatable of each size (None for a size the table does not know)."""
        return [allocatable.node_size(self.cloud, size, max_pods=self.max_pods) for size in self.sizes]  # type: ignore[arg-type]


@dataclass
class Workload:
    """Pods a workload puts in a namespace."""

    kind: str
    name: str
    namespace: str
    replicas: int
    pod_spec: dict[str, Any]
    labels: dict[str, str]
    urn: str
    """The registration that creates it (the chart, for chart-rendered workloads)."""
    resource_type: str
    resource_name: str
    source: str = "graph"
    """`graph`, or where the table took a chart workload from."""
    volume_claims: tuple[str | None, ...] = ()
    strategy: dict[str, Any] = field(default_factory=dict)
    run_time: bool = False
    """Pods an operator creates from a custom resource (fields it adds on its own are not seen)."""
    scaled_by: str = ""
    """`Kind/namespace/name` of the autoscaler whose maximum `replicas` holds ('' when not autoscaled)."""

    @property
    def label(self) -> str:
        """`Kind/namespace/name`."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def is_daemon(self) -> bool:
        """One pod per selected node."""
        return self.kind == "DaemonSet"

    def containers(self) -> list[dict[str, Any]]:
        """The main containers."""
        return [c for c in self.pod_spec.get("containers") or [] if isinstance(c, dict)]

    def init_containers(self) -> list[dict[str, Any]]:
        """The init containers."""
        return [c for c in self.pod_spec.get("initContainers") or [] if isinstance(c, dict)]


@dataclass(frozen=True)
class Problem:
    """Something that would keep a workload from running (or, as a note, that the check could not judge)."""

    check: str
    workload: str
    """`Kind/namespace/name` of the workload (or the Service, the namespace)."""
    pool: str
    """The node pool concerned ('' when none is)."""
    message: str
    urn: str
    resource_type: str
    resource_name: str

    @property
    def kind(self) -> CheckKind:
        """The check kind."""
        return CHECK_KINDS[self.check]


@dataclass
class DeployabilityReport:
    """The deployability verdict of one stack."""

    stack: str
    pools_from: str
    """Where the node pools were read: `this stack`, `foundation <stack>`, or why they are unknown."""
    workloads_from: str
    pools: list[Pool]
    workloads: list[Workload]
    problems: list[Problem]
    notes: list[Problem]
    """Things the check could not judge offline."""
    checked: dict[str, int]
    """Per check kind, how many things it judged."""
    not_verifiable: dict[str, str] = field(default_factory=dict)
    """Check kinds that could not run at all, and why."""

    @property
    def exit_code(self) -> int:
        """1 when a workload cannot run, else 0."""
        return 1 if self.problems else 0

    @property
    def status(self) -> str:
        """`fail`, `pass`, or `pass (partly not verifiable offline)`."""
        if self.problems:
            return "fail"
        return "pass (partly not verifiable offline)" if self.not_verifiable or self.notes else "pass"

    def by_check(self, check: str) -> list[Problem]:
        """The problems of one check kind."""
        return [problem for problem in self.problems if problem.check == check]

    def verdict(self, check: str) -> str:
        """`fail`, `pass`, `not verifiable offline` or `not applicable` for one check kind."""
        if self.by_check(check):
            return "fail"
        if check in self.not_verifiable:
            return "not verifiable offline"
        return "pass" if self.checked.get(check) else "not applicable"

    def summary(self) -> str:
        """One line, e.g. `deployability: fail, 9 problems (placement 9)`."""
        if not self.problems:
            line = f"deployability: {self.status}"
        else:
            counts = ", ".join(f"{key} {len(self.by_check(key))}" for key in CHECK_KINDS if self.by_check(key))
            line = (
                f"deployability: fail, {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} ({counts})"
            )
        unjudged = sorted(self.not_verifiable)
        if unjudged:
            line += f"; not verifiable offline: {', '.join(unjudged)}"
        return line


# --- Reading the graph ----------------------------------------------------------------------------------


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def _metadata(inputs: Mapping[str, Any]) -> dict[str, Any]:
    metadata = inputs.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _as_int(value: Any, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _kubernetes_taint(text: str) -> Taint | None:
    """`key=value:Effect` or `key:Effect` (the AKS form)."""
    head, _, effect = text.rpartition(":")
    if not head:
        return None
    key, _, value = head.partition("=")
    return Taint(key, value, effect)


def _subnet_zones(registrations: Sequence[Registration]) -> dict[str, str]:
    """Subnet ID (as the mocks return it) -> availability zone."""
    zones: dict[str, str] = {}
    for registration in registrations:
        if registration.type == "aws:ec2/subnet:Subnet":
            zone = registration.inputs.get("availabilityZone")
            if _known(zone):
                zones[f"{registration.name}-id"] = str(zone)
                if _known(registration.inputs.get("id")):
                    zones[str(registration.inputs["id"])] = str(zone)
    return zones


def _gpu_runtime_labels(labels: dict[str, set[str]], sizes: Iterable[str], cloud: str) -> None:
    """Labels the GPU stack adds to GPU nodes at run time: NFD's PCI label, `nvidia.com/gpu.present`, and the GPU
    operator's `nvidia.com/gpu.deploy.<operand>=true` (unless the pool pins one to false)."""
    is_gpu = labels.get(gpu.GPU_PRESENT_LABEL) == {"true"} or any(
        gpu.gpu_instance(cloud, size) is not None
        for size in sizes  # type: ignore[arg-type]
    )
    if not is_gpu:
        return
    labels.setdefault(gpu.GPU_PRESENT_LABEL, {"true"})
    labels.setdefault("feature.node.kubernetes.io/pci-10de.present", {"true"})
    for operand in ("driver", "container-toolkit", "device-plugin", "dcgm-exporter", "dcgm", "gpu-feature-discovery",
                    "operator-validator", "node-status-exporter"):  # fmt: skip
        labels.setdefault(f"nvidia.com/gpu.deploy.{operand}", {"true"})
    accelerators = set(labels.get(gpu.ACCELERATOR_LABEL, set())) | {
        instance.accelerator
        for size in sizes
        if (instance := gpu.gpu_instance(cloud, size)) is not None  # type: ignore[arg-type]
    }
    # The operator runs the MIG manager only where GFD reports MIG-capable GPUs.
    if any(model in accelerator for accelerator in accelerators for model in MIG_CAPABLE):
        labels.setdefault("nvidia.com/gpu.deploy.mig-manager", {"true"})


def _pool(
    *,
    name: str,
    registration: Registration,
    cloud: str,
    taints: list[Taint],
    labels: Mapping[str, Any],
    sizes: list[str],
    zones: tuple[str, ...] | None,
    min_size: int,
    max_size: int,
    autoscaled: bool,
    implicit: Mapping[str, Iterable[str]],
    max_pods: int | None = None,
) -> Pool:
    merged: dict[str, set[str]] = {key: {str(value)} for key, value in labels.items() if _known(value)}
    for key, values in implicit.items():
        merged.setdefault(key, set()).update(values)
    merged["kubernetes.io/os"] = {"linux"}
    merged["node.kubernetes.io/instance-type"] = set(sizes)
    if zones:
        merged["topology.kubernetes.io/zone"] = set(zones)
    _gpu_runtime_labels(merged, sizes, cloud)
    return Pool(
        name=name,
        urn=registration.urn,
        type=registration.type,
        cloud=cloud,
        taints=tuple(taints),
        labels={key: frozenset(values) for key, values in merged.items()},
        sizes=tuple(sizes),
        zones=zones,
        min_size=min_size,
        max_size=max_size,
        autoscaled=autoscaled,
        max_pods=max_pods,
    )


def _aws_architectures(sizes: Iterable[str], ami_type: str) -> set[str]:
    """`kubernetes.io/arch` of an EKS node group: arm64 for ARM AMIs and Graviton families (m6g, c7gn, g5g)."""
    if "ARM" in ami_type.upper():
        return {"arm64"}
    return {"arm64" if _AWS_GRAVITON.match(size) else "amd64" for size in sizes} or {"amd64"}


def node_pools(registrations: Sequence[Registration]) -> list[Pool]:
    """The node pools in a graph: EKS managed node groups, the AKS cluster's agent pool profiles and agent pools."""
    pools: list[Pool] = []
    subnet_zones = _subnet_zones(registrations)
    for registration in registrations:
        inputs = registration.inputs
        if registration.type == "aws:eks/nodeGroup:NodeGroup":
            name = str(inputs.get("nodeGroupName") or registration.name)
            sizes = [str(s) for s in inputs.get("instanceTypes") or ["t3.medium"] if _known(s)]
            subnets = [str(s) for s in inputs.get("subnetIds") or []]
            zones = tuple(sorted({subnet_zones[s] for s in subnets if s in subnet_zones}))
            scaling = inputs.get("scalingConfig") or {}
            taints = [
                Taint(str(t.get("key", "")), str(t.get("value") or ""), _EKS_EFFECTS.get(str(t.get("effect")), "NoSchedule"))
                for t in inputs.get("taints") or []
                if isinstance(t, dict)
            ]  # fmt: skip
            capacity = str(inputs.get("capacityType") or "ON_DEMAND")
            pools.append(
                _pool(
                    name=name,
                    registration=registration,
                    cloud="aws",
                    taints=taints,
                    labels=inputs.get("labels") or {},
                    sizes=sizes,
                    # Unknown when a subnet is not in the graph (passed in as an ID, or unknown in a preview).
                    zones=zones if subnets and all(s in subnet_zones for s in subnets) else None,
                    min_size=_as_int(scaling.get("minSize"), 1),
                    max_size=_as_int(scaling.get("maxSize"), 1),
                    autoscaled=False,
                    implicit={
                        "eks.amazonaws.com/nodegroup": {name},
                        "eks.amazonaws.com/capacityType": {capacity},
                        "kubernetes.io/arch": _aws_architectures(sizes, str(inputs.get("amiType") or "")),
                    },
                )
            )  # fmt: skip
        elif registration.type == KARPENTER_NODE_POOL:
            pool = _karpenter_pool(registration)
            if pool is not None:
                pools.append(pool)
        elif registration.type == "azure-native:containerservice:ManagedCluster":
            for profile in inputs.get("agentPoolProfiles") or []:
                if isinstance(profile, dict):
                    pools.append(_aks_pool(registration, profile, str(profile.get("name", ""))))
        elif registration.type == "azure-native:containerservice:AgentPool":
            pools.append(_aks_pool(registration, inputs, str(inputs.get("agentPoolName") or registration.name)))
    return pools


KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
"""A Karpenter NodePool: nodes it launches when pods are pending (none until then; `pulumi up` creates no node)."""


def _karpenter_pool(registration: Registration) -> Pool | None:
    """The nodes a Karpenter NodePool may launch: its template's labels and taints, its requirements' values, and
    at most as many nodes as its `limits` allow (GPUs, then CPUs, per node of its smallest size)."""
    spec = registration.inputs.get("spec")
    if not isinstance(spec, dict):
        return None
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    node_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    requirements: dict[str, set[str]] = {}
    for requirement in node_spec.get("requirements") or []:
        if isinstance(requirement, dict) and requirement.get("operator") == "In":
            requirements[str(requirement.get("key"))] = {str(v) for v in requirement.get("values") or [] if _known(v)}
    taints = [
        Taint(str(t.get("key", "")), str(t.get("value") or ""), str(t.get("effect") or "NoSchedule"))
        for t in node_spec.get("taints") or []
        if isinstance(t, dict)
    ]
    name = str((registration.inputs.get("metadata") or {}).get("name") or registration.name)
    sizes = sorted(requirements.pop("node.kubernetes.io/instance-type", set()))
    zones = requirements.pop("topology.kubernetes.io/zone", None)
    implicit = {key: values for key, values in requirements.items() if values}
    implicit["karpenter.sh/nodepool"] = {name}
    implicit.setdefault("karpenter.sh/capacity-type", {"on-demand"})
    return _pool(
        name=name,
        registration=registration,
        cloud="aws",
        taints=taints,
        labels=(template.get("metadata") or {}).get("labels") or {},
        sizes=sizes,
        zones=tuple(sorted(zones)) if zones else None,
        min_size=0,
        max_size=_karpenter_max_nodes(spec.get("limits"), sizes),
        autoscaled=True,
        implicit=implicit,
    )


def _karpenter_max_nodes(limits: Any, sizes: Sequence[str]) -> int:
    """How many nodes of the pool's smallest size its `limits` admit (unbounded limits: a large number)."""
    if not isinstance(limits, dict) or not sizes:
        return 1000
    bounds: list[int] = []
    for size in sizes:
        node = allocatable.node_size("aws", size)
        if node is None:
            continue
        for resource, per_node in ((gpu.GPU_RESOURCE, node.gpus), ("cpu", node.vcpus)):
            limit = limits.get(resource)
            if per_node > 0 and _known(limit):
                try:
                    bounds.append(int(parse_quantity(limit) // per_node))
                except ValueError:
                    continue
    return max(min(bounds), 0) if bounds else 1000


def _aks_pool(registration: Registration, profile: Mapping[str, Any], name: str) -> Pool:
    taints = [t for t in (_kubernetes_taint(str(text)) for text in profile.get("nodeTaints") or []) if t]
    labels = dict(profile.get("nodeLabels") or {})
    implicit: dict[str, set[str]] = {
        "kubernetes.azure.com/agentpool": {name},
        "kubernetes.azure.com/mode": {str(profile.get("mode") or "User").lower()},
        # Azure's Arm64 sizes carry a `p` among the feature letters (Standard_D4ps_v5).
        "kubernetes.io/arch": {"arm64" if _AZURE_ARM.match(str(profile.get("vmSize") or "")) else "amd64"},
    }
    if str(profile.get("scaleSetPriority") or "") == "Spot":
        # AKS puts this taint and label on every spot pool, whether or not the request lists them.
        spot = gpu.AKS_SPOT_TAINT
        if not any(t.key == spot.key for t in taints):
            taints.append(Taint(spot.key, spot.value, spot.effect))
        implicit[spot.key] = {spot.value}
    size = str(profile.get("vmSize") or "")
    zones = tuple(str(z) for z in profile.get("availabilityZones") or [])
    autoscaled = bool(profile.get("enableAutoScaling"))
    minimum = _as_int(profile.get("minCount") if autoscaled else profile.get("count"), _as_int(profile.get("count"), 1))
    maximum = _as_int(profile.get("maxCount") if autoscaled else profile.get("count"), minimum)
    return _pool(
        name=name,
        registration=registration,
        cloud="azure",
        taints=taints,
        labels=labels,
        sizes=[size] if size else [],
        zones=zones,
        min_size=minimum,
        max_size=maximum,
        autoscaled=autoscaled,
        implicit=implicit,
        max_pods=_as_int(profile.get("maxPods"), 0) or None,
    )


def _pod_template(spec: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    pod = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    # Labels unknown in a preview (an output) read as UNKNOWN, so a Service check can tell them from "no match".
    return pod, {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {UNKNOWN: UNKNOWN}


_WORKLOAD_TYPES = {
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
    "kubernetes:batch/v1:Job": "Job",
    "kubernetes:batch/v1:CronJob": "CronJob",
    "kubernetes:core/v1:Pod": "Pod",
}
_ECK_DEFAULT_MEMORY = {"Elasticsearch": "2Gi", "Kibana": "1Gi"}
"""Memory ECK gives the main container when the pod template sets no resources (ECK docs, "Manage compute
resources")."""


def workloads(registrations: Sequence[Registration]) -> tuple[list[Workload], list[Problem]]:
    """Every workload in a graph, chart-rendered ones included; plus notes for charts the table does not describe."""
    found: list[Workload] = []
    notes: list[Problem] = []
    for registration in registrations:
        inputs = registration.inputs
        metadata = _metadata(inputs)
        name = str(metadata.get("name") or registration.name)
        namespace = str(metadata.get("namespace") or "default")
        spec = inputs.get("spec") if isinstance(inputs.get("spec"), dict) else {}
        common = {"urn": registration.urn, "resource_type": registration.type, "resource_name": registration.name}
        kind = _WORKLOAD_TYPES.get(registration.type)
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            pod, labels = _pod_template(spec)
            claims = tuple(
                ((c.get("spec") or {}).get("storageClassName")) for c in spec.get("volumeClaimTemplates") or []
                if isinstance(c, dict)
            )  # fmt: skip
            replicas = 1 if kind == "DaemonSet" else _as_int(spec.get("replicas", spec.get("parallelism", 1)), 1)
            strategy = spec.get("strategy") or spec.get("updateStrategy") or {}
            found.append(Workload(kind, name, namespace, replicas, pod, labels, volume_claims=claims,
                                  strategy=strategy if isinstance(strategy, dict) else {}, **common))  # fmt: skip
        elif kind == "CronJob":
            job = (spec.get("jobTemplate") or {}).get("spec") or {}
            pod, labels = _pod_template(job)
            found.append(Workload(kind, name, namespace, _as_int(job.get("parallelism", 1), 1), pod, labels, **common))
        elif kind == "Pod":
            labels = metadata.get("labels") or {}
            found.append(Workload(kind, name, namespace, 1, spec, dict(labels), **common))
        elif registration.type == "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch":
            for node_set in spec.get("nodeSets") or []:
                pod = dict((node_set.get("podTemplate") or {}).get("spec") or {})
                _default_memory(pod, "elasticsearch", _ECK_DEFAULT_MEMORY["Elasticsearch"])
                claims = tuple(
                    (c.get("spec") or {}).get("storageClassName") for c in node_set.get("volumeClaimTemplates") or []
                ) or (None,)  # ECK's default claim: 1Gi `elasticsearch-data` of the default class
                found.append(
                    Workload("Elasticsearch", f"{name}-es-{node_set.get('name', 'default')}", namespace,
                             _as_int(node_set.get("count"), 1), pod,
                             {"elasticsearch.k8s.elastic.co/cluster-name": name}, volume_claims=claims,
                             source="ECK StatefulSet from the Elasticsearch resource", run_time=True, **common)
                )  # fmt: skip
        elif registration.type == "kubernetes:kibana.k8s.elastic.co/v1:Kibana":
            pod = dict((spec.get("podTemplate") or {}).get("spec") or {})
            _default_memory(pod, "kibana", _ECK_DEFAULT_MEMORY["Kibana"])
            found.append(Workload("Kibana", name, namespace, _as_int(spec.get("count"), 1), pod,
                                  {"kibana.k8s.elastic.co/name": name},
                                  source="ECK Deployment from the Kibana resource", run_time=True, **common))  # fmt: skip
        elif registration.type in ("kubernetes:monitoring.coreos.com/v1:Prometheus",
                                   "kubernetes:monitoring.coreos.com/v1:Alertmanager"):  # fmt: skip
            kind_name = registration.type.rsplit(":", 1)[-1]
            storage = spec.get("storage") or {}
            claim = (storage.get("volumeClaimTemplate") or {}).get("spec") if isinstance(storage, dict) else None
            pod = {
                key: spec.get(key)
                for key in ("tolerations", "nodeSelector", "affinity", "securityContext")
                if key in spec
            }
            pod["containers"] = [{"name": kind_name.lower(), "resources": spec.get("resources") or {}}]
            found.append(Workload(kind_name, name, namespace, _as_int(spec.get("replicas"), 1), pod,
                                  {"app.kubernetes.io/name": kind_name.lower()},
                                  volume_claims=(claim.get("storageClassName"),) if isinstance(claim, dict) else (),
                                  source="Prometheus operator StatefulSet from the resource", run_time=True, **common))  # fmt: skip
        elif registration.type == "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy":
            item = envoy_proxy_workload(name, namespace, spec)
            found.append(Workload(item.kind, item.name, item.namespace, item.replicas, item.pod_spec, dict(item.labels),
                                  source=item.source, run_time=True, **common))  # fmt: skip
        elif registration.type in ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart",
                                   "kubernetes:helm.sh/v3:Release"):  # fmt: skip
            chart, version = str(inputs.get("chart") or ""), str(inputs.get("version") or "")
            release = str(inputs.get("name") or registration.name)
            chart_namespace = str(inputs.get("namespace") or "default")
            values = inputs.get("values") if isinstance(inputs.get("values"), dict) else {}
            rendered = chart_workloads(chart, version, release, chart_namespace, values)
            if rendered is None:
                notes.append(Problem(PLACEMENT, f"Chart/{chart_namespace}/{release}", "",
                                     f"chart {chart} {version} is not in the chart workload table, so its pods are "
                                     "not checked", **common))  # fmt: skip
                continue
            for item in rendered:
                found.append(
                    Workload(item.kind, item.name, item.namespace, item.replicas, item.pod_spec, dict(item.labels),
                             volume_claims=item.volume_claims, source=f"chart {item.source}", run_time=item.run_time,
                             **common)
                )  # fmt: skip
    _attach_claims(found, registrations)
    return found, notes


def _attach_claims(found: list[Workload], registrations: Sequence[Registration]) -> None:
    """Add the storage class of each PersistentVolumeClaim a pod mounts by name to its workload's claims."""
    claims: dict[tuple[str, str], str | None] = {}
    for registration in registrations:
        if registration.type == "kubernetes:core/v1:PersistentVolumeClaim":
            metadata = _metadata(registration.inputs)
            key = (str(metadata.get("namespace") or "default"), str(metadata.get("name") or registration.name))
            claims[key] = (registration.inputs.get("spec") or {}).get("storageClassName")
    for workload in found:
        mounted = [
            (workload.namespace, str(volume["persistentVolumeClaim"].get("claimName")))
            for volume in workload.pod_spec.get("volumes") or []
            if isinstance(volume, dict) and isinstance(volume.get("persistentVolumeClaim"), dict)
        ]
        workload.volume_claims += tuple(claims[key] for key in mounted if key in claims)


def _default_memory(pod: dict[str, Any], container: str, memory: str) -> None:
    containers = [dict(c) for c in pod.get("containers") or [] if isinstance(c, dict)]
    main = next((c for c in containers if c.get("name") == container), None)
    if main is None:
        main = {"name": container}
        containers.append(main)
    if not (main.get("resources") or {}).get("requests"):
        main["resources"] = {"requests": {"memory": memory}, "limits": {"memory": memory}}
    pod["containers"] = containers


# --- Kubernetes semantics -------------------------------------------------------------------------------


def tolerates(toleration: Mapping[str, Any], taint: Taint) -> bool:
    """Kubernetes' `Toleration.ToleratesTaint`: effect (empty matches all), then Exists or Equal on key/value."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return not key or key == taint.key
    return key == taint.key and str(toleration.get("value") or "") == taint.value


def untolerated(pod: Mapping[str, Any], pool: Pool) -> list[Taint]:
    """The pool's NoSchedule/NoExecute taints the pod does not tolerate (PreferNoSchedule never blocks)."""
    tolerations = [t for t in pod.get("tolerations") or [] if isinstance(t, dict)]
    return [
        taint
        for taint in pool.taints
        if taint.effect in BLOCKING_EFFECTS and not any(tolerates(t, taint) for t in tolerations)
    ]


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, frozenset[str]]) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    wanted = {str(v) for v in expression.get("values") or []}
    present = labels.get(str(key))
    if operator == "In":
        return bool(present and present & wanted)
    if operator == "NotIn":
        return not present or bool(present - wanted)
    if operator == "Exists":
        return present is not None
    if operator == "DoesNotExist":
        return present is None
    if operator in ("Gt", "Lt") and present and wanted:
        bound = _as_int(next(iter(wanted)))
        numbers = [_as_int(value) for value in present]
        return any(n > bound if operator == "Gt" else n < bound for n in numbers)
    return False


def selector_mismatch(pod: Mapping[str, Any], pool: Pool) -> str:
    """Why the pod's nodeSelector or required node affinity rejects the pool ('' when it selects it)."""
    for key, value in (pod.get("nodeSelector") or {}).items():
        if str(value) not in pool.labels.get(str(key), frozenset()):
            return f"nodeSelector {key}={value} matches no label of the pool"
    required = (((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {})  # fmt: skip
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    if terms is not None and not any(
        all(_expression_matches(e, pool.labels) for e in term.get("matchExpressions") or [])
        for term in terms
        if isinstance(term, dict)
    ):
        return "required node affinity matches no label of the pool"
    return ""


def _quantity(value: Any) -> Decimal | None:
    if not _known(value):
        return None
    try:
        return parse_quantity(value)
    except (TypeError, ValueError):
        return None


def _container_resources(
    container: Mapping[str, Any], defaults: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """A container's requests and limits after LimitRange defaults (requests default to limits, as Kubernetes does)."""
    resources = container.get("resources") or {}
    requests = {k: q for k, v in (resources.get("requests") or {}).items() if (q := _quantity(v)) is not None}
    limits = {k: q for k, v in (resources.get("limits") or {}).items() if (q := _quantity(v)) is not None}
    for key, value in (defaults.get("default") or {}).items():
        if key not in limits and (q := _quantity(value)) is not None:
            limits[key] = q
    for key, value in (defaults.get("defaultRequest") or {}).items():
        if key not in requests and (q := _quantity(value)) is not None:
            requests[key] = q
    for key, value in limits.items():
        requests.setdefault(key, value)
    return requests, limits


def pod_resources(
    workload: Workload, defaults: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The pod's effective requests and limits: the sum over containers, at least the largest init container."""
    defaults = defaults or {}
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    for container in workload.containers():
        container_requests, container_limits = _container_resources(container, defaults)
        for key, value in container_requests.items():
            requests[key] = requests.get(key, Decimal(0)) + value
        for key, value in container_limits.items():
            limits[key] = limits.get(key, Decimal(0)) + value
    for container in workload.init_containers():
        container_requests, container_limits = _container_resources(container, defaults)
        for key, value in container_requests.items():
            requests[key] = max(requests.get(key, Decimal(0)), value)
        for key, value in container_limits.items():
            limits[key] = max(limits.get(key, Decimal(0)), value)
    return requests, limits


def _format(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return f"{int(value * 1000)}m" if value != value.to_integral_value() else str(int(value))
    if "memory" in resource or resource in ("storage", "ephemeral-storage"):
        return f"{value / allocatable.MIB:.0f}Mi" if value < allocatable.GIB else f"{value / allocatable.GIB:.1f}Gi"
    return str(value.normalize()) if value != value.to_integral_value() else str(int(value))


# --- The checks -----------------------------------------------------------------------------------------


@dataclass
class _Context:
    registrations: Sequence[Registration]
    pools: list[Pool] | None
    workloads: list[Workload]
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    not_verifiable: dict[str, str] = field(default_factory=dict)

    def problem(self, check: str, workload: Workload | None, pool: str, message: str, *, note: bool = False,
                subject: tuple[str, str, str, str] | None = None) -> None:  # fmt: skip
        if workload is not None:
            label, urn, kind, name = workload.label, workload.urn, workload.resource_type, workload.resource_name
        else:
            assert subject is not None
            label, urn, kind, name = subject
        (self.notes if note else self.problems).append(Problem(check, label, pool, message, urn, kind, name))

    def count(self, check: str, amount: int = 1) -> None:
        self.checked[check] = self.checked.get(check, 0) + amount


def _fit_problem(requests: Mapping[str, Decimal], pool: Pool, overhead: Mapping[str, Decimal]) -> str | None:
    """Why the pod's requests do not fit one node of the pool's smallest size ('' fits; None: size unknown)."""
    sizes = pool.node_sizes()
    if not sizes or any(size is None for size in sizes):
        return None
    cpu = min(size.cpu_allocatable_millis for size in sizes if size) / Decimal(1000)
    memory = Decimal(min(size.memory_allocatable_bytes for size in sizes if size))
    gpus = Decimal(min(size.gpus for size in sizes if size))
    smallest = min((s for s in sizes if s), key=lambda s: (s.cpu_allocatable_millis, s.memory_allocatable_bytes))
    reasons = []
    for resource, available in (("cpu", cpu), ("memory", memory), (gpu.GPU_RESOURCE, gpus)):
        wanted = requests.get(resource, Decimal(0))
        left = available - overhead.get(resource, Decimal(0))
        if wanted > left:
            reasons.append(
                f"requests {resource} {_format(resource, wanted)}, but a {smallest.name} node offers "
                f"{_format(resource, max(left, Decimal(0)))}"
                + (f" after the DaemonSets' {_format(resource, overhead[resource])}" if overhead.get(resource) else "")
            )
    return "; ".join(reasons)


def _rejections(
    workload: Workload,
    pool: Pool,
    overhead: Mapping[str, Decimal],
    defaults: Mapping[str, Any],
    advertising: set[str] | None = None,
) -> tuple[list[str], bool]:
    """Why `pool` cannot run the workload's pods (empty: it can), and whether the capacity was unknown."""
    reasons = []
    taints = untolerated(workload.pod_spec, pool)
    if taints:
        reasons.append(f"taint{'s' if len(taints) > 1 else ''} {', '.join(map(str, taints))} not tolerated")
    mismatch = selector_mismatch(workload.pod_spec, pool)
    if mismatch:
        reasons.append(mismatch)
    if pool.max_size < 1:
        reasons.append("the pool has maxSize 0")
    requests, _ = pod_resources(workload, defaults)
    if requests.get(gpu.GPU_RESOURCE) and advertising is not None and pool.name not in advertising:
        reasons.append(f"no NVIDIA device plugin runs on the pool, so it never advertises {gpu.GPU_RESOURCE}")
    fit = _fit_problem(requests, pool, overhead)
    if fit:
        reasons.append(fit)
    return reasons, fit is None


def _limit_defaults(registrations: Sequence[Registration]) -> dict[str, dict[str, Any]]:
    """Namespace -> the Container defaults of its LimitRange (`default`, `defaultRequest`)."""
    defaults: dict[str, dict[str, Any]] = {}
    for registration in registrations:
        if registration.type == "kubernetes:core/v1:LimitRange":
            namespace = str(_metadata(registration.inputs).get("namespace") or "default")
            for limit in (registration.inputs.get("spec") or {}).get("limits") or []:
                if isinstance(limit, dict) and limit.get("type") == "Container":
                    defaults[namespace] = {"default": limit.get("default") or {},
                                           "defaultRequest": limit.get("defaultRequest") or {}}  # fmt: skip
    return defaults


def _check_placement(context: _Context, defaults: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Pool]]:
    """Placement of every workload; returns workload label -> the pools that can run it."""
    candidates: dict[str, list[Pool]] = {}
    pools = context.pools
    if pools is None:
        return candidates
    if not pools:
        if context.workloads:
            context.not_verifiable[PLACEMENT] = "the graph holds no node pool (EKS node group or AKS agent pool)"
        return candidates
    daemons = [w for w in context.workloads if w.is_daemon]
    overhead: dict[str, dict[str, Decimal]] = {pool.name: {} for pool in pools}
    # Pools where a device plugin runs advertise `nvidia.com/gpu`; judged only when the stack installs one.
    plugins = [daemon for daemon in daemons if "device-plugin" in daemon.name]
    advertising: set[str] | None = set() if plugins else None
    for daemon in daemons:
        requests, _ = pod_resources(daemon, defaults.get(daemon.namespace, {}))
        targets = [pool for pool in pools if not selector_mismatch(daemon.pod_spec, pool)]
        candidates[daemon.label] = targets
        context.count(PLACEMENT)
        for pool in targets:
            taints = untolerated(daemon.pod_spec, pool)
            if taints:
                context.problem(
                    PLACEMENT, daemon, pool.name,
                    f"{daemon.label} selects pool {pool.name} but does not tolerate its "
                    f"taint{'s' if len(taints) > 1 else ''} {', '.join(map(str, taints))}: its pods never run on "
                    f"those nodes ({daemon.source})",
                )  # fmt: skip
                continue
            for resource, value in requests.items():
                overhead[pool.name][resource] = overhead[pool.name].get(resource, Decimal(0)) + value
            if advertising is not None and daemon in plugins:
                advertising.add(pool.name)
    for pool in pools:
        fit = _fit_problem(overhead[pool.name], pool, {})
        if fit:
            context.problem(PLACEMENT, None, pool.name,
                            f"the DaemonSets that run on pool {pool.name} together exceed one node: {fit}",
                            subject=(f"NodePool/{pool.name}", pool.urn, pool.type, pool.name))  # fmt: skip
    for workload in context.workloads:
        if workload.is_daemon:
            continue
        context.count(PLACEMENT)
        fitting: list[Pool] = []
        rejected: list[str] = []
        unknown: list[str] = []
        for pool in pools:
            reasons, capacity_unknown = _rejections(
                workload, pool, overhead[pool.name], defaults.get(workload.namespace, {}), advertising
            )
            if reasons:
                rejected.append(f"pool {pool.name}: {'; '.join(reasons)}")
            else:
                fitting.append(pool)
                if capacity_unknown:
                    unknown.append(pool.name)
        candidates[workload.label] = fitting
        if not fitting:
            context.problem(PLACEMENT, workload, ", ".join(pool.name for pool in pools),
                            f"{workload.label} fits no node pool, so its pods stay Pending ({workload.source}). "
                            + ". ".join(rejected))  # fmt: skip
        elif len(unknown) == len(fitting):
            context.problem(PLACEMENT, workload, ", ".join(unknown),
                            f"{workload.label}: the allocatable of {', '.join(unknown)} is not in the size table, so "
                            "whether its requests fit is not verifiable offline", note=True)  # fmt: skip
    _check_pool_capacity(context, candidates, overhead, defaults)
    return candidates


def _check_pool_capacity(
    context: _Context,
    candidates: Mapping[str, list[Pool]],
    overhead: Mapping[str, Mapping[str, Decimal]],
    defaults: Mapping[str, Mapping[str, Any]],
) -> None:
    """The pods that can only run on a set of pools fit those pools at their maxSize (Hall's condition per set of
    candidate pools, each node counted at its smallest size less its DaemonSets)."""
    demand: dict[frozenset[str], list[Workload]] = {}
    for workload in context.workloads:
        fitting = candidates.get(workload.label)
        if fitting and not workload.is_daemon and workload.kind not in ("Job", "CronJob"):
            demand.setdefault(frozenset(pool.name for pool in fitting), []).append(workload)
    by_name = {pool.name: pool for pool in context.pools or []}
    for names in demand:
        members = [w for key, group in demand.items() if key <= names for w in group]
        sizes = {name: [size for size in by_name[name].node_sizes() if size] for name in names}
        if any(not known for known in sizes.values()):
            continue
        short: list[str] = []
        for resource in ("cpu", "memory", gpu.GPU_RESOURCE):
            capacity = Decimal(0)
            for name in names:
                smallest = min(
                    sizes[name], key=lambda size: (size.cpu_allocatable_millis, size.memory_allocatable_bytes)
                )
                per_node = {
                    "cpu": Decimal(smallest.cpu_allocatable_millis) / 1000,
                    "memory": Decimal(smallest.memory_allocatable_bytes),
                    gpu.GPU_RESOURCE: Decimal(smallest.gpus),
                }[resource] - overhead[name].get(resource, Decimal(0))
                capacity += max(per_node, Decimal(0)) * by_name[name].max_size
            wanted = sum(
                (pod_resources(w, defaults.get(w.namespace, {}))[0].get(resource, Decimal(0)) * w.replicas
                 for w in members),
                Decimal(0),
            )  # fmt: skip
            if wanted > capacity:
                short.append(f"{resource} {_format(resource, wanted)} of {_format(resource, capacity)}")
        if short:
            pools_text = ", ".join(sorted(names))
            first = by_name[min(names)]
            context.problem(
                PLACEMENT, None, pools_text,
                f"the workloads that can only run on pool(s) {pools_text} request more than those pools offer at "
                f"their maxSize ({'; '.join(short)}), so some pods stay Pending: "
                f"{', '.join(sorted(w.label for w in members))}",
                subject=(f"NodePool/{pools_text}", first.urn, first.type, pools_text),
            )  # fmt: skip


def _storage_classes(
    registrations: Sequence[Registration], cloud: str | None
) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """Class name -> (provisioner, disk SKU/type), and the default class."""
    classes: dict[str, tuple[str, str]] = dict(BUILT_IN_CLASSES.get(cloud or "", {}))
    default = None
    for registration in registrations:
        if registration.type == "kubernetes:storage.k8s.io/v1:StorageClass":
            inputs = registration.inputs
            metadata = _metadata(inputs)
            parameters = inputs.get("parameters") or {}
            entry = (str(inputs.get("provisioner") or ""), str(parameters.get("skuName") or parameters.get("skuname")
                                                                 or parameters.get("type") or ""))  # fmt: skip
            classes[str(metadata.get("name") or registration.name)] = entry
            if (metadata.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true":
                default = entry
    if default is None and cloud in DEFAULT_CLASS_PROVISIONER:
        default = DEFAULT_CLASS_PROVISIONER[cloud]
    return classes, default


def _zone_guaranteed(pool: Pool, zone: str) -> bool:
    """The pool keeps a node in `zone`: a single-zone pool with minSize >= 1 (or autoscaled, which the cluster
    autoscaler can grow in that zone), or a multi-zone pool whose minSize is at least its zone count."""
    if not pool.zones or zone not in pool.zones:
        return False
    if len(pool.zones) == 1:
        return pool.min_size >= 1 or (pool.autoscaled and pool.max_size >= 1)
    return pool.min_size >= len(pool.zones)


def _check_zonal_volumes(context: _Context, candidates: Mapping[str, list[Pool]], cloud: str | None) -> None:
    if context.pools is None:
        return
    classes, default = _storage_classes(context.registrations, cloud)
    for workload in context.workloads:
        if not workload.volume_claims or not candidates.get(workload.label):
            continue
        context.count(ZONAL_VOLUMES)
        zonal = []
        for claim in workload.volume_claims:
            provisioner, sku = classes.get(claim, ("", "")) if claim else (default or ("", ""))
            if claim and claim not in classes and not _known(claim):
                provisioner, sku = default or ("", "")
            if provisioner == "disk.csi.azure.com" and sku in ZONE_REDUNDANT_AZURE_SKUS:
                continue
            if provisioner in ZONAL_PROVISIONERS:
                zonal.append((claim or "the default class", provisioner))
            elif provisioner:
                continue
            else:
                context.problem(ZONAL_VOLUMES, workload, "",
                                f"{workload.label}: storage class {claim!r} is not in the graph, so whether its volumes "
                                "are zonal is not verifiable offline", note=True)  # fmt: skip
        if not zonal:
            continue
        pools = candidates[workload.label]
        if any(pool.zones is None for pool in pools):
            context.problem(ZONAL_VOLUMES, workload, "", f"{workload.label}: the zones of pool(s) "
                            f"{', '.join(p.name for p in pools if p.zones is None)} are not in the graph, so zonal "
                            "volumes are not verifiable offline", note=True)  # fmt: skip
            continue
        zones = sorted({zone for pool in pools for zone in pool.zones or ()})
        bare = [zone for zone in zones if not any(_zone_guaranteed(pool, zone) for pool in pools)]
        if bare:
            classes_text = ", ".join(sorted({f"{name} ({provisioner})" for name, provisioner in zonal}))
            layout = "; ".join(
                f"pool {pool.name} spans {', '.join(pool.zones or ())} with minSize {pool.min_size}" for pool in pools
            )
            context.problem(
                ZONAL_VOLUMES, workload, ", ".join(pool.name for pool in pools),
                f"{workload.label} keeps zonal volumes of {classes_text}, which may be created in "
                f"{', '.join(zones)}; no pool it can use is sure to keep a node in {', '.join(bare)} ({layout}): after a "
                "node replacement or scale-down a pod whose volume is there stays Pending",
            )  # fmt: skip


# Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/), version latest.
_BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})  # fmt: skip
_SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                           "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                           "net.ipv4.tcp_keepalive_probes"})  # fmt: skip
_RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                 "projected", "secret", "name"})  # fmt: skip


def pod_security_violations(pod: Mapping[str, Any], level: str) -> tuple[list[str], list[str]]:
    """What `level` (baseline or restricted) rejects in the pod spec: (set fields that violate it, fields left
    unset that the level requires, which an operator may still fill in)."""
    violations: list[str] = []
    unset: list[str] = []
    if level not in ("baseline", "restricted"):
        return violations, unset
    containers = [c for key in ("containers", "initContainers", "ephemeralContainers") for c in pod.get(key) or []
                  if isinstance(c, dict)]  # fmt: skip
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            violations.append(f"{key}: true")
    for volume in pod.get("volumes") or []:
        if isinstance(volume, dict) and "hostPath" in volume:
            violations.append(f"hostPath volume {volume['hostPath'].get('path')}")
    pod_context = pod.get("securityContext") or {}
    for sysctl in pod_context.get("sysctls") or []:
        if isinstance(sysctl, dict) and sysctl.get("name") not in _SAFE_SYSCTLS:
            violations.append(f"sysctl {sysctl.get('name')}")
    for container in containers:
        context = container.get("securityContext") or {}
        name = container.get("name", "?")
        if context.get("privileged") is True:
            violations.append(f"container {name} privileged")
        added = set((context.get("capabilities") or {}).get("add") or [])
        if added - _BASELINE_CAPABILITIES:
            violations.append(f"container {name} adds capabilities {', '.join(sorted(added - _BASELINE_CAPABILITIES))}")
        for port in container.get("ports") or []:
            if isinstance(port, dict) and _as_int(port.get("hostPort")):
                violations.append(f"container {name} hostPort {port.get('hostPort')}")
        for scope in (context, pod_context):
            if (scope.get("seccompProfile") or {}).get("type") == "Unconfined":
                violations.append(f"container {name} seccomp Unconfined")
                break
        if context.get("procMount") not in (None, "Default"):
            violations.append(f"container {name} procMount {context.get('procMount')}")
    if level != "restricted":
        return violations, unset
    for volume in pod.get("volumes") or []:
        if isinstance(volume, dict) and not set(volume) <= _RESTRICTED_VOLUMES and "hostPath" not in volume:
            violations.append(f"volume {volume.get('name')} of type {', '.join(sorted(set(volume) - {'name'}))}")
    pod_non_root = pod_context.get("runAsNonRoot")
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_context.get("runAsUser") == 0:
        violations.append("pod runAsUser 0")
    for container in containers:
        context = container.get("securityContext") or {}
        name = container.get("name", "?")
        if context.get("allowPrivilegeEscalation") is True:
            violations.append(f"container {name} allowPrivilegeEscalation: true")
        elif context.get("allowPrivilegeEscalation") is None:
            unset.append(f"container {name} allowPrivilegeEscalation unset (must be false)")
        non_root = context.get("runAsNonRoot", pod_non_root)
        if non_root is False:
            violations.append(f"container {name} runAsNonRoot: false")
        elif non_root is None:
            unset.append(f"container {name} runAsNonRoot unset (must be true)")
        if context.get("runAsUser") == 0:
            violations.append(f"container {name} runAsUser 0")
        seccomp = (context.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp is None:
            unset.append(f"container {name} seccompProfile unset (must be RuntimeDefault or Localhost)")
        drop = set((context.get("capabilities") or {}).get("drop") or [])
        added = set((context.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}
        if "ALL" not in drop:
            unset.append(f"container {name} does not drop ALL capabilities")
        if added:
            violations.append(f"container {name} adds capabilities {', '.join(sorted(added))}")
    return violations, unset


def _namespace_levels(registrations: Sequence[Registration]) -> dict[str, str]:
    levels: dict[str, str] = {}
    for registration in registrations:
        if registration.type == "kubernetes:core/v1:Namespace":
            metadata = _metadata(registration.inputs)
            labels = metadata.get("labels") or {}
            levels[str(metadata.get("name") or registration.name)] = str(labels.get(PSA_ENFORCE) or "privileged")
    return levels


def _check_pod_security(context: _Context) -> None:
    levels = _namespace_levels(context.registrations)
    for workload in context.workloads:
        level = levels.get(workload.namespace)
        if level is None:
            continue  # a namespace the stack does not create: its level is the cluster's business
        context.count(POD_SECURITY)
        violations, unset = pod_security_violations(workload.pod_spec, level)
        if workload.run_time:
            # The operator may still fill in what the template leaves unset.
            if unset:
                context.problem(POD_SECURITY, workload, "", f"{workload.label} in namespace {workload.namespace} "
                                f"(enforce={level}): {'; '.join(unset)}; the operator may set these, which is not "
                                "verifiable offline", note=True)  # fmt: skip
        else:
            violations += unset
        if violations:
            context.problem(
                POD_SECURITY, workload, "",
                f"namespace {workload.namespace} enforces Pod Security {level!r}, which rejects the pods of "
                f"{workload.label}: {'; '.join(violations)} ({workload.source})",
            )  # fmt: skip


def _int_or_percent(value: Any, replicas: int, default: str, *, round_up: bool) -> int:
    value = default if value is None else value
    text = str(value)
    if text.endswith("%"):
        share = replicas * _as_int(text[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return _as_int(text)


_QUOTA_KEYS = {
    "requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory"),
    gpu.GPU_QUOTA_KEY: ("requests", gpu.GPU_RESOURCE),
}  # fmt: skip


_AUTOSCALERS: dict[str, tuple[str, str, int | None]] = {
    # type -> (kind, the field holding the maximum, its default when absent)
    "kubernetes:keda.sh/v1alpha1:ScaledObject": ("ScaledObject", "maxReplicaCount", 100),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("HorizontalPodAutoscaler", "maxReplicas", None),
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler": ("HorizontalPodAutoscaler", "maxReplicas", None),
}
"""Autoscalers in a graph. KEDA's `maxReplicaCount` defaults to 100 (keda.sh/v1alpha1 ScaledObject spec); an
HPA's `maxReplicas` is required."""


def _apply_autoscalers(context: _Context) -> None:
    """Set each autoscaled workload's replicas to its autoscaler's maximum; report autoscalers without a target.

    A ScaledObject's `scaleTargetRef` defaults to an apps/v1 Deployment (KEDA); an HPA names its kind.
    """
    for registration in context.registrations:
        known = _AUTOSCALERS.get(registration.type)
        if known is None:
            continue
        kind, max_field, default_max = known
        metadata = _metadata(registration.inputs)
        namespace = str(metadata.get("namespace") or "default")
        name = str(metadata.get("name") or registration.name)
        spec = registration.inputs.get("spec") if isinstance(registration.inputs.get("spec"), dict) else {}
        target = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
        target_kind = str(target.get("kind") or "Deployment")
        target_name = target.get("name")
        subject = (f"{kind}/{namespace}/{name}", registration.urn, registration.type, registration.name)
        context.count(AUTOSCALER_TARGET)
        if not _known(target_name) or not _known(metadata.get("namespace", "default")):
            context.problem(AUTOSCALER_TARGET, None, "",
                            f"{kind} {namespace}/{name}: its target is unknown offline, so whether it scales an "
                            "existing workload, and that workload at its maximum, is not verifiable",
                            subject=subject, note=True)  # fmt: skip
            continue
        matching = [
            w for w in context.workloads
            if w.namespace == namespace and w.kind == target_kind and w.name == str(target_name)
        ]  # fmt: skip
        if not matching:
            context.problem(AUTOSCALER_TARGET, None, "",
                            f"{kind} {namespace}/{name} scales {target_kind} {namespace}/{target_name}, which the "
                            f"stack does not create in namespace {namespace}: it scales nothing",
                            subject=subject)  # fmt: skip
            continue
        maximum = spec.get(max_field, default_max)
        if not _known(maximum):
            continue
        for workload in matching:
            workload.replicas = _as_int(maximum, workload.replicas)
            workload.scaled_by = f"{kind}/{namespace}/{name}"


def _check_rollout_quota(context: _Context, defaults: Mapping[str, Mapping[str, Any]]) -> None:
    quotas: dict[str, list[tuple[Registration, dict[str, Any]]]] = {}
    for registration in context.registrations:
        if registration.type == "kubernetes:core/v1:ResourceQuota":
            namespace = str(_metadata(registration.inputs).get("namespace") or "default")
            hard = (registration.inputs.get("spec") or {}).get("hard") or {}
            quotas.setdefault(namespace, []).append((registration, hard))
    for namespace, entries in quotas.items():
        members = [w for w in context.workloads if w.namespace == namespace and not w.is_daemon]
        if not members:
            continue
        per_pod = {w.label: pod_resources(w, defaults.get(namespace, {})) for w in members}

        def usage(pods: Mapping[str, int], key: str, per_pod: Mapping[str, Any] = per_pod) -> Decimal:
            if key == "pods":
                return Decimal(sum(pods.values()))
            side, resource = _QUOTA_KEYS[key]
            index = 0 if side == "requests" else 1
            return sum((per_pod[label][index].get(resource, Decimal(0)) * count for label, count in pods.items()),
                       Decimal(0))  # fmt: skip

        steady = {w.label: w.replicas for w in members}
        for registration, hard in entries:
            quota_name = str(_metadata(registration.inputs).get("name") or registration.name)
            tracked = [key for key in hard if key in _QUOTA_KEYS or key == "pods"]
            for workload in members:
                context.count(ROLLOUT_QUOTA)
                requests, limits = per_pod[workload.label]
                missing = [key for key in tracked if key != "pods" and key in _QUOTA_KEYS
                           and _QUOTA_KEYS[key][1] in ("cpu", "memory")
                           and _QUOTA_KEYS[key][1] not in (requests if _QUOTA_KEYS[key][0] == "requests" else limits)]  # fmt: skip
                if missing:
                    context.problem(ROLLOUT_QUOTA, workload, "",
                                    f"ResourceQuota {namespace}/{quota_name} tracks {', '.join(missing)}, but the pods of "
                                    f"{workload.label} set none and no LimitRange gives a default: every pod is rejected")  # fmt: skip
            for key in tracked:
                limit = _quantity(hard[key])
                if limit is None:
                    continue
                at_rest = usage(steady, key)
                if at_rest > limit:
                    scaled = [f"{w.label} at {w.replicas} ({w.scaled_by}'s maximum)" for w in members if w.scaled_by]
                    context.problem(
                        ROLLOUT_QUOTA, None, "",
                        f"the workloads of namespace {namespace} need {key} {_format(key, at_rest)} at rest"
                        + (f" with {', '.join(scaled)}" if scaled else "")
                        + f", over ResourceQuota {quota_name}'s {_format(key, limit)}: some pods are never admitted",
                        subject=(f"ResourceQuota/{namespace}/{quota_name}", registration.urn, registration.type,
                                 registration.name),
                    )  # fmt: skip
                    continue
                for workload in members:
                    if workload.kind != "Deployment":
                        continue
                    strategy = workload.strategy
                    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
                        continue
                    rolling = strategy.get("rollingUpdate") or {}
                    surge = _int_or_percent(rolling.get("maxSurge"), workload.replicas, "25%", round_up=True)
                    unavailable = _int_or_percent(rolling.get("maxUnavailable"), workload.replicas, "25%",
                                                  round_up=False)  # fmt: skip
                    if surge < 1:
                        continue
                    peak = usage({**steady, workload.label: workload.replicas + surge}, key)
                    if peak > limit:
                        consequence = (
                            "the surge pod is never admitted and, with maxUnavailable 0, the rollout never progresses"
                            if unavailable < 1
                            else f"the update only proceeds by taking {unavailable} pod(s) down first"
                        )
                        if unavailable < 1:
                            context.problem(
                                ROLLOUT_QUOTA, workload, "",
                                f"a rolling update of {workload.label} ({workload.replicas} replica(s)"
                                + (f", {workload.scaled_by}'s maximum," if workload.scaled_by else "")
                                + f" + maxSurge {surge}) needs {key} {_format(key, peak)} in namespace {namespace}, over ResourceQuota "
                                f"{quota_name}'s {_format(key, limit)}: {consequence}",
                            )  # fmt: skip


def _check_services(context: _Context) -> None:
    for registration in context.registrations:
        if registration.type != "kubernetes:core/v1:Service":
            continue
        metadata = _metadata(registration.inputs)
        spec = registration.inputs.get("spec") or {}
        selector = spec.get("selector") or {}
        if not isinstance(selector, dict) or not selector or spec.get("type") == "ExternalName":
            continue
        namespace = str(metadata.get("namespace") or "default")
        name = str(metadata.get("name") or registration.name)
        subject = (f"Service/{namespace}/{name}", registration.urn, registration.type, registration.name)
        context.count(SERVICE_SELECTOR)
        matching = [
            w for w in context.workloads
            if w.namespace == namespace and all(w.labels.get(str(k)) == str(v) for k, v in selector.items())
        ]  # fmt: skip
        wanted = ", ".join(f"{k}={v}" for k, v in selector.items())
        unknown = [w for w in context.workloads if w.namespace == namespace and UNKNOWN in w.labels.values()]
        if not matching and (unknown or any(not _known(v) for v in selector.values())):
            context.problem(SERVICE_SELECTOR, None, "",
                            f"Service {namespace}/{name}: its selector or the pod labels of "
                            f"{', '.join(w.label for w in unknown) or 'its namespace'} are unknown offline, so whether "
                            "it selects pods is not verifiable", subject=subject, note=True)  # fmt: skip
            continue
        if not matching:
            context.problem(SERVICE_SELECTOR, None, "",
                            f"Service {namespace}/{name} selects {wanted}, which no workload's pods in namespace "
                            f"{namespace} carry: it has no endpoints", subject=subject)  # fmt: skip
            continue
        declared = {str(p.get("name")) for w in matching for c in w.containers() for p in c.get("ports") or []
                    if isinstance(p, dict) and p.get("name")}  # fmt: skip
        for port in spec.get("ports") or []:
            target = port.get("targetPort") if isinstance(port, dict) else None
            if isinstance(target, str) and _known(target) and not target.isdigit() and target not in declared:
                context.problem(SERVICE_SELECTOR, None, "",
                                f"Service {namespace}/{name} targets port {target!r}, which the pods it selects "
                                f"({', '.join(w.label for w in matching)}) do not declare", subject=subject)  # fmt: skip


def _check_route_backends(context: _Context) -> None:
    """Every Service backend of an HTTPRoute is a Service of the graph, in the namespace named, with that port."""
    services: dict[tuple[str, str], set[int]] = {}
    for registration in context.registrations:
        if registration.type == "kubernetes:core/v1:Service":
            metadata = _metadata(registration.inputs)
            ports = (registration.inputs.get("spec") or {}).get("ports") or []
            key = (str(metadata.get("namespace") or "default"), str(metadata.get("name") or registration.name))
            services[key] = {_as_int(port.get("port")) for port in ports if isinstance(port, dict)}
    for registration in context.registrations:
        if not (registration.type.startswith("kubernetes:gateway.networking.k8s.io/") and
                registration.type.endswith(":HTTPRoute")):  # fmt: skip
            continue
        metadata = _metadata(registration.inputs)
        namespace = str(metadata.get("namespace") or "default")
        name = str(metadata.get("name") or registration.name)
        subject = (f"HTTPRoute/{namespace}/{name}", registration.urn, registration.type, registration.name)
        rules = [rule for rule in (registration.inputs.get("spec") or {}).get("rules") or [] if isinstance(rule, dict)]
        for rule in rules:
            for backend in rule.get("backendRefs") or []:
                if backend.get("group", "") != "" or backend.get("kind", "Service") != "Service":
                    continue
                context.count(SERVICE_SELECTOR)
                target = (str(backend.get("namespace") or namespace), str(backend.get("name")))
                if not all(_known(value) for value in (*target, backend.get("port"))):
                    continue
                if target not in services:
                    context.problem(SERVICE_SELECTOR, None, "",
                                    f"HTTPRoute {namespace}/{name} sends requests to Service {target[0]}/{target[1]}, "
                                    "which the stack does not create: those requests fail", subject=subject)  # fmt: skip
                elif _as_int(backend.get("port")) not in services[target]:
                    context.problem(SERVICE_SELECTOR, None, "",
                                    f"HTTPRoute {namespace}/{name} sends requests to port {_as_int(backend.get('port'))} of "
                                    f"Service {target[0]}/{target[1]}, which exposes "
                                    f"{', '.join(str(p) for p in sorted(services[target]))}", subject=subject)  # fmt: skip


def served_paths(server: Path = MODEL_SERVER_DIR / "server.py") -> dict[str, set[str]]:
    """HTTP method -> the paths a `BaseHTTPRequestHandler` server serves, read from its `do_<METHOD>` methods
    (comparisons of `self.path` with string literals)."""
    tree = ast.parse(server.read_text())
    paths: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("do_"):
            method = node.name[3:]
            for compare in ast.walk(node):
                if (
                    isinstance(compare, ast.Compare)
                    and isinstance(compare.left, ast.Attribute)
                    and compare.left.attr == "path"
                    and isinstance(compare.ops[0], ast.Eq | ast.NotEq)
                ):
                    for comparator in compare.comparators:
                        if isinstance(comparator, ast.Constant) and isinstance(comparator.value, str):
                            paths.setdefault(method, set()).add(comparator.value)
    return paths


def _repository(image: str) -> str:
    head, _, last = image.split("@", 1)[0].rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def _known_server_images(registrations: Sequence[Registration]) -> dict[str, Path]:
    """Image repository -> the known server directory it is built from (docker Images of examples/model-server)."""
    images: dict[str, Path] = {}
    for registration in registrations:
        if registration.type == "docker:index/image:Image":
            build = registration.inputs.get("build") or {}
            context_dir = build.get("context") if isinstance(build, dict) else None
            name = registration.inputs.get("imageName")
            if _known(context_dir) and _known(name) and Path(str(context_dir)).name == MODEL_SERVER_DIR.name:
                images[_repository(str(name))] = MODEL_SERVER_DIR
    return images


def _check_probes(context: _Context) -> None:
    servers = _known_server_images(context.registrations)
    known_paths = served_paths() if servers else {}
    for workload in context.workloads:
        for container in workload.containers():
            ports = [p for p in container.get("ports") or [] if isinstance(p, dict)]
            names = {str(p.get("name")) for p in ports if p.get("name")}
            numbers = {_as_int(p.get("containerPort")) for p in ports}
            image = container.get("image")
            server = servers.get(_repository(str(image))) if _known(image) else None
            for probe_kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(probe_kind)
                if not isinstance(probe, dict):
                    continue
                context.count(PROBE)
                handler = next(
                    (probe[k] for k in ("httpGet", "tcpSocket", "grpc") if isinstance(probe.get(k), dict)), None
                )
                where = f"the {probe_kind} of container {container.get('name')} in {workload.label}"
                if handler is None:
                    continue
                port = handler.get("port")
                if isinstance(port, str) and not port.isdigit():
                    if port not in names:
                        context.problem(PROBE, workload, "",
                                        f"{where} names port {port!r}, which the container does not declare "
                                        f"(declared: {', '.join(sorted(names)) or 'none'}): the probe always fails")  # fmt: skip
                elif _known(port) and ports and _as_int(port) not in numbers:
                    context.problem(PROBE, workload, "",
                                    f"{where} probes port {port}, which the container does not declare "
                                    f"(declared: {', '.join(str(n) for n in sorted(numbers))})")  # fmt: skip
                path = handler.get("path") if "path" in handler else None
                if server is not None and isinstance(path, str):
                    served = known_paths.get("GET", set())
                    if path.split("?", 1)[0] not in served:
                        context.problem(PROBE, workload, "",
                                        f"{where} requests GET {path}, which the model server built from "
                                        f"{server.relative_to(PROJECT_ROOT).as_posix()} does not serve (it serves "
                                        f"{', '.join(sorted(served))}): the probe gets 404 and the pod never becomes "
                                        "ready")  # fmt: skip


# --- Entry points ---------------------------------------------------------------------------------------


def check_deployability(
    registrations: Sequence[Registration],
    *,
    stack: str = "",
    pool_registrations: Sequence[Registration] | None = (),
    pools_from: str = "this stack",
    workloads_from: str = "this stack",
    cloud: str | None = None,
) -> DeployabilityReport:
    """Judge whether the workloads in `registrations` can run.

    Args:
        registrations: the graph holding the workloads, namespaces, quotas, Services and storage classes.
        stack: the stack's name, for the report.
        pool_registrations: the graph holding the node pools: () for the same graph, None when the pools are
            unknown offline (an existing cluster); placement and zones are then not verifiable.
        pools_from: where the pools come from, in words.
        workloads_from: where the workloads come from, in words.
        cloud: `aws` or `azure` (for the cluster's default storage class); guessed from the pools when None.
    """
    pools = None if pool_registrations is None else node_pools(pool_registrations or registrations)
    found, notes = workloads(registrations)
    context = _Context(list(registrations), pools, found, notes=list(notes))
    _apply_autoscalers(context)
    if pools is None:
        for check in (PLACEMENT, ZONAL_VOLUMES):
            context.not_verifiable[check] = f"the node pools of {pools_from} are not known offline"
    if cloud is None and pools:
        cloud = pools[0].cloud
    defaults = _limit_defaults(registrations)
    candidates = _check_placement(context, defaults)
    _check_zonal_volumes(context, candidates, cloud)
    _check_pod_security(context)
    _check_rollout_quota(context, defaults)
    _check_services(context)
    _check_route_backends(context)
    _check_probes(context)
    return DeployabilityReport(
        stack=stack,
        pools_from=pools_from,
        workloads_from=workloads_from,
        pools=pools or [],
        workloads=found,
        problems=context.problems,
        notes=context.notes,
        checked=context.checked,
        not_verifiable=context.not_verifiable,
    )


def _wrap(text: str, indent: str, hanging: str = "", width: int = 118) -> str:
    """`text` wrapped as the policy verdict is (same width and indents)."""
    return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent + hanging, break_on_hyphens=False)


def render_text(report: DeployabilityReport, out: TextIO) -> None:
    """The deployability section of `python -m stacks check`."""
    out.write("\n")
    out.write(
        _wrap(
            f"Deployability of {report.stack}: {len(report.workloads)} workloads (from {report.workloads_from}) on "
            + (
                f"the node pools of {report.pools_from}, not known offline"
                if PLACEMENT in report.not_verifiable and not report.pools
                else f"{len(report.pools)} node pools (from {report.pools_from})"
            )
            + f": {report.status}",
            "",
        )
        + "\n"
    )
    for pool in report.pools:
        taints = ", ".join(map(str, pool.taints)) or "no taints"
        zones = (
            "zones unknown" if pool.zones is None else (f"zones {', '.join(pool.zones)}" if pool.zones else "no zones")
        )
        out.write(_wrap(f"pool {pool.name}: {', '.join(pool.sizes) or '?'}, {pool.min_size}-{pool.max_size} nodes, "
                        f"{zones}, {taints}", "  ", "    ") + "\n")  # fmt: skip
    for key, kind in CHECK_KINDS.items():
        verdict = report.verdict(key)
        reason = f" ({report.not_verifiable[key]})" if key in report.not_verifiable else ""
        out.write(
            _wrap(
                f"{verdict.upper() if verdict == 'fail' else verdict:<22} {kind.rule}: {kind.title}{reason}",
                "  ",
                " " * 23,
            )
            + "\n"
        )
        for problem in report.by_check(key):
            out.write(_wrap(problem.message, " " * 6, "  ") + "\n")
        if report.by_check(key):
            out.write(_wrap(f"fix: {kind.fix}", " " * 6) + "\n")
    if report.notes:
        out.write(f"  Not verifiable offline ({len(report.notes)}):\n")
        for note in report.notes:
            out.write(_wrap(note.message, " " * 6, "  ") + "\n")
    out.write(f"{report.summary()}\n{_wrap(LIMITS, '')}\n")


def stack_deployability(
    stack: str, project_dir: Path, synthesis: Synthesis, *, preview: bool = False
) -> DeployabilityReport:
    """The deployability of a project stack, with its node pools and workloads wherever the topology puts them.

    A cluster-layer stack (`target.foundation`) runs on the foundation's node pools: the foundation is synthesized
    too (as deployed, like the StackReference reads it). A foundation whose Kubernetes layer is another stack of the
    project is judged with that layer's workloads. An existing cluster (`target.cloud: kubernetes` with a
    kubeconfig context) has pools nobody here knows: placement and zones are not verifiable offline.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    platform = stack_config_from_file(path).get(FULL_KEY) if path.is_file() else None
    platform = platform if isinstance(platform, dict) else {}
    target = platform.get("target") if isinstance(platform.get("target"), dict) else {}
    cloud = str(target.get("cloud") or "") or None
    foundation = target.get("foundation") if isinstance(target.get("foundation"), dict) else None
    registrations: Sequence[Registration] = synthesis.registrations
    pool_registrations: Sequence[Registration] | None = ()
    pools_from, workloads_from = "this stack", "this stack"
    if foundation:
        name = str(foundation.get("stack", "")).rsplit("/", 1)[-1]
        cloud = str(foundation.get("cloud") or "") or None
        if (project_dir / f"Pulumi.{name}.yaml").is_file():
            pool_registrations = synthesize(name, project_dir).registrations
            pools_from = f"foundation stack {name}"
        else:
            pool_registrations = None
            pools_from = f"foundation stack {name}, whose stack file is not in this project"
    elif cloud == "kubernetes":
        pool_registrations = None
        context = target.get("kubeconfigContext")
        pools_from = f"an existing cluster{f', kubeconfig context {context}' if context else ''}"
    else:
        layer = cluster_layer_of(stack, project_dir)
        if layer is not None and layer != stack:
            registrations = synthesize(layer, project_dir, preview=preview).registrations
            pool_registrations = synthesis.registrations
            workloads_from = f"its cluster layer stack {layer}"
    return check_deployability(
        registrations,
        stack=stack,
        pool_registrations=pool_registrations,
        pools_from=pools_from,
        workloads_from=workloads_from,
        cloud=cloud if cloud in ("aws", "azure") else None,
    )
