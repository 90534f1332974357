"""AwsNetwork: private node subnets, NAT egress, a closed default security group and encrypted flow logs."""

from __future__ import annotations

import ipaddress
import json

import pulumi
import pytest

from components.aws import AwsNetwork, AwsNetworkArgs
from components.aws.network import subnet_layout
from stacks.synth import run_program

from ._support import error_paths, nothing_registered

ZONES = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]


def _network(run, **overrides):
    args: AwsNetworkArgs = {"availability_zones": ZONES, **overrides}  # type: ignore[typeddict-item]
    return run(lambda: AwsNetwork("net", args))


def test_the_subnet_layout_gives_each_zone_disjoint_private_and_public_ranges_inside_the_vpc() -> None:
    plans = subnet_layout("10.0.0.0/16", ZONES)
    ranges = [ipaddress.ip_network(cidr) for plan in plans for cidr in (plan.private_cidr, plan.public_cidr)]
    vpc = ipaddress.ip_network("10.0.0.0/16")
    assert all(network.subnet_of(vpc) for network in ranges), "every subnet lies inside the VPC"
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :]), "subnets never overlap"
    assert ipaddress.ip_network(plans[0].private_cidr).num_addresses == 8192, "private /19s leave room for pod IPs"
    assert ipaddress.ip_network(plans[0].public_cidr).num_addresses == 1024, "public subnets stay small"


def test_the_default_security_group_is_closed(run) -> None:
    recorder = _network(run)
    group = recorder.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs["ingress"] == [] and group.inputs["egress"] == [], (
        "the default security group must allow nothing, so nothing can fall back to it (CIS 5.4)"
    )


