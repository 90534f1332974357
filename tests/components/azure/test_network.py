"""AzureNetwork: subnets for nodes, private endpoints and the API server, NSGs that deny the internet, DNS zones."""

from __future__ import annotations

import pytest

from components.azure import AzureNetwork
from components.azure.network import AKS_DELEGATION, subnet_layout
from tests.components.azure._fixtures import LOCATION, SUB, rejected

SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"


def test_the_layout_gives_nodes_half_the_vnet_and_a_28_to_the_api_server() -> None:
    assert subnet_layout("10.40.0.0/16") == {
        "nodes": "10.40.0.0/17",
        "privateEndpoints": "10.40.128.0/24",
        "apiServer": "10.40.129.0/28",
    }
    assert subnet_layout("10.1.0.0/20")["apiServer"] == "10.1.9.0/28", "a /20 VNet still fits every subnet"


def test_the_layout_rejects_a_vnet_too_small_for_the_subnets() -> None:
    with pytest.raises(ValueError, match="/16 and /20"):
        subnet_layout("10.0.0.0/24")


def test_every_subnet_has_an_nsg_that_denies_inbound_internet_traffic(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION}))
    subnets = recorder.by_type(SUBNET)
    assert len(subnets) == 3, "nodes, private endpoints and API server"
    nsgs = recorder.by_type(NSG)
    assert len(nsgs) == 3, "one NSG per subnet"
    for subnet in subnets:
        assert subnet.inputs["networkSecurityGroup"]["id"], f"{subnet.name} must be associated with an NSG"
        assert subnet.inputs["defaultOutboundAccess"] is False, "no implicit internet egress from subnets"
    for nsg in nsgs:
        denies = [
            rule
            for rule in nsg.inputs["securityRules"]
            if rule["access"] == "Deny" and rule["direction"] == "Inbound" and rule["sourceAddressPrefix"] == "Internet"
        ]
        assert denies, f"{nsg.name} must deny inbound internet traffic explicitly"


def test_the_api_server_subnet_is_delegated_to_aks(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION}))
    api = recorder.one(SUBNET, "net-apiserver")
    assert api.inputs["delegations"][0]["serviceName"] == AKS_DELEGATION, (
        "API Server VNet Integration needs the delegation"
    )
    endpoints = recorder.one(SUBNET, "net-privateendpoints")
    assert endpoints.inputs["privateEndpointNetworkPolicies"] == "Enabled", "NSGs must also filter private endpoints"


def test_listed_networks_may_reach_a_public_api_server_and_nothing_else_is_opened(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION, "api_server_allowed_cidrs": ["203.0.113.0/24"]}))
    rules = recorder.one(NSG, "net-apiserver-nsg").inputs["securityRules"]
    allows = [rule for rule in rules if rule["access"] == "Allow"]
    assert [(rule["sourceAddressPrefixes"], rule["destinationPortRange"]) for rule in allows] == [
        (["203.0.113.0/24"], "443")
    ]
    assert all(rule["access"] == "Deny" for rule in recorder.one(NSG, "net-nodes-nsg").inputs["securityRules"])


def test_a_private_dns_zone_per_service_is_linked_to_the_vnet(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION}))
    zones = {zone.inputs["privateZoneName"] for zone in recorder.by_type("azure-native:privatedns:PrivateZone")}
    assert zones == {"privatelink.vaultcore.azure.net", "privatelink.azurecr.io", "privatelink.blob.core.windows.net"}
    links = recorder.by_type("azure-native:privatedns:VirtualNetworkLink")
    assert len(links) == 3 and all(link.inputs["registrationEnabled"] is False for link in links)


def test_an_existing_resource_group_is_used_instead_of_creating_one(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION, "resource_group_name": "shared-rg"}))
    assert recorder.by_type("azure-native:resources:ResourceGroup") == [], "the given group is reused"
    assert recorder.one("azure-native:network:VirtualNetwork").inputs["resourceGroupName"] == "shared-rg"


def test_bad_network_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        lambda: AzureNetwork(
            "net",
            {
                "location": "mars",
                "address_space": "8.8.0.0/16",
                "api_server_allowed_cidrs": ["0.0.0.0/0"],
                "private_dns_zones": ["vault.azure.net"],
            },
        ),
    )
    assert set(problems) == {"location", "addressSpace", "apiServerAllowedCidrs[0]", "privateDnsZones[0]"}, problems


HUB_VNET = f"{SUB}/Microsoft.Network/virtualNetworks/hub"
PEERING = "azure-native:network:VirtualNetworkPeering"


