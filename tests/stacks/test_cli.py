"""`python -m stacks` fails closed: whatever it cannot do is exit code 2 and one `error:` line naming what to fix,
never a traceback and never a pass that checked nothing (issue 16). Each test runs the real CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from policies.replay import PACKS_DIR
from stacks.__main__ import COMMANDS, build_parser
from stacks.synth import PROJECT_ROOT, stack_names

TEAM = PROJECT_ROOT / "examples" / "team-model"
PLATFORM_STACK = "acme/mlplatform/dev"  # what the team example's StackReference names
COMMAND_STACK_ARGUMENTS = {
    "validate": ["validate", "nosuch"],
    "preview": ["preview", "nosuch"],
    "check": ["check", "nosuch"],
    "policy-args": ["policy-args", "nosuch"],
    "preflight": ["preflight", "nosuch", "--offline"],
    "topology": ["topology", "nosuch"],
}


def _cli(*argv: object, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stacks", *(str(argument) for argument in argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _fails_closed(*argv: object) -> str:
    """Run the CLI, assert exit code 2 and exactly one stderr line, `error: ...`, without a traceback; return it."""
    result = _cli(*argv)
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Pulumi project directory with the platform's Pulumi.yaml and no stack file yet."""
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return tmp_path


def _program(project: Path, body: str) -> Path:
    (project / "Pulumi.yaml").write_text("name: scratch\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(body)
    return project


# --- No stack, no project -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "validate", "topology"])
def test_a_project_without_stack_files_fails_instead_of_passing_having_checked_nothing(
    project: Path, command: str
) -> None:
    extra = ["--junit", project / "junit.xml"] if command == "check" else []
    line = _fails_closed("--project-dir", project, command, *extra)
    assert line.startswith(f"error: no stack found: {project} has no Pulumi.<stack>.yaml"), line
    assert not (project / "junit.xml").exists(), 'no JUnit file with tests="0" for CI to read as green'


@pytest.mark.parametrize(
    ("command", "position"),
    [("validate", "before"), *((command, "after") for command in sorted(COMMAND_STACK_ARGUMENTS))],
)
def test_a_missing_project_dir_is_an_error_before_or_after_every_command(
    tmp_path: Path, command: str, position: str
) -> None:
    missing = tmp_path / "nope"
    argv = COMMAND_STACK_ARGUMENTS[command]
    flags = ["--project-dir", missing]
    line = _fails_closed(*(flags + argv if position == "before" else argv + flags))
    assert line == f"error: --project-dir {missing} does not exist: give the directory holding Pulumi.yaml"


def test_a_project_dir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "Pulumi.yaml"
    file.write_text("name: x\n")
    line = _fails_closed("validate", "--project-dir", file)
    assert line == f"error: --project-dir {file} is not a directory: give the directory holding Pulumi.yaml"


def test_a_project_dir_without_pulumi_yaml_is_an_error(tmp_path: Path) -> None:
    line = _fails_closed("--project-dir", tmp_path, "topology")
    assert line == f"error: {tmp_path} has no Pulumi.yaml: --project-dir must be a Pulumi project directory"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("name: [unclosed\n", "cannot read it as YAML"), ("runtime: python\n", "must be a mapping with the project's")],
    ids=["not-yaml", "no-name"],
)
def test_a_broken_pulumi_yaml_is_one_error_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(text)
    line = _fails_closed("--project-dir", tmp_path, "topology")
    assert line.startswith(f"error: {tmp_path / 'Pulumi.yaml'}: {expected}"), line


@pytest.mark.parametrize("command", sorted(COMMAND_STACK_ARGUMENTS))
def test_an_unknown_stack_is_one_error_line_naming_the_known_stacks_for_every_command(command: str) -> None:
    line = _fails_closed(*COMMAND_STACK_ARGUMENTS[command])
    known = ", ".join(stack_names(PROJECT_ROOT))
    assert line == f"error: unknown stack 'nosuch': {PROJECT_ROOT} has no Pulumi.nosuch.yaml (stacks: {known})"


