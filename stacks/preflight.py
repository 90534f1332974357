"""What must exist in the cloud account or subscription before a stack's first `pulumi up`, checked read-only.

`build_checklist` turns a validated `PlatformConfig` into checklist items: each says what must exist, why (with
the cloud's documentation), the exact read-only CLI command that shows it, and how to fix or request it.
`run_preflight` evaluates the items with the official CLIs (`aws ...`, `az ...`, `--output json`) through a
`Runner`, so tests inject recorded answers; with `offline=True`, without the CLI or without credentials, nothing
cloud-side runs and the items are printed with their commands. Every command passes `is_read_only` before it
runs: preflight never creates, changes or deletes anything.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TextIO

from components._common import gpu
from stacks.config import AwsTarget, AzureTarget, GpuPoolConfig, KubernetesTarget, PlatformConfig

Status = Literal["ok", "failed", "not-checked", "manual"]
SYMBOLS: dict[Status, str] = {"ok": "✓", "failed": "✗", "not-checked": "?", "manual": "!"}
"""How each status prints: ✓ ok, ✗ failed, ? not checked (offline or no credentials), ! manual."""

COMMAND_TIMEOUT = 120.0
"""Seconds one CLI call may take; `az vm list-skus` over a whole region takes tens of seconds."""


class PreflightError(Exception):
    """Preflight cannot run as asked (a mutating command, for instance); the CLI exits 2."""


# --- Running the CLIs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    """What one CLI call returned."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> Any:
        """The JSON document on stdout. Raises ValueError when stdout is not JSON."""
        return json.loads(self.stdout)

    def error_line(self) -> str:
        """The first meaningful line of stderr (the CLI's error message)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[0] if lines else f"exit code {self.returncode}"


NOT_INSTALLED = 127
"""Return code a runner reports when the executable is not on PATH (the shell's convention)."""


class Runner(Protocol):
    """Runs one read-only command and returns its result; never raises for a failing command."""

    def __call__(self, command: Sequence[str]) -> CommandResult: ...


_READ_ONLY_AWS = re.compile(r"^(get|describe|list)-[a-z0-9-]+$")
_READ_ONLY_AZ = frozenset({"show", "list", "list-usage", "list-skus"})


def is_read_only(command: Sequence[str]) -> bool:
    """Whether `command` only reads: AWS `get-*`/`describe-*`/`list-*`, az `show`/`list*`, tool versions.

    Preflight runs nothing else; every command it builds is tested against this.
    """
    if not command:
        return False
    tool, *rest = command
    if rest == ["--version"]:
        return tool in ("aws", "az", "kubelogin", "pulumi")
    if tool == "aws":
        # `aws <service> <operation> ...`, nothing before the operation.
        return len(rest) >= 2 and not rest[0].startswith("-") and bool(_READ_ONLY_AWS.match(rest[1]))
    if tool == "az":
        # The verb is the last word before the first option: `az vm list-skus --location ...`, `az feature show ...`.
        words = []
        for part in rest:
            if part.startswith("-"):
                break
            words.append(part)
        return bool(words) and words[-1] in _READ_ONLY_AZ
    if tool == "pulumi":
        return rest[:2] == ["stack", "output"]
    return False


class SubprocessRunner:
    """Runs commands as subprocesses, refusing anything that is not read-only."""

    def __init__(self, timeout: float = COMMAND_TIMEOUT) -> None:
        self.timeout = timeout

    def __call__(self, command: Sequence[str]) -> CommandResult:
        if not is_read_only(command):
            raise PreflightError(f"refusing to run a command that is not read-only: {' '.join(command)}")
        if shutil.which(command[0]) is None:
            return CommandResult(NOT_INSTALLED, "", f"{command[0]}: command not found")
        try:
            completed = subprocess.run(  # an argv list, no shell; only read-only verbs reach here
                list(command), capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"timed out after {self.timeout:.0f}s")
        return CommandResult(completed.returncode, completed.stdout, completed.stderr)


# --- Checklist items ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating one item against the CLI answers."""

    status: Status
    detail: str


Evaluate = Callable[[list[CommandResult]], Verdict]


@dataclass
class Item:
    """One thing that must hold before the first `pulumi up`."""

    key: str
    """Stable identifier, e.g. `aws.quota.L-DB2E81BA` (for machines and tests)."""
    title: str
    """What must exist or hold."""
    why: str
    """What fails without it."""
    doc_url: str
    """The cloud's documentation of the requirement."""
    fix: str
    """How to create it or request it (the fix commands may write; preflight never runs them)."""
    commands: tuple[tuple[str, ...], ...] = ()
    """Read-only commands that show the current state, in the order `evaluate` receives their results."""
    evaluate: Evaluate | None = field(default=None, repr=False, compare=False)
    """Judges the command results; None for items that are decided without the cloud."""
    local: bool = False
    """Needs only a local tool, no cloud credentials (e.g. `aws --version`)."""
    status: Status = "not-checked"
    detail: str = ""
    config_path: str | None = None
    """The stack key to change when the item is about the stack file."""

    def document(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "title": self.title,
            "why": self.why,
            "docUrl": self.doc_url,
            "commands": [_shell(command) for command in self.commands],
            "fix": self.fix,
            "detail": self.detail,
            "configPath": self.config_path,
        }


def _shell(command: Sequence[str]) -> str:
    return " ".join(_quote(part) for part in command)


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_./:=,@+-]+", part) else "'" + part.replace("'", "'\\''") + "'"


def _key_path(*parts: str | int) -> str:
    """A stack key as users write it, e.g. `mlplatform:platform.cluster.gpuPools[0].maxSize`."""
    text = "mlplatform:platform"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# --- Who is asking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The signed-in identity the cloud CLI reported, or why there is none."""

    cloud: Literal["aws", "azure"]
    account: str | None = None
    """AWS account ID or Azure subscription ID."""
    principal: str | None = None
    """AWS caller ARN, or the Azure user / service principal name."""
    problem: str | None = None
    """Why no identity is available (CLI missing, not signed in); None when signed in."""


AWS_IDENTITY_COMMAND = ("aws", "sts", "get-caller-identity", "--output", "json")
AZURE_IDENTITY_COMMAND = ("az", "account", "show", "--output", "json")


def detect_identity(cloud: Literal["aws", "azure"], runner: Runner) -> Identity:
    """Ask the cloud CLI who is signed in (`aws sts get-caller-identity` / `az account show`)."""
    command = AWS_IDENTITY_COMMAND if cloud == "aws" else AZURE_IDENTITY_COMMAND
    result = runner(command)
    if result.returncode == NOT_INSTALLED:
        return Identity(cloud, problem=f"the {command[0]} CLI is not installed")
    if not result.ok:
        return Identity(cloud, problem=f"no credentials: `{_shell(command)}` said: {result.error_line()}")
    try:
        document = result.json()
    except ValueError:
        return Identity(cloud, problem=f"`{_shell(command)}` did not print JSON")
    if cloud == "aws":
        return Identity(cloud, account=document.get("Account"), principal=document.get("Arn"))
    user = document.get("user") or {}
    return Identity(cloud, account=document.get("id"), principal=user.get("name"))


# --- Principals and example values in the stack file --------------------------------------------------------

_IAM_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)$")


