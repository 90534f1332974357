"""`TrainingNamespace`: a locked-down namespace in which one team runs (distributed) training jobs on GPUs."""

from typing import Any, Required, TypedDict

import pulumi

from components._common import gpu
from components._common.tags import TIER_LABEL
from components._common.validation import Problems, require_args_mapping
from components.kubernetes._platform_policies import kube_api_egress
from components.kubernetes._team_namespace import (
    DEFAULT_DENY_POLICY,
    TeamNamespaceDefaults,
    base_network_policies,
    check_cidrs,
    check_team_namespace,
    cidr_egress_policy,
    create_team_namespace,
)

TRAINING_TIER = "training"
KUEUE_NAMESPACE_SELECTOR: dict[str, Any] = {"matchLabels": {TIER_LABEL: TRAINING_TIER}}
"""Selects every training namespace: Kueue's `managedJobsNamespaceSelector` and the team ClusterQueues'
`namespaceSelector` use it, so jobs here are admitted through a queue."""
KUBE_API_ACCESS_LABEL = "mlplatform.io/kube-api-access"
"""Pods labelled `<this>: "true"` (launchers: an MPI launcher, a driver that watches its workers) may reach the
Kubernetes API server; other training pods may not."""

DEFAULT_SERVICE_ACCOUNT_NAME = gpu.TRAINING_SERVICE_ACCOUNT
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_STORAGE_EGRESS_CIDRS: list[str] = ["0.0.0.0/0"]
DEFAULT_QUOTA_GPUS = 8
DEFAULT_QUOTA_CPU = "64"
DEFAULT_QUOTA_MEMORY = "512Gi"
DEFAULT_QUOTA_PODS = 100
MAX_QUOTA_PODS = 10000
DEFAULT_CONTAINER_CPU_REQUEST = "500m"
DEFAULT_CONTAINER_MEMORY_REQUEST = "1Gi"
DEFAULT_CONTAINER_CPU_LIMIT = "2"
DEFAULT_CONTAINER_MEMORY_LIMIT = "4Gi"
DEFAULTS = TeamNamespaceDefaults(
    service_account=DEFAULT_SERVICE_ACCOUNT_NAME,
    monitoring_namespace=DEFAULT_MONITORING_NAMESPACE,
    quota_gpus=DEFAULT_QUOTA_GPUS,
    quota_cpu=DEFAULT_QUOTA_CPU,
    quota_memory=DEFAULT_QUOTA_MEMORY,
    quota_pods=DEFAULT_QUOTA_PODS,
    max_pods=MAX_QUOTA_PODS,
    container_cpu_request=DEFAULT_CONTAINER_CPU_REQUEST,
    container_memory_request=DEFAULT_CONTAINER_MEMORY_REQUEST,
    container_cpu_limit=DEFAULT_CONTAINER_CPU_LIMIT,
    container_memory_limit=DEFAULT_CONTAINER_MEMORY_LIMIT,
)
ROLE_NAME = "training-team"
QUOTA_NAME = "training-quota"

_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]

TRAINING_API_GROUPS = {
    "batch": ["jobs", "cronjobs"],
    "jobset.x-k8s.io": ["jobsets"],
    "trainer.kubeflow.org": ["trainjobs"],
    "kubeflow.org": ["pytorchjobs"],
}
"""The job kinds the team submits, by API group: batch Jobs (and CronJobs for scheduled retraining), JobSets
(jobset.x-k8s.io/v1alpha2), Kubeflow Trainer v2 TrainJobs (trainer.kubeflow.org/v1alpha1) and Training Operator
v1 PyTorchJobs (kubeflow.org/v1). Listed one by one: a wildcard would also grant whatever those groups add."""

PIPELINE_RESOURCES = ("workflows", "workflowtemplates", "cronworkflows")
"""The Argo Workflows kinds (argoproj.io/v1alpha1) a team writes in its training namespace: runs, templates and
schedules. Not ClusterWorkflowTemplates (cluster-wide), WorkflowEventBindings, or the controller's own bookkeeping
(WorkflowTaskSets, WorkflowTaskResults, WorkflowArtifactGCTasks)."""