# --- Nothing synthesized, nothing checked -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["preview", "check"])
def test_a_program_that_registers_nothing_fails_instead_of_passing_empty(tmp_path: Path, command: str) -> None:
    project = _program(tmp_path, "import pulumi\n")
    line = _fails_closed("--project-dir", project, command, "dev")
    assert line.startswith(f"error: stack 'dev' synthesized no resources: {project / '__main__.py'} registered"), line


def test_a_project_without_a_program_is_an_error(tmp_path: Path) -> None:
    project = _program(tmp_path, "")
    (project / "__main__.py").unlink()
    line = _fails_closed("--project-dir", project, "check", "dev")
    assert line == f"error: {project} has no __main__.py: offline synthesis runs the project's Python program"


def test_a_pack_whose_config_disables_every_policy_fails_the_check_instead_of_passing(tmp_path: Path) -> None:
    config = tmp_path / "all-disabled.json"
    config.write_text(json.dumps({"all": "disabled"}))
    pack = PACKS_DIR / "kubernetes-baseline"
    line = _fails_closed("check", "local", "--no-deployability", "--policy-pack", pack, "--policy-pack-config", config)
    assert line.startswith("error: every policy of mlplatform-kubernetes-baseline is disabled by "), line
    assert line.endswith(", so the pack would check nothing: enable some or drop the pack")


def test_a_pack_that_cannot_start_is_one_line_with_its_error_not_its_traceback(tmp_path: Path) -> None:
    pack = tmp_path / "crashing"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text("raise ImportError('the rules module is missing')\n")
    line = _fails_closed("check", "local", "--no-deployability", "--policy-pack", pack)
    assert line.startswith(f"error: policy pack {pack} failed to start: the policy pack did not print its port"), line
    assert line.endswith(": ImportError: the rules module is missing"), line


def test_a_program_that_raises_is_one_line_and_its_traceback_only_on_request(tmp_path: Path) -> None:
    project = _program(tmp_path, 'raise RuntimeError("the program\\nbroke")\n')
    for command in ("preview", "check"):
        line = _fails_closed("--project-dir", project, command, "dev")
        assert line == (
            "error: could not synthesize stack 'dev': RuntimeError: the program broke "
            "(rerun with --traceback to see where)"
        )
    result = _cli("--project-dir", project, "preview", "dev", "--traceback")
    assert result.returncode != 0 and "Traceback" in result.stderr and "the program" in result.stderr


