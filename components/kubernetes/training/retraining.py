"""The example retraining pipeline: an Argo `WorkflowTemplate` (prepare data, train a queued JobSet, evaluate, gate,
register in MLflow, build the serving image by digest) and the `CronWorkflow` that runs it on a schedule.

Pure functions: they return manifests (plain dicts) for a program to apply (`examples/retraining`), and refuse bad
input, an image without a digest above all, before anything is created. Argo v4.0.6 field names throughout (the
tests validate them against a transcription of the CRDs at that tag).
"""

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components._common.validation import Problems, dns1123_label_problem
from components.kubernetes import _charts
from components.kubernetes._checks import check_object_name
from components.kubernetes.training import _argo, _kueue
from components.kubernetes.training.namespace import DEFAULT_SERVICE_ACCOUNT_NAME, KUBE_API_ACCESS_LABEL

API_VERSION = "argoproj.io/v1alpha1"
JOBSET_API_VERSION = "jobset.x-k8s.io/v1alpha2"

DIGEST_PINNED = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$"
)
"""`registry/repository[:tag]@sha256:<64 hex>`: the only image references the pipeline accepts."""
_ECR = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-[a-z]+)+-[0-9])\.amazonaws\.com/(?P<path>.+)$"
)
_ACR = re.compile(r"^(?P<registry>[a-z0-9]{5,50})\.azurecr\.io/(?P<path>.+)$")
_REPOSITORY_PATH = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
_STORE_URI = re.compile(
    r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|wasbs://[a-z0-9-]{3,63}@[a-z0-9]{3,24}\.blob\.core\.windows\.net)$"
)
_CRON = re.compile(
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every\s+([0-9]+(ns|us|µs|ms|s|m|h))+|([A-Za-z0-9*,/?-]+\s+){4}[A-Za-z0-9*,/?-]+)$"
)
"""The CronWorkflow CRD's pattern for each of `spec.schedules` (v4.0.6)."""

MAX_NAME_LENGTH = 30
"""The template's name, and so the CronWorkflow's: each run is `<name>-<10-digit time>` (cron) or `<name>-<5
characters>` (submit), and the JobSet takes the run's name; JobSet then names Jobs `<jobset>-<replicatedJob>-<index>`
and pods after them, which must stay DNS labels (63)."""
MAX_JOB_NAME = 63

DEFAULT_SCHEDULE = "0 3 * * 1"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_METRIC = "auc"
DEFAULT_MIN_METRIC = "0.8"
DEFAULT_MODEL_ALIAS = "candidate"
DEFAULT_TRAIN_TIMEOUT_SECONDS = 12 * 3600
DEFAULT_MLFLOW_SECRET_KEYS = ("username", "password")
ECR_USERNAME = "AWS"
"""The user name of an ECR authorization token (`aws ecr get-login-password`: "AWS" with the token as password)."""
ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"
"""The user name ACR expects with an access token from `az acr login --expose-token` (Microsoft Learn, Container
Registry authentication, "az acr login with --expose-token")."""

SCRATCH = "scratch"
"""The emptyDir every step writes to (`/tmp`): root filesystems are read-only."""
AUTH = "registry-auth"
"""The memory-backed emptyDir that carries the registry token from the login container to crane, never to disk."""

STEPS = ("prepare-data", "train", "evaluate", "quality-gate", "register", "build-image")
"""The DAG's tasks, each depending on the one before."""


@dataclass(frozen=True)
class RetrainingPipeline:
    """The manifests of a retraining pipeline, and how to run it by hand."""

    workflow_template: dict[str, Any]
    """The WorkflowTemplate (argoproj.io/v1alpha1)."""
    cron_workflow: dict[str, Any]
    """The CronWorkflow that submits it on the schedule."""
    submit_command: str
    """Run it now: `argo submit -n <namespace> --from workflowtemplate/<name>` (add `-p min-metric=...` to override
    a parameter); `argo submit --from cronwf/<name>` runs the scheduled variant once."""


def _check_image(problems: Problems, path: str, image: object) -> None:
    if not isinstance(image, str) or not DIGEST_PINNED.fullmatch(image):
        problems.add(
            path,
            f"{image!r} is not pinned by digest: use repository[:tag]@sha256:<64 hex> (`crane digest <image>` prints it)",
        )


