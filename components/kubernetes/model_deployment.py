"""`ModelDeployment`: a hardened GPU model server (Deployment + Service + ServiceMonitor) to copy and adapt."""

import re
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from components._common.validation import Problems, require_args_mapping
from components.kubernetes._checks import (
    check_bool,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_string_map,
)

DEFAULT_SERVICE_ACCOUNT_NAME = "model-server"
DEFAULT_REPLICAS = 1
DEFAULT_GPUS = 1
DEFAULT_CPU = "2"
DEFAULT_CPU_LIMIT = "4"
DEFAULT_MEMORY = "8Gi"
DEFAULT_PORT = 8080
DEFAULT_SERVICE_PORT = 80
DEFAULT_METRICS_PATH = "/metrics"
DEFAULT_READINESS_PATH = "/v2/health/ready"
DEFAULT_LIVENESS_PATH = "/v2/health/live"
DEFAULT_STARTUP_TIMEOUT_SECONDS = 600
DEFAULT_RUN_AS_USER = 1000
DEFAULT_TMP_SIZE = "1Gi"
DEFAULT_SHM_SIZE = "1Gi"
DEFAULT_SERVICE_MONITOR = True
DEFAULT_NAMESPACE_GPU_QUOTA: int | None = None
"""Unknown: the rollout surges by one pod, as when the quota has room for it."""

PROBE_PERIOD_SECONDS = 10
IMAGE_BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


class ModelDeploymentArgs(TypedDict, total=False):
    """Arguments of `ModelDeployment`."""

    namespace: Required[pulumi.Input[str]]
    """The serving namespace (`ModelServingNamespace.namespace`). Required."""

    image: Required[pulumi.Input[str]]
    """Container image pinned by digest, `<repository>@sha256:<64 hex>` (tags are mutable; the policy packs
    require digests in serving namespaces), e.g. `ModelImage.digest_ref`. A plain string is checked here; an
    output is checked by the policy packs once known. Required."""

    app_name: str
    """Name of the Deployment, Service and ServiceMonitor (DNS-1123 label). Defaults to the component name."""

    service_account_name: pulumi.Input[str]
    """ServiceAccount the pods run as (`ModelServingNamespace.service_account_name`). Defaults to model-server."""

    pod_labels: pulumi.Input[dict[str, str]]
    """Extra pod labels; pass `ModelServingNamespace.pod_labels` (Azure workload identity needs one). Defaults
    to none."""

    replicas: int
    """Number of pods. Defaults to 1."""

    gpus: int
    """GPUs per pod (`nvidia.com/gpu`, limits equal to requests); 0 runs on CPU nodes. Defaults to 1."""

    namespace_gpu_quota: int
    """GPUs of the namespace's quota (`requests.nvidia.com/gpu`) this deployment may use: the serving
    namespace's `quota_gpus` when it is the only GPU workload there. The rolling update adds a surge pod
    (maxSurge 1, maxUnavailable 0: no capacity lost) only when `(replicas + 1) × gpus` fits; otherwise it
    replaces one pod at a time (maxSurge 0, maxUnavailable 1), since a surge pod the quota rejects stalls the
    rollout forever. `replicas × gpus` above it is an error. Defaults to unknown: the rollout surges, which
    needs one pod's GPUs of headroom in the quota."""

    cpu: str
    """CPU request per pod (Kubernetes quantity). Defaults to 2."""

    cpu_limit: str
    """CPU limit per pod, at least `cpu`. Defaults to 4."""

    memory: str
    """Memory request and limit per pod (Kubernetes quantity). Defaults to 8Gi."""

    port: int
    """Container port serving HTTP inference and metrics. Defaults to 8080."""

    service_port: int
    """Port of the ClusterIP Service. Defaults to 80."""

    metrics_path: str
    """Path of the Prometheus metrics (`http_requests_total`, `http_request_duration_seconds`, see README).
    Defaults to /metrics."""

    readiness_path: str
    """HTTP path answering 200 when the model is loaded. Defaults to /v2/health/ready (Open Inference Protocol,
    served by Triton, KServe runtimes and MLServer)."""

    liveness_path: str
    """HTTP path answering 200 while the server is alive. Defaults to /v2/health/live."""

    startup_timeout_seconds: int
    """How long the server may take to load its model before liveness checks start. Defaults to 600."""

    env: dict[str, pulumi.Input[str]]
    """Environment variables of the server container. Defaults to none."""

    command: list[str]
    """Container entrypoint override. Defaults to the image's."""

    container_args: list[str]
    """Container arguments. Defaults to the image's."""

    run_as_user: int
    """Non-zero uid the container runs as (Pod Security `restricted` needs a numeric non-root user). Defaults
    to 1000."""

    tmp_size: str
    """Size of the writable /tmp (emptyDir; the root filesystem is read-only). Defaults to 1Gi."""

    shm_size: str
    """Size of /dev/shm (memory-backed emptyDir, counted against `memory`) for PyTorch / NCCL. Defaults to 1Gi."""

    service_monitor: bool
    """Create a ServiceMonitor so Prometheus scrapes the server (needs the Prometheus operator CRDs).
    Defaults to true."""


