"""Cloud Function `ingest_gcs`: a candidate image finalized in the candidates bucket starts a scan.

Trigger: CloudEvent ``google.cloud.storage.object.v1.finalized`` (Eventarc; the local stack's storage emulator
sends the same). The object's first path segment is the brand id; listing fields may ride in object metadata.
Events that can never succeed (other types, other buckets, malformed data, objects since overwritten or
deleted) are dropped with a logged reason and acknowledged, so they are never retried forever.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from common.entrypoints import configure_logging, run_finalized_upload

configure_logging()


@functions_framework.cloud_event
def ingest_gcs(event: CloudEvent) -> None:
    run_finalized_upload(event)
