"""AzureGpuCluster: a private, Entra-integrated AKS cluster with CMK-encrypted disks and etcd, and GPU node pools."""

import base64
import ipaddress
import re
from typing import Any, NamedTuple, NotRequired, Required, TypedDict

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.compute as compute
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_azure_native.privatedns as privatedns

from components._common import gpu, naming, pools
from components._common.validation import Problems, require_args_mapping
from components.azure._kubelogin import KUBELOGIN_MODES, with_kubelogin_mode
from components.azure._private_link import diagnostic_setting
from components.azure._role_propagation import (
    DEFAULT_ROLE_PROPAGATION_WAIT,
    check_role_propagation_wait,
    role_propagation_wait,
)
from components.azure._shared import (
    AKS_CLUSTER_USER,
    AKS_RBAC_CLUSTER_ADMIN,
    KEY_VAULT_CONTRIBUTOR,
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_VAULT_CRYPTO_USER,
    NETWORK_CONTRIBUTOR,
    PRIVATE_DNS_LOCATION,
    READER,
    ROLE_NAMES,
    check_bool,
    check_cidrs,
    check_guids,
    check_location,
    check_required,
    check_virtual_network_ids,
    is_guid,
    role_definition_id,
)
from components.azure.log_analytics import workspace

DEFAULT_KUBERNETES_VERSION = "1.34"
DEFAULT_PRIVATE_CLUSTER = True
DEFAULT_ZONES: tuple[str, ...] = ("1", "2", "3")
DEFAULT_NETWORK_POLICY = "azure"
DEFAULT_POD_CIDR = "192.168.0.0/16"
DEFAULT_SERVICE_CIDR = "172.16.0.0/16"
DEFAULT_DNS_SERVICE_IP = "172.16.0.10"
DEFAULT_KMS_NETWORK_ACCESS = "Private"
DEFAULT_UPGRADE_CHANNEL = "patch"
DEFAULT_NODE_OS_UPGRADE_CHANNEL = "NodeImage"
DEFAULT_SKU_TIER = "Standard"
DEFAULT_LOG_RETENTION_DAYS = 365
DEFAULT_DEFENDER = True
DEFAULT_PROTECT = False
DEFAULT_SYSTEM_VM_SIZE = "Standard_D4ds_v5"
DEFAULT_SYSTEM_MIN_COUNT = 2
DEFAULT_SYSTEM_MAX_COUNT = 4
DEFAULT_SYSTEM_OS_DISK_GB = 100
OS_SKUS = ("Ubuntu", "AzureLinux")
DEFAULT_SYSTEM_OS_SKU = "AzureLinux"
DEFAULT_PLATFORM_VM_SIZE = "Standard_D4ds_v5"
DEFAULT_PLATFORM_MIN_COUNT_PER_ZONE = 1
DEFAULT_PLATFORM_MAX_COUNT_PER_ZONE = 2
DEFAULT_PLATFORM_OS_DISK_GB = 100
DEFAULT_PLATFORM_OS_SKU = "AzureLinux"
DEFAULT_AUTOSCALER_EXPANDER = "least-waste"
AUTOSCALER_EXPANDERS: tuple[str, ...] = ("least-waste", "priority", "most-pods", "random")
PRIORITY_EXPANDER_CONFIG_MAP = "cluster-autoscaler-priority-expander"
"""The ConfigMap in kube-system the AKS autoscaler reads with the `priority` expander (Azure/AKS#1931, shipped)."""
DEFAULT_PRIORITY_SPOT = 20
DEFAULT_PRIORITY_REGULAR = 10
LOWEST_PRIORITY = 1
"""The priority of every other pool (system, platform): the priority expander considers only the node groups a
pattern matches, so a catch-all keeps the untainted pools growable."""
DEFAULT_SCALE_DOWN_UNNEEDED_TIME = "10m"
DEFAULT_SCALE_DOWN_DELAY_AFTER_ADD = "10m"
DEFAULT_GPU_MIN_COUNT = 0
DEFAULT_GPU_MAX_COUNT = 2
DEFAULT_GPU_SPOT = False
DEFAULT_GPU_OS_DISK_GB = 200
DEFAULT_GPU_OS_SKU = "Ubuntu"
DEFAULT_IMAGE_CLEANER_HOURS = 168
DEFAULT_KUBELOGIN_MODE = "azurecli"
DEFAULT_GRANT_DEPLOYER_ADMIN = False
DEFAULT_DEPLOYER_PRINCIPAL_TYPE = "ServicePrincipal"
DEPLOYER_PRINCIPAL_TYPES: tuple[str, ...] = ("ServicePrincipal", "User", "Group")
DEFAULT_RUN_COMMAND = False

SYSTEM_POOL_NAME = "system"
RESERVED_POOL_NAMES = frozenset({SYSTEM_POOL_NAME, pools.PLATFORM_POOL_NAME})
"""Pool names this component gives its own pools; GPU pools take other names."""
GPU_DRIVER = "Install"
"""AKS installs the NVIDIA driver and container toolkit on GPU nodes (see the class docstring for the contract)."""
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
"""The taint AKS puts on every spot pool; declared explicitly so Pulumi does not see it as drift."""
AUDIT_LOG_CATEGORIES: tuple[str, ...] = ("kube-audit", "kube-audit-admin", "guard", "cluster-autoscaler")
"""AKS control-plane log categories sent to Log Analytics: the audit trail, Entra authentication, scaling."""
GPU_POOL_REPLACE_ON_CHANGES: tuple[str, ...] = (
    "vmSize",
    "nodeTaints",
    "osDiskSizeGB",
    "osDiskType",
    "availabilityZones",
    "enableEncryptionAtHost",
    "scaleSetPriority",
    "scaleSetEvictionPolicy",
    "gpuProfile",
    "vnetSubnetID",
)
"""Agent-pool properties AKS fixes at creation (GPU and platform pools). Changing one replaces the pool (deleted
first: the name is fixed)."""

_AKS_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_AKS_MINUTES = re.compile(r"^[1-9]\d*m$")
_AZURE_VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_-]+$")
_AKS_TAINT = re.compile(
    r"^(?P<key>[A-Za-z0-9./_-]{1,316})=(?P<value>[A-Za-z0-9._-]{0,63}):(?P<effect>NoSchedule|PreferNoSchedule|NoExecute)$"
)


class AzureSystemPoolArgs(TypedDict, total=False):
    """The AKS system pool, tainted `CriticalAddonsOnly=true:NoSchedule`: the critical add-ons only (the platform
    pool runs monitoring and logging); no GPUs."""

    vm_size: str
    """VM size. Defaults to Standard_D4ds_v5."""
    min_count: int
    """Fewest nodes (at least 1: a system pool cannot scale to zero). Defaults to 2."""
    max_count: int
    """Most nodes. Defaults to 4."""
    os_disk_size_gb: int
    """OS disk size in GiB. Defaults to 100."""
    os_sku: str
    """Node image. Defaults to AzureLinux (smaller attack surface, as in the AKS baseline)."""


class AzurePlatformPoolArgs(TypedDict, total=False):
    """The platform pool: an untainted, autoscaled, zonal CPU `User` pool for the platform's own workloads
    (operators, Prometheus, Grafana, Elasticsearch, Kibana), which the tainted system pool refuses."""

    vm_size: str
    """General-purpose VM size (no GPU: the pool is untainted). Defaults to Standard_D4ds_v5. Changing it replaces
    the pool."""
    min_count_per_zone: int
    """Fewest nodes in each of the cluster's zones (at least 1: the Kubernetes layer's Deployments wait for it);
    the pool's AKS minCount is this times the number of zones. Defaults to 1."""
    max_count_per_zone: int
    """Most nodes per zone; the pool's AKS maxCount is this times the number of zones. Defaults to 2."""
    os_disk_size_gb: int
    """OS disk size in GiB. Defaults to 100. Changing it replaces the pool."""
    os_sku: str
    """Node image. Defaults to AzureLinux (as the system pool)."""


