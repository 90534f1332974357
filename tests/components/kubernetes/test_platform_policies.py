"""Platform namespaces' NetworkPolicies: every flow the platform relies on is allowed, and nothing else is."""

from __future__ import annotations

import itertools

import pytest

from components._common.tags import TIER_LABEL
from components.kubernetes import _platform_policies as pp
from components.kubernetes.serving import serving_network_policies
from tests.components.kubernetes.netpol import Endpoint, Peer, Pod, Policy, allowed

MONITORING, NODE_EXPORTER, LOGGING, ECK, AGENTS, GPU, SERVING, KEDA, METRICS_SERVER, GATEWAY, CERTS = (
    "monitoring",
    "node-exporter",
    "logging",
    "elastic-system",
    "log-shipping",
    "gpu-operator",
    "search",
    "keda",
    "metrics-server",
    "serving-gateway",
    "cert-manager",
)
TIERS = {
    MONITORING: "monitoring",
    NODE_EXPORTER: "monitoring",
    LOGGING: "logging",
    ECK: "logging",
    AGENTS: "logging",
    GPU: "gpu",
    SERVING: "serving",
    KEDA: "autoscaling",
    METRICS_SERVER: "autoscaling",
    GATEWAY: "gateway",
    CERTS: "certificates",
}


def pod(namespace: str, labels: dict[str, str]) -> Pod:
    tier = {TIER_LABEL: TIERS[namespace]} if namespace in TIERS else {}
    return Pod(namespace, labels, tier)


# The pods the charts and operators create, with the labels checked at the pinned tags (plus extra labels
# they also carry, which selectors must tolerate).
PODS: dict[str, Pod] = {
    "prometheus": pod(MONITORING, {**pp.PROMETHEUS_PODS, "prometheus": "monitoring-prometheus"}),
    "alertmanager": pod(MONITORING, {**pp.ALERTMANAGER_PODS, "alertmanager": "monitoring-alertmanager"}),
    "grafana": pod(MONITORING, {**pp.GRAFANA_PODS, "app.kubernetes.io/instance": "monitoring"}),
    "kube-state-metrics": pod(MONITORING, {**pp.KUBE_STATE_METRICS_PODS, "release": "monitoring"}),
    "prometheus-operator": pod(MONITORING, {**pp.PROMETHEUS_OPERATOR_PODS, "app": "kube-prometheus-stack-operator"}),
    "elasticsearch": pod(LOGGING, {**pp.ELASTICSEARCH_PODS, "elasticsearch.k8s.elastic.co/cluster-name": "logs"}),
    "kibana": pod(LOGGING, {**pp.KIBANA_PODS, "kibana.k8s.elastic.co/name": "logs"}),
    "ilm-setup": pod(LOGGING, {**pp.ILM_SETUP_PODS, "app.kubernetes.io/part-of": "mlplatform"}),
    "fluent-bit": pod(AGENTS, {**pp.FLUENT_BIT_PODS, "app.kubernetes.io/instance": "logging-fluent-bit"}),
    "eck-operator": pod(ECK, {**pp.ECK_OPERATOR_PODS, "app.kubernetes.io/instance": "logging-eck-operator"}),
    "gpu-operator": pod(GPU, {"app": "gpu-operator", "app.kubernetes.io/component": "gpu-operator"}),
    "dcgm-exporter": pod(GPU, {"app": "nvidia-dcgm-exporter"}),
    "model-server": pod(SERVING, {"app.kubernetes.io/name": "ranker"}),
    "keda-operator": pod(KEDA, {**pp.KEDA_OPERATOR_PODS, "app.kubernetes.io/name": "keda-operator"}),
    "keda-metrics-api": pod(
        KEDA, {**pp.KEDA_METRICS_API_PODS, "app.kubernetes.io/name": "keda-operator-metrics-apiserver"}
    ),
    "keda-webhooks": pod(KEDA, {**pp.KEDA_WEBHOOK_PODS, "app.kubernetes.io/name": "keda-admission-webhooks"}),
    "metrics-server": pod(METRICS_SERVER, {**pp.METRICS_SERVER_PODS, "app.kubernetes.io/instance": "metrics-server"}),
    "envoy-gateway": pod(GATEWAY, {**pp.ENVOY_GATEWAY_PODS, "app.kubernetes.io/name": "gateway-helm"}),
    "envoy-proxy": pod(GATEWAY, {**pp.ENVOY_PROXY_PODS, "gateway.envoyproxy.io/owning-gateway-name": "serving"}),
    "cert-manager": pod(CERTS, {**pp.CERT_MANAGER_CONTROLLER_PODS, "app.kubernetes.io/name": "cert-manager"}),
    "cert-manager-webhook": pod(CERTS, {**pp.CERT_MANAGER_WEBHOOK_PODS, "app.kubernetes.io/name": "webhook"}),
    "cert-manager-cainjector": pod(
        CERTS, {"app.kubernetes.io/component": "cainjector", "app.kubernetes.io/instance": "cert-manager"}
    ),
    "coredns": pod("kube-system", dict(pp.COREDNS_PODS)),
}
# Not pods: the API server's endpoint, a node (kubelet, host-network node exporter), the internet.
ENDPOINTS: dict[str, Endpoint] = {
    "api-server": Endpoint("10.0.0.10"),
    "node": Endpoint("10.0.1.20"),
    "internet": Endpoint("203.0.113.7"),
}
PORTS = (
    53, 80, 443, 2020, 3000, 5601, 6443, 8000, 8080, 9090, 9093, 9100, 9153, 9200, 9300, 9400, 9402, 9443, 9666,
    10250, 10443, 18000, 19001,
)  # fmt: skip
"""Every port a platform flow uses, plus a model server's (8000) and Kibana's (5601, reached by port-forward)."""

