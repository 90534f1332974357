"""PodAutoscaling: KEDA and metrics-server on the platform pool, Pod Security restricted, pinned chart keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pulumi
import pytest

from components._common import pools
from components.kubernetes import PodAutoscaling, _chart_workloads, _charts, _values
from stacks.deployability import pod_security_violations
from tests.components.kubernetes.helpers import chart_values, objects_of_kind, run_with_provider

PLATFORM_POOL = pools.platform_pool_labels()

# The values keys each builder may set, read from the chart's values.yaml and templates at the pinned tag. A key
# ending in `*` is a map or list the chart copies whole into the pod spec (anything below it is Kubernetes').
METRICS_SERVER_KEYS = frozenset(
    {
        # kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1, charts/metrics-server/values.yaml
        "replicas",
        "podDisruptionBudget.enabled",
        "podDisruptionBudget.minAvailable",
        "podDisruptionBudget.maxUnavailable",
        "topologySpreadConstraints*",
        "defaultArgs*",
        "args*",
        "podSecurityContext*",
        "securityContext*",
        "priorityClassName",
        "nodeSelector*",
        "tolerations*",
        "affinity*",
        "resources*",
    }
)
KEDA_KEYS = frozenset(
    {
        # kedacore/charts tag v2.20.2, keda/values.yaml; `podDisruptionBudget.operator.*` and the per-component
        # `serviceMonitor.additionalLabels` as read by templates/manager/poddisruptionbudget.yaml and
        # templates/*/servicemonitor.yaml.
        *(
            f"{component}.{key}"
            for component in ("operator", "metricsServer", "webhooks")
            for key in ("replicaCount", "nodeSelector*", "tolerations*", "affinity*")
        ),
        "metricsServer.enabled",
        "webhooks.enabled",
        "webhooks.failurePolicy",
        "podDisruptionBudget.operator.minAvailable",
        "podDisruptionBudget.operator.maxUnavailable",
        "image.pullPolicy",
        *(
            f"{key}.{component}*"
            for key in ("securityContext", "podSecurityContext", "resources")
            for component in ("operator", "metricServer", "webhooks")
        ),
        *(
            f"prometheus.{component}.{key}"
            for component in ("operator", "metricServer", "webhooks")
            for key in ("enabled", "serviceMonitor.enabled", "serviceMonitor.additionalLabels*")
        ),
    }
)


def value_paths(values: Mapping[str, Any], keys: frozenset[str], prefix: str = "") -> Iterator[str]:
    """The paths of `values` down to a recorded key (or to a leaf the chart does not know)."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if f"{path}*" in keys or path in keys:
            yield f"{path}*" if f"{path}*" in keys else path
        elif isinstance(value, Mapping) and any(known.startswith(f"{path}.") for known in keys):
            yield from value_paths(value, keys, f"{path}.")
        else:
            yield path


def keda(service_monitor: bool = True, node_selector: Mapping[str, str] = PLATFORM_POOL) -> dict[str, Any]:
    return _values.keda_values(
        node_selector=node_selector, service_monitor=service_monitor, service_monitor_labels={"release": "monitoring"}
    )


@pytest.mark.parametrize(
    ("chart", "values", "keys"),
    [
        (_charts.METRICS_SERVER, _values.metrics_server_values(node_selector=PLATFORM_POOL), METRICS_SERVER_KEYS),
        (_charts.KEDA, keda(), KEDA_KEYS),
    ],
    ids=["metrics-server", "keda"],
)
def test_every_values_key_exists_in_the_pinned_chart(chart: _charts.ChartRef, values: dict, keys: frozenset) -> None:
    unknown = sorted(path for path in value_paths(values, keys) if path not in keys)
    assert not unknown, f"{chart.chart} {chart.version} has no such values keys (Helm ignores them silently): {unknown}"


def workloads() -> dict[str, _chart_workloads.ChartWorkload]:
    rendered = [
        *_chart_workloads.metrics_server_workloads(
            "metrics-server", "metrics-server", _values.metrics_server_values(node_selector=PLATFORM_POOL)
        ),
        *_chart_workloads.keda_workloads("keda", "keda", keda()),
    ]
    return {workload.name: workload for workload in rendered}


EXPECTED_WORKLOADS = {"metrics-server", "keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"}


