"""GpuStack: the NVIDIA stack installs as pinned charts whose DCGM metrics the platform's Prometheus really scrapes."""

from __future__ import annotations

import pulumi
import pytest

from components._common import gpu, scheduling
from components._common.tags import TIER_LABEL
from components.kubernetes import GpuStack, Monitoring
from components.kubernetes import _charts as charts
from tests.components.kubernetes.helpers import (
    chart,
    chart_values,
    every_gpu_taint,
    objects_of_kind,
    prometheus_selector,
    run_with_provider,
    selector_matches,
    tolerates,
)

PSA = "pod-security.kubernetes.io/"


def namespace_labels(recorder, name: str) -> dict[str, str]:
    found = [ns for ns in objects_of_kind(recorder, "Namespace") if ns["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one namespace {name}"
    return found[0]["metadata"]["labels"]


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def test_operator_mode_installs_the_pinned_gpu_operator_in_a_privileged_gpu_namespace(run) -> None:
    recorder = run_with_provider(run, lambda opts: GpuStack("nvidia", {}, opts=opts))
    operator = chart(recorder, "gpu-operator")
    assert operator.inputs["version"] == charts.GPU_OPERATOR.version, "the version comes from the one pin table"
    assert operator.inputs["repositoryOpts"]["repo"] == charts.GPU_OPERATOR.repo
    assert operator.inputs["namespace"] == "gpu-operator"
    labels = namespace_labels(recorder, "gpu-operator")
    assert labels[f"{PSA}enforce"] == "privileged", "the driver, toolkit and DCGM need host access"
    assert labels[TIER_LABEL] == "gpu"
    values = chart_values(recorder, "gpu-operator")
    assert values["driver"]["enabled"] is True, "by default the operator installs the driver (nodes without one)"
    assert not recorder.by_type("kubernetes:core/v1:Secret"), "the GPU stack holds no credentials"


def test_preinstalled_driver_and_toolkit_turn_the_operators_installers_off(run) -> None:
    recorder = run_with_provider(
        run, lambda opts: GpuStack("nvidia", {"driver_preinstalled": True, "toolkit_preinstalled": True}, opts=opts)
    )
    values = chart_values(recorder, "gpu-operator")
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False


def test_device_plugin_mode_installs_the_device_plugin_and_the_standalone_dcgm_exporter(run) -> None:
    recorder = run_with_provider(
        run,
        lambda opts: GpuStack(
            "nvidia", {"mode": "device-plugin", "driver_preinstalled": True, "toolkit_preinstalled": True}, opts=opts
        ),
    )
    installed = sorted(r.inputs["chart"] for r in recorder.by_type("kubernetes:helm.sh/v4:Chart"))
    assert installed == ["dcgm-exporter", "nvidia-device-plugin"], "no operator in device-plugin mode"
    for name in installed:
        assert chart(recorder, name).inputs["namespace"] == "nvidia-device-plugin"
    exporter = chart_values(recorder, "dcgm-exporter")
    for cloud, taint in every_gpu_taint():
        assert tolerates(exporter["tolerations"], taint), f"DCGM would miss {cloud} GPU nodes"
        assert tolerates(chart_values(recorder, "nvidia-device-plugin")["tolerations"], taint)


def test_device_plugin_mode_refuses_node_images_without_driver_and_toolkit(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run_with_provider(run, lambda opts: GpuStack("nvidia", {"mode": "device-plugin"}, opts=opts))
    assert set(errors_of(raised)) == {"driverPreinstalled", "toolkitPreinstalled"}, "both gaps named at once"
    assert not recorder.by_type("mlplatform:index:GpuStack"), "nothing is created when the arguments are wrong"


def test_bad_arguments_are_reported_together_with_their_paths(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: GpuStack(
                "nvidia", {"mode": "mig", "namespace": "kube-system", "namespace_labels": {TIER_LABEL: "x"}}
            )
        )
    errors = errors_of(raised)
    assert {"mode", "namespace", f"namespaceLabels.{TIER_LABEL}"} <= set(errors), errors


@pytest.mark.parametrize("mode", ["operator", "device-plugin"])
def test_the_dcgm_service_monitor_is_selected_by_the_platforms_prometheus(run, mode: str) -> None:
    def build(opts: pulumi.ResourceOptions) -> None:
        monitoring = Monitoring("monitoring", {}, opts=opts)
        GpuStack(
            "nvidia",
            {
                "mode": mode,
                "driver_preinstalled": True,
                "toolkit_preinstalled": True,
                "service_monitor_labels": monitoring.service_monitor_labels,
            },
            opts=opts,
        )

    recorder = run_with_provider(run, build)
    kps = chart(recorder, "kube-prometheus-stack")
    release = kps.inputs["name"]
    spec = chart_values(recorder, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    if mode == "operator":
        monitor = chart_values(recorder, "gpu-operator")["dcgmExporter"]["serviceMonitor"]
        namespace = "gpu-operator"
    else:
        monitor = chart_values(recorder, "dcgm-exporter")["serviceMonitor"]
        namespace = "nvidia-device-plugin"
    assert monitor["enabled"] is True
    assert selector_matches(prometheus_selector(spec, "serviceMonitor", release), monitor["additionalLabels"]), (
        "the platform Prometheus must select the DCGM ServiceMonitor"
    )
    assert selector_matches(spec["serviceMonitorNamespaceSelector"], namespace_labels(recorder, namespace)), (
        "the DCGM ServiceMonitor's namespace must be one Prometheus looks in"
    )
    # Belt and braces: even kube-prometheus-stack's default selector (release label only) would pick it up.
    default_selector = prometheus_selector({}, "serviceMonitor", release)
    assert selector_matches(default_selector, monitor["additionalLabels"]), "the release label is set too"
    exporter = chart(recorder, "gpu-operator" if mode == "operator" else "dcgm-exporter")
    waits_for = {urn for urns in exporter.property_dependencies.values() for urn in urns} | set(exporter.dependencies)
    assert chart(recorder, "prometheus-operator-crds").urn in waits_for, "the ServiceMonitor's CRD comes first"
    assert kps.urn not in waits_for, "the NVIDIA stack does not wait for kube-prometheus-stack to roll out"


def test_the_dcgm_service_monitor_can_be_left_out_when_there_is_no_prometheus_operator(run) -> None:
    recorder = run_with_provider(run, lambda opts: GpuStack("nvidia", {"dcgm_service_monitor": False}, opts=opts))
    assert chart_values(recorder, "gpu-operator")["dcgmExporter"]["serviceMonitor"]["enabled"] is False


def test_outputs_name_the_namespace_mode_and_monitor_labels(run) -> None:
    recorder = run_with_provider(run, lambda opts: GpuStack("nvidia", {}, opts=opts))
    outputs = recorder.one("mlplatform:index:GpuStack").outputs
    assert outputs == {
        "namespace": "gpu-operator",
        "mode": "operator",
        "dcgmServiceMonitorLabels": {"release": "monitoring"},
    }


# Prod's H100 pool as the cloud layer taints it: the contract's GPU taint plus the stack file's extra taint.
H100_TRAINING = gpu.gpu_pool_taints("aws", extra=[gpu.Taint("workload", "training", "NoSchedule")])
AKS_SPOT_POOL = gpu.gpu_pool_taints("azure", spot=True, extra=[gpu.Taint("team", "fraud", "NoExecute")])
DECLARED = [taint.kubernetes() for taint in dict.fromkeys([*H100_TRAINING, *AKS_SPOT_POOL])]


def gpu_agent_tolerations(recorder, mode: str) -> dict[str, list[dict]]:
    """Every agent of `mode` that must run on GPU nodes, with the tolerations its rendered values give it."""
    if mode == "operator":
        values = chart_values(recorder, "gpu-operator")
        return {
            "ClusterPolicy daemonsets (device plugin, DCGM exporter, GFD, validator)": values["daemonsets"][
                "tolerations"
            ],
            "Node Feature Discovery worker": values["node-feature-discovery"]["worker"]["tolerations"],
        }
    return {
        "device plugin": chart_values(recorder, "nvidia-device-plugin")["tolerations"],
        "DCGM exporter": chart_values(recorder, "dcgm-exporter")["tolerations"],
    }


@pytest.mark.parametrize("mode", ["operator", "device-plugin"])
@pytest.mark.parametrize(("pool", "taints"), [("h100-training", H100_TRAINING), ("aks spot", AKS_SPOT_POOL)])
def test_every_gpu_agent_tolerates_every_taint_of_a_pool_with_extra_taints(run, mode, pool, taints) -> None:
    arguments = {"mode": mode, "driver_preinstalled": True, "toolkit_preinstalled": True, "gpu_pool_taints": DECLARED}
    recorder = run_with_provider(run, lambda opts: GpuStack("nvidia", arguments, opts=opts))
    for agent, tolerations in gpu_agent_tolerations(recorder, mode).items():
        missing = scheduling.untolerated_taints(tolerations, taints)
        assert missing == [], f"{agent} would never run on {pool}, whose GPUs would stay invisible: {missing}"
        assert not [t for t in tolerations if t.get("operator") == "Exists" and not t.get("key")], (
            f"{agent} reaches the pool through the declared taints, not a blanket toleration"
        )


def test_an_undeclared_extra_taint_is_not_tolerated(run) -> None:
    recorder = run_with_provider(run, lambda opts: GpuStack("nvidia", {}, opts=opts))
    for agent, tolerations in gpu_agent_tolerations(recorder, "operator").items():
        assert scheduling.untolerated_taints(tolerations, H100_TRAINING), (
            f"{agent}: the pools' taints must be declared (gpuPoolTaints); nothing tolerates every taint"
        )
        assert not scheduling.untolerated_taints(tolerations, gpu.gpu_pool_taints("azure", spot=True)), (
            f"{agent}: the contract's own taints need no declaration"
        )


@pytest.mark.parametrize(
    ("cloud", "runtime_class", "cdi"),
    [("aws", "nvidia", True), ("azure", "nvidia-container-runtime", False), ("kubernetes", "nvidia", True)],
)
def test_operands_run_with_the_runtime_handler_of_each_clouds_preinstalled_toolkit(
    run, cloud: str, runtime_class: str, cdi: bool
) -> None:
    arguments = {
        "driver_preinstalled": True,
        "toolkit_preinstalled": True,
        "runtime_class": gpu.preinstalled_runtime_class(cloud),  # type: ignore[arg-type]
    }
    values = chart_values(run_with_provider(run, lambda opts: GpuStack("nvidia", arguments, opts=opts)), "gpu-operator")
    assert values["operator"]["runtimeClass"] == runtime_class, (
        "operand pods get runtimeClassName from this; a handler containerd lacks fails every sandbox (review M1)"
    )
    assert values["cdi"]["enabled"] is cdi, "with AKS's toolkit NVIDIA's recipe is CDI off (gpu-operator#525)"
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False


def test_the_operators_own_toolkit_keeps_the_charts_runtime_and_cdi(run) -> None:
    values = chart_values(run_with_provider(run, lambda opts: GpuStack("nvidia", {}, opts=opts)), "gpu-operator")
    assert values["operator"]["runtimeClass"] == "nvidia" and values["cdi"]["enabled"] is True


def test_runtime_and_taint_arguments_that_cannot_work_are_named(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: GpuStack(
                "nvidia",
                {
                    "runtime_class": "nvidia-container-runtime",
                    "cdi": True,
                    "gpu_pool_taints": [
                        {"key": "bad key!", "value": "training"},
                        {"key": "workload", "value": "training", "effect": "NO_SCHEDULE"},
                        "workload=training:NoSchedule",
                    ],
                },
            )
        )
    errors = errors_of(raised)
    assert {"runtimeClass", "cdi", "gpuPoolTaints[0].key", "gpuPoolTaints[1].effect", "gpuPoolTaints[2]"} <= set(
        errors
    ), errors
    assert "toolkitPreinstalled" in errors["runtimeClass"], "only a preinstalled toolkit registers that handler"
    assert not recorder.by_type("mlplatform:index:GpuStack")


def test_runtime_settings_are_refused_in_device_plugin_mode(run) -> None:
    arguments = {"mode": "device-plugin", "driver_preinstalled": True, "toolkit_preinstalled": True}
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: GpuStack("nvidia", {**arguments, "runtime_class": "nvidia-container-runtime", "cdi": False}))
    assert set(errors_of(raised)) == {"runtimeClass", "cdi"}, "the device-plugin charts would silently ignore them"


@pytest.mark.parametrize(("preinstalled", "downloads"), [(True, False), (False, True)])
def test_the_gpu_namespace_denies_by_default_and_allows_downloads_only_when_the_operator_installs_software(
    run, preinstalled: bool, downloads: bool
) -> None:
    recorder = run_with_provider(
        run,
        lambda opts: GpuStack(
            "nvidia", {"driver_preinstalled": preinstalled, "toolkit_preinstalled": preinstalled}, opts=opts
        ),
    )
    policies = {
        p.inputs["metadata"]["name"]
        for p in recorder.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == "gpu-operator"
    }
    assert {"default-deny-all", "allow-dns", "allow-kube-api", "allow-prometheus-scrape"} <= policies, policies
    assert ("allow-package-downloads" in policies) is downloads, (
        "the driver container fetches packages only when the operator installs the driver or toolkit"
    )


def test_the_gpu_operator_deployment_is_hardened_although_its_chart_has_no_value_for_it(run) -> None:
    values = chart_values(run_with_provider(run, lambda opts: GpuStack("nvidia", {}, opts=opts)), "gpu-operator")
    assert values["operator"]["resources"]["limits"]["memory"], "requests and a memory limit through values"
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "gpu-operator"},
        "spec": {"template": {"spec": {"containers": [{"name": "gpu-operator"}]}}},
    }
    transform = charts.gpu_operator_hardening_transform()
    result = transform(
        pulumi.ResourceTransformArgs(
            custom=True,
            type_="kubernetes:apps/v1:Deployment",
            name="nvidia-gpu-operator",
            props=deployment,
            opts=pulumi.ResourceOptions(),
        )
    )
    pod = result.props["spec"]["template"]["spec"]
    container = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]} and container["readOnlyRootFilesystem"] is True
