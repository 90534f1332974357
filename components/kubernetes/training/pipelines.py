"""`Pipelines`: Argo Workflows for the training namespaces (ML pipelines and scheduled retraining)."""

import re
from collections.abc import Mapping
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common.validation import Problems, camel, check_known_arguments, require_args_mapping
from components.kubernetes import _charts, _platform_policies
from components.kubernetes._checks import check_bool, check_int, check_object_name, check_string_map
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace
from components.kubernetes.training import _argo
from components.kubernetes.training.namespace import DEFAULT_SERVICE_ACCOUNT_NAME

PIPELINES_TIER = "pipelines"
DEFAULT_NAMESPACE = "argo"
DEFAULT_REPLICAS = 2
DEFAULT_SERVER = False
DEFAULT_PROTECT = False
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_MLFLOW_PORT = 5000
DEFAULT_NODE_SELECTOR: dict[str, str] | None = None
ARTIFACT_CLOUDS = ("aws", "azure")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

STEP_ROLE_NAME = "argo-workflow-steps"
"""The Role the training ServiceAccount gets for workflow steps in each training namespace."""
CONTROLLER_READ_ROLE = "argo-workflows-controller-read"
CONTROLLER_WRITE_ROLE = "argo-workflows-controller-write"
LEASE_ROLE = "argo-workflows-controller-leader-election"
CONTROLLER_SERVICE_ACCOUNT = f"{_argo.RELEASE}-{_argo.CONTROLLER_NAME}"
"""The controller's ServiceAccount (`argo-workflows.controllerServiceAccountName`: the controller's full name)."""


class PipelineArtifactStoreArgs(TypedDict):
    """Where workflow artifacts go: the platform's artifacts bucket (S3) or container (Azure Blob)."""

    cloud: Required[str]
    """`aws` (S3, IRSA) or `azure` (Blob, Entra workload identity). Required."""
    bucket: NotRequired[pulumi.Input[str]]
    """S3 bucket name (`aws`). Required for aws."""
    region: NotRequired[str]
    """AWS region of the bucket (`aws`). Required for aws."""
    kms_key_id: NotRequired[pulumi.Input[str]]
    """KMS key ARN objects are encrypted with (`aws`). Defaults to none: the bucket's default encryption applies."""
    account: NotRequired[pulumi.Input[str]]
    """Storage account name (`azure`). Required for azure."""
    container: NotRequired[pulumi.Input[str]]
    """Blob container name (`azure`). Required for azure."""


class PipelineTeamArgs(TypedDict):
    """One training namespace workflows run in."""

    namespace: Required[str]
    """The training namespace (`TrainingNamespace`). Required."""
    team: NotRequired[str]
    """The team's segment of the artifacts prefix (`artifacts/<team>/argo`). Defaults to the namespace."""


class PipelinesArgs(TypedDict, total=False):
    """Arguments of `Pipelines`."""

    teams: Required[list[PipelineTeamArgs]]
    """The training namespaces workflows run in, at least one. Required."""

    artifact_store: Required[PipelineArtifactStoreArgs]
    """Where step artifacts and logs go (each team under `artifacts/<team>/argo`). Required."""

    namespace: str
    """Namespace of the Argo controller (created here). Defaults to argo."""

    service_account_name: str
    """The ServiceAccount step pods run as in each training namespace. Defaults to trainer."""

    mlflow_namespace: str
    """Namespace of the MLflow tracking server: pods labelled `mlplatform.io/mlflow-client: "true"` in the training
    namespaces may reach it on `mlflow_port`. Defaults to none (no such egress)."""

    mlflow_port: int
    """Port of the MLflow tracking server's pods. Defaults to 5000."""

    monitoring_namespace: str
    """Namespace whose Prometheus scrapes the controller's metrics. Defaults to monitoring."""

    node_selector: dict[str, str]
    """Where the controller runs. Defaults to the platform pool."""

    replicas: int
    """Controller replicas (leader-elected), 1 to 5. Defaults to 2."""

    server: bool
    """Deploy the Argo Server (UI and API) as a ClusterIP Service with client auth mode (each request uses the
    caller's own Kubernetes token). Defaults to false."""

    protect: bool
    """Protect the chart (its CRDs own every workflow) and keep it on delete. Defaults to false."""

    created_namespaces: dict[str, pulumi.Input[str]]
    """Team namespace -> its name as an output of the resource that creates it (`TrainingNamespace.namespace`): the
    per-namespace Roles, bindings and artifact repositories then wait for their own namespace only, with no
    `depends_on` on whole components. Defaults to none (the namespaces exist already)."""

    namespace_labels: dict[str, str]
    """Extra labels of the controller's namespace. Defaults to none."""


