"""Review-page routes for enforcement cases: generate an item's notice, move its case, fetch notice files.

Kept beside ``app.py`` (which owns sign-in, CSRF and the queue) so the case view stays one small module; every
route goes through the app's ``load`` (brand the principal may see, verdict that exists) before touching data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, request, url_for

from common.enforcement.cases import STATES, TRANSITIONS, get_case, list_cases, metrics, move_case, trail
from common.errors import BadInput
from common.evidence.bundle import evidence_doc_path, verify_recorded
from common.ports import NotFound

NOTICE_FILES = {
    "notice.json": "application/json",
    "amazon-report.csv": "text/csv",
    "amazon-report.json": "application/json",
    "ebay-vero.csv": "text/csv",
    "ebay-vero.json": "application/json",
    "dmca-notice.txt": "text/plain",
}
# The moves a reviewer makes by hand (the notice button makes notice_generated).
MANUAL_STATES = ("submitted", "removed", "reinstated", "rejected")


def reviewer_display_name(settings: Any, reviewer: str) -> str:
    """The person behind a reviewer id (``REVIEW_NAMES``); the id itself when no name is configured."""
    return str(settings.review_names.get(reviewer) or reviewer)


def case_context(docs: Any, brand: str, scan_id: str) -> dict[str, Any]:
    case = get_case(docs, brand, scan_id)
    state = str(case.get("state")) if case else ""
    return {
        "case": case,
        "case_trail": trail(docs, brand, scan_id) if case else [],
        "case_moves": [s for s in TRANSITIONS.get(state, ()) if s in MANUAL_STATES],
        "notice_files": sorted(
            name
            for name in (docs.get(evidence_doc_path(brand, scan_id)) or {}).get("files", [])
            if name in NOTICE_FILES
        ),
    }


def register_case_routes(app: Flask, deps: Callable[[], Any], load: Callable[[str, str], Any]) -> None:
    def by() -> str:
        return reviewer_display_name(deps().settings, g.principal.subject)

    def done(brand: str, scan_id: str, payload: dict[str, Any]) -> Any:
        if request.is_json:
            return jsonify(payload)
        return redirect(url_for("item", brand=brand, scan_id=scan_id) + "#case", code=303)

    def form() -> Any:
        return (request.get_json(silent=True) if request.is_json else request.form) or {}

    @app.post("/brands/<brand>/items/<scan_id>/notice")
    def generate_item_notice(brand: str, scan_id: str) -> Any:
        from common.enforcement.notice import generate_notice

        load(brand, scan_id)
        order = str(form().get("test_buy_order_id") or "").strip() or None
        try:
            result = generate_notice(deps(), brand, scan_id, by=by(), test_buy_order_id=order)
        except BadInput as exc:
            abort(409, description=str(exc))
        return done(brand, scan_id, {"state": result.case["state"], "files": list(result.bundle.files),
                                     "manifest_sha256": result.bundle.manifest_sha256})  # fmt: skip

    @app.post("/brands/<brand>/items/<scan_id>/case")
    def move_item_case(brand: str, scan_id: str) -> Any:
        load(brand, scan_id)
        payload = form()
        state = str(payload.get("state") or "")
        if state not in MANUAL_STATES:
            abort(400, description=f"state must be one of {', '.join(MANUAL_STATES)}")
        try:
            case = move_case(deps().docs, brand, scan_id, state, by=by(), now=deps().clock(),
                             note=str(payload.get("note") or ""))  # fmt: skip
        except NotFound:
            abort(404, description="this item has no enforcement case (confirm it first)")
        except BadInput as exc:
            abort(409, description=str(exc))
        return done(brand, scan_id, {"state": case["state"], "events": case["events"]})

    @app.get("/brands/<brand>/items/<scan_id>/notice/<name>")
    def notice_file(brand: str, scan_id: str, name: str) -> Response:
        """A notice file of the bundle, served only while the bundle matches its recorded digest."""
        load(brand, scan_id)
        d = deps()
        record = d.docs.get(evidence_doc_path(brand, scan_id)) or {}
        if name not in NOTICE_FILES or name not in record.get("files", []):
            abort(404)
        if verify_recorded(d, brand, scan_id):
            abort(409, description="the evidence bundle no longer matches its recorded digest")
        location = str(record["location"])
        if location.startswith("gs://"):
            bucket, _, prefix = location[5:].partition("/")
            data = bytes(d.blobs.read(bucket, prefix.rstrip("/") + "/" + name))
        else:
            data = (Path(location) / name).read_bytes()
        response = Response(data, mimetype=NOTICE_FILES[name])
        response.headers["Content-Disposition"] = f'attachment; filename="{brand}-{scan_id}-{name}"'
        return response

    @app.get("/cases")
    def cases_json() -> Response:
        """Cases and their metrics over the brands the principal may see (``?state=`` filters)."""
        state = request.args.get("state") or None
        if state is not None and state not in STATES:
            abort(400, description=f"state must be one of {', '.join(STATES)}")
        rows = list_cases(deps().docs, sorted(g.principal.brands), state)
        every = list_cases(deps().docs, sorted(g.principal.brands))
        return jsonify({"cases": rows, "metrics": metrics(every)})
