"""AwsServingIdentity: one namespace's service account gets read-only access to its model prefix."""

from __future__ import annotations

import pulumi
import pytest

from components.aws import AwsServingIdentity
from stacks.synth import run_program

from ._support import OIDC_PROVIDER_ARN, error_paths, nothing_registered, policy
from .iam_eval import allows

BUCKET_ARN = "arn:aws:s3:::models-bucket"
KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/models"
REPOSITORY_ARN = "arn:aws:ecr:eu-central-1:123456789012:repository/models"


def _identity(run, **overrides):
    args = {
        "namespace": "fraud-detection",
        "oidc_provider_arn": OIDC_PROVIDER_ARN,
        "bucket_arn": BUCKET_ARN,
        "kms_key_arn": KEY_ARN,
        "repository_arns": [REPOSITORY_ARN],
        **overrides,
    }
    return run(lambda: AwsServingIdentity("serving-fraud", args))


def test_only_the_namespaces_service_account_can_assume_the_role(run) -> None:
    role = _identity(run).one("aws:iam/role:Role")
    (trust,) = policy(role.inputs, "assumeRolePolicy")["Statement"]
    issuer = "oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
    assert trust["Principal"] == {"Federated": OIDC_PROVIDER_ARN}
    assert trust["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": "system:serviceaccount:fraud-detection:model-server",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }, "no other namespace or service account may exchange its token for this role"


def test_the_role_reads_only_its_prefix_and_decrypts_through_s3(run) -> None:
    document = policy(_identity(run, prefix="fraud").one("aws:iam/rolePolicy:RolePolicy").inputs)
    by_action = {str(item["Action"]): item for item in document["Statement"]}
    assert by_action["s3:GetObject"]["Resource"] == f"{BUCKET_ARN}/fraud/*"
    assert by_action["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": ["fraud/", "fraud/*"]}}
    assert by_action["kms:Decrypt"]["Resource"] == KEY_ARN, "only the models bucket's key"
    pull = next(item for item in document["Statement"] if item.get("Sid") == "PullModelImages")
    assert pull["Resource"] == [REPOSITORY_ARN], "image pulls only from the platform's repositories"


def test_the_prefix_defaults_to_the_namespace(run) -> None:
    document = policy(_identity(run).one("aws:iam/rolePolicy:RolePolicy").inputs)
    assert {
        "Sid": "ReadModelObjects",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"{BUCKET_ARN}/fraud-detection/*",
    } in document["Statement"]


def test_outputs_tell_the_kubernetes_layer_how_to_annotate_the_service_account(run) -> None:
    outputs = _identity(run).one("mlplatform:index:AwsServingIdentity").outputs
    assert outputs["roleArn"].endswith("/serving-fraud-role")
    assert outputs["namespace"] == "fraud-detection" and outputs["serviceAccount"] == "model-server"


def test_wildcard_prefixes_and_bad_names_are_rejected(recorder) -> None:
    args = {
        "namespace": "Fraud",
        "service_account": "sa",
        "prefix": "models/*",
        "oidc_provider_arn": OIDC_PROVIDER_ARN,
        "bucket_arn": BUCKET_ARN,
        "kms_key_arn": KEY_ARN,
    }
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsServingIdentity("serving", args))  # type: ignore[arg-type]
    assert error_paths(error.value) == ["namespace", "prefix"]
    assert nothing_registered(recorder)


# --- Secrets Manager: each namespace's role reads only its own secrets --------------------------------------

SECRETS_KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/secrets"


def _secret_arn(name: str) -> str:
    """The ARN Secrets Manager gives secret `name` (its name plus a random six-character suffix)."""
    return f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:{name}-AbC123"


def _secrets_policy(run, **overrides):
    identity = _identity(run, secret_name_prefix="mlplatform-prod/fraud-detection", **overrides)
    return policy(identity.one("aws:iam/rolePolicy:RolePolicy").inputs)


def test_the_role_reads_its_namespaces_secrets_and_no_other_namespaces(run) -> None:
    document = _secrets_policy(run)
    own = _secret_arn("mlplatform-prod/fraud-detection/hf-token")
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"):
        assert allows(document, action, own), f"{action} on the namespace's own secret is what the CSI driver needs"
    for other in (
        "mlplatform-prod/churn/hf-token",  # another namespace
        "mlplatform-prod/fraud-detection-eu/hf-token",  # a namespace whose name starts with this one's
        "mlplatform-dev/fraud-detection/hf-token",  # the same namespace of another stack
        "hf-token",  # a secret outside every prefix
    ):
        assert not allows(document, "secretsmanager:GetSecretValue", _secret_arn(other)), (
            f"the fraud-detection role must not read {other}"
        )
    for write in ("secretsmanager:PutSecretValue", "secretsmanager:ListSecrets", "secretsmanager:DeleteSecret"):
        assert not allows(document, write, own), f"read-only: {write} is not granted"


def test_the_secrets_key_decrypts_only_through_secrets_manager_for_the_namespaces_secrets(run) -> None:
    document = _secrets_policy(run, secrets_kms_key_arn=SECRETS_KEY_ARN)
    via = {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}
    own = {**via, "kms:EncryptionContext:SecretARN": _secret_arn("mlplatform-prod/fraud-detection/hf-token")}
    other = {**via, "kms:EncryptionContext:SecretARN": _secret_arn("mlplatform-prod/churn/hf-token")}
    assert allows(document, "kms:Decrypt", SECRETS_KEY_ARN, own)
    assert not allows(document, "kms:Decrypt", SECRETS_KEY_ARN, other), "another namespace's secret, same key"
    assert not allows(document, "kms:Decrypt", SECRETS_KEY_ARN, {"kms:ViaService": "s3.eu-central-1.amazonaws.com"})


def test_without_a_secret_prefix_the_role_reads_no_secrets(run) -> None:
    document = policy(_identity(run).one("aws:iam/rolePolicy:RolePolicy").inputs)
    assert not allows(document, "secretsmanager:GetSecretValue", _secret_arn("fraud-detection/hf-token"))
    assert not any("secretsmanager" in str(item["Action"]) for item in document["Statement"])


def test_secret_prefixes_with_wildcards_or_a_key_without_a_prefix_are_rejected(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        run_program(
            lambda: AwsServingIdentity(
                "bad",
                {
                    "namespace": "fraud",
                    "oidc_provider_arn": OIDC_PROVIDER_ARN,
                    "bucket_arn": BUCKET_ARN,
                    "kms_key_arn": KEY_ARN,
                    "secret_name_prefix": "mlplatform/*",
                },
            ),
        )
    assert "secretNamePrefix" in error_paths(caught.value)
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        run_program(
            lambda: AwsServingIdentity(
                "bad",
                {
                    "namespace": "fraud",
                    "oidc_provider_arn": OIDC_PROVIDER_ARN,
                    "bucket_arn": BUCKET_ARN,
                    "kms_key_arn": KEY_ARN,
                    "secrets_kms_key_arn": SECRETS_KEY_ARN,
                },
            ),
        )
    assert error_paths(caught.value) == ["secretsKmsKeyArn"]
