"""Configuration settings shared by several rules, with defaults taken from the platform's own constants."""

from __future__ import annotations

from typing import Any

from components._common.limits import (
    DEFAULT_MAX_LOG_RETENTION_DAYS,
    DEFAULT_MAX_RETENTION_DAYS,
    DEFAULT_MIN_LOG_RETENTION_DAYS,
    PLATFORM_SYSTEM_NAMESPACES,
)
from components._common.regions import EU_AWS_REGIONS, EU_AZURE_LOCATIONS
from policies.rules.base import Setting

DEFAULT_SYSTEM_NAMESPACES = PLATFORM_SYSTEM_NAMESPACES
"""Platform namespaces whose node-agent DaemonSets need host access (device plugin, DCGM, exporters, shippers)."""

_EU_ECR = "|".join(region.replace("-", r"\-") for region in EU_AWS_REGIONS)
DEFAULT_ALLOWED_REGISTRIES: tuple[str, ...] = (
    rf"[0-9]{{12}}\.dkr\.ecr\.({_EU_ECR})\.amazonaws\.com",
    r"[a-z0-9]{5,50}\.azurecr\.io",
)
"""The platform's own registries: ECR in an EU region, and ACR."""

DEFAULT_VENDOR_REGISTRIES: tuple[str, ...] = (
    r"nvcr\.io",
    r"registry\.k8s\.io",
    r"quay\.io",
    r"docker\.elastic\.co",
    r"cr\.fluentbit\.io",
    r"public\.ecr\.aws",
    # KEDA publishes only to GitHub's registry, where anyone can publish: allow its organisation, not the host.
    r"ghcr\.io/kedacore/[a-z0-9-]+",
    # Envoy Gateway's controller and proxy images are on Docker Hub, where anyone can publish: the Envoy project's
    # organisation only (docker.io/envoyproxy/gateway, docker.io/envoyproxy/envoy).
    r"docker\.io/envoyproxy/[a-z0-9-]+",
    # MLflow publishes its server images to GitHub's registry: the project's organisation only.
    r"ghcr\.io/mlflow/[a-z0-9-]+",
)
"""Vendor registries of the pinned platform components (NVIDIA, Kubernetes, Prometheus, Elastic, Fluent Bit,
KEDA, Envoy Gateway, cert-manager, MLflow): a host, or `host/repository` for a shared host."""

DEFAULT_CHART_REPOSITORIES: tuple[str, ...] = (
    "https://nvidia.github.io/k8s-device-plugin",
    "https://nvidia.github.io/dcgm-exporter/helm-charts",
    "https://helm.ngc.nvidia.com/nvidia",
    "https://prometheus-community.github.io/helm-charts",
    "https://grafana.github.io/helm-charts",
    "https://grafana-community.github.io/helm-charts",
    "https://helm.elastic.co",
    "https://fluent.github.io/helm-charts",
    "https://kubernetes-sigs.github.io/metrics-server",
    "https://kedacore.github.io/charts",
    "https://aws.github.io/eks-charts",
    "https://charts.jetstack.io",
    "oci://public.ecr.aws/karpenter",
    "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
    "https://aws.github.io/secrets-store-csi-driver-provider-aws",
    "oci://docker.io/envoyproxy",
    "oci://registry.k8s.io/kueue/charts",
    "oci://registry.k8s.io/jobset/charts",
    "https://argoproj.github.io/argo-helm",
)
"""Chart repositories of the components the platform pins (REFERENCE.md); extend with `allowedChartRepos`."""


def _array(description: str, default: list[Any]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": description}


ALLOWED_REGIONS = Setting(
    "allowedRegions",
    _array(
        "AWS regions resources and replicas may be in (GDPR Art. 44-46). Defaults to the EU regions.",
        list(EU_AWS_REGIONS),
    ),
)
ALLOWED_LOCATIONS = Setting(
    "allowedLocations",
    _array(
        "Azure locations (lower case, no spaces) resources and replicas may be in. Defaults to the EU locations.",
        list(EU_AZURE_LOCATIONS),
    ),
)
MAX_RETENTION_DAYS = Setting(
    "maxRetentionDays",
    {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1},
        "default": dict(DEFAULT_MAX_RETENTION_DAYS),
        "description": "Retention ceiling in days per data classification (phi, pii, confidential, internal, public).",
    },
)
MIN_LOG_RETENTION_DAYS = Setting(
    "minLogRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_MIN_LOG_RETENTION_DAYS,
        "description": "Shortest retention of audit logs in days.",
    },
)
MAX_LOG_RETENTION_DAYS = Setting(
    "maxLogRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_MAX_LOG_RETENTION_DAYS,
        "description": "Longest retention of logs in days (storage limitation).",
    },
)
SYSTEM_NAMESPACES = Setting(
    "systemNamespaces",
    _array(
        "Platform namespaces whose DaemonSets are node agents that may use host access and run privileged.",
        list(DEFAULT_SYSTEM_NAMESPACES),
    ),
)
SERVING_NAMESPACES = Setting(
    "servingNamespaces",
    _array(
        "Namespaces treated as serving namespaces in addition to those recognised by structure (a Gateway API "
        "route's backend, an Ingress, a KServe InferenceService) or labelled mlplatform.io/tier=serving "
        "(for namespaces created outside this stack).",
        [],
    ),
)
ALLOWED_REGISTRIES = Setting(
    "allowedRegistries",
    _array(
        "Registry hosts (regular expressions, full match) every workload may pull from. Defaults to ECR in "
        "an EU region and ACR.",
        list(DEFAULT_ALLOWED_REGISTRIES),
    ),
)
VENDOR_REGISTRIES = Setting(
    "vendorRegistries",
    _array(
        "Further registries allowed outside serving namespaces, for pinned vendor components: regular "
        "expressions that fully match the registry host, or `host/repository` for one publisher on a shared host.",
        list(DEFAULT_VENDOR_REGISTRIES),
    ),
)
