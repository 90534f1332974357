"""Audit logging: S3 access logs, EKS control-plane logs, CloudTrail, VPC flow logs, Azure diagnostic settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.rules.aws_common import BUCKET_TYPES, LOGGING_TYPES, VPC_TYPES, attached_to_bucket, is_access_log_bucket
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Setting,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_list,
    dicts,
    is_set,
    must_be_true,
    resource_rule,
    stack_rule,
)


def _logging_targets(stack: Stack, bucket: Resource) -> list[tuple[Resource, Any]]:
    """(resource carrying the setting, target bucket value) for separate and inline logging settings."""
    targets: list[tuple[Resource, Any]] = [
        (logging, logging.props.get("targetBucket")) for logging in attached_to_bucket(stack, bucket, LOGGING_TYPES)
    ]
    inline = bucket.props.get("logging")
    if inline is UNKNOWN or isinstance(inline, dict):
        targets.append((bucket, UNKNOWN if inline is UNKNOWN else inline.get("targetBucket")))
    loggings, unknown = dicts(bucket.props.get("loggings"))
    targets.extend((bucket, item.get("targetBucket")) for item in loggings)
    if unknown:
        targets.append((bucket, UNKNOWN))
    return targets


def _logs_elsewhere(bucket: Resource, holder: Resource, target: Any) -> bool | Any:
    """True when a logging setting delivers to another bucket, False when to the bucket itself, else UNKNOWN."""
    key = "targetBucket" if holder is not bucket else ("logging" if bucket.props.get("logging") else "loggings")
    sources = holder.dependencies.get(key, [])
    if bucket.urn in sources or (isinstance(target, str) and target == bucket.props.get("bucket")):
        return False
    if (holder is not bucket and sources) or (isinstance(target, str) and target):
        return True
    return UNKNOWN if target is UNKNOWN else False


@stack_rule(
    name="aws-s3-bucket-access-logging",
    title="S3 buckets log access to a separate log bucket",
    description=(
        "Every S3 bucket except the access-log bucket itself has server access logging (BucketLogging) into "
        "another bucket; the log bucket is not required to log to itself."
    ),
    remediation=(
        "Add aws.s3.BucketLogging(bucket=bucket.id, target_bucket=log_bucket.id, target_prefix='<bucket>/') "
        "pointing at the platform's access-log bucket."
    ),
    scope="S3 buckets other than the access-log bucket",
)
def s3_access_logging(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = [bucket for bucket in stack.of(BUCKET_TYPES) if not is_access_log_bucket(stack, bucket)]
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets that must log access")
    for bucket in buckets:
        targets = _logging_targets(stack, bucket)
        if not targets:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' has no server access logging; add aws.s3.BucketLogging with "
                    "target_bucket set to the access-log bucket."
                ),
            )
            continue
        verdicts = [_logs_elsewhere(bucket, holder, target) for holder, target in targets]
        if True in verdicts:
            continue
        if UNKNOWN in verdicts:
            yield bucket, Unverified(f"the access-log target of S3 bucket '{bucket.name}'")
        else:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' does not deliver its access logs to a separate bucket; set "
                    "target_bucket to the access-log bucket."
                ),
            )


_REQUIRED_EKS_LOGS = ("api", "audit", "authenticator")


@resource_rule(
    name="aws-eks-cluster-control-plane-logging",
    title="EKS clusters send control-plane audit logs to CloudWatch",
    description=(
        "EKS clusters enable the api, audit and authenticator control-plane log types (controllerManager and "
        "scheduler are recommended)."
    ),
    remediation="Set enabled_cluster_log_types=['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'] on aws.eks.Cluster.",
    scope="EKS clusters",
    types=("aws:eks/cluster:Cluster",),
)
def eks_control_plane_logging(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    types = as_list(cluster.props.get("enabledClusterLogTypes"))
    if types is UNKNOWN or UNKNOWN in types:
        yield Unverified(f"enabled_cluster_log_types of EKS cluster '{cluster.name}'")
        return
    missing = [log for log in _REQUIRED_EKS_LOGS if log not in types]
    if missing:
        yield f"EKS cluster '{cluster.name}' does not log {', '.join(missing)}; add them to enabled_cluster_log_types."


@resource_rule(
    name="aws-cloudtrail-trail-secure",
    title="CloudTrail trails are complete, validated and encrypted",
    description=(
        "CloudTrail trails are multi-region, validate log files, encrypt with a customer-managed KMS key, deliver "
        "to CloudWatch Logs, and are not switched off."
    ),
    remediation=(
        "Set is_multi_region_trail=True, enable_log_file_validation=True, kms_key_id=key.arn, "
        "cloud_watch_logs_group_arn=f'{log_group.arn}:*' (with cloud_watch_logs_role_arn) and leave enable_logging unset."
    ),
    scope="CloudTrail trails",
    types=("aws:cloudtrail/trail:Trail",),
)
def cloudtrail_trail(trail: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    for field_name, argument in (
        ("isMultiRegionTrail", "is_multi_region_trail"),
        ("enableLogFileValidation", "enable_log_file_validation"),
    ):
        yield from must_be_true(
            trail.props.get(field_name),
            f"{argument} of CloudTrail trail '{trail.name}'",
            f"CloudTrail trail '{trail.name}' does not set {argument}; set {argument}=True.",
        )
    for field_name, argument in (("kmsKeyId", "kms_key_id"), ("cloudWatchLogsGroupArn", "cloud_watch_logs_group_arn")):
        if not is_set(trail.props.get(field_name)):
            yield f"CloudTrail trail '{trail.name}' has no {argument}; set {argument}."
    if as_bool(trail.props.get("enableLogging")) is False:
        yield f"CloudTrail trail '{trail.name}' is switched off; remove enable_logging=False."


REQUIRE_TRAIL = Setting(
    "requireTrail",
    {
        "type": "boolean",
        "default": False,
        "description": "This stack is the account baseline and must define at least one CloudTrail trail.",
    },
)


@stack_rule(
    name="aws-cloudtrail-trail-required",
    title="The account baseline stack defines a CloudTrail trail",
    description="When requireTrail is set (the account baseline stack), the stack defines at least one CloudTrail trail.",
    remediation="Add aws.cloudtrail.Trail with the settings of aws-cloudtrail-trail-secure to the baseline stack.",
    scope="account baseline stacks (requireTrail)",
    settings=(REQUIRE_TRAIL,),
)
def cloudtrail_required(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    if config.get("requireTrail") is not True:
        raise NotApplicable("requireTrail is not set; the trail lives in the account baseline stack")
    if not stack.of(("aws:cloudtrail/trail:Trail",)):
        yield (
            None,
            "The stack defines no CloudTrail trail; add aws.cloudtrail.Trail (multi-region, validated, KMS-encrypted).",
        )


@stack_rule(
    name="aws-vpc-flow-logs-enabled",
    title="VPCs record all traffic in flow logs",
    description=(
        "Every VPC, an adopted default VPC (aws.ec2.DefaultVpc) included, has a flow log (aws.ec2.FlowLog with vpc_id "
        "from the VPC) capturing traffic_type ALL."
    ),
    remediation="Add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL', log_destination_type='cloud-watch-logs', log_destination=log_group.arn, iam_role_arn=role.arn).",
    scope="VPCs",
)
def vpc_flow_logs(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    vpcs = stack.of(VPC_TYPES)
    if not vpcs:
        raise NotApplicable("the stack has no VPCs")
    for vpc in vpcs:
        logs = stack.attached(vpc, ("aws:ec2/flowLog:FlowLog",), "vpcId")
        kinds = [log.props.get("trafficType") for log in logs]
        if "ALL" in kinds:
            continue
        if UNKNOWN in kinds:
            yield vpc, Unverified(f"the flow log traffic type of VPC '{vpc.name}'")
        elif logs:
            yield (
                vpc,
                f"VPC '{vpc.name}' logs only {', '.join(map(str, kinds))} traffic; set traffic_type='ALL' on its FlowLog.",
            )
        else:
            yield vpc, f"VPC '{vpc.name}' has no flow log; add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL', ...)."


_DIAGNOSTIC_TYPES = ("azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting")
_DIAGNOSTIC_TARGETS = {
    "azure-native:containerservice:ManagedCluster": "AKS cluster",
    "azure-native:containerregistry:Registry": "Container registry",
    "azure-native:keyvault:Vault": "Key vault",
    "azure-native:storage:StorageAccount": "Storage account",
    "azure-native:dbforpostgresql:Server": "PostgreSQL flexible server",
}
_AUDIT_GROUPS = ("allLogs", "audit")
_AKS_AUDIT_CATEGORIES = ("kube-audit", "kube-audit-admin")


def _audits(setting: Resource, target: Resource) -> bool | Any:
    destinations = [
        setting.props.get(key) for key in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")
    ]
    if not any(is_set(value) for value in destinations):
        return False
    logs, unknown = dicts(setting.props.get("logs"))
    for log in logs:
        enabled = as_bool(log.get("enabled"))
        group, category = log.get("categoryGroup"), log.get("category")
        if UNKNOWN in (enabled, group, category):
            unknown = True
            continue
        audit_category = target.type.endswith(":ManagedCluster") and category in _AKS_AUDIT_CATEGORIES
        if enabled is True and (group in _AUDIT_GROUPS or audit_category):
            return True
    return UNKNOWN if unknown else False


@stack_rule(
    name="azure-diagnostic-settings-enabled",
    title="Azure resources send audit logs to Log Analytics",
    description=(
        "Every AKS cluster, container registry, key vault, storage account and PostgreSQL flexible server is the resource_uri of a diagnostic "
        "setting with a destination and an enabled log of category group allLogs or audit (AKS also accepts "
        "category kube-audit or kube-audit-admin; storage accounts log through their blobServices/default URI)."
    ),
    remediation=(
        "Add azure_native.monitor.DiagnosticSetting(resource_uri=resource.id, workspace_id=workspace.id, "
        "logs=[{'category_group': 'allLogs', 'enabled': True}]) (for storage: resource_uri=f'{account.id}/blobServices/default')."
    ),
    scope="AKS clusters, container registries, key vaults, storage accounts and PostgreSQL flexible servers",
)
def azure_diagnostics(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    targets = stack.of(_DIAGNOSTIC_TARGETS)
    if not targets:
        raise NotApplicable("the stack has no Azure resources that need diagnostic settings")
    for target in targets:
        label = f"{_DIAGNOSTIC_TARGETS[target.type]} '{target.name}'"
        settings = stack.attached(target, _DIAGNOSTIC_TYPES, "resourceUri")
        verdicts = [_audits(setting, target) for setting in settings]
        if True in verdicts:
            continue
        if UNKNOWN in verdicts:
            yield target, Unverified(f"the diagnostic settings of {label}")
        elif settings:
            yield (
                target,
                f"{label} has diagnostic settings without an enabled allLogs or audit log and a destination; enable logs=[{{'category_group': 'allLogs', 'enabled': True}}] with workspace_id.",
            )
        else:
            yield (
                target,
                f"{label} sends no audit logs; add azure_native.monitor.DiagnosticSetting(resource_uri=..., workspace_id=..., logs=[{{'category_group': 'allLogs', 'enabled': True}}]).",
            )


# --- Managed databases: exported logs ----------------------------------------------------------------------

_RDS_DATABASES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
_POSTGRES_LOG = "postgresql"
_RDS_LOG_EXPORTS_DOC = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html"
)


def _rds_kind(database: Resource) -> str:
    return "cluster" if database.type.endswith(":Cluster") else "instance"


@resource_rule(
    name="aws-rds-database-log-exports",
    title="RDS for PostgreSQL exports its server log to CloudWatch",
    description=(
        "RDS DB instances and clusters running PostgreSQL (postgres, aurora-postgresql) list 'postgresql' in "
        "enabled_cloudwatch_logs_exports, so connections, errors and audited statements leave the database host and "
        "are kept for investigation. Other engines are out of this rule's scope."
    ),
    remediation=(
        "Set enabled_cloudwatch_logs_exports=['postgresql', 'upgrade'] (instances) or ['postgresql'] (clusters) on "
        "aws.rds.Instance or aws.rds.Cluster, with log_connections and log_disconnections on in its parameter group."
    ),
    scope="RDS DB instances and clusters running PostgreSQL",
    types=_RDS_DATABASES,
)
def rds_log_exports(database: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    engine = database.props.get("engine")
    label = f"RDS {_rds_kind(database)} '{database.name}'"
    if engine is UNKNOWN:
        yield Unverified(f"the engine of {label}")
        return
    if "postgres" not in str(engine or ""):
        raise NotApplicable(f"{label} runs {engine}, not PostgreSQL")
    exports = as_list(database.props.get("enabledCloudwatchLogsExports"))
    if exports is UNKNOWN or UNKNOWN in exports:
        yield Unverified(f"enabled_cloudwatch_logs_exports of {label}")
    elif _POSTGRES_LOG not in exports:
        yield f"{label} keeps its server log on the database host only; add 'postgresql' to enabled_cloudwatch_logs_exports."


@stack_rule(
    name="aws-rds-database-log-group-declared",
    title="The log groups RDS exports to are declared, encrypted and bounded, in the stack",
    description=(
        "For every log an RDS DB instance or cluster exports, the stack declares the log group RDS writes to "
        "(/aws/rds/instance/<identifier>/<log> or /aws/rds/cluster/<cluster identifier>/<log>), so the log group "
        "rules can verify its key and retention: a group RDS creates itself is unencrypted and never expires "
        f"({_RDS_LOG_EXPORTS_DOC})."
    ),
    remediation=(
        "Create aws.cloudwatch.LogGroup(name=f'/aws/rds/instance/{identifier}/postgresql', retention_in_days=365, "
        "kms_key_id=key.arn) for each export, before the database (AwsPostgres does)."
    ),
    scope="RDS DB instances and clusters that export logs",
)
def rds_log_groups_declared(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    databases = [
        database for database in stack.of(_RDS_DATABASES) if database.props.get("enabledCloudwatchLogsExports")
    ]
    if not databases:
        raise NotApplicable("the stack has no RDS database that exports logs")
    declared = {group.props.get("name") for group in stack.of(("aws:cloudwatch/logGroup:LogGroup",))}
    for database in databases:
        kind = _rds_kind(database)
        label = f"RDS {kind} '{database.name}'"
        identifier = database.props.get("clusterIdentifier" if kind == "cluster" else "identifier")
        exports = as_list(database.props.get("enabledCloudwatchLogsExports"))
        if identifier is UNKNOWN or not isinstance(identifier, str) or exports is UNKNOWN:
            yield database, Unverified(f"the identifier and exported logs of {label}")
            continue
        for export in exports:
            name = f"/aws/rds/{kind}/{identifier}/{export}"
            if UNKNOWN in declared and name not in declared:
                yield database, Unverified(f"the log group {name} of {label}")
            elif name not in declared:
                yield (
                    database,
                    f"{label} exports its {export} log to {name}, which RDS would create unencrypted and never "
                    f"expiring; declare aws.cloudwatch.LogGroup(name='{name}') with kms_key_id and retention_in_days.",
                )