def _principals(config: PlatformConfig) -> list[tuple[str, str]]:
    """Every IAM principal the stack names, with its stack key (relative to `mlplatform:platform`)."""
    found = [(f"cluster.adminPrincipals[{i}]", p) for i, p in enumerate(config.cluster.admin_principals)]
    if config.deployment.deployer.principal:
        found.append(("deployment.deployer.principal", config.deployment.deployer.principal))
    for index, namespace in enumerate(config.serving.namespaces):
        for position, principal in enumerate(namespace.team_principals):
            found.append((f"serving.namespaces[{index}].teamPrincipals[{position}]", principal))
    return found


_PATH_PART = re.compile(r"([A-Za-z]+)|\[(\d+)\]")


def _value_at(config: PlatformConfig, key: str) -> Any:
    """The value at a stack key such as `cluster.adminPrincipals[0]` (camelCase, as in the stack file)."""
    value: Any = config.model_dump(mode="json", by_alias=True)
    for name, index in _PATH_PART.findall(key):
        value = value[int(index)] if index else value[name]
    return value


def placeholder_items(config: PlatformConfig) -> list[Item]:
    """One failing item per documentation example left in the stack file, naming the key to fill in.

    The detection is `PlatformConfig.placeholders()`, the same list a real `pulumi up` refuses.
    """
    items = []
    for key, hint in config.placeholders():
        value = str(_value_at(config, key))
        kind, why, doc_url = _placeholder_kind(value)
        items.append(
            Item(
                key=f"placeholder.{key}",
                title=f"{_key_path()}.{key} holds your {kind}, not the shipped example",
                why=f"{why}; a real `pulumi up` refuses example values before it creates anything",
                doc_url=doc_url,
                fix=f"put {hint} at {_key_path()}.{key} in the stack file",
                status="failed",
                detail=f"{value} is an example value",
                config_path=f"{_key_path()}.{key}",
            )
        )
    return items


def _placeholder_kind(value: str) -> tuple[str, str, str]:
    """(what it is, what the cloud does with an example, where that is documented)."""
    if value.startswith("arn:"):
        return (
            "IAM principal",
            "EKS resolves access-entry principals: 'The specified principalArn is invalid: invalid principal'",
            "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html",
        )
    if value.startswith(("sg-", "tgw-")):
        return (
            "network resource",
            "the ID names no resource in your account",
            "https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
        )
    if value.startswith("/subscriptions/"):
        return (
            "virtual network",
            "the peering and the private DNS link need a real network",
            "https://learn.microsoft.com/azure/aks/private-clusters",
        )
    if "/" in value:
        return (
            "network",
            "RFC 5737 documentation ranges are never routed, so the rule admits no one",
            "https://www.rfc-editor.org/rfc/rfc5737",
        )
    return (
        "Entra object ID",
        "role assignments to an object ID that does not exist in the tenant fail (PrincipalNotFound)",
        "https://learn.microsoft.com/azure/role-based-access-control/troubleshooting",
    )


# --- Shared evaluation helpers --------------------------------------------------------------------------


def _unreadable(result: CommandResult, command: Sequence[str]) -> Verdict:
    return Verdict("not-checked", f"`{_shell(command)}` failed: {result.error_line()}")


def _pool_zones(pool: GpuPoolConfig, target: AwsTarget | AzureTarget) -> list[str]:
    return list(pool.zones or target.zones or [])


@dataclass(frozen=True)
class _PoolNeed:
    """What one pool asks of a vCPU quota."""

    pool: str
    path: str
    min_vcpus: int | None
    max_vcpus: int | None
    detail: str


def _pool_need(
    name: str, path: str, instance_types: list[str], sizes: tuple[int, int], vcpus_of: Callable[[str], int | None]
) -> _PoolNeed:
    """What a pool of `sizes` (minSize, maxSize) nodes asks of a quota, counting its largest instance type."""
    known = {instance_type: vcpus_of(instance_type) for instance_type in instance_types}
    sized = {instance_type: vcpus for instance_type, vcpus in known.items() if vcpus is not None}
    if len(sized) < len(known) or not sized:
        unknown = ", ".join(instance_type for instance_type in known if instance_type not in sized) or "none"
        return _PoolNeed(name, path, None, None, f"vCPUs of {unknown} unknown")
    largest_type, largest = max(sized.items(), key=lambda entry: entry[1])
    low, high = sizes
    return _PoolNeed(
        name, path, low * largest, high * largest, f"{name}: {low}..{high} × {largest_type} ({largest} vCPUs)"
    )


def _quota_verdict(available: float, needs: list[_PoolNeed], what: str) -> Verdict:
    if any(need.min_vcpus is None for need in needs):
        return Verdict("not-checked", "; ".join(need.detail for need in needs if need.min_vcpus is None))
    at_creation = sum(need.min_vcpus or 0 for need in needs)
    at_most = sum(need.max_vcpus or 0 for need in needs)
    pools = "; ".join(need.detail for need in needs)
    if available < at_creation:
        return Verdict(
            "failed",
            f"{what} {available:g} vCPUs < {at_creation} vCPUs the pools start with (minSize): `pulumi up` fails ({pools})",
        )
    if available < at_most:
        return Verdict(
            "failed",
            f"{what} {available:g} vCPUs < {at_most} vCPUs at maxSize: scale-ups stop early ({pools})",
        )
    return Verdict("ok", f"{what} {available:g} vCPUs ≥ {at_most} vCPUs at maxSize ({pools})")


def _version_item(
    key: str, tool: str, title: str, why: str, doc_url: str, fix: str, pattern: str, minimum: int = 0
) -> Item:
    command = (tool, "--version")

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if result.returncode == NOT_INSTALLED:
            return Verdict("failed", f"{tool} is not on PATH")
        if not result.ok:
            return _unreadable(result, command)
        text = result.stdout + result.stderr
        match = re.search(pattern, text)
        if minimum and (not match or int(match[1]) < minimum):
            return Verdict("failed", f"found {text.strip().splitlines()[0] if text.strip() else 'no version'}")
        return Verdict("ok", text.strip().splitlines()[0] if text.strip() else f"{tool} found")

    return Item(key, title, why, doc_url, fix, (command,), evaluate, local=True)


def aws_cli_item() -> Item:
    """AWS CLI v2 on the machine that runs the Kubernetes layer: the kubeconfig calls `aws eks get-token`."""
    return _version_item(
        "tool.aws-cli-v2",
        "aws",
        "AWS CLI v2 on the machine that runs `pulumi up` for the Kubernetes layer",
        "the EKS kubeconfig authenticates with `aws eks get-token`; without the CLI every Kubernetes resource fails "
        'with `exec: "aws": executable file not found` (AWS CLI v1 is announced for end of support: install v2)',
        "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
        "install AWS CLI v2 (see the link) on the deployer machine or CI runner, with the same credentials as Pulumi",
        r"aws-cli/(\d+)\.",
        minimum=2,
    )


def kubelogin_item() -> Item:
    """kubelogin on the machine that runs the Kubernetes layer: the AKS kubeconfig is an Entra `exec` plugin."""
    return _version_item(
        "tool.kubelogin",
        "kubelogin",
        "kubelogin on the machine that runs `pulumi up` for the Kubernetes layer",
        "local accounts are disabled, so the AKS kubeconfig authenticates through Entra with the kubelogin exec "
        "plugin; without it every Kubernetes resource fails",
        "https://azure.github.io/kubelogin/install.html",
        "`az aks install-cli`, or a kubelogin release from https://github.com/Azure/kubelogin/releases",
        r"v?(\d+)\.",
    )


# --- AWS ------------------------------------------------------------------------------------------------

