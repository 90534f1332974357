"""Our own compact schema of the Karpenter NodePool and EC2NodeClass fields the platform uses, for offline checks.

Karpenter's CRDs are not available offline in CI, so this is a transcription, in our words, of the structural facts
of the CRDs at aws/karpenter-provider-aws tag v1.14.1 that bear on the fields we set: required fields, types, enums,
patterns, bounds, and `additionalProperties: false` where the CRD's structural schema knows every field (unknown
fields are dropped by the API server, or refused under strict field validation). What JSON Schema cannot say, the
CRDs' CEL rules (`x-kubernetes-validations`), is checked by the functions below. Sources:

- NodePool: `pkg/apis/crds/karpenter.sh_nodepools.yaml@v1.14.1` (`spec.disruption`, `spec.limits`,
  `spec.template.metadata.labels`, `spec.template.spec.{nodeClassRef,requirements,taints,expireAfter,
  terminationGracePeriod}`, `spec.weight`, and the spec-level rules of static NodePools).
- EC2NodeClass: `pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml@v1.14.1` (`spec.amiSelectorTerms`,
  `blockDeviceMappings`, `metadataOptions`, `role`/`instanceProfile`, `subnetSelectorTerms`,
  `securityGroupSelectorTerms`, `associatePublicIPAddress`, `tags`, and the spec-level rules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jsonschema

_DURATION_OR_NEVER = r"^(([0-9]+(s|m|h))+|Never)$"
_DURATION = r"^([0-9]+(s|m|h))+$"
_QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUALIFIED_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_VOLUME_SIZE = (
    r"^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi|(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|[6][0-3][0-9]{3}"
    r"|64000)G|([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$"
)
_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def _metadata(api_version: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": {"const": api_version},
        "kind": {"const": kind},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN}},
        },
    }


_TAINTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["key", "effect"],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string", "minLength": 1, "pattern": _QUALIFIED_KEY},
            # The CRD gives the value the key's pattern, which refuses "": a valueless taint leaves it out.
            "value": {"type": "string", "pattern": _QUALIFIED_KEY},
            "effect": {"enum": _EFFECTS},
            "timeAdded": {"type": "string"},
        },
    },
}

NODE_POOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        **_metadata("karpenter.sh/v1", "NodePool"),
        "spec": {
            "type": "object",
            "required": ["template"],
            "additionalProperties": False,
            "properties": {
                "disruption": {
                    "type": "object",
                    "required": ["consolidateAfter"],
                    "additionalProperties": False,
                    "properties": {
                        "budgets": {
                            "type": "array",
                            "maxItems": 50,
                            "items": {
                                "type": "object",
                                "required": ["nodes"],
                                "additionalProperties": False,
                                "properties": {
                                    "nodes": {"type": "string", "pattern": r"^((100|[0-9]{1,2})%|[0-9]+)$"},
                                    "reasons": {
                                        "type": "array",
                                        "maxItems": 50,
                                        "uniqueItems": True,
                                        "items": {"enum": ["Underutilized", "Empty", "Drifted"]},
                                    },
                                    "schedule": {
                                        "type": "string",
                                        "pattern": r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))"
                                        r"|((.+)\s(.+)\s(.+)\s(.+)\s(.+))$",
                                    },
                                    "duration": {
                                        "type": "string",
                                        "pattern": r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$",
                                    },
                                },
                            },
                        },
                        "consolidateAfter": {"type": "string", "pattern": _DURATION_OR_NEVER},
                        "consolidationPolicy": {"enum": ["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]},
                    },
                },
                "limits": {
                    "type": "object",
                    "additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _QUANTITY}]},
                },
                "replicas": {"type": "integer", "minimum": 0},
                "template": {
                    "type": "object",
                    "required": ["spec"],
                    "additionalProperties": False,
                    "properties": {
                        "metadata": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "labels": {
                                    "type": "object",
                                    "maxProperties": 100,
                                    "additionalProperties": {
                                        "type": "string",
                                        "maxLength": 63,
                                        "pattern": _LABEL_VALUE,
                                    },
                                },
                                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        },
                        "spec": {
                            "type": "object",
                            "required": ["nodeClassRef", "requirements"],
                            "additionalProperties": False,
                            "properties": {
                                "nodeClassRef": {
                                    "type": "object",
                                    "required": ["group", "kind", "name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "group": {"type": "string", "minLength": 1, "pattern": r"^[^/]*$"},
                                        "kind": {"type": "string", "minLength": 1},
                                        "name": {"type": "string", "minLength": 1},
                                    },
                                },
                                "requirements": {
                                    "type": "array",
                                    "maxItems": 100,
                                    "items": {
                                        "type": "object",
                                        "required": ["key", "operator"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "key": {"type": "string", "maxLength": 316, "pattern": _QUALIFIED_KEY},
                                            "operator": {
                                                "enum": [
                                                    "In",
                                                    "NotIn",
                                                    "Exists",
                                                    "DoesNotExist",
                                                    "Gt",
                                                    "Lt",
                                                    "Gte",
                                                    "Lte",
                                                ]
                                            },
                                            # The CRD states the label-value bounds beside `items`; they are what a
                                            # node label value must meet, so they are checked on each value here.
                                            "values": {
                                                "type": "array",
                                                "items": {"type": "string", "maxLength": 63, "pattern": _LABEL_VALUE},
                                            },
                                            "minValues": {"type": "integer", "minimum": 1, "maximum": 50},
                                        },
                                    },
                                },
                                "taints": _TAINTS,
                                "startupTaints": _TAINTS,
                                "expireAfter": {"type": "string", "pattern": _DURATION_OR_NEVER},
                                "terminationGracePeriod": {"type": "string", "pattern": _DURATION},
                            },
                        },
                    },
                },
                "weight": {"type": "integer", "minimum": 1, "maximum": 100},
            },
        },
    },
}

_TAG_SELECTOR = {"type": "object", "maxProperties": 20, "additionalProperties": {"type": "string"}}

EC2_NODE_CLASS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        **_metadata("karpenter.k8s.aws/v1", "EC2NodeClass"),
        "spec": {
            "type": "object",
            "required": ["amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"],
            "additionalProperties": False,
            "properties": {
                "amiFamily": {
                    "enum": ["AL2", "AL2023", "Bottlerocket", "Custom", "Windows2019", "Windows2022", "Windows2025"]
                },
                "amiSelectorTerms": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 30,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "alias": {"type": "string", "maxLength": 30},
                            "id": {"type": "string", "pattern": r"ami-[0-9a-z]+"},
                            "name": {"type": "string"},
                            "owner": {"type": "string"},
                            "ssmParameter": {"type": "string"},
                            "tags": _TAG_SELECTOR,
                        },
                    },
                },
                "associatePublicIPAddress": {"type": "boolean"},
                "blockDeviceMappings": {
                    "type": "array",
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "deviceName": {"type": "string"},
                            "rootVolume": {"type": "boolean"},
                            "ebs": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "deleteOnTermination": {"type": "boolean"},
                                    "encrypted": {"type": "boolean"},
                                    "iops": {"type": "integer"},
                                    "kmsKeyID": {"type": "string"},
                                    "snapshotID": {"type": "string"},
                                    "throughput": {"type": "integer"},
                                    "volumeInitializationRate": {"type": "integer", "minimum": 100, "maximum": 300},
                                    "volumeSize": {"type": "string", "pattern": _VOLUME_SIZE},
                                    "volumeType": {"enum": ["standard", "io1", "io2", "gp2", "sc1", "st1", "gp3"]},
                                },
                            },
                        },
                    },
                },
                "detailedMonitoring": {"type": "boolean"},
                "instanceProfile": {"type": "string"},
                "instanceStorePolicy": {"enum": ["RAID0"]},
                "metadataOptions": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "httpEndpoint": {"enum": ["enabled", "disabled"]},
                        "httpProtocolIPv6": {"enum": ["enabled", "disabled"]},
                        "httpPutResponseHopLimit": {"type": "integer", "minimum": 1, "maximum": 64},
                        "httpTokens": {"enum": ["required", "optional"]},
                    },
                },
                "role": {"type": "string"},
                # spec.placementGroupSelector (v1.14.1): name or id (pattern ^pg-[0-9a-z]+$), exactly one of them.
                "placementGroupSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "id": {"type": "string", "pattern": "^pg-[0-9a-z]+$"},
                    },
                    "oneOf": [{"required": ["name"]}, {"required": ["id"]}],
                },
                "securityGroupSelectorTerms": {
                    "type": "array",
                    "maxItems": 30,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "pattern": r"sg-[0-9a-z]+"},
                            "name": {"type": "string"},
                            "tags": _TAG_SELECTOR,
                        },
                    },
                },
                "subnetSelectorTerms": {
                    "type": "array",
                    "maxItems": 30,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"id": {"type": "string", "pattern": r"subnet-[0-9a-z]+"}, "tags": _TAG_SELECTOR},
                    },
                },
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "userData": {"type": "string"},
            },
        },
    },
}

# --- CEL rules (x-kubernetes-validations) ---------------------------------------------------------------

_KARPENTER_SH_LABELS = {"karpenter.sh/capacity-type", "karpenter.sh/nodepool"}
# The `karpenter.k8s.aws/` labels the NodePool CRD's rule accepts (template labels and requirement keys).
_KARPENTER_AWS_SUFFIXES = (
    "instance-tenancy",
    "capacity-reservation-type",
    "capacity-reservation-id",
    "capacity-reservation-interruptible",
    "ec2nodeclass",
    "instance-encryption-in-transit-supported",
    "instance-category",
    "instance-hypervisor",
    "instance-family",
    "instance-generation",
    "instance-local-nvme",
    "instance-size",
    "instance-cpu",
    "instance-cpu-manufacturer",
    "instance-cpu-sustained-clock-speed-mhz",
    "instance-memory",
    "instance-ebs-bandwidth",
    "instance-network-bandwidth",
    "instance-gpu-name",
    "instance-gpu-manufacturer",
    "instance-gpu-count",
    "instance-gpu-memory",
    "instance-accelerator-name",
    "instance-accelerator-manufacturer",
    "instance-accelerator-count",
    "instance-capability-flex",
    "placement-group-id",
    "placement-group-partition",
)
_KARPENTER_AWS_LABELS = {f"karpenter.k8s.aws/{suffix}" for suffix in _KARPENTER_AWS_SUFFIXES}
_ALIAS_FAMILIES = ("al2", "al2023", "bottlerocket", "windows2019", "windows2022", "windows2025")
_ALIAS_AMI_FAMILY = {
    "al2": "AL2",
    "al2023": "AL2023",
    "bottlerocket": "Bottlerocket",
    "windows2019": "Windows2019",
    "windows2022": "Windows2022",
    "windows2025": "Windows2025",
}


def _domain(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else key


def label_key_violations(key: str) -> list[str]:
    """The NodePool CRD's rules on a template label key or requirement key (both carry the same four rules)."""
    found = []
    if key not in _KARPENTER_SH_LABELS and _domain(key).endswith("karpenter.sh"):
        found.append('label domain "karpenter.sh" is restricted')
    if key == "karpenter.sh/nodepool":
        found.append('label "karpenter.sh/nodepool" is restricted')
    if key == "kubernetes.io/hostname":
        found.append('label "kubernetes.io/hostname" is restricted')
    if key not in _KARPENTER_AWS_LABELS and _domain(key).endswith("karpenter.k8s.aws"):
        found.append('label domain "karpenter.k8s.aws" is restricted')
    return found


