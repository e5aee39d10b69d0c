"""Cloud Function `authenticate` (HTTP): close-up authentication of a physical item (``common.authenticate``).

Thin: enforce method and body size before reading the body, hand the raw bytes and headers to
``common.authenticate.http.handle_authenticate`` (signed like the webhook), return its JSON answer.
"""

from __future__ import annotations

import json

import flask
import functions_framework

from common.authenticate import http
from common.bootstrap import get_deps
from common.entrypoints import configure_logging

configure_logging()
JSON = {"Content-Type": "application/json"}


def _answer(status: int, body: dict) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body), status, JSON


@functions_framework.http
def authenticate(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    if request.method != "POST":
        return _answer(405, {"error": "use POST"})
    limit = http.MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > limit:
        return _answer(413, {"error": f"body larger than {limit} bytes"})
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return _answer(413, {"error": f"body larger than {limit} bytes"})
    status, answer = http.handle_authenticate(get_deps(), request.headers, body)
    return _answer(status, answer)
