"""An EKS cluster for GPU workloads: encrypted, private, audited, with managed add-ons, warm node groups and the
AWS side of Karpenter (controller identity, node role, interruption queue, discovery tags)."""

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components._common import allocatable, autoscaling, gpu, pools
from components._common.autoscaling import ScaledPoolSpec
from components._common.limits import CLOUDWATCH_RETENTION_DAYS
from components._common.tags import data_tags
from components._common.validation import DNS1123_LABEL, Problems, require_args_mapping
from components.aws import iam
from components.aws._addresses import cidr_slug, private_cidr
from components.aws._resources import (
    AccountFacts,
    account_facts,
    customer_managed_key,
    merged_tags,
    stateful,
    to_json,
)

CapacityType = Literal["on-demand", "spot"]
OsFamily = Literal["al2023", "bottlerocket"]
ControlPlaneLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]

DEFAULT_KUBERNETES_VERSION = "1.34"
DEFAULT_ENDPOINT_PUBLIC_ACCESS = False
DEFAULT_CONTROL_PLANE_LOG_TYPES: tuple[ControlPlaneLogType, ...] = ("api", "audit", "authenticator")
DEFAULT_LOG_RETENTION_DAYS = 365
DEFAULT_PROTECT = False
DEFAULT_GRANT_DEPLOYER_ADMIN = False
DEFAULT_CREATE_AUTOSCALING_SERVICE_LINKED_ROLE = False
DEFAULT_PLATFORM_INSTANCE_TYPES: tuple[str, ...] = ("m6i.xlarge",)
DEFAULT_PLATFORM_MIN_SIZE_PER_ZONE = 1
DEFAULT_PLATFORM_MAX_SIZE_PER_ZONE = 2
DEFAULT_PLATFORM_DISK_SIZE_GB = 100
DEFAULT_GPU_MIN_SIZE = 0
DEFAULT_GPU_MAX_SIZE = 2
DEFAULT_GPU_DISK_SIZE_GB = 200
DEFAULT_CAPACITY_TYPE: CapacityType = "on-demand"
DEFAULT_ON_DEMAND_FALLBACK = False
DEFAULT_OS_FAMILY: OsFamily = "al2023"

REQUIRED_CONTROL_PLANE_LOG_TYPES: tuple[ControlPlaneLogType, ...] = ("api", "audit", "authenticator")
ALL_CONTROL_PLANE_LOG_TYPES: tuple[ControlPlaneLogType, ...] = (
    "api", "audit", "authenticator", "controllerManager", "scheduler",
)  # fmt: skip

GPU_AMI_TYPES: dict[tuple[str, str], str] = {
    ("al2023", "x86_64"): "AL2023_x86_64_NVIDIA",
    ("al2023", "arm64"): "AL2023_ARM_64_NVIDIA",
    ("bottlerocket", "x86_64"): "BOTTLEROCKET_x86_64_NVIDIA",
    ("bottlerocket", "arm64"): "BOTTLEROCKET_ARM_64_NVIDIA",
}
"""EKS AMI type per (OS family, CPU architecture): the NVIDIA variants ship the driver and container toolkit."""

PLATFORM_AMI_TYPES: dict[str, str] = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}

POD_IDENTITY_AGENT = "eks-pod-identity-agent"
ADDONS_BEFORE_NODES: tuple[str, ...] = ("vpc-cni", "kube-proxy", POD_IDENTITY_AGENT)
"""Add-ons nodes need to become Ready (networking); DaemonSets, so they install before any node exists."""
ADDONS_AFTER_NODES: tuple[str, ...] = ("coredns", "aws-ebs-csi-driver")
"""Add-ons with Deployments: they only become healthy once the platform node groups have nodes."""

NODE_ROLE_POLICIES: tuple[tuple[str, str], ...] = (
    ("worker", "AmazonEKSWorkerNodePolicy"),
    ("ecr-pull", "AmazonEC2ContainerRegistryPullOnly"),
)
"""AWS managed policies of both node roles (managed node groups, Karpenter), by logical-name suffix. No CNI policy:
the VPC CNI has its own IRSA role, so pods cannot borrow ENI permissions from the node. No SSM policy: no shell on
nodes."""
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
DEPLOYER_SLUG = "deployer"
KUBERNETES_API_PORT = 443
AUTOSCALING_SERVICE = "autoscaling.amazonaws.com"
RESERVED_GROUP_PREFIX = "system:"
"""EKS refuses access entries whose Kubernetes groups start with it ("InvalidParameterException: The kubernetes
group name system:masters is invalid, it cannot start with system:", terraform-aws-modules/terraform-aws-eks#2915;
the EKS user guide's access-entry page states the same rule, awsdocs/amazon-eks-user-guide#985)."""
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"

KARPENTER_NAMESPACE = autoscaling.KARPENTER_NAMESPACE
"""Namespace of the Karpenter controller: its Pod Identity association names it."""
KARPENTER_SERVICE_ACCOUNT = autoscaling.KARPENTER_SERVICE_ACCOUNT
"""Service account of the Karpenter controller (the chart's default name): its Pod Identity association names it."""
KARPENTER_QUEUE_RETENTION_SECONDS = 300
"""Interruption messages older than this are stale: a spot interruption warning gives two minutes' notice."""
KARPENTER_QUEUE_TARGET_ID = "KarpenterInterruptionQueueTarget"
SQS_QUEUE_NAME_MAX = 80
EVENT_RULE_NAME_MAX = 64
POOL_PRIORITY_MAX = 100

_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
# Graviton families have a `g` right after the generation digit (m7g, c6gn, r8g, t4g); a1 is the exception.
_GRAVITON_FAMILY = re.compile(r"^([a-z]+\d+g[a-z]*|a1)\.")


class AwsNodeTaintArgs(TypedDict):
    """A node taint in Kubernetes form."""

    key: str
    """Taint key, a Kubernetes label key."""
    value: NotRequired[str]
    """Taint value. Defaults to empty."""
    effect: NotRequired[str]
    """NoSchedule, PreferNoSchedule or NoExecute. Defaults to NoSchedule."""


class AwsPlatformNodePoolArgs(TypedDict, total=False):
    """The platform node groups: one per zone, for the cluster add-ons and the platform's own workloads
    (operators, Prometheus, Alertmanager, Grafana, Elasticsearch, Kibana, the Karpenter controller); no GPUs, no
    taints. Each group is fixed at its minimum; Karpenter's `platform` pool adds nodes up to the maximum."""

    instance_types: list[str]
    """EC2 instance types of one architecture, without GPUs. Defaults to ["m6i.xlarge"]."""
    min_size_per_zone: int
    """Nodes of each zone's node group (fixed), at least 1: a pod whose EBS volume is in a zone always has a node
    there, also after a rolling replacement. Defaults to 1."""
    max_size_per_zone: int
    """Most platform nodes per zone: Karpenter may add `(maxSizePerZone - minSizePerZone) x zones` nodes of the
    same types above the fixed groups. Defaults to 2."""
    disk_size_gb: int
    """Root volume size in GiB (encrypted gp3). Defaults to 100."""


class AwsGpuNodePoolArgs(TypedDict, total=False):
    """One GPU pool: `minSize` warm nodes in a managed node group, and up to `maxSize - minSize` more that Karpenter
    launches when pods need them (the `karpenterPools` output describes them)."""

    name: Required[str]
    """Pool name, a DNS-1123 label of at most 40 characters; names the node group, the Karpenter pool and labels."""
    instance_types: Required[list[str]]
    """NVIDIA GPU instance types (g4dn, g5, g6, g6e, p4d, p5, ...) of one architecture and GPU count."""
    min_size: int
    """Warm nodes, kept running in a fixed managed node group; 0 means no node group: the pool scales to zero and
    every node comes from Karpenter when a pod needs it. Defaults to 0."""
    max_size: int
    """Most nodes of the pool: the warm ones plus what Karpenter may add. Defaults to 2."""
    desired_size: int
    """Deprecated: the warm node group always runs exactly minSize nodes, so only minSize is accepted here.
    Defaults to min_size."""
    capacity_type: str
    """`on-demand` or `spot` (cheaper, can be reclaimed), for the warm nodes and Karpenter's. Defaults to
    on-demand."""
    on_demand_fallback: bool
    """Spot pools only: Karpenter falls back to on-demand when no spot capacity is available (the warm node group
    stays spot). Defaults to false."""
    priority: int
    """0 to 100: which pool Karpenter tries first when several fit a pod, higher first (NodePool `weight`; 0 means
    no weight). Defaults to 20 for spot pools and 10 for on-demand pools."""
    zones: list[str]
    """Availability zones (keys of nodeSubnetIdsByZone) the pool's nodes may use, for both the warm node group and
    Karpenter. Excludes subnet_ids. Defaults to every zone."""
    disk_size_gb: int
    """Root (AL2023) or data (Bottlerocket) volume in GiB, encrypted gp3; images and weights are large. Defaults to 200."""
    os_family: str
    """`al2023` or `bottlerocket`; with the architecture it selects the EKS NVIDIA AMI type. Defaults to al2023."""
    ami_type: str
    """An explicit EKS NVIDIA AMI type; must match os_family and the instance architecture. Defaults to derived."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the warm node group only; Karpenter's nodes of the pool may use any zone, so prefer zones.
    Excludes zones. Defaults to the cluster's node subnets."""
    taints: list[AwsNodeTaintArgs]
    """Extra taints; the GPU contract taint `nvidia.com/gpu=true:NoSchedule` is always added. A `workload=<kind>`
    taint (e.g. training) also labels the nodes `mlplatform.io/workload: <kind>`. Defaults to none."""
    labels: dict[str, str]
    """Extra node labels; the GPU contract labels (and the label of a `workload` taint) are always added and cannot
    be overridden. Defaults to none."""
    efa: bool
    """Give the pool's nodes Elastic Fabric Adapters for multi-node training: one EFA interface per network card of
    the instance type, a `cluster` placement group, the cluster's EFA security group (all traffic among its members),
    and the node label `vpc.amazonaws.com/efa.present: "true"` the EFA device plugin selects. Needs exactly one
    EFA-capable instance type (p4d, p5, p5e, p5en, p6-b200, and the large g4dn/g5/g6/g6e/g7e sizes) and exactly one
    zone (a cluster placement group is single-AZ, and EFA traffic does not cross zones). Defaults to false."""


class AwsTeamAccessArgs(TypedDict, total=False):
    """A team's IAM principal and the Kubernetes groups it signs in with; RoleBindings on the groups grant rights."""

    principal_arn: Required[str]
    """ARN of the team's IAM role or user."""
    kubernetes_groups: Required[list[str]]
    """Kubernetes group names the principal belongs to, as the subjects of the namespace RoleBindings; none may
    start with `system:`."""


