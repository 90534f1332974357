"""Issue 20, class 2: "the internet" is decided by address arithmetic, the same way in every rule that asks."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules.base import UNKNOWN as MARKER
from policies.rules.cidr import exposure
from tests.policies.harness import UNKNOWN, run_resource

PUBLIC = "public"
PRIVATE = "private"
UNVERIFIABLE = "unverifiable"

# (id, source ranges, verdict with the default limits)
TABLE: list[tuple[str, list[Any], str]] = [
    ("ipv4 any", ["0.0.0.0/0"], PUBLIC),
    ("two halves", ["0.0.0.0/1", "128.0.0.0/1"], PUBLIC),
    ("ipv6 any", ["::/0"], PUBLIC),
    ("ipv6 any spelled long", ["::0/0"], PUBLIC),
    ("ipv6 global unicast", ["2000::/3"], PUBLIC),
    ("one public /8", ["1.0.0.0/8"], PUBLIC),
    ("many /4s", [f"{octet}.0.0.0/4" for octet in range(16, 224, 16)], PUBLIC),
    ("whitespace", [" 0.0.0.0/0 "], PUBLIC),
    ("nsg wildcard", ["*"], PUBLIC),
    ("nsg internet tag", ["Internet"], PUBLIC),
    ("nsg any", ["Any"], PUBLIC),
    ("private /8", ["10.0.0.0/8"], PRIVATE),
    ("cgnat", ["100.64.0.0/10"], PRIVATE),
    ("all rfc1918", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], PRIVATE),
    ("ula and link-local", ["fc00::/7", "fe80::/10"], PRIVATE),
    ("one office /24", ["198.51.100.0/24", "8.8.8.0/24"], PRIVATE),
    ("one address", ["8.8.8.8"], PRIVATE),
    ("nsg vnet tag", ["VirtualNetwork"], PRIVATE),
    ("unknown element", ["10.0.0.0/8", MARKER], UNVERIFIABLE),
    ("non-string element", ["10.0.0.0/8", 42], UNVERIFIABLE),
    ("dict element", [{"cidr": "0.0.0.0/0"}], UNVERIFIABLE),
    ("unparsable", ["10.0.0.0/33"], UNVERIFIABLE),
]


def _verdict(entries: Any, config: dict[str, Any] | None = None) -> str:
    found = exposure(entries, config)
    if found.exposed:
        return PUBLIC
    return UNVERIFIABLE if found.unverifiable else PRIVATE


@pytest.mark.parametrize(
    ("entries", "verdict"), [(entries, verdict) for _, entries, verdict in TABLE], ids=[row[0] for row in TABLE]
)
def test_exposure_decides_by_arithmetic(entries: list[Any], verdict: str) -> None:
    assert _verdict(entries) == verdict, f"{entries} must be {verdict}: {exposure(entries)}"


def test_an_unknown_list_is_unverifiable_never_private() -> None:
    assert _verdict(MARKER) == UNVERIFIABLE, "a list computed during preview cannot be judged private"


def test_the_union_of_narrow_ranges_counts() -> None:
    ranges = [f"{octet}.0.0.0/8" for octet in range(11, 100)]
    loose = {"publicCidrLimits": {"ipv4": 0, "ipv6": 0, "maxShare": 0.3}}
    assert _verdict(ranges, loose) == PUBLIC, "89 public /8s cover over 30% of the public IPv4 space together"
    assert _verdict(["11.0.0.0/8"], loose) == PRIVATE, "one /8 is within both limits once they are loosened"


def test_the_prefix_limit_is_configurable() -> None:
    assert _verdict(["8.0.0.0/15"]) == PUBLIC, "a public /15 is broader than the default /16"
    assert _verdict(["8.0.0.0/15"], {"publicCidrLimits": {"ipv4": 15}}) == PRIVATE, "ipv4: 15 admits a /15"
    assert _verdict(["2600::/24"]) == PUBLIC, "an IPv6 /24 is broader than the default /32"


# Every rule that asks "is this source the internet?": (rule, type, props builder) — the builder puts the ranges
# where the rule reads them, on an otherwise compliant resource.
def _eks(ranges: Any) -> dict[str, Any]:
    return {
        "vpcConfig": {
            "subnetIds": ["subnet-1"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": True,
            "publicAccessCidrs": ranges,
        }
    }


def _sg_inline(ranges: Any) -> dict[str, Any]:
    return {"ingress": [{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ranges}]}


def _sg_inline_v6(ranges: Any) -> dict[str, Any]:
    return {"ingress": [{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "ipv6CidrBlocks": ranges}]}


def _legacy_rule(ranges: Any) -> dict[str, Any]:
    return {"type": "ingress", "protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ranges}


def _aks(ranges: Any) -> dict[str, Any]:
    return {"apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ranges}}


def _service(ranges: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "lb", "namespace": "serving"},
        "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ranges},
    }


LIST_RULES = [
    ("aws-eks-cluster-private-endpoint", "aws:eks/cluster:Cluster", _eks),
    ("aws-ec2-security-group-no-public-ingress", "aws:ec2/securityGroup:SecurityGroup", _sg_inline),
    ("aws-ec2-security-group-no-public-ingress", "aws:ec2/securityGroup:SecurityGroup", _sg_inline_v6),
    ("aws-ec2-security-group-no-public-ingress", "aws:ec2/securityGroupRule:SecurityGroupRule", _legacy_rule),
    ("azure-aks-cluster-private-api", "azure-native:containerservice:ManagedCluster", _aks),
    ("kubernetes-load-balancer-source-ranges", "kubernetes:core/v1:Service", _service),
]


def _single(key: str, version: int) -> Any:
    def build(ranges: Any) -> dict[str, Any]:
        if ranges is UNKNOWN:
            return {"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, key: UNKNOWN}
        candidates = [item for item in ranges if not isinstance(item, str) or (":" in item) == (version == 6)]
        return {"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, key: candidates[0] if candidates else None}

    return build


def _ranges_for(entries: list[Any]) -> list[Any]:
    return [UNKNOWN if item is MARKER else item for item in entries]


@pytest.mark.parametrize(
    ("rule", "type_token", "build"), LIST_RULES, ids=[f"{r}:{b.__name__}" for r, _, b in LIST_RULES]
)
@pytest.mark.parametrize(("entries", "verdict"), [(e, v) for _, e, v in TABLE], ids=[row[0] for row in TABLE])
def test_every_rule_that_asks_uses_the_same_arithmetic(
    rule: str, type_token: str, build: Any, entries: list[Any], verdict: str
) -> None:
    if type_token != "azure-native:containerservice:ManagedCluster" and any(
        isinstance(item, str) and item.strip().lower() in ("*", "internet", "any", "virtualnetwork") for item in entries
    ):
        pytest.skip("NSG words are Azure spellings; AWS and Kubernetes reject them at the API")
    outcome = run_resource(rule, type_token, build(_ranges_for(entries)))
    if verdict == PUBLIC:
        assert outcome.violations, f"{rule} must reject {entries}: {outcome.describe()}"
    elif verdict == PRIVATE:
        assert outcome.passed, f"{rule} must accept {entries}: {outcome.describe()}"
    else:
        assert not outcome.violations and outcome.advisory, (
            f"{rule} must call {entries} unverifiable, never pass it nor crash: {outcome.describe()}"
        )


@pytest.mark.parametrize(
    ("key", "version", "entries", "verdict"),
    [
        ("cidrIpv4", 4, ["0.0.0.0/1"], PUBLIC),
        ("cidrIpv4", 4, ["1.0.0.0/8"], PUBLIC),
        ("cidrIpv4", 4, ["100.64.0.0/10"], PRIVATE),
        ("cidrIpv4", 4, [UNKNOWN], UNVERIFIABLE),
        ("cidrIpv6", 6, ["2000::/3"], PUBLIC),
        ("cidrIpv6", 6, ["fd00::/8"], PRIVATE),
    ],
)
def test_vpc_ingress_rules_use_the_same_arithmetic(key: str, version: int, entries: list[Any], verdict: str) -> None:
    props = _single(key, version)(entries if entries != [UNKNOWN] else UNKNOWN)
    outcome = run_resource(
        "aws-ec2-security-group-no-public-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        props,
    )
    if verdict == PUBLIC:
        assert outcome.violations, f"{key}={entries} must be rejected: {outcome.describe()}"
    elif verdict == PRIVATE:
        assert outcome.passed, f"{key}={entries} must be accepted: {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, f"{key}={entries} is unverifiable: {outcome.describe()}"


@pytest.mark.parametrize(
    ("start", "end", "verdict"),
    [
        ("1.0.0.0", "254.255.255.255", PUBLIC),
        ("8.0.0.0", "8.255.255.255", PUBLIC),
        ("10.0.0.0", "10.255.255.255", PRIVATE),
        ("198.51.100.10", "198.51.100.20", PRIVATE),
        (UNKNOWN, "10.0.0.5", UNVERIFIABLE),
    ],
)
def test_postgres_firewall_ranges_use_the_same_arithmetic(start: str, end: str, verdict: str) -> None:
    outcome = run_resource(
        "azure-postgres-flexible-server-firewall-no-public-range",
        "azure-native:dbforpostgresql:FirewallRule",
        {"startIpAddress": start, "endIpAddress": end},
    )
    if verdict == PUBLIC:
        assert outcome.violations, f"{start}-{end} admits the internet: {outcome.describe()}"
    elif verdict == PRIVATE:
        assert outcome.passed, f"{start}-{end} is not the internet: {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, f"{start}-{end} is unverifiable: {outcome.describe()}"


def test_an_unknown_list_is_unverifiable_in_every_rule() -> None:
    for rule, type_token, build in LIST_RULES:
        outcome = run_resource(rule, type_token, build(UNKNOWN))
        assert outcome.advisory and not outcome.violations, (
            f"{rule}: ranges computed during preview are unverifiable: {outcome.describe()}"
        )
