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
#
# `typed_baseline_source` generates the *typed baseline*: the same graph, from the same flat `main()`, but each
# resource registered through its type's typed SDK class (`pulumi_aws.ec2.Vpc(...)`, `pulumi_kubernetes.Provider`,
# `pulumi_kubernetes.helm.v4.Chart`), with the wire inputs passed as the class's keyword arguments. It pays what
# Pulumi charges any program that uses the typed classes and the untyped baseline does not: the class's own
# `_internal_init` (every output property registered as an input of None, typed name translation) and the source
# position of each registration. `pulumi.runtime.resource._get_stack_trace` walks the stack up to the third
# `__init__` frame (Resource, CustomResource/ComponentResource, the concrete class) and converts every frame
# below it to a `file://` URI; registered from a plain function through `pulumi.CustomResource`, the untyped
# baseline has no third `__init__` frame and sends an empty trace, having paid only the walk (its providers,
# through `ProviderResource`, do have one). The typed baseline is thus the floor for a program written with the SDK's classes and no
# components: ours minus typed is what our components, config layer and Output plumbing cost.

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from google.protobuf import json_format
from pulumi import _types

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


@dataclass(frozen=True)
class TypedClass:
    """A type's typed SDK class and what the generator needs to call it as a program would."""

    module: str
    name: str
    inputs: dict[str, str]
    """Wire (Pulumi) input name -> the class's keyword argument: the input type's property name (from its
    metadata), or that name with a trailing underscore where it would clash (azure-native's `resource_name_`)."""
    input_names: dict[str, str]
    """Wire input name -> the input type's property name (how `ignore_changes` and `replace_on_changes` name it)."""
    outputs: dict[str, str]
    """Wire output name -> the class's Python property name (how `additional_secret_outputs` names them)."""
    secret_outputs: tuple[str, ...]
    """`additional_secret_outputs` the class adds itself (wire names), not to be passed twice."""
    aliases: tuple[dict[str, str], ...]
    """Alias specs the class adds itself (azure-native API versions, Kubernetes group versions, S3 V2 types)."""
    required: tuple[str, ...] = ()
    """Wire names of the inputs the class requires (its input type's constructor gives them no default)."""
    json_inputs: frozenset[str] = frozenset()
    """Input properties the class sends JSON-encoded (`Output.from_input(x).apply(pulumi.runtime.to_json)`: the
    non-string settings of a provider), whose wire values a program passes decoded."""

    def argument(self, key: str, value: Any) -> Any:
        """The value a program passes for wire input `key` (decoded where the class encodes it again)."""
        if self.input_names.get(key) not in self.json_inputs:
            return value
        if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return {**value, "value": self.argument(key, value.get("value"))}
        return json.loads(value) if isinstance(value, str) else value

    @property
    def variable(self) -> str:
        """The name the typed baseline imports the class as (class names repeat across modules: `Provider`)."""
        return f"{self.module.replace('.', '_')}_{self.name}"


class _ProbedError(Exception):
    """Raised by the probe in place of `pulumi.Resource.__init__`: nothing is registered."""


def _sdk_class(token: str) -> tuple[str, str] | None:
    """(defining module, class) of a type token, or None when no installed SDK defines it."""
    package = token.removeprefix(PROVIDER_PREFIX) if token.startswith(PROVIDER_PREFIX) else token.split(":")[0]
    for prefix in SDK_PREFIXES:
        found = _sdk_registry(prefix + package.replace("-", "_")).get(token)
        if found is not None:
            return found
    if package == "kubernetes" and not token.startswith(PROVIDER_PREFIX) and _sdk_registry("pulumi_kubernetes"):
        return CUSTOM_OBJECT_CLASS
    return None


CUSTOM_OBJECT_CLASS = ("pulumi_kubernetes.apiextensions", "CustomResource")
"""The class registering an object of a CustomResourceDefinition (`kubernetes:cert-manager.io/v1:Certificate`),
whose token the class builds from its `api_version` and `kind`: the SDK has no class per custom kind."""


SDK_PREFIXES = ("pulumi_", "pulumiverse_")
"""Where a package's Python SDK lives: Pulumi's own (`pulumi_aws`), or the community's (`pulumiverse_time`)."""


