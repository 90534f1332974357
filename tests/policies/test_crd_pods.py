"""Issue 20, class 4: pods inside custom resources are judged by the same rules as a Deployment's.

A JobSet, a Kubeflow PyTorchJob, a KServe InferenceService or an Argo WorkflowTemplate carries pod specs at its own
paths (the `podSpecPaths` setting); the same violation said through one of them must be caught by the rule that
catches it in a Deployment, a compliant one must pass, an unknown list along the path is unverifiable, and a team's
own CRD is checked once its path is configured.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.kubernetes import _charts
from components.kubernetes.training.distributed import torch_jobset
from components.kubernetes.training.retraining import retraining_pipeline
from policies.admission import ADMISSION_RULES, policy_manifest
from policies.rules import RULES
from policies.rules.kubernetes_common import ARGO_MAIN_CONTAINER
from tests.policies import admission_corpus
from tests.policies.cases_kubernetes import DEPLOYMENT, POD_SPEC, workload
from tests.policies.cel_eval import denials
from tests.policies.harness import DELETE, UNKNOWN, Outcome, Res, mutate, run_resource, run_stack

JOBSET = "kubernetes:jobset.x-k8s.io/v1alpha2:JobSet"
PYTORCH_JOB = "kubernetes:kubeflow.org/v1:PyTorchJob"
TF_JOB = "kubernetes:kubeflow.org/v1:TFJob"
MPI_JOB = "kubernetes:kubeflow.org/v1:MPIJob"
TRAINING_RUNTIME = "kubernetes:trainer.kubeflow.org/v1alpha1:TrainingRuntime"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SERVING_RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime"
WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"
WORKFLOW_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"
CLUSTER_WORKFLOW_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:ClusterWorkflowTemplate"
CRON_WORKFLOW = "kubernetes:argoproj.io/v1alpha1:CronWorkflow"
NOTEBOOK = "kubernetes:example.com/v1:Notebook"

RESOURCE_RULES = sorted(
    name for name, rule in RULES.items() if rule.scope == "workloads" and not rule.stack
)  # every rule that reads pod specs one resource at a time
IMAGE_RULES = ["kubernetes-workload-image-pinned", "kubernetes-workload-image-registry-allowed"]
METADATA = {"name": "train", "namespace": "team-a"}
LABELS = {"app": "train"}


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": dict(LABELS)}, "spec": copy.deepcopy(spec)}


def jobset(spec: dict[str, Any]) -> dict[str, Any]:
    """A JobSet (jobset.x-k8s.io/v1alpha2) whose one ReplicatedJob `workers` runs `spec`."""
    job = {"name": "workers", "replicas": 1, "template": {"spec": {"template": _template(spec)}}}
    return {"metadata": dict(METADATA), "spec": {"replicatedJobs": [job]}}


def kubeflow(field: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A Kubeflow v1 job whose replica specs (`field`) run `spec` as Master and Worker."""

    def build(spec: dict[str, Any]) -> dict[str, Any]:
        replicas = {role: {"replicas": 1, "template": _template(spec)} for role in ("Master", "Worker")}
        return {"metadata": dict(METADATA), "spec": {field: replicas}}

    return build


def training_runtime(spec: dict[str, Any]) -> dict[str, Any]:
    """A Kubeflow Trainer TrainingRuntime whose JobSet template runs `spec`."""
    return {"metadata": dict(METADATA), "spec": {"template": {"spec": jobset(spec)["spec"]}}}


def inference_service(spec: dict[str, Any]) -> dict[str, Any]:
    """An InferenceService whose custom predictor is `spec` (a predictor inlines a PodSpec)."""
    return {"metadata": dict(METADATA), "spec": {"predictor": {**copy.deepcopy(spec), "minReplicas": 1}}}


_ARGO_WORKFLOW_FIELDS = (
    "serviceAccountName", "automountServiceAccountToken", "securityContext", "volumes", "hostNetwork",
    "nodeSelector", "tolerations", "affinity",
)  # fmt: skip


