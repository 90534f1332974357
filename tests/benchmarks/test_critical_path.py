"""The critical-path model: component dependencies expand like the SDK's, longest paths, needless waits."""

from __future__ import annotations

import pytest

from benchmarks.baseline import Node
from benchmarks.critical_path import (
    EXPLICIT,
    INHERITED,
    PROPERTY,
    PROVIDER,
    analyze,
    build_graph,
    expand,
    needed_because,
    schedule,
)

STACK = "urn:stack"


def node(
    name: str,
    type_: str = "test:index:Thing",
    *,
    parent: str = STACK,
    custom: bool = True,
    remote: bool = False,
    depends_on: tuple[str, ...] = (),
    inputs_from: tuple[str, ...] = (),
    provider: str = "",
    inputs: dict | None = None,
) -> Node:
    """A registration; `depends_on` and `inputs_from` name other nodes by URN (here: their names)."""
    return Node(
        urn=name,
        type=type_,
        name=name,
        parent=parent,
        custom=custom,
        remote=remote,
        provider=f"{provider}::id" if provider else "",
        wire_inputs=inputs or {},
        dependencies=(*depends_on, *inputs_from),
        property_dependencies={"input": inputs_from} if inputs_from else {},
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        ignore_changes=(),
        replace_on_changes=(),
        additional_secret_outputs=(),
    )


def stack() -> Node:
    return node(STACK, "pulumi:pulumi:Stack", parent="", custom=False)


def test_a_component_expands_to_the_engine_nodes_below_it_through_components_only() -> None:
    nodes = [
        stack(),
        node("outer", "test:index:Outer", custom=False),
        node("direct", parent="outer"),
        node("inner", "test:index:Inner", custom=False, parent="outer"),
        node("nested", parent="inner"),
        node("chart", "kubernetes:helm.sh/v4:Chart", custom=False, remote=True, parent="outer"),
        node("in-chart", parent="chart"),
        node("owner", parent="outer"),
        node("owned", parent="owner"),
    ]
    by_urn = {item.urn: item for item in nodes}
    children: dict[str, list[str]] = {}
    for item in nodes:
        children.setdefault(item.parent, []).append(item.urn)

    assert expand(["outer"], by_urn, children) == {"direct", "nested", "chart", "owner"}, (
        "remote components count as one node; children of custom or remote resources are their own work"
    )
    assert expand(["direct"], by_urn, children) == {"direct"}


def test_a_components_dependencies_hold_back_every_resource_below_it() -> None:
    graph = build_graph(
        [
            stack(),
            node("cluster"),
            node("layer", "test:index:Layer", custom=False, depends_on=("cluster",)),
            node("namespace", parent="layer"),
        ]
    )
    assert graph.waits_for["namespace"] == {"cluster": {(INHERITED, "layer")}}


def test_edges_record_how_they_arise() -> None:
    graph = build_graph(
        [
            stack(),
            node("provider", "pulumi:providers:test"),
            node("key"),
            node("log"),
            node("cluster", depends_on=("log",), inputs_from=("key",), provider="provider"),
        ]
    )
    assert graph.waits_for["cluster"] == {
        "key": {(PROPERTY, "cluster")},
        "log": {(EXPLICIT, "cluster")},
        "provider": {(PROVIDER, "cluster")},
    }


def test_the_longest_weighted_path_sets_each_finish_time() -> None:
    waits = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}
    weights = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}
    result = schedule(waits, weights.__getitem__)
    assert result.finish == {"a": 1.0, "b": 6.0, "c": 3.0, "d": 7.0}
    assert result.last == "d"
    assert result.path_to("d") == ["a", "b", "d"], "the chain through the slower branch"


def test_a_cycle_is_reported() -> None:
    with pytest.raises(ValueError, match="cycle"):
        schedule({"a": {"b"}, "b": {"a"}}, lambda _: 1.0)


def test_a_documented_ordering_is_needed_and_an_undocumented_depends_on_is_not() -> None:
    graph = build_graph(
        [
            stack(),
            node("logs", "aws:cloudwatch/logGroup:LogGroup"),
            node("bucket", "aws:s3/bucket:Bucket"),
            node("cluster", "aws:eks/cluster:Cluster", depends_on=("logs", "bucket")),
        ]
    )
    assert "EKS creates" in (needed_because(graph, "cluster", "logs") or "")
    assert needed_because(graph, "cluster", "bucket") is None


def test_a_needless_wait_on_the_critical_path_is_reported_with_what_it_costs() -> None:
    gpu_labels = {"labels": {"nvidia.com/gpu.present": "true"}}
    nodes = [
        stack(),
        node("key", "aws:kms/key:Key"),
        node("cluster", "aws:eks/cluster:Cluster", inputs_from=("key",)),
        node("cni", "aws:eks/addon:Addon", inputs_from=("cluster",), inputs={"addonName": "vpc-cni"}),
        node("system", "aws:eks/nodeGroup:NodeGroup", inputs_from=("cluster",), depends_on=("cni",)),
        node("gpu", "aws:eks/nodeGroup:NodeGroup", inputs_from=("cluster",), inputs=gpu_labels),
        # The brief's example: the provider waits for the GPU pool as well as for the system pool.
        node("k8s", "pulumi:providers:kubernetes", inputs_from=("cluster",), depends_on=("system", "gpu")),
        node("grafana", "kubernetes:helm.sh/v4:Chart", custom=False, remote=True, provider="k8s",
             inputs={"chart": "kube-prometheus-stack"}),
        node("nvidia", "kubernetes:helm.sh/v4:Chart", custom=False, remote=True, provider="k8s",
             inputs={"chart": "gpu-operator"}, depends_on=("grafana",)),
    ]  # fmt: skip
    analysis = analyze("toy", nodes)

    assert [step.name for step in analysis.gpu_path] == ["key", "cluster", "cni", "system", "k8s", "grafana", "nvidia"]
    needless = {item.declared_by: item for item in analysis.needless}
    assert set(needless) == {"nvidia (kubernetes:helm.sh/v4:Chart)"}, "the CNI and system pool waits are documented"
    assert needless["nvidia (kubernetes:helm.sh/v4:Chart)"].saves_gpu == pytest.approx(180.0), "the chart's 3 min"
    assert analysis.needed_only_gpu_ready == pytest.approx(analysis.gpu_ready - 180.0)
    assert [step.name for step in analysis.reference] == ["key", "cluster", "gpu", "nvidia"]
    latent = {item.declared_by: item for item in analysis.latent}
    assert latent["k8s (pulumi:providers:kubernetes)"].dependencies == ["gpu"], "the provider waits for the GPU pool"
    assert latent["k8s (pulumi:providers:kubernetes)"].slack == pytest.approx(90.0), "the CNI add-on's 1.5 min"
