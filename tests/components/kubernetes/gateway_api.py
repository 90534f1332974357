"""Gateway API's HTTPRoute (v1) as a JSON schema: the fields `ModelService` writes, with the CRD's own limits.

Our transcription (not a copy) of `config/crd/standard/gateway.networking.k8s.io_httproutes.yaml` at
kubernetes-sigs/gateway-api tag v1.4.1 (`gateway.networking.k8s.io/bundle-version: v1.4.1`), version `v1`, standard
channel; the fields used here are unchanged since HTTPRoute went GA in v1.0.0, so they hold for whichever v1.x
bundle the ingress layer's Envoy Gateway release installs. The CRD's CEL rule "Must have port for Service
reference" (`(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true`) is `SERVICE_NEEDS_PORT`.
"""

from __future__ import annotations

from typing import Any

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"

_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
_NAMESPACE = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": DNS_LABEL}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}

SERVICE_NEEDS_PORT: dict[str, Any] = {
    "if": {
        "properties": {"group": {"const": ""}, "kind": {"const": "Service"}},
    },
    "then": {"required": ["port"]},
}
"""The CRD's CEL rule on a backendRef (group and kind default to "" and Service; `ModelService` writes both)."""

HTTP_ROUTE_V1: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "kind": {"const": "HTTPRoute"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "parentRefs": {
                    "type": "array",
                    "maxItems": 32,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "group": {"type": "string", "maxLength": 253, "pattern": GROUP},
                            "kind": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": KIND},
                            "namespace": _NAMESPACE,
                            "name": _NAME,
                            "sectionName": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 253,
                                "pattern": DNS_SUBDOMAIN,
                            },
                            "port": _PORT,
                        },
                    },
                },
                "hostnames": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": HOSTNAME},
                },
                "rules": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "backendRefs": {
                                "type": "array",
                                "maxItems": 16,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["name"],
                                    "properties": {
                                        "group": {"type": "string", "maxLength": 253, "pattern": GROUP},
                                        "kind": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": KIND},
                                        "name": _NAME,
                                        "namespace": _NAMESPACE,
                                        "port": _PORT,
                                        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
                                    },
                                    **SERVICE_NEEDS_PORT,
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
"""An HTTPRoute as `ModelService` writes it: parentRefs, hostnames and rules of weighted Service backendRefs."""
