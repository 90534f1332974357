"""AwsBackupPlan backs data stores up daily into a vault encrypted with its own key, with a least-privilege role."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.aws import AwsBackupPlan
from components.aws.iam import backup_key_policy

from .iam_eval import allows

BUCKET = "arn:aws:s3:::datasets"
BUCKET_KEY = "arn:aws:kms:eu-central-1:123456789012:key/datasets"


def build(run, **overrides):
    args = {
        "resource_arns": [BUCKET],
        "source_kms_key_arns": [BUCKET_KEY],
        "data_classification": "phi",
        "protect": True,
        **overrides,
    }
    return run(lambda: AwsBackupPlan("backup", args))


def test_recovery_points_land_in_a_protected_vault_under_a_rotating_key(run) -> None:
    recorder = build(run)
    vault = recorder.one("aws:backup/vault:Vault")
    key = recorder.one("aws:kms/key:Key")
    assert vault.inputs["kmsKeyArn"] == f"arn:aws:kms:eu-central-1:123456789012:key/{key.name}", (
        "the vault uses our key"
    )
    assert vault.inputs["forceDestroy"] is False, "a vault with recovery points is never force-deleted"
    assert vault.protect, "the vault is protected when the stack protects data"
    assert vault.retain_on_delete, "the vault is retained when the stack protects data"
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["tags"]["data-classification"] == "phi", "the record of processing covers backup copies"
    assert vault.inputs["tags"]["retention"] == "35d"


def test_the_plan_runs_daily_and_expires_recovery_points(run) -> None:
    recorder = build(run, retention_days=90)
    rule = recorder.one("aws:backup/plan:Plan").inputs["rules"][0]
    assert rule["schedule"] == "cron(0 3 * * ? *)", "one backup a day"
    assert rule["lifecycle"]["deleteAfter"] == 90, "recovery points expire (storage limitation)"


def test_the_selection_covers_exactly_the_given_stores_with_the_backup_role(run) -> None:
    recorder = build(run)
    selection = recorder.one("aws:backup/selection:Selection")
    role = recorder.one("aws:iam/role:Role")
    assert selection.inputs["resources"] == [BUCKET]
    assert selection.inputs["iamRoleArn"].endswith(f"role/{role.name}")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}, "only AWS Backup assumes it"


def test_the_role_decrypts_store_keys_only_through_s3() -> None:
    document = backup_key_policy([BUCKET_KEY], "arn:vault-key", "eu-central-1", "amazonaws.com")
    read = document["Statement"][0]
    assert read["Resource"] == [BUCKET_KEY], "decrypt only the protected stores' keys"
    assert read["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
    for statement in document["Statement"]:
        assert statement["Resource"] != "*", "no key permission on every key"


DB_KEY = "arn:aws:kms:eu-central-1:123456789012:key/database"
VIA_RDS = {"kms:ViaService": "rds.eu-central-1.amazonaws.com"}
VIA_S3 = {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}


def test_the_role_uses_database_keys_through_rds_only_so_rds_snapshots_are_taken() -> None:
    document = backup_key_policy([BUCKET_KEY], "arn:vault-key", "eu-central-1", "amazonaws.com", [DB_KEY])
    for action in ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:ReEncryptFrom"):
        assert allows(document, action, DB_KEY, VIA_RDS), f"RDS snapshots keep the instance's key: {action} via RDS"
        assert not allows(document, action, DB_KEY, VIA_S3), f"{action} on the database key only through RDS"
    assert not allows(document, "kms:Decrypt", BUCKET_KEY, VIA_RDS), "the stores' keys stay S3-only"
    (grant,) = [item for item in document["Statement"] if item["Action"] == "kms:CreateGrant"]
    assert grant["Resource"] == [DB_KEY]
    assert grant["Condition"] == {"StringEquals": VIA_RDS, "Bool": {"kms:GrantIsForAWSResource": "true"}}, (
        "RDS grants itself the key for copies and restores; nobody else gets a grant"
    )


def test_without_databases_no_database_key_statement_exists() -> None:
    document = backup_key_policy([BUCKET_KEY], "arn:vault-key", "eu-central-1", "amazonaws.com")
    assert not [item for item in document["Statement"] if "Database" in item["Sid"]]


def test_the_plan_passes_the_database_keys_to_its_role(run) -> None:
    recorder = build(run, database_kms_key_arns=[DB_KEY])
    (role_policy,) = recorder.by_type("aws:iam/rolePolicy:RolePolicy")
    document = json.loads(role_policy.inputs["policy"])
    assert allows(document, "kms:Decrypt", DB_KEY, VIA_RDS), "the RDS instance's recovery points can be created"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"retention_days": 0}, "retentionDays"),
        ({"schedule": "daily"}, "schedule"),
        ({"data_classification": "secret"}, "dataClassification"),
    ],
)
def test_bad_arguments_are_rejected_before_anything_is_created(run, recorder, change, path) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        build(run, **change)
    assert [error["property_path"] for error in caught.value.errors] == [path]
    assert not recorder.by_type("aws:backup/vault:Vault"), "nothing is registered before validation"
