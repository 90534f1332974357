"""AdmissionPolicies installs policies the API server accepts, which deny what the packs deny, where they should."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pulumi
import pytest

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components.kubernetes import AdmissionPolicies
from components.kubernetes.admission_policies import RULE_NAMES
from policies.rules.kubernetes_common import NAMESPACE_NAME_LABEL, selector_matches
from tests.components.kubernetes.helpers import objects_of_kind, run_with_provider
from tests.policies.admission_corpus import pod_spec, service, workload
from tests.policies.cel_eval import denials


def installed(run, args: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Policies and bindings the component registers, by name."""
    recorder = run_with_provider(run, lambda opts: AdmissionPolicies("admission", args, opts))
    policies = {obj["metadata"]["name"]: obj for obj in objects_of_kind(recorder, "ValidatingAdmissionPolicy")}
    bindings = {obj["metadata"]["name"]: obj for obj in objects_of_kind(recorder, "ValidatingAdmissionPolicyBinding")}
    return policies, bindings


def bound_in(binding: dict[str, Any], namespace: str) -> bool:
    selector = binding["spec"]["matchResources"]["namespaceSelector"]
    return selector_matches(selector, {NAMESPACE_NAME_LABEL: namespace}) is True


def test_prod_denies_every_rule_outside_the_node_agent_namespaces(run) -> None:
    policies, bindings = installed(run, {"enforce": True})
    assert sorted(policies) == sorted(RULE_NAMES), f"one policy per rule, got {sorted(policies)}"
    assert sorted(bindings) == sorted(RULE_NAMES), f"one binding per rule, got {sorted(bindings)}"
    for name, binding in bindings.items():
        assert binding["spec"]["policyName"] == name, f"binding {name} binds {binding['spec']['policyName']}"
        assert binding["spec"]["validationActions"] == ["Deny"], f"prod binding {name} must deny"
        for namespace in PLATFORM_SYSTEM_NAMESPACES:
            assert not bound_in(binding, namespace), f"{name} must not apply in node-agent namespace {namespace}"
        assert bound_in(binding, "team-a") and bound_in(binding, "default"), f"{name} must apply elsewhere"


def test_dev_warns_and_audits(run) -> None:
    _, bindings = installed(run, {"enforce": False})
    for name, binding in bindings.items():
        assert binding["spec"]["validationActions"] == ["Warn", "Audit"], f"dev binding {name} must not deny"


def test_installed_objects_are_valid_for_the_api_server(run) -> None:
    policies, bindings = installed(run, {})
    for obj in [*policies.values(), *bindings.values()]:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_installed_policies_deny_a_privileged_pod_and_admit_a_hardened_one(run) -> None:
    policies, _ = installed(run, {})
    privileged = workload("Deployment", pod_spec("privileged"))
    compliant = workload("Deployment", pod_spec("compliant"))
    assert denials(policies["kubernetes-workload-no-privilege-escalation"], privileged), "privileged must be denied"
    for name, policy in policies.items():
        if name.startswith("kubernetes-workload-"):
            assert denials(policy, compliant) == [], f"{name} denies a hardened Deployment"
    assert denials(policies["kubernetes-load-balancer-internal"], service("public LoadBalancer")), (
        "a public LoadBalancer must be denied"
    )


def test_a_subset_of_rules_and_a_per_rule_exemption(run) -> None:
    policies, bindings = installed(
        run,
        {
            "rules": ["kubernetes-load-balancer-internal", "kubernetes-workload-host-isolation"],
            "exempt_namespaces": ["kube-system"],
            "rule_exempt_namespaces": {"kubernetes-load-balancer-internal": ["serving-gateway"]},
        },
    )
    assert sorted(policies) == ["kubernetes-load-balancer-internal", "kubernetes-workload-host-isolation"]
    assert not bound_in(bindings["kubernetes-load-balancer-internal"], "serving-gateway"), "reviewed public gateway"
    assert bound_in(bindings["kubernetes-workload-host-isolation"], "serving-gateway"), "exempt from one rule only"
    assert bound_in(bindings["kubernetes-workload-host-isolation"], "monitoring"), "only kube-system is exempt now"


def test_bad_arguments_are_reported_together_with_their_paths(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: AdmissionPolicies(
                "admission",
                {
                    "enforce": "yes",
                    "exempt_namespaces": ["kube-system", "Bad_NS"],
                    "rule_exempt_namespaces": {"no-such-rule": ["edge"]},
                    "rules": ["kubernetes-workload-run-as-non-root", "typo"],
                },
            )
        )
    paths = {error["property_path"] for error in raised.value.errors}
    assert paths == {"enforce", "exemptNamespaces[1]", "ruleExemptNamespaces.no-such-rule", "rules"}, paths
    assert "kubernetes-workload-run-as-non-root" in str(raised.value), "the message lists the valid rule names"
    assert not [r for r in recorder.registrations if r.type.startswith("kubernetes:")], "nothing is created"
