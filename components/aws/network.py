"""The AWS network for an EKS platform: a VPC with private node subnets, NAT egress and encrypted flow logs."""

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.limits import CLOUDWATCH_RETENTION_DAYS
from components._common.tags import data_tags
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._addresses import private_cidr
from components.aws._resources import account_facts, customer_managed_key, merged_tags, stateful, to_json

NatGateways = Literal["single", "perZone"]

DEFAULT_CIDR_BLOCK = "10.0.0.0/16"
DEFAULT_NAT_GATEWAYS: NatGateways = "perZone"
DEFAULT_FLOW_LOG_RETENTION_DAYS = 365
DEFAULT_PROTECT = False
MAX_ZONES = 7
"""The subnet layout splits the VPC into eight blocks: one private block per zone, the last for public subnets."""

INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"

_TRANSIT_GATEWAY_ID = re.compile(r"^tgw-[0-9a-f]{8,17}$")


class AwsNetworkArgs(TypedDict):
    """Arguments of `AwsNetwork`."""

    availability_zones: list[str]
    """Availability zones to spread subnets over, e.g. `["eu-central-1a", "eu-central-1b"]`; 2 to 7 zones."""
    cidr_block: NotRequired[str]
    """IPv4 range of the VPC, a private /16 to /20. Defaults to 10.0.0.0/16."""
    nat_gateways: NotRequired[str]
    """`perZone` (a NAT gateway per zone, survives a zone outage) or `single` (cheaper, for dev). Defaults to perZone."""
    flow_log_retention_days: NotRequired[int]
    """Days VPC flow logs are kept; one of the values CloudWatch Logs accepts. Defaults to 365."""
    flow_log_kms_key_arn: NotRequired[pulumi.Input[str]]
    """An existing KMS key for the flow log group; its policy must allow CloudWatch Logs. Defaults to a new key."""
    transit_gateway_id: NotRequired[str]
    """An existing transit gateway (`tgw-...`) to attach the private subnets to, so that networks behind it (a
    deployer's VPC, an on-premises network) reach the private EKS API endpoint and get answers back. Required
    with transit_gateway_cidrs. A gateway shared from another account without auto-accept needs its owner to
    accept the attachment; the gateway's own route tables stay with its owner. Defaults to no attachment."""
    transit_gateway_cidrs: NotRequired[list[str]]
    """Private IPv4 ranges (RFC 1918 or 100.64.0.0/10) behind the transit gateway; every private route table
    routes them to it (the return path of API calls). Must not overlap the VPC. Required with
    transit_gateway_id. Defaults to none."""
    protect: NotRequired[bool]
    """Protect and retain the flow log group and its key on delete. Defaults to false."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every taggable child, on top of the provider's default tags. Defaults to none."""


# A NamedTuple rather than a frozen dataclass: the same immutable record, but a frozen dataclass compiles six
# generated methods when the module is imported (about 1 ms a class, paid by every synthesis).
class SubnetPlan(NamedTuple):
    """The address ranges of one zone's subnets."""

    zone: str
    private_cidr: str
    public_cidr: str


def subnet_layout(cidr_block: str, zones: Sequence[str]) -> list[SubnetPlan]:
    """Split the VPC into one large private subnet per zone (nodes and pod IPs) and one small public subnet.

    The VPC is cut into eight equal blocks: zone i gets private block i; the last block is cut into eight
    again for the public subnets, which only hold NAT gateways and load balancers.
    """
    network = ipaddress.IPv4Network(cidr_block)
    blocks = list(network.subnets(prefixlen_diff=3))
    public_blocks = list(blocks[-1].subnets(prefixlen_diff=3))
    return [SubnetPlan(zone, str(blocks[index]), str(public_blocks[index])) for index, zone in enumerate(zones)]


