"""`GpuQueues`: Kueue, with a ResourceFlavor per GPU pool and a ClusterQueue and LocalQueues per team."""

from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu, pools
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _platform_policies
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_string_map,
)
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace
from components.kubernetes.training import _kueue

DEFAULT_NAMESPACE = "kueue-system"
DEFAULT_COHORT = "training"
DEFAULT_NODE_SELECTOR: dict[str, str] = pools.platform_pool_labels()
DEFAULT_REPLICAS = 2
DEFAULT_INTEGRATIONS: list[str] = list(_kueue.INTEGRATIONS)
DEFAULT_WITHIN_CLUSTER_QUEUE = "LowerPriority"
DEFAULT_RECLAIM_WITHIN_COHORT = "Any"
DEFAULT_FLAVOR_TAINTS: list[dict[str, str]] = [gpu.NVIDIA_GPU_TAINT.kubernetes()]
DEFAULT_PROTECT = False

QUEUEING_TIER = _platform_policies.QUEUEING_TIER
CPU_FLAVOR = "cpu"
"""The ResourceFlavor of jobs that request no GPU; first in every team's resource group with a `cpu_quota` and with
no GPU quota, so a GPU job never takes it and a CPU-only job never takes a GPU flavor."""
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class GpuQueueFlavorArgs(TypedDict, total=False):
    """One GPU pool as a Kueue ResourceFlavor."""

    pool: Required[str]
    """Name of the GPU pool (its nodes carry `mlplatform.io/gpu-pool: <pool>`); also the ResourceFlavor's name,
    which team quotas refer to. Required."""

    accelerator: str
    """The pool's accelerator model (`mlplatform.io/accelerator`, e.g. `nvidia-h100`), selected as well. Defaults
    to selecting by pool only."""

    taints: list[dict[str, str]]
    """The pool's taints in Kubernetes form (`key`, `value`, `effect`): admitted pods get an exact toleration for
    each. Pass every taint of the pool (the GPU contract's, spot, training). Defaults to the EKS GPU taint
    `nvidia.com/gpu=true:NoSchedule`."""


class GpuQueueQuotaArgs(TypedDict, total=False):
    """A team's nominal quota on one flavor."""

    flavor: Required[str]
    """The flavor (GPU pool) this quota is on; must be one of `flavors`. Required."""

    gpus: Required[int]
    """GPUs (`nvidia.com/gpu`) the team is guaranteed on this flavor, >= 0. Required."""

    cpu: Required[str]
    """CPU (Kubernetes quantity, e.g. `96`) for the jobs using those GPUs, >= 0. Required."""

    memory: Required[str]
    """Memory (Kubernetes quantity, e.g. `768Gi`) for those jobs, >= 0. Required."""

    gpu_borrowing_limit: int
    """At most this many GPUs above the nominal quota, borrowed from the cohort's unused quota, >= 0. Defaults to no
    limit (everything idle in the cohort)."""

    cpu_borrowing_limit: str
    """CPU borrowing limit (quantity), as for GPUs. Defaults to no limit."""

    memory_borrowing_limit: str
    """Memory borrowing limit (quantity), as for GPUs. Defaults to no limit."""


class GpuQueueCpuQuotaArgs(TypedDict):
    """A team's nominal quota for jobs without GPUs."""

    cpu: Required[str]
    """CPU (Kubernetes quantity). Required."""

    memory: Required[str]
    """Memory (Kubernetes quantity). Required."""


class GpuQueueTeamArgs(TypedDict, total=False):
    """A team: one ClusterQueue, one LocalQueue in each of its training namespaces."""

    name: Required[str]
    """The team's name: its ClusterQueue and its LocalQueues carry it, and jobs select the queue with the label
    `kueue.x-k8s.io/queue-name: <name>`. A DNS-1123 label, not `default`. Required."""

    namespaces: Required[list[str]]
    """The team's training namespaces (created elsewhere); a namespace belongs to one team. Required, at least
    one."""

    quotas: Required[list[GpuQueueQuotaArgs]]
    """Nominal quotas, one per flavor the team may use, in order of preference. Required, at least one."""

    preemption_within_cluster_queue: str
    """Whether a pending job may preempt the team's own running jobs: `Never`, `LowerPriority` or
    `LowerOrNewerEqualPriority`. Defaults to LowerPriority."""

    reclaim_within_cohort: str
    """Whether a pending job may preempt other teams' jobs that borrowed this team's quota: `Never`,
    `LowerPriority` or `Any`. Defaults to Any (lent quota always comes back)."""

    fair_sharing_weight: str
    """The team's weight in fair sharing of the cohort's unused quota (quantity, e.g. `2`). Defaults to 1."""

    cpu_quota: GpuQueueCpuQuotaArgs
    """CPU and memory for the team's jobs that request no GPU (data preparation, evaluation), on the `cpu` flavor:
    without it such a job would be admitted on a GPU flavor and occupy a GPU node. Defaults to none (a CPU-only job
    waits forever)."""


