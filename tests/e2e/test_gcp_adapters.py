"""Every GCP adapter method against the real emulators (Firestore, Pub/Sub, storage)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.adapters.gcp import FirestoreDocumentStore, GcsBlobStore, PubSubPublisher
from common.ports import AlreadyExists, Filter, NotFound, Order, PreconditionFailed
from common.settings import Settings
from tests.support.emulator_stack import stack_env

pytestmark = pytest.mark.emulator
BUCKET = "counterfeit-candidates"


@pytest.fixture
def adapters(emulators):
    with stack_env(emulators) as env:
        settings = Settings.from_env(env)
        yield GcsBlobStore(settings), FirestoreDocumentStore(settings), PubSubPublisher(settings), settings


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_blob_store_round_trip_generations_and_preconditions(adapters):
    blobs, *_ = adapters
    name = f"acme/{_unique('x')}.jpg"
    g1 = blobs.write(
        BUCKET, name, b"one", "image/jpeg", if_generation_match=0, metadata={"listing_id": "L-1"}
    )
    assert blobs.read(BUCKET, name) == b"one"
    assert blobs.generation(BUCKET, name) == g1
    meta = blobs.metadata(BUCKET, name)
    assert meta["content_type"] == "image/jpeg" and meta["metadata"] == {"listing_id": "L-1"}
    with pytest.raises(PreconditionFailed):
        blobs.write(BUCKET, name, b"two", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        blobs.write(BUCKET, name, b"two", if_generation_match=g1 + 1)
    g2 = blobs.write(BUCKET, name, b"two", if_generation_match=g1)
    assert g2 > g1 and blobs.read(BUCKET, name) == b"two"
    assert name in blobs.list(BUCKET, prefix="acme/")
    assert blobs.list(BUCKET, prefix="nobody/") == []
    assert blobs.local_path(BUCKET, name) is None
    blobs.delete(BUCKET, name)
    assert blobs.generation(BUCKET, name) is None
    with pytest.raises(NotFound):
        blobs.read(BUCKET, name)
    with pytest.raises(NotFound):
        blobs.delete(BUCKET, name)


def test_scan_keypoints_cross_the_storage_emulator_unchanged(adapters):
    """The scan's SIFT keypoints blob (~0.3-0.7 MB, common.vision.sift; preprocess or hash_match writes it)
    through the real client and emulator: logo_ocr and embed read exactly what was written."""
    from common.vision import synthetic as syn
    from common.vision.sift import Keypoints, candidate_keypoints

    blobs, *_, settings = adapters
    kp = candidate_keypoints(syn.paste(syn.background(2), syn.synthetic_logo(1), 220, (200, 150)))
    name = f"acme/{_unique('scan')}.sift.npz"
    blobs.write(settings.work_bucket, name, kp.to_bytes(), content_type="application/x-npz")
    back = Keypoints.from_bytes(blobs.read(settings.work_bucket, name))
    assert len(back.points) == len(kp.points) > 100
    assert (back.points == kp.points).all() and (back.descriptors == kp.descriptors).all()
    assert back.sizes is not None and kp.sizes is not None and (back.sizes == kp.sizes).all()
    assert (back.size, back.scale) == (kp.size, kp.scale)


def test_documents_crud_merge_dotted_updates_and_datetimes(adapters):
    _, docs, *_ = adapters
    path = f"brands/acme/scans/{_unique('s')}"
    when = datetime(2026, 11, 22, 8, 0, 1, 123456, tzinfo=UTC)
    docs.create(path, {"status": "received", "at": when, "channels": {}, "n": 1, "embedding": [0.5, 0.25]})
    with pytest.raises(AlreadyExists):
        docs.create(path, {"status": "again"})
    got = docs.get(path)
    assert got == {"status": "received", "at": when, "channels": {}, "n": 1, "embedding": [0.5, 0.25]}
    assert type(got["at"]) is datetime
    docs.update(path, {"channels.hash": {"status": "fired"}, "status": "running"})
    docs.set(path, {"extra": {"a": 1}}, merge=True)
    got = docs.get(path)
    assert got["channels"] == {"hash": {"status": "fired"}} and got["status"] == "running"
    assert got["extra"] == {"a": 1} and got["n"] == 1
    docs.set(path, {"only": True})
    assert docs.get(path) == {"only": True}
    # Firestore forbids arrays in arrays; the adapter keeps them transparent (signals carry boxes, palettes)
    nested = {
        "boxes": [[1, 2], [3, [4, 5]]],
        "palette": [{"rgb": (1, 2, 3), "share": 0.5}],
        "m": {"k": [[0.5]]},
    }
    docs.set(path, nested)
    assert docs.get(path) == {"boxes": [[1, 2], [3, [4, 5]]], "palette": [{"rgb": [1, 2, 3], "share": 0.5}],
                              "m": {"k": [[0.5]]}}  # fmt: skip
    docs.transaction(lambda txn: txn.update(path, {"m.k": [[1.0, 2.0]]}))
    assert docs.get(path)["m"]["k"] == [[1.0, 2.0]]
    with pytest.raises(NotFound):
        docs.update(f"brands/acme/scans/{_unique('missing')}", {"a": 1})
    docs.delete(path)
    assert docs.get(path) is None
    docs.delete(path)  # deleting a missing document is fine (as in Firestore)
    with pytest.raises(ValueError):
        docs.get("brands")  # a collection path is not a document


def test_query_filters_order_limit_and_list(adapters):
    _, docs, *_ = adapters
    brand = _unique("q").lower()
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(6):
        docs.set(
            f"brands/{brand}/verdicts/v{i}",
            {
                "tier": 1 + i % 3,
                "score": i / 10,
                "created_at": base + timedelta(hours=i),
                "tags": [f"t{i % 2}"],
            },
        )
    coll = f"brands/{brand}/verdicts"
    listed = docs.list(coll)
    assert [p for p, _ in listed] == [f"{coll}/v{i}" for i in range(6)]
    tier1 = docs.query(coll, [Filter("tier", "==", 1)])
    assert sorted(p.rsplit("/", 1)[1] for p, _ in tier1) == ["v0", "v3"]
    recent = docs.query(coll, [Filter("created_at", ">=", base + timedelta(hours=2))],
                        [Order("created_at", descending=True)], limit=2)  # fmt: skip
    assert [p.rsplit("/", 1)[1] for p, _ in recent] == ["v5", "v4"]
    in_query = docs.query(coll, [Filter("tier", "in", [2, 3])], [Order("score")])
    assert [d["tier"] for _, d in in_query] == [2, 3, 2, 3]
    tagged = docs.query(coll, [Filter("tags", "array_contains", "t1")])
    assert len(tagged) == 3
    not_tier1 = docs.query(coll, [Filter("tier", "!=", 1)])
    assert len(not_tier1) == 4
    by_tier_then_time = docs.query(coll, [Filter("tier", "==", 2)], [Order("created_at")])
    assert [p.rsplit("/", 1)[1] for p, _ in by_tier_then_time] == ["v1", "v4"]


def test_transaction_reads_then_writes_and_survives_contention(adapters):
    _, docs, *_ = adapters
    path = f"counters/{_unique('c')}"
    docs.set(path, {"n": 0})

    def increment(txn):
        current = txn.get(path)
        txn.update(path, {"n": current["n"] + 1})
        return current["n"] + 1

    errors: list[BaseException] = []

    def worker():
        try:
            for _ in range(3):
                docs.transaction(increment)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    # Two writers are enough to force aborts and retries; the emulator resolves each conflict with a ~2 s lock
    # wait, so more writers only make the test slower.
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert docs.get(path) == {"n": 6}

    marker = f"processed_events/{_unique('e')}"

    def create_once(txn):
        assert txn.get(marker) is None or True
        txn.create(marker, {"status": "done"})
        txn.set(f"{marker}-side", {"x": 1}, merge=True)
        return "created"

    assert docs.transaction(create_once) == "created"
    with pytest.raises(AlreadyExists):
        docs.transaction(create_once)

    def delete_both(txn):
        txn.get(marker)
        txn.delete(marker)
        txn.delete(f"{marker}-side")

    docs.transaction(delete_both)
    assert docs.get(marker) is None and docs.get(f"{marker}-side") is None


def test_publisher_delivers_data_attributes_and_ordering(adapters):
    *_, publisher, settings = adapters
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    topic = "scan-requested"
    sub = f"projects/{settings.project}/subscriptions/{_unique('pull')}"
    subscriber.create_subscription(request={"name": sub, "topic": publisher.topic_path(topic)})
    try:
        first = publisher.publish(topic, b'{"n": 1}', {"kind": "scan.requested", "scan_id": "s1"})
        second = publisher.publish(topic, b'{"n": 2}', {"kind": "scan.requested"}, ordering_key="s1")
        assert first and second and first != second
        received: dict[bytes, dict[str, str]] = {}
        for _ in range(20):
            response = subscriber.pull(request={"subscription": sub, "max_messages": 10}, timeout=10)
            for m in response.received_messages:
                received[m.message.data] = dict(m.message.attributes)
            if response.received_messages:
                subscriber.acknowledge(
                    request={"subscription": sub, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
            if len(received) == 2:
                break
        assert received == {
            b'{"n": 1}': {"kind": "scan.requested", "scan_id": "s1"},
            b'{"n": 2}': {"kind": "scan.requested"},
        }
    finally:
        subscriber.delete_subscription(request={"subscription": sub})
        subscriber.close()


def test_firestore_queries_follow_the_same_contract_as_sqlite(adapters):
    """tests/unit/test_local_adapters.py runs the same expectations on SQLite."""
    from tests.support.docstore_contract import check_query_semantics

    _, docs, *_ = adapters
    check_query_semantics(docs, f"brands/acme/{_unique('contract')}")
