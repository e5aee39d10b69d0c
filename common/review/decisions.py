"""One reviewer decision with everything that follows it: the record (``queue.record_decision``), the
enforcement case a confirmation opens, and the marketplace callback a confirm/reject sends.

Why a module of its own: the item form, the JSON API and the bulk form decide the same way; a bulk
confirmation must open the same case and send the same callback as a single one.
"""

from __future__ import annotations

from typing import Any

from common import paths
from common.callbacks import notify_review
from common.enforcement.cases import open_case
from common.review.case_routes import reviewer_display_name
from common.review.queue import record_decision, verdict_from_doc


def decide_item(deps: Any, reviewer: str, brand: str, scan_id: str, action: str, note: str) -> dict[str, Any]:
    """Record ``action`` on the item and run its consequences; ValueError for an unknown action, NotFound for
    a verdict that does not exist. ``deps`` is the reviewer's scoped view, so another brand cannot be written."""
    review = record_decision(
        deps.docs, brand, scan_id, action=action, note=note, reviewer=reviewer, now=deps.clock()
    )
    if review["decision"] == "confirmed":  # every confirmed item becomes an enforcement case
        verdict = verdict_from_doc(deps.docs.get(paths.verdict_path(brand, scan_id)) or {})
        listing = (deps.docs.get(paths.scan_path(brand, scan_id)) or {}).get("listing") or {}
        open_case(deps.docs, brand, scan_id, by=reviewer_display_name(deps.settings, reviewer),
                  now=review["decided_at"], marketplace=listing.get("marketplace"),
                  listing_id=verdict.listing_id)  # fmt: skip
    if review["decision"] in ("confirmed", "rejected"):  # block_listing / release, as the policy says
        notify_review(deps, brand, scan_id)
    return review
