"""ML training rules: namespaces that can run GPU jobs admit them through Kueue, and GPU queues guarantee quotas.

Facts are those of Kueue v0.19.2 (kubernetes-sigs/kueue, the version `components/kubernetes/_charts.py` pins):
`apis/config/v1beta2/configuration_types.go` and `defaults.go` (the controller configuration and its defaults),
`charts/kueue/values.yaml` and `templates/webhook/manifests.yaml` (the chart renders the configuration from
`managerConfig.controllerManagerConfigYaml`), and the ClusterQueue CRD (`kueue.x-k8s.io_clusterqueues.yaml`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from components._common import gpu
from components._common.tags import TIER_LABEL
from policies.rules.base import (
    OUTSIDE,
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
from policies.rules.data_lifecycle import chart_name
from policies.rules.kubernetes_common import (
    HELM_TYPES,
    RESOURCE_QUOTA,
    gpu_count,
    namespace_labels,
    namespace_objects,
    object_name,
    placed_in,
    selector_matches,
)

TRAINING_TIER = "training"
_KUEUE_TYPE = re.compile(r"^kubernetes:kueue\.x-k8s\.io/v1beta[12]:(?P<kind>ClusterQueue|LocalQueue)$")
_KUEUE_CHART = "kueue"
_KUEUE_DEFAULT_NAMESPACE = "kueue-system"
_DEFAULT_FRAMEWORKS = ("batch/job",)
"""The frameworks Kueue integrates when its configuration lists none (defaults.go `defaultJobFrameworkName`)."""
_GPU = gpu.GPU_RESOURCE
_GPU_QUOTA_KEY = gpu.GPU_QUOTA_KEY

JOB_FRAMEWORKS: dict[tuple[str, str], str] = {
    ("batch", "Job"): "batch/job",
    ("batch", "CronJob"): "batch/job",
    ("jobset.x-k8s.io", "JobSet"): "jobset.x-k8s.io/jobset",
    ("trainer.kubeflow.org", "TrainJob"): "trainer.kubeflow.org/trainjob",
    ("kubeflow.org", "PyTorchJob"): "kubeflow.org/pytorchjob",
    ("kubeflow.org", "MPIJob"): "kubeflow.org/mpijob",
    ("kubeflow.org", "TFJob"): "kubeflow.org/tfjob",
    ("kubeflow.org", "JAXJob"): "kubeflow.org/jaxjob",
    ("kubeflow.org", "XGBoostJob"): "kubeflow.org/xgboostjob",
    ("kubeflow.org", "PaddleJob"): "kubeflow.org/paddlejob",
    ("ray.io", "RayJob"): "ray.io/rayjob",
}
"""Job kinds by (API group, kind) and the Kueue framework that queues them (`FrameworkName` of each integration in
pkg/controller/jobs/ at v0.19.2; a CronJob's Jobs are batch/job)."""
_TOKEN = re.compile(r"^kubernetes:(?:(?P<group>[a-z0-9.-]+)/)?(?P<version>[a-z0-9]+):(?P<kind>\w+)$")

TRAINING_NAMESPACES = string_list(
    "trainingNamespaces",
    (
        "Namespaces treated as training namespaces in addition to those labelled mlplatform.io/tier=training "
        "(for namespaces created outside this stack)."
    ),
)


def job_framework(resource: Resource) -> str | None:
    """The Kueue framework that queues this object's kind, or None when it is not a job Kueue knows."""
    match = _TOKEN.match(resource.type)
    if not match:
        return None
    return JOB_FRAMEWORKS.get((match["group"] or "core", match["kind"]))


def _requests_gpus(value: Any) -> bool:
    """True when any container (at any depth of a job's spec) requests or limits a GPU count other than 0."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == _GPU and item is not UNKNOWN and str(item).strip() not in ("0", ""):
                return True
            if _requests_gpus(item):
                return True
    elif isinstance(value, list):
        return any(_requests_gpus(item) for item in value)
    return False


def training_namespaces_by_structure(stack: Stack) -> set[str]:
    """Namespaces that run training, recognised by structure rather than by any label (issue 20, class 1).

    A namespace trains when it holds a Kueue LocalQueue (teams submit jobs there) or a distributed-training job
    (JobSet, Kubeflow's jobs and TrainJob, RayJob: every job framework but plain batch Jobs and CronJobs, which
    platform components also run for migrations and housekeeping).
    """
    owners = namespace_objects(stack)
    names: set[str] = set()
    for resource in stack.resources:
        trains = _kueue_kind(resource) == "LocalQueue" or job_framework(resource) not in (None, "batch/job")
        namespace = placed_in(resource, owners) if trains else None
        if isinstance(namespace, str):
            names.add(namespace)
    return names


class _Namespaces:
    """The stack's namespaces: their objects, GPU quotas, jobs and LocalQueues, joined by name."""

    def __init__(self, stack: Stack, extra_training: list[str]) -> None:
        self.owners = namespace_objects(stack)
        self.extra_training = set(extra_training)
        self.stack = stack
        self.unknown_placement: list[Resource] = []

    def of(self, resource: Resource) -> Any:
        """The namespace an object lands in, through its `metadata` dependency on a Namespace when unknown."""
        return placed_in(resource, self.owners)

    def grouped(self, resources: list[Resource]) -> dict[str, list[Resource]]:
        """Resources by the namespace they land in (those whose namespace is unknown are remembered)."""
        groups: dict[str, list[Resource]] = {}
        for resource in resources:
            name = self.of(resource)
            if name is UNKNOWN:
                self.unknown_placement.append(resource)
            else:
                groups.setdefault(name, []).append(resource)
        return groups

    def is_training(self, name: str) -> bool:
        """Labelled `mlplatform.io/tier: training`, or configured as a training namespace."""
        owner = self.owners.get(name)
        labels = as_dict(owner.get("metadata.labels")) if owner is not None else {}
        return name in self.extra_training or (isinstance(labels, dict) and labels.get(TIER_LABEL) == TRAINING_TIER)


def _gpu_quota(quotas: list[Resource]) -> Decimal | Any | None:
    """The namespace's GPU quota: the smallest `requests.nvidia.com/gpu` of its quotas (each is a ceiling)."""
    counts = []
    for quota in quotas:
        hard = quota.get("spec.hard")
        if hard is UNKNOWN:
            return UNKNOWN
        count = gpu_count(as_dict(hard).get(_GPU_QUOTA_KEY))
        if count is UNKNOWN:
            return UNKNOWN
        if count is not None:
            counts.append(count)
    return min(counts) if counts else None


def _kueue_kind(resource: Resource) -> str | None:
    match = _KUEUE_TYPE.match(resource.type)
    return match["kind"] if match else None


def nominal_gpus(queue: Resource) -> Decimal | Any:
    """The GPUs a ClusterQueue is guaranteed: the sum of nvidia.com/gpu nominal quotas over its flavors."""
    groups, unknown = dicts(queue.get("spec.resourceGroups"))
    if unknown:
        return UNKNOWN
    total = Decimal(0)
    for group in groups:
        for flavor in dicts(group.get("flavors"))[0]:
            resources, unknown_resources = dicts(flavor.get("resources"))
            if unknown_resources:
                return UNKNOWN
            for resource in resources:
                if resource.get("name") is UNKNOWN:
                    return UNKNOWN
                if resource.get("name") == _GPU:
                    count = gpu_count(resource.get("nominalQuota"))
                    if count is UNKNOWN:
                        return UNKNOWN
                    total += count or 0
    return total


def _kueue_configuration(chart: Resource) -> dict[str, Any] | Any:
    """The controller configuration a Kueue chart renders: its values' document, or the chart's default (`{}`)."""
    document = chart.get("values.managerConfig.controllerManagerConfigYaml")
    if document is UNKNOWN:
        return UNKNOWN
    if document is None:
        return {}  # the chart's default configuration: manageJobsWithoutQueueName is commented out (false)
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _admission_findings(name: str, jobs: list[Resource], labels: Any, charts: list[Resource]) -> Iterator[Finding]:
    """Whether Kueue's configuration suspends jobs without a queue name in namespace `name`, for every job kind."""
    if not charts:
        yield Unverified(f"Kueue's configuration for namespace '{name}' (no Kueue chart in the stack)", OUTSIDE)
        return
    verdicts: list[list[Finding]] = []
    for chart in charts:
        verdicts.append(list(_chart_admission(chart, name, jobs, labels)))
    if any(not findings for findings in verdicts):
        return
    yield from verdicts[0]


def _chart_admission(chart: Resource, name: str, jobs: list[Resource], labels: Any) -> Iterator[Finding]:
    configuration = _kueue_configuration(chart)
    subject = f"the Kueue configuration of chart '{chart.name}'"
    if configuration is UNKNOWN:
        yield Unverified(subject)
        return
    if configuration is None:
        yield Unverified(
            subject,
            "is not a JSON document, which this rule reads without a YAML parser; write "
            "managerConfig.controllerManagerConfigYaml as JSON (JSON is YAML)",
        )
        return
    manage = configuration.get("manageJobsWithoutQueueName")
    if manage is not True:
        yield (
            f"Kueue (chart '{chart.name}') lets jobs without a kueue.x-k8s.io/queue-name label start unqueued in GPU "
            f"namespace '{name}'; set manageJobsWithoutQueueName: true in managerConfig.controllerManagerConfigYaml."
        )
        return
    kueue_namespace = configuration.get("namespace") or chart.get("namespace") or _KUEUE_DEFAULT_NAMESPACE
    default_selector = {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", kueue_namespace]}
        ]
    }
    selector = configuration.get("managedJobsNamespaceSelector", default_selector)
    matched = UNKNOWN if labels is UNKNOWN else selector_matches(selector, labels)
    if matched is UNKNOWN:
        yield Unverified(f"whether Kueue's managedJobsNamespaceSelector (chart '{chart.name}') selects '{name}'")
    elif matched is False:
        yield (
            f"Kueue (chart '{chart.name}') does not manage jobs in GPU namespace '{name}': its "
            "managedJobsNamespaceSelector excludes it, so jobs without a queue name start unqueued; add the "
            "namespace to the selector."
        )
    frameworks = as_list(as_dict(configuration.get("integrations")).get("frameworks")) or list(_DEFAULT_FRAMEWORKS)
    for job in jobs:
        framework = job_framework(job)
        if framework and framework not in frameworks:
            yield (
                f"Kueue (chart '{chart.name}') does not queue {framework} jobs, so '{job.name}' in GPU namespace "
                f"'{name}' bypasses the queue; add '{framework}' to integrations.frameworks."
            )


