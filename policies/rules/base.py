"""The rule model every control area shares: rules, findings, unknown-safe property access, joins and suppression."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

# --- Unknown values ---------------------------------------------------------------------------------------


class _Unknown:
    """A value the engine cannot know yet (computed during `pulumi up`).

    It is truthy on purpose: a presence check (`if not key_arn`) treats "will be computed" as set, which
    is what CONTROLS.md asks for. Content checks must test `is UNKNOWN` and yield `Unverified`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def get(self, key: Any, default: Any = None) -> Any:
        """Any part of an unknown object is unknown too (iterating one still fails: rules must decide)."""
        return self


UNKNOWN: Any = _Unknown()
"""The value of every property that is unknown during preview, in the plain copies rules read."""

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def plain(value: Any) -> Any:
    """A plain copy of policy props (dicts, lists, scalars) with every unknown replaced by `UNKNOWN`.

    The SDK hands rules proxies that raise `UnknownValueError` on any read of an unknown value; rules read
    this copy instead, so one unknown field never aborts the checks of the others.
    """
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Mapping | Sequence):
        # pulumi_policy's _DictProxy/_ListProxy: "__target" is the documented way to the raw container.
        return plain(value["__target"])
    return value


def is_unknown(value: Any) -> bool:
    """True when `value` is the unknown marker."""
    return value is UNKNOWN


