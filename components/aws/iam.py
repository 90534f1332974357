"""Pure builders of IAM, KMS key and resource policy documents for the AWS components (no cloud calls)."""

from collections.abc import Sequence
from typing import Any

PolicyDocument = dict[str, Any]
Statement = dict[str, Any]

POLICY_VERSION = "2012-10-17"
STS_AUDIENCE = "sts.amazonaws.com"
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
"""What pulling an image needs on the repository (authorization tokens are requested separately)."""

# The data-key actions AWS documents for services that encrypt on a caller's behalf (EBS via Auto Scaling, Logs).
_KEY_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


def document(*statements: Statement) -> PolicyDocument:
    """A policy document holding `statements`."""
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def account_root_arn(partition: str, account_id: str) -> str:
    """The ARN that stands for the whole account in a resource policy."""
    return f"arn:{partition}:iam::{account_id}:root"


def autoscaling_service_linked_role_arn(partition: str, account_id: str) -> str:
    """The EC2 Auto Scaling service-linked role that launches EKS managed node group instances."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def log_group_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """The ARN of the CloudWatch log group `name` (the form KMS sees in the `aws:logs:arn` encryption context)."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}"


def oidc_issuer_host_path(oidc_provider_arn: str) -> str:
    """The issuer host and path of an IAM OIDC provider ARN, the prefix of its condition keys.

    Raises:
        ValueError: when the ARN is not an IAM OIDC provider ARN.
    """
    marker = ":oidc-provider/"
    if marker not in oidc_provider_arn:
        raise ValueError(f"'{oidc_provider_arn}' is not an IAM OIDC provider ARN")
    return oidc_provider_arn.split(marker, 1)[1]


# --- Trust policies -------------------------------------------------------------------------------------


def service_trust_policy(service: str, *, actions: Sequence[str] = ("sts:AssumeRole",)) -> PolicyDocument:
    """A role trust policy letting the AWS service principal `service` assume the role."""
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