class GpuQueuesArgs(TypedDict, total=False):
    """Arguments of `GpuQueues`."""

    flavors: Required[list[GpuQueueFlavorArgs]]
    """The GPU pools jobs are queued for, one ResourceFlavor each. Required, at least one."""

    teams: Required[list[GpuQueueTeamArgs]]
    """The teams sharing them. Required, at least one."""

    cohort: str
    """The cohort every team's ClusterQueue joins: unused quota is lent within it and shared fairly. Defaults to
    training."""

    namespace: str
    """Namespace of the Kueue controller (Pod Security `restricted`). Defaults to kueue-system."""

    integrations: list[str]
    """The job kinds Kueue queues (Kueue framework names). Defaults to batch/job, jobset.x-k8s.io/jobset,
    trainer.kubeflow.org/trainjob and kubeflow.org/pytorchjob."""

    node_selector: dict[str, str]
    """Node labels the controller selects: the platform pool's, or `{}` on a cluster without one. Defaults to
    {"mlplatform.io/pool-role": "platform"}."""

    replicas: int
    """Controller replicas (leader-elected; every replica serves the webhooks). Defaults to 2."""

    protect: bool
    """Protect the chart (its CRDs: deleting them deletes every queue and workload) against `pulumi destroy` and
    keep it when removed from the program. Set in prod. Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra labels on the controller's namespace; cannot override the tier or Pod Security labels. Defaults to
    none."""

    created_namespaces: dict[str, pulumi.Input[str]]
    """Team namespace -> its name as an output of the resource that creates it (e.g. `TrainingNamespace.namespace`):
    each LocalQueue then waits for its own namespace only, with no `depends_on` on whole components. Defaults to
    none (the namespaces exist already)."""

    cpu_flavor_node_labels: dict[str, str]
    """Node labels of the `cpu` flavor, where jobs without GPUs run (teams with a `cpu_quota`). Defaults to the
    platform pool's ({"mlplatform.io/pool-role": "platform"}); `{}` on a cluster without one."""


