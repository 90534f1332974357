"""Read `mlplatform:platform` (from Pulumi config or a stack file) into a PlatformConfig, reporting every problem at once."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import BaseModel, ValidationError

from stacks.config import PlatformConfig, foundation_mismatches

CONFIG_NAMESPACE = "mlplatform"
CONFIG_KEY = "platform"
FULL_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
_CLOUDS = ("aws", "azure", "kubernetes")


class PlatformConfigError(pulumi.RunError):
    """The stack configuration is invalid. Pulumi prints the message without a traceback (RunError)."""

    def __init__(self, problems: list[str], source: str = FULL_KEY) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid {source} ({len(problems)} {noun}); nothing was created:\n{listing}")


def load_platform_config(config: pulumi.Config | None = None) -> PlatformConfig:
    """Read and validate the stack's `mlplatform:platform` key inside a Pulumi program.

    Raises:
        PlatformConfigError: listing every problem with its path, before any resource is registered.
    """
    config = config or pulumi.Config(CONFIG_NAMESPACE)
    raw = config.get(CONFIG_KEY)
    if raw is None:
        raise PlatformConfigError([f"{FULL_KEY}: missing; add it to Pulumi.{pulumi.get_stack()}.yaml (see README)"])
    try:
        data = json.loads(raw, object_pairs_hook=_refuse_duplicate_keys)
    except _DuplicateKeyError as error:
        raise PlatformConfigError([f"{FULL_KEY}: duplicate key '{error.key}'; write each key once"]) from None
    except json.JSONDecodeError:
        raise PlatformConfigError([f"{FULL_KEY}: must be a YAML mapping, got the string {raw!r}"]) from None
    platform = validate_platform_config(data)
    if not _offline():
        placeholders = platform.placeholders()
        if placeholders:
            raise PlatformConfigError(
                [
                    f"{FULL_KEY}.{key}: is an example value from the shipped stack file, not yours; put {hint} there"
                    for key, hint in placeholders
                ]
            )
    return platform


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKeyError(key)
        mapping[key] = value
    return mapping


def _offline() -> bool:
    """Whether the program runs under Pulumi's mock runtime (the offline preview and checks), not against a cloud."""
    from pulumi.runtime import mocks, settings

    return isinstance(settings.get_monitor(), mocks.MockMonitor)


def validate_platform_config(data: Any) -> PlatformConfig:
    """Validate an already-parsed `mlplatform:platform` value.

    Raises:
        PlatformConfigError: listing every problem with its path.
    """
    if not isinstance(data, dict):
        raise PlatformConfigError(
            [f"{FULL_KEY}: must be a mapping with at least `environment` and `target`, got {type(data).__name__}"]
        )
    try:
        return PlatformConfig.from_data(data)
    except ValidationError as error:
        raise PlatformConfigError(list(_describe(error))) from None


class _StrictMappings(yaml.constructor.SafeConstructor):
    """Refuses what YAML would otherwise resolve silently: a key written twice in one mapping (the last one would
    win: `environment: dev` then `environment: prod` runs as prod) and a merge key (`<<`) inside the platform key
    (an anchor from elsewhere in the file would change the stack without showing there)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _StackFileError(
                    key_node, "a merge key (`<<`) is not accepted in a stack file; write the keys out"
                )
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise _StackFileError(key_node, "a mapping key must be a plain value") from None
            if first is not None:
                raise _StackFileError(
                    key_node, f"duplicate key '{key}' (first at line {first}); YAML would silently keep the last one"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _StackFileLoader(_StrictMappings, yaml.SafeLoader):
    """The strict loader on PyYAML's pure-Python parser, whose messages name the offending character."""


