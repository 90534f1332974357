"""AwsPostgres is private, encrypted with its customer-managed key, TLS-only, passwordless in state and protected."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.aws import AwsPostgres
from components.aws.postgres import ENGINE_MAJOR_VERSION, PARAMETER_GROUP_FAMILY

INSTANCE = "aws:rds/instance:Instance"
NODE_SG = "sg-nodes"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def build(run, **overrides):
    args = {
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "allowed_security_group_ids": [NODE_SG],
        "protect": True,
        **overrides,
    }
    return run(lambda: AwsPostgres("mlflow-db", args))


def test_the_database_is_private_and_admits_only_the_given_security_groups_on_5432(run) -> None:
    recorder = build(run, allowed_security_group_ids=[NODE_SG, "sg-jobs"])
    db = recorder.one(INSTANCE).inputs
    sg = recorder.one("aws:ec2/securityGroup:SecurityGroup")
    assert db["publiclyAccessible"] is False
    assert db["vpcSecurityGroupIds"] == [f"{sg.name}-id"], "its own security group only"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs, "no inline rules, no egress"
    rules = recorder.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(rule.inputs["referencedSecurityGroupId"] for rule in rules) == sorted([NODE_SG, "sg-jobs"])
    for rule in rules:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (5432, 5432, "tcp")
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, "no address ranges"
    assert not recorder.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    subnets = recorder.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == ["subnet-a", "subnet-b"]


def test_storage_secret_and_insights_are_encrypted_with_its_own_rotating_key(run) -> None:
    recorder = build(run)
    key = recorder.one("aws:kms/key:Key", "mlflow-db-key")
    db = recorder.one(INSTANCE).inputs
    key_arn = f"arn:aws:kms:eu-central-1:123456789012:key/{key.name}"
    assert db["storageEncrypted"] is True
    assert db["kmsKeyId"] == key_arn
    assert db["masterUserSecretKmsKeyId"] == key_arn
    assert db["performanceInsightsEnabled"] is True and db["performanceInsightsKmsKeyId"] == key_arn
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    assert key.protect and key.retain_on_delete, "losing the key loses the database and its snapshots"


def test_a_given_key_is_used_and_no_key_is_created(run) -> None:
    recorder = build(run, kms_key_arn=KEY_ARN, log_kms_key_arn=KEY_ARN)
    db = recorder.one(INSTANCE).inputs
    assert not recorder.by_type("aws:kms/key:Key")
    assert {group.inputs["kmsKeyId"] for group in recorder.by_type(LOG_GROUP)} == {KEY_ARN}
    assert db["kmsKeyId"] == db["masterUserSecretKmsKeyId"] == db["performanceInsightsKmsKeyId"] == KEY_ARN


def test_exported_logs_land_in_encrypted_expiring_groups_created_before_the_instance(run) -> None:
    recorder = build(run, log_retention_days=90)
    groups = {group.inputs["name"]: group for group in recorder.by_type(LOG_GROUP)}
    assert sorted(groups) == ["/aws/rds/instance/mlflow-db/postgresql", "/aws/rds/instance/mlflow-db/upgrade"]
    key = recorder.one("aws:kms/key:Key", "mlflow-db-logs-key")
    document = json.loads(key.inputs["policy"])
    logs = [item for item in document["Statement"] if "logs" in json.dumps(item.get("Principal", ""))]
    assert logs, "CloudWatch Logs may use the log key"
    for group in groups.values():
        assert group.inputs["kmsKeyId"].endswith(key.name) and group.inputs["retentionInDays"] == 90
        assert group.protect and group.retain_on_delete
    instance = recorder.one(INSTANCE)
    assert sorted(instance.inputs["enabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert all(group.urn in instance.dependencies for group in groups.values()), "RDS must not create them first"


def test_no_password_is_recorded_the_master_secret_is_managed_by_rds(run) -> None:
    recorder = build(run)
    db = recorder.one(INSTANCE).inputs
    assert db["manageMasterUserPassword"] is True
    assert db["iamDatabaseAuthenticationEnabled"] is True
    for registration in recorder.registrations:
        text = json.dumps(registration.inputs, default=str).lower()
        assert 'password"' not in text.replace('managemasteruserpassword"', ""), registration.name
        assert "passwordwo" not in text, registration.name


SUPPLIED_PASSWORD = "Xq7-vN2_pL9kR4tZ8mW3"


def test_a_supplied_master_password_replaces_the_rotating_managed_one_and_stays_secret(run) -> None:
    recorder = build(run, master_password=SUPPLIED_PASSWORD)
    instance = recorder.one(INSTANCE)
    assert "manageMasterUserPassword" not in instance.inputs, "RDS must not rotate a password MLflow holds for life"
    assert "masterUserSecretKmsKeyId" not in instance.inputs, "no managed secret to encrypt"
    assert instance.inputs["password"] == SUPPLIED_PASSWORD
    assert "password" in instance.secret_inputs, "the password is encrypted in Pulumi state, never plain"
    for registration in recorder.registrations:
        for key, value in registration.inputs.items():
            if SUPPLIED_PASSWORD in json.dumps(value, default=str):
                assert key in registration.secret_inputs, f"{registration.name}.{key} carries the password in plain"


@pytest.mark.parametrize("bad", ["short-pw", "has/slash-0123456789", "has@at-0123456789ab", "has space 0123456789"])
def test_a_master_password_rds_would_refuse_is_rejected_by_name(run, recorder, bad: str) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        build(run, master_password=bad)
    assert [error["property_path"] for error in caught.value.errors] == ["masterPassword"]
    assert bad not in str(caught.value), "the error never echoes the password"
    assert not recorder.by_type(INSTANCE)


def test_protected_database_has_deletion_protection_and_a_final_snapshot(run) -> None:
    recorder = build(run)
    registration = recorder.one(INSTANCE)
    db = registration.inputs
    assert registration.protect and registration.retain_on_delete
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"] == "mlflow-db-final"
    assert db["deleteAutomatedBackups"] is False, "backups outlive a deleted instance"
    assert db["backupRetentionPeriod"] == 14 and db["copyTagsToSnapshot"] is True


def test_unprotected_database_can_be_destroyed_in_dev(run) -> None:
    recorder = build(run, protect=False, multi_az=False)
    registration = recorder.one(INSTANCE)
    assert not registration.protect and not registration.retain_on_delete
    assert registration.inputs["deletionProtection"] is False
    assert registration.inputs["skipFinalSnapshot"] is True
    assert registration.inputs["multiAz"] is False


def test_tls_is_forced_and_connections_are_logged(run) -> None:
    recorder = build(run)
    group = recorder.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert group["family"] == PARAMETER_GROUP_FAMILY
    parameters = {item["name"]: item["value"] for item in group["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["log_connections"] == "1" and parameters["log_disconnections"] == "1"
    db = recorder.one(INSTANCE).inputs
    assert db["engine"] == "postgres" and db["engineVersion"] == ENGINE_MAJOR_VERSION
    assert db["autoMinorVersionUpgrade"] is True and db["allowMajorVersionUpgrade"] is False
    assert "postgresql" in db["enabledCloudwatchLogsExports"]
    assert db["multiAz"] is True, "Multi-AZ unless the stack opts out"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"allowed_security_group_ids": []}, "allowedSecurityGroupIds"),
        ({"vpc_id": None}, "vpcId"),
        ({"backup_retention_days": 3}, "backupRetentionDays"),
        ({"backup_retention_days": 36}, "backupRetentionDays"),
        ({"identifier": "MLflow_DB"}, "identifier"),
        ({"kms_key_arn": "alias/mlflow"}, "kmsKeyArn"),
        ({"master_username": "postgres"}, "masterUsername"),
        ({"database_name": "1db"}, "databaseName"),
        ({"allocated_storage_gb": 200, "max_allocated_storage_gb": 100}, "maxAllocatedStorageGb"),
        ({"multi_az": "yes"}, "multiAz"),
        ({"log_retention_days": 100}, "logRetentionDays"),
        ({"log_kms_key_arn": "alias/logs"}, "logKmsKeyArn"),
        ({"data_classification": "secret"}, "dataClassification"),
    ],
)
def test_bad_arguments_are_rejected_with_their_path_before_anything_is_created(run, recorder, change, path) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        build(run, **change)
    assert [error["property_path"] for error in caught.value.errors] == [path]
    assert not recorder.by_type(INSTANCE)


PLATFORM_TAGS = {"data-owner": "ml-platform", "processing-activity": "ropa-ml-0042"}


@pytest.mark.parametrize("framework", ["hipaa", "gdpr"])
def test_a_protected_database_passes_the_packs(run, framework) -> None:
    from policies.replay import in_process, replay
    from stacks.synth import Synthesis

    recorder = build(run, tags=PLATFORM_TAGS)
    verdict = replay(Synthesis("mlplatform", "test", recorder, {}, []), in_process(framework))
    assert [(item.policy, item.message) for item in verdict.mandatory] == []


def test_an_unprotected_database_fails_only_the_deletion_protection_policy(run) -> None:
    from policies.replay import in_process, replay
    from stacks.synth import Synthesis

    recorder = build(run, tags=PLATFORM_TAGS, protect=False)
    verdict = replay(Synthesis("mlplatform", "test", recorder, {}, []), in_process("hipaa"))
    assert {item.policy for item in verdict.mandatory} == {"aws-rds-instance-deletion-protection"}, (
        "a dev database needs an exemption in the stack's policy config"
    )