class AwsGpuClusterArgs(TypedDict, total=False):
    """Arguments of `AwsGpuCluster`."""

    subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Private subnets (two or more zones) for the control plane network interfaces and, by default, the nodes."""
    node_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets for GPU node groups without their own zones or subnets. Defaults to subnet_ids."""
    node_subnet_ids_by_zone: Required[Mapping[str, pulumi.Input[str]]]
    """The private node subnet of each availability zone, e.g. `{"eu-west-1a": "subnet-..."}` (`AwsNetwork`'s
    `privateSubnetIdsByZone`): one platform node group per entry, and the subnets Karpenter launches into (they get
    the `karpenter.sh/discovery` tag). A plain map, since its keys decide the node groups; the subnet IDs may be
    outputs. Required."""
    cluster_name: str
    """Physical EKS cluster name (also names the control-plane log group, the interruption queue and rules, and is
    the value of the Karpenter discovery tag). Defaults to the component name."""
    kubernetes_version: pulumi.Input[str]
    """Kubernetes minor version, e.g. "1.34"; node groups follow it. Defaults to 1.34."""
    endpoint_public_access: bool
    """Expose the API server on the internet, limited to public_access_cidrs. Defaults to false (private only)."""
    public_access_cidrs: list[str]
    """CIDRs allowed to reach a public endpoint; required with endpoint_public_access; never 0.0.0.0/0. Defaults to none."""
    control_plane_log_types: list[str]
    """Control-plane logs to CloudWatch; must include api, audit and authenticator. Defaults to those three."""
    log_retention_days: int
    """Days control-plane logs are kept; one of the values CloudWatch Logs accepts. Defaults to 365."""
    admin_principal_arns: list[str]
    """IAM role or user ARNs given cluster-admin through access entries. Defaults to none."""
    deployer_principal_arn: str
    """IAM role or user ARN that deploys the Kubernetes layer (e.g. the in-network CI runner's role); it gets
    cluster-admin through an access entry. Listing it in admin_principal_arns too is fine: it keeps one entry.
    Excludes grant_deployer_admin. Defaults to none."""
    grant_deployer_admin: bool
    """Give the identity running Pulumi cluster-admin through an access entry, resolved when the program runs
    (the IAM role behind an assumed-role session); nothing is added when it is already an admin principal. For
    dev: the entry follows whoever runs `pulumi up`, so stacks with a fixed deployer set deployer_principal_arn
    instead. Excludes deployer_principal_arn. Defaults to false."""
    team_access: list[AwsTeamAccessArgs]
    """IAM principals of teams and their Kubernetes groups: one access entry each, with the groups and no access
    policy, so namespace RoleBindings on the groups decide what they may do. Teams sharing a principal share its
    entry (with every group); an admin or the deployer keeps its admin access and gains the groups. Defaults to
    none."""
    api_access_cidrs: list[str]
    """Private networks (RFC 1918 or 100.64.0.0/10, never /0) allowed to reach the private API endpoint on TCP
    443 through the cluster security group, e.g. a deployer's VPC behind a transit gateway; the network path
    itself (attachment, routes) is the network's. Defaults to none (only the cluster's own security group)."""
    api_access_security_group_ids: list[pulumi.Input[str]]
    """Security groups (in this VPC, or one that can reference it) whose members may reach the private API
    endpoint on TCP 443, e.g. the in-network CI runner's group. Defaults to none."""
    create_autoscaling_service_linked_role: bool
    """Create the account's EC2 Auto Scaling service-linked role (AWSServiceRoleForAutoScaling) before the
    cluster key, whose policy names it: a fresh account has none until its first Auto Scaling group, and KMS
    rejects a policy naming a missing principal. Opt-in, because creating it fails when the role already
    exists; it is kept when the stack is destroyed (other groups in the account use it). Defaults to false."""
    platform_node_pool: AwsPlatformNodePoolArgs
    """The platform node groups, one per zone of `nodeSubnetIdsByZone`. Defaults to one to two m6i.xlarge nodes per
    zone."""
    gpu_node_pools: list[AwsGpuNodePoolArgs]
    """GPU pools: a warm node group for each entry with a minSize, a Karpenter pool for each with room above it.
    Defaults to none."""
    addon_versions: dict[str, str]
    """Pinned versions per managed add-on name (e.g. {"vpc-cni": "v1.20.4-eksbuild.1"}). Defaults to EKS's
    default version for the cluster's Kubernetes version."""
    protect: bool
    """Protect the cluster from `pulumi destroy`, protect and retain the cluster key and log group, and turn on EKS
    deletion protection. Defaults to false."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for every taggable child and for the nodes' instances, volumes and network interfaces. Defaults to none."""


# --- Pure helpers ---------------------------------------------------------------------------------------


def instance_architecture(instance_type: str) -> Literal["x86_64", "arm64"]:
    """The CPU architecture of an EC2 instance type (GPU types from the GPU catalog, others by family name)."""
    known = gpu.aws_gpu_instance(instance_type)
    if known is not None:
        return known.architecture
    return "arm64" if _GRAVITON_FAMILY.match(instance_type) else "x86_64"


def gpu_ami_type(os_family: str, architecture: str) -> str | None:
    """The EKS NVIDIA AMI type for an OS family and architecture, or None when there is none."""
    return GPU_AMI_TYPES.get((os_family, architecture))


def kubernetes_architecture(architecture: str) -> str:
    """The `kubernetes.io/arch` value of an EC2 architecture (`x86_64` -> `amd64`, `arm64` -> `arm64`)."""
    return "amd64" if architecture == "x86_64" else architecture


def bounded_name(base: str, suffix: str, limit: int) -> str:
    """`<base><suffix>`, or, when that exceeds `limit` characters, `base` cut short with a hash of the whole base
    in its place, so that two long names sharing a prefix still differ."""
    name = f"{base}{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:7]
    return f"{base[: limit - len(suffix) - len(digest) - 1]}-{digest}{suffix}"


def discovery_tag(cluster_name: str) -> dict[str, str]:
    """The tag on the node subnets and the cluster security group that EC2NodeClass selector terms match."""
    return {"key": iam.KARPENTER_DISCOVERY_TAG, "value": cluster_name}


def kubeconfig_document(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, no stored credentials)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                    }
                },
            }
        ],
    }


def storage_class_contract(key_arn: str) -> dict[str, Any]:
    """The default StorageClass the Kubernetes layer creates: gp3 volumes encrypted with the cluster key."""
    return {
        "provisioner": EBS_CSI_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn},
    }


def efa_network_interfaces(network_cards: int, security_group_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The launch template network interfaces of an EFA node: one EFA interface on each network card.

    AWS: to use all of an instance's EFA bandwidth, attach one EFA per network card; the primary interface (card 0)
    takes device index 0 and every other card's EFA device index 1 (EC2 user guide, "Maximize network bandwidth on
    Amazon EC2 instances with multiple network cards" and "Elastic Fabric Adapter", *Attach an EFA*,
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html). Every interface is `efa` (EFA
    with an IP address), which every EFA instance type accepts; `efa-only` interfaces would save subnet addresses
    on the newer types only. An unknown card count (a preview) gives the primary interface alone.

    Args:
        network_cards: the instance type's `MaximumNetworkCards` (DescribeInstanceTypes).
        security_group_ids: the groups of every interface: the cluster security group and the EFA group.
    """
    return [
        {
            "network_card_index": card,
            "device_index": 0 if card == 0 else 1,
            "interface_type": "efa",
            "associate_public_ip_address": "false",
            "delete_on_termination": "true",
            "security_groups": list(security_group_ids),
        }
        for card in range(max(1, network_cards))
    ]


# --- Validation -----------------------------------------------------------------------------------------


# The plain records of this module are NamedTuples rather than frozen dataclasses: the same immutable records, but
# a frozen dataclass compiles six generated methods when the module is imported (about 1 ms a class, paid by
# every synthesis).
class _PoolPlan(NamedTuple):
    """A validated pool: its fixed node groups and its Karpenter pool, with defaults applied."""

    key: str
    """Node group key: `platform` or `gpu-<name>`."""
    name: str
    """Pool name: `platform` or the GPU pool's name."""
    instance_types: list[str]
    ami_type: str
    min_size: int
    """Nodes of each fixed node group (per zone for the platform pool)."""
    max_size: int
    capacity_type: str
    """The node group's EKS capacity type, `ON_DEMAND` or `SPOT`."""
    capacity_types: list[str]
    """Karpenter's capacity types in order of preference (`spot`, `on-demand`)."""
    priority: int
    disk_size_gb: int
    os_family: str
    architecture: str
    bottlerocket: bool
    labels: dict[str, str]
    taints: tuple[gpu.Taint, ...]
    gpus: int
    vcpus: int
    """vCPUs of the largest instance type (0 when unknown, which validation allows only without a Karpenter pool)."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None
    zones: list[str] | None
    """Zones of the pool's nodes; None means every zone."""
    efa: bool = False
    """EFA interfaces, a cluster placement group and the EFA security group (one zone, one instance type)."""


def karpenter_pool_specs(platform: _PoolPlan, zone_count: int, gpu_pools: Sequence[_PoolPlan]) -> list[ScaledPoolSpec]:
    """What Karpenter may add to each pool above its fixed node groups: platform first, then the GPU pools in order.

    The fixed groups run `minSize` nodes (the platform's `minSizePerZone` in each zone); Karpenter may add the rest
    up to `maxSize`, or `(maxSizePerZone - minSizePerZone) x zones` for the platform pool. A pool with no room
    above its fixed groups gets no spec.
    """
    specs: list[ScaledPoolSpec] = []
    for pool, room in [(platform, (platform.max_size - platform.min_size) * zone_count)] + [
        (pool, pool.max_size - pool.min_size) for pool in gpu_pools
    ]:
        if room <= 0:
            continue
        spec: ScaledPoolSpec = {
            "name": pool.name,
            "instance_types": list(pool.instance_types),
            "capacity_types": list(pool.capacity_types),
            "architecture": kubernetes_architecture(pool.architecture),
            "os_family": pool.os_family,
            "disk_size_gb": pool.disk_size_gb,
            "labels": dict(pool.labels),
            "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
            "gpus_per_node": pool.gpus,
            "max_nodes": room,
            "cpus_per_node": pool.vcpus,
            "priority": pool.priority,
        }
        if pool.zones is not None:
            spec["zones"] = list(pool.zones)
        specs.append(spec)
    return specs


