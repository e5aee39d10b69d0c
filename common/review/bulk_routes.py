"""Bulk confirm / reject from the queue: the ticked items, one note, each item checked and decided on its own.

Why each item on its own (not one transaction): a bulk decision is many ordinary decisions, each with its
case and marketplace callback; one item the reviewer may not decide (another brand, a stale id) must not
undo or block the others. Every item is reported: decided, or failed with the reason. An item of a brand the
reviewer does not review is refused before anything is read, so the answer says nothing about whether it
exists. The form is a state-changing POST, so the session's CSRF token is required like every other form.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, jsonify, request

from common.errors import Forbidden
from common.ports import NotFound
from common.review import queue_views
from common.review.context import ReviewContext
from common.review.decisions import decide_item
from common.review.queue import get_item

BULK_ACTIONS = ("confirm", "reject")
BULK_MAX = 500  # one queue page at most
NOT_YOURS = "not a brand you review"

RESULT = """{% extends base %}{% block body %}
<h2>Bulk {{ action }}</h2>
<p class="flash{{ ' problem' if failed }}" id="bulk-summary">{{ decided | length }} decided{% if failed %},
 {{ failed | length }} failed{% endif %}.</p>
{% if failed %}<table id="bulk-failed"><thead><tr><th>Item</th><th>Why</th></tr></thead><tbody>
{% for f in failed %}<tr><td>{{ f.item }}</td><td>{{ f.error }}</td></tr>{% endfor %}</tbody></table>{% endif %}
{% if decided %}<p>Decided: <span id="bulk-decided">{{ decided | map(attribute='item') | join(', ') }}</span></p>
{% endif %}
<p><a id="back-to-queue" href="{{ url_for('queue') }}?{{ qs }}">Back to the queue</a></p>
{% endblock %}"""


def _payload() -> tuple[str, str, list[str]]:
    if request.is_json:
        body = request.get_json(silent=True) or {}
        items = body.get("items")
        listed = [str(i) for i in items] if isinstance(items, list) else []
        return str(body.get("decision") or ""), str(body.get("note") or ""), listed
    form = request.form
    return str(form.get("decision") or ""), str(form.get("note") or ""), form.getlist("item")


def decide_one(ctx: ReviewContext, raw: str, action: str, note: str) -> str | None:
    """None when ``raw`` (``brand/scan_id``) was decided, else why not."""
    ref = queue_views.item_ref(raw)
    if ref is None:
        return "not an item id (brand/scan_id)"
    brand, scan_id = ref
    if not g.principal.allows(brand):
        return NOT_YOURS
    deps = ctx.deps()
    if get_item(deps.docs, brand, scan_id) is None:
        return "no such item"
    try:
        decide_item(deps, g.principal.subject, brand, scan_id, action, note)
    except Forbidden:  # the scoped store's own wall; allows() above should already have said no
        return NOT_YOURS
    except (NotFound, ValueError) as exc:
        return str(exc) if isinstance(exc, ValueError) else "no such item"
    return None


def bulk_decide(ctx: ReviewContext) -> Any:
    action, note, items = _payload()
    if action not in BULK_ACTIONS:
        abort(400, description="a bulk decision is confirm or reject")
    if not note.strip():
        abort(400, description="a bulk decision needs a note (it is recorded on every item)")
    items = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not items:
        abort(400, description="tick at least one item")
    if len(items) > BULK_MAX:
        abort(400, description=f"at most {BULK_MAX} items at once")
    decided: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    for raw in items:
        why = decide_one(ctx, raw, action, note)
        (failed if why else decided).append({"item": raw[:120], **({"error": why} if why else {})})
    if request.is_json:
        response = jsonify({"decision": action, "decided": decided, "failed": failed})
        response.status_code = 207 if failed else 200
        return response
    values = queue_views.filter_values(request.args)
    return ctx.render(
        RESULT,
        title="Bulk decision",
        action=action,
        decided=decided,
        failed=failed,
        qs=queue_views.query_string(values),
    )


def register_bulk_routes(ctx: ReviewContext) -> None:
    ctx.app.add_url_rule(
        "/bulk", endpoint="bulk_decide", view_func=lambda: bulk_decide(ctx), methods=["POST"]
    )
