"""`ModelDeployment`: a hardened GPU model server (Deployment + Service + ServiceMonitor) to copy and adapt."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import secrets_store
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_string_map,
)
from components.kubernetes.autoscaling import _scaled_object

DEFAULT_SERVICE_ACCOUNT_NAME = "model-server"
DEFAULT_REPLICAS = 1
DEFAULT_GPUS = 1
DEFAULT_CPU = "2"
DEFAULT_CPU_LIMIT = "4"
DEFAULT_MEMORY = "8Gi"
DEFAULT_SERVICE_PORT = 80
DEFAULT_STARTUP_TIMEOUT_SECONDS = 600
DEFAULT_RUN_AS_USER = 1000
DEFAULT_TMP_SIZE = "1Gi"
DEFAULT_SERVICE_MONITOR = True
DEFAULT_NAMESPACE_GPU_QUOTA: int | None = None
"""Unknown: the rollout surges by one pod, as when the quota has room for it."""

DEFAULT_AUTOSCALING = None
"""Off: the Deployment runs `replicas` pods."""
DEFAULT_MIN_REPLICAS = 1
DEFAULT_METRIC = "concurrency"
DEFAULT_ACTIVATION_THRESHOLD = 0.0

PROBE_PERIOD_SECONDS = 10

MODEL_LABEL = "mlplatform.io/model"
"""Pod label naming the model a pod serves (set by whoever runs several versions of one model)."""
MODEL_VERSION_LABEL = "mlplatform.io/model-version"
"""Pod label naming the model version a pod serves."""
SERIES_LABELS = {MODEL_LABEL: "model", MODEL_VERSION_LABEL: "model_version"}
"""Pod label -> the Prometheus label the ServiceMonitor puts on every series of the pod (the per-version serving
rules and dashboard in `_alerts.py` / `_dashboards.py` group by them)."""


@dataclass(frozen=True)
class ServerPreset:
    """What a model server listens on and answers: the container's port, its probe and metrics paths, /dev/shm."""

    port: int
    """Container port of HTTP inference and the probes."""
    readiness_path: str
    """Answers 200 once the model is loaded and the server takes requests."""
    liveness_path: str
    """Answers 200 while the process is alive (also the startup probe, so a slow model load is not a restart)."""
    metrics_path: str
    """Prometheus metrics path."""
    metrics_port: int
    """Port of the metrics (the same as `port` unless the server has a separate metrics listener)."""
    shm_size: str
    """Size of the memory-backed /dev/shm."""
    metrics_contract: bool
    """Whether the server exports the platform's HTTP metrics (`http_requests_total`,
    `http_request_duration_seconds`) that the SLO rules and the built-in autoscaling queries read."""


SERVER_PRESETS: dict[str, ServerPreset] = {
    # examples/model-server/server.py serves exactly these paths (a test runs it and probes them).
    "generic": ServerPreset(
        port=8080,
        readiness_path="/ready",
        liveness_path="/live",
        metrics_path="/metrics",
        metrics_port=8080,
        shm_size="1Gi",
        metrics_contract=True,
    ),
    # Triton's HTTP/REST endpoint implements the KServe v2 (Open Inference) health API, `GET /v2/health/live` and
    # `GET /v2/health/ready`, on port 8000 (gRPC 8001); its Prometheus metrics (`nv_inference_*`, `nv_gpu_*`) are
    # served by a separate listener on port 8002 at `/metrics` (Triton user guide, "HTTP/REST and GRPC Protocol"
    # and "Metrics": "Started HTTPService at 0.0.0.0:8000 ... Metrics Service at 0.0.0.0:8002"). Its Python
    # backend and ensembles pass tensors through /dev/shm, where a container runtime's 64 MiB default is too small.
    "triton": ServerPreset(
        port=8000,
        readiness_path="/v2/health/ready",
        liveness_path="/v2/health/live",
        metrics_path="/metrics",
        metrics_port=8002,
        shm_size="2Gi",
        metrics_contract=False,
    ),
    # vLLM's OpenAI-compatible server (`vllm serve`) listens on port 8000 and answers `GET /health` once its engine
    # is up, and serves its Prometheus metrics (`vllm:*`) at `/metrics` on the same port (vLLM docs, "Production
    # Metrics": `curl http://0.0.0.0:8000/metrics`; "Using Kubernetes"). PyTorch's worker processes share tensors
    # through /dev/shm (tensor parallelism), so vLLM asks for `--ipc=host` or a large `--shm-size` in Docker.
    "vllm": ServerPreset(
        port=8000,
        readiness_path="/health",
        liveness_path="/health",
        metrics_path="/metrics",
        metrics_port=8000,
        shm_size="8Gi",
        metrics_contract=False,
    ),
}
"""Model servers `ModelDeployment` knows, by the name its `server` argument takes."""

