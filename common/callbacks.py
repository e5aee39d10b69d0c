"""Outbound marketplace callbacks: what we tell the marketplace that sent a listing, and when.

Safe by default (seed 004, ch. 6: a false positive costs more than a miss): each registered marketplace has a
``policy`` in ``marketplaces/{id}``:
- ``block_after_review`` (default): nothing on the verdict; ``block_listing`` when a reviewer confirms;
- ``flag``: a Tier-1 verdict sends ``hold_for_review`` (the marketplace may hide the listing while we look);
  confirmation sends ``block_listing``;
- ``auto_block_tier1`` (opt-in, as Alibaba runs it): a Tier-1 verdict sends ``block_listing`` at once.
A rejection in review sends ``release`` when a hold or block went out before. The body is JSON signed exactly
like inbound webhooks (``X-Signature: t=..,v1=..`` with the marketplace's current secret), carries an
``Idempotency-Key`` of ``{scan_id}:{action}``, and is retried with backoff (``RETRY_DELAYS_S``) on network
errors, 429 and 5xx. Each action's delivery (status, every attempt) is recorded in
``brands/{brand}/callbacks/{scan_id}`` (``block_listing``, as before) or ``brands/{brand}/callbacks/{scan_id}:
{action}``; a sent action is never repeated. The evidence link is a time-limited signed URL of the report
(GCS V4) or, on the local store, the review page's authenticated item link (``REVIEW_BASE_URL``); never an
internal path. URLs are fetched under the SSRF rules of listing images. A failing endpoint never fails the scan.

Who may be told (issue 11 #2: brand B's upload naming brand A's marketplace got A a signed block order):
- the marketplace must be the authenticated sender of the listing, i.e. its signed webhook request
  (``MarketplaceProvenance.verified``); a marketplace named in upload metadata or a CLI listings file is
  recorded as given and never acted on;
- it must still be registered for the verdict's brand (``marketplaces/{id}.brands``, checked again here:
  registrations change after ingest).
Every outcome, refusals included, is recorded and returned, so the evidence step can say on the scan why no
callback was sent.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
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
ACTIONS = ("block_listing", "hold_for_review", "release")
POLICIES = ("flag", "block_after_review", "auto_block_tier1")
DEFAULT_POLICY = "block_after_review"
RETRY_DELAYS_S = (1.0, 4.0)  # after the first and second failed attempt: three attempts within ~5 s of a step
EVIDENCE_LINK_TTL_S = 7 * 24 * 3600  # a week: a marketplace's trust and safety queue reviews within days
_sleep = time.sleep  # tests replace it
# common.fetch refusals that come from our address rules, not the network: retrying cannot help
_POLICY_REFUSALS = ("metadata host", "resolves to", "only http", "credentials", "malformed", "has no host",
                    "redirects")  # fmt: skip


@dataclass(frozen=True)
class CallbackResult:
    status: str  # "sent" | "already_sent" | "skipped" | "refused" (not allowed to go there) | "failed"
    detail: str = ""

    def record(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail[:500]}


def evidence_link(deps: Deps, verdict: Verdict) -> tuple[str | None, str | None]:
    """(URL the marketplace may open, its expiry) for the verdict's report: a signed URL of the bundle's
    report.pdf in the evidence bucket, else the review page's item link (sign-in required), else nothing."""
    record = deps.docs.get(paths.evidence_doc_path(verdict.brand_id, verdict.scan_id)) or {}
    location = str(record.get("location") or verdict.evidence or "")
    if location.startswith("gs://"):
        bucket, _, prefix = location[5:].partition("/")
        url = deps.blobs.signed_url(bucket, prefix.rstrip("/") + "/report.pdf", EVIDENCE_LINK_TTL_S)
        if url:
            expires = deps.clock() + timedelta(seconds=EVIDENCE_LINK_TTL_S)
            return url, expires.isoformat()
    base = deps.settings.review_base_url
    if base:
        return f"{base.rstrip('/')}/brands/{verdict.brand_id}/items/{verdict.scan_id}", None
    return None, None


