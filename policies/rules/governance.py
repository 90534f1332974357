"""Records of processing (GDPR Art. 30): classification, owner, processing activity and retention on data stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from components._common.tags import (
    DATA_CLASSIFICATION_TAG,
    DATA_OWNER_TAG,
    PROCESSING_ACTIVITY_TAG,
    RETENTION_TAG,
    DataClassification,
)
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_list,
    aws_tags,
    azure_tags,
    kubernetes_labels,
    resource_rule,
    stack_rule,
)
from policies.rules.kubernetes_common import NAMESPACE, namespace_name, serving_namespaces
from policies.rules.settings import SERVING_NAMESPACES, SYSTEM_NAMESPACES

CLASSIFICATIONS: tuple[str, ...] = get_args(DataClassification)
RECORD_KEYS = (DATA_CLASSIFICATION_TAG, DATA_OWNER_TAG, PROCESSING_ACTIVITY_TAG, RETENTION_TAG)


def _record_findings(tags: Any, label: str, argument: str) -> Iterator[Finding]:
    if tags is UNKNOWN:
        yield Unverified(f"the {argument} of {label}")
        return
    missing = [key for key in RECORD_KEYS if not tags.get(key)]
    if missing:
        yield (
            f"{label} lacks the record-of-processing {argument} {', '.join(missing)}; set them "
            "(components._common.tags.platform_tags and data_tags)."
        )
    classification = tags.get(DATA_CLASSIFICATION_TAG)
    if classification is UNKNOWN:
        yield Unverified(f"the {DATA_CLASSIFICATION_TAG} of {label}")
    elif classification and classification not in CLASSIFICATIONS:
        yield f"{label} has {DATA_CLASSIFICATION_TAG}={classification}; use one of {', '.join(CLASSIFICATIONS)}."


_AWS_DATA_STORES = {
    "aws:s3/bucket:Bucket": "S3 bucket",
    "aws:s3/bucketV2:BucketV2": "S3 bucket",
    "aws:ebs/volume:Volume": "EBS volume",
    "aws:efs/fileSystem:FileSystem": "EFS file system",
    "aws:ecr/repository:Repository": "ECR repository",
    "aws:kms/key:Key": "KMS key",
    "aws:rds/instance:Instance": "RDS instance",
    "aws:cloudwatch/logGroup:LogGroup": "CloudWatch log group",
}


@resource_rule(
    name="aws-data-store-processing-record-tags",
    title="AWS data stores carry record-of-processing tags",
    description=(
        "S3 buckets, EBS volumes, EFS file systems, ECR repositories, KMS keys, RDS instances and log groups carry the tags "
        "data-classification (phi, pii, confidential, internal or public), data-owner, processing-activity and "
        "retention, on the resource or through the provider's default_tags."
    ),
    remediation="Set tags={**platform_tags(...), **data_tags(classification, retention_days)} on the resource, or default_tags on the aws.Provider.",
    scope="AWS data stores",
    types=tuple(_AWS_DATA_STORES),
)
def aws_record_tags(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _record_findings(aws_tags(resource), f"{_AWS_DATA_STORES[resource.type]} '{resource.name}'", "tags")


_AZURE_DATA_STORES = {
    "azure-native:storage:StorageAccount": "Storage account",
    "azure-native:containerregistry:Registry": "Container registry",
    "azure-native:keyvault:Vault": "Key vault",
    "azure-native:dbforpostgresql:Server": "PostgreSQL flexible server",
}


@resource_rule(
    name="azure-data-store-processing-record-tags",
    title="Azure data stores carry record-of-processing tags",
    description=(
        "Storage accounts, container registries, key vaults and PostgreSQL flexible servers carry the tags data-classification (phi, pii, "
        "confidential, internal or public), data-owner, processing-activity and retention."
    ),
    remediation="Set tags={**platform_tags(...), **data_tags(classification, retention_days)} on the resource.",
    scope="Azure data stores",
    types=tuple(_AZURE_DATA_STORES),
)
def azure_record_tags(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from _record_findings(azure_tags(resource), f"{_AZURE_DATA_STORES[resource.type]} '{resource.name}'", "tags")


@stack_rule(
    name="kubernetes-namespace-processing-record-labels",
    title="Namespaces that process data carry record-of-processing labels",
    description=(
        "Serving namespaces (holding a backend of a Gateway API route, an Ingress or a KServe InferenceService, "
        "labelled mlplatform.io/tier=serving, or listed in servingNamespaces) and every namespace that declares a "
        "data-classification label carry the labels data-classification, data-owner, processing-activity and "
        "retention, naming the processing that happens in them."
    ),
    remediation="Set metadata.labels with data-classification, data-owner, processing-activity and retention on the Namespace.",
    scope="namespaces that process data",
    settings=(SERVING_NAMESPACES, SYSTEM_NAMESPACES),
)
def namespace_record_labels(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    serving = serving_namespaces(
        stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces"))
    )
    checked = False
    for namespace in stack.of((NAMESPACE,)):
        name = namespace_name(namespace)
        labels = kubernetes_labels(namespace)
        declares = isinstance(labels, dict) and DATA_CLASSIFICATION_TAG in labels
        if not (name in serving or declares or labels is UNKNOWN or name is UNKNOWN):
            continue
        checked = True
        for finding in _record_findings(labels, f"Namespace '{name}'", "labels"):
            yield namespace, finding
    if not checked:
        raise NotApplicable("the stack has no serving namespace and no namespace labelled with a data classification")
