"""What every Cloud Function handler does around its one call into ``common``: logging set-up, the event-type
check, and turning a CloudEvent's payload into plain values.

Why here and not in each ``functions/<name>/main.py``: the handlers must stay thin and identical in behaviour
(an unexpected event type is dropped with a logged reason, never retried), and the stale-generation and
dead-letter rules are decisions the tests should reach without a functions-framework process.
"""

from __future__ import annotations

import logging
from typing import Any

from common import chain, ingest
from common.bootstrap import get_deps
from common.cloudevents import MESSAGE_PUBLISHED, decode_pubsub
from common.errors import PermanentError

FINALIZED = "google.cloud.storage.object.v1.finalized"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """Libraries at WARNING, our own decisions (``functions.*``, ``common.*``) at INFO. Idempotent."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    for name in ("functions", "common"):
        logging.getLogger(name).setLevel(logging.INFO)


def _log(step: str) -> logging.Logger:
    return logging.getLogger(f"functions.{step}")


def expected_type(step: str, event: Any, wanted: str) -> bool:
    """False (and a logged reason) for an event of another type: acknowledged, never retried."""
    if event["type"] == wanted:
        return True
    _log(step).warning("%s: dropping event %s of unexpected type %r", step, event["id"], event["type"])
    return False


def run_pubsub_step(step: str, event: Any) -> None:
    """A chain step behind a Pub/Sub push or Eventarc trigger. Returning acks; raising makes Pub/Sub redeliver
    and, after the subscription's max delivery attempts, dead-letter the message."""
    if not expected_type(step, event, MESSAGE_PUBLISHED):
        return
    outcome = chain.handle_pubsub_cloudevent(step, event, get_deps())
    reason = f" ({outcome.reason})" if outcome.reason else ""
    _log(step).info("%s: event %s %s%s", step, event["id"], outcome.status, reason)


# -- ingest_gcs ----------------------------------------------------------------------------------------------
def run_finalized_upload(event: Any) -> str | None:
    """An object finalized in a bucket: start a scan for a current upload to the candidates bucket, drop
    everything else with a logged reason (other buckets, malformed events, objects since overwritten or
    deleted, uploads outside a brand prefix). Returns the scan id, or None when the event was dropped."""
    step, log = "ingest_gcs", _log("ingest_gcs")
    if not expected_type(step, event, FINALIZED):
        return None
    data = event.data if isinstance(event.data, dict) else {}
    bucket, name, generation = data.get("bucket"), data.get("name"), str(data.get("generation") or "")
    if not isinstance(bucket, str) or not isinstance(name, str) or not generation.isdigit():
        log.warning(
            "%s: dropping malformed event %s (needs bucket, name, numeric generation)", step, event["id"]
        )
        return None
    deps = get_deps()
    if bucket != deps.settings.candidates_bucket:
        log.info("%s: ignoring gs://%s/%s (not the candidates bucket)", step, bucket, name[:200])
        return None
    current = deps.blobs.generation(bucket, name)
    if current != int(generation):
        why = "deleted" if current is None else f"overwritten by generation {current}"
        log.info(
            "%s: dropping stale event %s for gs://%s/%s: object %s",
            step,
            event["id"],
            bucket,
            name[:200],
            why,
        )
        return None
    raw_metadata = data.get("metadata")
    metadata = {str(k): str(v) for k, v in raw_metadata.items()} if isinstance(raw_metadata, dict) else {}
    try:
        scan_id = ingest.ingest_blob(deps, bucket, name, int(generation), metadata, str(event["id"]))
    except PermanentError as exc:
        log.warning("%s: dropping event %s for gs://%s/%s: %s", step, event["id"], bucket, name[:200], exc)
        return None
    if scan_id is not None:
        log.info("%s: gs://%s/%s#%s -> scan %s", step, bucket, name[:200], generation, scan_id)
    return scan_id


# -- dead_letter ---------------------------------------------------------------------------------------------
def dead_letter_reason(source: str, attributes: dict[str, str], last_error: str | None) -> str:
    """A readable reason from what Pub/Sub tells us (source subscription, attempts) and the last recorded error;
    a message a step dead-lettered itself (permanent error) says so and carries its own reason."""
    topic = source.rsplit("/topics/", 1)[-1] if "/topics/" in source else "unknown topic"
    permanent = chain.permanent_reason(attributes)
    if permanent is not None:
        return f"{permanent} (dead-letter topic {topic})"
    subscription = attributes.get("CloudPubSubDeadLetterSourceSubscription") or attributes.get(
        "dead_letter_subscription", "unknown subscription"
    )
    attempts = attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", "max")
    reason = f"gave up after {attempts} delivery attempts on subscription {subscription} (dead-letter topic {topic})"
    detail = last_error or attributes.get("dead_letter_reason")
    return f"{reason}; last error: {detail}" if detail else reason


def run_dead_letter(event: Any) -> None:
    """A message that exhausted its delivery attempts: record the reason on its scan, then acknowledge."""
    if not expected_type("dead_letter", event, MESSAGE_PUBLISHED):
        return
    message = decode_pubsub(event)
    data = message.data if message.data is not None else b""
    deps = get_deps()
    reason = dead_letter_reason(str(event["source"]), message.attributes, None)
    chain.record_dead_letter(deps, data, message.attributes, reason)


# -- discover ------------------------------------------------------------------------------------------------
def run_discover(event: Any) -> list[dict[str, Any]]:
    """A ``discovery-requested`` message (Cloud Scheduler): sweep the brand it names, or every brand that
    enabled discovery. A malformed message is dropped with a logged reason (acknowledged, never retried)."""
    from common.discovery.scheduled import sweep_scheduled
    from common.messages import DiscoveryRequested, MalformedMessage

    step, log = "discover", _log("discover")
    if not expected_type(step, event, MESSAGE_PUBLISHED):
        return []
    message = decode_pubsub(event)
    try:
        request = DiscoveryRequested.from_pubsub(message.data or b"{}", message.attributes)
    except MalformedMessage as exc:
        log.warning("%s: dropping event %s: %s", step, event["id"], exc)
        return []
    return sweep_scheduled(get_deps(), request)
