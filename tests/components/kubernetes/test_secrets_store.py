"""Secrets for applications: the Secrets Store CSI driver, each namespace's SecretProviderClass, and model servers
that receive secrets only through the CSI volume or a synced Secret, never as values in their spec."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest

from components._common import gpu
from components.kubernetes import ModelDeployment, ModelServingNamespace, SecretsStoreCsi, _chart_workloads, _charts
from components.kubernetes import secrets_store as store
from components.kubernetes.serving import TEAM_ROLE_RULES
from stacks.deployability import pod_security_violations
from tests.components.kubernetes.helpers import (
    chart_values,
    every_gpu_taint,
    manifest,
    objects_of_kind,
    run_with_provider,
    tolerates,
)
from tests.components.kubernetes.layer import DIGEST_IMAGE
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION
from tests.components.kubernetes.test_pod_autoscaling import value_paths

TRAINING_POOL_TAINT = {"key": "mlplatform.io/workload", "value": "training", "effect": "NoSchedule"}
EXTRA_POOL_TAINT = {"key": "team", "value": "vision", "effect": "NoExecute"}
ROLE_ARN = "arn:aws:iam::123456789012:role/serving-fraud-role"
CLIENT_ID = "00000000-0000-0000-0000-000000000001"

# The values keys each builder may set, read from the charts' values.yaml and templates at the pinned tags. A key
# ending in `*` is a map or list the chart copies whole into the rendered object.
DRIVER_KEYS = frozenset(
    {
        # kubernetes-sigs/secrets-store-csi-driver tag v1.6.0, charts/secrets-store-csi-driver/values.yaml;
        # `linux.crds.enabled` gates templates/crds-upgrade-hook.yaml and keep-crds-upgrade-hook.yaml,
        # `linux.tolerations` is copied by templates/secrets-store-csi-driver.yaml, `syncSecret.enabled` gates
        # templates/role-syncsecret*.yaml, `tokenRequests` is copied by templates/csidriver.yaml.
        "linux.crds.enabled",
        "linux.tolerations*",
        "syncSecret.enabled",
        "enableSecretRotation",
        "rotationPollInterval",
        "tokenRequests*",
    }
)
AWS_PROVIDER_KEYS = frozenset(
    {
        # aws/secrets-store-csi-driver-provider-aws tag 3.1.1, charts/secrets-store-csi-driver-provider-aws/
        # values.yaml; `secrets-store-csi-driver.install` is the Chart.yaml dependency's condition, `awsRegion`
        # sets AWS_REGION and drops the ClusterRole's pods/nodes reads (templates/rbac.yaml).
        "secrets-store-csi-driver.install",
        "tolerations*",
        "awsRegion",
    }
)

# A compact JSON-schema transcription of the SecretProviderClass CRD's v1 schema at the pinned driver
# (kubernetes-sigs/secrets-store-csi-driver v1.6.0, charts/secrets-store-csi-driver/crds/
# secrets-store.csi.x-k8s.io_secretproviderclasses.yaml): spec.provider a string, spec.parameters a map of strings,
# spec.secretObjects a list of {secretName, type, labels, annotations, data: [{objectName, key}]}. The CRD prunes
# unknown fields silently; here they are errors, so a misspelt field fails the test instead of vanishing.
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SECRET_PROVIDER_CLASS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "secrets-store.csi.x-k8s.io/v1"},
        "kind": {"const": "SecretProviderClass"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "provider": {"type": "string"},
                "parameters": _STRING_MAP,
                "secretObjects": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "secretName": {"type": "string"},
                            "type": {"type": "string"},
                            "labels": _STRING_MAP,
                            "annotations": _STRING_MAP,
                            "data": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"objectName": {"type": "string"}, "key": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def build_driver(run, **extra):
    args = {"provider": "aws", "aws_region": "eu-central-1", **extra}
    return run_with_provider(run, lambda opts: SecretsStoreCsi("secrets", args, opts=opts))


def aws_namespace(**store_extra) -> dict[str, Any]:
    return {
        "namespace": "fraud",
        "team_group": "fraud-team",
        "identity_kind": "aws",
        "identity_id": ROLE_ARN,
        "secret_store": {
            "provider": "aws",
            "secrets": ["hf-token", "db-password"],
            "name_prefix": "mlplatform-prod/fraud",
            "aws_region": "eu-central-1",
            **store_extra,
        },
    }


def azure_namespace(**store_extra) -> dict[str, Any]:
    return {
        "namespace": "fraud",
        "team_group": "fraud-team",
        "identity_kind": "azure",
        "identity_id": CLIENT_ID,
        "secret_store": {
            "provider": "azure",
            "secrets": ["hf-token"],
            "key_vault_name": "kv-fraud",
            "tenant_id": "tenant",
            **store_extra,
        },
    }


def secret_provider_class(recorder) -> dict[str, Any]:
    (spc,) = objects_of_kind(recorder, "SecretProviderClass")
    return spc


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


# --- The driver and the AWS provider ------------------------------------------------------------------------


def test_the_values_set_only_keys_the_pinned_charts_have(run) -> None:
    recorder = build_driver(run, sync_secrets=True, gpu_pool_taints=[TRAINING_POOL_TAINT])
    for chart, keys in ((_charts.SECRETS_STORE_CSI_DRIVER, DRIVER_KEYS), (_charts.SECRETS_STORE_CSI_PROVIDER_AWS, AWS_PROVIDER_KEYS)):  # fmt: skip
        unknown = sorted(set(value_paths(chart_values(recorder, chart.chart), keys)) - keys)
        assert not unknown, f"{chart.chart} {chart.version} has no values key {unknown}; Helm would ignore them"


def test_the_driver_runs_in_its_own_privileged_namespace_with_default_deny(run) -> None:
    recorder = build_driver(run)
    (namespace,) = objects_of_kind(recorder, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == "secrets-store-csi"
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged", (
        "the driver container is privileged and both DaemonSets mount kubelet host paths: baseline rejects them"
    )
    assert labels["mlplatform.io/tier"] == "secrets"
    policies = {policy["metadata"]["name"]: policy["spec"] for policy in objects_of_kind(recorder, "NetworkPolicy")}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert not any("ingress" in spec for spec in policies.values()), "nothing may connect to the driver or provider"
    egress = policies["allow-aws-provider-to-aws-apis"]
    assert egress["podSelector"]["matchLabels"] == {"app": "secrets-store-csi-driver-provider-aws"}
    assert egress["egress"] == [{"ports": [{"protocol": "TCP", "port": 443}]}]


def test_the_provider_reaches_aws_only_through_the_given_cidrs(run) -> None:
    recorder = build_driver(run, cloud_api_cidrs=["10.0.0.0/16"])
    (egress,) = [p for p in objects_of_kind(recorder, "NetworkPolicy") if p["metadata"]["name"].endswith("aws-apis")]
    assert egress["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]


def test_the_driver_passes_irsa_tokens_and_does_not_sync_secrets_by_default(run) -> None:
    recorder = build_driver(run)
    driver = chart_values(recorder, _charts.SECRETS_STORE_CSI_DRIVER.chart)
    assert driver["tokenRequests"] == [{"audience": "sts.amazonaws.com"}], "the AWS provider needs the IRSA token"
    assert driver["syncSecret"] == {"enabled": False}, "no ClusterRole over every Secret unless asked for"
    assert driver["linux"]["crds"] == {"enabled": False}, "hook Jobs never run under helm.v4.Chart"
    provider = chart_values(recorder, _charts.SECRETS_STORE_CSI_PROVIDER_AWS.chart)
    assert provider["secrets-store-csi-driver"] == {"install": False}, "one driver, pinned once"
    assert provider["awsRegion"] == "eu-central-1"


@pytest.mark.parametrize("chart", [_charts.SECRETS_STORE_CSI_DRIVER, _charts.SECRETS_STORE_CSI_PROVIDER_AWS])
def test_both_daemonsets_tolerate_every_gpu_pool_taint(run, chart: _charts.ChartRef) -> None:
    recorder = build_driver(run, gpu_pool_taints=[TRAINING_POOL_TAINT, EXTRA_POOL_TAINT])
    values = chart_values(recorder, chart.chart)
    (daemon_set,) = _chart_workloads.chart_workloads(chart.chart, chart.version, "release", "secrets", values) or []
    tolerations = daemon_set.pod_spec["tolerations"]
    taints = [taint for _, taint in every_gpu_taint()] + [
        gpu.Taint(TRAINING_POOL_TAINT["key"], TRAINING_POOL_TAINT["value"], "NoSchedule"),
        gpu.Taint(EXTRA_POOL_TAINT["key"], EXTRA_POOL_TAINT["value"], "NoExecute"),
    ]
    for taint in taints:
        assert tolerates(tolerations, taint), (
            f"{chart.chart} must run on nodes tainted {taint}: pods there mount secrets"
        )
    assert {"operator": "Exists"} not in tolerations, "not the chart's tolerate-everything (NoExecute drains too)"


def test_on_aks_the_add_on_runs_the_driver_and_nothing_is_installed(run) -> None:
    recorder = run_with_provider(run, lambda opts: SecretsStoreCsi("secrets", {"provider": "azure"}, opts=opts))
    assert not recorder.by_type("kubernetes:helm.sh/v4:Chart")
    assert not objects_of_kind(recorder, "Namespace")
    assert recorder.one("mlplatform:index:SecretsStoreCsi").outputs["namespace"] == "kube-system"


def test_bad_driver_args_are_rejected_with_paths(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: SecretsStoreCsi("secrets", {"provider": "gcp", "cloud_api_cidrs": ["10.0.0.1/16"]}))
    assert set(errors_of(raised)) == {"provider", "cloudApiCidrs[0]"}
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: SecretsStoreCsi("secrets", {"provider": "azure", "sync_secrets": True}))
    assert set(errors_of(raised)) == {"syncSecrets"}


# --- Each serving namespace's SecretProviderClass -------------------------------------------------------------


@pytest.mark.parametrize("namespace_args", [aws_namespace(sync_to_kubernetes=True), azure_namespace()])
def test_the_secret_provider_class_validates_against_the_pinned_crd(run, namespace_args) -> None:
    recorder = run_with_provider(run, lambda opts: ModelServingNamespace("fraud", namespace_args, opts=opts))
    jsonschema.validate(secret_provider_class(recorder), SECRET_PROVIDER_CLASS_SCHEMA)


def test_the_schema_check_catches_a_misplaced_field(run) -> None:
    recorder = run_with_provider(run, lambda opts: ModelServingNamespace("fraud", aws_namespace(), opts=opts))
    broken = secret_provider_class(recorder)
    broken["spec"]["secretObject"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SECRET_PROVIDER_CLASS_SCHEMA)


def test_on_aws_the_class_names_only_the_namespaces_prefix_and_uses_its_irsa_role(run) -> None:
    recorder = run_with_provider(run, lambda opts: ModelServingNamespace("fraud", aws_namespace(), opts=opts))
    spc = secret_provider_class(recorder)
    assert spc["metadata"] == {"name": "app-secrets", "namespace": "fraud"}
    parameters = spc["spec"]["parameters"]
    assert spc["spec"]["provider"] == "aws"
    assert parameters["usePodIdentity"] == "false", "IRSA: the role the namespace's ServiceAccount is annotated with"
    assert parameters["region"] == "eu-central-1"
    objects = json.loads(parameters["objects"])
    assert objects == [
        {"objectName": "mlplatform-prod/fraud/hf-token", "objectType": "secretsmanager", "objectAlias": "hf-token"},
        {
            "objectName": "mlplatform-prod/fraud/db-password",
            "objectType": "secretsmanager",
            "objectAlias": "db-password",
        },
    ], "every object under the prefix the namespace's role may read (AwsServingIdentity.secret_name_prefix)"
    assert "secretObjects" not in spc["spec"], "no Kubernetes Secret unless the namespace asks for env vars"
    (account,) = objects_of_kind(recorder, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN


def test_on_azure_the_class_uses_the_namespaces_workload_identity_and_vault(run) -> None:
    recorder = run_with_provider(run, lambda opts: ModelServingNamespace("fraud", azure_namespace(), opts=opts))
    parameters = secret_provider_class(recorder)["spec"]["parameters"]
    assert parameters["clientID"] == CLIENT_ID, "the namespace's identity, federated to its ServiceAccount only"
    assert parameters["keyvaultName"] == "kv-fraud" and parameters["tenantId"] == "tenant"
    assert parameters["usePodIdentity"] == "false" and "useVMManagedIdentity" not in parameters, (
        "never the node's identity, which every pod on the node shares"
    )
    (document,) = json.loads(parameters["objects"])["array"]
    assert json.loads(document) == {"objectName": "hf-token", "objectType": "secret", "objectAlias": "hf-token"}


def test_sync_declares_one_secret_with_a_key_per_name(run) -> None:
    args = aws_namespace(sync_to_kubernetes=True)
    recorder = run_with_provider(run, lambda opts: ModelServingNamespace("fraud", args, opts=opts))
    (synced,) = secret_provider_class(recorder)["spec"]["secretObjects"]
    assert synced["secretName"] == "app-secrets" and synced["type"] == "Opaque"
    assert synced["data"] == [{"objectName": "hf-token", "key": "hf-token"}, {"objectName": "db-password", "key": "db-password"}]  # fmt: skip


def test_the_team_may_read_but_never_write_secret_provider_classes_or_read_secrets() -> None:
    for rule in TEAM_ROLE_RULES:
        if "secrets-store.csi.x-k8s.io" in rule["apiGroups"]:
            assert set(rule["verbs"]) == {"get", "list", "watch"}, "the class picks the identity that fetches"
        assert "secrets" not in rule["resources"], "synced Secrets stay unreadable to the team"


@pytest.mark.parametrize(
    ("store_args", "paths"),
    [
        (
            {"provider": "azure", "secrets": ["hf-token"]},
            {"secretStore.provider", "secretStore.keyVaultName", "secretStore.tenantId"},
        ),
        (
            {"provider": "aws", "secrets": ["hf_token", "a", "a"], "key_vault_name": "kv"},
            {"secretStore.secrets[0]", "secretStore.secrets[2]", "secretStore.keyVaultName"},
        ),
        ({"provider": "aws", "secrets": [], "name_prefix": "/x/"}, {"secretStore.namePrefix"}),
    ],
)
def test_bad_secret_stores_are_rejected_with_paths(run, store_args, paths) -> None:
    args = {**aws_namespace(), "secret_store": store_args}
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelServingNamespace("fraud", args))
    assert set(errors_of(raised)) == paths


# --- ModelDeployment: secrets reach the pod only through the CSI volume or the synced Secret -----------------

SECRET_VALUE = "hf_live_0123456789abcdef"


def build_model(run, **extra):
    args = {
        "namespace": "fraud",
        "image": DIGEST_IMAGE,
        "secrets": [{"name": "hf-token", "env": "HF_TOKEN"}, {"name": "db-password", "file": "db.pass"}],
        "env": {"MODEL_VERSION": "1"},
        **extra,
    }
    return run_with_provider(run, lambda opts: ModelDeployment("fraud-model", args, opts=opts))


def deployment_of(recorder) -> dict[str, Any]:
    (deployment,) = objects_of_kind(recorder, "Deployment")
    return deployment


def test_secrets_are_mounted_read_only_from_the_namespaces_csi_volume(run) -> None:
    spec = deployment_of(build_model(run))["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes["app-secrets"]["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "app-secrets"},
    }
    (container,) = spec["containers"]
    mounts = [mount for mount in container["volumeMounts"] if mount["name"] == "app-secrets"]
    assert mounts == [
        {"name": "app-secrets", "mountPath": "/var/run/secrets/app/hf-token", "subPath": "hf-token", "readOnly": True},
        {
            "name": "app-secrets",
            "mountPath": "/var/run/secrets/app/db.pass",
            "subPath": "db-password",
            "readOnly": True,
        },
    ], "each named secret, and only those, as a read-only file"
    assert pod_security_violations(spec, "restricted") == ([], []), "a CSI volume is allowed under restricted"


def test_secret_env_vars_reference_the_synced_secret_and_carry_no_value(run) -> None:
    (container,) = deployment_of(build_model(run))["spec"]["template"]["spec"]["containers"]
    by_name = {variable["name"]: variable for variable in container["env"]}
    assert by_name["HF_TOKEN"] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "hf-token"}}}  # fmt: skip
    assert "DB_PASSWORD" not in by_name, "a file-only secret is no env var"


def test_the_recorded_deployment_never_holds_a_secret_value(run) -> None:
    """The value lives in the cloud store: nothing the program registers contains it, whatever it is."""
    recorder = build_model(run)
    recorded = json.dumps([registration.inputs for registration in recorder.registrations], default=str)
    assert SECRET_VALUE not in recorded
    (container,) = deployment_of(recorder)["spec"]["template"]["spec"]["containers"]
    literals = [variable for variable in container["env"] if "value" in variable]
    assert {variable["name"] for variable in literals} == {"HOME", "MODEL_VERSION"}, "only the plain variables"


def test_the_deployment_with_secrets_validates_against_the_kubernetes_schema(run) -> None:
    recorder = build_model(run)
    (registration,) = recorder.by_type("kubernetes:apps/v1:Deployment")
    kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("secrets", "paths"),
    [
        ([{"name": "hf token"}], {"secrets[0].name"}),
        ([{"name": "a", "env": "MODEL_VERSION"}], {"secrets[0].env"}),
        ([{"name": "a", "file": "../etc/passwd"}], {"secrets[0].file"}),
        ([{"name": "a"}, {"name": "a"}], {"secrets[1].name", "secrets[1].file"}),
        ([{"name": "a", "value": SECRET_VALUE}], {"secrets[0].value"}),
    ],
)
def test_bad_secrets_are_rejected_with_paths(run, secrets, paths) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelDeployment("m", {"namespace": "fraud", "image": DIGEST_IMAGE, "secrets": secrets, "env": {"MODEL_VERSION": "1"}}))  # fmt: skip
    assert set(errors_of(raised)) == paths


def test_the_spc_and_volume_agree_on_names() -> None:
    assert store.secret_volume()["csi"]["volumeAttributes"]["secretProviderClass"] == store.SECRET_PROVIDER_CLASS_NAME
    _, env = store.secret_mounts_and_env([{"name": "x", "env": "X"}])
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == store.SYNCED_SECRET_NAME


def test_pool_taints_from_a_foundation_stack_output_are_tolerated_too(run) -> None:
    recorder = build_driver(run, gpu_pool_taints=pulumi.Output.from_input([EXTRA_POOL_TAINT]))
    values = chart_values(recorder, _charts.SECRETS_STORE_CSI_DRIVER.chart)
    tolerations = values["linux"]["tolerations"]
    assert tolerates(tolerations, gpu.Taint(EXTRA_POOL_TAINT["key"], EXTRA_POOL_TAINT["value"], "NoExecute"))
