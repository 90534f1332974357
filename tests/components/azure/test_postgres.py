"""AzurePostgres: no public access, CMK through its identity, Entra-only auth, TLS required, protected in prod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.azure import AzureKeyVault, AzurePostgres
from components.azure._shared import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from tests.components.azure._fixtures import ADMIN_GROUP, LOCATION, RG, SUB, assert_waits_for_propagation, rejected

SERVER = "azure-native:dbforpostgresql:Server"
TENANT = "11111111-1111-1111-1111-111111111111"
KEY_URI = "https://kv-test.vault.azure.net/keys/postgres"
IDENTITY = f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/postgres"
GEO_IDENTITY = f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/postgres-geo"
WORKSPACE = f"{SUB}/Microsoft.OperationalInsights/workspaces/platform"
ZONE = f"{SUB}/Microsoft.Network/privateDnsZones/privatelink.postgres.database.azure.com"


def postgres_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "resource_group_name": RG,
        "location": LOCATION,
        "tenant_id": TENANT,
        "administrator": {"object_id": ADMIN_GROUP, "principal_name": "mlflow-admins", "principal_type": "group"},
        "encryption_key_uri": KEY_URI,
        "encryption_identity_id": IDENTITY,
        "private_endpoint_subnet_id": f"{SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/endpoints",
        "private_dns_zone_id": ZONE,
        "protect": True,
    }
    args.update(overrides)
    return args


def _postgres(**overrides):
    return lambda: AzurePostgres("mlflow-db", postgres_args(**overrides))


def test_public_access_is_disabled_and_the_server_is_reached_through_a_private_endpoint(run) -> None:
    recorder = run(_postgres())
    server = recorder.one(SERVER)
    assert server.inputs["network"] == {"publicNetworkAccess": "Disabled"}
    endpoint = recorder.one("azure-native:network:PrivateEndpoint")
    connection = endpoint.inputs["privateLinkServiceConnections"][0]
    assert connection["groupIds"] == ["postgresqlServer"]
    zones = recorder.one("azure-native:network:PrivateDnsZoneGroup").inputs["privateDnsZoneConfigs"]
    assert zones[0]["privateDnsZoneId"] == ZONE
    assert not recorder.by_type("azure-native:dbforpostgresql:FirewallRule"), "no firewall openings"


def test_data_is_encrypted_with_the_customer_key_through_the_user_assigned_identity(run) -> None:
    server = run(_postgres()).one(SERVER).inputs
    assert server["dataEncryption"] == {
        "type": "AzureKeyVault",
        "primaryKeyURI": KEY_URI,
        "primaryUserAssignedIdentityId": IDENTITY,
    }
    assert server["identity"]["type"] == "UserAssigned"
    assert list(server["identity"]["userAssignedIdentities"]) == [IDENTITY]
    assert server["backup"]["geoRedundantBackup"] == "Disabled", "no copy outside the region by default"


def test_geo_redundant_backups_get_their_own_key_and_identity(run) -> None:
    geo_key = "https://kv-paired.vault.azure.net/keys/postgres"
    server = run(
        _postgres(geo_redundant_backup=True, geo_backup_key_uri=geo_key, geo_backup_identity_id=GEO_IDENTITY)
    ).one(SERVER)
    encryption = server.inputs["dataEncryption"]
    assert encryption["geoBackupKeyURI"] == geo_key
    assert encryption["geoBackupUserAssignedIdentityId"] == GEO_IDENTITY
    assert sorted(server.inputs["identity"]["userAssignedIdentities"]) == sorted([IDENTITY, GEO_IDENTITY])
    assert server.inputs["backup"]["geoRedundantBackup"] == "Enabled"


def test_only_entra_authentication_and_an_entra_administrator(run) -> None:
    recorder = run(_postgres())
    server = recorder.one(SERVER).inputs
    assert server["authConfig"] == {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": TENANT}
    assert "administratorLogin" not in server and "administratorLoginPassword" not in server
    admin = recorder.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").inputs
    assert (admin["objectId"], admin["principalType"]) == (ADMIN_GROUP, "group")


def test_secure_transport_is_required(run) -> None:
    recorder = run(_postgres())
    parameters = {
        item.inputs["configurationName"]: item.inputs["value"]
        for item in recorder.by_type("azure-native:dbforpostgresql:Configuration")
    }
    assert parameters["require_secure_transport"] == "on"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"


def test_logs_and_metrics_go_to_the_workspace(run) -> None:
    recorder = run(_postgres(log_analytics_workspace_id=WORKSPACE))
    setting = recorder.one("azure-native:monitor:DiagnosticSetting").inputs
    assert setting["workspaceId"] == WORKSPACE
    assert setting["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_backups_high_availability_and_protection(run) -> None:
    recorder = run(_postgres())
    server = recorder.one(SERVER)
    assert server.inputs["backup"]["backupRetentionDays"] == 14
    assert server.inputs["highAvailability"]["mode"] == "ZoneRedundant"
    assert server.inputs["version"] == "17"
    assert server.protect and server.retain_on_delete
    database = recorder.one("azure-native:dbforpostgresql:Database")
    assert database.protect and database.retain_on_delete
    lock = recorder.one("azure-native:authorization:ManagementLockByScope")
    assert lock.inputs["level"] == "CanNotDelete", "a delete through ARM (portal, CLI, another tool) is refused too"
    assert lock.inputs["scope"].endswith("/servers/mlflow-db-server"), "the lock is on the server itself"


def test_unprotected_dev_server(run) -> None:
    recorder = run(_postgres(protect=False, zone_redundant_ha=False, sku_tier="Burstable", sku_name="Standard_B2s"))
    server = recorder.one(SERVER)
    assert not server.protect and not server.retain_on_delete
    assert not recorder.by_type("azure-native:authorization:ManagementLockByScope"), "dev: no lock to remove first"
    assert server.inputs["highAvailability"]["mode"] == "Disabled"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"encryption_key_uri": None}, "encryptionKeyUri"),
        ({"encryption_identity_id": None}, "encryptionIdentityId"),
        ({"private_endpoint_subnet_id": None}, "privateEndpointSubnetId"),
        ({"encryption_key_uri": "https://example.com/postgres"}, "encryptionKeyUri"),
        ({"tenant_id": "contoso"}, "tenantId"),
        (
            {"administrator": {"object_id": "x", "principal_name": "a", "principal_type": "group"}},
            "administrator.objectId",
        ),
        (
            {"administrator": {"object_id": ADMIN_GROUP, "principal_name": "a", "principal_type": "app"}},
            "administrator.principalType",
        ),
        ({"backup_retention_days": 3}, "backupRetentionDays"),
        ({"sku_tier": "Burstable"}, "skuTier"),
        ({"storage_size_gb": 50}, "storageSizeGb"),
        ({"server_name": "MLflow_DB"}, "serverName"),
        ({"geo_redundant_backup": True}, "geoBackupKeyUri"),
        ({"geo_backup_key_uri": KEY_URI}, "geoBackupKeyUri"),
        ({"protect": "yes"}, "protect"),
        ({"administrator_login": "mlflow_admin"}, "administratorPassword"),
        ({"administrator_password": "Str0ngPasswordWith16"}, "administratorLogin"),
        (
            {"administrator_login": "azure_superuser", "administrator_password": "Str0ngPasswordWith16"},
            "administratorLogin",
        ),
        ({"administrator_login": "pg_admin", "administrator_password": "Str0ngPasswordWith16"}, "administratorLogin"),
        (
            {"administrator_login": "mlflow_admin", "administrator_password": "alllowercase-long-pw"},
            "administratorPassword",
        ),
    ],
)
def test_bad_arguments_are_rejected_with_their_path(run, recorder, change, path) -> None:
    problems = rejected(run, recorder, _postgres(**change))
    assert path in problems, problems


PLATFORM_TAGS = {"data-owner": "ml-platform", "processing-activity": "ropa-ml-0042"}


@pytest.mark.parametrize("framework", ["hipaa", "gdpr"])
def test_a_protected_server_passes_the_packs(run, framework) -> None:
    from policies.replay import in_process, replay
    from stacks.synth import Synthesis

    recorder = run(_postgres(tags=PLATFORM_TAGS, log_analytics_workspace_id=WORKSPACE))
    verdict = replay(Synthesis("mlplatform", "test", recorder, {}, []), in_process(framework))
    assert [(item.policy, item.message) for item in verdict.mandatory] == []


PASSWORD = "Str0ng-Passw0rd-For-MLflow"


def test_a_password_administrator_enables_password_auth_next_to_entra_and_stays_secret(run) -> None:
    recorder = run(_postgres(administrator_login="mlflow_admin", administrator_password=PASSWORD))
    server = recorder.one(SERVER)
    assert server.inputs["authConfig"] == {
        "activeDirectoryAuth": "Enabled",
        "passwordAuth": "Enabled",
        "tenantId": TENANT,
    }, "MLflow connects with a password; Entra stays on for people"
    assert server.inputs["administratorLogin"] == "mlflow_admin"
    assert "administratorLoginPassword" in server.secret_inputs, "encrypted in state, never plain"
    for registration in recorder.registrations:
        for key, value in registration.inputs.items():
            if PASSWORD in json.dumps(value, default=str):
                assert key in registration.secret_inputs, f"{registration.name}.{key} carries the password in plain"
    assert server.inputs["network"] == {"publicNetworkAccess": "Disabled"}, "a password does not open the network"


def test_the_server_uses_the_vault_key_through_an_identity_granted_on_that_key_only(run) -> None:
    """Wired as the platform does: AzureKeyVault's key, its identity (the role on the key only) and the wait."""

    def program() -> None:
        vault = AzureKeyVault("kv", {"resource_group_name": RG, "location": LOCATION, "keys": [{"name": "postgres"}]})
        AzurePostgres(
            "mlflow-db",
            postgres_args(
                encryption_key_uri=vault.key_uris.apply(lambda uris: uris["postgres"]),
                encryption_identity_id=vault.identity_ids.apply(lambda ids: ids["postgres"]),
            ),
        )

    recorder = run(program)
    vault = recorder.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["enablePurgeProtection"] is True and vault["enableSoftDelete"] is True, "CMK prerequisites"
    assert vault["enableRbacAuthorization"] is True
    assert vault["publicNetworkAccess"] == "Disabled"
    assert vault["networkAcls"]["bypass"] == "AzureServices", (
        "with public access disabled, the server reaches its key as a trusted Microsoft service"
    )
    key = recorder.one("azure-native:keyvault:Key")
    (grant,) = recorder.by_type("azure-native:authorization:RoleAssignment")
    assert grant.inputs["roleDefinitionId"].endswith(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER), "get/wrap/unwrap"
    assert key.urn in grant.property_dependencies["scope"], "the grant is on the key, not the vault"
    identity = recorder.one("azure-native:managedidentity:UserAssignedIdentity")
    assert identity.urn in grant.property_dependencies["principalId"]
    server = recorder.one(SERVER)
    assert server.inputs["dataEncryption"]["type"] == "AzureKeyVault"
    assert_waits_for_propagation(recorder, server, [grant])
