"""Building blocks shared by the team namespaces (serving, training): network policies, quota checks, the
workload ServiceAccount bound to a cloud identity, and the team's Role and RoleBinding."""

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from components._common.validation import Problems
from components.kubernetes import _platform_policies
from components.kubernetes._checks import (
    check_choice,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
)
from components.kubernetes._namespaces import (
    NAMESPACE_NAME_LABEL,
    check_extra_labels,
    check_namespace_name,
    create_namespace,
)

IdentityKind = Literal["aws", "azure", "none"]
IDENTITY_KINDS: tuple[IdentityKind, ...] = ("aws", "azure", "none")
DEFAULT_IDENTITY_KIND: IdentityKind = "none"

DEFAULT_DENY_POLICY = "default-deny-all"
AWS_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AWS_REGIONAL_STS_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"
AZURE_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
AZURE_USE_LABEL = "azure.workload.identity/use"
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
"""Labels the Prometheus operator puts on Prometheus pods; only they may scrape a team namespace's pods."""
CPU_LIMIT_FACTOR = 2
"""CPU limits quota = this times the CPU requests quota unless given: pods may burst above their requests."""


def namespace_peer(*names: str) -> dict[str, Any]:
    """A NetworkPolicy peer selecting the namespaces called `names` (by their immutable name label)."""
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(names)}]
        }
    }


def base_network_policies(*, monitoring_namespace: str) -> dict[str, dict[str, Any]]:
    """The policies every team namespace starts from, by name, the default deny first: deny all ingress and
    egress, then DNS to kube-system, traffic among the namespace's own pods on every port, and scraping by
    Prometheus. There is deliberately no parameter that removes the default deny."""
    return {
        DEFAULT_DENY_POLICY: _platform_policies.default_deny(),
        "allow-dns": _platform_policies.dns_egress(),
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        "allow-prometheus-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            **namespace_peer(monitoring_namespace),
                            "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)},
                        }
                    ]
                }
            ],
        },
    }