def node_pool_cel_violations(pool: Mapping[str, Any]) -> list[str]:
    """The NodePool CRD's CEL rules that apply to a new object (the `oldSelf` transition rules cannot)."""
    spec = pool.get("spec") or {}
    found: list[str] = []
    budgets = (spec.get("disruption") or {}).get("budgets") or []
    if not all(("schedule" in budget) == ("duration" in budget) for budget in budgets):
        found.append("budgets: 'schedule' must be set with 'duration'")
    template = spec.get("template") or {}
    for key in (template.get("metadata") or {}).get("labels") or {}:
        found.extend(f"labels.{key}: {reason}" for reason in label_key_violations(key))
    requirements = (template.get("spec") or {}).get("requirements") or []
    for index, requirement in enumerate(requirements):
        found.extend(f"requirements[{index}].key: {reason}" for reason in label_key_violations(requirement["key"]))
        values = requirement.get("values") or []
        operator = requirement["operator"]
        if operator == "In" and not values:
            found.append(f"requirements[{index}]: requirements with operator 'In' must have a value defined")
        if operator in ("Gt", "Lt", "Gte", "Lte") and not (len(values) == 1 and re.fullmatch(r"[0-9]+", values[0])):
            found.append(f"requirements[{index}]: '{operator}' must have a single positive integer value")
        if operator == "In" and "minValues" in requirement and len(values) < requirement["minValues"]:
            found.append(f"requirements[{index}]: fewer values than minValues")
    if "replicas" in spec:
        limits = spec.get("limits") or {}
        if limits and set(limits) != {"nodes"}:
            found.append("only 'limits.nodes' is supported on static NodePools")
        if "weight" in spec:
            found.append("'weight' is not supported on static NodePools")
    return found


