"""Read `mlplatform:platform` (from Pulumi config or a stack file) into a PlatformConfig, reporting every problem at once."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pulumi
from pydantic import BaseModel, ValidationError

from stacks.config import PlatformConfig, foundation_mismatches
from stacks.stack_files import (  # re-exported: the stack-file reader lived here
    CONFIG_KEY,
    CONFIG_NAMESPACE,
    FULL_KEY,
    PlatformConfigError,
    parse_stack_yaml,
    stack_config_from_file,
)

__all__ = [
    "CONFIG_KEY",
    "CONFIG_NAMESPACE",
    "FULL_KEY",
    "PlatformConfigError",
    "check_against_foundation",
    "foundation_stack_file",
    "load_platform_config",
    "parse_stack_yaml",
    "platform_config_from_stack_file",
    "stack_config_from_file",
    "validate_platform_config",
]

_CLOUDS = ("aws", "azure", "kubernetes")


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
