"""TrainingNamespace: restricted, quota'd on GPUs, default deny with exactly what a multi-node job needs, a team
role for training jobs and nothing else."""

from __future__ import annotations

import copy

import kubernetes_validate
import pulumi
import pytest

from components._common import gpu
from components._common.tags import TIER_LABEL
from components.kubernetes import TrainingNamespace, TrainingNamespaceArgs
from components.kubernetes.training.namespace import (
    KUBE_API_ACCESS_LABEL,
    KUEUE_NAMESPACE_SELECTOR,
    TRAINING_API_GROUPS,
    training_network_policies,
)
from stacks.deployability import pod_security_violations
from tests.components.kubernetes.helpers import (
    kubernetes_objects,
    manifest,
    objects_of_kind,
    run_with_provider,
    selector_matches,
)
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION

PSA = "pod-security.kubernetes.io/"
BASE: TrainingNamespaceArgs = {"namespace": "vision-train", "team_group": "vision-team"}


def build(run, **extra):
    return run_with_provider(run, lambda opts: TrainingNamespace("vision", {**BASE, **extra}, opts=opts))


def only(recorder, kind: str) -> dict:
    (found,) = objects_of_kind(recorder, kind)
    return found


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def recorded_policies(recorder) -> list[Policy]:
    return [Policy(item["metadata"]["namespace"], item["spec"]) for item in objects_of_kind(recorder, "NetworkPolicy")]


# --- Namespace and Pod Security ---------------------------------------------------------------------------


def test_the_namespace_is_restricted_and_selected_by_kueue(run) -> None:
    labels = only(build(run, namespace_labels={"data-classification": "confidential"}), "Namespace")["metadata"][
        "labels"
    ]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"{PSA}{mode}"] == "restricted", f"PSA {mode} must be restricted in training namespaces"
    assert labels[TIER_LABEL] == "training"
    assert selector_matches(KUEUE_NAMESPACE_SELECTOR, labels), "Kueue's namespace selector must match"
    assert labels["data-classification"] == "confidential"


WORKER = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "worker",
            "image": "registry.example/train@sha256:" + "ab" * 32,
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
        }
    ],
    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}],
}


def test_a_distributed_worker_with_a_memory_backed_dev_shm_is_admitted_under_restricted() -> None:
    violations, unset = pod_security_violations(WORKER, "restricted")
    assert not violations and not unset, violations + unset


@pytest.mark.parametrize("host_field", ["hostNetwork", "hostIPC"])
def test_host_network_or_ipc_for_nccl_is_rejected_by_restricted(host_field: str) -> None:
    pod = copy.deepcopy(WORKER)
    pod[host_field] = True
    violations, _ = pod_security_violations(pod, "restricted")
    assert violations, f"{host_field} must not be a way around the pod network"


# --- Quota --------------------------------------------------------------------------------------------------


def test_the_quota_caps_gpus_cpu_memory_and_pods(run) -> None:
    recorder = build(run, quota_gpus=16, quota_cpu="128", quota_memory="1Ti", quota_pods=64)
    hard = only(recorder, "ResourceQuota")["spec"]["hard"]
    assert hard == {
        gpu.GPU_QUOTA_KEY: "16",
        "requests.cpu": "128",
        "limits.cpu": "256",
        "requests.memory": "1Ti",
        "limits.memory": "1Ti",
        "pods": "64",
    }
    assert gpu.GPU_QUOTA_KEY == "requests.nvidia.com/gpu"
    (limits,) = only(recorder, "LimitRange")["spec"]["limits"]
    assert gpu.GPU_RESOURCE not in limits["default"], "a default GPU limit would give every pod a GPU"


# --- Network policy behaviour -------------------------------------------------------------------------------

