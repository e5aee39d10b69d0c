"""Tier-1 block-listing callbacks: signed like inbound webhooks, sent once, failures recorded not raised, and
only to the marketplace that sent the listing through its signed webhook and is registered for the brand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.callbacks import notify_block_listing
from common.messages import Listing, MarketplaceProvenance, Signal, Verdict
from common.signing import SIGNATURE_HEADER, verify_signature
from tests.support import local_functions as lf
from tests.support.http_server import LoopbackServer
from tests.support.local_functions import local_backend  # noqa: F401  (fixture)
from tests.support.webhooks import MARKETPLACE, SECRETS


@pytest.fixture
def server(local_backend, monkeypatch):  # noqa: F811
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
VERIFIED = MarketplaceProvenance(marketplace=MARKETPLACE, verified=True, source="webhook signature")


def _register(url: str, brands: tuple[str, ...] = ("acme",), policy: str | None = "auto_block_tier1") -> None:
    doc = {"brands": list(brands), "callback_url": url} | ({"policy": policy} if policy else {})
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", doc)


def test_tier1_sends_one_signed_block_action(server):
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/hooks/block"))
    result = notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED)
    assert result.status == "sent"
    assert len(server.received) == 1
    request = server.received[0]
    verify_signature(SECRETS, request.headers[SIGNATURE_HEADER], request.body, datetime.now(UTC))
    body = json.loads(request.body)
    assert body["action"] == "block_listing" and body["listing_id"] == "mkt-42" and body["tier"] == 1
    assert request.headers["Idempotency-Key"] == "wscan0001:block_listing"

    again = notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED)  # evidence step redelivered
    assert again.status == "already_sent" and len(server.received) == 1


def test_nothing_is_sent_below_tier1_or_without_registration(server):
    assert notify_block_listing(lf.deps(), _verdict(tier=2), LISTING, VERIFIED).status == "skipped"
    assert (
        notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED).status == "refused"
    )  # no registration
    lf.deps().docs.set(
        f"marketplaces/{MARKETPLACE}", {"brands": ["acme"], "policy": "auto_block_tier1"}
    )  # no URL
    skipped = notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED)
    assert skipped.status == "skipped" and "no callback_url" in skipped.detail
    assert server.received == []


def test_failing_endpoint_is_retried_with_backoff_recorded_and_retried_next_time(server, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("common.callbacks._sleep", slept.append)
    server.routes["/hooks/block"] = lambda _r: (503, {}, b"busy")
    _register(server.url("/hooks/block"))
    assert notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED).status == "failed"
    assert slept == [1.0, 4.0] and len(server.received) == 3  # three attempts, backing off
    assert len({r.headers["Idempotency-Key"] for r in server.received}) == 1  # one action, however often sent
    record = lf.deps().docs.get("brands/acme/callbacks/wscan0001")
    assert record["status"] == "failed" and record["detail"] == "HTTP 503" and record["attempts"] == 3
    assert [d["detail"] for d in record["deliveries"]] == ["HTTP 503"] * 3
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"")
    assert notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED).status == "sent"
    assert lf.deps().docs.get("brands/acme/callbacks/wscan0001")["attempts"] == 4
    # a 4xx is the marketplace's answer, not a hiccup: not retried
    server.routes["/hooks/block"] = lambda _r: (400, {}, b"no")
    slept.clear()
    lf.deps().docs.delete("brands/acme/callbacks/wscan0001")
    assert notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED).status == "failed" and slept == []


def test_callback_url_pointing_at_metadata_is_refused(server):
    _register("http://169.254.169.254/latest/")
    result = notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED)
    assert result.status == "failed" and "metadata" in result.detail


@pytest.mark.parametrize(
    "provenance",
    [
        MarketplaceProvenance(marketplace=MARKETPLACE, source="upload metadata (not authenticated)"),
        MarketplaceProvenance(marketplace=MARKETPLACE, source="given with the listing (not authenticated)"),
        MarketplaceProvenance(marketplace="other-market", verified=True, source="webhook signature"),
        MarketplaceProvenance(),  # a scan recorded before provenance existed
    ],
)
def test_a_marketplace_not_authenticated_by_its_webhook_is_never_called(server, provenance):
    """Registered for the brand, URL and secret configured: still nothing goes out unless this very
    marketplace signed the listing; the refusal and its reason are recorded."""
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/hooks/block"))
    result = notify_block_listing(lf.deps(), _verdict(), LISTING, provenance)
    assert result.status == "refused" and "never acted on" in result.detail
    assert server.received == []
    record = lf.deps().docs.get("brands/acme/callbacks/wscan0001")
    assert record["status"] == "refused" and "never acted on" in record["detail"]


def test_a_verified_marketplace_no_longer_registered_for_the_brand_is_not_called(server):
    server.routes["/hooks/block"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/hooks/block"), brands=("globex",))
    result = notify_block_listing(lf.deps(), _verdict(), LISTING, VERIFIED)
    assert result.status == "refused" and "not registered for brand 'acme'" in result.detail
    assert server.received == []
