"""AzureContainerRegistry: Premium, private, CMK-encrypted, retention and export policies, pull grants, audit logs."""

from __future__ import annotations

from components.azure import AzureContainerRegistry
from components.azure._shared import ACR_PULL
from components.azure.container_registry import registry_policies
from tests.components.azure._fixtures import registry_args, rejected

REGISTRY = "azure-native:containerregistry:Registry"


def _registry(**overrides):
    return lambda: AzureContainerRegistry("acr", registry_args(**overrides))


def test_policies_keep_retention_on_and_export_off_by_default() -> None:
    policies = registry_policies(untagged_retention_days=7, export_enabled=False)
    assert policies["retention_policy"] == {"status": "enabled", "days": 7}
    assert policies["export_policy"] == {"status": "disabled"}
    assert policies["trust_policy"]["status"] == "disabled", "content trust is unsupported with a CMK"


def test_the_registry_is_premium_private_and_has_no_admin_or_anonymous_access(run) -> None:
    inputs = run(_registry()).one(REGISTRY).inputs
    assert inputs["sku"] == {"name": "Premium"}, "private endpoints and CMK need Premium"
    assert inputs["adminUserEnabled"] is False and inputs["anonymousPullEnabled"] is False, "HIPAA-AC-ACR"
    assert inputs["publicNetworkAccess"] == "Disabled", "the SDK would otherwise inject Enabled"
    assert inputs["networkRuleSet"]["defaultAction"] == "Deny"
    assert inputs["networkRuleBypassOptions"] == "AzureServices"
    assert inputs["zoneRedundancy"] == "Enabled"


def test_the_registry_is_encrypted_with_the_customer_key_through_its_identity(run) -> None:
    inputs = run(_registry()).one(REGISTRY).inputs
    encryption = inputs["encryption"]
    assert encryption["status"] == "enabled", "HIPAA-ENC-ACR-CMK"
    assert encryption["keyVaultProperties"] == {
        "keyIdentifier": "https://kv-test.vault.azure.net/keys/registry",
        "identity": "registry-client-id",
    }, "a versionless key lets the registry follow rotation"
    assert inputs["identity"]["type"] == "UserAssigned"
    assert list(inputs["identity"]["userAssignedIdentities"]) == [registry_args()["encryption_identity_id"]]


def test_retention_and_export_policies_are_set(run) -> None:
    policies = run(_registry(untagged_retention_days=14)).one(REGISTRY).inputs["policies"]
    assert policies["retentionPolicy"] == {"status": "enabled", "days": 14}, "HIPAA-INT-ACR-POLICIES"
    assert policies["exportPolicy"] == {"status": "disabled"}, "no export of images out of a private registry"


def test_enabling_cmk_is_a_create_time_choice_and_the_registry_is_protected(run) -> None:
    registry = run(_registry(protect=True)).one(REGISTRY)
    assert registry.replace_on_changes == ["encryption.status"] and registry.delete_before_replace
    assert registry.protect and registry.retain_on_delete, "prod registries survive a destroy"


def test_a_public_registry_denies_by_default_and_admits_listed_networks(run) -> None:
    inputs = (
        run(_registry(public_network_access=True, export_policy_enabled=True, allowed_ip_ranges=["203.0.113.0/24"]))
        .one(REGISTRY)
        .inputs
    )
    assert inputs["publicNetworkAccess"] == "Enabled"
    assert inputs["networkRuleSet"] == {
        "defaultAction": "Deny",
        "ipRules": [{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}],
    }


def test_pull_principals_get_acr_pull_on_this_registry_only(run) -> None:
    recorder = run(_registry(pull_principal_ids=["kubelet-object-id"]))
    grant = recorder.one("azure-native:authorization:RoleAssignment")
    assert grant.inputs["roleDefinitionId"].endswith(ACR_PULL) and grant.inputs["principalId"] == "kubelet-object-id"
    assert grant.property_dependencies["scope"] == [recorder.one(REGISTRY).urn]


def test_private_endpoint_and_diagnostics_are_wired(run) -> None:
    recorder = run(
        _registry(private_endpoint_subnet_id="subnet", private_dns_zone_id="zone", log_analytics_workspace_id="ws")
    )
    endpoint = recorder.one("azure-native:network:PrivateEndpoint")
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["registry"]
    setting = recorder.one("azure-native:monitor:DiagnosticSetting")
    assert [(log["categoryGroup"], log["enabled"]) for log in setting.inputs["logs"]] == [("allLogs", True)], (
        "repository and login events (the whole allLogs group) reach the workspace"
    )
    assert setting.inputs["workspaceId"] == "ws"


def test_bad_registry_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _registry(
            encryption_key_uri=None,
            registry_name="my-registry",
            public_network_access=True,
            untagged_retention_days=400,
            private_dns_zone_id="zone",
        ),
    )
    assert set(problems) == {
        "encryptionKeyUri",
        "registryName",
        "exportPolicyEnabled",
        "untaggedRetentionDays",
        "privateEndpointSubnetId",
    }, problems
    assert "public network access is disabled" in problems["exportPolicyEnabled"], "names the ACR API constraint"
