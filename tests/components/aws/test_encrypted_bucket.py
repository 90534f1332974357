"""AwsEncryptedBucket and AwsAccessLogBucket: private, TLS-only, versioned, logged buckets with a lifecycle."""

from __future__ import annotations

import pulumi
import pytest

from components.aws import AwsAccessLogBucket, AwsEncryptedBucket
from components.aws.encrypted_bucket import lifecycle_rules
from stacks.synth import RecordingMonitor, run_program

from ._support import error_paths, nothing_registered, policy, statement

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def _buckets(run, **overrides) -> RecordingMonitor:
    def program() -> None:
        logs = AwsAccessLogBucket("logs", {"retention_days": 400})
        args = {"access_log_bucket_name": logs.bucket_name, "retention_days": 730, **overrides}
        AwsEncryptedBucket("models", args)

    return run(program)


def _configuration(recorder: RecordingMonitor, type_token: str, bucket_name: str):
    bucket = recorder.one(BUCKET, f"{bucket_name}-bucket")
    found = [r for r in recorder.by_type(type_token) if r.property_dependencies.get("bucket") == [bucket.urn]]
    assert len(found) == 1, f"{bucket_name}: expected one {type_token}, found {[r.name for r in found]}"
    return found[0]


def test_objects_are_encrypted_with_a_customer_managed_key_and_a_bucket_key(run) -> None:
    recorder = _buckets(run)
    key = recorder.one("aws:kms/key:Key")
    sse = _configuration(recorder, SSE, "models")
    rule = sse.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms", "HIPAA-ENC-S3-KMS"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].endswith(f"key/{key.name}"), (
        "the customer-managed key, not aws/s3"
    )
    assert rule["bucketKeyEnabled"] is True, "bucket keys cut KMS requests (and cost) without weakening encryption"
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30


def test_public_access_is_blocked_and_acls_are_off_for_every_bucket(run) -> None:
    recorder = _buckets(run)
    for name in ("models", "logs"):
        block = _configuration(recorder, PAB, name).inputs
        assert all(
            block[flag] is True
            for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ), f"{name}: all four public-access blocks (HIPAA-AC-S3-PUBLIC)"
        ownership = _configuration(recorder, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name)
        assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, f"{name}: ACLs disabled"


def test_every_bucket_is_versioned_and_never_force_destroyed(run) -> None:
    recorder = _buckets(run)
    for name in ("models", "logs"):
        versioning = _configuration(recorder, "aws:s3/bucketVersioning:BucketVersioning", name)
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", f"{name}: HIPAA-INT-S3-VERSIONING"
        assert recorder.one(BUCKET, f"{name}-bucket").inputs["forceDestroy"] is False, f"{name}: no data loss on delete"


