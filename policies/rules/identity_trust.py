"""Who may become whom: IAM role trust policies and cluster-wide Kubernetes bindings to roles that read Secrets.

An IAM role's trust policy decides which principals can assume it; a Kubernetes ClusterRoleBinding decides who
holds a ClusterRole in every namespace. Both are recognised by type and structure only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from policies.rules.base import (
    OUTSIDE,
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_dict,
    as_list,
    dicts,
    parse_json,
    resource_rule,
    stack_rule,
    string_list,
)

IAM_ROLE = "aws:iam/role:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

# --- IAM role trust policies -------------------------------------------------------------------------------

_PINNING_KEYS = frozenset({"sts:externalid", "aws:sourceaccount", "aws:sourcearn", "aws:principalorgid"})
"""Condition keys that narrow a `*` principal to one party (IAM User Guide, "AWS global condition context keys";
"How to use an external ID when granting access to your AWS resources to a third party")."""
_PINNING_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike", "StringEqualsIgnoreCase"})
"""Operators under which a pinning key restricts; `...IfExists`, negated and `Null` operators do not."""
_SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")
STS_AUDIENCE = "sts.amazonaws.com"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


def _trust_statements(role: Resource) -> list[Any] | Unverified | str:
    """The statements of the role's trust policy (a JSON string or an object), or why they cannot be read."""
    raw = role.props.get("assumeRolePolicy")
    if raw is UNKNOWN:
        return Unverified(f"the trust policy of IAM role '{role.name}'")
    document = parse_json(raw)
    if not isinstance(document, dict):
        return f"IAM role '{role.name}' has no readable trust policy; set assume_role_policy to a JSON policy document."
    statements = document.get("Statement")
    if statements is UNKNOWN:
        return Unverified(f"the trust policy statements of IAM role '{role.name}'")
    return as_list(statements)


def _conditions(statement: dict[str, Any]) -> dict[str, dict[str, list[Any]]] | Any:
    """Condition operator -> {key (lower case) -> values}; `UNKNOWN` when any part is unknown."""
    condition = statement.get("Condition")
    if condition is UNKNOWN:
        return UNKNOWN
    result: dict[str, dict[str, list[Any]]] = {}
    for operator, block in as_dict(condition).items():
        if block is UNKNOWN:
            return UNKNOWN
        entries: dict[str, list[Any]] = {}
        for key, values in as_dict(block).items():
            values = as_list(values)
            if values is UNKNOWN or UNKNOWN in values:
                return UNKNOWN
            entries[str(key).lower()] = values
        result[str(operator)] = entries
    return result


def _is_pinned(conditions: dict[str, dict[str, list[Any]]]) -> bool:
    for operator, entries in conditions.items():
        if operator not in _PINNING_OPERATORS:
            continue
        for key, values in entries.items():
            if key in _PINNING_KEYS and values and all(isinstance(v, str) and v and v != "*" for v in values):
                return True
    return False


def _principal_values(principal: Any, kind: str) -> list[Any] | Any:
    if principal is UNKNOWN:
        return UNKNOWN
    if principal == "*":
        return ["*"] if kind == "AWS" else []
    return as_list(as_dict(principal).get(kind))


def _web_identity_findings(label: str, federated: str, conditions: Any) -> Iterator[Finding]:
    """An IRSA trust pins `<issuer>:sub` to one service account and `<issuer>:aud` to STS, both with StringEquals.

    EKS documents the pair in "Assign IAM roles to Kubernetes service accounts" (the `:sub` and `:aud` conditions);
    a StringLike `:sub` with `*` lets every service account of a namespace (or of the cluster) assume the role.
    """
    if conditions is UNKNOWN:
        yield Unverified(f"the conditions of {label}")
        return
    issuer = federated.split(":oidc-provider/", 1)[1].lower()
    equals = conditions.get("StringEquals", {})
    if not _is_kubernetes_issuer(issuer, conditions):
        # Another OIDC provider (a CI system's): its subjects are not service accounts, but one must be named.
        subjects = [value for entries in conditions.values() for value in entries.get(f"{issuer}:sub", [])]
        if not subjects or any(value == "*" for value in subjects):
            yield f"{label} lets any identity of {issuer} assume the role; add a StringEquals or StringLike condition on {issuer}:sub."
        return
    for operator, entries in conditions.items():
        if operator != "StringEquals" and f"{issuer}:sub" in entries:
            yield f"{label} matches {issuer}:sub with {operator}; pin it with StringEquals to one system:serviceaccount:<namespace>:<name>."
    subjects = equals.get(f"{issuer}:sub")
    if not subjects:
        yield f"{label} lets any service account of the cluster assume the role; add StringEquals {{'{issuer}:sub': 'system:serviceaccount:<namespace>:<name>'}}."
    elif len(subjects) != 1 or not isinstance(subjects[0], str) or not _SERVICE_ACCOUNT.match(subjects[0]):
        yield f"{label} pins {issuer}:sub to {subjects}; pin exactly one 'system:serviceaccount:<namespace>:<name>' without wildcards."
    if equals.get(f"{issuer}:aud") != [STS_AUDIENCE]:
        yield f"{label} does not pin {issuer}:aud to '{STS_AUDIENCE}'; add StringEquals {{'{issuer}:aud': '{STS_AUDIENCE}'}}."


