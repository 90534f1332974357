"""The composition root: builds the platform for the configured target. The only module that branches on cloud."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from components._common import gpu
from components._common.autoscaling import ScaledPoolSpec
from components._common.tags import DataClassification
from stacks.config import GpuPoolConfig, KubernetesTarget, PlatformConfig
from stacks.load import FULL_KEY, PlatformConfigError, check_against_foundation

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

CLASSIFICATION_ORDER: tuple[DataClassification, ...] = ("public", "internal", "confidential", "pii", "phi")


@dataclass
class Platform:
    """What the program exports: a flat, camelCase set of stack outputs (documented in README)."""

    outputs: dict[str, Any] = field(default_factory=dict)


ENCRYPTED_STORAGE_CLASS = "mlplatform-encrypted"
"""The StorageClass every platform volume (Prometheus, Alertmanager, Elasticsearch) uses on EKS and AKS."""

SERVING_HTTPS_EGRESS = ["0.0.0.0/0"]
"""Where serving pods may open HTTPS connections besides DNS and in-cluster peers. Model stores and token
endpoints (S3 through its gateway endpoint, STS, Entra ID, Blob without a private endpoint) answer on public
addresses that change, so an IP allow-list cannot name them; restrict further with an egress firewall."""


@dataclass
class KarpenterLayer:
    """What the Kubernetes layer needs to install Karpenter on EKS."""

    pools: list[ScaledPoolSpec]
    """The pools Karpenter may grow (`AwsGpuCluster.karpenter_pools`), plain data: one NodePool each."""
    settings: pulumi.Input[dict[str, Any]]
    """`AwsGpuCluster.karpenter`: cluster name and endpoint, interruption queue, node role, volume key, discovery
    tag, controller role (resolved once its Pod Identity association exists)."""
    efa_pools: pulumi.Input[dict[str, Any]] = field(default_factory=dict)
    """`AwsGpuCluster.efa_pools`: each EFA pool's placement group, which its EC2NodeClass selects."""


@dataclass
class SecretsLayer:
    """The cloud side of the serving namespaces' application secrets (Secrets Store CSI)."""

    provider: str
    """`aws` (Secrets Manager; the layer installs the driver and the AWS provider) or `azure` (Key Vault; the AKS
    add-on runs both)."""
    aws_region: pulumi.Input[str] | None = None
    """AWS: the region of the secrets."""
    key_vaults: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Azure: the Key Vault name of each namespace that has secrets."""
    tenant_id: pulumi.Input[str] | None = None
    """Azure: the Entra tenant of the vaults."""


@dataclass
class TrackingLayer:
    """The cloud side of experiment tracking that the Kubernetes layer's MLflow server uses."""

    database: pulumi.Input[dict[str, Any]]
    """`host`, `port`, `name`, `username` and `cidrs` (where the database listens) of its PostgreSQL."""
    password: pulumi.Input[str]
    """The database password (a secret)."""
    identity_id: pulumi.Input[str]
    """The server's IRSA role ARN or workload identity client ID."""
    artifacts_destination: pulumi.Input[str]
    """Where it stores artifacts (`s3://<bucket>/mlflow`, `wasbs://...`)."""
    database_cidrs: list[str] = field(default_factory=list)
    """Where the database listens (the foundation's VPC/VNet range): the server's only egress on its port."""


