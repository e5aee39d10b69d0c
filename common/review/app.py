"""The review web page: a Flask app over any DocumentStore, run locally or as an HTTP Cloud Function.

Assembled here from small modules: ``context`` (stores scoped to the reviewer, rendering, brand checks),
``session`` (sign-in, CSRF, security headers), ``routes`` (queue, item, images, PDF, decisions),
``case_routes`` (enforcement cases), ``cluster_routes`` (clusters, seller ranking), ``templates``.

Why server-rendered HTML: a legal reviewer needs a queue, two pictures and three buttons; plain forms work in
every browser, behind IAP, and under a strict Content-Security-Policy. The one script (``static/review.js``,
same-origin only) adds keyboard shortcuts to links and buttons that work without it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from common.review.auth import fetch_iap_certs
from common.review.bulk_routes import register_bulk_routes
from common.review.case_routes import register_case_routes
from common.review.cluster_routes import register_cluster_routes
from common.review.context import ReviewContext
from common.review.dashboard_routes import register_dashboard_routes
from common.review.routes import register_routes
from common.review.session import register_session

STATIC_DIR = Path(__file__).resolve().parent / "static"  # review.js; served behind the same sign-in


def create_review_app(
    deps_factory: Callable[[], Any],
    *,
    trust_iap: bool | None = None,
    iap_audience: str | None = None,
    iap_certs: Callable[[], dict[str, str]] = fetch_iap_certs,
) -> Flask:
    """``deps_factory`` is called on first use (never at import). ``trust_iap`` / ``iap_audience`` default to
    the settings ``review_trust_iap`` / ``review_iap_audience`` (off / unset when the settings do not exist).
    With an audience, the signed IAP assertion is verified (keys from ``iap_certs``, cached an hour); without
    one, the e-mail header alone is trusted, which is safe only when IAP is the function's only ingress."""
    app = Flask("counterfeit_review", static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    ctx = ReviewContext(app, deps_factory, trust_iap, iap_audience, iap_certs)
    app.extensions["review_context"] = ctx  # for scripts/bench_review.py and tests
    register_session(ctx)
    register_routes(ctx)
    register_bulk_routes(ctx)
    register_dashboard_routes(ctx)
    register_case_routes(app, ctx.deps, ctx.load)
    register_cluster_routes(ctx)
    return app


def serve(app: Flask, host: str, port: int) -> Any:
    """A threaded WSGI server whose access log never shows query strings (login tokens)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class RedactingHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = self.path.split("?", 1)[0]
            self.log("info", '"%s %s" %s %s', self.command, path, code, size)

    return make_server(host, port, app, threaded=True, request_handler=RedactingHandler)


def _cmd_serve(args: argparse.Namespace) -> int:
    from common.bootstrap import build_deps
    from common.settings import get_settings

    settings = get_settings()
    if not settings.review_tokens:
        print(
            'REVIEW_TOKENS is empty: set it to a JSON map of token -> brands, e.g. \'{"s3cret": ["acme"]}\'',
            file=sys.stderr,
        )
        return 2
    server = serve(create_review_app(lambda: build_deps(settings)), args.host, args.port)
    print(f"review page on http://{args.host}:{server.server_port}/  (sign in with ?token=… once)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _cmd_rebuild_queue(args: argparse.Namespace) -> int:
    from common.bootstrap import build_deps
    from common.review.queue_rebuild import rebuild_queue
    from common.settings import get_settings

    deps = build_deps(get_settings())
    brands = [args.brand] if args.brand else [p.rsplit("/", 1)[1] for p, _ in deps.docs.list("brands")]
    for brand in brands:
        read, changed = rebuild_queue(deps.docs, brand)
        print(f"{brand}: {read} verdicts, {changed} queue rows updated")
    return 0


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command, add_group

    sub = add_group(subparsers, "review", help="the human review page", dest="review_command")
    srv = add_command(
        sub,
        "serve",
        help="serve the review page locally (sign-in tokens from REVIEW_TOKENS)",
        examples=[
            'counterfeit review serve --port 8080     # with REVIEW_TOKENS=\'{"s3cret": ["acme"]}\' set',
        ],
    )
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=8088, help="port to listen on (default 8088; 0 picks one)")
    srv.set_defaults(func=_cmd_serve)
    reb = add_command(
        sub,
        "rebuild-queue",
        help="rebuild the queue's one-row-per-listing documents from the verdicts (idempotent)",
        examples=["counterfeit review rebuild-queue --brand acme   # verdicts recorded before queue rows"],
    )
    reb.add_argument("--brand", help="one brand (default: every brand this caller may see)")
    reb.set_defaults(func=_cmd_rebuild_queue)
