"""The platform configuration: pydantic models of the `mlplatform:platform` stack key, with every default.

Stack files hold only what differs from these defaults. Keys are camelCase in YAML (`gpuPools`,
`maxSize`); attributes are snake_case in Python. Environment presets (dev/staging/prod) fill the
fields left unset, from one table, `ENVIRONMENT_PRESETS`. Cross-field checks report each problem with
its path, e.g. `cluster.gpuPools[0].maxSize`.
"""

# No `from __future__ import annotations` here: pydantic would then evaluate every field annotation from its
# string when the models are built (about 200 of them, 4-5 ms at each import). Validators return `Self`; the one
# forward reference, in `_Context`, is quoted.
import contextlib
import ipaddress
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components._common import gpu, pools
from components._common.limits import (
    CLOUDWATCH_RETENTION_DAYS,
    DEFAULT_MAX_LOG_RETENTION_DAYS,
    DEFAULT_MAX_RETENTION_DAYS,
    DEFAULT_MIN_LOG_RETENTION_DAYS,
    LOG_ANALYTICS_RETENTION_DAYS,
    PLATFORM_SYSTEM_NAMESPACES,
)
from components._common.regions import (
    AWS_REGIONS,
    AZURE_LOCATIONS,
    EU_AWS_REGIONS,
    EU_AZURE_LOCATIONS,
    normalize_azure_location,
)
from components._common.tags import DataClassification
from components._common.validation import dns1123_label_problem, is_duration, parse_quantity

Environment = Literal["dev", "staging", "prod"]
ComplianceProfile = Literal["gdpr", "hipaa"]
ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
REQUIRED_CONTROL_PLANE_LOGS: tuple[ControlPlaneLog, ...] = ("api", "audit", "authenticator")
ALL_CONTROL_PLANE_LOGS: tuple[ControlPlaneLog, ...] = (*REQUIRED_CONTROL_PLANE_LOGS, "controllerManager", "scheduler")

MIN_KUBERNETES_MINOR = 31
"""Oldest Kubernetes minor version accepted (older ones are out of EKS/AKS standard support)."""

RESERVED_NAMESPACES = frozenset(
    {
        *PLATFORM_SYSTEM_NAMESPACES,
        "default",
        "kube-public",
        "kube-node-lease",
        "serving-gateway",
        "cert-manager",
        "keda",
        "metrics-server",
        "kueue-system",
    }
)
"""Namespaces the platform or Kubernetes itself owns; serving namespaces may not take these names."""

ENVIRONMENT_PRESETS: dict[str, dict[str, Any]] = {
    "dev": {
        "nat_gateways": "single",
        "gpu_capacity_type": "spot",
        "control_plane_logs": list(REQUIRED_CONTROL_PLANE_LOGS),
        "protect_stateful_resources": False,
        "zone_count": 2,
        "elasticsearch_nodes": 1,
        "platform_instance_types": {"aws": ["m6i.xlarge"], "azure": ["Standard_D4ds_v5"]},
        "platform_min_size_per_zone": 1,
        "platform_max_size_per_zone": 2,
    },
    "staging": {
        "nat_gateways": "perZone",
        "gpu_capacity_type": "on-demand",
        "control_plane_logs": list(ALL_CONTROL_PLANE_LOGS),
        "protect_stateful_resources": False,
        "zone_count": 3,
        "elasticsearch_nodes": 3,
        "platform_instance_types": {"aws": ["m6i.2xlarge"], "azure": ["Standard_D8ds_v5"]},
        "platform_min_size_per_zone": 1,
        "platform_max_size_per_zone": 3,
    },
    "prod": {
        "nat_gateways": "perZone",
        "gpu_capacity_type": "on-demand",
        "control_plane_logs": list(ALL_CONTROL_PLANE_LOGS),
        "protect_stateful_resources": True,
        "zone_count": 3,
        "elasticsearch_nodes": 3,
        "platform_instance_types": {"aws": ["m6i.2xlarge"], "azure": ["Standard_D8ds_v5"]},
        "platform_min_size_per_zone": 1,
        "platform_max_size_per_zone": 3,
    },
}
"""What each environment sets when the stack file leaves a field unset. The only place presets live."""

_AWS_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_AZURE_VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_-]+$")
_ECR_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_AKS_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_STACK_NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(role|user)/[\w+=,.@/-]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
_TRANSIT_GATEWAY_ID = re.compile(r"^tgw-[0-9a-f]{8}([0-9a-f]{9})?$")
_VNET_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/[^/]+/providers/"
    r"Microsoft\.Network/virtualNetworks/[^/]+$",
    re.IGNORECASE,
)
_KUBERNETES_GROUP = re.compile(r"(?!system:)[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}")
_SLACK_CHANNEL = re.compile(r"#?[a-z0-9_-]{1,80}")
_CONFIG_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
_RESOURCE_GROUP = re.compile(r"[-\w._()]{0,89}[-\w_()]")
"""Azure resource group names: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'."""
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_RETENTION_SIZE = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<unit>B|KB|MB|GB|TB|PB|EB)$")
_RETENTION_UNITS = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "PB": 2**50, "EB": 2**60}


class _Issues:
    """Cross-field problems found by a model validator, each with a path relative to that model."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[str | int, ...], str]] = []

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        self.items.append((loc, message))

    def raise_if_any(self) -> None:
        if self.items:
            # `stacks/load.py` expands the problems into one path per problem.
            raise PydanticCustomError(
                "mlplatform", "{count} problem(s)", {"count": len(self.items), "problems": self.items}
            )


class _Model(BaseModel):
    # The field docstrings are for readers: pydantic's `use_attribute_docstrings` would copy them into the (unused)
    # JSON schema by re-reading and re-parsing this file's source once per model, 40% of importing it.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


# A NamedTuple rather than a frozen dataclass: the same immutable record, but a frozen dataclass compiles six
# generated methods when the module is imported (about 1 ms a class, paid by every synthesis).
class _Context(NamedTuple):
    """What cross-field checks need to know about the whole file, parsed before the main validation pass.

    Handing it to every model (pydantic validation context) lets each check run where its field lives,
    so one pass reports every problem, even when other parts of the file are broken.
    """

    environment: str | None
    target: "AwsTarget | AzureTarget | KubernetesTarget | None"
    compliance: "ComplianceConfig | None"

    @property
    def cloud(self) -> str | None:
        return self.target.cloud if self.target else None

    @property
    def zones(self) -> list[str]:
        if self.target is None or isinstance(self.target, KubernetesTarget):
            return []
        return self.target.zones or _default_zones(self.target, self.environment or "dev")


def _context(info: ValidationInfo) -> _Context | None:
    return info.context if isinstance(info.context, _Context) else None


def _quantity(value: str | int | float) -> str:
    parse_quantity(value)  # raises ValueError with the reason
    return str(value)


def _check_dns_label(value: str) -> str:
    problem = dns1123_label_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# --- Target clouds --------------------------------------------------------------------------------------


def _check_team_namespace(name: str) -> str:
    """A team's namespace name (serving or training): a DNS-1123 label that no system or platform namespace has."""
    _check_dns_label(name)
    if name in RESERVED_NAMESPACES or name.startswith("kube-"):
        raise ValueError(f"'{name}' is a system namespace; choose a team-specific name")
    return name


def _raise_duplicates(values: list[str], items: str, field: str, what: str) -> None:
    """Refuse a value listed twice in `<items>[].<field>`, naming both places."""
    issues = _Issues()
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            issues.add((items, index, field), f"duplicate {what} '{value}' (also {items}[{seen[value]}])")
        seen.setdefault(value, index)
    issues.raise_if_any()


