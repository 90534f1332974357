"""Monitoring: kube-prometheus-stack with secrets kept out of values, the GPU dashboard and the GPU/serving rules."""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from components._common.tags import TIER_LABEL
from components.kubernetes import Monitoring, _platform_policies
from components.kubernetes import _charts as charts
from components.kubernetes._alerts import alert_rule_groups
from components.kubernetes._dashboards import gpu_dashboard, serving_dashboard
from tests.components.kubernetes.helpers import chart, chart_values, objects_of_kind, run_with_provider

PSA = "pod-security.kubernetes.io/"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


def build(run, args=None):
    args = args or {}
    holder: dict[str, Monitoring] = {}

    def program(opts: pulumi.ResourceOptions) -> None:
        holder["component"] = Monitoring("monitoring", args, opts=opts)

    recorder = run_with_provider(run, program)
    return recorder, holder["component"]


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def test_kube_prometheus_stack_is_pinned_and_released_under_the_component_name(run) -> None:
    recorder, _ = build(run)
    kps = chart(recorder, "kube-prometheus-stack")
    assert kps.inputs["version"] == charts.KUBE_PROMETHEUS_STACK.version
    assert kps.inputs["name"] == "monitoring", "the release name derives from the component name"
    assert kps.inputs["namespace"] == "monitoring"
    assert chart_values(recorder, "kube-prometheus-stack")["fullnameOverride"] == "monitoring"


def test_prometheus_and_grafana_run_under_baseline_and_only_node_exporter_is_privileged(run) -> None:
    recorder, _ = build(run)
    namespaces = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in objects_of_kind(recorder, "Namespace")}
    assert namespaces["monitoring"][f"{PSA}enforce"] == "baseline"
    assert namespaces["monitoring"][f"{PSA}audit"] == "restricted", "drift toward privileged pods is audited"
    assert namespaces["node-exporter"][f"{PSA}enforce"] == "privileged", "host network, PID and paths"
    assert {labels[TIER_LABEL] for labels in namespaces.values()} == {"monitoring"}
    values = chart_values(recorder, "kube-prometheus-stack")
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"


