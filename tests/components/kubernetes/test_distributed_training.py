"""Distributed training: the JobSet controller is pinned and locked down, `torch_jobset` writes a multi-node PyTorch
job that validates, fits its nodes, passes Pod Security `restricted`, talks only inside its namespace, is admitted
by Kueue, and uses EFA only when asked; the EFA device plugin lands only on EFA nodes."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest

from components._common import allocatable, gpu, scheduling
from components._common.validation import parse_quantity
from components.kubernetes import DistributedTraining, EfaDevicePlugin, _chart_workloads
from components.kubernetes import _charts as charts
from components.kubernetes.training import _jobset, _kueue, distributed, efa
from components.kubernetes.training.distributed import rank_zero_host, torch_jobset
from components.kubernetes.training.namespace import training_network_policies
from stacks.deployability import pod_security_violations
from tests.components.kubernetes import jobset_crds
from tests.components.kubernetes.helpers import (
    chart,
    chart_values,
    every_gpu_taint,
    kubernetes_objects,
    manifest,
    objects_of_kind,
    run_with_provider,
)
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed

KUBERNETES_VERSION = "1.34.0"
IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/vision/train@sha256:" + "ab" * 32
H100_TAINTS = gpu.gpu_pool_taints("aws", workload=gpu.TRAINING_WORKLOAD)


def job(**overrides: Any) -> dict[str, Any]:
    """A 2-node x 8-GPU job on p5.48xlarge nodes with EFA, queued in the vision team's LocalQueue."""
    arguments: dict[str, Any] = {
        "name": "llama-ft",
        "namespace": "vision-train",
        "image": IMAGE,
        "command": ["-m", "vision.train"],
        "args": ["--config", "/app/config.yaml"],
        "nodes": 2,
        "gpus_per_node": 8,
        "cpu_per_node": "176",
        "memory_per_node": "1800Gi",
        "shm_size": "256Gi",
        "queue_name": "vision",
        "efa_devices_per_node": 32,
        "efa_device_rdma": True,
    }
    arguments.update(overrides)
    return torch_jobset(**arguments)


def pod_spec(jobset: dict[str, Any]) -> dict[str, Any]:
    (rjob,) = jobset["spec"]["replicatedJobs"]
    return rjob["template"]["spec"]["template"]["spec"]


def pod_labels(jobset: dict[str, Any]) -> dict[str, str]:
    (rjob,) = jobset["spec"]["replicatedJobs"]
    return rjob["template"]["spec"]["template"]["metadata"]["labels"]


def env_of(jobset: dict[str, Any]) -> dict[str, str]:
    (container,) = pod_spec(jobset)["containers"]
    return {item["name"]: item["value"] for item in container["env"]}


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


# --- The JobSet validates against the v0.12.0 CRD, the Job schema and JobSet's webhook ------------------------


def test_the_transcribed_jobset_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(jobset_crds.JOBSET_SCHEMA)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"efa_devices_per_node": 0, "efa_device_rdma": False}, {"queue_name": None}, {"nodes": 1}],
    ids=["efa-queued", "no-efa", "no-queue", "one-node"],
)
def test_the_jobset_is_valid_against_the_crd_the_job_schema_and_the_webhook(overrides: dict[str, Any]) -> None:
    jobset = job(**overrides)
    assert jobset["apiVersion"] == "jobset.x-k8s.io/v1alpha2", "the only version v0.12.0 serves"
    assert jobset_crds.violations(jobset) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda j: j["spec"]["successPolicy"].update(operator="Every"), "successPolicy.operator"),
        (lambda j: j["spec"]["failurePolicy"].update(maxRestart=3), "maxRestart"),
        (lambda j: j["spec"].update(ttlSecondsAfterFinished=-1), "ttlSecondsAfterFinished"),
        (lambda j: j["spec"]["successPolicy"].update(targetReplicatedJobs=["workers"]), "does not appear"),
        (lambda j: pod_spec(j)["containers"][0].update(resource={}), "resource"),
        (lambda j: j["metadata"].update(name="a" * 50), "pod name"),
    ],
    ids=["enum", "pruned-field", "minimum", "unknown-target", "job-template", "name-length"],
)
def test_the_transcription_refuses_what_the_api_server_refuses(mutate, expected: str) -> None:
    jobset = copy.deepcopy(job())
    mutate(jobset)
    found = jobset_crds.violations(jobset)
    assert any(expected in item for item in found), f"v0.12.0 refuses this; our transcription found {found}"