class Pipelines(pulumi.ComponentResource):
    """Argo Workflows, running teams' pipelines in their training namespaces only.

    Creates:
    - a namespace (Pod Security `restricted`, tier `pipelines`) with the Argo Workflows chart (pinned, minimal CRDs as
      templates): the workflow controller, 2 leader-elected replicas with a PodDisruptionBudget on the platform pool;
      the Argo Server only when `server` is set (ClusterIP, `--auth-mode=client`);
    - default-deny NetworkPolicies there: DNS and the API server out, Prometheus in on the metrics port;
    - RBAC: the controller reads cluster-wide (Argo watches one namespace or all) but writes (pods, workflows, events,
      PDBs) only in the training namespaces, through a RoleBinding in each;
    - per training namespace: the Role the steps need (WorkflowTaskResults for the emissary executor, JobSets for a
      train step) bound to the training ServiceAccount, the `artifact-repositories` ConfigMap (the team's
      `artifacts/<team>/argo` prefix with the pod's cloud identity), and, with `mlflow_namespace`, egress from MLflow
      clients to the tracking server.

    Workflow defaults (controller configuration): step pods run as the training ServiceAccount under Pod Security
    `restricted` with a bound API token and the label that lets them reach the API server; pods are garbage
    collected, workflows expire after a week and stop after a day.

    Security defaults: no cluster-wide write, no access to Secrets, no aggregated roles, no UI unless asked, never the
    server auth mode.
    """

    namespace: pulumi.Output[str]
    """Namespace of the Argo controller."""

    workflow_namespaces: pulumi.Output[list[str]]
    """The training namespaces workflows run in."""

    step_role_name: pulumi.Output[str]
    """The Role bound to the training ServiceAccount in each training namespace."""

    artifact_prefixes: pulumi.Output[dict[str, str]]
    """Training namespace -> the prefix its workflows' artifacts go to."""

    def __init__(self, name: str, args: PipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        teams = args.get("teams")
        store = args.get("artifact_store")
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        service_account = args.get("service_account_name", DEFAULT_SERVICE_ACCOUNT_NAME)
        mlflow_namespace = args.get("mlflow_namespace")
        mlflow_port = args.get("mlflow_port", DEFAULT_MLFLOW_PORT)
        monitoring_namespace = args.get("monitoring_namespace", DEFAULT_MONITORING_NAMESPACE)
        node_selector = args.get("node_selector", DEFAULT_NODE_SELECTOR)
        replicas = args.get("replicas", DEFAULT_REPLICAS)
        server = args.get("server", DEFAULT_SERVER)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, PipelinesArgs)
        team_of = check_teams(problems, teams, namespace)
        check_artifact_store(problems, store)
        check_namespace_name(problems, "namespace", namespace)
        check_object_name(problems, "serviceAccountName", service_account)
        if mlflow_namespace is not None:
            check_object_name(problems, "mlflowNamespace", mlflow_namespace)
        check_int(problems, "mlflowPort", mlflow_port, minimum=1, maximum=65535)
        check_object_name(problems, "monitoringNamespace", monitoring_namespace)
        if node_selector is not None:
            check_string_map(problems, "nodeSelector", node_selector)
        check_int(problems, "replicas", replicas, minimum=1, maximum=5)
        check_bool(problems, "server", server)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"Pipelines '{name}'")

        super().__init__("mlplatform:index:Pipelines", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=PIPELINES_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-netpol",
            ns.metadata.name,
            _argo.argo_network_policies(monitoring_namespace=monitoring_namespace, server=server),
            parent=self,
        )
        self._chart = _charts.helm_chart(
            f"{name}-argo",
            _charts.ARGO_WORKFLOWS,
            release_name=_argo.RELEASE,
            namespace=ns.metadata.name,
            values=_argo.argo_values(
                workflow_namespaces=list(team_of),
                service_account=service_account,
                node_selector=node_selector,
                replicas=replicas,
                server=server,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )

        # The controller's RBAC, replacing the chart's cluster-wide role: read everywhere, write per namespace.
        subject = [{"kind": "ServiceAccount", "name": CONTROLLER_SERVICE_ACCOUNT, "namespace": ns.metadata.name}]
        k8s.rbac.v1.ClusterRole(
            f"{name}-controller-read",
            metadata={"name": CONTROLLER_READ_ROLE},
            rules=[dict(rule) for rule in _argo.CONTROLLER_CLUSTER_RULES],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-controller-read",
            metadata={"name": CONTROLLER_READ_ROLE},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONTROLLER_READ_ROLE},
            subjects=subject,
            opts=child,
        )
        # A ClusterRole holds the write rules once; only RoleBindings grant them, namespace by namespace.
        k8s.rbac.v1.ClusterRole(
            f"{name}-controller-write",
            metadata={"name": CONTROLLER_WRITE_ROLE},
            rules=[dict(rule) for rule in _argo.CONTROLLER_NAMESPACE_RULES],
            opts=child,
        )
        k8s.rbac.v1.Role(
            f"{name}-controller-lease",
            metadata={"name": LEASE_ROLE, "namespace": ns.metadata.name},
            rules=[dict(rule) for rule in _argo.CONTROLLER_LEASE_RULES],
            opts=child,
        )
        _bind(f"{name}-controller-lease", "Role", LEASE_ROLE, ns.metadata.name, subject, child)

        prefixes: dict[str, str] = {}
        created = dict(args.get("created_namespaces", {}))
        for team_namespace, team in team_of.items():
            prefix = f"{name}-{team_namespace}"
            # The namespace's name, through its creator's output when given: its objects wait for it.
            in_namespace: pulumi.Input[str] = created.get(team_namespace, team_namespace)
            _bind(f"{prefix}-controller", "ClusterRole", CONTROLLER_WRITE_ROLE, in_namespace, subject, child)
            k8s.rbac.v1.Role(
                f"{prefix}-steps",
                metadata={"name": STEP_ROLE_NAME, "namespace": in_namespace},
                rules=[dict(rule) for rule in _argo.STEP_RULES],
                opts=child,
            )
            steps_subject = [{"kind": "ServiceAccount", "name": service_account, "namespace": team_namespace}]
            _bind(f"{prefix}-steps", "Role", STEP_ROLE_NAME, in_namespace, steps_subject, child)
            body = _artifact_repository(store, team).apply(_argo.artifact_repositories_configmap)  # type: ignore[arg-type]
            k8s.core.v1.ConfigMap(
                f"{prefix}-artifact-repositories",
                metadata={
                    "name": _argo.ARTIFACT_REPOSITORIES_CONFIGMAP,
                    "namespace": in_namespace,
                    "annotations": body.apply(lambda b: b["annotations"]),
                },
                data=body.apply(lambda b: b["data"]),
                opts=child,
            )
            if mlflow_namespace is not None:
                k8s.networking.v1.NetworkPolicy(
                    f"{prefix}-allow-mlflow",
                    metadata={"name": "allow-mlflow-clients", "namespace": in_namespace},
                    spec=_argo.mlflow_egress_policy(mlflow_namespace=mlflow_namespace, mlflow_port=mlflow_port),
                    opts=child,
                )
            prefixes[team_namespace] = _argo.artifact_prefix(team)

        self.namespace = ns.metadata.name
        self.workflow_namespaces = pulumi.Output.from_input(sorted(team_of))
        self.step_role_name = pulumi.Output.from_input(STEP_ROLE_NAME)
        self.artifact_prefixes = pulumi.Output.from_input(prefixes)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "workflowNamespaces": self.workflow_namespaces,
                "stepRoleName": self.step_role_name,
                "artifactPrefixes": self.artifact_prefixes,
            }
        )


