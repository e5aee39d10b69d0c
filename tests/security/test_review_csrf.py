"""CSRF on the review page (finding 8 of issue 11): a decision POST signed in by cookie is recorded only with
the session's CSRF token from the page, and never with a cross-origin proof (``Origin: null`` or another
site, ``Sec-Fetch-Site`` other than same-origin). Before the fix, a POST with the cookie and ``Origin: null``,
or with neither header, was recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.bootstrap import Deps, build_deps
from common.review.app import create_review_app
from common.review.csrf import HEADER, SESSION_COOKIE
from common.settings import Settings
from tests.support.review_seed import seed_review_data

TOKENS = {"tok-acme": ("acme",), "alice@acme.example": ("acme",)}
ITEM = "/brands/acme/items/s-t2-new"
DECIDE = ITEM + "/decision"
VERDICT = "brands/acme/verdicts/s-t2-new"


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home", review_tokens=TOKENS))
    d.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_review_data(d, tmp_path)
    return d


def signed_in(deps: Deps) -> Any:
    """A browser-like client signed in by the one-time login link (cookies from then on)."""
    client = create_review_app(lambda: deps).test_client()
    assert client.get("/?token=tok-acme").status_code == 303
    return client


def form_token(client: Any, headers: dict[str, str] | None = None) -> str:
    page = client.get(ITEM, headers=headers or {})
    assert page.status_code == 200
    found = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', page.text)
    assert found, "the decision form carries no CSRF token"
    return found[1]


def recorded(deps: Deps) -> bool:
    return "review" in (deps.docs.get(VERDICT) or {})


@pytest.mark.parametrize(
    "headers, with_token",
    [
        ({"Origin": "null"}, False),  # sandboxed iframe / data: page: the attack pass's request
        ({"Origin": "null"}, True),  # an opaque origin is another origin, token or not
        ({}, False),  # neither Origin nor Sec-Fetch-Site (older browser, privacy extension)
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "http://localhost.evil.example"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),  # a sibling subdomain is not this origin
        ({"Sec-Fetch-Site": "none"}, False),
    ],
)
def test_cookie_posts_without_a_same_origin_token_are_refused_and_not_recorded(
    deps: Deps, headers: dict[str, str], with_token: bool
) -> None:
    client = signed_in(deps)
    data = {"decision": "reject"} | ({"csrf_token": form_token(client)} if with_token else {})
    response = client.post(DECIDE, data=data, headers=headers)
    assert response.status_code == 403, response.status_code
    assert b"cross-site request refused" in response.data
    assert not recorded(deps)


@pytest.mark.parametrize("given", ["", "x", "A" * 43])
def test_a_missing_or_wrong_token_is_refused(deps: Deps, given: str) -> None:
    client = signed_in(deps)
    form_token(client)
    response = client.post(
        DECIDE, data={"decision": "reject", "csrf_token": given}, headers={"Origin": "http://localhost"}
    )
    assert response.status_code == 403 and not recorded(deps)


def test_a_token_is_bound_to_its_session(deps: Deps) -> None:
    """Another login's token (the attacker's own session with the same review token) does not work here, a
    new login invalidates the old token, and without the session cookie no token is valid."""
    victim, attacker = signed_in(deps), signed_in(deps)
    theirs = form_token(attacker)
    assert theirs != form_token(victim)
    assert victim.post(DECIDE, data={"decision": "reject", "csrf_token": theirs}).status_code == 403
    before_login = form_token(victim)
    victim.get("/?token=tok-acme")  # signing in again starts a new session
    assert form_token(victim) != before_login
    assert victim.post(DECIDE, data={"decision": "reject", "csrf_token": before_login}).status_code == 403
    token = form_token(victim)
    victim.delete_cookie(SESSION_COOKIE)
    assert victim.post(DECIDE, data={"decision": "reject", "csrf_token": token}).status_code == 403
    assert not recorded(deps)


@pytest.mark.parametrize("headers", [{"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, {}])
def test_the_pages_own_form_is_recorded(deps: Deps, headers: dict[str, str]) -> None:
    client = signed_in(deps)
    data = {"decision": "reject", "note": "genuine", "csrf_token": form_token(client)}
    response = client.post(DECIDE, data=data, headers=headers)
    assert response.status_code == 303, response.data
    assert deps.docs.get(VERDICT)["review"]["decision"] == "rejected"  # type: ignore[index]


def test_json_decisions_by_cookie_need_the_token_header(deps: Deps) -> None:
    client = signed_in(deps)
    assert client.post(DECIDE, json={"decision": "not_sure"}).status_code == 403
    assert not recorded(deps)
    response = client.post(DECIDE, json={"decision": "not_sure"}, headers={HEADER: form_token(client)})
    assert response.status_code == 200 and recorded(deps)


def test_iap_sessions_need_the_token_too(deps: Deps) -> None:
    """IAP signs the browser in with its own cookie: the identity header alone does not make a POST safe."""
    client = create_review_app(lambda: deps, trust_iap=True).test_client()
    iap = {"X-Goog-Authenticated-User-Email": "accounts.google.com:alice@acme.example"}
    assert client.post(DECIDE, data={"decision": "reject"}, headers=iap).status_code == 403
    assert (
        client.post(DECIDE, data={"decision": "reject"}, headers=iap | {"Origin": "null"}).status_code == 403
    )
    assert not recorded(deps)
    token = form_token(client, iap)
    assert (
        client.post(DECIDE, data={"decision": "reject", "csrf_token": token}, headers=iap).status_code == 303
    )
    assert recorded(deps)


def test_bearer_clients_need_no_token_but_still_no_cross_origin_proof(deps: Deps) -> None:
    """``Authorization`` is never sent by a browser on its own, so API clients using it are not CSRF-able."""
    client = create_review_app(lambda: deps).test_client()
    bearer = {"Authorization": "Bearer tok-acme"}
    assert (
        client.post(DECIDE, data={"decision": "reject"}, headers=bearer | {"Origin": "null"}).status_code
        == 403
    )
    assert not recorded(deps)
    assert client.post(DECIDE, data={"decision": "reject"}, headers=bearer).status_code == 303
    assert recorded(deps)
