"""Outbound "block listing" callbacks to marketplaces for Tier 1 verdicts.

A marketplace registers ``marketplaces/{id}`` = ``{"callback_url": "https://..."}``. The callback body is JSON
signed exactly like inbound webhooks (``X-Signature: t=..,v1=..`` with the marketplace's current secret), so
the marketplace verifies us with the code it already has. The URL is fetched under the same SSRF rules as
listing images (a registered URL could have been pointed at our own network). At most one successful callback
per scan: the evidence step may run twice under at-least-once delivery, so the outcome is recorded in
``brands/{brand}/callbacks/{scan_id}`` and a sent callback is never repeated. A failing endpoint never fails
the scan: the verdict stands, and the failure is recorded for ops to see.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from common.bootstrap import Deps
from common.errors import FetchRefused
from common.fetch import request
from common.messages import Listing, Verdict
from common.ports import AlreadyExists
from common.webhook import SIGNATURE_HEADER, sign_header

log = logging.getLogger(__name__)

CALLBACK_TIMEOUT_S = (
    10.0  # marketplaces answer a webhook in well under a second; we never block a step longer
)
CALLBACK_MAX_RESPONSE_BYTES = 64 * 1024  # we read (and ignore) at most this much of their answer
ACTION = "block_listing"


@dataclass(frozen=True)
class CallbackResult:
    status: str  # "sent" | "already_sent" | "skipped" | "failed"
    detail: str = ""


def block_listing_body(verdict: Verdict, listing: Listing, sent_at: str) -> dict[str, Any]:
    return {
        "action": ACTION,
        "listing_id": listing.listing_id,
        "marketplace": listing.marketplace,
        "brand_id": verdict.brand_id,
        "scan_id": verdict.scan_id,
        "tier": verdict.tier,
        "score": round(verdict.score, 4),
        "reasons": list(verdict.reasons),
        "best_reference": verdict.best_reference,
        "evidence": verdict.evidence,
        "sent_at": sent_at,
    }


def notify_block_listing(deps: Deps, verdict: Verdict, listing: Listing) -> CallbackResult:
    """POST a signed block-listing action for a Tier 1 verdict when the listing's marketplace registered a
    callback URL. Never raises for the marketplace's failures (recorded instead)."""
    if verdict.tier != 1:
        return CallbackResult("skipped", "not tier 1")
    marketplace = listing.marketplace
    if not marketplace:
        return CallbackResult("skipped", "listing has no marketplace")
    registration = deps.docs.get(f"marketplaces/{marketplace}") or {}
    url = registration.get("callback_url")
    if not isinstance(url, str) or not url:
        return CallbackResult("skipped", f"marketplace {marketplace!r} registered no callback_url")
    secrets = deps.settings.webhook_secrets.get(marketplace, ())
    if not secrets:
        return CallbackResult("skipped", f"no shared secret configured for marketplace {marketplace!r}")

    record = f"brands/{verdict.brand_id}/callbacks/{verdict.scan_id}"
    now = deps.clock()
    try:
        deps.docs.create(record, {"status": "sending", "marketplace": marketplace, "attempts": 0, "at": now})
    except AlreadyExists:
        previous = deps.docs.get(record) or {}
        if previous.get("status") == "sent":
            return CallbackResult("already_sent")

    body = json.dumps(block_listing_body(verdict, listing, now.isoformat()), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_header(secrets[0], body, int(now.timestamp())),
        "Idempotency-Key": f"{verdict.scan_id}:{ACTION}",
    }
    try:
        result = request(
            "POST", url, body=body, headers=headers, max_bytes=CALLBACK_MAX_RESPONSE_BYTES,
            timeout_s=CALLBACK_TIMEOUT_S, allow_private=deps.settings.fetch_allow_private,
            follow_redirects=False,
        )  # fmt: skip
    except FetchRefused as exc:
        outcome = CallbackResult("failed", str(exc))
    else:
        ok = 200 <= result.status < 300
        outcome = CallbackResult("sent" if ok else "failed", f"HTTP {result.status}")
    previous = deps.docs.get(record) or {}
    deps.docs.set(
        record,
        {
            "status": outcome.status,
            "detail": outcome.detail[:500],
            "marketplace": marketplace,
            "attempts": int(previous.get("attempts") or 0) + 1,
            "at": deps.clock(),
        },
    )
    level = logging.INFO if outcome.status == "sent" else logging.WARNING
    log.log(level, "block-listing callback for scan %s to %s: %s %s", verdict.scan_id, marketplace,
            outcome.status, outcome.detail)  # fmt: skip
    return outcome
