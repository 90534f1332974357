"""The Azure Policy initiative the AKS add-on enforces: Kubernetes pod security baseline, assigned on the cluster.

`AzureGpuCluster` enables the `azurepolicy` add-on (Gatekeeper, managed by AKS), which enforces nothing until an
Azure Policy definition for Kubernetes is assigned to the cluster's scope ("Understand Azure Policy for
Kubernetes clusters", https://learn.microsoft.com/azure/governance/policy/concepts/policy-for-kubernetes: "assign a
policy definition"). This module assigns the built-in initiative the AKS documentation names for it, "Kubernetes
cluster pod security baseline standards for Linux-based workloads" (policySetDefinitions/
a8640138-9b0a-4a28-b8cb-1666c838647d; Azure/azure-policy `built-in-policies/policySetDefinitions/Kubernetes/
Kubernetes_PSPBaselineStandard.json`, version 1.2.0): no privileged containers, no host network or host ports,
no host PID/IPC, only the baseline capabilities, no hostPath volumes. Its parameters are `effect` (Audit, Deny or
Disabled, default Audit), `excludedNamespaces` (default kube-system, gatekeeper-system, azure-arc) and
`namespaces`.

The in-cluster ValidatingAdmissionPolicies (`components.kubernetes.AdmissionPolicies`) are stricter and fail
closed; this assignment adds what they cannot: the cluster's compliance state in Azure Policy and Microsoft
Defender for Cloud, evidence an auditor reads outside the cluster, and a policy the cluster's own admins cannot
delete with kubectl. Both use the same exemptions and the same mode per environment.
"""

from collections.abc import Sequence

import pulumi
import pulumi_azure_native.authorization as authorization

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components._common.validation import Problems, dns1123_label_problem

POD_SECURITY_BASELINE_INITIATIVE = (
    "/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d"
)
"""Built-in initiative "Kubernetes cluster pod security baseline standards for Linux-based workloads"."""

ADD_ON_NAMESPACES: tuple[str, ...] = ("kube-system", "gatekeeper-system", "azure-arc")
"""The initiative's default `excludedNamespaces`: the add-on's own and AKS's system namespaces, always excluded."""

ASSIGNMENT_NAME_MAX = 64
"""Policy assignment names at a resource scope: at most 64 characters (Azure naming rules, Microsoft.Authorization)."""


def pod_security_baseline_assignment(
    name: str,
    cluster_id: pulumi.Input[str],
    *,
    enforce: bool,
    excluded_namespaces: Sequence[str] = PLATFORM_SYSTEM_NAMESPACES,
    parent: pulumi.Resource | None = None,
) -> authorization.PolicyAssignment:
    """Assign the pod security baseline initiative to one AKS cluster.

    Args:
        name: Pulumi resource name, also the assignment's name (at most 64 characters).
        cluster_id: Resource ID of the managed cluster (`AzureGpuCluster.cluster_id`): the assignment's scope.
        enforce: `Deny` non-compliant objects (prod), else `Audit` them (dev); the same choice as the admission
            policies' Deny / Warn+Audit.
        excluded_namespaces: Namespaces exempt from the initiative (the node agents'), added to the add-on's own
            (ADD_ON_NAMESPACES). Defaults to the platform's system namespaces.
        parent: The component the assignment belongs to (the cluster component).

    Raises:
        pulumi.InputPropertiesError: for a bad name, enforce flag or namespace, before anything is created.
    """
    problems = Problems()
    if not isinstance(name, str) or not name or len(name) > ASSIGNMENT_NAME_MAX:
        problems.add("name", f"must be 1 to {ASSIGNMENT_NAME_MAX} characters, got {name!r}")
    if not isinstance(enforce, bool):
        problems.add("enforce", f"must be true (Deny, prod) or false (Audit, dev), got {enforce!r}")
    if isinstance(excluded_namespaces, str) or not isinstance(excluded_namespaces, Sequence):
        problems.add("excludedNamespaces", "must be a list of namespace names")
        excluded_namespaces = ()
    for index, namespace in enumerate(excluded_namespaces):
        problem = dns1123_label_problem(namespace) if isinstance(namespace, str) else "must be a namespace name"
        if problem:
            problems.add(f"excludedNamespaces[{index}]", problem)
    problems.raise_if_any(f"pod security baseline assignment '{name}'")
    excluded = sorted({*ADD_ON_NAMESPACES, *excluded_namespaces})
    return authorization.PolicyAssignment(
        name,
        policy_assignment_name=name,
        scope=cluster_id,
        policy_definition_id=POD_SECURITY_BASELINE_INITIATIVE,
        display_name="Kubernetes pod security baseline (Linux)",
        description="Pod Security baseline on the cluster, as the in-cluster admission policies enforce it.",
        enforcement_mode="Default",
        parameters={
            "effect": authorization.ParameterValuesValueArgs(value="Deny" if enforce else "Audit"),
            "excludedNamespaces": authorization.ParameterValuesValueArgs(value=excluded),
        },
        non_compliance_messages=[
            authorization.NonComplianceMessageArgs(
                message="Pods must not be privileged or share the node's network, PID, IPC, ports or paths, and "
                "may add only baseline capabilities; see the mlplatform admission policies' messages for the fix."
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