class GpuQueues(pulumi.ComponentResource):
    """GPU queues and fair sharing for training: Kueue, one queue per team, quotas per GPU pool.

    Creates:
    - the controller's namespace (Pod Security `restricted`, tier `queueing`) with default-deny NetworkPolicies:
      DNS and the API server out, the API server in on the webhook and visibility API ports only;
    - Kueue (helm.v4.Chart, pinned): its CRDs and a controller of two replicas on the platform pool with a
      PodDisruptionBudget, configured so that in the teams' namespaces a job without a queue name is suspended and
      never admitted (`manageJobsWithoutQueueName` with a namespace selector of exactly those namespaces), with fair
      sharing on, for Jobs, JobSets, TrainJobs and PyTorchJobs;
    - per GPU pool, a ResourceFlavor that sends admitted pods to that pool (its node labels and tolerations);
    - per team, a ClusterQueue in the cohort with its nominal GPU, CPU and memory quotas per flavor, borrowing
      limits and preemption policy, admitting only its own namespaces; and a LocalQueue named after the team in
      each of its namespaces.

    Security defaults: the controller runs non-root with a read-only root filesystem, no capabilities and no
    privilege escalation; it reaches nothing but the API server. Jobs outside the teams' namespaces never pass
    through Kueue's webhooks, so a Kueue outage cannot block them; inside them, no job starts outside its quota.
    """

    namespace: pulumi.Output[str]
    """Namespace of the Kueue controller."""

    cluster_queue_names: pulumi.Output[list[str]]
    """Names of the ClusterQueues, one per team."""

    local_queues: pulumi.Output[dict[str, str]]
    """Training namespace -> the name of its LocalQueue (what jobs put in `kueue.x-k8s.io/queue-name`)."""

    def __init__(self, name: str, args: GpuQueuesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        flavors = args.get("flavors")
        teams = args.get("teams")
        cohort = args.get("cohort", DEFAULT_COHORT)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        integrations = args.get("integrations", DEFAULT_INTEGRATIONS)
        node_selector = args.get("node_selector", DEFAULT_NODE_SELECTOR)
        replicas = args.get("replicas", DEFAULT_REPLICAS)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, GpuQueuesArgs)
        check_object_name(problems, "name", name)
        flavor_names = check_flavors(problems, flavors)
        if CPU_FLAVOR in flavor_names:
            problems.add("flavors", f"'{CPU_FLAVOR}' is the flavor of jobs without GPUs; name the GPU pool otherwise")
        check_teams(problems, teams, flavor_names)
        cpu_labels = args.get("cpu_flavor_node_labels", DEFAULT_NODE_SELECTOR)
        check_string_map(problems, "cpuFlavorNodeLabels", cpu_labels)
        for index, team in enumerate(teams if isinstance(teams, list) else []):
            team_namespaces = team.get("namespaces") if isinstance(team, dict) else None
            if isinstance(team_namespaces, list) and namespace in team_namespaces:
                position = team_namespaces.index(namespace)
                problems.add(f"teams[{index}].namespaces[{position}]", "is Kueue's own namespace, never a training one")
        check_object_name(problems, "cohort", cohort)
        check_namespace_name(problems, "namespace", namespace)
        check_integrations(problems, integrations)
        check_string_map(problems, "nodeSelector", node_selector)
        check_int(problems, "replicas", replicas, minimum=1, maximum=5)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"GpuQueues '{name}'")

        super().__init__("mlplatform:index:GpuQueues", name, {}, opts)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=QUEUEING_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-netpol", ns.metadata.name, _platform_policies.kueue_network_policies(), parent=self
        )
        training_namespaces = [ns_name for team in teams for ns_name in team["namespaces"]]  # type: ignore[union-attr]
        # CRDs are cluster-wide and own every queue and workload: in prod they stay when this component goes.
        self._chart = _charts.helm_chart(
            f"{name}-kueue",
            _charts.KUEUE,
            release_name=_kueue.RELEASE,
            namespace=ns.metadata.name,
            values=_kueue.kueue_values(
                managed_namespaces=training_namespaces,
                integrations=integrations,
                node_selector=node_selector,
                replicas=replicas,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        # Queue objects need the CRDs and pass Kueue's own webhooks: created after the chart, deleted before it.
        queue_opts = pulumi.ResourceOptions(parent=self, depends_on=[self._chart])

        for flavor in flavors:  # type: ignore[union-attr]
            manifest = _kueue.resource_flavor(
                flavor["pool"],
                node_labels=_kueue.flavor_node_labels(flavor["pool"], flavor.get("accelerator")),
                taints=flavor.get("taints", DEFAULT_FLAVOR_TAINTS),
            )
            _custom_resource(f"{name}-flavor-{flavor['pool']}", manifest, queue_opts)

        if any(isinstance(team, dict) and "cpu_quota" in team for team in teams):  # type: ignore[union-attr]
            manifest = _kueue.resource_flavor(CPU_FLAVOR, node_labels=cpu_labels, taints=[])
            _custom_resource(f"{name}-flavor-{CPU_FLAVOR}", manifest, queue_opts)

        created = args.get("created_namespaces", {})
        queue_names: list[pulumi.Output[str]] = []
        local: dict[str, pulumi.Output[str]] = {}
        for team in teams:  # type: ignore[union-attr]
            manifest = _kueue.cluster_queue(
                team["name"],
                namespaces=team["namespaces"],
                cohort=cohort,
                quotas=_with_cpu_flavor(team),
                within_cluster_queue=team.get("preemption_within_cluster_queue", DEFAULT_WITHIN_CLUSTER_QUEUE),
                reclaim_within_cohort=team.get("reclaim_within_cohort", DEFAULT_RECLAIM_WITHIN_COHORT),
                fair_sharing_weight=team.get("fair_sharing_weight"),
            )
            queue = _custom_resource(f"{name}-queue-{team['name']}", manifest, queue_opts)
            queue_name = queue.metadata.apply(lambda metadata, team=team: (metadata or {}).get("name") or team["name"])
            queue_names.append(queue_name)
            for team_namespace in team["namespaces"]:
                local_manifest = _kueue.local_queue(team["name"], namespace=team_namespace, cluster_queue_name="")
                # The LocalQueue names its ClusterQueue through the queue's output: created after it; and its
                # namespace through the namespace's, when given: created after that too.
                local_manifest["spec"]["clusterQueue"] = queue_name
                if team_namespace in created:
                    local_manifest["metadata"]["namespace"] = created[team_namespace]
                local_queue = _custom_resource(
                    f"{name}-local-{team_namespace}",
                    local_manifest,
                    pulumi.ResourceOptions(parent=self, depends_on=[self._chart, queue]),
                )
                local[team_namespace] = local_queue.metadata.apply(
                    lambda metadata, team=team: (metadata or {}).get("name") or team["name"]
                )

        self.namespace = ns.metadata.name
        self.cluster_queue_names = pulumi.Output.all(*queue_names).apply(list)
        self.local_queues = pulumi.Output.all(**local).apply(dict) if local else pulumi.Output.from_input({})
        self.register_outputs(
            {
                "namespace": self.namespace,
                "clusterQueueNames": self.cluster_queue_names,
                "localQueues": self.local_queues,
            }
        )


def _with_cpu_flavor(team: GpuQueueTeamArgs) -> list[dict[str, Any]]:
    """The team's quotas, with its CPU-only quota first on the `cpu` flavor (no GPU, none borrowed) when it has one:
    Kueue tries flavors in order, so a job without GPUs lands there and one with GPUs skips it."""
    quotas: list[dict[str, Any]] = [dict(quota) for quota in team["quotas"]]
    cpu_quota = team.get("cpu_quota")
    if cpu_quota is None:
        return quotas
    cpu_only = {"flavor": CPU_FLAVOR, "gpus": 0, "gpu_borrowing_limit": 0, **cpu_quota}
    return [cpu_only, *quotas]


def _custom_resource(
    resource_name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


# --- Validation (every problem with its property path) ----------------------------------------------------------


def check_flavors(problems: Problems, flavors: object) -> set[str]:
    """Record the problems of `flavors`; return the names of the well-formed ones."""
    names: set[str] = set()
    if not isinstance(flavors, list) or not flavors:
        problems.add("flavors", "required: at least one GPU pool")
        return names
    for index, flavor in enumerate(flavors):
        path = f"flavors[{index}]"
        if not isinstance(flavor, dict):
            problems.add(path, "must be an object with `pool`")
            continue
        check_known_arguments(_Prefixed(problems, path), flavor, GpuQueueFlavorArgs)
        pool = flavor.get("pool")
        check_object_name(problems, f"{path}.pool", pool)
        if isinstance(pool, str):
            if pool in names:
                problems.add(f"{path}.pool", f"pool '{pool}' is listed twice")
            names.add(pool)
        accelerator = flavor.get("accelerator")
        if accelerator is not None:
            check_object_name(problems, f"{path}.accelerator", accelerator)
        taints = flavor.get("taints", DEFAULT_FLAVOR_TAINTS)
        if not isinstance(taints, list):
            problems.add(f"{path}.taints", "must be a list of {key, value, effect}")
            continue
        if len(taints) > _kueue.MAX_FLAVOR_NODE_LABELS:
            problems.add(f"{path}.taints", f"at most {_kueue.MAX_FLAVOR_NODE_LABELS} (the ResourceFlavor's limit)")
        for taint_index, taint in enumerate(taints):
            taint_path = f"{path}.taints[{taint_index}]"
            if not isinstance(taint, dict) or not isinstance(taint.get("key"), str) or not taint.get("key"):
                problems.add(taint_path, "must have a non-empty `key`")
                continue
            if not isinstance(taint.get("value", ""), str):
                problems.add(f"{taint_path}.value", "must be a string")
            check_choice(problems, f"{taint_path}.effect", taint.get("effect"), _TAINT_EFFECTS)
    return names


def check_teams(problems: Problems, teams: object, flavor_names: set[str]) -> None:
    """Record the problems of `teams` (names, namespaces, quotas, flavors referenced, policies)."""
    if not isinstance(teams, list) or not teams:
        problems.add("teams", "required: at least one team")
        return
    team_names: set[str] = set()
    owner: dict[str, str] = {}
    for index, team in enumerate(teams):
        path = f"teams[{index}]"
        if not isinstance(team, dict):
            problems.add(path, "must be an object with `name`, `namespaces` and `quotas`")
            continue
        check_known_arguments(_Prefixed(problems, path), team, GpuQueueTeamArgs)
        team_name = team.get("name")
        check_object_name(problems, f"{path}.name", team_name)
        if team_name == _kueue.DEFAULT_LOCAL_QUEUE_NAME:
            problems.add(
                f"{path}.name",
                "'default' is reserved: Kueue puts jobs without a queue name into a LocalQueue of that name",
            )
        if isinstance(team_name, str):
            if team_name in team_names:
                problems.add(f"{path}.name", f"team '{team_name}' is listed twice")
            team_names.add(team_name)
        namespaces = team.get("namespaces")
        if not isinstance(namespaces, list) or not namespaces:
            problems.add(f"{path}.namespaces", "required: at least one training namespace")
        else:
            for ns_index, namespace in enumerate(namespaces):
                ns_path = f"{path}.namespaces[{ns_index}]"
                check_namespace_name(problems, ns_path, namespace)
                if isinstance(namespace, str):
                    if namespace in owner:
                        problems.add(ns_path, f"namespace '{namespace}' already belongs to team '{owner[namespace]}'")
                    else:
                        owner[namespace] = str(team_name)
        check_quotas(problems, f"{path}.quotas", team.get("quotas"), flavor_names)
        check_choice(
            problems,
            f"{path}.preemptionWithinClusterQueue",
            team.get("preemption_within_cluster_queue", DEFAULT_WITHIN_CLUSTER_QUEUE),
            _kueue.WITHIN_CLUSTER_QUEUE_POLICIES,
        )
        check_choice(
            problems,
            f"{path}.reclaimWithinCohort",
            team.get("reclaim_within_cohort", DEFAULT_RECLAIM_WITHIN_COHORT),
            _kueue.RECLAIM_WITHIN_COHORT_POLICIES,
        )
        weight = team.get("fair_sharing_weight")
        if weight is not None:
            check_quantity(problems, f"{path}.fairSharingWeight", weight, positive=False)
        cpu_quota = team.get("cpu_quota")
        if cpu_quota is not None:
            if not isinstance(cpu_quota, dict) or set(cpu_quota) != {"cpu", "memory"}:
                problems.add(f"{path}.cpuQuota", "must be {cpu, memory} (Kubernetes quantities)")
            else:
                check_quantity(problems, f"{path}.cpuQuota.cpu", cpu_quota["cpu"], positive=False)
                check_quantity(problems, f"{path}.cpuQuota.memory", cpu_quota["memory"], positive=False)


def check_quotas(problems: Problems, path: str, quotas: object, flavor_names: set[str]) -> None:
    """Record the problems of one team's quotas: known flavors, each once, quantities >= 0."""
    if not isinstance(quotas, list) or not quotas:
        problems.add(path, "required: at least one quota (a flavor and its GPUs, CPU and memory)")
        return
    seen: set[str] = set()
    for index, quota in enumerate(quotas):
        quota_path = f"{path}[{index}]"
        if not isinstance(quota, dict):
            problems.add(quota_path, "must be an object with `flavor`, `gpus`, `cpu` and `memory`")
            continue
        check_known_arguments(_Prefixed(problems, quota_path), quota, GpuQueueQuotaArgs)
        flavor = quota.get("flavor")
        if flavor not in flavor_names:
            known = ", ".join(sorted(flavor_names)) or "none"
            problems.add(f"{quota_path}.flavor", f"unknown flavor {flavor!r}; flavors: {known}")
        elif flavor in seen:
            problems.add(f"{quota_path}.flavor", f"flavor '{flavor}' has two quotas")
        else:
            seen.add(flavor)  # type: ignore[arg-type]
        check_int(problems, f"{quota_path}.gpus", quota.get("gpus"), minimum=0)
        check_quantity(problems, f"{quota_path}.cpu", quota.get("cpu"), positive=False)
        check_quantity(problems, f"{quota_path}.memory", quota.get("memory"), positive=False)
        if quota.get("gpu_borrowing_limit") is not None:
            check_int(problems, f"{quota_path}.gpuBorrowingLimit", quota.get("gpu_borrowing_limit"), minimum=0)
        for key, prop in (
            ("cpu_borrowing_limit", "cpuBorrowingLimit"),
            ("memory_borrowing_limit", "memoryBorrowingLimit"),
        ):
            if quota.get(key) is not None:
                check_quantity(problems, f"{quota_path}.{prop}", quota.get(key), positive=False)


def check_integrations(problems: Problems, integrations: object) -> None:
    """Record a problem for an empty list, a framework Kueue does not know, or one listed twice."""
    if not isinstance(integrations, list) or not integrations:
        problems.add("integrations", "required: at least one Kueue framework, e.g. batch/job")
        return
    for index, framework in enumerate(integrations):
        if framework not in _kueue.KNOWN_INTEGRATIONS:
            problems.add(f"integrations[{index}]", f"unknown Kueue framework {framework!r}")
        elif integrations.index(framework) != index:
            problems.add(f"integrations[{index}]", f"{framework} is listed twice")


class _Prefixed(Problems):
    """Problems recorded under `prefix` (for `check_known_arguments` on a nested object)."""

    def __init__(self, problems: Problems, prefix: str) -> None:
        super().__init__()
        self._problems = problems
        self._prefix = prefix

    def add(self, path: str, reason: str) -> None:
        self._problems.add(f"{self._prefix}.{path}", reason)
