"""Cloud Function `ingest_webhook` (HTTP): the signed marketplace webhook (contract in ``common.webhook``).

Thin: enforce method and body size (``webhook.max_body_bytes``: 16 MiB) before reading the body and while
reading it, hand the raw bytes and headers to ``common.webhook.handle_webhook``, return its JSON answer (202
with the scan id, or 4xx with a clear error).
"""

from __future__ import annotations

import json
import logging

import flask
import functions_framework

from common import webhook
from common.bootstrap import get_deps
from common.entrypoints import configure_logging

configure_logging()
log = logging.getLogger("functions.ingest_webhook")
JSON = {"Content-Type": "application/json"}


def _answer(status: int, body: dict) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body), status, JSON


def _unread(status: int, body: dict) -> flask.Response:
    """An answer that leaves the rest of the request body unread. functions-framework reads the whole request
    into memory after every non-streamed response (``read_request``), which would undo the size limit; a
    streamed answer skips that, and the server discards the unread bytes (gunicorn drains them in 8 KiB reads;
    Cloud Run caps a request at 32 MiB)."""
    return flask.Response(iter([json.dumps(body).encode()]), status=status, mimetype="application/json")


@functions_framework.http
def ingest_webhook(request: flask.Request) -> tuple[str, int, dict[str, str]] | flask.Response:
    if request.method != "POST":
        return _unread(405, {"error": "use POST"})
    deps = get_deps()
    limit = webhook.max_body_bytes(deps.settings.max_image_bytes)
    if request.content_length is not None and request.content_length > limit:
        return _unread(413, {"error": f"body larger than {limit} bytes"})
    body = webhook.read_body(request.stream, limit)  # chunked bodies: no Content-Length, so capped while read
    if body is None:
        return _unread(413, {"error": f"body larger than {limit} bytes"})
    response = webhook.handle_webhook(deps, request.headers, body)
    return _answer(response.status, response.body)
