"""NetworkPolicies of the platform's own namespaces: default deny, then exactly the flows each component needs.

Peers are chosen by what the platform sets and Kubernetes guarantees: namespaces by their tier label
(`mlplatform.io/tier`, set by `create_namespace`) or their immutable `kubernetes.io/metadata.name`, pods by
the labels their chart or operator puts on them (checked at the pinned chart tags, see each constant).

Two kinds of peer are not pods and have no selector:
- the Kubernetes API server (operators, Prometheus service discovery, sidecars, Fluent Bit's metadata
  filter). Policies see the connection after the `kubernetes` Service is translated to the API server's
  own endpoints, whose addresses differ per cluster (EKS/AKS control-plane ENIs or tunnel, a kind control
  node); the Kubernetes documentation gives no selector for it, so these rules allow the API server ports
  (443 on EKS/AKS, 6443 on self-managed and kind clusters) to any address, for the pods that need it only.
  Node Feature Discovery's own chart does the same (v0.19.0 `master.networkPolicy.egress`: ports 443 and
  6443 with no peer, "API server").
- nodes: the kubelet (10250) and the host-network node exporter (9100) answer on node addresses, which
  only an `ipBlock` of the node subnets could name; the same applies, for Prometheus alone. Policies do
  not reliably apply to host-network pods at all (Kubernetes documentation, NetworkPolicy, "pods with
  hostNetwork"), so the node exporter's own ingress rule only documents the intent.
Admission webhooks and aggregated APIs are called by the API server, so the ECK and KEDA webhook ports and
the metrics APIs (KEDA's external metrics, metrics-server's resource metrics) are open to any address, on
those ports of those pods only.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import gateway
from components._common.tags import TIER_LABEL
from components.kubernetes._namespaces import NAMESPACE_NAME_LABEL

DEFAULT_DENY_POLICY = "default-deny-all"

# --- Pods, by the labels their chart or operator sets -----------------------------------------------------

PROMETHEUS_PODS = {"app.kubernetes.io/name": "prometheus"}
"""Prometheus pods (the Prometheus operator labels the StatefulSet's pods)."""
ALERTMANAGER_PODS = {"app.kubernetes.io/name": "alertmanager"}
"""Alertmanager pods (the Prometheus operator)."""
GRAFANA_PODS = {"app.kubernetes.io/name": "grafana"}
"""grafana 12.11.1 `grafana.selectorLabels`."""
KUBE_STATE_METRICS_PODS = {"app.kubernetes.io/name": "kube-state-metrics"}
"""kube-state-metrics 8.4.0 `kube-state-metrics.selectorLabels`."""
PROMETHEUS_OPERATOR_PODS = {"app.kubernetes.io/name": "kube-prometheus-stack-prometheus-operator"}
"""kube-prometheus-stack 88.5.3 `kube-prometheus-stack.prometheus-operator.labels`."""
NODE_EXPORTER_PODS = {"app.kubernetes.io/name": "prometheus-node-exporter"}
"""prometheus-node-exporter 4.56.1 `prometheus-node-exporter.selectorLabels`."""
ECK_OPERATOR_PODS = {"app.kubernetes.io/name": "elastic-operator"}
"""eck-operator 3.5.0 `eck-operator.selectorLabels`."""
ELASTICSEARCH_PODS = {"common.k8s.elastic.co/type": "elasticsearch"}
"""Pods ECK creates for an Elasticsearch resource."""
KIBANA_PODS = {"common.k8s.elastic.co/type": "kibana"}
"""Pods ECK creates for a Kibana resource."""
ILM_SETUP_PODS = {"app.kubernetes.io/name": "ilm-setup"}
"""The lifecycle-policy Job of `Logging`."""
FLUENT_BIT_PODS = {"app.kubernetes.io/name": "fluent-bit"}
"""fluent-bit 0.58.1 `fluent-bit.selectorLabels`."""
DCGM_EXPORTER_PODS = {"app": "nvidia-dcgm-exporter"}
"""The DCGM exporter the GPU operator deploys (gpu-operator v26.7.0 `assets/state-dcgm-exporter`)."""
STANDALONE_DCGM_EXPORTER_PODS = {"app.kubernetes.io/name": "dcgm-exporter"}
"""The standalone dcgm-exporter chart's pods (device-plugin mode; 4.8.2 `dcgm-exporter.selectorLabels`)."""
KEDA_OPERATOR_PODS = {"app": "keda-operator"}
"""keda 2.20.2 `templates/manager/deployment.yaml` (pod label `app: {{ .Values.operator.name }}`)."""
KEDA_METRICS_API_PODS = {"app": "keda-operator-metrics-apiserver"}
"""keda 2.20.2 `templates/metrics-server/deployment.yaml` (`app: <operator.name>-metrics-apiserver`)."""
KEDA_WEBHOOK_PODS = {"app": "keda-admission-webhooks"}
"""keda 2.20.2 `templates/webhooks/deployment.yaml` (`app: {{ .Values.webhooks.name }}`)."""
METRICS_SERVER_PODS = {"app.kubernetes.io/name": "metrics-server"}
"""metrics-server 3.13.1 `metrics-server.selectorLabels`."""
ENVOY_GATEWAY_PODS = {"control-plane": "envoy-gateway"}
"""gateway-helm v1.9.0 `templates/envoy-gateway-deployment.yaml` (the controller's pod label)."""
ENVOY_PROXY_PODS = dict(gateway.PROXY_POD_LABELS)
"""The Envoy proxies Envoy Gateway runs for a Gateway (v1.9.0 `proxy/resource.go` `EnvoyAppLabel`)."""
CERT_MANAGER_CONTROLLER_PODS = {
    "app.kubernetes.io/component": "controller",
    "app.kubernetes.io/instance": "cert-manager",
}
"""cert-manager v1.21.1 `templates/deployment.yaml` (release `cert-manager`)."""
CERT_MANAGER_WEBHOOK_PODS = {"app.kubernetes.io/component": "webhook", "app.kubernetes.io/instance": "cert-manager"}
"""cert-manager v1.21.1 `templates/webhook-deployment.yaml` (release `cert-manager`)."""
SECRETS_STORE_DRIVER_PODS = {"app": "secrets-store-csi-driver"}
"""secrets-store-csi-driver 1.6.0 `templates/secrets-store-csi-driver.yaml` (selector `app: <sscd.name>`)."""
SECRETS_STORE_AWS_PROVIDER_PODS = {"app": "secrets-store-csi-driver-provider-aws"}
"""secrets-store-csi-driver-provider-aws 3.1.1 `templates/daemonset.yaml` (selector `app: <provider.name>`)."""
KUEUE_CONTROLLER_PODS = {
    "app.kubernetes.io/name": "kueue",
    "app.kubernetes.io/instance": "kueue",
    "control-plane": "controller-manager",
}
"""kueue 0.19.2 `kueue.selectorLabels` (templates/_helpers.tpl; release `kueue`)."""
COREDNS_PODS = {"k8s-app": "kube-dns"}
"""CoreDNS on EKS and AKS (and kube-prometheus-stack's `coreDns.service.selector`)."""

# --- Ports ------------------------------------------------------------------------------------------------

DNS_PORT = 53
KUBE_API_PORTS = (443, 6443)
PROMETHEUS_PORT = 9090
CONFIG_RELOADER_PORT = 8080
"""`reloader-web` of the config-reloader sidecar in Prometheus and Alertmanager pods."""
ALERTMANAGER_PORT = 9093
GRAFANA_PORT = 3000
KUBE_STATE_METRICS_PORT = 8080
PROMETHEUS_OPERATOR_PORT = 8080
"""The operator's plain HTTP port (`prometheusOperator.tls.enabled: false`)."""
NODE_EXPORTER_PORT = 9100
KUBELET_PORT = 10250
COREDNS_METRICS_PORT = 9153
DCGM_EXPORTER_PORT = 9400
FLUENT_BIT_METRICS_PORT = 2020
ELASTICSEARCH_HTTP_PORT = 9200
ELASTICSEARCH_TRANSPORT_PORT = 9300
ECK_WEBHOOK_PORT = 9443
"""eck-operator 3.5.0 `webhook.port`."""
KEDA_GRPC_PORT = 9666
"""The operator's metrics service, which KEDA's metrics API server asks for values (keda 2.20.2)."""
KEDA_METRICS_API_PORT = 6443
"""KEDA's metrics API server (`service.portHttpsTarget`), behind the `v1beta1.external.metrics.k8s.io` APIService."""
KEDA_WEBHOOK_PORT = 9443
"""KEDA's admission webhook (`webhooks.port` defaults to 9443)."""
KEDA_METRICS_PORT = 8080
"""Prometheus metrics of the three KEDA components (`prometheus.<component>.port`)."""
METRICS_SERVER_PORT = 10250
"""metrics-server's secure port (`containerPort`), behind the `v1beta1.metrics.k8s.io` APIService."""
ENVOY_XDS_PORT = 18000
"""Envoy Gateway's xDS server, which every proxy connects to (v1.9.0 `bootstrap.DefaultXdsServerPort`)."""
ENVOY_METRICS_PORT = 19001
"""Metrics of the controller (gateway-helm `deployment.ports` `metrics`) and of each proxy (`bootstrap.EnvoyStatsPort`,
`/stats/prometheus`)."""
ENVOY_PROXY_PORT = gateway.PROXY_CONTAINER_PORT
"""The proxies' HTTPS listener port inside the pod (443 shifted by 10000)."""
CERT_MANAGER_WEBHOOK_PORT = 10250
"""cert-manager v1.21.1 `webhook.securePort`."""
CERT_MANAGER_METRICS_PORT = 9402
"""cert-manager's controller, webhook and CA injector metrics (`http-metrics`)."""
KUEUE_WEBHOOK_PORT = 9443
"""kueue 0.19.2 webhook server (`webhookService.ports[0].targetPort`, config `webhook.port`)."""
KUEUE_VISIBILITY_PORT = 8082
"""kueue 0.19.2 visibility API server, behind the `v1beta2.visibility.kueue.x-k8s.io` APIService
(templates/visibility/service.yaml)."""
HTTPS_PORT = 443
HTTP_PORT = 80

MONITORING_TIER = "monitoring"
LOGGING_TIER = "logging"
GPU_TIER = "gpu"
SERVING_TIER = "serving"
AUTOSCALING_TIER = "autoscaling"
SECRETS_TIER = "secrets"
GATEWAY_TIER = "gateway"
CERTIFICATES_TIER = "certificates"
QUEUEING_TIER = "queueing"

Spec = dict[str, Any]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _pods(labels: Mapping[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": dict(labels)}}


def _namespace(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}
    peer["podSelector"] = {"matchLabels": dict(labels)} if labels is not None else {}
    return peer


def _tier(tier: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {TIER_LABEL: tier}}}
    peer["podSelector"] = {"matchLabels": dict(labels)} if labels is not None else {}
    return peer


def default_deny() -> Spec:
    """Deny all ingress and egress of every pod of the namespace: the first policy of every namespace."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def dns_egress() -> Spec:
    """DNS (UDP and TCP 53) to kube-system, from every pod of the namespace."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [_namespace("kube-system")],
                "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
            }
        ],
    }