AWS_VCPU_QUOTAS: dict[tuple[str, str], tuple[str, str]] = {
    ("G", "on-demand"): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("P", "on-demand"): ("L-417A185B", "Running On-Demand P instances"),
    ("G", "spot"): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("P", "spot"): ("L-7212CCBC", "All P Spot Instance Requests"),
}
"""EC2 vCPU quota (code, name) per instance class and capacity type (Service Quotas, service code `ec2`)."""

AWS_ELASTIC_IP_QUOTA = ("L-0263D0A3", "EC2-VPC Elastic IPs")
AUTOSCALING_SERVICE_LINKED_ROLE = "AWSServiceRoleForAutoScaling"
SPOT_SERVICE_LINKED_ROLE = "AWSServiceRoleForEC2Spot"

_AWS_QUOTA_DOCS = {
    "on-demand": "https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html",
    "spot": "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html",
}


AWS_QUOTA_CLASS_PATTERNS = {"G": ("g*", "vt*"), "P": ("p*",)}
"""Instance-type name patterns of each quota class ("G and VT", "P"), to find the instances already counted."""


def _aws_quota_class(instance_type: str) -> str | None:
    info = gpu.aws_gpu_instance(instance_type)
    return info.family[0].upper() if info and info.family[0] in "gp" else None


def _aws_vcpus(instance_type: str) -> int | None:
    info = gpu.aws_gpu_instance(instance_type)
    return info.vcpus if info else None


def _aws_get_quota_command(code: str, region: str) -> tuple[str, ...]:
    return (
        "aws", "service-quotas", "get-service-quota", "--service-code", "ec2", "--quota-code", code,
        "--region", region, "--output", "json",
    )  # fmt: skip


def _aws_running_instances_command(quota_class: str, region: str) -> tuple[str, ...]:
    return (
        "aws", "ec2", "describe-instances", "--filters", "Name=instance-state-name,Values=pending,running",
        f"Name=instance-type,Values={','.join(AWS_QUOTA_CLASS_PATTERNS[quota_class])}",
        "--region", region, "--output", "json",
    )  # fmt: skip


def _quota_value(result: CommandResult) -> float:
    return float(result.json()["Quota"]["Value"])


def _vcpus_in_use(result: CommandResult, spot: bool) -> int:
    """vCPUs of the listed instances of one market (spot or not): what the quota already counts."""
    total = 0
    for reservation in result.json().get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if (instance.get("InstanceLifecycle") == "spot") != spot:
                continue
            cpu = instance.get("CpuOptions") or {}
            total += int(cpu.get("CoreCount", 0)) * int(cpu.get("ThreadsPerCore", 1))
    return total


def aws_quota_items(config: PlatformConfig, target: AwsTarget) -> list[Item]:
    """One item per EC2 vCPU quota the GPU pools draw on, summing every pool that shares it."""
    groups: dict[tuple[str, str], list[_PoolNeed]] = {}
    for index, pool in enumerate(config.cluster.gpu_pools):
        path = _key_path("cluster", "gpuPools", index)
        for quota_class in sorted({c for c in map(_aws_quota_class, pool.instance_types) if c}):
            # A pool mixing classes may launch either: count it against each, with that class's types.
            types = [t for t in pool.instance_types if _aws_quota_class(t) == quota_class]
            need = _pool_need(pool.name, path, types, (pool.min_size, pool.max_size), _aws_vcpus)
            groups.setdefault((quota_class, pool.capacity_type or "on-demand"), []).append(need)
    items = []
    for (quota_class, capacity_type), needs in groups.items():
        code, name = AWS_VCPU_QUOTAS[(quota_class, capacity_type)]
        commands = (
            _aws_get_quota_command(code, target.region),
            _aws_running_instances_command(quota_class, target.region),
        )

        def evaluate(
            results: list[CommandResult], needs: list[_PoolNeed] = needs, commands=commands, spot=capacity_type
        ) -> Verdict:
            for result, command in zip(results, commands, strict=True):
                if not result.ok:
                    return _unreadable(result, command)
            limit = _quota_value(results[0])
            used = _vcpus_in_use(results[1], spot == "spot")
            return _quota_verdict(limit - used, needs, f"quota {limit:g} − {used} in use =")

        pools = ", ".join(need.pool for need in needs)
        needed = sum(need.max_vcpus or 0 for need in needs)
        items.append(
            Item(
                key=f"aws.quota.{code}",
                title=f"EC2 quota '{name}' ({code}) in {target.region} covers {pools}",
                why=(
                    "EC2 counts the vCPUs of running instances per instance class against this quota (new accounts "
                    "often have 0); a node group that cannot launch its minSize ends CREATE_FAILED with "
                    "VcpuLimitExceeded"
                ),
                doc_url=_AWS_QUOTA_DOCS[capacity_type],
                fix=(
                    f"request an increase before `pulumi up`: aws service-quotas request-service-quota-increase "
                    f"--service-code ec2 --quota-code {code} --desired-value <in use + {needed}> "
                    f"--region {target.region} (approval can take days; P quotas longer)"
                ),
                commands=commands,
                evaluate=evaluate,
                config_path=needs[0].path,
            )
        )
    return items


def aws_offering_items(config: PlatformConfig, target: AwsTarget) -> list[Item]:
    """One item per GPU pool: its instance types are offered in every zone the pool uses."""
    items = []
    for index, pool in enumerate(config.cluster.gpu_pools):
        zones = _pool_zones(pool, target)
        command = (
            "aws", "ec2", "describe-instance-type-offerings", "--location-type", "availability-zone",
            "--filters", f"Name=instance-type,Values={','.join(pool.instance_types)}",
            "--region", target.region, "--output", "json",
        )  # fmt: skip

        def evaluate(results: list[CommandResult], zones: list[str] = zones, pool=pool, command=command) -> Verdict:
            (result,) = results
            if not result.ok:
                return _unreadable(result, command)
            offered = {(o["InstanceType"], o["Location"]) for o in result.json().get("InstanceTypeOfferings", [])}
            empty = [zone for zone in zones if not any((t, zone) in offered for t in pool.instance_types)]
            partial = [f"{t} not in {zone}" for zone in zones for t in pool.instance_types if (t, zone) not in offered]
            if empty:
                return Verdict("failed", f"no instance type of the pool is offered in {', '.join(empty)}")
            note = f" (other types of the pool cover the gaps: {'; '.join(partial)})" if partial else ""
            return Verdict("ok", f"offered in {', '.join(zones)}{note}")

        items.append(
            Item(
                key=f"aws.offerings.{pool.name}",
                title=f"{', '.join(pool.instance_types)} offered in {', '.join(zones)} (pool {pool.name})",
                why=(
                    "the node group spans a subnet in every zone; a zone that offers none of its instance types "
                    "cannot launch nodes there (large GPU types such as p5 are offered in few zones)"
                ),
                doc_url="https://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instance-type-offerings.html",
                fix=(
                    f"set {_key_path('cluster', 'gpuPools', index, 'zones')} to zones that offer the type, "
                    "pick another type, or use a capacity reservation"
                ),
                commands=(command,),
                evaluate=evaluate,
                config_path=_key_path("cluster", "gpuPools", index),
            )
        )
    return items


def _iam_not_found(result: CommandResult) -> bool:
    return "NoSuchEntity" in result.stderr


