"""The whole cloud chain on the emulator stack: Firestore and Pub/Sub emulators, the storage emulator's finalize
events, every function under functions-framework, push subscriptions with retry and dead-letter policies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from common import topics
from common.bootstrap import build_deps
from common.brands import register_brand
from common.messages import BlobRef, Listing, Preprocessed, ScanPreprocessed, ScanRequested
from common.ports import Filter
from common.settings import Settings
from common.signing import SIGNATURE_HEADER, verify_signature
from tests.support.emulator_stack import FAULTY_STEP, stack_env
from tests.support.http_server import LoopbackServer
from tests.support.kits import demo_kit
from tests.support.webhooks import MARKETPLACE, SECRETS, signed

pytestmark = pytest.mark.emulator
BRAND = "acme"
# Generous: the first scan in each function process loads the ONNX model and the OCR engine.
VERDICT_WAIT_S = 240


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = VERDICT_WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Chain:
    def __init__(self, stack: Any, env: dict[str, str], demo: dict[str, Path]) -> None:
        self.stack = stack
        self.settings = Settings.from_env(env)
        self.deps = build_deps(self.settings)
        self.demo = demo

    def upload(self, filename: str, name: str, metadata: dict[str, str]) -> int:
        data = (self.demo["candidates"] / filename).read_bytes()
        return self.deps.blobs.write(
            self.settings.candidates_bucket, name, data, "image/jpeg", metadata=metadata
        )

    def scans_for(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return self.deps.docs.query(f"brands/{BRAND}/scans", [Filter("source.name", "==", name)])

    def scan_id_for(self, name: str) -> str:
        rows = wait_for(f"a scan for {name}", lambda: self.scans_for(name), 60)
        assert len(rows) == 1, rows
        return rows[0][0].rsplit("/", 1)[1]

    def verdict(self, scan_id: str) -> dict[str, Any]:
        return wait_for(
            f"verdict for {scan_id}", lambda: self.deps.docs.get(f"brands/{BRAND}/verdicts/{scan_id}")
        )

    def verdicts_for_listing(self, listing_id: str) -> list[tuple[str, dict[str, Any]]]:
        return self.deps.docs.query(f"brands/{BRAND}/verdicts", [Filter("listing_id", "==", listing_id)])


@pytest.fixture(scope="module")
def chain(emulator_stack, tmp_path_factory):
    with stack_env(emulator_stack) as env:
        demo = demo_kit(tmp_path_factory.mktemp("demo"))
        c = Chain(emulator_stack, env, demo)
        register_brand(c.deps, demo["kit"])
        yield c


@pytest.fixture
def marketplace(chain):
    server = LoopbackServer().start()
    server.routes["/block"] = lambda _r: (200, {"Content-Type": "application/json"}, b"{}")
    chain.deps.docs.set(
        f"marketplaces/{MARKETPLACE}",
        {"brands": [BRAND], "callback_url": server.url("/block"), "policy": "auto_block_tier1"},
    )
    yield server
    chain.deps.docs.delete(f"marketplaces/{MARKETPLACE}")
    server.stop()


def test_upload_to_the_bucket_produces_tiered_verdicts(chain):
    chain.upload("s1-exact.jpg", "acme/e2e/s1-exact.jpg", {"listing_id": "e2e-s1", "seller_id": "shop-123"})
    chain.upload("irrelevant-astronaut.jpg", "acme/e2e/astronaut.jpg", {"listing_id": "e2e-astro"})
    copy_scan = chain.scan_id_for("acme/e2e/s1-exact.jpg")
    other_scan = chain.scan_id_for("acme/e2e/astronaut.jpg")

    verdict = chain.verdict(copy_scan)
    assert verdict["tier"] == 1 and verdict["listing_id"] == "e2e-s1"
    assert verdict["signals"]["hash"]["status"] == "fired"
    other = chain.verdict(other_scan)
    assert other["tier"] >= 3 and other["listing_id"] == "e2e-astro"
    for scan_id in (copy_scan, other_scan):
        scan = chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}")
        assert scan["status"] == "done"
    # Tier 1: the evidence step stores the bundle in the evidence bucket
    evidence = wait_for(
        "evidence bundle", lambda: chain.deps.docs.get(f"brands/{BRAND}/verdicts/{copy_scan}").get("evidence")
    )
    assert copy_scan in evidence


def test_ocr_runs_in_a_second_look_only_where_the_text_could_change_the_tier(chain):
    """Through the real Pub/Sub fan-out: fuse requests logo_ocr's second look on channels-requested (embed's
    subscription receives it too and acknowledges it) only when the image's text could change the tier."""
    chain.upload("s2-mirrored.jpg", "acme/e2e/look-mirrored.jpg", {"listing_id": "e2e-look-copy"})
    chain.upload("s7-text.jpg", "acme/e2e/look-text.jpg", {"listing_id": "e2e-look-text"})
    fixed = chain.verdict(chain.scan_id_for("acme/e2e/look-mirrored.jpg"))
    assert fixed["tier"] == 1 and fixed["signals"]["ocr_text"]["status"] == "not_run"
    assert fixed["signals"]["ocr_text"]["reason"].startswith("skipped: the verdict is Tier 1 whatever")
    text_scan = chain.scan_id_for("acme/e2e/look-text.jpg")
    read = chain.verdict(text_scan)
    assert read["tier"] == 2 and read["signals"]["ocr_text"]["status"] == "fired"
    assert read["signals"]["ocr_text"]["detail"]["second_look"].startswith("read: the image's text could")
    scan = chain.deps.docs.get(f"brands/{BRAND}/scans/{text_scan}")
    assert "ocr" in scan["channels"] and "ocr" in scan["expected"] and scan["text_look_announced"] is True