# --- Shape: one Indexed Job of `nodes` pods, DNS hostnames, torchrun on rank 0, restarts -----------------------


def test_one_indexed_job_runs_one_pod_per_node_and_a_failure_restarts_the_whole_job() -> None:
    spec = job()["spec"]
    (rjob,) = spec["replicatedJobs"]
    assert rjob["replicas"] == 1, "one Job; its pods are the nodes"
    job_spec = rjob["template"]["spec"]
    assert (job_spec["completionMode"], job_spec["completions"], job_spec["parallelism"]) == ("Indexed", 2, 2)
    assert job_spec["backoffLimit"] == 0 and pod_spec(job())["restartPolicy"] == "Never", (
        "one failed worker fails the Job at once (no lone restart that the other ranks would wait for)"
    )
    assert spec["failurePolicy"] == {"maxRestarts": 3}, "JobSet recreates every Job, up to 3 times"
    assert spec["successPolicy"] == {"operator": "All", "targetReplicatedJobs": ["node"]}
    assert spec["ttlSecondsAfterFinished"] == 7 * 24 * 3600, "finished jobs and their pods go after a week"
    assert "suspend" not in spec, (
        "Kueue's webhook suspends a queued JobSet and admits it; the builder does not fight it"
    )


def test_rank_zero_s_address_is_the_first_pod_s_hostname_under_the_jobset_s_headless_service() -> None:
    jobset = job()
    network = jobset["spec"]["network"]
    assert network["enableDNSHostnames"] is True and "subdomain" not in network, (
        "JobSet then names the headless Service after the JobSet and sets it as every pod's subdomain"
    )
    # pkg/util/placement GenPodName(jobset, rjob, jobIndex, podIndex) and GetSubdomain (the JobSet's name).
    first_pod = f"{jobset['metadata']['name']}-{jobset['spec']['replicatedJobs'][0]['name']}-0-0"
    assert rank_zero_host("llama-ft") == f"{first_pod}.llama-ft" == "llama-ft-node-0-0.llama-ft"
    assert network["publishNotReadyAddresses"] is True, "rank 0 resolves before every pod is ready"


def test_every_pod_runs_torchrun_with_c10d_rendezvous_on_rank_zero_and_its_completion_index() -> None:
    (container,) = pod_spec(job())["containers"]
    assert container["command"] == ["torchrun"]
    assert container["args"] == [
        "--nnodes=2",
        "--nproc-per-node=8",
        "--node-rank=$(JOB_COMPLETION_INDEX)",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=llama-ft-node-0-0.llama-ft:29400",
        "--rdzv-id=llama-ft",
        "--max-restarts=0",
        "-m",
        "vision.train",
        "--config",
        "/app/config.yaml",
    ], "torchrun's options first, then the program and its own arguments"
    assert {"name": "rendezvous", "containerPort": 29400, "protocol": "TCP"} in container["ports"]


# --- Resources: a 2 x 8-GPU job fits p5.48xlarge nodes --------------------------------------------------------


