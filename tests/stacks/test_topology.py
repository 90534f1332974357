"""`python -m stacks topology`: each stack's role, the foundation it reads, where CI runs it, and the deploy order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.__main__ import main
from stacks.synth import PROJECT_ROOT, stack_names
from stacks.topology import RUNNER_LABEL_KEY, TopologyError, load_topology


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's Pulumi.yaml and shipped stack files, to change one key at a time."""
    for path in [PROJECT_ROOT / "Pulumi.yaml", *PROJECT_ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _platform(project: Path, stack: str) -> dict[str, Any]:
    return yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text())["config"]["mlplatform:platform"]


def _write(project: Path, stack: str, platform: dict[str, Any]) -> None:
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": {"mlplatform:platform": platform}}))


def _by_stack(project_dir: Path = PROJECT_ROOT, stacks: list[str] | None = None) -> dict[str, dict[str, Any]]:
    return {entry["stack"]: entry for entry in load_topology(stacks, project_dir).document()["stacks"]}


def test_every_shipped_stack_has_a_role_and_a_place_in_ci() -> None:
    topology = _by_stack()
    assert sorted(topology) == stack_names(), "every Pulumi.<stack>.yaml is placed"
    roles = {stack: entry["role"] for stack, entry in topology.items()}
    assert roles == {
        "dev": "single",
        "prod": "foundation",
        "prod-cluster": "cluster-layer",
        "azure-prod": "foundation",
        "azure-prod-cluster": "cluster-layer",
        "local": "existing-cluster",
    }


def test_foundations_run_on_hosted_runners_and_cluster_layers_inside_the_network_after_them() -> None:
    document = load_topology().document()
    topology = {entry["stack"]: entry for entry in document["stacks"]}
    for foundation, layer, cloud in (("prod", "prod-cluster", "aws"), ("azure-prod", "azure-prod-cluster", "azure")):
        assert topology[foundation]["runsOn"] == "ubuntu-latest", "cloud APIs only: a GitHub-hosted runner with OIDC"
        assert topology[foundation]["clusterLayers"] == [layer]
        assert topology[foundation]["kubeconfigExec"] is None, "a foundation never talks to the Kubernetes API"
        runs_on = topology[layer]["runsOn"]
        assert (
            runs_on[0] == "self-hosted"
            and runs_on[1] == _platform(PROJECT_ROOT, layer)["deployment"]["deployer"]["runnerLabel"]
        ), "the private API is reached only from the runner inside the network"
        assert topology[layer]["foundation"] == {
            "stack": f"organization/mlplatform/{foundation}",
            "name": foundation,
            "cloud": cloud,
        }
        assert topology[layer]["after"] == [foundation] and topology[layer]["wave"] == 2
        assert document["order"].index(foundation) < document["order"].index(layer), "foundation first"
        assert topology[layer]["credentials"] == cloud, "the cluster layer signs in to its foundation's cloud"
        assert topology[layer]["region"] == topology[foundation]["region"]
    assert topology["prod-cluster"]["kubeconfigExec"] == "aws", "EKS tokens come from `aws eks get-token`"
    assert topology["azure-prod-cluster"]["kubeconfigExec"] == "kubelogin"
    assert topology["azure-prod-cluster"]["kubeloginMode"] == "azurecli", "the foundation's deployer.kubelogin"


def test_local_kind_is_never_deployed_from_ci() -> None:
    local = _by_stack()["local"]
    assert local["runsOn"] is None and local["deployable"] is False
    assert "kind" in local["reason"] and "never from CI" in local["reason"]


def test_dev_runs_on_a_hosted_runner_and_says_its_api_admits_only_the_listed_networks() -> None:
    dev = _by_stack()["dev"]
    assert dev["role"] == "single" and dev["runsOn"] == "ubuntu-latest" and dev["kubeconfigExec"] == "aws"
    assert "203.0.113.10/32" in dev["reason"] and RUNNER_LABEL_KEY in dev["reason"]


