"""The review dashboard: its figures match the seeded data exactly (counts, not samples, except the seller
sample it names), the SVG charts carry those figures and escape untrusted labels, and the page renders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.authz import token_subject
from common.bootstrap import Deps, build_deps
from common.clusters.fingerprints import Prints
from common.clusters.membership import add_listing
from common.review.app import create_review_app
from common.review.charts import Series, horizontal_bars, stacked_columns
from common.review.queue import record_decision, verdict_from_doc
from common.settings import Settings
from tests.support.review_seed import seed_backlog

TOKENS = {"tok-acme": ("acme",), "tok-bob": ("acme", "other"), "tok-other": ("other",)}
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


@pytest.fixture
def env(tmp_path: Path) -> tuple[Any, Deps]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens=TOKENS,
                               review_names={token_subject("tok-acme"): "Jane Doe"}))  # fmt: skip
    deps.clock = lambda: NOW
    seed_backlog(deps, tmp_path, "acme", 12)  # 2026-11-20 09:00 + i minutes; tier 2 when i % 3 == 0
    seed_backlog(deps, tmp_path, "other", 5)
    for brand, n in (("acme", 12), ("other", 5)):  # clusters by seller key: seller-{i % 4} on one marketplace
        for i in range(n):
            verdict = verdict_from_doc(deps.docs.get(f"brands/{brand}/verdicts/{brand}-{i:03d}"))
            listing = deps.docs.get(f"brands/{brand}/scans/{brand}-{i:03d}")["listing"]
            add_listing(deps, listing, verdict, Prints(None, None, None, None))
    client = create_review_app(lambda: deps).test_client()
    for scan, action, token in (("acme-001", "confirm", "tok-acme"), ("acme-002", "confirm", "tok-acme"),
                                ("acme-003", "reject", "tok-bob"), ("other-001", "confirm", "tok-bob"),
                                ("other-002", "reject", "tok-other")):  # fmt: skip
        brand = scan.split("-")[0]
        resp = client.post(f"/brands/{brand}/items/{scan}/decision", json={"decision": action},
                           headers=bearer(token))  # fmt: skip
        assert resp.status_code == 200
    record_decision(deps.docs, "acme", "acme-004", action="not_sure", note="", reviewer="token-gone", now=NOW)
    return client, deps


def test_dashboard_figures_are_exact_and_only_the_reviewers_brands(env) -> None:
    client, _ = env
    d = client.get("/dashboard?days=3", headers=bearer("tok-acme")).get_json()
    assert d["brands"] == ["acme"]
    per_tier = d["verdicts_per_tier"]
    assert per_tier["days"] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert (per_tier["tier_1"], per_tier["tier_2"], per_tier["tier_3"]) == ([8, 0, 0], [4, 0, 0], [0, 0, 0])
    age = d["queue_age"]
    assert age["buckets"][1] == "1-3 days"
    assert age["tier_1"] == [0, 5, 0, 0, 0] and age["tier_2"] == [
        0,
        3,
        0,
        0,
        0,
    ]  # 12 less 3 decided, 1 unsure
    reviewers = {
        r["reviewer"]: (r["confirmed"], r["rejected"], r["not_sure"]) for r in d["decisions_per_reviewer"]
    }
    assert reviewers == {
        token_subject("tok-acme"): (2, 0, 0),
        token_subject("tok-bob"): (0, 1, 0),  # bob's decision on the other brand is not acme's figure
        "others (not configured now)": (0, 0, 1),
    }
    sellers = d["top_sellers"]
    assert sellers["sample"] == 12
    assert [(s["seller_id"], s["flagged"], s["confirmed"]) for s in sellers["sellers"]][:2] == [
        ("seller-1", 3, 1), ("seller-2", 3, 1)]  # fmt: skip
    clusters = d["top_clusters"]
    assert [(c["brand_id"], c["size"], c["sellers"]) for c in clusters] == [("acme", 3, 1)] * 4
    assert sorted(tuple(sorted(c["tiers"].items())) for c in clusters)[0] == (("1", 2), ("2", 1))
    both = client.get("/dashboard?days=3", headers=bearer("tok-bob")).get_json()
    assert both["brands"] == ["acme", "other"] and both["verdicts_per_tier"]["tier_1"][0] == 8 + 3
    assert {c["brand_id"] for c in both["top_clusters"]} == {"acme", "other"}
    again = client.get("/dashboard?days=3", headers=bearer("tok-acme")).get_json()  # cached per brand list:
    assert again == d  # the same counts for the same brands, never the two-brand answer just counted


def test_dashboard_page_draws_the_figures(env) -> None:
    client, _ = env
    page = client.get("/dashboard?days=3", headers={"Authorization": "Bearer tok-acme"})
    assert page.status_code == 200
    html = page.text
    for chart in ("chart-tiers", "chart-age", "chart-reviewers", "chart-sellers"):
        assert f'<svg id="{chart}"' in html
    assert 'data-series="Tier 1" data-category="11-20" data-value="8"' in html
    assert 'data-row="Jane Doe" data-series="confirmed" data-value="2"' in html  # REVIEW_NAMES shown
    assert html.count('<a href="/brands/acme/clusters/c-') == 4  # each cluster's label opens its view
    assert "<script>" not in html
    assert client.get("/dashboard?days=0", headers=bearer("tok-acme")).status_code == 400
    assert client.get("/dashboard?days=x", headers=bearer("tok-acme")).status_code == 400


def test_charts_escape_labels_and_scale_to_the_largest_value() -> None:
    svg = horizontal_bars("c", "d", [("<script>x</script>", [Series("a", "#000", (4,))]),
                                     ("b", [Series("a", "#000", (2,))])])  # fmt: skip
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'width="330.0"' in svg and 'width="165.0"' in svg  # 4 fills the plot, 2 half of it
    cols = stacked_columns("k", "d", ["x", "y"], [Series("s", "#000", (3, 0)), Series("t", "#111", (2, 1))])
    assert cols.count('class="bar"') == 3  # zero values draw nothing
    assert ">5<" in cols  # the axis top: the 1/2/5 step at or above the largest stack (3 + 2)
