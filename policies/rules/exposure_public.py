"""Exposure to the internet that the other rows miss: NSG rules, public registries, and monitoring and logging UIs.

Each rule recognises resources by type and structure (a rule's fields, an image's repository, a chart's values),
never by this project's tags or names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Setting,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_dict,
    as_list,
    dicts,
    resource_rule,
    stack_rule,
)
from policies.rules.kubernetes_common import (
    HELM_TYPES,
    PodTemplate,
    containers,
    kind_of,
    name_key,
    namespace_of,
    object_name,
    workload_templates,
)
from policies.rules.settings import CRD_POD_SPEC_PATHS

# --- Azure NSG rules from the internet -----------------------------------------------------------------------

NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"
_INTERNET_TAGS = frozenset({"*", "internet", "any"})
"""Source values that mean "anywhere": the wildcard and the Internet service tag (Azure "Network security groups
overview": `Internet` is the address space outside the virtual network reachable by the public internet)."""
DEFAULT_INTERNET_DENIED_PORTS: tuple[int, ...] = (22, 3389, 5985, 5986, 5432, 3306, 1433, 6379, 9200, 27017, 10250)
"""Administration (SSH, RDP, WinRM, the kubelet) and data ports (PostgreSQL, MySQL, SQL Server, Redis,
Elasticsearch, MongoDB). 443 to the API server is a separate, allow-listed rule."""

INTERNET_DENIED_PORTS = Setting(
    "internetDeniedPorts",
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 65535},
        "default": list(DEFAULT_INTERNET_DENIED_PORTS),
        "description": "Administration and data ports no NSG rule may open to the internet.",
    },
)


