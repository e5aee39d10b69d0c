"""Image URLs aimed inside the network: direct addresses, DNS names and redirects, through ``fetch_image``.

The network boundary is instrumented, not our code: ``socket.getaddrinfo`` answers for names we control (so a
"public" CDN name and DNS-rebinding names work offline) and ``socket.socket.connect`` records every connection
attempt, forwarding the one simulated public address to a loopback server (a NAT at the boundary). A refusal
must happen before any connection to the forbidden address.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from common.errors import FetchRefused
from common.fetch import fetch_image
from tests.support.http_server import LoopbackServer
from tests.support.kits import jpeg_bytes, pattern_image

PUBLIC_IP = "93.184.216.34"  # a global unicast address (example.com's); never actually contacted
IMAGE = jpeg_bytes(pattern_image(3))
LIMITS = {"max_bytes": 5_000_000, "timeout_s": 5.0}

# name -> addresses our boundary resolver answers (everything else resolves offline as usual)
FAKE_DNS = {
    "cdn.example": [PUBLIC_IP],
    "private.example": ["10.1.2.3"],
    "rebind.example": [PUBLIC_IP, "127.0.0.1"],  # one good answer does not launder a bad one
    "v6loop.example": ["::1"],
    "mapped.example": ["::ffff:169.254.169.254"],
    "cgnat.example": ["100.64.1.1"],
    "linklocal6.example": ["fe80::1"],
}

DIRECT = [
    "http://127.0.0.1/x.jpg",
    "http://127.1/x.jpg",
    "http://2130706433/x.jpg",  # decimal form of 127.0.0.1
    "http://0x7f000001/x.jpg",
    "http://0177.0.0.1/x.jpg",  # octal
    "http://[::1]/x.jpg",
    "http://[::ffff:127.0.0.1]/x.jpg",
    "http://0.0.0.0/x.jpg",
    "http://localhost/x.jpg",
    "http://localhost./x.jpg",
    "http://10.0.0.1/x.jpg",
    "http://172.16.5.4/x.jpg",
    "http://192.168.1.1/x.jpg",
    "http://[fc00::1]/x.jpg",
    "http://100.64.0.1/x.jpg",
    "http://169.254.1.1/x.jpg",
    "http://[fe80::1]/x.jpg",
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://224.0.0.1/x.jpg",
    "http://private.example/x.jpg",
    "http://rebind.example/x.jpg",
    "http://v6loop.example/x.jpg",
    "http://mapped.example/x.jpg",
    "http://cgnat.example/x.jpg",
    "http://linklocal6.example/x.jpg",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://cdn.example/x.jpg",
    "dict://127.0.0.1:11211/stat",
    "http://user:pass@cdn.example/x.jpg",
    "http:///x.jpg",
    "http://cdn.example:99999/x.jpg",
]


class Boundary:
    """Records every connect() and NATs the simulated public address to the loopback server."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.connects: list[tuple[str, int]] = []


@pytest.fixture
def boundary(monkeypatch: pytest.MonkeyPatch) -> Iterator[Boundary]:
    server = LoopbackServer().start()
    state = Boundary(server)
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def fake_getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name in FAKE_DNS:
            out = []
            for addr in FAKE_DNS[name]:
                family = socket.AF_INET6 if ":" in addr else socket.AF_INET
                sockaddr = (addr, port or 0, 0, 0) if family == socket.AF_INET6 else (addr, port or 0)
                out.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return out
        return real_getaddrinfo(host, port, *args, **kwargs)

    def recording_connect(sock, address):  # type: ignore[no-untyped-def]
        host, port = address[0], address[1]
        state.connects.append((host, port))
        if host == PUBLIC_IP:
            return real_connect(sock, ("127.0.0.1", server.port))
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    yield state
    server.stop()


@pytest.mark.parametrize("url", DIRECT)
def test_internal_urls_are_refused_without_connecting(boundary: Boundary, url: str) -> None:
    with pytest.raises(FetchRefused, match="refused") as info:
        fetch_image(url, **LIMITS)
    assert boundary.connects == [], f"{url} opened a connection before being refused"
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_the_simulated_internet_works(boundary: Boundary) -> None:
    """Sanity check for the refusals below: a public name really reaches the server through the NAT."""
    boundary.server.bytes_route("/ok.jpg", IMAGE)
    assert fetch_image("http://cdn.example/ok.jpg", **LIMITS) == IMAGE
    assert boundary.connects == [(PUBLIC_IP, 80)]


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/computeMetadata/v1/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/x.jpg",
        "http://127.0.0.1:{port}/secret.jpg",
        "http://localhost:{port}/secret.jpg",
        "http://[::1]:{port}/secret.jpg",
        "http://rebind.example/x.jpg",
        "http://mapped.example/x.jpg",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_x",
    ],
)
def test_redirects_to_internal_targets_are_refused(boundary: Boundary, location: str) -> None:
    server = boundary.server
    server.bytes_route("/secret.jpg", b"INTERNAL-SECRET")
    server.redirect_route("/hop", location.format(port=server.port))
    with pytest.raises(FetchRefused, match="refused"):
        fetch_image("http://cdn.example/hop", **LIMITS)
    assert boundary.connects == [(PUBLIC_IP, 80)], "only the first, public hop may connect"
    assert [r.path for r in server.received] == ["/hop"]


def test_redirect_chain_through_public_hops_then_private_is_refused(boundary: Boundary) -> None:
    server = boundary.server
    server.redirect_route("/a", "http://cdn.example/b", status=301)
    server.redirect_route("/b", "/c", status=307)
    server.redirect_route("/c", "http://192.168.0.10/x.jpg", status=308)
    with pytest.raises(FetchRefused, match="private"):
        fetch_image("http://cdn.example/a", **LIMITS)
    assert all(host == PUBLIC_IP for host, _ in boundary.connects)


def test_local_stack_allowance_never_admits_metadata(boundary: Boundary) -> None:
    """``allow_private`` (the emulator stack only) still refuses metadata, directly and via a redirect."""
    server = boundary.server
    server.bytes_route("/ok.jpg", IMAGE)
    assert fetch_image(server.url("/ok.jpg"), allow_private=True, **LIMITS) == IMAGE
    for target in ("http://169.254.169.254/computeMetadata/v1/", "http://metadata.google.internal/",
                   "http://mapped.example/"):  # fmt: skip
        server.redirect_route("/to-meta", target)
        with pytest.raises(FetchRefused, match="metadata"):
            fetch_image(server.url("/to-meta"), allow_private=True, **LIMITS)
    assert not any(host.endswith("169.254") or host == "169.254.169.254" for host, _ in boundary.connects)
