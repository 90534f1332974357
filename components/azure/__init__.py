"""Azure components: network, Log Analytics, Key Vault, AKS GPU cluster, container registry, encrypted storage, PostgreSQL, workload identity."""

from components.azure.container_registry import AzureContainerRegistry, AzureContainerRegistryArgs
from components.azure.defender import AzureDefenderForContainers, AzureDefenderForContainersArgs
from components.azure.encrypted_storage import (
    AzureBlobContainerArgs,
    AzureEncryptedStorage,
    AzureEncryptedStorageArgs,
)
from components.azure.gpu_cluster import (
    AzureAutoscalerProfileArgs,
    AzureGpuCluster,
    AzureGpuClusterArgs,
    AzureGpuNodePoolArgs,
    AzurePlatformPoolArgs,
    AzureSystemPoolArgs,
)
from components.azure.key_vault import AzureKeyVault, AzureKeyVaultArgs, AzureVaultKeyArgs
from components.azure.log_analytics import AzureLogAnalytics, AzureLogAnalyticsArgs
from components.azure.network import AzureNetwork, AzureNetworkArgs
from components.azure.postgres import AzurePostgres, AzurePostgresAdministratorArgs, AzurePostgresArgs
from components.azure.workload_identity import AzureBlobWriterArgs, AzureWorkloadIdentity, AzureWorkloadIdentityArgs

__all__ = [
    "AzureAutoscalerProfileArgs",
    "AzureBlobContainerArgs",
    "AzureBlobWriterArgs",
    "AzureContainerRegistry",
    "AzureContainerRegistryArgs",
    "AzureDefenderForContainers",
    "AzureDefenderForContainersArgs",
    "AzureEncryptedStorage",
    "AzureEncryptedStorageArgs",
    "AzureGpuCluster",
    "AzureGpuClusterArgs",
    "AzureGpuNodePoolArgs",
    "AzureKeyVault",
    "AzureKeyVaultArgs",
    "AzureLogAnalytics",
    "AzureLogAnalyticsArgs",
    "AzureNetwork",
    "AzureNetworkArgs",
    "AzurePlatformPoolArgs",
    "AzurePostgres",
    "AzurePostgresAdministratorArgs",
    "AzurePostgresArgs",
    "AzureSystemPoolArgs",
    "AzureVaultKeyArgs",
    "AzureWorkloadIdentity",
    "AzureWorkloadIdentityArgs",
]
