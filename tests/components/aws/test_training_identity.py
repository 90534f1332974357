"""AwsTrainingIdentity: a team's training jobs read their datasets and write their models and artifacts, nothing else."""

from __future__ import annotations

import pulumi
import pytest

from components.aws import AwsTrainingIdentity, iam
from components.aws.training_identity import STORES

from ._support import OIDC_PROVIDER_ARN, error_paths, nothing_registered, policy
from .iam_eval import allows

DATA = "arn:aws:s3:::ml-data"
DATA_KEY = "arn:aws:kms:eu-central-1:123456789012:key/data"
ARTIFACTS = "arn:aws:s3:::ml-artifacts"
ARTIFACTS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/artifacts"
OTHER_BUCKET = "arn:aws:s3:::ml-other"
VIA_S3 = "s3.eu-central-1.amazonaws.com"


def _args(**overrides):
    return {
        "namespace": "vision",
        "oidc_provider_arn": OIDC_PROVIDER_ARN,
        "datasets": {"bucket_arn": DATA, "kms_key_arn": DATA_KEY},
        "models": {"bucket_arn": ARTIFACTS, "kms_key_arn": ARTIFACTS_KEY},
        "artifacts": {"bucket_arn": ARTIFACTS, "kms_key_arn": ARTIFACTS_KEY},
        **overrides,
    }


def _document(run, **overrides) -> dict:
    recorder = run(lambda: AwsTrainingIdentity("train-vision", _args(**overrides)))
    return policy(recorder.one("aws:iam/rolePolicy:RolePolicy").inputs)


@pytest.fixture
def document(run) -> dict:
    return _document(run)


def can(document, action: str, resource: str, **context: str) -> bool:
    return allows(document, action, resource, context)


def test_only_the_training_service_account_can_assume_the_role(run) -> None:
    role = run(lambda: AwsTrainingIdentity("train-vision", _args())).one("aws:iam/role:Role")
    (trust,) = policy(role.inputs, "assumeRolePolicy")["Statement"]
    issuer = "oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
    assert trust["Condition"]["StringEquals"][f"{issuer}:sub"] == "system:serviceaccount:vision:trainer"
    assert trust["Condition"]["StringEquals"][f"{issuer}:aud"] == "sts.amazonaws.com"


def test_the_team_reads_and_lists_its_datasets(document) -> None:
    assert can(document, "s3:GetObject", f"{DATA}/datasets/vision/imagenet/shard-0001.tar")
    assert can(document, "s3:ListBucket", DATA, **{"s3:prefix": "datasets/vision/imagenet/"})
    assert can(
        document,
        "kms:Decrypt",
        DATA_KEY,
        **{
            "kms:ViaService": VIA_S3,
            "kms:EncryptionContext:aws:s3:arn": f"{DATA}/datasets/vision/imagenet/shard-0001.tar",
        },
    )


def test_datasets_are_read_only(document) -> None:
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert not can(document, action, f"{DATA}/datasets/vision/imagenet/shard-0001.tar"), action
    assert not can(
        document,
        "kms:GenerateDataKey",
        DATA_KEY,
        **{
            "kms:ViaService": VIA_S3,
            "kms:EncryptionContext:aws:s3:arn": f"{DATA}/datasets/vision/x",
        },
    ), "nothing is encrypted into the datasets bucket"


@pytest.mark.parametrize("store", ["models", "artifacts"])
def test_the_team_writes_reads_back_and_uploads_in_parts_under_its_prefixes(document, store: str) -> None:
    key = f"{ARTIFACTS}/{store}/vision/run-42/checkpoint-1000.pt"
    for action in ("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"):
        assert can(document, action, key), action
    assert can(document, "s3:ListBucket", ARTIFACTS, **{"s3:prefix": f"{store}/vision/run-42/"})
    context = {"kms:ViaService": VIA_S3, "kms:EncryptionContext:aws:s3:arn": key}
    assert can(document, "kms:GenerateDataKey", ARTIFACTS_KEY, **context), "SSE-KMS uploads need a data key"
    assert can(document, "kms:Decrypt", ARTIFACTS_KEY, **context), "multipart uploads and reads need Decrypt"


@pytest.mark.parametrize(
    "resource",
    [
        f"{DATA}/datasets/audio/x.tar",
        f"{DATA}/datasets/vision-extra/x.tar",
        f"{ARTIFACTS}/models/audio/model.pt",
        f"{ARTIFACTS}/artifacts/audio/run-1/metrics.json",
        f"{ARTIFACTS}/models/vision.pt",
        f"{OTHER_BUCKET}/datasets/vision/x.tar",
        f"{OTHER_BUCKET}/models/vision/x.pt",
    ],
)
def test_another_teams_prefixes_and_other_buckets_are_denied(document, resource: str) -> None:
    for action in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"):
        assert not can(document, action, resource), f"{action} {resource}"


