"""The supply-chain rules on what the platform's own components register: the registries with their scanners pass,
a registry without one is caught, and a scanner set outside the stack is unverifiable, never a silent pass."""

from __future__ import annotations

from typing import Any

from components.aws import AwsContainerRegistry, AwsRegistryScanning
from components.azure import AzureContainerRegistry, AzureDefenderForContainers
from tests.components.azure._fixtures import registry_args
from tests.policies.cases_supply_chain import ENHANCED, SCANNING
from tests.policies.harness import UNKNOWN, Res, from_registrations, run_stack

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
AWS_RULES = ("aws-ecr-registry-enhanced-scanning", "aws-ecr-repository-scan-on-push")


def _aws(run: Any, *, scanning: bool, prefix: str = "mlplatform-prod") -> list[Res]:
    def program() -> None:
        AwsContainerRegistry("registry", {"repositories": ["models", "team-a/fraud"], "repository_prefix": prefix})
        if scanning:
            AwsRegistryScanning("scanning", {"repository_filters": ["mlplatform-prod/*"]})

    return from_registrations(run(program).registrations)


def _azure(run: Any, *, defender: bool) -> list[Res]:
    def program() -> None:
        AzureContainerRegistry("acr", registry_args())
        if defender:
            AzureDefenderForContainers("defender", {"subscription_id": SUBSCRIPTION})

    return from_registrations(run(program).registrations)


def test_the_ecr_registry_with_its_inspector_scanning_passes(run: Any) -> None:
    resources = _aws(run, scanning=True)
    for rule in AWS_RULES:
        outcome = run_stack(rule, resources)
        assert outcome.passed, f"AwsContainerRegistry + AwsRegistryScanning must pass {rule}; {outcome.describe()}"


def test_an_ecr_registry_without_enhanced_scanning_is_a_violation_even_though_it_scans_on_push(run: Any) -> None:
    resources = _aws(run, scanning=False)
    assert run_stack("aws-ecr-repository-scan-on-push", resources).passed, "basic scan on push is on"
    outcome = run_stack("aws-ecr-registry-enhanced-scanning", resources)
    assert len(outcome.violations) == 2 and all("no ENHANCED" in message for message in outcome.messages), (
        f"basic scanning has no continuous rescans and no findings for the gate to judge; {outcome.describe()}"
    )


def test_scanning_filters_for_another_prefix_leave_the_repositories_unscanned() -> None:
    resources = [
        Res("aws:ecr/repository:Repository", "registry-models", {"name": "mlplatform-dev/models"}),
        Res(SCANNING, "scanning", ENHANCED),
    ]
    outcome = run_stack("aws-ecr-registry-enhanced-scanning", resources)
    assert outcome.violations == [
        (
            "ECR repository 'registry-models' matches no filter of the ENHANCED registry scanning rules, so "
            "Inspector never scans it; add a repository filter matching its name.",
            "registry-models",
        )
    ], outcome.describe()


def test_the_acr_with_defender_for_containers_passes(run: Any) -> None:
    outcome = run_stack("azure-defender-containers-registry-scanning", _azure(run, defender=True))
    assert outcome.passed, f"AzureDefenderForContainers covers the registry; {outcome.describe()}"


def test_an_acr_whose_defender_plan_is_outside_the_stack_is_unverifiable_not_passed(run: Any) -> None:
    outcome = run_stack("azure-defender-containers-registry-scanning", _azure(run, defender=False))
    assert not outcome.violations, "the security team may own the subscription's plan: not a mandatory failure"
    assert outcome.advisory and "container registry 'acr-registry'" in outcome.advisory, outcome.describe()
    assert "defined outside this stack" in outcome.advisory, "the advisory says why it cannot be verified"


def test_a_plan_name_unknown_at_preview_is_unverifiable() -> None:
    resources = [
        Res("azure-native:containerregistry:Registry", "acr", {}),
        Res("azure-native:security:Pricing", "plan", {"pricingName": UNKNOWN, "pricingTier": "Standard"}),
    ]
    outcome = run_stack("azure-defender-containers-registry-scanning", resources)
    assert not outcome.violations and outcome.advisory and "Defender plan 'plan'" in outcome.advisory, (
        outcome.describe()
    )
