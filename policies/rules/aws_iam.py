"""IAM in every attachment form: the resources that carry or attach policies, and what one statement grants.

A permission reaches a principal in one of three ways, and a rule asking "what does this grant" must read all of
them, or the same grant said another way slips past it:

- inline, as a document on the principal (`aws:iam/rolePolicy`, `userPolicy`, `groupPolicy`, a Role's
  `inlinePolicies`);
- managed, as an `aws:iam/policy` document reached through an attachment (`rolePolicyAttachment`,
  `userPolicyAttachment`, `groupPolicyAttachment`, `policyAttachment`, a Role's `managedPolicyArns`, the
  `...PolicyAttachmentsExclusive` resources), or an AWS managed policy named by ARN;
- the `...PoliciesExclusive` resources only name the inline policies a principal keeps; their documents are the
  `rolePolicy`/`userPolicy`/`groupPolicy` resources of those names, judged on their own.

Tokens and property names are those of pulumi-aws 7 (`aws.iam.*`, checked against the installed SDK).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from policies.rules.base import UNKNOWN, Resource, as_dict, as_list, strings

# --- Where policies live -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IamForm:
    """One resource type that carries or attaches IAM policies, and the props that hold them."""

    token: str
    principal: str
    """Who receives the grant: 'role', 'user', 'group', 'users, groups or roles', or 'attached principals'."""
    document: str | None = None
    """Prop holding one policy document (a JSON string)."""
    inline_documents: str | None = None
    """Prop holding a list of {name, policy} inline policies."""
    arn: str | None = None
    """Prop holding one attached policy ARN."""
    arns: str | None = None
    """Prop holding a list of attached policy ARNs."""
    names: str | None = None
    """Prop holding the names of inline policies kept (their documents are separate resources)."""


IAM_FORMS: dict[str, IamForm] = {
    form.token: form
    for form in (
        IamForm("aws:iam/policy:Policy", "attached principals", document="policy"),
        IamForm("aws:iam/rolePolicy:RolePolicy", "role", document="policy"),
        IamForm("aws:iam/userPolicy:UserPolicy", "user", document="policy"),
        IamForm("aws:iam/groupPolicy:GroupPolicy", "group", document="policy"),
        IamForm("aws:iam/role:Role", "role", inline_documents="inlinePolicies", arns="managedPolicyArns"),
        IamForm("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "role", arn="policyArn"),
        IamForm("aws:iam/userPolicyAttachment:UserPolicyAttachment", "user", arn="policyArn"),
        IamForm("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "group", arn="policyArn"),
        IamForm("aws:iam/policyAttachment:PolicyAttachment", "users, groups or roles", arn="policyArn"),
        IamForm("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "role", arns="policyArns"),
        IamForm("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "user", arns="policyArns"),
        IamForm("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive", "group", arns="policyArns"),
        IamForm("aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "role", names="policyNames"),
        IamForm("aws:iam/userPoliciesExclusive:UserPoliciesExclusive", "user", names="policyNames"),
        IamForm("aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive", "group", names="policyNames"),
    )
}
"""Every pulumi-aws resource that carries an IAM policy document or attaches a managed policy."""

GRANTING_TYPES: tuple[str, ...] = tuple(token for token, form in IAM_FORMS.items() if form.names is None)
"""The forms that carry a document or an ARN (the `...PoliciesExclusive` ones only name other resources)."""

USER_GRANT_TYPES: tuple[str, ...] = (
    *(token for token, form in IAM_FORMS.items() if form.principal == "user"),
    "aws:iam/policyAttachment:PolicyAttachment",
)
"""The forms that can give an IAM user permissions (a PolicyAttachment does when its `users` is not empty)."""


def policy_documents(resource: Resource) -> list[tuple[str, Any]]:
    """(where, raw document) for every policy document the resource carries; `UNKNOWN` documents kept."""
    form = IAM_FORMS.get(resource.type)
    if form is None:
        return []
    documents: list[tuple[str, Any]] = []
    if form.document:
        documents.append(("policy", resource.props.get(form.document)))
    if form.inline_documents:
        inline = as_list(resource.props.get(form.inline_documents))
        if inline is UNKNOWN:
            documents.append(("inline policies", UNKNOWN))
        else:
            for item in inline:
                item = as_dict(item)
                if item is UNKNOWN:
                    documents.append(("inline policies", UNKNOWN))
                    continue
                name = item.get("name")
                documents.append((f"inline policy '{name if isinstance(name, str) else '?'}'", item.get("policy")))
    return documents


def attached_arns(resource: Resource) -> list[Any]:
    """Every managed policy ARN the resource attaches (`UNKNOWN` items kept, a computed list is `[UNKNOWN]`)."""
    form = IAM_FORMS.get(resource.type)
    if form is None:
        return []
    found: list[Any] = []
    if form.arn:
        arn = resource.props.get(form.arn)
        if arn is not None:
            found.append(arn)
    if form.arns:
        arns = as_list(resource.props.get(form.arns))
        found.extend([UNKNOWN] if arns is UNKNOWN else arns)
    return found


# --- AWS managed policies known to grant administrator access ------------------------------------------------

ADMIN_MANAGED_POLICIES: tuple[str, ...] = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
"""AWS managed policies that grant administrator access (AWS Managed Policy Reference Guide,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/): AdministratorAccess allows Action '*' on
Resource '*'; PowerUserAccess allows every action but `iam:*`, `organizations:*` and `account:*` (a NotAction
statement) on Resource '*'; IAMFullAccess allows `iam:*`, with which a principal grants itself anything."""

_AWS_MANAGED_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")


def aws_managed_policy_name(arn: Any) -> str | None:
    """The name of an AWS managed policy ARN (`arn:<partition>:iam::aws:policy[/path]/<name>`), else None."""
    if not isinstance(arn, str):
        return None
    match = _AWS_MANAGED_ARN.match(arn)
    return match["name"] if match else None


# --- Statements and what they grant --------------------------------------------------------------------------


def statements(document: Any) -> list[Any]:
    """The statements of a policy document (one statement or a list); `UNKNOWN` marks a computed document/list.

    A document that is not an object (absent, unparsable) has no statements.
    """
    if document is UNKNOWN:
        return [UNKNOWN]
    if not isinstance(document, dict):
        return []
    found = document.get("Statement")
    return [UNKNOWN] if found is UNKNOWN else as_list(found)


@dataclass(frozen=True)
class Grant:
    """What one Allow statement grants, with `NotAction` / `NotResource` read as "everything but".

    IAM User Guide, "IAM JSON policy elements: NotAction": with Allow, NotAction "matches everything except the
    specified list of actions", so every action not listed is allowed; "NotResource": with Allow it applies to every
    resource except those listed.
    """

    actions: tuple[str, ...]
    """The `Action` patterns, or the exceptions of a `NotAction`."""
    every_action_but: bool
    resources: tuple[str, ...]
    """The `Resource` patterns, or the exceptions of a `NotResource`."""
    every_resource_but: bool
    unknown_actions: bool
    """An action (or the whole element) is computed."""
    unknown_resources: bool

    @property
    def all_actions(self) -> bool:
        """Every action (Action '*'), or every action but some (NotAction): an administrator-like grant."""
        return self.every_action_but or "*" in self.actions

    @property
    def all_resources(self) -> bool:
        """Every resource (Resource '*'), or every resource but some (NotResource)."""
        return self.every_resource_but or "*" in self.resources

    @property
    def service_wildcards(self) -> list[str]:
        """The service-wide actions ('s3:*') an Action element names."""
        if self.every_action_but:
            return []
        return [action for action in self.actions if re.fullmatch(r"[A-Za-z0-9-]+:\*", action)]

    def describe_actions(self) -> str:
        """The actions in words, for messages."""
        if self.every_action_but:
            listed = ", ".join(repr(action) for action in self.actions) or "nothing"
            return f"every action except {listed} (NotAction)"
        return "Action '*'"

    def describe_resources(self) -> str:
        """The resources in words, for messages."""
        if self.every_resource_but:
            listed = ", ".join(repr(resource) for resource in self.resources) or "nothing"
            return f"every resource except {listed} (NotResource)"
        return "Resource '*'"


def grant_of(statement: Any) -> Grant | Any | None:
    """What an Allow statement grants; None for a Deny (or not a statement); `UNKNOWN` when its effect is computed.

    IAM requires `Effect`; a statement without one is read as Allow, the side that cannot hide a grant.
    """
    if statement is UNKNOWN:
        return UNKNOWN
    if not isinstance(statement, dict):
        return None
    effect = statement.get("Effect", "Allow")
    if effect is UNKNOWN:
        return UNKNOWN
    if effect != "Allow":
        return None
    not_action = "NotAction" in statement
    not_resource = "NotResource" in statement
    actions, unknown_actions = strings(statement.get("NotAction" if not_action else "Action"))
    resources, unknown_resources = strings(statement.get("NotResource" if not_resource else "Resource"))
    return Grant(
        actions=tuple(actions),
        every_action_but=not_action,
        resources=tuple(resources),
        every_resource_but=not_resource,
        unknown_actions=unknown_actions,
        unknown_resources=unknown_resources,
    )


def grants_to_everyone(statement: dict[str, Any]) -> bool | Any:
    """True when an Allow statement's principal is anyone: `*`, `{"AWS": "*"}` (any key), or a `NotPrincipal`.

    IAM User Guide, "IAM JSON policy elements: NotPrincipal": with Allow, NotPrincipal allows every principal
    except the ones named. `UNKNOWN` while a principal is computed; False for named principals (and for Deny).
    """
    effect = statement.get("Effect", "Allow")
    if effect is UNKNOWN:
        return UNKNOWN
    if effect != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    if principal is UNKNOWN:
        return UNKNOWN
    if not isinstance(principal, dict):
        return principal == "*"
    values = [as_list(value) for value in principal.values()]
    if any("*" in value for value in values if value is not UNKNOWN):
        return True
    return UNKNOWN if any(value is UNKNOWN or UNKNOWN in value for value in values) else False
