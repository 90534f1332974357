"""The composed platform: each serving namespace runs as its own cloud identity, on encrypted volumes, per target."""

from __future__ import annotations

import json

import pytest

from components._common.gpu import SERVING_SERVICE_ACCOUNT
from stacks.platform import ENCRYPTED_STORAGE_CLASS
from stacks.synth import Registration, Synthesis, synthesize, synthesize_whole


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize_whole("prod")


@pytest.fixture(scope="module")
def azure_prod() -> Synthesis:
    return synthesize_whole("azure-prod")


@pytest.fixture(scope="module")
def local() -> Synthesis:
    return synthesize("local")


def service_accounts(synthesis: Synthesis) -> dict[str, Registration]:
    """The serving service account of each namespace, by namespace."""
    return {
        r.inputs["metadata"]["namespace"]: r
        for r in synthesis.monitor.by_type("kubernetes:core/v1:ServiceAccount")
        if r.inputs["metadata"]["name"] == SERVING_SERVICE_ACCOUNT
    }


def test_each_eks_serving_account_assumes_the_role_that_trusts_exactly_it(prod: Synthesis) -> None:
    accounts = service_accounts(prod)
    assert set(accounts) == {"fraud-detection", "recommendations"}, "one serving account per configured namespace"
    roles = {r.name: r for r in prod.monitor.by_type("aws:iam/role:Role") if r.name.startswith("serving-")}
    for namespace, account in accounts.items():
        role_arn = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert role_arn == prod.outputs["servingIdentities"][namespace], f"{namespace} must run as its own role"
        role = roles[role_arn.rsplit("/", 1)[1]]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        subjects = [
            value
            for statement in trust["Statement"]
            for condition in statement["Condition"].values()
            for key, value in condition.items()
            if key.endswith(":sub")
        ]
        assert subjects == [f"system:serviceaccount:{namespace}:{SERVING_SERVICE_ACCOUNT}"], (
            f"the role of {namespace} must trust only that namespace's service account"
        )


def test_each_aks_serving_account_uses_the_identity_federated_to_exactly_it(azure_prod: Synthesis) -> None:
    accounts = service_accounts(azure_prod)
    assert set(accounts) == {"triage-models"}
    credentials = azure_prod.monitor.by_type("azure-native:managedidentity:FederatedIdentityCredential")
    for namespace, account in accounts.items():
        client_id = account.inputs["metadata"]["annotations"]["azure.workload.identity/client-id"]
        assert client_id == azure_prod.outputs["servingIdentities"][namespace], f"{namespace} uses its own identity"
        subjects = {c.inputs["subject"] for c in credentials if namespace in c.name}
        assert subjects == {f"system:serviceaccount:{namespace}:{SERVING_SERVICE_ACCOUNT}"}, (
            "the federated credential must name exactly this namespace's service account"
        )


@pytest.mark.parametrize("stack", ["prod", "azure-prod"])
def test_every_platform_volume_uses_the_encrypted_default_class(stack: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    storage_class = synthesis.monitor.one("kubernetes:storage.k8s.io/v1:StorageClass")
    parameters = storage_class.inputs["parameters"]
    assert parameters.get("kmsKeyId") or parameters.get("diskEncryptionSetID"), "volumes use the platform's key"
    assert storage_class.inputs["reclaimPolicy"] == "Retain", "prod keeps volumes when claims are deleted"
    prometheus_values = next(
        r.inputs["values"]
        for r in synthesis.monitor.by_type("kubernetes:helm.sh/v4:Chart")
        if r.inputs["chart"] == "kube-prometheus-stack"
    )
    claim = prometheus_values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == ENCRYPTED_STORAGE_CLASS, "Prometheus data sits on the encrypted class"
    elasticsearch = synthesis.monitor.one("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    for node_set in elasticsearch.inputs["spec"]["nodeSets"]:
        for template in node_set["volumeClaimTemplates"]:
            assert template["spec"]["storageClassName"] == ENCRYPTED_STORAGE_CLASS, (
                "log data sits on the encrypted class"
            )


@pytest.mark.parametrize("stack", ["prod", "azure-prod"])
def test_the_kubernetes_layer_talks_only_to_the_platforms_cluster(stack: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    provider = synthesis.monitor.one("pulumi:providers:kubernetes")
    assert provider.secret_inputs == ["kubeconfig"], "the cluster credentials stay secret in the provider"
    for registration in synthesis.registrations:
        if registration.type.startswith("kubernetes:"):
            assert registration.provider.startswith(provider.urn), f"{registration.name} must use the cluster provider"


@pytest.mark.parametrize("stack", ["prod", "azure-prod"])
def test_the_kubernetes_provider_is_replaced_only_with_its_cluster(stack: str, request: pytest.FixtureRequest) -> None:
    """A kubeconfig left unknown in a preview (e.g. a new admin grant) must not replace every Kubernetes object."""
    synthesis: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    provider = synthesis.monitor.one("pulumi:providers:kubernetes")
    issuer = synthesis.outputs["oidcIssuerUrl"]
    assert provider.inputs.get("clusterIdentifier") == issuer, (
        "pulumi-kubernetes replaces a provider whose kubeconfig is unknown unless clusterIdentifier is set and "
        "unchanged; the OIDC issuer URL is unique to the cluster and fixed for its life"
    )
    assert issuer.startswith("https://")
    through_inputs = {
        synthesis.monitor.by_urn(urn).type for urns in provider.property_dependencies.values() for urn in urns
    }
    prerequisites = {synthesis.monitor.by_urn(urn).type for urn in provider.dependencies}
    changeable = {
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "azure-native:authorization:RoleAssignment",
    }
    assert not through_inputs & changeable, (
        "grants, nodes and add-ons must not reach the kubeconfig: a change to one would leave it unknown in a preview"
    )
    assert prerequisites & changeable, "they are waited for with depends_on instead"


@pytest.mark.parametrize("stack", ["dev", "prod", "azure-prod", "local"])
def test_credentials_in_the_stack_outputs_are_secret(stack: str) -> None:
    synthesis = synthesize_whole(stack)
    for key in ("kubeconfig", "grafanaAdminPassword"):
        if key in synthesis.outputs:
            assert key in synthesis.secret_outputs, f"{key} must be exported as a secret"
    assert "grafanaAdminPassword" in synthesis.outputs, "monitoring is on in every shipped stack"


def test_the_gpu_operator_relies_on_the_drivers_the_node_images_ship(prod: Synthesis) -> None:
    operator = next(
        r.inputs["values"]
        for r in prod.monitor.by_type("kubernetes:helm.sh/v4:Chart")
        if r.inputs["chart"] == "gpu-operator"
    )
    assert operator["driver"]["enabled"] is False, "EKS NVIDIA AMIs ship the driver; a second one would conflict"
    assert operator["toolkit"]["enabled"] is False, "EKS NVIDIA AMIs ship the container toolkit"


def test_the_local_target_creates_no_cloud_resources_and_a_loopback_registry(local: Synthesis) -> None:
    clouds = [r.type for r in local.registrations if r.type.startswith(("aws:", "azure-native:"))]
    assert not clouds, f"an existing cluster gets only the Kubernetes layer: {clouds}"
    provider = local.monitor.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-mlplatform", "the local cluster is reached by kubeconfig context"
    assert local.outputs["registryUrl"] == "localhost:5001"
    container = local.monitor.one("docker:index/container:Container")
    assert container.inputs["networksAdvanced"] == [{"name": "kind"}], "kind nodes pull from the registry"
    assert local.monitor.by_type("mlplatform:index:ModelServingNamespace"), "the serving namespaces exist locally too"
