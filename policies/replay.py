"""Replay an offline synthesis through a policy pack over the Analyzer protocol, as the Pulumi CLI does.

`analyzer_requests` turns a `stacks.synth.Synthesis` into the `AnalyzeRequest`s and the `AnalyzeStackRequest`
the engine would send; `replay` configures a pack (in-process servicer or a pack process started like the CLI
starts it, see `pack_process`), sends them and collects a `Verdict`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

PACKS_DIR = Path(__file__).resolve().parent / "packs"
CONFIG_DIR = Path(__file__).resolve().parent / "config"
"""Per-stack policy configuration: `<stack>/<pack>.json` (see its README)."""

_LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_LEVEL_VALUES = {name: value for value, name in _LEVELS.items()}
_SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", 400 * 1024 * 1024),
    ("grpc.max_send_message_length", 400 * 1024 * 1024),
]


class Analyzer(Protocol):
    """The four Analyzer calls a replay makes (a gRPC stub or the in-process servicer, see `InProcess`)."""

    def GetAnalyzerInfo(self, request: Any) -> Any: ...  # noqa: N802 - gRPC method names
    def Configure(self, request: Any) -> Any: ...  # noqa: N802
    def Analyze(self, request: Any) -> Any: ...  # noqa: N802
    def AnalyzeStack(self, request: Any) -> Any: ...  # noqa: N802


class InProcess:
    """Adapts a `_PolicyAnalyzerServicer` (no socket, same code path as the server) to `Analyzer`."""

    def __init__(self, servicer: Any) -> None:
        self._servicer = servicer

    def GetAnalyzerInfo(self, request: Any) -> Any:  # noqa: N802
        return self._servicer.GetAnalyzerInfo(request, None)

    def Configure(self, request: Any) -> Any:  # noqa: N802
        return self._servicer.Configure(request, None)

    def Analyze(self, request: Any) -> Any:  # noqa: N802
        return self._servicer.Analyze(request, None)

    def AnalyzeStack(self, request: Any) -> Any:  # noqa: N802
        return self._servicer.AnalyzeStack(request, None)


def in_process(framework: str) -> InProcess:
    """The pack of `framework` as an in-process analyzer (the servicer `PolicyPack` would serve)."""
    # Imported on use: replaying over gRPC needs neither the rules nor the SDK's private servicer.
    from pulumi_policy.policy import _PolicyAnalyzerServicer  # private: pulumi-policy is pinned to 1.21

    from policies.frameworks import PACK_VERSION, pack_arguments

    arguments = pack_arguments(framework)
    return InProcess(
        _PolicyAnalyzerServicer(
            arguments.pop("name"),
            PACK_VERSION,
            arguments.pop("policies"),
            arguments.pop("enforcement_level"),
            None,
            **arguments,
        )
    )


@contextmanager
def pack_process(pack_dir: Path, python: str = sys.executable, timeout: float = 60.0) -> Iterator[Analyzer]:
    """Start a pack the way the Pulumi CLI does and yield a gRPC Analyzer client.

    The pack runs as its own process, `python -u __main__.py` with the pack directory as working directory;
    it prints its port on the first line of stdout.

    Raises:
        RuntimeError: when the pack exits or prints no port within `timeout` seconds (with its stderr).
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [python, "-u", "__main__.py"], cwd=pack_dir, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            port = _read_port(process, stderr, timeout)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
            grpc.channel_ready_future(channel).result(timeout=timeout)
            try:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
            finally:
                channel.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def _read_port(process: subprocess.Popen[str], stderr: Any, timeout: float) -> int:
    """The port the pack prints first; a reader thread keeps a silent or hung pack from blocking forever."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or []:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    line = ""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line.strip().isdigit():
            return int(line.strip())
        if not line:
            break
    process.kill()
    process.wait()
    stderr.seek(0)
    raise RuntimeError(
        f"the policy pack did not print its port (exit code {process.poll()}, last line {line!r}):\n"
        f"{stderr.read().decode(errors='replace')}"
    )


# --- Requests --------------------------------------------------------------------------------------------


def _package(type_token: str) -> str:
    return type_token.split(":", 1)[0]


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference else ""


def _default_providers(
    registrations: list[Any], project: str, stack: str, stack_config: Mapping[str, str]
) -> dict[str, Any]:
    """Default provider resources the engine would create, with props from the package's stack config."""
    packages = {
        _package(registration.type)
        for registration in registrations
        if registration.custom and not registration.provider and not registration.type.startswith("pulumi:")
    }
    providers: dict[str, Any] = {}
    for package in sorted(packages):
        props = {key.split(":", 1)[1]: value for key, value in stack_config.items() if key.split(":", 1)[0] == package}
        struct = struct_pb2.Struct()
        struct.update(props)
        urn = f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default"
        providers[package] = analyzer_pb2.AnalyzerProviderResource(
            type=f"pulumi:providers:{package}", properties=struct, urn=urn, name="default"
        )
    return providers


