"""AWS helpers shared by the rule modules: S3 joins, tags, region, and one table each for security groups, EC2
instances and ECR repositories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components._common.tags import DATA_CLASSIFICATION_TAG
from policies.rules.base import (
    UNKNOWN,
    Resource,
    Stack,
    as_bool,
    as_dict,
    as_list,
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
EC2_INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE_REQUEST = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
INSTANCE_TYPES = (EC2_INSTANCE, SPOT_INSTANCE_REQUEST)
"""Resources that launch EC2 instances directly, with the instance's own arguments (pulumi-aws 7 `ec2.Instance`,
`ec2.SpotInstanceRequest`): `metadataOptions.{httpTokens,httpPutResponseHopLimit,httpEndpoint}`,
`rootBlockDevice.{encrypted,kmsKeyId}`, `ebsBlockDevices[*].{deviceName,encrypted,kmsKeyId}` (booleans, unlike a
launch template's strings), `associatePublicIpAddress` (boolean) and `launchTemplate`. An argument left unset on an
instance that names a launch template comes from that template ("Parameters configured on this resource will
override the corresponding parameters in the Launch Template"), which the same rules check."""
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


AWS_PROVIDER_TYPES = ("pulumi:providers:aws", "pulumi:providers:aws-native")
"""The providers of AWS resources: pulumi-aws and aws-native (both configured with `region`; aws-native's schema
lists `region` as its one default config variable, and its SDK falls back to AWS_REGION / AWS_DEFAULT_REGION)."""


def is_aws_type(type_token: str) -> bool:
    """True for resources of pulumi-aws (`aws:`) or aws-native (`aws-native:`), and for their providers."""
    return type_token.startswith(("aws:", "aws-native:")) or type_token in AWS_PROVIDER_TYPES


def region_of(resource: Resource) -> Any:
    """The resource's AWS region: the per-resource `region` input (pulumi-aws v7; a few aws-native types), else
    its provider's `region`."""
    region = resource.props.get("region")
    if region is not None:
        return region
    if resource.type in AWS_PROVIDER_TYPES:
        return None
    return resource.provider_prop("region")


def instance_label(resource: Resource) -> str:
    """'EC2 instance 'x'' or 'Spot instance request 'x'' for messages."""
    kind = "Spot instance request" if resource.type == SPOT_INSTANCE_REQUEST else "EC2 instance"
    return f"{kind} '{resource.name}'"


def inherits_launch_template(resource: Resource) -> bool:
    """True when an instance names a launch template, whose settings apply where the instance sets none."""
    return resource.props.get("launchTemplate") not in (None, {})


# --- Security groups: one table of every resource that opens a security group ---------------------------------

VPC = "aws:ec2/vpc:Vpc"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
VPC_TYPES = (VPC, DEFAULT_VPC)
"""VPCs a program creates, and a region's default VPC when a program adopts it (`ec2.DefaultVpc`)."""
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"

GROUP_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
"""Security groups with inline `ingress` / `egress` lists (a VPC's default group adopted by
`ec2.DefaultSecurityGroup` has the same blocks)."""
RULE_TYPES = (SECURITY_GROUP_RULE, VPC_INGRESS_RULE, VPC_EGRESS_RULE)
"""Standalone rules, joined to their group through `securityGroupId`."""
SECURITY_GROUP_TYPES = GROUP_TYPES + RULE_TYPES


@dataclass(frozen=True)
class SecurityGroupEntry:
    """One ingress or egress permission, whatever resource spelled it."""

    direction: str
    """'ingress' or 'egress'."""
    protocol: Any
    from_port: Any
    to_port: Any
    cidrs: list[Any]
    """IPv4 and IPv6 ranges (`UNKNOWN` items kept; a computed list is `[UNKNOWN]`)."""


def _cidr_list(value: Any) -> list[Any]:
    items = as_list(value)
    return [UNKNOWN] if items is UNKNOWN else list(items)


def security_group_entries(resource: Resource) -> tuple[list[SecurityGroupEntry], bool]:
    """The permissions a security group or rule resource opens, and whether some are unknown.

    Inline blocks (`ingress[*]`, `egress[*]`: `cidrBlocks`, `ipv6CidrBlocks`, `fromPort`, `toPort`, `protocol`),
    the legacy `ec2.SecurityGroupRule` (`type`, `cidrBlocks`, `ipv6CidrBlocks`, `protocol`) and the
    `vpc.SecurityGroupIngressRule` / `EgressRule` (`cidrIpv4`, `cidrIpv6`, `ipProtocol`) all read the same way.
    """
    props = resource.props
    if resource.type in GROUP_TYPES:
        entries: list[SecurityGroupEntry] = []
        unknown = False
        for direction in ("ingress", "egress"):
            blocks, blocks_unknown = dicts(props.get(direction))
            unknown = unknown or blocks_unknown
            entries.extend(
                SecurityGroupEntry(
                    direction,
                    block.get("protocol"),
                    block.get("fromPort"),
                    block.get("toPort"),
                    _cidr_list(block.get("cidrBlocks")) + _cidr_list(block.get("ipv6CidrBlocks")),
                )
                for block in blocks
            )
        return entries, unknown
    if resource.type == SECURITY_GROUP_RULE:
        direction = props.get("type")
        if direction is UNKNOWN:
            return [], True
        cidrs = _cidr_list(props.get("cidrBlocks")) + _cidr_list(props.get("ipv6CidrBlocks"))
    elif resource.type in (VPC_INGRESS_RULE, VPC_EGRESS_RULE):
        direction = "ingress" if resource.type == VPC_INGRESS_RULE else "egress"
        cidrs = [value for value in (props.get("cidrIpv4"), props.get("cidrIpv6")) if value is not None]
    else:
        return [], False
    protocol = props.get("ipProtocol", props.get("protocol"))
    return [SecurityGroupEntry(str(direction), protocol, props.get("fromPort"), props.get("toPort"), cidrs)], False


def rules_of_group(stack: Stack, group: Resource) -> list[Resource]:
    """The standalone rules that add permissions to `group` (their `securityGroupId` came from it, or names it)."""
    return stack.attached(group, RULE_TYPES, "securityGroupId")


# --- ECR: repositories and the templates of the repositories ECR creates itself ---------------------------------

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
ECR_NATIVE_CREATION_TEMPLATE = "aws-native:ecr:RepositoryCreationTemplate"


@dataclass(frozen=True)
class EcrForm:
    """Where one ECR resource type keeps the settings of the repositories it stands for."""

    token: str
    kind: str
    """How messages name it."""
    encryption: str
    """Prop with the encryption configuration(s): {encryptionType, kmsKey}."""
    encryption_is_list: bool
    tags: str
    """Prop with the tags of the repositories: a map, or (aws-native) a list of {key, value}."""
    repository_policy: str | None = None
    """Prop with an inline repository policy (JSON); repositories use aws.ecr.RepositoryPolicy instead."""
    lifecycle_policy: str | None = None
    """Prop with an inline lifecycle policy (JSON); repositories use aws.ecr.LifecyclePolicy instead."""


ECR_FORMS: dict[str, EcrForm] = {
    form.token: form
    for form in (
        EcrForm(ECR_REPOSITORY, "ECR repository", "encryptionConfigurations", True, "tags"),
        # ECR creates repositories itself on a pull-through-cache pull, a replication or a first push, from the
        # template whose prefix matches ("Templates for repositories created by Amazon ECR",
        # https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html); those
        # repositories never appear in the program, so the template is what the rules read.
        EcrForm(
            ECR_CREATION_TEMPLATE,
            "ECR repository creation template",
            "encryptionConfigurations",
            True,
            "resourceTags",
            repository_policy="repositoryPolicy",
            lifecycle_policy="lifecyclePolicy",
        ),
        EcrForm(
            ECR_NATIVE_CREATION_TEMPLATE,
            "ECR repository creation template",
            "encryptionConfiguration",
            False,
            "resourceTags",
            repository_policy="repositoryPolicy",
            lifecycle_policy="lifecyclePolicy",
        ),
    )
}
"""ECR repositories and repository creation templates (pulumi-aws 7 `ecr.Repository`,
`ecr.RepositoryCreationTemplate`; aws-native `ecr.RepositoryCreationTemplate`, whose encryption is one object)."""

ECR_TYPES = tuple(ECR_FORMS)
ECR_TEMPLATE_TYPES = (ECR_CREATION_TEMPLATE, ECR_NATIVE_CREATION_TEMPLATE)


def ecr_label(resource: Resource) -> str:
    """ "ECR repository 'x'" or "ECR repository creation template 'x'" for messages."""
    form = ECR_FORMS.get(resource.type)
    return f"{form.kind if form else 'ECR repository'} '{resource.name}'"


def ecr_encryption(resource: Resource) -> tuple[list[dict[str, Any]], bool]:
    """The encryption configurations of the repositories (empty for the AES256 default), and whether unknown."""
    form = ECR_FORMS[resource.type]
    value = resource.props.get(form.encryption)
    if form.encryption_is_list:
        return dicts(value)
    if value is UNKNOWN:
        return [], True
    return ([value] if isinstance(value, dict) else []), False


def ecr_classification(resource: Resource) -> Any:
    """The `data-classification` tag of the repositories (provider default tags for a Repository), or `UNKNOWN`."""
    if resource.type == ECR_REPOSITORY:
        return data_classification(resource)
    tags = resource.props.get(ECR_FORMS[resource.type].tags)
    if tags is UNKNOWN:
        return UNKNOWN
    if isinstance(tags, list):
        pairs = {item.get("key"): item.get("value") for item in tags if isinstance(item, dict)}
        return pairs.get(DATA_CLASSIFICATION_TAG)
    return tag_value(as_dict(tags), DATA_CLASSIFICATION_TAG)
