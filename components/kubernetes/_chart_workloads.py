"""The pods each pinned chart creates, computed from the values the project passes (for offline deployability checks).

`helm.v4.Chart` renders its objects inside the provider, so an offline synthesis sees a chart's values, never its
Deployments and DaemonSets. This table stands in for the rendering: one function per chart in `_charts.py`, from the
values dict to the pod specs that decide where and whether the pods run (tolerations, node selector, affinity,
requests, security context, host namespaces and volumes, namespace, persistent volume claims). Each default below
was read from the chart's `values.yaml` and templates at the pinned tag (named in each function); each values key
the project sets is read from the values, so a change in `_values.py` changes the table (tests keep the two
together). Pods that operators create at run time from a custom resource (the GPU operator's operands from its
ClusterPolicy, Prometheus and Alertmanager from their CRs) are listed with the fields the operator copies from
that resource; what an operator adds on its own is not modelled.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components._common import gateway, gpu
from components.kubernetes import _charts


@dataclass(frozen=True)
class ChartWorkload:
    """A workload a chart renders (or an operator it installs creates), in Kubernetes form."""

    kind: str
    """Deployment, StatefulSet, DaemonSet, or the custom resource whose operator runs the pods (Prometheus, ...)."""
    name: str
    namespace: str
    replicas: int
    """Pods (1 for a DaemonSet: one per node)."""
    pod_spec: dict[str, Any]
    """The pod template's spec: containers (name, resources, securityContext, ports), tolerations, nodeSelector,
    affinity, securityContext, hostNetwork/hostPID/hostIPC, volumes."""
    labels: dict[str, str] = field(default_factory=dict)
    """The pod template's labels."""
    volume_claims: tuple[str | None, ...] = ()
    """Storage class of each persistent volume claim template (None: the cluster's default class)."""
    source: str = ""
    """The chart template (at the pinned tag) or the operator code this workload comes from."""
    run_time: bool = False
    """Created by an operator at run time from a custom resource, not rendered by the chart."""


Values = Mapping[str, Any]


def merged(defaults: Any, override: Any) -> Any:
    """Helm's values merge: maps merge key by key, anything else (lists included) is replaced."""
    if isinstance(defaults, Mapping) and isinstance(override, Mapping):
        result = {key: copy.deepcopy(value) for key, value in defaults.items()}
        for key, value in override.items():
            result[key] = merged(defaults.get(key), value)
        return result
    return copy.deepcopy(defaults) if override is None else copy.deepcopy(override)


def _section(values: Values, *path: str) -> dict[str, Any]:
    current: Any = values
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return dict(current) if isinstance(current, Mapping) else {}


def helm_fullname(release: str, chart: str, override: str | None = None) -> str:
    """The `<chart>.fullname` helper every chart here uses: the override, or the release when it contains the
    chart name, else `<release>-<chart>` (cut to 63 characters)."""
    if override:
        return override[:63].rstrip("-")
    return (release if chart in release else f"{release}-{chart}")[:63].rstrip("-")