def _validate(args: AwsNetworkArgs, name: str) -> None:
    problems = Problems()
    zones = args.get("availability_zones") or []
    if len(zones) < 2:
        problems.add("availabilityZones", "EKS needs subnets in at least two availability zones")
    if len(zones) > MAX_ZONES:
        problems.add("availabilityZones", f"at most {MAX_ZONES} zones fit the subnet layout")
    if len(set(zones)) != len(zones):
        problems.add("availabilityZones", "zones must be unique")
    cidr = args.get("cidr_block", DEFAULT_CIDR_BLOCK)
    vpc_network: ipaddress.IPv4Network | None = None
    try:
        vpc_network = ipaddress.IPv4Network(cidr)
    except ValueError as error:
        problems.add("cidrBlock", f"'{cidr}' is not an IPv4 network: {error}")
    else:
        if not 16 <= vpc_network.prefixlen <= 20:
            problems.add("cidrBlock", f"prefix length must be between /16 and /20 (got /{vpc_network.prefixlen})")
        if not vpc_network.is_private:
            problems.add("cidrBlock", f"{cidr} is not a private (RFC 1918) range")
    if args.get("nat_gateways", DEFAULT_NAT_GATEWAYS) not in ("single", "perZone"):
        problems.add("natGateways", "must be 'single' or 'perZone'")
    retention = args.get("flow_log_retention_days", DEFAULT_FLOW_LOG_RETENTION_DAYS)
    if retention not in CLOUDWATCH_RETENTION_DAYS:
        problems.add(
            "flowLogRetentionDays", f"{retention} is not a CloudWatch retention; use one of {CLOUDWATCH_RETENTION_DAYS}"
        )
    _validate_transit_gateway(args, problems, vpc_network)
    problems.raise_if_any(f"AwsNetwork '{name}'")


def _validate_transit_gateway(args: AwsNetworkArgs, problems: Problems, vpc: ipaddress.IPv4Network | None) -> None:
    gateway = args.get("transit_gateway_id")
    cidrs = args.get("transit_gateway_cidrs")
    if gateway is None and cidrs is None:
        return
    if gateway is None:
        problems.add("transitGatewayId", "required with transitGatewayCidrs: the gateway those networks sit behind")
    elif not isinstance(gateway, str) or not _TRANSIT_GATEWAY_ID.match(gateway):
        problems.add("transitGatewayId", f"'{gateway}' is not a transit gateway ID (tgw-...)")
    if not cidrs:
        problems.add(
            "transitGatewayCidrs",
            "required with transitGatewayId: list the networks behind the gateway that must reach the cluster",
        )
        return
    seen: set[ipaddress.IPv4Network] = set()
    for index, cidr in enumerate(cidrs):
        path = f"transitGatewayCidrs[{index}]"
        network, problem = private_cidr(cidr)
        if network is None:
            problems.add(path, problem or "not a CIDR block")
            continue
        if vpc is not None and network.overlaps(vpc):
            problems.add(path, f"{cidr} overlaps the VPC ({vpc}); its traffic would never leave the VPC")
        if network in seen:
            problems.add(path, f"{cidr} is listed twice")
        seen.add(network)


