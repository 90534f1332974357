"""The Azure foundation of the platform (VNet, AKS, ACR, Storage, Key Vault, workload identities), then its
Kubernetes layer.

Imported by the composition root (`stacks.platform`) only for an Azure stack, so no other stack loads the Azure
SDK.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native.authorization as azure_authorization
import pulumi_random as random
from pulumi_azure_native.provider import Provider as AzureProvider

from components._common import autoscaling, gpu
from components._common.gpu import SERVING_SERVICE_ACCOUNT, TRACKING_SERVICE_ACCOUNT, TRAINING_SERVICE_ACCOUNT
from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components._common.tags import data_tags, platform_tags
from components.azure import (
    AzureContainerRegistry,
    AzureDefenderForContainers,
    AzureEncryptedStorage,
    AzureGpuCluster,
    AzureGpuNodePoolArgs,
    AzureKeyVault,
    AzureLogAnalytics,
    AzureNetwork,
    AzurePostgres,
    AzureWorkloadIdentity,
)
from components.azure._shared import ACR_PUSH, role_definition_id
from components.azure.network import DEFAULT_PRIVATE_DNS_ZONES
from components.azure.policy_assignment import pod_security_baseline_assignment
from stacks.config import AzureTarget, GpuPoolConfig, PlatformConfig
from stacks.platform import (
    CLASSIFICATION_ORDER,
    TRACKING_DATABASE_PORT,
    KubernetesLayerInputs,
    Platform,
    SecretsLayer,
    gpu_pool_taints,
    team_groups,
    tracking_layer,
    training_buckets,
    training_prefix,
)

_AKS_OS_SKUS = {"ubuntu": "Ubuntu", "azurelinux": "AzureLinux"}


AZURE_KEYS = {
    "etcd": {"name": "etcd", "purpose": "encrypt", "identity": False},
    "disks": {"name": "disks", "purpose": "wrap", "identity": False},
    "registry": {"name": "registry", "purpose": "wrap"},
    "storage": {"name": "storage", "purpose": "wrap"},
}
"""One key per consumer, so each grant and each rotation touches one service: AKS KMS (etcd secrets), the disk
encryption set, the registry and the storage account."""


def build_azure(config: PlatformConfig, platform: Platform) -> None:
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
    deployer = config.deployment.deployer
    deployer_cidrs = [str(cidr) for cidr in deployer.network.cidrs]
    tracking_on = bool(config.training.tracking.enabled)
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
            # HTTPS to the API server subnet: the allow-listed networks of a public API server, or the in-network
            # deployer of a private one.
            "api_server_allowed_cidrs": public_cidrs or deployer_cidrs,
            "peer_virtual_network_ids": list(deployer.network.virtual_network_ids),
            "link_private_dns_zones_to_peers": deployer.network.link_private_dns_zones,
            **({"private_dns_zones": [*DEFAULT_PRIVATE_DNS_ZONES, POSTGRES_ZONE]} if tracking_on else {}),
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
    # Every vault of the stack: private-linked (the AKS KMS plugin reaches the key vault only privately, see
    # AzureGpuCluster), behind the same firewall as the other data services, audited to the one workspace.
    vault_placement: dict[str, Any] = {
        "resource_group_name": network.resource_group_name,
        "location": location,
        "public_network_access": public_services,
        "allowed_ip_ranges": public_cidrs,
        "private_endpoint_subnet_id": network.private_endpoint_subnet_id,
        "private_dns_zone_id": zone_ids.apply(lambda zones: zones["privatelink.vaultcore.azure.net"]),
        "log_analytics_workspace_id": logs.workspace_id,
        "protect": protect,
        "tags": {**tags, **data_tags("confidential", None)},
    }
    vault = AzureKeyVault(
        f"{base}-kv",
        {**vault_placement, "keys": [*AZURE_KEYS.values(), *([TRACKING_KEY] if tracking_on else [])]},  # type: ignore[typeddict-item]
        opts,
    )
    client_config = azure_authorization.get_client_config_output()
    tenant_id = client_config.tenant_id
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
            "grant_deployer_admin": cluster_config.deployer_admin_access,
            **(
                {"deployer_principal_id": deployer.principal}
                if deployer.principal and cluster_config.deployer_admin_access
                else {}
            ),
            "deployer_principal_type": deployer.azure_principal_type,
            "kubelogin_mode": deployer.kubelogin or "azurecli",
            "team_group_object_ids": team_groups(config),
            "deployer_virtual_network_ids": list(deployer.network.virtual_network_ids),
            "zones": list(target.zones or []),
            "system_pool": {
                "vm_size": (cluster_config.system_pool.instance_types or ["Standard_D4ds_v5"])[0],
                "min_count": cluster_config.system_pool.min_size,
                "max_count": cluster_config.system_pool.max_size,
                "os_disk_size_gb": cluster_config.system_pool.disk_size_gb,
            },
            "platform_pool": {
                "vm_size": (cluster_config.platform_pool.instance_types or ["Standard_D4ds_v5"])[0],
                "min_count_per_zone": cluster_config.platform_pool.min_size_per_zone or 1,
                "max_count_per_zone": cluster_config.platform_pool.max_size_per_zone or 1,
                "os_disk_size_gb": cluster_config.platform_pool.disk_size_gb,
            },
            "gpu_node_pools": [_aks_gpu_pool(pool) for pool in cluster_config.gpu_pools],
            "autoscaler_profile": {
                "expander": cluster_config.autoscaling.expander,
                "scale_down_unneeded_time": f"{cluster_config.autoscaling.scale_down_after_minutes}m",
            },
            "key_vault_id": vault.vault_id,
            # The KMS plugin reaches the vault only through its private endpoint: the key's URI resolves once
            # the endpoint's DNS records exist, so the cluster alone waits for them (its identity, grants and
            # disk encryption set do not).
            "kms_key_id": pulumi.Output.all(vault.key_versioned_uris, vault.private_endpoint_id).apply(
                lambda values: values[0]["etcd"]
            ),
            "kms_key_resource_id": vault.key_ids.apply(lambda ids: ids["etcd"]),
            "disk_encryption_key_url": vault.key_versioned_uris.apply(lambda uris: uris["disks"]),
            "disk_encryption_key_resource_id": vault.key_ids.apply(lambda ids: ids["disks"]),
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": protect,
            "tags": tags,
        },
        opts,
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
        (bucket.data_classification for bucket in buckets), key=CLASSIFICATION_ORDER.index, default="internal"
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
    secret_vaults: dict[str, pulumi.Output[str]] = {}
    for namespace in config.serving.namespaces:
        secret_scopes: list[pulumi.Input[str]] = []
        if namespace.secrets:
            # One vault per namespace: Key Vault RBAC is granted per vault, and Microsoft advises against
            # per-secret grants (Key Vault RBAC guide, "Best Practices for individual keys, secrets, and
            # certificates role assignments"). Private like the key vault, no keys of its own.
            secrets_vault = AzureKeyVault(
                f"{base}-{namespace.name}-secrets",
                {**vault_placement, "sku": "standard"},  # type: ignore[typeddict-item]
                opts,
            )
            secret_scopes.append(secrets_vault.vault_id)
            secret_vaults[namespace.name] = secrets_vault.vault_name
        identity = AzureWorkloadIdentity(
            f"{base}-{namespace.name}",
            {
                "resource_group_name": network.resource_group_name,
                "location": location,
                "oidc_issuer_url": cluster.oidc_issuer_url,
                "namespace": namespace.name,
                "blob_reader_scopes": [models_container],
                "blob_read_prefix": f"{namespace.name}/",
                **({"key_vault_secret_scopes": secret_scopes} if secret_scopes else {}),
                "tags": tags,
            },
            opts,
        )
        serving_identities[namespace.name] = identity.client_id
    # Training identities: read the team's datasets prefix, write its models and artifacts prefixes (ABAC), no
    # deletes; the same three stores as on EKS.
    training_identities: dict[str, pulumi.Output[str]] = {}
    container_ids = storage.container_ids
    for namespace in config.training.namespaces:
        stores = training_buckets(config)
        identity = AzureWorkloadIdentity(
            f"{base}-train-{namespace.name}",
            {
                "resource_group_name": network.resource_group_name,
                "location": location,
                "oidc_issuer_url": cluster.oidc_issuer_url,
                "namespace": namespace.name,
                "service_account": TRAINING_SERVICE_ACCOUNT,
                "blob_reader_scopes": [container_ids.apply(lambda ids, c=stores["datasets"]: ids[c])],
                # `<store>/<namespace>/` in each container, the same layout as the EKS training identity's.
                "blob_read_prefix": training_prefix("datasets", namespace.name),
                "blob_writers": [
                    {
                        "scope": container_ids.apply(lambda ids, c=stores[store]: ids[c]),
                        "prefix": training_prefix(store, namespace.name),
                    }
                    for store in ("models", "artifacts")
                ],
                "tags": tags,
            },
            opts,
        )
        training_identities[namespace.name] = identity.client_id
        if namespace.image_repositories:
            # The serving images its pipelines build. ACR's built-in roles are registry-wide (a registry without
            # ABAC repository permissions cannot narrow them), so the grant covers the platform's one registry.
            azure_authorization.RoleAssignment(
                f"{base}-train-{namespace.name}-acr-push",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=client_config.subscription_id.apply(lambda sub: role_definition_id(sub, ACR_PUSH)),
                scope=registry.registry_id,
                opts=opts,
            )

    if config.registry.enhanced_scanning:
        # Defender for Containers scans every registry image (the promotion gate reads its assessments); the plan is
        # the subscription's, named explicitly.
        AzureDefenderForContainers(
            f"{base}-defender-containers", {"subscription_id": client_config.subscription_id}, opts
        )
    # The Azure Policy add-on enforces the pod security baseline initiative (Deny in prod, Audit elsewhere) beside
    # the admission policies, with the same node-agent exemptions.
    pod_security_baseline_assignment(
        f"{base}-pod-security-baseline",
        cluster.cluster_id,
        enforce=config.environment == "prod",
        excluded_namespaces=list(PLATFORM_SYSTEM_NAMESPACES),
        parent=cluster,
    )
    if tracking_on:
        _azure_tracking(config, platform, network, vault, storage, logs, cluster, tenant_id, tags, opts)

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
            # Per namespace with secrets: its Key Vault, which only its identity may read.
            "servingKeyVaults": pulumi.Output.all(**secret_vaults) if secret_vaults else {},
            "tenantId": tenant_id,
            "servingServiceAccount": SERVING_SERVICE_ACCOUNT,
            "trainingIdentities": pulumi.Output.all(**training_identities) if training_identities else {},
            "gpuPoolTaints": gpu_pool_taints(config),
            "autoscalerPriorities": cluster.autoscaler_priorities,
        }
    )
    if config.deployment.kubernetes_layer == "clusterStack":
        return  # the cluster-layer stack installs it from inside the network, from the outputs above
    from stacks.platform_kubernetes import build_kubernetes_layer, cluster_provider  # with the layer only

    # As on EKS: the cluster (with its system pool and add-ons), the platform pool the layer's workloads run on
    # and the admin groups' grants; the GPU pools, created one after another after it, keep nothing else waiting.
    provider = cluster_provider(
        "aks-kubernetes", cluster.kubeconfig, cluster.oidc_issuer_url, cluster.api_prerequisites
    )
    build_kubernetes_layer(
        config,
        platform,
        KubernetesLayerInputs(
            provider=provider,
            identity_kind="azure",
            serving_identities=dict(serving_identities),
            storage_class=cluster.storage_class,
            gpu_driver_preinstalled=True,  # AKS GPU pools use gpuProfile.driver=Install (driver and toolkit)
            install_gpu_stack=bool(config.cluster.gpu_pools),
            gpu_pool_taints=gpu_pool_taints(config),
            gpu_runtime_class=gpu.preinstalled_runtime_class("azure"),
            autoscaler_priorities=cluster.autoscaler_priorities or None,
            model_store=pulumi.Output.concat(storage.blob_endpoint, config.storage.models_bucket),
            secrets=SecretsLayer(provider="azure", key_vaults=dict(secret_vaults), tenant_id=tenant_id),
            training_identities=dict(training_identities),
            training_pools=list(config.cluster.gpu_pools),
            training_cloud="azure",
            artifact_store={
                "cloud": "azure",
                "account": storage.account_name,
                "container": config.training.artifacts_bucket,
            },
            tracking=tracking_layer(platform.outputs, config) if tracking_on else None,
        ),
    )


POSTGRES_ZONE = "privatelink.postgres.database.azure.com"
"""The private DNS zone of flexible servers' private endpoints."""
TRACKING_KEY = {"name": "postgres", "purpose": "wrap"}
"""The tracking database's key in the platform vault, with its own identity (granted on this key only)."""