class AzureAutoscalerProfileArgs(TypedDict, total=False):
    """The cluster autoscaler profile (one per cluster, for every autoscaled pool)."""

    expander: str
    """How the autoscaler picks the pool to grow when several fit a pending pod: `least-waste` (the pool left
    with the least idle CPU, then memory: a one-GPU serving pod grows the small GPU pool, not the large training
    one), `priority` (the GPU pools' `priority`, highest first; the Kubernetes layer writes them to the
    `cluster-autoscaler-priority-expander` ConfigMap from `autoscaler_priorities`), `most-pods` or `random` (the
    AKS default). Defaults to least-waste."""
    scale_down_unneeded_time: str
    """How long a node must be unneeded before it is removed, in minutes (`10m`): idle GPU nodes stop costing
    after this. Defaults to 10m."""
    scale_down_delay_after_add: str
    """How long after a scale-up scale-down evaluation resumes, in minutes. Defaults to 10m."""


class AzureGpuNodePoolArgs(TypedDict):
    """One GPU user pool (the same pool schema as the other clouds, in AKS terms)."""

    name: str
    """Pool name: 1-12 lower-case letters and digits, starting with a letter (AKS limit). Required."""
    vm_size: str
    """NVIDIA NC- or ND-series VM size, e.g. `Standard_NC4as_T4_v3`. Required. Changing it replaces the pool."""
    min_count: NotRequired[int]
    """Fewest nodes; 0 lets the autoscaler scale the pool to zero. Defaults to 0."""
    max_count: NotRequired[int]
    """Most nodes the autoscaler may run. Defaults to 2."""
    initial_count: NotRequired[int]
    """Nodes at creation (later left to the autoscaler). Defaults to `minCount`."""
    spot: NotRequired[bool]
    """Run on spot VMs (evicted VMs are deleted; pay up to the on-demand price). Defaults to false."""
    priority: NotRequired[int]
    """1-100: with the `priority` expander, pools that fit a pending pod are grown highest priority first (e.g. a
    spot pool before a regular pool of the same size, the fallback). Defaults to 20 for spot, 10 otherwise."""
    os_disk_size_gb: NotRequired[int]
    """OS disk in GiB (images and model weights are large). Defaults to 200. Changing it replaces the pool."""
    os_sku: NotRequired[str]
    """Node image. Defaults to Ubuntu."""
    zones: NotRequired[list[str]]
    """Availability zones, a subset of the cluster's. Defaults to the cluster's zones."""
    extra_taints: NotRequired[list[str]]
    """Taints beyond the GPU contract's, as `key=value:Effect`; a `workload=<kind>` taint (e.g. training) also labels
    the nodes `mlplatform.io/workload: <kind>`. Defaults to none. Changing them replaces the pool."""
    labels: NotRequired[dict[str, str]]
    """Extra node labels; the GPU contract labels (and the label of a `workload` taint) are always added and cannot
    be overridden. Defaults to none."""


class AzureGpuClusterArgs(TypedDict, total=False):
    """Arguments of `AzureGpuCluster`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the cluster and its companions. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    cluster_name: str
    """Physical cluster name (1-63 characters). Defaults to the component name."""
    tenant_id: pulumi.Input[str]
    """Entra tenant for the cluster's Entra integration. Defaults to the tenant of the deploying identity."""
    kubernetes_version: pulumi.Input[str]
    """Kubernetes version, e.g. "1.34" (patches follow `upgradeChannel`). Defaults to 1.34."""
    node_subnet_id: Required[pulumi.Input[str]]
    """Subnet for node NICs. Required."""
    api_server_subnet_id: Required[pulumi.Input[str]]
    """Subnet delegated to `Microsoft.ContainerService/managedClusters` for API Server VNet Integration. Required:
    KMS with a private key vault works only with VNet integration."""
    vnet_address_space: str
    """The VNet's address space, used only to check that the pod and service CIDRs do not overlap it. Defaults to
    none (no overlap check)."""
    private_cluster: bool
    """Serve the API server only inside the VNet (private cluster). Defaults to true."""
    authorized_ip_ranges: list[str]
    """Networks allowed to reach a public API server; required when `privateCluster` is false; never 0.0.0.0/0."""
    admin_group_object_ids: Required[list[str]]
    """Entra group object IDs given cluster-admin (adminGroupObjectIDs, plus Azure Kubernetes Service RBAC Cluster
    Admin and Cluster User on the cluster). Required: local accounts are disabled."""
    grant_deployer_admin: bool
    """Give the identity that deploys the Kubernetes layer Azure Kubernetes Service RBAC Cluster Admin and Cluster
    User Role on this cluster (as `deployerAdminAccess` does on EKS), and make `apiPrerequisites` wait for the grants
    to take effect. Risk of leaving it on: the CI identity stays cluster-admin; turn it off once the deployer is a
    member of an admin group. Defaults to false."""
    deployer_principal_id: pulumi.Input[str]
    """Object ID of the deployer given admin with `grantDeployerAdmin`. Defaults to the identity the azure-native
    provider runs as (its client config's object ID: the `az login` user, or the OIDC service principal in CI);
    required for a Group deployer."""
    deployer_principal_type: str
    """Kind of the deployer principal: ServicePrincipal (CI, managed identity), User (a person after `az login`) or
    Group. Must match the principal: Azure rejects a role assignment whose type differs. A Group already in
    `adminGroupObjectIds` gets no second grant (the SDK would default an unset type to User, so it is always
    set). Defaults to ServicePrincipal."""
    team_group_object_ids: list[str]
    """Entra groups of the teams that use the cluster; each gets Azure Kubernetes Service Cluster User Role on it so
    its members can fetch the Entra kubeconfig (`az aks get-credentials`). Their rights inside the cluster come from
    Kubernetes RoleBindings to the group's object ID (the token's group claim): with Azure RBAC on, "Azure will team
    with Kubernetes RBAC to authorize the request". Duplicates and admin groups are granted once. Defaults to none."""
    kubelogin_mode: str
    """How the user kubeconfig's kubelogin authenticates, non-interactively: `azurecli` (`az login` on a laptop,
    `azure/login` with OIDC in GitHub Actions), `workloadidentity` (AZURE_FEDERATED_TOKEN_FILE and friends),
    `spn` (a service principal's client credential from the environment) or `msi` (the runner VM's managed
    identity). kubelogin must be on the PATH of whatever runs Pulumi. Defaults to azurecli."""
    deployer_virtual_network_ids: list[pulumi.Input[str]]
    """VNets peered with the cluster's (see `AzureNetwork.peerVirtualNetworkIds`) from which a deployer reaches the
    private API server, e.g. a hub with self-hosted runners: each gets a link (registration off) to the AKS-managed
    private DNS zone in the node resource group, so the server's private name resolves there. VNets using custom
    DNS servers must forward to Azure DNS instead. Only with `privateCluster`. Defaults to none."""
    run_command: bool
    """Allow `az aks command invoke` (run-command), the break-glass path to a private API server from outside its
    network. Risk: the private API server becomes reachable through Azure Resource Manager from any network, for
    every principal allowed `managedClusters/runCommand/action`. Keep it off where an in-network path exists
    (`deployerVirtualNetworkIds`, a runner in the VNet). Defaults to false."""
    role_propagation_wait: str
    """How long new role assignments are given to take effect (Go duration) before what relies on them: the
    cluster waits for its identity's and disk encryption set's grants, `apiPrerequisites` for the admin and
    deployer grants. Defaults to 10m, Microsoft's documented upper bound for role assignments."""
    zones: list[str]
    """Availability zones of the pools. Defaults to 1, 2 and 3."""
    system_pool: AzureSystemPoolArgs
    """The system pool. Defaults to 2-4 Standard_D4ds_v5 nodes."""
    platform_pool: AzurePlatformPoolArgs
    """The platform pool, always created. Defaults to 1-2 Standard_D4ds_v5 nodes per zone."""
    autoscaler_profile: AzureAutoscalerProfileArgs
    """The cluster autoscaler profile. Defaults to the least-waste expander and a 10-minute scale-down."""
    gpu_node_pools: list[AzureGpuNodePoolArgs]
    """GPU user pools. Defaults to none."""
    network_policy: str
    """Network policy engine (`cilium` also selects the Cilium dataplane). Defaults to azure."""
    pod_cidr: str
    """Overlay pod address range. Defaults to 192.168.0.0/16."""
    service_cidr: str
    """Kubernetes service range. Defaults to 172.16.0.0/16."""
    dns_service_ip: str
    """Cluster DNS address inside `serviceCidr`. Defaults to 172.16.0.10."""
    key_vault_id: Required[pulumi.Input[str]]
    """Resource ID of the Key Vault holding the KMS and disk keys. Required."""
    kms_key_id: Required[pulumi.Input[str]]
    """Versioned URI of the key that envelope-encrypts etcd secrets (KMS). Required. Changing the version
    re-encrypts secrets in place."""
    kms_key_resource_id: Required[pulumi.Input[str]]
    """Resource ID of the KMS key; the cluster identity gets Key Vault Crypto User on it. Required."""
    kms_key_vault_network_access: str
    """How the KMS plugin reaches the vault. `Private` needs API Server VNet Integration and a private endpoint
    to the vault; `Public` needs a vault open to all networks. Fixed while KMS is on. Defaults to Private."""
    disk_encryption_key_url: Required[pulumi.Input[str]]
    """Versioned URI of the key for the disk encryption set (OS and data disks). Required."""
    disk_encryption_key_resource_id: Required[pulumi.Input[str]]
    """Resource ID of the disk key; the disk encryption set gets Key Vault Crypto Service Encryption User on it.
    Required."""
    upgrade_channel: str
    """Automatic Kubernetes upgrades. Defaults to patch."""
    node_os_upgrade_channel: str
    """Automatic node OS upgrades. Defaults to NodeImage."""
    sku_tier: str
    """Control-plane tier (Standard has the uptime SLA). Defaults to Standard."""
    log_analytics_workspace_id: pulumi.Input[str]
    """An existing Log Analytics workspace for cluster logs (e.g. an `AzureLogAnalytics` shared with the other
    components). Defaults to a workspace created by this component."""
    log_retention_days: int
    """Days the workspace this component creates keeps control-plane and container logs (30-730). Defaults to 365."""
    defender: bool
    """Enable Microsoft Defender for Containers security monitoring. Defaults to true."""
    protect: bool
    """Protect the cluster (`protect`) and the log workspace, disk encryption set and cluster identity (`protect` +
    `retainOnDelete`) from deletion. Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for every resource. Defaults to none."""


