"""The serving gateway contract: where models are exposed, under which names, and how routes attach to it.

`ServingGateway` creates the Gateway these constants name; whatever routes traffic to a model (an HTTPRoute of
`ModelService`, a team's own route) attaches to it with `gateway_parent_ref()` and serves `model_hostname(...)`.
No resources here: the serving namespace's NetworkPolicy, the route builders and the stack configuration import
it without importing the gateway component.

Hostnames are `<model>.<namespace>.<domain>`. A TLS wildcard covers exactly one DNS label (RFC 6125 §6.4.3), so the
gateway's certificate carries one `*.<namespace>.<domain>` name per serving namespace, while its single HTTPS
listener's hostname `*.<domain>` matches any name below the domain (Gateway API `Listener.hostname`: a wildcard
prefix is a suffix match over one or more labels). A model name is therefore unique within its namespace only.
"""

from __future__ import annotations

from typing import Any

GATEWAY_NAME = "serving"
"""Name of the Gateway every model route attaches to."""

GATEWAY_NAMESPACE = "serving-gateway"
"""Default namespace of the Gateway, of the Envoy Gateway controller and of the Envoy proxies it runs."""

HTTPS_LISTENER = "https"
"""The Gateway's only listener (`sectionName` of a route's parentRef): HTTPS on port 443, TLS terminated."""

HTTPS_PORT = 443
"""Port of the HTTPS listener and of the load balancer in front of it."""

PROXY_CONTAINER_PORT = 10443
"""The port the Envoy proxy pods listen on for the HTTPS listener: Envoy Gateway adds 10000 to a privileged
listener port so the proxy needs no NET_BIND_SERVICE (envoyproxy/gateway v1.9.0 `internal/gatewayapi/listener.go`,
`wellKnownPortShift` in `translator.go`). NetworkPolicies see this port, not 443."""

PROXY_POD_LABELS: dict[str, str] = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
"""Labels Envoy Gateway puts on every proxy pod it runs (v1.9.0 `internal/infrastructure/kubernetes/proxy/
resource.go` `EnvoyAppLabel`); serving namespaces admit exactly these pods of the gateway namespace."""

GATEWAY_API_GROUP = "gateway.networking.k8s.io"


def model_hostname(name: str, namespace: str, domain: str) -> str:
    """The DNS name a model is served under: `<name>.<namespace>.<domain>` (lower case, no trailing dot)."""
    return f"{name}.{namespace}.{domain.rstrip('.')}".lower()


def model_url(name: str, namespace: str, domain: str) -> str:
    """The URL clients call a model at: `https://<name>.<namespace>.<domain>` (TLS on 443, no path)."""
    return f"https://{model_hostname(name, namespace, domain)}"


def namespace_wildcard(namespace: str, domain: str) -> str:
    """The certificate name covering every model of `namespace`: `*.<namespace>.<domain>`."""
    return f"*.{namespace}.{domain.rstrip('.')}".lower()


def gateway_parent_ref(namespace: str = GATEWAY_NAMESPACE) -> dict[str, Any]:
    """The `parentRefs` entry of a route attaching to the serving Gateway's HTTPS listener."""
    return {
        "group": GATEWAY_API_GROUP,
        "kind": "Gateway",
        "name": GATEWAY_NAME,
        "namespace": namespace,
        "sectionName": HTTPS_LISTENER,
    }
