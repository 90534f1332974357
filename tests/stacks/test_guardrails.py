"""The shipped stacks' guardrails outside the packs: admission policies a `kubectl apply` cannot sidestep, the AKS
pod security initiative, and registry scanning that promotion is gated on."""

from __future__ import annotations

import pytest

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from stacks.synth import synthesize
from tests.components.kubernetes.helpers import selector_matches

BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


@pytest.mark.parametrize(("stack", "actions"), [("prod-cluster", ["Deny"]), ("dev", ["Warn", "Audit"])])
def test_admission_policies_deny_in_prod_and_warn_in_dev_over_every_team_namespace(stack: str, actions) -> None:
    layer = synthesize(stack)
    bindings = layer.monitor.by_type(BINDING)
    assert bindings and len(bindings) == len(layer.monitor.by_type(POLICY)), "one binding per policy"
    namespaces = {r.inputs["metadata"]["name"] for r in layer.monitor.by_type("kubernetes:core/v1:Namespace")}
    teams = set(layer.outputs.get("servingNamespaces") or []) | set(layer.outputs.get("trainingNamespaceDetails") or {})
    assert teams, "the stack has team namespaces"
    for binding in bindings:
        spec = binding.inputs["spec"]
        assert spec["validationActions"] == actions, f"{binding.name}: {actions}"
        selector = spec["matchResources"]["namespaceSelector"]
        for team in teams:
            assert selector_matches(selector, {"kubernetes.io/metadata.name": team}), f"{team} is covered"
        for agent in PLATFORM_SYSTEM_NAMESPACES:
            if agent in namespaces:
                assert not selector_matches(selector, {"kubernetes.io/metadata.name": agent}), (
                    f"{agent}: the node agents' namespace is exempt, as in the packs"
                )


def test_aks_assigns_the_pod_security_baseline_initiative_to_the_cluster() -> None:
    foundation = synthesize("azure-prod")
    (assignment,) = foundation.monitor.by_type("azure-native:authorization:PolicyAssignment")
    cluster = foundation.monitor.one("azure-native:containerservice:ManagedCluster")
    assert assignment.inputs["scope"].endswith(f"/{cluster.name}") or "managedClusters" in assignment.inputs["scope"]
    assert assignment.inputs["parameters"]["effect"]["value"] == "Deny", "prod denies at admission"


def test_platform_images_are_scanned_so_promotion_can_be_gated() -> None:
    prod = synthesize("prod")
    (scanning,) = prod.monitor.by_type("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "ENHANCED", "Inspector scans OS and language packages"
    filters = [f["filter"] for rule in scanning.inputs["rules"] for f in rule["repositoryFilters"]]
    repositories = prod.outputs["registryRepositoryUrls"].values()
    assert all(any(url.split("/", 1)[1].startswith(f.rstrip("*")) for f in filters) for url in repositories), (
        "every platform repository is covered"
    )
    azure = synthesize("azure-prod")
    (pricing,) = azure.monitor.by_type("azure-native:security:Pricing")
    assert pricing.inputs["pricingTier"] == "Standard"
