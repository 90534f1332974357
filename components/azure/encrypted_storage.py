"""AzureEncryptedStorage: a CMK-encrypted, private StorageV2 account with versioned, lifecycle-managed blob containers."""

import re
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_azure_native.storage as storage

from components._common.validation import DNS1123_LABEL, Problems, require_args_mapping
from components.azure._private_link import diagnostic_setting, private_endpoint
from components.azure._shared import (
    blob_container_id,
    blob_service_id,
    check_bool,
    check_cidrs,
    check_location,
    check_private_endpoint,
    check_required,
    globally_unique_name,
)

DEFAULT_SKU = "Standard_ZRS"
DEFAULT_PUBLIC_NETWORK_ACCESS = False
DEFAULT_BLOB_SOFT_DELETE_DAYS = 30
DEFAULT_CONTAINER_SOFT_DELETE_DAYS = 30
DEFAULT_NONCURRENT_RETENTION_DAYS = 30
DEFAULT_PROTECT = False
SKUS: tuple[str, ...] = (
    "Standard_LRS",
    "Standard_ZRS",
    "Standard_GRS",
    "Standard_GZRS",
    "Standard_RAGRS",
    "Standard_RAGZRS",
)

_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


class AzureBlobContainerArgs(TypedDict):
    """One blob container (the Azure form of a platform bucket)."""

    name: str
    """Container name: 3-63 lower-case letters, digits and hyphens. Required."""
    retention_days: NotRequired[int]
    """Days after their last modification when blobs are deleted by the lifecycle policy. Defaults to never."""
    noncurrent_retention_days: NotRequired[int]
    """Days previous versions and snapshots are kept (the recovery window). Defaults to 30."""


