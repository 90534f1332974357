"""Reusable Pulumi components for ML platforms on EKS and AKS.

Every public component is a `pulumi.ComponentResource` with the type token `mlplatform:index:<ClassName>`
and a documented `TypedDict` of arguments. Import them from here:

    from components import AwsGpuCluster, AwsGpuClusterArgs
"""

from components.docker import LocalRegistry, LocalRegistryArgs, ModelImage, ModelImageArgs, RegistryAuth

__all__: list[str] = [
    "LocalRegistry",
    "LocalRegistryArgs",
    "ModelImage",
    "ModelImageArgs",
    "RegistryAuth",
]