def test_listing_outside_the_team_prefixes_or_without_a_prefix_is_denied(document) -> None:
    for bucket, prefix in [
        (DATA, "datasets/audio/"),
        (DATA, ""),
        (ARTIFACTS, "models/"),
        (OTHER_BUCKET, "datasets/vision/"),
    ]:
        assert not can(document, "s3:ListBucket", bucket, **{"s3:prefix": prefix}), (bucket, prefix)
    assert not can(document, "s3:ListBucket", DATA), "no prefix in the request, no listing"


def test_no_deletes_anywhere(document) -> None:
    for resource in (
        f"{ARTIFACTS}/models/vision/model.pt",
        f"{ARTIFACTS}/artifacts/vision/run/x",
        f"{DATA}/datasets/vision/x",
    ):
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutObjectAcl"):
            assert not can(document, action, resource), f"{action} {resource}"


def test_keys_work_only_through_s3_and_only_for_team_objects(document) -> None:
    team_object = f"{ARTIFACTS}/models/vision/model.pt"
    assert not can(document, "kms:Decrypt", ARTIFACTS_KEY, **{"kms:EncryptionContext:aws:s3:arn": team_object})
    assert not can(
        document,
        "kms:Decrypt",
        ARTIFACTS_KEY,
        **{
            "kms:ViaService": VIA_S3,
            "kms:EncryptionContext:aws:s3:arn": f"{ARTIFACTS}/models/audio/model.pt",
        },
    )
    assert not can(
        document,
        "kms:Decrypt",
        "arn:aws:kms:eu-central-1:123456789012:key/other",
        **{
            "kms:ViaService": VIA_S3,
            "kms:EncryptionContext:aws:s3:arn": team_object,
        },
    )


def test_nothing_but_s3_object_and_kms_data_actions_is_granted(document) -> None:
    actions = {action for item in document["Statement"] for action in iam_actions(item)}
    assert actions == {
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }
    assert all("*" not in action for action in actions)


def iam_actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_custom_prefixes_and_team_are_honoured(run) -> None:
    document = _document(run, team="cv", datasets={"bucket_arn": DATA, "kms_key_arn": DATA_KEY, "prefix": "shared/cv"})
    assert can(document, "s3:GetObject", f"{DATA}/shared/cv/x")
    assert can(document, "s3:PutObject", f"{ARTIFACTS}/models/cv/x")
    assert not can(document, "s3:GetObject", f"{DATA}/datasets/vision/x")


def test_the_pure_builder_keeps_a_bucket_shared_by_two_stores_in_one_set_of_statements() -> None:
    document = iam.training_data_policy(
        reads=[(DATA, "datasets/vision", DATA_KEY)],
        writes=[(ARTIFACTS, "models/vision", ARTIFACTS_KEY), (ARTIFACTS, "artifacts/vision", ARTIFACTS_KEY)],
        region="eu-central-1",
        dns_suffix="amazonaws.com",
    )
    lists = [item for item in document["Statement"] if item["Action"] == "s3:ListBucket"]
    assert [item["Resource"] for item in lists] == [DATA, ARTIFACTS]
    assert len({item["Sid"] for item in document["Statement"]}) == len(document["Statement"]), "unique Sids"


def test_bad_arguments_are_reported_with_paths_before_anything_registers(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: AwsTrainingIdentity(
                "x",
                {
                    "namespace": "Vision",
                    "oidc_provider_arn": OIDC_PROVIDER_ARN,
                    "service_account": "train_er",
                    "team": "a/b",
                    "datasets": {"bucket_arn": DATA, "kms_key_arn": DATA_KEY, "prefix": "data/*"},
                    "models": {"bucket_arn": DATA, "kms_key_arn": DATA_KEY, "prefix": "data"},
                    "artifacts": {"bucket_arn": ARTIFACTS, "kms_key": ARTIFACTS_KEY},
                    "bucket_arn": DATA,
                },
            )
        )
    paths = set(error_paths(raised.value))
    assert {
        "namespace",
        "serviceAccount",
        "team",
        "datasets.prefix",
        "artifacts.kmsKeyArn",
        "artifacts.kmsKey",
        "bucketArn",
    } <= paths, paths
    assert nothing_registered(recorder)


def test_a_model_prefix_inside_the_datasets_prefix_is_refused(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: AwsTrainingIdentity(
                "x", _args(models={"bucket_arn": DATA, "kms_key_arn": DATA_KEY, "prefix": "datasets/vision/out"})
            )
        )
    assert error_paths(raised.value) == ["models.prefix"], "the role would write its own training data"


def test_every_store_is_required(run) -> None:
    args = _args()
    for store, _ in STORES:
        del args[store]
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: AwsTrainingIdentity("x", args))
    assert set(error_paths(raised.value)) == {"datasets", "models", "artifacts"}
