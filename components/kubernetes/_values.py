"""Pure builders of the Helm values for every chart of the Kubernetes layer (tested without mocks).

Each builder fixes one of the default-configuration traps that leave GPU nodes invisible in other projects
(../shared/REFERENCE.md): ServiceMonitors Prometheus never selects, agents that do not tolerate the GPU
taints, a device plugin that ignores AKS's `sku=gpu` taint, `storageSpec: {}` (no volume) and
Fluent Bit's `tolerations: []`.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pulumi

from components._common import gpu
from components._common.autoscaling import KARPENTER_SERVICE_ACCOUNT
from components._common.pools import PLATFORM_POOL_ROLE, POOL_ROLE_LABEL
from components._common.tags import TIER_LABEL

Labels = Mapping[str, str] | pulumi.Output[Mapping[str, str]]
"""Labels known now, or an output of another component (Helm values accept both)."""

AlertReceiver = Literal["none", "webhook", "slack", "pagerduty"]
ALERT_RECEIVERS: tuple[AlertReceiver, ...] = ("none", "webhook", "slack", "pagerduty")

DCGM_SCRAPE_INTERVAL = "15s"
"""How often Prometheus scrapes DCGM (the standalone chart's default; fine-grained enough for XID bursts)."""

DCGM_METRICS_PORT = 9400
"""Port of the DCGM exporter's /metrics endpoint."""

NODE_LABEL = "node"
"""The label every GPU series carries with the node's name (set by the DCGM relabeling below)."""

# DCGM maps each GPU to the pod using it and exports that pod's `namespace`, `pod` and `container`.
# Prometheus would rename them `exported_*` because the scrape target (the exporter pod) carries the
# same labels, and idle GPUs would then look as if they belonged to the exporter. Dropping the target's
# labels keeps the workload's, unprefixed, and leaves unallocated GPUs without any: exactly what the
# "allocated but idle" alert and the per-namespace dashboard need.
DCGM_RELABELINGS: list[dict[str, Any]] = [
    {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_node_name"],
        "targetLabel": NODE_LABEL,
    },
    {"action": "labeldrop", "regex": "namespace|pod|container"},
]

KUBE_STATE_METRICS_LABEL_ALLOWLIST: list[str] = [
    f"nodes=[{gpu.GPU_PRESENT_LABEL},{gpu.GPU_POOL_LABEL},{gpu.ACCELERATOR_LABEL}]",
    f"namespaces=[{TIER_LABEL}]",
]
"""Node and namespace labels kube-state-metrics exports on `kube_node_labels` / `kube_namespace_labels`,
so dashboards can group GPUs by pool and SLO rules can find serving namespaces."""


def prometheus_label(label: str) -> str:
    """The name kube-state-metrics gives a Kubernetes label: `label_` + the key with non-alphanumerics as `_`."""
    return "label_" + "".join(character if character.isalnum() else "_" for character in label)


def node_agent_tolerations() -> list[dict[str, str]]:
    """Tolerations of agents that must run on every node: the GPU contract's, plus any other NoSchedule taint.

    The explicit GPU entries document (and test) the contract; the catch-all keeps nodes with
    user-defined taints from becoming blind spots too.
    """
    return [*gpu.agent_tolerations(), {"operator": "Exists", "effect": "NoSchedule"}]


def container_resources(*, cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    """Requests plus a memory limit, no CPU limit.

    The memory limit bounds what a leaking container can take from its node's other pods (memory cannot be
    reclaimed without killing); a CPU limit would only throttle a busy operator or scrape while the node
    has idle cores, and CPU requests already guarantee each container its share.
    """
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


# --- NVIDIA ---------------------------------------------------------------------------------------------


def dcgm_service_monitor(labels: Labels, *, enabled: bool = True) -> dict[str, Any]:
    """The DCGM exporter's ServiceMonitor settings (same keys in the GPU operator and the standalone chart)."""
    return {
        "enabled": enabled,
        "interval": DCGM_SCRAPE_INTERVAL,
        "honorLabels": False,
        "additionalLabels": labels,
        "relabelings": [dict(item) for item in DCGM_RELABELINGS],
    }


def gpu_operator_values(
    *,
    driver_preinstalled: bool,
    toolkit_preinstalled: bool,
    service_monitor_labels: Labels,
    service_monitor: bool = True,
    pool_taints: Sequence[gpu.Taint] = (),
    runtime_class: str = gpu.OPERATOR_RUNTIME_CLASS,
    cdi: bool = True,
) -> dict[str, Any]:
    """Values of the NVIDIA GPU operator chart.

    Args:
        driver_preinstalled: the node image ships the NVIDIA driver (EKS NVIDIA AMIs, AKS gpuProfile
            driver=Install); the operator must not install a second one.
        toolkit_preinstalled: the node image ships the NVIDIA container toolkit.
        service_monitor_labels: extra labels on the DCGM ServiceMonitor.
        service_monitor: create that ServiceMonitor (needs the Prometheus operator CRDs).
        pool_taints: every taint of the cluster's GPU pools; operands and the NFD worker tolerate each.
        runtime_class: the containerd runtime handler the operands run with (`operator.runtimeClass`):
            `nvidia` (the operator's toolkit, EKS NVIDIA AMIs) or `nvidia-container-runtime` (AKS's toolkit).
        cdi: let the operator switch the device plugin to CDI (`cdi.enabled`); off with AKS's toolkit.
    """
    return {
        "driver": {"enabled": not driver_preinstalled},
        "toolkit": {"enabled": not toolkit_preinstalled},
        # The operator sets `runtimeClassName` on every operand pod from this (controllers/object_controls.go
        # `setRuntimeClassName` at v26.7.0); a handler the node's containerd does not know fails sandbox creation.
        "operator": {"runtimeClass": runtime_class, **gpu_operator_hardening_values()["operator"]},
        "devicePlugin": {"enabled": True},
        "cdi": {"enabled": cdi},
        # The exporter embeds its own host engine; a separate DCGM DaemonSet would only add a privileged pod.
        "dcgm": {"enabled": False},
        "dcgmExporter": {
            "enabled": True,
            "serviceMonitor": dcgm_service_monitor(service_monitor_labels, enabled=service_monitor),
        },
        # The operator copies these onto every operand DaemonSet (device plugin, DCGM exporter, GFD, validator,
        # MIG manager), which land on nodes labelled `nvidia.com/gpu.present=true`. The chart's default tolerates
        # only `nvidia.com/gpu`: it misses AKS's `sku=gpu`, spot and every pool's own taints.
        "daemonsets": {"tolerations": gpu.gpu_agent_tolerations(pool_taints)},
        # Node Feature Discovery finds the GPUs (PCI vendor 10de) the operator keys off; its worker must
        # reach every tainted GPU node, and the system pool.
        "node-feature-discovery": {"worker": {"tolerations": gpu.agent_tolerations(pool_taints)}},
    }


GPU_OPERATOR_UID = 1000
"""The uid:gid the GPU operator image runs as (gpu-operator v26.7.0 `docker/Dockerfile`: `USER 1000:1000`)."""

GPU_OPERATOR_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": GPU_OPERATOR_UID,
    "runAsGroup": GPU_OPERATOR_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod security context of the GPU operator Deployment (the controller only talks to the API server)."""

GPU_OPERATOR_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    # NVIDIA runs the same image under OpenShift's `restricted-readonly` SCC (readOnlyRootFilesystem: true,
    # arbitrary uid), which the chart's `operator.annotations` default selects.
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
}
"""Container security context of the GPU operator (`gpu-operator` container)."""


def gpu_operator_hardening_values() -> dict[str, Any]:
    """The GPU operator chart values that harden its own Deployment: requests and a memory limit.

    The chart at v26.7.0 has no security-context value for the operator Deployment
    (`deployments/gpu-operator/templates/operator.yaml` renders no `securityContext`, and `values.yaml`
    has no such key under `operator`), so the security contexts above are applied by
    `_charts.gpu_operator_hardening_transform()` to the rendered Deployment; only `operator.resources`
    is a chart value. Merge this fragment into `gpu_operator_values()`.
    """
    return {"operator": {"resources": container_resources(cpu="200m", memory="128Mi", memory_limit="350Mi")}}


def device_plugin_values(pool_taints: Sequence[gpu.Taint] = ()) -> dict[str, Any]:
    """Values of the plain NVIDIA device plugin chart (for node images that ship driver and toolkit).

    The chart's affinity already requires `nvidia.com/gpu.present=true` (or the NFD PCI label); the node
    selector makes the GPU contract explicit, and the tolerations add AKS's `sku=gpu` and every pool's own
    taints (`pool_taints`), which the chart's defaults do not tolerate.
    """
    return {
        "tolerations": gpu.agent_tolerations(pool_taints),
        "nodeSelector": gpu.gpu_node_selector(),
        # GPU feature discovery needs Node Feature Discovery, which this mode deliberately does not install.
        "gfd": {"enabled": False},
    }


def dcgm_exporter_values(
    service_monitor_labels: Labels, *, service_monitor: bool = True, pool_taints: Sequence[gpu.Taint] = ()
) -> dict[str, Any]:
    """Values of the standalone DCGM exporter chart (device-plugin mode).

    Its defaults tolerate only the control plane and select no nodes, so it would never reach a GPU; it
    tolerates every GPU pool's taints (`pool_taints` included) and selects GPU nodes.
    """
    return {
        "tolerations": gpu.gpu_agent_tolerations(pool_taints),
        "nodeSelector": gpu.gpu_node_selector(),
        "serviceMonitor": dcgm_service_monitor(service_monitor_labels, enabled=service_monitor),
    }


# --- kube-prometheus-stack ------------------------------------------------------------------------------

_SELECTED_KINDS = ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")


def open_selectors() -> dict[str, Any]:
    """Prometheus selectors that pick up monitors and rules from every namespace, whatever their labels.

    With `…SelectorNilUsesHelmValues: true` (the chart default) Prometheus only selects objects labelled
    `release: <release>`, and the GPU operator's ServiceMonitor has no such label: the GPUs would be
    silently unmonitored.
    """
    values: dict[str, Any] = {}
    for kind in _SELECTED_KINDS:
        values[f"{kind}SelectorNilUsesHelmValues"] = False
        values[f"{kind}Selector"] = {}
        values[f"{kind}NamespaceSelector"] = {}
    return values


def volume_claim_template(storage_class_name: pulumi.Input[str] | None, size: str) -> dict[str, Any]:
    """A ReadWriteOnce volume claim template on `storage_class_name` (None: the cluster default class).

    An Output name (e.g. `EncryptedStorageClass.class_name`) carries its dependency: only the objects whose
    volumes use the class wait for it.
    """
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class_name is not None:
        spec["storageClassName"] = storage_class_name
    return {"spec": spec}


def alertmanager_receiver_config(
    receiver: AlertReceiver, *, secret_file: str | None, slack_channel: str | None
) -> dict[str, Any] | None:
    """The Alertmanager receiver for `receiver`, reading its URL or key from `secret_file`; None for `none`.

    The `*_file` settings keep the credential in a mounted Kubernetes Secret, out of the Helm values and
    out of the Alertmanager configuration Secret the chart renders.
    """
    if receiver == "none":
        return None
    if receiver == "webhook":
        return {"webhook_configs": [{"url_file": secret_file, "send_resolved": True}]}
    if receiver == "slack":
        return {
            "slack_configs": [
                {
                    "api_url_file": secret_file,
                    "channel": slack_channel,
                    "send_resolved": True,
                    "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
                    "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
                }
            ]
        }
    return {"pagerduty_configs": [{"routing_key_file": secret_file, "send_resolved": True}]}


def alertmanager_config(
    receiver: AlertReceiver, *, secret_file: str | None = None, slack_channel: str | None = None
) -> dict[str, Any]:
    """The whole Alertmanager configuration: one route to the configured receiver, Watchdog to nowhere."""
    receiver_config = alertmanager_receiver_config(receiver, secret_file=secret_file, slack_channel=slack_channel)
    default_receiver = "platform" if receiver_config else "null"
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    if receiver_config:
        receivers.append({"name": "platform", **receiver_config})
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": default_receiver,
            "group_by": ["alertname", "namespace", "node"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            # Watchdog always fires to prove the pipeline works; it is for dead-man switches, not people.
            "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity =~ "warning|info"'],
                "equal": ["namespace", "node", "gpu"],
            }
        ],
        "receivers": receivers,
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"
"""Label (value "1") of the ConfigMaps whose dashboards Grafana's sidecar loads."""

GRAFANA_SIDECAR_ROLE_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
]
"""What Grafana's dashboard and datasource sidecars may do, in the monitoring namespace only: read ConfigMaps.

The chart's own Role (and, with `rbac.namespaced: false`, its ClusterRole) hard-codes `configmaps` and
`secrets` (grafana 12.11.1 `templates/role.yaml`, `templates/clusterrole.yaml`); the monitoring namespace holds
the alert receiver's URL or key and Alertmanager's configuration, which Grafana has no business reading. So the
caller creates this Role and the chart binds it (`rbac.useExistingRole`)."""


def grafana_values(
    *, enabled: bool, admin_secret: str, sidecar_role: pulumi.Input[str], namespace: str
) -> dict[str, Any]:
    """Values of kube-prometheus-stack's Grafana subchart (grafana-community grafana 12.11.1).

    The sidecars search ConfigMaps of `namespace` alone (kube-prometheus-stack's default `ALL` makes the chart
    grant cluster-wide read of every ConfigMap and Secret). The dashboards kube-prometheus-stack ships, its
    datasource ConfigMap and the platform's GPU dashboard are all created in that namespace.
    """
    sidecar_search = {"searchNamespace": [namespace], "resource": "configmap"}
    return {
        "enabled": enabled,
        # The password never enters the values: Grafana reads it from this Secret.
        "admin": {"existingSecret": admin_secret, "userKey": "admin-user", "passwordKey": "admin-password"},
        "defaultDashboardsTimezone": "utc",
        # A Role and RoleBinding in the release namespace instead of a ClusterRole; the Role is ours.
        "rbac": {"namespaced": True, "useExistingRole": sidecar_role},
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": GRAFANA_DASHBOARD_LABEL,
                "labelValue": "1",
                **sidecar_search,
            },
            "datasources": dict(sidecar_search),
            # Every sidecar container (dashboards, datasources).
            "resources": container_resources(cpu="50m", memory="64Mi", memory_limit="128Mi"),
        },
        "resources": container_resources(cpu="100m", memory="256Mi", memory_limit="512Mi"),
    }


