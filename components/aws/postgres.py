"""AwsPostgres: a private RDS for PostgreSQL instance encrypted with a customer-managed key (MLflow's backend store)."""

import re
from collections.abc import Sequence
from typing import Required, TypedDict, get_args

import pulumi
import pulumi_aws as aws

from components._common.limits import CLOUDWATCH_RETENTION_DAYS
from components._common.tags import DataClassification, data_tags
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._resources import account_facts, customer_managed_key, merged_tags, stateful, to_json

ENGINE_MAJOR_VERSION = "17"
"""Pinned PostgreSQL major version. RDS resolves it to the newest 17.x minor and, with auto minor version upgrades,
keeps it patched; a major upgrade is a deliberate change of this constant (and of the parameter group family)."""
PARAMETER_GROUP_FAMILY = f"postgres{ENGINE_MAJOR_VERSION}"
PORT = 5432
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
"""Server certificate authority (the RDS default since 2024, valid until 2061)."""
DEFAULT_INSTANCE_CLASS = "db.t4g.medium"
DEFAULT_ALLOCATED_STORAGE_GB = 20
DEFAULT_MAX_ALLOCATED_STORAGE_GB = 100
DEFAULT_BACKUP_RETENTION_DAYS = 14
MIN_BACKUP_RETENTION_DAYS = 7
MAX_BACKUP_RETENTION_DAYS = 35
"""The RDS ceiling for automated backups."""
DEFAULT_MULTI_AZ = True
DEFAULT_DATABASE_NAME = "mlflow"
DEFAULT_MASTER_USERNAME = "mlflow_admin"
DEFAULT_PROTECT = False
DEFAULT_DATA_CLASSIFICATION = "confidential"
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
"""The free tier of Performance Insights."""
LOG_EXPORTS: tuple[str, ...] = ("postgresql", "upgrade")
"""Logs exported to CloudWatch: the server log (connections, errors, slow statements) and upgrade logs."""
DEFAULT_LOG_RETENTION_DAYS = 365
BACKUP_WINDOW = "02:00-03:00"
MAINTENANCE_WINDOW = "sun:03:30-sun:04:30"
PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("rds.force_ssl", "1", "pending-reboot"),
    ("log_connections", "1", "immediate"),
    ("log_disconnections", "1", "immediate"),
)
"""(name, value, apply method) of the parameter group: TLS only, and connection audit logging."""

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_DATABASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_RESERVED_USERNAMES = frozenset({"postgres", "rdsadmin", "admin", "root"})
MIN_PASSWORD_LENGTH = 16
"""Shortest master password accepted (RDS itself accepts 8; a database holding run metadata deserves more)."""
MAX_PASSWORD_LENGTH = 128
"""RDS for PostgreSQL's longest master password."""
_PASSWORD_FORBIDDEN = frozenset('/"@ ' + "'")
"""Characters RDS refuses in a master password: '/', '"', '@', "'" and space (CreateDBInstance MasterUserPassword)."""


