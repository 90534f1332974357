"""Helm values builders: each fixes a default-configuration trap that leaves GPU nodes invisible elsewhere."""

from __future__ import annotations

import json

import pytest

from components._common import gpu
from components.kubernetes import _charts, _values
from components.kubernetes._values import (
    alertmanager_config,
    dcgm_exporter_values,
    device_plugin_values,
    fluent_bit_values,
    gpu_operator_values,
    kube_prometheus_stack_values,
)
from policies.rules.settings import DEFAULT_CHART_REPOSITORIES
from tests.components.kubernetes.helpers import every_gpu_taint, prometheus_selector, selector_matches, tolerates


def kps_values(**overrides) -> dict:
    arguments = {
        "fullname": "monitoring",
        "retention": "15d",
        "retention_size": "40GB",
        "volume_size": "50Gi",
        "alertmanager_volume_size": "2Gi",
        "storage_class_name": "encrypted-gp3",
        "alertmanager": alertmanager_config("none"),
        "alertmanager_secrets": [],
        "grafana_enabled": True,
        "grafana_admin_secret": "monitoring-grafana-admin",
        "grafana_sidecar_role": "monitoring-grafana-sidecar",
        "namespace": "monitoring",
        "node_exporter_namespace": "node-exporter",
        "scrape_control_plane": False,
    }
    arguments.update(overrides)
    return kube_prometheus_stack_values(**arguments)


OPERATOR = gpu_operator_values(driver_preinstalled=True, toolkit_preinstalled=True, service_monitor_labels={})
FLUENT_BIT = fluent_bit_values(
    es_host="logs-es-http.logging.svc",
    data_stream="container-logs",
    ca_config_map="logs-es-http-ca",
    credentials_secret="logs-log-writer",
    service_monitor=False,
)

# Every agent that must run on GPU nodes, with the tolerations its values give it.
GPU_AGENTS = {
    "GPU operator operands (device plugin, DCGM exporter, validator)": OPERATOR["daemonsets"]["tolerations"],
    "Node Feature Discovery worker": OPERATOR["node-feature-discovery"]["worker"]["tolerations"],
    "NVIDIA device plugin (device-plugin mode)": device_plugin_values()["tolerations"],
    "DCGM exporter (device-plugin mode)": dcgm_exporter_values({})["tolerations"],
    "node exporter": kps_values()["prometheus-node-exporter"]["tolerations"],
    "Fluent Bit": FLUENT_BIT["tolerations"],
}


@pytest.mark.parametrize(("cloud", "taint"), every_gpu_taint(), ids=lambda value: str(value))
@pytest.mark.parametrize("agent", sorted(GPU_AGENTS))
def test_every_gpu_agent_tolerates_every_clouds_gpu_taint(agent: str, cloud: str, taint: gpu.Taint) -> None:
    assert tolerates(GPU_AGENTS[agent], taint), f"{agent} would never run on {cloud} GPU nodes tainted {taint.aks()}"


def test_gpu_only_agents_are_pinned_to_gpu_nodes_with_the_contract_selector() -> None:
    for agent, values in (("device plugin", device_plugin_values()), ("DCGM exporter", dcgm_exporter_values({}))):
        assert values["nodeSelector"] == gpu.gpu_node_selector(), f"{agent} must select GPU nodes only"


def test_node_agents_also_run_on_the_system_pool() -> None:
    for agent in ("node exporter", "Fluent Bit"):
        assert tolerates(GPU_AGENTS[agent], gpu.CRITICAL_ADDONS_TAINT), f"{agent} would skip the AKS system pool"


def test_the_gpu_operator_skips_driver_and_toolkit_only_when_the_image_ships_them() -> None:
    assert OPERATOR["driver"]["enabled"] is False and OPERATOR["toolkit"]["enabled"] is False, (
        "EKS NVIDIA AMIs and AKS driver=Install already ship driver and toolkit; a second driver breaks the node"
    )
    own = gpu_operator_values(driver_preinstalled=False, toolkit_preinstalled=False, service_monitor_labels={})
    assert own["driver"]["enabled"] is True and own["toolkit"]["enabled"] is True
    assert OPERATOR["dcgmExporter"]["enabled"] is True and OPERATOR["devicePlugin"]["enabled"] is True


