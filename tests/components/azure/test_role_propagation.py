"""Role-assignment propagation: every resource that relies on a grant waits for a Sleep triggered by that grant."""

from __future__ import annotations

import pulumi
import pytest

from components.azure import AzureContainerRegistry, AzureEncryptedStorage, AzureGpuCluster, AzureKeyVault
from components.azure._role_propagation import DEFAULT_ROLE_PROPAGATION_WAIT
from tests.components.azure._fixtures import (
    LOCATION,
    RG,
    SLEEP,
    assert_waits_for_propagation,
    cluster_args,
    registry_args,
    storage_args,
)

ROLE = "azure-native:authorization:RoleAssignment"
CLUSTER = "azure-native:containerservice:ManagedCluster"
TEAM = "55555555-5555-5555-5555-555555555555"


def test_storage_and_the_registry_wait_for_their_key_grants_to_take_effect(run) -> None:
    """Both validate their customer-managed key when they are created, through the identity the vault granted."""

    def program() -> None:
        vault = AzureKeyVault(
            "kv", {"resource_group_name": RG, "location": LOCATION, "keys": [{"name": "storage"}, {"name": "registry"}]}
        )
        AzureEncryptedStorage(
            "data", storage_args(encryption_identity_id=vault.identity_ids.apply(lambda ids: ids["storage"]))
        )
        AzureContainerRegistry(
            "acr",
            registry_args(
                encryption_identity_id=vault.identity_ids.apply(lambda ids: ids["registry"]),
                encryption_identity_client_id=vault.identity_client_ids.apply(lambda ids: ids["registry"]),
            ),
        )

    recorder = run(program)
    grants = {grant.name: grant for grant in recorder.by_type(ROLE)}
    assert_waits_for_propagation(
        recorder, recorder.one("azure-native:storage:StorageAccount"), [grants["kv-storage-encryption-user"]]
    )
    assert_waits_for_propagation(
        recorder, recorder.one("azure-native:containerregistry:Registry"), [grants["kv-registry-encryption-user"]]
    )


def test_each_key_waits_on_its_own_so_a_new_key_does_not_hold_back_the_others(run) -> None:
    recorder = run(
        lambda: AzureKeyVault(
            "kv", {"resource_group_name": RG, "location": LOCATION, "keys": [{"name": "storage"}, {"name": "registry"}]}
        )
    )
    sleeps = recorder.by_type(SLEEP)
    assert len(sleeps) == 2, "one wait per key grant"
    for sleep in sleeps:
        assert len(sleep.property_dependencies["triggers"]) == 1, f"{sleep.name} is triggered by one grant only"
        assert sleep.inputs["createDuration"] == DEFAULT_ROLE_PROPAGATION_WAIT == "10m", "Microsoft: up to 10 minutes"


def test_the_wait_is_configurable(run) -> None:
    def program() -> None:
        AzureKeyVault(
            "kv",
            {
                "resource_group_name": RG,
                "location": LOCATION,
                "keys": [{"name": "storage"}],
                "role_propagation_wait": "90s",
            },
        )

    sleep = run(program).one(SLEEP)
    assert sleep.inputs["createDuration"] == "90s"
    assert sleep.parent.endswith("::kv"), "the wait is a child of the component that owns the grant"


def test_a_consumer_that_ignores_the_wait_is_caught(run) -> None:
    """The helper itself: a resource that only waits for the grant's creation fails the check."""

    def program() -> None:
        vault = AzureKeyVault("kv", {"resource_group_name": RG, "location": LOCATION, "keys": [{"name": "storage"}]})
        pulumi.CustomResource("test:index:Consumer", "hasty", {"principal": vault.identity_principal_ids})

    recorder = run(program)
    with pytest.raises(AssertionError, match="waits for no Sleep"):
        assert_waits_for_propagation(recorder, recorder.one("test:index:Consumer"), [recorder.one(ROLE)])


def test_the_cluster_waits_for_its_identity_and_disk_encryption_grants_to_take_effect(run) -> None:
    """AKS joins the subnets, wraps etcd secrets with the KMS key and creates encrypted disks while it is created."""
    recorder = run(lambda: AzureGpuCluster("gpu", cluster_args()))
    grants = [grant for grant in recorder.by_type(ROLE) if grant.inputs["principalType"] == "ServicePrincipal"]
    assert {grant.name for grant in grants} == {
        "gpu-node-subnet-network",
        "gpu-api-subnet-network",
        "gpu-kms-crypto-user",
        "gpu-kms-vault-contributor",
        "gpu-des-encryption-user",
        "gpu-des-reader",
    }
    assert_waits_for_propagation(recorder, recorder.one(CLUSTER), grants)
    for pool in recorder.by_type("azure-native:containerservice:AgentPool"):
        assert_waits_for_propagation(recorder, pool, [g for g in grants if g.name.startswith("gpu-des")])


def test_the_kubernetes_api_is_used_only_after_the_admin_and_deployer_grants_take_effect(run) -> None:
    def program() -> None:
        cluster = AzureGpuCluster("gpu", cluster_args(grant_deployer_admin=True, team_group_object_ids=[TEAM]))
        pulumi.CustomResource(
            "test:index:Provider", "kubernetes", {}, opts=pulumi.ResourceOptions(depends_on=cluster.api_prerequisites)
        )

    recorder = run(program)
    api_grants = [grant for grant in recorder.by_type(ROLE) if "-admins-" in grant.name or "-deployer-" in grant.name]
    assert len(api_grants) == 4, "admin group and deployer: RBAC Cluster Admin and Cluster User Role each"
    assert_waits_for_propagation(recorder, recorder.one("test:index:Provider"), api_grants)
    (api_wait,) = [s for s in recorder.by_type(SLEEP) if s.name == "gpu-api-access-propagation"]
    team_grant = next(grant for grant in recorder.by_type(ROLE) if "-team-" in grant.name)
    assert team_grant.urn not in api_wait.property_dependencies["triggers"], "team grants keep the deployer waiting"
