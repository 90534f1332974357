"""The composition root: builds the platform for the configured target. The only module that branches on cloud."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native.provider import Provider as AzureProvider

from components._common.tags import DataClassification, data_tags, platform_tags
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
from components.azure.workload_identity import DEFAULT_SERVICE_ACCOUNT
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
    platform.outputs["region"] = config.target.region


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
            "servingServiceAccount": DEFAULT_SERVICE_ACCOUNT,
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
