"""The IAM, key and resource policy builders produce least-privilege documents (pure functions, no mocks)."""

from __future__ import annotations

from typing import Any

import pytest

from components.aws import iam

from ._support import OIDC_PROVIDER_ARN

ACCOUNT = "123456789012"
BUCKET_ARN = "arn:aws:s3:::models-bucket"
KEY_ARN = f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/1234"
LOG_GROUP = iam.log_group_arn("aws", "eu-central-1", ACCOUNT, "/aws/eks/prod/cluster")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


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