def kube_api_egress(pods: Mapping[str, str] | None) -> Spec:
    """Egress to the API server ports, any address (see the module docstring)."""
    return {
        "podSelector": {"matchLabels": dict(pods)} if pods is not None else {},
        "policyTypes": ["Egress"],
        "egress": [{"ports": _tcp(*KUBE_API_PORTS)}],
    }


def _ingress(pods: Mapping[str, str], peers: Sequence[dict[str, Any]], ports: Sequence[int]) -> Spec:
    return {
        "podSelector": {"matchLabels": dict(pods)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": list(peers), "ports": _tcp(*ports)}],
    }


def _egress(pods: Mapping[str, str], rules: Sequence[tuple[dict[str, Any], Sequence[int]]]) -> Spec:
    return {
        "podSelector": {"matchLabels": dict(pods)},
        "policyTypes": ["Egress"],
        "egress": [{"to": [peer], "ports": _tcp(*ports)} for peer, ports in rules],
    }


def monitoring_network_policies(*, namespace: str, alert_receiver: bool) -> dict[str, Spec]:
    """Policies of the monitoring namespace (Prometheus, Alertmanager, Grafana, kube-state-metrics, operator).

    Args:
        namespace: the monitoring namespace.
        alert_receiver: Alertmanager sends to a receiver (webhook, Slack, PagerDuty): HTTPS out.
    """

    def local(labels: Mapping[str, str]) -> dict[str, Any]:
        return _namespace(namespace, labels)

    prometheus_targets: list[tuple[dict[str, Any], Sequence[int]]] = [
        (local(PROMETHEUS_PODS), (PROMETHEUS_PORT, CONFIG_RELOADER_PORT)),
        (local(ALERTMANAGER_PODS), (ALERTMANAGER_PORT, CONFIG_RELOADER_PORT)),
        (local(GRAFANA_PODS), (GRAFANA_PORT,)),
        (local(KUBE_STATE_METRICS_PODS), (KUBE_STATE_METRICS_PORT,)),
        (local(PROMETHEUS_OPERATOR_PODS), (PROMETHEUS_OPERATOR_PORT,)),
        (_namespace("kube-system", COREDNS_PODS), (COREDNS_METRICS_PORT,)),
        (_tier(GPU_TIER), (DCGM_EXPORTER_PORT,)),
        (_tier(LOGGING_TIER, FLUENT_BIT_PODS), (FLUENT_BIT_METRICS_PORT,)),
        (_tier(AUTOSCALING_TIER, KEDA_OPERATOR_PODS), (KEDA_METRICS_PORT,)),
        (_tier(AUTOSCALING_TIER, KEDA_METRICS_API_PODS), (KEDA_METRICS_PORT,)),
        (_tier(AUTOSCALING_TIER, KEDA_WEBHOOK_PODS), (KEDA_METRICS_PORT,)),
        (_tier(GATEWAY_TIER, ENVOY_GATEWAY_PODS), (ENVOY_METRICS_PORT,)),
        (_tier(GATEWAY_TIER, ENVOY_PROXY_PODS), (ENVOY_METRICS_PORT,)),
        (_tier(CERTIFICATES_TIER), (CERT_MANAGER_METRICS_PORT,)),
    ]
    prometheus_egress = _egress(PROMETHEUS_PODS, prometheus_targets)
    prometheus_egress["egress"] += [
        # Model servers choose their ports; their namespaces admit Prometheus on any (serving.py).
        {"to": [_tier(SERVING_TIER)]},
        # The kubelet (cAdvisor, probes) and the host-network node exporter answer on node addresses.
        {"ports": _tcp(NODE_EXPORTER_PORT, KUBELET_PORT)},
    ]
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        # Service discovery and the apiserver target; the operator, kube-state-metrics and Grafana's sidecars
        # watch the API.
        "allow-prometheus-kube-api": kube_api_egress(PROMETHEUS_PODS),
        "allow-operator-kube-api": kube_api_egress(PROMETHEUS_OPERATOR_PODS),
        "allow-kube-state-metrics-kube-api": kube_api_egress(KUBE_STATE_METRICS_PODS),
        "allow-grafana-kube-api": kube_api_egress(GRAFANA_PODS),
        "allow-prometheus-scrape-egress": prometheus_egress,
        "allow-prometheus-ingress": _ingress(
            PROMETHEUS_PODS, [_pods(PROMETHEUS_PODS)], (PROMETHEUS_PORT, CONFIG_RELOADER_PORT)
        ),
        "allow-prometheus-from-grafana": _ingress(PROMETHEUS_PODS, [_pods(GRAFANA_PODS)], (PROMETHEUS_PORT,)),
        # KEDA's operator evaluates the Prometheus triggers of ScaledObjects (model server autoscaling).
        "allow-prometheus-from-keda": _ingress(
            PROMETHEUS_PODS, [_tier(AUTOSCALING_TIER, KEDA_OPERATOR_PODS)], (PROMETHEUS_PORT,)
        ),
        "allow-alertmanager-ingress": _ingress(
            ALERTMANAGER_PODS, [_pods(PROMETHEUS_PODS)], (ALERTMANAGER_PORT, CONFIG_RELOADER_PORT)
        ),
        "allow-alertmanager-from-grafana": _ingress(ALERTMANAGER_PODS, [_pods(GRAFANA_PODS)], (ALERTMANAGER_PORT,)),
        "allow-grafana-scrape": _ingress(GRAFANA_PODS, [_pods(PROMETHEUS_PODS)], (GRAFANA_PORT,)),
        "allow-kube-state-metrics-scrape": _ingress(
            KUBE_STATE_METRICS_PODS, [_pods(PROMETHEUS_PODS)], (KUBE_STATE_METRICS_PORT,)
        ),
        "allow-operator-scrape": _ingress(
            PROMETHEUS_OPERATOR_PODS, [_pods(PROMETHEUS_PODS)], (PROMETHEUS_OPERATOR_PORT,)
        ),
        "allow-grafana-queries": _egress(
            GRAFANA_PODS,
            [(local(PROMETHEUS_PODS), (PROMETHEUS_PORT,)), (local(ALERTMANAGER_PODS), (ALERTMANAGER_PORT,))],
        ),
    }
    if alert_receiver:
        # Slack and PagerDuty are HTTPS endpoints on the internet; a webhook receiver must be HTTPS on 443 too.
        policies["allow-alertmanager-receiver"] = {
            "podSelector": {"matchLabels": dict(ALERTMANAGER_PODS)},
            "policyTypes": ["Egress"],
            "egress": [{"ports": _tcp(HTTPS_PORT)}],
        }
    return policies


