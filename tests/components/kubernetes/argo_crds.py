"""Our own compact schema of the Argo Workflows v1alpha1 WorkflowTemplate and CronWorkflow fields the platform uses.

The platform installs Argo's *minimal* CRDs (they keep unknown fields, see `_argo.argo_values`), so the API server
checks nothing of a workflow's structure; this transcription, in our words, of the *full* CRDs at
argoproj/argo-workflows tag v4.0.6 (`manifests/base/crds/full/argoproj.io_workflowtemplates.yaml` and
`argoproj.io_cronworkflows.yaml`, the same files the chart ships under `files/crds/full/`) is what checks ours.
It states, for the fields we set: types, enums, patterns, bounds, required fields, and `additionalProperties: false`
where the structural schema lists every field (an unknown field would be pruned, i.e. silently lost). Fields we do
not set are listed by name only (any value). The CRDs' CEL rules (`x-kubernetes-validations`) are checked in
`violations`; `lint` checks what Argo's own validation (`argo lint`, workflow/validate) adds: references resolve.

Facts transcribed (v4.0.6):
- WorkflowTemplate: `metadata` and `spec` required; `spec` = WorkflowSpec, no required field.
- Template: `name` pattern `^[a-zA-Z0-9][-a-zA-Z0-9]*$`, max 128; `dag.tasks` 1..200 items each requiring `name`;
  `resource.action` required, enum get/create/apply/delete/replace/patch; `resource.mergeStrategy` enum
  strategic/merge/json; `inputs.parameters` at most 500; parameters and artifacts require `name`; an Azure artifact
  requires `blob`, `container` and `endpoint`; `retryStrategy.retryPolicy` enum; `podGC.strategy` enum
  ''/OnPodCompletion/OnPodSuccess/OnWorkflowCompletion/OnWorkflowSuccess; `activeDeadlineSeconds` int64 at the
  spec, int-or-string on a template; `ttlStrategy.*` int32.
- CEL: a resource has at most one of `manifest`/`manifestFrom`; a DAG task has not both `depends` and
  `dependencies`, no `continueOn` with `depends`, and a name not starting with a digit when it has either; an
  artifact has at most one location.
- CronWorkflow: `metadata` and `spec` required; `spec.schedules` (required, at least one, each matching the cron
  pattern below) and `spec.workflowSpec` required (the singular `schedule` of v3 no longer exists); `concurrencyPolicy`
  enum Allow/Forbid/Replace; `startingDeadlineSeconds` >= 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jsonschema

_ANY: dict[str, Any] = {}
_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_QUANTITY = {
    "anyOf": [
        {"type": "integer"},
        {
            "type": "string",
            "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
        },
    ]
}
_INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
_STRINGS = {"type": "array", "items": _STRING}
_STRING_MAP = {"type": "object", "additionalProperties": _STRING}
CRON_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every\s+([0-9]+(ns|us|µs|ms|s|m|h))+"
    r"|([A-Za-z0-9*,/?-]+\s+){4}[A-Za-z0-9*,/?-]+)$"
)


def _closed(properties: dict[str, Any], required: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def _named(*names: str, **typed: Any) -> dict[str, Any]:
    """Properties: every field name the CRD lists, typed where we transcribed the type, any value otherwise."""
    return {**dict.fromkeys(names, _ANY), **typed}


_SELECTOR_KEY = _closed({"name": _STRING, "key": _STRING, "optional": _BOOL}, ["key"])
_ENV_VAR = _closed(
    {
        "name": _STRING,
        "value": _STRING,
        "valueFrom": _closed(
            _named(
                "fieldRef", "fileKeyRef", "resourceFieldRef", secretKeyRef=_SELECTOR_KEY, configMapKeyRef=_SELECTOR_KEY
            )
        ),
    },
    ["name"],
)
_CAPABILITIES = _closed({"add": _STRINGS, "drop": _STRINGS})
_SECCOMP = _closed({"type": _STRING, "localhostProfile": _STRING}, ["type"])
_CONTAINER_SECURITY_CONTEXT = _closed(
    _named(
        "appArmorProfile",
        "procMount",
        "seLinuxOptions",
        "windowsOptions",
        allowPrivilegeEscalation=_BOOL,
        capabilities=_CAPABILITIES,
        privileged=_BOOL,
        readOnlyRootFilesystem=_BOOL,
        runAsGroup=_INT,
        runAsNonRoot=_BOOL,
        runAsUser=_INT,
        seccompProfile=_SECCOMP,
    )
)
POD_SECURITY_CONTEXT = _closed(
    _named(
        "appArmorProfile",
        "fsGroupChangePolicy",
        "seLinuxChangePolicy",
        "seLinuxOptions",
        "supplementalGroups",
        "supplementalGroupsPolicy",
        "sysctls",
        "windowsOptions",
        fsGroup=_INT,
        runAsGroup=_INT,
        runAsNonRoot=_BOOL,
        runAsUser=_INT,
        seccompProfile=_SECCOMP,
    )
)
_RESOURCES = _closed(
    {
        "claims": {"type": "array"},
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
    }
)
_VOLUME_MOUNT = _closed(
    _named(
        "mountPropagation",
        "recursiveReadOnly",
        "subPathExpr",
        mountPath=_STRING,
        name=_STRING,
        readOnly=_BOOL,
        subPath=_STRING,
    ),
    ["mountPath", "name"],
)
_CONTAINER_FIELDS = _named(
    "envFrom",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resizePolicy",
    "restartPolicy",
    "startupProbe",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "workingDir",
    name=_STRING,
    image=_STRING,
    imagePullPolicy=_STRING,
    command=_STRINGS,
    args=_STRINGS,
    env={"type": "array", "items": _ENV_VAR},
    resources=_RESOURCES,
    securityContext=_CONTAINER_SECURITY_CONTEXT,
    volumeMounts={"type": "array", "items": _VOLUME_MOUNT},
)
_CONTAINER = _closed(_CONTAINER_FIELDS)
"""A template's `container`: a Kubernetes Container in which, unlike in a pod, `name` is not required."""
_SCRIPT = _closed({**_CONTAINER_FIELDS, "source": _STRING})
_INIT_CONTAINER = _closed({**_CONTAINER_FIELDS, "mirrorVolumeMounts": _BOOL}, ["name"])

