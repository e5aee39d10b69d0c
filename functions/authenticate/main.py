"""Cloud Function `authenticate` (HTTP): close-up authentication of a physical item (``common.authenticate``).

Thin, like ``ingest_webhook``: enforce method and body size (``http.MAX_BODY_BYTES``) before reading the body
and while reading it, hand the raw bytes and headers to ``common.authenticate.http.handle_authenticate``
(signed like the webhook), return its JSON answer.
"""

from __future__ import annotations

import json

import flask
import functions_framework

from common import webhook
from common.authenticate import http
from common.bootstrap import get_deps
from common.entrypoints import configure_logging

configure_logging()
JSON = {"Content-Type": "application/json"}


def _answer(status: int, body: dict) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body), status, JSON


def _unread(status: int, body: dict) -> flask.Response:
    """An answer that leaves the rest of the body unread (see functions/ingest_webhook/main.py: a streamed
    response keeps functions-framework from reading the whole request after it)."""
    return flask.Response(iter([json.dumps(body).encode()]), status=status, mimetype="application/json")


@functions_framework.http
def authenticate(request: flask.Request) -> tuple[str, int, dict[str, str]] | flask.Response:
    if request.method != "POST":
        return _unread(405, {"error": "use POST"})
    limit = http.MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > limit:
        return _unread(413, {"error": f"body larger than {limit} bytes"})
    body = webhook.read_body(request.stream, limit)  # chunked bodies: no Content-Length, capped while read
    if body is None:
        return _unread(413, {"error": f"body larger than {limit} bytes"})
    status, answer = http.handle_authenticate(get_deps(), request.headers, body)
    return _answer(status, answer)
