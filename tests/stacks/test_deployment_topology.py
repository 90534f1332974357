"""Every stack says where its Kubernetes layer is deployed from, and only combinations that can work validate.

A private API server answers only inside its network, so the layer is installed either by a deployer declared
inside that network, or by a cluster-layer stack that reads the foundation through a StackReference and runs
there. The split must produce the same Kubernetes layer as one stack would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import load
from stacks.config import KubernetesTarget, PlatformConfig
from stacks.load import (
    FULL_KEY,
    PlatformConfigError,
    check_against_foundation,
    platform_config_from_stack_file,
    validate_platform_config,
)
from stacks.synth import PROJECT_ROOT, Synthesis, stack_names, synthesize, synthesize_whole, whole_platform_config

SPLIT_ENVIRONMENTS = {"prod": "prod-cluster", "azure-prod": "azure-prod-cluster"}

PRIVATE_DEV: dict[str, Any] = {
    "environment": "dev",
    "target": {"cloud": "aws", "region": "eu-central-1"},
}
AZURE_FOUNDATION: dict[str, Any] = {
    "environment": "prod",
    "target": {"cloud": "azure", "location": "westeurope"},
    "network": {"cidr": "10.40.0.0/16"},
    # AKS disables local accounts: without an Entra admin group AzureGpuCluster refuses the cluster at preview.
    "cluster": {"adminPrincipals": ["9d3c2b1a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"]},
    "deployment": {
        "kubernetesLayer": "clusterStack",
        "deployer": {
            "principal": "5b6f2d1e-8c3a-4f1b-9e2d-7a6c5b4d3e21",
            "network": {
                "cidrs": ["10.100.8.0/24"],
                "virtualNetworkIds": [
                    "/subscriptions/9d1c7e3a-2b4f-4c6d-8e0a-1f2b3c4d5e6f/resourceGroups/hub/providers/"
                    "Microsoft.Network/virtualNetworks/runners"
                ],
            },
        },
    },
}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PlatformConfigError) as caught:
        validate_platform_config(data)
    return caught.value.problems


def stack_config(stack: str) -> PlatformConfig:
    return platform_config_from_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")


def changed(data: dict[str, Any], **sections: Any) -> dict[str, Any]:
    result = copy.deepcopy(data)
    result.update(sections)
    return result


# --- Every shipped stack -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names())
def test_every_shipped_stack_can_reach_the_api_server_it_deploys_into(stack: str) -> None:
    config = stack_config(stack)
    if isinstance(config.target, KubernetesTarget):
        if config.foundation is None:
            assert config.target.kubeconfig_context, f"{stack}: an existing cluster is reached by its context"
            return
        foundation = check_against_foundation(config, PROJECT_ROOT, stack)
        assert foundation is not None, f"{stack}: its foundation {config.foundation.stack} is a stack of this project"
        assert foundation.deployment.kubernetes_layer == "clusterStack"
        assert foundation.deployment.deployer.network.declared and foundation.deployment.deployer.principal, (
            f"{stack}: the foundation declares the network and the identity of the runner that deploys this layer"
        )
        assert config.deployment.deployer.runner_label, f"{stack}: CI knows which in-network runner deploys it"
        return
    endpoint = config.cluster.endpoint
    deployer = config.deployment.deployer
    if config.deployment.kubernetes_layer == "thisStack":
        reachable = (endpoint.public_access and endpoint.public_access_cidrs) or deployer.network.declared
        assert reachable, f"{stack}: installs its layer, so `pulumi up` must reach the API server"
    if endpoint.public_access:
        assert all(cidr.prefixlen > 0 for cidr in endpoint.public_access_cidrs), f"{stack}: never 0.0.0.0/0"
        assert config.environment == "dev", f"{stack}: only dev may have a public API endpoint"


@pytest.mark.parametrize(("foundation", "layer"), SPLIT_ENVIRONMENTS.items())
def test_prod_environments_ship_as_a_foundation_and_a_cluster_layer_stack(foundation: str, layer: str) -> None:
    foundation_config, layer_config = stack_config(foundation), stack_config(layer)
    assert foundation_config.deployment.kubernetes_layer == "clusterStack"
    assert not foundation_config.cluster.endpoint.public_access, f"{foundation}: the API server is private"
    assert layer_config.foundation is not None and layer_config.foundation.stack_name == foundation, (
        f"{layer} reads {foundation} through its StackReference"
    )


def test_dev_is_one_stack_whose_public_endpoint_answers_only_the_listed_networks() -> None:
    dev = stack_config("dev")
    assert dev.cluster.endpoint.public_access and dev.cluster.endpoint.public_access_cidrs, (
        "dev's header promises a public API for the team's VPN: the file must say so"
    )
    assert dev.deployment.kubernetes_layer == "thisStack"
    cluster = next(r for r in synthesize("dev").registrations if r.type == "aws:eks/cluster:Cluster")
    vpc = cluster.inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.10/32"], (
        "the synthesized cluster has the public endpoint the stack file asks for, limited to its CIDRs"
    )


# --- Combinations that cannot work are refused, naming the keys ------------------------------------------


def test_a_private_cluster_installing_its_layer_without_an_in_network_deployer_is_refused() -> None:
    problems = problems_of(PRIVATE_DEV)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.startswith(f"{FULL_KEY}.deployment.kubernetesLayer:"), problem
    for key in ("kubernetesLayer: clusterStack", "deployment.deployer.network", "cluster.endpoint.publicAccess"):
        assert key in problem, f"the message names {key}: {problem}"


def test_the_same_private_cluster_validates_with_a_declared_deployer_network() -> None:
    config = validate_platform_config(
        changed(PRIVATE_DEV, deployment={"deployer": {"network": {"cidrs": ["10.0.128.0/24"]}}})
    )
    assert config.deployment.kubernetes_layer == "thisStack"


def test_a_foundation_of_a_private_cluster_needs_the_runner_network_and_identity() -> None:
    problems = problems_of(changed(PRIVATE_DEV, deployment={"kubernetesLayer": "clusterStack"}))
    assert any(p.startswith(f"{FULL_KEY}.deployment.deployer.network:") for p in problems), problems
    assert any(p.startswith(f"{FULL_KEY}.deployment.deployer.principal:") for p in problems), problems


def test_prod_gives_cluster_admin_to_a_configured_principal_not_to_whoever_runs_up() -> None:
    data = changed(PRIVATE_DEV, environment="prod", deployment={"deployer": {"network": {"cidrs": ["10.0.128.0/24"]}}})
    problems = problems_of(data)
    assert problems == [
        f"{FULL_KEY}.deployment.deployer.principal: prod gives cluster-admin to a configured, stable principal "
        "(the CI role), not to whoever runs `pulumi up` last: set deployment.deployer.principal, or "
        "cluster.deployerAdminAccess: false when the deployer is one of cluster.adminPrincipals"
    ]
    data["cluster"] = {"deployerAdminAccess": False, "adminPrincipals": ["arn:aws:iam::210987654321:role/ci"]}
    assert validate_platform_config(data).environment == "prod", "an admin principal may be the deployer"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_refuse_a_public_api_endpoint(environment: str) -> None:
    data = changed(
        PRIVATE_DEV,
        environment=environment,
        cluster={"endpoint": {"publicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]}},
        deployment={"deployer": {"principal": "arn:aws:iam::210987654321:role/ci"}},
    )
    assert any(p.startswith(f"{FULL_KEY}.cluster.endpoint.publicAccess:") for p in problems_of(data))


@pytest.mark.parametrize(
    ("network", "key", "fragment"),
    [
        ({"cidrs": ["0.0.0.0/0"]}, "deployment.deployer.network.cidrs[0]", "not a private range"),
        ({"cidrs": ["52.94.0.0/22"]}, "deployment.deployer.network.cidrs[0]", "not a private range"),
        (
            {"cidrs": ["10.0.4.0/24"], "transitGatewayId": "tgw-0a1b2c3d4e5f60718"},
            "deployment.deployer.network.cidrs[0]",
            "overlaps network.cidr",
        ),
        (
            {"transitGatewayId": "tgw-0a1b2c3d4e5f60718", "securityGroupIds": ["sg-0a1b2c3d"]},
            "deployment.deployer.network.cidrs",
            "required with transitGatewayId",
        ),
        ({"securityGroupIds": ["default"]}, "deployment.deployer.network.securityGroupIds[0]", "not a security group"),
        (
            {"cidrs": ["10.100.0.0/24"], "virtualNetworkIds": ["/subscriptions/x/vnet"]},
            "deployment.deployer.network.virtualNetworkIds",
            "not used on aws",
        ),
    ],
)
def test_a_deployer_network_that_cannot_work_is_refused(network: dict[str, Any], key: str, fragment: str) -> None:
    problems = problems_of(changed(PRIVATE_DEV, deployment={"deployer": {"network": network}}))
    assert any(p.startswith(f"{FULL_KEY}.{key}:") and fragment in p for p in problems), problems


def test_azure_principals_and_team_groups_are_entra_object_ids() -> None:
    data = changed(
        AZURE_FOUNDATION,
        cluster={"adminPrincipals": ["platform-admins"]},
        serving={"namespaces": [{"name": "triage", "teamGroup": "ml-triage"}]},
    )
    data["deployment"]["deployer"]["principal"] = "ci-runner"
    problems = problems_of(data)
    for key in ("cluster.adminPrincipals[0]", "deployment.deployer.principal", "serving.namespaces[0].teamGroup"):
        assert any(p.startswith(f"{FULL_KEY}.{key}:") for p in problems), f"{key} must be a GUID: {problems}"


def test_a_valid_azure_foundation_validates() -> None:
    config = validate_platform_config(AZURE_FOUNDATION)
    assert config.deployment.deployer.network.virtual_network_ids


# --- Cluster-layer stacks -------------------------------------------------------------------------------

LAYER: dict[str, Any] = {
    "environment": "prod",
    "target": {"cloud": "kubernetes", "foundation": {"stack": "organization/mlplatform/prod", "cloud": "aws"}},
}


def test_a_cluster_layer_stack_reads_its_cluster_from_the_foundation_only() -> None:
    data = copy.deepcopy(LAYER)
    data["target"]["kubeconfigContext"] = "prod-admin"
    data["target"]["storageClass"] = "gp3"
    problems = problems_of(data)
    for key in ("target.kubeconfigContext", "target.storageClass"):
        assert any(p.startswith(f"{FULL_KEY}.{key}:") for p in problems), f"{key} is the foundation's: {problems}"
    sections = changed(LAYER, cluster={"systemPool": {"minSize": 3}}, network={"cidr": "10.1.0.0/16"})
    problems = problems_of(sections)
    for key in ("cluster", "network"):
        assert any(p.startswith(f"{FULL_KEY}.{key}: belongs to the foundation") for p in problems), problems


@pytest.mark.parametrize("name", ["prod", "mlplatform/prod", "org/mlplatform/prod/extra"])
def test_the_foundation_is_named_by_its_fully_qualified_stack_name(name: str) -> None:
    data = copy.deepcopy(LAYER)
    data["target"]["foundation"]["stack"] = name
    assert any("fully qualified stack name" in p for p in problems_of(data))


def _layer_project(tmp_path: Path, layer_changes: dict[str, Any]) -> Path:
    for stack in ("prod", "prod-cluster"):
        document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
        if stack == "prod-cluster":
            document["config"][FULL_KEY].update(layer_changes)
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return tmp_path


def test_a_cluster_layer_that_disagrees_with_its_foundation_is_refused_before_anything_registers(
    tmp_path: Path,
) -> None:
    namespaces = {
        "namespaces": [
            {"name": "fraud-detection", "teamGroup": "ml-fraud"},
            {"name": "search", "teamGroup": "ml-search"},
        ]
    }
    project = _layer_project(tmp_path, {"serving": namespaces})
    with pytest.raises(PlatformConfigError) as caught:
        synthesize("prod-cluster", project, program=PROJECT_ROOT / "__main__.py")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{FULL_KEY}.serving.namespaces: differs from Pulumi.prod.yaml"), problem


def test_validate_reports_a_layer_that_disagrees_with_its_foundation(tmp_path: Path) -> None:
    project = _layer_project(tmp_path, {"environment": "staging"})
    config = platform_config_from_stack_file(project / "Pulumi.prod-cluster.yaml")
    with pytest.raises(PlatformConfigError) as caught:
        check_against_foundation(config, project, "prod-cluster")
    assert any(p.startswith(f"{FULL_KEY}.environment: differs") for p in caught.value.problems)


def _kubernetes_layer(synthesis: Synthesis) -> dict[tuple[str, str], str]:
    """Every Kubernetes object and chart by (type, name), with its inputs as canonical JSON."""
    return {
        (registration.type, registration.name): json.dumps(registration.inputs, sort_keys=True, default=str)
        for registration in synthesis.registrations
        if registration.type.startswith("kubernetes:") and registration.type != "pulumi:providers:kubernetes"
    }


@pytest.mark.parametrize(("foundation", "layer"), SPLIT_ENVIRONMENTS.items())
def test_the_cluster_layer_stack_builds_the_same_kubernetes_layer_as_one_stack(foundation: str, layer: str) -> None:
    split = _kubernetes_layer(synthesize(layer))
    whole = _kubernetes_layer(synthesize_whole(foundation))
    assert split, f"{layer} installs the Kubernetes layer"
    assert split.keys() == whole.keys(), (
        f"the same objects and charts: only in {layer}: {sorted(split.keys() - whole.keys())[:5]}, "
        f"only in one stack: {sorted(whole.keys() - split.keys())[:5]}"
    )
    different = [key for key in split if split[key] != whole[key]]
    assert not different, f"the same inputs (identities, storage class, labels): {different[:5]} differ"


@pytest.mark.parametrize(("foundation", "layer"), SPLIT_ENVIRONMENTS.items())
def test_a_foundation_registers_no_kubernetes_resource_and_exports_what_its_layer_reads(
    foundation: str, layer: str
) -> None:
    synthesis = synthesize(foundation)
    kubernetes = [r.name for r in synthesis.registrations if r.type.startswith(("kubernetes:", "pulumi:providers:k"))]
    assert not kubernetes, f"{foundation} is deployed from outside the network: no Kubernetes calls ({kubernetes})"
    for key in ("kubeconfig", "oidcIssuerUrl", "storageClass", "servingIdentities"):
        assert synthesis.outputs.get(key), f"{foundation} exports {key}, which {layer} reads"
    assert "kubeconfig" in synthesis.secret_outputs, "the kubeconfig stays a secret output"


@pytest.mark.parametrize(("foundation", "layer"), SPLIT_ENVIRONMENTS.items())
def test_the_cluster_layer_talks_to_the_foundations_cluster_through_a_stack_reference(
    foundation: str, layer: str
) -> None:
    synthesis = synthesize(layer)
    assert synthesis.outputs["foundationStack"] == f"organization/mlplatform/{foundation}"
    (provider,) = [r for r in synthesis.registrations if r.type == "pulumi:providers:kubernetes"]
    whole_provider = next(r for r in synthesize_whole(foundation).registrations if r.type == provider.type)
    assert provider.name == whole_provider.name, "the provider keeps its one-stack name (same URNs in the layer)"
    assert provider.inputs["kubeconfig"] == whole_provider.inputs["kubeconfig"], (
        "the kubeconfig the layer gets from the foundation is the one the cluster produced"
    )
    for key in ("servingIdentities", "oidcIssuerUrl"):
        assert synthesis.outputs.get(key), f"{layer} exports {key} again for team programs"


# --- Example values never reach the cloud ---------------------------------------------------------------


class _Config:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, key: str) -> str:
        return json.dumps(self.data)


@pytest.mark.parametrize("stack", ["dev", "prod", "azure-prod"])
def test_a_real_run_refuses_the_example_values_of_the_shipped_stack_files(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_offline", lambda: False)
    raw = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"][FULL_KEY]
    with pytest.raises(PlatformConfigError) as caught:
        load.load_platform_config(_Config(raw))  # type: ignore[arg-type]
    expected = {key for key, _ in stack_config(stack).placeholders()}
    named = {problem.split(": ", 1)[0].removeprefix(f"{FULL_KEY}.") for problem in caught.value.problems}
    assert named == expected and expected, f"{stack}: every example value is named, with what to put there"


def test_the_shipped_examples_are_the_principals_cidrs_and_ids_a_team_must_replace() -> None:
    assert {key for key, _ in stack_config("prod").placeholders()} == {
        "cluster.adminPrincipals[0]",
        "deployment.deployer.principal",
        "deployment.deployer.network.transitGatewayId",
        "serving.namespaces[0].teamPrincipals[0]",
        "serving.namespaces[1].teamPrincipals[0]",
    }
    assert [key for key, _ in stack_config("dev").placeholders()] == ["cluster.endpoint.publicAccessCidrs[0]"]


def test_a_real_run_accepts_real_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "_offline", lambda: False)
    data = changed(
        PRIVATE_DEV,
        cluster={"endpoint": {"publicAccess": True, "publicAccessCidrs": ["84.17.32.9/32"]}},
    )
    assert load.load_platform_config(_Config(data)).cloud == "aws"  # type: ignore[arg-type]


def test_offline_synthesis_is_recognised_as_offline() -> None:
    synthesis = synthesize("dev")
    assert synthesis.outputs["cloud"] == "aws", "the shipped dev stack with its example CIDR synthesizes offline"


def test_the_whole_platform_config_merges_the_layer_into_its_foundation() -> None:
    whole = validate_platform_config(whole_platform_config("prod")[FULL_KEY])
    assert whole.deployment.kubernetes_layer == "thisStack"
    assert whole.monitoring.prometheus.volume_size == "200Gi", "the layer's monitoring settings"
    assert [n.quota.gpu for n in whole.serving.namespaces] == [4, 2], "the layer's quotas"
    assert whole.serving.namespaces[0].team_principals, "the foundation's team principals"


# --- Who can reach and call the API server, on the synthesized prod foundation ------------------------------


@pytest.fixture(scope="module")
def prod_foundation() -> Synthesis:
    return synthesize("prod")


def test_every_principal_of_prod_has_exactly_one_eks_access_entry(prod_foundation: Synthesis) -> None:
    every = [r for r in prod_foundation.registrations if r.type == "aws:eks/accessEntry:AccessEntry"]
    assert len({r.inputs["principalArn"] for r in every}) == len(every), "a second entry for one principal fails (409)"
    # People and pipelines; the Karpenter node role's EC2_LINUX entry lets its nodes join, and grants no one access.
    entries = [r.inputs["principalArn"] for r in every if r.inputs.get("type", "STANDARD") == "STANDARD"]
    config = stack_config("prod")
    expected = {
        *config.cluster.admin_principals,
        config.deployment.deployer.principal,
        *(p for namespace in config.serving.namespaces for p in namespace.team_principals),
        *(p for namespace in config.training.namespaces for p in namespace.team_principals),
    }
    assert set(entries) == expected, "admins, the configured deployer and the teams; never whoever ran `up` last"


def test_eks_team_principals_are_mapped_to_their_namespace_group(prod_foundation: Synthesis) -> None:
    config = stack_config("prod")
    groups = {
        r.inputs["principalArn"]: r.inputs.get("kubernetesGroups")
        for r in prod_foundation.registrations
        if r.type == "aws:eks/accessEntry:AccessEntry"
    }
    for namespace in config.serving.namespaces:
        for principal in namespace.team_principals:
            assert groups[principal] == [namespace.team_group], (
                f"{principal} is in the Kubernetes group {namespace.team_group}, which the RoleBinding of "
                f"{namespace.name} names; without it the binding never applies"
            )
    associated = {
        r.inputs["principalArn"]
        for r in prod_foundation.registrations
        if r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    }
    assert not associated & {p for n in config.serving.namespaces for p in n.team_principals}, (
        "teams get no cluster-wide access policy: their rights are the namespace RoleBinding"
    )


def test_only_the_in_network_deployer_reaches_the_private_endpoint_and_only_on_443(prod_foundation: Synthesis) -> None:
    rules = [
        r.inputs
        for r in prod_foundation.registrations
        if r.type.endswith("securityGroupIngressRule:SecurityGroupIngressRule") and r.inputs.get("cidrIpv4")
    ]
    assert rules, "the cluster security group admits the declared deployer network"
    assert {(rule.get("cidrIpv4"), rule["fromPort"], rule["toPort"], rule["ipProtocol"]) for rule in rules} == {
        ("10.100.8.0/24", 443, 443, "tcp")
    }
    cluster = next(r for r in prod_foundation.registrations if r.type == "aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False


def test_replies_to_the_deployer_route_through_the_transit_gateway(prod_foundation: Synthesis) -> None:
    attachments = [r for r in prod_foundation.registrations if r.type.endswith("vpcAttachment:VpcAttachment")]
    assert [a.inputs["transitGatewayId"] for a in attachments] == ["tgw-0123456789abcdef0"]
    private_tables = [
        r for r in prod_foundation.registrations if r.type == "aws:ec2/routeTable:RouteTable" and "private" in r.name
    ]
    assert private_tables
    for table in private_tables:
        destinations = {route.get("cidrBlock") for route in table.inputs.get("routes", [])}
        assert "10.100.8.0/24" in destinations, f"{table.name} routes the runner subnet back to the transit gateway"


# --- Azure: non-interactive sign-in, grants and waits, on the synthesized azure-prod ------------------------


@pytest.fixture(scope="module")
def azure_whole() -> Synthesis:
    return synthesize_whole("azure-prod")


def test_the_aks_kubeconfig_signs_in_without_a_person() -> None:
    kubeconfig = yaml.safe_load(synthesize("azure-prod").outputs["kubeconfig"])
    for user in kubeconfig["users"]:
        args = user["user"]["exec"]["args"]
        assert args[args.index("--login") + 1] == "azurecli", "the mode the stack file names (azurecli by default)"
        assert not {"devicecode", "interactive", "ropc"} & set(args), f"no interactive login: {args}"


def test_every_azure_role_assignment_a_later_resource_relies_on_is_waited_for(azure_whole: Synthesis) -> None:
    """A grant is enforced up to 10 minutes after it exists: whatever waits for one also waits for its Sleep."""
    by_urn = {r.urn: r for r in azure_whole.registrations}

    def upstream(start: str) -> set[str]:
        seen: set[str] = set()
        pending = [start]
        while pending:
            registration = by_urn[pending.pop()]
            edges = [*registration.dependencies, *(u for us in registration.property_dependencies.values() for u in us)]
            for urn in edges:
                if urn in by_urn and urn not in seen:
                    seen.add(urn)
                    pending.append(urn)
        return seen

    grants = {r.urn for r in azure_whole.registrations if r.type == "azure-native:authorization:RoleAssignment"}
    relied_on: dict[str, list[str]] = {}
    for registration in azure_whole.registrations:
        if registration.type.startswith(("mlplatform:", "pulumi:", "time:")):
            continue
        direct = {*registration.dependencies, *(u for us in registration.property_dependencies.values() for u in us)}
        for grant in direct & grants:
            relied_on.setdefault(grant, []).append(registration.urn)
    assert relied_on, "the cluster, storage, registry and the Kubernetes API rely on grants"
    sleeps = [r for r in azure_whole.registrations if r.type == "time:index/sleep:Sleep"]
    for grant, consumers in relied_on.items():
        covering = {s.urn for s in sleeps if grant in s.property_dependencies.get("triggers", [])}
        for consumer in consumers:
            assert upstream(consumer) & covering, (
                f"{by_urn[consumer].name} relies on {by_urn[grant].name} without waiting for its propagation"
            )
    provider = next(r for r in azure_whole.registrations if r.type == "pulumi:providers:kubernetes")
    api_sleeps = {s.urn for s in sleeps if "api-access" in s.name}
    assert upstream(provider.urn) & api_sleeps, "the Kubernetes layer waits until the deployer's grants apply"


def test_azure_prod_grants_the_deployer_teams_and_runner_network_exactly_what_they_need(
    azure_whole: Synthesis,
) -> None:
    config = stack_config("azure-prod")
    assignments = [r for r in azure_whole.registrations if r.type == "azure-native:authorization:RoleAssignment"]
    on_cluster = [a for a in assignments if "managedClusters" in str(a.inputs.get("scope", ""))]
    roles = {}
    for assignment in on_cluster:
        roles.setdefault(assignment.inputs["principalId"], set()).add(
            assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        )
    cluster_admin, cluster_user = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
    assert roles[config.deployment.deployer.principal] == {cluster_admin, cluster_user}, "the runner's identity"
    assert roles[config.serving.namespaces[0].team_group] == {cluster_user}, (
        "the team fetches credentials; its rights in the namespace come from the RoleBinding"
    )
    links = [r for r in azure_whole.registrations if r.type == "azure-native:privatedns:VirtualNetworkLink"]
    hub = config.deployment.deployer.network.virtual_network_ids[0]
    linked = {link.inputs.get("privateZoneName") for link in links if link.inputs["virtualNetwork"]["id"] == hub}
    assert any(str(zone).endswith(".azmk8s.io") for zone in linked), "the API server's name resolves in the hub"
    assert len(linked) == 5, "and so do the vault, registry, blob and tracking database endpoints the runner uses"
    nsgs = [r for r in azure_whole.registrations if r.type == "azure-native:network:NetworkSecurityGroup"]
    allows = [
        rule
        for nsg in nsgs
        for rule in nsg.inputs.get("securityRules", [])
        if rule.get("access") == "Allow" and "10.100.8.0/24" in (rule.get("sourceAddressPrefixes") or [])
    ]
    assert [(rule["destinationPortRange"], rule["protocol"]) for rule in allows] == [("443", "Tcp")], (
        "the runner subnet reaches the API server subnet on HTTPS only"
    )