_VALUE_FROM = _closed(
    _named(
        "configMapKeyRef",
        "supplied",
        default=_STRING,
        event=_STRING,
        expression=_STRING,
        jqFilter=_STRING,
        jsonPath=_STRING,
        parameter=_STRING,
        path=_STRING,
    )
)
_PARAMETER = _closed(
    {
        "name": _STRING,
        "value": _STRING,
        "default": _STRING,
        "description": _STRING,
        "enum": _STRINGS,
        "globalName": _STRING,
        "valueFrom": _VALUE_FROM,
    },
    ["name"],
)
_S3_ARTIFACT = _closed(
    _named(
        "accessKeySecret",
        "caSecret",
        "createBucketIfNotPresent",
        "encryptionOptions",
        "insecure",
        "roleARN",
        "secretKeySecret",
        "sessionTokenSecret",
        bucket=_STRING,
        endpoint=_STRING,
        key=_STRING,
        region=_STRING,
        useSDKCreds=_BOOL,
    )
)
_AZURE_ARTIFACT = _closed(
    _named("accountKeySecret", blob=_STRING, container=_STRING, endpoint=_STRING, useSDKCreds=_BOOL),
    ["blob", "container", "endpoint"],
)
ARTIFACT_LOCATIONS = ("s3", "git", "http", "artifactory", "hdfs", "raw", "oss", "gcs", "azure", "plugin")
_ARTIFACT = _closed(
    _named(
        *(location for location in ARTIFACT_LOCATIONS if location not in ("s3", "azure")),
        "archive",
        "archiveLogs",
        "artifactGC",
        "deleted",
        "from",
        "fromExpression",
        "globalName",
        "mode",
        "recurseMode",
        "subPath",
        name=_STRING,
        path=_STRING,
        optional=_BOOL,
        s3=_S3_ARTIFACT,
        azure=_AZURE_ARTIFACT,
    ),
    ["name"],
)
_INPUTS = _closed(
    {
        "parameters": {"type": "array", "maxItems": 500, "items": _PARAMETER},
        "artifacts": {"type": "array", "items": _ARTIFACT},
    }
)
_OUTPUTS = _closed(
    {
        "parameters": {"type": "array", "items": _PARAMETER},
        "artifacts": {"type": "array", "items": _ARTIFACT},
        "exitCode": _STRING,
        "result": _STRING,
    }
)
_VOLUME_SOURCES = [
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "configMap",
    "csi",
    "downwardAPI",
    "ephemeral",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "gitRepo",
    "glusterfs",
    "hostPath",
    "image",
    "iscsi",
    "nfs",
    "persistentVolumeClaim",
    "photonPersistentDisk",
    "portworxVolume",
    "projected",
    "quobyte",
    "rbd",
    "scaleIO",
    "secret",
    "storageos",
    "vsphereVolume",
]
_VOLUME = _closed(
    _named(*_VOLUME_SOURCES, name=_STRING, emptyDir=_closed({"medium": _STRING, "sizeLimit": _QUANTITY})),
    ["name"],
)
_RESOURCE_TEMPLATE = _closed(
    {
        "action": {"enum": ["get", "create", "apply", "delete", "replace", "patch"]},
        "failureCondition": _STRING,
        "successCondition": _STRING,
        "flags": _STRINGS,
        "manifest": _STRING,
        "manifestFrom": _closed({"artifact": _ARTIFACT}, ["artifact"]),
        "mergeStrategy": {"enum": ["strategic", "merge", "json"]},
        "setOwnerReference": _BOOL,
    },
    ["action"],
)
_ARGUMENTS = _closed(
    {"parameters": {"type": "array", "items": _PARAMETER}, "artifacts": {"type": "array", "items": _ARTIFACT}}
)
_DAG_TASK = _closed(
    _named(
        "continueOn",
        "dependencies",
        "hooks",
        "inline",
        "onExit",
        "templateRef",
        "withItems",
        "withParam",
        "withSequence",
        name=_STRING,
        template=_STRING,
        depends=_STRING,
        when=_STRING,
        arguments=_ARGUMENTS,
    ),
    ["name"],
)
_DAG = _closed(
    {
        "tasks": {"type": "array", "minItems": 1, "maxItems": 200, "items": _DAG_TASK},
        "failFast": _BOOL,
        "target": _STRING,
    },
    ["tasks"],
)
_METADATA = _closed({"labels": _STRING_MAP, "annotations": _STRING_MAP})
TEMPLATE = _closed(
    _named(
        "affinity",
        "annotations",
        "archiveLocation",
        "automountServiceAccountToken",
        "containerSet",
        "daemon",
        "data",
        "executor",
        "failFast",
        "hostAliases",
        "http",
        "memoize",
        "metrics",
        "nodeSelector",
        "parallelism",
        "plugin",
        "podSpecPatch",
        "priorityClassName",
        "retryStrategy",
        "schedulerName",
        "serviceAccountName",
        "sidecars",
        "steps",
        "suspend",
        "synchronization",
        "timeout",
        "tolerations",
        name={"type": "string", "maxLength": 128, "pattern": r"^[a-zA-Z0-9][-a-zA-Z0-9]*$"},
        container=_CONTAINER,
        script=_SCRIPT,
        resource=_RESOURCE_TEMPLATE,
        dag=_DAG,
        inputs=_INPUTS,
        outputs=_OUTPUTS,
        metadata=_METADATA,
        initContainers={"type": "array", "items": _INIT_CONTAINER},
        volumes={"type": "array", "items": _VOLUME},
        securityContext=POD_SECURITY_CONTEXT,
        activeDeadlineSeconds=_INT_OR_STRING,
    )
)
WORKFLOW_SPEC = _closed(
    _named(
        "affinity",
        "archiveLogs",
        "artifactGC",
        "artifactRepositoryRef",
        "dnsConfig",
        "dnsPolicy",
        "executor",
        "hooks",
        "hostAliases",
        "hostNetwork",
        "imagePullSecrets",
        "metrics",
        "nodeSelector",
        "parallelism",
        "podDisruptionBudget",
        "podPriorityClassName",
        "priority",
        "retryStrategy",
        "schedulerName",
        "shutdown",
        "suspend",
        "synchronization",
        "templateDefaults",
        "tolerations",
        "volumeClaimGC",
        "volumeClaimTemplates",
        "workflowMetadata",
        activeDeadlineSeconds=_INT,
        arguments=_ARGUMENTS,
        automountServiceAccountToken=_BOOL,
        entrypoint=_STRING,
        onExit=_STRING,
        podGC=_closed(
            _named(
                "labelSelector",
                deleteDelayDuration=_STRING,
                strategy={"enum": ["", "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"]},
            )
        ),
        podMetadata=_METADATA,
        podSpecPatch=_STRING,
        securityContext=POD_SECURITY_CONTEXT,
        serviceAccountName=_STRING,
        templates={"type": "array", "items": TEMPLATE},
        ttlStrategy=_closed({"secondsAfterCompletion": _INT, "secondsAfterFailure": _INT, "secondsAfterSuccess": _INT}),
        volumes={"type": "array", "items": _VOLUME},
        workflowTemplateRef=_closed({"name": _STRING, "clusterScope": _BOOL}),
    )
)
_OBJECT_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": _STRING, "namespace": _STRING, "labels": _STRING_MAP, "annotations": _STRING_MAP},
}


