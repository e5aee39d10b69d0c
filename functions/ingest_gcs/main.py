"""Cloud Function `ingest_gcs`: a candidate image finalized in the candidates bucket starts a scan.

Trigger: CloudEvent ``google.cloud.storage.object.v1.finalized`` (Eventarc; the local stack's storage emulator
sends the same). The object's first path segment is the brand id; listing fields may ride in object metadata.
Events that can never succeed (other types, other buckets, malformed data, objects since overwritten or
deleted) are dropped with a logged reason and acknowledged, so they are never retried forever.
"""

from __future__ import annotations

import logging

import functions_framework
from cloudevents.http.event import CloudEvent

from common import chain
from common.bootstrap import get_deps
from common.errors import PermanentError

FINALIZED = "google.cloud.storage.object.v1.finalized"
logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
for _name in ("functions", "common"):  # our own decisions at INFO; libraries stay at WARNING
    logging.getLogger(_name).setLevel(logging.INFO)
log = logging.getLogger("functions.ingest_gcs")


@functions_framework.cloud_event
def ingest_gcs(event: CloudEvent) -> None:
    if event["type"] != FINALIZED:
        log.warning("ingest_gcs: dropping event %s of unexpected type %r", event["id"], event["type"])
        return
    data = event.data if isinstance(event.data, dict) else {}
    bucket, name, generation = data.get("bucket"), data.get("name"), str(data.get("generation") or "")
    if not isinstance(bucket, str) or not isinstance(name, str) or not generation.isdigit():
        log.warning(
            "ingest_gcs: dropping malformed event %s (needs bucket, name, numeric generation)", event["id"]
        )
        return
    deps = get_deps()
    if bucket != deps.settings.candidates_bucket:
        log.info("ingest_gcs: ignoring gs://%s/%s (not the candidates bucket)", bucket, name[:200])
        return
    current = deps.blobs.generation(bucket, name)
    if current != int(generation):
        why = "deleted" if current is None else f"overwritten by generation {current}"
        log.info(
            "ingest_gcs: dropping stale event %s for gs://%s/%s: object %s",
            event["id"],
            bucket,
            name[:200],
            why,
        )
        return
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    try:
        scan_id = chain.ingest_blob(deps, bucket, name, int(generation), dict(metadata), str(event["id"]))
    except PermanentError as exc:
        log.warning("ingest_gcs: dropping event %s for gs://%s/%s: %s", event["id"], bucket, name[:200], exc)
        return
    if scan_id is not None:
        log.info("ingest_gcs: gs://%s/%s#%s -> scan %s", bucket, name[:200], generation, scan_id)
