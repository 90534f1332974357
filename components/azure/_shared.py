"""Resource-free Azure helpers shared by the Azure components: built-in roles, scopes, names and validation."""

import hashlib
import ipaddress
import re
from collections.abc import Mapping

from components._common import naming
from components._common.regions import AZURE_LOCATIONS, normalize_azure_location
from components._common.validation import Problems

# Built-in role definition IDs, identical in every Azure public-cloud tenant (Microsoft Learn, "Azure built-in
# roles": https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
"""Read key metadata and wrap/unwrap: what a service needs to use a customer-managed key (storage, ACR, disks)."""
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
"""Encrypt/decrypt with a key: what the AKS KMS plugin needs for etcd envelope encryption."""
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
"""Read secret contents: what the Secrets Store CSI driver's Azure provider needs to mount a Key Vault secret."""
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
"""Manage the vault resource (no data-plane access to keys); AKS needs it for KMS with a private vault."""
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
"""AcrPush: push and pull images (a training pipeline's build step pushes the serving image it builds)."""
"""Pull images from a registry."""
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
"""Read and list blobs."""
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
"""Read, write and delete blobs (and manage containers through ARM); only ever assigned with a condition."""
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
"""Join and manage subnets; AKS's control-plane identity needs it on its own subnets."""
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
"""Read a resource; AKS's control-plane identity reads the disk encryption set to create encrypted disks."""
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
"""Azure Kubernetes Service RBAC Cluster Admin: every Kubernetes resource in the cluster (Azure RBAC mode)."""
AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
"""Azure Kubernetes Service Cluster User Role: fetch the (Entra-only) user kubeconfig."""

ROLE_NAMES: dict[str, str] = {
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    KEY_VAULT_CRYPTO_USER: "Key Vault Crypto User",
    KEY_VAULT_CONTRIBUTOR: "Key Vault Contributor",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    ACR_PULL: "AcrPull",
    ACR_PUSH: "AcrPush",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    NETWORK_CONTRIBUTOR: "Network Contributor",
    READER: "Reader",
    AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    AKS_CLUSTER_USER: "Azure Kubernetes Service Cluster User Role",
}
"""Display names of the built-in roles above, for descriptions and error messages."""

PRIVATE_DNS_LOCATION = "global"
"""Private DNS zones and their VNet links are global resources; Azure accepts no other location."""

_ISO_DURATION = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VIRTUAL_NETWORK_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+$", re.IGNORECASE
)


def role_definition_id(subscription_id: str, role: str) -> str:
    """The subscription-scoped resource ID of a built-in role definition, as role assignments expect it."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def blob_container_id(storage_account_id: str, container_name: str) -> str:
    """The resource ID of a blob container: the narrowest scope a Storage Blob role can be assigned on."""
    return f"{storage_account_id}/blobServices/default/containers/{container_name}"


def blob_service_id(storage_account_id: str) -> str:
    """The resource ID of an account's blob service (where blob diagnostic settings attach)."""
    return f"{storage_account_id}/blobServices/default"


def globally_unique_name(name: str, max_length: int, *, project: str, stack: str, alphanumeric: bool = False) -> str:
    """A physical name for a globally unique Azure resource (storage account, key vault, registry).

    The name keeps a readable prefix of `name` and ends with a 6-character hash of project, stack and name,
    so two stacks (or two tenants deploying the same project) do not collide, and the same stack always
    derives the same name.

    Args:
        name: the component's logical name.
        max_length: the service's length limit (24 for storage accounts and vaults, 50 for registries).
        project: the Pulumi project.
        stack: the Pulumi stack.
        alphanumeric: True when the service accepts only lower-case letters and digits.
    """
    suffix = hashlib.sha256(f"{project}/{stack}/{name}".encode()).hexdigest()[:6]
    separator = "" if alphanumeric else "-"
    room = max_length - len(suffix) - len(separator)
    prefix = naming.bounded(name, room, allowed="a-z0-9" if alphanumeric else "a-z0-9-")
    # `bounded` joins its own hash with a hyphen when it has to cut; alphanumeric-only services reject it.
    prefix = re.sub("-+", "", prefix) if alphanumeric else re.sub("-+", "-", prefix).strip("-")
    if not prefix[:1].isalpha():
        prefix = f"a{prefix}"[:room].rstrip("-")
    return f"{prefix}{separator}{suffix}"