KUBE_API = {("api-server", 443), ("api-server", 6443)}
API_CLIENTS = {
    "prometheus",
    "grafana",
    "kube-state-metrics",
    "prometheus-operator",
    "fluent-bit",
    "eck-operator",
    "gpu-operator",
    "dcgm-exporter",
    "keda-operator",
    "keda-metrics-api",
    "keda-webhooks",
    "metrics-server",
    "envoy-gateway",
    "cert-manager",
    "cert-manager-webhook",
    "cert-manager-cainjector",
}
PLATFORM_PODS = set(PODS) - {"coredns", "model-server"}

REQUIRED: set[tuple[str, str, int]] = {
    # Prometheus scrapes every exporter / ServiceMonitor target of the platform.
    ("prometheus", "prometheus", 9090),
    ("prometheus", "prometheus", 8080),
    ("prometheus", "alertmanager", 9093),
    ("prometheus", "alertmanager", 8080),
    ("prometheus", "grafana", 3000),
    ("prometheus", "kube-state-metrics", 8080),
    ("prometheus", "prometheus-operator", 8080),
    ("prometheus", "coredns", 9153),
    ("prometheus", "dcgm-exporter", 9400),
    ("prometheus", "fluent-bit", 2020),
    ("prometheus", "node", 9100),
    ("prometheus", "node", 10250),
    # Grafana queries Prometheus and Alertmanager (kube-prometheus-stack's datasources).
    ("grafana", "prometheus", 9090),
    ("grafana", "alertmanager", 9093),
    # Logs: Fluent Bit, Kibana, the lifecycle Job and the ECK operator call Elasticsearch; its nodes talk.
    ("fluent-bit", "elasticsearch", 9200),
    ("kibana", "elasticsearch", 9200),
    ("ilm-setup", "elasticsearch", 9200),
    ("eck-operator", "elasticsearch", 9200),
    ("elasticsearch", "elasticsearch", 9300),
    # The API server calls ECK's validating webhook.
    ("api-server", "eck-operator", 9443),
    # Alertmanager's receiver (Slack, PagerDuty, an HTTPS webhook).
    ("alertmanager", "internet", 443),
    # Autoscaling: KEDA's operator queries Prometheus, its metrics API asks the operator over gRPC, the API server
    # calls both metrics APIs and KEDA's webhook, metrics-server reads the kubelets, Prometheus scrapes KEDA.
    ("keda-operator", "prometheus", 9090),
    ("keda-metrics-api", "keda-operator", 9666),
    ("api-server", "keda-metrics-api", 6443),
    ("api-server", "keda-webhooks", 9443),
    ("api-server", "metrics-server", 10250),
    ("metrics-server", "node", 10250),
    ("prometheus", "keda-operator", 8080),
    ("prometheus", "keda-metrics-api", 8080),
    ("prometheus", "keda-webhooks", 8080),
    # Serving gateway: the proxies fetch xDS from the controller; the API server calls cert-manager's webhook;
    # Prometheus scrapes the controller, the proxies (per-route metrics) and cert-manager.
    ("envoy-proxy", "envoy-gateway", 18000),
    # Any address reaches the proxies' listener: the API server's (a non-pod source here) as well.
    ("api-server", "envoy-proxy", 10443),
    ("api-server", "cert-manager-webhook", 10250),
    ("prometheus", "envoy-gateway", 19001),
    ("prometheus", "envoy-proxy", 19001),
    ("prometheus", "cert-manager", 9402),
    ("prometheus", "cert-manager-webhook", 9402),
    ("prometheus", "cert-manager-cainjector", 9402),
}
REQUIRED |= {(client, endpoint, port) for client in API_CLIENTS for endpoint, port in KUBE_API}
REQUIRED |= {(source, "coredns", 53) for source in PLATFORM_PODS | {"model-server"}}
# Serving namespaces: Prometheus scrapes model servers on their own ports; pods of one namespace talk freely.
REQUIRED |= {("prometheus", "model-server", port) for port in PORTS}
REQUIRED |= {("model-server", "model-server", port) for port in PORTS}
# The gateway's proxies are the serving namespaces' only ingress, on whatever port a model serves.
REQUIRED |= {("envoy-proxy", "model-server", port) for port in PORTS}