NS = BASE["namespace"]
WORKER_0 = Pod(NS, {"jobset.sigs.k8s.io/jobset-name": "llm", "batch.kubernetes.io/job-completion-index": "0"})
WORKER_1 = Pod(NS, {"jobset.sigs.k8s.io/jobset-name": "llm", "batch.kubernetes.io/job-completion-index": "1"})
OTHER_JOB = Pod(NS, {"job-name": "eval"})
LAUNCHER = Pod(NS, {KUBE_API_ACCESS_LABEL: "true"})
COREDNS = Pod("kube-system", {"k8s-app": "kube-dns"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
INTRUDERS = [
    Pod("fraud", {"app": "model"}),
    Pod("monitoring", {"app.kubernetes.io/name": "grafana"}),
    Pod("serving-gateway", {"app": "envoy"}),
    Pod("other-train", {"jobset.sigs.k8s.io/jobset-name": "llm"}),
]
S3 = Endpoint("52.219.170.10")
API_SERVER = Endpoint("10.0.0.1")


@pytest.mark.parametrize("port", [29500, 23456, 50051, 1024, 65000])
def test_a_worker_reaches_another_pod_of_the_namespace_on_any_port(run, port: int) -> None:
    policies = recorded_policies(build(run))
    assert allowed(policies, WORKER_0, WORKER_1, port), "NCCL/gloo/torchrun pick their ports at run time"
    assert allowed(policies, WORKER_1, WORKER_0, port, "UDP")
    assert allowed(policies, WORKER_0, OTHER_JOB, port)


@pytest.mark.parametrize("intruder", INTRUDERS, ids=lambda pod: f"{pod.namespace}/{next(iter(pod.labels))}")
def test_nothing_from_another_namespace_gets_in_and_workers_reach_no_other_namespace(run, intruder: Pod) -> None:
    policies = recorded_policies(build(run))
    for port in (29500, 8080, 443, 9090):
        assert not allowed(policies, intruder, WORKER_0, port), f"{intruder} must not reach a training pod"
        assert not allowed(policies, WORKER_0, intruder, port), "workers do not talk to other namespaces"


def test_dns_prometheus_and_object_storage_are_the_other_ways_in_and_out(run) -> None:
    policies = recorded_policies(build(run))
    assert allowed(policies, WORKER_0, COREDNS, 53, "UDP") and allowed(policies, WORKER_0, COREDNS, 53, "TCP")
    assert allowed(policies, PROMETHEUS, WORKER_0, 8000), "Prometheus scrapes training metrics"
    assert allowed(policies, WORKER_0, S3, 443), "datasets and checkpoints over HTTPS"
    assert not allowed(policies, WORKER_0, S3, 80), "no plain HTTP out"
    assert not allowed(policies, WORKER_0, Endpoint("10.1.2.3"), 22), "nothing else out"


def test_only_launchers_reach_the_api_server_on_its_self_managed_port(run) -> None:
    policies = recorded_policies(build(run, storage_egress_cidrs=[]))
    assert allowed(policies, LAUNCHER, API_SERVER, 443) and allowed(policies, LAUNCHER, API_SERVER, 6443)
    assert not allowed(policies, WORKER_0, API_SERVER, 6443), "workers have no business with the API server"
    assert not allowed(policies, WORKER_0, S3, 443), "no storage CIDRs, no HTTPS egress rule at all"


def test_storage_egress_is_limited_to_the_given_cidrs(run) -> None:
    policies = recorded_policies(build(run, storage_egress_cidrs=["10.20.0.0/16"]))
    assert allowed(policies, WORKER_0, Endpoint("10.20.3.4"), 443)
    assert not allowed(policies, WORKER_0, S3, 443)


def test_every_policy_set_starts_from_the_default_deny() -> None:
    fields = TrainingNamespaceArgs.__annotations__
    assert not [field for field in fields if "deny" in field or "network_polic" in field], "no switch may exist"
    for cidrs in ([], ["0.0.0.0/0"]):
        specs = training_network_policies(monitoring_namespace="monitoring", storage_egress_cidrs=cidrs)
        assert next(iter(specs)) == "default-deny-all"
        assert all(rule.get("to") for spec in specs.values() for rule in spec.get("egress", []) if "ports" not in rule)


# --- RBAC and identity --------------------------------------------------------------------------------------


def _granted(rules, verbs=None) -> set[tuple[str, str]]:
    return {
        (group, resource)
        for rule in rules
        if verbs is None or set(rule["verbs"]) & set(verbs)
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_the_team_submits_and_follows_training_jobs_and_reads_logs(run) -> None:
    rules = only(build(run), "Role")["rules"]
    submit = _granted(rules, ["create"])
    watch = _granted(rules, ["watch"])
    for group, resource in [
        ("batch", "jobs"),
        ("jobset.x-k8s.io", "jobsets"),
        ("trainer.kubeflow.org", "trainjobs"),
        ("kubeflow.org", "pytorchjobs"),
    ]:
        assert (group, resource) in submit and (group, resource) in watch, f"{group}/{resource}"
    assert set(TRAINING_API_GROUPS) == {"batch", "jobset.x-k8s.io", "trainer.kubeflow.org", "kubeflow.org"}
    assert ("", "pods/log") in _granted(rules, ["get"])


def test_the_team_role_has_no_secrets_exec_rbac_queues_or_wildcards(run) -> None:
    rules = only(build(run), "Role")["rules"]
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcards in {field} grant future resources too"
        assert not {"bind", "escalate", "impersonate", "deletecollection"} & set(rule["verbs"])
    secret_rules = [rule for rule in rules if "secrets" in rule["resources"]]
    assert secret_rules == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["mlflow-credentials"], "verbs": ["get"]}
    ], (
        "one Secret only, by name, read only: the team's own MLflow credentials; never list or watch (which ignore names)"
    )
    granted = _granted([rule for rule in rules if rule not in secret_rules])
    resources = {resource for _, resource in granted}
    assert "secrets" not in resources
    assert not {"pods/exec", "pods/attach", "serviceaccounts/token"} & resources
    assert not any(group == "rbac.authorization.k8s.io" for group, _ in granted)
    writable = _granted(rules, ["create", "update", "patch"])
    assert ("", "pods") not in writable, "bare pods would bypass the queue: jobs only"
    for forbidden in [
        ("networking.k8s.io", "networkpolicies"),
        ("", "resourcequotas"),
        ("", "limitranges"),
        ("", "serviceaccounts"),
        ("kueue.x-k8s.io", "localqueues"),
        ("kueue.x-k8s.io", "workloads"),
    ]:
        assert forbidden not in writable, f"the team cannot change {forbidden}"


def test_the_team_group_is_bound_in_this_namespace_only(run) -> None:
    recorder = build(run)
    binding = only(recorder, "RoleBinding")
    assert binding["metadata"]["namespace"] == NS
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "training-team"}
    assert binding["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "vision-team"}]
    assert not objects_of_kind(recorder, "ClusterRoleBinding") and not objects_of_kind(recorder, "ClusterRole")


@pytest.mark.parametrize(
    ("kind", "identity", "annotation", "pod_labels"),
    [
        ("aws", "arn:aws:iam::123456789012:role/vision-train", "eks.amazonaws.com/role-arn", {}),
        (
            "azure",
            "6f1c0e2a-0000-4000-8000-000000000002",
            "azure.workload.identity/client-id",
            {"azure.workload.identity/use": "true"},
        ),
    ],
)
def test_the_service_account_carries_the_cloud_identity(run, kind, identity, annotation, pod_labels) -> None:
    recorder = build(run, identity_kind=kind, identity_id=pulumi.Output.from_input(identity))
    account = only(recorder, "ServiceAccount")
    assert account["metadata"]["name"] == "trainer"
    assert account["metadata"]["annotations"][annotation] == identity
    assert account["automountServiceAccountToken"] is False
    outputs = recorder.one("mlplatform:index:TrainingNamespace").outputs
    assert outputs["podLabels"] == pod_labels
    assert outputs["kubeApiPodLabels"] == {KUBE_API_ACCESS_LABEL: "true"}


# --- Validation ---------------------------------------------------------------------------------------------


def test_bad_arguments_are_reported_together_with_their_paths(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: TrainingNamespace(
                "x",
                {
                    "namespace": "kube-train",
                    "team_group": " ",
                    "quota_gpus": 2048,
                    "quota_cpu": "8",
                    "quota_cpu_limits": "4",
                    "quota_memory": "lots",
                    "quota_pods": 0,
                    "container_cpu_request": "2",
                    "container_cpu_limit": "1",
                    "storage_egress_cidrs": ["10.0.0.1/8"],
                    "identity_kind": "gcp",
                    "service_account_name": "Trainer",
                    "namespace_labels": {TIER_LABEL: "serving"},
                    "host_ipc": True,
                },
            )
        )
    assert {
        "namespace",
        "teamGroup",
        "quotaGpus",
        "quotaCpuLimits",
        "quotaMemory",
        "quotaPods",
        "containerCpuLimit",
        "storageEgressCidrs[0]",
        "identityKind",
        "serviceAccountName",
        f"namespaceLabels.{TIER_LABEL}",
        "hostIpc",
    } <= set(errors_of(raised))
    assert not recorder.by_type("mlplatform:index:TrainingNamespace"), "nothing registers before the checks pass"


def test_a_cloud_identity_needs_its_id(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: TrainingNamespace("x", {**BASE, "identity_kind": "azure"}))
    assert "managed identity client ID" in errors_of(raised)["identityId"]


def test_every_object_validates_against_the_kubernetes_openapi_schema(run) -> None:
    recorder = build(run, identity_kind="aws", identity_id="arn:aws:iam::123456789012:role/vision-train")
    registrations = kubernetes_objects(recorder)
    assert {registration.inputs["kind"] for registration in registrations} == {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    }
    for registration in registrations:
        kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)