class AwsTarget(_Model):
    """Deploy on AWS: VPC, EKS, ECR, S3 and KMS in one region."""

    cloud: Literal["aws"]
    """Discriminator: `aws`."""
    region: str
    """AWS region, e.g. `eu-central-1`. Must be in `compliance.allowedRegions` when the gdpr profile is on."""
    zones: list[str] | None = None
    """Availability zones for subnets and node groups. Defaults to the first 2 (dev) or 3 zones of the region."""

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in AWS_REGIONS:
            raise ValueError(f"'{region}' is not an AWS region (e.g. eu-central-1, eu-west-1)")
        return region

    @model_validator(mode="after")
    def _zones_and_residency(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        for index, zone in enumerate(self.zones or []):
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                issues.add(("zones", index), f"'{zone}' is not a zone of {self.region} (e.g. {self.region}a)")
        if self.zones is not None:
            if len(set(self.zones)) != len(self.zones):
                issues.add(("zones",), "zones must be unique")
            if len(self.zones) < 2:
                issues.add(("zones",), "EKS needs subnets in at least two availability zones")
        context = _context(info)
        if context and context.compliance and "gdpr" in context.compliance.profiles:
            allowed = context.compliance.allowed_regions
            if self.region not in allowed:
                issues.add(
                    ("region",),
                    f"'{self.region}' is outside compliance.allowedRegions ({', '.join(allowed)}) required by the gdpr profile",
                )
        issues.raise_if_any()
        return self


class AzureTarget(_Model):
    """Deploy on Azure: VNet, AKS, ACR, Storage and Key Vault in one location."""

    cloud: Literal["azure"]
    """Discriminator: `azure`."""
    location: str
    """Azure location, e.g. `westeurope` ("West Europe" is accepted and normalized)."""
    zones: list[Literal["1", "2", "3"]] | None = None
    """Availability zones for node pools. Defaults to the first 2 (dev) or 3 zones."""
    resource_group_name: str | None = None
    """An existing resource group to deploy into. Defaults to a new group named after the stack."""

    @field_validator("location")
    @classmethod
    def _known_location(cls, location: str) -> str:
        normalized = normalize_azure_location(location)
        if normalized not in AZURE_LOCATIONS:
            raise ValueError(f"'{location}' is not an Azure location (e.g. westeurope, germanywestcentral)")
        return normalized

    @field_validator("resource_group_name")
    @classmethod
    def _resource_group(cls, name: str | None) -> str | None:
        if name is not None and not _RESOURCE_GROUP.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a resource group name (1-90 letters, digits, '_', '-', '.', '(' and ')', not "
                "ending with '.')"
            )
        return name

    @model_validator(mode="after")
    def _zones_and_residency(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        if self.zones is not None and len(set(self.zones)) != len(self.zones):
            issues.add(("zones",), "zones must be unique")
        context = _context(info)
        if context and context.environment == "prod" and self.zones is not None and len(self.zones) < 2:
            issues.add(("zones",), "prod needs at least two zones")
        if context and context.compliance and "gdpr" in context.compliance.profiles:
            allowed = context.compliance.allowed_locations
            if self.location not in allowed:
                issues.add(
                    ("location",),
                    f"'{self.location}' is outside compliance.allowedLocations ({', '.join(allowed)}) required by the gdpr profile",
                )
        issues.raise_if_any()
        return self


class LocalRegistryConfig(_Model):
    """A registry container next to a local cluster (kind, minikube, Docker Desktop)."""

    enabled: StrictBool = True
    """Run a local registry container with pulumi-docker. Defaults to true."""
    port: int = Field(5001, ge=1024, le=65535)
    """Host port of the local registry. Defaults to 5001."""


class FoundationConfig(_Model):
    """The foundation stack a cluster-layer stack reads: the cloud resources, deployed by another stack."""

    stack: str
    """Fully qualified name of the foundation stack, `<organization>/<project>/<stack>`, e.g.
    `organization/mlplatform/prod` (self-managed backends name every organization `organization`)."""
    cloud: Literal["aws", "azure"]
    """The foundation's cloud: decides the workload identity of serving accounts (IRSA or workload identity)."""
    gpu_pools: StrictBool = True
    """Whether the foundation has GPU pools, i.e. whether to install the NVIDIA stack. Defaults to true."""

    @field_validator("stack")
    @classmethod
    def _qualified(cls, stack: str) -> str:
        parts = stack.split("/")
        if len(parts) != 3 or not all(_STACK_NAME_PART.fullmatch(part) for part in parts):
            raise ValueError(
                f"'{stack}' is not a fully qualified stack name like organization/mlplatform/prod "
                "(<organization>/<project>/<stack>; `pulumi stack ls --all` shows it)"
            )
        return stack

    @property
    def stack_name(self) -> str:
        """The stack's own name, the last part of `stack` (its stack file is `Pulumi.<stack_name>.yaml`)."""
        return self.stack.rsplit("/", 1)[-1]


class KubernetesTarget(_Model):
    """Deploy the Kubernetes layer only, into an existing cluster: reached through a kubeconfig context, or the
    cluster of a foundation stack (a cluster-layer stack, run from inside the cluster's network)."""

    cloud: Literal["kubernetes"]
    """Discriminator: `kubernetes`."""
    kubeconfig_context: str | None = Field(None, min_length=1)
    """The kubeconfig context naming the cluster, e.g. `kind-mlplatform`. Required unless `foundation` is set."""
    foundation: FoundationConfig | None = None
    """Read the cluster (kubeconfig, OIDC issuer, storage-class contract, serving identities) from this foundation
    stack's outputs through a StackReference, instead of a kubeconfig context."""
    kubeconfig_path: str | None = None
    """Path of the kubeconfig file. Defaults to `$KUBECONFIG` or `~/.kube/config`."""
    distribution: Literal["kind", "minikube", "docker-desktop", "generic"] = "generic"
    """What runs the cluster; decides storage class and registry wiring. Defaults to generic."""
    gpu_driver_preinstalled: StrictBool = False
    """True when the nodes already ship the NVIDIA driver and container toolkit. Defaults to false."""
    storage_class: str | None = None
    """An existing StorageClass for persistent volumes (should be encrypted). Defaults to the cluster default."""
    local_registry: LocalRegistryConfig = LocalRegistryConfig()
    """The local registry container."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        issues = _Issues()
        if self.foundation is None and self.kubeconfig_context is None:
            issues.add(
                ("kubeconfigContext",),
                "required: the kubeconfig context of the cluster, or `foundation` for a cluster-layer stack",
            )
        if self.foundation is not None:
            if self.kubeconfig_context is not None:
                issues.add(("kubeconfigContext",), "not used with `foundation`: the foundation stack's kubeconfig is")
            for field in ("kubeconfig_path", "distribution", "gpu_driver_preinstalled", "storage_class"):
                if field in self.model_fields_set:
                    issues.add(
                        (to_camel(field),),
                        "comes from the foundation stack with `foundation`; remove it from this stack file",
                    )
            if "local_registry" in self.model_fields_set:
                issues.add(("localRegistry",), "a cloud cluster uses the foundation's registry; remove it")
        issues.raise_if_any()
        return self


AKS_CLUSTER_RANGES = {
    "pod": ipaddress.IPv4Network("192.168.0.0/16"),
    "service": ipaddress.IPv4Network("172.16.0.0/16"),
}
"""The pod (overlay) and service ranges AzureGpuCluster gives an AKS cluster (`DEFAULT_POD_CIDR`,
`DEFAULT_SERVICE_CIDR` in components/azure/gpu_cluster.py); the VNet (network.cidr) must not overlap them."""

Target = Annotated[AwsTarget | AzureTarget | KubernetesTarget, Field(discriminator="cloud")]


# --- Network and cluster --------------------------------------------------------------------------------


class NetworkConfig(_Model):
    """The VPC (AWS) or VNet (Azure) the platform creates."""

    cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("10.0.0.0/16")
    """Address space of the VPC/VNet. Defaults to 10.0.0.0/16; must be /16 to /20."""
    nat_gateways: Literal["single", "perZone"] | None = None
    """One NAT gateway for all zones (cheaper) or one per zone (survives a zone outage). Preset: single in dev."""

    @field_validator("cidr")
    @classmethod
    def _cidr_size(cls, cidr: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not 16 <= cidr.prefixlen <= 20:
            raise ValueError(f"prefix length must be between /16 and /20 to fit the subnets (got /{cidr.prefixlen})")
        if not cidr.is_private:
            raise ValueError(f"{cidr} is not a private (RFC 1918) range")
        return cidr


class EndpointConfig(_Model):
    """Who can reach the Kubernetes API server."""

    public_access: StrictBool = False
    """Expose the API server on the internet (restricted to `publicAccessCidrs`). Defaults to false."""
    public_access_cidrs: list[ipaddress.IPv4Network] = []
    """CIDRs allowed to reach a public endpoint; required when `publicAccess` is true; never 0.0.0.0/0."""

    @model_validator(mode="after")
    def _cidrs_with_public_access(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        context = _context(info)
        if context and context.environment in ("staging", "prod") and self.public_access:
            issues.add(
                ("publicAccess",),
                f"{context.environment} clusters are private: set publicAccess: false and deploy the Kubernetes layer "
                "from inside the network (deployment.kubernetesLayer: clusterStack, README *Deployment topology*)",
            )
        if self.public_access and not self.public_access_cidrs:
            issues.add(
                ("publicAccessCidrs",),
                "required when publicAccess is true: list the networks (e.g. your VPN egress /32) allowed to reach the API",
            )
        if not self.public_access and self.public_access_cidrs:
            issues.add(("publicAccessCidrs",), "only used with publicAccess: true; remove it or set publicAccess")
        for index, cidr in enumerate(self.public_access_cidrs):
            if cidr.prefixlen == 0:
                issues.add(
                    ("publicAccessCidrs", index),
                    "0.0.0.0/0 opens the API server to the whole internet; list specific networks",
                )
            elif _private_network(cidr):
                issues.add(
                    ("publicAccessCidrs", index),
                    f"{cidr} is a private range (RFC 1918 / RFC 6598): the public endpoint only sees public source "
                    "addresses; list your VPN's public egress, or keep the endpoint private and declare the runner "
                    "under deployment.deployer.network",
                )
        issues.raise_if_any()
        return self


TAINT_KEY_MAX = 63
"""EKS: "The key of the taint. Maximum length of 63." (pulumi-aws `aws.eks.NodeGroupTaint`); AKS is no looser."""
TAINT_VALUE_MAX = 63
"""EKS: "The value of the taint. Maximum length of 63." (pulumi-aws `aws.eks.NodeGroupTaint`)."""


class TaintConfig(_Model):
    """An extra node taint (the GPU taint is always added)."""

    key: str
    """Taint key, a Kubernetes label key."""
    value: str = ""
    """Taint value. Defaults to empty."""
    effect: gpu.NodeEffect = "NoSchedule"
    """NoSchedule, PreferNoSchedule or NoExecute. Defaults to NoSchedule."""

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not _LABEL_KEY.fullmatch(key):
            raise ValueError(
                f"'{key}' is not a valid taint key (a Kubernetes label key like 'team' or 'example.com/team')"
            )
        if len(key) > TAINT_KEY_MAX:
            raise ValueError(f"must be at most {TAINT_KEY_MAX} characters (EKS node group taint limit; got {len(key)})")
        return key

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        if len(value) > TAINT_VALUE_MAX:
            raise ValueError(
                f"must be at most {TAINT_VALUE_MAX} characters (EKS node group taint limit; got {len(value)})"
            )
        if not _LABEL_VALUE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid taint value (letters, digits, '-', '_', '.', starting and ending with a "
                "letter or digit)"
            )
        return value


class _PoolSizing(_Model):
    min_size: int = Field(0, ge=0, le=1000)
    """Fewest nodes; 0 lets the pool scale to zero."""
    max_size: int = Field(2, ge=1, le=1000)
    """Most nodes the autoscaler may run."""
    desired_size: int | None = Field(None, ge=0, le=1000)
    """Nodes at creation. Defaults to minSize. Later changes are left to the autoscaler."""

    @model_validator(mode="after")
    def _validate_pool(self, info: ValidationInfo) -> Self:
        # One validator per pool model, so a sizing problem does not hide a pool-type problem.
        issues = _Issues()
        self._collect_issues(issues, _context(info))
        issues.raise_if_any()
        return self

    def _collect_issues(self, issues: _Issues, context: _Context | None) -> None:
        if self.max_size < self.min_size:
            issues.add(("maxSize",), f"must be >= minSize ({self.min_size})")
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            issues.add(("desiredSize",), f"must be between minSize ({self.min_size}) and maxSize ({self.max_size})")

    @property
    def initial_size(self) -> int:
        """The node count at creation."""
        return self.min_size if self.desired_size is None else self.desired_size


class SystemPoolConfig(_PoolSizing):
    """AKS only: the System-mode pool for the critical add-ons, tainted CriticalAddonsOnly (no GPUs; monitoring and
    logging run on the platform pool)."""

    instance_types: list[str] | None = None
    """EC2 instance types or one Azure VM size. Defaults to m6i.xlarge (AWS) / Standard_D4ds_v5 (Azure)."""
    min_size: int = Field(2, ge=1, le=100)
    """Fewest nodes; at least 1, since add-ons always run. Defaults to 2."""
    max_size: int = Field(4, ge=1, le=100)
    """Most nodes. Defaults to 4."""
    disk_size_gb: int = Field(100, ge=30, le=16384)
    """Root disk size in GiB. Defaults to 100."""

    def _collect_issues(self, issues: _Issues, context: _Context | None) -> None:
        super()._collect_issues(issues, context)
        if context and context.cloud == "azure" and self.instance_types is not None and len(self.instance_types) != 1:
            issues.add(("instanceTypes",), "an AKS pool has exactly one VM size")


DEFAULT_SYSTEM_INSTANCE_TYPES = {"azure": ["Standard_D4ds_v5"]}


class PlatformPoolConfig(_Model):
    """The untainted CPU pool the platform's own workloads run on (operators, Prometheus, Alertmanager, Grafana,
    Elasticsearch, Kibana), labelled `mlplatform.io/pool-role: platform`. Sized per zone: on EKS one node group
    per zone, so a pod whose EBS volume is in a zone always has a node there; on AKS one zonal agent pool whose
    minCount and maxCount are these sizes times the number of zones. Unset fields come from the environment
    preset (`ENVIRONMENT_PRESETS`)."""

    instance_types: list[str] | None = None
    """EC2 instance types of one architecture, or exactly one Azure VM size; general-purpose, no GPUs. Preset:
    m6i.xlarge / Standard_D4ds_v5 in dev, m6i.2xlarge / Standard_D8ds_v5 in staging and prod."""
    min_size_per_zone: int | None = Field(None, ge=1, le=100)
    """Fewest nodes in each zone; at least 1. Preset: 1."""
    max_size_per_zone: int | None = Field(None, ge=1, le=100)
    """Most nodes in each zone. Preset: 2 in dev, 3 in staging and prod."""
    disk_size_gb: int = Field(100, ge=30, le=16384)
    """Root (EKS) or OS (AKS) disk size in GiB. Defaults to 100. Changing it replaces the AKS pool and rolls the
    EKS nodes."""

    @model_validator(mode="after")
    def _validate_pool(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        context = _context(info)
        preset = ENVIRONMENT_PRESETS.get(context.environment or "") if context else None
        # An explicit maximum below the minimum is a mistake; a preset maximum below an explicit minimum follows it.
        if self.max_size_per_zone is not None:
            min_size = self.min_size_per_zone or (preset["platform_min_size_per_zone"] if preset else 1)
            if self.max_size_per_zone < min_size:
                source = "" if self.min_size_per_zone else f", from the {context.environment} preset"  # type: ignore[union-attr]
                issues.add(("maxSizePerZone",), f"must be >= minSizePerZone ({min_size}{source})")
        if self.instance_types is not None and not self.instance_types:
            issues.add(("instanceTypes",), "list at least one instance type, or remove the key for the preset")
        cloud = context.cloud if context else None
        if cloud in ("aws", "azure"):
            self._check_for_cloud(cloud, issues)
        issues.raise_if_any()
        return self

    def _check_for_cloud(self, cloud: str, issues: _Issues) -> None:
        pattern, example = (
            (_AWS_INSTANCE_TYPE, "m6i.2xlarge") if cloud == "aws" else (_AZURE_VM_SIZE, "Standard_D8ds_v5")
        )
        for index, instance_type in enumerate(self.instance_types or []):
            if not pattern.fullmatch(instance_type):
                kind = "an EC2 instance type" if cloud == "aws" else "an Azure VM size"
                issues.add(("instanceTypes", index), f"'{instance_type}' is not {kind} like {example}")
            elif gpu.gpu_instance(cloud, instance_type) is not None:  # type: ignore[arg-type]
                issues.add(
                    ("instanceTypes", index),
                    f"'{instance_type}' has GPUs: the platform pool is untainted, so any pod could take them; use a "
                    f"general-purpose size like {example} and put GPUs in cluster.gpuPools",
                )
        if cloud == "azure" and self.instance_types is not None and len(self.instance_types) != 1:
            issues.add(("instanceTypes",), "an AKS pool has exactly one VM size")


class GpuPoolConfig(_PoolSizing):
    """A GPU node pool; the same schema on every cloud."""

    name: str
    """Pool name, a DNS-1123 label (AKS: at most 12 lower-case letters and digits, starting with a letter)."""
    instance_types: list[str] = Field(min_length=1)
    """EC2 GPU instance types (g4dn, g5, g6, g6e, p4d, p5, ...) or exactly one AKS NC/ND VM size."""
    capacity_type: Literal["spot", "on-demand"] | None = None
    """Spot (cheaper, can be reclaimed) or on-demand. Preset: spot in dev, on-demand elsewhere."""
    disk_size_gb: int = Field(200, ge=50, le=16384)
    """Root disk in GiB; model images and weights are large. Defaults to 200."""
    os_family: Literal["al2023", "bottlerocket", "ubuntu", "azurelinux"] | None = None
    """Node OS: al2023 or bottlerocket (AWS), ubuntu or azurelinux (Azure). Defaults to al2023 / ubuntu."""
    zones: list[str] | None = None
    """Zones for this pool, a subset of the target's zones. Defaults to all of them."""
    taints: list[TaintConfig] = []
    """Extra taints; the GPU taint of the GPU contract is always added."""
    efa: StrictBool = False
    """EKS only: Elastic Fabric Adapter for multi-node training (p4d, p5, p6 and the other EFA types): an EFA
    interface per network card, a cluster placement group for the warm nodes and Karpenter's, one zone, and the
    EFA device plugin on its nodes. Needs exactly one zone in `zones` and one instance type. Defaults to false."""
    on_demand_fallback: StrictBool = False
    """EKS, spot pools only: when spot capacity runs out, Karpenter launches the same instance types on demand
    (the NodePool allows both capacity types and prefers spot). Defaults to false."""
    priority: int | None = Field(None, ge=1, le=100)
    """Preference between pools that fit the same pod, higher first: the Karpenter NodePool `weight` on EKS, the
    priority of the AKS priority expander (`cluster.autoscaling.expander: priority`). Defaults to 20 for spot
    pools and 10 for on-demand ones, so spot is tried first."""
    labels: dict[str, str] = {}
    """Extra node labels; the GPU contract labels are always added and cannot be overridden. A `workload=<kind>`
    taint adds `mlplatform.io/workload: <kind>`: the label is derived from the taint (by the cluster components),
    never written beside it, so the selector a training job uses and the taint it tolerates cannot disagree."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        _check_dns_label(name)
        if len(name) > 40:
            raise ValueError("must be at most 40 characters (it prefixes node group and launch template names)")
        return name

    def _collect_issues(self, issues: _Issues, context: _Context | None) -> None:
        super()._collect_issues(issues, context)
        if len(set(self.instance_types)) != len(self.instance_types):
            issues.add(("instanceTypes",), "instance types must be unique")
        if context and context.cloud:
            self._check_for_cloud(context, issues)
        for key, value in self.labels.items():
            if not _LABEL_KEY.fullmatch(key):
                issues.add(("labels", key), f"'{key}' is not a valid Kubernetes label key")
            elif key in (gpu.GPU_PRESENT_LABEL, gpu.GPU_POOL_LABEL, gpu.ACCELERATOR_LABEL):
                issues.add(("labels", key), f"'{key}' is set by the GPU contract and cannot be overridden")
            if not _LABEL_VALUE.fullmatch(value) or len(value) > 63:
                issues.add(("labels", key), f"'{value}' is not a valid Kubernetes label value")
        derived = pools.workload_labels([(taint.key, taint.value) for taint in self.taints])
        if pools.WORKLOAD_LABEL in self.labels and self.labels[pools.WORKLOAD_LABEL] != derived.get(
            pools.WORKLOAD_LABEL
        ):
            issues.add(
                ("labels", pools.WORKLOAD_LABEL),
                f"comes from the pool's `{pools.WORKLOAD_TAINT_KEY}` taint "
                f"({derived.get(pools.WORKLOAD_LABEL) or 'none here'}); set the taint "
                f"{{key: {pools.WORKLOAD_TAINT_KEY}, value: <kind>}} instead",
            )

    def _check_for_cloud(self, context: _Context, issues: _Issues) -> None:
        cloud = context.cloud
        architectures = set()
        for index, instance_type in enumerate(self.instance_types):
            info = gpu.gpu_instance(cloud, instance_type)  # type: ignore[arg-type]
            if info is None:
                issues.add(("instanceTypes", index), _not_gpu_message(cloud or "", instance_type))
            else:
                architectures.add(info.architecture)
        if len(architectures) > 1:
            issues.add(("instanceTypes",), "mixes x86_64 and arm64 instance types; one AMI serves a pool")
        if cloud == "aws" and self.os_family not in (None, "al2023", "bottlerocket"):
            issues.add(("osFamily",), f"'{self.os_family}' is not an EKS GPU image; use al2023 or bottlerocket")
        if cloud == "azure":
            if self.os_family not in (None, "ubuntu", "azurelinux"):
                issues.add(("osFamily",), f"'{self.os_family}' is not an AKS image; use ubuntu or azurelinux")
            if not _AKS_POOL_NAME.fullmatch(self.name):
                issues.add(
                    ("name",),
                    f"'{self.name}' is not an AKS pool name: 1-12 lower-case letters and digits, starting with a letter",
                )
            if len(self.instance_types) != 1:
                issues.add(("instanceTypes",), "an AKS pool has exactly one VM size")
        if self.efa:
            if cloud != "aws":
                issues.add(("efa",), "EKS only (AKS InfiniBand sizes need no setting here)")
            else:
                for index, instance_type in enumerate(self.instance_types):
                    if not gpu.aws_efa_supported(instance_type):
                        issues.add(
                            ("instanceTypes", index), f"'{instance_type}' has no EFA; remove efa or choose an EFA type"
                        )
                if len(self.instance_types) != 1:
                    issues.add(
                        ("instanceTypes",), "an EFA pool has one instance type (its launch template is sized for it)"
                    )
                if not self.zones or len(self.zones) != 1:
                    issues.add(
                        ("zones",),
                        "an EFA pool needs exactly one zone: its cluster placement group is single-AZ and EFA traffic "
                        "does not cross zones",
                    )
        if self.on_demand_fallback and cloud == "azure":
            issues.add(
                ("onDemandFallback",),
                "EKS only: an AKS pool is either spot or regular; declare a second, on-demand pool with a lower "
                "`priority` and set cluster.autoscaling.expander: priority",
            )
        zones = context.zones
        for index, zone in enumerate(self.zones or []):
            if zone not in zones:
                issues.add(("zones", index), f"'{zone}' is not one of the target zones ({', '.join(zones)})")


class AutoscalingConfig(_Model):
    """How the node autoscaler adds and removes capacity: Karpenter on EKS, the AKS cluster autoscaler on AKS."""

    scale_down_after_minutes: int = Field(10, ge=1, le=1440)
    """Minutes an empty node waits before it is removed (Karpenter `consolidateAfter`; AKS
    `scale-down-unneeded-time`): an idle GPU node stops costing after this, a node still running a job or a
    model server is never removed for being underused. Defaults to 10."""
    node_expiry_hours: int = Field(720, ge=0, le=8760)
    """EKS: hours after which Karpenter replaces a node (new AMI, patched kernel); 0 never expires nodes. A
    replaced node is drained with `drainGraceHours` of grace. Defaults to 720 (30 days)."""
    drain_grace_hours: int = Field(24, ge=0, le=168)
    """EKS: hours a node being removed waits for pods that block their eviction (`karpenter.sh/do-not-disrupt`,
    disruption budgets), e.g. a training job writing its checkpoint, before they are deleted. Defaults to 24."""
    expander: Literal["least-waste", "priority"] = "least-waste"
    """AKS: how the autoscaler picks among pools that fit a pending pod. `least-waste` (the pool left with the least
    idle CPU) or `priority`: the pools' `priority` fields, written to the autoscaler's
    `cluster-autoscaler-priority-expander` ConfigMap. (On EKS, Karpenter always honours `priority` as NodePool
    weights.) Defaults to least-waste."""


class ClusterConfig(_Model):
    """The Kubernetes cluster: version, API access, logs, system pool and GPU pools."""

    kubernetes_version: str = "1.34"
    """Kubernetes minor version, e.g. "1.34". Defaults to 1.34."""
    endpoint: EndpointConfig = EndpointConfig()
    """API server access. Private by default."""
    control_plane_logs: list[ControlPlaneLog] | None = None
    """EKS control-plane log types; must include api, audit and authenticator. Preset: all five outside dev."""
    admin_principals: list[str] = []
    """Cluster administrators: IAM role ARNs (EKS access entries) or Entra group object IDs (AKS)."""
    deployer_admin_access: StrictBool = True
    """Give the deployer of the Kubernetes layer cluster-admin through an explicit, visible grant (EKS access
    entry; AKS RBAC Cluster Admin and Cluster User roles): `deployment.deployer.principal`, or in dev without one,
    the identity running `pulumi up`. A deployer that is also in adminPrincipals keeps one entry. Set false when
    the deployer is one of adminPrincipals anyway. Defaults to true."""
    system_pool: SystemPoolConfig = SystemPoolConfig()
    """AKS only: the System-mode pool, tainted `CriticalAddonsOnly` for the cluster's critical add-ons. (On EKS the
    platform node groups run the add-ons.)"""
    platform_pool: PlatformPoolConfig = PlatformPoolConfig()
    """The untainted CPU pool for the platform's own workloads, sized per zone (presets per environment)."""
    gpu_pools: list[GpuPoolConfig] = []
    """GPU node pools. Empty means a cluster without GPUs."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    """How nodes are added and removed: scale-down delay, node expiry and drain grace, the AKS expander."""

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, version: str) -> str:
        match = re.fullmatch(r"1\.(\d+)", version)
        if not match:
            raise ValueError(f"'{version}' is not a Kubernetes minor version like '1.34'")
        if int(match[1]) < MIN_KUBERNETES_MINOR:
            raise ValueError(f"{version} is out of standard support; use 1.{MIN_KUBERNETES_MINOR} or newer")
        return version

    @model_validator(mode="after")
    def _cluster_rules(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        context = _context(info)
        if context and context.cloud == "kubernetes" and self.gpu_pools:
            issues.add(
                ("gpuPools",),
                "an existing cluster's node pools are managed outside this stack; remove gpuPools for cloud: kubernetes",
            )
        # A cluster-layer stack is told once that the whole `cluster` section is its foundation's.
        layer = context and isinstance(context.target, KubernetesTarget) and context.target.foundation is not None
        if context and context.cloud == "kubernetes" and not layer:
            for key in ("system_pool", "platform_pool", "autoscaling"):
                if key in self.model_fields_set:
                    issues.add((to_camel(key),), "an existing cluster's node pools are managed outside this stack")
        if context and context.cloud == "aws" and "system_pool" in self.model_fields_set:
            issues.add(
                ("systemPool",),
                "AKS only: on EKS the platform node groups (one per zone) also run the cluster add-ons; size them "
                "under cluster.platformPool",
            )
        scaling = self.autoscaling.model_fields_set
        if context and context.cloud == "aws" and "expander" in scaling:
            issues.add(
                ("autoscaling", "expander"),
                "AKS only: on EKS Karpenter weighs the pools by their `priority` (NodePool weight); remove it",
            )
        if context and context.cloud == "azure":
            for key in ("node_expiry_hours", "drain_grace_hours"):
                if key in scaling:
                    issues.add(
                        ("autoscaling", to_camel(key)),
                        "EKS only (Karpenter): AKS replaces nodes through node-image upgrades and drains them with "
                        "its own timeout; remove it",
                    )
        seen: dict[str, int] = {}
        for index, pool in enumerate(self.gpu_pools):
            if pool.name in seen:
                issues.add(
                    ("gpuPools", index, "name"), f"duplicate pool name '{pool.name}' (also gpuPools[{seen[pool.name]}])"
                )
            seen.setdefault(pool.name, index)
            if context and context.cloud == "azure" and pool.name in ("system", pools.PLATFORM_POOL_NAME):
                issues.add(
                    ("gpuPools", index, "name"), f"'{pool.name}' is the name of the cluster's own {pool.name} pool"
                )
        if self.control_plane_logs is not None:
            missing = [log for log in REQUIRED_CONTROL_PLANE_LOGS if log not in self.control_plane_logs]
            if missing:
                issues.add(("controlPlaneLogs",), f"must include {', '.join(missing)} (audit trail; HIPAA 164.312(b))")
        issues.raise_if_any()
        return self


# --- Registry, storage, monitoring, logging, serving ----------------------------------------------------


class RegistryConfig(_Model):
    """Container registry for model images (ECR repositories, or one ACR)."""

    enhanced_scanning: StrictBool = True
    """Scan every image for vulnerabilities continuously, so promotion can be gated on the findings: ECR enhanced
    scanning with Amazon Inspector (EKS), Microsoft Defender for Containers' registry assessment (AKS; the plan is the
    subscription's). Defaults to true."""
    enable_inspector: StrictBool = True
    """EKS: turn on Amazon Inspector's ECR scanning for the account (account-wide, kept on destroy); false when the
    security team manages Inspector. Defaults to true."""
    repositories: list[str] = Field(["models"], min_length=1)
    """Repository names, e.g. `models` or `team-a/fraud`; at least one. Defaults to [models]."""
    scan_on_push: StrictBool = True
    """Scan every pushed image for vulnerabilities. Defaults to true."""
    keep_tagged_images: int = Field(50, ge=1, le=10000)
    """Tagged images kept per repository; older ones expire. Defaults to 50."""
    untagged_retention_days: int = Field(7, ge=1, le=365)
    """Days before untagged images/manifests are deleted. Defaults to 7."""

    @model_validator(mode="after")
    def _names(self) -> Self:
        issues = _Issues()
        for index, name in enumerate(self.repositories):
            if not _ECR_REPOSITORY.fullmatch(name) or len(name) > 200:
                issues.add(
                    ("repositories", index),
                    f"'{name}' is not a repository name (lower case, digits, '.', '_', '-', '/')",
                )
        if len(set(self.repositories)) != len(self.repositories):
            issues.add(("repositories",), "repository names must be unique")
        issues.raise_if_any()
        return self


