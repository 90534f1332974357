"""Argo Workflows' chart values, controller configuration, RBAC and per-namespace objects, as pure functions.

Facts read at argoproj/argo-helm tag `argo-workflows-1.0.18` (chart 1.0.18, app v4.0.6): `charts/argo-workflows/
values.yaml` and its templates (`controller/workflow-controller-deployment.yaml`, `-config-map.yaml`, `-pdb.yaml`,
`-cluster-roles.yaml`, `-crb.yaml`, `workflow-role.yaml`, `crds.yaml`, `_helpers.tpl`); and at argoproj/argo-workflows
tag v4.0.6: `cmd/workflow-controller/main.go` (flags), `workflow/controller/workflowpod.go` (service account and token
of step pods), `workflow/executor/resource.go` (what a resource step does), `pkg/apis/workflow/v1alpha1/
artifact_repository_types.go` and `workflow_types.go` (artifact repository keys), `docs/workflow-rbac.md`,
`docs/artifact-repository-ref.md`, `docs/default-workflow-specs.md`, `docs/managed-namespace.md`, and the Dockerfile
(the images' users).
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from components._common import gpu
from components._common.pools import PLATFORM_POOL_ROLE, POOL_ROLE_LABEL
from components.kubernetes import _platform_policies, _values
from components.kubernetes._namespaces import NAMESPACE_NAME_LABEL
from components.kubernetes._platform_policies import DEFAULT_DENY_POLICY, PROMETHEUS_PODS, kube_api_egress
from components.kubernetes.training.namespace import KUBE_API_ACCESS_LABEL

RELEASE = "argo-workflows"
"""The Helm release name: it contains the chart name, so `argo-workflows.fullname` is `argo-workflows` and the
controller Deployment `argo-workflows-workflow-controller` (`_helpers.tpl`)."""
CONTROLLER_NAME = "workflow-controller"
"""`controller.name`; the controller's ConfigMap is `<fullname>-<name>-configmap`."""
SERVER_NAME = "server"

CONTROLLER_PODS: dict[str, str] = {
    "app.kubernetes.io/name": f"{RELEASE}-{CONTROLLER_NAME}",
    "app.kubernetes.io/instance": RELEASE,
}
"""The controller's pod selector labels (`argo-workflows.selectorLabels`: name `<fullname>-<controller.name>`,
instance the release)."""
SERVER_PODS: dict[str, str] = {
    "app.kubernetes.io/name": f"{RELEASE}-{SERVER_NAME}",
    "app.kubernetes.io/instance": RELEASE,
}
"""The Argo Server's pod selector labels (same helper, `server.name`)."""

ARGO_UID = 8737
"""The user every Argo image runs as (Dockerfile at v4.0.6: `USER 8737` for workflow-controller, argocli and
argoexec-nonroot). Step pods run as this user too, so the emissary executor's files (copied by the `init` container
into a shared emptyDir) belong to the same user as the main container that runs them."""

METRICS_PORT = 9090
"""The controller's Prometheus port (`controller.metricsConfig.port`)."""
SERVER_PORT = 2746
"""The Argo Server's port (`server.servicePort` and `serviceTargetPort`)."""

CONTROLLER_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
"""The chart sets none (`controller.resources: {}`); sized for a few hundred concurrent workflows."""
EXECUTOR_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
"""The `init` and `wait` containers of every step pod: with a ResourceQuota on limits in the training namespaces, a
container without limits would fall back to the LimitRange's larger defaults."""

RESTRICTED_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": ARGO_UID,
    "runAsGroup": ARGO_UID,
    "fsGroup": ARGO_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The pod security context of the controller and of every step pod (`restricted`: non-root, RuntimeDefault
seccomp)."""
RESTRICTED_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = dict(_values.RESTRICTED_CONTAINER_SECURITY_CONTEXT)
"""Every container: no privilege escalation, all capabilities dropped, read-only root, non-root, RuntimeDefault."""

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
"""How long a finished Workflow object stays (its pods are gone earlier, see `podGC`)."""
DEFAULT_ACTIVE_DEADLINE_SECONDS = 24 * 3600
"""The longest a workflow may run unless it sets its own bound: a stuck step cannot hold a GPU forever."""

# --- RBAC -----------------------------------------------------------------------------------------------------

EXECUTOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
]
"""What the emissary executor needs in the step pod's namespace from v3.4 on (docs/workflow-rbac.md at v4.0.6, and
the chart's `workflow-role.yaml`): it reports outputs and progress as WorkflowTaskResults, nothing else."""