class AwsPostgresArgs(TypedDict, total=False):
    """Arguments of AwsPostgres."""

    vpc_id: Required[pulumi.Input[str]]
    """VPC of the database security group. Required."""
    subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Private subnets of the DB subnet group, in at least two availability zones. Required."""
    allowed_security_group_ids: Required[Sequence[pulumi.Input[str]]]
    """Security groups admitted on port 5432 (e.g. the cluster's node security group); nothing else is. Required,
    at least one."""
    identifier: str
    """RDS instance identifier (lower-case letters, digits, single hyphens; 1-58 characters so the final snapshot
    name fits). Defaults to the component name."""
    kms_key_arn: pulumi.Input[str]
    """ARN of an existing customer-managed key for storage, snapshots, the managed master credentials and
    Performance Insights. Defaults to a new key of this database (rotated yearly)."""
    instance_class: pulumi.Input[str]
    """Instance class. Defaults to db.t4g.medium."""
    allocated_storage_gb: int
    """Initial gp3 storage in GiB (20-65536). Defaults to 20."""
    max_allocated_storage_gb: int
    """Storage autoscaling ceiling in GiB (at least `allocatedStorageGb`). Defaults to 100."""
    database_name: str
    """Database created with the instance. Defaults to mlflow."""
    master_username: str
    """Master user. Defaults to mlflow_admin."""
    master_password: pulumi.Input[str]
    """The master user's password, as a Pulumi secret (e.g. a `pulumi_random.RandomPassword` result or
    `config.require_secret`): 16-128 printable ASCII characters without '/', '"', '@', "'" or spaces. For clients
    that keep a password for their lifetime, such as the MLflow tracking server: an RDS-managed password rotates
    (every 7 days by default) and would lock them out. The password is then in Pulumi state, encrypted as a
    secret; rotate it by changing it here, which updates the Secret of its clients in the same `pulumi up`.
    Defaults to none: RDS generates the password, keeps it in Secrets Manager (encrypted with the database key)
    and rotates it, and it never reaches Pulumi state."""
    backup_retention_days: int
    """Days of automated backups and point-in-time recovery (7-35). Defaults to 14."""
    log_retention_days: int
    """Days the exported PostgreSQL logs are kept in CloudWatch (a CloudWatch retention value). Defaults to 365."""
    log_kms_key_arn: pulumi.Input[str]
    """ARN of an existing key for the log groups (its policy must let CloudWatch Logs use it for them). Defaults to
    a new key of this database's logs."""
    multi_az: bool
    """Run a synchronous standby in a second availability zone. Defaults to true (set false in dev only)."""
    data_classification: str
    """Most sensitive data stored (phi, pii, confidential, internal, public); tags the instance for the GDPR record
    of processing. Defaults to confidential."""
    protect: bool
    """Deletion protection, `protect` + `retainOnDelete`, a final snapshot on deletion and automated backups kept
    after it. Defaults to false; set true in prod."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every taggable child. Defaults to none."""


def _validate(args: AwsPostgresArgs, name: str) -> Problems:
    problems = Problems()
    for key, path in (("vpc_id", "vpcId"), ("subnet_ids", "subnetIds")):
        if args.get(key) is None:
            problems.add(path, "required")
    sources = args.get("allowed_security_group_ids")
    if not isinstance(sources, (list, tuple)) or not sources:
        problems.add("allowedSecurityGroupIds", "required: at least one security group admitted on port 5432")
    identifier = args.get("identifier", name)
    if not (isinstance(identifier, str) and len(identifier) <= 58 and _IDENTIFIER.match(identifier)):
        problems.add(
            "identifier",
            f"'{identifier}' is not an RDS identifier: 1-58 lower-case letters, digits and single hyphens, "
            "starting with a letter",
        )
    key = args.get("kms_key_arn")
    if isinstance(key, str) and not _KMS_KEY_ARN.match(key):
        problems.add("kmsKeyArn", f"'{key}' is not a KMS key ARN (aliases are not accepted)")
    allocated = args.get("allocated_storage_gb", DEFAULT_ALLOCATED_STORAGE_GB)
    if not isinstance(allocated, int) or not 20 <= allocated <= 65536:
        problems.add("allocatedStorageGb", "must be 20 to 65536 GiB")
    maximum = args.get("max_allocated_storage_gb", DEFAULT_MAX_ALLOCATED_STORAGE_GB)
    if not isinstance(maximum, int) or (isinstance(allocated, int) and maximum < allocated) or maximum > 65536:
        problems.add("maxAllocatedStorageGb", "must be at least allocatedStorageGb and at most 65536 GiB")
    database = args.get("database_name", DEFAULT_DATABASE_NAME)
    if not (isinstance(database, str) and _DATABASE_NAME.match(database)):
        problems.add("databaseName", f"'{database}' is not a database name: a letter, then letters, digits, _")
    password = args.get("master_password")
    if isinstance(password, str) and not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        and password.isascii()
        and password.isprintable()
        and not _PASSWORD_FORBIDDEN & set(password)
    ):
        problems.add(
            "masterPassword",
            f"must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} printable ASCII characters without '/', '\"', '@', "
            '"\'" or spaces (RDS refuses them); pass it as a Pulumi secret',
        )
    username = args.get("master_username", DEFAULT_MASTER_USERNAME)
    if not (isinstance(username, str) and _DATABASE_NAME.match(username)) or username in _RESERVED_USERNAMES:
        problems.add("masterUsername", f"'{username}' is not an allowed master user name")
    retention = args.get("backup_retention_days", DEFAULT_BACKUP_RETENTION_DAYS)
    if not isinstance(retention, int) or not MIN_BACKUP_RETENTION_DAYS <= retention <= MAX_BACKUP_RETENTION_DAYS:
        problems.add("backupRetentionDays", f"must be {MIN_BACKUP_RETENTION_DAYS} to {MAX_BACKUP_RETENTION_DAYS} days")
    if args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS) not in CLOUDWATCH_RETENTION_DAYS:
        problems.add("logRetentionDays", f"must be a CloudWatch retention: {CLOUDWATCH_RETENTION_DAYS}")
    log_key = args.get("log_kms_key_arn")
    if isinstance(log_key, str) and not _KMS_KEY_ARN.match(log_key):
        problems.add("logKmsKeyArn", f"'{log_key}' is not a KMS key ARN (aliases are not accepted)")
    for key, path in (("multi_az", "multiAz"), ("protect", "protect")):
        if key in args and not isinstance(args[key], bool):  # type: ignore[literal-required]
            problems.add(path, "must be true or false")
    if args.get("data_classification", DEFAULT_DATA_CLASSIFICATION) not in get_args(DataClassification):
        problems.add("dataClassification", f"must be one of {', '.join(get_args(DataClassification))}")
    return problems


