"""Autoscaling on Kubernetes: nodes (Karpenter on EKS from the cloud layer's autoscaled pools; the AKS cluster
autoscaler's priority expander) and pods (KEDA, metrics-server)."""

from components.kubernetes.autoscaling.karpenter import Karpenter, KarpenterArgs
from components.kubernetes.autoscaling.pod_autoscaling import PodAutoscaling, PodAutoscalingArgs
from components.kubernetes.autoscaling.priority_expander import PriorityExpander, PriorityExpanderArgs

__all__ = [
    "Karpenter",
    "KarpenterArgs",
    "PodAutoscaling",
    "PodAutoscalingArgs",
    "PriorityExpander",
    "PriorityExpanderArgs",
]
