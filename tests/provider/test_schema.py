"""The published schema: every public component, documented, with secrets marked and no component as an input."""

from __future__ import annotations

import ast
import json
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.util import camel_case

import components
from provider.hosting import PACKAGE_NAME, hosted_components, package_version
from stacks.synth import PROJECT_ROOT
from tests.components.test_component_conventions import COMPONENT_MODULES, public_components

BUILT_IN_REFERENCES = ("pulumi.json#/Any", "pulumi.json#/Asset", "pulumi.json#/Archive")


def _described(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every resource, type and property of the schema that a reader needs documented, with where it is."""
    for section in ("resources", "types"):
        for token, definition in schema[section].items():
            yield token, definition
            for properties in ("inputProperties", "properties"):
                for key, prop in definition.get(properties, {}).items():
                    yield f"{token}.{properties}.{key}", prop


def _text(prop: Mapping[str, Any]) -> str:
    return " ".join(prop.get("description", "").split())


def _input_references(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every `$ref` reachable from a component's inputs, nested types included, as (where, reference)."""

    def walk(where: str, prop: Mapping[str, Any], seen: frozenset[str]) -> Iterator[tuple[str, str]]:
        reference = prop.get("$ref")
        if reference:
            yield where, reference
            nested = schema["types"].get(reference.removeprefix("#/types/"))
            if nested is not None and reference not in seen:
                for key, nested_prop in nested["properties"].items():
                    yield from walk(f"{where}.{key}", nested_prop, seen | {reference})
        for child, suffix in (("items", "[]"), ("additionalProperties", "{}")):
            if child in prop:
                yield from walk(f"{where}{suffix}", prop[child], seen)

    for token, resource in schema["resources"].items():
        for key, prop in resource["inputProperties"].items():
            yield from walk(f"{token}.{key}", prop, frozenset())


def test_pulumis_analyzer_accepts_all_public_components_together() -> None:
    result = Analyzer(PACKAGE_NAME).analyze(hosted_components())
    assert sorted(result["component_definitions"]) == sorted(c.__name__ for c in public_components()), (
        "analyzing every component in one package surfaces what analyzing them one by one cannot: two nested "
        "arg types with one name (DuplicateTypeError)"
    )
    assert not result["dependencies"], "no input or output is a resource of another package, so no schema refs"


def test_every_public_component_is_a_resource_under_the_token_of_its_class_name(published_schema) -> None:
    expected = {f"{PACKAGE_NAME}:index:{component.__name__}" for component in public_components()}
    assert set(published_schema["resources"]) == expected, "every public component is hosted, and nothing else"
    for token, resource in published_schema["resources"].items():
        assert resource["isComponent"], f"{token} is a component resource (remote: true), not a custom resource"


def test_the_package_has_the_name_of_the_tokens_and_the_version_of_the_project(published_schema) -> None:
    assert published_schema["name"] == "mlplatform", "the first segment of every mlplatform:index:<ClassName>"
    assert published_schema["version"] == package_version() == "0.1.0", "one version, pyproject.toml's"
    assert published_schema["license"] == "Apache-2.0"
    assert published_schema["description"], "the package description heads the generated SDKs' READMEs"


def test_every_resource_type_and_property_is_described(published_schema) -> None:
    undocumented = [where for where, item in _described(published_schema) if not _text(item)]
    assert not undocumented, f"descriptions come from the docstrings and are the consumers' docs: {undocumented}"


def test_descriptions_are_dedented_markdown(published_schema) -> None:
    indented = [where for where, item in _described(published_schema) if "\n    " in item.get("description", "")]
    assert not indented, f"docstring indentation would render as code blocks in generated docs: {indented}"
    assert "\\n    " not in json.dumps(published_schema), "array items and map values repeat descriptions, dedented"
    monitoring = published_schema["resources"]["mlplatform:index:Monitoring"]["description"]
    assert "\nCreates:\n- " in monitoring, "the class docstring's Creates list stays a Markdown list"


def test_every_optional_input_states_its_default_or_when_it_is_required(published_schema) -> None:
    silent = []
    for section, properties, required in (
        ("resources", "inputProperties", "requiredInputs"),
        ("types", "properties", "required"),
    ):
        for token, definition in published_schema[section].items():
            for key, prop in definition[properties].items():
                stated = re.search(r"\bDefaults? to\b|\brequired\b", _text(prop), re.IGNORECASE)
                if key not in definition.get(required, []) and not stated:
                    silent.append(f"{token}.{key}")
    assert not silent, f"optional inputs say 'Defaults to ...' (DESIGN.md §3) or when they are required: {silent}"


def test_an_input_documented_as_required_is_required_in_the_schema(published_schema) -> None:
    loose = []
    for section, properties, required in (
        ("resources", "inputProperties", "requiredInputs"),
        ("types", "properties", "required"),
    ):
        for token, definition in published_schema[section].items():
            for key, prop in definition[properties].items():
                # "Required." or "Required:" as a sentence; "Required when/unless ..." stays conditional.
                unconditional = re.search(r"\bRequired[.:]", _text(prop))
                if unconditional and key not in definition.get(required, []):
                    loose.append(f"{token}.{key}")
    assert not loose, f"documented as required but optional in the schema (use Required[...] in the TypedDict): {loose}"


def test_nested_arg_types_have_unique_names_that_python_consumers_import_too(published_schema) -> None:
    referenced = {reference for _, reference in _input_references(published_schema)}
    for token, definition in published_schema["types"].items():
        name = token.split(":")[-1]
        assert f"#/types/{token}" in referenced, f"{name} is reachable from some component's inputs"
        assert token == f"{PACKAGE_NAME}:index:{name}", "types share the components' `index` module"
        exported = getattr(components, name, None)
        assert exported is not None and typing.is_typeddict(exported), (
            f"{name} is a TypedDict exported by `components` under the schema's name, so Python and other "
            "languages speak of the same type"
        )
        assert definition["type"] == "object"


def test_no_component_takes_another_component_as_an_input(published_schema) -> None:
    for where, reference in _input_references(published_schema):
        assert "/resources/" not in reference, (
            f"{where} refers to the resource {reference}: components are wired through plain outputs "
            "(STYLE.md §2.3), which every language can pass"
        )
        local = reference.removeprefix("#/types/")
        assert reference in BUILT_IN_REFERENCES or local in published_schema["types"], (
            f"{where} refers to {reference}, which the schema does not define"
        )


def test_secret_inputs_and_outputs_are_marked_secret(published_schema) -> None:
    marked = {where for where, item in _described(published_schema) if item.get("secret")}
    assert marked == {
        "mlplatform:index:AwsGpuCluster.properties.kubeconfig",
        "mlplatform:index:AwsPostgres.inputProperties.masterPassword",
        "mlplatform:index:AzureGpuCluster.properties.kubeconfig",
        "mlplatform:index:AzurePostgres.inputProperties.administratorPassword",
        "mlplatform:index:ExperimentTracking.inputProperties.databasePassword",
        "mlplatform:index:ExperimentTracking.properties.adminPassword",
        "mlplatform:index:Monitoring.properties.grafanaAdminPassword",
        "mlplatform:index:Monitoring.inputProperties.alertReceiverSecret",
        "mlplatform:index:RegistryAuth.properties.password",
    }, "generated SDKs encrypt secret inputs before they leave the program and keep secret outputs secret"


def test_every_property_documented_as_a_secret_is_marked_secret(published_schema) -> None:
    for where, item in _described(published_schema):
        # "secret" in lower case is the value being a secret; "Secret" is a Kubernetes object, "secrets" etcd's.
        if "." not in where or not re.search(r"(?<![A-Za-z])secret(?![A-Za-z])", _text(item)):
            continue
        nested = published_schema["types"].get(item.get("$ref", "").removeprefix("#/types/"), {})
        carries_secret = any(prop.get("secret") for prop in nested.get("properties", {}).values())
        assert item.get("secret") or carries_secret, f"{where} says it is a secret: {_text(item)!r}"


def test_every_output_a_component_wraps_in_output_secret_is_marked_secret(published_schema) -> None:
    wrapped = set()
    for path in COMPONENT_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for assign in ast.walk(node):
                if (
                    isinstance(assign, ast.Assign)
                    and isinstance(assign.value, ast.Call)
                    and ast.unparse(assign.value.func) == "pulumi.Output.secret"
                ):
                    for target in assign.targets:
                        if isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self":
                            wrapped.add((node.name, camel_case(target.attr)))
    assert wrapped, f"the components keep their secrets with Output.secret ({PROJECT_ROOT / 'components'})"
    for component, output in sorted(wrapped):
        prop = published_schema["resources"][f"{PACKAGE_NAME}:index:{component}"]["properties"][output]
        assert prop.get("secret"), f"{component}.{output} is Output.secret in the code, so secret in the schema"