def _pod(
    section: Mapping[str, Any],
    *,
    container: str,
    pod_security_key: str = "securityContext",
    container_security_key: str = "containerSecurityContext",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod spec from a chart section holding the usual keys (tolerations, nodeSelector, affinity, resources)."""
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": container,
                "resources": copy.deepcopy(section.get("resources") or {}),
                "securityContext": copy.deepcopy(section.get(container_security_key) or {}),
            }
        ],
        "tolerations": copy.deepcopy(section.get("tolerations") or []),
        "nodeSelector": copy.deepcopy(section.get("nodeSelector") or {}),
        "affinity": copy.deepcopy(section.get("affinity") or {}),
        "securityContext": {
            key: value for key, value in (section.get(pod_security_key) or {}).items() if key != "enabled"
        },
    }
    spec.update(copy.deepcopy(dict(extra or {})))
    return spec


def _host_paths(*paths: str) -> list[dict[str, Any]]:
    return [{"name": path.strip("/").replace("/", "-") or "root", "hostPath": {"path": path}} for path in paths]


# --- NVIDIA GPU operator (NVIDIA/gpu-operator tag v26.7.0, deployments/gpu-operator) ------------------------

_NFD_CONTROL_PLANE_TOLERATION: dict[str, str] = {
    "key": "node-role.kubernetes.io/control-plane",
    "operator": "Equal",
    "value": "",
    "effect": "NoSchedule",
}
"""The control-plane toleration the GPU operator and NFD 0.19.0 carry by default (their values.yaml)."""
_NFD_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
}
"""The container security context NFD 0.19.0's master and worker default to (its values.yaml)."""


GPU_OPERATOR_DEFAULTS: dict[str, Any] = {
    "operator": {
        # values.yaml `operator:`; templates/operator.yaml copies nodeSelector, affinity, tolerations, resources.
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [_NFD_CONTROL_PLANE_TOLERATION],
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [
                                {"key": "node-role.kubernetes.io/control-plane", "operator": "In", "values": [""]}
                            ]
                        },
                    }
                ]
            }
        },
        "resources": {"limits": {"cpu": "500m", "memory": "350Mi"}, "requests": {"cpu": "200m", "memory": "100Mi"}},
    },
    # `daemonsets.tolerations`, copied onto every operand (controllers/object_controls.go:826-827).
    "daemonsets": {"tolerations": [{"key": gpu.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]},
    "driver": {"enabled": True},
    "toolkit": {"enabled": True},
    "devicePlugin": {"enabled": True},
    "dcgmExporter": {"enabled": True},
    "gfd": {"enabled": True},
    "migManager": {"enabled": True},
    "validator": {},
    "nfd": {"enabled": True},
    "node-feature-discovery": {
        # charts/node-feature-discovery/values.yaml (0.19.0) under the operator's overrides in its values.yaml.
        "master": {
            "tolerations": [_NFD_CONTROL_PLANE_TOLERATION],
            "nodeSelector": {},
            "affinity": {},
            "resources": {"limits": {"memory": "4Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "securityContext": _NFD_CONTAINER_SECURITY_CONTEXT,
            "podSecurityContext": {},
            "replicaCount": 1,
        },
        "gc": {
            "enable": True,
            "replicaCount": 1,
            "tolerations": [],
            "nodeSelector": {},
            "affinity": {},
            "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "10m", "memory": "128Mi"}},
            "podSecurityContext": {},
        },
        "worker": {
            "tolerations": [
                _NFD_CONTROL_PLANE_TOLERATION,
                {"key": gpu.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
            ],
            "nodeSelector": {},
            "affinity": {},
            "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "5m", "memory": "64Mi"}},
            "securityContext": _NFD_CONTAINER_SECURITY_CONTEXT,
            "podSecurityContext": {},
        },
    },
}
"""The defaults of the keys that place the GPU operator's pods (values.yaml at v26.7.0)."""

GPU_OPERATOR_OPERANDS: tuple[tuple[str, str, str], ...] = (
    # (values key, DaemonSet name, node label the operator selects it by; assets/state-*/…_daemonset.yaml)
    ("driver", "nvidia-driver-daemonset", "nvidia.com/gpu.deploy.driver"),
    ("toolkit", "nvidia-container-toolkit-daemonset", "nvidia.com/gpu.deploy.container-toolkit"),
    ("devicePlugin", "nvidia-device-plugin-daemonset", "nvidia.com/gpu.deploy.device-plugin"),
    ("dcgmExporter", "nvidia-dcgm-exporter", "nvidia.com/gpu.deploy.dcgm-exporter"),
    ("gfd", "gpu-feature-discovery", "nvidia.com/gpu.deploy.gpu-feature-discovery"),
    ("validator", "nvidia-operator-validator", "nvidia.com/gpu.deploy.operator-validator"),
    ("migManager", "nvidia-mig-manager", "nvidia.com/gpu.deploy.mig-manager"),
)
"""Operands the operator runs on every node labelled `nvidia.com/gpu.present=true` (it sets the `deploy.*` label
there unless the node says `<label>=false`, controllers/state_manager.go `gpuStateLabels`); the MIG manager only on
nodes with MIG-capable GPUs (assets/state-mig-manager)."""


def gpu_operator_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The GPU operator chart: the operator Deployment, Node Feature Discovery (master, gc, worker) and the
    operand DaemonSets the operator creates from the rendered ClusterPolicy.

    Templates read (tag v26.7.0): `deployments/gpu-operator/templates/operator.yaml` (`operator.*`),
    `templates/clusterpolicy.yaml` (`daemonsets.tolerations`, `<operand>.enabled`), and in the vendored
    `charts/node-feature-discovery` 0.19.0 `templates/master.yaml`, `nfd-gc.yaml`, `worker.yaml`
    (`node-feature-discovery.{master,gc,worker}.*`; the worker mounts /boot, /etc/os-release, /sys, /usr/lib,
    /lib, /proc/swaps, /usr/src and the features.d directory from the host).
    """
    effective = merged(GPU_OPERATOR_DEFAULTS, values)
    nfd = effective["node-feature-discovery"]
    nfd_name = helm_fullname(release, "node-feature-discovery")
    source = f"gpu-operator {_charts.GPU_OPERATOR.version}"
    operator = ChartWorkload(
        "Deployment",
        "gpu-operator",
        namespace,
        1,
        _pod(effective["operator"], container="gpu-operator", extra={"priorityClassName": "system-node-critical"}),
        {"app": "gpu-operator", "app.kubernetes.io/component": "gpu-operator"},
        source=f"{source} templates/operator.yaml",
    )
    # Chart.yaml: the node-feature-discovery dependency has `condition: nfd.enabled`.
    workloads = [operator] if not _section(effective, "nfd").get("enabled", True) else [
        operator,
        ChartWorkload(
            "Deployment",
            f"{nfd_name}-master",
            namespace,
            int(nfd["master"].get("replicaCount", 1)),
            _pod(nfd["master"], container="master", container_security_key="securityContext",
                 pod_security_key="podSecurityContext"),
            {"app.kubernetes.io/name": "node-feature-discovery", "role": "master"},
            source=f"{source} charts/node-feature-discovery/templates/master.yaml",
        ),
        ChartWorkload(
            "DaemonSet",
            f"{nfd_name}-worker",
            namespace,
            1,
            _pod(
                nfd["worker"],
                container="worker",
                container_security_key="securityContext",
                pod_security_key="podSecurityContext",
                extra={"volumes": _host_paths("/boot", "/etc/os-release", "/sys", "/usr/lib", "/lib", "/proc/swaps",
                                              "/usr/src", "/etc/kubernetes/node-feature-discovery/features.d/")},
            ),
            {"app.kubernetes.io/name": "node-feature-discovery", "role": "worker"},
            source=f"{source} charts/node-feature-discovery/templates/worker.yaml",
        ),
    ]  # fmt: skip
    if len(workloads) > 1 and nfd["gc"].get("enable", True):
        workloads.append(
            ChartWorkload(
                "Deployment",
                f"{nfd_name}-gc",
                namespace,
                int(nfd["gc"].get("replicaCount", 1)),
                _pod(nfd["gc"], container="gc", pod_security_key="podSecurityContext"),
                {"app.kubernetes.io/name": "node-feature-discovery", "role": "gc"},
                source=f"{source} charts/node-feature-discovery/templates/nfd-gc.yaml",
            )
        )
    tolerations = effective["daemonsets"].get("tolerations") or []
    for key, name, label in GPU_OPERATOR_OPERANDS:
        if not _section(effective, key).get("enabled", True):
            continue
        workloads.append(
            ChartWorkload(
                "DaemonSet",
                name,
                namespace,
                1,
                {
                    "containers": [{"name": name, "resources": {}, "securityContext": {"privileged": True}}],
                    "tolerations": copy.deepcopy(tolerations),
                    "nodeSelector": {label: "true"},
                    "priorityClassName": "system-node-critical",
                },
                {"app": name},
                source=f"{source} ClusterPolicy spec.daemonsets (controllers/object_controls.go:826-827)",
                run_time=True,
            )
        )
    return workloads


# --- NVIDIA device plugin (NVIDIA/k8s-device-plugin tag v0.20.0, deployments/helm/nvidia-device-plugin) -----

DEVICE_PLUGIN_DEFAULTS: dict[str, Any] = {
    "tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": gpu.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
    ],
    "nodeSelector": {},
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "feature.node.kubernetes.io/pci-10de.present", "operator": "In",
                                           "values": ["true"]}]},
                    {"matchExpressions": [{"key": "feature.node.kubernetes.io/cpu-model.vendor_id", "operator": "In",
                                           "values": ["NVIDIA"]}]},
                    {"matchExpressions": [{"key": gpu.GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]},
                ]
            }
        }
    },
    "resources": {},
    "securityContext": {},
    "podSecurityContext": {},
    "devicePlugin": {"enableHostNetwork": False},
    "gfd": {"enabled": False},
}  # fmt: skip


def device_plugin_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The device plugin chart: its DaemonSet (GFD off by default; the MPS control daemon selects only nodes
    labelled `nvidia.com/mps.capable=true`, which no pool here carries, so it runs nowhere and is left out).

    Templates read (tag v0.20.0): `templates/daemonset-device-plugin.yml` (tolerations, nodeSelector, affinity,
    `devicePlugin.enableHostNetwork`, hostPath /var/lib/kubelet/device-plugins, the driver root, /var/run/cdi),
    `templates/_helpers.tpl` (`securityContext`: drop ALL unless set), `templates/daemonset-gfd.yml`.
    """
    effective = merged(DEVICE_PLUGIN_DEFAULTS, values)
    name = helm_fullname(release, "nvidia-device-plugin")
    security = effective.get("securityContext") or {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    extra: dict[str, Any] = {
        "volumes": _host_paths("/var/lib/kubelet/device-plugins", "/", "/var/run/cdi"),
        "priorityClassName": "system-node-critical",
    }
    if _section(effective, "devicePlugin").get("enableHostNetwork"):
        extra["hostNetwork"] = True
    spec = _pod(effective, container="nvidia-device-plugin-ctr", pod_security_key="podSecurityContext", extra=extra)
    spec["containers"][0]["securityContext"] = security
    workloads = [
        ChartWorkload("DaemonSet", name, namespace, 1, spec, {"app.kubernetes.io/name": "nvidia-device-plugin"},
                      source=f"nvidia-device-plugin {_charts.NVIDIA_DEVICE_PLUGIN.version} "
                      "templates/daemonset-device-plugin.yml")
    ]  # fmt: skip
    if _section(effective, "gfd").get("enabled"):
        gfd = _pod(effective, container="gpu-feature-discovery", pod_security_key="podSecurityContext")
        workloads.append(
            ChartWorkload("DaemonSet", f"{name}-gpu-feature-discovery", namespace, 1, gfd, {},
                          source=f"nvidia-device-plugin {_charts.NVIDIA_DEVICE_PLUGIN.version} templates/daemonset-gfd.yml")
        )  # fmt: skip
    return workloads


# --- DCGM exporter (NVIDIA/dcgm-exporter tag 4.5.3-4.8.2, deployment/) --------------------------------------

DCGM_EXPORTER_DEFAULTS: dict[str, Any] = {
    "tolerations": [],
    "nodeSelector": {},
    "affinity": {},
    "resources": {},
    "podSecurityContext": {},
    # values.yaml: root with SYS_ADMIN, for the profiling metrics.
    "securityContext": {"runAsNonRoot": False, "runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}},
}


def dcgm_exporter_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The standalone DCGM exporter chart: one DaemonSet.

    Templates read (tag 4.5.3-4.8.2): `deployment/templates/daemonset.yaml` (tolerations, nodeSelector, affinity,
    resources, `securityContext`, `podSecurityContext`, hostPath /var/lib/kubelet/pod-resources).
    """
    effective = merged(DCGM_EXPORTER_DEFAULTS, values)
    spec = _pod(
        effective,
        container="exporter",
        container_security_key="securityContext",
        pod_security_key="podSecurityContext",
        extra={"volumes": _host_paths("/var/lib/kubelet/pod-resources")},
    )
    return [
        ChartWorkload("DaemonSet", helm_fullname(release, "dcgm-exporter"), namespace, 1, spec,
                      {"app.kubernetes.io/name": "dcgm-exporter"},
                      source=f"dcgm-exporter {_charts.DCGM_EXPORTER.version} deployment/templates/daemonset.yaml")
    ]  # fmt: skip


# --- kube-prometheus-stack (prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3) ---------------

_KPS_POD_SECURITY = {"runAsGroup": 2000, "runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000,
                     "seccompProfile": {"type": "RuntimeDefault"}}  # fmt: skip
KUBE_PROMETHEUS_STACK_DEFAULTS: dict[str, Any] = {
    "prometheusOperator": {
        "enabled": True,
        "tolerations": [],
        "nodeSelector": {},
        "affinity": {},
        "resources": {},
        "securityContext": {"fsGroup": 65534, "runAsGroup": 65534, "runAsNonRoot": True, "runAsUser": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
    },
    "prometheus": {
        "enabled": True,
        "prometheusSpec": {"replicas": 1, "tolerations": [], "nodeSelector": {}, "affinity": {}, "resources": {},
                           "securityContext": _KPS_POD_SECURITY, "storageSpec": {}},
    },
    "alertmanager": {
        "enabled": True,
        "alertmanagerSpec": {"replicas": 1, "tolerations": [], "nodeSelector": {}, "affinity": {}, "resources": {},
                             "securityContext": _KPS_POD_SECURITY, "storage": {}},
    },
    # Subcharts: grafana 12.11.1 (grafana-community/helm-charts), kube-state-metrics 8.4.0 and
    # prometheus-node-exporter 4.56.1 (prometheus-community/helm-charts), each values.yaml at its tag.
    "grafana": {
        "enabled": True,
        "replicas": 1,
        "tolerations": [],
        "nodeSelector": {},
        "affinity": {},
        "resources": {},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 472, "runAsGroup": 472, "fsGroup": 472},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                     "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    },
    "kube-state-metrics": {
        "replicas": 1,
        "tolerations": [],
        "nodeSelector": {},
        "affinity": {},
        "resources": {},
        "securityContext": {"enabled": True, "runAsGroup": 65534, "runAsUser": 65534, "fsGroup": 65534,
                            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}},
    },
    "nodeExporter": {"enabled": True},
    "prometheus-node-exporter": {
        "namespaceOverride": "",
        "tolerations": [{"effect": "NoSchedule", "operator": "Exists"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "affinity": {},
        "resources": {},
        "hostNetwork": True,
        "hostPID": True,
        "securityContext": {"fsGroup": 65534, "runAsGroup": 65534, "runAsNonRoot": True, "runAsUser": 65534},
        "containerSecurityContext": {"readOnlyRootFilesystem": True},
    },
}  # fmt: skip


def _claim_storage_class(storage: Mapping[str, Any]) -> tuple[str | None, ...]:
    template = _section(storage, "volumeClaimTemplate")
    if not template:
        return ()
    return (_section(template, "spec").get("storageClassName"),)


def kube_prometheus_stack_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """kube-prometheus-stack: the Prometheus operator, Prometheus and Alertmanager (pods the operator runs from
    the rendered CRs), Grafana, kube-state-metrics and the node exporter.

    Templates read (tag kube-prometheus-stack-88.5.3): `templates/prometheus-operator/deployment.yaml`
    (`prometheusOperator.{nodeSelector,affinity,tolerations,resources,securityContext,containerSecurityContext}`),
    `templates/prometheus/prometheus.yaml` and `templates/alertmanager/alertmanager.yaml` (the CRs carry
    `…Spec.{replicas,nodeSelector,affinity,tolerations,resources,securityContext,storage(Spec)}`, which the
    operator copies onto its StatefulSets); the grafana 12.11.1 `templates/deployment.yaml`/`_pod.tpl`,
    kube-state-metrics 8.4.0 `templates/deployment.yaml` and prometheus-node-exporter 4.56.1
    `templates/daemonset.yaml` (hostNetwork, hostPID, hostPath /proc, /sys and /, `namespaceOverride`).
    """
    effective = merged(KUBE_PROMETHEUS_STACK_DEFAULTS, values)
    fullname = str(values.get("fullnameOverride") or helm_fullname(release, "kube-prometheus-stack"))
    source = f"kube-prometheus-stack {_charts.KUBE_PROMETHEUS_STACK.version}"
    workloads: list[ChartWorkload] = []
    operator = effective["prometheusOperator"]
    if operator.get("enabled", True):
        workloads.append(
            ChartWorkload("Deployment", f"{fullname}-operator", namespace, 1,
                          _pod(operator, container="kube-prometheus-stack"),
                          {"app": f"{fullname}-operator", "release": release},
                          source=f"{source} templates/prometheus-operator/deployment.yaml")
        )  # fmt: skip
    prometheus = _section(effective, "prometheus", "prometheusSpec")
    if _section(effective, "prometheus").get("enabled", True):
        workloads.append(
            ChartWorkload("Prometheus", f"{fullname}-prometheus", namespace, int(prometheus.get("replicas") or 1),
                          _pod(prometheus, container="prometheus"),
                          {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": f"{fullname}-prometheus"},
                          volume_claims=_claim_storage_class(_section(prometheus, "storageSpec")),
                          source=f"{source} templates/prometheus/prometheus.yaml", run_time=True)
        )  # fmt: skip
    alertmanager = _section(effective, "alertmanager", "alertmanagerSpec")
    if _section(effective, "alertmanager").get("enabled", True):
        workloads.append(
            ChartWorkload("Alertmanager", f"{fullname}-alertmanager", namespace,
                          int(alertmanager.get("replicas") or 1), _pod(alertmanager, container="alertmanager"),
                          {"app.kubernetes.io/name": "alertmanager",
                           "alertmanager": f"{fullname}-alertmanager"},
                          volume_claims=_claim_storage_class(_section(alertmanager, "storage")),
                          source=f"{source} templates/alertmanager/alertmanager.yaml", run_time=True)
        )  # fmt: skip
    grafana = effective["grafana"]
    if grafana.get("enabled", True):
        workloads.append(
            ChartWorkload("Deployment", helm_fullname(release, "grafana", grafana.get("fullnameOverride")),
                          namespace, int(grafana.get("replicas") or 1), _pod(grafana, container="grafana"),
                          {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": release},
                          source="grafana 12.11.1 templates/deployment.yaml")
        )  # fmt: skip
    state_metrics = effective["kube-state-metrics"]
    if _section(values, "kubeStateMetrics").get("enabled", True):
        workloads.append(
            ChartWorkload("Deployment", helm_fullname(release, "kube-state-metrics", state_metrics.get("fullnameOverride")),
                          namespace, int(state_metrics.get("replicas") or 1),
                          _pod(state_metrics, container="kube-state-metrics"),
                          {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": release},
                          source="kube-state-metrics 8.4.0 templates/deployment.yaml")
        )  # fmt: skip
    exporter = effective["prometheus-node-exporter"]
    if _section(effective, "nodeExporter").get("enabled", True):
        workloads.append(
            ChartWorkload(
                "DaemonSet",
                helm_fullname(release, "prometheus-node-exporter", exporter.get("fullnameOverride")),
                str(exporter.get("namespaceOverride") or namespace),
                1,
                _pod(exporter, container="node-exporter",
                     extra={"hostNetwork": bool(exporter.get("hostNetwork")), "hostPID": bool(exporter.get("hostPID")),
                            "volumes": _host_paths("/proc", "/sys", "/")}),
                {"app.kubernetes.io/name": "prometheus-node-exporter", "app.kubernetes.io/instance": release},
                source="prometheus-node-exporter 4.56.1 templates/daemonset.yaml",
            )
        )  # fmt: skip
    return workloads


# --- ECK operator (elastic/cloud-on-k8s tag v3.5.0, deploy/eck-operator) --------------------------------------

ECK_OPERATOR_DEFAULTS: dict[str, Any] = {
    "fullnameOverride": "elastic-operator",
    "replicaCount": 1,
    "tolerations": [],
    "nodeSelector": {},
    "affinity": {},
    "resources": {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "150Mi"}},
    "podSecurityContext": {"runAsNonRoot": True},
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True, "runAsNonRoot": True},
    "hostNetwork": False,
}  # fmt: skip


def eck_operator_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The ECK operator chart: the operator StatefulSet.

    Templates read (tag v3.5.0): `deploy/eck-operator/templates/statefulset.yaml` (`replicaCount`, tolerations,
    nodeSelector, affinity, resources, `podSecurityContext`, `securityContext`, `hostNetwork`) and
    `templates/_helpers.tpl` (`eck-operator.fullname`, `fullnameOverride: elastic-operator` by default).
    """
    effective = merged(ECK_OPERATOR_DEFAULTS, values)
    spec = _pod(effective, container="manager", container_security_key="securityContext",
                pod_security_key="podSecurityContext", extra={"hostNetwork": bool(effective.get("hostNetwork"))})  # fmt: skip
    name = helm_fullname(release, "eck-operator", effective.get("fullnameOverride"))
    return [
        ChartWorkload("StatefulSet", name, namespace, int(effective.get("replicaCount") or 1), spec,
                      {"control-plane": name}, source=f"eck-operator {_charts.ECK_OPERATOR.version} "
                      "templates/statefulset.yaml")
    ]  # fmt: skip


# --- Fluent Bit (fluent/helm-charts tag fluent-bit-0.58.1, charts/fluent-bit) --------------------------------

FLUENT_BIT_DEFAULTS: dict[str, Any] = {
    "kind": "DaemonSet",
    "replicaCount": 1,
    "tolerations": [],
    "nodeSelector": {},
    "affinity": {},
    "resources": {},
    "podSecurityContext": {},
    "securityContext": {},
    "hostNetwork": False,
}


def fluent_bit_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The Fluent Bit chart: a DaemonSet (or Deployment, by `kind`) reading the node's log files.

    Templates read (tag fluent-bit-0.58.1): `charts/fluent-bit/templates/daemonset.yaml` and `_pod.tpl`
    (tolerations, nodeSelector, affinity, resources, `podSecurityContext`, `securityContext`, `hostNetwork`,
    `daemonSetVolumes`: hostPath /var/log, /var/lib/docker/containers, /etc/machine-id).
    """
    effective = merged(FLUENT_BIT_DEFAULTS, values)
    daemon = effective.get("kind", "DaemonSet") == "DaemonSet"
    extra: dict[str, Any] = {"hostNetwork": bool(effective.get("hostNetwork"))}
    if daemon:
        extra["volumes"] = _host_paths("/var/log", "/var/lib/docker/containers", "/etc/machine-id")
    spec = _pod(effective, container="fluent-bit", container_security_key="securityContext",
                pod_security_key="podSecurityContext", extra=extra)  # fmt: skip
    return [
        ChartWorkload("DaemonSet" if daemon else "Deployment", helm_fullname(release, "fluent-bit"), namespace,
                      1 if daemon else int(effective.get("replicaCount") or 1), spec,
                      {"app.kubernetes.io/name": "fluent-bit", "app.kubernetes.io/instance": release},
                      source=f"fluent-bit {_charts.FLUENT_BIT.version} templates/daemonset.yaml")
    ]  # fmt: skip


# --- metrics-server (kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1) ------------------------

METRICS_SERVER_DEFAULTS: dict[str, Any] = {
    "replicas": 1,
    "tolerations": [],
    "nodeSelector": {},
    "affinity": {},
    "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
    "podSecurityContext": {},
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                        "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"},
                        "capabilities": {"drop": ["ALL"]}},
    "priorityClassName": "system-cluster-critical",
    "hostNetwork": {"enabled": False},
    "addonResizer": {"enabled": False},
}  # fmt: skip


def metrics_server_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The metrics-server chart: one Deployment (the addon-resizer sidecar is off by default and here).

    Templates read (tag metrics-server-helm-chart-3.13.1): `charts/metrics-server/templates/deployment.yaml`
    (`replicas`, tolerations, nodeSelector, affinity, resources, `podSecurityContext`, `securityContext`,
    `priorityClassName`, `hostNetwork.enabled`, an emptyDir /tmp) and `_helpers.tpl` (`metrics-server.fullname`).
    """
    effective = merged(METRICS_SERVER_DEFAULTS, values)
    extra: dict[str, Any] = {"hostNetwork": bool(_section(effective, "hostNetwork").get("enabled"))}
    if effective.get("priorityClassName"):
        extra["priorityClassName"] = effective["priorityClassName"]
    spec = _pod(effective, container="metrics-server", container_security_key="securityContext",
                pod_security_key="podSecurityContext", extra=extra)  # fmt: skip
    return [
        ChartWorkload("Deployment", helm_fullname(release, "metrics-server", effective.get("fullnameOverride")),
                      namespace, int(effective.get("replicas") or 1), spec,
                      {"app.kubernetes.io/name": "metrics-server", "app.kubernetes.io/instance": release},
                      source=f"metrics-server {_charts.METRICS_SERVER.version} templates/deployment.yaml")
    ]  # fmt: skip


# --- KEDA (kedacore/charts tag v2.20.2, keda/) ----------------------------------------------------------------

_KEDA_CONTAINER_SECURITY = {"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}  # fmt: skip
_KEDA_RESOURCES = {"limits": {"cpu": 1, "memory": "1000Mi"}, "requests": {"cpu": "100m", "memory": "100Mi"}}
KEDA_DEFAULTS: dict[str, Any] = {
    "operator": {"name": "keda-operator", "replicaCount": 1, "nodeSelector": {}, "tolerations": [], "affinity": {}},
    "metricsServer": {"enabled": True, "replicaCount": 1, "nodeSelector": {}, "tolerations": [], "affinity": {}},
    "webhooks": {"enabled": True, "name": "keda-admission-webhooks", "replicaCount": 1, "nodeSelector": {},
                 "tolerations": [], "affinity": {}},
    "securityContext": {"operator": _KEDA_CONTAINER_SECURITY, "metricServer": _KEDA_CONTAINER_SECURITY,
                        "webhooks": _KEDA_CONTAINER_SECURITY},
    "podSecurityContext": {"operator": {"runAsNonRoot": True}, "metricServer": {"runAsNonRoot": True},
                           "webhooks": {"runAsNonRoot": True}},
    "resources": {"operator": _KEDA_RESOURCES, "metricServer": _KEDA_RESOURCES, "webhooks": _KEDA_RESOURCES},
    "nodeSelector": {},
    "tolerations": [],
    "affinity": {},
    "priorityClassName": "",
}  # fmt: skip


def keda_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The KEDA chart: the operator, the metrics API server and the admission webhooks Deployments.

    Templates read (tag v2.20.2): `keda/templates/manager/deployment.yaml`, `metrics-server/deployment.yaml`
    and `webhooks/deployment.yaml`: each takes `<component>.{replicaCount,nodeSelector,tolerations,affinity}`
    (falling back to the top-level key when empty), `securityContext.<c>`, `podSecurityContext.<c>`,
    `resources.<c>` (c: operator, metricServer, webhooks), the top-level `priorityClassName`, and adds
    `kubernetes.io/os: linux` to every node selector. Object names come from `operator.name` and
    `webhooks.name`, not from the release.
    """
    effective = merged(KEDA_DEFAULTS, values)
    operator_name = str(effective["operator"].get("name") or "keda-operator")
    components = [
        ("operator", "operator", operator_name, True),
        ("metricsServer", "metricServer", f"{operator_name}-metrics-apiserver",
         bool(effective["metricsServer"].get("enabled", True))),
        ("webhooks", "webhooks", str(effective["webhooks"].get("name") or "keda-admission-webhooks"),
         bool(effective["webhooks"].get("enabled", True))),
    ]  # fmt: skip
    workloads = []
    for section_key, key, name, enabled in components:
        if not enabled:
            continue
        section = effective[section_key]
        placement = {
            field_name: section.get(field_name) or effective.get(field_name) or default
            for field_name, default in (("nodeSelector", {}), ("tolerations", []), ("affinity", {}))
        }
        spec = _pod(
            {
                **placement,
                "nodeSelector": {"kubernetes.io/os": "linux", **placement["nodeSelector"]},
                "resources": _section(effective, "resources", key),
                "securityContext": _section(effective, "securityContext", key),
                "podSecurityContext": _section(effective, "podSecurityContext", key),
            },
            container=name,
            container_security_key="securityContext",
            pod_security_key="podSecurityContext",
        )
        if effective.get("priorityClassName"):
            spec["priorityClassName"] = effective["priorityClassName"]
        template = "manager" if key == "operator" else ("metrics-server" if key == "metricServer" else "webhooks")
        workloads.append(
            ChartWorkload("Deployment", name, namespace, int(section.get("replicaCount") or 1), spec,
                          {"app": name, "app.kubernetes.io/name": name},
                          source=f"keda {_charts.KEDA.version} templates/{template}/deployment.yaml")
        )  # fmt: skip
    return workloads


# --- Karpenter (aws/karpenter-provider-aws tag v1.14.1, charts/karpenter) ----------------------------------

KARPENTER_DEFAULTS: dict[str, Any] = {
    "replicas": 2,
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "affinity": {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]}},
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname"}]},
    },
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}],
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    "podSecurityContext": {"fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
    "priorityClassName": "system-cluster-critical",
    "hostNetwork": False,
    "controller": {"resources": {}, "securityContext": {}},
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at v1.14.1)."""

KARPENTER_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "privileged": False,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "capabilities": {"drop": ["ALL"]},
}
"""The container security context templates/deployment.yaml hard-codes (values add only appArmor, SELinux and
seccomp entries)."""


def karpenter_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The Karpenter chart: the controller Deployment.

    Templates read (tag v1.14.1): `charts/karpenter/templates/deployment.yaml` (`replicas`, `podSecurityContext`,
    `priorityClassName`, `hostNetwork`, the fixed container security context plus `controller.securityContext`'s
    profiles, `controller.resources`, nodeSelector, affinity, topologySpreadConstraints, tolerations) and
    `templates/_helpers.tpl` (`karpenter.fullname`: the release name when it contains "karpenter").
    """
    effective = merged(KARPENTER_DEFAULTS, values)
    controller = _section(effective, "controller")
    container_context = {**KARPENTER_CONTAINER_SECURITY_CONTEXT, **{
        key: value for key, value in (controller.get("securityContext") or {}).items() if value}}  # fmt: skip
    spec = _pod(
        {**effective, "resources": controller.get("resources") or {}, "containerSecurityContext": container_context},
        container="controller",
        pod_security_key="podSecurityContext",
        extra={
            "hostNetwork": bool(effective.get("hostNetwork")),
            "priorityClassName": effective.get("priorityClassName"),
            "topologySpreadConstraints": copy.deepcopy(effective.get("topologySpreadConstraints") or []),
        },
    )
    name = helm_fullname(release, "karpenter", effective.get("fullnameOverride"))
    return [
        ChartWorkload("Deployment", name, namespace, int(effective.get("replicas") or 1), spec,
                      {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": release},
                      source=f"karpenter {_charts.KARPENTER.version} templates/deployment.yaml")
    ]  # fmt: skip


# --- Secrets Store CSI driver (kubernetes-sigs/secrets-store-csi-driver tag v1.6.0) and the AWS provider (3.1.1) --

SECRETS_STORE_DRIVER_DEFAULTS: dict[str, Any] = {
    "linux": {
        "enabled": True,
        "tolerations": [{"operator": "Exists"}],
        "nodeSelector": {},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}]}}},
        "driver": {"resources": {"limits": {"cpu": "200m", "memory": "200Mi"},
                                 "requests": {"cpu": "50m", "memory": "100Mi"}}},
        "registrar": {"resources": {"limits": {"cpu": "100m", "memory": "100Mi"},
                                    "requests": {"cpu": "10m", "memory": "20Mi"}}},
        "livenessProbe": {"resources": {"limits": {"cpu": "100m", "memory": "100Mi"},
                                        "requests": {"cpu": "10m", "memory": "20Mi"}}},
        "kubeletRootDir": "/var/lib/kubelet",
        "providersDir": "/var/run/secrets-store-csi-providers",
        "additionalProvidersDirs": ["/etc/kubernetes/secrets-store-csi-providers"],
    },
}  # fmt: skip


def secrets_store_driver_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The driver chart: one Linux DaemonSet (registrar, driver, liveness probe); Windows is off by default.

    Templates read (tag v1.6.0): `charts/secrets-store-csi-driver/templates/secrets-store-csi-driver.yaml`
    (`linux.tolerations`, `linux.nodeSelector` on top of `kubernetes.io/os: linux`, `linux.affinity`, the three
    containers' resources, the driver container `privileged: true`, hostPath volumes under the kubelet root and
    the providers directories) and `_helpers.tpl` (`sscd.fullname`, the `app` label).
    """
    linux = _section(merged(SECRETS_STORE_DRIVER_DEFAULTS, values), "linux")
    if not linux.get("enabled", True):
        return []
    root = linux["kubeletRootDir"]

    def container(name: str, resources_key: str, security: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "resources": copy.deepcopy(_section(linux, resources_key).get("resources") or {}),
                "securityContext": security}  # fmt: skip

    spec = {
        "containers": [
            container("node-driver-registrar", "registrar", {}),
            container("secrets-store", "driver", {"privileged": True}),
            container("liveness-probe", "livenessProbe", {}),
        ],
        "tolerations": copy.deepcopy(linux.get("tolerations") or []),
        "nodeSelector": {"kubernetes.io/os": "linux", **(linux.get("nodeSelector") or {})},
        "affinity": copy.deepcopy(linux.get("affinity") or {}),
        "securityContext": {},
        "volumes": _host_paths(f"{root}/pods", f"{root}/plugins_registry", f"{root}/plugins/csi-secrets-store",
                               linux["providersDir"], *(linux.get("additionalProvidersDirs") or [])),
    }  # fmt: skip
    return [
        ChartWorkload("DaemonSet", helm_fullname(release, "secrets-store-csi-driver"), namespace, 1, spec,
                      {"app": "secrets-store-csi-driver", "app.kubernetes.io/name": "secrets-store-csi-driver"},
                      source=f"secrets-store-csi-driver {_charts.SECRETS_STORE_CSI_DRIVER.version} "
                      "templates/secrets-store-csi-driver.yaml")
    ]  # fmt: skip


SECRETS_STORE_AWS_PROVIDER_DEFAULTS: dict[str, Any] = {
    "tolerations": [],
    "nodeSelector": {},
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "eks.amazonaws.com/compute-type", "operator": "NotIn",
                               "values": ["fargate"]}]}]}}},
    "resources": {"requests": {"cpu": "50m", "memory": "100Mi"}, "limits": {"cpu": "50m", "memory": "100Mi"}},
    "securityContext": {"privileged": False, "allowPrivilegeEscalation": False},
    "providerVolume": "/var/run/secrets-store-csi-providers",
    "kubeletPath": "/var/lib/kubelet",
}  # fmt: skip


