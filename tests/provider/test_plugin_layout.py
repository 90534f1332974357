"""The plugin directory is what `pulumi package add <repository>/provider` expects of a Python plugin."""

from __future__ import annotations

from importlib.metadata import version

import yaml
from packaging.requirements import Requirement

from stacks.synth import PROJECT_ROOT
from tests.provider.harness import PROVIDER_DIR


def _requirements(path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_the_plugin_is_a_python_directory_beside_the_platform_program() -> None:
    manifest = yaml.safe_load((PROVIDER_DIR / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert (PROVIDER_DIR / "__main__.py").is_file(), "the Python host runs `python <plugin directory>`"
    assert not (PROJECT_ROOT / "PulumiPlugin.yaml").exists(), (
        "the repository root stays the platform program (Pulumi.yaml, __main__.py); the plugin lives in provider/"
    )


def test_the_plugin_virtualenv_installs_the_components_dependencies_and_a_tested_pulumi() -> None:
    lines = _requirements(PROVIDER_DIR / "requirements.txt")
    assert "-r ../requirements.txt" in lines, "pip resolves a nested -r from the including file: the root list"
    assert (PROVIDER_DIR / "../requirements.txt").resolve() == PROJECT_ROOT / "requirements.txt"
    pins = [Requirement(line) for line in lines if not line.startswith("-")]
    pulumi = next(pin for pin in pins if pin.name == "pulumi")
    assert version("pulumi") in pulumi.specifier, "the tests ran the component host of an SDK the pin admits"
    assert not pulumi.specifier.contains("3.180.0"), (
        "pulumi.provider.experimental moves between releases: the plugin needs at least the SDK the tests ran, "
        "not merely the floor the Python program accepts"
    )