DEFAULT_SERVER = "generic"

IMAGE_BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


class ModelSecretArgs(TypedDict, total=False):
    """One secret of the serving namespace the model server receives (see `ModelServingNamespace.secretStore`)."""

    name: Required[str]
    """Name of the value in the namespace's store (one of `secretStore.secrets`). Required."""

    env: str
    """Also pass it as this environment variable, by reference to the synced Secret (needs
    `secretStore.syncToKubernetes`). Defaults to none (file only)."""

    file: str
    """File name under /var/run/secrets/app the value is mounted as (read-only). Defaults to `name`."""


class ModelAutoscalingArgs(TypedDict, total=False):
    """Autoscaling of a `ModelDeployment` by KEDA from a Prometheus metric (see `PodAutoscaling`)."""

    max_replicas: Required[int]
    """Most pods. `max_replicas × gpus` must fit `namespace_gpu_quota`, and the rolling update is derived from
    it, so neither the autoscaler nor a rollout at full scale asks for GPUs the quota rejects. Required."""

    min_replicas: int
    """Fewest pods. 0 (scale to zero) needs a `query` over a metric that exists while no pod runs (requests
    counted at the ingress controller, a queue's length): the model server's own metrics vanish with its
    last pod, and nothing would wake it. Defaults to 1."""

    metric: str
    """What to scale on: `concurrency` (requests in flight per pod, from the server's
    `http_request_duration_seconds` by Little's law), `latency` (p95 of `http_request_duration_seconds` over
    the Deployment, seconds) or `gpu_utilization` (mean `DCGM_FI_DEV_GPU_UTIL` of a pod's GPUs, percent).
    With `query`, chooses how the query's value is compared: per pod (`concurrency`, `gpu_utilization`: the
    query returns the sum over pods) or as one value (`latency`). Defaults to concurrency."""

    target: Required[float]
    """The value the autoscaler aims at: requests in flight per pod, p95 seconds, or percent GPU utilisation
    per pod (or the custom query's unit). Required."""

    query: pulumi.Input[str]
    """A PromQL query replacing the metric's built-in one, e.g. the request rate of this model's Ingress.
    Required for `min_replicas` 0. Defaults to the built-in query of `metric`, which selects this Deployment's
    pods in its namespace."""

    activation_threshold: float
    """With `min_replicas` 0: the query's value above which the Deployment is woken from zero (KEDA
    `activationThreshold`). Defaults to 0 (any traffic)."""

    prometheus_url: Required[pulumi.Input[str]]
    """In-cluster URL of Prometheus (`Monitoring.prometheus_url`, the platform's `prometheusUrl` output).
    Required."""


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
    """Number of pods, without `autoscaling` (which then owns the count). Defaults to 1."""

    gpus: int
    """GPUs per pod (`nvidia.com/gpu`, limits equal to requests); 0 runs on CPU nodes. Defaults to 1."""

    namespace_gpu_quota: int
    """GPUs of the namespace's quota (`requests.nvidia.com/gpu`) this deployment may use: the serving
    namespace's `quota_gpus` when it is the only GPU workload there. The rolling update adds a surge pod
    (maxSurge 1, maxUnavailable 0: no capacity lost) only when `(replicas + 1) × gpus` fits; otherwise it
    replaces one pod at a time (maxSurge 0, maxUnavailable 1), since a surge pod the quota rejects stalls the
    rollout forever. `replicas × gpus` above it is an error. With `autoscaling`, `autoscaling.max_replicas`
    takes the place of `replicas` in both rules, and the quota is required for GPU models. Defaults to unknown:
    the rollout surges, which needs one pod's GPUs of headroom in the quota."""

    cpu: str
    """CPU request per pod (Kubernetes quantity). Defaults to 2."""

    cpu_limit: str
    """CPU limit per pod, at least `cpu`. Defaults to 4."""

    memory: str
    """Memory request and limit per pod (Kubernetes quantity). Defaults to 8Gi."""

    server: str
    """The model server the image runs, which sets the port, probe paths, metrics port/path and /dev/shm size:
    `generic` (an HTTP server on 8080 answering `/ready` once the model is loaded, `/live` and `/metrics` with
    the platform's HTTP metrics, as `examples/model-server` does), `triton` (Triton Inference Server: 8000,
    `/v2/health/ready`, `/v2/health/live`, metrics on 8002) or `vllm` (vLLM's OpenAI server: 8000, `/health`,
    `/metrics`, 8Gi /dev/shm). Explicit `port`, `*_path`, `metrics_port` and `shm_size` override the preset.
    Defaults to generic."""

    port: int
    """Container port serving HTTP inference and the probes. Defaults to the server preset's (generic: 8080)."""

    metrics_port: int
    """Container port of the Prometheus metrics, when the server has a separate metrics listener. Defaults to
    the server preset's (generic: `port`; triton: 8002)."""

    service_port: int
    """Port of the ClusterIP Service. Defaults to 80."""

    metrics_path: str
    """Path of the Prometheus metrics (`http_requests_total`, `http_request_duration_seconds`, see README).
    Defaults to the server preset's (/metrics)."""

    readiness_path: str
    """HTTP path answering 200 when the model is loaded. Defaults to the server preset's (generic: /ready;
    triton: /v2/health/ready; vllm: /health)."""

    liveness_path: str
    """HTTP path answering 200 while the server is alive (also the startup probe). Defaults to the server
    preset's (generic: /live; triton: /v2/health/live; vllm: /health)."""

    startup_timeout_seconds: int
    """How long the server may take to load its model before liveness checks start. Defaults to 600."""

    env: dict[str, pulumi.Input[str]]
    """Environment variables of the server container, written in plain text into the Deployment. Values Pulumi
    keeps encrypted in its state are refused, since anyone who can read the Deployment
    could read them: pass credentials from the cloud's vault through the Secrets Store CSI driver instead.
    Defaults to none."""

    secrets: list[ModelSecretArgs]
    """Secrets of the serving namespace for the server: each a read-only file under /var/run/secrets/app from the
    Secrets Store CSI volume (the namespace's SecretProviderClass `app-secrets`, fetched with the namespace's
    identity), optionally also an env var referencing the synced Secret. Values never appear in the Deployment.
    Defaults to none."""

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
    """Size of /dev/shm (memory-backed emptyDir, counted against `memory`) for PyTorch / NCCL. Defaults to the
    server preset's (generic: 1Gi; triton: 2Gi; vllm: 8Gi)."""

    service_monitor: bool
    """Create a ServiceMonitor so Prometheus scrapes the server (needs the Prometheus operator CRDs).
    Defaults to true."""

    autoscaling: ModelAutoscalingArgs
    """Scale the Deployment with its load through a KEDA ScaledObject (needs `PodAutoscaling` in the
    cluster). The Deployment then leaves `replicas` to the autoscaler, its rollout fits the quota at
    `max_replicas`, and GPU autoscaling requires `namespace_gpu_quota`. Defaults to off (`replicas` pods)."""


