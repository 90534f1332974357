"""Settings a cloud accepts only at creation are marked on purpose, so the plan shows the replacement."""

from __future__ import annotations

import pytest

from stacks.synth import Synthesis, synthesize_whole


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize_whole("prod")


@pytest.fixture(scope="module")
def azure_prod() -> Synthesis:
    return synthesize_whole("azure-prod")


def test_changing_the_eks_secrets_key_is_planned_as_a_cluster_replacement(prod: Synthesis) -> None:
    cluster = prod.monitor.one("aws:eks/cluster:Cluster")
    assert "encryptionConfig" in cluster.replace_on_changes, "EKS accepts the secrets key only at creation"
    assert cluster.protect, "in prod the replacement is blocked until protection is lifted on purpose"


def test_aks_gpu_pool_vm_size_and_taints_are_planned_as_replacements(azure_prod: Synthesis) -> None:
    for pool in azure_prod.monitor.by_type("azure-native:containerservice:AgentPool"):
        assert {"vmSize", "nodeTaints"} <= set(pool.replace_on_changes), (
            f"AKS sets VM size and taints only when {pool.name} is created"
        )
        assert "count" in pool.ignore_changes, "the autoscaler owns the node count"


def test_the_aks_disk_encryption_set_and_acr_cmk_are_planned_as_replacements(azure_prod: Synthesis) -> None:
    cluster = azure_prod.monitor.one("azure-native:containerservice:ManagedCluster")
    assert "diskEncryptionSetID" in cluster.replace_on_changes, "AKS takes the disk encryption set only at creation"
    registry = azure_prod.monitor.one("azure-native:containerregistry:Registry")
    assert "encryption.status" in registry.replace_on_changes, "ACR takes a customer-managed key only at creation"
    assert cluster.protect, "prod blocks the replacement"
    assert registry.protect, "prod blocks the replacement"


def test_eks_node_groups_are_fixed_so_a_minimum_change_is_a_plain_update(prod: Synthesis) -> None:
    """Karpenter adds nodes beside the warm node groups and never resizes them, so Pulumi owns their whole
    scaling config; an ignored desiredSize made raising minSize fail (review M2)."""
    groups = prod.monitor.by_type("aws:eks/nodeGroup:NodeGroup")
    assert groups, "prod has warm node groups"
    for group in groups:
        scaling = group.inputs["scalingConfig"]
        assert scaling["minSize"] == scaling["maxSize"] == scaling["desiredSize"], f"{group.name} is fixed"
        assert "scalingConfig.desiredSize" not in group.ignore_changes, f"{group.name}: nothing else owns the count"
