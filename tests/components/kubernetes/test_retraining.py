"""The example retraining pipeline: valid for Argo v4.0.6, digest-pinned, restricted, queued, in the right order."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from typing import Any

import pulumi
import pytest

from components.kubernetes import _charts
from components.kubernetes.training import _argo, _kueue
from components.kubernetes.training.namespace import KUBE_API_ACCESS_LABEL, training_network_policies
from components.kubernetes.training.retraining import (
    DIGEST_PINNED,
    STEPS,
    RetrainingPipeline,
    retraining_pipeline,
)
from stacks.deployability import pod_security_violations
from tests.components.kubernetes import argo_crds
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed

DIGEST = "@sha256:" + "ab" * 32
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
NAMESPACE = "fraud-train"
RESTRICTED = dict(_argo.RESTRICTED_CONTAINER_SECURITY_CONTEXT)


def small_jobset() -> dict[str, Any]:
    """Two workers of a distributed PyTorch job, as `torch_jobset` would make it (restricted, /dev/shm in memory)."""
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"name": "fraud", "labels": {"app.kubernetes.io/name": "fraud"}},
        "spec": {
            "replicatedJobs": [
                {
                    "name": "workers",
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "parallelism": 2,
                            "completions": 2,
                            "backoffLimit": 0,
                            "template": {
                                "spec": {
                                    "restartPolicy": "Never",
                                    "serviceAccountName": "trainer",
                                    "securityContext": {
                                        "runAsNonRoot": True,
                                        "runAsUser": 1000,
                                        "seccompProfile": {"type": "RuntimeDefault"},
                                    },
                                    "containers": [
                                        {
                                            "name": "trainer",
                                            "image": f"{ECR}/fraud-train:1{DIGEST}",
                                            "command": ["torchrun", "train.py"],
                                            "env": [{"name": "MLPLATFORM_MODEL_URI", "value": "stale"}],
                                            "resources": {"limits": {"nvidia.com/gpu": "1"}},
                                            "securityContext": dict(RESTRICTED),
                                        }
                                    ],
                                    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
                                }
                            },
                        }
                    },
                }
            ]
        },
    }


def pipeline_args(cloud: str = "aws", **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": "retrain-fraud",
        "namespace": NAMESPACE,
        "team": "fraud",
        "queue_name": "fraud",
        "jobset": small_jobset(),
        "artifact_store_uri": "s3://acme-artifacts",
        "dataset_uri": "s3://acme-datasets/datasets/fraud/transactions/2026-11/",
        "prepare_image": f"{ECR}/fraud-prepare:1{DIGEST}",
        "prepare_command": ["python", "-m", "prepare"],
        "evaluate_image": f"{ECR}/fraud-evaluate:1{DIGEST}",
        "evaluate_command": ["python", "-m", "evaluate"],
        "model_name": "fraud",
        "mlflow_tracking_uri": "http://mlflow.mlflow.svc.cluster.local:5000",
        "mlflow_credentials_secret": "mlflow-basic-auth",
        "server_base_image": f"{ECR}/model-server:2026.11{DIGEST}",
        "target_repository": f"{ECR}/models",
        "schedule": "0 3 * * 1",
        "min_metric": "0.92",
    }
    if cloud == "azure":
        args.update(
            artifact_store_uri="wasbs://artifacts@acmeml.blob.core.windows.net",
            dataset_uri="wasbs://datasets@acmeml.blob.core.windows.net/datasets/fraud/transactions/",
            server_base_image=f"acmeml.azurecr.io/model-server:2026.11{DIGEST}",
            target_repository="acmeml.azurecr.io/models",
            pod_labels={"azure.workload.identity/use": "true"},
        )
    args.update(overrides)
    return args


def build(cloud: str = "aws", **overrides: Any) -> RetrainingPipeline:
    return retraining_pipeline(**pipeline_args(cloud, **overrides))


def templates(pipeline: RetrainingPipeline) -> dict[str, dict[str, Any]]:
    return {template["name"]: template for template in pipeline.workflow_template["spec"]["templates"]}


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


# --- (a) Argo's schema -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_template_and_its_schedule_validate_against_argo_s_v4_crds(cloud: str) -> None:
    pipeline = build(cloud)
    assert argo_crds.violations(pipeline.workflow_template) == [], "the WorkflowTemplate breaks the v4.0.6 CRD"
    assert argo_crds.violations(pipeline.cron_workflow) == [], "the CronWorkflow breaks the v4.0.6 CRD"
    assert argo_crds.lint(pipeline.workflow_template["spec"]) == [], "a template or task reference does not resolve"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.cron_workflow["spec"].update(schedule="0 3 * * 1"), "schedule"),
        (lambda p: p.cron_workflow["spec"].pop("schedules"), "'schedules' is a required property"),
        (lambda p: p.cron_workflow["spec"].update(concurrencyPolicy="Skip"), "Skip"),
        (lambda p: p.cron_workflow["spec"].update(schedules=["every monday"]), "every monday"),
        (lambda p: templates(p)["train"]["resource"].update(action="run"), "run"),
        (lambda p: templates(p)["train"]["resource"].update(manifestFrom={"artifact": {"name": "m"}}), "only one"),
        (lambda p: templates(p)["build-image"]["inputs"]["artifacts"][0].update(azure={"blob": "x"}), "at most one"),
        (lambda p: templates(p)["evaluate"]["container"].update(imagePullSecret="x"), "imagePullSecret"),
        (lambda p: p.workflow_template["spec"]["podGC"].update(strategy="Always"), "Always"),
        (lambda p: templates(p)["retrain"]["dag"]["tasks"][1].update(dependencies=["prepare-data"]), "both"),
    ],
    ids=["v3-schedule", "no-schedules", "policy-enum", "cron-pattern", "action-enum", "manifest-twice",
         "two-locations", "unknown-field", "podgc-enum", "depends-and-dependencies"],
)  # fmt: skip
def test_the_transcribed_schema_refuses_what_argo_s_crds_refuse(mutate, expected: str) -> None:
    pipeline = build()
    mutate(pipeline)
    found = argo_crds.violations(pipeline.cron_workflow) + argo_crds.violations(pipeline.workflow_template)
    assert any(expected in item for item in found), f"the v4.0.6 CRD refuses this; our transcription found {found}"


def test_an_azure_model_artifact_names_its_container_and_endpoint_as_the_crd_requires() -> None:
    (artifact,) = templates(build("azure"))["build-image"]["inputs"]["artifacts"]
    assert artifact["azure"] == {
        "endpoint": "https://acmeml.blob.core.windows.net",
        "container": "artifacts",
        "blob": "artifacts/fraud/argo/{{workflow.name}}/model",
        "useSDKCreds": True,
    }
    broken = copy.deepcopy(build("azure").workflow_template)
    del broken["spec"]["templates"][6]["inputs"]["artifacts"][0]["azure"]["endpoint"]
    assert any("endpoint" in item for item in argo_crds.violations(broken))


# --- (b) Images -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_every_image_the_pipeline_runs_is_pinned_by_digest(cloud: str) -> None:
    pipeline = build(cloud)
    images = argo_crds.images_of(pipeline.workflow_template) + argo_crds.images_of(pipeline.cron_workflow)
    assert len(images) >= 7, images
    for image in images:
        assert re.fullmatch(r".+@sha256:[0-9a-f]{64}", image), f"{image} is not pinned by digest"
    crane_env = {item["name"]: item["value"] for item in templates(pipeline)["build-image"]["container"]["env"]}
    assert DIGEST_PINNED.fullmatch(crane_env["BASE_IMAGE"]), "the serving image's base is an image too: by digest"
    for image in _charts.PIPELINE_IMAGES:
        assert DIGEST_PINNED.fullmatch(image), f"_charts pins {image} by digest"


@pytest.mark.parametrize(
    ("field", "image"),
    [
        ("prepareImage", f"{ECR}/fraud-prepare:1"),
        ("evaluateImage", "python:3.12"),
        ("serverBaseImage", f"{ECR}/model-server:latest"),
        ("images.crane", "gcr.io/go-containerregistry/crane:debug"),
        ("images.mlflow", "ghcr.io/mlflow/mlflow@sha256:short"),
    ],
)
def test_an_image_without_a_digest_is_refused_naming_its_field(field: str, image: str) -> None:
    overrides = (
        {"images": {field.split(".")[1]: image}}
        if field.startswith("images.")
        else {re.sub(r"[A-Z]", lambda m: f"_{m.group(0).lower()}", field): image}
    )
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(**overrides)
    assert "not pinned by digest" in errors_of(raised)[field]


def test_a_training_image_without_a_digest_is_refused_too() -> None:
    jobset = small_jobset()
    jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["image"] = "torch:2"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(jobset=jobset)
    path = "jobset.spec.replicatedJobs[0].template.spec.template.spec.containers[0].image"
    assert "not pinned by digest" in errors_of(raised)[path]


# --- (c) Pod Security restricted for every step pod ----------------------------------------------------------------


def _step_pod(pipeline: RetrainingPipeline, template: dict[str, Any]) -> dict[str, Any]:
    """The pod Argo's controller makes for a step: the workflow's pod security context; Argo's `init` and `wait`
    containers with the controller's executor context; the user's init containers; the main container (a resource
    step's main container is argoexec, with the executor's context too)."""
    spec = pipeline.workflow_template["spec"]
    executor = _argo.argo_values(workflow_namespaces=[NAMESPACE], service_account="trainer")["executor"]
    main = template.get("container") or template.get("script") or {"securityContext": executor["securityContext"]}
    return {
        "securityContext": spec["securityContext"],
        "initContainers": [
            {"name": "init", "securityContext": executor["securityContext"]},
            *template.get("initContainers", []),
        ],
        "containers": [{"name": "wait", "securityContext": executor["securityContext"]}, {"name": "main", **main}],
        "volumes": [*spec.get("volumes", []), *template.get("volumes", [])],
    }


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_every_step_pod_is_admitted_by_pod_security_restricted(cloud: str) -> None:
    pipeline = build(cloud)
    steps = [t for t in pipeline.workflow_template["spec"]["templates"] if "dag" not in t]
    assert {t["name"] for t in steps} == {*STEPS, "delete-jobset"}
    for template in steps:
        violations, unset = pod_security_violations(_step_pod(pipeline, template), "restricted")
        assert violations == [] and unset == [], f"{template['name']}: {violations} {unset}"
        for container in [template.get("container"), template.get("script"), *template.get("initContainers", [])]:
            if container:
                assert container["securityContext"]["readOnlyRootFilesystem"] is True, template["name"]
                assert container["resources"]["limits"]["memory"], "the namespace's quota counts limits"
    assert pipeline.workflow_template["spec"]["securityContext"]["runAsUser"] == _argo.ARGO_UID


def test_the_training_job_s_pods_are_admitted_too() -> None:
    manifest = json.loads(templates(build())["train"]["resource"]["manifest"])
    pod = manifest["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod_security_violations(pod, "restricted") == ([], []), "the JobSet runs in the same restricted namespace"


# --- (d) The DAG, the train step and the gate --------------------------------------------------------------------------


def test_the_steps_run_prepare_train_evaluate_register_build_in_that_order() -> None:
    pipeline = build()
    spec = pipeline.workflow_template["spec"]
    assert spec["entrypoint"] == "retrain" and spec["onExit"] == "cleanup"
    tasks = {task["name"]: task for task in templates(pipeline)["retrain"]["dag"]["tasks"]}
    order: list[str] = []
    remaining = dict(tasks)
    while remaining:
        ready = [name for name, task in remaining.items() if task.get("depends") in (None, *order)]
        assert len(ready) == 1, f"the DAG must be a chain, ready at once: {ready}"
        order.append(ready[0])
        del remaining[ready[0]]
    assert order == ["prepare-data", "train", "evaluate", "quality-gate", "register", "build-image"]
    assert [step for step in order if step != "quality-gate"] == [
        "prepare-data",
        "train",
        "evaluate",
        "register",
        "build-image",
    ]


def test_the_train_step_creates_a_queued_jobset_and_waits_for_its_terminal_state() -> None:
    train = templates(build())["train"]
    resource = train["resource"]
    assert resource["action"] == "create" and resource["setOwnerReference"] is True
    jobset = json.loads(resource["manifest"])
    assert jobset["apiVersion"] == "jobset.x-k8s.io/v1alpha2" and jobset["kind"] == "JobSet"
    assert jobset["metadata"]["labels"][_kueue.QUEUE_LABEL] == "fraud", "Kueue admits it through the team's queue"
    assert jobset["metadata"]["name"] == "{{workflow.name}}", "one JobSet per run, deleted by name on failure"
    env = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"]: e["value"] for e in env} == {
        "MLPLATFORM_DATA_URI": "s3://acme-artifacts/artifacts/fraud/argo/{{workflow.name}}/data",
        "MLPLATFORM_MODEL_URI": "s3://acme-artifacts/artifacts/fraud/argo/{{workflow.name}}/model",
    }, "the run's prefix replaces whatever the JobSet carried"
    assert train["activeDeadlineSeconds"] == 12 * 3600


def _condition_holds(condition: str, obj: dict[str, Any]) -> bool:
    """Argo's resource conditions: a label selector (`key == value`, comma = and) whose keys are JSON paths."""
    for requirement in condition.split(","):
        key, value = (part.strip() for part in requirement.split("=="))
        current: Any = obj
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if str(current) != value:
            return False
    return True


