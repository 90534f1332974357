"""The whole Kubernetes layer wired the way the platform wires it, for component and schema tests."""

from __future__ import annotations

from typing import Any

import pulumi

from components._common import gpu
from components.kubernetes import GpuStack, Logging, ModelDeployment, ModelServingNamespace, Monitoring, PodAutoscaling

DIGEST_IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models/fraud@sha256:" + "ab" * 32


def build_whole_layer(opts: pulumi.ResourceOptions) -> dict[str, Any]:
    """Every component with the arguments the platform passes on a cloud, wired the way the platform wires them."""
    monitoring = Monitoring(
        "monitoring",
        {
            "storage_class_name": "encrypted-gp3",
            "alert_receiver": "pagerduty",
            "alert_receiver_secret": pulumi.Output.secret("pagerduty-routing-key"),
            "namespace_labels": {"data-classification": "internal"},
        },
        opts=opts,
    )
    gpu_stack = GpuStack(
        "nvidia",
        {
            "driver_preinstalled": True,
            "toolkit_preinstalled": True,
            "runtime_class": gpu.preinstalled_runtime_class("azure"),
            "gpu_pool_taints": [
                taint.kubernetes() for taint in gpu.gpu_pool_taints("azure", spot=True, workload=gpu.TRAINING_WORKLOAD)
            ],
            "service_monitor_labels": monitoring.service_monitor_labels,
        },
        opts=opts,
    )
    logging = Logging(
        "logging",
        {
            "storage_class_name": "encrypted-gp3",
            "nodes": 1,
            "fluent_bit_service_monitor": True,
            "service_monitor_labels": monitoring.service_monitor_labels,
        },
        opts=opts,
    )
    autoscaling = PodAutoscaling(
        "autoscaling",
        {
            "metrics_server": True,
            "service_monitor": True,
            "service_monitor_labels": monitoring.service_monitor_labels,
        },
        opts=opts,
    )
    serving = ModelServingNamespace(
        "fraud",
        {
            "namespace": "fraud",
            "team_group": "fraud-team",
            "quota_gpus": 2,
            "identity_kind": "azure",
            "identity_id": "00000000-1111-2222-3333-444444444444",
            "egress_cidrs": ["10.0.0.0/16"],
        },
        opts=opts,
    )
    model = ModelDeployment(
        "fraud-model",
        {
            "namespace": serving.namespace,
            "image": DIGEST_IMAGE,
            "service_account_name": serving.service_account_name,
            "pod_labels": serving.pod_labels,
            "replicas": 2,
            "namespace_gpu_quota": 2,
        },
        opts=opts,
    )
    return {
        "monitoring": monitoring,
        "gpu": gpu_stack,
        "logging": logging,
        "autoscaling": autoscaling,
        "serving": serving,
        "model": model,
    }