def test_a_two_node_eight_gpu_job_requests_what_a_p5_node_offers_and_fits() -> None:
    (container,) = pod_spec(job())["containers"]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert requests == limits, "requests = limits: Guaranteed QoS, the last class the kubelet evicts"
    node = allocatable.node_size("aws", "p5.48xlarge")
    assert node is not None and node.gpus == 8
    assert int(limits[gpu.GPU_RESOURCE]) == node.gpus, "every GPU of the node, one process each"
    assert parse_quantity(requests["cpu"]) * 1000 <= node.cpu_allocatable_millis, "fits the allocatable CPU"
    assert parse_quantity(requests["memory"]) <= node.memory_allocatable_bytes, "fits the allocatable memory"
    assert int(limits[gpu.EFA_RESOURCE]) == 32, "every EFA interface of a p5.48xlarge"


def test_shared_memory_is_a_sized_memory_backed_volume_within_the_memory_limit() -> None:
    spec = pod_spec(job())
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Gi"}
    (container,) = spec["containers"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    shm = parse_quantity(volumes["dshm"]["emptyDir"]["sizeLimit"])
    assert shm < parse_quantity(container["resources"]["limits"]["memory"]), "tmpfs pages count against the limit"


def test_a_shared_memory_size_at_or_above_the_memory_limit_is_refused_naming_shm_size() -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        job(shm_size="1800Gi")
    assert "memoryPerNode" in errors_of(raised)["shmSize"], "the fix: a smaller shmSize or more memoryPerNode"


# --- Security: Pod Security restricted, pod-to-pod inside the training namespace only --------------------------


@pytest.mark.parametrize(
    "overrides", [{}, {"efa_devices_per_node": 0, "efa_device_rdma": False}], ids=["efa", "no-efa"]
)
def test_the_pods_are_admitted_by_pod_security_restricted(overrides: dict[str, Any]) -> None:
    spec = pod_spec(job(**overrides))
    violations, unset = pod_security_violations(spec, "restricted")
    assert violations == [] and unset == [], "TrainingNamespace enforces restricted"
    for key in ("hostNetwork", "hostIPC", "hostPID"):
        assert key not in spec, f"no {key}: workers talk over the pod network, EFA comes from the device plugin"
    (container,) = spec["containers"]
    assert container["securityContext"]["privileged"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "scratch", "mountPath": "/tmp"} in container["volumeMounts"], "writable scratch, not the image"
    assert spec["automountServiceAccountToken"] is False, "torchrun needs no Kubernetes API token"


def test_the_pod_template_is_a_valid_kubernetes_pod() -> None:
    spec = pod_spec(job())
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "llama-ft-node-0-0-abcde"}, "spec": spec}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


def test_the_training_namespace_lets_the_job_s_pods_reach_each_other_and_nothing_else_in() -> None:
    policies = [
        Policy("vision-train", spec)
        for spec in training_network_policies(monitoring_namespace="monitoring", storage_egress_cidrs=[]).values()
    ]
    labels = {**pod_labels(job()), _jobset.JOB_SET_NAME_LABEL: "llama-ft"}
    rank0, rank1 = Pod("vision-train", labels), Pod("vision-train", labels)
    assert allowed(policies, rank1, rank0, 29400), "the c10d rendezvous on rank 0"
    assert allowed(policies, rank1, rank0, 45123), "NCCL's bootstrap and socket ports, chosen at run time"
    stranger = Pod("nlp-train", labels)
    assert not allowed(policies, stranger, rank0, 29400), "another team's pods never join the rendezvous"
    assert not allowed(policies, rank0, Endpoint("203.0.113.7"), 29400), "nothing leaves but DNS and storage"


# --- NCCL and EFA settings --------------------------------------------------------------------------------------


def test_nccl_settings_are_always_there_and_efa_settings_only_with_efa() -> None:
    with_efa = env_of(job())
    assert with_efa["NCCL_DEBUG"] == "WARN" and with_efa["TORCH_NCCL_ASYNC_ERROR_HANDLING"] == "1"
    assert with_efa["FI_PROVIDER"] == "efa" and with_efa["FI_EFA_USE_DEVICE_RDMA"] == "1"
    without = job(efa_devices_per_node=0, efa_device_rdma=False)
    assert not any(key.startswith("FI_") for key in env_of(without)), "no libfabric settings without EFA"
    (container,) = pod_spec(without)["containers"]
    assert gpu.EFA_RESOURCE not in container["resources"]["limits"], "no EFA request on a node that may have none"
    assert env_of(without)["NCCL_DEBUG"] == "WARN"


