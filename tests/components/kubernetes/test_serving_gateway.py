"""ServingGateway: an internal HTTPS Gateway on Envoy Gateway, cert-manager TLS, and the only way into serving pods."""

from __future__ import annotations

import ipaddress
from typing import Any

import jsonschema
import pulumi
import pytest

from components._common import gateway, pools
from components._common.tags import TIER_LABEL
from components.kubernetes import ServingGateway, _chart_workloads, _charts, _values
from components.kubernetes import _platform_policies as pp
from components.kubernetes import serving_gateway as sg
from components.kubernetes.serving import serving_network_policies
from policies.replay import in_process, replay
from stacks.deployability import pod_security_violations
from stacks.synth import Synthesis
from tests.components.kubernetes import gateway_crds
from tests.components.kubernetes.helpers import chart, chart_values, objects_of_kind, run_with_provider
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed
from tests.components.kubernetes.test_pod_autoscaling import value_paths

PLATFORM_POOL = pools.platform_pool_labels()
DOMAIN = "models.internal.example"
BASE: dict[str, Any] = {"domain": DOMAIN, "serving_namespaces": ["search", "fraud"], "cloud": "aws"}

# The values keys each builder may set, read from the chart's values file and templates at the pinned tag. A key
# ending in `*` is a map or list the chart copies whole into the object.
ENVOY_GATEWAY_KEYS = _values.ENVOY_GATEWAY_VALUES_KEYS
CERT_MANAGER_KEYS = _values.CERT_MANAGER_VALUES_KEYS


def build(run, **overrides: Any):
    args = {**BASE, **overrides}
    return run_with_provider(run, lambda opts: ServingGateway("gateway", args, opts=opts))


