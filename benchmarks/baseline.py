"""The baseline program: generated source that registers a recorded graph's resources directly, no components."""

# The generated module defines `main()`, which registers every custom resource and every remote component (Helm
# v4 charts) of the recorded graph, in recorded order, with `pulumi.CustomResource`, `pulumi.ProviderResource`
# or a remote `pulumi.ComponentResource`: the same type, name and inputs (as sent on the wire, secrets kept
# secret), the same provider, options and aliases, the same explicit dependencies, and the same property
# dependencies (each such input is an `Output` of the resources it depends on). It imports the SDK modules that
# define the registered types (`sdk_modules`), as a program using their classes must, and no other: run in a fresh
# process it pays the import cost of the target's SDK and nothing more. Local components, the config layer, the
# typed SDK classes and the Output plumbing of the real program are what it leaves out, so its run time is the
# floor Pulumi's own runtime sets for the graph.

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"


@dataclass(frozen=True)
class Node:
    """One registration reduced to what the baseline, the digest and the critical path need."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    remote: bool
    provider: str
    """The provider reference `<provider urn>::<id>`, or ''."""
    wire_inputs: dict[str, Any]
    """Inputs as sent on the wire (JSON form of the request's `object`, secrets as signature dicts)."""
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    aliases: tuple[dict[str, str], ...] = ()
    """Alias specs the SDK sent (azure-native and the S3 V2 types carry type aliases)."""

    @property
    def is_node(self) -> bool:
        """Whether the engine treats it as a node of the graph: custom resources and remote components."""
        return self.custom or self.remote

    @property
    def provider_urn(self) -> str:
        """The URN of the explicit provider, or ''."""
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


def node_from(registration: Any) -> Node:
    """A `Node` from a `stacks.synth.Registration`."""
    request = registration.request
    wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True) if request.object else {}
    return Node(
        urn=registration.urn,
        type=registration.type,
        name=registration.name,
        parent=registration.parent,
        custom=registration.custom,
        remote=bool(request.remote),
        provider=registration.provider,
        wire_inputs=wire,
        dependencies=tuple(registration.dependencies),
        property_dependencies={key: tuple(urns) for key, urns in registration.property_dependencies.items()},
        protect=registration.protect,
        retain_on_delete=registration.retain_on_delete,
        delete_before_replace=registration.delete_before_replace,
        ignore_changes=tuple(registration.ignore_changes),
        replace_on_changes=tuple(registration.replace_on_changes),
        additional_secret_outputs=tuple(registration.additional_secret_outputs),
        aliases=tuple(_alias_spec(alias) for alias in request.aliases),
    )


def _alias_spec(alias: Any) -> dict[str, str]:
    spec = json_format.MessageToDict(alias).get("spec", {})
    return {key: value for key, value in spec.items() if value not in ("", False)}


def _key(node: Node) -> tuple[str, str]:
    return node.type, node.name


def _expression(value: Any) -> str:
    """A Python expression building `value`; secret signature dicts become `pulumi.Output.secret(...)`."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return f"pulumi.Output.secret({_expression(value.get('value'))})"
        return "{" + ", ".join(f"{key!r}: {_expression(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_expression(item) for item in value) + "]"
    return repr(value)


def _options(node: Node, variables: dict[str, str], explicit: list[str]) -> str:
    options: list[str] = []
    if explicit:
        options.append(f"depends_on=[{', '.join(variables[urn] for urn in explicit)}]")
    if node.provider_urn:
        options.append(f"provider={variables[node.provider_urn]}")
    for flag in ("protect", "retain_on_delete", "delete_before_replace"):
        if getattr(node, flag):
            options.append(f"{flag}=True")
    for listing in ("ignore_changes", "replace_on_changes", "additional_secret_outputs"):
        if getattr(node, listing):
            options.append(f"{listing}={list(getattr(node, listing))!r}")
    if node.aliases:
        options.append(f"aliases=[{', '.join(_alias(spec) for spec in node.aliases)}]")
    return f"pulumi.ResourceOptions({', '.join(options)})"


_ALIAS_FIELDS = {"name": "name", "type": "type_", "stack": "stack", "project": "project"}


def _alias(spec: dict[str, str]) -> str:
    unsupported = set(spec) - set(_ALIAS_FIELDS)
    if unsupported:
        raise ValueError(f"alias fields {sorted(unsupported)} are not reproduced by the baseline")
    return "pulumi.Alias(" + ", ".join(f"{_ALIAS_FIELDS[key]}={value!r}" for key, value in spec.items()) + ")"


_REGISTRY = re.compile(r'(resource_modules|resource_packages)="""(.*?)"""', re.DOTALL)


@functools.cache
def _sdk_registry(package: str) -> dict[str, tuple[str, str]]:
    """Type token -> (defining module, class), from the registry a Pulumi SDK's `__init__.py` declares (read, not
    imported: `_utilities.register(resource_modules=..., resource_packages=...)`); empty for a package not
    installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return {}
    classes: dict[str, tuple[str, str]] = {}
    for kind, listing in _REGISTRY.findall(Path(spec.origin).read_text()):
        for entry in json.loads(listing):
            tokens = entry["classes"] if kind == "resource_modules" else {entry["token"]: entry["class"]}
            classes.update({token: (entry["fqn"], name) for token, name in tokens.items()})
    return classes