def _queue_findings(
    name: str, local_queues: list[Resource], cluster_queues: list[Resource], labels: Any, complete: bool
) -> Iterator[Finding]:
    """Whether some LocalQueue of namespace `name` points at a ClusterQueue that admits it with GPUs."""
    problems: list[Finding] = []
    for local in local_queues:
        target = local.get("spec.clusterQueue")
        joined = [
            queue
            for queue in cluster_queues
            if local.depends_on("spec", queue.urn)
            or (isinstance(target, str) and target and (object_name(queue)) == target)
        ]
        label = f"LocalQueue '{local.get('metadata.name') or local.name}' in '{name}'"
        if not joined:
            if target is UNKNOWN:
                problems.append(Unverified(f"the ClusterQueue of {label}"))
            else:
                problems.append(Unverified(f"ClusterQueue '{target}' of {label}", OUTSIDE))
            continue
        queue = joined[0]
        queue_name = object_name(queue)
        selector = queue.get("spec.namespaceSelector")
        matched = UNKNOWN if labels is UNKNOWN else selector_matches(selector, labels, complete=complete)
        gpus = nominal_gpus(queue)
        if matched is UNKNOWN:
            problems.append(Unverified(f"whether ClusterQueue '{queue_name}' admits workloads from '{name}'"))
        elif matched is False:
            problems.append(
                f"ClusterQueue '{queue_name}' (of {label}) does not select namespace '{name}' in its "
                "namespaceSelector, so its workloads are never admitted; add the namespace to spec.namespaceSelector."
            )
        elif gpus is UNKNOWN:
            problems.append(Unverified(f"the GPU quota of ClusterQueue '{queue_name}'"))
        elif gpus <= 0:
            problems.append(
                f"ClusterQueue '{queue_name}' (of {label}) has no nominal {_GPU} quota, so GPU jobs in '{name}' are "
                "not admitted; give each flavor a nominalQuota for nvidia.com/gpu."
            )
        else:
            return
    yield from problems


