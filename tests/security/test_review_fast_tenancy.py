"""Fast-review surfaces hold tenant isolation: images, item neighbours, the decision redirect and bulk
decisions never reach another brand's data, by brand name or by guessing its scan ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.bootstrap import Deps, build_deps
from common.review.app import create_review_app
from common.settings import Settings
from tests.support.review_seed import seed_backlog

ACME = {"Authorization": "Bearer tok-acme"}


@pytest.fixture
def env(tmp_path: Path) -> tuple[Any, Deps]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok-acme": ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    seed_backlog(deps, tmp_path, "acme", 3)
    seed_backlog(deps, tmp_path, "other", 3)
    return create_review_app(lambda: deps).test_client(), deps


@pytest.mark.parametrize("which", ["candidate", "reference"])
def test_another_brands_images_are_never_served(env, which: str) -> None:
    client, _ = env
    assert client.get(f"/brands/acme/items/acme-001/images/{which}", headers=ACME).status_code == 200
    assert client.get(f"/brands/other/items/other-001/images/{which}", headers=ACME).status_code == 403
    # its scan id under our brand's path (id guessing): no such item there
    assert client.get(f"/brands/acme/items/other-001/images/{which}", headers=ACME).status_code == 404
    assert client.get(f"/brands/other/items/other-001/images/{which}").status_code == 401


def test_a_scan_record_pointing_at_another_brands_blob_serves_nothing(env) -> None:
    client, deps = env
    scan = deps.docs.get("brands/acme/scans/acme-001")
    scan["source"]["name"] = "other/other-001.jpg"  # a tampered or buggy record
    deps.docs.set("brands/acme/scans/acme-001", scan)
    assert client.get("/brands/acme/items/acme-001/images/candidate", headers=ACME).status_code == 404
    page = client.get("/brands/acme/items/acme-001", headers=ACME).text
    assert 'id="regions"' not in page  # its size is not read from the other brand's image either


def test_neighbours_and_the_decision_redirect_stay_in_the_reviewers_brands(env) -> None:
    client, deps = env
    page = client.get("/brands/acme/items/acme-001?prev=other/other-001", headers=ACME).text
    assert "/brands/other/" not in page.replace("/brands/other/items/other-001?", "")  # only the given link
    assert client.get("/brands/other/items/other-001", headers=ACME).status_code == 403  # ...which is refused
    for _ in range(3):  # every "next item" after a decision is ours, until the view is empty
        ids = [
            p
            for p in ("acme-000", "acme-001", "acme-002")
            if "review" not in deps.docs.get(f"brands/acme/verdicts/{p}")
        ]
        if not ids:
            break
        resp = client.post(f"/brands/acme/items/{ids[0]}/decision", data={"decision": "reject"}, headers=ACME)
        assert resp.status_code == 303 and "/other" not in resp.location
    assert all("review" not in deps.docs.get(f"brands/other/verdicts/other-00{i}") for i in range(3))
    resp = client.post("/brands/acme/items/acme-000/decision?brand=other", data={"decision": "confirm"},
                       headers=ACME)  # fmt: skip
    assert resp.status_code == 403  # a view of another brand is refused before anything is recorded
    assert deps.docs.get("brands/acme/verdicts/acme-000")["review"]["decision"] == "rejected"


def test_bulk_never_decides_another_brands_items(env) -> None:
    client, deps = env
    items = ["other/other-000", "other/acme-000", "acme/other-001", "../other/other-002"]
    body = client.post(
        "/bulk", json={"decision": "confirm", "note": "x", "items": items}, headers=ACME
    ).get_json()
    assert body["decided"] == [] and len(body["failed"]) == len(items)
    assert {f["error"] for f in body["failed"]} == {
        "not a brand you review", "no such item", "not an item id (brand/scan_id)"}  # fmt: skip
    assert all("review" not in deps.docs.get(f"brands/other/verdicts/other-00{i}") for i in range(3))
    assert client.post("/bulk", json={"decision": "confirm", "note": "x", "items": items}).status_code == 401


def test_the_dashboard_counts_only_the_reviewers_brands(env) -> None:
    client, deps = env
    json_acme = ACME | {"Accept": "application/json"}
    d = client.get("/dashboard?days=3", headers=json_acme).get_json()
    assert d["brands"] == ["acme"]
    assert sum(d["verdicts_per_tier"]["tier_1"]) + sum(d["verdicts_per_tier"]["tier_2"]) == 3  # not other's 3
    assert all(s["seller_id"].startswith("seller-") for s in d["top_sellers"]["sellers"])
    assert d["top_sellers"]["sample"] == 3
    assert all(c["brand_id"] == "acme" for c in d["top_clusters"])
    assert client.get("/dashboard?brand=other", headers=json_acme).status_code == 403
    assert client.get("/dashboard").status_code == 401
