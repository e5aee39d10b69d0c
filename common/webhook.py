"""Signed marketplace webhook: verify, validate, fetch the image safely, start one scan per listing content.

Wire format (Stripe-style, so marketplaces' existing HMAC code fits):
    POST body      {"brand": "acme", "listing_id": "...", "image": "https://...|data:image/...;base64,...", ...}
    X-Marketplace  the marketplace id (selects its shared secrets; two at once during rotation)
    X-Signature    t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>  (several v1= allowed)
Answers: 202 {"scan_id", "listing_id", "status": "accepted"}; 400 not JSON, or an X-Marketplace that is not an id;
401 signature, timestamp or replay;
413 body too large (over ``MAX_BODY_BYTES``, 16 MiB, before it is read whole); 400 also for JSON nested deeper
than ``MAX_JSON_DEPTH`` or longer than ``MAX_JSON_TOKENS`` tokens (checked before parsing); 422 field errors,
unknown brand or refused image. Secrets are never logged or echoed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from pydantic import ValidationError

from common import boundedjson, ingest, paths
from common.authz import principal_for_marketplace, scoped_deps
from common.bootstrap import Deps
from common.errors import FetchRefused
from common.image_source import read_image
from common.messages import (
    BRAND_PATTERN,
    LISTING_MAX_JSON_DEPTH,
    LISTING_MAX_JSON_TOKENS,
    MARKETPLACE_PATTERN,
    Listing,
    format_validation_error,
)
from common.ports import AlreadyExists
from common.signing import SIGNATURE_HEADER, TIMESTAMP_TOLERANCE_S, SignatureError, verify_signature

log = logging.getLogger(__name__)

MARKETPLACE_HEADER = "X-Marketplace"
# Base64 inflates by 4/3; 64 KiB covers the listing's text fields (Listing caps description at 20k chars).
JSON_OVERHEAD_BYTES = 64 * 1024
# The largest body that can hold a valid listing: ``Listing.image`` is at most MAX_IMAGE_FIELD_CHARS (15 M)
# characters, plus "\/" escapes some encoders put in base64 (1 in 64 characters: +0.24 MB) and the text
# fields \u-escaped (~26 k characters, at most 12 bytes each: +0.32 MB). Anything larger is refused (413)
# before it is read whole, checked, or parsed: the function has 512 MiB.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Bounds on the body's JSON shape, checked on the raw bytes before json builds anything (a listing is flat).
MAX_JSON_DEPTH = LISTING_MAX_JSON_DEPTH
MAX_JSON_TOKENS = LISTING_MAX_JSON_TOKENS
BODY_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def max_body_bytes(max_image_bytes: int) -> int:
    """The body limit: MAX_BODY_BYTES, or less when MAX_IMAGE_BYTES makes a smaller inline image the largest."""
    return min(MAX_BODY_BYTES, max_image_bytes * 4 // 3 * 65 // 64 + JSON_OVERHEAD_BYTES)


def read_body(stream: BinaryIO, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``stream``, or None as soon as it holds more (a chunked body has no
    Content-Length to check first, so the limit is enforced while reading)."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(min(BODY_READ_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, **extra: Any) -> WebhookResponse:
    return WebhookResponse(status, {"error": message, **extra})


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def handle_webhook(deps: Deps, headers: Mapping[str, str], body: bytes) -> WebhookResponse:
    """The whole webhook: ``headers`` is case-insensitive-ish (we look up canonical and lower-case names)."""
    settings = deps.settings
    if len(body) > max_body_bytes(settings.max_image_bytes):
        return _error(413, f"body larger than {max_body_bytes(settings.max_image_bytes)} bytes")

    marketplace = _header(headers, MARKETPLACE_HEADER)
    if marketplace and not re.fullmatch(MARKETPLACE_PATTERN, marketplace):
        log.warning("webhook: rejected request with a malformed %s", MARKETPLACE_HEADER)
        return _error(400, f"{MARKETPLACE_HEADER} must be a marketplace id ({MARKETPLACE_PATTERN})")
    secrets = settings.webhook_secrets.get(marketplace or "", ())
    if not marketplace or not secrets:
        log.warning("webhook: rejected request for unknown marketplace %r", (marketplace or "")[:100])
        return _error(401, f"unknown or missing {MARKETPLACE_HEADER}")
    now = deps.clock()
    try:
        timestamp, sig = verify_signature(secrets, _header(headers, SIGNATURE_HEADER), body, now)
    except SignatureError as exc:
        log.warning("webhook: rejected request from %s: %s", marketplace, exc)
        return _error(401, str(exc))
    nonce_path = paths.webhook_nonce(hashlib.sha256(f"{marketplace}:{sig}".encode()).hexdigest())
    try:
        expires = datetime.fromtimestamp(timestamp, UTC) + timedelta(seconds=TIMESTAMP_TOLERANCE_S)
        deps.docs.create(nonce_path, {"marketplace": marketplace, "expires_at": expires})
    except AlreadyExists:
        log.warning("webhook: replayed request from %s rejected", marketplace)
        return _error(401, "replayed request (this signature was already used)")
    try:
        return _accept(deps, marketplace, body)
    except Exception:
        # A transient failure (store or bus unavailable) must not burn the signature: the sender may retry it.
        deps.docs.delete(nonce_path)
        raise


def _accept(deps: Deps, marketplace: str, body: bytes) -> WebhookResponse:
    settings = deps.settings

    try:
        raw = boundedjson.loads(body, max_depth=MAX_JSON_DEPTH, max_tokens=MAX_JSON_TOKENS)
    except boundedjson.JSONTooComplex as exc:  # before json builds anything: a bomb costs its bytes only
        return _error(400, f"body is not a listing: {exc}")
    except ValueError:  # json's errors, invalid UTF-8 included
        return _error(400, "body is not valid JSON")
    if not isinstance(raw, dict):
        return _error(400, "body must be a JSON object")
    brand = raw.pop("brand", None)
    if not isinstance(brand, str) or not re.match(BRAND_PATTERN, brand):
        return _error(422, "invalid listing", fields=[{"field": "brand", "message": "required brand id"}])
    principal = principal_for_marketplace(deps, marketplace)
    if not principal.allows(brand):  # deny by default: registered in marketplaces/{id}.brands
        log.warning("webhook: %s is not registered for brand %r", marketplace, brand[:80])
        return _error(
            403, f"403 forbidden: marketplace {marketplace[:80]!r} is not registered for brand {brand!r}"
        )
    raw["marketplace"] = marketplace  # authenticated sender, never what the body claims (callbacks go there)
    try:
        listing = Listing.model_validate(raw)
    except ValidationError as exc:
        return _error(422, "invalid listing", detail=format_validation_error(exc), fields=_field_errors(exc))
    if deps.docs.get(paths.brand(brand)) is None:
        return _error(422, f"unknown brand {brand!r}")

    try:
        image = read_image(
            listing.image, max_bytes=settings.max_image_bytes, allow_private=settings.fetch_allow_private
        )
    except FetchRefused as exc:
        log.info("webhook: %s listing %s image refused: %s", marketplace, listing.listing_id, exc)
        return _error(422, str(exc), field="image")

    key = idempotency_key(marketplace, listing, image)
    scan_id = ingest.ingest_listing(
        scoped_deps(deps, principal),
        brand,
        listing,
        image,
        key,
        extra={"origin": "webhook"},
        verified_marketplace=marketplace,  # signature checked above: the one source a callback may trust
    )
    log.info("webhook: %s listing %s -> scan %s", marketplace, listing.listing_id, scan_id)
    return WebhookResponse(202, {"scan_id": scan_id, "listing_id": listing.listing_id, "status": "accepted"})


def idempotency_key(marketplace: str, listing: Listing, image: bytes) -> str:
    """Listing id + digest of its content (image bytes and every other field): a resend of the same listing
    maps to the same scan; a changed price, text or photo is a new scan."""
    fields = listing.model_dump(mode="json", exclude={"image"})
    if fields.get("store_url") is None:  # added later: listings without it keep the keys they always had
        fields.pop("store_url", None)
    content = hashlib.sha256(image).hexdigest() + json.dumps(fields, sort_keys=True)
    return f"{marketplace}:{listing.listing_id}:{hashlib.sha256(content.encode()).hexdigest()}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value