def planned_karpenter_pools(args: AwsGpuClusterArgs, name: str = "eks") -> list[ScaledPoolSpec]:
    """The `karpenter_pools` an `AwsGpuCluster` with `args` outputs, without creating anything: for a Kubernetes
    layer deployed by another stack, which needs the pools as plain data to register one NodePool each.

    Raises:
        pulumi.InputPropertiesError: the arguments the component would refuse.
    """
    plan = _validate(args, name)
    return karpenter_pool_specs(plan.platform, len(plan.platform_zones), plan.gpu_pools)


class AccessEntryPlan(NamedTuple):
    """One IAM principal's access entry: its logical name, whether it is cluster-admin, its Kubernetes groups."""

    suffix: str
    """Logical-name suffix: `admin-<name>` (admin principals), `admin-deployer` (the deployer when it is not an
    admin principal) or `team-<name>` (team principals only)."""
    principal_arn: str
    cluster_admin: bool
    kubernetes_groups: tuple[str, ...]

    @property
    def previous_suffix(self) -> str | None:
        """The name the same principal has in the other role (admin <-> team), so a change is an update."""
        prefix, _, key = self.suffix.partition("-")
        if key == DEPLOYER_SLUG:
            return None
        return f"{'team' if prefix == 'admin' else 'admin'}-{key}"


def principal_slug(arn: str) -> str:
    """The access-entry name of a principal: the last segment of its ARN, lower-cased, e.g. `platform-admins`."""
    return re.sub(r"[^a-z0-9-]+", "-", arn.rsplit("/", 1)[-1].lower()).strip("-")


def access_entry_plans(
    admin_principal_arns: Sequence[str],
    deployer_principal_arn: str | None,
    team_access: Sequence[tuple[str, Sequence[str]]],
) -> list[AccessEntryPlan]:
    """Exactly one access entry per IAM principal, however many roles it has.

    EKS allows one access entry per principal: a second `CreateAccessEntry` for the same ARN fails with 409
    `ResourceInUseException` ("The specified access entry resource is already in use on this cluster";
    CreateAccessEntry API reference: "You can't specify the same ARN in more than one access entry",
    https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html; seen in
    terraform-aws-modules/terraform-aws-eks#3293). So the deployer folds into an admin principal's entry, and
    teams fold into an admin's or the deployer's entry or share one entry with the union of their groups.
    """
    groups: dict[str, set[str]] = {}
    for principal_arn, kubernetes_groups in team_access:
        groups.setdefault(principal_arn, set()).update(kubernetes_groups)
    plans = [
        AccessEntryPlan(f"admin-{principal_slug(arn)}", arn, True, tuple(sorted(groups.get(arn, ()))))
        for arn in dict.fromkeys(admin_principal_arns)
    ]
    privileged = set(admin_principal_arns)
    if deployer_principal_arn is not None and deployer_principal_arn not in privileged:
        plans.append(
            AccessEntryPlan(
                f"admin-{DEPLOYER_SLUG}",
                deployer_principal_arn,
                True,
                tuple(sorted(groups.get(deployer_principal_arn, ()))),
            )
        )
        privileged.add(deployer_principal_arn)
    plans.extend(
        AccessEntryPlan(f"team-{principal_slug(arn)}", arn, False, tuple(sorted(team_groups)))
        for arn, team_groups in groups.items()
        if arn not in privileged
    )
    return plans


def _check_sizes(problems: Problems, path: str, min_size: int, max_size: int, desired: int | None) -> None:
    if min_size < 0:
        problems.add(f"{path}.minSize", "must be >= 0")
    if max_size < 1:
        problems.add(f"{path}.maxSize", "must be >= 1")
    if max_size < min_size:
        problems.add(f"{path}.maxSize", f"must be >= minSize ({min_size})")
    if desired is not None and desired != min_size:
        problems.add(
            f"{path}.desiredSize",
            f"no longer used: the warm node group always runs minSize ({min_size}) nodes and Karpenter adds nodes "
            f"up to maxSize ({max_size}) when pods need them; remove desiredSize",
        )


def _largest_vcpus(instance_types: Sequence[str]) -> int | None:
    """vCPUs of the largest of `instance_types` (GPU catalog, else the allocatable tables); None if one is unknown."""
    counts: list[int] = []
    for instance_type in instance_types:
        info = gpu.aws_gpu_instance(instance_type)
        vcpus = info.vcpus if info is not None else None
        if vcpus is None:
            size = allocatable.capacity("aws", instance_type)
            vcpus = size[0] if size is not None else None
        if vcpus is None:
            return None
        counts.append(vcpus)
    return max(counts, default=0)


def _platform_plan(args: AwsPlatformNodePoolArgs, problems: Problems) -> _PoolPlan:
    """The plan of each zone's platform node group (the sizes are per group, i.e. per zone)."""
    path = "platformNodePool"
    instance_types = list(args.get("instance_types", DEFAULT_PLATFORM_INSTANCE_TYPES))
    min_size = args.get("min_size_per_zone", DEFAULT_PLATFORM_MIN_SIZE_PER_ZONE)
    max_size = args.get("max_size_per_zone", DEFAULT_PLATFORM_MAX_SIZE_PER_ZONE)
    disk = args.get("disk_size_gb", DEFAULT_PLATFORM_DISK_SIZE_GB)
    if min_size < 1:
        problems.add(
            f"{path}.minSizePerZone",
            "at least 1: the platform node groups run the cluster add-ons, and a pod whose EBS volume is in a zone "
            "needs a node in that zone",
        )
    if max_size < min_size:
        problems.add(f"{path}.maxSizePerZone", f"must be >= minSizePerZone ({min_size})")
    if not instance_types:
        problems.add(f"{path}.instanceTypes", "list at least one instance type")
    for index, instance_type in enumerate(instance_types):
        if gpu.aws_gpu_instance(instance_type) is not None:
            problems.add(
                f"{path}.instanceTypes[{index}]",
                f"'{instance_type}' has GPUs: the platform node groups are untainted, so any pod could take them; "
                "use a general-purpose type and add GPUs as a GPU pool",
            )
    architectures = {instance_architecture(instance_type) for instance_type in instance_types}
    if len(architectures) > 1:
        problems.add(f"{path}.instanceTypes", "mixes x86_64 and arm64 instance types; one AMI serves a pool")
    if disk < 20:
        problems.add(f"{path}.diskSizeGb", "must be at least 20 GiB")
    vcpus = _largest_vcpus(instance_types)
    if vcpus is None and max_size > min_size:
        problems.add(
            f"{path}.instanceTypes",
            "the vCPUs of an instance type are unknown, and Karpenter's platform pool needs them for its CPU limit; "
            "use a type of the families in components/_common/allocatable.py or set maxSizePerZone to "
            "minSizePerZone",
        )
    architecture = architectures.pop() if len(architectures) == 1 else "x86_64"
    return _PoolPlan(
        key=pools.PLATFORM_POOL_NAME,
        name=pools.PLATFORM_POOL_NAME,
        instance_types=instance_types,
        ami_type=PLATFORM_AMI_TYPES[architecture],
        min_size=min_size,
        max_size=max_size,
        capacity_type="ON_DEMAND",
        capacity_types=["on-demand"],
        priority=autoscaling.PRIORITY_ON_DEMAND,
        disk_size_gb=disk,
        os_family="al2023",
        architecture=architecture,
        bottlerocket=False,
        labels=pools.platform_pool_labels(),
        taints=(),
        gpus=0,
        vcpus=vcpus or 0,
        subnet_ids=None,
        zones=None,
    )


