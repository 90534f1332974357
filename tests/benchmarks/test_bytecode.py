"""Fresh-process runs import every program from bytecode, ours as the SDKs in site-packages already do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks.suite import compile_bytecode, project_packages
from stacks.synth import PROJECT_ROOT


def test_every_module_of_a_program_is_compiled_to_bytecode_even_where_python_writes_none(tmp_path: Path) -> None:
    package = tmp_path / "program"
    (package / "inner").mkdir(parents=True)
    modules = [package / "__init__.py", package / "main.py", package / "inner" / "__init__.py"]
    for module in modules:
        module.write_text("VALUE = 1\n")
    compile_bytecode(package)
    missing = [str(module) for module in modules if not Path(importlib.util.cache_from_source(str(module))).is_file()]
    assert not missing, f"compile_bytecode left these modules without bytecode: {missing}"


def test_a_module_that_does_not_compile_stops_the_benchmark_naming_its_directory(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n")
    with pytest.raises(RuntimeError, match=str(tmp_path)):
        compile_bytecode(tmp_path)


def test_the_project_packages_are_what_a_synthesis_imports_and_not_the_tests() -> None:
    names = {path.name for path in project_packages(PROJECT_ROOT)}
    assert {"stacks", "components", "benchmarks", "policies"} <= names, f"packages found: {sorted(names)}"
    assert "tests" not in names, "the tests are not part of any synthesis; compiling them is wasted time"
