"""Kueue's values, controller configuration and queue objects, as pure functions (kubernetes-sigs/kueue v0.19.2).

Facts read at tag v0.19.2 (cited per constant): `charts/kueue/values.yaml` and its templates,
`apis/config/v1beta2/configuration_types.go` and `defaults.go` (the controller configuration), and
`config/components/crd/bases/kueue.x-k8s.io_{resourceflavors,clusterqueues,localqueues}.yaml` (the queue objects,
served as v1beta2, the storage version; v1beta1 is deprecated there).
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from components._common import gpu
from components._common.pools import PLATFORM_POOL_ROLE, POOL_ROLE_LABEL
from components.kubernetes import _values

API_VERSION = "kueue.x-k8s.io/v1beta2"
"""The queue objects' API version: v1beta2 is served and stored at v0.19.2; v1beta1 is served but deprecated
("This version is deprecated. Use v1beta2 instead.")."""
CONFIG_API_VERSION = "config.kueue.x-k8s.io/v1beta2"
"""The controller configuration's API version (the chart's default `managerConfig` at v0.19.2)."""

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
"""The label a job names its LocalQueue with (pkg/controller/constants/constants.go `QueueLabel`)."""
DEFAULT_LOCAL_QUEUE_NAME = "default"
"""Kueue puts a job without a queue label into the LocalQueue of this name when its namespace has one
(pkg/controller/jobframework/defaults.go `setDefaultLocalQueue`): no LocalQueue here may carry it, or jobs
without a queue name would be admitted after all."""

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

RELEASE = "kueue"
"""The Helm release name: `kueue.fullname` is then `kueue` (the release contains the chart name), so the controller
is `kueue-controller-manager`. Kueue's CRDs, webhooks and APIServices are cluster-wide: one per cluster."""

CONTROLLER_PODS: dict[str, str] = {
    "app.kubernetes.io/name": "kueue",
    "app.kubernetes.io/instance": RELEASE,
    "control-plane": "controller-manager",
}
"""The controller's pod labels (`kueue.selectorLabels` in templates/_helpers.tpl at v0.19.2)."""

WEBHOOK_PORT = 9443
"""The webhook server's container port (templates/manager/manager.yaml; `webhookService.ports[0].targetPort`)."""
VISIBILITY_PORT = 8082
"""The visibility API server's port, behind the `v1beta2.visibility.kueue.x-k8s.io` APIService
(templates/visibility/service.yaml `targetPort: 8082`)."""
METRICS_PORT = 8443
"""The controller's HTTPS metrics port (`metrics.bindAddress: :8443`)."""
HEALTH_PORT = 8081

INTEGRATIONS: tuple[str, ...] = (
    "batch/job",
    "jobset.x-k8s.io/jobset",
    "trainer.kubeflow.org/trainjob",
    "kubeflow.org/pytorchjob",
)
"""The job kinds Kueue queues by default: Jobs, JobSets, Kubeflow Trainer's TrainJobs and the Training Operator's
PyTorchJobs (each `FrameworkName` in pkg/controller/jobs/*/ at v0.19.2). Pod-based integrations (`pod`,
`deployment`, `statefulset`) are left out: they would queue every pod of a training namespace, not jobs."""

KNOWN_INTEGRATIONS: tuple[str, ...] = (
    "batch/job",
    "kubeflow.org/mpijob",
    "ray.io/rayjob",
    "ray.io/rayservice",
    "ray.io/raycluster",
    "jobset.x-k8s.io/jobset",
    "kubeflow.org/paddlejob",
    "kubeflow.org/pytorchjob",
    "kubeflow.org/tfjob",
    "kubeflow.org/xgboostjob",
    "kubeflow.org/jaxjob",
    "trainer.kubeflow.org/trainjob",
    "workload.codeflare.dev/appwrapper",
    "sparkoperator.k8s.io/sparkapplication",
    "pod",
    "deployment",
    "statefulset",
    "leaderworkerset.x-k8s.io/leaderworkerset",
)
"""Every framework the controller accepts (`Integrations.Frameworks` in apis/config/v1beta2 at v0.19.2); any other
name fails the controller's configuration validation (pkg/config/validation.go `validateIntegrations`)."""

FAIR_SHARING_STRATEGIES: list[str] = ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
"""Fair sharing's preemption strategies (one of the three sets pkg/config/validation.go accepts). The `fairSharing`
section's presence is what turns fair sharing on in v1beta2 (pkg/scheduler/preemption/fairsharing `Enabled`)."""