def kube_prometheus_stack_values(
    *,
    fullname: str,
    retention: str,
    retention_size: str,
    volume_size: str,
    alertmanager_volume_size: str,
    storage_class_name: pulumi.Input[str] | None,
    alertmanager: Mapping[str, Any],
    alertmanager_secrets: list[str],
    grafana_enabled: bool,
    grafana_admin_secret: str,
    grafana_sidecar_role: pulumi.Input[str],
    namespace: str,
    node_exporter_namespace: str,
    scrape_control_plane: bool,
) -> dict[str, Any]:
    """Values of kube-prometheus-stack.

    Args:
        fullname: prefix of the rendered objects (`<fullname>-prometheus`, …); at most 26 characters.
        retention: Prometheus retention (duration, e.g. `15d`).
        retention_size: Prometheus size cap (e.g. `40GB`).
        volume_size: Prometheus volume size (quantity).
        alertmanager_volume_size: Alertmanager volume size (quantity), for silences and notification state.
        storage_class_name: the (encrypted) storage class of both volumes; None for the cluster default.
        alertmanager: the Alertmanager configuration (`alertmanager_config`).
        alertmanager_secrets: Secrets mounted into Alertmanager under /etc/alertmanager/secrets/<name>.
        grafana_enabled: install Grafana.
        grafana_admin_secret: the Secret holding Grafana's `admin-user` and `admin-password`.
        grafana_sidecar_role: the Role (in `namespace`) that lets Grafana's sidecars read ConfigMaps there;
            created by the caller (`grafana_sidecar_role_rules`), bound by the chart.
        namespace: the namespace of the release; Grafana's sidecars search it, and only it.
        node_exporter_namespace: the (privileged) namespace of the node exporter DaemonSet.
        scrape_control_plane: scrape etcd, scheduler, controller-manager and kube-proxy.
    """
    prometheus_spec: dict[str, Any] = {
        "retention": retention,
        "retentionSize": retention_size,
        "storageSpec": {"volumeClaimTemplate": volume_claim_template(storage_class_name, volume_size)},
        # The TSDB outlives a deleted or scaled-down StatefulSet; deleting it is a deliberate act.
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "resources": container_resources(cpu="500m", memory="2Gi", memory_limit="4Gi"),
        **open_selectors(),
    }
    return {
        "fullnameOverride": fullname,
        # The CRDs come from the prometheus-operator-crds chart, installed first (see `Monitoring`): whatever
        # needs only a CRD (ServiceMonitors, PrometheusRules) then waits seconds, not for this chart's rollout.
        "crds": {"enabled": False},
        "defaultRules": {"create": True},
        "prometheusOperator": {
            # The webhook's certificate comes from Helm hook Jobs, which helm.v4.Chart drops (it applies no
            # hooks at all); rules are checked offline by promtool in our tests instead.
            "admissionWebhooks": {"enabled": False},
            # The operator's TLS listener serves that webhook certificate; without the webhook it has none.
            "tls": {"enabled": False},
            "resources": container_resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
            # The config-reloader sidecar the operator adds to every Prometheus and Alertmanager pod.
            "prometheusConfigReloader": {
                "resources": container_resources(cpu="10m", memory="32Mi", memory_limit="64Mi")
            },
        },
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {
            "enabled": True,
            "config": dict(alertmanager),
            "alertmanagerSpec": {
                "secrets": list(alertmanager_secrets),
                "storage": {"volumeClaimTemplate": volume_claim_template(storage_class_name, alertmanager_volume_size)},
                "resources": container_resources(cpu="50m", memory="128Mi", memory_limit="256Mi"),
            },
        },
        "grafana": grafana_values(
            enabled=grafana_enabled,
            admin_secret=grafana_admin_secret,
            sidecar_role=grafana_sidecar_role,
            namespace=namespace,
        ),
        "kube-state-metrics": {
            "metricLabelsAllowlist": list(KUBE_STATE_METRICS_LABEL_ALLOWLIST),
            "resources": container_resources(cpu="50m", memory="128Mi", memory_limit="256Mi"),
        },
        "prometheus-node-exporter": {
            # Host network, host PID and host paths need a privileged namespace; keeping the exporter out of
            # the monitoring namespace lets Prometheus, Alertmanager and Grafana stay under `baseline`.
            "namespaceOverride": node_exporter_namespace,
            "tolerations": node_agent_tolerations(),
            "resources": container_resources(cpu="50m", memory="64Mi", memory_limit="128Mi"),
        },
        # Managed control planes (EKS, AKS) do not expose these endpoints; scraping them only produces
        # permanently firing TargetDown alerts.
        "kubeEtcd": {"enabled": scrape_control_plane},
        "kubeControllerManager": {"enabled": scrape_control_plane},
        "kubeScheduler": {"enabled": scrape_control_plane},
        "kubeProxy": {"enabled": scrape_control_plane},
    }


