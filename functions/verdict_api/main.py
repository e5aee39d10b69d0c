"""Cloud Function `verdict_api` (HTTP): marketplaces ask for a listing's current verdict and case state.

Thin: hand method, path, raw query string and headers to ``common.verdict_api.handle_verdict_request`` (HMAC
check, brand scope, lookup) and return its JSON answer.
"""

from __future__ import annotations

import json

import flask
import functions_framework

from common import verdict_api as api
from common.bootstrap import get_deps
from common.entrypoints import configure_logging

configure_logging()


@functions_framework.http
def verdict_api(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    query = request.query_string.decode("latin-1")
    response = api.handle_verdict_request(get_deps(), request.method, request.path, query, request.headers)
    return json.dumps(response.body), response.status, {"Content-Type": "application/json"}
