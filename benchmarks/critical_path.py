"""Deployment critical path: creation-time-weighted longest chains through a recorded graph, and needless waits."""

# The model. The engine (`pulumi up`, unbounded `--parallel` by default) starts a resource once everything it
# waits for exists: the resources its inputs come from (property dependencies), its explicit `depends_on`, its
# provider, a custom parent, and whatever its ancestor components wait for (the SDK registers a child only after
# its parent's URN resolves, and a component registers only after its own dependencies exist, so a component's
# `depends_on` holds back every resource below it). A dependency on a local component means every custom
# resource below it (the SDK expands it so before the engine sees it; `expand` does the same for graphs that
# were not). Helm v4 charts are remote components: one node that finishes with its objects.
#
# With a creation time per resource (`creation_time`), each resource finishes at its own time plus the latest
# finish among what it waits for; the largest is the deployment's critical path. A wait is needed for a data
# dependency, a provider, a custom parent, or an ordering in `DOCUMENTED_ORDERINGS` (each with its reason);
# any other is needless, and what each declaration of needless waits costs is computed by removing them.

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from benchmarks.baseline import STACK_TYPE, Node
from components._common.gpu import GPU_PRESENT_LABEL
from components.kubernetes import _charts

# --- Creation times ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """A typical creation time and why."""

    seconds: float
    source: str


MINUTE = 60.0

SLEEP = "time:index/sleep:Sleep"
"""pulumiverse-time's Sleep: the Azure components wait with it for role assignments to take effect."""

