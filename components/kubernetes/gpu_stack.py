"""`GpuStack`: makes NVIDIA GPUs schedulable and observable (GPU operator or device plugin, DCGM exporter)."""

from typing import Literal, TypedDict

import pulumi

from components._common.validation import Problems
from components.kubernetes import _charts, _values
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_known_arguments,
    check_release_names,
    check_string_map,
)
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace

GpuStackMode = Literal["operator", "device-plugin"]
GPU_STACK_MODES: tuple[GpuStackMode, ...] = ("operator", "device-plugin")

DEFAULT_MODE: GpuStackMode = "operator"
DEFAULT_OPERATOR_NAMESPACE = "gpu-operator"
DEFAULT_DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"
DEFAULT_DRIVER_PREINSTALLED = False
DEFAULT_TOOLKIT_PREINSTALLED = False
DEFAULT_DCGM_SERVICE_MONITOR = True
DEFAULT_SERVICE_MONITOR_LABELS: dict[str, str] = {"release": "monitoring"}
"""Matches the Helm release of `Monitoring("monitoring")`; see `Monitoring.service_monitor_labels`."""

GPU_TIER = "gpu"


class GpuStackArgs(TypedDict, total=False):
    """Arguments of `GpuStack`."""

    mode: str
    """`operator` installs the NVIDIA GPU operator (device plugin, DCGM exporter, GPU feature discovery,
    validator, and the driver / toolkit unless preinstalled); `device-plugin` installs only the NVIDIA device
    plugin and the standalone DCGM exporter, for node images that ship driver and toolkit. Defaults to
    operator."""

    namespace: str
    """Namespace created for the NVIDIA components (Pod Security `privileged`: they need host access).
    Defaults to gpu-operator (operator mode) or nvidia-device-plugin (device-plugin mode)."""

    driver_preinstalled: bool
    """The node image already ships the NVIDIA driver, so the operator must not install one. True for EKS
    AL2023/Bottlerocket NVIDIA AMIs and AKS pools with gpuProfile.driver=Install; for existing clusters use the
    config's `gpuDriverPreinstalled`. Required to be true in device-plugin mode. Defaults to false."""

    toolkit_preinstalled: bool
    """The node image already ships the NVIDIA container toolkit (same images as above). Required to be true
    in device-plugin mode. Defaults to false."""

    dcgm_service_monitor: bool
    """Create the DCGM exporter's ServiceMonitor. Needs the Prometheus operator CRDs before the chart renders:
    pass `Monitoring.service_monitor_labels` as `service_monitor_labels`, which resolves once they exist (no
    `depends_on` on all of `Monitoring`, which would hold the GPU stack back for its whole rollout). Defaults
    to true."""

    service_monitor_labels: pulumi.Input[dict[str, str]]
    """Extra labels on the DCGM ServiceMonitor, so a Prometheus that selects by label (kube-prometheus-stack's
    default `release: <release>`) picks it up too. Pass `Monitoring.service_monitor_labels`: the NVIDIA charts
    then wait for the Prometheus operator CRDs and nothing else of `Monitoring`. Defaults to
    {"release": "monitoring"}."""

    namespace_labels: dict[str, str]
    """Extra labels on the namespace (e.g. the GDPR record-of-processing labels); cannot override the tier or
    Pod Security labels. Defaults to none."""


