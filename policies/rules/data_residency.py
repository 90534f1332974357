"""Data residency (GDPR Art. 44-46): every region, location and replica inside the configured allow-list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from components._common.regions import normalize_azure_location
from policies.rules.aws_common import (
    AWS_PROVIDER_TYPES,
    BUCKET_TYPES,
    REPLICATION_TYPES,
    attached_to_bucket,
    is_aws_type,
    region_of,
)
from policies.rules.base import (
    OUTSIDE,
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_dict,
    as_list,
    dicts,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.settings import ALLOWED_LOCATIONS, ALLOWED_REGIONS


@resource_rule(
    name="aws-region-allowed",
    title="AWS resources stay in the allowed regions",
    description=(
        "Every AWS resource and AWS provider, of pulumi-aws and of aws-native alike, is in a region of "
        "allowedRegions (the EU regions by default): the resource's own region argument (pulumi-aws v7), else its "
        "provider's region; a region that cannot be known is unverifiable, never a pass."
    ),
    remediation=(
        "Create the resource with an aws.Provider(region=<allowed region>) (aws_native.Provider for aws-native) or "
        "set region=<allowed region> on it."
    ),
    scope="AWS and aws-native resources and providers",
    matches=is_aws_type,
    settings=(ALLOWED_REGIONS,),
)
def aws_region(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    region = region_of(resource)
    if region is None and resource.type in AWS_PROVIDER_TYPES:
        raise NotApplicable(f"AWS provider '{resource.name}' sets no region: the resources it creates are checked")
    allowed = as_list(config.get("allowedRegions"))
    if region is None:
        # Residency never fails open: a region taken from AWS_REGION or ~/.aws/config at run time is not in the
        # program, so a resource without one cannot be shown to stay in the allowed regions.
        yield Unverified(
            f"the region of '{resource.name}'",
            "is set neither on the resource nor on its provider (it would come from the environment), so it "
            "cannot be verified; set region on the aws.Provider (or aws:region in the stack configuration)",
        )
    elif region is UNKNOWN:
        yield Unverified(f"the region of '{resource.name}'")
    elif region not in allowed:
        what = "AWS provider" if resource.type in AWS_PROVIDER_TYPES else resource.type.rsplit(":", 1)[-1]
        yield f"{what} '{resource.name}' is in {region}, outside the allowed regions ({', '.join(allowed)}); use one of them."


def _bucket_arns(bucket: Resource) -> set[str]:
    name = bucket.props.get("bucket")
    return {f"arn:aws:s3:::{name}"} if isinstance(name, str) else set()


def _replication_rules(stack: Stack, bucket: Resource) -> list[tuple[Resource, list[dict[str, Any]], bool]]:
    rules: list[tuple[Resource, list[dict[str, Any]], bool]] = []
    for configuration in attached_to_bucket(stack, bucket, REPLICATION_TYPES):
        items, unknown = dicts(configuration.props.get("rules"))
        rules.append((configuration, items, unknown))
    inline = bucket.props.get("replicationConfiguration")
    if inline is UNKNOWN:
        rules.append((bucket, [], True))
    elif isinstance(inline, dict):
        items, unknown = dicts(inline.get("rules"))
        rules.append((bucket, items, unknown))
    return rules


@stack_rule(
    name="aws-s3-replication-destination-allowed",
    title="S3 replicas stay in the allowed regions",
    description=(
        "Every S3 replication destination is a bucket of this stack whose region is in allowedRegions; "
        "destinations outside the stack cannot be verified and are reported as advisory."
    ),
    remediation="Replicate into a bucket created in this stack with a provider for an allowed region.",
    scope="S3 replication rules",
    settings=(ALLOWED_REGIONS,),
)
def s3_replication_destination(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    allowed = as_list(config.get("allowedRegions"))
    found = False
    for bucket in buckets:
        for holder, rules, unknown in _replication_rules(stack, bucket):
            found = True
            if unknown:
                yield bucket, Unverified(f"the replication rules of S3 bucket '{bucket.name}'")
            key = "rules" if holder is not bucket else "replicationConfiguration"
            for rule in rules:
                destination = as_dict(rule.get("destination")).get("bucket")
                targets = [
                    other
                    for other in buckets
                    if other is not bucket
                    and (
                        holder.depends_on(key, other.urn)
                        or (isinstance(destination, str) and destination in _bucket_arns(other))
                    )
                ]
                if not targets:
                    yield (
                        bucket,
                        Unverified(f"the replication destination {destination} of S3 bucket '{bucket.name}'", OUTSIDE),
                    )
                    continue
                for target in targets:
                    region = region_of(target)
                    if region is UNKNOWN or region is None:
                        yield bucket, Unverified(f"the region of replica bucket '{target.name}'")
                    elif region not in allowed:
                        yield (
                            bucket,
                            (
                                f"S3 bucket '{bucket.name}' replicates to '{target.name}' in {region}, outside the allowed "
                                f"regions ({', '.join(allowed)}); replicate into an allowed region."
                            ),
                        )
    if not found:
        raise NotApplicable("the stack replicates no S3 buckets")


@resource_rule(
    name="aws-ecr-replication-region-allowed",
    title="ECR replicas stay in the allowed regions",
    description="ECR replication configurations replicate only into regions of allowedRegions.",
    remediation="Set replication_configuration.rules[*].destinations[*].region to allowed regions only.",
    scope="ECR replication configurations",
    # aws-native's ecr.ReplicationConfiguration has the same replicationConfiguration.rules[*].destinations[*].region
    types=("aws:ecr/replicationConfiguration:ReplicationConfiguration", "aws-native:ecr:ReplicationConfiguration"),
    settings=(ALLOWED_REGIONS,),
)
def ecr_replication_region(configuration: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    allowed = as_list(config.get("allowedRegions"))
    rules, unknown = dicts(configuration.get("replicationConfiguration.rules"))
    if unknown:
        yield Unverified(f"the replication rules of '{configuration.name}'")
    for rule in rules:
        destinations, unknown_destinations = dicts(rule.get("destinations"))
        if unknown_destinations:
            yield Unverified(f"the replication destinations of '{configuration.name}'")
        for destination in destinations:
            region = destination.get("region")
            if region is UNKNOWN:
                yield Unverified(f"a replication region of '{configuration.name}'")
            elif region not in allowed:
                yield f"ECR replication '{configuration.name}' copies images to {region}, outside the allowed regions ({', '.join(allowed)}); remove that destination."


GLOBAL_LOCATION_TYPES = string_list(
    "globalLocationTypes",
    "Type tokens (regular expressions, full match) that exist only as 'global' and may use that location.",
    [
        r"azure-native:(network|privatedns):(PrivateDnsZone|PrivateZone|VirtualNetworkLink|PrivateRecordSet|"
        r"PrivateDnsZoneVirtualNetworkLink)",
        r"azure-native:network:DnsZone",
        r"azure-native:(insights|monitor):ActionGroup",
        r"azure-native:(insights|monitor):ActivityLogAlert",
    ],
)


AZURE_PROVIDER_TYPES = ("pulumi:providers:azure-native", "pulumi:providers:azure")
AZURE_RESOURCE_GROUP_TYPES = ("azure-native:resources:ResourceGroup", "azure:core/resourceGroup:ResourceGroup")


def _is_azure(type_token: str) -> bool:
    """azure-native and classic azure (`azure:<module>/<name>:<Name>`, the Terraform azurerm bridge) resources."""
    return type_token.startswith(("azure-native:", "azure:")) or type_token in AZURE_PROVIDER_TYPES


def _location_of(resource: Resource) -> Any:
    """The resource's `location`; a resource group without one takes its provider's `location`.

    Both providers default a resource group's location from their `location` configuration (classic azure:
    "the resource group's location be parameterizable using configuration", pulumi-azure provider/resources.go;
    azure-native: the provider's `location`). Other resources without one inherit their resource group's.
    """
    location = resource.props.get("location")
    if location is None and resource.type in AZURE_RESOURCE_GROUP_TYPES:
        return resource.provider_prop("location")
    return location


@resource_rule(
    name="azure-location-allowed",
    title="Azure resources stay in the allowed locations",
    description=(
        "Every Azure resource and provider with a location, of azure-native and of the classic azure provider "
        "alike, is in allowedLocations (the EU locations by default); "
        "'global' is accepted only for global-only types. Resources without a location inherit their resource "
        "group's, which this rule checks on the resource group."
    ),
    remediation="Set location to an allowed location (e.g. westeurope) on the resource group, the resource or the azure-native provider.",
    scope="Azure resources and providers",
    matches=_is_azure,
    settings=(ALLOWED_LOCATIONS, GLOBAL_LOCATION_TYPES),
)
def azure_location(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    location = _location_of(resource)
    if location is None and resource.type in (*AZURE_RESOURCE_GROUP_TYPES, *AZURE_PROVIDER_TYPES):
        if resource.type in AZURE_PROVIDER_TYPES:
            raise NotApplicable(
                f"Azure provider '{resource.name}' sets no location: the resources it creates are checked"
            )
        # Residency never fails open: a location left to the environment is not in the program.
        yield Unverified(
            f"the location of resource group '{resource.name}'",
            "is set neither on the resource group nor on its provider, so it cannot be verified; set location",
        )
        return
    if location is None:
        raise NotApplicable(f"'{resource.name}' inherits the location of its resource group")
    if location is UNKNOWN:
        yield Unverified(f"the location of '{resource.name}'")
        return
    normalized = normalize_azure_location(str(location))
    allowed = [normalize_azure_location(str(item)) for item in as_list(config.get("allowedLocations"))]
    if normalized == "global":
        patterns = as_list(config.get("globalLocationTypes"))
        if any(isinstance(pattern, str) and re.fullmatch(pattern, resource.type) for pattern in patterns):
            return
    if normalized not in allowed:
        what = "Azure provider" if resource.type.startswith("pulumi:") else resource.type.rsplit(":", 1)[-1]
        yield f"{what} '{resource.name}' is in {location}, outside the allowed locations ({', '.join(allowed)}); use one of them."
