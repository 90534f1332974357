"""Programs the deployability check must reject, one per finding of issue 15, each with the one change that fixes it.

Node pools are registered with the cloud providers' real type tokens and input shapes (what the check reads from
the graph); the workloads come from the project's own Kubernetes components, so chart-rendered pods are the ones
the values builders produce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from components.docker import ModelImage
from components.kubernetes import GpuStack, Logging, ModelDeployment, ModelServingNamespace, Monitoring
from stacks.synth import PROJECT_ROOT

DIGEST_IMAGE = "registry.example/models/fraud@sha256:" + "0" * 64


def _cloud_resource(type_token: str, name: str, props: dict[str, Any]) -> pulumi.CustomResource:
    return pulumi.CustomResource(type_token, name, props)


def aks_pools(*, untainted_platform_pool: bool) -> None:
    """The shipped azure-prod's pools: a CriticalAddonsOnly system pool and two tainted GPU pools."""
    agent_pools = [
        {
            "name": "system",
            "mode": "System",
            "vmSize": "Standard_D4ds_v5",
            "availabilityZones": ["1", "2", "3"],
            "enableAutoScaling": True,
            "minCount": 2,
            "maxCount": 4,
            "nodeTaints": [gpu.CRITICAL_ADDONS_TAINT.aks()],
        }
    ]
    _cloud_resource("azure-native:containerservice:ManagedCluster", "aks", {"agentPoolProfiles": agent_pools})
    for name, size in (("t4serve", "Standard_NC4as_T4_v3"), ("a100train", "Standard_NC24ads_A100_v4")):
        _cloud_resource(
            "azure-native:containerservice:AgentPool",
            name,
            {
                "agentPoolName": name,
                "mode": "User",
                "vmSize": size,
                "availabilityZones": ["1", "2", "3"],
                "enableAutoScaling": True,
                "minCount": 0,
                "maxCount": 2,
                "nodeTaints": [taint.aks() for taint in gpu.gpu_taints("azure")],
                "nodeLabels": gpu.gpu_pool_labels(name, None),
            },
        )
    if untainted_platform_pool:
        _cloud_resource(
            "azure-native:containerservice:AgentPool",
            "platform",
            {
                "agentPoolName": "platform",
                "mode": "User",
                "vmSize": "Standard_D8ds_v5",
                "availabilityZones": ["1", "2", "3"],
                "enableAutoScaling": True,
                "minCount": 3,
                "maxCount": 6,
            },
        )


def platform_layer(*, storage_class: str = "zone-redundant", elasticsearch_memory: str = "4Gi") -> None:
    """Monitoring, logging and the GPU operator, as the platform installs them."""
    Monitoring("monitoring", {"storage_class_name": storage_class})
    Logging("logging", {"storage_class_name": storage_class, "elasticsearch_memory": elasticsearch_memory})
    GpuStack("nvidia", {"driver_preinstalled": True, "toolkit_preinstalled": True})


def zone_redundant_class() -> None:
    """An Azure Disk class with ZRS disks (no zone pinning)."""
    k8s.storage.v1.StorageClass(
        "zone-redundant",
        metadata={"name": "zone-redundant"},
        provisioner="disk.csi.azure.com",
        parameters={"skuName": "Premium_ZRS"},
        volume_binding_mode="WaitForFirstConsumer",
    )


def tainted_aks_pools(fixed: bool = False) -> None:
    """AKS with only tainted pools (azure-prod before the platform pool): the platform's pods fit nowhere."""
    aks_pools(untainted_platform_pool=fixed)
    zone_redundant_class()
    platform_layer()


def _subnets(zones: tuple[str, ...]) -> dict[str, str]:
    for zone in zones:
        _cloud_resource(
            "aws:ec2/subnet:Subnet", f"private-{zone}", {"availabilityZone": zone, "cidrBlock": "10.0.0.0/24"}
        )
    return {zone: f"private-{zone}-id" for zone in zones}


def _node_group(name: str, subnets: list[str], *, instance_types: list[str], minimum: int, maximum: int,
                taints: list[gpu.Taint] = (), labels: dict[str, str] | None = None) -> None:  # fmt: skip
    _cloud_resource(
        "aws:eks/nodeGroup:NodeGroup",
        name,
        {
            "nodeGroupName": name,
            "instanceTypes": instance_types,
            "subnetIds": subnets,
            "scalingConfig": {"minSize": minimum, "maxSize": maximum, "desiredSize": minimum},
            "taints": [taint.eks() for taint in taints],
            "labels": labels or {},
        },
    )


