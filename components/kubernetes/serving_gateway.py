"""`ServingGateway`: the private HTTPS entry to every served model (Gateway API on Envoy Gateway, cert-manager TLS)."""

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components._common import gateway, pools
from components._common.tags import TIER_LABEL
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _platform_policies, _values
from components.kubernetes._checks import (
    check_bool,
    check_choice,
    check_int,
    check_known_arguments,
    check_object_name,
    check_string_map,
)
from components.kubernetes._namespaces import (
    NAMESPACE_NAME_LABEL,
    check_extra_labels,
    check_namespace_name,
    create_namespace,
)

CLOUDS: tuple[str, ...] = ("aws", "azure", "kubernetes")

DEFAULT_NAMESPACE = gateway.GATEWAY_NAMESPACE
DEFAULT_CERT_MANAGER_NAMESPACE = "cert-manager"
DEFAULT_PUBLIC = False
DEFAULT_PUBLIC_SOURCE_CIDRS: list[str] = []
DEFAULT_PROXY_REPLICAS = 2
DEFAULT_NODE_SELECTOR: dict[str, str] = pools.platform_pool_labels()
DEFAULT_SERVICE_MONITOR = False
DEFAULT_PROTECT = False

GATEWAY_CLASS_NAME = "mlplatform-serving"
"""The GatewayClass (cluster-wide) that binds the serving Gateway to Envoy Gateway and its EnvoyProxy."""
ENVOY_PROXY_NAME = "serving-proxy"
"""The EnvoyProxy resource: how Envoy Gateway runs the proxies (replicas, placement, the load balancer Service)."""
PROXY_SERVICE_NAME = "envoy-serving"
"""The proxies' Service (fixed through `envoyService.name`, so the in-cluster address is known in advance)."""
TLS_SECRET_NAME = "serving-gateway-tls"
"""The Secret cert-manager writes the serving certificate to; the HTTPS listener's `certificateRefs`."""
CA_ISSUER_NAME = "mlplatform-serving-ca"
"""The ClusterIssuer that signs serving certificates with the platform's private CA."""
CA_SECRET_NAME = "mlplatform-serving-ca"
"""The CA's key pair, in cert-manager's namespace (where a ClusterIssuer reads its Secrets)."""
CERT_MANAGER_RELEASE = "cert-manager"
"""cert-manager's release name (its objects and pod labels use it; `_platform_policies` selects by it)."""
ENVOY_GATEWAY_RELEASE = "envoy-gateway"
"""Envoy Gateway's release name (the controller Deployment and Service are `envoy-gateway` whatever it is)."""
CLUSTER_DOMAIN = "cluster.local"

CA_VALIDITY_HOURS = 10 * 365 * 24
"""The private CA lives ten years; clients install its certificate once (`ca_certificate`)."""
CA_EARLY_RENEWAL_HOURS = 365 * 24
"""Pulumi replaces the CA in its last year, leaving a year to roll the new certificate out to clients."""
SERVING_CERT_DURATION = "2160h"
"""Serving certificates live 90 days (cert-manager's default, stated)..."""
SERVING_CERT_RENEW_BEFORE = "720h"
"""...and are renewed, with a new key, 30 days before they expire; Envoy picks the new Secret up live."""
CONTROL_PLANE_CERT_DURATION = "8760h"
"""The xDS certificates between controller and proxies live a year, renewed a month ahead. The controller reloads
its key pair on every handshake (envoyproxy/gateway v1.9.0 `internal/crypto/cert_load.go`, `GetConfigForClient`)."""

WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
"""pulumi-kubernetes (>= 4.18) waits for this condition before the resource counts as created, so whatever depends
on a Certificate starts only once its Secret exists."""

ANNOTATION_AWS_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
ANNOTATION_AWS_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
ANNOTATION_AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
ANNOTATION_AZURE_INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal"

