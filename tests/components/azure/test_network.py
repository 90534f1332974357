"""AzureNetwork: subnets for nodes, private endpoints and the API server, NSGs that deny the internet, DNS zones."""

from __future__ import annotations

import pytest

from components.azure import AzureNetwork
from components.azure.network import AKS_DELEGATION, subnet_layout
from tests.components.azure._fixtures import LOCATION, rejected

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