class BucketConfig(_Model):
    """One data store: an S3 bucket (AWS) or a blob container (Azure)."""

    name: str
    """Logical name, a DNS-1123 label of 3-40 characters; the physical name adds the stack."""
    data_classification: DataClassification = "confidential"
    """phi, pii, confidential, internal or public. Decides tags and retention ceilings. Defaults to confidential."""
    retention_days: int | None = Field(None, ge=1, le=36500)
    """Days before objects expire. Unset keeps them forever, which the gdpr profile rejects."""
    noncurrent_version_retention_days: int = Field(30, ge=1, le=3650)
    """Days a replaced or deleted object version is kept (recovery window). Defaults to 30."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        _check_dns_label(name)
        if not 3 <= len(name) <= 40:
            raise ValueError("must be 3 to 40 characters")
        return name


class StorageConfig(_Model):
    """Encrypted storage for datasets, models and artifacts."""

    buckets: list[BucketConfig] = [
        BucketConfig(name="datasets", data_classification="confidential", retention_days=365),
        BucketConfig(name="models", data_classification="confidential", retention_days=730),
        BucketConfig(name="artifacts", data_classification="internal", retention_days=180),
    ]
    """The data stores. Defaults to datasets (365 days), models (730) and artifacts (180)."""
    models_bucket: str = "models"
    """The bucket serving namespaces read models from (each namespace gets its own prefix). Defaults to models."""
    access_log_retention_days: int = Field(365, ge=90, le=3650)
    """Days server access logs are kept. Defaults to 365."""

    @model_validator(mode="after")
    def _references(self) -> Self:
        issues = _Issues()
        seen: set[str] = set()
        for index, bucket in enumerate(self.buckets):
            if bucket.name in seen:
                issues.add(("buckets", index, "name"), f"duplicate bucket name '{bucket.name}'")
            seen.add(bucket.name)
        if self.models_bucket not in seen:
            issues.add(
                ("modelsBucket",),
                f"'{self.models_bucket}' is not one of the buckets ({', '.join(sorted(seen)) or 'none'})",
            )
        issues.raise_if_any()
        return self


class PrometheusConfig(_Model):
    """Prometheus storage and retention."""

    retention: str = "15d"
    """How long samples are kept (Prometheus duration). Defaults to 15d."""
    retention_size: str = "40GB"
    """Size cap of the TSDB (B, KB, MB, GB, TB); must fit in `volumeSize` with headroom. Defaults to 40GB."""
    volume_size: str = "50Gi"
    """Persistent volume size (Kubernetes quantity), on an encrypted storage class. Defaults to 50Gi."""

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        issues = _Issues()
        if not is_duration(self.retention):
            issues.add(("retention",), f"'{self.retention}' is not a duration like '15d' or '12h'")
        size = _RETENTION_SIZE.fullmatch(self.retention_size)
        volume = None
        try:
            volume = parse_quantity(self.volume_size)
        except ValueError as error:
            issues.add(("volumeSize",), str(error))
        if not size:
            issues.add(("retentionSize",), f"'{self.retention_size}' is not a size like '40GB'")
        elif volume is not None:
            cap = float(size["number"]) * _RETENTION_UNITS[size["unit"]]
            if cap > float(volume) * 0.9:
                issues.add(("retentionSize",), f"must leave 10% of volumeSize ({self.volume_size}) free for compaction")
        issues.raise_if_any()
        return self


class AlertingConfig(_Model):
    """Where Alertmanager sends alerts."""

    receiver: Literal["none", "webhook", "slack", "pagerduty"] = "none"
    """Receiver kind. `none` keeps alerts in Alertmanager only. Defaults to none."""
    secret_config_key: str = "alertReceiverSecret"
    """Secret stack config key holding the webhook URL / Slack URL / PagerDuty key (`pulumi config set --secret`)."""
    slack_channel: str | None = None
    """Slack channel for the slack receiver, e.g. `#ml-alerts`."""

    @model_validator(mode="after")
    def _slack(self) -> Self:
        issues = _Issues()
        if self.receiver == "slack" and not self.slack_channel:
            issues.add(("slackChannel",), "required when receiver is slack")
        if self.slack_channel is not None and not _SLACK_CHANNEL.fullmatch(self.slack_channel):
            issues.add(
                ("slackChannel",),
                f"{self.slack_channel!r} is not a Slack channel name like '#ml-alerts' (lower-case letters, digits, "
                "'-' and '_', at most 80)",
            )
        if not _CONFIG_KEY.fullmatch(self.secret_config_key):
            issues.add(
                ("secretConfigKey",),
                f"{self.secret_config_key!r} is not a stack config key (letters, digits, '_', '-', '.')",
            )
        issues.raise_if_any()
        return self


class MonitoringConfig(_Model):
    """kube-prometheus-stack with GPU dashboards and alerts."""

    enabled: StrictBool = True
    """Install Prometheus, Alertmanager and Grafana. Defaults to true."""
    prometheus: PrometheusConfig = PrometheusConfig()
    """Prometheus retention and storage."""
    grafana: StrictBool = True
    """Install Grafana with the GPU dashboard. Defaults to true."""
    alerting: AlertingConfig = AlertingConfig()
    """Alert routing."""


class ElkConfig(_Model):
    """Elasticsearch, Kibana and Fluent Bit via the ECK operator."""

    enabled: StrictBool = True
    """Install ELK logging. Defaults to true."""
    retention_days: int = Field(30, ge=1, le=3650)
    """Days container logs are kept before the index lifecycle policy deletes them. Defaults to 30."""
    nodes: int | None = Field(None, ge=1, le=15)
    """Elasticsearch nodes. Preset: 1 in dev, 3 elsewhere."""
    volume_size: str = "100Gi"
    """Persistent volume per Elasticsearch node (Kubernetes quantity). Defaults to 100Gi."""

    @field_validator("volume_size")
    @classmethod
    def _volume(cls, value: str) -> str:
        return _quantity(value)


class LoggingConfig(_Model):
    """Log retention for cloud audit logs and the in-cluster ELK stack."""

    retention_days: int = Field(365, ge=1, le=3653)
    """Days cloud logs (control plane, flow logs, diagnostics) are kept. Defaults to 365."""
    elk: ElkConfig = ElkConfig()
    """In-cluster ELK logging."""

    @model_validator(mode="after")
    def _retention_limits(self, info: ValidationInfo) -> Self:
        context = _context(info)
        issues = _Issues()
        if context and context.cloud == "aws" and self.retention_days not in CLOUDWATCH_RETENTION_DAYS:
            lower = max((d for d in CLOUDWATCH_RETENTION_DAYS if d < self.retention_days), default=None)
            higher = min((d for d in CLOUDWATCH_RETENTION_DAYS if d > self.retention_days), default=None)
            nearest = " or ".join(str(d) for d in (lower, higher) if d is not None)
            issues.add(
                ("retentionDays",), f"CloudWatch Logs cannot keep logs {self.retention_days} days; use {nearest}"
            )
        low, high = LOG_ANALYTICS_RETENTION_DAYS
        if context and context.cloud == "azure" and not low <= self.retention_days <= high:
            issues.add(
                ("retentionDays",), f"Log Analytics keeps logs {low} to {high} days; {self.retention_days} is outside"
            )
        issues.raise_if_any()
        return self


class QuotaConfig(_Model):
    """Resource quota of one serving namespace."""

    gpu: int = Field(1, ge=0, le=1024)
    """GPUs the namespace may request (`requests.nvidia.com/gpu`). Defaults to 1."""
    cpu: str | int = "16"
    """CPU requests ceiling (Kubernetes quantity). Defaults to 16."""
    memory: str | int = "64Gi"
    """Memory requests ceiling (Kubernetes quantity). Defaults to 64Gi."""
    pods: int = Field(50, ge=1, le=10000)
    """Most pods. Defaults to 50."""

    @field_validator("cpu", "memory")
    @classmethod
    def _quantities(cls, value: str | int) -> str:
        return _quantity(value)


class ServingNamespaceConfig(_Model):
    """A model-serving namespace for one team."""

    name: str
    """Namespace name, a DNS-1123 label; not a system namespace."""
    team_group: str = Field(min_length=1)
    """The identity-provider group (Kubernetes RBAC group / Entra group object ID) given edit rights."""
    quota: QuotaConfig = QuotaConfig()
    """Resource quota."""
    allowed_ingress_namespaces: list[str] | None = None
    """Namespaces allowed to send traffic in. Defaults to [serving.ingressNamespace]."""
    secrets: list[str] = []
    """Names of the application secrets this namespace's model servers read (`ModelDeployment.secrets`), through
    the Secrets Store CSI driver under the namespace's own identity: AWS Secrets Manager secrets named
    `<serving.secrets.namePrefix>/<namespace>/<name>`, or secrets of the namespace's own Key Vault on Azure. The
    values never pass through Pulumi: create them in the store. Defaults to none."""
    team_principals: list[str] = []
    """AWS only: the team's IAM role ARNs, mapped to the Kubernetes group `teamGroup` by EKS access entries, so the
    namespace RoleBinding on that group applies to them. Defaults to none (on Azure, `teamGroup` is the Entra group
    itself and gets the AKS Cluster User role)."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return _check_team_namespace(name)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", name):
                raise ValueError(f"'{name}' is not a secret name (letters, digits, '-', at most 63)")
        if len(set(names)) != len(names):
            raise ValueError("secret names must be unique")
        return names

    @field_validator("allowed_ingress_namespaces")
    @classmethod
    def _ingress(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            _check_dns_label(name)
        return names


class PodAutoscalingConfig(_Model):
    """How model servers scale with their load: KEDA (Prometheus triggers, scale to zero) and, where the cluster
    lacks it, metrics-server (CPU and memory for plain HorizontalPodAutoscalers)."""

    enabled: StrictBool = True
    """Install KEDA, which `ModelDeployment(autoscaling=...)` scales through; needs monitoring (it reads
    Prometheus). Defaults to true."""
    metrics_server: StrictBool | None = None
    """Install metrics-server. Defaults to true on EKS (which ships none), false on AKS (which does) and on an
    existing cluster (most have one; kind does not)."""


class SecretsConfig(_Model):
    """Where the serving namespaces' application secrets live and how pods see them."""

    name_prefix: str | None = None
    """AWS: the Secrets Manager name prefix; a namespace's identity reads `<namePrefix>/<namespace>/*` only.
    Defaults to `<project>/<environment>` (the same for a foundation and its cluster-layer stack)."""
    sync_to_kubernetes: StrictBool = False
    """Also mirror secrets into a Kubernetes Secret so they can be env vars (`ModelDeployment.secrets[].env`):
    stored in etcd (encrypted with the cluster's key) and, on EKS, the driver needs read/write access to every
    Secret of the cluster. Files need neither. Defaults to false."""

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, prefix: str | None) -> str | None:
        if prefix is not None and not re.fullmatch(r"[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*", prefix):
            raise ValueError(f"'{prefix}' is not a Secrets Manager name prefix (path segments, no leading '/')")
        return prefix


