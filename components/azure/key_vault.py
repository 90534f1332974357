"""AzureKeyVault: an RBAC-only, purge-protected Key Vault with rotating customer-managed keys and their identities."""

import re
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity

from components._common.validation import Problems, require_args_mapping
from components.azure._private_link import diagnostic_setting, private_endpoint
from components.azure._role_propagation import (
    DEFAULT_ROLE_PROPAGATION_WAIT,
    check_role_propagation_wait,
    role_propagation_wait,
)
from components.azure._shared import (
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    ROLE_NAMES,
    check_bool,
    check_cidrs,
    check_location,
    check_private_endpoint,
    check_required,
    globally_unique_name,
    iso_duration_days,
    role_definition_id,
)

DEFAULT_SKU = "premium"
DEFAULT_KEY_SIZE = 3072
DEFAULT_ROTATE_AFTER = "P1Y"
DEFAULT_KEY_EXPIRY = "P2Y"
DEFAULT_NOTIFY_BEFORE_EXPIRY = "P30D"
DEFAULT_SOFT_DELETE_DAYS = 90
DEFAULT_PUBLIC_NETWORK_ACCESS = False
DEFAULT_KEY_PURPOSE = "wrap"
DEFAULT_KEY_IDENTITY = True
DEFAULT_PROTECT = False

KEY_OPERATIONS: dict[str, list[str]] = {
    "wrap": ["wrapKey", "unwrapKey"],
    "encrypt": ["encrypt", "decrypt"],
}
"""Key operations per purpose: service CMKs (storage, ACR, disks) only wrap; the AKS KMS plugin encrypts."""

_KEY_NAME = re.compile(r"^[a-zA-Z0-9-]{1,127}$")


class AzureVaultKeyArgs(TypedDict):
    """One customer-managed key in the vault."""

    name: str
    """Key name: letters, digits and hyphens. Required."""
    purpose: NotRequired[str]
    """`wrap` for service encryption keys (storage, ACR, disk encryption sets) or `encrypt` for the AKS KMS
    plugin. Decides the permitted key operations. Defaults to wrap."""
    identity: NotRequired[bool]
    """Create a user-assigned identity holding Key Vault Crypto Service Encryption User on this key only, for a
    service that must be given its identity at creation (storage account, registry). Defaults to true."""


