"""The model serving dashboard: valid Grafana JSON whose every query reads a series the per-version recording rules
record, filtered by variables it defines, with each version shown against the other versions of its model."""

from __future__ import annotations

import json
import re

from components.kubernetes._alerts import alert_rule_groups
from components.kubernetes._dashboards import (
    DASHBOARD_UID,
    SCHEMA_VERSION,
    SERVING_DASHBOARD_UID,
    serving_dashboard,
    serving_dashboard_json,
)
from tests.components.kubernetes.helpers import metric_names

PROMETHEUS_OWN_SERIES = {"ALERTS"}
"""Series Prometheus writes itself: one per pending or firing alert, labelled with the alert's labels."""


def recorded_series() -> set[str]:
    groups = alert_rule_groups(latency_p99_seconds=1.0, availability_objective=0.99)
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def panels() -> list[dict]:
    return [panel for panel in serving_dashboard()["panels"] if panel["type"] != "row"]


def variables() -> dict[str, dict]:
    return {variable["name"]: variable for variable in serving_dashboard()["templating"]["list"]}


def every_expression() -> list[str]:
    expressions = [target["expr"] for panel in panels() for target in panel["targets"]]
    expressions += [variable["query"]["query"] for variable in variables().values() if variable["type"] == "query"]
    return expressions


def test_the_dashboard_is_grafana_json_with_its_own_uid() -> None:
    document = json.loads(serving_dashboard_json())
    assert document == serving_dashboard(), "the ConfigMap payload is the dashboard, serialized without loss"
    assert document["schemaVersion"] == SCHEMA_VERSION, "Grafana needs a schemaVersion to migrate the panels"
    assert document["uid"] == SERVING_DASHBOARD_UID != DASHBOARD_UID, "two dashboards with one uid overwrite each other"


def test_panels_have_unique_ids_fit_the_grid_and_do_not_overlap() -> None:
    all_panels = serving_dashboard()["panels"]
    ids = [panel["id"] for panel in all_panels]
    assert len(ids) == len(set(ids)), f"panel ids must be unique: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in all_panels:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, f"{panel['title']} overflows Grafana's 24-column grid"
        for x in range(position["x"], position["x"] + position["w"]):
            for y in range(position["y"], position["y"] + position["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    for panel in panels():
        assert panel["targets"], f"{panel['title']} queries nothing"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), f"{panel['title']} repeats a refId: {refs}"


def test_every_query_reads_a_series_the_recording_rules_record() -> None:
    recorded = recorded_series()
    for expression in every_expression():
        names = metric_names(expression)
        assert names, f"no series read by {expression}"
        unknown = names - recorded - PROMETHEUS_OWN_SERIES
        assert not unknown, f"query reads series no rule records: {unknown} in {expression}"


def test_every_variable_used_is_defined_and_the_filters_are_namespace_model_and_version() -> None:
    defined = set(variables())
    assert {"datasource", "namespace", "model", "version"} <= defined, f"missing filters in {defined}"
    for expression in every_expression():
        used = set(re.findall(r"\$\{?(\w+)\}?", expression))
        assert used <= defined, f"{expression} uses undefined variables {used - defined}"
    assert "model_version" in variables()["version"]["query"]["query"], "versions are the model_version label"
    for panel in panels():
        for target in panel["targets"]:
            for variable in ("$namespace", "$model"):
                assert variable in target["expr"], f"{panel['title']} ignores the {variable} filter"


def test_the_dashboard_shows_rate_errors_and_p50_p95_p99_per_version() -> None:
    read = set().union(*(metric_names(expression) for expression in every_expression()))
    for rule in (
        "namespace_model_version:http_requests:rate5m",
        "namespace_model_version:http_request_error_ratio:rate5m",
        "namespace_model_version:http_request_duration_seconds:p50_rate5m",
        "namespace_model_version:http_request_duration_seconds:p95_rate5m",
        "namespace_model_version:http_request_duration_seconds:p99_rate5m",
    ):
        assert rule in read, f"the dashboard does not show {rule}"
    for panel in panels():
        for target in panel["targets"]:
            if target["legendFormat"]:
                assert "{{model_version}}" in target["legendFormat"], f"{panel['title']} does not name the version"


def test_the_canary_view_puts_each_version_beside_the_other_versions_of_its_model() -> None:
    compared = [
        [metric_names(target["expr"]) for target in panel["targets"]]
        for panel in panels()
        if len(panel["targets"]) == 2
    ]
    for own, others in (
        ("http_request_error_ratio:rate5m", "http_request_error_ratio_of_other_versions:rate5m"),
        ("http_request_duration_seconds:p95_rate5m", "http_request_duration_seconds:p95_of_other_versions_rate5m"),
    ):
        pair = [{f"namespace_model_version:{own}"}, {f"namespace_model_version:{others}"}]
        assert pair in compared, f"no panel shows {own} beside {others}"
