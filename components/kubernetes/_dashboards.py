"""The Grafana dashboards, built as Python data: the GPU fleet and model serving per version.

GPU fleet: over DCGM and kube-state-metrics series; filters: pool (the GPU contract's pool label, via
kube-state-metrics node labels), node, namespace and pod (set by DCGM on GPUs allocated to a pod). Every query
uses only metrics the exporters really expose; a test extracts the metric names from every expression and checks
them against the exporters' lists.

Model serving: over the per-version recording rules of `_alerts.serving_version_rules` only (a test checks every
query reads a recorded series); filters: namespace, model, version.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from components._common import gpu
from components.kubernetes._alerts import GPU_IDLE_UTILIZATION_PERCENT, GPU_IDLE_WINDOW
from components.kubernetes._values import prometheus_label

DASHBOARD_UID = "mlplatform-gpu-fleet"
DASHBOARD_TITLE = "GPU fleet (DCGM)"
SERVING_DASHBOARD_UID = "mlplatform-model-serving"
SERVING_DASHBOARD_TITLE = "Model serving by version"
SCHEMA_VERSION = 39
"""Grafana dashboard JSON schema version (Grafana 10.x/11.x read it natively)."""

_GRID_WIDTH = 24
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_POOL = prometheus_label(gpu.GPU_POOL_LABEL)
_PRESENT = prometheus_label(gpu.GPU_PRESENT_LABEL)
_GPU_FILTER = 'node=~"$node", namespace=~"$namespace", pod=~"$pod"'
# Every GPU series joined to its node's pool label; `max by` collapses duplicate kube-state-metrics series
# during its own rollouts, which would otherwise break the one-to-one join.
_POOL_JOIN = f' * on(node) group_left({_POOL}) max by (node, {_POOL}) (kube_node_labels{{{_POOL}=~"$pool"}})'
_ALLOCATED = 'pod!=""'
"""DCGM sets `pod` only on GPUs allocated to a pod."""
_GPU_LEGEND = "{{node}} gpu{{gpu}} {{namespace}}/{{pod}}"


def gpu_series(metric: str, extra_filter: str = "") -> str:
    """`metric` for the GPUs the dashboard's pool/node/namespace/pod filters select, labelled with the pool."""
    selector = f"{_GPU_FILTER}, {extra_filter}" if extra_filter else _GPU_FILTER
    return f"{metric}{{{selector}}}{_POOL_JOIN}"


@dataclass
class _Layout:
    """Places panels left to right, top to bottom, on Grafana's 24-column grid, with unique ids."""

    panels: list[dict[str, Any]] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def _new_line(self) -> None:
        if self.x:
            self.y += self.row_height
            self.x, self.row_height = 0, 0

    def row(self, title: str) -> None:
        self._new_line()
        self.panels.append(
            {
                "id": self._next_id(),
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": _GRID_WIDTH, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def add(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self.x + width > _GRID_WIDTH:
            self._new_line()
        panel["id"] = self._next_id()
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += width
        self.row_height = max(self.row_height, height)


def _target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": ref, "datasource": dict(_DATASOURCE), "expr": expr, "legendFormat": legend}
    if instant:
        target.update({"instant": True, "range": False, "format": "table"})
    return target


def _panel(kind: str, title: str, description: str, targets: list[dict[str, Any]], unit: str) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if unit == "percent":
        defaults.update({"min": 0, "max": 100})
    elif unit == "percentunit":
        defaults.update({"min": 0, "max": 1})
    panel: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": dict(_DATASOURCE),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": targets,
    }
    if kind == "timeseries":
        panel["options"] = {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return panel


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(_DATASOURCE),
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def _templating() -> list[dict[str, Any]]:
    gpu_nodes = f'kube_node_labels{{{_PRESENT}="true", {_POOL}=~"$pool"}}'
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
        },
        _variable("pool", "GPU pool", f'label_values(kube_node_labels{{{_PRESENT}="true"}}, {_POOL})'),
        _variable("node", "Node", f"label_values({gpu_nodes}, node)"),
        _variable("namespace", "Namespace", 'label_values(DCGM_FI_DEV_GPU_UTIL{node=~"$node"}, namespace)'),
        _variable("pod", "Pod", 'label_values(DCGM_FI_DEV_GPU_UTIL{node=~"$node", namespace=~"$namespace"}, pod)'),
    ]


