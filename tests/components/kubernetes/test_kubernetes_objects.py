"""Every Kubernetes object the layer creates is valid for the API server and meets the Kubernetes controls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from components.kubernetes import (
    EncryptedStorageClass,
    GpuStack,
    Karpenter,
    Logging,
    ModelDeployment,
    ModelServingNamespace,
    Monitoring,
)
from tests.components.kubernetes.helpers import (
    chart_values,
    every_gpu_taint,
    kubernetes_objects,
    manifest,
    run_with_provider,
    tolerates,
)
from tests.components.kubernetes.layer import DIGEST_IMAGE, build_whole_layer

KUBERNETES_VERSION = "1.34.0"
"""The cluster default of the stack config (`cluster.kubernetesVersion`); kubernetes-validate ships its schema."""

CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "NodePool",
    "EC2NodeClass",
    None,
}
"""Kinds without a namespace (None: charts and other non-object registrations; Karpenter's CRDs are `scope: Cluster`)."""

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


PLATFORM_BURST_POOL = {
    "name": "platform",
    "instance_types": ["m6i.xlarge"],
    "capacity_types": ["on-demand"],
    "architecture": "amd64",
    "os_family": "al2023",
    "disk_size_gb": 100,
    "labels": {"mlplatform.io/pool-role": "platform"},
    "taints": [],
    "gpus_per_node": 0,
    "max_nodes": 2,
    "cpus_per_node": 4,
    "priority": 1,
}


def variant_aws_device_plugin(opts: pulumi.ResourceOptions) -> None:
    EncryptedStorageClass(
        "storage",
        {"provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": "arn:k"}},
        opts=opts,
    )
    Monitoring(
        "metrics", {"grafana": False, "alert_receiver": "webhook", "alert_receiver_secret": "https://x"}, opts=opts
    )
    GpuStack("gpus", {"mode": "device-plugin", "driver_preinstalled": True, "toolkit_preinstalled": True}, opts=opts)
    Logging("logs", {"kibana": False, "protect": True}, opts=opts)
    namespace = ModelServingNamespace(
        "search",
        {"namespace": "search", "team_group": "search", "identity_kind": "aws", "identity_id": "arn:aws:iam::1:role/s"},
        opts=opts,
    )
    ModelDeployment(
        "ranker", {"namespace": namespace.namespace, "image": DIGEST_IMAGE, "gpus": 0, "env": {"MODEL": "r"}}, opts=opts
    )
    Karpenter(
        "karpenter",
        {
            "cluster_name": "ml-dev",
            "interruption_queue_name": "ml-dev-karpenter",
            "node_role_name": "ml-dev-karpenter-node",
            "node_volume_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/k",
            "pools": [PLATFORM_BURST_POOL],
        },
        opts=opts,
    )


VARIANTS: dict[str, Callable[[pulumi.ResourceOptions], Any]] = {
    "azure-operator-pagerduty": build_whole_layer,
    "aws-device-plugin-webhook": variant_aws_device_plugin,
}