def one(recorder, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects_of_kind(recorder, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


# --- Charts: pinned keys, placement, Pod Security ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "values", "keys"),
    [
        (_charts.ENVOY_GATEWAY, _values.envoy_gateway_values(node_selector=PLATFORM_POOL), ENVOY_GATEWAY_KEYS),
        (
            _charts.CERT_MANAGER,
            _values.cert_manager_values(
                namespace="cert-manager", node_selector=PLATFORM_POOL, service_monitor=True,
                service_monitor_labels={"release": "monitoring"},
            ),
            CERT_MANAGER_KEYS,
        ),
    ],
    ids=["gateway-helm", "cert-manager"],
)  # fmt: skip
def test_every_values_key_exists_in_the_pinned_chart(ref: _charts.ChartRef, values: dict, keys: frozenset) -> None:
    unknown = sorted(path for path in value_paths(values, keys) if path not in keys)
    assert not unknown, f"{ref.chart} {ref.version} has no such values keys: {unknown}"


def workloads() -> dict[str, _chart_workloads.ChartWorkload]:
    rendered = [
        *_chart_workloads.envoy_gateway_workloads(
            sg.ENVOY_GATEWAY_RELEASE, "serving-gateway", _values.envoy_gateway_values(node_selector=PLATFORM_POOL)
        ),
        *_chart_workloads.cert_manager_workloads(
            sg.CERT_MANAGER_RELEASE,
            "cert-manager",
            _values.cert_manager_values(namespace="cert-manager", node_selector=PLATFORM_POOL),
        ),
    ]
    return {workload.name: workload for workload in rendered}


EXPECTED_WORKLOADS = {"envoy-gateway", "cert-manager", "cert-manager-webhook", "cert-manager-cainjector"}


def test_the_charts_render_the_gateway_controller_and_cert_manager_s_three_deployments() -> None:
    assert set(workloads()) == EXPECTED_WORKLOADS
    assert workloads()["envoy-gateway"].replicas == 2, "a leader-elected standby keeps serving xDS during a drain"
    assert workloads()["cert-manager-webhook"].replicas == 2, "the API server refuses cert-manager objects without it"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_gateway_and_certificate_pods_schedule_on_the_platform_pool(name: str) -> None:
    pod = workloads()[name].pod_spec
    for key, value in PLATFORM_POOL.items():
        assert pod["nodeSelector"].get(key) == value, f"{name} must run on the platform pool, never on GPU nodes"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_gateway_and_certificate_pods_meet_pod_security_restricted(name: str) -> None:
    violations, unset = pod_security_violations(workloads()[name].pod_spec, "restricted")
    assert not violations and not unset, f"{name} would be refused by its restricted namespace: {violations + unset}"


@pytest.mark.parametrize("name", sorted(EXPECTED_WORKLOADS))
def test_gateway_and_certificate_containers_have_requests_and_a_memory_limit(name: str) -> None:
    (container,) = workloads()[name].pod_spec["containers"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
    assert "memory" in container["resources"]["limits"], name


def test_the_proxies_envoy_gateway_runs_are_restricted_and_on_the_platform_pool() -> None:
    spec = sg.envoy_proxy_spec(
        cloud="aws", public=False, public_source_cidrs=[], replicas=2, node_selector=PLATFORM_POOL
    )
    deployment = spec["provider"]["kubernetes"]["envoyDeployment"]
    # The proxy Deployment the controller runs from it (the deployability check models it the same way).
    pod = _chart_workloads.envoy_proxy_workload("serving", "serving-gateway", spec).pod_spec
    violations, unset = pod_security_violations(pod, "restricted")
    assert not violations and not unset, violations + unset
    assert pod["nodeSelector"] == PLATFORM_POOL
    assert deployment["replicas"] == 2 and spec["provider"]["kubernetes"]["envoyPDB"] == {"maxUnavailable": 1}
    assert "memory" in deployment["container"]["resources"]["limits"]


# --- The Gateway: TLS only, routes from serving namespaces only --------------------------------------------


def test_the_gateway_has_one_https_listener_terminating_tls_with_the_certificate_cert_manager_issues(run) -> None:
    recorder = build(run)
    spec = one(recorder, "Gateway")["spec"]
    assert [listener["protocol"] for listener in spec["listeners"]] == ["HTTPS"], "no plain-HTTP listener at all"
    (listener,) = spec["listeners"]
    assert (listener["name"], listener["port"]) == (gateway.HTTPS_LISTENER, 443)
    assert listener["hostname"] == f"*.{DOMAIN}"
    assert listener["tls"]["mode"] == "Terminate"
    (reference,) = listener["tls"]["certificateRefs"]
    certificate = one(recorder, "Certificate", sg.TLS_SECRET_NAME)["spec"]
    assert reference["name"] == certificate["secretName"], "the listener serves the Secret cert-manager writes"
    assert certificate["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": sg.CA_ISSUER_NAME}
    assert certificate["dnsNames"] == [f"*.search.{DOMAIN}", f"*.fraud.{DOMAIN}"], "one wildcard per namespace"
    assert certificate["privateKey"]["rotationPolicy"] == "Always", "every renewal brings a new key"


def test_every_model_url_is_covered_by_the_listener_and_the_certificate() -> None:
    url = gateway.model_url("ranker", "search", DOMAIN)
    assert url == f"https://ranker.search.{DOMAIN}"
    host = url.removeprefix("https://")
    names = sg.serving_certificate_spec(domain=DOMAIN, serving_namespaces=["search"], issuer="x")["dnsNames"]
    # RFC 6125: a wildcard stands for exactly the left-most label.
    assert any(host.split(".", 1)[1] == name.removeprefix("*.") for name in names)
    assert host.endswith("." + sg.gateway_spec(domain=DOMAIN, serving_namespaces=["search"])["listeners"][0]
                          ["hostname"].removeprefix("*."))  # fmt: skip


def test_routes_attach_only_from_listed_namespaces_of_the_serving_tier(run) -> None:
    (listener,) = one(build(run), "Gateway")["spec"]["listeners"]
    namespaces = listener["allowedRoutes"]["namespaces"]
    assert namespaces["from"] == "Selector"
    selector = namespaces["selector"]
    assert selector["matchLabels"] == {TIER_LABEL: pp.SERVING_TIER}
    assert selector["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["search", "fraud"]}
    ], "a namespace that copies the tier label is still refused"
    assert {kind["kind"] for kind in listener["allowedRoutes"]["kinds"]} == {"HTTPRoute", "GRPCRoute"}


def test_an_existing_cluster_issuer_replaces_the_private_ca(run) -> None:
    recorder = build(run, issuer="letsencrypt-dns")
    assert one(recorder, "Certificate", sg.TLS_SECRET_NAME)["spec"]["issuerRef"]["name"] == "letsencrypt-dns"
    assert not objects_of_kind(recorder, "ClusterIssuer"), "no private CA when an issuer is given"
    assert not recorder.by_type("tls:index/privateKey:PrivateKey")
    policies = {p["metadata"]["name"] for p in objects_of_kind(recorder, "NetworkPolicy")}
    assert "allow-controller-issuer-egress" in policies, "ACME, AWS Private CA and Key Vault are HTTPS endpoints"


def test_the_private_ca_is_long_lived_ecdsa_and_its_certificate_is_the_output(run) -> None:
    recorder = build(run)
    (key,) = recorder.by_type("tls:index/privateKey:PrivateKey")
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")
    (ca,) = recorder.by_type("tls:index/selfSignedCert:SelfSignedCert")
    assert ca.inputs["isCaCertificate"] is True and ca.inputs["validityPeriodHours"] == 87600
    issuer = one(recorder, "ClusterIssuer", sg.CA_ISSUER_NAME)
    secret = one(recorder, "Secret", sg.CA_SECRET_NAME)
    assert issuer["spec"] == {"ca": {"secretName": sg.CA_SECRET_NAME}}
    assert secret["metadata"]["namespace"] == "cert-manager", "a ClusterIssuer reads its Secret from there"
    (component,) = recorder.by_type("mlplatform:index:ServingGateway")
    assert component.outputs["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_envoy_gateway_gets_the_certificates_its_dropped_certgen_hook_would_have_made(run) -> None:
    recorder = build(run)
    secrets = {o["spec"]["secretName"] for o in objects_of_kind(recorder, "Certificate")}
    assert {"envoy-gateway", "envoy", "envoy-rate-limit"} <= secrets, "the controller and proxies mount these"
    controller = one(recorder, "Certificate", "envoy-gateway")["spec"]
    assert "envoy-gateway.serving-gateway.svc.cluster.local" in controller["dnsNames"]
    assert one(recorder, "Secret", "envoy-oidc-hmac")["metadata"]["namespace"] == "serving-gateway"
    envoy_chart = chart(recorder, _charts.ENVOY_GATEWAY.reference)
    waited = {r.urn for r in recorder.registrations if r.type.endswith(":Certificate") or r.name.endswith("-oidc-hmac")}
    assert waited & set(envoy_chart.dependencies), "the controller starts only once its Secrets exist"
    assert chart_values(recorder, _charts.ENVOY_GATEWAY.reference)["topologyInjector"] == {"enabled": False}


# --- The load balancer: internal per cloud, public only on request and never to everyone --------------------


def service(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["provider"]["kubernetes"]["envoyService"]


@pytest.mark.parametrize(
    ("cloud", "annotation", "value"),
    [
        ("aws", "service.beta.kubernetes.io/aws-load-balancer-internal", "true"),
        ("aws", "service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"),
        ("azure", "service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
    ],
)
def test_the_load_balancer_is_internal_by_default_on_each_cloud(run, cloud: str, annotation: str, value: str) -> None:
    spec = one(build(run, cloud=cloud), "EnvoyProxy")["spec"]
    assert service(spec)["type"] == "LoadBalancer"
    assert service(spec)["annotations"][annotation] == value
    assert "loadBalancerSourceRanges" not in service(spec)


def test_an_existing_cluster_gets_no_load_balancer_unless_asked(run) -> None:
    spec = one(build(run, cloud="kubernetes"), "EnvoyProxy")["spec"]
    assert service(spec)["type"] == "ClusterIP", "an unannotated LoadBalancer would be public on most clouds"


@pytest.mark.parametrize("cloud", ["aws", "azure", "kubernetes"])
def test_a_public_load_balancer_admits_only_its_allow_list(run, cloud: str) -> None:
    spec = one(build(run, cloud=cloud, public=True, public_source_cidrs=["203.0.113.0/24"]), "EnvoyProxy")["spec"]
    assert service(spec)["type"] == "LoadBalancer"
    assert service(spec)["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    internal = {
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        "service.beta.kubernetes.io/azure-load-balancer-internal",
    }
    assert not internal & set(service(spec).get("annotations", {})), "public means public"
    for cidr in service(spec)["loadBalancerSourceRanges"]:
        assert ipaddress.ip_network(cidr).prefixlen > 0


def test_bad_arguments_are_reported_together_with_their_paths(run, recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, domain="Models", serving_namespaces=["search", "search"], cloud="gcp", public=True,
              public_source_cidrs=["0.0.0.0/0"], namespace="cert-manager", proxy_replicas=0, size="xl")  # fmt: skip
    paths = {error["property_path"] for error in raised.value.errors}
    expected = {"domain", "servingNamespaces", "cloud", "publicSourceCidrs[0]", "certManagerNamespace", "proxyReplicas",
                "size"}  # fmt: skip
    assert expected <= paths, paths
    created = [r.type for r in recorder.registrations if r.type.startswith(("kubernetes:", "mlplatform:"))]
    assert created == [], f"nothing is created when the arguments are refused: {created}"


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"public": True}, "publicSourceCidrs"),
        ({"public_source_cidrs": ["203.0.113.0/24"]}, "publicSourceCidrs"),
        ({"public": True, "public_source_cidrs": ["::/0"]}, "publicSourceCidrs[0]"),
        ({"serving_namespaces": []}, "servingNamespaces"),
        ({"namespace": "search"}, "namespace"),
    ],
    ids=["public-without-allow-list", "allow-list-without-public", "ipv6-everyone", "no-namespaces", "gateway-serves"],
)
def test_exposure_is_refused_unless_stated_exactly(run, overrides: dict, path: str) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, **overrides)
    assert path in {error["property_path"] for error in raised.value.errors}


