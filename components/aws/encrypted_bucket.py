"""S3 buckets for datasets, models and artifacts, and the shared bucket their server access logs go to."""

import re
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.tags import DataClassification, data_tags
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._resources import account_facts, customer_managed_key, merged_tags, retained, stateful, to_json

DEFAULT_DATA_CLASSIFICATION: DataClassification = "confidential"
DEFAULT_NONCURRENT_VERSION_RETENTION_DAYS = 30
DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS = 7
DEFAULT_ACCESS_LOG_RETENTION_DAYS = 365
DEFAULT_PROTECT = False

PURPOSE_TAG = "mlplatform.io/purpose"
"""Tag naming what a bucket is for; `access-logs` marks the access-log bucket for the policy packs."""
ACCESS_LOGS_PURPOSE = "access-logs"
ACCESS_LOG_CLASSIFICATION: DataClassification = "internal"
ACCESS_LOG_ROOT = "s3-access-logs"
"""Key prefix under which every data bucket's access logs land in the access-log bucket."""

_CLASSIFICATIONS = ("phi", "pii", "confidential", "internal", "public")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def lifecycle_rules(
    expiration_days: int | None, noncurrent_version_days: int, abort_incomplete_upload_days: int
) -> list[dict[str, Any]]:
    """The lifecycle of a versioned bucket: expire objects after the retention (if any), drop old versions.

    Expired objects leave a delete marker whose previous version is removed `noncurrent_version_days` later,
    so an accidental delete or overwrite stays recoverable for that window; expired delete markers are
    cleaned up; incomplete multipart uploads, which are billed but invisible, are aborted.
    """
    expiration: dict[str, Any] = {"expired_object_delete_marker": True}
    if expiration_days is not None:
        expiration = {"days": expiration_days}
    return [
        {
            "id": "retention",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": expiration,
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": abort_incomplete_upload_days},
        }
    ]


def _lifecycle_args(rules: list[dict[str, Any]]) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=rule["id"],
            status=rule["status"],
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(**rule["filter"]),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(**rule["expiration"]),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                **rule["noncurrent_version_expiration"]
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                **rule["abort_incomplete_multipart_upload"]
            ),
        )
        for rule in rules
    ]


def _check_bucket_name(problems: Problems, bucket_name: Any) -> None:
    if isinstance(bucket_name, str) and not _BUCKET_NAME.match(bucket_name):
        problems.add(
            "bucketName", f"'{bucket_name}' is not an S3 bucket name (3-63 lower-case letters, digits, '.', '-')"
        )


def _check_days(problems: Problems, path: str, days: int | None, *, minimum: int = 1) -> None:
    if days is not None and not minimum <= days <= 36500:
        problems.add(path, f"must be between {minimum} and 36500 days")


def _common_bucket_parts(
    component: pulumi.ComponentResource,
    name: str,
    *,
    bucket_name: pulumi.Input[str] | None,
    tags: pulumi.Output[dict[str, str]],
    protect: bool,
    encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs,
    lifecycle: list[dict[str, Any]],
    policy: Any,
) -> aws.s3.Bucket:
    """The parts every bucket here has: encryption, versioning, public access block, ownership, policy, lifecycle."""
    bucket = aws.s3.Bucket(
        f"{name}-bucket",
        bucket=bucket_name,
        force_destroy=False,
        tags=tags,
        opts=stateful(component, protect),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id, rules=[encryption], opts=retained(component, protect)
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=retained(component, protect),
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=retained(component, protect),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=retained(component, protect),
    )
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=to_json(policy(bucket.arn)),
        # Public access must be blocked before any policy lands, so no policy can ever make the bucket public.
        opts=retained(component, protect, depends_on=[public_access_block]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=_lifecycle_args(lifecycle),
        # Noncurrent-version rules only make sense once versioning is on (AWS recommends this order).
        opts=retained(component, protect, depends_on=[versioning]),
    )
    return bucket