def aks_taints(extra: list[str] | None = None) -> list[str]:
    """The taints of a GPU pool in AKS form: the GPU contract's first, then the user's extras."""
    contract = [taint.aks() for taint in gpu.gpu_taints("azure")]
    return contract + [taint for taint in extra or [] if taint not in contract]


def gpu_pool_settings(pool: AzureGpuNodePoolArgs, cluster_zones: list[str]) -> dict[str, Any]:
    """The AgentPool settings of one GPU pool (no resource references), as snake_case `AgentPool` arguments."""
    info = gpu.azure_gpu_instance(pool["vm_size"])
    min_count = pool.get("min_count", DEFAULT_GPU_MIN_COUNT)
    spot = pool.get("spot", DEFAULT_GPU_SPOT)
    taints = aks_taints(pool.get("extra_taints"))
    workload = pools.workload_labels(_taint_pairs(pool.get("extra_taints")))
    settings: dict[str, Any] = {
        "mode": "User",
        "os_type": "Linux",
        "os_sku": pool.get("os_sku", DEFAULT_GPU_OS_SKU),
        "vm_size": pool["vm_size"],
        "os_disk_type": "Managed",
        "os_disk_size_gb": pool.get("os_disk_size_gb", DEFAULT_GPU_OS_DISK_GB),
        "enable_auto_scaling": True,
        "min_count": min_count,
        "max_count": pool.get("max_count", DEFAULT_GPU_MAX_COUNT),
        "count": pool.get("initial_count", min_count),
        "availability_zones": list(pool.get("zones") or cluster_zones),
        "enable_encryption_at_host": True,
        "enable_node_public_ip": False,
        "enable_fips": False,
        "node_taints": taints + ([SPOT_TAINT] if spot else []),
        # The pods that tolerate a `workload=<kind>` taint select the pool by its label.
        "node_labels": {
            **gpu.gpu_pool_labels(pool["name"], info.accelerator if info else None, pool.get("labels")),
            **workload,
        },
        "gpu_profile": {"driver": GPU_DRIVER},
        # One node at a time: GPU capacity is scarce, and a surge of several GPU VMs often fails on quota.
        "upgrade_settings": {"max_surge": "1"},
    }
    if spot:
        settings.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
    return settings


def _taint_pairs(taints: list[str] | None) -> list[tuple[str, str]]:
    """`(key, value)` of each well-formed `key=value:Effect` taint."""
    matches = [_AKS_TAINT.match(taint) for taint in taints or []]
    return [(match["key"], match["value"]) for match in matches if match]


def platform_pool_settings(pool: AzurePlatformPoolArgs, cluster_zones: list[str]) -> dict[str, Any]:
    """The AgentPool settings of the platform pool (no resource references), as snake_case `AgentPool` arguments.

    No taints: the platform's Deployments and StatefulSets run here without tolerations, while the system pool
    keeps `CriticalAddonsOnly` ("schedule your application pods on user node pools",
    https://learn.microsoft.com/azure/aks/use-system-pools).
    """
    zones = list(cluster_zones)
    min_count = pool.get("min_count_per_zone", DEFAULT_PLATFORM_MIN_COUNT_PER_ZONE) * len(zones)
    return {
        "mode": "User",
        "os_type": "Linux",
        "os_sku": pool.get("os_sku", DEFAULT_PLATFORM_OS_SKU),
        "vm_size": pool.get("vm_size", DEFAULT_PLATFORM_VM_SIZE),
        "os_disk_type": "Managed",
        "os_disk_size_gb": pool.get("os_disk_size_gb", DEFAULT_PLATFORM_OS_DISK_GB),
        "enable_auto_scaling": True,
        "min_count": min_count,
        "max_count": pool.get("max_count_per_zone", DEFAULT_PLATFORM_MAX_COUNT_PER_ZONE) * len(zones),
        "count": min_count,
        "availability_zones": zones,
        "enable_encryption_at_host": True,
        "enable_node_public_ip": False,
        "enable_fips": False,
        "node_labels": pools.platform_pool_labels(),
        "upgrade_settings": {"max_surge": "33%"},
    }


def autoscaler_profile(profile: AzureAutoscalerProfileArgs) -> dict[str, str]:
    """The cluster's `autoScalerProfile` (snake_case arguments of `ManagedClusterPropertiesAutoScalerProfileArgs`).

    AKS's expander defaults to `random` ("If not specified, the default is 'random'", ManagedCluster API,
    `autoScalerProfile.expander`; the profile's settings: https://learn.microsoft.com/azure/aks/cluster-autoscaler,
    *Use the cluster autoscaler profile*), so a pending one-GPU serving pod could grow any GPU pool that fits it.
    `least-waste` "selects the node group that will have the least idle CPU (if tied, unused memory) after
    scale-up" (cluster-autoscaler FAQ, *What are Expanders?*): the small serving size wins over an A100 node, and
    pools reserved by a `workload=...` taint are never candidates for pods without the toleration. It needs no
    in-cluster configuration, unlike `priority` (a ConfigMap in kube-system the Kubernetes layer would have to own).
    """
    return {
        "expander": profile.get("expander", DEFAULT_AUTOSCALER_EXPANDER),
        "scale_down_unneeded_time": profile.get("scale_down_unneeded_time", DEFAULT_SCALE_DOWN_UNNEEDED_TIME),
        "scale_down_delay_after_add": profile.get("scale_down_delay_after_add", DEFAULT_SCALE_DOWN_DELAY_AFTER_ADD),
        # A GPU node whose only pods are the node agents (device plugin, DCGM exporter, node exporter, Fluent
        # Bit) is idle: their requests must not keep it above the utilization threshold.
        "ignore_daemonsets_utilization": True,
        # ...and those agents are evicted gracefully when it goes, so Fluent Bit flushes its last logs.
        "daemonset_eviction_for_empty_nodes": True,
        # Model servers mount emptyDir volumes (/tmp, /dev/shm); they hold nothing that must outlive the pod, so
        # they must not pin an underused node forever (the cluster-autoscaler FAQ: "What types of pods can
        # prevent CA from removing a node?").
        "skip_nodes_with_local_storage": "false",
        # Keep the zonal platform pool's zones even when it grows.
        "balance_similar_node_groups": "true",
    }


