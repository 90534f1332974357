"""Reusable Pulumi components for ML platforms on EKS and AKS.

Every public component is a `pulumi.ComponentResource` with the type token `mlplatform:index:<ClassName>`
and a documented `TypedDict` of arguments. Import them from here:

    from components import AwsGpuCluster, AwsGpuClusterArgs
"""

__all__: list[str] = []
