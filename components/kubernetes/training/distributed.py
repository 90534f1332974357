"""Distributed training: `DistributedTraining` installs the JobSet controller, `torch_jobset` writes a multi-node
PyTorch job as a JobSet.

Why JobSet (kubernetes-sigs/jobset) and not Kubeflow Trainer v2: JobSet is one small controller and one CRD that
Kueue queues natively (`jobset.x-k8s.io/jobset` is among `GpuQueues`' integrations), and Trainer v2 itself runs every
TrainJob as a JobSet (its runtimes are JobSet templates), so Trainer could be added on top later without changing
how jobs are queued. What Trainer adds, torchrun's command line and its environment, is `torch_jobset` below: a pure
function whose output a team applies (`kubectl apply`) or a pipeline step embeds.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi

from components._common import gpu, pools
from components._common.validation import Problems, dns1123_label_problem, require_args_mapping
from components.kubernetes import _charts, _values
from components.kubernetes._checks import (
    check_bool,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_string_map,
)
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace
from components.kubernetes._platform_policies import create_network_policies
from components.kubernetes.training import _jobset, _kueue

DEFAULT_NAMESPACE = "jobset-system"
DEFAULT_NODE_SELECTOR: dict[str, str] = pools.platform_pool_labels()
DEFAULT_REPLICAS = 2
DEFAULT_METRICS_SCRAPE = False
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_PROTECT = False

JOBSET_TIER = "jobset"
"""Tier label of the controller's namespace (`mlplatform.io/tier`)."""


class DistributedTrainingArgs(TypedDict, total=False):
    """Arguments of `DistributedTraining`."""

    namespace: str
    """Namespace of the JobSet controller (Pod Security `restricted`). Defaults to jobset-system."""

    node_selector: dict[str, str]
    """Node labels the controller selects: the platform pool's, or `{}` on a cluster without one. Defaults to
    {"mlplatform.io/pool-role": "platform"}."""

    replicas: int
    """Controller replicas (leader-elected; every replica serves the webhooks), 1 to 5. Defaults to 2."""

    metrics_scrape: bool
    """Let Prometheus scrape the controller's metrics: the chart's metrics Service and ServiceMonitor, and a
    NetworkPolicy admitting Prometheus on the metrics port. Needs the Prometheus operator CRDs. Defaults to false."""

    monitoring_namespace: str
    """Namespace of Prometheus, for `metrics_scrape`. Defaults to monitoring."""

    protect: bool
    """Protect the chart (its CRD: deleting it deletes every JobSet and their pods) against `pulumi destroy` and
    keep it when removed from the program. Set in prod. Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra labels on the controller's namespace; cannot override the tier or Pod Security labels. Defaults to
    none."""