def _is_kubernetes_issuer(issuer: str, conditions: dict[str, dict[str, list[Any]]]) -> bool:
    """An EKS cluster's issuer (`oidc.eks.<region>.amazonaws.com/id/...`), or one whose `:sub` names service accounts."""
    if issuer.startswith("oidc.eks.") and ".amazonaws.com" in issuer:
        return True
    subjects = [value for entries in conditions.values() for value in entries.get(f"{issuer}:sub", [])]
    return any(isinstance(value, str) and value.startswith("system:serviceaccount:") for value in subjects)


@resource_rule(
    name="aws-iam-role-trust-policy-pinned",
    title="IAM role trust policies name who may assume the role",
    description=(
        "No trust statement allows '*' (or {'AWS': '*'}, or NotPrincipal) without a condition pinning it "
        "(sts:ExternalId, aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID); an IRSA trust (a Federated OIDC "
        "provider with sts:AssumeRoleWithWebIdentity) pins <issuer>:sub with StringEquals to exactly one "
        "system:serviceaccount:<namespace>:<name> and <issuer>:aud to sts.amazonaws.com. EKS Pod Identity "
        "(pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession) passes."
    ),
    remediation=(
        "Name the trusted account, service or OIDC provider as the principal; for IRSA use "
        "components.aws.iam.irsa_trust_policy(oidc_provider_arn, namespace, service_account)."
    ),
    scope="IAM roles",
    types=(IAM_ROLE,),
)
def role_trust_pinned(role: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    statements = _trust_statements(role)
    if isinstance(statements, Unverified | str):
        yield statements
        return
    for index, statement in enumerate(statements):
        label = f"trust statement {index} of IAM role '{role.name}'"
        if statement is UNKNOWN:
            yield Unverified(label)
            continue
        statement = as_dict(statement)
        effect = statement.get("Effect")
        if effect is UNKNOWN:
            yield Unverified(f"the effect of {label}")
            continue
        if effect != "Allow":
            continue
        conditions = _conditions(statement)
        if "NotPrincipal" in statement:
            yield f"{label} allows everyone but its NotPrincipal; name the trusted principal in Principal instead."
            continue
        principal = statement.get("Principal")
        aws = _principal_values(principal, "AWS")
        federated = _principal_values(principal, "Federated")
        if UNKNOWN in (aws, federated) or UNKNOWN in as_list(aws) or UNKNOWN in as_list(federated):
            yield Unverified(f"the principal of {label}")
            continue
        if "*" in aws:
            if conditions is UNKNOWN:
                yield Unverified(f"the conditions of {label}")
            elif not _is_pinned(conditions):
                yield (
                    f"{label} lets any AWS principal assume the role; name the trusted account or add a "
                    "StringEquals condition on sts:ExternalId, aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID."
                )
        for provider in federated:
            if isinstance(provider, str) and ":oidc-provider/" in provider:
                yield from _web_identity_findings(label, provider, conditions)


# --- Cluster-wide bindings to roles that read Secrets --------------------------------------------------------

_BUILT_IN_BROAD_ROLES = ("cluster-admin", "admin", "edit")
"""Built-in user-facing ClusterRoles that read Secrets (Kubernetes "Using RBAC Authorization", user-facing roles:
admin and edit allow reading Secrets; cluster-admin allows everything)."""
_READ_VERBS = frozenset({"get", "list", "watch", "*"})

OPERATOR_NAMESPACES: tuple[str, ...] = (
    *PLATFORM_SYSTEM_NAMESPACES,
    "cert-manager",
    "serving-gateway",
    "keda",
    "metrics-server",
    "kueue-system",
    "jobset-system",
    "argo",
)
"""Namespaces of the platform's pinned operators (their charts bind ClusterRoles to their own ServiceAccounts: cert-
manager, Envoy Gateway, the ECK operator, Argo's controller read Secrets cluster-wide by design), where no team can
create a ServiceAccount."""

SECRET_READER_NAMESPACES = string_list(
    "secretReaderNamespaces",
    (
        "Namespaces whose ServiceAccounts are the platform's operators, reviewed to read Secrets cluster-wide "
        "(a team cannot create a ServiceAccount there). Defaults to the platform's system and operator "
        "namespaces."
    ),
    OPERATOR_NAMESPACES,
)

SECRET_READER_SUBJECTS = string_list(
    "secretReaderSubjects",
    (
        "Subjects reviewed to read Secrets cluster-wide (e.g. an operator that manages certificates), as "
        "'ServiceAccount:namespace/name', 'Group:name' or 'User:name'."
    ),
)


def _role_name(role: Resource) -> Any:
    name = role.get("metadata.name")
    return name if name is not None else role.name


def _reads_secrets(role: Resource) -> bool | Any:
    """True when a rule of the ClusterRole reads core-group Secrets (or every resource); `UNKNOWN` if unknowable."""
    if role.props.get("aggregationRule") not in (None, {}):
        return UNKNOWN  # the controller fills the rules from the aggregated roles
    rules, unknown = dicts(role.props.get("rules"))
    if unknown:
        return UNKNOWN
    verdict: bool | Any = False
    for rule in rules:
        groups, resources, verbs = (as_list(rule.get(key)) for key in ("apiGroups", "resources", "verbs"))
        if UNKNOWN in (groups, resources, verbs) or UNKNOWN in [*groups, *resources, *verbs]:
            verdict = UNKNOWN
            continue
        if (
            ("" in groups or "*" in groups)
            and ("secrets" in resources or "*" in resources)
            and _READ_VERBS & set(verbs)
        ):
            return True
    return verdict


_EVERYONE_GROUPS = ("system:authenticated", "system:unauthenticated", "system:serviceaccounts")
"""`system:` groups that stand for many identities (every user, anonymous requests, every service account, or with
a `:<namespace>` suffix every service account of a namespace): never exempt."""


def _is_system_subject(subject: dict[str, Any]) -> bool:
    """A control-plane user or group (`system:kube-controller-manager`, `system:masters`), not a group of everyone."""
    name = subject.get("name")
    if subject.get("kind") not in ("User", "Group") or not isinstance(name, str) or not name.startswith("system:"):
        return False
    return not any(name == group or name.startswith(f"{group}:") for group in _EVERYONE_GROUPS)


def _subject_label(subject: dict[str, Any]) -> str:
    kind, name, namespace = subject.get("kind"), subject.get("name"), subject.get("namespace")
    return f"{kind}:{namespace}/{name}" if kind == "ServiceAccount" else f"{kind}:{name}"


@stack_rule(
    name="kubernetes-rbac-no-cluster-wide-secret-readers",
    title="No cluster-wide bindings to roles that read Secrets",
    description=(
        "A ClusterRoleBinding does not bind cluster-admin, admin or edit, nor a ClusterRole of the stack that gets, "
        "lists or watches Secrets (or '*' in the core group), to a subject outside 'system:' users and groups, "
        "unless the subject is listed in secretReaderSubjects."
    ),
    remediation=(
        "Bind the role with a RoleBinding in the namespaces that need it, drop secrets from the ClusterRole's rules, "
        "or list the reviewed subject in secretReaderSubjects."
    ),
    scope="ClusterRoleBindings and the ClusterRoles they bind",
    settings=(SECRET_READER_SUBJECTS, SECRET_READER_NAMESPACES),
)
def cluster_wide_secret_readers(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    bindings = stack.of((CLUSTER_ROLE_BINDING,))
    if not bindings:
        raise NotApplicable("the stack has no ClusterRoleBinding")
    roles = {_role_name(role): role for role in stack.of((CLUSTER_ROLE,))}
    allowed = set(as_list(config.get("secretReaderSubjects")))
    operator_namespaces = set(as_list(config.get("secretReaderNamespaces", list(OPERATOR_NAMESPACES))))
    for binding in bindings:
        label = f"ClusterRoleBinding '{binding.name}'"
        ref = as_dict(binding.props.get("roleRef"))
        name = UNKNOWN if ref is UNKNOWN else ref.get("name")
        if name is UNKNOWN:
            yield binding, Unverified(f"the roleRef of {label}")
            continue
        if name in _BUILT_IN_BROAD_ROLES:
            reads: bool | Any = True
        elif name in roles:
            reads = _reads_secrets(roles[name])
        elif (isinstance(name, str) and name.startswith("system:")) or name == "view":
            continue  # built-in roles: view excludes Secrets; system: roles belong to the control plane
        else:
            yield binding, Unverified(f"ClusterRole '{name}' bound by {label}", OUTSIDE)
            continue
        if reads is False:
            continue
        subjects, unknown = dicts(binding.props.get("subjects"))
        if unknown:
            yield binding, Unverified(f"the subjects of {label}")
            continue
        offenders = []
        for subject in subjects:
            if UNKNOWN in subject.values():
                yield binding, Unverified(f"a subject of {label}")
                continue
            if _is_system_subject(subject):
                continue
            if subject.get("kind") == "ServiceAccount" and subject.get("namespace") in operator_namespaces:
                continue  # a platform operator's own account, installed by its pinned chart
            if _subject_label(subject) not in allowed:
                offenders.append(_subject_label(subject))
        if not offenders:
            continue
        if reads is UNKNOWN:
            yield binding, Unverified(f"whether ClusterRole '{name}' bound by {label} reads Secrets")
            continue
        yield (
            binding,
            f"{label} lets {', '.join(offenders)} read Secrets in every namespace through ClusterRole '{name}'; "
            "bind it per namespace with a RoleBinding, drop secrets from the role, or list the subject in "
            "secretReaderSubjects.",
        )
