"""Validation helpers shared by the config models and the components: names, quantities, and error collection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pulumi

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_MAX = 63

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15),
            "E": Decimal(10**18)}  # fmt: skip

_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def dns1123_label_problem(value: str) -> str | None:
    """Why `value` is not a valid DNS-1123 label (Kubernetes namespace / object name), or None."""
    if not value:
        return "must not be empty"
    if len(value) > DNS1123_LABEL_MAX:
        return f"must be at most {DNS1123_LABEL_MAX} characters (got {len(value)})"
    if not DNS1123_LABEL.fullmatch(value):
        return (
            f"'{value}' is not a DNS-1123 label: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def parse_quantity(value: str | int | float) -> Decimal:
    """Parse a Kubernetes resource quantity ("500m", "64Gi", "2") into a Decimal in base units.

    Raises:
        ValueError: when `value` is not a valid, non-negative quantity.
    """
    text = str(value).strip()
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise ValueError(f"'{value}' is not a Kubernetes quantity (examples: '500m', '4', '64Gi')")
    try:
        number = Decimal(match["number"])
    except InvalidOperation as error:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError(f"'{value}' is not a Kubernetes quantity") from error
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        number *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        number *= _DECIMAL[suffix]
    elif suffix:
        number *= Decimal(10) ** int(suffix[1:])
    if number < 0:
        raise ValueError(f"'{value}' must not be negative")
    return number


def is_duration(value: str) -> bool:
    """True when `value` is a Prometheus duration such as '15d' or '1h30m'."""
    return bool(_DURATION.fullmatch(value))


@dataclass
class Problems:
    """Collects every input problem with its property path, then raises once (pulumi-eks style)."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, reason: str) -> None:
        """Record that the input at `path` (camelCase, e.g. `gpuNodePools[1].maxSize`) is wrong, and why."""
        self.items.append((path, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, component: str) -> None:
        """Raise `pulumi.InputPropertiesError` listing every problem, if there is any.

        Args:
            component: the component type and name, used in the summary line.
        """
        if not self.items:
            return
        summary = "; ".join(f"{path}: {reason}" for path, reason in self.items)
        raise pulumi.InputPropertiesError(
            f"invalid arguments for {component}: {summary}",
            errors=[{"property_path": path, "reason": reason} for path, reason in self.items],
        )


def require_args_mapping(component: object, name: str, args: object) -> None:
    """Refuse component arguments that are not a mapping (a list, None, a string...) before anything registers.

    Every public component calls this first: its arguments are a TypedDict, i.e. a dict of argument names to
    values, and anything else would otherwise fail deep inside the component with an AttributeError.

    Args:
        component: the component being constructed (its class name is used in the message).
        name: the component's resource name.
        args: what the caller passed as the component's arguments.

    Raises:
        pulumi.InputPropertiesError: when `args` is not a mapping.
    """
    if isinstance(args, Mapping):
        return
    kind = type(component).__name__
    reason = (
        f"must be a mapping of argument names to values, e.g. {kind}Args(...) or a dict "
        f"(got {'nothing' if args is None else type(args).__name__})"
    )
    raise pulumi.InputPropertiesError(
        f"invalid arguments for {kind} '{name}': args {reason}",
        errors=[{"property_path": "args", "reason": reason}],
    )


def camel(key: str) -> str:
    """`driver_preinstalled` -> `driverPreinstalled`, the form property paths use."""
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def check_known_arguments(problems: Problems, args: Mapping[str, Any], args_type: type, path: str = "") -> None:
    """Record a problem for every argument `args_type` (a TypedDict) does not define.

    A misspelt or invented argument (`default_deny=False`) must fail loudly, not be ignored. `path` is where a
    nested map sits (`blobWriters[0]`); its unknown keys are reported under it.
    """
    known = set(args_type.__annotations__)
    for key in args:
        if key not in known:
            problems.add(
                f"{path}.{camel(str(key))}" if path else camel(str(key)),
                f"unknown argument; known: {', '.join(sorted(known))}",
            )
