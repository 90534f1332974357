"""A NetworkPolicy evaluator with Kubernetes semantics: may this pod open a connection to that peer and port?

Semantics (networking.k8s.io/v1, kubernetes.io/docs/concepts/services-networking/network-policies):
- a pod is isolated for a direction when some policy in its namespace selects it (`podSelector`) and lists
  that direction in `policyTypes` (omitted: Ingress, plus Egress when the spec has an `egress` section);
  a non-isolated pod allows everything in that direction;
- an isolated pod allows a connection when any selecting policy has a rule of that direction whose peers
  match (no `to`/`from`: every peer) and whose ports match (no `ports`: every port);
- a peer with only `podSelector` means pods of the policy's own namespace; with `namespaceSelector` (and an
  optional `podSelector`) pods of the selected namespaces; `ipBlock` matches addresses (CIDR minus `except`),
  used here for endpoints that are not pods (API server, nodes, host-network pods);
- ports: protocol defaults to TCP; `endPort` makes a range; policies here use numbers, not names;
- a connection needs the source's egress and the destination's ingress; traffic to a non-pod endpoint has
  no ingress side (nothing selects it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.kubernetes._namespaces import NAMESPACE_NAME_LABEL
from tests.components.kubernetes.helpers import selector_matches


@dataclass(frozen=True)
class Pod:
    """A pod: its namespace (name and labels) and its labels."""

    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str] = field(default_factory=dict)

    def all_namespace_labels(self) -> dict[str, str]:
        return {**self.namespace_labels, NAMESPACE_NAME_LABEL: self.namespace}


@dataclass(frozen=True)
class Endpoint:
    """Something that is not a pod (API server, kubelet, host-network pod): only an address."""

    address: str


Peer = Pod | Endpoint


@dataclass(frozen=True)
class Policy:
    """A NetworkPolicy: its namespace and spec."""

    namespace: str
    spec: Mapping[str, Any]

    def policy_types(self) -> list[str]:
        declared = self.spec.get("policyTypes")
        if declared:
            return list(declared)
        return ["Ingress", *(["Egress"] if "egress" in self.spec else [])]


def _peer_matches(peer_rule: Mapping[str, Any], policy_namespace: str, peer: Peer) -> bool:
    if "ipBlock" in peer_rule:
        if not isinstance(peer, Endpoint):
            return False  # pod addresses are not modelled; policies here never name pods by address
        address = ipaddress.ip_address(peer.address)
        block = peer_rule["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if not isinstance(peer, Pod):
        return False
    if "namespaceSelector" in peer_rule:
        if not selector_matches(peer_rule["namespaceSelector"], peer.all_namespace_labels()):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return selector_matches(peer_rule.get("podSelector", {}), peer.labels)


def _port_matches(port_rules: Iterable[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    if not port_rules:
        return True
    for rule in port_rules:
        if rule.get("protocol", "TCP") != protocol:
            continue
        if "port" not in rule:
            return True
        start = rule["port"]
        if not isinstance(start, int):
            raise ValueError(f"named port {start!r}: the evaluator only handles numbers")
        if start <= port <= rule.get("endPort", start):
            return True
    return False


def _direction_allows(
    policies: Iterable[Policy], pod: Pod, other: Peer, port: int, protocol: str, direction: str
) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        policy
        for policy in policies
        if policy.namespace == pod.namespace
        and direction in policy.policy_types()
        and selector_matches(policy.spec.get("podSelector", {}), pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy.spec.get(key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, policy.namespace, other) for peer in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(policies: Iterable[Policy], source: Peer, destination: Peer, port: int, protocol: str = "TCP") -> bool:
    """Whether `source` may connect to `destination` on `port` under `policies` (every namespace's).

    A non-pod source (the API server calling a webhook) has no egress side.
    """
    policies = list(policies)
    if isinstance(source, Pod) and not _direction_allows(policies, source, destination, port, protocol, "Egress"):
        return False
    if isinstance(destination, Endpoint):
        return True
    return _direction_allows(policies, destination, source, port, protocol, "Ingress")
