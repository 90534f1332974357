"""Training on Kubernetes: the namespaces in which teams run (distributed) GPU training jobs, and GPU queues with
fair sharing between teams (Kueue)."""

from components.kubernetes.training.gpu_queues import (
    GpuQueueCpuQuotaArgs,
    GpuQueueFlavorArgs,
    GpuQueueQuotaArgs,
    GpuQueues,
    GpuQueuesArgs,
    GpuQueueTeamArgs,
)
from components.kubernetes.training.namespace import TrainingNamespace, TrainingNamespaceArgs
from components.kubernetes.training.tracking import ExperimentTracking, ExperimentTrackingArgs

__all__ = [
    "ExperimentTracking",
    "ExperimentTrackingArgs",
    "GpuQueueCpuQuotaArgs",
    "GpuQueueFlavorArgs",
    "GpuQueueQuotaArgs",
    "GpuQueueTeamArgs",
    "GpuQueues",
    "GpuQueuesArgs",
    "TrainingNamespace",
    "TrainingNamespaceArgs",
]