def test_nodes_get_private_subnets_tagged_for_internal_load_balancers(run) -> None:
    recorder = _network(run)
    subnets = recorder.by_type("aws:ec2/subnet:Subnet")
    private = [subnet for subnet in subnets if "-private-" in subnet.name]
    public = [subnet for subnet in subnets if "-public-" in subnet.name]
    assert len(private) == len(public) == len(ZONES), "one private and one public subnet per zone"
    assert all(subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for subnet in private)
    assert all(subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1" for subnet in public)
    assert all(subnet.inputs["mapPublicIpOnLaunch"] is False for subnet in subnets), (
        "no subnet hands out public IPs; NAT gateways and load balancers bring their own"
    )
    outputs = recorder.one("mlplatform:index:AwsNetwork").outputs
    assert outputs["privateSubnetIds"] == [f"net-private-{zone}-id" for zone in ZONES]
    assert outputs["privateSubnetIdsByZone"] == {zone: f"net-private-{zone}-id" for zone in ZONES}


def test_private_subnets_reach_the_internet_only_through_nat(run) -> None:
    recorder = _network(run)
    for table in recorder.by_type("aws:ec2/routeTable:RouteTable"):
        routes = table.inputs["routes"]
        if "private" in table.name:
            assert all("natGatewayId" in route and "gatewayId" not in route for route in routes), (
                f"{table.name}: private subnets must not route to the internet gateway"
            )


@pytest.mark.parametrize(("mode", "count"), [("perZone", 3), ("single", 1)])
def test_nat_gateways_are_per_zone_or_single(run, mode: str, count: int) -> None:
    recorder = _network(run, nat_gateways=mode)
    gateways = recorder.by_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == count, f"{mode} means {count} NAT gateway(s)"
    private_tables = [t for t in recorder.by_type("aws:ec2/routeTable:RouteTable") if "private" in t.name]
    assert len(private_tables) == len(ZONES), "every zone's private subnet has a default route"


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group_with_retention(run) -> None:
    recorder = _network(run, flow_log_retention_days=731)
    flow_log = recorder.one("aws:ec2/flowLog:FlowLog")
    vpc = recorder.one("aws:ec2/vpc:Vpc")
    log_group = recorder.one("aws:cloudwatch/logGroup:LogGroup")
    key = recorder.one("aws:kms/key:Key")
    assert flow_log.inputs["trafficType"] == "ALL", "accepted and rejected traffic both matter (HIPAA-LOG-VPC-FLOW)"
    assert flow_log.property_dependencies["vpcId"] == [vpc.urn], "the flow log is attached to this VPC"
    assert flow_log.property_dependencies["logDestination"] == [log_group.urn]
    assert log_group.property_dependencies["kmsKeyId"] == [key.urn], (
        "flow logs are encrypted with the customer-managed key (HIPAA-ENC-LOGS-KMS)"
    )
    assert log_group.inputs["retentionInDays"] == 731, "flow logs expire (GDPR-RET-LOGS)"
    assert log_group.inputs["tags"]["data-classification"] == "confidential", "IP addresses are personal data"
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    statements = {item.get("Sid") for item in json.loads(key.inputs["policy"])["Statement"]}
    assert "AllowCloudWatchLogs" in statements, "without it CloudWatch Logs cannot use the key"


def test_a_given_flow_log_key_is_used_instead_of_creating_one(run) -> None:
    recorder = _network(run, flow_log_kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/shared")
    assert recorder.by_type("aws:kms/key:Key") == []
    assert recorder.one("aws:cloudwatch/logGroup:LogGroup").inputs["kmsKeyId"].endswith("key/shared")


def test_protect_keeps_the_flow_log_group_and_key(run) -> None:
    recorder = _network(run, protect=True)
    for registration in (recorder.one("aws:kms/key:Key"), recorder.one("aws:cloudwatch/logGroup:LogGroup")):
        assert registration.protect and registration.retain_on_delete, f"{registration.name} holds audit data"
    vpc = recorder.one("aws:ec2/vpc:Vpc")
    assert not vpc.protect, "plain network plumbing stays replaceable"


def test_bad_arguments_are_reported_together_before_anything_is_created(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(
            lambda: AwsNetwork(
                "net",
                {"availability_zones": ["eu-central-1a"], "cidr_block": "8.8.0.0/16", "flow_log_retention_days": 10},
            )
        )
    assert error_paths(error.value) == ["availabilityZones", "cidrBlock", "flowLogRetentionDays"]
    assert nothing_registered(recorder), "validation runs before any resource is registered"


# --- Transit gateway ------------------------------------------------------------------------------------

TGW = "tgw-0123456789abcdef0"
DEPLOYER_NETWORKS = ["10.20.0.0/16", "192.168.10.0/24"]


def test_a_transit_gateway_attaches_the_private_subnets(run) -> None:
    recorder = _network(run, transit_gateway_id=TGW, transit_gateway_cidrs=DEPLOYER_NETWORKS)
    attachment = recorder.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    private = [subnet.urn for subnet in recorder.by_type("aws:ec2/subnet:Subnet") if "-private-" in subnet.name]
    assert attachment.inputs["transitGatewayId"] == TGW
    assert sorted(attachment.property_dependencies["subnetIds"]) == sorted(private), (
        "the attachment puts an interface in every zone's private subnet, where the API endpoint lives"
    )
    assert attachment.property_dependencies["vpcId"] == [recorder.one("aws:ec2/vpc:Vpc").urn]
    outputs = recorder.one("mlplatform:index:AwsNetwork").outputs
    assert outputs["transitGatewayAttachmentId"] == f"{attachment.name}-id", (
        "the gateway's owner needs the attachment ID to associate and propagate it"
    )


def test_every_private_route_table_routes_the_deployer_networks_to_the_transit_gateway(run) -> None:
    recorder = _network(run, transit_gateway_id=TGW, transit_gateway_cidrs=DEPLOYER_NETWORKS)
    attachment = recorder.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    private_tables = [t for t in recorder.by_type("aws:ec2/routeTable:RouteTable") if "private" in t.name]
    assert len(private_tables) == len(ZONES)
    for table in private_tables:
        to_gateway = {route["cidrBlock"] for route in table.inputs["routes"] if route.get("transitGatewayId") == TGW}
        assert to_gateway == set(DEPLOYER_NETWORKS), (
            f"{table.name}: without a route back, the API's answers to the deployer go to the NAT gateway and die"
        )
        assert attachment.urn in table.dependencies, f"{table.name}: EC2 refuses a route to an unattached gateway"
    public = recorder.one("aws:ec2/routeTable:RouteTable", "net-public-routes")
    assert all("transitGatewayId" not in route for route in public.inputs["routes"]), "only private subnets"


def test_without_a_transit_gateway_nothing_is_attached(run) -> None:
    recorder = _network(run)
    assert recorder.by_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment") == []
    assert recorder.one("mlplatform:index:AwsNetwork").outputs.get("transitGatewayAttachmentId") is None


@pytest.mark.parametrize(
    ("overrides", "paths"),
    [
        ({"transit_gateway_id": TGW}, ["transitGatewayCidrs"]),
        ({"transit_gateway_cidrs": ["10.20.0.0/16"]}, ["transitGatewayId"]),
        ({"transit_gateway_id": "vpc-123", "transit_gateway_cidrs": ["10.20.0.0/16"]}, ["transitGatewayId"]),
        (
            {"transit_gateway_id": TGW, "transit_gateway_cidrs": ["0.0.0.0/0", "8.8.8.0/24", "10.0.128.0/20", "nope"]},
            [
                "transitGatewayCidrs[0]",
                "transitGatewayCidrs[1]",
                "transitGatewayCidrs[2]",
                "transitGatewayCidrs[3]",
            ],
        ),
    ],
    ids=["cidrs-missing", "gateway-missing", "not-a-gateway", "public-overlapping-or-malformed"],
)
def test_transit_gateway_inputs_are_checked_before_anything_is_created(recorder, overrides, paths) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsNetwork("net", {"availability_zones": ZONES, **overrides}))
    assert error_paths(error.value) == paths, (
        "a gateway needs its networks and vice versa; the networks are private, never the whole internet, and "
        "outside the VPC (10.0.0.0/16)"
    )
    assert nothing_registered(recorder)
