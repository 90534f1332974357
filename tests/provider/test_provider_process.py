"""The provider as its own process, as the Pulumi CLI runs it: GetSchema, and Construct against a mock monitor."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import grpc
import pulumi
import pytest
from google.protobuf import empty_pb2, json_format
from pulumi.provider.experimental.util import camel_case
from pulumi.runtime import rpc
from pulumi.runtime.proto import errors_pb2, provider_pb2, status_pb2
from pulumi.runtime.sync_await import _sync_await

import components
from provider.hosting import package_version
from stacks.synth import SECRET_SIG, SPECIAL_SIG_KEY, RecordingMonitor, install_recording_mocks, run_program
from tests.provider.harness import PROJECT, STACK, STACK_URN, MockDeployment

DIGEST_IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models/fraud@sha256:" + "ab" * 32

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "ModelServingNamespace": (
        "fraud",
        {
            "namespace": "fraud",
            "team_group": "ml-fraud",
            "quota_gpus": 2,
            "quota_pods": 40,
            "identity_kind": "aws",
            "identity_id": "arn:aws:iam::123456789012:role/fraud-serving",
            "egress_cidrs": ["10.0.0.0/16"],
            "namespace_labels": {"data-classification": "confidential"},
        },
    ),
    "ModelDeployment": (
        "scorer",
        {"namespace": "fraud", "image": DIGEST_IMAGE, "gpus": 1, "replicas": 2, "port": 8080, "env": {"MODEL": "v3"}},
    ),
    "ModelService": (
        "fraud",
        {
            "namespace": "fraud",
            "model": "fraud",
            "versions": [{"name": "v7", "image": DIGEST_IMAGE}, {"name": "v8", "image": DIGEST_IMAGE}],
            "stable": "v7",
            "canary": {"version": "v8", "weight": 10},
            "gateway": {"name": "serving", "namespace": "serving-gateway", "listener": "https"},
            "domain": "models.example.com",
            "namespace_gpu_quota": 2,
        },
    ),
    # Charts, custom resources, a CA from pulumi_tls and a random HMAC key: every kind of child the layer makes.
    "ServingGateway": (
        "gateway",
        {"domain": "models.internal.example", "serving_namespaces": ["fraud"], "cloud": "azure", "proxy_replicas": 3},
    ),
    # Its children call AWS functions (caller identity, partition): the monitor answers the invokes.
    "AwsEncryptedBucket": ("datasets", {"data_classification": "phi", "retention_days": 730}),
}
"""Per component: a name and arguments as a Python program passes them (snake_case keys, ints)."""


def _wire_inputs(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments as another language's SDK sends them: schema names (maps and lists keep their keys)."""
    return {camel_case(key): value for key, value in args.items()}


def _construct(
    provider: Any,
    deployment: MockDeployment,
    component: str,
    name: str,
    inputs: dict[str, Any],
    dependencies: dict[str, list[str]] | None = None,
) -> tuple[Any, RecordingMonitor]:
    """Call Construct as the engine does; returns the response and the monitor that recorded the children."""
    monitor = deployment.fresh_monitor()
    # Serialized by Pulumi's own runtime, as the engine receives them: every number a float, secrets wrapped.
    wire = _sync_await(rpc.serialize_properties(inputs, {}))
    request = provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        organization="organization",
        monitorEndpoint=deployment.address,
        type=f"mlplatform:index:{component}",
        name=name,
        parent=STACK_URN,
        inputs=wire,
        inputDependencies={
            key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns)
            for key, urns in (dependencies or {}).items()
        },
        accepts_output_values=True,
    )
    return provider.Construct(request, timeout=120), monitor


def _in_process(build: Callable[[], Any]) -> RecordingMonitor:
    recorder = install_recording_mocks(project=PROJECT, stack=STACK, preview=False)
    run_program(build)
    return recorder


def _by_urn(monitor: RecordingMonitor) -> dict[str, dict[str, Any]]:
    """Every registration but the stack's, by URN, with everything the engine would see but the raw request."""
    found = {}
    for registration in monitor.registrations:
        if registration.type == "pulumi:pulumi:Stack":
            continue
        seen = {field.name: getattr(registration, field.name) for field in dataclasses.fields(registration)}
        del seen["request"]
        # Dependencies are sets on the wire; their order is whichever the SDK's set iteration gave.
        seen["dependencies"] = sorted(registration.dependencies)
        seen["property_dependencies"] = {key: sorted(urns) for key, urns in registration.property_dependencies.items()}
        found[registration.urn] = seen
    return found


def _state(response: Any) -> dict[str, Any]:
    return json_format.MessageToDict(response.state)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SPECIAL_SIG_KEY) == SECRET_SIG


def test_the_plugin_prints_its_port_and_reports_the_project_version(provider) -> None:
    info = provider.GetPluginInfo(empty_pb2.Empty())
    assert info.version == package_version(), "the CLI records the plugin under the project's version"


