"""ModelDeployment: a digest-pinned GPU model server hardened to Pod Security `restricted`."""

from __future__ import annotations

import pulumi
import pytest

from components._common import gpu, scheduling
from components.kubernetes import ModelDeployment
from tests.components.kubernetes.helpers import every_gpu_taint, objects_of_kind, run_with_provider, tolerates
from tests.components.kubernetes.layer import DIGEST_IMAGE


def build(run, **extra):
    arguments = {"namespace": "fraud", "image": DIGEST_IMAGE, **extra}
    return run_with_provider(run, lambda opts: ModelDeployment("fraud-model", arguments, opts=opts))


def pod_spec(recorder) -> dict:
    (deployment,) = objects_of_kind(recorder, "Deployment")
    return deployment["spec"]["template"]["spec"]


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models/fraud:1.4.2",
        "models/fraud:latest",
        "models/fraud@sha256:deadbeef",
    ],
)
def test_images_not_pinned_by_digest_are_rejected_before_anything_is_created(run, recorder, image: str) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelDeployment("fraud-model", {"namespace": "fraud", "image": image}))
    assert "image" in errors_of(raised), "a tag can be moved to another image; serving needs a digest"
    assert not recorder.by_type("kubernetes:apps/v1:Deployment")


def test_the_pod_is_restricted_non_root_read_only_and_without_an_api_token(run) -> None:
    spec = pod_spec(build(run))
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert mounts["/tmp"] == "tmp", "a read-only root needs a writable /tmp"
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert "emptyDir" in volumes["tmp"] and volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert not any(key in spec for key in ("hostNetwork", "hostPID", "hostIPC")), "no host namespaces"
    assert container["image"] == DIGEST_IMAGE


def test_gpu_pods_land_on_gpu_nodes_of_every_cloud_with_gpu_limits_equal_to_requests(run) -> None:
    spec = pod_spec(build(run, gpus=2))
    assert scheduling.node_affinity_admits(spec, gpu.gpu_pool_labels("a10g", "nvidia-a10g"))
    assert not scheduling.node_affinity_admits(spec, {"kubernetes.io/os": "linux"}), "a GPU pod needs a GPU node"
    for cloud, taint in every_gpu_taint():
        assert tolerates(spec["tolerations"], taint), f"the model would stay Pending on {cloud} GPU nodes"
    resources = spec["containers"][0]["resources"]
    assert resources["requests"][gpu.GPU_RESOURCE] == resources["limits"][gpu.GPU_RESOURCE] == "2"
    assert resources["requests"]["memory"] == resources["limits"]["memory"], "memory limit = request: no OOM surprises"
    assert resources["requests"]["cpu"] and resources["limits"]["cpu"], "the quota's limits.cpu needs a CPU limit"


def test_cpu_models_do_not_reserve_gpu_nodes(run) -> None:
    spec = pod_spec(build(run, gpus=0))
    assert "nodeSelector" not in spec and "tolerations" not in spec
    assert scheduling.node_affinity_admits(spec, {"kubernetes.io/os": "linux"}), "CPU models run on CPU nodes"
    assert gpu.GPU_RESOURCE not in spec["containers"][0]["resources"]["requests"]