def flow_logs_trust_policy(partition: str, region: str, account_id: str) -> PolicyDocument:
    """Trust for the VPC flow logs delivery role, pinned to this account's flow logs (confused-deputy guard)."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
            },
        }
    )


def irsa_trust_policy(oidc_provider_arn: str, namespace: str, service_account: str) -> PolicyDocument:
    """Trust for IAM Roles for Service Accounts: exactly one service account of one namespace may assume the role.

    Both `:sub` and `:aud` are pinned with StringEquals, so no other service account, namespace or audience
    can exchange its token for this role.
    """
    issuer = oidc_issuer_host_path(oidc_provider_arn)
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": STS_AUDIENCE,
                }
            },
        }
    )


# --- KMS key policies -----------------------------------------------------------------------------------


def key_administration_statement(partition: str, account_id: str) -> Statement:
    """Let the account manage and use the key through IAM policies.

    Without this statement only the principals named in the key policy could ever touch the key, and a
    mistake in it locks everyone out for good (the terraform-aws-eks key policy lock-outs). It grants nothing
    by itself: a principal still needs an IAM policy allowing the KMS action on this key.
    """
    return {
        "Sid": "EnableIamPolicies",
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(partition, account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def cloudwatch_logs_key_statement(region: str, dns_suffix: str, log_group_arns: Sequence[str]) -> Statement:
    """Let CloudWatch Logs encrypt exactly the named log groups with the key."""
    return {
        "Sid": "AllowCloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}},
    }


def autoscaling_key_statements(service_linked_role_arn: str) -> list[Statement]:
    """Let EC2 Auto Scaling launch nodes whose EBS volumes are encrypted with the key.

    Managed node groups launch instances through the Auto Scaling service-linked role. Without these two
    statements every launch fails with `Client.InternalError` and nodes never join (the key-policy trap of
    customer-managed EBS keys); the grant is limited to grants for AWS resources.
    """
    return [
        {
            "Sid": "AllowAutoScalingToUseTheKeyForVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": service_linked_role_arn},
            "Action": list(_KEY_USE_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "AllowAutoScalingToGrantTheKeyToVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": service_linked_role_arn},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def data_key_policy(partition: str, account_id: str) -> PolicyDocument:
    """The key policy of a data key (S3, ECR): administration and use through IAM policies only."""
    return document(key_administration_statement(partition, account_id))


def log_group_key_policy(
    partition: str, region: str, account_id: str, dns_suffix: str, log_group_arns: Sequence[str]
) -> PolicyDocument:
    """The key policy of a key that encrypts the named CloudWatch log groups."""
    return document(
        key_administration_statement(partition, account_id),
        cloudwatch_logs_key_statement(region, dns_suffix, log_group_arns),
    )


def eks_cluster_key_policy(
    partition: str, region: str, account_id: str, dns_suffix: str, control_plane_log_group_arn: str
) -> PolicyDocument:
    """The key policy of the cluster key: secrets envelope encryption, node volumes and control-plane logs."""
    return document(
        key_administration_statement(partition, account_id),
        cloudwatch_logs_key_statement(region, dns_suffix, [control_plane_log_group_arn]),
        *autoscaling_key_statements(autoscaling_service_linked_role_arn(partition, account_id)),
    )


# --- Identity policies ----------------------------------------------------------------------------------


def cluster_encryption_policy(key_arn: str) -> PolicyDocument:
    """What the EKS cluster role needs on its key to envelope-encrypt Kubernetes secrets."""
    return document(
        {
            "Sid": "EnvelopeEncryptSecrets",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            "Resource": key_arn,
        }
    )


def ebs_csi_key_policy(key_arn: str) -> PolicyDocument:
    """What the EBS CSI controller needs to create and attach volumes encrypted with the cluster key."""
    return document(
        {
            "Sid": "GrantTheKeyToVolumes",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {"Sid": "UseTheKeyForVolumes", "Effect": "Allow", "Action": list(_KEY_USE_ACTIONS), "Resource": key_arn},
    )


def flow_logs_delivery_policy(partition: str, region: str, account_id: str, log_group: str) -> PolicyDocument:
    """What the flow logs role needs to write into its one log group."""
    return document(
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group, f"{log_group}:*"],
        },
        {
            "Sid": "FindTheLogGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:*",
        },
    )


def serving_read_policy(
    *,
    bucket_arn: str,
    prefix: str,
    key_arn: str,
    region: str,
    dns_suffix: str,
    repository_arns: Sequence[str],
) -> PolicyDocument:
    """Read-only access for one serving namespace: its model prefix, the bucket key through S3, image pulls.

    Listing is limited to the prefix with an `s3:prefix` condition; objects outside `<prefix>/` cannot be
    read; the key can only be used through S3 in this region, for this bucket.
    """
    statements: list[Statement] = [
        {
            "Sid": "ListModelPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/", f"{prefix}/*"]}},
        },
        {
            "Sid": "ReadModelObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{prefix}/*",
        },
        {
            "Sid": "DecryptModelObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"},
                # With S3 bucket keys the encryption context is the bucket ARN, otherwise the object ARN.
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/{prefix}/*"]},
            },
        },
    ]
    if repository_arns:
        statements += [
            # GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
            {"Sid": "EcrAuthorizationToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullModelImages",
                "Effect": "Allow",
                "Action": list(ECR_PULL_ACTIONS),
                "Resource": sorted(repository_arns),
            },
        ]
    return document(*statements)


# --- Resource policies ----------------------------------------------------------------------------------


def ecr_repository_policy(account_id: str, pull_principal_arns: Sequence[str]) -> PolicyDocument:
    """A repository policy: pull for the given principals, and nothing for principals outside the account.

    The deny keeps the repository private to the account even if a later statement or a registry policy
    grants more; AWS service principals (e.g. image scanning) are not affected.
    """
    statements: list[Statement] = []
    if pull_principal_arns:
        statements.append(
            {
                "Sid": "AllowPullByNodeRoles",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(pull_principal_arns)},
                "Action": list(ECR_PULL_ACTIONS),
            }
        )
    statements.append(
        {
            "Sid": "DenyPrincipalsOutsideTheAccount",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "ecr:*",
            "Condition": {
                "StringNotEquals": {"aws:PrincipalAccount": account_id},
                "Bool": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    )
    return document(*statements)


def tls_only_statements(bucket_arn: str) -> list[Statement]:
    """Deny every S3 request to the bucket and its objects that is not TLS, or uses TLS older than 1.2."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
        },
    ]


def encrypted_bucket_policy(bucket_arn: str) -> PolicyDocument:
    """The bucket policy of a data bucket: TLS only."""
    return document(*tls_only_statements(bucket_arn))


def access_log_bucket_policy(bucket_arn: str, account_id: str) -> PolicyDocument:
    """The bucket policy of the access-log bucket: TLS only, and S3 log delivery for this account's buckets.

    With Object Ownership `BucketOwnerEnforced` ACLs are off, so this statement is the only way S3 server
    access logs can be delivered; `aws:SourceAccount` stops other accounts' buckets logging into it.
    """
    return document(
        *tls_only_statements(bucket_arn),
        {
            "Sid": "AllowS3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def backup_key_policy(
    source_key_arns: Sequence[str], vault_key_arn: str, region: str, dns_suffix: str
) -> PolicyDocument:
    """What the AWS Backup role needs on keys: read the protected stores' keys via S3, write with the vault key."""
    statements: list[Statement] = []
    if source_key_arns:
        statements.append(
            {
                "Sid": "ReadProtectedStoresViaS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": sorted(source_key_arns),
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"}},
            }
        )
    statements.append(
        {
            "Sid": "EncryptRecoveryPoints",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
            "Resource": [vault_key_arn],
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        }
    )
    return document(*statements)