def test_this_side_of_a_peering_is_created_per_remote_vnet_and_admits_no_transit(run) -> None:
    runners = f"{SUB}/Microsoft.Network/virtualNetworks/runners"
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION, "peer_virtual_network_ids": [HUB_VNET, runners]}))
    peerings = {peering.name: peering for peering in recorder.by_type(PEERING)}
    assert {name: p.inputs["remoteVirtualNetwork"]["id"] for name, p in peerings.items()} == {
        "net-peer-0": HUB_VNET,
        "net-peer-1": runners,
    }, "one local peering per remote VNet; the remote side belongs to that VNet's owner"
    vnet = recorder.one("azure-native:network:VirtualNetwork")
    for peering in peerings.values():
        inputs = peering.inputs
        assert inputs["allowVirtualNetworkAccess"] is True
        assert (inputs["allowForwardedTraffic"], inputs["allowGatewayTransit"], inputs["useRemoteGateways"]) == (
            False,
            False,
            False,
        ), "the peer reaches this VNet only; nothing transits it"
        assert peering.property_dependencies["virtualNetworkName"] == [vnet.urn]
    assert peerings["net-peer-0"].urn in peerings["net-peer-1"].dependencies, "VNet updates run one at a time"
    assert {s.urn for s in recorder.by_type(SUBNET)} <= set(peerings["net-peer-0"].dependencies)
    assert "virtualNetworkPeerings" in vnet.ignore_changes, "a VNet update must not delete the separate peerings"
    outputs = recorder.one("mlplatform:index:AzureNetwork").outputs
    assert len(outputs["peeringIds"]) == 2


def test_a_peered_runner_network_resolves_the_platforms_private_endpoints(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION, "peer_virtual_network_ids": [HUB_VNET]}))
    zones = {zone.name: zone for zone in recorder.by_type("azure-native:privatedns:PrivateZone")}
    links = [link for link in recorder.by_type("azure-native:privatedns:VirtualNetworkLink") if "peer" in link.name]
    linked = {(link.property_dependencies["privateZoneName"][0], link.inputs["virtualNetwork"]["id"]) for link in links}
    assert linked == {(zone.urn, HUB_VNET) for zone in zones.values()}, (
        "every private DNS zone (vault, registry, blob) is linked to the peer, so a runner there pushes images and "
        "uploads models through the private endpoints"
    )
    assert all(link.inputs["registrationEnabled"] is False for link in links)


def test_peer_dns_links_can_be_left_to_a_hub_that_has_its_own_zones(run) -> None:
    recorder = run(
        lambda: AzureNetwork(
            "net",
            {"location": LOCATION, "peer_virtual_network_ids": [HUB_VNET], "link_private_dns_zones_to_peers": False},
        )
    )
    links = [link for link in recorder.by_type("azure-native:privatedns:VirtualNetworkLink") if "peer" in link.name]
    assert not links, "Azure allows one linked zone per name: a hub with its own privatelink zones opts out"


def test_a_vnet_without_peers_has_no_peering(run) -> None:
    recorder = run(lambda: AzureNetwork("net", {"location": LOCATION}))
    assert recorder.by_type(PEERING) == []
    assert recorder.one("mlplatform:index:AzureNetwork").outputs["peeringIds"] == []


def test_a_peered_deployer_may_reach_a_private_api_server_on_443(run) -> None:
    """The same allow rule serves a private cluster: the runner subnet of a peered hub reaches the API server ILB."""
    recorder = run(
        lambda: AzureNetwork(
            "net",
            {
                "location": LOCATION,
                "peer_virtual_network_ids": [HUB_VNET],
                "api_server_allowed_cidrs": ["10.99.1.0/24"],
            },
        )
    )
    (allow,) = [r for r in recorder.one(NSG, "net-apiserver-nsg").inputs["securityRules"] if r["access"] == "Allow"]
    assert (allow["sourceAddressPrefixes"], allow["protocol"], allow["destinationPortRange"]) == (
        ["10.99.1.0/24"],
        "Tcp",
        "443",
    )
    assert allow["priority"] < 4096, "evaluated before the internet deny"


def test_bad_peer_vnet_ids_are_rejected_with_paths(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        lambda: AzureNetwork("net", {"location": LOCATION, "peer_virtual_network_ids": ["hub", HUB_VNET, HUB_VNET]}),
    )
    assert set(problems) == {"peerVirtualNetworkIds[0]", "peerVirtualNetworkIds[2]"}, problems
