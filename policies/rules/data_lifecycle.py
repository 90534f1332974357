"""Data lifecycle: retention ceilings per classification, log retention, backups, soft delete and redundancy."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from components._common.tags import DATA_CLASSIFICATION_TAG
from policies.rules.aws_common import (
    BACKUP_SELECTION_TYPES,
    BUCKET_TYPES,
    ECR_FORMS,
    ECR_TYPES,
    LIFECYCLE_TYPES,
    REPLICATION_TYPES,
    attached_to_bucket,
    data_classification,
    ecr_classification,
    ecr_label,
    is_access_log_bucket,
    versioning_status,
)
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
    as_dict,
    as_list,
    as_number,
    aws_tags,
    azure_tags,
    dicts,
    dig,
    must_be_true,
    parse_json,
    resource_rule,
    stack_rule,
    tag_value,
)
from policies.rules.kubernetes_common import HELM_TYPES
from policies.rules.settings import (
    DEFAULT_MAX_RETENTION_DAYS,
    MAX_LOG_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_LOG_RETENTION_DAYS,
)


def ceiling_for(classification: Any, config: dict[str, Any]) -> float:
    """The retention ceiling (days) of a classification; unclassified data gets the strictest ceiling."""
    # A configuration that names some classes keeps the defaults of the others.
    given = as_dict(config.get("maxRetentionDays"))
    merged = {**DEFAULT_MAX_RETENTION_DAYS, **(given if isinstance(given, dict) else {})}
    ceilings = {key: as_number(value) for key, value in merged.items()}
    known = [value for value in ceilings.values() if isinstance(value, float)]
    if isinstance(classification, str) and isinstance(ceilings.get(classification), float):
        return ceilings[classification]
    return min(known) if known else 365.0


# --- S3 lifecycle ----------------------------------------------------------------------------------------


def _whole_bucket(rule: dict[str, Any]) -> bool | Any:
    """True when a lifecycle rule applies to every object (no prefix, tag or size filter)."""
    prefix, rule_filter = rule.get("prefix"), rule.get("filter")
    if prefix is UNKNOWN or rule_filter is UNKNOWN:
        return UNKNOWN
    if prefix:
        return False
    if not isinstance(rule_filter, dict):
        return True
    if UNKNOWN in rule_filter.values():
        return UNKNOWN
    return not any(value not in (None, "", {}, []) for value in rule_filter.values())


def _s3_lifecycle_rules(stack: Stack, bucket: Resource) -> tuple[list[dict[str, Any]], bool]:
    """Normalized lifecycle rules: {enabled, whole, days, noncurrent_days}, and whether any is unknown."""
    normalized: list[dict[str, Any]] = []
    unknown = False
    for configuration in attached_to_bucket(stack, bucket, LIFECYCLE_TYPES):
        rules, rules_unknown = dicts(configuration.props.get("rules"))
        unknown = unknown or rules_unknown
        for rule in rules:
            normalized.append(
                {
                    "enabled": UNKNOWN if rule.get("status") is UNKNOWN else rule.get("status") == "Enabled",
                    "whole": _whole_bucket(rule),
                    "days": as_number(dig(rule, "expiration.days")),
                    "noncurrent_days": as_number(dig(rule, "noncurrentVersionExpiration.noncurrentDays")),
                }
            )
    inline, inline_unknown = dicts(bucket.props.get("lifecycleRules"))
    unknown = unknown or inline_unknown
    for rule in inline:
        normalized.append(
            {
                "enabled": as_bool(rule.get("enabled")),
                "whole": not rule.get("prefix") and not rule.get("tags"),
                "days": as_number(dig(rule, "expiration.days")),
                "noncurrent_days": as_number(dig(rule, "noncurrentVersionExpiration.days")),
            }
        )
    return normalized, unknown


def _shortest(rules: list[dict[str, Any]], key: str) -> tuple[float | None, bool]:
    """The shortest expiry (days) among enabled whole-bucket rules, and whether an unknown could change it."""
    values: list[float] = []
    unknown = False
    for rule in rules:
        value = rule[key]
        if UNKNOWN in (rule["enabled"], rule["whole"], value):
            unknown = True
        elif rule["enabled"] is True and rule["whole"] and isinstance(value, float) and value > 0:
            values.append(value)
    return (min(values) if values else None), unknown


@stack_rule(
    name="aws-s3-bucket-lifecycle-retention",
    title="S3 data expires within its retention ceiling",
    description=(
        "Every S3 bucket has an enabled whole-bucket lifecycle rule whose expiration is at most maxRetentionDays "
        "for its data-classification tag (the strictest ceiling when untagged), and, when versioned, a noncurrent "
        "version expiration within the same ceiling. The access-log bucket instead keeps logs between "
        "minLogRetentionDays and maxLogRetentionDays."
    ),
    remediation=(
        "Add aws.s3.BucketLifecycleConfiguration(bucket=bucket.id, rules=[{'id': 'retention', 'status': 'Enabled', "
        "'filter': {}, 'expiration': {'days': N}, 'noncurrent_version_expiration': {'noncurrent_days': M}, "
        "'abort_incomplete_multipart_upload': {'days_after_initiation': 7}}])."
    ),
    scope="S3 buckets",
    settings=(MAX_RETENTION_DAYS, MIN_LOG_RETENTION_DAYS, MAX_LOG_RETENTION_DAYS),
)
def s3_lifecycle_retention(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets")
    for bucket in buckets:
        log_bucket = is_access_log_bucket(stack, bucket)
        classification = data_classification(bucket)
        if classification is UNKNOWN and not log_bucket:
            yield bucket, Unverified(f"the data-classification tag of S3 bucket '{bucket.name}'")
            continue
        if log_bucket:
            low, high = as_number(config.get("minLogRetentionDays")), as_number(config.get("maxLogRetentionDays"))
            limit_text = "maxLogRetentionDays"
        else:
            low, high = None, ceiling_for(classification, config)
            limit_text = f"maxRetentionDays[{classification or 'unclassified'}]"
        rules, unknown = _s3_lifecycle_rules(stack, bucket)
        days, days_unknown = _shortest(rules, "days")
        if days is None:
            if unknown or days_unknown:
                yield bucket, Unverified(f"the lifecycle rules of S3 bucket '{bucket.name}'")
            else:
                yield (
                    bucket,
                    (
                        f"S3 bucket '{bucket.name}' keeps objects forever; add an enabled whole-bucket lifecycle rule "
                        f"with expiration.days <= {high:.0f} ({limit_text})."
                    ),
                )
            continue
        if isinstance(high, float) and days > high:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' keeps objects {days:.0f} days, over the {high:.0f}-day ceiling "
                    f"({limit_text}); set expiration.days to {high:.0f} or less."
                ),
            )
        if isinstance(low, float) and days < low:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' deletes access logs after {days:.0f} days; keep them at least "
                    f"{low:.0f} days (minLogRetentionDays)."
                ),
            )
        versioning = versioning_status(stack, bucket)
        if versioning is UNKNOWN:
            yield bucket, Unverified(f"the versioning of S3 bucket '{bucket.name}'")
        elif versioning == "Enabled":
            noncurrent, noncurrent_unknown = _shortest(rules, "noncurrent_days")
            if noncurrent is None and (unknown or noncurrent_unknown):
                yield bucket, Unverified(f"the noncurrent version expiry of S3 bucket '{bucket.name}'")
            elif noncurrent is None or (isinstance(high, float) and noncurrent > high):
                yield (
                    bucket,
                    (
                        f"S3 bucket '{bucket.name}' is versioned but keeps old versions beyond the ceiling; add "
                        f"noncurrent_version_expiration.noncurrent_days <= {high:.0f} to its lifecycle rule."
                    ),
                )


# --- Backups and replication ----------------------------------------------------------------------------

DATA_STORE_TYPES = (
    *BUCKET_TYPES,
    "aws:ebs/volume:Volume",
    "aws:efs/fileSystem:FileSystem",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:dynamodb/table:Table",
)


def _known_arns(resource: Resource) -> list[str]:
    arns = [resource.props.get("arn")]
    if resource.type in BUCKET_TYPES and isinstance(resource.props.get("bucket"), str):
        arns.append(f"arn:aws:s3:::{resource.props['bucket']}")
    return [arn for arn in arns if isinstance(arn, str)]


def backup_coverage(stack: Stack, resource: Resource) -> bool | Any:
    """True when an AWS Backup selection covers the resource (by reference, ARN pattern or tag), else False/UNKNOWN."""
    unknown = False
    tags = aws_tags(resource)
    for selection in stack.of(BACKUP_SELECTION_TYPES):
        if selection.depends_on("resources", resource.urn):
            return True
        patterns = as_list(selection.props.get("resources"))
        if patterns is UNKNOWN:
            unknown = True
        else:
            for arn in _known_arns(resource):
                if any(isinstance(pattern, str) and fnmatch.fnmatchcase(arn, pattern) for pattern in patterns):
                    return True
        conditions, conditions_unknown = dicts(selection.props.get("selectionTags"))
        unknown = unknown or conditions_unknown
        for condition in conditions:
            matches = isinstance(tags, dict) and tags.get(condition.get("key")) == condition.get("value")
            if condition.get("type") == "STRINGEQUALS" and matches:
                return True
    return UNKNOWN if unknown else False


_STORE_LABELS = {
    "aws:s3/bucket:Bucket": "S3 bucket",
    "aws:s3/bucketV2:BucketV2": "S3 bucket",
    "aws:ebs/volume:Volume": "EBS volume",
    "aws:efs/fileSystem:FileSystem": "EFS file system",
    "aws:rds/instance:Instance": "RDS instance",
    "aws:rds/cluster:Cluster": "RDS cluster",
    "aws:dynamodb/table:Table": "DynamoDB table",
}


def _backup_findings(stack: Stack, classifications: tuple[str, ...]) -> Iterator[StackFinding]:
    stores = [
        store for store in stack.of(DATA_STORE_TYPES) if data_classification(store) in (*classifications, UNKNOWN)
    ]
    if not stores:
        raise NotApplicable(f"the stack has no data stores tagged data-classification {' or '.join(classifications)}")
    for store in stores:
        kind = _STORE_LABELS[store.type]
        if data_classification(store) is UNKNOWN:
            yield store, Unverified(f"the data-classification tag of {kind} '{store.name}'")
            continue
        covered = backup_coverage(stack, store)
        if covered is UNKNOWN:
            yield store, Unverified(f"the backup selection covering {kind} '{store.name}'")
        elif covered is not True:
            yield (
                store,
                (
                    f"{kind} '{store.name}' holds {data_classification(store)} data but no AWS Backup selection covers it; "
                    "add it to an aws.backup.Selection (resources=[arn] or selection_tags on data-classification)."
                ),
            )


@stack_rule(
    name="aws-backup-phi-data-store-covered",
    title="PHI data stores are in an AWS Backup plan",
    description="Every data store (S3, EBS, EFS, RDS, DynamoDB) tagged data-classification=phi is covered by an AWS Backup selection, by ARN or by tag.",
    remediation="Add aws.backup.Plan + aws.backup.Selection(resources=[store.arn]) or selection_tags=[{'type': 'STRINGEQUALS', 'key': 'data-classification', 'value': 'phi'}].",
    scope="data stores tagged phi",
)
def backup_phi(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    yield from _backup_findings(stack, ("phi",))


@stack_rule(
    name="aws-backup-data-store-covered",
    title="PII data stores are in an AWS Backup plan",
    description="Every data store (S3, EBS, EFS, RDS, DynamoDB) tagged data-classification=pii is covered by an AWS Backup selection, by ARN or by tag.",
    remediation="Add the store to an aws.backup.Selection by ARN, or select on the data-classification tag.",
    scope="data stores tagged pii",
)
def backup_pii(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    yield from _backup_findings(stack, ("pii",))


@stack_rule(
    name="aws-s3-bucket-replication",
    title="S3 buckets with personal data are replicated or backed up",
    description="Every S3 bucket tagged data-classification phi or pii has an enabled replication rule, or is covered by an AWS Backup selection.",
    remediation="Add aws.s3.BucketReplicationConfig(bucket=bucket.id, role=role.arn, rules=[{'status': 'Enabled', 'destination': {'bucket': replica.arn}}]) (versioning required), or an AWS Backup selection.",
    scope="S3 buckets tagged phi or pii",
)
def s3_replication(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = [bucket for bucket in stack.of(BUCKET_TYPES) if data_classification(bucket) in ("phi", "pii", UNKNOWN)]
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets tagged phi or pii")
    for bucket in buckets:
        statuses: list[Any] = []
        for configuration in attached_to_bucket(stack, bucket, REPLICATION_TYPES):
            rules, unknown = dicts(configuration.props.get("rules"))
            statuses.extend([UNKNOWN] if unknown else [])
            statuses.extend(rule.get("status") for rule in rules)
        if "Enabled" in statuses or backup_coverage(stack, bucket) is True:
            continue
        if UNKNOWN in statuses or data_classification(bucket) is UNKNOWN:
            yield bucket, Unverified(f"the replication of S3 bucket '{bucket.name}'")
        else:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' holds personal data without a replica or backup; add an enabled "
                    "aws.s3.BucketReplicationConfig rule or an AWS Backup selection."
                ),
            )


def _ecr_lifecycle_findings(repository: Resource, document: Any, ceiling: float) -> Iterator[Finding]:
    """Why an ECR lifecycle policy document does not expire images within the ceiling."""
    parsed = parse_json(document)
    if parsed is UNKNOWN:
        yield Unverified(f"the lifecycle policy of {ecr_label(repository)}")
        return
    rules = as_list(parsed.get("rules")) if isinstance(parsed, dict) else []
    expiring = [rule for rule in rules if isinstance(rule, dict) and dig(rule, "action.type") == "expire"]
    if not expiring:
        yield f"The lifecycle policy of {ecr_label(repository)} expires no images; add a rule with action {{'type': 'expire'}}."
        return
    for rule in expiring:
        selection = as_dict(rule.get("selection"))
        days = as_number(selection.get("countNumber"))
        if selection.get("countType") == "sinceImagePushed" and isinstance(days, float) and days > ceiling:
            yield (
                f"The lifecycle policy of {ecr_label(repository)} keeps images {days:.0f} days, over the "
                f"{ceiling:.0f}-day ceiling; set countNumber to {ceiling:.0f} or less."
            )


@stack_rule(
    name="aws-ecr-repository-lifecycle-policy",
    title="ECR repositories expire old images",
    description=(
        "Every ECR repository has a lifecycle policy (aws.ecr.LifecyclePolicy), and every repository creation "
        "template an inline lifecycle_policy for the repositories ECR creates from it, with at least one expire "
        "rule, and no sinceImagePushed rule keeps images longer than maxRetentionDays for the data classification."
    ),
    remediation=(
        "Add aws.ecr.LifecyclePolicy(repository=repository.name, policy=json.dumps({'rules': [...]})) (on a "
        "creation template, lifecycle_policy=json.dumps(...)) expiring untagged images after a few days and keeping "
        "a bounded number (or age) of tagged images."
    ),
    scope="ECR repositories and repository creation templates",
    settings=(MAX_RETENTION_DAYS,),
)
def ecr_lifecycle(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    repositories = stack.of(ECR_TYPES)
    if not repositories:
        raise NotApplicable("the stack has no ECR repositories or repository creation templates")
    for repository in repositories:
        form = ECR_FORMS[repository.type]
        if form.lifecycle_policy:
            inline = repository.props.get(form.lifecycle_policy)
            documents = [] if inline in (None, "") else [inline]
        else:
            documents = [
                policy.props.get("policy")
                for policy in stack.attached(
                    repository,
                    ("aws:ecr/lifecyclePolicy:LifecyclePolicy",),
                    "repository",
                    values=[repository.props.get("name")],
                )
            ]
        if not documents:
            yield (
                repository,
                (
                    f"{ecr_label(repository)} keeps every image forever; add a lifecycle policy expiring untagged "
                    "images and old tags (aws.ecr.LifecyclePolicy, or lifecycle_policy on a creation template)."
                ),
            )
            continue
        ceiling = ceiling_for(ecr_classification(repository), config)
        for finding in _ecr_lifecycle_findings(repository, documents[0], ceiling):
            yield repository, finding


def _log_retention(resource: Resource, label: str, argument: str, config: dict[str, Any]) -> Iterator[Finding]:
    days = as_number(resource.props.get("retentionInDays"))
    low, high = as_number(config.get("minLogRetentionDays")), as_number(config.get("maxLogRetentionDays"))
    if days is UNKNOWN:
        yield Unverified(f"{argument} of {label} '{resource.name}'")
    elif days is None or days == 0:
        yield f"{label} '{resource.name}' has no explicit retention; set {argument} between {low:.0f} and {high:.0f}."
    elif days < low:
        yield f"{label} '{resource.name}' keeps logs {days:.0f} days, less than minLogRetentionDays ({low:.0f}); set {argument}={low:.0f} or more."
    elif days > high:
        yield f"{label} '{resource.name}' keeps logs {days:.0f} days, more than maxLogRetentionDays ({high:.0f}); set {argument}={high:.0f} or less."


@resource_rule(
    name="aws-cloudwatch-log-group-retention",
    title="CloudWatch log groups keep logs for a bounded period",
    description="CloudWatch log groups set retention_in_days (never 0 = forever) between minLogRetentionDays and maxLogRetentionDays.",
    remediation="Set retention_in_days (an allowed CloudWatch value, e.g. 365) on aws.cloudwatch.LogGroup.",
    scope="CloudWatch log groups",
    types=("aws:cloudwatch/logGroup:LogGroup",),
    settings=(MIN_LOG_RETENTION_DAYS, MAX_LOG_RETENTION_DAYS),
)
def cloudwatch_retention(group: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _log_retention(group, "CloudWatch log group", "retention_in_days", config)


@resource_rule(
    name="azure-log-analytics-workspace-retention",
    title="Log Analytics workspaces keep logs for a bounded period",
    description="Log Analytics workspaces set retention_in_days explicitly, between minLogRetentionDays and maxLogRetentionDays.",
    remediation="Set retention_in_days (e.g. 365) on azure_native.operationalinsights.Workspace.",
    scope="Log Analytics workspaces",
    types=("azure-native:operationalinsights:Workspace",),
    settings=(MIN_LOG_RETENTION_DAYS, MAX_LOG_RETENTION_DAYS),
)
def workspace_retention(workspace: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _log_retention(workspace, "Log Analytics workspace", "retention_in_days", config)


# --- Azure storage ---------------------------------------------------------------------------------------

_STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
_MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
_BLOB_CONTAINER = "azure-native:storage:BlobContainer"

MIN_SOFT_DELETE_DAYS = Setting(
    "minSoftDeleteRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": 7,
        "description": "Shortest blob and container soft-delete retention in days.",
    },
)


def _account_children(stack: Stack, account: Resource, types: tuple[str, ...]) -> list[Resource]:
    return stack.attached(account, types, "accountName", values=[account.props.get("accountName")])


@stack_rule(
    name="azure-storage-account-blob-soft-delete",
    title="Deleted blobs and containers can be recovered",
    description=(
        "Every storage account has blob service properties with blob soft delete (at least "
        "minSoftDeleteRetentionDays), container soft delete and blob versioning enabled."
    ),
    remediation=(
        "Add azure_native.storage.BlobServiceProperties(account_name=account.name, blob_services_name='default', "
        "delete_retention_policy={'enabled': True, 'days': 30}, container_delete_retention_policy={'enabled': True, "
        "'days': 30}, is_versioning_enabled=True)."
    ),
    scope="Azure storage accounts",
    settings=(MIN_SOFT_DELETE_DAYS,),
)
def blob_soft_delete(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    accounts = stack.of((_STORAGE_ACCOUNT,))
    if not accounts:
        raise NotApplicable("the stack has no storage accounts")
    minimum = as_number(config.get("minSoftDeleteRetentionDays")) or 7.0
    for account in accounts:
        services = _account_children(stack, account, (_BLOB_SERVICE,))
        if not services:
            yield (
                account,
                (
                    f"Storage account '{account.name}' has no blob service properties, so deleted blobs are lost; add "
                    "azure_native.storage.BlobServiceProperties with soft delete and versioning."
                ),
            )
            continue
        service = services[0]
        for path, argument in (
            ("deleteRetentionPolicy", "delete_retention_policy"),
            ("containerDeleteRetentionPolicy", "container_delete_retention_policy"),
        ):
            enabled, days = as_bool(service.get(f"{path}.enabled")), as_number(service.get(f"{path}.days"))
            if UNKNOWN in (enabled, days):
                yield account, Unverified(f"{argument} of storage account '{account.name}'")
            elif enabled is not True or days is None or days < minimum:
                yield (
                    account,
                    (
                        f"Storage account '{account.name}' does not keep deleted items {minimum:.0f} days; set "
                        f"{argument}={{'enabled': True, 'days': {minimum:.0f}}} (or more)."
                    ),
                )
        versioning = as_bool(service.props.get("isVersioningEnabled"))
        if versioning is UNKNOWN:
            yield account, Unverified(f"is_versioning_enabled of storage account '{account.name}'")
        elif versioning is not True:
            yield account, f"Storage account '{account.name}' does not version blobs; set is_versioning_enabled=True."


_REDUNDANT_SKU = re.compile(r"^(Standard|Premium)_(ZRS|GRS|GZRS|RAGRS|RAGZRS)$")


@resource_rule(
    name="azure-storage-account-redundant-sku",
    title="Storage accounts survive a zone outage",
    description="Storage accounts use zone- or geo-redundant storage (ZRS, GRS, GZRS, RAGRS or RAGZRS).",
    remediation="Set sku={'name': 'Standard_ZRS'} (or Standard_GZRS within an EU geography pair).",
    scope="Azure storage accounts",
    types=(_STORAGE_ACCOUNT,),
)
def storage_redundancy(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    sku = account.get("sku.name")
    if sku is UNKNOWN:
        yield Unverified(f"sku.name of storage account '{account.name}'")
    elif not (isinstance(sku, str) and _REDUNDANT_SKU.match(sku)):
        yield f"Storage account '{account.name}' uses {sku}, which one zone outage can take down; set sku.name='Standard_ZRS'."


_DELETE_KEYS = (
    "daysAfterModificationGreaterThan",
    "daysAfterCreationGreaterThan",
    "daysAfterLastAccessTimeGreaterThan",
)


def _delete_days(action: Any) -> Any:
    action = as_dict(action)
    if action is UNKNOWN:
        return UNKNOWN
    values = [as_number(action.get(key)) for key in _DELETE_KEYS]
    if UNKNOWN in values:
        return UNKNOWN
    numbers = [value for value in values if isinstance(value, float)]
    return min(numbers) if numbers else None


def _management_rules(policies: list[Resource]) -> tuple[list[dict[str, Any]], bool]:
    normalized: list[dict[str, Any]] = []
    unknown = False
    for policy in policies:
        rules, rules_unknown = dicts(policy.get("policy.rules"))
        unknown = unknown or rules_unknown
        for rule in rules:
            actions = as_dict(dig(rule, "definition.actions"))
            prefixes = as_list(dig(rule, "definition.filters.prefixMatch"))
            normalized.append(
                {
                    "enabled": as_bool(rule.get("enabled")) if rule.get("enabled") is not None else True,
                    "prefixes": prefixes,
                    "base": _delete_days(dig(actions, "baseBlob.delete")) if actions is not UNKNOWN else UNKNOWN,
                    "version": _delete_days(dig(actions, "version.delete")) if actions is not UNKNOWN else UNKNOWN,
                }
            )
    return normalized, unknown


def _covers(rule: dict[str, Any], container: str | None) -> bool | Any:
    prefixes = rule["prefixes"]
    if prefixes is UNKNOWN:
        return UNKNOWN
    if not prefixes:
        return True
    if container is None:
        return False
    return any(prefix in (container, f"{container}/") for prefix in prefixes)


@stack_rule(
    name="azure-storage-account-lifecycle-retention",
    title="Blob data expires within its retention ceiling",
    description=(
        "Every storage account has a management policy whose enabled delete actions remove base blobs (and, with "
        "versioning, old versions) of every container within maxRetentionDays for the data classification (the "
        "container's data-classification metadata, else the account's tag; the strictest ceiling when untagged)."
    ),
    remediation=(
        "Add azure_native.storage.ManagementPolicy(account_name=account.name, management_policy_name='default', "
        "policy={'rules': [{'name': 'retention', 'enabled': True, 'type': 'Lifecycle', 'definition': {'filters': "
        "{'blob_types': ['blockBlob'], 'prefix_match': ['<container>/']}, 'actions': {'base_blob': {'delete': "
        "{'days_after_modification_greater_than': N}}, 'version': {'delete': {'days_after_creation_greater_than': M}}}}}]})."
    ),
    scope="Azure storage accounts",
    settings=(MAX_RETENTION_DAYS,),
)
def storage_lifecycle(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    accounts = stack.of((_STORAGE_ACCOUNT,))
    if not accounts:
        raise NotApplicable("the stack has no storage accounts")
    for account in accounts:
        rules, unknown = _management_rules(_account_children(stack, account, (_MANAGEMENT_POLICY,)))
        versioned = any(
            as_bool(service.props.get("isVersioningEnabled")) is True
            for service in _account_children(stack, account, (_BLOB_SERVICE,))
        )
        account_class = tag_value(azure_tags(account), DATA_CLASSIFICATION_TAG)
        containers = _account_children(stack, account, (_BLOB_CONTAINER,))
        scopes: list[tuple[str | None, Any]] = [
            (
                container.props.get("containerName") or container.name,
                as_dict(container.props.get("metadata")).get(DATA_CLASSIFICATION_TAG) or account_class,
            )
            for container in containers
        ] or [(None, account_class)]
        for container, classification in scopes:
            where = (
                f"container '{container}' of storage account '{account.name}'"
                if container
                else f"storage account '{account.name}'"
            )
            if classification is UNKNOWN:
                yield account, Unverified(f"the data classification of {where}")
                continue
            ceiling = ceiling_for(classification, config)
            covering = [rule for rule in rules if rule["enabled"] is True and _covers(rule, container) is True]
            base = [rule["base"] for rule in covering if rule["base"] is not None]
            undecided = unknown or any(
                rule["enabled"] is UNKNOWN or _covers(rule, container) is UNKNOWN for rule in rules
            )
            if UNKNOWN in base or (not base and undecided):
                yield account, Unverified(f"the lifecycle rules of {where}")
                continue
            if not base or min(base) > ceiling:
                yield (
                    account,
                    (
                        f"The lifecycle rules of {where} do not delete blobs within {ceiling:.0f} days "
                        f"(maxRetentionDays[{classification or 'unclassified'}]); add an enabled rule with "
                        f"base_blob.delete.days_after_modification_greater_than <= {ceiling:.0f}."
                    ),
                )
                continue
            versions = [rule["version"] for rule in covering if rule["version"] is not None]
            if versioned and UNKNOWN not in versions and (not versions or min(versions) > ceiling):
                yield (
                    account,
                    (
                        f"The lifecycle rules of {where} keep old blob versions beyond {ceiling:.0f} days; add "
                        f"version.delete.days_after_creation_greater_than <= {ceiling:.0f}."
                    ),
                )


MIN_KEY_VAULT_RETENTION = Setting(
    "minVaultRetentionDays",
    {
        "type": "integer",
        "minimum": 7,
        "maximum": 90,
        "default": 90,
        "description": "Shortest key vault soft-delete retention in days.",
    },
)


@resource_rule(
    name="azure-key-vault-purge-protection",
    title="Key vaults cannot be purged",
    description=(
        "Key vaults keep soft delete on, enable purge protection and retain deleted vaults and keys at least "
        "minVaultRetentionDays (90); losing the customer-managed key destroys the data it encrypts."
    ),
    remediation="Set properties.enable_purge_protection=True and properties.soft_delete_retention_in_days=90 on azure_native.keyvault.Vault.",
    scope="Azure key vaults",
    types=("azure-native:keyvault:Vault",),
    settings=(MIN_KEY_VAULT_RETENTION,),
)
def key_vault_purge_protection(vault: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if as_bool(vault.get("properties.enableSoftDelete")) is False:
        yield f"Key vault '{vault.name}' disables soft delete; remove properties.enable_soft_delete=False."
    purge = as_bool(vault.get("properties.enablePurgeProtection"))
    if purge is UNKNOWN:
        yield Unverified(f"properties.enable_purge_protection of key vault '{vault.name}'")
    elif purge is not True:
        yield f"Key vault '{vault.name}' can be purged; set properties.enable_purge_protection=True."
    days = as_number(vault.get("properties.softDeleteRetentionInDays"))
    minimum = as_number(config.get("minVaultRetentionDays")) or 90.0
    if days is UNKNOWN:
        yield Unverified(f"properties.soft_delete_retention_in_days of key vault '{vault.name}'")
    elif days is not None and days < minimum:
        yield f"Key vault '{vault.name}' keeps deleted items {days:.0f} days; set properties.soft_delete_retention_in_days={minimum:.0f}."


@resource_rule(
    name="azure-acr-registry-zone-redundant",
    title="Container registries are zone-redundant",
    description="Azure container registries are zone-redundant (zone_redundancy='Enabled', Premium SKU); the SDK sets 'Disabled' when unset.",
    remediation="Set zone_redundancy='Enabled' and sku={'name': 'Premium'} (create-time only).",
    scope="Azure container registries",
    types=("azure-native:containerregistry:Registry",),
)
def acr_zone_redundancy(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    value = registry.props.get("zoneRedundancy")
    if value is UNKNOWN:
        yield Unverified(f"zone_redundancy of container registry '{registry.name}'")
    elif value != "Enabled":
        yield f"Container registry '{registry.name}' is not zone-redundant; set zone_redundancy='Enabled'."


# --- Observability retention in Helm values --------------------------------------------------------------

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
OBSERVABILITY_MIN = Setting(
    "minMetricsRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": 7,
        "description": "Shortest retention of metrics and container logs in days.",
    },
)
OBSERVABILITY_MAX = Setting(
    "maxMetricsRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": 400,
        "description": "Longest retention of metrics and container logs in days.",
    },
)
_RETENTION_PATHS: dict[str, tuple[str, ...]] = {
    "kube-prometheus-stack": ("prometheus.prometheusSpec.retention",),
    "loki": ("loki.limits_config.retention_period", "loki.limitsConfig.retention_period"),
}
_ILM_CHARTS = ("eck-stack", "eck-elasticsearch", "elasticsearch")


def duration_days(text: Any) -> float | None:
    """Days in a Prometheus/Loki duration such as '30d' or '1w12h'; None when it is not a duration."""
    if not isinstance(text, str) or not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", text.strip()):
        return None
    return sum(int(number) * _SECONDS[unit] for number, unit in _DURATION.findall(text)) / 86400


def chart_name(chart: Any) -> str:
    """The chart's own name from `repo/name`, `oci://host/path/name` or a bare name."""
    return str(chart).rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""