class GatewayConfig(_Model):
    """The serving gateway: how models are reached (`ServingGateway`: Envoy Gateway, TLS from cert-manager)."""

    domain: str | None = None
    """DNS domain of the models: a model answers at `https://<model>.<namespace>.<domain>`; point
    `*.<namespace>.<domain>` at the gateway's internal load balancer. Defaults to `<environment>.<project>.internal`
    (`.internal` is reserved for private use)."""
    public: StrictBool = False
    """Expose the gateway on a public load balancer, reachable only from `publicSourceCidrs`; the policy packs flag
    it (exempt it there, with a reason). Defaults to false: an internal load balancer."""
    public_source_cidrs: list[ipaddress.IPv4Network] = []
    """The networks a public gateway admits (never the whole internet). Required with `public: true`."""
    issuer: str | None = None
    """An existing cert-manager ClusterIssuer for the gateway's certificate (ACME, a corporate CA). Defaults to the
    platform's own private CA, whose certificate is the `servingCaCertificate` output."""

    @field_validator("domain")
    @classmethod
    def _domain(cls, domain: str | None) -> str | None:
        if domain is not None and not re.fullmatch(
            r"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z][-a-z0-9]{0,61}[a-z0-9]", domain
        ):
            raise ValueError(f"'{domain}' is not a lower-case DNS domain like models.example.com")
        return domain

    @model_validator(mode="after")
    def _exposure(self) -> Self:
        issues = _Issues()
        if self.public and not self.public_source_cidrs:
            issues.add(("publicSourceCidrs",), "required with public: true (the networks allowed to reach the models)")
        if not self.public and self.public_source_cidrs:
            issues.add(("publicSourceCidrs",), "only used with public: true; remove it or set public: true")
        for index, cidr in enumerate(self.public_source_cidrs):
            if cidr.prefixlen == 0:
                issues.add(("publicSourceCidrs", index), f"{cidr} is the whole internet; list your networks")
        issues.raise_if_any()
        return self


class ServingConfig(_Model):
    """Model-serving namespaces."""

    ingress_namespace: str = "serving-gateway"
    """Namespace whose gateway proxies may reach serving pods. Defaults to serving-gateway (the platform's
    `ServingGateway`)."""
    gateway: GatewayConfig = GatewayConfig()
    """How models are reached: domain, internal or public load balancer, certificate issuer."""
    namespaces: list[ServingNamespaceConfig] = []
    """One entry per team namespace."""
    autoscaling: PodAutoscalingConfig = PodAutoscalingConfig()
    """Pod autoscaling for model servers: KEDA and metrics-server."""
    secrets: SecretsConfig = SecretsConfig()
    """Application secrets of the serving namespaces (`namespaces[].secrets`)."""

    @field_validator("ingress_namespace")
    @classmethod
    def _ingress_namespace(cls, name: str) -> str:
        return _check_dns_label(name)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _raise_duplicates([namespace.name for namespace in self.namespaces], "namespaces", "name", "namespace")
        return self


class TrainingQuotaConfig(_Model):
    """A training namespace's guaranteed share of one GPU pool: its Kueue quota on that pool's ResourceFlavor."""

    pool: str
    """The GPU pool (`cluster.gpuPools[].name`, the foundation's in a cluster-layer stack); jobs admitted on this
    quota run on that pool's nodes."""
    gpus: int = Field(ge=0, le=4096)
    """GPUs the team is guaranteed on the pool (the ClusterQueue's nominal quota)."""
    cpu: str | int
    """CPU for the jobs using those GPUs (Kubernetes quantity)."""
    memory: str | int
    """Memory for those jobs (Kubernetes quantity); a job's memory-backed /dev/shm counts against it."""
    borrow_gpus: int = Field(0, ge=0, le=4096)
    """GPUs the team may borrow above `gpus` from what other teams leave idle in the cohort; lent quota is reclaimed
    by preemption when its owner needs it. Defaults to 0 (guaranteed share only)."""
    borrow_cpu: str | int = "0"
    """CPU the team may borrow with those GPUs (quantity). Defaults to 0."""
    borrow_memory: str | int = "0"
    """Memory the team may borrow with those GPUs (quantity). Defaults to 0."""

    @field_validator("cpu", "memory", "borrow_cpu", "borrow_memory")
    @classmethod
    def _quantities(cls, value: str | int) -> str:
        return _quantity(value)

    @model_validator(mode="after")
    def _borrowing(self) -> Self:
        issues = _Issues()
        if self.borrow_gpus and parse_quantity(self.borrow_cpu) == 0:
            issues.add(("borrowCpu",), "borrowed GPUs need CPU to run with: set borrowCpu (and borrowMemory)")
        if self.borrow_gpus and parse_quantity(self.borrow_memory) == 0:
            issues.add(("borrowMemory",), "borrowed GPUs need memory to run with: set borrowMemory")
        issues.raise_if_any()
        return self


