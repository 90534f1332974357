"""AzureWorkloadIdentity: one identity federated to one service account, reading only its container prefix."""

from __future__ import annotations

from components.azure import AzureWorkloadIdentity
from components.azure._shared import KEY_VAULT_SECRETS_USER, STORAGE_BLOB_DATA_READER
from components.azure.workload_identity import blob_prefix_condition, service_account_subject
from tests.components.azure._fixtures import LOCATION, RG, rejected

CONTAINER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/models"


def _identity(**overrides):
    args = {
        "resource_group_name": RG,
        "location": LOCATION,
        "oidc_issuer_url": "https://issuer.example/",
        "namespace": "fraud",
        "blob_reader_scopes": [CONTAINER],
        "blob_read_prefix": "fraud/",
        **overrides,
    }
    return lambda: AzureWorkloadIdentity("fraud", args)


def test_the_subject_names_exactly_one_service_account() -> None:
    assert service_account_subject("fraud", "model-server") == "system:serviceaccount:fraud:model-server"


def test_the_prefix_condition_covers_reads_and_listings() -> None:
    condition = blob_prefix_condition("fraud/")
    assert (
        "blobs:path] StringStartsWith 'fraud/'" in condition and "blobs:prefix] StringStartsWith 'fraud/'" in condition
    )


def test_the_identity_trusts_only_its_service_account_token(run) -> None:
    credential = run(_identity()).one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert credential["issuer"] == "https://issuer.example/"
    assert credential["subject"] == "system:serviceaccount:fraud:model-server"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]


def test_blob_reads_are_scoped_to_the_container_and_the_namespace_prefix(run) -> None:
    grant = run(_identity()).one("azure-native:authorization:RoleAssignment").inputs
    assert grant["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_READER), "read-only data access"
    assert grant["scope"] == CONTAINER, "never the whole account"
    assert grant["conditionVersion"] == "2.0" and "'fraud/'" in grant["condition"]


def test_bad_identity_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _identity(namespace="Fraud_Team", service_account="", oidc_issuer_url=None, blob_read_prefix="/x"),
    )
    assert set(problems) == {"namespace", "serviceAccount", "oidcIssuerUrl", "blobReadPrefix"}, problems


def _vault(name: str) -> str:
    return f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{name}"


def test_each_namespace_identity_reads_secrets_only_in_its_own_vault(run) -> None:
    """One vault per serving namespace: Key Vault RBAC grants at vault scope cover that vault's secrets only."""

    def program() -> None:
        for namespace in ("fraud", "churn"):
            AzureWorkloadIdentity(
                namespace,
                {
                    "resource_group_name": RG,
                    "location": LOCATION,
                    "oidc_issuer_url": "https://issuer.example/",
                    "namespace": namespace,
                    "key_vault_secret_scopes": [_vault(f"kv-{namespace}")],
                },
            )

    recorder = run(program)
    grants = {
        registration.name: registration.inputs
        for registration in recorder.by_type("azure-native:authorization:RoleAssignment")
    }
    assert sorted(grants) == ["churn-secrets-user-0", "fraud-secrets-user-0"], "one grant per identity, nothing else"
    for namespace in ("fraud", "churn"):
        grant = grants[f"{namespace}-secrets-user-0"]
        assert grant["roleDefinitionId"].endswith(KEY_VAULT_SECRETS_USER), "read secret contents, nothing more"
        assert grant["scope"] == _vault(f"kv-{namespace}"), (
            "the namespace's own vault: never the resource group or subscription, never another namespace's vault"
        )
        assert grant["principalType"] == "ServicePrincipal"


def test_without_vaults_the_identity_gets_no_key_vault_role(run) -> None:
    recorder = run(_identity())
    roles = [r.inputs["roleDefinitionId"] for r in recorder.by_type("azure-native:authorization:RoleAssignment")]
    assert not any(role.endswith(KEY_VAULT_SECRETS_USER) for role in roles)
