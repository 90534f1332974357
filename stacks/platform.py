"""The composition root: builds the platform for the configured target. The only module that branches on cloud."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._common.tags import platform_tags
from components.aws import (
    AwsAccessLogBucket,
    AwsContainerRegistry,
    AwsEncryptedBucket,
    AwsGpuCluster,
    AwsGpuNodePoolArgs,
    AwsNetwork,
    AwsServingIdentity,
)
from components.aws.cloudwatch import supported_retention_days
from components.aws.serving_identity import DEFAULT_SERVICE_ACCOUNT
from stacks.config import AwsTarget, AzureTarget, GpuPoolConfig, KubernetesTarget, PlatformConfig


@dataclass
class Platform:
    """What the program exports: a flat, camelCase set of stack outputs (documented in README)."""

    outputs: dict[str, Any] = field(default_factory=dict)


def build_platform(config: PlatformConfig) -> Platform:
    """Build the whole platform for `config.target.cloud` and return its stack outputs."""
    builders: dict[str, Callable[[PlatformConfig, Platform], None]] = {
        "aws": _build_aws,
        "azure": _build_azure,
        "kubernetes": _build_existing_cluster,
    }
    platform = Platform(outputs=_common_outputs(config))
    builders[config.cloud](config, platform)
    return platform


def _common_outputs(config: PlatformConfig) -> dict[str, Any]:
    return {
        "environment": config.environment,
        "cloud": config.cloud,
        "complianceProfiles": list(config.compliance.profiles),
        "servingNamespaces": [namespace.name for namespace in config.serving.namespaces],
        "stackName": pulumi.get_stack(),
    }


def _build_aws(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AwsTarget)
    target = config.target
    project, stack = pulumi.get_project(), pulumi.get_stack()
    protect = config.protect
    tags = platform_tags(
        environment=config.environment,
        stack=stack,
        data_owner=config.governance.data_owner,
        processing_activity=config.governance.processing_activity,
        extra=config.governance.tags,
    )
    # One explicit provider: the region is the stack's, and the GDPR record tags land on every resource.
    provider = aws.Provider("aws", region=target.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
    opts = pulumi.ResourceOptions(providers={"aws": provider})

    log_retention = supported_retention_days(config.logging.retention_days)
    if log_retention != config.logging.retention_days:
        pulumi.log.warn(
            f"logging.retentionDays {config.logging.retention_days} is not a CloudWatch Logs retention; "
            f"using {log_retention}, the longest supported value that does not exceed it"
        )

    network = AwsNetwork(
        "network",
        {
            "availability_zones": list(target.zones or []),
            "cidr_block": str(config.network.cidr),
            "nat_gateways": config.network.nat_gateways or "perZone",
            "flow_log_retention_days": log_retention,
            "protect": protect,
        },
        opts,
    )

    def gpu_pool(pool: GpuPoolConfig) -> AwsGpuNodePoolArgs:
        args: AwsGpuNodePoolArgs = {
            "name": pool.name,
            "instance_types": list(pool.instance_types),
            "min_size": pool.min_size,
            "max_size": pool.max_size,
            "capacity_type": pool.capacity_type or "on-demand",
            "disk_size_gb": pool.disk_size_gb,
            "os_family": "bottlerocket" if pool.os_family == "bottlerocket" else "al2023",
            "taints": [{"key": taint.key, "value": taint.value, "effect": taint.effect} for taint in pool.taints],
            "labels": dict(pool.labels),
        }
        if pool.desired_size is not None:
            args["desired_size"] = pool.desired_size
        if pool.zones:
            zones = list(pool.zones)
            args["subnet_ids"] = network.private_subnet_ids_by_zone.apply(lambda by_zone: [by_zone[z] for z in zones])
        return args

    system_pool = config.cluster.system_pool
    cluster = AwsGpuCluster(
        "eks",
        {
            "cluster_name": f"{project}-{stack}",
            "subnet_ids": network.private_subnet_ids,
            "kubernetes_version": config.cluster.kubernetes_version,
            "endpoint_public_access": config.cluster.endpoint.public_access,
            "public_access_cidrs": [str(cidr) for cidr in config.cluster.endpoint.public_access_cidrs],
            "control_plane_log_types": list(config.cluster.control_plane_logs or []),
            "log_retention_days": log_retention,
            "admin_principal_arns": list(config.cluster.admin_principals),
            "grant_deployer_admin": config.cluster.deployer_admin_access,
            "system_node_pool": {
                "instance_types": list(system_pool.instance_types or []),
                "min_size": system_pool.min_size,
                "max_size": system_pool.max_size,
                "desired_size": system_pool.initial_size,
                "disk_size_gb": system_pool.disk_size_gb,
            },
            "gpu_node_pools": [gpu_pool(pool) for pool in config.cluster.gpu_pools],
            "protect": protect,
            # Provider default tags do not reach the instances and volumes node groups launch; these do.
            "tags": tags,
        },
        opts,
    )

    # Registry and buckets need only the node role and the access-log bucket, never the cluster itself,
    # so they are created in parallel with the control plane.
    registry = AwsContainerRegistry(
        "registry",
        {
            "repositories": list(config.registry.repositories),
            "repository_prefix": f"{project}-{stack}",
            "scan_on_push": config.registry.scan_on_push,
            "keep_tagged_images": config.registry.keep_tagged_images,
            "untagged_retention_days": config.registry.untagged_retention_days,
            "pull_principal_arns": [cluster.node_role_arn],
            "protect": protect,
        },
        opts,
    )
    access_logs = AwsAccessLogBucket(
        "access-logs", {"retention_days": config.storage.access_log_retention_days, "protect": protect}, opts
    )
    buckets = {
        bucket.name: AwsEncryptedBucket(
            bucket.name,
            {
                "access_log_bucket_name": access_logs.bucket_name,
                "data_classification": bucket.data_classification,
                "retention_days": bucket.retention_days,
                "noncurrent_version_retention_days": bucket.noncurrent_version_retention_days,
                "protect": protect,
            },
            opts,
        )
        for bucket in config.storage.buckets
    }
    models = buckets[config.storage.models_bucket]
    repository_arns = registry.repository_arns.apply(lambda arns: sorted(arns.values()))
    serving = {
        namespace.name: AwsServingIdentity(
            f"serving-{namespace.name}",
            {
                "namespace": namespace.name,
                "oidc_provider_arn": cluster.oidc_provider_arn,
                "bucket_arn": models.bucket_arn,
                "kms_key_arn": models.kms_key_arn,
                "prefix": namespace.name,
                "repository_arns": repository_arns,
            },
            opts,
        )
        for namespace in config.serving.namespaces
    }

    platform.outputs.update(
        {
            "region": target.region,
            "vpcId": network.vpc_id,
            "privateSubnetIds": network.private_subnet_ids,
            "flowLogGroupName": network.flow_log_group_name,
            "kubeconfig": cluster.kubeconfig,
            "clusterName": cluster.cluster_name,
            "clusterEndpoint": cluster.endpoint,
            "clusterSecurityGroupId": cluster.cluster_security_group_id,
            "clusterKmsKeyArn": cluster.kms_key_arn,
            "oidcIssuerUrl": cluster.oidc_issuer_url,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "nodeRoleArn": cluster.node_role_arn,
            "storageClass": cluster.storage_class,
            "registryUrl": registry.registry_url,
            "registryRepositoryUrls": registry.repository_urls,
            "registryKmsKeyArn": registry.kms_key_arn,
            "bucketNames": {name: bucket.bucket_name for name, bucket in buckets.items()},
            "bucketKmsKeyArns": {name: bucket.kms_key_arn for name, bucket in buckets.items()},
            "modelsBucketName": models.bucket_name,
            "accessLogBucketName": access_logs.bucket_name,
            "servingIdentities": {name: identity.role_arn for name, identity in serving.items()},
            "servingServiceAccount": DEFAULT_SERVICE_ACCOUNT,
        }
    )


def _build_azure(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AzureTarget)
    platform.outputs["location"] = config.target.location


def _build_existing_cluster(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, KubernetesTarget)
    platform.outputs["kubeconfigContext"] = config.target.kubeconfig_context
