"""AwsBackupPlan: daily AWS Backup of the platform's data stores into an encrypted, protected vault."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict, get_args

import pulumi
import pulumi_aws as aws

from components._common.tags import DataClassification, data_tags
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._resources import account_facts, customer_managed_key, merged_tags, stateful, to_json

DEFAULT_RETENTION_DAYS = 35
"""Days a recovery point is kept: five weekly cycles, enough to restore from an unnoticed deletion or corruption."""
DEFAULT_SCHEDULE = "cron(0 3 * * ? *)"
"""Daily at 03:00 UTC."""
DEFAULT_PROTECT = False
DEFAULT_DATA_CLASSIFICATION = "confidential"
_MANAGED_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
"""AWS-managed policies that let AWS Backup snapshot and restore RDS, EBS and the like (the first two) and S3 (the
last two): the documented service role set."""


class AwsBackupPlanArgs(TypedDict):
    """Arguments of AwsBackupPlan."""

    resource_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """ARNs of the data stores to back up (S3 buckets need versioning, which AwsEncryptedBucket turns on). Required."""
    source_kms_key_arns: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Keys that encrypt those stores; the backup role may decrypt with them through S3 only. Defaults to none."""
    database_kms_key_arns: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Keys that encrypt the RDS instances among `resourceArns` (`AwsPostgres.kmsKeyArn`). Their recovery points
    are RDS snapshots that keep the instance's key, so the backup role may use these keys, through RDS only;
    without them the jobs report success and back nothing up. Defaults to none."""
    retention_days: NotRequired[int]
    """Days each recovery point is kept (1-3650). Defaults to 35."""
    schedule: NotRequired[str]
    """When backups run, an AWS cron expression. Defaults to daily at 03:00 UTC."""
    data_classification: NotRequired[str]
    """Classification of the most sensitive store backed up (phi, pii, confidential, internal, public); tags the
    vault and key for the GDPR record of processing. Defaults to confidential."""
    protect: NotRequired[bool]
    """Protect and retain the vault and its key (`protect` + `retainOnDelete`). Defaults to false."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child. Defaults to none."""


class AwsBackupPlan(pulumi.ComponentResource):
    """A daily AWS Backup plan for data stores holding personal or health data (HIPAA 164.308(a)(7)).

    Creates:
    - a customer-managed KMS key and a backup vault encrypted with it;
    - a backup plan with one daily rule and a retention lifecycle;
    - a service role for AWS Backup with the documented backup/restore policies, decrypt rights on the stores'
      keys (through S3 only) and use of the databases' keys (through RDS only: RDS snapshots keep their key);
    - a selection of the given resources by ARN.

    Security defaults: the vault and its key are protected in prod (never force-destroyed), recovery points are
    encrypted with a rotating customer-managed key, and the role can use the stores' keys only via S3.
    """

    vault_name: pulumi.Output[str]
    """Name of the backup vault."""
    vault_arn: pulumi.Output[str]
    """ARN of the backup vault."""
    plan_id: pulumi.Output[str]
    """ID of the backup plan."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the key encrypting the recovery points."""

    def __init__(self, name: str, args: AwsBackupPlanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        if args.get("resource_arns") is None:
            problems.add("resourceArns", "required: the ARNs of the data stores to back up")
        retention = args.get("retention_days", DEFAULT_RETENTION_DAYS)
        if not isinstance(retention, int) or not 1 <= retention <= 3650:
            problems.add("retentionDays", "must be 1 to 3650 days")
        schedule = args.get("schedule", DEFAULT_SCHEDULE)
        if not (isinstance(schedule, str) and schedule.startswith("cron(") and schedule.endswith(")")):
            problems.add("schedule", f"'{schedule}' is not an AWS cron expression such as {DEFAULT_SCHEDULE}")
        classification = args.get("data_classification", DEFAULT_DATA_CLASSIFICATION)
        if classification not in get_args(DataClassification):
            problems.add("dataClassification", f"must be one of {', '.join(get_args(DataClassification))}")
        problems.raise_if_any(f"AwsBackupPlan '{name}'")
        super().__init__("mlplatform:index:AwsBackupPlan", name, {}, opts)

        protect = args.get("protect", DEFAULT_PROTECT)
        tags = merged_tags(args.get("tags"), data_tags(classification, retention))
        facts = account_facts(self)
        key = customer_managed_key(
            f"{name}-key",
            parent=self,
            description=f"Recovery points of backup vault {name}",
            policy=to_json(
                pulumi.Output.all(facts.partition, facts.account_id).apply(lambda v: iam.data_key_policy(*v))
            ),
            tags=tags,
            protect=protect,
        )
        vault = aws.backup.Vault(
            f"{name}-vault", kms_key_arn=key.arn, force_destroy=False, tags=tags, opts=stateful(self, protect)
        )
        plan = aws.backup.Plan(
            f"{name}-plan",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=schedule,
                    start_window=60,
                    completion_window=480,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=retention),
                )
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{name}-role",
            description=f"AWS Backup service role of plan {name}",
            assume_role_policy=to_json(iam.service_trust_policy("backup.amazonaws.com")),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{policy.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=facts.partition.apply(lambda partition, p=policy: f"arn:{partition}:iam::aws:policy/{p}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy in _MANAGED_POLICIES
        ]
        key_access = aws.iam.RolePolicy(
            f"{name}-role-keys",
            role=role.name,
            policy=to_json(
                pulumi.Output.all(
                    pulumi.Output.from_input(args.get("source_kms_key_arns") or []),
                    key.arn,
                    facts.region,
                    facts.dns_suffix,
                    pulumi.Output.from_input(args.get("database_kms_key_arns") or []),
                ).apply(lambda v: iam.backup_key_policy(list(v[0]), v[1], v[2], v[3], list(v[4])))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{name}-data-stores",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=args["resource_arns"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*attachments, key_access]),
        )
        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.plan_id = plan.id
        self.kms_key_arn = key.arn
        self.register_outputs(
            {
                "vaultName": self.vault_name,
                "vaultArn": self.vault_arn,
                "planId": self.plan_id,
                "kmsKeyArn": self.kms_key_arn,
            }
        )
