"""Delivery mechanics shared by every runtime: idempotency, decoding, stale/poison handling, publishing.

At-least-once delivery means every message may arrive twice, late, or never stop failing. Rules:
- ``processed_events/{step}:{event_id}`` is created *before* side effects; a finished event is a duplicate.
  An event that started but never finished (crash) runs again: steps write deterministic names, and fuse
  creates the verdict at most once, so a rerun finishes the scan without duplicating anything.
- A malformed message or a permanent error (any ``PermanentError``: bad image, unknown brand, an id that cannot
  be a path) is recorded on the scan, published to the dead-letter topic at once with its reason (kept there
  for ops, like any poison message) and acknowledged: retrying cannot help, so it never enters the retry loop.
  Anything else raises, so Pub/Sub retries and finally dead-letters it; the dead-letter handler stores the
  reason on the scan. A scan that already has its verdict keeps it (status ``done``): only the error is added.
- A message for a scan that already has its verdict (or failed) is stale and dropped with a logged reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common import paths, pipeline, topics
from common.bootstrap import Deps
from common.cloudevents import decode_pubsub
from common.errors import PermanentError
from common.messages import (
    BRAND_PATTERN,
    ID_PATTERN,
    ChannelCompleted,
    ChannelsRequested,
    MalformedMessage,
    Message,
    ScanPreprocessed,
    ScanRequested,
    VerdictRecorded,
)
from common.ports import AlreadyExists

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepSpec:
    message_type: type[Message]
    fn: Callable[[Deps, Any], pipeline.Outputs]
    after_publish: Callable[[Deps, Any, pipeline.Outputs], None] | None = None  # with what was published
    runs_after_verdict: bool = False  # evidence and fuse run when the verdict exists; others are stale then


STEPS: dict[str, StepSpec] = {
    "preprocess": StepSpec(ScanRequested, pipeline.preprocess_step),
    "hash_match": StepSpec(ScanPreprocessed, pipeline.hash_match_step),
    "embed": StepSpec(ChannelsRequested, pipeline.embed_step),
    "logo_ocr": StepSpec(ChannelsRequested, pipeline.logo_ocr_step),
    "fuse": StepSpec(
        ChannelCompleted, pipeline.fuse_step, pipeline.mark_verdict_announced, runs_after_verdict=True
    ),
    "evidence": StepSpec(VerdictRecorded, pipeline.evidence_step, runs_after_verdict=True),
    "cluster": StepSpec(VerdictRecorded, pipeline.cluster_step, runs_after_verdict=True),
}
assert set(STEPS) == set(topics.SUBSCRIPTIONS), "every subscribed function needs a step"


@dataclass(frozen=True)
class StepOutcome:
    status: str  # "done" | "duplicate" | "dropped" | "failed" (malformed or permanent: dead-lettered at once)
    reason: str | None = None
    published: int = 0


def _event_doc(step: str, event_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._:@-]", "_", event_id)[:300] or "empty"
    return paths.processed_event(step, safe)


def run_step(
    step: str,
    deps: Deps,
    data: bytes,
    attributes: dict[str, str],
    event_id: str,
    delivery_attempt: int | None = None,
) -> StepOutcome:
    spec = STEPS[step]
    marker = _event_doc(step, event_id)
    now = deps.clock()
    try:
        deps.docs.create(marker, {"status": "started", "first_seen": now, "step": step})
    except AlreadyExists:
        previous = deps.docs.get(marker) or {}
        if previous.get("status") in ("done", "dropped", "failed"):
            log.info("%s: duplicate delivery of event %s ignored", step, event_id)
            return StepOutcome("duplicate")
        log.warning("%s: event %s redelivered after an unfinished attempt; running again", step, event_id)

    try:
        msg = spec.message_type.from_pubsub(data, attributes)
    except MalformedMessage as exc:
        reason = str(exc)
        log.error("%s: dropping malformed event %s: %s", step, event_id, reason)
        _record_on_scan(deps, attributes, {"status": "failed", "error": f"{step}: {reason}"})
        _dead_letter_now(deps, step, data, attributes, f"{step}: {reason}", delivery_attempt)
        deps.docs.set(marker, {"status": "dropped", "reason": reason, "step": step})
        return StepOutcome("dropped", reason)

    spath = pipeline.scan_path(msg.brand_id, msg.scan_id)
    scan = deps.docs.get(spath)
    stale = _stale_reason(spec, scan)
    if stale is not None:
        log.info("%s: dropping stale event %s for scan %s: %s", step, event_id, msg.scan_id, stale)
        deps.docs.set(marker, {"status": "dropped", "reason": stale, "step": step})
        return StepOutcome("dropped", stale)

    started = time.perf_counter()
    try:
        outputs = spec.fn(deps, msg)
    except PermanentError as exc:
        reason = f"{step}: {exc}"
        log.warning("scan %s failed permanently: %s", msg.scan_id, reason)
        current = deps.docs.get(spath) or {}
        if current.get("status") == "done":  # the verdict stands; say what could not be done after it
            deps.docs.update(spath, {"error": reason, "error_step": step})
        else:
            deps.docs.update(spath, {"status": "failed", "error": reason, "finished_at": deps.clock()})
        _dead_letter_now(deps, step, data, attributes, reason, delivery_attempt)
        deps.docs.set(
            marker, {"status": "failed", "reason": reason, "step": step, "delivery_attempt": delivery_attempt}
        )
        return StepOutcome("failed", reason)

    for topic, out in outputs:
        payload, attrs = out.to_pubsub()
        deps.publisher.publish(topic, payload, attrs)
    if spec.after_publish is not None and outputs:
        spec.after_publish(deps, msg, outputs)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    deps.docs.set(
        marker,
        {
            "status": "done",
            "step": step,
            "scan_id": msg.scan_id,
            "published": len(outputs),
            "delivery_attempt": delivery_attempt,
            "elapsed_ms": elapsed_ms,  # measured cost per step (benchmarks, POC cost per channel)
        },
    )
    return StepOutcome("done", published=len(outputs))


def _stale_reason(spec: StepSpec, scan: dict[str, Any] | None) -> str | None:
    if scan is None:
        return "no scan document (unknown or deleted scan)"
    if scan.get("status") == "failed":
        return f"scan already failed: {scan.get('error')}"
    if scan.get("status") == "done" and not spec.runs_after_verdict:
        return "scan already has its verdict"
    return None


def _record_on_scan(deps: Deps, attributes: dict[str, str], fields: dict[str, Any]) -> None:
    """Best effort: the attributes may be as malformed as the payload."""
    brand_id, scan_id = attributes.get("brand_id", ""), attributes.get("scan_id", "")
    if re.match(BRAND_PATTERN, brand_id) and re.match(ID_PATTERN, scan_id):
        path = pipeline.scan_path(brand_id, scan_id)
        if deps.docs.get(path) is not None:
            deps.docs.update(path, fields | {"finished_at": deps.clock()})


PERMANENT_ATTRIBUTE = "dead_letter_permanent"  # "true": sent by run_step itself, not by Pub/Sub after retries


def _dead_letter_now(
    deps: Deps,
    step: str,
    data: bytes,
    attributes: dict[str, str],
    reason: str,
    delivery_attempt: int | None,
) -> None:
    """Publish a message that can never succeed to its topic's dead-letter topic, as Pub/Sub would after the
    last attempt, with the reason in the attributes. Raising here (bus down) leaves the event unfinished, so
    the redelivery dead-letters it again: at least once, like every other publish."""
    attrs = {str(k): str(v) for k, v in attributes.items()}
    attrs.update(
        {
            "dead_letter_subscription": step,
            "dead_letter_reason": reason[:1000],
            PERMANENT_ATTRIBUTE: "true",
            "dead_letter_delivery_attempt": str(delivery_attempt or 1),
        }
    )
    deps.publisher.publish(topics.dead_letter_topic(topics.SUBSCRIPTIONS[step]), data, attrs)


def permanent_reason(attributes: dict[str, str]) -> str | None:
    """The reason of a message ``run_step`` dead-lettered itself (a permanent error), else None."""
    if attributes.get(PERMANENT_ATTRIBUTE) != "true":
        return None
    step = attributes.get("dead_letter_subscription", "a step")
    why = attributes.get("dead_letter_reason", "no reason recorded")
    return f"permanent error, dead-lettered at once by {step} without retrying: {why}"


def record_dead_letter(deps: Deps, data: bytes, attributes: dict[str, str], reason: str) -> None:
    """A message was given up on: keep it (payload digest) and say why on the scan. A scan that already ended
    (``done`` with its verdict, or ``failed`` with its error) keeps its status: no verdict is lost."""
    fields: dict[str, Any] = {
        "dead_letter_reason": reason[:1000],
        "dead_letter_payload_sha256": hashlib.sha256(data).hexdigest(),
    }
    brand_id, scan_id = attributes.get("brand_id", ""), attributes.get("scan_id", "")
    if re.match(BRAND_PATTERN, brand_id) and re.match(ID_PATTERN, scan_id):
        scan = deps.docs.get(pipeline.scan_path(brand_id, scan_id)) or {}
        if scan.get("status") not in ("done", "failed"):
            fields["status"] = "dead_lettered"
    _record_on_scan(deps, attributes, fields)
    # A permanent error was already logged (a warning) by the step that refused it: bad input, not an outage.
    level = logging.WARNING if attributes.get(PERMANENT_ATTRIBUTE) == "true" else logging.ERROR
    log.log(level, "dead-lettered message for scan %s: %s", attributes.get("scan_id"), reason)


def handle_pubsub_cloudevent(step: str, event: Any, deps: Deps) -> StepOutcome:
    """A ``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent (Eventarc, or a push via functions-framework)."""
    message = decode_pubsub(event)
    data = message.data if message.data is not None else b"<not base64>"
    return run_step(step, deps, data, message.attributes, message.message_id, message.delivery_attempt)


def wire_local_bus(bus: Any, deps: Deps) -> None:
    """Subscribe every step (and the dead-letter recorder) to the in-process bus: the embedded default runs
    exactly the handlers the cloud functions run."""
    for step, topic in topics.SUBSCRIPTIONS.items():
        bus.subscribe(
            topic,
            step,
            lambda d, step=step: run_step(step, deps, d.data, d.attributes, d.message_id, d.delivery_attempt),
        )
    for topic in topics.TOPICS:
        bus.subscribe(
            topics.dead_letter_topic(topic),
            "dead_letter",
            lambda d: record_dead_letter(
                deps,
                d.data,
                d.attributes,
                permanent_reason(d.attributes)
                or d.attributes.get("dead_letter_reason", "delivery attempts exhausted"),
            ),
        )
