"""GPU and model-serving alert rules as Python data: the spec of the PrometheusRule the Monitoring component ships.

Every expression uses only metrics the exporters really expose: DCGM exporter default counters
(`DCGM_FI_*`, labels `gpu`, `UUID`, `modelName`, `Hostname`, plus `node`, `namespace`, `pod`, `container`
from the relabeling in `_values.py`), kube-state-metrics (`kube_node_*` with the label allow-list from
`_values.py`) and the HTTP metrics serving workloads must expose (`SERVING_METRICS`). The rules are checked
and unit-tested with Prometheus's own `promtool` (tests/components/kubernetes/test_alert_rules.py).
"""

from typing import Any

from components._common import gpu
from components._common.tags import TIER_LABEL
from components.kubernetes._values import prometheus_label

RUNBOOK_XID = "https://docs.nvidia.com/deploy/xid-errors/index.html"

FATAL_XIDS: tuple[int, ...] = (48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120)
"""XIDs that mean the GPU or its memory needs a reset or replacement (NVIDIA XID catalogue): double-bit ECC
(48), internal micro-controller faults (61, 62), row remapping / page retirement (63, 64), NVLink (74), GPU
fallen off the bus (79), high single-bit ECC rate (92), contained / uncontained ECC (94, 95), GSP errors
(119, 120). Other XIDs (13, 31, 43, 45, …) are usually the application's own faults."""

GPU_TEMPERATURE_WARNING_CELSIUS = 85
"""Core temperature above which a GPU is close to thermal slowdown on datacenter parts."""

GPU_MEMORY_PRESSURE_RATIO = 0.95
"""Framebuffer fill ratio treated as pressure (inference servers that pre-allocate 90 % stay below it)."""

GPU_IDLE_UTILIZATION_PERCENT = 5
"""Average utilization below which an allocated GPU counts as idle."""

GPU_IDLE_WINDOW = "30m"
"""Window of the idle average; the alert also waits this long, so it fires after one hour of idleness."""

SLO_FAST_BURN_RATE = 14.4
"""Error-budget burn rate that pages (a 30-day budget gone in about two days; Google SRE workbook)."""

CANARY_ERROR_RATIO_MARGIN = 0.02
"""How much higher (absolute, 0.02 = 2 percentage points) a version's 5xx ratio may be than the other versions' of
the same model before `ServingCanaryRegression` fires."""

CANARY_LATENCY_FACTOR = 1.5
"""How many times the other versions' p95 latency a version's p95 may reach before `ServingCanaryRegression`
fires."""

CANARY_LATENCY_MARGIN_SECONDS = 0.025
"""The p95 difference below which a version is never called slower: a few milliseconds between fast versions
are histogram-bucket noise, not a regression."""

CANARY_MIN_REQUESTS_PER_SECOND = 0.1
"""Traffic both a version and the other versions must carry before they are compared (a handful of requests
proves nothing)."""

CANARY_FOR = "10m"
"""How long a version must stay worse than the others before `ServingCanaryRegression` fires."""

SERVING_METRICS = {
    "http_requests_total": "counter of requests, labelled `status` or `code` with the HTTP status (e.g. 200, 503, 5xx)",
    "http_request_duration_seconds": "histogram of request latency in seconds (`_bucket`, `_sum`, `_count`)",
}
"""The metric contract of serving workloads (the Prometheus client-library convention, also what
prometheus-fastapi-instrumentator and most HTTP middlewares export). Scraped through the ServiceMonitor of
`ModelDeployment`; only namespaces labelled `mlplatform.io/tier=serving` are evaluated."""

_WHERE = "GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on node {{ $labels.node }}"
_GPU_PRESENT = prometheus_label(gpu.GPU_PRESENT_LABEL)
_SERVING_TIER = f'kube_namespace_labels{{{prometheus_label(TIER_LABEL)}="serving"}}'
_VERSIONED = 'model!="", model_version!=""'
"""Series of pods that carry `mlplatform.io/model` and `mlplatform.io/model-version` (ModelDeployment's
ServiceMonitor relabels them to `model` / `model_version`)."""
_VERSION_KEYS = "namespace, model, model_version"
_VERSIONED_SERVICES = f"group by (namespace, service) (http_requests_total{{{_VERSIONED}}})"
"""The Services whose pods serve a model version: the per-version alerts cover them, the per-service ones not."""


def _number(value: float) -> str:
    """A PromQL literal without float noise (0.14400000000000002 -> 0.144)."""
    return f"{round(value, 9):g}"


def _fatal_xid_filter() -> str:
    return " or ".join(f"DCGM_FI_DEV_XID_ERRORS == {code}" for code in FATAL_XIDS)