class ModelDeployment(pulumi.ComponentResource):
    """A model server on GPUs in a serving namespace, hardened to Pod Security `restricted`.

    Creates:
    - a Deployment: GPU tolerations and required node affinity from the GPU contract (GPU nodes, never a
      training pool), GPU limits equal to requests, startup/readiness/liveness probes, rolling updates that
      fit the namespace's GPU quota (zero-downtime when it has room for a surge pod);
    - a ClusterIP Service;
    - a ServiceMonitor (and scrape annotations) for the serving SLO rules;
    - a PodDisruptionBudget when there is more than one replica.

    Security defaults: image pinned by digest (rejected otherwise); non-root uid, no privilege escalation, all
    capabilities dropped, seccomp RuntimeDefault, read-only root filesystem with emptyDir /tmp; no API token
    mounted; the namespace's ServiceAccount and its cloud identity.
    """

    deployment_name: pulumi.Output[str]
    """Name of the Deployment."""

    service_name: pulumi.Output[str]
    """Name of the Service."""

    service_url: pulumi.Output[str]
    """In-cluster URL of the Service."""

    def __init__(self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        namespace = args.get("namespace")
        image = args.get("image")
        app_name = args.get("app_name", name)
        service_account = args.get("service_account_name", DEFAULT_SERVICE_ACCOUNT_NAME)
        pod_labels = args.get("pod_labels", {})
        replicas = args.get("replicas", DEFAULT_REPLICAS)
        gpus = args.get("gpus", DEFAULT_GPUS)
        cpu = args.get("cpu", DEFAULT_CPU)
        cpu_limit = args.get("cpu_limit", DEFAULT_CPU_LIMIT)
        memory = args.get("memory", DEFAULT_MEMORY)
        port = args.get("port", DEFAULT_PORT)
        service_port = args.get("service_port", DEFAULT_SERVICE_PORT)
        metrics_path = args.get("metrics_path", DEFAULT_METRICS_PATH)
        readiness_path = args.get("readiness_path", DEFAULT_READINESS_PATH)
        liveness_path = args.get("liveness_path", DEFAULT_LIVENESS_PATH)
        startup_timeout = args.get("startup_timeout_seconds", DEFAULT_STARTUP_TIMEOUT_SECONDS)
        env = args.get("env", {})
        run_as_user = args.get("run_as_user", DEFAULT_RUN_AS_USER)
        tmp_size = args.get("tmp_size", DEFAULT_TMP_SIZE)
        shm_size = args.get("shm_size", DEFAULT_SHM_SIZE)
        service_monitor = args.get("service_monitor", DEFAULT_SERVICE_MONITOR)
        gpu_quota = args.get("namespace_gpu_quota", DEFAULT_NAMESPACE_GPU_QUOTA)

        problems = Problems()
        check_known_arguments(problems, args, ModelDeploymentArgs)
        if namespace is None:
            problems.add("namespace", "required: the serving namespace")
        elif isinstance(namespace, str):
            check_object_name(problems, "namespace", namespace)
        # An output (e.g. ModelImage.digest_ref) is known only at deploy time; the image policy checks it then.
        if not isinstance(image, pulumi.Output) and (not isinstance(image, str) or not IMAGE_BY_DIGEST.match(image)):
            problems.add(
                "image",
                f"{image!r} is not pinned by digest; use <repository>@sha256:<64 hex> (tags can be moved to other images)",
            )
        check_object_name(problems, "appName", app_name)
        if isinstance(service_account, str):
            check_object_name(problems, "serviceAccountName", service_account)
        if not isinstance(pod_labels, pulumi.Output):
            check_string_map(problems, "podLabels", pod_labels)
        check_int(problems, "replicas", replicas, minimum=1, maximum=1000)
        check_int(problems, "gpus", gpus, minimum=0, maximum=16)
        if gpu_quota is not None:
            check_int(problems, "namespaceGpuQuota", gpu_quota, minimum=0, maximum=1024)
            check_fits_quota(problems, replicas=replicas, gpus=gpus, quota=gpu_quota)
        cpu_request = check_quantity(problems, "cpu", cpu)
        cpu_max = check_quantity(problems, "cpuLimit", cpu_limit)
        if cpu_request is not None and cpu_max is not None and cpu_max < cpu_request:
            problems.add("cpuLimit", f"must be at least cpu ({cpu})")
        check_quantity(problems, "memory", memory)
        check_int(problems, "port", port, minimum=1024, maximum=65535)
        check_int(problems, "servicePort", service_port, minimum=1, maximum=65535)
        for path, value in (
            ("metricsPath", metrics_path),
            ("readinessPath", readiness_path),
            ("livenessPath", liveness_path),
        ):
            if not isinstance(value, str) or not value.startswith("/"):
                problems.add(path, f"must be an absolute HTTP path (got {value!r})")
        check_int(problems, "startupTimeoutSeconds", startup_timeout, minimum=PROBE_PERIOD_SECONDS, maximum=7200)
        check_int(problems, "runAsUser", run_as_user, minimum=1)
        check_quantity(problems, "tmpSize", tmp_size)
        check_quantity(problems, "shmSize", shm_size)
        check_bool(problems, "serviceMonitor", service_monitor)
        if not isinstance(env, dict):
            problems.add("env", "must be a map of variable names to values")
        problems.raise_if_any(f"ModelDeployment '{name}'")

        super().__init__("mlplatform:index:ModelDeployment", name, {}, opts)

        selector = {"app.kubernetes.io/name": app_name, "app.kubernetes.io/instance": app_name}
        labels = {**selector, "app.kubernetes.io/component": "model-server", "app.kubernetes.io/part-of": "mlplatform"}
        # The pod's own labels win over the extras, so the Deployment's selector always matches its pods.
        template_labels = pulumi.Output.from_input(pod_labels).apply(lambda extra: {**(extra or {}), **labels})
        container = model_server_container(
            image=image,
            gpus=gpus,
            cpu=str(cpu),
            cpu_limit=str(cpu_limit),
            memory=str(memory),
            port=port,
            readiness_path=readiness_path,
            liveness_path=liveness_path,
            startup_timeout_seconds=startup_timeout,
            env=env,
            command=args.get("command"),
            container_args=args.get("container_args"),
        )
        pod_spec: dict[str, Any] = {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": run_as_user,
                "runAsGroup": run_as_user,
                "fsGroup": run_as_user,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": tmp_size}},
                {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}},
            ],
        }
        # Required, not preferred: a serving pod on a training pool takes (and scales up) training capacity.
        pod_spec["affinity"] = gpu.serving_node_affinity(gpus=gpus > 0)
        if gpus > 0:
            pod_spec["tolerations"] = gpu.gpu_tolerations()

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": app_name, "namespace": namespace, "labels": labels},
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling_update(replicas, gpus, gpu_quota)},
                "template": {
                    "metadata": {
                        "labels": template_labels,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(port),
                            "prometheus.io/path": metrics_path,
                        },
                    },
                    "spec": pod_spec,
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": app_name, "namespace": namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": service_port, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        if service_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={"name": app_name, "namespace": namespace, "labels": labels},
                spec={
                    "selector": {"matchLabels": selector},
                    "endpoints": [{"port": "http", "path": metrics_path, "interval": "30s"}],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )
        if replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": app_name, "namespace": namespace, "labels": labels},
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        self.service_url = pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
            lambda parts: f"http://{parts[0]}.{parts[1]}.svc:{service_port}"
        )
        self.register_outputs(
            {
                "deploymentName": self.deployment_name,
                "serviceName": self.service_name,
                "serviceUrl": self.service_url,
            }
        )