@pytest.mark.parametrize(
    ("status", "succeeded", "failed"),
    [
        ({}, False, False),
        ({"conditions": [{"type": "Suspended", "status": "True"}]}, False, False),
        ({"terminalState": "Completed", "conditions": [{"type": "Completed", "status": "True"}]}, True, False),
        ({"terminalState": "Failed", "conditions": [{"type": "Failed", "status": "True"}]}, False, True),
    ],
    ids=["created", "queued", "completed", "failed"],
)
def test_the_train_step_succeeds_on_completed_and_fails_on_failed(status, succeeded: bool, failed: bool) -> None:
    resource = templates(build())["train"]["resource"]
    jobset = {"status": status}
    assert _condition_holds(resource["successCondition"], jobset) is succeeded
    assert _condition_holds(resource["failureCondition"], jobset) is failed
    for condition in (resource["successCondition"], resource["failureCondition"]):
        key = condition.split("==")[0].strip()
        assert re.fullmatch(r"([a-z0-9A-Z]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)", key), "a valid label key for labels.Parse"


def test_a_failed_or_stopped_run_deletes_its_jobset_so_no_gpu_stays_held() -> None:
    found = templates(build())
    (task,) = found["cleanup"]["dag"]["tasks"]
    assert task["when"] == "{{workflow.status}} != Succeeded"
    delete = found["delete-jobset"]["resource"]
    assert delete["action"] == "delete"
    assert json.loads(delete["manifest"])["metadata"]["name"] == "{{workflow.name}}"


