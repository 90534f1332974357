"""Node autoscaling on Kubernetes: Karpenter (EKS) from the cloud layer's autoscaled pools."""

from components.kubernetes.autoscaling.karpenter import Karpenter, KarpenterArgs

__all__ = ["Karpenter", "KarpenterArgs"]