def node_exporter_network_policies(*, monitoring_namespace: str) -> dict[str, Spec]:
    """Policies of the node exporter's namespace: nothing in or out but Prometheus's scrape."""
    return {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-prometheus-scrape": _ingress(
            NODE_EXPORTER_PODS, [_namespace(monitoring_namespace, PROMETHEUS_PODS)], (NODE_EXPORTER_PORT,)
        ),
    }


def elasticsearch_network_policies(*, operator_namespace: str, agent_namespace: str) -> dict[str, Spec]:
    """Policies of the Elasticsearch namespace (Elasticsearch, Kibana, the lifecycle Job).

    Args:
        operator_namespace: the ECK operator's namespace (it calls Elasticsearch's API).
        agent_namespace: Fluent Bit's namespace (it writes to Elasticsearch).
    """
    return {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-elasticsearch-http": _ingress(
            ELASTICSEARCH_PODS,
            [
                _namespace(agent_namespace, FLUENT_BIT_PODS),
                _pods(KIBANA_PODS),
                _pods(ILM_SETUP_PODS),
                _namespace(operator_namespace, ECK_OPERATOR_PODS),
            ],
            (ELASTICSEARCH_HTTP_PORT,),
        ),
        "allow-elasticsearch-transport": {
            "podSelector": {"matchLabels": dict(ELASTICSEARCH_PODS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_pods(ELASTICSEARCH_PODS)], "ports": _tcp(ELASTICSEARCH_TRANSPORT_PORT)}],
            "egress": [{"to": [_pods(ELASTICSEARCH_PODS)], "ports": _tcp(ELASTICSEARCH_TRANSPORT_PORT)}],
        },
        "allow-kibana-to-elasticsearch": _egress(
            KIBANA_PODS, [(_pods(ELASTICSEARCH_PODS), (ELASTICSEARCH_HTTP_PORT,))]
        ),
        "allow-ilm-setup-to-elasticsearch": _egress(
            ILM_SETUP_PODS, [(_pods(ELASTICSEARCH_PODS), (ELASTICSEARCH_HTTP_PORT,))]
        ),
    }


