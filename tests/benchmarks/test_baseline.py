"""The generated baseline registers exactly the graph it was generated from, with no components."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest

from benchmarks.baseline import (
    Node,
    baseline_source,
    graph_digest,
    node_from,
    sdk_modules,
    typed_baseline_source,
)
from stacks.synth import RecordingMonitor, install_recording_mocks, run_program


class _Bucket(pulumi.ComponentResource):
    """A small component: a key and a bucket that uses it, the bucket waiting for an explicit dependency."""

    def __init__(self, name: str, after: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Bucket", name, {}, opts)
        key = pulumi.CustomResource(
            "test:index:Key", f"{name}-key", {"rotation": True}, pulumi.ResourceOptions(parent=self)
        )
        pulumi.CustomResource(
            "test:index:Bucket",
            f"{name}-bucket",
            {"keyId": key.id, "tags": {"team": "ml"}, "password": pulumi.Output.secret("s3cret")},
            pulumi.ResourceOptions(
                parent=self, depends_on=[after], protect=True, ignore_changes=["tags"], retain_on_delete=True
            ),
        )
        self.register_outputs({})


def _program() -> None:
    provider = pulumi.ProviderResource("test", "explicit", {"region": "eu-west-1"})
    network = pulumi.CustomResource("test:index:Network", "network", {"cidr": "10.0.0.0/16"})
    first = _Bucket("first", network, pulumi.ResourceOptions(provider=provider))
    # A dependency on a component stands for every resource below it.
    pulumi.CustomResource("test:index:Reader", "reader", {"count": 3}, pulumi.ResourceOptions(depends_on=[first]))


def _record(build) -> RecordingMonitor:
    monitor = install_recording_mocks(project="mlplatform", stack="test")
    run_program(build)
    return monitor


def _nodes(monitor: RecordingMonitor) -> list[Node]:
    return [node_from(registration) for registration in monitor.registrations]


def test_the_baseline_registers_the_same_custom_resources_inputs_dependencies_and_options() -> None:
    original = _nodes(_record(_program))
    namespace: dict = {}
    exec(compile(baseline_source(original), "baseline_graph.py", "exec"), namespace)

    replayed = _nodes(_record(namespace["main"]))

    assert graph_digest(replayed) == graph_digest(original), "same types, names, wire inputs, providers, options, deps"
    assert not [node for node in replayed if not node.custom and node.type != "pulumi:pulumi:Stack"], (
        "the baseline has no components"
    )
    bucket = next(node for node in replayed if node.name == "first-bucket")
    assert bucket.protect and bucket.retain_on_delete and bucket.ignore_changes == ("tags",)
    assert bucket.wire_inputs["password"]["value"] == "s3cret", "secrets stay secret on the wire"
    assert list(bucket.property_dependencies["keyId"]), "the input still depends on the key"


def test_the_digest_sees_a_changed_input() -> None:
    original = _nodes(_record(_program))
    changed = [
        Node(**{**vars(node), "wire_inputs": {**node.wire_inputs, "count": 4}}) if node.name == "reader" else node
        for node in original
    ]
    assert graph_digest(changed) != graph_digest(original)


def test_two_resources_with_the_same_type_and_name_cannot_be_flattened() -> None:
    def program() -> None:
        for parent in ("a", "b"):
            component = pulumi.ComponentResource("test:index:Group", parent, {})
            pulumi.CustomResource("test:index:Thing", "same", {}, pulumi.ResourceOptions(parent=component))

    with pytest.raises(ValueError, match="registered twice"):
        baseline_source(_nodes(_record(program)))


@pytest.mark.parametrize(
    ("types", "modules"),
    [
        (
            ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "pulumi:providers:aws"],
            {"pulumi_aws": ["Provider"], "pulumi_aws.ec2": ["Subnet", "Vpc"]},
        ),
        (
            ["kubernetes:helm.sh/v4:Chart", "kubernetes:core/v1:Namespace"],
            {"pulumi_kubernetes.core.v1": ["Namespace"], "pulumi_kubernetes.helm.v4": ["Chart"]},
        ),
        (["azure-native:network:VirtualNetwork"], {"pulumi_azure_native.network": ["VirtualNetwork"]}),
        (["random:index/randomPassword:RandomPassword", "test:index:Key"], {"pulumi_random": ["RandomPassword"]}),
    ],
    ids=["aws", "kubernetes", "azure-native", "random-and-unknown"],
)
def test_the_baseline_imports_the_classes_of_its_types_from_the_sdk_modules_that_define_them(
    types: list[str], modules: dict[str, list[str]]
) -> None:
    assert sdk_modules(types) == modules, (
        "a cold baseline pays the import of exactly the modules whose classes would register its types"
    )


class _Store(pulumi.ComponentResource):
    """A component of typed resources whose classes add options themselves: the S3 bucket's V2 type aliases, the
    Secret's and the password's secret outputs (the password's doubled by ours), a provider's JSON settings."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Store", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(f"{name}-key", enable_key_rotation=True, opts=child)
        aws.s3.Bucket(
            f"{name}-bucket",
            bucket=f"{name}-bucket",
            tags={"team": "ml"},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[key], ignore_changes=["tags"], aliases=[pulumi.Alias(name="old-bucket")]
            ),
        )
        password = random.RandomPassword(
            f"{name}-password",
            length=24,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        cluster = k8s.Provider(f"{name}-k8s", kubeconfig="{}", enable_server_side_apply=True, opts=child)
        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": "store", "namespace": "ml"},
            string_data={"password": password.result, "kmsKey": key.arn},
            opts=pulumi.ResourceOptions(parent=self, provider=cluster, replace_on_changes=["metadata"]),
        )
        self.register_outputs({})


