"""The generated baseline registers exactly the graph it was generated from, with no components."""

from __future__ import annotations

import pulumi
import pytest

from benchmarks.baseline import Node, baseline_source, graph_digest, node_from, sdk_modules
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