def argo_workflow_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The Argo workflow spec whose one container template runs as `spec` would: the first container is the
    template's `container`, the others its sidecars; pod-level fields Argo has go in the workflow spec and the rest
    (hostPID, hostIPC) in its podSpecPatch, as a user of Argo would write them."""
    spec = copy.deepcopy(spec)
    first, *others = spec.pop("containers")
    template: dict[str, Any] = {"name": "step", "container": {k: v for k, v in first.items() if k != "name"}}
    if others:
        template["sidecars"] = others
    if "initContainers" in spec:
        template["initContainers"] = spec.pop("initContainers")
    workflow = {key: spec.pop(key) for key in _ARGO_WORKFLOW_FIELDS if key in spec}
    if spec:
        workflow["podSpecPatch"] = json.dumps(spec)
    return {**workflow, "entrypoint": "step", "templates": [template]}


def argo(spec: dict[str, Any]) -> dict[str, Any]:
    """A Workflow, WorkflowTemplate or ClusterWorkflowTemplate running `spec` in its one step."""
    return {"metadata": dict(METADATA), "spec": argo_workflow_spec(spec)}


def cron_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    """A CronWorkflow whose inline workflowSpec runs `spec`."""
    return {"metadata": dict(METADATA), "spec": {"schedules": ["0 3 * * *"], "workflowSpec": argo_workflow_spec(spec)}}


def notebook(spec: dict[str, Any]) -> dict[str, Any]:
    """A team's own CRD carrying a pod template at spec.template."""
    return {"metadata": dict(METADATA), "spec": {"template": _template(spec)}}


NOTEBOOK_CONFIG = {"podSpecPaths": {"example.com/v1:Notebook": ["spec.template.spec"]}}

# (type token, wrapper, where messages name the pod template, config)
KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str, dict[str, Any] | None]] = {
    "JobSet": (JOBSET, jobset, "replicatedJobs[workers] of JobSet 'train'", None),
    "PyTorchJob": (PYTORCH_JOB, kubeflow("pytorchReplicaSpecs"), "pytorchReplicaSpecs[Master] of PyTorchJob", None),
    "TFJob": (TF_JOB, kubeflow("tfReplicaSpecs"), "tfReplicaSpecs[Worker] of TFJob 'train'", None),
    "MPIJob": (MPI_JOB, kubeflow("mpiReplicaSpecs"), "mpiReplicaSpecs[Master] of MPIJob 'train'", None),
    "TrainingRuntime": (TRAINING_RUNTIME, training_runtime, "replicatedJobs[workers] of TrainingRuntime", None),
    "InferenceService": (INFERENCE_SERVICE, inference_service, "predictor of InferenceService 'train'", None),
    "Workflow": (WORKFLOW, argo, "templates[step] of Workflow 'train'", None),
    "WorkflowTemplate": (WORKFLOW_TEMPLATE, argo, "templates[step] of WorkflowTemplate 'train'", None),
    "ClusterWorkflowTemplate": (CLUSTER_WORKFLOW_TEMPLATE, argo, "templates[step] of ClusterWorkflowTemplate", None),
    "CronWorkflow": (CRON_WORKFLOW, cron_workflow, "workflowSpec.templates[step] of CronWorkflow 'train'", None),
    "custom Notebook": (NOTEBOOK, notebook, "Notebook 'train'", NOTEBOOK_CONFIG),
}

_C = "containers[0]"

