"""The local adapters keep the semantics the chain relies on in the cloud."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from common.adapters.local import FileBlobStore, InProcessBus, SqliteDocumentStore
from common.ports import AlreadyExists, Filter, NotFound, Order, PreconditionFailed
from common.topics import MAX_DELIVERY_ATTEMPTS


def test_blob_generations_increase_and_preconditions_hold(tmp_path: Path):
    blobs = FileBlobStore(tmp_path)
    g1 = blobs.write("b", "acme/x.jpg", b"one", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        blobs.write("b", "acme/x.jpg", b"two", if_generation_match=0)
    g2 = blobs.write("b", "acme/x.jpg", b"two", if_generation_match=g1)
    assert g2 > g1 and blobs.read("b", "acme/x.jpg") == b"two"
    assert blobs.list("b", "acme/") == ["acme/x.jpg"]
    with pytest.raises(NotFound):
        blobs.read("b", "acme/missing.jpg")


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/../../b", "a/\x00b"])
def test_blob_names_cannot_escape_the_root(tmp_path: Path, name: str):
    with pytest.raises(ValueError):
        FileBlobStore(tmp_path).write("b", name, b"x")


def test_documents_create_is_exclusive_and_queries_filter_and_order(tmp_path: Path):
    docs = SqliteDocumentStore(tmp_path / "d.sqlite3")
    docs.create("brands/a/verdicts/1", {"tier": 1, "score": 0.9})
    with pytest.raises(AlreadyExists):
        docs.create("brands/a/verdicts/1", {"tier": 2})
    docs.set("brands/a/verdicts/2", {"tier": 2, "score": 0.7})
    docs.set("brands/a/verdicts/3", {"tier": 1, "score": 0.95})
    docs.set("brands/b/verdicts/9", {"tier": 1, "score": 1.0})
    rows = docs.query("brands/a/verdicts", [Filter("tier", "==", 1)], [Order("score", descending=True)])
    assert [p for p, _ in rows] == ["brands/a/verdicts/3", "brands/a/verdicts/1"]
    docs.update("brands/a/verdicts/1", {"review.decision": "confirm"})
    assert docs.get("brands/a/verdicts/1")["review"] == {"decision": "confirm"}
    with pytest.raises(NotFound):
        docs.update("brands/a/verdicts/404", {"x": 1})


def test_transaction_rolls_back_on_error_and_serialises_writers(tmp_path: Path):
    docs = SqliteDocumentStore(tmp_path / "d.sqlite3")
    docs.set("counters/c", {"n": 0})

    def boom(txn):
        txn.get("counters/c")
        txn.set("counters/c", {"n": 100})
        raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError):
        docs.transaction(boom)
    assert docs.get("counters/c") == {"n": 0}

    def incr(txn):
        n = txn.get("counters/c")["n"]
        txn.set("counters/c", {"n": n + 1})

    threads = [threading.Thread(target=lambda: [docs.transaction(incr) for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert docs.get("counters/c") == {"n": 200}


def test_bus_redelivers_then_dead_letters_with_reason():
    bus = InProcessBus()
    attempts: list[int] = []
    dead: list[dict[str, str]] = []

    def flaky(delivery):
        attempts.append(delivery.delivery_attempt)
        if delivery.delivery_attempt < 3:
            raise ConnectionError("transient")

    def poison(delivery):
        raise ValueError("never works")

    bus.subscribe("t", "flaky", flaky)
    bus.subscribe("p", "poison", poison)
    bus.subscribe("p-dlq", "dlq", lambda d: dead.append(d.attributes))
    bus.publish("t", b"{}", {"k": "v"})
    bus.publish("p", b"{}", {"scan_id": "s"})
    bus.drain()
    assert attempts == [1, 2, 3]
    assert len(dead) == 1 and dead[0]["scan_id"] == "s"
    assert dead[0]["dead_letter_reason"] == "ValueError: never works"
    assert bus.dead_letters[0][1].delivery_attempt == MAX_DELIVERY_ATTEMPTS


def test_bus_message_ids_are_unique_across_bus_instances():
    """Idempotency records persist in SQLite, so a new CLI run must never reuse an old run's message ids."""
    a, b = InProcessBus(), InProcessBus()
    assert a.publish("t", b"", {}) != b.publish("t", b"", {})


def test_sqlite_queries_follow_the_firestore_contract(tmp_path: Path):
    """The same expectations run on the Firestore emulator (tests/e2e/test_gcp_adapters.py)."""
    from tests.support.docstore_contract import check_query_semantics

    check_query_semantics(SqliteDocumentStore(tmp_path / "d.sqlite"), "brands/acme/things")


def test_sqlite_query_refuses_unknown_field_names_and_cursorless_order(tmp_path: Path):
    from common.ports import Cursor

    docs = SqliteDocumentStore(tmp_path / "d.sqlite")
    with pytest.raises(ValueError, match="field names"):
        docs.query("brands/acme/x", [Filter("a'; DROP TABLE docs; --", "==", 1)])
    with pytest.raises(ValueError, match="order_by"):
        docs.query("brands/acme/x", start_after=Cursor((1,), "a"))


def test_blob_listing_by_prefix_walks_only_its_folder_and_matches_partial_names(tmp_path: Path):
    blobs = FileBlobStore(tmp_path)
    for name in ("acme/s-1/a.json", "acme/s-1/b/c.png", "acme/s-12/a.json", "acme/t.png", "beta/s-1/a.json"):
        blobs.write("b", name, b"x")
    assert blobs.list("b", "acme/s-1/") == ["acme/s-1/a.json", "acme/s-1/b/c.png"]
    assert blobs.list("b", "acme/s-1") == ["acme/s-1/a.json", "acme/s-1/b/c.png", "acme/s-12/a.json"]
    assert blobs.list("b", "acme/") == [
        "acme/s-1/a.json",
        "acme/s-1/b/c.png",
        "acme/s-12/a.json",
        "acme/t.png",
    ]
    assert blobs.list("b", "") == sorted(blobs.list("b", "acme/") + ["beta/s-1/a.json"])
    assert blobs.list("b", "acme/none/") == [] and blobs.list("b", "../acme/") == []
    assert blobs.list("missing", "acme/") == []