# --- Schemas of the custom resources at their pinned versions ----------------------------------------------


def test_the_transcribed_schemas_are_valid_json_schema() -> None:
    for schema in gateway_crds.SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"cloud": "azure"}, {"cloud": "kubernetes"}, {"public": True, "public_source_cidrs": ["198.51.100.0/24"]},
     {"issuer": "letsencrypt-dns", "service_monitor": True}],
    ids=["aws", "azure", "kubernetes", "public", "issuer"],
)  # fmt: skip
def test_every_custom_resource_validates_against_its_crd_at_the_pinned_version(run, overrides: dict) -> None:
    recorder = build(run, **overrides)
    kinds = ("GatewayClass", "Gateway", "EnvoyProxy", "Certificate", "Issuer", "ClusterIssuer")
    manifests = [manifest for kind in kinds for manifest in objects_of_kind(recorder, kind)]
    assert {m["kind"] for m in manifests} >= {"GatewayClass", "Gateway", "EnvoyProxy", "Certificate", "Issuer"}
    for manifest in manifests:
        assert gateway_crds.violations(manifest) == [], f"{manifest['kind']} {manifest['metadata']['name']}"


def test_the_schemas_catch_what_the_api_server_would_refuse() -> None:
    listener = sg.gateway_spec(domain=DOMAIN, serving_namespaces=["search"])["listeners"][0]
    plain = {**listener, "protocol": "HTTP"}
    gateway_object = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                      "metadata": {"name": "serving", "namespace": "serving-gateway"},
                      "spec": {"gatewayClassName": "c", "listeners": [plain]}}  # fmt: skip
    assert gateway_crds.violations(gateway_object), "tls on an HTTP listener is refused by the CRD's rules"
    proxy = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy",
             "metadata": {"name": "p", "namespace": "n"},
             "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {
                 "type": "ClusterIP", "loadBalancerSourceRanges": ["10.0.0.0/8"]}}}}}  # fmt: skip
    assert gateway_crds.violations(proxy), "source ranges on a ClusterIP Service are refused"
    certificate = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                   "metadata": {"name": "c", "namespace": "n"},
                   "spec": {"secretName": "s", "issuerRef": {"name": "i"}, "dnsNames": ["a.b"],
                            "privateKey": {"algorithm": "ECDSA", "size": 224}}}  # fmt: skip
    assert gateway_crds.violations(certificate), "cert-manager's webhook refuses a 224-bit ECDSA key"