# --- Output files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "local", "--json"],
        ["check", "local", "--sarif"],
        ["check", "local", "--junit"],
        ["check", "local", "--report", "{}.md"],
        ["preview", "local", "--json"],
        ["preview", "local", "--mermaid"],
        ["preflight", "local", "--offline", "--json"],
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[2:]),
)
def test_an_output_file_that_cannot_be_written_fails_before_the_work(tmp_path: Path, argv: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    target = blocker / "out"
    argv = [*argv[:-1], str(target) + argv[-1][2:]] if argv[-1].startswith("{}") else [*argv, str(target)]
    line = _fails_closed(*argv)
    option = next(a for a in argv if a.startswith("--") and a != "--offline")
    assert line.startswith(f"error: {option} {target}"), line
    assert "cannot write it" in line


def test_an_output_file_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    line = _fails_closed("preview", "local", "--json", tmp_path)
    assert line == f"error: --json {tmp_path}: is a directory; give a file name"


def test_an_output_files_missing_directories_are_created(tmp_path: Path) -> None:
    graph = tmp_path / "new" / "dir" / "graph.json"
    result = _cli("preview", "local", "--json", graph)
    assert result.returncode == 0, result.stderr
    assert json.loads(graph.read_text())["stack"] == "local"


# --- StackReference outputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["preview", "check", "policy-args"])
def test_the_team_example_without_stack_outputs_says_which_stack_and_how_to_give_them(command: str) -> None:
    line = _fails_closed("--project-dir", TEAM, command, "dev")
    assert line.startswith(
        f"error: stack 'dev' reads stack '{PLATFORM_STACK}' through a StackReference, whose outputs were not given: "
        f"pass --stack-outputs {PLATFORM_STACK}=FILE.json"
    ), line


@pytest.fixture(scope="module")
def platform_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The platform's dev stack as `python -m stacks preview dev --json` writes it."""
    graph = tmp_path_factory.mktemp("platform") / "dev.json"
    result = _cli("preview", "dev", "--json", graph)
    assert result.returncode == 0, result.stderr
    return graph


def test_the_team_example_previews_and_checks_with_the_outputs_preview_json_wrote(platform_graph: Path) -> None:
    given = f"{PLATFORM_STACK}={platform_graph}"
    preview = _cli("preview", "dev", "--project-dir", TEAM, "--stack-outputs", given)
    assert preview.returncode == 0, preview.stderr
    assert "mlplatform:index:ModelDeployment" in preview.stdout
    check = _cli("check", "dev", "--project-dir", TEAM, "--stack-outputs", given, "--summary")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("dev: 1 pack,"), check.stdout


def test_stack_outputs_without_an_output_the_program_reads_name_it(tmp_path: Path) -> None:
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"registryRepositoryUrls": {"models": "registry.example/models"}}))
    line = _fails_closed("preview", "dev", "--project-dir", TEAM, "--stack-outputs", f"{PLATFORM_STACK}={partial}")
    assert "KeyError 'kubeconfig', which is not an output in --stack-outputs" in line, line
    assert "(outputs given: registryRepositoryUrls)" in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PLATFORM_STACK, "give NAME=FILE.json"),
        (f"{PLATFORM_STACK}=/nonexistent/dev.json", "cannot read it (No such file or directory)"),
        (f"{PLATFORM_STACK}={PROJECT_ROOT / 'README.md'}", "not JSON"),
    ],
    ids=["no-file", "missing-file", "not-json"],
)
def test_a_stack_outputs_flag_that_cannot_be_used_is_an_error(value: str, expected: str) -> None:
    line = _fails_closed("preview", "dev", "--project-dir", TEAM, "--stack-outputs", value)
    assert expected in line, line


# --- Flags --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0.5", "3601", "nan", "soon"])
def test_the_pack_timeout_is_range_checked(value: str) -> None:
    line = _fails_closed("check", "local", "--pack-timeout", value)
    assert line.startswith("error: argument --pack-timeout: "), line
    assert line.endswith("(see `python -m stacks check --help`)")


@pytest.mark.parametrize("name", ["report.txt", "report"])
def test_the_report_format_comes_from_the_extension_or_is_refused(tmp_path: Path, name: str) -> None:
    line = _fails_closed("check", "local", "--report", tmp_path / name)
    assert "the report format comes from the extension; use one of .md, .markdown, .html, .htm" in line, line


def test_a_usage_error_is_one_error_line_pointing_at_help() -> None:
    assert _fails_closed("preview") == (
        "error: the following arguments are required: stack (see `python -m stacks preview --help`)"
    )
    assert _fails_closed("check", "local", "--no-such-flag").startswith("error: unrecognized arguments: --no-such")


def test_version_prints_the_version_of_pyproject() -> None:
    result = _cli("--version")
    expected = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (result.returncode, result.stdout) == (0, f"python -m stacks {expected}\n")


@pytest.mark.parametrize("command", [None, *sorted(COMMANDS)])
def test_every_help_documents_the_exit_codes(command: str | None) -> None:
    parser = build_parser()
    if command:
        subparsers = next(a for a in parser._actions if a.dest == "command")  # argparse has no API for it
        parser = subparsers.choices[command]  # type: ignore[attr-defined]
    text = " ".join(parser.format_help().split())
    assert "Exit codes: 0 " in text and "2 " in text.split("Exit codes: 0 ", 1)[1], text
    assert "--project-dir" in text
