"""The published schema of the `mlplatform` package: analyzer output plus clean docs, metadata and secret marks."""

import copy
import inspect
from collections.abc import Mapping
from typing import Any

import pulumi

PACKAGE_DESCRIPTION = "Pulumi components for GPU ML platforms on EKS and AKS: clusters with GPU pools, registries, encrypted storage, monitoring, logging and model serving."
PACKAGE_KEYWORDS = [
    "pulumi",
    "kubernetes",
    "gpu",
    "machine-learning",
    "aws",
    "eks",
    "azure",
    "aks",
    "category/cloud",
    "kind/component",
]

SECRET_INPUTS: dict[str, frozenset[str]] = {
    "AwsPostgres": frozenset({"masterPassword"}),
    "AzurePostgres": frozenset({"administratorPassword"}),
    "ExperimentTracking": frozenset({"databasePassword"}),
    "Monitoring": frozenset({"alertReceiverSecret"}),
}
"""Component inputs that carry a secret, by component name (schema property names)."""

SECRET_OUTPUTS: dict[str, frozenset[str]] = {
    "AwsGpuCluster": frozenset({"kubeconfig"}),
    "AzureGpuCluster": frozenset({"kubeconfig"}),
    "ExperimentTracking": frozenset({"adminPassword"}),
    "Monitoring": frozenset({"grafanaAdminPassword"}),
}
"""Component outputs that carry a secret, by component name (schema property names)."""

SECRET_TYPE_PROPERTIES: dict[str, frozenset[str]] = {
    "RegistryAuth": frozenset({"password"}),
}
"""Properties of nested argument types that carry a secret, by type name (schema property names)."""


def finish_schema(analyzed: Mapping[str, Any], *, license_id: str) -> dict[str, Any]:
    """The schema to publish, built from the one Pulumi's analyzer infers from the components.

    The analyzer copies docstrings verbatim (with their source indentation) and has no notion of secrets, so
    this cleans every description, adds the package metadata and marks the secret properties `"secret": true`:
    generated SDKs then encrypt those inputs before they leave the consumer and keep those outputs secret.

    Args:
        analyzed: the analyzer's schema (`ComponentProvider(...).schema`, parsed); it is not modified.
        license_id: the SPDX identifier of the project's license.

    Raises:
        KeyError: when a secret named in `SECRET_INPUTS`, `SECRET_OUTPUTS` or `SECRET_TYPE_PROPERTIES` is not in
            the schema (a component or property was renamed and the table was not).
    """
    schema = copy.deepcopy(dict(analyzed))
    name = schema["name"]
    schema.update(description=PACKAGE_DESCRIPTION, keywords=PACKAGE_KEYWORDS, license=license_id)
    for definition in [*schema.get("resources", {}).values(), *schema.get("types", {}).values()]:
        _clean_description(definition)
        for properties in ("inputProperties", "properties"):
            for prop in definition.get(properties, {}).values():
                _clean_description(prop)
    for component, secret_names in SECRET_INPUTS.items():
        _mark_secret(schema, "resources", f"{name}:index:{component}", "inputProperties", secret_names)
    for component, secret_names in SECRET_OUTPUTS.items():
        _mark_secret(schema, "resources", f"{name}:index:{component}", "properties", secret_names)
    for type_name, secret_names in SECRET_TYPE_PROPERTIES.items():
        _mark_secret(schema, "types", f"{name}:index:{type_name}", "properties", secret_names)
    return schema


def _clean_description(definition: dict[str, Any]) -> None:
    """Dedent a docstring-derived description, and its items' and values', so that it renders as Markdown."""
    if definition.get("description"):
        definition["description"] = inspect.cleandoc(definition["description"])
    for nested in ("items", "additionalProperties"):
        if isinstance(definition.get(nested), dict):
            _clean_description(definition[nested])


def _mark_secret(schema: dict[str, Any], section: str, token: str, properties: str, names: frozenset[str]) -> None:
    declared = schema[section].get(token, {}).get(properties, {})
    for property_name in sorted(names):
        if property_name not in declared:
            raise KeyError(f"the secret {token}.{property_name} is not in the schema: update the secret tables")
        declared[property_name]["secret"] = True


def secret_inputs(schema: Mapping[str, Any], component: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`inputs` of `component` (schema names) with every secret input, nested ones included, made a secret.

    Generated SDKs encrypt secret inputs themselves, but a YAML program or an older SDK may send a literal;
    the component must never see it as plain text (it would land in state and logs unencrypted).
    """
    token = f"{schema['name']}:index:{component}"
    declared = schema["resources"][token]["inputProperties"]
    return {key: _secret_value(schema, declared.get(key), value) for key, value in inputs.items()}


def _secret_value(schema: Mapping[str, Any], prop: Mapping[str, Any] | None, value: Any) -> Any:
    if prop is None or value is None:
        return value
    if prop.get("secret"):
        return pulumi.Output.secret(value)
    item = prop.get("items")
    if item is not None and isinstance(value, list):
        return [_secret_value(schema, item, element) for element in value]
    entry = prop.get("additionalProperties")
    if entry is not None and isinstance(value, dict):
        return {key: _secret_value(schema, entry, element) for key, element in value.items()}
    nested = _referenced_type(schema, prop)
    if nested is not None and isinstance(value, dict):
        properties = nested.get("properties", {})
        return {key: _secret_value(schema, properties.get(key), element) for key, element in value.items()}
    return value


def _referenced_type(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> Mapping[str, Any] | None:
    reference = prop.get("$ref", "")
    if not reference.startswith("#/types/"):
        return None
    return schema.get("types", {}).get(reference.removeprefix("#/types/"))


def secret_outputs(component: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """The construct `state` of `component` with its secret outputs wrapped as secrets, whatever the code did."""
    names = SECRET_OUTPUTS.get(component, frozenset())
    return {key: pulumi.Output.secret(value) if key in names else value for key, value in state.items()}