def test_the_dcgm_service_monitor_is_on_labelled_and_keeps_the_workloads_pod_labels() -> None:
    monitor = gpu_operator_values(
        driver_preinstalled=True, toolkit_preinstalled=True, service_monitor_labels={"release": "monitoring"}
    )["dcgmExporter"]["serviceMonitor"]
    assert monitor["enabled"] is True, "GPU operator v25.x defaults the ServiceMonitor to off"
    assert monitor["additionalLabels"] == {"release": "monitoring"}
    relabel = {item["action"]: item for item in monitor["relabelings"]}
    assert relabel["replace"]["targetLabel"] == _values.NODE_LABEL, "every GPU series needs its node"
    assert relabel["labeldrop"]["regex"] == "namespace|pod|container", (
        "the exporter pod's own labels would otherwise turn the workload's into exported_namespace/exported_pod"
    )
    assert dcgm_exporter_values({"release": "monitoring"})["serviceMonitor"] == monitor, "both modes scrape alike"


@pytest.mark.parametrize("kind", ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"])
def test_prometheus_selects_every_monitor_and_rule_whatever_its_labels_and_namespace(kind: str) -> None:
    spec = kps_values()["prometheus"]["prometheusSpec"]
    assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, "true would select only release-labelled objects"
    selector = prometheus_selector(spec, kind, release="monitoring")
    assert selector_matches(selector, {}), f"an unlabelled {kind} (like the GPU operator's) must be selected"
    assert spec[f"{kind}NamespaceSelector"] == {}, f"{kind}s from every namespace must be selected"


def test_prometheus_keeps_its_retention_on_a_persistent_volume_of_the_given_class() -> None:
    spec = kps_values()["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d" and spec["retentionSize"] == "40GB"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "encrypted-gp3", "storageSpec {} (the chart default) means no volume at all"
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    alertmanager_claim = kps_values()["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"]
    assert alertmanager_claim["storageClassName"] == "encrypted-gp3"


def test_without_a_storage_class_the_claim_uses_the_cluster_default() -> None:
    claim = kps_values(storage_class_name=None)["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]
    assert "storageClassName" not in claim["spec"], "an empty class name would disable dynamic provisioning"


def test_grafana_reads_its_admin_password_from_a_secret_and_loads_labelled_dashboards() -> None:
    grafana = kps_values()["grafana"]
    assert grafana["admin"] == {
        "existingSecret": "monitoring-grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in grafana, "the chart's default password must never be used or replaced in values"
    dashboards = grafana["sidecar"]["dashboards"]
    assert (dashboards["label"], dashboards["labelValue"]) == ("grafana_dashboard", "1")


def test_grafana_sidecars_read_only_configmaps_of_the_monitoring_namespace() -> None:
    grafana = kps_values()["grafana"]
    # grafana 12.11.1: rbac.namespaced renders a Role + RoleBinding per namespace instead of the ClusterRole
    # (templates/clusterrole.yaml renders only when `not rbac.namespaced`); useExistingRole binds our Role.
    assert grafana["rbac"] == {"namespaced": True, "useExistingRole": "monitoring-grafana-sidecar"}
    for sidecar in ("dashboards", "datasources"):
        settings = grafana["sidecar"][sidecar]
        assert settings["searchNamespace"] == ["monitoring"], f"{sidecar}: 'ALL' needs cluster-wide read"
        assert settings["resource"] == "configmap", f"{sidecar}: the chart default 'both' also watches Secrets"
    assert _values.GRAFANA_SIDECAR_ROLE_RULES == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    ], "the sidecars' Role grants no Secret and no write"


PLATFORM_CONTAINER_RESOURCES = {
    "Grafana": lambda: kps_values()["grafana"]["resources"],
    "Grafana sidecars": lambda: kps_values()["grafana"]["sidecar"]["resources"],
    "node exporter": lambda: kps_values()["prometheus-node-exporter"]["resources"],
    "kube-state-metrics": lambda: kps_values()["kube-state-metrics"]["resources"],
    "Prometheus operator": lambda: kps_values()["prometheusOperator"]["resources"],
    "config reloader": lambda: kps_values()["prometheusOperator"]["prometheusConfigReloader"]["resources"],
    "Prometheus": lambda: kps_values()["prometheus"]["prometheusSpec"]["resources"],
    "Alertmanager": lambda: kps_values()["alertmanager"]["alertmanagerSpec"]["resources"],
    "ECK operator": lambda: _values.eck_operator_values(["logging"])["resources"],
    "Fluent Bit": lambda: FLUENT_BIT["resources"],
    "GPU operator": lambda: _values.gpu_operator_hardening_values()["operator"]["resources"],
}


@pytest.mark.parametrize("container", PLATFORM_CONTAINER_RESOURCES)
def test_every_platform_container_has_requests_and_a_memory_limit(container: str) -> None:
    resources = PLATFORM_CONTAINER_RESOURCES[container]()
    assert {"cpu", "memory"} <= set(resources["requests"]), f"{container}: the scheduler needs both requests"
    assert "memory" in resources["limits"], f"{container}: a leaking container must not starve its node"


def test_the_gpu_operator_fragment_sets_only_what_the_chart_exposes() -> None:
    # gpu-operator v26.7.0 templates/operator.yaml reads `operator.resources` and no security context value;
    # the security contexts come from the transform in _charts.py.
    assert set(_values.gpu_operator_hardening_values()) == {"operator"}
    assert set(_values.gpu_operator_hardening_values()["operator"]) == {"resources"}


def test_kube_state_metrics_exports_the_gpu_pool_and_tier_labels() -> None:
    allowlist = kps_values()["kube-state-metrics"]["metricLabelsAllowlist"]
    nodes = next(item for item in allowlist if item.startswith("nodes="))
    for label in (gpu.GPU_POOL_LABEL, gpu.GPU_PRESENT_LABEL):
        assert label in nodes, f"dashboards and alerts join on kube_node_labels' {label}"
    assert any(item.startswith("namespaces=") and "mlplatform.io/tier" in item for item in allowlist)


def test_node_exporter_runs_in_its_own_namespace_and_managed_control_planes_are_not_scraped() -> None:
    values = kps_values()
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"
    for component in ("kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy"):
        assert values[component]["enabled"] is False, f"{component} is not reachable on EKS/AKS"
    assert kps_values(scrape_control_plane=True)["kubeScheduler"]["enabled"] is True


def test_hook_dependent_admission_webhooks_are_off_for_helm_v4() -> None:
    operator = kps_values()["prometheusOperator"]
    assert operator["admissionWebhooks"]["enabled"] is False, "their certificate Jobs are Helm hooks"
    assert operator["tls"]["enabled"] is False, "the TLS listener would wait for the webhook certificate"


@pytest.mark.parametrize(
    ("receiver", "key", "setting"),
    [
        ("webhook", "webhook_configs", "url_file"),
        ("slack", "slack_configs", "api_url_file"),
        ("pagerduty", "pagerduty_configs", "routing_key_file"),
    ],
)
def test_alert_receivers_read_their_credential_from_a_mounted_file(receiver: str, key: str, setting: str) -> None:
    path = "/etc/alertmanager/secrets/monitoring-alert-receiver/credential"
    config = alertmanager_config(receiver, secret_file=path, slack_channel="#ml-alerts")
    platform = next(item for item in config["receivers"] if item["name"] == "platform")
    assert platform[key][0][setting] == path, "the URL/key stays in the Secret, never in the config"
    assert config["route"]["receiver"] == "platform"
    assert config["route"]["routes"][0] == {"receiver": "null", "matchers": ['alertname = "Watchdog"']}


def test_the_none_receiver_keeps_alerts_in_alertmanager() -> None:
    config = alertmanager_config("none")
    assert config["route"]["receiver"] == "null" and config["receivers"] == [{"name": "null"}]


def test_fluent_bit_ships_to_the_eck_service_over_verified_tls_with_the_writer_credentials() -> None:
    outputs = FLUENT_BIT["config"]["outputs"]
    assert "Host logs-es-http.logging.svc" in outputs, "the chart's default host elasticsearch-master does not exist"
    assert "tls.verify On" in outputs and "tls On" in outputs
    assert f"tls.ca_file {_values.FLUENT_BIT_CA_DIR}/ca.crt" in outputs
    assert {"name": "es-ca", "configMap": {"name": "logs-es-http-ca"}} in FLUENT_BIT["extraVolumes"]
    references = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in FLUENT_BIT["env"]}
    assert references["ES_USER"] == {"name": "logs-log-writer", "key": "username"}
    assert references["ES_PASSWORD"] == {"name": "logs-log-writer", "key": "password"}
    assert "HTTP_Passwd ${ES_PASSWORD}" in outputs, "the password is read from the environment, not written in"


def test_fluent_bit_writes_to_the_data_stream_the_lifecycle_policy_governs() -> None:
    outputs = FLUENT_BIT["config"]["outputs"]
    assert "Index container-logs" in outputs and "Write_Operation create" in outputs, "data streams accept only create"
    assert "Suppress_Type_Name On" in outputs, "Elasticsearch 8+ rejects mapping types"
    assert FLUENT_BIT["kind"] == "DaemonSet"


def test_the_eck_operator_installs_crds_and_manages_only_the_logging_namespace() -> None:
    values = _values.eck_operator_values(["logging"])
    assert values["installCRDs"] is True and values["managedNamespaces"] == ["logging"]


# Publishers that ship their charts only to an OCI registry they run, with where they say so.
OFFICIAL_OCI_REGISTRIES = {
    # website/content/en/v1.14/getting-started/.../step08-apply-helm-chart.sh and upgrading/upgrade-guide.md.
    "oci://public.ecr.aws/karpenter": "aws/karpenter-provider-aws (Karpenter's own public ECR registry)",
    # envoyproxy/gateway v1.9.0 site/content/en/v1.9/install/install-helm.md: "It is published at
    # `oci://docker.io/envoyproxy/gateway-helm`"; the `envoyproxy` organisation is the project's own.
    "oci://docker.io/envoyproxy": "envoyproxy/gateway (the Envoy project's Docker Hub organisation)",
    # kubernetes-sigs/kueue v0.19.2 charts/kueue/README.md: "the charts pushed to
    # `oci://registry.k8s.io/kueue/charts/kueue`"; registry.k8s.io is the Kubernetes project's own registry.
    "oci://registry.k8s.io/kueue/charts": "kubernetes-sigs/kueue (the Kubernetes project's registry)",
    # kubernetes-sigs/jobset v0.12.0 charts/jobset/README.md: `helm install [RELEASE_NAME]
    # oci://registry.k8s.io/jobset/charts/jobset --version 0.12.0`.
    "oci://registry.k8s.io/jobset/charts": "kubernetes-sigs/jobset (the Kubernetes project's registry)",
}


def test_every_chart_is_an_exact_pin_over_https_or_from_its_publishers_oci_registry_with_a_source() -> None:
    for ref in _charts.CHARTS:
        assert ref.repo.startswith("https://") or ref.repo in OFFICIAL_OCI_REGISTRIES, (
            f"{ref.chart} must come over HTTPS or from its publisher's own OCI registry"
        )
        assert ref.repo in DEFAULT_CHART_REPOSITORIES, f"{ref.chart}: the policy packs must allow {ref.repo} too"
        assert ref.version and not any(mark in ref.version for mark in "^~*><x "), f"{ref.chart} must be exact"
        assert ref.source, f"{ref.chart} must cite where its version comes from"
    for image in _charts.IMAGES:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", f"{image} must be pinned to a tag"


def test_values_are_plain_json_data() -> None:
    for values in (OPERATOR, device_plugin_values(), dcgm_exporter_values({}), kps_values(), FLUENT_BIT):
        json.dumps(values)