# --- Network: the proxies are the only way into a serving namespace ----------------------------------------

GATEWAY_NS, CERT_NS, SERVING_NS, OTHER_SERVING_NS = "serving-gateway", "cert-manager", "search", "fraud"


def tier(namespace: str) -> dict[str, str]:
    return {
        GATEWAY_NS: {TIER_LABEL: pp.GATEWAY_TIER},
        CERT_NS: {TIER_LABEL: pp.CERTIFICATES_TIER},
        SERVING_NS: {TIER_LABEL: pp.SERVING_TIER},
        OTHER_SERVING_NS: {TIER_LABEL: pp.SERVING_TIER},
        "monitoring": {TIER_LABEL: pp.MONITORING_TIER},
    }.get(namespace, {})


def pod(namespace: str, labels: dict[str, str]) -> Pod:
    return Pod(namespace, labels, tier(namespace))


PROXY = pod(GATEWAY_NS, {**gateway.PROXY_POD_LABELS, "gateway.envoyproxy.io/owning-gateway-name": "serving"})
CONTROLLER = pod(GATEWAY_NS, {**pp.ENVOY_GATEWAY_PODS, "app.kubernetes.io/name": "gateway-helm"})
MODEL = pod(SERVING_NS, {"app.kubernetes.io/name": "ranker"})
OTHER_MODEL = pod(OTHER_SERVING_NS, {"app.kubernetes.io/name": "scorer"})
STRANGER = pod("default", {"app": "curl"})
WEBHOOK = pod(CERT_NS, {**pp.CERT_MANAGER_WEBHOOK_PODS, "app.kubernetes.io/name": "webhook"})
CERT_CONTROLLER = pod(CERT_NS, {**pp.CERT_MANAGER_CONTROLLER_PODS, "app.kubernetes.io/name": "cert-manager"})
INTERNET, API_SERVER = Endpoint("203.0.113.7"), Endpoint("10.0.0.10")


