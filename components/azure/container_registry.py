"""AzureContainerRegistry: a Premium, private, CMK-encrypted ACR with retention, audit logs and pull grants."""

import re
from typing import Required, TypedDict

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerregistry as containerregistry

from components._common.validation import Problems, require_args_mapping
from components.azure._private_link import diagnostic_setting, private_endpoint
from components.azure._shared import (
    ACR_PULL,
    ROLE_NAMES,
    check_bool,
    check_cidrs,
    check_location,
    check_private_endpoint,
    check_required,
    globally_unique_name,
    role_definition_id,
)

DEFAULT_PUBLIC_NETWORK_ACCESS = False
DEFAULT_EXPORT_POLICY_ENABLED = False
DEFAULT_UNTAGGED_RETENTION_DAYS = 7
DEFAULT_ZONE_REDUNDANCY = True
DEFAULT_PROTECT = False
DIAGNOSTIC_LOG_CATEGORY_GROUPS: tuple[str, ...] = ("allLogs",)
"""Every registry log (ContainerRegistryRepositoryEvents, ContainerRegistryLoginEvents): the category group keeps
new categories covered, and is what HIPAA-LOG-AZ-DIAG checks."""
"""ACR log categories kept: pushes, pulls and deletes per repository, and every login."""

_REGISTRY_NAME = re.compile(r"^[a-zA-Z0-9]{5,50}$")


