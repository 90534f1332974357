"""Compliant baselines and mutations for the Azure rules."""

from __future__ import annotations

from tests.policies.cases import (
    RECORD_TAGS,
    ConfigCase,
    Fail,
    ResourceCase,
    StackCase,
    StackConfigCase,
    StackFail,
    add,
    change,
    drop,
    then,
)
from tests.policies.harness import DELETE, UNKNOWN, Res

STORAGE = "azure-native:storage:StorageAccount"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
GROUP_ONLY = ("azure-native:resources:ResourceGroup", {"location": "westeurope"})

KMS = {"enabled": True, "keyId": "https://kv.vault.azure.net/keys/etcd/1", "keyVaultNetworkAccess": "Private"}
SYSTEM_POOL = {
    "name": "system",
    "vmSize": "Standard_D4ds_v5",
    "enableEncryptionAtHost": True,
    "enableNodePublicIP": False,
}

PG_SERVER = "azure-native:dbforpostgresql:Server"
PG_CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
PG_IDENTITY = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pg"
PG_SERVER_PROPS: dict[str, object] = {
    "version": "17",
    "network": {"publicNetworkAccess": "Disabled"},
    "dataEncryption": {
        "type": "AzureKeyVault",
        "primaryKeyURI": "https://kv.vault.azure.net/keys/postgres",
        "primaryUserAssignedIdentityId": PG_IDENTITY,
    },
    "backup": {"backupRetentionDays": 14, "geoRedundantBackup": "Disabled"},
    "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": "tenant"},
    "tags": RECORD_TAGS,
}
PG_FIREWALL_RULE = "azure-native:dbforpostgresql:FirewallRule"