class AzureKeyVaultArgs(TypedDict, total=False):
    """Arguments of `AzureKeyVault`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the vault. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    tenant_id: pulumi.Input[str]
    """Entra tenant of the vault. Defaults to the tenant of the deploying identity."""
    vault_name: str
    """Physical vault name (3-24 letters, digits, hyphens; globally unique). Defaults to a name derived from the
    component name plus a stack hash."""
    sku: str
    """`premium` keeps keys in HSMs (`RSA-HSM`); `standard` uses software keys (`RSA`). Defaults to premium."""
    keys: list[AzureVaultKeyArgs]
    """The keys to create. Defaults to none."""
    key_size: int
    """RSA key size in bits: 3072 or 4096. Defaults to 3072."""
    rotate_after: str
    """ISO 8601 duration after a key version's creation when Key Vault rotates it. Defaults to P1Y."""
    key_expiry: str
    """ISO 8601 lifetime of each key version; must exceed `rotateAfter` so the old version stays valid while
    consumers move to the new one. Defaults to P2Y."""
    soft_delete_retention_days: int
    """Days a deleted vault or key stays recoverable (7-90). Defaults to 90."""
    public_network_access: bool
    """Accept traffic from public networks, still filtered by the firewall (default action Deny, trusted Azure
    services and `allowedIpRanges` only). When false the vault is reachable only through private endpoints.
    Defaults to false."""
    allowed_ip_ranges: list[str]
    """Public networks allowed through the firewall when `publicNetworkAccess` is true. Defaults to none."""
    private_endpoint_subnet_id: pulumi.Input[str]
    """Subnet for a private endpoint to the vault. Defaults to no private endpoint."""
    private_dns_zone_id: pulumi.Input[str]
    """The `privatelink.vaultcore.azure.net` zone for the endpoint's record; required with the subnet."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Workspace receiving the vault's audit events (every key use and access decision). Defaults to no
    diagnostic setting."""
    role_propagation_wait: str
    """How long each key identity's new Key Vault grant is given to take effect before its identity ID resolves
    (Go duration, e.g. `10m`): a storage account or registry validates its key at creation and fails on a grant
    Azure has not applied yet. Defaults to 10m, Microsoft's documented upper bound for role assignments."""
    protect: bool
    """Protect the vault, its keys and their identities from deletion (`protect` + `retainOnDelete`): losing a
    key makes everything encrypted with it unreadable. Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def key_rotation_policy(
    rotate_after: str, expiry: str, notify_before: str = DEFAULT_NOTIFY_BEFORE_EXPIRY
) -> keyvault.RotationPolicyArgsDict:
    """The Key Vault rotation policy: rotate `rotate_after` a version's creation, expire versions after `expiry`,
    and notify (Event Grid) `notify_before` expiry in case rotation was disabled."""
    return {
        "attributes": {"expiry_time": expiry},
        "lifetime_actions": [
            {"action": {"type": "rotate"}, "trigger": {"time_after_create": rotate_after}},
            {"action": {"type": "notify"}, "trigger": {"time_before_expiry": notify_before}},
        ],
    }


def key_type(sku: str) -> str:
    """`RSA-HSM` on a Premium vault (keys never leave the HSM), `RSA` on Standard."""
    return "RSA-HSM" if sku == "premium" else "RSA"


def _validate(args: AzureKeyVaultArgs) -> Problems:
    problems = Problems()
    check_required(problems, args, "resource_group_name")
    check_location(problems, args.get("location"))
    check_bool(problems, args, "public_network_access", "protect")
    check_private_endpoint(problems, args)
    check_cidrs(problems, "allowedIpRanges", args.get("allowed_ip_ranges"))
    if args.get("allowed_ip_ranges") and not args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS):
        problems.add("allowedIpRanges", "only used with publicNetworkAccess: true")
    check_role_propagation_wait(problems, args.get("role_propagation_wait", DEFAULT_ROLE_PROPAGATION_WAIT))
    vault_name = args.get("vault_name")
    if vault_name is not None and not re.fullmatch(r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", vault_name):
        problems.add(
            "vaultName",
            f"'{vault_name}' is not a vault name: 3-24 letters, digits, single hyphens, starting with a letter",
        )
    if args.get("sku", DEFAULT_SKU) not in ("premium", "standard"):
        problems.add("sku", "must be premium or standard")
    if args.get("key_size", DEFAULT_KEY_SIZE) not in (3072, 4096):
        problems.add("keySize", "must be 3072 or 4096 (2048-bit RSA is below current guidance)")
    retention = args.get("soft_delete_retention_days", DEFAULT_SOFT_DELETE_DAYS)
    if not isinstance(retention, int) or not 7 <= retention <= 90:
        problems.add("softDeleteRetentionDays", "must be 7 to 90 days")
    rotate = iso_duration_days(args.get("rotate_after", DEFAULT_ROTATE_AFTER))
    expiry = iso_duration_days(args.get("key_expiry", DEFAULT_KEY_EXPIRY))
    if rotate is None:
        problems.add("rotateAfter", "must be an ISO 8601 duration such as P90D or P1Y")
    if expiry is None:
        problems.add("keyExpiry", "must be an ISO 8601 duration such as P2Y")
    if rotate is not None and expiry is not None and expiry - rotate < 28:
        problems.add(
            "keyExpiry", "must exceed rotateAfter by at least 28 days so consumers can move to the new version"
        )
    seen: set[str] = set()
    for index, key in enumerate(args.get("keys", [])):
        key_name = key.get("name", "")
        if not _KEY_NAME.match(key_name):
            problems.add(f"keys[{index}].name", f"'{key_name}' is not a key name (letters, digits, hyphens)")
        elif key_name in seen:
            problems.add(f"keys[{index}].name", f"duplicate key name '{key_name}'")
        seen.add(key_name)
        if key.get("purpose", DEFAULT_KEY_PURPOSE) not in KEY_OPERATIONS:
            problems.add(f"keys[{index}].purpose", "must be wrap or encrypt")
    return problems


class AzureKeyVault(pulumi.ComponentResource):
    """A Key Vault for customer-managed keys, with HSM-backed rotating keys and least-privilege key identities.

    Creates:
    - a Key Vault (Premium by default) with Azure RBAC authorization;
    - one key per entry of `keys` (RSA-HSM 3072 on Premium, RSA 3072 on Standard) with a rotation policy
      (rotate after `rotateAfter`, versions expire after `keyExpiry`, notify 30 days before expiry);
    - per key (unless `identity: false`), a user-assigned identity with Key Vault Crypto Service Encryption User
      on that key's scope only, and a wait (`rolePropagationWait`) for that grant to take effect;
    - optionally a private endpoint registered in the `privatelink.vaultcore.azure.net` zone, and a diagnostic
      setting sending audit events to Log Analytics.

    Security defaults: RBAC only (no access policies), purge protection on, soft delete 90 days, public network
    access disabled (when enabled: firewall default Deny with the trusted-services bypass), no template or VM
    deployment access, keys limited to the operations their purpose needs.
    """

    vault_id: pulumi.Output[str]
    """Resource ID of the vault."""
    vault_name: pulumi.Output[str]
    """Name of the vault."""
    vault_uri: pulumi.Output[str]
    """Data-plane URI of the vault, e.g. `https://<name>.vault.azure.net/`."""
    key_ids: pulumi.Output[dict[str, str]]
    """Resource IDs of the keys by key name (role-assignment scopes)."""
    key_uris: pulumi.Output[dict[str, str]]
    """Versionless key URIs by key name: services that follow the latest version (storage, ACR) take these."""
    key_versioned_uris: pulumi.Output[dict[str, str]]
    """Versioned key URIs by key name: AKS KMS and disk encryption sets require a version."""
    identity_ids: pulumi.Output[dict[str, str]]
    """Resource IDs of the per-key identities by key name. Each resolves only after its key grant exists and has
    had `rolePropagationWait` to take effect, so a consumer using it never races the role assignment."""
    identity_client_ids: pulumi.Output[dict[str, str]]
    """Client IDs of the per-key identities by key name."""
    identity_principal_ids: pulumi.Output[dict[str, str]]
    """Principal (object) IDs of the per-key identities by key name."""
    private_endpoint_id: pulumi.Output[str]
    """Resource ID of the vault's private endpoint (empty without one). Resolves once the endpoint's DNS records
    are registered: a consumer that reaches the vault only privately (the AKS KMS plugin) carries it in its key
    input instead of waiting for the whole vault component."""

    def __init__(self, name: str, args: AzureKeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureKeyVault '{name}'")
        super().__init__("mlplatform:index:AzureKeyVault", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        location = args["location"]
        tags = args.get("tags")
        sku = args.get("sku", DEFAULT_SKU)
        protect = args.get("protect", DEFAULT_PROTECT)
        public = args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        vault_name = args.get("vault_name") or globally_unique_name(
            name, 24, project=pulumi.get_project(), stack=pulumi.get_stack()
        )
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=resource_group_name,
            location=location,
            vault_name=vault_name,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.get("tenant_id") or client.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=sku),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.get("soft_delete_retention_days", DEFAULT_SOFT_DELETE_DAYS),
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Enabled" if public else "Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action="Deny",
                    # Storage, ACR and disk encryption sets reach their keys as trusted Azure services.
                    bypass="AzureServices",
                    ip_rules=[keyvault.IPRuleArgs(value=cidr) for cidr in args.get("allowed_ip_ranges", [])],
                ),
            ),
            tags=tags,
            opts=stateful,
        )

        endpoint_id: pulumi.Output[str] = pulumi.Output.from_input("")
        if args.get("private_endpoint_subnet_id") is not None:
            endpoint_id = private_endpoint(
                self,
                f"{name}-pe",
                resource_group_name=resource_group_name,
                location=location,
                subnet_id=args["private_endpoint_subnet_id"],
                target_id=vault.id,
                group_id="vault",
                private_dns_zone_id=args["private_dns_zone_id"],
                tags=tags,
            )

        # The physical name is known up front; tying it to the vault's ID keeps the dependency for the keys.
        physical_vault_name = vault.id.apply(lambda _: vault_name)
        if args.get("log_analytics_workspace_id") is not None:
            diagnostic_setting(
                self,
                f"{name}-diagnostics",
                resource_uri=vault.id,
                workspace_id=args["log_analytics_workspace_id"],
                category_groups=("audit",),
                metrics=("AllMetrics",),
            )

        policy = key_rotation_policy(
            args.get("rotate_after", DEFAULT_ROTATE_AFTER), args.get("key_expiry", DEFAULT_KEY_EXPIRY)
        )
        key_ids: dict[str, pulumi.Output[str]] = {}
        key_uris: dict[str, pulumi.Output[str]] = {}
        versioned_uris: dict[str, pulumi.Output[str]] = {}
        identity_ids: dict[str, pulumi.Output[str]] = {}
        client_ids: dict[str, pulumi.Output[str]] = {}
        principal_ids: dict[str, pulumi.Output[str]] = {}
        encryption_user = client.subscription_id.apply(
            lambda subscription: role_definition_id(subscription, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
        )
        for spec in args.get("keys", []):
            key_name = spec["name"]
            key = keyvault.Key(
                f"{name}-{key_name}",
                resource_group_name=resource_group_name,
                vault_name=physical_vault_name,
                key_name=key_name,
                properties=keyvault.KeyPropertiesArgs(
                    kty=key_type(sku),
                    key_size=args.get("key_size", DEFAULT_KEY_SIZE),
                    key_ops=KEY_OPERATIONS[spec.get("purpose", DEFAULT_KEY_PURPOSE)],
                    attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                    rotation_policy=policy,
                ),
                tags=tags,
                opts=stateful,
            )
            key_ids[key_name] = key.id
            key_uris[key_name] = key.key_uri
            versioned_uris[key_name] = key.key_uri_with_version
            if spec.get("identity", DEFAULT_KEY_IDENTITY):
                identity = managedidentity.UserAssignedIdentity(
                    f"{name}-{key_name}-identity",
                    resource_group_name=resource_group_name,
                    location=location,
                    tags=tags,
                    opts=stateful,
                )
                grant = authorization.RoleAssignment(
                    f"{name}-{key_name}-encryption-user",
                    scope=key.id,
                    role_definition_id=encryption_user,
                    principal_id=identity.principal_id,
                    principal_type="ServicePrincipal",
                    description=f"{ROLE_NAMES[KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER]} on key {key_name} only.",
                    opts=pulumi.ResourceOptions(parent=self),
                )
                propagated = role_propagation_wait(
                    self,
                    f"{name}-{key_name}-encryption-user-propagation",
                    {"encryptionUser": grant},
                    args.get("role_propagation_wait", DEFAULT_ROLE_PROPAGATION_WAIT),
                )
                # One wait per key: a new key's grant does not make the other keys' consumers wait again.
                identity_ids[key_name] = pulumi.Output.all(identity.id, propagated.id).apply(lambda ids: ids[0])
                client_ids[key_name] = identity.client_id
                principal_ids[key_name] = identity.principal_id

        self.vault_id = vault.id
        self.vault_name = physical_vault_name
        self.vault_uri = vault.properties.apply(lambda properties: properties.vault_uri)
        self.key_ids = _as_dict(key_ids)
        self.key_uris = _as_dict(key_uris)
        self.key_versioned_uris = _as_dict(versioned_uris)
        self.identity_ids = _as_dict(identity_ids)
        self.identity_client_ids = _as_dict(client_ids)
        self.identity_principal_ids = _as_dict(principal_ids)
        self.private_endpoint_id = endpoint_id
        self.register_outputs(
            {
                "vaultId": self.vault_id,
                "vaultName": self.vault_name,
                "vaultUri": self.vault_uri,
                "keyIds": self.key_ids,
                "keyUris": self.key_uris,
                "keyVersionedUris": self.key_versioned_uris,
                "identityIds": self.identity_ids,
                "identityClientIds": self.identity_client_ids,
                "identityPrincipalIds": self.identity_principal_ids,
                "privateEndpointId": self.private_endpoint_id,
            }
        )


def _as_dict(values: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    return pulumi.Output.all(**values) if values else pulumi.Output.from_input({})
