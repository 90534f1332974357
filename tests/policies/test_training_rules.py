"""The training rules on what the platform's own components register: GpuQueues and TrainingNamespace comply by
default, and a training namespace left out of the queues is caught."""

from __future__ import annotations

from typing import Any

import pulumi

from components.kubernetes import GpuQueues, TrainingNamespace
from tests.policies.cases_kubernetes import TRAINING_STACK, cluster_queue_props
from tests.policies.harness import Res, from_registrations, run_resource, run_stack

QUEUES_ARGS: dict[str, Any] = {
    "flavors": [{"pool": "gpu-h100", "accelerator": "nvidia-h100"}],
    "teams": [
        {
            "name": "vision",
            "namespaces": ["vision-train"],
            "quotas": [{"flavor": "gpu-h100", "gpus": 8, "cpu": "96", "memory": "1536Gi"}],
        },
        {
            "name": "nlp",
            "namespaces": ["nlp-train"],
            "quotas": [{"flavor": "gpu-h100", "gpus": 8, "cpu": "96", "memory": "1536Gi", "gpu_borrowing_limit": 4}],
            "reclaim_within_cohort": "Never",
            "cpu_quota": {"cpu": "32", "memory": "128Gi"},
        },
    ],
}
"""Two teams as a prod stack would declare them: one reclaiming its lent GPUs, one with a borrowing limit and a
CPU-only quota for data preparation (the `cpu` flavor, with no GPUs to borrow)."""

TRAINING_RULES = (
    "kubernetes-gpu-namespace-kueue-admission",
    "kubernetes-training-namespace-not-exposed",
)


def _platform(run: Any, training_namespaces: list[str]) -> list[Res]:
    def program() -> None:
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("cluster", kubeconfig="{}")
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        for namespace in training_namespaces:
            TrainingNamespace(namespace, {"namespace": namespace, "team_group": f"{namespace}-team"}, opts=opts)
        GpuQueues("gpu-queues", QUEUES_ARGS, opts=opts)

    return from_registrations(run(program).registrations)


def test_gpu_queues_and_training_namespaces_pass_the_training_rules(run: Any) -> None:
    resources = _platform(run, ["vision-train", "nlp-train"])
    for rule in TRAINING_RULES:
        outcome = run_stack(rule, resources)
        assert not outcome.violations and outcome.advisory is None, (
            f"the platform's training layer must pass {rule} as built; {outcome.describe()}"
        )
    for queue in [resource for resource in resources if resource.type.endswith(":ClusterQueue")]:
        for rule in ("kubernetes-kueue-cluster-queue-gpu-quota", "kubernetes-kueue-cluster-queue-cohort-borrowing"):
            outcome = run_resource(rule, queue.type, queue.props, name=queue.name)
            assert outcome.passed, f"GpuQueues' ClusterQueue {queue.name} must pass {rule}; {outcome.describe()}"


def test_a_training_namespace_no_team_queues_for_is_a_violation(run: Any) -> None:
    resources = _platform(run, ["vision-train", "nlp-train", "orphan-train"])
    outcome = run_stack("kubernetes-gpu-namespace-kueue-admission", resources)
    messages = " | ".join(outcome.messages)
    assert "GPU namespace 'orphan-train' has no Kueue LocalQueue" in messages, (
        f"a training namespace with a GPU quota but no queue lets its jobs bypass admission; {outcome.describe()}"
    )
    assert "does not manage jobs in GPU namespace 'orphan-train'" in messages, (
        f"Kueue's managed-namespace selector names the teams' namespaces only; {outcome.describe()}"
    )
    assert {resource for _, resource in outcome.violations} == {"orphan-train-namespace"}, "only the orphan is at fault"


def test_kueue_configured_outside_the_stack_is_reported_as_unverifiable_not_passed() -> None:
    resources = [resource for resource in TRAINING_STACK if resource.name != "gpu-queues-kueue"]
    outcome = run_stack("kubernetes-gpu-namespace-kueue-admission", resources)
    assert not outcome.violations and outcome.advisory, f"no Kueue chart here: advisory; {outcome.describe()}"
    assert "defined outside this stack" in outcome.advisory, outcome.advisory


def test_a_yaml_kueue_configuration_is_unverifiable_rather_than_guessed() -> None:
    resources = [
        Res(
            resource.type,
            resource.name,
            {
                **resource.props,
                "values": {"managerConfig": {"controllerManagerConfigYaml": "manageJobsWithoutQueueName: true"}},
            },
        )
        if resource.name == "gpu-queues-kueue"
        else resource
        for resource in TRAINING_STACK
    ]
    outcome = run_stack("kubernetes-gpu-namespace-kueue-admission", resources)
    assert not outcome.violations and outcome.advisory and "JSON" in outcome.advisory, outcome.describe()


def test_a_queue_selecting_namespaces_by_label_needs_the_namespace_object_to_decide() -> None:
    by_label = cluster_queue_props(["vision-train"])
    by_label["spec"]["namespaceSelector"] = {"matchLabels": {"mlplatform.io/tier": "training"}}
    resources = [
        Res(resource.type, resource.name, by_label) if resource.name == "queue-vision" else resource
        for resource in TRAINING_STACK
    ]
    assert run_stack("kubernetes-gpu-namespace-kueue-admission", resources).passed, "the namespace carries the label"
    outside = [resource for resource in resources if resource.name != "vision-train"]
    outcome = run_stack(
        "kubernetes-gpu-namespace-kueue-admission", outside, config={"trainingNamespaces": ["vision-train"]}
    )
    assert not outcome.violations and outcome.advisory, (
        f"labels of a namespace outside the stack are unknown: advisory, never a pass; {outcome.describe()}"
    )