# --- Elastic / Fluent Bit -------------------------------------------------------------------------------


def eck_operator_values(managed_namespaces: list[str]) -> dict[str, Any]:
    """Values of the ECK operator chart: CRDs installed, webhook on, reconciling only `managed_namespaces`."""
    return {
        "installCRDs": True,
        "createClusterScopedResources": True,
        "webhook": {"enabled": True},
        "managedNamespaces": list(managed_namespaces),
        # The chart's default requests 100m/150Mi with a 1Gi limit; stated so the limit is tested, not assumed.
        "resources": container_resources(cpu="100m", memory="150Mi", memory_limit="1Gi"),
    }


FLUENT_BIT_CA_DIR = "/fluent-bit/es-ca"
"""Where the Elasticsearch HTTP CA is mounted in Fluent Bit."""

FLUENT_BIT_CA_ANNOTATION = "mlplatform.io/es-ca-sha256"
"""Pod annotation carrying the CA's digest, so a renewed CA restarts Fluent Bit."""


def fluent_bit_config(*, es_host: str, data_stream: str) -> dict[str, str]:
    """Fluent Bit's pipeline: container logs, Kubernetes metadata, Elasticsearch over verified TLS.

    Args:
        es_host: DNS name of the `<name>-es-http` service (one of the names in ECK's certificate).
        data_stream: the data stream the logs go to; its index template attaches the lifecycle policy.
    """
    service = "\n".join(
        [
            "[SERVICE]",
            "    Daemon Off",
            "    Flush 1",
            "    Log_Level info",
            "    Parsers_File /fluent-bit/etc/parsers.conf",
            "    HTTP_Server On",
            "    HTTP_Listen 0.0.0.0",
            "    HTTP_Port 2020",
            "    Health_Check On",
        ]
    )
    inputs = "\n".join(
        [
            "[INPUT]",
            "    Name tail",
            "    Path /var/log/containers/*.log",
            "    multiline.parser docker, cri",
            "    Tag kube.*",
            "    DB /var/log/flb_kube.db",
            "    Mem_Buf_Limit 50MB",
            "    Skip_Long_Lines On",
        ]
    )
    filters = "\n".join(
        [
            "[FILTER]",
            "    Name kubernetes",
            "    Match kube.*",
            # Parsing every application's JSON into top-level fields makes one index mapping for all teams;
            # a type clash then rejects documents. Teams opt in per pod with the fluentbit.io/parser annotation.
            "    Merge_Log Off",
            "    Keep_Log On",
            "    Labels On",
            "    Annotations Off",
            "    K8S-Logging.Parser On",
            "    K8S-Logging.Exclude On",
        ]
    )
    outputs = "\n".join(
        [
            "[OUTPUT]",
            "    Name es",
            "    Match kube.*",
            f"    Host {es_host}",
            "    Port 9200",
            "    HTTP_User ${ES_USER}",
            "    HTTP_Passwd ${ES_PASSWORD}",
            "    tls On",
            "    tls.verify On",
            f"    tls.ca_file {FLUENT_BIT_CA_DIR}/ca.crt",
            f"    Index {data_stream}",
            # Data streams accept only `create`; `@timestamp` is the field they require.
            "    Write_Operation create",
            "    Time_Key @timestamp",
            "    Suppress_Type_Name On",
            "    Replace_Dots On",
            "    Trace_Error On",
            "    Retry_Limit 10",
        ]
    )
    return {"service": service, "inputs": inputs, "filters": filters, "outputs": outputs}


