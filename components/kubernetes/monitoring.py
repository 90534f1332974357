"""`Monitoring`: Prometheus, Alertmanager and Grafana (kube-prometheus-stack) with GPU dashboards and alerts."""

import re
from decimal import Decimal
from typing import TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components._common.validation import Problems, is_duration, require_args_mapping
from components.kubernetes import _charts, _platform_policies, _values
from components.kubernetes._alerts import alert_rule_groups
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_known_arguments,
    check_quantity,
    check_release_names,
)
from components.kubernetes._dashboards import gpu_dashboard_json, serving_dashboard_json
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace

DEFAULT_NAMESPACE = "monitoring"
DEFAULT_NODE_EXPORTER_NAMESPACE = "node-exporter"
DEFAULT_STORAGE_CLASS_NAME: str | None = None
DEFAULT_RETENTION = "15d"
DEFAULT_RETENTION_SIZE = "40GB"
DEFAULT_VOLUME_SIZE = "50Gi"
DEFAULT_ALERTMANAGER_VOLUME_SIZE = "2Gi"
DEFAULT_ALERT_RECEIVER: _values.AlertReceiver = "none"
DEFAULT_GRAFANA = True
DEFAULT_SCRAPE_CONTROL_PLANE = False
DEFAULT_SERVING_LATENCY_P99_SECONDS = 1.0
DEFAULT_SERVING_AVAILABILITY_OBJECTIVE = 0.99
DEFAULT_PROTECT = False

FULLNAME_MAX = 26
"""kube-prometheus-stack truncates its object-name prefix at 26 characters; longer names would be cut."""

GRAFANA_ADMIN_USER = "admin"
RECEIVER_SECRET_KEY = "credential"
DASHBOARD_LABEL = _values.GRAFANA_DASHBOARD_LABEL
MONITORING_TIER = "monitoring"

_RETENTION_SIZE = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<unit>B|KB|MB|GB|TB|PB|EB)$")
_RETENTION_UNITS = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "PB": 2**50, "EB": 2**60}


class MonitoringArgs(TypedDict, total=False):
    """Arguments of `Monitoring`."""

    namespace: str
    """Namespace of Prometheus, Alertmanager and Grafana (Pod Security `baseline` enforced, `restricted` audited
    and warned). Defaults to monitoring."""

    node_exporter_namespace: str
    """Namespace of the node exporter DaemonSet, Pod Security `privileged` (host network, PID and paths).
    Defaults to node-exporter."""

    storage_class_name: pulumi.Input[str]
    """Storage class of the Prometheus and Alertmanager volumes; must be an encrypted class (EBS CSI with
    `encrypted: "true"` and a KMS key, Azure Disk CSI with a disk encryption set). Pass
    `EncryptedStorageClass.class_name` so that only the volumes' chart waits for the class. Defaults to the
    cluster's default class."""

    retention: str
    """How long Prometheus keeps samples (Prometheus duration, e.g. `15d`). Defaults to 15d."""

    retention_size: str
    """Size cap of the Prometheus TSDB (`40GB`; units B, KB, MB, GB, TB), at most 90% of `volume_size`.
    Defaults to 40GB."""

    volume_size: str
    """Prometheus persistent volume size (Kubernetes quantity). Defaults to 50Gi."""

    alert_receiver: str
    """Where Alertmanager sends alerts: `none` (kept in Alertmanager), `webhook`, `slack` or `pagerduty`.
    Defaults to none."""

    alert_receiver_secret: pulumi.Input[str]
    """The webhook URL, Slack incoming-webhook URL or PagerDuty routing key (a Pulumi secret). It is stored in
    a Kubernetes Secret mounted into Alertmanager, never in Helm values; the NetworkPolicy lets Alertmanager
    reach HTTPS on port 443 only, so a webhook URL must be `https://` on the default port. Required unless
    `alert_receiver` is none."""

    slack_channel: str
    """Slack channel, e.g. `#ml-alerts`. Required when `alert_receiver` is slack."""

    grafana: bool
    """Install Grafana with the GPU fleet and model serving dashboards. Defaults to true."""

    scrape_control_plane: bool
    """Scrape etcd, scheduler, controller-manager and kube-proxy; only possible on self-managed control planes
    (not EKS/AKS). Defaults to false."""

    serving_latency_p99_seconds: float
    """p99 latency objective of serving workloads, in seconds (alert `ServingLatencyHigh`). Defaults to 1.0."""

    serving_availability_objective: float
    """Fraction of serving requests that must succeed, between 0 and 1 (alert `ServingErrorBudgetBurn`).
    Defaults to 0.99."""

    protect: bool
    """Protect the stack holding the Prometheus volume against `pulumi destroy` and keep it in the cluster
    when removed from the program (`protect` + `retainOnDelete`). Set in prod. Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra labels on both namespaces (e.g. the GDPR record-of-processing labels); cannot override the tier
    or Pod Security labels. Defaults to none."""


