"""ModelDeployment.autoscaling: a KEDA ScaledObject that never asks for more GPUs than the namespace's quota."""

from __future__ import annotations

import itertools
import re

import pulumi
import pytest

from components._common.validation import Problems
from components.kubernetes import ModelDeployment
from components.kubernetes.autoscaling import _scaled_object
from components.kubernetes.model_deployment import check_autoscaling, rolling_update
from tests.components.kubernetes.helpers import metric_names, objects_of_kind, run_with_provider
from tests.components.kubernetes.layer import DIGEST_IMAGE

PROMETHEUS = "http://monitoring-prometheus.monitoring.svc:9090"
INGRESS_QUERY = 'sum(rate(nginx_ingress_controller_requests{exported_namespace="fraud",exported_service="fraud"}[2m]))'

SCALED_OBJECT_FIELDS = {
    "advanced",
    "cooldownPeriod",
    "fallback",
    "idleReplicaCount",
    "initialCooldownPeriod",
    "maxReplicaCount",
    "minReplicaCount",
    "pollingInterval",
    "scaleTargetRef",
    "triggers",
}
"""`spec` properties of the ScaledObject CRD (kedacore/charts v2.20.2 keda/templates/crds/crd-scaledobjects.yaml)."""
TRIGGER_FIELDS = {"authenticationRef", "metadata", "metricType", "name", "type", "useCachedMetrics"}
"""`spec.triggers[]` properties of that CRD; `metadata` is a map of strings."""
HPA_CONFIG_FIELDS = {"behavior", "name"}
"""`spec.advanced.horizontalPodAutoscalerConfig` properties of that CRD."""


def autoscaling(**extra) -> dict:
    return {"max_replicas": 2, "target": 4, "prometheus_url": PROMETHEUS, **extra}


def build(run, **extra):
    arguments = {"namespace": "fraud", "image": DIGEST_IMAGE, "namespace_gpu_quota": 4, **extra}
    return run_with_provider(run, lambda opts: ModelDeployment("fraud-model", arguments, opts=opts))


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def refused(run, recorder, **extra) -> dict[str, str]:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, **extra)
    assert not recorder.registrations or not recorder.by_type("kubernetes:apps/v1:Deployment"), (
        "nothing is created when the arguments are refused"
    )
    return errors_of(raised)


def scaled_object(recorder) -> dict:
    (found,) = objects_of_kind(recorder, "ScaledObject")
    return found


def test_an_autoscaled_model_gets_a_scaled_object_on_its_deployment_within_the_gpu_quota(run) -> None:
    recorder = build(run, gpus=2, autoscaling=autoscaling(max_replicas=2, min_replicas=1))
    found = scaled_object(recorder)
    assert found["apiVersion"] == "keda.sh/v1alpha1", "KEDA's ScaledObject API"
    spec = found["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fraud-model"}, (
        "the ScaledObject scales this model's Deployment"
    )
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 2), "the bounds the team asked for"
    assert spec["maxReplicaCount"] * 2 <= 4, "max replicas × GPUs fits the namespace's GPU quota"
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metadata"]["serverAddress"] == PROMETHEUS, (
        "the trigger reads the platform's Prometheus"
    )
    assert trigger["metadata"]["threshold"] == "4", "KEDA metadata values are strings"


def test_the_scaled_object_uses_only_fields_of_the_pinned_keda_crd(run) -> None:
    spec = scaled_object(build(run, autoscaling=autoscaling(min_replicas=0, query=INGRESS_QUERY)))["spec"]
    assert set(spec) <= SCALED_OBJECT_FIELDS, f"fields KEDA 2.20.2 does not know: {set(spec) - SCALED_OBJECT_FIELDS}"
    assert set(spec["advanced"]) <= {"horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount"}
    assert set(spec["advanced"]["horizontalPodAutoscalerConfig"]) <= HPA_CONFIG_FIELDS
    for trigger in spec["triggers"]:
        assert set(trigger) <= TRIGGER_FIELDS, f"trigger fields KEDA 2.20.2 does not know: {set(trigger)}"
        assert all(isinstance(value, str) for value in trigger["metadata"].values()), (
            "the CRD types trigger metadata as a map of strings"
        )


