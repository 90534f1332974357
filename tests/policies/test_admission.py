"""The admission policies say what the packs say: rule by rule, the pack's verdict and the CEL's agree on a corpus."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from policies.admission import (
    ADMISSION_RULES,
    DEV_ACTIONS,
    PROD_ACTIONS,
    AdmissionRule,
    exempt_namespace_selector,
    manifests,
    policy_manifest,
)
from policies.rules import RULES
from policies.rules.kubernetes_common import NAMESPACE_NAME_LABEL, selector_matches
from tests.policies.admission_corpus import (
    KINDS,
    NAMESPACE,
    POD_SPEC_VARIANTS,
    SERVICE_VARIANTS,
    pod_spec,
    service,
    workload,
)
from tests.policies.cel_eval import denials
from tests.policies.harness import run_resource

WORKLOAD_RULES = [rule for rule in ADMISSION_RULES if rule.scope == "workloads"]
SERVICE_RULES = [rule for rule in ADMISSION_RULES if rule.scope == "services"]
POLICIES = {rule.pack_rule: policy_manifest(rule) for rule in ADMISSION_RULES}
SERVICE_TOKEN = "kubernetes:core/v1:Service"


def pack_denies(rule: AdmissionRule, type_token: str, obj: dict[str, Any]) -> bool:
    """The pack's verdict: True for a violation, False for a pass or not-applicable; never undecided here."""
    outcome = run_resource(rule.pack_rule, type_token, obj, name=obj["metadata"]["name"])
    assert outcome.advisory is None, f"{rule.pack_rule} could not decide on a complete object: {outcome.describe()}"
    return bool(outcome.violations)


def test_every_admission_rule_mirrors_a_pack_rule_of_its_scope() -> None:
    for rule in ADMISSION_RULES:
        assert rule.pack_rule in RULES, f"{rule.pack_rule} names no pack rule"
        token = "kubernetes:apps/v1:Deployment" if rule.scope == "workloads" else SERVICE_TOKEN
        assert RULES[rule.pack_rule].applies_to(token), f"{rule.pack_rule} does not judge {token} in the pack"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("variant", list(POD_SPEC_VARIANTS))
def test_pack_and_admission_agree_on_workloads(variant: str, kind: str) -> None:
    obj = workload(kind, pod_spec(variant))
    for rule in WORKLOAD_RULES:
        if not RULES[rule.pack_rule].applies_to(KINDS[kind][1]):
            continue  # kinds the pack does not read yet are still judged at admission (see test below)
        pack = pack_denies(rule, KINDS[kind][1], obj)
        cel = denials(POLICIES[rule.pack_rule], obj)
        assert pack == bool(cel), f"{rule.pack_rule} on {kind} '{variant}': pack denies={pack}, CEL denies {cel}"


@pytest.mark.parametrize("variant", list(POD_SPEC_VARIANTS))
def test_admission_judges_every_pod_template_kind_alike(variant: str) -> None:
    verdicts = {
        kind: {rule.pack_rule: bool(denials(POLICIES[rule.pack_rule], workload(kind, pod_spec(variant))))
               for rule in WORKLOAD_RULES}
        for kind in KINDS
    }  # fmt: skip
    assert all(verdict == verdicts["Pod"] for verdict in verdicts.values()), (
        f"'{variant}' is judged differently by kind: {verdicts}"
    )


@pytest.mark.parametrize("variant", list(SERVICE_VARIANTS))
def test_pack_and_admission_agree_on_services(variant: str) -> None:
    obj = service(variant)
    for rule in SERVICE_RULES:
        pack = pack_denies(rule, SERVICE_TOKEN, obj)
        cel = denials(POLICIES[rule.pack_rule], obj)
        assert pack == bool(cel), f"{rule.pack_rule} on Service '{variant}': pack denies={pack}, CEL denies {cel}"


def test_the_corpus_has_a_compliant_and_a_violating_object_for_every_rule() -> None:
    for rule in ADMISSION_RULES:
        if rule.scope == "workloads":
            objects = [workload("Deployment", pod_spec(variant)) for variant in POD_SPEC_VARIANTS]
        else:
            objects = [service(variant) for variant in SERVICE_VARIANTS]
        verdicts = {bool(denials(POLICIES[rule.pack_rule], obj)) for obj in objects}
        assert verdicts == {True, False}, (
            f"the corpus never {'passes' if True in verdicts else 'fails'} {rule.pack_rule}"
        )