def _azure_tracking(
    config: PlatformConfig,
    platform: Platform,
    network: AzureNetwork,
    vault: AzureKeyVault,
    storage: AzureEncryptedStorage,
    logs: AzureLogAnalytics,
    cluster: AzureGpuCluster,
    tenant_id: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> None:
    """The tracking server's cloud side on Azure: a private flexible server encrypted with the vault's `postgres`
    key, and a workload identity writing `mlflow/` in the artifacts container. Exported for the Kubernetes layer."""
    base = f"mlp-{pulumi.get_stack()}"
    tracking = config.training.tracking
    database = tracking.database
    admin = database.entra_administrator
    assert admin is not None  # stacks/config.py requires it on Azure
    password = random.RandomPassword(
        "tracking-db-password",
        length=40,
        special=False,
        min_upper=2,
        min_lower=2,
        min_numeric=2,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["result"])),
    )
    login = "mlflow_admin"
    server = AzurePostgres(
        f"{base}-tracking-db",
        {
            "resource_group_name": network.resource_group_name,
            "location": config.target.location,  # type: ignore[union-attr]
            "tenant_id": tenant_id,
            "administrator": {"object_id": admin.object_id, "principal_name": admin.name, "principal_type": admin.type},
            "administrator_login": login,
            "administrator_password": password.result,
            "encryption_key_uri": vault.key_uris.apply(lambda uris: uris[TRACKING_KEY["name"]]),
            "encryption_identity_id": vault.identity_ids.apply(lambda ids: ids[TRACKING_KEY["name"]]),
            "private_endpoint_subnet_id": network.private_endpoint_subnet_id,
            "private_dns_zone_id": network.private_dns_zone_ids.apply(lambda zones: zones[POSTGRES_ZONE]),
            **({"sku_name": database.sku_name} if database.sku_name else {}),
            "storage_size_gb": database.storage_gb,
            "backup_retention_days": database.backup_retention_days,
            "zone_redundant_ha": bool(database.high_availability),
            "log_analytics_workspace_id": logs.workspace_id,
            "protect": config.protect,
            "tags": {**tags, **data_tags("confidential", None)},
        },
        opts,
    )
    artifacts = config.training.artifacts_bucket
    identity = AzureWorkloadIdentity(
        f"{base}-tracking",
        {
            "resource_group_name": network.resource_group_name,
            "location": config.target.location,  # type: ignore[union-attr]
            "oidc_issuer_url": cluster.oidc_issuer_url,
            "namespace": tracking.namespace,
            "service_account": TRACKING_SERVICE_ACCOUNT,  # the ServiceAccount ExperimentTracking creates
            "blob_writers": [{"scope": storage.container_ids.apply(lambda ids: ids[artifacts]), "prefix": "mlflow/"}],
            "tags": tags,
        },
        opts,
    )
    platform.outputs.update(
        {
            "trackingDatabase": {
                "host": server.fqdn,
                "port": TRACKING_DATABASE_PORT,
                "name": server.database_name,
                "username": server.administrator_login,
            },
            "trackingDatabasePassword": pulumi.Output.secret(password.result),
            "trackingIdentity": identity.client_id,
            "trackingArtifactsDestination": storage.account_name.apply(
                lambda account: f"wasbs://{artifacts}@{account}.blob.core.windows.net/mlflow"
            ),
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
        "priority": pool.priority
        or (autoscaling.PRIORITY_SPOT if pool.capacity_type == "spot" else autoscaling.PRIORITY_ON_DEMAND),
        "os_disk_size_gb": pool.disk_size_gb,
        "os_sku": _AKS_OS_SKUS[pool.os_family or "ubuntu"],  # type: ignore[typeddict-item]
        "extra_taints": [f"{taint.key}={taint.value}:{taint.effect}" for taint in pool.taints],
        "labels": dict(pool.labels),
    }
    if pool.zones:
        aks_pool["zones"] = list(pool.zones)
    return aks_pool
