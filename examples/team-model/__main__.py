"""A team's program: serve the fraud model's versions on the platform, with canary and rollback, from its outputs."""

import pulumi
import pulumi_kubernetes as k8s

from components import ModelImage, ModelService
from components._common import gateway as serving_gateway
from components.docker import ecr_registry_auth

config = pulumi.Config()
platform = pulumi.StackReference(config.require("platformStack"))
namespace = config.require("namespace")

# Everything the team needs comes from the platform's outputs: the registry, the cluster, its namespace.
serving = platform.require_output("servingNamespaceDetails").apply(lambda details: details[namespace])
repository = platform.require_output("registryRepositoryUrls").apply(lambda urls: urls["models"])

# The model's versions (Pulumi.<stack>.yaml): a version with an `image` runs that pushed digest; the one without
# is the release this program builds from ../model-server. Once pushed, write its digest (the `versions` output)
# into its entry: registries are immutable, and a rollback must never rebuild an old version.
versions = []
for version in config.require_object("versions"):
    entry = {"name": version["name"], "model_version": version["modelVersion"]}
    if "image" in version:
        entry["image"] = version["image"]
    else:
        image = ModelImage(
            f"fraud-{version['name']}",
            {
                "context": "../model-server",
                "repository_url": repository,
                "tag": f"fraud-{version['modelVersion']}",
                "registry": ecr_registry_auth(repository),
                "build_args": {"MODEL_VERSION": version["modelVersion"]},
            },
        )
        entry["image"] = image.digest_ref
    versions.append(entry)

gpus = config.get_int("gpus") or 1
gpu_quota = config.require_int("gpuQuota")
canary = config.get_object("canary")
# The platform's gateway (its `servingGateway` output): the model answers at https://fraud.<namespace>.<domain>.
domain = platform.require_output("servingGateway").apply(lambda gateway: gateway["domain"])

cluster = k8s.Provider("platform", kubeconfig=platform.require_output("kubeconfig"), namespace=namespace)
service = ModelService(
    "fraud",
    {
        "namespace": namespace,
        "model": "fraud",
        "versions": versions,
        # Promote a canary or roll back: change this one line of the stack file (`stable`).
        "stable": config.require("stable"),
        # A canary takes `weight` percent of requests and runs `replicas` pods next to the stable version's.
        **(
            {"canary": {key: canary[key] for key in ("version", "weight", "replicas") if key in canary}}
            if canary
            else {}
        ),
        # The platform's Gateway and its HTTPS listener (the same names on every platform stack).
        "gateway": {
            "name": serving_gateway.GATEWAY_NAME,
            "namespace": serving_gateway.GATEWAY_NAMESPACE,
            "listener": serving_gateway.HTTPS_LISTENER,
        },
        "hostname": domain.apply(lambda domain: f"fraud.{namespace}.{domain}"),
        # Model artifacts under the namespace's prefix of the models bucket, read with the namespace's identity.
        "model_store_uri": serving["modelStoreUri"],
        "gpus": gpus,
        "service_account_name": serving["serviceAccount"],
        # The namespace's GPU quota (servingNamespaceDetails.<ns>.gpuQuota): every running version together fits it
        # at its most pods, and each version's update replaces pods in place when there is no room for a surge pod.
        "namespace_gpu_quota": gpu_quota,
        # Replicas follow the load: about `targetConcurrency` requests in flight per pod; a canary shares the quota.
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

pulumi.export("url", service.url)
pulumi.export("versions", service.versions)
pulumi.export("serviceName", service.service_name)
