"""The GPU contract: taints per cloud, tolerations that cover them all, and the instance catalogs."""

from __future__ import annotations

import pytest

from components._common import gpu, scheduling


def tolerates(tolerations: list[dict[str, str]], taint: gpu.Taint) -> bool:
    """Kubernetes' rule: some toleration of the pod tolerates the taint."""
    return any(scheduling.tolerates(toleration, taint) for toleration in tolerations)


@pytest.mark.parametrize("cloud", ["aws", "azure", "kubernetes"])
def test_gpu_tolerations_cover_every_gpu_taint_of_every_cloud(cloud: str) -> None:
    for taint in gpu.gpu_taints(cloud):
        assert tolerates(gpu.gpu_tolerations(), taint), f"GPU workloads would not schedule on {cloud} ({taint})"
        assert tolerates(gpu.agent_tolerations(), taint), f"node agents would skip {cloud} GPU nodes ({taint})"


def test_gpu_work_and_agents_tolerate_aks_spot_pools() -> None:
    assert tolerates(gpu.gpu_tolerations(), gpu.AKS_SPOT_TAINT), "dev GPU pools on AKS are spot and carry this taint"
    assert tolerates(gpu.agent_tolerations(), gpu.AKS_SPOT_TAINT), "DCGM and log agents must cover spot GPU nodes"


def test_agents_also_tolerate_the_aks_system_pool_taint() -> None:
    assert tolerates(gpu.agent_tolerations(), gpu.CRITICAL_ADDONS_TAINT), "exporters must run on system nodes too"


def test_gpu_tolerations_do_not_tolerate_unrelated_sku_taints() -> None:
    assert not tolerates(gpu.gpu_tolerations(), gpu.Taint("sku", "Windows")), "sku=Windows must still repel GPU pods"


EXTRA_TAINT = gpu.Taint("workload", "training", "NoSchedule")
"""The extra taint of prod's `h100-training` pool (Pulumi.prod.yaml), which the GPU agents once ignored."""

# One pool per shape a GPU pool can take: every cloud, spot, the contract's training workload, a stack's extras.
POOLS = {
    "eks h100-training (extra taint)": gpu.gpu_pool_taints("aws", extra=[EXTRA_TAINT]),
    "eks spot": gpu.gpu_pool_taints("aws", spot=True),
    "aks a100train (training workload)": gpu.gpu_pool_taints("azure", workload=gpu.TRAINING_WORKLOAD),
    "aks t4 spot with extras": gpu.gpu_pool_taints(
        "azure", spot=True, extra=[gpu.Taint("team", "fraud", "NoExecute"), gpu.Taint("tier", "", "NoSchedule")]
    ),
    "existing cluster": gpu.gpu_pool_taints("kubernetes", extra=[gpu.Taint("dedicated", "ml", "NoSchedule")]),
}
EVERY_POOL_TAINT = [taint for taints in POOLS.values() for taint in taints]


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_every_gpu_agent_tolerates_every_taint_of_every_gpu_pool(pool: str) -> None:
    for agent, tolerations in (
        ("GPU-only agents (operands, DCGM)", gpu.gpu_agent_tolerations(EVERY_POOL_TAINT)),
        ("node agents (NFD worker, device plugin)", gpu.agent_tolerations(EVERY_POOL_TAINT)),
    ):
        assert scheduling.untolerated_taints(tolerations, POOLS[pool]) == [], f"{agent} would never reach {pool}"
        assert not scheduling.unschedulable_reasons(
            {"tolerations": tolerations, "nodeSelector": gpu.gpu_node_selector()},
            gpu.gpu_pool_labels("p", None, workload=gpu.TRAINING_WORKLOAD),
            POOLS[pool],
        ), f"{agent} must be placeable on {pool}, training pools included"


def test_gpu_agents_need_no_blanket_toleration_to_reach_every_pool() -> None:
    for tolerations in (gpu.gpu_agent_tolerations(EVERY_POOL_TAINT), gpu.agent_tolerations(EVERY_POOL_TAINT)):
        blanket = [t for t in tolerations if t.get("operator") == "Exists" and not t.get("key")]
        assert blanket == [], "a keyless Exists would also tolerate taints that mean 'keep away' (e.g. node problems)"
        assert not tolerates(tolerations, gpu.Taint("node.kubernetes.io/unreachable", "", "NoExecute")), (
            "agents tolerate the declared taints only"
        )


