"""CSRF protection for the review page: a per-login token bound to the session, and no cross-origin proofs.

Why a token and not only ``Origin``/``Sec-Fetch-Site``: a browser signed in by cookie (``?token=`` login) or by
IAP (also a cookie) sends those credentials with any form a hostile page submits; ``Origin: null`` (sandboxed
frames, some redirects) and requests without either header (older browsers, privacy tools) carry no proof of
where they came from. Every state-changing request signed in by cookie must therefore carry
``csrf_token(key, session, reviewer)``: an HMAC of the session id (a random cookie issued at each login, HttpOnly
and SameSite=Strict) and the reviewer, which a page on another origin can neither read nor compute, even if it
plants its own session cookie. ``Authorization: Bearer`` requests are exempt: a browser never adds that
header by itself, and another origin cannot add it without a CORS grant we never give.

The HMAC key is one random document (``review_keys/csrf``), created on first use, so every instance of the
review function accepts the forms the others rendered.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from common.ports import AlreadyExists, DocumentStore

SESSION_COOKIE = "review_session"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
KEY_DOC = "review_keys/csrf"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
REFUSED = "cross-site request refused"  # prefix of every refusal (the error page shows these descriptions)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def is_session_id(value: str | None) -> bool:
    return value is not None and SESSION_ID.fullmatch(value) is not None


def signing_key(docs: DocumentStore) -> bytes:
    """The deployment's CSRF key, created once (the first instance to need it wins the create)."""
    doc = docs.get(KEY_DOC)
    if doc is None:
        with contextlib.suppress(AlreadyExists):  # another instance created it first: use theirs
            docs.create(KEY_DOC, {"key": secrets.token_hex(32)})
        doc = docs.get(KEY_DOC) or {}
    return bytes.fromhex(str(doc["key"]))


def csrf_token(key: bytes, session_id: str, reviewer: str) -> str:
    mac = hmac.new(key, f"review-csrf\x00{session_id}\x00{reviewer}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def token_matches(key: bytes, session_id: str, reviewer: str, given: str | None) -> bool:
    """Constant-time comparison of ``given`` with the session's token."""
    expected = csrf_token(key, session_id, reviewer)
    return hmac.compare_digest(expected.encode(), (given or "").encode())


def cross_origin(origin: str | None, fetch_site: str | None, host: str) -> str | None:
    """Why the browser's own headers say this request came from elsewhere, or None. Only the host is compared:
    TLS ends in front of the function (Google's front end, IAP), so the app sees http where the browser saw
    https. ``Origin: null`` is another origin (an opaque one)."""
    if fetch_site is not None and fetch_site != "same-origin":
        return f"{REFUSED} (Sec-Fetch-Site: {fetch_site[:20]})"
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
            return f"{REFUSED} (Origin: {origin[:80]})"
    return None