class Monitoring(pulumi.ComponentResource):
    """Prometheus, Alertmanager and Grafana that see every GPU, with GPU dashboards and GPU/serving alerts.

    Creates:
    - the monitoring namespace (Pod Security `baseline`, `restricted` audited) and a `privileged` namespace
      for the node exporter alone;
    - the Prometheus operator CRDs (prometheus-operator-crds, the operator version kube-prometheus-stack
      ships), first and on their own: ServiceMonitors and rules elsewhere wait seconds for them, not minutes
      for the whole stack's rollout, and Pulumi, not Helm's `crds/` directory, upgrades them;
    - kube-prometheus-stack (helm.v4.Chart) whose Prometheus selects ServiceMonitors, PodMonitors, rules and
      probes from every namespace whatever their labels, keeps `retention`/`retention_size` on a persistent
      volume of `storage_class_name`, and whose node exporter tolerates the GPU taints;
    - a random Grafana admin password in a Kubernetes Secret (`admin.existingSecret`);
    - the alert receiver's URL/key in a Kubernetes Secret mounted into Alertmanager (`*_file` settings);
    - the GPU fleet and the model serving (per version, canary vs the other versions) dashboards as
      ConfigMaps labelled `grafana_dashboard: "1"` in the monitoring namespace, where Grafana's sidecar searches;
    - a Role that lets Grafana's sidecars read that namespace's ConfigMaps (the chart binds it);
    - a PrometheusRule with GPU health, GPU capacity/cost, serving SLO alerts per Service and per model
      version, and the canary alert (a version worse than the other versions of its model);
    - NetworkPolicies in both namespaces: default deny, then DNS, the API server for the pods that watch it,
      Prometheus's scrapes of every platform exporter, Grafana's and KEDA's queries, Alertmanager's receiver.

    Security defaults: no credential in Helm values; Grafana reads no Secret and nothing outside its namespace;
    admission webhooks off (their certificates come from Helm hooks, which helm.v4.Chart drops) with the
    rules checked by promtool in tests; every container with requests and a memory limit; Prometheus volume
    retained when its StatefulSet goes; node exporter isolated in its own privileged namespace.
    """

    namespace: pulumi.Output[str]
    """Namespace of Prometheus, Alertmanager and Grafana."""

    node_exporter_namespace: pulumi.Output[str]
    """Namespace of the node exporter."""

    release_name: pulumi.Output[str]
    """Helm release name of kube-prometheus-stack (the component name)."""

    service_monitor_labels: pulumi.Output[dict[str, str]]
    """Labels that make a ServiceMonitor visible to a label-selecting Prometheus of this release; this
    Prometheus selects every ServiceMonitor anyway. Resolves once the Prometheus operator CRDs exist, so a
    chart that takes these labels is rendered after them (charts such as Fluent Bit's leave out their
    ServiceMonitor when the cluster lacks its API). Pass to `GpuStack` and `Logging` as
    `service_monitor_labels`."""

    prometheus_url: pulumi.Output[str]
    """In-cluster URL of Prometheus."""

    alertmanager_url: pulumi.Output[str]
    """In-cluster URL of Alertmanager."""

    grafana_url: pulumi.Output[str]
    """In-cluster URL of Grafana (empty when Grafana is off)."""

    grafana_admin_secret_name: pulumi.Output[str]
    """Kubernetes Secret with Grafana's `admin-user` and `admin-password` (empty when Grafana is off)."""

    grafana_admin_password: pulumi.Output[str]
    """Grafana admin password (secret; empty when Grafana is off)."""

    rule_names: pulumi.Output[list[str]]
    """Names of the alerts and recording rules the PrometheusRule ships."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        node_exporter_namespace = args.get("node_exporter_namespace", DEFAULT_NODE_EXPORTER_NAMESPACE)
        storage_class_name = args.get("storage_class_name", DEFAULT_STORAGE_CLASS_NAME)
        retention = args.get("retention", DEFAULT_RETENTION)
        retention_size = args.get("retention_size", DEFAULT_RETENTION_SIZE)
        volume_size = args.get("volume_size", DEFAULT_VOLUME_SIZE)
        receiver = args.get("alert_receiver", DEFAULT_ALERT_RECEIVER)
        receiver_secret = args.get("alert_receiver_secret")
        slack_channel = args.get("slack_channel")
        grafana_enabled = args.get("grafana", DEFAULT_GRAFANA)
        scrape_control_plane = args.get("scrape_control_plane", DEFAULT_SCRAPE_CONTROL_PLANE)
        latency = args.get("serving_latency_p99_seconds", DEFAULT_SERVING_LATENCY_P99_SECONDS)
        availability = args.get("serving_availability_objective", DEFAULT_SERVING_AVAILABILITY_OBJECTIVE)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, MonitoringArgs)
        check_release_names(problems, name, ("",))
        if len(name) > FULLNAME_MAX:
            problems.add("name", f"prefixes the Prometheus objects and must be at most {FULLNAME_MAX} characters")
        check_namespace_name(problems, "namespace", namespace)
        check_namespace_name(problems, "nodeExporterNamespace", node_exporter_namespace)
        if namespace == node_exporter_namespace:
            problems.add("nodeExporterNamespace", "must differ from namespace (it is privileged; monitoring is not)")
        if storage_class_name is not None and not (
            isinstance(storage_class_name, pulumi.Output)
            or (isinstance(storage_class_name, str) and storage_class_name)
        ):
            problems.add("storageClassName", "must be a storage class name")
        if not isinstance(retention, str) or not is_duration(retention):
            problems.add("retention", f"{retention!r} is not a Prometheus duration like '15d' or '12h'")
        volume = check_quantity(problems, "volumeSize", volume_size)
        size = _RETENTION_SIZE.match(retention_size) if isinstance(retention_size, str) else None
        if size is None:
            problems.add("retentionSize", f"{retention_size!r} is not a size like '40GB'")
        elif volume is not None and Decimal(size["number"]) * _RETENTION_UNITS[size["unit"]] > volume * Decimal("0.9"):
            problems.add("retentionSize", f"must leave 10% of volumeSize ({volume_size}) free for compaction")
        check_choice(problems, "alertReceiver", receiver, _values.ALERT_RECEIVERS)
        if receiver != "none" and receiver_secret is None:
            problems.add("alertReceiverSecret", f"required for the {receiver} receiver (the URL or key, as a secret)")
        if receiver == "slack" and not slack_channel:
            problems.add("slackChannel", "required for the slack receiver, e.g. '#ml-alerts'")
        check_bool(problems, "grafana", grafana_enabled)
        check_bool(problems, "scrapeControlPlane", scrape_control_plane)
        check_bool(problems, "protect", protect)
        if not isinstance(latency, int | float) or isinstance(latency, bool) or latency <= 0:
            problems.add("servingLatencyP99Seconds", f"must be a positive number of seconds (got {latency!r})")
        if not isinstance(availability, int | float) or isinstance(availability, bool) or not 0 < availability < 1:
            problems.add("servingAvailabilityObjective", f"must be between 0 and 1, e.g. 0.99 (got {availability!r})")
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"Monitoring '{name}'")

        super().__init__("mlplatform:index:Monitoring", name, {}, opts)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=MONITORING_TIER,
            enforce="baseline",
            extra_labels=namespace_labels,
            parent=self,
        )
        node_exporter_ns = create_namespace(
            f"{name}-node-exporter-namespace",
            node_exporter_namespace,
            tier=MONITORING_TIER,
            enforce="privileged",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-netpol",
            ns.metadata.name,
            _platform_policies.monitoring_network_policies(namespace=namespace, alert_receiver=receiver != "none"),
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-node-exporter-netpol",
            node_exporter_ns.metadata.name,
            _platform_policies.node_exporter_network_policies(monitoring_namespace=namespace),
            parent=self,
        )
        # Cluster-scoped and shared by every namespace's ServiceMonitors and rules: deleting them would delete
        # every such object in the cluster, so in prod they stay when this component goes.
        crds = _charts.helm_chart(
            f"{name}-operator-crds",
            _charts.PROMETHEUS_OPERATOR_CRDS,
            release_name=f"{name}-operator-crds",
            namespace=namespace,
            values={},
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        # The Prometheus and Alertmanager objects of the chart need the CRDs.
        chart_dependencies: list[pulumi.Resource] = [ns, node_exporter_ns, crds]

        grafana_secret_name = f"{name}-grafana-admin"
        grafana_sidecar_role: pulumi.Input[str] = f"{name}-grafana-sidecar"
        if grafana_enabled:
            # Grafana's sidecars read dashboard and datasource ConfigMaps of this namespace, nothing else; the
            # chart binds this Role (`rbac.useExistingRole`) instead of its own, which also grants Secrets.
            role = k8s.rbac.v1.Role(
                f"{name}-grafana-sidecar",
                metadata={"name": grafana_sidecar_role, "namespace": ns.metadata.name},
                rules=[dict(rule) for rule in _values.GRAFANA_SIDECAR_ROLE_RULES],
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The chart's RoleBinding names the Role; through this output the chart waits for it.
            grafana_sidecar_role = role.metadata.name
            password = random.RandomPassword(
                f"{name}-grafana-admin-password",
                length=32,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            grafana_secret = k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": grafana_secret_name, "namespace": ns.metadata.name},
                type="Opaque",
                string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": password.result},
                opts=pulumi.ResourceOptions(parent=self),
            )
            chart_dependencies.append(grafana_secret)
            self.grafana_admin_password = pulumi.Output.secret(password.result)
            self.grafana_admin_secret_name = grafana_secret.metadata.name
            self.grafana_url = ns.metadata.name.apply(lambda n: f"http://{name}-grafana.{n}.svc")
        else:
            self.grafana_admin_password = pulumi.Output.secret("")
            self.grafana_admin_secret_name = pulumi.Output.from_input("")
            self.grafana_url = pulumi.Output.from_input("")

        alertmanager_secrets: list[str] = []
        secret_file: str | None = None
        if receiver != "none":
            receiver_secret_name = f"{name}-alert-receiver"
            receiver_secret_resource = k8s.core.v1.Secret(
                f"{name}-alert-receiver",
                metadata={"name": receiver_secret_name, "namespace": ns.metadata.name},
                type="Opaque",
                string_data={RECEIVER_SECRET_KEY: pulumi.Output.secret(receiver_secret)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            chart_dependencies.append(receiver_secret_resource)
            alertmanager_secrets.append(receiver_secret_name)
            # The Prometheus operator mounts each listed Secret at this path in the Alertmanager pods.
            secret_file = f"/etc/alertmanager/secrets/{receiver_secret_name}/{RECEIVER_SECRET_KEY}"

        values = _values.kube_prometheus_stack_values(
            fullname=name,
            retention=retention,
            retention_size=retention_size,
            volume_size=volume_size,
            alertmanager_volume_size=DEFAULT_ALERTMANAGER_VOLUME_SIZE,
            storage_class_name=storage_class_name,
            alertmanager=_values.alertmanager_config(receiver, secret_file=secret_file, slack_channel=slack_channel),
            alertmanager_secrets=alertmanager_secrets,
            grafana_enabled=grafana_enabled,
            grafana_admin_secret=grafana_secret_name,
            grafana_sidecar_role=grafana_sidecar_role,
            namespace=namespace,
            node_exporter_namespace=node_exporter_namespace,
            scrape_control_plane=scrape_control_plane,
        )
        self._chart = _charts.helm_chart(
            f"{name}-kube-prometheus-stack",
            _charts.KUBE_PROMETHEUS_STACK,
            release_name=name,
            namespace=ns.metadata.name,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=chart_dependencies, protect=protect, retain_on_delete=protect
            ),
        )

        service_monitor_labels = {"release": name}
        # What needs only the CRDs (ServiceMonitors, rules) waits for them alone, through this output.
        labels_after_crds = crds.urn.apply(lambda _: service_monitor_labels)
        if grafana_enabled:
            k8s.core.v1.ConfigMap(
                f"{name}-gpu-dashboard",
                metadata={
                    "name": f"{name}-gpu-fleet-dashboard",
                    "namespace": ns.metadata.name,
                    "labels": {DASHBOARD_LABEL: "1"},
                },
                data={"gpu-fleet.json": gpu_dashboard_json()},
                opts=pulumi.ResourceOptions(parent=self),
            )
            k8s.core.v1.ConfigMap(
                f"{name}-serving-dashboard",
                metadata={
                    "name": f"{name}-model-serving-dashboard",
                    "namespace": ns.metadata.name,
                    "labels": {DASHBOARD_LABEL: "1"},
                },
                data={"model-serving.json": serving_dashboard_json()},
                opts=pulumi.ResourceOptions(parent=self),
            )

        groups = alert_rule_groups(latency_p99_seconds=float(latency), availability_objective=float(availability))
        k8s.apiextensions.CustomResource(
            f"{name}-gpu-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": f"{name}-mlplatform", "namespace": ns.metadata.name, "labels": service_monitor_labels},
            spec={"groups": groups},
            # The PrometheusRule CRD comes first; the operator picks the rule up whenever it starts.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds]),
        )

        self.namespace = ns.metadata.name
        self.node_exporter_namespace = node_exporter_ns.metadata.name
        self.release_name = pulumi.Output.from_input(name)
        self.service_monitor_labels = labels_after_crds
        self.prometheus_url = ns.metadata.name.apply(lambda n: f"http://{name}-prometheus.{n}.svc:9090")
        self.alertmanager_url = ns.metadata.name.apply(lambda n: f"http://{name}-alertmanager.{n}.svc:9093")
        # One alert may have several rules (ServingCanaryRegression: one per signal); each name once.
        self.rule_names = pulumi.Output.from_input(
            list(dict.fromkeys(rule.get("alert") or rule["record"] for group in groups for rule in group["rules"]))
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "nodeExporterNamespace": self.node_exporter_namespace,
                "releaseName": self.release_name,
                "serviceMonitorLabels": self.service_monitor_labels,
                "prometheusUrl": self.prometheus_url,
                "alertmanagerUrl": self.alertmanager_url,
                "grafanaUrl": self.grafana_url,
                "grafanaAdminSecretName": self.grafana_admin_secret_name,
                "grafanaAdminPassword": self.grafana_admin_password,
                "ruleNames": self.rule_names,
            }
        )
