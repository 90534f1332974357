"""The packs stay thin and portable: rules import no cloud SDK, and a pack runs in a venv with only pulumi-policy."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from policies.frameworks import FRAMEWORKS
from policies.replay import PACKS_DIR, pack_process

RULES_DIR = Path(__file__).resolve().parents[2] / "policies" / "rules"
ALLOWED_PREFIXES = ("pulumi_policy", "components._common", "policies.rules")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(RULES_DIR.glob("*.py")), ids=lambda path: path.name)
def test_rule_modules_import_only_the_policy_sdk_the_stdlib_and_shared_constants(module: Path) -> None:
    for name in _imports(module):
        top = name.split(".")[0]
        allowed = top in sys.stdlib_module_names or top == "__future__" or name.startswith(ALLOWED_PREFIXES)
        assert allowed, (
            f"{module.name} imports {name}; rules may import only pulumi_policy, the stdlib and components._common"
        )
        assert name not in ("components._common.validation", "components"), (
            f"{module.name}: validation.py needs pulumi, use constants only"
        )


def test_a_pack_loads_its_rules_without_cloud_sdks_pydantic_or_the_components_package() -> None:
    script = textwrap.dedent(
        """
        import sys
        for blocked in ("pulumi_aws", "pulumi_azure_native", "pulumi_kubernetes", "pydantic", "stacks"):
            sys.modules[blocked] = None  # any import of these now fails
        sys.path.insert(0, sys.argv[1])
        from policies.pack import _shared_constants_without_cloud_sdks
        _shared_constants_without_cloud_sdks()
        from policies.frameworks import policies_for
        count = sum(len(policies_for(framework)) for framework in ("gdpr", "hipaa", "kubernetes-baseline"))
        assert not hasattr(sys.modules["components"], "__all__"), "components/__init__.py must not run"
        print(count)
        """
    )
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run([sys.executable, "-c", script, root], capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 100


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_each_pack_directory_is_what_the_cli_expects(framework: str) -> None:
    pack = PACKS_DIR / framework
    settings = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    assert settings["runtime"]["name"] == "python" and settings["version"] == "0.1.0"
    requirements = [
        line for line in (pack / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert requirements == ["pulumi-policy>=1.21,<1.22"], "the pack venv needs only the policy SDK"
    main = (pack / "__main__.py").read_text()
    assert "parents[3]" in main and f'serve("{framework}")' in main, (
        "the pack finds the repository relative to its own file"
    )


def test_a_pack_that_never_prints_its_port_fails_fast_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("import sys, time\nprint('loading rules', file=sys.stderr)\ntime.sleep(60)\n")
    with pytest.raises(RuntimeError, match="did not print its port") as error, pack_process(tmp_path, timeout=1.0):
        pass
    assert "loading rules" in str(error.value), "the pack's stderr explains the failure"


def test_a_pack_that_crashes_reports_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("raise ImportError('no module named policies')\n")
    with pytest.raises(RuntimeError, match="no module named policies"), pack_process(tmp_path, timeout=20.0):
        pass
