"""AzureNetwork: the resource group, VNet, subnets, NSGs and private DNS zones an AKS platform lives in."""

import ipaddress
from typing import Required, TypedDict

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources

from components._common.validation import Problems, require_args_mapping
from components.azure._shared import (
    PRIVATE_DNS_LOCATION,
    check_bool,
    check_cidrs,
    check_location,
    check_virtual_network_ids,
)

DEFAULT_ADDRESS_SPACE = "10.0.0.0/16"
DEFAULT_CREATE_API_SERVER_SUBNET = True
DEFAULT_LINK_PRIVATE_DNS_ZONES_TO_PEERS = True
DEFAULT_PRIVATE_DNS_ZONES: tuple[str, ...] = (
    "privatelink.vaultcore.azure.net",
    "privatelink.azurecr.io",
    "privatelink.blob.core.windows.net",
)
AKS_DELEGATION = "Microsoft.ContainerService/managedClusters"
"""The subnet delegation AKS API Server VNet Integration requires."""


class AzureNetworkArgs(TypedDict, total=False):
    """Arguments of `AzureNetwork`."""

    location: Required[pulumi.Input[str]]
    """Azure location of the resource group and VNet, e.g. `westeurope`. Required."""
    resource_group_name: str
    """An existing resource group to deploy into. Defaults to a new group named after the component."""
    address_space: str
    """VNet address space, a private IPv4 CIDR from /16 to /20. Defaults to 10.0.0.0/16."""
    api_server_subnet: bool
    """Create the delegated /28 subnet for AKS API Server VNet Integration. Defaults to true."""
    api_server_allowed_cidrs: list[str]
    """Networks allowed to reach the API server on TCP 443 through the API-server subnet's NSG; never 0.0.0.0/0.
    For a public cluster, the clients also listed in its authorized IP ranges; for a private cluster, the
    deployer's networks inside or peered with this VNet (e.g. a hub's runner subnet), whose traffic reaches the
    API server's internal load balancer in that subnet. Defaults to none."""
    peer_virtual_network_ids: list[pulumi.Input[str]]
    """VNets to peer with (e.g. a hub with self-hosted runners), so a deployer there reaches private endpoints and a
    private API server. Creates this VNet's side of each peering only: whoever owns the remote VNet creates the
    other side, and traffic flows once both exist. Address spaces must not overlap. Defaults to none."""
    link_private_dns_zones_to_peers: bool
    """Also link this VNet's private DNS zones (Key Vault, registry, blob) to each peered VNet, so the registry,
    storage and vault resolve to their private endpoints there and a runner in the peer can push images and upload
    models. Turn off when the peer already links zones of the same names (Azure refuses a second one); then add
    these private endpoints' records to those zones. Defaults to true."""
    private_dns_zones: list[str]
    """`privatelink.*` DNS zones to create and link to the VNet, one per private-endpoint service. Defaults to
    the Key Vault, ACR and Blob zones."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def subnet_layout(address_space: str) -> dict[str, str]:
    """Split the VNet into node, private-endpoint and API-server subnets.

    Nodes get the first half (with Azure CNI Overlay, pods take overlay addresses, so the half only has to
    hold node IPs). The second half starts with a /24 for private endpoints and a /28 for the API server.

    Raises:
        ValueError: when `address_space` is not an IPv4 network from /16 to /20.
    """
    vnet = ipaddress.IPv4Network(address_space)
    if not 16 <= vnet.prefixlen <= 20:
        raise ValueError(f"prefix length must be between /16 and /20 (got /{vnet.prefixlen})")
    nodes, rest = vnet.subnets(prefixlen_diff=1)
    private_endpoints, api_block, *_ = rest.subnets(new_prefix=24)
    api_server = next(api_block.subnets(new_prefix=28))
    return {"nodes": str(nodes), "privateEndpoints": str(private_endpoints), "apiServer": str(api_server)}


def deny_internet_inbound_rule(priority: int = 4096) -> network.SecurityRuleArgs:
    """The NSG rule every subnet carries: nothing from the internet, stated explicitly (not left to defaults)."""
    return network.SecurityRuleArgs(
        name="deny-internet-inbound",
        description="Deny all inbound traffic from the internet; private endpoints and internal load balancers only.",
        priority=priority,
        direction="Inbound",
        access="Deny",
        protocol="*",
        source_address_prefix="Internet",
        source_port_range="*",
        destination_address_prefix="*",
        destination_port_range="*",
    )


def _validate(args: AzureNetworkArgs) -> Problems:
    problems = Problems()
    check_location(problems, args.get("location"))
    check_bool(problems, args, "api_server_subnet", "link_private_dns_zones_to_peers")
    address_space = args.get("address_space", DEFAULT_ADDRESS_SPACE)
    try:
        network_range = ipaddress.IPv4Network(address_space)
        subnet_layout(address_space)
        if not network_range.is_private:
            problems.add("addressSpace", f"{address_space} is not a private (RFC 1918) range")
    except ValueError as error:
        problems.add("addressSpace", str(error))
    check_cidrs(problems, "apiServerAllowedCidrs", args.get("api_server_allowed_cidrs"))
    check_virtual_network_ids(problems, "peerVirtualNetworkIds", args.get("peer_virtual_network_ids"))
    zones = args.get("private_dns_zones", list(DEFAULT_PRIVATE_DNS_ZONES))
    for index, zone in enumerate(zones):
        if not zone.startswith("privatelink."):
            problems.add(f"privateDnsZones[{index}]", f"'{zone}' is not a privatelink.* zone")
    if len(set(zones)) != len(zones):
        problems.add("privateDnsZones", "zones must be unique")
    return problems


class AzureNetwork(pulumi.ComponentResource):
    """A private VNet for an AKS platform: subnets for nodes, private endpoints and the API server, each behind an NSG.

    Creates:
    - a resource group (unless `resourceGroupName` names an existing one);
    - a VNet with a node subnet, a private-endpoint subnet and (by default) a /28 subnet delegated to AKS for
      API Server VNet Integration;
    - one network security group per subnet, associated with it;
    - one private DNS zone per private-endpoint service, linked to the VNet;
    - this VNet's side of a peering to each of `peerVirtualNetworkIds` (VNet access only: no forwarded or gateway
      traffic).

    Security defaults: every NSG denies inbound traffic from the internet explicitly (only the API-server subnet
    admits the listed `apiServerAllowedCidrs` on 443); subnets have no default outbound access (AKS egress goes
    through its load balancer); network policies apply to private endpoints, so NSGs filter them too.
    """

    resource_group_name: pulumi.Output[str]
    """Name of the resource group everything is deployed into."""
    location: pulumi.Output[str]
    """Azure location of the VNet."""
    vnet_id: pulumi.Output[str]
    """Resource ID of the VNet."""
    vnet_name: pulumi.Output[str]
    """Name of the VNet."""
    address_space: pulumi.Output[str]
    """The VNet address space (CIDR)."""
    node_subnet_id: pulumi.Output[str]
    """Resource ID of the subnet for AKS nodes."""
    private_endpoint_subnet_id: pulumi.Output[str]
    """Resource ID of the subnet for private endpoints."""
    api_server_subnet_id: pulumi.Output[str | None]
    """Resource ID of the AKS-delegated API-server subnet, or None when `apiServerSubnet` is false."""
    private_dns_zone_ids: pulumi.Output[dict[str, str]]
    """Resource IDs of the private DNS zones, by zone name (e.g. `privatelink.azurecr.io`)."""
    peering_ids: pulumi.Output[list[str]]
    """Resource IDs of this VNet's peerings, in the order of `peerVirtualNetworkIds`."""

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureNetwork '{name}'")
        super().__init__("mlplatform:index:AzureNetwork", name, {}, opts)
        location = args["location"]
        tags = args.get("tags")
        address_space = args.get("address_space", DEFAULT_ADDRESS_SPACE)
        layout = subnet_layout(address_space)
        child = pulumi.ResourceOptions(parent=self)

        existing_group = args.get("resource_group_name")
        if existing_group is None:
            group = resources.ResourceGroup(f"{name}-rg", location=location, tags=tags, opts=child)
            resource_group_name: pulumi.Input[str] = group.name
        else:
            resource_group_name = existing_group

        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=resource_group_name,
            location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[address_space]),
            tags=tags,
            # Subnets and peerings are separate resources below; without this the VNet would delete them on its
            # next update.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets", "virtualNetworkPeerings"]),
        )

        subnets: dict[str, network.Subnet] = {}
        wanted = ["nodes", "privateEndpoints"]
        if args.get("api_server_subnet", DEFAULT_CREATE_API_SERVER_SUBNET):
            wanted.append("apiServer")
        for role in wanted:
            nsg = network.NetworkSecurityGroup(
                f"{name}-{role.lower()}-nsg",
                resource_group_name=resource_group_name,
                location=location,
                security_rules=self._rules(role, args.get("api_server_allowed_cidrs", [])),
                tags=tags,
                opts=child,
            )
            subnets[role] = network.Subnet(
                f"{name}-{role.lower()}",
                resource_group_name=resource_group_name,
                virtual_network_name=vnet.name,
                address_prefix=layout[role],
                network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                default_outbound_access=False,
                private_endpoint_network_policies="Enabled" if role == "privateEndpoints" else None,
                delegations=(
                    [network.DelegationArgs(name="aks-api-server", service_name=AKS_DELEGATION)]
                    if role == "apiServer"
                    else None
                ),
                # Subnets of one VNet are updated one at a time; parallel updates fail with AnotherOperationInProgress.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(subnets.values())),
            )

        peerings: list[network.VirtualNetworkPeering] = []
        for index, remote_id in enumerate(args.get("peer_virtual_network_ids") or []):
            peerings.append(
                network.VirtualNetworkPeering(
                    f"{name}-peer-{index}",
                    resource_group_name=resource_group_name,
                    virtual_network_name=vnet.name,
                    remote_virtual_network=network.SubResourceArgs(id=remote_id),
                    allow_virtual_network_access=True,
                    # Nothing transits this VNet and it uses no remote gateway: the peer reaches this VNet only.
                    allow_forwarded_traffic=False,
                    allow_gateway_transit=False,
                    use_remote_gateways=False,
                    # A peering updates the VNet like a subnet does: one operation at a time.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[*subnets.values(), *peerings[-1:]]),
                )
            )

        zone_ids: dict[str, pulumi.Output[str]] = {}
        for zone_name in args.get("private_dns_zones", list(DEFAULT_PRIVATE_DNS_ZONES)):
            label = zone_name.removeprefix("privatelink.").split(".")[0]
            zone = privatedns.PrivateZone(
                f"{name}-{label}-zone",
                resource_group_name=resource_group_name,
                private_zone_name=zone_name,
                location=PRIVATE_DNS_LOCATION,
                tags=tags,
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-{label}-link",
                resource_group_name=resource_group_name,
                private_zone_name=zone.name,
                location=PRIVATE_DNS_LOCATION,
                virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                registration_enabled=False,
                tags=tags,
                opts=child,
            )
            if args.get("link_private_dns_zones_to_peers", DEFAULT_LINK_PRIVATE_DNS_ZONES_TO_PEERS):
                for index, remote_id in enumerate(args.get("peer_virtual_network_ids") or []):
                    privatedns.VirtualNetworkLink(
                        f"{name}-{label}-peer-{index}-link",
                        resource_group_name=resource_group_name,
                        private_zone_name=zone.name,
                        location=PRIVATE_DNS_LOCATION,
                        virtual_network=privatedns.SubResourceArgs(id=remote_id),
                        registration_enabled=False,
                        tags=tags,
                        opts=child,
                    )
            zone_ids[zone_name] = zone.id

        self.resource_group_name = pulumi.Output.from_input(resource_group_name)
        self.location = pulumi.Output.from_input(location)
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.address_space = pulumi.Output.from_input(address_space)
        self.node_subnet_id = subnets["nodes"].id
        self.private_endpoint_subnet_id = subnets["privateEndpoints"].id
        self.api_server_subnet_id = (
            subnets["apiServer"].id if "apiServer" in subnets else pulumi.Output.from_input(None)
        )
        self.private_dns_zone_ids = pulumi.Output.all(**zone_ids) if zone_ids else pulumi.Output.from_input({})
        self.peering_ids = pulumi.Output.all(*(peering.id for peering in peerings))
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "location": self.location,
                "vnetId": self.vnet_id,
                "vnetName": self.vnet_name,
                "addressSpace": self.address_space,
                "nodeSubnetId": self.node_subnet_id,
                "privateEndpointSubnetId": self.private_endpoint_subnet_id,
                "apiServerSubnetId": self.api_server_subnet_id,
                "privateDnsZoneIds": self.private_dns_zone_ids,
                "peeringIds": self.peering_ids,
            }
        )

    @staticmethod
    def _rules(role: str, api_server_allowed_cidrs: list[str]) -> list[network.SecurityRuleArgs]:
        rules = [deny_internet_inbound_rule()]
        if role == "apiServer" and api_server_allowed_cidrs:
            rules.append(
                network.SecurityRuleArgs(
                    name="allow-api-clients",
                    description="Deployers and authorized networks may reach the Kubernetes API server on 443.",
                    priority=100,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_address_prefixes=list(api_server_allowed_cidrs),
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="443",
                )
            )
        return rules