class DistributedTraining(pulumi.ComponentResource):
    """The operator for multi-node training jobs: the JobSet controller, pinned and locked down.

    Creates:
    - the controller's namespace (Pod Security `restricted`, tier `jobset`) with default-deny NetworkPolicies: DNS
      and the API server out, the API server in on the webhook port only (and Prometheus on the metrics port when
      `metrics_scrape`);
    - JobSet (helm.v4.Chart `oci://registry.k8s.io/jobset/charts/jobset`, pinned): the `jobset.x-k8s.io/v1alpha2`
      CRD, its webhooks, and a controller of two leader-elected replicas on the platform pool with a
      PodDisruptionBudget.

    JobSets then run in the training namespaces: `torch_jobset` writes one for a multi-node PyTorch job, Kueue
    (`GpuQueues`) admits it against the team's quota. The JobSet controller creates the child Jobs and a headless
    Service per JobSet, so workers reach each other by stable DNS names.

    Security defaults: the controller runs non-root (uid 65532) with a read-only root filesystem, no capabilities
    and no privilege escalation; it reaches nothing but the API server; its webhook certificate is issued by the
    controller and never written by Pulumi.
    """

    namespace: pulumi.Output[str]
    """Namespace of the JobSet controller."""

    api_version: pulumi.Output[str]
    """The JobSet API version jobs use (`jobset.x-k8s.io/v1alpha2`)."""

    def __init__(self, name: str, args: DistributedTrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        node_selector = args.get("node_selector", DEFAULT_NODE_SELECTOR)
        replicas = args.get("replicas", DEFAULT_REPLICAS)
        metrics_scrape = args.get("metrics_scrape", DEFAULT_METRICS_SCRAPE)
        monitoring_namespace = args.get("monitoring_namespace", DEFAULT_MONITORING_NAMESPACE)
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, DistributedTrainingArgs)
        check_object_name(problems, "name", name)
        check_namespace_name(problems, "namespace", namespace)
        check_string_map(problems, "nodeSelector", node_selector)
        check_int(problems, "replicas", replicas, minimum=1, maximum=5)
        check_bool(problems, "metricsScrape", metrics_scrape)
        check_object_name(problems, "monitoringNamespace", monitoring_namespace)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"DistributedTraining '{name}'")

        super().__init__("mlplatform:index:DistributedTraining", name, {}, opts)

        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=JOBSET_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        create_network_policies(
            f"{name}-netpol",
            ns.metadata.name,
            _jobset.network_policies(metrics_scrape=metrics_scrape),
            parent=self,
        )
        # The CRD is cluster-wide and owns every JobSet (and, through them, running jobs): in prod it stays when
        # this component goes.
        self._chart = _charts.helm_chart(
            f"{name}-jobset",
            _charts.JOBSET,
            release_name=_jobset.RELEASE,
            namespace=ns.metadata.name,
            values=_jobset.jobset_values(
                node_selector=node_selector,
                replicas=replicas,
                metrics_scrape=metrics_scrape,
                monitoring_namespace=monitoring_namespace,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                retain_on_delete=protect,
                transforms=[_jobset.webhook_secret_transform()],
            ),
        )

        self.namespace = ns.metadata.name
        self.api_version = pulumi.Output.from_input(_jobset.API_VERSION)
        self.register_outputs({"namespace": self.namespace, "apiVersion": self.api_version})


# --- The JobSet of a multi-node PyTorch job ---------------------------------------------------------------

IMAGE_BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
"""`<repository>@sha256:<64 hex>`: a training image is pinned by digest, never by a tag that can move."""

REPLICATED_JOB = "node"
"""The name of the one ReplicatedJob: pods are `<jobset>-node-0-<index>`, rank 0 is `<jobset>-node-0-0`."""
TRAINER_CONTAINER = "trainer"
RENDEZVOUS_PORT = 29400
"""torchrun's c10d rendezvous port (its default for `--rdzv-endpoint` without a port)."""
SHM_VOLUME = "dshm"
SCRATCH_VOLUME = "scratch"
SCRATCH_PATH = "/tmp"

DEFAULT_SERVICE_ACCOUNT = gpu.TRAINING_SERVICE_ACCOUNT
"""`TrainingNamespace`'s default ServiceAccount (its cloud identity for datasets and artifacts)."""
DEFAULT_SHM_SIZE = "16Gi"
DEFAULT_SCRATCH_SIZE = "20Gi"
DEFAULT_MAX_RESTARTS = 3
DEFAULT_TTL_SECONDS_AFTER_FINISHED = 7 * 24 * 3600
DEFAULT_RUN_AS_USER = 1000
DNS1035_LABEL_MAX = 63
MAX_NODES = 1024
MAX_GPUS_PER_NODE = 16
MAX_EFA_DEVICES_PER_NODE = 32
"""The most EFA interfaces an instance offers (p5.48xlarge and p5e.48xlarge: 32 network cards, one EFA each)."""

