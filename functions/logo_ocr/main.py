"""Cloud Function `logo_ocr`: logo, OCR, colour and barcode channel (channels-requested -> channel-completed).

Thin: ``common.entrypoints.run_pubsub_step`` checks the event type and hands the Pub/Sub message to
``common.chain`` (idempotency, decoding, stale and poison handling, publishing the next message). Returning acks
the message; raising makes Pub/Sub redeliver it and, after the subscription's max delivery attempts,
dead-letter it.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from common.entrypoints import configure_logging, run_pubsub_step

configure_logging()


@functions_framework.cloud_event
def logo_ocr(event: CloudEvent) -> None:
    run_pubsub_step("logo_ocr", event)
