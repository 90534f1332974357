"""The JobSet controller's chart values, names and network policies, as pure functions (kubernetes-sigs/jobset v0.12.0).

Facts read at tag v0.12.0 (cited per constant): `charts/jobset/values.yaml` and its templates
(`templates/_helpers.tpl`, `controller/{deployment,configmap,pod_disruption_budget}.yaml`, `webhook/*`,
`internalcert/secret.yaml`, `prometheus/*`), `hack/helm-chart-package.sh` (what the published chart's values say),
`Dockerfile` (the image's user) and `main.go` / `api/config/v1alpha1/defaults.go` (ports).
"""

from collections.abc import Mapping
from typing import Any

import pulumi

from components._common import gpu
from components._common.pools import PLATFORM_POOL_ROLE, POOL_ROLE_LABEL
from components._common.tags import TIER_LABEL
from components.kubernetes import _platform_policies, _values

API_VERSION = "jobset.x-k8s.io/v1alpha2"
"""The JobSet API version, the only one served and stored by the CRD at v0.12.0."""

RELEASE = "jobset"
"""The Helm release name: `jobset.fullname` is then `jobset` (the release contains the chart name), so the
controller is the Deployment `jobset-controller` and the webhook Service `jobset-webhook-service`. JobSet's CRD and
webhook configurations are cluster-wide (`jobset-{mutating,validating}-webhook-configuration`): one per cluster."""

CONTROLLER_PODS: dict[str, str] = {
    "app.kubernetes.io/name": "jobset",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "controller",
}
"""The controller's pod labels (`jobset.controller.selectorLabels` in templates/controller/_helpers.tpl)."""

WEBHOOK_PORT = 9443
"""The webhook server's container port (templates/controller/deployment.yaml `webhook`; Service port 443 -> it)."""
METRICS_PORT = 8443
"""The controller's HTTPS metrics port, behind controller-runtime's authentication and authorization filter
(main.go `--metrics-bind-address` default `:8443`, `filters.WithAuthenticationAndAuthorization`)."""
HEALTH_PORT = 8081

CONTROLLER_UID = 65532
"""The uid the controller image runs as (Dockerfile at v0.12.0: distroless `static:nonroot`, `USER 65532:65532`)."""

WEBHOOK_CERT_SECRET = f"{RELEASE}-webhook-server-cert"
"""The Secret the chart renders for the webhook certificate (templates/internalcert/secret.yaml) with empty
`ca.crt`, `ca.key`, `tls.crt` and `tls.key`, which the controller's certificate rotator then fills."""

CONTROLLER_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "500m", "memory": "128Mi"},
    "limits": {"cpu": "2", "memory": "4Gi"},
}
"""The chart's own sizing, stated (values.yaml `controller.resources` at v0.12.0): the controller caches every Job
and JobSet of the cluster, and the memory limit only bounds a leak."""

JOB_SET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
"""The label JobSet puts on every child Job and pod, and the headless Service's selector (api/jobset/v1alpha2
`JobSetNameKey`)."""


def jobset_values(
    *,
    node_selector: Mapping[str, str] | None = None,
    replicas: int = 2,
    metrics_scrape: bool = False,
    monitoring_namespace: str = "monitoring",
) -> dict[str, Any]:
    """Values of JobSet's chart (kubernetes-sigs/jobset v0.12.0 `charts/jobset/values.yaml`).

    Two controller replicas, leader-elected (`controller.leaderElection.enable`, the chart's default, stated): the
    webhooks run in every replica and fail closed (`failurePolicy: Fail` on JobSet and pod creation), so a single
    replica being drained would block every JobSet in the cluster; a PodDisruptionBudget keeps one up, and a
    preferred anti-affinity spreads them over nodes (the chart has no topologySpreadConstraints value). Non-root
    (uid 65532), read-only root filesystem, no capabilities, RuntimeDefault seccomp (Pod Security `restricted`).
    cert-manager stays off: the controller issues its own webhook certificate (`internalCertManagement`).

    Args:
        node_selector: where the controller runs; defaults to the platform pool.
        replicas: controller replicas.
        metrics_scrape: render the chart's metrics Service and ServiceMonitor (needs the Prometheus operator CRDs);
            the metrics endpoint authorizes the scraper's token (the Prometheus of kube-prometheus-stack may `get`
            the `/metrics` URL).
        monitoring_namespace: Prometheus' namespace (the chart's `prometheus.prometheusNamespace`).
    """
    selector = dict(node_selector) if node_selector is not None else {POOL_ROLE_LABEL: PLATFORM_POOL_ROLE}
    return {
        # The published chart already points at registry.k8s.io/jobset/jobset:v0.12.0 (hack/helm-chart-package.sh).
        "image": {"pullPolicy": "IfNotPresent"},
        "controller": {
            "replicas": replicas,
            "leaderElection": {"enable": True},
            "resources": {key: dict(value) for key, value in CONTROLLER_RESOURCES.items()},
            "securityContext": dict(_values.RESTRICTED_CONTAINER_SECURITY_CONTEXT),
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": CONTROLLER_UID,
                "runAsGroup": CONTROLLER_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "nodeSelector": selector,
            # Only the AKS system pool's taint; never a GPU taint: the controller does not belong on a GPU node.
            "tolerations": [{"key": gpu.CRITICAL_ADDONS_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": dict(CONTROLLER_PODS)},
                            },
                        }
                    ]
                }
            },
            "hostNetwork": False,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        },
        "certManager": {"enable": False},
        "prometheus": {"enable": metrics_scrape, "prometheusNamespace": monitoring_namespace},
    }


