"""The review page through Flask's test client on the embedded stores: sign-in, brand scoping (403), queue
order and filters, side-by-side images, decisions stored on the verdict and leaving the queue."""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import functions_framework
import pytest

from common.bootstrap import Deps, build_deps
from common.review.app import create_review_app, serve
from common.review.auth import reviewer_name
from common.settings import Settings
from tests.support.review_seed import seed_review_data

TOKENS = {"tok-acme": ("acme",), "tok-other": ("other",), "alice@acme.example": ("acme",)}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home", review_tokens=TOKENS))
    d.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_review_data(d, tmp_path)
    return d


@pytest.fixture
def client(deps: Deps):
    return create_review_app(lambda: deps).test_client()


def auth(token: str = "tok-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def queue_ids(html: str) -> list[str]:
    return re.findall(r'class="item" data-scan="([^"]+)"', html)


def test_sign_in_moves_token_to_cookie_and_out_of_the_url(client) -> None:
    assert client.get("/").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    resp = client.get("/?token=tok-acme&tier=1")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/?tier=1"
    cookie = resp.headers["Set-Cookie"]
    assert "review_token=tok-acme" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/?tier=1")  # the cookie now signs us in
    assert page.status_code == 200
    assert queue_ids(page.text) == ["s-t1-new", "s-t1-old"]


def test_queue_order_scope_and_filters(client) -> None:
    page = client.get("/", headers=auth())
    # Tier 1 before Tier 2, newest first within a tier; Tier 3 and the other brand never appear.
    assert queue_ids(page.text) == ["s-t1-new", "s-t1-old", "s-t2-new", "s-t2-old"]
    assert queue_ids(client.get("/?tier=2", headers=auth()).text) == ["s-t2-new", "s-t2-old"]
    assert queue_ids(client.get("/?since=2026-11-20&until=2026-11-20", headers=auth()).text) == [
        "s-t1-new",
        "s-t1-old",
        "s-t2-new",
    ]
    assert queue_ids(client.get("/?until=2026-11-19", headers=auth()).text) == ["s-t2-old"]
    assert client.get("/?since=yesterday", headers=auth()).status_code == 400
    assert queue_ids(client.get("/", headers=auth("tok-other")).text) == ["s-other"]


def test_other_brand_is_forbidden(client) -> None:
    assert client.get("/?brand=other", headers=auth()).status_code == 403
    assert client.get("/brands/other/items/s-other", headers=auth()).status_code == 403
    assert client.get("/brands/other/items/s-other/images/candidate", headers=auth()).status_code == 403
    assert (
        client.post(
            "/brands/other/items/s-other/decision", data={"decision": "reject"}, headers=auth()
        ).status_code
        == 403
    )
    assert client.get("/brands/acme/items/../../x", headers=auth()).status_code == 404


def test_item_page_shows_both_images_signals_and_reasons(client, deps: Deps, tmp_path: Path) -> None:
    page = client.get("/brands/acme/items/s-t1-new", headers=auth())
    assert page.status_code == 200
    assert "Visual match with front.jpg &lt;b&gt;s-t1-new&lt;/b&gt;" in page.text  # escaped, not markup
    assert 'id="candidate"' in page.text and 'id="reference"' in page.text
    assert "ACME logo verified" in page.text and "bargain-shop" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    cand = client.get("/brands/acme/items/s-t1-new/images/candidate", headers=auth())
    assert cand.mimetype == "image/jpeg"
    assert cand.data == deps.blobs.read(deps.settings.candidates_bucket, "acme/s-t1-new.jpg")
    ref = client.get("/brands/acme/items/s-t1-new/images/reference", headers=auth())
    assert ref.data == (tmp_path / "kit" / "references" / "front.jpg").read_bytes()
    assert client.get("/brands/acme/items/s-t1-new/images/other", headers=auth()).status_code == 404
    assert client.get("/brands/acme/items/nope", headers=auth()).status_code == 404


def test_decision_is_stored_and_item_leaves_the_queue(client, deps: Deps) -> None:
    resp = client.post(
        "/brands/acme/items/s-t1-new/decision",
        data={"decision": "confirm", "note": "same stitching, fake tag"},
        headers=auth(),
    )
    assert resp.status_code == 303
    doc = deps.docs.get("brands/acme/verdicts/s-t1-new")
    assert doc["review"] == {
        "decision": "confirmed",
        "note": "same stitching, fake tag",
        "reviewer": reviewer_name("tok-acme"),
        "decided_at": datetime(2026, 11, 22, 8, 30, tzinfo=UTC),
    }
    assert "tok-acme" not in str(doc)
    assert queue_ids(client.get("/", headers=auth()).text) == ["s-t1-old", "s-t2-new", "s-t2-old"]
    assert queue_ids(client.get("/?show=decided", headers=auth()).text) == ["s-t1-new"]
    # JSON clients (and a second opinion): the earlier decision moves to the history.
    resp = client.post(
        "/brands/acme/items/s-t1-new/decision", json={"decision": "not_sure", "note": "hmm"}, headers=auth()
    )
    assert resp.status_code == 200 and resp.json["decision"] == "not_sure"
    doc = deps.docs.get("brands/acme/verdicts/s-t1-new")
    assert [r["decision"] for r in doc["review_history"]] == ["confirmed"]
    assert queue_ids(client.get("/?show=not_sure", headers=auth()).text) == ["s-t1-new"]
    assert (
        client.post(
            "/brands/acme/items/s-t2-new/decision", data={"decision": "delete"}, headers=auth()
        ).status_code
        == 400
    )


def test_cross_site_posts_are_refused(client, deps: Deps) -> None:
    client.get("/?token=tok-acme")
    resp = client.post(
        "/brands/acme/items/s-t2-new/decision",
        data={"decision": "reject"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert resp.status_code == 403
    assert "review" not in deps.docs.get("brands/acme/verdicts/s-t2-new")


def test_iap_identity_when_trusted(deps: Deps) -> None:
    client = create_review_app(lambda: deps, trust_iap=True).test_client()
    assert client.get("/", headers=auth()).status_code == 401  # tokens are not accepted behind IAP
    iap = {"X-Goog-Authenticated-User-Email": "accounts.google.com:Alice@acme.example"}
    assert queue_ids(client.get("/", headers=iap).text)[0] == "s-t1-new"
    assert client.get("/?brand=other", headers=iap).status_code == 403
    assert (
        client.get(
            "/", headers={"X-Goog-Authenticated-User-Email": "accounts.google.com:eve@x.example"}
        ).status_code
        == 403
    )
    # IAP signs the browser in with a cookie, so a decision needs the session's CSRF token from the page.
    page = client.get("/brands/acme/items/s-t2-old", headers=iap).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert (
        client.post(
            "/brands/acme/items/s-t2-old/decision", data={"decision": "reject"}, headers=iap
        ).status_code
        == 403
    )
    client.post(
        "/brands/acme/items/s-t2-old/decision",
        data={"decision": "reject", "csrf_token": token[1]},
        headers=iap,
    )
    assert deps.docs.get("brands/acme/verdicts/s-t2-old")["review"]["reviewer"] == "alice@acme.example"


def test_http_function_dispatches_to_the_app(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import common.bootstrap

    monkeypatch.setattr(common.bootstrap, "get_deps", lambda: deps)
    app = functions_framework.create_app("review", str(ROOT / "functions" / "review" / "main.py"), "http")
    client = app.test_client()
    assert client.get("/").status_code == 401
    assert queue_ids(client.get("/?tier=2", headers=auth()).text) == ["s-t2-new", "s-t2-old"]


def test_served_access_log_never_shows_tokens(client, deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(create_review_app(lambda: deps), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"), pytest.raises(urllib.error.HTTPError) as err:
            # urllib follows the 303 without keeping the cookie, so the final answer is the sign-in page (401).
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/?token=tok-acme")
    finally:
        server.shutdown()
        server.server_close()
    assert err.value.code == 401
    logged = caplog.text
    assert "GET /" in logged and "tok-acme" not in logged


def test_evidence_pdf_download_is_brand_scoped_and_verified(client, deps: Deps, tmp_path: Path) -> None:
    from common.evidence import build_bundle
    from common.review.queue import verdict_from_doc

    assert client.get("/brands/acme/items/s-t1-new/report.pdf", headers=auth()).status_code == 404
    root = Path(build_bundle(deps, verdict_from_doc(deps.docs.get("brands/acme/verdicts/s-t1-new"))))
    page = client.get("/brands/acme/items/s-t1-new", headers=auth())
    assert 'id="evidence-pdf"' in page.text
    pdf = client.get("/brands/acme/items/s-t1-new/report.pdf", headers=auth())
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.data == (root / "report.pdf").read_bytes()
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert client.get("/brands/acme/items/s-t1-new/report.pdf", headers=auth("tok-other")).status_code == 403
    (root / "signals.json").write_text("{}")  # tampered: the page refuses to hand it out
    assert client.get("/brands/acme/items/s-t1-new/report.pdf", headers=auth()).status_code == 409


def _iap_assertion(
    key, audience: str, email: str, *, issuer: str = "https://cloud.google.com/iap", expires_in: int = 600
) -> str:
    import time

    from cryptography.hazmat.primitives import serialization
    from google.auth import crypt, jwt

    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "email": email,
        "sub": "accounts.google.com:1",
        "iat": now - 5,
        "exp": now + expires_in,
    }
    return jwt.encode(crypt.ES256Signer.from_string(pem, key_id="k1"), claims).decode()


def test_iap_signed_assertion_is_verified(deps: Deps) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key, forger = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    aud = "/projects/123/global/backendServices/456"
    fetched: list[int] = []

    def certs() -> dict[str, str]:
        fetched.append(1)
        return {"k1": public}

    client = create_review_app(lambda: deps, trust_iap=True, iap_audience=aud, iap_certs=certs).test_client()

    def get(assertion: str | None, **headers: str):
        if assertion:
            headers["X-Goog-IAP-JWT-Assertion"] = assertion
        return client.get("/", headers=headers)

    good = _iap_assertion(key, aud, "Alice@acme.example")
    assert queue_ids(get(good).text)[0] == "s-t1-new"
    # The unsigned e-mail header alone no longer counts; forged, expired, wrong-audience or wrong-issuer
    # assertions are refused.
    assert (
        get(None, **{"X-Goog-Authenticated-User-Email": "accounts.google.com:alice@acme.example"}).status_code
        == 403
    )
    assert get(_iap_assertion(forger, aud, "alice@acme.example")).status_code == 403
    assert get(_iap_assertion(key, aud, "alice@acme.example", expires_in=-3600)).status_code == 403
    assert get(_iap_assertion(key, "/projects/9/other", "alice@acme.example")).status_code == 403
    assert (
        get(_iap_assertion(key, aud, "alice@acme.example", issuer="https://evil.example")).status_code == 403
    )
    assert get(_iap_assertion(key, aud, "eve@acme.example")).status_code == 403
    assert get(None).status_code == 401
    assert len(fetched) == 1  # keys cached between requests