def test_device_rdma_is_set_only_where_asked_and_needs_efa() -> None:
    g6e = env_of(job(efa_devices_per_node=1, efa_device_rdma=gpu.aws_efa_device_rdma("g6e.12xlarge")))
    assert g6e["FI_PROVIDER"] == "efa" and "FI_EFA_USE_DEVICE_RDMA" not in g6e, "G6e has EFA without RDMA read"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        job(efa_devices_per_node=0, efa_device_rdma=True)
    assert "efaDeviceRdma" in errors_of(raised)


def test_the_team_s_env_overrides_the_defaults_but_never_the_completion_index() -> None:
    assert env_of(job(env={"NCCL_DEBUG": "INFO"}))["NCCL_DEBUG"] == "INFO", "a team may debug NCCL"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        job(env={"JOB_COMPLETION_INDEX": "0"})
    assert 'env["JOB_COMPLETION_INDEX"]' in errors_of(raised)


# --- Queueing: Kueue admits the job on a GPU pool -----------------------------------------------------------------


def test_a_queued_job_names_its_local_queue_and_leaves_placement_to_the_flavor() -> None:
    jobset = job()
    assert jobset["metadata"]["labels"][_kueue.QUEUE_LABEL] == "vision", "Kueue reads the JobSet's queue label"
    spec = pod_spec(jobset)
    assert "tolerations" not in spec and "nodeSelector" not in spec, "the ResourceFlavor injects both at admission"
    flavor = _kueue.resource_flavor(
        "gpu-h100",
        node_labels=_kueue.flavor_node_labels("gpu-h100", "nvidia-h100"),
        taints=[taint.kubernetes() for taint in H100_TAINTS],
    )["spec"]
    admitted = {**spec, "nodeSelector": flavor["nodeLabels"], "tolerations": flavor["tolerations"]}
    node_labels = gpu.gpu_pool_labels("gpu-h100", "nvidia-h100", workload=gpu.TRAINING_WORKLOAD)
    assert scheduling.unschedulable_reasons(admitted, node_labels, H100_TAINTS) == [], "runs on the H100 pool"
    assert scheduling.unschedulable_reasons(spec, node_labels, H100_TAINTS), "and nowhere GPU-tainted before"


def test_kueue_counts_every_resource_the_job_requests_or_deliberately_leaves_it_out() -> None:
    config = _kueue.controller_config(managed_namespaces=["vision-train"], integrations=_kueue.INTEGRATIONS)
    excluded = config["resources"]["excludeResourcePrefixes"]
    (container,) = pod_spec(job())["containers"]
    for resource in container["resources"]["requests"]:
        assert resource in _kueue.COVERED_RESOURCES or any(resource.startswith(p) for p in excluded), (
            f"{resource} is neither in the ClusterQueues' quota nor excluded: Kueue (BlockUndeclared) would never "
            "admit the job"
        )
    assert "jobset.x-k8s.io/jobset" in _kueue.INTEGRATIONS, "Kueue manages JobSets"


def test_without_kueue_the_caller_places_the_job_on_the_pool_itself() -> None:
    tolerations = [taint.toleration() for taint in H100_TAINTS]
    spec = pod_spec(job(queue_name=None, tolerations=tolerations, node_selector={gpu.GPU_POOL_LABEL: "gpu-h100"}))
    assert _kueue.QUEUE_LABEL not in job(queue_name=None)["metadata"]["labels"]
    node_labels = gpu.gpu_pool_labels("gpu-h100", "nvidia-h100", workload=gpu.TRAINING_WORKLOAD)
    assert scheduling.unschedulable_reasons(spec, node_labels, H100_TAINTS) == []


