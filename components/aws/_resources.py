"""Internal helpers shared by the AWS components: account facts, options and tags for stateful resources, keys."""

import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

KMS_DELETION_WINDOW_DAYS = 30
"""Days a scheduled key deletion can still be cancelled; the maximum, so a mistaken delete is recoverable."""

KMS_ROTATION_PERIOD_DAYS = 365
"""Automatic rotation period of every customer-managed key (the HIPAA/GDPR packs accept at most 365)."""


# A NamedTuple rather than a frozen dataclass: the same immutable record, but a frozen dataclass compiles six
# generated methods when the module is imported (about 1 ms a class, paid by every synthesis).
class AccountFacts(NamedTuple):
    """Where the component's provider points: account, partition, region and DNS suffix, as outputs."""

    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]


_FACTS_BY_PROVIDER: "weakref.WeakKeyDictionary[pulumi.ProviderResource, AccountFacts]" = weakref.WeakKeyDictionary()
"""The facts of each explicit AWS provider, looked up once: every component on the platform's provider shares them."""


def account_facts(parent: pulumi.Resource) -> AccountFacts:
    """Look up the account, partition and region of `parent`'s AWS provider (invokes inherit it from the parent).

    Once per explicit provider: the three invokes take no inputs and depend on nothing, so components sharing a
    provider share their results (three invokes per stack instead of three per component, offline and against AWS).
    """
    provider = parent.get_provider("aws::account")
    if provider is not None and provider in _FACTS_BY_PROVIDER:
        return _FACTS_BY_PROVIDER[provider]
    facts = _look_up_account_facts(parent)
    if provider is not None:
        _FACTS_BY_PROVIDER[provider] = facts
    return facts


def _look_up_account_facts(parent: pulumi.Resource) -> AccountFacts:
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
) -> pulumi.Input[dict[str, str]]:
    """The caller's tags plus the component's own; the component's win (a data classification stays true).

    A plain dict when the caller's tags are plain strings (as the platform passes them): an Output of a dict costs
    the runtime one Output per key and value, per tagged resource, for nothing it could wait on.
    """
    if tags is None or (isinstance(tags, Mapping) and all(isinstance(value, str) for value in tags.values())):
        return {**(tags or {}), **fixed}
    return pulumi.Output.from_input(tags).apply(lambda given: {**(given or {}), **fixed})


def to_json(value: pulumi.Input[Any]) -> pulumi.Input[str]:
    """Serialize a document that may hold outputs, keeping key order stable.

    A document computed by an Output (`facts.apply(iam.some_policy)`) is serialized by one more `apply` on it (its
    value is plain: an apply's result holds no Outputs); a plain one directly. Only a document that holds Outputs
    among its values goes through `Output.from_input`, which lifts every nested dict, list and value into an Output.
    """
    if isinstance(value, pulumi.Output):
        return value.apply(_json_text)
    if not _holds_inputs(value):
        return _json_text(value)
    return pulumi.Output.from_input(value).apply(_json_text)


def _json_text(document: Any) -> str:
    return json.dumps(document, sort_keys=True)


def _holds_inputs(value: Any) -> bool:
    """Whether `value` is, or holds in a dict or list, anything but plain JSON values (an Output, an awaitable)."""
    if isinstance(value, Mapping):
        return any(_holds_inputs(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_inputs(item) for item in value)
    return not (value is None or isinstance(value, str | int | float | bool))


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
