"""The platform configuration rejects every bad value with its path, and fills presets from the environment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ENVIRONMENT_PRESETS, PlatformConfig
from stacks.load import PlatformConfigError, validate_platform_config

VALID_AWS: dict[str, Any] = {
    "environment": "dev",
    "target": {"cloud": "aws", "region": "eu-central-1"},
    "compliance": {"profiles": ["gdpr"]},
    "cluster": {
        # One stack from a laptop on the VPN: the API answers the VPN's egress only.
        "endpoint": {"publicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]},
        "gpuPools": [{"name": "a10g", "instanceTypes": ["g5.xlarge"], "maxSize": 4}],
    },
    "serving": {"namespaces": [{"name": "fraud", "teamGroup": "ml-fraud", "quota": {"gpu": 2}}]},
}
VALID_AZURE: dict[str, Any] = {
    "environment": "prod",
    "target": {"cloud": "azure", "location": "westeurope"},
    "compliance": {"profiles": ["gdpr", "hipaa"]},
    "cluster": {
        # AKS disables local accounts: an Entra group administers the cluster.
        "adminPrincipals": ["9d3c2b1a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"],
        "gpuPools": [{"name": "t4", "instanceTypes": ["Standard_NC4as_T4_v3"]}],
    },
    # The foundation of a private cluster; its Kubernetes layer is a cluster-layer stack run from the hub.
    "deployment": {
        "kubernetesLayer": "clusterStack",
        "deployer": {"principal": "5b6f2d1e-8c3a-4f1b-9e2d-7a6c5b4d3e21", "network": {"cidrs": ["10.100.8.0/24"]}},
    },
}


def with_change(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `base` with `value` at the dotted `path` (list indexes as numbers)."""
    data = copy.deepcopy(base)
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PlatformConfigError) as caught:
        validate_platform_config(data)
    return caught.value.problems