def eck_operator_network_policies(*, managed_namespaces: Sequence[str]) -> dict[str, Spec]:
    """Policies of the ECK operator's namespace: the API server, its webhook, the Elasticsearch it manages."""
    return {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-operator-kube-api": kube_api_egress(ECK_OPERATOR_PODS),
        # The API server calls the validating webhook; it is not a pod (see the module docstring).
        "allow-webhook-from-api-server": {
            "podSelector": {"matchLabels": dict(ECK_OPERATOR_PODS)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": _tcp(ECK_WEBHOOK_PORT)}],
        },
        "allow-operator-to-elasticsearch": _egress(
            ECK_OPERATOR_PODS,
            [(_namespace(name, ELASTICSEARCH_PODS), (ELASTICSEARCH_HTTP_PORT,)) for name in managed_namespaces],
        ),
    }


def log_agent_network_policies(*, elasticsearch_namespace: str, metrics_scrape: bool) -> dict[str, Spec]:
    """Policies of Fluent Bit's namespace: Elasticsearch and the API server out, Prometheus's scrape in.

    Args:
        elasticsearch_namespace: where Elasticsearch runs.
        metrics_scrape: Prometheus scrapes Fluent Bit's metrics (its ServiceMonitor is on).
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        # The kubernetes filter reads pod metadata from the API server.
        "allow-fluent-bit-kube-api": kube_api_egress(FLUENT_BIT_PODS),
        "allow-fluent-bit-to-elasticsearch": _egress(
            FLUENT_BIT_PODS, [(_namespace(elasticsearch_namespace, ELASTICSEARCH_PODS), (ELASTICSEARCH_HTTP_PORT,))]
        ),
    }
    if metrics_scrape:
        policies["allow-prometheus-scrape"] = _ingress(
            FLUENT_BIT_PODS, [_tier(MONITORING_TIER, PROMETHEUS_PODS)], (FLUENT_BIT_METRICS_PORT,)
        )
    return policies


def gpu_network_policies(*, operator_installs_software: bool) -> dict[str, Spec]:
    """Policies of the NVIDIA namespace (GPU operator and its operands, or device plugin and DCGM exporter).

    Every pod there is a controller or node agent that talks to the API server (the operator, Node Feature
    Discovery, GPU feature discovery, the device plugin's config manager, the validator, the DCGM exporter's
    pod mapping); Prometheus scrapes the DCGM exporter.

    Args:
        operator_installs_software: the operator installs the driver or container toolkit on the nodes; the
            driver container then downloads kernel headers and packages over HTTP(S) from the distribution's
            mirrors, which have no fixed addresses.
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-kube-api": kube_api_egress(None),
        "allow-prometheus-scrape": _ingress(
            DCGM_EXPORTER_PODS, [_tier(MONITORING_TIER, PROMETHEUS_PODS)], (DCGM_EXPORTER_PORT,)
        ),
        "allow-prometheus-scrape-standalone": _ingress(
            STANDALONE_DCGM_EXPORTER_PODS, [_tier(MONITORING_TIER, PROMETHEUS_PODS)], (DCGM_EXPORTER_PORT,)
        ),
    }
    if operator_installs_software:
        policies["allow-package-downloads"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": _tcp(HTTP_PORT, HTTPS_PORT)}],
        }
    return policies


