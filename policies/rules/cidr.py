"""Is a list of source ranges "the internet"? One answer, by address arithmetic, for every rule that asks.

Comparing strings with "0.0.0.0/0" misses every other way to admit the internet: `0.0.0.0/1` plus
`128.0.0.0/1`, `::/0` written `::0/0`, `2000::/3` (all of IPv6 global unicast), `1.0.0.0/8`, or a dozen /4s.
`exposure` counts the public addresses each entry admits, and their union, with `ipaddress`:

- an entry that admits more public addresses than one range of the configured prefix (`publicCidrLimits`,
  /16 for IPv4 and /32 for IPv6 by default) exposes the resource;
- so does a list whose union covers more than `maxShare` of the public address space;
- private, loopback, link-local, shared (CGNAT), documentation, multicast and reserved ranges are not public
  (IANA special-purpose registries, RFC 6890: https://www.iana.org/assignments/iana-ipv4-special-registry,
  https://www.iana.org/assignments/iana-ipv6-special-registry); IPv6 public space is global unicast
  2000::/3 (RFC 4291 section 2.4);
- the wildcards of Azure NSG rules and service tags (`*`, `Any`, `Internet`) are the whole internet
  (https://learn.microsoft.com/azure/virtual-network/service-tags-overview);
- an unknown entry (computed during preview), a non-string or an unparsable string is unverifiable, never
  "not public".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from policies.rules.base import UNKNOWN, Setting, as_list

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NOT_PUBLIC_V4 = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # RFC 1918
    "100.64.0.0/10",  # shared address space (CGNAT), RFC 6598
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local
    "172.16.0.0/12",  # RFC 1918
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # TEST-NET-1
    "192.168.0.0/16",  # RFC 1918
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",  # TEST-NET-3
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the limited broadcast address
)
_NOT_PUBLIC_V6 = ("2001:db8::/32",)  # documentation, inside 2000::/3


def _public_space(whole: str, excluded: Iterable[str]) -> tuple[Network, ...]:
    parts: list[Network] = [ipaddress.ip_network(whole)]
    for text in excluded:
        hole = ipaddress.ip_network(text)
        split: list[Network] = []
        for part in parts:
            if part.overlaps(hole):
                split.extend(part.address_exclude(hole) if hole.subnet_of(part) else [])  # type: ignore[arg-type]
            else:
                split.append(part)
        parts = split
    return tuple(sorted(parts))


_PUBLIC: dict[int, tuple[Network, ...]] = {
    4: _public_space("0.0.0.0/0", _NOT_PUBLIC_V4),
    6: _public_space("2000::/3", _NOT_PUBLIC_V6),
}
_PUBLIC_TOTAL = {version: sum(net.num_addresses for net in nets) for version, nets in _PUBLIC.items()}

_INTERNET_WORDS = frozenset({"*", "any", "internet"})
"""Azure NSG wildcards and the Internet service tag: every public address."""
_NOT_PUBLIC_WORDS = frozenset({"virtualnetwork", "azureloadbalancer"})
"""Azure service tags that name no public source (the VNet's own space, the platform's health probes)."""

DEFAULT_LIMITS = {"ipv4": 16, "ipv6": 32, "maxShare": 0.5}

PUBLIC_CIDR_LIMITS = Setting(
    "publicCidrLimits",
    {
        "type": "object",
        "default": dict(DEFAULT_LIMITS),
        "description": (
            "When a source range counts as the internet: an entry admitting more public addresses than one IPv4 "
            "range of prefix `ipv4` (or IPv6 prefix `ipv6`), or a list whose ranges together cover more than "
            "`maxShare` (0-1) of the public address space. Private, CGNAT, loopback, link-local, documentation "
            "and multicast ranges never count."
        ),
        "properties": {
            "ipv4": {"type": "integer", "minimum": 0, "maximum": 32},
            "ipv6": {"type": "integer", "minimum": 0, "maximum": 128},
            "maxShare": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class Exposure:
    """What a list of source ranges admits from the internet."""

    public: tuple[str, ...] = ()
    """The entries that each admit too broad a public range (as written)."""
    covers_most: bool = False
    """True when the entries together cover more than the allowed share of the public address space."""
    unverifiable: tuple[str, ...] = ()
    """The entries that could not be read: unknown, not a string, or not an address range."""

    @property
    def exposed(self) -> bool:
        """True when the list admits the internet, whatever the unverifiable entries turn out to be."""
        return bool(self.public) or self.covers_most

    def describe(self) -> str:
        """The offending entries for a message."""
        if self.public:
            return ", ".join(self.public)
        return "ranges that together cover most of the public address space"


def _limits(config: dict[str, Any] | None) -> dict[str, Any]:
    given = (config or {}).get(PUBLIC_CIDR_LIMITS.name)
    limits = dict(DEFAULT_LIMITS)
    if isinstance(given, dict):
        limits.update({key: value for key, value in given.items() if isinstance(value, int | float)})
    return limits


def _public_parts(network: Network) -> list[Network]:
    """The public sub-ranges of `network` (CIDR blocks nest or are disjoint, so overlap means containment)."""
    parts = []
    for public in _PUBLIC[network.version]:
        if network.overlaps(public):
            parts.append(network if network.prefixlen >= public.prefixlen else public)
    return parts


def parse_range(entry: Any) -> Network | Any | None:
    """The network an entry names; None for a named source that is not public; `UNKNOWN` when unverifiable.

    The whole internet is returned as `0.0.0.0/0` for the wildcards `*`, `Any` and the tag `Internet`.
    """
    if entry is UNKNOWN or not isinstance(entry, str):
        return UNKNOWN
    text = entry.strip()
    if text.lower() in _INTERNET_WORDS:
        return ipaddress.ip_network("0.0.0.0/0")
    if text.lower() in _NOT_PUBLIC_WORDS:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return UNKNOWN


def exposure(entries: Any, config: dict[str, Any] | None = None) -> Exposure:
    """How much of the internet `entries` (a list of CIDRs, addresses or NSG words) admits.

    Args:
        entries: the list as read from props; `UNKNOWN` (the whole list unknown) is unverifiable.
        config: the rule's configuration, for `publicCidrLimits` (defaults apply when absent).
    """
    if entries is UNKNOWN:
        return Exposure(unverifiable=("the whole list",))
    limits = _limits(config)
    prefix = {4: int(limits["ipv4"]), 6: int(limits["ipv6"])}
    public: list[str] = []
    unverifiable: list[str] = []
    covered: dict[int, list[Network]] = {4: [], 6: []}
    for entry in as_list(entries):
        network = parse_range(entry)
        if network is UNKNOWN:
            unverifiable.append(repr(entry))
            continue
        if network is None:
            continue
        parts = _public_parts(network)
        count = sum(part.num_addresses for part in parts)
        bits = 32 if network.version == 4 else 128
        if count > 2 ** (bits - prefix[network.version]):
            public.append(str(entry).strip())
        covered[network.version].extend(parts)
    share = float(limits["maxShare"])
    covers_most = any(
        sum(net.num_addresses for net in ipaddress.collapse_addresses(nets)) > share * _PUBLIC_TOTAL[version]
        for version, nets in covered.items()
        if nets
    )
    return Exposure(public=tuple(public), covers_most=covers_most, unverifiable=tuple(unverifiable))