def _gpu_plan(index: int, pool: AwsGpuNodePoolArgs, zones: Sequence[str], problems: Problems) -> _PoolPlan | None:
    path = f"gpuNodePools[{index}]"
    name = pool.get("name", "")
    if not name or not DNS1123_LABEL.match(name) or len(name) > 40:
        problems.add(f"{path}.name", f"'{name}' is not a DNS-1123 label of at most 40 characters")
    instance_types = list(pool.get("instance_types") or [])
    if not instance_types:
        problems.add(f"{path}.instanceTypes", "list at least one NVIDIA GPU instance type")
    if len(set(instance_types)) != len(instance_types):
        problems.add(f"{path}.instanceTypes", "instance types must be unique")
    catalog: list[gpu.GpuInstance] = []
    for type_index, instance_type in enumerate(instance_types):
        info = gpu.aws_gpu_instance(instance_type)
        if info is None:
            families = ", ".join(sorted(gpu.AWS_GPU_FAMILIES))
            problems.add(
                f"{path}.instanceTypes[{type_index}]",
                f"'{instance_type}' is not an NVIDIA GPU instance type; use one of the families {families}",
            )
        else:
            catalog.append(info)
    architectures = {info.architecture for info in catalog}
    if len(architectures) > 1:
        problems.add(f"{path}.instanceTypes", "mixes x86_64 and arm64 instance types; one AMI serves a pool")
    gpu_counts = {info.gpus for info in catalog}
    if len(gpu_counts) > 1:
        problems.add(
            f"{path}.instanceTypes",
            f"instance types have different GPU counts ({sorted(gpu_counts)}); the pool's GPU limit counts nodes "
            "of one size",
        )
    accelerators = {info.accelerator for info in catalog}

    min_size = pool.get("min_size", DEFAULT_GPU_MIN_SIZE)
    max_size = pool.get("max_size", DEFAULT_GPU_MAX_SIZE)
    desired = pool.get("desired_size")
    _check_sizes(problems, path, min_size, max_size, desired)
    capacity = pool.get("capacity_type", DEFAULT_CAPACITY_TYPE)
    if capacity not in ("on-demand", "spot"):
        problems.add(f"{path}.capacityType", f"'{capacity}' is not on-demand or spot")
    fallback = pool.get("on_demand_fallback", DEFAULT_ON_DEMAND_FALLBACK)
    if fallback and capacity != "spot":
        problems.add(f"{path}.onDemandFallback", "only for spot pools: an on-demand pool has nothing to fall back from")
    default_priority = autoscaling.PRIORITY_SPOT if capacity == "spot" else autoscaling.PRIORITY_ON_DEMAND
    priority = pool.get("priority", default_priority)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= POOL_PRIORITY_MAX:
        problems.add(f"{path}.priority", f"'{priority}' is not a whole number from 0 to {POOL_PRIORITY_MAX}")
    pool_zones = pool.get("zones")
    if pool_zones is not None:
        if pool.get("subnet_ids") is not None:
            problems.add(f"{path}.zones", "set zones or subnetIds, not both")
        if not pool_zones:
            problems.add(f"{path}.zones", "list at least one zone, or leave zones out for every zone")
        for zone_index, zone in enumerate(pool_zones):
            if zone not in zones:
                problems.add(
                    f"{path}.zones[{zone_index}]",
                    f"'{zone}' is not a zone of nodeSubnetIdsByZone ({', '.join(zones) or 'none'})",
                )
    disk = pool.get("disk_size_gb", DEFAULT_GPU_DISK_SIZE_GB)
    if disk < 50:
        problems.add(f"{path}.diskSizeGb", "must be at least 50 GiB (NVIDIA images and model weights are large)")

    os_family = pool.get("os_family", DEFAULT_OS_FAMILY)
    architecture = next(iter(architectures)) if len(architectures) == 1 else None
    ami_type: str | None = None
    if os_family not in ("al2023", "bottlerocket"):
        problems.add(f"{path}.osFamily", f"'{os_family}' is not an EKS GPU image family; use al2023 or bottlerocket")
    elif architecture is not None:
        ami_type = gpu_ami_type(os_family, architecture)
    explicit_ami = pool.get("ami_type")
    if explicit_ami is not None:
        if explicit_ami not in GPU_AMI_TYPES.values():
            problems.add(
                f"{path}.amiType",
                f"'{explicit_ami}' is not an EKS NVIDIA AMI type; use one of {', '.join(GPU_AMI_TYPES.values())}",
            )
        elif ami_type is not None and explicit_ami != ami_type:
            problems.add(
                f"{path}.amiType",
                f"'{explicit_ami}' does not match osFamily '{os_family}' on {architecture} instances (expected {ami_type})",
            )
        ami_type = explicit_ami

    taints = [*gpu.gpu_taints("aws")]
    for taint_index, taint in enumerate(pool.get("taints") or []):
        taint_path = f"{path}.taints[{taint_index}]"
        key = taint.get("key", "")
        effect = taint.get("effect", "NoSchedule")
        if not _LABEL_KEY.match(key):
            problems.add(f"{taint_path}.key", f"'{key}' is not a valid taint key")
        elif key in {contract.key for contract in gpu.gpu_taints("aws")}:
            problems.add(f"{taint_path}.key", f"'{key}' is set by the GPU contract and cannot be changed")
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            problems.add(f"{taint_path}.effect", f"'{effect}' is not NoSchedule, PreferNoSchedule or NoExecute")
        else:
            taints.append(gpu.Taint(key, taint.get("value", ""), effect))

    efa = _check_efa(path, pool, instance_types, problems)

    extra_labels = dict(pool.get("labels") or {})
    contract = {gpu.GPU_PRESENT_LABEL, gpu.GPU_POOL_LABEL, gpu.ACCELERATOR_LABEL, gpu.EFA_PRESENT_LABEL}
    workload = pools.workload_labels([(taint.key, taint.value) for taint in taints])
    for key in extra_labels:
        if not _LABEL_KEY.match(key):
            problems.add(f'{path}.labels["{key}"]', f"'{key}' is not a valid Kubernetes label key")
        elif key in contract:
            problems.add(f'{path}.labels["{key}"]', f"'{key}' is set by the GPU contract and cannot be overridden")
        elif key == pools.WORKLOAD_LABEL and extra_labels[key] != workload.get(key):
            problems.add(f'{path}.labels["{key}"]', _workload_label_problem(workload))
    accelerator = accelerators.pop() if len(accelerators) == 1 else None
    labels = {
        **gpu.gpu_pool_labels(name, accelerator, extra_labels),
        **gpu.node_image_labels(os_family),
        # The pods that tolerate a `workload=<kind>` taint select the pool by this label (scale-from-zero included).
        **workload,
        # The EFA device plugin runs on exactly these nodes.
        **({gpu.EFA_PRESENT_LABEL: "true"} if efa else {}),
    }
    vcpus = _largest_vcpus(instance_types) if len(catalog) == len(instance_types) else 0
    if vcpus is None and max_size > min_size:
        problems.add(
            f"{path}.instanceTypes",
            "the vCPUs of an instance type are unknown (components/_common/gpu.py), and the pool's Karpenter CPU "
            "limit needs them",
        )

    if ami_type is None or not catalog or architecture is None:
        return None
    return _PoolPlan(
        key=f"gpu-{name}",
        name=name,
        instance_types=instance_types,
        ami_type=ami_type,
        min_size=min_size,
        max_size=max_size,
        capacity_type="SPOT" if capacity == "spot" else "ON_DEMAND",
        capacity_types=["spot", "on-demand"] if capacity == "spot" and fallback else [capacity],
        priority=priority,
        disk_size_gb=disk,
        os_family=os_family,
        architecture=architecture,
        bottlerocket=ami_type.startswith("BOTTLEROCKET"),
        labels=labels,
        taints=tuple(taints),
        gpus=min(info.gpus for info in catalog),
        vcpus=vcpus or 0,
        subnet_ids=pool.get("subnet_ids"),
        zones=list(pool_zones) if pool_zones else None,
        efa=efa,
    )


def _check_efa(path: str, pool: AwsGpuNodePoolArgs, instance_types: Sequence[str], problems: Problems) -> bool:
    """Check a pool's `efa` option: one EFA-capable instance type, one zone, no explicit subnets."""
    efa = pool.get("efa", False)
    if not isinstance(efa, bool):
        problems.add(f"{path}.efa", f"must be true or false (got {efa!r})")
        return False
    if not efa:
        return False
    for type_index, instance_type in enumerate(instance_types):
        if gpu.aws_gpu_instance(instance_type) is not None and not gpu.aws_efa_supported(instance_type):
            family = instance_type.split(".", 1)[0]
            capable = sorted(t for t in gpu.AWS_EFA_GPU_INSTANCE_TYPES if t.split(".", 1)[0] == family)
            fix = f"use {', '.join(capable)}" if capable else "use an EFA-capable type such as p5.48xlarge"
            problems.add(
                f"{path}.instanceTypes[{type_index}]",
                f"'{instance_type}' does not support EFA (AWS EFA supported instance types); {fix}, or set efa: false",
            )
    if len(instance_types) > 1:
        problems.add(
            f"{path}.instanceTypes",
            "an EFA pool has exactly one instance type: its launch template has one EFA interface per network card, "
            "and the count differs between types",
        )
    zones = pool.get("zones")
    if pool.get("subnet_ids") is not None:
        problems.add(f"{path}.subnetIds", "an EFA pool is placed by zones, not subnets: set zones to one zone")
    elif not isinstance(zones, list) or len(zones) != 1:
        problems.add(
            f"{path}.zones",
            "an EFA pool needs exactly one zone: its cluster placement group is single-AZ and EFA traffic does not "
            "cross zones",
        )
    return True


def _workload_label_problem(workload: dict[str, str]) -> str:
    derived = workload.get(pools.WORKLOAD_LABEL)
    return (
        f"'{pools.WORKLOAD_LABEL}' comes from the pool's `{pools.WORKLOAD_TAINT_KEY}` taint "
        f"({derived or 'none here'}); set the taint instead"
    )


class _EfaNetwork(NamedTuple):
    """What an EFA pool's nodes launch with: their zone, placement group and the EFA security group."""

    zone: str
    placement_group: aws.ec2.PlacementGroup
    security_group_id: pulumi.Output[str]


class _Plan(NamedTuple):
    cluster_name: str
    public: bool
    public_access_cidrs: list[str]
    log_types: list[str]
    platform: _PoolPlan
    platform_zones: list[str]
    gpu_pools: list[_PoolPlan]
    admin_principal_arns: list[str]
    deployer_principal_arn: str | None
    team_access: list[tuple[str, list[str]]]
    api_access_cidrs: list[ipaddress.IPv4Network]


def _validate(args: AwsGpuClusterArgs, name: str) -> _Plan:
    problems = Problems()
    if "subnet_ids" not in args:
        problems.add("subnetIds", "required: private subnets in at least two availability zones")
    cluster_name = args.get("cluster_name", name)
    if not _CLUSTER_NAME.match(cluster_name):
        problems.add(
            "clusterName", f"'{cluster_name}' is not an EKS cluster name (letters, digits, '-', '_'; at most 100)"
        )

    public = args.get("endpoint_public_access", DEFAULT_ENDPOINT_PUBLIC_ACCESS)
    cidrs = list(args.get("public_access_cidrs") or [])
    if public and not cidrs:
        problems.add(
            "publicAccessCidrs",
            "required when endpointPublicAccess is true: list the networks (e.g. your VPN egress /32) allowed to reach the API",
        )
    if not public and cidrs:
        problems.add(
            "publicAccessCidrs", "only used with endpointPublicAccess: true; remove it or enable public access"
        )
    for index, cidr in enumerate(cidrs):
        try:
            network = ipaddress.ip_network(cidr)
        except ValueError:
            problems.add(f"publicAccessCidrs[{index}]", f"'{cidr}' is not a CIDR block")
            continue
        if network.prefixlen == 0:
            problems.add(
                f"publicAccessCidrs[{index}]",
                f"{cidr} opens the API server to the whole internet; list specific networks",
            )

    log_types = list(args.get("control_plane_log_types", DEFAULT_CONTROL_PLANE_LOG_TYPES))
    for index, log_type in enumerate(log_types):
        if log_type not in ALL_CONTROL_PLANE_LOG_TYPES:
            problems.add(
                f"controlPlaneLogTypes[{index}]",
                f"'{log_type}' is not a control-plane log type ({', '.join(ALL_CONTROL_PLANE_LOG_TYPES)})",
            )
    missing = [log_type for log_type in REQUIRED_CONTROL_PLANE_LOG_TYPES if log_type not in log_types]
    if missing:
        problems.add("controlPlaneLogTypes", f"must include {', '.join(missing)} (the API audit trail)")
    retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if retention not in CLOUDWATCH_RETENTION_DAYS:
        problems.add(
            "logRetentionDays", f"{retention} is not a CloudWatch retention; use one of {CLOUDWATCH_RETENTION_DAYS}"
        )

    admins, deployer, teams = _validate_access(args, problems)
    api_access_cidrs = _validate_api_access(args, problems)

    platform = _platform_plan(args.get("platform_node_pool") or {}, problems)
    zone_subnets = args.get("node_subnet_ids_by_zone")
    platform_zones: list[str] = []
    if not isinstance(zone_subnets, Mapping) or not zone_subnets:
        problems.add(
            "nodeSubnetIdsByZone",
            "required: a plain map of availability zone to private subnet ID (one platform node group per zone)",
        )
    else:
        platform_zones = [str(zone) for zone in zone_subnets]
        for zone in platform_zones:
            if not DNS1123_LABEL.match(zone):
                problems.add(
                    f"nodeSubnetIdsByZone.{zone}", f"'{zone}' is not an availability zone name like eu-west-1a"
                )
    gpu_pools: list[_PoolPlan] = []
    seen: dict[str, int] = {}
    for index, pool in enumerate(args.get("gpu_node_pools") or []):
        pool_name = pool.get("name", "")
        if pool_name in seen:
            problems.add(
                f"gpuNodePools[{index}].name",
                f"duplicate pool name '{pool_name}' (also gpuNodePools[{seen[pool_name]}])",
            )
        seen.setdefault(pool_name, index)
        plan = _gpu_plan(index, pool, platform_zones, problems)
        if plan is not None:
            gpu_pools.append(plan)

    problems.raise_if_any(f"AwsGpuCluster '{name}'")
    return _Plan(
        cluster_name,
        public,
        cidrs,
        log_types,
        platform,
        platform_zones,
        gpu_pools,
        admins,
        deployer,
        teams,
        api_access_cidrs,
    )


