"""The review app served on a free loopback port in a background thread: one place for the browser tests (on
the embedded store) and the Firestore-emulator one, so each test says only what it seeds and what it clicks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from common.bootstrap import Deps
from common.review.app import create_review_app, serve


@contextlib.contextmanager
def served_review_app(deps: Deps) -> Iterator[str]:
    """Yields the app's base URL (``http://127.0.0.1:PORT``); the server is shut down and its socket closed
    afterwards, whatever the test did."""
    server = serve(create_review_app(lambda: deps), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