def test_the_contract_covers_its_own_taints_without_being_told() -> None:
    for taint in (*gpu.GPU_TAINTS["aws"], *gpu.GPU_TAINTS["azure"], gpu.AKS_SPOT_TAINT, gpu.TRAINING_TAINT):
        assert tolerates(gpu.gpu_agent_tolerations(), taint), f"the contract's own {taint} needs no declaration"


def test_pool_taints_already_covered_add_no_duplicate_tolerations() -> None:
    declared = gpu.gpu_agent_tolerations([*gpu.gpu_pool_taints("azure", spot=True), EXTRA_TAINT, EXTRA_TAINT])
    assert declared == [*gpu.gpu_agent_tolerations(), EXTRA_TAINT.toleration()]


def test_a_pool_carries_its_clouds_spot_taint_only_where_the_cloud_adds_one() -> None:
    assert gpu.AKS_SPOT_TAINT in gpu.gpu_pool_taints("azure", spot=True)
    assert gpu.gpu_pool_taints("aws", spot=True) == gpu.gpu_taints("aws"), "EKS spot node groups carry no taint"
    assert gpu.TRAINING_TAINT in gpu.gpu_pool_taints("aws", workload=gpu.TRAINING_WORKLOAD)
    assert gpu.TRAINING_TAINT not in gpu.gpu_pool_taints("aws", workload=gpu.SERVING_WORKLOAD)


def test_training_pools_are_labelled_so_serving_pods_can_exclude_them() -> None:
    labels = gpu.gpu_pool_labels("a100train", "nvidia-a100", workload=gpu.TRAINING_WORKLOAD)
    assert labels[gpu.WORKLOAD_LABEL] == "training"
    assert gpu.WORKLOAD_LABEL not in gpu.gpu_pool_labels("t4serve", "nvidia-t4"), "unlabelled pools stay serving"


@pytest.mark.parametrize("gpus", [True, False])
def test_serving_affinity_never_admits_a_training_pool(gpus: bool) -> None:
    spec = {"affinity": gpu.serving_node_affinity(gpus=gpus)}
    training = gpu.gpu_pool_labels("a100train", "nvidia-a100", workload=gpu.TRAINING_WORKLOAD)
    serving = gpu.gpu_pool_labels("t4serve", "nvidia-t4", workload=gpu.SERVING_WORKLOAD)
    assert not scheduling.node_affinity_admits(spec, training)
    assert scheduling.node_affinity_admits(spec, serving)
    assert scheduling.node_affinity_admits(spec, gpu.gpu_pool_labels("unlabelled", None)), "NotIn admits no label"
    assert scheduling.node_affinity_admits(spec, {"kubernetes.io/os": "linux"}) is not gpus, (
        "GPU pods need GPU nodes; CPU pods may run anywhere but a training pool"
    )


def test_each_cloud_names_the_runtime_handler_its_preinstalled_toolkit_registers() -> None:
    assert gpu.preinstalled_runtime_class("azure") == "nvidia-container-runtime", (
        "AKS driver=Install (gpu-operator#525)"
    )
    assert gpu.preinstalled_runtime_class("aws") == gpu.OPERATOR_RUNTIME_CLASS == "nvidia"


