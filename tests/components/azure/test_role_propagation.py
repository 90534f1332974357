"""Role-assignment propagation: every resource that relies on a grant waits for a Sleep triggered by that grant."""

from __future__ import annotations

import pulumi
import pytest

from components.azure import AzureContainerRegistry, AzureEncryptedStorage, AzureKeyVault
from components.azure._role_propagation import DEFAULT_ROLE_PROPAGATION_WAIT
from tests.components.azure._fixtures import (
    LOCATION,
    RG,
    SLEEP,
    assert_waits_for_propagation,
    registry_args,
    storage_args,
)

ROLE = "azure-native:authorization:RoleAssignment"


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