_DOMAIN_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ServingGatewayArgs(TypedDict, total=False):
    """Arguments of `ServingGateway`."""

    domain: Required[str]
    """DNS domain models are served under, e.g. `models.internal.example`: model `ranker` of namespace `search` is
    `https://ranker.search.models.internal.example`. Point a private DNS zone's `*.<namespace>.<domain>` records
    at the gateway's load balancer. Required."""

    serving_namespaces: Required[list[str]]
    """Serving namespaces (`ModelServingNamespace`) whose routes may attach to the gateway; the certificate covers
    `*.<namespace>.<domain>` for each. Routes of any other namespace are refused. Required (at least one)."""

    cloud: Required[str]
    """Where the cluster runs, which decides the load balancer: `aws` (an internal Network Load Balancer), `azure`
    (an internal Azure load balancer) or `kubernetes` (an existing cluster: a ClusterIP Service, reached from
    inside the cluster or through a load balancer you add). Required."""

    public: bool
    """Expose the gateway on a public load balancer. Only with `public_source_cidrs`; the policy packs flag it.
    Defaults to false (internal)."""

    public_source_cidrs: list[str]
    """Client CIDRs a public load balancer admits (`loadBalancerSourceRanges`), never 0.0.0.0/0 or ::/0. Required
    when `public`, refused otherwise. Defaults to none."""

    namespace: str
    """Namespace of the Gateway, the Envoy Gateway controller and the Envoy proxies (Pod Security `restricted`).
    Defaults to serving-gateway."""

    cert_manager_namespace: str
    """Namespace of cert-manager (Pod Security `restricted`); the private CA's key is kept there. Defaults to
    cert-manager."""

    issuer: str
    """Name of an existing cert-manager ClusterIssuer that signs the serving certificate instead of the platform's
    private CA (ACME with DNS-01 for the wildcards, AWS Private CA or Key Vault through their issuers); the
    cert-manager controller may then send HTTPS anywhere. Defaults to the platform's private CA."""

    proxy_replicas: int
    """Envoy proxy replicas (spread over nodes, with a PodDisruptionBudget). Defaults to 2."""

    node_selector: dict[str, str]
    """Node labels the controllers and proxies select: the platform pool's, or `{}` on a cluster without one.
    Defaults to {"mlplatform.io/pool-role": "platform"}."""

    service_monitor: bool
    """Scrape cert-manager (its chart's ServiceMonitor) and the Envoy proxies' per-route request metrics (a
    PodMonitor); needs the Prometheus operator CRDs. Defaults to false."""

    service_monitor_labels: pulumi.Input[dict[str, str]]
    """Extra labels on that ServiceMonitor and PodMonitor (`Monitoring.service_monitor_labels`). Defaults to none."""

    namespace_labels: dict[str, str]
    """Extra labels on both namespaces (e.g. the GDPR record-of-processing labels); cannot override the tier or
    Pod Security labels. Defaults to none."""

    protect: bool
    """Protect the charts (their CRDs: deleting them deletes every Gateway, route and Certificate in the cluster)
    and the private CA against `pulumi destroy`, and keep them when removed from the program. Set in prod.
    Defaults to false."""


