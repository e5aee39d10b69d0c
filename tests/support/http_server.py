"""A loopback HTTP server with programmable routes, for fetch, webhook-image and callback tests.

Real sockets on loopback (127.0.0.1 unless ``host`` names another 127/8 address): the SSRF rules must be
exercised against a real resolver and a real connection, not a mock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A route answers (status, headers, body); body may be an iterator of chunks (slow or endless responses).
Route = Callable[["Received"], tuple[int, dict[str, str], bytes | Iterator[bytes]]]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def bytes_route(self, path: str, body: bytes, content_type: str = "image/jpeg", status: int = 200) -> str:
        self.routes[path] = lambda _req: (status, {"Content-Type": content_type}, body)
        return self.url(path)

    def redirect_route(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = lambda _req: (status, {"Location": location}, b"")
        return self.url(path)

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Received(
                    self.command, self.path, dict(self.headers), self.rfile.read(length) if length else b""
                )
                server.received.append(req)
                route = server.routes.get(self.path.split("?", 1)[0])
                status, headers, body = route(req) if route else (404, {}, b"not found")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.end_headers()
                try:
                    for chunk in body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def trickle(chunks: int, delay_s: float, size: int = 1024) -> Iterator[bytes]:
    """A slow body: ``chunks`` pieces ``delay_s`` apart (tests a fetch's overall deadline)."""
    for _ in range(chunks):
        yield b"x" * size
        time.sleep(delay_s)