def secrets_store_aws_provider_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The AWS provider chart: one DaemonSet (its driver dependency is off here, installed as its own chart).

    Templates read (tag 3.1.1): `charts/secrets-store-csi-driver-provider-aws/templates/daemonset.yaml`
    (tolerations, nodeSelector on top of `kubernetes.io/os: linux`, affinity, resources, `securityContext`,
    `hostNetwork: false`, hostPath volumes `providerVolume` and `<kubeletPath>/pods`) and `_helpers.tpl`.
    """
    effective = merged(SECRETS_STORE_AWS_PROVIDER_DEFAULTS, values)
    spec = _pod(
        effective,
        container="provider-aws-installer",
        container_security_key="securityContext",
        pod_security_key="podSecurityContext",
        extra={"volumes": _host_paths(effective["providerVolume"], f"{effective['kubeletPath']}/pods")},
    )
    spec["nodeSelector"] = {"kubernetes.io/os": "linux", **spec["nodeSelector"]}
    name = helm_fullname(release, "secrets-store-csi-driver-provider-aws", effective.get("fullnameOverride"))
    return [
        ChartWorkload("DaemonSet", name, namespace, 1, spec,
                      {"app": "secrets-store-csi-driver-provider-aws",
                       "app.kubernetes.io/name": "secrets-store-csi-driver-provider-aws"},
                      source=f"secrets-store-csi-driver-provider-aws {_charts.SECRETS_STORE_CSI_PROVIDER_AWS.version} "
                      "templates/daemonset.yaml")
    ]  # fmt: skip


# --- Envoy Gateway (envoyproxy/gateway tag v1.9.0, charts/gateway-helm) ----------------------------------------

ENVOY_GATEWAY_DEFAULTS: dict[str, Any] = {
    "deployment": {
        "replicas": 1,
        "envoyGateway": {
            "resources": {"limits": {"memory": "1024Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                "runAsGroup": 65532, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        },
        "priorityClassName": None,
        "pod": {"affinity": {}, "tolerations": [], "nodeSelector": {}, "topologySpreadConstraints": [],
                "securityContext": {"runAsNonRoot": True, "runAsGroup": 65532, "runAsUser": 65532, "fsGroup": 65532,
                                    "seccompProfile": {"type": "RuntimeDefault"}}},
    },
}  # fmt: skip
"""The chart's defaults for what decides placement (values.tmpl.yaml at v1.9.0)."""