class ServingGateway(pulumi.ComponentResource):
    """The private HTTPS entry to the served models: one Gateway API Gateway on Envoy Gateway, certificates from cert-manager.

    Envoy Gateway on both clouds, so one implementation serves EKS and AKS and every canary is an HTTPRoute
    weight; ingress-nginx is retired upstream. Routes attach to the Gateway `serving` (`components._common.gateway`).

    Creates:
    - cert-manager's namespace and chart (CRDs, controller, two webhook replicas with a PodDisruptionBudget, CA
      injector), on the platform pool;
    - the platform's private CA (ECDSA P-256, ten years; the certificate is the `ca_certificate` output) and a CA
      ClusterIssuer, unless `issuer` names an existing one;
    - the gateway namespace and Envoy Gateway's chart (CRDs incl. Gateway API v1.6.1, two leader-elected controller
      replicas), with its xDS mTLS certificates from a namespaced cert-manager CA and its HMAC Secret;
    - an EnvoyProxy (proxy replicas, placement, the internal load balancer Service), a GatewayClass referencing it,
      and the Gateway: one HTTPS listener on 443, TLS terminated with a cert-manager certificate
      (`*.<namespace>.<domain>` per serving namespace, 90 days, renewed with a new key), routes allowed from the
      listed serving namespaces only;
    - NetworkPolicies: default deny in both namespaces; the proxies take HTTPS from anywhere and send only to
      serving namespaces, DNS and the controller's xDS; controllers reach the API server; the API server reaches
      cert-manager's webhook.

    Security defaults: internal load balancer (public only with `public` and a source allow-list, never the whole
    internet); TLS on every listener, no plain-HTTP listener; every pod non-root with RuntimeDefault seccomp, no
    capabilities and no privilege escalation (Pod Security `restricted`); serving namespaces admit the proxies only.
    """

    gateway_name: pulumi.Output[str]
    """Name of the Gateway routes attach to."""

    gateway_namespace: pulumi.Output[str]
    """Namespace of the Gateway (a route's parentRef namespace)."""

    listener_name: pulumi.Output[str]
    """The HTTPS listener (a route's parentRef `sectionName`)."""

    gateway_class_name: pulumi.Output[str]
    """The GatewayClass of the Gateway."""

    domain: pulumi.Output[str]
    """The domain models are served under (`https://<model>.<namespace>.<domain>`)."""

    ca_certificate: pulumi.Output[str]
    """PEM certificate of the CA that signs the serving certificate, for clients to trust (public; empty when an
    existing `issuer` signs)."""

    address: pulumi.Output[str]
    """In-cluster DNS name of the proxies' Service; the load balancer's own address is on the Gateway's
    `status.addresses` once the cloud assigns it."""

    issuer_name: pulumi.Output[str]
    """The ClusterIssuer that signs the serving certificate."""

    def __init__(self, name: str, args: ServingGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        domain = args.get("domain")
        serving_namespaces = args.get("serving_namespaces")
        cloud = args.get("cloud")
        public = args.get("public", DEFAULT_PUBLIC)
        public_source_cidrs = args.get("public_source_cidrs", DEFAULT_PUBLIC_SOURCE_CIDRS)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        cert_manager_namespace = args.get("cert_manager_namespace", DEFAULT_CERT_MANAGER_NAMESPACE)
        issuer = args.get("issuer")
        proxy_replicas = args.get("proxy_replicas", DEFAULT_PROXY_REPLICAS)
        node_selector = args.get("node_selector", DEFAULT_NODE_SELECTOR)
        service_monitor = args.get("service_monitor", DEFAULT_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels")
        namespace_labels = args.get("namespace_labels", {})
        protect = args.get("protect", DEFAULT_PROTECT)

        problems = Problems()
        check_known_arguments(problems, args, ServingGatewayArgs)
        check_domain(problems, "domain", domain)
        check_serving_namespaces(problems, "servingNamespaces", serving_namespaces)
        check_choice(problems, "cloud", cloud, CLOUDS)
        check_bool(problems, "public", public)
        check_public_source_cidrs(problems, "publicSourceCidrs", public_source_cidrs, public=public is True)
        check_namespace_name(problems, "namespace", namespace)
        check_namespace_name(problems, "certManagerNamespace", cert_manager_namespace)
        if namespace == cert_manager_namespace:
            problems.add("certManagerNamespace", "must differ from namespace (each has its own policies)")
        if isinstance(serving_namespaces, list) and namespace in serving_namespaces:
            problems.add("namespace", "must not be a serving namespace: the gateway is the serving namespaces' ingress")
        if issuer is not None:
            check_object_name(problems, "issuer", issuer)
        check_int(problems, "proxyReplicas", proxy_replicas, minimum=1, maximum=50)
        check_string_map(problems, "nodeSelector", node_selector)
        check_bool(problems, "serviceMonitor", service_monitor)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        check_bool(problems, "protect", protect)
        problems.raise_if_any(f"ServingGateway '{name}'")

        super().__init__("mlplatform:index:ServingGateway", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)

        # --- cert-manager -------------------------------------------------------------------------------
        cm_ns = create_namespace(
            f"{name}-cert-manager-namespace",
            cert_manager_namespace,
            tier=_platform_policies.CERTIFICATES_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-cert-manager-netpol",
            cm_ns.metadata.name,
            _platform_policies.cert_manager_network_policies(
                external_issuer=issuer is not None, metrics_scrape=bool(service_monitor)
            ),
            parent=self,
        )
        cert_manager = _charts.helm_chart(
            f"{name}-cert-manager",
            _charts.CERT_MANAGER,
            release_name=CERT_MANAGER_RELEASE,
            namespace=cm_ns.metadata.name,
            values=_values.cert_manager_values(
                namespace=cert_manager_namespace,
                node_selector=node_selector,
                service_monitor=bool(service_monitor),
                service_monitor_labels=monitor_labels,
            ),
            opts=kept,
        )
        after_cert_manager = pulumi.ResourceOptions(parent=self, depends_on=[cert_manager])

        # --- The serving CA and issuer ------------------------------------------------------------------
        if issuer is None:
            issuer_name = CA_ISSUER_NAME
            self.ca_certificate = self._private_ca(name, cm_ns.metadata.name, after_cert_manager, kept)
        else:
            issuer_name = issuer
            self.ca_certificate = pulumi.Output.from_input("")

        # --- Envoy Gateway: namespace, control-plane certificates, chart ---------------------------------
        gw_ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=_platform_policies.GATEWAY_TIER,
            enforce="restricted",
            extra_labels=namespace_labels,
            parent=self,
        )
        _platform_policies.create_network_policies(
            f"{name}-netpol",
            gw_ns.metadata.name,
            _platform_policies.gateway_network_policies(metrics_scrape=bool(service_monitor)),
            parent=self,
        )
        control_plane = self._control_plane_pki(name, namespace, gw_ns.metadata.name, after_cert_manager)
        envoy_gateway = _charts.helm_chart(
            f"{name}-envoy-gateway",
            _charts.ENVOY_GATEWAY,
            release_name=ENVOY_GATEWAY_RELEASE,
            namespace=gw_ns.metadata.name,
            values=_values.envoy_gateway_values(node_selector=node_selector),
            # The controller mounts the `envoy-gateway` Secret and reads the HMAC Secret at start.
            opts=pulumi.ResourceOptions(
                parent=self, protect=protect, retain_on_delete=protect, depends_on=control_plane
            ),
        )
        after_envoy_gateway = pulumi.ResourceOptions(parent=self, depends_on=[envoy_gateway])

        # --- The serving certificate, proxy configuration, class and Gateway -----------------------------
        k8s.apiextensions.CustomResource(
            f"{name}-tls",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": TLS_SECRET_NAME, "namespace": gw_ns.metadata.name},
            spec=serving_certificate_spec(
                domain=str(domain), serving_namespaces=list(serving_namespaces), issuer=issuer_name
            ),
            opts=after_cert_manager,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-envoy-proxy",
            api_version="gateway.envoyproxy.io/v1alpha1",
            kind="EnvoyProxy",
            metadata={"name": ENVOY_PROXY_NAME, "namespace": gw_ns.metadata.name},
            spec=envoy_proxy_spec(
                cloud=str(cloud),
                public=public is True,
                public_source_cidrs=list(public_source_cidrs),
                replicas=int(proxy_replicas),
                node_selector=dict(node_selector),
            ),
            opts=after_envoy_gateway,
        )
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-gateway-class",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata={"name": GATEWAY_CLASS_NAME},
            spec=gateway_class_spec(namespace),
            opts=after_envoy_gateway,
        )
        gateway_annotations = {} if cloud == "kubernetes" else {WAIT_FOR_ANNOTATION: "condition=Programmed"}
        serving_gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={
                "name": gateway.GATEWAY_NAME,
                "namespace": gw_ns.metadata.name,
                "annotations": gateway_annotations,
            },
            spec=gateway_spec(domain=str(domain), serving_namespaces=list(serving_namespaces)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy_gateway, gateway_class]),
        )
        if service_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-proxy-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={"name": "envoy-proxies", "namespace": gw_ns.metadata.name, "labels": monitor_labels or {}},
                spec=proxy_pod_monitor_spec(namespace),
                opts=child,
            )

        # Known names, carried through the resources so that whoever uses them waits for the objects.
        self.gateway_name = serving_gateway.urn.apply(lambda _: gateway.GATEWAY_NAME)
        self.gateway_namespace = gw_ns.metadata.name
        self.listener_name = pulumi.Output.from_input(gateway.HTTPS_LISTENER)
        self.gateway_class_name = gateway_class.urn.apply(lambda _: GATEWAY_CLASS_NAME)
        self.domain = pulumi.Output.from_input(str(domain))
        self.address = pulumi.Output.from_input(f"{PROXY_SERVICE_NAME}.{namespace}.svc.{CLUSTER_DOMAIN}")
        self.issuer_name = pulumi.Output.from_input(issuer_name)
        self.register_outputs(
            {
                "gatewayName": self.gateway_name,
                "gatewayNamespace": self.gateway_namespace,
                "listenerName": self.listener_name,
                "gatewayClassName": self.gateway_class_name,
                "domain": self.domain,
                "caCertificate": self.ca_certificate,
                "address": self.address,
                "issuerName": self.issuer_name,
            }
        )

    def _private_ca(
        self,
        name: str,
        cert_manager_namespace: pulumi.Input[str],
        after_cert_manager: pulumi.ResourceOptions,
        kept: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """The platform's serving CA and its ClusterIssuer; returns the CA certificate (PEM).

        The key pair is made here, as `Logging` makes its HTTP CA, rather than by a self-signed cert-manager
        Certificate: its certificate is then an output clients can trust from the first `pulumi up`, without reading
        a Secret (which holds the key) back into the state. The key is a Pulumi secret in the state and sits in one
        Secret of cert-manager's namespace, which only cert-manager reads.
        """
        key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=kept)
        certificate = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="ML platform serving CA", organization="mlplatform"),
            validity_period_hours=CA_VALIDITY_HOURS,
            early_renewal_hours=CA_EARLY_RENEWAL_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=kept,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-ca",
            metadata={"name": CA_SECRET_NAME, "namespace": cert_manager_namespace},
            type="kubernetes.io/tls",
            string_data={"tls.crt": certificate.cert_pem, "tls.key": pulumi.Output.secret(key.private_key_pem)},
            opts=kept,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-ca-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": CA_ISSUER_NAME},
            spec=ca_issuer_spec(CA_SECRET_NAME),
            opts=pulumi.ResourceOptions.merge(after_cert_manager, pulumi.ResourceOptions(depends_on=[secret])),
        )
        return certificate.cert_pem

    def _control_plane_pki(
        self, name: str, namespace: str, ns_name: pulumi.Input[str], after_cert_manager: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Envoy Gateway's xDS mTLS certificates and HMAC Secret, which its certgen hook Job would have made.

        A namespaced self-signed Issuer roots a CA, a CA Issuer signs the three certificates under the Secret names
        the controller and proxies mount (envoyproxy/gateway v1.9.0 `internal/provider/kubernetes/secrets.go`
        `CertsToSecret`; site/content/en/v1.9/install/custom-cert.md). Returns what the chart must wait for.
        """
        created: list[pulumi.Resource] = []
        # One chain, no more: self-signed issuer -> CA certificate -> CA issuer -> the leaf certificates, which
        # need only their issuer (not each other).
        last: dict[str, pulumi.Resource] = {}
        for spec in control_plane_pki(namespace):
            waits_for = last.get("Certificate" if spec["kind"] == "Issuer" else "Issuer")
            resource = k8s.apiextensions.CustomResource(
                f"{name}-xds-{spec['kind'].lower()}-{spec['metadata']['name']}",
                api_version="cert-manager.io/v1",
                kind=spec["kind"],
                metadata={**spec["metadata"], "namespace": ns_name},
                spec=spec["spec"],
                opts=pulumi.ResourceOptions.merge(
                    after_cert_manager, pulumi.ResourceOptions(depends_on=[waits_for] if waits_for else [])
                ),
            )
            if spec["kind"] == "Certificate":
                created.append(resource)  # the chart mounts the certificates' Secrets (their issuers come first)
            last[spec["kind"]] = resource
        # 32 random bytes in certgen (`internal/crypto/certgen.go` `generateHMACSecret`); 43 alphanumerics carry
        # as much entropy (log2(62) * 43 > 256 bits).
        hmac = random.RandomPassword(
            f"{name}-oidc-hmac", length=43, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        created.append(
            k8s.core.v1.Secret(
                f"{name}-oidc-hmac",
                metadata={"name": "envoy-oidc-hmac", "namespace": ns_name},
                type="Opaque",
                string_data={"hmac-secret": hmac.result},
                opts=pulumi.ResourceOptions(parent=self),
            )
        )
        return created


# --- Validation -------------------------------------------------------------------------------------------


def check_domain(problems: Problems, path: str, domain: object) -> None:
    """A lower-case DNS name of at least two labels, leaving room for `<model>.<namespace>.` in front."""
    if not isinstance(domain, str) or not domain:
        problems.add(path, "required: the DNS domain models are served under, e.g. models.internal.example")
        return
    labels = domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) and len(label) <= 63 for label in labels):
        problems.add(path, f"'{domain}' is not a lower-case DNS domain of at least two labels (e.g. models.example)")
    elif len(domain) > 253 - 2 * 64:
        problems.add(path, f"'{domain}' is too long to prefix with <model>.<namespace>. (at most 125 characters)")


def check_serving_namespaces(problems: Problems, path: str, names: object) -> None:
    """A non-empty list of distinct namespace names."""
    if not isinstance(names, list) or not names:
        problems.add(path, "required: at least one serving namespace whose routes may attach to the gateway")
        return
    for index, value in enumerate(names):
        check_namespace_name(problems, f"{path}[{index}]", value)
    if len(set(map(str, names))) != len(names):
        problems.add(path, "must not repeat a namespace")


def check_public_source_cidrs(problems: Problems, path: str, cidrs: object, *, public: bool) -> None:
    """CIDRs only with `public`, at least one then, and none that admits the whole internet."""
    if not isinstance(cidrs, list):
        problems.add(path, "must be a list of CIDRs")
        return
    if not public:
        if cidrs:
            problems.add(path, "only used with public: an internal load balancer is reached from the network only")
        return
    if not cidrs:
        problems.add(path, "required with public: the client CIDRs the public load balancer admits")
    for index, cidr in enumerate(cidrs):
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except (TypeError, ValueError) as error:
            problems.add(f"{path}[{index}]", f"{cidr!r} is not a CIDR such as 203.0.113.0/24: {error}")
            continue
        if network.prefixlen == 0:
            problems.add(f"{path}[{index}]", f"{cidr} admits the whole internet; list the clients' ranges")


# --- Pure builders (tested without mocks) ------------------------------------------------------------------


def load_balancer_annotations(cloud: str, *, public: bool) -> dict[str, str]:
    """Annotations of the proxies' LoadBalancer Service per cloud (none for `kubernetes`).

    AWS: a Network Load Balancer (`aws-load-balancer-type: nlb`), which keeps the client address for
    `externalTrafficPolicy: Local`. Internal through both controllers that may own the Service: the in-tree cloud
    provider reads `aws-load-balancer-internal: "true"` and places the NLB in the subnets tagged
    `kubernetes.io/role/internal-elb` (Kubernetes documentation, Service, "Internal load balancer"; `AwsNetwork`
    tags its private subnets), the AWS Load Balancer Controller, if installed, reads `aws-load-balancer-scheme`
    (its annotations guide). Azure: `azure-load-balancer-internal: "true"` puts the frontend on the cluster's VNet
    (AKS documentation, "Use an internal load balancer").
    """
    if cloud == "aws":
        annotations = {ANNOTATION_AWS_TYPE: "nlb", ANNOTATION_AWS_SCHEME: "internet-facing" if public else "internal"}
        if not public:
            annotations[ANNOTATION_AWS_INTERNAL] = "true"
        return annotations
    if cloud == "azure":
        return {} if public else {ANNOTATION_AZURE_INTERNAL: "true"}
    return {}


PROXY_POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod security context of the proxies. Envoy Gateway already gives each container non-root uid 65532, no
capabilities, no escalation and RuntimeDefault seccomp (v1.9.0 `proxy/resource.go` `expectedEnvoySecurityContext`,
`resource.DefaultSecurityContext`); its root filesystem stays writable (Envoy writes its admin socket and logs
there, the reason upstream gives), which Pod Security `restricted` allows."""


def envoy_proxy_spec(
    *, cloud: str, public: bool, public_source_cidrs: Sequence[str], replicas: int, node_selector: Mapping[str, str]
) -> dict[str, Any]:
    """The EnvoyProxy spec: how Envoy Gateway runs the proxies and the Service in front of them.

    `kubernetes` without `public` gets a ClusterIP Service: there is no internal load balancer to ask for on an
    unknown cluster, and an unannotated LoadBalancer is public on most clouds.
    """
    service: dict[str, Any] = {"name": PROXY_SERVICE_NAME}
    if cloud == "kubernetes" and not public:
        service["type"] = "ClusterIP"
    else:
        service.update(
            {
                "type": "LoadBalancer",
                # Client addresses reach Envoy (and its access log); nodes without a proxy fail the LB health check.
                "externalTrafficPolicy": "Local",
                "annotations": load_balancer_annotations(cloud, public=public),
            }
        )
        if public:
            service["loadBalancerSourceRanges"] = list(public_source_cidrs)
    return {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyDeployment": {
                    "replicas": replicas,
                    "pod": {
                        "nodeSelector": dict(node_selector),
                        "securityContext": dict(PROXY_POD_SECURITY_CONTEXT),
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": dict(gateway.PROXY_POD_LABELS)},
                            }
                        ],
                    },
                    "container": {
                        "resources": _values.container_resources(cpu="200m", memory="256Mi", memory_limit="1Gi")
                    },
                },
                "envoyPDB": {"maxUnavailable": 1},
                "envoyService": service,
            },
        }
    }


