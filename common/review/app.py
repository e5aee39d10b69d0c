"""The review web page: a Flask app over any DocumentStore, run locally or as an HTTP Cloud Function.

Why server-rendered HTML and no JavaScript: a legal reviewer needs a queue, two pictures and three buttons;
plain forms work in every browser, behind IAP, and under a strict Content-Security-Policy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Flask,
    Response,
    abort,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template_string,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from common import paths
from common import signals as signal_registry
from common.authz import Principal, principal_for_identity, principal_for_review_token, scoped_deps
from common.bootstrap import Deps
from common.enforcement.cases import open_case
from common.evidence.bundle import evidence_doc_path, verify_recorded
from common.evidence.sources import find_reference
from common.messages import BRAND_PATTERN, ID_PATTERN
from common.ports import NotFound
from common.review import csrf, queue_views, templates
from common.review.auth import (
    COOKIE_NAME,
    IAP_CERTS_TTL_S,
    IAP_EMAIL_HEADER,
    IAP_JWT_HEADER,
    bearer_token,
    fetch_iap_certs,
    iap_jwt_email,
)
from common.review.case_routes import case_context, register_case_routes, reviewer_display_name
from common.review.queue import get_item, record_decision
from common.review.queue_list import PAGE_MAX, QueueFilters, count_states, list_queue

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it browsers send ``Origin: null`` with the page's own form posts, the proof CSRF
    # checks refuse. URLs carry no secret (the login token leaves the URL at once), other sites get no Referer.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
COOKIE_MAX_AGE_S = 8 * 3600  # one working day


def _sniff(data: bytes) -> str | None:
    for magic, ctype in IMAGE_MAGIC:
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


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
    app = Flask("counterfeit_review")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    state: dict[str, Any] = {}

    def deps() -> Deps:
        """The reviewer's view of the stores: scoped to the signed-in principal's brands (common.authz), so a
        handler that forgets ``check_brand`` still cannot read another brand."""
        if "deps" not in state:
            state["deps"] = deps_factory()
        principal = g.get("principal") if has_request_context() else None
        return scoped_deps(state["deps"], principal) if principal is not None else state["deps"]

    def iap_on() -> bool:
        if trust_iap is not None:
            return trust_iap
        return bool(getattr(deps().settings, "review_trust_iap", False))

    def audience() -> str | None:
        return iap_audience or getattr(deps().settings, "review_iap_audience", None) or None

    def certs() -> dict[str, str]:
        cached = state.get("iap_certs")
        if cached is None or time.monotonic() - cached[0] > IAP_CERTS_TTL_S:
            cached = (time.monotonic(), iap_certs())
            state["iap_certs"] = cached
        return dict(cached[1])

    def iap_principal(tokens: Any) -> Principal | None:
        aud = audience()
        if aud is None:
            header = request.headers.get(IAP_EMAIL_HEADER)
            return principal_for_identity(header, tokens) if header else None
        assertion = request.headers.get(IAP_JWT_HEADER)
        email = iap_jwt_email(assertion, aud, certs()) if assertion else None
        return principal_for_identity(email, tokens) if email else None

    def render(body: str, status: int = 200, **ctx: Any) -> Response:
        base = app.jinja_env.from_string(templates.BASE)
        principal: Principal | None = g.get("principal")
        html = render_template_string(
            body,
            base=base,
            reviewer=principal.subject if principal else "",
            csrf_token=g.get("csrf_token", ""),
            **ctx,
        )
        return Response(html, status=status, mimetype="text/html")

    def check_brand(brand: str) -> None:
        if not re.fullmatch(BRAND_PATTERN, brand):
            abort(404)
        if not g.principal.allows(brand):
            abort(403)

    def csrf_key() -> bytes:
        if "csrf_key" not in state:
            state["csrf_key"] = csrf.signing_key(deps().docs)
        return bytes(state["csrf_key"])

    def session_cookie(response: BaseResponse, session_id: str) -> None:
        response.set_cookie(
            csrf.SESSION_COOKIE,
            session_id,
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )

    def refuse_cross_site(*, signed_in_by_cookie: bool) -> None:
        """CSRF (``common.review.csrf``): the session's token for the forms, checked on every state-changing
        request signed in by a cookie (token cookie or IAP); cross-origin proofs refused on all of them."""
        session_id = request.cookies.get(csrf.SESSION_COOKIE)
        if signed_in_by_cookie and not csrf.is_session_id(session_id):
            g.new_session = session_id = csrf.new_session_id()
        if signed_in_by_cookie and session_id:
            g.csrf_token = csrf.csrf_token(csrf_key(), session_id, g.principal.subject)
        if request.method not in csrf.STATE_CHANGING:
            return
        why = csrf.cross_origin(
            request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.host
        )
        if why is not None:
            abort(403, description=why)
        if not signed_in_by_cookie:
            return  # Authorization: Bearer, which no other origin can make a browser send
        given = request.headers.get(csrf.HEADER) or request.form.get(csrf.FORM_FIELD)
        if "new_session" in g or not csrf.token_matches(
            csrf_key(), session_id or "", g.principal.subject, given
        ):
            abort(
                403,
                description=f"{csrf.REFUSED}: no valid CSRF token for this session (reload the page and try again)",
            )

    @app.before_request
    def authenticate() -> Any:
        tokens = deps().settings.review_tokens
        if iap_on():
            g.principal = iap_principal(tokens)
            if g.principal is None:
                signed_in = request.headers.get(IAP_EMAIL_HEADER) or request.headers.get(IAP_JWT_HEADER)
                abort(403 if signed_in else 401)
            refuse_cross_site(signed_in_by_cookie=True)  # IAP signs browsers in with its own cookie
            return None
        if "token" in request.args:  # one-time login link: move the token into a cookie, drop it from the URL
            principal = principal_for_review_token(request.args["token"], tokens)
            if principal is None:
                abort(401)
            rest = {k: v for k, v in request.args.items(multi=False) if k != "token"}
            response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)
            response.set_cookie(
                COOKIE_NAME,
                request.args["token"],
                max_age=COOKIE_MAX_AGE_S,
                httponly=True,
                samesite="Strict",
                secure=request.is_secure,
            )
            session_cookie(response, csrf.new_session_id())  # a new session, so a new CSRF token, per login
            return response
        bearer = bearer_token(request.headers.get("Authorization"))
        token = bearer or request.cookies.get(COOKIE_NAME)
        g.principal = principal_for_review_token(token, tokens) if token else None
        if g.principal is None:
            abort(401)
        refuse_cross_site(signed_in_by_cookie=bearer is None)
        return None

    @app.after_request
    def secure_headers(response: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if "new_session" in g:
            session_cookie(response, g.new_session)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return Response(f'{{"error": "{exc.name}"}}', status=exc.code or 500, mimetype="application/json")
        login = exc.code == 401
        heading = "Sign in" if login else exc.name
        message = "A review token is needed." if login else (exc.description or exc.name)
        if exc.code == 403 and not str(exc.description).startswith(csrf.REFUSED):
            message = "You may not review this brand."
        return render(
            templates.MESSAGE,
            status=exc.code or 500,
            heading=heading,
            message=message,
            login=login and not iap_on(),
        )

    def view_brands() -> list[str]:
        brand = request.args.get("brand") or ""
        if brand:
            check_brand(brand)
            return [brand]
        return sorted(g.principal.brands)

    def view_filters(args: Any = None) -> QueueFilters:
        try:
            return queue_views.parse_filters(request.args if args is None else args)
        except queue_views.BadFilter as exc:
            abort(400, description=str(exc))

    @app.get("/")
    def queue() -> Response:
        brands, filters = view_brands(), view_filters()
        try:
            size = queue_views.page_size(request.args)
            page = list_queue(deps().docs, brands, filters, page_size=size, cursor=request.args.get("after"))
        except ValueError as exc:
            abort(400, description=str(exc))
        if request.accept_mimetypes.best == "application/json":
            response = jsonify([queue_views.export_record(r) for r in page.rows])
            if page.next_cursor:  # RFC 8288: the body stays a list, the next page is a link
                query = queue_views.query_string(
                    queue_views.filter_values(request.args), after=page.next_cursor
                )
                response.headers["Link"] = f'<{url_for("queue")}?{query}>; rel="next"'
            return response
        values = queue_views.filter_values(request.args)
        decided = queue_views.safe_id(request.args.get("decided"))
        return render(
            templates.QUEUE,
            title="Queue",
            rows=page.rows,
            next_cursor=page.next_cursor,
            counts=count_states(deps().docs, brands, filters),
            brands=sorted(g.principal.brands),
            f=values,
            qs=queue_views.query_string(values),
            flash=f"Decision recorded for {decided}." if decided else None,
        )

    def all_rows(brands: list[str], filters: QueueFilters) -> Any:
        """Pages through the view; arguments resolved in the request (the CSV streams after it)."""
        cursor: str | None = None
        for _ in range(queue_views.EXPORT_MAX_ROWS // PAGE_MAX):
            page = list_queue(deps().docs, brands, filters, page_size=PAGE_MAX, cursor=cursor)
            yield from page.rows
            cursor = page.next_cursor
            if cursor is None:
                return

    @app.get("/export.<fmt>")
    def export(fmt: str) -> Response:
        """Every row of the filtered view (all pages), as CSV or JSON; same filters as the queue."""
        if fmt not in ("csv", "json"):
            abort(404)
        brands, filters = view_brands(), view_filters()  # checked before the download starts
        records = (queue_views.export_record(r) for r in all_rows(brands, filters))
        if fmt == "json":
            body = json.dumps(list(records), default=str, indent=1)
            response = Response(body, mimetype="application/json")
        else:
            response = Response(queue_views.csv_lines(records), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="review-queue.{fmt}"'
        return response

    def load(brand: str, scan_id: str) -> Any:
        check_brand(brand)
        if not re.fullmatch(ID_PATTERN, scan_id):
            abort(404)
        item = get_item(deps().docs, brand, scan_id)
        if item is None:
            abort(404)
        return item

    register_case_routes(app, deps, load)

    @app.get("/brands/<brand>/items/<scan_id>")
    def item(brand: str, scan_id: str) -> Response:
        it = load(brand, scan_id)
        scan = deps().docs.get(paths.scan_path(brand, scan_id)) or {}
        brand_doc = deps().docs.get(paths.brand(brand)) or {}
        reference = find_reference(deps(), brand_doc, it.verdict, [])
        return render(
            templates.ITEM,
            has_bundle=deps().docs.get(evidence_doc_path(brand, scan_id)) is not None,
            title=it.verdict.listing_id,
            it=it,
            listing=scan.get("listing") or {},
            has_reference=reference is not None,
            reference=reference.ref_id if reference else None,
            **case_context(deps().docs, brand, scan_id),
            signal_specs=signal_registry.BY_NAME,
        )

    @app.get("/brands/<brand>/items/<scan_id>/images/<which>")
    def image(brand: str, scan_id: str, which: str) -> Response:
        it = load(brand, scan_id)
        d = deps()
        data: bytes | None = None
        if which == "candidate":
            source = (d.docs.get(paths.scan_path(brand, scan_id)) or {}).get("source") or {}
            for bucket, name in (
                (source.get("bucket"), source.get("name")),
                (d.settings.work_bucket, paths.working_copy(brand, scan_id)),
            ):
                # Only this brand's own objects: the first path segment of every tenant blob is the brand.
                if bucket and name and str(name).startswith(f"{brand}/"):
                    try:
                        data = bytes(d.blobs.read(bucket, name))
                    except NotFound:
                        continue
                    if _sniff(data):
                        break
                    data = None
        elif which == "reference":
            ref = find_reference(d, d.docs.get(paths.brand(brand)) or {}, it.verdict, [])
            data = ref.data if ref else None
        else:
            abort(404)
        ctype = _sniff(data) if data else None
        if data is None or ctype is None:
            abort(404)
        return Response(data, mimetype=ctype)

    @app.get("/brands/<brand>/items/<scan_id>/report.pdf")
    def report_pdf(brand: str, scan_id: str) -> Response:
        """The bundle's takedown PDF, served only while the bundle still matches its recorded digest."""
        load(brand, scan_id)
        d = deps()
        record = d.docs.get(evidence_doc_path(brand, scan_id))
        if record is None:
            abort(404, description="no evidence bundle was built for this item")
        if verify_recorded(d, brand, scan_id):
            abort(409, description="the evidence bundle no longer matches its recorded digest")
        location = str(record["location"])
        if location.startswith("gs://"):
            bucket, _, prefix = location[5:].partition("/")
            data = bytes(d.blobs.read(bucket, prefix.rstrip("/") + "/report.pdf"))
        else:
            data = (Path(location) / "report.pdf").read_bytes()
        response = Response(data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="evidence-{brand}-{scan_id}.pdf"'
        return response

    @app.post("/brands/<brand>/items/<scan_id>/decision")
    def decide(brand: str, scan_id: str) -> Any:
        load(brand, scan_id)
        payload = request.get_json(silent=True) if request.is_json else request.form
        payload = payload or {}
        action, note = str(payload.get("decision") or ""), str(payload.get("note") or "")
        name = reviewer_display_name(deps().settings, g.principal.subject)
        try:
            review = record_decision(
                deps().docs,
                brand,
                scan_id,
                action=action,
                note=note,
                reviewer=g.principal.subject,
                now=deps().clock(),
            )
        except ValueError as exc:
            abort(400, description=str(exc))
        if review["decision"] == "confirmed":  # every confirmed item becomes an enforcement case
            it = load(brand, scan_id)
            listing = (deps().docs.get(f"brands/{brand}/scans/{scan_id}") or {}).get("listing") or {}
            open_case(deps().docs, brand, scan_id, by=name, now=review["decided_at"],
                      marketplace=listing.get("marketplace"), listing_id=it.verdict.listing_id)  # fmt: skip
        if request.is_json:
            return jsonify({**review, "decided_at": review["decided_at"].isoformat()})
        return redirect(url_for("queue", decided=scan_id), code=303)

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
