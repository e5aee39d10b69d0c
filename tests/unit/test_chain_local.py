"""The chain on the embedded default: the same handlers the cloud functions run, through the in-process bus.

At-least-once delivery is exercised for real: duplicates, a crash then redelivery, and poison messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common import chain, ingest, pipeline, topics
from common.brands import register_brand
from common.messages import BlobRef, Listing, ScanRequested
from common.scan import listings_from_jsonl, scan_listings


@pytest.fixture
def acme(runtime, demo_dir: Path):
    deps, bus = runtime
    register_brand(deps, demo_dir / "kit")
    return deps, bus


def verdicts(deps) -> list[dict]:
    return [doc for _, doc in deps.docs.list("brands/acme/verdicts")]


def scan_image(deps, bus, path: Path, **listing) -> str:
    item = Listing(listing_id=listing.pop("listing_id", path.stem), image=str(path), **listing)
    scan_id = ingest.ingest_listing(
        deps, "acme", item, path.read_bytes(), f"test:{path}:{sorted(listing.items())}"
    )
    bus.drain()
    return scan_id


def test_exact_copy_short_circuits_and_skips_expensive_channels(acme, demo_dir: Path):
    deps, bus = acme
    scan_id = scan_image(deps, bus, demo_dir / "candidates" / "s1-exact.jpg")
    verdict = deps.docs.get(pipeline.verdict_path("acme", scan_id))
    assert verdict["tier"] == 1 and verdict["rule"] == "hash_short_circuit"
    assert verdict["signals"]["embedding"]["status"] == "not_run"
    assert "short-circuit" in verdict["signals"]["embedding"]["reason"]
    published_topics = [t for t, _, _ in bus.published]
    assert topics.CHANNELS_REQUESTED not in published_topics


def test_duplicate_deliveries_never_make_a_second_verdict(acme, demo_dir: Path):
    deps, bus = acme
    scan_id = scan_image(deps, bus, demo_dir / "candidates" / "s2-mirrored.jpg")
    first = deps.docs.get(pipeline.verdict_path("acme", scan_id))
    replay = list(bus.published)
    for i, (topic, data, attrs) in enumerate(replay):
        for step, sub_topic in topics.SUBSCRIPTIONS.items():
            if sub_topic == topic:
                chain.run_step(step, deps, data, attrs, event_id=f"replayed-{i}")
    bus.drain()
    assert len(verdicts(deps)) == 1
    assert deps.docs.get(pipeline.verdict_path("acme", scan_id)) == first


class CrashOnceDocs:
    """A DocumentStore whose first transaction dies after its reads (a function instance killed mid-fuse)."""

    def __init__(self, inner):
        self.inner, self.crashed = inner, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def transaction(self, fn):
        if not self.crashed:
            self.crashed = True

            def crash(txn):
                fn(txn)
                raise ConnectionResetError("instance killed before commit")

            return self.inner.transaction(crash)
        return self.inner.transaction(fn)


def test_crash_mid_chain_then_redelivery_finishes_the_scan(acme, demo_dir: Path):
    deps, bus = acme
    deps.docs = CrashOnceDocs(deps.docs)
    scan_id = scan_image(deps, bus, demo_dir / "candidates" / "s1-exact.jpg")
    assert deps.docs.crashed
    verdict = deps.docs.get(pipeline.verdict_path("acme", scan_id))
    assert verdict is not None and verdict["tier"] == 1
    assert len(verdicts(deps)) == 1
    assert not bus.dead_letters


def test_malformed_message_is_dropped_with_reason_on_the_scan(acme, demo_dir: Path):
    deps, bus = acme
    scan_id = scan_image(deps, bus, demo_dir / "candidates" / "irrelevant-cat.jpg")
    outcome = chain.run_step(
        "hash_match", deps, b"{not json", {"scan_id": scan_id, "brand_id": "acme"}, "evt-bad"
    )
    assert outcome.status == "dropped" and "not JSON" in outcome.reason
    again = chain.run_step(
        "hash_match", deps, b"{not json", {"scan_id": scan_id, "brand_id": "acme"}, "evt-bad"
    )
    assert again.status == "duplicate"


def test_poison_message_lands_in_the_dlq_with_reason_stored(acme):
    deps, bus = acme
    listing = Listing(listing_id="ghost", image="gs://nowhere/ghost.jpg")
    source = BlobRef(bucket=deps.settings.candidates_bucket, name="_listings/acme/ghost")
    deps.docs.create(
        pipeline.scan_path("acme", "ghost-scan"), {"status": "requested", "listing": listing.model_dump()}
    )
    msg = ScanRequested(
        scan_id="ghost-scan", brand_id="acme", listing=listing, source=source, received_at=datetime.now(UTC)
    )
    data, attrs = msg.to_pubsub()
    bus.publish(topics.SCAN_REQUESTED, data, attrs)
    bus.drain()
    assert len(bus.dead_letters) == 1
    scan = deps.docs.get(pipeline.scan_path("acme", "ghost-scan"))
    assert scan["status"] == "dead_lettered"
    assert "NotFound" in scan["dead_letter_reason"]


def test_corrupt_image_gives_error_record_and_batch_goes_on(acme, demo_dir: Path):
    deps, bus = acme
    records = list(
        scan_listings(deps, bus, "acme", listings_from_jsonl(demo_dir / "listings.jsonl"), base_dir=demo_dir)
    )
    by_id = {r["listing_id"]: r for r in records}
    assert "error" in by_id["corrupt"] and "truncated" in by_id["corrupt"]["error"].lower()
    assert len(records) == 14
    assert all("tier" in r for lid, r in by_id.items() if lid != "corrupt")