def dig(value: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted `path` ("vpcConfig.endpointPublicAccess"), `UNKNOWN` if a step is unknown."""
    current = value
    for key in path.split("."):
        if current is UNKNOWN:
            return UNKNOWN
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return default if current is None else current


def as_bool(value: Any) -> bool | Any | None:
    """True/False from a boolean or a boolean string ("true"); None when absent; `UNKNOWN` passes through."""
    if value is UNKNOWN or value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_number(value: Any) -> float | Any | None:
    """A number from a float, int or numeric string; None when absent or not numeric."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list[Any] | Any:
    """A list (None becomes []); `UNKNOWN` passes through; a single value becomes a one-item list."""
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_dict(value: Any) -> dict[str, Any] | Any:
    """A dict (None or a non-dict becomes {}); `UNKNOWN` passes through."""
    if value is UNKNOWN:
        return UNKNOWN
    return value if isinstance(value, dict) else {}


def is_set(value: Any) -> bool:
    """Presence check: set, non-empty, or unknown (a value computed later counts as set)."""
    return value is UNKNOWN or value not in (None, "", [], {})


def parse_json(value: Any) -> Any:
    """A JSON document given as a string (or already decoded); None when absent or not JSON."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str):
        try:
            return plain(json.loads(value))
        except ValueError:
            return None
    return None


# --- Findings ---------------------------------------------------------------------------------------------

PREVIEW = "is unknown during preview; the rule runs again on `pulumi up`, when the value is known"
OUTSIDE = "is defined outside this stack, so it cannot be verified here"


@dataclass(frozen=True)
class Unverified:
    """A check that could not be decided: it becomes an advisory diagnostic, never a silent pass."""

    what: str
    """What could not be read, e.g. "the bucket policy of S3 bucket 'models'"."""
    why: str = PREVIEW


class NotApplicable(Exception):  # noqa: N818 - mirrors the SDK's not_applicable()
    """Raised by a check when the rule does not apply to the resource (or the stack), with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Finding = str | Unverified
"""What a resource check yields: a violation message, or a check it could not decide."""


def must_be_true(value: Any, subject: str, violation: str) -> Iterator[Finding]:
    """The finding for a flag that must be true: unverifiable while unknown, `violation` unless it is True.

    Args:
        value: the flag as read from the props (a boolean, a boolean string, None or `UNKNOWN`).
        subject: what cannot be verified while the value is unknown, e.g. "require_x of storage account 'a'".
        violation: the message naming the resource and the fix.
    """
    flag = as_bool(value)
    if flag is UNKNOWN:
        yield Unverified(subject)
    elif flag is not True:
        yield violation


# --- Views of resources and stacks ------------------------------------------------------------------------

_AZURE_VERSIONED = re.compile(r"^azure-native:(?P<module>[A-Za-z0-9]+)/v[0-9a-z]+:(?P<kind>\w+)$")


def canonical_type(type_token: str) -> str:
    """The type token rules match on: azure-native API-versioned aliases map to the default module token."""
    match = _AZURE_VERSIONED.match(type_token)
    return f"azure-native:{match['module']}:{match['kind']}" if match else type_token


@dataclass
class Provider:
    """The provider a resource is created with (explicit or default)."""

    type: str
    props: dict[str, Any]


@dataclass
class Resource:
    """What a rule reads about one resource: plain props with `UNKNOWN` markers, provider props, joins."""

    type: str
    """Canonical type token (see `canonical_type`)."""
    name: str
    urn: str
    props: dict[str, Any]
    provider: Provider | None = None
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Property name -> URNs of the resources its value came from (stack policies only)."""

    def get(self, path: str, default: Any = None) -> Any:
        """The prop at a dotted path (see `dig`)."""
        return dig(self.props, path, default)

    def provider_prop(self, key: str) -> Any:
        """A provider configuration value (strings; nested values are JSON strings), or None."""
        return self.provider.props.get(key) if self.provider else None

    def depends_on(self, key: str, urn: str) -> bool:
        """True when the value of prop `key` came from the resource `urn`."""
        return urn in self.dependencies.get(key, [])

    @classmethod
    def from_args(cls, args: ResourceValidationArgs) -> Resource:
        """The view of a resource under validation."""
        return cls(
            type=canonical_type(args.resource_type),
            name=args.name,
            urn=args.urn,
            props=plain(args.props) or {},
            provider=_provider(args.provider),
        )

    @classmethod
    def from_policy_resource(cls, resource: PolicyResource) -> Resource:
        """The view of one resource of a stack under validation."""
        return cls(
            type=canonical_type(resource.resource_type),
            name=resource.name,
            urn=resource.urn,
            props=plain(resource.props) or {},
            provider=_provider(resource.provider),
            dependencies={key: [dep.urn for dep in deps] for key, deps in resource.property_dependencies.items()},
        )


def _provider(provider: Any) -> Provider | None:
    if provider is None:
        return None
    return Provider(type=provider.resource_type, props=plain(provider.props) or {})


@dataclass
class Stack:
    """Every resource of the stack, with the joins stack rules need."""

    resources: list[Resource]

    def __post_init__(self) -> None:
        self._by_urn = {resource.urn: resource for resource in self.resources}

    def of(self, types: Iterable[str]) -> list[Resource]:
        """Resources whose canonical type is one of `types`, in registration order."""
        wanted = set(types)
        return [resource for resource in self.resources if resource.type in wanted]

    def by_urn(self, urn: str) -> Resource | None:
        """The resource with this URN, if it is in the stack."""
        return self._by_urn.get(urn)

    def attached(
        self,
        target: Resource,
        types: Iterable[str],
        key: str,
        *,
        values: Iterable[str] = (),
    ) -> list[Resource]:
        """Resources of `types` whose prop `key` refers to `target`.

        The reference is the property dependency the engine records when an output of `target` flows into
        `key` (known even during preview), or, for literal references, a value equal to one of `values`
        (e.g. the bucket's physical name).
        """
        literal = {value for value in values if isinstance(value, str) and value}
        found = []
        for resource in self.of(types):
            value = resource.props.get(key)
            if resource.depends_on(key, target.urn) or (isinstance(value, str) and value in literal):
                found.append(resource)
        return found

    @classmethod
    def from_args(cls, args: StackValidationArgs) -> Stack:
        """The view of the stack under validation."""
        return cls([Resource.from_policy_resource(resource) for resource in args.resources])


StackFinding = tuple[Resource | None, Finding]
"""What a stack check yields: the resource at fault (None for the whole stack) and the finding."""


# --- Shared tag and label helpers ------------------------------------------------------------------------

PURPOSE_TAG = "mlplatform.io/purpose"
"""Tag naming a resource's platform role, e.g. `access-logs` on the S3 server-access-log bucket."""

ACCESS_LOGS_PURPOSE = "access-logs"


def aws_tags(resource: Resource) -> dict[str, Any] | Any:
    """The resource's tags merged over the provider's `defaultTags` (a JSON string in provider config)."""
    tags = resource.props.get("tags")
    if tags is UNKNOWN:
        return UNKNOWN
    merged: dict[str, Any] = {}
    defaults = parse_json(resource.provider_prop("defaultTags"))
    if isinstance(defaults, dict) and isinstance(defaults.get("tags"), dict):
        merged.update(defaults["tags"])
    if isinstance(tags, dict):
        merged.update(tags)
    return merged


def azure_tags(resource: Resource) -> dict[str, Any] | Any:
    """The resource's tags."""
    return as_dict(resource.props.get("tags"))


def kubernetes_labels(resource: Resource) -> dict[str, Any] | Any:
    """The object's `metadata.labels`."""
    return as_dict(resource.get("metadata.labels"))


def tag_value(tags: Any, key: str) -> Any:
    """A tag value from a tag dict, `UNKNOWN` when the tags or the value are unknown."""
    if tags is UNKNOWN:
        return UNKNOWN
    return tags.get(key) if isinstance(tags, dict) else None


# --- Rules, settings and configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A configuration property of a rule, with its JSON schema (including the default)."""

    name: str
    schema: dict[str, Any]

    @property
    def default(self) -> Any:
        """The schema default."""
        return self.schema.get("default")


def string_list(name: str, description: str, default: Iterable[str] = ()) -> Setting:
    """A setting whose value is a list of strings (`default` when the pack configuration does not set it)."""
    return Setting(
        name, {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}
    )


EXCLUDE_FOR = string_list(
    "excludeFor",
    "Regular expressions over resource names (full match) this policy does not check.",
)
EXEMPTIONS = Setting(
    "exemptions",
    {
        "type": "array",
        "default": [],
        "description": (
            "Resources exempted from this policy, each with a reason and an expiry date (YYYY-MM-DD). "
            "An expired exemption is itself a violation."
        ),
        "items": {
            "type": "object",
            "properties": {
                "urn": {"type": "string", "description": "The exact URN of the exempted resource."},
                "name": {"type": "string", "description": "A regular expression over resource names (full match)."},
                "reason": {"type": "string", "minLength": 10, "description": "Why the exemption is acceptable."},
                "expires": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d{2}-\d{2}$",
                    "description": "Last day the exemption applies (YYYY-MM-DD).",
                },
            },
            "required": ["reason", "expires"],
            "anyOf": [{"required": ["urn"]}, {"required": ["name"]}],
            "additionalProperties": False,
        },
    },
)


ResourceCheck = Callable[[Resource, dict[str, Any]], Iterable[Finding]]
StackCheck = Callable[[Stack, dict[str, Any]], Iterable[StackFinding]]


@dataclass(frozen=True)
class Rule:
    """One check of one requirement, independent of the frameworks that map it."""

    name: str
    """Kebab-case policy name, `<cloud>-<service>-<resource>-<requirement>`."""
    title: str
    """Short display name."""
    description: str
    """The compliant state, one or two sentences."""
    remediation: str
    """How to fix a violation, in terms of the Pulumi SDK arguments."""
    cloud: str
    """aws, azure or kubernetes."""
    scope: str
    """What the rule looks at, in words ("S3 buckets")."""
    types: frozenset[str] | None
    """Canonical type tokens the rule applies to; None means `matches` decides."""
    check: Callable[..., Iterable[Any]]
    stack: bool = False
    settings: tuple[Setting, ...] = ()
    matches: Callable[[str], bool] | None = None
    area: str = ""

    def applies_to(self, type_token: str) -> bool:
        """True when a resource of `type_token` is in this rule's scope."""
        if self.matches is not None:
            return self.matches(type_token)
        return self.types is not None and type_token in self.types

    def config_schema(self) -> PolicyConfigSchema:
        """The policy's configuration schema: its settings plus the suppression settings."""
        properties = {setting.name: setting.schema for setting in (*self.settings, EXCLUDE_FOR, EXEMPTIONS)}
        return PolicyConfigSchema(properties=properties)

    def config(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Effective configuration: schema defaults overlaid with the pack configuration."""
        effective = {setting.name: setting.default for setting in (*self.settings, EXCLUDE_FOR, EXEMPTIONS)}
        effective.update({key: plain(value) for key, value in (given or {}).items()})
        return effective


RULES: dict[str, Rule] = {}
"""Every rule of the library by name (filled as the area modules are imported)."""


def _register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is defined twice")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name):
        raise ValueError(f"rule name {rule.name!r} is not kebab-case")
    RULES[rule.name] = rule
    return rule


def resource_rule(
    *,
    name: str,
    title: str,
    description: str,
    remediation: str,
    scope: str,
    types: Iterable[str] | None = None,
    matches: Callable[[str], bool] | None = None,
    settings: Iterable[Setting] = (),
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a per-resource rule; the decorated function yields findings for one resource."""

    def register(check: ResourceCheck) -> ResourceCheck:
        _register(
            Rule(
                name=name,
                title=title,
                description=description,
                remediation=remediation,
                cloud=name.split("-")[0],
                scope=scope,
                types=frozenset(types) if types is not None else None,
                matches=matches,
                check=check,
                settings=tuple(settings),
                area=check.__module__.rsplit(".", 1)[-1],
            )
        )
        return check

    return register


def stack_rule(
    *,
    name: str,
    title: str,
    description: str,
    remediation: str,
    scope: str,
    settings: Iterable[Setting] = (),
) -> Callable[[StackCheck], StackCheck]:
    """Register a stack rule; the decorated function yields (resource, finding) pairs for the whole stack."""

    def register(check: StackCheck) -> StackCheck:
        _register(
            Rule(
                name=name,
                title=title,
                description=description,
                remediation=remediation,
                cloud=name.split("-")[0],
                scope=scope,
                types=None,
                check=check,
                stack=True,
                settings=tuple(settings),
                area=check.__module__.rsplit(".", 1)[-1],
            )
        )
        return check

    return register


# --- Suppression: excludeFor and exemptions ---------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    """How the pack configuration treats one resource for one policy."""

    skip: str | None = None
    """Why the resource is not checked (excluded or exempted), if it is not."""
    expired: str | None = None
    """The violation an expired (or malformed) matching exemption causes, if any."""


def _full_match(pattern: Any, text: str) -> bool:
    try:
        return isinstance(pattern, str) and re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def suppression(config: Mapping[str, Any], resource: Resource, today: date | None = None) -> Suppression:
    """Decide whether `excludeFor` or an exemption covers `resource`, and whether an exemption expired."""
    for pattern in as_list(config.get("excludeFor")) or []:
        if _full_match(pattern, resource.name):
            return Suppression(skip=f"'{resource.name}' is excluded by the policy's excludeFor pattern {pattern!r}")
    today = today or datetime.now(UTC).date()
    for exemption in as_list(config.get("exemptions")) or []:
        if not isinstance(exemption, dict):
            continue
        by_urn = exemption.get("urn") == resource.urn
        by_name = _full_match(exemption.get("name"), resource.name)
        if not (by_urn or by_name):
            continue
        reason = exemption.get("reason")
        expires = _parse_date(exemption.get("expires"))
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            return Suppression(
                expired=f"The exemption for '{resource.name}' is ignored: its reason must be at least 10 characters."
            )
        if expires is None:
            return Suppression(
                expired=f"The exemption for '{resource.name}' is ignored: set expires to a date (YYYY-MM-DD)."
            )
        if expires < today:
            return Suppression(
                expired=(
                    f"The exemption for '{resource.name}' expired on {expires.isoformat()} (reason: {reason}); "
                    "fix the resource and remove the exemption, or renew it with a new expiry date."
                )
            )
        return Suppression(skip=f"'{resource.name}' is exempt until {expires.isoformat()}: {reason}")
    return Suppression()


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- Running rules inside the policy SDK -----------------------------------------------------------------


def _unverified_error(items: list[Unverified]) -> UnknownValueError:
    error = UnknownValueError(UNKNOWN_STRING_VALUE, [])
    error.message = "; ".join(f"{item.what} {item.why}" for item in items)
    return error


def _crash_message(rule: Rule, subject: str, error: Exception) -> str:
    return (
        f"Rule {rule.name} could not evaluate {subject} ({type(error).__name__}: {error}); the configuration has "
        "an unexpected shape. Report this, and exempt the resource through the policy's exemptions meanwhile."
    )


def resource_validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """The `validate` callback of a ResourceValidationPolicy running `rule`."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        type_token = canonical_type(args.resource_type)
        if not rule.applies_to(type_token):
            args.not_applicable(f"applies to {rule.scope}")
        config = rule.config(args.get_config())
        resource = Resource.from_args(args)
        status = suppression(config, resource)
        if status.skip:
            args.not_applicable(status.skip)
        if status.expired:
            report(status.expired, None)
        findings: list[Any] = []
        not_applicable: str | None = None
        try:
            findings = list(rule.check(resource, config))
        except NotApplicable as reason:
            not_applicable = reason.reason
        except Exception as error:  # fail closed: an unexpected shape must not pass silently
            findings = [_crash_message(rule, f"'{resource.name}'", error)]
        if not_applicable is not None:
            args.not_applicable(not_applicable)
        violations = [finding for finding in findings if isinstance(finding, str)]
        for message in violations:
            report(message, None)
        unverified = [finding for finding in findings if isinstance(finding, Unverified)]
        if unverified and not violations:
            raise _unverified_error(unverified)

    return validate


def stack_validator(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """The `validate` callback of a StackValidationPolicy running `rule`."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = rule.config(args.get_config())
        stack = Stack.from_args(args)
        findings: list[StackFinding] = []
        not_applicable: str | None = None
        try:
            findings = list(rule.check(stack, config))
        except NotApplicable as reason:
            not_applicable = reason.reason
        except Exception as error:  # fail closed, as for resource rules
            findings = [(None, _crash_message(rule, "the stack", error))]
        if not_applicable is not None:
            args.not_applicable(not_applicable)
        violations: list[tuple[str, str | None]] = []
        unverified: list[Unverified] = []
        expired_reported: set[str] = set()
        for resource, finding in findings:
            if resource is not None:
                status = suppression(config, resource)
                if status.skip:
                    continue
                if status.expired and resource.urn not in expired_reported:
                    expired_reported.add(resource.urn)
                    violations.append((status.expired, resource.urn))
            if isinstance(finding, Unverified):
                unverified.append(finding)
            else:
                violations.append((finding, resource.urn if resource else None))
        for message, urn in violations:
            report(message, urn)
        if unverified and not violations:
            raise _unverified_error(unverified)

    return validate


def dicts(value: Any) -> tuple[list[dict[str, Any]], bool]:
    """The dict items of a list value, and whether the list or any item is unknown (non-dicts are skipped)."""
    items = as_list(value)
    if items is UNKNOWN:
        return [], True
    return [item for item in items if isinstance(item, dict)], any(item is UNKNOWN for item in items)


def strings(value: Any) -> tuple[list[str], bool]:
    """The string items of a list value, and whether the list or any item is unknown (other items are skipped).

    An IAM `Action: "s3:GetObject"` given as one string is a one-item list, as `as_list` reads it.
    """
    items = as_list(value)
    if items is UNKNOWN:
        return [], True
    return [item for item in items if isinstance(item, str)], any(item is UNKNOWN for item in items)