def test_identity_labels_and_service_account_reach_the_pods() -> None:
    jobset = job(service_account_name="vision-trainer", pod_labels={"azure.workload.identity/use": "true"})
    assert pod_spec(jobset)["serviceAccountName"] == "vision-trainer"
    assert pod_labels(jobset)["azure.workload.identity/use"] == "true", "Entra workload identity needs the label"


# --- Refusals -------------------------------------------------------------------------------------------------


def test_an_image_without_a_digest_is_refused_with_every_other_problem_at_once() -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        job(image="vision/train:latest", nodes=0, cpu_per_node="lots", command=[])
    errors = errors_of(raised)
    assert set(errors) == {"image", "nodes", "cpuPerNode", "command"}, "every problem, each with its path"
    assert "sha256" in errors["image"], "the fix: pin by digest"


def test_a_name_too_long_for_jobset_s_pod_names_is_refused() -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        job(name="a-very-long-training-job-name-for-llama-fine-tuning")
    assert "63" in errors_of(raised)["name"]


# --- DistributedTraining: the controller --------------------------------------------------------------------


def build(run, **args: Any):
    return run_with_provider(run, lambda opts: DistributedTraining("training", args, opts=opts))


def controller() -> _chart_workloads.ChartWorkload:
    workloads = _chart_workloads.chart_workloads(
        charts.JOBSET.reference, charts.JOBSET.version, _jobset.RELEASE, "jobset-system", _jobset.jobset_values()
    )
    assert workloads is not None, "the deployability table describes the pinned chart"
    (workload,) = workloads
    return workload


def test_the_chart_is_the_pinned_oci_chart_in_a_restricted_namespace(run) -> None:
    recorder = build(run)
    registration = chart(recorder, "oci://registry.k8s.io/jobset/charts/jobset")
    assert registration.inputs["version"] == "0.12.0"
    assert registration.inputs["name"] == "jobset", "the release name makes the objects `jobset-*`"
    (namespace,) = objects_of_kind(recorder, "Namespace")
    assert namespace["metadata"]["name"] == "jobset-system"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not registration.protect, "protect is opt-in"
    for registration in kubernetes_objects(recorder):
        kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)


def test_prod_protects_the_crd_and_keeps_it_when_removed(run) -> None:
    registration = chart(build(run, protect=True), charts.JOBSET.reference)
    assert registration.protect and registration.retain_on_delete, "deleting the CRD deletes every running JobSet"


def test_the_controller_runs_two_replicas_on_the_platform_pool_never_on_a_gpu_node() -> None:
    workload = controller()
    assert workload.name == "jobset-controller" and workload.replicas == 2
    platform = {"mlplatform.io/pool-role": "platform"}
    assert scheduling.unschedulable_reasons(workload.pod_spec, platform, []) == []
    for _, taint in every_gpu_taint():
        assert scheduling.untolerated_taints(workload.pod_spec["tolerations"], [taint]) == [taint], (
            f"the controller must not tolerate {taint.key}: it does not belong on a GPU node"
        )
    values = _jobset.jobset_values()
    assert values["controller"]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}, "drains keep one"
    assert values["controller"]["leaderElection"] == {"enable": True}, "two replicas, one leader"