@dataclass
class KubernetesLayerInputs:
    """What a cluster hands the cloud-agnostic Kubernetes layer."""

    provider: k8s.Provider
    """The Kubernetes provider for the cluster."""
    identity_kind: str
    """Cloud identity kind for serving service accounts: aws (IRSA), azure (workload identity) or none."""
    serving_identities: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Per serving namespace: the IRSA role ARN or the identity's client ID."""
    storage_class: pulumi.Input[dict[str, Any]] | None = None
    """The cluster's encrypted storage class contract (provisioner + parameters), or None to use `existing_class`."""
    existing_class: str | None = None
    """An existing StorageClass to use when there is no contract (existing clusters)."""
    gpu_driver_preinstalled: bool = True
    """Whether GPU nodes ship the NVIDIA driver and container toolkit (EKS NVIDIA AMIs, AKS driver Install)."""
    install_gpu_stack: bool = True
    """Whether to install the NVIDIA stack (clusters without GPU pools skip it)."""
    gpu_pool_taints: pulumi.Input[list[dict[str, str]]] = field(default_factory=list)
    """Every taint of the cluster's GPU pools (Kubernetes form): every GPU agent tolerates each one."""
    gpu_runtime_class: str = gpu.OPERATOR_RUNTIME_CLASS
    """The runtime handler the GPU operator's operands use (`gpu.preinstalled_runtime_class(cloud)`)."""
    karpenter: KarpenterLayer | None = None
    """EKS: the pools Karpenter grows and the cluster facts its controller and node classes need."""
    autoscaler_priorities: pulumi.Input[dict[str, list[str]]] | None = None
    """AKS with the priority expander: the `priorities` of its ConfigMap (priority -> node group patterns)."""
    metrics_server: bool = False
    """Install metrics-server (EKS ships none; AKS does)."""
    secrets: SecretsLayer | None = None
    """Where the serving namespaces' application secrets live (none on an existing cluster)."""
    model_store: pulumi.Input[str] | None = None
    """Base URI of the models bucket or container (`s3://<bucket>`, `https://<account>.blob.../<container>`); each
    serving namespace's identity reads the `<namespace>/` prefix under it."""
    platform_pool: bool = True
    """Whether the cluster has this platform's untainted platform pool (not an existing cluster)."""
    training_identities: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Per training namespace: the IRSA role ARN or the identity's client ID."""
    training_pools: list[GpuPoolConfig] | None = None
    """The cluster's GPU pools (the foundation's in a cluster-layer stack), whose taints and accelerators the
    training queues' ResourceFlavors repeat; None on an existing cluster (flavors select by pool label only)."""
    training_cloud: str | None = None
    """The cloud of `training_pools` (its GPU contract: taints, instance catalog)."""
    tracking: TrackingLayer | None = None
    """The tracking server's database and identity, when `training.tracking` is on."""
    efa_region: str | None = None
    """EKS with EFA pools: the region whose EKS registry serves the EFA device plugin image; None installs none."""
    efa_pool_taints: list[dict[str, str]] = field(default_factory=list)
    """EKS with EFA pools: every taint of the GPU pools (plain data), which the EFA device plugin tolerates."""
    artifact_store: dict[str, Any] | None = None
    """Where pipelines keep workflow artifacts (`PipelineArtifactStoreArgs`: the artifacts bucket or container);
    None on an existing cluster (no pipelines)."""


def build_platform(config: PlatformConfig) -> Platform:
    """Build the whole platform for `config.target.cloud` and return its stack outputs.

    Raises:
        PlatformConfigError: a component refused an argument that comes from the stack file; the problem names the
            stack key (`cluster.adminPrincipals[0]`), not the component argument (`adminPrincipalArns[0]`).
    """
    # One frame, not a wrapper around a builder: Pulumi turns every frame below a resource's constructor into a
    # source position, per resource (`pulumi.runtime.resource._get_stack_trace`), so each level here costs ~3 ms
    # of a prod synthesis.
    platform = Platform(outputs=_common_outputs(config))
    try:
        if config.foundation is not None:
            _build_cluster_layer(config, platform)
        else:
            _cloud_builder(config.cloud)(config, platform)
    except pulumi.InputPropertiesError as error:
        raise PlatformConfigError(component_problems(error, config)) from None
    return platform


def _cloud_builder(cloud: str) -> Callable[[PlatformConfig, Platform], None]:
    """The builder of `cloud`'s foundation. Each cloud's builder module imports that cloud's SDK and components
    (seconds of imports), so it is imported here, when a stack of that cloud is built, and never for another."""
    if cloud == "aws":
        from stacks.platform_aws import build_aws

        return build_aws
    if cloud == "azure":
        from stacks.platform_azure import build_azure

        return build_azure
    return _build_existing_cluster


