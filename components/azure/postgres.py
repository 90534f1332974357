"""AzurePostgres: a private Azure Database for PostgreSQL flexible server encrypted with a customer-managed key."""

import re
from typing import Required, TypedDict, get_args

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.dbforpostgresql as dbforpostgresql

from components._common.tags import DataClassification, data_tags
from components._common.validation import Problems, require_args_mapping
from components.azure._private_link import diagnostic_setting, private_endpoint
from components.azure._shared import (
    check_bool,
    check_location,
    check_required,
    globally_unique_name,
    is_guid,
)

POSTGRES_VERSION = "17"
"""Pinned PostgreSQL major version; Azure applies minor versions in the maintenance window."""
PRIVATE_LINK_GROUP = "postgresqlServer"
"""The private-link sub-resource of a flexible server."""
PRIVATE_DNS_ZONE = "privatelink.postgres.database.azure.com"
"""The zone of its private endpoints' records (the network component creates and links it)."""
DEFAULT_SKU_NAME = "Standard_D2ds_v5"
DEFAULT_SKU_TIER = "GeneralPurpose"
SKU_TIERS: tuple[str, ...] = ("Burstable", "GeneralPurpose", "MemoryOptimized")
DEFAULT_STORAGE_SIZE_GB = 32
STORAGE_SIZES_GB: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
DEFAULT_BACKUP_RETENTION_DAYS = 14
MIN_BACKUP_RETENTION_DAYS = 7
MAX_BACKUP_RETENTION_DAYS = 35
DEFAULT_ZONE_REDUNDANT_HA = True
DEFAULT_GEO_REDUNDANT_BACKUP = False
DEFAULT_DATABASE_NAME = "mlflow"
DEFAULT_PROTECT = False
DEFAULT_DATA_CLASSIFICATION = "confidential"
SERVER_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("require_secure_transport", "on"),
    ("ssl_min_protocol_version", "TLSv1.2"),
    ("log_connections", "on"),
    ("log_disconnections", "on"),
)
"""Server parameters set explicitly (some equal today's defaults; pinning keeps them if defaults change)."""
PRINCIPAL_TYPES: tuple[str, ...] = ("user", "group", "servicePrincipal")
MIN_PASSWORD_LENGTH = 16
"""Shortest administrator password accepted (the service accepts 8 to 128 characters of three character classes)."""
MAX_PASSWORD_LENGTH = 128
_RESERVED_LOGINS = frozenset(
    {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "postgres"}
)
"""Administrator login names flexible server refuses (besides names starting with `pg_`)."""

_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DATABASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_KEY_URI = re.compile(
    r"^https://[A-Za-z0-9-]+\.(vault|managedhsm)\.azure\.net(:443)?/keys/[A-Za-z0-9-]+(/[0-9a-f]{32})?/?$"
)


class AzurePostgresAdministratorArgs(TypedDict):
    """The Microsoft Entra principal administering the server (a group is recommended)."""

    object_id: Required[str]
    """Entra object ID of the principal. Required."""
    principal_name: Required[str]
    """Display name of the principal (the role name created in PostgreSQL). Required."""
    principal_type: Required[str]
    """user, group or servicePrincipal. Required."""


