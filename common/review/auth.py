"""Who is reviewing, and which brands they may see.

Locally: a bearer token (``Authorization: Bearer …``, or ``?token=`` once, which becomes an HttpOnly cookie)
looked up in ``settings.review_tokens`` (token -> brands). In the cloud behind Identity-Aware Proxy, IAP puts
the signed-in user's e-mail in ``X-Goog-Authenticated-User-Email``; with IAP trust on, that e-mail is looked
up in the same map (e-mail -> brands) and tokens are not accepted. The principal is ``common.authz.Principal``
(``principal_for_review_token`` / ``principal_for_identity``), the one every entry point uses. Tokens are never logged or stored: the
reviewer name recorded with a decision is a short digest of the token.
"""

from __future__ import annotations

from collections.abc import Mapping

from common.authz import token_subject

COOKIE_NAME = "review_token"
IAP_EMAIL_HEADER = "X-Goog-Authenticated-User-Email"
IAP_PREFIX = "accounts.google.com:"


# The name a decision records for a token holder: the same digest the tenant checks name it by.
reviewer_name = token_subject


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


IAP_JWT_HEADER = "X-Goog-IAP-JWT-Assertion"
IAP_ISSUER = "https://cloud.google.com/iap"
# Google's IAP signing keys, {key id: PEM}; rotated by Google, so cached for an hour at most.
IAP_CERTS_URL = "https://www.gstatic.com/iap/verify/public_key"
IAP_CERTS_TTL_S = 3600.0
IAP_CERTS_TIMEOUT_S = 5.0


def iap_jwt_email(assertion: str, audience: str, certs: Mapping[str, str]) -> str | None:
    """The e-mail in a valid IAP assertion (signature, expiry, audience, issuer checked), else None.

    Why: the plain e-mail header can be forged by anyone who reaches the function without going through IAP;
    the signed assertion cannot.
    """
    from google.auth import exceptions, jwt

    try:
        claims = jwt.decode(assertion, certs=dict(certs), audience=audience)
    except (exceptions.GoogleAuthError, ValueError):
        return None
    email = claims.get("email")
    if claims.get("iss") != IAP_ISSUER or not isinstance(email, str) or "@" not in email:
        return None
    return email.strip().lower()


def fetch_iap_certs() -> dict[str, str]:
    import requests

    resp = requests.get(IAP_CERTS_URL, timeout=IAP_CERTS_TIMEOUT_S)
    resp.raise_for_status()
    data = resp.json()
    return {str(k): str(v) for k, v in data.items()}
