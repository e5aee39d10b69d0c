"""SSRF-safe fetching against a real loopback server and the real resolver."""

from __future__ import annotations

import ipaddress
import re

import pytest

from common.errors import FetchRefused
from common.fetch import MAX_REDIRECTS, check_address, fetch_image, resolve
from tests.support.http_server import LoopbackServer, trickle

LIMIT = 1_000_000


@pytest.fixture
def server():
    srv = LoopbackServer().start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "address, why",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"),  # shared address space (CGNAT)
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:169.254.169.254", "metadata"),
        ("240.0.0.1", "reserved|private"),  # Python files 240/4 under both
    ],
)
def test_non_public_addresses_are_refused(address, why):
    reason = check_address(ipaddress.ip_address(address), allow_private=False)
    assert reason is not None and re.search(why, reason)


def test_public_addresses_pass_and_allow_private_never_admits_metadata():
    assert check_address(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None
    assert check_address(ipaddress.ip_address("2606:4700::1111"), allow_private=False) is None
    assert check_address(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert "metadata" in check_address(ipaddress.ip_address("169.254.169.254"), allow_private=True)


def test_names_are_resolved_and_checked():
    with pytest.raises(FetchRefused, match="loopback"):
        resolve("localhost", 80, allow_private=False)
    with pytest.raises(FetchRefused, match="metadata host"):
        resolve("metadata.google.internal", 80, allow_private=True)
    assert resolve("localhost", 80, allow_private=True) in ("127.0.0.1", "::1")


@pytest.mark.parametrize(
    "url, match",
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:70/", "only http and https"),
        ("ftp://example.com/a.jpg", "only http and https"),
        ("http://user:pw@127.0.0.1/a.jpg", "credentials"),
        ("http:///a.jpg", "no host"),
        ("http://127.0.0.1:99999/a.jpg", "malformed"),
        ("http://169.254.169.254/computeMetadata/v1/", "metadata"),
        ("http://[::ffff:a9fe:a9fe]/", "metadata"),
        ("http://2130706433/", "loopback|resolve"),  # 127.0.0.1 as one decimal number
    ],
)
def test_bad_urls_are_refused_before_any_connection(url, match):
    with pytest.raises(FetchRefused, match=match):
        fetch_image(url, max_bytes=LIMIT, timeout_s=2)


def test_loopback_refused_by_default_and_served_when_allowed(server):
    url = server.bytes_route("/a.jpg", b"\xff\xd8image-bytes")
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_image(url, max_bytes=LIMIT, timeout_s=2)
    assert server.received == []  # refused before connecting
    assert fetch_image(url, max_bytes=LIMIT, timeout_s=2, allow_private=True) == b"\xff\xd8image-bytes"
    request = server.received[-1]
    assert request.headers["Host"] == f"127.0.0.1:{server.port}"
    assert request.headers["Accept-Encoding"] == "identity"


def test_redirects_are_followed_and_every_hop_rechecked(server):
    final = server.bytes_route("/final.jpg", b"ok")
    server.redirect_route("/r1", final)
    assert fetch_image(server.url("/r1"), max_bytes=LIMIT, timeout_s=2, allow_private=True) == b"ok"

    server.redirect_route("/to-metadata", "http://169.254.169.254/computeMetadata/v1/")
    with pytest.raises(FetchRefused, match="metadata"):
        fetch_image(server.url("/to-metadata"), max_bytes=LIMIT, timeout_s=2, allow_private=True)
    server.redirect_route("/to-file", "file:///etc/passwd")
    with pytest.raises(FetchRefused, match="only http and https"):
        fetch_image(server.url("/to-file"), max_bytes=LIMIT, timeout_s=2, allow_private=True)


def test_redirect_chains_are_capped(server):
    for i in range(MAX_REDIRECTS + 1):
        server.redirect_route(f"/hop{i}", server.url(f"/hop{i + 1}"))
    server.bytes_route(f"/hop{MAX_REDIRECTS + 1}", b"too far")
    with pytest.raises(FetchRefused, match="redirects"):
        fetch_image(server.url("/hop0"), max_bytes=LIMIT, timeout_s=5, allow_private=True)
    assert fetch_image(server.url("/hop1"), max_bytes=LIMIT, timeout_s=5, allow_private=True) == b"too far"


def test_size_cap_applies_to_declared_and_streamed_bodies(server):
    server.bytes_route("/big.jpg", b"x" * 5000)
    with pytest.raises(FetchRefused, match="limit"):
        fetch_image(server.url("/big.jpg"), max_bytes=4096, timeout_s=2, allow_private=True)
    server.routes["/chunked"] = lambda _r: (200, {"Content-Type": "image/jpeg"}, trickle(10, 0.0, 1024))
    with pytest.raises(FetchRefused, match="limit"):
        fetch_image(server.url("/chunked"), max_bytes=4096, timeout_s=2, allow_private=True)


def test_overall_deadline_stops_a_slow_body(server):
    server.routes["/slow"] = lambda _r: (200, {"Content-Type": "image/jpeg"}, trickle(50, 0.1, 16))
    with pytest.raises(FetchRefused, match="longer than"):
        fetch_image(server.url("/slow"), max_bytes=LIMIT, timeout_s=0.5, allow_private=True)


def test_error_statuses_are_refused_with_the_status(server):
    server.bytes_route("/gone.jpg", b"", status=404)
    with pytest.raises(FetchRefused, match="HTTP 404"):
        fetch_image(server.url("/gone.jpg"), max_bytes=LIMIT, timeout_s=2, allow_private=True)
