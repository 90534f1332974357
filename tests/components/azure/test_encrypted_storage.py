"""AzureEncryptedStorage: CMK + infrastructure encryption, no public or shared-key access, recovery, lifecycle."""

from __future__ import annotations

from components.azure import AzureEncryptedStorage
from components.azure._shared import blob_container_id
from components.azure.encrypted_storage import lifecycle_rules
from tests.components.azure._fixtures import rejected, storage_args

ACCOUNT = "azure-native:storage:StorageAccount"


def _storage(**overrides):
    return lambda: AzureEncryptedStorage("data", storage_args(**overrides))


def test_one_lifecycle_rule_per_container_prefix() -> None:
    rules = lifecycle_rules(storage_args()["containers"])
    assert [rule["name"] for rule in rules] == ["retain-datasets", "retain-models", "retain-scratch"]
    datasets = rules[0]["definition"]
    assert datasets["filters"]["prefix_match"] == ["datasets/"]
    assert datasets["actions"]["base_blob"] == {"delete": {"days_after_modification_greater_than": 365}}
    assert datasets["actions"]["version"] == {"delete": {"days_after_creation_greater_than": 30}}
    assert "base_blob" not in rules[2]["definition"]["actions"], "no retention means keep current blobs"
    assert rules[2]["definition"]["actions"]["snapshot"], "old versions and snapshots still expire"


def test_the_account_is_encrypted_with_the_customer_key_and_infrastructure_encryption(run) -> None:
    encryption = run(_storage()).one(ACCOUNT).inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault", "HIPAA-ENC-STG-CMK"
    assert encryption["keyVaultProperties"] == {"keyVaultUri": "https://kv-test.vault.azure.net/", "keyName": "storage"}
    assert encryption["requireInfrastructureEncryption"] is True, "double encryption at rest"
    assert encryption["encryptionIdentity"]["encryptionUserAssignedIdentity"].endswith("/storage")
    assert {service["keyType"] for service in encryption["services"].values()} == {"Account"}


def test_the_account_allows_no_public_shared_key_or_cross_tenant_access(run) -> None:
    inputs = run(_storage()).one(ACCOUNT).inputs
    assert inputs["kind"] == "StorageV2" and inputs["sku"] == {"name": "Standard_ZRS"}
    assert inputs["enableHttpsTrafficOnly"] is True and inputs["minimumTlsVersion"] == "TLS1_2", "HIPAA-TLS-STG"
    assert inputs["allowBlobPublicAccess"] is False, "HIPAA-AC-STG-PUBLIC"
    assert inputs["allowSharedKeyAccess"] is False, "Entra only: keys and account SAS cannot leak"
    assert inputs["allowCrossTenantReplication"] is False
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["networkRuleSet"]["defaultAction"] == "Deny" and inputs["networkRuleSet"]["bypass"] == "AzureServices"


def test_blobs_are_versioned_and_recoverable(run) -> None:
    service = run(_storage()).one("azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True, "HIPAA-BAK-STG-SOFTDELETE"
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert service["restorePolicy"] == {"enabled": True, "days": 29}, "restore must stay inside the soft-delete window"


def test_containers_are_private_and_lifecycle_managed(run) -> None:
    recorder = run(_storage())
    containers = recorder.by_type("azure-native:storage:BlobContainer")
    assert sorted(c.inputs["containerName"] for c in containers) == ["datasets", "models", "scratch"]
    assert all(c.inputs["publicAccess"] == "None" for c in containers)
    policy = recorder.one("azure-native:storage:ManagementPolicy")
    assert policy.inputs["managementPolicyName"] == "default"
    assert len(policy.inputs["policy"]["rules"]) == 3, "GDPR-RET-STG-LIFECYCLE: every container has a rule"


def test_container_ids_are_the_exact_role_assignment_scopes(run) -> None:
    recorder = run(_storage())
    outputs = recorder.one("mlplatform:index:AzureEncryptedStorage").outputs
    account_id = outputs["accountId"]
    assert outputs["containerIds"]["models"] == blob_container_id(account_id, "models")
    assert outputs["containerNames"] == ["datasets", "models", "scratch"]


def test_protect_covers_the_account_and_its_containers(run) -> None:
    recorder = run(_storage(protect=True))
    for registration in [recorder.one(ACCOUNT), *recorder.by_type("azure-native:storage:BlobContainer")]:
        assert registration.protect and registration.retain_on_delete, f"{registration.name} holds data"


def test_blob_access_is_logged_and_the_endpoint_is_private(run) -> None:
    recorder = run(
        _storage(private_endpoint_subnet_id="subnet", private_dns_zone_id="zone", log_analytics_workspace_id="ws")
    )
    setting = recorder.one("azure-native:monitor:DiagnosticSetting")
    assert setting.inputs["resourceUri"].endswith("/blobServices/default"), "blob logs live on the blob service"
    assert setting.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}], "reads are audited too"
    endpoint = recorder.one("azure-native:network:PrivateEndpoint")
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]


def test_bad_storage_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _storage(
            account_name="Not_Valid",
            sku="Premium_LRS",
            blob_soft_delete_days=1,
            allowed_ip_ranges=["203.0.113.0/24"],
            containers=[{"name": "Models"}, {"name": "ok", "retention_days": 0}],
        ),
    )
    assert set(problems) == {
        "accountName",
        "sku",
        "blobSoftDeleteDays",
        "allowedIpRanges",
        "containers[0].name",
        "containers[1].name",
        "containers[1].retentionDays",
    }, problems
