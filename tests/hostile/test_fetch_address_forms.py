"""IPv6 forms that carry an IPv4 address (6to4, Teredo, NAT64, IPv4-compatible/-translated/-mapped): the
address check decodes the IPv4 address a packet would reach and applies the IPv4 policy to it, so
``2002:7f00:1::`` is loopback and ``64:ff9b::a9fe:a9fe`` is the metadata server, with or without
``allow_private`` (the local stack's allowance, which never admits metadata)."""

from __future__ import annotations

import ipaddress

import pytest

from common.errors import FetchRefused
from common.fetch import check_address, fetch_image

# (address, the IPv4 address embedded in it, how)
LOOPBACK_OR_PRIVATE = [
    ("2002:7f00:1::", "127.0.0.1", "6to4"),
    ("2002:a00:1::1", "10.0.0.1", "6to4"),
    ("2002:c0a8:101::", "192.168.1.1", "6to4"),
    ("2001:0::80ff:fffe", "127.0.0.1", "Teredo"),  # client address = last 32 bits XOR 0xffffffff
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1", "Teredo"),
    ("64:ff9b::7f00:1", "127.0.0.1", "NAT64"),
    ("64:ff9b::10.0.0.1", "10.0.0.1", "NAT64"),
    ("64:ff9b:1:7f00:0:100::", "127.0.0.1", "NAT64 local-use /48 layout"),
    ("::127.0.0.1", "127.0.0.1", "IPv4-compatible"),
    ("::ffff:0:127.0.0.1", "127.0.0.1", "IPv4-translated"),
    ("::ffff:10.0.0.1", "10.0.0.1", "IPv4-mapped"),
]
METADATA = [
    "2002:a9fe:a9fe::",  # 6to4
    "2001:0::5601:5601",  # Teredo
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix, /96 layout
    "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 local-use prefix, /48 layout (u octet skipped)
    "::a9fe:a9fe",  # IPv4-compatible
    "::ffff:0:a9fe:a9fe",  # IPv4-translated (SIIT)
    "::ffff:a9fe:a9fe",  # IPv4-mapped
    "2002:6464:64c8::",  # 6to4 of Alibaba's 100.100.100.200
]


@pytest.mark.parametrize("address, ipv4, form", LOOPBACK_OR_PRIVATE)
def test_embedded_internal_ipv4_is_refused(address: str, ipv4: str, form: str) -> None:
    ip = ipaddress.ip_address(address)
    why = check_address(ip, allow_private=False)
    assert why is not None, f"{address} ({form} of {ipv4}) passed"
    with pytest.raises(FetchRefused, match="refused"):
        fetch_image(f"http://[{address}]/x.jpg", max_bytes=1000, timeout_s=2)


@pytest.mark.parametrize("address", METADATA)
def test_embedded_metadata_address_is_refused_even_when_private_is_allowed(address: str) -> None:
    for allow_private in (False, True):
        why = check_address(ipaddress.ip_address(address), allow_private=allow_private)
        assert why is not None and "metadata" in why, (address, allow_private, why)


@pytest.mark.parametrize(
    "address",
    [
        "2001:0::ffff:ffff",
        "::ffff:0:0.0.0.0",
        "64:ff9b::e000:1",
        "2002:e000:1::",
    ],  # 0.0.0.0, 224.0.0.1 inside
)
def test_embedded_unspecified_or_multicast_is_refused_when_private_is_allowed(address: str) -> None:
    assert check_address(ipaddress.ip_address(address), allow_private=True) is not None


def test_embedded_public_ipv4_is_judged_as_that_address() -> None:
    """Decoding, not a blanket refusal: 6to4 and NAT64 of a public address (93.184.216.34) pass."""
    for address in ("2002:5db8:d822::1", "64:ff9b::5db8:d822"):
        assert check_address(ipaddress.ip_address(address), allow_private=False) is None, address