def policies(*, external_issuer: bool = False) -> list[Policy]:
    per_namespace = {
        GATEWAY_NS: pp.gateway_network_policies(metrics_scrape=False),
        CERT_NS: pp.cert_manager_network_policies(external_issuer=external_issuer, metrics_scrape=False),
        SERVING_NS: serving_network_policies(ingress_namespaces=[GATEWAY_NS], monitoring_namespace="monitoring",
                                             egress_cidrs=[]),
        OTHER_SERVING_NS: serving_network_policies(ingress_namespaces=[GATEWAY_NS], monitoring_namespace="monitoring",
                                                   egress_cidrs=[]),
    }  # fmt: skip
    return [Policy(namespace, spec) for namespace, specs in per_namespace.items() for spec in specs.values()]


@pytest.mark.parametrize("port", [8000, 8080, 8001])
def test_a_serving_namespace_is_reached_only_through_the_gateway_proxies(port: int) -> None:
    found = policies()
    assert allowed(found, PROXY, MODEL, port), "the proxies reach model servers on whatever port they serve"
    for source, why in ((CONTROLLER, "the controller"), (STRANGER, "an unlisted namespace"),
                        (OTHER_MODEL, "another team's namespace"), (INTERNET, "a client outside the cluster")):  # fmt: skip
        assert not allowed(found, source, MODEL, port), f"{why} must not reach a model server directly"


def test_clients_reach_the_proxies_on_their_https_port_only() -> None:
    found = policies()
    assert allowed(found, INTERNET, PROXY, gateway.PROXY_CONTAINER_PORT), "the listener port, behind the LB"
    for port in (80, 443, 8080, pp.ENVOY_METRICS_PORT, pp.ENVOY_XDS_PORT):
        assert not allowed(found, INTERNET, PROXY, port), f"port {port} is not the listener's"
    assert not allowed(found, INTERNET, CONTROLLER, pp.ENVOY_XDS_PORT), "xDS is for the proxies only"


def test_the_proxies_send_only_to_serving_namespaces_dns_and_the_controller() -> None:
    found = policies()
    assert allowed(found, PROXY, CONTROLLER, pp.ENVOY_XDS_PORT), "the proxies fetch their configuration over xDS"
    assert not allowed(found, PROXY, INTERNET, 443), "an open proxy would forward anywhere"
    assert not allowed(found, PROXY, STRANGER, 8080), "only serving namespaces are backends"
    assert not allowed(found, PROXY, API_SERVER, 443), "the proxies never talk to the API"
    assert allowed(found, CONTROLLER, API_SERVER, 443) and not allowed(found, CONTROLLER, INTERNET, 80)


