"""The GPU fleet dashboard: valid Grafana JSON whose every query reads metrics the exporters really expose."""

from __future__ import annotations

import json

from components._common import gpu
from components.kubernetes._dashboards import SCHEMA_VERSION, gpu_dashboard, gpu_dashboard_json
from components.kubernetes._values import prometheus_label
from tests.components.kubernetes.helpers import metric_names

# DCGM exporter default counters (NVIDIA/dcgm-exporter etc/default-counters.csv; the GPU operator ships the
# same list) and the kube-state-metrics series the dashboard joins to.
DCGM_DEFAULT_COUNTERS = {
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
    "DCGM_FI_PROF_PCIE_TX_BYTES",
    "DCGM_FI_PROF_PCIE_RX_BYTES",
}
KUBE_STATE_METRICS = {"kube_node_labels", "kube_pod_container_resource_requests", "kube_pod_status_phase"}
REQUIRED_GPU_METRICS = {
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
}


def panels() -> list[dict]:
    return [panel for panel in gpu_dashboard()["panels"] if panel["type"] != "row"]


def every_expression() -> list[str]:
    expressions = [target["expr"] for panel in panels() for target in panel["targets"]]
    expressions += [
        variable["query"]["query"] for variable in gpu_dashboard()["templating"]["list"] if variable["type"] == "query"
    ]
    return expressions


def test_the_dashboard_is_grafana_json_with_schema_version_uid_and_title() -> None:
    document = json.loads(gpu_dashboard_json())
    assert document["schemaVersion"] == SCHEMA_VERSION >= 36, "Grafana needs a schemaVersion to migrate the panels"
    assert document["uid"] and document["title"], "the sidecar identifies dashboards by uid"
    assert document == gpu_dashboard(), "the ConfigMap payload is the dashboard, serialized without loss"


def test_every_panel_has_a_unique_id_a_grid_position_a_datasource_and_targets() -> None:
    all_panels = gpu_dashboard()["panels"]
    ids = [panel["id"] for panel in all_panels]
    assert len(ids) == len(set(ids)), f"panel ids must be unique: {ids}"
    for panel in all_panels:
        position = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= set(position), f"{panel['title']} lacks a grid position"
        assert position["x"] + position["w"] <= 24, f"{panel['title']} overflows Grafana's 24-column grid"
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"{panel['title']} queries nothing"
        for target in panel["targets"]:
            assert target["refId"] and target["expr"], f"{panel['title']} has an empty target"


def test_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in gpu_dashboard()["panels"]:
        position = panel["gridPos"]
        for x in range(position["x"], position["x"] + position["w"]):
            for y in range(position["y"], position["y"] + position["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_reads_only_dcgm_default_counters_and_kube_state_metrics() -> None:
    for expression in every_expression():
        unknown = metric_names(expression) - DCGM_DEFAULT_COUNTERS - KUBE_STATE_METRICS
        assert not unknown, f"query reads metrics no exporter exposes by default: {unknown} in {expression}"


def test_the_dashboard_shows_utilization_memory_temperature_power_xid_and_tensor_cores() -> None:
    used = set().union(*(metric_names(expression) for expression in every_expression()))
    assert used >= REQUIRED_GPU_METRICS, f"missing GPU signals: {REQUIRED_GPU_METRICS - used}"


def test_the_dashboard_filters_by_pool_node_namespace_and_pod() -> None:
    variables = {variable["name"]: variable for variable in gpu_dashboard()["templating"]["list"]}
    assert {"datasource", "pool", "node", "namespace", "pod"} <= set(variables)
    assert prometheus_label(gpu.GPU_POOL_LABEL) in variables["pool"]["query"]["query"], (
        "pools come from the GPU contract's node label, exported by kube-state-metrics"
    )
    for panel in panels():
        for target in panel["targets"]:
            if "DCGM_FI_" in target["expr"]:
                for variable in ("$node", "$namespace", "$pod"):
                    assert variable in target["expr"], f"{panel['title']} ignores the {variable} filter"