def _run_gate(metric: str, threshold: str) -> subprocess.CompletedProcess[str]:
    gate = templates(build())["quality-gate"]["script"]
    env = {item["name"]: item["value"] for item in gate["env"]}
    env.update(METRIC=metric, MIN_METRIC=threshold)
    return subprocess.run([sys.executable, "-c", gate["source"]], env=env, capture_output=True, text=True, check=False)


def test_the_quality_gate_fails_the_workflow_below_the_threshold_and_passes_at_or_above() -> None:
    below = _run_gate("0.91", "0.92")
    assert below.returncode == 1 and "below the threshold 0.92" in below.stderr
    assert _run_gate("0.92", "0.92").returncode == 0
    assert _run_gate("0.97", "0.92").returncode == 0
    gate = templates(build())["quality-gate"]["script"]
    assert "{{" not in gate["source"], "values reach the script as environment, never spliced into its source"


def test_register_uses_the_mlflow_secret_and_an_alias_and_outputs_the_version() -> None:
    register = templates(build())["register"]
    env = {item["name"]: item for item in register["script"]["env"]}
    assert env["MLFLOW_TRACKING_URI"]["value"] == "http://mlflow.mlflow.svc.cluster.local:5000"
    assert env["MLFLOW_TRACKING_USERNAME"]["valueFrom"] == {
        "secretKeyRef": {"name": "mlflow-basic-auth", "key": "username"}
    }
    assert env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "password"
    assert env["MODEL_ALIAS"]["value"] == "{{workflow.parameters.model-alias}}"
    assert "set_registered_model_alias" in register["script"]["source"]
    compile(register["script"]["source"], "register.py", "exec")
    assert register["metadata"]["labels"] == {_argo.MLFLOW_CLIENT_LABEL: "true"}, "the label MLflow egress selects"


