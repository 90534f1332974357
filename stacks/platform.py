"""The composition root: builds the platform for the configured target. The only module that branches on cloud."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_azure_native.provider import Provider as AzureProvider

from components._common.gpu import SERVING_SERVICE_ACCOUNT
from components._common.tags import DataClassification, data_tags, platform_tags
from components.aws import (
    AwsAccessLogBucket,
    AwsContainerRegistry,
    AwsEncryptedBucket,
    AwsGpuCluster,
    AwsGpuNodePoolArgs,
    AwsNetwork,
    AwsServingIdentity,
)
from components.azure import (
    AzureContainerRegistry,
    AzureEncryptedStorage,
    AzureGpuCluster,
    AzureGpuNodePoolArgs,
    AzureKeyVault,
    AzureLogAnalytics,
    AzureNetwork,
    AzureWorkloadIdentity,
)
from stacks.config import AwsTarget, AzureTarget, GpuPoolConfig, KubernetesTarget, PlatformConfig

_CLASSIFICATION_ORDER: tuple[DataClassification, ...] = ("public", "internal", "confidential", "pii", "phi")
_AKS_OS_SKUS = {"ubuntu": "Ubuntu", "azurelinux": "AzureLinux"}
AZURE_KEYS = {
    "etcd": {"name": "etcd", "purpose": "encrypt", "identity": False},
    "disks": {"name": "disks", "purpose": "wrap", "identity": False},
    "registry": {"name": "registry", "purpose": "wrap"},
    "storage": {"name": "storage", "purpose": "wrap"},
}
"""One key per consumer, so each grant and each rotation touches one service: AKS KMS (etcd secrets), the disk
encryption set, the registry and the storage account."""


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

    log_retention = config.logging.retention_days  # a CloudWatch value: stacks/config.py checks it

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
            "servingServiceAccount": SERVING_SERVICE_ACCOUNT,
        }
    )


def _build_azure(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AzureTarget)
    target = config.target
    location = target.location
    stack = pulumi.get_stack()
    base = f"mlp-{stack}"
    protect = config.protect
    endpoint = config.cluster.endpoint
    # A private API server means operators work from inside the VNet: every data service is private too.
    # A public one (dev only) lets the same allow-listed networks through each service's firewall.
    public_cidrs = [str(cidr) for cidr in endpoint.public_access_cidrs] if endpoint.public_access else []
    public_services = endpoint.public_access
    tags = platform_tags(
        environment=config.environment,
        stack=stack,
        data_owner=config.governance.data_owner,
        processing_activity=config.governance.processing_activity,
        extra=config.governance.tags,
    )
    provider = AzureProvider(f"{base}-azure", location=location)
    opts = pulumi.ResourceOptions(providers=[provider])

    network = AzureNetwork(
        f"{base}-network",
        {
            "location": location,
            **({"resource_group_name": target.resource_group_name} if target.resource_group_name else {}),
            "address_space": str(config.network.cidr),
            "api_server_allowed_cidrs": public_cidrs,
            "tags": tags,
        },
        opts,
    )
    zone_ids = network.private_dns_zone_ids
    logs = AzureLogAnalytics(
        f"{base}-logs",
        {
            "resource_group_name": network.resource_group_name,
            "location": location,
            "retention_days": config.logging.retention_days,
            "protect": protect,
            "tags": {**tags, **data_tags("confidential", config.logging.retention_days)},
        },
        opts,
    )
    vault = AzureKeyVault(
        f"{base}-kv",
        {
            "resource_group_name": network.resource_group_name,
            "location": location,
            "keys": list(AZURE_KEYS.values()),
            "public_network_access": public_services,
            "allowed_ip_ranges": public_cidrs,
            # Always private-linked: the AKS KMS plugin reaches the vault only privately (see AzureGpuCluster).
            "private_endpoint_subnet_id": network.private_endpoint_subnet_id,
            "private_dns_zone_id": zone_ids.apply(lambda zones: zones["privatelink.vaultcore.azure.net"]),
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": protect,
            "tags": {**tags, **data_tags("confidential", None)},
        },
        opts,
    )
    cluster_config = config.cluster
    cluster = AzureGpuCluster(
        f"{base}-aks",
        {
            "resource_group_name": network.resource_group_name,
            "location": location,
            "kubernetes_version": cluster_config.kubernetes_version,
            "node_subnet_id": network.node_subnet_id,
            "api_server_subnet_id": network.api_server_subnet_id,
            "vnet_address_space": str(config.network.cidr),
            "private_cluster": not endpoint.public_access,
            "authorized_ip_ranges": public_cidrs,
            "admin_group_object_ids": list(cluster_config.admin_principals),
            "zones": list(target.zones or []),
            "system_pool": {
                "vm_size": (cluster_config.system_pool.instance_types or ["Standard_D4ds_v5"])[0],
                "min_count": cluster_config.system_pool.min_size,
                "max_count": cluster_config.system_pool.max_size,
                "os_disk_size_gb": cluster_config.system_pool.disk_size_gb,
            },
            "gpu_node_pools": [_aks_gpu_pool(pool) for pool in cluster_config.gpu_pools],
            "key_vault_id": vault.vault_id,
            "kms_key_id": vault.key_versioned_uris.apply(lambda uris: uris["etcd"]),
            "kms_key_resource_id": vault.key_ids.apply(lambda ids: ids["etcd"]),
            "disk_encryption_key_url": vault.key_versioned_uris.apply(lambda uris: uris["disks"]),
            "disk_encryption_key_resource_id": vault.key_ids.apply(lambda ids: ids["disks"]),
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": protect,
            "tags": tags,
        },
        # The KMS plugin reaches the vault through its private endpoint, which must exist before the cluster.
        pulumi.ResourceOptions(providers=[provider], depends_on=[vault]),
    )
    registry = AzureContainerRegistry(
        f"{base}-acr",
        {
            "resource_group_name": network.resource_group_name,
            "location": location,
            "encryption_key_uri": vault.key_uris.apply(lambda uris: uris["registry"]),
            "encryption_identity_id": vault.identity_ids.apply(lambda ids: ids["registry"]),
            "encryption_identity_client_id": vault.identity_client_ids.apply(lambda ids: ids["registry"]),
            "public_network_access": public_services,
            "allowed_ip_ranges": public_cidrs,
            # ACR refuses to disable exports while public network access is on.
            "export_policy_enabled": public_services,
            "untagged_retention_days": config.registry.untagged_retention_days,
            "zone_redundancy": len(target.zones or []) > 1,
            "private_endpoint_subnet_id": network.private_endpoint_subnet_id,
            "private_dns_zone_id": zone_ids.apply(lambda zones: zones["privatelink.azurecr.io"]),
            "pull_principal_ids": [cluster.kubelet_identity_object_id],
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": protect,
            "tags": {**tags, **data_tags("confidential", None)},
        },
        opts,
    )
    buckets = config.storage.buckets
    most_sensitive = max(
        (bucket.data_classification for bucket in buckets), key=_CLASSIFICATION_ORDER.index, default="internal"
    )
    retentions = [bucket.retention_days for bucket in buckets]
    storage = AzureEncryptedStorage(
        f"{base}-data",
        {
            "resource_group_name": network.resource_group_name,
            "location": location,
            "key_vault_uri": vault.vault_uri,
            "encryption_key_name": AZURE_KEYS["storage"]["name"],
            "encryption_identity_id": vault.identity_ids.apply(lambda ids: ids["storage"]),
            "containers": [
                {
                    "name": bucket.name,
                    **({"retention_days": bucket.retention_days} if bucket.retention_days else {}),
                    "noncurrent_retention_days": bucket.noncurrent_version_retention_days,
                }
                for bucket in buckets
            ],
            "public_network_access": public_services,
            "allowed_ip_ranges": public_cidrs,
            "private_endpoint_subnet_id": network.private_endpoint_subnet_id,
            "private_dns_zone_id": zone_ids.apply(lambda zones: zones["privatelink.blob.core.windows.net"]),
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": protect,
            "tags": {
                **tags,
                **data_tags(most_sensitive, None if None in retentions else max(retentions, default=None)),
            },
        },
        opts,
    )
    models_container = storage.container_ids.apply(lambda ids: ids[config.storage.models_bucket])
    serving_identities: dict[str, pulumi.Output[str]] = {}
    for namespace in config.serving.namespaces:
        identity = AzureWorkloadIdentity(
            f"{base}-{namespace.name}",
            {
                "resource_group_name": network.resource_group_name,
                "location": location,
                "oidc_issuer_url": cluster.oidc_issuer_url,
                "namespace": namespace.name,
                "blob_reader_scopes": [models_container],
                "blob_read_prefix": f"{namespace.name}/",
                "tags": tags,
            },
            opts,
        )
        serving_identities[namespace.name] = identity.client_id

    platform.outputs.update(
        {
            "location": location,
            "resourceGroupName": network.resource_group_name,
            "kubeconfig": cluster.kubeconfig,
            "clusterName": cluster.cluster_name,
            "oidcIssuerUrl": cluster.oidc_issuer_url,
            "kubeletIdentityClientId": cluster.kubelet_identity_client_id,
            "nodeResourceGroup": cluster.node_resource_group,
            "gpuNodePools": cluster.gpu_node_pool_names,
            "storageClass": cluster.storage_class,
            "registryLoginServer": registry.login_server,
            "storageAccountName": storage.account_name,
            "blobEndpoint": storage.blob_endpoint,
            "containerNames": storage.container_names,
            "modelsContainer": config.storage.models_bucket,
            "keyVaultUri": vault.vault_uri,
            "keyIds": vault.key_uris,
            "servingIdentities": pulumi.Output.all(**serving_identities) if serving_identities else {},
            "servingServiceAccount": SERVING_SERVICE_ACCOUNT,
        }
    )


def _aks_gpu_pool(pool: GpuPoolConfig) -> AzureGpuNodePoolArgs:
    """The AKS form of one platform GPU pool (the config has already checked it is a valid AKS pool)."""
    aks_pool: AzureGpuNodePoolArgs = {
        "name": pool.name,
        "vm_size": pool.instance_types[0],
        "min_count": pool.min_size,
        "max_count": pool.max_size,
        "initial_count": pool.initial_size,
        "spot": pool.capacity_type == "spot",
        "os_disk_size_gb": pool.disk_size_gb,
        "os_sku": _AKS_OS_SKUS[pool.os_family or "ubuntu"],  # type: ignore[typeddict-item]
        "extra_taints": [f"{taint.key}={taint.value}:{taint.effect}" for taint in pool.taints],
        "labels": dict(pool.labels),
    }
    if pool.zones:
        aks_pool["zones"] = list(pool.zones)
    return aks_pool


def _build_existing_cluster(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, KubernetesTarget)
    platform.outputs["kubeconfigContext"] = config.target.kubeconfig_context