def aws_service_linked_role_item(config: PlatformConfig) -> Item:
    """The Auto Scaling service-linked role the cluster key policy names, unless the stack creates it."""
    title = f"IAM service-linked role {AUTOSCALING_SERVICE_LINKED_ROLE} exists"
    why = (
        "the cluster's KMS key policy grants it the key (encrypted node volumes); KMS rejects a policy naming a "
        "principal that does not exist (MalformedPolicyDocumentException), and a fresh account has no such role "
        "until its first Auto Scaling group"
    )
    doc_url = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html"
    fix = (
        "aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com, or set "
        f"{_key_path('deployment', 'createServiceLinkedRoles')}: true so the stack creates it"
    )
    if config.deployment.create_service_linked_roles:
        return Item(
            "aws.iam.autoscaling-service-linked-role",
            title,
            why,
            doc_url,
            fix,
            status="ok",
            detail="created by this stack (deployment.createServiceLinkedRoles: true)",
            config_path=_key_path("deployment", "createServiceLinkedRoles"),
        )
    command = ("aws", "iam", "get-role", "--role-name", AUTOSCALING_SERVICE_LINKED_ROLE, "--output", "json")

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if result.ok:
            return Verdict("ok", "exists")
        if _iam_not_found(result):
            return Verdict("failed", "does not exist in this account")
        return _unreadable(result, command)

    return Item(
        "aws.iam.autoscaling-service-linked-role",
        title,
        why,
        doc_url,
        fix,
        (command,),
        evaluate,
        config_path=_key_path("deployment", "createServiceLinkedRoles"),
    )


def aws_spot_service_linked_role_items(config: PlatformConfig) -> list[Item]:
    """With a spot GPU pool: the EC2 Spot service-linked role Karpenter's spot launches need."""
    spot = [index for index, pool in enumerate(config.cluster.gpu_pools) if pool.capacity_type == "spot"]
    if not spot:
        return []
    command = ("aws", "iam", "get-role", "--role-name", SPOT_SERVICE_LINKED_ROLE, "--output", "json")

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if result.ok:
            return Verdict("ok", "exists")
        if _iam_not_found(result):
            return Verdict("failed", "does not exist in this account")
        return _unreadable(result, command)

    return [
        Item(
            "aws.iam.spot-service-linked-role",
            f"IAM service-linked role {SPOT_SERVICE_LINKED_ROLE} exists",
            "Karpenter launches the spot pools' nodes with CreateFleet, which needs this role; its controller may "
            "not create roles, so in an account that never ran spot every launch fails with "
            "AuthFailure.ServiceLinkedRoleCreationNotPermitted and GPU pods stay Pending",
            "https://karpenter.sh/docs/troubleshooting/#missing-service-linked-role",
            "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com (once per account)",
            (command,),
            evaluate,
            config_path=_key_path("cluster", "gpuPools", spot[0], "capacityType"),
        )
    ]


def aws_principal_items(config: PlatformConfig, identity: Identity | None) -> list[Item]:
    """Each admin, deployer and team principal ARN exists (read in the caller's account; elsewhere manual)."""
    placeholders = {key for key, _ in config.placeholders()}
    items = []
    for key_path, principal in _principals(config):
        if key_path in placeholders:
            continue
        path = f"{_key_path()}.{key_path}"
        arn = _IAM_ARN.match(principal)
        kind, _, name = (arn["resource"] if arn else "").partition("/")
        name = name.rsplit("/", 1)[-1]
        title = f"IAM principal {principal} exists ({key_path})"
        why = (
            "EKS resolves the principal when it creates the access entry; a missing one fails with "
            "'InvalidParameterException: The specified principalArn is invalid: invalid principal'"
        )
        doc_url = "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html"
        fix = f"create the {kind or 'principal'} or correct {path}"
        key = f"aws.principal.{key_path}"
        if not arn or arn["service"] != "iam" or kind not in ("role", "user"):
            items.append(
                Item(key, title, why, doc_url, fix, status="manual", config_path=path,
                     detail="not an IAM role or user ARN: access entries take the role ARN, not an assumed-role session")
            )  # fmt: skip
            continue
        command = ("aws", "iam", f"get-{kind}", f"--{kind}-name", name, "--output", "json")
        if identity and identity.account and identity.account != arn["account"]:
            items.append(
                Item(key, title, why, doc_url, fix, (command,), status="manual", config_path=path,
                     detail=f"in account {arn['account']}, not the caller's ({identity.account}): "
                            "run the command with credentials of that account")
            )  # fmt: skip
            continue

        def evaluate(results: list[CommandResult], command=command, kind=kind) -> Verdict:
            (result,) = results
            if result.ok:
                return Verdict("ok", f"{kind} exists")
            if _iam_not_found(result):
                return Verdict("failed", f"no such {kind} in the account")
            return _unreadable(result, command)

        items.append(Item(key, title, why, doc_url, fix, (command,), evaluate, config_path=path))
    return items


def _nat_gateway_count(config: PlatformConfig, target: AwsTarget) -> int:
    return 1 if config.network.nat_gateways == "single" else len(target.zones or [])


def aws_elastic_ip_item(config: PlatformConfig, target: AwsTarget) -> Item:
    """Free Elastic IPs for the NAT gateways (one address each)."""
    needed = _nat_gateway_count(config, target)
    code, name = AWS_ELASTIC_IP_QUOTA
    quota = _aws_get_quota_command(code, target.region)
    addresses = ("aws", "ec2", "describe-addresses", "--region", target.region, "--output", "json")

    def evaluate(results: list[CommandResult]) -> Verdict:
        quota_result, addresses_result = results
        for result, command in ((quota_result, quota), (addresses_result, addresses)):
            if not result.ok:
                return _unreadable(result, command)
        limit = _quota_value(quota_result)
        used = len(addresses_result.json().get("Addresses", []))
        free = limit - used
        verdict = f"{limit:g} allowed, {used} allocated, {free:g} free; {needed} NAT gateway(s) need {needed}"
        return Verdict("ok" if free >= needed else "failed", verdict)

    return Item(
        key="aws.quota.elastic-ips",
        title=f"{needed} free Elastic IP(s) in {target.region} for the NAT gateways (quota '{name}', {code})",
        why="each NAT gateway takes an Elastic IP; allocation fails with AddressLimitExceeded past the quota (5 by default)",
        doc_url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html",
        fix=(
            f"release unused addresses, set {_key_path('network', 'natGateways')}: single outside prod, or "
            f"aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {code} "
            f"--desired-value <n> --region {target.region}"
        ),
        commands=(quota, addresses),
        evaluate=evaluate,
        config_path=_key_path("network", "natGateways"),
    )


AWS_STANDARD_QUOTA = ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
_OWN_QUOTA_PREFIXES = ("dl", "inf", "trn", "hpc", "mac", "u-")
"""Families whose first letter is a Standard one but which have quotas of their own (DL, Inf, Trn, HPC, Mac, U)."""


def _is_standard_class(instance_type: str) -> bool:
    family = instance_type.split(".", 1)[0]
    return family[:1] in "acdhimrtz" and not family.startswith(_OWN_QUOTA_PREFIXES)


