"""Argument sets shared by the Azure component tests: plausible IDs, so each test changes only what it is about."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from stacks.synth import RecordingMonitor, Registration

LOCATION = "westeurope"
RG = "rg-test"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers"
ADMIN_GROUP = "22222222-2222-2222-2222-222222222222"
VAULT_ID = f"{SUB}/Microsoft.KeyVault/vaults/kv-test"


def cluster_args(**overrides: Any) -> dict[str, Any]:
    """Minimal valid `AzureGpuCluster` arguments."""
    args: dict[str, Any] = {
        "resource_group_name": RG,
        "location": LOCATION,
        "node_subnet_id": f"{SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/nodes",
        "api_server_subnet_id": f"{SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/apiserver",
        "key_vault_id": VAULT_ID,
        "kms_key_id": "https://kv-test.vault.azure.net/keys/etcd/0123",
        "kms_key_resource_id": f"{VAULT_ID}/keys/etcd",
        "disk_encryption_key_url": "https://kv-test.vault.azure.net/keys/disks/0123",
        "disk_encryption_key_resource_id": f"{VAULT_ID}/keys/disks",
        "admin_group_object_ids": [ADMIN_GROUP],
        "gpu_node_pools": [
            {"name": "t4", "vm_size": "Standard_NC4as_T4_v3", "max_count": 4},
            {"name": "a100", "vm_size": "Standard_NC24ads_A100_v4", "spot": True, "zones": ["1"]},
        ],
    }
    args.update(overrides)
    return args


def registry_args(**overrides: Any) -> dict[str, Any]:
    """Minimal valid `AzureContainerRegistry` arguments."""
    args: dict[str, Any] = {
        "resource_group_name": RG,
        "location": LOCATION,
        "encryption_key_uri": "https://kv-test.vault.azure.net/keys/registry",
        "encryption_identity_id": f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/registry",
        "encryption_identity_client_id": "registry-client-id",
    }
    args.update(overrides)
    return args


def storage_args(**overrides: Any) -> dict[str, Any]:
    """Minimal valid `AzureEncryptedStorage` arguments."""
    args: dict[str, Any] = {
        "resource_group_name": RG,
        "location": LOCATION,
        "key_vault_uri": "https://kv-test.vault.azure.net/",
        "encryption_key_name": "storage",
        "encryption_identity_id": f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/storage",
        "containers": [
            {"name": "datasets", "retention_days": 365, "noncurrent_retention_days": 30},
            {"name": "models", "retention_days": 730},
            {"name": "scratch"},
        ],
    }
    args.update(overrides)
    return args


def rejected(run: Any, recorder: RecordingMonitor, build: Any) -> dict[str, str]:
    """Run `build`, expect `InputPropertiesError`, check nothing was registered, return {path: reason}."""
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        run(build)
    registered = [r.type for r in recorder.registrations if r.type != "pulumi:pulumi:Stack"]
    assert registered == [], f"validation must fail before any registration, got {registered}"
    return {error["property_path"]: error["reason"] for error in caught.value.errors or []}


SLEEP = "time:index/sleep:Sleep"


def reachable(recorder: RecordingMonitor, start: Registration) -> list[Registration]:
    """Every resource `start` waits for, transitively, through its recorded dependencies and property dependencies."""
    seen: set[str] = set()
    pending = [start.urn]
    found: list[Registration] = []
    while pending:
        registration = recorder.by_urn(pending.pop())
        for urn in [
            *registration.dependencies,
            *(u for urns in registration.property_dependencies.values() for u in urns),
        ]:
            if urn not in seen and urn in recorder._by_urn:
                seen.add(urn)
                found.append(recorder.by_urn(urn))
                pending.append(urn)
    return found


def assert_waits_for_propagation(
    recorder: RecordingMonitor, consumer: Registration, grants: list[Registration]
) -> None:
    """`consumer` relies on `grants`: it must wait, transitively, for a Sleep whose triggers carry each of them.

    A grant only created before the consumer may not be enforced yet (Azure documents up to 10 minutes); a Sleep
    triggered by the grant's ID waits that long, and again whenever the grant is replaced.
    """
    assert grants, f"{consumer.name}: the test names no grant it relies on"
    sleeps = [r for r in reachable(recorder, consumer) if r.type == SLEEP]
    for grant in grants:
        covering = [s for s in sleeps if grant.urn in s.property_dependencies.get("triggers", [])]
        assert covering, (
            f"{consumer.name} relies on role assignment {grant.name} but waits for no Sleep triggered by it "
            f"(reachable Sleeps: {[s.name for s in sleeps]}): Azure may not enforce the grant yet"
        )
        assert all(s.inputs.get("createDuration") for s in covering), f"{grant.name}: the Sleep must wait"