def test_the_controller_meets_pod_security_restricted_with_requests_and_a_memory_limit() -> None:
    pod = controller().pod_spec
    violations, unset = pod_security_violations(pod, "restricted")
    assert violations == [] and unset == [], "jobset-system enforces restricted"
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def _leaf_paths(data: Any, prefix: str = "") -> set[str]:
    if isinstance(data, dict) and data:
        return {path for key, value in data.items() for path in _leaf_paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def _unchecked(values: dict[str, Any], checked: frozenset[str]) -> list[str]:
    return [
        path
        for path in _leaf_paths(values)
        if not any(
            path == key or path.startswith(f"{key}.") or (key.endswith("*") and path.startswith(key[:-1]))
            for key in checked
        )
    ]


def test_every_values_key_the_builders_set_was_checked_in_the_pinned_charts() -> None:
    unchecked = _unchecked(_jobset.jobset_values(metrics_scrape=True), _jobset.JOBSET_VALUES_KEYS)
    assert not unchecked, f"read these keys in charts/jobset/values.yaml@v{charts.JOBSET.version} first: {unchecked}"
    values = efa.efa_device_plugin_values(image_repository="r", pool_taints=[])
    assert not _unchecked(values, efa.EFA_DEVICE_PLUGIN_VALUES_KEYS)
    assert charts.JOBSET.version == _chart_workloads.TABLE_VERSIONS["jobset"], "keys were read at the pin"
    assert charts.AWS_EFA_DEVICE_PLUGIN.version == _chart_workloads.TABLE_VERSIONS["aws-efa-k8s-device-plugin"]


@pytest.mark.parametrize("metrics_scrape", [False, True], ids=["no-metrics", "metrics"])
def test_the_controller_namespace_admits_the_api_server_on_the_webhook_port_only(run, metrics_scrape: bool) -> None:
    recorder = build(run, metrics_scrape=metrics_scrape)
    specs = {p["metadata"]["name"]: p["spec"] for p in objects_of_kind(recorder, "NetworkPolicy")}
    assert specs == _jobset.network_policies(metrics_scrape=metrics_scrape)
    policies = [Policy("jobset-system", spec) for spec in specs.values()]
    pod = Pod("jobset-system", _jobset.CONTROLLER_PODS)
    api_server = Endpoint("10.0.0.10")
    assert allowed(policies, api_server, pod, 9443), "the API server calls the JobSet and pod webhooks"
    assert allowed(policies, pod, api_server, 443), "the controller watches and writes through the API"
    assert not allowed(policies, pod, Endpoint("203.0.113.7"), 80), "nothing else out"
    trainer = Pod("vision-train", {"app.kubernetes.io/name": "llama-ft"})
    assert not allowed(policies, trainer, pod, 8081), "health probes come from the kubelet only"
    prometheus = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, {"mlplatform.io/tier": "monitoring"})
    assert allowed(policies, prometheus, pod, 8443) is metrics_scrape, "metrics scraped only when enabled"
    assert not allowed(policies, trainer, pod, 8443), "never by other pods"
    values = chart_values(recorder, charts.JOBSET.reference)
    assert values["prometheus"]["enable"] is metrics_scrape, "the ServiceMonitor exists exactly when scraped"


def test_pulumi_never_writes_the_webhook_certificate_the_controller_issues(run) -> None:
    registration = chart(build(run), charts.JOBSET.reference)
    assert len(registration.request.transforms) == 1, "the chart's objects pass through the Secret transform"
    secret = {"metadata": {"name": "jobset-webhook-server-cert"}, "data": {"tls.crt": "", "tls.key": ""}}
    assert _jobset.strip_webhook_secret_data(secret) == {"metadata": {"name": "jobset-webhook-server-cert"}}
    other = {"metadata": {"name": "jobset-metrics-server-cert"}, "data": {"x": ""}}
    assert _jobset.strip_webhook_secret_data(other) is None, "other Secrets are left alone"


def test_bad_controller_arguments_are_refused_with_their_paths_before_anything_registers(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, replicas=0, metrics_scrape="yes", node_selector={"a": 1}, namespace="Bad_NS", colour="blue")
    assert set(errors_of(raised)) == {"replicas", "metricsScrape", "nodeSelector", "namespace", "colour"}
    assert not [r for r in recorder.registrations if r.type.startswith("kubernetes:")], "nothing registered"


# --- EfaDevicePlugin ------------------------------------------------------------------------------------------


def build_efa(run, **args: Any):
    return run_with_provider(run, lambda opts: EfaDevicePlugin("efa", {"region": "eu-central-1", **args}, opts=opts))