def test_get_schema_serves_the_published_schema(provider, published_schema) -> None:
    served = provider.GetSchema(provider_pb2.GetSchemaRequest(version=0))
    assert json.loads(served.schema) == published_schema, (
        "the CLI generates each language's SDK from this schema: it is the one the tests check"
    )


@pytest.mark.parametrize("component", sorted(CASES))
def test_construct_registers_exactly_what_the_component_registers_in_process(provider, deployment, component) -> None:
    name, args = CASES[component]
    response, hosted = _construct(provider, deployment, component, name, _wire_inputs(args))
    local = _in_process(lambda: getattr(components, component)(name, args))

    assert response.urn == f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack$mlplatform:index:{component}::{name}"
    assert _by_urn(hosted) == _by_urn(local), (
        f"{component}, built for another language, registers the same resources, names, parents and inputs as "
        "the Python class (integers stay integers although the wire carries floats)"
    )
    component_urn = response.urn
    assert _state(response) == _by_urn(local)[component_urn]["outputs"], (
        "Construct returns the outputs the component registers"
    )


def test_construct_keeps_secret_inputs_and_outputs_secret(provider, deployment) -> None:
    args = {"alert_receiver": "webhook", "alert_receiver_secret": "https://hooks.example.com/ml-alerts"}
    # A YAML program sends the receiver URL as a literal; the schema marks it secret, so the provider wraps it.
    response, hosted = _construct(provider, deployment, "Monitoring", "metrics", _wire_inputs(args))
    local = _in_process(
        lambda: components.Monitoring(
            "metrics", {**args, "alert_receiver_secret": pulumi.Output.secret(args["alert_receiver_secret"])}
        )
    )

    password = response.state.fields["grafanaAdminPassword"]
    assert _is_secret(json_format.MessageToDict(password)), "the Grafana admin password leaves the provider secret"
    receiver = hosted.one("kubernetes:core/v1:Secret", "metrics-alert-receiver")
    assert receiver.secret_inputs == ["stringData"], "the receiver URL reaches the Kubernetes Secret as a secret"
    assert _by_urn(hosted) == _by_urn(local), "secret or not, the hosted component registers what Python does"


def test_invalid_arguments_fail_with_every_problem_and_its_property_path(provider, deployment) -> None:
    inputs = {"namespace": "Fraud_Team", "teamGroup": "ml-fraud", "quotaGpus": -1, "identityKind": "aws"}
    with pytest.raises(grpc.RpcError) as raised:
        _construct(provider, deployment, "ModelServingNamespace", "fraud", inputs)

    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, "the engine reports input errors, not a crash"
    details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    problems = errors_pb2.InputPropertiesError()
    assert status.details[0].Unpack(problems)
    assert {problem.property_path for problem in problems.errors} == {"namespace", "quotaGpus", "identityId"}, (
        "all problems at once, each with the consumer's property name (DESIGN.md §3)"
    )


def test_outputs_of_other_resources_arrive_as_outputs_and_keep_their_dependencies(provider, deployment) -> None:
    namespace_urn = f"urn:pulumi:{STACK}::{PROJECT}::mlplatform:index:ModelServingNamespace::fraud"
    inputs = {"namespace": "fraud", "image": DIGEST_IMAGE, "gpus": 1}
    # `namespace: ${serving.namespace}` in a YAML program: a value with a dependency, an Output for the component.
    response, hosted = _construct(
        provider, deployment, "ModelDeployment", "scorer", inputs, {"namespace": [namespace_urn]}
    )

    server = hosted.one("kubernetes:apps/v1:Deployment", "scorer-deployment")
    assert namespace_urn in server.dependencies, "the Deployment waits for the namespace the consumer passed"
    assert server.inputs["metadata"]["namespace"] == "fraud"
    container = server.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1", "a GPU count, not '1.0' from the wire's float"
    assert _state(response)["serviceUrl"].startswith("http://scorer.fraud.svc"), "outputs resolve as in Python"


def test_a_relative_build_context_is_found_in_the_consumers_directory(provider, deployment, consumer_dir) -> None:
    (consumer_dir / "model").mkdir(exist_ok=True)
    (consumer_dir / "model" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    registry = {"server": "123456789012.dkr.ecr.eu-central-1.amazonaws.com", "username": "AWS", "password": "token"}
    inputs = {
        "context": "model",
        "repositoryUrl": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models",
        "tag": "fraud-2026.11.1",
        "registry": registry,
    }
    response, hosted = _construct(provider, deployment, "ModelImage", "fraud", inputs)

    image = hosted.one("docker:index/image:Image", "fraud-image")
    assert image.inputs["build"]["context"] == "model", "the plugin runs in the consumer's directory, like docker"
    assert image.inputs["registry"]["server"] == registry["server"], "a nested arg type (RegistryAuth) maps over"
    assert "registry" in image.secret_inputs, "the registry password stays a secret"
    assert _state(response)["digestRef"].startswith(inputs["repositoryUrl"])
