"""ingest_gcs with a stored storage.object.v1.finalized CloudEvent, on the local adapters."""

from __future__ import annotations

import copy

from common import topics
from common.messages import ScanRequested
from tests.support import local_functions as lf
from tests.support.kits import jpeg_bytes, pattern_image

CE_HEADERS = {"Content-Type": "application/cloudevents+json"}


def _upload(event: dict) -> int:
    """Put the object the event announces into the (local) candidates bucket; returns its generation."""
    data = event["data"]
    return lf.deps().blobs.write(data["bucket"], data["name"], jpeg_bytes(pattern_image(3)), "image/jpeg")


def _event_for_current_object() -> dict:
    event = lf.load("storage_object_finalized.json")
    event["data"]["generation"] = str(_upload(event))
    return event


def test_finalized_upload_starts_one_scan_with_listing_from_metadata(local_backend):
    event = _event_for_current_object()
    client = lf.client("ingest_gcs")
    assert client.post("/", json=event, headers=CE_HEADERS).status_code == 200
    sent = lf.published(topics.SCAN_REQUESTED)
    assert len(sent) == 1
    msg = ScanRequested.from_pubsub(sent[0][1], sent[0][2])
    assert msg.brand_id == "acme"
    assert (
        msg.listing.listing_id == "L-1001"
        and msg.listing.price == 39.0
        and msg.listing.seller_id == "shop-123"
    )
    assert msg.source.name == "acme/shoe.jpg" and msg.source.generation == int(event["data"]["generation"])
    scan = lf.deps().docs.get(f"brands/acme/scans/{msg.scan_id}")
    assert scan is not None and scan["status"] == "requested"

    # at-least-once: the same event again (and Eventarc's retry of it) starts nothing new
    assert client.post("/", json=event, headers=CE_HEADERS).status_code == 200
    assert len(lf.published(topics.SCAN_REQUESTED)) == 1


def test_binary_mode_event_is_accepted(local_backend):
    event = _event_for_current_object()
    headers = {f"ce-{k}": v for k, v in event.items() if k not in ("data", "datacontenttype")}
    headers["Content-Type"] = "application/json"
    assert lf.client("ingest_gcs").post("/", json=event["data"], headers=headers).status_code == 200
    assert len(lf.published(topics.SCAN_REQUESTED)) == 1


def test_events_that_can_never_succeed_are_acked_and_dropped(local_backend):
    client = lf.client("ingest_gcs")
    base = _event_for_current_object()

    wrong_type = copy.deepcopy(base) | {"type": "google.cloud.storage.object.v1.deleted"}
    other_bucket = copy.deepcopy(base)
    other_bucket["data"]["bucket"] = "counterfeit-work"
    no_generation = copy.deepcopy(base)
    no_generation["data"].pop("generation")
    stale = copy.deepcopy(base)
    stale["data"]["generation"] = str(int(base["data"]["generation"]) - 1)  # since overwritten
    not_a_brand = copy.deepcopy(base)
    not_a_brand["data"]["name"] = "Not A Brand/x.jpg"
    lf.deps().blobs.write("counterfeit-candidates", "Not A Brand/x.jpg", b"x")
    not_a_brand["data"]["generation"] = str(
        lf.deps().blobs.generation("counterfeit-candidates", "Not A Brand/x.jpg")
    )
    bad_metadata = copy.deepcopy(base)
    bad_metadata["data"]["metadata"] = {"listing_id": "L-1", "price": "-5"}

    for event in (wrong_type, other_bucket, no_generation, stale, not_a_brand, bad_metadata):
        response = client.post("/", json=event, headers=CE_HEADERS)
        assert response.status_code == 200, event  # acknowledged: a retry could never help
    assert lf.published(topics.SCAN_REQUESTED) == []


def test_deleted_object_is_stale(local_backend):
    event = _event_for_current_object()
    lf.deps().blobs.delete(event["data"]["bucket"], event["data"]["name"])
    assert lf.client("ingest_gcs").post("/", json=event, headers=CE_HEADERS).status_code == 200
    assert lf.published() == []
