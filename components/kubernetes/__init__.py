"""Cloud-agnostic Kubernetes layer: NVIDIA stack, monitoring, ELK logging, serving (versioned models) and its
gateway, node autoscaling, training (namespaces, GPU queues, JobSet, EFA).

Imports only `pulumi`, `pulumi_kubernetes`, `pulumi_random` and `components._common`; the Kubernetes provider
arrives through `opts=pulumi.ResourceOptions(providers={"kubernetes": provider})` and every child inherits it.
"""

from components.kubernetes.admission_policies import AdmissionPolicies, AdmissionPoliciesArgs
from components.kubernetes.autoscaling import (
    Karpenter,
    KarpenterArgs,
    PodAutoscaling,
    PodAutoscalingArgs,
    PriorityExpander,
    PriorityExpanderArgs,
)
from components.kubernetes.elk import Logging, LoggingArgs
from components.kubernetes.gpu_stack import GpuPoolTaintArgs, GpuStack, GpuStackArgs
from components.kubernetes.model_deployment import (
    ModelAutoscalingArgs,
    ModelDeployment,
    ModelDeploymentArgs,
    ModelSecretArgs,
)
from components.kubernetes.model_service import (
    ModelCanaryArgs,
    ModelGatewayArgs,
    ModelService,
    ModelServiceArgs,
    ModelVersionArgs,
)
from components.kubernetes.monitoring import Monitoring, MonitoringArgs
from components.kubernetes.secrets_store import SecretsStoreCsi, SecretsStoreCsiArgs
from components.kubernetes.serving import ModelServingNamespace, ModelServingNamespaceArgs, ServingSecretStoreArgs
from components.kubernetes.serving_gateway import ServingGateway, ServingGatewayArgs
from components.kubernetes.storage_class import EncryptedStorageClass, EncryptedStorageClassArgs
from components.kubernetes.training import (
    DistributedTraining,
    DistributedTrainingArgs,
    EfaDevicePlugin,
    EfaDevicePluginArgs,
    EfaPoolTaintArgs,
    ExperimentTracking,
    ExperimentTrackingArgs,
    GpuQueueCpuQuotaArgs,
    GpuQueueFlavorArgs,
    GpuQueueQuotaArgs,
    GpuQueues,
    GpuQueuesArgs,
    GpuQueueTeamArgs,
    PipelineArtifactStoreArgs,
    Pipelines,
    PipelinesArgs,
    PipelineTeamArgs,
    TrainingNamespace,
    TrainingNamespaceArgs,
)

__all__ = [
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
    "GpuQueueTeamArgs",
    "GpuQueues",
    "GpuQueuesArgs",
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
    "PipelineTeamArgs",
    "Pipelines",
    "PipelinesArgs",
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
]