def test_signed_webhook_produces_a_verdict_and_a_block_listing_callback(chain, marketplace):
    image_url = marketplace.bytes_route(
        "/img/s3.jpg", (chain.demo["candidates"] / "s1-exact.jpg").read_bytes()
    )
    body, headers = signed({"brand": BRAND, "listing_id": "e2e-webhook-1", "image": image_url,
                            "title": "ACME roadster", "price": 40.0, "seller_id": "shop-9"})  # fmt: skip
    response = requests.post(chain.stack.url("ingest_webhook"), data=body, headers=headers, timeout=60)
    assert response.status_code == 202, response.text
    scan_id = response.json()["scan_id"]
    verdict = chain.verdict(scan_id)
    assert verdict["tier"] == 1 and verdict["listing_id"] == "e2e-webhook-1"

    calls = wait_for(
        "block-listing callback", lambda: [r for r in marketplace.received if r.path == "/block"]
    )
    assert len(calls) == 1
    verify_signature(SECRETS, calls[0].headers[SIGNATURE_HEADER], calls[0].body, datetime.now(UTC))
    action = json.loads(calls[0].body)
    assert action["action"] == "block_listing" and action["scan_id"] == scan_id

    # the same signed request again is a replay; a re-signed resend maps to the same scan
    assert (
        requests.post(chain.stack.url("ingest_webhook"), data=body, headers=headers, timeout=60).status_code
        == 401
    )
    body2, headers2 = signed(json.loads(body))
    again = requests.post(chain.stack.url("ingest_webhook"), data=body2, headers=headers2, timeout=60)
    assert again.status_code == 202 and again.json()["scan_id"] == scan_id
    unsigned = requests.post(chain.stack.url("ingest_webhook"), data=body, timeout=60)
    assert unsigned.status_code == 401


def test_duplicate_deliveries_make_exactly_one_verdict(chain):
    name = "acme/e2e/dup.jpg"
    generation = chain.upload("s2-modified.jpg", name, {"listing_id": "e2e-dup"})
    event = {
        "bucket": chain.settings.candidates_bucket, "name": name, "generation": str(generation),
        "metadata": {"listing_id": "e2e-dup"}, "contentType": "image/jpeg",
    }  # fmt: skip
    headers = {
        "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{chain.settings.candidates_bucket}",
        "ce-subject": f"objects/{name}", "ce-id": f"duplicate-{generation}", "Content-Type": "application/json",
    }  # fmt: skip
    for _ in range(2):  # Eventarc may deliver the finalize event more than once, with other ids
        assert (
            requests.post(chain.stack.url("ingest_gcs"), json=event, headers=headers, timeout=60).status_code
            == 200
        )
    scan_id = chain.scan_id_for(name)
    scan = chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}")
    # and a second copy of the scan-requested message (a publisher retry): a new message id, same scan
    again = ScanRequested(scan_id=scan_id, brand_id=BRAND, listing=Listing.model_validate(scan["listing"]),
                          source=BlobRef.model_validate(scan["source"]), received_at=datetime.now(UTC))  # fmt: skip
    chain.deps.publisher.publish(topics.SCAN_REQUESTED, *again.to_pubsub())
    first = chain.verdict(scan_id)
    time.sleep(3)  # let the duplicates drain through the chain
    assert len(chain.verdicts_for_listing("e2e-dup")) == 1
    assert chain.deps.docs.get(f"brands/{BRAND}/verdicts/{scan_id}")["created_at"] == first["created_at"]
    assert len(chain.scans_for(name)) == 1


def test_crash_in_the_middle_of_the_chain_then_redelivery_finishes_with_one_verdict(chain):
    # s1 is an exact copy (hash short-circuit: hash_match publishes one message, then crashes before its ack);
    # s3 needs the channels (hash_match publishes channel-completed, then crashes before channels-requested)
    cases = {"crash-once-exact": "s1-exact.jpg", "crash-once-channels": "s3-selfshot.jpg"}
    for listing_id, filename in cases.items():
        chain.upload(filename, f"acme/e2e/{listing_id}.jpg", {"listing_id": listing_id})
    notes = {}
    for listing_id in cases:
        scan_id = chain.scan_id_for(f"acme/e2e/{listing_id}.jpg")
        chain.verdict(scan_id)
        notes[listing_id] = (chain.stack.fault_dir / f"{listing_id}.crashed").read_text()
        assert FAULTY_STEP in notes[listing_id]
        assert chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}")["status"] == "done"
    assert "after finishing" in notes["crash-once-exact"]
    assert "while publishing" in notes["crash-once-channels"]
    time.sleep(3)  # redeliveries and any duplicate fan-in messages drain
    for listing_id in cases:
        assert len(chain.verdicts_for_listing(listing_id)) == 1


