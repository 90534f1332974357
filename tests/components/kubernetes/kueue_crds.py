"""Our own compact schema of the Kueue v1beta2 ResourceFlavor, ClusterQueue and LocalQueue fields the platform uses.

Kueue's CRDs are not available offline in CI, so this is a transcription, in our words, of the structural facts of
the CRDs at kubernetes-sigs/kueue tag v0.19.2 that bear on the fields we set: required fields, types, enums,
patterns, bounds, and `additionalProperties: false` where the structural schema knows every field (the API server
drops unknown fields, or refuses them under strict field validation). What JSON Schema cannot say, the CRDs' CEL
rules (`x-kubernetes-validations`), is checked by `violations` below. Sources (version `v1beta2`, served and stored;
`v1beta1` is deprecated at that tag):

- ResourceFlavor: `config/components/crd/bases/kueue.x-k8s.io_resourceflavors.yaml@v0.19.2` (`spec.nodeLabels`
  maxProperties 8, `spec.nodeTaints`/`spec.tolerations` maxItems 8 with their effect/operator rules,
  `spec.topologyName`).
- ClusterQueue: `config/components/crd/bases/kueue.x-k8s.io_clusterqueues.yaml@v0.19.2` (`spec.cohortName`,
  `namespaceSelector`, `preemption` enums and its rule, `queueingStrategy`, `resourceGroups` (max 16; covered
  resources and flavors 1..64; quotas as int-or-string quantities), `fairSharing.weight`, `stopPolicy`, and the
  spec rule "borrowingLimit must be nil when cohort is empty").
- LocalQueue: `config/components/crd/bases/kueue.x-k8s.io_localqueues.yaml@v0.19.2` (`spec.clusterQueue`,
  `fairSharing`, `stopPolicy`).
"""

from __future__ import annotations

from typing import Any

import jsonschema

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_INT_OR_QUANTITY = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _QUANTITY}]}
_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_STOP_POLICY = {"enum": ["None", "Hold", "HoldAndDrain"]}
_NAME = {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN}


def _object(api_version: str, kind: str, spec: dict[str, Any], *, namespaced: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"type": "object", "required": ["name"], "properties": {"name": _NAME}}
    if namespaced:
        metadata["required"].append("namespace")
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec,
        },
    }


_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

RESOURCE_FLAVOR_SCHEMA: dict[str, Any] = _object(
    "kueue.x-k8s.io/v1beta2",
    "ResourceFlavor",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "nodeLabels": {"type": "object", "maxProperties": 8, "additionalProperties": {"type": "string"}},
            "nodeTaints": {
                "type": "array",
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "required": ["effect", "key"],
                    "additionalProperties": False,
                    "properties": {
                        "effect": {"enum": _EFFECTS},
                        "key": {"type": "string"},
                        "timeAdded": {"type": "string"},
                        "value": {"type": "string"},
                    },
                },
            },
            "tolerations": {
                "type": "array",
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "effect": {"enum": _EFFECTS},
                        "key": {"type": "string"},
                        "operator": {"enum": ["Equal", "Exists"]},
                        "tolerationSeconds": {"type": "integer"},
                        "value": {"type": "string"},
                    },
                },
            },
            "topologyName": _NAME,
        },
    },
)

_QUOTA = {
    "type": "object",
    "required": ["name", "nominalQuota"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "nominalQuota": _INT_OR_QUANTITY,
        "borrowingLimit": _INT_OR_QUANTITY,
        "lendingLimit": _INT_OR_QUANTITY,
    },
}