TRACKING_CREDENTIALS_SECRET = "mlflow-credentials"
"""The Secret the tracking server's `team_users` writes into the namespace (ExperimentTracking)."""

TEAM_ROLE_RULES: list[dict[str, Any]] = [
    *(
        {"apiGroups": [group], "resources": resources, "verbs": list(_WRITE)}
        for group, resources in TRAINING_API_GROUPS.items()
    ),
    # Status subresources to follow a job; the controllers write them.
    {
        "apiGroups": ["batch", "jobset.x-k8s.io", "trainer.kubeflow.org", "kubeflow.org"],
        "resources": ["jobs/status", "jobsets/status", "trainjobs/status", "pytorchjobs/status"],
        "verbs": list(_READ),
    },
    # The namespaced runtimes a TrainJob may reference; the platform provides them (cluster runtimes are global).
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainingruntimes"], "verbs": list(_READ)},
    # Queue state: why a job waits (Kueue Workloads) and the namespace's queue. Admission is Kueue's, not the team's.
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads", "localqueues"], "verbs": list(_READ)},
    # The team's own MLflow credentials (ExperimentTracking `team_users`), to use the tracking API from a laptop or
    # notebook as its jobs do: this one Secret by name, read only; every other Secret stays unreadable.
    {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [TRACKING_CREDENTIALS_SECRET], "verbs": ["get"]},
    # Pods are the controllers' to create; the team follows them and may remove a stuck one.
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims"], "verbs": list(_WRITE)},
    {
        "apiGroups": [""],
        "resources": [
            "pods/log",
            "pods/status",
            "services",
            "endpoints",
            "events",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
        "verbs": list(_READ),
    },
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": list(_READ)},
    # Visible, not writable: the team cannot weaken the namespace's isolation.
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": list(_READ)},
    {"apiGroups": ["monitoring.coreos.com"], "resources": ["podmonitors"], "verbs": list(_WRITE)},
    # Pipelines (Argo Workflows, `Pipelines`): submit and schedule workflows, keep templates. The controller runs the
    # steps as the namespace's training ServiceAccount under the namespace's Pod Security, quota and policies.
    {"apiGroups": ["argoproj.io"], "resources": list(PIPELINE_RESOURCES), "verbs": list(_WRITE)},
    # What `argo get/logs/watch` read besides pods: the steps' reported outputs (the controller writes them).
    {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": list(_READ)},
]
"""What the team may do in its training namespace: submit and follow jobs, read their logs and its own MLflow
credentials. Deliberately absent: every other Secret, pods/exec and pods/attach, pod creation outside a job (jobs go through the queue), ServiceAccount writes
and tokens, every RBAC resource and the bind/escalate/impersonate verbs, NetworkPolicy / ResourceQuota /
LimitRange and Kueue queue writes, and wildcards."""


class TrainingNamespaceArgs(TypedDict, total=False):
    """Arguments of `TrainingNamespace`."""

    namespace: Required[str]
    """Name of the namespace to create (DNS-1123 label, not a Kubernetes system namespace). Required."""

    team_group: Required[str]
    """Identity-provider group bound to the team role (Kubernetes RBAC group; on AKS with Entra ID the group's
    object ID, on EKS the group of the access entry). Required."""

    quota_gpus: int
    """GPUs the namespace may request in total (`requests.nvidia.com/gpu`); Kueue's ClusterQueue shares them
    out, the quota is the hard ceiling. Defaults to 8."""

    quota_cpu: str
    """Total CPU requests (Kubernetes quantity). Defaults to 64."""

    quota_cpu_limits: str
    """Total CPU limits (Kubernetes quantity), at least `quota_cpu`. Defaults to twice `quota_cpu`."""

    quota_memory: str
    """Total memory requests (Kubernetes quantity). A memory-backed /dev/shm counts against the container's
    memory limit. Defaults to 512Gi."""

    quota_memory_limits: str
    """Total memory limits (Kubernetes quantity), at least `quota_memory`. Defaults to `quota_memory`."""

    quota_pods: int
    """Most pods (workers of every running job together). Defaults to 100."""

    container_cpu_request: str
    """CPU request given to containers that set none (LimitRange). Defaults to 500m."""

    container_memory_request: str
    """Memory request given to containers that set none (LimitRange). Defaults to 1Gi."""

    container_cpu_limit: str
    """CPU limit given to containers that set none (LimitRange). Defaults to 2."""

    container_memory_limit: str
    """Memory limit given to containers that set none (LimitRange). Defaults to 4Gi."""

    monitoring_namespace: str
    """Namespace whose Prometheus pods may scrape training pods. Defaults to monitoring."""

    storage_egress_cidrs: list[str]
    """CIDRs training pods may reach on TCP 443: datasets, checkpoints and artifacts in object storage, and the
    identity endpoints (STS for IRSA, login.microsoftonline.com for Entra workload identity). S3 and Blob have
    no fixed addresses without private endpoints: give the VPC/VNet CIDR with VPC or private endpoints, or the
    providers' published ranges. An empty list creates no rule (DNS and in-namespace traffic only). Defaults to
    ["0.0.0.0/0"] (any address, port 443 only)."""

    identity_kind: str
    """Cloud identity of the training ServiceAccount: `aws` (IRSA role ARN annotation), `azure` (Entra workload
    identity client ID annotation; pods must carry `pod_labels`) or `none`. Defaults to none."""

    identity_id: pulumi.Input[str]
    """The IAM role ARN (`aws`, `AwsTrainingIdentity.roleArn`) or managed identity client ID (`azure`). Required
    unless `identity_kind` is none."""

    service_account_name: str
    """Name of the ServiceAccount training pods run as. Defaults to trainer."""

    namespace_labels: dict[str, str]
    """Extra namespace labels, e.g. the GDPR record-of-processing labels (`data-classification`, `data-owner`,
    `processing-activity`, `retention`); cannot override the tier or Pod Security labels. Defaults to none."""


class TrainingNamespace(pulumi.ComponentResource):
    """A namespace in which one team runs single- and multi-node GPU training jobs, isolated by default.

    Creates:
    - the Namespace, Pod Security `restricted` (enforce, audit and warn) and tier `training`
      (`mlplatform.io/tier: training`, which Kueue's namespace selector matches);
    - a ResourceQuota on GPUs (`requests.nvidia.com/gpu`), CPU and memory requests and limits, and pods;
    - a LimitRange giving containers default requests and limits (never a GPU);
    - NetworkPolicies: default deny of all ingress and egress (always; there is no switch), then DNS to
      kube-system, pod-to-pod traffic within the namespace on every port and protocol (NCCL, gloo and
      torchrun rendezvous pick their ports at run time), scraping by Prometheus, the Kubernetes API server for
      pods labelled `mlplatform.io/kube-api-access: "true"` (launchers), and HTTPS egress to
      `storage_egress_cidrs`;
    - the ServiceAccount training pods run as, annotated for IRSA or Entra workload identity, with no
      automounted API token;
    - a Role and RoleBinding letting `team_group` submit and follow Jobs, JobSets, TrainJobs and PyTorchJobs,
      submit and schedule Argo Workflows (Workflows, WorkflowTemplates, CronWorkflows) and read pod logs, in this
      namespace only.

    What distributed training needs fits `restricted`: a memory-backed `emptyDir` at /dev/shm (NCCL and
    PyTorch data loaders) is an allowed volume type; pods run as non-root without privilege escalation and
    with all capabilities dropped. Nothing host-level is allowed: no hostNetwork, hostIPC or hostPath, so
    workers talk over the pod network (EFA/RDMA devices arrive through a device plugin, not host access).

    Security defaults: no Secret access, no exec, no RBAC, NetworkPolicy, quota or queue writes and no
    wildcards for the team; no traffic from other namespaces except Prometheus; nothing reaching out except
    DNS, the namespace itself and port 443.
    """

    namespace: pulumi.Output[str]
    """The namespace name."""

    service_account_name: pulumi.Output[str]
    """The ServiceAccount training pods must use for their cloud identity."""

    pod_labels: pulumi.Output[dict[str, str]]
    """Labels training pods must carry for the cloud identity to work (`azure.workload.identity/use` on Azure)."""

    kube_api_pod_labels: pulumi.Output[dict[str, str]]
    """Labels that let a pod (a launcher) reach the Kubernetes API server."""

    default_deny_policy_name: pulumi.Output[str]
    """Name of the default-deny NetworkPolicy."""

    network_policy_names: pulumi.Output[list[str]]
    """Every NetworkPolicy in the namespace."""

    role_name: pulumi.Output[str]
    """The team's Role."""

    quota_name: pulumi.Output[str]
    """The namespace's ResourceQuota."""

    def __init__(self, name: str, args: TrainingNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        storage_egress_cidrs = args.get("storage_egress_cidrs", DEFAULT_STORAGE_EGRESS_CIDRS)
        problems = Problems()
        settings = check_team_namespace(problems, args, TrainingNamespaceArgs, DEFAULTS)
        check_cidrs(problems, "storageEgressCidrs", storage_egress_cidrs)
        problems.raise_if_any(f"TrainingNamespace '{name}'")

        super().__init__("mlplatform:index:TrainingNamespace", name, {"tier": TRAINING_TIER}, opts)

        policies = training_network_policies(
            monitoring_namespace=settings.monitoring_namespace, storage_egress_cidrs=list(storage_egress_cidrs)
        )
        made = create_team_namespace(
            self,
            name,
            settings,
            tier=TRAINING_TIER,
            quota_name=QUOTA_NAME,
            policies=policies,
            role_name=ROLE_NAME,
            rules=TEAM_ROLE_RULES,
        )

        self.namespace = made.namespace
        self.service_account_name = made.service_account.metadata.name
        self.pod_labels = pulumi.Output.from_input(made.pod_labels)
        self.kube_api_pod_labels = pulumi.Output.from_input({KUBE_API_ACCESS_LABEL: "true"})
        self.default_deny_policy_name = pulumi.Output.from_input(DEFAULT_DENY_POLICY)
        self.network_policy_names = pulumi.Output.from_input(list(policies))
        self.role_name = made.role.metadata.name
        self.quota_name = made.quota.metadata.name
        self.register_outputs(
            {
                "namespace": self.namespace,
                "serviceAccountName": self.service_account_name,
                "podLabels": self.pod_labels,
                "kubeApiPodLabels": self.kube_api_pod_labels,
                "defaultDenyPolicyName": self.default_deny_policy_name,
                "networkPolicyNames": self.network_policy_names,
                "roleName": self.role_name,
                "quotaName": self.quota_name,
            }
        )


def training_network_policies(
    *, monitoring_namespace: str, storage_egress_cidrs: list[str]
) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of a training namespace, by name; the default deny is always the first.

    On top of the shared base (deny, DNS, the namespace's own pods on every port, Prometheus): the API server for
    launchers only, and HTTPS to object storage. No ingress from any other namespace: nothing outside calls a
    training job (the Kubeflow Trainer and JobSet controllers talk to the API server, not to pods).
    """
    policies = base_network_policies(monitoring_namespace=monitoring_namespace)
    # The API server has no selector (see _platform_policies): its ports, any address, labelled pods only. With the
    # default storage egress (any address on 443) every pod reaches EKS/AKS API endpoints on 443 anyway; the rule
    # matters where storage CIDRs are narrowed. Pods still need a token: the training ServiceAccount mounts none.
    policies["allow-kube-api-for-launchers"] = kube_api_egress({KUBE_API_ACCESS_LABEL: "true"})
    if storage_egress_cidrs:
        policies["allow-storage-egress"] = cidr_egress_policy(storage_egress_cidrs, 443)
    return policies
