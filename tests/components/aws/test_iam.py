"""The IAM, key and resource policy builders produce least-privilege documents (pure functions, no mocks)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.aws import iam

from ._support import OIDC_PROVIDER_ARN

ACCOUNT = "123456789012"
BUCKET_ARN = "arn:aws:s3:::models-bucket"
KEY_ARN = f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/1234"
LOG_GROUP = iam.log_group_arn("aws", "eu-central-1", ACCOUNT, "/aws/eks/prod/cluster")


CLUSTER = "ml-prod"
QUEUE_ARN = f"arn:aws:sqs:eu-central-1:{ACCOUNT}:ml-prod-karpenter"
KARPENTER_NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/karpenter-nodes"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _karpenter_policy(cluster_name: str = CLUSTER) -> dict[str, Any]:
    return iam.karpenter_controller_policy(
        partition="aws",
        region="eu-central-1",
        account_id=ACCOUNT,
        dns_suffix="amazonaws.com",
        cluster_name=cluster_name,
        queue_arn=QUEUE_ARN,
        node_role_arn=KARPENTER_NODE_ROLE,
        key_arn=KEY_ARN,
    )


def _identity_documents() -> dict[str, dict[str, Any]]:
    return {
        "cluster encryption": iam.cluster_encryption_policy(KEY_ARN),
        "ebs csi key": iam.ebs_csi_key_policy(KEY_ARN),
        "flow logs delivery": iam.flow_logs_delivery_policy("aws", "eu-central-1", ACCOUNT, LOG_GROUP),
        "serving read": iam.serving_read_policy(
            bucket_arn=BUCKET_ARN,
            prefix="fraud",
            key_arn=KEY_ARN,
            region="eu-central-1",
            dns_suffix="amazonaws.com",
            repository_arns=[f"arn:aws:ecr:eu-central-1:{ACCOUNT}:repository/models"],
        ),
        "flow logs trust": iam.flow_logs_trust_policy("aws", "eu-central-1", ACCOUNT),
        "irsa trust": iam.irsa_trust_policy(OIDC_PROVIDER_ARN, "fraud", "model-server"),
        "eks trust": iam.service_trust_policy("eks.amazonaws.com"),
        "karpenter controller": _karpenter_policy(),
        "pod identity trust": iam.pod_identity_trust_policy("prod", "kube-system", "karpenter"),
    }


@pytest.mark.parametrize("name", sorted(_identity_documents()))
def test_no_identity_policy_statement_allows_a_wildcard_action_on_a_wildcard_resource(name: str) -> None:
    document = _identity_documents()[name]
    for item in document["Statement"]:
        if item["Effect"] != "Allow":
            continue
        wildcard_actions = [
            action for action in _as_list(item.get("Action", [])) if action == "*" or action.endswith(":*")
        ]
        assert not (wildcard_actions and "*" in _as_list(item.get("Resource", []))), (
            f"{name}: {item.get('Sid')} grants {wildcard_actions} on every resource (admin-equivalent, HIPAA-AC-IAM-NO-ADMIN)"
        )


def test_every_document_has_the_current_policy_language_version() -> None:
    for name, document in _identity_documents().items():
        assert document["Version"] == "2012-10-17", f"{name}: older policy versions lack policy variables"


def test_the_irsa_trust_is_pinned_to_exactly_one_service_account_and_the_sts_audience() -> None:
    document = iam.irsa_trust_policy(OIDC_PROVIDER_ARN, "fraud", "model-server")
    assert len(document["Statement"]) == 1, "one statement, one federated principal"
    trust = document["Statement"][0]
    issuer = "oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
    assert trust["Principal"] == {"Federated": OIDC_PROVIDER_ARN}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(trust["Condition"]) == {"StringEquals"}, "StringLike would let wildcards match other accounts"
    assert trust["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:fraud:model-server",
        f"{issuer}:aud": "sts.amazonaws.com",
    }, "sub pins one namespace and service account; aud stops tokens minted for other audiences"


def test_oidc_issuer_is_taken_from_the_provider_arn_and_other_arns_are_rejected() -> None:
    assert iam.oidc_issuer_host_path(OIDC_PROVIDER_ARN) == "oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
    with pytest.raises(ValueError, match="not an IAM OIDC provider ARN"):
        iam.oidc_issuer_host_path("arn:aws:iam::123456789012:role/admin")


def test_serving_access_is_read_only_and_limited_to_the_namespace_prefix() -> None:
    document = _identity_documents()["serving read"]
    actions = {action for item in document["Statement"] for action in _as_list(item["Action"])}
    assert not {action for action in actions if action.startswith(("s3:Put", "s3:Delete", "kms:Encrypt"))}, (
        "a serving identity must not write or delete models"
    )
    read = next(item for item in document["Statement"] if item["Action"] == "s3:GetObject")
    assert read["Resource"] == f"{BUCKET_ARN}/fraud/*", "objects outside the namespace prefix stay unreadable"
    listing = next(item for item in document["Statement"] if item["Action"] == "s3:ListBucket")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["fraud/", "fraud/*"], (
        "listing is limited to the prefix (a bare 'fraud' would also match 'fraud-old/')"
    )
    decrypt = next(item for item in document["Statement"] if item["Action"] == "kms:Decrypt")
    assert decrypt["Resource"] == KEY_ARN
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-central-1.amazonaws.com", (
        "the key may only be used through S3, not to decrypt arbitrary ciphertext"
    )


def test_serving_access_without_repositories_has_no_ecr_statements() -> None:
    document = iam.serving_read_policy(
        bucket_arn=BUCKET_ARN,
        prefix="p",
        key_arn=KEY_ARN,
        region="eu-west-1",
        dns_suffix="amazonaws.com",
        repository_arns=[],
    )
    assert not [item for item in document["Statement"] if str(item["Action"]).startswith("ecr")]


def test_key_policies_keep_the_account_in_control_and_never_open_the_key_to_everyone() -> None:
    policies = {
        "data": iam.data_key_policy("aws", ACCOUNT),
        "logs": iam.log_group_key_policy("aws", "eu-central-1", ACCOUNT, "amazonaws.com", [LOG_GROUP]),
        "eks": iam.eks_cluster_key_policy("aws", "eu-central-1", ACCOUNT, "amazonaws.com", LOG_GROUP),
    }
    for name, document in policies.items():
        administration = next(item for item in document["Statement"] if item.get("Sid") == "EnableIamPolicies")
        assert administration["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, (
            f"{name}: without the account statement a policy mistake locks everyone out of the key for good"
        )
        for item in document["Statement"]:
            assert item["Principal"] not in ("*", {"AWS": "*"}), f"{name}: {item.get('Sid')} opens the key to anyone"
            if item["Action"] == "kms:*":
                assert item is administration, f"{name}: only the account root may hold kms:*"


def test_the_eks_key_lets_auto_scaling_launch_nodes_with_encrypted_volumes() -> None:
    document = iam.eks_cluster_key_policy("aws", "eu-central-1", ACCOUNT, "amazonaws.com", LOG_GROUP)
    role = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    use = next(item for item in document["Statement"] if item.get("Sid") == "AllowAutoScalingToUseTheKeyForVolumes")
    grant = next(item for item in document["Statement"] if item.get("Sid") == "AllowAutoScalingToGrantTheKeyToVolumes")
    assert use["Principal"] == {"AWS": role} and grant["Principal"] == {"AWS": role}, (
        "managed node groups launch through the Auto Scaling service-linked role; without it nodes never start"
    )
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"} <= set(use["Action"])
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}, "grants only for AWS resources"


def test_the_logs_statement_is_limited_to_the_named_log_groups() -> None:
    document = iam.log_group_key_policy("aws", "eu-central-1", ACCOUNT, "amazonaws.com", [LOG_GROUP])
    logs = next(item for item in document["Statement"] if item.get("Sid") == "AllowCloudWatchLogs")
    assert logs["Principal"] == {"Service": "logs.eu-central-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [LOG_GROUP]}}, (
        "CloudWatch Logs may use the key for these log groups only"
    )


def test_buckets_deny_every_request_without_tls_on_the_bucket_and_its_objects() -> None:
    document = iam.encrypted_bucket_policy(BUCKET_ARN)
    deny = next(item for item in document["Statement"] if item.get("Sid") == "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"], "both the bucket and its objects (HIPAA-TLS-S3-POLICY)"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_access_log_bucket_admits_s3_log_delivery_from_this_account_only() -> None:
    document = iam.access_log_bucket_policy("arn:aws:s3:::logs", ACCOUNT)
    delivery = next(item for item in document["Statement"] if item.get("Sid") == "AllowS3ServerAccessLogDelivery")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject" and delivery["Resource"] == "arn:aws:s3:::logs/*"
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, (
        "other accounts' buckets must not be able to write logs into ours"
    )
    assert any(item.get("Sid") == "DenyInsecureTransport" for item in document["Statement"]), "TLS only as well"


def test_repository_policies_allow_pulls_by_the_named_roles_and_deny_other_accounts() -> None:
    node_role = f"arn:aws:iam::{ACCOUNT}:role/nodes"
    document = iam.ecr_repository_policy(ACCOUNT, [node_role])
    allows = [item for item in document["Statement"] if item["Effect"] == "Allow"]
    assert len(allows) == 1 and allows[0]["Principal"] == {"AWS": [node_role]}, "pull only for the node roles"
    assert set(allows[0]["Action"]) == set(iam.ECR_PULL_ACTIONS), "pull, never push"
    deny = next(item for item in document["Statement"] if item["Effect"] == "Deny")
    assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}, (
        "the repository stays in the account"
    )


def test_flow_log_delivery_is_trusted_only_from_this_accounts_flow_logs() -> None:
    trust = iam.flow_logs_trust_policy("aws", "eu-central-1", ACCOUNT)["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, "confused-deputy guard"
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith(
        f"arn:aws:ec2:eu-central-1:{ACCOUNT}:vpc-flow-log/"
    )


# --- Karpenter ------------------------------------------------------------------------------------------

# What a launch references without creating or changing it: AWS's public AMIs and their snapshots (no tags of
# ours), capacity reservations, placement groups. Karpenter's documented policy leaves them unconditioned.
_REFERENCED = (":image/", ":snapshot/", ":capacity-reservation/", ":placement-group/")


def _statements_with(document: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [item for item in document["Statement"] if any(a.startswith(prefix) for a in _as_list(item["Action"]))]


def test_the_karpenter_policy_has_the_shape_iam_accepts() -> None:
    document = _karpenter_policy("c" * 100)
    assert json.loads(json.dumps(document)) == document, "plain JSON"
    assert document["Version"] == "2012-10-17", "the current policy language"
    sids = [item["Sid"] for item in document["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids), (
        f"statement IDs are unique and alphanumeric: {sids}"
    )
    for item in document["Statement"]:
        assert set(item) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, f"{item['Sid']}: unknown keys"
        assert item["Effect"] == "Allow", f"{item['Sid']}: an identity policy that only grants"
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", a) for a in _as_list(item["Action"])), (
            f"{item['Sid']}: actions are service:Action"
        )
        assert all(r == "*" or r.startswith("arn:aws:") for r in _as_list(item["Resource"])), (
            f"{item['Sid']}: resources are ARNs or *"
        )
    size = len(json.dumps(document, separators=(",", ":")))
    assert size < 10_240, f"inline role policies may hold 10,240 characters; a 100-character cluster name gives {size}"


def test_every_mutating_ec2_action_of_karpenter_is_conditioned_on_this_cluster() -> None:
    for item in _statements_with(_karpenter_policy(), "ec2:"):
        mutating = [a for a in _as_list(item["Action"]) if not a.startswith("ec2:Describe")]
        if not mutating:
            assert item["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-central-1"}}, (
                f"{item['Sid']}: reads stay in the cluster's region"
            )
            continue
        if all(any(kind in resource for kind in _REFERENCED) for resource in _as_list(item["Resource"])):
            assert set(mutating) == {"ec2:RunInstances", "ec2:CreateFleet"}, (
                f"{item['Sid']}: only launches may reference untagged AWS resources (AMIs, snapshots)"
            )
            continue
        condition = json.dumps(item.get("Condition", {}))
        assert f"kubernetes.io/cluster/{CLUSTER}" in condition or (
            f'"aws:ResourceTag/karpenter.sh/discovery": "{CLUSTER}"' in condition
        ), f"{item['Sid']}: {mutating} without this cluster's tag could touch other clusters' instances"


def test_karpenter_may_terminate_and_delete_only_what_it_launched_for_this_cluster() -> None:
    deletion = next(item for item in _karpenter_policy()["Statement"] if item["Sid"] == "AllowScopedDeletion")
    assert deletion["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }, "only instances and launch templates tagged as this cluster's and Karpenter's"
    launches = next(
        item for item in _karpenter_policy()["Statement"] if item["Sid"] == "AllowScopedEC2InstanceActionsWithTags"
    )
    assert launches["Condition"]["StringEquals"] == {
        f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": CLUSTER,
    }, "every launch must tag its instances as this cluster's"
    assert launches["Condition"]["StringLike"] == {"aws:RequestTag/karpenter.sh/nodepool": "*"}, "and Karpenter's"


def test_karpenter_may_pass_only_its_node_role_and_only_to_ec2() -> None:
    (pass_role,) = _statements_with(_karpenter_policy(), "iam:PassRole")
    assert pass_role["Action"] == "iam:PassRole" and pass_role["Resource"] == KARPENTER_NODE_ROLE, (
        "one role: the controller cannot hand EC2 an admin role"
    )
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
    }, "to EC2 instances only"


def test_karpenter_instance_profile_changes_are_scoped_to_its_own_tagged_profiles() -> None:
    for item in _statements_with(_karpenter_policy(), "iam:"):
        actions = set(_as_list(item["Action"]))
        if actions <= {"iam:PassRole", "iam:ListInstanceProfiles", "iam:GetInstanceProfile"}:
            continue
        condition = json.dumps(item["Condition"])
        assert f"kubernetes.io/cluster/{CLUSTER}" in condition and "karpenter.k8s.aws/ec2nodeclass" in condition, (
            f"{item['Sid']}: {sorted(actions)} only on profiles Karpenter created for this cluster"
        )
        assert item["Resource"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/*", f"{item['Sid']}: profiles only"


def test_karpenter_reads_only_its_own_queue_and_describes_only_its_cluster() -> None:
    document = _karpenter_policy()
    (queue,) = _statements_with(document, "sqs:")
    assert queue["Resource"] == QUEUE_ARN, "this cluster's interruption queue only"
    assert sorted(queue["Action"]) == ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "read, no send"
    (describe,) = _statements_with(document, "eks:")
    assert describe["Resource"] == f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/{CLUSTER}", "this cluster only"
    (ssm,) = _statements_with(document, "ssm:")
    assert ssm["Resource"] == "arn:aws:ssm:eu-central-1::parameter/aws/service/*", "AWS's public AMI parameters"


def test_karpenter_uses_the_cluster_key_only_through_ec2_for_node_volumes() -> None:
    kms = _statements_with(_karpenter_policy(), "kms:")
    assert kms and all(item["Resource"] == KEY_ARN for item in kms), "the cluster key only"
    for item in kms:
        assert item["Condition"]["StringEquals"] == {"kms:ViaService": "ec2.eu-central-1.amazonaws.com"}, (
            f"{item['Sid']}: through EC2 (volume encryption), never to decrypt arbitrary ciphertext"
        )
    actions = {action for item in kms for action in _as_list(item["Action"])}
    assert actions == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
        "kms:CreateGrant",
    }, "what EBS needs to encrypt a volume at launch"
    grant = next(item for item in kms if item["Action"] == "kms:CreateGrant")
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}, "grants only for the volumes"


def test_the_pod_identity_trust_pins_cluster_namespace_and_service_account() -> None:
    (trust,) = iam.pod_identity_trust_policy(CLUSTER, "kube-system", "karpenter")["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}, "EKS Pod Identity"
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"], "Pod Identity tags the session"
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-name": CLUSTER,
            "aws:RequestTag/kubernetes-namespace": "kube-system",
            "aws:RequestTag/kubernetes-service-account": "karpenter",
        }
    }, "an association for another service account or cluster cannot use the role"


def test_the_interruption_queue_admits_eventbridge_from_the_given_rules_and_sqs_over_tls_only() -> None:
    rules = [f"arn:aws:events:eu-central-1:{ACCOUNT}:rule/ml-prod-karpenter-spot-interruption"]
    document = iam.karpenter_interruption_queue_policy(QUEUE_ARN, rules)
    allows = [item for item in document["Statement"] if item["Effect"] == "Allow"]
    assert {item["Principal"]["Service"] for item in allows} == {"events.amazonaws.com", "sqs.amazonaws.com"}, (
        "Karpenter's two senders"
    )
    assert all(item["Action"] == "sqs:SendMessage" and item["Resource"] == QUEUE_ARN for item in allows), "send only"
    events = next(item for item in allows if item["Principal"]["Service"] == "events.amazonaws.com")
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": rules}}, "confused-deputy guard: our rules only"
    (deny,) = [item for item in document["Statement"] if item["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "sqs:*", "every request by anyone"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, "without TLS is refused"


def test_the_interruption_events_are_those_karpenter_handles() -> None:
    patterns = [iam.event_pattern(*event) for event in iam.KARPENTER_INTERRUPTION_EVENTS.values()]
    assert {"source": ["aws.health"], "detail-type": ["AWS Health Event"]} in patterns, "scheduled changes"
    assert {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]} in patterns, "spot"
    assert len(patterns) == 5, "health, spot, rebalance, state change, capacity reservation (v1.14.1)"