class TrainingCpuQuotaConfig(_Model):
    """A training namespace's quota for jobs that request no GPU (data preparation, evaluation, pipeline jobs)."""

    cpu: str | int = "8"
    """CPU (Kubernetes quantity). Defaults to 8."""
    memory: str | int = "32Gi"
    """Memory (Kubernetes quantity). Defaults to 32Gi."""

    @field_validator("cpu", "memory")
    @classmethod
    def _quantities(cls, value: str | int) -> str:
        return _quantity(value)


class TrainingNamespaceConfig(_Model):
    """A namespace in which one research team runs queued, single- and multi-node GPU training jobs."""

    name: str
    """Namespace name, a DNS-1123 label; not a system namespace. Also the team's ClusterQueue and LocalQueue name:
    jobs carry the label `kueue.x-k8s.io/queue-name: <name>`."""
    team_group: str = Field(min_length=1)
    """The identity-provider group (Kubernetes RBAC group / Entra group object ID) allowed to submit jobs."""
    quotas: list[TrainingQuotaConfig] = []
    """The team's quota on each GPU pool it trains on, in order of preference. Required where the stack installs
    the Kubernetes layer (a foundation stack with `deployment.kubernetesLayer: clusterStack` needs only the name,
    team group and principals, for the identities)."""
    cpu_quota: TrainingCpuQuotaConfig = TrainingCpuQuotaConfig()
    """Queue quota for jobs without GPUs: they run on the platform pool (Kueue's `cpu` flavor), never on a GPU node.
    Defaults to 8 CPU and 32Gi."""
    pods: int = Field(100, ge=1, le=10000)
    """Most pods of the namespace (every worker of every running job). Defaults to 100."""
    fair_sharing_weight: str | int | None = None
    """The team's weight when the cohort's idle quota is shared out (quantity). Defaults to 1."""
    preemption: Literal["Never", "LowerPriority", "LowerOrNewerEqualPriority"] = "LowerPriority"
    """Whether a waiting job may preempt the team's own running jobs of lower priority. Defaults to
    LowerPriority."""
    team_principals: list[str] = []
    """AWS only: the team's IAM role ARNs, mapped to the Kubernetes group `teamGroup` by EKS access entries.
    Defaults to none."""
    image_repositories: list[str] = []
    """`registry.repositories` the team's pipelines push serving images to (the retraining pipeline's build step),
    with the team's own identity: push and pull on these ECR repositories only (EKS); AcrPush on the platform's
    registry (AKS: ACR's roles are registry-wide). Defaults to none."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return _check_team_namespace(name)

    @field_validator("fair_sharing_weight")
    @classmethod
    def _weight(cls, value: str | int | None) -> str | None:
        return None if value is None else _quantity(value)

    @model_validator(mode="after")
    def _one_quota_per_pool(self) -> Self:
        _raise_duplicates([quota.pool for quota in self.quotas], "quotas", "pool", "quota on pool")
        return self

    def ceiling(self) -> dict[str, str | int]:
        """The namespace's ResourceQuota: its quotas plus what it may borrow, on every pool together, plus the
        CPU-only quota (the hard ceiling Kubernetes enforces; Kueue decides which share of it runs)."""
        gpus = sum(quota.gpus + quota.borrow_gpus for quota in self.quotas)
        cpu = parse_quantity(self.cpu_quota.cpu) + sum(
            parse_quantity(quota.cpu) + parse_quantity(quota.borrow_cpu) for quota in self.quotas
        )
        memory = parse_quantity(self.cpu_quota.memory) + sum(
            parse_quantity(quota.memory) + parse_quantity(quota.borrow_memory) for quota in self.quotas
        )
        return {"gpus": gpus, "cpu": _format_cpu(cpu), "memory": _format_memory(memory)}


class EntraPrincipalConfig(_Model):
    """An Entra principal by object ID, name and kind."""

    object_id: str
    """The principal's object ID (`az ad group show -g <name> --query id`)."""
    name: str = Field(min_length=1)
    """Its display name: the PostgreSQL role the server creates for it, with which its members sign in."""
    type: Literal["group", "user", "servicePrincipal"] = "group"
    """group, user or servicePrincipal. Defaults to group."""

    @field_validator("object_id")
    @classmethod
    def _object_id(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value):
            raise ValueError(f"'{value}' is not an Entra object ID (a GUID)")
        return value


class TrackingDatabaseConfig(_Model):
    """The tracking server's managed PostgreSQL (RDS / Azure Database for PostgreSQL flexible server): private,
    encrypted with a customer-managed key, backed up, deletion-protected in prod."""

    instance_class: str | None = None
    """AWS: the RDS instance class. Defaults to db.t4g.medium."""
    sku_name: str | None = None
    """Azure: the flexible server's compute size. Defaults to Standard_D2ds_v5 (GeneralPurpose)."""
    storage_gb: int = Field(32, ge=20, le=16384)
    """Initial storage in GiB (AWS: gp3, grows to `maxStorageGb`; Azure: a premium disk size, grows by itself).
    Defaults to 32."""
    max_storage_gb: int = Field(200, ge=20, le=65536)
    """AWS: the storage autoscaling ceiling in GiB. Defaults to 200."""
    backup_retention_days: int = Field(14, ge=7, le=35)
    """Days of automated backups and point-in-time recovery. Defaults to 14."""
    high_availability: StrictBool | None = None
    """A synchronous standby in another zone (RDS Multi-AZ; Azure zone-redundant HA). Preset: on in prod."""
    entra_administrator: EntraPrincipalConfig | None = None
    """Azure: the Entra administrator of the server (the only way in besides the tracking server's password
    login). Required on Azure."""

    @model_validator(mode="after")
    def _storage(self) -> Self:
        if self.max_storage_gb < self.storage_gb:
            issues = _Issues()
            issues.add(("maxStorageGb",), f"must be >= storageGb ({self.storage_gb})")
            issues.raise_if_any()
        return self


class TrackingConfig(_Model):
    """Experiment tracking and model registry for the training namespaces: an MLflow server (`ExperimentTracking`)
    behind MLflow's basic auth, on a managed PostgreSQL, storing artifacts under `mlflow/` in the artifacts bucket
    through its own identity, reachable only from the training namespaces."""

    enabled: StrictBool | None = None
    """Run it. Defaults to true on AWS and Azure when there are training namespaces; not available on an existing
    cluster (no managed database)."""
    namespace: str = "mlflow"
    """Namespace of the server. Defaults to mlflow."""
    default_permission: Literal["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"] = "NO_PERMISSIONS"
    """What a signed-in user may do on an experiment or model nobody granted them: runs may carry personal or health
    data, so nothing until the owner or the admin grants it. Defaults to NO_PERMISSIONS."""
    replicas: int = Field(2, ge=1, le=10)
    """Server replicas. Defaults to 2."""
    database: TrackingDatabaseConfig = TrackingDatabaseConfig()
    """The managed PostgreSQL."""

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, name: str) -> str:
        _check_dns_label(name)
        if name in RESERVED_NAMESPACES or name.startswith("kube-"):
            raise ValueError(f"'{name}' is a system namespace; choose another")
        return name


class PipelinesConfig(_Model):
    """Pipelines with scheduled retraining: Argo Workflows for the training namespaces (`Pipelines`)."""

    enabled: StrictBool = True
    """Install Argo Workflows where there are training namespaces (on AWS and Azure: its artifacts go to the
    artifacts bucket). Defaults to true."""
    server: StrictBool = False
    """Also run the Argo Server (UI and API; ClusterIP only, each request with the caller's own Kubernetes token).
    Defaults to false: teams use `kubectl`/`argo` with their own credentials."""


class TrainingConfig(_Model):
    """Training: GPU queues with fair sharing (Kueue) and the research teams' training namespaces."""

    namespaces: list[TrainingNamespaceConfig] = []
    """One entry per team namespace. Defaults to none (no training half)."""
    cohort: str = "training"
    """The Kueue cohort every team's ClusterQueue joins; idle quota is lent within it. Defaults to training."""
    datasets_bucket: str = "datasets"
    """The `storage.buckets` entry holding datasets: each team reads `datasets/<team>/` in it, nothing else.
    Defaults to datasets."""
    artifacts_bucket: str = "artifacts"
    """The `storage.buckets` entry for checkpoints and run artifacts: each team writes `artifacts/<team>/` in it, the
    tracking server `mlflow/`. Defaults to artifacts. (Trained models go to `storage.modelsBucket` under
    `models/<team>/`.)"""
    tracking: TrackingConfig = TrackingConfig()
    """Experiment tracking and model registry (MLflow)."""
    pipelines: PipelinesConfig = PipelinesConfig()
    """Pipelines with scheduled retraining (Argo Workflows)."""

    @field_validator("cohort")
    @classmethod
    def _cohort(cls, name: str) -> str:
        return _check_dns_label(name)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _raise_duplicates([namespace.name for namespace in self.namespaces], "namespaces", "name", "namespace")
        return self


def check_training_pools(
    training: TrainingConfig, gpu_pools: list[GpuPoolConfig], cloud: str, issues: _Issues, pools_key: str
) -> None:
    """Every training quota names a GPU pool of the cluster, and no pool is promised more GPUs than it can hold
    (`maxSize` nodes of its smallest instance type): a guarantee Kueue could never honour is refused."""
    by_name = {pool.name: pool for pool in gpu_pools}
    promised: dict[str, list[tuple[int, int]]] = {}
    for index, namespace in enumerate(training.namespaces):
        for position, quota in enumerate(namespace.quotas):
            if quota.pool not in by_name:
                issues.add(
                    ("training", "namespaces", index, "quotas", position, "pool"),
                    f"'{quota.pool}' is not a GPU pool ({pools_key}: {', '.join(by_name) or 'none'})",
                )
                continue
            promised.setdefault(quota.pool, []).append((index, position))
    for pool_name, places in promised.items():
        pool = by_name[pool_name]
        per_node = [info.gpus for info in (gpu.gpu_instance(cloud, t) for t in pool.instance_types) if info]  # type: ignore[arg-type]
        if not per_node:
            continue
        capacity = pool.max_size * min(per_node)
        total = sum(training.namespaces[i].quotas[j].gpus for i, j in places)
        if total > capacity:
            index, position = places[-1]
            issues.add(
                ("training", "namespaces", index, "quotas", position, "gpus"),
                f"the training quotas on '{pool_name}' guarantee {total} GPUs, but the pool holds at most {capacity} "
                f"({pool.max_size} nodes x {min(per_node)} GPUs): lower the quotas or raise {pools_key} maxSize",
            )


def _format_cpu(cores: Decimal) -> str:
    """A CPU quantity for `cores` (whole cores, else millicores)."""
    return str(int(cores)) if cores == cores.to_integral_value() else f"{int(cores * 1000)}m"


def _format_memory(size: Decimal) -> str:
    """A memory quantity for `size` bytes (Gi, Mi or bytes, the largest exact unit)."""
    for suffix, unit in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size % unit == 0:
            return f"{int(size // unit)}{suffix}"
    return str(int(size))


class ProtectionConfig(_Model):
    """Protection of stateful resources against deletion."""

    stateful_resources: StrictBool | None = None
    """Set `protect` and `retainOnDelete` on keys, buckets, registries, log stores and volumes. Preset: on in prod."""

    @model_validator(mode="after")
    def _on_in_prod(self, info: ValidationInfo) -> Self:
        context = _context(info)
        if context and context.environment == "prod" and self.stateful_resources is False:
            issues = _Issues()
            issues.add(("statefulResources",), "prod protects stateful resources; remove this override")
            issues.raise_if_any()
        return self


class ComplianceConfig(_Model):
    """Compliance profiles and the limits they enforce at config time (the policy packs check the result)."""

    admission: Literal["deny", "warn", "off"] | None = None
    """The Kubernetes baseline rules CEL can express, enforced at admission as ValidatingAdmissionPolicies (the same
    rules as the pack, so a `kubectl apply` cannot sidestep them): `deny` refuses a violating object, `warn` admits it
    with a warning and an audit annotation, `off` installs none. Preset: deny in prod, warn elsewhere."""

    profiles: list[ComplianceProfile] = []
    """Profiles to enforce: gdpr, hipaa."""
    allowed_regions: list[str] = list(EU_AWS_REGIONS)
    """AWS regions personal data may be stored in (gdpr). Defaults to the EU regions."""
    allowed_locations: list[str] = list(EU_AZURE_LOCATIONS)
    """Azure locations personal data may be stored in (gdpr). Defaults to the EU locations."""
    max_retention_days: dict[DataClassification, int] = dict(DEFAULT_MAX_RETENTION_DAYS)  # type: ignore[arg-type]
    """Retention ceiling per data classification in days (gdpr storage limitation)."""
    min_log_retention_days: int = Field(DEFAULT_MIN_LOG_RETENTION_DAYS, ge=1)
    """Shortest retention for audit logs. Defaults to 90."""
    max_log_retention_days: int = Field(DEFAULT_MAX_LOG_RETENTION_DAYS, ge=1)
    """Longest retention for logs (gdpr). Defaults to 2192 (6 years, the HIPAA documentation period)."""

    @field_validator("max_retention_days")
    @classmethod
    def _over_the_defaults(cls, ceilings: dict[DataClassification, int]) -> dict[DataClassification, int]:
        # A ceiling written for one classification keeps the defaults of the others: `{confidential: 300}` must not
        # lift the ceiling of pii or phi data.
        for classification, days in ceilings.items():
            if days < 1:
                raise ValueError(f"{classification}: must be at least 1 day (got {days})")
        return {**DEFAULT_MAX_RETENTION_DAYS, **ceilings}  # type: ignore[dict-item]

    @field_validator("allowed_locations")
    @classmethod
    def _normalize(cls, locations: list[str]) -> list[str]:
        return [normalize_azure_location(location) for location in locations]