BAD_CONFIGURATIONS = [
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.maxSzie", 3),
        "cluster.gpuPools[0].maxSzie: unknown key 'maxSzie'; did you mean 'maxSize'?",
        id="typo-key",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.maxSize", "four"),
        "cluster.gpuPools[0].maxSize: Input should be a valid integer",
        id="wrong-type",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.minSize", 6),
        "cluster.gpuPools[0].maxSize: must be >= minSize (6)",
        id="min-greater-than-max",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.desiredSize", 9),
        "cluster.gpuPools[0].desiredSize: must be between minSize (0) and maxSize (4)",
        id="desired-outside-range",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.instanceTypes", ["m6i.large"]),
        "cluster.gpuPools[0].instanceTypes[0]: 'm6i.large' is not an NVIDIA GPU instance type",
        id="non-gpu-instance-type",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.instanceTypes", ["g4ad.xlarge"]),
        "cluster.gpuPools[0].instanceTypes[0]: 'g4ad.xlarge' is not an NVIDIA GPU instance type",
        id="amd-gpu-instance-type",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.gpuPools.0.instanceTypes", ["Standard_D8s_v5"]),
        "cluster.gpuPools[0].instanceTypes[0]: 'Standard_D8s_v5' is not an NVIDIA GPU VM size",
        id="non-gpu-vm-size",
    ),
    pytest.param(
        with_change(
            VALID_AWS,
            "cluster.gpuPools",
            [{"name": "a", "instanceTypes": ["g5.xlarge"]}, {"name": "a", "instanceTypes": ["g6.xlarge"]}],
        ),
        "cluster.gpuPools[1].name: duplicate pool name 'a'",
        id="duplicate-pool",
    ),
    pytest.param(
        with_change(
            VALID_AWS, "serving.namespaces", [{"name": "team", "teamGroup": "a"}, {"name": "team", "teamGroup": "b"}]
        ),
        "serving.namespaces[1].name: duplicate namespace 'team'",
        id="duplicate-namespace",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.namespaces.0.name", "Fraud_Models"),
        "serving.namespaces[0].name: 'Fraud_Models' is not a DNS-1123 label",
        id="invalid-namespace-name",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.namespaces.0.name", "kube-system"),
        "serving.namespaces[0].name: 'kube-system' is a system namespace",
        id="system-namespace",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.namespaces.0.quota.memory", "64 gigs"),
        "serving.namespaces[0].quota.memory: '64 gigs' is not a Kubernetes quantity",
        id="bad-quantity",
    ),
    pytest.param(
        with_change(VALID_AWS, "target.region", "us-east-1"),
        "target.region: 'us-east-1' is outside compliance.allowedRegions",
        id="region-outside-gdpr-allow-list",
    ),
    pytest.param(
        with_change(VALID_AZURE, "target.location", "eastus"),
        "target.location: 'eastus' is outside compliance.allowedLocations",
        id="location-outside-gdpr-allow-list",
    ),
    pytest.param(
        with_change(VALID_AWS, "target.region", "eu-middle-9"),
        "target.region: 'eu-middle-9' is not an AWS region",
        id="unknown-region",
    ),
    pytest.param(
        with_change(VALID_AZURE, "target.location", "atlantis"),
        "target.location: 'atlantis' is not an Azure location",
        id="unknown-location",
    ),
    pytest.param(
        with_change(
            with_change(VALID_AWS, "environment", "prod"),
            "cluster.endpoint",
            {"publicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
        ),
        "cluster.endpoint.publicAccess: prod clusters are private",
        id="prod-public-endpoint",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.endpoint", {"publicAccess": True}),
        "cluster.endpoint.publicAccessCidrs: required when publicAccess is true",
        id="public-endpoint-without-cidrs",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.endpoint", {"publicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}),
        "cluster.endpoint.publicAccessCidrs[0]: 0.0.0.0/0 opens the API server to the whole internet",
        id="public-endpoint-to-internet",
    ),
    pytest.param(
        with_change(with_change(VALID_AWS, "environment", "prod"), "protection", {"statefulResources": False}),
        "protection.statefulResources: prod protects stateful resources",
        id="prod-without-protection",
    ),
    pytest.param(
        with_change(VALID_AWS, "target.zones", ["eu-central-1a"]),
        "target.zones: EKS needs subnets in at least two availability zones",
        id="single-zone-eks",
    ),
    pytest.param(
        with_change(VALID_AWS, "target.zones", ["eu-central-1a", "eu-west-1b"]),
        "target.zones[1]: 'eu-west-1b' is not a zone of eu-central-1",
        id="zone-of-another-region",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.gpuPools.0.name", "a100-training-pool"),
        "cluster.gpuPools[0].name: 'a100-training-pool' is not an AKS pool name",
        id="aks-pool-name",
    ),
    pytest.param(
        with_change(VALID_AWS, "storage", {"buckets": [{"name": "models"}]}),
        "storage.buckets[0].retentionDays: required by the gdpr profile",
        id="gdpr-bucket-without-retention",
    ),
    pytest.param(
        with_change(
            VALID_AWS, "storage", {"buckets": [{"name": "models", "dataClassification": "pii", "retentionDays": 4000}]}
        ),
        "storage.buckets[0].retentionDays: 4000 exceeds the 1095-day ceiling for pii data",
        id="gdpr-retention-ceiling",
    ),
    pytest.param(
        with_change(VALID_AWS, "storage", {"modelsBucket": "weights"}),
        "storage.modelsBucket: 'weights' is not one of the buckets",
        id="models-bucket-reference",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.kubernetesVersion", "1.27"),
        "cluster.kubernetesVersion: 1.27 is out of standard support",
        id="old-kubernetes",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.controlPlaneLogs", ["api"]),
        "cluster.controlPlaneLogs: must include audit, authenticator",
        id="missing-audit-logs",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.labels", {"nvidia.com/gpu.present": "false"}),
        "cluster.gpuPools[0].labels.nvidia.com/gpu.present: 'nvidia.com/gpu.present' is set by the GPU contract",
        id="override-gpu-contract-label",
    ),
    pytest.param(
        with_change(VALID_AWS, "monitoring", {"prometheus": {"retentionSize": "50GB", "volumeSize": "50Gi"}}),
        "monitoring.prometheus.retentionSize: must leave 10% of volumeSize (50Gi) free",
        id="prometheus-retention-too-large",
    ),
    pytest.param(
        with_change(VALID_AWS, "network.cidr", "8.8.0.0/16"),
        "network.cidr: 8.8.0.0/16 is not a private",
        id="public-cidr",
    ),
    pytest.param(
        with_change(VALID_AWS, "logging", {"retentionDays": 2190}),
        "logging.retentionDays: CloudWatch Logs cannot keep logs 2190 days; use 1827 or 2192",
        id="cloudwatch-retention",
    ),
    pytest.param(
        with_change(VALID_AZURE, "logging", {"retentionDays": 1000}),
        "logging.retentionDays: Log Analytics keeps logs 30 to 730 days",
        id="log-analytics-retention",
    ),
    pytest.param(
        with_change(VALID_AWS, "environment", "qa"),
        "environment: Input should be 'dev', 'staging' or 'prod'",
        id="unknown-environment",
    ),
    pytest.param(
        with_change(VALID_AWS, "target", {"cloud": "gcp", "region": "europe-west4"}),
        "target.cloud: must be one of 'aws', 'azure', 'kubernetes' (got 'gcp')",
        id="unknown-cloud",
    ),
    pytest.param(
        with_change(VALID_AWS, "target", {"region": "eu-west-1"}),
        "target.cloud: must be one of 'aws', 'azure', 'kubernetes'",
        id="missing-cloud",
    ),
    pytest.param(
        {
            "environment": "dev",
            "target": {"cloud": "kubernetes", "kubeconfigContext": "kind"},
            "cluster": {"gpuPools": VALID_AWS["cluster"]["gpuPools"]},
        },
        "cluster.gpuPools: an existing cluster's node pools are managed outside this stack",
        id="gpu-pools-on-existing-cluster",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.platformPool", {"instanceTypes": ["g5.xlarge"]}),
        "cluster.platformPool.instanceTypes[0]: 'g5.xlarge' has GPUs: the platform pool is untainted",
        id="gpu-in-the-platform-pool",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.platformPool", {"instanceTypes": ["Standard_D8ds_v5", "Standard_D16ds_v5"]}),
        "cluster.platformPool.instanceTypes: an AKS pool has exactly one VM size",
        id="two-vm-sizes-in-the-aks-platform-pool",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.platformPool", {"instanceTypes": ["m6i.2xlarge"]}),
        "cluster.platformPool.instanceTypes[0]: 'm6i.2xlarge' is not an Azure VM size like Standard_D8ds_v5",
        id="ec2-type-on-azure",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.platformPool", {"instanceTypes": ["Standard_D8ds_v5"]}),
        "cluster.platformPool.instanceTypes[0]: 'Standard_D8ds_v5' is not an EC2 instance type like m6i.2xlarge",
        id="vm-size-on-aws",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.platformPool", {"minSizePerZone": 0}),
        "cluster.platformPool.minSizePerZone: Input should be greater than or equal to 1",
        id="platform-pool-without-nodes",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.platformPool", {"minSizePerZone": 3, "maxSizePerZone": 2}),
        "cluster.platformPool.maxSizePerZone: must be >= minSizePerZone (3)",
        id="platform-max-below-min",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.systemPool", {"minSize": 3}),
        "cluster.systemPool: AKS only: on EKS the platform node groups",
        id="system-pool-on-aws",
    ),
    pytest.param(
        {
            "environment": "dev",
            "target": {"cloud": "kubernetes", "kubeconfigContext": "kind"},
            "cluster": {"platformPool": {"minSizePerZone": 2}},
        },
        "cluster.platformPool: an existing cluster's node pools are managed outside this stack",
        id="platform-pool-on-existing-cluster",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.gpuPools.0.name", "platform"),
        "cluster.gpuPools[0].name: 'platform' is the name of the cluster's own platform pool",
        id="gpu-pool-named-like-the-aks-platform-pool",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.labels", {"mlplatform.io/workload": "training"}),
        "cluster.gpuPools[0].labels.mlplatform.io/workload: comes from the pool's `workload` taint (none here)",
        id="workload-label-without-its-taint",
    ),
    pytest.param(
        with_change(
            with_change(VALID_AWS, "cluster.gpuPools.0.capacityType", "on-demand"),
            "cluster.gpuPools.0.onDemandFallback",
            True,
        ),
        "cluster.gpuPools[0].onDemandFallback: is for spot pools; this pool is on-demand",
        id="on-demand-fallback-on-an-on-demand-pool",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.gpuPools.0.onDemandFallback", True),
        "cluster.gpuPools[0].onDemandFallback: EKS only",
        id="on-demand-fallback-on-aks",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.autoscaling", {"expander": "priority"}),
        "cluster.autoscaling.expander: AKS only",
        id="aks-expander-on-eks",
    ),
    pytest.param(
        with_change(VALID_AZURE, "cluster.autoscaling", {"nodeExpiryHours": 48}),
        "cluster.autoscaling.nodeExpiryHours: EKS only",
        id="karpenter-expiry-on-aks",
    ),
    pytest.param(
        with_change(VALID_AWS, "cluster.gpuPools.0.priority", 0),
        "cluster.gpuPools[0].priority: Input should be greater than or equal to 1",
        id="pool-priority-out-of-range",
    ),
    pytest.param(
        {
            "environment": "dev",
            "target": {"cloud": "kubernetes", "kubeconfigContext": "kind"},
            "cluster": {"autoscaling": {"scaleDownAfterMinutes": 5}},
        },
        "cluster.autoscaling: an existing cluster's node pools are managed outside this stack",
        id="autoscaling-on-existing-cluster",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.gateway", {"public": True}),
        "serving.gateway.publicSourceCidrs: required with public: true",
        id="public-gateway-without-allow-list",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.gateway", {"public": True, "publicSourceCidrs": ["0.0.0.0/0"]}),
        "serving.gateway.publicSourceCidrs[0]: 0.0.0.0/0 is the whole internet",
        id="public-gateway-open-to-the-internet",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.gateway", {"publicSourceCidrs": ["198.51.100.0/24"]}),
        "serving.gateway.publicSourceCidrs: only used with public: true",
        id="allow-list-on-an-internal-gateway",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.gateway", {"domain": "Models.Example.com"}),
        "serving.gateway.domain: 'Models.Example.com' is not a lower-case DNS domain",
        id="gateway-domain",
    ),
    pytest.param(
        with_change(VALID_AWS, "serving.namespaces.0.secrets", ["db/password"]),
        "serving.namespaces[0].secrets: 'db/password' is not a secret name",
        id="secret-name-with-a-path",
    ),
]


