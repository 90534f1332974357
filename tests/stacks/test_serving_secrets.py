"""Application secrets of the shipped stacks: each serving identity reads its own namespace's secrets, nothing else."""

from __future__ import annotations

import json

import pytest

from stacks.synth import Synthesis, synthesize
from tests.components.aws.iam_eval import allows

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize("dev")


def _serving_policy(synthesis: Synthesis, namespace: str) -> dict:
    documents = [
        json.loads(r.inputs["policy"])
        for r in synthesis.monitor.by_type(ROLE_POLICY)
        if r.name.startswith(f"serving-{namespace}-")
    ]
    return {"Statement": [statement for document in documents for statement in document["Statement"]]}


def test_each_serving_identity_reads_only_its_own_namespace_s_secrets(dev: Synthesis) -> None:
    prefix = dev.outputs["servingNamespaceDetails"]["fraud-detection"]["secretNamePrefix"]
    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:{}-AbCdEf"
    policy = _serving_policy(dev, "fraud-detection")
    assert allows(policy, "secretsmanager:GetSecretValue", arn.format(f"{prefix}/feature-store-token")), (
        "the namespace's model servers read the secrets stored under its prefix"
    )
    other = dev.outputs["servingNamespaceDetails"]["recommendations"]
    assert not allows(
        policy, "secretsmanager:GetSecretValue", arn.format(f"{prefix.rsplit('/', 1)[0]}/recommendations/x")
    ), "never another namespace's"
    assert not allows(policy, "secretsmanager:PutSecretValue", arn.format(f"{prefix}/feature-store-token")), "read only"
    assert "secretProviderClass" not in other, "a namespace without secrets gets no provider class"


def test_the_provider_class_fetches_with_the_namespace_s_identity_and_names_only_its_secrets(dev: Synthesis) -> None:
    (provider_class,) = dev.monitor.by_type(PROVIDER_CLASS)
    assert provider_class.inputs["metadata"]["namespace"] == "fraud-detection"
    parameters = provider_class.inputs["spec"]["parameters"]
    assert parameters.get("usePodIdentity") == "false", "IRSA: the namespace's service account role, not the node's"
    prefix = dev.outputs["servingNamespaceDetails"]["fraud-detection"]["secretNamePrefix"]
    assert f"{prefix}/feature-store-token" in parameters["objects"], "the configured secret, under its prefix"


def test_on_aks_each_namespace_with_secrets_gets_its_own_vault_that_only_its_identity_reads() -> None:
    foundation = synthesize("azure-prod")
    vaults = foundation.outputs["servingKeyVaults"]
    assert set(vaults) == {"triage-models"}, "one vault per namespace with secrets"
    grants = [
        r
        for r in foundation.monitor.by_type("azure-native:authorization:RoleAssignment")
        if "4633458b-17de-408a-b874-0445c86b69e6" in str(r.inputs.get("roleDefinitionId"))
    ]
    assert grants, "Key Vault Secrets User is granted"
    for grant in grants:
        assert "triage-models" in grant.name, f"{grant.name}: only the namespace's own identity reads its vault"
        assert str(grant.inputs["scope"]).endswith("-secrets-vault") or "vaults/" in str(grant.inputs["scope"]), (
            "scoped to the vault, never the resource group"
        )
    layer = synthesize("azure-prod-cluster")
    (provider_class,) = layer.monitor.by_type(PROVIDER_CLASS)
    assert provider_class.inputs["spec"]["parameters"]["keyvaultName"] == vaults["triage-models"], (
        "the cluster layer reads the vault the foundation made for the namespace"
    )
