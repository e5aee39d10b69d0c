"""The review queue at 10,000 rows on the Firestore emulator: the same views, pages and counts as on SQLite
(tests/unit/test_review_queue_scale.py), through the Firestore adapter's where / order / cursor / count."""

from __future__ import annotations

import time
import uuid

import pytest

from common.adapters.gcp import FirestoreDocumentStore, _to_firestore
from common.review.queue_docs import queue_path
from common.settings import Settings
from tests.support.emulator_stack import stack_env
from tests.support.queue_scale import check_queue_at_scale, generate_rows

pytestmark = pytest.mark.emulator
BATCH = 500  # Firestore's limit of writes per batch


def test_ten_thousand_rows_every_filter_paged_and_counted_on_firestore(emulators) -> None:
    with stack_env(emulators) as env:
        docs = FirestoreDocumentStore(Settings.from_env(env))
        brand = f"q{uuid.uuid4().hex[:8]}"
        rows = generate_rows(brand, 10_000)
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            batch = docs.client.batch()
            for row in rows[start : start + BATCH]:
                batch.set(docs.client.document(queue_path(brand, row["listing_id"])), _to_firestore(row))
            batch.commit()
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        sizes = check_queue_at_scale(docs, brand, rows)
        print(f"seeded 10,000 rows in {seeded:.1f}s; checked {sizes} in {time.perf_counter() - started:.1f}s")
        assert min(sizes.values()) > 10
