"""The consuming examples run under offline synthesis and deploy compliant workloads."""

from __future__ import annotations

import pytest

from policies.replay import in_process, replay
from stacks.deployability import check_deployability
from stacks.synth import PROJECT_ROOT, Synthesis, pulumi_config_for, synthesize

EXAMPLES = PROJECT_ROOT / "examples"


@pytest.fixture(scope="module")
def platform_dev() -> Synthesis:
    return synthesize("dev")


@pytest.fixture(scope="module")
def team_model(platform_dev: Synthesis) -> Synthesis:
    return synthesize(
        "dev", project_dir=EXAMPLES / "team-model", stack_outputs={"acme/mlplatform/dev": platform_dev.outputs}
    )


def test_the_team_program_pushes_to_the_platform_registry_and_deploys_by_digest(
    team_model: Synthesis, platform_dev: Synthesis
) -> None:
    image = team_model.monitor.one("docker:index/image:Image")
    repository = platform_dev.outputs["registryRepositoryUrls"]["models"]
    assert image.inputs["imageName"] == f"{repository}:fraud-2026.11.1", "the image goes to the platform's ECR"
    deployment = team_model.monitor.one("kubernetes:apps/v1:Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert deployment.inputs["metadata"]["namespace"] == "fraud-detection", "it lands in the team's namespace"
    assert pod["serviceAccountName"] == "model-server", "it runs as the namespace's identity-bound account"
    assert pod["containers"][0]["image"] == f"{repository}@sha256:{'0' * 64}", "serving pins the pushed digest"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


@pytest.fixture(scope="module")
def team_canary(platform_dev: Synthesis) -> Synthesis:
    return synthesize(
        "canary", project_dir=EXAMPLES / "team-model", stack_outputs={"acme/mlplatform/dev": platform_dev.outputs}
    )


def test_the_team_program_exposes_its_stable_version_on_the_platform_gateway(team_model: Synthesis) -> None:
    route = team_model.monitor.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert route.inputs["metadata"]["namespace"] == "fraud-detection"
    assert route.inputs["spec"]["parentRefs"][0]["sectionName"] == "https", "the gateway's HTTPS listener"
    assert [b["weight"] for b in route.inputs["spec"]["rules"][0]["backendRefs"]] == [100]
    assert team_model.outputs["url"] == "https://fraud.fraud-detection.dev.mlplatform.internal", (
        "the platform gateway's domain (the default <environment>.<project>.internal), from its servingGateway output"
    )
    assert route.inputs["spec"]["parentRefs"][0]["name"] == "serving", "the Gateway the platform installs"


def test_the_team_canary_builds_only_the_candidate_and_splits_requests_90_10(
    team_canary: Synthesis, platform_dev: Synthesis
) -> None:
    (image,) = team_canary.monitor.by_type("docker:index/image:Image")
    repository = platform_dev.outputs["registryRepositoryUrls"]["models"]
    assert image.inputs["imageName"] == f"{repository}:fraud-2026.12.1", "only the release being made is built"
    images = {
        d.inputs["metadata"]["name"]: d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in team_canary.monitor.by_type("kubernetes:apps/v1:Deployment")
    }
    assert images == {"fraud-v1": f"{repository}@sha256:{'1' * 64}", "fraud-v2": f"{repository}@sha256:{'0' * 64}"}
    route = team_canary.monitor.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    backends = route.inputs["spec"]["rules"][0]["backendRefs"]
    assert {b["name"]: b["weight"] for b in backends} == {"fraud-v1": 90, "fraud-v2": 10}


def test_the_team_canary_is_deployable_on_dev(team_canary: Synthesis, platform_dev: Synthesis) -> None:
    report = check_deployability([*platform_dev.registrations, *team_canary.registrations], stack="team-canary")
    assert report.problems == [], "\n".join(problem.message for problem in report.problems)


def test_the_team_program_passes_the_kubernetes_baseline(team_model: Synthesis) -> None:
    stack_config, _ = pulumi_config_for("dev", EXAMPLES / "team-model")
    verdict = replay(team_model, in_process("kubernetes-baseline"), stack_config=stack_config)
    assert not verdict.mandatory, f"a team deploying the documented way must be compliant:\n{verdict.summary()}"


def test_the_direct_components_program_binds_its_identity_to_its_own_bucket() -> None:
    synthesis = synthesize("dev", project_dir=EXAMPLES / "direct-components")
    account = synthesis.monitor.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == synthesis.outputs["roleArn"]
    policy = synthesis.monitor.one("aws:iam/rolePolicy:RolePolicy")
    assert f"{synthesis.outputs['modelsBucket']}/search-ranking/*" in policy.inputs["policy"], (
        "the role reads only its namespace's prefix of the team's bucket"
    )
    assert synthesis.monitor.by_type("mlplatform:index:ModelDeployment"), "the model is deployed"


def test_the_team_program_deploys_on_prod_through_the_cluster_layer_stack_alone() -> None:
    platform = synthesize("prod-cluster")
    team = synthesize(
        "dev",
        project_dir=EXAMPLES / "team-model",
        stack_outputs={"acme/mlplatform/dev": platform.outputs},
    )
    deployment = team.monitor.one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"]["namespace"] == "fraud-detection", (
        "the cluster-layer stack exports the namespaces, the registry and the kubeconfig a team needs"
    )
    image = team.monitor.one("docker:index/image:Image")
    assert image.inputs["imageName"].startswith(platform.outputs["registryRepositoryUrls"]["models"])
    assert "kubeconfig" in platform.secret_outputs, "the kubeconfig passed on by the cluster layer stays secret"