class _FastStackFileLoader(_StrictMappings, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The strict loader on libyaml's parser (PyYAML's C binding, when built with it): the same documents and the
    same refusals, parsed about eight times faster, which every synthesis, check and test pays per stack file."""


for _loader in (_StackFileLoader, _FastStackFileLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictMappings.construct_mapping)


class _StackFileError(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1
        self.column = node.start_mark.column + 1
        self.message = message


def parse_stack_yaml(text: str, name: str) -> Any:
    """Parse a stack file's text with the strict loader.

    Raises:
        PlatformConfigError: not valid YAML, a duplicate key or a merge key, naming the line.
    """
    try:
        try:
            return yaml.load(text, Loader=_FastStackFileLoader)  # a SafeLoader equivalent
        except yaml.YAMLError:
            # Parse again for the pure-Python parser's message, which names what it found where libyaml's does not.
            return yaml.load(text, Loader=_StackFileLoader)
    except _StackFileError as problem:
        raise PlatformConfigError(
            [f"{name} (line {problem.line}, column {problem.column}): {problem.message}"], source=name
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise PlatformConfigError([f"{name}{where}: not valid YAML: {reason}"], source=name) from None


def stack_config_from_file(path: Path) -> dict[str, Any]:
    """Read the `config:` mapping of a `Pulumi.<stack>.yaml` file, keys namespaced as Pulumi does.

    A key without a namespace (`platform:`) belongs to the project, as the Pulumi CLI reads it: it becomes
    `<project name>:platform`, the project name coming from the `Pulumi.yaml` beside the file (so `validate`
    sees the same key `preview` and `pulumi up` do).

    Raises:
        PlatformConfigError: when the file is missing, not valid YAML, has a duplicate or merge key, or its root
            or `config:` is not a mapping, with the line of the fault.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PlatformConfigError([f"{path}: no such stack file"], source=str(path)) from None
    document = parse_stack_yaml(text, path.name)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise PlatformConfigError(
            [
                f"{path.name} (line 1): the root must be a mapping with a `config:` mapping, got {type(document).__name__}"
            ],
            source=str(path),
        )
    if not isinstance(document.get("config", {}), dict):
        raise PlatformConfigError([f"{path.name}: must be a mapping with a `config:` mapping"], source=str(path))
    config: dict[str, Any] = {}
    project = _project_name(path.parent)
    for key, value in (document.get("config") or {}).items():
        full_key = str(key) if ":" in str(key) or project is None else f"{project}:{key}"
        if full_key in config:
            raise PlatformConfigError(
                [f"{path.name}: `{key}` and `{full_key}` are the same key (Pulumi namespaces `{key}` by the project)"],
                source=str(path),
            )
        config[full_key] = value
    return config


def _project_name(project_dir: Path) -> str | None:
    """The `name:` of the Pulumi.yaml in `project_dir`, or None without one."""
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


def platform_config_from_stack_file(path: Path) -> PlatformConfig:
    """Validate the `mlplatform:platform` key of a stack file without running Pulumi."""
    config = stack_config_from_file(path)
    if FULL_KEY not in config:
        raise PlatformConfigError([f"{path.name}: missing `{FULL_KEY}`"], source=str(path))
    return validate_platform_config(config[FULL_KEY])


def foundation_stack_file(config: PlatformConfig, project_dir: Path) -> Path | None:
    """The stack file of a cluster-layer stack's foundation in this project, or None (not a cluster layer, or the
    foundation is another project's)."""
    if config.foundation is None:
        return None
    path = project_dir / f"Pulumi.{config.foundation.stack_name}.yaml"
    return path if path.exists() else None


def check_against_foundation(config: PlatformConfig, project_dir: Path, stack: str) -> PlatformConfig | None:
    """Compare a cluster-layer stack with its foundation's stack file; return the foundation's config.

    Raises:
        PlatformConfigError: the foundation's file is invalid, or the two disagree on what they share.
    """
    path = foundation_stack_file(config, project_dir)
    if path is None:
        return None
    foundation = platform_config_from_stack_file(path)
    mismatches = foundation_mismatches(foundation, config, path.name)
    if mismatches:
        raise PlatformConfigError([f"{FULL_KEY}.{problem}" for problem in mismatches], source=f"Pulumi.{stack}.yaml")
    return foundation


# --- Error rendering -----------------------------------------------------------------------------------


def _describe(error: ValidationError) -> Iterable[str]:
    for detail in error.errors(include_url=False):
        location = _strip_union_tags(tuple(detail["loc"]))
        if detail["type"] == "mlplatform":
            for sub_location, message in detail["ctx"]["problems"]:
                yield f"{_path((*location, *sub_location))}: {message}"
        elif detail["type"] == "extra_forbidden":
            yield f"{_path(location)}: {_unknown_key_message(location)}"
        elif detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
            got = detail.get("ctx", {}).get("tag")
            suffix = f" (got '{got}')" if got else ""
            yield f"{_path((*location, 'cloud'))}: must be one of {', '.join(repr(c) for c in _CLOUDS)}{suffix}"
        elif detail["type"] == "missing":
            yield f"{_path(location)}: required"
        elif detail["type"] == "bool_type":
            yield f"{_path(location)}: must be true or false (unquoted), not {detail.get('input')!r}"
        else:
            message = detail["msg"].removeprefix("Value error, ")
            yield f"{_path(location)}: {message}"


def _strip_union_tags(location: tuple[Any, ...]) -> tuple[Any, ...]:
    # Discriminated unions add the tag to the location: ("target", "aws", "region") -> ("target", "region").
    stripped: list[Any] = []
    for index, part in enumerate(location):
        if part in _CLOUDS and index > 0 and location[index - 1] == "target":
            continue
        stripped.append(part)
    return tuple(stripped)


def _path(location: Iterable[Any]) -> str:
    text = FULL_KEY
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _unknown_key_message(location: tuple[Any, ...]) -> str:
    key = str(location[-1]) if location else ""
    close = difflib.get_close_matches(key, sorted(_known_keys()), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}'{hint}"


def _known_keys() -> set[str]:
    keys: set[str] = set()
    pending: list[type[BaseModel]] = [PlatformConfig]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            keys.add(field.alias or name)
            pending.extend(_models_in(field.annotation))
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in getattr(annotation, "__args__", ()) for model in _models_in(argument)]
