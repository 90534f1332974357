"""Argument checks shared by the Kubernetes components (each records problems; none raises)."""

from collections.abc import Mapping
from decimal import Decimal

from components._common.validation import (  # noqa: F401 (re-exported: the Kubernetes components import them here)
    Problems,
    camel,
    check_known_arguments,
    dns1123_label_problem,
    parse_quantity,
)

HELM_RELEASE_NAME_MAX = 53
"""Helm's limit on release names (they prefix Service names, which must stay DNS labels)."""


def check_bool(problems: Problems, path: str, value: object) -> None:
    """Record a problem when `value` is not a boolean (hosted components receive plain JSON)."""
    if not isinstance(value, bool):
        problems.add(path, f"must be true or false (got {value!r})")


def check_choice(problems: Problems, path: str, value: object, choices: tuple[str, ...]) -> None:
    """Record a problem when `value` is not one of `choices`."""
    if value not in choices:
        problems.add(path, f"must be one of {', '.join(choices)} (got {value!r})")


def check_quantity(problems: Problems, path: str, value: object, *, positive: bool = True) -> Decimal | None:
    """Parse a Kubernetes quantity, recording a problem when it is invalid (or zero when `positive`)."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.add(path, f"must be a Kubernetes quantity such as '4' or '64Gi' (got {value!r})")
        return None
    try:
        quantity = parse_quantity(value)
    except ValueError as error:
        problems.add(path, str(error))
        return None
    if positive and quantity <= 0:
        problems.add(path, "must be greater than zero")
        return None
    return quantity


def check_int(problems: Problems, path: str, value: object, *, minimum: int, maximum: int | None = None) -> None:
    """Record a problem when `value` is not an integer within [minimum, maximum]."""
    if not isinstance(value, int) or isinstance(value, bool):
        problems.add(path, f"must be an integer (got {value!r})")
    elif value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        problems.add(path, f"must be {bound} (got {value})")


def check_object_name(problems: Problems, path: str, value: object) -> None:
    """Record a problem when `value` is not a valid Kubernetes object name (DNS-1123 label)."""
    if not isinstance(value, str):
        problems.add(path, "must be a string")
        return
    problem = dns1123_label_problem(value)
    if problem:
        problems.add(path, problem)


def check_release_names(problems: Problems, component_name: str, suffixes: tuple[str, ...]) -> None:
    """Record a problem when the component name cannot prefix its Helm release names."""
    problem = dns1123_label_problem(component_name)
    if problem:
        problems.add("name", f"the component name prefixes Helm releases and object names: {problem}")
        return
    for suffix in suffixes:
        release = f"{component_name}-{suffix}" if suffix else component_name
        if len(release) > HELM_RELEASE_NAME_MAX:
            problems.add(
                "name", f"Helm release '{release}' would exceed {HELM_RELEASE_NAME_MAX} characters; shorten the name"
            )


def check_string_map(problems: Problems, path: str, value: object) -> None:
    """Record a problem when `value` is not a map of strings to strings."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        problems.add(path, "must be a map of strings to strings")
