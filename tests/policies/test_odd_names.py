"""Issue 20, class 8: a non-string metadata.name or namespace cannot turn a stack rule into one crash finding.

Names and namespaces become set members and dict keys in stack rules; a dict or list there used to raise
`TypeError: unhashable type`, which the validator reports as "could not evaluate the stack" and which hides
every real finding of the stack. The API server accepts only strings, so such a value is unverifiable.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.cases import StackCase, add
from tests.policies.harness import Res, run_stack
from tests.policies.test_rules import STACK_CASES

ODD_VALUES: list[Any] = [5, 1.5, True, {"name": "serving"}, ["serving"], None]

KUBERNETES_STACK_CASES = [case for case in STACK_CASES if case.rule.startswith("kubernetes-")]


def _odd_objects(value: Any) -> list[Res]:
    suffix = type(value).__name__
    meta = {"name": value, "namespace": value}
    return [
        Res(
            "kubernetes:core/v1:Namespace",
            f"odd-ns-{suffix}",
            {"metadata": {"name": value, "labels": {"mlplatform.io/tier": "serving"}}},
        ),
        Res(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            f"odd-np-{suffix}",
            {"metadata": meta, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        ),
        Res("kubernetes:core/v1:ResourceQuota", f"odd-rq-{suffix}", {"metadata": meta, "spec": {}}),
        Res(
            "kubernetes:apps/v1:Deployment",
            f"odd-deploy-{suffix}",
            {"metadata": meta, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}}},
        ),
        Res("kubernetes:core/v1:Service", f"odd-svc-{suffix}", {"metadata": meta, "spec": {"type": "LoadBalancer"}}),
        Res(
            "kubernetes:kueue.x-k8s.io/v1beta1:LocalQueue",
            f"odd-lq-{suffix}",
            {"metadata": meta, "spec": {"clusterQueue": value}},
        ),
        Res(
            "kubernetes:storage.k8s.io/v1:StorageClass",
            f"odd-sc-{suffix}",
            {"metadata": {"name": value}, "provisioner": "ebs.csi.aws.com"},
        ),
    ]


@pytest.mark.parametrize("value", ODD_VALUES, ids=[type(value).__name__ for value in ODD_VALUES])
@pytest.mark.parametrize("case", KUBERNETES_STACK_CASES, ids=[case.rule for case in KUBERNETES_STACK_CASES])
def test_an_odd_name_never_crashes_a_stack_rule(case: StackCase, value: Any) -> None:
    outcome = run_stack(case.rule, add(*_odd_objects(value))(case.resources), config=case.config)
    crashes = [message for message in outcome.messages if "could not evaluate" in message]
    assert not crashes, f"{case.rule}: a {type(value).__name__} name must not crash the stack rule; {crashes}"


@pytest.mark.parametrize("value", [{"name": "serving"}, ["serving"], 5], ids=["dict", "list", "int"])
def test_real_findings_survive_an_odd_name(value: Any) -> None:
    case = next(case for case in STACK_CASES if case.rule == "kubernetes-serving-namespace-default-deny")
    failure = next(iter(case.fails.values()))
    odd = [res for res in _odd_objects(value) if "NetworkPolicy" not in res.type]
    outcome = run_stack(case.rule, add(*odd)(failure.change(case.resources)), config=case.config)
    assert any(name == failure.resource for _, name in outcome.violations), (
        f"the missing default deny of '{failure.resource}' is still reported beside odd names; {outcome.describe()}"
    )


@pytest.mark.parametrize("value", [{"name": "fraud"}, ["fraud"], 5], ids=["dict", "list", "int"])
def test_a_policy_with_an_unreadable_namespace_is_unverifiable_not_a_pass(value: Any) -> None:
    case = next(case for case in STACK_CASES if case.rule == "kubernetes-serving-namespace-default-deny")
    failure = next(iter(case.fails.values()))
    deny = Res(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "odd-deny",
        {
            "metadata": {"name": "deny", "namespace": value},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
    )
    outcome = run_stack(case.rule, add(deny)(failure.change(case.resources)), config=case.config)
    assert not outcome.violations and outcome.advisory and failure.resource in outcome.advisory, (
        f"a default deny whose namespace cannot be read may or may not cover '{failure.resource}'; {outcome.describe()}"
    )
