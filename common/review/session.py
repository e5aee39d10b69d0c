"""Signing reviewers in (IAP, a one-time login link, a bearer token or the token cookie), CSRF on every
state-changing request, and the security headers on every answer. The principal is ``common.authz.Principal``;
tokens and IAP identities are looked up in ``settings.review_tokens``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from common.authz import Principal, principal_for_identity, principal_for_review_token
from common.review import csrf
from common.review.auth import COOKIE_NAME, IAP_EMAIL_HEADER, IAP_JWT_HEADER, bearer_token, iap_jwt_email
from common.review.context import ReviewContext

SECURITY_HEADERS = {
    # Scripts: only files this app serves (/static/review.js, the keyboard shortcuts); no inline script, no
    # eval, nothing from another origin. SVG charts and region boxes are inline markup, not scripts.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; img-src 'self'; "
    "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it browsers send ``Origin: null`` with the page's own form posts, the proof CSRF
    # checks refuse. URLs carry no secret (the login token leaves the URL at once), other sites get no Referer.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
COOKIE_MAX_AGE_S = 8 * 3600  # one working day


def register_session(ctx: ReviewContext) -> None:
    ctx.app.before_request(lambda: authenticate(ctx))
    ctx.app.after_request(secure_headers)


def iap_principal(ctx: ReviewContext, tokens: Any) -> Principal | None:
    aud = ctx.audience()
    if aud is None:
        header = request.headers.get(IAP_EMAIL_HEADER)
        return principal_for_identity(header, tokens) if header else None
    assertion = request.headers.get(IAP_JWT_HEADER)
    email = iap_jwt_email(assertion, aud, ctx.certs()) if assertion else None
    return principal_for_identity(email, tokens) if email else None


def csrf_key(ctx: ReviewContext) -> bytes:
    if "csrf_key" not in ctx.state:
        ctx.state["csrf_key"] = csrf.signing_key(ctx.deps().docs)
    return bytes(ctx.state["csrf_key"])


def session_cookie(response: BaseResponse, session_id: str) -> None:
    response.set_cookie(
        csrf.SESSION_COOKIE,
        session_id,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )


def refuse_cross_site(ctx: ReviewContext, *, signed_in_by_cookie: bool) -> None:
    """CSRF (``common.review.csrf``): the session's token for the forms, checked on every state-changing
    request signed in by a cookie (token cookie or IAP); cross-origin proofs refused on all of them."""
    session_id = request.cookies.get(csrf.SESSION_COOKIE)
    if signed_in_by_cookie and not csrf.is_session_id(session_id):
        g.new_session = session_id = csrf.new_session_id()
    if signed_in_by_cookie and session_id:
        g.csrf_token = csrf.csrf_token(csrf_key(ctx), session_id, g.principal.subject)
    if request.method not in csrf.STATE_CHANGING:
        return
    why = csrf.cross_origin(
        request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.host
    )
    if why is not None:
        abort(403, description=why)
    if not signed_in_by_cookie:
        return  # Authorization: Bearer, which no other origin can make a browser send
    given = request.headers.get(csrf.HEADER) or request.form.get(csrf.FORM_FIELD)
    if "new_session" in g or not csrf.token_matches(
        csrf_key(ctx), session_id or "", g.principal.subject, given
    ):
        abort(
            403,
            description=f"{csrf.REFUSED}: no valid CSRF token for this session (reload the page and try again)",
        )


def authenticate(ctx: ReviewContext) -> Any:
    """Before every request: the reviewer from IAP, a one-time login link, a bearer token or the cookie."""
    tokens = ctx.deps().settings.review_tokens
    if ctx.iap_on():
        g.principal = iap_principal(ctx, tokens)
        if g.principal is None:
            signed_in = request.headers.get(IAP_EMAIL_HEADER) or request.headers.get(IAP_JWT_HEADER)
            abort(403 if signed_in else 401)
        refuse_cross_site(ctx, signed_in_by_cookie=True)  # IAP signs browsers in with its own cookie
        return None
    if "token" in request.args:  # one-time login link: move the token into a cookie, drop it from the URL
        principal = principal_for_review_token(request.args["token"], tokens)
        if principal is None:
            abort(401)
        rest = {k: v for k, v in request.args.items(multi=False) if k != "token"}
        response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)
        response.set_cookie(
            COOKIE_NAME,
            request.args["token"],
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
        session_cookie(response, csrf.new_session_id())  # a new session, so a new CSRF token, per login
        return response
    bearer = bearer_token(request.headers.get("Authorization"))
    token = bearer or request.cookies.get(COOKIE_NAME)
    g.principal = principal_for_review_token(token, tokens) if token else None
    if g.principal is None:
        abort(401)
    refuse_cross_site(ctx, signed_in_by_cookie=bearer is None)
    return None


def secure_headers(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if "new_session" in g:
        session_cookie(response, g.new_session)
    return response
