"""The review queue and review decisions, on any DocumentStore (SQLite locally, Firestore in the cloud).

Why filter "already reviewed" after the query: Firestore cannot select documents that lack a field, so the
query asks for Tier 1/2 verdicts newest first (composite index verdicts: tier ASC, created_at DESC) and the
decided ones are dropped here; ``QUEUE_SCAN_LIMIT`` bounds the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from common.messages import Verdict
from common.ports import DocumentStore, Filter, NotFound, Order, Transaction

QUEUE_TIERS = (1, 2)  # seed 004: Tier 1 priority review, Tier 2 general review; 3/4 never reach legal
QUEUE_SCAN_LIMIT = 500  # verdicts read per brand per page view; a day's Tier 1/2 output for a large brand
NOTE_MAX_CHARS = 2000
Decision = Literal["confirmed", "rejected", "not_sure"]
DECISIONS: dict[str, Decision] = {"confirm": "confirmed", "reject": "rejected", "not_sure": "not_sure"}
Show = Literal["pending", "not_sure", "decided"]


def verdict_path(brand_id: str, scan_id: str) -> str:
    return f"brands/{brand_id}/verdicts/{scan_id}"


def verdict_from_doc(doc: dict[str, Any]) -> Verdict:
    """The Verdict in a stored doc; fields added next to it (``review``, ...) are not part of the model."""
    return Verdict.model_validate({k: v for k, v in doc.items() if k in Verdict.model_fields})


@dataclass(frozen=True)
class QueueItem:
    verdict: Verdict
    review: dict[str, Any] | None

    @property
    def signals_fired(self) -> list[str]:
        return sorted(n for n, s in self.verdict.signals.items() if s.status == "fired")


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def list_queue(
    docs: DocumentStore,
    brands: list[str],
    *,
    tiers: tuple[int, ...] = QUEUE_TIERS,
    since: date | None = None,
    until: date | None = None,
    show: Show = "pending",
    limit: int = QUEUE_SCAN_LIMIT,
) -> list[QueueItem]:
    """Tier 1 before Tier 2, newest first within a tier, stronger score first on ties."""
    items: list[QueueItem] = []
    start = datetime.combine(since, time.min, UTC) if since else None
    end = datetime.combine(until, time.min, UTC) + timedelta(days=1) if until else None
    for brand in brands:
        rows = docs.query(
            f"brands/{brand}/verdicts",
            filters=[Filter("tier", "in", [t for t in tiers if t in QUEUE_TIERS])],
            order_by=[Order("created_at", descending=True)],
            limit=limit,
        )
        for _path, doc in rows:
            created = _as_utc(doc.get("created_at"))
            if created is None or (start and created < start) or (end and created >= end):
                continue
            review = doc.get("review") if isinstance(doc.get("review"), dict) else None
            decision = review.get("decision") if review else None
            if (show == "pending" and review) or (show == "not_sure" and decision != "not_sure"):
                continue
            if show == "decided" and not review:
                continue
            items.append(QueueItem(verdict_from_doc(doc), review))
    items.sort(key=lambda it: (it.verdict.tier, -it.verdict.created_at.timestamp(), -it.verdict.score))
    return items


def get_item(docs: DocumentStore, brand: str, scan_id: str) -> QueueItem | None:
    doc = docs.get(verdict_path(brand, scan_id))
    if doc is None:
        return None
    review = doc.get("review") if isinstance(doc.get("review"), dict) else None
    return QueueItem(verdict_from_doc(doc), review)


def record_decision(
    docs: DocumentStore, brand: str, scan_id: str, *, action: str, note: str, reviewer: str, now: datetime
) -> dict[str, Any]:
    """Store ``review`` on the verdict doc (a transaction: the verdict must exist). Returns the review."""
    if action not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    review = {
        "decision": DECISIONS[action],
        "note": note.strip()[:NOTE_MAX_CHARS],
        "reviewer": reviewer,
        "decided_at": now,
    }
    path = verdict_path(brand, scan_id)

    def apply(txn: Transaction) -> dict[str, Any]:
        doc = txn.get(path)
        if doc is None:
            raise NotFound(path)
        history = list(doc.get("review_history") or [])
        if isinstance(doc.get("review"), dict):
            history.append(doc["review"])
        txn.update(path, {"review": review, "review_history": history})
        return review

    return docs.transaction(apply)


def reviewed_verdicts(docs: DocumentStore, brand: str) -> list[tuple[Verdict, dict[str, Any]]]:
    """Every verdict of the brand with a review decision (the calibration input)."""
    out = []
    decided = Filter("review.decision", "in", sorted(set(DECISIONS.values())))
    for _path, doc in docs.query(f"brands/{brand}/verdicts", filters=[decided]):
        out.append((verdict_from_doc(doc), doc["review"]))
    return out
