"""Outbound "block listing" callbacks to marketplaces for Tier 1 verdicts.

A marketplace registers ``marketplaces/{id}`` = ``{"callback_url": "https://..."}``. The callback body is JSON
signed exactly like inbound webhooks (``X-Signature: t=..,v1=..`` with the marketplace's current secret), so
the marketplace verifies us with the code it already has. The URL is fetched under the same SSRF rules as
listing images (a registered URL could have been pointed at our own network). At most one successful callback
per scan: the evidence step may run twice under at-least-once delivery, so the outcome is recorded in
``brands/{brand}/callbacks/{scan_id}`` and a sent callback is never repeated. A failing endpoint never fails
the scan: the verdict stands, and the failure is recorded for ops to see.

Who may be told (issue 11 #2: brand B's upload naming brand A's marketplace got A a signed block order):
- the marketplace must be the authenticated sender of the listing, i.e. its signed webhook request
  (``MarketplaceProvenance.verified``); a marketplace named in upload metadata or a CLI listings file is
  recorded as given and never acted on;
- it must still be registered for the verdict's brand (``marketplaces/{id}.brands``, checked again here:
  registrations change after ingest).
Every outcome, refusals included, is recorded in ``brands/{brand}/callbacks/{scan_id}`` and returned, so the
evidence step can say on the scan why no callback was sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from common import paths
from common.authz import principal_for_marketplace
from common.bootstrap import Deps
from common.errors import FetchRefused
from common.fetch import request
from common.messages import Listing, MarketplaceProvenance, Verdict
from common.ports import AlreadyExists
from common.signing import SIGNATURE_HEADER, sign_header

log = logging.getLogger(__name__)

CALLBACK_TIMEOUT_S = (
    10.0  # marketplaces answer a webhook in well under a second; we never block a step longer
)
CALLBACK_MAX_RESPONSE_BYTES = 64 * 1024  # we read (and ignore) at most this much of their answer
ACTION = "block_listing"


@dataclass(frozen=True)
class CallbackResult:
    status: str  # "sent" | "already_sent" | "skipped" | "refused" (not allowed to go there) | "failed"
    detail: str = ""

    def record(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail[:500]}


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


def _refusal(deps: Deps, verdict: Verdict, listing: Listing, provenance: MarketplaceProvenance) -> str | None:
    """Why no callback may go to ``listing.marketplace`` for this verdict, or None when one may."""
    marketplace = listing.marketplace or ""
    if not (provenance.verified and provenance.marketplace == marketplace):
        return (
            f"marketplace {marketplace[:100]!r} came from {provenance.source}: recorded as given, never acted "
            "on (only a marketplace's signed webhook listing gets a callback)"
        )
    if not principal_for_marketplace(deps, marketplace).allows(verdict.brand_id):
        return f"marketplace {marketplace!r} is not registered for brand {verdict.brand_id!r}"
    return None


def _record_not_sent(deps: Deps, verdict: Verdict, marketplace: str, outcome: CallbackResult) -> None:
    """Keep why nothing was sent, unless an earlier attempt already sent it (that record stays true)."""
    path = paths.callback_path(verdict.brand_id, verdict.scan_id)
    if (deps.docs.get(path) or {}).get("status") == "sent":
        return
    deps.docs.set(path, outcome.record() | {"marketplace": marketplace[:100], "at": deps.clock()})


def notify_block_listing(
    deps: Deps, verdict: Verdict, listing: Listing, provenance: MarketplaceProvenance
) -> CallbackResult:
    """POST a signed block-listing action for a Tier 1 verdict to the marketplace that sent the listing
    through its signed webhook, when that marketplace is registered for the brand and has a callback URL.
    Never raises for the marketplace's failures (recorded instead)."""
    if verdict.tier != 1:
        return CallbackResult("skipped", "not tier 1")
    marketplace = listing.marketplace
    if not marketplace:
        return CallbackResult("skipped", "listing has no marketplace")
    why = _refusal(deps, verdict, listing, provenance)
    if why is not None:
        outcome = CallbackResult("refused", why)
        _record_not_sent(deps, verdict, marketplace, outcome)
        log.warning("block-listing callback for scan %s refused: %s", verdict.scan_id, why)
        return outcome
    registration = deps.docs.get(paths.marketplace(marketplace)) or {}
    url = registration.get("callback_url")
    secrets = deps.settings.webhook_secrets.get(marketplace, ())
    if not isinstance(url, str) or not url or not secrets:
        missing = (
            "has no shared secret configured"
            if isinstance(url, str) and url
            else "registered no callback_url"
        )
        outcome = CallbackResult("skipped", f"marketplace {marketplace!r} {missing}")
        _record_not_sent(deps, verdict, marketplace, outcome)
        return outcome

    record = paths.callback_path(verdict.brand_id, verdict.scan_id)
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