# (variant, changes to the compliant pod spec, the rule that must catch it)
VIOLATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("privileged", {f"{_C}.securityContext.privileged": True}, "kubernetes-workload-no-privilege-escalation"),
    ("escalation allowed", {f"{_C}.securityContext.allowPrivilegeEscalation": True},
     "kubernetes-workload-no-privilege-escalation"),
    ("hostPath volume", {"volumes[1]": {"name": "root", "hostPath": {"path": "/"}}},
     "kubernetes-workload-host-isolation"),
    ("hostNetwork", {"hostNetwork": True}, "kubernetes-workload-host-isolation"),
    ("hostPID", {"hostPID": True}, "kubernetes-workload-host-isolation"),
    ("hostPort", {f"{_C}.ports[0].hostPort": 8080}, "kubernetes-workload-host-isolation"),
    ("runs as root", {f"{_C}.securityContext.runAsUser": 0}, "kubernetes-workload-run-as-non-root"),
    ("runAsNonRoot unset", {"securityContext.runAsNonRoot": DELETE}, "kubernetes-workload-run-as-non-root"),
    ("adds SYS_ADMIN", {f"{_C}.securityContext.capabilities.add": ["SYS_ADMIN"]},
     "kubernetes-workload-capabilities-dropped"),
    ("seccomp Unconfined", {"securityContext.seccompProfile.type": "Unconfined"}, "kubernetes-workload-seccomp-profile"),
    ("writable root filesystem", {f"{_C}.securityContext.readOnlyRootFilesystem": False},
     "kubernetes-workload-read-only-root-filesystem"),
    ("no resources", {f"{_C}.resources": DELETE}, "kubernetes-workload-resource-requests"),
    ("no memory limit", {f"{_C}.resources.limits": DELETE}, "kubernetes-workload-resource-requests"),
    ("secret in a literal env var", {f"{_C}.env": [{"name": "DB_PASSWORD", "value": "hunter2"}]},
     "kubernetes-workload-no-plaintext-secret-env"),
    ("default service account", {"serviceAccountName": DELETE}, "kubernetes-workload-service-account-token"),
    ("token automounted", {"automountServiceAccountToken": DELETE}, "kubernetes-workload-service-account-token"),
    ("unsafe sysctl", {"securityContext.sysctls": [{"name": "kernel.msgmax", "value": "65536"}]},
     "kubernetes-workload-pod-security-baseline"),
    ("image from Docker Hub", {f"{_C}.image": f"docker.io/library/python@sha256:{'b' * 64}"},
     "kubernetes-workload-image-registry-allowed"),
    ("floating latest tag", {f"{_C}.image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/fraud/api:latest"},
     "kubernetes-workload-image-pinned"),
]  # fmt: skip


def judge(rule: str, type_token: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> Outcome:
    """The rule's outcome on one object (stack rules on a stack of that object alone)."""
    if RULES[rule].stack:
        return run_stack(rule, [Res(type_token, "train", props)], config=config)
    return run_resource(rule, type_token, props, name="train", config=config)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_compliant_pod_inside_a_custom_resource_passes_every_workload_rule(kind: str) -> None:
    type_token, wrap, _, config = KINDS[kind]
    for rule in [*RESOURCE_RULES, *IMAGE_RULES]:
        outcome = judge(rule, type_token, wrap(POD_SPEC), config)
        assert outcome.passed, f"{rule} on a compliant {kind}: {outcome.describe()}"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("changes", "rule"), [(c, r) for _, c, r in VIOLATIONS], ids=[v for v, _, _ in VIOLATIONS])
def test_a_violation_inside_a_custom_resource_is_caught_like_a_deployments(
    changes: dict[str, Any], rule: str, kind: str
) -> None:
    spec = mutate(POD_SPEC, changes)
    deployment = judge(rule, DEPLOYMENT, workload(spec=spec))
    assert deployment.violations, f"{rule} catches it in a Deployment: {deployment.describe()}"
    type_token, wrap, where, config = KINDS[kind]
    outcome = judge(rule, type_token, wrap(spec), config)
    assert outcome.violations, f"{rule} must catch the same pod in a {kind}: {outcome.describe()}"
    assert any(where in message for message in outcome.messages), (
        f"the message names the template ({where}): {outcome.messages}"
    )


