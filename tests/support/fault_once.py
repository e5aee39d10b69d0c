"""A functions-framework source that runs a real function but crashes it once per armed listing.

Used by the emulator stack in e2e tests (``StackConfig.function_overrides``) to prove that a crash in the middle
of the chain loses nothing and duplicates nothing. Environment:
  FAULT_TARGET   the wrapped function (e.g. ``hash_match``); this module exposes a function of that name
  FAULT_DIR      where crashes are recorded (``<listing_id>.crashed``; created atomically, so exactly once)
  FAULT_PREFIX   listings whose id starts with this are armed (default ``crash-once``)
The crash happens after the first published message (so the next step already has part of the output) or,
when the step publishes only one message, after the handler finished but before the ack. Either way the
handler answers 500 and Pub/Sub redelivers.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import Any

from common.bootstrap import get_deps

ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("FAULT_TARGET", "hash_match")
FAULT_DIR = Path(os.environ.get("FAULT_DIR", "/tmp/counterfeit-faults"))
PREFIX = os.environ.get("FAULT_PREFIX", "crash-once")

_spec = importlib.util.spec_from_file_location(f"real_{TARGET}", ROOT / "functions" / TARGET / "main.py")
assert _spec is not None and _spec.loader is not None
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)


class InjectedCrash(RuntimeError):
    pass


class _CrashingPublisher:
    """Passes publishes through; on a thread with a budget, raises once the budget is spent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.local = threading.local()

    def publish(
        self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None
    ) -> str:
        budget = getattr(self.local, "budget", None)
        if budget is not None:
            if budget <= 0:
                self.local.crashed = True
                raise InjectedCrash(f"injected crash while publishing to {topic}")
            self.local.budget = budget - 1
        return str(self.inner.publish(topic, data, attributes, ordering_key))


def _listing_id(event: Any) -> str:
    try:
        message = event.data["message"]
        payload = json.loads(base64.b64decode(message["data"]))
        return str(payload.get("listing", {}).get("listing_id") or payload.get("listing_id") or "")
    except (KeyError, TypeError, ValueError):
        return ""


def _first_crash(listing_id: str) -> bool:
    FAULT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(FAULT_DIR / f"{listing_id}.crashed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, f"{TARGET} event {os.getpid()}\n".encode())
    os.close(fd)
    return True


def handler(event: Any) -> None:
    deps = get_deps()
    if not isinstance(deps.publisher, _CrashingPublisher):
        deps.publisher = _CrashingPublisher(deps.publisher)  # type: ignore[assignment]
    publisher: _CrashingPublisher = deps.publisher  # type: ignore[assignment]
    listing_id = _listing_id(event)
    armed = listing_id.startswith(PREFIX) and _first_crash(listing_id)
    publisher.local.budget = 1 if armed else None
    publisher.local.crashed = False
    try:
        getattr(_real, TARGET)(event)
    except InjectedCrash:
        _note(listing_id, "crashed while publishing (after the first message)")
        raise
    finally:
        publisher.local.budget = None
    if armed:
        _note(listing_id, "crashed after finishing, before the ack")
        raise InjectedCrash(f"injected crash after {TARGET} finished, before the ack")


def _note(listing_id: str, what: str) -> None:
    with open(FAULT_DIR / f"{listing_id}.crashed", "a") as fh:
        fh.write(what + "\n")


globals()[TARGET] = handler