NCCL_ENV: dict[str, str] = {
    # NVIDIA NCCL docs, Environment Variables, NCCL_DEBUG: at WARN NCCL prints an explicit error message whenever a
    # call fails (https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html); INFO is far too verbose for
    # every run.
    "NCCL_DEBUG": "WARN",
    # PyTorch docs, PYTORCH ProcessGroupNCCL Environment Variables: with 1 a failed or timed-out collective tears the
    # process down instead of hanging (https://pytorch.org/docs/stable/torch_nccl_environment_variables.html); the
    # Job then fails and JobSet's failure policy restarts the whole job from its last checkpoint.
    "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1",
}
"""The NCCL and PyTorch settings of every job."""

EFA_ENV: dict[str, str] = {
    # AWS EC2 user guide, "Get started with EFA and NCCL for ML workloads" (efa-start-nccl.html): the tests run with
    # FI_PROVIDER=efa, so libfabric uses EFA and fails loudly instead of falling back to TCP sockets.
    "FI_PROVIDER": "efa",
}
"""Added with EFA devices (`efa_devices_per_node` > 0)."""

EFA_DEVICE_RDMA_ENV: dict[str, str] = {"FI_EFA_USE_DEVICE_RDMA": "1"}
"""Added with `efa_device_rdma` (instance types in `gpu.AWS_EFA_DEVICE_RDMA_FAMILIES`; same AWS page)."""


def rank_zero_host(name: str) -> str:
    """The DNS name of the job's first pod, `<name>-node-0-0.<name>`: JobSet gives each pod the hostname
    `<jobset>-<replicatedJob>-<jobIndex>-<podIndex>` (pkg/util/placement `GenPodName`) and the subdomain of the
    headless Service it creates, named after the JobSet (`GetSubdomain`), so the name resolves in the namespace."""
    return f"{name}-{REPLICATED_JOB}-0-0.{name}"


def torchrun_arguments(
    *, name: str, nodes: int, gpus_per_node: int, command: Sequence[str], args: Sequence[str] = ()
) -> list[str]:
    """torchrun's options for one node of the job, then the training program and its arguments.

    c10d rendezvous on rank 0's pod (`--rdzv-endpoint`), the job's name as the rendezvous ID, `--nnodes` nodes of
    `--nproc-per-node` processes (one per GPU), and `--node-rank` from the Job's completion index (the Job
    controller sets `JOB_COMPLETION_INDEX` in every container of an Indexed Job, and Kubernetes expands `$(VAR)`
    in arguments). `--max-restarts=0`: a failure ends the pod, and JobSet restarts the whole job.
    """
    return [
        f"--nnodes={nodes}",
        f"--nproc-per-node={gpus_per_node}",
        "--node-rank=$(JOB_COMPLETION_INDEX)",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint={rank_zero_host(name)}:{RENDEZVOUS_PORT}",
        f"--rdzv-id={name}",
        "--max-restarts=0",
        *command,
        *args,
    ]


