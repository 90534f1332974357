"""The README's training job: written from a cluster-layer stack's outputs, it is a valid JobSet that its team's
queue admits, whose pods pass Pod Security restricted and log to MLflow with the team's credentials."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacks.deployability import pod_security_violations
from stacks.synth import PROJECT_ROOT, Synthesis, synthesize
from tests.components.kubernetes import jobset_crds

SCRIPT = PROJECT_ROOT / "examples" / "training-job" / "job.py"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def prod_cluster() -> Synthesis:
    return synthesize("prod-cluster")


@pytest.fixture(scope="module")
def outputs_file(prod_cluster: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outputs") / "outputs.json"
    path.write_text(json.dumps(prod_cluster.outputs, default=str))
    return path


def _job(outputs_file: Path, *extra: str) -> dict:
    result = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--outputs", str(outputs_file), "--namespace", "research-vision",
            "--image", IMAGE, "--nodes", "2", "--gpus-per-node", "8", "--cpu", "90", "--memory", "900Gi",
            *extra, "--", "/app/train.py", "--epochs", "10",
        ],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_job_is_a_valid_jobset_queued_for_its_team(outputs_file: Path, prod_cluster: Synthesis) -> None:
    job = _job(outputs_file, "--efa", "32", "--instance-type", "p5.48xlarge")
    assert jobset_crds.violations(job) == [], "valid against the pinned JobSet CRD and its webhook"
    details = prod_cluster.outputs["trainingNamespaceDetails"]["research-vision"]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == details["localQueue"], (
        "the job waits in its team's queue"
    )
    pod = job["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == details["serviceAccount"], "the team's cloud identity"
    violations, unset = pod_security_violations(pod, "restricted")
    assert not violations and not unset, violations + unset
    (container,) = pod["containers"]
    assert {"secretRef": {"name": "mlflow-credentials"}} in container["envFrom"], (
        "MLFLOW_TRACKING_URI, user and password come from the team's Secret"
    )
    limits = container["resources"]["limits"]
    assert limits["nvidia.com/gpu"] in (8, "8") and limits["vpc.amazonaws.com/efa"] in (32, "32")
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env.get("FI_PROVIDER") == "efa", "NCCL goes over EFA"


def test_a_namespace_the_stack_does_not_have_is_refused(outputs_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--outputs", str(outputs_file), "--namespace", "nope", "--image", IMAGE,
         "--", "train.py"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode != 0 and "research-vision" in result.stderr, "the error lists the namespaces there are"


def test_the_script_is_importable_without_running() -> None:
    namespace = runpy.run_path(str(SCRIPT), run_name="not_main")
    assert callable(namespace["build"]) and callable(namespace["main"])
