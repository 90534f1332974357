"""Training on Kubernetes: the namespaces in which teams run (distributed) GPU training jobs."""

from components.kubernetes.training.namespace import TrainingNamespace, TrainingNamespaceArgs

__all__ = ["TrainingNamespace", "TrainingNamespaceArgs"]
