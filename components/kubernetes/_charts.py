"""Every Helm chart and container image the Kubernetes layer installs, pinned in one table.

Why `helm.v4.Chart` and not `helm.v3.Release`, for every chart here:

- A v4 Chart renders the chart (`helm template`) and registers each object as its own Pulumi resource, so
  the policy packs see every Deployment, DaemonSet and RBAC rule a chart brings, not one opaque release
  (CONTROLS.md HIPAA-SUPPLY-HELM flags v3 Releases for exactly this).
- The Kubernetes provider applies those objects with server-side apply (its default since v4), which is
  what kube-prometheus-stack's CRDs need: they exceed the 256 KiB `last-applied-configuration` annotation of
  client-side apply (prometheus-community/helm-charts#4756).
- Pulumi orders CRDs and namespaces before the objects that use them and awaits readiness, so a
  Prometheus, ClusterPolicy or Elasticsearch object never races its CRD.
- The price: Helm hooks are dropped, never applied. Chart v4 takes only the rendered manifest, not the
  release's hooks (pulumi-kubernetes `provider/pkg/provider/helm/v4/chart.go`; pulumi/pulumi-kubernetes#3284,
  "The helm.v4.Chart resource skips the hooks"). What that means for each chart here:
  - kube-prometheus-stack: its admission-webhook certificate Jobs are hooks, so the webhook is switched off
    (`_values.kube_prometheus_stack_values`); the rules are checked by promtool in the tests instead.
  - gpu-operator: `gpu-operator-upgrade-crd` (pre-upgrade) is not needed, Pulumi applies the chart's CRDs
    itself; `gpu-operator-cleanup-gpucluster` (pre-delete) does not run, and Node Feature Discovery's
    post-delete `…-node-feature-discovery-prune` Job does not either: after `pulumi destroy` the nodes keep
    NFD's `feature.node.kubernetes.io/*` labels (and the operator's `nvidia.com/*` labels). README,
    *Removing the GPU stack*, gives NFD's own documented prune command to run once the chart is gone.
  - grafana and fluent-bit: only their `helm test` Pods are hooks; nothing is lost.

Versions were current when gathered in ../shared/REFERENCE.md; each entry names its source. Upgrade by
changing one line here and re-running the tests (the values builders are tested against these charts' keys).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import _values


@dataclass(frozen=True)
class ChartRef:
    """Where a chart comes from and the exact version installed."""

    repo: str
    """HTTPS chart repository URL, or the OCI registry path (`oci://…`) of a publisher that ships its charts there."""
    chart: str
    """Chart name in that repository or registry path."""
    version: str
    """Exact chart version (never a range)."""
    source: str
    """Where this version was taken from."""

    @property
    def oci(self) -> bool:
        """The chart is pulled from an OCI registry (`helm.v4.Chart(chart="oci://…/<chart>")`, no repository)."""
        return self.repo.startswith("oci://")

    @property
    def reference(self) -> str:
        """What `helm.v4.Chart` takes as `chart`: the full `oci://…/<chart>` reference, or the name in `repo`."""
        return f"{self.repo.rstrip('/')}/{self.chart}" if self.oci else self.chart


GPU_OPERATOR = ChartRef(
    repo="https://helm.ngc.nvidia.com/nvidia",
    chart="gpu-operator",
    version="v26.7.0",
    source="REFERENCE.md 'Supporting chart facts': NVIDIA GPU operator latest tag v26.7.0 (controllers/state_manager.go)",
)
NVIDIA_DEVICE_PLUGIN = ChartRef(
    repo="https://nvidia.github.io/k8s-device-plugin",
    chart="nvidia-device-plugin",
    version="0.20.0",
    source="REFERENCE.md: NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin 0.20.0",
)
DCGM_EXPORTER = ChartRef(
    repo="https://nvidia.github.io/dcgm-exporter/helm-charts",
    chart="dcgm-exporter",
    version="4.8.2",
    source="REFERENCE.md: NVIDIA/dcgm-exporter standalone chart 4.8.2 (etc/default-counters.csv)",
)
KUBE_PROMETHEUS_STACK = ChartRef(
    repo="https://prometheus-community.github.io/helm-charts",
    chart="kube-prometheus-stack",
    version="88.5.3",
    source="REFERENCE.md: prometheus-community/helm-charts charts/kube-prometheus-stack 88.5.3 (app v0.93.1)",
)
PROMETHEUS_OPERATOR_CRDS = ChartRef(
    repo="https://prometheus-community.github.io/helm-charts",
    chart="prometheus-operator-crds",
    version="31.0.1",
    source="prometheus-community/helm-charts charts/prometheus-operator-crds/Chart.yaml 31.0.1 (app v0.93.1, the "
    "operator version kube-prometheus-stack 88.5.3 ships)",
)
ECK_OPERATOR = ChartRef(
    repo="https://helm.elastic.co",
    chart="eck-operator",
    version="3.5.0",
    source="REFERENCE.md: elastic/cloud-on-k8s deploy/eck-operator 3.5.0 (tag v3.5.0)",
)
FLUENT_BIT = ChartRef(
    repo="https://fluent.github.io/helm-charts",
    chart="fluent-bit",
    version="0.58.1",
    source="REFERENCE.md: fluent/helm-charts charts/fluent-bit 0.58.1 (app 5.1.1)",
)

# Karpenter publishes its charts to its own public ECR registry, and its docs install from there (v1.14
# getting-started `scripts/step08-apply-helm-chart.sh`: `oci://public.ecr.aws/karpenter/karpenter`; upgrading/
# upgrade-guide.md: `oci://public.ecr.aws/karpenter/karpenter-crd`); there is no HTTPS chart repository.
# The version is the release's: the `Stable Release updates Release v1.14.1.` commit (c88abbbad, branch
# release-v1.14.1) sets both Chart.yaml files and the controller image to 1.14.1; the CRDs and values keys are
# those of tag v1.14.1 (aws/karpenter-provider-aws).
KARPENTER_CRD = ChartRef(
    repo="oci://public.ecr.aws/karpenter",
    chart="karpenter-crd",
    version="1.14.1",
    source="aws/karpenter-provider-aws v1.14.1 charts/karpenter-crd (NodePool, NodeClaim, EC2NodeClass, NodeOverlay, "
    "CapacityBuffer CRDs as templates, so Pulumi upgrades them with the chart)",
)
KARPENTER = ChartRef(
    repo="oci://public.ecr.aws/karpenter",
    chart="karpenter",
    version="1.14.1",
    source="aws/karpenter-provider-aws v1.14.1 charts/karpenter (controller image public.ecr.aws/karpenter/controller "
    "1.14.1 by digest)",
)

CHARTS: tuple[ChartRef, ...] = (
    GPU_OPERATOR,
    NVIDIA_DEVICE_PLUGIN,
    DCGM_EXPORTER,
    KUBE_PROMETHEUS_STACK,
    PROMETHEUS_OPERATOR_CRDS,
    ECK_OPERATOR,
    FLUENT_BIT,
    KARPENTER_CRD,
    KARPENTER,
)
"""Every chart the layer installs (the tests check each is an exact pin over HTTPS or from an official OCI registry)."""

EKS_AMI_ALIASES: dict[str, str] = {
    # amazon-eks-ami release v20260520: Karpenter v1.14.1's own AMI end-to-end suite resolves this release's SSM
    # parameter (test/suites/ami/suite_test.go, `amazon-eks-node-al2023-x86_64-standard-<k8s>-v20260520`); the alias
    # format `al2023@vYYYYMMDD` is the docs' (website/content/en/v1.14/tasks/managing-amis.md).
    "al2023": "al2023@v20260520",
    # Bottlerocket v1.61.0 (released 2026-05-20, bottlerocket-os/bottlerocket#4843); k8s-1.34 variants, NVIDIA ones
    # included, exist since v1.47.0 (bottlerocket-os/bottlerocket#4620). Alias format `bottlerocket@v1.x.y`.
    "bottlerocket": "bottlerocket@v1.61.0",
}
"""The EKS-optimized AMI release each node OS family's EC2NodeClass selects (`amiSelectorTerms[].alias`), by family.