def aws_platform_pool_quota_item(config: PlatformConfig, target: AwsTarget) -> Item:
    """The Standard On-Demand vCPU quota covers the platform node groups, one per zone (new accounts may have as few
    as 5 vCPUs)."""
    platform = config.cluster.platform_pool
    zones = len(target.zones or [])
    sizes = ((platform.min_size_per_zone or 1) * zones, (platform.max_size_per_zone or 1) * zones)
    types = list(platform.instance_types or [])
    code, name = AWS_STANDARD_QUOTA
    commands = (
        _aws_get_quota_command(code, target.region),
        ("aws", "ec2", "describe-instance-types", "--instance-types", *types, "--region", target.region,
         "--output", "json"),
        ("aws", "ec2", "describe-instances", "--filters", "Name=instance-state-name,Values=pending,running",
         "--region", target.region, "--output", "json"),
    )  # fmt: skip
    path = _key_path("cluster", "platformPool")

    def evaluate(results: list[CommandResult]) -> Verdict:
        for result, command in zip(results, commands, strict=True):
            if not result.ok:
                return _unreadable(result, command)
        limit = _quota_value(results[0])
        vcpus = {t["InstanceType"]: int(t["VCpuInfo"]["DefaultVCpus"]) for t in results[1].json()["InstanceTypes"]}
        used = sum(
            int((instance.get("CpuOptions") or {}).get("CoreCount", 0))
            * int((instance.get("CpuOptions") or {}).get("ThreadsPerCore", 1))
            for reservation in results[2].json().get("Reservations", [])
            for instance in reservation.get("Instances", [])
            if instance.get("InstanceLifecycle") != "spot" and _is_standard_class(instance.get("InstanceType", ""))
        )
        need = _pool_need("platform", path, types, sizes, vcpus.get)
        return _quota_verdict(limit - used, [need], f"quota {limit:g} − {used} in use =")

    return Item(
        key=f"aws.quota.{code}",
        title=f"EC2 quota '{name}' ({code}) in {target.region} covers the platform node groups",
        why=(
            "each zone's platform node group launches minSizePerZone nodes during `pulumi up` and EKS waits for "
            "them; new accounts can have a Standard quota below a few nodes' vCPUs, which ends a node group in "
            "CREATE_FAILED"
        ),
        doc_url=_AWS_QUOTA_DOCS["on-demand"],
        fix=(
            f"aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {code} "
            f"--desired-value <in use + maxSizePerZone × zones × vCPUs> --region {target.region}"
        ),
        commands=commands,
        evaluate=evaluate,
        config_path=path,
    )


def aws_items(config: PlatformConfig, target: AwsTarget, identity: Identity | None) -> list[Item]:
    items = [
        aws_platform_pool_quota_item(config, target),
        *aws_quota_items(config, target),
        *aws_offering_items(config, target),
        aws_service_linked_role_item(config),
        *aws_spot_service_linked_role_items(config),
        *aws_principal_items(config, identity),
        aws_elastic_ip_item(config, target),
    ]
    if config.deployment.kubernetes_layer == "thisStack":
        items.append(aws_cli_item())
    return items


# --- Azure ----------------------------------------------------------------------------------------------

AZURE_RESOURCE_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("Microsoft.ContainerService", "the AKS cluster and its agent pools"),
    ("Microsoft.KeyVault", "the Key Vault and its keys (KMS, disk and storage encryption)"),
    ("Microsoft.Network", "the VNet, private endpoints and private DNS zones"),
    ("Microsoft.Storage", "the storage account for datasets and models"),
    ("Microsoft.ContainerRegistry", "the container registry"),
    ("Microsoft.OperationalInsights", "the Log Analytics workspace"),
    ("Microsoft.Insights", "diagnostic settings (audit logs)"),
    ("Microsoft.ManagedIdentity", "user-assigned identities (cluster control plane, registry and storage keys)"),
    ("Microsoft.Compute", "the disk encryption set and encryption at host"),
)
"""Resource providers the stack's resources belong to; ARM refuses resources of an unregistered provider."""

RBAC_WRITER_ROLES = ("Owner", "User Access Administrator", "Role Based Access Control Administrator")
"""Built-in roles that may create role assignments (Contributor may not)."""
AUTHORIZATION_WRITER_ROLES = ("Owner", "User Access Administrator")
"""Built-in roles with `Microsoft.Authorization/*`: policy assignments and management locks as well. Role Based
Access Control Administrator has only `roleAssignments/write|delete`."""


def _vm_size_of(pool: Any) -> str:
    return pool.instance_types[0]


def _list_skus_command(location: str, vm_size: str) -> tuple[str, ...]:
    return (
        "az", "vm", "list-skus", "--location", location, "--size", vm_size, "--all",
        "--resource-type", "virtualMachines", "--output", "json",
    )  # fmt: skip


def _list_usage_command(location: str) -> tuple[str, ...]:
    return ("az", "vm", "list-usage", "--location", location, "--output", "json")


def _sku(result: CommandResult, vm_size: str) -> dict[str, Any] | None:
    # `--size` matches by prefix; keep the exact size.
    return next((sku for sku in result.json() if str(sku.get("name", "")).lower() == vm_size.lower()), None)


def _squeezed(name: str) -> str:
    # SKU family "standardNCASv3_T4Family" vs usage name "standardNCASv3_T4Family"/"Standard NCASv3_T4 Family".
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _usage(result: CommandResult, name: str) -> dict[str, Any] | None:
    wanted = _squeezed(name)
    return next((entry for entry in result.json() if _squeezed(entry.get("name", {}).get("value", "")) == wanted), None)


def _available(entry: dict[str, Any]) -> float:
    return float(entry.get("limit", 0)) - float(entry.get("currentValue", 0))


@dataclass(frozen=True)
class _AzurePool:
    name: str
    path: str
    vm_size: str
    min_size: int
    max_size: int
    spot: bool
    zones: list[str]


def _azure_pools(config: PlatformConfig, target: AzureTarget) -> list[_AzurePool]:
    pools = []
    system = config.cluster.system_pool
    if system.instance_types:
        pools.append(
            _AzurePool(
                "system", _key_path("cluster", "systemPool"), system.instance_types[0], system.min_size,
                system.max_size, False, list(target.zones or []),
            )
        )  # fmt: skip
    platform = config.cluster.platform_pool
    zones = list(target.zones or [])
    if platform.instance_types:
        pools.append(
            _AzurePool(
                "platform", _key_path("cluster", "platformPool"), platform.instance_types[0],
                (platform.min_size_per_zone or 1) * len(zones), (platform.max_size_per_zone or 1) * len(zones),
                False, zones,
            )
        )  # fmt: skip
    for index, pool in enumerate(config.cluster.gpu_pools):
        pools.append(
            _AzurePool(
                pool.name, _key_path("cluster", "gpuPools", index), _vm_size_of(pool), pool.min_size, pool.max_size,
                pool.capacity_type == "spot", _pool_zones(pool, target),
            )
        )  # fmt: skip
    return pools


_AZURE_SERIES = re.compile(r"^Standard_(?P<family>[A-Z]+)\d+(-\d+)?(?P<rest>.*)$")


def _azure_series(vm_size: str) -> str:
    """The series a size belongs to (`Standard_NC8as_T4_v3` -> `NCas_T4_v3`); sizes of one series share a quota
    family. The quota's own name comes from `az vm list-skus` (field `family`) when the check runs."""
    match = _AZURE_SERIES.match(vm_size)
    return f"{match['family']}{match['rest']}" if match else vm_size


def _azure_need(pool: _AzurePool) -> _PoolNeed:
    vcpus = gpu.azure_vm_vcpus(pool.vm_size)
    if vcpus is None:
        return _PoolNeed(pool.name, pool.path, None, None, f"vCPUs of {pool.vm_size} unknown")
    return _PoolNeed(
        pool.name, pool.path, pool.min_size * vcpus, pool.max_size * vcpus,
        f"{pool.name}: {pool.min_size}..{pool.max_size} × {pool.vm_size} ({vcpus} vCPUs)",
    )  # fmt: skip


_AZURE_QUOTA_DOC = "https://learn.microsoft.com/azure/virtual-machines/quotas"
_AZURE_SPOT_DOC = "https://learn.microsoft.com/azure/virtual-machines/spot-vms"


