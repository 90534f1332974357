"""Evaluate a ValidatingAdmissionPolicy over one object the way the API server does, with `cel-python`.

Variables are evaluated in order into `variables`; every validation whose expression is false contributes its
message; an evaluation error is raised (the policies use `failurePolicy: Fail`, so an error would deny, and a test
should see it as a defect of the expression). Of the Kubernetes CEL libraries only `lowerAscii` (Kubernetes strings
library) is used; it is supplied here with the library's meaning (ASCII letters lower-cased).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import celpy
from celpy import celtypes

_ENV = celpy.Environment()


def _lower_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType("".join(char.lower() if char.isascii() else char for char in str(text)))


_FUNCTIONS = {"lowerAscii": _lower_ascii}


@cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression), functions=_FUNCTIONS)


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """The value of one CEL expression; raises on an evaluation error."""
    result = _program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise AssertionError(f"CEL error in {expression!r}: {result}")
    return result


def denials(policy: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Messages of the policy's validations that `obj` fails (empty: admitted)."""
    activation: dict[str, Any] = {"object": celpy.json_to_cel(obj)}
    variables: dict[celtypes.StringType, Any] = {}
    for variable in policy["spec"].get("variables", []):
        activation["variables"] = celtypes.MapType(variables)
        variables[celtypes.StringType(variable["name"])] = evaluate(variable["expression"], activation)
    activation["variables"] = celtypes.MapType(variables)
    failed = []
    for validation in policy["spec"]["validations"]:
        result = evaluate(validation["expression"], activation)
        assert isinstance(result, celtypes.BoolType), f"{validation['expression']!r} is not a predicate: {result!r}"
        if not result:
            failed.append(validation["message"])
    return failed
