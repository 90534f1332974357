"""Read a `Pulumi.<stack>.yaml` file as the Pulumi CLI does, strictly, without the config models.

`stacks.load` validates what this reads; the offline synthesis reads stack files through this module alone, so a
program that never validates a platform config (a benchmark baseline) does not import pydantic and the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml

CONFIG_NAMESPACE = "mlplatform"
CONFIG_KEY = "platform"
FULL_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"


class PlatformConfigError(pulumi.RunError):
    """The stack configuration is invalid. Pulumi prints the message without a traceback (RunError)."""

    def __init__(self, problems: list[str], source: str = FULL_KEY) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid {source} ({len(problems)} {noun}); nothing was created:\n{listing}")


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
