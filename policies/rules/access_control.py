"""Access control: key policies, IAM, cluster authentication, registry auth, RBAC and pod security admission."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from policies.rules.aws_common import (
    EC2_NODE_CLASS,
    ECR_FORMS,
    ECR_TEMPLATE_TYPES,
    INSTANCE_TYPES,
    LAUNCH_TEMPLATE,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    ecr_label,
    inherits_launch_template,
    instance_label,
    node_class_spec,
)
from policies.rules.aws_iam import (
    ADMIN_MANAGED_POLICIES,
    GRANTING_TYPES,
    USER_GRANT_TYPES,
    attached_arns,
    aws_managed_policy_name,
    grant_of,
    grants_to_everyone,
    policy_documents,
    statements,
)
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Setting,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_dict,
    as_list,
    as_number,
    kubernetes_labels,
    must_be_true,
    parse_json,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.kubernetes_common import (
    NAMESPACE,
    PSA_ENFORCE_LABEL,
    kind_of,
    may_carry_pods,
    namespace_name,
    namespace_of,
    pod_templates,
    serving_namespaces,
)
from policies.rules.settings import CRD_POD_SPEC_PATHS, SERVING_NAMESPACES, SYSTEM_NAMESPACES


def _full_match_any(patterns: list[Any], text: str) -> bool:
    for pattern in patterns:
        try:
            if isinstance(pattern, str) and re.fullmatch(pattern, text):
                return True
        except re.error:
            continue
    return False


# --- AWS -------------------------------------------------------------------------------------------------


@resource_rule(
    name="aws-kms-key-policy-restricted",
    title="KMS key policies are explicit and grant nothing to everyone",
    description=(
        "KMS keys carry an explicit key policy that allows no wildcard principal without a condition, and never "
        "bypass the policy lockout safety check."
    ),
    remediation=(
        "Pass policy=json.dumps({...}) to aws.kms.Key (or aws.kms.KeyPolicy) granting the account root, the key "
        "administrators and the service principals that use the key; scope any '*' principal with a Condition "
        "(kms:CallerAccount, kms:ViaService); remove bypass_policy_lockout_safety_check."
    ),
    scope="KMS keys and key policies",
    types=("aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy"),
)
def kms_key_policy(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    label = f"KMS key '{resource.name}'" if resource.type.endswith(":Key") else f"KMS key policy '{resource.name}'"
    if as_bool(resource.props.get("bypassPolicyLockoutSafetyCheck")) is True:
        yield f"{label} bypasses the policy lockout safety check; remove bypass_policy_lockout_safety_check."
    document = parse_json(resource.props.get("policy"))
    if document is None:
        yield f"{label} uses the default key policy, which delegates all access to IAM; set an explicit policy."
        return
    for statement in statements(document):
        if statement is UNKNOWN:
            yield Unverified(f"the key policy of {label}")
            return
        if not isinstance(statement, dict):
            continue
        everyone = grants_to_everyone(statement)
        if everyone is UNKNOWN:
            yield Unverified(f"the principals of the key policy of {label}")
        elif everyone and not statement.get("Condition"):
            yield f"{label} allows any principal ('*') without a condition; name the principals or add a Condition such as kms:CallerAccount."


MIN_KEY_DELETION_WINDOW = Setting(
    "minDeletionWindowDays",
    {
        "type": "integer",
        "minimum": 7,
        "maximum": 30,
        "default": 30,
        "description": "Shortest KMS key deletion window in days.",
    },
)


@resource_rule(
    name="aws-kms-key-deletion-window",
    title="KMS key deletion can be undone for 30 days",
    description="KMS keys keep the longest deletion window (deletion_window_in_days unset or at least minDeletionWindowDays, 30), because losing the key destroys the data.",
    remediation="Set deletion_window_in_days=30 on aws.kms.Key (and protect=True in production).",
    scope="KMS keys",
    types=("aws:kms/key:Key",),
    settings=(MIN_KEY_DELETION_WINDOW,),
)
def kms_deletion_window(key: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    window = as_number(key.props.get("deletionWindowInDays"))
    minimum = as_number(config.get("minDeletionWindowDays")) or 30.0
    if window is UNKNOWN:
        yield Unverified(f"deletion_window_in_days of KMS key '{key.name}'")
    elif window is not None and window < minimum:
        yield f"KMS key '{key.name}' can be deleted after {window:.0f} days; set deletion_window_in_days={minimum:.0f}."


@resource_rule(
    name="aws-eks-cluster-api-authentication",
    title="EKS clusters authenticate through access entries only",
    description=(
        "EKS clusters use access entries (access_config.authentication_mode='API'; API_AND_CONFIG_MAP only while "
        "migrating) and do not grant the cluster creator implicit admin rights."
    ),
    remediation="Set access_config={'authentication_mode': 'API', 'bootstrap_cluster_creator_admin_permissions': False} and grant admins through aws.eks.AccessEntry.",
    scope="EKS clusters",
    types=("aws:eks/cluster:Cluster",),
)
def eks_authentication(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    mode = cluster.get("accessConfig.authenticationMode")
    bootstrap = as_bool(cluster.get("accessConfig.bootstrapClusterCreatorAdminPermissions"))
    if mode is UNKNOWN:
        yield Unverified(f"access_config.authentication_mode of EKS cluster '{cluster.name}'")
    elif mode != "API":
        yield f"EKS cluster '{cluster.name}' authenticates through the aws-auth ConfigMap ({mode or 'CONFIG_MAP'}); set access_config.authentication_mode='API'."
    if bootstrap is UNKNOWN:
        yield Unverified(f"bootstrap_cluster_creator_admin_permissions of EKS cluster '{cluster.name}'")
    elif bootstrap is not False:
        yield f"EKS cluster '{cluster.name}' makes its creator a permanent admin; set access_config.bootstrap_cluster_creator_admin_permissions=False."


CLUSTER_ADMIN_PRINCIPALS = string_list(
    "clusterAdminPrincipals",
    "IAM principal ARNs (regular expressions, full match) allowed cluster-wide admin access policies.",
)
_ADMIN_ACCESS_POLICIES = ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy")


@resource_rule(
    name="aws-eks-access-policy-cluster-admin-restricted",
    title="Only allow-listed principals are EKS cluster admins",
    description="EKS access policy associations grant AmazonEKSClusterAdminPolicy or AmazonEKSAdminPolicy with cluster scope only to principals in clusterAdminPrincipals.",
    remediation="Scope the association to namespaces (access_scope={'type': 'namespace', 'namespaces': [...]}) or add the principal to clusterAdminPrincipals.",
    scope="EKS access policy associations",
    types=("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",),
    settings=(CLUSTER_ADMIN_PRINCIPALS,),
)
def eks_admin_associations(association: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    policy, scope = association.props.get("policyArn"), association.get("accessScope.type")
    principal = association.props.get("principalArn")
    if UNKNOWN in (policy, scope):
        yield Unverified(f"the policy of EKS access association '{association.name}'")
        return
    if not (isinstance(policy, str) and policy.rsplit("/", 1)[-1] in _ADMIN_ACCESS_POLICIES and scope == "cluster"):
        return
    if principal is UNKNOWN:
        yield Unverified(f"the principal of EKS access association '{association.name}'")
    elif not _full_match_any(as_list(config.get("clusterAdminPrincipals")), str(principal)):
        yield (
            f"EKS access association '{association.name}' makes {principal} a cluster admin; scope it to "
            "namespaces or add the principal to clusterAdminPrincipals."
        )


def _node_class_imdsv2(node_class: Resource) -> Iterator[Finding]:
    """IMDS findings for a Karpenter EC2NodeClass.

    The CRD defaults `metadataOptions`, and each of its fields, to httpTokens 'required' and hop limit 1 at
    admission (karpenter.k8s.aws_ec2nodeclasses.yaml), so an unset value is compliant and only an explicit one
    can weaken it.
    """
    label = f"EC2NodeClass '{node_class.name}'"
    options = node_class_spec(node_class).get("metadataOptions")
    if options is UNKNOWN:
        yield Unverified(f"spec.metadataOptions of {label}")
        return
    options = as_dict(options)
    if options.get("httpEndpoint") == "disabled":
        return
    tokens, hops = options.get("httpTokens"), as_number(options.get("httpPutResponseHopLimit"))
    if tokens is UNKNOWN:
        yield Unverified(f"spec.metadataOptions.httpTokens of {label}")
    elif tokens not in (None, "required"):
        yield f"{label} allows IMDSv1; set spec.metadataOptions.httpTokens='required' (or leave it unset)."
    if hops is UNKNOWN:
        yield Unverified(f"spec.metadataOptions.httpPutResponseHopLimit of {label}")
    elif hops is not None and hops > 1:
        yield (
            f"{label} lets pods reach the instance metadata (hop limit {hops:.0f}); set "
            "spec.metadataOptions.httpPutResponseHopLimit=1 (or leave it unset)."
        )


@resource_rule(
    name="aws-ec2-launch-template-imdsv2",
    title="Launch templates and instances require IMDSv2 with a hop limit of 1",
    description=(
        "Launch templates, EC2 instances, spot instance requests and Karpenter EC2NodeClasses require IMDSv2 "
        "tokens (http_tokens='required') with http_put_response_hop_limit 1, so pods cannot reach the node role "
        "(they use IRSA / Pod Identity), or disable the metadata endpoint. An instance that names a launch template "
        "takes unset metadata options from it (checked there). An EC2NodeClass without metadataOptions passes: "
        "Karpenter's CRD defaults it to httpTokens 'required' and hop limit 1."
    ),
    remediation=(
        "Set metadata_options={'http_endpoint': 'enabled', 'http_tokens': 'required', "
        "'http_put_response_hop_limit': 1} on aws.ec2.LaunchTemplate or aws.ec2.Instance; on an EC2NodeClass set "
        "spec.metadataOptions={'httpEndpoint': 'enabled', 'httpTokens': 'required', 'httpPutResponseHopLimit': 1} "
        "(or leave it unset for that default)."
    ),
    scope="EC2 launch templates, instances and Karpenter EC2NodeClasses",
    types=(LAUNCH_TEMPLATE, *INSTANCE_TYPES, EC2_NODE_CLASS),
)
def launch_template_imdsv2(template: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if template.type == EC2_NODE_CLASS:
        yield from _node_class_imdsv2(template)
        return
    instance = template.type in INSTANCE_TYPES
    label = instance_label(template) if instance else f"Launch template '{template.name}'"
    options = template.props.get("metadataOptions")
    if options is UNKNOWN:
        yield Unverified(f"metadata_options of {label}")
        return
    if options is None and instance and inherits_launch_template(template):
        return  # every metadata option comes from the named launch template
    options = as_dict(options)
    if options.get("httpEndpoint") == "disabled":
        return
    tokens, hops = options.get("httpTokens"), as_number(options.get("httpPutResponseHopLimit"))
    if tokens is UNKNOWN:
        yield Unverified(f"metadata_options.http_tokens of {label}")
    elif tokens != "required" and not (tokens is None and instance and inherits_launch_template(template)):
        yield f"{label} allows IMDSv1; set metadata_options.http_tokens='required'."
    if hops is UNKNOWN:
        yield Unverified(f"metadata_options.http_put_response_hop_limit of {label}")
    elif hops is not None and hops > 1:
        yield f"{label} lets pods reach the instance metadata (hop limit {hops:.0f}); set metadata_options.http_put_response_hop_limit=1."


DENY_SERVICE_WILDCARDS = Setting(
    "denyServiceWildcards",
    {
        "type": "boolean",
        "default": True,
        "description": "Also reject Allow statements with a service-wide action ('s3:*') on Resource '*'.",
    },
)
ADMIN_MANAGED_POLICY_NAMES = string_list(
    "adminManagedPolicies",
    (
        "Names of AWS managed policies that grant administrator access (attached by ARN in any partition or "
        "path). Defaults to AdministratorAccess, PowerUserAccess and IAMFullAccess."
    ),
    ADMIN_MANAGED_POLICIES,
)


def _admin_grant(statement: Any, service_wildcards: bool) -> str | Any | None:
    """The administrator grant of a statement in words, None when it grants none, `UNKNOWN` when undecidable."""
    grant = grant_of(statement)
    if grant is None or grant is UNKNOWN:
        return grant
    if grant.all_actions:
        return grant.describe_actions()
    broad = grant.service_wildcards
    if service_wildcards and broad and grant.all_resources:
        return f"Action {', '.join(repr(action) for action in broad)} on {grant.describe_resources()}"
    if grant.unknown_actions or (service_wildcards and broad and grant.unknown_resources):
        return UNKNOWN
    return None


@resource_rule(
    name="aws-iam-policy-no-admin-access",
    title="IAM policies grant no administrator access",
    description=(
        "No IAM policy, in any attachment form (managed policies, inline role/user/group policies, a role's "
        "inline_policies and managed_policy_arns, role/user/group/policy attachments and their exclusive forms), "
        "allows every action (Action '*', or a NotAction, which allows every action but those listed) nor, with "
        "denyServiceWildcards, a service-wide action ('s3:*') on every resource (Resource '*', or a NotResource); "
        "and none attaches an AWS managed policy of adminManagedPolicies (AdministratorAccess, PowerUserAccess, "
        "IAMFullAccess)."
    ),
    remediation=(
        "List the specific actions and resource ARNs the principal needs in Action and Resource (not NotAction or "
        "NotResource); replace AdministratorAccess, PowerUserAccess and IAMFullAccess with least-privilege policies."
    ),
    scope="IAM policies and every resource that attaches one",
    types=GRANTING_TYPES,
    settings=(DENY_SERVICE_WILDCARDS, ADMIN_MANAGED_POLICY_NAMES),
)
def iam_no_admin(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    admin_names = set(as_list(config.get("adminManagedPolicies")) or [])
    for arn in attached_arns(resource):
        name = aws_managed_policy_name(arn)
        if arn is UNKNOWN:
            yield Unverified(f"the attached policy ARN of '{resource.name}'")
        elif name in admin_names:
            yield f"'{resource.name}' attaches {name}; attach a least-privilege policy instead."
    wildcards = config.get("denyServiceWildcards") is not False
    for where, raw in policy_documents(resource):
        for statement in statements(parse_json(raw)):
            if statement is UNKNOWN:
                yield Unverified(f"the {where} of '{resource.name}'")
                break
            grant = _admin_grant(statement, wildcards)
            if grant is UNKNOWN:
                yield Unverified(f"the actions and resources of the {where} of '{resource.name}'")
            elif grant:
                yield f"The {where} of '{resource.name}' allows {grant}; list the specific actions and resources needed."


@resource_rule(
    name="aws-iam-no-user-credentials",
    title="No IAM users with policies or access keys",
    description=(
        "Platform stacks give IAM users no permissions or long-lived credentials: no user policies, user policy "
        "attachments (single, exclusive, or a PolicyAttachment naming users), exclusive user policy lists or "
        "access keys; people and workloads use roles (SSO, OIDC, IRSA or Pod Identity)."
    ),
    remediation="Delete the user credentials and grant access through an IAM role assumed via SSO, OIDC, IRSA or EKS Pod Identity.",
    scope="IAM user policies, attachments and access keys",
    types=(*USER_GRANT_TYPES, "aws:iam/accessKey:AccessKey"),
)
def iam_no_user_credentials(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    kind = resource.type.rsplit(":", 1)[-1]
    if resource.type == "aws:iam/policyAttachment:PolicyAttachment":
        users = as_list(resource.props.get("users"))
        if users is UNKNOWN:
            yield Unverified(f"the users of PolicyAttachment '{resource.name}'")
            return
        if not users:
            raise NotApplicable(f"PolicyAttachment '{resource.name}' attaches to no IAM user")
    yield f"{kind} '{resource.name}' gives an IAM user long-lived permissions; use an IAM role (SSO, OIDC, IRSA or Pod Identity) instead."


_CROSS_ACCOUNT_GUARDS = ("aws:PrincipalOrgID", "aws:SourceAccount", "aws:PrincipalAccount", "aws:SourceOrgID")


@resource_rule(
    name="aws-ecr-repository-policy-no-public-access",
    title="ECR repository policies grant nothing to everyone",
    description=(
        "ECR repository policies, and the repository policies of repository creation templates (applied to every "
        "repository ECR creates from them), allow no '*' principal (nor a NotPrincipal) unless an "
        "aws:PrincipalOrgID, aws:PrincipalAccount or aws:SourceAccount condition limits it."
    ),
    remediation="Name the account or role principals that pull, or add a Condition {'StringEquals': {'aws:PrincipalOrgID': '<org id>'}}.",
    scope="ECR repository policies and repository creation templates",
    types=("aws:ecr/repositoryPolicy:RepositoryPolicy", *ECR_TEMPLATE_TYPES),
)
def ecr_repository_policy(policy: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if policy.type in ECR_FORMS:
        label, raw = f"The repository policy of {ecr_label(policy)}", policy.props.get("repositoryPolicy")
        if raw is None:
            raise NotApplicable(f"{ecr_label(policy)} gives its repositories no repository policy")
    else:
        label, raw = f"ECR repository policy '{policy.name}'", policy.props.get("policy")
    for statement in statements(parse_json(raw)):
        if statement is UNKNOWN:
            yield Unverified(f"the policy of {label}")
            return
        if not isinstance(statement, dict):
            continue
        wildcard = grants_to_everyone(statement)
        if wildcard is UNKNOWN:
            yield Unverified(f"a principal of {label}")
            continue
        if not wildcard:
            continue
        conditions = as_dict(statement.get("Condition"))
        keys = {key for operator in conditions.values() if isinstance(operator, dict) for key in operator}
        if not keys & set(_CROSS_ACCOUNT_GUARDS):
            yield f"{label} lets anyone pull or push; restrict the principal or add an aws:PrincipalOrgID condition."


_CALLER_SCOPING_KEYS = frozenset(
    key.lower()
    for key in (
        *_CROSS_ACCOUNT_GUARDS,
        "aws:SourceArn",
        "aws:PrincipalArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
    )
)
"""Condition keys that narrow a '*' principal to known callers (IAM condition keys are case-insensitive)."""


@resource_rule(
    name="aws-sqs-queue-policy-no-public-access",
    title="SQS queue policies grant nothing to everyone",
    description=(
        "SQS queue policies (aws.sqs.QueuePolicy or a queue's inline policy) allow no '*' principal unless a "
        "condition on the caller (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:PrincipalAccount, "
        "aws:PrincipalArn, aws:SourceVpc or aws:SourceVpce) limits it."
    ),
    remediation=(
        "Name the principal, e.g. {'Service': 'events.amazonaws.com'} for EventBridge rules, or add a Condition "
        "{'ArnEquals': {'aws:SourceArn': rule.arn}} to the Allow statement."
    ),
    scope="SQS queue policies",
    types=(SQS_QUEUE_POLICY, SQS_QUEUE),
)
def sqs_queue_policy(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    label = (
        f"SQS queue policy '{resource.name}'" if resource.type == SQS_QUEUE_POLICY else f"SQS queue '{resource.name}'"
    )
    for statement in statements(parse_json(resource.props.get("policy"))):
        if statement is UNKNOWN:
            yield Unverified(f"the policy of {label}")
            return
        if not (isinstance(statement, dict) and statement.get("Effect") == "Allow"):
            continue
        wildcard, conditions = grants_to_everyone(statement), as_dict(statement.get("Condition"))
        if wildcard is False:
            continue
        if wildcard is UNKNOWN or conditions is UNKNOWN:
            yield Unverified(f"the principals and conditions of {label}")
            continue
        keys = {str(key).lower() for operator in conditions.values() if isinstance(operator, dict) for key in operator}
        if not keys & _CALLER_SCOPING_KEYS:
            yield (
                f"{label} lets any principal ('*') use the queue; name the principal (e.g. {{'Service': "
                "'events.amazonaws.com'}) or add a Condition on aws:SourceArn or aws:SourceAccount."
            )


# --- Azure -----------------------------------------------------------------------------------------------


@resource_rule(
    name="azure-storage-account-shared-key-disabled",
    title="Storage accounts accept only Entra ID authentication",
    description="Storage accounts disable shared-key (account key and SAS) authorization (allow_shared_key_access=False).",
    remediation="Set allow_shared_key_access=False and grant Storage Blob Data roles to workload identities.",
    scope="Azure storage accounts",
    types=("azure-native:storage:StorageAccount",),
)
def storage_shared_key(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    value = as_bool(account.props.get("allowSharedKeyAccess"))
    if value is UNKNOWN:
        yield Unverified(f"allow_shared_key_access of storage account '{account.name}'")
    elif value is not False:
        yield f"Storage account '{account.name}' accepts account keys and SAS tokens; set allow_shared_key_access=False."


@resource_rule(
    name="azure-aks-cluster-entra-rbac",
    title="AKS authenticates with Entra ID only",
    description="AKS clusters keep Kubernetes RBAC on, use managed Entra ID integration (aad_profile.managed=True) and disable local accounts.",
    remediation="Set enable_rbac=True, aad_profile={'managed': True, 'enable_azure_rbac': True, 'admin_group_object_ids': [...]} and disable_local_accounts=True.",
    scope="AKS clusters",
    types=("azure-native:containerservice:ManagedCluster",),
)
def aks_entra_rbac(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    rbac = as_bool(cluster.props.get("enableRBAC"))
    managed = as_bool(cluster.get("aadProfile.managed"))
    local = as_bool(cluster.props.get("disableLocalAccounts"))
    if rbac is False:
        yield f"AKS cluster '{cluster.name}' disables Kubernetes RBAC; set enable_rbac=True."
    for value, message in (
        (
            managed,
            f"AKS cluster '{cluster.name}' does not use managed Entra ID integration; set aad_profile.managed=True.",
        ),
        (
            local,
            f"AKS cluster '{cluster.name}' keeps local accounts (static admin credentials); set disable_local_accounts=True.",
        ),
    ):
        if value is UNKNOWN:
            yield Unverified(f"the authentication settings of AKS cluster '{cluster.name}'")
        elif value is not True:
            yield message
    if rbac is UNKNOWN:
        yield Unverified(f"enable_rbac of AKS cluster '{cluster.name}'")


@resource_rule(
    name="azure-aks-cluster-azure-rbac",
    title="AKS authorizes with Azure RBAC",
    description="AKS clusters authorize Kubernetes access with Azure RBAC (aad_profile.enable_azure_rbac=True).",
    remediation="Set aad_profile.enable_azure_rbac=True and grant Azure Kubernetes Service RBAC roles to Entra groups.",
    scope="AKS clusters",
    types=("azure-native:containerservice:ManagedCluster",),
)
def aks_azure_rbac(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from must_be_true(
        cluster.get("aadProfile.enableAzureRBAC"),
        f"aad_profile.enable_azure_rbac of AKS cluster '{cluster.name}'",
        f"AKS cluster '{cluster.name}' does not authorize with Azure RBAC; set aad_profile.enable_azure_rbac=True.",
    )


@resource_rule(
    name="azure-acr-registry-local-auth-disabled",
    title="Container registries accept only Entra identities",
    description="Azure container registries disable the admin user and anonymous pull.",
    remediation="Set admin_user_enabled=False and anonymous_pull_enabled=False; grant AcrPull to the kubelet identity.",
    scope="Azure container registries",
    types=("azure-native:containerregistry:Registry",),
)
def acr_local_auth(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    for field_name, argument, what in (
        ("adminUserEnabled", "admin_user_enabled", "a shared admin user"),
        ("anonymousPullEnabled", "anonymous_pull_enabled", "anonymous pulls"),
    ):
        value = as_bool(registry.props.get(field_name))
        if value is UNKNOWN:
            yield Unverified(f"{argument} of container registry '{registry.name}'")
        elif value is True:
            yield f"Container registry '{registry.name}' allows {what}; set {argument}=False."


@resource_rule(
    name="azure-key-vault-rbac-authorization",
    title="Key vaults authorize with Azure RBAC",
    description="Key vaults use Azure RBAC for data-plane access (properties.enable_rbac_authorization=True), not access policies.",
    remediation="Set properties.enable_rbac_authorization=True and grant Key Vault Crypto roles to identities.",
    scope="Azure key vaults",
    types=("azure-native:keyvault:Vault",),
)
def key_vault_rbac(vault: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from must_be_true(
        vault.get("properties.enableRbacAuthorization"),
        f"properties.enable_rbac_authorization of key vault '{vault.name}'",
        f"Key vault '{vault.name}' uses access policies; set properties.enable_rbac_authorization=True.",
    )


# --- Kubernetes ------------------------------------------------------------------------------------------

_PSA_LEVELS = ("privileged", "baseline", "restricted")


@stack_rule(
    name="kubernetes-namespace-pod-security-level",
    title="Namespaces enforce a Pod Security Standard",
    description=(
        "Namespaces set the pod-security.kubernetes.io/enforce label: 'restricted' for serving namespaces (those "
        "holding a backend of a Gateway API route, an Ingress or a KServe InferenceService, labelled "
        "mlplatform.io/tier=serving, or listed in servingNamespaces), at least 'baseline' elsewhere, and any level "
        "for the configured systemNamespaces."
    ),
    remediation="Set metadata.labels['pod-security.kubernetes.io/enforce'] (and enforce-version: latest) on the Namespace.",
    scope="Namespaces",
    settings=(SYSTEM_NAMESPACES, SERVING_NAMESPACES),
)
def namespace_pod_security(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    namespaces = stack.of((NAMESPACE,))
    if not namespaces:
        raise NotApplicable("the stack has no Namespaces")
    system = set(as_list(config.get("systemNamespaces")))
    serving = serving_namespaces(stack, as_list(config.get("servingNamespaces")), system)
    for namespace in namespaces:
        for finding in _pod_security_level(namespace, serving, system):
            yield namespace, finding


def _pod_security_level(namespace: Resource, serving: set[str], system: set[str]) -> Iterator[Finding]:
    labels = kubernetes_labels(namespace)
    name = namespace_name(namespace)
    if labels is UNKNOWN or name is UNKNOWN:
        yield Unverified(f"the labels of Namespace '{namespace.name}'")
        return
    level = labels.get(PSA_ENFORCE_LABEL)
    if level is UNKNOWN:
        yield Unverified(f"the pod security label of Namespace '{namespace.name}'")
        return
    is_serving = name in serving
    is_system = name in system
    if is_serving:
        required = ("restricted",)
    elif is_system:
        required = _PSA_LEVELS
    else:
        required = ("baseline", "restricted")
    if level not in required:
        suggestion = "restricted" if is_serving else "baseline" if not is_system else "privileged' or 'baseline"
        yield (
            f"Namespace '{name}' enforces pod security level {level or 'none'}; set "
            f"metadata.labels['{PSA_ENFORCE_LABEL}']='{suggestion}'."
        )


ADMIN_SUBJECTS = string_list(
    "adminSubjects",
    "Subjects allowed cluster-admin/admin bindings, as 'Kind:name' (e.g. 'Group:platform-admins').",
)
_ADMIN_ROLES = ("cluster-admin", "admin")


@resource_rule(
    name="kubernetes-rbac-no-cluster-admin-binding",
    title="Only allow-listed subjects are bound to admin roles",
    description="ClusterRoleBindings and RoleBindings bind cluster-admin or admin only to subjects listed in adminSubjects.",
    remediation="Bind a namespaced role with the needed verbs (e.g. edit or a custom Role), or add the subject to adminSubjects.",
    scope="RoleBindings and ClusterRoleBindings",
    types=(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    ),
    settings=(ADMIN_SUBJECTS,),
)
def rbac_admin_binding(binding: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    role = binding.get("roleRef.name")
    if role is UNKNOWN:
        yield Unverified(f"roleRef of {kind_of(binding)} '{binding.name}'")
        return
    if role not in _ADMIN_ROLES:
        return
    allowed = set(as_list(config.get("adminSubjects")))
    subjects = as_list(binding.props.get("subjects"))
    if subjects is UNKNOWN:
        yield Unverified(f"the subjects of {kind_of(binding)} '{binding.name}'")
        return
    for subject in subjects:
        subject = as_dict(subject)
        if subject is UNKNOWN or UNKNOWN in (subject.get("kind"), subject.get("name")):
            yield Unverified(f"a subject of {kind_of(binding)} '{binding.name}'")
            continue
        label = f"{subject.get('kind')}:{subject.get('name')}"
        if label not in allowed:
            yield f"{kind_of(binding)} '{binding.name}' binds {label} to {role}; bind a least-privilege role or add '{label}' to adminSubjects."


_ESCALATING_VERBS = ("bind", "escalate", "impersonate")


@resource_rule(
    name="kubernetes-rbac-least-privilege-rules",
    title="RBAC roles grant no wildcards, escalation or cluster-wide secret reads",
    description=(
        "Roles and ClusterRoles use no '*' in api_groups, resources or verbs, grant no bind, escalate or impersonate, "
        "and ClusterRoles do not read secrets cluster-wide."
    ),
    remediation="List the API groups, resources and verbs explicitly; read secrets through a namespaced Role, or not at all.",
    scope="Roles and ClusterRoles",
    types=("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1:Role"),
)
def rbac_rules(role: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    rules = as_list(role.props.get("rules"))
    if rules is UNKNOWN:
        yield Unverified(f"the rules of {kind_of(role)} '{role.name}'")
        return
    cluster_wide = role.type.endswith(":ClusterRole")
    for index, rule in enumerate(rules):
        rule = as_dict(rule)
        if rule is UNKNOWN:
            yield Unverified(f"rule {index} of {kind_of(role)} '{role.name}'")
            continue
        lists = [as_list(rule.get(key)) for key in ("apiGroups", "resources", "verbs")]
        if any(values is UNKNOWN or UNKNOWN in values for values in lists):
            yield Unverified(f"rule {index} of {kind_of(role)} '{role.name}'")
            continue
        groups, resources, verbs = lists
        wildcards = [
            key for key, values in (("api_groups", groups), ("resources", resources), ("verbs", verbs)) if "*" in values
        ]
        if wildcards:
            yield f"{kind_of(role)} '{role.name}' rule {index} uses '*' in {', '.join(wildcards)}; list them explicitly."
        escalating = [verb for verb in verbs if verb in _ESCALATING_VERBS]
        if escalating:
            yield f"{kind_of(role)} '{role.name}' rule {index} grants {', '.join(escalating)}; remove privilege-escalating verbs."
        if cluster_wide and "secrets" in resources and set(verbs) & {"get", "list", "watch", "*"}:
            yield f"ClusterRole '{role.name}' rule {index} reads secrets in every namespace; use a namespaced Role."


TOKEN_ALLOWLIST = string_list(
    "tokenAllowlist",
    "Service accounts ('namespace/name', regular expressions) whose pods may automount an API token.",
)


@resource_rule(
    name="kubernetes-workload-service-account-token",
    title="Workloads use their own service account without an API token",
    description=(
        "Pods run under a dedicated service account (not 'default') and do not automount an API token "
        "(automount_service_account_token=False) unless the account is in tokenAllowlist."
    ),
    remediation="Create a ServiceAccount per workload, set service_account_name and automount_service_account_token=False in the pod spec.",
    scope="workloads",
    matches=may_carry_pods,
    settings=(TOKEN_ALLOWLIST, CRD_POD_SPEC_PATHS),
)
def service_account_token(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    templates = [template for template in pod_templates(workload, config) if template.sets_identity]
    if not templates:
        raise NotApplicable(f"the pods of {kind_of(workload)} '{workload.name}' take their service account elsewhere")
    namespace = namespace_of(workload)
    for template in templates:
        spec, where = template.spec, template.where
        if spec is UNKNOWN or namespace is UNKNOWN:
            yield template.unverified()
            continue
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if account is UNKNOWN:
            yield template.unverified("service_account_name")
            continue
        if account == "default":
            yield f"{where} runs as the 'default' service account; create a dedicated ServiceAccount and set service_account_name."
        automount = as_bool(spec.get("automountServiceAccountToken"))
        if automount is UNKNOWN:
            yield template.unverified("automount_service_account_token")
        elif automount is not False and not _full_match_any(
            as_list(config.get("tokenAllowlist")), f"{namespace}/{account}"
        ):
            yield f"{where} automounts an API token; set automount_service_account_token=False (or allow-list '{namespace}/{account}')."


SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
_NODE_IDENTITY_PARAMETERS = ("useVMManagedIdentity", "usePodIdentity")


@resource_rule(
    name="kubernetes-secret-provider-class-workload-identity",
    title="Secrets are fetched with the pod's workload identity, never the node's",
    description=(
        "SecretProviderClasses of the Azure provider name a workload identity (parameters.clientID) and set neither "
        "useVMManagedIdentity nor usePodIdentity to true: the node's managed identity (and the retired AAD Pod "
        "Identity) is shared by every pod on the node, so a secret it can read is readable from any namespace "
        "scheduled there. The AWS provider always uses the pod's own IRSA role or Pod Identity."
    ),
    remediation=(
        "Set parameters.clientID to the namespace's workload identity client ID (ModelServingNamespace "
        "secret_store with identity_kind 'azure') and remove useVMManagedIdentity/usePodIdentity."
    ),
    scope="SecretProviderClasses",
    types=(SECRET_PROVIDER_CLASS,),
)
def secret_provider_class_identity(spc: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    provider = spc.get("spec.provider")
    parameters = as_dict(spc.get("spec.parameters"))
    if UNKNOWN in (provider, parameters):
        yield Unverified(f"the provider and parameters of SecretProviderClass '{spc.name}'")
        return
    if provider != "azure":
        raise NotApplicable(f"SecretProviderClass '{spc.name}' uses provider {provider!r}, which fetches per pod")
    for key in _NODE_IDENTITY_PARAMETERS:
        value = parameters.get(key)
        if value is UNKNOWN:
            yield Unverified(f"parameters.{key} of SecretProviderClass '{spc.name}'")
        elif str(value).lower() == "true":
            yield (
                f"SecretProviderClass '{spc.name}' fetches with the node's identity ({key}: true); set "
                "parameters.clientID to the namespace's workload identity and remove it."
            )
    if parameters.get("clientID") in (None, ""):
        yield (
            f"SecretProviderClass '{spc.name}' names no workload identity; set parameters.clientID to the "
            "namespace's workload identity client ID."
        )


# --- Managed databases: identity-provider authentication ----------------------------------------------------


@resource_rule(
    name="aws-rds-database-iam-authentication",
    title="RDS instances and clusters accept IAM database authentication",
    description=(
        "RDS DB instances and clusters set iam_database_authentication_enabled=True, so people and workloads "
        "log in with short-lived tokens of their own IAM identity instead of shared passwords "
        "(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html)."
    ),
    remediation=(
        "Set iam_database_authentication_enabled=True on aws.rds.Instance or aws.rds.Cluster and grant rds_iam to "
        "the database roles that log in that way."
    ),
    scope="RDS DB instances and clusters",
    types=("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"),
)
def rds_iam_authentication(database: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    kind = "cluster" if database.type.endswith(":Cluster") else "instance"
    label = f"RDS {kind} '{database.name}'"
    yield from must_be_true(
        database.props.get("iamDatabaseAuthenticationEnabled"),
        f"iam_database_authentication_enabled of {label}",
        f"{label} accepts only database passwords; set iam_database_authentication_enabled=True.",
    )


@resource_rule(
    name="azure-postgres-flexible-server-entra-auth",
    title="PostgreSQL flexible servers accept Microsoft Entra authentication",
    description=(
        "Azure Database for PostgreSQL flexible servers set auth_config.active_directory_auth Enabled (the service "
        "default is Disabled), so people and workloads log in with Entra tokens of their own identity "
        "(https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-azure-ad-authentication)."
    ),
    remediation=(
        "Set auth_config={'active_directory_auth': 'Enabled', 'tenant_id': <tenant>} on "
        "azure_native.dbforpostgresql.Server (and password_auth 'Disabled' once no client needs a password)."
    ),
    scope="Azure Database for PostgreSQL flexible servers",
    types=("azure-native:dbforpostgresql:Server",),
)
def pg_flexible_entra_auth(server: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    enabled = server.get("authConfig.activeDirectoryAuth")
    label = f"PostgreSQL flexible server '{server.name}'"
    if enabled is UNKNOWN:
        yield Unverified(f"auth_config.active_directory_auth of {label}")
    elif enabled != "Enabled":
        yield f"{label} accepts only database passwords; set auth_config.active_directory_auth='Enabled'."