EXCLUDED_RESOURCE_PREFIXES: tuple[str, ...] = (gpu.EFA_RESOURCE,)
"""Resources Kueue leaves out of quota: with the default `quotaCheckStrategy` (BlockUndeclared) a pod requesting a
resource no ClusterQueue covers is never admitted ("resource ... unavailable in ClusterQueue",
pkg/scheduler/flavorassigner at v0.19.2), and an EFA job requests `vpc.amazonaws.com/efa`. EFA interfaces come
with the GPU pool's nodes, whose GPUs are the quota; `Resources.ExcludeResourcePrefixes` (apis/config/v1beta2)
drops them from admission."""

WITHIN_CLUSTER_QUEUE_POLICIES: tuple[str, ...] = ("Never", "LowerPriority", "LowerOrNewerEqualPriority")
"""`ClusterQueue.spec.preemption.withinClusterQueue` values (CRD enum at v0.19.2)."""
RECLAIM_WITHIN_COHORT_POLICIES: tuple[str, ...] = ("Never", "LowerPriority", "Any")
"""`ClusterQueue.spec.preemption.reclaimWithinCohort` values (CRD enum at v0.19.2)."""

MAX_FLAVOR_NODE_LABELS = 8
"""`ResourceFlavor.spec.nodeLabels` `maxProperties` (and `tolerations` `maxItems`) at v0.19.2."""

CONTROLLER_UID = 65532
"""The uid the controller image runs as (Dockerfile at v0.19.2: `USER 65532:65532`)."""

CONTROLLER_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "500m", "memory": "512Mi"},
    "limits": {"cpu": "2", "memory": "512Mi"},
}
"""The chart's own sizing, stated (values.yaml at v0.19.2). Helm merges maps, so the chart's 2-CPU limit would stay
even if left out here; it only caps bursts during a large requeue, and the memory limit bounds a leak."""

GROUP_KIND_CONCURRENCY: dict[str, int] = {
    "Job.batch": 5,
    "Pod": 5,
    "Workload.kueue.x-k8s.io": 10,
    "LocalQueue.kueue.x-k8s.io": 5,
    "ClusterQueue.kueue.x-k8s.io": 5,
    "ResourceFlavor.kueue.x-k8s.io": 1,
}
"""The chart's default `controller.groupKindConcurrency` (values.yaml at v0.19.2), restated: the whole
configuration document replaces the chart's."""


WAIT_FOR_PODS_READY_TIMEOUT = "30m"
"""How long an admitted job's pods have to be all ready (Kueue `waitForPodsReady.timeout`)."""
REQUEUE_LIMIT = 5
"""Evictions for not becoming ready after which Kueue deactivates the workload (`backoffLimitCount`)."""


def controller_config(*, managed_namespaces: Sequence[str], integrations: Sequence[str]) -> dict[str, Any]:
    """Kueue's controller configuration (`config.kueue.x-k8s.io/v1beta2` `Configuration`).

    Jobs without a queue name are managed (`manageJobsWithoutQueueName: true`), which suspends them until they name
    a queue (site/content/en/docs/tasks/manage/enforce_job_management/manage_jobs_without_queue_name.md at v0.19.2),
    but only in `managed_namespaces`: the chart renders `managedJobsNamespaceSelector` as the namespace selector of
    every job webhook (templates/webhook/manifests.yaml), so jobs anywhere else never pass through Kueue and a Kueue
    outage cannot block them. Fair sharing is on across the cohort.

    Args:
        managed_namespaces: the training namespaces (every team's); sorted into the selector.
        integrations: the job frameworks Kueue queues.
    """
    return {
        "apiVersion": CONFIG_API_VERSION,
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": f":{HEALTH_PORT}"},
        "metrics": {"bindAddress": f":{METRICS_PORT}"},
        "webhook": {"port": WEBHOOK_PORT},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {"groupKindConcurrency": dict(GROUP_KIND_CONCURRENCY)},
        "clientConnection": {"qps": 300, "burst": 500},
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": {
            "matchExpressions": [
                {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(set(managed_namespaces))}
            ]
        },
        "integrations": {"frameworks": list(integrations)},
        "fairSharing": {"preemptionStrategies": list(FAIR_SHARING_STRATEGIES)},
        # All-or-nothing for multi-node jobs: an admitted workload whose pods are not all ready within the timeout
        # (nodes that never come, an image that never pulls) is evicted and its quota freed, then requeued with
        # exponential backoff, and deactivated after `backoffLimitCount` evictions instead of looping on GPU nodes
        # forever. v1beta2 always enables it (apis/config/v1beta2/defaults.go at v0.19.2: 30 min, endless
        # requeueing); the timeout covers a GPU node's launch and a multi-GB image pull.
        "waitForPodsReady": {
            "timeout": WAIT_FOR_PODS_READY_TIMEOUT,
            "blockAdmission": False,
            "requeuingStrategy": {
                "timestamp": "Eviction",
                "backoffLimitCount": REQUEUE_LIMIT,
                "backoffBaseSeconds": 60,
                "backoffMaxSeconds": 3600,
            },
        },
        "resources": {"excludeResourcePrefixes": list(EXCLUDED_RESOURCE_PREFIXES)},
    }


