"""Loopback stand-ins for the discovery APIs and the web they point at.

- ``ScriptedApi``: a real HTTP server the real clients talk to (google-cloud-vision over REST, ``requests`` for
  Brave), answering each path from a script of stored responses (tests/data/discovery) and recording requests.
- ``public_web``: found images live on names such as ``m.media-amazon.com``, all served by one loopback server on
  127.0.0.2. The fetcher's address policy is left as it is except that exactly 127.0.0.2 counts as public and
  those names resolve to it (the allowance of tests/security/test_screenshot_ssrf.py's ``net`` fixture);
  127.0.0.1 and the metadata address stay refused, which the stored responses exercise.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from common import fetch
from tests.support.http_server import LoopbackServer, Received

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery"
PUBLIC_ADDRESS = "127.0.0.2"
WEB_NAMES = (
    "m.media-amazon.com",
    "i.pinimg.com",
    "ae01.alicdn.com",
    "img.wallpapercave.com",
    "cdn.example-market.com",
    "i.ebayimg.com",
    "i.redd.it",
    "i.etsystatic.com",
)
VISION_PATH = "/v1/images:annotate"
BRAVE_PATH = "/res/v1/images/search"


def stored(name: str, port: int | None = None) -> bytes:
    text = (DATA / name).read_text()
    return (text.replace("{port}", str(port)) if port is not None else text).encode()


@dataclass
class ScriptedApi:
    """Each path answers its script in order; the last answer repeats. An answer is (status, headers, body)."""

    server: LoopbackServer = field(default_factory=LoopbackServer)
    scripts: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)

    def start(self) -> ScriptedApi:
        self.server.start()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def script(self, path: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.scripts[path] = list(answers)

        def route(_req: Received) -> tuple[int, dict[str, str], bytes]:
            queue = self.scripts[path]
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            return status, {"Content-Type": "application/json"} | headers, body

        self.server.routes[path] = route

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.server.received if r.path.split("?", 1)[0] == path]

    def vision_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests_to(VISION_PATH)]


@dataclass
class PublicWeb:
    server: LoopbackServer

    @property
    def port(self) -> int:
        return self.server.port

    def serve(self, path: str, body: bytes, content_type: str = "image/jpeg") -> None:
        self.server.bytes_route(path, body, content_type=content_type)

    def fetched(self) -> list[str]:
        return [r.path for r in self.server.received]


@contextlib.contextmanager
def simulated_public_web() -> Iterator[PublicWeb]:
    """The loopback "public web" outside pytest (scripts/discovery_loopback.py); restores the resolver and
    the address check on exit."""
    server = LoopbackServer(host=PUBLIC_ADDRESS).start()
    real_check, real_getaddrinfo = fetch.check_address, socket.getaddrinfo
    simulated = ipaddress.ip_address(PUBLIC_ADDRESS)

    def check_address(ip, *, allow_private):  # type: ignore[no-untyped-def]
        return None if ip == simulated else real_check(ip, allow_private=allow_private)

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host in WEB_NAMES:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC_ADDRESS, port or 0))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    fetch.check_address = check_address  # type: ignore[assignment]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield PublicWeb(server)
    finally:
        fetch.check_address = real_check  # type: ignore[assignment]
        socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
        server.stop()


@pytest.fixture
def public_web() -> Iterator[PublicWeb]:
    """A fixture (tests/conftest.py loads this module as a plugin)."""
    with simulated_public_web() as web:
        yield web


@pytest.fixture
def discovery_api() -> Iterator[ScriptedApi]:
    """A fixture: the loopback stand-in for the Vision and Brave endpoints."""
    scripted = ScriptedApi().start()
    try:
        yield scripted
    finally:
        scripted.server.stop()