def test_every_check_of_a_rule_is_exercised_alone() -> None:
    """Each validation of each rule fails for some corpus object, so no check is dead or always true."""
    for rule in ADMISSION_RULES:
        objects = (
            [workload("Pod", pod_spec(variant)) for variant in POD_SPEC_VARIANTS]
            if rule.scope == "workloads"
            else [service(variant) for variant in SERVICE_VARIANTS]
        )
        failed = {message for obj in objects for message in denials(POLICIES[rule.pack_rule], obj)}
        for check in rule.checks:
            if check.message in failed:
                continue
            raise AssertionError(f"no corpus object fails '{check.message}' of {rule.pack_rule}")


def test_ephemeral_containers_added_by_kubectl_debug_are_judged_too() -> None:
    pod = workload("Pod", pod_spec("compliant"))
    pod["spec"]["ephemeralContainers"] = [
        {"name": "debugger", "image": "busybox", "securityContext": {"privileged": True}}
    ]
    denied = {rule.pack_rule for rule in WORKLOAD_RULES if denials(POLICIES[rule.pack_rule], pod)}
    assert {"kubernetes-workload-no-privilege-escalation", "kubernetes-workload-capabilities-dropped"} <= denied, (
        f"a privileged debug container must be denied, denied by {denied}"
    )
    assert "kubernetes-workload-resource-requests" not in denied, (
        "ephemeral containers cannot declare resources, so the requests rule must not judge them"
    )
    resources = POLICIES["kubernetes-workload-no-privilege-escalation"]["spec"]["matchConstraints"]["resourceRules"]
    assert "pods/ephemeralcontainers" in resources[0]["resources"], "the debug subresource must be matched"