class GpuStack(pulumi.ComponentResource):
    """Makes the GPU nodes of any cloud schedulable (`nvidia.com/gpu`) and observable (DCGM metrics).

    Creates:
    - a namespace labelled Pod Security `privileged` (the device plugin and DCGM need host access) and tier `gpu`;
    - operator mode: the NVIDIA GPU operator chart (driver/toolkit off when the image ships them, device
      plugin, DCGM exporter with a ServiceMonitor, Node Feature Discovery);
    - device-plugin mode: the NVIDIA device plugin chart and the standalone DCGM exporter chart.

    Security defaults: GPU operands tolerate exactly the GPU contract's taints (`nvidia.com/gpu`, AKS
    `sku=gpu`) and run only on GPU nodes (Node Feature Discovery's worker also visits the system pool to find
    them); chart versions pinned in `_charts.py`; the privileged namespace holds nothing but NVIDIA agents.
    """

    namespace: pulumi.Output[str]
    """Namespace of the NVIDIA components."""

    mode: pulumi.Output[str]
    """`operator` or `device-plugin`."""

    dcgm_service_monitor_labels: pulumi.Output[dict[str, str]]
    """Labels on the DCGM exporter's ServiceMonitor."""

    def __init__(self, name: str, args: GpuStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        mode = args.get("mode", DEFAULT_MODE)
        default_namespace = DEFAULT_DEVICE_PLUGIN_NAMESPACE if mode == "device-plugin" else DEFAULT_OPERATOR_NAMESPACE
        namespace = args.get("namespace", default_namespace)
        driver_preinstalled = args.get("driver_preinstalled", DEFAULT_DRIVER_PREINSTALLED)
        toolkit_preinstalled = args.get("toolkit_preinstalled", DEFAULT_TOOLKIT_PREINSTALLED)
        service_monitor = args.get("dcgm_service_monitor", DEFAULT_DCGM_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels", DEFAULT_SERVICE_MONITOR_LABELS)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, GpuStackArgs)
        check_release_names(problems, name, ("gpu-operator", "device-plugin", "dcgm-exporter"))
        check_choice(problems, "mode", mode, GPU_STACK_MODES)
        check_namespace_name(problems, "namespace", namespace)
        check_bool(problems, "driverPreinstalled", driver_preinstalled)
        check_bool(problems, "toolkitPreinstalled", toolkit_preinstalled)
        check_bool(problems, "dcgmServiceMonitor", service_monitor)
        if not isinstance(monitor_labels, pulumi.Output):
            check_string_map(problems, "serviceMonitorLabels", monitor_labels)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        if mode == "device-plugin":
            # The plain device plugin cannot install anything on the node: without a driver and toolkit in
            # the image the plugin crash-loops and the GPUs never appear.
            if driver_preinstalled is False:
                problems.add(
                    "driverPreinstalled",
                    "device-plugin mode needs a node image with the NVIDIA driver; set true or use mode: operator",
                )
            if toolkit_preinstalled is False:
                problems.add(
                    "toolkitPreinstalled",
                    "device-plugin mode needs a node image with the NVIDIA container toolkit; set true or use mode: operator",
                )
        problems.raise_if_any(f"GpuStack '{name}'")

        super().__init__("mlplatform:index:GpuStack", name, {}, opts)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=GPU_TIER,
            enforce="privileged",
            extra_labels=namespace_labels,
            parent=self,
        )
        chart_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        if mode == "operator":
            operator_values = _values.gpu_operator_values(
                driver_preinstalled=driver_preinstalled,
                toolkit_preinstalled=toolkit_preinstalled,
                service_monitor_labels=monitor_labels,
                service_monitor=service_monitor,
            )
            self._operator = _charts.helm_chart(
                f"{name}-gpu-operator",
                _charts.GPU_OPERATOR,
                release_name=f"{name}-gpu-operator",
                namespace=ns.metadata.name,
                values=operator_values,
                opts=chart_opts,
            )
        else:
            self._device_plugin = _charts.helm_chart(
                f"{name}-device-plugin",
                _charts.NVIDIA_DEVICE_PLUGIN,
                release_name=f"{name}-device-plugin",
                namespace=ns.metadata.name,
                values=_values.device_plugin_values(),
                opts=chart_opts,
            )
            self._dcgm_exporter = _charts.helm_chart(
                f"{name}-dcgm-exporter",
                _charts.DCGM_EXPORTER,
                release_name=f"{name}-dcgm-exporter",
                namespace=ns.metadata.name,
                values=_values.dcgm_exporter_values(monitor_labels, service_monitor=service_monitor),
                opts=chart_opts,
            )

        self.namespace = ns.metadata.name
        self.mode = pulumi.Output.from_input(mode)
        self.dcgm_service_monitor_labels = pulumi.Output.from_input(monitor_labels)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "mode": self.mode,
                "dcgmServiceMonitorLabels": self.dcgm_service_monitor_labels,
            }
        )
