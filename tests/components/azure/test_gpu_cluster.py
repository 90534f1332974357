"""AzureGpuCluster: Entra-only private AKS with KMS, disk CMK, audit logs, and GPU pools that honour the GPU contract."""

from __future__ import annotations

import re

import pulumi
import pytest
import yaml
from pulumi.runtime.sync_await import _sync_await

from components._common import gpu, pools
from components.azure import AzureGpuCluster
from components.azure._shared import (
    AKS_CLUSTER_USER,
    AKS_RBAC_CLUSTER_ADMIN,
    KEY_VAULT_CONTRIBUTOR,
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_VAULT_CRYPTO_USER,
)
from components.azure.gpu_cluster import (
    SPOT_TAINT,
    aks_taints,
    autoscaler_priorities,
    autoscaler_profile,
    cluster_access_grants,
    gpu_pool_settings,
    node_group_pattern,
    platform_pool_settings,
    private_dns_zone_name,
    storage_class_contract,
)
from tests.components.azure._fixtures import ADMIN_GROUP, SUB, cluster_args, rejected

CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"
COMPONENT = "mlplatform:index:AzureGpuCluster"


def _cluster(**overrides):
    return lambda: AzureGpuCluster("gpu", cluster_args(**overrides))


def _gpu_pools(recorder):
    return [pool for pool in recorder.by_type(POOL) if pool.inputs["agentPoolName"] != pools.PLATFORM_POOL_NAME]


def _platform_pool(recorder):
    (pool,) = [pool for pool in recorder.by_type(POOL) if pool.inputs["agentPoolName"] == pools.PLATFORM_POOL_NAME]
    return pool


def _roles(recorder, role_id):
    return [r for r in recorder.by_type(ROLE) if r.inputs["roleDefinitionId"].endswith(role_id)]


def test_gpu_pools_carry_both_aks_gpu_taints_before_user_taints() -> None:
    assert aks_taints(["team=vision:NoSchedule"]) == [
        "sku=gpu:NoSchedule",
        "nvidia.com/gpu=true:NoSchedule",
        "team=vision:NoSchedule",
    ]
    assert aks_taints() == [taint.aks() for taint in gpu.gpu_taints("azure")], "the contract lives in gpu.py"


def test_pool_settings_scale_to_zero_and_install_the_driver_on_the_node_image() -> None:
    settings = gpu_pool_settings({"name": "t4", "vm_size": "Standard_NC4as_T4_v3"}, ["1", "2"])
    assert settings["min_count"] == 0 and settings["count"] == 0 and settings["enable_auto_scaling"] is True
    assert settings["gpu_profile"] == {"driver": "Install"}, (
        "contract: AKS installs the driver, the GPU operator does not"
    )
    assert settings["node_labels"][gpu.ACCELERATOR_LABEL] == "nvidia-t4"
    assert settings["availability_zones"] == ["1", "2"]


def test_the_storage_class_contract_names_the_disk_encryption_set() -> None:
    contract = storage_class_contract("/des", 3)
    assert contract["provisioner"] == "disk.csi.azure.com"
    assert contract["parameters"]["diskEncryptionSetID"] == "/des", "HIPAA-ENC-K8S-STORAGECLASS reads this key"
    assert contract["parameters"]["skuName"] == "Premium_ZRS"
    assert storage_class_contract("/des", 1)["parameters"]["skuName"] == "Premium_LRS"


