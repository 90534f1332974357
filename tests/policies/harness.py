"""Run one rule the way the policy SDK does (level 1 of CONTROLS.md §4) and report its outcome."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError  # private; pulumi-policy is pinned to 1.21
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.rules import RULES
from policies.rules.base import resource_validator, stack_validator

UNKNOWN = UNKNOWN_STRING_VALUE
"""Put this in props to simulate a value computed during preview."""

DELETE = object()
"""A mutation value that removes the key."""

FUTURE = "2999-12-31"
PAST = "2000-01-01"


@dataclass
class Outcome:
    """What a rule reported."""

    violations: list[tuple[str, str | None]] = field(default_factory=list)
    advisory: str | None = None
    """The "cannot be verified" message (UnknownValueError), if the rule could not decide."""
    not_applicable: str | None = None

    @property
    def messages(self) -> list[str]:
        """The violation messages."""
        return [message for message, _ in self.violations]

    @property
    def passed(self) -> bool:
        """No violation, no advisory, and the rule applied."""
        return not self.violations and self.advisory is None and self.not_applicable is None

    def describe(self) -> str:
        """For assertion messages."""
        return f"violations={self.messages} advisory={self.advisory!r} not_applicable={self.not_applicable!r}"


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:test::policies::{type_token}::{name}"


def _provider(provider: dict[str, Any] | None, type_token: str) -> PolicyProviderResource | None:
    if provider is None:
        return None
    package = type_token.split(":", 1)[0]
    return PolicyProviderResource(
        f"pulumi:providers:{package}",
        unknown_checking_proxy(copy.deepcopy(provider)),
        _urn(f"pulumi:providers:{package}", "provider"),
        "provider",
    )


def run_resource(
    rule: str,
    type_token: str,
    props: dict[str, Any],
    *,
    name: str = "subject",
    config: dict[str, Any] | None = None,
    provider: dict[str, Any] | None = None,
) -> Outcome:
    """Validate one resource with one rule, with props wrapped in the SDK's unknown-checking proxy."""
    outcome = Outcome()
    args = ResourceValidationArgs(
        type_token,
        unknown_checking_proxy(copy.deepcopy(props)),
        _urn(type_token, name),
        name,
        _options(),
        _provider(provider, type_token),
        config,
    )
    try:
        resource_validator(RULES[rule])(args, lambda message, urn=None: outcome.violations.append((message, urn)))
    except UnknownValueError as error:
        outcome.advisory = error.message
    except _NotApplicableError as error:
        outcome.not_applicable = error.reason or ""
    return outcome


@dataclass
class Res:
    """One resource of a test stack; `deps` maps a property to the names of the resources it depends on."""

    type: str
    name: str
    props: dict[str, Any]
    deps: dict[str, list[str]] = field(default_factory=dict)
    provider: dict[str, Any] | None = None


def run_stack(rule: str, resources: list[Res], *, config: dict[str, Any] | None = None) -> Outcome:
    """Validate a stack of resources with one stack rule; violations carry the name of the resource at fault."""
    outcome = Outcome()
    built: dict[str, PolicyResource] = {}
    for resource in resources:
        built[resource.name] = PolicyResource(
            resource.type,
            unknown_checking_proxy(copy.deepcopy(resource.props)),
            _urn(resource.type, resource.name),
            resource.name,
            _options(),
            _provider(resource.provider, resource.type),
            None,
            [],
            {},
        )
    for resource in resources:
        built[resource.name].property_dependencies = {
            key: [built[name] for name in names if name in built] for key, names in resource.deps.items()
        }
    names = {policy_resource.urn: name for name, policy_resource in built.items()}
    args = StackValidationArgs(list(built.values()), config)
    try:
        stack_validator(RULES[rule])(
            args, lambda message, urn=None: outcome.violations.append((message, names.get(urn or "", "")))
        )
    except UnknownValueError as error:
        outcome.advisory = error.message
    except _NotApplicableError as error:
        outcome.not_applicable = error.reason or ""
    return outcome


_STEP = re.compile(r'\["([^"]+)"\]|([^.\[\]]+)|\[(\d+)\]')


def mutate(props: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `props` with paths set to values (`DELETE` removes the key).

    Paths are dotted with list indices and quoted keys for keys that contain dots:
    `spec.containers[0].image`, `metadata.labels["mlplatform.io/tier"]`.
    """
    result = copy.deepcopy(props)
    for path, value in changes.items():
        steps = [quoted or (int(index) if index else key) for quoted, key, index in _STEP.findall(path)]
        target: Any = result
        for step in steps[:-1]:
            if isinstance(step, str) and step not in target:
                target[step] = {}
            target = target[step]
        if value is DELETE:
            del target[steps[-1]]
        else:
            target[steps[-1]] = copy.deepcopy(value)
    return result


def from_registrations(registrations: list[Any]) -> list[Res]:
    """Recorded registrations (`stacks.synth.Registration`) as a test stack, property dependencies by name."""
    names = {registration.urn: registration.name for registration in registrations}
    return [
        Res(
            registration.type,
            registration.name,
            registration.inputs,
            {
                key: [names[urn] for urn in urns if urn in names]
                for key, urns in registration.property_dependencies.items()
            },
        )
        for registration in registrations
    ]