JOBSET_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["jobset.x-k8s.io"],
        "resources": ["jobsets"],
        "verbs": ["create", "get", "list", "watch", "delete"],
    },
]
"""What the train step and its clean-up need on JobSets: `kubectl create -f` (create), the executor's status poll
(`checkResourceState`, a GET of the object, workflow/executor/resource.go), and the exit handler's `kubectl delete
--ignore-not-found`, whose default `--wait` follows the object with a list and watch restricted to its name until it
is gone. No update, patch or deletecollection; no other kind."""

STEP_RULES: list[dict[str, Any]] = [*EXECUTOR_RULES, *JOBSET_RULES]
"""The Role bound to the training ServiceAccount for workflows: the executor's needs and the train step's."""

_CONTROLLER_WATCHED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods", "configmaps", "namespaces", "serviceaccounts", "persistentvolumeclaims")),
    (
        "argoproj.io",
        (
            "workflows",
            "workflowtemplates",
            "clusterworkflowtemplates",
            "cronworkflows",
            "workflowtasksets",
            "workflowtaskresults",
            "workflowartifactgctasks",
        ),
    ),
)
"""What the controller's informers list and watch; without `--namespaced` they watch every namespace
(cmd/workflow-controller/main.go at v4.0.6: one managed namespace or all, no list)."""

CONTROLLER_CLUSTER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [group], "resources": list(resources), "verbs": ["get", "list", "watch"]}
    for group, resources in _CONTROLLER_WATCHED
]
"""The controller's only cluster-wide grant: read. It sees workflows everywhere (Argo cannot watch a list of
namespaces), but acts only where `CONTROLLER_NAMESPACE_RULES` is bound: a Workflow created elsewhere fails on its
first pod instead of running."""