@resource_rule(
    name="kubernetes-observability-retention",
    title="Metrics and log stores have bounded retention",
    description=(
        "Helm charts that store metrics or logs set a retention between minMetricsRetentionDays and maxMetricsRetentionDays "
        "(kube-prometheus-stack prometheus.prometheusSpec.retention, loki limits_config.retention_period); "
        "Elasticsearch retention lives in ILM policies, outside the chart values, and is reported as not verifiable."
    ),
    remediation="Set the chart's retention value (e.g. values={'prometheus': {'prometheusSpec': {'retention': '30d', 'retentionSize': '180GB'}}}); for Elasticsearch, add an ILM delete phase.",
    scope="Helm charts of metric and log stores",
    types=HELM_TYPES,
    settings=(OBSERVABILITY_MIN, OBSERVABILITY_MAX),
)
def observability_retention(chart: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    name = chart_name(chart.props.get("chart"))
    if name in _ILM_CHARTS:
        yield Unverified(
            f"the ILM delete phase of Elasticsearch chart '{chart.name}'",
            "lives outside the chart values; verify the ILM policy's delete phase",
        )
        return
    paths = _RETENTION_PATHS.get(name)
    if paths is None:
        raise NotApplicable(f"chart {name or '?'} stores no metrics or logs")
    values = chart.props.get("values")
    found = [dig(values, path) for path in paths]
    value = next((item for item in found if item is not None), None)
    low, high = as_number(config.get("minMetricsRetentionDays")), as_number(config.get("maxMetricsRetentionDays"))
    if value is UNKNOWN or values is UNKNOWN:
        yield Unverified(f"the retention of chart '{chart.name}'")
        return
    days = duration_days(value)
    if days is None:
        yield f"Chart '{chart.name}' ({name}) sets no retention ({paths[0]}); set it to a duration between {low:.0f}d and {high:.0f}d."
    elif days < low or days > high:
        yield f"Chart '{chart.name}' ({name}) keeps data {days:g} days; set {paths[0]} between {low:.0f}d and {high:.0f}d."


# --- Managed PostgreSQL backups and deletion protection ---------------------------------------------------

MIN_DATABASE_BACKUP_DAYS = 7
"""Shortest backup retention (point-in-time recovery window) of a managed database."""


def _database_backup_findings(
    days: Any, classification: Any, label: str, argument: str, config: dict[str, Any]
) -> Iterator[Finding]:
    value = as_number(days)
    if value is UNKNOWN:
        yield Unverified(f"{argument} of {label}")
        return
    if value is None or value < MIN_DATABASE_BACKUP_DAYS:
        yield (
            f"{label} keeps backups for {int(value) if value is not None else 'the default number of'} days; "
            f"set {argument} to at least {MIN_DATABASE_BACKUP_DAYS} (14 recommended)."
        )
        return
    if classification is UNKNOWN:
        yield Unverified(f"the {DATA_CLASSIFICATION_TAG} of {label}")
        return
    ceiling = ceiling_for(classification, config)
    if value > ceiling:
        yield (
            f"{label} keeps backups for {int(value)} days, beyond the {ceiling:.0f}-day retention ceiling of "
            f"{classification or 'unclassified'} data; lower {argument}."
        )


@resource_rule(
    name="aws-rds-instance-backup-retention",
    title="RDS instances keep backups for 7 days or more, within the retention ceiling",
    description=(
        "RDS instances set backup_retention_period to at least 7 days (automated backups and point-in-time "
        "recovery) and no longer than the retention ceiling of their data-classification."
    ),
    remediation="Set backup_retention_period=14 (7-35) on aws.rds.Instance.",
    scope="RDS instances",
    types=("aws:rds/instance:Instance",),
    settings=(MAX_RETENTION_DAYS,),
)
def rds_backup_retention(instance: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _database_backup_findings(
        instance.props.get("backupRetentionPeriod"),
        data_classification(instance),
        f"RDS instance '{instance.name}'",
        "backup_retention_period",
        config,
    )


@resource_rule(
    name="azure-postgres-flexible-server-backup-retention",
    title="PostgreSQL flexible servers keep backups for 7 days or more, within the retention ceiling",
    description=(
        "Azure Database for PostgreSQL flexible servers set backup.backup_retention_days explicitly, at least 7 "
        "days and no longer than the retention ceiling of their data-classification."
    ),
    remediation="Set backup={'backup_retention_days': 14} (7-35) on azure_native.dbforpostgresql.Server.",
    scope="Azure Database for PostgreSQL flexible servers",
    types=("azure-native:dbforpostgresql:Server",),
    settings=(MAX_RETENTION_DAYS,),
)
def pg_flexible_backup_retention(server: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    tags = azure_tags(server)
    classification = UNKNOWN if tags is UNKNOWN else tag_value(tags, DATA_CLASSIFICATION_TAG)
    yield from _database_backup_findings(
        server.get("backup.backupRetentionDays"),
        classification,
        f"PostgreSQL flexible server '{server.name}'",
        "backup.backup_retention_days",
        config,
    )


@resource_rule(
    name="aws-rds-instance-deletion-protection",
    title="RDS instances have deletion protection and a final snapshot",
    description=(
        "RDS instances set deletion_protection=True and keep a final snapshot (skip_final_snapshot False), so "
        "neither a stray delete nor a replacement loses the database. Exempt development stacks by name."
    ),
    remediation=(
        "Set deletion_protection=True, skip_final_snapshot=False and final_snapshot_identifier on aws.rds.Instance "
        "(AwsPostgres does so with protect=True), or exempt a development database in the stack's policy config."
    ),
    scope="RDS instances",
    types=("aws:rds/instance:Instance",),
)
def rds_deletion_protection(instance: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _deletion_protection_findings(instance, f"RDS instance '{instance.name}'")


def _deletion_protection_findings(database: Resource, label: str) -> Iterator[Finding]:
    """Deletion protection and a final snapshot: the same arguments on RDS instances and clusters."""
    yield from must_be_true(
        database.props.get("deletionProtection"),
        f"deletion_protection of {label}",
        f"{label} can be deleted; set deletion_protection=True.",
    )
    skip = as_bool(database.props.get("skipFinalSnapshot"))
    if skip is UNKNOWN:
        yield Unverified(f"skip_final_snapshot of {label}")
    elif skip is True:
        yield f"{label} is deleted without a final snapshot; set skip_final_snapshot=False with final_snapshot_identifier."


@resource_rule(
    name="aws-rds-cluster-backup-retention",
    title="RDS and Aurora clusters keep backups for 7 days or more, within the retention ceiling",
    description=(
        "RDS DB clusters set backup_retention_period to at least 7 days (the default is 1) and no longer than the "
        "retention ceiling of their data-classification."
    ),
    remediation="Set backup_retention_period=14 (7-35) on aws.rds.Cluster.",
    scope="RDS DB clusters",
    types=("aws:rds/cluster:Cluster",),
    settings=(MAX_RETENTION_DAYS,),
)
def rds_cluster_backup_retention(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _database_backup_findings(
        cluster.props.get("backupRetentionPeriod"),
        data_classification(cluster),
        f"RDS cluster '{cluster.name}'",
        "backup_retention_period",
        config,
    )


@resource_rule(
    name="aws-rds-cluster-deletion-protection",
    title="RDS and Aurora clusters have deletion protection and a final snapshot",
    description=(
        "RDS DB clusters set deletion_protection=True and keep a final snapshot (skip_final_snapshot False), so "
        "neither a stray delete nor a replacement loses the database. Exempt development stacks by name."
    ),
    remediation=(
        "Set deletion_protection=True, skip_final_snapshot=False and final_snapshot_identifier on aws.rds.Cluster, "
        "or exempt a development database in the stack's policy config."
    ),
    scope="RDS DB clusters",
    types=("aws:rds/cluster:Cluster",),
)
def rds_cluster_deletion_protection(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _deletion_protection_findings(cluster, f"RDS cluster '{cluster.name}'")


_LOCKS = "azure-native:authorization:ManagementLock"
_LOCK_LEVELS = ("CanNotDelete", "ReadOnly")
_PG_PROVIDER = "microsoft.dbforpostgresql"


def _same_value(first: Resource, first_key: str, second: Resource, second_key: str) -> bool:
    """True when two props hold the same literal, or both came from the same resource's output."""
    left, right = first.props.get(first_key), second.props.get(second_key)
    if isinstance(left, str) and isinstance(right, str) and left and left.lower() == right.lower():
        return True
    shared = set(first.dependencies.get(first_key, [])) & set(second.dependencies.get(second_key, []))
    return bool(shared)


def _lock_covers(lock: Resource, server: Resource) -> bool:
    """Whether a management lock's scope contains the flexible server (its own, its group's or the subscription)."""
    kind = lock.type.rsplit(":", 1)[-1]
    server_name = server.props.get("serverName")
    if kind == "ManagementLockAtSubscriptionLevel":
        return True
    if kind == "ManagementLockAtResourceGroupLevel":
        return _same_value(lock, "resourceGroupName", server, "resourceGroupName")
    if kind == "ManagementLockAtResourceLevel":
        return (
            str(lock.props.get("resourceProviderNamespace", "")).lower() == _PG_PROVIDER
            and str(lock.props.get("resourceType", "")).lower() == "flexibleservers"
            and (
                lock.depends_on("resourceName", server.urn)
                or (isinstance(server_name, str) and lock.props.get("resourceName") == server_name)
            )
            and _same_value(lock, "resourceGroupName", server, "resourceGroupName")
        )
    scope = lock.props.get("scope")
    if lock.depends_on("scope", server.urn):
        return True
    if not isinstance(scope, str):
        return False
    scope = scope.lower().rstrip("/")
    group = server.props.get("resourceGroupName")
    if isinstance(server_name, str) and scope.endswith(
        f"/providers/{_PG_PROVIDER}/flexibleservers/{server_name.lower()}"
    ):
        return True
    return isinstance(group, str) and scope.endswith(f"/resourcegroups/{group.lower()}")


@stack_rule(
    name="azure-postgres-flexible-server-delete-lock",
    title="PostgreSQL flexible servers are locked against deletion",
    description=(
        "Every Azure Database for PostgreSQL flexible server is covered by a CanNotDelete (or ReadOnly) management "
        "lock on the server, its resource group or the subscription. Flexible servers have no deletion-protection "
        "flag, and deleting a server deletes its backups with it; Pulumi's protect option stops only `pulumi "
        "destroy` (https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources). Exempt "
        "development stacks by name."
    ),
    remediation=(
        "Add azure_native.authorization.ManagementLockByScope(scope=server.id, level='CanNotDelete', notes=...) in "
        "production, or exempt a development server in the stack's policy config."
    ),
    scope="Azure Database for PostgreSQL flexible servers",
)
def pg_flexible_delete_lock(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    servers = stack.of(("azure-native:dbforpostgresql:Server",))
    if not servers:
        raise NotApplicable("the stack has no PostgreSQL flexible servers")
    locks = [resource for resource in stack.resources if resource.type.startswith(_LOCKS)]
    for server in servers:
        covering = [lock for lock in locks if _lock_covers(lock, server)]
        levels = [lock.props.get("level") for lock in covering]
        if any(level in _LOCK_LEVELS for level in levels):
            continue
        if UNKNOWN in levels:
            yield server, Unverified(f"the lock level on PostgreSQL flexible server '{server.name}'")
        else:
            yield (
                server,
                f"PostgreSQL flexible server '{server.name}' can be deleted with its backups; add a management lock "
                "with level CanNotDelete on it (ManagementLockByScope(scope=server.id)).",
            )