def azure_quota_items(config: PlatformConfig, target: AzureTarget) -> list[Item]:
    """vCPU quotas: per VM family for regular pools, the regional spot quota for spot pools, and the regional total."""
    pools = _azure_pools(config, target)
    usage = _list_usage_command(target.location)
    items = []
    families: dict[str, list[_AzurePool]] = {}
    for pool in pools:
        if not pool.spot:
            families.setdefault(_azure_series(pool.vm_size), []).append(pool)
    for members in families.values():
        sizes = sorted({pool.vm_size for pool in members})
        commands = (*(_list_skus_command(target.location, size) for size in sizes), usage)

        def evaluate(results: list[CommandResult], members=members, sizes=sizes, commands=commands) -> Verdict:
            for result, command in zip(results, commands, strict=True):
                if not result.ok:
                    return _unreadable(result, command)
            found = (_sku(result, size) for result, size in zip(results[:-1], sizes, strict=True))
            sku = next((entry for entry in found if entry), None)
            if sku is None:
                return Verdict("failed", f"{', '.join(sizes)} not offered in {target.location}")
            entry = _usage(results[-1], sku.get("family", ""))
            if entry is None:
                return Verdict("not-checked", f"no usage entry for family {sku.get('family')}")
            label = entry.get("name", {}).get("localizedValue") or sku.get("family")
            return _quota_verdict(_available(entry), [_azure_need(p) for p in members], f"{label}: free")

        names = ", ".join(pool.name for pool in members)
        needed = sum((_azure_need(p).max_vcpus or 0) for p in members)
        items.append(
            Item(
                key=f"azure.quota.{sizes[0]}",
                title=f"vCPU quota of the {', '.join(sizes)} family in {target.location} covers {names}",
                why=(
                    "Azure counts vCPUs per VM family against a per-subscription, per-region quota (GPU families "
                    "start at 0 on new subscriptions); an agent pool whose minCount does not fit fails with "
                    "QuotaExceeded"
                ),
                doc_url=_AZURE_QUOTA_DOC,
                fix=(
                    f"request at least {needed} vCPUs (plus what already runs) for the family in {target.location}: "
                    "Azure portal > Quotas > Compute, or a support request"
                ),
                commands=commands,
                evaluate=evaluate,
                config_path=members[0].path,
            )
        )
    spot = [pool for pool in pools if pool.spot]
    if spot:
        items.append(
            Item(
                key="azure.quota.spot",
                title=f"regional Spot vCPU quota in {target.location} covers {', '.join(p.name for p in spot)}",
                why="Spot VMs draw on one regional Spot vCPU quota (lowPriorityCores), separate from the family quotas",
                doc_url=_AZURE_SPOT_DOC,
                fix=f"request a higher 'Total Regional Spot vCPUs' quota in {target.location} (portal > Quotas)",
                commands=(usage,),
                evaluate=_regional_usage(usage, "lowPriorityCores", spot, "Total Regional Spot vCPUs"),
                config_path=spot[0].path,
            )
        )
    regular = [pool for pool in pools if not pool.spot]
    items.append(
        Item(
            key="azure.quota.regional",
            title=f"regional vCPU quota in {target.location} covers every regular pool, system and platform pools included",
            why="besides the family quotas, all regular VMs of a region share the 'Total Regional vCPUs' quota",
            doc_url=_AZURE_QUOTA_DOC,
            fix=f"request a higher 'Total Regional vCPUs' quota in {target.location} (portal > Quotas)",
            commands=(usage,),
            evaluate=_regional_usage(usage, "cores", regular, "Total Regional vCPUs"),
        )
    )
    return items


def _regional_usage(usage: tuple[str, ...], entry_name: str, pools: list[Any], quota: str) -> Any:
    """The verdict of one regional quota (`az vm list-usage` entry `entry_name`) against what `pools` need."""

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if not result.ok:
            return _unreadable(result, usage)
        entry = _usage(result, entry_name)
        if entry is None:
            return Verdict("not-checked", f"no '{entry_name}' entry in the usage list")
        return _quota_verdict(_available(entry), [_azure_need(pool) for pool in pools], f"{quota}: free")

    return evaluate


def azure_sku_items(config: PlatformConfig, target: AzureTarget) -> list[Item]:
    """Per pool: the VM size is offered to the subscription, in the pool's zones, with encryption at host."""
    items = []
    for pool in _azure_pools(config, target):
        command = _list_skus_command(target.location, pool.vm_size)

        def evaluate(results: list[CommandResult], pool=pool, command=command) -> Verdict:
            (result,) = results
            if not result.ok:
                return _unreadable(result, command)
            sku = _sku(result, pool.vm_size)
            if sku is None:
                return Verdict("failed", f"{pool.vm_size} is not offered in {target.location}")
            problems = []
            restricted_zones: set[str] = set()
            for restriction in sku.get("restrictions") or []:
                info = restriction.get("restrictionInfo") or {}
                if restriction.get("type") == "Location":
                    problems.append(f"restricted for this subscription ({restriction.get('reasonCode')})")
                else:
                    restricted_zones.update(info.get("zones") or [])
            offered = {zone for location in sku.get("locationInfo") or [] for zone in location.get("zones") or []}
            missing = [zone for zone in pool.zones if zone not in offered or zone in restricted_zones]
            if missing:
                problems.append(f"not available in zone(s) {', '.join(missing)}")
            capabilities = {c.get("name"): str(c.get("value")) for c in sku.get("capabilities") or []}
            if capabilities.get("EncryptionAtHostSupported", "False").lower() != "true":
                problems.append("does not support encryption at host, which every pool of this stack enables")
            if pool.spot and capabilities.get("LowPriorityCapable", "False").lower() != "true":
                problems.append("cannot run as Spot")
            if problems:
                return Verdict("failed", "; ".join(problems))
            return Verdict("ok", f"offered in zones {', '.join(pool.zones) or '(regional)'}, encryption at host")

        items.append(
            Item(
                key=f"azure.sku.{pool.name}",
                title=f"{pool.vm_size} available to the subscription in {target.location} zones "
                f"{', '.join(pool.zones) or '(none)'} with encryption at host (pool {pool.name})",
                why=(
                    "a size restricted for the subscription or a zone (NotAvailableForSubscription) fails with "
                    "SkuNotAvailable; host encryption is only supported on some sizes and regions"
                ),
                doc_url="https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-sku-not-available",
                fix="choose zones or a size the subscription can use, or file a SKU access request with Azure support",
                commands=(command,),
                evaluate=evaluate,
                config_path=pool.path,
            )
        )
    return items


def azure_feature_item() -> Item:
    """The subscription feature Microsoft.Compute/EncryptionAtHost is registered."""
    command = ("az", "feature", "show", "--namespace", "Microsoft.Compute", "--name", "EncryptionAtHost",
               "--output", "json")  # fmt: skip

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if not result.ok:
            return _unreadable(result, command)
        state = (result.json().get("properties") or {}).get("state")
        return Verdict("ok" if state == "Registered" else "failed", f"state: {state}")

    return Item(
        key="azure.feature.encryption-at-host",
        title="subscription feature Microsoft.Compute/EncryptionAtHost is Registered",
        why="every node pool enables encryption at host; pool creation fails until the feature is registered",
        doc_url="https://learn.microsoft.com/azure/aks/enable-host-encryption",
        fix=(
            "az feature register --namespace Microsoft.Compute --name EncryptionAtHost, wait for 'Registered', "
            "then az provider register --namespace Microsoft.Compute"
        ),
        commands=(command,),
        evaluate=evaluate,
    )


