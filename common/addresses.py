"""Which addresses an outbound request may reach (the address half of the SSRF rules in ``common.fetch``).

Public unicast only, by the IANA special-purpose registries as Python's ``ipaddress`` knows them, with the cloud
metadata addresses refused even on the local stack; an IPv6 address that carries an IPv4 one (IPv4-mapped,
-compatible, -translated, 6to4, Teredo, NAT64) is judged by the IPv4 address a packet to it reaches.
"""

from __future__ import annotations

import ipaddress

# Cloud metadata addresses (GCP, AWS IPv4/IPv6, Alibaba), refused even when private addresses are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# IPv6 forms that carry an IPv4 address: a packet to them reaches that IPv4 address through a translator or a
# tunnel, so the IPv4 policy applies to what is embedded (``2002:7f00:1::`` is 127.0.0.1 through 6to4).
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: the operator picks an RFC 6052 layout
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): the last 32 bits
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291, deprecated: the last 32 bits (:: and ::1 aside)
# RFC 6052 prefix lengths that fit inside NAT64_LOCAL_USE, as (start bit of the IPv4 address once the reserved
# "u" octet, bits 64-71, is removed); /96 puts the address in the last 32 bits.
RFC6052_LAYOUTS = (48, 56, 64)


def _rfc6052_candidates(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an RFC 6052 layout could put in ``ip``: the local-use prefix does not say which."""
    value = int(ip)
    without_u = (value >> 64) << 56 | (value & ((1 << 56) - 1))  # 120 bits
    found = [ipaddress.IPv4Address((without_u >> (88 - start)) & 0xFFFFFFFF) for start in RFC6052_LAYOUTS]
    return [*found, ipaddress.IPv4Address(value & 0xFFFFFFFF)]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address], bool] | None:
    """(form, the IPv4 addresses a packet to ``ip`` may reach, whether ``ip`` is only a spelling of them), or
    None. Translation forms (mapped, NAT64 well-known, SIIT) are judged by the IPv4 address alone; tunnel and
    deprecated forms (6to4, Teredo, IPv4-compatible, local-use NAT64) must also pass as IPv6 addresses."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", [ip.ipv4_mapped], True
    if ip in NAT64_WELL_KNOWN:
        return "NAT64", [low32], True
    if ip in IPV4_TRANSLATED:
        return "IPv4-translated", [low32], True
    if ip.sixtofour is not None:
        return "6to4", [ip.sixtofour], False
    if ip.teredo is not None:  # (server, client); the client is the last 32 bits XOR 0xffffffff
        return "Teredo", list(ip.teredo), False
    if ip in NAT64_LOCAL_USE:
        return "local-use NAT64", _rfc6052_candidates(ip), False
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", [low32], False
    return None


def check_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> str | None:
    """Why this address may not be contacted, or None. ``allow_private`` (local stack only) admits loopback
    and private ranges but never metadata, multicast or unspecified addresses. An IPv6 address carrying an
    IPv4 address (``embedded_ipv4``) is refused when any IPv4 address it may reach is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            form, addresses, spelling_only = embedded
            refused = [
                (why, inner)
                for inner in addresses
                if (why := check_address(inner, allow_private=allow_private))
            ]
            if refused:  # name the metadata server when it is one of them: it is the reason that matters most
                why, inner = min(refused, key=lambda item: "metadata" not in item[0])
                return f"{why} ({inner} inside a {form} address)"
            if spelling_only:
                return None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None