def pod_specs(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {})
    if document["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if document["kind"] == "Pod":
        return [spec]
    return [spec["template"]["spec"]]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_validates_against_the_kubernetes_openapi_schema(run, variant: str) -> None:
    recorder = run_with_provider(run, VARIANTS[variant])
    objects = kubernetes_objects(recorder)
    kinds = {registration.inputs["kind"] for registration in objects}
    assert {"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "Deployment"} <= kinds
    failures = []
    for registration in objects:
        try:
            kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{registration.type} {registration.name}: {str(error).splitlines()[0]}")
    assert not failures, "objects the API server would reject:\n" + "\n".join(failures)


def test_the_schema_check_catches_a_misplaced_field(run) -> None:
    recorder = run_with_provider(run, build_whole_layer)
    (policy, *_) = [r for r in kubernetes_objects(recorder) if r.inputs["kind"] == "NetworkPolicy"]
    broken = manifest(policy)
    broken["spec"]["policyType"] = broken["spec"].pop("policyTypes")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_namespaced_object_names_a_namespace_other_than_default(run, variant: str) -> None:
    recorder = run_with_provider(run, VARIANTS[variant])
    for registration in recorder.registrations:
        if not registration.type.startswith("kubernetes:") or registration.inputs.get("kind") in CLUSTER_SCOPED_KINDS:
            continue
        namespace = registration.inputs.get("metadata", {}).get("namespace")
        assert namespace and namespace != "default", f"{registration.name} would land in the default namespace"
    for registration in recorder.by_type("kubernetes:helm.sh/v4:Chart"):
        assert registration.inputs["namespace"] not in ("", "default"), f"{registration.name} installs into default"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_workloads_the_layer_writes_itself_meet_the_restricted_pod_controls(run, variant: str) -> None:
    recorder = run_with_provider(run, VARIANTS[variant])
    workloads = [manifest(r) for r in kubernetes_objects(recorder) if r.inputs["kind"] in WORKLOAD_KINDS]
    assert workloads, "the layer writes at least the model server and the lifecycle Job"
    for document in workloads:
        name = f"{document['kind']} {document['metadata']['name']}"
        for spec in pod_specs(document):
            assert spec["securityContext"]["runAsNonRoot"] is True, f"{name}: HIPAA-K8S-NONROOT"
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", f"{name}: seccomp"
            assert spec.get("serviceAccountName") not in (None, "default"), f"{name}: HIPAA-K8S-SA-TOKEN"
            assert spec["automountServiceAccountToken"] is False, f"{name}: no API token"
            assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), f"{name}: host isolation"
            assert not any("hostPath" in volume for volume in spec.get("volumes", [])), f"{name}: no host paths"
            for container in spec["containers"]:
                security = container["securityContext"]
                assert security["allowPrivilegeEscalation"] is False, f"{name}: HIPAA-K8S-NO-PRIVESC"
                assert security["capabilities"]["drop"] == ["ALL"], f"{name}: drop ALL"
                assert security["readOnlyRootFilesystem"] is True, f"{name}: HIPAA-K8S-READONLY-ROOTFS"
                image = container["image"]
                assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{name}: image must be pinned"
                assert not image.endswith(":latest"), f"{name}: HIPAA-INT-K8S-IMAGE"
                resources = container["resources"]
                assert resources["requests"]["cpu"] and resources["requests"]["memory"], f"{name}: requests"
                assert resources["limits"]["memory"], f"{name}: memory limit"


def test_every_kubernetes_child_uses_the_provider_passed_in_opts(run) -> None:
    recorder = run_with_provider(run, build_whole_layer)
    provider = recorder.one("pulumi:providers:kubernetes")
    kubernetes = [r for r in recorder.registrations if r.type.startswith("kubernetes:")]
    assert kubernetes, "the layer creates Kubernetes objects"
    for registration in kubernetes:
        # Resources name their provider; remote components (helm.v4.Chart) carry it in their providers map.
        used = registration.provider if registration.custom else registration.request.providers.get("kubernetes", "")
        assert used.startswith(provider.urn), f"{registration.name} would use the ambient default provider"


def test_every_gpu_agent_in_the_installed_charts_tolerates_every_clouds_gpu_taint(run) -> None:
    recorder = run_with_provider(run, build_whole_layer)
    operator = chart_values(recorder, "gpu-operator")
    agents = {
        "GPU operator operands": operator["daemonsets"]["tolerations"],
        "Node Feature Discovery worker": operator["node-feature-discovery"]["worker"]["tolerations"],
        "node exporter": chart_values(recorder, "kube-prometheus-stack")["prometheus-node-exporter"]["tolerations"],
        "Fluent Bit": chart_values(recorder, "fluent-bit")["tolerations"],
    }
    for agent, tolerations in agents.items():
        for cloud, taint in every_gpu_taint():
            assert tolerates(tolerations, taint), f"{agent} as installed would skip {cloud} GPU nodes ({taint.aks()})"


def test_host_access_is_confined_to_the_node_agent_namespaces(run) -> None:
    recorder = run_with_provider(run, build_whole_layer)
    privileged = sorted(
        registration.inputs["metadata"]["name"]
        for registration in recorder.by_type("kubernetes:core/v1:Namespace")
        if registration.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    )
    # The NVIDIA agents, the node exporter and the log shipper read the host; nothing else may.
    assert privileged == ["fluent-bit", "gpu-operator", "node-exporter"], privileged


def test_every_namespace_carries_psa_labels_and_a_tier(run) -> None:
    recorder = run_with_provider(run, build_whole_layer)
    for registration in recorder.by_type("kubernetes:core/v1:Namespace"):
        labels = registration.inputs["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"], f"{registration.name} lacks PSA {mode}"
            assert labels[f"pod-security.kubernetes.io/{mode}-version"], f"{registration.name} lacks a PSA version"
        assert labels["mlplatform.io/tier"], f"{registration.name} lacks the tier label"
