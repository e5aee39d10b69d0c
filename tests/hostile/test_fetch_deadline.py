"""Slow-loris on the response: a loopback server that answers one byte per second. A socket timeout restarts
on every byte, so only a deadline enforced for the whole exchange (connect, headers, body) stops it.

The bound checked is the fetch's own contract (fails by its deadline); the slack is generous on purpose (a
shared CI machine), and the server would keep trickling for far longer than deadline + slack."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from common.errors import FetchRefused
from common.fetch import fetch_image, request

DEADLINE_S = 2.0
SLACK_S = 3.0
TRICKLE_FOR_S = 15.0  # what an unbounded fetch would be held for


class TrickleServer:
    """Accepts connections, reads the request, then writes ``prefix`` at once and ``drip`` one byte a second."""

    def __init__(self, prefix: bytes, drip: bytes) -> None:
        self.prefix, self.drip = prefix, drip
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/x.jpg"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(self.prefix)
            started = time.monotonic()
            for byte in self.drip:
                if self.stop.is_set() or time.monotonic() - started > TRICKLE_FOR_S:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(1.0)


@pytest.fixture
def trickling() -> Iterator[type[TrickleServer]]:
    servers: list[TrickleServer] = []

    def make(prefix: bytes, drip: bytes) -> TrickleServer:
        server = TrickleServer(prefix, drip)
        server.thread.start()
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.stop.set()
        server.thread.join(timeout=2)
        server.sock.close()


def _timed(url: str, **kwargs: object) -> tuple[float, str]:
    started = time.monotonic()
    with pytest.raises(FetchRefused) as info:
        fetch_image(url, max_bytes=1_000_000, timeout_s=DEADLINE_S, allow_private=True, **kwargs)  # type: ignore[arg-type]
    return time.monotonic() - started, str(info.value)


def test_headers_one_byte_per_second_fail_at_the_deadline(trickling) -> None:
    server = trickling(b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100)
    elapsed, message = _timed(server.url)
    assert "longer than" in message
    assert elapsed <= DEADLINE_S + SLACK_S, f"held {elapsed:.1f}s for a {DEADLINE_S}s deadline"


def test_status_line_one_byte_per_second_fails_at_the_deadline(trickling) -> None:
    server = trickling(b"", b"HTTP/1.1 200 OK\r\n\r\n")
    elapsed, message = _timed(server.url)
    assert "longer than" in message and elapsed <= DEADLINE_S + SLACK_S


def test_body_one_byte_per_second_is_not_returned_truncated(trickling) -> None:
    """The deadline closes the socket mid-body: that must be a refusal, never a short body taken as whole."""
    server = trickling(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n", b"x" * 100)
    elapsed, message = _timed(server.url)
    assert "longer than" in message and elapsed <= DEADLINE_S + SLACK_S


def test_callback_posts_share_the_deadline(trickling) -> None:
    server = trickling(b"", b"HTTP/1.1 200 OK\r\n" + b"X" * 100)
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="longer than"):
        request(
            "POST", server.url, max_bytes=1000, timeout_s=DEADLINE_S, allow_private=True, body=b"{}",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
    assert time.monotonic() - started <= DEADLINE_S + SLACK_S
