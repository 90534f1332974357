"""Pure Azure helpers: role definition IDs, scopes, globally unique names, durations."""

from __future__ import annotations

import re

import pytest

from components.azure import _shared


def test_role_definition_ids_are_subscription_scoped_built_in_roles() -> None:
    role_id = _shared.role_definition_id("sub-1", _shared.ACR_PULL)
    assert (
        role_id
        == "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
    )


def test_every_built_in_role_has_a_display_name_and_a_guid() -> None:
    for role, display in _shared.ROLE_NAMES.items():
        assert _shared.is_guid(role), f"{display} must be referenced by its built-in GUID"


def test_a_container_scope_is_narrower_than_its_account() -> None:
    account = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
    assert _shared.blob_container_id(account, "models") == f"{account}/blobServices/default/containers/models"
    assert _shared.blob_service_id(account) == f"{account}/blobServices/default"


@pytest.mark.parametrize(
    ("name", "limit", "alphanumeric", "pattern"),
    [
        ("mlp-azure-prod-data", 24, True, r"^[a-z][a-z0-9]{2,23}$"),
        ("mlp-azure-prod-an-extremely-long-storage-name", 24, True, r"^[a-z][a-z0-9]{2,23}$"),
        ("mlp-azure-prod-kv", 24, False, r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"),
        ("9-starts-with-a-digit", 50, True, r"^[a-z][a-z0-9]{4,49}$"),
    ],
)
def test_globally_unique_names_fit_the_service_rules(name: str, limit: int, alphanumeric: bool, pattern: str) -> None:
    result = _shared.globally_unique_name(
        name, limit, project="mlplatform", stack="azure-prod", alphanumeric=alphanumeric
    )
    assert re.match(pattern, result), f"{result!r} breaks the naming rule of the service"
    assert "--" not in result, "Key Vault rejects consecutive hyphens"


def test_globally_unique_names_are_stable_per_stack_and_differ_between_stacks() -> None:
    first = _shared.globally_unique_name("data", 24, project="p", stack="dev", alphanumeric=True)
    assert first == _shared.globally_unique_name("data", 24, project="p", stack="dev", alphanumeric=True)
    assert first != _shared.globally_unique_name("data", 24, project="p", stack="prod", alphanumeric=True)


@pytest.mark.parametrize(("value", "days"), [("P90D", 90), ("P1Y", 365), ("P1Y6M", 545), ("P", None), ("90D", None)])
def test_iso_durations_are_read_in_days(value: str, days: int | None) -> None:
    assert _shared.iso_duration_days(value) == days
