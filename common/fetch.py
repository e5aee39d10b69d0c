"""Fetching untrusted URLs (listing images, marketplace callbacks) without becoming an SSRF proxy.

A marketplace controls the URL, so it can point us at 127.0.0.1, the VPC, or the metadata server (which hands
out service-account tokens). Rules, after OWASP's SSRF prevention cheat sheet:
- only http and https, no credentials in the URL;
- resolve the host ourselves and refuse if *any* address is not public (loopback, private, link-local,
  multicast, reserved, unspecified, shared/CGNAT, IPv4-mapped forms of those) or is a metadata address;
- connect to the address we checked (pinned: a second DNS answer cannot swap it), sending the name as Host
  header and TLS SNI, and verifying the certificate for the name;
- follow at most MAX_REDIRECTS redirects by hand, checking every hop again;
- no content decoding (no gzip bombs), a byte cap while streaming, and an overall deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3

from common.errors import FetchRefused

# Redirect hops followed (browsers allow ~20; image CDNs need 1-2, and every hop is another chance to steer us).
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
# Cloud metadata endpoints (GCP, AWS IPv4/IPv6, Alibaba), refused even when private addresses are allowed.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.google.internal.", "metadata", "metadata."})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
USER_AGENT = "counterfeit-fetch/1 (+image verification)"


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int
    body: bytes
    content_type: str | None


def check_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> str | None:
    """Why this address may not be contacted, or None. ``allow_private`` (local stack only) admits loopback
    and private ranges but never metadata, multicast or unspecified addresses."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return check_address(ip.ipv4_mapped, allow_private=allow_private)
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


def _pool(scheme: str, host: str, ip: str, port: int, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            ip, port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
            cert_reqs="CERT_REQUIRED", maxsize=1,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(ip, port, timeout=timeout, retries=False, maxsize=1)


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
    """One HTTP exchange under the SSRF rules; the response body is read up to ``max_bytes``."""
    deadline = time.monotonic() + timeout_s
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _split(url)
        ip = resolve(host, port, allow_private=allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(f"refused: fetch took longer than {timeout_s:g}s")
        default_port = port == (443 if scheme == "https" else 80)
        send = {
            "Host": host if default_port else f"{host}:{port}",
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",
        } | dict(headers or {})
        pool = _pool(scheme, host, ip, port, urllib3.Timeout(connect=remaining, read=remaining))
        try:
            resp = pool.urlopen(
                method, path, body=body, headers=send, redirect=False, retries=False,
                preload_content=False, decode_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                if follow_redirects and resp.status in REDIRECT_STATUSES and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    if resp.status == 303:
                        method, body = "GET", None
                    continue
                data = _read_capped(resp, max_bytes, deadline, timeout_s)
                return FetchResult(url, resp.status, data, resp.headers.get("Content-Type"))
            finally:
                resp.release_conn()
                resp.close()
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchRefused(f"refused: fetch took longer than {timeout_s:g}s") from exc
        except urllib3.exceptions.SSLError as exc:
            raise FetchRefused(f"refused: TLS verification failed for {host[:100]}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise FetchRefused(
                f"refused: could not fetch from {host[:100]} ({exc.__class__.__name__})"
            ) from exc
        finally:
            pool.close()
    raise FetchRefused(f"refused: more than {MAX_REDIRECTS} redirects")


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