@pytest.mark.parametrize(("data", "expected"), BAD_CONFIGURATIONS)
def test_a_bad_configuration_is_rejected_with_its_path(data: dict[str, Any], expected: str) -> None:
    problems = problems_of(data)
    full = f"mlplatform:platform.{expected}"
    assert any(problem.startswith(full) for problem in problems), (
        f"expected a problem starting {full!r}, got {problems}"
    )


def test_the_valid_baselines_are_valid() -> None:
    assert validate_platform_config(VALID_AWS).cloud == "aws"
    assert validate_platform_config(VALID_AZURE).cloud == "azure"


def test_every_problem_is_reported_at_once_even_when_other_keys_are_broken() -> None:
    data = with_change(VALID_AWS, "environment", "prod")
    data = with_change(data, "target.region", "us-east-1")
    data = with_change(data, "cluster.gpuPools.0.instanceTypes", ["m6i.large"])
    data = with_change(data, "cluster.gpuPools.0.minSize", 9)
    data = with_change(data, "serving.namespaces.0.quota.cpu", "lots")
    data = with_change(data, "registry.scanOnPsh", True)
    problems = problems_of(data)
    paths = {problem.split(":")[1].split(" ")[0] for problem in problems}
    for expected in (
        "platform.target.region",
        "platform.cluster.gpuPools[0].instanceTypes[0]",
        "platform.cluster.gpuPools[0].maxSize",
        "platform.serving.namespaces[0].quota.cpu",
        "platform.registry.scanOnPsh",
    ):
        assert expected in paths, f"{expected} should be reported together with the others; got {problems}"


