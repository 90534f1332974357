"""Kubernetes' own scheduling predicates as pure functions: taints vs tolerations, node selectors and affinity.

The GPU contract, the components' tests and the offline checks ask the same question the scheduler does
("can this pod run on a node with these labels and taints?"), so they share one faithful implementation
instead of approximations. The rules follow `k8s.io/api/core/v1` (`Toleration.ToleratesTaint`) and
`k8s.io/component-helpers/scheduling/corev1` (node selector requirements): an empty toleration effect
matches every effect, an empty key with `Exists` matches every taint, `NotIn` and `DoesNotExist` match a
node without the label, and only `NoSchedule` and `NoExecute` taints keep a pod off a node
(`PreferNoSchedule` only lowers the node's score).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from components._common.gpu import Taint

REPELLING_EFFECTS = ("NoSchedule", "NoExecute")
"""Taint effects the scheduler's TaintToleration filter enforces; `PreferNoSchedule` is only a preference."""


def tolerates(toleration: Mapping[str, Any], taint: Taint) -> bool:
    """Whether one toleration tolerates `taint` (Kubernetes `Toleration.ToleratesTaint`; see `Taint.tolerated_by`)."""
    return taint.tolerated_by(toleration)


def untolerated_taints(tolerations: Iterable[Mapping[str, Any]], taints: Iterable[Taint]) -> list[Taint]:
    """The taints among `taints` that keep a pod with `tolerations` off the node (NoSchedule/NoExecute only)."""
    held = list(tolerations)
    return [
        taint
        for taint in taints
        if taint.effect in REPELLING_EFFECTS and not any(tolerates(toleration, taint) for toleration in held)
    ]


def requirement_matches(requirement: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a node selector requirement (`key`, `operator`, `values`) matches a node's labels."""
    key, operator = requirement["key"], requirement["operator"]
    values = [str(value) for value in requirement.get("values") or []]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        try:
            actual, bound = int(labels[key]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return actual > bound if operator == "Gt" else actual < bound
    return False


def node_affinity_admits(pod_spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether the pod's `nodeSelector` and required node affinity admit a node with `labels`.

    The node selector must match entirely; of the required affinity's terms (ORed) one must match, each term's
    expressions ANDed. A term without expressions matches nothing, as in Kubernetes.
    """
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return True
    for term in required.get("nodeSelectorTerms") or []:
        expressions = term.get("matchExpressions") or []
        if expressions and all(requirement_matches(expression, labels) for expression in expressions):
            return True
    return False


def unschedulable_reasons(pod_spec: Mapping[str, Any], labels: Mapping[str, str], taints: Iterable[Taint]) -> list[str]:
    """Why a pod with `pod_spec` cannot run on a node with `labels` and `taints`; empty when it can.

    Only placement is judged (taints, node selector, required node affinity), not resources or zones.
    """
    reasons = [
        f"does not tolerate the taint {taint.key}={taint.value}:{taint.effect}"
        for taint in untolerated_taints(pod_spec.get("tolerations") or [], taints)
    ]
    if not node_affinity_admits(pod_spec, labels):
        reasons.append("its node selector or required node affinity does not match the node's labels")
    return reasons