def check_torch_jobset(
    problems: Problems,
    *,
    name: object,
    namespace: object,
    image: object,
    command: object,
    args: object,
    nodes: object,
    gpus_per_node: object,
    cpu_per_node: object,
    memory_per_node: object,
    shm_size: object,
    scratch_size: object,
    queue_name: object,
    service_account_name: object,
    pod_labels: object,
    env: object,
    efa_devices_per_node: object,
    efa_device_rdma: object,
    max_restarts: object,
    ttl_seconds_after_finished: object,
    run_as_user: object,
) -> None:
    """Record every problem of `torch_jobset`'s arguments, by camelCase path."""
    check_object_name(problems, "name", name)
    if isinstance(name, str) and dns1123_label_problem(name) is None:
        # JobSet's webhook: `<name>-node-<jobIndex>-<podIndex>-<5 chars>` must be a DNS-1035 label (63 characters).
        last_index = nodes - 1 if isinstance(nodes, int) and nodes > 0 else 0
        longest = f"{name}-{REPLICATED_JOB}-0-{last_index}-abcde"
        if len(longest) > DNS1035_LABEL_MAX:
            problems.add("name", f"too long: pod names ({longest}) must fit 63 characters; shorten the name")
        if not name[0].isalpha():
            problems.add("name", "must start with a letter (the headless Service name is a DNS-1035 label)")
    check_namespace_name(problems, "namespace", namespace)
    if not isinstance(image, str) or not IMAGE_BY_DIGEST.match(image):
        problems.add(
            "image",
            f"{image!r} is not pinned by digest; use <repository>@sha256:<64 hex> (a tag can be moved to another "
            "image between two nodes' pulls)",
        )
    if not isinstance(command, list | tuple) or not command or not all(isinstance(c, str) and c for c in command):
        problems.add("command", "required: the training script (or `-m`, module) torchrun runs, as a list of strings")
    if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
        problems.add("args", "must be a list of strings")
    check_int(problems, "nodes", nodes, minimum=1, maximum=MAX_NODES)
    check_int(problems, "gpusPerNode", gpus_per_node, minimum=1, maximum=MAX_GPUS_PER_NODE)
    check_quantity(problems, "cpuPerNode", cpu_per_node)
    memory = check_quantity(problems, "memoryPerNode", memory_per_node)
    shm = check_quantity(problems, "shmSize", shm_size)
    check_quantity(problems, "scratchSize", scratch_size)
    if memory is not None and shm is not None and shm >= memory:
        problems.add(
            "shmSize",
            f"must be below memoryPerNode ({memory_per_node}): /dev/shm is memory-backed and counts against the "
            "container's memory limit",
        )
    if queue_name is not None:
        check_object_name(problems, "queueName", queue_name)
    check_object_name(problems, "serviceAccountName", service_account_name)
    check_string_map(problems, "podLabels", pod_labels)
    check_string_map(problems, "env", env)
    if isinstance(env, Mapping):
        for key in env:
            if key in ("JOB_COMPLETION_INDEX",):
                problems.add(f'env["{key}"]', "is set by the Job controller; torchrun's node rank depends on it")
    check_int(problems, "efaDevicesPerNode", efa_devices_per_node, minimum=0, maximum=MAX_EFA_DEVICES_PER_NODE)
    check_bool(problems, "efaDeviceRdma", efa_device_rdma)
    if efa_device_rdma is True and efa_devices_per_node == 0:
        problems.add("efaDeviceRdma", "needs efaDevicesPerNode > 0 (device RDMA is an EFA feature)")
    check_int(problems, "maxRestarts", max_restarts, minimum=0, maximum=100)
    if ttl_seconds_after_finished is not None:
        check_int(problems, "ttlSecondsAfterFinished", ttl_seconds_after_finished, minimum=0)
    check_int(problems, "runAsUser", run_as_user, minimum=1)


