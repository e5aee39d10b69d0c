"""Enforcement cases: every item confirmed in review becomes a case that follows its takedown to the end.

States: ``confirmed`` -> ``notice_generated`` -> ``submitted`` -> ``removed`` | ``rejected`` (by the platform);
a removed listing can come back (``reinstated``), a rejected or reinstated one can be submitted again.
Every move is an event document ``brands/{brand}/cases/{scan_id}/events/{seq}`` that is only ever *created*
(never updated or deleted: a Firestore subcollection of append-only docs, the same rows in the local SQLite
store), written in the same transaction as the case's new state, and chained: each event holds the SHA-256 of
the one before, so a rewritten or removed event breaks ``verify_trail``. Who moved it is a named person (the
reviewer's name, or the CLI's ``--by``), never a token digest alone.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from common import paths
from common.errors import BadInput
from common.ports import DocumentStore, NotFound, Transaction

STATES = ("confirmed", "notice_generated", "submitted", "removed", "reinstated", "rejected")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "confirmed": ("notice_generated",),
    "notice_generated": ("notice_generated", "submitted"),  # a notice may be regenerated before it goes out
    "submitted": ("removed", "rejected"),
    "removed": ("reinstated",),
    "reinstated": ("notice_generated", "submitted"),
    "rejected": ("notice_generated", "submitted"),
}
NOTE_MAX_CHARS = 2000
NAME_MAX_CHARS = 200


case_path = paths.case_path
events_collection = paths.case_events


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def _event_digest(event: dict[str, Any]) -> str:
    body = {k: _iso(v) if isinstance(v, datetime) else v for k, v in event.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _check_by(by: str) -> str:
    name = " ".join(str(by or "").split())
    if not name or len(name) > NAME_MAX_CHARS:
        raise BadInput(f"who moves a case must be named (1-{NAME_MAX_CHARS} characters)")
    return name


def _append(txn: Transaction, brand: str, scan_id: str, case: dict[str, Any], event: dict[str, Any]) -> None:
    seq = int(case.get("events") or 0) + 1
    event = {**event, "seq": seq, "prev_sha256": case.get("last_event_sha256")}
    event["sha256"] = _event_digest(event)
    txn.create(f"{events_collection(brand, scan_id)}/{seq:06d}", event)  # create: fails if it exists
    case["events"] = seq
    case["last_event_sha256"] = event["sha256"]


def open_case(
    docs: DocumentStore, brand: str, scan_id: str, *, by: str, now: datetime, marketplace: str | None,
    listing_id: str, note: str = "",
) -> dict[str, Any]:  # fmt: skip
    """The case of a confirmed item (idempotent: a second confirmation leaves the case as it is)."""
    by = _check_by(by)
    path = case_path(brand, scan_id)

    def apply(txn: Transaction) -> dict[str, Any]:
        existing = txn.get(path)
        if existing is not None:
            return existing
        case: dict[str, Any] = {
            "brand_id": brand,
            "scan_id": scan_id,
            "listing_id": listing_id,
            "marketplace": marketplace,
            "state": "confirmed",
            "opened_at": now,
            "updated_at": now,
            "updated_by": by,
            "state_at": {"confirmed": now},
            "events": 0,
            "last_event_sha256": None,
        }
        _append(txn, brand, scan_id, case, {"from": None, "to": "confirmed", "by": by, "at": now,
                                            "note": note[:NOTE_MAX_CHARS]})  # fmt: skip
        txn.create(path, case)
        return case

    return docs.transaction(apply)


def move_case(
    docs: DocumentStore, brand: str, scan_id: str, to: str, *, by: str, now: datetime, note: str = "",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Move a case to ``to`` if its state allows it; the event and the new state land together or not at all."""
    by = _check_by(by)
    if to not in STATES:
        raise BadInput(f"state must be one of {', '.join(STATES)}")
    path = case_path(brand, scan_id)

    def apply(txn: Transaction) -> dict[str, Any]:
        case = txn.get(path)
        if case is None:
            raise NotFound(path)
        allowed = TRANSITIONS.get(str(case.get("state")), ())
        if to not in allowed:
            raise BadInput(
                f"case {scan_id} is {case.get('state')}: it can move to {', '.join(allowed) or 'nothing'}, "
                f"not {to}"
            )
        event = {"from": case["state"], "to": to, "by": by, "at": now, "note": note.strip()[:NOTE_MAX_CHARS]}
        if detail:
            event["detail"] = detail
        _append(txn, brand, scan_id, case, event)
        case.update(
            state=to,
            updated_at=now,
            updated_by=by,
            state_at={**dict(case.get("state_at") or {}), to: now},
        )
        txn.set(path, case)
        return case

    return docs.transaction(apply)


