"""AwsGpuCluster with EFA pools: EFA interfaces on every network card, a cluster placement group, one zone, a
self-referencing security group, refused on instance types without EFA."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components._common import gpu
from components.aws import AwsGpuCluster, AwsGpuClusterArgs
from components.aws.gpu_cluster import efa_network_interfaces, planned_karpenter_pools
from stacks import synth
from stacks.synth import RecordingMonitor, run_program

from ._support import SUBNETS, ZONE_SUBNETS, error_paths, nothing_registered

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
PLACEMENT_GROUP = "aws:ec2/placementGroup:PlacementGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GET_INSTANCE_TYPE = "aws:ec2/getInstanceType:getInstanceType"

H100_EFA = {
    "name": "h100",
    "instance_types": ["p5.48xlarge"],
    "min_size": 2,
    "max_size": 4,
    "zones": ["eu-central-1a"],
    "efa": True,
}
P5_NETWORK_CARDS = 32
"""p5.48xlarge: 32 network cards (EC2 DescribeInstanceTypes `NetworkInfo.MaximumNetworkCards`)."""


@pytest.fixture
def ec2_instance_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """DescribeInstanceTypes as EC2 answers it for the types used here."""
    cards = {"p5.48xlarge": P5_NETWORK_CARDS, "p4d.24xlarge": 4, "g6e.12xlarge": 1}
    monkeypatch.setitem(
        synth._CALL_RESULTS,
        GET_INSTANCE_TYPE,
        lambda args: {"instanceType": args["instanceType"], "maximumNetworkCards": cards[args["instanceType"]]},
    )


def _cluster(run, *pools: dict[str, Any]) -> RecordingMonitor:
    args: AwsGpuClusterArgs = {
        "subnet_ids": SUBNETS,
        "node_subnet_ids_by_zone": ZONE_SUBNETS,
        "cluster_name": "ml-test",
        "gpu_node_pools": list(pools),  # type: ignore[typeddict-item]
    }
    return run(lambda: AwsGpuCluster("gpu", args))


def _refused(recorder: RecordingMonitor, *pools: dict[str, Any]) -> pulumi.InputPropertiesError:
    args = {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS, "gpu_node_pools": list(pools)}
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsGpuCluster("gpu", args))  # type: ignore[arg-type]
    assert nothing_registered(recorder), "validation must fail before any resource exists"
    return error.value


# --- The warm node group's launch template ------------------------------------------------------------------


def test_an_efa_pool_launches_with_one_efa_interface_per_network_card(run, ec2_instance_types) -> None:
    recorder = _cluster(run, H100_EFA)
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-gpu-h100-launch-template").inputs
    interfaces = template["networkInterfaces"]
    assert len(interfaces) == P5_NETWORK_CARDS, "all 32 EFA interfaces of a p5.48xlarge: its full 3200 Gbps"
    assert [i["networkCardIndex"] for i in interfaces] == list(range(P5_NETWORK_CARDS))
    assert all(i["interfaceType"] == "efa" for i in interfaces), "every card carries an EFA"
    assert interfaces[0]["deviceIndex"] == 0, "the primary interface is card 0, device 0"
    assert {i["deviceIndex"] for i in interfaces[1:]} == {1}, "AWS puts the other cards' EFAs at device index 1"
    assert all(i["associatePublicIpAddress"] == "false" for i in interfaces), "still no public IPs"
    efa_group = recorder.one(SECURITY_GROUP, "gpu-efa")
    for interface in interfaces:
        assert len(interface["securityGroups"]) == 2, "the cluster group (control plane) and the EFA group"
        assert interface["securityGroups"][1] == f"{efa_group.name}-id", "EFA traffic needs the self-referencing group"


def test_an_efa_pool_keeps_imdsv2_encryption_taints_and_labels(run, ec2_instance_types) -> None:
    recorder = _cluster(run, H100_EFA)
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-gpu-h100-launch-template").inputs
    assert template["metadataOptions"]["httpTokens"] == "required", "IMDSv2 stays required on EFA nodes"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert all(m["ebs"]["encrypted"] == "true" for m in template["blockDeviceMappings"]), "volumes stay encrypted"
    group = recorder.one(NODE_GROUP, "gpu-gpu-h100").inputs
    assert group["labels"][gpu.EFA_PRESENT_LABEL] == "true", "the EFA device plugin selects this label"
    assert group["labels"][gpu.GPU_POOL_LABEL] == "h100", "the GPU contract's labels stay"
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in group["taints"], "GPU taint stays"


def test_an_efa_pool_launches_into_its_own_cluster_placement_group_in_one_zone(run, ec2_instance_types) -> None:
    recorder = _cluster(run, H100_EFA)
    (placement,) = recorder.by_type(PLACEMENT_GROUP)
    assert placement.inputs["strategy"] == "cluster", "low latency between the pool's instances (one AZ)"
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-gpu-h100-launch-template")
    assert template.property_dependencies["placement"] == [placement.urn], "the template names the group"
    group = recorder.one(NODE_GROUP, "gpu-gpu-h100").inputs
    assert group["subnetIds"] == [ZONE_SUBNETS["eu-central-1a"]], "the warm nodes stay in the pool's one zone"


def test_the_efa_security_group_allows_all_traffic_to_and_from_itself_and_nothing_else(run, ec2_instance_types) -> None:
    recorder = _cluster(run, H100_EFA)
    group = recorder.one(SECURITY_GROUP, "gpu-efa")
    assert "ingress" not in group.inputs and "egress" not in group.inputs, "no inline rules besides the two below"
    group_id = f"{group.name}-id"
    rules = [*recorder.by_type(INGRESS_RULE), *recorder.by_type(EGRESS_RULE)]
    efa_rules = [rule.inputs for rule in rules if rule.inputs.get("securityGroupId") == group_id]
    assert len(efa_rules) == 2, "one ingress, one egress rule (AWS EFA requirement)"
    for rule in efa_rules:
        assert rule["referencedSecurityGroupId"] == group_id, "to and from the group itself, no CIDR"
        assert rule["ipProtocol"] == "-1", "all protocols and ports: EFA's SRD traffic is not TCP"
        assert "cidrIpv4" not in rule
    assert group.inputs["tags"]["karpenter.sh/discovery"] == "ml-test", "Karpenter's EFA nodes join the group too"


def test_without_efa_pools_there_is_no_efa_group_placement_group_or_output(run) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.12xlarge"], "min_size": 1}
    recorder = _cluster(run, pool)
    assert recorder.by_type(SECURITY_GROUP) == [] and recorder.by_type(PLACEMENT_GROUP) == []
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-gpu-a10g-launch-template").inputs
    assert [i.get("interfaceType") for i in template["networkInterfaces"]] == [None], "one plain interface"
    assert gpu.EFA_PRESENT_LABEL not in recorder.one(NODE_GROUP, "gpu-gpu-a10g").inputs["labels"]
    assert recorder.one("mlplatform:index:AwsGpuCluster").outputs["efaPools"] == {}


def test_the_efa_pools_output_names_the_zone_placement_group_and_security_group(run, ec2_instance_types) -> None:
    recorder = _cluster(run, H100_EFA)
    (placement,) = recorder.by_type(PLACEMENT_GROUP)
    output = recorder.one("mlplatform:index:AwsGpuCluster").outputs["efaPools"]
    assert output["h100"]["zone"] == "eu-central-1a"
    assert output["h100"]["placementGroupName"] == "ml-test-h100-efa", "for the EC2NodeClass placementGroupSelector"
    assert output["h100"]["securityGroupId"] == f"{recorder.one(SECURITY_GROUP, 'gpu-efa').name}-id"
    assert output["h100"]["nodeLabels"] == {gpu.EFA_PRESENT_LABEL: "true"}
    assert placement.name == "gpu-gpu-h100-placement"


def test_a_scale_from_zero_efa_pool_still_gets_its_placement_group_and_one_zone_for_karpenter(run) -> None:
    pool = {**H100_EFA, "min_size": 0}
    recorder = _cluster(run, pool)
    assert recorder.by_type(NODE_GROUP) != [] and "gpu-gpu-h100" not in [g.name for g in recorder.by_type(NODE_GROUP)]
    assert len(recorder.by_type(PLACEMENT_GROUP)) == 1, "Karpenter's nodes of the pool can select it"
    args = {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS, "gpu_node_pools": [pool]}
    (spec,) = [spec for spec in planned_karpenter_pools(args) if spec["name"] == "h100"]  # type: ignore[arg-type]
    assert spec["zones"] == ["eu-central-1a"], "Karpenter launches the pool's nodes in its one zone only"
    assert spec["labels"][gpu.EFA_PRESENT_LABEL] == "true", "Karpenter's nodes get the device plugin too"


# --- Refusals ------------------------------------------------------------------------------------------------


def test_an_instance_type_without_efa_is_refused_naming_the_field_and_the_efa_sizes(recorder) -> None:
    error = _refused(recorder, {**H100_EFA, "name": "l4", "instance_types": ["g6.xlarge"]})
    assert error_paths(error) == ["gpuNodePools[0].instanceTypes[0]"]
    reason = error.errors[0]["reason"]
    assert "does not support EFA" in reason and "g6.8xlarge" in reason, "the fix names the family's EFA sizes"
    assert "efa: false" in reason


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"zones": None}, "gpuNodePools[0].zones"),
        ({"zones": ["eu-central-1a", "eu-central-1b"]}, "gpuNodePools[0].zones"),
        ({"zones": None, "subnet_ids": ["subnet-a"]}, "gpuNodePools[0].subnetIds"),
        ({"instance_types": ["p5.48xlarge", "p5e.48xlarge"]}, "gpuNodePools[0].instanceTypes"),
        ({"efa": "yes"}, "gpuNodePools[0].efa"),
    ],
    ids=["no-zone", "two-zones", "subnets", "two-types", "not-a-bool"],
)
def test_an_efa_pool_needs_one_zone_and_one_instance_type(recorder, change: dict[str, Any], path: str) -> None:
    pool = {key: value for key, value in {**H100_EFA, **change}.items() if value is not None}
    assert path in error_paths(_refused(recorder, pool))


def test_the_efa_label_cannot_be_set_by_hand(recorder) -> None:
    pool = {"name": "l4", "instance_types": ["g6.xlarge"], "labels": {gpu.EFA_PRESENT_LABEL: "true"}}
    assert error_paths(_refused(recorder, pool)) == [f'gpuNodePools[0].labels["{gpu.EFA_PRESENT_LABEL}"]'], (
        "a node without EFA interfaces must not attract the device plugin and EFA jobs"
    )


# --- Pure facts ----------------------------------------------------------------------------------------------


def test_efa_interfaces_cover_every_card_with_the_primary_on_device_zero() -> None:
    interfaces = efa_network_interfaces(4, ["sg-cluster", "sg-efa"])
    assert [(i["network_card_index"], i["device_index"]) for i in interfaces] == [(0, 0), (1, 1), (2, 1), (3, 1)]
    assert efa_network_interfaces(0, ["sg"])[0]["network_card_index"] == 0, "an unknown count keeps the primary"


def test_every_efa_instance_type_is_a_known_nvidia_gpu_type() -> None:
    for instance_type in gpu.AWS_EFA_GPU_INSTANCE_TYPES:
        assert gpu.aws_gpu_instance(instance_type) is not None, f"{instance_type} must be in the GPU catalog"
    assert gpu.aws_efa_device_rdma("p5.48xlarge") and gpu.aws_efa_device_rdma("p4d.24xlarge")
    assert not gpu.aws_efa_device_rdma("g6e.12xlarge"), "no RDMA read on G6e: libfabric would refuse the setting"
    assert not gpu.aws_efa_supported("p5.4xlarge".replace("4x", "2x")), "a size outside the table has no EFA"
