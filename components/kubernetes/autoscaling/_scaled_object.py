"""Pure builders of a model server's KEDA ScaledObject: the Prometheus trigger queries and the object's spec.

The queries read the serving metrics contract (`ModelDeployment`'s metrics, the SLO rules in `_alerts.py`) and
DCGM's GPU utilisation, and select exactly one Deployment's pods in one namespace:
- `namespace` is the pod's namespace on both sources: the Prometheus operator sets it on every ServiceMonitor
  target, and DCGM's own `namespace`/`pod`/`container` labels (the pod using the GPU) are kept unprefixed by
  `_values.DCGM_RELABELINGS`;
- `pod` matches `<deployment>-<pod-template-hash>-<suffix>`, the names a Deployment's ReplicaSets give their
  pods. PromQL regexes are anchored and neither segment contains `-`, so a Deployment named `<deployment>-x`
  (pods `<deployment>-x-<hash>-<suffix>`) never matches.
"""

from typing import Any

SCALED_OBJECT_API_VERSION = "keda.sh/v1alpha1"

METRICS = ("concurrency", "latency", "gpu_utilization")
"""What a model server can scale on without a custom query."""

METRIC_TYPES = {"concurrency": "AverageValue", "latency": "Value", "gpu_utilization": "AverageValue"}
"""How the HPA compares each metric with the target. `AverageValue`: the query returns the sum over the pods and
the HPA divides by the replicas (per-pod target); `Value`: the query returns one value for the whole Deployment
(a p95 latency cannot be summed), and the HPA scales replicas by value / target."""

POD_SUFFIX = "[a-z0-9]+-[a-z0-9]+"
"""`<pod-template-hash>-<random suffix>` of a Deployment's pod names."""

MAX_DEPLOYMENT_NAME = 46
"""Longest Deployment name whose pods keep the full `<name>-<hash>-<suffix>` form: the API server cuts a
generated name's prefix (`<name>-<hash up to 10>-`) to 58 characters before the 5 random ones."""

CONTAINER = "model-server"
"""The model server container's name (`ModelDeployment`), the `container` label DCGM gives its GPUs."""

WINDOW = "2m"
"""Rate window of the trigger queries: four 30 s scrapes of the ServiceMonitor, smooth enough not to flap."""

POLLING_INTERVAL_SECONDS = 15
"""How often KEDA evaluates the trigger (and the HPA reads it through KEDA's metrics API)."""

COOLDOWN_SECONDS = 300
"""How long the trigger must stay inactive before KEDA scales from one replica to zero."""

SCALE_DOWN_STABILIZATION_SECONDS = 300
"""The HPA acts on the highest recommendation of this window when scaling down: a GPU pod that loads a model for
minutes is not removed in a momentary lull."""


def pod_selector(namespace: str, deployment: str, *, container: bool = False) -> str:
    """The PromQL label matchers of `deployment`'s pods in `namespace` (and of its server container)."""
    matchers = [f'namespace="{namespace}"', f'pod=~"{deployment}-{POD_SUFFIX}"']
    if container:
        matchers.append(f'container="{CONTAINER}"')
    return ",".join(matchers)


def trigger_query(metric: str, *, namespace: str, deployment: str, gpus: int) -> str:
    """The Prometheus query of a built-in metric, for `deployment`'s pods in `namespace`.

    - `concurrency`: requests in flight, summed over the pods. By Little's law the mean number of requests in
      progress is the rate of request-seconds, `rate(http_request_duration_seconds_sum)`: every server of the
      metrics contract exports it, none needs an in-flight gauge.
    - `latency`: the p95 of `http_request_duration_seconds` over the Deployment, in seconds; 0 without
      traffic (a quantile of no requests is NaN, which would stall the HPA).
    - `gpu_utilization`: DCGM's `DCGM_FI_DEV_GPU_UTIL` (percent) of the pods' GPUs, summed over the pods as
      each pod's mean over its `gpus` GPUs.
    """
    selector = pod_selector(namespace, deployment)
    if metric == "concurrency":
        return f"sum(rate(http_request_duration_seconds_sum{{{selector}}}[{WINDOW}]))"
    if metric == "latency":
        return (
            f"(histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}"
            f"[{WINDOW}]))) > 0) or vector(0)"
        )
    if metric == "gpu_utilization":
        gpu_selector = pod_selector(namespace, deployment, container=True)
        return f"sum(avg_over_time(DCGM_FI_DEV_GPU_UTIL{{{gpu_selector}}}[{WINDOW}])) / {gpus}"
    raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")


def number(value: float) -> str:
    """A KEDA metadata number (metadata values are strings): `2`, `0.25`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def scaled_object_spec(
    *,
    deployment: Any,
    min_replicas: int,
    max_replicas: int,
    metric: str,
    target: float,
    query: Any,
    prometheus_url: Any,
    activation_threshold: float,
) -> dict[str, Any]:
    """The ScaledObject's spec: one Prometheus trigger scaling `deployment` between the bounds.

    Args:
        deployment: the Deployment's name (an output carries the dependency).
        min_replicas: the floor; 0 lets KEDA scale to zero while the trigger is at or below
            `activation_threshold` for `COOLDOWN_SECONDS`, and wake the Deployment when it rises above.
        max_replicas: the ceiling (the caller has checked it against the GPU quota).
        metric: one of `METRICS`; chooses the metric type.
        target: the per-pod value (`AverageValue`) or the Deployment's value (`Value`) the HPA aims at.
        query: the PromQL query (a string or an output).
        prometheus_url: Prometheus's in-cluster URL (`Monitoring.prometheus_url`).
        activation_threshold: the value above which a Deployment at zero is woken up.
    """
    metadata: dict[str, Any] = {"serverAddress": prometheus_url, "query": query, "threshold": number(target)}
    if min_replicas == 0:
        metadata["activationThreshold"] = number(activation_threshold)
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": min_replicas,
        "maxReplicaCount": max_replicas,
        "pollingInterval": POLLING_INTERVAL_SECONDS,
        "cooldownPeriod": COOLDOWN_SECONDS,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # At most one pod a minute: a GPU pod removed too eagerly costs minutes of model loading.
                    "scaleDown": {
                        "stabilizationWindowSeconds": SCALE_DOWN_STABILIZATION_SECONDS,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    }
                }
            }
        },
        "triggers": [{"type": "prometheus", "metricType": METRIC_TYPES[metric], "metadata": metadata}],
    }
