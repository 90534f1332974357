"""Issue 20, class 3: an unknown element of a list a rule iterates is unverifiable, exactly like an unknown scalar.

Each row starts from the rule's compliant baseline (`cases_*.py`) and replaces one list, or one element of it,
with a value computed during preview. The verdict must be "cannot be verified" (an advisory), never a pass
(the unknown element might be '*', 0.0.0.0/0 or a hostPath) and never a crash.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policies.cases import ResourceCase
from tests.policies.harness import UNKNOWN, mutate, run_resource
from tests.policies.test_rules import RESOURCE_CASES

BY_ID: dict[str, ResourceCase] = {case.id: case for case in RESOURCE_CASES}

_POD = "spec.template.spec"
_CONTAINER = f"{_POD}.containers[0]"


def _document(**statement: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})


# (case id, what the row injects, changes to the baseline)
ROWS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "aws-iam-policy-no-admin-access",
        "an IAM action",
        {"policy": _document(Action=["s3:GetObject", UNKNOWN], Resource="arn:aws:s3:::models/*")},
    ),
    (
        "aws-iam-policy-no-admin-access",
        "an IAM resource next to a service wildcard",
        {"policy": _document(Action="s3:*", Resource=["arn:aws:s3:::models", UNKNOWN])},
    ),
    ("aws-iam-policy-no-admin-access", "the IAM statements", {"policy": json.dumps({"Statement": UNKNOWN})}),
    (
        "aws-ecr-repository-policy-no-public-access",
        "an IAM principal",
        {"policy": _document(Principal={"AWS": ["arn:aws:iam::123456789012:root", UNKNOWN]}, Action="ecr:*")},
    ),
    (
        "aws-sqs-queue-policy-no-public-access",
        "an IAM principal",
        {"policy": _document(Principal={"AWS": [UNKNOWN]}, Action="sqs:SendMessage")},
    ),
    ("kubernetes-rbac-least-privilege-rules", "an RBAC verb", {"rules[0].verbs": ["get", UNKNOWN]}),
    ("kubernetes-rbac-least-privilege-rules", "an RBAC resource", {"rules[0].resources": ["pods", UNKNOWN]}),
    ("kubernetes-rbac-least-privilege-rules", "an RBAC API group", {"rules[0].apiGroups": [UNKNOWN]}),
    ("kubernetes-rbac-least-privilege-rules", "an RBAC rule", {"rules": [UNKNOWN]}),
    (
        "kubernetes-rbac-no-cluster-admin-binding",
        "a subject of a cluster-admin binding",
        {"roleRef.name": "cluster-admin", "subjects": [UNKNOWN]},
    ),
    (
        "kubernetes-workload-capabilities-dropped",
        "an added capability",
        {f"{_CONTAINER}.securityContext.capabilities.add": [UNKNOWN]},
    ),
    ("kubernetes-workload-capabilities-dropped", "a container", {f"{_POD}.containers": [UNKNOWN]}),
    ("kubernetes-workload-host-isolation", "a volume", {f"{_POD}.volumes": [UNKNOWN]}),
    ("kubernetes-workload-host-isolation", "a container port", {f"{_CONTAINER}.ports": [UNKNOWN]}),
    ("kubernetes-workload-run-as-non-root", "an init container", {f"{_POD}.initContainers": [UNKNOWN]}),
    ("kubernetes-workload-no-plaintext-secret-env", "an env entry", {f"{_CONTAINER}.env": [UNKNOWN]}),
    ("aws-ec2-launch-template-no-public-ip", "a network interface", {"networkInterfaces": [UNKNOWN]}),
    ("azure-aks-node-pool-no-public-ip", "an agent pool", {"agentPoolProfiles": [UNKNOWN]}),
    ("kubernetes-gateway-listener-tls", "a listener", {"spec.listeners": [UNKNOWN]}),
    (
        "aws-ecr-replication-region-allowed",
        "a replication destination",
        {"replicationConfiguration.rules[0].destinations": [UNKNOWN]},
    ),
    (
        "aws-ec2-security-group-no-public-ingress",
        "an ingress CIDR",
        {"ingress[0].cidrBlocks": ["10.0.0.0/16", UNKNOWN]},
    ),
    ("aws-ec2-security-group-no-public-ingress", "an ingress rule", {"ingress": [UNKNOWN]}),
    (
        "aws-eks-cluster-private-endpoint",
        "a public access CIDR",
        {"vpcConfig.endpointPublicAccess": True, "vpcConfig.publicAccessCidrs": ["198.51.100.0/24", UNKNOWN]},
    ),
]


@pytest.mark.parametrize(("case_id", "what", "changes"), ROWS, ids=[f"{row[0]}: {row[1]}" for row in ROWS])
def test_an_unknown_list_element_is_unverifiable(case_id: str, what: str, changes: dict[str, Any]) -> None:
    case = BY_ID[case_id]
    baseline = run_resource(case.rule, case.type, case.props, provider=case.provider)
    assert baseline.passed, f"{case_id}: the baseline passes before the injection; {baseline.describe()}"
    outcome = run_resource(case.rule, case.type, mutate(case.props, changes), provider=case.provider)
    assert outcome.advisory and not outcome.violations, (
        f"{case_id}: {what} computed during preview must be unverifiable, never a pass nor a crash; "
        f"{outcome.describe()}"
    )


def test_every_row_names_a_rule_with_a_case() -> None:
    missing = [case_id for case_id, _, _ in ROWS if case_id not in BY_ID]
    assert not missing, f"rows without a compliant baseline in cases_*.py: {missing}"
