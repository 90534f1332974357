"""Deployment topology of the stack files: each stack's role, the foundation it reads, where CI runs it, in what order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stacks.config import FoundationConfig, PlatformConfig
from stacks.load import FULL_KEY, PlatformConfigError, platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT, project_name, stack_names

Role = Literal["single", "foundation", "cluster-layer", "existing-cluster"]

HOSTED_RUNNER = "ubuntu-latest"
"""The GitHub-hosted runner for stacks that only call cloud APIs (or a public, allow-listed Kubernetes API)."""
SELF_HOSTED = "self-hosted"
"""The label every self-hosted runner carries; the stack's `runnerLabel` picks the one inside its network."""
LOCAL_DISTRIBUTIONS = ("kind", "minikube", "docker-desktop")
"""Kubeconfig-context targets that live on a workstation: never deployed from CI."""

DEFAULT_KUBELOGIN_MODE = "azurecli"
"""kubelogin's mode when `deployment.deployer.kubelogin` is unset (stacks/config.py documents the same default)."""

KUBERNETES_LAYER_KEY = f"{FULL_KEY}.deployment.kubernetesLayer"
RUNNER_LABEL_KEY = f"{FULL_KEY}.deployment.deployer.runnerLabel"
FOUNDATION_STACK_KEY = f"{FULL_KEY}.target.foundation.stack"
FOUNDATION_CLOUD_KEY = f"{FULL_KEY}.target.foundation.cloud"
ENVIRONMENT_KEY = f"{FULL_KEY}.environment"

_KUBECONFIG_EXEC = {"aws": "aws", "azure": "kubelogin"}
"""The command each cloud's kubeconfig runs for a token: `aws eks get-token`, `kubelogin get-token`."""


class TopologyError(Exception):
    """The stack files do not form a deployable topology; every problem names its stack file and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"the stack topology has {len(problems)} {noun}:\n{listing}")


@dataclass(frozen=True)
class FoundationReference:
    """The foundation stack a cluster-layer stack reads through its StackReference."""

    stack: str
    """Fully qualified, as in the stack file: `<org>/<project>/<stack>`."""
    name: str
    """The stack name in this project (the last segment), i.e. `Pulumi.<name>.yaml`."""
    cloud: str
    """aws or azure: the cloud of the foundation, and the one CI signs in to for the cluster layer."""


@dataclass(frozen=True)
class StackTopology:
    """One stack file's place in the deployment."""

    stack: str
    role: Role
    cloud: str
    """The stack's own target cloud (kubernetes for a cluster layer)."""
    environment: str
    region: str | None
    """AWS region or Azure location of the cloud resources the stack creates or reads; None for a kubeconfig target."""
    credentials: str | None
    """The cloud CI signs in to for this stack (aws, azure), or None when it needs no cloud."""
    kubeconfig_exec: str | None
    """The credential plugin the stack's kubeconfig runs (aws for `aws eks get-token`, kubelogin), if any."""
    kubelogin_mode: str | None
    """With kubelogin: how it signs in (`deployment.deployer.kubelogin` of the stack that creates the cluster)."""
    runs_on: str | list[str] | None
    """GitHub Actions `runs-on`, or None when CI cannot deploy the stack (see `reason`)."""
    reason: str
    """Why CI runs the stack there, or why it cannot."""
    foundation: FoundationReference | None = None
    cluster_layers: tuple[str, ...] = ()
    """For a foundation: the stacks that deploy its Kubernetes layer."""
    after: tuple[str, ...] = field(default=())
    """Stacks whose `pulumi up` must finish first."""

    @property
    def stack_file(self) -> str:
        return f"Pulumi.{self.stack}.yaml"

    @property
    def deployable(self) -> bool:
        return self.runs_on is not None

    @property
    def wave(self) -> int:
        """1 for stacks that read no other stack, 2 for a cluster layer (after its foundation)."""
        return 2 if self.after else 1

    def document(self) -> dict[str, Any]:
        """The JSON form (camelCase keys), as `python -m stacks topology --json` prints it."""
        return {
            "stack": self.stack,
            "stackFile": self.stack_file,
            "role": self.role,
            "cloud": self.cloud,
            "environment": self.environment,
            "region": self.region,
            "credentials": self.credentials,
            "kubeconfigExec": self.kubeconfig_exec,
            "kubeloginMode": self.kubelogin_mode,
            "foundation": (
                {"stack": self.foundation.stack, "name": self.foundation.name, "cloud": self.foundation.cloud}
                if self.foundation
                else None
            ),
            "clusterLayers": list(self.cluster_layers),
            "deployable": self.deployable,
            "runsOn": self.runs_on,
            "reason": self.reason,
            "wave": self.wave,
            "after": list(self.after),
        }