JOBSET_VALUES_KEYS: frozenset[str] = frozenset(
    {
        "image.pullPolicy",
        "controller.replicas",
        "controller.leaderElection.enable",
        "controller.resources*",
        "controller.securityContext*",
        "controller.podSecurityContext*",
        "controller.nodeSelector*",
        "controller.tolerations*",
        "controller.affinity*",
        "controller.hostNetwork",
        "controller.podDisruptionBudget.enabled",
        "controller.podDisruptionBudget.minAvailable",
        "certManager.enable",
        "prometheus.enable",
        "prometheus.prometheusNamespace",
    }
)
"""Every values key `jobset_values` sets, each read in `charts/jobset/values.yaml` and used by
`templates/controller/deployment.yaml`, `configmap.yaml`, `pod_disruption_budget.yaml`, `internalcert/secret.yaml`,
`certmanager/*` and `prometheus/*` at tag v0.12.0 (kubernetes-sigs/jobset). A `*` key is copied whole into the
object. Extend only after reading the chart at the pinned version."""


def network_policies(*, metrics_scrape: bool) -> dict[str, dict[str, Any]]:
    """Policies of the JobSet controller's namespace: the API server out, the API server in on the webhook port.

    The controller watches JobSets, Jobs, pods and Services and writes its webhook certificate, all through the API
    server; the API server calls its webhooks (every JobSet create/update, every JobSet pod create). With
    `metrics_scrape`, Prometheus (any namespace of the monitoring tier) reaches the metrics port. Nothing else.
    """
    policies: dict[str, dict[str, Any]] = {
        _platform_policies.DEFAULT_DENY_POLICY: _platform_policies.default_deny(),
        "allow-dns": _platform_policies.dns_egress(),
        "allow-controller-kube-api": _platform_policies.kube_api_egress(CONTROLLER_PODS),
        # The API server's webhook call arrives from control-plane addresses (no selector; _platform_policies).
        "allow-webhook-from-api-server": {
            "podSelector": {"matchLabels": dict(CONTROLLER_PODS)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}],
        },
    }
    if metrics_scrape:
        policies["allow-prometheus-scrape"] = {
            "podSelector": {"matchLabels": dict(CONTROLLER_PODS)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {TIER_LABEL: _platform_policies.MONITORING_TIER}},
                            "podSelector": {"matchLabels": dict(_platform_policies.PROMETHEUS_PODS)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
                }
            ],
        }
    return policies


def webhook_secret_transform() -> pulumi.ResourceTransform:
    """A chart `transforms` entry that applies the webhook certificate Secret without its empty `data`.

    The chart renders the Secret with four empty keys for the controller to fill. Applied as is, Pulumi would own
    those fields and write them back empty whenever the Secret changes (every chart upgrade changes its labels),
    breaking the webhooks until the rotator notices; without `data`, Pulumi owns the Secret's metadata only and the
    controller its content.
    """

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.type_.endswith(":Secret"):
            return None
        props = strip_webhook_secret_data(args.props)
        if props is None:
            return None
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return transform


def strip_webhook_secret_data(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """`props` of the webhook certificate Secret without `data`/`stringData`; None for any other object."""
    if (props.get("metadata") or {}).get("name") != WEBHOOK_CERT_SECRET:
        return None
    return {key: value for key, value in props.items() if key not in ("data", "stringData")}