class AwsPostgres(pulumi.ComponentResource):
    """A private, encrypted RDS for PostgreSQL instance, e.g. the MLflow tracking server's backend store.

    Creates:
    - a customer-managed KMS key (yearly rotation) unless `kmsKeyArn` is given; it encrypts storage, snapshots,
      the master user secret and Performance Insights;
    - a DB subnet group on the given private subnets and a security group admitting TCP 5432 only from the given
      security groups (no egress rules: the database opens no connections);
    - a parameter group that forces TLS (`rds.force_ssl`) and logs connections and disconnections;
    - the instance: not publicly accessible, IAM database authentication, the master password generated, kept and
      rotated by RDS in Secrets Manager (never in Pulumi state) unless `masterPassword` supplies one (kept in state
      as a secret, for clients that cannot follow a rotation), automated backups with point-in-time recovery, tags
      copied to snapshots, log exports to CloudWatch, automatic minor upgrades, optionally Multi-AZ.

    With `protect`: deletion protection, `protect` + `retainOnDelete` on the instance, keys and log groups, a final
    snapshot on deletion and automated backups kept after it.

    Sources: RDS for PostgreSQL SSL/TLS and `rds.force_ssl`
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html), master passwords
    in Secrets Manager (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html), log
    exports to CloudWatch (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html).
    """

    endpoint: pulumi.Output[str]
    """Host name of the instance."""
    port: pulumi.Output[int]
    """Port of the instance (5432)."""
    database_name: pulumi.Output[str]
    """Name of the database created with the instance."""
    master_user_secret_arn: pulumi.Output[str]
    """ARN of the Secrets Manager entry (Secret) holding the master user's credentials, managed and rotated by RDS;
    empty when `masterPassword` was supplied."""
    master_username: pulumi.Output[str]
    """The master user's name."""
    security_group_id: pulumi.Output[str]
    """ID of the database's security group."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the key encrypting the database, its snapshots, master credentials and Performance Insights."""
    instance_arn: pulumi.Output[str]
    """ARN of the instance (e.g. for AwsBackupPlan)."""

    def __init__(self, name: str, args: AwsPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args, name).raise_if_any(f"AwsPostgres '{name}'")
        super().__init__("mlplatform:index:AwsPostgres", name, {}, opts)

        protect = args.get("protect", DEFAULT_PROTECT)
        identifier = args.get("identifier", name)
        supplied_password = (
            pulumi.Output.secret(args["master_password"]) if args.get("master_password") is not None else None
        )
        retention = args.get("backup_retention_days", DEFAULT_BACKUP_RETENTION_DAYS)
        tags = merged_tags(
            args.get("tags"), data_tags(args.get("data_classification", DEFAULT_DATA_CLASSIFICATION), None)
        )
        facts = account_facts(self)
        key_arn: pulumi.Output[str]
        if args.get("kms_key_arn") is not None:
            key_arn = pulumi.Output.from_input(args["kms_key_arn"])
        else:
            key = customer_managed_key(
                f"{name}-key",
                parent=self,
                description=f"PostgreSQL database {identifier}: storage, snapshots, master secret",
                policy=to_json(
                    pulumi.Output.all(facts.partition, facts.account_id).apply(lambda v: iam.data_key_policy(*v))
                ),
                tags=tags,
                protect=protect,
            )
            key_arn = key.arn
        log_retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        log_tags = merged_tags(args.get("tags"), data_tags("confidential", log_retention))
        # RDS writes exports to these groups; created first, they are encrypted and expire (RDS would create them
        # unencrypted and kept forever).
        log_group_names = [f"/aws/rds/instance/{identifier}/{export}" for export in LOG_EXPORTS]
        log_key_arn: pulumi.Output[str]
        if args.get("log_kms_key_arn") is not None:
            log_key_arn = pulumi.Output.from_input(args["log_kms_key_arn"])
        else:
            log_key = customer_managed_key(
                f"{name}-logs-key",
                parent=self,
                description=f"PostgreSQL database {identifier}: exported logs",
                policy=to_json(
                    pulumi.Output.all(facts.partition, facts.region, facts.account_id, facts.dns_suffix).apply(
                        lambda v: iam.log_group_key_policy(
                            v[0],
                            v[1],
                            v[2],
                            v[3],
                            [iam.log_group_arn(v[0], v[1], v[2], group) for group in log_group_names],
                        )
                    )
                ),
                tags=log_tags,
                protect=protect,
            )
            log_key_arn = log_key.arn
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-{export}-logs",
                name=group,
                kms_key_id=log_key_arn,
                retention_in_days=log_retention,
                deletion_protection_enabled=protect,
                tags=log_tags,
                opts=stateful(self, protect),
            )
            for export, group in zip(LOG_EXPORTS, log_group_names, strict=True)
        ]

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"Private subnets of PostgreSQL database {identifier}",
            subnet_ids=args["subnet_ids"],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"PostgreSQL database {identifier}: 5432 from the admitted security groups only",
            vpc_id=args["vpc_id"],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for index, source in enumerate(args["allowed_security_group_ids"]):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-sg-ingress-{index}",
                security_group_id=security_group.id,
                description="PostgreSQL from an admitted security group",
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                referenced_security_group_id=source,
                opts=pulumi.ResourceOptions(parent=self),
            )
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=PARAMETER_GROUP_FAMILY,
            description=f"PostgreSQL database {identifier}: TLS only, connection logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=param, value=value, apply_method=method)
                for param, value, method in PARAMETERS
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=ENGINE_MAJOR_VERSION,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            instance_class=args.get("instance_class", DEFAULT_INSTANCE_CLASS),
            storage_type="gp3",
            allocated_storage=args.get("allocated_storage_gb", DEFAULT_ALLOCATED_STORAGE_GB),
            max_allocated_storage=args.get("max_allocated_storage_gb", DEFAULT_MAX_ALLOCATED_STORAGE_GB),
            storage_encrypted=True,
            kms_key_id=key_arn,
            db_name=args.get("database_name", DEFAULT_DATABASE_NAME),
            username=args.get("master_username", DEFAULT_MASTER_USERNAME),
            # RDS-managed passwords rotate in Secrets Manager (every 7 days by default); a supplied one does not.
            manage_master_user_password=True if supplied_password is None else None,
            master_user_secret_kms_key_id=key_arn if supplied_password is None else None,
            password=supplied_password,
            iam_database_authentication_enabled=True,
            port=PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            network_type="IPV4",
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            parameter_group_name=parameter_group.name,
            multi_az=args.get("multi_az", DEFAULT_MULTI_AZ),
            backup_retention_period=retention,
            backup_window=BACKUP_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not protect,
            deletion_protection=protect,
            skip_final_snapshot=not protect,
            final_snapshot_identifier=f"{identifier}-final" if protect else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            apply_immediately=False,
            tags=tags,
            opts=stateful(self, protect, depends_on=log_groups),
        )
        self.endpoint = instance.address
        self.port = instance.port
        self.database_name = instance.db_name
        self.master_user_secret_arn = instance.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn if secrets else ""
        )
        self.master_username = instance.username
        self.security_group_id = security_group.id
        self.kms_key_arn = key_arn
        self.instance_arn = instance.arn
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "port": self.port,
                "databaseName": self.database_name,
                "masterUserSecretArn": self.master_user_secret_arn,
                "masterUsername": self.master_username,
                "securityGroupId": self.security_group_id,
                "kmsKeyArn": self.kms_key_arn,
                "instanceArn": self.instance_arn,
            }
        )
