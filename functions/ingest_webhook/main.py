"""Cloud Function `ingest_webhook` (HTTP): the signed marketplace webhook (contract in ``common.webhook``).

Thin: enforce method and body size before reading the body, hand the raw bytes and headers to
``common.webhook.handle_webhook``, return its JSON answer (202 with the scan id, or 4xx with a clear error).
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


@functions_framework.http
def ingest_webhook(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    if request.method != "POST":
        return _answer(405, {"error": "use POST"})
    deps = get_deps()
    limit = webhook.max_body_bytes(deps.settings.max_image_bytes)
    if request.content_length is not None and request.content_length > limit:
        return _answer(413, {"error": f"body larger than {limit} bytes"})
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return _answer(413, {"error": f"body larger than {limit} bytes"})
    response = webhook.handle_webhook(deps, request.headers, body)
    return _answer(response.status, response.body)
