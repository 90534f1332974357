"""Training on Kubernetes: the namespaces in which teams run (distributed) GPU training jobs, GPU queues with
fair sharing between teams (Kueue), and pipelines with scheduled retraining (Argo Workflows)."""

from components.kubernetes.training.gpu_queues import (
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

__all__ = [
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
]