Pinned, never `@latest`: Karpenter re-resolves `@latest` every `settings.amiRefreshInterval` (1m) and marks nodes
drifted whenever AWS publishes an AMI, so nodes would be replaced on AWS's schedule (the v1.14 docs, *Managing
AMIs*, strongly recommend pinned aliases in production). With a pin, nodes change image only when this line changes; GPU pools then take the
new image as their nodes empty or expire, never by evicting a job (their NodePools budget drift to zero). One alias
covers every variant of the family: Karpenter picks the NVIDIA image for GPU instance types and the standard one
otherwise (pkg/providers/amifamily/al2023.go and bottlerocket.go, SSM paths per variant). The release must exist for
the cluster's Kubernetes version: bump it together with `kubernetes_version`."""

ELASTIC_STACK_VERSION = "9.5.0"
"""Elasticsearch and Kibana version ECK deploys (REFERENCE.md: eck-stack 0.20.0's eck-elasticsearch default)."""

CURL_IMAGE = "quay.io/curl/curl:8.15.0"
"""Image of the Job that applies the Elasticsearch lifecycle policy: the curl project's official image, published
to quay.io (an allowed vendor registry) as well as Docker Hub (`curlimages/curl`); runs as uid 100, ships /bin/sh.
Pulling it from quay.io keeps Docker Hub, where anyone can publish, off the registry allow-list."""