def fluent_bit_values(
    *,
    es_host: str,
    data_stream: str,
    ca_config_map: pulumi.Input[str],
    credentials_secret: str,
    service_monitor: bool,
    service_monitor_labels: Labels | None = None,
    ca_digest: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    """Values of the fluent-bit chart: a DaemonSet on every node, GPU nodes included.

    Args:
        es_host: DNS name of the Elasticsearch HTTP service.
        data_stream: the data stream logs are written to.
        ca_config_map: the ConfigMap in Fluent Bit's namespace with the Elasticsearch HTTP CA (key `ca.crt`).
        credentials_secret: the basic-auth Secret of the dedicated log-writer user, in Fluent Bit's namespace.
        service_monitor: create a ServiceMonitor for Fluent Bit's own metrics (needs the Prometheus CRDs).
        service_monitor_labels: extra labels on that ServiceMonitor (the chart's `serviceMonitor.selector`).
        ca_digest: a digest of the CA, as a pod annotation: Fluent Bit reads `tls.ca_file` at start, so a
            renewed CA rolls the DaemonSet.
    """

    def secret_env(name: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": credentials_secret, "key": key}}}

    values: dict[str, Any] = {
        "kind": "DaemonSet",
        # The chart's default is `tolerations: []`: no logs from any tainted (GPU or system) node.
        "tolerations": node_agent_tolerations(),
        "env": [secret_env("ES_USER", "username"), secret_env("ES_PASSWORD", "password")],
        "extraVolumes": [{"name": "es-ca", "configMap": {"name": ca_config_map}}],
        "extraVolumeMounts": [{"name": "es-ca", "mountPath": FLUENT_BIT_CA_DIR, "readOnly": True}],
        "config": fluent_bit_config(es_host=es_host, data_stream=data_stream),
        "serviceMonitor": {
            "enabled": service_monitor,
            **({"selector": service_monitor_labels} if service_monitor_labels is not None else {}),
        },
        "resources": container_resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
    }
    if ca_digest is not None:
        values["podAnnotations"] = {FLUENT_BIT_CA_ANNOTATION: ca_digest}
    return values


# --- Pod autoscaling (KEDA, metrics-server) -------------------------------------------------------------

RESTRICTED_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod security context of the autoscaling pods: Pod Security `restricted` at pod level (their images run as
numeric non-root users: KEDA's distroless `nonroot`, metrics-server's chart sets uid 1000)."""

RESTRICTED_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Container security context of the autoscaling pods: every field Pod Security `restricted` checks."""

METRICS_SERVER_UID = 1000
"""The uid metrics-server runs as (metrics-server chart 3.13.1 `securityContext.runAsUser`)."""

METRICS_SERVER_ARGS: list[str] = [
    "--cert-dir=/tmp",
    # EKS and AKS nodes register their kubelet under the private address; ExternalIP and Hostname (the chart's
    # fallbacks) would only ever be tried against nodes without one, through paths the policies do not open.
    "--kubelet-preferred-address-types=InternalIP",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
]
"""metrics-server's flags (the chart's `defaultArgs`, replaced whole: Helm replaces lists)."""


def metrics_server_values(*, node_selector: Mapping[str, str]) -> dict[str, Any]:
    """Values of the metrics-server chart (kubernetes-sigs/metrics-server 3.13.1): the resource metrics API
    (`metrics.k8s.io`) the HorizontalPodAutoscaler reads CPU and memory from. EKS does not ship it; AKS does.

    Two replicas with a PodDisruptionBudget: the HPA of every workload stops when the API is unavailable (the
    upstream README's high-availability recommendation). The API server calls it through the aggregation
    layer; its own certificate is self-signed (see `_charts` on why not Helm-generated).

    Args:
        node_selector: where the pods run: the platform pool (`pools.platform_pool_labels()`), or `{}` on a
            cluster without one.
    """
    return {
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        # Replicas on different nodes, so one node's drain or loss never takes the API down.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "metrics-server"}},
            }
        ],
        "defaultArgs": list(METRICS_SERVER_ARGS),
        "podSecurityContext": dict(RESTRICTED_POD_SECURITY_CONTEXT),
        "securityContext": {**RESTRICTED_CONTAINER_SECURITY_CONTEXT, "runAsUser": METRICS_SERVER_UID},
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": dict(node_selector),
        # Upstream sizing: 100m and 200Mi serve clusters of up to 100 nodes (README "Scaling").
        "resources": container_resources(cpu="100m", memory="200Mi", memory_limit="400Mi"),
    }