def gateway_class_spec(envoy_proxy_namespace: str) -> dict[str, Any]:
    """The GatewayClass: Envoy Gateway's controller, with the EnvoyProxy as its parameters."""
    return {
        "controllerName": _values.ENVOY_GATEWAY_CONTROLLER_NAME,
        "parametersRef": {
            "group": "gateway.envoyproxy.io",
            "kind": "EnvoyProxy",
            "name": ENVOY_PROXY_NAME,
            "namespace": envoy_proxy_namespace,
        },
    }


def allowed_route_namespaces(serving_namespaces: Sequence[str]) -> dict[str, Any]:
    """Routes may attach from namespaces that are both serving-tier and listed (a label alone could be copied)."""
    return {
        "from": "Selector",
        "selector": {
            "matchLabels": {TIER_LABEL: _platform_policies.SERVING_TIER},
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(serving_namespaces)}],
        },
    }


def gateway_spec(*, domain: str, serving_namespaces: Sequence[str]) -> dict[str, Any]:
    """The Gateway: one HTTPS listener, TLS terminated with the serving certificate, HTTP and gRPC routes.

    No plain-HTTP listener at all: clients are programs given an `https://` URL (`model_url`), so a redirect
    would only offer a cleartext first request.
    """
    return {
        "gatewayClassName": GATEWAY_CLASS_NAME,
        "listeners": [
            {
                "name": gateway.HTTPS_LISTENER,
                "protocol": "HTTPS",
                "port": gateway.HTTPS_PORT,
                "hostname": f"*.{domain.rstrip('.')}",
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET_NAME}],
                },
                "allowedRoutes": {
                    "namespaces": allowed_route_namespaces(serving_namespaces),
                    "kinds": [
                        {"group": gateway.GATEWAY_API_GROUP, "kind": "HTTPRoute"},
                        {"group": gateway.GATEWAY_API_GROUP, "kind": "GRPCRoute"},
                    ],
                },
            }
        ],
    }