class AzurePostgresArgs(TypedDict, total=False):
    """Arguments of `AzurePostgres`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the server. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    server_name: str
    """Physical server name (3-63 lower-case letters, digits, hyphens; globally unique, it is the host name).
    Defaults to a name derived from the component name plus a stack hash."""
    tenant_id: Required[pulumi.Input[str]]
    """Entra tenant of the server's Microsoft Entra authentication. Required."""
    administrator: Required[AzurePostgresAdministratorArgs]
    """The Entra administrator (with password authentication disabled, the only way in). Required."""
    administrator_login: str
    """Name of a password administrator, for clients that cannot use Entra tokens, such as the MLflow tracking
    server (SQLAlchemy with a password in its URI). Fixed at server creation. With `administratorPassword`, enables
    password authentication next to Entra authentication. Defaults to none (Entra only)."""
    administrator_password: pulumi.Input[str]
    """That administrator's password, as a Pulumi secret (16-128 characters with upper case, lower case and
    digits); kept in Pulumi state encrypted as a secret and rotated by changing it here. Required with
    `administratorLogin`."""
    encryption_key_uri: Required[pulumi.Input[str]]
    """Key Vault key URI for data encryption (`AzureKeyVault.keyUris[<key>]`, versionless, so the server follows the
    vault's rotation). With a versioned URI, point the server at each new version before the old one expires: an
    expired key version turns the server Inaccessible. Required."""
    encryption_identity_id: Required[pulumi.Input[str]]
    """Resource ID of the user-assigned identity that reads the key: `AzureKeyVault.identityIds[<key>]`, which holds
    Key Vault Crypto Service Encryption User (get, wrapKey, unwrapKey) on that key only and resolves once the grant
    has propagated, so the server's create-time key check does not fail. The vault must be in the server's tenant
    and region, with soft delete and purge protection (AzureKeyVault: always), and let trusted Microsoft services
    through its firewall: a vault with public access disabled works (Microsoft's recommended lock-down is "Disable
    public access" plus "Allow trusted Microsoft services to bypass this firewall"; AzureKeyVault sets
    `bypass: AzureServices`). Source: learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption
    ("Requirements", "Recommendations", "Inaccessible customer managed key condition"). Required."""
    private_endpoint_subnet_id: Required[pulumi.Input[str]]
    """Subnet of the server's private endpoint. Required: public network access is always disabled."""
    private_dns_zone_id: Required[pulumi.Input[str]]
    """The `privatelink.postgres.database.azure.com` zone linked to the VNet. Required."""
    sku_name: pulumi.Input[str]
    """Compute size, e.g. Standard_D2ds_v5. Defaults to Standard_D2ds_v5."""
    sku_tier: str
    """Burstable, GeneralPurpose or MemoryOptimized (high availability needs GeneralPurpose or MemoryOptimized).
    Defaults to GeneralPurpose."""
    storage_size_gb: int
    """Storage in GiB, one of the premium disk sizes (32-32768); grows automatically. Defaults to 32."""
    database_name: str
    """Database created with the server. Defaults to mlflow."""
    backup_retention_days: int
    """Days of backups and point-in-time restore (7-35). Defaults to 14."""
    zone_redundant_ha: bool
    """Zone-redundant high availability (a hot standby in another zone). Defaults to true."""
    geo_redundant_backup: bool
    """Copy backups to the paired region, which must also be an allowed location under GDPR. Needs
    `geoBackupKeyUri` and `geoBackupIdentityId` (a key in the paired region). Defaults to false."""
    geo_backup_key_uri: pulumi.Input[str]
    """Key (in a vault of the paired region) encrypting the geo-redundant backups; required with geoRedundantBackup.
    Defaults to none."""
    geo_backup_identity_id: pulumi.Input[str]
    """User-assigned identity (in the paired region) that reads the geo-backup key; required with
    geoRedundantBackup. Defaults to none."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Workspace receiving the server's logs (PostgreSQL logs, sessions, query store) and metrics. Defaults to no
    diagnostic setting (the HIPAA/GDPR packs require one)."""
    data_classification: str
    """Most sensitive data stored (phi, pii, confidential, internal, public); tags the server for the GDPR record
    of processing. Defaults to confidential."""
    protect: bool
    """Protect the server and its database from deletion: `protect` + `retainOnDelete`, and a `CanNotDelete`
    management lock on the server, since flexible servers have no deletion-protection flag and Pulumi's `protect`
    stops only `pulumi destroy` (the lock refuses a delete through ARM by anyone: the portal, the CLI, another
    program). Removing it needs `Microsoft.Authorization/locks/delete` (Owner or User Access Administrator).
    Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def _validate(args: AzurePostgresArgs) -> Problems:
    problems = Problems()
    check_required(
        problems,
        args,
        "resource_group_name",
        "tenant_id",
        "encryption_key_uri",
        "encryption_identity_id",
        "private_endpoint_subnet_id",
        "private_dns_zone_id",
    )
    check_location(problems, args.get("location"))
    check_bool(problems, args, "zone_redundant_ha", "geo_redundant_backup", "protect")
    tenant = args.get("tenant_id")
    if isinstance(tenant, str) and not is_guid(tenant):
        problems.add("tenantId", f"'{tenant}' is not a tenant ID (a GUID)")
    administrator = args.get("administrator")
    if not isinstance(administrator, dict):
        problems.add("administrator", "required: the Microsoft Entra administrator (password auth is disabled)")
    else:
        object_id = administrator.get("object_id")
        if not (isinstance(object_id, str) and is_guid(object_id)):
            problems.add("administrator.objectId", f"'{object_id}' is not an Entra object ID (a GUID)")
        if not administrator.get("principal_name"):
            problems.add("administrator.principalName", "required")
        if administrator.get("principal_type") not in PRINCIPAL_TYPES:
            problems.add("administrator.principalType", f"must be one of {', '.join(PRINCIPAL_TYPES)}")
    for key, path in (("encryption_key_uri", "encryptionKeyUri"), ("geo_backup_key_uri", "geoBackupKeyUri")):
        uri = args.get(key)
        if isinstance(uri, str) and not _KEY_URI.match(uri):
            problems.add(path, f"'{uri}' is not a Key Vault key URI (https://<vault>.vault.azure.net/keys/<name>)")
    name = args.get("server_name")
    if name is not None and not (isinstance(name, str) and _SERVER_NAME.match(name)):
        problems.add("serverName", f"'{name}' is not a server name: 3-63 lower-case letters, digits and hyphens")
    tier = args.get("sku_tier", DEFAULT_SKU_TIER)
    if tier not in SKU_TIERS:
        problems.add("skuTier", f"must be one of {', '.join(SKU_TIERS)}")
    elif tier == "Burstable" and args.get("zone_redundant_ha", DEFAULT_ZONE_REDUNDANT_HA):
        problems.add("skuTier", "Burstable servers cannot be highly available; set zoneRedundantHa: false")
    if args.get("storage_size_gb", DEFAULT_STORAGE_SIZE_GB) not in STORAGE_SIZES_GB:
        problems.add("storageSizeGb", f"must be one of {', '.join(map(str, STORAGE_SIZES_GB))}")
    database = args.get("database_name", DEFAULT_DATABASE_NAME)
    if not (isinstance(database, str) and _DATABASE_NAME.match(database)):
        problems.add("databaseName", f"'{database}' is not a database name: a letter, then letters, digits, _")
    retention = args.get("backup_retention_days", DEFAULT_BACKUP_RETENTION_DAYS)
    if not isinstance(retention, int) or not MIN_BACKUP_RETENTION_DAYS <= retention <= MAX_BACKUP_RETENTION_DAYS:
        problems.add("backupRetentionDays", f"must be {MIN_BACKUP_RETENTION_DAYS} to {MAX_BACKUP_RETENTION_DAYS} days")
    if args.get("data_classification", DEFAULT_DATA_CLASSIFICATION) not in get_args(DataClassification):
        problems.add("dataClassification", f"must be one of {', '.join(get_args(DataClassification))}")
    login, password = args.get("administrator_login"), args.get("administrator_password")
    if (login is None) != (password is None):
        missing = "administratorPassword" if password is None else "administratorLogin"
        problems.add(missing, "administratorLogin and administratorPassword come together (password authentication)")
    if login is not None and not (
        isinstance(login, str)
        and _DATABASE_NAME.match(login)
        and login.lower() not in _RESERVED_LOGINS
        and not login.lower().startswith("pg_")
    ):
        problems.add("administratorLogin", f"'{login}' is not an allowed login: a letter, then letters, digits, _")
    if isinstance(password, str) and not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        and any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    ):
        problems.add(
            "administratorPassword",
            f"must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters with upper case, lower case and digits; "
            "pass it as a Pulumi secret",
        )
    geo = args.get("geo_redundant_backup", DEFAULT_GEO_REDUNDANT_BACKUP)
    for key, path in (("geo_backup_key_uri", "geoBackupKeyUri"), ("geo_backup_identity_id", "geoBackupIdentityId")):
        if geo is True and args.get(key) is None:
            problems.add(path, "required with geoRedundantBackup: geo-backups need a key in the paired region")
        elif geo is not True and args.get(key) is not None:
            problems.add(path, "only used with geoRedundantBackup: true")
    return problems


class AzurePostgres(pulumi.ComponentResource):
    """A private Azure Database for PostgreSQL flexible server, e.g. the MLflow tracking server's backend store.

    Creates:
    - a flexible server (PostgreSQL 17) with public network access disabled, reachable only through a private
      endpoint (`postgresqlServer`) registered in `privatelink.postgres.database.azure.com`;
    - data encryption with the given Key Vault key through the given user-assigned identity (and, with
      geo-redundant backups, a second key and identity in the paired region);
    - Microsoft Entra authentication with one Entra administrator; password authentication only with
      `administratorLogin` / `administratorPassword` (for clients such as MLflow that can only send a password);
    - backups with point-in-time restore, zone-redundant high availability by default;
    - server parameters requiring TLS 1.2+ (`require_secure_transport`) and logging connections;
    - the database, and optionally a diagnostic setting sending all logs and metrics to Log Analytics.

    Create-time settings: the encryption mode (customer-managed key) and geo-redundant backup are fixed when the
    server is created; changing them means a new server and a restore. Geo-redundant backups are encrypted with a
    second key in the paired region, read by a second identity there, and copy data to that region (GDPR: it must be
    an allowed location).

    Networking: private endpoints on a server with public access networking and public network access disabled,
    rather than VNet integration (a delegated subnet per server, chosen at creation): private links reuse the
    platform's private-endpoint subnet and `privatelink.*` zones like the vault, registry and storage, and are
    Microsoft's recommended alternative. Sources:
    https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private-link,
    https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption,
    https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-data-encryption.
    """

    server_id: pulumi.Output[str]
    """Resource ID of the server."""
    server_name: pulumi.Output[str]
    """Name of the server."""
    fqdn: pulumi.Output[str]
    """Host name clients use (resolves to the private endpoint inside the VNet)."""
    database_name: pulumi.Output[str]
    """Name of the database created with the server."""
    identity_id: pulumi.Output[str]
    """Resource ID of the user-assigned identity reading the encryption key."""
    administrator_login: pulumi.Output[str]
    """The password administrator's login, or empty with Entra authentication only."""
    private_endpoint_id: pulumi.Output[str]
    """Resource ID of the private endpoint (resolves once its DNS record is registered)."""

    def __init__(self, name: str, args: AzurePostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzurePostgres '{name}'")
        super().__init__("mlplatform:index:AzurePostgres", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        location = args["location"]
        fixed = data_tags(args.get("data_classification", DEFAULT_DATA_CLASSIFICATION), None)
        tags = pulumi.Output.from_input(args.get("tags") or {}).apply(lambda given: {**(given or {}), **fixed})
        protect = args.get("protect", DEFAULT_PROTECT)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)
        geo = args.get("geo_redundant_backup", DEFAULT_GEO_REDUNDANT_BACKUP)
        server_name = args.get("server_name") or globally_unique_name(
            name, 63, project=pulumi.get_project(), stack=pulumi.get_stack()
        )
        identity_ids = [pulumi.Output.from_input(args["encryption_identity_id"])]
        if geo:
            identity_ids.append(pulumi.Output.from_input(args["geo_backup_identity_id"]))
        encryption = dbforpostgresql.DataEncryptionArgs(
            type="AzureKeyVault",
            primary_key_uri=args["encryption_key_uri"],
            primary_user_assigned_identity_id=args["encryption_identity_id"],
            geo_backup_key_uri=args.get("geo_backup_key_uri") if geo else None,
            geo_backup_user_assigned_identity_id=args.get("geo_backup_identity_id") if geo else None,
        )
        password = args.get("administrator_password")
        server = dbforpostgresql.Server(
            f"{name}-server",
            server_name=server_name,
            resource_group_name=resource_group_name,
            location=location,
            version=POSTGRES_VERSION,
            sku=dbforpostgresql.SkuArgs(
                name=args.get("sku_name", DEFAULT_SKU_NAME), tier=args.get("sku_tier", DEFAULT_SKU_TIER)
            ),
            storage=dbforpostgresql.StorageArgs(
                storage_size_gb=args.get("storage_size_gb", DEFAULT_STORAGE_SIZE_GB), auto_grow="Enabled"
            ),
            identity=pulumi.Output.all(*identity_ids).apply(
                lambda ids: dbforpostgresql.UserAssignedIdentityArgs(
                    type="UserAssigned",
                    user_assigned_identities={identity_id: dbforpostgresql.UserIdentityArgs() for identity_id in ids},
                )
            ),
            data_encryption=encryption,
            auth_config=dbforpostgresql.AuthConfigArgs(
                active_directory_auth="Enabled",
                password_auth="Enabled" if password is not None else "Disabled",
                tenant_id=args["tenant_id"],
            ),
            administrator_login=args.get("administrator_login"),
            administrator_login_password=pulumi.Output.secret(password) if password is not None else None,
            network=dbforpostgresql.NetworkArgs(public_network_access="Disabled"),
            backup=dbforpostgresql.BackupArgs(
                backup_retention_days=args.get("backup_retention_days", DEFAULT_BACKUP_RETENTION_DAYS),
                geo_redundant_backup="Enabled" if geo else "Disabled",
            ),
            high_availability=dbforpostgresql.HighAvailabilityArgs(
                mode="ZoneRedundant" if args.get("zone_redundant_ha", DEFAULT_ZONE_REDUNDANT_HA) else "Disabled"
            ),
            tags=tags,
            opts=stateful,
        )
        administrator = args["administrator"]
        admin = dbforpostgresql.AdministratorsMicrosoftEntra(
            f"{name}-entra-admin",
            resource_group_name=resource_group_name,
            server_name=server.name,
            object_id=administrator["object_id"],
            principal_name=administrator["principal_name"],
            principal_type=administrator["principal_type"],
            tenant_id=args["tenant_id"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Flexible servers accept one configuration change at a time; chain them.
        previous: list[pulumi.Resource] = [admin]
        for parameter, value in SERVER_PARAMETERS:
            configuration = dbforpostgresql.Configuration(
                f"{name}-{parameter.replace('_', '-')}",
                resource_group_name=resource_group_name,
                server_name=server.name,
                configuration_name=parameter,
                value=value,
                source="user-override",
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [configuration]
        database = dbforpostgresql.Database(
            f"{name}-db",
            resource_group_name=resource_group_name,
            server_name=server.name,
            database_name=args.get("database_name", DEFAULT_DATABASE_NAME),
            charset="UTF8",
            collation="en_US.utf8",
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect, depends_on=previous),
        )
        endpoint_id = private_endpoint(
            self,
            f"{name}-pe",
            resource_group_name=resource_group_name,
            location=location,
            subnet_id=args["private_endpoint_subnet_id"],
            target_id=server.id,
            group_id=PRIVATE_LINK_GROUP,
            private_dns_zone_id=args["private_dns_zone_id"],
            tags=tags,
        )
        if protect:
            authorization.ManagementLockByScope(
                f"{name}-lock",
                scope=server.id,
                level="CanNotDelete",
                notes="Tracking database of the ML platform: backups and run history. Remove the lock to delete it.",
                opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
            )
        if args.get("log_analytics_workspace_id") is not None:
            diagnostic_setting(
                self,
                f"{name}-diagnostics",
                resource_uri=server.id,
                workspace_id=args["log_analytics_workspace_id"],
                category_groups=("allLogs",),
                metrics=("AllMetrics",),
            )
        self.server_id = server.id
        self.server_name = server.name
        self.fqdn = server.fully_qualified_domain_name
        self.database_name = database.name
        self.identity_id = pulumi.Output.from_input(args["encryption_identity_id"])
        self.administrator_login = pulumi.Output.from_input(args.get("administrator_login") or "")
        self.private_endpoint_id = endpoint_id
        self.register_outputs(
            {
                "serverId": self.server_id,
                "serverName": self.server_name,
                "fqdn": self.fqdn,
                "databaseName": self.database_name,
                "identityId": self.identity_id,
                "administratorLogin": self.administrator_login,
                "privateEndpointId": self.private_endpoint_id,
            }
        )