def gpu_health_rules() -> dict[str, Any]:
    """Alerts on the health of each GPU: XID errors, temperature, framebuffer pressure."""
    fatal = _fatal_xid_filter()
    return {
        "name": "mlplatform-gpu-health",
        "rules": [
            {
                "alert": "GpuFatalXidError",
                # A subquery remembers a fatal XID for 15 minutes even if the exporter reports it only once.
                "expr": f"max_over_time(({fatal})[15m:1m])",
                "labels": {"severity": "critical", "category": "gpu-health"},
                "annotations": {
                    "summary": f"{_WHERE} reported fatal XID {{{{ $value }}}}",
                    "description": (
                        "The GPU needs a reset or replacement. Cordon and drain the node "
                        "(kubectl drain {{ $labels.node }} --ignore-daemonsets), then reboot or replace it."
                    ),
                    "runbook_url": RUNBOOK_XID,
                },
            },
            {
                "alert": "GpuXidError",
                "expr": (
                    "(max_over_time(DCGM_FI_DEV_XID_ERRORS[15m]) > 0 and changes(DCGM_FI_DEV_XID_ERRORS[15m]) > 0)"
                    f" unless max_over_time(({fatal})[15m:1m])"
                ),
                "labels": {"severity": "warning", "category": "gpu-health"},
                "annotations": {
                    "summary": f"{_WHERE} reported XID {{{{ $value }}}}",
                    "description": (
                        "Usually an application fault (illegal memory access, MMU fault) of pod "
                        "{{ $labels.namespace }}/{{ $labels.pod }}; repeated XIDs on one GPU point at hardware."
                    ),
                    "runbook_url": RUNBOOK_XID,
                },
            },
            {
                "alert": "GpuTemperatureHigh",
                "expr": f"DCGM_FI_DEV_GPU_TEMP > {GPU_TEMPERATURE_WARNING_CELSIUS}",
                "for": "10m",
                "labels": {"severity": "warning", "category": "gpu-health"},
                "annotations": {
                    "summary": f"{_WHERE} is at {{{{ $value }}}} °C",
                    "description": (
                        f"Above {GPU_TEMPERATURE_WARNING_CELSIUS} °C for 10 minutes; the GPU will throttle. "
                        "Check the instance's cooling / host health with the cloud provider."
                    ),
                },
            },
            {
                "alert": "GpuMemoryPressure",
                "expr": (
                    "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
                    f" > {_number(GPU_MEMORY_PRESSURE_RATIO)}"
                ),
                "for": "15m",
                "labels": {"severity": "warning", "category": "gpu-capacity"},
                "annotations": {
                    "summary": f"{_WHERE} framebuffer is {{{{ $value | humanizePercentage }}}} full",
                    "description": (
                        "Pod {{ $labels.namespace }}/{{ $labels.pod }} is close to CUDA out-of-memory errors: "
                        "reduce batch size / KV-cache, or move the model to a larger GPU."
                    ),
                },
            },
        ],
    }


