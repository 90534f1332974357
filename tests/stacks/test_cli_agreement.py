"""`validate`, `preview` and `check` agree on every stack file: the same verdict, the same keys, never a traceback.

Generated stack files move fields within and across the schema's limits, alone and together (cross-field rules
over defaults included). Each goes through the CLI's own entry point, `stacks.__main__.main`, for the three
commands: an exception escaping it (what a user would see as a traceback) fails the test like a wrong verdict.
The packs still run as their own processes, as in `check`. `tests/stacks/test_cli.py` runs the CLI as a process.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.__main__ import main
from stacks.load import FULL_KEY
from stacks.synth import PROJECT_ROOT

PROBLEM = re.compile(r"^\s+- mlplatform:platform\.(?P<key>[^:]+):", re.MULTILINE)

BASE: dict[str, Any] = {
    "environment": "dev",
    "target": {"cloud": "aws", "region": "eu-central-1"},
    "compliance": {"profiles": ["gdpr"]},
    "cluster": {
        "endpoint": {"publicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]},
        "gpuPools": [{"name": "a10g", "instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2}],
    },
    "serving": {"namespaces": [{"name": "fraud", "teamGroup": "ml-fraud", "quota": {"gpu": 1}}]},
}


@st.composite
def stack_files(draw: st.DrawFn) -> dict[str, Any]:
    """A dev stack with some fields moved, within and across their limits."""
    data = yaml.safe_load(yaml.safe_dump(BASE))
    pool = data["cluster"]["gpuPools"][0]
    pool["minSize"] = draw(st.sampled_from([0, 1, 3, -1]))
    pool["maxSize"] = draw(st.sampled_from([1, 2, 1001]))
    data["cluster"]["endpoint"]["publicAccessCidrs"] = [
        draw(st.sampled_from(["198.51.100.7/32", "0.0.0.0/0", "10.20.0.0/16", "not-a-cidr"]))
    ]
    data["logging"] = {"retentionDays": draw(st.sampled_from([90, 365, 400, 731]))}
    maximum = draw(st.sampled_from([None, 100, 3000]))
    if maximum is not None:
        data["compliance"]["maxLogRetentionDays"] = maximum
    data["serving"]["namespaces"][0]["name"] = draw(st.sampled_from(["fraud", "Fraud", "kube-system", "a-b"]))
    data["serving"]["namespaces"][0]["quota"]["gpu"] = draw(st.sampled_from([0, 1, 2000]))
    return data


def _run(capsys: pytest.CaptureFixture[str], project: Path, *arguments: str) -> tuple[int, str]:
    """Exit code and everything printed by `python -m stacks --project-dir PROJECT ARGUMENTS`."""
    capsys.readouterr()
    code = main(["--project-dir", str(project), *arguments])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=stack_files())
def test_validate_preview_and_check_agree_and_never_print_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]
) -> None:
    project = Path(tempfile.mkdtemp(dir=tmp_path))
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).write_text((PROJECT_ROOT / name).read_text())
    (project / "Pulumi.gen.yaml").write_text(yaml.safe_dump({"config": {FULL_KEY: data}}))
    results = {
        "validate": _run(capsys, project, "validate", "gen"),
        "preview": _run(capsys, project, "preview", "gen"),
        "check": _run(capsys, project, "check", "gen", "--summary"),
    }
    for command, (_, printed) in results.items():
        assert "Traceback" not in printed, f"{command} printed a traceback:\n{printed[-2000:]}"
    refused = {command: code == 2 for command, (code, _) in results.items()}
    assert len(set(refused.values())) == 1, f"the three commands disagree on accept/refuse: {refused}\n" + "\n".join(
        f"{c}: {code}\n{printed[-800:]}" for c, (code, printed) in results.items()
    )
    if refused["validate"]:
        keys = {command: {m["key"] for m in PROBLEM.finditer(printed)} for command, (_, printed) in results.items()}
        assert keys["validate"] and keys["validate"] == keys["preview"] == keys["check"], (
            f"the same keys named by each command: {keys}"
        )
    else:
        assert results["check"][0] in (0, 1), results["check"][1][-2000:]
