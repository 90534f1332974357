"""AzureWorkloadIdentity: an Entra workload identity for one Kubernetes service account, with prefix-scoped blob access."""

from typing import Required, TypedDict

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity

from components._common.gpu import SERVING_SERVICE_ACCOUNT
from components._common.validation import (
    Problems,
    check_known_arguments,
    dns1123_label_problem,
    require_args_mapping,
)
from components.azure._shared import (
    KEY_VAULT_SECRETS_USER,
    ROLE_NAMES,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    check_location,
    check_required,
    role_definition_id,
)

DEFAULT_SERVICE_ACCOUNT = SERVING_SERVICE_ACCOUNT
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
"""The audience Entra expects on federated Kubernetes service-account tokens."""


BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
"""The blob resource type, prefix of every blob DataAction and attribute in role assignment conditions."""


class AzureBlobWriterArgs(TypedDict):
    """A blob container the identity may write to, under one prefix only."""

    scope: Required[pulumi.Input[str]]
    """Resource ID of the blob container (never the account). Required."""
    prefix: Required[str]
    """Blob name prefix the identity may read, list, create and overwrite under, e.g. `<team>/`; it can never
    delete or move blobs, anywhere. Required: an unconditioned writer would own the whole container."""


class AzureWorkloadIdentityArgs(TypedDict, total=False):
    """Arguments of `AzureWorkloadIdentity`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the identity. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    oidc_issuer_url: Required[pulumi.Input[str]]
    """The AKS cluster's OIDC issuer URL. Required."""
    namespace: Required[str]
    """Kubernetes namespace of the service account. Required."""
    service_account: str
    """Kubernetes service account name the pods run as. Defaults to model-server."""
    blob_reader_scopes: list[pulumi.Input[str]]
    """Resource IDs (blob containers) the identity may read, each granted Storage Blob Data Reader. Defaults to
    none."""
    blob_read_prefix: str
    """Limit reads and listings under `blobReaderScopes` to blob names starting with this prefix (an Azure ABAC
    condition on the role assignment), e.g. `<namespace>/`. Defaults to the whole container."""
    blob_writers: list[AzureBlobWriterArgs]
    """Containers the identity may write to, each under its own prefix: Storage Blob Data Contributor on the
    container with an ABAC condition allowing reads, listings, writes and creates only under the prefix and no
    delete or move. Defaults to none."""
    key_vault_secret_scopes: list[pulumi.Input[str]]
    """Key Vaults (resource IDs) whose secrets the identity may read, each granted Key Vault Secrets User at the
    vault's scope: give each serving namespace its own vault (`AzureKeyVault`), so the grant covers exactly that
    namespace's secrets. Defaults to none."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for the identity. Defaults to none."""


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service-account token: `system:serviceaccount:<namespace>:<name>`."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def blob_prefix_condition(prefix: str) -> str:
    """An ABAC condition (version 2.0) that lets a blob-read role read and list only blobs under `prefix`.

    Reads are matched on the blob path and listings on the requested prefix; other actions of the role are
    unaffected. Shape of Microsoft's "read or list blobs with a path" example for Azure Storage conditions.
    """
    read, blobs = f"{BLOBS}/read", BLOBS
    return (
        f"((!(ActionMatches{{'{read}'}} AND NOT SubOperationMatches{{'Blob.List'}}))"
        f" OR (@Resource[{blobs}:path] StringStartsWith '{prefix}'))"
        f" AND ((!(ActionMatches{{'{read}'}} AND SubOperationMatches{{'Blob.List'}}))"
        f" OR (@Request[{blobs}:prefix] StringStartsWith '{prefix}'))"
    )


def blob_writer_condition(prefix: str) -> str:
    """An ABAC condition (version 2.0) that confines Storage Blob Data Contributor to blobs under `prefix`.

    Reads and listings as in `blob_prefix_condition`; writes (`blobs/write`, `blobs/add/action`: create,
    overwrite, append, block uploads) only where the blob path starts with the prefix; deletes (`blobs/delete`)
    and renames (`blobs/move/action`) never. Built from Microsoft's Blob Storage condition examples ("Read,
    write, or delete blobs in named containers with a path", https://learn.microsoft.com/azure/storage/blobs/
    storage-auth-abac-examples) and the `blobs:path` attribute and `Blob.List` suboperation of
    https://learn.microsoft.com/azure/storage/blobs/storage-auth-abac-attributes: a DataAction whose
    expression is false is denied (https://learn.microsoft.com/azure/role-based-access-control/conditions-format).
    """
    write, add = f"{BLOBS}/write", f"{BLOBS}/add/action"
    return (
        f"({blob_prefix_condition(prefix)})"
        f" AND ((!(ActionMatches{{'{write}'}}) AND !(ActionMatches{{'{add}'}}))"
        f" OR (@Resource[{BLOBS}:path] StringStartsWith '{prefix}'))"
        f" AND (!(ActionMatches{{'{BLOBS}/delete'}}))"
        f" AND (!(ActionMatches{{'{BLOBS}/move/action'}}))"
    )


def _check_blob_prefix(problems: Problems, path: str, prefix: object) -> None:
    if not isinstance(prefix, str) or not prefix or "'" in prefix or prefix.startswith("/"):
        problems.add(path, f"'{prefix}' is not a blob name prefix such as 'team-a/'")