def _validate_access(
    args: AwsGpuClusterArgs, problems: Problems
) -> tuple[list[str], str | None, list[tuple[str, list[str]]]]:
    """Check the admin, deployer and team principals; every distinct principal needs a distinct entry name."""
    grant_caller = args.get("grant_deployer_admin", DEFAULT_GRANT_DEPLOYER_ADMIN)
    deployer = args.get("deployer_principal_arn")
    if deployer is not None:
        if not isinstance(deployer, str) or not _IAM_PRINCIPAL_ARN.match(deployer):
            problems.add("deployerPrincipalArn", f"'{deployer}' is not an IAM role or user ARN")
            deployer = None
        elif grant_caller:
            problems.add(
                "deployerPrincipalArn",
                "set either deployerPrincipalArn (a fixed deployer) or grantDeployerAdmin (whoever runs Pulumi), "
                "not both",
            )
            deployer = None

    # Entry names by principal: the deployer's is fixed ("deployer"), reserved for the caller when it is granted.
    names: dict[str, str | None] = {DEPLOYER_SLUG: None} if grant_caller else {}

    def claim(path: str, arn: str, name: str) -> None:
        owner = names.setdefault(name, arn)
        if owner != arn:
            holder = "the deployer" if name == DEPLOYER_SLUG else f"'{owner}'"
            problems.add(
                path, f"'{arn}' repeats the principal name '{name}' of {holder}; access entries need distinct names"
            )

    admins: list[str] = []
    for index, arn in enumerate(args.get("admin_principal_arns") or []):
        path = f"adminPrincipalArns[{index}]"
        if not isinstance(arn, str) or not _IAM_PRINCIPAL_ARN.match(arn):
            problems.add(path, f"'{arn}' is not an IAM role or user ARN")
            continue
        if arn in admins:
            problems.add(path, f"'{arn}' is listed twice")
            continue
        claim(path, arn, principal_slug(arn))
        admins.append(arn)
    if deployer is not None and deployer not in admins:
        claim("deployerPrincipalArn", deployer, DEPLOYER_SLUG)

    teams: list[tuple[str, list[str]]] = []
    for index, team in enumerate(args.get("team_access") or []):
        path = f"teamAccess[{index}]"
        arn = team.get("principal_arn")
        groups = team.get("kubernetes_groups")
        valid = True
        if not isinstance(arn, str) or not _IAM_PRINCIPAL_ARN.match(arn):
            problems.add(f"{path}.principalArn", f"'{arn}' is not an IAM role or user ARN")
            valid = False
        elif arn not in admins and arn != deployer:
            claim(f"{path}.principalArn", arn, principal_slug(arn))
        if not groups:
            problems.add(f"{path}.kubernetesGroups", "list at least one group; without one the entry grants nothing")
            valid = False
        for group_index, group in enumerate(groups or []):
            group_path = f"{path}.kubernetesGroups[{group_index}]"
            if not isinstance(group, str) or not group.strip():
                problems.add(group_path, "must be a non-empty group name")
                valid = False
            elif group.startswith(RESERVED_GROUP_PREFIX):
                problems.add(
                    group_path,
                    f"'{group}' starts with '{RESERVED_GROUP_PREFIX}', which EKS reserves and refuses in access "
                    "entries; bind your own group name",
                )
                valid = False
        if valid:
            teams.append((str(arn), list(groups or [])))
    return admins, deployer, teams


def _validate_api_access(args: AwsGpuClusterArgs, problems: Problems) -> list[ipaddress.IPv4Network]:
    """Check the sources allowed to reach the private API endpoint: private networks and security group IDs."""
    networks: list[ipaddress.IPv4Network] = []
    for index, cidr in enumerate(args.get("api_access_cidrs") or []):
        path = f"apiAccessCidrs[{index}]"
        network, problem = private_cidr(cidr)
        if network is None:
            problems.add(path, problem or "not a private IPv4 CIDR block")
        elif network in networks:
            problems.add(path, f"{cidr} is listed twice")
        else:
            networks.append(network)
    seen: set[str] = set()
    for index, group in enumerate(args.get("api_access_security_group_ids") or []):
        if not isinstance(group, str):
            continue  # an output of another resource: checked by EC2 when the rule is created
        path = f"apiAccessSecurityGroupIds[{index}]"
        if not _SECURITY_GROUP_ID.match(group):
            problems.add(path, f"'{group}' is not a security group ID (sg-...)")
        elif group in seen:
            problems.add(path, f"{group} is listed twice")
        seen.add(group)
    return networks


class _Karpenter(NamedTuple):
    """The AWS side of Karpenter, as the component's outputs need it."""

    node_role: aws.iam.Role
    settings: pulumi.Output[dict[str, Any]]


# --- The component --------------------------------------------------------------------------------------


