"""The review page's routes: the queue (HTML, JSON pages, CSV/JSON export), one item with its images and
evidence PDF, and the decision form. Each handler is a plain function of the ``ReviewContext``; ``register_routes``
binds them to their URLs (endpoint names are what the templates' ``url_for`` use).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, abort, g, jsonify, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from common import paths
from common import signals as signal_registry
from common.clusters import views as cluster_views
from common.evidence.bundle import evidence_doc_path, verify_recorded
from common.evidence.sources import find_reference
from common.ports import NotFound
from common.review import csrf, queue_views, templates
from common.review.case_routes import case_context
from common.review.context import ReviewContext
from common.review.decisions import decide_item
from common.review.item_view import following, region_overlay
from common.review.queue_list import PAGE_MAX, QueueFilters, count_states, list_queue

IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _sniff(data: bytes) -> str | None:
    for magic, ctype in IMAGE_MAGIC:
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def register_routes(ctx: ReviewContext) -> None:
    app = ctx.app
    app.register_error_handler(HTTPException, functools.partial(http_error, ctx))
    routes: list[tuple[str, Callable[..., Any], tuple[str, ...]]] = [
        ("/", queue, ("GET",)),
        ("/export.<fmt>", export, ("GET",)),
        ("/brands/<brand>/items/<scan_id>", item, ("GET",)),
        ("/brands/<brand>/items/<scan_id>/images/<which>", image, ("GET",)),
        ("/brands/<brand>/items/<scan_id>/report.pdf", report_pdf, ("GET",)),
        ("/brands/<brand>/items/<scan_id>/decision", decide, ("POST",)),
    ]
    for rule, view, methods in routes:
        app.add_url_rule(
            rule, endpoint=view.__name__, view_func=functools.partial(view, ctx), methods=methods
        )


def http_error(ctx: ReviewContext, exc: HTTPException) -> Response:
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return Response(f'{{"error": "{exc.name}"}}', status=exc.code or 500, mimetype="application/json")
    login = exc.code == 401
    heading = "Sign in" if login else exc.name
    message = "A review token is needed." if login else (exc.description or exc.name)
    if exc.code == 403 and not str(exc.description).startswith(csrf.REFUSED):
        message = "You may not review this brand."
    return ctx.render(
        templates.MESSAGE,
        status=exc.code or 500,
        heading=heading,
        message=message,
        login=login and not ctx.iap_on(),
    )


def queue(ctx: ReviewContext) -> Response:
    brands, filters = ctx.view_brands(), ctx.view_filters()
    try:
        size = queue_views.page_size(request.args)
        page = list_queue(ctx.deps().docs, brands, filters, page_size=size, cursor=request.args.get("after"))
    except ValueError as exc:
        abort(400, description=str(exc))
    if request.accept_mimetypes.best == "application/json":
        response = jsonify([queue_views.export_record(r) for r in page.rows])
        if page.next_cursor:  # RFC 8288: the body stays a list, the next page is a link
            query = queue_views.query_string(queue_views.filter_values(request.args), after=page.next_cursor)
            response.headers["Link"] = f'<{url_for("queue")}?{query}>; rel="next"'
        return response
    values = queue_views.filter_values(request.args)
    decided = queue_views.safe_id(request.args.get("decided"))
    return ctx.render(
        templates.QUEUE,
        title="Queue",
        rows=page.rows,
        next_cursor=page.next_cursor,
        counts=count_states(ctx.deps().docs, brands, filters),
        brands=sorted(g.principal.brands),
        f=values,
        qs=queue_views.query_string(values),
        flash=f"Decision recorded for {decided}." if decided else None,
        page="queue",
    )


def all_rows(ctx: ReviewContext, brands: list[str], filters: QueueFilters) -> Any:
    """Pages through the view; arguments resolved in the request (the CSV streams after it)."""
    cursor: str | None = None
    for _ in range(queue_views.EXPORT_MAX_ROWS // PAGE_MAX):
        page = list_queue(ctx.deps().docs, brands, filters, page_size=PAGE_MAX, cursor=cursor)
        yield from page.rows
        cursor = page.next_cursor
        if cursor is None:
            return


def export(ctx: ReviewContext, fmt: str) -> Response:
    """Every row of the filtered view (all pages), as CSV or JSON; same filters as the queue."""
    if fmt not in ("csv", "json"):
        abort(404)
    brands, filters = ctx.view_brands(), ctx.view_filters()  # checked before the download starts
    records = (queue_views.export_record(r) for r in all_rows(ctx, brands, filters))
    if fmt == "json":
        body = json.dumps(list(records), default=str, indent=1)
        response = Response(body, mimetype="application/json")
    else:
        response = Response(queue_views.csv_lines(records), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="review-queue.{fmt}"'
    return response


def item(ctx: ReviewContext, brand: str, scan_id: str) -> Response:
    """One item, its decision controls at the top, and its neighbours in the filtered view it was opened
    from (the query string carries the queue's filters: "next" is the next row of that view)."""
    it = ctx.load(brand, scan_id)
    scan = ctx.deps().docs.get(paths.scan_path(brand, scan_id)) or {}
    brand_doc = ctx.deps().docs.get(paths.brand(brand)) or {}
    reference = find_reference(ctx.deps(), brand_doc, it.verdict, [])
    values = queue_views.filter_values(request.args)
    decided = queue_views.safe_id(request.args.get("decided"))
    return ctx.render(
        templates.ITEM,
        page="item",
        qs=queue_views.query_string(values),
        qs_next=queue_views.query_string(values, prev=f"{brand}/{scan_id}"),
        next_item=following(
            ctx.deps().docs, ctx.view_brands(), ctx.view_filters(), brand, it.verdict.listing_id
        ),
        prev_scan=queue_views.item_ref(request.args.get("prev")),
        overlay=region_overlay(ctx.deps(), it.verdict),
        flash=f"Decision recorded for {decided}." if decided else None,
        has_bundle=ctx.deps().docs.get(evidence_doc_path(brand, scan_id)) is not None,
        title=it.verdict.listing_id,
        it=it,
        listing=scan.get("listing") or {},
        cluster=cluster_views.cluster_of_listing(ctx.deps().docs, brand, it.verdict.listing_id),
        has_reference=reference is not None,
        reference=reference.ref_id if reference else None,
        **case_context(ctx.deps().docs, brand, scan_id),
        signal_specs=signal_registry.BY_NAME,
    )


def image(ctx: ReviewContext, brand: str, scan_id: str, which: str) -> Response:
    it = ctx.load(brand, scan_id)
    d = ctx.deps()
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


def report_pdf(ctx: ReviewContext, brand: str, scan_id: str) -> Response:
    """The bundle's takedown PDF, served only while the bundle still matches its recorded digest."""
    ctx.load(brand, scan_id)
    d = ctx.deps()
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


def decide(ctx: ReviewContext, brand: str, scan_id: str) -> Any:
    ctx.load(brand, scan_id)
    ctx.view_brands(), ctx.view_filters()  # the "next item" view is checked before anything is recorded
    payload = request.get_json(silent=True) if request.is_json else request.form
    payload = payload or {}
    action, note = str(payload.get("decision") or ""), str(payload.get("note") or "")
    try:
        review = decide_item(ctx.deps(), g.principal.subject, brand, scan_id, action, note)
    except ValueError as exc:
        abort(400, description=str(exc))
    if request.is_json:
        return jsonify({**review, "decided_at": review["decided_at"].isoformat()})
    return redirect(after_decision(ctx, brand, scan_id), code=303)


def after_decision(ctx: ReviewContext, brand: str, scan_id: str) -> str:
    """Where a reviewer lands after deciding: the next item of the same filtered view (the form's query string
    carries the view), with the decided one as "previous"; the queue when the view has nothing after it."""
    values = queue_views.filter_values(request.args)
    it = ctx.load(brand, scan_id)
    nxt = following(ctx.deps().docs, ctx.view_brands(), ctx.view_filters(), brand, it.verdict.listing_id)
    if nxt is None:
        return f"{url_for('queue')}?{queue_views.query_string(values, decided=scan_id)}"
    query = queue_views.query_string(values, decided=scan_id, prev=f"{brand}/{scan_id}")
    return f"{url_for('item', brand=nxt.brand_id, scan_id=nxt.scan_id)}?{query}"