def azure_stack_providers(config: PlatformConfig) -> tuple[tuple[str, str], ...]:
    """The resource providers of this stack's resources: the platform's, plus the tracking database's and Defender's
    when the stack has them."""
    extra: list[tuple[str, str]] = []
    if config.training.tracking.enabled:
        extra.append(("Microsoft.DBforPostgreSQL", "the tracking server's flexible server"))
    if config.registry.enhanced_scanning:
        extra.append(("Microsoft.Security", "the Defender for Containers plan that scans the registry"))
    return (*AZURE_RESOURCE_PROVIDERS, *extra)


def azure_provider_items(config: PlatformConfig | None = None) -> list[Item]:
    """Every resource provider the stack's resources belong to is registered."""
    items = []
    providers = azure_stack_providers(config) if config is not None else AZURE_RESOURCE_PROVIDERS
    for namespace, used_for in providers:
        command = ("az", "provider", "show", "--namespace", namespace, "--output", "json")

        def evaluate(results: list[CommandResult], command=command) -> Verdict:
            (result,) = results
            if not result.ok:
                return _unreadable(result, command)
            state = result.json().get("registrationState")
            return Verdict("ok" if state == "Registered" else "failed", f"registrationState: {state}")

        items.append(
            Item(
                key=f"azure.provider.{namespace}",
                title=f"resource provider {namespace} is registered ({used_for})",
                why="ARM refuses resources of an unregistered provider (MissingSubscriptionRegistration)",
                doc_url="https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider",
                fix=f"az provider register --namespace {namespace}",
                commands=(command,),
                evaluate=evaluate,
            )
        )
    return items


def azure_deployer_role_item(config: PlatformConfig, target: AzureTarget, identity: Identity | None) -> Item:
    """The deployer may create role assignments: Owner, User Access Administrator or RBAC Administrator."""
    # Whoever runs this stack's `pulumi up` creates its role assignments: the configured deployer when it also
    # installs the Kubernetes layer here, otherwise the signed-in identity (the foundation's deployer).
    configured = config.deployment.deployer.principal if config.deployment.kubernetes_layer == "thisStack" else None
    # Beyond role assignments, the foundation writes other Microsoft.Authorization objects: the AKS pod security
    # policy assignment (always) and, in prod, the tracking database's delete lock.
    writes = ["the AKS pod security policy assignment (Microsoft.Authorization/policyAssignments/write)"]
    if config.training.tracking.enabled and config.protect:
        writes.append("the tracking database's delete lock (Microsoft.Authorization/locks/write)")
    needs_authorization = " or ".join(writes)
    deployer = configured or (identity.principal if identity else None)
    subscription = identity.account if identity and identity.account else "<subscription-id>"
    scope = f"/subscriptions/{subscription}"
    if target.resource_group_name:
        scope += f"/resourceGroups/{target.resource_group_name}"
    command = (
        "az", "role", "assignment", "list", "--assignee", deployer or "<the identity running pulumi up>", "--scope", scope,
        "--include-inherited", "--include-groups", "--output", "json",
    )  # fmt: skip

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if not result.ok:
            return _unreadable(result, command)
        roles = {assignment.get("roleDefinitionName"): assignment for assignment in result.json()}
        granted = [role for role in RBAC_WRITER_ROLES if role in roles]
        if not granted:
            held = ", ".join(sorted(str(role) for role in roles)) or "none"
            return Verdict("failed", f"{deployer} holds {held} at {scope}; none may create role assignments")
        if needs_authorization and not any(role in roles for role in AUTHORIZATION_WRITER_ROLES):
            return Verdict(
                "failed",
                f"{deployer} holds {', '.join(granted)} at {scope}, which may create role assignments but not "
                f"{needs_authorization}",
            )
        conditional = [role for role in granted if roles[role].get("condition")]
        if len(conditional) == len(granted):
            return Verdict(
                "manual",
                f"{', '.join(granted)} with a condition: make sure it allows the roles this stack assigns",
            )
        return Verdict("ok", f"{deployer} holds {', '.join(granted)} at or above {scope}")

    item = Item(
        key="azure.rbac.deployer",
        title=f"the deployer ({deployer or 'the identity running pulumi up'}) may create role assignments at {scope}",
        why=(
            "the stack creates role assignments (Key Vault crypto roles, AcrPull, Network Contributor, AKS RBAC), "
            f"which Contributor may not, and {needs_authorization}, which Role Based Access Control Administrator "
            "may not either"
        ),
        doc_url="https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged",
        fix=f"have an Owner assign 'User Access Administrator' (beside Contributor) to the deployer at {scope}",
        commands=(command,),
        evaluate=evaluate,
        config_path=_key_path("deployment", "deployer", "principal"),
    )
    if deployer is None:
        item.detail = "sign in with `az login` as the identity that will run `pulumi up`"
    return item


def _entra_principals(config: PlatformConfig) -> list[tuple[str, str, str]]:
    """(stack key, object ID, kind) of every Entra principal the stack assigns roles to."""
    found = [(f"cluster.adminPrincipals[{i}]", p, "Group") for i, p in enumerate(config.cluster.admin_principals)]
    deployer = config.deployment.deployer
    if deployer.principal:
        found.append(("deployment.deployer.principal", deployer.principal, deployer.azure_principal_type))
    found += [
        (f"serving.namespaces[{i}].teamGroup", n.team_group, "Group") for i, n in enumerate(config.serving.namespaces)
    ]
    found += [
        (f"training.namespaces[{i}].teamGroup", n.team_group, "Group") for i, n in enumerate(config.training.namespaces)
    ]
    admin = config.training.tracking.database.entra_administrator
    if config.training.tracking.enabled and admin is not None:
        kind = {"group": "Group", "user": "User", "servicePrincipal": "ServicePrincipal"}[admin.type]
        found.append(("training.tracking.database.entraAdministrator.objectId", admin.object_id, kind))
    return found


def azure_principal_items(config: PlatformConfig) -> list[Item]:
    """Each Entra group, user or service principal the stack assigns roles to exists in the tenant."""
    placeholders = {key for key, _ in config.placeholders()}
    items = []
    for key_path, object_id, kind in _entra_principals(config):
        if key_path in placeholders:
            continue
        noun = {"Group": "group", "User": "user", "ServicePrincipal": "sp"}[kind]
        command = ("az", "ad", noun, "show", "--id" if noun != "group" else "--group", object_id, "--output", "json")

        def evaluate(results: list[CommandResult], command=command, kind=kind) -> Verdict:
            (result,) = results
            if result.ok:
                name = result.json().get("displayName")
                return Verdict("ok", f"{kind} '{name}' exists" if name else f"{kind} exists")
            if "does not exist" in result.stderr or "ResourceNotFound" in result.stderr:
                return Verdict("failed", f"no {kind} with this object ID in the tenant")
            return _unreadable(result, command)

        items.append(
            Item(
                key=f"azure.principal.{key_path}",
                title=f"Entra {kind} {object_id} exists ({key_path})",
                why="role assignments to an object ID that is not in the tenant fail with PrincipalNotFound",
                doc_url="https://learn.microsoft.com/azure/role-based-access-control/troubleshooting",
                fix=f"put the object ID of an existing {kind} at {_key_path()}.{key_path}",
                commands=(command,),
                evaluate=evaluate,
                config_path=f"{_key_path()}.{key_path}",
            )
        )
    return items