def cidr_egress_policy(cidrs: Sequence[str], port: int) -> dict[str, Any]:
    """Egress to `cidrs` on TCP `port`. Callers create it only with CIDRs: an egress rule without `to` would
    allow every destination."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs], "ports": [{"protocol": "TCP", "port": port}]}
        ],
    }


def check_cidrs(problems: Problems, path: str, cidrs: object) -> None:
    """Record a problem for `cidrs` that is not a list of CIDRs, naming each bad entry by its index."""
    if not isinstance(cidrs, list):
        problems.add(path, "must be a list of CIDRs")
        return
    for index, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except (TypeError, ValueError) as error:
            problems.add(f"{path}[{index}]", f"{cidr!r} is not a CIDR such as 10.0.0.0/16: {error}")


def check_identity(problems: Problems, identity_kind: object, identity_id: object) -> None:
    """Record problems of `identityKind` / `identityId`: the ID is required for a cloud kind, refused for none."""
    check_choice(problems, "identityKind", identity_kind, IDENTITY_KINDS)
    if identity_kind in ("aws", "azure") and identity_id is None:
        what = "IAM role ARN" if identity_kind == "aws" else "managed identity client ID"
        problems.add("identityId", f"required for identityKind {identity_kind}: the {what}")
    if identity_kind == "none" and identity_id is not None:
        problems.add("identityId", "only used with identityKind aws or azure")


def check_quota(
    problems: Problems,
    args: Mapping[str, Any],
    *,
    default_gpus: int,
    default_cpu: str,
    default_memory: str,
    default_pods: int,
    max_pods: int,
) -> dict[str, str]:
    """Check a team namespace's quota arguments (`quota_gpus`, `quota_cpu`, `quota_cpu_limits`,
    `quota_memory`, `quota_memory_limits`, `quota_pods`) and return the ResourceQuota's `hard` map.

    Unset CPU limits are `CPU_LIMIT_FACTOR` times the CPU requests, unset memory limits the memory requests.
    Limits are never below requests. Paths are the camelCase argument names (`quotaCpuLimits`).
    """
    gpus = args.get("quota_gpus", default_gpus)
    cpu = args.get("quota_cpu", default_cpu)
    cpu_limits = args.get("quota_cpu_limits")
    memory = args.get("quota_memory", default_memory)
    memory_limits = args.get("quota_memory_limits")
    pods = args.get("quota_pods", default_pods)
    check_int(problems, "quotaGpus", gpus, minimum=0, maximum=1024)
    check_int(problems, "quotaPods", pods, minimum=1, maximum=max_pods)
    cpu_value = check_quantity(problems, "quotaCpu", cpu)
    memory_value = check_quantity(problems, "quotaMemory", memory)
    if cpu_limits is None and cpu_value is not None:
        cpu_limits = format_cpu(cpu_value * CPU_LIMIT_FACTOR)
    if memory_limits is None:
        memory_limits = memory
    cpu_limits_value = check_quantity(problems, "quotaCpuLimits", cpu_limits)
    memory_limits_value = check_quantity(problems, "quotaMemoryLimits", memory_limits)
    if cpu_value is not None and cpu_limits_value is not None and cpu_limits_value < cpu_value:
        problems.add("quotaCpuLimits", f"must be at least quotaCpu ({cpu}): limits are never below requests")
    if memory_value is not None and memory_limits_value is not None and memory_limits_value < memory_value:
        problems.add("quotaMemoryLimits", f"must be at least quotaMemory ({memory})")
    return {
        gpu.GPU_QUOTA_KEY: str(gpus),
        "requests.cpu": str(cpu),
        "limits.cpu": str(cpu_limits),
        "requests.memory": str(memory),
        "limits.memory": str(memory_limits),
        "pods": str(pods),
    }


def workload_service_account(
    resource_name: str,
    *,
    namespace: pulumi.Input[str],
    name: str,
    identity_kind: str,
    identity_id: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> tuple[k8s.core.v1.ServiceAccount, dict[str, str]]:
    """The ServiceAccount a team's pods run as, annotated for IRSA or Entra workload identity, and the labels
    its pods must carry for that identity to work (`azure.workload.identity/use` on Azure)."""
    annotations: dict[str, pulumi.Input[str]] = {}
    pod_labels: dict[str, str] = {}
    if identity_kind == "aws" and identity_id is not None:
        annotations[AWS_ROLE_ANNOTATION] = identity_id
        # Regional STS keeps the token exchange inside the region (and reachable via a VPC endpoint).
        annotations[AWS_REGIONAL_STS_ANNOTATION] = "true"
    elif identity_kind == "azure" and identity_id is not None:
        annotations[AZURE_CLIENT_ID_ANNOTATION] = identity_id
        pod_labels[AZURE_USE_LABEL] = "true"
    account = k8s.core.v1.ServiceAccount(
        resource_name,
        metadata={"name": name, "namespace": namespace, "annotations": annotations},
        # IRSA and workload identity mount their own projected tokens; the API token is not needed.
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return account, pod_labels


def team_role(
    resource_name: str,
    *,
    namespace: pulumi.Input[str],
    role_name: str,
    rules: Sequence[Mapping[str, Any]],
    team_group: str,
    parent: pulumi.Resource,
) -> k8s.rbac.v1.Role:
    """The team's Role in `namespace` and the RoleBinding of `team_group` to it (never cluster-wide)."""
    child = pulumi.ResourceOptions(parent=parent)
    role = k8s.rbac.v1.Role(
        f"{resource_name}-team-role",
        metadata={"name": role_name, "namespace": namespace},
        rules=[dict(rule) for rule in rules],
        opts=child,
    )
    # No ordering needed: RBAC resolves `roleRef` at each request, so the binding may come first.
    k8s.rbac.v1.RoleBinding(
        f"{resource_name}-team-binding",
        metadata={"name": role_name, "namespace": namespace},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        subjects=[{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": team_group}],
        opts=child,
    )
    return role


def format_cpu(value: Decimal) -> str:
    """A Kubernetes quantity for a CPU amount in cores (`32`, or millicores like `1500m`)."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{int(value * 1000)}m"


def check_container_defaults(
    problems: Problems, args: Mapping[str, Any], fallback: Mapping[str, str]
) -> dict[str, object]:
    """Check and return the LimitRange defaults, keyed by path (`containerCpuRequest`, `containerMemoryRequest`,
    `containerCpuLimit`, `containerMemoryLimit`), from the snake_case `args`, `fallback` (by path) for what is
    unset: quantities, limits at least the requests."""
    defaults = {path: args.get(_snake(path), fallback[path]) for path in fallback}
    parsed = {path: check_quantity(problems, path, value) for path, value in defaults.items()}
    for resource in ("Cpu", "Memory"):
        request, limit = parsed[f"container{resource}Request"], parsed[f"container{resource}Limit"]
        if request is not None and limit is not None and limit < request:
            problems.add(f"container{resource}Limit", f"must be at least container{resource}Request")
    return defaults


def _snake(path: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in path)


def container_defaults(
    resource_name: str, *, namespace: pulumi.Input[str], defaults: Mapping[str, object], parent: pulumi.Resource
) -> k8s.core.v1.LimitRange:
    """A LimitRange giving containers that set none default requests and limits: with a quota on limits, the
    API server would otherwise reject such pods. Never a default GPU (that would give every pod one)."""
    return k8s.core.v1.LimitRange(
        resource_name,
        metadata={"name": "container-defaults", "namespace": namespace},
        spec={
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {
                        "cpu": str(defaults["containerCpuRequest"]),
                        "memory": str(defaults["containerMemoryRequest"]),
                    },
                    "default": {
                        "cpu": str(defaults["containerCpuLimit"]),
                        "memory": str(defaults["containerMemoryLimit"]),
                    },
                }
            ]
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class TeamNamespaceDefaults:
    """What a kind of team namespace (serving, training) assumes when an argument is unset."""

    service_account: str
    monitoring_namespace: str
    quota_gpus: int
    quota_cpu: str
    quota_memory: str
    quota_pods: int
    max_pods: int
    container_cpu_request: str
    container_memory_request: str
    container_cpu_limit: str
    container_memory_limit: str

    def container(self) -> dict[str, str]:
        """The LimitRange defaults by argument path."""
        return {
            "containerCpuRequest": self.container_cpu_request,
            "containerMemoryRequest": self.container_memory_request,
            "containerCpuLimit": self.container_cpu_limit,
            "containerMemoryLimit": self.container_memory_limit,
        }


@dataclass(frozen=True)
class TeamNamespaceSettings:
    """The arguments every team namespace shares, read with their defaults (valid once the checks passed)."""

    namespace: str
    team_group: str
    monitoring_namespace: str
    identity_kind: str
    identity_id: pulumi.Input[str] | None
    service_account: str
    namespace_labels: Mapping[str, str]
    quota: Mapping[str, str]
    container: Mapping[str, object]


def check_team_namespace(
    problems: Problems, args: Mapping[str, Any], arg_type: type, defaults: TeamNamespaceDefaults
) -> TeamNamespaceSettings:
    """Check the arguments every team namespace shares (unknown keys against `arg_type` included) and read them."""
    settings = TeamNamespaceSettings(
        namespace=args.get("namespace"),  # type: ignore[arg-type]
        team_group=args.get("team_group"),  # type: ignore[arg-type]
        monitoring_namespace=args.get("monitoring_namespace", defaults.monitoring_namespace),
        identity_kind=args.get("identity_kind", DEFAULT_IDENTITY_KIND),
        identity_id=args.get("identity_id"),
        service_account=args.get("service_account_name", defaults.service_account),
        namespace_labels=args.get("namespace_labels", {}),
        quota=check_quota(
            problems,
            args,
            default_gpus=defaults.quota_gpus,
            default_cpu=defaults.quota_cpu,
            default_memory=defaults.quota_memory,
            default_pods=defaults.quota_pods,
            max_pods=defaults.max_pods,
        ),
        container=check_container_defaults(problems, args, defaults.container()),
    )
    check_known_arguments(problems, args, arg_type)
    check_namespace_name(problems, "namespace", settings.namespace)
    if not isinstance(settings.team_group, str) or not settings.team_group.strip():
        problems.add("teamGroup", "required: the identity-provider group bound to the team role")
    check_object_name(problems, "monitoringNamespace", settings.monitoring_namespace)
    check_identity(problems, settings.identity_kind, settings.identity_id)
    check_object_name(problems, "serviceAccountName", settings.service_account)
    check_extra_labels(problems, "namespaceLabels", settings.namespace_labels)
    return settings


@dataclass(frozen=True)
class TeamNamespaceObjects:
    """What `create_team_namespace` made that the component reports."""

    namespace: pulumi.Output[str]
    service_account: k8s.core.v1.ServiceAccount
    pod_labels: dict[str, str]
    role: k8s.rbac.v1.Role
    quota: k8s.core.v1.ResourceQuota


def create_team_namespace(
    component: pulumi.Resource,
    name: str,
    settings: TeamNamespaceSettings,
    *,
    tier: str,
    quota_name: str,
    policies: Mapping[str, Mapping[str, Any]],
    role_name: str,
    rules: Sequence[Mapping[str, Any]],
) -> TeamNamespaceObjects:
    """The objects every team namespace has, as children of `component`: the restricted Namespace, its
    ResourceQuota and LimitRange, the NetworkPolicies `policies`, the workload ServiceAccount and the team's
    Role and RoleBinding."""
    ns = create_namespace(
        f"{name}-namespace",
        settings.namespace,
        tier=tier,
        enforce="restricted",
        extra_labels=settings.namespace_labels,
        parent=component,
    )
    ns_name = ns.metadata.name
    child = pulumi.ResourceOptions(parent=component)
    quota = k8s.core.v1.ResourceQuota(
        f"{name}-quota",
        metadata={"name": quota_name, "namespace": ns_name},
        spec={"hard": dict(settings.quota)},
        opts=child,
    )
    container_defaults(f"{name}-limits", namespace=ns_name, defaults=settings.container, parent=component)
    for policy_name, spec in policies.items():
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{policy_name}",
            metadata={"name": policy_name, "namespace": ns_name},
            spec=dict(spec),
            opts=child,
        )
    account, pod_labels = workload_service_account(
        f"{name}-service-account",
        namespace=ns_name,
        name=settings.service_account,
        identity_kind=settings.identity_kind,
        identity_id=settings.identity_id,
        parent=component,
    )
    role = team_role(
        name, namespace=ns_name, role_name=role_name, rules=rules, team_group=settings.team_group, parent=component
    )
    return TeamNamespaceObjects(ns_name, account, pod_labels, role, quota)
