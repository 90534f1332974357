"""Autoscaling of the shipped stacks: what grows each pool, within which bounds, and what waits for what.

Issue 17: EKS pools used to carry cluster-autoscaler tags with no autoscaler installed, so dev's GPU pool (0 -> 4)
never got a node. Now Karpenter grows every EKS pool above its fixed node groups, the AKS autoscaler is tuned for
GPU pools, and model servers scale through KEDA.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components._common import gpu, pools
from stacks.config import PlatformConfig
from stacks.load import platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT, Registration, Synthesis, synthesize, synthesize_whole
from tests.components.kubernetes import karpenter_crds
from tests.components.kubernetes.helpers import manifest

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CHART = "kubernetes:helm.sh/v4:Chart"


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize("dev")


@pytest.fixture(scope="module")
def prod_cluster() -> Synthesis:
    return synthesize("prod-cluster")


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize("prod")


def _config(stack: str) -> PlatformConfig:
    return platform_config_from_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")


def _node_pools(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in synthesis.monitor.by_type(NODE_POOL)}


def _depends_transitively(synthesis: Synthesis, registration: Registration, type_token: str) -> bool:
    seen: set[str] = set()
    pending = [registration]
    while pending:
        current = pending.pop()
        waits = set(current.dependencies) | {u for urns in current.property_dependencies.values() for u in urns}
        if current.parent:
            waits.add(current.parent)
        for urn in waits - seen:
            seen.add(urn)
            found = synthesis.monitor.by_urn(urn)
            if found.type == type_token:
                return True
            pending.append(found)
    return False


def test_dev_s_spot_gpu_pool_scales_from_zero_to_four_through_karpenter(dev: Synthesis) -> None:
    groups = [r.name for r in dev.monitor.by_type(NODE_GROUP)]
    assert not any("a10g" in group for group in groups), f"minSize 0: no node group waits idle for GPUs ({groups})"
    spec = _node_pools(dev)["a10g"]
    assert spec["limits"]["nvidia.com/gpu"] == "4", "maxSize 4 of one-GPU g5 nodes: four GPUs, then Karpenter stops"
    requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["spot", "on-demand"], (
        "dev's preset is spot; onDemandFallback lets Karpenter launch on demand when spot has no capacity"
    )
    assert spec.get("weight") == 20, "a spot pool is preferred over on-demand ones"
    taints = spec["template"]["spec"]["taints"]
    assert gpu.NVIDIA_GPU_TAINT.kubernetes() in [{k: t[k] for k in ("key", "value", "effect")} for t in taints], (
        "the GPU contract's taint, so only GPU pods make Karpenter launch a GPU node"
    )
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmpty", "a node running a job is never repacked"
    assert spec["disruption"]["consolidateAfter"] == "10m", "cluster.autoscaling.scaleDownAfterMinutes' default"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_eks_pool_with_room_above_its_fixed_groups_gets_a_node_pool_bounded_by_its_max_size(stack: str) -> None:
    config = _config(stack)
    synthesis = synthesize_whole(stack)
    node_pools = _node_pools(synthesis)
    platform = config.cluster.platform_pool
    zones = len(config.target.zones or [])  # type: ignore[union-attr]
    expected = {"platform"} if (platform.max_size_per_zone or 1) > (platform.min_size_per_zone or 1) else set()
    expected |= {pool.name for pool in config.cluster.gpu_pools if pool.max_size > pool.min_size}
    assert set(node_pools) == expected, f"{stack}: one NodePool per pool Karpenter may grow"
    for pool in config.cluster.gpu_pools:
        if pool.name not in node_pools:
            continue
        per_node = gpu.aws_gpu_instance(pool.instance_types[0]).gpus  # type: ignore[union-attr]
        assert node_pools[pool.name]["limits"]["nvidia.com/gpu"] == str((pool.max_size - pool.min_size) * per_node), (
            f"{stack}/{pool.name}: the fixed group runs minSize nodes; Karpenter adds at most maxSize - minSize"
        )
    if "platform" in node_pools:
        labels = node_pools["platform"]["template"]["metadata"]["labels"]
        assert labels[pools.POOL_ROLE_LABEL] == pools.PLATFORM_POOL_ROLE, "platform pods select these nodes too"
        groups = [r for r in synthesis.monitor.by_type(NODE_GROUP) if "platform" in r.name]
        assert len(groups) == zones, "one fixed platform node group per zone keeps zonal volumes reachable"


def test_node_groups_have_a_fixed_size_so_raising_min_size_is_an_in_place_update(prod: Synthesis) -> None:
    for group in prod.monitor.by_type(NODE_GROUP):
        scaling = group.inputs["scalingConfig"]
        assert scaling["minSize"] == scaling["maxSize"] == scaling["desiredSize"], (
            f"{group.name}: nothing else owns the count (review M2: a frozen desiredSize refused a larger minSize)"
        )
        assert not any(key.startswith("k8s.io/cluster-autoscaler") for key in group.inputs.get("tags") or {}), (
            f"{group.name}: no tags for an autoscaler that is not installed"
        )


def test_karpenter_nodes_are_encrypted_with_the_cluster_key_and_join_through_the_discovery_tag(dev: Synthesis) -> None:
    key_arn = dev.outputs["clusterKmsKeyArn"]
    for node_class in dev.monitor.by_type(NODE_CLASS):
        spec = node_class.inputs["spec"]
        for mapping in spec["blockDeviceMappings"]:
            assert mapping["ebs"]["encrypted"] is True and mapping["ebs"]["kmsKeyID"] == key_arn, (
                f"{node_class.name}: the cluster's customer-managed key, as the node groups' launch templates"
            )
        assert (
            spec["metadataOptions"]["httpTokens"] == "required"
            and spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
        )
        tagged = {
            r.inputs["resourceId"]
            for r in dev.monitor.by_type("aws:ec2/tag:Tag")
            if r.inputs["key"] == "karpenter.sh/discovery"
        }
        for term in spec["subnetSelectorTerms"] + spec["securityGroupSelectorTerms"]:
            assert term["tags"] == {"karpenter.sh/discovery": dev.monitor.one("aws:eks/cluster:Cluster").inputs["name"]}
        assert len(tagged) >= 3, "every node subnet (two zones in dev) and the cluster security group carry the tag"


def test_the_controller_starts_only_once_its_pod_identity_and_the_crds_exist(dev: Synthesis) -> None:
    controller = next(r for r in dev.monitor.by_type(CHART) if r.inputs.get("chart", "").endswith("/karpenter"))
    assert _depends_transitively(dev, controller, "aws:eks/podIdentityAssociation:PodIdentityAssociation"), (
        "without its association the controller has no AWS credentials and crash-loops"
    )
    crds = next(r for r in dev.monitor.by_type(CHART) if r.inputs.get("chart", "").endswith("/karpenter-crd"))
    assert crds.urn in controller.dependencies or any(
        crds.urn in urns for urns in controller.property_dependencies.values()
    )


def test_a_cluster_layer_registers_the_node_pools_its_foundation_exports(
    prod: Synthesis, prod_cluster: Synthesis
) -> None:
    exported = prod.outputs["karpenterPools"]
    derived = _node_pools(prod_cluster)
    assert sorted(pool["name"] for pool in exported) == sorted(derived), (
        "the layer derives the pools from the foundation's stack file; they must be the ones the foundation plans"
    )
    for pool in exported:
        assert derived[pool["name"]]["template"]["metadata"]["labels"] == pool["labels"]


def test_keda_is_installed_where_models_scale_and_metrics_server_only_where_the_cloud_lacks_one() -> None:
    for stack, metrics_server in (
        ("dev", True),
        ("prod-cluster", True),
        ("azure-prod-cluster", False),
        ("local", False),
    ):
        synthesis = synthesize(stack)
        charts = {str(r.inputs.get("chart")) for r in synthesis.monitor.by_type(CHART)}
        assert "keda" in charts, f"{stack}: ModelDeployment(autoscaling=...) scales through KEDA"
        assert ("metrics-server" in charts) == metrics_server, f"{stack}: metrics-server {metrics_server}"


def _project_with(tmp_path: Path, stack: str, change: dict[str, Any]) -> Path:
    for path in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    file = tmp_path / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(file.read_text())
    document["config"]["mlplatform:platform"]["cluster"].update(change)
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    return tmp_path


def test_aks_with_the_priority_expander_gets_its_config_map_in_the_cluster_layer(tmp_path: Path) -> None:
    project = _project_with(tmp_path, "azure-prod", {"autoscaling": {"expander": "priority"}})
    foundation = synthesize("azure-prod", project, program=PROJECT_ROOT / "__main__.py")
    cluster = foundation.monitor.one("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["autoScalerProfile"]["expander"] == "priority"
    layer = synthesize("azure-prod-cluster", project, program=PROJECT_ROOT / "__main__.py")
    (config_map,) = [
        r for r in layer.monitor.by_type("kubernetes:core/v1:ConfigMap") if r.name.startswith("autoscaler")
    ]
    priorities = yaml.safe_load(config_map.inputs["data"]["priorities"])
    assert priorities[10] == ["^aks-t4serve-[0-9]+-vmss$", "^aks-a100train-[0-9]+-vmss$"], (
        f"both prod pools are on-demand (priority 10), each matched by its own scale set only: {priorities}"
    )
    assert ".*" in priorities[1], "every other pool stays growable"
    default = synthesize("azure-prod-cluster")
    assert not [
        r for r in default.monitor.by_type("kubernetes:core/v1:ConfigMap") if r.name.startswith("autoscaler")
    ], "with least-waste nothing reads the ConfigMap, so none is created"


@pytest.mark.parametrize("stack", ["dev", "prod-cluster"])
def test_every_node_pool_and_node_class_of_the_aws_stacks_is_valid_for_the_pinned_karpenter_crds(stack: str) -> None:
    synthesis = synthesize(stack)
    objects = [*synthesis.monitor.by_type(NODE_POOL), *synthesis.monitor.by_type(NODE_CLASS)]
    assert objects, f"{stack} grows its pools through Karpenter"
    for registration in objects:
        problems = karpenter_crds.violations(manifest(registration))
        assert problems == [], f"{stack}/{registration.name}: the v1.14.1 CRDs would refuse it: {problems}"