@dataclass(frozen=True)
class Topology:
    """Every requested stack, in deploy order."""

    project: str
    stacks: list[StackTopology]

    def document(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "order": [entry.stack for entry in self.stacks],
            "stacks": [entry.document() for entry in self.stacks],
        }


def load_topology(stacks: Iterable[str] | None = None, project_dir: Path = PROJECT_ROOT) -> Topology:
    """Read the stack files and place each requested stack (all when None) in the deployment.

    A cluster layer's foundation is read even when it was not requested; the other stack files are read only to
    find the cluster layers of a requested foundation, and a broken one there is left to its own check.

    Raises:
        TopologyError: every problem, each naming its stack file and key.
    """
    known = stack_names(project_dir)
    requested = list(stacks) if stacks else known
    problems: list[str] = []
    configs: dict[str, PlatformConfig] = {}

    def read(stack: str, referenced_by: str | None = None) -> None:
        if stack in configs:
            return
        path = project_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            if referenced_by:
                problems.append(
                    f"Pulumi.{referenced_by}.yaml: {FOUNDATION_STACK_KEY}: names stack '{stack}', "
                    f"but this project has no Pulumi.{stack}.yaml (stacks: {', '.join(known) or 'none'})"
                )
            else:
                problems.append(f"Pulumi.{stack}.yaml: no such stack file (stacks: {', '.join(known) or 'none'})")
            return
        try:
            configs[stack] = platform_config_from_stack_file(path)
        except PlatformConfigError as error:
            problems.extend(f"Pulumi.{stack}.yaml: {problem}" for problem in error.problems)

    for stack in requested:
        read(stack)
    for stack in list(configs):
        foundation = configs[stack].foundation
        if foundation is not None:
            read(foundation.stack_name, referenced_by=stack)
    if problems:
        raise TopologyError(problems)
    others: dict[str, PlatformConfig] = {}
    for stack in known:
        if stack not in configs:
            try:
                others[stack] = platform_config_from_stack_file(project_dir / f"Pulumi.{stack}.yaml")
            except PlatformConfigError:
                continue
    return build_topology({**others, **configs}, project_name(project_dir), requested)


def build_topology(configs: Mapping[str, PlatformConfig], project: str, requested: Iterable[str]) -> Topology:
    """Place the requested stacks, given the validated config of every stack they involve.

    Raises:
        TopologyError: a cluster layer whose foundation is missing, of another cloud, project or environment, or
            that deploys its own Kubernetes layer; or two cluster layers on one foundation.
    """
    wanted = list(dict.fromkeys(requested))
    problems: list[str] = []
    references: dict[str, FoundationReference] = {}
    for stack, config in configs.items():
        foundation = config.foundation
        if foundation is None:
            continue
        # Only the requested stacks' problems count; the others are read to find a foundation's cluster layers.
        own_problems: list[str] = []
        reference = _reference(stack, config, foundation, configs, project, own_problems)
        if stack in wanted:
            problems += own_problems
        if reference:
            references[stack] = reference
    layers_of: dict[str, list[str]] = {}
    for stack, reference in sorted(references.items()):
        layers_of.setdefault(reference.name, []).append(stack)
    for foundation_stack, layers in sorted(layers_of.items()):
        if len(layers) > 1 and ({foundation_stack, *layers} & set(wanted)):
            files = ", ".join(f"Pulumi.{layer}.yaml" for layer in layers)
            problems.append(
                f"{files}: {FOUNDATION_STACK_KEY}: all read '{foundation_stack}'; one cluster-layer stack deploys a "
                "cluster's Kubernetes layer, or they fight over the same objects"
            )
    if problems:
        raise TopologyError(problems)
    placed = [
        _place(stack, configs[stack], references.get(stack), configs, tuple(layers_of.get(stack, ())))
        for stack in wanted
    ]
    placed.sort(key=lambda entry: (entry.wave, entry.stack))
    return Topology(project=project, stacks=placed)