@stack_rule(
    name="kubernetes-gpu-namespace-kueue-admission",
    title="Namespaces that can run GPU jobs admit them through Kueue",
    description=(
        "Every namespace where GPU jobs can run (a training namespace, labelled mlplatform.io/tier=training or "
        "listed in trainingNamespaces, whose quota does not set requests.nvidia.com/gpu to 0; or a namespace "
        "whose quota grants GPUs and that holds jobs, or holds jobs requesting GPUs) has a Kueue LocalQueue "
        "pointing at a ClusterQueue that selects the namespace with a non-zero nominal GPU quota, and Kueue's "
        "configuration (the kueue chart's managerConfig.controllerManagerConfigYaml) sets "
        "manageJobsWithoutQueueName with a managedJobsNamespaceSelector that selects the namespace and integrates "
        "every job kind the stack puts there, so no job starts outside the queue. Not visible here: jobs submitted "
        "later by teams, bare Pods and workflow engines' pods (Kueue's pod integration is off; RBAC must deny pod "
        "creation), and whether the Kueue controller runs."
    ),
    remediation=(
        "Use GpuQueues (a LocalQueue per training namespace, a ClusterQueue per team with GPU quotas, Kueue with "
        "manageJobsWithoutQueueName and managedJobsNamespaceSelector over the training namespaces), or create "
        "those objects and values yourself."
    ),
    scope="namespaces that can run GPU jobs",
    settings=(TRAINING_NAMESPACES,),
)
def gpu_namespace_kueue_admission(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    namespaces = _Namespaces(stack, as_list(config.get("trainingNamespaces")))
    quotas = namespaces.grouped(stack.of((RESOURCE_QUOTA,)))
    jobs = namespaces.grouped([resource for resource in stack.resources if job_framework(resource)])
    kueue = [resource for resource in stack.resources if _kueue_kind(resource)]
    local_queues = namespaces.grouped([queue for queue in kueue if _kueue_kind(queue) == "LocalQueue"])
    cluster_queues = [queue for queue in kueue if _kueue_kind(queue) == "ClusterQueue"]
    charts = [chart for chart in stack.of(HELM_TYPES) if chart_name(chart.props.get("chart")) == _KUEUE_CHART]

    candidates = sorted({*namespaces.owners, *namespaces.extra_training, *quotas, *jobs} - {UNKNOWN}, key=str)
    gpu_namespaces = 0
    for name in candidates:
        quota = _gpu_quota(quotas.get(name, []))
        in_namespace = jobs.get(name, [])
        if namespaces.is_training(name):
            can_run = quota is UNKNOWN or quota is None or quota > 0
        else:
            can_run = any(_requests_gpus(job.props) for job in in_namespace) or bool(
                in_namespace and (quota is UNKNOWN or (quota is not None and quota > 0))
            )
        if not can_run:
            continue
        gpu_namespaces += 1
        owner = namespaces.owners.get(name)
        at_fault = owner or (quotas.get(name) or in_namespace or [None])[0]
        labels = namespace_labels(name, owner)
        if not local_queues.get(name):
            yield (
                at_fault,
                f"GPU namespace '{name}' has no Kueue LocalQueue, so its jobs are never admitted through a quota; "
                "add a LocalQueue there pointing at the team's ClusterQueue (GpuQueues does).",
            )
        else:
            for finding in _queue_findings(
                name, local_queues[name], cluster_queues, labels, complete=owner is not None
            ):
                yield at_fault, finding
        for finding in _admission_findings(name, in_namespace, labels, charts):
            yield at_fault, finding
    if namespaces.unknown_placement and not gpu_namespaces:
        yield None, Unverified(f"the namespace of '{namespaces.unknown_placement[0].name}'")
    elif not gpu_namespaces:
        raise NotApplicable("the stack has no namespace that can run GPU jobs")


# --- ClusterQueues -----------------------------------------------------------------------------------------


def _gpu_entries(queue: Resource) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """(flavor, resource entry) for nvidia.com/gpu in every resource group that covers it, and whether unknown."""
    groups, unknown = dicts(queue.get("spec.resourceGroups"))
    entries: list[tuple[str, dict[str, Any]]] = []
    for group in groups:
        covered = as_list(group.get("coveredResources"))
        if covered is UNKNOWN or UNKNOWN in covered:
            unknown = True
            continue
        if _GPU not in covered:
            continue
        flavors, unknown_flavors = dicts(group.get("flavors"))
        unknown = unknown or unknown_flavors
        for flavor in flavors:
            resources, unknown_resources = dicts(flavor.get("resources"))
            unknown = unknown or unknown_resources
            found = [resource for resource in resources if resource.get("name") == _GPU]
            entries.append((str(flavor.get("name")), found[0] if found else {}))
    return entries, unknown


def _is_cluster_queue(type_token: str) -> bool:
    match = _KUEUE_TYPE.match(type_token)
    return bool(match) and match["kind"] == "ClusterQueue"


@resource_rule(
    name="kubernetes-kueue-cluster-queue-gpu-quota",
    title="Kueue ClusterQueues give every GPU flavor a whole, finite nominal quota",
    description=(
        "A Kueue ClusterQueue whose resource groups cover nvidia.com/gpu gives nvidia.com/gpu, in every flavor, a "
        "nominalQuota that is a whole number of GPUs: the team's guarantee per GPU pool, which fair sharing and "
        "preemption are computed from."
    ),
    remediation=(
        "Set spec.resourceGroups[*].flavors[*].resources=[..., {'name': 'nvidia.com/gpu', 'nominalQuota': '8'}] "
        "(GpuQueues: teams[*].quotas[*].gpus)."
    ),
    scope="Kueue ClusterQueues",
    matches=_is_cluster_queue,
)
def cluster_queue_gpu_quota(queue: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    entries, unknown = _gpu_entries(queue)
    label = f"ClusterQueue '{queue.get('metadata.name') or queue.name}'"
    if not entries and not unknown:
        raise NotApplicable(f"{label} does not cover {_GPU}")
    if unknown:
        yield Unverified(f"the resource groups of {label}")
    for flavor, entry in entries:
        quota = entry.get("nominalQuota")
        count = gpu_count(quota)
        if count is UNKNOWN:
            yield Unverified(f"the {_GPU} nominalQuota of flavor '{flavor}' in {label}")
        elif count is None or count != count.to_integral_value():
            yield (
                f"{label} gives flavor '{flavor}' no whole {_GPU} nominalQuota ({quota!r}); set nominalQuota to the "
                "number of GPUs the team is guaranteed on that pool."
            )


_RECLAIMING = ("Any", "LowerPriority")


@resource_rule(
    name="kubernetes-kueue-cluster-queue-cohort-borrowing",
    title="GPU ClusterQueues in a cohort limit borrowing or reclaim lent GPUs",
    description=(
        "A Kueue ClusterQueue in a cohort that covers nvidia.com/gpu either sets a borrowingLimit on every GPU "
        "quota, or reclaims its lent quota (preemption.reclaimWithinCohort Any or LowerPriority; Kueue's default "
        "is Never): otherwise one team can hold every idle GPU of the cohort and the lender's nominal quota stops "
        "being a guarantee."
    ),
    remediation=(
        "Set spec.preemption.reclaimWithinCohort='Any' (GpuQueues' default), or a borrowingLimit on each "
        "nvidia.com/gpu quota (GpuQueues: teams[*].quotas[*].gpu_borrowing_limit)."
    ),
    scope="Kueue ClusterQueues in a cohort",
    matches=_is_cluster_queue,
)
def cluster_queue_cohort_borrowing(queue: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    label = f"ClusterQueue '{queue.get('metadata.name') or queue.name}'"
    cohort = queue.get("spec.cohortName", queue.get("spec.cohort"))  # v1beta2 renamed cohort to cohortName
    entries, unknown = _gpu_entries(queue)
    if cohort is None or (not entries and not unknown):
        raise NotApplicable(f"{label} is in no cohort or does not cover {_GPU}")
    reclaim = queue.get("spec.preemption.reclaimWithinCohort")
    if reclaim in _RECLAIMING:
        return
    limits = [entry.get("borrowingLimit") for _, entry in entries]
    if cohort is UNKNOWN or reclaim is UNKNOWN or unknown or UNKNOWN in limits:
        yield Unverified(f"the borrowing limits and preemption of {label}")
    elif any(limit is None for limit in limits):
        unlimited = [flavor for flavor, entry in entries if entry.get("borrowingLimit") is None]
        yield (
            f"{label} lends and borrows GPUs in cohort '{cohort}' without a borrowingLimit (flavors "
            f"{', '.join(unlimited)}) and never reclaims lent GPUs (reclaimWithinCohort {reclaim or 'Never'}); set "
            "spec.preemption.reclaimWithinCohort='Any' or a borrowingLimit on each nvidia.com/gpu quota."
        )
