"""Karpenter: schema-valid NodePools and EC2NodeClasses that carry the GPU contract and never evict a busy GPU node."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pulumi
import pulumi_kubernetes as k8s
import pytest

from components._common import allocatable, gpu, pools, scheduling
from components._common.autoscaling import (
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
    PRIORITY_ON_DEMAND,
    PRIORITY_SPOT,
    ScaledPoolSpec,
)
from components.kubernetes import Karpenter, _chart_workloads, _values
from components.kubernetes import _charts as charts
from components.kubernetes.autoscaling import _manifests
from tests.components.kubernetes import karpenter_crds
from tests.components.kubernetes.helpers import chart, chart_values, objects_of_kind, run_with_provider

KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
NODE_ROLE = "ml-prod-karpenter-node"
PLATFORM_TAGS = {"environment": "prod", "managed-by": "pulumi-mlplatform", "data-owner": "platform-team"}


def gpu_pool(name: str = "a10g", *, spot: bool = True, workload: str | None = None, **overrides: Any) -> ScaledPoolSpec:
    """A GPU pool as the cloud layer plans it: the GPU contract's labels and taints (`gpu.py`), spot first."""
    spec: ScaledPoolSpec = {
        "name": f"gpu-{name}",
        "instance_types": ["g5.xlarge", "g5.2xlarge"],
        "capacity_types": ["spot", "on-demand"] if spot else ["on-demand"],
        "architecture": "amd64",
        "os_family": "al2023",
        "disk_size_gb": 200,
        "labels": gpu.gpu_pool_labels(name, "nvidia-a10g", workload=workload),
        "taints": [taint.kubernetes() for taint in gpu.gpu_pool_taints("aws", spot=spot, workload=workload)],
        "gpus_per_node": 1,
        "max_nodes": 4,
        "cpus_per_node": 8,
        "priority": PRIORITY_SPOT if spot else PRIORITY_ON_DEMAND,
    }
    spec.update(overrides)  # type: ignore[typeddict-item]
    return spec


def platform_pool(**overrides: Any) -> ScaledPoolSpec:
    """The CPU platform pool's burst capacity: untainted, labelled `mlplatform.io/pool-role: platform`."""
    spec: ScaledPoolSpec = {
        "name": "platform",
        "instance_types": ["m6i.xlarge"],
        "capacity_types": ["on-demand"],
        "architecture": "amd64",
        "os_family": "al2023",
        "disk_size_gb": 100,
        "labels": pools.platform_pool_labels(),
        "taints": [],
        "gpus_per_node": 0,
        "max_nodes": 3,
        "cpus_per_node": 4,
        "priority": 1,
        "zones": ["eu-central-1a", "eu-central-1b"],
    }
    spec.update(overrides)  # type: ignore[typeddict-item]
    return spec


def node_pool(spec: ScaledPoolSpec) -> dict[str, Any]:
    return _manifests.node_pool(
        spec, node_class_name=spec["name"], consolidate_after="10m", node_expiry="720h", drain_grace="24h"
    )


def node_class(os_family: str = "al2023", disk_size_gb: int = 200, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "os_family": os_family,
        "disk_size_gb": disk_size_gb,
        "node_role_name": NODE_ROLE,
        "kms_key_id": KEY_ARN,
        "discovery_tag_key": "karpenter.sh/discovery",
        "discovery_tag_value": "ml-prod",
        "tags": PLATFORM_TAGS,
    }
    arguments.update(overrides)
    return _manifests.ec2_node_class("gpu-a10g", **arguments)


def karpenter_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "cluster_name": "ml-prod",
        "interruption_queue_name": "ml-prod-karpenter",
        "node_role_name": NODE_ROLE,
        "node_volume_key_arn": KEY_ARN,
        "pools": [gpu_pool(), gpu_pool("h100", spot=False, workload=gpu.TRAINING_WORKLOAD), platform_pool()],
        "tags": PLATFORM_TAGS,
    }
    args.update(overrides)
    return args