def _options(registration: Any) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=registration.protect,
        ignoreChanges=registration.ignore_changes,
        deleteBeforeReplace=registration.delete_before_replace,
        deleteBeforeReplaceDefined=registration.delete_before_replace,
        additionalSecretOutputs=registration.additional_secret_outputs,
        parent=registration.parent,
    )


@dataclass
class Requests:
    """What the engine sends to an analyzer for one stack."""

    analyze: list[analyzer_pb2.AnalyzeRequest]
    analyze_stack: analyzer_pb2.AnalyzeStackRequest
    names: dict[str, str] = field(default_factory=dict)
    """URN -> logical name, to label stack-level diagnostics."""


def analyzer_requests(synthesis: Any, stack_config: Mapping[str, str] | None = None) -> Requests:
    """The Analyze requests (one per registration) and the AnalyzeStack request for a synthesized stack.

    Args:
        synthesis: a `stacks.synth.Synthesis`.
        stack_config: the stack's config (`pkg:key` -> string, as `stacks.synth.pulumi_config_for` returns it);
            it becomes the properties of the default providers, as the engine does.
    """
    registrations = list(synthesis.registrations)
    by_urn = {registration.urn: registration for registration in registrations}
    defaults = _default_providers(registrations, synthesis.project, synthesis.stack, stack_config or {})
    extra: list[analyzer_pb2.AnalyzeRequest] = []
    extra_stack: list[analyzer_pb2.AnalyzerResource] = []
    for provider in defaults.values():
        extra.append(
            analyzer_pb2.AnalyzeRequest(
                type=provider.type, properties=provider.properties, urn=provider.urn, name=provider.name
            )
        )
        extra_stack.append(
            analyzer_pb2.AnalyzerResource(
                type=provider.type, properties=provider.properties, urn=provider.urn, name=provider.name
            )
        )

    def provider_of(registration: Any) -> analyzer_pb2.AnalyzerProviderResource | None:
        if registration.type.startswith("pulumi:") or not registration.custom:
            return None
        explicit = by_urn.get(_provider_urn(registration.provider))
        if explicit is not None:
            return analyzer_pb2.AnalyzerProviderResource(
                type=explicit.type, properties=explicit.request.object, urn=explicit.urn, name=explicit.name
            )
        return defaults.get(_package(registration.type))

    analyze: list[analyzer_pb2.AnalyzeRequest] = list(extra)
    resources: list[analyzer_pb2.AnalyzerResource] = list(extra_stack)
    for registration in registrations:
        provider = provider_of(registration)
        common: dict[str, Any] = {
            "type": registration.type,
            "properties": registration.request.object,
            "urn": registration.urn,
            "name": registration.name,
            "options": _options(registration),
        }
        if provider is not None:
            common["provider"] = provider
        analyze.append(analyzer_pb2.AnalyzeRequest(**common))
        resources.append(
            analyzer_pb2.AnalyzerResource(
                **common,
                parent=registration.parent,
                dependencies=registration.dependencies,
                propertyDependencies={
                    key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                    for key, urns in registration.property_dependencies.items()
                },
            )
        )
    names = {registration.urn: registration.name for registration in registrations}
    names.update({provider.urn: provider.name for provider in defaults.values()})
    return Requests(analyze, analyzer_pb2.AnalyzeStackRequest(resources=resources), names)


# --- Configuration ---------------------------------------------------------------------------------------