def _bind(
    resource_name: str,
    kind: str,
    role: str,
    namespace: pulumi.Input[str],
    subjects: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.rbac.v1.RoleBinding:
    """A RoleBinding named after `role`, in `namespace`, of `role` (a Role there, or a ClusterRole) to `subjects`."""
    return k8s.rbac.v1.RoleBinding(
        resource_name,
        metadata={"name": role, "namespace": namespace},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        subjects=subjects,
        opts=opts,
    )


def _artifact_repository(store: Mapping[str, Any], team: str) -> pulumi.Output[dict[str, Any]]:
    """The team's artifact repository, once the store's (possibly unknown) names resolve."""
    if store["cloud"] == "aws":
        return pulumi.Output.all(store["bucket"], store.get("kms_key_id")).apply(
            lambda parts: _argo.s3_artifact_repository(
                bucket=parts[0], region=store["region"], team=team, kms_key_id=parts[1]
            )
        )
    return pulumi.Output.all(store["account"], store["container"]).apply(
        lambda parts: _argo.azure_artifact_repository(account=parts[0], container=parts[1], team=team)
    )


# --- Validation (every problem with its property path) ----------------------------------------------------------


def check_teams(problems: Problems, teams: object, argo_namespace: object) -> dict[str, str]:
    """Record the problems of `teams`; return training namespace -> team for the well-formed ones."""
    found: dict[str, str] = {}
    if not isinstance(teams, list) or not teams:
        problems.add("teams", "required: at least one training namespace, e.g. [{namespace: vision-train}]")
        return found
    for index, team in enumerate(teams):
        path = f"teams[{index}]"
        if not isinstance(team, Mapping):
            problems.add(path, "must be an object with `namespace` (and optional `team`)")
            continue
        check_known_arguments(problems, team, PipelineTeamArgs, path)
        namespace = team.get("namespace")
        check_namespace_name(problems, f"{path}.namespace", namespace)
        segment = team.get("team", namespace)
        check_object_name(problems, f"{path}.team", segment)
        if not isinstance(namespace, str) or not isinstance(segment, str):
            continue
        if namespace == argo_namespace:
            problems.add(f"{path}.namespace", "is the controller's own namespace, never a training one")
        elif namespace in found:
            problems.add(f"{path}.namespace", f"namespace '{namespace}' is listed twice")
        else:
            found[namespace] = segment
    return found


def check_artifact_store(problems: Problems, store: object) -> None:
    """Record the problems of `artifactStore`: a known cloud and that cloud's location fields, no other cloud's."""
    if not isinstance(store, Mapping):
        problems.add("artifactStore", "required: {cloud: aws, bucket, region} or {cloud: azure, account, container}")
        return
    check_known_arguments(problems, store, PipelineArtifactStoreArgs, "artifactStore")
    cloud = store.get("cloud")
    if cloud not in ARTIFACT_CLOUDS:
        problems.add("artifactStore.cloud", f"must be one of {', '.join(ARTIFACT_CLOUDS)} (got {cloud!r})")
        return
    own = ("bucket", "region") if cloud == "aws" else ("account", "container")
    other = ("account", "container") if cloud == "aws" else ("bucket", "region", "kms_key_id")
    for key in own:
        if store.get(key) in (None, ""):
            problems.add(f"artifactStore.{key}", f"required for cloud {cloud}")
    for key in other:
        if key in store:
            problems.add(f"artifactStore.{camel(key)}", f"not used with cloud {cloud}")
    region = store.get("region")
    if cloud == "aws" and region not in (None, "") and not (isinstance(region, str) and _AWS_REGION.fullmatch(region)):
        problems.add("artifactStore.region", f"{region!r} is not an AWS region such as eu-west-1")