def gpu_capacity_rules() -> dict[str, Any]:
    """Alerts on GPU nodes and allocation: idle allocated GPUs (cost), nodes not ready or not advertising GPUs."""
    gpu_nodes = f'kube_node_labels{{{_GPU_PRESENT}="true"}}'
    ready = 'kube_node_status_condition{condition="Ready",status="true"}'
    return {
        "name": "mlplatform-gpu-capacity",
        "rules": [
            {
                "alert": "GpuAllocatedButIdle",
                # DCGM sets `pod` only on GPUs allocated to a pod (see DCGM_RELABELINGS).
                "expr": (
                    f'avg_over_time(DCGM_FI_DEV_GPU_UTIL{{pod!=""}}[{GPU_IDLE_WINDOW}])'
                    f" < {GPU_IDLE_UTILIZATION_PERCENT}"
                ),
                "for": GPU_IDLE_WINDOW,
                "labels": {"severity": "warning", "category": "cost"},
                "annotations": {
                    "summary": (
                        "GPU {{ $labels.gpu }} on {{ $labels.node }} is allocated to "
                        "{{ $labels.namespace }}/{{ $labels.pod }} but {{ $value | humanize }}% busy"
                    ),
                    "description": (
                        f"Average utilization below {GPU_IDLE_UTILIZATION_PERCENT}% for an hour while the GPU "
                        "is reserved: scale the workload down, or release the GPU so the pool can shrink."
                    ),
                },
            },
            {
                "alert": "GpuNodeNotReady",
                "expr": f"({ready} == 0) and on(node) {gpu_nodes}",
                "for": "5m",
                "labels": {"severity": "critical", "category": "gpu-capacity"},
                "annotations": {
                    "summary": "GPU node {{ $labels.node }} is not Ready",
                    "description": "Its GPUs cannot serve; check the node's kubelet, driver and cloud instance state.",
                },
            },
            {
                "alert": "GpuNodeWithoutAllocatableGpus",
                "expr": (
                    f"({gpu_nodes} and on(node) ({ready} == 1)) unless on(node)"
                    ' (kube_node_status_allocatable{resource="nvidia_com_gpu"} > 0)'
                ),
                "for": "15m",
                "labels": {"severity": "warning", "category": "gpu-capacity"},
                "annotations": {
                    "summary": f"GPU node {{{{ $labels.node }}}} advertises no {gpu.GPU_RESOURCE}",
                    "description": (
                        "The device plugin is not running there or the driver failed to load: pods requesting "
                        "GPUs stay Pending. Check the device plugin / GPU operator pods on that node."
                    ),
                },
            },
            {
                "alert": "GpuMetricsMissing",
                "expr": (
                    f"({gpu_nodes} and on(node) ({ready} == 1)) unless on(node) count by (node) (DCGM_FI_DEV_GPU_UTIL)"
                ),
                "for": "15m",
                "labels": {"severity": "warning", "category": "observability"},
                "annotations": {
                    "summary": "No DCGM metrics from GPU node {{ $labels.node }}",
                    "description": (
                        "The DCGM exporter is not running there, or Prometheus does not scrape it: the node is "
                        "a blind spot for every GPU alert. Check the exporter pod and its ServiceMonitor."
                    ),
                },
            },
        ],
    }


def serving_slo_rules(*, latency_p99_seconds: float, availability_objective: float) -> list[dict[str, Any]]:
    """Recording rules and alerts for the serving SLOs (error-budget burn and p99 latency) per Service.

    The alerts leave out Services whose pods serve a model version: `serving_version_rules` alerts on those per
    version, and one incident pages once.

    Args:
        latency_p99_seconds: the p99 latency objective, in seconds.
        availability_objective: the fraction of requests that must succeed (e.g. 0.99).
    """
    errors = '{status=~"5.."}'
    errors_by_code = '{code=~"5.."}'
    budget = _number(SLO_FAST_BURN_RATE * (1 - availability_objective))
    recordings: list[dict[str, Any]] = []
    for window in ("5m", "1h"):
        recordings.extend(
            [
                {
                    "record": f"namespace_service:http_requests:rate{window}",
                    "expr": (
                        f"sum by (namespace, service) (rate(http_requests_total[{window}]))"
                        f" and on(namespace) {_SERVING_TIER}"
                    ),
                },
                {
                    "record": f"namespace_service:http_request_errors:rate{window}",
                    # Either label convention: `status` (most middlewares) or `code` (promhttp).
                    "expr": (
                        f"sum by (namespace, service) (rate(http_requests_total{errors}[{window}])"
                        f" or rate(http_requests_total{errors_by_code}[{window}]))"
                        f" and on(namespace) {_SERVING_TIER}"
                    ),
                },
                {
                    "record": f"namespace_service:http_request_error_ratio:rate{window}",
                    "expr": (
                        f"(namespace_service:http_request_errors:rate{window}"
                        f" or namespace_service:http_requests:rate{window} * 0)"
                        f" / namespace_service:http_requests:rate{window}"
                    ),
                },
            ]
        )
    recordings.append(
        {
            "record": "namespace_service:http_request_duration_seconds:p99_rate5m",
            "expr": (
                "histogram_quantile(0.99, sum by (namespace, service, le)"
                " (rate(http_request_duration_seconds_bucket[5m])))"
                f" and on(namespace) {_SERVING_TIER}"
            ),
        }
    )
    alerts = [
        {
            "alert": "ServingErrorBudgetBurn",
            "expr": (
                f"(namespace_service:http_request_error_ratio:rate5m > {budget}"
                f" and namespace_service:http_request_error_ratio:rate1h > {budget})"
                f" unless on(namespace, service) {_VERSIONED_SERVICES}"
            ),
            "for": "2m",
            "labels": {"severity": "critical", "category": "serving-slo"},
            "annotations": {
                "summary": (
                    "{{ $labels.namespace }}/{{ $labels.service }} fails {{ $value | humanizePercentage }} of requests"
                ),
                "description": (
                    f"Errors burn the {_number(availability_objective * 100)}% availability budget "
                    f"{_number(SLO_FAST_BURN_RATE)} times too fast over both 5m and 1h."
                ),
            },
        },
        {
            "alert": "ServingLatencyHigh",
            "expr": (
                f"namespace_service:http_request_duration_seconds:p99_rate5m > {_number(latency_p99_seconds)}"
                f" unless on(namespace, service) {_VERSIONED_SERVICES}"
            ),
            "for": "10m",
            "labels": {"severity": "warning", "category": "serving-slo"},
            "annotations": {
                "summary": "{{ $labels.namespace }}/{{ $labels.service }} p99 latency is {{ $value | humanizeDuration }}",
                "description": f"Above the {_number(latency_p99_seconds)} s objective for 10 minutes.",
            },
        },
    ]
    return [
        {"name": "mlplatform-serving-slo.recording", "rules": recordings},
        {"name": "mlplatform-serving-slo", "rules": alerts},
    ]


