"""The AWS stacks synthesize the whole foundation, protected in prod, without needless serial chains."""

from __future__ import annotations

import json

import pytest

from components._common import pools
from stacks.config import ENVIRONMENT_PRESETS, PlatformConfig
from stacks.load import platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT, Registration, Synthesis, synthesize, synthesize_whole

DATA_STORES = (
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:ecr/repository:Repository",
    "aws:cloudwatch/logGroup:LogGroup",
)
EKS_CLUSTER = "aws:eks/cluster:Cluster"


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize_whole("prod")


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize("dev")


def _config(stack: str) -> PlatformConfig:
    return platform_config_from_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")


def _is_component(registration: Registration) -> bool:
    return not registration.custom and registration.type.startswith("mlplatform:")


def _descendants(synthesis: Synthesis, urn: str) -> list[Registration]:
    found: list[Registration] = []
    pending = [urn]
    while pending:
        children = synthesis.monitor.children_of(pending.pop())
        found += children
        pending += [child.urn for child in children]
    return found


def transitive_dependencies(synthesis: Synthesis, registration: Registration) -> set[str]:
    """Every URN `registration` waits for: its dependencies, their dependencies, and so on.

    A resource waits for its parent to be registered, and depending on a component means waiting for
    everything inside it (Pulumi expands such a dependency to the component's descendants).
    """
    seen: set[str] = set()
    pending = [registration]
    while pending:
        current = pending.pop()
        edges = [*current.dependencies, *(urn for urns in current.property_dependencies.values() for urn in urns)]
        if current.parent:
            edges.append(current.parent)
        for urn in edges:
            if urn in seen:
                continue
            seen.add(urn)
            target = synthesis.monitor.by_urn(urn)
            pending.append(target)
            if _is_component(target) and urn != current.parent:
                pending += _descendants(synthesis, urn)
    return seen


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_aws_stacks_contain_the_whole_foundation(stack: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(stack)
    config = _config(stack)
    monitor = synthesis.monitor
    warm_pools = [pool for pool in config.cluster.gpu_pools if pool.min_size > 0]
    expected = {
        "mlplatform:index:AwsNetwork": 1,
        "mlplatform:index:AwsGpuCluster": 1,
        "mlplatform:index:AwsContainerRegistry": 1,
        "mlplatform:index:AwsAccessLogBucket": 1,
        "mlplatform:index:AwsEncryptedBucket": len(config.storage.buckets),
        "mlplatform:index:AwsServingIdentity": len(config.serving.namespaces),
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/flowLog:FlowLog": 1,
        EKS_CLUSTER: 1,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
        # One platform node group per zone, one per GPU pool with warm nodes (Karpenter creates the rest).
        "aws:eks/nodeGroup:NodeGroup": len(config.target.zones or []) + len(warm_pools),
        "aws:ec2/launchTemplate:LaunchTemplate": 1 + len(warm_pools),
        "aws:eks/addon:Addon": 5,
        "aws:ecr/repository:Repository": len(config.registry.repositories),
        "aws:s3/bucket:Bucket": len(config.storage.buckets) + 1,
        "aws:s3/bucketLogging:BucketLogging": len(config.storage.buckets),
    }
    counts = {type_token: len(monitor.by_type(type_token)) for type_token in expected}
    assert counts == expected, f"{stack}: the foundation is incomplete or duplicated"
    node_groups = {group.name: group for group in monitor.by_type("aws:eks/nodeGroup:NodeGroup")}
    for pool in warm_pools:
        group = node_groups[f"eks-gpu-{pool.name}"]
        assert group.inputs["instanceTypes"] == pool.instance_types, f"{stack}: the pool's types"
        assert group.inputs["capacityType"] == ("SPOT" if pool.capacity_type == "spot" else "ON_DEMAND"), (
            f"{stack}: the preset capacity type reaches the node group"
        )
    specs = {spec["name"]: spec for spec in monitor.one("mlplatform:index:AwsGpuCluster").outputs["karpenterPools"]}
    for pool in config.cluster.gpu_pools:
        if pool.max_size > pool.min_size:
            assert specs[pool.name]["max_nodes"] == pool.max_size - pool.min_size, (
                f"{stack}: Karpenter may add what lies above {pool.name}'s warm nodes"
            )
            assert specs[pool.name]["instance_types"] == pool.instance_types, f"{stack}: the pool's types"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_zone_of_the_cluster_has_a_platform_node_group_of_the_preset_size(
    stack: str, request: pytest.FixtureRequest
) -> None:
    """Review M5: a Prometheus or Elasticsearch pod whose EBS volume is in a zone needs a node in that zone."""
    synthesis: Synthesis = request.getfixturevalue(stack)
    config = _config(stack)
    preset = ENVIRONMENT_PRESETS[config.environment]
    monitor = synthesis.monitor
    # The mocks give every AWS resource the ID `<name>-id`.
    subnet_zones = {f"{s.name}-id": s.inputs["availabilityZone"] for s in monitor.by_type("aws:ec2/subnet:Subnet")}
    groups = {g.name: g.inputs for g in monitor.by_type("aws:eks/nodeGroup:NodeGroup")}
    for zone in config.target.zones or []:
        group = groups.get(f"eks-platform-{zone}")
        assert group is not None, f"{stack}: {zone} has no platform node group; its volumes' pods could stay Pending"
        assert [subnet_zones[subnet] for subnet in group["subnetIds"]] == [zone], f"{stack}: launches only in {zone}"
        assert group["scalingConfig"]["minSize"] == preset["platform_min_size_per_zone"] >= 1
        assert group["scalingConfig"]["maxSize"] == preset["platform_min_size_per_zone"], (
            "fixed; Karpenter's platform pool grows beyond it"
        )
        assert group["instanceTypes"] == preset["platform_instance_types"]["aws"], f"{stack}: the preset size"
        assert group["labels"] == {pools.POOL_ROLE_LABEL: pools.PLATFORM_POOL_ROLE}
        assert "taints" not in group, "the platform's pods need no tolerations"
    specs = monitor.one("mlplatform:index:AwsGpuCluster").outputs["karpenterPools"]
    room = preset["platform_max_size_per_zone"] - preset["platform_min_size_per_zone"]
    platform = [spec for spec in specs if spec["name"] == pools.PLATFORM_POOL_NAME]
    assert [spec["max_nodes"] for spec in platform] == ([room * len(config.target.zones or [])] if room else []), (
        f"{stack}: the preset's room above the fixed groups, in every zone, is Karpenter's"
    )


def test_prod_s_training_pool_is_labelled_for_the_jobs_that_tolerate_its_taint(prod: Synthesis) -> None:
    specs = prod.monitor.one("mlplatform:index:AwsGpuCluster").outputs["karpenterPools"]
    (pool,) = [spec for spec in specs if spec["name"] == "h100-training"]
    assert {"key": "workload", "value": "training", "effect": "NoSchedule"} in pool["taints"], "training only"
    assert pool["labels"][pools.WORKLOAD_LABEL] == "training", "derived from the workload taint"


def test_every_aws_resource_uses_the_stacks_provider_with_its_region_and_record_tags(prod: Synthesis) -> None:
    provider = prod.monitor.one("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1", "GDPR-RES-AWS-REGION: the stack's region, nothing implicit"
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["data-owner"] == "ml-platform" and tags["processing-activity"] == "ropa-ml-0042", (
        "GDPR-REC-TAGS: the record-of-processing tags reach every resource"
    )
    strays = [
        r.name
        for r in prod.registrations
        if r.custom and r.type.startswith("aws:") and not r.provider.startswith(provider.urn)
    ]
    assert strays == [], "a resource on the default provider would land in whatever region the shell points at"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_resource_name_derives_from_its_component_name(stack: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(stack)
    components = {r.urn: r for r in synthesis.registrations if _is_component(r)}
    for registration in synthesis.registrations:
        parent = components.get(registration.parent)
        if parent is not None:
            assert registration.name.startswith(f"{parent.name}-"), (
                f"{registration.name} does not start with its component's name {parent.name!r}; a second instance would collide"
            )


def test_prod_protects_and_retains_every_data_store(prod: Synthesis) -> None:
    stores = [r for r in prod.registrations if r.type in DATA_STORES]
    assert len(stores) >= 10
    unprotected = [r.name for r in stores if not (r.protect and r.retain_on_delete)]
    assert unprotected == [], "prod keys, buckets, repositories and log groups survive an accidental destroy"
    assert prod.monitor.one(EKS_CLUSTER).inputs["deletionProtection"] is True


def test_dev_can_be_torn_down(dev: Synthesis) -> None:
    assert [r.name for r in dev.registrations if r.protect] == [], "dev stacks are disposable"


def test_registry_buckets_and_their_keys_do_not_wait_for_the_eks_cluster(prod: Synthesis) -> None:
    cluster = prod.monitor.one(EKS_CLUSTER)
    independent = [
        registration
        for component in prod.registrations
        if component.type
        in (
            "mlplatform:index:AwsContainerRegistry",
            "mlplatform:index:AwsEncryptedBucket",
            "mlplatform:index:AwsAccessLogBucket",
            "mlplatform:index:AwsBackupPlan",
        )
        for registration in _descendants(prod, component.urn)
    ]
    assert {r.type for r in independent} >= {
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
        "aws:backup/vault:Vault",
    }
    serial = [r.name for r in independent if cluster.urn in transitive_dependencies(prod, r)]
    assert serial == [], (
        "these only need the node role, the access-log bucket and the buckets; waiting ~10 minutes for the control plane is a needless serial chain"
    )


def test_the_dependency_walk_does_see_real_dependencies_on_the_cluster(prod: Synthesis) -> None:
    cluster = prod.monitor.one(EKS_CLUSTER)
    role = prod.monitor.one("aws:iam/role:Role", "serving-fraud-detection-role")
    assert cluster.urn in transitive_dependencies(prod, role), "IRSA roles need the OIDC provider, hence the cluster"


def test_serving_identities_read_their_own_prefix_of_the_models_bucket(prod: Synthesis) -> None:
    config = _config("prod")
    models_bucket = prod.outputs["bucketNames"][config.storage.models_bucket]
    for namespace in config.serving.namespaces:
        policy = json.loads(
            prod.monitor.one("aws:iam/rolePolicy:RolePolicy", f"serving-{namespace.name}-read-models").inputs["policy"]
        )
        read = next(item for item in policy["Statement"] if item["Action"] == "s3:GetObject")
        assert read["Resource"] == f"arn:aws:s3:::{models_bucket}/{namespace.name}/*"
    assert set(prod.outputs["servingIdentities"]) == {namespace.name for namespace in config.serving.namespaces}


def test_the_stack_outputs_are_flat_camel_case_and_keep_the_kubeconfig_secret(prod: Synthesis) -> None:
    outputs = prod.outputs
    for key in (
        "kubeconfig", "clusterName", "clusterEndpoint", "oidcIssuerUrl", "oidcProviderArn", "registryUrl",
        "registryRepositoryUrls", "bucketNames", "bucketKmsKeyArns", "clusterKmsKeyArn", "registryKmsKeyArn",
        "servingIdentities", "storageClass", "accessLogBucketName",
    ):  # fmt: skip
        assert key in outputs, f"missing stack output {key}"
    assert "kubeconfig" in prod.secret_outputs, "the kubeconfig must never be exported in plain text"
    assert outputs["clusterName"] == "mlplatform-prod"
    assert outputs["storageClass"]["parameters"]["encrypted"] == "true"
    assert outputs["storageClass"]["parameters"]["kmsKeyId"] == outputs["clusterKmsKeyArn"]


def test_nat_gateways_follow_the_environment(prod: Synthesis, dev: Synthesis) -> None:
    assert len(prod.monitor.by_type("aws:ec2/natGateway:NatGateway")) == 3, "prod survives a zone outage"
    assert len(dev.monitor.by_type("aws:ec2/natGateway:NatGateway")) == 1, "dev saves two NAT gateways"


def test_log_retention_never_exceeds_the_configured_days(prod: Synthesis) -> None:
    configured = _config("prod").logging.retention_days
    for log_group in prod.monitor.by_type("aws:cloudwatch/logGroup:LogGroup"):
        retention = log_group.inputs["retentionInDays"]
        assert retention <= configured, f"{log_group.name}: GDPR storage limitation caps log retention"
        assert retention >= 365, f"{log_group.name}: audit logs are kept at least a year"
