"""A small evaluator of Azure role assignment conditions (version 2.0) over one Blob Storage request.

Enough of the condition grammar to prove what a conditioned role assignment allows (Microsoft Learn, "Azure role
assignment condition format and syntax"): parentheses, `AND`, `OR`, `!`/`NOT`, `ActionMatches{'<action>'}`,
`SubOperationMatches{'<suboperation>'}` and `@Resource[...]` / `@Request[...]` attributes compared with
`StringStartsWith` or `StringEquals`. A request whose action the role grants is allowed when the condition is
true; an attribute missing from the request makes its comparison false, as Azure does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<op>AND|OR|NOT|!)|(?P<match>ActionMatches|SubOperationMatches)\{'(?P<value>[^']*)'\}"
    r"|@(?P<source>Resource|Request)\[(?P<attribute>[^\]]+)\]\s+(?P<cmp>StringStartsWith|StringEquals)\s+'(?P<operand>[^']*)')"
)


@dataclass(frozen=True)
class BlobRequest:
    """One data-plane request: its DataAction, optional suboperation and attributes (`...blobs:path` etc.)."""

    action: str
    suboperation: str | None = None
    resource: Mapping[str, str] = field(default_factory=dict)
    request: Mapping[str, str] = field(default_factory=dict)


def _tokens(condition: str) -> list[re.Match[str]]:
    tokens, position = [], 0
    while position < len(condition.rstrip()):
        match = _TOKEN.match(condition, position)
        if match is None:
            raise ValueError(f"the evaluator cannot read {condition[position : position + 40]!r}")
        tokens.append(match)
        position = match.end()
    return tokens


def evaluate(condition: str, request: BlobRequest) -> bool:
    """Whether `condition` holds for `request`."""
    tokens = _tokens(condition)
    index = 0

    def peek() -> re.Match[str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> re.Match[str]:
        nonlocal index
        index += 1
        return tokens[index - 1]

    def primary() -> bool:
        token = take()
        if token["op"] in ("!", "NOT"):
            return not primary()
        if token["paren"] == "(":
            value = disjunction()
            assert take()["paren"] == ")", "unbalanced parentheses"
            return value
        if token["match"] == "ActionMatches":
            return request.action == token["value"]
        if token["match"] == "SubOperationMatches":
            return request.suboperation == token["value"]
        if token["source"]:
            values = request.resource if token["source"] == "Resource" else request.request
            actual = values.get(token["attribute"])
            if actual is None:
                return False
            if token["cmp"] == "StringStartsWith":
                return actual.startswith(token["operand"])
            return actual == token["operand"]
        raise ValueError(f"unexpected token {token.group(0)!r}")

    def conjunction() -> bool:
        value = primary()
        while (token := peek()) is not None and token["op"] == "AND":
            take()
            value = primary() and value
        return value

    def disjunction() -> bool:
        value = conjunction()
        while (token := peek()) is not None and token["op"] == "OR":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    assert index == len(tokens), "trailing tokens"
    return result