CONTROLLER_NAMESPACE_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
    {
        "apiGroups": [""],
        "resources": ["persistentvolumeclaims", "persistentvolumeclaims/finalizers"],
        "verbs": ["create", "update", "delete", "get"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": [
            "workflows",
            "workflows/finalizers",
            "workflowtasksets",
            "workflowtasksets/finalizers",
            "workflowtasksets/status",
            "workflowartifactgctasks",
        ],
        "verbs": ["get", "list", "watch", "update", "patch", "delete", "create"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtaskresults", "workflowtaskresults/finalizers"],
        "verbs": ["list", "watch", "deletecollection"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["cronworkflows", "cronworkflows/finalizers"],
        "verbs": ["get", "list", "watch", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["create", "get", "delete"]},
]
"""The writes of the chart's controller ClusterRole (`workflow-controller-cluster-roles.yaml` at 1.0.18), bound per
training namespace with a RoleBinding instead of cluster-wide: pods, PVCs, workflow objects, events and PDBs are
created only there."""

CONTROLLER_LEASE_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resourceNames": ["workflow-controller", "workflow-controller-lease"],
        "verbs": ["get", "watch", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
]
"""Leader election in the controller's own namespace (the chart's lease rules without an instance ID: the leases
`workflow-controller` and `workflow-controller-lease`), and its leader-election events."""

# --- Chart values ---------------------------------------------------------------------------------------------


def workflow_defaults(*, service_account: str) -> dict[str, Any]:
    """`workflowDefaults`: what every Workflow of the controller gets unless it sets its own (a Workflow's own value
    wins, docs/default-workflow-specs.md).

    - `serviceAccountName`: the training namespaces' ServiceAccount (its cloud identity reads datasets and writes the
      team's prefixes), never the namespace's `default`.
    - `automountServiceAccountToken` is left to the pod: the training ServiceAccount mounts no token, and Argo only
      copies a *false* value into the pod (workflowpod.go `setupServiceAccount`), so `podSpecPatch` sets it true. The
      `wait` container needs the token to write WorkflowTaskResults; the kubelet mounts a bound, expiring projected
      token, not a Secret.
    - `podMetadata.labels`: `mlplatform.io/kube-api-access: "true"`, the label the training namespace's policy lets
      reach the API server (every step's `wait` container talks to it).
    - `securityContext`: Pod Security `restricted` at pod level (the executor's and main containers' contexts come
      from the controller configuration's `executor` and `mainContainer`).
    - `podGC`: pods go once the workflow succeeded (failed workflows keep theirs until the TTL, to read their logs).
    - `ttlStrategy`: finished Workflow objects go after a week; `activeDeadlineSeconds`: a day at most.
    """
    return {
        "spec": {
            "serviceAccountName": service_account,
            "podSpecPatch": json.dumps({"automountServiceAccountToken": True}),
            "podMetadata": {"labels": {KUBE_API_ACCESS_LABEL: "true"}},
            "securityContext": dict(RESTRICTED_POD_SECURITY_CONTEXT),
            "podGC": {"strategy": "OnWorkflowSuccess"},
            "ttlStrategy": {
                "secondsAfterCompletion": DEFAULT_TTL_SECONDS,
                "secondsAfterSuccess": DEFAULT_TTL_SECONDS,
                "secondsAfterFailure": DEFAULT_TTL_SECONDS,
            },
            "activeDeadlineSeconds": DEFAULT_ACTIVE_DEADLINE_SECONDS,
        }
    }


def argo_values(
    *,
    workflow_namespaces: Sequence[str],
    service_account: str,
    node_selector: Mapping[str, str] | None = None,
    replicas: int = 2,
    server: bool = False,
) -> dict[str, Any]:
    """Values of Argo Workflows' chart (argoproj/argo-helm `argo-workflows` 1.0.18).

    - CRDs: the chart's minimal CRDs, rendered as templates (`crds.full: false`), so Pulumi applies and upgrades them.
      The full CRDs would be applied by a pre-install hook Job that downloads them from GitHub at install time;
      `helm.v4.Chart` drops hooks, and clusters here reach no GitHub. The minimal CRDs keep unknown fields, so the
      API server does not check a Workflow's fields: the tests check ours against the full v4.0.6 schemas.
    - RBAC: the chart's cluster-wide controller role is off (`controller.rbac.create: false`), and so are its
      workflow ServiceAccount and Role (`workflow.*`), aggregated roles (which would let anyone with `edit` run
      workflows) and ClusterWorkflowTemplates: `Pipelines` creates a read-only ClusterRole and per-namespace Roles.
    - Controller: 2 replicas with leader election (the chart disables it only with 1 replica) and a
      PodDisruptionBudget, on the platform pool, non-root with a read-only root filesystem.
    - Emissary is the only executor since v3.4; its `init`/`wait` containers and every main container get the
      `restricted` context from the controller configuration (`executor`, `mainContainer`).
    - No artifact repository in the controller: each training namespace has its own `artifact-repositories`
      ConfigMap (its team's prefix, its identity).
    - The Argo Server (UI/API) is off by default. When on: ClusterIP only, `--auth-mode=client` (each request carries
      the caller's own Kubernetes token, so the team's RBAC applies), never `server` mode, in which every request
      would act as the server's own ServiceAccount.

    Args:
        workflow_namespaces: the training namespaces (informational in the chart: with its RBAC off, nothing renders
            per namespace).
        service_account: the ServiceAccount step pods run as.
        node_selector: where the controller runs; defaults to the platform pool.
        replicas: controller replicas.
        server: deploy the Argo Server.
    """
    selector = dict(node_selector) if node_selector is not None else {POOL_ROLE_LABEL: PLATFORM_POOL_ROLE}
    tolerations = [{"key": gpu.CRITICAL_ADDONS_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}]
    values: dict[str, Any] = {
        "images": {"pullPolicy": "IfNotPresent"},
        "crds": {"install": True, "full": False, "keep": True},
        "createAggregateRoles": False,
        "singleNamespace": False,
        "useStaticCredentials": False,
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "controller": {
            "rbac": {"create": False},
            "clusterWorkflowTemplates": {"enabled": False},
            "workflowNamespaces": sorted(set(workflow_namespaces)),
            "replicas": replicas,
            "pdb": {"enabled": True, "minAvailable": 1},
            "podSecurityContext": {
                key: value for key, value in RESTRICTED_POD_SECURITY_CONTEXT.items() if key != "fsGroup"
            },
            "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
            "resources": {key: dict(value) for key, value in CONTROLLER_RESOURCES.items()},
            "nodeSelector": selector,
            "tolerations": tolerations,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(CONTROLLER_PODS)},
                }
            ],
            "metricsConfig": {"enabled": True, "port": METRICS_PORT},
            "workflowDefaults": workflow_defaults(service_account=service_account),
        },
        "executor": {
            "securityContext": {**RESTRICTED_CONTAINER_SECURITY_CONTEXT, "runAsUser": ARGO_UID},
            "resources": {key: dict(value) for key, value in EXECUTOR_RESOURCES.items()},
        },
        "mainContainer": {"securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT)},
        "server": {"enabled": server},
    }
    if server:
        values["server"].update(
            {
                "authModes": ["client"],
                "serviceType": "ClusterIP",
                "replicas": replicas,
                "pdb": {"enabled": True, "minAvailable": 1},
                "podSecurityContext": {
                    key: value for key, value in RESTRICTED_POD_SECURITY_CONTEXT.items() if key != "fsGroup"
                },
                "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
                "nodeSelector": dict(selector),
                "tolerations": [dict(item) for item in tolerations],
                "rbac": {"create": True},
            }
        )
    return values


