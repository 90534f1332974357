"""Issue 20, class 4: one table per concept, so no spelling of a kind sidesteps the rules that check it.

A Deployment in `extensions/v1beta1`, a CronJob in `batch/v1beta1`, a server-side-apply `DeploymentPatch`, an
Ingress in `networking.k8s.io/v1beta1`: each carries the same pod spec or exposure as its v1 twin and must be
judged the same. Default deny means deny: an allow-all policy beside it cancels it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policies.cases import add, change
from tests.policies.harness import UNKNOWN, Res, run_resource, run_stack
from tests.policies.test_rules import STACK_CASES

PRIVILEGED_POD = {"containers": [{"name": "app", "image": "app:1", "securityContext": {"privileged": True}}]}

# (type token, dotted path of the pod spec in the object)
WORKLOADS: list[tuple[str, str]] = [
    ("kubernetes:core/v1:Pod", "spec"),
    ("kubernetes:core/v1:PodPatch", "spec"),
    ("kubernetes:core/v1:PodTemplate", "template.spec"),
    ("kubernetes:core/v1:ReplicationController", "spec.template.spec"),
    ("kubernetes:apps/v1:Deployment", "spec.template.spec"),
    ("kubernetes:apps/v1:DeploymentPatch", "spec.template.spec"),
    ("kubernetes:apps/v1beta1:Deployment", "spec.template.spec"),
    ("kubernetes:apps/v1beta2:Deployment", "spec.template.spec"),
    ("kubernetes:extensions/v1beta1:Deployment", "spec.template.spec"),
    ("kubernetes:extensions/v1beta1:DeploymentPatch", "spec.template.spec"),
    ("kubernetes:apps/v1:StatefulSet", "spec.template.spec"),
    ("kubernetes:apps/v1beta1:StatefulSet", "spec.template.spec"),
    ("kubernetes:apps/v1beta2:StatefulSetPatch", "spec.template.spec"),
    ("kubernetes:apps/v1:DaemonSet", "spec.template.spec"),
    ("kubernetes:extensions/v1beta1:DaemonSet", "spec.template.spec"),
    ("kubernetes:apps/v1beta2:DaemonSet", "spec.template.spec"),
    ("kubernetes:apps/v1:ReplicaSet", "spec.template.spec"),
    ("kubernetes:extensions/v1beta1:ReplicaSet", "spec.template.spec"),
    ("kubernetes:batch/v1:Job", "spec.template.spec"),
    ("kubernetes:batch/v1:JobPatch", "spec.template.spec"),
    ("kubernetes:batch/v1:CronJob", "spec.jobTemplate.spec.template.spec"),
    ("kubernetes:batch/v1beta1:CronJob", "spec.jobTemplate.spec.template.spec"),
    ("kubernetes:batch/v1beta1:CronJobPatch", "spec.jobTemplate.spec.template.spec"),
]


def _at(path: str, value: Any) -> dict[str, Any]:
    result: Any = copy.deepcopy(value)
    for key in reversed(path.split(".")):
        result = {key: result}
    return result


@pytest.mark.parametrize(("type_token", "path"), WORKLOADS, ids=[token for token, _ in WORKLOADS])
def test_every_workload_spelling_is_checked(type_token: str, path: str) -> None:
    props = {"metadata": {"name": "w", "namespace": "apps"}, **_at(path, PRIVILEGED_POD)}
    outcome = run_resource("kubernetes-workload-no-privilege-escalation", type_token, props, name="w")
    assert any("privileged" in message.lower() for message in outcome.messages), (
        f"a privileged container in a {type_token} at {path} is rejected like a v1 Deployment's; {outcome.describe()}"
    )


SERVICES = ["kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch"]


@pytest.mark.parametrize("type_token", SERVICES)
def test_every_service_spelling_is_checked(type_token: str) -> None:
    props = {"metadata": {"name": "lb", "namespace": "serving"}, "spec": {"type": "LoadBalancer"}}
    outcome = run_resource("kubernetes-load-balancer-internal", type_token, props, name="lb")
    assert outcome.violations, f"a public LoadBalancer {type_token} is rejected; {outcome.describe()}"


INGRESSES = [
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1:IngressPatch",
    "kubernetes:networking.k8s.io/v1beta1:Ingress",
    "kubernetes:networking.k8s.io/v1beta1:IngressPatch",
    "kubernetes:extensions/v1beta1:Ingress",
    "kubernetes:extensions/v1beta1:IngressPatch",
]


@pytest.mark.parametrize("type_token", INGRESSES)
def test_every_ingress_spelling_is_checked(type_token: str) -> None:
    props = {"metadata": {"name": "web", "namespace": "serving"}, "spec": {"rules": [{"host": "a.example"}]}}
    outcome = run_resource("kubernetes-ingress-tls", type_token, props, name="web")
    assert any("plain HTTP" in message for message in outcome.messages), (
        f"an Ingress without TLS spelled {type_token} is rejected; {outcome.describe()}"
    )


_DENY_CASE = next(case for case in STACK_CASES if case.rule == "kubernetes-serving-namespace-default-deny")


def _beside_the_deny(spec: dict[str, Any]) -> list[Res]:
    extra = Res(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "extra",
        {"metadata": {"name": "extra", "namespace": "fraud"}, "spec": spec},
    )
    return add(extra)(_DENY_CASE.resources)


CANCELS = "cancels"
KEEPS = "keeps"
UNVERIFIABLE = "unverifiable"

# (id, spec of a policy beside the default deny, verdict)
ALLOW_ALL: list[tuple[str, dict[str, Any], str]] = [
    ("ingress rule {}", {"podSelector": {}, "ingress": [{}]}, CANCELS),
    ("egress rule {}", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}, CANCELS),
    ("from empty list", {"podSelector": {}, "ingress": [{"from": []}]}, CANCELS),
    ("from all namespaces", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}, CANCELS),
    (
        "from all pods of all namespaces",
        {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {}}]}]},
        CANCELS,
    ),
    ("from the internet", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}, CANCELS),
    ("to the ipv6 internet", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]}, CANCELS),
    (
        "from half the internet twice",
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/1"}}]}]},
        CANCELS,
    ),
    ("on named ports only", {"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}]}, KEEPS),
    ("for some pods", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{}]}, KEEPS),
    ("from the vpc", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}, KEEPS),
    (
        "from one namespace",
        {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}]},
        KEEPS,
    ),
    ("from a computed peer", {"podSelector": {}, "ingress": [{"from": [UNKNOWN]}]}, UNVERIFIABLE),
    ("computed rules", {"podSelector": {}, "ingress": UNKNOWN}, UNVERIFIABLE),
]


@pytest.mark.parametrize(("spec", "verdict"), [(s, v) for _, s, v in ALLOW_ALL], ids=[row[0] for row in ALLOW_ALL])
def test_an_allow_all_policy_cancels_the_default_deny(spec: dict[str, Any], verdict: str) -> None:
    outcome = run_stack(_DENY_CASE.rule, _beside_the_deny(spec), config=_DENY_CASE.config)
    if verdict == CANCELS:
        assert any("cancels the default deny" in message for message in outcome.messages), (
            f"{spec} admits everyone to every pod of 'fraud'; {outcome.describe()}"
        )
    elif verdict == KEEPS:
        assert outcome.passed, f"{spec} is a narrow allow on top of the deny; {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, (
            f"{spec} may or may not admit everyone: unverifiable; {outcome.describe()}"
        )


NAMESPACE_SPELLINGS: list[tuple[str, dict[str, Any], bool]] = [
    ("metadata.namespace names it", {"namespace": "fraud"}, True),
    ("a label naming the namespace", {"namespace": "other", "labels": {"namespace": "fraud"}}, False),
    ("a name that looks like it", {"name": "fraud-default-deny", "namespace": "other"}, False),
]


@pytest.mark.parametrize(
    ("metadata", "counts"), [(m, c) for _, m, c in NAMESPACE_SPELLINGS], ids=[row[0] for row in NAMESPACE_SPELLINGS]
)
def test_a_policy_belongs_to_the_namespace_it_names(metadata: dict[str, Any], counts: bool) -> None:
    moved = change("default-deny", {"metadata": {"name": "default-deny", **metadata}})(_DENY_CASE.resources)
    outcome = run_stack(_DENY_CASE.rule, moved, config=_DENY_CASE.config)
    if counts:
        assert outcome.passed, f"the deny in metadata.namespace 'fraud' protects it; {outcome.describe()}"
    else:
        assert any("no default-deny" in message for message in outcome.messages), (
            f"a deny in another namespace does not protect 'fraud', whatever its labels or name; {outcome.describe()}"
        )