def serving_certificate_spec(*, domain: str, serving_namespaces: Sequence[str], issuer: str) -> dict[str, Any]:
    """The serving certificate: `*.<namespace>.<domain>` per serving namespace, short-lived, a new key each time."""
    return {
        "secretName": TLS_SECRET_NAME,
        "dnsNames": [gateway.namespace_wildcard(namespace, domain) for namespace in serving_namespaces],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        "duration": SERVING_CERT_DURATION,
        "renewBefore": SERVING_CERT_RENEW_BEFORE,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["server auth", "digital signature"],
    }


def ca_issuer_spec(secret_name: str) -> dict[str, Any]:
    """A CA (Cluster)Issuer signing with the key pair in `secret_name`."""
    return {"ca": {"secretName": secret_name}}


def control_plane_pki(namespace: str) -> list[dict[str, Any]]:
    """The Issuers and Certificates (in order) of Envoy Gateway's xDS mTLS, in the gateway namespace.

    Secret names and DNS names are the controller's (`envoy-gateway`: its Service's names) and the proxies'
    (`envoy`, `envoy-rate-limit`: `*.<namespace>`), as in the upstream procedure.
    """
    usages = ["digital signature", "key encipherment", "server auth", "client auth"]

    def certificate(secret: str, common_name: str, dns_names: list[str]) -> dict[str, Any]:
        return {
            "kind": "Certificate",
            "metadata": {"name": secret, "annotations": {WAIT_FOR_ANNOTATION: "condition=Ready"}},
            "spec": {
                "secretName": secret,
                "commonName": common_name,
                "dnsNames": dns_names,
                "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": "envoy-gateway-ca"},
                "duration": CONTROL_PLANE_CERT_DURATION,
                "renewBefore": SERVING_CERT_RENEW_BEFORE,
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": usages,
            },
        }

    controller_names = [
        "envoy-gateway",
        f"envoy-gateway.{namespace}",
        f"envoy-gateway.{namespace}.svc",
        f"envoy-gateway.{namespace}.svc.{CLUSTER_DOMAIN}",
    ]
    return [
        {"kind": "Issuer", "metadata": {"name": "envoy-gateway-selfsigned"}, "spec": {"selfSigned": {}}},
        {
            "kind": "Certificate",
            "metadata": {"name": "envoy-gateway-ca", "annotations": {WAIT_FOR_ANNOTATION: "condition=Ready"}},
            "spec": {
                "isCA": True,
                "commonName": "envoy-gateway",
                "secretName": "envoy-gateway-ca",
                "duration": f"{CA_VALIDITY_HOURS}h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": "envoy-gateway-selfsigned"},
            },
        },
        {"kind": "Issuer", "metadata": {"name": "envoy-gateway-ca"}, "spec": ca_issuer_spec("envoy-gateway-ca")},
        certificate("envoy-gateway", "envoy-gateway", controller_names),
        certificate("envoy", "*", [f"*.{namespace}"]),
        certificate("envoy-rate-limit", "*", [f"*.{namespace}"]),
    ]


def proxy_pod_monitor_spec(namespace: str) -> dict[str, Any]:
    """Prometheus scrapes every proxy's `/stats/prometheus` (per-route request counts and latencies)."""
    return {
        "selector": {"matchLabels": dict(gateway.PROXY_POD_LABELS)},
        "namespaceSelector": {"matchNames": [namespace]},
        "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus", "interval": "30s"}],
    }