# --- Unknown lists along the path are unverifiable -------------------------------------------------------------

UNKNOWNS: list[tuple[str, str, dict[str, Any]]] = [
    ("JobSet replicatedJobs", JOBSET, {"metadata": METADATA, "spec": {"replicatedJobs": UNKNOWN}}),
    ("a JobSet replicatedJob", JOBSET, {"metadata": METADATA, "spec": {"replicatedJobs": [UNKNOWN]}}),
    ("a replicatedJob's template", JOBSET, mutate(jobset(POD_SPEC), {"spec.replicatedJobs[0].template": UNKNOWN})),
    ("the JobSet's containers", JOBSET,
     mutate(jobset(POD_SPEC), {"spec.replicatedJobs[0].template.spec.template.spec.containers": UNKNOWN})),
    ("PyTorchJob replica specs", PYTORCH_JOB, {"metadata": METADATA, "spec": {"pytorchReplicaSpecs": UNKNOWN}}),
    ("a PyTorchJob replica", PYTORCH_JOB,
     mutate(kubeflow("pytorchReplicaSpecs")(POD_SPEC), {"spec.pytorchReplicaSpecs.Worker": UNKNOWN})),
    ("Argo templates", WORKFLOW_TEMPLATE, {"metadata": METADATA, "spec": {"templates": UNKNOWN}}),
    ("an Argo template", WORKFLOW_TEMPLATE, mutate(argo(POD_SPEC), {"spec.templates[0]": UNKNOWN})),
    ("an Argo podSpecPatch", WORKFLOW_TEMPLATE, mutate(argo(POD_SPEC), {"spec.podSpecPatch": UNKNOWN})),
    ("KServe predictor", INFERENCE_SERVICE, {"metadata": METADATA, "spec": {"predictor": UNKNOWN}}),
]  # fmt: skip


@pytest.mark.parametrize(("type_token", "props"), [(t, p) for _, t, p in UNKNOWNS], ids=[u for u, _, _ in UNKNOWNS])
def test_an_unknown_list_or_item_along_the_path_is_unverifiable(type_token: str, props: dict[str, Any]) -> None:
    outcome = run_resource("kubernetes-workload-no-privilege-escalation", type_token, props, name="train")
    assert outcome.advisory and not outcome.violations and not outcome.not_applicable, (
        f"an unknown pod template may hide a privileged container: unverifiable, never a pass; {outcome.describe()}"
    )


def test_unknown_items_do_not_hide_the_known_ones() -> None:
    props = jobset(mutate(POD_SPEC, {f"{_C}.securityContext.privileged": True}))
    props["spec"]["replicatedJobs"].append(UNKNOWN)
    outcome = run_resource("kubernetes-workload-no-privilege-escalation", JOBSET, props, name="train")
    assert any("replicatedJobs[workers]" in message for message in outcome.messages), (
        f"the known privileged template is still a violation beside an unknown one: {outcome.describe()}"
    )


# --- Configuration: a team's own CRD, and kinds without pods -------------------------------------------------


def test_a_teams_own_crd_is_checked_once_its_path_is_configured_and_not_before() -> None:
    privileged = notebook(mutate(POD_SPEC, {f"{_C}.securityContext.privileged": True}))
    rule = "kubernetes-workload-no-privilege-escalation"
    unconfigured = run_resource(rule, NOTEBOOK, privileged, name="train")
    assert unconfigured.not_applicable is not None, f"no path configured: {unconfigured.describe()}"
    for key in ("example.com/v1:Notebook", NOTEBOOK):
        config = {"podSpecPaths": {key: ["spec.template.spec"]}}
        outcome = run_resource(rule, NOTEBOOK, privileged, name="train", config=config)
        assert outcome.violations, f"configured as {key!r}, the Notebook is checked: {outcome.describe()}"
    patched = run_resource(rule, f"{NOTEBOOK}Patch", privileged, name="train", config=NOTEBOOK_CONFIG)
    assert patched.violations, f"its server-side-apply Patch spelling too: {patched.describe()}"