def envoy_gateway_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The Envoy Gateway chart: the controller Deployment `envoy-gateway` (its name is fixed, not the release's).

    Templates read (tag v1.9.0): `charts/gateway-helm/templates/envoy-gateway-deployment.yaml` (`deployment.replicas`,
    `deployment.pod.{affinity,nodeSelector,topologySpreadConstraints,tolerations,securityContext}`,
    `deployment.envoyGateway.{resources,securityContext}`, `deployment.priorityClassName`; pod label
    `control-plane: envoy-gateway`). The certgen Job is a hook and never runs here (see `_charts`). The Envoy proxies
    are not the chart's: the controller creates them at run time from the Gateway and its EnvoyProxy
    (`ServingGateway`), with the placement that resource gives them.
    """
    effective = merged(ENVOY_GATEWAY_DEFAULTS, values)
    deployment = effective["deployment"]
    pod = deployment["pod"]
    extra: dict[str, Any] = {"topologySpreadConstraints": copy.deepcopy(pod.get("topologySpreadConstraints") or [])}
    if deployment.get("priorityClassName"):
        extra["priorityClassName"] = deployment["priorityClassName"]
    spec = _pod(
        {**pod, "resources": deployment["envoyGateway"].get("resources") or {},
         "containerSecurityContext": deployment["envoyGateway"].get("securityContext") or {}},
        container="envoy-gateway",
        extra=extra,
    )  # fmt: skip
    return [
        ChartWorkload("Deployment", "envoy-gateway", namespace, int(deployment.get("replicas") or 1), spec,
                      {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
                       "app.kubernetes.io/instance": release},
                      source=f"gateway-helm {_charts.ENVOY_GATEWAY.version} templates/envoy-gateway-deployment.yaml")
    ]  # fmt: skip


# --- cert-manager (cert-manager/cert-manager tag v1.21.1, deploy/charts/cert-manager) --------------------------

_CERT_MANAGER_POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
_CERT_MANAGER_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True}  # fmt: skip
CERT_MANAGER_DEFAULTS: dict[str, Any] = {
    "global": {"nodeSelector": {}, "priorityClassName": ""},
    "replicaCount": 1, "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [], "affinity": {},
    "resources": {}, "securityContext": _CERT_MANAGER_POD_SECURITY,
    "containerSecurityContext": _CERT_MANAGER_CONTAINER_SECURITY,
    "webhook": {"replicaCount": 1, "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [], "affinity": {},
                "resources": {}, "securityContext": _CERT_MANAGER_POD_SECURITY,
                "containerSecurityContext": _CERT_MANAGER_CONTAINER_SECURITY, "hostNetwork": False},
    "cainjector": {"enabled": True, "replicaCount": 1, "nodeSelector": {"kubernetes.io/os": "linux"},
                   "tolerations": [], "affinity": {}, "resources": {}, "securityContext": _CERT_MANAGER_POD_SECURITY,
                   "containerSecurityContext": _CERT_MANAGER_CONTAINER_SECURITY},
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at v1.21.1)."""


def cert_manager_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The cert-manager chart: the controller, the webhook and the CA injector Deployments.

    Templates read (tag v1.21.1): `deploy/charts/cert-manager/templates/deployment.yaml`, `webhook-deployment.yaml`,
    `cainjector-deployment.yaml` (each: `<component>.replicaCount`, `securityContext` (pod),
    `containerSecurityContext`, `resources`, `tolerations`, `affinity`, `global.nodeSelector` merged with the
    component's `nodeSelector`, `global.priorityClassName`; the webhook's `hostNetwork`) and `_helpers.tpl`
    (`cert-manager.fullname`; `<fullname>-webhook`, `<fullname>-cainjector`). The startupapicheck Job is a hook.
    """
    effective = merged(CERT_MANAGER_DEFAULTS, values)
    fullname = helm_fullname(release, "cert-manager", effective.get("fullnameOverride"))
    priority = _section(effective, "global").get("priorityClassName")
    sections = [("controller", fullname, effective, "deployment.yaml")]
    sections.append(
        ("webhook", f"{fullname[:55].rstrip('-')}-webhook", effective["webhook"], "webhook-deployment.yaml")
    )
    if effective["cainjector"].get("enabled", True):
        sections.append(("cainjector", f"{fullname[:52].rstrip('-')}-cainjector", effective["cainjector"],
                         "cainjector-deployment.yaml"))  # fmt: skip
    workloads = []
    for component, name, section, template in sections:
        node_selector = {
            **(_section(effective, "global").get("nodeSelector") or {}),
            **(section.get("nodeSelector") or {}),
        }
        extra: dict[str, Any] = {"hostNetwork": bool(section.get("hostNetwork"))}
        if priority:
            extra["priorityClassName"] = priority
        spec = _pod({**section, "nodeSelector": node_selector}, container=f"cert-manager-{component}", extra=extra)
        workloads.append(
            ChartWorkload("Deployment", name, namespace, int(section.get("replicaCount") or 1), spec,
                          {"app.kubernetes.io/name": "cert-manager" if component == "controller" else component,
                           "app.kubernetes.io/instance": release, "app.kubernetes.io/component": component},
                          source=f"cert-manager {_charts.CERT_MANAGER.version} templates/{template}")
        )  # fmt: skip
    return workloads


# --- Kueue (kubernetes-sigs/kueue tag v0.19.2, charts/kueue) --------------------------------------------------

KUEUE_DEFAULTS: dict[str, Any] = {
    "controllerManager": {
        "replicas": 1, "hostNetwork": False, "nodeSelector": {}, "tolerations": [], "topologySpreadConstraints": [],
        "manager": {
            "priorityClassName": None,
            "resources": {"limits": {"cpu": "2", "memory": "512Mi"}, "requests": {"cpu": "500m", "memory": "512Mi"}},
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                         "capabilities": {"drop": ["ALL"]}},
        },
    },
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at v0.19.2)."""


def kueue_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The Kueue chart: the controller-manager Deployment (KueueViz off, the chart's default).

    Templates read (tag v0.19.2): `charts/kueue/templates/manager/manager.yaml` (`controllerManager.replicas`,
    `.hostNetwork`, `.nodeSelector`, `.tolerations`, `.topologySpreadConstraints`, `controllerManager.manager.
    {priorityClassName,resources,podSecurityContext,containerSecurityContext}`; no affinity value; container
    `manager`) and `_helpers.tpl` (`kueue.fullname`; pod labels `kueue.selectorLabels`).
    """
    effective = merged(KUEUE_DEFAULTS, values)
    controller = effective["controllerManager"]
    manager = controller["manager"]
    extra: dict[str, Any] = {
        "hostNetwork": bool(controller.get("hostNetwork")),
        "topologySpreadConstraints": copy.deepcopy(controller.get("topologySpreadConstraints") or []),
    }
    if manager.get("priorityClassName"):
        extra["priorityClassName"] = manager["priorityClassName"]
    spec = _pod(
        {**controller, "resources": manager.get("resources") or {},
         "securityContext": manager.get("podSecurityContext") or {},
         "containerSecurityContext": manager.get("containerSecurityContext") or {}},
        container="manager",
        extra=extra,
    )  # fmt: skip
    fullname = helm_fullname(release, "kueue", effective.get("fullnameOverride"))
    return [
        ChartWorkload("Deployment", f"{fullname}-controller-manager", namespace, int(controller.get("replicas") or 1),
                      spec, {"app.kubernetes.io/name": "kueue", "app.kubernetes.io/instance": release,
                             "control-plane": "controller-manager"},
                      source=f"kueue {_charts.KUEUE.version} templates/manager/manager.yaml")
    ]  # fmt: skip


# --- JobSet (kubernetes-sigs/jobset tag v0.12.0, charts/jobset) -----------------------------------------------

JOBSET_DEFAULTS: dict[str, Any] = {
    "controller": {
        "replicas": 1, "hostNetwork": False, "nodeSelector": {}, "affinity": {}, "tolerations": [],
        "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}, "limits": {"cpu": 2, "memory": "4Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    },
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at v0.12.0)."""


def jobset_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The JobSet chart: the controller Deployment (it also serves the webhooks).

    Templates read (tag v0.12.0): `charts/jobset/templates/controller/deployment.yaml` (`controller.replicas`,
    `.nodeSelector`, `.affinity`, `.tolerations`, `.podSecurityContext`, `.hostNetwork`, container `controller` with
    `.resources` and `.securityContext`; no priorityClassName, no topologySpreadConstraints), `_helpers.tpl`
    (`jobset.fullname`) and `controller/_helpers.tpl` (`<fullname>-controller`; pod labels name, instance,
    component `controller`).
    """
    effective = merged(JOBSET_DEFAULTS, values)
    controller = effective["controller"]
    spec = _pod(
        {**controller, "securityContext": controller.get("podSecurityContext") or {},
         "containerSecurityContext": controller.get("securityContext") or {}},
        container="controller",
        extra={"hostNetwork": bool(controller.get("hostNetwork"))},
    )  # fmt: skip
    fullname = helm_fullname(release, "jobset", effective.get("fullnameOverride"))
    return [
        ChartWorkload("Deployment", f"{fullname}-controller", namespace, int(controller.get("replicas") or 1), spec,
                      {"app.kubernetes.io/name": "jobset", "app.kubernetes.io/instance": release,
                       "app.kubernetes.io/component": "controller"},
                      source=f"jobset {_charts.JOBSET.version} templates/controller/deployment.yaml")
    ]  # fmt: skip


# --- AWS EFA device plugin (aws/eks-charts 5239609, stable/aws-efa-k8s-device-plugin v0.5.30) -----------------

AWS_EFA_DEVICE_PLUGIN_DEFAULTS: dict[str, Any] = {
    "nodeSelector": {}, "tolerations": [],
    "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}},
    "securityContext": {"allowPrivilegeEscalation": True, "privileged": True, "runAsNonRoot": False, "runAsUser": 0},
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at 5239609)."""


def aws_efa_device_plugin_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The EFA device plugin chart: one DaemonSet, host network, privileged, on the instance types of
    `supportedInstanceLabels` only (a required node affinity) and outside EKS Auto Mode.

    Template read: `templates/daemonset.yaml` (a `CriticalAddonsOnly` Exists toleration before `.tolerations`,
    priorityClassName system-node-critical, `.nodeSelector`, the affinity from `supportedInstanceLabels`,
    `hostNetwork: true`, container `aws-efa-k8s-device-plugin` with `.securityContext` and `.resources`, hostPath
    volumes /var/lib/kubelet/device-plugins, /dev/infiniband/, /opt/aws/neuron/; pod labels `name: <fullname>`).
    """
    effective = merged(AWS_EFA_DEVICE_PLUGIN_DEFAULTS, values)
    supported = _section(effective, "supportedInstanceLabels")
    terms = [
        {"matchExpressions": [
            {"key": key, "operator": "In", "values": list(supported.get("values") or [])},
            {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["auto"]},
        ]}
        for key in supported.get("keys") or []
    ]  # fmt: skip
    spec = _pod(
        {**effective, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": terms}}} if terms else {},
         "containerSecurityContext": effective.get("securityContext") or {}, "securityContext": {}},
        container="aws-efa-k8s-device-plugin",
        extra={"hostNetwork": True, "priorityClassName": "system-node-critical",
               "volumes": _host_paths("/var/lib/kubelet/device-plugins", "/dev/infiniband/", "/opt/aws/neuron/")},
    )  # fmt: skip
    spec["tolerations"] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}, *spec["tolerations"]]
    name = helm_fullname(release, "aws-efa-k8s-device-plugin", effective.get("fullnameOverride"))
    return [
        ChartWorkload("DaemonSet", name, namespace, 1, spec, {"name": name},
                      source=f"aws-efa-k8s-device-plugin {_charts.AWS_EFA_DEVICE_PLUGIN.version} "
                      "templates/daemonset.yaml")
    ]  # fmt: skip


# --- Argo Workflows (argoproj/argo-helm tag argo-workflows-1.0.18, charts/argo-workflows) --------------------------

ARGO_WORKFLOWS_DEFAULTS: dict[str, Any] = {
    "controller": {
        "name": "workflow-controller", "replicas": 1, "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [],
        "affinity": {}, "topologySpreadConstraints": [], "priorityClassName": "", "resources": {},
        "podSecurityContext": {},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    },
    "server": {
        "enabled": True, "name": "server", "replicas": 1, "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [], "affinity": {}, "topologySpreadConstraints": [], "priorityClassName": "", "resources": {},
        "podSecurityContext": {},
        "securityContext": {"readOnlyRootFilesystem": False, "runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    },
}  # fmt: skip
"""The chart's defaults for what decides placement (values.yaml at argo-workflows-1.0.18)."""


def argo_workflows_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """The Argo Workflows chart: the workflow controller Deployment, and the Argo Server Deployment when enabled.

    Templates read (tag argo-workflows-1.0.18): `templates/controller/workflow-controller-deployment.yaml` and
    `templates/server/server-deployment.yaml` (`replicas`, `podSecurityContext` as the pod's `securityContext`,
    `securityContext` as the container's, `resources`, `nodeSelector`, `tolerations`, `affinity`,
    `topologySpreadConstraints`, `priorityClassName`; containers `controller` and `argo-server`; the server mounts an
    emptyDir at /tmp) and `_helpers.tpl` (`argo-workflows.fullname`, selector labels `app.kubernetes.io/name:
    <chart name>-<component name>` and `app.kubernetes.io/instance`). Step pods are created at run time by the
    controller in the training namespaces from each Workflow; they are not modelled here.
    """
    effective = merged(ARGO_WORKFLOWS_DEFAULTS, values)
    fullname = helm_fullname(release, "argo-workflows", effective.get("fullnameOverride"))
    workloads = []
    for section_name, container, enabled in (
        ("controller", "controller", True),
        ("server", "argo-server", bool(effective["server"].get("enabled"))),
    ):
        if not enabled:
            continue
        section = effective[section_name]
        extra: dict[str, Any] = {
            "topologySpreadConstraints": copy.deepcopy(section.get("topologySpreadConstraints") or []),
        }
        if section.get("priorityClassName"):
            extra["priorityClassName"] = section["priorityClassName"]
        if section_name == "server":
            extra["volumes"] = [{"name": "tmp", "emptyDir": {}}]
        spec = _pod({**section, "securityContext": section.get("podSecurityContext") or {},
                     "containerSecurityContext": section.get("securityContext") or {}},
                    container=container, extra=extra)  # fmt: skip
        name = section.get("name") or section_name
        workloads.append(
            ChartWorkload("Deployment", f"{fullname}-{name}", namespace, int(section.get("replicas") or 1), spec,
                          {"app.kubernetes.io/name": f"argo-workflows-{name}", "app.kubernetes.io/instance": release},
                          source=f"argo-workflows {_charts.ARGO_WORKFLOWS.version} templates/{section_name}/"
                                 f"{'workflow-controller' if section_name == 'controller' else 'server'}-deployment.yaml")
        )  # fmt: skip
    return workloads


ENVOY_PROXY_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The container context Envoy Gateway gives the proxy containers when the EnvoyProxy sets none (v1.9.0
`proxy/resource.go` `expectedEnvoySecurityContext` over `resource.DefaultSecurityContext`)."""


def envoy_proxy_workload(name: str, namespace: str, spec: Mapping[str, Any]) -> ChartWorkload:
    """The proxy Deployment Envoy Gateway's controller runs for an EnvoyProxy, in the EnvoyProxy's namespace (its
    default deployment mode): `provider.kubernetes.envoyDeployment` gives replicas, the pod's placement and
    security context and the envoy container's resources; the container context is the controller's default."""
    deployment = ((spec.get("provider") or {}).get("kubernetes") or {}).get("envoyDeployment") or {}
    pod_settings = deployment.get("pod") or {}
    container = deployment.get("container") or {}
    pod = {
        key: pod_settings[key]
        for key in ("nodeSelector", "tolerations", "affinity", "securityContext")
        if key in pod_settings
    }
    pod["containers"] = [
        {
            "name": "envoy",
            "resources": container.get("resources") or {},
            "securityContext": {**ENVOY_PROXY_CONTAINER_SECURITY_CONTEXT, **(container.get("securityContext") or {})},
        }
    ]
    return ChartWorkload(
        "EnvoyProxy", name, namespace, int(deployment.get("replicas") or 1), pod, dict(gateway.PROXY_POD_LABELS),
        source=f"Envoy Gateway {_charts.ENVOY_GATEWAY.version} proxy Deployment from the EnvoyProxy resource",
        run_time=True,
    )  # fmt: skip


def _no_workloads(release: str, namespace: str, values: Values) -> list[ChartWorkload]:
    """prometheus-operator-crds and karpenter-crd: CRDs only, no pods (their templates are CustomResourceDefinitions)."""
    return []


CHART_WORKLOADS: dict[str, Callable[[str, str, Values], list[ChartWorkload]]] = {
    _charts.GPU_OPERATOR.chart: gpu_operator_workloads,
    _charts.NVIDIA_DEVICE_PLUGIN.chart: device_plugin_workloads,
    _charts.DCGM_EXPORTER.chart: dcgm_exporter_workloads,
    _charts.KUBE_PROMETHEUS_STACK.chart: kube_prometheus_stack_workloads,
    _charts.PROMETHEUS_OPERATOR_CRDS.chart: _no_workloads,
    _charts.ECK_OPERATOR.chart: eck_operator_workloads,
    _charts.FLUENT_BIT.chart: fluent_bit_workloads,
    _charts.METRICS_SERVER.chart: metrics_server_workloads,
    _charts.KEDA.chart: keda_workloads,
    _charts.KARPENTER_CRD.chart: _no_workloads,
    _charts.KARPENTER.chart: karpenter_workloads,
    _charts.SECRETS_STORE_CSI_DRIVER.chart: secrets_store_driver_workloads,
    _charts.SECRETS_STORE_CSI_PROVIDER_AWS.chart: secrets_store_aws_provider_workloads,
    _charts.ENVOY_GATEWAY.chart: envoy_gateway_workloads,
    _charts.CERT_MANAGER.chart: cert_manager_workloads,
    _charts.KUEUE.chart: kueue_workloads,
    _charts.JOBSET.chart: jobset_workloads,
    _charts.AWS_EFA_DEVICE_PLUGIN.chart: aws_efa_device_plugin_workloads,
    _charts.ARGO_WORKFLOWS.chart: argo_workflows_workloads,
}
"""Chart name -> the function from (release, namespace, values) to the workloads it creates; one per pin."""

TABLE_VERSIONS: dict[str, str] = {
    "gpu-operator": "v26.7.0",
    "nvidia-device-plugin": "0.20.0",
    "dcgm-exporter": "4.8.2",
    "kube-prometheus-stack": "88.5.3",
    "prometheus-operator-crds": "31.0.1",
    "eck-operator": "3.5.0",
    "fluent-bit": "0.58.1",
    "metrics-server": "3.13.1",
    "keda": "2.20.2",
    "karpenter-crd": "1.14.1",
    "karpenter": "1.14.1",
    "secrets-store-csi-driver": "1.6.0",
    "secrets-store-csi-driver-provider-aws": "3.1.1",
    "gateway-helm": "v1.9.0",
    "cert-manager": "v1.21.1",
    "kueue": "0.19.2",
    "jobset": "0.12.0",
    "aws-efa-k8s-device-plugin": "v0.5.30",
    "argo-workflows": "1.0.18",
}
"""The chart versions whose templates this table was read from; a test fails when a pin in `_charts.py` moves
without the table, and the deployability check reports a chart of another version as not described."""


def chart_workloads(
    chart: str, version: str, release: str, namespace: str, values: Values
) -> list[ChartWorkload] | None:
    """The workloads `chart` creates with `values`; None for a chart (or version) the table does not describe.

    `chart` is the name, or an OCI reference (`oci://public.ecr.aws/karpenter/karpenter`) whose last segment is.
    """
    if "://" in chart:
        chart = chart.rstrip("/").rsplit("/", 1)[-1]
    function = CHART_WORKLOADS.get(chart)
    if function is None or TABLE_VERSIONS.get(chart) != version:
        return None
    return function(release, namespace, values)
