"""Pure builders of IAM, KMS key and resource policy documents for the AWS components (no cloud calls)."""

from collections.abc import Sequence
from typing import Any

from components._common import autoscaling

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


TRAINING_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
"""What writing checkpoints, models and artifacts needs (multipart uploads included); never a delete."""


def training_data_policy(
    *,
    reads: Sequence[tuple[str, str, str]],
    writes: Sequence[tuple[str, str, str]],
    region: str,
    dns_suffix: str,
) -> PolicyDocument:
    """Data access of one team's training jobs: read the `reads` prefixes, read and write the `writes` ones.

    `reads` and `writes` are `(bucket_arn, prefix, key_arn)`: a prefix without '/' at the ends and the KMS key
    encrypting the bucket. Per bucket: s3:ListBucket only with an `s3:prefix` condition on its
    prefixes; s3:GetObject under every prefix; s3:PutObject and s3:AbortMultipartUpload under the write prefixes.
    No deletes, no other bucket, no other prefix. Keys only through S3 in this region for objects of these
    prefixes (or the bucket, with S3 Bucket Keys): kms:Decrypt for reads, plus kms:GenerateDataKey for writes,
    which SSE-KMS uploads need (and multipart uploads also kms:Decrypt: Amazon S3 user guide, "Multipart upload
    API and permissions").
    """
    buckets = list(dict.fromkeys(bucket for bucket, _, _ in [*reads, *writes]))
    statements: list[Statement] = []
    for index, bucket in enumerate(buckets):
        read = [prefix for owner, prefix, _ in [*reads, *writes] if owner == bucket]
        written = [prefix for owner, prefix, _ in writes if owner == bucket]
        keys = sorted({key for owner, _, key in [*reads, *writes] if owner == bucket})
        key_resource: str | list[str] = keys[0] if len(keys) == 1 else keys
        statements += [
            {
                "Sid": f"ListTeamPrefixes{index}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket,
                "Condition": {"StringLike": {"s3:prefix": [form for p in read for form in (f"{p}/", f"{p}/*")]}},
            },
            {
                "Sid": f"ReadTeamObjects{index}",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{bucket}/{p}/*" for p in read],
            },
        ]
        if written:
            statements.append(
                {
                    "Sid": f"WriteTeamObjects{index}",
                    "Effect": "Allow",
                    "Action": list(TRAINING_WRITE_ACTIONS),
                    "Resource": [f"{bucket}/{p}/*" for p in written],
                }
            )
        via_s3 = {"kms:ViaService": f"s3.{region}.{dns_suffix}"}
        statements.append(
            {
                "Sid": f"DecryptTeamObjects{index}",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_resource,
                "Condition": {
                    "StringEquals": via_s3,
                    # With S3 bucket keys the encryption context is the bucket ARN, otherwise the object ARN.
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, *(f"{bucket}/{p}/*" for p in read)]},
                },
            }
        )
        if written:
            statements.append(
                {
                    "Sid": f"EncryptTeamObjects{index}",
                    "Effect": "Allow",
                    "Action": "kms:GenerateDataKey",
                    "Resource": key_resource,
                    "Condition": {
                        "StringEquals": via_s3,
                        "StringLike": {
                            "kms:EncryptionContext:aws:s3:arn": [bucket, *(f"{bucket}/{p}/*" for p in written)]
                        },
                    },
                }
            )
    return document(*statements)


SECRETS_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
"""What the Secrets Store CSI driver's AWS provider calls to mount a Secrets Manager secret."""


def secret_name_prefix_arn(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    """The ARN pattern of every Secrets Manager secret whose name starts with `<name_prefix>/`.

    Secrets Manager appends `-` and six random characters to a secret's name in its ARN, so a grant on one
    name needs a trailing wildcard anyway; ending the prefix with `/` keeps `team-a/*` from matching `team-ab/x`.
    """
    return f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{name_prefix}/*"


def serving_secrets_statements(
    *, partition: str, region: str, account_id: str, dns_suffix: str, name_prefix: str, key_arn: str | None
) -> list[Statement]:
    """Read-only access to the Secrets Manager secrets under `<name_prefix>/` (one serving namespace's).

    GetSecretValue and DescribeSecret only, on the prefix's ARN pattern: no listing, no writes, no other
    namespace's secrets. With a customer-managed key, kms:Decrypt on that key only through Secrets Manager in this
    region and only for secrets under the prefix (Secrets Manager passes the secret's ARN as the `SecretARN`
    encryption context: AWS Secrets Manager user guide, "Secret encryption and decryption").
    """
    secrets = secret_name_prefix_arn(partition, region, account_id, name_prefix)
    statements: list[Statement] = [
        {"Sid": "ReadNamespaceSecrets", "Effect": "Allow", "Action": list(SECRETS_READ_ACTIONS), "Resource": secrets}
    ]
    if key_arn:
        statements.append(
            {
                "Sid": "DecryptNamespaceSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.{dns_suffix}"},
                    "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
                },
            }
        )
    return statements


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
    source_key_arns: Sequence[str],
    vault_key_arn: str,
    region: str,
    dns_suffix: str,
    database_key_arns: Sequence[str] = (),
) -> PolicyDocument:
    """What the AWS Backup role needs on keys: read the protected stores' keys via S3, write with the vault key, and
    use the RDS instances' keys through RDS.

    RDS is not fully managed by AWS Backup: its recovery points are RDS snapshots that keep the instance's key
    instead of the vault's ("Backups of resource types that are not fully managed by AWS Backup typically inherit
    the encryption settings from their source resource"; "Your IAM role must have access to the KMS key being used
    to back up and restore the object. Otherwise the job is successful but the objects are not backed up or
    restored": https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html). So the role may use those
    keys, only through RDS in this region, and grant them only to AWS resources (RDS grants itself the key for a
    snapshot copy or a restore).
    """
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
    if database_key_arns:
        via_rds = {"kms:ViaService": f"rds.{region}.{dns_suffix}"}
        statements += [
            {
                "Sid": "UseDatabaseKeysViaRds",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": sorted(database_key_arns),
                "Condition": {"StringEquals": via_rds},
            },
            {
                "Sid": "GrantDatabaseKeysToRds",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": sorted(database_key_arns),
                "Condition": {"StringEquals": via_rds, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
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


# --- Karpenter ------------------------------------------------------------------------------------------
# Facts: Karpenter v1.14.1's getting-started CloudFormation template (github.com/aws/karpenter-provider-aws at
# tag v1.14.1, website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml): the
# controller's NodeLifecycle, IAMIntegration, EKSIntegration, Interruption, ZonalShift and ResourceDiscovery
# policies, the interruption queue, its policy and its EventBridge rules. Statement IDs are Karpenter's, so a
# diff against a later release reads statement by statement.

KARPENTER_DISCOVERY_TAG = autoscaling.KARPENTER_DISCOVERY_TAG
"""Tag key EC2NodeClass subnet and security group selector terms match (value: the cluster name)."""
KARPENTER_NODEPOOL_TAG = "karpenter.sh/nodepool"
"""Tag Karpenter puts on everything it launches; its presence marks a resource as Karpenter's."""
KARPENTER_NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"
"""Tag Karpenter puts on the instance profiles it creates for an EC2NodeClass."""
EKS_CLUSTER_NAME_TAG = "eks:eks-cluster-name"
"""Tag Karpenter puts on everything it launches, naming the cluster."""
REGION_TAG = "topology.kubernetes.io/region"
"""Tag Karpenter puts on the instance profiles it creates, naming their region."""
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
"""Service principal of EKS Pod Identity, which assumes a role for a pod's service account."""
EC2_SERVICE_PRINCIPALS = ("ec2.amazonaws.com", "ec2.amazonaws.com.cn")
"""`iam:PassedToService` values of EC2 (commercial and China partitions), as Karpenter's policy lists them."""
KARPENTER_QUEUE_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage")
"""What the controller does with its interruption queue."""
KARPENTER_REGIONAL_READ_ACTIONS = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
)
"""EC2 reads without resource-level permissions; Karpenter's policy limits them to the cluster's region."""


def cluster_arn(partition: str, region: str, account_id: str, cluster_name: str) -> str:
    """The ARN of the EKS cluster `cluster_name`."""
    return f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"


def pod_identity_trust_policy(cluster_name: str, namespace: str, service_account: str) -> PolicyDocument:
    """Trust for EKS Pod Identity: only the one service account of one namespace in one cluster may assume the role.

    EKS Pod Identity assumes the role with `sts:AssumeRole` and `sts:TagSession`, passing the session tags
    `eks-cluster-name`, `kubernetes-namespace` and `kubernetes-service-account`; pinning them in the trust
    policy is the EKS user guide's way to limit which pods can use the role ("Create IAM role with trust
    policy required by EKS Pod Identity", https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
    The association must keep session tags on.
    """
    return document(
        {
            "Sid": "AllowEksPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": POD_IDENTITY_SERVICE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/eks-cluster-name": cluster_name,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                }
            },
        }
    )


def _cluster_owned(kind: str, cluster_name: str) -> dict[str, str]:
    """`<kind>Tag/kubernetes.io/cluster/<cluster>: owned` (kind: `aws:RequestTag` or `aws:ResourceTag`)."""
    return {f"{kind}/kubernetes.io/cluster/{cluster_name}": "owned"}


def karpenter_controller_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    dns_suffix: str,
    cluster_name: str,
    queue_arn: str,
    node_role_arn: str,
    key_arn: str,
) -> PolicyDocument:
    """The Karpenter controller's policy: Karpenter v1.14.1's least-privilege policy for one cluster, plus the key.

    Every statement of the documented policy (see the section comment above), with two changes:
    - subnets and security groups a launch may use must carry `karpenter.sh/discovery=<cluster>` (Karpenter's
      policy allows any in the region; the EC2NodeClass selects them by that tag anyway, so the controller
      cannot launch into a network it was not given);
    - the node volume key: node volumes are encrypted with the cluster key and Karpenter launches instances
      itself, so EC2 uses the key on the controller's behalf (the KMS calls name the controller's role; without
      them the node terminates at once: Karpenter troubleshooting, "Node terminates before ready on failed
      encrypted EBS volume", and aws/karpenter-provider-aws#4935). Both only through EC2 in this region; grants
      only for AWS resources (the volumes).

    Args:
        partition: AWS partition, e.g. `aws`.
        region: the cluster's region.
        account_id: the cluster's account.
        dns_suffix: the partition's DNS suffix, e.g. `amazonaws.com`.
        cluster_name: the EKS cluster name, which the tag conditions pin.
        queue_arn: the interruption queue, the only queue the controller reads.
        node_role_arn: the Karpenter node role, the only role the controller may pass (to EC2).
        key_arn: the cluster key that encrypts node volumes.
    """
    ec2 = f"arn:{partition}:ec2:{region}"
    instance_profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    this_cluster = cluster_arn(partition, region, account_id, cluster_name)
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    karpenter_owned = {f"aws:ResourceTag/{KARPENTER_NODEPOOL_TAG}": "*"}
    tagged_request = {
        **_cluster_owned("aws:RequestTag", cluster_name),
        f"aws:RequestTag/{EKS_CLUSTER_NAME_TAG}": cluster_name,
    }
    via_ec2 = {"kms:ViaService": f"ec2.{region}.{dns_suffix}"}
    return document(
        # --- NodeLifecyclePolicy ---
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            # What a launch references but does not create: AWS's public AMIs and their snapshots (they carry no
            # tags of ours), capacity reservations and placement groups.
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowDiscoveredNetworkAccessActions",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*"],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": {f"aws:ResourceTag/{KARPENTER_DISCOVERY_TAG}": cluster_name}},
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {
                "StringEquals": _cluster_owned("aws:ResourceTag", cluster_name),
                "StringLike": karpenter_owned,
            },
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {
                "StringEquals": tagged_request,
                "StringLike": {f"aws:RequestTag/{KARPENTER_NODEPOOL_TAG}": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **tagged_request,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {f"aws:RequestTag/{KARPENTER_NODEPOOL_TAG}": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": _cluster_owned("aws:ResourceTag", cluster_name),
                "StringLike": karpenter_owned,
                "StringEqualsIfExists": {f"aws:RequestTag/{EKS_CLUSTER_NAME_TAG}": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": [EKS_CLUSTER_NAME_TAG, "karpenter.sh/nodeclaim", "Name"],
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {
                "StringEquals": _cluster_owned("aws:ResourceTag", cluster_name),
                "StringLike": karpenter_owned,
            },
        },
        # --- IAMIntegrationPolicy ---
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": list(EC2_SERVICE_PRINCIPALS)}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {**tagged_request, f"aws:RequestTag/{REGION_TAG}": region},
                "StringLike": {f"aws:RequestTag/{KARPENTER_NODECLASS_TAG}": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **_cluster_owned("aws:ResourceTag", cluster_name),
                    f"aws:ResourceTag/{REGION_TAG}": region,
                    **tagged_request,
                    f"aws:RequestTag/{REGION_TAG}": region,
                },
                "StringLike": {
                    f"aws:ResourceTag/{KARPENTER_NODECLASS_TAG}": "*",
                    f"aws:RequestTag/{KARPENTER_NODECLASS_TAG}": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {
                    **_cluster_owned("aws:ResourceTag", cluster_name),
                    f"aws:ResourceTag/{REGION_TAG}": region,
                },
                "StringLike": {f"aws:ResourceTag/{KARPENTER_NODECLASS_TAG}": "*"},
            },
        },
        # --- EKSIntegrationPolicy, InterruptionPolicy, ZonalShiftPolicy ---
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": this_cluster,
            "Action": "eks:DescribeCluster",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": list(KARPENTER_QUEUE_ACTIONS),
        },
        {
            "Sid": "AllowZonalShiftStatusReadOnly",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["arc-zonal-shift:GetManagedResource"],
            "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": this_cluster}},
        },
        # --- ResourceDiscoveryPolicy ---
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": list(KARPENTER_REGIONAL_READ_ACTIONS),
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {
            # The Price List API has no resource-level permissions.
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": "iam:GetInstanceProfile",
        },
        # --- The node volume key (this platform's addition) ---
        {
            "Sid": "AllowNodeVolumeEncryption",
            "Effect": "Allow",
            "Resource": key_arn,
            "Action": list(_KEY_USE_ACTIONS),
            "Condition": {"StringEquals": via_ec2},
        },
        {
            "Sid": "AllowNodeVolumeKeyGrants",
            "Effect": "Allow",
            "Resource": key_arn,
            "Action": "kms:CreateGrant",
            "Condition": {"StringEquals": via_ec2, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    )


def karpenter_interruption_queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> PolicyDocument:
    """The interruption queue's policy: EventBridge (from the given rules only) and SQS may send; TLS only.

    Karpenter v1.14.1's queue policy lets `events.amazonaws.com` and `sqs.amazonaws.com` send and denies
    requests without TLS; here the EventBridge grant is also pinned to this cluster's rules with
    `aws:SourceArn`, the confused-deputy guard EventBridge documents for SQS targets
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
    """
    return document(
        {
            "Sid": "AllowEventBridgeRules",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
        },
        {
            "Sid": "AllowSqs",
            "Effect": "Allow",
            "Principal": {"Service": "sqs.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


KARPENTER_INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
"""The EventBridge rules of Karpenter v1.14.1's interruption handling, by rule suffix: (source, detail-type)."""


def event_pattern(source: str, detail_type: str) -> dict[str, list[str]]:
    """An EventBridge pattern matching one detail type of one source."""
    return {"source": [source], "detail-type": [detail_type]}
