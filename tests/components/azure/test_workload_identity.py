"""AzureWorkloadIdentity: one identity federated to one service account, reading only its container prefix."""

from __future__ import annotations

from components.azure import AzureWorkloadIdentity
from components.azure._shared import KEY_VAULT_SECRETS_USER, STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER
from components.azure.workload_identity import blob_prefix_condition, blob_writer_condition, service_account_subject
from tests.components.azure._fixtures import LOCATION, RG, rejected
from tests.components.azure.abac_eval import BlobRequest, evaluate

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


# --- Writers: the training identity (datasets read, models and artifacts written under the team's prefix) ----

BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
DATASETS = CONTAINER.replace("/models", "/datasets")
ARTIFACTS = CONTAINER.replace("/models", "/artifacts")


def _request(action: str, path: str | None = None, *, listing: str | None = None) -> BlobRequest:
    if listing is not None:
        return BlobRequest(f"{BLOBS}/read", "Blob.List", request={f"{BLOBS}:prefix": listing})
    return BlobRequest(f"{BLOBS}/{action}", resource={f"{BLOBS}:path": path or ""})


def _training_identity():
    return _identity(
        namespace="vision",
        service_account="trainer",
        blob_reader_scopes=[DATASETS],
        blob_read_prefix="vision/",
        blob_writers=[{"scope": CONTAINER, "prefix": "vision/"}, {"scope": ARTIFACTS, "prefix": "vision/"}],
    )


def test_writers_get_contributor_on_their_container_only_with_a_condition(run) -> None:
    grants = run(_training_identity()).by_type("azure-native:authorization:RoleAssignment")
    by_scope = {grant.inputs["scope"]: grant.inputs for grant in grants}
    assert set(by_scope) == {DATASETS, CONTAINER, ARTIFACTS}, "containers only, never the account"
    assert by_scope[DATASETS]["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_READER), "datasets stay read-only"
    for scope in (CONTAINER, ARTIFACTS):
        grant = by_scope[scope]
        assert grant["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_CONTRIBUTOR)
        assert grant["conditionVersion"] == "2.0" and grant["condition"] == blob_writer_condition("vision/")


def test_the_writer_condition_confines_reads_lists_and_writes_to_the_prefix_and_forbids_deletes() -> None:
    condition = blob_writer_condition("vision/")
    allowed = [
        _request("read", "vision/run-42/checkpoint-1000.pt"),
        _request("write", "vision/run-42/checkpoint-1000.pt"),
        _request("add/action", "vision/run-42/metrics.jsonl"),
        _request("read", listing="vision/run-42/"),
    ]
    denied = [
        _request("read", "audio/run-1/model.pt"),
        _request("write", "audio/run-1/model.pt"),
        _request("add/action", "visionary/x"),
        _request("read", listing="audio/"),
        _request("read", listing=""),
        _request("delete", "vision/run-42/checkpoint-1000.pt"),
        _request("delete", "audio/x"),
        _request("move/action", "vision/run-42/checkpoint-1000.pt"),
    ]
    for request in allowed:
        assert evaluate(condition, request), request
    for request in denied:
        assert not evaluate(condition, request), request


def test_the_reader_condition_still_denies_other_prefixes() -> None:
    condition = blob_prefix_condition("vision/")
    assert evaluate(condition, _request("read", "vision/train/shard-0.tar"))
    assert not evaluate(condition, _request("read", "audio/train/shard-0.tar"))
    assert not evaluate(condition, _request("read", listing="audio/"))


def test_bad_writers_are_rejected_with_their_paths(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _identity(blob_writers=[{"scope": CONTAINER}, {"scope": None, "prefix": "/x"}, {"prefix": "a/", "path": "b"}]),
    )
    assert set(problems) == {
        "blobWriters[0].prefix",
        "blobWriters[1].scope",
        "blobWriters[1].prefix",
        "blobWriters[2].scope",
        "blobWriters[2].path",
    }, problems


def _tracking_identity():
    """The MLflow tracking server's identity, as the platform wires it: its own prefix of the artifacts container."""
    return _identity(
        namespace="mlflow",
        service_account="mlflow",
        blob_reader_scopes=[],
        blob_read_prefix=None,
        blob_writers=[{"scope": ARTIFACTS, "prefix": "mlflow/"}],
    )


def test_the_tracking_identity_writes_under_mlflow_in_the_artifacts_container_only(run) -> None:
    grants = run(_tracking_identity()).by_type("azure-native:authorization:RoleAssignment")
    assert [grant.inputs["scope"] for grant in grants] == [ARTIFACTS], "no datasets or models container at all"
    condition = grants[0].inputs["condition"]
    for request in (
        _request("write", "mlflow/1/0a1b2c/artifacts/model/model.pkl"),
        _request("add/action", "mlflow/1/0a1b2c/artifacts/model/model.pkl"),
        _request("read", "mlflow/1/0a1b2c/artifacts/model/model.pkl"),
        _request("read", listing="mlflow/1/0a1b2c/artifacts/"),
    ):
        assert evaluate(condition, request), f"proxied artifacts need {request}"
    for request in (
        _request("write", "vision/run-42/checkpoint.pt"),
        _request("read", "vision/run-42/checkpoint.pt"),
        _request("read", listing=""),
        _request("delete", "mlflow/1/0a1b2c/artifacts/model/model.pkl"),
    ):
        assert not evaluate(condition, request), f"the teams' artifacts and deletes stay out of reach: {request}"