def rolling_update(replicas: int, gpus: int, namespace_gpu_quota: int | None) -> dict[str, int]:
    """The Deployment's rollingUpdate: surge one pod when the GPU quota has room for it, else replace in place.

    A surge pod the quota cannot admit is never created (the ReplicaSet's pod creation is refused), and with
    maxUnavailable 0 no old pod is removed either: the rollout waits forever. Replacing one pod at a time
    needs no headroom, at the price of one pod's capacity during the rollout.

    Args:
        replicas: pods of the Deployment.
        gpus: GPUs per pod.
        namespace_gpu_quota: GPUs of the quota the pods count against; None when unknown (surge).
    """
    if gpus > 0 and namespace_gpu_quota is not None and (replicas + 1) * gpus > namespace_gpu_quota:
        return {"maxSurge": 0, "maxUnavailable": 1}
    return {"maxSurge": 1, "maxUnavailable": 0}


def check_fits_quota(problems: Problems, *, replicas: object, gpus: object, quota: object) -> None:
    """Record a problem when the pods alone need more GPUs than the namespace's quota admits."""
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (replicas, gpus, quota)):
        return  # Their own checks name the wrong type.
    needed = replicas * gpus  # type: ignore[operator]
    if gpus and needed > quota:  # type: ignore[operator]
        problems.add(
            "replicas",
            f"replicas × gpus = {replicas} × {gpus} = {needed} GPUs exceed namespaceGpuQuota ({quota}): the quota "
            "admits fewer pods, and no rollout can fit; lower replicas or gpus, or raise the namespace's quota",
        )