def azure_items(config: PlatformConfig, target: AzureTarget, identity: Identity | None) -> list[Item]:
    items = [
        *azure_quota_items(config, target),
        *azure_sku_items(config, target),
        azure_feature_item(),
        *azure_provider_items(config),
        azure_deployer_role_item(config, target, identity),
        *azure_principal_items(config),
    ]
    if config.deployment.kubernetes_layer == "thisStack":
        items.append(kubelogin_item())
    return items


# --- Existing clusters ----------------------------------------------------------------------------------


def kubernetes_items(config: PlatformConfig, target: KubernetesTarget) -> list[Item]:
    """An existing cluster needs nothing cloud-side; a cluster-layer stack needs its foundation's outputs, the
    tool its kubeconfig runs, and a place inside the cluster's network to run from."""
    foundation = target.foundation
    if foundation is None:
        return []
    command = ("pulumi", "stack", "output", "--stack", foundation.stack, "--json")

    def evaluate(results: list[CommandResult]) -> Verdict:
        (result,) = results
        if result.returncode == NOT_INSTALLED:
            return Verdict("not-checked", "the pulumi CLI is not installed")
        if not result.ok:
            return _unreadable(result, command)
        if "kubeconfig" not in result.json():
            return Verdict("failed", f"stack {foundation.stack} exports no kubeconfig: deploy it first")
        return Verdict("ok", f"stack {foundation.stack} exports a kubeconfig")

    runner = config.deployment.deployer.runner_label
    return [
        Item(
            key="foundation.outputs",
            title=f"foundation stack {foundation.stack} is deployed and exports its kubeconfig",
            why="this stack installs the Kubernetes layer into the foundation's cluster, read through a StackReference",
            doc_url="https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences",
            fix=f"pulumi up -s {foundation.stack} first (cloud resources; it can run outside the network)",
            commands=(command,),
            evaluate=evaluate,
            local=True,
            config_path=_key_path("target", "foundation", "stack"),
        ),
        aws_cli_item() if foundation.cloud == "aws" else kubelogin_item(),
        Item(
            key="foundation.network",
            title=(
                f"`pulumi up` of this stack runs inside the cluster's network"
                f"{f' (runner label {runner})' if runner else ''}, as the foundation's deployment.deployer.principal"
            ),
            why=(
                "a private API server answers only from its network, and only the foundation's deployer principal "
                "is cluster-admin"
            ),
            doc_url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"
            if foundation.cloud == "aws"
            else "https://learn.microsoft.com/azure/aks/private-clusters",
            fix="run from the runner the foundation's deployment.deployer.network declares (README, *Deployment topology*)",
            status="manual",
            detail="preflight cannot see where it will run",
            config_path=_key_path("deployment", "deployer", "runnerLabel"),
        ),
    ]


# --- The whole checklist --------------------------------------------------------------------------------


def build_checklist(config: PlatformConfig, identity: Identity | None = None) -> list[Item]:
    """Every item that must hold before the first `pulumi up` of the stack `config` describes.

    Args:
        config: the validated stack configuration.
        identity: the signed-in identity, when known; it decides which principals are checked in this account.
    """
    target = config.target
    if isinstance(target, AwsTarget):
        items = aws_items(config, target, identity)
    elif isinstance(target, AzureTarget):
        items = azure_items(config, target, identity)
    else:
        items = kubernetes_items(config, target)
    return [*placeholder_items(config), *items]


@dataclass
class Report:
    """The evaluated checklist of one stack."""

    stack: str
    cloud: str
    location: str | None
    offline: bool
    identity: Identity | None
    items: list[Item]
    note: str = ""
    """Why cloud checks did not run (offline, no CLI, no credentials), or empty."""

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def exit_code(self) -> int:
        """1 when any item failed; items not checked or manual never fail the run."""
        return 1 if self.count("failed") else 0

    def document(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "location": self.location,
            "offline": self.offline,
            "identity": None
            if self.identity is None or self.identity.problem
            else {"account": self.identity.account, "principal": self.identity.principal},
            "note": self.note,
            "summary": {status: self.count(status) for status in SYMBOLS},
            "exitCode": self.exit_code,
            "items": [item.document() for item in self.items],
        }


def run_preflight(
    config: PlatformConfig,
    stack: str,
    runner: Runner,
    *,
    offline: bool = False,
) -> Report:
    """Build the checklist and, unless offline or without credentials, evaluate it with read-only CLI calls."""
    target = config.target
    cloud = config.cloud
    location = (
        target.region if isinstance(target, AwsTarget) else target.location if isinstance(target, AzureTarget) else None
    )
    identity: Identity | None = None
    note = ""
    if offline:
        note = "offline: nothing was run; run the commands shown, with credentials, to check"
    elif cloud in ("aws", "azure"):
        identity = detect_identity(cloud, runner)  # type: ignore[arg-type]
        if identity.problem:
            note = f"cloud checks not run: {identity.problem}"
    items = build_checklist(config, identity if identity and not identity.problem else None)
    answers: dict[tuple[str, ...], CommandResult] = {}
    signed_in = identity is not None and identity.problem is None
    for item in items:
        if item.evaluate is None or item.status != "not-checked":
            continue
        if offline or not (item.local or signed_in):
            item.detail = item.detail or ("offline" if offline else "the cloud CLI is missing or not signed in (above)")
            continue
        for command in item.commands:
            if command not in answers:  # items share commands (`az vm list-usage`): ask once
                answers[command] = runner(command)
        results = [answers[command] for command in item.commands]
        try:
            verdict = item.evaluate(results)
        except (ValueError, KeyError, TypeError) as error:
            verdict = Verdict("not-checked", f"unexpected CLI output ({type(error).__name__}: {error})")
        item.status, item.detail = verdict.status, verdict.detail
    return Report(stack, cloud, location, offline, identity, items, note)


# --- Rendering ------------------------------------------------------------------------------------------


def render_text(report: Report, out: TextIO) -> None:
    """The checklist for people: one block per item, failures with why, command and fix."""
    where = f" ({report.cloud}, {report.location})" if report.location else f" ({report.cloud})"
    out.write(f"Preflight of stack {report.stack}{where}: what must exist before the first `pulumi up`\n")
    if report.identity and not report.identity.problem:
        account = "account" if report.cloud == "aws" else "subscription"
        out.write(f"Checked read-only as {report.identity.principal} in {account} {report.identity.account}\n")
    if report.note:
        out.write(f"{report.note[0].upper()}{report.note[1:]}\n")
    if not report.items:
        out.write("\nNothing cloud-side to check: the cluster exists and this stack creates no cloud resources.\n")
    out.write("\n")
    for item in report.items:
        label = "not checked: " if item.status == "not-checked" else ""
        out.write(f" {SYMBOLS[item.status]} {item.title}\n")
        if item.detail:
            out.write(f"     {label}{item.detail}\n")
        if item.status == "ok":
            continue
        out.write(f"     why: {item.why}\n     see: {item.doc_url}\n")
        for command in item.commands:
            out.write(f"     run: {_shell(command)}\n")
        out.write(f"     fix: {item.fix}\n")
    summary = ", ".join(
        f"{report.count(status)} {name}"
        for status, name in (("ok", "ok"), ("failed", "failed"), ("not-checked", "not checked"), ("manual", "manual"))
    )
    out.write(f"\n{summary}\n")
    out.write(
        "Preflight only reads (get/describe/list/show); it cannot see capacity at launch time, quota taken by other "
        "workloads between now and `pulumi up`, or provider-side validation.\n"
    )