KEDA_COMPONENTS = ("operator", "metricServer", "webhooks")
"""The keys KEDA's chart uses per Deployment in `resources`, `securityContext` and `podSecurityContext`."""


def keda_values(
    *, node_selector: Mapping[str, str], service_monitor: bool, service_monitor_labels: Labels | None = None
) -> dict[str, Any]:
    """Values of the KEDA chart (kedacore/charts keda 2.20.2): operator, metrics API server, admission webhooks.

    Args:
        node_selector: where the three Deployments run: the platform pool, or `{}` on a cluster without one.
        service_monitor: create ServiceMonitors for the three components (needs the Prometheus operator CRDs).
        service_monitor_labels: extra labels on those ServiceMonitors (`Monitoring.service_monitor_labels`).
    """
    monitor: dict[str, Any] = {"enabled": service_monitor}
    if service_monitor_labels is not None:
        monitor["additionalLabels"] = service_monitor_labels
    return {
        # The operator elects a leader; a standby takes over in seconds instead of waiting for a reschedule
        # (KEDA docs, "Cluster": operator HA 2, metrics server 1: one active external metrics API anyway).
        "operator": {"replicaCount": 2, "nodeSelector": dict(node_selector)},
        "metricsServer": {"replicaCount": 1, "nodeSelector": dict(node_selector)},
        "webhooks": {
            "enabled": True,
            "replicaCount": 1,
            "nodeSelector": dict(node_selector),
            # A KEDA outage must not block every ScaledObject change (the chart's default, stated).
            "failurePolicy": "Ignore",
        },
        "podDisruptionBudget": {"operator": {"maxUnavailable": 1}},
        # Images by their chart-pinned tag, pulled once: `Always` makes every restart depend on ghcr.io.
        "image": {"pullPolicy": "IfNotPresent"},
        "securityContext": {component: dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT) for component in KEDA_COMPONENTS},
        "podSecurityContext": {component: dict(RESTRICTED_POD_SECURITY_CONTEXT) for component in KEDA_COMPONENTS},
        # The chart's default is 100m/100Mi with a 1 CPU / 1000Mi limit; memory limit kept, CPU unthrottled.
        "resources": {
            component: container_resources(cpu="100m", memory="128Mi", memory_limit="1000Mi")
            for component in KEDA_COMPONENTS
        },
        "prometheus": {
            "operator": {"enabled": service_monitor, "serviceMonitor": dict(monitor)},
            "metricServer": {"enabled": service_monitor, "serviceMonitor": dict(monitor)},
            "webhooks": {"enabled": service_monitor, "serviceMonitor": dict(monitor)},
        },
    }


