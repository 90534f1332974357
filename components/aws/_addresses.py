"""Address checks shared by the AWS components: which IPv4 ranges count as private sources and destinations."""

import ipaddress

PRIVATE_RANGES: tuple[ipaddress.IPv4Network, ...] = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv4Network("100.64.0.0/10"),
)
"""RFC 1918 plus the RFC 6598 shared space (100.64.0.0/10), which VPCs and VPNs also use for private addressing."""


def private_cidr(value: object) -> tuple[ipaddress.IPv4Network | None, str | None]:
    """Parse `value` as a private IPv4 CIDR block.

    Returns:
        The network and None, or None and why `value` is not a private IPv4 CIDR block (a sentence for an
        input error).
    """
    if not isinstance(value, str):
        return None, f"'{value}' is not a CIDR block"
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as error:
        return None, f"'{value}' is not an IPv4 CIDR block: {error}"
    if network.prefixlen == 0:
        return None, f"{value} is every address; list the specific private networks"
    if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
        ranges = ", ".join(str(private) for private in PRIVATE_RANGES)
        return None, f"{value} is not inside a private range ({ranges})"
    return network, None


def cidr_slug(network: ipaddress.IPv4Network) -> str:
    """A resource-name fragment for a CIDR block: 10.20.0.0/16 -> 10-20-0-0-16."""
    return str(network).replace(".", "-").replace("/", "-")