def sdk_modules(types: Iterable[str]) -> dict[str, list[str]]:
    """The SDK modules that define the typed classes of `types`, with those classes (`aws:ec2/vpc:Vpc` ->
    `pulumi_aws.ec2`: `Vpc`; `pulumi:providers:kubernetes` -> `pulumi_kubernetes`: `Provider`): what a program
    registering them imports. A type no installed SDK defines (a test's own token) needs no import.
    """
    modules: dict[str, set[str]] = {}
    for token in set(types):
        package = token.removeprefix(PROVIDER_PREFIX) if token.startswith(PROVIDER_PREFIX) else token.split(":")[0]
        found = _sdk_registry("pulumi_" + package.replace("-", "_")).get(token)
        if found is not None:
            modules.setdefault(found[0], set()).add(found[1])
    return {module: sorted(classes) for module, classes in sorted(modules.items())}


def baseline_source(nodes: Iterable[Node]) -> str:
    """The source of a module whose `main()` registers `nodes` (custom and remote only) directly.

    Raises:
        ValueError: when two registered resources share type and name (the flat baseline could not register
            both), or a dependency points at something the baseline does not register.
    """
    nodes = [node for node in nodes if node.is_node and node.type != STACK_TYPE]
    lines = [
        '"""Generated by benchmarks.baseline: the recorded graph registered directly (do not edit)."""',
        "",
        "import asyncio",
        "",
        "import pulumi",
        "",
        "# The classes of the registered types, as a program using them imports them (timed cold). An SDK's service",
        "# modules are lazy (importlib.util.LazyLoader): importing one by name runs nothing; taking a class does.",
        *(
            f"from {module} import {', '.join(classes)}  # noqa: F401"
            for module, classes in sdk_modules(node.type for node in nodes).items()
        ),
        "",
        "",
        "def _ready(value):",
        "    future = asyncio.get_event_loop().create_future()",
        "    future.set_result(value)",
        "    return future",
        "",
        "",
        "def _after(value, *resources):",
        "    # The value as an output of `resources`: a property dependency, with nothing else to wait for.",
        "    return pulumi.Output(set(resources), _ready(value), _ready(True))",
        "",
        "",
        "def main():",
    ]
    variables: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for node in nodes:
        if _key(node) in seen:
            raise ValueError(f"{node.type} {node.name!r} is registered twice; the flat baseline needs unique names")
        seen.add(_key(node))
        missing = [urn for urn in node.dependencies if urn not in variables]
        if missing or (node.provider_urn and node.provider_urn not in variables):
            raise ValueError(f"{node.urn} depends on resources not registered before it: {missing or node.provider}")
        inputs: list[str] = []
        for key, value in node.wire_inputs.items():
            expression = _expression(value)
            upstream = node.property_dependencies.get(key)
            if upstream:
                expression = f"_after({expression}, {', '.join(variables[urn] for urn in upstream)})"
            inputs.append(f"{key!r}: {expression}")
        through_inputs = {urn for urns in node.property_dependencies.values() for urn in urns}
        explicit = [urn for urn in node.dependencies if urn not in through_inputs]
        variable = f"r{len(variables)}"
        variables[node.urn] = variable
        props = "{" + ", ".join(inputs) + "}"
        opts = _options(node, variables, explicit)
        if node.type.startswith(PROVIDER_PREFIX):
            package = node.type.removeprefix(PROVIDER_PREFIX)
            call = f"pulumi.ProviderResource({package!r}, {node.name!r}, {props}, {opts})"
        elif node.custom:
            call = f"pulumi.CustomResource({node.type!r}, {node.name!r}, {props}, {opts})"
        else:
            call = f"pulumi.ComponentResource({node.type!r}, {node.name!r}, {props}, {opts}, remote=True)"
        lines.append(f"    {variable} = {call}")
    if not variables:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def _key_from_urn(urn: str) -> tuple[str, str]:
    """(type, name) of `urn:pulumi:<stack>::<project>::<parent types$>type::name`."""
    _, _, qualified_type, name = urn.split("::", 3)
    return qualified_type.rsplit("$", 1)[-1], name


def graph_digest(nodes: Iterable[Node]) -> str:
    """A digest of what the engine would see of the custom/remote graph, independent of components and URNs.

    Two programs with the same digest register the same resources (type, name), with the same wire inputs,
    providers, options, aliases and dependencies (named by type and name). The baseline must match the program it
    was generated from.
    """
    nodes = list(nodes)
    names = {node.urn: _key(node) for node in nodes}
    for node in nodes:  # a resource read rather than registered (a StackReference) is named by its URN
        for urn in [*node.dependencies, *(urn for urns in node.property_dependencies.values() for urn in urns)]:
            names.setdefault(urn, _key_from_urn(urn))
    entries = []
    for node in nodes:
        if not node.is_node or node.type == STACK_TYPE:
            continue
        entries.append(
            [
                node.type,
                node.name,
                node.wire_inputs,
                names.get(node.provider_urn, ("", "")),
                sorted(names[urn] for urn in node.dependencies),
                {key: sorted(names[urn] for urn in urns) for key, urns in sorted(node.property_dependencies.items())},
                [node.protect, node.retain_on_delete, node.delete_before_replace],
                [sorted(node.ignore_changes), sorted(node.replace_on_changes), sorted(node.additional_secret_outputs)],
                sorted(json.dumps(alias, sort_keys=True) for alias in node.aliases),
            ]
        )
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


BASELINE_MODULE = "baseline_graph"
"""The generated module; the baseline project's `__main__.py` imports `main` from it."""


def write_baseline_project(directory: Path, nodes: Iterable[Node], project_dir: Path, stack: str) -> Path:
    """A project directory running the baseline of `nodes`, with the same Pulumi.yaml and stack file; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        shutil.copyfile(project_dir / name, directory / name)
    (directory / f"{BASELINE_MODULE}.py").write_text(baseline_source(nodes))
    (directory / "__main__.py").write_text(
        f'"""The baseline program (generated by benchmarks.baseline)."""\n\nfrom {BASELINE_MODULE} import main\n\nmain()\n'
    )
    return directory
