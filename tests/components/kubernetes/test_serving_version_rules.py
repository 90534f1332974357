"""Per-model-version serving rules: rate, errors and latency per version, the SLO alerts per version, and the
canary alert that compares a version with the other versions of its model (`promtool test rules`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.kubernetes._alerts import (
    CANARY_ERROR_RATIO_MARGIN,
    CANARY_LATENCY_FACTOR,
    CANARY_MIN_REQUESTS_PER_SECOND,
    alert_rule_groups,
)
from tests.components.kubernetes.test_alert_rules import alert, needs_promtool, rule_groups, run_unit_tests, series

SERVING_NAMESPACE = {
    "series": series("kube_namespace_labels", {"namespace": "fraud", "label_mlplatform_io_tier": "serving"}),
    "values": "1x90",
}
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
CANARY = {"severity": "warning", "category": "serving-canary"}


def version(model: str, model_version: str) -> dict[str, str]:
    """The labels a versioned pod's series carry after ModelDeployment's ServiceMonitor relabeling."""
    return {"namespace": "fraud", "service": f"{model}-{model_version}", "model": model, "model_version": model_version}


def traffic(labels: dict[str, str], *, ok: int, errors: int, slowest: str = "0.05") -> list[dict[str, str]]:
    """Requests per minute (`ok` 200s, `errors` 503s), all answered within the `slowest` bucket."""
    start = BUCKETS.index(slowest)
    return [
        {"series": series("http_requests_total", {**labels, "status": "200"}), "values": f"0+{ok}x90"},
        {"series": series("http_requests_total", {**labels, "status": "503"}), "values": f"0+{errors}x90"},
        *[
            {
                "series": series("http_request_duration_seconds_bucket", {**labels, "le": le}),
                "values": f"0+{ok + errors}x90" if index >= start else "0x90",
            }
            for index, le in enumerate(BUCKETS)
        ],
    ]


def keys(labels: dict[str, str]) -> dict[str, str]:
    """The labels every per-version rule keeps."""
    return {key: labels[key] for key in ("namespace", "model", "model_version")}


def canary(labels: dict[str, str], signal: str) -> dict[str, str]:
    return keys(labels) | CANARY | {"signal": signal}


def silent(name: str, at: str = "70m") -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": []}


def test_the_rules_record_rate_errors_and_latency_quantiles_per_namespace_model_and_version() -> None:
    groups = alert_rule_groups(latency_p99_seconds=1.0, availability_objective=0.99)
    recorded = {rule["record"]: rule["expr"] for group in groups for rule in group["rules"] if "record" in rule}
    for name in (
        "namespace_model_version:http_requests:rate5m",
        "namespace_model_version:http_request_error_ratio:rate5m",
        "namespace_model_version:http_request_duration_seconds:p50_rate5m",
        "namespace_model_version:http_request_duration_seconds:p95_rate5m",
        "namespace_model_version:http_request_duration_seconds:p99_rate5m",
        "namespace_model_version:http_request_error_ratio_of_other_versions:rate5m",
        "namespace_model_version:http_request_duration_seconds:p95_of_other_versions_rate5m",
    ):
        assert name in recorded, f"the dashboard and the canary alert read {name}"
    assert "namespace, model, model_version" in recorded["namespace_model_version:http_requests:rate5m"], (
        "per-version series are keyed by namespace, model and version, whatever Service or pod serves them"
    )
    names = {rule.get("alert") for group in rule_groups() for rule in group["rules"]}
    assert {"ServingVersionErrorBudgetBurn", "ServingVersionLatencyHigh", "ServingCanaryRegression"} <= names, (
        f"per-version SLO and canary alerts missing from {names}"
    )


@needs_promtool
def test_a_failing_canary_fires_the_canary_alert_for_itself_only(tmp_path: Path) -> None:
    stable, bad, good = version("fraud", "v1"), version("fraud", "v2"), version("fraud", "v3")
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    SERVING_NAMESPACE,
                    *traffic(stable, ok=99, errors=1),
                    *traffic(bad, ok=16, errors=4),
                    *traffic(good, ok=20, errors=0),
                ],
                "promql_expr_test": [
                    {
                        # v2 fails 20 %; the others fail 1 of 120 requests a minute.
                        "expr": "round(namespace_model_version:http_request_error_ratio:rate5m, 0.001)",
                        "eval_time": "30m",
                        "exp_samples": [
                            {"labels": series("", keys(labels)), "value": value}
                            for labels, value in ((stable, 0.01), (bad, 0.2), (good, 0.0))
                        ],
                    },
                    {
                        "expr": "round(namespace_model_version:http_request_error_ratio_of_other_versions:rate5m, 0.001)",
                        "eval_time": "30m",
                        "exp_samples": [
                            {"labels": series("", keys(labels)), "value": value}
                            for labels, value in ((stable, 0.1), (bad, 0.008), (good, 0.042))
                        ],
                    },
                ],
                "alert_rule_test": [
                    # Rates need 5 minutes of samples, then the alert waits CANARY_FOR (10m).
                    silent("ServingCanaryRegression", "10m"),
                    alert("ServingCanaryRegression", "30m", canary(bad, "error_ratio")),
                ],
            }
        ],
    )
    assert CANARY_ERROR_RATIO_MARGIN < 0.2 - 0.008, "v2 is worse than the others by more than the margin"


@needs_promtool
def test_a_slow_canary_fires_the_latency_signal_and_a_healthy_one_stays_silent(tmp_path: Path) -> None:
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    SERVING_NAMESPACE,
                    *traffic(version("fraud", "v1"), ok=100, errors=0),
                    *traffic(version("fraud", "v2"), ok=10, errors=0, slowest="0.5"),
                    *traffic(version("churn", "v7"), ok=100, errors=1, slowest="0.1"),
                    *traffic(version("churn", "v8"), ok=10, errors=0, slowest="0.1"),
                ],
                "promql_expr_test": [
                    {
                        # All of v2's requests in (0.25, 0.5]: p95 interpolates to 0.25 + 0.95 * 0.25.
                        "expr": (
                            'round(namespace_model_version:http_request_duration_seconds:p95_rate5m{model="fraud"}, 0.0001)'
                        ),
                        "eval_time": "30m",
                        "exp_samples": [
                            {"labels": series("", keys(version("fraud", "v1"))), "value": 0.0475},
                            {"labels": series("", keys(version("fraud", "v2"))), "value": 0.4875},
                        ],
                    }
                ],
                "alert_rule_test": [
                    # churn v8 answers as fast as v7 and without errors: healthy, silent.
                    alert("ServingCanaryRegression", "30m", canary(version("fraud", "v2"), "latency_p95")),
                ],
            }
        ],
    )
    assert CANARY_LATENCY_FACTOR < 0.4875 / 0.0475, "v2's p95 is ten times v1's"


@needs_promtool
def test_a_healthy_canary_fires_nothing(tmp_path: Path) -> None:
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    SERVING_NAMESPACE,
                    *traffic(version("fraud", "v1"), ok=990, errors=1),
                    *traffic(version("fraud", "v2"), ok=99, errors=0),
                ],
                "alert_rule_test": [
                    silent("ServingCanaryRegression"),
                    silent("ServingVersionErrorBudgetBurn"),
                    silent("ServingVersionLatencyHigh"),
                ],
            }
        ],
    )


@needs_promtool
def test_a_failing_single_version_model_fires_the_version_slo_but_no_canary_and_no_service_alert(
    tmp_path: Path,
) -> None:
    only = version("fraud", "v1")
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [SERVING_NAMESPACE, *traffic(only, ok=80, errors=20, slowest="2.5")],
                "promql_expr_test": [
                    {
                        # No other version: nothing to compare with, so no series at all.
                        "expr": "namespace_model_version:http_request_error_ratio_of_other_versions:rate5m",
                        "eval_time": "70m",
                        "exp_samples": [],
                    }
                ],
                "alert_rule_test": [
                    silent("ServingCanaryRegression"),
                    alert(
                        "ServingVersionErrorBudgetBurn",
                        "70m",
                        keys(only) | {"severity": "critical", "category": "serving-slo"},
                    ),
                    alert(
                        "ServingVersionLatencyHigh",
                        "70m",
                        keys(only) | {"severity": "warning", "category": "serving-slo"},
                    ),
                    # The same pods under their Service: paged once, by the per-version alert.
                    silent("ServingErrorBudgetBurn"),
                    silent("ServingLatencyHigh"),
                ],
            }
        ],
    )


@needs_promtool
def test_too_little_traffic_on_either_side_is_not_compared(tmp_path: Path) -> None:
    per_minute = int(CANARY_MIN_REQUESTS_PER_SECOND * 60)
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    SERVING_NAMESPACE,
                    *traffic(version("fraud", "v1"), ok=100, errors=0),
                    # Half the minimum rate, all failing: too few requests to judge a version by.
                    *traffic(version("fraud", "v2"), ok=0, errors=per_minute // 2),
                ],
                "alert_rule_test": [silent("ServingCanaryRegression", "30m")],
            }
        ],
    )


@needs_promtool
def test_the_canary_alert_names_the_version_to_roll_back_to(tmp_path: Path) -> None:
    stable, bad = version("fraud", "v1"), version("fraud", "v2")
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    SERVING_NAMESPACE,
                    *traffic(stable, ok=100, errors=0),
                    *traffic(bad, ok=15, errors=5),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "30m",
                        "alertname": "ServingCanaryRegression",
                        "exp_alerts": [
                            {
                                "exp_labels": canary(bad, "error_ratio"),
                                "exp_annotations": {
                                    "summary": "fraud/fraud version v2 fails 25% more requests than the other versions",
                                    "description": (
                                        "Its 5xx ratio has been more than 2 percentage points above the other "
                                        "versions' for 10m. Roll back: drop the ModelService's canary, or set its "
                                        "stable to v1 if this version is the stable one, then `pulumi up`."
                                    ),
                                },
                            }
                        ],
                    }
                ],
            }
        ],
        keep_annotations=True,
    )