def iso_duration_days(value: str) -> int | None:
    """Approximate length in days of an ISO 8601 date duration (`P90D`, `P1Y`, `P1Y6M`); None if malformed."""
    match = _ISO_DURATION.match(value)
    if not match or value == "P":
        return None
    years, months, days = (int(match[part] or 0) for part in ("years", "months", "days"))
    return years * 365 + months * 30 + days


def is_guid(value: str) -> bool:
    """True when `value` is a GUID (Entra object IDs, tenant IDs)."""
    return bool(_GUID.match(value))


def check_guids(problems: Problems, path: str, values: object, what: str = "an Entra object ID") -> None:
    """Record a problem unless `values` is a list whose plain strings are GUIDs (Outputs are accepted)."""
    if values is None:
        return
    if not isinstance(values, list | tuple):
        problems.add(path, "must be a list of GUIDs")
        return
    for index, value in enumerate(values):
        if isinstance(value, str) and not is_guid(value):
            problems.add(f"{path}[{index}]", f"'{value}' is not {what} (a GUID)")


def check_virtual_network_ids(problems: Problems, path: str, values: object) -> None:
    """Record a problem unless `values` lists distinct VNet resource IDs (Outputs are accepted unchecked)."""
    if values is None:
        return
    if not isinstance(values, list | tuple):
        problems.add(path, "must be a list of virtual network resource IDs")
        return
    seen: set[str] = set()
    for index, value in enumerate(values):
        if not isinstance(value, str):
            continue
        if not _VIRTUAL_NETWORK_ID.match(value):
            problems.add(
                f"{path}[{index}]",
                f"'{value}' is not a virtual network ID "
                "(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)",
            )
        elif value.lower() in seen:
            problems.add(f"{path}[{index}]", f"duplicate virtual network '{value}'")
        seen.add(value.lower())


def check_location(problems: Problems, location: object, path: str = "location") -> None:
    """Record a problem unless `location` is a known Azure location (an unknown Output is accepted)."""
    if location is None:
        problems.add(path, "required: the Azure location every resource of this component is created in")
    elif isinstance(location, str) and normalize_azure_location(location) not in AZURE_LOCATIONS:
        problems.add(path, f"'{location}' is not an Azure location (e.g. westeurope, germanywestcentral)")


def check_required(problems: Problems, args: Mapping[str, object], *keys: str) -> None:
    """Record a problem for every key of `args` that is missing or None (paths in camelCase)."""
    for key in keys:
        if args.get(key) is None:
            problems.add(camel(key), "required")


def check_cidrs(problems: Problems, path: str, cidrs: object, *, allow_empty: bool = True) -> None:
    """Validate a list of IPv4 CIDRs meant to allow-list clients; 0.0.0.0/0 is always rejected."""
    if cidrs is None:
        cidrs = []
    if not isinstance(cidrs, list | tuple):
        problems.add(path, "must be a list of CIDRs")
        return
    if not cidrs and not allow_empty:
        problems.add(path, "must list at least one network")
    for index, cidr in enumerate(cidrs):
        if not isinstance(cidr, str):
            continue
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            problems.add(f"{path}[{index}]", f"'{cidr}' is not a CIDR such as 203.0.113.0/24")
            continue
        if network.prefixlen == 0:
            problems.add(
                f"{path}[{index}]", "0.0.0.0/0 opens the service to the whole internet; list specific networks"
            )


def check_private_endpoint(problems: Problems, args: Mapping[str, object]) -> None:
    """A private endpoint needs both its subnet and its private DNS zone (or neither)."""
    subnet = args.get("private_endpoint_subnet_id")
    zone = args.get("private_dns_zone_id")
    if (subnet is None) != (zone is None):
        missing = "privateDnsZoneId" if zone is None else "privateEndpointSubnetId"
        problems.add(
            missing, "privateEndpointSubnetId and privateDnsZoneId go together (the endpoint needs its DNS record)"
        )


def check_bool(problems: Problems, args: Mapping[str, object], *keys: str) -> None:
    """Graph-shaping toggles must be plain booleans, not Outputs."""
    for key in keys:
        value = args.get(key)
        if value is not None and not isinstance(value, bool):
            problems.add(camel(key), "must be a plain boolean (it decides which resources exist)")


def camel(snake: str) -> str:
    """camelCase form of an argument name, for property paths (`private_endpoint_subnet_id` -> `privateEndpointSubnetId`)."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