class ModelDeployment(pulumi.ComponentResource):
    """A model server on GPUs in a serving namespace, hardened to Pod Security `restricted`.

    Creates:
    - a Deployment: GPU tolerations and required node affinity from the GPU contract (GPU nodes, never a
      training pool), GPU limits equal to requests, startup/readiness/liveness probes, rolling updates that
      fit the namespace's GPU quota (zero-downtime when it has room for a surge pod);
    - a ClusterIP Service;
    - a ServiceMonitor (and scrape annotations) for the serving SLO rules, which labels the series of pods
      carrying `mlplatform.io/model` / `mlplatform.io/model-version` with `model` / `model_version`;
    - a PodDisruptionBudget when there can be more than one replica (`maxUnavailable: 1`, never a
      `minAvailable` that would block node drains at the autoscaler's minimum);
    - with `autoscaling`, a KEDA ScaledObject whose Prometheus trigger reads this Deployment's pods only;
    - with `secrets`, the namespace's Secrets Store CSI volume (read-only), each secret a read-only file and
      optionally an env var from the synced Secret (`valueFrom.secretKeyRef`): no secret value is in the spec.

    Autoscaled, the Deployment carries no `spec.replicas`. The Kubernetes provider applies objects with
    server-side apply, where a field the applied configuration omits is owned by whoever set it last: the HPA
    KEDA creates (through the scale subresource), so `pulumi up` never resets the count the autoscaler chose
    (Kubernetes docs, "Server-Side Apply: transferring ownership" and "Horizontal Pod Autoscaling: migrating
    Deployments"; pulumi-kubernetes applies with server-side apply by default since v4). Pulumi's
    `ignoreChanges` would not do: it keeps sending the old value, so Pulumi would keep owning the field.
    Turning autoscaling on for an existing Deployment removes the field Pulumi owned, which resets it to its
    default (1) once before the autoscaler scales back up.

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

    scaled_object_name: pulumi.Output[str]
    """Name of the KEDA ScaledObject (empty without autoscaling)."""

    def __init__(self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        settings = _settings(name, args)

        check_arguments(name, args).raise_if_any(f"ModelDeployment '{name}'")

        super().__init__("mlplatform:index:ModelDeployment", name, {}, opts)

        selector = {"app.kubernetes.io/name": settings.app_name, "app.kubernetes.io/instance": settings.app_name}
        labels = {**selector, "app.kubernetes.io/component": "model-server", "app.kubernetes.io/part-of": "mlplatform"}
        # The pod's own labels win over the extras, so the Deployment's selector always matches its pods.
        template_labels = pulumi.Output.from_input(settings.pod_labels).apply(lambda extra: {**(extra or {}), **labels})
        container = model_server_container(
            image=settings.image,
            gpus=settings.gpus,
            cpu=str(settings.cpu),
            cpu_limit=str(settings.cpu_limit),
            memory=str(settings.memory),
            port=settings.port,
            metrics_port=settings.metrics_port,
            readiness_path=settings.readiness_path,
            liveness_path=settings.liveness_path,
            startup_timeout_seconds=settings.startup_timeout,
            env=refuse_secrets(name, settings.env),
            command=args.get("command"),
            container_args=args.get("container_args"),
        )
        volumes: list[dict[str, Any]] = [
            {"name": "tmp", "emptyDir": {"sizeLimit": settings.tmp_size}},
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": settings.shm_size}},
        ]
        if settings.secrets:
            mounts, secret_env = secrets_store.secret_mounts_and_env(settings.secrets)
            container["volumeMounts"] += mounts
            container["env"] += secret_env
            volumes.append(secrets_store.secret_volume())
        pod_spec: dict[str, Any] = {
            "serviceAccountName": settings.service_account,
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": settings.run_as_user,
                "runAsGroup": settings.run_as_user,
                "fsGroup": settings.run_as_user,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
        }
        # Required, not preferred: a serving pod on a training pool takes (and scales up) training capacity.
        pod_spec["affinity"] = gpu.serving_node_affinity(gpus=settings.gpus > 0)
        if settings.gpus > 0:
            pod_spec["tolerations"] = gpu.gpu_tolerations()

        # Autoscaled, the rollout is sized for the most pods there can be, and the count is the HPA's (see above).
        most_replicas = settings.autoscaling["max_replicas"] if settings.autoscaling is not None else settings.replicas
        replica_spec = {} if settings.autoscaling is not None else {"replicas": settings.replicas}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": settings.app_name, "namespace": settings.namespace, "labels": labels},
            spec={
                **replica_spec,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": rolling_update(most_replicas, settings.gpus, settings.gpu_quota),
                },
                "template": {
                    "metadata": {
                        "labels": template_labels,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(settings.metrics_port),
                            "prometheus.io/path": settings.metrics_path,
                        },
                    },
                    "spec": pod_spec,
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A separate metrics listener (Triton's 8002) is scraped through its own named Service port.
        metrics_port_name = "http" if settings.metrics_port == settings.port else "metrics"
        metrics_service_ports = (
            []
            if settings.metrics_port == settings.port
            else [{"name": "metrics", "port": settings.metrics_port, "targetPort": "metrics", "protocol": "TCP"}]
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": settings.app_name, "namespace": settings.namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {"name": "http", "port": settings.service_port, "targetPort": "http", "protocol": "TCP"},
                    *metrics_service_ports,
                ],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        if settings.service_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={"name": settings.app_name, "namespace": settings.namespace, "labels": labels},
                spec={
                    "selector": {"matchLabels": selector},
                    "endpoints": [
                        {
                            "port": metrics_port_name,
                            "path": settings.metrics_path,
                            "interval": "30s",
                            "relabelings": version_relabelings(),
                        }
                    ],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )
        if most_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": settings.app_name, "namespace": settings.namespace, "labels": labels},
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.scaled_object_name = pulumi.Output.from_input("")
        if settings.autoscaling is not None:
            metric = settings.autoscaling.get("metric", DEFAULT_METRIC)
            query = settings.autoscaling.get("query")
            if query is None:
                query = pulumi.Output.from_input(settings.namespace).apply(
                    lambda ns: _scaled_object.trigger_query(
                        metric, namespace=ns, deployment=settings.app_name, gpus=settings.gpus
                    )
                )
            scaled_object = k8s.apiextensions.CustomResource(
                f"{name}-scaled-object",
                api_version=_scaled_object.SCALED_OBJECT_API_VERSION,
                kind="ScaledObject",
                metadata={"name": settings.app_name, "namespace": settings.namespace, "labels": labels},
                spec=_scaled_object.scaled_object_spec(
                    deployment=deployment.metadata.name,
                    min_replicas=settings.autoscaling.get("min_replicas", DEFAULT_MIN_REPLICAS),
                    max_replicas=settings.autoscaling["max_replicas"],
                    metric=metric,
                    target=settings.autoscaling["target"],
                    query=query,
                    prometheus_url=settings.autoscaling["prometheus_url"],
                    activation_threshold=settings.autoscaling.get("activation_threshold", DEFAULT_ACTIVATION_THRESHOLD),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The name is ours; through the URN the output waits for the object (custom resources' metadata is untyped).
            self.scaled_object_name = scaled_object.urn.apply(lambda _: settings.app_name)

        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        self.service_url = pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
            lambda parts: f"http://{parts[0]}.{parts[1]}.svc:{settings.service_port}"
        )
        self.register_outputs(
            {
                "deploymentName": self.deployment_name,
                "serviceName": self.service_name,
                "serviceUrl": self.service_url,
                "scaledObjectName": self.scaled_object_name,
            }
        )


def version_relabelings() -> list[dict[str, Any]]:
    """ServiceMonitor endpoint relabelings copying `SERIES_LABELS` from the pod onto its series.

    Kubernetes service discovery attaches every label of the pod behind an endpoint as
    `__meta_kubernetes_pod_label_<name>`, with characters Prometheus does not allow in label names turned into `_`
    (Prometheus `kubernetes_sd_config`; the operator sanitizes the same way, `sanitizeLabelName` in
    prometheus-operator v0.93 `pkg/prometheus/promcfg.go`). Explicit relabelings rather than `podTargetLabels`,
    which would name the labels `mlplatform_io_model_version`. The `(.+)` regex leaves a pod without the label
    untouched, so an unversioned server's series keep exactly the labels they had.
    """
    return [
        {
            "sourceLabels": [f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', pod_label)}"],
            "regex": "(.+)",
            "targetLabel": series_label,
            "replacement": "${1}",
            "action": "replace",
        }
        for pod_label, series_label in SERIES_LABELS.items()
    ]


@dataclass(frozen=True)
class _Settings:
    """The arguments of a `ModelDeployment` with their defaults (and the server preset's) filled in."""

    namespace: Any
    image: Any
    app_name: Any
    service_account: Any
    pod_labels: Any
    replicas: Any
    gpus: Any
    cpu: Any
    cpu_limit: Any
    memory: Any
    server: Any
    preset: Any
    port: Any
    metrics_port: Any
    service_port: Any
    metrics_path: Any
    readiness_path: Any
    liveness_path: Any
    startup_timeout: Any
    env: Any
    run_as_user: Any
    tmp_size: Any
    shm_size: Any
    service_monitor: Any
    gpu_quota: Any
    autoscaling: Any
    secrets: Any


def _settings(name: str, args: Mapping[str, Any]) -> _Settings:
    """`args` with every default applied, once for the checks and the resources alike."""
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
    server = args.get("server", DEFAULT_SERVER)
    # An unknown server is reported below; the generic preset stands in until then.
    preset = SERVER_PRESETS.get(server) if isinstance(server, str) else None
    preset = preset or SERVER_PRESETS[DEFAULT_SERVER]
    port = args.get("port", preset.port)
    # A server whose metrics share its HTTP port keeps sharing it when `port` is overridden.
    metrics_port = args.get("metrics_port", preset.metrics_port if preset.metrics_port != preset.port else port)
    service_port = args.get("service_port", DEFAULT_SERVICE_PORT)
    metrics_path = args.get("metrics_path", preset.metrics_path)
    readiness_path = args.get("readiness_path", preset.readiness_path)
    liveness_path = args.get("liveness_path", preset.liveness_path)
    startup_timeout = args.get("startup_timeout_seconds", DEFAULT_STARTUP_TIMEOUT_SECONDS)
    env = args.get("env", {})
    run_as_user = args.get("run_as_user", DEFAULT_RUN_AS_USER)
    tmp_size = args.get("tmp_size", DEFAULT_TMP_SIZE)
    shm_size = args.get("shm_size", preset.shm_size)
    service_monitor = args.get("service_monitor", DEFAULT_SERVICE_MONITOR)
    gpu_quota = args.get("namespace_gpu_quota", DEFAULT_NAMESPACE_GPU_QUOTA)
    autoscaling = args.get("autoscaling", DEFAULT_AUTOSCALING)
    secrets = args.get("secrets", [])
    return _Settings(
        namespace=namespace,
        image=image,
        app_name=app_name,
        service_account=service_account,
        pod_labels=pod_labels,
        replicas=replicas,
        gpus=gpus,
        cpu=cpu,
        cpu_limit=cpu_limit,
        memory=memory,
        server=server,
        preset=preset,
        port=port,
        metrics_port=metrics_port,
        service_port=service_port,
        metrics_path=metrics_path,
        readiness_path=readiness_path,
        liveness_path=liveness_path,
        startup_timeout=startup_timeout,
        env=env,
        run_as_user=run_as_user,
        tmp_size=tmp_size,
        shm_size=shm_size,
        service_monitor=service_monitor,
        gpu_quota=gpu_quota,
        autoscaling=autoscaling,
        secrets=secrets,
    )


def check_arguments(name: str, args: Mapping[str, Any]) -> Problems:
    """Every problem of the arguments of `ModelDeployment` `name`, with its property path (nothing is created).

    `ModelService` checks each version's arguments with it before creating anything.
    """
    settings = _settings(name, args)

    problems = Problems()
    check_known_arguments(problems, args, ModelDeploymentArgs)
    if settings.namespace is None:
        problems.add("namespace", "required: the serving namespace")
    elif isinstance(settings.namespace, str):
        check_object_name(problems, "namespace", settings.namespace)
    # An output (e.g. ModelImage.digest_ref) is known only at deploy time; the image policy checks it then.
    if not isinstance(settings.image, pulumi.Output) and (
        not isinstance(settings.image, str) or not IMAGE_BY_DIGEST.match(settings.image)
    ):
        problems.add(
            "image",
            f"{settings.image!r} is not pinned by digest; use <repository>@sha256:<64 hex> (tags can be moved to other images)",
        )
    check_object_name(problems, "appName", settings.app_name)
    if isinstance(settings.service_account, str):
        check_object_name(problems, "serviceAccountName", settings.service_account)
    if not isinstance(settings.pod_labels, pulumi.Output):
        check_string_map(problems, "podLabels", settings.pod_labels)
    check_int(problems, "replicas", settings.replicas, minimum=1, maximum=1000)
    check_int(problems, "gpus", settings.gpus, minimum=0, maximum=16)
    if settings.gpu_quota is not None:
        check_int(problems, "namespaceGpuQuota", settings.gpu_quota, minimum=0, maximum=1024)
        if settings.autoscaling is None:
            check_fits_quota(problems, replicas=settings.replicas, gpus=settings.gpus, quota=settings.gpu_quota)
    if settings.autoscaling is not None:
        if "replicas" in args:
            problems.add("replicas", "the autoscaler owns the replica count; set autoscaling.minReplicas instead")
        check_autoscaling(
            problems,
            settings.autoscaling,
            gpus=settings.gpus,
            quota=settings.gpu_quota,
            app_name=settings.app_name,
            service_monitor=settings.service_monitor,
        )
    cpu_request = check_quantity(problems, "cpu", settings.cpu)
    cpu_max = check_quantity(problems, "cpuLimit", settings.cpu_limit)
    if cpu_request is not None and cpu_max is not None and cpu_max < cpu_request:
        problems.add("cpuLimit", f"must be at least cpu ({settings.cpu})")
    check_quantity(problems, "memory", settings.memory)
    check_choice(problems, "server", settings.server, tuple(SERVER_PRESETS))
    check_int(problems, "port", settings.port, minimum=1024, maximum=65535)
    check_int(problems, "metricsPort", settings.metrics_port, minimum=1024, maximum=65535)
    check_int(problems, "servicePort", settings.service_port, minimum=1, maximum=65535)
    for path, value in (
        ("metricsPath", settings.metrics_path),
        ("readinessPath", settings.readiness_path),
        ("livenessPath", settings.liveness_path),
    ):
        if not isinstance(value, str) or not value.startswith("/"):
            problems.add(path, f"must be an absolute HTTP path (got {value!r})")
    check_int(problems, "startupTimeoutSeconds", settings.startup_timeout, minimum=PROBE_PERIOD_SECONDS, maximum=7200)
    check_int(problems, "runAsUser", settings.run_as_user, minimum=1)
    check_quantity(problems, "tmpSize", settings.tmp_size)
    check_quantity(problems, "shmSize", settings.shm_size)
    check_bool(problems, "serviceMonitor", settings.service_monitor)
    if not isinstance(settings.env, dict):
        problems.add("env", "must be a map of variable names to values")
    if (
        isinstance(settings.autoscaling, Mapping)
        and settings.autoscaling.get("query") is None
        and not settings.preset.metrics_contract
        and settings.autoscaling.get("metric", DEFAULT_METRIC) in ("concurrency", "latency")
    ):
        problems.add(
            "autoscaling.metric",
            f"the {settings.server} server exports its own metrics, not http_request_duration_seconds, which the "
            "built-in concurrency and latency queries read; use gpu_utilization, or give autoscaling.query "
            "over the server's own metrics",
        )
    check_secrets(problems, args.get("secrets", []), settings.env if isinstance(settings.env, dict) else {})
    return problems


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")


def check_secrets(problems: Problems, secrets: object, env: Mapping[str, object]) -> None:
    """Record every problem of `secrets` under `secrets[i].<field>`: names, env var and file name clashes."""
    if not isinstance(secrets, list):
        problems.add("secrets", "must be a list of {name, env, file}")
        return
    known = set(ModelSecretArgs.__annotations__)
    names: set[str] = set()
    variables: set[str] = set(env)
    files: set[str] = set()
    for index, secret in enumerate(secrets):
        path = f"secrets[{index}]"
        if not isinstance(secret, Mapping):
            problems.add(path, "must be a map {name, env, file}")
            continue
        for key in secret:
            if key not in known:
                problems.add(f"{path}.{key}", f"unknown argument; known: {', '.join(sorted(known))}")
        name = secret.get("name")
        if not isinstance(name, str) or not secrets_store.SECRET_NAME.match(name):
            problems.add(f"{path}.name", f"{name!r} is not a secret name of the namespace's store")
        elif name in names:
            problems.add(f"{path}.name", f"duplicate secret '{name}'")
        else:
            names.add(name)
        variable = secret.get("env")
        if variable is not None:
            if not isinstance(variable, str) or not _ENV_NAME.match(variable):
                problems.add(f"{path}.env", f"{variable!r} is not an environment variable name")
            elif variable in variables or variable == "HOME":
                problems.add(f"{path}.env", f"'{variable}' is already set (env or another secret)")
            else:
                variables.add(variable)
        if "file" not in secret and not (isinstance(name, str) and secrets_store.SECRET_NAME.match(name)):
            continue  # The file is named after the secret, whose own problem is recorded.
        file = secret.get("file", name)
        if not isinstance(file, str) or not _FILE_NAME.match(file) or file in (".", ".."):
            problems.add(f"{path}.file", f"{file!r} is not a file name (no '/')")
        elif file in files:
            problems.add(f"{path}.file", f"two secrets are mounted as '{file}'")
        else:
            files.add(file)


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


def check_autoscaling(
    problems: Problems, autoscaling: object, *, gpus: object, quota: object, app_name: object, service_monitor: object
) -> None:
    """Record every problem of `autoscaling`, under `autoscaling.<field>`: bounds, metric, the GPU quota at
    `max_replicas`, and scale to zero only where something can wake the Deployment."""
    if not isinstance(autoscaling, Mapping):
        problems.add("autoscaling", "must be a map (maxReplicas, target, prometheusUrl, ...)")
        return
    known = set(ModelAutoscalingArgs.__annotations__)
    for key in autoscaling:
        if key not in known:
            problems.add(f"autoscaling.{key}", f"unknown argument; known: {', '.join(sorted(known))}")
    maximum = autoscaling.get("max_replicas")
    minimum = autoscaling.get("min_replicas", DEFAULT_MIN_REPLICAS)
    metric = autoscaling.get("metric", DEFAULT_METRIC)
    target = autoscaling.get("target")
    query = autoscaling.get("query")
    url = autoscaling.get("prometheus_url")
    threshold = autoscaling.get("activation_threshold", DEFAULT_ACTIVATION_THRESHOLD)
    if maximum is None:
        problems.add("autoscaling.maxReplicas", "required: the most pods the autoscaler may run")
    else:
        check_int(problems, "autoscaling.maxReplicas", maximum, minimum=1, maximum=1000)
    check_int(problems, "autoscaling.minReplicas", minimum, minimum=0, maximum=1000)
    counts_known = all(isinstance(v, int) and not isinstance(v, bool) for v in (maximum, minimum))
    if counts_known and minimum > maximum:  # type: ignore[operator]
        problems.add("autoscaling.minReplicas", f"must be at most maxReplicas ({maximum})")
    check_choice(problems, "autoscaling.metric", metric, _scaled_object.METRICS)
    if not _is_number(target) or target <= 0:  # type: ignore[operator]
        problems.add("autoscaling.target", f"required: a positive number, the per-pod value to aim at (got {target!r})")
    if not _is_number(threshold) or threshold < 0:  # type: ignore[operator]
        problems.add("autoscaling.activationThreshold", f"must be a number >= 0 (got {threshold!r})")
    if query is not None and not isinstance(query, pulumi.Output) and not (isinstance(query, str) and query.strip()):
        problems.add("autoscaling.query", "must be a PromQL query")
    if url is None:
        problems.add("autoscaling.prometheusUrl", "required: Prometheus's in-cluster URL (Monitoring.prometheus_url)")
    elif not isinstance(url, pulumi.Output) and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        problems.add("autoscaling.prometheusUrl", f"must be an http(s) URL (got {url!r})")
    if minimum == 0 and query is None:
        problems.add(
            "autoscaling.minReplicas",
            "0 needs autoscaling.query over a metric that exists while no pod runs (the ingress controller's "
            "request rate for this model, a queue's length) with autoscaling.activationThreshold: the model "
            f"server's own {metric} metrics vanish with its last pod, so nothing would ever wake it; set "
            "autoscaling.query, or minReplicas to 1",
        )
    if query is None and metric == "gpu_utilization" and gpus == 0:
        problems.add("autoscaling.metric", "gpu_utilization needs gpus > 0 (a CPU model has no GPU to measure)")
    if query is None and metric in ("concurrency", "latency") and service_monitor is False:
        problems.add(
            "autoscaling.metric",
            f"{metric} is read from the server's metrics, which reach Prometheus through its ServiceMonitor; "
            "set serviceMonitor to true, or give autoscaling.query",
        )
    if query is None and isinstance(app_name, str) and len(app_name) > _scaled_object.MAX_DEPLOYMENT_NAME:
        problems.add(
            "appName",
            f"at most {_scaled_object.MAX_DEPLOYMENT_NAME} characters with autoscaling: longer names are cut in "
            "the pod names the trigger query selects",
        )
    if not (isinstance(gpus, int) and not isinstance(gpus, bool) and gpus > 0):
        return
    if quota is None:
        problems.add(
            "namespaceGpuQuota",
            "required with GPU autoscaling: without it the autoscaler could ask for more GPUs than the namespace's "
            "quota admits, leaving pods (and rollouts) stuck; pass the serving namespace's quota_gpus",
        )
    elif (
        isinstance(quota, int) and isinstance(maximum, int) and not isinstance(maximum, bool) and maximum * gpus > quota
    ):
        problems.add(
            "autoscaling.maxReplicas",
            f"maxReplicas × gpus = {maximum} × {gpus} = {maximum * gpus} GPUs exceed namespaceGpuQuota ({quota}): "
            f"the quota admits at most {quota // gpus} pod(s); lower maxReplicas or gpus, or raise the quota",
        )


def refuse_secrets(component: str, env: Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Input[str]]:
    """`env` with every Output value guarded: a Pulumi secret fails the deployment instead of being written.

    An environment variable's `value` is plain text in the Deployment (readable with `get deployments`, in
    etcd and in every manifest dump), whatever Pulumi's state encrypts. Whether an Output is a secret is only
    known once it resolves, so the refusal happens then, before the Deployment is sent, naming `env.<KEY>`.
    """
    guarded: dict[str, pulumi.Input[str]] = {}
    for key, value in env.items():
        if not isinstance(value, pulumi.Output):
            guarded[key] = value
            continue

        def check(parts: list[Any], key: str = key) -> Any:
            secret, resolved = parts
            if secret:
                raise pulumi.InputPropertiesError(
                    f"invalid arguments for ModelDeployment '{component}': env.{key} is a Pulumi secret, and an "
                    "environment variable is plain text in the Deployment; pass it as a secret environment "
                    "variable from the namespace's secret store (the cloud's vault through the Secrets Store CSI "
                    "driver) instead of env",
                    errors=[{"property_path": f"env.{key}", "reason": "a secret would be written in plain text"}],
                )
            return resolved

        guarded[key] = pulumi.Output.all(pulumi.Output.from_input(value.is_secret()), value).apply(check)
    return guarded


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    metrics_port: int | None = None,
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
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        + (
            [{"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"}]
            if metrics_port is not None and metrics_port != port
            else []
        ),
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
