"""The review queue at real scale, the same checks on any DocumentStore (SQLite in tests/unit, the Firestore
emulator in tests/e2e): 10,000 listing rows for one brand, every filter paged to the end and counted, compared
with the answer computed from the seeded rows themselves."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.messages import Signal, Verdict
from common.ports import DocumentStore
from common.review.queue_docs import entry_for, queue_path
from common.review.queue_list import QueueFilters, count_states, list_queue

T0 = datetime(2026, 6, 1, tzinfo=UTC)
MARKETPLACES = ("shopx", "bazaar", "marketly")
SIGNALS = ("embedding", "logo", "hash", "text")


def make_verdict(brand: str, i: int, tier: int, created: datetime, fired: list[str]) -> Verdict:
    return Verdict(
        scan_id=f"s{i:06d}",
        brand_id=brand,
        listing_id=f"L{i:06d}",
        tier=tier,
        score=0.5 + (i % 50) / 100,
        signals={n: Signal(name=n, status="fired" if n in fired else "clear", score=0.5) for n in SIGNALS},
        rule="weighted" if i % 3 else "hash_short_circuit",
        created_at=created,
    )


def generate_rows(brand: str, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Rows as the chain writes them: tiers 1/2 (and some 3), a quarter decided, some not sure, timestamps over
    60 days with deliberate ties (several rows share a second: cursors must not skip or repeat them)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        created = T0 + timedelta(minutes=rnd.randrange(60 * 24 * 60) // 7 * 7)
        fired = [s for s in SIGNALS if rnd.random() < 0.4]
        tier = rnd.choice((1, 1, 2, 2, 2, 3))
        state = rnd.choice(("pending", "pending", "pending", "not_sure", "decided"))
        review = None
        if state != "pending":
            decision = "not_sure" if state == "not_sure" else rnd.choice(("confirmed", "rejected"))
            review = {"decision": decision, "reviewer": "r1", "decided_at": created + timedelta(days=1)}
        listing = {
            "marketplace": MARKETPLACES[i % 3],
            "seller_id": f"seller-{rnd.randrange(40)}",
            "price": float(rnd.randrange(5, 200)),
            "currency": "USD",
        }
        rows.append(
            {**entry_for(make_verdict(brand, i, tier, created, fired), listing, review), "history": []}
        )
    return rows


def write_rows_local(docs: DocumentStore, brand: str, rows: list[dict[str, Any]]) -> None:
    def put(txn: Any) -> None:
        for row in rows:
            txn.set(queue_path(brand, row["listing_id"]), row)

    docs.transaction(put)


def expected(rows: list[dict[str, Any]], f: QueueFilters) -> list[str]:
    def keep(r: dict[str, Any]) -> bool:
        day = r["created_at"].date()
        return (
            r["tier"] in f.tiers
            and (f.state is None or r["state"] == f.state)
            and (f.marketplace is None or r["marketplace"] == f.marketplace)
            and (f.seller_id is None or r["seller_id"] == f.seller_id)
            and (f.signal is None or f.signal in r["signals"])
            and (f.rule is None or r["rule"] == f.rule)
            and (f.since is None or day >= f.since)
            and (f.until is None or day <= f.until)
        )

    kept = sorted((r for r in rows if keep(r)), key=lambda r: r["listing_id"], reverse=True)
    kept.sort(key=lambda r: (r["tier"], -r["created_at"].timestamp()))
    return [r["listing_id"] for r in kept]


def paged(docs: DocumentStore, brand: str, f: QueueFilters, size: int) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        page = list_queue(docs, [brand], f, page_size=size, cursor=cursor)
        out += [r.listing_id for r in page.rows]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


VIEWS: list[tuple[QueueFilters, int]] = [
    (QueueFilters(), 500),  # waiting for review, Tier 1 then 2
    (QueueFilters(state="decided", tiers=(1,)), 333),
    (QueueFilters(state=None, marketplace="bazaar", signal="logo"), 250),
    (QueueFilters(seller_id="seller-3", state=None), 7),
    (QueueFilters(rule="hash_short_circuit", since=date(2026, 6, 10), until=date(2026, 6, 20)), 50),
]


def check_queue_at_scale(docs: DocumentStore, brand: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Every view paged to its end equals the reference; counts equal the rows. Returns the view sizes."""
    sizes = {}
    for f, size in VIEWS:
        want = expected(rows, f)
        got = paged(docs, brand, f, size)
        assert len(got) == len(set(got)), f"a row repeated across pages for {f}"
        assert got == want, f"{f}: {len(got)} rows, expected {len(want)}"
        counts = count_states(docs, [brand], f)
        for state in ("pending", "not_sure", "decided"):
            assert counts[state] == len(expected(rows, QueueFilters(**{**f.__dict__, "state": state}))), (
                f,
                state,
            )
        sizes[repr(f)] = len(got)
    return sizes


WriteRows = Callable[[DocumentStore, str, list[dict[str, Any]]], None]