def _from_api_server(pods: Mapping[str, str], port: int) -> Spec:
    """Ingress on `port` from any address: the API server's webhook or aggregated-API call (module docstring)."""
    return {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": ["Ingress"], "ingress": [{"ports": _tcp(port)}]}


def keda_network_policies(*, metrics_scrape: bool) -> dict[str, Spec]:
    """Policies of KEDA's namespace: the API server in (metrics API, webhook), Prometheus queries out.

    The operator evaluates every ScaledObject's trigger; its only egress besides DNS and the API server is
    Prometheus (any namespace of the monitoring tier). A trigger pointing anywhere else (another scaler, an
    address a team typed) is refused by the network, not only by review.

    Args:
        metrics_scrape: Prometheus scrapes the three components' metrics (their ServiceMonitors are on).
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-operator-kube-api": kube_api_egress(KEDA_OPERATOR_PODS),
        "allow-metrics-api-kube-api": kube_api_egress(KEDA_METRICS_API_PODS),
        "allow-webhook-kube-api": kube_api_egress(KEDA_WEBHOOK_PODS),
        "allow-operator-to-prometheus": _egress(
            KEDA_OPERATOR_PODS, [(_tier(MONITORING_TIER, PROMETHEUS_PODS), (PROMETHEUS_PORT,))]
        ),
        # The metrics API server asks the operator for each trigger's value over gRPC.
        "allow-metrics-api-to-operator": _egress(
            KEDA_METRICS_API_PODS, [(_pods(KEDA_OPERATOR_PODS), (KEDA_GRPC_PORT,))]
        ),
        "allow-operator-from-metrics-api": _ingress(
            KEDA_OPERATOR_PODS, [_pods(KEDA_METRICS_API_PODS)], (KEDA_GRPC_PORT,)
        ),
        # The HPA controller reads external metrics through the API server; the API server calls the webhook.
        "allow-metrics-api-from-api-server": _from_api_server(KEDA_METRICS_API_PODS, KEDA_METRICS_API_PORT),
        "allow-webhook-from-api-server": _from_api_server(KEDA_WEBHOOK_PODS, KEDA_WEBHOOK_PORT),
    }
    if metrics_scrape:
        policies["allow-prometheus-scrape"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_tier(MONITORING_TIER, PROMETHEUS_PODS)], "ports": _tcp(KEDA_METRICS_PORT)}],
        }
    return policies


def metrics_server_network_policies() -> dict[str, Spec]:
    """Policies of metrics-server's namespace: the API server in, the kubelets and the API server out."""
    return {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-kube-api": kube_api_egress(METRICS_SERVER_PODS),
        # It reads every node's kubelet summary API on the node's InternalIP (node addresses: no selector).
        "allow-kubelet": {
            "podSelector": {"matchLabels": dict(METRICS_SERVER_PODS)},
            "policyTypes": ["Egress"],
            "egress": [{"ports": _tcp(KUBELET_PORT)}],
        },
        "allow-metrics-api-from-api-server": _from_api_server(METRICS_SERVER_PODS, METRICS_SERVER_PORT),
    }


def secrets_store_network_policies(*, aws_provider: bool, cloud_api_cidrs: Sequence[str]) -> dict[str, Spec]:
    """Policies of the Secrets Store CSI namespace: the API server out for both DaemonSets, the cloud APIs out for
    the AWS provider; nothing in.

    The driver talks to its providers over a Unix socket on the node (`/var/run/secrets-store-csi-providers`),
    never the network; the AWS provider exchanges each pod's token at STS and reads Secrets Manager over HTTPS.
    Kubelet liveness probes come from the node, which NetworkPolicies always admit.

    Args:
        aws_provider: the AWS provider runs here.
        cloud_api_cidrs: where the provider may reach STS and Secrets Manager on 443 (the VPC CIDR with interface
            endpoints); empty means any address, as those public endpoints have no fixed ranges.
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        # Pods, SecretProviderClasses and their pod statuses (and synced Secrets) are read through the API server.
        "allow-driver-kube-api": kube_api_egress(SECRETS_STORE_DRIVER_PODS),
    }
    if aws_provider:
        # The pod's ServiceAccount (for its role annotation).
        policies["allow-aws-provider-kube-api"] = kube_api_egress(SECRETS_STORE_AWS_PROVIDER_PODS)
        rule: dict[str, Any] = {"ports": _tcp(HTTPS_PORT)}
        if cloud_api_cidrs:
            rule["to"] = [{"ipBlock": {"cidr": cidr}} for cidr in cloud_api_cidrs]
        policies["allow-aws-provider-to-aws-apis"] = {
            "podSelector": {"matchLabels": dict(SECRETS_STORE_AWS_PROVIDER_PODS)},
            "policyTypes": ["Egress"],
            "egress": [rule],
        }
    return policies


def gateway_network_policies(*, metrics_scrape: bool) -> dict[str, Spec]:
    """Policies of the serving gateway's namespace: the Envoy Gateway controller and the Envoy proxies it runs.

    The proxies are the ingress: any address may reach their HTTPS listener (the load balancer keeps the client
    address with `externalTrafficPolicy: Local`, so no narrower peer exists here; the cloud load balancer's own
    source ranges are the allow-list). They send only to serving namespaces (any port: model servers choose theirs,
    and those namespaces admit exactly these pods), to DNS and to the controller's xDS server. The controller talks
    to the API server and serves xDS to the proxies.

    Args:
        metrics_scrape: Prometheus scrapes the controller and the proxies (request metrics per route).
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-controller-kube-api": kube_api_egress(ENVOY_GATEWAY_PODS),
        "allow-proxy-https-ingress": {
            "podSelector": {"matchLabels": dict(ENVOY_PROXY_PODS)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": _tcp(ENVOY_PROXY_PORT)}],
        },
        "allow-proxy-to-serving": {
            "podSelector": {"matchLabels": dict(ENVOY_PROXY_PODS)},
            "policyTypes": ["Egress"],
            "egress": [{"to": [_tier(SERVING_TIER)]}],
        },
        "allow-proxy-to-xds": _egress(ENVOY_PROXY_PODS, [(_pods(ENVOY_GATEWAY_PODS), (ENVOY_XDS_PORT,))]),
        "allow-xds-from-proxies": _ingress(ENVOY_GATEWAY_PODS, [_pods(ENVOY_PROXY_PODS)], (ENVOY_XDS_PORT,)),
    }
    if metrics_scrape:
        policies["allow-prometheus-scrape"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_tier(MONITORING_TIER, PROMETHEUS_PODS)], "ports": _tcp(ENVOY_METRICS_PORT)}],
        }
    return policies


