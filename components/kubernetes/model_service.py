"""`ModelService`: a model's versions (image digest + model artifact) behind one route, with canary and rollback."""

import re
from collections.abc import Mapping
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common.validation import Problems, require_args_mapping
from components.kubernetes import model_deployment
from components.kubernetes._checks import camel, check_int, check_known_arguments, check_object_name
from components.kubernetes.model_deployment import ModelAutoscalingArgs, ModelDeployment, ModelSecretArgs

MODEL_LABEL = model_deployment.MODEL_LABEL
"""Pod label naming the model; the stable Service selects every version's pods by it."""

VERSION_LABEL = model_deployment.MODEL_VERSION_LABEL
"""Pod label naming the model version a pod serves (the ServiceMonitor copies it onto every series as
`model_version`; the per-version dashboards and alerts split by it)."""

HTTP_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1"
"""Gateway API's HTTPRoute, GA (v1) since Gateway API v1.0; the fields used here are in its standard channel."""

DEFAULT_LISTENER = "https"
DEFAULT_CANARY = None
"""No canary: the stable version takes all traffic."""
DEFAULT_GATEWAY = None
"""No route: the model is reached in the cluster through its Service only."""

MAX_WEIGHT = 100
"""Weights are percentages of the model's requests through the route."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_MAX_NAME = 63

_PASSED_THROUGH = (
    "service_account_name",
    "replicas",
    "gpus",
    "cpu",
    "cpu_limit",
    "memory",
    "server",
    "port",
    "metrics_port",
    "service_port",
    "metrics_path",
    "readiness_path",
    "liveness_path",
    "startup_timeout_seconds",
    "env",
    "command",
    "container_args",
    "shm_size",
    "service_monitor",
    "secrets",
)
"""Arguments every version's `ModelDeployment` receives as given."""


class ModelVersionArgs(TypedDict, total=False):
    """One version of a model: an image pushed once (by digest) and, optionally, a model artifact version."""

    name: Required[str]
    """Version name (DNS-1123 label, e.g. `v7`): the Deployment `<model>-<name>` and the pods' label
    `mlplatform.io/model-version`. Required."""

    image: Required[pulumi.Input[str]]
    """Container image pinned by digest, `<repository>@sha256:<64 hex>`. Keep the digests of earlier versions
    here: registries are immutable, so a rollback points at a digest pushed before, never at a rebuild.
    Required."""

    model_version: str
    """Version of the model artifact in the namespace's models bucket/container (a key prefix such as
    `2026.11.1`), given to the pods as `MODEL_VERSION` and, with `model_store_uri`, `MODEL_URI`. The server
    reads it with the namespace's identity. Defaults to none (the model is in the image)."""


class ModelCanaryArgs(TypedDict, total=False):
    """The version under test and its share of the model's requests."""

    version: Required[str]
    """Name of the candidate version (one of `versions`, not `stable`). Required."""

    weight: Required[int]
    """Percent of the route's requests sent to the candidate (1-99); the stable version gets the rest.
    Required."""

    replicas: int
    """Pods of the candidate: its replica count, or with `autoscaling` its `maxReplicas`. Defaults to the
    stable version's."""


class ModelGatewayArgs(TypedDict, total=False):
    """The Gateway API listener the model's HTTPRoute attaches to."""

    name: Required[str]
    """Name of the Gateway (the platform's ingress layer). Required."""

    namespace: Required[str]
    """Namespace of the Gateway; it must allow routes from the serving namespace. Required."""

    listener: str
    """Name of the Gateway's listener (`sectionName`). Defaults to https."""


