"""Marketplace feedback, safe by default: what each policy sends on a Tier-1 verdict and after a review decision;
every action signed, idempotent per scan and action, delivery recorded; evidence links never internal paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.callbacks import notify_review, notify_verdict, record_path
from common.review.queue import record_decision
from common.signing import SIGNATURE_HEADER, verify_signature
from tests.support import local_functions as lf
from tests.support.local_functions import local_backend  # noqa: F401  (fixture)
from tests.support.webhooks import SECRETS
from tests.unit.test_callbacks import LISTING, VERIFIED, _register, _verdict, server  # noqa: F401


def _store(verdict) -> None:  # type: ignore[no-untyped-def]
    deps = lf.deps()
    deps.docs.set(f"brands/acme/verdicts/{verdict.scan_id}", verdict.model_dump())
    deps.docs.set(f"brands/acme/scans/{verdict.scan_id}", {
        "listing": LISTING.model_dump(mode="json"),
        "marketplace_provenance": VERIFIED.model_dump(mode="json"),
    })  # fmt: skip


def _decide(action: str) -> None:
    record_decision(
        lf.deps().docs, "acme", "wscan0001", action=action, note="", reviewer="r", now=datetime.now(UTC)
    )


def _actions(srv) -> list[str]:  # type: ignore[no-untyped-def]
    return [json.loads(r.body)["action"] for r in srv.received]


@pytest.mark.parametrize("policy", [None, "block_after_review"])
def test_default_policy_blocks_only_after_a_reviewer_confirms(server, policy) -> None:  # noqa: F811
    server.routes["/cb"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/cb"), policy=policy)
    verdict = _verdict()
    _store(verdict)
    outcome = notify_verdict(lf.deps(), verdict, LISTING, VERIFIED)
    assert outcome.status == "skipped" and "waits for a reviewer" in outcome.detail and server.received == []
    _decide("confirm")
    assert notify_review(lf.deps(), "acme", "wscan0001").status == "sent"
    assert notify_review(lf.deps(), "acme", "wscan0001").status == "already_sent"  # idempotent
    assert _actions(server) == ["block_listing"]
    request = server.received[0]
    verify_signature(SECRETS, request.headers[SIGNATURE_HEADER], request.body, datetime.now(UTC))
    body = json.loads(request.body)
    assert (
        body["review"]["decision"] == "confirmed"
        and request.headers["Idempotency-Key"] == "wscan0001:block_listing"
    )
    assert "evidence" not in body and body["evidence_url"] is None  # no review URL configured, no signed URL


def test_flag_holds_on_tier1_then_blocks_on_confirm_or_releases_on_reject(server, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("REVIEW_BASE_URL", "https://review.acme.example")
    lf.reset_caches()
    server.routes["/cb"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/cb"), policy="flag")
    verdict = _verdict().model_copy(update={"evidence": "/srv/counterfeit/evidence/acme/wscan0001"})
    _store(verdict)
    assert notify_verdict(lf.deps(), verdict, LISTING, VERIFIED).status == "sent"
    hold = json.loads(server.received[0].body)
    assert hold["action"] == "hold_for_review"
    # the evidence link is the review page's authenticated item page, never the internal bundle path
    assert hold["evidence_url"] == "https://review.acme.example/brands/acme/items/wscan0001"
    assert "/srv/counterfeit" not in server.received[0].body.decode()
    _decide("reject")
    assert notify_review(lf.deps(), "acme", "wscan0001").status == "sent"
    assert _actions(server) == ["hold_for_review", "release"]
    record = lf.deps().docs.get(record_path("acme", "wscan0001", "release"))
    assert (
        record["status"] == "sent"
        and record["attempts"] == 1
        and record["deliveries"][0]["detail"] == "HTTP 200"
    )


def test_auto_block_tier1_is_opt_in_and_a_rejection_releases(server) -> None:  # noqa: F811
    server.routes["/cb"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/cb"), policy="auto_block_tier1")
    verdict = _verdict()
    _store(verdict)
    assert notify_verdict(lf.deps(), verdict, LISTING, VERIFIED).status == "sent"
    _decide("reject")
    assert notify_review(lf.deps(), "acme", "wscan0001").status == "sent"
    assert _actions(server) == ["block_listing", "release"]


def test_a_rejection_with_nothing_sent_releases_nothing(server) -> None:  # noqa: F811
    server.routes["/cb"] = lambda _r: (200, {}, b"{}")
    _register(server.url("/cb"), policy=None)
    _store(_verdict())
    _decide("reject")
    outcome = notify_review(lf.deps(), "acme", "wscan0001")
    assert outcome.status == "skipped" and "nothing to release" in outcome.detail and server.received == []


def test_a_store_that_cannot_sign_gives_no_link_instead_of_failing(monkeypatch) -> None:
    """Regression (found on the emulator stack): anonymous credentials cannot sign; signed_url raised and the
    evidence step lost its callback. Now it answers None and the callback links to the review page."""
    from common.adapters.gcp import GcsBlobStore
    from common.settings import Settings

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    store = GcsBlobStore(Settings(backend="gcp", project="p"))
    assert store.signed_url("evidence", "acme/wscan0001/report.pdf", 60) is None