def test_the_autoscaled_deployment_leaves_its_replica_count_to_the_autoscaler(run) -> None:
    (deployment,) = objects_of_kind(build(run, autoscaling=autoscaling()), "Deployment")
    assert "replicas" not in deployment["spec"], (
        "with server-side apply, a replicas field Pulumi sends would be owned by Pulumi and reset the HPA's count "
        "on every update"
    )


def test_a_fixed_replica_count_next_to_autoscaling_is_refused(run, recorder) -> None:
    errors = refused(run, recorder, replicas=2, autoscaling=autoscaling())
    assert "replicas" in errors and "minReplicas" in errors["replicas"], "the autoscaler owns the count: say so"


def test_a_max_that_needs_more_gpus_than_the_quota_is_refused_naming_the_path_and_numbers(run, recorder) -> None:
    errors = refused(run, recorder, gpus=2, namespace_gpu_quota=4, autoscaling=autoscaling(max_replicas=3))
    assert "autoscaling.maxReplicas" in errors, f"the error names the argument to change: {errors}"
    message = errors["autoscaling.maxReplicas"]
    assert "3 × 2 = 6" in message and "(4)" in message, f"the message gives the numbers: {message}"


def test_gpu_autoscaling_without_a_known_quota_is_refused(run, recorder) -> None:
    errors = refused(run, recorder, gpus=1, namespace_gpu_quota=None, autoscaling=autoscaling())
    assert "namespaceGpuQuota" in errors, "the HPA could ask for GPUs the quota rejects: the quota is needed"
    assert "quota" in errors["namespaceGpuQuota"] and "autoscaler" in errors["namespaceGpuQuota"]


def test_cpu_models_autoscale_without_a_gpu_quota(run) -> None:
    recorder = build(run, gpus=0, namespace_gpu_quota=None, autoscaling=autoscaling(max_replicas=10))
    assert scaled_object(recorder)["spec"]["maxReplicaCount"] == 10, "no GPUs: the GPU quota does not bound them"


def test_scale_to_zero_without_a_query_that_outlives_the_pods_is_refused(run, recorder) -> None:
    errors = refused(run, recorder, autoscaling=autoscaling(min_replicas=0))
    assert "autoscaling.minReplicas" in errors, f"the error names minReplicas: {errors}"
    message = errors["autoscaling.minReplicas"]
    assert "autoscaling.query" in message and "minReplicas to 1" in message, f"the message gives the fix: {message}"


def test_scale_to_zero_on_an_ingress_query_wakes_above_the_activation_threshold(run) -> None:
    recorder = build(run, autoscaling=autoscaling(min_replicas=0, query=INGRESS_QUERY, activation_threshold=0.5))
    spec = scaled_object(recorder)["spec"]
    assert spec["minReplicaCount"] == 0, "the team opted in to scale to zero"
    (trigger,) = spec["triggers"]
    assert trigger["metadata"]["query"] == INGRESS_QUERY, "the custom query replaces the built-in one"
    assert trigger["metadata"]["activationThreshold"] == "0.5", "KEDA wakes the Deployment above this value"


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"metric": "throughput"}, "autoscaling.metric"),
        ({"target": 0}, "autoscaling.target"),
        ({"min_replicas": 3, "max_replicas": 2}, "autoscaling.minReplicas"),
        ({"prometheus_url": "prometheus:9090"}, "autoscaling.prometheusUrl"),
        ({"max_replica": 2}, "autoscaling.max_replica"),
    ],
)
def test_bad_autoscaling_arguments_name_their_path(run, recorder, extra: dict, path: str) -> None:
    errors = refused(run, recorder, autoscaling=autoscaling(**extra))
    assert path in errors, f"expected an error at {path}, got {errors}"


