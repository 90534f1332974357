"""`components` exports every public component and loads a cloud's SDK only when one of that cloud's names is used."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

import components
from stacks.synth import PROJECT_ROOT

SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_docker", "pulumi_kubernetes")


def sdks_loaded_by(statement: str) -> set[str]:
    """The SDK packages of `SDKS` a fresh interpreter has loaded after running `statement`."""
    script = textwrap.dedent(
        f"""
        import json, os, sys
        {statement}
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({list(SDKS)!r}))), flush=True)
        os._exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("import components", set()),
        ("from components import AwsGpuCluster", {"pulumi_aws"}),
        ("from components import AzureGpuCluster", {"pulumi_azure_native"}),
        ("from components import Monitoring", {"pulumi_kubernetes"}),
        ("from components import ModelImage", {"pulumi_docker"}),
        ("import components; components.AwsNetworkArgs", {"pulumi_aws"}),
    ],
)
def test_a_name_loads_only_the_sdk_of_the_package_that_defines_it(statement: str, expected: set[str]) -> None:
    loaded = sdks_loaded_by(statement)
    assert loaded == expected, (
        f"`{statement}` loaded {sorted(loaded)}: each cloud's SDK costs seconds to import, so `components` loads the "
        f"package of a name when it is used (expected {sorted(expected) or 'none'})"
    )


def test_every_exported_name_is_the_object_of_the_module_that_defines_it() -> None:
    for module, names in components._EXPORTS.items():
        defining = importlib.import_module(module)
        for name in names:
            assert getattr(components, name) is getattr(defining, name), f"components.{name} is {module}.{name}"
    exported = [name for names in components._EXPORTS.values() for name in names]
    assert sorted(components.__all__) == sorted(exported), "__all__ lists exactly the names the package resolves"
    assert len(set(exported)) == len(exported), "each name is exported from one module"


def test_dir_and_star_import_list_every_public_name() -> None:
    assert set(components.__all__) <= set(dir(components)), "dir() shows the lazily loaded names too"
    namespace: dict[str, object] = {}
    exec("from components import *", namespace)  # the statement users write
    assert set(components.__all__) <= set(namespace), "`from components import *` binds every public name"


def test_type_checkers_see_the_same_names_from_the_same_modules() -> None:
    tree = ast.parse(inspect.getsource(components))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    )
    seen: dict[str, set[str]] = {}
    for node in guarded.body:
        if not (isinstance(node, ast.ImportFrom) and node.module):
            continue
        names = seen.setdefault(node.module, set())
        for alias in node.names:
            if alias.name == "*":
                names.update(importlib.import_module(node.module).__all__)
            else:
                assert alias.asname == alias.name, (
                    f"`from {node.module} import {alias.name}` must be written `as {alias.name}`: only the redundant "
                    "alias tells type checkers the name is re-exported"
                )
                names.add(alias.name)
    expected = {module: set(names) for module, names in components._EXPORTS.items()}
    assert seen == expected, (
        "the `if TYPE_CHECKING:` imports (what mypy and pyright read) must re-export exactly the names of the runtime "
        "table `_EXPORTS`, from the same modules: a package's `__all__` and its row in `_EXPORTS` disagree"
    )


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'AwsGpuClusters'"):
        _ = components.AwsGpuClusters
