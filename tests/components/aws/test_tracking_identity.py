"""AwsTrackingIdentity: the MLflow server writes its own artifacts prefix and touches no other data."""

from __future__ import annotations

import pulumi
import pytest

from components.aws import AwsTrackingIdentity

from ._support import OIDC_PROVIDER_ARN, error_paths, nothing_registered, policy
from .iam_eval import allows

ARTIFACTS = "arn:aws:s3:::ml-artifacts"
ARTIFACTS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/artifacts"
DATASETS = "arn:aws:s3:::ml-datasets"
DATASETS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/datasets"
VIA_S3 = "s3.eu-central-1.amazonaws.com"


def _args(**overrides):
    return {
        "oidc_provider_arn": OIDC_PROVIDER_ARN,
        "artifacts_bucket_arn": ARTIFACTS,
        "artifacts_kms_key_arn": ARTIFACTS_KEY,
        **overrides,
    }


@pytest.fixture
def recorded(run):
    return run(lambda: AwsTrackingIdentity("mlflow", _args()))


@pytest.fixture
def document(recorded) -> dict:
    return policy(recorded.one("aws:iam/rolePolicy:RolePolicy").inputs)


def kms(action: str, key: str, obj: str) -> tuple[str, str, dict[str, str]]:
    return action, key, {"kms:ViaService": VIA_S3, "kms:EncryptionContext:aws:s3:arn": obj}


def test_only_the_tracking_servers_service_account_can_assume_the_role(recorded) -> None:
    (trust,) = policy(recorded.one("aws:iam/role:Role").inputs, "assumeRolePolicy")["Statement"]
    issuer = "oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
    assert trust["Condition"]["StringEquals"][f"{issuer}:sub"] == "system:serviceaccount:mlflow:mlflow"
    assert trust["Condition"]["StringEquals"][f"{issuer}:aud"] == "sts.amazonaws.com"


def test_the_server_writes_reads_and_lists_under_mlflow_only(document) -> None:
    run_artifact = f"{ARTIFACTS}/mlflow/1/0a1b2c/artifacts/model/model.pkl"
    for action in ("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"):
        assert allows(document, action, run_artifact), f"proxied uploads and downloads need {action}"
    assert allows(document, "s3:ListBucket", ARTIFACTS, {"s3:prefix": "mlflow/1/0a1b2c/artifacts/"})
    assert allows(document, *kms("kms:GenerateDataKey", ARTIFACTS_KEY, run_artifact)), "SSE-KMS uploads"
    assert allows(document, *kms("kms:Decrypt", ARTIFACTS_KEY, run_artifact)), "downloads and multipart uploads"


@pytest.mark.parametrize(
    "resource",
    [
        f"{ARTIFACTS}/artifacts/vision/run-1/metrics.json",
        f"{ARTIFACTS}/mlflow-other/x",
        f"{ARTIFACTS}/models/vision/model.pt",
        f"{DATASETS}/datasets/vision/shard-0.tar",
        f"{DATASETS}/mlflow/x",
    ],
)
def test_other_prefixes_and_the_datasets_bucket_are_denied(document, resource: str) -> None:
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert not allows(document, action, resource), f"{action} {resource}"
    assert not allows(document, *kms("kms:Decrypt", DATASETS_KEY, resource)), "the datasets key is never usable"


def test_no_listing_outside_the_prefix_and_no_deletes(document) -> None:
    for bucket, prefix in ((ARTIFACTS, ""), (ARTIFACTS, "artifacts/"), (DATASETS, "datasets/")):
        assert not allows(document, "s3:ListBucket", bucket, {"s3:prefix": prefix}), (bucket, prefix)
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy"):
        assert not allows(document, action, f"{ARTIFACTS}/mlflow/1/x"), action


def test_the_artifacts_destination_names_the_bucket_and_prefix(recorded) -> None:
    (component,) = recorded.by_type("mlplatform:index:AwsTrackingIdentity")
    assert component.outputs["artifactsDestination"] == "s3://ml-artifacts/mlflow", (
        "what ExperimentTracking passes as --artifacts-destination"
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"prefix": "/mlflow/"}, "prefix"),
        ({"prefix": "ml*"}, "prefix"),
        ({"namespace": "MLflow"}, "namespace"),
        ({"artifacts_kms_key_arn": None}, "artifactsKmsKeyArn"),
        ({"bucket": "x"}, "bucket"),
    ],
)
def test_bad_arguments_are_rejected_by_name_before_anything_is_created(run, recorder, change, path) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: AwsTrackingIdentity("mlflow", _args(**change)))
    assert path in error_paths(raised.value)
    assert nothing_registered(recorder)
