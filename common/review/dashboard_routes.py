"""The review dashboard page (``/dashboard``): four server-rendered SVG charts over the brands the reviewer may
see (``?brand=`` narrows to one, checked like the queue; ``?days=`` the span of the tier chart). The figures
are ``common.review.dashboard``; the drawing is ``common.review.charts``. ``Accept: application/json`` gives
the same figures as data.
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, g, jsonify, request, url_for

from common.review import charts, dashboard
from common.review.case_routes import reviewer_display_name
from common.review.context import ReviewContext

CACHE_TTL_S = 60.0  # a dashboard may be a minute old; counting again on every view is what costs (see docs)
TIER_COLOURS = {1: "#b00020", 2: "#e08a00", 3: "#7a9cc6", 4: "#c5ccd6"}
DECISION_COLOURS = {"confirmed": "#b00020", "rejected": "#2e7d32", "not_sure": "#8a8f98"}

PAGE = """{% extends base %}{% block body %}
<form class="filters" method="get" action="{{ url_for('dashboard') }}">
 <label>Brand<select name="brand"><option value="">all my brands</option>
  {% for b in all_brands %}<option value="{{ b }}" {{ 'selected' if b == brand }}>{{ b }}</option>{% endfor %}
 </select></label>
 <label>Days<input name="days" type="number" min="1" max="{{ days_max }}" value="{{ days }}" size="3"></label>
 <button type="submit">Show</button></form>
<p id="as-of">Counted {{ as_of.strftime('%Y-%m-%d %H:%M:%S') }} UTC (recounted at most once a minute).</p>
<div class="charts">
<figure><figcaption><b>Verdicts per tier per day</b> (UTC, last {{ days }} days)</figcaption>{{ tiers_chart }}</figure>
<figure><figcaption><b>Queue age</b>: Tier 1–2 items waiting for review, by time since the verdict
 ({{ waiting }} waiting)</figcaption>{{ age_chart }}</figure>
<figure><figcaption><b>Decisions per reviewer</b> (listings' latest scans)</figcaption>{{ reviewer_chart }}</figure>
<figure><figcaption><b>Top sellers</b> by flagged listings among the newest {{ sellers_read }} Tier 1–2 listings
 (of at most {{ sample_limit }} read; by confirmed counterfeits and linked accounts:
 <a href="{{ url_for('seller_ranking') }}">seller ranking</a>)</figcaption>{{ seller_chart }}</figure>
<figure><figcaption><b>Top clusters</b>: listings linked by image, seller or store, per tier
 (<a href="{{ url_for('cluster_list') }}">all clusters</a>)</figcaption>{{ cluster_chart }}</figure>
</div>{% endblock %}"""


def _charts(d: dashboard.Dashboard, names: dict[str, str]) -> dict[str, Any]:
    days = [day.strftime("%m-%d") for day in d.days]
    tiers = [charts.Series(f"Tier {t}", TIER_COLOURS[t], tuple(d.per_tier[t])) for t in dashboard.TIERS]
    ages = [charts.Series(f"Tier {t}", TIER_COLOURS[t], tuple(d.age[t])) for t in (1, 2)]
    buckets = [b[0] for b in dashboard.AGE_BUCKETS]
    reviewers = [
        (names.get(r, r), [charts.Series(k, DECISION_COLOURS[k], (c[k],)) for k in dashboard.DECISIONS])
        for r, c in d.reviewers
    ]
    sellers = [
        (
            s,
            [
                charts.Series("confirmed", DECISION_COLOURS["confirmed"], (c,)),
                charts.Series("not confirmed", "#e08a00", (n - c,)),
            ],
        )  # fmt: skip
        for s, n, c in d.sellers
    ]
    clusters = [
        (f"{c['cluster_id'][:12]} · {c['sellers']} sel. · {c['marketplaces']} mkt.",
         [charts.Series(f"Tier {t}", TIER_COLOURS[t], (c["tiers"].get(str(t), 0),)) for t in dashboard.TIERS])
        for c in d.clusters
    ]  # fmt: skip
    cluster_links = [
        url_for("cluster_view", brand=c["brand_id"], cluster_id=c["cluster_id"]) for c in d.clusters
    ]
    return {
        "cluster_chart": charts.horizontal_bars(
            "chart-clusters", "Largest clusters by members per tier", clusters, links=cluster_links
        ),
        "tiers_chart": charts.stacked_columns("chart-tiers", "Verdicts per tier per day", days, tiers),
        "age_chart": charts.stacked_columns("chart-age", "Waiting items by age", buckets, ages),
        "reviewer_chart": charts.horizontal_bars("chart-reviewers", "Decisions per reviewer", reviewers),
        "seller_chart": charts.horizontal_bars("chart-sellers", "Flagged listings per seller", sellers),
        "waiting": sum(sum(v) for v in d.age.values()),
    }


def cached_dashboard(ctx: ReviewContext, brands: list[str], days: int) -> dashboard.Dashboard:
    """The figures for exactly these brands and days, counted at most once a minute. The key is the brand
    list itself, so a cached answer is only ever given for the same brands it was counted over."""
    cache: dict[tuple[tuple[str, ...], int], tuple[float, dashboard.Dashboard]] = ctx.state.setdefault(
        "dashboards", {}
    )
    key = (tuple(brands), days)
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
        return hit[1]
    deps = ctx.deps()
    d = dashboard.build_dashboard(deps.docs, brands, deps.settings.review_tokens, deps.clock(), days)
    for stale in [k for k, (at, _) in cache.items() if time.monotonic() - at >= CACHE_TTL_S]:
        cache.pop(stale, None)
    cache[key] = (time.monotonic(), d)
    return d


def dashboard_page(ctx: ReviewContext) -> Any:
    brands = ctx.view_brands()
    raw_days = request.args.get("days") or str(dashboard.DAYS_DEFAULT)
    if not raw_days.isdigit():
        abort(400, description=f"days is from 1 to {dashboard.DAYS_MAX}")
    deps = ctx.deps()
    try:
        d = dashboard.build_dashboard(
            deps.docs, brands, deps.settings.review_tokens, deps.clock(), int(raw_days)
        )
    except ValueError as exc:
        abort(400, description=str(exc))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(dashboard.as_json(d))
    names = {r: reviewer_display_name(deps.settings, r) for r, _ in d.reviewers}
    return ctx.render(
        PAGE,
        title="Dashboard",
        as_of=d.counted_at,
        page="dashboard",
        all_brands=sorted(g.principal.brands),
        brand=request.args.get("brand") or "",
        days=int(raw_days),
        days_max=dashboard.DAYS_MAX,
        sellers_read=d.sellers_read,
        sample_limit=d.sample_limit,
        **_charts(d, names),
    )


def register_dashboard_routes(ctx: ReviewContext) -> None:
    ctx.app.add_url_rule("/dashboard", endpoint="dashboard", view_func=lambda: dashboard_page(ctx))
