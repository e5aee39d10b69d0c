"""The review dashboard's figures, read from the store with count aggregations so they stay exact at any size:
verdicts per tier per day, the age of what waits for review, decisions per reviewer, and the sellers behind
the most flagged listings. Every figure is per brand path and summed over the brands the reviewer may see.

- Verdicts per tier per day: ``count(verdicts, tier == t, day <= created_at < day + 1)`` (index
  ``DASHBOARD_INDEXES``); a re-scan is a verdict of its own, as the pipeline made it.
- Queue age: pending Tier 1/2 queue rows by time since their verdict, in ``AGE_BUCKETS`` (the queue's own
  state/tier/created_at index).
- Decisions per reviewer: queue rows whose latest scan a reviewer decided, per reviewer and decision. The store
  cannot group, so the reviewers counted are the identities configured for these brands (``review_tokens``:
  token holders by their digest, IAP e-mails); decisions by anyone no longer configured are one "others" bar.
- Top sellers: the one figure that is a sample: seller ids of the newest ``SELLER_SAMPLE`` Tier 1/2 listings
  (a store cannot count distinct values), said on the chart. The seller ranking page (``/sellers``, by
  confirmed counterfeits and linked accounts) is the enforcement view of the same question.
- Top clusters: the largest root clusters (``common.clusters.views.list_clusters``, kept by the chain as
  verdicts arrive), with their members per tier, sellers and marketplaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from common import paths
from common.authz import token_subject
from common.clusters.views import list_clusters
from common.ports import DocumentStore, Filter
from common.review.queue_list import PAGE_MAX, QueueFilters, list_queue

TIERS = (1, 2, 3, 4)
DAYS_DEFAULT, DAYS_MAX = 14, 90
# (label, from days ago, to days ago); the last bucket is open-ended
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 1 day", 0, 1),
    ("1-3 days", 1, 3),
    ("3-7 days", 3, 7),
    ("7-30 days", 7, 30),
    ("> 30 days", 30, None),
)
SELLER_SAMPLE = 2000
TOP_SELLERS = 10
TOP_CLUSTERS = 10
DECISIONS = ("confirmed", "rejected", "not_sure")
# Collection -> composite index the counts need (equality filters, a created_at range, so created_at is
# ordered ascending): infra/modules/firestore/main.tf declares each (tests/infra checks). The reviewer and
# decision counts are equality-only and served by Firestore's single-field indexes.
DASHBOARD_INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "verdicts": (("tier", "ASCENDING"), ("created_at", "ASCENDING")),
    "queue": (("state", "ASCENDING"), ("tier", "ASCENDING"), ("created_at", "ASCENDING")),
}


@dataclass
class Dashboard:
    days: list[date]
    per_tier: dict[int, list[int]]  # tier -> verdicts per day (same order as ``days``)
    age: dict[int, list[int]]  # queue tier -> pending rows per AGE_BUCKETS entry
    reviewers: list[tuple[str, dict[str, int]]]  # (reviewer, decision -> rows), most decisions first
    sellers: list[tuple[str, int, int]]  # (seller id, flagged listings, confirmed), most first
    sellers_read: int
    sample_limit: int = SELLER_SAMPLE
    brands: list[str] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)  # largest first: brand, id, size, tiers, ...
    counted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def verdicts_per_tier(docs: DocumentStore, brands: Sequence[str], days: list[date]) -> dict[int, list[int]]:
    out = {tier: [0] * len(days) for tier in TIERS}
    for brand in brands:
        for tier in TIERS:
            for i, day in enumerate(days):
                out[tier][i] += docs.count(
                    paths.verdicts(brand),
                    [
                        Filter("tier", "==", tier),
                        Filter("created_at", ">=", _midnight(day)),
                        Filter("created_at", "<", _midnight(day + timedelta(days=1))),
                    ],
                )
    return out


def queue_age(docs: DocumentStore, brands: Sequence[str], now: datetime) -> dict[int, list[int]]:
    out = {tier: [0] * len(AGE_BUCKETS) for tier in (1, 2)}
    for brand in brands:
        for tier in (1, 2):
            for i, (_, newest, oldest) in enumerate(AGE_BUCKETS):
                filters = [
                    Filter("tier", "==", tier),
                    Filter("state", "==", "pending"),
                    Filter("created_at", "<=", now - timedelta(days=newest)),
                ]
                if oldest is not None:
                    filters.append(Filter("created_at", ">", now - timedelta(days=oldest)))
                out[tier][i] += docs.count(paths.queue(brand), filters)
    return out


def known_reviewers(review_tokens: Mapping[str, Sequence[str]], brands: Sequence[str]) -> list[str]:
    """The reviewer ids decisions are recorded under for every identity configured on these brands."""
    ids: set[str] = set()
    for key, allowed in review_tokens.items():
        if set(allowed) & set(brands):
            ids.add(token_subject(key))
            if "@" in key:
                ids.add(key.strip().lower())
    return sorted(ids)


def decisions_per_reviewer(
    docs: DocumentStore, brands: Sequence[str], reviewers: Sequence[str]
) -> list[tuple[str, dict[str, int]]]:
    rows: list[tuple[str, dict[str, int]]] = []
    named = dict.fromkeys(DECISIONS, 0)
    for reviewer in reviewers:
        counts = dict.fromkeys(DECISIONS, 0)
        for brand in brands:
            for decision in DECISIONS:
                counts[decision] += docs.count(
                    paths.queue(brand),
                    [Filter("reviewer", "==", reviewer), Filter("decision", "==", decision)],
                )
        if sum(counts.values()):
            rows.append((reviewer, counts))
            named = {d: named[d] + counts[d] for d in DECISIONS}
    total = dict.fromkeys(DECISIONS, 0)
    for brand in brands:
        for decision in DECISIONS:
            total[decision] += docs.count(paths.queue(brand), [Filter("decision", "==", decision)])
    others = {d: total[d] - named[d] for d in DECISIONS}
    rows.sort(key=lambda r: (-sum(r[1].values()), r[0]))
    if sum(others.values()) > 0:
        rows.append(("others (not configured now)", others))
    return rows


def top_sellers(docs: DocumentStore, brands: list[str]) -> tuple[list[tuple[str, int, int]], int]:
    """(seller, flagged listings, confirmed) among the newest ``SELLER_SAMPLE`` Tier 1/2 rows; rows read."""
    flagged: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    read, cursor = 0, None
    while read < SELLER_SAMPLE:
        page = list_queue(docs, brands, QueueFilters(state=None), page_size=min(PAGE_MAX, SELLER_SAMPLE - read),
                          cursor=cursor)  # fmt: skip
        for row in page.rows:
            seller = str(row.doc.get("seller_id") or "")
            if seller:
                flagged[seller] += 1
                confirmed[seller] += row.doc.get("decision") == "confirmed"
        read += len(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    ranked = sorted(flagged.items(), key=lambda kv: (-kv[1], -confirmed[kv[0]], kv[0]))[:TOP_SELLERS]
    return [(seller, n, confirmed[seller]) for seller, n in ranked], read


def top_clusters(docs: DocumentStore, brands: Sequence[str]) -> list[dict[str, Any]]:
    """The ``TOP_CLUSTERS`` largest clusters (two listings or more) over the brands, largest first."""
    found = [c for brand in brands for c in list_clusters(docs, brand, min_size=2, limit=TOP_CLUSTERS)]
    found.sort(key=lambda c: (-int(c.get("size") or 0), str(c["brand_id"]), str(c["cluster_id"])))
    return [
        {
            "brand_id": str(c["brand_id"]),
            "cluster_id": str(c["cluster_id"]),
            "size": int(c.get("size") or 0),
            "tiers": {str(t): int(n) for t, n in (c.get("tiers") or {}).items() if int(n) > 0},
            "sellers": len(c.get("sellers") or {}),
            "marketplaces": len(c.get("marketplaces") or {}),
        }
        for c in found[:TOP_CLUSTERS]
    ]


def build_dashboard(
    docs: DocumentStore,
    brands: list[str],
    review_tokens: Mapping[str, Sequence[str]],
    now: datetime,
    days: int,
) -> Dashboard:
    if not 1 <= days <= DAYS_MAX:
        raise ValueError(f"days is from 1 to {DAYS_MAX}")
    today = now.astimezone(UTC).date()
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    sellers, read = top_sellers(docs, brands)
    return Dashboard(
        days=span,
        per_tier=verdicts_per_tier(docs, brands, span),
        age=queue_age(docs, brands, now),
        reviewers=decisions_per_reviewer(docs, brands, known_reviewers(review_tokens, brands)),
        sellers=sellers,
        sellers_read=read,
        brands=brands,
        clusters=top_clusters(docs, brands),
        counted_at=now,
    )


def as_json(d: Dashboard) -> dict[str, Any]:
    return {
        "brands": d.brands,
        "counted_at": d.counted_at.isoformat(),
        "verdicts_per_tier": {
            "days": [day.isoformat() for day in d.days],
            **{f"tier_{t}": v for t, v in d.per_tier.items()},
        },
        "queue_age": {"buckets": [b[0] for b in AGE_BUCKETS], **{f"tier_{t}": v for t, v in d.age.items()}},
        "decisions_per_reviewer": [{"reviewer": r, **c} for r, c in d.reviewers],
        "top_sellers": {
            "sample": d.sellers_read,
            "sellers": [{"seller_id": s, "flagged": n, "confirmed": c} for s, n, c in d.sellers],
        },
        "top_clusters": d.clusters,
    }
