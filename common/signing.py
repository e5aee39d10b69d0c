"""HMAC request signing shared by inbound webhooks and our outbound callbacks (Stripe-style
``X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``).

Its own module so that the callback sender and the webhook receiver both depend on it, not on each other: the
webhook starts scans and the pipeline sends callbacks, so signing inside either closed an import cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import datetime

SIGNATURE_HEADER = "X-Signature"
# Stripe's default tolerance: wide enough for clock skew and queueing at the sender, short enough that a
# captured request is useless soon after (replays inside the window are caught by the nonce record).
TIMESTAMP_TOLERANCE_S = 300


class SignatureError(Exception):
    """Why a request's signature is not acceptable (safe to return: contains no secret)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)  # not prefix + body: that would copy a 16 MB body once per secret tried
    return mac.hexdigest()


def sign_header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Signature`` value a sender puts on ``body`` (marketplaces, tests, our outbound callbacks)."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(
    secrets: Sequence[str], header: str | None, body: bytes, now: datetime
) -> tuple[int, str]:
    """(timestamp, matching signature) or SignatureError. Constant-time comparison against every secret."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and re.fullmatch(r"[0-9a-f]{64}", value):
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header (expected t=<unix>,v1=<hex sha256>)")
    if abs(now.timestamp() - timestamp) > TIMESTAMP_TOLERANCE_S:
        raise SignatureError(f"timestamp outside the {TIMESTAMP_TOLERANCE_S}s tolerance")
    for secret in secrets:
        expected = signature(secret, timestamp, body)
        for given in candidates:
            if hmac.compare_digest(expected, given):
                return timestamp, given
    raise SignatureError("signature does not match")
