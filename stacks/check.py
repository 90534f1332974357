"""`python -m stacks check`: replay synthesized stacks through policy packs over gRPC and judge them offline."""

from __future__ import annotations

import difflib
import json
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

import grpc
import jsonschema
import pulumi
import yaml
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2

from policies.replay import (
    CONFIG_DIR,
    PACKS_DIR,
    Analyzer,
    Verdict,
    analyzer_requests,
    configure_request,
    frameworks_for,
    pack_process,
    replay,
    stack_policy_config,
)
from stacks.deployability import DeployabilityReport, stack_deployability
from stacks.deployability import render_text as render_deployability
from stacks.load import PlatformConfigError
from stacks.synth import PROJECT_ROOT, Registration, Synthesis, pulumi_config_for, stack_names, synthesize

OFFLINE_LIMITS = (
    "What an offline check cannot see: it replays what the program registers under Pulumi's mock runtime, so it "
    "misses provider-side defaults and checks, values only the cloud computes (IDs, ARNs and endpoints are "
    "plausible stand-ins; with --preview they stay unknown), and the manifests rendered inside Helm charts (only "
    "the chart resource is checked). `pulumi preview --policy-pack` with credentials stays the authoritative check."
)
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
"""Enforcement levels a pack config may set (the CLI's names)."""
BLOCKING = frozenset({"mandatory", "remediate"})
"""Levels that fail `pulumi preview`/`up`, and so this check (remediate is reported as mandatory offline)."""
RENDERED_BY_PROVIDER = frozenset(
    {
        "kubernetes:helm.sh/v3:Chart",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:kustomize/v2:Directory",
        "kubernetes:yaml/v2:ConfigFile",
        "kubernetes:yaml/v2:ConfigGroup",
    }
)
"""Components whose Kubernetes objects the provider renders: `pulumi preview` checks them, the mock runtime has none."""
PASS, FAIL, FAIL_ADVISORY = "pass", "fail", "fail (advisory)"
NOT_APPLICABLE, NOT_VERIFIABLE, DISABLED = "not applicable", "not verifiable offline", "disabled"
VERDICTS = (FAIL, FAIL_ADVISORY, NOT_VERIFIABLE, PASS, NOT_APPLICABLE, DISABLED)
"""Verdicts of a policy or control, worst first. `fail (advisory)`: only advisory violations, nothing blocks."""
_UNVERIFIED = re.compile(r"^can't run policy '[^']*' from policy pack '[^']*' during preview: ")
"""How the policy SDK words a check that met an unknown value (it reports it as advisory)."""


class CheckError(Exception):
    """The check itself could not run (bad pack, bad pack config, unknown stack): exit code 2."""


# --- Model ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A policy as its pack describes it (GetAnalyzerInfo), with the enforcement the stack's config gives it."""

    pack: str
    name: str
    title: str
    description: str
    remediation: str
    enforcement: str
    """Effective level after the pack config: advisory, mandatory, remediate or disabled."""
    declared_enforcement: str
    """The level the pack declares, before the config."""
    severity: str
    framework: str
    framework_version: str
    control: str
    """Control ID (from the policy's compliance framework specification, e.g. HIPAA-ENC-S3-KMS)."""
    control_title: str
    clauses: tuple[str, ...]
    tags: tuple[str, ...]
    url: str
    stack_wide: bool
    """A stack policy: it sees every resource at once and picks its own."""


@dataclass(frozen=True)
class Resource:
    """A resource the engine would send to the analyzers ('' URN for the stack as a whole)."""

    urn: str
    name: str
    type: str


STACK_RESOURCE = Resource("", "", "stack")
"""Where stack-level diagnostics without a resource point."""