class ModelServiceArgs(TypedDict, total=False):
    """Arguments of `ModelService`."""

    namespace: Required[pulumi.Input[str]]
    """The serving namespace (`ModelServingNamespace.namespace`). Required."""

    model: Required[str]
    """Model name (DNS-1123 label): the stable Service, the HTTPRoute and the prefix of every version's
    Deployment. Required."""

    versions: Required[list[ModelVersionArgs]]
    """The model's known versions, newest last: a catalogue of pushed digests. Only `stable` and
    `canary.version` run; the others cost nothing and are there to roll back to. Required."""

    stable: Required[str]
    """The version serving production traffic. Promote a canary by setting this to it (and dropping
    `canary`); roll back by setting it to an earlier version. Required."""

    canary: ModelCanaryArgs
    """A candidate version receiving `weight` percent of the route's requests next to `stable`. Defaults to
    none (the stable version takes every request)."""

    gateway: ModelGatewayArgs
    """The Gateway listener to expose the model on through an HTTPRoute splitting requests by weight.
    Defaults to none (no route: reached in the cluster through the Service)."""

    hostname: pulumi.Input[str]
    """Host name of the model on the gateway. Defaults to `<model>.<namespace>.<domain>` with `domain`;
    one of them is required with `gateway`."""

    domain: str
    """DNS domain of the gateway's listener (e.g. `models.internal.example.com`), from which `hostname` is
    derived. Defaults to none (then `hostname` is required with `gateway`)."""

    model_store_uri: pulumi.Input[str]
    """URI of the namespace's models prefix, e.g. `s3://<modelsBucketName>/<namespace>`; a version's
    `MODEL_URI` is `<model_store_uri>/<model_version>`. Defaults to none (no MODEL_URI)."""

    pod_labels: pulumi.Input[dict[str, str]]
    """Extra pod labels; pass `ModelServingNamespace.pod_labels`. Defaults to none."""

    service_account_name: pulumi.Input[str]
    """ServiceAccount the pods run as (the namespace's, bound to its cloud identity). Defaults to
    model-server."""

    replicas: int
    """Pods of each running version without `autoscaling`. Defaults to 1."""

    gpus: int
    """GPUs per pod. Defaults to 1."""

    namespace_gpu_quota: int
    """GPUs of the namespace's quota for this model. Every running version's most pods × `gpus` together
    must fit (checked before anything is created), and each version's rollout surges only into what the
    others leave. Required with GPU autoscaling; defaults to unknown otherwise."""

    cpu: str
    """CPU request per pod. Defaults to 2."""

    cpu_limit: str
    """CPU limit per pod. Defaults to 4."""

    memory: str
    """Memory request and limit per pod. Defaults to 8Gi."""

    server: str
    """Model server preset of every version (`generic`, `triton`, `vllm`; see `ModelDeployment.server`).
    Defaults to generic."""

    port: int
    """Container port of HTTP inference and probes. Defaults to the server preset's."""

    metrics_port: int
    """Container port of the metrics. Defaults to the server preset's."""

    service_port: int
    """Port of the Services and of the route's backends. Defaults to 80."""

    metrics_path: str
    """Path of the Prometheus metrics. Defaults to the server preset's."""

    readiness_path: str
    """Readiness probe path. Defaults to the server preset's."""

    liveness_path: str
    """Liveness and startup probe path. Defaults to the server preset's."""

    startup_timeout_seconds: int
    """How long a server may take to load its model. Defaults to 600."""

    env: dict[str, pulumi.Input[str]]
    """Environment variables of every version's server (plain text; Pulumi secrets are refused).
    `MODEL_VERSION` and `MODEL_URI` are set per version. Defaults to none."""

    command: list[str]
    """Container entrypoint override. Defaults to the image's."""

    container_args: list[str]
    """Container arguments. Defaults to the image's."""

    shm_size: str
    """Size of /dev/shm. Defaults to the server preset's."""

    service_monitor: bool
    """Create a ServiceMonitor per version. Defaults to true."""

    autoscaling: ModelAutoscalingArgs
    """Autoscaling of every running version (see `ModelDeployment.autoscaling`); the canary's
    `maxReplicas` is `canary.replicas` when given. Defaults to off."""

    secrets: list[ModelSecretArgs]
    """Secrets of the namespace's store every version's server reads, as files or env var references (see
    `ModelDeployment.secrets`). Defaults to none."""