def test_eks_taint_uses_the_eks_api_enum_and_aks_the_string_form() -> None:
    assert gpu.NVIDIA_GPU_TAINT.eks() == {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
    assert [t.aks() for t in gpu.gpu_taints("azure")] == ["sku=gpu:NoSchedule", "nvidia.com/gpu=true:NoSchedule"]


def test_pool_labels_keep_the_contract_labels_over_user_extras() -> None:
    labels = gpu.gpu_pool_labels("a10g", "nvidia-a10g", {gpu.GPU_PRESENT_LABEL: "false", "team": "ml"})
    assert labels[gpu.GPU_PRESENT_LABEL] == "true", "the device plugin's node affinity needs this label"
    assert labels["team"] == "ml"
    assert labels[gpu.GPU_POOL_LABEL] == "a10g"


@pytest.mark.parametrize(
    ("instance_type", "accelerator", "gpus", "architecture"),
    [
        ("g5.xlarge", "nvidia-a10g", 1, "x86_64"),
        ("g5.48xlarge", "nvidia-a10g", 8, "x86_64"),
        ("g5g.2xlarge", "nvidia-t4g", 1, "arm64"),
        ("p4d.24xlarge", "nvidia-a100", 8, "x86_64"),
        ("p5.48xlarge", "nvidia-h100", 8, "x86_64"),
        ("p6-b200.48xlarge", "nvidia-b200", 8, "x86_64"),
    ],
)
def test_aws_gpu_instances_are_classified(instance_type: str, accelerator: str, gpus: int, architecture: str) -> None:
    info = gpu.aws_gpu_instance(instance_type)
    assert info is not None, f"{instance_type} is an NVIDIA GPU type"
    assert (info.accelerator, info.gpus, info.architecture) == (accelerator, gpus, architecture)


@pytest.mark.parametrize(
    "instance_type", ["m6i.large", "g4ad.xlarge", "inf2.xlarge", "trn1.2xlarge", "g5", "G5.xlarge"]
)
def test_non_nvidia_aws_types_are_rejected(instance_type: str) -> None:
    assert gpu.aws_gpu_instance(instance_type) is None, f"{instance_type} cannot run the NVIDIA stack"


@pytest.mark.parametrize(
    ("vm_size", "accelerator", "gpus"),
    [
        ("Standard_NC4as_T4_v3", "nvidia-t4", 1),
        ("Standard_NC96ads_A100_v4", "nvidia-a100", 4),
        ("Standard_ND96isr_H100_v5", "nvidia-h100", 8),
        ("Standard_ND96asr_v4", "nvidia-a100", 8),
        ("Standard_NC6s_v3", "nvidia-v100", 1),
    ],
)
def test_azure_gpu_sizes_are_classified(vm_size: str, accelerator: str, gpus: int) -> None:
    info = gpu.azure_gpu_instance(vm_size)
    assert info is not None, f"{vm_size} is an NVIDIA size"
    assert (info.accelerator, info.gpus) == (accelerator, gpus)


@pytest.mark.parametrize("vm_size", ["Standard_D4ds_v5", "Standard_NV32as_v4", "Standard_ND96isr_MI300X_v5"])
def test_non_nvidia_azure_sizes_are_rejected(vm_size: str) -> None:
    assert gpu.azure_gpu_instance(vm_size) is None, f"{vm_size} cannot run the NVIDIA stack on AKS"


def test_only_bottlerocket_images_switch_off_an_operator_operand() -> None:
    assert gpu.node_image_labels("bottlerocket") == {"nvidia.com/gpu.deploy.device-plugin": "false"}
    assert gpu.node_image_labels("al2023") == {}, "AL2023 NVIDIA nodes need the operator's device plugin"
    assert gpu.node_image_labels(None) == {}


@pytest.mark.parametrize(
    ("instance_type", "vcpus"),
    [("g4dn.xlarge", 4), ("g4dn.metal", 96), ("g5.2xlarge", 8), ("g5g.metal", 64), ("p4d.24xlarge", 96),
     ("p5.48xlarge", 192), ("p6-b200.48xlarge", 192)],
)  # fmt: skip
def test_aws_gpu_instances_know_their_vcpus_for_the_quota_check(instance_type: str, vcpus: int) -> None:
    info = gpu.aws_gpu_instance(instance_type)
    assert info is not None and info.vcpus == vcpus, "EC2 vCPU quotas count these; preflight multiplies by pool size"


def test_an_aws_size_missing_from_the_catalog_has_unknown_vcpus_rather_than_a_guess() -> None:
    info = gpu.aws_gpu_instance("g5.3xlarge")
    assert info is not None and info.vcpus is None


@pytest.mark.parametrize(
    ("vm_size", "vcpus"),
    [("Standard_NC4as_T4_v3", 4), ("Standard_NC24ads_A100_v4", 24), ("Standard_ND96isr_H100_v5", 96),
     ("Standard_D4ds_v5", 4), ("Standard_E8-4ds_v5", 8), ("not-a-size", None)],
)  # fmt: skip
def test_azure_vcpus_come_from_the_size_name(vm_size: str, vcpus: int | None) -> None:
    assert gpu.azure_vm_vcpus(vm_size) == vcpus


def test_every_supported_aws_gpu_family_and_multi_gpu_size_has_a_vcpu_count() -> None:
    assert set(gpu._AWS_VCPUS_BY_SIZE) == set(gpu.AWS_GPU_FAMILIES), "a family without vCPUs cannot be quota-checked"
    for instance_type in gpu._AWS_MULTI_GPU:
        info = gpu.aws_gpu_instance(instance_type)
        assert info is not None and info.vcpus, f"{instance_type} has a GPU count but no vCPU count"