def _typed_program() -> None:
    provider = aws.Provider("explicit", region="eu-west-1", default_tags={"tags": {"team": "ml"}})
    _Store("store", pulumi.ResourceOptions(provider=provider))


def _replay(source: str) -> RecordingMonitor:
    namespace: dict = {}
    exec(compile(source, "baseline_graph.py", "exec"), namespace)
    return _record(namespace["main"])


def test_the_typed_baseline_registers_the_same_graph_through_the_sdk_classes_without_components() -> None:
    original = _nodes(_record(_typed_program))
    source = typed_baseline_source(original)

    replayed_monitor = _replay(source)
    replayed = _nodes(replayed_monitor)

    assert graph_digest(replayed) == graph_digest(original), (
        "same types, names, wire inputs (the provider's JSON settings not encoded twice), providers, options, "
        "aliases and secret outputs (the ones the classes add not doubled), dependencies"
    )
    assert not [node for node in replayed if not node.is_node and node.type != "pulumi:pulumi:Stack"], (
        "the typed baseline has no components"
    )
    assert "pulumi.CustomResource(" not in source and "pulumi_aws_kms_Key('store-key'" in source, (
        "every resource is registered through its typed class"
    )
    positions = [
        registration.request.HasField("sourcePosition")
        for registration in replayed_monitor.registrations
        if registration.custom
    ]
    untyped = [
        registration.request.HasField("sourcePosition")
        for registration in _record_untyped(original).registrations
        if registration.custom and not registration.type.startswith("pulumi:providers:")
    ]
    assert all(positions) and untyped and not any(untyped), (
        "typed classes pay Pulumi's source positions (a third __init__ frame); the untyped baseline's custom "
        "resources send none (its providers do: ProviderResource.__init__ is a third __init__)"
    )


def _record_untyped(nodes: list[Node]) -> RecordingMonitor:
    return _replay(baseline_source(nodes))


def _with_input(nodes: list[Node], name: str, key: str) -> list[Node]:
    return [
        Node(**{**vars(node), "wire_inputs": {**node.wire_inputs, key: 1}}) if node.name == name else node
        for node in nodes
    ]


@pytest.mark.parametrize(
    ("program", "change", "message"),
    [
        (
            _program,
            lambda nodes: nodes,
            "no installed Pulumi SDK defines a typed class for pulumi:providers:test, test:index:Bucket, "
            "test:index:Key, test:index:Network, test:index:Reader;",
        ),
        (
            _typed_program,
            lambda nodes: _with_input(nodes, "store-key", "noSuchInput"),
            r"aws:kms/key:Key: pulumi_aws.kms.Key has no keyword argument for inputs \['noSuchInput'\]",
        ),
    ],
    ids=["type-without-a-class", "input-without-a-keyword"],
)
def test_the_typed_baseline_fails_naming_what_it_cannot_register_typed(program, change, message: str) -> None:
    nodes = change(_nodes(_record(program)))
    with pytest.raises(ValueError, match=message):
        typed_baseline_source(nodes)
