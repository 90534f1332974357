"""Stack files that are broken at the YAML level, or inside a Pulumi program, give one readable error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from stacks.load import PlatformConfigError, load_platform_config, platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT


def write_stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(body)
    return path


def test_a_malformed_yaml_file_names_the_line_instead_of_a_traceback(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "config:\n  mlplatform:platform:\n    environment: dev\n   target: [unclosed\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "not valid YAML" in str(caught.value) and "line" in str(caught.value), str(caught.value)


def test_an_unknown_cloud_is_one_readable_error(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "config:\n  mlplatform:platform:\n    environment: dev\n    target: {cloud: gcp}\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert caught.value.problems == [
        "mlplatform:platform.target.cloud: must be one of 'aws', 'azure', 'kubernetes' (got 'gcp')"
    ]


def test_a_scalar_instead_of_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "config:\n  mlplatform:platform: dev\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "must be a mapping" in str(caught.value)


def test_inside_a_pulumi_program_the_error_is_a_run_error_without_traceback(recorder: object) -> None:
    pulumi.runtime.set_all_config(
        {"mlplatform:platform": json.dumps({"environment": "dev", "target": {"cloud": "gcp"}})}
    )
    with pytest.raises(pulumi.RunError) as caught:
        load_platform_config()
    assert isinstance(caught.value, PlatformConfigError), (
        "RunError makes the Pulumi CLI print the message without a stack trace"
    )


def test_a_missing_platform_key_says_where_to_add_it(recorder: object) -> None:
    pulumi.runtime.set_all_config({})
    with pytest.raises(PlatformConfigError) as caught:
        load_platform_config()
    assert "mlplatform:platform: missing" in str(caught.value)


def test_the_cli_reports_a_broken_stack_file_with_exit_code_2_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_ROOT / "Pulumi.yaml").read_text())
    write_stack(
        tmp_path, "config:\n  mlplatform:platform:\n    environment: dev\n    target: {cloud: aws, region: mars-1}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "--project-dir", str(tmp_path), "validate", "broken"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "mlplatform:platform.target.region: 'mars-1' is not an AWS region" in result.stderr
    assert "Traceback" not in result.stderr


# --- The loader refuses what YAML or JSON would resolve silently ---------------------------------------------


def _project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: mlplatform\nruntime: python\n")
    return write_stack(tmp_path, body)


def test_a_key_written_twice_is_refused_with_both_lines_instead_of_the_last_one_winning(tmp_path: Path) -> None:
    path = _project(
        tmp_path,
        "config:\n  mlplatform:platform:\n    environment: dev\n    target: {cloud: kubernetes, kubeconfigContext: kind}\n"
        "    environment: prod\n",
    )
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert caught.value.problems == [
        "Pulumi.broken.yaml (line 5, column 5): duplicate key 'environment' (first at line 3); "
        "YAML would silently keep the last one"
    ], "a duplicate key silently ran a dev file as prod"


def test_a_key_written_twice_in_a_flow_mapping_is_refused(tmp_path: Path) -> None:
    path = _project(tmp_path, "config:\n  mlplatform:platform: {environment: dev, environment: prod}\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "duplicate key 'environment'" in str(caught.value)


def test_a_merge_key_into_the_platform_key_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _project(
        tmp_path,
        "defaults: &defaults\n  environment: prod\nconfig:\n  mlplatform:platform:\n    <<: *defaults\n"
        "    target: {cloud: kubernetes, kubeconfigContext: kind}\n",
    )
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert caught.value.problems == [
        "Pulumi.broken.yaml (line 5, column 5): a merge key (`<<`) is not accepted in a stack file; write the keys out"
    ]


@pytest.mark.parametrize("root", ["- config\n", "just a string\n", "42\n"])
def test_a_root_that_is_not_a_mapping_is_refused_naming_the_line(tmp_path: Path, root: str) -> None:
    path = _project(tmp_path, root)
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "(line 1): the root must be a mapping" in str(caught.value), str(caught.value)


def test_an_unnamespaced_platform_key_is_the_projects_key_as_in_preview(tmp_path: Path) -> None:
    from stacks.synth import pulumi_config_for

    path = _project(
        tmp_path,
        "config:\n  platform:\n    environment: dev\n    target: {cloud: kubernetes, kubeconfigContext: kind}\n",
    )
    assert platform_config_from_stack_file(path).environment == "dev", (
        "Pulumi namespaces `platform:` by the project name, so validate must read it as mlplatform:platform"
    )
    values, _ = pulumi_config_for("broken", tmp_path)
    assert "mlplatform:platform" in values, "preview hands the program the same key"


def test_an_unnamespaced_key_in_another_project_is_not_the_platform_key(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    path = write_stack(tmp_path, "config:\n  platform:\n    environment: dev\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "missing `mlplatform:platform`" in str(caught.value)


def test_the_namespaced_and_unnamespaced_key_together_are_refused(tmp_path: Path) -> None:
    path = _project(tmp_path, "config:\n  mlplatform:platform: {}\n  platform: {}\n")
    with pytest.raises(PlatformConfigError) as caught:
        platform_config_from_stack_file(path)
    assert "are the same key" in str(caught.value)


def test_a_duplicate_key_in_the_pulumi_config_json_is_refused(recorder: object) -> None:
    pulumi.runtime.set_all_config({"mlplatform:platform": '{"environment": "dev", "environment": "prod"}'})
    with pytest.raises(PlatformConfigError) as caught:
        load_platform_config()
    assert caught.value.problems == ["mlplatform:platform: duplicate key 'environment'; write each key once"]
