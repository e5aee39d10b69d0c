"""Listing the review queue: every filter in the store query, cursor pages, counts per state.

Why each filter is a store filter: a limit applied before a filter in Python loses rows (600 pending Tier-1
verdicts behind 500 newer decided ones showed "0 waiting"). Here the store returns exactly the page asked for.
Order: Tier 1 before Tier 2, newest first, then listing id (descending, the store's tie order). Each tier is
its own query (equality on ``tier``), so one composite index family (``QUEUE_INDEXES``) serves every view and
a date range stays an inequality on the ordered field, as Firestore requires.

Several brands: each brand's collection is queried separately (tenant data never leaves its path) and the
pages are merged; the cursor keeps one position per brand, so rows not shown stay on the next page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from common import paths
from common.messages import ID_PATTERN
from common.ports import Cursor, DocumentStore, Filter, Order
from common.review.queue_docs import STATES, State

QUEUE_TIERS = (1, 2)
PAGE_SIZE = 50
PAGE_MAX = 500
NEWEST = (Order("created_at", descending=True),)
# Composite indexes the queue queries need on Firestore (infra/modules/firestore/main.tf declares each; a test
# checks). Equality filters on several fields are served by merging these (Firestore's index merging).
QUEUE_INDEXES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("state", "ASCENDING"), ("tier", "ASCENDING"), ("created_at", "DESCENDING")),
    (("tier", "ASCENDING"), ("created_at", "DESCENDING")),
    (("marketplace", "ASCENDING"), ("created_at", "DESCENDING")),
    (("seller_id", "ASCENDING"), ("created_at", "DESCENDING")),
    (("rule", "ASCENDING"), ("created_at", "DESCENDING")),
    (("signals", "CONTAINS"), ("created_at", "DESCENDING")),
)


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer asked for; ``state`` None means every state."""

    tiers: tuple[int, ...] = QUEUE_TIERS
    state: State | None = "pending"
    marketplace: str | None = None
    seller_id: str | None = None
    signal: str | None = None
    rule: str | None = None
    since: date | None = None
    until: date | None = None

    def store_filters(self, tier: int, *, with_state: bool = True) -> list[Filter]:
        out = [Filter("tier", "==", tier)]
        if with_state and self.state is not None:
            out.append(Filter("state", "==", self.state))
        for name, value in (
            ("marketplace", self.marketplace),
            ("seller_id", self.seller_id),
            ("rule", self.rule),
        ):
            if value:
                out.append(Filter(name, "==", value))
        if self.signal:
            out.append(Filter("signals", "array_contains", self.signal))
        if self.since:
            out.append(Filter("created_at", ">=", datetime.combine(self.since, time.min, UTC)))
        if self.until:
            out.append(
                Filter("created_at", "<", datetime.combine(self.until, time.min, UTC) + timedelta(days=1))
            )
        return out


@dataclass(frozen=True)
class QueueRow:
    """One listing's row: its latest verdict's fields, listing fields and state (``queue_docs.entry_for``)."""

    doc: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.doc[name]
        except KeyError:
            raise AttributeError(name) from None

    def position(self) -> list[Any]:
        return [self.doc["tier"], self.doc["created_at"].isoformat(), self.doc["listing_id"]]


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def encode_cursor(positions: dict[str, list[Any]]) -> str:
    raw = json.dumps(positions, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, brands: list[str]) -> dict[str, tuple[int, datetime, str]]:
    """Positions per brand; ValueError for a token this page did not make. Brands not asked for are ignored,
    so a cursor never widens what a reviewer sees."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        out = {}
        for brand, (tier, iso, listing_id) in dict(raw).items():
            created = datetime.fromisoformat(iso)
            if brand in brands and isinstance(tier, int) and re.fullmatch(ID_PATTERN, listing_id):
                out[brand] = (tier, created if created.tzinfo else created.replace(tzinfo=UTC), listing_id)
        return out
    except (ValueError, TypeError, binascii.Error, AttributeError) as exc:
        raise ValueError("not a queue cursor (reload the queue)") from exc


def _brand_rows(
    docs: DocumentStore,
    brand: str,
    filters: QueueFilters,
    pos: tuple[int, datetime, str] | None,
    want: int,
) -> list[QueueRow]:
    rows: list[QueueRow] = []
    for tier in sorted(filters.tiers):
        if pos is not None and tier < pos[0]:
            continue
        after = Cursor((pos[1],), pos[2]) if pos is not None and tier == pos[0] else None
        found = docs.query(
            paths.queue(brand),
            filters.store_filters(tier),
            NEWEST,
            limit=want - len(rows),
            start_after=after,
        )
        rows += [QueueRow(doc) for _path, doc in found]
        if len(rows) >= want:
            break
    return rows


def _merged(rows: list[QueueRow]) -> list[QueueRow]:
    rows = sorted(rows, key=lambda r: r.doc["listing_id"], reverse=True)  # the store's tie order, then:
    return sorted(rows, key=lambda r: (r.doc["tier"], -r.doc["created_at"].timestamp(), r.doc["brand_id"]))


def list_queue(
    docs: DocumentStore,
    brands: list[str],
    filters: QueueFilters,
    *,
    page_size: int = PAGE_SIZE,
    cursor: str | None = None,
) -> QueuePage:
    """One page of rows (at most ``page_size``) and the cursor of the next page (None on the last)."""
    page_size = max(1, min(int(page_size), PAGE_MAX))
    positions = decode_cursor(cursor, brands) if cursor else {}
    fetched: list[QueueRow] = []
    for brand in brands:
        fetched += _brand_rows(docs, brand, filters, positions.get(brand), page_size + 1)
    merged = _merged(fetched)
    shown = merged[:page_size]
    new_positions = {b: [p[0], p[1].isoformat(), p[2]] for b, p in positions.items()}
    for row in shown:
        new_positions[row.doc["brand_id"]] = row.position()
    more = len(merged) > page_size
    return QueuePage(shown, encode_cursor(new_positions) if more else None)


def count_states(docs: DocumentStore, brands: list[str], filters: QueueFilters) -> dict[str, int]:
    """Rows per state for the same filters (a count aggregation per brand, tier and state)."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for brand in brands:
        for tier in filters.tiers:
            base = filters.store_filters(tier, with_state=False)
            for state in STATES:
                counts[state] += docs.count(paths.queue(brand), [*base, Filter("state", "==", state)])
    return counts


def next_row(
    docs: DocumentStore, brands: list[str], filters: QueueFilters, after: QueueRow
) -> QueueRow | None:
    """The reviewer's "next item" once a decision is recorded: the row after ``after`` in its brand's part of
    this view, else the first row of the whole view that is another listing (None when nothing is left)."""
    brand = after.doc["brand_id"]
    same = list_queue(docs, [brand], filters, page_size=1, cursor=encode_cursor({brand: after.position()}))
    if same.rows:
        return same.rows[0]
    first = list_queue(docs, brands, filters, page_size=2)
    others = [r for r in first.rows if (r.brand_id, r.listing_id) != (brand, after.listing_id)]
    return others[0] if others else None