# --- Component argument paths back to stack keys ---------------------------------------------------------

_POOL_FIELDS = r"(?P<rest>(name|instanceTypes|minSize|maxSize|desiredSize|capacityType|diskSizeGb|osFamily|zones|taints|labels|priority|onDemandFallback)\b.*)"

STACK_KEYS: tuple[tuple[str, str, str], ...] = (
    # (component, argument path pattern, stack key template: `\g<name>` repeats a part of the argument path)
    ("AwsGpuCluster", r"adminPrincipalArns\[(?P<i>\d+)\]", r"cluster.adminPrincipals[\g<i>]"),
    ("AwsGpuCluster", r"adminPrincipalArns", "cluster.adminPrincipals"),
    ("AwsGpuCluster", r"deployerPrincipalArn", "deployment.deployer.principal"),
    ("AwsGpuCluster", r"publicAccessCidrs(?P<rest>.*)", r"cluster.endpoint.publicAccessCidrs\g<rest>"),
    ("AwsGpuCluster", r"endpointPublicAccess", "cluster.endpoint.publicAccess"),
    ("AwsGpuCluster", r"controlPlaneLogTypes(\[\d+\])?", "cluster.controlPlaneLogs"),
    ("AwsGpuCluster", r"logRetentionDays", "logging.retentionDays"),
    ("AwsGpuCluster", r"kubernetesVersion", "cluster.kubernetesVersion"),
    ("AwsGpuCluster", r"apiAccessCidrs(?P<rest>.*)", r"deployment.deployer.network.cidrs\g<rest>"),
    (
        "AwsGpuCluster",
        r"apiAccessSecurityGroupIds(?P<rest>.*)",
        r"deployment.deployer.network.securityGroupIds\g<rest>",
    ),
    ("AwsGpuCluster", r"nodeSubnetIdsByZone.*", "target.zones"),
    ("AwsGpuCluster", r"platformNodePool\.(?P<rest>.*)", r"cluster.platformPool.\g<rest>"),
    (
        "AwsGpuCluster",
        r'gpuNodePools\[(?P<i>\d+)\]\.labels\["(?P<key>.*)"\]',
        r"cluster.gpuPools[\g<i>].labels.\g<key>",
    ),
    ("AwsGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\." + _POOL_FIELDS, r"cluster.gpuPools[\g<i>].\g<rest>"),
    ("AwsGpuCluster", r"gpuNodePools\[(?P<i>\d+)\].*", r"cluster.gpuPools[\g<i>]"),
    ("AwsNetwork", r"cidrBlock", "network.cidr"),
    ("AwsNetwork", r"availabilityZones.*", "target.zones"),
    ("AwsNetwork", r"natGateways", "network.natGateways"),
    ("AwsNetwork", r"flowLogRetentionDays", "logging.retentionDays"),
    ("AwsNetwork", r"transitGatewayId", "deployment.deployer.network.transitGatewayId"),
    ("AwsNetwork", r"transitGatewayCidrs(?P<rest>.*)", r"deployment.deployer.network.cidrs\g<rest>"),
    ("AwsContainerRegistry", r"repositories(?P<rest>.*)", r"registry.repositories\g<rest>"),
    ("AwsContainerRegistry", r"keepTaggedImages", "registry.keepTaggedImages"),
    ("AwsContainerRegistry", r"untaggedRetentionDays", "registry.untaggedRetentionDays"),
    ("AzureGpuCluster", r"adminGroupObjectIds\[(?P<i>\d+)\]", r"cluster.adminPrincipals[\g<i>]"),
    ("AzureGpuCluster", r"adminGroupObjectIds", "cluster.adminPrincipals"),
    ("AzureGpuCluster", r"deployerPrincipalId", "deployment.deployer.principal"),
    ("AzureGpuCluster", r"deployerPrincipalType", "deployment.deployer.principalType"),
    ("AzureGpuCluster", r"kubeloginMode", "deployment.deployer.kubelogin"),
    ("AzureGpuCluster", r"authorizedIpRanges(?P<rest>.*)", r"cluster.endpoint.publicAccessCidrs\g<rest>"),
    ("AzureGpuCluster", r"privateCluster", "cluster.endpoint.publicAccess"),
    ("AzureGpuCluster", r"(podCidr|serviceCidr|dnsServiceIp|vnetAddressSpace)", "network.cidr"),
    ("AzureGpuCluster", r"zones", "target.zones"),
    ("AzureGpuCluster", r"kubernetesVersion", "cluster.kubernetesVersion"),
    ("AzureGpuCluster", r"logRetentionDays", "logging.retentionDays"),
    (
        "AzureGpuCluster",
        r"deployerVirtualNetworkIds(?P<rest>.*)",
        r"deployment.deployer.network.virtualNetworkIds\g<rest>",
    ),
    ("AzureGpuCluster", r"systemPool\.vmSize", "cluster.systemPool.instanceTypes"),
    ("AzureGpuCluster", r"systemPool\.minCount", "cluster.systemPool.minSize"),
    ("AzureGpuCluster", r"systemPool\.maxCount", "cluster.systemPool.maxSize"),
    ("AzureGpuCluster", r"systemPool\.osDiskSizeGb", "cluster.systemPool.diskSizeGb"),
    ("AzureGpuCluster", r"platformPool\.vmSize", "cluster.platformPool.instanceTypes"),
    ("AzureGpuCluster", r"platformPool\.minCountPerZone", "cluster.platformPool.minSizePerZone"),
    ("AzureGpuCluster", r"platformPool\.maxCountPerZone", "cluster.platformPool.maxSizePerZone"),
    ("AzureGpuCluster", r"platformPool\.osDiskSizeGb", "cluster.platformPool.diskSizeGb"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.vmSize", r"cluster.gpuPools[\g<i>].instanceTypes"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.minCount", r"cluster.gpuPools[\g<i>].minSize"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.maxCount", r"cluster.gpuPools[\g<i>].maxSize"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.initialCount", r"cluster.gpuPools[\g<i>].desiredSize"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.osDiskSizeGb", r"cluster.gpuPools[\g<i>].diskSizeGb"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.osSku", r"cluster.gpuPools[\g<i>].osFamily"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.spot", r"cluster.gpuPools[\g<i>].capacityType"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\.extraTaints.*", r"cluster.gpuPools[\g<i>].taints"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\]\." + _POOL_FIELDS, r"cluster.gpuPools[\g<i>].\g<rest>"),
    ("AzureGpuCluster", r"gpuNodePools\[(?P<i>\d+)\].*", r"cluster.gpuPools[\g<i>]"),
    ("AzureGpuCluster", r"autoscalerProfile\.expander", "cluster.autoscaling.expander"),
    ("AzureGpuCluster", r"autoscalerProfile\.scaleDownUnneededTime", "cluster.autoscaling.scaleDownAfterMinutes"),
    ("AzureNetwork", r"addressSpace", "network.cidr"),
    ("AzureNetwork", r"location", "target.location"),
    ("AzureNetwork", r"resourceGroupName", "target.resourceGroupName"),
    (
        "AzureNetwork",
        r"peerVirtualNetworkIds(?P<rest>.*)",
        r"deployment.deployer.network.virtualNetworkIds\g<rest>",
    ),
    ("AzureLogAnalytics", r"retentionDays", "logging.retentionDays"),
    ("Monitoring", r"retention", "monitoring.prometheus.retention"),
    ("Monitoring", r"retentionSize", "monitoring.prometheus.retentionSize"),
    ("Monitoring", r"volumeSize", "monitoring.prometheus.volumeSize"),
    ("Monitoring", r"slackChannel", "monitoring.alerting.slackChannel"),
    ("Monitoring", r"alertReceiverSecret", "monitoring.alerting.secretConfigKey"),
    ("Logging", r"retentionDays", "logging.elk.retentionDays"),
    ("Logging", r"nodes", "logging.elk.nodes"),
    ("Logging", r"volumeSize", "logging.elk.volumeSize"),
    ("ServingGateway", r"domain", "serving.gateway.domain"),
    ("ServingGateway", r"publicSourceCidrs(?P<rest>.*)", r"serving.gateway.publicSourceCidrs\g<rest>"),
    ("ServingGateway", r"public", "serving.gateway.public"),
    ("ServingGateway", r"issuer", "serving.gateway.issuer"),
    ("Karpenter", r"consolidateAfter", "cluster.autoscaling.scaleDownAfterMinutes"),
    ("Karpenter", r"nodeExpiry", "cluster.autoscaling.nodeExpiryHours"),
    ("Karpenter", r"drainGrace", "cluster.autoscaling.drainGraceHours"),
)
"""Where a component argument that the composition fills from the stack file came from. `validate` checks these
values in stacks/config.py; should a component still refuse one (a rule added to a component first), `preview`
names the stack key the user wrote. Arguments with no row are reported as the component's own."""