def kueue_values(
    *,
    managed_namespaces: Sequence[str],
    integrations: Sequence[str] = INTEGRATIONS,
    node_selector: Mapping[str, str] | None = None,
    replicas: int = 2,
) -> dict[str, Any]:
    """Values of Kueue's chart (kubernetes-sigs/kueue v0.19.2 `charts/kueue/values.yaml`).

    Two controller replicas (leader-elected; each serves the webhooks) spread over nodes with a PodDisruptionBudget:
    the job webhooks fail closed (`failurePolicy: Fail`), so while no replica answers no job can be created in a
    training namespace. Non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp (Pod Security
    `restricted`). KueueViz, cert-manager, Prometheus and visibility APF objects stay off (the chart's defaults,
    stated); the controller issues its own webhook certificates.

    Args:
        managed_namespaces: the training namespaces, where jobs must name a queue.
        integrations: the job frameworks Kueue queues.
        node_selector: where the controller runs; defaults to the platform pool.
        replicas: controller replicas.
    """
    selector = dict(node_selector) if node_selector is not None else {POOL_ROLE_LABEL: PLATFORM_POOL_ROLE}
    config = controller_config(managed_namespaces=managed_namespaces, integrations=integrations)
    return {
        "enablePrometheus": False,
        "enableCertManager": False,
        "enableKueueViz": False,
        "enableVisibilityAPF": False,
        "controllerManager": {
            "replicas": replicas,
            "manager": {
                "image": {"pullPolicy": "IfNotPresent"},
                "priorityClassName": "system-cluster-critical",
                "resources": {key: dict(value) for key, value in CONTROLLER_RESOURCES.items()},
                "podSecurityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": CONTROLLER_UID,
                    "runAsGroup": CONTROLLER_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containerSecurityContext": dict(_values.RESTRICTED_CONTAINER_SECURITY_CONTEXT),
            },
            "nodeSelector": selector,
            # Only the AKS system pool's taint; never a GPU taint: the controller does not belong on a GPU node.
            "tolerations": [{"key": gpu.CRITICAL_ADDONS_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(CONTROLLER_PODS)},
                }
            ],
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        },
        # The chart reads this string with `fromYaml`; JSON is YAML, and no YAML library is needed here.
        "managerConfig": {"controllerManagerConfigYaml": json.dumps(config, indent=2, sort_keys=True)},
    }


KUEUE_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "enablePrometheus",
        "enableCertManager",
        "enableKueueViz",
        "enableVisibilityAPF",
        "controllerManager.replicas",
        "controllerManager.manager.image.pullPolicy",
        "controllerManager.manager.priorityClassName",
        "controllerManager.manager.resources*",
        "controllerManager.manager.podSecurityContext*",
        "controllerManager.manager.containerSecurityContext*",
        "controllerManager.nodeSelector*",
        "controllerManager.tolerations*",
        "controllerManager.topologySpreadConstraints*",
        "controllerManager.podDisruptionBudget.enabled",
        "controllerManager.podDisruptionBudget.minAvailable",
        "managerConfig.controllerManagerConfigYaml",
    }
)
"""Every values key `kueue_values` sets, each read in `charts/kueue/values.yaml` and used by
`templates/manager/manager.yaml`, `manager-pdb.yaml`, `manager-config.yaml` and `webhook/manifests.yaml` at tag
v0.19.2 (kubernetes-sigs/kueue). A `*` key is copied whole into the object. Extend only after reading the chart at
the pinned version."""


# --- Queue objects --------------------------------------------------------------------------------------------


def flavor_node_labels(pool: str, accelerator: str | None = None) -> dict[str, str]:
    """The node labels a GPU pool's flavor selects: the GPU contract's pool label, and its accelerator label."""
    labels = {gpu.GPU_POOL_LABEL: pool}
    if accelerator:
        labels[gpu.ACCELERATOR_LABEL] = accelerator
    return labels