# --- Karpenter ------------------------------------------------------------------------------------------

KARPENTER_LOG_LEVELS: tuple[str, ...] = ("debug", "info", "error")
"""Log levels the Karpenter controller accepts (`logLevel`; website/content/en/v1.14/reference/settings.md)."""

KARPENTER_NODEPOOL_LABEL = "karpenter.sh/nodepool"
"""Label Karpenter puts on every node it launches (the name of its NodePool)."""

KARPENTER_CONTROLLER_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "1", "memory": "1Gi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
"""Requests equal to limits, the size the v1.14 getting-started guide installs with (scripts/step08-apply-helm-chart.sh).

Guaranteed QoS: the controller is the last pod that may be squeezed out, since nothing scales without it. The chart
hands the CPU request (`CPU_REQUESTS`) and memory limit (`MEMORY_LIMIT`, Go's soft limit at 90%) to the controller,
which sizes its work by them (reference/settings.md)."""


def karpenter_controller_affinity() -> dict[str, Any]:
    """Required placement of the controller: the platform pool, never a node Karpenter manages, one per host.

    The chart's default affinity keeps the controller off nodes labelled `karpenter.sh/nodepool` (a controller on a
    node it may consolidate could remove its own node) and its pod anti-affinity puts the two replicas on different
    hosts; values replace lists, so the whole affinity is restated here with the platform pool added to the same
    node selector term (the terms are ORed, their expressions ANDed).
    """
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": KARPENTER_NODEPOOL_LABEL, "operator": "DoesNotExist"},
                            {"key": POOL_ROLE_LABEL, "operator": "In", "values": [PLATFORM_POOL_ROLE]},
                        ]
                    }
                ]
            }
        },
        # The chart adds the pods' own selector labels to a term without `labelSelector` (`karpenter.patchAffinity`).
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]
        },
    }


def karpenter_values(
    *,
    cluster_name: pulumi.Input[str],
    interruption_queue: pulumi.Input[str],
    cluster_endpoint: pulumi.Input[str] | None = None,
    service_monitor: bool = False,
    service_monitor_labels: Labels | None = None,
    log_level: str = "info",
) -> dict[str, Any]:
    """Values of the Karpenter chart (aws/karpenter-provider-aws v1.14.1 `charts/karpenter/values.yaml`).

    Args:
        cluster_name: the EKS cluster's name (`settings.clusterName`; the chart refuses to render without it).
        interruption_queue: the SQS queue of EC2 interruption events (`settings.interruptionQueue`): spot
            interruptions, rebalance recommendations, scheduled maintenance and instance state changes drain a node
            before AWS takes it.
        cluster_endpoint: the API server URL (`settings.clusterEndpoint`); None lets the controller discover it
            from EKS at start.
        service_monitor: render the chart's ServiceMonitor (needs the Prometheus operator CRDs).
        service_monitor_labels: extra labels on it, for a Prometheus that selects by label.
        log_level: `debug`, `info` or `error`.
    """
    settings: dict[str, Any] = {"clusterName": cluster_name, "interruptionQueue": interruption_queue}
    if cluster_endpoint is not None:
        settings["clusterEndpoint"] = cluster_endpoint
    return {
        "settings": settings,
        # EKS Pod Identity binds the controller role to this service account by name; no IRSA annotation.
        "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT, "annotations": {}},
        "replicas": 2,
        # Leader election keeps one replica active; the second takes over within seconds, so a drained platform
        # node never stops scaling. The PDB lets one go at a time.
        "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "affinity": karpenter_controller_affinity(),
        "nodeSelector": {"kubernetes.io/os": "linux", POOL_ROLE_LABEL: PLATFORM_POOL_ROLE},
        # Only the AKS-style system-pool taint (the chart's default); no GPU or workload taint: the controller never
        # belongs on a GPU node.
        "tolerations": [{"key": gpu.CRITICAL_ADDONS_TAINT.key, "operator": "Exists"}],
        "priorityClassName": "system-cluster-critical",
        "podSecurityContext": dict(KARPENTER_POD_SECURITY_CONTEXT),
        "controller": {
            "resources": {key: dict(value) for key, value in KARPENTER_CONTROLLER_RESOURCES.items()},
            # The chart's container context already sets non-root uid 65532, read-only root, no escalation and
            # drop ALL (templates/deployment.yaml); the seccomp profile is stated on the container as well, so the
            # restricted Pod Security profile holds even if the pod-level one is overridden.
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        },
        "serviceMonitor": {
            "enabled": service_monitor,
            **({"additionalLabels": service_monitor_labels} if service_monitor_labels is not None else {}),
        },
        "logLevel": log_level,
    }