_COMPONENT = re.compile(r"invalid arguments for (mlplatform:index:)?(?P<component>\w+)( '(?P<name>[^']*)')?")


def stack_key_for(component: str, argument_path: str, config: PlatformConfig | None = None) -> str | None:
    """The stack key behind a component argument path, e.g. (`AwsGpuCluster`, `adminPrincipalArns[0]`) ->
    `cluster.adminPrincipals[0]`; None when the argument does not come from one stack key."""
    if component == "AzureGpuCluster" and config is not None:
        team = re.fullmatch(r"teamGroupObjectIds\[(\d+)\]", argument_path)
        if team:
            groups = team_groups(config)
            position = int(team[1])
            if position < len(groups):
                for index, namespace in enumerate(config.serving.namespaces):
                    if namespace.team_group == groups[position]:
                        return f"serving.namespaces[{index}].teamGroup"
                for index, trained in enumerate(config.training.namespaces):
                    if trained.team_group == groups[position]:
                        return f"training.namespaces[{index}].teamGroup"
    for owner, pattern, template in STACK_KEYS:
        if owner != component:
            continue
        match = re.fullmatch(pattern, argument_path)
        if match:
            return match.expand(template)
    return None


def component_problems(error: pulumi.InputPropertiesError, config: PlatformConfig | None = None) -> list[str]:
    """A component's refusal as stack-file problems: `mlplatform:platform.<stack key>: <reason>` where the argument
    comes from the stack file, `<Component> '<name>' argument <path>: <reason>` where it does not."""
    found = _COMPONENT.search(error.message or "")
    component, name = (found["component"], found["name"] or "") if found else ("component", "")
    problems: list[str] = []
    for detail in error.errors or []:
        path, reason = str(detail.get("property_path", "")), str(detail.get("reason", ""))
        key = stack_key_for(component, path, config)
        problem = f"{FULL_KEY}.{key}: {reason}" if key else f"{component} '{name}' argument {path}: {reason}"
        if problem not in problems:
            problems.append(problem)
    return problems or [str(error)]