@functools.cache
def typed_class(token: str) -> TypedClass:
    """The typed SDK class registering `token`, probed once: its constructor runs up to `pulumi.Resource.__init__`
    (replaced for the call), which shows the input type the class registers (hence its keyword arguments' wire
    names) and the options it merges in itself. `opts.urn` is set so the class skips its required-input checks,
    as it does for a resource being imported by URN.

    Raises:
        ValueError: naming the type, when no installed SDK defines it or its class registers no input type.
    """
    found = _sdk_class(token)
    if found is None:
        raise ValueError(f"{token}: no installed Pulumi SDK defines a typed class for it; the typed baseline cannot")
    module, name = found
    cls = getattr(importlib.import_module(module), name)
    seen: dict[str, Any] = {}
    parameters = list(inspect.signature(cls.__init__).parameters.values())[2:]  # after self and resource_name
    required = {
        parameter.name: None
        for parameter in parameters
        if parameter.default is inspect.Parameter.empty
        and parameter.kind is not parameter.VAR_POSITIONAL
        and parameter.kind is not parameter.VAR_KEYWORD
    }  # `apiextensions.CustomResource(name, api_version, kind)`; None passes where `opts.urn` is set

    def capture(_resource: Any, _type: str, _name: str, _custom: bool, props: Any = None, opts: Any = None, *_: Any):
        seen.update(props=props, opts=opts)
        raise _ProbedError

    with mock.patch.object(pulumi.Resource, "__init__", capture), contextlib.suppress(_ProbedError):
        cls("probe", **required, opts=pulumi.ResourceOptions(urn=f"urn:pulumi:probe::probe::{token}::probe"))
    props, opts = seen.get("props"), seen.get("opts")
    if props is None or opts is None or not _types.is_input_type(type(props)):
        raise ValueError(f"{token}: {module}.{name} registers no input type; the typed baseline cannot map its inputs")
    output_names = _types.resource_py_to_pulumi_names(cls)
    input_names = {wire: py for py, wire in _types.input_type_py_to_pulumi_names(type(props)).items()}
    args_parameters = inspect.signature(type(props).__init__).parameters
    keywords = set(inspect.signature(cls._internal_init).parameters) - {
        "__self__",
        "resource_name",
        "opts",
        "__props__",
    }
    inputs = {wire: next((k for k in (py, py + "_") if k in keywords), None) for wire, py in input_names.items()}
    aliases = []
    for alias in opts.aliases or []:
        if not isinstance(alias, pulumi.Alias):
            raise ValueError(f"{token}: {module}.{name} adds an alias the typed baseline cannot compare: {alias!r}")
        fields = {wire: getattr(alias, attribute) for wire, attribute in _ALIAS_FIELDS.items()}
        aliases.append({wire: value for wire, value in fields.items() if isinstance(value, str) and value})
    return TypedClass(
        module=module,
        name=name,
        inputs={wire: keyword for wire, keyword in inputs.items() if keyword is not None},
        input_names=input_names,
        outputs={wire: py for py, wire in output_names.items()},
        secret_outputs=tuple(output_names.get(key) or key for key in opts.additional_secret_outputs or []),
        aliases=tuple(aliases),
        required=tuple(
            wire
            for wire, py in input_names.items()
            if getattr(args_parameters.get(py), "default", None) is inspect.Parameter.empty
        ),
        json_inputs=frozenset(_JSON_ENCODED.findall(inspect.getsource(cls._internal_init))),
    )


_JSON_ENCODED = re.compile(
    r'__props__\.__dict__\["(\w+)"\] = pulumi\.Output\.from_input\(\w+\)\.apply\(pulumi\.runtime\.to_json\)'
)
"""How a generated class encodes a setting as JSON (read from its source, as `_sdk_registry` reads the registry)."""


def _without(items: Iterable[Any], added: Iterable[Any]) -> list[Any]:
    """`items` less one occurrence of each of `added` (what the typed class merges in itself)."""
    left = Counter(json.dumps(item, sort_keys=True) for item in added)
    kept = []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if left[key]:
            left[key] -= 1
        else:
            kept.append(item)
    return kept


def _options(node: Node, variables: dict[str, str], explicit: list[str], typed: TypedClass | None = None) -> str:
    """The `pulumi.ResourceOptions(...)` expression; for a typed class without what it adds itself, and with
    property names as a program using the class writes them (the SDK translates them back to wire names)."""
    listings: dict[str, list[str]] = {
        "ignore_changes": list(node.ignore_changes),
        "replace_on_changes": list(node.replace_on_changes),
        "additional_secret_outputs": list(node.additional_secret_outputs),
    }
    aliases = list(node.aliases)
    if typed is not None:
        aliases = _without(aliases, typed.aliases)
        secret = _without(listings["additional_secret_outputs"], typed.secret_outputs)
        listings["additional_secret_outputs"] = [typed.outputs.get(key, key) for key in secret]
        for listing in ("ignore_changes", "replace_on_changes"):
            listings[listing] = [typed.input_names.get(key, key) for key in listings[listing]]
    options: list[str] = []
    if explicit:
        options.append(f"depends_on=[{', '.join(variables[urn] for urn in explicit)}]")
    if node.provider_urn:
        options.append(f"provider={variables[node.provider_urn]}")
    for flag in ("protect", "retain_on_delete", "delete_before_replace"):
        if getattr(node, flag):
            options.append(f"{flag}=True")
    for listing, names in listings.items():
        if names:
            options.append(f"{listing}={names!r}")
    if aliases:
        options.append(f"aliases=[{', '.join(_alias(spec) for spec in aliases)}]")
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
        found = _sdk_class(token)
        if found is not None:
            modules.setdefault(found[0], set()).add(found[1])
    return {module: sorted(classes) for module, classes in sorted(modules.items())}


