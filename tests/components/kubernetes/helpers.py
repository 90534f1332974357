"""Test helpers for the Kubernetes layer: Kubernetes' own matching rules, manifests from recordings, PromQL names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from stacks.synth import RecordingMonitor, Registration

# Groups whose objects are validated against the Kubernetes OpenAPI schema (CustomResources and Helm
# charts are not Kubernetes API objects in that schema).
SCHEMA_GROUPS = ("core", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.k8s.io")


def tolerates(tolerations: Iterable[Mapping[str, str]], taint: gpu.Taint) -> bool:
    """Kubernetes' toleration matching: key (empty = all with Exists), operator, value, effect (empty = all)."""
    for toleration in tolerations:
        if toleration.get("effect") not in (None, "", taint.effect):
            continue
        operator = toleration.get("operator", "Equal")
        key = toleration.get("key")
        if operator == "Exists" and key in (None, "", taint.key):
            return True
        if operator == "Equal" and key == taint.key and toleration.get("value", "") == taint.value:
            return True
    return False


def every_gpu_taint() -> list[tuple[str, gpu.Taint]]:
    """(cloud, taint) for every GPU taint of every cloud in the contract."""
    return [(cloud, taint) for cloud, taints in gpu.GPU_TAINTS.items() for taint in taints]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics: `{}` matches everything; None (null) matches nothing here."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def prometheus_selector(prometheus_spec: Mapping[str, Any], kind: str, release: str) -> dict[str, Any] | None:
    """The selector kube-prometheus-stack renders into the Prometheus resource for `kind` (e.g. serviceMonitor).

    Mirrors the chart's template: an explicit selector wins; otherwise `NilUsesHelmValues: true` (the chart
    default) renders `matchLabels: {release: <release>}`, and false renders `{}` (select everything).
    """
    explicit = prometheus_spec.get(f"{kind}Selector")
    if explicit:
        return dict(explicit)
    if prometheus_spec.get(f"{kind}SelectorNilUsesHelmValues", True):
        return {"matchLabels": {"release": release}}
    return {}


def group_of(type_token: str) -> str:
    """`kubernetes:apps/v1:Deployment` -> `apps`."""
    return type_token.split(":")[1].split("/")[0]


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def manifest(registration: Registration) -> dict[str, Any]:
    """The Kubernetes object a recorded registration describes (the wire inputs are the object's fields)."""
    return _integral(dict(registration.inputs))


def kubernetes_objects(recorder: RecordingMonitor) -> list[Registration]:
    """Every recorded Kubernetes API object in the schema groups (no CustomResources, no charts)."""
    return [r for r in recorder.registrations if r.type.startswith("kubernetes:") and group_of(r.type) in SCHEMA_GROUPS]


def chart(recorder: RecordingMonitor, chart_name: str) -> Registration:
    """The single recorded helm.v4.Chart of `chart_name`."""
    found = [r for r in recorder.by_type("kubernetes:helm.sh/v4:Chart") if r.inputs.get("chart") == chart_name]
    assert len(found) == 1, f"expected one {chart_name} chart, got {[r.name for r in found]}"
    return found[0]


def chart_values(recorder: RecordingMonitor, chart_name: str) -> dict[str, Any]:
    """The values of the single recorded chart `chart_name`, numbers as ints where integral."""
    return _integral(chart(recorder, chart_name).inputs.get("values", {}))


def objects_of_kind(recorder: RecordingMonitor, kind: str) -> list[dict[str, Any]]:
    """Every recorded object of `kind` (CustomResources included) as a manifest."""
    return [
        manifest(r) for r in recorder.registrations if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")
    ]


def run_with_provider(
    run: Callable[[Callable[[], Any]], RecordingMonitor], build: Callable[[pulumi.ResourceOptions], Any]
):
    """Run `build(opts)` where `opts` carries an explicit Kubernetes provider, as the platform passes it."""

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        build(pulumi.ResourceOptions(providers={"kubernetes": provider}))

    return run(program)


_PROMQL_WORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
    }
)
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression (PromQL or a Grafana `label_values(...)` query) reads.

    Removes strings, label matchers, range/subquery windows, label lists of by/on/group_*, function calls'
    names and Grafana variables; what remains as identifiers are metric names (or recorded rule names).
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    # label_values(<selector>, <label>): the second argument is a label, not a metric.
    text = re.sub(r"label_values\(([^,]*),\s*\w+\s*\)", r"(\1)", text)
    names: set[str] = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names
