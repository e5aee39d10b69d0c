"""Review decisions on verdicts, on any DocumentStore (SQLite locally, Firestore in the cloud).

A decision is stored on the verdict (``review``, earlier ones in ``review_history``) and on the listing's
queue row (``common.review.queue_docs``) in one transaction, so the queue's state filters and counts never
disagree with the verdicts. Listing the queue is ``common.review.queue_list``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from common import paths
from common.messages import Verdict
from common.paths import verdict_path
from common.ports import DocumentStore, Filter, NotFound, Transaction
from common.review.queue_docs import queue_path, with_review, with_verdict

QUEUE_TIERS = (1, 2)  # seed 004: Tier 1 priority review, Tier 2 general review; 3/4 never reach legal
NOTE_MAX_CHARS = 2000
Decision = Literal["confirmed", "rejected", "not_sure"]
DECISIONS: dict[str, Decision] = {"confirm": "confirmed", "reject": "rejected", "not_sure": "not_sure"}
Show = Literal["pending", "not_sure", "decided"]


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
        verdict = verdict_from_doc(doc)
        qpath = queue_path(brand, verdict.listing_id)
        row = txn.get(qpath)
        scan = txn.get(paths.scan_path(brand, scan_id)) if row is None else None
        history = list(doc.get("review_history") or [])
        if isinstance(doc.get("review"), dict):
            history.append(doc["review"])
        txn.update(path, {"review": review, "review_history": history})
        if row is None:  # a verdict recorded before queue rows existed gets its row on its first decision
            row = with_verdict(None, verdict, (scan or {}).get("listing") or {})
        assert row is not None
        txn.set(qpath, with_review(row, scan_id, review))
        return review

    return docs.transaction(apply)


def reviewed_verdicts(docs: DocumentStore, brand: str) -> list[tuple[Verdict, dict[str, Any]]]:
    """Every verdict of the brand with a review decision (the calibration input)."""
    out = []
    decided = Filter("review.decision", "in", sorted(set(DECISIONS.values())))
    for _path, doc in docs.query(paths.verdicts(brand), filters=[decided]):
        out.append((verdict_from_doc(doc), doc["review"]))
    return out
