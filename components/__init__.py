"""Reusable Pulumi components for ML platforms on EKS and AKS.

Every public component is a `pulumi.ComponentResource` with the type token `mlplatform:index:<ClassName>`
and a documented `TypedDict` of arguments. Import them from here:

    from components import AwsGpuCluster, AwsGpuClusterArgs
"""

from components.azure import (
    AzureBlobContainerArgs,
    AzureContainerRegistry,
    AzureContainerRegistryArgs,
    AzureEncryptedStorage,
    AzureEncryptedStorageArgs,
    AzureGpuCluster,
    AzureGpuClusterArgs,
    AzureGpuNodePoolArgs,
    AzureKeyVault,
    AzureKeyVaultArgs,
    AzureLogAnalytics,
    AzureLogAnalyticsArgs,
    AzureNetwork,
    AzureNetworkArgs,
    AzureSystemPoolArgs,
    AzureVaultKeyArgs,
    AzureWorkloadIdentity,
    AzureWorkloadIdentityArgs,
)
from components.docker import LocalRegistry, LocalRegistryArgs, ModelImage, ModelImageArgs, RegistryAuth

__all__: list[str] = [
    "AzureBlobContainerArgs",
    "AzureContainerRegistry",
    "AzureContainerRegistryArgs",
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
    "AzureSystemPoolArgs",
    "AzureVaultKeyArgs",
    "AzureWorkloadIdentity",
    "AzureWorkloadIdentityArgs",
    "LocalRegistry",
    "LocalRegistryArgs",
    "ModelImage",
    "ModelImageArgs",
    "RegistryAuth",
]
