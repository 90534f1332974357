"""AWS helpers shared by the rule modules: S3 joins, tags, classification, region and the Karpenter/SQS tokens."""

from __future__ import annotations

from typing import Any

from components._common.tags import DATA_CLASSIFICATION_TAG
from policies.rules.base import (
    UNKNOWN,
    Resource,
    Stack,
    as_bool,
    as_dict,
    aws_tags,
    dicts,
    tag_value,
)

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LIFECYCLE_TYPES = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
PUBLIC_ACCESS_BLOCK_TYPES = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
REPLICATION_TYPES = ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)
BACKUP_SELECTION_TYPES = ("aws:backup/selection:Selection",)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
"""Karpenter's EC2NodeClass (a `k8s.apiextensions.CustomResource`): the launch template of the nodes Karpenter
creates, so the launch-template rules (disks, IMDS, public IPs) read its `spec` too."""
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"


def attached_to_bucket(stack: Stack, bucket: Resource, types: tuple[str, ...]) -> list[Resource]:
    """The bucket's separate configuration resources of `types` (joined on their `bucket` input)."""
    return stack.attached(bucket, types, "bucket", values=[bucket.props.get("bucket")])


def is_access_log_bucket(stack: Stack, bucket: Resource) -> bool:
    """True for a server-access-log bucket: the target of another bucket's access logging, whatever its tags.

    Recognised by structure (issue 20, class 1): a BucketLogging, or an inline `logging`/`loggings` block, that
    names it as `targetBucket` for another bucket's logs. A tag proves nothing and its absence must not turn a log
    bucket into a data bucket; a bucket that logs into itself is not a log bucket for that.
    """
    name = bucket.props.get("bucket")
    own = {name} if isinstance(name, str) and name else set()
    for logging in stack.attached(bucket, LOGGING_TYPES, "targetBucket", values=[name]):
        source = logging.props.get("bucket")
        if not (logging.depends_on("bucket", bucket.urn) or (isinstance(source, str) and source in own)):
            return True
    for other in stack.of(BUCKET_TYPES):
        if other.urn == bucket.urn:
            continue
        if other.depends_on("logging", bucket.urn) or other.depends_on("loggings", bucket.urn):
            return True
        inline = [other.get("logging.targetBucket")] + [
            item.get("targetBucket") for item in dicts(other.props.get("loggings"))[0]
        ]
        if isinstance(name, str) and name in inline:
            return True
    return False


def versioning_status(stack: Stack, bucket: Resource) -> Any:
    """`Enabled`, `Suspended`, None (never configured) or `UNKNOWN`, from the separate or the inline setting."""
    for config in attached_to_bucket(stack, bucket, VERSIONING_TYPES):
        status = config.get("versioningConfiguration.status")
        if status is not None:
            return status
    inline = bucket.props.get("versioning")
    if inline is UNKNOWN:
        return UNKNOWN
    if isinstance(inline, dict):
        enabled = as_bool(inline.get("enabled"))
        return UNKNOWN if enabled is UNKNOWN else ("Enabled" if enabled else None)
    versionings, unknown = dicts(bucket.props.get("versionings"))
    if unknown:
        return UNKNOWN
    if any(as_bool(item.get("enabled")) is True for item in versionings):
        return "Enabled"
    return None


def data_classification(resource: Resource) -> Any:
    """The `data-classification` tag (provider default tags included), None, or `UNKNOWN`."""
    return tag_value(aws_tags(resource), DATA_CLASSIFICATION_TAG)


def node_class_spec(node_class: Resource) -> dict[str, Any] | Any:
    """The `spec` of an EC2NodeClass ({} when absent), or `UNKNOWN`."""
    return as_dict(node_class.props.get("spec"))


def region_of(resource: Resource) -> Any:
    """The resource's AWS region: the v7 per-resource `region` input, else its provider's `region`."""
    region = resource.props.get("region")
    if region is not None:
        return region
    if resource.type == "pulumi:providers:aws":
        return None
    return resource.provider_prop("region")
