"""`Karpenter`: installs Karpenter and one NodePool (with its EC2NodeClass) per autoscaled pool of an EKS cluster."""

from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import autoscaling
from components._common.autoscaling import (
    DEFAULT_DRAIN_GRACE,
    DEFAULT_NODE_EXPIRY,
    DEFAULT_SCALE_DOWN_AFTER,
    KARPENTER_NAMESPACE,
    ScaledPoolSpec,
)
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _values
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_known_arguments,
    check_release_names,
    check_string_map,
)
from components.kubernetes.autoscaling import _manifests

DEFAULT_DISCOVERY_TAG_KEY = autoscaling.KARPENTER_DISCOVERY_TAG
"""The tag key Karpenter's docs use to mark a cluster's node subnets and security groups."""
DEFAULT_TAGS: dict[str, str] = {}
DEFAULT_SERVICE_MONITOR = False
DEFAULT_SERVICE_MONITOR_LABELS: dict[str, str] = {"release": "monitoring"}
"""Matches the Helm release of `Monitoring("monitoring")`; see `Monitoring.service_monitor_labels`."""
DEFAULT_LOG_LEVEL = "info"

_REQUIRED_INPUTS = (
    ("cluster_name", "clusterName"),
    ("interruption_queue_name", "interruptionQueueName"),
    ("node_role_name", "nodeRoleName"),
    ("node_volume_key_arn", "nodeVolumeKeyArn"),
)


class KarpenterArgs(TypedDict, total=False):
    """Arguments of `Karpenter`."""

    cluster_name: Required[pulumi.Input[str]]
    """Name of the EKS cluster (chart `settings.clusterName`): Karpenter tags what it launches with it and looks up
    the cluster with it. Required."""

    cluster_endpoint: pulumi.Input[str]
    """The API server URL new nodes join (chart `settings.clusterEndpoint`). Defaults to the controller discovering
    it from the EKS API when it starts."""

    interruption_queue_name: Required[pulumi.Input[str]]
    """Name of the (encrypted) SQS queue that EventBridge fills with EC2 spot interruptions, rebalance
    recommendations, scheduled maintenance and instance state changes (chart `settings.interruptionQueue`);
    Karpenter drains a node before AWS takes it. Required."""

    node_role_name: Required[pulumi.Input[str]]
    """Name of the IAM role of the nodes Karpenter launches (EC2NodeClass `role`; Karpenter manages the instance
    profile). The role needs an EKS access entry of type EC2_LINUX. Required."""

    node_volume_key_arn: Required[pulumi.Input[str]]
    """ARN of the KMS key every node volume is encrypted with (EC2NodeClass `blockDeviceMappings[].ebs.kmsKeyID`);
    the node role and the Karpenter controller role must be allowed to use it for EBS. Required."""

    discovery_tag_key: pulumi.Input[str]
    """Tag key marking the cluster's private node subnets and its node security group; Karpenter launches only into
    subnets and with security groups carrying it. Defaults to karpenter.sh/discovery."""

    discovery_tag_value: pulumi.Input[str]
    """Value of that tag. Defaults to the cluster name."""

    pools: Required[list[ScaledPoolSpec]]
    """The pools Karpenter may grow, as the cloud layer plans them (`AwsGpuCluster`'s autoscaled pools): one NodePool
    and one EC2NodeClass each, named after the pool. GPU pools must carry the GPU contract's taint and label.
    Required, at least one."""

    consolidate_after: str
    """How long a node stays once it is empty (GPU pools) or empty or underutilized (CPU pools) before Karpenter
    removes it (NodePool `disruption.consolidateAfter`; Karpenter duration, e.g. `10m`, or `Never`). Defaults to
    10m."""

    node_expiry: str
    """Node lifetime: older nodes are replaced, so patched images reach every node (NodePool
    `template.spec.expireAfter`; e.g. `720h`, or `Never`). Defaults to 720h."""

    drain_grace: str
    """How long a node being removed waits for pods that block eviction (PodDisruptionBudgets,
    `karpenter.sh/do-not-disrupt`, a training job's checkpoint) before they are deleted (NodePool
    `template.spec.terminationGracePeriod`; e.g. `24h`). Defaults to 24h."""

    placement_groups: pulumi.Input[dict[str, str]]
    """Pool name -> the name of the placement group its nodes launch into (`AwsGpuCluster.efa_pools[*]
    .placementGroupName`, the cluster placement group of an EFA pool): set as the pool's EC2NodeClass
    `placementGroupSelector` (v1.14.1, docs *NodeClasses*, `spec.placementGroupSelector`), so the nodes Karpenter
    adds sit beside the warm ones. Defaults to none."""

    tags: pulumi.Input[dict[str, str]]
    """Tags on every instance, volume and launch template Karpenter creates (the platform's tags); each node also
    gets `node-pool: <pool>`. Keys Karpenter or EKS own (`kubernetes.io/cluster/*`, `karpenter.sh/nodepool`, ...)
    are refused. Defaults to none."""

    service_monitor: bool
    """Create a ServiceMonitor for the controller's metrics (needs the Prometheus operator CRDs: pass
    `Monitoring.service_monitor_labels` as `service_monitor_labels` so the chart waits for them). Defaults to
    false."""

    service_monitor_labels: pulumi.Input[dict[str, str]]
    """Extra labels on that ServiceMonitor, for a Prometheus that selects by label. Pass
    `Monitoring.service_monitor_labels`. Defaults to {"release": "monitoring"}."""

    log_level: str
    """Controller log level: `debug`, `info` or `error`. Defaults to info."""

    controller_identity: pulumi.Input[str]
    """The EKS Pod Identity association (its ID or ARN) that binds the controller's IAM role to the `karpenter`
    service account in `kube-system`. The controller is installed only once it exists, so its first start already
    has AWS credentials. Defaults to no ordering (the association is created elsewhere beforehand)."""