def _common_outputs(config: PlatformConfig) -> dict[str, Any]:
    return {
        "environment": config.environment,
        "cloud": config.cloud,
        "complianceProfiles": list(config.compliance.profiles),
        "servingNamespaces": [namespace.name for namespace in config.serving.namespaces],
        "stackName": pulumi.get_stack(),
        "kubernetesLayer": config.deployment.kubernetes_layer if config.cloud != "kubernetes" else "thisStack",
    }


TRACKING_DATABASE_PORT = 5432


def gpu_pool_taints(config: PlatformConfig) -> list[dict[str, str]]:
    """Every taint of the stack's GPU pools, once each, in Kubernetes form (the GPU contract's, spot, extras)."""
    cloud = config.cloud
    assert cloud in ("aws", "azure")
    taints = [
        taint
        for pool in config.cluster.gpu_pools
        for taint in gpu.gpu_pool_taints(
            cloud,
            spot=pool.capacity_type == "spot",
            extra=[gpu.Taint(extra.key, extra.value, extra.effect) for extra in pool.taints],
        )
    ]
    return [taint.kubernetes() for taint in dict.fromkeys(taints)]


def team_groups(config: PlatformConfig) -> list[str]:
    """Every team's group, serving and training, once each (sorted): on AKS each gets the Cluster User role."""
    return sorted(
        {namespace.team_group for namespace in config.serving.namespaces}
        | {namespace.team_group for namespace in config.training.namespaces}
    )


