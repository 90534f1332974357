"""The GPU and serving alert rules: valid for Prometheus (`promtool check rules`) and right on synthetic series
(`promtool test rules`), over metrics the exporters really expose."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kubernetes._alerts import (
    FATAL_XIDS,
    GPU_TEMPERATURE_WARNING_CELSIUS,
    SERVING_METRICS,
    alert_rule_groups,
)
from tests.components.kubernetes.helpers import metric_names

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not found: install Prometheus's tools (Debian/Ubuntu: apt-get install prometheus) to check the alert rules",
)

# DCGM exporter default counters (NVIDIA/dcgm-exporter etc/default-counters.csv, REFERENCE.md) and the
# kube-state-metrics series the rules rely on.
EXPORTED_METRICS = {
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "kube_node_labels",
    "kube_node_status_condition",
    "kube_node_status_allocatable",
    "kube_namespace_labels",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
}

A10G = {"gpu": "0", "UUID": "GPU-5f1c", "modelName": "NVIDIA A10G", "Hostname": "gpu-node-1", "node": "gpu-node-1"}
ALLOCATED = {**A10G, "namespace": "fraud", "pod": "fraud-model-7d9f", "container": "model-server"}


def series(metric: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{metric}{{{inner}}}"


def rule_groups(*, keep_annotations: bool = False) -> list[dict[str, Any]]:
    """The shipped groups; annotations dropped unless asked for, so unit tests compare labels only."""
    groups = copy.deepcopy(alert_rule_groups(latency_p99_seconds=1.0, availability_objective=0.99))
    if not keep_annotations:
        for group in groups:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    return groups


def promtool(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *arguments], capture_output=True, text=True, cwd=cwd, check=False, timeout=60)


def run_unit_tests(tmp_path: Path, tests: list[dict[str, Any]], *, keep_annotations: bool = False) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups(keep_annotations=keep_annotations)}))
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests})
    )
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}\n{result.stderr}"


def alert(name: str, at: str, *expected: dict[str, str]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": labels} for labels in expected]}


def test_every_rule_reads_only_metrics_the_exporters_expose_or_rules_record() -> None:
    groups = alert_rule_groups(latency_p99_seconds=1.0, availability_objective=0.99)
    recorded = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    for group in groups:
        for rule in group["rules"]:
            unknown = metric_names(rule["expr"]) - EXPORTED_METRICS - recorded
            assert not unknown, f"{rule.get('alert') or rule['record']} reads metrics no exporter exposes: {unknown}"


def test_the_serving_metric_contract_is_what_the_slo_rules_read() -> None:
    groups = alert_rule_groups(latency_p99_seconds=1.0, availability_objective=0.99)
    read = set().union(*(metric_names(rule["expr"]) for group in groups for rule in group["rules"]))
    for metric in SERVING_METRICS:
        assert any(name.startswith(metric) for name in read), f"documented serving metric {metric} is not used"


def test_rules_cover_xid_temperature_memory_idle_nodes_and_slos() -> None:
    names = {rule.get("alert") for group in rule_groups() for rule in group["rules"]}
    expected = {
        "GpuFatalXidError",
        "GpuXidError",
        "GpuTemperatureHigh",
        "GpuMemoryPressure",
        "GpuAllocatedButIdle",
        "GpuNodeNotReady",
        "GpuNodeWithoutAllocatableGpus",
        "GpuMetricsMissing",
        "ServingErrorBudgetBurn",
        "ServingLatencyHigh",
    }
    assert expected <= names, f"missing alerts: {expected - names}"
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in ("critical", "warning"), (
                    f"{rule['alert']} needs a routable severity"
                )


@needs_promtool
def test_promtool_accepts_the_rule_file(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups(keep_annotations=True)}))
    result = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, f"Prometheus would reject the rules:\n{result.stdout}\n{result.stderr}"
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_a_fatal_xid_fires_a_critical_alert_whose_summary_names_the_xid(tmp_path: Path) -> None:
    assert 79 in FATAL_XIDS
    labels = {**A10G, "severity": "critical", "category": "gpu-health"}
    expected = {
        "eval_time": "10m",
        "alertname": "GpuFatalXidError",
        "exp_alerts": [
            {
                "exp_labels": labels,
                "exp_annotations": {
                    "summary": "GPU 0 (NVIDIA A10G) on node gpu-node-1 reported fatal XID 79",
                    "description": (
                        "The GPU needs a reset or replacement. Cordon and drain the node "
                        "(kubectl drain gpu-node-1 --ignore-daemonsets), then reboot or replace it."
                    ),
                    "runbook_url": "https://docs.nvidia.com/deploy/xid-errors/index.html",
                },
            }
        ],
    }
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [{"series": series("DCGM_FI_DEV_XID_ERRORS", A10G), "values": "0x5 79x20"}],
                "alert_rule_test": [
                    {"eval_time": "4m", "alertname": "GpuFatalXidError", "exp_alerts": []},
                    expected,
                    # The fatal alert replaces the generic one rather than paging twice.
                    {"eval_time": "10m", "alertname": "GpuXidError", "exp_alerts": []},
                ],
            }
        ],
        keep_annotations=True,
    )


@needs_promtool
def test_an_application_xid_fires_a_warning_that_clears_when_no_new_xid_arrives(tmp_path: Path) -> None:
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [{"series": series("DCGM_FI_DEV_XID_ERRORS", ALLOCATED), "values": "0x5 13x40"}],
                "alert_rule_test": [
                    alert("GpuXidError", "8m", {**ALLOCATED, "severity": "warning", "category": "gpu-health"}),
                    {"eval_time": "8m", "alertname": "GpuFatalXidError", "exp_alerts": []},
                    # The exporter keeps reporting the last XID; 15 minutes without a change resolve it.
                    {"eval_time": "30m", "alertname": "GpuXidError", "exp_alerts": []},
                ],
            }
        ],
    )


@needs_promtool
def test_a_cool_idle_gpu_does_not_fire_the_temperature_alert_and_a_hot_one_does(tmp_path: Path) -> None:
    hot = {**A10G, "gpu": "1", "UUID": "GPU-hot"}
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series("DCGM_FI_DEV_GPU_TEMP", A10G), "values": "38x30"},
                    {"series": series("DCGM_FI_DEV_GPU_UTIL", A10G), "values": "0x30"},
                    {
                        "series": series("DCGM_FI_DEV_GPU_TEMP", hot),
                        "values": f"{GPU_TEMPERATURE_WARNING_CELSIUS + 5}x30",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "GpuTemperatureHigh", "exp_alerts": []},
                    alert("GpuTemperatureHigh", "20m", {**hot, "severity": "warning", "category": "gpu-health"}),
                ],
            }
        ],
    )


@needs_promtool
def test_a_nearly_full_framebuffer_fires_memory_pressure_and_a_half_full_one_does_not(tmp_path: Path) -> None:
    half = {**A10G, "gpu": "1", "UUID": "GPU-half"}
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series("DCGM_FI_DEV_FB_USED", A10G), "values": "22800x30"},
                    {"series": series("DCGM_FI_DEV_FB_FREE", A10G), "values": "200x30"},
                    {"series": series("DCGM_FI_DEV_FB_USED", half), "values": "11500x30"},
                    {"series": series("DCGM_FI_DEV_FB_FREE", half), "values": "11500x30"},
                ],
                "alert_rule_test": [
                    alert("GpuMemoryPressure", "20m", {**A10G, "severity": "warning", "category": "gpu-capacity"}),
                ],
            }
        ],
    )


@needs_promtool
def test_an_allocated_idle_gpu_fires_the_cost_alert_but_busy_or_unallocated_ones_do_not(tmp_path: Path) -> None:
    busy = {**ALLOCATED, "gpu": "1", "UUID": "GPU-busy", "pod": "fraud-model-busy"}
    free = {**A10G, "gpu": "2", "UUID": "GPU-free"}
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series("DCGM_FI_DEV_GPU_UTIL", ALLOCATED), "values": "1x90"},
                    {"series": series("DCGM_FI_DEV_GPU_UTIL", busy), "values": "85x90"},
                    {"series": series("DCGM_FI_DEV_GPU_UTIL", free), "values": "0x90"},
                ],
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": "GpuAllocatedButIdle", "exp_alerts": []},
                    alert("GpuAllocatedButIdle", "65m", {**ALLOCATED, "severity": "warning", "category": "cost"}),
                ],
            }
        ],
    )


@needs_promtool
def test_gpu_node_alerts_fire_for_not_ready_nodes_missing_gpus_and_missing_metrics(tmp_path: Path) -> None:
    gpu_labels = {"label_nvidia_com_gpu_present": "true", "namespace": "monitoring"}
    ready = {"condition": "Ready", "status": "true", "namespace": "monitoring"}

    def node_series(node: str, *, is_ready: bool, gpus: int, dcgm: bool, gpu_node: bool = True) -> list[dict[str, str]]:
        result = [
            {"series": series("kube_node_status_condition", {**ready, "node": node}), "values": f"{int(is_ready)}x30"},
            {
                "series": series(
                    "kube_node_status_allocatable", {"node": node, "resource": "nvidia_com_gpu", "unit": "integer"}
                ),
                "values": f"{gpus}x30",
            },
        ]
        if gpu_node:
            result.append({"series": series("kube_node_labels", {**gpu_labels, "node": node}), "values": "1x30"})
        if dcgm:
            result.append(
                {"series": series("DCGM_FI_DEV_GPU_UTIL", {**A10G, "node": node, "Hostname": node}), "values": "50x30"}
            )
        return result

    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    *node_series("healthy", is_ready=True, gpus=1, dcgm=True),
                    *node_series("down", is_ready=False, gpus=1, dcgm=False),
                    *node_series("no-plugin", is_ready=True, gpus=0, dcgm=True),
                    *node_series("blind", is_ready=True, gpus=1, dcgm=False),
                    *node_series("cpu-down", is_ready=False, gpus=0, dcgm=False, gpu_node=False),
                ],
                "alert_rule_test": [
                    alert(
                        "GpuNodeNotReady",
                        "10m",
                        {**ready, "node": "down", "severity": "critical", "category": "gpu-capacity"},
                    ),
                    alert(
                        "GpuNodeWithoutAllocatableGpus",
                        "20m",
                        {**gpu_labels, "node": "no-plugin", "severity": "warning", "category": "gpu-capacity"},
                    ),
                    alert(
                        "GpuMetricsMissing",
                        "20m",
                        {**gpu_labels, "node": "blind", "severity": "warning", "category": "observability"},
                    ),
                ],
            }
        ],
    )


@needs_promtool
def test_serving_slo_alerts_fire_for_a_failing_slow_serving_service_only(tmp_path: Path) -> None:
    serving = {"namespace": "fraud", "service": "fraud-model"}
    other = {"namespace": "batch-jobs", "service": "etl"}

    def traffic(labels: dict[str, str], ok: int, errors: int) -> list[dict[str, str]]:
        return [
            {"series": series("http_requests_total", {**labels, "status": "200"}), "values": f"0+{ok}x90"},
            {"series": series("http_requests_total", {**labels, "status": "503"}), "values": f"0+{errors}x90"},
        ]

    def latency(labels: dict[str, str], slowest_bucket: str) -> list[dict[str, str]]:
        buckets = ("0.5", "1", "2.5", "+Inf")
        start = buckets.index(slowest_bucket)
        return [
            {
                "series": series("http_request_duration_seconds_bucket", {**labels, "le": le}),
                "values": "0+100x90" if index >= start else "0x90",
            }
            for index, le in enumerate(buckets)
        ]

    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": series(
                            "kube_namespace_labels", {"namespace": "fraud", "label_mlplatform_io_tier": "serving"}
                        ),
                        "values": "1x90",
                    },
                    {"series": series("kube_namespace_labels", {"namespace": "batch-jobs"}), "values": "1x90"},
                    *traffic(serving, ok=80, errors=20),
                    *traffic(other, ok=50, errors=50),
                    *latency(serving, "2.5"),
                    *latency(other, "+Inf"),
                ],
                "promql_expr_test": [
                    {
                        # 20 of every 100 requests fail (rounded: float division is not exact).
                        "expr": "round(namespace_service:http_request_error_ratio:rate5m, 0.001)",
                        "eval_time": "70m",
                        "exp_samples": [{"labels": series("", serving), "value": 0.2}],
                    }
                ],
                "alert_rule_test": [
                    alert(
                        "ServingErrorBudgetBurn", "70m", {**serving, "severity": "critical", "category": "serving-slo"}
                    ),
                    alert("ServingLatencyHigh", "70m", {**serving, "severity": "warning", "category": "serving-slo"}),
                ],
            }
        ],
    )


@needs_promtool
def test_a_healthy_fast_service_fires_no_slo_alert(tmp_path: Path) -> None:
    serving = {"namespace": "fraud", "service": "fraud-model"}
    run_unit_tests(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": series(
                            "kube_namespace_labels", {"namespace": "fraud", "label_mlplatform_io_tier": "serving"}
                        ),
                        "values": "1x90",
                    },
                    {"series": series("http_requests_total", {**serving, "status": "200"}), "values": "0+1000x90"},
                    {"series": series("http_requests_total", {**serving, "status": "500"}), "values": "0+1x90"},
                    *[
                        {
                            "series": series("http_request_duration_seconds_bucket", {**serving, "le": le}),
                            "values": "0+100x90",
                        }
                        for le in ("0.5", "1", "2.5", "+Inf")
                    ],
                ],
                "alert_rule_test": [
                    {"eval_time": "70m", "alertname": "ServingErrorBudgetBurn", "exp_alerts": []},
                    {"eval_time": "70m", "alertname": "ServingLatencyHigh", "exp_alerts": []},
                ],
            }
        ],
    )