def _reference(
    stack: str,
    config: PlatformConfig,
    foundation: FoundationConfig,
    configs: Mapping[str, PlatformConfig],
    project: str,
    problems: list[str],
) -> FoundationReference | None:
    where = f"Pulumi.{stack}.yaml"
    _organization, foundation_project, name = foundation.stack.split("/")  # FoundationConfig checked the form
    if foundation_project != project:
        problems.append(
            f"{where}: {FOUNDATION_STACK_KEY}: '{foundation.stack}' is in project '{foundation_project}'; a cluster "
            f"layer reads the foundation deployed by this program, so it must be <org>/{project}/<stack>"
        )
        return None
    if name == stack:
        problems.append(f"{where}: {FOUNDATION_STACK_KEY}: a stack cannot be its own foundation")
        return None
    target = configs.get(name)
    if target is None:
        problems.append(f"{where}: {FOUNDATION_STACK_KEY}: names stack '{name}', but Pulumi.{name}.yaml is missing")
        return None
    role = _role(target)
    if role != "foundation":
        fix = (
            f"; set {KUBERNETES_LAYER_KEY}: clusterStack in Pulumi.{name}.yaml, so that only {stack} deploys the "
            "Kubernetes layer"
            if role == "single"
            else ""
        )
        problems.append(f"{where}: {FOUNDATION_STACK_KEY}: '{name}' is a {role} stack, not a foundation{fix}")
        return None
    if foundation.cloud != target.cloud:
        problems.append(
            f"{where}: {FOUNDATION_CLOUD_KEY}: is '{foundation.cloud}', but Pulumi.{name}.yaml targets '{target.cloud}'"
        )
        return None
    if config.environment != target.environment:
        problems.append(
            f"{where}: {ENVIRONMENT_KEY}: is '{config.environment}', but its foundation Pulumi.{name}.yaml is "
            f"'{target.environment}'; a cluster layer follows the rules of its cluster's environment"
        )
        return None
    return FoundationReference(stack=foundation.stack, name=name, cloud=target.cloud)


def _role(config: PlatformConfig) -> Role:
    if config.cloud == "kubernetes":
        return "cluster-layer" if config.foundation is not None else "existing-cluster"
    return "foundation" if config.deployment.kubernetes_layer == "clusterStack" else "single"


def _kubelogin_mode(cluster_config: PlatformConfig) -> str | None:
    if cluster_config.cloud != "azure":
        return None
    return cluster_config.deployment.deployer.kubelogin or DEFAULT_KUBELOGIN_MODE


def _region(config: PlatformConfig) -> str | None:
    return getattr(config.target, "region", None) or getattr(config.target, "location", None)


