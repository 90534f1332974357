"""Reusable Pulumi components for ML platforms on EKS and AKS.

Every public component is a `pulumi.ComponentResource` with the type token `mlplatform:index:<ClassName>`
and a documented `TypedDict` of arguments. Import them from here:

    from components import AwsGpuCluster, AwsGpuClusterArgs

A component's cloud SDK is imported with its cloud's package, on first use of one of its names (PEP 562
`__getattr__`): an AWS program never loads pulumi_azure_native, an Azure program never loads pulumi_aws.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What mypy and pyright read: every public name, re-exported from the package that defines it (a whole
    # package's `__all__` where it is all public here; a test keeps these equal to `_EXPORTS`). At run time
    # `__getattr__` resolves them on first use.
    from components._common.autoscaling import ScaledPoolSpec as ScaledPoolSpec
    from components._common.autoscaling import ScaledPoolTaint as ScaledPoolTaint
    from components.aws import *  # noqa: F403
    from components.azure import *  # noqa: F403
    from components.docker import LocalRegistry as LocalRegistry
    from components.docker import LocalRegistryArgs as LocalRegistryArgs
    from components.docker import ModelImage as ModelImage
    from components.docker import ModelImageArgs as ModelImageArgs
    from components.docker import RegistryAuth as RegistryAuth
    from components.kubernetes import *  # noqa: F403

_EXPORTS: dict[str, tuple[str, ...]] = {
    "components._common.autoscaling": (
        "ScaledPoolSpec",
        "ScaledPoolTaint",
    ),
    "components.aws": (
        "AwsAccessLogBucket",
        "AwsAccessLogBucketArgs",
        "AwsBackupPlan",
        "AwsBackupPlanArgs",
        "AwsContainerRegistry",
        "AwsContainerRegistryArgs",
        "AwsEncryptedBucket",
        "AwsEncryptedBucketArgs",
        "AwsGpuCluster",
        "AwsGpuClusterArgs",
        "AwsGpuNodePoolArgs",
        "AwsNetwork",
        "AwsNetworkArgs",
        "AwsNodeTaintArgs",
        "AwsPlatformNodePoolArgs",
        "AwsPostgres",
        "AwsPostgresArgs",
        "AwsRegistryScanning",
        "AwsRegistryScanningArgs",
        "AwsServingIdentity",
        "AwsServingIdentityArgs",
        "AwsTeamAccessArgs",
        "AwsTrackingIdentity",
        "AwsTrackingIdentityArgs",
        "AwsTrainingIdentity",
        "AwsTrainingIdentityArgs",
        "AwsTrainingStoreArgs",
    ),
    "components.azure": (
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
    ),
    "components.docker": (
        "LocalRegistry",
        "LocalRegistryArgs",
        "ModelImage",
        "ModelImageArgs",
        "RegistryAuth",
    ),
    "components.kubernetes": (
        "AdmissionPolicies",
        "AdmissionPoliciesArgs",
        "DistributedTraining",
        "DistributedTrainingArgs",
        "EfaDevicePlugin",
        "EfaDevicePluginArgs",
        "EfaPoolTaintArgs",
        "EncryptedStorageClass",
        "EncryptedStorageClassArgs",
        "ExperimentTracking",
        "ExperimentTrackingArgs",
        "GpuPoolTaintArgs",
        "GpuQueueCpuQuotaArgs",
        "GpuQueueFlavorArgs",
        "GpuQueueQuotaArgs",
        "GpuQueues",
        "GpuQueuesArgs",
        "GpuQueueTeamArgs",
        "GpuStack",
        "GpuStackArgs",
        "Karpenter",
        "KarpenterArgs",
        "Logging",
        "LoggingArgs",
        "ModelAutoscalingArgs",
        "ModelCanaryArgs",
        "ModelDeployment",
        "ModelDeploymentArgs",
        "ModelGatewayArgs",
        "ModelSecretArgs",
        "ModelService",
        "ModelServiceArgs",
        "ModelServingNamespace",
        "ModelServingNamespaceArgs",
        "ModelVersionArgs",
        "Monitoring",
        "MonitoringArgs",
        "PipelineArtifactStoreArgs",
        "Pipelines",
        "PipelinesArgs",
        "PipelineTeamArgs",
        "PodAutoscaling",
        "PodAutoscalingArgs",
        "PriorityExpander",
        "PriorityExpanderArgs",
        "SecretsStoreCsi",
        "SecretsStoreCsiArgs",
        "ServingGateway",
        "ServingGatewayArgs",
        "ServingSecretStoreArgs",
        "TrainingNamespace",
        "TrainingNamespaceArgs",
    ),
}
"""The module that defines each public name: importing it imports that cloud's (or Kubernetes') SDK."""

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__: list[str] = sorted(_MODULE_OF)
"""Every public name, from the one table above."""


_SUBPACKAGES = ("aws", "azure", "docker", "kubernetes")
"""Reachable as attributes (`components.kubernetes`), as when this package imported them all."""


def __getattr__(name: str) -> Any:
    """Import the package that defines `name` on first use, and keep the name here for the next lookup."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
