"""One set of query expectations run against every DocumentStore (SQLite here, Firestore on the emulator), so
the review queue's filters, order, cursors and counts mean the same thing locally and in the cloud."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.ports import DocumentStore, Filter, Order, cursor_after

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def seed(docs: DocumentStore, collection: str) -> None:
    rows = {
        "a": {"tier": 1, "state": "pending", "at": T0, "tags": ["x", "y"], "seller": "s1"},
        "b": {"tier": 1, "state": "pending", "at": T0, "tags": ["y"], "seller": "s2"},  # same time as a
        "c": {"tier": 1, "state": "decided", "at": T0 + timedelta(hours=1), "tags": [], "seller": "s1"},
        "d": {"tier": 2, "state": "pending", "at": T0 - timedelta(days=1), "tags": ["x"], "seller": None},
        "e": {"tier": "1", "state": "pending", "at": T0, "tags": ["x"]},  # a string tier: never equals 1
        "f": {"tier": 1, "state": "pending", "tags": ["x"]},  # no "at": left out of orders on it
    }
    for doc_id, data in rows.items():
        docs.set(f"{collection}/{doc_id}", data)


def ids(rows: list[tuple[str, dict]]) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p, _ in rows]


def check_query_semantics(docs: DocumentStore, collection: str) -> None:
    seed(docs, collection)
    newest = [Order("at", descending=True)]
    tier1 = [Filter("tier", "==", 1)]
    # equality is typed; ties by document id in the direction of the last order
    assert ids(docs.query(collection, tier1, newest)) == ["c", "b", "a"]
    assert ids(docs.query(collection, tier1, [Order("at")])) == ["a", "b", "c"]
    assert ids(docs.query(collection, tier1)) == ["a", "b", "c", "f"]  # no order: by path
    # range on the ordered field, array membership, equality on several fields
    since = [*tier1, Filter("at", ">=", T0), Filter("at", "<", T0 + timedelta(minutes=30))]
    assert ids(docs.query(collection, since, newest)) == ["b", "a"]
    tagged = [Filter("state", "==", "pending"), Filter("tags", "array_contains", "x")]
    assert ids(docs.query(collection, tagged, newest)) == ["e", "a", "d"]
    assert ids(docs.query(collection, [Filter("tier", "in", [1, 2])], newest)) == ["c", "b", "a", "d"]
    assert ids(docs.query(collection, [Filter("seller", "==", None)])) == ["d"]
    # a cursor continues after the exact row, also inside a tie
    page1 = docs.query(collection, tier1, newest, limit=2)
    assert ids(page1) == ["c", "b"]
    path, doc = page1[-1]
    page2 = docs.query(collection, tier1, newest, limit=2, start_after=cursor_after(path, doc, newest))
    assert ids(page2) == ["a"]
    # counts match the rows
    assert docs.count(collection, tier1) == 4
    assert docs.count(collection, tagged) == 4  # f has no "at" but matches the filters
    assert docs.count(collection, [Filter("state", "==", "nothing")]) == 0