@dataclass(frozen=True)
class Finding:
    """One diagnostic of one pack."""

    policy: Policy
    resource: Resource
    message: str
    """The resource-specific message (the policy description the SDK prepends is removed)."""
    enforcement: str
    unverified: bool
    """The check met a value that is unknown offline: neither a pass nor a violation."""

    @property
    def mandatory(self) -> bool:
        """Blocks an update."""
        return not self.unverified and self.enforcement in BLOCKING

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the problem across packs: the same rule, resource and message in two frameworks is one fix."""
        return (self.policy.name, self.resource.urn, self.message)


@dataclass(frozen=True)
class Exemption:
    """An `exemptions` entry (or `excludeFor` pattern) of a pack config."""

    pack: str
    policy: str
    kind: str
    """`exemption` (reason and expiry) or `excludeFor` (a permanent exclusion without either)."""
    target: str
    """The resource-name pattern or URN it names."""
    reason: str
    expires: str
    status: str
    """`in force`, `expired`, `invalid` (too short a reason or no date; the rule reports it) or `permanent`."""
    resources: tuple[str, ...]
    """Names of the resources whose violations it hides in this stack (the pack reports them without it)."""


@dataclass
class PackResult:
    """One pack's run against one stack."""

    directory: Path
    name: str
    version: str
    display_name: str
    config_file: Path | None
    policies: list[Policy]
    verdict: Verdict

    @cached_property
    def skipped(self) -> dict[str, dict[str, str]]:
        """Policy -> URN ('' for the stack) -> why the policy did not apply to it."""
        index: dict[str, dict[str, str]] = {}
        for item in self.verdict.not_applicable:
            index.setdefault(item.policy, {})[item.urn] = item.reason
        return index

    @property
    def framework(self) -> str:
        """The compliance framework the pack's policies declare (the pack's display name without one)."""
        named = [policy.framework for policy in self.policies if policy.framework]
        return max(set(named), key=named.count) if named else self.display_name or self.name

    @property
    def framework_version(self) -> str:
        """The framework's version or edition."""
        return next((p.framework_version for p in self.policies if p.framework == self.framework), "")


@dataclass(frozen=True)
class Coverage:
    """What one policy looked at in one stack."""

    resources: tuple[Resource, ...]
    """Resources the policy evaluated (passed or failed); for stack policies every resource."""
    not_applicable: str
    """Why the policy did not apply at all ('' when it applied to something)."""


@dataclass
class StackCheck:
    """The verdict of every pack on one stack."""

    project: str
    stack: str
    stack_file: Path
    preview: bool
    resources: list[Resource]
    packs: list[PackResult]
    findings: list[Finding]
    exemptions: list[Exemption]
    config_lines: dict[str, int] = field(default_factory=dict)
    """URN -> line of the stack file that configures the resource (when one names it)."""
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    deployability: DeployabilityReport | None = None
    """Whether what the stack registers can run (None when the check was switched off)."""

    @property
    def violations(self) -> list[Finding]:
        """Every violation, per pack (a rule shared by two packs reports in both)."""
        return [finding for finding in self.findings if not finding.unverified]

    @property
    def mandatory(self) -> list[Finding]:
        """Distinct blocking violations."""
        return _distinct(finding for finding in self.violations if finding.mandatory)

    @property
    def advisory(self) -> list[Finding]:
        """Distinct non-blocking violations."""
        return _distinct(finding for finding in self.violations if not finding.mandatory)

    @property
    def unverified(self) -> list[Finding]:
        """Distinct checks that met values unknown offline."""
        return _distinct(finding for finding in self.findings if finding.unverified)

    @property
    def exemptions_in_force(self) -> list[Exemption]:
        """Exemptions that currently suppress a policy (valid reason, expiry not reached)."""
        return [exemption for exemption in self.exemptions if exemption.status == "in force"]

    @property
    def exit_code(self) -> int:
        """1 when a mandatory policy is violated or a workload cannot run, else 0."""
        return 1 if self.mandatory or (self.deployability and self.deployability.problems) else 0

    def summary(self) -> str:
        """The one-line verdict, e.g. `prod: 3 packs, 190 resources, 0 mandatory, 2 advisory violations, ...`."""
        line = (
            f"{self.stack}: {_plural(len(self.packs), 'pack')}, {_plural(len(self.resources), 'resource')}, "
            f"{len(self.mandatory)} mandatory, {_plural(len(self.advisory), 'advisory violation')}, "
            f"{_plural(len(self.exemptions_in_force), 'exemption')} in force"
        )
        if self.unverified:
            line += f", {_plural(len(self.unverified), 'check')} not verifiable offline"
        if self.deployability is not None:
            line += f"; {self.deployability.summary()}"
        return line

    @property
    def rendered(self) -> list[Resource]:
        """Charts and manifest groups whose objects only the provider renders (invisible offline)."""
        rendered = [resource for resource in self.resources if resource.type in RENDERED_BY_PROVIDER]
        return sorted(rendered, key=lambda resource: (resource.type, resource.name, resource.urn))

    def verdict(self, pack: PackResult, policy: Policy) -> tuple[str, str]:
        """The policy's verdict on this stack and, for the non-obvious ones, why."""
        if policy.enforcement == "disabled":
            return DISABLED, "disabled by the stack's policy pack config"
        own = [finding for finding in self.findings if finding.policy == policy]
        if any(finding.mandatory for finding in own):
            return FAIL, ""
        if any(not finding.unverified for finding in own):
            return FAIL_ADVISORY, ""
        if own:
            return NOT_VERIFIABLE, "the check met values only the cloud computes"
        coverage = self.coverage(pack, policy)
        if not coverage.not_applicable:
            return PASS, ""
        # Policies on Kubernetes objects could apply to what the charts render; those on charts themselves could not.
        on_objects = (
            policy.name.startswith("kubernetes-") or "kubernetes" in policy.tags
        ) and "helm" not in policy.name
        if on_objects and self.rendered:
            return NOT_VERIFIABLE, (
                f"nothing in scope offline, but {_plural(len(self.rendered), 'chart')} or manifest groups render "
                "objects that only `pulumi preview --policy-pack` sees"
            )
        return NOT_APPLICABLE, coverage.not_applicable

    def coverage(self, pack: PackResult, policy: Policy) -> Coverage:
        """The resources `policy` of `pack` evaluated, or why it applied to nothing."""
        if policy.enforcement == "disabled":
            return Coverage((), "disabled by the stack's policy pack config")
        skipped = pack.skipped.get(policy.name, {})
        if policy.stack_wide:
            if "" in skipped:
                return Coverage((), skipped[""])
            return Coverage(tuple(self.resources), "")
        covered = tuple(resource for resource in self.resources if resource.urn not in skipped)
        reasons = sorted(set(skipped.values()))
        return Coverage(covered, "" if covered else "; ".join(reasons[:3]))