def test_the_charts_render_the_four_autoscaling_deployments() -> None:
    assert set(workloads()) == EXPECTED_WORKLOADS, "metrics-server, and KEDA's operator, metrics API and webhooks"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_autoscaling_pods_schedule_on_the_platform_pool(name: str) -> None:
    pod = workloads()[name].pod_spec
    for key, value in PLATFORM_POOL.items():
        assert pod["nodeSelector"].get(key) == value, f"{name} must run on the platform pool, never on GPU nodes"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_autoscaling_pods_meet_pod_security_restricted(name: str) -> None:
    violations, unset = pod_security_violations(workloads()[name].pod_spec, "restricted")
    assert not violations and not unset, f"{name} would be rejected by its restricted namespace: {violations + unset}"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_autoscaling_containers_have_requests_and_a_memory_limit(name: str) -> None:
    (container,) = workloads()[name].pod_spec["containers"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]), f"{name}: the scheduler needs both requests"
    assert "memory" in resources["limits"], f"{name}: a leaking container must not starve its node"


def test_metrics_server_is_highly_available_critical_and_asks_kubelets_by_internal_ip() -> None:
    values = _values.metrics_server_values(node_selector=PLATFORM_POOL)
    assert values["replicas"] == 2 and values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}, (
        "every HPA stops while the resource metrics API is down: two replicas, a drain takes one at a time"
    )
    assert values["priorityClassName"] == "system-cluster-critical", "evicted last, scheduled first"
    address_types = [arg for arg in values["defaultArgs"] if arg.startswith("--kubelet-preferred-address-types=")]
    assert address_types == ["--kubelet-preferred-address-types=InternalIP"], "kubelets on their private address"
    assert "--cert-dir=/tmp" in values["defaultArgs"], "the root filesystem is read-only; certificates go to /tmp"


def test_keda_runs_a_standby_operator_and_scrapes_only_when_monitoring_exists() -> None:
    values = keda()
    assert values["operator"]["replicaCount"] == 2, "a leader-elected standby takes over without a reschedule"
    assert values["podDisruptionBudget"]["operator"] == {"maxUnavailable": 1}, "a drain keeps one operator"
    assert values["webhooks"]["enabled"] is True, "the webhook refuses two ScaledObjects on one Deployment"
    for component in ("operator", "metricServer", "webhooks"):
        assert values["prometheus"][component]["serviceMonitor"]["enabled"] is True, f"{component} is scraped"
        assert keda(service_monitor=False)["prometheus"][component]["serviceMonitor"]["enabled"] is False, (
            f"{component}: no ServiceMonitor without the Prometheus operator CRDs"
        )


# --- The component ----------------------------------------------------------------------------------------


def build(run, args: dict):
    return run_with_provider(run, lambda opts: PodAutoscaling("autoscaling", args, opts=opts))


def test_keda_gets_a_restricted_namespace_policies_and_its_chart(run) -> None:
    recorder = build(run, {})
    (namespace,) = objects_of_kind(recorder, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == "keda"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted", "KEDA's pods meet restricted"
    assert labels["mlplatform.io/tier"] == "autoscaling", "Prometheus admits KEDA by this tier"
    values = chart_values(recorder, "keda")
    assert values["operator"]["nodeSelector"] == PLATFORM_POOL, "the platform pool by default"
    policies = {policy["metadata"]["name"] for policy in objects_of_kind(recorder, "NetworkPolicy")}
    assert {"default-deny-all", "allow-operator-to-prometheus", "allow-metrics-api-from-api-server"} <= policies
    assert not [c for c in recorder.by_type("kubernetes:helm.sh/v4:Chart") if c.inputs["chart"] == "metrics-server"], (
        "metrics-server only where the cluster has none (AKS ships it)"
    )


def test_metrics_server_is_installed_on_request_in_its_own_restricted_namespace(run) -> None:
    recorder = build(run, {"metrics_server": True, "node_selector": {}})
    namespaces = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in objects_of_kind(recorder, "Namespace")}
    assert namespaces["metrics-server"]["pod-security.kubernetes.io/enforce"] == "restricted"
    values = chart_values(recorder, "metrics-server")
    assert values["nodeSelector"] == {}, "an existing cluster without a platform pool places the pods anywhere"


def test_bad_arguments_are_reported_together_with_their_paths(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, {"namespace": "kube-system", "metrics_server": True, "metrics_server_namespace": "kube-system",
                    "node_selector": {"pool": 1}, "replicas": 2})  # fmt: skip
    paths = {error["property_path"] for error in raised.value.errors}
    assert {"namespace", "metricsServerNamespace", "nodeSelector", "replicas"} <= paths, paths
    created = [r.type for r in recorder.registrations if r.type.startswith(("kubernetes:", "mlplatform:"))]
    assert created == [], f"nothing is created when the arguments are refused: {created}"