def training_buckets(config: PlatformConfig) -> dict[str, str]:
    """Where training reads and writes: store (`datasets`, `models`, `artifacts`) -> `storage.buckets` name."""
    training = config.training
    return {
        "datasets": training.datasets_bucket,
        "models": config.storage.models_bucket,
        "artifacts": training.artifacts_bucket,
    }


def training_prefix(store: str, namespace: str) -> str:
    """A training team's key prefix in one store's bucket or container: `<store>/<namespace>/` on both clouds."""
    return f"{store}/{namespace}/"


FOUNDATION_OUTPUTS: dict[str, tuple[str, ...]] = {
    "aws": (
        "kubeconfig", "region", "clusterName", "clusterEndpoint", "oidcIssuerUrl", "oidcProviderArn", "registryUrl",
        "registryRepositoryUrls", "bucketNames", "modelsBucketName", "servingIdentities", "servingServiceAccount",
    ),
    "azure": (
        "kubeconfig", "location", "resourceGroupName", "clusterName", "oidcIssuerUrl", "registryLoginServer", "storageAccountName",
        "blobEndpoint", "containerNames", "modelsContainer", "servingIdentities", "servingServiceAccount",
        "servingKeyVaults", "tenantId",
    ),
}  # fmt: skip
"""Foundation outputs a cluster-layer stack exports again, so a team program needs one StackReference only (to
the cluster-layer stack, which also has the namespaces); the kubeconfig stays secret through the reference."""