def test_the_efa_plugin_is_the_pinned_eks_chart_with_its_image_from_the_cluster_s_region(run) -> None:
    recorder = build_efa(run)
    registration = chart(recorder, "aws-efa-k8s-device-plugin")
    assert registration.inputs["version"] == "v0.5.30"
    assert registration.inputs["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert registration.inputs["namespace"] == "kube-system", "where AWS installs it; already privileged"
    image = chart_values(recorder, "aws-efa-k8s-device-plugin")["image"]
    assert image == {
        "repository": "602401143452.dkr.ecr.eu-central-1.amazonaws.com/eks/aws-efa-k8s-device-plugin",
        "tag": "v0.5.20",
    }, "in-region EKS registry, the chart's app version"


def efa_daemonset(pool_taints: list[gpu.Taint] | None = None) -> _chart_workloads.ChartWorkload:
    values = efa.efa_device_plugin_values(
        image_repository=efa.image_repository_for("eu-central-1"), pool_taints=pool_taints or []
    )
    (workload,) = _chart_workloads.chart_workloads(
        charts.AWS_EFA_DEVICE_PLUGIN.chart, charts.AWS_EFA_DEVICE_PLUGIN.version, efa.RELEASE, "kube-system", values
    ) or [None]
    assert workload is not None
    return workload


def test_the_efa_plugin_lands_only_on_efa_nodes_and_tolerates_the_gpu_taints() -> None:
    spec = efa_daemonset().pod_spec
    efa_node = {
        **gpu.gpu_pool_labels("h100", "nvidia-h100", workload=gpu.TRAINING_WORKLOAD),
        gpu.EFA_PRESENT_LABEL: "true",
        "node.kubernetes.io/instance-type": "p5.48xlarge",
    }
    assert scheduling.unschedulable_reasons(spec, efa_node, H100_TAINTS) == [], "on every EFA node of the pool"
    plain_gpu_node = {key: value for key, value in efa_node.items() if key != gpu.EFA_PRESENT_LABEL}
    assert scheduling.unschedulable_reasons(spec, plain_gpu_node, []), "not on a GPU node without EFA"
    small = {**efa_node, "node.kubernetes.io/instance-type": "g6.xlarge"}
    assert scheduling.unschedulable_reasons(spec, small, []), "the chart's own affinity: EFA-capable types only"
    for cloud, taint in every_gpu_taint():
        if cloud == "aws":
            assert scheduling.untolerated_taints(spec["tolerations"], [taint]) == [], f"tolerates {taint.key}"


def test_an_extra_pool_taint_gets_exactly_one_toleration() -> None:
    spot = gpu.Taint("capacity", "spot", "NoSchedule")
    spec = efa_daemonset([spot]).pod_spec
    assert scheduling.untolerated_taints(spec["tolerations"], [spot]) == []
    assert scheduling.untolerated_taints(spec["tolerations"], [gpu.Taint("dedicated", "x", "NoSchedule")]), (
        "no keyless Exists: taints nobody declared still repel the plugin"
    )


def test_a_region_without_a_known_eks_registry_needs_an_image_repository(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build_efa(run, region="xx-nowhere-9")
    assert "imageRepository" in errors_of(raised)
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build_efa(run, region="Frankfurt")
    assert "region" in errors_of(raised)
    recorder = build_efa(run, region="xx-nowhere-9", image_repository="mirror.example/eks/aws-efa-k8s-device-plugin")
    values = chart_values(recorder, "aws-efa-k8s-device-plugin")
    assert values["image"]["repository"] == "mirror.example/eks/aws-efa-k8s-device-plugin"


def test_the_gpu_contract_s_efa_facts_agree_with_the_builders() -> None:
    assert efa.efa_node_selector() == {gpu.EFA_PRESENT_LABEL: "true"}
    assert gpu.EFA_RESOURCE in _kueue.EXCLUDED_RESOURCE_PREFIXES
    assert distributed.MAX_EFA_DEVICES_PER_NODE == 32, "p5.48xlarge and p5e.48xlarge: 32 EFA interfaces"
