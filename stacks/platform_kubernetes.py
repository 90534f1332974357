"""The cloud-agnostic Kubernetes layer of the platform: storage class, monitoring, NVIDIA stack, logging, serving
and training namespaces, node autoscaling, admission policies.

Imported by the composition root (`stacks.platform`) and the cloud builders when a stack builds the layer, so a
foundation stack whose layer is another stack's (`deployment.kubernetesLayer: clusterStack`) never loads the
Kubernetes SDK and components.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components._common import gpu
from components._common.gpu import SERVING_SERVICE_ACCOUNT, TRAINING_SERVICE_ACCOUNT
from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components._common.tags import data_tags
from components.kubernetes import (
    AdmissionPolicies,
    DistributedTraining,
    EfaDevicePlugin,
    EncryptedStorageClass,
    ExperimentTracking,
    GpuQueues,
    GpuStack,
    Karpenter,
    Logging,
    ModelServingNamespace,
    Monitoring,
    Pipelines,
    PodAutoscaling,
    PriorityExpander,
    SecretsStoreCsi,
    ServingGateway,
    TrainingNamespace,
)
from components.kubernetes.training.tracking import TEAM_CREDENTIALS_SECRET
from stacks.config import GpuPoolConfig, PlatformConfig, TrainingConfig
from stacks.platform import (
    ENCRYPTED_STORAGE_CLASS,
    SERVING_HTTPS_EGRESS,
    TRACKING_DATABASE_PORT,
    KarpenterLayer,
    KubernetesLayerInputs,
    Platform,
    secret_name_prefix,
)


def cluster_provider(
    name: str, kubeconfig: pulumi.Output[str], issuer_url: pulumi.Output[str], prerequisites: list[pulumi.Resource]
) -> k8s.Provider:
    """The Kubernetes provider of a cluster the platform created: after its prerequisites, replaced with it only.

    `prerequisites` (the cluster component's `api_prerequisites`) are waited for with `depends_on`, not folded
    into the kubeconfig: an Output carrying them would be unknown in a preview whenever one changes, and
    pulumi-kubernetes plans a provider with an unknown kubeconfig as a replacement of every object it manages
    (DiffConfig). `clusterIdentifier` narrows replacement further to a new cluster: whatever else changes in the
    kubeconfig (kubelogin format, certificate rotation) is an update. The OIDC issuer URL is unique to one
    cluster and fixed for its life (a new cluster of the same name gets a new one), unlike the name-based ARN
    or resource ID.
    """
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        cluster_identifier=issuer_url,
        opts=pulumi.ResourceOptions(depends_on=prerequisites),
    )


def build_kubernetes_layer(config: PlatformConfig, platform: Platform, layer: KubernetesLayerInputs) -> None:
    """Install the cloud-agnostic layer: storage class, monitoring, NVIDIA stack, logging, serving namespaces."""
    # Each component waits only for what it uses, through its inputs: the storage class's name (the charts
    # with volumes), the Prometheus CRDs (the charts with ServiceMonitors). A `depends_on` on a whole component
    # would hold back every resource below it (docs/benchmarks.md, *Deployment critical path*).
    opts = pulumi.ResourceOptions(providers={"kubernetes": layer.provider})
    labels = _namespace_labels(config, classification="internal", retention_days=config.logging.elk.retention_days)
    storage_class_name: pulumi.Input[str] | None = layer.existing_class
    if layer.storage_class is not None:
        contract = pulumi.Output.from_input(layer.storage_class)
        storage_class = EncryptedStorageClass(
            "storage",
            {
                "provisioner": contract.apply(lambda c: c["provisioner"]),
                "parameters": contract.apply(lambda c: c["parameters"]),
                "class_name": ENCRYPTED_STORAGE_CLASS,
                "retain": config.protect,
            },
            opts,
        )
        # Always ENCRYPTED_STORAGE_CLASS; the output carries the dependency, so volumes come after the class.
        storage_class_name = storage_class.class_name

    monitoring: Monitoring | None = None
    if config.monitoring.enabled:
        alerting = config.monitoring.alerting
        monitoring_args: dict[str, Any] = {
            "retention": config.monitoring.prometheus.retention,
            "retention_size": config.monitoring.prometheus.retention_size,
            "volume_size": config.monitoring.prometheus.volume_size,
            "grafana": config.monitoring.grafana,
            "alert_receiver": alerting.receiver,
            "protect": config.protect,
            "namespace_labels": labels,
        }
        if storage_class_name is not None:
            monitoring_args["storage_class_name"] = storage_class_name
        if alerting.receiver != "none":
            # The URL or routing key is a secret stack config value (`pulumi config set --secret`).
            monitoring_args["alert_receiver_secret"] = pulumi.Config("mlplatform").require_secret(
                alerting.secret_config_key
            )
        if alerting.slack_channel:
            monitoring_args["slack_channel"] = alerting.slack_channel
        monitoring = Monitoring("monitoring", monitoring_args, opts)  # type: ignore[arg-type]
        platform.outputs.update(
            {
                "prometheusUrl": monitoring.prometheus_url,
                "alertmanagerUrl": monitoring.alertmanager_url,
                "grafanaUrl": monitoring.grafana_url,
                "grafanaAdminSecretName": monitoring.grafana_admin_secret_name,
                "grafanaAdminPassword": monitoring.grafana_admin_password,
            }
        )

    if layer.karpenter is not None and layer.karpenter.pools:
        _karpenter(config, layer.karpenter, monitoring, opts)
    if layer.autoscaler_priorities is not None:
        PriorityExpander("autoscaler-priorities", {"priorities": layer.autoscaler_priorities}, opts)
    pod_autoscaling = config.serving.autoscaling
    if pod_autoscaling.enabled and monitoring is not None:
        autoscaling_args: dict[str, Any] = {
            "metrics_server": layer.metrics_server
            if pod_autoscaling.metrics_server is None
            else pod_autoscaling.metrics_server,
            "service_monitor": True,
            "service_monitor_labels": monitoring.service_monitor_labels,
            "protect": config.protect,
            "namespace_labels": labels,
        }
        if not layer.platform_pool:
            autoscaling_args["node_selector"] = {}  # an existing cluster has no platform pool to select
        autoscaler = PodAutoscaling("autoscaling", autoscaling_args, opts)  # type: ignore[arg-type]
        platform.outputs["kedaNamespace"] = autoscaler.namespace

    if layer.install_gpu_stack:
        gpu_args: dict[str, Any] = {
            "driver_preinstalled": layer.gpu_driver_preinstalled,
            "toolkit_preinstalled": layer.gpu_driver_preinstalled,
            "dcgm_service_monitor": monitoring is not None,
            "namespace_labels": labels,
            "gpu_pool_taints": layer.gpu_pool_taints,
        }
        if layer.gpu_driver_preinstalled:
            gpu_args["runtime_class"] = layer.gpu_runtime_class
        if monitoring is not None:
            gpu_args["service_monitor_labels"] = monitoring.service_monitor_labels
        GpuStack("nvidia", gpu_args, opts)  # type: ignore[arg-type]
    if layer.efa_region is not None:
        # Only on nodes labelled vpc.amazonaws.com/efa.present (the EFA pools), tolerating every GPU pool taint.
        EfaDevicePlugin(
            "efa-device-plugin",
            {"region": layer.efa_region, "pool_taints": layer.efa_pool_taints},  # type: ignore[typeddict-item]
            opts,
        )

    elk = config.logging.elk
    if elk.enabled:
        logging_args: dict[str, Any] = {
            "nodes": elk.nodes,
            "volume_size": elk.volume_size,
            "retention_days": elk.retention_days,
            "fluent_bit_service_monitor": monitoring is not None,
            "protect": config.protect,
            "namespace_labels": labels,
        }
        if storage_class_name is not None:
            logging_args["storage_class_name"] = storage_class_name
        if monitoring is not None:
            logging_args["service_monitor_labels"] = monitoring.service_monitor_labels
        logging = Logging("logging", logging_args, opts)  # type: ignore[arg-type]
        platform.outputs.update({"elasticsearchUrl": logging.elasticsearch_url, "kibanaUrl": logging.kibana_url})

    models = next(bucket for bucket in config.storage.buckets if bucket.name == config.storage.models_bucket)
    serving_labels = _namespace_labels(
        config, classification=models.data_classification, retention_days=models.retention_days
    )
    gateway_config = config.serving.gateway
    if config.serving.namespaces:
        gateway_args: dict[str, Any] = {
            "domain": gateway_config.domain or default_serving_domain(config),
            "serving_namespaces": [namespace.name for namespace in config.serving.namespaces],
            "cloud": layer.identity_kind if layer.identity_kind in ("aws", "azure") else "kubernetes",
            "public": gateway_config.public,
            "public_source_cidrs": [str(cidr) for cidr in gateway_config.public_source_cidrs],
            "namespace": config.serving.ingress_namespace,
            "protect": config.protect,
            "namespace_labels": labels,
        }
        if gateway_config.issuer:
            gateway_args["issuer"] = gateway_config.issuer
        if not layer.platform_pool:
            gateway_args["node_selector"] = {}  # an existing cluster has no platform pool to select
        if monitoring is not None:
            gateway_args["service_monitor"] = True
            gateway_args["service_monitor_labels"] = monitoring.service_monitor_labels
        serving_gateway = ServingGateway("serving-gateway", gateway_args, opts)  # type: ignore[arg-type]
        # What a team's ModelService needs: `gateway` and `domain`; clients trust the CA certificate.
        platform.outputs["servingGateway"] = {
            "name": serving_gateway.gateway_name,
            "namespace": serving_gateway.gateway_namespace,
            "listener": serving_gateway.listener_name,
            "domain": serving_gateway.domain,
            "address": serving_gateway.address,
        }
        platform.outputs["servingCaCertificate"] = serving_gateway.ca_certificate
    secrets = layer.secrets
    with_secrets = [namespace for namespace in config.serving.namespaces if namespace.secrets]
    if secrets is not None and secrets.provider == "aws" and with_secrets:
        # The AKS add-on runs the driver and the Key Vault provider; on EKS the layer installs them.
        SecretsStoreCsi(
            "secrets-store",
            {
                "provider": "aws",
                "aws_region": secrets.aws_region,
                "sync_secrets": config.serving.secrets.sync_to_kubernetes,
                "gpu_pool_taints": layer.gpu_pool_taints,
                "protect": config.protect,
                "namespace_labels": labels,
            },
            opts,
        )
    namespaces: dict[str, pulumi.Output[str]] = {}
    secret_details: dict[str, dict[str, Any]] = {}
    for namespace in config.serving.namespaces:
        serving_args: dict[str, Any] = {
            "namespace": namespace.name,
            "team_group": namespace.team_group,
            "quota_gpus": namespace.quota.gpu,
            "quota_cpu": str(namespace.quota.cpu),
            "quota_memory": str(namespace.quota.memory),
            "quota_pods": namespace.quota.pods,
            "ingress_namespaces": list(namespace.allowed_ingress_namespaces or [config.serving.ingress_namespace]),
            "monitoring_namespace": "monitoring",
            "egress_cidrs": list(SERVING_HTTPS_EGRESS) if layer.identity_kind != "none" else [],
            "identity_kind": layer.identity_kind,
            "service_account_name": SERVING_SERVICE_ACCOUNT,
            "namespace_labels": serving_labels,
        }
        if layer.identity_kind != "none":
            serving_args["identity_id"] = layer.serving_identities[namespace.name]
        if secrets is not None and namespace.secrets:
            store: dict[str, Any] = {
                "provider": secrets.provider,
                "secrets": list(namespace.secrets),
                "sync_to_kubernetes": config.serving.secrets.sync_to_kubernetes,
            }
            if secrets.provider == "aws":
                store.update(name_prefix=secret_name_prefix(config, namespace.name), aws_region=secrets.aws_region)
            else:
                store.update(key_vault_name=secrets.key_vaults[namespace.name], tenant_id=secrets.tenant_id)
            serving_args["secret_store"] = store
        served = ModelServingNamespace(f"serving-{namespace.name}", serving_args, opts)  # type: ignore[arg-type]
        namespaces[namespace.name] = served.namespace
        if secrets is not None and namespace.secrets:
            # Where the team stores the values (never through Pulumi) and the class ModelDeployment.secrets uses.
            secret_details[namespace.name] = {
                "secretProviderClass": served.secret_provider_class_name,
                **(
                    {"secretNamePrefix": secret_name_prefix(config, namespace.name)}
                    if secrets.provider == "aws"
                    else {"keyVaultName": secrets.key_vaults[namespace.name]}
                ),
            }
    if config.training.namespaces or layer.tracking is not None:
        _training(config, platform, layer, opts)
    admission = config.compliance.admission
    if admission != "off":
        admission_policies = AdmissionPolicies(
            "admission",
            {
                "enforce": admission == "deny",
                "exempt_namespaces": [*PLATFORM_SYSTEM_NAMESPACES, *_chart_namespaces(config)],
            },
            opts,
        )
        platform.outputs["admissionPolicies"] = {
            "names": admission_policies.policy_names,
            "validationActions": admission_policies.validation_actions,
        }
    platform.outputs["servingNamespaceDetails"] = {
        name: {
            "namespace": created,
            "serviceAccount": SERVING_SERVICE_ACCOUNT,
            "identity": layer.serving_identities.get(name, ""),
            # A ModelDeployment's `namespace_gpu_quota`: its rollout surges only while the quota has room.
            "gpuQuota": next(n.quota.gpu for n in config.serving.namespaces if n.name == name),
            **secret_details.get(name, {}),
            # ModelService's `model_store_uri`: the prefix this namespace's identity may read.
            **(
                {
                    "modelStoreUri": pulumi.Output.from_input(layer.model_store).apply(
                        lambda base, n=name: f"{base.rstrip('/')}/{n}"
                    )
                }
                if layer.model_store is not None
                else {}
            ),
        }
        for name, created in namespaces.items()
    }


def _training(
    config: PlatformConfig, platform: Platform, layer: KubernetesLayerInputs, opts: pulumi.ResourceOptions
) -> None:
    """The training half: one namespace per team (quota ceiling, isolation, identity) and Kueue's queues over the
    GPU pools, so that every job in those namespaces waits for its team's share."""
    training = config.training
    datasets = next(bucket for bucket in config.storage.buckets if bucket.name == training.datasets_bucket)
    labels = _namespace_labels(
        config, classification=datasets.data_classification, retention_days=datasets.retention_days
    )
    labels_internal = _namespace_labels(
        config, classification="internal", retention_days=config.logging.elk.retention_days
    )
    created: dict[str, pulumi.Output[str]] = {}
    pod_labels: dict[str, pulumi.Output[dict[str, str]]] = {}
    for namespace in training.namespaces:
        ceiling = namespace.ceiling()
        args: dict[str, Any] = {
            "namespace": namespace.name,
            "team_group": namespace.team_group,
            "quota_gpus": ceiling["gpus"],
            "quota_cpu": ceiling["cpu"],
            "quota_memory": ceiling["memory"],
            "quota_pods": namespace.pods,
            "storage_egress_cidrs": list(SERVING_HTTPS_EGRESS) if layer.identity_kind != "none" else [],
            "identity_kind": layer.identity_kind,
            "service_account_name": TRAINING_SERVICE_ACCOUNT,
            "namespace_labels": labels,
        }
        if layer.identity_kind != "none":
            args["identity_id"] = layer.training_identities[namespace.name]
        made = TrainingNamespace(f"training-{namespace.name}", args, opts)  # type: ignore[arg-type]
        created[namespace.name] = made.namespace
        pod_labels[namespace.name] = made.pod_labels
    queues_args: dict[str, Any] = {
        "flavors": training_flavors(training, layer.training_pools, layer.training_cloud),
        "teams": [
            {
                "name": namespace.name,
                "namespaces": [namespace.name],
                "quotas": [
                    {
                        "flavor": quota.pool,
                        "gpus": quota.gpus,
                        "cpu": str(quota.cpu),
                        "memory": str(quota.memory),
                        "gpu_borrowing_limit": quota.borrow_gpus,
                        "cpu_borrowing_limit": str(quota.borrow_cpu),
                        "memory_borrowing_limit": str(quota.borrow_memory),
                    }
                    for quota in namespace.quotas
                ],
                "cpu_quota": {"cpu": str(namespace.cpu_quota.cpu), "memory": str(namespace.cpu_quota.memory)},
                "preemption_within_cluster_queue": namespace.preemption,
                **(
                    {"fair_sharing_weight": str(namespace.fair_sharing_weight)}
                    if namespace.fair_sharing_weight is not None
                    else {}
                ),
            }
            for namespace in training.namespaces
        ],
        "cohort": training.cohort,
        "protect": config.protect,
        "namespace_labels": labels_internal,
    }
    if not layer.platform_pool:
        queues_args["node_selector"] = {}  # an existing cluster has no platform pool to select
        queues_args["cpu_flavor_node_labels"] = {}
    # The LocalQueues live in the team namespaces: each waits for its namespace through the name's output.
    queues_args["created_namespaces"] = created
    queues = GpuQueues("training-queues", queues_args, opts)  # type: ignore[arg-type]
    platform.outputs["kueueNamespace"] = queues.namespace
    if training.namespaces:
        jobs_args: dict[str, Any] = {"protect": config.protect, "namespace_labels": labels_internal}
        if not layer.platform_pool:
            jobs_args["node_selector"] = {}
        jobs = DistributedTraining("distributed-training", jobs_args, opts)  # type: ignore[arg-type]
        platform.outputs["jobSetNamespace"] = jobs.namespace
    if training.namespaces and training.pipelines.enabled and layer.artifact_store is not None:
        pipeline_args: dict[str, Any] = {
            "teams": [{"namespace": namespace.name} for namespace in training.namespaces],
            "artifact_store": layer.artifact_store,
            "created_namespaces": created,
            "server": training.pipelines.server,
            "protect": config.protect,
            "namespace_labels": labels_internal,
        }
        if not layer.platform_pool:
            pipeline_args["node_selector"] = {}
        pipelines = Pipelines("pipelines", pipeline_args, opts)  # type: ignore[arg-type]
        platform.outputs["pipelinesNamespace"] = pipelines.namespace
    tracking_uri: pulumi.Input[str] | None = None
    if layer.tracking is not None:
        tracking_uri = _experiment_tracking(config, platform, layer, created, opts)
    platform.outputs["trainingNamespaceDetails"] = {
        namespace.name: {
            "namespace": namespace.name,
            "serviceAccount": TRAINING_SERVICE_ACCOUNT,
            "identity": layer.training_identities.get(namespace.name, ""),
            # What a job puts in its `kueue.x-k8s.io/queue-name` label.
            "localQueue": queues.local_queues.apply(lambda local, name=namespace.name: local[name]),
            # Labels a job's pods carry for the cloud identity (Entra workload identity), none on EKS.
            "podLabels": pod_labels[namespace.name],
            "gpuQuota": namespace.ceiling()["gpus"],
            "pools": [quota.pool for quota in namespace.quotas],
            # Runs log with `envFrom: [{secretRef: {name: mlflow-credentials}}]` (address, user, password).
            **(
                {"trackingUri": tracking_uri, "trackingCredentialsSecret": TEAM_CREDENTIALS_SECRET}
                if tracking_uri is not None
                else {}
            ),
        }
        for namespace in training.namespaces
    }


def _experiment_tracking(
    config: PlatformConfig,
    platform: Platform,
    layer: KubernetesLayerInputs,
    clients: dict[str, pulumi.Output[str]],
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    """The MLflow server on the foundation's database, its artifacts through its own identity; the training
    namespaces (and nothing else) may call it."""
    assert layer.tracking is not None
    tracking = config.training.tracking
    database = pulumi.Output.from_input(layer.tracking.database)
    artifacts = next(b for b in config.storage.buckets if b.name == config.training.artifacts_bucket)
    args: dict[str, Any] = {
        "namespace": tracking.namespace,
        "database_host": database.apply(lambda d: d["host"]),
        "database_port": TRACKING_DATABASE_PORT,
        "database_username": database.apply(lambda d: d["username"]),
        "database_password": pulumi.Output.secret(layer.tracking.password),
        "database_egress_cidrs": list(layer.tracking.database_cidrs),
        "artifacts_destination": layer.tracking.artifacts_destination,
        "identity_kind": layer.identity_kind,
        "identity_id": layer.tracking.identity_id,
        "default_permission": tracking.default_permission,
        "replicas": tracking.replicas,
        # Each team gets its own MLflow user and a `mlflow-credentials` Secret (with the egress policy) in its namespace.
        "team_users": clients,
        "storage_egress_cidrs": list(SERVING_HTTPS_EGRESS),
        "namespace_labels": _namespace_labels(
            config, classification="confidential", retention_days=artifacts.retention_days
        ),
    }
    if not layer.platform_pool:
        args["node_selector"] = {}
    server = ExperimentTracking("tracking", args, opts)  # type: ignore[arg-type]
    platform.outputs.update(
        {
            "trackingUri": server.tracking_uri,
            "trackingNamespace": server.namespace,
            "trackingCredentialsSecret": server.credentials_secret_name,
        }
    )
    return server.tracking_uri


def training_flavors(
    training: TrainingConfig, gpu_pools: list[GpuPoolConfig] | None, cloud: str | None
) -> list[dict[str, Any]]:
    """One Kueue ResourceFlavor per GPU pool a training quota names: the pool's node labels (pool, and accelerator
    when all its instance types share one) and every taint of the pool, as the GPU contract writes them."""
    names = list(dict.fromkeys(quota.pool for namespace in training.namespaces for quota in namespace.quotas))
    by_name = {pool.name: pool for pool in gpu_pools or []}
    flavors: list[dict[str, Any]] = []
    for name in names:
        pool = by_name.get(name)
        if pool is None or cloud not in ("aws", "azure"):
            flavors.append({"pool": name})  # an existing cluster: nodes labelled with the pool, the default taint
            continue
        accelerators = {info.accelerator for info in (gpu.gpu_instance(cloud, t) for t in pool.instance_types) if info}  # type: ignore[arg-type]
        taints = gpu.gpu_pool_taints(
            cloud,  # type: ignore[arg-type]
            spot=pool.capacity_type == "spot",
            extra=[gpu.Taint(extra.key, extra.value, extra.effect) for extra in pool.taints],
        )
        flavor: dict[str, Any] = {"pool": name, "taints": [taint.kubernetes() for taint in taints]}
        if len(accelerators) == 1:
            flavor["accelerator"] = accelerators.pop()
        flavors.append(flavor)
    return flavors


def _chart_namespaces(config: PlatformConfig) -> list[str]:
    """Namespaces whose pods only pinned third-party charts and operators create (cert-manager, Envoy Gateway's
    controller and proxies, KEDA, metrics-server, Kueue, JobSet, Argo's controller). The admission policies leave
    them out: the packs never see those pods (a chart is one opaque resource to them), so a Deny there would turn an
    unverified chart default into a failed install; their hardening is set in the values the tests check
    (`_values.py`). Team namespaces, MLflow and every pod a team creates stay covered."""
    return sorted(
        {
            "cert-manager",
            config.serving.ingress_namespace,
            "keda",
            "metrics-server",
            "kueue-system",
            "jobset-system",
            "argo",
        }
    )


def default_serving_domain(config: PlatformConfig) -> str:
    """`<environment>.<project>.internal`: the models' domain without `serving.gateway.domain` (the same for a
    foundation and its cluster-layer stack; `.internal` is reserved for private use)."""
    project = re.sub(r"[^a-z0-9-]+", "-", pulumi.get_project().lower()).strip("-") or "mlplatform"
    return f"{config.environment}.{project[:63]}.internal"


def _karpenter(
    config: PlatformConfig, karpenter: KarpenterLayer, monitoring: Monitoring | None, opts: pulumi.ResourceOptions
) -> Karpenter:
    """Karpenter's controller and one NodePool per pool it may grow, from the cluster's facts."""
    settings = pulumi.Output.from_input(karpenter.settings)
    scaling = config.cluster.autoscaling
    args: dict[str, Any] = {
        "cluster_name": settings.apply(lambda facts: facts["clusterName"]),
        "cluster_endpoint": settings.apply(lambda facts: facts["clusterEndpoint"]),
        "interruption_queue_name": settings.apply(lambda facts: facts["interruptionQueueName"]),
        "node_role_name": settings.apply(lambda facts: facts["nodeRoleName"]),
        "node_volume_key_arn": settings.apply(lambda facts: facts["nodeVolumeKeyArn"]),
        "discovery_tag_key": settings.apply(lambda facts: facts["discoveryTag"]["key"]),
        "discovery_tag_value": settings.apply(lambda facts: facts["discoveryTag"]["value"]),
        # The controller starts once its Pod Identity association exists (the ARN resolves from it).
        "controller_identity": settings.apply(lambda facts: facts["controllerRoleArn"]),
        "pools": list(karpenter.pools),
        "consolidate_after": f"{scaling.scale_down_after_minutes}m",
        "node_expiry": f"{scaling.node_expiry_hours}h" if scaling.node_expiry_hours else "Never",
        "drain_grace": f"{scaling.drain_grace_hours}h",
        # The cluster's tags (the foundation's, in a cluster-layer stack) on every node, volume and interface.
        "tags": settings.apply(lambda facts: facts["nodeTags"]),
        "placement_groups": pulumi.Output.from_input(karpenter.efa_pools).apply(
            lambda pools: {name: pool["placementGroupName"] for name, pool in (pools or {}).items()}
        ),
    }
    if monitoring is not None:
        args["service_monitor"] = True
        args["service_monitor_labels"] = monitoring.service_monitor_labels
    return Karpenter("karpenter", args, opts)  # type: ignore[arg-type]


def _namespace_labels(config: PlatformConfig, *, classification: str, retention_days: int | None) -> dict[str, str]:
    """GDPR record-of-processing labels for the platform's namespaces (Kubernetes label values)."""
    return {
        key: _label_value(value)
        for key, value in {
            **data_tags(classification, retention_days),  # type: ignore[arg-type]
            "data-owner": config.governance.data_owner,
            "processing-activity": config.governance.processing_activity,
        }.items()
    }


def _label_value(value: str) -> str:
    """`value` as a valid Kubernetes label value (63 characters of [A-Za-z0-9-_.], alphanumeric at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63]
    return cleaned.strip("-_.") or "unset"