def pool_priority(pool: AzureGpuNodePoolArgs) -> int:
    """A GPU pool's priority for the `priority` expander."""
    default = DEFAULT_PRIORITY_SPOT if pool.get("spot", DEFAULT_GPU_SPOT) else DEFAULT_PRIORITY_REGULAR
    return pool.get("priority", default)


def node_group_pattern(pool_name: str) -> str:
    """The regular expression matching the autoscaler's node group (the VM scale set `aks-<pool>-<digits>-vmss`)
    of one agent pool, and no other pool's."""
    return f"^aks-{re.escape(pool_name)}-[0-9]+-vmss$"


def autoscaler_priorities(gpu_pools: list[AzureGpuNodePoolArgs]) -> dict[int, list[str]]:
    """The priority expander's configuration: priority -> node group patterns; every other pool at the lowest."""
    priorities: dict[int, list[str]] = {}
    for pool in gpu_pools:
        priorities.setdefault(pool_priority(pool), []).append(node_group_pattern(pool["name"]))
    priorities.setdefault(LOWEST_PRIORITY, []).append(".*")
    return dict(sorted(priorities.items(), reverse=True))


class AccessGrant(NamedTuple):
    """One Azure RBAC grant on the cluster for a person, team or deployer (no resource references)."""

    suffix: str
    """Logical-name suffix of the role assignment (stable per principal and role)."""
    role: str
    """Built-in role definition ID."""
    principal_id: Any
    """Entra object ID (a string, or an Output for the deploying identity)."""
    principal_type: str
    """`Group`, `User` or `ServicePrincipal`."""
    api_access: bool
    """True when the Kubernetes layer's deployer may call the API through it (it belongs in `apiPrerequisites`)."""


def cluster_access_grants(
    admin_group_object_ids: list[str],
    team_group_object_ids: list[str],
    deployer: tuple[Any, str] | None,
) -> list[AccessGrant]:
    """The Azure RBAC grants on the cluster, each principal and role once.

    Admin groups get RBAC Cluster Admin and Cluster User Role; the deployer (object ID and principal type, or
    None) the same, unless it is a Group already among the admins; each team group Cluster User Role, unless it
    is an admin group or the deployer already holds it. Admin grant names keep their index (existing stacks).
    """
    grants: list[AccessGrant] = []
    covered: set[str] = set()
    for index, group in enumerate(admin_group_object_ids):
        for suffix, role in (("rbac-admin", AKS_RBAC_CLUSTER_ADMIN), ("cluster-user", AKS_CLUSTER_USER)):
            grants.append(AccessGrant(f"admins-{index}-{suffix}", role, group, "Group", True))
        if isinstance(group, str):
            covered.add(group.lower())
    if deployer is not None:
        principal_id, principal_type = deployer
        known = principal_id.lower() if isinstance(principal_id, str) else None
        if not (principal_type == "Group" and known in covered):
            for suffix, role in (("rbac-admin", AKS_RBAC_CLUSTER_ADMIN), ("cluster-user", AKS_CLUSTER_USER)):
                grants.append(AccessGrant(f"deployer-{suffix}", role, principal_id, principal_type, True))
            if principal_type == "Group" and known is not None:
                covered.add(known)
    for group in team_group_object_ids:
        if group.lower() in covered:
            continue
        covered.add(group.lower())
        grants.append(AccessGrant(f"team-{group.lower()}-cluster-user", AKS_CLUSTER_USER, group, "Group", False))
    return grants


def private_dns_zone_name(private_fqdn: str) -> str:
    """The AKS-managed private DNS zone of a private cluster: its private FQDN without the first label.

    Raises:
        ValueError: when `private_fqdn` has no zone part.
    """
    host, _, zone = private_fqdn.rstrip(".").partition(".")
    if not host or not zone:
        raise ValueError(f"'{private_fqdn}' is not a private cluster FQDN such as <host>.<zone>.azmk8s.io")
    return zone


def storage_class_contract(disk_encryption_set_id: str, zone_count: int) -> dict[str, Any]:
    """The StorageClass the Kubernetes layer creates for persistent volumes: Azure Disk CSI with the cluster's CMK."""
    return {
        "provisioner": "disk.csi.azure.com",
        "parameters": {
            # Zone-redundant disks follow pods across zones; a single-zone cluster keeps cheaper LRS disks.
            "skuName": "Premium_ZRS" if zone_count > 1 else "Premium_LRS",
            "diskEncryptionSetID": disk_encryption_set_id,
            "networkAccessPolicy": "DenyAll",
        },
    }


def _overlaps(first: str, second: str) -> bool:
    return ipaddress.ip_network(first, strict=False).overlaps(ipaddress.ip_network(second, strict=False))