class AzureEncryptedStorageArgs(TypedDict, total=False):
    """Arguments of `AzureEncryptedStorage`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the account. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    account_name: str
    """Physical account name (3-24 lower-case letters and digits; globally unique). Defaults to a name derived
    from the component name plus a stack hash."""
    sku: str
    """Replication: Standard_ZRS, _LRS, _GRS, _GZRS, _RAGRS or _RAGZRS. Geo-replicated SKUs copy data to the paired
    region, which must also be an allowed location under GDPR. Defaults to Standard_ZRS."""
    key_vault_uri: Required[pulumi.Input[str]]
    """URI of the Key Vault holding the encryption key. Required."""
    encryption_key_name: Required[pulumi.Input[str]]
    """Name of the key (no version: the account follows key rotation automatically). Required."""
    encryption_identity_id: Required[pulumi.Input[str]]
    """Resource ID of the user-assigned identity that reads the key (Key Vault Crypto Service Encryption User
    on it). Required: a new account can use a customer-managed key only through a user-assigned identity."""
    containers: list[AzureBlobContainerArgs]
    """Blob containers to create, each with its lifecycle rule. Defaults to none."""
    blob_soft_delete_days: int
    """Days deleted blobs stay recoverable (7-365). Defaults to 30."""
    container_soft_delete_days: int
    """Days deleted containers stay recoverable (7-365). Defaults to 30."""
    public_network_access: bool
    """Accept traffic from public networks, filtered by the firewall (default action Deny, trusted Azure services
    and `allowedIpRanges`). Defaults to false: private endpoints only."""
    allowed_ip_ranges: list[str]
    """Public networks allowed through the firewall when `publicNetworkAccess` is true. Defaults to none."""
    private_endpoint_subnet_id: pulumi.Input[str]
    """Subnet for a private endpoint to the blob service. Defaults to no private endpoint."""
    private_dns_zone_id: pulumi.Input[str]
    """The `privatelink.blob.core.windows.net` zone for the endpoint's record; required with the subnet."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Workspace receiving blob read/write/delete logs. Defaults to no diagnostic setting."""
    protect: bool
    """Protect the account and its containers from deletion (`protect` + `retainOnDelete`). Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def lifecycle_rules(containers: list[AzureBlobContainerArgs]) -> list[storage.ManagementPolicyRuleArgsDict]:
    """One lifecycle rule per container prefix: delete base blobs after the container's retention (if it has one),
    and previous versions and snapshots after its noncurrent-retention days."""
    rules: list[storage.ManagementPolicyRuleArgsDict] = []
    for container in containers:
        noncurrent = container.get("noncurrent_retention_days", DEFAULT_NONCURRENT_RETENTION_DAYS)
        actions: storage.ManagementPolicyActionArgsDict = {
            "version": {"delete": {"days_after_creation_greater_than": noncurrent}},
            "snapshot": {"delete": {"days_after_creation_greater_than": noncurrent}},
        }
        if container.get("retention_days") is not None:
            actions["base_blob"] = {"delete": {"days_after_modification_greater_than": container["retention_days"]}}
        rules.append(
            {
                "name": f"retain-{container['name']}",
                "type": "Lifecycle",
                "enabled": True,
                "definition": {
                    "filters": {"blob_types": ["blockBlob", "appendBlob"], "prefix_match": [f"{container['name']}/"]},
                    "actions": actions,
                },
            }
        )
    return rules


def _validate(args: AzureEncryptedStorageArgs) -> Problems:
    problems = Problems()
    check_required(
        problems, args, "resource_group_name", "key_vault_uri", "encryption_key_name", "encryption_identity_id"
    )
    check_location(problems, args.get("location"))
    check_bool(problems, args, "public_network_access", "protect")
    check_private_endpoint(problems, args)
    check_cidrs(problems, "allowedIpRanges", args.get("allowed_ip_ranges"))
    if args.get("allowed_ip_ranges") and not args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS):
        problems.add("allowedIpRanges", "only used with publicNetworkAccess: true")
    name = args.get("account_name")
    if name is not None and not _ACCOUNT_NAME.match(name):
        problems.add("accountName", f"'{name}' is not a storage account name: 3-24 lower-case letters and digits")
    if args.get("sku", DEFAULT_SKU) not in SKUS:
        problems.add("sku", f"must be one of {', '.join(SKUS)}")
    for key, default in (
        ("blob_soft_delete_days", DEFAULT_BLOB_SOFT_DELETE_DAYS),
        ("container_soft_delete_days", DEFAULT_CONTAINER_SOFT_DELETE_DAYS),
    ):
        days = args.get(key, default)
        if not isinstance(days, int) or not 7 <= days <= 365:
            problems.add(
                "blobSoftDeleteDays" if key.startswith("blob") else "containerSoftDeleteDays", "must be 7 to 365 days"
            )
    seen: set[str] = set()
    for index, container in enumerate(args.get("containers", [])):
        container_name = container.get("name", "")
        if not (3 <= len(container_name) <= 63 and DNS1123_LABEL.match(container_name) and "--" not in container_name):
            problems.add(
                f"containers[{index}].name",
                f"'{container_name}' is not a container name: 3-63 lower-case letters, digits, single hyphens",
            )
        elif container_name in seen:
            problems.add(f"containers[{index}].name", f"duplicate container '{container_name}'")
        seen.add(container_name)
        retention = container.get("retention_days")
        if retention is not None and retention < 1:
            problems.add(f"containers[{index}].retentionDays", "must be at least 1 day")
        if container.get("noncurrent_retention_days", DEFAULT_NONCURRENT_RETENTION_DAYS) < 1:
            problems.add(f"containers[{index}].noncurrentRetentionDays", "must be at least 1 day")
    return problems


class AzureEncryptedStorage(pulumi.ComponentResource):
    """A StorageV2 account for datasets, models and artifacts, encrypted with a customer-managed key and private.

    Creates:
    - a StorageV2 account encrypted with the given Key Vault key (through a user-assigned identity) plus
      infrastructure encryption;
    - blob service properties: versioning, blob and container soft delete, change feed and point-in-time restore;
    - one blob container per entry of `containers`, and a lifecycle policy with one rule per container prefix;
    - optionally a private endpoint to the blob service and a diagnostic setting on it.

    Security defaults: HTTPS only with TLS 1.2 minimum; no public blob access; shared-key (and so account-SAS)
    access disabled, Entra authorization by default; cross-tenant replication disabled; copies limited to the
    tenant; no SFTP or local users; public network access disabled (when enabled: firewall default Deny plus
    listed networks; trusted Azure services bypass); queue and table data under the same key as blobs.

    Create-time settings: infrastructure encryption and the queue/table key type are fixed at creation. The
    account is never replaced automatically (that would delete data): Azure rejects such changes instead.
    """

    account_id: pulumi.Output[str]
    """Resource ID of the storage account."""
    account_name: pulumi.Output[str]
    """Name of the storage account."""
    blob_endpoint: pulumi.Output[str]
    """Primary blob endpoint, e.g. `https://<account>.blob.core.windows.net/`."""
    container_names: pulumi.Output[list[str]]
    """Names of the containers."""
    container_ids: pulumi.Output[dict[str, str]]
    """Resource IDs of the containers by name (the scopes for container-level role assignments)."""

    def __init__(self, name: str, args: AzureEncryptedStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureEncryptedStorage '{name}'")
        super().__init__("mlplatform:index:AzureEncryptedStorage", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        location = args["location"]
        tags = args.get("tags")
        protect = args.get("protect", DEFAULT_PROTECT)
        public = args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)
        account_key = {"enabled": True, "key_type": "Account"}

        account_name = args.get("account_name") or globally_unique_name(
            name, 24, project=pulumi.get_project(), stack=pulumi.get_stack(), alphanumeric=True
        )
        account = storage.StorageAccount(
            f"{name}-account",
            resource_group_name=resource_group_name,
            location=location,
            account_name=account_name,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.get("sku", DEFAULT_SKU)),
            access_tier="Hot",
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            allowed_copy_scope="AAD",
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            is_hns_enabled=False,
            public_network_access="Enabled" if public else "Disabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action="Deny",
                bypass="AzureServices",
                ip_rules=[
                    storage.IPRuleArgs(i_p_address_or_range=cidr, action="Allow")
                    for cidr in args.get("allowed_ip_ranges", [])
                ],
            ),
            identity=storage.IdentityArgs(
                type="UserAssigned", user_assigned_identities=[args["encryption_identity_id"]]
            ),
            encryption=storage.EncryptionArgs(
                key_source="Microsoft.Keyvault",
                key_vault_properties=storage.KeyVaultPropertiesArgs(
                    key_vault_uri=args["key_vault_uri"], key_name=args["encryption_key_name"]
                ),
                encryption_identity=storage.EncryptionIdentityArgs(
                    encryption_user_assigned_identity=args["encryption_identity_id"]
                ),
                require_infrastructure_encryption=True,
                services={"blob": account_key, "file": account_key, "queue": account_key, "table": account_key},
            ),
            tags=tags,
            opts=stateful,
        )

        # The physical name is known up front; tying it to the account's ID keeps the dependency for children.
        physical_account_name = account.id.apply(lambda _: account_name)
        blob_days = args.get("blob_soft_delete_days", DEFAULT_BLOB_SOFT_DELETE_DAYS)
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=resource_group_name,
            account_name=physical_account_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=blob_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.get("container_soft_delete_days", DEFAULT_CONTAINER_SOFT_DELETE_DAYS)
            ),
            # Point-in-time restore needs the change feed; both are bounded so they never outlive soft delete.
            change_feed=storage.ChangeFeedArgs(enabled=True, retention_in_days=blob_days),
            restore_policy=storage.RestorePolicyPropertiesArgs(enabled=True, days=blob_days - 1),
            opts=pulumi.ResourceOptions(parent=self),
        )

        containers = args.get("containers", [])
        container_ids: dict[str, pulumi.Output[str]] = {}
        for container in containers:
            blob_container = storage.BlobContainer(
                f"{name}-{container['name']}",
                resource_group_name=resource_group_name,
                account_name=physical_account_name,
                container_name=container["name"],
                public_access="None",
                opts=pulumi.ResourceOptions(
                    parent=self, protect=protect, retain_on_delete=protect, depends_on=[blob_service]
                ),
            )
            container_ids[container["name"]] = pulumi.Output.all(account.id, blob_container.id).apply(
                lambda parts, container_name=container["name"]: blob_container_id(parts[0], container_name)
            )

        if containers:
            storage.ManagementPolicy(
                f"{name}-lifecycle",
                resource_group_name=resource_group_name,
                account_name=physical_account_name,
                management_policy_name="default",
                policy={"rules": lifecycle_rules(containers)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[blob_service]),
            )

        if args.get("private_endpoint_subnet_id") is not None:
            private_endpoint(
                self,
                f"{name}-blob-pe",
                resource_group_name=resource_group_name,
                location=location,
                subnet_id=args["private_endpoint_subnet_id"],
                target_id=account.id,
                group_id="blob",
                private_dns_zone_id=args["private_dns_zone_id"],
                tags=tags,
            )

        if args.get("log_analytics_workspace_id") is not None:
            diagnostic_setting(
                self,
                f"{name}-blob-diagnostics",
                resource_uri=account.id.apply(blob_service_id),
                workspace_id=args["log_analytics_workspace_id"],
                category_groups=("allLogs",),
                metrics=("Transaction",),
                depends_on=[blob_service],
            )

        self.account_id = account.id
        self.account_name = physical_account_name
        self.blob_endpoint = account.primary_endpoints.apply(lambda endpoints: endpoints.blob if endpoints else None)
        self.container_names = pulumi.Output.from_input([container["name"] for container in containers])
        self.container_ids = pulumi.Output.all(**container_ids) if container_ids else pulumi.Output.from_input({})
        self.register_outputs(
            {
                "accountId": self.account_id,
                "accountName": self.account_name,
                "blobEndpoint": self.blob_endpoint,
                "containerNames": self.container_names,
                "containerIds": self.container_ids,
            }
        )
