"""Cloud Function `logo_ocr`: logo, OCR, colour and barcode channel (channels-requested -> channel-completed).

Thin: check the event type, hand the Pub/Sub message to ``common.chain`` (idempotency, decoding, stale and poison
handling, publishing the next message), return. Returning acks the message; raising makes Pub/Sub redeliver it
and, after the subscription's max delivery attempts, dead-letter it.
"""

from __future__ import annotations

import logging

import functions_framework
from cloudevents.http.event import CloudEvent

from common import chain
from common.bootstrap import get_deps

STEP = "logo_ocr"
MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
for _name in ("functions", "common"):  # our own decisions at INFO; libraries stay at WARNING
    logging.getLogger(_name).setLevel(logging.INFO)
log = logging.getLogger(f"functions.{STEP}")


@functions_framework.cloud_event
def logo_ocr(event: CloudEvent) -> None:
    if event["type"] != MESSAGE_PUBLISHED:
        log.warning("%s: dropping event %s of unexpected type %r", STEP, event["id"], event["type"])
        return
    outcome = chain.handle_pubsub_cloudevent(STEP, event, get_deps())
    log.info(
        "%s: event %s %s%s",
        STEP,
        event["id"],
        outcome.status,
        f" ({outcome.reason})" if outcome.reason else "",
    )
