"""`PodAutoscaling`: KEDA (Prometheus-driven pod autoscaling) and, where the cluster lacks it, metrics-server."""

from typing import TypedDict

import pulumi

from components._common import pools
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _platform_policies, _values
from components.kubernetes._checks import check_bool, check_known_arguments, check_string_map
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace

DEFAULT_NAMESPACE = "keda"
DEFAULT_METRICS_SERVER = False
DEFAULT_METRICS_SERVER_NAMESPACE = "metrics-server"
DEFAULT_SERVICE_MONITOR = False
DEFAULT_NODE_SELECTOR: dict[str, str] = pools.platform_pool_labels()
DEFAULT_PROTECT = False

AUTOSCALING_TIER = _platform_policies.AUTOSCALING_TIER
KEDA_RELEASE = "keda"
"""KEDA's release name. The chart names its objects from fixed values (`operator.name`, `webhooks.name`), not
from the release, and registers the cluster-wide `v1beta1.external.metrics.k8s.io` APIService: one per cluster."""
METRICS_SERVER_RELEASE = "metrics-server"
"""metrics-server's release name (its objects are `metrics-server`, and `v1beta1.metrics.k8s.io`: one per cluster)."""


class PodAutoscalingArgs(TypedDict, total=False):
    """Arguments of `PodAutoscaling`."""

    namespace: str
    """Namespace of KEDA (Pod Security `restricted`). Defaults to keda."""

    metrics_server: bool
    """Install metrics-server, the resource metrics API (`metrics.k8s.io`) that HPAs on CPU and memory and
    `kubectl top` read. True on EKS, which does not ship it; false on AKS, which does (a second one would
    fight over the same APIService). Defaults to false."""

    metrics_server_namespace: str
    """Namespace of metrics-server (Pod Security `restricted`). Defaults to metrics-server."""

    service_monitor: bool
    """Create ServiceMonitors for KEDA's operator, metrics API server and webhook (needs the Prometheus
    operator CRDs: pass `Monitoring.service_monitor_labels` as `service_monitor_labels`, which resolves once
    they exist). Defaults to false."""

    service_monitor_labels: pulumi.Input[dict[str, str]]
    """Extra labels on KEDA's ServiceMonitors (`Monitoring.service_monitor_labels`). Defaults to none."""

    node_selector: dict[str, str]
    """Node labels the KEDA and metrics-server pods select: the platform pool's, or `{}` on a cluster without
    one (an existing cluster). Defaults to {"mlplatform.io/pool-role": "platform"}."""

    protect: bool
    """Protect KEDA's chart (its CRDs: deleting them deletes every ScaledObject in the cluster) against
    `pulumi destroy`, and keep it when removed from the program (`protect` + `retainOnDelete`). Set in prod.
    Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra labels on the namespaces (e.g. the GDPR record-of-processing labels); cannot override the tier or
    Pod Security labels. Defaults to none."""


class PodAutoscaling(pulumi.ComponentResource):
    """Pod autoscaling for the platform: KEDA, and metrics-server where the cluster has none.

    KEDA, not the Prometheus adapter, drives `ModelDeployment.autoscaling`: it queries Prometheus directly
    per ScaledObject (one PromQL query per trigger, written next to the workload, no cluster-wide adapter
    rule file to keep in step with every team's metrics), it scales a Deployment to zero and back
    (`minReplicaCount: 0` with an activation threshold; an HPA cannot go below one replica), and it hands
    the 1↔N range to an ordinary HPA it creates, so scaling above one follows the HPA's well-known algorithm.

    Creates:
    - the `keda` namespace (Pod Security `restricted`, tier `autoscaling`) and KEDA (helm.v4.Chart): its
      CRDs, the operator (two replicas, leader-elected, with a PodDisruptionBudget), the external metrics
      API server and the admission webhook, on the platform pool;
    - with `metrics_server`, a `restricted` namespace and metrics-server: two replicas spread over nodes with
      a PodDisruptionBudget, `system-cluster-critical`, kubelets reached by InternalIP only;
    - NetworkPolicies in both namespaces: default deny, DNS, the API server out, the API server in on the
      metrics APIs and the webhook only, KEDA's operator to Prometheus only, metrics-server to the kubelets.

    Security defaults: every pod non-root, read-only root filesystem, no capabilities, no privilege
    escalation, seccomp RuntimeDefault; requests and a memory limit on every container; KEDA reaches no
    address but Prometheus and the API server, so a trigger cannot be turned into a request to anywhere else.
    Monitoring must admit KEDA (`Monitoring`'s Prometheus policy admits the `autoscaling` tier's operator).
    """

    namespace: pulumi.Output[str]
    """Namespace of KEDA."""

    metrics_server_namespace: pulumi.Output[str]
    """Namespace of metrics-server (empty when it is not installed)."""

    def __init__(self, name: str, args: PodAutoscalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        metrics_server = args.get("metrics_server", DEFAULT_METRICS_SERVER)
        metrics_server_namespace = args.get("metrics_server_namespace", DEFAULT_METRICS_SERVER_NAMESPACE)
        service_monitor = args.get("service_monitor", DEFAULT_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels")
        node_selector = args.get("node_selector", DEFAULT_NODE_SELECTOR)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, PodAutoscalingArgs)
        check_namespace_name(problems, "namespace", namespace)
        check_bool(problems, "metricsServer", metrics_server)
        if metrics_server:
            check_namespace_name(problems, "metricsServerNamespace", metrics_server_namespace)
            if metrics_server_namespace == namespace:
                problems.add("metricsServerNamespace", "must differ from namespace (each has its own policies)")
        check_bool(problems, "serviceMonitor", service_monitor)
        check_string_map(problems, "nodeSelector", node_selector)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"PodAutoscaling '{name}'")

        super().__init__("mlplatform:index:PodAutoscaling", name, {}, opts)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=AUTOSCALING_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-netpol",
            ns.metadata.name,
            _platform_policies.keda_network_policies(metrics_scrape=bool(service_monitor)),
            parent=self,
        )
        # CRDs are cluster-wide and own every ScaledObject: in prod they stay when this component goes.
        _charts.helm_chart(
            f"{name}-keda",
            _charts.KEDA,
            release_name=KEDA_RELEASE,
            namespace=ns.metadata.name,
            values=_values.keda_values(
                node_selector=node_selector,
                service_monitor=bool(service_monitor),
                service_monitor_labels=monitor_labels,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )

        self.metrics_server_namespace = pulumi.Output.from_input("")
        if metrics_server:
            metrics_ns = create_namespace(
                f"{name}-metrics-server-namespace",
                metrics_server_namespace,
                tier=AUTOSCALING_TIER,
                enforce="restricted",
                extra_labels=namespace_labels,
                parent=self,
            )
            _platform_policies.create_network_policies(
                f"{name}-metrics-server-netpol",
                metrics_ns.metadata.name,
                _platform_policies.metrics_server_network_policies(),
                parent=self,
            )
            _charts.helm_chart(
                f"{name}-metrics-server",
                _charts.METRICS_SERVER,
                release_name=METRICS_SERVER_RELEASE,
                namespace=metrics_ns.metadata.name,
                values=_values.metrics_server_values(node_selector=node_selector),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.metrics_server_namespace = metrics_ns.metadata.name

        self.namespace = ns.metadata.name
        self.register_outputs({"namespace": self.namespace, "metricsServerNamespace": self.metrics_server_namespace})