ARGO_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "images.pullPolicy",
        "crds.install",
        "crds.full",
        "crds.keep",
        "createAggregateRoles",
        "singleNamespace",
        "useStaticCredentials",
        "workflow.serviceAccount.create",
        "workflow.rbac.create",
        "controller.rbac.create",
        "controller.clusterWorkflowTemplates.enabled",
        "controller.workflowNamespaces",
        "controller.replicas",
        "controller.pdb.enabled",
        "controller.pdb.minAvailable",
        "controller.podSecurityContext*",
        "controller.securityContext*",
        "controller.resources*",
        "controller.nodeSelector*",
        "controller.tolerations*",
        "controller.topologySpreadConstraints*",
        "controller.metricsConfig.enabled",
        "controller.metricsConfig.port",
        "controller.workflowDefaults*",
        "executor.securityContext*",
        "executor.resources*",
        "mainContainer.securityContext*",
        "server.enabled",
        "server.authModes",
        "server.serviceType",
        "server.replicas",
        "server.pdb.enabled",
        "server.pdb.minAvailable",
        "server.podSecurityContext*",
        "server.securityContext*",
        "server.nodeSelector*",
        "server.tolerations*",
        "server.rbac.create",
    }
)
"""Every values key `argo_values` sets, each read in `charts/argo-workflows/values.yaml` and used by the templates at
tag argo-workflows-1.0.18 (argoproj/argo-helm): `crds.*` in `crds.yaml`; `controller.*` in
`controller/workflow-controller-deployment.yaml`, `-pdb.yaml`, `-config-map.yaml` (`workflowDefaults`,
`metricsConfig`, `executor`, `mainContainer`) and `-cluster-roles.yaml`/`-crb.yaml` (`rbac.create`,
`clusterWorkflowTemplates.enabled`); `workflow.*` in `workflow-sa.yaml`, `workflow-role.yaml`, `workflow-rb.yaml`;
`server.*` in `server/server-deployment.yaml` (`authModes` becomes `--auth-mode=<each>`), `server-service.yaml`,
`server-deployment-pdb.yaml`, `server-cluster-roles.yaml`. A `*` key is copied whole into the object."""


# --- Per training namespace -------------------------------------------------------------------------------------

ARTIFACT_REPOSITORIES_CONFIGMAP = "artifact-repositories"
"""The ConfigMap name Argo looks for in the workflow's namespace when a workflow names no repository
(docs/artifact-repository-ref.md at v4.0.6)."""
DEFAULT_ARTIFACT_REPOSITORY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
ARTIFACT_REPOSITORY_KEY = "default"
ARTIFACT_KEY_FORMAT = "{{workflow.name}}/{{pod.name}}"
"""Below the team's prefix: one folder per workflow, one per step pod (Argo's own default pattern)."""


def artifact_prefix(team: str) -> str:
    """The team's Argo prefix in the artifacts store: `artifacts/<team>/argo`, inside what the training identity may
    write (`artifacts/<team>/...`)."""
    return f"artifacts/{team}/argo"


