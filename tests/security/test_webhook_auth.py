"""Webhook authentication against ``common.webhook`` through functions-framework's test client: per-marketplace
secrets with rotation (two valid at once), replay protection, timestamp tolerance, and no secret in any answer,
log line or stored document."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time

import pytest

from common.signing import SIGNATURE_HEADER, TIMESTAMP_TOLERANCE_S, sign_header, signature
from common.webhook import MARKETPLACE_HEADER
from tests.support import local_functions as lf
from tests.support.kits import jpeg_bytes, pattern_image
from tests.support.webhooks import MARKETPLACE, SECRETS, signed

OTHER_MARKET = "other-market"
OTHER_SECRET = "other-market-secret-xyz"
RETIRED_SECRET = "retired-secret-2024"
INLINE = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(pattern_image(4))).decode()


@pytest.fixture
def webhook(local_backend, monkeypatch):
    monkeypatch.setenv(
        "WEBHOOK_SECRETS", json.dumps({MARKETPLACE: list(SECRETS), OTHER_MARKET: [OTHER_SECRET]})
    )
    lf.reset_caches()
    deps = lf.deps()
    deps.docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    deps.docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"]})
    deps.docs.set(f"marketplaces/{OTHER_MARKET}", {"brands": ["acme"]})
    return lf.client("ingest_webhook")


def _body(listing_id: str = "l-1", **extra: object) -> bytes:
    return json.dumps({"brand": "acme", "listing_id": listing_id, "image": INLINE, **extra}).encode()


def test_both_secrets_are_valid_during_rotation_and_a_retired_one_is_not(webhook) -> None:
    for i, secret in enumerate(SECRETS):
        body, headers = signed(_body(f"rot-{i}"), secret=secret)
        assert webhook.post("/", data=body, headers=headers).status_code == 202
    body, headers = signed(_body("rot-old"), secret=RETIRED_SECRET)
    response = webhook.post("/", data=body, headers=headers)
    assert response.status_code == 401 and "does not match" in response.get_json()["error"]


def test_a_sender_may_sign_with_both_secrets_at_once(webhook) -> None:
    body = _body("dual")
    ts = int(time.time())
    header = f"t={ts},v1={'0' * 64},v1={signature(SECRETS[1], ts, body)}"
    response = webhook.post(
        "/", data=body, headers={MARKETPLACE_HEADER: MARKETPLACE, SIGNATURE_HEADER: header}
    )
    assert response.status_code == 202


def test_another_marketplaces_secret_does_not_sign_for_this_one(webhook) -> None:
    body, headers = signed(_body("cross"), secret=OTHER_SECRET, marketplace=MARKETPLACE)
    assert webhook.post("/", data=body, headers=headers).status_code == 401
    body, headers = signed(_body("cross"), secret=SECRETS[0], marketplace=OTHER_MARKET)
    assert webhook.post("/", data=body, headers=headers).status_code == 401
    body, headers = signed(_body("cross"), secret=SECRETS[0], marketplace="nobody")
    assert webhook.post("/", data=body, headers=headers).status_code == 401


def test_a_replayed_request_is_refused_even_within_the_tolerance(webhook) -> None:
    now = int(time.time())
    body, headers = signed(_body("replay"), timestamp=now)
    assert webhook.post("/", data=body, headers=headers).status_code == 202
    again = webhook.post("/", data=body, headers=headers)
    assert again.status_code == 401 and "replayed" in again.get_json()["error"]
    # the same body re-signed at another second is a new request (a legitimate resend); "another second" is
    # relative to the first signature, not the clock (which may have ticked past it meanwhile)
    body2, headers2 = signed(body, timestamp=now - 1)
    assert webhook.post("/", data=body2, headers=headers2).status_code == 202


@pytest.mark.parametrize("skew", [TIMESTAMP_TOLERANCE_S + 5, -(TIMESTAMP_TOLERANCE_S + 5), 10**9])
def test_timestamps_outside_the_tolerance_are_refused(webhook, skew: int) -> None:
    body, headers = signed(_body("skew"), timestamp=int(time.time()) - skew)
    response = webhook.post("/", data=body, headers=headers)
    assert response.status_code == 401 and "tolerance" in response.get_json()["error"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1=" + "a" * 64,
        "t=abc,v1=" + "a" * 64,
        "t=1,v1=zz",
        "t=" + "9" * 40 + ",v1=" + "a" * 64,
        "garbage",
    ],
)
def test_malformed_signature_headers_are_401(webhook, header: str) -> None:
    headers = {MARKETPLACE_HEADER: MARKETPLACE, SIGNATURE_HEADER: header}
    assert webhook.post("/", data=_body("bad-sig"), headers=headers).status_code == 401


def test_no_secret_in_answers_logs_or_stored_documents(webhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = []
    for secret in (*SECRETS, RETIRED_SECRET, OTHER_SECRET):
        body, headers = signed(_body(f"s-{secret[:3]}"), secret=secret)
        answers.append(webhook.post("/", data=body, headers=headers).get_data(as_text=True))
        headers[SIGNATURE_HEADER] = sign_header(secret, body + b" ", int(time.time()))  # tampered body
        answers.append(webhook.post("/", data=body, headers=headers).get_data(as_text=True))
    home = lf.deps().settings.home
    rows = sqlite3.connect(home / "documents.sqlite3").execute("SELECT path, data FROM docs").fetchall()
    stored = "\n".join(f"{p} {d}" for p, d in rows)
    for secret in (*SECRETS, RETIRED_SECRET, OTHER_SECRET):
        assert all(secret not in a for a in answers)
        assert secret not in caplog.text
        assert secret not in stored
    assert (
        "webhook_nonces/" in stored
    )  # the replay record exists, keyed by a digest (no signature, no secret)