def _untyped_call(node: Node, inputs: dict[str, str], opts: str) -> str:
    props = "{" + ", ".join(f"{key!r}: {expression}" for key, expression in inputs.items()) + "}"
    if node.type.startswith(PROVIDER_PREFIX):
        package = node.type.removeprefix(PROVIDER_PREFIX)
        return f"pulumi.ProviderResource({package!r}, {node.name!r}, {props}, {opts})"
    if node.custom:
        return f"pulumi.CustomResource({node.type!r}, {node.name!r}, {props}, {opts})"
    return f"pulumi.ComponentResource({node.type!r}, {node.name!r}, {props}, {opts}, remote=True)"


def _typed_call(node: Node, inputs: dict[str, str], opts: str) -> str:
    typed = typed_class(node.type)
    unmapped = sorted(set(inputs) - set(typed.inputs))
    if unmapped:
        raise ValueError(f"{node.type}: {typed.module}.{typed.name} has no keyword argument for inputs {unmapped}")
    arguments = [repr(node.name), *(f"{typed.inputs[key]}={expression}" for key, expression in inputs.items())]
    return f"{typed.variable}({', '.join(arguments)}, opts={opts})"


def baseline_source(nodes: Iterable[Node]) -> str:
    """The source of a module whose `main()` registers `nodes` (custom and remote only) directly, untyped.

    Raises:
        ValueError: when two registered resources share type and name (the flat baseline could not register
            both), or a dependency points at something the baseline does not register.
    """
    return _source(nodes, typed=False)


def typed_baseline_source(nodes: Iterable[Node]) -> str:
    """The source of a module whose `main()` registers `nodes` (custom and remote only) through their typed SDK
    classes, flat, with no components: the typed floor.

    Raises:
        ValueError: as `baseline_source`, and naming every type that has no typed class in an installed SDK, or
            a wire input a class has no keyword argument for (no silent fallback to an untyped registration).
    """
    return _source(nodes, typed=True)


def _source(nodes: Iterable[Node], *, typed: bool) -> str:
    nodes = [node for node in nodes if node.is_node and node.type != STACK_TYPE]
    modules = sdk_modules(node.type for node in nodes)
    if typed:
        without = sorted({node.type for node in nodes if _sdk_class(node.type) is None})
        if without:  # every such type at once, in a stable order (registration order is not)
            raise ValueError(
                f"no installed Pulumi SDK defines a typed class for {', '.join(without)}; the typed baseline cannot "
                "register them"
            )
        classes = {node.type: typed_class(node.type) for node in nodes}
        imports = [
            f"from {module} import {', '.join(sorted({f'{c.name} as {c.variable}' for c in classes.values() if c.module == module}))}"
            for module in modules
        ]
        kind = "through their typed SDK classes"
    else:
        imports = [f"from {module} import {', '.join(names)}  # noqa: F401" for module, names in modules.items()]
        kind = "directly"
    call: Callable[[Node, dict[str, str], str], str] = _typed_call if typed else _untyped_call
    lines = [
        f'"""Generated by benchmarks.baseline: the recorded graph registered {kind} (do not edit)."""',
        "",
        "import asyncio",
        "",
        "import pulumi",
        "",
        "# The classes of the registered types, as a program using them imports them (timed cold). An SDK's service",
        "# modules are lazy (importlib.util.LazyLoader): importing one by name runs nothing; taking a class does.",
        *imports,
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
        cls = typed_class(node.type) if typed else None
        inputs: dict[str, str] = {}
        for key, value in node.wire_inputs.items():
            expression = _expression(cls.argument(key, value) if cls else value)
            upstream = node.property_dependencies.get(key)
            if upstream:
                expression = f"_after({expression}, {', '.join(variables[urn] for urn in upstream)})"
            inputs[key] = expression
        for key in cls.required if cls else ():
            # An input our program passed as an output the mocks resolved to nothing (a Docker image's ID) is
            # absent from the wire; the class still wants it, and an output resolving to None sends nothing.
            inputs.setdefault(key, "_after(None)")
        through_inputs = {urn for urns in node.property_dependencies.values() for urn in urns}
        explicit = [urn for urn in node.dependencies if urn not in through_inputs]
        opts = _options(node, variables, explicit, cls)
        variable = f"r{len(variables)}"
        variables[node.urn] = variable
        lines.append(f"    {variable} = {call(node, inputs, opts)}")
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


def write_baseline_project(
    directory: Path, nodes: Iterable[Node], project_dir: Path, stack: str, *, typed: bool = False
) -> Path:
    """A project directory running the baseline of `nodes` (untyped, or `typed`), with the same Pulumi.yaml and
    stack file; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        shutil.copyfile(project_dir / name, directory / name)
    (directory / f"{BASELINE_MODULE}.py").write_text(_source(nodes, typed=typed))
    (directory / "__main__.py").write_text(
        f'"""The baseline program (generated by benchmarks.baseline)."""\n\nfrom {BASELINE_MODULE} import main\n\nmain()\n'
    )
    return directory
