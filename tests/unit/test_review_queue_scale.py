"""The review queue is correct at any size (issue 16): filters in the store query, cursor pages, counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.bootstrap import build_deps
from common.messages import Signal, Verdict
from common.review.app import create_review_app
from common.review.queue_docs import queue_path, record_verdict, with_review, with_verdict
from common.settings import Settings
from tests.support.queue_scale import check_queue_at_scale, generate_rows, write_rows_local

T_OLD = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
T_NEW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _verdict(i: int, created: datetime, listing: str | None = None, tier: int = 1) -> Verdict:
    return Verdict(
        scan_id=f"scan-{i:05d}",
        brand_id="acme",
        listing_id=listing or f"listing-{i:05d}",
        tier=tier,
        score=0.9,
        signals={"logo": Signal(name="logo", status="fired", score=0.9)},
        rule="weighted",
        created_at=created,
    )


def _ids(html: str) -> list[str]:
    return re.findall(r'class="item" data-scan="([^"]+)"', html)


def test_600_older_pending_behind_500_newer_decided_are_all_waiting(tmp_path: Path) -> None:
    """The issue's backlog: the old page read 500 verdicts, then dropped the decided ones and showed 0."""
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok": ("acme",)}))

    def seed(txn):  # verdicts and their rows, as the chain writes them (one transaction: fast)
        for i in range(1100):
            decided = i >= 600
            v = _verdict(i, (T_NEW if decided else T_OLD) + timedelta(seconds=i % 60))
            doc = v.model_dump(mode="python")
            review = {"decision": "rejected", "reviewer": "r", "decided_at": T_NEW} if decided else None
            if review:
                doc["review"] = review
            txn.set(f"brands/acme/verdicts/{v.scan_id}", doc)
            txn.set(queue_path("acme", v.listing_id), with_verdict(None, v, {"seller_id": "s1"}, review))

    deps.docs.transaction(seed)
    client = create_review_app(lambda: deps).test_client()
    auth = {"Authorization": "Bearer tok"}
    page = client.get("/", headers=auth)
    assert re.search(r'data-state="pending">waiting for review: <b>600</b>', page.text)
    assert re.search(r'data-state="decided">decided: <b>500</b>', page.text)
    seen: list[str] = []
    url: str | None = "/?n=100"
    while url:
        html = client.get(url, headers=auth).text
        seen += _ids(html)
        nxt = re.search(r'id="next-page" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == len(set(seen)) == 600 and all(int(s[5:]) < 600 for s in seen)
    dated = client.get("/?since=2026-10-01&until=2026-10-01", headers=auth).text
    assert re.search(r"waiting for review: <b>600</b>", dated) and len(_ids(dated)) == 50


def test_ten_thousand_rows_every_filter_paged_and_counted_on_sqlite(tmp_path: Path) -> None:
    deps = build_deps(Settings(home=tmp_path / "home"))
    rows = generate_rows("acme", 10_000)
    write_rows_local(deps.docs, "acme", rows)
    sizes = check_queue_at_scale(deps.docs, "acme", rows)
    assert min(sizes.values()) > 10  # every view really has rows to page through


def test_a_rescanned_listing_is_one_row_with_its_earlier_scans_as_history(tmp_path: Path) -> None:
    deps = build_deps(Settings(home=tmp_path / "home"))
    old, new = _verdict(1, T_OLD, "L-shoe"), _verdict(2, T_NEW, "L-shoe", tier=2)
    for v in (new, old, new):  # out of order and redelivered: same row
        record_verdict(deps.docs, v, {"seller_id": "s9"})
    row = deps.docs.get(queue_path("acme", "L-shoe"))
    assert (row["scan_id"], row["tier"], row["state"]) == ("scan-00002", 2, "pending")
    assert [h["scan_id"] for h in row["history"]] == ["scan-00001"]
    decided = with_review(row, "scan-00001", {"decision": "confirmed", "reviewer": "r"})
    assert decided["state"] == "pending" and decided["history"][0]["decision"] == "confirmed"
    assert with_review(row, "scan-00002", {"decision": "not_sure"})["state"] == "not_sure"


@pytest.mark.parametrize("bad", ["?after=garbage!!", "?tier=3", "?show=everything", "?n=0", "?signal=a%20b"])
def test_bad_queue_parameters_are_a_clear_400(tmp_path: Path, bad: str) -> None:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok": ("acme",)}))
    client = create_review_app(lambda: deps).test_client()
    assert client.get("/" + bad, headers={"Authorization": "Bearer tok"}).status_code == 400


def test_rebuild_gives_old_verdicts_their_rows_once(tmp_path: Path) -> None:
    from common.review.queue_rebuild import rebuild_queue

    deps = build_deps(Settings(home=tmp_path / "home"))
    for i in range(1203):  # more than one page of verdicts, two scans per listing
        v = _verdict(i, T_OLD + timedelta(minutes=i), listing=f"L{i // 2}")
        deps.docs.set(f"brands/acme/verdicts/{v.scan_id}", v.model_dump(mode="python"))
    assert rebuild_queue(deps.docs, "acme") == (1203, 1203)
    assert rebuild_queue(deps.docs, "acme") == (1203, 0)
    assert deps.docs.count("brands/acme/queue") == 602
    row = deps.docs.get(queue_path("acme", "L7"))
    assert row["scan_id"] == "scan-00015" and [h["scan_id"] for h in row["history"]] == ["scan-00014"]