class GovernanceConfig(_Model):
    """Record-of-processing metadata (GDPR Art. 30) carried as tags on every data store."""

    data_owner: str = "platform-team"
    """Team accountable for the data. Defaults to platform-team."""
    processing_activity: str = "ml-training-and-serving"
    """Record-of-processing activity ID. Defaults to ml-training-and-serving."""
    tags: dict[str, str] = {}
    """Extra tags for every cloud resource."""

    @field_validator("data_owner", "processing_activity")
    @classmethod
    def _tag_value(cls, value: str) -> str:
        problem = _tag_value_problem(value)
        if problem:
            raise ValueError(problem)
        if not value:
            raise ValueError("must not be empty (it is the value of a record-of-processing tag)")
        return value

    @model_validator(mode="after")
    def _tags(self, info: ValidationInfo) -> Self:
        issues = _Issues()
        context = _context(info)
        cloud = context.cloud if context else None
        key_max = AZURE_TAG_KEY_MAX if cloud == "azure" else AWS_TAG_KEY_MAX
        for key, value in self.tags.items():
            path = ("tags", key)
            lowered = key.lower()
            if not key:
                issues.add(path, "a tag key must not be empty")
            elif len(key) > key_max:
                issues.add(path, f"tag key is {len(key)} characters; the limit is {key_max} ({_TAG_LIMITS_SOURCE})")
            elif not _TAG_CHARSET.fullmatch(key):
                issues.add(path, f"{key!r} is not a tag key: {_TAG_CHARSET_TEXT}")
            elif lowered.startswith("aws:"):
                issues.add(path, "the aws: prefix is reserved for AWS's own tags; AWS refuses it")
            elif any(lowered.startswith(prefix) for prefix in AZURE_RESERVED_TAG_PREFIXES):
                issues.add(path, "the microsoft, azure and windows prefixes are reserved for Azure's own tags")
            elif key in PLATFORM_TAG_KEYS:
                issues.add(path, f"'{key}' is a tag the platform sets; use governance.dataOwner/processingActivity")
            problem = _tag_value_problem(value)
            if problem:
                issues.add(path, problem)
        if len(self.tags) > MAX_EXTRA_TAGS:
            issues.add(
                ("tags",),
                f"{len(self.tags)} tags; at most {MAX_EXTRA_TAGS} fit beside the platform's own (a resource carries "
                f"at most {TAG_COUNT_MAX} tags on AWS and Azure, and an EKS GPU node group already has "
                f"{TAG_COUNT_MAX - MAX_EXTRA_TAGS} platform, data and autoscaler tags)",
            )
        issues.raise_if_any()
        return self


AWS_TAG_KEY_MAX = 128
"""AWS: a tag key is 1-128 Unicode characters (Tagging AWS resources, *Tag naming limits and requirements*)."""
AWS_TAG_VALUE_MAX = 256
"""AWS: a tag value is 0-256 Unicode characters."""
AZURE_TAG_KEY_MAX = 512
"""Azure: a tag name is at most 512 characters (Azure Resource Manager, *Use tags to organize your Azure resources*,
Limitations). Storage accounts allow 128: the platform's own keys are shorter."""
AZURE_TAG_VALUE_MAX = 256
"""Azure: a tag value is at most 256 characters."""
TAG_COUNT_MAX = 50
"""Both clouds: at most 50 tags on a resource (AWS user-defined tags; Azure tag name/value pairs)."""
MAX_EXTRA_TAGS = 30
"""governance.tags that fit: 50 minus 5 platform tags, 2 data-store tags and up to 13 cluster-autoscaler
node-template tags on an EKS GPU node group (AWS review m3)."""
AZURE_RESERVED_TAG_PREFIXES = ("microsoft", "azure", "windows")
PLATFORM_TAG_KEYS = frozenset(
    {
        "environment",
        "platform-stack",
        "managed-by",
        "data-owner",
        "processing-activity",
        "data-classification",
        "retention",
    }
)
_TAG_LIMITS_SOURCE = "AWS: key 128, value 256; Azure: name 512, value 256"
_TAG_CHARSET = re.compile(r"[\w .:/=+@-]*")
"""AWS's tag charset (letters, digits, spaces and `_ . : / = + - @`), which Azure also accepts: no newlines and no
shell metacharacters."""
_TAG_CHARSET_TEXT = "use letters, digits, spaces and _ . : / = + - @ only (the AWS tag charset)"


def _tag_value_problem(value: str) -> str | None:
    """Why `value` cannot be a tag value on AWS or Azure, or None."""
    if len(value) > AWS_TAG_VALUE_MAX:
        return f"tag value is {len(value)} characters; the limit is {AWS_TAG_VALUE_MAX} ({_TAG_LIMITS_SOURCE})"
    if not _TAG_CHARSET.fullmatch(value) or any(not character.isprintable() for character in value):
        return f"{value!r} is not a tag value: {_TAG_CHARSET_TEXT}"
    return None


# --- Deployment topology --------------------------------------------------------------------------------


class DeployerNetworkConfig(_Model):
    """The network `pulumi up` of the Kubernetes layer runs from when the API server is private (a self-hosted CI
    runner, a bastion, a VPN): it gets HTTPS to the API server and nothing else."""

    cidrs: list[ipaddress.IPv4Network] = []
    """Private address ranges of the deployer (e.g. the runner subnet); each gets TCP 443 to the API server
    (EKS cluster security group rule; AKS API-server subnet NSG rule). Never 0.0.0.0/0."""
    security_group_ids: list[str] = []
    """AWS only: security groups of the deployer (in this VPC or a peered one); each gets TCP 443 to the API
    server."""
    transit_gateway_id: str | None = None
    """AWS only: the transit gateway the deployer's network is attached to. The VPC's private subnets are attached
    and every private route table routes `cidrs` to it, so replies find their way back."""
    virtual_network_ids: list[str] = []
    """Azure only: resource IDs of the deployer's virtual networks (e.g. a hub with the runners). Each gets this
    VNet's side of a peering and a link to the cluster's private DNS zone, so the API server's name resolves there;
    the remote side of the peering belongs to that network's owner."""
    link_private_dns_zones: StrictBool = True
    """Azure only: also link the platform's private DNS zones (Key Vault, registry, blob) to `virtualNetworkIds`, so
    a runner there can push images and upload models through the private endpoints. Set false when those networks
    already link zones of the same names (Azure allows one per name). Defaults to true."""

    @property
    def declared(self) -> bool:
        """Whether any deployer network is declared."""
        return bool(self.cidrs or self.security_group_ids or self.virtual_network_ids)


class DeployerConfig(_Model):
    """Who deploys the Kubernetes layer, from where, and how it signs in: never interactively."""

    principal: str | None = None
    """The identity that runs the Kubernetes layer's `pulumi up` (the in-network CI runner's): an IAM role ARN (AWS)
    or an Entra object ID (Azure). It gets cluster-admin (EKS access entry / AKS RBAC Cluster Admin), and stays the
    same whoever runs the foundation. Defaults to none: in dev, the identity running `pulumi up` gets it when
    `cluster.deployerAdminAccess` is on; staging and prod require it."""
    principal_type: Literal["ServicePrincipal", "User", "Group"] | None = None
    """Azure only: what the deployer is (Azure refuses a role assignment of the wrong type). Defaults to
    ServicePrincipal with `principal` (a CI or runner identity), and to User without it: in dev, the person who runs
    `pulumi up` after `az login` (set ServicePrincipal when that is CI)."""

    @property
    def azure_principal_type(self) -> str:
        """The principal type of the deployer's Azure role assignments, with the defaults above."""
        return self.principal_type or ("ServicePrincipal" if self.principal else "User")

    kubelogin: Literal["azurecli", "workloadidentity", "spn", "msi"] | None = None
    """Azure only: how kubelogin signs the deployer in, never with a device code: `azurecli` (after `az login` or
    the `azure/login` action), `workloadidentity` (federated token in the environment), `spn` (client secret in
    the environment) or `msi` (the runner VM's managed identity). Defaults to azurecli."""
    runner_label: str | None = None
    """The self-hosted CI runner label of the in-network deployer; `python -m stacks topology` gives it to the
    workflow. Defaults to none (the stack is not deployed from CI inside the network)."""
    network: DeployerNetworkConfig = DeployerNetworkConfig()
    """Where the deployer runs, when the API server is private."""

    @field_validator("runner_label")
    @classmethod
    def _label(cls, label: str | None) -> str | None:
        if label is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", label):
            raise ValueError(f"'{label}' is not a runner label (letters, digits, '-', '_', '.')")
        return label


class DeploymentConfig(_Model):
    """Where each layer of the platform is deployed from. README *Deployment topology* explains the choices."""

    kubernetes_layer: Literal["thisStack", "clusterStack"] = "thisStack"
    """`thisStack`: this stack also installs the Kubernetes layer, so `pulumi up` must reach the API server (a
    public endpoint limited to `publicAccessCidrs`, or a deployer inside the network). `clusterStack`: this stack
    is the foundation (cloud resources only); a cluster-layer stack (`target.cloud: kubernetes` with `foundation`)
    installs the layer from inside the network. Defaults to thisStack."""
    create_service_linked_roles: StrictBool = False
    """AWS only: create the EC2 Auto Scaling service-linked role, which the cluster key policy names, for a fresh
    account that has none yet (creating it fails where it exists; `python -m stacks preflight` tells). Defaults to
    false."""
    deployer: DeployerConfig = DeployerConfig()
    """The deployer of the Kubernetes layer."""


# --- The whole platform ---------------------------------------------------------------------------------