def test_cert_manager_is_called_by_the_api_server_and_calls_nothing_but_the_api_and_an_external_issuer() -> None:
    assert allowed(policies(), API_SERVER, WEBHOOK, pp.CERT_MANAGER_WEBHOOK_PORT), "the API server calls the webhook"
    assert allowed(policies(), CERT_CONTROLLER, API_SERVER, 6443)
    assert not allowed(policies(), STRANGER, WEBHOOK, 8080) and not allowed(policies(), CERT_CONTROLLER, MODEL, 8080)
    for port in (80, 53, 8080):
        assert not allowed(policies(external_issuer=True), CERT_CONTROLLER, INTERNET, port), port
    # HTTPS anywhere is already open for the API server (its address has no selector, see _platform_policies); the
    # issuer rule states the controller's need on its own, so narrowing the API rule cannot break an ACME issuer.
    issuer_rule = pp.cert_manager_network_policies(external_issuer=True, metrics_scrape=False)
    assert issuer_rule["allow-controller-issuer-egress"]["podSelector"] == {
        "matchLabels": pp.CERT_MANAGER_CONTROLLER_PODS
    }
    assert "allow-controller-issuer-egress" not in pp.cert_manager_network_policies(
        external_issuer=False, metrics_scrape=False
    )


def test_both_namespaces_start_from_a_default_deny_and_are_restricted(run) -> None:
    recorder = build(run)
    namespaces = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in objects_of_kind(recorder, "Namespace")}
    assert set(namespaces) == {GATEWAY_NS, CERT_NS}
    for labels in namespaces.values():
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    by_namespace: dict[str, set[str]] = {}
    for policy in objects_of_kind(recorder, "NetworkPolicy"):
        by_namespace.setdefault(policy["metadata"]["namespace"], set()).add(policy["metadata"]["name"])
    for namespace in (GATEWAY_NS, CERT_NS):
        assert pp.DEFAULT_DENY_POLICY in by_namespace[namespace], namespace


# --- Outputs -------------------------------------------------------------------------------------------------


def test_the_outputs_name_what_routes_attach_to_and_how_clients_trust_it(run) -> None:
    recorder = build(run)
    (component,) = recorder.by_type("mlplatform:index:ServingGateway")
    outputs = component.outputs
    assert (outputs["gatewayName"], outputs["gatewayNamespace"], outputs["listenerName"]) == (
        gateway.GATEWAY_NAME, GATEWAY_NS, gateway.HTTPS_LISTENER
    )  # fmt: skip
    assert outputs["domain"] == DOMAIN and outputs["issuerName"] == sg.CA_ISSUER_NAME
    assert outputs["address"] == f"{sg.PROXY_SERVICE_NAME}.{GATEWAY_NS}.svc.cluster.local"
    assert gateway.gateway_parent_ref() == {
        "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": outputs["gatewayName"],
        "namespace": outputs["gatewayNamespace"], "sectionName": outputs["listenerName"],
    }  # fmt: skip


def test_the_proxies_are_scraped_per_route_when_monitoring_exists(run) -> None:
    recorder = build(run, service_monitor=True, service_monitor_labels={"release": "monitoring"})
    monitor = one(recorder, "PodMonitor")
    assert monitor["metadata"]["labels"] == {"release": "monitoring"}
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/stats/prometheus"
    assert chart_values(recorder, _charts.CERT_MANAGER.chart)["prometheus"]["servicemonitor"]["enabled"] is True


# --- The policy packs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["gdpr", "hipaa", "kubernetes-baseline"])
@pytest.mark.parametrize(
    ("overrides", "advisories"),
    [
        ({}, set()),
        ({"public": True, "public_source_cidrs": ["198.51.100.0/24"]}, {"kubernetes-load-balancer-internal"}),
    ],
    ids=["internal", "public"],
)
def test_the_gateway_passes_every_pack_and_a_public_one_is_flagged(
    run, framework: str, overrides: dict, advisories: set
) -> None:
    recorder = build(run, **overrides)
    synthesis = Synthesis(project="mlplatform", stack="test", monitor=recorder, outputs={}, secret_outputs=[])
    verdict = replay(synthesis, in_process(framework))
    assert not verdict.mandatory, [f"{d.policy}: {d.message}" for d in verdict.mandatory]
    flagged = {d.policy for d in verdict.advisory if d.policy.startswith("kubernetes-load-balancer")}
    assert flagged == advisories, "a public gateway is reported, an internal one is not"
