"""A small evaluator of identity-policy documents: which requests an IAM policy allows (Allow statements only).

Enough of IAM's evaluation logic to prove least privilege in tests: `Action`/`Resource` with `*` and `?`
wildcards (case-insensitive actions, case-sensitive ARNs) and the `StringEquals`, `StringLike`, `ArnEquals`
and `ArnLike` condition operators over a request context. A request matching no Allow statement is denied
(IAM's implicit deny); a condition key missing from the context fails its condition, as in IAM.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, text: str, *, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, text = pattern.lower(), text.lower()
    return re.fullmatch(fnmatch.translate(pattern), text) is not None


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            values = _as_list(expected)
            if operator in ("StringEquals", "ArnEquals"):
                matched = actual in values
            elif operator in ("StringLike", "ArnLike"):
                matched = any(_glob(value, actual) for value in values)
            else:
                raise AssertionError(f"the evaluator does not know condition operator {operator}")
            if not matched:
                return False
    return True


def allows(document: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str] | None = None) -> bool:
    """Whether `document` allows `action` on `resource` with the request `context`."""
    for statement in document["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        if not any(_glob(pattern, action, case_sensitive=False) for pattern in _as_list(statement["Action"])):
            continue
        if not any(_glob(pattern, resource) for pattern in _as_list(statement["Resource"])):
            continue
        if _condition_holds(statement.get("Condition", {}), context or {}):
            return True
    return False