# Rules that cannot name their peer (see _platform_policies' docstring) allow their ports to any address.
ANY_ADDRESS = {
    **{client: {443, 6443} for client in API_CLIENTS},
    "prometheus": {443, 6443, 9100, 10250},
    "alertmanager": {443},
    "metrics-server": {443, 6443, 10250},
}
# Pods the API server calls (webhooks, aggregated metrics APIs) admit any address on that port, since the API
# server has no selector; a pod whose own any-address egress includes the port reaches them too (e.g. an API
# client on 6443 reaches KEDA's metrics API). Those servers authenticate every caller through the API server.
ADMIT_ANY_ADDRESS = {
    "eck-operator": {9443},
    "keda-metrics-api": {6443},
    "keda-webhooks": {9443},
    "metrics-server": {10250},
    "cert-manager-webhook": {10250},
    # The proxies are the ingress: any client may reach their HTTPS listener (behind the load balancer).
    "envoy-proxy": {10443},
}


def platform_policies(*, operator_installs_software: bool = False, alert_receiver: bool = True) -> list[Policy]:
    per_namespace = {
        MONITORING: pp.monitoring_network_policies(namespace=MONITORING, alert_receiver=alert_receiver),
        NODE_EXPORTER: pp.node_exporter_network_policies(monitoring_namespace=MONITORING),
        LOGGING: pp.elasticsearch_network_policies(operator_namespace=ECK, agent_namespace=AGENTS),
        ECK: pp.eck_operator_network_policies(managed_namespaces=[LOGGING]),
        AGENTS: pp.log_agent_network_policies(elasticsearch_namespace=LOGGING, metrics_scrape=True),
        GPU: pp.gpu_network_policies(operator_installs_software=operator_installs_software),
        KEDA: pp.keda_network_policies(metrics_scrape=True),
        METRICS_SERVER: pp.metrics_server_network_policies(),
        GATEWAY: pp.gateway_network_policies(metrics_scrape=True),
        CERTS: pp.cert_manager_network_policies(external_issuer=False, metrics_scrape=True),
        SERVING: serving_network_policies(
            ingress_namespaces=[GATEWAY], monitoring_namespace=MONITORING, egress_cidrs=[]
        ),
    }
    return [Policy(namespace, spec) for namespace, specs in per_namespace.items() for spec in specs.values()]


def peer(name: str) -> Peer:
    return PODS.get(name) or ENDPOINTS[name]


def expected(source: str, destination: str, port: int) -> bool:
    if (source, destination, port) in REQUIRED:
        return True
    # A rule with only ports also reaches a pod on that port, if the pod admits it (ADMIT_ANY_ADDRESS).
    reachable = ANY_ADDRESS.get(source, set())
    return port in reachable and (destination in ENDPOINTS or port in ADMIT_ANY_ADDRESS.get(destination, set()))


SOURCES = [*PLATFORM_PODS, "model-server", "api-server"]
DESTINATIONS = [name for name in [*PODS, *ENDPOINTS] if name != "coredns"]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_flow_the_platform_relies_on_is_allowed_and_nothing_else(source: str) -> None:
    policies = platform_policies()
    # Nothing governs what the API server itself connects to; only what it may reach among our pods matters.
    destinations = [name for name in DESTINATIONS if name in PODS] if source in ENDPOINTS else DESTINATIONS
    wrong = [
        f"{source} -> {destination}:{port} {'allowed' if actual else 'denied'}"
        for destination, port in itertools.product(destinations, PORTS)
        if (actual := allowed(policies, peer(source), peer(destination), port)) != expected(source, destination, port)
    ]
    assert not wrong, "\n".join(wrong)