def action_body(
    deps: Deps, verdict: Verdict, listing: Listing, action: str, sent_at: str, review: dict[str, Any] | None
) -> dict[str, Any]:
    """The callback body (docs/api/schemas/callback.json)."""
    url, expires = evidence_link(deps, verdict)
    return {
        "action": action,
        "listing_id": listing.listing_id,
        "marketplace": listing.marketplace,
        "brand_id": verdict.brand_id,
        "scan_id": verdict.scan_id,
        "tier": verdict.tier,
        "score": round(verdict.score, 4),
        "reasons": list(verdict.reasons),
        "best_reference": verdict.best_reference,
        "evidence_url": url,
        "evidence_url_expires_at": expires,
        "review": None
        if review is None
        else {"decision": review.get("decision"), "decided_at": str(review.get("decided_at"))},
        "sent_at": sent_at,
    }


def record_path(brand: str, scan_id: str, action: str) -> str:
    return paths.callback_path(brand, scan_id, None if action == ACTION else action)


def policy_of(deps: Deps, marketplace: str) -> str:
    policy = (deps.docs.get(paths.marketplace(marketplace)) or {}).get("policy")
    return policy if policy in POLICIES else DEFAULT_POLICY


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


def _record_not_sent(
    deps: Deps, verdict: Verdict, marketplace: str, outcome: CallbackResult, action: str
) -> None:
    """Keep why nothing was sent, unless an earlier attempt already sent it (that record stays true)."""
    path = record_path(verdict.brand_id, verdict.scan_id, action)
    if (deps.docs.get(path) or {}).get("status") == "sent":
        return
    deps.docs.set(
        path, outcome.record() | {"marketplace": marketplace[:100], "action": action, "at": deps.clock()}
    )


def notify_verdict(
    deps: Deps, verdict: Verdict, listing: Listing, provenance: MarketplaceProvenance
) -> CallbackResult:
    """On a new verdict (the evidence step): what the marketplace's policy allows before any human looked."""
    if verdict.tier != 1:
        return CallbackResult("skipped", "not tier 1")
    marketplace = listing.marketplace
    if not marketplace:
        return CallbackResult("skipped", "listing has no marketplace")
    why = _refusal(deps, verdict, listing, provenance)
    if why is not None:
        outcome = CallbackResult("refused", why)
        _record_not_sent(deps, verdict, marketplace, outcome, ACTION)
        log.warning("callback for scan %s refused: %s", verdict.scan_id, why)
        return outcome
    policy = policy_of(deps, marketplace)
    if policy == "block_after_review":
        outcome = CallbackResult("skipped", "policy block_after_review: block_listing waits for a reviewer")
        _record_not_sent(deps, verdict, marketplace, outcome, ACTION)
        return outcome
    action = ACTION if policy == "auto_block_tier1" else "hold_for_review"
    return send_action(deps, verdict, listing, action)


# kept for callers and tests written before policies: the verdict-time entry point
notify_block_listing = notify_verdict