class ModelService(pulumi.ComponentResource):
    """A versioned model behind one stable name: the stable version and, during a rollout, a canary.

    Creates:
    - one `ModelDeployment` per running version (`stable`, `canary.version`), named `<model>-<version>`,
      its pods labelled `mlplatform.io/model` and `mlplatform.io/model-version`, given `MODEL_VERSION` and
      `MODEL_URI` of the version's artifact;
    - a ClusterIP Service `<model>` selecting every running version's pods, for in-cluster callers (it
      spreads requests by pod count, not by weight);
    - with `gateway`, an HTTPRoute (`gateway.networking.k8s.io/v1`) `<model>` on the gateway's listener for
      the model's host name, sending `100 - canary.weight` percent of requests to the stable version's
      Service and `canary.weight` to the candidate's.

    Promotion and rollback are one-line changes of `stable`: each version's child keeps its name (and URN)
    whatever its role, so a promoted canary is updated in place, and a version that no longer runs is
    deleted. No image is built: every version names a digest already pushed.

    Security defaults: those of `ModelDeployment` (digest-pinned images, Pod Security `restricted`, no API
    token, the namespace's identity); ClusterIP Services only, exposure through the platform's gateway.
    """

    url: pulumi.Output[str]
    """`https://<hostname>` with a gateway, else the in-cluster URL of the stable Service."""

    route_name: pulumi.Output[str]
    """Name of the HTTPRoute (empty without a gateway)."""

    service_name: pulumi.Output[str]
    """Name of the Service selecting every running version."""

    versions: pulumi.Output[dict[str, str]]
    """Running version name -> its image (digest reference)."""

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = check_arguments(args)
        problems.raise_if_any(f"ModelService '{name}'")

        super().__init__("mlplatform:index:ModelService", name, {}, opts)

        namespace = args["namespace"]
        model = args["model"]
        catalogue = {version["name"]: version for version in args["versions"]}
        canary = args.get("canary", DEFAULT_CANARY)
        weights = traffic_weights(args["stable"], canary)
        service_port = args.get("service_port", model_deployment.DEFAULT_SERVICE_PORT)
        gpus = args.get("gpus", model_deployment.DEFAULT_GPUS)
        quota = args.get("namespace_gpu_quota", model_deployment.DEFAULT_NAMESPACE_GPU_QUOTA)
        most = most_replicas(args)

        deployments: dict[str, ModelDeployment] = {}
        for version_name in weights:
            others = sum(count for other, count in most.items() if other != version_name)
            deployment_args = version_deployment_args(args, catalogue[version_name], most[version_name])
            if quota is not None:
                # What the other running versions may use at their most is not this version's to surge into.
                deployment_args["namespace_gpu_quota"] = quota - others * gpus
            # The child's name depends on the version only, never on its role: promotion updates it in place.
            deployments[version_name] = ModelDeployment(
                f"{name}-{version_name}", deployment_args, opts=pulumi.ResourceOptions(parent=self)
            )

        labels = {
            "app.kubernetes.io/name": model,
            "app.kubernetes.io/component": "model-service",
            "app.kubernetes.io/part-of": "mlplatform",
        }
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": model, "namespace": namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": {MODEL_LABEL: model},
                "ports": [{"name": "http", "port": service_port, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.service_name = service.metadata.name
        service_url = pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
            lambda parts: f"http://{parts[0]}.{parts[1]}.svc:{service_port}"
        )

        gateway = args.get("gateway", DEFAULT_GATEWAY)
        self.route_name = pulumi.Output.from_input("")
        self.url = service_url
        if gateway is not None:
            hostname = args.get("hostname")
            if hostname is None:
                hostname = pulumi.Output.concat(model, ".", namespace, ".", args["domain"])
            route = k8s.apiextensions.CustomResource(
                f"{name}-route",
                api_version=HTTP_ROUTE_API_VERSION,
                kind="HTTPRoute",
                metadata={"name": model, "namespace": namespace, "labels": labels},
                spec=http_route_spec(
                    gateway=gateway,
                    hostname=hostname,
                    backends={version: deployments[version].service_name for version in weights},
                    weights=weights,
                    service_port=service_port,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The name is ours; through the URN the output waits for the route (custom resources are untyped).
            self.route_name = route.urn.apply(lambda _: model)
            self.url = pulumi.Output.concat("https://", hostname)

        self.versions = pulumi.Output.all(
            **{version: pulumi.Output.from_input(catalogue[version]["image"]) for version in weights}
        )
        self.register_outputs(
            {
                "url": self.url,
                "routeName": self.route_name,
                "serviceName": self.service_name,
                "versions": self.versions,
            }
        )


def traffic_weights(stable: str, canary: Mapping[str, Any] | None) -> dict[str, int]:
    """Running version -> percent of the route's requests: the stable version takes what the canary leaves."""
    if canary is None:
        return {stable: MAX_WEIGHT}
    return {stable: MAX_WEIGHT - int(canary["weight"]), str(canary["version"]): int(canary["weight"])}


def most_replicas(args: Mapping[str, Any]) -> dict[str, Any]:
    """Running version -> the most pods it can have (replicas, or autoscaling's maxReplicas; the canary's own)."""
    autoscaling = args.get("autoscaling")
    if isinstance(autoscaling, Mapping):
        stable_most = autoscaling.get("max_replicas")
    else:
        stable_most = args.get("replicas", model_deployment.DEFAULT_REPLICAS)
    canary = args.get("canary")
    most = {args["stable"]: stable_most}
    if canary is not None:
        most[canary["version"]] = canary.get("replicas", stable_most)
    return most


def version_deployment_args(
    args: Mapping[str, Any], version: Mapping[str, Any], replicas: int
) -> model_deployment.ModelDeploymentArgs:
    """The `ModelDeployment` arguments of one running version (without its share of the GPU quota)."""
    model = args["model"]
    version_name = version["name"]
    deployment: dict[str, Any] = {key: args[key] for key in _PASSED_THROUGH if key in args}
    deployment["namespace"] = args["namespace"]
    deployment["image"] = version["image"]
    deployment["app_name"] = f"{model}-{version_name}"
    ours = {MODEL_LABEL: model, VERSION_LABEL: version_name}
    deployment["pod_labels"] = pulumi.Output.from_input(args.get("pod_labels", {})).apply(
        lambda extra: {**(extra or {}), **ours}
    )
    env = dict(args.get("env", {}))
    artifact = version.get("model_version")
    if artifact is not None:
        env["MODEL_VERSION"] = artifact
        if args.get("model_store_uri") is not None:
            env["MODEL_URI"] = pulumi.Output.concat(args["model_store_uri"], "/", artifact)
    if env:
        deployment["env"] = env
    autoscaling = args.get("autoscaling")
    if isinstance(autoscaling, Mapping) and isinstance(replicas, int):
        minimum = autoscaling.get("min_replicas", model_deployment.DEFAULT_MIN_REPLICAS)
        deployment["autoscaling"] = {**autoscaling, "max_replicas": replicas, "min_replicas": min(minimum, replicas)}
    elif autoscaling is not None:
        deployment["autoscaling"] = autoscaling  # Its own check names what is wrong with it.
    else:
        deployment["replicas"] = replicas
    return deployment  # type: ignore[return-value]


def check_arguments(args: Mapping[str, Any]) -> Problems:
    """Every problem of `ModelService`'s arguments, each version's `ModelDeployment` arguments included."""
    problems = Problems()
    check_known_arguments(problems, args, ModelServiceArgs)
    namespace = args.get("namespace")
    model = args.get("model")
    versions = args.get("versions")
    stable = args.get("stable")
    canary = args.get("canary", DEFAULT_CANARY)
    gateway = args.get("gateway", DEFAULT_GATEWAY)
    if namespace is None:
        problems.add("namespace", "required: the serving namespace")
    if model is None:
        problems.add("model", "required: the model's name")
    else:
        check_object_name(problems, "model", model)

    names: list[str] = []
    if not isinstance(versions, list) or not versions:
        problems.add("versions", "required: a list of versions ({name, image, modelVersion})")
        versions = []
    for index, version in enumerate(versions):
        path = f"versions[{index}]"
        if not isinstance(version, Mapping):
            problems.add(path, "must be a map (name, image, modelVersion)")
            continue
        known = set(ModelVersionArgs.__annotations__)
        for key in version:
            if key not in known:
                problems.add(f"{path}.{camel(key)}", f"unknown argument; known: {', '.join(sorted(known))}")
        version_name = version.get("name")
        if not isinstance(version_name, str) or not _DNS_LABEL.match(version_name):
            problems.add(f"{path}.name", f"must be a DNS-1123 label such as v7 (got {version_name!r})")
        elif version_name in names:
            problems.add(f"{path}.name", f"{version_name} is listed twice; a version is one digest")
        else:
            names.append(version_name)
            if isinstance(model, str) and len(f"{model}-{version_name}") > _MAX_NAME:
                problems.add(f"{path}.name", f"{model}-{version_name} is longer than {_MAX_NAME} characters")
        if version.get("image") is None:
            problems.add(f"{path}.image", "required: the version's image by digest (repository@sha256:...)")
        artifact = version.get("model_version")
        if artifact is not None and not (isinstance(artifact, str) and artifact.strip("/") == artifact != ""):
            problems.add(
                f"{path}.modelVersion",
                f"must be a key prefix such as 2026.11.1, no leading or trailing / (got {artifact!r})",
            )

    if stable is None:
        problems.add("stable", "required: the name of the version serving production traffic")
    elif names and stable not in names:
        problems.add("stable", f"{stable!r} is not one of versions ({', '.join(names)})")
    if canary is not None:
        check_canary(problems, canary, stable=stable, names=names)
    if gateway is not None:
        check_gateway(problems, gateway, args)
    elif args.get("hostname") is not None or args.get("domain") is not None:
        problems.add("gateway", "required with hostname or domain: the listener the model is exposed on")
    if problems:
        return problems

    check_quota(problems, args)
    # Every running version's ModelDeployment, checked before anything is created; its paths are ours.
    most = most_replicas(args)
    catalogue = {version["name"]: (index, version) for index, version in enumerate(versions)}
    seen: set[tuple[str, str]] = set()
    for version_name, replicas in most.items():
        index, version = catalogue[version_name]
        deployment_args = version_deployment_args(args, version, replicas)
        if args.get("namespace_gpu_quota") is not None:
            deployment_args["namespace_gpu_quota"] = args["namespace_gpu_quota"]
        for path, reason in model_deployment.check_arguments(f"{model}-{version_name}", deployment_args).items:
            path = _our_path(path, index, version_name, canary)
            # The quota is judged over every running version together (check_quota), not one at a time.
            if (path, reason) not in seen and "exceed namespaceGpuQuota" not in reason:
                seen.add((path, reason))
                problems.add(path, reason)
    return problems


def _our_path(path: str, index: int, version: str, canary: Mapping[str, Any] | None) -> str:
    """The ModelService path of a version's ModelDeployment problem."""
    if path == "image":
        return f"versions[{index}].image"
    if path == "appName":
        return f"versions[{index}].name"
    if path in ("replicas", "autoscaling.maxReplicas") and canary is not None and canary["version"] == version:
        return "canary.replicas"
    return path


def check_canary(problems: Problems, canary: object, *, stable: object, names: list[str]) -> None:
    """Record every problem of `canary`: a listed version other than the stable one, a weight of 1-99."""
    if not isinstance(canary, Mapping):
        problems.add("canary", "must be a map (version, weight, replicas)")
        return
    known = set(ModelCanaryArgs.__annotations__)
    for key in canary:
        if key not in known:
            problems.add(f"canary.{camel(key)}", f"unknown argument; known: {', '.join(sorted(known))}")
    version = canary.get("version")
    if version is None:
        problems.add("canary.version", "required: the candidate version's name")
    elif version == stable:
        problems.add("canary.version", f"{version!r} is the stable version; a canary is another version")
    elif names and version not in names:
        problems.add("canary.version", f"{version!r} is not one of versions ({', '.join(names)})")
    weight = canary.get("weight")
    if weight is None:
        problems.add("canary.weight", "required: the candidate's percent of requests (1-99)")
    else:
        check_int(problems, "canary.weight", weight, minimum=1, maximum=MAX_WEIGHT - 1)
    if "replicas" in canary:
        check_int(problems, "canary.replicas", canary["replicas"], minimum=1, maximum=1000)


def check_gateway(problems: Problems, gateway: object, args: Mapping[str, Any]) -> None:
    """Record every problem of `gateway` and of the host name the route serves."""
    if not isinstance(gateway, Mapping):
        problems.add("gateway", "must be a map (name, namespace, listener)")
        return
    known = set(ModelGatewayArgs.__annotations__)
    for key in gateway:
        if key not in known:
            problems.add(f"gateway.{camel(key)}", f"unknown argument; known: {', '.join(sorted(known))}")
    for key in ("name", "namespace"):
        if gateway.get(key) is None:
            problems.add(f"gateway.{key}", f"required: the Gateway's {key}")
        else:
            check_object_name(problems, f"gateway.{key}", gateway[key])
    listener = gateway.get("listener", DEFAULT_LISTENER)
    if not isinstance(listener, str) or not _DNS_LABEL.match(listener):
        problems.add("gateway.listener", f"must be the listener's name, a DNS-1123 label (got {listener!r})")
    hostname = args.get("hostname")
    domain = args.get("domain")
    if hostname is None and domain is None:
        problems.add("hostname", "required with gateway (or domain, to derive <model>.<namespace>.<domain>)")
    if hostname is not None and domain is not None:
        problems.add("domain", "give hostname or domain, not both")
    for path, value in (("hostname", hostname), ("domain", domain)):
        if isinstance(value, str) and (len(value) > 253 or not _HOSTNAME.match(value)):
            problems.add(path, f"must be a lower-case DNS name (got {value!r})")


def check_quota(problems: Problems, args: Mapping[str, Any]) -> None:
    """Record running versions that together need more GPUs than `namespace_gpu_quota` at their most pods."""
    quota = args.get("namespace_gpu_quota")
    gpus = args.get("gpus", model_deployment.DEFAULT_GPUS)
    if not isinstance(quota, int) or not isinstance(gpus, int) or isinstance(gpus, bool) or gpus <= 0:
        return
    most = most_replicas(args)
    if not all(isinstance(count, int) and not isinstance(count, bool) for count in most.values()):
        return  # The counts' own checks name the wrong type.
    needed = sum(most.values()) * gpus
    if needed > quota:
        terms = " + ".join(f"{count} ({version})" for version, count in most.items())
        path = (
            "canary.replicas"
            if len(most) > 1
            else ("autoscaling.maxReplicas" if args.get("autoscaling") else "replicas")
        )
        problems.add(
            path,
            f"the running versions' most pods × gpus = ({terms}) × {gpus} = {needed} GPUs exceed namespaceGpuQuota "
            f"({quota}): the pods beyond it are never admitted; lower canary.replicas, replicas or "
            "autoscaling.maxReplicas, or raise the namespace's quota",
        )


def http_route_spec(
    *,
    gateway: Mapping[str, Any],
    hostname: pulumi.Input[str],
    backends: Mapping[str, pulumi.Input[str]],
    weights: Mapping[str, int],
    service_port: int,
) -> dict[str, Any]:
    """The HTTPRoute's spec: attached to the gateway's listener for `hostname`, requests split by weight.

    Args:
        gateway: the Gateway's name, namespace and listener.
        hostname: the model's host name.
        backends: running version -> the name of its Service.
        weights: running version -> percent of requests.
        service_port: the Services' port (a Service backend needs one, Gateway API's CEL rule).
    """
    return {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "namespace": gateway["namespace"],
                "name": gateway["name"],
                "sectionName": gateway.get("listener", DEFAULT_LISTENER),
            }
        ],
        "hostnames": [hostname],
        "rules": [
            {
                "backendRefs": [
                    {
                        "group": "",
                        "kind": "Service",
                        "name": backends[version],
                        "port": service_port,
                        "weight": weight,
                    }
                    for version, weight in weights.items()
                ]
            }
        ],
    }