CLUSTER_QUEUE_SCHEMA: dict[str, Any] = _object(
    "kueue.x-k8s.io/v1beta2",
    "ClusterQueue",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "admissionChecksStrategy": {"type": "object"},
            "admissionScope": {"type": "object"},
            "cohortName": _NAME,
            "concurrentAdmissionPolicy": {"type": "object"},
            "fairSharing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"weight": _INT_OR_QUANTITY},
            },
            "flavorFungibility": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "preference": {"enum": ["BorrowingOverPreemption", "PreemptionOverBorrowing"]},
                    "whenCanBorrow": {"enum": ["MayStopSearch", "TryNextFlavor"]},
                    "whenCanPreempt": {"enum": ["MayStopSearch", "TryNextFlavor"]},
                },
            },
            "namespaceSelector": _LABEL_SELECTOR,
            "preemption": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "borrowWithinCohort": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "maxPriorityThreshold": {"type": "integer"},
                            "policy": {"enum": ["Never", "LowerPriority"]},
                        },
                    },
                    "reclaimWithinCohort": {"enum": ["Never", "LowerPriority", "Any"]},
                    "withinClusterQueue": {"enum": ["Never", "LowerPriority", "LowerOrNewerEqualPriority"]},
                },
            },
            "queueingStrategy": {"enum": ["StrictFIFO", "BestEffortFIFO"]},
            "resourceGroups": {
                "type": "array",
                "maxItems": 16,
                "items": {
                    "type": "object",
                    "required": ["coveredResources", "flavors"],
                    "additionalProperties": False,
                    "properties": {
                        "coveredResources": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 64,
                            "items": {"type": "string"},
                        },
                        "flavors": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 64,
                            "items": {
                                "type": "object",
                                "required": ["name", "resources"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": _NAME,
                                    "resources": {"type": "array", "minItems": 1, "maxItems": 64, "items": _QUOTA},
                                },
                            },
                        },
                    },
                },
            },
            "stopPolicy": _STOP_POLICY,
        },
    },
)

LOCAL_QUEUE_SCHEMA: dict[str, Any] = _object(
    "kueue.x-k8s.io/v1beta2",
    "LocalQueue",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "clusterQueue": _NAME,
            "fairSharing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"weight": _INT_OR_QUANTITY},
            },
            "stopPolicy": _STOP_POLICY,
        },
    },
    namespaced=True,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "ResourceFlavor": RESOURCE_FLAVOR_SCHEMA,
    "ClusterQueue": CLUSTER_QUEUE_SCHEMA,
    "LocalQueue": LOCAL_QUEUE_SCHEMA,
}


def _cel(manifest: dict[str, Any]) -> list[str]:
    """The CRDs' CEL rules on the fields we set (their messages, as the API server reports them)."""
    spec = manifest.get("spec") or {}
    found: list[str] = []
    if manifest.get("kind") == "ResourceFlavor":
        for toleration in spec.get("tolerations") or []:
            operator = toleration.get("operator")
            if "key" not in toleration and operator != "Exists":
                found.append("operator must be Exists when 'key' is empty")
            if "tolerationSeconds" in toleration and toleration.get("effect") != "NoExecute":
                found.append("effect must be 'NoExecute' when 'tolerationSeconds' is set")
            if operator == "Exists" and "value" in toleration:
                found.append("a value must be empty when 'operator' is 'Exists'")
        if "topologyName" in spec and len(spec.get("nodeLabels") or {}) < 1:
            found.append("at least one nodeLabel is required when topology is set")
    if manifest.get("kind") == "ClusterQueue":
        for group in spec.get("resourceGroups") or []:
            covered = len(group.get("coveredResources") or [])
            if any(len(flavor.get("resources") or []) != covered for flavor in group.get("flavors") or []):
                found.append("flavors must have the same number of resources as the coveredResources")
        if "cohortName" not in spec:
            quotas = [q for g in spec.get("resourceGroups") or [] for f in g["flavors"] for q in f["resources"]]
            if any("borrowingLimit" in quota for quota in quotas):
                found.append("borrowingLimit must be nil when cohort is empty")
        preemption = spec.get("preemption") or {}
        borrow = (preemption.get("borrowWithinCohort") or {}).get("policy", "Never")
        if preemption.get("reclaimWithinCohort", "Never") == "Never" and borrow != "Never":
            found.append("reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never")
        fungibility = spec.get("flavorFungibility") or {}
        if "preference" in fungibility and not (
            fungibility.get("whenCanBorrow", "MayStopSearch") == "TryNextFlavor"
            and fungibility.get("whenCanPreempt", "TryNextFlavor") == "TryNextFlavor"
        ):
            found.append("preference can only be set when both whenCanBorrow and whenCanPreempt are TryNextFlavor")
    return found


def violations(manifest: dict[str, Any]) -> list[str]:
    """Every way the API server (CRD schema and CEL rules at v0.19.2) would refuse or prune `manifest`."""
    schema = SCHEMAS.get(str(manifest.get("kind")))
    if schema is None:
        return [f"no transcribed schema for kind {manifest.get('kind')!r}"]
    validator = jsonschema.Draft202012Validator(schema)
    found = [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    return found + _cel(manifest)