def gpu_dashboard() -> dict[str, Any]:
    """The GPU fleet dashboard as a Grafana dashboard JSON document."""
    layout = _Layout()
    layout.row("Fleet")
    for title, description, expr, unit in (
        ("GPUs", "GPUs reporting DCGM metrics.", f"count({gpu_series('DCGM_FI_DEV_GPU_UTIL')})", "none"),
        (
            "GPUs allocated",
            "GPUs DCGM maps to a pod.",
            f"count({gpu_series('DCGM_FI_DEV_GPU_UTIL', _ALLOCATED)})",
            "none",
        ),
        ("Average utilization", "Mean GPU utilization.", f"avg({gpu_series('DCGM_FI_DEV_GPU_UTIL')})", "percent"),
        ("Power draw", "Total board power.", f"sum({gpu_series('DCGM_FI_DEV_POWER_USAGE')})", "watt"),
    ):
        layout.add(_panel("stat", title, description, [_target(expr)], unit), width=6, height=4)

    layout.row("Utilization")
    for title, description, metric, unit in (
        (
            "GPU utilization",
            "Fraction of time a kernel was running (DCGM_FI_DEV_GPU_UTIL).",
            "DCGM_FI_DEV_GPU_UTIL",
            "percent",
        ),
        (
            "Tensor core activity",
            "Fraction of cycles the tensor pipes were active; low values on a busy GPU mean the model is not "
            "using tensor cores (FP32 math, small batches).",
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
            "percentunit",
        ),
        (
            "Graphics engine activity",
            "Fraction of time any engine was active (DCGM_FI_PROF_GR_ENGINE_ACTIVE).",
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
            "percentunit",
        ),
        ("Power", "Board power draw (DCGM_FI_DEV_POWER_USAGE).", "DCGM_FI_DEV_POWER_USAGE", "watt"),
    ):
        layout.add(
            _panel("timeseries", title, description, [_target(gpu_series(metric), _GPU_LEGEND)], unit),
            width=12,
            height=8,
        )

    layout.row("Memory and health")
    for title, description, expr, unit in (
        ("Framebuffer used", "GPU memory in use (MiB).", gpu_series("DCGM_FI_DEV_FB_USED"), "mbytes"),
        ("Framebuffer free", "GPU memory free (MiB).", gpu_series("DCGM_FI_DEV_FB_FREE"), "mbytes"),
        ("Temperature", "GPU core temperature.", gpu_series("DCGM_FI_DEV_GPU_TEMP"), "celsius"),
        (
            "XID errors",
            "Last XID error code per GPU (0 = none). See the NVIDIA XID catalogue.",
            f"max_over_time(DCGM_FI_DEV_XID_ERRORS{{{_GPU_FILTER}}}[$__rate_interval]){_POOL_JOIN}",
            "none",
        ),
    ):
        layout.add(_panel("timeseries", title, description, [_target(expr, _GPU_LEGEND)], unit), width=12, height=8)

    layout.row("By pool, namespace and pod")
    running = 'max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)'
    requested = (
        'sum by (namespace) (kube_pod_container_resource_requests{resource="nvidia_com_gpu", '
        f'namespace=~"$namespace", node=~"$node"}} * on(namespace, pod) group_left() {running})'
    )
    for title, description, expr, legend, unit in (
        (
            "Utilization by pool",
            "Mean GPU utilization per GPU pool (node label mlplatform.io/gpu-pool).",
            f"avg by ({_POOL}) ({gpu_series('DCGM_FI_DEV_GPU_UTIL')})",
            f"{{{{{_POOL}}}}}",
            "percent",
        ),
        (
            "Utilization by namespace",
            "Mean utilization of the GPUs allocated to each namespace.",
            f"avg by (namespace) ({gpu_series('DCGM_FI_DEV_GPU_UTIL', _ALLOCATED)})",
            "{{namespace}}",
            "percent",
        ),
        (
            "GPU memory by pod",
            "Framebuffer used by each pod's GPUs (MiB).",
            f"sum by (namespace, pod) ({gpu_series('DCGM_FI_DEV_FB_USED', _ALLOCATED)})",
            "{{namespace}}/{{pod}}",
            "mbytes",
        ),
        (
            "GPUs requested by namespace",
            f"{gpu.GPU_RESOURCE} requested by pending and running pods.",
            requested,
            "{{namespace}}",
            "none",
        ),
    ):
        layout.add(_panel("timeseries", title, description, [_target(expr, legend)], unit), width=12, height=8)

    idle = (
        f'avg_over_time(DCGM_FI_DEV_GPU_UTIL{{{_GPU_FILTER}, pod!=""}}[{GPU_IDLE_WINDOW}])'
        f" < {GPU_IDLE_UTILIZATION_PERCENT}"
    )
    layout.add(
        _panel(
            "table",
            "Allocated but idle GPUs",
            f"GPUs reserved by a pod but below {GPU_IDLE_UTILIZATION_PERCENT}% utilization over "
            f"{GPU_IDLE_WINDOW} (the GpuAllocatedButIdle alert's condition).",
            [_target(idle, instant=True)],
            "percent",
        ),
        width=24,
        height=8,
    )

    return {
        "uid": DASHBOARD_UID,
        "title": DASHBOARD_TITLE,
        "description": "NVIDIA GPUs by pool, node, namespace and pod: utilization, tensor cores, memory, "
        "temperature, power and XID errors (DCGM exporter + kube-state-metrics).",
        "tags": ["gpu", "nvidia", "dcgm", "mlplatform"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "annotations": {"list": []},
        "templating": {"list": _templating()},
        "panels": layout.panels,
    }


def gpu_dashboard_json() -> str:
    """The dashboard serialized for a Grafana sidecar ConfigMap (stable key order, so diffs stay small)."""
    return json.dumps(gpu_dashboard(), indent=2, sort_keys=True)


_VERSION_RULES = "namespace_model_version"
_VERSION_FILTER = 'namespace=~"$namespace", model=~"$model", model_version=~"$version"'
_VERSION_LEGEND = "{{namespace}}/{{model}} {{model_version}}"


def _version_series(rule: str) -> str:
    """The per-version recorded series `namespace_model_version:<rule>` the dashboard's filters select."""
    return f"{_VERSION_RULES}:{rule}{{{_VERSION_FILTER}}}"


def _serving_templating() -> list[dict[str, Any]]:
    requests = f"{_VERSION_RULES}:http_requests:rate5m"
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}},
        _variable("namespace", "Namespace", f"label_values({requests}, namespace)"),
        _variable("model", "Model", f'label_values({requests}{{namespace=~"$namespace"}}, model)'),
        _variable(
            "version",
            "Version",
            f'label_values({requests}{{namespace=~"$namespace", model=~"$model"}}, model_version)',
        ),
    ]