CURL_IMAGE_USER = 100
"""The non-root uid the curl image runs as (`curl_user`)."""

IMAGES: tuple[str, ...] = (CURL_IMAGE,)
"""Images the layer references directly (chart images are pinned by the chart versions above)."""


def security_context_transform(
    *, kind: str, name: str, pod_security_context: Mapping[str, Any], container_security_context: Mapping[str, Any]
) -> pulumi.ResourceTransform:
    """A `transforms` entry that sets the security contexts of one workload a chart renders without them.

    For charts that expose no value for it (the GPU operator's Deployment). The transform runs for every
    object the chart registers (Pulumi applies a component's `transforms` to the objects of a helm.v4.Chart
    too) and changes only the `kind` object named `name`: the pod's `securityContext` and that of each of
    its containers, merged over whatever the chart set.
    """

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.type_.endswith(f":{kind}"):
            return None
        props = harden_workload(
            args.props,
            name=name,
            pod_security_context=pod_security_context,
            container_security_context=container_security_context,
        )
        if props is None:
            return None
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return transform


def harden_workload(
    props: Mapping[str, Any],
    *,
    name: str,
    pod_security_context: Mapping[str, Any],
    container_security_context: Mapping[str, Any],
) -> dict[str, Any] | None:
    """`props` of a workload named `name` with the security contexts merged in; None for any other object."""
    metadata = props.get("metadata") or {}
    if metadata.get("name") != name:
        return None
    spec = dict(props.get("spec") or {})
    template = dict(spec.get("template") or {})
    pod = dict(template.get("spec") or {})
    pod["securityContext"] = {**(pod.get("securityContext") or {}), **pod_security_context}
    pod["containers"] = [
        {**container, "securityContext": {**(container.get("securityContext") or {}), **container_security_context}}
        for container in pod.get("containers") or []
    ]
    template["spec"] = pod
    spec["template"] = template
    return {**props, "spec": spec}


def gpu_operator_hardening_transform() -> pulumi.ResourceTransform:
    """The transform that runs the GPU operator Deployment non-root, read-only, without capabilities.

    Pass in the GPU operator chart's `transforms`, with `_values.gpu_operator_hardening_values()` merged
    into its values (its resources).
    """
    return security_context_transform(
        kind="Deployment",
        name="gpu-operator",
        pod_security_context=_values.GPU_OPERATOR_POD_SECURITY_CONTEXT,
        container_security_context=_values.GPU_OPERATOR_CONTAINER_SECURITY_CONTEXT,
    )


def helm_chart(
    resource_name: str,
    ref: ChartRef,
    *,
    release_name: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
    skip_crds: bool | None = None,
) -> k8s.helm.v4.Chart:
    """Install `ref` as a `helm.v4.Chart` (see the module docstring for why v4).

    Args:
        resource_name: the Pulumi name, derived from the component name.
        ref: the pinned chart.
        release_name: the Helm release name (prefixes the rendered object names).
        namespace: the namespace the chart installs into.
        values: chart values, built by a pure function in `_values.py`.
        opts: resource options; must carry `parent`.
        skip_crds: leave out the chart's `crds/` directory, when a separate CRD chart installs (and, unlike Helm's
            `crds/`, upgrades) them. Defaults to the chart installing its CRDs.
    """
    return k8s.helm.v4.Chart(
        resource_name,
        chart=ref.reference,
        version=ref.version,
        # An OCI chart is addressed by its full reference; Helm takes no repository for it.
        repository_opts=None if ref.oci else k8s.helm.v4.RepositoryOptsArgs(repo=ref.repo),
        name=release_name,
        namespace=namespace,
        values=values if isinstance(values, pulumi.Output) else dict(values),
        skip_crds=skip_crds,
        opts=opts,
    )