RESOURCE_CASES: list[ResourceCase] = [
    ResourceCase(
        rule="azure-postgres-flexible-server-cmk-encryption",
        type=PG_SERVER,
        props=PG_SERVER_PROPS,
        fails={
            "service-managed": Fail({"dataEncryption": DELETE}, "uses service-managed keys"),
            "system-assigned": Fail({"dataEncryption.type": "SystemAssigned"}, "uses service-managed keys"),
            "no key": Fail({"dataEncryption.primaryKeyURI": DELETE}, "primary_key_uri"),
            "no identity": Fail({"dataEncryption.primaryUserAssignedIdentityId": DELETE}, "primary_user_assigned"),
            "geo backups without their key": Fail({"backup.geoRedundantBackup": "Enabled"}, "geo_backup_key_uri"),
        },
        unknown={"dataEncryption.type": UNKNOWN},
        passes={
            "geo backups with their key": {
                "backup.geoRedundantBackup": "Enabled",
                "dataEncryption.geoBackupKeyURI": "https://kv-paired.vault.azure.net/keys/postgres",
                "dataEncryption.geoBackupUserAssignedIdentityId": PG_IDENTITY,
            }
        },
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-postgres-flexible-server-no-public-access",
        type=PG_SERVER,
        props=PG_SERVER_PROPS,
        fails={
            "public": Fail({"network.publicNetworkAccess": "Enabled"}, "accepts connections from public networks"),
            "default": Fail({"network": DELETE}, "public_network_access unset"),
        },
        unknown={"network.publicNetworkAccess": UNKNOWN},
        passes={"vnet integration": {"network": {"delegatedSubnetResourceId": "/subscriptions/0/subnets/pg"}}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-postgres-flexible-server-backup-retention",
        type=PG_SERVER,
        props=PG_SERVER_PROPS,
        fails={
            "short": Fail({"backup.backupRetentionDays": 3}, "keeps backups for 3 days"),
            "default": Fail({"backup": DELETE}, "the default number of"),
        },
        unknown={"backup.backupRetentionDays": UNKNOWN},
        passes={"a week": {"backup.backupRetentionDays": 7}},
        not_applicable={"other type": GROUP_ONLY},
        configs={
            "a ceiling below the backups rejects them": ConfigCase(
                {"maxRetentionDays": {"confidential": 10}}, passes=False
            ),
        },
    ),
    ResourceCase(
        rule="azure-postgres-flexible-server-entra-auth",
        type=PG_SERVER,
        props=PG_SERVER_PROPS,
        fails={
            "passwords only": Fail({"authConfig.activeDirectoryAuth": "Disabled"}, "accepts only database passwords"),
            "service default": Fail({"authConfig": DELETE}, "active_directory_auth='Enabled'"),
        },
        unknown={"authConfig.activeDirectoryAuth": UNKNOWN},
        passes={"passwords kept beside Entra": {"authConfig.passwordAuth": "Enabled"}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-postgres-flexible-server-firewall-no-public-range",
        type=PG_FIREWALL_RULE,
        props={"serverName": "mlflow", "startIpAddress": "203.0.113.10", "endIpAddress": "203.0.113.10"},
        fails={
            "every Azure service": Fail(
                {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}, "admits every Azure service"
            ),
            "the internet": Fail(
                {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}, "admits the internet"
            ),
            "everything above a client": Fail({"endIpAddress": "255.255.255.255"}, "admits the internet"),
        },
        unknown={"startIpAddress": UNKNOWN},
        passes={"a client's range": {"endIpAddress": "203.0.113.20"}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-postgres-flexible-server-tls",
        type=PG_CONFIGURATION,
        props={"configurationName": "require_secure_transport", "value": "on", "source": "user-override"},
        fails={
            "off": Fail({"value": "off"}, "set it to 'on'"),
            "old tls": Fail(
                {"configurationName": "ssl_min_protocol_version", "value": "TLSv1.1"}, "allows TLS older than 1.2"
            ),
        },
        unknown={"value": UNKNOWN},
        passes={
            "upper case": {"value": "ON"},
            "tls 1.3": {"configurationName": "ssl_min_protocol_version", "value": "TLSv1.3"},
        },
        not_applicable={
            "other type": GROUP_ONLY,
            "other parameter": (PG_CONFIGURATION, {"configurationName": "log_connections", "value": "on"}),
        },
    ),
    ResourceCase(
        rule="azure-acr-registry-cmk-encryption",
        type=REGISTRY,
        props={
            "encryption": {
                "status": "enabled",
                "keyVaultProperties": {"keyIdentifier": "https://kv/keys/acr", "identity": "id"},
            }
        },
        fails={
            "microsoft keys": Fail({"encryption": DELETE}, "uses Microsoft-managed keys"),
            "no key": Fail({"encryption.keyVaultProperties": DELETE}, "enables encryption without a key"),
        },
        unknown={"encryption.status": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-acr-registry-export-disabled",
        type=REGISTRY,
        props={"policies": {"exportPolicy": {"status": "disabled"}}},
        fails={
            "export on": Fail({"policies.exportPolicy.status": "enabled"}, "allows exporting images"),
            "default": Fail({"policies": DELETE}, "allows exporting"),
        },
        unknown={"policies.exportPolicy.status": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-acr-registry-local-auth-disabled",
        type=REGISTRY,
        props={"adminUserEnabled": False, "anonymousPullEnabled": False},
        fails={
            "admin user": Fail({"adminUserEnabled": True}, "allows a shared admin user"),
            "anonymous pull": Fail({"anonymousPullEnabled": True}, "allows anonymous pulls"),
        },
        unknown={"adminUserEnabled": UNKNOWN},
        passes={"azure defaults": {"adminUserEnabled": DELETE, "anonymousPullEnabled": DELETE}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-acr-registry-public-network-disabled",
        type=REGISTRY,
        props={"publicNetworkAccess": "Disabled", "sku": {"name": "Premium"}},
        fails={
            "sdk default": Fail({"publicNetworkAccess": "Enabled"}, "reachable from the internet"),
            "unset": Fail({"publicNetworkAccess": DELETE}, "public_network_access='Disabled'"),
        },
        unknown={"publicNetworkAccess": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-acr-registry-retention-policy",
        type=REGISTRY,
        props={"policies": {"retentionPolicy": {"status": "enabled", "days": 7.0}}},
        fails={
            "no retention": Fail({"policies.retentionPolicy.status": "disabled"}, "keeps untagged manifests forever")
        },
        unknown={"policies.retentionPolicy.status": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-acr-registry-zone-redundant",
        type=REGISTRY,
        props={"zoneRedundancy": "Enabled"},
        fails={"sdk default": Fail({"zoneRedundancy": "Disabled"}, "is not zone-redundant")},
        unknown={"zoneRedundancy": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-azure-rbac",
        type=CLUSTER,
        props={"aadProfile": {"managed": True, "enableAzureRBAC": True}},
        fails={
            "kubernetes rbac only": Fail({"aadProfile.enableAzureRBAC": False}, "does not authorize with Azure RBAC")
        },
        unknown={"aadProfile.enableAzureRBAC": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-disk-encryption-set",
        type=CLUSTER,
        props={
            "diskEncryptionSetID": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/diskEncryptionSets/des"
        },
        fails={"platform keys": Fail({"diskEncryptionSetID": DELETE}, "platform-managed keys")},
        unknown={"diskEncryptionSetID": UNKNOWN},
        unknown_passes=True,
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-entra-rbac",
        type=CLUSTER,
        props={"enableRBAC": True, "aadProfile": {"managed": True}, "disableLocalAccounts": True},
        fails={
            "rbac off": Fail({"enableRBAC": False}, "disables Kubernetes RBAC"),
            "no entra": Fail({"aadProfile": DELETE}, "managed Entra ID integration"),
            "local accounts": Fail({"disableLocalAccounts": DELETE}, "keeps local accounts"),
        },
        unknown={"disableLocalAccounts": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-etcd-kms",
        type=CLUSTER,
        props={"securityProfile": {"azureKeyVaultKms": KMS}},
        fails={
            "no kms": Fail({"securityProfile": DELETE}, "does not encrypt secrets with Key Vault KMS"),
            "no key": Fail({"securityProfile.azureKeyVaultKms.keyId": DELETE}, "without a key"),
        },
        unknown={"securityProfile.azureKeyVaultKms.enabled": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-kms-private-key-vault",
        type=CLUSTER,
        props={"securityProfile": {"azureKeyVaultKms": KMS}},
        fails={
            "public vault": Fail(
                {"securityProfile.azureKeyVaultKms.keyVaultNetworkAccess": "Public"}, "over the public network"
            )
        },
        unknown={"securityProfile.azureKeyVaultKms.keyVaultNetworkAccess": UNKNOWN},
        not_applicable={"no kms": (CLUSTER, {"securityProfile": {}})},
    ),
    ResourceCase(
        rule="azure-aks-cluster-network-policy",
        type=CLUSTER,
        props={"networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"}},
        fails={"none": Fail({"networkProfile.networkPolicy": DELETE}, "does not enforce NetworkPolicies")},
        unknown={"networkProfile.networkPolicy": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-cluster-private-api",
        type=CLUSTER,
        props={"apiServerAccessProfile": {"enablePrivateCluster": True}},
        fails={
            "public": Fail({"apiServerAccessProfile": DELETE}, "exposes its API server to the internet"),
            "open ranges": Fail(
                {"apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["0.0.0.0/0"]}},
                "enable_private_cluster=True",
            ),
        },
        unknown={"apiServerAccessProfile.enablePrivateCluster": UNKNOWN},
        passes={
            "public for a vpn range": {
                "apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.10/32"]}
            }
        },
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-node-pool-encryption-at-host",
        type=CLUSTER,
        props={"agentPoolProfiles": [SYSTEM_POOL]},
        fails={
            "no host encryption": Fail({"agentPoolProfiles[0].enableEncryptionAtHost": DELETE}, "node pool 'system'")
        },
        unknown={"agentPoolProfiles[0].enableEncryptionAtHost": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-aks-node-pool-gpu-taint",
        type=AGENT_POOL,
        props={
            "vmSize": "Standard_NC4as_T4_v3",
            "nodeTaints": ["sku=gpu:NoSchedule", "nvidia.com/gpu=true:NoSchedule"],
        },
        fails={
            "untainted": Fail({"nodeTaints": DELETE}, "AKS GPU node pool 'subject' (Standard_NC4as_T4_v3)"),
            "prefer only": Fail({"nodeTaints": ["sku=gpu:PreferNoSchedule"]}, "has no GPU taint"),
        },
        unknown={"nodeTaints": UNKNOWN},
        passes={"nvidia taint only": {"nodeTaints": ["nvidia.com/gpu=present:NoSchedule"]}},
        not_applicable={"cpu pool": (AGENT_POOL, {"vmSize": "Standard_D4ds_v5"})},
    ),
    ResourceCase(
        rule="azure-aks-node-pool-no-public-ip",
        type=CLUSTER,
        props={"agentPoolProfiles": [SYSTEM_POOL]},
        fails={"public ips": Fail({"agentPoolProfiles[0].enableNodePublicIP": True}, "gives nodes public IPs")},
        unknown={"agentPoolProfiles[0].enableNodePublicIP": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-data-store-processing-record-tags",
        type=STORAGE,
        props={"tags": RECORD_TAGS},
        fails={"no activity": Fail({"tags.processing-activity": DELETE}, "processing-activity")},
        unknown={"tags": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-disk-cmk-encryption",
        type="azure-native:compute:Disk",
        props={"encryption": {"diskEncryptionSetId": "/des", "type": "EncryptionAtRestWithCustomerKey"}},
        fails={"platform keys": Fail({"encryption": DELETE}, "uses platform-managed keys")},
        unknown={"encryption.diskEncryptionSetId": UNKNOWN},
        unknown_passes=True,
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-disk-encryption-set-customer-key",
        type="azure-native:compute:DiskEncryptionSet",
        props={"encryptionType": "EncryptionAtRestWithCustomerKey", "rotationToLatestKeyVersionEnabled": True},
        fails={
            "confidential vm type": Fail(
                {"encryptionType": "ConfidentialVmEncryptedWithCustomerKey"},
                "has encryption_type ConfidentialVmEncryptedWithCustomerKey",
            ),
            "no rotation": Fail({"rotationToLatestKeyVersionEnabled": DELETE}, "stays on one key version"),
        },
        unknown={"encryptionType": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-key-vault-key-hsm-strength",
        type=KEY,
        props={"properties": {"kty": "RSA-HSM", "keySize": 3072.0}},
        fails={
            "software key": Fail({"properties.kty": "RSA"}, "is software-protected (RSA)"),
            "short key": Fail({"properties.keySize": 2048.0}, "is RSA 2048"),
        },
        unknown={"properties.kty": UNKNOWN},
        passes={"elliptic curve": {"properties": {"kty": "EC-HSM", "curveName": "P-384"}}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-key-vault-key-rotation",
        type=KEY,
        props={
            "properties": {
                "kty": "RSA-HSM",
                "rotationPolicy": {
                    "lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]
                },
            }
        },
        fails={"never rotates": Fail({"properties.rotationPolicy": DELETE}, "never rotates or expires")},
        unknown={"properties.rotationPolicy.lifetimeActions": UNKNOWN},
        passes={
            "expires instead": {"properties.rotationPolicy": DELETE, "properties.attributes": {"expires": 1900000000.0}}
        },
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-key-vault-public-network-restricted",
        type=VAULT,
        props={"properties": {"publicNetworkAccess": "Disabled"}},
        fails={"public": Fail({"properties.publicNetworkAccess": "Enabled"}, "accepts traffic from the internet")},
        unknown={"properties.publicNetworkAccess": UNKNOWN},
        passes={
            "deny by default": {
                "properties": {"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Deny"}}
            }
        },
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-key-vault-purge-protection",
        type=VAULT,
        props={"properties": {"enablePurgeProtection": True, "softDeleteRetentionInDays": 90.0}},
        fails={
            "purgeable": Fail({"properties.enablePurgeProtection": DELETE}, "can be purged"),
            "short retention": Fail({"properties.softDeleteRetentionInDays": 7.0}, "keeps deleted items 7 days"),
            "no soft delete": Fail({"properties.enableSoftDelete": False}, "disables soft delete"),
        },
        unknown={"properties.enablePurgeProtection": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
        configs={
            "a 7-day minimum": ConfigCase({"minVaultRetentionDays": 7}, {"properties.softDeleteRetentionInDays": 7.0})
        },
    ),
    ResourceCase(
        rule="azure-key-vault-rbac-authorization",
        type=VAULT,
        props={"properties": {"enableRbacAuthorization": True}},
        fails={"access policies": Fail({"properties.enableRbacAuthorization": DELETE}, "uses access policies")},
        unknown={"properties.enableRbacAuthorization": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-location-allowed",
        type=STORAGE,
        props={"location": "westeurope"},
        fails={
            "us location": Fail({"location": "eastus"}, "is in eastus, outside the allowed locations"),
            "display name": Fail({"location": "West US"}, "is in West US"),
            "global storage": Fail({"location": "global"}, "is in global"),
        },
        unknown={"location": UNKNOWN},
        passes={"display name in the eu": {"location": "West Europe"}},
        not_applicable={
            "inherits the group location": (STORAGE, {"kind": "StorageV2"}),
            "aws resource": ("aws:s3/bucket:Bucket", {"region": "us-east-1"}),
        },
        configs={"a US allow-list": ConfigCase({"allowedLocations": ["eastus"]}, {"location": "eastus"})},
    ),
    ResourceCase(
        rule="azure-log-analytics-workspace-retention",
        type="azure-native:operationalinsights:Workspace",
        props={"retentionInDays": 365.0},
        fails={
            "azure default": Fail({"retentionInDays": DELETE}, "no explicit retention"),
            "short": Fail({"retentionInDays": 30.0}, "less than"),
        },
        unknown={"retentionInDays": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
        configs={"a 30-day minimum": ConfigCase({"minLogRetentionDays": 30}, {"retentionInDays": 30.0})},
    ),
    ResourceCase(
        rule="azure-storage-account-cmk-encryption",
        type=STORAGE,
        props={
            "encryption": {
                "keySource": "Microsoft.Keyvault",
                "keyVaultProperties": {"keyName": "data", "keyVaultUri": "https://kv.vault.azure.net/"},
            }
        },
        fails={
            "microsoft keys": Fail({"encryption.keySource": "Microsoft.Storage"}, "uses Microsoft-managed keys"),
            "no key name": Fail({"encryption.keyVaultProperties.keyName": DELETE}, "key_name"),
        },
        unknown={"encryption.keySource": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-account-https-only",
        type=STORAGE,
        props={"enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"},
        fails={
            "implicit https": Fail({"enableHttpsTrafficOnly": DELETE}, "does not require HTTPS"),
            "old tls": Fail({"minimumTlsVersion": "TLS1_0"}, "accepts TLS older than 1.2 (TLS1_0)"),
        },
        unknown={"minimumTlsVersion": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-account-infrastructure-encryption",
        type=STORAGE,
        props={"encryption": {"requireInfrastructureEncryption": True}},
        fails={"single encryption": Fail({"encryption": DELETE}, "has no infrastructure encryption")},
        unknown={"encryption.requireInfrastructureEncryption": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-account-no-public-access",
        type=STORAGE,
        props={"allowBlobPublicAccess": False, "allowCrossTenantReplication": False, "publicNetworkAccess": "Disabled"},
        fails={
            "public blobs": Fail({"allowBlobPublicAccess": True}, "allow_blob_public_access=False"),
            "implicit": Fail({"allowBlobPublicAccess": DELETE}, "does not disable allow_blob_public_access"),
            "cross tenant": Fail({"allowCrossTenantReplication": DELETE}, "allow_cross_tenant_replication"),
            "internet": Fail({"publicNetworkAccess": "Enabled"}, "accepts traffic from the internet"),
        },
        unknown={"publicNetworkAccess": UNKNOWN},
        passes={"deny by default": {"publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny"}}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-account-redundant-sku",
        type=STORAGE,
        props={"sku": {"name": "Standard_ZRS"}},
        fails={"local": Fail({"sku.name": "Standard_LRS"}, "uses Standard_LRS")},
        unknown={"sku.name": UNKNOWN},
        passes={"geo-zone": {"sku.name": "Standard_RAGZRS"}},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-account-shared-key-disabled",
        type=STORAGE,
        props={"allowSharedKeyAccess": False},
        fails={"keys allowed": Fail({"allowSharedKeyAccess": DELETE}, "accepts account keys and SAS tokens")},
        unknown={"allowSharedKeyAccess": UNKNOWN},
        not_applicable={"other type": GROUP_ONLY},
    ),
    ResourceCase(
        rule="azure-storage-container-no-public-access",
        type="azure-native:storage:BlobContainer",
        props={"publicAccess": "None"},
        fails={"anonymous blobs": Fail({"publicAccess": "Blob"}, "allows anonymous Blob access")},
        unknown={"publicAccess": UNKNOWN},
        passes={"default": {"publicAccess": DELETE}},
        not_applicable={"other type": GROUP_ONLY},
    ),
]


# --- Stack rules -----------------------------------------------------------------------------------------

BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
POLICY = "azure-native:storage:ManagementPolicy"
CONTAINER = "azure-native:storage:BlobContainer"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"


def account(name: str, classification: str = "phi") -> Res:
    """A storage account with record tags."""
    return Res(STORAGE, name, {"accountName": name, "tags": {**RECORD_TAGS, "data-classification": classification}})


def for_account(type_token: str, name: str, target: str, props: dict[str, object]) -> Res:
    """A storage child resource joined through `accountName`."""
    return Res(type_token, name, {"accountName": target, "resourceGroupName": "rg", **props}, {"accountName": [target]})


def retention_rule(
    name: str, prefixes: list[str] | None, days: float, version_days: float | None = 30.0
) -> dict[str, object]:
    """A lifecycle management rule."""
    actions: dict[str, object] = {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": days}}}
    if version_days is not None:
        actions["version"] = {"delete": {"daysAfterCreationGreaterThan": version_days}}
    filters: dict[str, object] = {"blobTypes": ["blockBlob"]}
    if prefixes is not None:
        filters["prefixMatch"] = prefixes
    return {"name": name, "enabled": True, "type": "Lifecycle", "definition": {"filters": filters, "actions": actions}}


SOFT_DELETE = {
    "blobServicesName": "default",
    "deleteRetentionPolicy": {"enabled": True, "days": 30.0},
    "containerDeleteRetentionPolicy": {"enabled": True, "days": 30.0},
    "isVersioningEnabled": True,
}

STACK_CASES: list[StackCase] = [
    StackCase(
        rule="azure-postgres-flexible-server-delete-lock",
        resources=[
            Res("azure-native:resources:ResourceGroup", "mlflow-rg", {"location": "westeurope"}),
            Res(
                PG_SERVER,
                "mlflow-server",
                {**PG_SERVER_PROPS, "serverName": "mlflow-pg", "resourceGroupName": "mlflow-rg-1234"},
                {"resourceGroupName": ["mlflow-rg"]},
            ),
            Res(
                "azure-native:authorization:ManagementLockByScope",
                "mlflow-lock",
                {"level": "CanNotDelete", "scope": "/subscriptions/0/resourceGroups/mlflow-rg-1234/providers/x"},
                {"scope": ["mlflow-server"]},
            ),
        ],
        fails={
            "no lock": StackFail(drop("mlflow-lock"), "mlflow-server", "can be deleted with its backups"),
            "a lock on another server": StackFail(
                then(
                    drop("mlflow-lock"),
                    add(
                        Res(
                            "azure-native:authorization:ManagementLockAtResourceLevel",
                            "other-lock",
                            {
                                "level": "CanNotDelete",
                                "resourceGroupName": "mlflow-rg-1234",
                                "resourceProviderNamespace": "Microsoft.DBforPostgreSQL",
                                "resourceType": "flexibleServers",
                                "resourceName": "other-pg",
                            },
                        )
                    ),
                ),
                "mlflow-server",
                "add a management lock",
            ),
        },
        unknown=change("mlflow-lock", {"level": UNKNOWN}),
        passes={
            "the resource group locked": then(
                drop("mlflow-lock"),
                add(
                    Res(
                        "azure-native:authorization:ManagementLockAtResourceGroupLevel",
                        "rg-lock",
                        {"level": "CanNotDelete", "resourceGroupName": "mlflow-rg-1234"},
                        {"resourceGroupName": ["mlflow-rg"]},
                    )
                ),
            ),
            "a resource-level lock by name": then(
                drop("mlflow-lock"),
                add(
                    Res(
                        "azure-native:authorization:ManagementLockAtResourceLevel",
                        "server-lock",
                        {
                            "level": "ReadOnly",
                            "resourceGroupName": "mlflow-rg-1234",
                            "resourceProviderNamespace": "Microsoft.DBforPostgreSQL",
                            "resourceType": "flexibleServers",
                            "resourceName": "mlflow-pg",
                        },
                    )
                ),
            ),
            "a scope written out": then(
                drop("mlflow-lock"),
                add(
                    Res(
                        "azure-native:authorization:ManagementLockByScope",
                        "literal-lock",
                        {
                            "level": "CanNotDelete",
                            "scope": "/subscriptions/0/resourceGroups/mlflow-rg-1234/providers/"
                            "Microsoft.DBforPostgreSQL/flexibleServers/mlflow-pg",
                        },
                    )
                ),
            ),
        },
        not_applicable=drop("mlflow-server"),
    ),
    StackCase(
        rule="azure-storage-account-blob-soft-delete",
        resources=[account("data"), for_account(BLOB_SERVICE, "data-blob", "data", SOFT_DELETE)],
        fails={
            "no service properties": StackFail(drop("data-blob"), "data", "has no blob service properties"),
            "short retention": StackFail(
                change("data-blob", {"deleteRetentionPolicy.days": 1.0}), "data", "does not keep deleted items 7 days"
            ),
            "no versioning": StackFail(
                change("data-blob", {"isVersioningEnabled": False}), "data", "does not version blobs"
            ),
        },
        unknown=change("data-blob", {"isVersioningEnabled": UNKNOWN}),
        not_applicable=drop("data", "data-blob"),
        configs={"a 60-day minimum": StackConfigCase({"minSoftDeleteRetentionDays": 60}, passes=False)},
    ),
    StackCase(
        rule="azure-storage-account-lifecycle-retention",
        resources=[
            account("data"),
            for_account(BLOB_SERVICE, "data-blob", "data", SOFT_DELETE),
            for_account(CONTAINER, "datasets", "data", {"containerName": "datasets", "publicAccess": "None"}),
            for_account(
                CONTAINER,
                "models",
                "data",
                {"containerName": "models", "metadata": {"data-classification": "confidential"}},
            ),
            for_account(
                POLICY,
                "data-lifecycle",
                "data",
                {
                    "managementPolicyName": "default",
                    "policy": {
                        "rules": [
                            retention_rule("datasets", ["datasets/"], 2190.0),
                            retention_rule("models", ["models/"], 1095.0),
                        ]
                    },
                },
            ),
        ],
        fails={
            "no policy": StackFail(
                drop("data-lifecycle"),
                "data",
                "container 'datasets' of storage account 'data' do not delete blobs within 2190 days",
            ),
            "container not covered": StackFail(
                change("data-lifecycle", {"policy.rules": [retention_rule("datasets", ["datasets/"], 2190.0)]}),
                "data",
                "container 'models'",
            ),
            "over the ceiling": StackFail(
                change(
                    "data-lifecycle",
                    {"policy.rules[1].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan": 2000.0},
                ),
                "data",
                "within 1825 days (maxRetentionDays[confidential])",
            ),
            "old versions kept": StackFail(
                change("data-lifecycle", {"policy.rules[0].definition.actions.version": DELETE}),
                "data",
                "keep old blob versions",
            ),
        },
        unknown=change("data-lifecycle", {"policy.rules": UNKNOWN}),
        passes={
            "one account-wide rule": change("data-lifecycle", {"policy.rules": [retention_rule("all", None, 365.0)]}),
        },
        not_applicable=drop("data", "data-blob", "datasets", "models", "data-lifecycle"),
        configs={
            "a lower phi ceiling": StackConfigCase(
                {"maxRetentionDays": {"phi": 365, "confidential": 1825}}, passes=False
            )
        },
    ),
    StackCase(
        rule="azure-diagnostic-settings-enabled",
        resources=[
            Res(CLUSTER, "aks", {"dnsPrefix": "aks"}),
            Res(
                DIAGNOSTIC,
                "aks-diagnostics",
                {"resourceUri": "/aks", "workspaceId": "/ws", "logs": [{"categoryGroup": "allLogs", "enabled": True}]},
                {"resourceUri": ["aks"]},
            ),
        ],
        fails={
            "no diagnostics": StackFail(drop("aks-diagnostics"), "aks", "AKS cluster 'aks' sends no audit logs"),
            "postgres without diagnostics": StackFail(
                add(Res(PG_SERVER, "pg", PG_SERVER_PROPS)), "pg", "PostgreSQL flexible server 'pg' sends no audit logs"
            ),
            "no destination": StackFail(
                change("aks-diagnostics", {"workspaceId": DELETE}),
                "aks",
                "without an enabled allLogs or audit log and a destination",
            ),
            "metrics only": StackFail(change("aks-diagnostics", {"logs": []}), "aks", "without an enabled allLogs"),
        },
        unknown=change("aks-diagnostics", {"logs[0].enabled": UNKNOWN}),
        passes={
            "kube-audit category": change("aks-diagnostics", {"logs": [{"category": "kube-audit", "enabled": True}]})
        },
        not_applicable=drop("aks", "aks-diagnostics"),
    ),
]
