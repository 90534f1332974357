"""Microsoft Defender for Containers on the subscription: ACR image vulnerability assessment whose results gate
promotion."""

from typing import Required, TypedDict

import pulumi
import pulumi_azure_native.security as security

from components._common.validation import Problems, require_args_mapping
from components.azure._shared import check_bool, is_guid

PLAN_NAME = "Containers"
"""The Defender plan (pricing) name of Defender for Containers; the older `ContainerRegistry` and
`KubernetesService` plans are deprecated in its favour
(https://learn.microsoft.com/en-us/azure/defender-for-cloud/defender-for-containers-introduction)."""
PRICING_TIER = "Standard"
"""Standard turns the plan on; Free is the plan off."""

DEFAULT_REGISTRY_VULNERABILITY_ASSESSMENT = True
DEFAULT_AGENTLESS_DISCOVERY = True
DEFAULT_CONTAINER_SENSOR = True
DEFAULT_AGENTLESS_VM_SCANNING = True


class AzureDefenderForContainersArgs(TypedDict, total=False):
    """Arguments of `AzureDefenderForContainers`."""

    subscription_id: Required[pulumi.Input[str]]
    """The subscription whose Defender for Containers plan this sets (a GUID). The plan is subscription-wide: it
    covers every registry and cluster in the subscription and is billed per vCore and per scanned image, so the
    subscription is named explicitly rather than taken from the provider. Required."""
    registry_vulnerability_assessment: bool
    """Scan the images in every registry of the subscription on push and daily (extension
    ContainerRegistriesVulnerabilityAssessments); the promotion gate reads these results. Defaults to true."""
    agentless_discovery: bool
    """API-based discovery of the Kubernetes clusters' configuration and workloads (extension
    AgentlessDiscoveryForKubernetes). Defaults to true."""
    container_sensor: bool
    """Runtime threat detection through the Defender sensor on the clusters (extension ContainerSensor), which the
    AKS Defender security profile deploys. Defaults to true."""
    agentless_vm_scanning: bool
    """Scan the cluster nodes' disks for vulnerabilities and malware without an agent (extension
    AgentlessVmScanning). Defaults to true."""


def plan_extensions(
    *,
    registry_vulnerability_assessment: bool,
    agentless_discovery: bool,
    container_sensor: bool,
    agentless_vm_scanning: bool,
) -> list[security.ExtensionArgsDict]:
    """The plan's extensions, each stated on or off so that a change made in the portal shows up as drift."""
    flags = {
        "ContainerRegistriesVulnerabilityAssessments": registry_vulnerability_assessment,
        "AgentlessDiscoveryForKubernetes": agentless_discovery,
        "ContainerSensor": container_sensor,
        "AgentlessVmScanning": agentless_vm_scanning,
    }
    return [{"name": name, "is_enabled": "True" if enabled else "False"} for name, enabled in flags.items()]


def _validate(args: AzureDefenderForContainersArgs) -> Problems:
    problems = Problems()
    subscription = args.get("subscription_id")
    if subscription is None:
        problems.add("subscriptionId", "name the subscription whose Defender for Containers plan to enable")
    elif isinstance(subscription, str) and not is_guid(subscription):
        problems.add("subscriptionId", f"'{subscription}' is not a subscription ID (a GUID)")
    check_bool(
        problems,
        args,
        "registry_vulnerability_assessment",
        "agentless_discovery",
        "container_sensor",
        "agentless_vm_scanning",
    )
    return problems


class AzureDefenderForContainers(pulumi.ComponentResource):
    """Microsoft Defender for Containers (plan `Containers`, tier Standard) on one subscription.

    Creates:
    - the subscription's `Microsoft.Security/pricings/Containers` at Standard with registry vulnerability
      assessment, agentless Kubernetes discovery, the runtime sensor and agentless node scanning
      (https://learn.microsoft.com/en-us/rest/api/defenderforcloud/pricings/update).

    Scope: the plan is subscription-wide, one per subscription; it is retained when the stack is destroyed, because
    turning it off would stop scanning every other registry and cluster in the subscription. Defender scans ACR images
    within hours of a push and rescans images pushed or pulled in the last 30 days daily; the results are published
    to Azure Resource Graph as sub-assessments of assessment c0b7cfc6-3172-465a-b378-53c7ff2cc0d5
    (https://learn.microsoft.com/en-us/azure/defender-for-cloud/subassessment-rest-api), which
    `policies.image_gate` evaluates before a digest is promoted.
    """

    pricing_id: pulumi.Output[str]
    """Resource ID of the plan's pricing configuration."""
    pricing_tier: pulumi.Output[str]
    """The plan's tier, Standard."""

    def __init__(
        self, name: str, args: AzureDefenderForContainersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureDefenderForContainers '{name}'")
        super().__init__("mlplatform:index:AzureDefenderForContainers", name, {}, opts)
        pricing = security.Pricing(
            f"{name}-containers",
            pricing_name=PLAN_NAME,
            pricing_tier=PRICING_TIER,
            # The pricings API takes the subscription scope without a leading slash: 'subscriptions/{id}'.
            scope_id=pulumi.Output.from_input(args["subscription_id"]).apply(lambda value: f"subscriptions/{value}"),
            extensions=plan_extensions(
                registry_vulnerability_assessment=args.get(
                    "registry_vulnerability_assessment", DEFAULT_REGISTRY_VULNERABILITY_ASSESSMENT
                ),
                agentless_discovery=args.get("agentless_discovery", DEFAULT_AGENTLESS_DISCOVERY),
                container_sensor=args.get("container_sensor", DEFAULT_CONTAINER_SENSOR),
                agentless_vm_scanning=args.get("agentless_vm_scanning", DEFAULT_AGENTLESS_VM_SCANNING),
            ),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.pricing_id = pricing.id
        self.pricing_tier = pricing.pricing_tier
        self.register_outputs({"pricingId": self.pricing_id, "pricingTier": self.pricing_tier})
