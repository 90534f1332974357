"""The GitHub workflows users copy: valid against GitHub's workflow schema; their gating runs as the runner runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.synth import PROJECT_ROOT, stack_names

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "ci.yml"
STACK_WORKFLOW = WORKFLOWS / "pulumi-stack.yml"

needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is missing: apt-get install jq (runners have it)")


def _workflow(path: Path = WORKFLOW) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())


def _steps(job: str, path: Path = WORKFLOW) -> list[dict[str, Any]]:
    return _workflow(path)["jobs"][job]["steps"]


def _step(job: str, uses_or_name: str, path: Path = WORKFLOW) -> dict[str, Any]:
    return next(
        step
        for step in _steps(job, path)
        if step.get("uses", "").startswith(uses_or_name)
        or step.get("name") == uses_or_name
        or step.get("id") == uses_or_name
    )


@dataclass
class StepRun:
    """What a step's script did: its exit code, log (workflow commands included) and files it wrote."""

    returncode: int
    log: str
    outputs: dict[str, str]
    github_env: str


def _run(script: str, env: dict[str, str], tmp_path: Path, *, check: bool = True) -> StepRun:
    """Run a step's shell script as the runner would (bash -eo pipefail) with the given step environment."""
    files = {name: tmp_path / name for name in ("github_output", "github_env", "github_step_summary")}
    for path in files.values():
        path.write_text("")
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "RUNNER_TEMP": str(tmp_path),
            **env,
            "GITHUB_OUTPUT": str(files["github_output"]),
            "GITHUB_ENV": str(files["github_env"]),
            "GITHUB_STEP_SUMMARY": str(files["github_step_summary"]),
        },
        check=False,
        capture_output=True,
        text=True,
    )
    if check:
        assert result.returncode == 0, f"the step failed:\n{result.stdout}{result.stderr}"
    lines = files["github_output"].read_text().splitlines()
    return StepRun(
        returncode=result.returncode,
        log=result.stdout + result.stderr,
        outputs=dict(line.split("=", 1) for line in lines if "=" in line),
        github_env=files["github_env"].read_text(),
    )


