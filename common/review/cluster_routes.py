"""Review-page routes for clusters: the list, one cluster (members, sellers, marketplaces, first/last seen,
tiers) decided at once with per-member overrides, and the seller ranking.

A cluster decision is ``decisions.decide_item`` once per member (the item page's own code), so each member's
verdict, queue row, enforcement case and callback are exactly what deciding it alone would leave. Every route
checks the brand (``ReviewContext.check_brand``) and reads through the reviewer's brand-scoped store.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, abort, g, jsonify, redirect, request, url_for

from common.clusters import fingerprints, views
from common.ports import NotFound
from common.review import cluster_templates
from common.review.context import ReviewContext
from common.review.decisions import decide_item
from common.review.queue import DECISIONS, NOTE_MAX_CHARS

CLUSTER_ID = re.compile(r"^c-[0-9a-f]{20}$")
MEMBER_FIELD = "member:"
# Per-member choices: follow the cluster's button, decide otherwise, or leave the member as it is.
CHOICES = (
    ("cluster", "cluster decision"),
    ("confirm", "confirm"),
    ("reject", "reject"),
    ("not_sure", "not sure"),
    ("keep", "leave as is"),
)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _root(ctx: ReviewContext, brand: str, cluster_id: str) -> tuple[str, dict[str, Any]]:
    ctx.check_brand(brand)
    if not CLUSTER_ID.fullmatch(cluster_id):
        abort(404)
    found = views.resolve(ctx.deps().docs, brand, cluster_id)
    if found is None:
        abort(404)
    return found


def cluster_list(ctx: ReviewContext) -> Response:
    brands = ctx.view_brands()
    try:
        min_size = max(1, int(request.args.get("min_size") or 2))
    except ValueError:
        abort(400, description="min_size must be a whole number")
    rows = [c for b in brands for c in views.list_clusters(ctx.deps().docs, b, min_size)]
    rows.sort(key=lambda c: (-int(c.get("size") or 0), str(c["brand_id"]), str(c["cluster_id"])))
    if _wants_json():
        return jsonify(rows)
    return ctx.render(
        cluster_templates.CLUSTERS,
        title="Clusters",
        rows=rows,
        brands=sorted(g.principal.brands),
        brand=request.args.get("brand") or "",
        min_size=min_size,
        pdq=fingerprints.PDQ_CLUSTER_DISTANCE,
        cosine=fingerprints.EMBED_CLUSTER_COSINE,
    )


def cluster_view(ctx: ReviewContext, brand: str, cluster_id: str) -> Any:
    root_id, root = _root(ctx, brand, cluster_id)
    if root_id != cluster_id:  # merged into another cluster since the link was made
        return redirect(url_for("cluster_view", brand=brand, cluster_id=root_id), code=302)
    rows = views.members(ctx.deps().docs, brand, root)
    if _wants_json():
        return jsonify({"cluster": root, "members": rows})
    done = request.args.get("decided")
    return ctx.render(
        cluster_templates.CLUSTER,
        title=f"Cluster {root_id}",
        c=root,
        rows=rows,
        choices=CHOICES,
        flash=f"Decisions recorded for {done} listings." if done and done.isdigit() else None,
    )


def cluster_decide(ctx: ReviewContext, brand: str, cluster_id: str) -> Any:
    root_id, root = _root(ctx, brand, cluster_id)
    payload = (request.get_json(silent=True) if request.is_json else request.form) or {}
    default = str(payload.get("decision") or "")
    if default not in DECISIONS:
        abort(400, description=f"decision must be one of {', '.join(DECISIONS)}")
    overrides = payload.get("members") if request.is_json else None
    if overrides is None:
        overrides = {k[len(MEMBER_FIELD) :]: v for k, v in payload.items() if k.startswith(MEMBER_FIELD)}
    if not isinstance(overrides, dict):
        abort(400, description="members must map listing ids to a choice")
    allowed = {value for value, _ in CHOICES}
    for listing, choice in overrides.items():
        if choice not in allowed:
            abort(400, description=f"choice for {str(listing)[:100]!r} must be one of {', '.join(allowed)}")
    note = str(payload.get("note") or "").strip()
    note = f"[cluster {root_id}] {note}"[:NOTE_MAX_CHARS] if note else f"[cluster {root_id}]"
    decided = []
    for member in views.members(ctx.deps().docs, brand, root):
        listing = str(member["listing_id"])
        fallback = "keep" if member.get("state") == "decided" else "cluster"  # decided: only when asked
        choice = str(overrides.get(listing, fallback))
        if choice == "keep":
            continue
        action = default if choice == "cluster" else choice
        scan_id = str(member.get("queue_scan_id") or member["scan_id"])
        try:
            review = decide_item(ctx.deps(), g.principal.subject, brand, scan_id, action, note)
        except NotFound:
            continue  # a member whose verdict is gone (deleted): nothing to decide
        decided.append({"listing_id": listing, "scan_id": scan_id, "decision": review["decision"]})
    if request.is_json:
        return jsonify({"cluster_id": root_id, "decided": decided})
    return redirect(url_for("cluster_view", brand=brand, cluster_id=root_id, decided=len(decided)), code=303)


def seller_ranking(ctx: ReviewContext) -> Response:
    rows = []
    for brand in ctx.view_brands():
        rows += [{**r, "brand_id": brand} for r in views.seller_ranking(ctx.deps().docs, brand)]
    rows.sort(key=lambda r: (-r["confirmed"], r["seller_id"], r["brand_id"]))
    if _wants_json():
        return jsonify(rows)
    return ctx.render(cluster_templates.SELLERS, title="Sellers", rows=rows)


def register_cluster_routes(ctx: ReviewContext) -> None:
    import functools

    for rule, view, methods in (
        ("/clusters", cluster_list, ("GET",)),
        ("/brands/<brand>/clusters/<cluster_id>", cluster_view, ("GET",)),
        ("/brands/<brand>/clusters/<cluster_id>/decision", cluster_decide, ("POST",)),
        ("/sellers", seller_ranking, ("GET",)),
    ):
        ctx.app.add_url_rule(
            rule, endpoint=view.__name__, view_func=functools.partial(view, ctx), methods=methods
        )