def test_configured_paths_add_to_the_defaults_and_can_switch_one_off() -> None:
    privileged = jobset(mutate(POD_SPEC, {f"{_C}.securityContext.privileged": True}))
    rule = "kubernetes-workload-no-privilege-escalation"
    outcome = run_resource(rule, JOBSET, privileged, name="train", config=NOTEBOOK_CONFIG)
    assert outcome.violations, f"adding the Notebook keeps JobSet's default paths: {outcome.describe()}"
    off = run_resource(rule, JOBSET, privileged, name="train", config={"podSpecPaths": {JOBSET: []}})
    assert off.not_applicable is not None, f"an empty list stops checking the kind: {off.describe()}"


@pytest.mark.parametrize(
    "type_token",
    [
        "kubernetes:karpenter.sh/v1:NodePool",
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue",
        "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue",
        "kubernetes:core/v1:ConfigMap",
    ],
)
def test_kinds_without_pods_are_not_applicable(type_token: str) -> None:
    props = {"metadata": METADATA, "spec": {"template": _template(POD_SPEC)}}
    outcome = run_resource("kubernetes-workload-no-privilege-escalation", type_token, props, name="x")
    assert outcome.not_applicable is not None, f"{type_token} carries no pods: {outcome.describe()}"


REFERENCE = {"workflowTemplateRef": {"name": "retrain"}}


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({}, None),
        ({"hostNetwork": True}, "kubernetes-workload-host-isolation"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "kubernetes-workload-host-isolation"),
        ({"securityContext": {"runAsUser": 0}}, "kubernetes-workload-run-as-non-root"),
        ({"podSpecPatch": json.dumps({"hostPID": True})}, "kubernetes-workload-host-isolation"),
    ],
    ids=["reference only", "hostNetwork", "hostPath volume", "root pod", "patch shares the host PID namespace"],
)
def test_a_workflow_running_a_referenced_template_is_judged_on_what_it_sets_on_its_pods(
    changes: dict[str, Any], rule: str | None
) -> None:
    for type_token, spec in (
        (WORKFLOW, {**REFERENCE, **changes}),
        (CRON_WORKFLOW, {"schedules": ["@daily"], "workflowSpec": {**REFERENCE, **changes}}),
    ):
        props = {"metadata": METADATA, "spec": spec}
        for name in RESOURCE_RULES:
            outcome = judge(name, type_token, props)
            if name == rule:
                assert any("(running WorkflowTemplate 'retrain')" in m for m in outcome.messages), (
                    f"{name}: the workflow's own setting reaches every pod of the template: {outcome.describe()}"
                )
            else:
                assert not outcome.violations and outcome.advisory is None, (
                    f"{name}: the referenced template's containers and account are judged with it: {outcome.describe()}"
                )


def test_a_patch_of_the_referenced_templates_containers_is_unverifiable() -> None:
    patch = json.dumps({"containers": [{"name": "main", "securityContext": {"privileged": True}}]})
    props = {"metadata": METADATA, "spec": {**REFERENCE, "podSpecPatch": patch}}
    outcome = judge("kubernetes-workload-no-privilege-escalation", WORKFLOW, props)
    assert outcome.advisory and "move the patch into the template" in outcome.advisory and not outcome.violations, (
        f"the patched containers are the template's, which this resource does not hold: {outcome.describe()}"
    )


# --- Shapes: KServe components and runtimes, Argo templates -------------------------------------------------

_MODEL_CONTAINER = {
    "modelFormat": {"name": "sklearn"},
    "storageUri": "s3://models/fraud",
    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
    "securityContext": POD_SPEC["containers"][0]["securityContext"],
}


def _predictor(**model: Any) -> dict[str, Any]:
    pod = {key: value for key, value in POD_SPEC.items() if key not in ("containers", "volumes")}
    return {"metadata": METADATA, "spec": {"predictor": {**copy.deepcopy(pod), "model": {**_MODEL_CONTAINER, **model}}}}