def _is_internet_source(prefix: str) -> bool:
    """`*`, `Internet`, `Any`, or a CIDR that spans the whole address space (0.0.0.0/0, ::/0)."""
    if prefix.strip().lower() in _INTERNET_TAGS:
        return True
    try:
        return ipaddress.ip_network(prefix.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _port_ranges(values: list[Any]) -> list[tuple[int, int]] | None:
    """(low, high) pairs of Azure port specifications ("22", "1000-2000", "*"); None if one cannot be read."""
    ranges = []
    for value in values:
        text = str(value).strip()
        if text == "*":
            ranges.append((0, 65535))
            continue
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
        if not match:
            return None
        ranges.append((int(match[1]), int(match[2] or match[1])))
    return ranges


def _values(rule: dict[str, Any], single: str, plural: str) -> list[Any] | Any:
    one, many = rule.get(single), rule.get(plural)
    if one is UNKNOWN or many is UNKNOWN:
        return UNKNOWN
    values = [*([] if one in (None, "") else [one]), *as_list(many)]
    return UNKNOWN if UNKNOWN in values else values


def _nsg_rule_findings(rule: dict[str, Any], label: str, denied: set[int]) -> Iterator[Finding]:
    direction, access, protocol = rule.get("direction"), rule.get("access"), rule.get("protocol")
    if UNKNOWN in (direction, access, protocol):
        yield Unverified(f"the direction, access or protocol of {label}")
        return
    if str(direction).lower() != "inbound" or str(access).lower() != "allow" or str(protocol).lower() == "icmp":
        return
    sources = _values(rule, "sourceAddressPrefix", "sourceAddressPrefixes")
    ports = _values(rule, "destinationPortRange", "destinationPortRanges")
    if sources is UNKNOWN or ports is UNKNOWN:
        yield Unverified(f"the sources or ports of {label}")
        return
    if not any(isinstance(source, str) and _is_internet_source(source) for source in sources):
        return
    ranges = _port_ranges(ports)
    if ranges is None:
        yield f"{label} allows the internet to ports {ports} that cannot be read; name the ports and the sources."
        return
    opened = sorted(port for port in denied if any(low <= port <= high for low, high in ranges))
    if opened:
        yield (
            f"{label} allows inbound traffic from the internet ({', '.join(map(str, sources))}) to administration or "
            f"data ports {opened}; restrict source_address_prefixes to known CIDRs or use a bastion or private endpoint."
        )


@resource_rule(
    name="azure-nsg-no-internet-admin-ports",
    title="NSG rules open no administration or data port to the internet",
    description=(
        "No inbound Allow rule (a SecurityRule or an inline rule of a NetworkSecurityGroup) from '*', Internet, Any "
        "or 0.0.0.0/0 (alone or in a list) reaches a port in internetDeniedPorts (SSH, RDP, WinRM, databases)."
    ),
    remediation=(
        "Set source_address_prefixes to the CIDRs that need access, or reach the host through Azure Bastion or a "
        "private endpoint."
    ),
    scope="Network security groups and their rules",
    types=(NSG, NSG_RULE),
    settings=(INTERNET_DENIED_PORTS,),
)
def nsg_internet_admin_ports(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    denied = {int(port) for port in as_list(config.get("internetDeniedPorts")) if isinstance(port, int | float)}
    if resource.type == NSG_RULE:
        yield from _nsg_rule_findings(resource.props, f"security rule '{resource.name}'", denied)
        return
    rules, unknown = dicts(resource.props.get("securityRules"))
    if unknown:
        yield Unverified(f"the security rules of network security group '{resource.name}'")
    for index, rule in enumerate(rules):
        label = f"rule '{rule.get('name', index)}' of network security group '{resource.name}'"
        yield from _nsg_rule_findings(rule, label, denied)


# --- Public registries ---------------------------------------------------------------------------------------

ECR_PUBLIC = "aws:ecrpublic/repository:Repository"
ACR = "azure-native:containerregistry:Registry"


@resource_rule(
    name="aws-ecrpublic-repository-not-used",
    title="No ECR Public repositories",
    description="The platform declares no ECR Public repository: anyone on the internet can pull its images.",
    remediation="Use a private aws.ecr.Repository, encrypted with the platform's key and read through IAM.",
    scope="ECR Public repositories",
    types=(ECR_PUBLIC,),
)
def ecr_public_repository(repository: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield (
        f"ECR Public repository '{repository.name}' serves its images to anyone on the internet; "
        "use a private aws.ecr.Repository."
    )


@resource_rule(
    name="azure-acr-registry-not-public",
    title="Container registries allow no anonymous or unrestricted public pulls",
    description=(
        "An Azure Container Registry allows no anonymous pull, and public network access only behind a network rule "
        "set whose default action is Deny."
    ),
    remediation=(
        "Set anonymous_pull_enabled=False and public_network_access='Disabled' (or a network_rule_set with "
        "default_action='Deny' and the allowed IPs)."
    ),
    scope="Azure container registries",
    types=(ACR,),
)
def acr_not_public(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    anonymous = as_bool(registry.props.get("anonymousPullEnabled"))
    if anonymous is UNKNOWN:
        yield Unverified(f"anonymous pull of container registry '{registry.name}'")
    elif anonymous:
        yield f"Container registry '{registry.name}' allows anonymous pull; set anonymous_pull_enabled=False."
    access = registry.props.get("publicNetworkAccess")
    default_action = registry.get("networkRuleSet.defaultAction")
    if UNKNOWN in (access, default_action):
        yield Unverified(f"the network access of container registry '{registry.name}'")
    elif access in (None, "Enabled") and default_action != "Deny":
        yield (
            f"Container registry '{registry.name}' accepts pulls from any network (public network access "
            f"{access or 'Enabled by default'}, no network rule set denying by default); set "
            "public_network_access='Disabled' or network_rule_set={'default_action': 'Deny', 'ip_rules': [...]}."
        )


# --- Monitoring and logging UIs ----------------------------------------------------------------------------

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ECK_KIBANA = "kubernetes:kibana.k8s.elastic.co/v1:Kibana"
_UI_IMAGES = {
    "Grafana": re.compile(
        r"^(?:(?:docker\.io|registry-1\.docker\.io)/)?grafana/grafana(?:-enterprise|-oss)?(?:[:@]|$)"
    ),
    "Kibana": re.compile(r"^docker\.elastic\.co/kibana/kibana(?:-oss)?(?:[:@]|$)"),
}
"""The images Grafana Labs and Elastic publish the UIs as (Docker Hub grafana/grafana, docker.elastic.co/kibana)."""
_EXPOSING_TYPES = ("LoadBalancer", "NodePort")
_CHART_UI_VALUES = {
    "kube-prometheus-stack": ("Grafana", "grafana."),
    "grafana": ("Grafana", ""),
    "kibana": ("Kibana", ""),
}
"""Charts that deploy a UI, and the prefix of its `service.type` / `ingress.enabled` values (kube-prometheus-stack
nests the Grafana sub-chart's values under `grafana`)."""


def _ui_of_pods(template: PodTemplate) -> str | Any | None:
    """ "Grafana" or "Kibana" when a container runs the UI's image; `UNKNOWN` when an image cannot be read."""
    items, unknown = containers(template.spec)
    found: str | Any | None = UNKNOWN if unknown else None
    for container in items:
        image = container.get("image")
        if image is UNKNOWN:
            found = found or UNKNOWN
            continue
        for ui, pattern in _UI_IMAGES.items():
            if isinstance(image, str) and pattern.match(image):
                return ui
    return found


def _service_name(service: Resource) -> Any:
    return object_name(service)  # a non-string name is UNKNOWN (hashable), never a crash


def _ui_behind_service(service: Resource, stack: Stack, config: dict[str, Any]) -> str | Any | None:
    """The UI a Service sends traffic to (through its selector, or as ECK's `<kibana>-kb-http` Service)."""
    namespace, name = namespace_of(service), _service_name(service)
    for kibana in stack.of((ECK_KIBANA,)):
        if namespace_of(kibana) == namespace and name == f"{_service_name(kibana)}-kb-http":
            return "Kibana"
    selector = service.get("spec.selector")
    if selector is UNKNOWN or namespace is UNKNOWN:
        return UNKNOWN
    if not isinstance(selector, dict) or not selector:
        return None  # a Service without a selector sends to the endpoints someone else manages
    verdict: str | Any | None = None
    for workload, template in workload_templates(stack, config):
        labels = template.labels()
        workload_namespace = namespace_of(workload)
        if workload_namespace is UNKNOWN or labels is UNKNOWN or UNKNOWN in as_dict(labels).values():
            verdict = verdict or UNKNOWN
            continue
        if workload_namespace != namespace or any(as_dict(labels).get(k) != v for k, v in selector.items()):
            continue
        ui = _ui_of_pods(template)
        if isinstance(ui, str):
            return ui
        if ui is UNKNOWN:
            verdict = UNKNOWN
    return verdict


def _services_by_name(stack: Stack) -> dict[tuple[Any, Any], Resource]:
    return {(namespace_of(service), _service_name(service)): service for service in stack.of((SERVICE,))}


def _route_backends(route: Resource) -> list[tuple[Any, Any]] | Any:
    """(namespace, Service name) of every backend of an Ingress or HTTPRoute; `UNKNOWN` when unreadable."""
    namespace = namespace_of(route)
    names: list[Any] = []
    if route.type == INGRESS:
        default = route.get("spec.defaultBackend.service.name")
        if default is not None:
            names.append((namespace, default))
        rules, unknown = dicts(route.get("spec.rules"))
        if unknown:
            return UNKNOWN
        for rule in rules:
            paths, unknown = dicts(as_dict(rule.get("http")).get("paths"))
            if unknown:
                return UNKNOWN
            names.extend(
                (namespace, as_dict(as_dict(path.get("backend")).get("service")).get("name")) for path in paths
            )
    else:
        rules, unknown = dicts(route.get("spec.rules"))
        if unknown:
            return UNKNOWN
        for rule in rules:
            refs, unknown = dicts(rule.get("backendRefs"))
            if unknown:
                return UNKNOWN
            names.extend(
                (ref.get("namespace") or namespace, ref.get("name"))
                for ref in refs
                if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", None)
            )
    return UNKNOWN if any(UNKNOWN in pair for pair in names) else names


def _chart_ui_exposure(chart: Resource) -> Iterator[Finding]:
    reference = chart.props.get("chart")
    if not isinstance(reference, str):
        return
    known = _CHART_UI_VALUES.get(reference.rstrip("/").rsplit("/", 1)[-1])
    if known is None:
        return
    ui, prefix = known
    values = chart.props.get("values")
    if values is UNKNOWN:
        yield Unverified(f"the values of chart '{chart.name}'")
        return
    values = as_dict(values)
    if prefix and as_bool(as_dict(values.get(prefix.rstrip("."))).get("enabled")) is False:
        return
    scope = as_dict(values.get(prefix.rstrip("."))) if prefix else values
    if scope is UNKNOWN:
        yield Unverified(f"the {prefix.rstrip('.')} values of chart '{chart.name}'")
        return
    service_type = as_dict(scope.get("service")).get("type")
    ingress = as_bool(as_dict(scope.get("ingress")).get("enabled"))
    if UNKNOWN in (service_type, ingress):
        yield Unverified(f"the {ui} service and ingress values of chart '{chart.name}'")
        return
    if service_type in _EXPOSING_TYPES:
        yield (
            f"Chart '{chart.name}' exposes {ui} as a {service_type} Service ({prefix}service.type); keep it "
            "ClusterIP and reach it through kubectl port-forward or an authenticated internal proxy."
        )
    if ingress:
        yield (
            f"Chart '{chart.name}' exposes {ui} through an Ingress ({prefix}ingress.enabled); set it to false and "
            "reach the UI through kubectl port-forward or an authenticated internal proxy."
        )


@stack_rule(
    name="kubernetes-monitoring-ui-not-exposed",
    title="Monitoring and logging UIs are not exposed outside the cluster",
    description=(
        "Grafana and Kibana (they show logs and metrics that may carry PHI) are not behind a LoadBalancer or "
        "NodePort Service, an Ingress or an HTTPRoute; recognised by the workload's image (grafana/grafana, "
        "docker.elastic.co/kibana), ECK's Kibana resource, or the grafana.service.type/grafana.ingress.enabled "
        "values of kube-prometheus-stack (service.type/ingress.enabled of the grafana and kibana charts)."
    ),
    remediation=(
        "Keep the UI's Service ClusterIP and reach it through kubectl port-forward or an authenticated internal proxy; "
        "remove the Ingress or HTTPRoute that points at it."
    ),
    scope="Services, Ingresses, HTTPRoutes, ECK Kibana and Helm charts",
    settings=(CRD_POD_SPEC_PATHS,),
)
def monitoring_ui_not_exposed(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    services = stack.of((SERVICE,))
    routes = stack.of((INGRESS, HTTP_ROUTE))
    kibanas = stack.of((ECK_KIBANA,))
    charts = [chart for chart in stack.of(HELM_TYPES) if _is_ui_chart(chart)]
    if not (services or routes or kibanas or charts):
        raise NotApplicable("the stack has no Service, Ingress, HTTPRoute, ECK Kibana or UI chart")
    for service in services:
        service_type = service.get("spec.type")
        if service_type is not UNKNOWN and service_type not in _EXPOSING_TYPES:
            continue
        ui = _ui_behind_service(service, stack, config)
        label = f"Service '{service.name}'"
        if service_type is UNKNOWN and ui is not None:
            yield service, Unverified(f"the type of {label}")
        elif ui is UNKNOWN:
            yield service, Unverified(f"the pods behind {service_type} {label}")
        elif ui:
            yield (
                service,
                f"{label} exposes {ui} as a {service_type} outside the cluster; set its type to ClusterIP and "
                "reach the UI through kubectl port-forward or an authenticated internal proxy.",
            )
    by_name = _services_by_name(stack)
    for route in routes:
        label = f"{kind_of(route)} '{route.name}'"
        backends = _route_backends(route)
        if backends is UNKNOWN:
            yield route, Unverified(f"the backends of {label}")
            continue
        for key in backends:
            key = tuple(name_key(part) for part in key)  # a non-string backend name is UNKNOWN
            service = by_name.get(key)
            ui = (
                _ui_behind_service(service, stack, config) if service is not None else _eck_kibana_service(key, kibanas)
            )
            if ui is UNKNOWN:
                yield route, Unverified(f"the pods behind Service '{key[1]}' of {label}")
            elif ui:
                yield (
                    route,
                    f"{label} routes to {ui} (Service '{key[1]}'); remove the route and reach the UI through "
                    "kubectl port-forward or an authenticated internal proxy.",
                )
    for kibana in kibanas:
        service_type = kibana.get("spec.http.service.spec.type")
        if service_type is UNKNOWN:
            yield kibana, Unverified(f"the service type of Kibana '{kibana.name}'")
        elif service_type in _EXPOSING_TYPES:
            yield (
                kibana,
                f"Kibana '{kibana.name}' is exposed as a {service_type} (spec.http.service.spec.type); leave it "
                "ClusterIP and reach Kibana through kubectl port-forward or an authenticated internal proxy.",
            )
    for chart in charts:
        for finding in _chart_ui_exposure(chart):
            yield chart, finding


def _is_ui_chart(chart: Resource) -> bool:
    reference = chart.props.get("chart")
    return isinstance(reference, str) and reference.rstrip("/").rsplit("/", 1)[-1] in _CHART_UI_VALUES


def _eck_kibana_service(key: tuple[Any, Any], kibanas: list[Resource]) -> str | None:
    """ECK creates `<name>-kb-http` for each Kibana (ECK docs, "Access Kibana"); a route to it reaches Kibana."""
    for kibana in kibanas:
        if (namespace_of(kibana), f"{_service_name(kibana)}-kb-http") == key:
            return "Kibana"
    return None
