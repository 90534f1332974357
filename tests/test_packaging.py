"""What a user installs: the wheel carries the policy packs, their configs and the license; the docs stand alone."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def _tracked(*patterns: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, check=True, capture_output=True, text=True)
    return [line for line in listed.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """`pip wheel .` as a user builds it, with the build backend requirements-dev.txt installs (setuptools>=77),
    so the test needs no download at run time."""
    target = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--quiet"),
            *("--wheel-dir", str(target)),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = target.glob("mlplatform-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_every_file_of_the_policy_packs_and_their_configs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    needed = _tracked("policies/packs", "policies/config")
    assert any(path.endswith("PulumiPolicy.yaml") for path in needed)
    missing = sorted(path for path in needed if path not in names)
    assert not missing, f"the Pulumi CLI or `check` loads these at run time, the wheel lacks them: {missing}"


def test_the_wheel_carries_the_license_pyproject_declares(wheel: zipfile.ZipFile) -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    fields = wheel.read(metadata).decode().splitlines()
    assert "License-Expression: Apache-2.0" in fields
    assert f"Version: {VERSION}" in fields
    (license_file,) = [name for name in wheel.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file).decode() == (ROOT / "LICENSE").read_text()


def test_the_license_file_is_the_apache_2_0_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_readme_version_references_match_pyproject() -> None:
    readme = (ROOT / "README.md").read_text()
    tags = re.findall(r"mlplatform/provider@v(\d+\.\d+\.\d+)", readme)
    packs = re.findall(r"mlplatform-(?:gdpr|hipaa|kubernetes-baseline) (\d+\.\d+\.\d+)", readme)
    assert tags and packs, "README names the provider tag and the packs' versions"
    assert set(tags) == {VERSION}, f"README's provider tag {sorted(set(tags))} is not pyproject's {VERSION}"
    assert set(packs) == {VERSION}, f"README's pack versions {sorted(set(packs))} are not pyproject's {VERSION}"


def test_the_policy_pack_manifests_carry_pyprojects_version() -> None:
    for manifest in sorted((ROOT / "policies" / "packs").glob("*/PulumiPolicy.yaml")):
        assert f"version: {VERSION}" in manifest.read_text().splitlines(), manifest


_LINK = re.compile(r"\]\(([^)#\s]+)[^)]*\)|`(\.\./[^`\s]+)`")


@pytest.mark.parametrize("document", [*_tracked("*.md")], ids=str)
def test_docs_point_only_at_files_inside_the_repository(document: str) -> None:
    path = ROOT / document
    outside = []
    for link, code in _LINK.findall(path.read_text()):
        target = link or code
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.is_relative_to(ROOT):
            outside.append(target)
    assert not outside, f"{document} points outside the repository: {outside}"


@pytest.mark.parametrize(
    "generated",
    [
        "out/check/prod.json",
        "prod.sarif",
        ".venv/bin/python",
        "stacks/__pycache__/synth.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/content",
        ".hypothesis/examples/x",
        "build/lib/stacks/synth.py",
        "dist/mlplatform-0.1.0-py3-none-any.whl",
        "mlplatform.egg-info/PKG-INFO",
        "provider/venv/bin/python",
        "policies/packs/gdpr/venv/bin/python",
        "examples/team/sdks/mlplatform/pyproject.toml",
        "sdks/mlplatform/index.ts",
    ],
)
def test_generated_outputs_are_gitignored(generated: str) -> None:
    result = subprocess.run(["git", "check-ignore", "--quiet", "--no-index", generated], cwd=ROOT)
    assert result.returncode == 0, f"{generated} is generated and must be ignored"