def test_dns_reaches_cluster_dns_over_udp_and_tcp_only() -> None:
    policies = platform_policies()
    for source in sorted(PLATFORM_PODS):
        for protocol in ("UDP", "TCP"):
            assert allowed(policies, PODS[source], PODS["coredns"], 53, protocol), f"{source}: DNS over {protocol}"
        assert not allowed(policies, PODS[source], ENDPOINTS["internet"], 53, "UDP"), f"{source}: external DNS"


def test_towards_kube_system_prometheus_has_dns_coredns_metrics_and_only_its_any_address_ports() -> None:
    policies = platform_policies()
    reachable = {port for port in PORTS if allowed(policies, PODS["prometheus"], PODS["coredns"], port)}
    # kube-system is not isolated, so the rules that cannot name their peer (API server, nodes) reach its
    # pods on those ports too: the price of a cluster-agnostic policy, stated in _platform_policies.
    assert reachable == {53, 9153} | ANY_ADDRESS["prometheus"]
    assert not allowed(policies, PODS["grafana"], PODS["coredns"], 9153), "only Prometheus scrapes CoreDNS"


def test_without_a_receiver_alertmanager_reaches_nothing_outside() -> None:
    policies = platform_policies(alert_receiver=False)
    assert not allowed(policies, PODS["alertmanager"], ENDPOINTS["internet"], 443)


def test_the_gpu_namespace_downloads_packages_only_when_the_operator_installs_the_driver() -> None:
    for installs in (False, True):
        policies = platform_policies(operator_installs_software=installs)
        for port in (80, 443):
            reaches = allowed(policies, PODS["gpu-operator"], ENDPOINTS["internet"], port)
            assert reaches is (installs or port == 443), f"installs={installs} port={port}"


def test_every_platform_namespace_starts_from_a_default_deny() -> None:
    for policy_set in (
        pp.monitoring_network_policies(namespace=MONITORING, alert_receiver=True),
        pp.node_exporter_network_policies(monitoring_namespace=MONITORING),
        pp.elasticsearch_network_policies(operator_namespace=ECK, agent_namespace=AGENTS),
        pp.eck_operator_network_policies(managed_namespaces=[LOGGING]),
        pp.log_agent_network_policies(elasticsearch_namespace=LOGGING, metrics_scrape=False),
        pp.gpu_network_policies(operator_installs_software=False),
        pp.keda_network_policies(metrics_scrape=True),
        pp.metrics_server_network_policies(),
        pp.gateway_network_policies(metrics_scrape=True),
        pp.cert_manager_network_policies(external_issuer=True, metrics_scrape=True),
    ):
        assert policy_set[pp.DEFAULT_DENY_POLICY] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        for name, spec in policy_set.items():
            for rule in spec.get("egress", []):
                # The one exception: model servers choose their ports, and their namespaces admit Prometheus.
                serving = rule.get("to") == [
                    {"namespaceSelector": {"matchLabels": {TIER_LABEL: pp.SERVING_TIER}}, "podSelector": {}}
                ]
                assert rule.get("ports") or serving, f"{name}: an egress rule without ports allows every port"


def test_keda_metrics_are_closed_when_not_scraped() -> None:
    policies = [Policy(KEDA, spec) for spec in pp.keda_network_policies(metrics_scrape=False).values()]
    for name in ("keda-operator", "keda-metrics-api", "keda-webhooks"):
        assert not allowed(policies, PODS["prometheus"], PODS[name], 8080), f"{name}: no scrape without a monitor"


def test_keda_s_operator_reaches_prometheus_and_no_other_platform_or_team_pod() -> None:
    policies = platform_policies()
    reachable = {
        (destination, port)
        for destination, port in itertools.product(PODS, PORTS)
        if PODS[destination].namespace not in (KEDA, "kube-system")
        and allowed(policies, PODS["keda-operator"], PODS[destination], port)
    }
    assert reachable == {("prometheus", 9090)}, (
        f"a trigger's serverAddress can only be Prometheus, not a model server or an operator: {sorted(reachable)}"
    )


def test_fluent_bit_metrics_are_closed_when_not_scraped() -> None:
    policies = [
        Policy(AGENTS, spec)
        for spec in pp.log_agent_network_policies(elasticsearch_namespace=LOGGING, metrics_scrape=False).values()
    ]
    assert not allowed(policies, PODS["prometheus"], PODS["fluent-bit"], 2020)