def test_gpu_utilization_needs_gpus_and_server_metrics_need_the_service_monitor(run, recorder) -> None:
    errors = refused(run, recorder, gpus=0, autoscaling=autoscaling(metric="gpu_utilization"))
    assert "autoscaling.metric" in errors, "a CPU model has no GPU utilisation to scale on"
    errors = refused(run, recorder, service_monitor=False, autoscaling=autoscaling(metric="latency"))
    assert "autoscaling.metric" in errors, "without its ServiceMonitor the server's latency never reaches Prometheus"


def test_an_autoscaled_deployment_that_can_grow_past_one_pod_has_a_budget_that_never_blocks_drains(run) -> None:
    recorder = build(run, gpus=1, autoscaling=autoscaling(min_replicas=1, max_replicas=3))
    (budget,) = objects_of_kind(recorder, "PodDisruptionBudget")
    assert budget["spec"] == {"maxUnavailable": 1, "selector": budget["spec"]["selector"]}, (
        "maxUnavailable 1, never a minAvailable that would hold a node drain at the autoscaler's minimum"
    )


def test_an_autoscaled_deployment_of_at_most_one_pod_has_no_budget(run) -> None:
    recorder = build(run, gpus=1, autoscaling=autoscaling(min_replicas=1, max_replicas=1))
    assert not objects_of_kind(recorder, "PodDisruptionBudget"), "one pod at most: a budget protects nothing"


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [(3, {"maxSurge": 0, "maxUnavailable": 1}), (2, {"maxSurge": 1, "maxUnavailable": 0})],
)
def test_the_rollout_of_an_autoscaled_model_is_sized_at_its_maximum(run, maximum: int, expected: dict) -> None:
    recorder = build(run, gpus=1, namespace_gpu_quota=3, autoscaling=autoscaling(max_replicas=maximum))
    (deployment,) = objects_of_kind(recorder, "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == expected, (
        f"at {maximum} pods of one GPU under a quota of 3, a surge pod fits only if {maximum} + 1 <= 3"
    )


@pytest.mark.parametrize("quota", range(1, 9))
def test_no_accepted_autoscaling_ever_needs_more_gpus_than_the_quota_at_max_scale_or_in_a_rollout(quota: int) -> None:
    for gpus, maximum in itertools.product(range(1, 5), range(1, 9)):
        problems = Problems()
        check_autoscaling(
            problems,
            autoscaling(max_replicas=maximum),
            gpus=gpus,
            quota=quota,
            app_name="fraud-model",
            service_monitor=True,
        )
        paths = {path for path, _ in problems.items}
        accepted = not problems
        assert accepted == (maximum * gpus <= quota), (
            f"quota {quota}, gpus {gpus}, max {maximum}: accepted={accepted} ({paths})"
        )
        assert accepted or paths == {"autoscaling.maxReplicas"}, f"only the maximum is wrong here: {paths}"
        if not accepted:
            continue
        strategy = rolling_update(maximum, gpus, quota)
        assert strategy["maxSurge"] + strategy["maxUnavailable"] >= 1, "Kubernetes refuses a rollout that moves nothing"
        peak = (maximum + strategy["maxSurge"]) * gpus
        assert peak <= quota, f"quota {quota}, gpus {gpus}, max {maximum}: a rollout at max needs {peak} GPUs"
        if (maximum + 1) * gpus <= quota:
            assert strategy == {"maxSurge": 1, "maxUnavailable": 0}, "with room for a surge pod, no capacity is lost"


# --- The trigger queries select exactly this Deployment's pods ----------------------------------------------

