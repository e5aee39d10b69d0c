"""The keyboard review session and the dashboard in real Chromium on the GCP adapters against the emulators
(Firestore + storage): the "next item" queries, decisions, bulk checks and dashboard counts run on
Firestore's where / order / cursor / count, not only SQLite's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.adapters.gcp import FirestoreDocumentStore, GcsBlobStore
from common.adapters.local import InProcessBus
from common.bootstrap import Deps
from common.evidence.screenshot import find_chromium
from common.settings import Settings
from tests.support.emulator_stack import stack_env
from tests.support.review_keys import WINDOW, review_with_keys
from tests.support.review_seed import backlog_title, seed_backlog
from tests.support.review_server import served_review_app

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed"),
]
ITEMS = 20


@pytest.fixture
def served(emulators, tmp_path: Path) -> Iterator[tuple[str, str, Deps, str, list[str]]]:
    with stack_env(emulators) as env:
        brand, other = f"kb{uuid.uuid4().hex[:8]}", f"ko{uuid.uuid4().hex[:8]}"  # fresh tenants
        token = f"tok-{uuid.uuid4().hex[:8]}"
        settings = Settings.from_env(env)
        settings = Settings(**{**settings.__dict__, "review_tokens": {token: (brand,)}})
        deps = Deps(settings=settings, blobs=GcsBlobStore(settings), docs=FirestoreDocumentStore(settings),
                    publisher=InProcessBus())  # fmt: skip
        deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        order = seed_backlog(deps, tmp_path, brand, ITEMS)
        seed_backlog(deps, tmp_path, other, 2)
        with served_review_app(deps) as base:
            yield base, token, deps, brand, order


def test_keyboard_review_and_dashboard_on_firestore(served) -> None:
    import requests

    base, token, deps, brand, order = served
    run = review_with_keys(base, token, ITEMS)
    print(
        f"\nkeyboard review: {len(run.decided)} items in {run.seconds:.1f} s = {run.per_minute:.0f} decisions/min"
        f" (Firestore + storage emulators; controls bottom at {run.controls_bottom_px:.0f} px)"
    )
    assert list(run.decided) == order and run.controls_bottom_px <= WINDOW["height"]
    for i in range(ITEMS):
        review = deps.docs.get(f"brands/{brand}/verdicts/{brand}-{i:03d}")["review"]
        assert review["decision"] == ("confirmed" if "Replica" in backlog_title(i) else "rejected")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    d = requests.get(f"{base}/dashboard?days=3", headers=headers, timeout=60).json()
    assert sum(d["verdicts_per_tier"]["tier_1"]) + sum(d["verdicts_per_tier"]["tier_2"]) == ITEMS
    assert d["queue_age"]["tier_1"] == [0] * 5  # every item decided
    (row,) = d["decisions_per_reviewer"]
    assert row["confirmed"] + row["rejected"] == ITEMS
    assert requests.get(f"{base}/dashboard?brand=other", headers=headers, timeout=60).status_code == 403