def resource_flavor(
    name: str, *, node_labels: Mapping[str, str], taints: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """A ResourceFlavor for one GPU pool.

    Kueue adds `nodeLabels` to the node selector and `tolerations` to the pods of every workload it admits on this
    flavor (v1beta2 `ResourceFlavorSpec`), so an admitted job lands on the pool whose quota it used, through its
    taints, without the team writing either. The taints are not given as `nodeTaints`: those would make Kueue refuse
    the flavor to jobs that do not tolerate them themselves.

    Args:
        name: the flavor's name (cluster-scoped).
        node_labels: the pool's node labels to select.
        taints: the pool's taints in Kubernetes form (`key`, `value`, `effect`); each becomes an exact toleration.
    """
    tolerations = []
    for taint in taints:
        toleration = {
            "key": taint["key"],
            "operator": "Equal",
            "value": taint.get("value", ""),
            "effect": taint["effect"],
        }
        tolerations.append(toleration)
    spec: dict[str, Any] = {"nodeLabels": dict(node_labels)}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": name}, "spec": spec}


COVERED_RESOURCES: tuple[str, ...] = ("cpu", "memory", gpu.GPU_RESOURCE)
"""The resources every team's ClusterQueue covers, in this order in each flavor's quota list."""
QUOTA_KEYS: tuple[tuple[str, str, str], ...] = (
    ("cpu", "cpu", "cpu_borrowing_limit"),
    ("memory", "memory", "memory_borrowing_limit"),
    (gpu.GPU_RESOURCE, "gpus", "gpu_borrowing_limit"),
)
"""(resource, quota argument, borrowing-limit argument), in `COVERED_RESOURCES` order."""


def cluster_queue(
    name: str,
    *,
    namespaces: Sequence[str],
    cohort: str,
    quotas: Sequence[Mapping[str, Any]],
    within_cluster_queue: str,
    reclaim_within_cohort: str,
    fair_sharing_weight: str | None = None,
) -> dict[str, Any]:
    """One team's ClusterQueue: nominal quotas per flavor, borrowing within the cohort, preemption.

    One resource group covers CPU, memory and GPUs, so a job's CPU and memory count against the flavor (pool) its
    GPUs come from; flavors are tried in the order given. Only workloads from the team's namespaces are admitted
    (`namespaceSelector`).

    Args:
        name: the ClusterQueue's name (cluster-scoped): the team's.
        namespaces: the team's namespaces.
        cohort: the cohort the team's unused quota is lent in and borrowed from.
        quotas: per flavor, `flavor`, `gpus`, `cpu`, `memory` and optional `gpu_borrowing_limit`,
            `cpu_borrowing_limit`, `memory_borrowing_limit` (absent: no limit within the cohort).
        within_cluster_queue: preemption among the team's own workloads.
        reclaim_within_cohort: preemption of other teams' workloads that borrowed this team's quota.
        fair_sharing_weight: the team's fair-sharing weight (a quantity); None leaves Kueue's default of 1.
    """
    flavors = []
    for quota in quotas:
        resources = []
        for resource, key, limit_key in QUOTA_KEYS:
            entry: dict[str, Any] = {"name": resource, "nominalQuota": _quantity(quota[key])}
            limit = quota.get(limit_key)
            if limit is not None:
                entry["borrowingLimit"] = _quantity(limit)
            resources.append(entry)
        flavors.append({"name": quota["flavor"], "resources": resources})
    spec: dict[str, Any] = {
        "cohortName": cohort,
        "namespaceSelector": {
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(set(namespaces))}]
        },
        "queueingStrategy": "BestEffortFIFO",
        "preemption": {"withinClusterQueue": within_cluster_queue, "reclaimWithinCohort": reclaim_within_cohort},
        "resourceGroups": [{"coveredResources": list(COVERED_RESOURCES), "flavors": flavors}],
    }
    if fair_sharing_weight is not None:
        spec["fairSharing"] = {"weight": _quantity(fair_sharing_weight)}
    return {"apiVersion": API_VERSION, "kind": "ClusterQueue", "metadata": {"name": name}, "spec": spec}


def local_queue(name: str, *, namespace: str, cluster_queue_name: str) -> dict[str, Any]:
    """The LocalQueue of one training namespace, pointing at its team's ClusterQueue (jobs label it by name)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterQueue": cluster_queue_name},
    }


def _quantity(value: Any) -> str:
    """A quota as the API server stores it: a quantity string (`8`, `64`, `512Gi`)."""
    return str(value)
