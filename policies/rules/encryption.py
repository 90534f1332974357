"""Encryption at rest with customer-managed keys, and in transit, for AWS, Azure and Kubernetes storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.rules.aws_common import (
    BUCKET_TYPES,
    EC2_NODE_CLASS,
    ECR_TYPES,
    INSTANCE_TYPES,
    LAUNCH_TEMPLATE,
    POLICY_TYPES,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SSE_TYPES,
    attached_to_bucket,
    ecr_classification,
    ecr_encryption,
    ecr_label,
    inherits_launch_template,
    instance_label,
    is_access_log_bucket,
    node_class_spec,
)
from policies.rules.aws_iam import statements
from policies.rules.base import (
    OUTSIDE,
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Setting,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_dict,
    as_list,
    as_number,
    dicts,
    dig,
    is_set,
    must_be_true,
    parse_json,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.kubernetes_common import HELM_TYPES, kind_of, object_name

# --- AWS: S3 ---------------------------------------------------------------------------------------------

_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
_AWS_MANAGED_S3_KEY = "alias/aws/s3"


def _sse_defaults(stack: Stack, bucket: Resource) -> list[Any]:
    """Every `applyServerSideEncryptionByDefault` block that applies to the bucket (inline or separate)."""
    blocks: list[Any] = []
    inline = bucket.get("serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault")
    if inline is UNKNOWN or isinstance(inline, dict):
        blocks.append(inline)
    configurations, unknown = dicts(bucket.props.get("serverSideEncryptionConfigurations"))
    if unknown:
        blocks.append(UNKNOWN)
    for configuration in configurations:
        rules, unknown_rules = dicts(configuration.get("rules"))
        if unknown_rules:
            blocks.append(UNKNOWN)
        for rule in rules:
            defaults, unknown_defaults = dicts(rule.get("applyServerSideEncryptionByDefaults"))
            blocks.extend([UNKNOWN] if unknown_defaults else [])
            blocks.extend(defaults)
    for configuration in attached_to_bucket(stack, bucket, SSE_TYPES):
        rules, unknown = dicts(configuration.props.get("rules"))
        if unknown:
            blocks.append(UNKNOWN)
        for rule in rules:
            block = rule.get("applyServerSideEncryptionByDefault")
            if block is UNKNOWN or isinstance(block, dict):
                blocks.append(block)
    return blocks


def _is_customer_kms(block: Any) -> bool | Any:
    if block is UNKNOWN:
        return UNKNOWN
    algorithm = block.get("sseAlgorithm") if isinstance(block, dict) else None
    key = block.get("kmsMasterKeyId") if isinstance(block, dict) else None
    if algorithm is UNKNOWN:
        return UNKNOWN
    if algorithm in _KMS_ALGORITHMS and key is UNKNOWN:
        return True  # a key ARN computed during preview counts as set
    if algorithm not in _KMS_ALGORITHMS or not key:
        return False
    return not (key == _AWS_MANAGED_S3_KEY or str(key).endswith(":" + _AWS_MANAGED_S3_KEY))


@stack_rule(
    name="aws-s3-bucket-kms-encryption",
    title="S3 buckets are encrypted with a customer-managed KMS key",
    description=(
        "Every S3 bucket has default encryption with SSE-KMS (aws:kms or aws:kms:dsse) and a customer-managed "
        "key (not alias/aws/s3). The one exception is a server-access-log bucket (the target_bucket of a "
        "BucketLogging or of an inline logging block, whatever its tags), which may use SSE-S3 "
        "(AES256) because S3 cannot deliver access logs to SSE-KMS buckets."
    ),
    remediation=(
        "Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=bucket.id, rules=[{'apply_server_side_"
        "encryption_by_default': {'sse_algorithm': 'aws:kms', 'kms_master_key_id': key.arn}, "
        "'bucket_key_enabled': True}]) with a customer-managed aws.kms.Key."
    ),
    scope="S3 buckets",
)
def s3_bucket_kms_encryption(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets")
    for bucket in buckets:
        blocks = _sse_defaults(stack, bucket)
        verdicts = [_is_customer_kms(block) for block in blocks]
        if True in verdicts:
            continue
        if UNKNOWN in verdicts:
            yield bucket, Unverified(f"the default encryption of S3 bucket '{bucket.name}'")
            continue
        algorithms = {block.get("sseAlgorithm") for block in blocks if isinstance(block, dict)}
        if algorithms == {"AES256"} and is_access_log_bucket(stack, bucket):
            continue
        if not blocks:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' has no default encryption configuration; add "
                    "aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm='aws:kms' and "
                    "kms_master_key_id=<customer-managed KMS key ARN>."
                ),
            )
        elif "AES256" in algorithms:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' uses SSE-S3 (AES256); set sse_algorithm='aws:kms' and "
                    "kms_master_key_id=<customer-managed KMS key ARN>."
                ),
            )
        else:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' uses SSE-KMS without a customer-managed key; set "
                    "kms_master_key_id to the ARN of a customer-managed aws.kms.Key (not alias/aws/s3)."
                ),
            )


def _denies_all_without_tls(statement: Any, service: str) -> bool:
    """True for a Deny of `<service>:*` to every principal when aws:SecureTransport is false."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    actions = {str(action) for action in as_list(statement.get("Action")) if isinstance(action, str)}
    if not actions & {f"{service}:*", "*"}:
        return False
    principal = statement.get("Principal")
    if principal not in ("*", {"AWS": "*"}) and not (
        isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
    ):
        return False
    secure_transport = as_dict(as_dict(statement.get("Condition")).get("Bool")).get("aws:SecureTransport")
    return {str(value).lower() for value in as_list(secure_transport)} == {"false"}


def _denies_insecure_transport(statement: Any) -> bool:
    if not _denies_all_without_tls(statement, "s3"):
        return False
    resources = [str(item) for item in as_list(statement.get("Resource")) if isinstance(item, str)]
    covers_objects = any(item == "*" or item.endswith("/*") for item in resources)
    covers_bucket = any(item == "*" or (item.startswith("arn:") and "/" not in item) for item in resources)
    return covers_objects and covers_bucket


@stack_rule(
    name="aws-s3-bucket-tls-only-policy",
    title="S3 buckets refuse requests without TLS",
    description=(
        "Every S3 bucket has a bucket policy that denies s3:* on the bucket and its objects to every principal "
        "when aws:SecureTransport is false."
    ),
    remediation=(
        "Add aws.s3.BucketPolicy(bucket=bucket.id, policy=...) with the statement {'Effect': 'Deny', "
        "'Principal': '*', 'Action': 's3:*', 'Resource': [bucket_arn, bucket_arn + '/*'], 'Condition': "
        "{'Bool': {'aws:SecureTransport': 'false'}}}."
    ),
    scope="S3 buckets",
)
def s3_bucket_tls_only_policy(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets")
    for bucket in buckets:
        documents = [policy.props.get("policy") for policy in attached_to_bucket(stack, bucket, POLICY_TYPES)]
        if bucket.props.get("policy") is not None:
            documents.append(bucket.props.get("policy"))
        if not documents:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' has no bucket policy, so plain-HTTP requests are allowed; add "
                    "aws.s3.BucketPolicy denying s3:* on the bucket and bucket/* when aws:SecureTransport is 'false'."
                ),
            )
            continue
        parsed = [parse_json(document) for document in documents]
        found = [statement for document in parsed for statement in statements(document)]
        if any(_denies_insecure_transport(statement) for statement in found):
            continue
        if UNKNOWN in parsed or UNKNOWN in found:
            yield bucket, Unverified(f"the bucket policy of S3 bucket '{bucket.name}'")
            continue
        yield (
            bucket,
            (
                f"S3 bucket '{bucket.name}' has a bucket policy without a TLS-only statement; add a Deny on s3:* "
                "for the bucket and bucket/* with Condition {'Bool': {'aws:SecureTransport': 'false'}}."
            ),
        )


# --- AWS: KMS, EKS, EC2/EBS, ECR, CloudWatch, Backup ---------------------------------------------------