def build(run, **overrides: Any):
    return run_with_provider(run, lambda opts: Karpenter("karpenter", karpenter_args(**overrides), opts=opts))


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def labels_and_taints(pool: dict[str, Any]) -> tuple[dict[str, str], list[gpu.Taint]]:
    """The labels and taints a node launched from `pool` carries (template labels plus the requirements' single
    values, as Karpenter labels its nodes; taints as the NodePool states them)."""
    template = pool["spec"]["template"]
    labels = dict(template["metadata"]["labels"])
    for requirement in template["spec"]["requirements"]:
        if requirement["operator"] == "In":
            labels.setdefault(requirement["key"], requirement["values"][0])
    labels[_values.KARPENTER_NODEPOOL_LABEL] = pool["metadata"]["name"]
    taints = [gpu.Taint(t["key"], t.get("value", ""), t["effect"]) for t in template["spec"]["taints"]]
    return labels, taints


# --- (a) Schema validity against our transcription of the v1.14.1 CRDs -------------------------------------


def test_the_transcribed_crd_schemas_are_valid_json_schemas() -> None:
    for schema in (karpenter_crds.NODE_POOL_SCHEMA, karpenter_crds.EC2_NODE_CLASS_SCHEMA):
        jsonschema.Draft202012Validator.check_schema(schema)


BUILT: dict[str, Any] = {
    "GPU spot pool": lambda: node_pool(gpu_pool()),
    "GPU on-demand training pool": lambda: node_pool(gpu_pool("h100", spot=False, workload=gpu.TRAINING_WORKLOAD)),
    "CPU platform pool with zones": lambda: node_pool(platform_pool()),
    "unweighted pool": lambda: node_pool(platform_pool(priority=0)),
    "AL2023 node class": lambda: node_class(),
    "Bottlerocket node class": lambda: node_class("bottlerocket", 300),
}


@pytest.mark.parametrize("case", sorted(BUILT))
def test_every_built_manifest_is_valid_against_the_v1_14_1_crd_schema_and_cel_rules(case: str) -> None:
    manifest = BUILT[case]()
    assert karpenter_crds.violations(manifest) == [], f"{case}: the API server would refuse or prune this object"


def test_every_manifest_the_component_registers_is_valid_against_the_crds(run) -> None:
    recorder = build(run)
    manifests = objects_of_kind(recorder, "NodePool") + objects_of_kind(recorder, "EC2NodeClass")
    assert len(manifests) == 6, "one NodePool and one EC2NodeClass per pool"
    for manifest in manifests:
        assert karpenter_crds.violations(manifest) == [], f"{manifest['kind']} {manifest['metadata']['name']}"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p["spec"].update(weight=0), "weight"),
        (lambda p: p["spec"]["disruption"].update(consolidateAfter="1d"), "consolidateAfter"),
        (lambda p: p["spec"]["template"]["spec"].update(terminationGracePeriod="Never"), "terminationGracePeriod"),
        (lambda p: p["spec"]["disruption"]["budgets"].append({"nodes": "110%"}), "nodes"),
        (lambda p: p["spec"]["disruption"].update(consolidationPolicy="Always"), "consolidationPolicy"),
        (lambda p: p["spec"]["template"]["spec"]["taints"].append({"key": "a", "effect": "NO_SCHEDULE"}), "effect"),
        (lambda p: p["spec"]["template"]["metadata"]["labels"].update({"karpenter.sh/nodepool": "x"}), "restricted"),
        (lambda p: p["spec"]["template"]["metadata"]["labels"].update({"kubernetes.io/hostname": "x"}), "restricted"),
        (lambda p: p["spec"]["template"]["metadata"]["labels"].update({"karpenter.k8s.aws/x": "y"}), "restricted"),
        (lambda p: p["spec"]["template"]["spec"]["requirements"].append({"key": "a", "operator": "In"}), "'In'"),
        (lambda p: p["spec"]["disruption"]["budgets"].append({"nodes": "1", "schedule": "@daily"}), "duration"),
        (lambda p: p["spec"]["template"]["spec"].update(kubelet={}), "kubelet"),
    ],
    ids=[
        "weight-0",
        "days",
        "grace-never",
        "budget-110%",
        "policy",
        "eks-effect",
        "nodepool-label",
        "hostname-label",
        "aws-label",
        "in-without-values",
        "schedule-without-duration",
        "unknown-field",
    ],
)
def test_the_transcribed_node_pool_schema_refuses_what_the_crd_refuses(mutate, expected: str) -> None:
    manifest = copy.deepcopy(node_pool(gpu_pool()))
    mutate(manifest)
    found = karpenter_crds.violations(manifest)
    assert any(expected in item for item in found), f"the v1.14.1 CRD refuses this; our schema found {found}"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c["spec"]["amiSelectorTerms"][0].update(id="ami-0123"), "mutually exclusive"),
        (lambda c: c["spec"]["amiSelectorTerms"].append({"id": "ami-0123"}), "other terms"),
        (lambda c: c["spec"]["amiSelectorTerms"][0].update(alias="ubuntu@latest"), "not supported"),
        (lambda c: c["spec"]["metadataOptions"].update(httpPutResponseHopLimit=0), "httpPutResponseHopLimit"),
        (lambda c: c["spec"].update(instanceProfile="x"), "exactly one"),
        (lambda c: c["spec"].update(subnetSelectorTerms=[]), "cannot be empty"),
        (lambda c: c["spec"]["tags"].update({"kubernetes.io/cluster/ml-prod": "owned"}), "restricted tag"),
        (lambda c: c["spec"]["blockDeviceMappings"][0]["ebs"].pop("volumeSize"), "volumeSize"),
        (lambda c: c["spec"]["blockDeviceMappings"][0]["ebs"].update(volumeSize="200GiB"), "volumeSize"),
        (lambda c: c["spec"].update(amiFamily="Bottlerocket"), "amiFamily"),
    ],
    ids=[
        "alias-and-id",
        "alias-not-alone",
        "family",
        "hop-0",
        "role-and-profile",
        "no-subnets",
        "cluster-tag",
        "no-size",
        "size-format",
        "family-mismatch",
    ],
)
def test_the_transcribed_node_class_schema_refuses_what_the_crd_refuses(mutate, expected: str) -> None:
    manifest = copy.deepcopy(node_class())
    mutate(manifest)
    found = karpenter_crds.violations(manifest)
    assert any(expected in item for item in found), f"the v1.14.1 CRD refuses this; our schema found {found}"


