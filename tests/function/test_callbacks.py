"""Tier-1 block-listing callbacks: signed like inbound webhooks, sent once, failures recorded not raised."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.callbacks import notify_block_listing
from common.messages import Listing, Signal, Verdict
from common.webhook import SIGNATURE_HEADER, verify_signature
from tests.support import local_functions as lf
from tests.support.http_server import LoopbackServer
from tests.support.webhooks import MARKETPLACE, SECRETS


@pytest.fixture
def server(local_backend, monkeypatch):
    monkeypatch.setenv("COUNTERFEIT_FETCH_ALLOW_PRIVATE", "1")  # the marketplace here is on 127.0.0.1
    lf.reset_caches()
    srv = LoopbackServer().start()
    yield srv
    srv.stop()


def _verdict(tier: int = 1) -> Verdict:
    return Verdict(
        scan_id="wscan0001", brand_id="acme", listing_id="mkt-42", tier=tier, score=0.97,
        signals={"hash": Signal(name="hash", status="fired", score=0.97)}, reasons=["near-identical copy"],
        best_reference="reference:front.jpg", rule="hash_short_circuit", created_at=datetime.now(UTC),
    )  # fmt: skip


LISTING = Listing(listing_id="mkt-42", image="https://cdn.example/x.jpg", marketplace=MARKETPLACE)


def test_tier1_sends_one_signed_block_action(server):
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"{}")
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"callback_url": server.url("/hooks/block")})
    result = notify_block_listing(lf.deps(), _verdict(), LISTING)
    assert result.status == "sent"
    assert len(server.received) == 1
    request = server.received[0]
    verify_signature(SECRETS, request.headers[SIGNATURE_HEADER], request.body, datetime.now(UTC))
    body = json.loads(request.body)
    assert body["action"] == "block_listing" and body["listing_id"] == "mkt-42" and body["tier"] == 1
    assert request.headers["Idempotency-Key"] == "wscan0001:block_listing"

    again = notify_block_listing(lf.deps(), _verdict(), LISTING)  # evidence step redelivered
    assert again.status == "already_sent" and len(server.received) == 1


def test_nothing_is_sent_below_tier1_or_without_registration(server):
    assert notify_block_listing(lf.deps(), _verdict(tier=2), LISTING).status == "skipped"
    assert notify_block_listing(lf.deps(), _verdict(), LISTING).status == "skipped"  # no marketplace doc
    assert server.received == []


def test_failing_endpoint_is_recorded_and_retried_next_time(server):
    server.routes["/hooks/block"] = lambda _r: (503, {}, b"busy")
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"callback_url": server.url("/hooks/block")})
    assert notify_block_listing(lf.deps(), _verdict(), LISTING).status == "failed"
    record = lf.deps().docs.get("brands/acme/callbacks/wscan0001")
    assert record["status"] == "failed" and record["detail"] == "HTTP 503" and record["attempts"] == 1
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"")
    assert notify_block_listing(lf.deps(), _verdict(), LISTING).status == "sent"
    assert lf.deps().docs.get("brands/acme/callbacks/wscan0001")["attempts"] == 2


def test_callback_url_pointing_at_metadata_is_refused(server):
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"callback_url": "http://169.254.169.254/latest/"})
    result = notify_block_listing(lf.deps(), _verdict(), LISTING)
    assert result.status == "failed" and "metadata" in result.detail
