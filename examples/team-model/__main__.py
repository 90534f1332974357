"""A team's program: build the fraud model's image and serve it on the platform through its stack outputs."""

import pulumi
import pulumi_kubernetes as k8s

from components import ModelDeployment, ModelImage
from components.docker import ecr_registry_auth

config = pulumi.Config()
platform = pulumi.StackReference(config.require("platformStack"))
namespace = config.require("namespace")
version = config.require("modelVersion")

# Everything the team needs comes from the platform's outputs: the registry, the cluster, its namespace.
serving = platform.require_output("servingNamespaceDetails").apply(lambda details: details[namespace])
repository = platform.require_output("registryRepositoryUrls").apply(lambda urls: urls["models"])

image = ModelImage(
    "fraud",
    {
        "context": "../model-server",
        "repository_url": repository,
        "tag": f"fraud-{version}",
        "registry": ecr_registry_auth(repository),
        "build_args": {"MODEL_VERSION": version},
    },
)

gpus = config.get_int("gpus") or 1
gpu_quota = config.require_int("gpuQuota")

cluster = k8s.Provider("platform", kubeconfig=platform.require_output("kubeconfig"), namespace=namespace)
deployment = ModelDeployment(
    "fraud",
    {
        "namespace": namespace,
        "image": image.digest_ref,
        "gpus": gpus,
        "service_account_name": serving["serviceAccount"],
        "env": {"MODEL_VERSION": version},
        # The namespace's GPU quota (the platform's servingNamespaceDetails.<ns>.gpuQuota): with no room for one
        # more pod, an update replaces pods one at a time instead of surging into the quota and deadlocking.
        "namespace_gpu_quota": gpu_quota,
        # Replicas follow the load: about `targetConcurrency` requests in flight per pod, never more pods than the
        # quota's GPUs admit (the component refuses a larger maxReplicas and sizes the rollout for it).
        "autoscaling": {
            "min_replicas": 1,
            "max_replicas": config.get_int("maxReplicas") or gpu_quota // gpus,
            "metric": "concurrency",
            "target": config.get_float("targetConcurrency") or 4,
            "prometheus_url": platform.require_output("prometheusUrl"),
        },
    },
    opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)

pulumi.export("image", image.digest_ref)
pulumi.export("serviceUrl", deployment.service_url)
pulumi.export("scaledObject", deployment.scaled_object_name)