def serving_version_rules(*, latency_p99_seconds: float, availability_objective: float) -> list[dict[str, Any]]:
    """Recording rules and alerts per model version: rate, 5xx ratio, p50/p95/p99, the same SLOs as per
    Service, and the canary comparison of each version with the other versions of its model.

    Every series is keyed by (namespace, model, model_version); `..._of_other_versions` series compare a version
    with the traffic of every other version of the same model (they exist only while another version serves).

    Args:
        latency_p99_seconds: the p99 latency objective, in seconds.
        availability_objective: the fraction of requests that must succeed (e.g. 0.99).
    """
    budget = _number(SLO_FAST_BURN_RATE * (1 - availability_objective))
    prefix = "namespace_model_version"
    recordings: list[dict[str, Any]] = []
    for window in ("5m", "1h"):
        requests, errors = f"{prefix}:http_requests:rate{window}", f"{prefix}:http_request_errors:rate{window}"
        recordings.extend(
            [
                {
                    "record": requests,
                    "expr": (
                        f"sum by ({_VERSION_KEYS}) (rate(http_requests_total{{{_VERSIONED}}}[{window}]))"
                        f" and on(namespace) {_SERVING_TIER}"
                    ),
                },
                {
                    "record": errors,
                    # Either label convention: `status` (most middlewares) or `code` (promhttp).
                    "expr": (
                        f'sum by ({_VERSION_KEYS}) (rate(http_requests_total{{{_VERSIONED}, status=~"5.."}}[{window}])'
                        f' or rate(http_requests_total{{{_VERSIONED}, code=~"5.."}}[{window}]))'
                        f" and on(namespace) {_SERVING_TIER}"
                    ),
                },
                {
                    "record": f"{prefix}:http_request_error_ratio:rate{window}",
                    "expr": f"({errors} or {requests} * 0) / {requests}",
                },
            ]
        )
    buckets = f"{prefix}_le:http_request_duration_seconds_bucket:rate5m"
    recordings.append(
        {
            "record": buckets,
            "expr": (
                f"sum by ({_VERSION_KEYS}, le) (rate(http_request_duration_seconds_bucket{{{_VERSIONED}}}[5m]))"
                f" and on(namespace) {_SERVING_TIER}"
            ),
        }
    )
    for quantile in ("50", "95", "99"):
        recordings.append(
            {
                "record": f"{prefix}:http_request_duration_seconds:p{quantile}_rate5m",
                "expr": f"histogram_quantile(0.{quantile}, {buckets})",
            }
        )
    # Each version against the sum of the other versions of its model: the model's total minus the version.
    requests, errors = f"{prefix}:http_requests:rate5m", f"{prefix}:http_request_errors:rate5m"
    others_requests = f"{prefix}:http_requests_of_other_versions:rate5m"
    filled_errors = f"({errors} or {requests} * 0)"
    recordings.extend(
        [
            {
                "record": others_requests,
                "expr": f"sum by (namespace, model) ({requests}) - on(namespace, model) group_right() {requests}",
            },
            {
                "record": f"{prefix}:http_request_error_ratio_of_other_versions:rate5m",
                "expr": (
                    f"(sum by (namespace, model) {filled_errors} - on(namespace, model) group_right() {filled_errors})"
                    f" / ({others_requests} > 0)"
                ),
            },
            {
                "record": f"{prefix}:http_request_duration_seconds:p95_of_other_versions_rate5m",
                "expr": (
                    f"histogram_quantile(0.95, sum by (namespace, model, le) ({buckets})"
                    f" - on(namespace, model, le) group_right() {buckets})"
                    f" and on({_VERSION_KEYS}) ({others_requests} > 0)"
                ),
            },
        ]
    )
    where = "{{ $labels.namespace }}/{{ $labels.model }} version {{ $labels.model_version }}"
    # The other versions serving now, i.e. the one to return to: read back from the recorded request rates.
    others = (
        "{{ range query (printf "
        f'"{prefix}:http_requests:rate5m{{namespace=\\"%s\\", model=\\"%s\\", model_version!=\\"%s\\"}}" '
        "$labels.namespace $labels.model $labels.model_version) }}{{ .Labels.model_version }} {{ end }}"
    )
    compared = (
        f" and on({_VERSION_KEYS}) {requests} > {_number(CANARY_MIN_REQUESTS_PER_SECOND)}"
        f" and on({_VERSION_KEYS}) {others_requests} > {_number(CANARY_MIN_REQUESTS_PER_SECOND)}"
    )
    p95, others_p95 = (
        f"{prefix}:http_request_duration_seconds:p95_rate5m",
        f"{prefix}:http_request_duration_seconds:p95_of_other_versions_rate5m",
    )
    canary_labels = {"severity": "warning", "category": "serving-canary"}
    alerts = [
        {
            "alert": "ServingVersionErrorBudgetBurn",
            "expr": (
                f"{prefix}:http_request_error_ratio:rate5m > {budget}"
                f" and {prefix}:http_request_error_ratio:rate1h > {budget}"
            ),
            "for": "2m",
            "labels": {"severity": "critical", "category": "serving-slo"},
            "annotations": {
                "summary": f"{where} fails {{{{ $value | humanizePercentage }}}} of requests",
                "description": (
                    f"Errors burn the {_number(availability_objective * 100)}% availability budget "
                    f"{_number(SLO_FAST_BURN_RATE)} times too fast over both 5m and 1h."
                ),
            },
        },
        {
            "alert": "ServingVersionLatencyHigh",
            "expr": f"{prefix}:http_request_duration_seconds:p99_rate5m > {_number(latency_p99_seconds)}",
            "for": "10m",
            "labels": {"severity": "warning", "category": "serving-slo"},
            "annotations": {
                "summary": f"{where} p99 latency is {{{{ $value | humanizeDuration }}}}",
                "description": f"Above the {_number(latency_p99_seconds)} s objective for 10 minutes.",
            },
        },
        {
            "alert": "ServingCanaryRegression",
            "expr": (
                f"({prefix}:http_request_error_ratio:rate5m"
                f" - {prefix}:http_request_error_ratio_of_other_versions:rate5m"
                f" > {_number(CANARY_ERROR_RATIO_MARGIN)}){compared}"
            ),
            "for": CANARY_FOR,
            "labels": {**canary_labels, "signal": "error_ratio"},
            "annotations": {
                "summary": (
                    f"{where} fails {{{{ $value | humanizePercentage }}}} more requests than the other versions"
                ),
                "description": (
                    f"Its 5xx ratio has been more than {_number(CANARY_ERROR_RATIO_MARGIN * 100)} percentage points "
                    f"above the other versions' for {CANARY_FOR}. Roll back: drop the ModelService's canary, or set "
                    f"its stable to {others}if this version is the stable one, then `pulumi up`."
                ),
            },
        },
        {
            "alert": "ServingCanaryRegression",
            "expr": (
                f"({p95} / {others_p95} > {_number(CANARY_LATENCY_FACTOR)}"
                f" and {p95} - {others_p95} > {_number(CANARY_LATENCY_MARGIN_SECONDS)}){compared}"
            ),
            "for": CANARY_FOR,
            "labels": {**canary_labels, "signal": "latency_p95"},
            "annotations": {
                "summary": f"{where} p95 latency is {{{{ $value | humanize }}}}× the other versions'",
                "description": (
                    f"Its p95 latency has been more than {_number(CANARY_LATENCY_FACTOR)}× the other versions' for "
                    f"{CANARY_FOR}. Roll back: drop the ModelService's canary, or set its "
                    f"stable to {others}if this version is the stable one, then `pulumi up`."
                ),
            },
        },
    ]
    return [
        {"name": "mlplatform-serving-versions.recording", "rules": recordings},
        {"name": "mlplatform-serving-versions", "rules": alerts},
    ]


def alert_rule_groups(*, latency_p99_seconds: float, availability_objective: float) -> list[dict[str, Any]]:
    """Every rule group the Monitoring component ships (the `spec.groups` of its PrometheusRule)."""
    return [
        gpu_health_rules(),
        gpu_capacity_rules(),
        *serving_slo_rules(latency_p99_seconds=latency_p99_seconds, availability_objective=availability_objective),
        *serving_version_rules(latency_p99_seconds=latency_p99_seconds, availability_objective=availability_objective),
    ]