def _ebs_class() -> None:
    k8s.storage.v1.StorageClass(
        "encrypted",
        metadata={"name": "encrypted", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true"},
        volume_binding_mode="WaitForFirstConsumer",
    )


def gpu_pool_extra_taint(fixed: bool = False) -> None:
    """EKS whose H100 pool carries `workload=training:NoSchedule`, which the GPU agents do not tolerate (prod);
    the fix drops the extra taint (the GPU contract must tolerate it; other branches teach it to)."""
    subnets = list(_subnets(("eu-west-1a", "eu-west-1b")).values())
    _node_group("system", subnets, instance_types=["m6i.xlarge"], minimum=2, maximum=4)
    extra = [] if fixed else [gpu.Taint("workload", "training", "NoSchedule")]
    _node_group("h100-training", subnets, instance_types=["p5.48xlarge"], minimum=0, maximum=2,
                taints=[gpu.NVIDIA_GPU_TAINT, *extra], labels=gpu.gpu_pool_labels("h100-training", "nvidia-h100"))  # fmt: skip
    _ebs_class()
    platform_layer(storage_class="encrypted")
    training_job()


def training_job() -> None:
    """A training Job for the H100 pool: it tolerates every taint and selects the pool by name."""
    k8s.core.v1.Namespace("training", metadata={"name": "training"})
    container = {"name": "train", "image": DIGEST_IMAGE, "resources": {"limits": {gpu.GPU_RESOURCE: "8"}}}
    k8s.batch.v1.Job(
        "h100-job",
        metadata={"name": "h100-job", "namespace": "training"},
        spec={
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [container],
                    "tolerations": [{"operator": "Exists"}],
                    "nodeSelector": {gpu.GPU_POOL_LABEL: "h100-training"},
                }
            }
        },
    )


def zone_without_node(fixed: bool = False) -> None:
    """One node group per zone, but eu-west-1c's keeps no node: a Prometheus or Elasticsearch volume created there
    strands its pod after a node replacement (AWS review M5)."""
    subnets = _subnets(("eu-west-1a", "eu-west-1b", "eu-west-1c"))
    for zone, subnet in subnets.items():
        minimum = 1 if fixed or zone != "eu-west-1c" else 0
        _node_group(f"system-{zone}", [subnet], instance_types=["m6i.2xlarge"], minimum=minimum, maximum=3)
    _ebs_class()
    platform_layer(storage_class="encrypted")


def _serving_namespace(quota_gpus: int = 1) -> ModelServingNamespace:
    return ModelServingNamespace("fraud", {"namespace": "fraud", "team_group": "ml-fraud", "quota_gpus": quota_gpus})


def _gpu_pool() -> None:
    subnets = list(_subnets(("eu-west-1a",)).values())
    _node_group("system", subnets, instance_types=["m6i.xlarge"], minimum=1, maximum=2)
    _node_group("a10g", subnets, instance_types=["g5.2xlarge"], minimum=1, maximum=2, taints=[gpu.NVIDIA_GPU_TAINT],
                labels=gpu.gpu_pool_labels("a10g", "nvidia-a10g"))  # fmt: skip


def privileged_in_restricted(fixed: bool = False) -> None:
    """A privileged pod in a serving namespace, which enforces Pod Security `restricted`."""
    _gpu_pool()
    namespace = _serving_namespace()
    container: dict[str, Any] = {
        "name": "debug",
        "image": DIGEST_IMAGE,
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {"privileged": True},
    }
    if fixed:
        container["securityContext"] = {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    k8s.apps.v1.Deployment(
        "debug",
        metadata={"name": "debug", "namespace": namespace.namespace},
        spec={
            "selector": {"matchLabels": {"app": "debug"}},
            "template": {"metadata": {"labels": {"app": "debug"}}, "spec": {"containers": [container]}},
        },
    )


def rollout_over_quota(fixed: bool = False) -> None:
    """A ModelDeployment of 1 replica x 1 GPU with maxSurge 1 in a namespace whose quota is 1 GPU."""
    _gpu_pool()
    namespace = _serving_namespace(quota_gpus=2 if fixed else 1)
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1})


def service_selects_nothing(fixed: bool = False) -> None:
    """A Service whose selector matches no pod of the namespace."""
    _gpu_pool()
    namespace = _serving_namespace(quota_gpus=2)
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1})
    k8s.core.v1.Service(
        "fraud-canary",
        metadata={"name": "fraud-canary", "namespace": namespace.namespace},
        spec={
            "selector": {"app.kubernetes.io/name": "fraud" if fixed else "fraud-canary"},
            "ports": [{"port": 80, "targetPort": "http"}],
        },
    )


def unserved_probe_path(fixed: bool = False) -> None:
    """The example model server deployed with the Triton preset's probes, /v2/health/*, which it does not serve."""
    _gpu_pool()
    namespace = _serving_namespace(quota_gpus=2)
    image = ModelImage(
        "fraud",
        {
            "context": str(PROJECT_ROOT / "examples" / "model-server"),
            "repository_url": "registry.example/models/fraud",
            "tag": "fraud-1.0.0",
            "registry": {"server": "registry.example", "username": "ci", "password": pulumi.Output.secret("x")},
        },
    )
    server = {} if fixed else {"server": "triton"}
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": image.digest_ref, "gpus": 1, **server})


