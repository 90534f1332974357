"""`admissionregistration.k8s.io/v1` ValidatingAdmissionPolicy and binding objects from `rules.ADMISSION_RULES`.

One policy per rule, named after the pack rule it mirrors, with one binding each. Semantics relied on
(Kubernetes documentation, "Validating Admission Policy", v1.30+):
- `failurePolicy: Fail`: a CEL error or a misconfigured binding rejects the request instead of letting it through.
- `matchConstraints.matchPolicy` defaults to `Equivalent`: a request through another version of the same resource
  (an older `apps/v1beta2` Deployment, say) is converted to the version listed and judged too.
- `validationActions`: `Deny` rejects; `Warn` returns the message to the client as a warning; `Audit` adds it to
  the audit event. Deny and Warn may not be combined, so prod denies and dev warns and audits.
- The binding's `matchResources.namespaceSelector` matches the namespace's labels; `kubernetes.io/metadata.name`
  is set by the API server on every namespace and cannot be changed, so excluding by it cannot be sidestepped by
  relabelling a namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policies.admission.rules import ADMISSION_RULES, POD_SPEC, AdmissionRule, CelCheck

API_VERSION = "admissionregistration.k8s.io/v1"
PROD_ACTIONS: tuple[str, ...] = ("Deny",)
DEV_ACTIONS: tuple[str, ...] = ("Warn", "Audit")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
OPERATIONS = ["CREATE", "UPDATE"]

WORKLOAD_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates")),
    ("apps", ("deployments", "replicasets", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
)
"""Every built-in resource that carries a pod spec, by API group (all at v1).

Custom resources that carry pods (JobSet, Kubeflow jobs, KServe, Argo: the packs' `podSpecPaths`) are not matched:
their operators create Jobs, Deployments or Pods, which these policies judge as they are built (after Argo's
template merge and podSpecPatch, KServe's defaults), where CEL over the custom resource would restate each operator's
merge rules a second time. The cost is where a violation surfaces: as the operator's failure to create the pod
(an event on the custom resource), not at `kubectl apply`."""

SERVICE_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (("", ("services",)),)

_POD_SPEC_EXPRESSION = (
    "object.kind == 'Pod' ? object.spec : "
    "object.kind == 'PodTemplate' ? object.template.spec : "
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : "
    "object.spec.template.spec"
)
"""Where the pod spec is for each kind: Pods (and their ephemeralcontainers subresource, whose object is the Pod),
PodTemplates, CronJobs (the job template's), and the template of every other controller."""

WORKLOAD_VARIABLES: tuple[dict[str, str], ...] = (
    {"name": "podSpec", "expression": _POD_SPEC_EXPRESSION},
    {
        "name": "containers",
        "expression": f"{POD_SPEC}.containers + (has({POD_SPEC}.initContainers) ? {POD_SPEC}.initContainers : [])",
    },
)
"""Variables of the workload policies, evaluated in order (a later one may use an earlier one)."""


def check_expression(check: CelCheck) -> str:
    """The full CEL expression of one check, per-container predicates applied to every container."""
    if not check.per_container:
        return check.expression
    expression = f"variables.containers.all(c, {check.expression})"
    if check.ephemeral:
        expression += (
            f" && (!has({POD_SPEC}.ephemeralContainers) || {POD_SPEC}.ephemeralContainers.all(c, {check.expression}))"
        )
    return expression


def _resource_rules(groups: Iterable[tuple[str, tuple[str, ...]]]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [group], "apiVersions": ["v1"], "operations": list(OPERATIONS), "resources": list(resources)}
        for group, resources in groups
    ]


def policy_manifest(rule: AdmissionRule) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy of one rule."""
    workloads = rule.scope == "workloads"
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "matchPolicy": "Equivalent",
            "resourceRules": _resource_rules(WORKLOAD_RESOURCES if workloads else SERVICE_RESOURCES),
        },
        "validations": [
            {"expression": check_expression(check), "message": check.message, "reason": "Forbidden"}
            for check in rule.checks
        ],
    }
    if workloads:
        spec["variables"] = [dict(variable) for variable in WORKLOAD_VARIABLES]
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": rule.pack_rule, "labels": {"mlplatform.io/pack-rule": rule.pack_rule}},
        "spec": spec,
    }


def exempt_namespace_selector(exempt_namespaces: Iterable[str]) -> dict[str, Any]:
    """A namespaceSelector that matches every namespace except `exempt_namespaces` (by their immutable name)."""
    names = sorted(set(exempt_namespaces))
    if not names:
        return {}
    return {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": names}]}


def binding_manifest(
    rule: AdmissionRule, validation_actions: Sequence[str], exempt_namespaces: Iterable[str]
) -> dict[str, Any]:
    """The binding that applies one rule's policy everywhere but the exempt namespaces."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": rule.pack_rule, "labels": {"mlplatform.io/pack-rule": rule.pack_rule}},
        "spec": {
            "policyName": rule.pack_rule,
            "validationActions": list(validation_actions),
            "matchResources": {"namespaceSelector": exempt_namespace_selector(exempt_namespaces)},
        },
    }


def manifests(
    validation_actions: Sequence[str],
    exempt_namespaces: Iterable[str],
    rule_exempt_namespaces: Mapping[str, Iterable[str]] | None = None,
    rules: Iterable[AdmissionRule] = ADMISSION_RULES,
) -> list[dict[str, Any]]:
    """Policies and bindings of `rules`: each policy followed by its binding.

    `rule_exempt_namespaces` adds namespaces exempt from one rule only (by pack rule name), e.g. the namespace of a
    reviewed public load balancer for `kubernetes-load-balancer-internal`.
    """
    exempt = list(exempt_namespaces)
    extra = rule_exempt_namespaces or {}
    objects: list[dict[str, Any]] = []
    for rule in rules:
        objects.append(policy_manifest(rule))
        objects.append(binding_manifest(rule, validation_actions, [*exempt, *extra.get(rule.pack_rule, ())]))
    return objects
