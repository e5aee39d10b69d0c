"""Cloud Function `review` (HTTP): the human review page (``common.review.app``), behind IAP in the cloud.

Thin: build the Flask review app once per instance (dependencies on first request, not at import) and
dispatch the request to it.
"""

from __future__ import annotations

import flask
import functions_framework

from common.bootstrap import get_deps
from common.review.app import create_review_app

_app: flask.Flask | None = None


def _review_app() -> flask.Flask:
    global _app
    if _app is None:
        _app = create_review_app(get_deps)
    return _app


@functions_framework.http
def review(request: flask.Request) -> flask.Response:
    app = _review_app()
    with app.request_context(request.environ):
        return app.full_dispatch_request()