def test_a_kserve_model_container_is_a_container() -> None:
    assert judge("kubernetes-workload-no-privilege-escalation", INFERENCE_SERVICE, _predictor()).passed, (
        "a hardened model container passes"
    )
    privileged = _predictor(securityContext={**_MODEL_CONTAINER["securityContext"], "privileged": True})
    outcome = judge("kubernetes-workload-no-privilege-escalation", INFERENCE_SERVICE, privileged)
    assert any("container 'kserve-container' of predictor" in m for m in outcome.messages), outcome.describe()


def test_a_kserve_model_without_an_image_takes_the_runtimes_and_one_with_an_image_is_checked() -> None:
    for rule in IMAGE_RULES:
        outcome = judge(rule, INFERENCE_SERVICE, _predictor())
        assert not outcome.violations and outcome.advisory is None, (
            f"{rule}: the ServingRuntime supplies the image, and is checked itself: {outcome.describe()}"
        )
    hub = _predictor(image="docker.io/seldonio/sklearn:1.0")
    outcome = judge("kubernetes-workload-image-registry-allowed", INFERENCE_SERVICE, hub)
    assert outcome.violations, f"an image the model names is checked: {outcome.describe()}"


def test_a_serving_runtimes_containers_are_checked_but_not_its_pods_identity() -> None:
    runtime = {"metadata": METADATA, "spec": {"supportedModelFormats": [{"name": "sklearn"}],
                                              **{k: v for k, v in POD_SPEC.items() if k in ("containers", "volumes")}}}  # fmt: skip
    assert judge("kubernetes-workload-no-privilege-escalation", SERVING_RUNTIME, runtime).passed, "hardened runtime"
    identity = judge("kubernetes-workload-service-account-token", SERVING_RUNTIME, runtime)
    assert identity.not_applicable is not None, f"the InferenceService sets the account: {identity.describe()}"
    privileged = mutate(runtime, {"spec.containers[0].securityContext.privileged": True})
    outcome = judge("kubernetes-workload-no-privilege-escalation", SERVING_RUNTIME, privileged)
    assert any("container 'server' of ServingRuntime 'train'" in m for m in outcome.messages), outcome.describe()


def test_argo_names_the_main_container_and_merges_template_defaults() -> None:
    props = argo(POD_SPEC)
    props["spec"]["templateDefaults"] = {"container": {"securityContext": {"privileged": True}}}
    outcome = judge("kubernetes-workload-no-privilege-escalation", WORKFLOW_TEMPLATE, props)
    assert any(f"container '{ARGO_MAIN_CONTAINER}' of templates[step]" in m and "privileged" in m
               for m in outcome.messages), outcome.describe()  # fmt: skip


def test_argo_template_fields_override_the_workflows() -> None:
    props = argo(POD_SPEC)
    props["spec"]["templates"][0]["securityContext"] = {"runAsUser": 0}
    outcome = judge("kubernetes-workload-run-as-non-root", WORKFLOW_TEMPLATE, props)
    assert any("runs its pod as UID 0" in m for m in outcome.messages), outcome.describe()


