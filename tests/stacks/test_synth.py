"""The recording mock captures what the engine would see, and `python -m stacks preview` shows it."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pytest

from stacks.synth import PROJECT_ROOT, RecordingMonitor, stack_names, synthesize


def test_the_recorder_captures_dependencies_property_dependencies_and_protect_flags(run) -> None:
    def program() -> None:
        key = aws.kms.Key(
            "data-key", enable_key_rotation=True, opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True)
        )
        aws.kms.Alias("data-key-alias", target_key_id=key.key_id, name="alias/data")

    recorder: RecordingMonitor = run(program)
    key = recorder.one("aws:kms/key:Key", "data-key")
    alias = recorder.one("aws:kms/alias:Alias", "data-key-alias")
    assert key.protect and key.retain_on_delete, "protect and retainOnDelete must be recorded"
    assert not alias.protect
    assert alias.property_dependencies["targetKeyId"] == [key.urn], "the alias input depends on the key's output"
    assert key.urn in alias.dependencies
    assert key.inputs["enableKeyRotation"] is True, "inputs are recorded in their camelCase wire form"


def test_the_recorder_marks_secret_inputs_and_unwraps_their_values(run) -> None:
    def program() -> None:
        password = random.RandomPassword("admin", length=24)
        aws.ssm.Parameter("admin-password", type="SecureString", value=password.result)

    recorder = run(program)
    parameter = recorder.one("aws:ssm/parameter:Parameter")
    assert parameter.secret_inputs == ["value"], "a secret flowing into an input must stay visible as secret"
    assert parameter.inputs["value"].startswith("offline-password"), "the recorded value is unwrapped for assertions"


def test_components_and_their_parents_are_recorded(run) -> None:
    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("mlplatform:index:Box", name)
            aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({"answer": 42})

    recorder = run(lambda: Box("box"))
    component = recorder.one("mlplatform:index:Box")
    bucket = recorder.one("aws:s3/bucket:Bucket")
    assert bucket.parent == component.urn, "children carry their component as parent"
    assert component.outputs == {"answer": 42}, "register_outputs is recorded on the component"


def test_every_shipped_stack_synthesizes_offline() -> None:
    for stack in stack_names(PROJECT_ROOT):
        synthesis = synthesize(stack)
        assert synthesis.outputs["environment"] in ("dev", "staging", "prod"), f"{stack} did not export its outputs"
        assert synthesis.registrations[0].type == "pulumi:pulumi:Stack"


def test_preview_prints_a_tree_with_counts_and_writes_json(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "preview", "dev", "--json", str(graph)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pulumi:pulumi:Stack" in result.stdout and "mlplatform-dev" in result.stdout
    assert "to create" in result.stdout and "By type:" in result.stdout
    assert "cannot see provider-side defaults" in result.stdout, "the preview states what it cannot see"
    document = json.loads(graph.read_text())
    assert document["stack"] == "dev" and document["resources"], "the JSON graph lists the resources"


def test_stack_references_are_served_the_outputs_of_another_synthesized_stack() -> None:
    from stacks.synth import install_recording_mocks, run_program

    install_recording_mocks(stack_outputs={"acme/mlplatform/dev": {"registryUrl": "registry.example"}})
    seen: dict[str, object] = {}

    def program() -> None:
        reference = pulumi.StackReference("acme/mlplatform/dev")
        reference.get_output("registryUrl").apply(lambda value: seen.setdefault("registryUrl", value))

    run_program(program)
    assert seen["registryUrl"] == "registry.example", "a consuming program reads the platform's outputs offline"


def _gc_probe_project(directory: Path) -> Path:
    (directory / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    (directory / "Pulumi.probe.yaml").write_text("config: {}\n")
    program = directory / "__main__.py"
    program.write_text("import gc\n\nimport pulumi\n\npulumi.export('collecting', gc.isenabled())\n")
    return program


def test_automatic_garbage_collection_is_off_during_a_synthesis_and_restored_after(tmp_path: Path) -> None:
    program = _gc_probe_project(tmp_path)
    assert gc.isenabled(), "precondition: the test process collects automatically"
    assert synthesize("probe", tmp_path, program=program).outputs == {"collecting": False}, (
        "the collector would traverse the whole growing graph again and again (docs/benchmarks.md)"
    )
    assert gc.isenabled(), "collection is back on once the synthesis ends"
    assert synthesize("probe", tmp_path, program=program, collect_garbage=True).outputs == {"collecting": True}, (
        "benchmarks can measure the interpreter's default"
    )


def test_a_failing_program_still_restores_garbage_collection(tmp_path: Path) -> None:
    program = _gc_probe_project(tmp_path)
    program.write_text("raise RuntimeError('broken program')\n")
    with pytest.raises(Exception, match="broken program"):
        synthesize("probe", tmp_path, program=program)
    assert gc.isenabled(), "a failed synthesis must not leave the process without garbage collection"
