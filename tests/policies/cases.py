"""The case model of the rule tests: a compliant baseline per rule and one mutation per case."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.policies.harness import Res, mutate

Changes = dict[str, Any]


@dataclass
class Fail:
    """A mutation of the baseline that the rule must reject with a message containing `expect`."""

    changes: Changes
    expect: str


@dataclass
class ConfigCase:
    """A configuration (and optional mutation) and whether the rule must then pass."""

    config: dict[str, Any]
    changes: Changes = field(default_factory=dict)
    passes: bool = True


@dataclass
class ResourceCase:
    """Test data for one resource rule."""

    rule: str
    type: str
    props: dict[str, Any]
    fails: dict[str, Fail]
    unknown: Changes
    """A mutation that makes a checked value unknown."""
    unknown_passes: bool = False
    """True for presence checks: a value computed later counts as set."""
    passes: dict[str, Changes] = field(default_factory=dict)
    """Other compliant variants of the baseline."""
    not_applicable: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    """(type, props) of resources the rule must report as not applicable."""
    configs: dict[str, ConfigCase] = field(default_factory=dict)
    provider: dict[str, Any] | None = None
    always_fails: bool = False
    """For rules whose compliant state is the resource's absence (e.g. IAM access keys)."""
    names_as: str = "subject"
    """The name messages use for the resource (Kubernetes objects are named by metadata.name)."""
    variant: str = ""
    """Which of the rule's types this case covers, for rules with one case per type (e.g. "EC2NodeClass")."""

    @property
    def id(self) -> str:
        """The test ID: the rule, and the variant when the rule has several cases."""
        return f"{self.rule}[{self.variant}]" if self.variant else self.rule


StackChange = Callable[[list[Res]], list[Res]]


def change(name: str, changes: Changes) -> StackChange:
    """Mutate the props of the resource `name`."""

    def apply(resources: list[Res]) -> list[Res]:
        result = copy.deepcopy(resources)
        for resource in result:
            if resource.name == name:
                resource.props = mutate(resource.props, changes)
        return result

    return apply


def drop(*names: str) -> StackChange:
    """Remove resources."""

    def apply(resources: list[Res]) -> list[Res]:
        return [resource for resource in copy.deepcopy(resources) if resource.name not in names]

    return apply


def add(*extra: Res) -> StackChange:
    """Add resources."""

    def apply(resources: list[Res]) -> list[Res]:
        return [*copy.deepcopy(resources), *copy.deepcopy(list(extra))]

    return apply


def then(*steps: StackChange) -> StackChange:
    """Apply several changes in order."""

    def apply(resources: list[Res]) -> list[Res]:
        for step in steps:
            resources = step(resources)
        return resources

    return apply


@dataclass
class StackFail:
    """A change of the compliant stack that must produce a violation on `resource` containing `expect`."""

    change: StackChange
    resource: str
    expect: str


@dataclass
class StackConfigCase:
    """A configuration (and optional change) and whether the stack must then pass."""

    config: dict[str, Any]
    change: StackChange = field(default=lambda resources: resources)
    passes: bool = True


@dataclass
class StackCase:
    """Test data for one stack rule."""

    rule: str
    resources: list[Res]
    fails: dict[str, StackFail]
    unknown: StackChange
    not_applicable: StackChange
    unknown_passes: bool = False
    passes: dict[str, StackChange] = field(default_factory=dict)
    configs: dict[str, StackConfigCase] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    """Configuration every case runs with (unless a config case replaces it)."""
    not_applicable_config: dict[str, Any] | None = None
    """Configuration of the not-applicable case, when it differs from `config`."""


# --- Shared values ---------------------------------------------------------------------------------------

KEY = "arn:aws:kms:eu-central-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/platform-admins"
RECORD_TAGS = {
    "data-classification": "confidential",
    "data-owner": "ml-platform",
    "processing-activity": "ropa-ml-0042",
    "retention": "365d",
}
DIGEST = "sha256:" + "a" * 64
ECR_IMAGE = f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/fraud/api@{DIGEST}"


def document(*statements: dict[str, Any]) -> str:
    """An IAM-style policy document as the JSON string the SDK sends."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