class PlatformConfig(_Model):
    """The `mlplatform:platform` stack configuration."""

    environment: Environment
    """dev, staging or prod; selects the presets in `ENVIRONMENT_PRESETS` and the prod invariants."""
    target: Target
    """Where the platform runs: `cloud: aws | azure | kubernetes`."""
    compliance: ComplianceConfig = ComplianceConfig()
    """Compliance profiles and their limits."""
    governance: GovernanceConfig = GovernanceConfig()
    """Ownership and record-of-processing tags."""
    network: NetworkConfig = NetworkConfig()
    """VPC / VNet."""
    cluster: ClusterConfig = ClusterConfig()
    """Kubernetes cluster and node pools."""
    registry: RegistryConfig = RegistryConfig()
    """Container registry."""
    storage: StorageConfig = StorageConfig()
    """Data stores."""
    monitoring: MonitoringConfig = MonitoringConfig()
    """Prometheus, Alertmanager, Grafana."""
    logging: LoggingConfig = LoggingConfig()
    """Log retention and ELK."""
    serving: ServingConfig = ServingConfig()
    """Model-serving namespaces."""
    training: TrainingConfig = TrainingConfig()
    """Training namespaces and their GPU queues."""
    protection: ProtectionConfig = ProtectionConfig()
    """Deletion protection."""
    deployment: DeploymentConfig = DeploymentConfig()
    """Deployment topology: which stack installs the Kubernetes layer, and who deploys it from where."""

    @property
    def cloud(self) -> Literal["aws", "azure", "kubernetes"]:
        """The target cloud."""
        return self.target.cloud

    @property
    def identity_cloud(self) -> Literal["aws", "azure"] | None:
        """The cloud whose identities the cluster uses: the target's, or a cluster-layer stack's foundation's."""
        if isinstance(self.target, KubernetesTarget):
            return self.target.foundation.cloud if self.target.foundation else None
        return self.target.cloud

    @property
    def foundation(self) -> FoundationConfig | None:
        """The foundation stack of a cluster-layer stack; None for every other stack."""
        return self.target.foundation if isinstance(self.target, KubernetesTarget) else None

    @property
    def protect(self) -> bool:
        """Whether stateful resources carry `protect` and `retainOnDelete`."""
        return bool(self.protection.stateful_resources)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        """Validate a parsed `mlplatform:platform` value, running every cross-field check in one pass.

        Raises:
            pydantic.ValidationError: every problem, each with its location.
        """
        return cls.model_validate(data, context=_pre_parse(data))

    @model_validator(mode="after")
    def _apply_presets(self) -> Self:
        preset = ENVIRONMENT_PRESETS[self.environment]
        target = self.target
        if isinstance(target, AwsTarget | AzureTarget) and target.zones is None:
            target.zones = _default_zones(target, self.environment)
        if self.network.nat_gateways is None:
            self.network.nat_gateways = preset["nat_gateways"]
        if self.cluster.control_plane_logs is None:
            self.cluster.control_plane_logs = list(preset["control_plane_logs"])
        if self.cluster.system_pool.instance_types is None and self.cloud in DEFAULT_SYSTEM_INSTANCE_TYPES:
            self.cluster.system_pool.instance_types = list(DEFAULT_SYSTEM_INSTANCE_TYPES[self.cloud])
        platform_pool = self.cluster.platform_pool
        if platform_pool.instance_types is None and self.cloud in preset["platform_instance_types"]:
            platform_pool.instance_types = list(preset["platform_instance_types"][self.cloud])
        if platform_pool.min_size_per_zone is None:
            platform_pool.min_size_per_zone = preset["platform_min_size_per_zone"]
        if platform_pool.max_size_per_zone is None:
            platform_pool.max_size_per_zone = max(preset["platform_max_size_per_zone"], platform_pool.min_size_per_zone)
        for pool in self.cluster.gpu_pools:
            if pool.capacity_type is None:
                pool.capacity_type = preset["gpu_capacity_type"]
            if pool.os_family is None:
                pool.os_family = "ubuntu" if self.cloud == "azure" else "al2023"
        if self.logging.elk.nodes is None:
            self.logging.elk.nodes = preset["elasticsearch_nodes"]
        if self.protection.stateful_resources is None:
            self.protection.stateful_resources = preset["protect_stateful_resources"]
        if self.compliance.admission is None:
            self.compliance.admission = "deny" if self.environment == "prod" else "warn"
        tracking = self.training.tracking
        if tracking.enabled is None:
            tracking.enabled = bool(self.training.namespaces) and self.identity_cloud is not None
        if tracking.database.high_availability is None:
            tracking.database.high_availability = self.environment == "prod"
        return self

    @model_validator(mode="after")
    def _autoscaling_rules(self) -> Self:
        """Pool autoscaling settings that depend on the presets (a spot fallback needs a spot pool)."""
        issues = _Issues()
        if self.serving.autoscaling.enabled and not self.monitoring.enabled:
            issues.add(
                ("serving", "autoscaling", "enabled"),
                "KEDA scales model servers on Prometheus metrics; enable monitoring or set serving.autoscaling."
                "enabled: false",
            )
        if self.serving.autoscaling.metrics_server and self.cloud == "azure":
            issues.add(
                ("serving", "autoscaling", "metricsServer"),
                "AKS runs its own metrics-server; a second one would fight it for the metrics.k8s.io API",
            )
        for index, pool in enumerate(self.cluster.gpu_pools):
            if self.cloud == "aws" and pool.desired_size is not None and pool.desired_size != pool.min_size:
                issues.add(
                    ("cluster", "gpuPools", index, "desiredSize"),
                    "EKS keeps minSize nodes in a fixed node group and Karpenter adds the rest when pods wait; "
                    "remove desiredSize",
                )
            if self.cloud != "azure" and pool.name == pools.PLATFORM_POOL_NAME:
                issues.add(
                    ("cluster", "gpuPools", index, "name"),
                    f"'{pool.name}' names the platform pool's Karpenter NodePool; choose another name",
                )
        for index, pool in enumerate(self.cluster.gpu_pools):
            if pool.on_demand_fallback and pool.capacity_type != "spot":
                issues.add(
                    ("cluster", "gpuPools", index, "onDemandFallback"),
                    f"is for spot pools; this pool is {pool.capacity_type} (set capacityType: spot, or remove it)",
                )
        issues.raise_if_any()
        return self

    @model_validator(mode="after")
    def _training_rules(self) -> Self:
        """Training namespaces against the rest of the stack: their pools exist and hold the GPUs promised, their
        buckets exist, their names are free. (A cluster-layer stack's pools are the foundation's: checked against
        the foundation's file by `foundation_mismatches`.)"""
        issues = _Issues()
        training = self.training
        tracking = training.tracking
        if tracking.enabled:
            if self.identity_cloud is None:
                issues.add(
                    ("training", "tracking", "enabled"),
                    "experiment tracking needs a managed PostgreSQL, which an existing cluster does not have; "
                    "set enabled: false",
                )
            if self.cloud == "azure" and tracking.database.entra_administrator is None:
                issues.add(
                    ("training", "tracking", "database", "entraAdministrator"),
                    "required on Azure: the Entra group (objectId, name) that administers the database",
                )
            if tracking.namespace in {n.name for n in [*training.namespaces, *self.serving.namespaces]}:
                issues.add(("training", "tracking", "namespace"), f"'{tracking.namespace}' is a team namespace")
            if self.identity_cloud is not None and training.artifacts_bucket not in [
                b.name for b in self.storage.buckets
            ]:
                issues.add(
                    ("training", "artifactsBucket"),
                    f"'{training.artifacts_bucket}' is not in storage.buckets: the tracking server stores artifacts there",
                )
        if self.identity_cloud == "aws" and tracking.database.sku_name:
            issues.add(("training", "tracking", "database", "skuName"), "Azure only; use instanceClass on AWS")
        if self.identity_cloud == "azure" and tracking.database.instance_class:
            issues.add(("training", "tracking", "database", "instanceClass"), "AWS only; use skuName on Azure")
        if not training.namespaces:
            issues.raise_if_any()
            return self
        base = ("training", "namespaces")
        taken = {namespace.name: "serving.namespaces" for namespace in self.serving.namespaces}
        taken[self.serving.ingress_namespace] = "serving.ingressNamespace"
        installs_layer = self.foundation is not None or self.cloud == "kubernetes"
        installs_layer = installs_layer or self.deployment.kubernetes_layer == "thisStack"
        for index, namespace in enumerate(training.namespaces):
            if installs_layer and not namespace.quotas:
                issues.add(
                    (*base, index, "quotas"),
                    "required: the team's GPU quota on at least one pool, e.g. "
                    "[{pool: <gpu pool>, gpus: 8, cpu: '96', memory: 1000Gi}]",
                )
            if namespace.name in taken:
                issues.add((*base, index, "name"), f"'{namespace.name}' is already used by {taken[namespace.name]}")
            for position, repository in enumerate(namespace.image_repositories):
                if repository not in self.registry.repositories:
                    issues.add(
                        (*base, index, "imageRepositories", position),
                        f"'{repository}' is not in registry.repositories ({', '.join(self.registry.repositories)})",
                    )
            if self.identity_cloud != "aws" and namespace.team_principals:
                issues.add((*base, index, "teamPrincipals"), "AWS only: on Azure `teamGroup` is the Entra group")
        bucket_names = [bucket.name for bucket in self.storage.buckets]
        if self.identity_cloud is not None:
            for key, name in (
                ("datasetsBucket", training.datasets_bucket),
                ("artifactsBucket", training.artifacts_bucket),
            ):
                if name not in bucket_names:
                    issues.add(
                        ("training", key),
                        f"'{name}' is not in storage.buckets ({', '.join(bucket_names)}); add it or name another",
                    )
        if self.foundation is None and self.cloud in ("aws", "azure"):
            check_training_pools(training, self.cluster.gpu_pools, self.cloud, issues, "cluster.gpuPools")
        issues.raise_if_any()
        return self

    @model_validator(mode="after")
    def _cluster_network(self) -> Self:
        """What the cluster components refuse for a value from the stack file, refused here with the stack key."""
        issues = _Issues()
        if self.cloud == "azure":
            for name, cidr in AKS_CLUSTER_RANGES.items():
                if self.network.cidr.overlaps(cidr):
                    issues.add(
                        ("network", "cidr"),
                        f"{self.network.cidr} overlaps the AKS {name} range ({cidr}); choose a range outside "
                        f"{', '.join(str(c) for c in AKS_CLUSTER_RANGES.values())}",
                    )
        issues.raise_if_any()
        return self

    @model_validator(mode="after")
    def _effective_limits(self) -> Self:
        """The compliance limits, checked on the effective configuration: the values the stack deploys, whether the
        file wrote them or left them to the defaults and presets (a nested model's validator never runs on a
        default, so a limit set in `compliance` must be checked here against `logging` and `storage`)."""
        issues = _Issues()
        _check_compliance_limits(self, issues)
        issues.raise_if_any()
        return self

    @model_validator(mode="after")
    def _deployment_topology(self) -> Self:
        """Refuse the combinations of endpoint, layer placement and deployer that cannot be deployed."""
        issues = _Issues()
        target = self.target
        if isinstance(target, KubernetesTarget):
            _check_cluster_layer(self, target, issues)
        else:
            _check_foundation_topology(self, issues)
            _check_principals(self, issues)
        issues.raise_if_any()
        return self

    def placeholders(self) -> list[tuple[str, str]]:
        """Values that are documentation examples, not real: `(stack key, what to put there)`.

        The shipped stack files use them so that everything works offline; a real `pulumi up` refuses them
        (`stacks/load.py`) before anything reaches the cloud.
        """
        found: list[tuple[str, str]] = []
        principal_hint = (
            "the IAM role ARN of your account's role (`aws iam get-role --role-name <name>`)"
            if self.identity_cloud == "aws"
            else "the Entra object ID (`az ad group show -g <name> --query id`, `az ad sp show --id <app> --query id`)"
        )
        for index, principal in enumerate(self.cluster.admin_principals):
            if _is_placeholder_principal(principal):
                found.append((f"cluster.adminPrincipals[{index}]", principal_hint))
        deployer = self.deployment.deployer
        if deployer.principal and _is_placeholder_principal(deployer.principal):
            found.append(("deployment.deployer.principal", principal_hint))
        for index, namespace in enumerate(self.serving.namespaces):
            for position, principal in enumerate(namespace.team_principals):
                if _is_placeholder_principal(principal):
                    found.append((f"serving.namespaces[{index}].teamPrincipals[{position}]", principal_hint))
            if self.identity_cloud == "azure" and _is_placeholder_principal(namespace.team_group):
                found.append((f"serving.namespaces[{index}].teamGroup", principal_hint))
        cidr_hint = "the real network (e.g. your VPN egress /32 or the runner subnet)"
        for index, cidr in enumerate(self.cluster.endpoint.public_access_cidrs):
            if any(cidr.subnet_of(example) for example in _DOCUMENTATION_NETWORKS):
                found.append((f"cluster.endpoint.publicAccessCidrs[{index}]", cidr_hint))
        for index, cidr in enumerate(deployer.network.cidrs):
            if any(cidr.subnet_of(example) for example in _DOCUMENTATION_NETWORKS):
                found.append((f"deployment.deployer.network.cidrs[{index}]", cidr_hint))
        for index, group in enumerate(deployer.network.security_group_ids):
            if group in _EXAMPLE_RESOURCE_IDS:
                found.append((f"deployment.deployer.network.securityGroupIds[{index}]", "the runner's security group"))
        if deployer.network.transit_gateway_id in _EXAMPLE_RESOURCE_IDS:
            found.append(("deployment.deployer.network.transitGatewayId", "your transit gateway's ID"))
        for index, vnet in enumerate(deployer.network.virtual_network_ids):
            match = _VNET_ID.fullmatch(vnet)
            if match and _is_placeholder_principal(match["subscription"]):
                found.append((f"deployment.deployer.network.virtualNetworkIds[{index}]", "the runner VNet's ID"))
        return found


_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.IPv4Network(network) for network in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
"""RFC 5737's documentation ranges: an address here is an example in a stack file, never a real network."""
_EXAMPLE_ACCOUNTS = frozenset({"123456789012", "111122223333", "444455556666", "777788889999"})
"""The account IDs AWS documentation uses in examples."""
_EXAMPLE_RESOURCE_IDS = frozenset({"sg-0123456789abcdef0", "sg-12345678", "tgw-0123456789abcdef0", "tgw-12345678"})
"""Resource IDs AWS documentation uses in examples."""


def _is_placeholder_principal(value: str) -> bool:
    """An example AWS account's ARN, or a GUID made of one repeated digit (00000000-..., 11111111-...)."""
    arn = _IAM_PRINCIPAL_ARN.fullmatch(value)
    if arn:
        return arn["account"] in _EXAMPLE_ACCOUNTS
    return bool(_GUID.fullmatch(value)) and len(set(value.replace("-", "").lower())) == 1