def oversized_elasticsearch(fixed: bool = False) -> None:
    """Elasticsearch nodes asking for more memory than a node of the only untainted pool offers."""
    subnets = list(_subnets(("eu-west-1a", "eu-west-1b")).values())
    _node_group("system", subnets, instance_types=["m6i.xlarge"], minimum=2, maximum=4)
    _ebs_class()
    platform_layer(storage_class="encrypted", elasticsearch_memory="8Gi" if fixed else "32Gi")


def pool_too_small(fixed: bool = False) -> None:
    """Each Elasticsearch node fits one node of the only pool, but the three of them and the rest of the platform do
    not fit the pool at its maxSize of one node."""
    subnets = list(_subnets(("eu-west-1a",)).values())
    _node_group("system", subnets, instance_types=["m6i.xlarge"], minimum=1, maximum=4 if fixed else 1)
    _ebs_class()
    platform_layer(storage_class="encrypted", elasticsearch_memory="8Gi")


def gpus_only_from_karpenter(fixed: bool = False) -> None:
    """A GPU model server whose only GPU capacity is a Karpenter NodePool (no node group: scale from zero), whose
    `limits` admit no GPU node until fixed."""
    subnets = list(_subnets(("eu-west-1a",)).values())
    _node_group("system", subnets, instance_types=["m6i.xlarge"], minimum=1, maximum=2)
    _cloud_resource(
        "kubernetes:karpenter.sh/v1:NodePool",
        "gpu-a10g",
        {
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodePool",
            "metadata": {"name": "gpu-a10g"},
            "spec": {
                "template": {
                    "metadata": {"labels": gpu.gpu_pool_labels("a10g", "nvidia-a10g")},
                    "spec": {
                        "requirements": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.2xlarge"]},
                            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
                        ],
                        "taints": [gpu.NVIDIA_GPU_TAINT.kubernetes()],
                        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    },
                },
                "limits": {"nvidia.com/gpu": "4" if fixed else "0"},
            },
        },
    )
    namespace = _serving_namespace(quota_gpus=2)
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1})


PROMETHEUS_URL = "http://monitoring-prometheus.monitoring.svc:9090"


def autoscaler_over_quota(fixed: bool = False) -> None:
    """A hand-written HPA lets a 1-GPU model grow to 3 pods under a quota of 2 GPUs; fixed, the model scales
    through ModelDeployment's autoscaling, whose max fits the quota and whose rollout is sized at max."""
    _gpu_pool()
    namespace = _serving_namespace(quota_gpus=2)
    if fixed:
        autoscaling = {"max_replicas": 2, "target": 4, "prometheus_url": PROMETHEUS_URL}
        ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1,
                                  "namespace_gpu_quota": 2, "autoscaling": autoscaling})  # fmt: skip
        return
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1})
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        "fraud-hpa",
        metadata={"name": "fraud", "namespace": namespace.namespace},
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fraud"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                    "averageUtilization": 70}}}],
        },
    )  # fmt: skip


def autoscaler_without_target(fixed: bool = False) -> None:
    """A ScaledObject naming a Deployment the stack does not create (a renamed model)."""
    _gpu_pool()
    namespace = _serving_namespace(quota_gpus=2)
    ModelDeployment("fraud", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 1,
                              "namespace_gpu_quota": 2})  # fmt: skip
    k8s.apiextensions.CustomResource(
        "fraud-v2-scaler",
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata={"name": "fraud-v2", "namespace": namespace.namespace},
        spec={
            "scaleTargetRef": {"name": "fraud" if fixed else "fraud-v2"},
            "maxReplicaCount": 1,
            "triggers": [{"type": "prometheus", "metadata": {"serverAddress": PROMETHEUS_URL, "query": "vector(1)",
                                                             "threshold": "1"}}],
        },
    )  # fmt: skip


SCENARIOS: dict[str, Callable[[bool], None]] = {
    "gpus-only-from-karpenter": gpus_only_from_karpenter,
    "tainted-aks-pools": tainted_aks_pools,
    "gpu-pool-extra-taint": gpu_pool_extra_taint,
    "zone-without-node": zone_without_node,
    "privileged-in-restricted": privileged_in_restricted,
    "rollout-over-quota": rollout_over_quota,
    "service-selects-nothing": service_selects_nothing,
    "unserved-probe-path": unserved_probe_path,
    "oversized-elasticsearch": oversized_elasticsearch,
    "pool-too-small": pool_too_small,
    "autoscaler-over-quota": autoscaler_over_quota,
    "autoscaler-without-target": autoscaler_without_target,
}
