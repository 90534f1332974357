"""Training on Kubernetes: GPU queues and fair sharing between teams (Kueue)."""

from components.kubernetes.training.gpu_queues import (
    GpuQueueFlavorArgs,
    GpuQueueQuotaArgs,
    GpuQueues,
    GpuQueuesArgs,
    GpuQueueTeamArgs,
)

__all__ = [
    "GpuQueueFlavorArgs",
    "GpuQueueQuotaArgs",
    "GpuQueueTeamArgs",
    "GpuQueues",
    "GpuQueuesArgs",
]