def test_the_cluster_is_entra_only_with_azure_rbac_and_no_local_accounts(run) -> None:
    inputs = run(_cluster()).one(CLUSTER).inputs
    assert inputs["enableRBAC"] is True
    assert inputs["disableLocalAccounts"] is True, "HIPAA-AC-AKS-ENTRA-RBAC: no shared admin kubeconfig"
    assert inputs["aadProfile"]["managed"] is True and inputs["aadProfile"]["enableAzureRBAC"] is True
    assert inputs["aadProfile"]["adminGroupObjectIDs"] == [ADMIN_GROUP]
    assert inputs["oidcIssuerProfile"] == {"enabled": True}
    assert inputs["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert inputs["identity"]["type"] == "UserAssigned", "KMS cannot use a system-assigned identity"


def test_the_api_server_is_private_and_vnet_integrated_by_default(run) -> None:
    access = run(_cluster()).one(CLUSTER).inputs["apiServerAccessProfile"]
    assert access["enablePrivateCluster"] is True, "HIPAA-NET-AKS-API"
    assert access["enableVnetIntegration"] is True, "KMS with a private vault requires VNet integration"
    assert access["enablePrivateClusterPublicFQDN"] is False
    assert access["disableRunCommand"] is True
    assert "authorizedIPRanges" not in access


def test_a_public_api_server_is_limited_to_authorized_ranges(run) -> None:
    access = (
        run(_cluster(private_cluster=False, authorized_ip_ranges=["203.0.113.0/24"]))
        .one(CLUSTER)
        .inputs["apiServerAccessProfile"]
    )
    assert access["enablePrivateCluster"] is False
    assert access["authorizedIPRanges"] == ["203.0.113.0/24"], "note the IP casing the policy reads"


def test_etcd_secrets_are_encrypted_with_kms_through_a_private_vault(run) -> None:
    kms = run(_cluster()).one(CLUSTER).inputs["securityProfile"]["azureKeyVaultKms"]
    assert kms["enabled"] is True and kms["keyId"].endswith("/etcd/0123"), "HIPAA-ENC-AKS-ETCD-KMS: a versioned key"
    assert kms["keyVaultNetworkAccess"] == "Private"
    assert kms["keyVaultResourceId"].endswith("/vaults/kv-test")


def test_the_control_plane_identity_holds_only_the_kms_and_network_roles_it_needs(run) -> None:
    recorder = run(_cluster())
    identity = recorder.one("azure-native:managedidentity:UserAssignedIdentity")
    crypto = _roles(recorder, KEY_VAULT_CRYPTO_USER)
    assert [r.inputs["scope"] for r in crypto] == [cluster_args()["kms_key_resource_id"]], (
        "encrypt/decrypt on the KMS key only"
    )
    assert crypto[0].property_dependencies["principalId"] == [identity.urn]
    assert len(_roles(recorder, KEY_VAULT_CONTRIBUTOR)) == 1, "AKS manages the private link of a private KMS vault"
    cluster = recorder.one(CLUSTER)
    for grant in recorder.by_type(ROLE):
        if grant.inputs.get("principalType") == "ServicePrincipal":
            assert grant.urn in cluster.dependencies, f"{grant.name} must exist before AKS uses it"


def test_node_disks_use_a_rotating_cmk_disk_encryption_set_and_encryption_at_host(run) -> None:
    recorder = run(_cluster())
    des = recorder.one("azure-native:compute:DiskEncryptionSet")
    assert des.inputs["encryptionType"] == "EncryptionAtRestWithCustomerKey", "HIPAA-ENC-DES"
    assert des.inputs["rotationToLatestKeyVersionEnabled"] is True
    grant = _roles(recorder, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)[0]
    assert grant.inputs["scope"].endswith("/keys/disks"), "the DES may wrap with the disk key only"
    cluster = recorder.one(CLUSTER)
    assert cluster.property_dependencies["diskEncryptionSetID"] == [des.urn], "HIPAA-ENC-AKS-DISK"
    pools = [*cluster.inputs["agentPoolProfiles"], *(pool.inputs for pool in recorder.by_type(POOL))]
    for pool in pools:
        assert pool["enableEncryptionAtHost"] is True, "every pool, GPU pools included, encrypts at host"
        assert pool["enableNodePublicIP"] is False, "HIPAA-NET-AKS-NODE-PUBLICIP"
        assert pool["osDiskType"] == "Managed", "CMK key rotation on ephemeral disks would need a scale to zero"


def test_network_policy_addons_and_upgrades_follow_the_baseline_or_better(run) -> None:
    inputs = run(_cluster()).one(CLUSTER).inputs
    network = inputs["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"], network["networkPolicy"]) == (
        "azure",
        "overlay",
        "azure",
    )
    assert inputs["addonProfiles"]["azurepolicy"]["enabled"] is True
    assert inputs["addonProfiles"]["omsagent"]["config"]["useAADAuth"] == "true"
    assert inputs["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert inputs["securityProfile"]["imageCleaner"]["enabled"] is True


def test_cilium_selects_the_cilium_dataplane(run) -> None:
    network = run(_cluster(network_policy="cilium")).one(CLUSTER).inputs["networkProfile"]
    assert network["networkPolicy"] == "cilium" and network["networkDataplane"] == "cilium"


def test_the_system_pool_is_tainted_for_critical_addons(run) -> None:
    system = run(_cluster()).one(CLUSTER).inputs["agentPoolProfiles"][0]
    assert system["mode"] == "System" and system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert system["minCount"] >= 1


def test_gpu_pools_follow_the_gpu_contract_and_scale_to_zero(run) -> None:
    recorder = run(_cluster())
    gpu_pools = {pool.inputs["agentPoolName"]: pool for pool in _gpu_pools(recorder)}
    assert set(gpu_pools) == {"t4", "a100"}, "one user pool per GPU pool"
    for name, pool in gpu_pools.items():
        inputs = pool.inputs
        assert inputs["mode"] == "User"
        for taint in gpu.gpu_taints("azure"):
            assert taint.aks() in inputs["nodeTaints"], f"{name}: the Kubernetes layer tolerates exactly these taints"
        assert (
            inputs["nodeLabels"][gpu.GPU_PRESENT_LABEL] == "true" and inputs["nodeLabels"][gpu.GPU_POOL_LABEL] == name
        )
        assert inputs["minCount"] == 0 and inputs["enableAutoScaling"] is True, "idle GPUs cost money"
        assert inputs["gpuProfile"] == {"driver": "Install"}


def test_spot_pools_delete_evicted_nodes_and_pay_at_most_on_demand(run) -> None:
    recorder = run(_cluster())
    spot = next(pool.inputs for pool in recorder.by_type(POOL) if pool.inputs["agentPoolName"] == "a100")
    assert (spot["scaleSetPriority"], spot["scaleSetEvictionPolicy"], spot["spotMaxPrice"]) == ("Spot", "Delete", -1)
    assert SPOT_TAINT in spot["nodeTaints"], "declared so the AKS-added taint is not drift"
    assert spot["availabilityZones"] == ["1"]
    on_demand = next(pool.inputs for pool in recorder.by_type(POOL) if pool.inputs["agentPoolName"] == "t4")
    assert "scaleSetPriority" not in on_demand


def test_create_time_pool_settings_replace_the_pool_deliberately(run) -> None:
    recorder = run(_cluster())
    for pool in recorder.by_type(POOL):
        assert {"vmSize", "nodeTaints"} <= set(pool.replace_on_changes), "AKS fixes VM size and taints at creation"
        assert pool.delete_before_replace, "a pool name is fixed, so the old pool goes first"
        assert pool.ignore_changes == ["count"], "the autoscaler owns the node count"
    cluster = recorder.one(CLUSTER)
    assert cluster.replace_on_changes == ["diskEncryptionSetID"] and cluster.ignore_changes == ["agentPoolProfiles"]


def test_gpu_pools_are_created_one_after_another(run) -> None:
    first, second = _gpu_pools(run(_cluster()))
    assert first.urn in second.dependencies, "AKS accepts one agent-pool operation per cluster at a time"


def test_audit_logs_go_to_a_workspace_with_retention(run) -> None:
    recorder = run(_cluster())
    workspace = recorder.one("azure-native:operationalinsights:Workspace")
    assert workspace.inputs["retentionInDays"] == 365, "GDPR-RET-LOGS: retention is explicit"
    assert workspace.inputs["features"]["disableLocalAuth"] is True
    setting = recorder.one("azure-native:monitor:DiagnosticSetting")
    categories = {log["category"] for log in setting.inputs["logs"] if log["enabled"]}
    assert {"kube-audit", "kube-audit-admin", "guard"} <= categories, "HIPAA-LOG-AZ-DIAG"
    assert setting.property_dependencies["resourceUri"] == [recorder.one(CLUSTER).urn]
    assert setting.property_dependencies["workspaceId"] == [workspace.urn]


def test_admin_groups_get_cluster_admin_and_kubeconfig_access_through_azure_rbac(run) -> None:
    recorder = run(_cluster())
    for role_id in (AKS_RBAC_CLUSTER_ADMIN, AKS_CLUSTER_USER):
        (grant,) = _roles(recorder, role_id)
        assert (grant.inputs["principalId"], grant.inputs["principalType"]) == (ADMIN_GROUP, "Group")
        assert grant.property_dependencies["scope"] == [recorder.one(CLUSTER).urn], "scoped to this cluster only"


def test_the_api_prerequisites_are_the_cluster_and_the_admin_grants_not_the_gpu_pools(run) -> None:
    """AKS creates GPU pools one by one: a provider that depends on these does not wait for them."""

    def program() -> None:
        cluster = AzureGpuCluster("gpu", cluster_args())
        pulumi.CustomResource(
            "test:index:Consumer",
            "consumer",
            {"kubeconfig": cluster.kubeconfig},
            opts=pulumi.ResourceOptions(depends_on=cluster.api_prerequisites),
        )

    recorder = run(program)
    consumer = recorder.one("test:index:Consumer")
    assert set(consumer.property_dependencies["kubeconfig"]) == {recorder.one(CLUSTER).urn}, (
        "the kubeconfig itself depends on the cluster only, so it stays known in a preview"
    )
    waits = set(consumer.dependencies)
    grants = {r.urn for role_id in (AKS_RBAC_CLUSTER_ADMIN, AKS_CLUSTER_USER) for r in _roles(recorder, role_id)}
    assert grants and grants <= waits, "the admin groups reach the API through these grants"
    assert recorder.one(CLUSTER).urn in waits, "the cluster brings its system pool and add-ons"
    assert _platform_pool(recorder).urn in waits, "the layer's Deployments and StatefulSets run on the platform pool"
    assert not {r.urn for r in _gpu_pools(recorder)} & waits, "the GPU pools keep nothing waiting"


def test_the_outputs_are_registered_camel_case(run) -> None:
    outputs = run(_cluster()).one("mlplatform:index:AzureGpuCluster").outputs
    kubeconfig = yaml.safe_load(outputs["kubeconfig"])
    assert kubeconfig["kind"] == "Config", "the base64 kubeconfig is decoded"
    args = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--login") + 1] == "azurecli", "non-interactive by default: device code blocks pulumi up"
    assert outputs["oidcIssuerUrl"].startswith("https://")
    assert outputs["kubeletIdentityObjectId"] and outputs["nodeResourceGroup"]
    assert outputs["storageClass"]["parameters"]["diskEncryptionSetID"] == outputs["diskEncryptionSetId"]


def test_kubeconfig_output_is_marked_secret(run) -> None:
    holder = {}

    def program() -> None:
        holder["cluster"] = AzureGpuCluster("gpu", cluster_args())

    run(program)
    assert _sync_await(holder["cluster"].kubeconfig.is_secret()), "kubeconfig must never be printed in plain text"


def test_protect_covers_the_workspace_disk_encryption_set_and_identity(run) -> None:
    recorder = run(_cluster(protect=True))
    for type_token in (
        "azure-native:operationalinsights:Workspace",
        "azure-native:compute:DiskEncryptionSet",
        "azure-native:managedidentity:UserAssignedIdentity",
    ):
        registration = recorder.one(type_token)
        assert registration.protect and registration.retain_on_delete, f"{type_token} must survive a destroy"


def test_bad_cluster_args_are_rejected_with_paths_before_anything_is_created(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _cluster(
            private_cluster=False,
            authorized_ip_ranges=["0.0.0.0/0"],
            admin_group_object_ids=["admins"],
            vnet_address_space="172.16.0.0/12",
            log_retention_days=3650,
            gpu_node_pools=[
                {"name": "GPU-Pool", "vm_size": "Standard_D4s_v5", "min_count": 3, "max_count": 1},
                {"name": "t4", "vm_size": "Standard_NC4as_T4_v3", "zones": ["4"], "extra_taints": ["bad"]},
            ],
        ),
    )
    assert set(problems) == {
        "authorizedIpRanges[0]",
        "adminGroupObjectIds[0]",
        "serviceCidr",
        "logRetentionDays",
        "gpuNodePools[0].name",
        "gpuNodePools[0].vmSize",
        "gpuNodePools[0].maxCount",
        "gpuNodePools[1].zones[0]",
        "gpuNodePools[1].extraTaints[0]",
    }, problems


def test_a_public_cluster_without_authorized_ranges_is_rejected(run, recorder) -> None:
    problems = rejected(run, recorder, _cluster(private_cluster=False, admin_group_object_ids=[]))
    assert "authorizedIpRanges" in problems and "adminGroupObjectIds" in problems, problems


DEPLOYER = "44444444-4444-4444-4444-444444444444"
TEAM_A = "55555555-5555-5555-5555-555555555555"
TEAM_B = "66666666-6666-6666-6666-666666666666"
HUB_VNET = f"{SUB}/Microsoft.Network/virtualNetworks/hub"
RUNNER_VNET = f"{SUB}/Microsoft.Network/virtualNetworks/runners"
LINK = "azure-native:privatedns:VirtualNetworkLink"


def _api_consumer(**overrides):
    """A cluster and a resource that waits for its `api_prerequisites`, as the Kubernetes provider does."""

    def program() -> None:
        cluster = AzureGpuCluster("gpu", cluster_args(**overrides))
        pulumi.CustomResource(
            "test:index:Consumer", "consumer", {}, opts=pulumi.ResourceOptions(depends_on=cluster.api_prerequisites)
        )

    return program


@pytest.mark.parametrize("mode", ["azurecli", "workloadidentity", "spn", "msi"])
def test_the_kubeconfig_logs_in_with_the_chosen_non_interactive_mode(run, mode) -> None:
    kubeconfig = yaml.safe_load(run(_cluster(kubelogin_mode=mode)).one(COMPONENT).outputs["kubeconfig"])
    args = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--login") + 1] == mode
    assert "devicecode" not in args and "--server-id" in args, "the AKS server ID stays, the device code goes"


def test_run_command_stays_disabled_unless_the_stack_opts_into_the_break_glass(run) -> None:
    access = run(_cluster()).one(CLUSTER).inputs["apiServerAccessProfile"]
    assert access["disableRunCommand"] is True, "run-command reaches a private API server from anywhere"


def test_run_command_can_be_enabled_as_a_documented_break_glass(run) -> None:
    access = run(_cluster(run_command=True)).one(CLUSTER).inputs["apiServerAccessProfile"]
    assert access["disableRunCommand"] is False


def test_the_deployer_gets_no_admin_grant_unless_asked(run) -> None:
    recorder = run(_cluster())
    assert not [r for r in recorder.by_type(ROLE) if "deployer" in r.name], "the deployer grant is opt-in"


def test_the_deploying_identity_becomes_cluster_admin_when_asked_as_on_eks(run) -> None:
    recorder = run(_api_consumer(grant_deployer_admin=True))
    deployer = [r for r in recorder.by_type(ROLE) if "deployer" in r.name]
    assert {r.inputs["roleDefinitionId"].rsplit("/", 1)[1] for r in deployer} == {
        AKS_RBAC_CLUSTER_ADMIN,
        AKS_CLUSTER_USER,
    }, "admin inside the cluster, and the right to fetch its kubeconfig"
    for grant in deployer:
        assert grant.inputs["principalId"] == "offline-object", "defaults to the identity running Pulumi"
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert grant.property_dependencies["scope"] == [recorder.one(CLUSTER).urn], "this cluster only"
        assert grant.urn in recorder.one("test:index:Consumer").dependencies, "the Kubernetes layer needs it first"


def test_an_explicit_deployer_keeps_its_principal_type(run) -> None:
    recorder = run(_cluster(grant_deployer_admin=True, deployer_principal_id=DEPLOYER, deployer_principal_type="User"))
    deployer = [r for r in recorder.by_type(ROLE) if "deployer" in r.name]
    assert len(deployer) == 2
    assert {(r.inputs["principalId"], r.inputs["principalType"]) for r in deployer} == {(DEPLOYER, "User")}


def test_a_deployer_group_that_is_already_an_admin_group_is_not_granted_twice(run) -> None:
    recorder = run(
        _cluster(grant_deployer_admin=True, deployer_principal_id=ADMIN_GROUP, deployer_principal_type="Group")
    )
    for role_id in (AKS_RBAC_CLUSTER_ADMIN, AKS_CLUSTER_USER):
        principals = [r.inputs["principalId"] for r in _roles(recorder, role_id)]
        assert principals == [ADMIN_GROUP], f"Azure rejects a second identical assignment: {principals}"


def test_team_groups_can_fetch_the_kubeconfig_once_each_and_keep_nothing_waiting(run) -> None:
    recorder = run(_api_consumer(team_group_object_ids=[TEAM_A, TEAM_B, TEAM_A.upper(), ADMIN_GROUP]))
    users = {r.inputs["principalId"].lower(): r for r in _roles(recorder, AKS_CLUSTER_USER)}
    assert set(users) == {ADMIN_GROUP, TEAM_A, TEAM_B}, "one Cluster User Role per group, admins included once"
    assert len(_roles(recorder, AKS_CLUSTER_USER)) == 3, "duplicates and admin groups are granted once"
    assert not [r for r in _roles(recorder, AKS_RBAC_CLUSTER_ADMIN) if r.inputs["principalId"] in (TEAM_A, TEAM_B)], (
        "teams get no Azure admin role: their namespace rights are Kubernetes RoleBindings to the group"
    )
    waits = set(recorder.one("test:index:Consumer").dependencies)
    for team in (TEAM_A, TEAM_B):
        assert users[team].inputs["principalType"] == "Group"
        assert users[team].property_dependencies["scope"] == [recorder.one(CLUSTER).urn]
        assert users[team].urn not in waits, "the deployer does not wait for team grants"


def test_access_grants_are_deduplicated_per_principal_and_role() -> None:
    grants = cluster_access_grants([ADMIN_GROUP], [TEAM_A, DEPLOYER, TEAM_A], (DEPLOYER, "Group"))
    pairs = [(grant.principal_id.lower(), grant.role) for grant in grants]
    assert len(pairs) == len(set(pairs)), pairs
    assert (DEPLOYER, AKS_CLUSTER_USER) in pairs and (TEAM_A, AKS_CLUSTER_USER) in pairs
    assert [grant.suffix for grant in grants if grant.api_access] == [
        "admins-0-rbac-admin",
        "admins-0-cluster-user",
        "deployer-rbac-admin",
        "deployer-cluster-user",
    ], "admin grant names are unchanged for existing stacks; team grants keep nothing waiting"


def test_the_private_dns_zone_is_the_private_fqdn_without_its_host_label() -> None:
    assert (
        private_dns_zone_name("gpu-abc123.0f1e2d3c.privatelink.westeurope.azmk8s.io")
        == "0f1e2d3c.privatelink.westeurope.azmk8s.io"
    )
    with pytest.raises(ValueError, match="private cluster FQDN"):
        private_dns_zone_name("localhost")


def test_deployer_vnets_are_linked_to_the_aks_private_dns_zone_before_the_api_is_used(run) -> None:
    recorder = run(_api_consumer(deployer_virtual_network_ids=[HUB_VNET, RUNNER_VNET]))
    links = recorder.by_type(LINK)
    assert {link.name: link.inputs["virtualNetwork"]["id"] for link in links} == {
        "gpu-deployer-dns-0": HUB_VNET,
        "gpu-deployer-dns-1": RUNNER_VNET,
    }
    cluster = recorder.one(CLUSTER)
    outputs = recorder.one(COMPONENT).outputs
    for link in links:
        assert link.inputs["registrationEnabled"] is False, "the deployer's VMs must not write into the AKS zone"
        assert link.inputs["location"] == "global"
        assert link.inputs["resourceGroupName"] == outputs["nodeResourceGroup"], "AKS keeps the zone there"
        assert link.inputs["privateZoneName"] == private_dns_zone_name(outputs["privateFqdn"])
        assert set(link.property_dependencies["privateZoneName"]) == {cluster.urn}
        assert link.urn in recorder.one("test:index:Consumer").dependencies, "resolution before the first API call"


def test_a_public_cluster_has_no_private_fqdn_to_link(run) -> None:
    recorder = run(_cluster(private_cluster=False, authorized_ip_ranges=["203.0.113.0/24"]))
    assert not recorder.by_type(LINK)
    assert recorder.one(COMPONENT).outputs.get("privateFqdn") is None


def test_bad_access_args_are_rejected_with_paths(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _cluster(
            private_cluster=False,
            authorized_ip_ranges=["203.0.113.0/24"],
            kubelogin_mode="devicecode",
            deployer_principal_id="ci",
            deployer_principal_type="Robot",
            team_group_object_ids=["vision-team"],
            deployer_virtual_network_ids=[HUB_VNET, "hub"],
            role_propagation_wait="soon",
        ),
    )
    assert set(problems) == {
        "kubeloginMode",
        "deployerPrincipalId",
        "deployerPrincipalType",
        "teamGroupObjectIds[0]",
        "deployerVirtualNetworkIds",
        "deployerVirtualNetworkIds[1]",
        "rolePropagationWait",
    }, problems


def test_a_group_deployer_must_be_named(run, recorder) -> None:
    problems = rejected(run, recorder, _cluster(grant_deployer_admin=True, deployer_principal_type="Group"))
    assert set(problems) == {"deployerPrincipalId"}, problems


def test_an_admin_group_listed_twice_is_rejected(run, recorder) -> None:
    problems = rejected(run, recorder, _cluster(admin_group_object_ids=[ADMIN_GROUP, ADMIN_GROUP.upper()]))
    assert set(problems) == {"adminGroupObjectIds"}, problems


# --- The platform pool and the autoscaler ---------------------------------------------------------------


def test_at_least_one_pool_is_untainted_so_the_kubernetes_layer_has_somewhere_to_run(run) -> None:
    """Review B1: a CriticalAddonsOnly system pool plus tainted GPU pools leave Prometheus, Grafana, the GPU
    operator, ECK, Elasticsearch and Kibana Pending; the untainted platform pool takes them."""
    recorder = run(_cluster())
    system = recorder.one(CLUSTER).inputs["agentPoolProfiles"][0]
    assert system["nodeTaints"] == [gpu.CRITICAL_ADDONS_TAINT.aks()], "the system pool keeps its taint"
    untainted = [pool.inputs["agentPoolName"] for pool in recorder.by_type(POOL) if not pool.inputs.get("nodeTaints")]
    assert untainted == [pools.PLATFORM_POOL_NAME], "exactly the platform pool accepts pods without tolerations"


def test_the_platform_pool_is_an_autoscaled_zonal_user_pool_labelled_for_selection(run) -> None:
    inputs = _platform_pool(run(_cluster(zones=["1", "2", "3"]))).inputs
    assert inputs["mode"] == "User", "a System pool would also take critical add-ons; this one is for workloads"
    assert inputs["availabilityZones"] == ["1", "2", "3"], "a node in every zone survives a zone outage"
    assert inputs["enableAutoScaling"] is True
    assert (inputs["minCount"], inputs["maxCount"]) == (3, 6), "one to two nodes per zone by default"
    assert inputs["nodeLabels"] == {pools.POOL_ROLE_LABEL: pools.PLATFORM_POOL_ROLE}, "workloads select it by label"
    assert gpu.azure_gpu_instance(inputs["vmSize"]) is None, "no GPUs on an untainted pool"


def test_the_platform_pool_size_is_per_zone(run) -> None:
    settings = platform_pool_settings(
        {"vm_size": "Standard_D8ds_v5", "min_count_per_zone": 2, "max_count_per_zone": 3, "os_disk_size_gb": 128},
        ["1", "2"],
    )
    assert (settings["min_count"], settings["max_count"], settings["count"]) == (4, 6, 4), (
        "AKS minCount/maxCount are pool totals: per zone times the zones"
    )
    assert settings["vm_size"] == "Standard_D8ds_v5" and settings["os_disk_size_gb"] == 128


def test_the_platform_pool_is_encrypted_like_every_other_pool(run) -> None:
    recorder = run(_cluster())
    platform = _platform_pool(recorder)
    for pool in _gpu_pools(recorder):
        for key in ("enableEncryptionAtHost", "osDiskType", "enableNodePublicIP", "vnetSubnetID"):
            assert platform.inputs[key] == pool.inputs[key], f"{key}: the platform pool is no weaker than {pool.name}"
    assert platform.inputs["enableEncryptionAtHost"] is True, "HIPAA-ENC-AKS-DISK: temp disks and caches too"
    cluster = recorder.one(CLUSTER)
    assert cluster.property_dependencies["diskEncryptionSetID"] == [
        recorder.one("azure-native:compute:DiskEncryptionSet").urn
    ], "the cluster-wide disk encryption set covers the OS disks of every pool, the platform pool's included"
    assert {"vmSize", "osDiskSizeGB", "availabilityZones", "enableEncryptionAtHost"} <= set(
        platform.replace_on_changes
    ), "AKS fixes these at creation: a change replaces the pool deliberately"
    assert platform.ignore_changes == ["count"], "the autoscaler owns the node count"


def test_the_platform_pool_precedes_the_gpu_pools_one_operation_at_a_time(run) -> None:
    recorder = run(_cluster())
    platform = _platform_pool(recorder)
    first_gpu_pool = _gpu_pools(recorder)[0]
    assert platform.urn in first_gpu_pool.dependencies, (
        "AKS accepts one agent-pool operation per cluster at a time: platform, then each GPU pool"
    )
    assert not set(platform.dependencies) & {pool.urn for pool in _gpu_pools(recorder)}, "nothing GPU comes first"


def test_the_autoscaler_picks_the_least_wasteful_pool_and_removes_idle_nodes_after_ten_minutes(run) -> None:
    profile = run(_cluster()).one(CLUSTER).inputs["autoScalerProfile"]
    assert profile["expander"] == "least-waste", (
        "review M7: AKS defaults to random, which may grow an A100 pool for a one-GPU serving pod"
    )
    assert profile["scaleDownUnneededTime"] == "10m", "an idle GPU node is removed after ten minutes"
    assert profile["scaleDownDelayAfterAdd"] == "10m"
    assert profile["ignoreDaemonsetsUtilization"] is True, (
        "a GPU node running only the node agents is idle; their requests must not keep it"
    )
    assert profile["skipNodesWithLocalStorage"] == "false", "a model server's emptyDir must not pin an idle node"
    assert autoscaler_profile({"expander": "most-pods"})["expander"] == "most-pods"


def test_the_priority_expander_grows_spot_before_regular_and_matches_each_pools_scale_set_only() -> None:
    gpu_pools = [
        {"name": "t4spot", "vm_size": "Standard_NC4as_T4_v3", "spot": True},
        {"name": "t4", "vm_size": "Standard_NC4as_T4_v3"},
        {"name": "a100", "vm_size": "Standard_NC24ads_A100_v4", "priority": 5},
    ]
    priorities = autoscaler_priorities(gpu_pools)  # type: ignore[arg-type]
    assert list(priorities) == sorted(priorities, reverse=True), "highest priority first"

    def priority_of(scale_set: str) -> int:
        # The expander picks the highest priority whose patterns match the node group (the VM scale set).
        return max(
            priority for priority, patterns in priorities.items() if any(re.match(p, scale_set) for p in patterns)
        )

    assert priority_of("aks-t4spot-12345678-vmss") > priority_of("aks-t4-12345678-vmss"), (
        "spot first, regular falls back"
    )
    assert priority_of("aks-a100-12345678-vmss") == 5, "an explicit priority is kept"
    assert priority_of("aks-platform-12345678-vmss") == 1, "every other pool stays growable, at the lowest priority"
    assert not re.match(node_group_pattern("t4"), "aks-t4spot-12345678-vmss"), "a pool's pattern matches only its own"


def test_bad_platform_pool_and_autoscaler_args_are_rejected_with_paths(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _cluster(
            platform_pool={
                "vm_size": "Standard_NC4as_T4_v3",
                "min_count_per_zone": 0,
                "max_count_per_zone": -1,
                "os_sku": "Windows",
            },
            autoscaler_profile={"expander": "largest", "scale_down_unneeded_time": "600s"},
            gpu_node_pools=[{"name": "platform", "vm_size": "Standard_NC4as_T4_v3"}],
        ),
    )
    assert set(problems) == {
        "platformPool.vmSize",
        "platformPool.minCountPerZone",
        "platformPool.maxCountPerZone",
        "platformPool.osSku",
        "autoscalerProfile.expander",
        "autoscalerProfile.scaleDownUnneededTime",
        "gpuNodePools[0].name",
    }, problems
    assert "GPU size" in problems["platformPool.vmSize"], "an untainted GPU pool would let any pod take the GPUs"


def test_a_workload_taint_labels_the_pool_so_training_jobs_can_select_it() -> None:
    training = gpu_pool_settings(
        {"name": "a100", "vm_size": "Standard_NC24ads_A100_v4", "extra_taints": ["workload=training:NoSchedule"]},
        ["1"],
    )
    assert "workload=training:NoSchedule" in training["node_taints"], "serving pods neither land on nor scale it"
    assert training["node_labels"][pools.WORKLOAD_LABEL] == "training", "derived from the taint (review M7)"
    serving = gpu_pool_settings({"name": "t4", "vm_size": "Standard_NC4as_T4_v3"}, ["1"])
    assert pools.WORKLOAD_LABEL not in serving["node_labels"], "no taint, no label"


def test_a_workload_label_that_contradicts_the_pool_s_taint_is_rejected(run, recorder) -> None:
    problems = rejected(
        run,
        recorder,
        _cluster(
            gpu_node_pools=[
                {"name": "t4", "vm_size": "Standard_NC4as_T4_v3", "labels": {pools.WORKLOAD_LABEL: "training"}}
            ]
        ),
    )
    assert list(problems) == [f"gpuNodePools[0].labels.{pools.WORKLOAD_LABEL}"], problems