def _validate(args: AzureWorkloadIdentityArgs) -> Problems:
    problems = Problems()
    check_required(problems, args, "resource_group_name", "oidc_issuer_url", "namespace")
    check_location(problems, args.get("location"))
    for key, path in (("namespace", "namespace"), ("service_account", "serviceAccount")):
        value = args.get(key, DEFAULT_SERVICE_ACCOUNT if key == "service_account" else None)
        if isinstance(value, str):
            problem = dns1123_label_problem(value)
            if problem:
                problems.add(path, problem)
    prefix = args.get("blob_read_prefix")
    if prefix is not None:
        _check_blob_prefix(problems, "blobReadPrefix", prefix)
    writers = args.get("blob_writers", [])
    if not isinstance(writers, list):
        problems.add("blobWriters", "must be a list of {scope, prefix}")
        writers = []
    for index, writer in enumerate(writers):
        path = f"blobWriters[{index}]"
        if not isinstance(writer, dict):
            problems.add(path, "must be a map with scope and prefix")
            continue
        check_known_arguments(problems, writer, AzureBlobWriterArgs, path)
        if writer.get("scope") is None:
            problems.add(f"{path}.scope", "required: the blob container's resource ID")
        _check_blob_prefix(problems, f"{path}.prefix", writer.get("prefix"))
    return problems


class AzureWorkloadIdentity(pulumi.ComponentResource):
    """A user-assigned identity that one Kubernetes service account assumes through AKS workload identity.

    Creates:
    - a user-assigned managed identity;
    - a federated identity credential trusting the cluster's OIDC issuer for exactly
      `system:serviceaccount:<namespace>:<serviceAccount>` with audience `api://AzureADTokenExchange`;
    - Storage Blob Data Reader on each scope of `blobReaderScopes` (blob containers, never the whole account),
      optionally limited to the blobs under `blobReadPrefix` by an ABAC condition;
    - Storage Blob Data Contributor on each container of `blobWriters`, confined by an ABAC condition to reads,
      listings, writes and creates under that writer's prefix, and no deletes or moves at all;
    - Key Vault Secrets User on each vault of `keyVaultSecretScopes` (the namespace's own vault), which the
      Secrets Store CSI driver's Azure provider uses to mount the namespace's secrets.

    Security defaults: one identity per namespace, federated to a single service account; data access scoped
    to containers, read-only unless a writer prefix is given, never deletes. Image pulls stay with the kubelet identity, so pods get no registry role.
    The Kubernetes layer annotates the service account with `azure.workload.identity/client-id: <clientId>`.
    """

    identity_id: pulumi.Output[str]
    """Resource ID of the identity."""
    client_id: pulumi.Output[str]
    """Client ID of the identity (the service-account annotation)."""
    principal_id: pulumi.Output[str]
    """Principal (object) ID of the identity."""
    namespace: pulumi.Output[str]
    """The Kubernetes namespace."""
    service_account: pulumi.Output[str]
    """The Kubernetes service account federated with the identity."""

    def __init__(self, name: str, args: AzureWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureWorkloadIdentity '{name}'")
        super().__init__("mlplatform:index:AzureWorkloadIdentity", name, {}, opts)
        resource_group_name = args["resource_group_name"]
        namespace = args["namespace"]
        service_account = args.get("service_account", DEFAULT_SERVICE_ACCOUNT)
        child = pulumi.ResourceOptions(parent=self)

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=resource_group_name,
            location=args["location"],
            tags=args.get("tags"),
            opts=child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=resource_group_name,
            resource_name_=identity.name,
            federated_identity_credential_resource_name=f"{namespace}-{service_account}"[:120],
            issuer=args["oidc_issuer_url"],
            subject=service_account_subject(namespace, service_account),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        subscription: list[pulumi.Output[str]] = []

        def grant(resource_name: str, scope: pulumi.Input[str], role: str, condition: str | None, what: str) -> None:
            """Assign built-in `role` at `scope` to the identity, with an optional ABAC condition."""
            if not subscription:
                client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
                subscription.append(client.subscription_id)
            authorization.RoleAssignment(
                resource_name,
                scope=scope,
                role_definition_id=subscription[0].apply(lambda sub: role_definition_id(sub, role)),
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                condition=condition,
                condition_version="2.0" if condition else None,
                description=f"{ROLE_NAMES[role]}{what} for {namespace}/{service_account}.",
                opts=child,
            )

        prefix = args.get("blob_read_prefix")
        for index, scope in enumerate(args.get("blob_reader_scopes", [])):
            condition = blob_prefix_condition(prefix) if prefix else None
            grant(f"{name}-blob-reader-{index}", scope, STORAGE_BLOB_DATA_READER, condition, "")
        for index, writer in enumerate(args.get("blob_writers", [])):
            condition = blob_writer_condition(writer["prefix"])
            what = f" under '{writer['prefix']}', no deletes,"
            grant(f"{name}-blob-writer-{index}", writer["scope"], STORAGE_BLOB_DATA_CONTRIBUTOR, condition, what)
        for index, vault in enumerate(args.get("key_vault_secret_scopes", [])):
            # Vault scope, never the resource group or subscription: the identity reads this vault's secrets only.
            # Microsoft recommends a vault per application with roles at vault scope over per-secret grants
            # (https://learn.microsoft.com/azure/key-vault/general/rbac-guide, "Best Practices ...").
            grant(f"{name}-secrets-user-{index}", vault, KEY_VAULT_SECRETS_USER, None, "")

        self.identity_id = identity.id
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.namespace = pulumi.Output.from_input(namespace)
        self.service_account = pulumi.Output.from_input(service_account)
        self.register_outputs(
            {
                "identityId": self.identity_id,
                "clientId": self.client_id,
                "principalId": self.principal_id,
                "namespace": self.namespace,
                "serviceAccount": self.service_account,
            }
        )