def test_a_cluster_layer_without_a_runner_label_is_not_deployable_and_says_which_key(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    del platform["deployment"]
    _write(project, "prod-cluster", platform)
    layer = _by_stack(project)["prod-cluster"]
    assert layer["runsOn"] is None and layer["deployable"] is False
    assert layer["reason"].startswith(f"Pulumi.prod-cluster.yaml: {RUNNER_LABEL_KEY}: not set")


def test_a_private_single_stack_runs_on_its_runner_label(project: Path) -> None:
    platform = _platform(project, "dev")
    platform["cluster"]["endpoint"] = {"publicAccess": False}
    platform["deployment"] = {"deployer": {"network": {"cidrs": ["10.100.8.0/24"]}}}
    _write(project, "dev", platform)
    assert _by_stack(project)["dev"]["runsOn"] is None, "private and no runner label: not from CI"
    platform["deployment"]["deployer"]["runnerLabel"] = "dev-runner"
    _write(project, "dev", platform)
    assert _by_stack(project)["dev"]["runsOn"] == ["self-hosted", "dev-runner"]


def test_a_subset_keeps_the_foundation_a_cluster_layer_waits_for() -> None:
    topology = _by_stack(stacks=["prod-cluster"])
    assert list(topology) == ["prod-cluster"] and topology["prod-cluster"]["after"] == ["prod"]


def _problems(project: Path, stacks: list[str] | None = None) -> list[str]:
    with pytest.raises(TopologyError) as error:
        load_topology(stacks, project)
    return error.value.problems


def test_a_missing_foundation_names_the_stack_file_and_key(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    platform["target"]["foundation"]["stack"] = "organization/mlplatform/prod-eu"
    _write(project, "prod-cluster", platform)
    [problem] = _problems(project)
    assert problem.startswith(
        "Pulumi.prod-cluster.yaml: mlplatform:platform.target.foundation.stack: names stack 'prod-eu', but this "
        "project has no Pulumi.prod-eu.yaml"
    )


def test_a_foundation_of_another_cloud_is_refused(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    platform["target"]["foundation"]["stack"] = "organization/mlplatform/azure-prod"
    _write(project, "prod-cluster", platform)
    problems = _problems(project, ["prod-cluster"])
    assert problems == [
        "Pulumi.prod-cluster.yaml: mlplatform:platform.target.foundation.cloud: is 'aws', but "
        "Pulumi.azure-prod.yaml targets 'azure'"
    ]


def test_a_foundation_that_deploys_its_own_layer_is_refused_with_the_fix(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    platform["target"]["foundation"]["stack"] = "organization/mlplatform/dev"
    platform["environment"] = "dev"
    platform["compliance"] = {"profiles": ["gdpr"]}
    _write(project, "prod-cluster", platform)
    [problem] = _problems(project, ["prod-cluster"])
    assert "'dev' is a single stack, not a foundation" in problem
    assert "mlplatform:platform.deployment.kubernetesLayer: clusterStack in Pulumi.dev.yaml" in problem


def test_a_foundation_of_another_project_is_refused(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    platform["target"]["foundation"]["stack"] = "organization/other/prod"
    _write(project, "prod-cluster", platform)
    [problem] = _problems(project, ["prod-cluster"])
    assert problem.startswith("Pulumi.prod-cluster.yaml: mlplatform:platform.target.foundation.stack:")
    assert "project 'other'" in problem


def test_two_cluster_layers_on_one_foundation_are_refused(project: Path) -> None:
    shutil.copy(project / "Pulumi.prod-cluster.yaml", project / "Pulumi.prod-cluster-2.yaml")
    [problem] = _problems(project)
    assert problem.startswith("Pulumi.prod-cluster.yaml, Pulumi.prod-cluster-2.yaml: ")
    assert "all read 'prod'" in problem


def test_a_broken_stack_file_is_reported_with_its_name(project: Path) -> None:
    platform = _platform(project, "prod-cluster")
    platform["deployment"]["deployer"]["runnerLabel"] = "no spaces allowed"
    _write(project, "prod-cluster", platform)
    [problem] = _problems(project, ["prod-cluster"])
    assert problem.startswith("Pulumi.prod-cluster.yaml: mlplatform:platform.deployment.deployer.runnerLabel:")


def test_an_unrelated_broken_stack_file_does_not_stop_a_subset(project: Path) -> None:
    (project / "Pulumi.local.yaml").write_text("config: [not, a, mapping]\n")
    assert list(_by_stack(project, ["prod"])) == ["prod"]


def test_the_cli_prints_json_for_the_workflow_and_exits_2_on_a_problem(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project-dir", str(project), "topology", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["project"] == "mlplatform" and document["order"][-2:] == ["azure-prod-cluster", "prod-cluster"]
    assert main(["--project-dir", str(project), "topology", "prod", "local"]) == 0
    table = capsys.readouterr().out
    assert "prod" in table and "not from CI" in table and "azure-prod" not in table
    assert main(["--project-dir", str(project), "topology", "staging"]) == 2
    assert capsys.readouterr().err.startswith(f"error: unknown stack 'staging': {project} has no Pulumi.staging.yaml")


def test_the_json_keys_are_the_contract_the_workflow_reads() -> None:
    document = load_topology().document()
    assert set(document) == {"project", "order", "stacks"}
    assert {key for entry in document["stacks"] for key in entry} == {
        "stack",
        "stackFile",
        "role",
        "cloud",
        "environment",
        "region",
        "credentials",
        "kubeconfigExec",
        "kubeloginMode",
        "foundation",
        "clusterLayers",
        "deployable",
        "runsOn",
        "reason",
        "wave",
        "after",
    }, "ci.yml's plan step and docs/deploying.md read these keys; renaming one is a breaking change"