def test_poison_message_lands_in_the_dlq_with_the_reason_on_the_scan(chain):
    scan_id = "poison0001"
    listing = Listing(listing_id="e2e-poison", image="gs://counterfeit-candidates/acme/e2e/poison.jpg")
    source = BlobRef(bucket=chain.settings.candidates_bucket, name="acme/e2e/poison.jpg", generation=1)
    chain.deps.docs.set(f"brands/{BRAND}/scans/{scan_id}", {
        "scan_id": scan_id, "brand_id": BRAND, "status": "running", "listing": listing.model_dump(mode="json"),
        "source": source.model_dump(mode="json"), "created_at": datetime.now(UTC),
    })  # fmt: skip
    # the working copy it names does not exist: hash_match fails every time (not a permanent error)
    image = Preprocessed(working=BlobRef(bucket=chain.settings.work_bucket, name="acme/missing.png"),
                         sha256="0" * 64, format="JPEG", width=10, height=10)  # fmt: skip
    msg = ScanPreprocessed(scan_id=scan_id, brand_id=BRAND, listing=listing, source=source, image=image)
    chain.deps.publisher.publish(topics.SCAN_PREPROCESSED, *msg.to_pubsub())

    def dead_lettered() -> dict[str, Any] | None:
        scan = chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}") or {}
        return scan if scan.get("status") == "dead_lettered" else None

    scan = wait_for("dead-lettered scan", dead_lettered, 120)
    reason = scan["dead_letter_reason"]
    assert f"{topics.MAX_DELIVERY_ATTEMPTS} delivery attempts" in reason
    assert "subscription hash_match" in reason and "scan-preprocessed-dlq" in reason
    assert chain.deps.docs.get(f"brands/{BRAND}/verdicts/{scan_id}") is None


def test_permanent_error_is_dead_lettered_at_once_through_the_real_dlq(chain):
    """A corrupt candidate (BadImage in preprocess): the step itself publishes into scan-requested-dlq (one
    delivery, no retries) and the dead_letter function records the permanent reason; the scan stays failed."""
    name = "acme/e2e/corrupt.jpg"
    generation = chain.deps.blobs.write(
        chain.settings.candidates_bucket, name, b"\xff\xd8\xff\xe0 truncated", "image/jpeg"
    )
    scan_id = "permanent0001"
    listing = Listing(listing_id="e2e-permanent", image=f"gs://{chain.settings.candidates_bucket}/{name}")
    source = BlobRef(bucket=chain.settings.candidates_bucket, name=name, generation=generation)
    chain.deps.docs.set(f"brands/{BRAND}/scans/{scan_id}", {
        "scan_id": scan_id, "brand_id": BRAND, "status": "requested", "listing": listing.model_dump(mode="json"),
        "source": source.model_dump(mode="json"), "created_at": datetime.now(UTC),
    })  # fmt: skip
    msg = ScanRequested(
        scan_id=scan_id, brand_id=BRAND, listing=listing, source=source, received_at=datetime.now(UTC)
    )
    chain.deps.publisher.publish(topics.SCAN_REQUESTED, *msg.to_pubsub())

    def recorded() -> dict[str, Any] | None:
        scan = chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}") or {}
        return scan if scan.get("dead_letter_reason") else None

    scan = wait_for("permanent error recorded from the DLQ", recorded, 120)
    assert scan["status"] == "failed" and scan["error"].startswith("preprocess: ")
    assert "permanent error, dead-lettered at once by preprocess" in scan["dead_letter_reason"]
    assert "scan-requested-dlq" in scan["dead_letter_reason"]
    events = chain.deps.docs.query("processed_events", [Filter("step", "==", "preprocess")])
    mine = [doc for _, doc in events if doc.get("reason") == scan["error"]]
    # each message published (a client-side publish retry may duplicate it) was delivered once: attempt 1
    assert mine and all(doc["status"] == "failed" and doc["delivery_attempt"] in (1, None) for doc in mine)


def test_upload_naming_a_marketplace_gets_no_callback(chain, marketplace):
    """Upload metadata may name a marketplace; only its signed webhook may make us call it."""
    name = "acme/e2e/named-market.jpg"
    chain.upload("s1-exact.jpg", name, {"listing_id": "e2e-named", "marketplace": MARKETPLACE})
    scan_id = chain.scan_id_for(name)
    assert chain.verdict(scan_id)["tier"] == 1
    outcome = wait_for(
        "callback outcome", lambda: chain.deps.docs.get(f"brands/{BRAND}/scans/{scan_id}").get("callback")
    )
    assert outcome["status"] == "refused" and "upload metadata" in outcome["detail"]
    assert [r for r in marketplace.received if r.path == "/block"] == []