def _object(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "argoproj.io/v1alpha1"},
            "kind": {"const": kind},
            "metadata": _OBJECT_METADATA,
            "spec": spec,
        },
    }


WORKFLOW_TEMPLATE_SCHEMA = _object("WorkflowTemplate", WORKFLOW_SPEC)
CRON_WORKFLOW_SCHEMA = _object(
    "CronWorkflow",
    _closed(
        _named(
            "stopStrategy",
            "when",
            concurrencyPolicy={"enum": ["Allow", "Forbid", "Replace"]},
            failedJobsHistoryLimit=_INT,
            schedules={"type": "array", "minItems": 1, "items": {"type": "string", "pattern": CRON_PATTERN}},
            startingDeadlineSeconds={"type": "integer", "minimum": 0},
            successfulJobsHistoryLimit=_INT,
            suspend=_BOOL,
            timezone=_STRING,
            workflowMetadata=_METADATA,
            workflowSpec=WORKFLOW_SPEC,
        ),
        ["schedules", "workflowSpec"],
    ),
)
SCHEMAS: dict[str, dict[str, Any]] = {
    "WorkflowTemplate": WORKFLOW_TEMPLATE_SCHEMA,
    "CronWorkflow": CRON_WORKFLOW_SCHEMA,
}


def _cel_violations(spec: dict[str, Any]) -> list[str]:
    """The CRDs' CEL rules over the templates of a WorkflowSpec."""
    found: list[str] = []
    for template in spec.get("templates") or []:
        name = template.get("name")
        resource = template.get("resource") or {}
        if "manifest" in resource and "manifestFrom" in resource:
            found.append(f"template {name}: only one of manifest or manifestFrom can be specified")
        for task in (template.get("dag") or {}).get("tasks") or []:
            if "depends" in task and "dependencies" in task:
                found.append(f"task {task.get('name')}: cannot use both 'depends' and 'dependencies'")
            if "depends" in task and "continueOn" in task:
                found.append(f"task {task.get('name')}: cannot use 'continueOn' when using 'depends'")
            if ("depends" in task or "dependencies" in task) and str(task.get("name", ""))[:1].isdigit():
                found.append(f"task {task.get('name')}: task name cannot begin with a digit when using 'depends'")
        for section in ("inputs", "outputs"):
            for artifact in (template.get(section) or {}).get("artifacts") or []:
                if sum(location in artifact for location in ARTIFACT_LOCATIONS) > 1:
                    found.append(f"artifact {artifact.get('name')}: at most one artifact location can be specified")
    return found