def cert_manager_network_policies(*, external_issuer: bool, metrics_scrape: bool) -> dict[str, Spec]:
    """Policies of cert-manager's namespace: the API server out, the API server in on the webhook only.

    With the platform's own CA every certificate is signed inside the controller, which needs nothing but the API
    server. An external issuer (ACME, AWS Private CA, Key Vault through an issuer plugin) is an HTTPS endpoint
    without fixed addresses: the controller then may send HTTPS anywhere (the API-server rule already opens 443 to
    any address, see the module docstring; this rule states the controller's own need, so narrowing that one to
    the API server's addresses cannot cut an issuer off).

    Args:
        external_issuer: certificates come from an existing ClusterIssuer, not the platform's CA.
        metrics_scrape: Prometheus scrapes the three components (the chart's ServiceMonitor is on).
    """
    policies: dict[str, Spec] = {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        # Controller, webhook (SubjectAccessReviews) and CA injector all use the API.
        "allow-kube-api": kube_api_egress(None),
        "allow-webhook-from-api-server": _from_api_server(CERT_MANAGER_WEBHOOK_PODS, CERT_MANAGER_WEBHOOK_PORT),
    }
    if external_issuer:
        policies["allow-controller-issuer-egress"] = {
            "podSelector": {"matchLabels": dict(CERT_MANAGER_CONTROLLER_PODS)},
            "policyTypes": ["Egress"],
            "egress": [{"ports": _tcp(HTTPS_PORT)}],
        }
    if metrics_scrape:
        policies["allow-prometheus-scrape"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_tier(MONITORING_TIER, PROMETHEUS_PODS)], "ports": _tcp(CERT_MANAGER_METRICS_PORT)}],
        }
    return policies