class AwsAccessLogBucketArgs(TypedDict, total=False):
    """Arguments of `AwsAccessLogBucket`."""

    bucket_name: pulumi.Input[str]
    """Physical bucket name (globally unique). Defaults to an auto-name from the component name."""
    retention_days: int
    """Days access logs are kept, at least 90 (audit trail). Defaults to 365."""
    noncurrent_version_retention_days: int
    """Days a replaced or deleted log object version is kept. Defaults to 30."""
    protect: bool
    """Protect and retain the bucket on delete. Defaults to false."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags on top of the provider's default tags and the access-log tags. Defaults to none."""


class AwsAccessLogBucket(pulumi.ComponentResource):
    """The bucket S3 server access logs of the platform's buckets are delivered to, shared by all of them.

    Creates: a bucket with SSE-S3 (AES256) encryption, versioning, all four public-access blocks, BucketOwnerEnforced
    ownership, a bucket policy (TLS only, plus PutObject for `logging.s3.amazonaws.com` from this account's
    buckets) and a lifecycle (expiry after the retention, noncurrent versions, incomplete uploads).

    Security defaults: SSE-S3 rather than SSE-KMS because S3 cannot deliver server access logs into a
    KMS-encrypted bucket; it is tagged `data-classification: internal` and `mlplatform.io/purpose: access-logs`
    so policy packs can tell it apart from data buckets (it does not log to itself); never force-destroyed.
    """

    bucket_name: pulumi.Output[str]
    """Name of the access-log bucket; pass it to `AwsEncryptedBucket` as `access_log_bucket_name`."""
    bucket_arn: pulumi.Output[str]
    """ARN of the access-log bucket."""

    def __init__(self, name: str, args: AwsAccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        _check_bucket_name(problems, args.get("bucket_name"))
        retention = args.get("retention_days", DEFAULT_ACCESS_LOG_RETENTION_DAYS)
        _check_days(problems, "retentionDays", retention, minimum=90)
        noncurrent = args.get("noncurrent_version_retention_days", DEFAULT_NONCURRENT_VERSION_RETENTION_DAYS)
        _check_days(problems, "noncurrentVersionRetentionDays", noncurrent)
        problems.raise_if_any(f"AwsAccessLogBucket '{name}'")
        super().__init__("mlplatform:index:AwsAccessLogBucket", name, {"purpose": ACCESS_LOGS_PURPOSE}, opts)

        protect = args.get("protect", DEFAULT_PROTECT)
        account = account_facts(self)
        tags = merged_tags(
            args.get("tags"), {**data_tags(ACCESS_LOG_CLASSIFICATION, retention), PURPOSE_TAG: ACCESS_LOGS_PURPOSE}
        )
        bucket = _common_bucket_parts(
            self,
            name,
            bucket_name=args.get("bucket_name"),
            tags=tags,
            protect=protect,
            encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            ),
            lifecycle=lifecycle_rules(retention, noncurrent, DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS),
            policy=lambda arn: pulumi.Output.all(arn, account.account_id).apply(
                lambda values: iam.access_log_bucket_policy(values[0], values[1])
            ),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


class AwsEncryptedBucketArgs(TypedDict):
    """Arguments of `AwsEncryptedBucket`."""

    access_log_bucket_name: NotRequired[pulumi.Input[str]]
    """Bucket receiving server access logs (an `AwsAccessLogBucket`, SSE-S3). Defaults to a new access-log bucket
    owned by this component; share one across buckets instead."""
    access_log_prefix: NotRequired[str]
    """Key prefix of this bucket's logs in the access-log bucket. Defaults to `s3-access-logs/<component name>/`."""
    bucket_name: NotRequired[pulumi.Input[str]]
    """Physical bucket name (globally unique). Defaults to an auto-name from the component name."""
    data_classification: NotRequired[str]
    """phi, pii, confidential, internal or public; tagged on the bucket and its key. Defaults to confidential."""
    retention_days: NotRequired[int | None]
    """Days before objects expire. Defaults to none (kept until deleted; the gdpr profile requires a value)."""
    noncurrent_version_retention_days: NotRequired[int]
    """Days a replaced or deleted object version is kept (the recovery window). Defaults to 30."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """An existing KMS key for SSE-KMS. Defaults to a new customer-managed key for this bucket."""
    protect: NotRequired[bool]
    """Protect and retain the bucket and its key on delete (their configuration is retained too). Defaults to false."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags on top of the provider's default tags and the data tags. Defaults to none."""


class AwsEncryptedBucket(pulumi.ComponentResource):
    """An S3 bucket for datasets, models or artifacts, encrypted under a customer-managed key and TLS only.

    Creates:
    - a customer-managed KMS key (rotation on, 30-day deletion window, explicit policy) unless one is given;
    - the bucket with SSE-KMS and an S3 bucket key, versioning, all four public-access blocks, BucketOwnerEnforced
      ownership, a TLS-only bucket policy, a lifecycle (expiry after the retention, noncurrent versions, incomplete
      uploads) and server access logging;
    - an `AwsAccessLogBucket` for the logs, unless `access_log_bucket_name` names a shared one.

    Security defaults: nothing is public, ACLs are off, every request must use TLS 1.2 or later, every object is
    encrypted with the customer-managed key, every access is logged, deleted or overwritten objects stay
    recoverable for the noncurrent-version window, and the bucket is never force-destroyed.
    """

    bucket_name: pulumi.Output[str]
    """Name of the bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key encrypting the bucket (readers need kms:Decrypt on it)."""
    access_log_bucket_name: pulumi.Output[str]
    """Name of the bucket receiving this bucket's server access logs."""

    def __init__(self, name: str, args: AwsEncryptedBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        _check_bucket_name(problems, args.get("bucket_name"))
        classification = args.get("data_classification", DEFAULT_DATA_CLASSIFICATION)
        if classification not in _CLASSIFICATIONS:
            problems.add("dataClassification", f"must be one of {', '.join(_CLASSIFICATIONS)}")
        retention = args.get("retention_days")
        _check_days(problems, "retentionDays", retention)
        noncurrent = args.get("noncurrent_version_retention_days", DEFAULT_NONCURRENT_VERSION_RETENTION_DAYS)
        _check_days(problems, "noncurrentVersionRetentionDays", noncurrent)
        log_prefix = args.get("access_log_prefix", f"{ACCESS_LOG_ROOT}/{name}/")
        if not log_prefix.endswith("/") or log_prefix.startswith("/"):
            problems.add("accessLogPrefix", f"'{log_prefix}' must end with '/' and not start with one")
        problems.raise_if_any(f"AwsEncryptedBucket '{name}'")
        super().__init__("mlplatform:index:AwsEncryptedBucket", name, {"dataClassification": classification}, opts)

        protect = args.get("protect", DEFAULT_PROTECT)
        account = account_facts(self)
        tags = merged_tags(args.get("tags"), data_tags(classification, retention))

        key_arn = args.get("kms_key_arn")
        if key_arn is None:
            key_arn = customer_managed_key(
                f"{name}-key",
                parent=self,
                description=f"Encrypts the objects of bucket {name}",
                policy=to_json(
                    pulumi.Output.all(account.partition, account.account_id).apply(
                        lambda facts: iam.data_key_policy(facts[0], facts[1])
                    )
                ),
                tags=tags,
                protect=protect,
            ).arn

        log_bucket_name = args.get("access_log_bucket_name")
        if log_bucket_name is None:
            log_bucket_name = AwsAccessLogBucket(
                f"{name}-access-logs",
                {"protect": protect, "tags": args.get("tags") or {}},
                opts=pulumi.ResourceOptions(parent=self),
            ).bucket_name

        bucket = _common_bucket_parts(
            self,
            name,
            bucket_name=args.get("bucket_name"),
            tags=tags,
            protect=protect,
            encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key_arn
                ),
                # One data key per bucket instead of per object: far fewer KMS calls, same key and audit trail.
                bucket_key_enabled=True,
            ),
            lifecycle=lifecycle_rules(retention, noncurrent, DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS),
            policy=lambda arn: arn.apply(iam.encrypted_bucket_policy),
        )
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=bucket.id,
            target_bucket=log_bucket_name,
            target_prefix=log_prefix,
            opts=retained(self, protect),
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        self.access_log_bucket_name = pulumi.Output.from_input(log_bucket_name)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "accessLogBucketName": self.access_log_bucket_name,
            }
        )