CREATION_SECONDS: dict[str, Duration] = {
    # AWS: long-running provisioning
    "aws:eks/cluster:Cluster": Duration(
        12 * MINUTE,
        "EKS CreateCluster: 'several minutes' (EKS API reference); 13-16 min measured across 21 regions "
        "(easontechtalk.com, 'Unofficial EKS cluster creation performance'); 12 min is a conservative typical value",
    ),
    "aws:eks/nodeGroup:NodeGroup": Duration(
        4 * MINUTE,
        "managed node group to ACTIVE: instances launched and joined; 3-5 min typical (boto3 NodegroupActive "
        "waiter polls every 30 s)",
    ),
    "aws:eks/addon:Addon": Duration(
        1.5 * MINUTE, "managed add-on to ACTIVE: its Deployment/DaemonSet rolls out; 1-2 min typical"
    ),
    "aws:ec2/natGateway:NatGateway": Duration(2 * MINUTE, "NAT gateway pending -> available: 1-3 min typical"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": Duration(1 * MINUTE, "VPC endpoint pending -> available: ~1 min"),
    "aws:backup/vault:Vault": Duration(10, "one API call"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Duration(5, "one IAM API call"),
    "aws:iam/role:Role": Duration(10, "one IAM call plus the provider's wait for IAM eventual consistency"),
    "aws:kms/key:Key": Duration(10, "CreateKey plus key policy and rotation settings: seconds"),
    "aws:s3/bucket:Bucket": Duration(5, "CreateBucket: seconds"),
    "aws:ec2/launchTemplate:LaunchTemplate": Duration(3, "one EC2 API call"),
    "aws:ecr/repository:Repository": Duration(3, "one ECR API call"),
    # Azure: Resource Manager operations are long-running
    "azure-native:containerservice:ManagedCluster": Duration(
        8 * MINUTE, "AKS cluster with its system pool: 6-10 min typical"
    ),
    "azure-native:containerservice:AgentPool": Duration(
        5 * MINUTE, "AKS agent pool (GPU VMs, driver install): 4-6 min typical"
    ),
    "azure-native:keyvault:Vault": Duration(1 * MINUTE, "Key Vault create (ARM long-running operation): ~1 min"),
    "azure-native:network:PrivateEndpoint": Duration(1.5 * MINUTE, "private endpoint provisioning: 1-2 min"),
    "azure-native:privatedns:PrivateZone": Duration(1 * MINUTE, "private DNS zone: ~1 min"),
    "azure-native:privatedns:VirtualNetworkLink": Duration(1 * MINUTE, "private DNS zone VNet link: ~1 min"),
    "azure-native:containerregistry:Registry": Duration(1 * MINUTE, "Premium ACR with CMK: ~1 min"),
    "azure-native:storage:StorageAccount": Duration(30, "storage account: ~30 s"),
    "azure-native:operationalinsights:Workspace": Duration(30, "Log Analytics workspace: ~30 s"),
    "azure-native:compute:DiskEncryptionSet": Duration(30, "disk encryption set: ~30 s"),
    "azure-native:network:VirtualNetwork": Duration(15, "VNet: ~15 s"),
    "azure-native:network:Subnet": Duration(15, "subnet: ~15 s"),
    "azure-native:authorization:RoleAssignment": Duration(
        30, "role assignment plus Entra ID propagation: ~30 s before the grantee can use it"
    ),
    SLEEP: Duration(10 * MINUTE, "role-propagation wait: the components' default rolePropagationWait (10m)"),
    # Kubernetes: the provider waits for readiness of what it creates
    "kubernetes:batch/v1:Job": Duration(
        3 * MINUTE, "the provider waits for the Job to complete; the ILM setup Job waits for Elasticsearch to answer"
    ),
    "kubernetes:core/v1:Namespace": Duration(2, "one API call"),
    # Docker (local registry)
    "docker:index/remoteImage:RemoteImage": Duration(20, "pull of the registry image"),
}
"""Typical creation time per resource type (what `pulumi up` waits for, not the API call alone)."""

CHART_SECONDS: dict[str, Duration] = {
    _charts.KUBE_PROMETHEUS_STACK.chart: Duration(
        3 * MINUTE,
        "CRDs, operator, Grafana, kube-state-metrics: the provider awaits each Deployment's rollout; 2-4 min",
    ),
    _charts.PROMETHEUS_OPERATOR_CRDS.chart: Duration(
        10, "ten CustomResourceDefinitions, no workload: the provider awaits each CRD's Established condition"
    ),
    _charts.GPU_OPERATOR.chart: Duration(2 * MINUTE, "GPU operator Deployment and NFD: 1-2 min"),
    _charts.NVIDIA_DEVICE_PLUGIN.chart: Duration(1 * MINUTE, "one DaemonSet: ~1 min"),
    _charts.DCGM_EXPORTER.chart: Duration(1 * MINUTE, "one DaemonSet: ~1 min"),
    _charts.ECK_OPERATOR.chart: Duration(1.5 * MINUTE, "operator StatefulSet and CRDs: 1-2 min"),
    _charts.FLUENT_BIT.chart: Duration(1 * MINUTE, "one DaemonSet: ~1 min"),
    _charts.KARPENTER_CRD.chart: Duration(10, "five CustomResourceDefinitions, no workload"),
    _charts.KARPENTER.chart: Duration(1 * MINUTE, "the controller Deployment (two replicas): ~1 min"),
    _charts.KEDA.chart: Duration(1.5 * MINUTE, "operator, metrics API server and webhook Deployments: 1-2 min"),
    _charts.METRICS_SERVER.chart: Duration(1 * MINUTE, "one Deployment (two replicas): ~1 min"),
    _charts.CERT_MANAGER.chart: Duration(1.5 * MINUTE, "controller, webhook and CA injector Deployments: 1-2 min"),
    _charts.ENVOY_GATEWAY.chart: Duration(1.5 * MINUTE, "the Gateway API CRDs and the controller Deployment: 1-2 min"),
    _charts.SECRETS_STORE_CSI_DRIVER.chart: Duration(1 * MINUTE, "one DaemonSet: ~1 min"),
    _charts.SECRETS_STORE_CSI_PROVIDER_AWS.chart: Duration(1 * MINUTE, "one DaemonSet: ~1 min"),
    _charts.KUEUE.chart: Duration(1.5 * MINUTE, "the CRDs and the controller Deployment (two replicas): 1-2 min"),
    _charts.JOBSET.chart: Duration(1 * MINUTE, "the CRD and the controller Deployment: ~1 min"),
    _charts.AWS_EFA_DEVICE_PLUGIN.chart: Duration(1 * MINUTE, "one DaemonSet (none scheduled until EFA nodes): ~1 min"),
    _charts.ARGO_WORKFLOWS.chart: Duration(
        1.5 * MINUTE, "the CRDs and the controller Deployment (two replicas): 1-2 min"
    ),
}
"""Helm v4 charts by chart name: the provider creates every object and awaits the workloads' readiness."""

DEFAULT_SECONDS: dict[str, Duration] = {
    "pulumi": Duration(0, "provider configuration: no cloud operation"),
    "random": Duration(0, "computed locally"),
    "aws": Duration(3, "one AWS API call (policies, attachments, tags, subnets, routes, ...)"),
    "azure-native": Duration(15, "one ARM long-running operation (identities, diagnostic settings, containers, ...)"),
    "kubernetes": Duration(2, "one Kubernetes API call, no workload readiness to await"),
    "docker": Duration(5, "one Docker Engine call"),
}
"""The fallback per package for types not listed above."""


def creation_time(node: Node) -> Duration:
    """The creation time of one resource: by chart, by type, or the package fallback."""
    if node.type == "kubernetes:helm.sh/v4:Chart":
        chart = str(node.wire_inputs.get("chart", ""))
        if chart.startswith("oci://"):
            chart = chart.rsplit("/", 1)[-1]  # an OCI chart is named by its reference: oci://<registry>/<chart>
        if chart in CHART_SECONDS:
            return CHART_SECONDS[chart]
    if node.type in CREATION_SECONDS:
        return CREATION_SECONDS[node.type]
    return DEFAULT_SECONDS.get(node.type.split(":", 1)[0], Duration(5, "unknown package: one API call"))


# --- The graph --------------------------------------------------------------------------------------------

PROPERTY = "property"
PROVIDER = "provider"
PARENT = "parent"
EXPLICIT = "depends_on"
INHERITED = "inherited"
"""Waited for because an ancestor component waits for it (its `depends_on` or one of its inputs)."""
REFERENCE = "reference"
"""Added to the needed-only graph: the NVIDIA stack waits for the GPU pools (the reference chain)."""


@dataclass
class Graph:
    """Engine nodes (custom resources and remote components) and what each waits for."""

    nodes: dict[str, Node]
    waits_for: dict[str, dict[str, set[tuple[str, str]]]]
    """Dependent URN -> dependency URN -> {(kind, URN of the resource or component that declared it)}."""
    by_urn: dict[str, Node] = field(default_factory=dict)
    """Every registration, components included (to name declarations)."""


def expand(urns: Iterable[str], by_urn: Mapping[str, Node], children: Mapping[str, list[str]]) -> set[str]:
    """`urns` with every local component replaced by the engine nodes below it (custom or remote).

    Like the SDK: a component stands for its descendants through components; children of a custom resource
    or of a remote component are not included (they are not the component's own work).
    """
    expanded: set[str] = set()
    pending = list(urns)
    seen: set[str] = set()
    while pending:
        urn = pending.pop()
        if urn in seen:
            continue
        seen.add(urn)
        node = by_urn.get(urn)
        if node is None:
            continue
        if node.is_node:
            expanded.add(urn)
        else:
            pending.extend(children.get(urn, []))
    return expanded


def build_graph(nodes: Iterable[Node]) -> Graph:
    """The engine's view of a recorded graph (see the module docstring)."""
    nodes = list(nodes)
    by_urn = {node.urn: node for node in nodes}
    children: dict[str, list[str]] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node.urn)
    engine_nodes = {node.urn: node for node in nodes if node.is_node and node.type != STACK_TYPE}

    def declared(node: Node) -> tuple[set[str], set[str]]:
        through_inputs = expand((urn for urns in node.property_dependencies.values() for urn in urns), by_urn, children)
        return through_inputs, expand(node.dependencies, by_urn, children) - through_inputs

    waits_for: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for urn, node in engine_nodes.items():
        edges: dict[str, set[tuple[str, str]]] = {}

        def add(targets: Iterable[str], kind: str, source: str, edges: dict = edges, urn: str = urn) -> None:
            for target in targets:
                if target != urn and target in engine_nodes:
                    edges.setdefault(target, set()).add((kind, source))

        through_inputs, explicit = declared(node)
        add(through_inputs, PROPERTY, urn)
        add(explicit, EXPLICIT, urn)
        ancestor = by_urn.get(node.parent)
        while ancestor is not None and not ancestor.is_node:
            add(set().union(*declared(ancestor)), INHERITED, ancestor.urn)
            ancestor = by_urn.get(ancestor.parent)
        if node.provider_urn:
            add([node.provider_urn], PROVIDER, urn)
        if node.parent in engine_nodes:
            add([node.parent], PARENT, urn)
        waits_for[urn] = edges
    return Graph(engine_nodes, waits_for, by_urn)


# --- Longest path -----------------------------------------------------------------------------------------


@dataclass
class Schedule:
    """Earliest finish of every node under unbounded parallelism, and the chain that sets each."""

    finish: dict[str, float]
    predecessor: dict[str, str | None]

    def path_to(self, urn: str) -> list[str]:
        """The critical chain ending at `urn`, first resource first."""
        chain = [urn]
        while (previous := self.predecessor[chain[-1]]) is not None:
            chain.append(previous)
        return chain[::-1]

    @property
    def last(self) -> str:
        """The node that finishes last."""
        return max(self.finish, key=lambda urn: (self.finish[urn], urn))


def schedule(waits_for: Mapping[str, Iterable[str]], weight: Callable[[str], float]) -> Schedule:
    """Earliest finish times: each node's weight plus the latest finish among what it waits for.

    Raises:
        ValueError: when the graph has a cycle.
    """
    finish: dict[str, float] = {}
    predecessor: dict[str, str | None] = {}
    visiting: set[str] = set()
    for root in waits_for:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            urn, ready = stack.pop()
            if urn in finish:
                continue
            if ready:
                visiting.discard(urn)
                best: tuple[float, str | None] = (0.0, None)
                for dependency in sorted(waits_for[urn]):
                    if finish[dependency] > best[0]:
                        best = (finish[dependency], dependency)
                finish[urn] = best[0] + weight(urn)
                predecessor[urn] = best[1]
                continue
            if urn in visiting:
                raise ValueError(f"dependency cycle through {urn}")
            visiting.add(urn)
            stack.append((urn, True))
            stack.extend((dependency, False) for dependency in waits_for[urn] if dependency not in finish)
    return Schedule(finish, predecessor)


# --- What needs what ---------------------------------------------------------------------------------------

CHART = "kubernetes:helm.sh/v4:Chart"
NVIDIA_CHARTS = frozenset(
    ref.chart for ref in (_charts.GPU_OPERATOR, _charts.NVIDIA_DEVICE_PLUGIN, _charts.DCGM_EXPORTER)
)
"""The charts that make GPUs schedulable and observable: the end of the reference chain."""
KEY_TYPES = frozenset({"aws:kms/key:Key", "azure-native:keyvault:Key"})
CLUSTER_TYPES = frozenset({"aws:eks/cluster:Cluster", "azure-native:containerservice:ManagedCluster"})
POOL_TYPES = frozenset({"aws:eks/nodeGroup:NodeGroup", "azure-native:containerservice:AgentPool"})


def chart_name(node: Node) -> str:
    """The Helm chart a v4 Chart installs, or ''."""
    return str(node.wire_inputs.get("chart", "")) if node.type == CHART else ""


def is_gpu_pool(node: Node) -> bool:
    """A node group / agent pool whose nodes carry the GPU contract's `nvidia.com/gpu.present` label."""
    if node.type not in POOL_TYPES:
        return False
    labels = node.wire_inputs.get("labels") or node.wire_inputs.get("nodeLabels") or {}
    return isinstance(labels, dict) and GPU_PRESENT_LABEL in labels


def is_nvidia_chart(node: Node) -> bool:
    """One of the NVIDIA stack's charts."""
    return chart_name(node) in NVIDIA_CHARTS


def _any(dependent: Node, dependency: Node) -> bool:
    return True


@dataclass(frozen=True)
class Ordering:
    """An explicit ordering that is needed although no input carries it, and why."""

    dependent: str
    dependency: str
    reason: str
    applies: Callable[[Node, Node], bool] = _any


DOCUMENTED_ORDERINGS: tuple[Ordering, ...] = (
    # AWS
    Ordering("aws:eks/cluster:Cluster", "aws:cloudwatch/logGroup:LogGroup",
             "EKS creates /aws/eks/<cluster>/cluster on its first write, unencrypted and kept forever, unless it exists"),
    Ordering("aws:eks/cluster:Cluster", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
             "CreateCluster needs AmazonEKSClusterPolicy on the cluster role"),
    Ordering("aws:eks/cluster:Cluster", "aws:iam/rolePolicy:RolePolicy",
             "secrets encryption needs the cluster role's KMS permissions at creation"),
    Ordering("aws:eks/nodeGroup:NodeGroup", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
             "nodes register only once the node role holds the worker and ECR pull policies"),
    Ordering("aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon",
             "bootstrapSelfManagedAddons=false: without the CNI and kube-proxy nodes stay NotReady and the group fails",
             lambda dependent, dependency: dependency.wire_inputs.get("addonName")
             in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")),
    Ordering("aws:eks/addon:Addon", "aws:eks/nodeGroup:NodeGroup",
             "coredns and the EBS CSI controller are Deployments: they need the platform nodes",
             lambda dependent, dependency: not is_gpu_pool(dependency)),
    Ordering("aws:eks/addon:Addon", "aws:iam/rolePolicy:RolePolicy",
             "the EBS CSI controller needs its KMS grant to create encrypted volumes"),
    Ordering("aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway",
             "a public NAT gateway needs the VPC's internet gateway"),
    Ordering("aws:ec2/flowLog:FlowLog", "aws:iam/rolePolicy:RolePolicy",
             "CreateFlowLogs checks the delivery role's permissions"),
    Ordering("aws:backup/selection:Selection", "aws:iam/rolePolicy:RolePolicy",
             "AWS Backup checks the selection's role"),
    Ordering("aws:backup/selection:Selection", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
             "AWS Backup checks the selection's role"),
    Ordering("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketVersioning:BucketVersioning",
             "noncurrent-version rules need versioning enabled"),
    Ordering("aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
             "S3 rejects concurrent configuration changes of one bucket (OperationAborted)"),
    Ordering("pulumi:providers:kubernetes", "aws:eks/nodeGroup:NodeGroup",
             "the Kubernetes layer's pods need the platform nodes of every zone",
             lambda dependent, dependency: not is_gpu_pool(dependency)),
    Ordering("pulumi:providers:kubernetes", "aws:eks/addon:Addon",
             "the Kubernetes layer's pods need DNS, the CNI and the CSI driver"),
    Ordering("pulumi:providers:kubernetes", "aws:eks/accessEntry:AccessEntry",
             "the deployer calls the Kubernetes API through its access entry"),
    Ordering("pulumi:providers:kubernetes", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
             "the deployer calls the Kubernetes API with the cluster-admin access policy"),
    Ordering("pulumi:providers:kubernetes", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
             "the in-network deployer reaches the private API endpoint through this rule"),
    Ordering("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:eks/addon:Addon",
             "the Pod Identity agent serves the association's credentials to the pod",
             lambda dependent, dependency: dependency.wire_inputs.get("addonName") == "eks-pod-identity-agent"),
    Ordering("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:iam/rolePolicy:RolePolicy",
             "Karpenter's first calls (DescribeInstanceTypes, CreateFleet) need the controller policy in place"),
    # Azure
    Ordering("azure-native:containerservice:ManagedCluster", "azure-native:authorization:RoleAssignment",
             "AKS checks the control-plane identity's grants (subnet, disk encryption set, Key Vault) at creation"),
    Ordering("azure-native:containerservice:ManagedCluster", "azure-native:network:PrivateEndpoint",
             "the KMS plugin reaches the vault only through its private endpoint"),
    Ordering("azure-native:containerservice:ManagedCluster", "azure-native:network:PrivateDnsZoneGroup",
             "the KMS plugin resolves the vault through the private DNS zone group"),
    Ordering("azure-native:containerservice:AgentPool", "azure-native:containerservice:AgentPool",
             "AKS runs one operation per cluster at a time"),
    Ordering("azure-native:network:Subnet", "azure-native:network:Subnet",
             "ARM serializes subnet operations on one virtual network (AnotherOperationInProgress)"),
    Ordering("azure-native:storage:BlobContainer", "azure-native:storage:BlobServiceProperties",
             "the blob service's versioning and soft delete apply before data arrives"),
    Ordering("azure-native:storage:ManagementPolicy", "azure-native:storage:BlobServiceProperties",
             "version-based lifecycle rules need blob versioning"),
    Ordering("azure-native:monitor:DiagnosticSetting", "azure-native:storage:BlobServiceProperties",
             "the blob service must exist as a diagnostics target"),
    Ordering("pulumi:providers:kubernetes", "azure-native:containerservice:AgentPool",
             "the Kubernetes layer's Deployments and StatefulSets run on the untainted platform pool (the system "
             "pool admits CriticalAddonsOnly pods only)",
             lambda dependent, dependency: not is_gpu_pool(dependency)),
    Ordering("pulumi:providers:kubernetes", "azure-native:authorization:RoleAssignment",
             "the admin groups the deployer belongs to call the Kubernetes API through these grants"),
    Ordering("azure-native:containerservice:ManagedCluster", SLEEP,
             "Azure enforces the identity and disk encryption set grants up to 10 minutes after their creation"),
    Ordering("pulumi:providers:kubernetes", SLEEP,
             "Azure enforces the admin and deployer grants (and DNS links) up to 10 minutes after their creation"),
    Ordering("pulumi:providers:kubernetes", "azure-native:privatedns:VirtualNetworkLink",
             "a deployer in a peered VNet resolves the private API server through the AKS zone's link"),
    Ordering("azure-native:network:VirtualNetworkPeering", "azure-native:network:Subnet",
             "ARM serializes operations on one virtual network (AnotherOperationInProgress)"),
    Ordering("azure-native:network:VirtualNetworkPeering", "azure-native:network:VirtualNetworkPeering",
             "ARM serializes operations on one virtual network (AnotherOperationInProgress)"),
    # Kubernetes
    Ordering(CHART, "kubernetes:core/v1:Namespace", "the chart's objects live in the namespace"),
    Ordering(CHART, "kubernetes:core/v1:Secret", "the chart's pods mount the secret; their readiness is awaited"),
    Ordering(CHART, "kubernetes:batch/v1:Job",
             "Fluent Bit ships logs only once the lifecycle policy and index template exist"),
    Ordering(CHART, "kubernetes:storage.k8s.io/v1:StorageClass", "the chart's volumes use the encrypted class",
             lambda dependent, dependency: chart_name(dependent) == _charts.KUBE_PROMETHEUS_STACK.chart),
    Ordering("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch", "kubernetes:storage.k8s.io/v1:StorageClass",
             "Elasticsearch's volumes use the encrypted class"),
    Ordering("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch", CHART,
             "the Elasticsearch CRD and its webhook come with the ECK operator",
             lambda dependent, dependency: chart_name(dependency) == _charts.ECK_OPERATOR.chart),
    Ordering("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch", "kubernetes:core/v1:Secret",
             "the file-realm users and roles secrets are read at startup"),
    Ordering("kubernetes:kibana.k8s.elastic.co/v1:Kibana", CHART, "the Kibana CRD comes with the ECK operator",
             lambda dependent, dependency: chart_name(dependency) == _charts.ECK_OPERATOR.chart),
    Ordering("kubernetes:batch/v1:Job", "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch",
             "the setup job calls Elasticsearch's API"),
    Ordering("kubernetes:batch/v1:Job", "kubernetes:core/v1:ConfigMap", "the setup job runs the script it mounts"),
    Ordering("kubernetes:batch/v1:Job", "kubernetes:core/v1:ServiceAccount", "the setup job runs as this account"),
    Ordering(CHART, CHART, "the chart's Prometheus and Alertmanager objects need the Prometheus operator CRDs",
             lambda dependent, dependency: chart_name(dependent) == _charts.KUBE_PROMETHEUS_STACK.chart
             and chart_name(dependency) == _charts.PROMETHEUS_OPERATOR_CRDS.chart),
    Ordering("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", CHART,
             "the CRD comes with karpenter-crd, and the controller must outlive the object on destroy to clear its "
             "finalizer and terminate its instances",
             lambda dependent, dependency: chart_name(dependency).endswith(("/karpenter", "/karpenter-crd"))),
    Ordering("kubernetes:karpenter.sh/v1:NodePool", CHART,
             "the CRD comes with karpenter-crd, and the controller must outlive the object on destroy to clear its "
             "finalizer and terminate its nodes",
             lambda dependent, dependency: chart_name(dependency).endswith(("/karpenter", "/karpenter-crd"))),
    # Managed databases (the tracking server's)
    Ordering("aws:rds/instance:Instance", "aws:cloudwatch/logGroup:LogGroup",
             "RDS creates an exported log's group itself, unencrypted and kept forever, unless the declared one exists"),
    *(
        Ordering("azure-native:dbforpostgresql:" + dependent, "azure-native:dbforpostgresql:" + dependency,
                 "a flexible server applies one change at a time; concurrent updates fail (ServerBusy)")
        for dependent, dependency in (
            ("Configuration", "Configuration"),
            ("Configuration", "AdministratorsMicrosoftEntra"),
            ("Database", "Configuration"),
        )
    ),
    # The tracking server (ExperimentTracking)
    Ordering("kubernetes:batch/v1:Job", "kubernetes:core/v1:Secret", "the Job's pod reads the Secret at start"),
    Ordering("kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment",
             "the users Job calls the tracking server's auth API, which must be up"),
    Ordering("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job",
             "the tracking server starts on the schema the migration Job upgraded"),
    Ordering("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Secret", "the server reads its env from the Secret"),
    Ordering("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:ServiceAccount",
             "the server runs as the account its cloud identity trusts"),
    # Registry scanning: ECR refuses ENHANCED scanning until Inspector scans ECR in the account
    Ordering("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "aws:inspector2/enabler:Enabler",
             "ECR accepts ENHANCED scanning only once Amazon Inspector's ECR scanning is enabled for the account"),
    # Training queues (Kueue)
    *(
        Ordering(f"kubernetes:kueue.x-k8s.io/v1beta2:{kind}", CHART,
                 "Kueue's CRDs come with its chart, and its webhooks (fail closed) admit the object",
                 lambda dependent, dependency: chart_name(dependency).rsplit("/", 1)[-1] == _charts.KUEUE.chart)
        for kind in ("ResourceFlavor", "ClusterQueue", "LocalQueue")
    ),
    # Serving gateway (cert-manager, Envoy Gateway) and application secrets (Secrets Store CSI)
    *(
        Ordering(f"kubernetes:cert-manager.io/v1:{kind}", CHART,
                 "cert-manager's CRDs and its webhook, which admits the object, come with its chart",
                 lambda dependent, dependency: chart_name(dependency) == _charts.CERT_MANAGER.chart)
        for kind in ("Certificate", "Issuer", "ClusterIssuer")
    ),
    Ordering("kubernetes:cert-manager.io/v1:Certificate", "kubernetes:cert-manager.io/v1:Issuer",
             "the certificate is signed by that issuer, which must exist first"),
    Ordering("kubernetes:cert-manager.io/v1:Issuer", "kubernetes:cert-manager.io/v1:Certificate",
             "a CA issuer signs with the CA certificate's Secret, which exists once that certificate is issued"),
    Ordering("kubernetes:cert-manager.io/v1:ClusterIssuer", "kubernetes:core/v1:Secret",
             "the platform CA issuer signs with the key in this Secret"),
    Ordering(CHART, "kubernetes:cert-manager.io/v1:Certificate",
             "Envoy Gateway's controller mounts its xDS certificates' Secrets at start (their certgen hook never runs)",
             lambda dependent, dependency: chart_name(dependent).endswith(_charts.ENVOY_GATEWAY.chart)),
    *(
        Ordering(kind, CHART, "the CRD comes with Envoy Gateway's chart, whose controller accepts the object",
                 lambda dependent, dependency: chart_name(dependency).endswith(_charts.ENVOY_GATEWAY.chart))
        for kind in ("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy",
                     "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
                     "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    ),
    Ordering("kubernetes:gateway.networking.k8s.io/v1:Gateway", "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
             "a Gateway is programmed once its class is accepted"),
    Ordering(CHART, CHART, "the AWS provider plugs into the socket directory the CSI driver's DaemonSet creates",
             lambda dependent, dependency: chart_name(dependent) == _charts.SECRETS_STORE_CSI_PROVIDER_AWS.chart
             and chart_name(dependency) == _charts.SECRETS_STORE_CSI_DRIVER.chart),
    Ordering("kubernetes:monitoring.coreos.com/v1:PrometheusRule", CHART,
             "the PrometheusRule CRD comes with the Prometheus operator CRDs chart",
             lambda dependent, dependency: chart_name(dependency) == _charts.PROMETHEUS_OPERATOR_CRDS.chart),
)  # fmt: skip
"""Orderings the code documents and the services require. Any other `depends_on` (own or inherited from an
ancestor component) is needless: it only delays the dependent."""

NEEDED_KINDS = frozenset({PROPERTY, PROVIDER, PARENT})


def needed_because(graph: Graph, dependent: str, dependency: str) -> str | None:
    """Why `dependent` must wait for `dependency`, or None when nothing requires it."""
    kinds = {kind for kind, _ in graph.waits_for[dependent][dependency]}
    if PROPERTY in kinds:
        return "an input uses its output"
    if PROVIDER in kinds:
        return "its provider"
    if PARENT in kinds:
        return "its parent"
    first, second = graph.nodes[dependent], graph.nodes[dependency]
    for ordering in DOCUMENTED_ORDERINGS:
        if first.type == ordering.dependent and second.type == ordering.dependency and ordering.applies(first, second):
            return ordering.reason
    return None


# --- Analysis ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One resource on a critical chain and the edge that led to it."""

    name: str
    type: str
    seconds: float
    finish: float
    kinds: tuple[str, ...] = ()
    """How it waits for the previous step (empty for the first)."""
    reason: str | None = None
    """Why that wait is needed; None when it is needless (or for the first step)."""
    declared_by: tuple[str, ...] = ()
    """The resources or components whose declaration creates the wait."""

    @property
    def needless(self) -> bool:
        """Whether the wait for the previous step is needless."""
        return bool(self.kinds) and self.reason is None


@dataclass
class Needless:
    """A declaration that makes resources wait needlessly, and what it costs on the critical paths."""

    declared_by: str
    edges: list[tuple[str, str]]
    """(dependent, dependency) names of its needless waits on a critical path."""
    saves_total: float
    """Seconds the whole deployment gets shorter without its needless waits."""
    saves_gpu: float
    """Seconds the NVIDIA stack is ready earlier without them."""


@dataclass
class Latent:
    """Needless waits on a long-running resource that are off the critical paths today, and by how little."""

    declared_by: str
    dependencies: list[str]
    """Names of the long-running resources waited for."""
    dependents: int
    """How many resources wait needlessly."""
    slack: float
    """Seconds the dependency could take longer before it delays what waits for it."""


LATENT_MINIMUM = 1 * MINUTE
"""Only needless waits on resources that take at least this long are worth reporting as latent."""


@dataclass
class Analysis:
    """The critical paths of one stack and what makes them longer than needed."""

    stack: str
    resources: int
    total: float
    path: list[Step]
    gpu_ready: float | None
    gpu_path: list[Step]
    reference: list[Step]
    """The nominal chain: key -> cluster -> GPU pool -> NVIDIA chart, each at its own creation time."""
    needed_only_total: float
    needed_only_gpu_ready: float | None
    needless: list[Needless]
    needless_edges: int
    """Needless waits in the whole graph (most are harmless: off every critical path)."""
    latent: list[Latent] = field(default_factory=list)
    """Needless waits off the critical paths on long-running resources, with their slack."""

    @property
    def reference_seconds(self) -> float:
        """The length of the nominal chain."""
        return sum(step.seconds for step in self.reference)


def _label(node: Node) -> str:
    return f"{node.name} ({node.type})"


def analyze(stack: str, nodes: Iterable[Node]) -> Analysis:
    """Critical path of the deployment and of the NVIDIA stack, the reference chain and the needless waits."""
    graph = build_graph(nodes)

    def weight(urn: str) -> float:
        return creation_time(graph.nodes[urn]).seconds

    gpu_pools = [urn for urn, node in graph.nodes.items() if is_gpu_pool(node)]
    nvidia = [urn for urn, node in graph.nodes.items() if is_nvidia_chart(node)]
    # The reference chain's last link, explicit: the NVIDIA stack waits for the GPU pools.
    reference_edges = {chart: set(gpu_pools) for chart in nvidia}
    needless = {
        (dependent, dependency)
        for dependent, edges in graph.waits_for.items()
        for dependency in edges
        if needed_because(graph, dependent, dependency) is None
    }

    def waits(removed: set[tuple[str, str]]) -> dict[str, set[str]]:
        return {
            urn: {dependency for dependency in edges if (urn, dependency) not in removed}
            | reference_edges.get(urn, set())
            for urn, edges in graph.waits_for.items()
        }

    def gpu_end(result: Schedule) -> str | None:
        return max(nvidia, key=lambda urn: result.finish[urn]) if nvidia else None

    current = schedule(waits(set()), weight)
    needed_only = schedule(waits(needless), weight)
    last, gpu_last = current.last, gpu_end(current)
    path = _steps(graph, current, current.path_to(last), weight)
    gpu_path = _steps(graph, current, current.path_to(gpu_last), weight) if gpu_last else []

    on_paths = {
        (second, first)
        for chain in (current.path_to(last), current.path_to(gpu_last) if gpu_last else [])
        for first, second in itertools.pairwise(chain)
        if (second, first) in needless
    }
    declarations: dict[str, list[tuple[str, str]]] = {}
    for dependent, dependency in sorted(on_paths):
        for _, source in graph.waits_for[dependent][dependency]:
            declarations.setdefault(source, []).append((dependent, dependency))
    reports = []
    for source, edges in sorted(declarations.items()):
        removed = {
            (dependent, dependency)
            for dependent, dependency in needless
            if {declared for _, declared in graph.waits_for[dependent][dependency]} == {source}
        }
        after = schedule(waits(removed), weight)
        after_gpu = gpu_end(after)
        reports.append(
            Needless(
                declared_by=_label(graph.by_urn[source]),
                edges=[(graph.nodes[a].name, graph.nodes[b].name) for a, b in edges],
                saves_total=current.finish[last] - after.finish[after.last],
                saves_gpu=(current.finish[gpu_last] - after.finish[after_gpu]) if gpu_last and after_gpu else 0.0,
            )
        )
    reports.sort(key=lambda report: (-max(report.saves_total, report.saves_gpu), report.declared_by))
    needed_gpu = gpu_end(needed_only)
    return Analysis(
        stack=stack,
        resources=len(graph.nodes),
        total=current.finish[last],
        path=path,
        gpu_ready=current.finish[gpu_last] if gpu_last else None,
        gpu_path=gpu_path,
        reference=_reference_chain(graph, weight),
        needed_only_total=needed_only.finish[needed_only.last],
        needed_only_gpu_ready=needed_only.finish[needed_gpu] if needed_gpu else None,
        needless=reports,
        needless_edges=len(needless),
        latent=[
            item
            for item in _latent(graph, current, needless - on_paths, weight)
            if item.declared_by not in {report.declared_by for report in reports}
        ],
    )


def _latent(
    graph: Graph, result: Schedule, needless: set[tuple[str, str]], weight: Callable[[str], float]
) -> list[Latent]:
    """Needless waits on long-running resources, by declaration, with the least slack among them."""
    grouped: dict[str, list[tuple[str, str, float]]] = {}
    for dependent, dependency in needless:
        if weight(dependency) < LATENT_MINIMUM:
            continue
        start = result.finish[dependent] - weight(dependent)
        slack = start - result.finish[dependency]
        for _, source in graph.waits_for[dependent][dependency]:
            grouped.setdefault(source, []).append((dependent, dependency, slack))
    reports = [
        Latent(
            declared_by=_label(graph.by_urn[source]),
            dependencies=sorted({graph.nodes[dependency].name for _, dependency, _ in edges}),
            dependents=len({dependent for dependent, _, _ in edges}),
            slack=min(slack for _, _, slack in edges),
        )
        for source, edges in grouped.items()
    ]
    return sorted(reports, key=lambda report: (report.slack, report.declared_by))


def _steps(graph: Graph, result: Schedule, chain: list[str], weight: Callable[[str], float]) -> list[Step]:
    steps = []
    for index, urn in enumerate(chain):
        node = graph.nodes[urn]
        step = Step(node.name, node.type, weight(urn), result.finish[urn])
        if index:
            previous = chain[index - 1]
            edges = graph.waits_for[urn].get(previous, set())
            step.kinds = tuple(sorted({kind for kind, _ in edges})) or (REFERENCE,)
            step.reason = needed_because(graph, urn, previous) if edges else "the reference chain"
            step.declared_by = tuple(sorted({_label(graph.by_urn[source]) for _, source in edges}))
        steps.append(step)
    return steps


def _reference_chain(graph: Graph, weight: Callable[[str], float]) -> list[Step]:
    """Key -> cluster -> GPU pool -> NVIDIA chart, picking the longest of each kind in the graph."""
    chain = []
    for kind in (KEY_TYPES, CLUSTER_TYPES):
        candidates = [urn for urn, node in graph.nodes.items() if node.type in kind]
        if candidates:
            chain.append(max(candidates, key=weight))
    pools = [urn for urn, node in graph.nodes.items() if is_gpu_pool(node)]
    charts = [urn for urn, node in graph.nodes.items() if is_nvidia_chart(node)]
    if not pools or not charts:
        return []
    chain += [max(pools, key=weight), max(charts, key=weight)]
    total = 0.0
    steps = []
    for urn in chain:
        total += weight(urn)
        steps.append(Step(graph.nodes[urn].name, graph.nodes[urn].type, weight(urn), total))
    return steps