class AwsGpuCluster(pulumi.ComponentResource):
    """An EKS cluster for GPU workloads with encrypted secrets and volumes, a private API and GPU node groups.

    Creates:
    - a customer-managed KMS key (rotation on, 30-day deletion window, explicit policy that lets EC2 Auto Scaling
      launch encrypted node volumes) for Kubernetes secrets, node volumes and control-plane logs;
    - the control-plane log group `/aws/eks/<cluster>/cluster`, encrypted, with retention, created before the cluster;
    - the cluster role, the EKS cluster (secrets envelope encryption, API authentication mode, control-plane logs);
    - optionally the account's EC2 Auto Scaling service-linked role, before the key whose policy names it;
    - one access entry per IAM principal: `AmazonEKSClusterAdminPolicy` (cluster scope) for the admin principals
      and the deployer, Kubernetes groups and no access policy for team principals;
    - optionally ingress rules for TCP 443 on the cluster security group from the given private networks and
      security groups, so a deployer outside the cluster reaches the private API endpoint;
    - the IAM OIDC provider for IRSA;
    - managed add-ons vpc-cni (network policy enforcement on, own IRSA role), kube-proxy, eks-pod-identity-agent,
      coredns and aws-ebs-csi-driver (own IRSA role with grants on the cluster key);
    - the node role; one untainted platform node group per availability zone (label
      `mlplatform.io/pool-role: platform`, sharing one launch template), so every zone that holds an EBS volume
      of the platform keeps a node; one managed node group per GPU pool with warm nodes (`minSize > 0`), with its
      own launch template; every group fixed at its minimum;
    - the AWS side of Karpenter, which adds nodes above the fixed groups (the `karpenterPools` output): its node
      role with an EC2_LINUX access entry, the interruption queue (SQS-managed encryption, TLS only) with
      EventBridge rules for spot interruptions, rebalance recommendations, AWS Health scheduled changes, instance
      state changes and capacity reservation interruptions, the controller role for `kube-system/karpenter`
      through EKS Pod Identity with Karpenter's least-privilege policy scoped to this cluster's tags, and the
      `karpenter.sh/discovery` tag on every node subnet and the cluster security group;
    - for EFA pools (`efa`): a security group allowing all traffic to and from itself only, a `cluster` placement
      group per pool, and launch templates with one EFA interface per network card of the pool's instance type, in
      the pool's one zone (the `efaPools` output).

    Security defaults: private API endpoint (public only with explicit CIDRs, never 0.0.0.0/0; private access
    only from the listed private networks and groups, on 443 only); teams get no EKS access policy; secrets encrypted
    with the customer-managed key; api, audit and authenticator logs always on; no implicit cluster-creator admin;
    IMDSv2 required with hop limit 1 so pods cannot use the node role; no public IPs; root volumes gp3 encrypted
    with the cluster key; no SSH; the CNI and EBS CSI driver use their own IRSA roles instead of the node role;
    the Karpenter controller may pass only its node role, launch only into discovery-tagged subnets and security
    groups, and change or delete only what carries this cluster's and Karpenter's tags.
    """

    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    endpoint: pulumi.Output[str]
    """URL of the Kubernetes API server."""
    certificate_authority: pulumi.Output[str]
    """Base64 certificate authority data of the API server."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) that authenticates with `aws eks get-token`; a secret. Whatever uses it (the Pulumi
    runner of the Kubernetes layer) needs AWS CLI v2 on its PATH and credentials for a principal with an access
    entry (the deployer's). Build the Kubernetes provider with `depends_on=api_prerequisites` (Python), or after
    the whole component from other languages."""
    oidc_issuer_url: pulumi.Output[str]
    """OIDC issuer URL of the cluster (service account tokens)."""
    oidc_provider_arn: pulumi.Output[str]
    """ARN of the IAM OIDC provider, the federated principal of IRSA roles."""
    cluster_security_group_id: pulumi.Output[str]
    """ID of the security group EKS created for the control plane and nodes."""
    node_role_arn: pulumi.Output[str]
    """ARN of the IAM role every node group uses (grant it image pulls)."""
    node_role_name: pulumi.Output[str]
    """Name of the node IAM role."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the cluster key: secrets, node volumes, control-plane logs and the default StorageClass."""
    storage_class: pulumi.Output[dict[str, Any]]
    """The default StorageClass contract: {provisioner: ebs.csi.aws.com, parameters: {type: gp3, encrypted: "true", kmsKeyId}}."""
    node_group_names: pulumi.Output[dict[str, str]]
    """EKS node group name per group: `platform-<zone>` for each zone's platform group, and the name of each GPU pool
    with warm nodes (a pool with minSize 0 has no group)."""
    control_plane_log_group_name: pulumi.Output[str]
    """Name of the control-plane log group."""
    # Each entry is a `ScaledPoolSpec` (components/_common/autoscaling.py); annotated as plain mappings because the
    # package schema publishes only types that inputs use.
    karpenter_pools: list[dict[str, Any]]
    """What Karpenter may add above the fixed node groups, one `ScaledPoolSpec` per pool with room (plain data, known
    at construction): the `platform` pool first, then the GPU pools in argument order; `max_nodes` counts only the
    nodes above the warm ones, `name` is the pool's name (`platform`, or the GPU pool's name)."""
    karpenter: pulumi.Output[dict[str, Any]]
    """What the Karpenter chart and EC2NodeClasses need: `clusterName`, `clusterEndpoint`, `interruptionQueueName`,
    `nodeRoleName`, `nodeVolumeKeyArn`, `discoveryTag` ({key, value}), `controllerRoleArn` and `nodeTags` (the
    tags for what it launches). Each value resolves only once what it stands for is usable (the role ARN after
    its Pod Identity association and the agent add-on,
    the node role after its access entry, the tag after it is on every subnet and the security group), so
    resources built from them wait for that; install Karpenter from these values."""
    karpenter_node_role_arn: pulumi.Output[str]
    """ARN of the role of the nodes Karpenter launches (grant it image pulls, like `nodeRoleArn`)."""
    efa_pools: pulumi.Output[dict[str, dict[str, Any]]]
    """Per EFA pool (by name): `zone`, `placementGroupName` (the pool's cluster placement group: its warm node group
    launches into it; select it in the pool's EC2NodeClass with `placementGroupSelector: {name: ...}` so Karpenter's
    nodes join it too), `securityGroupId` (the EFA group) and `nodeLabels` (what the EFA device plugin selects).
    Empty without EFA pools."""

    def __init__(self, name: str, args: AwsGpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        plan = _validate(args, name)
        super().__init__(
            "mlplatform:index:AwsGpuCluster",
            name,
            {
                "clusterName": plan.cluster_name,
                "gpuNodePools": [pool.key.removeprefix("gpu-") for pool in plan.gpu_pools],
            },
            opts,
        )
        protect = args.get("protect", DEFAULT_PROTECT)
        tags = args.get("tags")
        retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        child = pulumi.ResourceOptions(parent=self)
        account = account_facts(self)
        cluster_name = plan.cluster_name

        # --- Key and control-plane log group (both before the cluster) ---
        log_group_name = f"/aws/eks/{cluster_name}/cluster"
        log_group_arn = pulumi.Output.all(account.partition, account.region, account.account_id).apply(
            lambda facts: iam.log_group_arn(facts[0], facts[1], facts[2], log_group_name)
        )
        # Secrets and audit logs can hold personal data: confidential, kept as long as the logs.
        data_store_tags = merged_tags(tags, data_tags("confidential", retention))
        key_prerequisites: list[pulumi.Resource] = []
        if args.get("create_autoscaling_service_linked_role", DEFAULT_CREATE_AUTOSCALING_SERVICE_LINKED_ROLE):
            # KMS refuses a key policy naming a principal that does not exist yet (MalformedPolicyDocumentException
            # in a fresh account, review B3), and the role is account-wide: other Auto Scaling groups keep using it
            # after this stack is gone, so it is retained on delete.
            key_prerequisites.append(
                aws.iam.ServiceLinkedRole(
                    f"{name}-autoscaling-service-linked-role",
                    aws_service_name=AUTOSCALING_SERVICE,
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                )
            )
        key = customer_managed_key(
            f"{name}-key",
            parent=self,
            description=f"EKS {cluster_name}: secrets envelope encryption, node volumes, control-plane logs",
            policy=to_json(
                pulumi.Output.all(
                    account.partition, account.region, account.account_id, account.dns_suffix, log_group_arn
                ).apply(lambda facts: iam.eks_cluster_key_policy(*facts))
            ),
            tags=data_store_tags,
            protect=protect,
            depends_on=key_prerequisites,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=log_group_name,
            kms_key_id=key.arn,
            retention_in_days=retention,
            deletion_protection_enabled=protect,
            tags=data_store_tags,
            opts=stateful(self, protect),
        )

        # --- Cluster role and cluster ---
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            description=f"EKS control plane of {cluster_name}",
            assume_role_policy=json.dumps(
                iam.service_trust_policy("eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession"))
            ),
            tags=tags,
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn=_managed_policy(account, "AmazonEKSClusterPolicy"),
            opts=child,
        )
        cluster_encryption = aws.iam.RolePolicy(
            f"{name}-cluster-encryption",
            role=cluster_role.id,
            policy=to_json(key.arn.apply(iam.cluster_encryption_policy)),
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            version=args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION),
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args["subnet_ids"],
                endpoint_private_access=True,
                endpoint_public_access=plan.public,
                public_access_cidrs=plan.public_access_cidrs if plan.public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
            ),
            enabled_cluster_log_types=plan.log_types,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            # Every add-on is an EKS managed add-on below; nothing unmanaged to drift or to conflict with.
            bootstrap_self_managed_addons=False,
            deletion_protection=protect,
            tags=tags,
            # EKS takes the secrets key only at creation (or as a one-way enable): a different key means a new
            # cluster. Say so in the plan instead of failing mid-update; the fixed name forces delete first, and
            # `protect` (prod) stops the replacement unless someone lifts it on purpose.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[log_group, cluster_policy, cluster_encryption],
                replace_on_changes=["encryptionConfig"],
                delete_before_replace=True,
                protect=protect,
            ),
        )
        in_cluster = pulumi.ResourceOptions(parent=self, depends_on=[cluster])

        # --- Access entries ---
        admin_policy_arn = account.partition.apply(
            lambda partition: f"arn:{partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"
        )
        deployer = plan.deployer_principal_arn
        if args.get("grant_deployer_admin", DEFAULT_GRANT_DEPLOYER_ADMIN):
            deployer = self._caller_principal(name)
        access_grants: list[pulumi.Resource] = []
        for entry_plan in access_entry_plans(plan.admin_principal_arns, deployer, plan.team_access):
            previous = entry_plan.previous_suffix
            # Team entries carry only groups: EKS then authorizes through the RoleBindings on those groups
            # (CreateAccessEntry `kubernetesGroups`: "The value for name that you've specified for kind: Group as a
            # subject in a Kubernetes RoleBinding or ClusterRoleBinding object",
            # https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html).
            entry = aws.eks.AccessEntry(
                f"{name}-{entry_plan.suffix}",
                cluster_name=cluster.name,
                principal_arn=entry_plan.principal_arn,
                type="STANDARD",
                kubernetes_groups=list(entry_plan.kubernetes_groups) or None,
                tags=tags,
                # A principal moving between admin and team keeps its entry (an update): a new name would create
                # the second entry before deleting the first, and EKS answers that with 409.
                opts=pulumi.ResourceOptions(
                    parent=self, aliases=[pulumi.Alias(name=f"{name}-{previous}")] if previous else None
                ),
            )
            if not entry_plan.cluster_admin:
                continue
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-{entry_plan.suffix}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=admin_policy_arn,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )
            access_grants.append(association)

        # --- API access from outside the cluster's security group ---
        # The private endpoint's interfaces carry the EKS-managed cluster security group, which admits only its own
        # members; a connected network needs "rules to allow ingress traffic on port 443" on it (EKS user guide,
        # Cluster API server endpoint, "Accessing a private only API server",
        # https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html; review B1).
        cluster_security_group_id = cluster.vpc_config.apply(lambda config: config.cluster_security_group_id)
        api_sources: list[tuple[str, dict[str, pulumi.Input[str]]]] = [
            (
                cidr_slug(network),
                {"cidr_ipv4": str(network), "description": f"Kubernetes API from the private network {network}"},
            )
            for network in plan.api_access_cidrs
        ]
        for index, group in enumerate(args.get("api_access_security_group_ids") or []):
            # Named by the group ID when it is known, so reordering the list replaces nothing.
            api_sources.append(
                (
                    group if isinstance(group, str) else f"sg-{index}",
                    {
                        "referenced_security_group_id": group,
                        "description": "Kubernetes API from a deployer security group",
                    },
                )
            )
        api_access_rules = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{source}",
                security_group_id=cluster_security_group_id,
                ip_protocol="tcp",
                from_port=KUBERNETES_API_PORT,
                to_port=KUBERNETES_API_PORT,
                tags=tags,
                opts=child,
                **rule,
            )
            for source, rule in api_sources
        ]

        # --- IRSA ---
        oidc_issuer_url = cluster.identities.apply(lambda identities: identities[0].oidcs[0].issuer)
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=oidc_issuer_url,
            client_id_lists=[iam.STS_AUDIENCE],
            tags=tags,
            opts=child,
        )

        # --- Nodes ---
        node_role = aws.iam.Role(
            f"{name}-node-role",
            description=f"EKS nodes of {cluster_name}",
            assume_role_policy=json.dumps(iam.service_trust_policy("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{suffix}",
                role=node_role.name,
                policy_arn=_managed_policy(account, policy),
                opts=child,
            )
            for suffix, policy in NODE_ROLE_POLICIES
        ]

        addon_versions = dict(args.get("addon_versions") or {})
        cni_role = self._irsa_role(
            f"{name}-vpc-cni", oidc_provider.arn, "kube-system", "aws-node", account, "AmazonEKS_CNI_Policy", tags
        )
        ebs_csi_role = self._irsa_role(
            f"{name}-ebs-csi",
            oidc_provider.arn,
            "kube-system",
            "ebs-csi-controller-sa",
            account,
            "service-role/AmazonEBSCSIDriverPolicy",
            tags,
        )
        ebs_csi_key_access = aws.iam.RolePolicy(
            f"{name}-ebs-csi-key",
            role=ebs_csi_role.id,
            policy=to_json(key.arn.apply(iam.ebs_csi_key_policy)),
            opts=child,
        )
        addon_settings: dict[str, dict[str, Any]] = {
            # Without this the VPC CNI ignores NetworkPolicies, and default-deny serving namespaces would be open.
            "vpc-cni": {
                "service_account_role_arn": cni_role.arn,
                "configuration_values": json.dumps({"enableNetworkPolicy": "true"}),
            },
            "aws-ebs-csi-driver": {"service_account_role_arn": ebs_csi_role.arn},
        }
        early_addons = [
            self._addon(name, addon, cluster, addon_versions, addon_settings.get(addon, {}), tags, in_cluster)
            for addon in ADDONS_BEFORE_NODES
        ]

        node_groups: dict[str, aws.eks.NodeGroup] = {}
        node_prerequisites = [*node_policies, *early_addons]

        def launch_template(pool: _PoolPlan, aliases: list[pulumi.Alias] | None = None) -> aws.ec2.LaunchTemplate:
            return self._launch_template(name, pool, cluster_name, cluster, key, tags, aliases)

        def node_group(
            pool: _PoolPlan,
            group_key: str,
            template: aws.ec2.LaunchTemplate,
            subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
            aliases: list[pulumi.Alias] | None = None,
        ) -> aws.eks.NodeGroup:
            node_groups[group_key] = self._node_group(
                name, pool, group_key, template, cluster, node_role, subnet_ids, tags, node_prerequisites, aliases
            )
            return node_groups[group_key]

        # One platform node group per zone (review M5): EBS volumes are zonal, and an Auto Scaling group spanning
        # zones may leave a zone without a node after a rolling replacement. AWS: "If you are running a stateful
        # application across multiple Availability Zones that is backed by Amazon EBS volumes and using the
        # Kubernetes Cluster Autoscaler, you should configure multiple node groups, each scoped to a single
        # Availability Zone" (EKS user guide, https://github.com/awsdocs/amazon-eks-user-guide/pull/298).
        # The first zone's group and the shared launch template carry the names of the former single system group
        # as aliases, so a stack deployed before replaces that group (created first, then deleted) and updates its
        # template, instead of deleting both.
        platform_template = launch_template(plan.platform, [pulumi.Alias(name=f"{name}-system-launch-template")])
        zone_subnets = args["node_subnet_ids_by_zone"]
        platform_groups = [
            node_group(
                plan.platform,
                f"{plan.platform.key}-{zone}",
                platform_template,
                [zone_subnets[zone]],
                [pulumi.Alias(name=f"{name}-system")] if index == 0 else None,
            )
            for index, zone in enumerate(plan.platform_zones)
        ]
        node_subnets = args.get("node_subnet_ids", args["subnet_ids"])
        efa = self._efa(name, plan, cluster, cluster_name, tags)
        # Warm capacity stays in managed node groups: GA, and EKS rolls their nodes to new AMIs. Karpenter's own
        # fixed-size NodePools (`replicas`) are behind the StaticCapacity feature gate, alpha and off by default in
        # v1.14.1 (website/content/en/docs/reference/settings.md at tag v1.14.1). A pool without warm nodes has no
        # group at all: Karpenter creates its nodes when pods need them.
        for pool in plan.gpu_pools:
            if pool.min_size == 0:
                continue
            subnets: pulumi.Input[Sequence[pulumi.Input[str]]] = node_subnets
            if pool.zones is not None:
                subnets = [zone_subnets[zone] for zone in pool.zones]
            elif pool.subnet_ids is not None:
                subnets = pool.subnet_ids
            template = (
                self._launch_template(name, pool, cluster_name, cluster, key, tags, None, efa.get(pool.name))
                if pool.efa
                else launch_template(pool)
            )
            node_group(pool, pool.key, template, subnets)

        pod_identity_agent = early_addons[ADDONS_BEFORE_NODES.index(POD_IDENTITY_AGENT)]
        karpenter = self._karpenter(
            name, plan, cluster, key, account, zone_subnets, cluster_security_group_id, pod_identity_agent, tags
        )
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=[*platform_groups, ebs_csi_key_access])
        late_addons = [
            self._addon(name, addon, cluster, addon_versions, addon_settings.get(addon, {}), tags, after_nodes)
            for addon in ADDONS_AFTER_NODES
        ]
        # What the Kubernetes layer needs before its first object: the deployer's access, nodes for its pods,
        # networking, DNS and volumes. The GPU node groups are not part of it.
        api_ready: list[pulumi.Resource] = [
            *access_grants,
            *api_access_rules,
            *platform_groups,
            *early_addons,
            *late_addons,
        ]

        # --- Outputs ---
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.certificate_authority = cluster.certificate_authority.apply(lambda authority: authority.data)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, self.certificate_authority, account.region).apply(
                lambda values: json.dumps(kubeconfig_document(*values))
            )
        )
        # A plain list, not an Output: a Kubernetes provider's `depends_on`, so that its kubeconfig stays known
        # in a preview even when one of these changes (an unknown kubeconfig makes a preview blind).
        self.api_prerequisites: list[pulumi.Resource] = list(api_ready)
        """Resources the Kubernetes API needs before it can take workloads: admin access, the API access rules for
        outside deployers, the platform node groups of every zone, every add-on (CNI, DNS, EBS CSI), not the GPU
        node groups. Python only; pass as the provider's `depends_on`."""
        self.oidc_issuer_url = oidc_issuer_url
        self.oidc_provider_arn = oidc_provider.arn
        self.cluster_security_group_id = cluster_security_group_id
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.kms_key_arn = key.arn
        self.storage_class = key.arn.apply(storage_class_contract)
        self.node_group_names = pulumi.Output.all(
            **{pool_key.removeprefix("gpu-"): group.node_group_name for pool_key, group in node_groups.items()}
        )
        self.control_plane_log_group_name = log_group.name
        self.karpenter_pools = karpenter_pool_specs(plan.platform, len(plan.platform_zones), plan.gpu_pools)
        self.karpenter = karpenter.settings
        self.karpenter_node_role_arn = karpenter.node_role.arn
        self.efa_pools = (
            pulumi.Output.from_input({})
            if not efa
            else pulumi.Output.all(
                **{
                    pool_name: pulumi.Output.all(
                        zone=network.zone,
                        placementGroupName=network.placement_group.name,
                        securityGroupId=network.security_group_id,
                        nodeLabels={gpu.EFA_PRESENT_LABEL: "true"},
                    )
                    for pool_name, network in efa.items()
                }
            )
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "certificateAuthority": self.certificate_authority,
                "kubeconfig": self.kubeconfig,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "oidcProviderArn": self.oidc_provider_arn,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeRoleArn": self.node_role_arn,
                "nodeRoleName": self.node_role_name,
                "kmsKeyArn": self.kms_key_arn,
                "storageClass": self.storage_class,
                "nodeGroupNames": self.node_group_names,
                "controlPlaneLogGroupName": self.control_plane_log_group_name,
                "karpenterPools": self.karpenter_pools,
                "karpenter": self.karpenter,
                "karpenterNodeRoleArn": self.karpenter_node_role_arn,
                "efaPools": self.efa_pools,
            }
        )

    def _caller_principal(self, name: str) -> str:
        """The IAM role or user running Pulumi, resolved now so that it can be compared with the admins.

        An assumed-role session ARN cannot own an access entry (the CreateAccessEntry reference: "You can't use
        the STS session principal type with access entries"); the role that issued the session can.
        """
        caller = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self))
        session = aws.iam.get_session_context(arn=caller.arn, opts=pulumi.InvokeOptions(parent=self))
        if not _IAM_PRINCIPAL_ARN.match(session.issuer_arn or ""):
            reason = (
                f"the identity running Pulumi ({caller.arn}) is no IAM role or user and cannot own an access entry; "
                "set deployerPrincipalArn to the role that deploys the Kubernetes layer instead"
            )
            raise pulumi.InputPropertiesError(
                f"invalid arguments for AwsGpuCluster '{name}': grantDeployerAdmin: {reason}",
                errors=[{"property_path": "grantDeployerAdmin", "reason": reason}],
            )
        return session.issuer_arn

    def _irsa_role(
        self,
        name: str,
        oidc_provider_arn: pulumi.Output[str],
        namespace: str,
        service_account: str,
        account: AccountFacts,
        managed_policy: str,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
    ) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-role",
            description=f"IRSA role of {namespace}/{service_account}",
            assume_role_policy=to_json(
                oidc_provider_arn.apply(lambda arn: iam.irsa_trust_policy(arn, namespace, service_account))
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-policy",
            role=role.name,
            policy_arn=_managed_policy(account, managed_policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _karpenter(
        self,
        name: str,
        plan: _Plan,
        cluster: aws.eks.Cluster,
        key: aws.kms.Key,
        account: AccountFacts,
        zone_subnets: Mapping[str, pulumi.Input[str]],
        cluster_security_group_id: pulumi.Output[str],
        pod_identity_agent: aws.eks.Addon,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
    ) -> _Karpenter:
        """Karpenter's node role and access entry, interruption queue and rules, controller role, discovery tags.

        Facts from Karpenter v1.14.1 (github.com/aws/karpenter-provider-aws, tag v1.14.1,
        website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml).
        """
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = plan.cluster_name

        # Nodes: a role of their own. EKS creates the access entry of a managed node group's role by itself, so
        # an EC2_LINUX entry for that role would collide; Karpenter's nodes get a second role with the same
        # policies (no CNI policy: the VPC CNI has its own IRSA role) and their own entry.
        node_role = aws.iam.Role(
            f"{name}-karpenter-node-role",
            description=f"Nodes Karpenter launches in EKS {cluster_name}",
            assume_role_policy=json.dumps(iam.service_trust_policy("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-karpenter-node-{suffix}",
                role=node_role.name,
                policy_arn=_managed_policy(account, policy),
                opts=child,
            )
            for suffix, policy in NODE_ROLE_POLICIES
        ]
        node_access = aws.eks.AccessEntry(
            f"{name}-karpenter-node",
            cluster_name=cluster.name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=tags,
            opts=child,
        )

        # Interruption handling: EventBridge forwards spot interruption warnings, rebalance recommendations,
        # scheduled AWS Health changes and instance state changes to a queue the controller reads, so it drains
        # a node before EC2 takes it. SQS-managed encryption, as Karpenter's template has it, rather than the
        # cluster key: the messages are AWS's own event metadata (instance IDs, event types), kept five minutes;
        # a customer-managed key would have to trust events.amazonaws.com in the key that also guards the
        # cluster's secrets, and a key policy mistake there makes EventBridge drop the warnings silently.
        queue = aws.sqs.Queue(
            f"{name}-karpenter-interruptions",
            name=bounded_name(cluster_name, "-karpenter", SQS_QUEUE_NAME_MAX),
            message_retention_seconds=KARPENTER_QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        rules: list[aws.cloudwatch.EventRule] = []
        targets: list[aws.cloudwatch.EventTarget] = []
        for kind, (source, detail_type) in iam.KARPENTER_INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{kind}",
                name=bounded_name(cluster_name, f"-karpenter-{kind}", EVENT_RULE_NAME_MAX),
                description=f"{detail_type} events for Karpenter in EKS {cluster_name}",
                event_pattern=json.dumps(iam.event_pattern(source, detail_type)),
                tags=tags,
                opts=child,
            )
            target = aws.cloudwatch.EventTarget(
                f"{name}-karpenter-{kind}",
                rule=rule.name,
                target_id=KARPENTER_QUEUE_TARGET_ID,
                arn=queue.arn,
                opts=child,
            )
            rules.append(rule)
            targets.append(target)
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-karpenter-interruptions",
            queue_url=queue.url,
            policy=to_json(
                pulumi.Output.all(queue.arn, *(rule.arn for rule in rules)).apply(
                    lambda arns: iam.karpenter_interruption_queue_policy(arns[0], arns[1:])
                )
            ),
            opts=child,
        )

        # The controller: a role only its service account can assume, through EKS Pod Identity.
        controller_role = aws.iam.Role(
            f"{name}-karpenter-controller-role",
            description=f"Karpenter controller of EKS {cluster_name} ({KARPENTER_NAMESPACE}/{KARPENTER_SERVICE_ACCOUNT})",
            assume_role_policy=json.dumps(
                iam.pod_identity_trust_policy(cluster_name, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT)
            ),
            tags=tags,
            opts=child,
        )
        controller_policy = aws.iam.RolePolicy(
            f"{name}-karpenter-controller",
            role=controller_role.id,
            policy=to_json(
                pulumi.Output.all(
                    partition=account.partition,
                    region=account.region,
                    account_id=account.account_id,
                    dns_suffix=account.dns_suffix,
                    queue_arn=queue.arn,
                    node_role_arn=node_role.arn,
                    key_arn=key.arn,
                ).apply(lambda facts: iam.karpenter_controller_policy(cluster_name=cluster_name, **facts))
            ),
            opts=child,
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-karpenter",
            cluster_name=cluster.name,
            namespace=KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT,
            role_arn=controller_role.arn,
            # The trust policy pins the session tags: without them no pod could assume the role.
            disable_session_tags=False,
            tags=tags,
            # The agent hands the credentials to the pod; the policy must be in place before the first call.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pod_identity_agent, controller_policy]),
        )

        # Discovery: EC2NodeClasses select subnets and security groups by this tag, and the controller may launch
        # only into what carries it. The security group is the EKS cluster group the launch templates use.
        tag = discovery_tag(cluster_name)
        discovery_tags = [
            aws.ec2.Tag(f"{name}-discovery-{zone}", resource_id=subnet, key=tag["key"], value=tag["value"], opts=child)
            for zone, subnet in zone_subnets.items()
        ]
        discovery_tags.append(
            aws.ec2.Tag(
                f"{name}-discovery-cluster-sg",
                resource_id=cluster_security_group_id,
                key=tag["key"],
                value=tag["value"],
                opts=child,
            )
        )

        def after(value: pulumi.Input[Any], *prerequisites: pulumi.Output[Any]) -> pulumi.Output[Any]:
            """`value`, resolving only once the prerequisites have (their dependencies carry over)."""
            return pulumi.Output.all(value, *prerequisites).apply(lambda values: values[0])

        settings = pulumi.Output.all(
            clusterName=cluster.name,
            clusterEndpoint=cluster.endpoint,
            interruptionQueueName=after(queue.name, queue_policy.id, *(target.id for target in targets)),
            nodeRoleName=after(node_role.name, node_access.access_entry_arn, *(p.id for p in node_policies)),
            nodeVolumeKeyArn=key.arn,
            discoveryTag=after(tag, *(discovery.id for discovery in discovery_tags)),
            controllerRoleArn=association.role_arn,
            # Provider default tags never reach what Karpenter launches; its node classes tag them with these.
            nodeTags=tags or {},
        )
        return _Karpenter(node_role=node_role, settings=settings)

    def _addon(
        self,
        name: str,
        addon: str,
        cluster: aws.eks.Cluster,
        versions: Mapping[str, str],
        settings: Mapping[str, Any],
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
        opts: pulumi.ResourceOptions,
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=versions.get(addon),
            # The stack is the source of truth for add-on configuration; drift is overwritten.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=opts,
            **settings,
        )

    def _launch_template(
        self,
        name: str,
        pool: _PoolPlan,
        cluster_name: str,
        cluster: aws.eks.Cluster,
        key: aws.kms.Key,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
        aliases: list[pulumi.Alias] | None,
        efa: "_EfaNetwork | None" = None,
    ) -> aws.ec2.LaunchTemplate:
        """The launch template of a pool's node groups: encrypted volumes, IMDSv2 with one hop, no public IPs; for an
        EFA pool, one EFA interface per network card (cluster and EFA security groups) in its placement group."""
        volume = aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_type="gp3",
            volume_size=pool.disk_size_gb,
            encrypted="true",
            kms_key_id=key.arn,
            delete_on_termination="true",
        )
        # Bottlerocket boots from a small OS volume and keeps images on a second data volume: encrypt both.
        block_devices = [aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvda", ebs=volume)]
        if pool.bottlerocket:
            block_devices = [
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3", encrypted="true", kms_key_id=key.arn, delete_on_termination="true"
                    ),
                ),
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvdb", ebs=volume),
            ]
        instance_tags = merged_tags(tags, {"Name": f"{cluster_name}-{pool.key}"})
        cluster_group = cluster.vpc_config.apply(lambda config: config.cluster_security_group_id)
        network_interfaces: pulumi.Input[Sequence[pulumi.Input[aws.ec2.LaunchTemplateNetworkInterfaceArgs]]] = [
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0,
                associate_public_ip_address="false",
                delete_on_termination="true",
                # The same group EKS attaches by default; naming it keeps node-to-control-plane traffic working.
                security_groups=[cluster_group],
            )
        ]
        placement = None
        if efa is not None:
            # The card count comes from EC2 itself (DescribeInstanceTypes), as terraform-aws-eks does for its EFA
            # node groups, rather than from a table here that could fall behind new instance types.
            cards = aws.ec2.get_instance_type_output(instance_type=pool.instance_types[0]).maximum_network_cards
            network_interfaces = pulumi.Output.all(cards, cluster_group, efa.security_group_id).apply(
                lambda values: [
                    aws.ec2.LaunchTemplateNetworkInterfaceArgs(**interface)
                    for interface in efa_network_interfaces(values[0] or 1, [values[1], values[2]])
                ]
            )
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=efa.placement_group.name)
        return aws.ec2.LaunchTemplate(
            f"{name}-{pool.key}-launch-template",
            description=f"Nodes of the {pool.key} pool",
            update_default_version=True,
            block_device_mappings=block_devices,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: the node itself reaches IMDS, containers behind the pod network do not.
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            network_interfaces=network_interfaces,
            placement=placement,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=resource_type, tags=instance_tags)
                for resource_type in ("instance", "volume", "network-interface")
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, aliases=aliases),
        )

    def _efa(
        self,
        name: str,
        plan: _Plan,
        cluster: aws.eks.Cluster,
        cluster_name: str,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
    ) -> dict[str, "_EfaNetwork"]:
        """The EFA security group (when any pool has EFA) and a cluster placement group per EFA pool, by pool name.

        AWS: an EFA's security group must allow all inbound and outbound traffic to and from the group itself (EC2
        user guide, "Get started with EFA and NCCL", *Prepare an EFA-enabled security group*,
        https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start-nccl.html). The EKS cluster security group
        allows all inbound traffic from itself but its outbound rule is `0.0.0.0/0`, not the group itself (EKS user
        guide, "View Amazon EKS security group requirements for clusters",
        https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html), and it is EKS's to change; so the EFA
        interfaces carry a group of their own with exactly the two self-referencing rules (a new group's default
        allow-all egress is removed by the provider). It carries the Karpenter discovery tag, so Karpenter's nodes
        join it too and their EFA interfaces reach the warm nodes'. A cluster placement group keeps a pool's
        instances on one low-latency network segment, in one zone (EC2 user guide, "Placement groups", *Cluster
        placement groups*); EKS managed node groups take it from the launch template.
        """
        efa_pools = [pool for pool in plan.gpu_pools if pool.efa]
        if not efa_pools:
            return {}
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-efa",
            description=f"EFA traffic among the EFA nodes of {cluster_name}",
            vpc_id=cluster.vpc_config.apply(lambda config: config.vpc_id),
            tags=merged_tags(tags, {"Name": f"{cluster_name}-efa", iam.KARPENTER_DISCOVERY_TAG: cluster_name}),
            opts=child,
        )
        for rule, direction in ((aws.vpc.SecurityGroupIngressRule, "from"), (aws.vpc.SecurityGroupEgressRule, "to")):
            rule(
                f"{name}-efa-{direction}-self",
                security_group_id=group.id,
                referenced_security_group_id=group.id,
                ip_protocol="-1",
                description=f"All traffic {direction} EFA nodes",
                tags=tags,
                opts=child,
            )
        networks: dict[str, _EfaNetwork] = {}
        for pool in efa_pools:
            # Named after the cluster and pool (unique in the region, like the cluster name), so the pool's
            # EC2NodeClass can select it by name.
            placement_group = aws.ec2.PlacementGroup(
                f"{name}-{pool.key}-placement",
                name=f"{cluster_name}-{pool.name}-efa",
                strategy="cluster",
                tags=tags,
                opts=child,
            )
            networks[pool.name] = _EfaNetwork(
                zone=(pool.zones or [""])[0], placement_group=placement_group, security_group_id=group.id
            )
        return networks

    def _node_group(
        self,
        name: str,
        pool: _PoolPlan,
        group_key: str,
        launch_template: aws.ec2.LaunchTemplate,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
        depends_on: list[pulumi.Resource],
        aliases: list[pulumi.Alias] | None,
    ) -> aws.eks.NodeGroup:
        """One managed node group of `pool` in `subnet_ids`, named `<name>-<group_key>`, fixed at `pool.min_size`.

        Nothing else owns the node count: Karpenter adds its own nodes beside the group instead of resizing it, so
        Pulumi sets min, max and desired alike and a later minSize change is a plain in-place update.
        """
        return aws.eks.NodeGroup(
            f"{name}-{group_key}",
            cluster_name=cluster.name,
            version=cluster.version,
            node_role_arn=node_role.arn,
            subnet_ids=subnet_ids,
            ami_type=pool.ami_type,
            capacity_type=pool.capacity_type,
            instance_types=pool.instance_types,
            labels=pool.labels or None,
            taints=[aws.eks.NodeGroupTaintArgs(**taint.eks()) for taint in pool.taints] or None,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size, max_size=pool.min_size, desired_size=pool.min_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id, version=launch_template.latest_version.apply(str)
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, aliases=aliases),
        )


def _managed_policy(account: AccountFacts, policy: str) -> pulumi.Output[str]:
    """The ARN of an AWS managed policy in the provider's partition."""
    return account.partition.apply(lambda partition: f"arn:{partition}:iam::aws:policy/{policy}")