def test_the_error_message_lists_each_problem_on_its_own_line_and_says_nothing_was_created() -> None:
    with pytest.raises(PlatformConfigError) as caught:
        validate_platform_config(with_change(VALID_AWS, "cluster.gpuPools.0.minSize", 6))
    message = str(caught.value)
    assert "nothing was created" in message, "the user must know no resource exists yet"
    assert "\n  - mlplatform:platform.cluster.gpuPools[0].maxSize: must be >= minSize (6)" in message


def test_dev_preset_makes_gpu_pools_spot_with_one_nat_and_no_protection() -> None:
    config = validate_platform_config(VALID_AWS)
    assert config.cluster.gpu_pools[0].capacity_type == "spot"
    assert config.network.nat_gateways == "single"
    assert config.protect is False
    assert config.target.zones == ["eu-central-1a", "eu-central-1b"], "dev defaults to two zones"


def as_prod(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as a prod foundation: private API, the layer in a cluster-layer stack, a stable deployer."""
    prod = with_change(data, "environment", "prod")
    prod["cluster"].pop("endpoint", None)
    prod["deployment"] = {
        "kubernetesLayer": "clusterStack",
        "deployer": {
            "principal": "arn:aws:iam::210987654321:role/cluster-deployer",
            "network": {"cidrs": ["10.100.8.0/24"]},
        },
    }
    return prod


def test_prod_preset_makes_gpu_pools_on_demand_with_nat_per_zone_protection_and_all_logs() -> None:
    config = validate_platform_config(as_prod(VALID_AWS))
    assert config.cluster.gpu_pools[0].capacity_type == "on-demand"
    assert config.network.nat_gateways == "perZone"
    assert config.protect is True
    assert config.cluster.control_plane_logs == list(ENVIRONMENT_PRESETS["prod"]["control_plane_logs"])
    assert len(config.target.zones) == 3


@pytest.mark.parametrize(
    ("environment", "aws_type", "azure_size", "max_per_zone"),
    [("dev", "m6i.xlarge", "Standard_D4ds_v5", 2), ("prod", "m6i.2xlarge", "Standard_D8ds_v5", 3)],
)
def test_the_platform_pool_is_sized_by_the_environment_preset(
    environment: str, aws_type: str, azure_size: str, max_per_zone: int
) -> None:
    aws_data = as_prod(VALID_AWS) if environment == "prod" else VALID_AWS
    azure_data = with_change(VALID_AZURE, "environment", environment)
    for data, size in ((aws_data, aws_type), (azure_data, azure_size)):
        platform = validate_platform_config(data).cluster.platform_pool
        assert platform.instance_types == [size], f"{environment}: the preset's general-purpose size for the cloud"
        assert (platform.min_size_per_zone, platform.max_size_per_zone) == (1, max_per_zone), (
            f"{environment}: a node in every zone, room to grow per zone"
        )
        assert platform.disk_size_gb == 100


def test_an_explicit_platform_minimum_above_the_preset_maximum_raises_the_maximum() -> None:
    config = validate_platform_config(with_change(VALID_AWS, "cluster.platformPool", {"minSizePerZone": 3}))
    platform = config.cluster.platform_pool
    assert (platform.min_size_per_zone, platform.max_size_per_zone) == (3, 3), "the preset maximum (2) follows it"


def test_a_workload_label_that_matches_the_pool_s_taint_is_accepted() -> None:
    data = with_change(VALID_AWS, "cluster.gpuPools.0.taints", [{"key": "workload", "value": "training"}])
    data = with_change(data, "cluster.gpuPools.0.labels", {"mlplatform.io/workload": "training"})
    assert validate_platform_config(data).cluster.gpu_pools[0].labels == {"mlplatform.io/workload": "training"}


def test_a_spot_fallback_is_refused_where_the_preset_makes_the_pool_on_demand() -> None:
    data = as_prod(with_change(VALID_AWS, "cluster.gpuPools.0.onDemandFallback", True))
    assert any(
        "gpuPools[0].onDemandFallback: is for spot pools; this pool is on-demand" in p for p in problems_of(data)
    ), "prod presets GPU pools to on-demand, so a fallback there is a mistake to name, not to ignore"


def test_an_explicit_value_wins_over_the_preset() -> None:
    data = with_change(VALID_AWS, "cluster.gpuPools.0.capacityType", "on-demand")
    assert validate_platform_config(data).cluster.gpu_pools[0].capacity_type == "on-demand"


def test_presets_do_not_leak_between_configurations() -> None:
    prod = validate_platform_config(as_prod(VALID_AWS))
    dev = validate_platform_config(VALID_AWS)
    assert prod.network.nat_gateways == "perZone" and dev.network.nat_gateways == "single", (
        "shared default objects would carry one stack's preset into another"
    )


def test_azure_locations_are_normalized() -> None:
    config = validate_platform_config(with_change(VALID_AZURE, "target.location", "West Europe"))
    assert config.target.location == "westeurope"


def test_the_models_carry_every_default_so_a_minimal_file_is_complete() -> None:
    config = PlatformConfig.from_data(
        {
            "environment": "dev",
            "target": {"cloud": "aws", "region": "eu-west-1"},
            # The one thing a private dev cluster cannot do without: where its Kubernetes layer is deployed from.
            "deployment": {"deployer": {"network": {"cidrs": ["10.100.0.0/24"]}}},
        }
    )
    assert config.deployment.kubernetes_layer == "thisStack", "one stack by default"
    assert [bucket.name for bucket in config.storage.buckets] == ["datasets", "models", "artifacts"]
    assert config.registry.scan_on_push is True, "image scanning is on by default"
    assert config.cluster.endpoint.public_access is False, "the API endpoint is private by default"
    platform = config.cluster.platform_pool
    assert (platform.instance_types, platform.min_size_per_zone, platform.max_size_per_zone) == (["m6i.xlarge"], 1, 2)