def kueue_network_policies() -> dict[str, Spec]:
    """Policies of Kueue's namespace: the API server out, the API server in on the webhook and visibility API only.

    The controller watches jobs, queues and workloads and issues its own webhook certificates, all through the API
    server; the API server calls its admission webhooks (every job create in a training namespace, every queue
    object) and its aggregated visibility API (pending workloads). Nothing else reaches it or is reached by it.
    """
    return {
        DEFAULT_DENY_POLICY: default_deny(),
        "allow-dns": dns_egress(),
        "allow-controller-kube-api": kube_api_egress(KUEUE_CONTROLLER_PODS),
        "allow-webhook-from-api-server": _from_api_server(KUEUE_CONTROLLER_PODS, KUEUE_WEBHOOK_PORT),
        "allow-visibility-from-api-server": _from_api_server(KUEUE_CONTROLLER_PODS, KUEUE_VISIBILITY_PORT),
    }


def create_network_policies(
    resource_prefix: str, namespace: pulumi.Input[str], policies: Mapping[str, Spec], *, parent: pulumi.Resource
) -> list[k8s.networking.v1.NetworkPolicy]:
    """Create `policies` (name -> spec) in `namespace` as children of `parent`, named `<prefix>-<policy>`."""
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{resource_prefix}-{policy_name}",
            metadata={"name": policy_name, "namespace": namespace},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for policy_name, spec in policies.items()
    ]
