"""The GitHub workflow users copy: valid against GitHub's workflow schema, with the jobs README documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.synth import PROJECT_ROOT, stack_names

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(job: str) -> list[dict[str, Any]]:
    return _workflow()["jobs"][job]["steps"]


def _step(job: str, uses_or_name: str) -> dict[str, Any]:
    return next(
        step
        for step in _steps(job)
        if step.get("uses", "").startswith(uses_or_name) or step.get("name") == uses_or_name
    )


def _run_script(script: str, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Run a step's shell script as the runner would and return what it wrote to $GITHUB_OUTPUT."""
    output = tmp_path / "github_output"
    output.write_text("")
    subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)


def test_the_workflow_is_valid_against_github_s_workflow_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        f"SchemaStore's github-workflow schema rejects ci.yml:\n{result.stdout}{result.stderr}"
    )


def test_pull_requests_run_lint_tests_and_the_offline_check_of_every_stack() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"], (
        "main is analysed too, so code scanning can compare a pull request with its base"
    )
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


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is missing: apt-get install jq (GitHub runners have it)")
def test_the_preview_job_is_skipped_cleanly_without_credentials(tmp_path: Path) -> None:
    gate = _step("preview-gate", "Look for PULUMI_ACCESS_TOKEN and PULUMI_PREVIEW_STACKS")
    assert gate["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", "secrets are read in env only"
    assert _run_script(gate["run"], {"PULUMI_ACCESS_TOKEN": "", "PREVIEW_STACKS": "dev prod"}, tmp_path) == {
        "enabled": "false",
        "stacks": '["none"]',
    }, "without a token the preview job is skipped (a non-empty matrix keeps the skipped job valid)"
    assert _run_script(gate["run"], {"PULUMI_ACCESS_TOKEN": "pul-x", "PREVIEW_STACKS": "dev, prod"}, tmp_path) == {
        "enabled": "true",
        "stacks": '["dev","prod"]',
    }
    preview = _workflow()["jobs"]["pulumi-preview"]
    assert preview["if"] == "needs.preview-gate.outputs.enabled == 'true'"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.preview-gate.outputs.stacks) }}"


def test_the_preview_job_runs_pulumi_preview_with_the_stack_s_packs() -> None:
    assert _step("pulumi-preview", "pulumi/actions@"), "the official Pulumi action installs the CLI"
    script = _step("pulumi-preview", "pulumi preview with the stack's packs and pack configs")["run"]
    assert "python -m stacks policy-args" in script and '> "$RUNNER_TEMP/policy-args"' in script, (
        "the flags are written to a file first, so a failure stops the job instead of previewing without packs"
    )
    assert 'pulumi preview --stack "$PULUMI_STACK"' in script and '"${policy_args[@]}"' in script
    assert _workflow()["jobs"]["pulumi-preview"]["permissions"]["id-token"] == "write", "cloud sign-in through OIDC"