def serving_dashboard() -> dict[str, Any]:
    """The model serving dashboard: rate, errors and latency per model version, and each version against the
    other versions of its model (the canary decision, the same comparison `ServingCanaryRegression` makes)."""
    layout = _Layout()
    layout.row("Traffic per version")
    requests = _version_series("http_requests:rate5m")
    model_total = (
        f'sum by (namespace, model) ({_VERSION_RULES}:http_requests:rate5m{{namespace=~"$namespace", model=~"$model"}})'
    )
    for title, description, targets, unit in (
        ("Request rate", "Requests per second per version (5m rate).", [_target(requests, _VERSION_LEGEND)], "reqps"),
        (
            "Traffic share",
            "Each version's share of its model's requests: the traffic split actually in effect.",
            [_target(f"{requests} / on(namespace, model) group_left() {model_total}", _VERSION_LEGEND)],
            "percentunit",
        ),
        (
            "Error ratio",
            "5xx responses / all responses per version (5m).",
            [_target(_version_series("http_request_error_ratio:rate5m"), _VERSION_LEGEND)],
            "percentunit",
        ),
        (
            "Latency p50 / p95 / p99",
            "Request latency quantiles per version, from http_request_duration_seconds (5m).",
            [
                _target(_version_series(f"http_request_duration_seconds:{q}_rate5m"), f"{q} {_VERSION_LEGEND}", ref)
                for q, ref in (("p50", "A"), ("p95", "B"), ("p99", "C"))
            ],
            "s",
        ),
    ):
        layout.add(_panel("timeseries", title, description, targets, unit), width=12, height=8)

    layout.row("Canary vs stable")
    for title, description, rule, unit in (
        (
            "Error ratio by version, now",
            "5xx ratio of each version side by side.",
            "http_request_error_ratio:rate5m",
            "percentunit",
        ),
        (
            "p95 latency by version, now",
            "p95 latency of each version side by side.",
            "http_request_duration_seconds:p95_rate5m",
            "s",
        ),
    ):
        target = _target(_version_series(rule), _VERSION_LEGEND)
        target["instant"] = True
        panel = _panel("bargauge", title, description, [target], unit)
        panel["options"] = {
            "orientation": "horizontal",
            "displayMode": "basic",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        }
        layout.add(panel, width=12, height=6)
    for title, description, own, others, unit in (
        (
            "Error ratio: each version vs the others",
            "A version's 5xx ratio next to the ratio of all other versions of its model; ServingCanaryRegression "
            "fires when the gap stays above its margin for 10 minutes.",
            "http_request_error_ratio:rate5m",
            "http_request_error_ratio_of_other_versions:rate5m",
            "percentunit",
        ),
        (
            "p95 latency: each version vs the others",
            "A version's p95 latency next to the p95 of all other versions of its model.",
            "http_request_duration_seconds:p95_rate5m",
            "http_request_duration_seconds:p95_of_other_versions_rate5m",
            "s",
        ),
    ):
        targets = [
            _target(_version_series(own), _VERSION_LEGEND, "A"),
            _target(_version_series(others), f"others than {_VERSION_LEGEND}", "B"),
        ]
        layout.add(_panel("timeseries", title, description, targets, unit), width=12, height=8)
    firing = f'ALERTS{{alertname="ServingCanaryRegression", alertstate="firing", {_VERSION_FILTER}}}'
    layout.add(
        _panel(
            "table",
            "Canary regressions firing",
            "Versions worse than the other versions of their model (alert ServingCanaryRegression): roll back by "
            "setting the model's stable version to one of the others.",
            [_target(firing, instant=True)],
            "none",
        ),
        width=24,
        height=6,
    )
    return {
        "uid": SERVING_DASHBOARD_UID,
        "title": SERVING_DASHBOARD_TITLE,
        "description": "Request rate, 5xx ratio and latency per model version, and each version against the other "
        "versions of its model, for canary decisions (per-version recording rules of the platform).",
        "tags": ["serving", "canary", "mlplatform"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timezone": "utc",
        "annotations": {"list": []},
        "templating": {"list": _serving_templating()},
        "panels": layout.panels,
    }


def serving_dashboard_json() -> str:
    """The serving dashboard serialized for a Grafana sidecar ConfigMap (stable key order)."""
    return json.dumps(serving_dashboard(), indent=2, sort_keys=True)