def configure_request(
    info: Any, policy_config: Mapping[str, Any] | None = None
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """The Configure request the CLI derives from `--policy-pack-config`: every policy, with its level and settings.

    Like the CLI, policies absent from the file keep their declared enforcement level, schema defaults fill
    unset properties, and the key "all" sets the level of every policy.
    """
    policy_config = dict(policy_config or {})
    all_level = policy_config.pop("all", None)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        given = policy_config.get(policy.name, {})
        if isinstance(given, str):
            given = {"enforcementLevel": given}
        properties = {
            key: json_format.MessageToDict(value).get("default")
            for key, value in policy.configSchema.properties.items()
            if "default" in json_format.MessageToDict(value)
        }
        properties.update({key: value for key, value in given.items() if key != "enforcementLevel"})
        level = given.get("enforcementLevel") or (all_level if isinstance(all_level, str) else None)
        struct = struct_pb2.Struct()
        struct.update(json.loads(json.dumps(properties)))
        request.policyConfig[policy.name].CopyFrom(
            analyzer_pb2.PolicyConfig(
                enforcementLevel=_LEVEL_VALUES[level] if level else policy.enforcementLevel, properties=struct
            )
        )
    return request


BASELINE = "kubernetes-baseline"


def frameworks_for(synthesis: Any) -> list[str]:
    """The packs a stack must pass: its compliance profiles plus the Kubernetes baseline; every pack in prod."""
    if synthesis.outputs.get("environment") == "prod":
        return ["gdpr", "hipaa", BASELINE]
    return [*sorted(synthesis.outputs.get("complianceProfiles") or []), BASELINE]


def stack_policy_config(stack: str, framework: str, directory: Path = CONFIG_DIR) -> dict[str, Any]:
    """The `--policy-pack-config` document of a stack and pack, or {} when the stack uses the defaults."""
    path = directory / stack / f"{framework}.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --- Verdicts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostic:
    """One policy diagnostic, as the CLI would print it."""

    pack: str
    policy: str
    urn: str
    resource: str
    """Logical name of the resource at fault ('' for the whole stack)."""
    message: str
    enforcement: str
    severity: str


@dataclass(frozen=True)
class NotApplicable:
    """A policy that did not apply to a resource (or to the stack), with the reason."""

    policy: str
    urn: str
    reason: str


@dataclass
class Verdict:
    """Everything one pack reported for one stack."""

    pack: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Diagnostic]:
        """Diagnostics that block an update."""
        return [item for item in self.diagnostics if item.enforcement in ("mandatory", "remediate")]

    @property
    def advisory(self) -> list[Diagnostic]:
        """Diagnostics that only warn."""
        return [item for item in self.diagnostics if item.enforcement == "advisory"]

    def failing(self, level: str = "mandatory") -> dict[str, set[str]]:
        """Resource name ('' for the stack) -> names of the policies with a diagnostic at `level`."""
        failing: dict[str, set[str]] = {}
        for item in self.diagnostics:
            if item.enforcement == level:
                failing.setdefault(item.resource, set()).add(item.policy)
        return failing

    def summary(self) -> str:
        """One line per diagnostic, mandatory first, for assertion messages and logs."""
        ordered = sorted(
            self.diagnostics, key=lambda item: (item.enforcement != "mandatory", item.policy, item.resource)
        )
        return "\n".join(
            f"[{item.enforcement}] {item.policy} {item.resource or '<stack>'}: {item.message}" for item in ordered
        )


def _collect(verdict: Verdict, response: Any, urn: str, names: Mapping[str, str]) -> None:
    for diagnostic in response.diagnostics:
        target = diagnostic.urn or urn
        verdict.diagnostics.append(
            Diagnostic(
                pack=diagnostic.policyPackName,
                policy=diagnostic.policyName,
                urn=target,
                resource=names.get(target, target.rsplit("::", 1)[-1] if target else ""),
                message=diagnostic.message,
                enforcement=_LEVELS.get(diagnostic.enforcementLevel, str(diagnostic.enforcementLevel)),
                severity=_SEVERITIES.get(diagnostic.severity, ""),
            )
        )
    for item in response.not_applicable:
        verdict.not_applicable.append(NotApplicable(item.policy_name, urn, item.reason))


def replay(
    synthesis: Any,
    analyzer: Analyzer,
    *,
    policy_config: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, str] | None = None,
) -> Verdict:
    """Configure `analyzer`, send every Analyze request and the AnalyzeStack request, and collect the verdict.

    Args:
        synthesis: a `stacks.synth.Synthesis`.
        analyzer: an in-process analyzer (`in_process`) or a gRPC client (`pack_process`).
        policy_config: the `--policy-pack-config` document (policy name -> level or {enforcementLevel, settings}).
        stack_config: the stack's config, for the default providers' properties.
    """
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    analyzer.Configure(configure_request(info, policy_config))
    requests = analyzer_requests(synthesis, stack_config)
    verdict = Verdict(pack=info.name)
    for request in requests.analyze:
        _collect(verdict, analyzer.Analyze(request), request.urn, requests.names)
    _collect(verdict, analyzer.AnalyzeStack(requests.analyze_stack), "", requests.names)
    return verdict
