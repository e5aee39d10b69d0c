"""Fetching untrusted URLs (listing images, marketplace callbacks) without becoming an SSRF proxy.

A marketplace controls the URL, so it can point us at 127.0.0.1, the VPC, or the metadata server (which hands
out service-account tokens). Rules, after OWASP's SSRF prevention cheat sheet:
- only http and https, no credentials in the URL;
- resolve the host ourselves and refuse if *any* address is not public (loopback, private, link-local,
  multicast, reserved, unspecified, shared/CGNAT) or is a metadata address, judging an IPv6 address that
  carries an IPv4 one (mapped, compatible, SIIT, 6to4, Teredo, NAT64) by the IPv4 address it reaches;
- connect to the address we checked (pinned: a second DNS answer cannot swap it), sending the name as Host
  header and TLS SNI, and verifying the certificate for the name;
- follow at most MAX_REDIRECTS redirects by hand, checking every hop again;
- no content decoding (no gzip bombs), a byte cap while streaming, and one deadline for the whole exchange
  (a watchdog shuts the socket down, so a server trickling headers a byte at a time cannot hold us).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

# The address policy lives in common.addresses; these names stay importable from here (the fetcher's API).
from common.addresses import METADATA_ADDRESSES as METADATA_ADDRESSES
from common.addresses import check_address as check_address
from common.addresses import embedded_ipv4 as embedded_ipv4
from common.errors import FetchRefused

# Redirect hops followed (browsers allow ~20; image CDNs need 1-2, and every hop is another chance to steer us).
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
# Cloud metadata host names (GCP), refused even when private addresses are allowed.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.google.internal.", "metadata", "metadata."})
USER_AGENT = "counterfeit-fetch/1 (+image verification)"


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int
    body: bytes
    content_type: str | None


def _literal(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
    try:
        return [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        return None


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to: every address the name resolves to must pass ``check_address``."""
    if host.lower() in METADATA_HOSTS:
        raise FetchRefused(f"refused: {host} is a cloud metadata host")
    addresses = _literal(host)  # an address literal needs no resolver (and must not depend on one)
    if addresses is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchRefused(f"refused: cannot resolve host {host[:100]!r}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchRefused(f"refused: host {host[:100]!r} has no addresses")
    for ip in addresses:
        why = check_address(ip, allow_private=allow_private)
        if why is not None:
            raise FetchRefused(f"refused: {host[:100]} resolves to {why}")
    return str(addresses[0])


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("refused: malformed URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"refused: only http and https URLs are fetched, not {scheme[:20]!r}")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("refused: URLs with credentials are not fetched")
    host = parts.hostname
    if not host:
        raise FetchRefused("refused: URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _connection(scheme: str, host: str, ip: str, port: int, timeout: float) -> HTTPConnection:
    """A connection to the checked address ``ip``, sending ``host`` as SNI and verifying the certificate for it."""
    if scheme == "https":
        return HTTPSConnection(
            ip, port, timeout=timeout, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED"
        )
    return HTTPConnection(ip, port, timeout=timeout)


class _Watchdog:
    """Shuts the connection's socket down when the deadline passes.

    Why: a socket timeout bounds one ``recv``, and restarts with every byte, so a server that sends the status
    line, the headers or the body a byte a second holds a fetch for as long as it likes. Shutting the socket
    down wakes whatever read or write is blocked on it; ``fired`` then turns the resulting error, or the early
    end of the body, into the deadline refusal. Connect and the TLS handshake are bounded by their own
    timeouts (set to the time left, and CPython applies a handshake's timeout to the whole handshake)."""

    def __init__(self, conn: HTTPConnection, seconds: float) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._finished = False
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.fired = True
            sock = self._conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed, or detached while TLS wraps it
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._finished = True
        self._timer.cancel()


def request(
    method: str,
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool = False,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
) -> FetchResult:
    """One HTTP exchange under the SSRF rules; the response body is read up to ``max_bytes``. ``timeout_s``
    is one deadline for the whole exchange: every hop's connect, TLS, request, headers and body."""
    deadline = time.monotonic() + timeout_s
    too_slow = f"refused: fetch took longer than {timeout_s:g}s"
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _split(url)
        ip = resolve(host, port, allow_private=allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(too_slow)
        default_port = port == (443 if scheme == "https" else 80)
        send = {
            "Host": host if default_port else f"{host}:{port}",
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",
        } | dict(headers or {})
        conn = _connection(scheme, host, ip, port, remaining)
        try:
            with _Watchdog(conn, remaining) as watchdog:
                try:
                    conn.connect()
                    if watchdog.fired:
                        raise FetchRefused(too_slow)
                    conn.request(
                        method, path, body=body, headers=send, preload_content=False, decode_content=False
                    )
                    resp = conn.getresponse()
                    try:
                        if (
                            follow_redirects
                            and resp.status in REDIRECT_STATUSES
                            and resp.headers.get("Location")
                        ):
                            url = urljoin(url, resp.headers["Location"])
                            if resp.status == 303:
                                method, body = "GET", None
                            continue
                        data = _read_capped(resp, max_bytes, deadline, timeout_s)
                        if watchdog.fired:  # the body "ended" because the deadline shut the socket
                            raise FetchRefused(too_slow)
                        return FetchResult(url, resp.status, data, resp.headers.get("Content-Type"))
                    finally:
                        resp.close()
                except FetchRefused:
                    raise
                except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
                    raise _refusal(exc, host, too_slow, watchdog.fired) from exc
        finally:
            conn.close()
    raise FetchRefused(f"refused: more than {MAX_REDIRECTS} redirects")


def _refusal(exc: Exception, host: str, too_slow: str, deadline_passed: bool) -> FetchRefused:
    """The one-line refusal for a failed exchange (never the exception text: it may carry the server's bytes)."""
    if deadline_passed:
        return FetchRefused(too_slow)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return FetchRefused(f"refused: could not connect to {host[:100]}")
    if isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError):
        return FetchRefused(too_slow)
    if isinstance(exc, ssl.SSLError | urllib3.exceptions.SSLError):
        return FetchRefused(f"refused: TLS verification failed for {host[:100]}")
    return FetchRefused(f"refused: could not fetch from {host[:100]} ({exc.__class__.__name__})")


def _read_capped(resp: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float, timeout_s: float) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FetchRefused(f"refused: response is {int(declared)} bytes, limit {max_bytes}")
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchRefused(f"refused: fetch took longer than {timeout_s:g}s")
        chunk = resp.read1(CHUNK_BYTES)  # returns what has arrived, so the deadline is checked often
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise FetchRefused(f"refused: response exceeds the {max_bytes}-byte limit")
        chunks.append(chunk)


def fetch_image(url: str, *, max_bytes: int, timeout_s: float, allow_private: bool = False) -> bytes:
    """GET an image URL under the SSRF rules; any non-200 answer is refused with its status."""
    result = request("GET", url, max_bytes=max_bytes, timeout_s=timeout_s, allow_private=allow_private)
    if result.status != 200:
        raise FetchRefused(f"refused: image URL answered HTTP {result.status}")
    return result.body