@pytest.mark.parametrize(
    ("patch", "verdict"),
    [
        (json.dumps({"containers": [{"name": "main", "securityContext": {"privileged": True}}]}), "violation"),
        (json.dumps({"containers": [{"name": "main", "resources": {"limits": {"cpu": "2"}}}]}), "pass"),
        ("containers:\n- name: main\n  securityContext:\n    privileged: true\n", "unverifiable"),
        (json.dumps({"containers": [{"name": "main", "$patch": "replace"}]}), "unverifiable"),
    ],
    ids=["JSON patch makes main privileged", "JSON patch merges by name", "YAML patch", "patch directive"],
)
def test_argo_pod_spec_patches_are_applied_or_unverifiable(patch: str, verdict: str) -> None:
    props = argo(POD_SPEC)
    props["spec"]["templates"][0]["podSpecPatch"] = patch
    outcome = judge("kubernetes-workload-no-privilege-escalation", WORKFLOW_TEMPLATE, props)
    if verdict == "violation":
        assert outcome.violations, f"the patched pod is privileged: {outcome.describe()}"
    elif verdict == "pass":
        assert outcome.passed, f"a patch that only adds a limit keeps main hardened: {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, (
            f"a patch the check cannot apply is unverifiable, never a pass: {outcome.describe()}"
        )
        assert "podSpecPatch" in outcome.advisory or "directive" in outcome.advisory, (
            f"the advisory says why: {outcome.advisory}"
        )


def test_argo_resource_steps_run_a_pod_and_dag_steps_do_not() -> None:
    props = argo(POD_SPEC)
    props["spec"]["templates"].append(
        {"name": "create", "resource": {"action": "create", "manifest": "{}"}, "securityContext": {"runAsUser": 0}}
    )
    props["spec"]["templates"].append({"name": "flow", "dag": {"tasks": [{"name": "a", "template": "step"}]}})
    outcome = judge("kubernetes-workload-run-as-non-root", WORKFLOW_TEMPLATE, props)
    assert [m for m in outcome.messages if "UID 0" in m] == [
        "templates[create] of WorkflowTemplate 'train' runs its pod as UID 0; set security_context.run_as_user to a "
        "non-zero UID."
    ], f"the resource step's executor pod runs as root; a DAG runs no pod: {outcome.describe()}"


def test_a_pod_spec_patch_cannot_add_a_privileged_container_to_a_resource_step() -> None:
    props = argo(POD_SPEC)
    sidecar = {"name": "evil", "image": "busybox:1", "securityContext": {"privileged": True}}
    props["spec"]["templates"].append(
        {
            "name": "create",
            "resource": {"action": "create", "manifest": "{}"},
            "podSpecPatch": json.dumps({"containers": [sidecar]}),
        }
    )
    outcome = judge("kubernetes-workload-no-privilege-escalation", WORKFLOW_TEMPLATE, props)
    assert any("container 'evil' of templates[create]" in m and "privileged" in m for m in outcome.messages), (
        outcome.describe()
    )


# --- The platform's own custom resources pass -----------------------------------------------------------------

DIGEST_IMAGE = f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/models@sha256:{'c' * 64}"


def test_the_platforms_torch_jobset_passes_every_workload_rule() -> None:
    manifest = torch_jobset(
        name="train", namespace="team-a", image=DIGEST_IMAGE, command=["/app/train.py"], nodes=2,
        gpus_per_node=8, cpu_per_node="90", memory_per_node="900Gi", queue_name="team-a", efa_devices_per_node=4,
    )  # fmt: skip
    props = {"metadata": manifest["metadata"], "spec": manifest["spec"]}
    for rule in [*RESOURCE_RULES, *IMAGE_RULES]:
        outcome = judge(rule, JOBSET, props)
        assert outcome.passed, f"{rule} on torch_jobset: {outcome.describe()}"