def _check_name(problems: Problems, path: str, value: object, *, maximum: int = 63) -> None:
    check_object_name(problems, path, value)
    if isinstance(value, str) and not dns1123_label_problem(value) and len(value) > maximum:
        problems.add(path, f"must be at most {maximum} characters (got {len(value)})")


def _registry(problems: Problems, repository: object) -> tuple[str, str, str]:
    """(cloud, registry host, region or registry name) of the target repository, recording problems."""
    if isinstance(repository, str):
        ecr = _ECR.fullmatch(repository)
        if ecr and _REPOSITORY_PATH.fullmatch(ecr["path"]):
            return "aws", repository.split("/", 1)[0], ecr["region"]
        acr = _ACR.fullmatch(repository)
        if acr and _REPOSITORY_PATH.fullmatch(acr["path"]):
            return "azure", repository.split("/", 1)[0], acr["registry"]
    problems.add(
        "targetRepository",
        f"{repository!r} is neither an ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>) nor an ACR "
        "one (<registry>.azurecr.io/<name>), without tag or digest",
    )
    return "", "", ""


def _check_jobset(problems: Problems, jobset: object, *, namespace: object, queue_name: object) -> None:
    if not isinstance(jobset, Mapping):
        problems.add("jobset", "required: a JobSet manifest (jobset.x-k8s.io/v1alpha2), e.g. from torch_jobset(...)")
        return
    if jobset.get("apiVersion") != JOBSET_API_VERSION or jobset.get("kind") != "JobSet":
        problems.add(
            "jobset", f"must be a {JOBSET_API_VERSION} JobSet (got {jobset.get('apiVersion')} {jobset.get('kind')})"
        )
    metadata = jobset.get("metadata") or {}
    if metadata.get("namespace") not in (None, namespace):
        problems.add("jobset.metadata.namespace", f"must be the pipeline's namespace {namespace!r} or unset")
    label = (metadata.get("labels") or {}).get(_kueue.QUEUE_LABEL)
    if label not in (None, queue_name):
        problems.add(
            f"jobset.metadata.labels.{_kueue.QUEUE_LABEL}", f"names queue {label!r}, not the pipeline's {queue_name!r}"
        )
    replicated = (jobset.get("spec") or {}).get("replicatedJobs")
    if not isinstance(replicated, list) or not replicated:
        problems.add("jobset.spec.replicatedJobs", "required: at least one replicated job")
        return
    for index, job in enumerate(replicated):
        path = f"jobset.spec.replicatedJobs[{index}]"
        containers = (
            (((job.get("template") or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
            if isinstance(job, Mapping)
            else None
        )
        if not isinstance(job, Mapping) or not isinstance(job.get("name"), str) or not containers:
            problems.add(path, "must have a `name` and a Job template with containers")
            continue
        replicas = job.get("replicas", 1)
        # `<run>-<replicatedJob>-<index>`: the run name is at most MAX_NAME_LENGTH + 11 characters.
        longest = MAX_NAME_LENGTH + 11 + 1 + len(job["name"]) + 1 + len(str(max(int(replicas) - 1, 0)))
        if longest > MAX_JOB_NAME:
            problems.add(f"{path}.name", f"too long: its Jobs would be named with up to {longest} characters (max 63)")
        for c_index, container in enumerate(containers):
            _check_image(
                problems, f"{path}.template.spec.template.spec.containers[{c_index}].image", container.get("image")
            )


def _restricted(container: dict[str, Any]) -> dict[str, Any]:
    container["securityContext"] = dict(_argo.RESTRICTED_CONTAINER_SECURITY_CONTEXT)
    return container


def _scratch_mount() -> dict[str, str]:
    return {"name": SCRATCH, "mountPath": "/tmp"}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _train_jobset(jobset: Mapping[str, Any], *, queue_name: str, data_uri: str, model_uri: str) -> dict[str, Any]:
    """The JobSet the train step creates: named after the run, in the run's namespace, queued, told where its data
    is and where to write the model (`MLPLATFORM_DATA_URI`, `MLPLATFORM_MODEL_URI` in every container)."""
    manifest = copy.deepcopy(dict(jobset))
    metadata = dict(manifest.get("metadata") or {})
    metadata.pop("generateName", None)
    metadata["name"] = "{{workflow.name}}"
    metadata["namespace"] = "{{workflow.namespace}}"
    metadata["labels"] = {**(metadata.get("labels") or {}), _kueue.QUEUE_LABEL: queue_name}
    manifest["metadata"] = metadata
    for job in manifest["spec"]["replicatedJobs"]:
        for container in job["template"]["spec"]["template"]["spec"]["containers"]:
            env = [
                item
                for item in container.get("env") or []
                if item.get("name") not in ("MLPLATFORM_DATA_URI", "MLPLATFORM_MODEL_URI")
            ]
            env += [
                {"name": "MLPLATFORM_DATA_URI", "value": data_uri},
                {"name": "MLPLATFORM_MODEL_URI", "value": model_uri},
            ]
            container["env"] = env
    return manifest


_GATE_SOURCE = """\
import os
import sys

metric = float(os.environ["METRIC"])
threshold = float(os.environ["MIN_METRIC"])
name = os.environ["METRIC_NAME"]
if metric < threshold:
    print(f"{name} {metric} is below the threshold {threshold}: the model is not registered", file=sys.stderr)
    sys.exit(1)
print(f"{name} {metric} >= {threshold}")
"""

_REGISTER_SOURCE = """\
import os

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

client = MlflowClient()
name = os.environ["MODEL_NAME"]
try:
    client.create_registered_model(name)
except MlflowException as error:
    if error.error_code != "RESOURCE_ALREADY_EXISTS":
        raise
version = client.create_model_version(
    name=name,
    source=os.environ["MODEL_SOURCE"],
    tags={"workflow": os.environ["WORKFLOW"], os.environ["METRIC_NAME"]: os.environ["METRIC"]},
    description=f"Trained by Argo workflow {os.environ['WORKFLOW']}",
)
client.set_registered_model_alias(name, os.environ["MODEL_ALIAS"], version.version)
with open("/tmp/outputs/version", "w") as out:
    out.write(str(version.version))
print(f"registered {name} version {version.version} as @{os.environ['MODEL_ALIAS']}")
"""

_BUILD_SCRIPT = """\
set -eu
crane auth login "$REGISTRY" -u "$REGISTRY_USER" --password-stdin < /auth/token
rm -f /auth/token
mkdir -p /tmp/layer/models /tmp/outputs
cp -r /tmp/model "/tmp/layer/models/$MODEL_NAME"
tar -cf /tmp/layer.tar -C /tmp/layer models
crane append --base "$BASE_IMAGE" --new_layer /tmp/layer.tar --new_tag "$REPOSITORY:$TAG"
digest="$(crane digest "$REPOSITORY:$TAG")"
printf '%s@%s' "$REPOSITORY" "$digest" > /tmp/outputs/image
echo "pushed $REPOSITORY@$digest"
"""
"""Rootless and daemonless: `crane` pulls the base image's manifest, appends the model as one layer (files under
/models/<model>), pushes the result and prints its digest. Its registry credentials come from the login container
through a memory-backed volume and are removed once crane has stored them in its own config ($DOCKER_CONFIG, also in
memory)."""


def _login_container(cloud: str, region_or_registry: str, image: str) -> dict[str, Any]:
    """The init container that turns the pod's cloud identity into a registry token in /auth/token."""
    if cloud == "aws":
        # IRSA: the AWS CLI reads the projected web identity token (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE).
        script = f'aws ecr get-login-password --region "{region_or_registry}" > /auth/token'
    else:
        # Entra workload identity: the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE.
        script = (
            'az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" '
            '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions > /dev/null && '
            f'az acr login --name "{region_or_registry}" --expose-token --output tsv --query accessToken > /auth/token'
        )
    return _restricted(
        {
            "name": "registry-login",
            "image": image,
            "command": ["/bin/sh", "-c", f"set -eu; {script}"],
            "env": [{"name": "HOME", "value": "/tmp"}],
            "resources": _resources("100m", "256Mi", "1", "512Mi"),
            "volumeMounts": [_scratch_mount(), {"name": AUTH, "mountPath": "/auth"}],
        }
    )


def retraining_pipeline(
    *,
    name: str,
    namespace: str,
    team: str,
    queue_name: str,
    jobset: Mapping[str, Any],
    artifact_store_uri: str,
    dataset_uri: str,
    prepare_image: str,
    prepare_command: Sequence[str],
    evaluate_image: str,
    evaluate_command: Sequence[str],
    model_name: str,
    mlflow_tracking_uri: str,
    mlflow_credentials_secret: str,
    server_base_image: str,
    target_repository: str,
    schedule: str = DEFAULT_SCHEDULE,
    timezone: str = DEFAULT_TIMEZONE,
    metric: str = DEFAULT_METRIC,
    min_metric: str = DEFAULT_MIN_METRIC,
    model_alias: str = DEFAULT_MODEL_ALIAS,
    service_account: str = DEFAULT_SERVICE_ACCOUNT_NAME,
    pod_labels: Mapping[str, str] | None = None,
    train_timeout_seconds: int = DEFAULT_TRAIN_TIMEOUT_SECONDS,
    mlflow_secret_keys: Sequence[str] = DEFAULT_MLFLOW_SECRET_KEYS,
    images: Mapping[str, str] | None = None,
) -> RetrainingPipeline:
    """Build the retraining pipeline of one model in one training namespace.

    The DAG: `prepare-data` (the team's image reads `dataset_uri`, under `datasets/<team>/`, and writes the run's
    data) → `train` (creates `jobset` named after the run, queued in `queue_name`, and waits for its
    `status.terminalState`: `Completed` succeeds, `Failed` fails; JobSet v1alpha2) → `evaluate` (the team's image
    writes the metric) → `quality-gate` (fails the workflow when the metric is below `min-metric`) → `register` (a
    model version in MLflow from the run's model, with alias `model-alias`) → `build-image` (appends the model to
    `server_base_image` as a layer with crane, pushes `<target_repository>:<model>-v<version>` and outputs
    `<target_repository>@sha256:...` as the workflow's `image` output). A failed or stopped run deletes its JobSet
    (exit handler), so GPUs are never held by an abandoned job.

    Every run keeps its files under `<artifact_store_uri>/artifacts/<team>/argo/<run>/` (`data/`, `model/`): the
    prefix the training identity may write and `Pipelines` configures as the namespace's artifact repository. The
    team's images get `--input/--output` (prepare) and `--model/--data/--metric/--output` (evaluate) arguments;
    training containers get `MLPLATFORM_DATA_URI` and `MLPLATFORM_MODEL_URI`.

    Args:
        name: the WorkflowTemplate's and CronWorkflow's name (a DNS label of at most 30 characters).
        namespace: the training namespace.
        team: the team's segment of the store prefixes (`datasets/<team>`, `artifacts/<team>`).
        queue_name: the namespace's Kueue LocalQueue (`GpuQueues.local_queues[namespace]`).
        jobset: the distributed training job (jobset.x-k8s.io/v1alpha2), e.g. from `torch_jobset(...)`.
        artifact_store_uri: `s3://<bucket>` or `wasbs://<container>@<account>.blob.core.windows.net`.
        dataset_uri: the input data, under `<artifact store scheme>://.../datasets/<team>/`.
        prepare_image: the team's data preparation image, by digest.
        prepare_command: its command (e.g. `["python", "-m", "prepare"]`). Given, not looked up: the emissary
            executor otherwise asks the registry for the image's entrypoint from the controller, which has no
            credentials for the team's private registry (docs/workflow-executors.md, "Container Command").
        evaluate_image: the team's evaluation image, by digest.
        evaluate_command: its command.
        model_name: the registered model's name in MLflow (and the image tag's prefix).
        mlflow_tracking_uri: the tracking server, e.g. `http://mlflow.mlflow.svc.cluster.local:5000`.
        mlflow_credentials_secret: the Secret (in `namespace`) with the basic-auth user name and password.
        server_base_image: the model server image the model is appended to, by digest (in the target registry or
            public: crane reads it with the target registry's credentials or anonymously).
        target_repository: where the serving image goes (ECR or ACR repository, no tag).
        schedule: cron schedule of retraining (CronWorkflow `spec.schedules`).
        timezone: IANA time zone of the schedule.
        metric: the metric the gate reads.
        min_metric: the gate's threshold (a workflow parameter, overridable per run).
        model_alias: the MLflow alias the new version gets.
        service_account: the ServiceAccount step pods run as (its identity reads datasets, writes artifacts, pushes
            to the registry).
        pod_labels: labels every step pod carries for the cloud identity (`TrainingNamespace.pod_labels`).
        train_timeout_seconds: how long the train step waits for the JobSet.
        mlflow_secret_keys: the keys of the user name and password in the Secret.
        images: overrides of the pipeline's own images by role (`crane`, `aws-cli`, `azure-cli`, `mlflow`), by digest.

    Raises:
        pulumi.InputPropertiesError: listing every bad argument by its camelCase name.
    """
    chosen = {
        "crane": _charts.CRANE_IMAGE,
        "aws-cli": _charts.AWS_CLI_IMAGE,
        "azure-cli": _charts.AZURE_CLI_IMAGE,
        "mlflow": _charts.MLFLOW_CLIENT_IMAGE,
    }
    problems = Problems()
    for role, image in (images or {}).items():
        if role not in chosen:
            problems.add(f"images.{role}", f"unknown image role; known: {', '.join(sorted(chosen))}")
        else:
            _check_image(problems, f"images.{role}", image)
            chosen[role] = image
    _check_name(problems, "name", name, maximum=MAX_NAME_LENGTH)
    _check_name(problems, "namespace", namespace)
    _check_name(problems, "team", team)
    _check_name(problems, "queueName", queue_name)
    _check_name(problems, "mlflowCredentialsSecret", mlflow_credentials_secret, maximum=253)
    _check_name(problems, "serviceAccount", service_account)
    _check_jobset(problems, jobset, namespace=namespace, queue_name=queue_name)
    for path, command in (("prepareCommand", prepare_command), ("evaluateCommand", evaluate_command)):
        if (
            isinstance(command, str)
            or not isinstance(command, Sequence)
            or not command
            or not all(isinstance(part, str) and part for part in command)
        ):
            problems.add(path, "must be a non-empty list of strings, e.g. [python, -m, prepare]")
    for path, image in (
        ("prepareImage", prepare_image),
        ("evaluateImage", evaluate_image),
        ("serverBaseImage", server_base_image),
    ):
        _check_image(problems, path, image)
    cloud, registry, region_or_registry = _registry(problems, target_repository)
    if not isinstance(artifact_store_uri, str) or not _STORE_URI.fullmatch(artifact_store_uri):
        problems.add(
            "artifactStoreUri",
            f"{artifact_store_uri!r} must be s3://<bucket> or wasbs://<container>@<account>.blob.core.windows.net",
        )
    elif cloud and artifact_store_uri.startswith("s3://") != (cloud == "aws"):
        problems.add("artifactStoreUri", f"must be in the same cloud as targetRepository ({cloud})")
    if isinstance(artifact_store_uri, str) and isinstance(team, str):
        expected = f"{artifact_store_uri.split('://', 1)[0]}://"
        if not (
            isinstance(dataset_uri, str) and dataset_uri.startswith(expected) and f"/datasets/{team}/" in dataset_uri
        ):
            problems.add("datasetUri", f"must be a {expected}... URI under the team's datasets/{team}/ prefix")
    if not isinstance(model_name, str) or not re.fullmatch(r"[a-z0-9]([a-z0-9._-]{0,98}[a-z0-9])?", model_name):
        problems.add("modelName", "must be lower-case letters, digits, '.', '_' or '-' (it prefixes the image tag)")
    if not isinstance(mlflow_tracking_uri, str) or not re.fullmatch(
        r"https?://[a-z0-9.-]+(:[0-9]{1,5})?(/.*)?", mlflow_tracking_uri
    ):
        problems.add("mlflowTrackingUri", "must be an http(s) URL such as http://mlflow.mlflow.svc.cluster.local:5000")
    if not isinstance(schedule, str) or not _CRON.fullmatch(schedule):
        problems.add("schedule", f"{schedule!r} is not a cron schedule such as '0 3 * * 1' (Mondays 03:00)")
    if not isinstance(timezone, str) or not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+)*", timezone):
        problems.add("timezone", "must be an IANA time zone such as UTC or Europe/Berlin")
    if not isinstance(metric, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", metric):
        problems.add("metric", "must be a metric name of letters, digits, '_', '.' or '-'")
    try:
        float(min_metric)
    except (TypeError, ValueError):
        problems.add("minMetric", f"{min_metric!r} is not a number")
    if (
        not isinstance(model_alias, str)
        or not re.fullmatch(r"[a-z0-9_-]{1,64}", model_alias)
        or re.fullmatch(r"v\d+", model_alias)
        or model_alias == "latest"
    ):
        problems.add(
            "modelAlias", "must be letters, digits, '_' or '-', and not 'latest' or v<number> (MLflow reserves them)"
        )
    if (
        isinstance(train_timeout_seconds, bool)
        or not isinstance(train_timeout_seconds, int)
        or not 60 <= train_timeout_seconds <= _argo.DEFAULT_ACTIVE_DEADLINE_SECONDS
    ):
        problems.add(
            "trainTimeoutSeconds",
            f"must be whole seconds from 60 to {_argo.DEFAULT_ACTIVE_DEADLINE_SECONDS} (the workflow's deadline)",
        )
    if not (
        isinstance(mlflow_secret_keys, Sequence)
        and len(mlflow_secret_keys) == 2
        and all(isinstance(k, str) and k for k in mlflow_secret_keys)
    ):
        problems.add("mlflowSecretKeys", "must be the two keys [user name, password] of the Secret")
    if pod_labels is not None and not (
        isinstance(pod_labels, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in pod_labels.items())
    ):
        problems.add("podLabels", "must be a map of label keys to string values")
    problems.raise_if_any(f"retraining pipeline '{name}'")

    run_key = f"{_argo.artifact_prefix(team)}/{{{{workflow.name}}}}"
    run_uri = f"{artifact_store_uri}/{run_key}"
    data_uri, model_uri = f"{run_uri}/data", f"{run_uri}/model"
    model_key = f"{run_key}/model"

    volumes = [{"name": SCRATCH, "emptyDir": {}}]
    parameters = [
        {"name": "dataset-uri", "value": dataset_uri, "description": f"Input data, under datasets/{team}/"},
        {
            "name": "min-metric",
            "value": str(min_metric),
            "description": f"The least {metric} a model is registered with",
        },
        {"name": "model-alias", "value": model_alias, "description": "The MLflow alias the new version gets"},
    ]

    prepare = {
        "name": "prepare-data",
        "container": _restricted(
            {
                "image": prepare_image,
                "command": list(prepare_command),
                "args": ["--input", "{{workflow.parameters.dataset-uri}}", "--output", data_uri],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "resources": _resources("1", "2Gi", "2", "4Gi"),
                "volumeMounts": [_scratch_mount()],
            }
        ),
    }
    train_manifest = _train_jobset(jobset, queue_name=queue_name, data_uri=data_uri, model_uri=model_uri)
    train = {
        "name": "train",
        "activeDeadlineSeconds": train_timeout_seconds,
        "resource": {
            "action": "create",
            # The Workflow owns the JobSet: deleting the workflow (its TTL) deletes the job.
            "setOwnerReference": True,
            "successCondition": "status.terminalState == Completed",
            "failureCondition": "status.terminalState == Failed",
            "manifest": json.dumps(train_manifest, indent=2),
        },
    }
    evaluate = {
        "name": "evaluate",
        "container": _restricted(
            {
                "image": evaluate_image,
                "command": list(evaluate_command),
                "args": [
                    "--model",
                    model_uri,
                    "--data",
                    data_uri,
                    "--metric",
                    metric,
                    "--output",
                    "/tmp/outputs/metric",
                ],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "resources": _resources("1", "2Gi", "2", "4Gi"),
                "volumeMounts": [_scratch_mount()],
            }
        ),
        "outputs": {"parameters": [{"name": "metric", "valueFrom": {"path": "/tmp/outputs/metric"}}]},
    }
    python_env = [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    gate = {
        "name": "quality-gate",
        "inputs": {"parameters": [{"name": "metric"}]},
        "script": _restricted(
            {
                "image": chosen["mlflow"],
                "command": ["python"],
                "source": _GATE_SOURCE,
                # Values reach the script as environment, never spliced into its source.
                "env": [
                    *python_env,
                    {"name": "METRIC", "value": "{{inputs.parameters.metric}}"},
                    {"name": "MIN_METRIC", "value": "{{workflow.parameters.min-metric}}"},
                    {"name": "METRIC_NAME", "value": metric},
                ],
                "resources": _resources("100m", "256Mi", "500m", "512Mi"),
                "volumeMounts": [_scratch_mount()],
            }
        ),
    }
    user_key, password_key = mlflow_secret_keys
    register = {
        "name": "register",
        "inputs": {"parameters": [{"name": "metric"}]},
        # The training namespace's policy lets only labelled pods reach the MLflow server.
        "metadata": {"labels": {_argo.MLFLOW_CLIENT_LABEL: "true"}},
        "script": _restricted(
            {
                "image": chosen["mlflow"],
                "command": ["python"],
                "source": _REGISTER_SOURCE,
                "env": [
                    *python_env,
                    {"name": "MLFLOW_TRACKING_URI", "value": mlflow_tracking_uri},
                    {
                        "name": "MLFLOW_TRACKING_USERNAME",
                        "valueFrom": {"secretKeyRef": {"name": mlflow_credentials_secret, "key": user_key}},
                    },
                    {
                        "name": "MLFLOW_TRACKING_PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": mlflow_credentials_secret, "key": password_key}},
                    },
                    {"name": "MODEL_NAME", "value": model_name},
                    {"name": "MODEL_SOURCE", "value": model_uri},
                    {"name": "MODEL_ALIAS", "value": "{{workflow.parameters.model-alias}}"},
                    {"name": "METRIC_NAME", "value": metric},
                    {"name": "METRIC", "value": "{{inputs.parameters.metric}}"},
                    {"name": "WORKFLOW", "value": "{{workflow.name}}"},
                ],
                "resources": _resources("100m", "256Mi", "1", "1Gi"),
                "volumeMounts": [_scratch_mount()],
            }
        ),
        "outputs": {"parameters": [{"name": "version", "valueFrom": {"path": "/tmp/outputs/version"}}]},
    }
    if cloud == "aws":
        # Key only: bucket, endpoint and credentials come from the namespace's artifact repository.
        location: dict[str, Any] = {"s3": {"key": model_key}}
    else:
        # The CRD requires an Azure artifact's blob, container and endpoint; credentials: workload identity.
        container, account = artifact_store_uri.removeprefix("wasbs://").split("@", 1)
        location = {
            "azure": {
                "endpoint": f"https://{account}",
                "container": container,
                "blob": model_key,
                "useSDKCreds": True,
            }
        }
    build = {
        "name": "build-image",
        "inputs": {
            "parameters": [{"name": "version"}],
            # Downloaded by Argo's init container with the pod's identity from the namespace's artifact repository.
            "artifacts": [{"name": "model", "path": "/tmp/model", **location}],
        },
        "volumes": [{"name": AUTH, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
        "initContainers": [
            _login_container(cloud, region_or_registry, chosen["aws-cli" if cloud == "aws" else "azure-cli"])
        ],
        "container": _restricted(
            {
                "image": chosen["crane"],
                "command": ["/busybox/sh", "-c", _BUILD_SCRIPT],
                "env": [
                    {"name": "HOME", "value": "/tmp"},
                    {"name": "DOCKER_CONFIG", "value": "/auth/docker"},
                    {"name": "REGISTRY", "value": registry},
                    {"name": "REGISTRY_USER", "value": ECR_USERNAME if cloud == "aws" else ACR_TOKEN_USERNAME},
                    {"name": "BASE_IMAGE", "value": server_base_image},
                    {"name": "REPOSITORY", "value": target_repository},
                    {"name": "TAG", "value": f"{model_name}-v{{{{inputs.parameters.version}}}}"},
                    {"name": "MODEL_NAME", "value": model_name},
                ],
                "resources": _resources("500m", "1Gi", "2", "4Gi"),
                "volumeMounts": [_scratch_mount(), {"name": AUTH, "mountPath": "/auth"}],
            }
        ),
        "outputs": {
            "parameters": [{"name": "image", "globalName": "image", "valueFrom": {"path": "/tmp/outputs/image"}}]
        },
    }
    dag = {
        "name": "retrain",
        "dag": {
            "tasks": [
                {"name": "prepare-data", "template": "prepare-data"},
                {"name": "train", "template": "train", "depends": "prepare-data"},
                {"name": "evaluate", "template": "evaluate", "depends": "train"},
                {
                    "name": "quality-gate",
                    "template": "quality-gate",
                    "depends": "evaluate",
                    "arguments": {
                        "parameters": [{"name": "metric", "value": "{{tasks.evaluate.outputs.parameters.metric}}"}]
                    },
                },
                {
                    "name": "register",
                    "template": "register",
                    "depends": "quality-gate",
                    "arguments": {
                        "parameters": [{"name": "metric", "value": "{{tasks.evaluate.outputs.parameters.metric}}"}]
                    },
                },
                {
                    "name": "build-image",
                    "template": "build-image",
                    "depends": "register",
                    "arguments": {
                        "parameters": [{"name": "version", "value": "{{tasks.register.outputs.parameters.version}}"}]
                    },
                },
            ]
        },
        "outputs": {
            "parameters": [
                {"name": "image", "valueFrom": {"parameter": "{{tasks.build-image.outputs.parameters.image}}"}}
            ]
        },
    }
    cleanup = {
        "name": "cleanup",
        "dag": {
            "tasks": [
                {"name": "delete-jobset", "template": "delete-jobset", "when": "{{workflow.status}} != Succeeded"}
            ]
        },
    }
    delete_jobset = {
        "name": "delete-jobset",
        "resource": {
            "action": "delete",
            "manifest": json.dumps(
                {
                    "apiVersion": JOBSET_API_VERSION,
                    "kind": "JobSet",
                    "metadata": {"name": "{{workflow.name}}", "namespace": "{{workflow.namespace}}"},
                }
            ),
        },
    }
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "retraining"}
    spec = {
        "entrypoint": "retrain",
        "onExit": "cleanup",
        "serviceAccountName": service_account,
        # The training ServiceAccount mounts no token; the executor's `wait` container needs one (see _argo).
        "podSpecPatch": json.dumps({"automountServiceAccountToken": True}),
        "podMetadata": {"labels": {**dict(pod_labels or {}), KUBE_API_ACCESS_LABEL: "true"}},
        "securityContext": dict(_argo.RESTRICTED_POD_SECURITY_CONTEXT),
        "activeDeadlineSeconds": _argo.DEFAULT_ACTIVE_DEADLINE_SECONDS,
        "podGC": {"strategy": "OnWorkflowSuccess"},
        "ttlStrategy": {"secondsAfterCompletion": _argo.DEFAULT_TTL_SECONDS},
        "arguments": {"parameters": parameters},
        "volumes": volumes,
        "templates": [dag, prepare, train, evaluate, gate, register, build, cleanup, delete_jobset],
    }
    template = {
        "apiVersion": API_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }
    cron = {
        "apiVersion": API_VERSION,
        "kind": "CronWorkflow",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "schedules": [schedule],
            "timezone": timezone,
            # A retraining still running when the next one is due: the new one is skipped, never run alongside.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "workflowMetadata": {"labels": dict(labels)},
            "workflowSpec": {"workflowTemplateRef": {"name": name}},
        },
    }
    return RetrainingPipeline(
        workflow_template=template,
        cron_workflow=cron,
        submit_command=f"argo submit -n {namespace} --from workflowtemplate/{name}",
    )