_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}")
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def selectors(query: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """Every `metric{...}` selector of a PromQL query: the metric and its matchers, label -> (operator, value)."""
    found = []
    for metric, body in _SELECTOR.findall(query):
        matchers = {}
        for part in filter(str.strip, body.split(",")):
            match = _MATCHER.fullmatch(part)
            assert match, f"unparsable matcher {part!r} in {query}"
            matchers[match.group(1)] = (match.group(2), match.group(3))
        found.append((metric, matchers))
    return found


def selects(matchers: dict[str, tuple[str, str]], labels: dict[str, str]) -> bool:
    """Prometheus's matcher semantics: `=` equality, `=~` a fully anchored RE2 (Python's re suffices here)."""
    for label, (operator, value) in matchers.items():
        actual = labels.get(label, "")
        if operator == "=" and actual != value:
            return False
        if operator == "=~" and not re.fullmatch(value, actual):
            return False
    return True


THIS_DEPLOYMENTS_PODS = [
    {"namespace": "fraud", "pod": "fraud-model-7d9c5b6f4-x2kqz", "container": "model-server"},
    {"namespace": "fraud", "pod": "fraud-model-5f6b8c9d8b-abcde", "container": "model-server"},
]
OTHER_PODS = [
    {"namespace": "fraud", "pod": "fraud-model-canary-7d9c5b6f4-x2kqz", "container": "model-server"},
    {"namespace": "fraud", "pod": "fraud-7d9c5b6f4-x2kqz", "container": "model-server"},
    {"namespace": "fraud", "pod": "fraud-model-0", "container": "model-server"},
    {"namespace": "search", "pod": "fraud-model-7d9c5b6f4-x2kqz", "container": "model-server"},
    {"namespace": "fraud", "pod": "", "container": ""},
]
"""A Deployment whose name extends ours, one whose name ours extends, a StatefulSet pod, the same name in another
namespace, and an unallocated GPU (DCGM sets no pod labels on it)."""


@pytest.mark.parametrize("metric", _scaled_object.METRICS)
def test_each_trigger_query_selects_exactly_this_deployment_s_pods_in_its_namespace(run, metric: str) -> None:
    recorder = build(run, gpus=1, autoscaling=autoscaling(metric=metric))
    query = scaled_object(recorder)["spec"]["triggers"][0]["metadata"]["query"]
    found = selectors(query)
    assert found, f"{metric}: the query selects series: {query}"
    for name, matchers in found:
        assert matchers.get("namespace") == ("=", "fraud"), f"{metric}: {name} is bound to the namespace"
        for labels in THIS_DEPLOYMENTS_PODS:
            assert selects(matchers, labels), f"{metric}: {name} misses this Deployment's pod {labels['pod']}"
        for labels in OTHER_PODS:
            assert not selects(matchers, labels), f"{metric}: {name} also selects {labels}"


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("concurrency", {"http_request_duration_seconds_sum"}),
        ("latency", {"http_request_duration_seconds_bucket"}),
        ("gpu_utilization", {"DCGM_FI_DEV_GPU_UTIL"}),
    ],
)
def test_the_queries_read_the_serving_contract_and_dcgm_metrics(metric: str, expected: set[str]) -> None:
    query = _scaled_object.trigger_query(metric, namespace="fraud", deployment="fraud-model", gpus=2)
    assert metric_names(query) == expected, f"{metric} reads {metric_names(query)}: {query}"
    assert _scaled_object.METRIC_TYPES[metric] == ("Value" if metric == "latency" else "AverageValue"), (
        "a p95 cannot be summed over pods; in-flight requests and utilisation are per-pod averages"
    )


def test_a_gpu_utilisation_trigger_averages_each_pod_s_gpus() -> None:
    query = _scaled_object.trigger_query("gpu_utilization", namespace="fraud", deployment="fraud-model", gpus=4)
    assert query.endswith("/ 4"), "the sum over a pod's 4 GPUs is divided back to its mean utilisation"


def test_names_too_long_for_the_pod_name_regex_are_refused(run, recorder) -> None:
    long_name = "f" * (_scaled_object.MAX_DEPLOYMENT_NAME + 1)
    errors = refused(run, recorder, app_name=long_name, autoscaling=autoscaling())
    assert "appName" in errors, "pods of longer names are cut, and the trigger would select none of them"
