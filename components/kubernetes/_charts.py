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
    """HTTPS chart repository URL."""
    chart: str
    """Chart name in that repository."""
    version: str
    """Exact chart version (never a range)."""
    source: str
    """Where this version was taken from."""


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

CHARTS: tuple[ChartRef, ...] = (
    GPU_OPERATOR,
    NVIDIA_DEVICE_PLUGIN,
    DCGM_EXPORTER,
    KUBE_PROMETHEUS_STACK,
    PROMETHEUS_OPERATOR_CRDS,
    ECK_OPERATOR,
    FLUENT_BIT,
)
"""Every chart the layer installs (the tests check each is an exact HTTPS pin)."""

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
) -> k8s.helm.v4.Chart:
    """Install `ref` as a `helm.v4.Chart` (see the module docstring for why v4).

    Args:
        resource_name: the Pulumi name, derived from the component name.
        ref: the pinned chart.
        release_name: the Helm release name (prefixes the rendered object names).
        namespace: the namespace the chart installs into.
        values: chart values, built by a pure function in `_values.py`.
        opts: resource options; must carry `parent`.
    """
    return k8s.helm.v4.Chart(
        resource_name,
        chart=ref.chart,
        version=ref.version,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=ref.repo),
        name=release_name,
        namespace=namespace,
        values=values if isinstance(values, pulumi.Output) else dict(values),
        opts=opts,
    )