class AzureContainerRegistryArgs(TypedDict, total=False):
    """Arguments of `AzureContainerRegistry`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the registry. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    registry_name: str
    """Physical registry name (5-50 letters and digits; globally unique). Defaults to a name derived from the
    component name plus a stack hash."""
    encryption_key_uri: Required[pulumi.Input[str]]
    """Versionless Key Vault key URI for customer-managed encryption (the registry follows key rotation).
    Required. Encryption is fixed at creation: see the class docstring."""
    encryption_identity_id: Required[pulumi.Input[str]]
    """Resource ID of the user-assigned identity that reads the key (Key Vault Crypto Service Encryption User
    on it). Required."""
    encryption_identity_client_id: Required[pulumi.Input[str]]
    """Client ID of that identity (ACR names the identity by client ID). Required."""
    public_network_access: bool
    """Accept traffic from public networks, filtered by the firewall (default action Deny plus `allowedIpRanges`).
    Defaults to false: private endpoints only."""
    allowed_ip_ranges: list[str]
    """Public networks allowed to push and pull when `publicNetworkAccess` is true. Defaults to none."""
    export_policy_enabled: bool
    """Allow `az acr import`/export of artifacts out of the registry. Disabling it requires public network
    access to be disabled (an ACR API constraint). Defaults to false."""
    untagged_retention_days: int
    """Days untagged manifests are kept before the retention policy deletes them (0-365). Defaults to 7."""
    zone_redundancy: bool
    """Spread the registry over availability zones. Defaults to true."""
    private_endpoint_subnet_id: pulumi.Input[str]
    """Subnet for a private endpoint to the registry. Defaults to no private endpoint."""
    private_dns_zone_id: pulumi.Input[str]
    """The `privatelink.azurecr.io` zone for the endpoint's records; required with the subnet."""
    pull_principal_ids: list[pulumi.Input[str]]
    """Principals (object IDs) given AcrPull on this registry, e.g. the AKS kubelet identity. Defaults to none."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Workspace receiving repository and login events. Defaults to no diagnostic setting."""
    protect: bool
    """Protect the registry from deletion (`protect` + `retainOnDelete`). Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def registry_policies(*, untagged_retention_days: int, export_enabled: bool) -> containerregistry.PoliciesArgsDict:
    """The registry policies: untagged-manifest retention on, export as requested, quarantine and trust off.

    Quarantine would hold every pushed image until an external scanner releases it, and content trust is not
    supported on CMK-encrypted registries, so both stay off deliberately.
    """
    return {
        "retention_policy": {"status": "enabled", "days": untagged_retention_days},
        "export_policy": {"status": "enabled" if export_enabled else "disabled"},
        "quarantine_policy": {"status": "disabled"},
        "trust_policy": {"status": "disabled", "type": "Notary"},
    }


def _validate(args: AzureContainerRegistryArgs) -> Problems:
    problems = Problems()
    check_required(
        problems,
        args,
        "resource_group_name",
        "encryption_key_uri",
        "encryption_identity_id",
        "encryption_identity_client_id",
    )
    check_location(problems, args.get("location"))
    check_bool(problems, args, "public_network_access", "export_policy_enabled", "zone_redundancy", "protect")
    check_private_endpoint(problems, args)
    public = args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS)
    check_cidrs(problems, "allowedIpRanges", args.get("allowed_ip_ranges"))
    if args.get("allowed_ip_ranges") and not public:
        problems.add("allowedIpRanges", "only used with publicNetworkAccess: true")
    if public and not args.get("export_policy_enabled", DEFAULT_EXPORT_POLICY_ENABLED):
        problems.add(
            "exportPolicyEnabled",
            "ACR can disable exports only when public network access is disabled; set exportPolicyEnabled: true or publicNetworkAccess: false",
        )
    name = args.get("registry_name")
    if name is not None and not _REGISTRY_NAME.match(name):
        problems.add("registryName", f"'{name}' is not a registry name: 5-50 letters and digits")
    days = args.get("untagged_retention_days", DEFAULT_UNTAGGED_RETENTION_DAYS)
    if not isinstance(days, int) or not 0 <= days <= 365:
        problems.add("untaggedRetentionDays", "must be 0 to 365 days")
    return problems


class AzureContainerRegistry(pulumi.ComponentResource):
    """A Premium Azure Container Registry for model images, encrypted with a customer-managed key and private.

    Creates:
    - a Premium registry encrypted with the given Key Vault key through a user-assigned identity;
    - optionally a private endpoint registered in the `privatelink.azurecr.io` zone;
    - AcrPull role assignments for `pullPrincipalIds` (e.g. the AKS kubelet identity);
    - optionally a diagnostic setting sending repository and login events to Log Analytics.

    Security defaults: admin user and anonymous pull disabled; public network access disabled (when enabled:
    firewall default Deny plus listed networks; trusted Azure services bypass); export policy disabled (data
    exfiltration control); untagged manifests deleted after 7 days; zone redundancy; dedicated data endpoints.

    Immutable images: unlike ECR's `image_tag_mutability`, ACR has no registry- or repository-wide immutable-tags
    setting in ARM at the API version this SDK uses (2023-01-01-preview: `policies` holds only quarantine, trust,
    retention, export, soft-delete and ARM-audience policies). Locks are data-plane attributes of one tag or
    manifest (`az acr repository update --image repo@sha256:... --write-enabled false --delete-enabled false`,
    https://learn.microsoft.com/en-us/azure/container-registry/container-registry-image-lock), so the promotion
    pipeline locks each digest and its release tag once `policies.image_gate` promotes it
    (`policies.image_gate.acr_lock_commands`). Content trust, the other ARM-level integrity control, is not
    supported on CMK-encrypted registries; scanning comes from `AzureDefenderForContainers`.

    Create-time settings: ACR accepts customer-managed encryption only at creation and never turns it off, so
    a change of `encryption.status` replaces the registry (deleted first; `protect` blocks it in prod). Key
    rotation is automatic: the registry follows the versionless key URI.
    """

    registry_id: pulumi.Output[str]
    """Resource ID of the registry."""
    registry_name: pulumi.Output[str]
    """Name of the registry."""
    login_server: pulumi.Output[str]
    """Login server, e.g. `<name>.azurecr.io`; image references start with it."""

    def __init__(self, name: str, args: AzureContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureContainerRegistry '{name}'")
        super().__init__("mlplatform:index:AzureContainerRegistry", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        location = args["location"]
        tags = args.get("tags")
        protect = args.get("protect", DEFAULT_PROTECT)
        public = args.get("public_network_access", DEFAULT_PUBLIC_NETWORK_ACCESS)

        registry_name = args.get("registry_name") or globally_unique_name(
            name, 50, project=pulumi.get_project(), stack=pulumi.get_stack(), alphanumeric=True
        )
        registry = containerregistry.Registry(
            f"{name}-registry",
            resource_group_name=resource_group_name,
            location=location,
            registry_name=registry_name,
            sku=containerregistry.SkuArgs(name="Premium"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            data_endpoint_enabled=True,
            public_network_access="Enabled" if public else "Disabled",
            network_rule_bypass_options="AzureServices",
            network_rule_set=containerregistry.NetworkRuleSetArgs(
                default_action="Deny",
                ip_rules=[
                    containerregistry.IPRuleArgs(i_p_address_or_range=cidr, action="Allow")
                    for cidr in args.get("allowed_ip_ranges", [])
                ],
            ),
            zone_redundancy="Enabled" if args.get("zone_redundancy", DEFAULT_ZONE_REDUNDANCY) else "Disabled",
            # This API version keys user-assigned identities by resource ID, so the map is built once the ID is known.
            identity=pulumi.Output.from_input(args["encryption_identity_id"]).apply(
                lambda identity_id: containerregistry.IdentityPropertiesArgs(
                    type="UserAssigned",
                    user_assigned_identities={identity_id: containerregistry.UserIdentityPropertiesArgs()},
                )
            ),
            encryption=containerregistry.EncryptionPropertyArgs(
                status="enabled",
                key_vault_properties=containerregistry.KeyVaultPropertiesArgs(
                    key_identifier=args["encryption_key_uri"], identity=args["encryption_identity_client_id"]
                ),
            ),
            policies=registry_policies(
                untagged_retention_days=args.get("untagged_retention_days", DEFAULT_UNTAGGED_RETENTION_DAYS),
                export_enabled=args.get("export_policy_enabled", DEFAULT_EXPORT_POLICY_ENABLED),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                retain_on_delete=protect,
                replace_on_changes=["encryption.status"],
                delete_before_replace=True,
            ),
        )

        if args.get("private_endpoint_subnet_id") is not None:
            private_endpoint(
                self,
                f"{name}-pe",
                resource_group_name=resource_group_name,
                location=location,
                subnet_id=args["private_endpoint_subnet_id"],
                target_id=registry.id,
                group_id="registry",
                private_dns_zone_id=args["private_dns_zone_id"],
                tags=tags,
            )

        pull_principals = args.get("pull_principal_ids", [])
        if pull_principals:
            client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
            acr_pull = client.subscription_id.apply(lambda subscription: role_definition_id(subscription, ACR_PULL))
            for index, principal in enumerate(pull_principals):
                authorization.RoleAssignment(
                    f"{name}-pull-{index}",
                    scope=registry.id,
                    role_definition_id=acr_pull,
                    principal_id=principal,
                    principal_type="ServicePrincipal",
                    description=f"{ROLE_NAMES[ACR_PULL]} on registry {name}.",
                    opts=pulumi.ResourceOptions(parent=self),
                )

        if args.get("log_analytics_workspace_id") is not None:
            diagnostic_setting(
                self,
                f"{name}-diagnostics",
                resource_uri=registry.id,
                workspace_id=args["log_analytics_workspace_id"],
                category_groups=DIAGNOSTIC_LOG_CATEGORY_GROUPS,
                metrics=("AllMetrics",),
            )

        self.registry_id = registry.id
        self.registry_name = registry.id.apply(lambda _: registry_name)
        self.login_server = registry.login_server
        self.register_outputs(
            {"registryId": self.registry_id, "registryName": self.registry_name, "loginServer": self.login_server}
        )
