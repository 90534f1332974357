"""Cases of the supply-chain rules: a registry-level scanner covers the stack's registries."""

from __future__ import annotations

from tests.policies.cases import StackCase, StackFail, add, change, drop, then
from tests.policies.harness import DELETE, UNKNOWN, Res

REPOSITORY = "aws:ecr/repository:Repository"
SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
REGISTRY = "azure-native:containerregistry:Registry"
PRICING = "azure-native:security:Pricing"
SUBSCRIPTION = "subscriptions/00000000-0000-0000-0000-000000000001"


def _rule(filters: list[str], frequency: str = "CONTINUOUS_SCAN") -> dict:
    return {
        "scanFrequency": frequency,
        "repositoryFilters": [{"filter": item, "filterType": "WILDCARD"} for item in filters],
    }


ENHANCED = {"scanType": "ENHANCED", "rules": [_rule(["mlplatform-prod/*"])]}
CONTAINERS_PLAN = {
    "pricingName": "Containers",
    "pricingTier": "Standard",
    "scopeId": SUBSCRIPTION,
    "extensions": [
        {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"},
        {"name": "ContainerSensor", "isEnabled": "True"},
    ],
}

STACK_CASES: list[StackCase] = [
    StackCase(
        rule="aws-ecr-registry-enhanced-scanning",
        resources=[
            Res(REPOSITORY, "models", {"name": "mlplatform-prod/models", "imageTagMutability": "IMMUTABLE"}),
            Res(REPOSITORY, "fraud", {"name": "mlplatform-prod/team-a/fraud", "imageTagMutability": "IMMUTABLE"}),
            Res(SCANNING, "scanning", ENHANCED),
        ],
        fails={
            "no registry scanning configuration": StackFail(drop("scanning"), "models", "no ENHANCED scanning"),
            "basic scanning only (scan on push does not satisfy this rule)": StackFail(
                change("scanning", {"scanType": "BASIC", "rules": [_rule(["*"], "SCAN_ON_PUSH")]}),
                "fraud",
                "no ENHANCED scanning",
            ),
            "a filter that misses a repository": StackFail(
                change("scanning", {"rules": [_rule(["mlplatform-prod/models"])]}), "fraud", "matches no filter"
            ),
            "filters for another stack's prefix": StackFail(
                change("scanning", {"rules": [_rule(["mlplatform-dev/*"])]}), "models", "matches no filter"
            ),
            "no rules at all": StackFail(change("scanning", {"rules": DELETE}), "models", "matches no filter"),
        },
        unknown=change("scanning", {"rules": [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [UNKNOWN]}]}),
        passes={
            "scan on push frequency": change("scanning", {"rules": [_rule(["mlplatform-prod/*"], "SCAN_ON_PUSH")]}),
            "one filter per repository": change(
                "scanning", {"rules": [_rule(["mlplatform-prod/models", "mlplatform-prod/team-a/fraud"])]}
            ),
            "split over two rules": change(
                "scanning", {"rules": [_rule(["mlplatform-prod/models"]), _rule(["*/fraud"], "SCAN_ON_PUSH")]}
            ),
            "a whole-registry filter": change("scanning", {"rules": [_rule(["*"])]}),
        },
        not_applicable=drop("models", "fraud"),
    ),
    StackCase(
        rule="azure-defender-containers-registry-scanning",
        resources=[
            Res(REGISTRY, "acr", {"registryName": "mlplatformprod", "sku": {"name": "Premium"}}),
            Res(PRICING, "defender", CONTAINERS_PLAN),
        ],
        fails={
            "the plan set to Free": StackFail(change("defender", {"pricingTier": "Free"}), "defender", "scans no"),
            "registry scanning turned off": StackFail(
                change(
                    "defender",
                    {"extensions": [{"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "False"}]},
                ),
                "defender",
                "turns off ContainerRegistriesVulnerabilityAssessments",
            ),
            "classic provider plan at Free": StackFail(
                then(
                    drop("defender"),
                    add(
                        Res(
                            "azure:securitycenter/subscriptionPricing:SubscriptionPricing",
                            "classic",
                            {"resourceType": "Containers", "tier": "Free"},
                        )
                    ),
                ),
                "classic",
                "scans no",
            ),
        },
        unknown=change("defender", {"pricingTier": UNKNOWN}),
        passes={
            "extensions left at the plan's defaults": change("defender", {"extensions": DELETE}),
            "plan name in another case": change("defender", {"pricingName": "containers"}),
            "classic provider plan at Standard": then(
                drop("defender"),
                add(
                    Res(
                        "azure:securitycenter/subscriptionPricing:SubscriptionPricing",
                        "classic",
                        {"resourceType": "Containers", "tier": "Standard"},
                    )
                ),
            ),
            "an API-versioned token": then(
                drop("defender"), add(Res("azure-native:security/v20240101:Pricing", "versioned", CONTAINERS_PLAN))
            ),
            "other plans beside it": add(
                Res(PRICING, "storage", {"pricingName": "StorageAccounts", "pricingTier": "Free"})
            ),
        },
        not_applicable=drop("acr"),
    ),
]