def s3_artifact_repository(*, bucket: str, region: str, team: str, kms_key_id: str | None = None) -> dict[str, Any]:
    """An S3 artifact repository under the team's prefix, with the pod's IRSA identity (`useSDKCreds: true`: the
    AWS SDK's default chain, which reads the web identity token IRSA mounts; no access keys anywhere).

    Keys (v1alpha1 `S3ArtifactRepository` at v4.0.6): `bucket`, `endpoint`, `region`, `useSDKCreds`, `keyFormat`,
    `encryptionOptions.{enableEncryption,kmsKeyId}`.
    """
    repository: dict[str, Any] = {
        "bucket": bucket,
        "endpoint": f"s3.{region}.amazonaws.com",
        "region": region,
        "useSDKCreds": True,
        "keyFormat": f"{artifact_prefix(team)}/{ARTIFACT_KEY_FORMAT}",
    }
    if kms_key_id:
        repository["encryptionOptions"] = {"enableEncryption": True, "kmsKeyId": kms_key_id}
    return {"archiveLogs": True, "s3": repository}


def azure_artifact_repository(*, account: str, container: str, team: str) -> dict[str, Any]:
    """An Azure Blob artifact repository under the team's prefix, with the pod's Entra workload identity
    (`useSDKCreds: true`: the Azure SDK's default credential, which reads the federated token workload identity
    mounts; no account key).

    Keys (v1alpha1 `AzureArtifactRepository` at v4.0.6): `endpoint`, `container`, `useSDKCreds`, `blobNameFormat`.
    """
    return {
        "archiveLogs": True,
        "azure": {
            "endpoint": f"https://{account}.blob.core.windows.net",
            "container": container,
            "useSDKCreds": True,
            "blobNameFormat": f"{artifact_prefix(team)}/{ARTIFACT_KEY_FORMAT}",
        },
    }


def artifact_repositories_configmap(repository: Mapping[str, Any]) -> dict[str, Any]:
    """The `artifact-repositories` ConfigMap body (annotations and data) with `repository` as the default. The
    controller reads the value as YAML; JSON is YAML."""
    return {
        "annotations": {DEFAULT_ARTIFACT_REPOSITORY_ANNOTATION: ARTIFACT_REPOSITORY_KEY},
        "data": {ARTIFACT_REPOSITORY_KEY: json.dumps(repository, indent=2, sort_keys=True)},
    }


MLFLOW_CLIENT_LABEL = "mlplatform.io/mlflow-client"
"""Pods labelled `<this>: "true"` in a training namespace may reach the MLflow tracking server."""


def mlflow_egress_policy(*, mlflow_namespace: str, mlflow_port: int) -> dict[str, Any]:
    """Egress from MLflow clients (the pipeline's quality gate and registration steps) to the tracking server's
    namespace, on its port only. The MLflow namespace must admit them too (its own ingress policy)."""
    return {
        "podSelector": {"matchLabels": {MLFLOW_CLIENT_LABEL: "true"}},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: mlflow_namespace}}}],
                "ports": [{"protocol": "TCP", "port": mlflow_port}],
            }
        ],
    }


# --- The controller's namespace -----------------------------------------------------------------------------------


def argo_network_policies(*, monitoring_namespace: str, server: bool) -> dict[str, dict[str, Any]]:
    """Policies of Argo's namespace: default deny, DNS, the API server out for the controller (and the server), and
    Prometheus in on the controller's metrics port.

    The controller talks to nothing but the API server: it creates step pods through it and never calls them (the
    emissary executor reports through WorkflowTaskResults). The server, when on, is reached by port-forward or a
    proxy in the namespace only; no ingress from other namespaces is opened for it.
    """
    policies: dict[str, dict[str, Any]] = {
        DEFAULT_DENY_POLICY: _platform_policies.default_deny(),
        "allow-dns": _platform_policies.dns_egress(),
        "allow-controller-kube-api": kube_api_egress(CONTROLLER_PODS),
        "allow-metrics-scrape": {
            "podSelector": {"matchLabels": dict(CONTROLLER_PODS)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: monitoring_namespace}},
                            "podSelector": {"matchLabels": dict(PROMETHEUS_PODS)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
                }
            ],
        },
    }
    if server:
        policies["allow-server-kube-api"] = kube_api_egress(SERVER_PODS)
    return policies
