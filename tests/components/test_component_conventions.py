"""Conventions every public component keeps so it can also be hosted for other Pulumi languages."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pulumi
import pytest
from pulumi.provider.experimental.analyzer import Analyzer

import components
from stacks.synth import PROJECT_ROOT, RecordingMonitor

COMPONENT_MODULES = sorted(
    path
    for path in (PROJECT_ROOT / "components").rglob("*.py")
    if "_common" not in path.parts and path.name != "__init__.py"
)


def public_components() -> list[type[pulumi.ComponentResource]]:
    return [
        getattr(components, name)
        for name in components.__all__
        if inspect.isclass(getattr(components, name))
        and issubclass(getattr(components, name), pulumi.ComponentResource)
    ]


@pytest.mark.parametrize("path", COMPONENT_MODULES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_component_modules_do_not_postpone_annotations(path: Path) -> None:
    tree = ast.parse(path.read_text())
    postponed = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    assert not postponed, (
        "`from __future__ import annotations` turns annotations into strings, which Pulumi's component analyzer "
        "(pulumi.provider.experimental) cannot resolve: the component could not be hosted for other languages"
    )


@pytest.mark.parametrize("component", public_components(), ids=lambda c: c.__name__)
def test_every_public_component_has_the_token_of_its_class_name_and_analyzes(component: type) -> None:
    source = inspect.getsource(component.__init__)
    assert f'"mlplatform:index:{component.__name__}"' in source, (
        "tokens are mlplatform:index:<ClassName> (DESIGN.md §3)"
    )
    result = Analyzer("mlplatform").analyze([component])
    definition = result["component_definitions"][component.__name__]
    undocumented = [name for name, prop in {**definition.inputs, **definition.outputs}.items() if not prop.description]
    assert not undocumented, f"{component.__name__} has inputs/outputs without a docstring: {undocumented}"


@pytest.mark.parametrize("args", [[], None, "namespace=x"], ids=["list", "none", "string"])
@pytest.mark.parametrize("component", public_components(), ids=lambda c: c.__name__)
def test_a_component_given_args_that_are_not_a_mapping_names_itself_before_anything_registers(
    component: type, args: object, recorder: RecordingMonitor
) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        component("x", args)
    message = str(caught.value)
    assert message.startswith(f"invalid arguments for {component.__name__} 'x': args must be a mapping"), message
    assert caught.value.errors[0]["property_path"] == "args"
    assert recorder.registrations == [], "nothing registers before the arguments are checked"
