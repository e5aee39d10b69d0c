"""Rebuild a brand's review-queue rows from its verdicts (verdicts recorded before rows existed, or a row
store restored from a backup). Idempotent: a verdict already on its row changes nothing, so it can be rerun."""

from __future__ import annotations

from typing import Any

from common import paths
from common.ports import DocumentStore, Order, cursor_after
from common.review.queue import verdict_from_doc
from common.review.queue_docs import record_verdict

BATCH = 500


def rebuild_queue(docs: DocumentStore, brand: str) -> tuple[int, int]:
    """(verdicts read, rows changed), paging through the verdicts by scan id."""
    order = [Order("scan_id")]
    read = changed = 0
    cursor = None
    while True:
        rows = docs.query(paths.verdicts(brand), order_by=order, limit=BATCH, start_after=cursor)
        for _path, doc in rows:
            verdict = verdict_from_doc(doc)
            scan: dict[str, Any] = docs.get(paths.scan_path(brand, verdict.scan_id)) or {}
            changed += record_verdict(docs, verdict, scan.get("listing") or {})
            read += 1
        if len(rows) < BATCH:
            return read, changed
        cursor = cursor_after(*rows[-1], order)
