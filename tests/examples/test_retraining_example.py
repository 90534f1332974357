"""The retraining example installs a schema-valid, digest-pinned pipeline and its schedule in the team's namespace."""

from __future__ import annotations

import json
import re

import pytest

from policies.replay import in_process, replay
from stacks.synth import PROJECT_ROOT, Synthesis, pulumi_config_for, synthesize
from tests.components.kubernetes import argo_crds
from tests.components.kubernetes.helpers import manifest

EXAMPLE = PROJECT_ROOT / "examples" / "retraining"
PLATFORM_OUTPUTS = {"kubeconfig": "{}"}


@pytest.fixture(scope="module")
def retraining() -> Synthesis:
    return synthesize("dev", project_dir=EXAMPLE, stack_outputs={"acme/mlplatform/dev": PLATFORM_OUTPUTS})


def test_the_program_installs_the_template_and_its_schedule_in_the_training_namespace(retraining: Synthesis) -> None:
    template = manifest(retraining.monitor.one("kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"))
    cron = manifest(retraining.monitor.one("kubernetes:argoproj.io/v1alpha1:CronWorkflow"))
    assert template["metadata"]["namespace"] == cron["metadata"]["namespace"] == "fraud-train"
    assert cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == template["metadata"]["name"]
    assert cron["spec"]["schedules"] == ["0 3 * * 1"] and cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert retraining.outputs["submitCommand"] == "argo submit -n fraud-train --from workflowtemplate/retrain-fraud"


def test_what_the_program_installs_validates_against_argo_s_crds(retraining: Synthesis) -> None:
    for kind in ("WorkflowTemplate", "CronWorkflow"):
        found = manifest(retraining.monitor.one(f"kubernetes:argoproj.io/v1alpha1:{kind}"))
        assert argo_crds.violations(found) == [], f"{kind} breaks the v4.0.6 CRD"
    template = manifest(retraining.monitor.one("kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"))
    assert argo_crds.lint(template["spec"]) == []


def test_every_image_the_example_runs_is_pinned_by_digest(retraining: Synthesis) -> None:
    images = argo_crds.images_of(manifest(retraining.monitor.one("kubernetes:argoproj.io/v1alpha1:WorkflowTemplate")))
    assert len(images) >= 7, images
    assert all(re.fullmatch(r".+@sha256:[0-9a-f]{64}", image) for image in images), images


def test_the_training_job_is_a_torchrun_jobset_queued_for_the_team(retraining: Synthesis) -> None:
    template = manifest(retraining.monitor.one("kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"))
    (train,) = [t for t in template["spec"]["templates"] if t["name"] == "train"]
    jobset = json.loads(train["resource"]["manifest"])
    assert jobset["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "fraud"
    job = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]
    assert job["parallelism"] == job["completions"] == 2 and job["completionMode"] == "Indexed"
    command = job["template"]["spec"]["containers"][0]["command"]
    assert "--master-addr={{workflow.name}}-workers-0-0.{{workflow.name}}" in command, "pod 0 of this run's JobSet"


def test_the_retraining_program_passes_the_kubernetes_baseline(retraining: Synthesis) -> None:
    stack_config, _ = pulumi_config_for("dev", EXAMPLE)
    verdict = replay(retraining, in_process("kubernetes-baseline"), stack_config=stack_config)
    assert not verdict.mandatory, f"a team installing the documented pipeline is compliant:\n{verdict.summary()}"
