"""The YAML example is what a non-Python team writes: checked against the schema, then run through the provider."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi.runtime.sync_await import _sync_await

import components
from provider.hosting import MlPlatformProvider
from stacks.synth import PROJECT_ROOT, install_recording_mocks, plausible_outputs, run_program, synthesize
from tests.provider.harness import PROVIDER_DIR

EXAMPLE = PROJECT_ROOT / "examples" / "yaml-consumer" / "Pulumi.yaml"
EXPRESSION = re.compile(r"\$\{([^}]+)\}")
ACCESSOR = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\"([^\"]+)\"\]")
OTHER_TYPES = {"pulumi:pulumi:StackReference", "pulumi:providers:kubernetes"}
DIGEST_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/models/fraud@sha256:" + "cd" * 32
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@pytest.fixture(scope="module")
def program() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def _references(value: Any) -> list[tuple[str, list[str]]]:
    """Every `${root.path["key"]}` in `value`, as (root, [accessors])."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in _references(item)]
    if isinstance(value, list):
        return [found for item in value for found in _references(item)]
    if not isinstance(value, str):
        return []
    found = []
    for expression in EXPRESSION.findall(value):
        root = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expression)
        assert root is not None, f"unparseable expression ${{{expression}}}"
        accessors = [name or key for name, key in ACCESSOR.findall(expression[root.end() :])]
        found.append((root.group(0), accessors))
    return found


def _components(program: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in program["resources"].items() if spec["type"].startswith("mlplatform:")}


def test_the_program_uses_the_package_from_this_repository(program) -> None:
    assert program["runtime"] == "yaml", "the example is what a team without Python writes"
    source = (EXAMPLE.parent / program["packages"]["mlplatform"]).resolve()
    assert source == PROVIDER_DIR and (source / "PulumiPlugin.yaml").is_file(), (
        "`pulumi package add` recorded the plugin directory, whose PulumiPlugin.yaml tells the CLI how to run it"
    )
    assert {spec["type"] for spec in program["resources"].values()} - OTHER_TYPES == {
        f"mlplatform:index:{name}" for name in ("AwsServingIdentity", "ModelServingNamespace", "ModelDeployment")
    }, "besides the platform components, a stack reference and a Kubernetes provider: no other package"


def test_every_component_and_input_is_in_the_schema_with_its_type(program, published_schema) -> None:
    for name, spec in _components(program).items():
        assert spec["type"] in published_schema["resources"], f"{name}: {spec['type']} is not a hosted component"
        declared = published_schema["resources"][spec["type"]]
        properties = spec.get("properties", {})
        unknown = set(properties) - set(declared["inputProperties"])
        assert not unknown, f"{name} sets inputs the schema does not declare: {sorted(unknown)}"
        missing = set(declared["requiredInputs"]) - set(properties)
        assert not missing, f"{name} lacks required inputs: {sorted(missing)}"
        for key, value in properties.items():
            if isinstance(value, str) and EXPRESSION.fullmatch(value):
                continue
            expected = declared["inputProperties"][key].get("type", "string")
            is_bool = isinstance(value, bool)
            assert isinstance(value, JSON_TYPES[expected]) and (expected == "boolean" or not is_bool), (
                f"{name}.{key} is a {expected} in the schema, got {value!r}"
            )


def test_plain_inputs_get_values_known_before_the_deployment(program, published_schema) -> None:
    resources = set(program["resources"])
    for name, spec in _components(program).items():
        declared = published_schema["resources"][spec["type"]]["inputProperties"]
        for key, value in spec.get("properties", {}).items():
            if declared[key].get("plain"):
                computed = [root for root, _ in _references(value) if root in resources]
                assert not computed, (
                    f"{name}.{key} shapes the resource graph (plain), so it takes a literal or config, not an "
                    f"output of {computed}"
                )


def test_every_reference_names_a_declared_value_and_an_output_the_schema_declares(program, published_schema) -> None:
    declared_names = set(program["resources"]) | set(program.get("config", {})) | set(program.get("variables", {}))
    for root, accessors in _references([program["resources"], program["outputs"]]):
        assert root in declared_names, f"${{{root}...}} names nothing the program declares"
        kind = program["resources"].get(root, {}).get("type", "")
        if kind.startswith("mlplatform:"):
            outputs = published_schema["resources"][kind]["properties"]
            assert accessors and accessors[0] in outputs, f"{root} ({kind}) has no output {accessors[:1]}"
        if kind == "pulumi:pulumi:StackReference":
            assert accessors[:1] == ["outputs"] and len(accessors) >= 2, f"read {root} through outputs[...]"