def _validate_pools(args: AzureGpuClusterArgs, problems: Problems) -> None:
    zones = list(args.get("zones", DEFAULT_ZONES))
    system = args.get("system_pool", {})
    system_min = system.get("min_count", DEFAULT_SYSTEM_MIN_COUNT)
    system_max = system.get("max_count", DEFAULT_SYSTEM_MAX_COUNT)
    if system_min < 1:
        problems.add("systemPool.minCount", "must be at least 1 (a system pool cannot scale to zero)")
    if system_max < system_min:
        problems.add("systemPool.maxCount", f"must be >= minCount ({system_min})")
    platform = args.get("platform_pool") or {}
    platform_min = platform.get("min_count_per_zone", DEFAULT_PLATFORM_MIN_COUNT_PER_ZONE)
    platform_max = platform.get("max_count_per_zone", DEFAULT_PLATFORM_MAX_COUNT_PER_ZONE)
    if platform_min < 1:
        problems.add(
            "platformPool.minCountPerZone",
            "must be at least 1: the Kubernetes layer's Deployments and StatefulSets wait for platform nodes",
        )
    if platform_max < platform_min:
        problems.add("platformPool.maxCountPerZone", f"must be >= minCountPerZone ({platform_min})")
    platform_size = platform.get("vm_size", DEFAULT_PLATFORM_VM_SIZE)
    if not _AZURE_VM_SIZE.match(platform_size):
        problems.add("platformPool.vmSize", f"'{platform_size}' is not an Azure VM size like Standard_D8ds_v5")
    elif gpu.azure_gpu_instance(platform_size) is not None:
        problems.add(
            "platformPool.vmSize",
            f"'{platform_size}' is a GPU size: the platform pool is untainted, so any pod could take its GPUs; "
            "use a general-purpose size and add GPUs as a GPU pool",
        )
    seen: set[str] = set()
    for index, pool in enumerate(args.get("gpu_node_pools", [])):
        path = f"gpuNodePools[{index}]"
        name = pool.get("name", "")
        if not _AKS_POOL_NAME.match(name):
            problems.add(
                f"{path}.name",
                f"'{name}' is not an AKS pool name: 1-12 lower-case letters and digits, starting with a letter",
            )
        elif name in RESERVED_POOL_NAMES:
            problems.add(f"{path}.name", f"'{name}' is the name of the cluster's own {name} pool; choose another")
        elif name in seen:
            problems.add(f"{path}.name", f"duplicate pool name '{name}'")
        seen.add(name)
        vm_size = pool.get("vm_size", "")
        if gpu.azure_gpu_instance(vm_size) is None:
            problems.add(
                f"{path}.vmSize",
                f"'{vm_size}' is not an NVIDIA GPU VM size; use an NC or ND size such as Standard_NC4as_T4_v3",
            )
        min_count = pool.get("min_count", DEFAULT_GPU_MIN_COUNT)
        max_count = pool.get("max_count", DEFAULT_GPU_MAX_COUNT)
        if min_count < 0:
            problems.add(f"{path}.minCount", "must be >= 0")
        if max_count < 1:
            problems.add(f"{path}.maxCount", "must be >= 1")
        if max_count < min_count:
            problems.add(f"{path}.maxCount", f"must be >= minCount ({min_count})")
        priority = pool.get("priority")
        if priority is not None and (not isinstance(priority, int) or not 1 <= priority <= 100):
            problems.add(f"{path}.priority", f"'{priority}' must be an integer from 1 to 100")
        initial = pool.get("initial_count")
        if initial is not None and not min_count <= initial <= max_count:
            problems.add(f"{path}.initialCount", f"must be between minCount ({min_count}) and maxCount ({max_count})")
        for zone_index, zone in enumerate(pool.get("zones") or []):
            if zone not in zones:
                problems.add(
                    f"{path}.zones[{zone_index}]", f"'{zone}' is not one of the cluster zones ({', '.join(zones)})"
                )
        for taint_index, taint in enumerate(pool.get("extra_taints") or []):
            if not _AKS_TAINT.match(taint):
                problems.add(
                    f"{path}.extraTaints[{taint_index}]", f"'{taint}' is not a taint like 'team=vision:NoSchedule'"
                )
        workload = pools.workload_labels(_taint_pairs(pool.get("extra_taints")))
        for key, value in (pool.get("labels") or {}).items():
            if key in (gpu.GPU_PRESENT_LABEL, gpu.GPU_POOL_LABEL, gpu.ACCELERATOR_LABEL):
                problems.add(f"{path}.labels.{key}", f"'{key}' is set by the GPU contract and cannot be overridden")
            elif key == pools.WORKLOAD_LABEL and value != workload.get(key):
                problems.add(
                    f"{path}.labels.{key}",
                    f"'{key}' comes from the pool's `{pools.WORKLOAD_TAINT_KEY}` taint "
                    f"({workload.get(key) or 'none here'}); set the taint instead",
                )


def _validate_access(args: AzureGpuClusterArgs, problems: Problems, private: bool) -> None:
    grant_deployer = args.get("grant_deployer_admin", DEFAULT_GRANT_DEPLOYER_ADMIN)
    deployer_id = args.get("deployer_principal_id")
    deployer_type = args.get("deployer_principal_type", DEFAULT_DEPLOYER_PRINCIPAL_TYPE)
    if deployer_id is not None and not grant_deployer:
        problems.add("deployerPrincipalId", "only used with grantDeployerAdmin: true")
    if isinstance(deployer_id, str) and not is_guid(deployer_id):
        problems.add("deployerPrincipalId", f"'{deployer_id}' is not an Entra object ID (a GUID)")
    if deployer_type not in DEPLOYER_PRINCIPAL_TYPES:
        problems.add("deployerPrincipalType", f"'{deployer_type}' must be one of {', '.join(DEPLOYER_PRINCIPAL_TYPES)}")
    elif grant_deployer and deployer_type == "Group" and deployer_id is None:
        problems.add(
            "deployerPrincipalId", "required for a Group deployer (the identity running Pulumi is never a group)"
        )
    if args.get("kubelogin_mode", DEFAULT_KUBELOGIN_MODE) not in KUBELOGIN_MODES:
        problems.add(
            "kubeloginMode",
            f"'{args.get('kubelogin_mode')}' must be one of {', '.join(KUBELOGIN_MODES)} "
            "(device code and browser logins block a non-interactive pulumi up)",
        )
    networks = args.get("deployer_virtual_network_ids") or []
    check_virtual_network_ids(problems, "deployerVirtualNetworkIds", networks)
    if networks and not private:
        problems.add(
            "deployerVirtualNetworkIds", "only used with privateCluster: true (a public API server has a public name)"
        )
    check_role_propagation_wait(problems, args.get("role_propagation_wait", DEFAULT_ROLE_PROPAGATION_WAIT))


def _validate(args: AzureGpuClusterArgs) -> Problems:
    problems = Problems()
    check_required(
        problems,
        args,
        "resource_group_name",
        "node_subnet_id",
        "api_server_subnet_id",
        "key_vault_id",
        "kms_key_id",
        "kms_key_resource_id",
        "disk_encryption_key_url",
        "disk_encryption_key_resource_id",
    )
    check_location(problems, args.get("location"))
    check_bool(problems, args, "private_cluster", "defender", "protect", "grant_deployer_admin", "run_command")
    private = args.get("private_cluster", DEFAULT_PRIVATE_CLUSTER)
    ranges = args.get("authorized_ip_ranges") or []
    check_cidrs(problems, "authorizedIpRanges", ranges)
    if not private and not ranges:
        problems.add(
            "authorizedIpRanges",
            "required when privateCluster is false: a public API server must be restricted to known networks",
        )
    if private and ranges:
        problems.add("authorizedIpRanges", "only used with privateCluster: false")
    admins = args.get("admin_group_object_ids") or []
    if not admins:
        problems.add("adminGroupObjectIds", "at least one Entra group is required: local accounts are disabled")
    check_guids(problems, "adminGroupObjectIds", admins)
    plain_admins = [group.lower() for group in admins if isinstance(group, str)]
    if len(set(plain_admins)) != len(plain_admins):
        problems.add("adminGroupObjectIds", "groups must be unique (Azure rejects a second identical role assignment)")
    teams = args.get("team_group_object_ids") or []
    check_guids(problems, "teamGroupObjectIds", teams)
    for index, group in enumerate(teams if isinstance(teams, list | tuple) else []):
        if not isinstance(group, str):
            problems.add(
                f"teamGroupObjectIds[{index}]", "must be a plain string (it names the group's role assignment)"
            )
    _validate_access(args, problems, private)
    zones = list(args.get("zones", DEFAULT_ZONES))
    if not zones or any(zone not in ("1", "2", "3") for zone in zones) or len(set(zones)) != len(zones):
        problems.add("zones", "must be distinct values among 1, 2 and 3")
    if args.get("network_policy", DEFAULT_NETWORK_POLICY) not in ("azure", "cilium"):
        problems.add("networkPolicy", "must be azure or cilium")
    cidrs = {
        "podCidr": args.get("pod_cidr", DEFAULT_POD_CIDR),
        "serviceCidr": args.get("service_cidr", DEFAULT_SERVICE_CIDR),
    }
    if args.get("vnet_address_space"):
        cidrs["vnetAddressSpace"] = args["vnet_address_space"]
    valid: dict[str, str] = {}
    for path, cidr in cidrs.items():
        try:
            ipaddress.ip_network(cidr)
            valid[path] = cidr
        except ValueError:
            problems.add(path, f"'{cidr}' is not a network CIDR")
    for first, second in (
        ("podCidr", "serviceCidr"),
        ("podCidr", "vnetAddressSpace"),
        ("serviceCidr", "vnetAddressSpace"),
    ):
        if first in valid and second in valid and _overlaps(valid[first], valid[second]):
            problems.add(first, f"{valid[first]} overlaps {second} ({valid[second]})")
    dns_ip = args.get("dns_service_ip", DEFAULT_DNS_SERVICE_IP)
    if "serviceCidr" in valid:
        try:
            if ipaddress.ip_address(dns_ip) not in ipaddress.ip_network(valid["serviceCidr"]):
                problems.add("dnsServiceIp", f"{dns_ip} is outside serviceCidr ({valid['serviceCidr']})")
        except ValueError:
            problems.add("dnsServiceIp", f"'{dns_ip}' is not an IP address")
    retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if not isinstance(retention, int) or not 30 <= retention <= 730:
        problems.add("logRetentionDays", "must be 30 to 730 days (the Log Analytics interactive retention range)")
    if args.get("kms_key_vault_network_access", DEFAULT_KMS_NETWORK_ACCESS) not in ("Private", "Public"):
        problems.add("kmsKeyVaultNetworkAccess", "must be Private or Public")
    for path, value, choices in (
        ("upgradeChannel", args.get("upgrade_channel", DEFAULT_UPGRADE_CHANNEL), ("patch", "stable", "rapid", "none")),
        (
            "nodeOsUpgradeChannel",
            args.get("node_os_upgrade_channel", DEFAULT_NODE_OS_UPGRADE_CHANNEL),
            ("NodeImage", "SecurityPatch", "Unmanaged", "None"),
        ),
        ("skuTier", args.get("sku_tier", DEFAULT_SKU_TIER), ("Free", "Standard", "Premium")),
        ("systemPool.osSku", (args.get("system_pool") or {}).get("os_sku", DEFAULT_SYSTEM_OS_SKU), OS_SKUS),
        ("platformPool.osSku", (args.get("platform_pool") or {}).get("os_sku", DEFAULT_PLATFORM_OS_SKU), OS_SKUS),
        (
            "autoscalerProfile.expander",
            (args.get("autoscaler_profile") or {}).get("expander", DEFAULT_AUTOSCALER_EXPANDER),
            AUTOSCALER_EXPANDERS,
        ),
    ):
        if value not in choices:
            problems.add(path, f"'{value}' must be one of {', '.join(choices)}")
    profile = args.get("autoscaler_profile") or {}
    for path, key, default in (
        ("autoscalerProfile.scaleDownUnneededTime", "scale_down_unneeded_time", DEFAULT_SCALE_DOWN_UNNEEDED_TIME),
        ("autoscalerProfile.scaleDownDelayAfterAdd", "scale_down_delay_after_add", DEFAULT_SCALE_DOWN_DELAY_AFTER_ADD),
    ):
        value = profile.get(key, default)  # type: ignore[misc]
        if not _AKS_MINUTES.match(str(value)):
            problems.add(path, f"'{value}' must be whole minutes like '10m' (AKS accepts no other unit here)")
    for index, pool in enumerate(args.get("gpu_node_pools") or []):
        if pool.get("os_sku", DEFAULT_GPU_OS_SKU) not in OS_SKUS:
            problems.add(f"gpuNodePools[{index}].osSku", f"must be one of {', '.join(OS_SKUS)}")
    _validate_pools(args, problems)
    return problems