def test_the_grafana_password_is_a_random_secret_output_kept_in_a_kubernetes_secret_not_in_values(run) -> None:
    recorder, component = build(run)
    password = recorder.one("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 32
    secret = recorder.one("kubernetes:core/v1:Secret", "monitoring-grafana-admin")
    assert secret.secret_inputs == ["stringData"], "the password reaches the Secret as a Pulumi secret"
    generated = secret.inputs["stringData"]["admin-password"]
    kps = chart(recorder, "kube-prometheus-stack")
    assert generated not in json.dumps(kps.inputs), "the password must never appear in Helm values"
    assert kps.secret_inputs == [], "nothing secret flows into the chart's values"
    grafana = chart_values(recorder, "kube-prometheus-stack")["grafana"]
    assert grafana["admin"]["existingSecret"] == secret.inputs["metadata"]["name"]
    assert secret.inputs["metadata"]["namespace"] == kps.inputs["namespace"], "Grafana reads its own namespace"
    assert _sync_await(component.grafana_admin_password.is_secret()), "the exported password stays secret"
    assert secret.urn in kps.dependencies, "the Secret exists before Grafana starts"


@pytest.mark.parametrize(
    ("receiver", "extra", "config_key", "file_setting"),
    [
        ("slack", {"slack_channel": "#ml-alerts"}, "slack_configs", "api_url_file"),
        ("webhook", {}, "webhook_configs", "url_file"),
        ("pagerduty", {}, "pagerduty_configs", "routing_key_file"),
    ],
)
def test_the_alert_receiver_credential_lives_in_a_secret_mounted_into_alertmanager(
    run, receiver: str, extra: dict, config_key: str, file_setting: str
) -> None:
    recorder, _ = build(
        run, {"alert_receiver": receiver, "alert_receiver_secret": pulumi.Output.secret(SLACK_URL), **extra}
    )
    secret = recorder.one("kubernetes:core/v1:Secret", "monitoring-alert-receiver")
    assert secret.secret_inputs == ["stringData"] and secret.inputs["stringData"]["credential"] == SLACK_URL
    kps = chart(recorder, "kube-prometheus-stack")
    assert SLACK_URL not in json.dumps(kps.inputs), "the receiver URL/key must not be in Helm values"
    alertmanager = chart_values(recorder, "kube-prometheus-stack")["alertmanager"]
    name = secret.inputs["metadata"]["name"]
    assert alertmanager["alertmanagerSpec"]["secrets"] == [name]
    platform = next(item for item in alertmanager["config"]["receivers"] if item["name"] == "platform")
    assert platform[config_key][0][file_setting] == f"/etc/alertmanager/secrets/{name}/credential"


def test_receivers_need_their_secret_and_slack_its_channel(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: Monitoring("monitoring", {"alert_receiver": "slack"}))
    assert set(errors_of(raised)) == {"alertReceiverSecret", "slackChannel"}


@pytest.mark.parametrize(
    ("resource", "dashboard"),
    [("monitoring-gpu-dashboard", gpu_dashboard), ("monitoring-serving-dashboard", serving_dashboard)],
)
def test_the_dashboards_ship_as_sidecar_configmaps(run, resource: str, dashboard) -> None:
    recorder, _ = build(run)
    config_map = recorder.one("kubernetes:core/v1:ConfigMap", resource)
    metadata = config_map.inputs["metadata"]
    assert metadata["labels"] == {"grafana_dashboard": "1"}, "the Grafana sidecar loads ConfigMaps with this label"
    assert metadata["namespace"] == "monitoring", "the dashboards live in the monitoring namespace"
    (document,) = config_map.inputs["data"].values()
    assert json.loads(document) == dashboard(), f"{resource} carries the {dashboard.__name__} document"
    dashboards = chart_values(recorder, "kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    assert metadata["namespace"] in dashboards["searchNamespace"], "the sidecar searches where the dashboard is"


def test_grafana_sidecars_are_bound_to_a_configmap_only_role_in_the_monitoring_namespace(run) -> None:
    recorder, _ = build(run)
    role = recorder.one("kubernetes:rbac.authorization.k8s.io/v1:Role", "monitoring-grafana-sidecar")
    assert role.inputs["metadata"] == {"name": "monitoring-grafana-sidecar", "namespace": "monitoring"}
    assert role.inputs["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    grafana = chart_values(recorder, "kube-prometheus-stack")["grafana"]
    assert grafana["rbac"]["useExistingRole"] == role.inputs["metadata"]["name"], "the chart binds this Role"
    assert grafana["rbac"]["namespaced"] is True, "no ClusterRole: Secrets elsewhere stay unreadable"


def test_the_gpu_and_serving_rules_ship_as_a_prometheus_rule_after_the_crds(run) -> None:
    recorder, _ = build(run, {"serving_latency_p99_seconds": 0.5, "serving_availability_objective": 0.999})
    rule = recorder.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert rule.inputs["metadata"]["namespace"] == "monitoring"
    assert rule.inputs["spec"]["groups"] == json.loads(
        json.dumps(alert_rule_groups(latency_p99_seconds=0.5, availability_objective=0.999))
    ), "the objectives given reach the rules"
    assert chart(recorder, "prometheus-operator-crds").urn in rule.dependencies, "the PrometheusRule CRD comes first"
    assert chart(recorder, "kube-prometheus-stack").urn not in rule.dependencies, (
        "the rule needs only its CRD, not the whole stack's rollout"
    )


def test_the_operator_crds_come_first_from_their_own_chart_of_the_same_operator_version(run) -> None:
    recorder, _ = build(run)
    crds = chart(recorder, "prometheus-operator-crds")
    assert crds.inputs["version"] == charts.PROMETHEUS_OPERATOR_CRDS.version
    assert crds.inputs["repositoryOpts"]["repo"] == charts.KUBE_PROMETHEUS_STACK.repo, "same project, same repo"
    assert "v0.93.1" in charts.PROMETHEUS_OPERATOR_CRDS.source and "v0.93.1" in charts.KUBE_PROMETHEUS_STACK.source, (
        "the CRDs must match the operator kube-prometheus-stack runs"
    )
    assert chart_values(recorder, "kube-prometheus-stack")["crds"] == {"enabled": False}, (
        "kube-prometheus-stack must not ship a second copy of the CRDs"
    )
    assert crds.urn in chart(recorder, "kube-prometheus-stack").dependencies, (
        "the chart's Prometheus and Alertmanager objects need the CRDs"
    )
    assert not crds.dependencies and not any(crds.property_dependencies.values()), (
        "cluster-scoped CRDs wait for nothing, not even the namespace"
    )


def test_service_monitor_labels_resolve_only_after_the_crds(run) -> None:
    """A chart given these labels is rendered after the CRDs (charts drop ServiceMonitors the cluster lacks)."""
    holder: dict[str, object] = {}

    def program(opts: pulumi.ResourceOptions) -> None:
        monitoring = Monitoring("monitoring", {}, opts=opts)
        holder["labels"] = monitoring.service_monitor_labels
        pulumi.CustomResource(
            "test:index:Consumer", "consumer", {"labels": monitoring.service_monitor_labels}, opts=opts
        )

    recorder = run_with_provider(run, program)
    consumer = recorder.one("test:index:Consumer")
    assert consumer.inputs["labels"] == {"release": "monitoring"}
    assert consumer.property_dependencies["labels"] == [chart(recorder, "prometheus-operator-crds").urn], (
        "the labels carry the CRDs as their only dependency"
    )


def test_without_grafana_there_is_no_password_and_no_dashboard(run) -> None:
    recorder, _ = build(run, {"grafana": False})
    assert not recorder.by_type("random:index/randomPassword:RandomPassword")
    assert not recorder.by_type("kubernetes:core/v1:ConfigMap")
    assert chart_values(recorder, "kube-prometheus-stack")["grafana"]["enabled"] is False


@pytest.mark.parametrize("protect", [True, False])
def test_protect_keeps_the_prometheus_volume_holder_from_being_destroyed(run, protect: bool) -> None:
    recorder, _ = build(run, {"protect": protect})
    kps = chart(recorder, "kube-prometheus-stack")
    assert kps.protect is protect and kps.retain_on_delete is protect, "prod must not lose metrics to a destroy"
    crds = chart(recorder, "prometheus-operator-crds")
    assert crds.protect is protect and crds.retain_on_delete is protect, (
        "deleting the CRDs deletes every ServiceMonitor and rule in the cluster; prod keeps them"
    )


def test_bad_retention_sizes_and_objectives_are_reported_together(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: Monitoring(
                "monitoring-for-the-whole-company",
                {
                    "retention": "two weeks",
                    "retention_size": "49GB",
                    "volume_size": "50Gi",
                    "serving_availability_objective": 1.5,
                    "node_exporter_namespace": "monitoring",
                },
            )
        )
    errors = errors_of(raised)
    assert {
        "name",
        "retention",
        "retentionSize",
        "servingAvailabilityObjective",
        "nodeExporterNamespace",
    } <= set(errors), errors


def test_outputs_give_in_cluster_urls_and_the_labels_for_service_monitors(run) -> None:
    recorder, _ = build(run)
    outputs = recorder.one("mlplatform:index:Monitoring").outputs
    assert outputs["prometheusUrl"] == "http://monitoring-prometheus.monitoring.svc:9090"
    assert outputs["grafanaUrl"] == "http://monitoring-grafana.monitoring.svc"
    assert outputs["serviceMonitorLabels"] == {"release": "monitoring"}
    assert "GpuAllocatedButIdle" in outputs["ruleNames"]
    assert outputs["ruleNames"].count("ServingCanaryRegression") == 1, "an alert of several rules is named once"


def test_both_namespaces_get_the_platform_network_policies(run) -> None:
    recorder, _ = build(run, {"alert_receiver": "slack", "alert_receiver_secret": SLACK_URL, "slack_channel": "#a"})
    policies = {
        (policy["metadata"]["namespace"], policy["metadata"]["name"]): policy["spec"]
        for policy in objects_of_kind(recorder, "NetworkPolicy")
    }
    expected = {
        ("monitoring", name): spec
        for name, spec in _platform_policies.monitoring_network_policies(
            namespace="monitoring", alert_receiver=True
        ).items()
    } | {
        ("node-exporter", name): spec
        for name, spec in _platform_policies.node_exporter_network_policies(monitoring_namespace="monitoring").items()
    }
    assert policies == expected
    assert ("monitoring", "allow-alertmanager-receiver") in policies, "a receiver needs HTTPS out"