KARPENTER_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod security context of the controller: the chart's default (`fsGroup: 65532`, RuntimeDefault seccomp) plus the
non-root uid/gid its container already runs as (65532, the distroless `nonroot` user)."""

KARPENTER_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "settings.clusterName",
        "settings.clusterEndpoint",
        "settings.interruptionQueue",
        "serviceAccount.create",
        "serviceAccount.name",
        "serviceAccount.annotations",
        "replicas",
        "podDisruptionBudget.name",
        "podDisruptionBudget.maxUnavailable",
        "topologySpreadConstraints",
        "affinity",
        "nodeSelector",
        "tolerations",
        "priorityClassName",
        "podSecurityContext",
        "controller.resources",
        "controller.securityContext.seccompProfile",
        "serviceMonitor.enabled",
        "serviceMonitor.additionalLabels",
        "logLevel",
    }
)
"""Every values key `karpenter_values` sets, each read in `charts/karpenter/values.yaml` and used by
`templates/deployment.yaml`, `poddisruptionbudget.yaml`, `serviceaccount.yaml` or `servicemonitor.yaml` at tag
v1.14.1 (aws/karpenter-provider-aws). A test keeps the builder within this list; extend it only after reading the
chart at the pinned version."""


# --- Secrets Store CSI driver and its AWS provider ---------------------------------------------------------

SECRETS_STORE_ROTATION_POLL_INTERVAL = "2m"
"""How often the driver re-reads mounted secrets from the store (the driver's own default, stated here)."""

IRSA_TOKEN_AUDIENCE = "sts.amazonaws.com"
"""The audience of the service-account token the driver hands the AWS provider for IRSA (the provider's README,
"Separate CSI Driver Installation", tag 3.1.1). EKS Pod Identity's `pods.eks.amazonaws.com` is not requested:
serving identities are IRSA roles, and SecretProviderClasses here set `usePodIdentity: "false"`."""


def secrets_store_tolerations(pool_taints: Sequence[gpu.Taint] = ()) -> list[dict[str, str]]:
    """Tolerations of the driver and provider DaemonSets: every node a pod mounting secrets may run on.

    The GPU contract's node-agent tolerations (each GPU pool taint exactly, the critical-addons taint) plus any
    other NoSchedule taint: a node without the driver fails every secret mount there. Not the chart's default
    keyless `Exists`, which would also tolerate NoExecute taints meant to drain a node.
    """
    return [*gpu.agent_tolerations(pool_taints), {"operator": "Exists", "effect": "NoSchedule"}]


def secrets_store_csi_driver_values(
    *, pool_taints: Sequence[gpu.Taint] = (), token_audiences: Sequence[str] = (), sync_secrets: bool = False
) -> dict[str, Any]:
    """Values of the secrets-store-csi-driver chart (a DaemonSet on every node, GPU nodes included).

    Args:
        pool_taints: the taints of the cluster's GPU pools.
        token_audiences: audiences of the pod service-account tokens the driver passes to providers
            (`tokenRequests`), e.g. `sts.amazonaws.com` for IRSA.
        sync_secrets: install the chart's secret-sync RBAC, so `secretObjects` of a SecretProviderClass become
            Kubernetes Secrets (a ClusterRole over every Secret in the cluster: the driver caches Secrets
            cluster-wide, so no namespaced Role can do).
    """
    return {
        "linux": {
            # The CRD upgrade/keep Jobs are Helm hooks, which helm.v4.Chart never runs; Pulumi applies `crds/`.
            "crds": {"enabled": False},
            "tolerations": secrets_store_tolerations(pool_taints),
        },
        "syncSecret": {"enabled": sync_secrets},
        # Rotated secrets reach mounted files (and synced Secrets) without a pod restart; env vars need a restart.
        "enableSecretRotation": True,
        "rotationPollInterval": SECRETS_STORE_ROTATION_POLL_INTERVAL,
        "tokenRequests": [{"audience": audience} for audience in token_audiences],
    }


def secrets_store_aws_provider_values(
    *, pool_taints: Sequence[gpu.Taint] = (), region: pulumi.Input[str] | None = None
) -> dict[str, Any]:
    """Values of the secrets-store-csi-driver-provider-aws chart (a DaemonSet next to the driver).

    Args:
        pool_taints: the taints of the cluster's GPU pools.
        region: the cluster's AWS region; given, the provider never looks it up from the node, and the chart's
            ClusterRole drops its `pods` and `nodes` reads (templates/rbac.yaml at 3.1.1).
    """
    values: dict[str, Any] = {
        # The driver is its own chart (one pin for every cloud); the provider chart must not install a second one.
        "secrets-store-csi-driver": {"install": False},
        "tolerations": secrets_store_tolerations(pool_taints),
    }
    if region is not None:
        values["awsRegion"] = region
    return values


# --- Serving gateway (Envoy Gateway, cert-manager) ------------------------------------------------------

ENVOY_GATEWAY_CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
"""The controller name Envoy Gateway claims GatewayClasses by (gateway-helm v1.9.0 `config.envoyGateway.gateway.
controllerName`, the chart's default, stated so the GatewayClass and the controller cannot drift apart)."""

ENVOY_GATEWAY_UID = 65532
"""The uid/gid the controller runs as (gateway-helm v1.9.0 `deployment.pod.securityContext`, the distroless
`nonroot` user)."""

ENVOY_GATEWAY_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": ENVOY_GATEWAY_UID,
    "runAsGroup": ENVOY_GATEWAY_UID,
    "fsGroup": ENVOY_GATEWAY_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod security context of the controller (the chart's default, restated: values replace it whole)."""

ENVOY_GATEWAY_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    **RESTRICTED_CONTAINER_SECURITY_CONTEXT,
    "privileged": False,
    "runAsUser": ENVOY_GATEWAY_UID,
    "runAsGroup": ENVOY_GATEWAY_UID,
}
"""Container security context of the controller (the chart's default: restricted, read-only root)."""


def envoy_gateway_values(*, node_selector: Mapping[str, str], replicas: int = 2) -> dict[str, Any]:
    """Values of Envoy Gateway's chart (envoyproxy/gateway v1.9.0 `charts/gateway-helm/values.tmpl.yaml`).

    Two leader-elected controller replicas (leader election is on by default, `api/v1alpha1/envoygateway_types.go`
    `KubernetesProvider.LeaderElection`); every replica serves xDS, so a drained node never leaves the proxies
    without configuration. The topology injector is off: its webhook's CA bundle is patched by the certgen hook
    Job, which `helm.v4.Chart` never runs (see `_charts`).

    Args:
        node_selector: where the controller runs: the platform pool, or `{}` on a cluster without one.
        replicas: controller replicas.
    """
    return {
        "deployment": {
            "replicas": replicas,
            "envoyGateway": {
                "resources": container_resources(cpu="100m", memory="256Mi", memory_limit="1024Mi"),
                "securityContext": dict(ENVOY_GATEWAY_CONTAINER_SECURITY_CONTEXT),
            },
            "pod": {
                "nodeSelector": dict(node_selector),
                "securityContext": dict(ENVOY_GATEWAY_POD_SECURITY_CONTEXT),
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"control-plane": "envoy-gateway"}},
                    }
                ],
            },
        },
        # templates/envoy-gateway-poddisruptionbudget.yaml renders a PDB only for a value >= 1.
        "podDisruptionBudget": {"maxUnavailable": 1},
        "topologyInjector": {"enabled": False},
        # The control-plane certificates' DNS names (ServingGateway) use the same domain.
        "kubernetesClusterDomain": "cluster.local",
        "config": {"envoyGateway": {"gateway": {"controllerName": ENVOY_GATEWAY_CONTROLLER_NAME}}},
    }