def _selector_tag_violations(where: str, terms: list[Mapping[str, Any]]) -> list[str]:
    return [
        f"{where}[{index}].tags: empty tag keys or values aren't supported"
        for index, term in enumerate(terms)
        if any(not key or not value for key, value in (term.get("tags") or {}).items())
    ]


def ec2_node_class_cel_violations(node_class: Mapping[str, Any]) -> list[str]:
    """The EC2NodeClass CRD's CEL rules on the fields the platform sets."""
    spec = node_class.get("spec") or {}
    found: list[str] = []
    terms = spec.get("amiSelectorTerms") or []
    for index, term in enumerate(terms):
        if not any(field in term for field in ("tags", "id", "name", "alias", "ssmParameter")):
            found.append(f"amiSelectorTerms[{index}]: expected at least one of tags, id, name, alias, ssmParameter")
        if "id" in term and any(field in term for field in ("alias", "tags", "name", "owner")):
            found.append(f"amiSelectorTerms[{index}]: 'id' is mutually exclusive with the other fields")
        if "alias" in term:
            alias = str(term["alias"])
            if any(field in term for field in ("id", "tags", "name", "owner")):
                found.append(f"amiSelectorTerms[{index}]: 'alias' is mutually exclusive with the other fields")
            if not re.fullmatch(r"[a-zA-Z0-9]+@.+", alias):
                found.append(f"amiSelectorTerms[{index}].alias: must match 'family@version'")
            family, _, version = alias.partition("@")
            if family not in _ALIAS_FAMILIES:
                found.append(f"amiSelectorTerms[{index}].alias: family {family!r} is not supported")
            if family.startswith("windows") and version != "latest":
                found.append(f"amiSelectorTerms[{index}].alias: windows families may only use 'latest'")
            if "amiFamily" in spec and spec["amiFamily"] not in ("Custom", _ALIAS_AMI_FAMILY.get(family)):
                found.append(f"amiFamily must be {_ALIAS_AMI_FAMILY.get(family)!r} or 'Custom' with a {family} alias")
    if any("alias" in term for term in terms) and len(terms) != 1:
        found.append("amiSelectorTerms: 'alias' cannot be combined with other terms")
    if not any("alias" in term for term in terms) and "amiFamily" not in spec:
        found.append("amiFamily is required when amiSelectorTerms has no alias")
    found.extend(_selector_tag_violations("amiSelectorTerms", terms))

    mappings = spec.get("blockDeviceMappings") or []
    if sum(1 for mapping in mappings if mapping.get("rootVolume") is True) > 1:
        found.append("blockDeviceMappings: at most one rootVolume")
    for index, mapping in enumerate(mappings):
        ebs = mapping.get("ebs")
        if ebs is not None and not ("snapshotID" in ebs or "volumeSize" in ebs):
            found.append(f"blockDeviceMappings[{index}].ebs: snapshotID or volumeSize must be defined")
        if ebs is not None and "volumeInitializationRate" in ebs and not ebs.get("snapshotID"):
            found.append(f"blockDeviceMappings[{index}].ebs: volumeInitializationRate needs snapshotID")

    if ("role" in spec) == ("instanceProfile" in spec):
        found.append("must specify exactly one of role, instanceProfile")
    for field in ("role", "instanceProfile"):
        if field in spec and spec[field] == "":
            found.append(f"{field} cannot be empty")

    for where, allowed in (
        ("securityGroupSelectorTerms", ("tags", "id", "name")),
        ("subnetSelectorTerms", ("tags", "id")),
    ):
        selector_terms = spec.get(where) or []
        if not selector_terms:
            found.append(f"{where} cannot be empty")
        for index, term in enumerate(selector_terms):
            if not any(field in term for field in allowed):
                found.append(f"{where}[{index}]: expected at least one of {', '.join(allowed)}")
        found.extend(_selector_tag_violations(where, selector_terms))

    for key in spec.get("tags") or {}:
        if key == "":
            found.append("tags: empty tag keys aren't supported")
        elif key in ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                     "karpenter.k8s.aws/ec2nodeclass") or key.startswith("kubernetes.io/cluster"):  # fmt: skip
            found.append(f"tags.{key}: restricted tag")
    return found


def violations(manifest: Mapping[str, Any]) -> list[str]:
    """Every way `manifest` (a NodePool or EC2NodeClass) breaks the v1.14.1 CRD: schema errors, then CEL rules."""
    kind = manifest.get("kind")
    if kind == "NodePool":
        schema, cel = NODE_POOL_SCHEMA, node_pool_cel_violations
    elif kind == "EC2NodeClass":
        schema, cel = EC2_NODE_CLASS_SCHEMA, ec2_node_class_cel_violations
    else:
        return [f"not a Karpenter kind: {kind!r}"]
    validator = jsonschema.Draft202012Validator(schema)
    errors = [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(manifest)
    ]
    return errors or cel(manifest)