def get_case(docs: DocumentStore, brand: str, scan_id: str) -> dict[str, Any] | None:
    return docs.get(case_path(brand, scan_id))


def trail(docs: DocumentStore, brand: str, scan_id: str) -> list[dict[str, Any]]:
    return [doc for _path, doc in sorted(docs.list(events_collection(brand, scan_id)))]


def verify_trail(docs: DocumentStore, brand: str, scan_id: str) -> list[str]:
    """Problems with the audit trail: a gap, a changed event, or a case state the trail does not end in."""
    problems = []
    prev: str | None = None
    events = trail(docs, brand, scan_id)
    for n, event in enumerate(events, 1):
        if event.get("seq") != n:
            problems.append(f"event {n}: sequence number {event.get('seq')} (an event is missing)")
        if event.get("prev_sha256") != prev or _event_digest(event) != event.get("sha256"):
            problems.append(f"event {n}: digest chain broken (the event was changed)")
        prev = event.get("sha256")
    case = get_case(docs, brand, scan_id)
    if (
        case is not None
        and events
        and (case.get("state") != events[-1].get("to") or case.get("events") != len(events))
    ):
        problems.append("the case's state does not match the end of its trail")
    return problems


def list_cases(docs: DocumentStore, brands: list[str], state: str | None = None) -> list[dict[str, Any]]:
    if state is not None and state not in STATES:
        raise BadInput(f"state must be one of {', '.join(STATES)}")
    rows = []
    for brand in brands:
        rows += [doc for _p, doc in docs.list(paths.cases(brand)) if state in (None, doc.get("state"))]
    return sorted(rows, key=lambda c: _iso(c.get("updated_at")), reverse=True)


def _at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def metrics(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Per marketplace: cases, submitted, removed, rejected, reinstated, removal rate (removed over the
    submissions the platform answered) and median hours from confirmation to removal (time to takedown)."""
    by_market: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_market[str(case.get("marketplace") or "(none)")].append(case)
    out: dict[str, Any] = {}
    for market, rows in sorted(by_market.items()):

        def reached(state: str, rows: list[dict[str, Any]] = rows) -> list[dict[str, Any]]:
            return [c for c in rows if state in (c.get("state_at") or {})]

        removed, rejected = reached("removed"), reached("rejected")
        hours = []
        for c in removed:
            opened, gone = _at(c.get("opened_at")), _at(c["state_at"]["removed"])
            if opened and gone:
                hours.append((gone - opened).total_seconds() / 3600)
        answered = len(removed) + len([c for c in rejected if c not in removed])
        out[market] = {
            "cases": len(rows),
            "submitted": len(reached("submitted")),
            "removed": len(removed),
            "rejected": len(rejected),
            "reinstated": len(reached("reinstated")),
            "open": len(
                [c for c in rows if c.get("state") in ("confirmed", "notice_generated", "submitted")]
            ),
            "removal_rate": round(len(removed) / answered, 4) if answered else None,
            "median_hours_to_takedown": round(statistics.median(hours), 2) if hours else None,
        }
    return out