ENVOY_GATEWAY_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "deployment.replicas",
        "deployment.envoyGateway.resources*",
        "deployment.envoyGateway.securityContext*",
        "deployment.pod.nodeSelector*",
        "deployment.pod.securityContext*",
        "deployment.pod.topologySpreadConstraints*",
        "deployment.pod.tolerations*",
        "deployment.pod.affinity*",
        "podDisruptionBudget.minAvailable",
        "podDisruptionBudget.maxUnavailable",
        "topologyInjector.enabled",
        "kubernetesClusterDomain",
        "crds.enabled",
        "config.envoyGateway.gateway.controllerName",
    }
)
"""Every values key `envoy_gateway_values` may set, each read in `charts/gateway-helm/values.tmpl.yaml` and used by
`templates/envoy-gateway-deployment.yaml`, `envoy-gateway-poddisruptionbudget.yaml`, `envoy-gateway-config.yaml`,
`envoy-proxy-topology-injector-webhook.yaml` or the `crds` dependency's condition at tag v1.9.0 (envoyproxy/gateway).
A `*` key is copied whole into the object. Extend only after reading the chart at the pinned version."""


def cert_manager_values(
    *,
    namespace: str,
    node_selector: Mapping[str, str],
    service_monitor: bool = False,
    service_monitor_labels: Labels | None = None,
) -> dict[str, Any]:
    """Values of cert-manager's chart (cert-manager/cert-manager v1.21.1 `deploy/charts/cert-manager/values.yaml`).

    The chart's pods already meet Pod Security `restricted` by default (non-root, RuntimeDefault seccomp, no
    capabilities, no escalation, read-only root). The webhook runs two replicas with a PodDisruptionBudget: while
    it is down the API server refuses every Certificate and Issuer change. Leader election moves from kube-system
    (the chart's default) into cert-manager's own namespace, so the chart writes nothing into kube-system.

    Args:
        namespace: cert-manager's namespace (its leader-election Leases).
        node_selector: where the controller, webhook and CA injector run (merged over `kubernetes.io/os: linux`).
        service_monitor: create the chart's ServiceMonitor (needs the Prometheus operator CRDs).
        service_monitor_labels: extra labels on it.
    """
    selector = {"kubernetes.io/os": "linux", **dict(node_selector)}
    monitor: dict[str, Any] = {"enabled": service_monitor}
    if service_monitor_labels is not None:
        monitor["labels"] = service_monitor_labels
    return {
        # CRDs are templates here (Pulumi updates them with the chart); `keep` leaves them, and every
        # Certificate, when the release goes.
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": namespace}},
        "replicaCount": 1,
        "nodeSelector": dict(selector),
        "resources": container_resources(cpu="50m", memory="128Mi", memory_limit="512Mi"),
        "webhook": {
            "replicaCount": 2,
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "nodeSelector": dict(selector),
            "resources": container_resources(cpu="50m", memory="64Mi", memory_limit="256Mi"),
        },
        "cainjector": {
            "replicaCount": 1,
            "nodeSelector": dict(selector),
            "resources": container_resources(cpu="50m", memory="128Mi", memory_limit="512Mi"),
        },
        "prometheus": {"enabled": True, "servicemonitor": monitor},
    }


CERT_MANAGER_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "crds.enabled",
        "crds.keep",
        "global.leaderElection.namespace",
        "replicaCount",
        "nodeSelector*",
        "resources*",
        "tolerations*",
        "webhook.replicaCount",
        "webhook.podDisruptionBudget.enabled",
        "webhook.podDisruptionBudget.maxUnavailable",
        "webhook.nodeSelector*",
        "webhook.resources*",
        "cainjector.replicaCount",
        "cainjector.nodeSelector*",
        "cainjector.resources*",
        "prometheus.enabled",
        "prometheus.servicemonitor.enabled",
        "prometheus.servicemonitor.labels*",
    }
)
"""Every values key `cert_manager_values` may set, each present in `deploy/charts/cert-manager/values.yaml` and in the
chart's own `values.schema.json` (which refuses unknown keys: `additionalProperties: false`) at tag v1.21.1
(cert-manager/cert-manager). Extend only after reading the chart at the pinned version."""