@pytest.mark.parametrize(
    ("cloud", "login", "user"),
    [
        ("aws", 'aws ecr get-login-password --region "eu-west-1" > /auth/token', "AWS"),
        ("azure", 'az acr login --name "acmeml" --expose-token', "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_the_image_is_built_without_a_daemon_or_root_and_its_digest_is_the_workflow_output(
    cloud: str, login: str, user: str
) -> None:
    pipeline = build(cloud)
    build_step = templates(pipeline)["build-image"]
    (login_container,) = build_step["initContainers"]
    assert login in login_container["command"][-1], "a registry token from the pod's cloud identity"
    assert build_step["volumes"] == [{"name": "registry-auth", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]
    crane = build_step["container"]
    env = {item["name"]: item["value"] for item in crane["env"]}
    assert env["REGISTRY_USER"] == user and env["DOCKER_CONFIG"].startswith("/auth/"), "credentials stay in memory"
    assert env["TAG"] == "fraud-v{{inputs.parameters.version}}", "the tag names the registered version"
    script = crane["command"][-1]
    assert 'crane append --base "$BASE_IMAGE" --new_layer /tmp/layer.tar --new_tag "$REPOSITORY:$TAG"' in script
    assert 'crane digest "$REPOSITORY:$TAG"' in script and "docker" not in script.replace("DOCKER_CONFIG", "")
    (output,) = build_step["outputs"]["parameters"]
    assert output["globalName"] == "image", "the pushed repo@sha256 digest is the workflow's output `image`"
    (dag_output,) = templates(pipeline)["retrain"]["outputs"]["parameters"]
    assert dag_output["valueFrom"]["parameter"] == "{{tasks.build-image.outputs.parameters.image}}"


# --- (e) Network: what each step reaches --------------------------------------------------------------------------


def test_step_pods_reach_the_api_server_storage_and_mlflow_as_they_need_and_nothing_else() -> None:
    pipeline = build()
    spec = pipeline.workflow_template["spec"]
    pod_labels = dict(spec["podMetadata"]["labels"])
    assert pod_labels[KUBE_API_ACCESS_LABEL] == "true"
    policies = [
        Policy(NAMESPACE, s)
        for s in training_network_policies(
            monitoring_namespace="monitoring", storage_egress_cidrs=["10.20.0.0/16"]
        ).values()
    ]
    policies.append(Policy(NAMESPACE, _argo.mlflow_egress_policy(mlflow_namespace="mlflow", mlflow_port=5000)))
    found = templates(pipeline)
    mlflow = Pod("mlflow", {"app.kubernetes.io/name": "mlflow"})
    api_server, storage, internet = Endpoint("172.20.0.1"), Endpoint("10.20.4.5"), Endpoint("203.0.113.9")
    for name in STEPS:
        pod = Pod(NAMESPACE, {**pod_labels, **found[name].get("metadata", {}).get("labels", {})})
        assert allowed(policies, pod, api_server, 443), f"{name}: the wait container reports through the API"
        assert allowed(policies, pod, storage, 443), f"{name}: artifacts, datasets and the registry on 443"
        # The API server has no selector: its ports are open to any address for labelled pods (TrainingNamespace
        # documents it), so 443 anywhere is reachable; every other port outside the namespace is not.
        assert not allowed(policies, pod, internet, 80), f"{name}: no plain HTTP out"
        assert not allowed(policies, pod, internet, 22), f"{name}: nothing but the API and HTTPS ports"
        assert not allowed(policies, pod, storage, 80), f"{name}: HTTPS only"
        assert allowed(policies, pod, mlflow, 5000) is (name == "register"), f"{name}: MLflow for register only"
        assert not allowed(policies, pod, Pod("serving", {}), 8080), f"{name}: no other namespace"


# --- (f) Schedule and validation -------------------------------------------------------------------------------------


def test_the_cron_workflow_runs_the_template_on_schedule_never_twice_at_once() -> None:
    pipeline = build(schedule="30 2 * * *", timezone="Europe/Berlin")
    spec = pipeline.cron_workflow["spec"]
    assert spec["schedules"] == ["30 2 * * *"] and spec["timezone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid", "a retraining still running is never doubled"
    assert spec["workflowSpec"] == {"workflowTemplateRef": {"name": "retrain-fraud"}}
    assert pipeline.submit_command == "argo submit -n fraud-train --from workflowtemplate/retrain-fraud"


def test_bad_arguments_are_reported_together_with_their_camel_case_names() -> None:
    jobset = small_jobset()
    jobset["metadata"]["labels"][_kueue.QUEUE_LABEL] = "someone-else"
    jobset["metadata"]["namespace"] = "other"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(
            name="retrain-the-fraud-model-every-week",
            jobset=jobset,
            dataset_uri="s3://acme-datasets/datasets/other-team/x/",
            target_repository="docker.io/acme/models",
            schedule="weekly",
            min_metric="good",
            model_alias="latest",
            prepare_command="python -m prepare",
            mlflow_tracking_uri="mlflow:5000",
            images={"kaniko": f"gcr.io/kaniko-project/executor{DIGEST}"},
        )
    errors = errors_of(raised)
    assert set(errors) >= {
        "name",
        f"jobset.metadata.labels.{_kueue.QUEUE_LABEL}",
        "jobset.metadata.namespace",
        "datasetUri",
        "targetRepository",
        "schedule",
        "minMetric",
        "modelAlias",
        "prepareCommand",
        "mlflowTrackingUri",
        "images.kaniko",
    }, errors
    assert "datasets/fraud/" in errors["datasetUri"], "a team reads only its own datasets prefix"


def test_stores_and_registries_of_different_clouds_are_refused() -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(target_repository="acmeml.azurecr.io/models")
    assert "same cloud" in errors_of(raised)["artifactStoreUri"]
