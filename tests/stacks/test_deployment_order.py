"""Deployment order of the shipped stacks: each resource waits only for what it needs, so nothing starts late.

The engine's view of the graph comes from `benchmarks.critical_path` (the same model `make bench` uses to find
the critical path); these tests assert its structure, never times.
"""

from __future__ import annotations

import pytest

from benchmarks.baseline import node_from
from benchmarks.critical_path import Graph, build_graph, is_gpu_pool, needed_because
from components.kubernetes import _charts
from stacks.synth import synthesize_whole

STACKS = ("dev", "prod", "azure-prod", "local")
CLOUD_STACKS = ("dev", "prod", "azure-prod")


@pytest.fixture(scope="module", params=STACKS)
def graph(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    synthesis = synthesize_whole(request.param)
    return request.param, build_graph(node_from(registration) for registration in synthesis.registrations)


def _named(graph: Graph, name: str) -> str:
    (urn,) = [urn for urn, node in graph.nodes.items() if node.name == name]
    return urn


def _waits_for(graph: Graph, urn: str) -> set[str]:
    """Everything `urn` waits for, directly or through what it waits for."""
    seen: set[str] = set()
    pending = [urn]
    while pending:
        for dependency in graph.waits_for[pending.pop()]:
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen


def _chart(graph: Graph, chart: str) -> str | None:
    found = [urn for urn, node in graph.nodes.items() if node.wire_inputs.get("chart") == chart]
    return found[0] if found else None


def test_every_wait_in_a_shipped_stack_is_one_the_services_need(graph: tuple[str, Graph]) -> None:
    stack, engine = graph
    needless = sorted(
        f"{engine.nodes[dependent].name} <- {engine.nodes[dependency].name}"
        for dependent, edges in engine.waits_for.items()
        for dependency in edges
        if needed_because(engine, dependent, dependency) is None
    )
    assert not needless, (
        f"{stack}: these waits come from a `depends_on` nothing requires (pass the output the dependent uses, "
        f"or document the ordering in benchmarks/critical_path.py): {needless}"
    )


def test_nothing_but_the_reference_chain_waits_for_the_gpu_pools(graph: tuple[str, Graph]) -> None:
    stack, engine = graph
    pools = {urn for urn, node in engine.nodes.items() if is_gpu_pool(node)}
    # dev's only GPU pool scales from zero: Karpenter creates its nodes when pods wait, no node group exists.
    if stack in CLOUD_STACKS and stack != "dev":
        assert pools, f"{stack} has GPU pools with warm nodes or AKS agent pools: the test must see them"
    late = sorted(
        node.name
        for urn, node in engine.nodes.items()
        if node.type.startswith(("kubernetes:", "pulumi:providers:kubernetes")) and _waits_for(engine, urn) & pools
    )
    assert not late, (
        f"{stack}: the Kubernetes layer must not wait for GPU pools (AKS creates them one after another): {late}"
    )


def test_only_what_needs_the_prometheus_crds_waits_for_them_not_for_the_whole_monitoring_stack(
    graph: tuple[str, Graph],
) -> None:
    stack, engine = graph
    crds, stack_chart = (
        _chart(engine, _charts.PROMETHEUS_OPERATOR_CRDS.chart),
        _chart(engine, _charts.KUBE_PROMETHEUS_STACK.chart),
    )
    assert crds and stack_chart, f"{stack} installs monitoring"
    # The local stack (a laptop) runs without ELK.
    for chart in (_charts.FLUENT_BIT.chart, _charts.GPU_OPERATOR.chart)[stack == "local" :]:
        urn = _chart(engine, chart)
        assert urn is not None, f"{stack} installs {chart}"
        assert crds in engine.waits_for[urn], f"{stack}: {chart} renders its ServiceMonitor only once the CRD exists"
        assert stack_chart not in _waits_for(engine, urn), (
            f"{stack}: {chart} must not wait for kube-prometheus-stack's rollout"
        )


def test_volumes_wait_for_the_encrypted_class_and_nothing_else_does(graph: tuple[str, Graph]) -> None:
    stack, engine = graph
    classes = [urn for urn, node in engine.nodes.items() if node.type == "kubernetes:storage.k8s.io/v1:StorageClass"]
    if stack not in CLOUD_STACKS:
        assert not classes, "an existing cluster brings its own class"
        return
    (storage_class,) = classes
    waiting = {engine.nodes[urn].name for urn, edges in engine.waits_for.items() if storage_class in edges}
    assert waiting == {"monitoring-kube-prometheus-stack", "logging-elasticsearch"}, (
        f"{stack}: exactly the objects with volumes wait for the class"
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_eks_kubernetes_provider_waits_for_platform_nodes_add_ons_and_admin_access(stack: str) -> None:
    engine = build_graph(node_from(registration) for registration in synthesize_whole(stack).registrations)
    provider = _named(engine, "eks-kubernetes")
    waits = [engine.nodes[urn] for urn in engine.waits_for[provider]]
    assert {node.wire_inputs.get("addonName") for node in waits if node.type == "aws:eks/addon:Addon"} >= {
        "vpc-cni",
        "coredns",
        "aws-ebs-csi-driver",
    }, "pods need networking, DNS and volumes"
    zones = {node.name for node in waits if node.name.startswith("eks-platform-")}
    assert len(zones) >= 2, f"the layer's pods need the platform nodes of every zone: {zones}"
    assert any(node.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" for node in waits), (
        "the deployer calls the API through its admin access"
    )


def test_the_aks_kubernetes_provider_waits_for_the_cluster_and_the_admin_grants() -> None:
    engine = build_graph(node_from(registration) for registration in synthesize_whole("azure-prod").registrations)
    waits = {engine.nodes[urn].name for urn in engine.waits_for[_named(engine, "aks-kubernetes")]}
    assert "mlp-azure-prod-aks-cluster" in waits
    assert "mlp-azure-prod-aks-platform" in waits, "the layer's Deployments need the untainted platform pool"
    assert not {"mlp-azure-prod-aks-t4serve", "mlp-azure-prod-aks-a100train"} & waits, "GPU pools keep nothing waiting"
    assert {"mlp-azure-prod-aks-admins-0-rbac-admin", "mlp-azure-prod-aks-admins-0-cluster-user"} <= waits, (
        "the admin groups reach the API through these grants"
    )


def test_only_the_aks_cluster_waits_for_the_vaults_private_endpoint() -> None:
    engine = build_graph(node_from(registration) for registration in synthesize_whole("azure-prod").registrations)
    dns = _named(engine, "mlp-azure-prod-kv-pe-dns")
    assert dns in engine.waits_for[_named(engine, "mlp-azure-prod-aks-cluster")], (
        "the KMS plugin reaches the vault only through its private endpoint"
    )
    for name in ("mlp-azure-prod-aks-des", "mlp-azure-prod-aks-identity", "mlp-azure-prod-aks-kms-crypto-user"):
        assert dns not in _waits_for(engine, _named(engine, name)), f"{name} does not use the private endpoint"
