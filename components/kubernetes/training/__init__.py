"""Training on Kubernetes: the namespaces in which teams run (distributed) GPU training jobs, GPU queues with
fair sharing between teams (Kueue), the multi-node job operator (JobSet) with a PyTorch job builder, the EFA
device plugin, experiment tracking (MLflow) and pipelines with scheduled retraining (Argo Workflows)."""

from components.kubernetes.training.distributed import DistributedTraining, DistributedTrainingArgs, torch_jobset
from components.kubernetes.training.efa import EfaDevicePlugin, EfaDevicePluginArgs, EfaPoolTaintArgs
from components.kubernetes.training.gpu_queues import (
    GpuQueueCpuQuotaArgs,
    GpuQueueFlavorArgs,
    GpuQueueQuotaArgs,
    GpuQueues,
    GpuQueuesArgs,
    GpuQueueTeamArgs,
)
from components.kubernetes.training.namespace import TrainingNamespace, TrainingNamespaceArgs
from components.kubernetes.training.pipelines import (
    PipelineArtifactStoreArgs,
    Pipelines,
    PipelinesArgs,
    PipelineTeamArgs,
)
from components.kubernetes.training.tracking import ExperimentTracking, ExperimentTrackingArgs

__all__ = [
    "DistributedTraining",
    "DistributedTrainingArgs",
    "EfaDevicePlugin",
    "EfaDevicePluginArgs",
    "EfaPoolTaintArgs",
    "ExperimentTracking",
    "ExperimentTrackingArgs",
    "GpuQueueCpuQuotaArgs",
    "GpuQueueFlavorArgs",
    "GpuQueueQuotaArgs",
    "GpuQueueTeamArgs",
    "GpuQueues",
    "GpuQueuesArgs",
    "PipelineArtifactStoreArgs",
    "PipelineTeamArgs",
    "Pipelines",
    "PipelinesArgs",
    "TrainingNamespace",
    "TrainingNamespaceArgs",
    "torch_jobset",
]