def test_policies_match_every_built_in_pod_template_resource_on_create_and_update() -> None:
    for name, policy in POLICIES.items():
        rules = policy["spec"]["matchConstraints"]["resourceRules"]
        assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in rules), f"{name} operations: {rules}"
        assert policy["spec"]["failurePolicy"] == "Fail", f"{name} must fail closed"
        matched = {(rule["apiGroups"][0], resource) for rule in rules for resource in rule["resources"]}
        if name.startswith("kubernetes-workload-"):
            expected = {
                ("", "pods"), ("", "replicationcontrollers"), ("", "podtemplates"), ("apps", "deployments"),
                ("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "jobs"),
                ("batch", "cronjobs"),
            }  # fmt: skip
            assert expected <= matched, f"{name} misses {expected - matched}"
        else:
            assert matched == {("", "services")}, f"{name} matches {matched}"


@pytest.mark.parametrize("actions", [PROD_ACTIONS, DEV_ACTIONS], ids=["prod", "dev"])
@pytest.mark.parametrize("version", ["1.30.0", "1.34.0"])
def test_generated_objects_are_valid_admissionregistration_v1(actions: tuple[str, ...], version: str) -> None:
    """ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.30."""
    for obj in manifests(actions, PLATFORM_SYSTEM_NAMESPACES):
        kubernetes_validate.validate(obj, version, strict=True)


def test_prod_denies_and_dev_warns_and_audits() -> None:
    assert PROD_ACTIONS == ("Deny",), "prod must reject violating objects"
    assert set(DEV_ACTIONS) == {"Warn", "Audit"} and "Deny" not in DEV_ACTIONS, "dev must admit with a warning"
    for actions in (PROD_ACTIONS, DEV_ACTIONS):
        bindings = [obj for obj in manifests(actions, ()) if obj["kind"] == "ValidatingAdmissionPolicyBinding"]
        assert len(bindings) == len(ADMISSION_RULES), "one binding per policy"
        assert all(binding["spec"]["validationActions"] == list(actions) for binding in bindings), bindings


def test_each_binding_names_its_own_policy() -> None:
    objects = manifests(PROD_ACTIONS, PLATFORM_SYSTEM_NAMESPACES)
    policies = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "ValidatingAdmissionPolicy"}
    bound = [obj["spec"]["policyName"] for obj in objects if obj["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert sorted(bound) == sorted(policies), f"bindings {bound} vs policies {policies}"


def test_the_namespace_selector_excludes_exactly_the_exempt_namespaces() -> None:
    selector = exempt_namespace_selector(PLATFORM_SYSTEM_NAMESPACES)
    others = [NAMESPACE, "default", "serving", "kueue-system", "kube-public", "monitoring-team", "kube-system2"]
    for name in [*PLATFORM_SYSTEM_NAMESPACES, *others]:
        matched = selector_matches(selector, {NAMESPACE_NAME_LABEL: name, "pod-security.kubernetes.io/enforce": "x"})
        assert matched is (name not in PLATFORM_SYSTEM_NAMESPACES), f"namespace {name}: bound={matched}"
    assert exempt_namespace_selector(()) == {}, "no exemption: every namespace is bound"


def test_node_agents_are_exempt_at_admission_as_in_the_pack() -> None:
    agent = workload("DaemonSet", pod_spec("hostPath volume"), namespace="gpu-operator")
    outcome = run_resource("kubernetes-workload-host-isolation", KINDS["DaemonSet"][1], agent, name="agent")
    assert outcome.not_applicable, f"the pack exempts node agents: {outcome.describe()}"
    binding = next(
        obj for obj in manifests(PROD_ACTIONS, PLATFORM_SYSTEM_NAMESPACES)
        if obj["kind"] == "ValidatingAdmissionPolicyBinding" and obj["spec"]["policyName"] == "kubernetes-workload-host-isolation"
    )  # fmt: skip
    namespace = {NAMESPACE_NAME_LABEL: "gpu-operator"}
    assert selector_matches(binding["spec"]["matchResources"]["namespaceSelector"], namespace) is False, (
        "the binding must not apply in a node-agent namespace"
    )


def test_a_rule_can_exempt_one_more_namespace() -> None:
    objects = manifests(
        PROD_ACTIONS, ["kube-system"], rule_exempt_namespaces={"kubernetes-load-balancer-internal": ["edge"]}
    )
    selectors = {
        obj["spec"]["policyName"]: obj["spec"]["matchResources"]["namespaceSelector"]
        for obj in objects
        if obj["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    edge = {NAMESPACE_NAME_LABEL: "edge"}
    assert selector_matches(selectors["kubernetes-load-balancer-internal"], edge) is False, "edge is exempt there"
    assert selector_matches(selectors["kubernetes-workload-host-isolation"], edge) is True, "and only there"


def test_messages_name_the_field_and_the_fix() -> None:
    for rule in ADMISSION_RULES:
        for check in rule.checks:
            assert ";" in check.message, f"{rule.pack_rule}: '{check.message}' must say what is wrong; then the fix"
            assert any(word in check.message for word in ("securityContext", "resources", "volumes", "ports", "host",
                                                          "LoadBalancer")), check.message  # fmt: skip


def test_the_generator_uses_the_standard_library_only() -> None:
    """The Kubernetes layer imports it, and that layer may not pull in the policy SDK or a cloud SDK."""
    import ast
    import sys
    from pathlib import Path

    import policies.admission as package

    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for module in names:
                root = module.split(".")[0]
                assert module.startswith("policies.admission") or root in sys.stdlib_module_names, (
                    f"{path.name} imports {module}"
                )


def test_the_lists_restated_for_cel_are_the_packs_lists() -> None:
    """The CEL cannot import the rule modules' constants (stdlib only), so they are kept equal here."""
    from policies.admission.rules import INTERNAL_LOAD_BALANCER_ANNOTATIONS, RESTRICTED_VOLUME_TYPES
    from policies.rules import kubernetes_workloads, network_exposure

    assert RESTRICTED_VOLUME_TYPES == kubernetes_workloads._RESTRICTED_VOLUMES, "restricted volume types"
    assert INTERNAL_LOAD_BALANCER_ANNOTATIONS == network_exposure._INTERNAL_ANNOTATIONS, "internal LB annotations"
