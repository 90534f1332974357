"""Internal helpers shared by the AWS components: account facts, options and tags for stateful resources, keys."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

KMS_DELETION_WINDOW_DAYS = 30
"""Days a scheduled key deletion can still be cancelled; the maximum, so a mistaken delete is recoverable."""

KMS_ROTATION_PERIOD_DAYS = 365
"""Automatic rotation period of every customer-managed key (the HIPAA/GDPR packs accept at most 365)."""


@dataclass(frozen=True)
class AccountFacts:
    """Where the component's provider points: account, partition, region and DNS suffix, as outputs."""

    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]


def account_facts(parent: pulumi.Resource) -> AccountFacts:
    """Look up the account, partition and region of `parent`'s AWS provider (invokes inherit it from the parent)."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=opts)
    partition = aws.get_partition_output(opts=opts)
    region = aws.get_region_output(opts=opts)
    return AccountFacts(
        account_id=identity.account_id,
        partition=partition.partition,
        region=region.region,
        dns_suffix=partition.dns_suffix,
    )


def stateful(parent: pulumi.Resource, protect: bool, **options: Any) -> pulumi.ResourceOptions:
    """Options for a data-holding child: protected and retained on delete when `protect` is true."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect, **options)


def retained(parent: pulumi.Resource, protect: bool, **options: Any) -> pulumi.ResourceOptions:
    """Options for a child that guards a retained resource (encryption, public access block, bucket policy).

    They are retained with their resource, so a bucket kept after a delete keeps its protections.
    """
    return pulumi.ResourceOptions(parent=parent, retain_on_delete=protect, **options)


def merged_tags(
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None, fixed: Mapping[str, str]
) -> pulumi.Output[dict[str, str]]:
    """The caller's tags plus the component's own; the component's win (a data classification stays true)."""
    return pulumi.Output.from_input(tags or {}).apply(lambda given: {**(given or {}), **fixed})


def to_json(value: pulumi.Input[Any]) -> pulumi.Output[str]:
    """Serialize a document that may hold outputs, keeping key order stable."""
    return pulumi.Output.from_input(value).apply(lambda resolved: json.dumps(resolved, sort_keys=True))


def customer_managed_key(
    name: str,
    *,
    parent: pulumi.Resource,
    description: str,
    policy: pulumi.Input[str],
    tags: pulumi.Input[Mapping[str, str]],
    protect: bool,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.kms.Key:
    """A symmetric customer-managed key with yearly rotation, a 30-day deletion window and an explicit policy.

    `depends_on` names what must exist before the key, e.g. a principal its policy names but does not read.
    """
    return aws.kms.Key(
        name,
        description=description,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        enable_key_rotation=True,
        rotation_period_in_days=KMS_ROTATION_PERIOD_DAYS,
        deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
        bypass_policy_lockout_safety_check=False,
        policy=policy,
        tags=tags,
        opts=stateful(parent, protect, depends_on=list(depends_on) or None),
    )
