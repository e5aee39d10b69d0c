"""One review-queue document per listing, kept by the chain as verdicts are recorded.

Why a document per listing instead of grouping verdicts at read time: a re-scanned listing must be one row
(its latest verdict, earlier scans as history), and the queue must filter, order, page and count in the store
query; grouping after a read cannot do either at 10,000 verdicts. ``brands/{brand}/queue/{listing_id}`` holds
the latest verdict's fields plus the listing's seller / price / marketplace, so one indexed query serves any
filter of the queue page. Listing ids match ``ID_PATTERN`` (alphanumeric first, no ``/``), a valid document id.

Applying a verdict is idempotent: a scan already on the document (as latest or in history) changes nothing, so
a redelivered message or a rebuild never duplicates a row or a history entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from common.messages import Verdict
from common.paths import queue_path, verdict_path

HISTORY_MAX = 50  # earlier scans kept on a listing's row; older ones stay readable as verdict documents
State = Literal["pending", "not_sure", "decided"]
STATES: tuple[State, ...] = ("pending", "not_sure", "decided")
LISTING_FIELDS = ("title", "marketplace", "seller_id", "store_url", "price", "currency", "url")


def state_of(review: dict[str, Any] | None) -> State:
    if not review:
        return "pending"
    return "not_sure" if review.get("decision") == "not_sure" else "decided"


def _review_fields(review: dict[str, Any] | None) -> dict[str, Any]:
    review = review if isinstance(review, dict) else None
    return {
        "state": state_of(review),
        "decision": review.get("decision") if review else None,
        "reviewer": review.get("reviewer") if review else None,
        "decided_at": review.get("decided_at") if review else None,
    }


def entry_for(
    verdict: Verdict, listing: dict[str, Any], review: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The row fields of one verdict (and the listing it was made for)."""
    return {
        "brand_id": verdict.brand_id,
        "listing_id": verdict.listing_id,
        "scan_id": verdict.scan_id,
        "tier": verdict.tier,
        "score": verdict.score,
        "rule": verdict.rule,
        "signals": sorted(n for n, s in verdict.signals.items() if s.status == "fired"),
        "best_reference": verdict.best_reference,
        "created_at": verdict.created_at,
        **{key: listing.get(key) for key in LISTING_FIELDS},
        **_review_fields(review),
    }


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("scan_id", "tier", "score", "created_at", "decision")
    return {key: row.get(key) for key in keys}


def _newer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["created_at"], a["scan_id"]) > (b["created_at"], b["scan_id"])


def with_verdict(
    current: dict[str, Any] | None,
    verdict: Verdict,
    listing: dict[str, Any],
    review: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The listing's row after ``verdict``; None when the verdict is already on it (idempotent)."""
    entry = entry_for(verdict, listing, review)
    if current is None:
        return {**entry, "history": []}
    history = list(current.get("history") or [])
    if verdict.scan_id == current.get("scan_id") or any(h.get("scan_id") == verdict.scan_id for h in history):
        return None
    if _newer(entry, current):
        history.insert(0, _summary(current))
        return {**entry, "history": history[:HISTORY_MAX]}
    history.append(_summary(entry))
    history.sort(key=lambda h: (h["created_at"], h["scan_id"]), reverse=True)
    return {**current, "history": history[:HISTORY_MAX]}


def with_review(current: dict[str, Any], scan_id: str, review: dict[str, Any]) -> dict[str, Any]:
    """The row after a decision on ``scan_id``: the row's own state when it is the latest scan, else the
    history entry's decision (a decision on an old scan does not reopen or close the listing)."""
    if current.get("scan_id") == scan_id:
        return {**current, **_review_fields(review)}
    history = [
        {**h, "decision": review.get("decision")} if h.get("scan_id") == scan_id else h
        for h in current.get("history") or []
    ]
    return {**current, "history": history}


def decided_at(row: dict[str, Any]) -> datetime | None:
    value = row.get("decided_at")
    return value if isinstance(value, datetime) else None


def record_verdict(docs: Any, verdict: Verdict, listing: dict[str, Any]) -> bool:
    """Put ``verdict`` on its listing's row in a transaction (for verdicts written outside the chain, and for
    rebuilding rows of verdicts recorded before rows existed). True when the row changed."""
    path = queue_path(verdict.brand_id, verdict.listing_id)

    def apply(txn: Any) -> bool:
        verdict_doc = txn.get(verdict_path(verdict.brand_id, verdict.scan_id)) or {}
        row = with_verdict(txn.get(path), verdict, listing, verdict_doc.get("review"))
        if row is not None:
            txn.set(path, row)
        return row is not None

    return bool(docs.transaction(apply))
