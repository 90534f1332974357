"""Our own compact schema of the JobSet `jobset.x-k8s.io/v1alpha2` fields the platform writes, and the checks of
JobSet's validating webhook that bear on them.

JobSet's CRD is not available offline in CI, so this transcribes, in our words, the structural facts of
`charts/jobset/crds/jobset.x-k8s.io_jobsets.yaml` at kubernetes-sigs/jobset tag v0.12.0 for the fields we set:
required fields (`replicatedJobs[].name` and `.template`, `template.spec.template`, `successPolicy.operator`,
`failurePolicy.rules[].name/action`), types and int32 formats, enums (`successPolicy.operator` All|Any,
`failurePolicy.restartStrategy` Recreate|BlockingRecreate|InPlaceRestart, rule actions, `startupPolicyOrder`),
`ttlSecondsAfterFinished` minimum 0, and `additionalProperties: false` where the structural schema knows every field
(the API server prunes unknown ones, which would silently drop a misspelt setting). The Job template inside each
ReplicatedJob is a `batch/v1` JobTemplateSpec: `job_template_violations` validates it as a Job with
kubernetes-validate against the Kubernetes OpenAPI schema. `violations` adds the webhook's checks
(pkg/webhooks/jobset_webhook.go `ValidateCreate` at v0.12.0): child Job and pod names are DNS-1035 labels of at most
63 characters (`<jobset>-<rjob>-<jobIndex>-<podIndex>` plus a 5-character suffix), the subdomain is one too, and
success and failure policies only name existing ReplicatedJobs.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import kubernetes_validate

KUBERNETES_VERSION = "1.34.0"
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

_RULE = {
    "type": "object",
    "required": ["action", "name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "action": {
            "enum": [
                "FailJobSet",
                "RestartJobSet",
                "RestartJobSetAndIgnoreMaxRestarts",
                "RestartJob",
                "RestartJobAndIgnoreMaxRestarts",
            ]
        },
        "onJobFailureReasons": {"type": "array", "items": {"type": "string"}},
        "onJobFailureMessagePatterns": {"type": "array", "items": {"type": "string"}},
        "targetReplicatedJobs": {"type": "array", "items": {"type": "string"}},
    },
}

_REPLICATED_JOB = {
    "type": "object",
    "required": ["name", "template"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "groupName": {"type": "string"},
        "replicas": _INT32,
        "dependsOn": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "required": ["name", "status"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "status": {"enum": ["Ready", "Complete"]}},
            },
        },
        # A batch/v1 JobTemplateSpec: its structure is checked by kubernetes-validate (job_template_violations).
        "template": {
            "type": "object",
            "required": ["spec"],
            "additionalProperties": False,
            "properties": {
                "metadata": {"type": "object"},
                "spec": {"type": "object", "required": ["template"]},
            },
        },
    },
}

JOBSET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "jobset.x-k8s.io/v1alpha2"},
        "kind": {"const": "JobSet"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _STRING_MAP},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "replicatedJobs": {"type": "array", "items": _REPLICATED_JOB},
                "network": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enableDNSHostnames": {"type": "boolean"},
                        "subdomain": {"type": "string"},
                        "publishNotReadyAddresses": {"type": "boolean"},
                    },
                },
                "successPolicy": {
                    "type": "object",
                    "required": ["operator"],
                    "additionalProperties": False,
                    "properties": {
                        "operator": {"enum": ["All", "Any"]},
                        "targetReplicatedJobs": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "failurePolicy": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "maxRestarts": _INT32,
                        "restartStrategy": {"enum": ["Recreate", "BlockingRecreate", "InPlaceRestart"]},
                        "rules": {"type": "array", "items": _RULE},
                    },
                },
                "startupPolicy": {
                    "type": "object",
                    "required": ["startupPolicyOrder"],
                    "additionalProperties": False,
                    "properties": {"startupPolicyOrder": {"enum": ["AnyOrder", "InOrder"]}},
                },
                "suspend": {"type": "boolean"},
                "ttlSecondsAfterFinished": {**_INT32, "minimum": 0},
                "managedBy": {"type": "string"},
                "coordinator": {
                    "type": "object",
                    "required": ["replicatedJob"],
                    "additionalProperties": False,
                    "properties": {
                        "replicatedJob": {"type": "string"},
                        "jobIndex": {"type": "integer"},
                        "podIndex": {"type": "integer"},
                    },
                },
                "volumeClaimPolicies": {"type": "array", "maxItems": 50},
            },
        },
    },
}


def job_template_violations(manifest: dict[str, Any]) -> list[str]:
    """kubernetes-validate's findings for each ReplicatedJob's template, validated as a `batch/v1` Job."""
    found: list[str] = []
    for rjob in (manifest.get("spec") or {}).get("replicatedJobs") or []:
        template = rjob.get("template") or {}
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{manifest['metadata']['name']}-{rjob.get('name')}-0",
                **template.get("metadata", {}),
            },
            "spec": template.get("spec") or {},
        }
        try:
            kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            found.append(f"replicatedJobs[{rjob.get('name')}].template: {error.message}")
    return found


def _webhook(manifest: dict[str, Any]) -> list[str]:
    """JobSet's validating webhook (v0.12.0) on the fields we set."""
    spec = manifest.get("spec") or {}
    name = str((manifest.get("metadata") or {}).get("name", ""))
    found: list[str] = []
    names = [rjob.get("name") for rjob in spec.get("replicatedJobs") or []]
    if len(names) != len(set(names)):
        found.append("replicatedJobs: names must be unique (a list map keyed by name)")
    subdomain = (spec.get("network") or {}).get("subdomain")
    if subdomain is not None and (len(subdomain) > 63 or not _DNS1035.match(subdomain)):
        found.append(f"network.subdomain {subdomain!r} must be a DNS-1035 label")
    for rjob in spec.get("replicatedJobs") or []:
        job_spec = (rjob.get("template") or {}).get("spec") or {}
        replicas = int(rjob.get("replicas", 1))
        longest_job = f"{name}-{rjob.get('name')}-{replicas - 1}"
        if len(longest_job) > 63 or not _DNS1035.match(longest_job):
            found.append(f"job name {longest_job} must be a DNS-1035 label of at most 63 characters")
        if job_spec.get("completionMode") == "Indexed" and "completions" in job_spec:
            longest_pod = f"{longest_job}-{int(job_spec['completions']) - 1}-abcde"
            if len(longest_pod) > 63 or not _DNS1035.match(longest_pod):
                found.append(f"pod name {longest_pod} must be a DNS-1035 label of at most 63 characters")
    targets = list((spec.get("successPolicy") or {}).get("targetReplicatedJobs") or [])
    for rule in (spec.get("failurePolicy") or {}).get("rules") or []:
        targets += rule.get("targetReplicatedJobs") or []
    for target in targets:
        if target not in names:
            found.append(f"replicatedJob {target!r} named by a policy does not appear in spec.replicatedJobs")
    return found


def violations(manifest: dict[str, Any]) -> list[str]:
    """Every way the API server (the v0.12.0 CRD schema, the Job schema, JobSet's webhook) would refuse or prune
    `manifest`."""
    validator = jsonschema.Draft202012Validator(JOBSET_SCHEMA)
    found = [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    return found + job_template_violations(manifest) + _webhook(manifest)