# --- (b) Behaviour: the GPU contract, limits, capacity, disruption -----------------------------------------


def test_a_gpu_node_pool_carries_the_gpu_contract_in_kubernetes_form() -> None:
    pool = node_pool(gpu_pool())
    template = pool["spec"]["template"]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in template["spec"]["taints"], (
        "the EKS GPU taint in Kubernetes form (NoSchedule, not the managed node group's NO_SCHEDULE)"
    )
    labels = template["metadata"]["labels"]
    assert labels[gpu.GPU_PRESENT_LABEL] == "true", "the device plugin and DCGM exporter select this label"
    assert labels[gpu.GPU_POOL_LABEL] == "a10g", "per-pool dashboards and placement key off the pool label"
    assert pool["metadata"]["name"] == "gpu-a10g", "the NodePool is named after the pool"


def test_gpu_serving_pods_tolerate_a_gpu_node_pool_and_cpu_pods_do_not() -> None:
    labels, taints = labels_and_taints(node_pool(gpu_pool()))
    serving_pod = {"tolerations": gpu.gpu_tolerations(), "affinity": gpu.serving_node_affinity(gpus=True)}
    assert scheduling.unschedulable_reasons(serving_pod, labels, taints) == [], (
        "a GPU serving pod must be admitted by the nodes Karpenter launches for it, or it stays pending forever"
    )
    cpu_pod: dict[str, Any] = {"tolerations": []}
    assert scheduling.unschedulable_reasons(cpu_pod, labels, taints), "a CPU pod must never land on a GPU node"
    agent = {"tolerations": gpu.gpu_agent_tolerations(taints), "nodeSelector": gpu.gpu_node_selector()}
    assert scheduling.unschedulable_reasons(agent, labels, taints) == [], "the GPU agents must reach the new nodes"


def test_serving_pods_never_land_on_or_grow_a_training_pool() -> None:
    labels, taints = labels_and_taints(node_pool(gpu_pool("h100", spot=False, workload=gpu.TRAINING_WORKLOAD)))
    serving_pod = {"tolerations": gpu.gpu_tolerations(), "affinity": gpu.serving_node_affinity(gpus=True)}
    assert scheduling.unschedulable_reasons(serving_pod, labels, taints), (
        "Karpenter provisions only for pods a NodePool admits: a serving pod must not be admitted by a training pool"
    )
    training_pod = {"tolerations": [*gpu.gpu_tolerations(), gpu.TRAINING_TAINT.toleration()],
                    "nodeSelector": {gpu.WORKLOAD_LABEL: gpu.TRAINING_WORKLOAD}}  # fmt: skip
    assert scheduling.unschedulable_reasons(training_pod, labels, taints) == [], "training pods must be admitted"


