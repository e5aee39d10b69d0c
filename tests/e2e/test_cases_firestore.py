"""Enforcement cases on the Firestore emulator: the case and its append-only audit trail (a subcollection of
documents only ever created) through the DocumentStore port, the same code the CLI runs on SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.bootstrap import build_deps
from common.enforcement import cases
from common.errors import BadInput
from common.ports import AlreadyExists
from common.settings import Settings
from tests.support.emulator_stack import stack_env

pytestmark = pytest.mark.emulator
T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_case_and_audit_trail_live_in_firestore(emulators) -> None:  # type: ignore[no-untyped-def]
    brand, scan_id = f"cs{uuid.uuid4().hex[:8]}", "scan-1"
    with stack_env(emulators) as env:
        deps = build_deps(Settings.from_env(env))
        assert deps.settings.backend == "gcp"
        cases.open_case(
            deps.docs, brand, scan_id, by="Jane Doe", now=T0, marketplace="shopmart", listing_id="l"
        )
        cases.open_case(
            deps.docs, brand, scan_id, by="Jane Doe", now=T0, marketplace="shopmart", listing_id="l"
        )
        for n, state in enumerate(("notice_generated", "submitted", "removed"), 1):
            cases.move_case(deps.docs, brand, scan_id, state, by="Jo Bloggs", now=T0 + timedelta(hours=n))
        with pytest.raises(BadInput):
            cases.move_case(deps.docs, brand, scan_id, "submitted", by="Jo Bloggs", now=T0)
        fresh = build_deps(Settings.from_env(env))  # another process: everything read back from Firestore
        events = cases.trail(fresh.docs, brand, scan_id)
        assert [e["to"] for e in events] == ["confirmed", "notice_generated", "submitted", "removed"]
        assert cases.verify_trail(fresh.docs, brand, scan_id) == []
        with pytest.raises(AlreadyExists):  # the trail's documents are created once, never overwritten
            fresh.docs.create(f"{cases.events_collection(brand, scan_id)}/000002", {"to": "rejected"})
        stats = cases.metrics(cases.list_cases(fresh.docs, [brand]))
        assert stats["shopmart"]["removed"] == 1 and stats["shopmart"]["median_hours_to_takedown"] == 3.0
