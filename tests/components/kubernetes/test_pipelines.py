"""Pipelines: Argo Workflows that acts only in the training namespaces, hardened, with per-team artifacts."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from components._common import gpu, pools, scheduling
from components.aws import AwsTrainingIdentity
from components.kubernetes import Pipelines, _chart_workloads, _platform_policies
from components.kubernetes import _charts as charts
from components.kubernetes.training import _argo
from components.kubernetes.training.namespace import KUBE_API_ACCESS_LABEL
from stacks.deployability import pod_security_violations
from tests.components.aws._support import OIDC_PROVIDER_ARN
from tests.components.aws._support import policy as iam_policy
from tests.components.aws.iam_eval import allows
from tests.components.kubernetes.helpers import (
    chart,
    chart_values,
    kubernetes_objects,
    manifest,
    objects_of_kind,
    run_with_provider,
)
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION

TEAMS = [{"namespace": "vision-train", "team": "vision"}, {"namespace": "nlp-train"}]
S3_STORE = {"cloud": "aws", "bucket": "ml-artifacts", "region": "eu-central-1"}
AZURE_STORE = {"cloud": "azure", "account": "mlartifacts", "container": "artifacts"}


def pipelines_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"teams": [dict(team) for team in TEAMS], "artifact_store": dict(S3_STORE)}
    args.update(overrides)
    return args


def build(run, **overrides: Any):
    return run_with_provider(run, lambda opts: Pipelines("pipelines", pipelines_args(**overrides), opts=opts))


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def values(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"workflow_namespaces": ["vision-train", "nlp-train"], "service_account": "trainer"}
    arguments.update(overrides)
    return _argo.argo_values(**arguments)


def _granted(rules: list[dict[str, Any]], verbs: list[str] | None = None) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        if verbs is None or verb in verbs
    }


# --- The chart, its values and the controller ------------------------------------------------------------------


def test_the_chart_is_the_pinned_argo_chart_in_a_restricted_namespace(run) -> None:
    recorder = build(run)
    registration = chart(recorder, "argo-workflows")
    assert registration.inputs["version"] == "1.0.18", "chart 1.0.18 ships Argo Workflows v4.0.6"
    assert registration.inputs["repositoryOpts"]["repo"] == "https://argoproj.github.io/argo-helm"
    assert registration.inputs["name"] == "argo-workflows", "the release name makes the objects `argo-workflows-*`"
    (namespace,) = objects_of_kind(recorder, "Namespace")
    assert namespace["metadata"]["name"] == "argo"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["mlplatform.io/tier"] == "pipelines"


def test_the_crds_are_the_minimal_ones_rendered_as_templates() -> None:
    crds = values()["crds"]
    assert crds == {"install": True, "full": False, "keep": True}, (
        "full CRDs come from a pre-install hook Job that downloads them; helm.v4 drops hooks and there is no GitHub"
    )


def _leaf_paths(data: Any, prefix: str = "") -> set[str]:
    if isinstance(data, dict) and data:
        return {path for key, value in data.items() for path in _leaf_paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


@pytest.mark.parametrize("server", [False, True])
def test_every_values_key_the_builder_sets_was_checked_in_the_pinned_chart(server: bool) -> None:
    checked = _argo.ARGO_VALUES_KEYS
    unchecked = [
        path
        for path in _leaf_paths(values(server=server))
        if not any(
            path == key or path.startswith(f"{key}.") or (key.endswith("*") and path.startswith(key[:-1]))
            for key in checked
        )
    ]
    assert not unchecked, (
        f"read these keys in charts/argo-workflows/values.yaml@{charts.ARGO_WORKFLOWS.version}: {unchecked}"
    )
    assert charts.ARGO_WORKFLOWS.version == _chart_workloads.TABLE_VERSIONS["argo-workflows"], "keys read at the pin"


def controller() -> _chart_workloads.ChartWorkload:
    (workload,) = _chart_workloads.argo_workflows_workloads(_argo.RELEASE, "argo", values())
    return workload


def test_the_controller_is_highly_available_on_the_platform_pool_and_never_on_a_gpu_node() -> None:
    workload = controller()
    assert workload.name == "argo-workflows-workflow-controller" and workload.replicas == 2
    # The chart sets LEADER_ELECTION_DISABLE only when `controller.replicas` is 1.
    assert values()["controller"]["pdb"] == {"enabled": True, "minAvailable": 1}, "a drain leaves one controller"
    # The chart's own `kubernetes.io/os: linux` stays (Helm merges maps); the kubelet sets it on every node.
    platform_node = {**pools.platform_pool_labels(), "kubernetes.io/os": "linux"}
    assert scheduling.unschedulable_reasons(workload.pod_spec, platform_node, []) == []
    gpu_node = {
        **gpu.gpu_pool_labels("gpu-h100", "nvidia-h100", workload=gpu.TRAINING_WORKLOAD),
        "kubernetes.io/os": "linux",
    }
    assert scheduling.unschedulable_reasons(workload.pod_spec, gpu_node, gpu.gpu_pool_taints("aws")), "not on GPUs"
    spread = workload.pod_spec["topologySpreadConstraints"][0]
    assert spread["labelSelector"]["matchLabels"] == _argo.CONTROLLER_PODS == workload.labels


def test_the_controller_meets_pod_security_restricted_with_a_read_only_root() -> None:
    pod = controller().pod_spec
    violations, unset = pod_security_violations(pod, "restricted")
    assert violations == [] and unset == [], (violations, unset)
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] == 8737, "the image's USER 8737"
    assert container["resources"]["limits"]["memory"], "a memory limit bounds a leak"


def test_the_argo_server_is_off_by_default_and_client_auth_clusterip_when_on() -> None:
    assert values()["server"] == {"enabled": False}
    assert len(_chart_workloads.argo_workflows_workloads(_argo.RELEASE, "argo", values())) == 1, "controller only"
    server = values(server=True)["server"]
    assert server["authModes"] == ["client"], "each request acts with the caller's own token, never the server's"
    assert server["serviceType"] == "ClusterIP", "never a LoadBalancer or NodePort"
    workloads = {
        w.name: w for w in _chart_workloads.argo_workflows_workloads(_argo.RELEASE, "argo", values(server=True))
    }
    pod = workloads["argo-workflows-server"].pod_spec
    assert pod_security_violations(pod, "restricted") == ([], [])
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True, "/tmp is the chart's emptyDir"


def test_the_workflow_defaults_make_every_step_pod_restricted_collected_and_bounded() -> None:
    config = values()
    defaults = config["controller"]["workflowDefaults"]["spec"]
    assert defaults["serviceAccountName"] == "trainer", "the training identity, never the namespace's default"
    assert json.loads(defaults["podSpecPatch"]) == {"automountServiceAccountToken": True}, (
        "the trainer account mounts no token, and Argo only copies a false automount into the pod"
    )
    assert defaults["podMetadata"]["labels"] == {KUBE_API_ACCESS_LABEL: "true"}, "the wait container calls the API"
    assert defaults["podGC"] == {"strategy": "OnWorkflowSuccess"}
    assert defaults["ttlStrategy"]["secondsAfterCompletion"] == 7 * 24 * 3600
    assert defaults["activeDeadlineSeconds"] == 24 * 3600
    # A step pod as the controller builds it: Argo's init and wait containers, the main container with the
    # controller's mainContainer defaults, the pod context from the workflow defaults.
    executor = config["executor"]["securityContext"]
    pod = {
        "securityContext": defaults["securityContext"],
        "initContainers": [{"name": "init", "securityContext": executor}],
        "containers": [
            {"name": "wait", "securityContext": executor},
            {"name": "main", "securityContext": config["mainContainer"]["securityContext"]},
        ],
    }
    assert pod_security_violations(pod, "restricted") == ([], []), "Pod Security restricted admits every step pod"


# --- RBAC ---------------------------------------------------------------------------------------------------------


def test_the_chart_s_cluster_wide_roles_are_off() -> None:
    config = values()
    assert config["controller"]["rbac"] == {"create": False}, "replaced by read-only + per-namespace write"
    assert config["createAggregateRoles"] is False, "aggregated roles would let any `edit` user run workflows"
    assert config["workflow"] == {"serviceAccount": {"create": False}, "rbac": {"create": False}}
    assert config["controller"]["clusterWorkflowTemplates"] == {"enabled": False}


def test_the_controller_reads_cluster_wide_but_writes_only_in_training_namespaces(run) -> None:
    recorder = build(run)
    cluster_roles = {role["metadata"]["name"]: role for role in objects_of_kind(recorder, "ClusterRole")}
    read = cluster_roles["argo-workflows-controller-read"]["rules"]
    assert {verb for _, _, verb in _granted(read)} == {"get", "list", "watch"}, "cluster-wide: read only"
    (cluster_binding,) = objects_of_kind(recorder, "ClusterRoleBinding")
    assert cluster_binding["roleRef"]["name"] == "argo-workflows-controller-read", "the only cluster-wide binding"
    write_bindings = [
        binding
        for binding in objects_of_kind(recorder, "RoleBinding")
        if binding["roleRef"]["name"] == "argo-workflows-controller-write"
    ]
    assert sorted(binding["metadata"]["namespace"] for binding in write_bindings) == ["nlp-train", "vision-train"]
    for binding in write_bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "argo-workflows-workflow-controller", "namespace": "argo"}
        ], "the chart's controller ServiceAccount"
    write = cluster_roles["argo-workflows-controller-write"]["rules"]
    assert ("", "pods", "create") in _granted(write)
    every_rule = [rule for role in objects_of_kind(recorder, "ClusterRole") + objects_of_kind(recorder, "Role")
                  for rule in role["rules"]]  # fmt: skip
    assert not any("secrets" in rule["resources"] for rule in every_rule), "no Secret is read by Argo"
    assert not any("*" in rule[field] for rule in every_rule for field in ("apiGroups", "resources", "verbs"))


def test_the_step_role_grants_exactly_the_executor_and_the_train_step_needs(run) -> None:
    recorder = build(run)
    roles = [role for role in objects_of_kind(recorder, "Role") if role["metadata"]["name"] == "argo-workflow-steps"]
    assert sorted(role["metadata"]["namespace"] for role in roles) == ["nlp-train", "vision-train"]
    expected = {
        ("argoproj.io", "workflowtaskresults", "create"),
        ("argoproj.io", "workflowtaskresults", "patch"),
        ("jobset.x-k8s.io", "jobsets", "create"),
        ("jobset.x-k8s.io", "jobsets", "get"),
        ("jobset.x-k8s.io", "jobsets", "list"),
        ("jobset.x-k8s.io", "jobsets", "watch"),
        ("jobset.x-k8s.io", "jobsets", "delete"),
    }
    for role in roles:
        assert _granted(role["rules"]) == expected, (
            "v4.0.6's emissary executor writes WorkflowTaskResults (docs/workflow-rbac.md); the train step creates "
            "and polls its JobSet and the exit handler deletes it; nothing else (no pods, no secrets, no patch)"
        )
    bindings = [b for b in objects_of_kind(recorder, "RoleBinding") if b["roleRef"]["name"] == "argo-workflow-steps"]
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "trainer", "namespace": binding["metadata"]["namespace"]}
        ]


# --- Artifacts --------------------------------------------------------------------------------------------------


def _repository(recorder, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (config_map,) = [cm for cm in objects_of_kind(recorder, "ConfigMap") if cm["metadata"]["namespace"] == namespace]
    key = config_map["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"]
    return config_map, json.loads(config_map["data"][key])


def test_each_namespace_has_its_default_s3_repository_under_its_team_prefix_with_irsa(run) -> None:
    recorder = build(run, artifact_store={**S3_STORE, "kms_key_id": "arn:aws:kms:eu-central-1:123456789012:key/a"})
    config_map, repository = _repository(recorder, "vision-train")
    assert config_map["metadata"]["name"] == "artifact-repositories", "the name Argo looks up in the namespace"
    s3 = repository["s3"]
    assert s3["useSDKCreds"] is True and "accessKeySecret" not in s3, "IRSA credentials, no static keys"
    assert s3["keyFormat"] == "artifacts/vision/argo/{{workflow.name}}/{{pod.name}}"
    assert s3["bucket"] == "ml-artifacts" and s3["endpoint"] == "s3.eu-central-1.amazonaws.com"
    assert s3["encryptionOptions"] == {
        "enableEncryption": True,
        "kmsKeyId": "arn:aws:kms:eu-central-1:123456789012:key/a",
    }
    _, other = _repository(recorder, "nlp-train")
    assert other["s3"]["keyFormat"].startswith("artifacts/nlp-train/argo/"), "the team defaults to the namespace"


def test_the_training_identity_may_write_and_read_what_argo_stores(run) -> None:
    recorder = build(run)
    _, repository = _repository(recorder, "vision-train")
    key = repository["s3"]["keyFormat"].replace("{{workflow.name}}", "retrain-1").replace("{{pod.name}}", "step-1")
    identity = run(
        lambda: AwsTrainingIdentity(
            "train-vision",
            {
                "namespace": "vision-train",
                "team": "vision",
                "oidc_provider_arn": OIDC_PROVIDER_ARN,
                "datasets": {"bucket_arn": "arn:aws:s3:::ml-data", "kms_key_arn": "arn:aws:kms:eu-central-1:1:key/d"},
                "models": {
                    "bucket_arn": "arn:aws:s3:::ml-artifacts",
                    "kms_key_arn": "arn:aws:kms:eu-central-1:1:key/a",
                },
                "artifacts": {
                    "bucket_arn": "arn:aws:s3:::ml-artifacts",
                    "kms_key_arn": "arn:aws:kms:eu-central-1:1:key/a",
                },
            },
        )
    )
    document = iam_policy(identity.one("aws:iam/rolePolicy:RolePolicy").inputs)
    assert allows(document, "s3:PutObject", f"arn:aws:s3:::ml-artifacts/{key}/main.log"), "steps save artifacts"
    assert allows(document, "s3:GetObject", f"arn:aws:s3:::ml-artifacts/{key}/model.tgz"), "and read them back"
    other = key.replace("artifacts/vision/", "artifacts/nlp/")
    assert not allows(document, "s3:GetObject", f"arn:aws:s3:::ml-artifacts/{other}/model.tgz"), "never another's"


def test_azure_repositories_use_workload_identity_and_the_team_prefix(run) -> None:
    recorder = build(run, artifact_store=dict(AZURE_STORE))
    _, repository = _repository(recorder, "vision-train")
    assert repository["azure"] == {
        "endpoint": "https://mlartifacts.blob.core.windows.net",
        "container": "artifacts",
        "useSDKCreds": True,
        "blobNameFormat": "artifacts/vision/argo/{{workflow.name}}/{{pod.name}}",
    }, "no account key: the SDK's default credential reads the workload identity token"


# --- Network policies ---------------------------------------------------------------------------------------------


def test_argo_s_namespace_denies_by_default_and_lets_the_controller_reach_only_the_api_server(run) -> None:
    recorder = build(run)
    specs = {p["metadata"]["name"]: p["spec"] for p in objects_of_kind(recorder, "NetworkPolicy")
             if p["metadata"]["namespace"] == "argo"}  # fmt: skip
    assert specs == _argo.argo_network_policies(monitoring_namespace="monitoring", server=False)
    policies = [Policy("argo", spec) for spec in specs.values()]
    controller_pod = Pod("argo", {**_argo.CONTROLLER_PODS, "app": "workflow-controller"})
    assert allowed(policies, controller_pod, Endpoint("10.0.0.10"), 443), "the API server"
    assert allowed(policies, controller_pod, Endpoint("10.0.0.10"), 6443), "self-managed API server port"
    assert not allowed(policies, controller_pod, Endpoint("203.0.113.7"), 80), "nothing else out"
    assert not allowed(policies, controller_pod, Pod("vision-train", {}), 8080), "it never calls step pods"
    prometheus = Pod("monitoring", _platform_policies.PROMETHEUS_PODS)
    assert allowed(policies, prometheus, controller_pod, _argo.METRICS_PORT), "metrics are scraped"
    assert not allowed(policies, Pod("vision-train", {}), controller_pod, _argo.METRICS_PORT), "by Prometheus only"
    assert not allowed(policies, prometheus, controller_pod, 6060), "health is the kubelet's"


def test_mlflow_clients_in_training_namespaces_reach_the_tracking_server_only(run) -> None:
    recorder = build(run, mlflow_namespace="mlflow")
    created = [p for p in objects_of_kind(recorder, "NetworkPolicy") if p["metadata"]["name"] == "allow-mlflow-clients"]
    assert sorted(p["metadata"]["namespace"] for p in created) == ["nlp-train", "vision-train"]
    from components.kubernetes.training.namespace import training_network_policies

    policies = [Policy("vision-train", spec) for spec in training_network_policies(
        monitoring_namespace="monitoring", storage_egress_cidrs=["10.0.0.0/16"]).values()]  # fmt: skip
    policies += [Policy(p["metadata"]["namespace"], p["spec"]) for p in created]
    client = Pod("vision-train", {_argo.MLFLOW_CLIENT_LABEL: "true"})
    server = Pod("mlflow", {"app": "mlflow"})
    assert allowed(policies, client, server, 5000), "register reaches MLflow"
    assert not allowed(policies, client, server, 5432), "on its port only"
    assert not allowed(policies, Pod("vision-train", {}), server, 5000), "unlabelled steps do not"


def test_without_an_mlflow_namespace_no_training_pod_reaches_out_beyond_its_namespace_s_policies(run) -> None:
    recorder = build(run)
    names = {p["metadata"]["name"] for p in objects_of_kind(recorder, "NetworkPolicy")}
    assert "allow-mlflow-clients" not in names


# --- Objects and validation -------------------------------------------------------------------------------------


def test_every_object_validates_against_the_kubernetes_openapi_schema(run) -> None:
    recorder = build(run, mlflow_namespace="mlflow", server=True)
    registrations = kubernetes_objects(recorder)
    assert {registration.inputs["kind"] for registration in registrations} == {
        "Namespace",
        "NetworkPolicy",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ConfigMap",
    }
    for registration in registrations:
        kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)
    server_values = chart_values(recorder, "argo-workflows")["server"]
    assert server_values["authModes"] == ["client"]


def test_bad_arguments_are_reported_together_with_their_paths_before_anything_registers(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(
            run,
            teams=[{"namespace": "argo"}, {"namespace": "Vision"}, {"namespace": "a", "teem": "x"}, "b"],
            artifact_store={"cloud": "aws", "bucket": "b", "region": "Frankfurt", "account": "x"},
            replicas=0,
            server="yes",
            mlflow_port=70000,
            default_deny=False,
        )
    errors = errors_of(raised)
    assert set(errors) >= {
        "teams[0].namespace",
        "teams[1].namespace",
        "teams[2].teem",
        "teams[3]",
        "artifactStore.region",
        "artifactStore.account",
        "replicas",
        "server",
        "mlflowPort",
        "defaultDeny",
    }, errors
    assert "controller's own namespace" in errors["teams[0].namespace"]
    created = [r.type for r in recorder.registrations if r.type.startswith(("kubernetes:", "mlplatform:"))]
    assert created == [], f"nothing is created when the arguments are refused: {created}"


def test_an_artifact_store_needs_its_cloud_s_location(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, artifact_store={"cloud": "azure", "account": "x"}, teams=[])
    errors = errors_of(raised)
    assert errors["artifactStore.container"] == "required for cloud azure"
    assert "at least one training namespace" in errors["teams"]
