"""Our own compact schema of the serving gateway's custom resources at their pinned versions, for offline checks.

A transcription, in our words, of the structural facts that bear on the fields `ServingGateway` sets: required fields,
types, enums, patterns, bounds, and `additionalProperties: false` wherever the CRD's structural schema lists every
field (the API server prunes unknown fields, or refuses them under strict field validation). CEL rules and admission
webhook checks that JSON Schema cannot express are functions below. Sources:

- Gateway, GatewayClass: `charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml@v1.9.0` (envoyproxy/gateway;
  Gateway API bundle-version v1.6.1, experimental channel), version `v1` of `gateways` and `gatewayclasses`.
- EnvoyProxy: `charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_envoyproxies.yaml@v1.9.0`.
- Certificate, Issuer, ClusterIssuer: `deploy/crds/cert-manager.io_{certificates,issuers,clusterissuers}.yaml@v1.21.1`
  (cert-manager/cert-manager), and the webhook's `internal/apis/certmanager/validation/certificate.go@v1.21.1`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jsonschema

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
_CONTROLLER_NAME = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
)
_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": _STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def _metadata(api_version: str, kind: str, *, namespaced: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "type": "object",
        "required": ["name", "namespace"] if namespaced else ["name"],
        "properties": {"name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN}},
    }
    return {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": metadata}


def _object(api_version: str, kind: str, spec: Mapping[str, Any], *, namespaced: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {**_metadata(api_version, kind, namespaced=namespaced), "spec": dict(spec)},
    }


GATEWAY_CLASS_SCHEMA = _object(
    "gateway.networking.k8s.io/v1",
    "GatewayClass",
    {
        "type": "object",
        "required": ["controllerName"],
        "additionalProperties": False,
        "properties": {
            "controllerName": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": _CONTROLLER_NAME},
            "description": {"type": "string", "maxLength": 64},
            "parametersRef": {
                "type": "object",
                "required": ["group", "kind", "name"],
                "additionalProperties": False,
                "properties": {
                    "group": {"type": "string", "maxLength": 253, "pattern": _GROUP},
                    "kind": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": _KIND},
                    "name": {"type": "string", "minLength": 1, "maxLength": 253},
                    "namespace": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": _DNS_LABEL},
                },
            },
        },
    },
    namespaced=False,
)

_ROUTE_KIND = {
    "type": "object",
    "required": ["kind"],
    "additionalProperties": False,
    "properties": {
        "group": {"type": "string", "maxLength": 253, "pattern": _GROUP},
        "kind": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": _KIND},
    },
}
_CERTIFICATE_REF = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "group": {"type": "string", "maxLength": 253, "pattern": _GROUP},
        "kind": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": _KIND},
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": _DNS_LABEL},
    },
}
_LISTENER = {
    "type": "object",
    "required": ["name", "port", "protocol"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "hostname": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": _HOSTNAME},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string", "minLength": 1, "maxLength": 255},
        "tls": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["Terminate", "Passthrough"]},
                "certificateRefs": {"type": "array", "maxItems": 64, "items": _CERTIFICATE_REF},
                "options": _STRING_MAP,
            },
        },
        "allowedRoutes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "namespaces": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"from": {"enum": ["All", "Selector", "Same"]}, "selector": _LABEL_SELECTOR},
                },
                "kinds": {"type": "array", "maxItems": 8, "items": _ROUTE_KIND},
            },
        },
    },
}
GATEWAY_SCHEMA = _object(
    "gateway.networking.k8s.io/v1",
    "Gateway",
    {
        "type": "object",
        "required": ["gatewayClassName", "listeners"],
        "additionalProperties": False,
        "properties": {
            "gatewayClassName": {"type": "string", "minLength": 1, "maxLength": 253},
            "listeners": {"type": "array", "minItems": 1, "maxItems": 64, "items": _LISTENER},
            "addresses": {"type": "array"},
            "infrastructure": {"type": "object"},
            "allowedListeners": {"type": "object"},
            "defaultScope": {"type": "string"},
            "tls": {"type": "object"},
        },
    },
    namespaced=True,
)


def gateway_cel_violations(gateway: Mapping[str, Any]) -> list[str]:
    """The CEL rules of `spec.listeners` (v1.6.1) that bear on our listeners."""
    found: list[str] = []
    listeners = gateway["spec"]["listeners"]
    names = [listener["name"] for listener in listeners]
    if len(set(names)) != len(names):
        found.append("listener names must be unique")
    for listener in listeners:
        protocol, tls = listener["protocol"], listener.get("tls")
        if protocol in ("HTTP", "TCP", "UDP") and tls is not None:
            found.append(f"{listener['name']}: tls is forbidden for protocol {protocol}")
        if protocol == "HTTPS" and tls is not None and tls.get("mode", "Terminate") not in ("", "Terminate"):
            found.append(f"{listener['name']}: an HTTPS listener terminates TLS")
        if protocol == "TLS" and not (tls and tls.get("mode")):
            found.append(f"{listener['name']}: a TLS listener states its mode")
        terminates = tls and tls.get("mode", "Terminate") == "Terminate"
        if terminates and not tls.get("certificateRefs") and not tls.get("options"):
            found.append(f"{listener['name']}: Terminate needs certificateRefs (or options)")
    return found


_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"claims": {"type": "array"}, "limits": _STRING_MAP, "requests": _STRING_MAP},
}
ENVOY_PROXY_SCHEMA = _object(
    "gateway.envoyproxy.io/v1alpha1",
    "EnvoyProxy",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "provider": {
                "type": "object",
                "required": ["type"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": ["Kubernetes", "Host"]},
                    "host": {"type": "object"},
                    "kubernetes": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "envoyDeployment": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "replicas": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "strategy": {"type": "object"},
                                    "patch": {"type": "object"},
                                    "initContainers": {"type": "array"},
                                    "pod": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            key: {"type": "object"} if key not in ("tolerations", "volumes",
                                                                                   "imagePullSecrets",
                                                                                   "topologySpreadConstraints")
                                            else {"type": "array"}
                                            for key in ("affinity", "annotations", "imagePullSecrets", "labels",
                                                        "nodeSelector", "securityContext", "tolerations",
                                                        "topologySpreadConstraints", "volumes")
                                        } | {"priorityClassName": {"type": "string"}, "nodeSelector": _STRING_MAP},
                                    },
                                    "container": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "env": {"type": "array"},
                                            "image": {"type": "string"},
                                            "imageRepository": {"type": "string"},
                                            "resources": _RESOURCES,
                                            "securityContext": {"type": "object"},
                                            "volumeMounts": {"type": "array"},
                                        },
                                    },
                                },
                            },
                            "envoyDaemonSet": {"type": "object"},
                            "envoyHpa": {"type": "object"},
                            "envoyServiceAccount": {"type": "object"},
                            "useListenerPortAsContainerPort": {"type": "boolean"},
                            "envoyPDB": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "minAvailable": _INT_OR_STRING,
                                    "maxUnavailable": _INT_OR_STRING,
                                    "name": {"type": "string"},
                                    "patch": {"type": "object"},
                                },
                            },
                            "envoyService": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "allocateLoadBalancerNodePorts": {"type": "boolean"},
                                    "annotations": _STRING_MAP,
                                    "externalTrafficPolicy": {"enum": ["Local", "Cluster"]},
                                    "labels": _STRING_MAP,
                                    "loadBalancerClass": {"type": "string"},
                                    "loadBalancerIP": {"type": "string"},
                                    "loadBalancerSourceRanges": {"type": "array", "items": {"type": "string"}},
                                    "name": {"type": "string"},
                                    "patch": {"type": "object"},
                                    "type": {"enum": ["ClusterIP", "LoadBalancer", "NodePort"]},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    namespaced=True,
)  # fmt: skip


def envoy_proxy_cel_violations(proxy: Mapping[str, Any]) -> list[str]:
    """The CEL rules of `spec.provider.kubernetes` and its `envoyService` / `envoyPDB` at v1.9.0."""
    found: list[str] = []
    kubernetes = proxy["spec"]["provider"].get("kubernetes") or {}
    if "envoyDeployment" in kubernetes and "envoyDaemonSet" in kubernetes:
        found.append("envoyDeployment and envoyDaemonSet are exclusive")
    service = kubernetes.get("envoyService") or {}
    for field_name in ("loadBalancerSourceRanges", "loadBalancerIP", "allocateLoadBalancerNodePorts"):
        if field_name in service and service.get("type", "LoadBalancer") != "LoadBalancer":
            found.append(f"envoyService.{field_name} only with type LoadBalancer")
    pdb = kubernetes.get("envoyPDB")
    if pdb is not None and ("minAvailable" in pdb) == ("maxUnavailable" in pdb):
        found.append("envoyPDB takes exactly one of minAvailable and maxUnavailable")
    return found


_USAGES = [
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment",
    "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing",
    "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc",
]  # fmt: skip
_ISSUER_REF = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {"group": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"}},
}
CERTIFICATE_SCHEMA = _object(
    "cert-manager.io/v1",
    "Certificate",
    {
        "type": "object",
        "required": ["issuerRef", "secretName"],
        "additionalProperties": False,
        "properties": {
            "secretName": {"type": "string"},
            "commonName": {"type": "string", "maxLength": 64},
            "dnsNames": {"type": "array", "items": {"type": "string"}},
            "duration": {"type": "string"},
            "renewBefore": {"type": "string"},
            "isCA": {"type": "boolean"},
            "usages": {"type": "array", "items": {"enum": _USAGES}},
            "issuerRef": _ISSUER_REF,
            "privateKey": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                    "size": {"type": "integer"},
                    "rotationPolicy": {"enum": ["Never", "Always"]},
                    "encoding": {"enum": ["PKCS1", "PKCS8"]},
                },
            },
            "subject": {"type": "object"},
            "secretTemplate": {"type": "object"},
        },
    },
    namespaced=True,
)

_ISSUER_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ca": {
            "type": "object",
            "required": ["secretName"],
            "additionalProperties": False,
            "properties": {
                "secretName": {"type": "string"},
                "crlDistributionPoints": {"type": "array"},
                "issuingCertificateURLs": {"type": "array"},
                "ocspServers": {"type": "array"},
            },
        },
        "selfSigned": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"crlDistributionPoints": {"type": "array"}},
        },
        "acme": {"type": "object"},
        "vault": {"type": "object"},
        "venafi": {"type": "object"},
    },
    "minProperties": 1,
}
ISSUER_SCHEMA = _object("cert-manager.io/v1", "Issuer", _ISSUER_SPEC, namespaced=True)
CLUSTER_ISSUER_SCHEMA = _object("cert-manager.io/v1", "ClusterIssuer", _ISSUER_SPEC, namespaced=False)

_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$")


def _hours(duration: str) -> float:
    factors = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    return (
        sum(float(number) * factors[unit] for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", duration))
        / 3600
    )


def certificate_webhook_violations(certificate: Mapping[str, Any]) -> list[str]:
    """cert-manager's admission checks (v1.21.1 `validation/certificate.go`) that bear on our Certificates."""
    spec = certificate["spec"]
    found: list[str] = []
    if not spec.get("commonName") and not spec.get("dnsNames"):
        found.append("at least one of commonName, dnsNames, ... must be set")
    key = spec.get("privateKey") or {}
    if key.get("algorithm") == "ECDSA" and key.get("size", 256) not in (256, 384, 521):
        found.append("ECDSA keys are 256, 384 or 521 bits")
    if key.get("algorithm") == "RSA" and not 2048 <= key.get("size", 2048) <= 8192:
        found.append("RSA keys are 2048 to 8192 bits")
    issuer_kind = (spec.get("issuerRef") or {}).get("kind", "Issuer")
    if (spec.get("issuerRef") or {}).get("group", "cert-manager.io") == "cert-manager.io" and issuer_kind not in (
        "Issuer",
        "ClusterIssuer",
    ):
        found.append("issuerRef.kind must be Issuer or ClusterIssuer")
    for field_name in ("duration", "renewBefore"):
        if field_name in spec and not _GO_DURATION.match(spec[field_name]):
            found.append(f"{field_name} is not a Go duration")
    duration = _hours(spec.get("duration", "2160h"))
    if duration < 1:
        found.append("duration must be at least 1h (MinimumCertificateDuration)")
    if "renewBefore" in spec and not (5 / 60 <= _hours(spec["renewBefore"]) < duration):
        found.append("renewBefore must be at least 5m and shorter than the duration")
    return found


SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("gateway.networking.k8s.io/v1", "GatewayClass"): GATEWAY_CLASS_SCHEMA,
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY_SCHEMA,
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): ENVOY_PROXY_SCHEMA,
    ("cert-manager.io/v1", "Certificate"): CERTIFICATE_SCHEMA,
    ("cert-manager.io/v1", "Issuer"): ISSUER_SCHEMA,
    ("cert-manager.io/v1", "ClusterIssuer"): CLUSTER_ISSUER_SCHEMA,
}


def violations(manifest: Mapping[str, Any]) -> list[str]:
    """Every way the API server (schema, CEL) or cert-manager's webhook would refuse or prune `manifest`."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    schema = SCHEMAS.get(key)  # type: ignore[arg-type]
    if schema is None:
        return [f"no schema transcribed for {key}"]
    validator = jsonschema.Draft202012Validator(schema)
    found = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(manifest)]
    if found:
        return found
    if key[1] == "Gateway":
        return gateway_cel_violations(manifest)
    if key[1] == "EnvoyProxy":
        return envoy_proxy_cel_violations(manifest)
    if key[1] == "Certificate":
        return certificate_webhook_violations(manifest)
    return []