class Karpenter(pulumi.ComponentResource):
    """Karpenter on EKS: nodes for pending pods from pinned, encrypted, IMDSv2-only node classes, removed when idle.

    Creates:
    - the karpenter-crd chart (NodePool, NodeClaim, EC2NodeClass, ...): the CRDs as chart templates, so an upgrade
      of the pin upgrades them (Helm never upgrades a chart's `crds/` directory);
    - the karpenter chart in `kube-system` (its own CRDs skipped): two controller replicas spread over zones with a
      PodDisruptionBudget, on the platform pool and never on a node Karpenter manages, service account `karpenter`
      for EKS Pod Identity, the interruption queue wired in;
    - per pool, an EC2NodeClass: the pinned EKS-optimized AMI of the pool's OS family, the node role, subnets and
      security groups by the discovery tag, encrypted gp3 volumes, IMDSv2 with hop limit 1, no public IPs, the
      platform's tags;
    - per pool, a NodePool: the pool's instance types, capacity types (spot first, on-demand fallback), architecture
      and zones, its labels and taints (the GPU contract for GPU pools), limits of `max_nodes` nodes' vCPUs and GPUs,
      node expiry and drain grace, and a disruption policy that never consolidates a busy GPU node.

    Security defaults: instance metadata only through IMDSv2 tokens one hop away (pods cannot reach node
    credentials); every node volume encrypted with the given KMS key; no public IP on any node; only the pinned AMI
    release; the controller runs non-root with a read-only root filesystem and no capabilities, requests equal to
    limits, `system-cluster-critical`.
    """

    node_pool_names: pulumi.Output[list[str]]
    """Names of the NodePools, one per pool (nodes carry `karpenter.sh/nodepool: <name>`)."""

    node_class_names: pulumi.Output[list[str]]
    """Names of the EC2NodeClasses, one per pool."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        pools = args.get("pools")
        cluster_name = args.get("cluster_name")
        discovery_key = args.get("discovery_tag_key", DEFAULT_DISCOVERY_TAG_KEY)
        discovery_value = args.get("discovery_tag_value", cluster_name)
        consolidate_after = args.get("consolidate_after", DEFAULT_SCALE_DOWN_AFTER)
        node_expiry = args.get("node_expiry", DEFAULT_NODE_EXPIRY)
        drain_grace = args.get("drain_grace", DEFAULT_DRAIN_GRACE)
        tags = args.get("tags", DEFAULT_TAGS)
        service_monitor = args.get("service_monitor", DEFAULT_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels", DEFAULT_SERVICE_MONITOR_LABELS)
        log_level = args.get("log_level", DEFAULT_LOG_LEVEL)
        identity = args.get("controller_identity")

        problems = Problems()
        check_known_arguments(problems, args, KarpenterArgs)
        check_release_names(problems, name, ("", "crd"))
        for key, path in _REQUIRED_INPUTS:
            value = args.get(key)
            if value is None or (not isinstance(value, pulumi.Output) and not (isinstance(value, str) and value)):
                problems.add(path, "required (a non-empty string or an output of the cluster)")
        endpoint = args.get("cluster_endpoint")
        if isinstance(endpoint, str) and not endpoint.startswith("https://"):
            problems.add("clusterEndpoint", f"must be the API server's https:// URL (got {endpoint!r})")
        _manifests.check_pools(problems, "pools", pools)
        _manifests.check_duration(problems, "consolidateAfter", consolidate_after)
        _manifests.check_duration(problems, "nodeExpiry", node_expiry)
        _manifests.check_duration(problems, "drainGrace", drain_grace, never=False)
        if not isinstance(discovery_key, pulumi.Output) and (
            not isinstance(discovery_key, str) or _manifests.restricted_tag_reason(discovery_key)
        ):
            problems.add("discoveryTagKey", "must be a tag key such as karpenter.sh/discovery")
        if isinstance(discovery_value, str) and not discovery_value:
            problems.add("discoveryTagValue", "must not be empty (Karpenter refuses empty selector tag values)")
        if not isinstance(tags, pulumi.Output):
            _manifests.check_tags(problems, "tags", tags)
        check_bool(problems, "serviceMonitor", service_monitor)
        if not isinstance(monitor_labels, pulumi.Output):
            check_string_map(problems, "serviceMonitorLabels", monitor_labels)
        check_choice(problems, "logLevel", log_level, _values.KARPENTER_LOG_LEVELS)
        problems.raise_if_any(f"Karpenter '{name}'")

        super().__init__("mlplatform:index:Karpenter", name, {}, opts)

        # The CRDs first, from their own chart; the controller chart (which skips its copy) renders after them.
        crds = _charts.helm_chart(
            f"{name}-crd",
            _charts.KARPENTER_CRD,
            release_name=f"{name}-crd",
            namespace=KARPENTER_NAMESPACE,
            values={},
            opts=pulumi.ResourceOptions(parent=self),
        )
        values = _values.karpenter_values(
            cluster_name=cluster_name,  # type: ignore[arg-type]
            interruption_queue=args["interruption_queue_name"],
            cluster_endpoint=endpoint,
            service_monitor=service_monitor,
            service_monitor_labels=monitor_labels,
            log_level=log_level,
        )
        # The controller renders once its CRDs exist (the chart's URN resolves after its objects are created) and,
        # when given, once the Pod Identity association does: ordering through outputs, not depends_on.
        gates: list[Any] = [crds.urn] + ([identity] if identity is not None else [])
        self._controller = _charts.helm_chart(
            f"{name}-controller",
            _charts.KARPENTER,
            release_name=name,
            namespace=KARPENTER_NAMESPACE,
            values=pulumi.Output.all(*gates).apply(lambda _: pulumi.Output.from_input(values)),
            # The CRDs come from karpenter-crd, whose templates Pulumi upgrades; the chart's `crds/` copy would
            # be installed once and never upgraded.
            skip_crds=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        # NodePools and EC2NodeClasses carry finalizers only the controller removes (it terminates their instances
        # first): depending on the controller chart makes `pulumi destroy` delete them while it still runs.
        custom_opts = pulumi.ResourceOptions(parent=self, depends_on=[crds, self._controller])
        node_class_inputs = pulumi.Output.all(
            role=args["node_role_name"],
            key=args["node_volume_key_arn"],
            discovery_key=discovery_key,
            discovery=discovery_value,
            tags=tags,
            placement=args.get("placement_groups", {}),
        )
        pool_names: list[pulumi.Output[str]] = []
        class_names: list[pulumi.Output[str]] = []
        for spec in pools:  # type: ignore[union-attr]
            pool = spec["name"]

            def class_spec(resolved: dict[str, Any], spec: ScaledPoolSpec = spec) -> dict[str, Any]:
                return _manifests.ec2_node_class(
                    spec["name"],
                    os_family=spec["os_family"],
                    disk_size_gb=spec["disk_size_gb"],
                    node_role_name=resolved["role"],
                    kms_key_id=resolved["key"],
                    discovery_tag_key=resolved["discovery_key"],
                    discovery_tag_value=resolved["discovery"],
                    tags=resolved["tags"] or {},
                    placement_group=(resolved["placement"] or {}).get(spec["name"]),
                )["spec"]

            node_class = k8s.apiextensions.CustomResource(
                f"{name}-{pool}-node-class",
                api_version=_manifests.EC2_NODE_CLASS_API_VERSION,
                kind=_manifests.EC2_NODE_CLASS_KIND,
                metadata={"name": pool},
                spec=node_class_inputs.apply(class_spec),
                opts=custom_opts,
            )
            class_name = node_class.metadata.apply(lambda metadata, pool=pool: (metadata or {}).get("name") or pool)
            manifest = _manifests.node_pool(
                spec,
                node_class_name=pool,
                consolidate_after=consolidate_after,
                node_expiry=node_expiry,
                drain_grace=drain_grace,
            )
            # The NodePool names its class through the class's output: created after it, deleted before it.
            manifest["spec"]["template"]["spec"]["nodeClassRef"]["name"] = class_name
            node_pool = k8s.apiextensions.CustomResource(
                f"{name}-{pool}-node-pool",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=custom_opts,
            )
            class_names.append(class_name)
            pool_names.append(
                node_pool.metadata.apply(lambda metadata, pool=pool: (metadata or {}).get("name") or pool)
            )

        self.node_pool_names = pulumi.Output.all(*pool_names).apply(list)
        self.node_class_names = pulumi.Output.all(*class_names).apply(list)
        self.register_outputs({"nodePoolNames": self.node_pool_names, "nodeClassNames": self.node_class_names})