class AzureGpuCluster(pulumi.ComponentResource):
    """An AKS cluster for GPU workloads, private and Entra-only, with customer-managed keys for etcd and every disk.

    Creates:
    - a user-assigned control-plane identity with Network Contributor on its subnets, Key Vault Crypto User on the
      KMS key (and Key Vault Contributor on the vault for a private KMS vault), Reader on the disk encryption set;
    - a disk encryption set (system-assigned identity, Key Vault Crypto Service Encryption User on the disk key,
      automatic rotation to the latest key version);
    - a Log Analytics workspace (unless `logAnalyticsWorkspaceId` is given) and a diagnostic setting for
      kube-audit, kube-audit-admin, guard and cluster-autoscaler;
    - the managed cluster with a system pool (`CriticalAddonsOnly=true:NoSchedule`), created only after the
      identity and disk-encryption grants had `rolePropagationWait` to take effect, and an autoscaler profile
      (least-waste expander, 10-minute scale-down);
    - an untainted, autoscaled, zonal `platform` user pool (label `mlplatform.io/pool-role: platform`) for the
      platform's own workloads, then one user pool per GPU pool, one after another;
    - Azure RBAC role assignments on the cluster: RBAC Cluster Admin and Cluster User Role for the admin groups
      (and for the deployer with `grantDeployerAdmin`), Cluster User Role for each team group, then a wait for the
      admin and deployer grants to take effect;
    - for a private cluster, a link from the AKS-managed private DNS zone to each of `deployerVirtualNetworkIds`.

    Security defaults: Entra ID integration with Azure RBAC and local accounts disabled; private API server
    with API Server VNet Integration (authorized IP ranges when public; 0.0.0.0/0 rejected) and run-command
    disabled (`runCommand` is the documented break-glass opt-in); a user kubeconfig whose kubelogin never prompts
    (`kubeloginMode`); OIDC issuer and workload identity; Azure CNI Overlay with a network policy engine; KMS etcd
    encryption through a private vault; disk encryption set on OS and data disks plus encryption at host on
    every pool; no node public IPs; Azure Policy, Defender, image cleaner and the Key Vault CSI driver; automatic
    patch and node-image upgrades.

    GPU contract with the Kubernetes layer: GPU pools use `gpuProfile.driver: Install`, so the AKS node image
    installs the NVIDIA driver and container toolkit (as the EKS AL2023 NVIDIA AMI does). The Kubernetes layer
    installs the GPU operator with `driver.enabled=false` and `toolkit.enabled=false` and relies on the taints
    (`gpu.gpu_taints("azure")`) and labels (`gpu.gpu_pool_labels`) set here. Spot pools also carry AKS's
    `kubernetes.azure.com/scalesetpriority=spot:NoSchedule` taint.

    Create-time settings: the disk encryption set is fixed at cluster creation (changing it replaces the
    cluster); a GPU or platform pool's VM size, taints, disk, zones, spot setting and driver mode are fixed at pool
    creation (changing one replaces that pool, deleting it first). The system pool is defined inline, which AKS only
    reads at creation: later changes to it are ignored, add a new System-mode pool instead. The KMS vault
    access mode (Private/Public) cannot change while KMS is on; a new KMS key version is applied in place.
    """

    cluster_name: pulumi.Output[str]
    """Name of the AKS cluster."""
    cluster_id: pulumi.Output[str]
    """Resource ID of the AKS cluster."""
    kubeconfig: pulumi.Output[str]
    """User kubeconfig (secret, YAML); authenticates through Entra with kubelogin (`exec` format) in the
    non-interactive `kubeloginMode`, so kubelogin must be on the PATH of whatever runs Pulumi. Build the Kubernetes
    provider with `depends_on=api_prerequisites` (Python), or after the whole component from other languages."""
    oidc_issuer_url: pulumi.Output[str]
    """OIDC issuer URL for workload identity federation."""
    kubelet_identity_object_id: pulumi.Output[str]
    """Object ID of the kubelet identity (receives AcrPull)."""
    kubelet_identity_client_id: pulumi.Output[str]
    """Client ID of the kubelet identity."""
    control_plane_identity_principal_id: pulumi.Output[str]
    """Principal ID of the cluster's control-plane identity."""
    node_resource_group: pulumi.Output[str]
    """Name of the AKS-managed node resource group."""
    private_fqdn: pulumi.Output[str | None]
    """Private FQDN of the API server (what the kubeconfig's server resolves to inside linked VNets), or None for
    a public cluster."""
    disk_encryption_set_id: pulumi.Output[str]
    """Resource ID of the disk encryption set for node disks and persistent volumes."""
    log_analytics_workspace_id: pulumi.Output[str]
    """Resource ID of the Log Analytics workspace receiving cluster logs."""
    gpu_node_pool_names: pulumi.Output[list[str]]
    """Names of the GPU pools."""
    platform_pool_name: pulumi.Output[str]
    """Name of the platform pool (`platform`)."""
    autoscaler_priorities: dict[str, list[str]]
    """With the `priority` expander: the `priorities` of the `cluster-autoscaler-priority-expander` ConfigMap
    (priority -> node group patterns, a catch-all at the lowest) that the Kubernetes layer writes to kube-system;
    empty otherwise. Plain data."""
    storage_class: pulumi.Output[dict[str, Any]]
    """StorageClass contract for the Kubernetes layer: `provisioner` (disk.csi.azure.com) and `parameters`
    (`skuName`, `diskEncryptionSetID`, `networkAccessPolicy`)."""

    def __init__(self, name: str, args: AzureGpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureGpuCluster '{name}'")
        super().__init__("mlplatform:index:AzureGpuCluster", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        location = args["location"]
        tags = args.get("tags")
        protect = args.get("protect", DEFAULT_PROTECT)
        zones = list(args.get("zones", DEFAULT_ZONES))
        private = args.get("private_cluster", DEFAULT_PRIVATE_CLUSTER)
        kms_access = args.get("kms_key_vault_network_access", DEFAULT_KMS_NETWORK_ACCESS)
        propagation = args.get("role_propagation_wait", DEFAULT_ROLE_PROPAGATION_WAIT)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        def role(role_id: str) -> pulumi.Output[str]:
            return client.subscription_id.apply(lambda subscription: role_definition_id(subscription, role_id))

        def grant(
            suffix: str,
            role_id: str,
            scope: pulumi.Input[str],
            principal: pulumi.Input[str],
            kind: str = "ServicePrincipal",
        ) -> authorization.RoleAssignment:
            return authorization.RoleAssignment(
                f"{name}-{suffix}",
                scope=scope,
                role_definition_id=role(role_id),
                principal_id=principal,
                principal_type=kind,
                description=f"{ROLE_NAMES[role_id]} for AKS cluster {name}.",
                opts=child,
            )

        # KMS cannot use a system-assigned identity (it must hold its key grant before the cluster exists).
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=resource_group_name, location=location, tags=tags, opts=stateful
        )
        grants = {
            suffix: grant(suffix, role_id, scope, identity.principal_id)
            for suffix, role_id, scope in (
                ("node-subnet-network", NETWORK_CONTRIBUTOR, args["node_subnet_id"]),
                ("api-subnet-network", NETWORK_CONTRIBUTOR, args["api_server_subnet_id"]),
                ("kms-crypto-user", KEY_VAULT_CRYPTO_USER, args["kms_key_resource_id"]),
            )
        }
        if kms_access == "Private":
            # AKS documents Key Vault Contributor on the vault for KMS with a private vault (it manages the link).
            grants["kms-vault-contributor"] = grant(
                "kms-vault-contributor", KEY_VAULT_CONTRIBUTOR, args["key_vault_id"], identity.principal_id
            )

        disk_encryption_set = compute.DiskEncryptionSet(
            f"{name}-des",
            resource_group_name=resource_group_name,
            location=location,
            encryption_type="EncryptionAtRestWithCustomerKey",
            active_key=compute.KeyForDiskEncryptionSetArgs(
                key_url=args["disk_encryption_key_url"], source_vault=compute.SourceVaultArgs(id=args["key_vault_id"])
            ),
            rotation_to_latest_key_version_enabled=True,
            # System-assigned: disk encryption sets reach a firewalled vault as a trusted service this way.
            identity=compute.EncryptionSetIdentityArgs(type="SystemAssigned"),
            tags=tags,
            opts=stateful,
        )
        grants["des-encryption-user"] = grant(
            "des-encryption-user",
            KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
            args["disk_encryption_key_resource_id"],
            disk_encryption_set.identity.apply(
                lambda des_identity: des_identity.principal_id if des_identity else None
            ),
        )
        grants["des-reader"] = grant("des-reader", READER, disk_encryption_set.id, identity.principal_id)
        # AKS uses every one of these while it creates the cluster (subnets, KMS, disks): Azure must enforce them.
        grants_propagated = role_propagation_wait(self, f"{name}-identity-grants-propagation", grants, propagation)

        workspace_id: pulumi.Input[str]
        if args.get("log_analytics_workspace_id") is not None:
            workspace_id = args["log_analytics_workspace_id"]
        else:
            workspace_id = workspace(
                self,
                f"{name}-logs",
                resource_group_name=resource_group_name,
                location=location,
                retention_days=args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
                protect=protect,
                tags=tags,
            ).id

        cluster_name = args.get("cluster_name") or naming.bounded(name, 63)
        system = args.get("system_pool", {})
        system_min = system.get("min_count", DEFAULT_SYSTEM_MIN_COUNT)
        network_policy = args.get("network_policy", DEFAULT_NETWORK_POLICY)
        api_access = containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_vnet_integration=True,
            subnet_id=args["api_server_subnet_id"],
            enable_private_cluster=private,
            enable_private_cluster_public_fqdn=False if private else None,
            private_dns_zone="system" if private else None,
            authorized_ip_ranges=None if private else list(args.get("authorized_ip_ranges") or []),
            # Run-command is the out-of-network break-glass path; off unless the stack opts in (see `runCommand`).
            disable_run_command=not args.get("run_command", DEFAULT_RUN_COMMAND),
        )
        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=cluster_name,
            resource_group_name=resource_group_name,
            location=location,
            dns_prefix=naming.bounded(cluster_name, 54),
            node_resource_group=naming.bounded(f"{cluster_name}-nodes", 80),
            kubernetes_version=args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION),
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier=args.get("sku_tier", DEFAULT_SKU_TIER)),
            identity=containerservice.ManagedClusterIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=True,
                admin_group_object_ids=list(args["admin_group_object_ids"]),
                tenant_id=args.get("tenant_id") or client.tenant_id,
            ),
            api_server_access_profile=api_access,
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                    enabled=True,
                    key_id=args["kms_key_id"],
                    key_vault_network_access=kms_access,
                    key_vault_resource_id=args["key_vault_id"] if kms_access == "Private" else None,
                ),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=DEFAULT_IMAGE_CLEANER_HOURS
                ),
                defender=(
                    containerservice.ManagedClusterSecurityProfileDefenderArgs(
                        log_analytics_workspace_resource_id=workspace_id,
                        security_monitoring={"enabled": True},
                    )
                    if args.get("defender", DEFAULT_DEFENDER)
                    else None
                ),
            ),
            disk_encryption_set_id=disk_encryption_set.id,
            auto_scaler_profile=containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
                **autoscaler_profile(args.get("autoscaler_profile") or {})
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_policy=network_policy,
                network_dataplane="cilium" if network_policy == "cilium" else "azure",
                pod_cidr=args.get("pod_cidr", DEFAULT_POD_CIDR),
                service_cidr=args.get("service_cidr", DEFAULT_SERVICE_CIDR),
                dns_service_ip=args.get("dns_service_ip", DEFAULT_DNS_SERVICE_IP),
                load_balancer_sku="standard",
                outbound_type="loadBalancer",
            ),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=args.get("upgrade_channel", DEFAULT_UPGRADE_CHANNEL),
                node_os_upgrade_channel=args.get("node_os_upgrade_channel", DEFAULT_NODE_OS_UPGRADE_CHANNEL),
            ),
            addon_profiles={
                "azurepolicy": containerservice.ManagedClusterAddonProfileArgs(enabled=True, config={"version": "v2"}),
                "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={"logAnalyticsWorkspaceResourceID": workspace_id, "useAADAuth": "true"}
                ),
                "azureKeyvaultSecretsProvider": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={"enableSecretRotation": "true"}
                ),
            },
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                disk_csi_driver={"enabled": True},
                file_csi_driver={"enabled": False},
                blob_csi_driver={"enabled": False},
                snapshot_controller={"enabled": True},
            ),
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name=SYSTEM_POOL_NAME,
                    mode="System",
                    os_type="Linux",
                    os_sku=system.get("os_sku", DEFAULT_SYSTEM_OS_SKU),
                    vm_size=system.get("vm_size", DEFAULT_SYSTEM_VM_SIZE),
                    os_disk_type="Managed",
                    os_disk_size_gb=system.get("os_disk_size_gb", DEFAULT_SYSTEM_OS_DISK_GB),
                    enable_auto_scaling=True,
                    count=system_min,
                    min_count=system_min,
                    max_count=system.get("max_count", DEFAULT_SYSTEM_MAX_COUNT),
                    availability_zones=zones,
                    vnet_subnet_id=args["node_subnet_id"],
                    enable_encryption_at_host=True,
                    enable_node_public_ip=False,
                    node_taints=[gpu.CRITICAL_ADDONS_TAINT.aks()],
                    upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
                )
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*grants.values(), grants_propagated],
                # AKS reads the inline pool only at creation; the autoscaler owns its count afterwards.
                ignore_changes=["agentPoolProfiles"],
                # The disk encryption set is fixed at creation; the cluster name is fixed, so delete first.
                replace_on_changes=["diskEncryptionSetID"],
                delete_before_replace=True,
                # A prod cluster cannot be destroyed by accident (AKS has no deletion protection of its own).
                protect=protect,
            ),
        )

        diagnostic_setting(
            self,
            f"{name}-diagnostics",
            resource_uri=cluster.id,
            workspace_id=workspace_id,
            categories=AUDIT_LOG_CATEGORIES,
            metrics=("AllMetrics",),
        )
        deployer: tuple[Any, str] | None = None
        if args.get("grant_deployer_admin", DEFAULT_GRANT_DEPLOYER_ADMIN):
            deployer = (
                args.get("deployer_principal_id") or client.object_id,
                args.get("deployer_principal_type", DEFAULT_DEPLOYER_PRINCIPAL_TYPE),
            )
        access = [
            (spec, grant(spec.suffix, spec.role, cluster.id, spec.principal_id, spec.principal_type))
            for spec in cluster_access_grants(
                list(args["admin_group_object_ids"]), list(args.get("team_group_object_ids") or []), deployer
            )
        ]
        api_grants = {spec.suffix: assignment for spec, assignment in access if spec.api_access}

        # A deployer in a peered VNet resolves the private API server only through a link to the AKS-managed zone:
        # "a private endpoint (1) and a private DNS zone (2) are created in the cluster-managed resource group ...
        # The private DNS zone is linked only to the VNet that the cluster nodes are attached to", and "To use
        # virtual network peering, you need to set up a link between the virtual network and the private DNS zone"
        # (https://learn.microsoft.com/azure/aks/private-clusters, hub and spoke; virtual network peering).
        deployer_dns_links: list[privatedns.VirtualNetworkLink] = []
        if private:
            zone_name = cluster.private_fqdn.apply(private_dns_zone_name)
            for index, network_id in enumerate(args.get("deployer_virtual_network_ids") or []):
                deployer_dns_links.append(
                    privatedns.VirtualNetworkLink(
                        f"{name}-deployer-dns-{index}",
                        resource_group_name=cluster.node_resource_group,
                        private_zone_name=zone_name,
                        location=PRIVATE_DNS_LOCATION,
                        virtual_network=privatedns.SubResourceArgs(id=network_id),
                        registration_enabled=False,
                        tags=tags,
                        opts=child,
                    )
                )
        # Microsoft: "It takes a few minutes for the DNS zone link to become available"; the same wait covers it.
        api_access_propagated = role_propagation_wait(
            self,
            f"{name}-api-access-propagation",
            {**api_grants, **{f"deployer-dns-{index}": link for index, link in enumerate(deployer_dns_links)}},
            propagation,
        )

        kubernetes_version = args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        platform_pool = containerservice.AgentPool(
            f"{name}-{pools.PLATFORM_POOL_NAME}",
            resource_group_name=resource_group_name,
            resource_name_=cluster.name,
            agent_pool_name=pools.PLATFORM_POOL_NAME,
            vnet_subnet_id=args["node_subnet_id"],
            orchestrator_version=kubernetes_version,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["count"],
                replace_on_changes=list(GPU_POOL_REPLACE_ON_CHANGES),
                delete_before_replace=True,
            ),
            **platform_pool_settings(args.get("platform_pool") or {}, zones),
        )
        # AKS runs one operation per cluster at a time: the platform pool first (the Kubernetes layer waits for
        # it), then the GPU pools one after another.
        previous: list[pulumi.Resource] = [platform_pool]
        pool_names: list[str] = []
        for pool in args.get("gpu_node_pools", []):
            settings = gpu_pool_settings(pool, zones)
            agent_pool = containerservice.AgentPool(
                f"{name}-{pool['name']}",
                resource_group_name=resource_group_name,
                resource_name_=cluster.name,
                agent_pool_name=pool["name"],
                vnet_subnet_id=args["node_subnet_id"],
                orchestrator_version=kubernetes_version,
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # AKS runs one operation per cluster at a time: create pools one after another.
                    depends_on=previous,
                    ignore_changes=["count"],
                    replace_on_changes=list(GPU_POOL_REPLACE_ON_CHANGES),
                    delete_before_replace=True,
                ),
                **settings,
            )
            previous = [agent_pool]
            pool_names.append(pool["name"])

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=resource_group_name,
            resource_name=cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        kubelet = cluster.identity_profile.apply(lambda profile: (profile or {}).get("kubeletidentity"))

        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        kubelogin_mode = args.get("kubelogin_mode", DEFAULT_KUBELOGIN_MODE)
        self.kubeconfig = pulumi.Output.secret(
            credentials.kubeconfigs.apply(
                lambda configs: with_kubelogin_mode(base64.b64decode(configs[0].value).decode(), kubelogin_mode)
            )
        )
        # A plain list, not an Output: a Kubernetes provider's `depends_on`, so that its kubeconfig stays known
        # in a preview even when a grant changes (an unknown kubeconfig makes a preview blind).
        self.api_prerequisites: list[pulumi.Resource] = [
            cluster,
            platform_pool,
            *api_grants.values(),
            *deployer_dns_links,
            api_access_propagated,
        ]
        """Resources the Kubernetes API needs before the deployer can use it: the cluster (system pool and add-ons
        included), the platform pool its workloads run on, the admin and deployer RBAC grants it calls through, the
        deployer VNets' DNS links, and the wait for those to take effect; not the GPU pools nor the team grants.
        Python only; pass as the provider's `depends_on`."""
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(
            lambda profile: profile.issuer_url if profile else None
        )
        self.kubelet_identity_object_id = kubelet.apply(lambda identity_: identity_.object_id if identity_ else None)
        self.kubelet_identity_client_id = kubelet.apply(lambda identity_: identity_.client_id if identity_ else None)
        self.control_plane_identity_principal_id = identity.principal_id
        self.node_resource_group = cluster.node_resource_group
        self.private_fqdn = cluster.private_fqdn if private else pulumi.Output.from_input(None)
        self.disk_encryption_set_id = disk_encryption_set.id
        self.log_analytics_workspace_id = pulumi.Output.from_input(workspace_id)
        self.gpu_node_pool_names = pulumi.Output.from_input(pool_names)
        expander = (args.get("autoscaler_profile") or {}).get("expander", DEFAULT_AUTOSCALER_EXPANDER)
        self.autoscaler_priorities = (
            {
                str(priority): patterns
                for priority, patterns in autoscaler_priorities(list(args.get("gpu_node_pools") or [])).items()
            }
            if expander == "priority"
            else {}
        )
        self.platform_pool_name = platform_pool.name
        self.storage_class = disk_encryption_set.id.apply(lambda des_id: storage_class_contract(des_id, len(zones)))
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterId": self.cluster_id,
                "kubeconfig": self.kubeconfig,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeletIdentityObjectId": self.kubelet_identity_object_id,
                "kubeletIdentityClientId": self.kubelet_identity_client_id,
                "controlPlaneIdentityPrincipalId": self.control_plane_identity_principal_id,
                "nodeResourceGroup": self.node_resource_group,
                "privateFqdn": self.private_fqdn,
                "diskEncryptionSetId": self.disk_encryption_set_id,
                "logAnalyticsWorkspaceId": self.log_analytics_workspace_id,
                "gpuNodePoolNames": self.gpu_node_pool_names,
                "platformPoolName": self.platform_pool_name,
                "autoscalerPriorities": self.autoscaler_priorities,
                "storageClass": self.storage_class,
            }
        )