def _build_cluster_layer(config: PlatformConfig, platform: Platform) -> None:
    """The Kubernetes layer of a foundation stack's cluster, read through a StackReference.

    Run from inside the cluster's network by the identity the foundation made cluster-admin. The Kubernetes
    provider has the same name as in a one-stack deployment, so the layer's resources are the same.
    """
    import pulumi_kubernetes as k8s  # the layer's SDK and components load with the layer

    from stacks.platform_kubernetes import build_kubernetes_layer

    foundation = config.foundation
    assert foundation is not None
    reference = pulumi.StackReference("foundation", stack_name=foundation.stack)
    cloud = foundation.cloud
    stack = foundation.stack
    identities = reference.require_output("servingIdentities")
    provider = k8s.Provider(
        "eks-kubernetes" if cloud == "aws" else "aks-kubernetes",
        kubeconfig=reference.require_output("kubeconfig"),
        cluster_identifier=reference.require_output("oidcIssuerUrl"),
    )
    platform.outputs["foundationStack"] = stack
    for key in FOUNDATION_OUTPUTS[cloud]:
        platform.outputs[key] = reference.get_output(key)
    # The foundation's stack file (in this project) says which pools Karpenter grows and which expander AKS uses:
    # structure this stack must know as plain data, where the StackReference holds only outputs.
    foundation_config = check_against_foundation(config, Path.cwd(), pulumi.get_stack())
    karpenter: KarpenterLayer | None = None
    priorities: pulumi.Output[Any] | None = None
    if cloud == "aws":
        if foundation_config is None:
            raise PlatformConfigError(
                [
                    f"{FULL_KEY}.target.foundation.stack: the Karpenter NodePools of this layer are derived from the "
                    f"foundation's cluster.gpuPools and platformPool; keep Pulumi.{foundation.stack_name}.yaml in this "
                    "project"
                ]
            )
        # Planned by the EKS cluster component's own validation (the AWS SDK loads with it).
        from stacks.platform_aws import foundation_karpenter_pools

        karpenter = KarpenterLayer(
            pools=foundation_karpenter_pools(foundation_config),
            settings=reference.require_output("karpenter"),
            efa_pools=reference.get_output("efaPools").apply(lambda pools: pools or {}),
        )
    elif foundation_config is not None and foundation_config.cluster.autoscaling.expander == "priority":
        priorities = reference.require_output("autoscalerPriorities")
    if (config.training.namespaces or config.training.tracking.enabled) and foundation_config is None:
        raise PlatformConfigError(
            [
                f"{FULL_KEY}.training.namespaces: the training queues' ResourceFlavors repeat the taints and "
                f"accelerators of the foundation's cluster.gpuPools; keep Pulumi.{foundation.stack_name}.yaml in "
                "this project"
            ]
        )
    training_identities = reference.require_output("trainingIdentities") if config.training.namespaces else None
    build_kubernetes_layer(
        config,
        platform,
        KubernetesLayerInputs(
            provider=provider,
            identity_kind=cloud,
            serving_identities={
                namespace.name: identities.apply(
                    lambda ids, name=namespace.name: _foundation_identity(ids, name, stack)
                )
                for namespace in config.serving.namespaces
            },
            storage_class=reference.require_output("storageClass"),
            gpu_driver_preinstalled=True,  # EKS NVIDIA AMIs and AKS driver Install, as in the one-stack builders
            install_gpu_stack=foundation.gpu_pools,
            gpu_pool_taints=reference.require_output("gpuPoolTaints"),
            gpu_runtime_class=gpu.preinstalled_runtime_class(cloud),
            karpenter=karpenter,
            autoscaler_priorities=priorities,
            metrics_server=cloud == "aws",
            secrets=SecretsLayer(
                provider=cloud,
                aws_region=reference.require_output("region") if cloud == "aws" else None,
                key_vaults={
                    namespace.name: reference.require_output("servingKeyVaults").apply(
                        lambda vaults, name=namespace.name: vaults[name]
                    )
                    for namespace in config.serving.namespaces
                    if namespace.secrets and cloud == "azure"
                },
                tenant_id=reference.require_output("tenantId") if cloud == "azure" else None,
            ),
            model_store=(
                reference.require_output("modelsBucketName").apply(lambda bucket: f"s3://{bucket}")
                if cloud == "aws"
                else pulumi.Output.concat(
                    reference.require_output("blobEndpoint"), reference.require_output("modelsContainer")
                )
            ),
            training_identities={
                namespace.name: training_identities.apply(
                    lambda ids, name=namespace.name: _foundation_identity(ids, name, stack, kind="training")
                )
                for namespace in config.training.namespaces
                if training_identities is not None
            },
            training_pools=list(foundation_config.cluster.gpu_pools) if foundation_config is not None else None,
            training_cloud=cloud,
            efa_region=(
                foundation_config.target.region  # type: ignore[union-attr]
                if cloud == "aws"
                and foundation_config is not None
                and any(p.efa for p in foundation_config.cluster.gpu_pools)
                else None
            ),
            efa_pool_taints=gpu_pool_taints(foundation_config) if foundation_config is not None else [],
            artifact_store=(
                {
                    "cloud": "aws",
                    "bucket": reference.require_output("bucketNames").apply(
                        lambda names: names[config.training.artifacts_bucket]
                    ),
                    "region": foundation_config.target.region,  # type: ignore[union-attr]
                    "kms_key_id": reference.require_output("bucketKmsKeyArns").apply(
                        lambda keys: keys[config.training.artifacts_bucket]
                    ),
                }
                if cloud == "aws" and foundation_config is not None
                else {
                    "cloud": "azure",
                    "account": reference.require_output("storageAccountName"),
                    "container": config.training.artifacts_bucket,
                }
                if cloud == "azure"
                else None
            ),
            tracking=(
                tracking_layer({key: reference.require_output(key) for key in TRACKING_OUTPUTS}, foundation_config)
                if config.training.tracking.enabled and foundation_config is not None
                else None
            ),
        ),
    )


