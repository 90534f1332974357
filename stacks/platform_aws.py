"""The AWS foundation of the platform (VPC, EKS, ECR, S3, RDS, IRSA roles), then its Kubernetes layer.

Imported by the composition root (`stacks.platform`) only for an AWS stack, so no other stack loads the AWS SDK.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components._common import gpu
from components._common.autoscaling import KARPENTER_DISCOVERY_TAG, ScaledPoolSpec
from components._common.gpu import SERVING_SERVICE_ACCOUNT
from components._common.tags import platform_tags
from components.aws import (
    AwsAccessLogBucket,
    AwsBackupPlan,
    AwsContainerRegistry,
    AwsEncryptedBucket,
    AwsGpuCluster,
    AwsGpuNodePoolArgs,
    AwsNetwork,
    AwsPostgres,
    AwsRegistryScanning,
    AwsServingIdentity,
    AwsTrackingIdentity,
    AwsTrainingIdentity,
)
from components.aws.gpu_cluster import planned_karpenter_pools
from stacks.config import AwsTarget, GpuPoolConfig, PlatformConfig
from stacks.platform import (
    CLASSIFICATION_ORDER,
    KarpenterLayer,
    KubernetesLayerInputs,
    Platform,
    SecretsLayer,
    gpu_pool_taints,
    secret_name_prefix,
    tracking_layer,
    training_buckets,
)


def build_aws(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AwsTarget)
    target = config.target
    project, stack = pulumi.get_project(), pulumi.get_stack()
    protect = config.protect
    tags = platform_tags(
        environment=config.environment,
        stack=stack,
        data_owner=config.governance.data_owner,
        processing_activity=config.governance.processing_activity,
        extra=config.governance.tags,
    )
    # One explicit provider: the region is the stack's, and the GDPR record tags land on every resource.
    provider = aws.Provider(
        "aws",
        region=target.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        # The cluster tags the node subnets for Karpenter's discovery with `aws.ec2.Tag`; the subnets' own `tags`
        # must not see that key as drift and remove it on the next `pulumi up` or refresh.
        ignore_tags=aws.ProviderIgnoreTagsArgs(keys=[KARPENTER_DISCOVERY_TAG]),
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})

    log_retention = config.logging.retention_days  # a CloudWatch value: stacks/config.py checks it
    deployer = config.deployment.deployer
    deployer_network = deployer.network
    deployer_cidrs = [str(cidr) for cidr in deployer_network.cidrs]

    network = AwsNetwork(
        "network",
        {
            "availability_zones": list(target.zones or []),
            "cidr_block": str(config.network.cidr),
            "nat_gateways": config.network.nat_gateways or "perZone",
            "flow_log_retention_days": log_retention,
            "protect": protect,
            **(
                {"transit_gateway_id": deployer_network.transit_gateway_id, "transit_gateway_cidrs": deployer_cidrs}
                if deployer_network.transit_gateway_id
                else {}
            ),
        },
        opts,
    )

    cluster = AwsGpuCluster(
        "eks",
        {
            "cluster_name": f"{project}-{stack}",
            "subnet_ids": network.private_subnet_ids,
            "kubernetes_version": config.cluster.kubernetes_version,
            "endpoint_public_access": config.cluster.endpoint.public_access,
            "public_access_cidrs": [str(cidr) for cidr in config.cluster.endpoint.public_access_cidrs],
            "control_plane_log_types": list(config.cluster.control_plane_logs or []),
            "log_retention_days": log_retention,
            "admin_principal_arns": list(config.cluster.admin_principals),
            # The configured deployer (staging and prod require one); in dev without one, whoever runs `pulumi up`.
            **(
                {"deployer_principal_arn": deployer.principal}
                if config.cluster.deployer_admin_access and deployer.principal
                else {"grant_deployer_admin": config.cluster.deployer_admin_access}
            ),
            "team_access": _aws_team_access(config),
            # The in-network deployer reaches the private endpoint on 443, and nothing else does.
            "api_access_cidrs": deployer_cidrs,
            "api_access_security_group_ids": list(deployer_network.security_group_ids),
            "create_autoscaling_service_linked_role": config.deployment.create_service_linked_roles,
            # One platform node group per zone: the zones are plain config, the subnet IDs outputs of the network.
            "node_subnet_ids_by_zone": {
                zone: network.private_subnet_ids_by_zone.apply(lambda by_zone, zone=zone: by_zone[zone])
                for zone in target.zones or []
            },
            **_eks_pools(config),
            "protect": protect,
            # Provider default tags do not reach the instances and volumes node groups launch; these do.
            "tags": tags,
        },
        opts,
    )

    # Registry and buckets need only the node role and the access-log bucket, never the cluster itself,
    # so they are created in parallel with the control plane.
    registry = AwsContainerRegistry(
        "registry",
        {
            "repositories": list(config.registry.repositories),
            "repository_prefix": f"{project}-{stack}",
            "scan_on_push": config.registry.scan_on_push,
            "keep_tagged_images": config.registry.keep_tagged_images,
            "untagged_retention_days": config.registry.untagged_retention_days,
            # Nodes of the fixed node groups and the nodes Karpenter launches pull the model images.
            "pull_principal_arns": [cluster.node_role_arn, cluster.karpenter_node_role_arn],
            "protect": protect,
        },
        opts,
    )
    if config.registry.enhanced_scanning:
        # Inspector rescans every platform image as CVEs appear; promotion is gated on its findings
        # (`python -m policies.image_gate`, README *Supply chain*).
        AwsRegistryScanning(
            "registry-scanning",
            {
                "repository_filters": [f"{project}-{stack}/*"],
                "enable_inspector": config.registry.enable_inspector,
            },
            opts,
        )
    access_logs = AwsAccessLogBucket(
        "access-logs", {"retention_days": config.storage.access_log_retention_days, "protect": protect}, opts
    )
    buckets = {
        bucket.name: AwsEncryptedBucket(
            bucket.name,
            {
                "access_log_bucket_name": access_logs.bucket_name,
                "data_classification": bucket.data_classification,
                "retention_days": bucket.retention_days,
                "noncurrent_version_retention_days": bucket.noncurrent_version_retention_days,
                "protect": protect,
            },
            opts,
        )
        for bucket in config.storage.buckets
    }
    tracking = (
        _aws_tracking(config, platform, network, cluster, buckets, opts) if config.training.tracking.enabled else None
    )
    # Personal and health data get point-in-time recovery outside the bucket (HIPAA 164.308(a)(7)); so does the
    # tracking database, whose runs may record them.
    personal = [b.name for b in config.storage.buckets if b.data_classification in ("phi", "pii")]
    if personal:
        backup = AwsBackupPlan(
            "backup",
            {
                "resource_arns": [
                    *(buckets[name].bucket_arn for name in personal),
                    *([tracking.instance_arn] if tracking else []),
                ],
                **({"database_kms_key_arns": [tracking.kms_key_arn]} if tracking else {}),
                "source_kms_key_arns": [buckets[name].kms_key_arn for name in personal],
                "data_classification": max(
                    (b.data_classification for b in config.storage.buckets if b.name in personal),
                    key=CLASSIFICATION_ORDER.index,
                ),
                "protect": protect,
            },
            opts,
        )
        platform.outputs["backupVaultName"] = backup.vault_name
    models = buckets[config.storage.models_bucket]
    repository_arns = registry.repository_arns.apply(lambda arns: sorted(arns.values()))
    serving = {
        namespace.name: AwsServingIdentity(
            f"serving-{namespace.name}",
            {
                "namespace": namespace.name,
                "oidc_provider_arn": cluster.oidc_provider_arn,
                "bucket_arn": models.bucket_arn,
                "kms_key_arn": models.kms_key_arn,
                "prefix": namespace.name,
                "repository_arns": repository_arns,
                # Reads only its own namespace's application secrets (Secrets Store CSI, Secrets Manager).
                "secret_name_prefix": secret_name_prefix(config, namespace.name),
            },
            opts,
        )
        for namespace in config.serving.namespaces
    }
    training = {
        namespace.name: AwsTrainingIdentity(
            f"training-{namespace.name}",
            {
                "namespace": namespace.name,
                "oidc_provider_arn": cluster.oidc_provider_arn,
                # The team's prefix in each bucket is `<store>/<namespace>` (the component's default).
                **{
                    store: {"bucket_arn": buckets[bucket].bucket_arn, "kms_key_arn": buckets[bucket].kms_key_arn}
                    for store, bucket in training_buckets(config).items()
                },
                # The serving images its pipelines build, pushed by digest to these repositories only.
                **(
                    {
                        "image_repository_arns": [
                            registry.repository_arns.apply(lambda arns, repo=repo: arns[repo])
                            for repo in namespace.image_repositories
                        ]
                    }
                    if namespace.image_repositories
                    else {}
                ),
            },
            opts,
        )
        for namespace in config.training.namespaces
    }

    platform.outputs.update(
        {
            "region": target.region,
            "vpcId": network.vpc_id,
            "privateSubnetIds": network.private_subnet_ids,
            "flowLogGroupName": network.flow_log_group_name,
            "kubeconfig": cluster.kubeconfig,
            "clusterName": cluster.cluster_name,
            "clusterEndpoint": cluster.endpoint,
            "clusterSecurityGroupId": cluster.cluster_security_group_id,
            "clusterKmsKeyArn": cluster.kms_key_arn,
            "oidcIssuerUrl": cluster.oidc_issuer_url,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "nodeRoleArn": cluster.node_role_arn,
            "storageClass": cluster.storage_class,
            "registryUrl": registry.registry_url,
            "registryRepositoryUrls": registry.repository_urls,
            "registryKmsKeyArn": registry.kms_key_arn,
            "bucketNames": {name: bucket.bucket_name for name, bucket in buckets.items()},
            "bucketKmsKeyArns": {name: bucket.kms_key_arn for name, bucket in buckets.items()},
            "modelsBucketName": models.bucket_name,
            "accessLogBucketName": access_logs.bucket_name,
            "servingIdentities": {name: identity.role_arn for name, identity in serving.items()},
            "servingServiceAccount": SERVING_SERVICE_ACCOUNT,
            "trainingIdentities": {name: identity.role_arn for name, identity in training.items()},
            "gpuPoolTaints": gpu_pool_taints(config),
            "karpenter": cluster.karpenter,
            "karpenterPools": cluster.karpenter_pools,
            "efaPools": cluster.efa_pools,
        }
    )
    if config.deployment.kubernetes_layer == "clusterStack":
        return  # the cluster-layer stack installs it from inside the network, from the outputs above
    from stacks.platform_kubernetes import build_kubernetes_layer, cluster_provider  # with the layer only

    # The provider waits for what the API needs to take the layer (admin access, the platform nodes of every zone,
    # add-ons), not for the GPU node groups.
    provider = cluster_provider(
        "eks-kubernetes", cluster.kubeconfig, cluster.oidc_issuer_url, cluster.api_prerequisites
    )
    build_kubernetes_layer(
        config,
        platform,
        KubernetesLayerInputs(
            provider=provider,
            identity_kind="aws",
            serving_identities={name: identity.role_arn for name, identity in serving.items()},
            storage_class=cluster.storage_class,
            gpu_driver_preinstalled=True,  # the EKS NVIDIA AMIs (AL2023, Bottlerocket) ship driver and toolkit
            install_gpu_stack=bool(config.cluster.gpu_pools),
            gpu_pool_taints=gpu_pool_taints(config),
            gpu_runtime_class=gpu.preinstalled_runtime_class("aws"),
            karpenter=KarpenterLayer(
                pools=cluster.karpenter_pools, settings=cluster.karpenter, efa_pools=cluster.efa_pools
            ),
            metrics_server=True,
            model_store=models.bucket_name.apply(lambda bucket: f"s3://{bucket}"),
            secrets=SecretsLayer(provider="aws", aws_region=target.region),
            training_identities={name: identity.role_arn for name, identity in training.items()},
            training_pools=list(config.cluster.gpu_pools),
            training_cloud="aws",
            efa_region=target.region if any(pool.efa for pool in config.cluster.gpu_pools) else None,
            efa_pool_taints=gpu_pool_taints(config),
            artifact_store={
                "cloud": "aws",
                "bucket": buckets[config.training.artifacts_bucket].bucket_name,
                "region": target.region,
                "kms_key_id": buckets[config.training.artifacts_bucket].kms_key_arn,
            },
            tracking=tracking_layer(platform.outputs, config) if tracking else None,
        ),
    )


def _aws_tracking(
    config: PlatformConfig,
    platform: Platform,
    network: AwsNetwork,
    cluster: AwsGpuCluster,
    buckets: dict[str, AwsEncryptedBucket],
    opts: pulumi.ResourceOptions,
) -> AwsPostgres:
    """The tracking server's cloud side on AWS: its RDS PostgreSQL, reachable from the cluster's nodes only, and its
    IRSA role writing `mlflow/` in the artifacts bucket. Exported for the Kubernetes layer (here or a cluster-layer
    stack)."""
    database = config.training.tracking.database
    # A password Pulumi holds (a secret in state): an RDS-managed one rotates weekly, and MLflow keeps the one it
    # started with in its connection URI.
    password = random.RandomPassword(
        "tracking-db-password",
        length=40,
        special=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["result"])),
    )
    postgres = AwsPostgres(
        "tracking-db",
        {
            "vpc_id": network.vpc_id,
            "subnet_ids": network.private_subnet_ids,
            # The EKS cluster security group is on every node (managed groups and Karpenter's, by discovery tag).
            "allowed_security_group_ids": [cluster.cluster_security_group_id],
            **({"instance_class": database.instance_class} if database.instance_class else {}),
            "allocated_storage_gb": database.storage_gb,
            "max_allocated_storage_gb": database.max_storage_gb,
            "backup_retention_days": database.backup_retention_days,
            "log_retention_days": config.logging.retention_days,
            "multi_az": bool(database.high_availability),
            "master_password": password.result,
            "data_classification": "confidential",
            "protect": config.protect,
        },
        opts,
    )
    identity = AwsTrackingIdentity(
        "tracking",
        {
            "oidc_provider_arn": cluster.oidc_provider_arn,
            "artifacts_bucket_arn": buckets[config.training.artifacts_bucket].bucket_arn,
            "artifacts_kms_key_arn": buckets[config.training.artifacts_bucket].kms_key_arn,
            "namespace": config.training.tracking.namespace,
        },
        opts,
    )
    platform.outputs.update(
        {
            "trackingDatabase": {
                "host": postgres.endpoint,
                "port": postgres.port,
                "name": postgres.database_name,
                "username": postgres.master_username,
            },
            "trackingDatabasePassword": pulumi.Output.secret(password.result),
            "trackingIdentity": identity.role_arn,
            "trackingArtifactsDestination": identity.artifacts_destination,
        }
    )
    return postgres


def _eks_gpu_pool(pool: GpuPoolConfig) -> AwsGpuNodePoolArgs:
    """The EKS form of one platform GPU pool."""
    args: AwsGpuNodePoolArgs = {
        "name": pool.name,
        "instance_types": list(pool.instance_types),
        "min_size": pool.min_size,
        "max_size": pool.max_size,
        "capacity_type": pool.capacity_type or "on-demand",
        "disk_size_gb": pool.disk_size_gb,
        "os_family": "bottlerocket" if pool.os_family == "bottlerocket" else "al2023",
        "taints": [{"key": taint.key, "value": taint.value, "effect": taint.effect} for taint in pool.taints],
        "labels": dict(pool.labels),
        "on_demand_fallback": pool.on_demand_fallback,
    }
    if pool.efa:
        args["efa"] = True
    if pool.priority is not None:
        args["priority"] = pool.priority
    if pool.zones:
        args["zones"] = list(pool.zones)
    return args


def _eks_pools(config: PlatformConfig) -> dict[str, Any]:
    """The `platform_node_pool` and `gpu_node_pools` arguments of the stack's `AwsGpuCluster`."""
    platform_pool = config.cluster.platform_pool
    return {
        "platform_node_pool": {
            "instance_types": list(platform_pool.instance_types or []),
            "min_size_per_zone": platform_pool.min_size_per_zone or 1,
            "max_size_per_zone": platform_pool.max_size_per_zone or 1,
            "disk_size_gb": platform_pool.disk_size_gb,
        },
        "gpu_node_pools": [_eks_gpu_pool(pool) for pool in config.cluster.gpu_pools],
    }


def foundation_karpenter_pools(foundation: PlatformConfig) -> list[ScaledPoolSpec]:
    """The pools an EKS foundation stack's cluster lets Karpenter grow (its `karpenterPools` output), derived from
    its stack file: a Kubernetes layer registers one NodePool per pool, so it must know them as plain data."""
    assert isinstance(foundation.target, AwsTarget)
    zones = list(foundation.target.zones or [])
    return planned_karpenter_pools(
        {"subnet_ids": [], "node_subnet_ids_by_zone": dict.fromkeys(zones, ""), **_eks_pools(foundation)}  # type: ignore[typeddict-item]
    )


def _aws_team_access(config: PlatformConfig) -> list[dict[str, Any]]:
    """EKS access entries for the teams: each team principal in its namespace's Kubernetes group."""
    groups: dict[str, list[str]] = {}
    for namespace in [*config.serving.namespaces, *config.training.namespaces]:
        for principal in namespace.team_principals:
            groups.setdefault(principal, [])
            if namespace.team_group not in groups[principal]:
                groups[principal].append(namespace.team_group)
    return [{"principal_arn": principal, "kubernetes_groups": names} for principal, names in groups.items()]