def test_the_retraining_pipeline_passes_every_workload_rule_but_the_executors_token() -> None:
    pipeline = retraining_pipeline(
        name="retrain-fraud", namespace="fraud-train", team="fraud", queue_name="fraud",
        jobset=torch_jobset(name="fraud-train", namespace="fraud-train", image=DIGEST_IMAGE, command=["train.py"],
                            nodes=2, gpus_per_node=1, cpu_per_node="8", memory_per_node="64Gi"),
        artifact_store_uri="s3://acme-artifacts", dataset_uri="s3://acme-artifacts/datasets/fraud/x/",
        prepare_image=DIGEST_IMAGE, prepare_command=["python", "-m", "prepare"], evaluate_image=DIGEST_IMAGE,
        evaluate_command=["python", "-m", "evaluate"], model_name="fraud",
        mlflow_tracking_uri="http://mlflow.mlflow.svc.cluster.local:5000", mlflow_credentials_secret="mlflow",
        server_base_image=DIGEST_IMAGE, target_repository="123456789012.dkr.ecr.eu-central-1.amazonaws.com/models",
    )  # fmt: skip
    for type_token, manifest in (
        (WORKFLOW_TEMPLATE, pipeline.workflow_template),
        (CRON_WORKFLOW, pipeline.cron_workflow),
    ):
        props = {"metadata": manifest["metadata"], "spec": manifest["spec"]}
        for rule in [*RESOURCE_RULES, *IMAGE_RULES]:
            outcome = judge(rule, type_token, props)
            if rule == "kubernetes-workload-service-account-token" and type_token == WORKFLOW_TEMPLATE:
                # Argo's `wait` container writes WorkflowTaskResults with the pod's token (training/_argo.py
                # workflow_defaults): the advisory rule names it, with the allow-list that accepts it.
                assert all("allow-list 'fraud-train/trainer'" in m for m in outcome.messages), outcome.describe()
                continue
            assert outcome.passed or outcome.not_applicable is not None, (
                f"{rule} on the pipeline's {type_token.rsplit(':', 1)[-1]}: {outcome.describe()}"
            )
    rendered = json.dumps(pipeline.workflow_template)
    assert _charts.CRANE_IMAGE in rendered and _charts.AWS_CLI_IMAGE in rendered, (
        "the pinned vendor images are among those the registry rule judged"
    )


# --- Admission: the pods and Jobs operators create are judged by the same CEL ------------------------------


def _created_by_jobset(spec: dict[str, Any]) -> dict[str, Any]:
    """The Job the JobSet controller creates for replicatedJob `workers` (its template's spec, verbatim)."""
    template = jobset(spec)["spec"]["replicatedJobs"][0]["template"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-workers-0", "namespace": "team-a"},
            "spec": {**template["spec"], "template": {**template["spec"]["template"],
                                                      "spec": {**spec, "restartPolicy": "Never"}}}}  # fmt: skip


def _created_by_training_operator(spec: dict[str, Any]) -> dict[str, Any]:
    """The Pod the training operator creates for a PyTorchJob replica (its template's spec)."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "train-master-0", "namespace": "team-a"},
            "spec": {**spec, "restartPolicy": "Never"}}  # fmt: skip


@pytest.mark.parametrize("variant", list(admission_corpus.POD_SPEC_VARIANTS))
@pytest.mark.parametrize(
    ("type_token", "wrap", "created"),
    [
        (JOBSET, jobset, _created_by_jobset),
        (PYTORCH_JOB, kubeflow("pytorchReplicaSpecs"), _created_by_training_operator),
    ],
    ids=["JobSet -> Job", "PyTorchJob -> Pod"],
)
def test_the_pack_on_the_custom_resource_agrees_with_admission_on_what_its_operator_creates(
    type_token: str, wrap: Callable[[dict[str, Any]], dict[str, Any]], created: Callable[..., Any], variant: str
) -> None:
    """The admission policies match pods, Jobs and the other built-in kinds, not the custom resources: an operator's
    Jobs and Pods are judged when it creates them, exactly as built. The pack, which sees only the custom resource,
    must reach the same verdict on it."""
    spec = admission_corpus.pod_spec(variant)
    for rule in ADMISSION_RULES:
        if rule.scope != "workloads":
            continue
        pack = judge(rule.pack_rule, type_token, wrap(spec))
        assert pack.advisory is None, f"{rule.pack_rule} could not decide on '{variant}': {pack.describe()}"
        cel = denials(policy_manifest(rule), created(spec))
        assert bool(pack.violations) == bool(cel), (
            f"{rule.pack_rule} on '{variant}': pack on {type_token} {pack.describe()}, admission denies {cel}"
        )