def test_the_server_is_probed_and_scraped_through_a_clusterip_service(run) -> None:
    recorder = build(run)
    container = pod_spec(recorder)["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}, "the generic preset"
    assert container["livenessProbe"]["httpGet"]["path"] == "/live"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600, "large models take minutes to load"
    (service,) = objects_of_kind(recorder, "Service")
    assert service["spec"]["type"] == "ClusterIP", "serving is reached through the ingress controller only"
    (monitor,) = objects_of_kind(recorder, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    endpoint = monitor["spec"]["endpoints"][0]
    assert {key: endpoint[key] for key in ("port", "path", "interval")} == {
        "port": "http",
        "path": "/metrics",
        "interval": "30s",
    }, "Prometheus scrapes the server's named port on its metrics path every 30 s"
    assert monitor["metadata"]["namespace"] == "fraud"


def test_the_namespace_identity_reaches_the_pods(run) -> None:
    recorder = build(
        run,
        service_account_name=pulumi.Output.from_input("model-server"),
        pod_labels=pulumi.Output.from_input({"azure.workload.identity/use": "true", "app.kubernetes.io/name": "x"}),
    )
    (deployment,) = objects_of_kind(recorder, "Deployment")
    template = deployment["spec"]["template"]
    assert template["spec"]["serviceAccountName"] == "model-server"
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["metadata"]["labels"]["app.kubernetes.io/name"] == "fraud-model", "extras cannot break the selector"


# GPU pools as the cloud layer creates them: (labels, taints). Training pools in each form a stack can give them.
TRAINING_POOLS = {
    "labelled and tainted training (contract)": (
        gpu.gpu_pool_labels("a100train", "nvidia-a100", workload=gpu.TRAINING_WORKLOAD),
        gpu.gpu_pool_taints("azure", workload=gpu.TRAINING_WORKLOAD),
    ),
    "labelled training only (same taints as serving, review M7)": (
        gpu.gpu_pool_labels("a100train", "nvidia-a100", workload=gpu.TRAINING_WORKLOAD),
        gpu.gpu_pool_taints("azure"),
    ),
    "tainted by the stack file only (prod h100-training)": (
        gpu.gpu_pool_labels("h100-training", "nvidia-h100"),
        gpu.gpu_pool_taints("aws", extra=[gpu.Taint("workload", "training", "NoSchedule")]),
    ),
}
SERVING_POOLS = {
    "eks a10g-serving": (gpu.gpu_pool_labels("a10g-serving", "nvidia-a10g"), gpu.gpu_pool_taints("aws")),
    "aks t4serve on spot, labelled serving": (
        gpu.gpu_pool_labels("t4serve", "nvidia-t4", workload=gpu.SERVING_WORKLOAD),
        gpu.gpu_pool_taints("azure", spot=True, workload=gpu.SERVING_WORKLOAD),
    ),
}


@pytest.mark.parametrize("pool", sorted(TRAINING_POOLS))
def test_serving_pods_cannot_schedule_on_a_training_pool(run, pool: str) -> None:
    labels, taints = TRAINING_POOLS[pool]
    assert scheduling.unschedulable_reasons(pod_spec(build(run)), labels, taints), (
        f"a serving pod on {pool} would take (and make the autoscaler add) training capacity"
    )


@pytest.mark.parametrize("pool", sorted(SERVING_POOLS))
def test_serving_pods_schedule_on_serving_pools(run, pool: str) -> None:
    labels, taints = SERVING_POOLS[pool]
    assert scheduling.unschedulable_reasons(pod_spec(build(run)), labels, taints) == []


def rolling_update(recorder) -> dict:
    (deployment,) = objects_of_kind(recorder, "Deployment")
    return deployment["spec"]["strategy"]["rollingUpdate"]


def test_the_default_model_under_the_default_one_gpu_quota_rolls_without_a_surge_pod(run) -> None:
    assert rolling_update(build(run, namespace_gpu_quota=1)) == {"maxSurge": 0, "maxUnavailable": 1}, (
        "1 replica x 1 GPU + a 1-GPU surge pod exceeds a 1-GPU quota: the surge pod is refused and the rollout stalls"
    )


@pytest.mark.parametrize(("replicas", "gpus", "quota"), [(1, 1, 4), (3, 1, 4), (2, 2, 6)])
def test_a_quota_with_room_for_one_more_pod_rolls_with_a_surge(run, replicas: int, gpus: int, quota: int) -> None:
    recorder = build(run, replicas=replicas, gpus=gpus, namespace_gpu_quota=quota)
    assert rolling_update(recorder) == {"maxSurge": 1, "maxUnavailable": 0}, "headroom: no capacity lost on rollout"


def test_a_quota_without_room_for_a_surge_pod_replaces_one_pod_at_a_time(run) -> None:
    assert rolling_update(build(run, replicas=2, gpus=2, namespace_gpu_quota=5)) == {"maxSurge": 0, "maxUnavailable": 1}


def test_cpu_models_surge_whatever_the_gpu_quota(run) -> None:
    assert rolling_update(build(run, gpus=0, namespace_gpu_quota=0)) == {"maxSurge": 1, "maxUnavailable": 0}


@pytest.mark.parametrize(("replicas", "gpus", "quota"), [(3, 1, 2), (1, 2, 1), (1, 1, 0)])
def test_pods_that_alone_exceed_the_quota_are_refused_naming_the_arguments(run, replicas, gpus, quota) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, replicas=replicas, gpus=gpus, namespace_gpu_quota=quota)
    errors = errors_of(raised)
    assert set(errors) == {"replicas"}, errors
    assert "namespaceGpuQuota" in errors["replicas"] and "gpus" in errors["replicas"]


def test_several_replicas_get_a_disruption_budget_and_rollouts_never_drop_capacity(run) -> None:
    recorder = build(run, replicas=3)
    (budget,) = objects_of_kind(recorder, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    (deployment,) = objects_of_kind(recorder, "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_bad_arguments_are_reported_together_with_their_paths(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: ModelDeployment(
                "fraud-model",
                {
                    "image": DIGEST_IMAGE,
                    "gpus": -1,
                    "cpu": "4",
                    "cpu_limit": "2",
                    "port": 80,
                    "readiness_path": "ready",
                    "run_as_user": 0,
                    "namespace_gpu_quota": -1,
                },
            )
        )
    assert {"namespace", "gpus", "cpuLimit", "port", "readinessPath", "runAsUser", "namespaceGpuQuota"} <= set(
        errors_of(raised)
    )


@pytest.mark.parametrize(
    ("server", "port", "ready", "live", "metrics_port", "shm"),
    [
        ("generic", 8080, "/ready", "/live", "http", "1Gi"),
        ("triton", 8000, "/v2/health/ready", "/v2/health/live", "metrics", "2Gi"),
        ("vllm", 8000, "/health", "/health", "http", "8Gi"),
    ],
)
def test_a_server_preset_sets_ports_probes_metrics_and_shared_memory(
    run, server: str, port: int, ready: str, live: str, metrics_port: str, shm: str
) -> None:
    recorder = build(run, server=server)
    spec = pod_spec(recorder)
    (container,) = spec["containers"]
    declared = {declared["name"]: declared["containerPort"] for declared in container["ports"]}
    assert declared["http"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": ready, "port": "http"}
    assert container["livenessProbe"]["httpGet"]["path"] == container["startupProbe"]["httpGet"]["path"] == live
    (monitor,) = objects_of_kind(recorder, "ServiceMonitor")
    assert (
        monitor["spec"]["endpoints"][0]["port"] == metrics_port
        and monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    )
    (service,) = objects_of_kind(recorder, "Service")
    assert metrics_port in {service_port["name"] for service_port in service["spec"]["ports"]}, "scraped through it"
    if metrics_port == "metrics":
        assert declared["metrics"] == 8002, "Triton serves its metrics on a listener of their own"
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": shm}


def test_explicit_arguments_override_the_preset(run) -> None:
    recorder = build(run, server="vllm", port=9000, readiness_path="/v1/models", shm_size="16Gi", memory="32Gi")
    (container,) = pod_spec(recorder)["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}], "metrics follow the port"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health", "what was not overridden stays the preset's"


def test_an_unknown_server_and_built_in_autoscaling_on_a_server_without_the_metrics_contract_are_refused(
    run, recorder
) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelDeployment("fraud-model", {"namespace": "fraud", "image": DIGEST_IMAGE, "server": "tgi"}))
    assert "server" in errors_of(raised)
    autoscaling = {"max_replicas": 2, "target": 4, "prometheus_url": "http://prometheus:9090"}
    arguments = {"namespace": "fraud", "image": DIGEST_IMAGE, "server": "triton", "namespace_gpu_quota": 2}
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelDeployment("fraud-model", {**arguments, "autoscaling": autoscaling}))
    assert "http_request_duration_seconds" in errors_of(raised)["autoscaling.metric"], (
        "Triton exports nv_inference_*, so the built-in concurrency query would read nothing and never scale"
    )
    assert not recorder.by_type("kubernetes:apps/v1:Deployment")


def test_a_secret_in_env_is_refused_and_never_written_into_the_deployment(run, recorder) -> None:
    arguments = {
        "namespace": "fraud",
        "image": DIGEST_IMAGE,
        "env": {"MODEL_VERSION": pulumi.Output.from_input("v7"), "API_TOKEN": pulumi.Output.secret("s3cr3t-token")},
    }
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run_with_provider(run, lambda opts: ModelDeployment("fraud-model", arguments, opts=opts))
    assert "env.API_TOKEN" in str(raised.value) and "secret" in str(raised.value)
    for registration in recorder.registrations:
        assert "s3cr3t-token" not in repr(registration.inputs), f"{registration.type} carries the secret in plain text"


def test_plain_outputs_in_env_reach_the_container(run) -> None:
    recorder = build(run, env={"MODEL_VERSION": pulumi.Output.from_input("v7"), "MODE": "fast"})
    (container,) = pod_spec(recorder)["containers"]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert env["MODEL_VERSION"] == "v7" and env["MODE"] == "fast"
