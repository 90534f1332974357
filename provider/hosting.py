"""The `mlplatform` component provider: Pulumi's Python component host, serving every public component."""

import dataclasses
import inspect
import json
import tomllib
from pathlib import Path
from typing import Any

import pulumi
import pulumi.provider
from pulumi.provider import ConstructResult
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

import components
from provider.package_schema import finish_schema, secret_inputs, secret_outputs

PACKAGE_NAME = "mlplatform"
"""The package name, the first segment of every type token (`mlplatform:index:<ClassName>`, DESIGN.md §3)."""

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def _project() -> dict[str, Any]:
    with (REPOSITORY_ROOT / "pyproject.toml").open("rb") as file:
        return dict(tomllib.load(file)["project"])


def package_version() -> str:
    """The project version from `pyproject.toml`: the provider, its schema and generated SDKs carry it."""
    return str(_project()["version"])


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """Every public component: each `ComponentResource` class that `components.__all__` exports, in that order."""
    exported = [getattr(components, name) for name in components.__all__]
    return [item for item in exported if inspect.isclass(item) and issubclass(item, pulumi.ComponentResource)]


def license_id() -> str:
    """The SPDX identifier of the project's license: pyproject's `license` (PEP 639 string, or the older table)."""
    declared = _project()["license"]
    return str(declared["text"] if isinstance(declared, dict) else declared)


class MlPlatformProvider(ComponentProvider):
    """Pulumi's component provider for the public components, with the published schema and the wire fixed up.

    On top of `ComponentProvider` (schema inferred from the documented Args TypedDicts, Construct mapping
    camelCase inputs to them):
    - the schema is `finish_schema`'s: clean descriptions, package metadata, secrets marked secret;
    - secret inputs reach the component as secrets and secret outputs leave it as secrets, even when the
      consumer sent a literal (YAML) or the component forgot `Output.secret`;
    - integers arrive as integers (the wire carries every number as a float, which the components' checks
      rightly reject), including inside lists, maps and nested types, and when the value is an `Output`;
    - a component's `InputPropertiesError` reaches the engine as such, so the consumer sees every problem
      with its property path instead of a traceback.
    """

    def __init__(self) -> None:
        super().__init__(hosted_components(), PACKAGE_NAME, version=package_version())
        analyzed = json.loads(self.schema or "{}")
        self.published_schema = finish_schema(analyzed, license_id=license_id())
        self.schema = json.dumps(self.published_schema)

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        """Construct the component of `resource_type` (`mlplatform:index:<ClassName>`) named `name`."""
        component = resource_type.rsplit(":", maxsplit=1)[-1]
        if f"{PACKAGE_NAME}:index:{component}" in self.published_schema["resources"]:
            inputs = secret_inputs(self.published_schema, component, inputs)
        try:
            result = super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            if isinstance(error.inner, pulumi.InputPropertiesError):
                raise error.inner from error
            raise
        return ConstructResult(result.urn, secret_outputs(component, result.state))

    def map_input_properties(
        self,
        inputs: pulumi.Inputs,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> pulumi.Inputs:
        """Map one level of schema inputs to Python names (see `ComponentProvider`), with integers as `int`."""
        if isinstance(inputs, dict):
            inputs = {key: _as_integers(properties.get(key), value) for key, value in inputs.items()}
            # The base class calls int() on integer properties, which fails on an Output; it is converted above.
            properties = {
                key: dataclasses.replace(prop, type=None)
                if prop.type == PropertyType.INTEGER and isinstance(inputs.get(key), pulumi.Output)
                else prop
                for key, prop in properties.items()
            }
        return super().map_input_properties(inputs, properties, mapping, component_name, property_path)


def _as_integers(prop: PropertyDefinition | None, value: Any) -> Any:
    """`value` with every number that the schema declares an integer converted from the wire's float."""
    if prop is None or value is None:
        return value
    if prop.type == PropertyType.INTEGER:
        if isinstance(value, pulumi.Output):
            return value.apply(_integer)
        return _integer(value)
    if prop.type == PropertyType.ARRAY and prop.items is not None and isinstance(value, list):
        return [_as_integers(prop.items, item) for item in value]
    if prop.additional_properties is not None and isinstance(value, dict):
        return {key: _as_integers(prop.additional_properties, item) for key, item in value.items()}
    return value


def _integer(value: Any) -> Any:
    # Only whole floats become ints: anything else stays as sent, for the component's validation to report.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def serve(args: list[str]) -> None:
    """Serve the provider over gRPC as the Pulumi engine expects: print the port, then block.

    Args:
        args: the command-line arguments after the program, the engine address first.
    """
    pulumi.provider.main(MlPlatformProvider(), args)