_PRIVATE_NETWORKS = tuple(
    ipaddress.IPv4Network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""RFC 1918 and the RFC 6598 shared address space: where a deployer reaching a private endpoint lives."""


def _private_network(cidr: ipaddress.IPv4Network) -> bool:
    return any(cidr.subnet_of(network) for network in _PRIVATE_NETWORKS)


def foundation_mismatches(foundation: PlatformConfig, layer: PlatformConfig, foundation_file: str) -> list[str]:
    """What a cluster-layer stack says differently from the foundation stack it reads: each as `key: message`.

    The two files share the sections both stacks act on: the environment and compliance profiles (policies),
    governance and storage (the namespaces' record-of-processing labels), and the serving namespaces and their
    team groups (identities in one stack, namespaces in the other).
    """
    problems: list[str] = []
    reference = layer.foundation
    assert reference is not None
    if foundation.cloud != reference.cloud:
        problems.append(f"target.foundation.cloud: {reference.cloud}, but {foundation_file} is on {foundation.cloud}")
    if foundation.deployment.kubernetes_layer != "clusterStack":
        problems.append(
            f"target.foundation: {foundation_file} installs its Kubernetes layer itself; set "
            "deployment.kubernetesLayer: clusterStack there"
        )
    if reference.gpu_pools != bool(foundation.cluster.gpu_pools):
        problems.append(
            f"target.foundation.gpuPools: {str(reference.gpu_pools).lower()}, but {foundation_file} has "
            f"{len(foundation.cluster.gpu_pools)} GPU pool(s)"
        )
    shared = {
        "environment": (foundation.environment, layer.environment),
        "compliance.profiles": (sorted(foundation.compliance.profiles), sorted(layer.compliance.profiles)),
        "governance": (foundation.governance.model_dump(), layer.governance.model_dump()),
        "storage": (foundation.storage.model_dump(), layer.storage.model_dump()),
        "serving.namespaces": (
            [(namespace.name, namespace.team_group, namespace.secrets) for namespace in foundation.serving.namespaces],
            [(namespace.name, namespace.team_group, namespace.secrets) for namespace in layer.serving.namespaces],
        ),
        # The foundation grants each identity its secrets' prefix; the layer names them in the provider classes.
        "serving.secrets": (foundation.serving.secrets.model_dump(), layer.serving.secrets.model_dump()),
        # Identities (and AKS/EKS team access) in the foundation, namespaces and queues in the layer.
        "training.namespaces": (
            [(n.name, n.team_group) for n in foundation.training.namespaces],
            [(n.name, n.team_group) for n in layer.training.namespaces],
        ),
        "training.datasetsBucket": (foundation.training.datasets_bucket, layer.training.datasets_bucket),
        # The database and identity in the foundation, the server in the layer.
        "training.tracking.enabled": (foundation.training.tracking.enabled, layer.training.tracking.enabled),
        "training.tracking.namespace": (foundation.training.tracking.namespace, layer.training.tracking.namespace),
        "training.artifactsBucket": (foundation.training.artifacts_bucket, layer.training.artifacts_bucket),
    }
    for key, (theirs, ours) in shared.items():
        if theirs != ours:
            problems.append(f"{key}: differs from {foundation_file} ({_brief(ours)} here, {_brief(theirs)} there)")
    # The layer's queues are on the foundation's pools: each quota names one of them and fits it.
    issues = _Issues()
    if foundation.cloud in ("aws", "azure"):
        check_training_pools(
            layer.training,
            foundation.cluster.gpu_pools,
            foundation.cloud,
            issues,
            f"{foundation_file} cluster.gpuPools",
        )
    problems.extend(f"{'.'.join(str(part) for part in loc)}: {message}" for loc, message in issues.items)
    return problems


def _brief(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _check_foundation_topology(config: PlatformConfig, issues: _Issues) -> None:
    """A cluster the platform creates: can the Kubernetes layer be reached from where it is deployed?"""
    deployment = config.deployment
    deployer = deployment.deployer
    network = deployer.network
    private = not config.cluster.endpoint.public_access
    base = ("deployment",)
    if private and deployment.kubernetes_layer == "thisStack" and not network.declared:
        dev_option = (
            ", or (dev only) cluster.endpoint.publicAccess: true with publicAccessCidrs limited to your VPN"
            if config.environment == "dev"
            else ""
        )
        issues.add(
            (*base, "kubernetesLayer"),
            "the API server is private (cluster.endpoint.publicAccess is false), so the Kubernetes layer this stack "
            "installs can only be deployed from inside the network, and no deployer network is declared: set "
            "deployment.kubernetesLayer: clusterStack and install the layer from a cluster-layer stack run inside "
            "the network (README, *Deployment topology*), or declare the network `pulumi up` runs in under "
            f"deployment.deployer.network (cidrs, securityGroupIds or virtualNetworkIds){dev_option}",
        )
    if deployment.kubernetes_layer == "clusterStack" and private and not network.declared:
        issues.add(
            (*base, "deployer", "network"),
            "required with kubernetesLayer: clusterStack on a private cluster: the network of the in-network runner "
            "that deploys the cluster-layer stack (cidrs, securityGroupIds or virtualNetworkIds), given HTTPS to the "
            "API server",
        )
    if config.cluster.deployer_admin_access and deployer.principal is None:
        if deployment.kubernetes_layer == "clusterStack":
            issues.add(
                (*base, "deployer", "principal"),
                "required with kubernetesLayer: clusterStack: the identity of the in-network runner that deploys "
                "the cluster-layer stack (it gets cluster-admin); or set cluster.deployerAdminAccess: false when "
                "that identity is one of cluster.adminPrincipals",
            )
        elif config.environment != "dev":
            issues.add(
                (*base, "deployer", "principal"),
                f"{config.environment} gives cluster-admin to a configured, stable principal (the CI role), not to "
                "whoever runs `pulumi up` last: set deployment.deployer.principal, or cluster.deployerAdminAccess: "
                "false when the deployer is one of cluster.adminPrincipals",
            )
    for index, cidr in enumerate(network.cidrs):
        if cidr.prefixlen == 0 or not _private_network(cidr):
            issues.add(
                (*base, "deployer", "network", "cidrs", index),
                f"{cidr} is not a private range: a private API server only sees private sources (RFC 1918 or "
                "100.64.0.0/10); list the runner's subnet",
            )
        elif (network.transit_gateway_id or network.virtual_network_ids) and cidr.overlaps(config.network.cidr):
            issues.add(
                (*base, "deployer", "network", "cidrs", index),
                f"{cidr} overlaps network.cidr ({config.network.cidr}): a peered or routed network needs its own range",
            )
    aws_only = {"securityGroupIds": network.security_group_ids, "transitGatewayId": network.transit_gateway_id}
    azure_only = {
        "virtualNetworkIds": network.virtual_network_ids,
        "linkPrivateDnsZones": "link_private_dns_zones" in network.model_fields_set,
    }
    wrong_cloud = azure_only if config.cloud == "aws" else aws_only
    for key, value in wrong_cloud.items():
        if value:
            issues.add((*base, "deployer", "network", key), f"not used on {config.cloud}; remove it")
    if config.cloud == "aws":
        if deployer.kubelogin is not None:
            issues.add((*base, "deployer", "kubelogin"), "Azure only (EKS signs in with `aws eks get-token`)")
        if "principal_type" in deployer.model_fields_set:
            issues.add((*base, "deployer", "principalType"), "Azure only; remove it")
        for index, group in enumerate(network.security_group_ids):
            if not _SECURITY_GROUP_ID.fullmatch(group):
                issues.add(
                    (*base, "deployer", "network", "securityGroupIds", index), f"'{group}' is not a security group ID"
                )
        if network.transit_gateway_id is not None:
            if not _TRANSIT_GATEWAY_ID.fullmatch(network.transit_gateway_id):
                issues.add(
                    (*base, "deployer", "network", "transitGatewayId"),
                    f"'{network.transit_gateway_id}' is not a transit gateway ID (tgw-...)",
                )
            if not network.cidrs:
                issues.add(
                    (*base, "deployer", "network", "cidrs"),
                    "required with transitGatewayId: the ranges to route to the transit gateway",
                )
    else:
        if deployment.create_service_linked_roles:
            issues.add((*base, "createServiceLinkedRoles"), "AWS only; remove it")
        for index, vnet in enumerate(network.virtual_network_ids):
            if not _VNET_ID.fullmatch(vnet):
                issues.add(
                    (*base, "deployer", "network", "virtualNetworkIds", index),
                    f"'{vnet}' is not a virtual network resource ID (/subscriptions/<id>/resourceGroups/<group>/"
                    "providers/Microsoft.Network/virtualNetworks/<name>)",
                )


def _check_compliance_limits(config: PlatformConfig, issues: _Issues) -> None:
    """Retention limits of `compliance` against the retentions the stack deploys, defaults included."""
    compliance = config.compliance
    explicit_logging = "retention_days" in config.logging.model_fields_set
    default_note = "" if explicit_logging else " (the default; set logging.retentionDays)"
    if compliance.min_log_retention_days > compliance.max_log_retention_days:
        issues.add(
            ("compliance", "minLogRetentionDays"),
            f"{compliance.min_log_retention_days} is above compliance.maxLogRetentionDays "
            f"({compliance.max_log_retention_days}): no retention can satisfy both",
        )
        return
    if not compliance.profiles:
        return
    retention = config.logging.retention_days
    if retention < compliance.min_log_retention_days:
        issues.add(
            ("logging", "retentionDays"),
            f"{retention}{default_note} is below compliance.minLogRetentionDays ({compliance.min_log_retention_days}) "
            "for audit logs",
        )
    if "gdpr" not in compliance.profiles:
        return
    elk_note = "" if "retention_days" in config.logging.elk.model_fields_set else " (the default)"
    for path, days, note in (
        (("logging", "retentionDays"), retention, default_note),
        (("logging", "elk", "retentionDays"), config.logging.elk.retention_days, elk_note),
    ):
        if days > compliance.max_log_retention_days:
            issues.add(
                path, f"{days}{note} exceeds compliance.maxLogRetentionDays ({compliance.max_log_retention_days})"
            )
    written = "buckets" in config.storage.model_fields_set
    for index, bucket in enumerate(config.storage.buckets):
        path = ("storage", "buckets", index, "retentionDays")
        ceiling = compliance.max_retention_days.get(bucket.data_classification)
        if bucket.retention_days is None:
            issues.add(path, "required by the gdpr profile (storage limitation, Art. 5(1)(e))")
        elif ceiling is not None and bucket.retention_days > ceiling:
            note = "" if written else f" (the default bucket '{bucket.name}'; list your buckets under storage.buckets)"
            issues.add(
                path,
                f"{bucket.retention_days}{note} exceeds the {ceiling}-day ceiling for {bucket.data_classification} "
                "data (compliance.maxRetentionDays)",
            )


def _check_principals(config: PlatformConfig, issues: _Issues) -> None:
    """Principal formats per cloud: IAM ARNs on AWS, Entra object IDs on Azure."""
    aws = config.cloud == "aws"
    kind = "an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)" if aws else "an Entra object ID (a GUID)"
    pattern = _IAM_PRINCIPAL_ARN if aws else _GUID
    seen: set[str] = set()
    for index, principal in enumerate(config.cluster.admin_principals):
        if not pattern.fullmatch(principal):
            issues.add(("cluster", "adminPrincipals", index), f"'{principal}' is not {kind}")
        elif principal.lower() in seen:
            issues.add(("cluster", "adminPrincipals", index), f"'{principal}' is listed twice")
        seen.add(principal.lower())
    if not aws and not config.cluster.admin_principals:
        issues.add(
            ("cluster", "adminPrincipals"),
            "required on AKS: at least one Entra group object ID (local accounts are disabled, so without one nobody "
            "administers the cluster)",
        )
    principal = config.deployment.deployer.principal
    if principal is not None and not pattern.fullmatch(principal):
        issues.add(("deployment", "deployer", "principal"), f"'{principal}' is not {kind}")
    for index, namespace in enumerate(config.serving.namespaces):
        path = ("serving", "namespaces", index)
        if not aws and not _GUID.fullmatch(namespace.team_group):
            issues.add(
                (*path, "teamGroup"),
                f"'{namespace.team_group}' is not an Entra group object ID: on AKS the team's Entra group gets the "
                "Cluster User role and the namespace RoleBinding (`az ad group show -g <name> --query id`)",
            )
        if aws and not _KUBERNETES_GROUP.fullmatch(namespace.team_group):
            issues.add(
                (*path, "teamGroup"),
                f"{namespace.team_group!r} is not a Kubernetes group name for an EKS access entry: 1-100 letters, "
                "digits and - _ . : @, not starting with system:",
            )
        if namespace.team_principals and not aws:
            issues.add((*path, "teamPrincipals"), "AWS only: on Azure, teamGroup is the Entra group itself")
        for position, team_principal in enumerate(namespace.team_principals):
            if aws and not _IAM_PRINCIPAL_ARN.fullmatch(team_principal):
                issues.add((*path, "teamPrincipals", position), f"'{team_principal}' is not {kind}")


def _check_cluster_layer(config: PlatformConfig, target: KubernetesTarget, issues: _Issues) -> None:
    """A Kubernetes-only stack: the foundation's sections and the deployer's cloud settings are not its own."""
    deployment = config.deployment
    if deployment.kubernetes_layer == "clusterStack":
        issues.add(
            ("deployment", "kubernetesLayer"),
            "a cloud: kubernetes stack is the Kubernetes layer itself; clusterStack is set on its foundation stack",
        )
    if deployment.create_service_linked_roles:
        issues.add(("deployment", "createServiceLinkedRoles"), "AWS only; set it on the foundation stack")
    deployer = deployment.deployer
    for key in ("principal", "principal_type", "kubelogin", "network"):
        if key in deployer.model_fields_set:
            issues.add(
                ("deployment", "deployer", to_camel(key)),
                "set on the foundation stack, which grants the cluster access; only runnerLabel belongs here",
            )
    for index, namespace in enumerate(config.serving.namespaces):
        if namespace.team_principals:
            issues.add(
                ("serving", "namespaces", index, "teamPrincipals"),
                "set on the foundation stack: the access entries that map them to teamGroup are cloud resources",
            )
    if target.foundation is None:
        return
    for section in ("network", "cluster", "registry"):
        if section in config.model_fields_set:
            issues.add((section,), f"belongs to the foundation stack ({target.foundation.stack}); remove it here")


def _default_zones(target: AwsTarget | AzureTarget, environment: str) -> list[str]:
    count = ENVIRONMENT_PRESETS[environment]["zone_count"]
    if isinstance(target, AwsTarget):
        return [f"{target.region}{letter}" for letter in "abc"[:count]]
    return ["1", "2", "3"][:count]


def _pre_parse(data: dict[str, Any]) -> _Context:
    """Parse the parts other checks depend on; a part that does not parse is left out (its own errors show later)."""
    environment = data.get("environment") if data.get("environment") in ENVIRONMENT_PRESETS else None
    target = compliance = None
    with contextlib.suppress(ValidationError):
        target = TypeAdapter(Target).validate_python(data.get("target"))
    with contextlib.suppress(ValidationError):
        compliance = ComplianceConfig.model_validate(data.get("compliance") or {})
    return _Context(environment=environment, target=target, compliance=compliance)


def _not_gpu_message(cloud: str, instance_type: str) -> str:
    if cloud == "aws":
        families = ", ".join(sorted(gpu.AWS_GPU_FAMILIES))
        return f"'{instance_type}' is not an NVIDIA GPU instance type; use one of the families {families}"
    return f"'{instance_type}' is not an NVIDIA GPU VM size; use an NC or ND size such as Standard_NC4as_T4_v3"
