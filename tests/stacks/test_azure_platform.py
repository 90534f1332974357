"""The azure stack: the whole Azure foundation, in the configured location, protected in prod, least privilege."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components._common import gpu, pools
from components.azure._shared import ACR_PULL, STORAGE_BLOB_DATA_READER, blob_container_id
from stacks.config import ENVIRONMENT_PRESETS, PlatformConfig
from stacks.load import PlatformConfigError
from stacks.platform import build_platform
from stacks.synth import PROJECT_ROOT, Synthesis, synthesize, synthesize_whole

AGENT_POOL = "azure-native:containerservice:AgentPool"
PRIVATE_DNS = ("azure-native:privatedns:PrivateZone", "azure-native:privatedns:VirtualNetworkLink")
"""Global-only types: Azure accepts no location but `global` for them."""


@pytest.fixture(scope="module")
def azure_prod() -> Synthesis:
    return synthesize_whole("azure-prod")


def test_azure_prod_builds_the_whole_foundation(azure_prod: Synthesis) -> None:
    components = {r.type.split(":")[-1] for r in azure_prod.registrations if r.type.startswith("mlplatform:index:")}
    assert components == {
        "AzureNetwork",
        "AzureLogAnalytics",
        "AzureKeyVault",
        "AzureGpuCluster",
        "AzureContainerRegistry",
        "AzureEncryptedStorage",
        "AzureWorkloadIdentity",
        # the Kubernetes layer on top of the cluster
        "EncryptedStorageClass",
        "Monitoring",
        "GpuStack",
        "Logging",
        "ModelServingNamespace",
        "PodAutoscaling",
        "ServingGateway",
        "TrainingNamespace",
        "GpuQueues",
        "DistributedTraining",
        "Pipelines",
        "AzurePostgres",  # the tracking server's database
        "ExperimentTracking",
        "AzureDefenderForContainers",  # registry scanning that promotion is gated on
        "AdmissionPolicies",  # the Kubernetes baseline at admission
    }, "the Azure foundation and the Kubernetes layer on AKS"
    agent_pools = {r.inputs["agentPoolName"] for r in azure_prod.monitor.by_type(AGENT_POOL)}
    assert agent_pools == {"platform", "t4serve", "a100train"}, "the platform pool and one per configured GPU pool"
    containers = {r.inputs["containerName"] for r in azure_prod.monitor.by_type("azure-native:storage:BlobContainer")}
    assert containers == {"datasets", "models", "artifacts"}, "each configured bucket is a blob container"


def test_every_located_resource_uses_the_configured_location(azure_prod: Synthesis) -> None:
    provider = azure_prod.monitor.one("pulumi:providers:azure-native")
    assert provider.inputs["location"] == "westeurope", "resources without a location inherit the provider's"
    for registration in azure_prod.registrations:
        location = registration.inputs.get("location")
        if location is None:
            continue
        expected = "global" if registration.type in PRIVATE_DNS else "westeurope"
        assert location == expected, f"{registration.type} {registration.name} is in {location} (GDPR-RES-AZ-LOCATION)"


def test_every_azure_resource_goes_through_the_explicit_provider(azure_prod: Synthesis) -> None:
    provider = azure_prod.monitor.one("pulumi:providers:azure-native")
    for registration in azure_prod.registrations:
        if registration.custom and registration.type.startswith("azure-native:"):
            assert registration.provider.startswith(provider.urn), f"{registration.name} must use the stack's provider"


def test_prod_data_stores_are_protected_and_retained(azure_prod: Synthesis) -> None:
    stateful = (
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "azure-native:containerregistry:Registry",
        "azure-native:operationalinsights:Workspace",
        "azure-native:compute:DiskEncryptionSet",
    )
    for type_token in stateful:
        registrations = azure_prod.monitor.by_type(type_token)
        assert registrations, f"azure-prod creates {type_token}"
        for registration in registrations:
            assert registration.protect and registration.retain_on_delete, f"{registration.name} must survive a destroy"


def test_prod_services_are_private(azure_prod: Synthesis) -> None:
    monitor = azure_prod.monitor
    assert monitor.one("azure-native:containerservice:ManagedCluster").inputs["apiServerAccessProfile"][
        "enablePrivateCluster"
    ]
    for vault in monitor.by_type("azure-native:keyvault:Vault"):  # the key vault and each namespace's secrets vault
        assert vault.inputs["properties"]["publicNetworkAccess"] == "Disabled", f"{vault.name} is private"
    assert monitor.one("azure-native:containerregistry:Registry").inputs["publicNetworkAccess"] == "Disabled"
    assert monitor.one("azure-native:storage:StorageAccount").inputs["publicNetworkAccess"] == "Disabled"
    groups = {
        r.inputs["privateLinkServiceConnections"][0]["groupIds"][0]
        for r in monitor.by_type("azure-native:network:PrivateEndpoint")
    }
    assert groups == {"vault", "registry", "blob", "postgresqlServer"}, "the tracking database too"


def test_audit_logs_of_every_service_reach_the_one_workspace(azure_prod: Synthesis) -> None:
    monitor = azure_prod.monitor
    workspace = monitor.one("azure-native:operationalinsights:Workspace")
    assert workspace.inputs["retentionInDays"] == 365, "GDPR-RET-LOGS: logging.retentionDays"
    settings = monitor.by_type("azure-native:monitor:DiagnosticSetting")
    workspace_id = monitor.one("mlplatform:index:AzureLogAnalytics").outputs["workspaceId"]
    assert {setting.inputs["workspaceId"] for setting in settings} == {workspace_id}, "one place to audit"
    targets = {setting.name.removeprefix("mlp-azure-prod-") for setting in settings}
    assert targets == {
        "kv-diagnostics",
        "aks-diagnostics",
        "acr-diagnostics",
        "data-blob-diagnostics",
        "triage-models-secrets-diagnostics",  # the namespace's secrets vault
        "tracking-db-diagnostics",  # the tracking database's PostgreSQL logs
    }, targets
    for setting in settings:
        assert any(log["enabled"] for log in setting.inputs["logs"]), f"{setting.name} sends logs (HIPAA-LOG-AZ-DIAG)"


def test_each_serving_identity_reads_exactly_the_models_container(azure_prod: Synthesis) -> None:
    monitor = azure_prod.monitor
    account_id = monitor.one("mlplatform:index:AzureEncryptedStorage").outputs["accountId"]
    models = blob_container_id(account_id, "models")
    readers = [
        r
        for r in monitor.by_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_READER) and "-train-" not in r.name
    ]
    assert len(readers) == len(azure_prod.outputs["servingNamespaces"]) == 1, "one reader per serving namespace"
    for reader in readers:
        assert reader.inputs["scope"] == models, "scope is the models container, never the account"
        assert "'triage-models/'" in reader.inputs["condition"], "and only the namespace's own prefix"
    pulls = [
        r
        for r in monitor.by_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(ACR_PULL)
    ]
    assert [r.inputs["principalId"] for r in pulls] == ["kubelet-object-mlp-azure-prod-aks-cluster"], (
        "only the kubelet pulls images"
    )


def test_the_stack_exports_flat_camel_case_outputs(azure_prod: Synthesis) -> None:
    outputs = azure_prod.outputs
    for key in (
        "kubeconfig",
        "clusterName",
        "oidcIssuerUrl",
        "registryLoginServer",
        "storageAccountName",
        "containerNames",
        "keyVaultUri",
        "keyIds",
        "servingIdentities",
        "storageClass",
    ):
        assert key in outputs, f"missing stack output {key}"
    assert "kubeconfig" in azure_prod.secret_outputs, "the kubeconfig is exported as a secret"
    assert set(outputs["keyIds"]) == {"etcd", "disks", "registry", "storage", "postgres"}
    assert set(outputs["servingIdentities"]) == {"triage-models"}
    assert outputs["storageClass"]["provisioner"] == "disk.csi.azure.com"
    assert outputs["storageClass"]["parameters"]["diskEncryptionSetID"]


def test_a_public_dev_stack_keeps_every_service_behind_a_deny_firewall(run) -> None:
    config = PlatformConfig.from_data(
        {
            "environment": "dev",
            "target": {"cloud": "azure", "location": "germanywestcentral"},
            "cluster": {
                "endpoint": {"publicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
                "adminPrincipals": ["22222222-2222-2222-2222-222222222222"],
                "gpuPools": [{"name": "t4", "instanceTypes": ["Standard_NC4as_T4_v3"], "maxSize": 2}],
            },
        }
    )
    recorder = run(lambda: build_platform(config))
    cluster = recorder.one("azure-native:containerservice:ManagedCluster").inputs
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.0/24"]
    assert cluster["securityProfile"]["azureKeyVaultKms"]["keyVaultNetworkAccess"] == "Private", "KMS stays private"
    registry = recorder.one("azure-native:containerregistry:Registry").inputs
    assert registry["networkRuleSet"]["defaultAction"] == "Deny"
    assert registry["policies"]["exportPolicy"] == {"status": "enabled"}, "ACR cannot disable exports while public"
    account = recorder.one("azure-native:storage:StorageAccount").inputs
    assert account["networkRuleSet"]["defaultAction"] == "Deny"
    pool = recorder.one(AGENT_POOL, "mlp-test-aks-t4").inputs
    assert pool["scaleSetPriority"] == "Spot", "dev GPU pools default to spot capacity"
    platform = recorder.one(AGENT_POOL, "mlp-test-aks-platform").inputs
    assert platform["vmSize"] == ENVIRONMENT_PRESETS["dev"]["platform_instance_types"]["azure"][0], "dev is small"
    assert (platform["minCount"], platform["maxCount"]) == (2, 4), "dev: 1-2 nodes in each of its two zones"
    assert not any(r.protect for r in recorder.registrations), "dev stacks are not protected"
    assert all(r.inputs.get("location") in (None, "germanywestcentral", "global") for r in recorder.registrations)


def test_a_gdpr_stack_outside_the_allowed_locations_is_rejected_before_anything_is_created(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    body = (PROJECT_ROOT / "Pulumi.azure-prod.yaml").read_text().replace("location: westeurope", "location: eastus")
    (tmp_path / "Pulumi.azure-us.yaml").write_text(body)
    with pytest.raises(PlatformConfigError) as caught:
        synthesize("azure-us", tmp_path, program=PROJECT_ROOT / "__main__.py")
    assert "target.location" in str(caught.value) and "allowedLocations" in str(caught.value), str(caught.value)


def test_azure_prod_runs_the_platform_on_an_untainted_pool_before_the_gpu_pools(azure_prod: Synthesis) -> None:
    """Review B1 at stack level: the Kubernetes layer's Deployments need a pool without taints, and the provider
    that deploys them waits for it; AKS runs one pool operation at a time, so the pools form one chain."""
    monitor = azure_prod.monitor
    by_name = {r.inputs["agentPoolName"]: r for r in monitor.by_type(AGENT_POOL)}
    platform = by_name["platform"]
    assert not platform.inputs.get("nodeTaints"), "untainted: Prometheus, Grafana, ECK and the GPU operator fit"
    assert platform.inputs["mode"] == "User" and platform.inputs["enableAutoScaling"] is True
    assert platform.inputs["vmSize"] == ENVIRONMENT_PRESETS["prod"]["platform_instance_types"]["azure"][0]
    assert platform.inputs["availabilityZones"] == ["1", "2", "3"], "zonal, like the cluster"
    assert (platform.inputs["minCount"], platform.inputs["maxCount"]) == (3, 9), "prod: 1-3 nodes per zone"
    assert platform.inputs["nodeLabels"] == {pools.POOL_ROLE_LABEL: pools.PLATFORM_POOL_ROLE}
    assert platform.inputs["enableEncryptionAtHost"] is True
    assert (
        platform.urn in by_name["t4serve"].dependencies and by_name["t4serve"].urn in by_name["a100train"].dependencies
    )
    provider = monitor.one("pulumi:providers:kubernetes", "aks-kubernetes")
    assert platform.urn in provider.dependencies, "the Kubernetes layer is deployed once its pool exists"
    assert not {by_name["t4serve"].urn, by_name["a100train"].urn} & set(provider.dependencies)
    system = monitor.one("azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"][0]
    assert system["nodeTaints"] == [gpu.CRITICAL_ADDONS_TAINT.aks()], "the system pool stays for critical add-ons"


def test_azure_prod_keeps_serving_pods_off_the_training_pool(azure_prod: Synthesis) -> None:
    """Review M7: a100train is tainted and labelled for training, and the autoscaler grows the least wasteful pool."""
    monitor = azure_prod.monitor
    training = monitor.one(AGENT_POOL, "mlp-azure-prod-aks-a100train").inputs
    assert "workload=training:NoSchedule" in training["nodeTaints"], "pods without the toleration stay off"
    assert training["nodeLabels"][pools.WORKLOAD_LABEL] == "training", "training jobs select it"
    serving = monitor.one(AGENT_POOL, "mlp-azure-prod-aks-t4serve").inputs
    assert "workload=training:NoSchedule" not in serving["nodeTaints"]
    assert pools.WORKLOAD_LABEL not in serving["nodeLabels"]
    profile = monitor.one("azure-native:containerservice:ManagedCluster").inputs["autoScalerProfile"]
    assert profile["expander"] == "least-waste" and profile["scaleDownUnneededTime"] == "10m"
