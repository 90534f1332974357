"""The pod security baseline initiative is assigned to the AKS cluster, denying in prod and auditing in dev."""

from __future__ import annotations

from typing import Any

import pytest

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components.azure import AzureGpuCluster
from components.azure.policy_assignment import POD_SECURITY_BASELINE_INITIATIVE, pod_security_baseline_assignment
from tests.components.azure._fixtures import cluster_args, rejected

ASSIGNMENT = "azure-native:authorization:PolicyAssignment"
CLUSTER = "azure-native:containerservice:ManagedCluster"

INITIATIVE_PARAMETERS: dict[str, dict[str, Any]] = {
    "effect": {"type": "String", "allowedValues": ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"]},
    "excludedNamespaces": {"type": "Array"},
    "namespaces": {"type": "Array"},
}
"""The parameters of the initiative (Azure/azure-policy Kubernetes_PSPBaselineStandard.json, version 1.2.0)."""


def assigned(run, recorder, *, enforce: bool, **kwargs: Any):
    def program() -> None:
        cluster = AzureGpuCluster("aks", cluster_args())
        pod_security_baseline_assignment(
            "aks-pod-security-baseline", cluster.cluster_id, enforce=enforce, parent=cluster, **kwargs
        )

    run(program)
    return recorder.one(ASSIGNMENT)


@pytest.mark.parametrize(("enforce", "effect"), [(True, "Deny"), (False, "Audit")], ids=["prod", "dev"])
def test_the_baseline_initiative_is_assigned_on_the_cluster(run, recorder, enforce: bool, effect: str) -> None:
    assignment = assigned(run, recorder, enforce=enforce)
    assert assignment.inputs["policyDefinitionId"] == POD_SECURITY_BASELINE_INITIATIVE, "the built-in initiative"
    assert POD_SECURITY_BASELINE_INITIATIVE.endswith("a8640138-9b0a-4a28-b8cb-1666c838647d"), "its documented ID"
    assert assignment.property_dependencies["scope"] == [recorder.one(CLUSTER).urn], "scoped to this cluster only"
    assert assignment.inputs.get("enforcementMode", "Default") == "Default", "DoNotEnforce would only report"
    parameters = assignment.inputs["parameters"]
    assert parameters["effect"]["value"] == effect, f"enforce={enforce} must be {effect}"


def test_parameters_are_those_the_initiative_declares_with_allowed_values(run, recorder) -> None:
    parameters = assigned(run, recorder, enforce=True).inputs["parameters"]
    assert set(parameters) <= set(INITIATIVE_PARAMETERS), f"unknown parameters {set(parameters)}"
    assert parameters["effect"]["value"] in INITIATIVE_PARAMETERS["effect"]["allowedValues"]
    assert isinstance(parameters["excludedNamespaces"]["value"], list), "an Array parameter"


def test_the_node_agents_and_the_add_on_namespaces_are_excluded(run, recorder) -> None:
    excluded = set(assigned(run, recorder, enforce=True).inputs["parameters"]["excludedNamespaces"]["value"])
    assert set(PLATFORM_SYSTEM_NAMESPACES) <= excluded, "the same exemptions as the packs and admission policies"
    assert {"kube-system", "gatekeeper-system", "azure-arc"} <= excluded, "the initiative's own defaults are kept"
    assert "default" not in excluded and "team-a" not in excluded, "workload namespaces are judged"


def test_bad_arguments_are_reported_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        lambda: pod_security_baseline_assignment(
            "x" * 65, "/subscriptions/s/resourceGroups/r/providers/x/y/z", enforce="yes", excluded_namespaces=["Bad"]
        ),
    )
    assert set(problems) == {"name", "enforce", "excludedNamespaces[0]"}, problems