def notify_review(deps: Deps, brand: str, scan_id: str) -> CallbackResult:
    """After a review decision: confirmed -> ``block_listing``; rejected -> ``release`` when a hold or block
    went out. Same provenance and registration rules as ``notify_verdict``."""
    from common.review.queue import get_item

    item = get_item(deps.docs, brand, scan_id)
    if item is None or not item.review:
        return CallbackResult("skipped", "no review decision")
    decision = item.review.get("decision")
    scan = deps.docs.get(paths.scan_path(brand, scan_id)) or {}
    try:
        listing = Listing.model_validate(scan.get("listing") or {})
    except ValueError:
        return CallbackResult("skipped", "the scan has no valid listing")
    marketplace = listing.marketplace
    if not marketplace:
        return CallbackResult("skipped", "listing has no marketplace")
    if decision == "confirmed":
        action = ACTION
    elif decision == "rejected":
        sent = [a for a in (ACTION, "hold_for_review")
                if (deps.docs.get(record_path(brand, scan_id, a)) or {}).get("status") == "sent"]  # fmt: skip
        if not sent:
            return CallbackResult("skipped", "rejected, and nothing was held or blocked: nothing to release")
        action = "release"
    else:
        return CallbackResult("skipped", f"decision {decision!r} tells the marketplace nothing")
    why = _refusal(deps, item.verdict, listing, MarketplaceProvenance.of_scan(scan))
    if why is not None:
        outcome = CallbackResult("refused", why)
        _record_not_sent(deps, item.verdict, marketplace, outcome, action)
        return outcome
    return send_action(deps, item.verdict, listing, action, review=item.review)


def _attempt(url: str, body: bytes, headers: dict[str, str], allow_private: bool) -> tuple[bool, bool, str]:
    """(delivered, worth retrying, detail) of one POST."""
    try:
        result = request(
            "POST", url, body=body, headers=headers, max_bytes=CALLBACK_MAX_RESPONSE_BYTES,
            timeout_s=CALLBACK_TIMEOUT_S, allow_private=allow_private, follow_redirects=False,
        )  # fmt: skip
    except FetchRefused as exc:
        refused_by_policy = any(w in str(exc) for w in _POLICY_REFUSALS)  # the same answer every time
        return False, not refused_by_policy, str(exc)
    ok = 200 <= result.status < 300
    return ok, (result.status == 429 or result.status >= 500), f"HTTP {result.status}"


def send_action(
    deps: Deps, verdict: Verdict, listing: Listing, action: str, *, review: dict[str, Any] | None = None
) -> CallbackResult:
    """POST one signed action (idempotent per scan and action, retried with backoff, delivery recorded).
    Callers have checked provenance and registration. Never raises for the marketplace's failures."""
    marketplace = str(listing.marketplace)
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
        _record_not_sent(deps, verdict, marketplace, outcome, action)
        return outcome

    record = record_path(verdict.brand_id, verdict.scan_id, action)
    now = deps.clock()
    try:
        deps.docs.create(record, {"status": "sending", "marketplace": marketplace, "action": action, "attempts": 0,
                                  "at": now})  # fmt: skip
    except AlreadyExists:
        if (deps.docs.get(record) or {}).get("status") == "sent":
            return CallbackResult("already_sent")

    body = json.dumps(
        action_body(deps, verdict, listing, action, now.isoformat(), review), sort_keys=True
    ).encode()
    history: list[dict[str, Any]] = []
    delivered, detail = False, ""
    for n in range(len(RETRY_DELAYS_S) + 1):
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_header(secrets[0], body, int(deps.clock().timestamp())),
            "Idempotency-Key": f"{verdict.scan_id}:{action}",
        }
        delivered, retry, detail = _attempt(url, body, headers, deps.settings.fetch_allow_private)
        history.append({"at": deps.clock(), "detail": detail[:200]})
        if delivered or not retry or n == len(RETRY_DELAYS_S):
            break
        _sleep(RETRY_DELAYS_S[n])
    outcome = CallbackResult("sent" if delivered else "failed", detail)
    previous = deps.docs.get(record) or {}
    deps.docs.set(
        record,
        {
            "status": outcome.status,
            "detail": outcome.detail[:500],
            "marketplace": marketplace,
            "action": action,
            "attempts": int(previous.get("attempts") or 0) + len(history),
            "deliveries": (list(previous.get("deliveries") or []) + history)[-20:],
            "at": deps.clock(),
        },
    )
    level = logging.INFO if outcome.status == "sent" else logging.WARNING
    log.log(level, "%s callback for scan %s to %s: %s %s", action, verdict.scan_id, marketplace, outcome.status,
            outcome.detail)  # fmt: skip
    return outcome