def _place(
    stack: str,
    config: PlatformConfig,
    reference: FoundationReference | None,
    configs: Mapping[str, PlatformConfig],
    cluster_layers: tuple[str, ...],
) -> StackTopology:
    role = _role(config)
    where = f"Pulumi.{stack}.yaml"
    label = config.deployment.deployer.runner_label
    in_network: list[str] | None = [SELF_HOSTED, label] if label else None
    common = {"stack": stack, "role": role, "cloud": config.cloud, "environment": config.environment}

    if role == "foundation":
        layers = ", ".join(cluster_layers)
        reason = "cloud resources only: a GitHub-hosted runner signs in with OIDC" + (
            f"; its Kubernetes layer is {layers}"
            if layers
            else f"; no stack reads it yet, so nothing deploys its Kubernetes layer (add a cluster-layer stack "
            f"whose {FOUNDATION_STACK_KEY} names it)"
        )
        return StackTopology(
            **common,
            region=_region(config),
            credentials=config.cloud,
            kubeconfig_exec=None,
            kubelogin_mode=None,
            runs_on=HOSTED_RUNNER,
            reason=reason,
            cluster_layers=cluster_layers,
        )

    if role == "cluster-layer":
        assert reference is not None  # build_topology resolved every cluster layer's foundation first
        reason = (
            f"the Kubernetes layer of {reference.name}'s private cluster: a runner inside its network"
            if in_network
            else f"{where}: {RUNNER_LABEL_KEY}: not set; the Kubernetes layer of {reference.name}'s private cluster "
            "is deployed from a self-hosted runner inside its network, so CI cannot run it until the label is set"
        )
        return StackTopology(
            **common,
            region=_region(configs[reference.name]),
            credentials=reference.cloud,
            kubeconfig_exec=_KUBECONFIG_EXEC[reference.cloud],
            kubelogin_mode=_kubelogin_mode(configs[reference.name]),
            runs_on=in_network,
            reason=reason,
            foundation=reference,
            after=(reference.name,),
        )

    if role == "existing-cluster":
        return _place_existing_cluster(stack, config, in_network)

    endpoint = config.cluster.endpoint
    runs_on: str | list[str] | None = in_network
    reason = "cluster and Kubernetes layer in one stack: a runner inside its network"
    if not in_network and endpoint.public_access:
        runs_on = HOSTED_RUNNER
        cidrs = ", ".join(str(cidr) for cidr in endpoint.public_access_cidrs)
        reason = (
            f"cluster and Kubernetes layer in one stack with a public API limited to {cidrs}: a hosted runner "
            f"reaches it only if those networks include its address; otherwise set {RUNNER_LABEL_KEY}"
        )
    elif not in_network:
        reason = (
            f"{where}: {RUNNER_LABEL_KEY}: not set; the API endpoint is private and this one stack also deploys "
            f"the Kubernetes layer, so CI needs a runner inside the network (or split it: {KUBERNETES_LAYER_KEY}: "
            "clusterStack plus a cluster-layer stack)"
        )
    return StackTopology(
        **common,
        region=_region(config),
        credentials=config.cloud,
        kubeconfig_exec=_KUBECONFIG_EXEC[config.cloud],
        kubelogin_mode=_kubelogin_mode(config),
        runs_on=runs_on,
        reason=reason,
    )


def _place_existing_cluster(stack: str, config: PlatformConfig, in_network: list[str] | None) -> StackTopology:
    target = config.target
    context = target.kubeconfig_context
    runs_on = in_network
    reason = f"an existing cluster through kubeconfig context '{context}' on the runner"
    if target.distribution in LOCAL_DISTRIBUTIONS:
        runs_on = None
        reason = (
            f"a {target.distribution} cluster on a workstation (kubeconfig context '{context}'): deployed from that "
            "machine, never from CI"
        )
    elif not in_network:
        reason = (
            f"Pulumi.{stack}.yaml: {RUNNER_LABEL_KEY}: not set; the cluster is reached through kubeconfig context "
            f"'{context}', which only a runner configured for it has"
        )
    return StackTopology(
        stack=stack,
        role="existing-cluster",
        cloud=config.cloud,
        environment=config.environment,
        region=None,
        credentials=None,
        kubeconfig_exec=None,
        kubelogin_mode=None,
        runs_on=runs_on,
        reason=reason,
    )


def render_table(topology: Topology) -> str:
    """A human-readable listing: one line per stack in deploy order, then the reason under it."""
    lines = [f"Deployment topology of {topology.project} (deploy order, top to bottom)", ""]
    header = ("stack", "role", "cloud", "environment", "runs on", "after")
    rows = [
        (
            entry.stack,
            entry.role,
            entry.cloud if not entry.foundation else f"kubernetes on {entry.foundation.cloud}",
            entry.environment,
            _runs_on_text(entry.runs_on),
            ", ".join(entry.after) or "-",
        )
        for entry in topology.stacks
    ]
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines.append("")
    lines += [f"{entry.stack}: {entry.reason}" for entry in topology.stacks]
    return "\n".join(lines) + "\n"


def _runs_on_text(runs_on: str | list[str] | None) -> str:
    if runs_on is None:
        return "not from CI"
    return runs_on if isinstance(runs_on, str) else f"[{', '.join(runs_on)}]"
