"""Supply chain that gates: registries whose images a vulnerability scanner judges before promotion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.rules.base import (
    OUTSIDE,
    UNKNOWN,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    dicts,
    stack_rule,
)
from policies.rules.integrity import _enhanced_scan_covers

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"

ACR_TYPES = ("azure-native:containerregistry:Registry", "azure:containerservice/registry:Registry")
"""Azure container registries in both providers."""
DEFENDER_PRICING = "azure-native:security:Pricing"
CLASSIC_DEFENDER_PRICING = "azure:securitycenter/subscriptionPricing:SubscriptionPricing"
CONTAINERS_PLAN = "containers"
REGISTRY_SCANNING_EXTENSION = "ContainerRegistriesVulnerabilityAssessments"


@stack_rule(
    name="aws-ecr-registry-enhanced-scanning",
    title="ECR images are scanned continuously by Amazon Inspector",
    description=(
        "Every ECR repository is matched by a rule of an ENHANCED registry scanning configuration, so Amazon "
        "Inspector scans its images on push and as new CVEs appear, and the promotion gate has findings to judge."
    ),
    remediation=(
        "Add components.AwsRegistryScanning({'repository_filters': ['<prefix>/*']}), i.e. "
        "aws.ecr.RegistryScanningConfiguration(scan_type='ENHANCED', rules=[{'scan_frequency': 'CONTINUOUS_SCAN', "
        "'repository_filters': [{'filter': '<prefix>/*', 'filter_type': 'WILDCARD'}]}])."
    ),
    scope="ECR repositories",
)
def ecr_enhanced_scanning(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    repositories = stack.of((ECR_REPOSITORY,))
    if not repositories:
        raise NotApplicable("the stack has no ECR repositories")
    kinds = [configuration.props.get("scanType") for configuration in stack.of((ECR_SCANNING,))]
    for repository in repositories:
        covered = _enhanced_scan_covers(stack, repository)
        if covered is True:
            continue
        if covered is UNKNOWN:
            yield repository, Unverified(f"the registry scanning rules covering ECR repository '{repository.name}'")
        elif "ENHANCED" not in kinds:
            yield (
                repository,
                (
                    f"ECR repository '{repository.name}' is not scanned by Amazon Inspector: the registry has no "
                    "ENHANCED scanning configuration; add aws.ecr.RegistryScanningConfiguration(scan_type='ENHANCED') "
                    "with a rule matching it."
                ),
            )
        else:
            yield (
                repository,
                (
                    f"ECR repository '{repository.name}' matches no filter of the ENHANCED registry scanning rules, "
                    "so Inspector never scans it; add a repository filter matching its name."
                ),
            )


def _plan_name(plan: Resource) -> Any:
    name = plan.props.get("pricingName" if plan.type == DEFENDER_PRICING else "resourceType")
    return name.lower() if isinstance(name, str) else name


def _plan_problem(plan: Resource) -> str | Unverified | None:
    """Why a Defender for Containers plan resource does not scan registry images (None when it does)."""
    tier = plan.props.get("pricingTier" if plan.type == DEFENDER_PRICING else "tier")
    if tier is UNKNOWN:
        return Unverified(f"the pricing tier of Defender plan '{plan.name}'")
    if not isinstance(tier, str) or tier.lower() != "standard":
        return (
            f"Defender plan '{plan.name}' sets Defender for Containers to {tier or 'unset'}, which scans no "
            "registry images; set pricing_tier='Standard'."
        )
    if plan.type != DEFENDER_PRICING:
        return None
    extensions, unknown = dicts(plan.props.get("extensions"))
    for extension in extensions:
        name, enabled = extension.get("name"), extension.get("isEnabled")
        if UNKNOWN in (name, enabled):
            unknown = True
        elif name == REGISTRY_SCANNING_EXTENSION and str(enabled).lower() != "true":
            return (
                f"Defender plan '{plan.name}' turns off {REGISTRY_SCANNING_EXTENSION}, so registry images are not "
                "scanned; set its is_enabled to 'True'."
            )
    return Unverified(f"the extensions of Defender plan '{plan.name}'") if unknown else None


@stack_rule(
    name="azure-defender-containers-registry-scanning",
    title="ACR images are scanned by Microsoft Defender for Containers",
    description=(
        "A stack with an Azure container registry sets the subscription's Defender for Containers plan "
        "(Microsoft.Security/pricings 'Containers') to Standard without turning off "
        "ContainerRegistriesVulnerabilityAssessments. A plan managed outside the stack cannot be seen: that is "
        "reported as unverifiable, never as a pass."
    ),
    remediation=(
        "Add components.AzureDefenderForContainers({'subscription_id': ...}), i.e. "
        "azure_native.security.Pricing(pricing_name='Containers', pricing_tier='Standard', "
        "scope_id='subscriptions/<id>'); if the security team owns the plan, exempt this rule for the stack."
    ),
    scope="Azure container registries",
)
def defender_containers(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    registries = stack.of(ACR_TYPES)
    if not registries:
        raise NotApplicable("the stack has no Azure container registries")
    plans, unknown_plans = [], []
    for plan in stack.of((DEFENDER_PRICING, CLASSIC_DEFENDER_PRICING)):
        name = _plan_name(plan)
        if name == CONTAINERS_PLAN:
            plans.append(plan)
        elif name is UNKNOWN:
            unknown_plans.append(plan)
    problems = [(plan, _plan_problem(plan)) for plan in plans]
    if any(problem is None for _, problem in problems):
        return
    for plan, problem in problems:
        yield plan, problem  # type: ignore[misc]
    if problems:
        return
    for plan in unknown_plans:
        yield plan, Unverified(f"which Defender plan '{plan.name}' configures")
    if not unknown_plans:
        for registry in registries:
            yield (
                registry,
                Unverified(f"the Defender for Containers plan scanning container registry '{registry.name}'", OUTSIDE),
            )