TRACKING_OUTPUTS = ("trackingDatabase", "trackingDatabasePassword", "trackingIdentity", "trackingArtifactsDestination")
"""The foundation outputs the tracking server is built from."""


def tracking_layer(outputs: dict[str, Any], foundation: PlatformConfig) -> TrackingLayer:
    """The tracking server's cloud side, from a foundation's outputs (this stack's, or a StackReference's) and its
    stack file (the network the database is in)."""
    return TrackingLayer(
        database=outputs["trackingDatabase"],
        password=outputs["trackingDatabasePassword"],
        identity_id=outputs["trackingIdentity"],
        artifacts_destination=outputs["trackingArtifactsDestination"],
        database_cidrs=[str(foundation.network.cidr)],
    )


def _foundation_identity(
    identities: dict[str, str] | None, namespace: str, stack: str, *, kind: str = "serving"
) -> str:
    """The serving (or training) identity the foundation created for `namespace`; a namespace it does not know is a
    config error."""
    if not identities or namespace not in identities:
        raise PlatformConfigError(
            [
                f"mlplatform:platform.{kind}.namespaces: '{namespace}' has no {kind} identity in the foundation "
                f"stack {stack} (it has {', '.join(sorted(identities or {})) or 'none'}): add the namespace to the "
                f"foundation's {kind}.namespaces and run its `pulumi up` first"
            ]
        )
    return identities[namespace]


def _build_existing_cluster(config: PlatformConfig, platform: Platform) -> None:
    import pulumi_kubernetes as k8s  # the layer's SDK and components load with the layer

    from stacks.platform_kubernetes import build_kubernetes_layer

    assert isinstance(config.target, KubernetesTarget)
    target = config.target
    # No cloud resources: the cluster, its nodes and their disks belong to someone else.
    provider = k8s.Provider("cluster", context=target.kubeconfig_context, kubeconfig=target.kubeconfig_path)
    layer = KubernetesLayerInputs(
        provider=provider,
        identity_kind="none",
        existing_class=target.storage_class,
        gpu_driver_preinstalled=target.gpu_driver_preinstalled,
        platform_pool=False,
    )
    if target.local_registry.enabled and target.distribution != "generic":
        from components.docker import LocalRegistry  # the Docker SDK loads for a local registry only

        registry = LocalRegistry(
            "local-registry", {"port": target.local_registry.port, "distribution": target.distribution}
        )
        platform.outputs["registryUrl"] = registry.url
        if target.distribution == "kind":
            # KEP-1755: tells tools (Tilt, skaffold, ko) where the cluster's local registry is.
            k8s.core.v1.ConfigMap(
                "local-registry-hosting",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="local-registry-hosting", namespace="kube-public"),
                data={"localRegistryHosting.v1": f'host: "localhost:{target.local_registry.port}"\n'},
                opts=pulumi.ResourceOptions(provider=provider),
            )
    platform.outputs["kubeconfigContext"] = target.kubeconfig_context
    build_kubernetes_layer(config, platform, layer)


def secret_name_prefix(config: PlatformConfig, namespace: str) -> str:
    """The Secrets Manager name prefix of one serving namespace's secrets: `<serving.secrets.namePrefix>/<ns>`
    (default prefix `<project>/<environment>`, the same in a foundation and its cluster-layer stack)."""
    base = config.serving.secrets.name_prefix or f"{pulumi.get_project()}/{config.environment}"
    return f"{base}/{namespace}"
