"""AzureKeyVault: RBAC, purge protection, private access, HSM keys with rotation, per-key least-privilege identities."""

from __future__ import annotations

import pulumi

from components.azure import AzureKeyVault
from components.azure._shared import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from components.azure.key_vault import key_rotation_policy, key_type
from tests.components.azure._fixtures import LOCATION, RG, rejected

VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
ROLE = "azure-native:authorization:RoleAssignment"
KEYS = [{"name": "etcd", "purpose": "encrypt", "identity": False}, {"name": "storage"}]


def _vault(**overrides):
    return lambda: AzureKeyVault("kv", {"resource_group_name": RG, "location": LOCATION, "keys": KEYS, **overrides})


def test_the_rotation_policy_rotates_before_versions_expire() -> None:
    policy = key_rotation_policy("P1Y", "P2Y")
    assert policy["attributes"] == {"expiry_time": "P2Y"}
    assert {"action": {"type": "rotate"}, "trigger": {"time_after_create": "P1Y"}} in policy["lifetime_actions"]


def test_premium_vaults_use_hsm_keys() -> None:
    assert key_type("premium") == "RSA-HSM" and key_type("standard") == "RSA"


def test_the_vault_is_rbac_only_purge_protected_and_private_by_default(run) -> None:
    properties = run(_vault()).one(VAULT).inputs["properties"]
    assert properties["enableRbacAuthorization"] is True, "access policies are not auditable per role"
    assert properties["enablePurgeProtection"] is True, "losing a CMK destroys the data it protects"
    assert properties["enableSoftDelete"] is True and properties["softDeleteRetentionInDays"] == 90
    assert properties["publicNetworkAccess"] == "Disabled", "private endpoints only by default"
    assert properties["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}
    assert properties["sku"]["name"] == "premium"


def test_a_public_vault_still_denies_by_default_and_admits_only_listed_networks(run) -> None:
    properties = (
        run(_vault(public_network_access=True, allowed_ip_ranges=["203.0.113.7/32"])).one(VAULT).inputs["properties"]
    )
    assert properties["publicNetworkAccess"] == "Enabled"
    assert properties["networkAcls"]["defaultAction"] == "Deny", "HIPAA-AC-KV: a public vault must deny by default"
    assert properties["networkAcls"]["ipRules"] == [{"value": "203.0.113.7/32"}]


def test_keys_are_rsa_hsm_3072_with_rotation_and_least_operations(run) -> None:
    recorder = run(_vault())
    for key in recorder.by_type(KEY):
        properties = key.inputs["properties"]
        assert properties["kty"] == "RSA-HSM" and properties["keySize"] == 3072, "HSM-backed 3072-bit RSA"
        actions = [action["action"]["type"] for action in properties["rotationPolicy"]["lifetimeActions"]]
        assert "rotate" in actions, "HIPAA-ENC-KV-KEY: keys rotate automatically"
        assert properties["rotationPolicy"]["attributes"]["expiryTime"] == "P2Y", "every version expires"
    assert recorder.one(KEY, "kv-etcd").inputs["properties"]["keyOps"] == ["encrypt", "decrypt"]
    assert recorder.one(KEY, "kv-storage").inputs["properties"]["keyOps"] == ["wrapKey", "unwrapKey"]


def test_each_key_identity_gets_the_encryption_user_role_on_its_key_only(run) -> None:
    recorder = run(_vault())
    identities = recorder.by_type("azure-native:managedidentity:UserAssignedIdentity")
    assert [identity.name for identity in identities] == ["kv-storage-identity"], "etcd asked for no identity"
    grant = recorder.one(ROLE)
    key = recorder.one(KEY, "kv-storage")
    assert grant.property_dependencies["scope"] == [key.urn], "the scope is the key itself, not the vault"
    assert grant.inputs["roleDefinitionId"].endswith(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert grant.inputs["principalType"] == "ServicePrincipal"


def test_the_identity_output_waits_for_its_key_grant(run) -> None:
    recorder = run(_vault())
    outputs = recorder.one("mlplatform:index:AzureKeyVault").outputs
    assert set(outputs["identityIds"]) == {"storage"}
    assert set(outputs["keyVersionedUris"]) == {"etcd", "storage"}
    assert outputs["keyVersionedUris"]["etcd"] != outputs["keyUris"]["etcd"], "KMS and DES need versioned URIs"


def test_a_private_endpoint_is_registered_in_the_vault_dns_zone(run) -> None:
    recorder = run(_vault(private_endpoint_subnet_id="subnet-id", private_dns_zone_id="zone-id"))
    endpoint = recorder.one("azure-native:network:PrivateEndpoint")
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]
    group = recorder.one("azure-native:network:PrivateDnsZoneGroup")
    assert group.inputs["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == "zone-id"


def test_the_private_endpoint_output_resolves_once_its_dns_records_exist(run) -> None:
    """The AKS KMS plugin reaches the vault privately: the cluster waits for this, not for the whole vault."""

    def program() -> None:
        vault = _vault(private_endpoint_subnet_id="subnet-id", private_dns_zone_id="zone-id")()
        pulumi.CustomResource("test:index:Consumer", "consumer", {"endpoint": vault.private_endpoint_id})

    recorder = run(program)
    consumer = recorder.one("test:index:Consumer")
    endpoint = recorder.one("azure-native:network:PrivateEndpoint")
    assert consumer.inputs["endpoint"], "the endpoint's resource ID"
    assert set(consumer.property_dependencies["endpoint"]) == {
        endpoint.urn,
        recorder.one("azure-native:network:PrivateDnsZoneGroup").urn,
    }, "resolving the vault's name privately needs the DNS records too"


def test_without_a_private_endpoint_the_output_is_empty(run) -> None:
    outputs = run(_vault()).one("mlplatform:index:AzureKeyVault").outputs
    assert outputs["privateEndpointId"] == ""


def test_protect_covers_the_vault_keys_and_identities(run) -> None:
    recorder = run(_vault(protect=True))
    for registration in [
        *recorder.by_type(VAULT),
        *recorder.by_type(KEY),
        *recorder.by_type("azure-native:managedidentity:UserAssignedIdentity"),
    ]:
        assert registration.protect and registration.retain_on_delete, f"{registration.name} must survive a destroy"


def test_bad_vault_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        lambda: AzureKeyVault(
            "kv",
            {
                "location": LOCATION,
                "key_size": 2048,
                "rotate_after": "P2Y",
                "key_expiry": "P2Y",
                "private_endpoint_subnet_id": "subnet-id",
                "allowed_ip_ranges": ["10.0.0.0/8"],
                "role_propagation_wait": "ten minutes",
                "keys": [{"name": "a_b"}, {"name": "ok", "purpose": "sign"}],  # type: ignore[typeddict-item]
            },
        ),
    )
    assert set(problems) == {
        "resourceGroupName",
        "keySize",
        "keyExpiry",
        "privateDnsZoneId",
        "allowedIpRanges",
        "rolePropagationWait",
        "keys[0].name",
        "keys[1].purpose",
    }, problems


def test_vault_audit_events_go_to_the_workspace(run) -> None:
    recorder = run(_vault(log_analytics_workspace_id="ws"))
    setting = recorder.one("azure-native:monitor:DiagnosticSetting")
    assert setting.inputs["logs"] == [{"categoryGroup": "audit", "enabled": True}], "HIPAA-LOG-AZ-DIAG"
    assert setting.property_dependencies["resourceUri"] == [recorder.one(VAULT).urn]