def _run_script(script: str, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Run a step's shell script and return what it wrote to $GITHUB_OUTPUT."""
    return _run(script, env, tmp_path).outputs


@pytest.mark.parametrize("path", [WORKFLOW, STACK_WORKFLOW], ids=lambda path: path.name)
def test_the_workflows_are_valid_against_github_s_workflow_schema(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        f"SchemaStore's github-workflow schema rejects {path.name}:\n{result.stdout}{result.stderr}"
    )


def test_pull_requests_run_lint_tests_and_the_offline_check_of_every_stack() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"], (
        "main is analysed too, so code scanning can compare a pull request with its base"
    )
    assert triggers["workflow_dispatch"]["inputs"]["operation"]["options"] == ["up", "preview"]
    assert workflow["permissions"] == {"contents": "read"}, "jobs get only the permissions they need"
    assert any("make test" in step.get("run", "") for step in _steps("test")), "lint and tests, as .ci/run runs them"
    check = workflow["jobs"]["policy-check"]
    assert check["needs"] == "stacks" and check["strategy"]["matrix"]["stack"] == (
        "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    )
    assert check["strategy"]["fail-fast"] is False, "one failing stack does not hide the others' verdicts"
    command = _step("policy-check", "python -m stacks check")["run"]
    for option in ("--sarif", "--json", "--junit", "--report"):
        assert option in command, f"one run writes every output ({option})"


def test_the_stacks_job_lists_every_shipped_stack(tmp_path: Path) -> None:
    outputs = _run_script(_step("stacks", "One per Pulumi.<stack>.yaml")["run"], {}, tmp_path)
    assert json.loads(outputs["stacks"]) == stack_names(), "the matrix is derived from the Pulumi.<stack>.yaml files"


def test_findings_are_uploaded_as_sarif_with_the_permission_code_scanning_needs() -> None:
    job = _workflow()["jobs"]["policy-check"]
    assert job["permissions"]["security-events"] == "write"
    upload = _step("policy-check", "github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "out/check/${{ matrix.stack }}.sarif"
    assert upload["if"].startswith("always()"), "a failing check still uploads its findings"
    assert "head.repo.full_name == github.repository" in upload["if"], "forks have no security-events permission"
    artifact = _step("policy-check", "actions/upload-artifact@")
    assert artifact["if"] == "always()" and artifact["with"]["path"] == "out/check/", "reports kept for auditors"


# --- Deployment: topology, foundation, cluster layer --------------------------------------------------------------

SHIPPED_FOUNDATIONS = {"prod", "azure-prod"}
SHIPPED_CLUSTER_LAYERS = {"prod-cluster": "prod", "azure-prod-cluster": "azure-prod"}


@pytest.fixture(scope="module")
def topology_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The topology step's output for the shipped stacks, written by the same command the step runs."""
    script = _step("topology", "python -m stacks topology --json")["run"]
    assert ".venv/bin/python -m stacks topology --json" in script
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "topology", "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("topology") / "topology.json"
    path.write_text(result.stdout)
    return path


def _plan(topology_file: Path, tmp_path: Path, *, check: bool = True, **env: str) -> StepRun:
    """Run the topology job's planning step for one event, with the repository's secret and variables in env."""
    step = _step("topology", "plan")
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", "secrets are read in env only"
    defaults = {
        "TOPOLOGY": str(topology_file),
        "EVENT_NAME": "pull_request",
        "REF": "refs/pull/7/merge",
        "REPOSITORY": "acme/platform",
        "HEAD_REPOSITORY": "acme/platform",
        "DISPATCH_OPERATION": "",
        "DISPATCH_STACKS": "",
        "PULUMI_ACCESS_TOKEN": "pul-token",
        "PULUMI_ORG": "",
        "PREVIEW_STACKS": "dev prod azure-prod prod-cluster azure-prod-cluster local",
        "DEPLOY_STACKS": "prod prod-cluster azure-prod azure-prod-cluster local",
    }
    return _run(step["run"], {**defaults, **env}, tmp_path, check=check)


def _matrix(run: StepRun, job: str) -> list[dict[str, Any]]:
    if run.outputs[f"{job}_enabled"] == "false":
        assert json.loads(run.outputs[job]) == {"include": [{"stack": "none"}]}, "a skipped job keeps a valid matrix"
        return []
    return json.loads(run.outputs[job])["include"]


def _planned(run: StepRun) -> dict[str, list[str]]:
    return {
        job: [entry["stack"] for entry in _matrix(run, job)] for job in ("foundation", "cluster_layer", "single_stack")
    }


@needs_jq
def test_pulumi_jobs_are_skipped_with_a_notice_without_the_token(topology_file: Path, tmp_path: Path) -> None:
    run = _plan(topology_file, tmp_path, PULUMI_ACCESS_TOKEN="")
    assert _planned(run) == {"foundation": [], "cluster_layer": [], "single_stack": []}
    assert "::notice title=pulumi preview and up skipped::Set the PULUMI_ACCESS_TOKEN secret" in run.log
    run = _plan(topology_file, tmp_path, PREVIEW_STACKS="", DEPLOY_STACKS="")
    assert _planned(run) == {"foundation": [], "cluster_layer": [], "single_stack": []}
    assert "::notice title=No stacks to preview::" in run.log
    for job in ("foundation", "cluster-layer", "single-stack"):
        assert f"needs.topology.outputs.{job.replace('-', '_')}_enabled == 'true'" in _workflow()["jobs"][job]["if"]


@needs_jq
def test_pull_requests_preview_and_never_run_up(topology_file: Path, tmp_path: Path) -> None:
    run = _plan(topology_file, tmp_path, EVENT_NAME="pull_request", PREVIEW_STACKS="dev prod prod-cluster")
    assert run.outputs["operation"] == "preview"
    assert _planned(run) == {"foundation": ["prod"], "cluster_layer": ["prod-cluster"], "single_stack": ["dev"]}, (
        "a pull request previews the stacks in PULUMI_PREVIEW_STACKS, never the deploy list"
    )
    run = _plan(topology_file, tmp_path, EVENT_NAME="pull_request", HEAD_REPOSITORY="someone/fork")
    assert _planned(run) == {"foundation": [], "cluster_layer": [], "single_stack": []}, (
        "a fork's code never reaches a cloud identity or the runner inside the network"
    )
    assert "No Pulumi jobs for a fork" in run.log


@needs_jq
def test_up_runs_only_on_main_by_push_or_dispatch(topology_file: Path, tmp_path: Path) -> None:
    push = _plan(topology_file, tmp_path, EVENT_NAME="push", REF="refs/heads/main")
    assert push.outputs["operation"] == "up"
    assert _planned(push) == {
        "foundation": ["azure-prod", "prod"],
        "cluster_layer": ["azure-prod-cluster", "prod-cluster"],
        "single_stack": [],
    }, "main deploys PULUMI_DEPLOY_STACKS (dev is only previewed: it is deployed from a laptop on the VPN)"
    dispatch = _plan(
        topology_file,
        tmp_path,
        EVENT_NAME="workflow_dispatch",
        REF="refs/heads/main",
        DISPATCH_OPERATION="up",
        DISPATCH_STACKS="prod-cluster dev",
    )
    assert dispatch.outputs["operation"] == "up" and _planned(dispatch)["cluster_layer"] == ["prod-cluster"]
    assert _planned(dispatch)["single_stack"] == [] and "dev not run" in dispatch.log, "up only for deploy stacks"
    branch = _plan(
        topology_file, tmp_path, EVENT_NAME="workflow_dispatch", REF="refs/heads/feature", DISPATCH_OPERATION="up"
    )
    assert branch.outputs["operation"] == "preview", "a dispatch on another branch previews"


@needs_jq
def test_cluster_layers_run_on_their_self_hosted_runner_after_their_foundation(
    topology_file: Path, tmp_path: Path
) -> None:
    run = _plan(topology_file, tmp_path, EVENT_NAME="push", REF="refs/heads/main")
    topology = {entry["stack"]: entry for entry in json.loads(topology_file.read_text())["stacks"]}
    layers = _matrix(run, "cluster_layer")
    assert {entry["stack"] for entry in layers} == set(SHIPPED_CLUSTER_LAYERS)
    for entry in layers:
        label = topology[entry["stack"]]["runsOn"][1]
        assert entry["runsOn"] == ["self-hosted", label], "the private API answers only inside its network"
        assert topology[entry["stack"]]["after"] == [SHIPPED_CLUSTER_LAYERS[entry["stack"]]]
    job = _workflow()["jobs"]["cluster-layer"]
    assert "foundation" in job["needs"], "a cluster layer starts after the foundation job"
    assert "(needs.foundation.result == 'success' || needs.foundation.result == 'skipped')" in job["if"], (
        "never after a failed foundation; still runs when this run changed no foundation"
    )
    assert job["with"]["runs-on"] == "${{ toJSON(matrix.runsOn) }}"
    assert _workflow(STACK_WORKFLOW)["jobs"]["pulumi"]["runs-on"] == "${{ fromJSON(inputs.runs-on) }}"


@needs_jq
def test_foundations_run_on_hosted_runners_with_oidc(topology_file: Path, tmp_path: Path) -> None:
    run = _plan(topology_file, tmp_path, EVENT_NAME="push", REF="refs/heads/main")
    foundations = _matrix(run, "foundation")
    assert {entry["stack"] for entry in foundations} == SHIPPED_FOUNDATIONS
    assert all(entry["runsOn"] == "ubuntu-latest" for entry in foundations), "cloud APIs only: GitHub-hosted"
    for job in ("foundation", "cluster-layer", "single-stack"):
        assert _workflow()["jobs"][job]["permissions"] == {"contents": "read", "id-token": "write"}, (
            f"{job}: GitHub's OIDC token for the cloud sign-in, nothing else"
        )
        assert _workflow()["jobs"][job]["uses"] == "./.github/workflows/pulumi-stack.yml"
    stack_job = _workflow(STACK_WORKFLOW)["jobs"]["pulumi"]
    assert stack_job["permissions"]["id-token"] == "write"
    aws = _step("pulumi", "aws-actions/configure-aws-credentials@", STACK_WORKFLOW)
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}" and "inputs.credentials == 'aws'" in aws["if"]
    azure = _step("pulumi", "azure/login@", STACK_WORKFLOW)
    assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC: no client secret"
    assert stack_job["env"]["ARM_USE_OIDC"] == "${{ inputs.credentials == 'azure' && vars.AZURE_CLIENT_ID != '' }}"


@needs_jq
def test_kubelogin_only_for_azure_cluster_layers_and_the_aws_cli_only_for_eks(
    topology_file: Path, tmp_path: Path
) -> None:
    run = _plan(
        topology_file, tmp_path, EVENT_NAME="push", REF="refs/heads/main", DEPLOY_STACKS=" ".join(stack_names())
    )
    entries = [entry for job in ("foundation", "cluster_layer", "single_stack") for entry in _matrix(run, job)]
    assert [entry["stack"] for entry in entries if entry["kubeconfigExec"] == "kubelogin"] == ["azure-prod-cluster"]
    assert sorted(entry["stack"] for entry in entries if entry["kubeconfigExec"] == "aws") == ["dev", "prod-cluster"]
    kubelogin = _step("pulumi", "azure/use-kubelogin@", STACK_WORKFLOW)
    assert kubelogin["if"] == "steps.signin.outputs.ready == 'true' && inputs.kubeconfig-exec == 'kubelogin'"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kubelogin["with"]["kubelogin-version"]), "kubelogin itself is pinned"
    aws_cli = _step("pulumi", "AWS CLI v2, which the kubeconfig runs (aws eks get-token)", STACK_WORKFLOW)
    assert aws_cli["if"] == "steps.signin.outputs.ready == 'true' && inputs.kubeconfig-exec == 'aws'"
    assert "aws-cli/2" in aws_cli["run"] and re.fullmatch(r"2\.\d+\.\d+", aws_cli["env"]["AWS_CLI_VERSION"])