def violations(manifest: dict[str, Any]) -> list[str]:
    """Every way `manifest` (a WorkflowTemplate or CronWorkflow) breaks the transcribed v4.0.6 schema or CEL rules."""
    schema = SCHEMAS.get(manifest.get("kind", ""))
    if schema is None:
        return [f"no transcribed schema for kind {manifest.get('kind')!r}"]
    validator = jsonschema.Draft202012Validator(schema)
    found = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    spec = manifest.get("spec") or {}
    found += _cel_violations(spec.get("workflowSpec", spec) if manifest.get("kind") == "CronWorkflow" else spec)
    return found


def lint(spec: dict[str, Any]) -> list[str]:
    """What Argo's own validation adds for a self-contained WorkflowSpec: unique template names, entrypoint, onExit
    and every task's template defined, every `depends` naming a task of the same DAG."""
    found: list[str] = []
    names = [template.get("name") for template in spec.get("templates") or []]
    if len(names) != len(set(names)):
        found.append(f"template names are not unique: {names}")
    for key in ("entrypoint", "onExit"):
        if spec.get(key) and spec[key] not in names:
            found.append(f"{key} {spec[key]!r} is not a template")
    for template in spec.get("templates") or []:
        tasks = (template.get("dag") or {}).get("tasks") or []
        task_names = {task["name"] for task in tasks}
        for task in tasks:
            if task.get("template") not in names:
                found.append(f"task {task['name']}: template {task.get('template')!r} is not defined")
            for word in str(task.get("depends", "")).replace("&&", " ").replace("||", " ").replace("!", " ").split():
                dependency = word.strip("()").split(".")[0]
                if dependency and dependency not in task_names:
                    found.append(f"task {task['name']}: depends on unknown task {dependency!r}")
    return found


def images_of(value: Any) -> list[str]:
    """Every `image` in a manifest, those of objects inside a resource step's `manifest` string included."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                found.append(item)
            elif key == "manifest" and isinstance(item, str):
                found += images_of(json.loads(item))
            else:
                found += images_of(item)
    elif isinstance(value, list):
        for item in value:
            found += images_of(item)
    return found
