"""AzureDefenderForContainers: the subscription's Containers plan at Standard, with registry image scanning on."""

from __future__ import annotations

from components.azure.defender import AzureDefenderForContainers, plan_extensions
from tests.components.azure._fixtures import rejected

PRICING = "azure-native:security:Pricing"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


def test_the_containers_plan_is_standard_on_the_named_subscription(run) -> None:
    pricing = run(lambda: AzureDefenderForContainers("defender", {"subscription_id": SUBSCRIPTION})).one(PRICING)
    assert pricing.inputs["pricingName"] == "Containers", "Defender for Containers replaced the ContainerRegistry plan"
    assert pricing.inputs["pricingTier"] == "Standard", "Free is the plan switched off"
    assert pricing.inputs["scopeId"] == f"subscriptions/{SUBSCRIPTION}", (
        "the pricings API takes the subscription scope as 'subscriptions/{id}'"
    )
    enabled = {item["name"] for item in pricing.inputs["extensions"] if item["isEnabled"] == "True"}
    assert "ContainerRegistriesVulnerabilityAssessments" in enabled, "the promotion gate reads these scan results"
    assert enabled == {
        "ContainerRegistriesVulnerabilityAssessments",
        "AgentlessDiscoveryForKubernetes",
        "ContainerSensor",
        "AgentlessVmScanning",
    }, "every extension of the plan is on by default"
    assert pricing.retain_on_delete is True, (
        "destroying the platform must not switch Defender off for every other workload in the subscription"
    )


def test_an_extension_turned_off_is_stated_off_so_portal_changes_show_as_drift() -> None:
    extensions = plan_extensions(
        registry_vulnerability_assessment=True,
        agentless_discovery=True,
        container_sensor=False,
        agentless_vm_scanning=False,
    )
    assert {item["name"]: item["is_enabled"] for item in extensions} == {
        "ContainerRegistriesVulnerabilityAssessments": "True",
        "AgentlessDiscoveryForKubernetes": "True",
        "ContainerSensor": "False",
        "AgentlessVmScanning": "False",
    }


def test_the_subscription_must_be_named_and_toggles_plain(run, recorder) -> None:
    missing = rejected(run, recorder, lambda: AzureDefenderForContainers("defender", {}))
    assert list(missing) == ["subscriptionId"], "a subscription-wide plan is never enabled on an implicit subscription"
    bad = rejected(
        run,
        recorder,
        lambda: AzureDefenderForContainers("defender", {"subscription_id": "not-a-guid", "container_sensor": "yes"}),
    )
    assert list(bad) == ["subscriptionId", "containerSensor"], "each bad field is named in camelCase"
    assert "GUID" in bad["subscriptionId"], "the reason says what a subscription ID looks like"
