"""`GpuStack`: makes NVIDIA GPUs schedulable and observable (GPU operator or device plugin, DCGM exporter)."""

import re
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from components._common import gpu
from components._common.validation import Problems, dns1123_label_problem, require_args_mapping
from components.kubernetes import _charts, _platform_policies, _values
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
DEFAULT_RUNTIME_CLASS = gpu.OPERATOR_RUNTIME_CLASS
DEFAULT_DCGM_SERVICE_MONITOR = True
DEFAULT_SERVICE_MONITOR_LABELS: dict[str, str] = {"release": "monitoring"}
"""Matches the Helm release of `Monitoring("monitoring")`; see `Monitoring.service_monitor_labels`."""

GPU_TIER = "gpu"

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class GpuPoolTaintArgs(TypedDict):
    """A taint of a GPU pool in Kubernetes form."""

    key: str
    """Taint key, a Kubernetes label key (e.g. `workload`)."""

    value: NotRequired[str]
    """Taint value (e.g. `training`). Defaults to empty."""

    effect: NotRequired[str]
    """NoSchedule, PreferNoSchedule or NoExecute. Defaults to NoSchedule."""


DEFAULT_GPU_POOL_TAINTS: list[GpuPoolTaintArgs] = []


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

    gpu_pool_taints: pulumi.Input[list[GpuPoolTaintArgs]]
    """Every taint the cluster's GPU pools carry, in Kubernetes form (`{key, value, effect}`), e.g. each pool's
    `gpu.gpu_pool_taints(...)` as `Taint.kubernetes()`. Every GPU agent (the operator's operands through the
    ClusterPolicy, the Node Feature Discovery worker, the device plugin and DCGM exporter) tolerates each one
    exactly, on top of the GPU contract's own taints (`nvidia.com/gpu`, `sku=gpu`, AKS spot,
    `mlplatform.io/workload=training`), so no pool's GPUs stay invisible. Defaults to none (the contract's
    taints only)."""

    runtime_class: str
    """The containerd runtime handler the operator's operands run with (chart `operator.runtimeClass`):
    `nvidia` where the operator installs the toolkit or the node image registers that name (EKS AL2023 and
    Bottlerocket NVIDIA AMIs); `nvidia-container-runtime` for AKS pools with gpuProfile.driver=Install
    (`gpu.preinstalled_runtime_class(cloud)` gives the right one). Any other name needs
    `toolkit_preinstalled`. Operator mode only. Defaults to nvidia."""

    cdi: bool
    """Let the operator switch the device plugin to the Container Device Interface (chart `cdi.enabled`). Must
    be false with AKS's toolkit (`runtime_class` other than nvidia): NVIDIA's recipe for it is runtime class
    and CDI off together. Operator mode only. Defaults to true, or false when `runtime_class` is not nvidia."""

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
    `sku=gpu`, spot, training) and the declared taints of the GPU pools, never every taint, and run only on GPU nodes (Node Feature Discovery's worker also visits the system pool to find
    them); chart versions pinned in `_charts.py`; the privileged namespace holds nothing but NVIDIA agents.
    """

    namespace: pulumi.Output[str]
    """Namespace of the NVIDIA components."""

    mode: pulumi.Output[str]
    """`operator` or `device-plugin`."""

    dcgm_service_monitor_labels: pulumi.Output[dict[str, str]]
    """Labels on the DCGM exporter's ServiceMonitor."""

    def __init__(self, name: str, args: GpuStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        mode = args.get("mode", DEFAULT_MODE)
        default_namespace = DEFAULT_DEVICE_PLUGIN_NAMESPACE if mode == "device-plugin" else DEFAULT_OPERATOR_NAMESPACE
        namespace = args.get("namespace", default_namespace)
        driver_preinstalled = args.get("driver_preinstalled", DEFAULT_DRIVER_PREINSTALLED)
        toolkit_preinstalled = args.get("toolkit_preinstalled", DEFAULT_TOOLKIT_PREINSTALLED)
        service_monitor = args.get("dcgm_service_monitor", DEFAULT_DCGM_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels", DEFAULT_SERVICE_MONITOR_LABELS)
        namespace_labels = args.get("namespace_labels", {})
        pool_taints = args.get("gpu_pool_taints", DEFAULT_GPU_POOL_TAINTS)
        runtime_class = args.get("runtime_class", DEFAULT_RUNTIME_CLASS)
        cdi = args.get("cdi", runtime_class == gpu.OPERATOR_RUNTIME_CLASS)

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
        # A cluster-layer stack reads the taints from its foundation's outputs: checked when they resolve.
        taints: pulumi.Input[list[gpu.Taint]] = (
            pool_taints.apply(_resolved_pool_taints)
            if isinstance(pool_taints, pulumi.Output)
            else check_pool_taints(problems, "gpuPoolTaints", pool_taints)
        )
        check_runtime(problems, args, mode=mode, runtime_class=runtime_class, cdi=cdi, toolkit=toolkit_preinstalled)
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

            def operator_values_for(pool_taints: list[gpu.Taint], labels: Any = monitor_labels) -> dict[str, Any]:
                return _values.gpu_operator_values(
                    driver_preinstalled=driver_preinstalled,
                    toolkit_preinstalled=toolkit_preinstalled,
                    service_monitor_labels=labels,
                    service_monitor=service_monitor,
                    pool_taints=pool_taints,
                    runtime_class=runtime_class,
                    cdi=cdi,
                )

            operator_values: pulumi.Input[dict[str, Any]] = (
                pulumi.Output.all(taints, monitor_labels).apply(lambda both: operator_values_for(both[0], both[1]))
                if isinstance(taints, pulumi.Output)
                else operator_values_for(taints)
            )
            self._operator = _charts.helm_chart(
                f"{name}-gpu-operator",
                _charts.GPU_OPERATOR,
                release_name=f"{name}-gpu-operator",
                namespace=ns.metadata.name,
                values=operator_values,
                # The chart has no value for the operator Deployment's security context: a transform sets it.
                opts=pulumi.ResourceOptions.merge(
                    chart_opts, pulumi.ResourceOptions(transforms=[_charts.gpu_operator_hardening_transform()])
                ),
            )
        else:
            self._device_plugin = _charts.helm_chart(
                f"{name}-device-plugin",
                _charts.NVIDIA_DEVICE_PLUGIN,
                release_name=f"{name}-device-plugin",
                namespace=ns.metadata.name,
                values=pulumi.Output.from_input(taints).apply(_values.device_plugin_values)
                if isinstance(taints, pulumi.Output)
                else _values.device_plugin_values(taints),
                opts=chart_opts,
            )
            self._dcgm_exporter = _charts.helm_chart(
                f"{name}-dcgm-exporter",
                _charts.DCGM_EXPORTER,
                release_name=f"{name}-dcgm-exporter",
                namespace=ns.metadata.name,
                values=pulumi.Output.all(taints, monitor_labels).apply(
                    lambda both: _values.dcgm_exporter_values(
                        both[1], service_monitor=service_monitor, pool_taints=both[0]
                    )
                )
                if isinstance(taints, pulumi.Output)
                else _values.dcgm_exporter_values(monitor_labels, service_monitor=service_monitor, pool_taints=taints),
                opts=chart_opts,
            )

        # Default deny in the NVIDIA namespace, then the API server, DNS and Prometheus's scrape of DCGM.
        _platform_policies.create_network_policies(
            f"{name}-netpol",
            ns.metadata.name,
            _platform_policies.gpu_network_policies(
                operator_installs_software=mode == "operator" and not (driver_preinstalled and toolkit_preinstalled)
            ),
            parent=self,
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


def _resolved_pool_taints(value: object) -> list[gpu.Taint]:
    """The GPU pool taints of a resolved Output (a foundation stack's `gpuPoolTaints`), or an error naming them."""
    problems = Problems()
    taints = check_pool_taints(problems, "gpuPoolTaints", value)
    problems.raise_if_any("GpuStack gpuPoolTaints (resolved)")
    return taints


def check_pool_taints(problems: Problems, path: str, value: object) -> list[gpu.Taint]:
    """Record a problem for every malformed GPU pool taint; return the well-formed ones."""
    if not isinstance(value, list):
        problems.add(path, "must be a list of taints ({key, value, effect})")
        return []
    taints: list[gpu.Taint] = []
    for index, taint in enumerate(value):
        item = f"{path}[{index}]"
        if not isinstance(taint, Mapping):
            problems.add(item, "must be a taint ({key, value, effect})")
            continue
        unknown = set(taint) - {"key", "value", "effect"}
        if unknown:
            problems.add(item, f"unknown fields {', '.join(sorted(map(str, unknown)))}; known: effect, key, value")
        key, taint_value, effect = taint.get("key"), taint.get("value", ""), taint.get("effect", "NoSchedule")
        well_formed = True
        if not isinstance(key, str) or len(key) > 316 or not _LABEL_KEY.match(key):
            problems.add(f"{item}.key", f"{key!r} is not a valid taint key (a Kubernetes label key)")
            well_formed = False
        if not isinstance(taint_value, str) or not _LABEL_VALUE.match(taint_value):
            problems.add(f"{item}.value", f"{taint_value!r} is not a valid taint value (a Kubernetes label value)")
            well_formed = False
        if effect not in _TAINT_EFFECTS:
            problems.add(f"{item}.effect", f"must be one of {', '.join(_TAINT_EFFECTS)} (got {effect!r})")
            well_formed = False
        if well_formed:
            taints.append(gpu.Taint(key, taint_value, effect))
    return taints


def check_runtime(
    problems: Problems, args: Mapping[str, object], *, mode: object, runtime_class: object, cdi: object, toolkit: object
) -> None:
    """Record a problem when the runtime class and CDI settings cannot work on the nodes described."""
    if mode == "device-plugin":
        for key, path in (("runtime_class", "runtimeClass"), ("cdi", "cdi")):
            if key in args:
                problems.add(
                    path, "applies to operator mode only; the device-plugin charts use the node's default runtime"
                )
        return
    check_bool(problems, "cdi", cdi)
    problem = dns1123_label_problem(runtime_class) if isinstance(runtime_class, str) else "must be a string"
    if problem:
        problems.add("runtimeClass", problem)
        return
    if runtime_class == gpu.OPERATOR_RUNTIME_CLASS:
        return
    if toolkit is False:
        problems.add(
            "runtimeClass",
            f"'{runtime_class}' is a handler only a preinstalled toolkit registers; the operator's own toolkit "
            f"registers '{gpu.OPERATOR_RUNTIME_CLASS}' (set toolkitPreinstalled or keep the default)",
        )
    if cdi is True:
        problems.add(
            "cdi",
            f"must be false with runtimeClass '{runtime_class}': with the node image's toolkit NVIDIA's recipe is the "
            "image's runtime handler and CDI off together (https://github.com/NVIDIA/gpu-operator/issues/525)",
        )