class AwsNetwork(pulumi.ComponentResource):
    """A VPC for EKS with private node subnets, NAT egress, and flow logs into an encrypted log group.

    Creates:
    - a VPC (DNS support and hostnames on, as private EKS endpoints need) whose default security group has no rules;
    - per zone a private subnet (tagged for internal load balancers) and a public subnet (NAT and internet-facing
      load balancers only, tagged for them), with route tables;
    - an internet gateway, NAT gateways (one per zone, or one in total) and an S3 gateway endpoint;
    - optionally a transit gateway attachment of the private subnets, with routes to the networks behind the
      gateway in every private route table (how a deployer outside the VPC reaches the private EKS API);
    - VPC flow logs of ALL traffic into a CloudWatch log group encrypted with a customer-managed key, with retention.

    Security defaults: no subnet assigns public IPs on launch, nodes live only in private subnets, the default
    security group denies everything, flow logs are always on and encrypted, and the flow log role is pinned to
    this account's flow logs.
    """

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    vpc_cidr_block: pulumi.Output[str]
    """IPv4 range of the VPC."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per zone in `availabilityZones` order: for the EKS control plane ENIs and nodes."""
    private_subnet_ids_by_zone: pulumi.Output[dict[str, str]]
    """Private subnet ID per availability zone, for node pools limited to some zones."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per zone: NAT gateways and internet-facing load balancers only."""
    flow_log_group_name: pulumi.Output[str]
    """Name of the CloudWatch log group receiving the VPC flow logs."""
    flow_log_kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key encrypting the flow log group."""
    transit_gateway_attachment_id: pulumi.Output[str | None]
    """ID of the transit gateway VPC attachment (`tgw-attach-...`), or None without `transitGatewayId`; the
    gateway's owner associates it with a gateway route table and propagates its routes."""

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args, name)
        super().__init__("mlplatform:index:AwsNetwork", name, {}, opts)

        zones = list(args["availability_zones"])
        nat_mode = args.get("nat_gateways", DEFAULT_NAT_GATEWAYS)
        protect = args.get("protect", DEFAULT_PROTECT)
        retention = args.get("flow_log_retention_days", DEFAULT_FLOW_LOG_RETENTION_DAYS)
        tags = args.get("tags")
        child = pulumi.ResourceOptions(parent=self)
        account = account_facts(self)

        def named(suffix: str) -> pulumi.Output[dict[str, str]]:
            return merged_tags(tags, {"Name": f"{name}-{suffix}"})

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.get("cidr_block", DEFAULT_CIDR_BLOCK),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=named("vpc"),
            opts=child,
        )
        # Adopting the default security group with no rules closes it: nothing can use it by accident.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=named("default-sg"), opts=child
        )
        internet_gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=named("igw"), opts=child)

        public_routes = aws.ec2.RouteTable(
            f"{name}-public-routes",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=internet_gateway.id)],
            tags=named("public-routes"),
            opts=child,
        )

        private_subnets: dict[str, aws.ec2.Subnet] = {}
        public_subnets: dict[str, aws.ec2.Subnet] = {}
        for plan in subnet_layout(args.get("cidr_block", DEFAULT_CIDR_BLOCK), zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{plan.zone}",
                vpc_id=vpc.id,
                availability_zone=plan.zone,
                cidr_block=plan.public_cidr,
                map_public_ip_on_launch=False,
                tags=merged_tags(tags, {"Name": f"{name}-public-{plan.zone}", PUBLIC_ELB_TAG: "1"}),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{plan.zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
            )
            public_subnets[plan.zone] = public
            private_subnets[plan.zone] = aws.ec2.Subnet(
                f"{name}-private-{plan.zone}",
                vpc_id=vpc.id,
                availability_zone=plan.zone,
                cidr_block=plan.private_cidr,
                map_public_ip_on_launch=False,
                tags=merged_tags(tags, {"Name": f"{name}-private-{plan.zone}", INTERNAL_ELB_TAG: "1"}),
                opts=child,
            )

        nat_zones = zones if nat_mode == "perZone" else zones[:1]
        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for zone in nat_zones:
            address = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags=named(f"nat-{zone}"), opts=child)
            nat_gateways[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=address.id,
                subnet_id=public_subnets[zone].id,
                connectivity_type="public",
                tags=named(f"nat-{zone}"),
                # The gateway cannot reach the internet before the VPC has an internet gateway.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[internet_gateway]),
            )

        # A deployer behind a transit gateway reaches the private API endpoint through this attachment, and the
        # answers find their way back through the routes below. Attaching the private subnets puts an
        # attachment interface in every zone the cluster's endpoint interfaces live in.
        attachment: aws.ec2transitgateway.VpcAttachment | None = None
        transit_routes: list[aws.ec2.RouteTableRouteArgs] = []
        if "transit_gateway_id" in args:
            attachment = aws.ec2transitgateway.VpcAttachment(
                f"{name}-tgw-attachment",
                transit_gateway_id=args["transit_gateway_id"],
                vpc_id=vpc.id,
                subnet_ids=[private_subnets[zone].id for zone in zones],
                dns_support="enable",
                tags=named("tgw-attachment"),
                opts=child,
            )
            # The gateway ID read from the attachment, not the argument: the routes wait for the attachment,
            # as EC2 refuses a route to a gateway the VPC is not attached to.
            transit_routes = [
                aws.ec2.RouteTableRouteArgs(cidr_block=cidr, transit_gateway_id=attachment.transit_gateway_id)
                for cidr in args.get("transit_gateway_cidrs") or []
            ]

        private_route_tables: list[aws.ec2.RouteTable] = []
        for zone in zones:
            nat = nat_gateways.get(zone, nat_gateways[nat_zones[0]])
            # Routes stay inline: the provider cannot mix inline routes with separate aws.ec2.Route resources
            # on one table (each overwrites the other), so the transit gateway routes join the list here.
            routes = aws.ec2.RouteTable(
                f"{name}-private-routes-{zone}",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id),
                    *transit_routes,
                ],
                tags=named(f"private-routes-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=private_subnets[zone].id, route_table_id=routes.id, opts=child
            )
            private_route_tables.append(routes)

        # Model and dataset traffic to S3 stays on the AWS network and off the NAT gateways (and their bill).
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            service_name=pulumi.Output.concat("com.amazonaws.", account.region, ".s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in private_route_tables],
            tags=named("s3-endpoint"),
            opts=child,
        )

        flow_log_group_name = f"/aws/vpc/{pulumi.get_project()}-{pulumi.get_stack()}-{name}/flow-logs"
        flow_log_group_arn = pulumi.Output.all(account.partition, account.region, account.account_id).apply(
            lambda facts: iam.log_group_arn(facts[0], facts[1], facts[2], flow_log_group_name)
        )
        # Flow logs hold IP addresses, personal data under the GDPR: classify them as confidential.
        log_tags = merged_tags(tags, data_tags("confidential", retention))
        key_arn = args.get("flow_log_kms_key_arn")
        if key_arn is None:
            key = customer_managed_key(
                f"{name}-flow-logs-key",
                parent=self,
                description=f"Encrypts the VPC flow logs of {name}",
                policy=to_json(
                    pulumi.Output.all(
                        account.partition, account.region, account.account_id, account.dns_suffix, flow_log_group_arn
                    ).apply(lambda facts: iam.log_group_key_policy(facts[0], facts[1], facts[2], facts[3], [facts[4]]))
                ),
                tags=log_tags,
                protect=protect,
            )
            key_arn = key.arn
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=flow_log_group_name,
            kms_key_id=key_arn,
            retention_in_days=retention,
            deletion_protection_enabled=protect,
            tags=log_tags,
            opts=stateful(self, protect),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description=f"Delivers the VPC flow logs of {name} to CloudWatch Logs",
            assume_role_policy=to_json(
                pulumi.Output.all(account.partition, account.region, account.account_id).apply(
                    lambda facts: iam.flow_logs_trust_policy(facts[0], facts[1], facts[2])
                )
            ),
            tags=tags,
            opts=child,
        )
        delivery = aws.iam.RolePolicy(
            f"{name}-flow-logs-delivery",
            role=role.id,
            policy=to_json(
                pulumi.Output.all(account.partition, account.region, account.account_id, log_group.arn).apply(
                    lambda facts: iam.flow_logs_delivery_policy(facts[0], facts[1], facts[2], facts[3])
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=named("flow-log"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery]),
        )

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.all(*[private_subnets[zone].id for zone in zones])
        self.private_subnet_ids_by_zone = pulumi.Output.all(
            **{zone: subnet.id for zone, subnet in private_subnets.items()}
        )
        self.public_subnet_ids = pulumi.Output.all(*[public_subnets[zone].id for zone in zones])
        self.flow_log_group_name = log_group.name
        self.flow_log_kms_key_arn = pulumi.Output.from_input(key_arn)
        self.transit_gateway_attachment_id = attachment.id if attachment is not None else pulumi.Output.from_input(None)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidrBlock": self.vpc_cidr_block,
                "privateSubnetIds": self.private_subnet_ids,
                "privateSubnetIdsByZone": self.private_subnet_ids_by_zone,
                "publicSubnetIds": self.public_subnet_ids,
                "flowLogGroupName": self.flow_log_group_name,
                "flowLogKmsKeyArn": self.flow_log_kms_key_arn,
                "transitGatewayAttachmentId": self.transit_gateway_attachment_id,
            }
        )