def _distinct(findings: Any) -> list[Finding]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        seen.setdefault(finding.key, finding)
    return list(seen.values())


# --- Running the packs ----------------------------------------------------------------------------------


def default_pack_dirs(synthesis: Synthesis) -> list[Path]:
    """The packs a stack runs without `--policy-pack`: its compliance profiles plus the Kubernetes baseline."""
    return [PACKS_DIR / framework for framework in frameworks_for(synthesis)]


DEFAULT_PACK_CONFIG = CONFIG_DIR / "defaults.json"
"""The empty pack config, for packs a stack runs with their defaults (the CLI wants one config per pack or none)."""


def pulumi_policy_arguments(
    stack: str, project_dir: Path = PROJECT_ROOT, *, stack_outputs: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """The `--policy-pack`/`--policy-pack-config` flags `pulumi preview -s <stack>` needs to run what the check runs.

    Raises:
        CheckError, PlatformConfigError, pulumi.InputPropertiesError: the stack cannot be synthesized.
    """
    _require_stack_file(stack, project_dir.resolve())
    arguments: list[str] = []
    for directory in default_pack_dirs(_synthesize(stack, project_dir.resolve(), True, stack_outputs)):
        config_file, _ = pack_config_for(stack, directory)
        arguments += ["--policy-pack", display_path(directory)]
        arguments += ["--policy-pack-config", display_path(config_file or DEFAULT_PACK_CONFIG)]
    return arguments


def _require_stack_file(stack: str, project_dir: Path) -> Path:
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise CheckError(f"unknown stack {stack!r}: {project_dir} has no {stack_file.name} (stacks: {known})")
    return stack_file


def check_pack_dir(directory: Path) -> Path:
    """The resolved pack directory.

    Raises:
        CheckError: when the directory holds no Python policy pack.
    """
    directory = directory.resolve()
    manifest = directory / "PulumiPolicy.yaml"
    if not manifest.is_file():
        raise CheckError(f"{directory} is not a policy pack: it has no PulumiPolicy.yaml")
    runtime = _manifest(manifest).get("runtime")
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if name != "python":
        raise CheckError(f"{directory}: only Python policy packs run offline (PulumiPolicy.yaml runtime is {name!r})")
    if not (directory / "__main__.py").is_file():
        raise CheckError(f"{directory}: a Python policy pack needs a __main__.py")
    return directory


def _manifest(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise CheckError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise CheckError(f"{path}: must be a mapping")
    return document


def pack_config_for(stack: str, pack_dir: Path, explicit: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The `--policy-pack-config` document for a pack: `explicit`, else `policies/config/<stack>/<pack>.json`.

    Raises:
        CheckError: when the file is not a JSON object.
    """
    path = explicit or CONFIG_DIR / stack / f"{pack_dir.name}.json"
    if explicit is None and not path.exists():
        return None, {}
    try:
        document = json.loads(path.read_text()) if explicit else stack_policy_config(stack, pack_dir.name)
    except FileNotFoundError:
        raise CheckError(f"policy pack config {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise CheckError(f"policy pack config {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise CheckError(f"policy pack config {path} must be a JSON object keyed by policy name")
    return path, document


def config_problems(info: Any, config: dict[str, Any]) -> list[str]:
    """What is wrong with a pack config for the pack `info` describes, as the CLI would reject it, and stricter.

    Like the CLI: levels must be valid and every policy's settings (schema defaults filled in) must satisfy its
    config schema. Stricter: a policy name the pack does not have is an error, since its settings would be
    silently ignored (a misspelt exemption or a level that never applies).
    """
    names = {policy.name for policy in info.policies}
    problems: list[str] = []
    for key, value in config.items():
        if key != "all" and key not in names:
            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{key}: {info.name} has no such policy{hint}")
            continue
        level = value if isinstance(value, str) else value.get("enforcementLevel") if isinstance(value, dict) else None
        if not isinstance(value, str | dict):
            problems.append(f"{key}: must be an enforcement level or an object, got {json.dumps(value)}")
        elif level is not None and level not in LEVELS:
            problems.append(f"{key}: {level!r} is not an enforcement level ({', '.join(LEVELS)})")
    if problems:
        return problems
    request = configure_request(info, config)
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema)
        properties = json_format.MessageToDict(request.policyConfig[policy.name].properties)
        validator = jsonschema.Draft7Validator({"type": "object", **schema})
        for error in sorted(validator.iter_errors(properties), key=lambda error: list(error.absolute_path)):
            path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
            problems.append(f"{policy.name}{path}: {error.message}")
    return problems


def _level(value: int) -> str:
    return str(analyzer_pb2.EnforcementLevel.Name(value)).lower()


def _severity(value: int) -> str:
    return (
        str(analyzer_pb2.PolicySeverity.Name(value)).removeprefix("POLICY_SEVERITY_").lower().replace("unspecified", "")
    )


def describe_policies(info: Any, config: dict[str, Any]) -> list[Policy]:
    """The pack's policies with their compliance metadata and the enforcement `config` gives them."""
    effective = configure_request(info, config).policyConfig
    policies = []
    for item in info.policies:
        control, _, control_title = item.framework.specification.partition(": ")
        clauses = tuple(clause.strip() for clause in item.framework.reference.split(",") if clause.strip())
        policies.append(
            Policy(
                pack=info.name,
                name=item.name,
                title=item.displayName or item.name,
                description=item.description,
                remediation=item.remediation_steps,
                enforcement=_level(effective[item.name].enforcementLevel),
                declared_enforcement=_level(item.enforcementLevel),
                severity=_severity(item.severity),
                framework=item.framework.name,
                framework_version=item.framework.version,
                control=control if control_title else item.framework.specification,
                control_title=control_title,
                clauses=clauses,
                tags=tuple(item.tags),
                url=item.url,
                stack_wide=item.policy_type == analyzer_pb2.POLICY_TYPE_STACK,
            )
        )
    return policies


def _findings(verdict: Verdict, policies: dict[str, Policy], resources: dict[str, Resource]) -> list[Finding]:
    findings = []
    for diagnostic in verdict.diagnostics:
        policy = policies[diagnostic.policy]
        unverified = bool(_UNVERIFIED.match(diagnostic.message))
        message = _UNVERIFIED.sub("", diagnostic.message)
        if message.startswith(policy.description):
            message = message[len(policy.description) :].lstrip("\n") or policy.description
        resource = resources.get(diagnostic.urn) or (
            Resource(diagnostic.urn, diagnostic.resource, _type_of(diagnostic.urn))
            if diagnostic.urn
            else STACK_RESOURCE
        )
        findings.append(Finding(policy, resource, message.strip(), diagnostic.enforcement, unverified))
    return findings


def _type_of(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


SUPPRESSIONS = ("excludeFor", "exemptions")
"""The settings through which a pack config takes resources out of a policy."""


def without_suppressions(config: dict[str, Any]) -> dict[str, Any] | None:
    """`config` with every `excludeFor` and `exemptions` removed, or None when it has none."""
    if not any(isinstance(value, dict) and set(value) & set(SUPPRESSIONS) for value in config.values()):
        return None
    return {
        key: {name: item for name, item in value.items() if name not in SUPPRESSIONS}
        if isinstance(value, dict)
        else value
        for key, value in config.items()
    }


def suppressed_violations(with_config: Verdict, without_config: Verdict) -> dict[str, list[str]]:
    """Policy -> URNs of the violations the suppressions hide (reported without them, not with them)."""
    reported = {(item.policy, item.urn) for item in with_config.diagnostics}
    hidden: dict[str, list[str]] = {}
    for item in without_config.diagnostics:
        if item.urn and (item.policy, item.urn) not in reported:
            hidden.setdefault(item.policy, [])
            if item.urn not in hidden[item.policy]:
                hidden[item.policy].append(item.urn)
    return hidden


def exemptions_in(
    config: dict[str, Any], pack: str, hidden: dict[str, list[str]], resources: dict[str, Resource]
) -> list[Exemption]:
    """Every exemption and exclusion of a pack config, its status today, and the violations it hides.

    `hidden` comes from `suppressed_violations`; each hidden violation is attributed to the first entry that
    matches its resource, `excludeFor` before `exemptions`, as the rules apply them.
    """
    today = datetime.now(UTC).date()
    found: list[Exemption] = []
    for policy_name, settings in config.items():
        if not isinstance(settings, dict):
            continue
        entries: list[tuple[Exemption, Any]] = []
        for pattern in settings.get("excludeFor") or []:
            entries.append((Exemption(pack, policy_name, "excludeFor", str(pattern), "", "", "permanent", ()), pattern))
        for entry in settings.get("exemptions") or []:
            if not isinstance(entry, dict):
                continue
            reason, expires = str(entry.get("reason") or ""), str(entry.get("expires") or "")
            target = str(entry.get("urn") or entry.get("name") or "")
            status = _exemption_status(reason, expires, today)
            entries.append((Exemption(pack, policy_name, "exemption", target, reason, expires, status, ()), entry))
        covered: dict[int, list[str]] = {}
        for urn in hidden.get(policy_name, []):
            name = resources[urn].name if urn in resources else urn.rsplit("::", 1)[-1]
            for position, (exemption, spec) in enumerate(entries):
                if exemption.kind == "excludeFor":
                    matches = _full_match(spec, name)
                else:
                    matches = spec.get("urn") == urn or _full_match(spec.get("name"), name)
                if matches:
                    covered.setdefault(position, []).append(name)
                    break
        found += [
            replace(exemption, resources=tuple(sorted(set(covered.get(position, [])))))
            for position, (exemption, _) in enumerate(entries)
        ]
    return found


def _exemption_status(reason: str, expires: str, today: date) -> str:
    try:
        expiry = date.fromisoformat(expires)
    except ValueError:
        return "invalid"
    if len(reason.strip()) < 10:
        return "invalid"
    return "expired" if expiry < today else "in force"


def _full_match(pattern: Any, text: str) -> bool:
    try:
        return isinstance(pattern, str) and re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def config_lines(stack_file: Path, registrations: Sequence[Registration]) -> dict[str, int]:
    """URN -> the stack-file line of the `name:` entry that configures the resource or one of its ancestors.

    A resource is attributed to the longest configured name that appears, hyphen-delimited, in its own name or
    an ancestor's (`prod-a10g-serving-nodes` -> the `name: a10g-serving` line). Resources no entry names point
    at the `mlplatform:platform` key, or line 1.
    """
    try:
        root = yaml.compose(stack_file.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    names: dict[str, int] = {}
    fallback = 1

    def walk(node: Any) -> None:
        nonlocal fallback
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == "mlplatform:platform":
                    fallback = key.start_mark.line + 1
                if key.value == "name" and isinstance(value, yaml.ScalarNode) and len(value.value) >= 3:
                    names.setdefault(value.value, value.start_mark.line + 1)
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    walk(root)
    by_urn = {registration.urn: registration for registration in registrations}
    lines: dict[str, int] = {}
    for registration in registrations:
        chain, current = [], registration
        while current is not None:
            chain.append(f"-{current.name}-")
            current = by_urn.get(current.parent)
        matches = [name for name in names if any(f"-{name}-" in link for link in chain)]
        lines[registration.urn] = names[max(matches, key=len)] if matches else fallback
    lines[""] = fallback
    return lines


PACK_START_TIMEOUT = 60.0
"""Seconds a pack gets to print its port (the first start of a pack can compile its bytecode)."""


@contextmanager
def pack_processes(timeout: float = PACK_START_TIMEOUT) -> Iterator[Callable[[Path], Analyzer]]:
    """A function `start(pack_dir) -> Analyzer` that starts each pack once and stops them all on exit."""
    with ExitStack() as stack:
        started: dict[Path, Analyzer] = {}

        def start(directory: Path) -> Analyzer:
            if directory not in started:
                try:
                    started[directory] = stack.enter_context(pack_process(directory, timeout=timeout))
                except RuntimeError as error:
                    raise CheckError(f"policy pack {directory} failed to start: {_start_failure(error)}") from None
            return started[directory]

        yield start


def _start_failure(error: RuntimeError) -> str:
    """Why a pack did not start, in one line: what happened and the last line the pack printed (its error, not
    its traceback)."""
    what, _, stderr = str(error).partition(":\n")
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    return f"{what}: {last}" if last else what


def check_stack(
    stack: str,
    project_dir: Path,
    start: Callable[[Path], Analyzer],
    *,
    pack_dirs: Sequence[Path] = (),
    pack_configs: Sequence[Path] = (),
    preview: bool = False,
    deployability: bool = True,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> StackCheck:
    """Synthesize `stack` offline and replay it through each pack, returning the combined verdict.

    Args:
        stack: the stack name (`Pulumi.<stack>.yaml` in `project_dir`).
        project_dir: the directory holding Pulumi.yaml.
        start: `pack_dir -> Analyzer`, from `pack_processes()`.
        pack_dirs: packs to run instead of the stack's default selection.
        pack_configs: one `--policy-pack-config` file per entry of `pack_dirs`, instead of `policies/config/`.
        preview: synthesize as a preview (values the cloud computes stay unknown).
        deployability: also judge whether the workloads can run (`stacks.deployability`); for a cluster layer
            this synthesizes its foundation, for a foundation its cluster layer.
        stack_outputs: outputs served to the program's `pulumi.StackReference`s by stack name; None synthesizes
            a cluster layer's foundation in this project for them.

    Raises:
        CheckError, PlatformConfigError, pulumi.InputPropertiesError: the check could not run.
    """
    project_dir = project_dir.resolve()
    stack_file = _require_stack_file(stack, project_dir)
    synthesis = _synthesize(stack, project_dir, preview, stack_outputs)
    if not any(registration.type != "pulumi:pulumi:Stack" for registration in synthesis.registrations):
        raise CheckError(
            f"stack {stack!r} synthesized no resources: {project_dir / '__main__.py'} registered nothing, so no "
            "policy could check anything (is --project-dir the program's directory?)"
        )
    stack_config, _ = pulumi_config_for(stack, project_dir)
    requests = analyzer_requests(synthesis, stack_config)
    resources = [Resource(request.urn, request.name, request.type) for request in requests.analyze]
    by_urn = {resource.urn: resource for resource in resources}
    directories = [check_pack_dir(path) for path in pack_dirs] or default_pack_dirs(synthesis)
    if not directories:
        raise CheckError(f"no policy pack to run for stack {stack!r}: give one with --policy-pack DIR")
    results: list[PackResult] = []
    findings: list[Finding] = []
    exemptions: list[Exemption] = []
    for index, directory in enumerate(directories):
        config_file, config = pack_config_for(stack, directory, pack_configs[index] if pack_configs else None)
        analyzer = start(directory)
        try:
            info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
            if not info.policies:
                raise CheckError(f"policy pack {directory} declares no policies, so it would check nothing")
            problems = config_problems(info, config)
            if problems:
                listing = "\n".join(f"  - {problem}" for problem in problems)
                raise CheckError(f"invalid policy pack config {config_file} for {info.name}:\n{listing}")
            verdict = replay(synthesis, analyzer, policy_config=config, stack_config=stack_config)
            unsuppressed = without_suppressions(config)
            hidden = (
                suppressed_violations(
                    verdict, replay(synthesis, analyzer, policy_config=unsuppressed, stack_config=stack_config)
                )
                if unsuppressed is not None
                else {}
            )
        except grpc.RpcError as error:
            raise CheckError(f"policy pack {directory} failed while checking {stack}: {error}") from None
        policies = {policy.name: policy for policy in describe_policies(info, config)}
        if all(policy.enforcement == "disabled" for policy in policies.values()):
            raise CheckError(
                f"every policy of {info.name} is disabled by {display_path(config_file) if config_file else 'its config'}"
                ", so the pack would check nothing: enable some or drop the pack"
            )
        manifest = _manifest(directory / "PulumiPolicy.yaml")
        results.append(
            PackResult(
                directory=directory,
                name=info.name,
                # The CLI takes the version from PulumiPolicy.yaml; the Python SDK always reports 0.0.1.
                version=str(manifest.get("version") or info.version),
                display_name=info.displayName,
                config_file=config_file,
                policies=list(policies.values()),
                verdict=verdict,
            )
        )
        findings += _findings(verdict, policies, by_urn)
        exemptions += exemptions_in(config, info.name, hidden, by_urn)
    return StackCheck(
        project=synthesis.project,
        stack=stack,
        stack_file=stack_file,
        preview=preview,
        resources=resources,
        packs=results,
        findings=findings,
        exemptions=exemptions,
        config_lines=config_lines(stack_file, synthesis.registrations),
        deployability=_deployability(stack, project_dir, synthesis, preview) if deployability else None,
    )


def _deployability(stack: str, project_dir: Path, synthesis: Synthesis, preview: bool) -> DeployabilityReport:
    try:
        return stack_deployability(stack, project_dir, synthesis, preview=preview)
    except (PlatformConfigError, pulumi.InputPropertiesError):
        raise
    except Exception as error:  # the other layer's program could not run offline: the check did not run
        raise CheckError(
            f"could not judge the deployability of {stack!r}: {type(error).__name__}: {error} "
            "(`--no-deployability` runs the policy packs alone)"
        ) from error


def _synthesize(
    stack: str, project_dir: Path, preview: bool, stack_outputs: dict[str, dict[str, Any]] | None = None
) -> Synthesis:
    try:
        return synthesize(stack, project_dir, preview=preview, stack_outputs=stack_outputs)
    except (PlatformConfigError, pulumi.InputPropertiesError):
        raise
    except Exception as error:  # a program that cannot run offline: the check did not run, which is exit 2
        problem = stack_reference_problem(error, stack, stack_outputs)
        raise CheckError(
            problem
            or f"could not synthesize stack {stack!r}: {type(error).__name__}: {' '.join(str(error).split())} "
            "(rerun with --traceback to see where)"
        ) from error


_NO_OUTPUTS = re.compile(r"stack reference '(?P<name>[^']+)'")


def stack_reference_problem(error: BaseException, stack: str, given: dict[str, dict[str, Any]] | None) -> str | None:
    """What to do when a program failed because a `pulumi.StackReference` had no outputs offline, or None.

    Offline, a StackReference reads only the outputs handed to the synthesis: a cluster layer's foundation in the
    same project is synthesized for them; any other stack's outputs come from `--stack-outputs NAME=FILE`.
    """
    if not isinstance(error, KeyError):
        return None
    text = str(error.args[0]) if error.args else ""
    match = _NO_OUTPUTS.search(text)
    if match:
        name = match["name"]
        return (
            f"stack {stack!r} reads stack '{name}' through a StackReference, whose outputs were not given: pass "
            f"--stack-outputs {name}=FILE.json, FILE from `python -m stacks preview <stack> --json FILE` in that "
            "stack's project or from `pulumi stack output --json`"
        )
    if text and given and all(text not in outputs for outputs in given.values()):
        names = ", ".join(sorted(given))
        have = ", ".join(sorted({key for outputs in given.values() for key in outputs})) or "none"
        return (
            f"could not synthesize stack {stack!r}: KeyError {text!r}, which is not an output in --stack-outputs "
            f"for {names} (outputs given: {have}); give that stack's complete outputs"
        )
    return None


# --- Text output ----------------------------------------------------------------------------------------


def display_path(path: Path) -> str:
    """`path` relative to the working directory (or the repository) when it is inside, else absolute."""
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _wrap(text: str, indent: str, hanging: str = "", width: int = 118) -> str:
    return "\n".join(
        textwrap.fill(
            paragraph, width, initial_indent=indent, subsequent_indent=indent + hanging, break_on_hyphens=False
        )
        for paragraph in text.splitlines() or [""]
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _resource_label(resource: Resource) -> str:
    return "the stack as a whole" if not resource.urn else f"{resource.type}  {resource.name}"


def _framework_label(pack: PackResult) -> str:
    version = f", {pack.framework_version}" if pack.framework_version else ""
    return f"{pack.framework}{version} ({pack.name} {pack.version}, {len(pack.policies)} policies)"


def render_text(check: StackCheck, out: TextIO) -> None:
    """The human verdict: violations by framework and control, each with resource, message and fix."""
    mode = "preview" if check.preview else "update"
    out.write(
        f"Policy check of {check.project}/{check.stack} offline ({mode} mode, Pulumi mock runtime): "
        f"{_plural(len(check.resources), 'resource')} replayed through {_plural(len(check.packs), 'pack')} "
        "over the Analyzer protocol\n"
    )
    for pack in check.packs:
        config = f"; config {display_path(pack.config_file)}" if pack.config_file else ""
        out.write(f"  {pack.name} {pack.version} from {display_path(pack.directory)}{config}\n")
    for pack in check.packs:
        _render_pack(check, pack, out)
    _render_config_changes(check, out)
    _render_exemptions(check, out)
    if check.deployability is not None:
        render_deployability(check.deployability, out)
    if check.unverified:
        out.write(f"\nNot verifiable offline ({len(check.unverified)}): the check met values only the cloud computes\n")
        for finding in check.unverified:
            label = f"{finding.policy.name} on {finding.resource.name or 'the stack'}: {finding.message}"
            out.write(_wrap(label, "  ", "  ") + "\n")
    if check.mandatory:
        out.write("\nMandatory violations by resource (these fail the check):\n")
        by_resource: dict[Resource, list[str]] = {}
        for finding in check.mandatory:
            by_resource.setdefault(finding.resource, []).append(finding.policy.name)
        for resource, names in sorted(by_resource.items(), key=lambda item: (item[0].type, item[0].name)):
            out.write(_wrap(f"{_resource_label(resource)}: {', '.join(sorted(set(names)))}", "  ", "    ") + "\n")
    if check.deployability is not None and check.deployability.problems:
        out.write("\nWorkloads that cannot run (these fail the check):\n")
        by_subject: dict[str, list[str]] = {}
        for problem in check.deployability.problems:
            by_subject.setdefault(problem.workload, []).append(problem.kind.rule)
        for subject, rules in sorted(by_subject.items()):
            out.write(_wrap(f"{subject}: {', '.join(sorted(set(rules)))}", "  ", "    ") + "\n")
    out.write(f"\n{check.summary()}\n\n{_wrap(OFFLINE_LIMITS, '')}\n")
    if check.rendered:
        names = ", ".join(resource.name for resource in check.rendered)
        out.write(_wrap(f"Rendered by the provider, so unseen here: the objects of {names}.", "") + "\n")


def _render_pack(check: StackCheck, pack: PackResult, out: TextIO) -> None:
    violations = [finding for finding in check.violations if finding.policy.pack == pack.name]
    mandatory = sum(1 for finding in violations if finding.mandatory)
    verdict = (
        f"{mandatory} mandatory, {len(violations) - mandatory} advisory violations" if violations else "no violations"
    )
    out.write(f"\n{_framework_label(pack)}: {verdict}\n")
    by_control: dict[str, list[Finding]] = {}
    for finding in violations:
        by_control.setdefault(finding.policy.control, []).append(finding)
    for control in sorted(by_control):
        first = by_control[control][0].policy
        clauses = f"  ({', '.join(first.clauses)})" if first.clauses else ""
        out.write(f"  {control or '(no control)'}  {first.control_title}{clauses}\n")
        by_policy: dict[Policy, list[Finding]] = {}
        for finding in by_control[control]:
            by_policy.setdefault(finding.policy, []).append(finding)
        for policy, findings in sorted(by_policy.items(), key=lambda item: (not item[1][0].mandatory, item[0].name)):
            level = "MANDATORY" if findings[0].mandatory else "advisory"
            out.write(f"    {level}  {policy.name}\n")
            for finding in sorted(findings, key=lambda f: (f.resource.type, f.resource.name)):
                out.write(f"      {_resource_label(finding.resource)}\n")
                out.write(_wrap(finding.message, " " * 8) + "\n")
            if policy.remediation:
                out.write(_wrap(f"fix: {policy.remediation}", " " * 6) + "\n")


def _render_config_changes(check: StackCheck, out: TextIO) -> None:
    changed = [
        (pack, policy)
        for pack in check.packs
        for policy in pack.policies
        if policy.enforcement != policy.declared_enforcement
    ]
    if changed:
        out.write("\nEnforcement changed by the stack's policy pack config:\n")
        for pack, policy in changed:
            out.write(f"  {pack.name} {policy.name}: {policy.declared_enforcement} -> {policy.enforcement}\n")


def _render_exemptions(check: StackCheck, out: TextIO) -> None:
    if not check.exemptions:
        out.write("\nExemptions: none\n")
        return
    out.write("\nExemptions and exclusions in the stack's policy pack config:\n")
    for exemption in check.exemptions:
        hides = f"hides violations on {', '.join(exemption.resources)}" if exemption.resources else "hides no violation"
        if exemption.kind == "excludeFor":
            head = f"{exemption.policy}: excludeFor {exemption.target!r} (permanent: no reason, no expiry)"
        else:
            head = f"{exemption.policy}: {exemption.target!r}, {exemption.status}, expires {exemption.expires or '?'}"
        out.write(_wrap(f"[{exemption.pack}] {head}; {hides}", "  ", "  ") + "\n")
        if exemption.reason:
            out.write(_wrap(f"reason: {exemption.reason}", "    ") + "\n")