def test_components_that_create_kubernetes_objects_get_the_clusters_provider(program) -> None:
    providers = {name for name, spec in program["resources"].items() if spec["type"] == "pulumi:providers:kubernetes"}
    for name, spec in _components(program).items():
        if getattr(components, spec["type"].split(":")[-1]).__module__.startswith("components.kubernetes."):
            given = [root for root, _ in _references(spec.get("options", {}).get("providers", []))]
            assert given and set(given) <= providers, (
                f"{name} creates Kubernetes objects: without providers: [${{cluster}}] they would go to whatever "
                "cluster the ambient kubeconfig points at"
            )


class _Evaluation:
    """Runs the example's resources through the provider in-process, reading the platform stack's real outputs."""

    def __init__(self, program: dict[str, Any], config: dict[str, str], platform_outputs: dict[str, Any]) -> None:
        self.program = program
        self.config = config
        self.platform_outputs = platform_outputs
        self.provider = MlPlatformProvider()
        self.values: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}

    def run(self) -> None:
        for name, spec in self.program["resources"].items():
            properties = self.resolve(spec.get("properties", {}))
            if spec["type"] == "pulumi:pulumi:StackReference":
                self.values[name] = {"outputs": self.platform_outputs}
            elif spec["type"] == "pulumi:providers:kubernetes":
                self.values[name] = k8s.Provider(name, **properties)
            else:
                given = self.resolve(spec.get("options", {}).get("providers", []))
                options = pulumi.ResourceOptions(providers=given)
                self.values[name] = self.provider.construct(name, spec["type"], properties, options).state
        self.outputs = {key: self.resolve(value) for key, value in self.program["outputs"].items()}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = EXPRESSION.fullmatch(value)
        if whole:
            return self._lookup(_references(value)[0])
        parts: list[Any] = []
        for index, piece in enumerate(EXPRESSION.split(value)):
            parts.append(piece if index % 2 == 0 else self._lookup(_references(f"${{{piece}}}")[0]))
        return pulumi.Output.all(*parts).apply(lambda resolved: "".join(str(part) for part in resolved))

    def _lookup(self, reference: tuple[str, list[str]]) -> Any:
        root, accessors = reference
        if root in self.config:
            return self.config[root]
        assert root in self.values, f"${{{root}}} is used before the resource is declared (this evaluator's order)"
        value: Any = self.values[root]
        for accessor in accessors:
            value = pulumi.Output.from_input(value).apply(lambda found, key=accessor: found[key])
        return value


def test_the_example_runs_through_the_provider_on_the_platform_stacks_outputs(program) -> None:
    platform = synthesize("prod")
    recorder = install_recording_mocks(project="fraud-serving", stack="dev")
    evaluation = _Evaluation(
        program, {"platformStack": "acme/mlplatform/prod", "modelImage": DIGEST_IMAGE}, platform.outputs
    )
    run_program(evaluation.run)

    account = recorder.one("kubernetes:core/v1:ServiceAccount", "serving-service-account")
    role = recorder.one("aws:iam/role:Role", "identity-role")
    role_arn = plausible_outputs(role.type, role.name, role.inputs)["arn"]
    assert account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn, (
        "the namespace's service account assumes the role the identity component created"
    )
    server = recorder.one("kubernetes:apps/v1:Deployment", "scorer-deployment")
    pod = server.inputs["spec"]["template"]["spec"]
    assert (server.inputs["metadata"]["namespace"], pod["serviceAccountName"]) == ("fraud-scoring", "model-server")
    assert pod["containers"][0]["image"] == DIGEST_IMAGE
    kubernetes_objects = [r for r in recorder.registrations if r.type.startswith("kubernetes:") and r.custom]
    cluster = recorder.one("pulumi:providers:kubernetes", "cluster")
    assert kubernetes_objects and all(r.provider.startswith(cluster.urn) for r in kubernetes_objects), (
        "every Kubernetes object goes through the provider built from the platform's kubeconfig"
    )
    assert _sync_await(evaluation.outputs["serviceUrl"].future()).startswith("http://scorer.fraud-scoring.svc")