def test_limits_are_max_nodes_times_gpus_and_vcpus_per_node() -> None:
    limits = node_pool(gpu_pool(instance_types=["g5.12xlarge"], gpus_per_node=4, cpus_per_node=48))["spec"]["limits"]
    assert limits == {"cpu": "192", "nvidia.com/gpu": "16"}, "4 nodes x 4 GPUs, 4 nodes x 48 vCPUs, as strings"
    assert node_pool(platform_pool())["spec"]["limits"] == {"cpu": "12"}, "a CPU pool is capped by vCPUs alone"


def test_a_spot_pool_lists_spot_then_on_demand_so_karpenter_falls_back() -> None:
    requirements = {r["key"]: r for r in node_pool(gpu_pool())["spec"]["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == {
        "key": "karpenter.sh/capacity-type",
        "operator": "In",
        "values": ["spot", "on-demand"],
    }, "both allowed: Karpenter prefers spot and falls back to on-demand (concepts/nodepools.md)"
    assert requirements["node.kubernetes.io/instance-type"]["values"] == ["g5.xlarge", "g5.2xlarge"]
    assert requirements["kubernetes.io/arch"]["values"] == ["amd64"]
    assert requirements["kubernetes.io/os"]["values"] == ["linux"]
    assert "topology.kubernetes.io/zone" not in requirements, "no zones given: every zone of the cluster's subnets"
    zones = {r["key"]: r for r in node_pool(platform_pool())["spec"]["template"]["spec"]["requirements"]}
    assert zones["topology.kubernetes.io/zone"]["values"] == ["eu-central-1a", "eu-central-1b"]


def test_an_empty_gpu_node_is_consolidated_and_a_busy_one_never_is() -> None:
    disruption = node_pool(gpu_pool())["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmpty", (
        "only empty GPU nodes are consolidated; WhenEmptyOrUnderutilized would evict a running job to repack"
    )
    assert disruption["consolidateAfter"] == "10m", "an idle GPU node goes after consolidateAfter"
    assert {"nodes": "0", "reasons": ["Drifted"]} in disruption["budgets"], (
        "an AMI bump or node class change never drains a GPU node mid-job; it is replaced once empty or expired"
    )
    spec = node_pool(gpu_pool())["spec"]["template"]["spec"]
    assert (spec["expireAfter"], spec["terminationGracePeriod"]) == ("720h", "24h"), "expiry bounded by a drain grace"


def test_cpu_pools_are_repacked_one_node_at_a_time() -> None:
    disruption = node_pool(platform_pool())["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmptyOrUnderutilized", "CPU burst nodes are repacked"
    assert {"nodes": "1", "reasons": ["Underutilized", "Drifted"]} in disruption["budgets"], "one node at a time"


def test_pool_priority_becomes_the_node_pool_weight() -> None:
    assert node_pool(gpu_pool())["spec"]["weight"] == PRIORITY_SPOT, "spot pools are tried first"
    assert node_pool(gpu_pool(spot=False))["spec"]["weight"] == PRIORITY_ON_DEMAND
    assert "weight" not in node_pool(platform_pool(priority=0))["spec"], "the CRD takes 1..100; 0 means unweighted"


def test_node_classes_use_imdsv2_one_hop_encrypted_volumes_and_no_public_ip() -> None:
    spec = node_class()["spec"]
    assert spec["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpProtocolIPv6": "disabled",
        "httpPutResponseHopLimit": 1,
        "httpTokens": "required",
    }, "IMDSv2 only, one hop: pods cannot read the node role's credentials"
    assert spec["associatePublicIPAddress"] is False, "nodes live in private subnets, without public IPs"
    (root,) = spec["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda" and root["rootVolume"] is True
    assert root["ebs"] == {"volumeType": "gp3", "volumeSize": "200Gi", "encrypted": True, "kmsKeyID": KEY_ARN,
                           "deleteOnTermination": True}, "gp3 encrypted with the cluster key"  # fmt: skip
    assert spec["amiSelectorTerms"] == [{"alias": charts.EKS_AMI_ALIASES["al2023"]}], "the pinned AMI release"
    assert "@latest" not in charts.EKS_AMI_ALIASES["al2023"], "nodes change image only when we bump the pin"
    assert spec["role"] == NODE_ROLE
    discovery = [{"tags": {"karpenter.sh/discovery": "ml-prod"}}]
    assert spec["subnetSelectorTerms"] == discovery and spec["securityGroupSelectorTerms"] == discovery
    assert spec["tags"] == {**PLATFORM_TAGS, "node-pool": "gpu-a10g"}, "the platform's tags plus the pool, for cost"


def test_bottlerocket_nodes_get_a_small_os_volume_and_an_encrypted_data_volume_of_the_pool_size() -> None:
    spec = node_class("bottlerocket", 300)["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": charts.EKS_AMI_ALIASES["bottlerocket"]}]
    os_volume, data_volume = spec["blockDeviceMappings"]
    assert (os_volume["deviceName"], os_volume["ebs"]["volumeSize"]) == ("/dev/xvda", "4Gi")
    assert (data_volume["deviceName"], data_volume["ebs"]["volumeSize"]) == ("/dev/xvdb", "300Gi")
    assert data_volume["rootVolume"] is True, "the kubelet's root (images, containers) is the data volume"
    for volume in (os_volume, data_volume):
        assert volume["ebs"]["encrypted"] is True and volume["ebs"]["kmsKeyID"] == KEY_ARN, "both volumes encrypted"


# --- The controller: placement, size, values keys -----------------------------------------------------------


def controller_pod() -> dict[str, Any]:
    values = _values.karpenter_values(cluster_name="ml-prod", interruption_queue="ml-prod-karpenter")
    (workload,) = _chart_workloads.karpenter_workloads("karpenter", KARPENTER_NAMESPACE, values)
    return workload.pod_spec


def test_the_controller_schedules_only_on_the_platform_pool_and_never_on_a_karpenter_node() -> None:
    pod = controller_pod()
    platform_node = {**pools.platform_pool_labels(), "kubernetes.io/os": "linux"}
    assert scheduling.unschedulable_reasons(pod, platform_node, []) == [], "the platform node group runs it"
    karpenter_node, _ = labels_and_taints(node_pool(platform_pool()))
    karpenter_node["kubernetes.io/os"] = "linux"
    assert not scheduling.node_affinity_admits(pod, karpenter_node), (
        "a controller on a node it manages could consolidate its own node away"
    )
    gpu_labels, gpu_taints = labels_and_taints(node_pool(gpu_pool()))
    assert scheduling.unschedulable_reasons(pod, {**gpu_labels, "kubernetes.io/os": "linux"}, gpu_taints)
    assert not scheduling.node_affinity_admits(pod, {"kubernetes.io/os": "linux"}), "an unlabelled pool is not ours"


def test_the_controller_fits_a_platform_node_with_guaranteed_resources() -> None:
    (container,) = controller_pod()["containers"]
    resources = container["resources"]
    assert resources["requests"] == resources["limits"], "Guaranteed QoS: the last pod to be squeezed out"
    node = allocatable.node_size("aws", "m6i.xlarge")  # the platform pool's default instance type
    assert node is not None
    cpu_millis = int(float(resources["requests"]["cpu"]) * 1000)
    memory = int(resources["requests"]["memory"].removesuffix("Gi")) * allocatable.GIB
    assert cpu_millis <= node.cpu_allocatable_millis and memory <= node.memory_allocatable_bytes, (
        "the controller must fit one platform node beside the system pods"
    )


def test_the_controller_runs_non_root_read_only_without_capabilities_two_replicas_spread() -> None:
    values = _values.karpenter_values(cluster_name="c", interruption_queue="q")
    pod = controller_pod()
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
    assert values["replicas"] == 2 and values["podDisruptionBudget"]["maxUnavailable"] == 1, "one may go at a time"
    assert values["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert values["priorityClassName"] == "system-cluster-critical"
    assert values["serviceAccount"] == {"create": True, "name": KARPENTER_SERVICE_ACCOUNT, "annotations": {}}, (
        "EKS Pod Identity binds the role by service account name; an IRSA annotation would be a second path"
    )


def _leaf_paths(values: Any, prefix: str = "") -> set[str]:
    if isinstance(values, dict) and values:
        return {path for key, value in values.items() for path in _leaf_paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_every_values_key_the_builder_sets_was_checked_in_the_pinned_chart() -> None:
    values = _values.karpenter_values(
        cluster_name="c",
        interruption_queue="q",
        cluster_endpoint="https://example.eks.amazonaws.com",
        service_monitor=True,
        service_monitor_labels={"release": "monitoring"},
    )
    checked = _values.KARPENTER_VALUES_KEYS
    unchecked = [
        path for path in _leaf_paths(values) if not any(path == key or path.startswith(f"{key}.") for key in checked)
    ]
    assert not unchecked, (
        f"read these keys in charts/karpenter/values.yaml@v{charts.KARPENTER.version} first: {unchecked}"
    )
    assert charts.KARPENTER.version == _chart_workloads.TABLE_VERSIONS["karpenter"], "keys were read at the pin"


def test_the_service_monitor_is_off_unless_asked_and_carries_the_prometheus_labels() -> None:
    assert _values.karpenter_values(cluster_name="c", interruption_queue="q")["serviceMonitor"]["enabled"] is False
    monitor = _values.karpenter_values(
        cluster_name="c", interruption_queue="q", service_monitor=True, service_monitor_labels={"release": "m"}
    )["serviceMonitor"]
    assert monitor == {"enabled": True, "additionalLabels": {"release": "m"}}


# --- The component under mocks ------------------------------------------------------------------------------


def test_the_component_installs_the_crd_chart_then_the_controller_from_the_oci_pins(run) -> None:
    recorder = build(run)
    crds = chart(recorder, "oci://public.ecr.aws/karpenter/karpenter-crd")
    controller = chart(recorder, "oci://public.ecr.aws/karpenter/karpenter")
    assert crds.inputs["version"] == controller.inputs["version"] == "1.14.1", "one pin for both"
    assert "repositoryOpts" not in controller.inputs, "an OCI chart is addressed by its reference alone"
    assert controller.inputs.get("skipCrds") is True, "the CRDs come from karpenter-crd, which Pulumi upgrades"
    assert not crds.inputs.get("skipCrds"), "the CRD chart's CRDs are its templates"
    assert controller.inputs["namespace"] == KARPENTER_NAMESPACE, "the Pod Identity association names kube-system"
    assert crds.urn in controller.dependencies, "the controller renders after its CRDs, through an output"
    values = chart_values(recorder, "oci://public.ecr.aws/karpenter/karpenter")
    assert values["settings"] == {"clusterName": "ml-prod", "interruptionQueue": "ml-prod-karpenter"}


def test_node_pools_follow_their_node_class_and_the_controller(run) -> None:
    recorder = build(run)
    controller = chart(recorder, "oci://public.ecr.aws/karpenter/karpenter")
    classes = {
        r.inputs["metadata"]["name"]: r for r in recorder.by_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    }
    for registration in recorder.by_type("kubernetes:karpenter.sh/v1:NodePool"):
        name = registration.inputs["metadata"]["name"]
        assert registration.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"] == name, "one class per pool"
        assert classes[name].urn in registration.dependencies, "created after its class, deleted before it"
        assert controller.urn in registration.dependencies, (
            "NodePool finalizers need the controller: destroy must delete them while it runs"
        )
    for registration in classes.values():
        assert controller.urn in registration.dependencies, "EC2NodeClass finalizers need the controller too"


def test_the_controller_waits_for_the_pod_identity_association(run) -> None:
    def program(opts: pulumi.ResourceOptions) -> None:
        association = k8s.core.v1.ConfigMap("stand-in-association", opts=opts)
        Karpenter("karpenter", karpenter_args(controller_identity=association.id), opts=opts)

    recorder = run_with_provider(run, program)
    (association,) = recorder.by_type("kubernetes:core/v1:ConfigMap")
    controller = chart(recorder, "oci://public.ecr.aws/karpenter/karpenter")
    assert association.urn in controller.dependencies, "the controller's first start must already have credentials"


def test_the_component_outputs_the_node_pool_and_node_class_names(run) -> None:
    recorder = build(run)
    (component,) = recorder.by_type("mlplatform:index:Karpenter")
    names = ["gpu-a10g", "gpu-h100", "platform"]
    assert component.outputs["nodePoolNames"] == names and component.outputs["nodeClassNames"] == names


def test_the_cluster_layers_outputs_reach_the_chart_and_the_node_classes(run) -> None:
    # The shape AwsGpuCluster hands over: one output of plain values, each usable once what it names exists.
    facts = {
        "clusterName": "ml-prod",
        "interruptionQueueName": "ml-prod-karpenter",
        "nodeRoleName": NODE_ROLE,
        "nodeVolumeKeyArn": KEY_ARN,
        "discoveryTag": {"key": "mlplatform.io/karpenter-discovery", "value": "ml-prod-nodes"},
    }

    def program(opts: pulumi.ResourceOptions) -> None:
        cluster = pulumi.Output.from_input(facts)
        Karpenter(
            "karpenter",
            karpenter_args(
                cluster_name=cluster.apply(lambda c: c["clusterName"]),
                interruption_queue_name=cluster.apply(lambda c: c["interruptionQueueName"]),
                node_role_name=cluster.apply(lambda c: c["nodeRoleName"]),
                node_volume_key_arn=cluster.apply(lambda c: c["nodeVolumeKeyArn"]),
                discovery_tag_key=cluster.apply(lambda c: c["discoveryTag"]["key"]),
                discovery_tag_value=cluster.apply(lambda c: c["discoveryTag"]["value"]),
                tags=pulumi.Output.from_input(PLATFORM_TAGS),
            ),
            opts=opts,
        )

    recorder = run_with_provider(run, program)
    assert chart_values(recorder, "oci://public.ecr.aws/karpenter/karpenter")["settings"]["clusterName"] == "ml-prod"
    discovery = [{"tags": {"mlplatform.io/karpenter-discovery": "ml-prod-nodes"}}]
    for manifest in objects_of_kind(recorder, "EC2NodeClass"):
        assert manifest["spec"]["role"] == NODE_ROLE
        assert manifest["spec"]["tags"]["environment"] == "prod", "tags may be an output of the foundation"
        assert manifest["spec"]["subnetSelectorTerms"] == discovery, "subnets by the cluster's discovery tag"
        assert manifest["spec"]["securityGroupSelectorTerms"] == discovery, "security groups by the same tag"
        assert karpenter_crds.violations(manifest) == [], "valid once the outputs resolve"


def test_the_discovery_tag_value_defaults_to_the_cluster_name(run) -> None:
    for manifest in objects_of_kind(build(run), "EC2NodeClass"):
        assert manifest["spec"]["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "ml-prod"}}]


def test_bad_arguments_are_reported_together_with_their_paths_before_anything_registers(run, recorder) -> None:
    broken_gpu = gpu_pool(taints=[], max_nodes=0, labels={"karpenter.sh/nodepool": "x"})
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: Karpenter(
                "karpenter",
                karpenter_args(
                    pools=[broken_gpu, platform_pool(name="Platform", disk_size_gb=0), platform_pool(name="gpu-a10g")],
                    consolidate_after="1d",
                    drain_grace="Never",
                    tags={"kubernetes.io/cluster/ml-prod": "owned"},
                    node_volume_key_arn="",
                    log_level="verbose",
                ),
            )
        )
    errors = errors_of(raised)
    expected = {
        "pools[0].taints",
        "pools[0].maxNodes",
        "pools[0].labels.karpenter.sh/nodepool",
        "pools[0].labels",
        "pools[1].name",
        "pools[1].diskSizeGb",
        "pools[2].name",
        "consolidateAfter",
        "drainGrace",
        "tags.kubernetes.io/cluster/ml-prod",
        "nodeVolumeKeyArn",
        "logLevel",
    }
    assert expected <= set(errors), f"every problem named at once: {errors}"
    assert "no days" in errors["consolidateAfter"], "Karpenter durations have no day unit"
    created = [r.type for r in recorder.registrations if r.type != "pulumi:pulumi:Stack"]
    assert not created, "nothing is created when the arguments are wrong"


def test_an_empty_pool_list_is_refused(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: Karpenter("karpenter", karpenter_args(pools=[])))
    assert "pools" in errors_of(raised), "a Karpenter with no NodePool launches nothing"