def model_server_container(
    *,
    image: pulumi.Input[str],
    gpus: int,
    cpu: str,
    cpu_limit: str,
    memory: str,
    port: int,
    readiness_path: str,
    liveness_path: str,
    startup_timeout_seconds: int,
    env: dict[str, pulumi.Input[str]],
    command: list[str] | None,
    container_args: list[str] | None,
) -> dict[str, Any]:
    """The model server container: restricted security context, GPU limits equal to requests, probes."""
    requests: dict[str, str] = {"cpu": cpu, "memory": memory}
    limits: dict[str, str] = {"cpu": cpu_limit, "memory": memory}
    if gpus > 0:
        # Extended resources cannot be overcommitted: Kubernetes requires limits == requests for GPUs.
        requests[gpu.GPU_RESOURCE] = str(gpus)
        limits[gpu.GPU_RESOURCE] = str(gpus)

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "failureThreshold": failures,
            "timeoutSeconds": 5,
        }

    # Libraries (Hugging Face, Torch) write caches under $HOME; the root filesystem is read-only.
    variables: dict[str, pulumi.Input[str]] = {"HOME": "/tmp", **env}
    container: dict[str, Any] = {
        "name": "model-server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": key, "value": value} for key, value in variables.items()],
        "resources": {"requests": requests, "limits": limits},
        "startupProbe": probe(
            liveness_path, PROBE_PERIOD_SECONDS, max(1, startup_timeout_seconds // PROBE_PERIOD_SECONDS)
        ),
        "readinessProbe": probe(readiness_path, PROBE_PERIOD_SECONDS, 3),
        "livenessProbe": probe(liveness_path, 2 * PROBE_PERIOD_SECONDS, 3),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if command:
        container["command"] = list(command)
    if container_args:
        container["args"] = list(container_args)
    return container