@resource_rule(
    name="aws-kms-key-rotation-enabled",
    title="KMS keys rotate at least yearly",
    description=(
        "Symmetric KMS keys have automatic rotation enabled (enable_key_rotation=True) with a rotation period "
        "of at most 365 days; asymmetric and HMAC keys cannot rotate and are not checked."
    ),
    remediation="Set enable_key_rotation=True (and rotation_period_in_days <= 365, or leave it unset) on aws.kms.Key.",
    scope="KMS keys",
    types=("aws:kms/key:Key",),
)
def kms_key_rotation(key: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    spec = key.props.get("customerMasterKeySpec") or key.props.get("keySpec")
    if spec is UNKNOWN:
        yield Unverified(f"the key spec of KMS key '{key.name}'")
        return
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        raise NotApplicable(f"KMS key '{key.name}' is {spec}, which AWS cannot rotate automatically")
    rotation = as_bool(key.props.get("enableKeyRotation"))
    if rotation is UNKNOWN:
        yield Unverified(f"enable_key_rotation of KMS key '{key.name}'")
    elif rotation is not True:
        yield f"KMS key '{key.name}' does not rotate automatically; set enable_key_rotation=True."
    period = as_number(key.props.get("rotationPeriodInDays"))
    if period is UNKNOWN:
        yield Unverified(f"rotation_period_in_days of KMS key '{key.name}'")
    elif period is not None and period > 365:
        yield f"KMS key '{key.name}' rotates every {period:.0f} days; set rotation_period_in_days to 365 or less."


@resource_rule(
    name="aws-eks-cluster-secrets-encryption",
    title="EKS clusters encrypt Kubernetes secrets with KMS",
    description="EKS clusters have envelope encryption of Kubernetes secrets with a customer-managed KMS key.",
    remediation="Set encryption_config={'resources': ['secrets'], 'provider': {'key_arn': key.arn}} on aws.eks.Cluster.",
    scope="EKS clusters",
    types=("aws:eks/cluster:Cluster",),
)
def eks_secrets_encryption(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    resources = as_list(cluster.get("encryptionConfig.resources"))
    key = cluster.get("encryptionConfig.provider.keyArn")
    if resources is UNKNOWN:
        yield Unverified(f"encryption_config.resources of EKS cluster '{cluster.name}'")
    elif "secrets" not in resources:
        yield (
            f"EKS cluster '{cluster.name}' does not encrypt Kubernetes secrets with KMS; set "
            "encryption_config={'resources': ['secrets'], 'provider': {'key_arn': <customer-managed KMS key ARN>}}."
        )
        return
    if not is_set(key):
        yield (
            f"EKS cluster '{cluster.name}' has no KMS key for secrets encryption; set "
            "encryption_config.provider.key_arn to a customer-managed KMS key ARN."
        )


def launch_template_encryption_findings(template: Resource) -> list[Finding]:
    """Why a launch template's EBS volumes are not KMS-encrypted (shared with the node-group rule)."""
    mappings, unknown = dicts(template.props.get("blockDeviceMappings"))
    if unknown:
        return [Unverified(f"block_device_mappings of launch template '{template.name}'")]
    ebs_mappings = [mapping for mapping in mappings if mapping.get("ebs") is not None]
    if not ebs_mappings:
        return [
            f"Launch template '{template.name}' declares no EBS block device mapping, so the root volume takes "
            "the AMI default (unencrypted); add block_device_mappings=[{'device_name': '/dev/xvda', 'ebs': "
            "{'encrypted': 'true', 'kms_key_id': key.arn}}]."
        ]
    findings: list[Finding] = []
    for mapping in ebs_mappings:
        device = mapping.get("deviceName", "?")
        ebs = mapping.get("ebs")
        if ebs is UNKNOWN:
            findings.append(Unverified(f"the EBS settings of {device} in launch template '{template.name}'"))
            continue
        encrypted = as_bool(as_dict(ebs).get("encrypted"))
        if encrypted is UNKNOWN:
            findings.append(Unverified(f"ebs.encrypted of {device} in launch template '{template.name}'"))
        elif encrypted is not True:
            findings.append(
                f"Launch template '{template.name}' leaves EBS volume {device} unencrypted; set ebs.encrypted='true' "
                "and ebs.kms_key_id=<customer-managed KMS key ARN>."
            )
            continue
        if not is_set(as_dict(ebs).get("kmsKeyId")):
            findings.append(
                f"Launch template '{template.name}' encrypts EBS volume {device} with the AWS-managed key; set "
                "ebs.kms_key_id to a customer-managed KMS key ARN."
            )
    return findings


def node_class_encryption_findings(node_class: Resource) -> list[Finding]:
    """Why the EBS volumes of a Karpenter EC2NodeClass's nodes are not KMS-encrypted with a customer-managed key."""
    label = f"EC2NodeClass '{node_class.name}'"
    mappings, unknown = dicts(node_class_spec(node_class).get("blockDeviceMappings"))
    if unknown:
        return [Unverified(f"spec.blockDeviceMappings of {label}")]
    if not any(mapping.get("ebs") is not None for mapping in mappings):
        # Without EBS mappings Karpenter uses its default (amifamily.DefaultEBS): encrypted, but only with the
        # AWS-managed EBS key.
        return [
            f"{label} declares no EBS blockDeviceMappings, so Karpenter gives its nodes a default root volume "
            "encrypted only with the AWS-managed EBS key; set spec.blockDeviceMappings=[{'deviceName': '/dev/xvda', "
            "'rootVolume': True, 'ebs': {'encrypted': True, 'kmsKeyID': key.arn, 'volumeType': 'gp3', "
            "'volumeSize': '100Gi'}}]."
        ]
    findings: list[Finding] = []
    for mapping in mappings:
        device = mapping.get("deviceName", "?")
        ebs = mapping.get("ebs")
        if ebs is None:
            continue
        if ebs is UNKNOWN:
            findings.append(Unverified(f"the EBS settings of {device} in {label}"))
            continue
        encrypted = as_bool(as_dict(ebs).get("encrypted"))
        if encrypted is UNKNOWN:
            findings.append(Unverified(f"ebs.encrypted of {device} in {label}"))
            continue
        if encrypted is not True:
            # Unset, Karpenter sends no Encrypted flag and the account's EBS default decides: fail, as for templates.
            findings.append(
                f"{label} leaves EBS volume {device} unencrypted; set ebs.encrypted=True and "
                "ebs.kmsKeyID=<customer-managed KMS key ARN> in spec.blockDeviceMappings."
            )
            continue
        if not is_set(as_dict(ebs).get("kmsKeyID")):
            findings.append(
                f"{label} encrypts EBS volume {device} with the AWS-managed key; set ebs.kmsKeyID to a "
                "customer-managed KMS key ARN in spec.blockDeviceMappings."
            )
    return findings


def _instance_volume_findings(label: str, volume: str, device: Any) -> list[Finding]:
    if device is UNKNOWN:
        return [Unverified(f"the EBS settings of the {volume} of {label}")]
    device = as_dict(device)
    encrypted = as_bool(device.get("encrypted"))
    if encrypted is UNKNOWN:
        return [Unverified(f"encrypted of the {volume} of {label}")]
    if encrypted is not True:
        return [
            f"{label} leaves its {volume} unencrypted; set encrypted=True and kms_key_id=<customer-managed KMS key "
            "ARN> on it."
        ]
    if not is_set(device.get("kmsKeyId")):
        return [
            f"{label} encrypts its {volume} with the AWS-managed key; set kms_key_id to a customer-managed KMS key ARN."
        ]
    return []


def instance_encryption_findings(instance: Resource) -> list[Finding]:
    """Why the EBS volumes of an EC2 instance (or spot instance request) are not KMS-encrypted with a CMK.

    The root volume is `root_block_device` (unset, it takes the AMI's snapshot settings, unencrypted unless the
    account encrypts by default, or the named launch template's mappings); extra volumes are `ebs_block_devices`.
    """
    label = instance_label(instance)
    findings: list[Finding] = []
    root = instance.props.get("rootBlockDevice")
    if root in (None, {}):
        if not inherits_launch_template(instance):
            findings.append(
                f"{label} declares no root_block_device, so the root volume takes the AMI default (unencrypted); set "
                "root_block_device={'encrypted': True, 'kms_key_id': key.arn}."
            )
    else:
        findings.extend(_instance_volume_findings(label, "root volume", root))
    devices, unknown = dicts(instance.props.get("ebsBlockDevices"))
    if unknown:
        findings.append(Unverified(f"ebs_block_devices of {label}"))
    for device in devices:
        findings.extend(_instance_volume_findings(label, f"EBS volume {device.get('deviceName', '?')}", device))
    return findings


@resource_rule(
    name="aws-ec2-launch-template-ebs-encrypted",
    title="Launch templates and instances encrypt EBS volumes with a customer-managed key",
    description=(
        "Launch templates, EC2 instances, spot instance requests and Karpenter EC2NodeClasses (the launch templates "
        "of Karpenter's nodes) declare their EBS block devices, and every EBS volume is encrypted (launch template "
        "encrypted='true', instance root_block_device / ebs_block_devices encrypted=True, EC2NodeClass "
        "ebs.encrypted=true) with a customer-managed KMS key. An instance naming a launch template may leave its "
        "root volume to the template."
    ),
    remediation=(
        "Set block_device_mappings=[{'device_name': '/dev/xvda', 'ebs': {'encrypted': 'true', 'kms_key_id': "
        "key.arn, 'volume_type': 'gp3'}}] on aws.ec2.LaunchTemplate; root_block_device={'encrypted': True, "
        "'kms_key_id': key.arn} (and the same on every ebs_block_devices entry) on aws.ec2.Instance; on an "
        "EC2NodeClass set spec.blockDeviceMappings=[{'deviceName': '/dev/xvda', 'rootVolume': True, 'ebs': "
        "{'encrypted': True, 'kmsKeyID': key.arn, 'volumeType': 'gp3', 'volumeSize': '100Gi'}}]."
    ),
    scope="EC2 launch templates, instances and Karpenter EC2NodeClasses",
    types=(LAUNCH_TEMPLATE, *INSTANCE_TYPES, EC2_NODE_CLASS),
)
def launch_template_ebs_encrypted(template: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if template.type == EC2_NODE_CLASS:
        yield from node_class_encryption_findings(template)
    elif template.type in INSTANCE_TYPES:
        yield from instance_encryption_findings(template)
    else:
        yield from launch_template_encryption_findings(template)


EBS_ENCRYPTION_BY_DEFAULT = Setting(
    "ebsEncryptionByDefault",
    {
        "type": "boolean",
        "default": False,
        "description": (
            "The AWS account enables EBS encryption by default with a customer-managed key in a baseline stack, "
            "so node groups without a launch template still get encrypted disks."
        ),
    },
)


@stack_rule(
    name="aws-eks-node-group-encrypted-launch-template",
    title="EKS node groups run on encrypted disks",
    description=(
        "Every EKS node group (GPU pools included) uses a launch template of this stack whose EBS volumes are "
        "encrypted with a customer-managed KMS key, unless EBS encryption by default is enabled (in this stack "
        "or, per configuration, in a baseline stack)."
    ),
    remediation=(
        "Create an aws.ec2.LaunchTemplate with encrypted EBS block_device_mappings and pass "
        "launch_template={'id': template.id, 'version': template.latest_version} to aws.eks.NodeGroup."
    ),
    scope="EKS node groups",
    settings=(EBS_ENCRYPTION_BY_DEFAULT,),
)
def node_group_encrypted_launch_template(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    groups = stack.of(("aws:eks/nodeGroup:NodeGroup",))
    if not groups:
        raise NotApplicable("the stack has no EKS node groups")
    templates = stack.of(("aws:ec2/launchTemplate:LaunchTemplate",))
    by_default = config.get("ebsEncryptionByDefault") is True or any(
        as_bool(setting.props.get("enabled")) in (True, UNKNOWN)
        for setting in stack.of(("aws:ebs/encryptionByDefault:EncryptionByDefault",))
    )
    for group in groups:
        reference = group.props.get("launchTemplate")
        if reference is None:
            if not by_default:
                yield (
                    group,
                    (
                        f"EKS node group '{group.name}' has no launch template, so its disks are unencrypted unless "
                        "the account encrypts EBS by default; set launch_template to an aws.ec2.LaunchTemplate with "
                        "encrypted EBS block_device_mappings."
                    ),
                )
            continue
        reference = as_dict(reference)
        names = [reference.get("id"), reference.get("name")] if reference is not UNKNOWN else []
        matched = [
            template
            for template in templates
            if group.depends_on("launchTemplate", template.urn) or template.props.get("name") in names
        ]
        if not matched:
            if not by_default:
                yield group, Unverified(f"the launch template of EKS node group '{group.name}'", OUTSIDE)
            continue
        findings = launch_template_encryption_findings(matched[0])
        if any(isinstance(finding, str) for finding in findings):
            yield (
                group,
                (
                    f"EKS node group '{group.name}' uses launch template '{matched[0].name}' whose EBS volumes are not "
                    "encrypted with a customer-managed key; set ebs.encrypted='true' and ebs.kms_key_id on every "
                    "block device mapping of the template."
                ),
            )
        elif findings:
            yield group, Unverified(f"the disk encryption of EKS node group '{group.name}'")


@resource_rule(
    name="aws-ebs-volume-kms-encrypted",
    title="EBS volumes are encrypted with a customer-managed key",
    description="EBS volumes are encrypted (encrypted=True) with a customer-managed KMS key.",
    remediation="Set encrypted=True and kms_key_id=key.arn on aws.ebs.Volume.",
    scope="EBS volumes",
    types=("aws:ebs/volume:Volume",),
)
def ebs_volume_encrypted(volume: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    encrypted = as_bool(volume.props.get("encrypted"))
    if encrypted is UNKNOWN:
        yield Unverified(f"encrypted of EBS volume '{volume.name}'")
    elif encrypted is not True:
        yield f"EBS volume '{volume.name}' is not encrypted; set encrypted=True and kms_key_id=<customer-managed KMS key ARN>."
        return
    if not is_set(volume.props.get("kmsKeyId")):
        yield f"EBS volume '{volume.name}' uses the AWS-managed EBS key; set kms_key_id to a customer-managed KMS key ARN."


def _ecr_kms_findings(repository: Resource) -> Iterator[Finding]:
    label = ecr_label(repository)
    configurations, unknown = ecr_encryption(repository)
    if unknown:
        yield Unverified(f"the encryption configuration of {label}")
        return
    if not configurations:
        yield (
            f"{label} uses the default AES256 encryption; set encryption_configurations=[{{'encryption_type': "
            "'KMS', 'kms_key': <customer-managed KMS key ARN>}]."
        )
        return
    for configuration in configurations:
        kind = configuration.get("encryptionType")
        if kind is UNKNOWN:
            yield Unverified(f"the encryption type of {label}")
        elif kind not in ("KMS", "KMS_DSSE"):
            yield f"{label} uses {kind} encryption; set encryption_type='KMS' and kms_key=<customer-managed KMS key ARN>."
        elif not is_set(configuration.get("kmsKey")):
            yield f"{label} uses the AWS-managed ECR key; set kms_key to a customer-managed KMS key ARN."


_ECR_KMS_REMEDIATION = (
    "Set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': key.arn}] on aws.ecr.Repository or "
    "aws.ecr.RepositoryCreationTemplate (encryption_configuration on the aws-native template)."
)


@resource_rule(
    name="aws-ecr-repository-kms-encryption",
    title="ECR repositories are encrypted with a customer-managed key",
    description=(
        "ECR repositories and repository creation templates (for the repositories ECR creates from them) not "
        "tagged data-classification=phi encrypt with KMS (KMS or KMS_DSSE) and a customer-managed key; PHI ones "
        "are checked by aws-ecr-repository-phi-kms-encryption."
    ),
    remediation=_ECR_KMS_REMEDIATION,
    scope="ECR repositories and creation templates not holding PHI",
    types=ECR_TYPES,
)
def ecr_kms_encryption(repository: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if ecr_classification(repository) == "phi":
        raise NotApplicable(f"{ecr_label(repository)} holds PHI (aws-ecr-repository-phi-kms-encryption)")
    yield from _ecr_kms_findings(repository)


@resource_rule(
    name="aws-ecr-repository-phi-kms-encryption",
    title="ECR repositories holding PHI are encrypted with a customer-managed key",
    description=(
        "ECR repositories and repository creation templates tagged data-classification=phi (resource_tags on a "
        "template) encrypt with KMS (KMS or KMS_DSSE) and a customer-managed key."
    ),
    remediation=_ECR_KMS_REMEDIATION,
    scope="ECR repositories and creation templates tagged data-classification=phi",
    types=ECR_TYPES,
)
def ecr_phi_kms_encryption(repository: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    classification = ecr_classification(repository)
    if classification is UNKNOWN:
        yield Unverified(f"the data-classification tag of {ecr_label(repository)}")
        return
    if classification != "phi":
        raise NotApplicable(f"{ecr_label(repository)} is not tagged data-classification=phi")
    yield from _ecr_kms_findings(repository)


@resource_rule(
    name="aws-cloudwatch-log-group-kms-encryption",
    title="CloudWatch log groups are encrypted with a customer-managed key",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key (kms_key_id set).",
    remediation="Set kms_key_id=key.arn on aws.cloudwatch.LogGroup; the key policy must allow logs.<region>.amazonaws.com.",
    scope="CloudWatch log groups",
    types=("aws:cloudwatch/logGroup:LogGroup",),
)
def log_group_kms(group: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if not is_set(group.props.get("kmsKeyId")):
        yield f"CloudWatch log group '{group.name}' is not encrypted with a customer-managed key; set kms_key_id=<KMS key ARN>."


@resource_rule(
    name="aws-backup-vault-kms-encryption",
    title="AWS Backup vaults are encrypted with a customer-managed key",
    description="AWS Backup vaults encrypt recovery points with a customer-managed KMS key (kms_key_arn set).",
    remediation="Set kms_key_arn=key.arn on aws.backup.Vault.",
    scope="AWS Backup vaults",
    types=("aws:backup/vault:Vault",),
)
def backup_vault_kms(vault: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if not is_set(vault.props.get("kmsKeyArn")):
        yield f"AWS Backup vault '{vault.name}' uses the AWS-managed backup key; set kms_key_arn=<customer-managed KMS key ARN>."


# --- AWS: SQS -------------------------------------------------------------------------------------------


@resource_rule(
    name="aws-sqs-queue-encrypted",
    title="SQS queues encrypt messages at rest",
    description=(
        "SQS queues declare server-side encryption: SSE-SQS (sqs_managed_sse_enabled=True) or SSE-KMS "
        "(kms_master_key_id set). Leaving both unset does not pass: AWS's SSE-SQS default covers only queues it "
        "creates over HTTPS, and the provider does not detect drift of an unset sqs_managed_sse_enabled."
    ),
    remediation=(
        "Set sqs_managed_sse_enabled=True on aws.sqs.Queue (what EventBridge-fed queues such as Karpenter's "
        "interruption queue use), or kms_master_key_id=key.arn with a key policy that lets every producer "
        "(e.g. events.amazonaws.com) use the key."
    ),
    scope="SQS queues",
    types=(SQS_QUEUE,),
)
def sqs_queue_encrypted(queue: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if is_set(queue.props.get("kmsMasterKeyId")):
        return  # SSE-KMS; a key ARN computed during preview counts as set
    managed = as_bool(queue.props.get("sqsManagedSseEnabled"))
    if managed is UNKNOWN:
        yield Unverified(f"sqs_managed_sse_enabled of SQS queue '{queue.name}'")
    elif managed is False:
        yield (
            f"SQS queue '{queue.name}' turns server-side encryption off (sqs_managed_sse_enabled=False); set "
            "sqs_managed_sse_enabled=True, or kms_master_key_id=<KMS key ARN>."
        )
    elif managed is not True:
        yield (
            f"SQS queue '{queue.name}' does not declare server-side encryption, and AWS's SSE-SQS default is "
            "neither guaranteed for this queue nor drift-checked by the provider; set sqs_managed_sse_enabled=True "
            "(or kms_master_key_id=<KMS key ARN>)."
        )


def _queue_policies(stack: Stack, queue: Resource) -> list[Any]:
    """The policy documents that apply to a queue: separate QueuePolicies (joined on queueUrl) and inline."""
    name = queue.props.get("name")
    documents = []
    for policy in stack.of((SQS_QUEUE_POLICY,)):
        url = policy.props.get("queueUrl")
        by_name = isinstance(url, str) and isinstance(name, str) and url.rstrip("/").endswith("/" + name)
        if policy.depends_on("queueUrl", queue.urn) or by_name:
            documents.append(policy.props.get("policy"))
    if queue.props.get("policy") is not None:
        documents.append(queue.props.get("policy"))
    return documents


@stack_rule(
    name="aws-sqs-queue-tls-only-policy",
    title="SQS queues refuse requests without TLS",
    description=(
        "Every SQS queue has a queue policy (aws.sqs.QueuePolicy or the inline policy) that denies sqs:* to every "
        "principal when aws:SecureTransport is false."
    ),
    remediation=(
        "Add aws.sqs.QueuePolicy(queue_url=queue.url, policy=...) with the statement {'Effect': 'Deny', "
        "'Principal': '*', 'Action': 'sqs:*', 'Resource': queue.arn, 'Condition': {'Bool': "
        "{'aws:SecureTransport': 'false'}}}."
    ),
    scope="SQS queues",
)
def sqs_queue_tls_only_policy(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    queues = stack.of((SQS_QUEUE,))
    if not queues:
        raise NotApplicable("the stack has no SQS queues")
    for queue in queues:
        documents = _queue_policies(stack, queue)
        if not documents:
            yield (
                queue,
                (
                    f"SQS queue '{queue.name}' has no queue policy, so plain-HTTP requests are allowed; add "
                    "aws.sqs.QueuePolicy denying sqs:* to '*' when aws:SecureTransport is 'false'."
                ),
            )
            continue
        parsed = [parse_json(document) for document in documents]
        found = [statement for document in parsed for statement in statements(document)]
        if any(_denies_all_without_tls(statement, "sqs") for statement in found):
            continue
        if UNKNOWN in parsed or UNKNOWN in found:
            yield queue, Unverified(f"the queue policy of SQS queue '{queue.name}'")
            continue
        yield (
            queue,
            (
                f"SQS queue '{queue.name}' has a queue policy without a TLS-only statement; add a Deny on sqs:* "
                "for Principal '*' with Condition {'Bool': {'aws:SecureTransport': 'false'}}."
            ),
        )


# --- Azure -----------------------------------------------------------------------------------------------

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"


@resource_rule(
    name="azure-storage-account-cmk-encryption",
    title="Storage accounts are encrypted with a customer-managed key",
    description=(
        "Storage accounts encrypt data with a customer-managed Key Vault key (key_source Microsoft.Keyvault, "
        "key_name and key_vault_uri set)."
    ),
    remediation=(
        "Set encryption={'key_source': 'Microsoft.Keyvault', 'key_vault_properties': {'key_name': key.name, "
        "'key_vault_uri': vault.properties.vault_uri}, 'identity': {...}} on azure_native.storage.StorageAccount."
    ),
    scope="Azure storage accounts",
    types=(STORAGE_ACCOUNT,),
)
def storage_cmk(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    source = account.get("encryption.keySource")
    if source is UNKNOWN:
        yield Unverified(f"encryption.key_source of storage account '{account.name}'")
        return
    if not isinstance(source, str) or source.lower() != "microsoft.keyvault":
        yield (
            f"Storage account '{account.name}' uses Microsoft-managed keys; set encryption.key_source="
            "'Microsoft.Keyvault' with key_vault_properties.key_name and key_vault_uri."
        )
        return
    for field_name, argument in (("keyName", "key_name"), ("keyVaultUri", "key_vault_uri")):
        if not is_set(account.get(f"encryption.keyVaultProperties.{field_name}")):
            yield f"Storage account '{account.name}' has no customer-managed key {argument}; set encryption.key_vault_properties.{argument}."


@resource_rule(
    name="azure-storage-account-infrastructure-encryption",
    title="Storage accounts use infrastructure (double) encryption",
    description="Storage accounts require infrastructure encryption (require_infrastructure_encryption=True).",
    remediation="Set encryption.require_infrastructure_encryption=True (create-time only) on azure_native.storage.StorageAccount.",
    scope="Azure storage accounts",
    types=(STORAGE_ACCOUNT,),
)
def storage_infrastructure_encryption(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from must_be_true(
        account.get("encryption.requireInfrastructureEncryption"),
        f"require_infrastructure_encryption of storage account '{account.name}'",
        f"Storage account '{account.name}' has no infrastructure encryption; set encryption.require_infrastructure_encryption=True.",
    )


@resource_rule(
    name="azure-storage-account-https-only",
    title="Storage accounts accept only TLS 1.2+",
    description="Storage accounts set enable_https_traffic_only=True explicitly and minimum_tls_version TLS1_2 or TLS1_3.",
    remediation="Set enable_https_traffic_only=True and minimum_tls_version='TLS1_2' on azure_native.storage.StorageAccount.",
    scope="Azure storage accounts",
    types=(STORAGE_ACCOUNT,),
)
def storage_https_only(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    https = as_bool(account.props.get("enableHttpsTrafficOnly"))
    if https is UNKNOWN:
        yield Unverified(f"enable_https_traffic_only of storage account '{account.name}'")
    elif https is not True:
        yield f"Storage account '{account.name}' does not require HTTPS; set enable_https_traffic_only=True."
    version = account.props.get("minimumTlsVersion")
    if version is UNKNOWN:
        yield Unverified(f"minimum_tls_version of storage account '{account.name}'")
    elif version not in ("TLS1_2", "TLS1_3"):
        yield f"Storage account '{account.name}' accepts TLS older than 1.2 ({version or 'unset'}); set minimum_tls_version='TLS1_2'."


@resource_rule(
    name="azure-aks-cluster-disk-encryption-set",
    title="AKS node disks use a customer-managed disk encryption set",
    description="AKS clusters encrypt OS and data disks with a customer-managed disk encryption set (disk_encryption_set_id).",
    remediation="Set disk_encryption_set_id=des.id (create-time only) on azure_native.containerservice.ManagedCluster.",
    scope="AKS clusters",
    types=(MANAGED_CLUSTER,),
)
def aks_disk_encryption_set(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if not is_set(cluster.props.get("diskEncryptionSetID")):
        yield f"AKS cluster '{cluster.name}' encrypts node disks with platform-managed keys; set disk_encryption_set_id to a disk encryption set with a customer-managed key."


def _pools(resource: Resource) -> tuple[list[dict[str, Any]], bool]:
    """The agent pools a ManagedCluster (agentPoolProfiles) or AgentPool (itself) defines."""
    if resource.type == AGENT_POOL:
        return [{"name": resource.props.get("agentPoolName", resource.name), **resource.props}], False
    return dicts(resource.props.get("agentPoolProfiles"))


@resource_rule(
    name="azure-aks-node-pool-encryption-at-host",
    title="AKS node pools encrypt at host",
    description="Every AKS node pool (GPU pools included) sets enable_encryption_at_host=True, so temp disks and caches are encrypted.",
    remediation="Set enable_encryption_at_host=True on every agent pool (agent_pool_profiles and azure_native.containerservice.AgentPool).",
    scope="AKS clusters and agent pools",
    types=(MANAGED_CLUSTER, AGENT_POOL),
)
def aks_encryption_at_host(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    pools, unknown = _pools(resource)
    if unknown:
        yield Unverified(f"the agent pools of '{resource.name}'")
    for pool in pools:
        yield from must_be_true(
            pool.get("enableEncryptionAtHost"),
            f"enable_encryption_at_host of node pool '{pool.get('name')}' in '{resource.name}'",
            f"AKS node pool '{pool.get('name')}' of '{resource.name}' does not encrypt at host; set enable_encryption_at_host=True.",
        )


@resource_rule(
    name="azure-aks-cluster-etcd-kms",
    title="AKS encrypts Kubernetes secrets with Key Vault KMS",
    description="AKS clusters enable Key Vault KMS for etcd (security_profile.azure_key_vault_kms enabled with a key_id).",
    remediation="Set security_profile={'azure_key_vault_kms': {'enabled': True, 'key_id': key.key_uri_with_version, 'key_vault_network_access': 'Private', 'key_vault_resource_id': vault.id}}.",
    scope="AKS clusters",
    types=(MANAGED_CLUSTER,),
)
def aks_etcd_kms(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    enabled = as_bool(cluster.get("securityProfile.azureKeyVaultKms.enabled"))
    if enabled is UNKNOWN:
        yield Unverified(f"security_profile.azure_key_vault_kms.enabled of AKS cluster '{cluster.name}'")
        return
    if enabled is not True:
        yield f"AKS cluster '{cluster.name}' does not encrypt secrets with Key Vault KMS; set security_profile.azure_key_vault_kms.enabled=True with a key_id."
    elif not is_set(cluster.get("securityProfile.azureKeyVaultKms.keyId")):
        yield f"AKS cluster '{cluster.name}' enables Key Vault KMS without a key; set security_profile.azure_key_vault_kms.key_id."


@resource_rule(
    name="azure-aks-cluster-kms-private-key-vault",
    title="AKS reaches its KMS key vault privately",
    description="AKS clusters using Key Vault KMS reach the key vault over a private network (key_vault_network_access='Private').",
    remediation="Set security_profile.azure_key_vault_kms.key_vault_network_access='Private' and key_vault_resource_id=vault.id.",
    scope="AKS clusters with Key Vault KMS",
    types=(MANAGED_CLUSTER,),
)
def aks_kms_private(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if as_bool(cluster.get("securityProfile.azureKeyVaultKms.enabled")) is not True:
        raise NotApplicable(f"AKS cluster '{cluster.name}' does not use Key Vault KMS")
    access = cluster.get("securityProfile.azureKeyVaultKms.keyVaultNetworkAccess")
    if access is UNKNOWN:
        yield Unverified(f"key_vault_network_access of AKS cluster '{cluster.name}'")
    elif access != "Private":
        yield f"AKS cluster '{cluster.name}' reaches its KMS key vault over the public network; set key_vault_network_access='Private'."


@resource_rule(
    name="azure-acr-registry-cmk-encryption",
    title="Container registries are encrypted with a customer-managed key",
    description="Azure container registries encrypt images with a customer-managed key (encryption.status enabled, key_identifier set).",
    remediation="Set encryption={'status': 'enabled', 'key_vault_properties': {'key_identifier': key.key_uri, 'identity': identity.client_id}} (Premium SKU, create-time only).",
    scope="Azure container registries",
    types=(REGISTRY,),
)
def acr_cmk(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    status = registry.get("encryption.status")
    if status is UNKNOWN:
        yield Unverified(f"encryption.status of container registry '{registry.name}'")
    elif not isinstance(status, str) or status.lower() != "enabled":
        yield f"Container registry '{registry.name}' uses Microsoft-managed keys; set encryption.status='enabled' with key_vault_properties.key_identifier."
    elif not is_set(registry.get("encryption.keyVaultProperties.keyIdentifier")):
        yield f"Container registry '{registry.name}' enables encryption without a key; set encryption.key_vault_properties.key_identifier."


@resource_rule(
    name="azure-key-vault-key-rotation",
    title="Key Vault keys rotate or expire",
    description="Key Vault keys have a rotation policy with a 'rotate' lifetime action, or an expiry date.",
    remediation="Set properties.rotation_policy={'lifetime_actions': [{'action': {'type': 'rotate'}, 'trigger': {'time_after_create': 'P90D'}}], 'attributes': {'expiry_time': 'P1Y'}} on azure_native.keyvault.Key.",
    scope="Key Vault keys",
    types=("azure-native:keyvault:Key",),
)
def key_vault_key_rotation(key: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    actions, unknown = dicts(key.get("properties.rotationPolicy.lifetimeActions"))
    kinds = [dig(action, "action.type") for action in actions]
    if any(isinstance(kind, str) and kind.lower() == "rotate" for kind in kinds):
        return
    if is_set(key.get("properties.attributes.expires")):
        return
    if unknown or UNKNOWN in kinds:
        yield Unverified(f"the rotation policy of Key Vault key '{key.name}'")
        return
    yield f"Key Vault key '{key.name}' never rotates or expires; add properties.rotation_policy with a 'rotate' lifetime action."


@resource_rule(
    name="azure-key-vault-key-hsm-strength",
    title="Key Vault keys are HSM-backed and strong",
    description="Key Vault keys are HSM-backed (kty RSA-HSM or EC-HSM) and RSA keys are at least 3072 bits.",
    remediation="Set properties.kty='RSA-HSM' and properties.key_size=3072 (or 4096) on azure_native.keyvault.Key (Premium vault).",
    scope="Key Vault keys",
    types=("azure-native:keyvault:Key",),
)
def key_vault_key_strength(key: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    kty = key.get("properties.kty")
    if kty is UNKNOWN:
        yield Unverified(f"properties.kty of Key Vault key '{key.name}'")
        return
    if kty not in ("RSA-HSM", "EC-HSM"):
        yield f"Key Vault key '{key.name}' is software-protected ({kty or 'unset'}); set properties.kty='RSA-HSM' or 'EC-HSM'."
    if isinstance(kty, str) and kty.startswith("RSA"):
        size = as_number(key.get("properties.keySize"))
        if size is UNKNOWN:
            yield Unverified(f"properties.key_size of Key Vault key '{key.name}'")
        elif size is None or size < 3072:
            yield f"Key Vault key '{key.name}' is RSA {int(size or 2048)}; set properties.key_size=3072 or more."


@resource_rule(
    name="azure-disk-encryption-set-customer-key",
    title="Disk encryption sets use a rotating customer-managed key",
    description=(
        "Disk encryption sets encrypt with a customer-managed key (EncryptionAtRestWithCustomerKey or "
        "EncryptionAtRestWithPlatformAndCustomerKeys) and follow the latest key version automatically."
    ),
    remediation="Set encryption_type='EncryptionAtRestWithCustomerKey' and rotation_to_latest_key_version_enabled=True on azure_native.compute.DiskEncryptionSet.",
    scope="Disk encryption sets",
    types=("azure-native:compute:DiskEncryptionSet",),
)
def disk_encryption_set(des: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    kind = des.props.get("encryptionType")
    if kind is UNKNOWN:
        yield Unverified(f"encryption_type of disk encryption set '{des.name}'")
    elif kind not in ("EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys"):
        yield f"Disk encryption set '{des.name}' has encryption_type {kind or 'unset'}; set encryption_type='EncryptionAtRestWithCustomerKey'."
    rotation = as_bool(des.props.get("rotationToLatestKeyVersionEnabled"))
    if rotation is UNKNOWN:
        yield Unverified(f"rotation_to_latest_key_version_enabled of disk encryption set '{des.name}'")
    elif rotation is not True:
        yield f"Disk encryption set '{des.name}' stays on one key version; set rotation_to_latest_key_version_enabled=True."


@resource_rule(
    name="azure-disk-cmk-encryption",
    title="Managed disks use a customer-managed disk encryption set",
    description="Managed disks reference a disk encryption set (encryption.disk_encryption_set_id) with a customer-managed key.",
    remediation="Set encryption={'disk_encryption_set_id': des.id, 'type': 'EncryptionAtRestWithCustomerKey'} on azure_native.compute.Disk.",
    scope="Azure managed disks",
    types=("azure-native:compute:Disk",),
)
def disk_cmk(disk: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if not is_set(disk.get("encryption.diskEncryptionSetId")):
        yield f"Managed disk '{disk.name}' uses platform-managed keys; set encryption.disk_encryption_set_id to a disk encryption set."


# --- Kubernetes storage ----------------------------------------------------------------------------------

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
_AZURE_DISK_PROVISIONERS = ("disk.csi.azure.com", "kubernetes.io/azure-disk")


def storage_class_encrypted(storage_class: Resource) -> bool | Any | None:
    """True/False for EBS and Azure Disk classes, `UNKNOWN` if undecidable, None for other provisioners."""
    provisioner = storage_class.props.get("provisioner")
    parameters = as_dict(storage_class.props.get("parameters"))
    if provisioner is UNKNOWN or parameters is UNKNOWN:
        return UNKNOWN
    lowered = {str(key).lower(): value for key, value in parameters.items()}
    if provisioner in _EBS_PROVISIONERS:
        encrypted = as_bool(lowered.get("encrypted"))
        if encrypted is UNKNOWN:
            return UNKNOWN
        return encrypted is True and is_set(lowered.get("kmskeyid"))
    if provisioner in _AZURE_DISK_PROVISIONERS:
        return is_set(lowered.get("diskencryptionsetid"))
    return None


@resource_rule(
    name="kubernetes-storage-class-encrypted",
    title="StorageClasses provision CMK-encrypted disks",
    description=(
        "EBS CSI StorageClasses set parameters encrypted='true' and kmsKeyId; Azure Disk CSI StorageClasses set "
        "parameters diskEncryptionSetID. Other provisioners do not express encryption in the class."
    ),
    remediation=(
        "For ebs.csi.aws.com set parameters={'encrypted': 'true', 'kmsKeyId': key.arn, 'type': 'gp3'}; for "
        "disk.csi.azure.com set parameters={'diskEncryptionSetID': des.id, 'skuname': 'Premium_ZRS'}."
    ),
    scope="StorageClasses",
    types=(STORAGE_CLASS,),
)
def kubernetes_storage_class(storage_class: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    verdict = storage_class_encrypted(storage_class)
    provisioner = storage_class.props.get("provisioner")
    if verdict is None:
        raise NotApplicable(f"provisioner {provisioner} does not express encryption in StorageClass parameters")
    if verdict is UNKNOWN:
        yield Unverified(f"the parameters of StorageClass '{storage_class.name}'")
    elif verdict is False:
        if provisioner in _EBS_PROVISIONERS:
            yield f"StorageClass '{storage_class.name}' provisions EBS volumes without a customer-managed key; set parameters encrypted='true' and kmsKeyId=<KMS key ARN>."
        else:
            yield f"StorageClass '{storage_class.name}' provisions Azure disks with platform-managed keys; set parameters diskEncryptionSetID=<disk encryption set ID>."


ENCRYPTED_STORAGE_CLASSES = string_list(
    "encryptedStorageClasses",
    "StorageClasses defined outside this stack that are known to encrypt with a customer-managed key.",
)
DEFAULT_STORAGE_CLASS_ENCRYPTED = Setting(
    "defaultStorageClassEncrypted",
    {
        "type": "boolean",
        "default": False,
        "description": "The cluster's default StorageClass (defined outside this stack) encrypts with a customer-managed key.",
    },
)


def _claims_in(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(where, storage class name or None) for every claim template and storage class key in a document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "volumeClaimTemplate" and isinstance(item, dict):
                yield f"{where}.{key}", _template_class(item)
            elif key == "volumeClaimTemplates" and isinstance(item, list):
                for index, template in enumerate(item):
                    if isinstance(template, dict):
                        yield f"{where}.{key}[{index}]", _template_class(template)
            elif key in ("storageClassName", "storageClass") and (isinstance(item, str) or item is UNKNOWN):
                if item != "":
                    yield f"{where}.{key}", item
            elif key == "persistence" and isinstance(item, dict) and as_bool(item.get("enabled")) is True:
                if "storageClassName" not in item and "storageClass" not in item:
                    yield f"{where}.{key}", None
                yield from _claims_in(item, f"{where}.{key}")
            else:
                yield from _claims_in(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _claims_in(item, f"{where}[{index}]")


def _template_class(template: dict[str, Any]) -> Any:
    """The storage class of a claim template (`spec.storageClassName`), None for the default class."""
    spec = template.get("spec")
    if spec is UNKNOWN:
        return UNKNOWN
    return as_dict(spec).get("storageClassName")


def _claims(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type == PERSISTENT_VOLUME_CLAIM:
        spec = resource.props.get("spec")
        yield "spec.storageClassName", UNKNOWN if spec is UNKNOWN else as_dict(spec).get("storageClassName")
    elif resource.type in HELM_TYPES:
        values = resource.props.get("values")
        if values is UNKNOWN:
            yield "values", UNKNOWN
        else:
            yield from _claims_in(values, "values")
    elif resource.type.startswith("kubernetes:") and resource.type != STORAGE_CLASS:
        # StatefulSets and operator resources (Prometheus, Elasticsearch) carry claim templates in their spec.
        spec = resource.props.get("spec")
        yield from (_claims_in(spec, "spec") if spec is not UNKNOWN else [("spec", UNKNOWN)])


@stack_rule(
    name="kubernetes-persistent-volume-encrypted-class",
    title="Persistent volumes use an encrypted StorageClass",
    description=(
        "Every PersistentVolumeClaim, StatefulSet or operator volumeClaimTemplate, and every persistent volume "
        "in Helm chart values (storageClassName, volumeClaimTemplate, persistence) uses a StorageClass that "
        "encrypts with a customer-managed key: one defined in this stack, or one listed in "
        "encryptedStorageClasses (the default class only when it is known to be encrypted)."
    ),
    remediation=(
        "Create an encrypted StorageClass (kubernetes-storage-class-encrypted) and name it in storage_class_name "
        "of the claim, the claim template or the chart values; for classes defined elsewhere, list them in "
        "encryptedStorageClasses."
    ),
    scope="persistent volume claims",
    settings=(ENCRYPTED_STORAGE_CLASSES, DEFAULT_STORAGE_CLASS_ENCRYPTED),
)
def persistent_volume_encrypted_class(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    classes: dict[str, Any] = {}
    default_encrypted = config.get("defaultStorageClassEncrypted") is True
    for storage_class in stack.of((STORAGE_CLASS,)):
        name = object_name(storage_class)
        verdict = storage_class_encrypted(storage_class)
        if verdict is None:
            verdict = name in as_list(config.get("encryptedStorageClasses"))
        classes[name] = verdict
        annotations = as_dict(storage_class.get("metadata.annotations"))
        if isinstance(annotations, dict) and str(annotations.get(DEFAULT_CLASS_ANNOTATION)).lower() == "true":
            default_encrypted = default_encrypted or verdict is True
    configured = set(as_list(config.get("encryptedStorageClasses")))
    found_claims = False
    for resource in stack.resources:
        for where, class_name in _claims(resource):
            found_claims = True
            subject = f"{kind_of(resource)} '{resource.name}' ({where})"
            if class_name is UNKNOWN:
                yield resource, Unverified(f"the storage class of {subject}")
            elif class_name is None:
                if not default_encrypted:
                    yield (
                        resource,
                        (
                            f"{subject} uses the cluster's default StorageClass, which is not known to be encrypted; "
                            "set storageClassName to an encrypted StorageClass."
                        ),
                    )
            elif class_name in classes:
                if classes[class_name] is UNKNOWN:
                    yield resource, Unverified(f"the encryption of StorageClass '{class_name}' used by {subject}")
                elif classes[class_name] is not True:
                    yield (
                        resource,
                        (
                            f"{subject} uses StorageClass '{class_name}', which does not encrypt with a customer-managed "
                            "key; use an encrypted StorageClass."
                        ),
                    )
            elif class_name not in configured:
                yield (
                    resource,
                    (
                        f"{subject} uses StorageClass '{class_name}', which is neither defined in this stack nor listed "
                        "in encryptedStorageClasses; use an encrypted StorageClass of this stack or list it there."
                    ),
                )
    if not found_claims:
        raise NotApplicable("the stack declares no persistent volumes")


# --- Managed PostgreSQL (RDS, Azure Database for PostgreSQL flexible server) -----------------------------

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PG_FLEXIBLE_SERVER = "azure-native:dbforpostgresql:Server"
PG_FLEXIBLE_CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
_RDS_FORCE_SSL_DEFAULT_FROM = 15
"""RDS for PostgreSQL 15 and later default `rds.force_ssl` to 1; earlier versions default to 0."""


def _rds_kms_findings(database: Resource, label: str) -> Iterator[Finding]:
    """Storage, the managed master secret and Performance Insights under a customer-managed key (instance or
    cluster: the same arguments)."""
    yield from must_be_true(
        database.props.get("storageEncrypted"),
        f"storage_encrypted of {label}",
        f"{label} is not encrypted at rest; set storage_encrypted=True with kms_key_id=<customer-managed KMS key ARN>.",
    )
    if not is_set(database.props.get("kmsKeyId")):
        yield f"{label} uses the AWS-managed aws/rds key; set kms_key_id=<customer-managed KMS key ARN>."
    for toggle, key, argument, what in (
        ("manageMasterUserPassword", "masterUserSecretKmsKeyId", "master_user_secret_kms_key_id", "master user secret"),
        (
            "performanceInsightsEnabled",
            "performanceInsightsKmsKeyId",
            "performance_insights_kms_key_id",
            "Performance Insights data",
        ),
    ):
        enabled = as_bool(database.props.get(toggle))
        if enabled is UNKNOWN:
            yield Unverified(f"{toggle} of {label}")
        elif enabled is True and not is_set(database.props.get(key)):
            yield f"{label} encrypts its {what} with an AWS-managed key; set {argument}=<customer-managed KMS key ARN>."


@resource_rule(
    name="aws-rds-instance-kms-encryption",
    title="RDS instances are encrypted with a customer-managed key",
    description=(
        "RDS instances set storage_encrypted=True with a customer-managed kms_key_id; a managed master password "
        "secret and Performance Insights use a customer-managed key too."
    ),
    remediation=(
        "Set storage_encrypted=True and kms_key_id=key.arn on aws.rds.Instance, plus master_user_secret_kms_key_id "
        "(with manage_master_user_password) and performance_insights_kms_key_id (with Performance Insights)."
    ),
    scope="RDS instances",
    types=(RDS_INSTANCE,),
)
def rds_kms_encryption(instance: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _rds_kms_findings(instance, f"RDS instance '{instance.name}'")


@resource_rule(
    name="aws-rds-cluster-kms-encryption",
    title="RDS and Aurora clusters are encrypted with a customer-managed key",
    description=(
        "RDS DB clusters (Aurora, Multi-AZ DB clusters) set storage_encrypted=True with a customer-managed "
        "kms_key_id (provisioned Aurora clusters are unencrypted by default); a managed master password secret and "
        "Performance Insights use a customer-managed key too."
    ),
    remediation=(
        "Set storage_encrypted=True and kms_key_id=key.arn on aws.rds.Cluster (create-time only), plus "
        "master_user_secret_kms_key_id (with manage_master_user_password) and performance_insights_kms_key_id."
    ),
    scope="RDS DB clusters",
    types=(RDS_CLUSTER,),
)
def rds_cluster_kms_encryption(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _rds_kms_findings(cluster, f"RDS cluster '{cluster.name}'")


def _major_version(value: Any) -> int | Any | None:
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, str) or not value.split(".")[0].isdigit():
        return None
    return int(value.split(".")[0])


def _force_ssl(group: Resource) -> Any:
    """The `rds.force_ssl` value a parameter group sets ("1", "0"), None when it keeps the default, or UNKNOWN."""
    parameters, unknown = dicts(group.props.get("parameters"))
    for parameter in parameters:
        name = parameter.get("name")
        if name is UNKNOWN:
            return UNKNOWN
        if name == "rds.force_ssl":
            value = parameter.get("value")
            return value if value is UNKNOWN else str(value)
    return UNKNOWN if unknown else None


@stack_rule(
    name="aws-rds-postgres-tls-enforced",
    title="RDS for PostgreSQL accepts TLS connections only",
    description=(
        "Every RDS for PostgreSQL instance uses a parameter group of the stack that sets rds.force_ssl=1 (an "
        "instance on the default parameter group passes on PostgreSQL 15 and later, where 1 is the default)."
    ),
    remediation=(
        "Create aws.rds.ParameterGroup(family='postgres17', parameters=[{'name': 'rds.force_ssl', 'value': '1', "
        "'apply_method': 'pending-reboot'}]) and set parameter_group_name=group.name on aws.rds.Instance."
    ),
    scope="RDS for PostgreSQL instances",
)
def rds_postgres_tls(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    instances = [
        instance
        for instance in stack.of((RDS_INSTANCE,))
        if instance.props.get("engine") is UNKNOWN or str(instance.props.get("engine") or "").startswith("postgres")
    ]
    if not instances:
        raise NotApplicable("the stack has no RDS for PostgreSQL instances")
    groups = stack.of((RDS_PARAMETER_GROUP,))
    for instance in instances:
        label = f"RDS instance '{instance.name}'"
        if instance.props.get("engine") is UNKNOWN:
            yield instance, Unverified(f"the engine of {label}")
            continue
        group_name = instance.props.get("parameterGroupName")
        attached = [
            group
            for group in groups
            if instance.depends_on("parameterGroupName", group.urn)
            or (isinstance(group_name, str) and group_name and group.props.get("name") == group_name)
        ]
        if not is_set(group_name) and group_name is not UNKNOWN:
            major = _major_version(instance.props.get("engineVersion"))
            if major is UNKNOWN:
                yield instance, Unverified(f"the engine_version of {label}")
            elif major is None or major < _RDS_FORCE_SSL_DEFAULT_FROM:
                yield (
                    instance,
                    f"{label} uses the default parameter group, which accepts unencrypted connections before "
                    "PostgreSQL 15; set parameter_group_name to a group with rds.force_ssl=1.",
                )
            continue
        if not attached:
            if group_name is UNKNOWN:
                yield instance, Unverified(f"the parameter group of {label}")
            else:
                yield (
                    instance,
                    f"{label} uses parameter group '{group_name}', which is not in the stack, so rds.force_ssl "
                    "cannot be verified; declare the group (rds.force_ssl=1) in the stack.",
                )
            continue
        value = _force_ssl(attached[0])
        if value is UNKNOWN:
            yield instance, Unverified(f"rds.force_ssl of parameter group '{attached[0].name}'")
        elif value != "1":
            yield (
                instance,
                f"{label} accepts unencrypted connections: parameter group '{attached[0].name}' does not set "
                "rds.force_ssl=1; add {'name': 'rds.force_ssl', 'value': '1'} to its parameters.",
            )


@stack_rule(
    name="aws-rds-cluster-postgres-tls-enforced",
    title="Aurora PostgreSQL and RDS PostgreSQL clusters accept TLS connections only",
    description=(
        "Every RDS DB cluster running PostgreSQL (aurora-postgresql, or a Multi-AZ postgres cluster) uses a cluster "
        "parameter group of the stack that sets rds.force_ssl=1; the default cluster parameter group leaves it at 0 "
        "(https://repost.aws/knowledge-center/aurora-postgresql-ssl-certificates)."
    ),
    remediation=(
        "Create aws.rds.ClusterParameterGroup(family='aurora-postgresql17', parameters=[{'name': 'rds.force_ssl', "
        "'value': '1'}]) and set db_cluster_parameter_group_name=group.name on aws.rds.Cluster."
    ),
    scope="RDS DB clusters running PostgreSQL",
)
def rds_cluster_postgres_tls(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    clusters = [
        cluster
        for cluster in stack.of((RDS_CLUSTER,))
        if cluster.props.get("engine") is UNKNOWN or "postgres" in str(cluster.props.get("engine") or "")
    ]
    if not clusters:
        raise NotApplicable("the stack has no PostgreSQL DB clusters")
    groups = stack.of((RDS_CLUSTER_PARAMETER_GROUP,))
    for cluster in clusters:
        label = f"RDS cluster '{cluster.name}'"
        group_name = cluster.props.get("dbClusterParameterGroupName")
        attached = [
            group
            for group in groups
            if cluster.depends_on("dbClusterParameterGroupName", group.urn)
            or (isinstance(group_name, str) and group_name and group.props.get("name") == group_name)
        ]
        if cluster.props.get("engine") is UNKNOWN:
            yield cluster, Unverified(f"the engine of {label}")
        elif attached:
            value = _force_ssl(attached[0])
            if value is UNKNOWN:
                yield cluster, Unverified(f"rds.force_ssl of cluster parameter group '{attached[0].name}'")
            elif value != "1":
                yield (
                    cluster,
                    f"{label} accepts unencrypted connections: cluster parameter group '{attached[0].name}' does not "
                    "set rds.force_ssl=1; add {'name': 'rds.force_ssl', 'value': '1'} to its parameters.",
                )
        elif group_name is UNKNOWN:
            yield cluster, Unverified(f"the cluster parameter group of {label}")
        elif is_set(group_name):
            yield (
                cluster,
                f"{label} uses cluster parameter group '{group_name}', which is not in the stack, so rds.force_ssl "
                "cannot be verified; declare the group (rds.force_ssl=1) in the stack.",
            )
        else:
            yield (
                cluster,
                f"{label} uses the default cluster parameter group, which accepts unencrypted connections; set "
                "db_cluster_parameter_group_name to a group with rds.force_ssl=1.",
            )


@resource_rule(
    name="azure-postgres-flexible-server-cmk-encryption",
    title="PostgreSQL flexible servers are encrypted with a customer-managed key",
    description=(
        "Azure Database for PostgreSQL flexible servers set data_encryption.type AzureKeyVault with a primary key "
        "URI and the user-assigned identity that reads it (and a geo-backup key and identity with geo-redundant "
        "backups)."
    ),
    remediation=(
        "Set data_encryption={'type': 'AzureKeyVault', 'primary_key_uri': <key URI>, "
        "'primary_user_assigned_identity_id': identity.id} and identity={'type': 'UserAssigned', ...} on "
        "azure_native.dbforpostgresql.Server (create-time only)."
    ),
    scope="Azure Database for PostgreSQL flexible servers",
    types=(PG_FLEXIBLE_SERVER,),
)
def pg_flexible_cmk(server: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    label = f"PostgreSQL flexible server '{server.name}'"
    kind = server.get("dataEncryption.type")
    if kind is UNKNOWN:
        yield Unverified(f"data_encryption.type of {label}")
        return
    if kind != "AzureKeyVault":
        yield (
            f"{label} uses service-managed keys; set data_encryption.type='AzureKeyVault' with primary_key_uri "
            "and primary_user_assigned_identity_id (only possible when the server is created)."
        )
        return
    required = [
        ("primaryKeyURI", "primary_key_uri"),
        ("primaryUserAssignedIdentityId", "primary_user_assigned_identity_id"),
    ]
    geo = server.get("backup.geoRedundantBackup")
    if geo is UNKNOWN:
        yield Unverified(f"backup.geo_redundant_backup of {label}")
    elif geo == "Enabled":
        required += [
            ("geoBackupKeyURI", "geo_backup_key_uri"),
            ("geoBackupUserAssignedIdentityId", "geo_backup_user_assigned_identity_id"),
        ]
    for field_name, argument in required:
        if not is_set(server.get(f"dataEncryption.{field_name}")):
            yield f"{label} has no customer-managed key {argument}; set data_encryption.{argument}."


_TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


@resource_rule(
    name="azure-postgres-flexible-server-tls",
    title="PostgreSQL flexible servers accept TLS 1.2+ connections only",
    description=(
        "No server parameter of a PostgreSQL flexible server turns require_secure_transport off or lowers "
        "ssl_min_protocol_version below TLSv1.2 (both are the service defaults)."
    ),
    remediation=(
        "Set value='on' for require_secure_transport and 'TLSv1.2' (or 'TLSv1.3') for ssl_min_protocol_version on "
        "azure_native.dbforpostgresql.Configuration, or leave them at their defaults."
    ),
    scope="Azure Database for PostgreSQL flexible server parameters",
    types=(PG_FLEXIBLE_CONFIGURATION,),
)
def pg_flexible_tls(configuration: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    name = configuration.props.get("configurationName")
    value = configuration.props.get("value")
    if name is UNKNOWN:
        yield Unverified(f"configuration_name of server parameter '{configuration.name}'")
        return
    if name not in ("require_secure_transport", "ssl_min_protocol_version"):
        raise NotApplicable(f"server parameter {name} does not govern transport security")
    if value is UNKNOWN:
        yield Unverified(f"the value of server parameter '{configuration.name}' ({name})")
    elif name == "require_secure_transport" and str(value).lower() != "on":
        yield f"Server parameter '{configuration.name}' sets require_secure_transport={value}; set it to 'on'."
    elif name == "ssl_min_protocol_version" and value not in _TLS_VERSIONS:
        yield f"Server parameter '{configuration.name}' allows TLS older than 1.2 ({value}); set it to 'TLSv1.2'."