def torch_jobset(
    *,
    name: str,
    namespace: str,
    image: str,
    command: Sequence[str],
    nodes: int,
    gpus_per_node: int,
    cpu_per_node: str,
    memory_per_node: str,
    args: Sequence[str] = (),
    queue_name: str | None = None,
    service_account_name: str = DEFAULT_SERVICE_ACCOUNT,
    pod_labels: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    shm_size: str = DEFAULT_SHM_SIZE,
    scratch_size: str = DEFAULT_SCRATCH_SIZE,
    efa_devices_per_node: int = 0,
    efa_device_rdma: bool = False,
    max_restarts: int = DEFAULT_MAX_RESTARTS,
    ttl_seconds_after_finished: int | None = DEFAULT_TTL_SECONDS_AFTER_FINISHED,
    run_as_user: int = DEFAULT_RUN_AS_USER,
    tolerations: Sequence[Mapping[str, str]] | None = None,
    node_selector: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A JobSet (`jobset.x-k8s.io/v1alpha2`) that runs a PyTorch program on `nodes` nodes of `gpus_per_node` GPUs.

    One ReplicatedJob `node` of one Indexed Job with `nodes` pods (completions = parallelism = nodes), DNS
    hostnames on (`network.enableDNSHostnames`), each pod running `torchrun` (see `torchrun_arguments`) with c10d
    rendezvous on rank 0's pod, `rank_zero_host(name)`. Any pod failing fails its Job (`backoffLimit: 0`, pods
    `restartPolicy: Never`), and JobSet then recreates every Job, up to `max_restarts` times (`failurePolicy`);
    the job succeeds when its one Job completes (`successPolicy` All).

    Queueing: with `queue_name` the JobSet carries `kueue.x-k8s.io/queue-name`; Kueue's webhook suspends it on
    creation and unsuspends it once admitted, adding the node selector and tolerations of the GPU pool (flavor) it
    was admitted on. The JobSet does not set `suspend` itself: the webhook owns it. Without Kueue (no queue name),
    pass `tolerations` and `node_selector` for the GPU pool yourself.

    Each pod requests and is limited to `gpus_per_node` `nvidia.com/gpu`, `cpu_per_node` CPU, `memory_per_node`
    memory (requests = limits: Guaranteed QoS, the last to be evicted) and, with EFA, `efa_devices_per_node`
    `vpc.amazonaws.com/efa`. /dev/shm is a memory-backed emptyDir of `shm_size` (NCCL and data loader workers
    share tensors through it; it counts against the memory limit), /tmp a disk-backed emptyDir of `scratch_size`
    (the root filesystem is read-only; `HOME` points there for library caches).

    Pod Security `restricted` admits the pods, and `TrainingNamespace`'s policies let them talk: no host
    namespaces, ports or paths, non-root (`run_as_user`), no privilege escalation, all capabilities dropped,
    RuntimeDefault seccomp; workers talk pod to pod in the namespace (NCCL, the rendezvous on port 29400). EFA
    devices arrive through the EFA device plugin, not host access; they need the node image's unlimited locked
    memory (the EKS accelerated AMIs set it for containerd).

    Args:
        name: the JobSet's name (DNS-1035 label: also the headless Service's and the rendezvous ID).
        namespace: the training namespace.
        image: the training image, `<repository>@sha256:<64 hex>`; refused otherwise.
        command: what torchrun runs: the script (`/app/train.py`) or `-m` and a module (`-m`, `pkg.train`).
        nodes: nodes (pods) of the job.
        gpus_per_node: GPUs per pod, one training process each.
        cpu_per_node: CPU per pod (quantity).
        memory_per_node: memory per pod (quantity), /dev/shm included.
        args: the program's arguments.
        queue_name: the Kueue LocalQueue (`GpuQueues.localQueues[namespace]`); None for a cluster without Kueue.
        service_account_name: the ServiceAccount with the team's cloud identity (`TrainingNamespace`).
        pod_labels: labels every pod carries (e.g. `TrainingNamespace.podLabels` for Entra workload identity).
        env: environment variables, over the NCCL/EFA defaults.
        shm_size: size of /dev/shm (quantity), below `memory_per_node`.
        scratch_size: size of the /tmp scratch volume (quantity).
        efa_devices_per_node: EFA interfaces per pod (`vpc.amazonaws.com/efa`); 0 for no EFA.
        efa_device_rdma: set `FI_EFA_USE_DEVICE_RDMA=1` (P4d/P4de/P5/P5e/P5en/P6-B200, `gpu.aws_efa_device_rdma`).
        max_restarts: whole-job restarts after a failure.
        ttl_seconds_after_finished: delete the JobSet (and its pods) this long after it finished; None keeps it.
        run_as_user: the non-root uid (and gid, fsGroup) of the training processes.
        tolerations: tolerations for running without Kueue (Kueue's flavor adds the pool's).
        node_selector: node selector for running without Kueue.

    Raises:
        pulumi.InputPropertiesError: every problem of the arguments, with its camelCase path.
    """
    problems = Problems()
    check_torch_jobset(
        problems,
        name=name,
        namespace=namespace,
        image=image,
        command=list(command) if isinstance(command, list | tuple) else command,
        args=list(args) if isinstance(args, list | tuple) else args,
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        cpu_per_node=cpu_per_node,
        memory_per_node=memory_per_node,
        shm_size=shm_size,
        scratch_size=scratch_size,
        queue_name=queue_name,
        service_account_name=service_account_name,
        pod_labels=pod_labels or {},
        env=env or {},
        efa_devices_per_node=efa_devices_per_node,
        efa_device_rdma=efa_device_rdma,
        max_restarts=max_restarts,
        ttl_seconds_after_finished=ttl_seconds_after_finished,
        run_as_user=run_as_user,
    )
    if tolerations is not None and not all(isinstance(t, Mapping) for t in tolerations):
        problems.add("tolerations", "must be a list of Kubernetes tolerations")
    if node_selector is not None:
        check_string_map(problems, "nodeSelector", node_selector)
    problems.raise_if_any(f"torch_jobset '{name}'")

    resources: dict[str, str] = {
        "cpu": str(cpu_per_node),
        "memory": str(memory_per_node),
        gpu.GPU_RESOURCE: str(gpus_per_node),
    }
    environment = {**NCCL_ENV, "HOME": SCRATCH_PATH}
    if efa_devices_per_node:
        resources[gpu.EFA_RESOURCE] = str(efa_devices_per_node)
        environment.update(EFA_ENV)
        if efa_device_rdma:
            environment.update(EFA_DEVICE_RDMA_ENV)
    environment.update(env or {})

    container = {
        "name": TRAINER_CONTAINER,
        "image": image,
        "command": ["torchrun"],
        "args": torchrun_arguments(name=name, nodes=nodes, gpus_per_node=gpus_per_node, command=command, args=args),
        "env": [{"name": key, "value": value} for key, value in environment.items()],
        "ports": [{"name": "rendezvous", "containerPort": RENDEZVOUS_PORT, "protocol": "TCP"}],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "volumeMounts": [
            {"name": SHM_VOLUME, "mountPath": "/dev/shm"},
            {"name": SCRATCH_VOLUME, "mountPath": SCRATCH_PATH},
        ],
        "securityContext": {
            **_values.RESTRICTED_CONTAINER_SECURITY_CONTEXT,
            "privileged": False,
            "runAsUser": run_as_user,
            "runAsGroup": run_as_user,
        },
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": service_account_name,
        # IRSA and Entra workload identity mount their own projected tokens; torchrun needs no Kubernetes API.
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": run_as_user,
            "runAsGroup": run_as_user,
            "fsGroup": run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": str(shm_size)}},
            {"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": str(scratch_size)}},
        ],
    }
    if tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in tolerations]
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)

    labels: dict[str, str] = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "training"}
    jobset_labels = dict(labels)
    if queue_name is not None:
        jobset_labels[_kueue.QUEUE_LABEL] = queue_name
    spec: dict[str, Any] = {
        "network": {"enableDNSHostnames": True, "publishNotReadyAddresses": True},
        "failurePolicy": {"maxRestarts": max_restarts},
        "successPolicy": {"operator": "All", "targetReplicatedJobs": [REPLICATED_JOB]},
        "replicatedJobs": [
            {
                "name": REPLICATED_JOB,
                "replicas": 1,
                "template": {
                    "spec": {
                        "completionMode": "Indexed",
                        "completions": nodes,
                        "parallelism": nodes,
                        "backoffLimit": 0,
                        "template": {
                            "metadata": {"labels": {**labels, **dict(pod_labels or {})}},
                            "spec": pod_spec,
                        },
                    }
                },
            }
        ],
    }
    if ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = ttl_seconds_after_finished
    return {
        "apiVersion": _jobset.API_VERSION,
        "kind": "JobSet",
        "metadata": {"name": name, "namespace": namespace, "labels": jobset_labels},
        "spec": spec,
    }