def test_every_bucket_denies_requests_without_tls(run) -> None:
    recorder = _buckets(run)
    for name in ("models", "logs"):
        bucket_policy = _configuration(recorder, POLICY, name)
        deny = statement(policy(bucket_policy.inputs), "DenyInsecureTransport")
        arn = f"arn:aws:s3:::{name}-bucket"
        assert deny["Resource"] == [arn, f"{arn}/*"] and deny["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }, f"{name}: TLS only (HIPAA-TLS-S3-POLICY)"
        assert _configuration(recorder, PAB, name).urn in bucket_policy.dependencies, (
            "public access is blocked before any bucket policy exists"
        )


def test_server_access_logs_go_to_the_sse_s3_access_log_bucket(run) -> None:
    recorder = _buckets(run)
    logging = _configuration(recorder, "aws:s3/bucketLogging:BucketLogging", "models")
    log_bucket = recorder.one(BUCKET, "logs-bucket")
    assert logging.property_dependencies["targetBucket"] == [log_bucket.urn], "HIPAA-LOG-S3-ACCESS"
    assert logging.inputs["targetPrefix"] == "s3-access-logs/models/"
    sse = _configuration(recorder, SSE, "logs").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse == {"sseAlgorithm": "AES256"}, "S3 cannot deliver access logs into a KMS-encrypted bucket"
    delivery = statement(policy(_configuration(recorder, POLICY, "logs").inputs), "AllowS3ServerAccessLogDelivery")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_access_log_bucket_is_tagged_so_policy_packs_recognize_it(run) -> None:
    recorder = _buckets(run)
    tags = recorder.one(BUCKET, "logs-bucket").inputs["tags"]
    assert tags["data-classification"] == "internal" and tags["mlplatform.io/purpose"] == "access-logs"
    assert tags["retention"] == "400d"
    assert not [r for r in recorder.by_type("aws:s3/bucketLogging:BucketLogging") if r.name.startswith("logs")], (
        "the log bucket does not log into itself"
    )


def test_data_buckets_carry_their_classification_and_retention(run) -> None:
    recorder = _buckets(run, data_classification="phi")
    assert recorder.one(BUCKET, "models-bucket").inputs["tags"] == {"data-classification": "phi", "retention": "730d"}
    assert recorder.one("aws:kms/key:Key").inputs["tags"]["data-classification"] == "phi", "the key is a data store too"
    assert recorder.one("mlplatform:index:AwsEncryptedBucket").inputs == {"dataClassification": "phi"}, (
        "policy packs read the classification from the component"
    )


def test_the_lifecycle_expires_objects_old_versions_and_incomplete_uploads(run) -> None:
    recorder = _buckets(run, noncurrent_version_retention_days=14)
    (rule,) = _configuration(recorder, LIFECYCLE, "models").inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["expiration"] == {"days": 730}, "GDPR-RET-S3-LIFECYCLE: storage limitation"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 14}, "deleted versions do not live forever"
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    log_rule = _configuration(recorder, LIFECYCLE, "logs").inputs["rules"][0]
    assert log_rule["expiration"] == {"days": 400}


def test_without_a_retention_objects_are_kept_but_old_versions_still_expire() -> None:
    (rule,) = lifecycle_rules(None, 30, 7)
    assert "days" not in rule["expiration"] and rule["expiration"]["expired_object_delete_marker"] is True
    assert rule["noncurrent_version_expiration"] == {"noncurrent_days": 30}


def test_a_bucket_without_a_shared_log_bucket_gets_its_own(run) -> None:
    recorder = run(lambda: AwsEncryptedBucket("solo", {}))
    component = recorder.one("mlplatform:index:AwsEncryptedBucket")
    own_logs = recorder.one("mlplatform:index:AwsAccessLogBucket")
    assert own_logs.parent == component.urn and own_logs.name == "solo-access-logs"
    assert _configuration(recorder, "aws:s3/bucketLogging:BucketLogging", "solo").property_dependencies[
        "targetBucket"
    ] == [recorder.one(BUCKET, "solo-access-logs-bucket").urn]


def test_protect_retains_buckets_keys_and_their_protections(run) -> None:
    def program() -> None:
        logs = AwsAccessLogBucket("logs", {"protect": True})
        AwsEncryptedBucket("models", {"access_log_bucket_name": logs.bucket_name, "protect": True})

    recorder = run(program)
    for registration in (*recorder.by_type(BUCKET), recorder.one("aws:kms/key:Key")):
        assert registration.protect and registration.retain_on_delete, f"{registration.name} holds data"
    for type_token in (SSE, PAB, POLICY):
        for registration in recorder.by_type(type_token):
            assert registration.retain_on_delete, f"{registration.name}: a retained bucket keeps its protections"


def test_a_given_key_is_used_instead_of_creating_one(run) -> None:
    recorder = _buckets(run, kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/shared")
    assert recorder.by_type("aws:kms/key:Key") == []
    rule = _configuration(recorder, SSE, "models").inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].endswith("key/shared")


def test_bad_arguments_are_rejected_before_anything_is_created(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(
            lambda: AwsEncryptedBucket(
                "models",
                {"bucket_name": "Not_A_Bucket", "data_classification": "secret", "retention_days": 0},  # type: ignore[typeddict-item]
            )
        )
    assert error_paths(error.value) == ["bucketName", "dataClassification", "retentionDays"]
    assert nothing_registered(recorder)


def test_access_logs_must_be_kept_at_least_90_days(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsAccessLogBucket("logs", {"retention_days": 30}))
    assert error_paths(error.value) == ["retentionDays"]
    assert nothing_registered(recorder)