@needs_jq
def test_local_is_never_deployed_even_when_listed(topology_file: Path, tmp_path: Path) -> None:
    for event in ({"EVENT_NAME": "push", "REF": "refs/heads/main"}, {"EVENT_NAME": "pull_request"}):
        run = _plan(topology_file, tmp_path, **event)
        assert all("local" not in stacks for stacks in _planned(run).values())
        assert "::notice title=Not run from CI::local: a kind cluster" in run.log


@needs_jq
def test_a_cluster_layer_reading_another_organization_fails_the_plan(topology_file: Path, tmp_path: Path) -> None:
    run = _plan(topology_file, tmp_path, check=False, EVENT_NAME="push", REF="refs/heads/main", PULUMI_ORG="acme")
    assert run.returncode == 1
    assert "::error title=Foundation in another organization::Pulumi.prod-cluster.yaml" in run.log
    run = _plan(topology_file, tmp_path, EVENT_NAME="push", REF="refs/heads/main", PULUMI_ORG="organization")
    assert _planned(run)["cluster_layer"] == ["azure-prod-cluster", "prod-cluster"]


def _signin(tmp_path: Path, **env: str) -> StepRun:
    step = _step("pulumi", "signin", STACK_WORKFLOW)
    defaults = {"STACK": "prod", "PULUMI_ACCESS_TOKEN": "pul-token", "GITHUB_ENVIRONMENT_NAME": "prod"}
    blank = dict.fromkeys(("AWS_ROLE_ARN", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"), "")
    return _run(step["run"], {**defaults, **blank, **env}, tmp_path)


def test_a_stack_job_without_its_cloud_identity_stops_at_a_notice(tmp_path: Path) -> None:
    hosted = _signin(tmp_path, CREDENTIALS="aws", RUNNER_KIND="github-hosted")
    assert hosted.outputs == {"ready": "false", "oidc": "false"}
    assert "Set the AWS_ROLE_ARN variable in environment prod" in hosted.log
    oidc = _signin(tmp_path, CREDENTIALS="aws", RUNNER_KIND="github-hosted", AWS_ROLE_ARN="arn:aws:iam::1:role/ci")
    assert oidc.outputs == {"ready": "true", "oidc": "true"}
    runner = _signin(tmp_path, STACK="prod-cluster", CREDENTIALS="aws", RUNNER_KIND="self-hosted")
    assert runner.outputs == {"ready": "true", "oidc": "false"}, "the in-network runner's own role is the deployer"
    azure = _signin(tmp_path, STACK="azure-prod-cluster", CREDENTIALS="azure", RUNNER_KIND="self-hosted")
    assert azure.outputs["ready"] == "true" and "ARM_USE_MSI=true" in azure.github_env
    no_token = _signin(tmp_path, CREDENTIALS="aws", AWS_ROLE_ARN="arn:aws:iam::1:role/ci", PULUMI_ACCESS_TOKEN="")
    assert no_token.outputs["ready"] == "false" and "PULUMI_ACCESS_TOKEN" in no_token.log
    steps = _steps("pulumi", STACK_WORKFLOW)
    assert all(step["if"].startswith("steps.signin.outputs.ready == 'true'") for step in steps[2:]), (
        "every step after the check is skipped when it says so"
    )


def _operation(tmp_path: Path, **env: str) -> tuple[StepRun, list[str]]:
    """Run the preview-or-up step with a stand-in `pulumi` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / "pulumi-args"
    record.write_text("")
    fake = bin_dir / "pulumi"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    step = _step("pulumi", "pulumi preview or up with the stack's packs and pack configs", STACK_WORKFLOW)
    assert step["env"]["PYTHON"] == ".venv/bin/python", "the program's virtualenv, as Pulumi.yaml names it"
    run = _run(
        step["run"],
        {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHON": sys.executable,
            "STACK": "prod",
            "PULUMI_STACK": "acme/prod",
            **env,
        },
        tmp_path,
        check=False,
    )
    return run, record.read_text().splitlines()


def test_the_stack_job_runs_up_with_the_packs_only_on_main_and_refuses_it_on_a_pull_request(tmp_path: Path) -> None:
    refused, args = _operation(tmp_path, OPERATION="up", EVENT_NAME="pull_request", REF="refs/pull/7/merge")
    assert refused.returncode == 1 and args == [], "a second lock: the stack workflow never runs up for a pull request"
    assert "::error title=pulumi up refused::" in refused.log
    refused, args = _operation(tmp_path, OPERATION="up", EVENT_NAME="workflow_dispatch", REF="refs/heads/feature")
    assert refused.returncode == 1 and args == []
    up, args = _operation(tmp_path, OPERATION="up", EVENT_NAME="push", REF="refs/heads/main")
    assert up.returncode == 0, up.log
    assert args[:6] == ["up", "--stack", "acme/prod", "--non-interactive", "--yes", "--diff"]
    packs = [args[index + 1] for index, arg in enumerate(args) if arg == "--policy-pack"]
    assert packs == ["policies/packs/gdpr", "policies/packs/hipaa", "policies/packs/kubernetes-baseline"], (
        "the packs the offline check runs for prod"
    )
    assert args.count("--policy-pack-config") == 3
    preview, args = _operation(tmp_path, OPERATION="preview", EVENT_NAME="pull_request", REF="refs/pull/7/merge")
    assert preview.returncode == 0 and args[:2] == ["preview", "--stack"] and "--policy-pack" in args


def test_up_goes_through_the_stack_s_environment_and_is_never_cancelled_halfway() -> None:
    job = _workflow(STACK_WORKFLOW)["jobs"]["pulumi"]
    assert job["environment"] == (
        "${{ inputs.operation == 'up' && inputs.stack || format('{0}-preview', inputs.stack) }}"
    ), "required reviewers and the main-only rule of environment <stack> guard up; previews use <stack>-preview"
    assert job["concurrency"] == {
        "group": "pulumi-${{ inputs.stack }}-${{ inputs.operation == 'up' && 'up' || github.ref }}",
        "cancel-in-progress": False,
    }, "updates of a stack queue; a pull request's preview never displaces a waiting update (one pending per group)"
    assert _workflow()["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}", (
        "a push to main never cancels the run that is deploying"
    )


def test_actions_that_touch_credentials_are_pinned_to_a_commit() -> None:
    for step in _steps("pulumi", STACK_WORKFLOW):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{step['uses']}: pin a full SHA"
    assert "# v" in STACK_WORKFLOW.read_text(), "each pin says which release it is"
