"""Cloud Function `cluster`: joins a listing to the clusters it shares an image, seller or store with
(verdict-recorded).

Thin: ``common.entrypoints.run_pubsub_step`` checks the event type and hands the Pub/Sub message to
``common.chain`` (idempotency, decoding, stale and poison handling); ``common.clusters.membership`` does the
work. Returning acks the message; raising makes Pub/Sub redeliver it and, after the subscription's max delivery
attempts, dead-letter it.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from common.entrypoints import configure_logging, run_pubsub_step

configure_logging()


@functions_framework.cloud_event
def cluster(event: CloudEvent) -> None:
    run_pubsub_step("cluster", event)
