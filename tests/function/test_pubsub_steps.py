"""Chain steps driven by stored Pub/Sub push payloads (as the emulator and Pub/Sub POST them) and by an
Eventarc messagePublished CloudEvent, through functions-framework's own push -> CloudEvent conversion."""

from __future__ import annotations

import base64
import copy
import io
from datetime import UTC, datetime

from PIL import Image

from common import topics
from common.messages import ScanPreprocessed, ScanRequested
from tests.support import local_functions as lf
from tests.support.kits import jpeg_bytes, pattern_image

PUSH_PATH = "/projects/counterfeit-local/topics/scan-requested"
DLQ_PATH = "/projects/counterfeit-local/topics/scan-requested-dlq"


def _prepare_scan(push: dict, with_blob: bool = True) -> ScanRequested:
    """The state ingest leaves behind for the stored message: the candidate blob and the scan document."""
    msg = ScanRequested.from_base64(push["message"]["data"], push["message"]["attributes"])
    deps = lf.deps()
    if with_blob:
        deps.blobs.write(msg.source.bucket, msg.source.name, jpeg_bytes(pattern_image(5)), "image/jpeg")
    deps.docs.set(
        f"brands/{msg.brand_id}/scans/{msg.scan_id}",
        {
            "scan_id": msg.scan_id,
            "brand_id": msg.brand_id,
            "status": "requested",
            "created_at": datetime.now(UTC),
        },
    )
    return msg


def test_push_runs_preprocess_once_and_publishes_the_next_message(local_backend):
    push = lf.load("pubsub_push_scan_requested.json")
    msg = _prepare_scan(push)
    client = lf.client("preprocess")
    assert client.post(PUSH_PATH, json=push).status_code == 200
    out = lf.published(topics.SCAN_PREPROCESSED)
    assert len(out) == 1
    pre = ScanPreprocessed.from_pubsub(out[0][1], out[0][2])
    assert pre.scan_id == msg.scan_id and pre.image.width == 640 and pre.image.height == 480
    working = Image.open(io.BytesIO(lf.deps().blobs.read(pre.image.working.bucket, pre.image.working.name)))
    assert working.size == (640, 480)
    assert (
        lf.deps().docs.get(f"processed_events/preprocess:{push['message']['messageId']}")["status"] == "done"
    )

    # redelivery of the same message id: acknowledged, nothing published twice
    assert client.post(PUSH_PATH, json=push).status_code == 200
    assert len(lf.published(topics.SCAN_PREPROCESSED)) == 1


def test_eventarc_cloudevent_is_handled_like_a_push(local_backend):
    event = lf.load("pubsub_cloudevent_scan_requested.json")
    _prepare_scan(event["data"])
    response = lf.client("preprocess").post(
        "/", json=event, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert response.status_code == 200
    assert len(lf.published(topics.SCAN_PREPROCESSED)) == 1


def test_malformed_message_is_dropped_with_the_reason_on_the_scan(local_backend):
    push = lf.load("pubsub_push_scan_requested.json")
    msg = _prepare_scan(push)
    bad = copy.deepcopy(push)
    bad["message"]["data"] = base64.b64encode(b'{"schema_version": 1, "scan_id": 7}').decode()
    bad["message"]["messageId"] = bad["message"]["message_id"] = "malformed-1"
    assert lf.client("preprocess").post(PUSH_PATH, json=bad).status_code == 200  # acked: never retried
    scan = lf.deps().docs.get(f"brands/{msg.brand_id}/scans/{msg.scan_id}")
    assert scan["status"] == "failed" and "scan.requested" in scan["error"]
    # nothing goes on down the chain; the poison message itself is kept in the DLQ with its reason
    [(topic, data, attrs)] = lf.published()
    assert topic == "scan-requested-dlq" and data == b'{"schema_version": 1, "scan_id": 7}'
    assert attrs["dead_letter_permanent"] == "true" and "scan.requested" in attrs["dead_letter_reason"]


def test_permanent_error_is_acked_and_dead_lettered_at_once_with_its_reason(local_backend):
    """A corrupt candidate (BadImage, a PermanentError): the push is answered 200 (Pub/Sub never redelivers),
    the message goes to scan-requested-dlq once with the reason, and the dead_letter function fed that DLQ
    message records it as a permanent error without turning the failed scan into anything else."""
    push = lf.load("pubsub_push_scan_requested.json")
    msg = ScanRequested.from_base64(push["message"]["data"], push["message"]["attributes"])
    _prepare_scan(push, with_blob=False)
    lf.deps().blobs.write(msg.source.bucket, msg.source.name, b"\xff\xd8\xff\xe0 truncated", "image/jpeg")
    client = lf.client("preprocess")
    assert client.post(PUSH_PATH, json=push).status_code == 200
    assert client.post(PUSH_PATH, json=push).status_code == 200  # a duplicate delivery: nothing new
    assert lf.published(topics.SCAN_PREPROCESSED) == []
    dead = lf.published(topics.dead_letter_topic(topics.SCAN_REQUESTED))
    assert len(dead) == 1
    _topic, data, attrs = dead[0]
    assert data == base64.b64decode(push["message"]["data"])  # the message as received, for replay
    assert attrs["dead_letter_permanent"] == "true" and attrs["dead_letter_subscription"] == "preprocess"
    assert attrs["dead_letter_reason"].startswith("preprocess: ")
    scan_path = f"brands/{msg.brand_id}/scans/{msg.scan_id}"
    assert lf.deps().docs.get(scan_path)["status"] == "failed"

    dlq_push = lf.push_body(data, attrs, "dlq-1", "projects/counterfeit-local/subscriptions/dead-letter")
    assert lf.client("dead_letter").post(DLQ_PATH, json=dlq_push).status_code == 200
    scan = lf.deps().docs.get(scan_path)
    assert scan["status"] == "failed" and scan["error"] == attrs["dead_letter_reason"]
    assert (
        "permanent error, dead-lettered at once by preprocess without retrying" in scan["dead_letter_reason"]
    )
    assert "delivery attempts" not in scan["dead_letter_reason"]


def test_transient_failure_answers_500_so_pubsub_redelivers(local_backend):
    push = lf.load("pubsub_push_scan_requested.json")
    msg = _prepare_scan(push, with_blob=False)  # the candidate is not readable (yet)
    client = lf.client("preprocess")
    assert client.post(PUSH_PATH, json=push).status_code == 500
    # the redelivery after the blob appears finishes the step (the started marker does not block it)
    lf.deps().blobs.write(msg.source.bucket, msg.source.name, jpeg_bytes(pattern_image(5)), "image/jpeg")
    assert client.post(PUSH_PATH, json=push).status_code == 200
    assert len(lf.published(topics.SCAN_PREPROCESSED)) == 1


def test_wrong_event_type_is_dropped(local_backend):
    event = lf.load("pubsub_cloudevent_scan_requested.json")
    event["type"] = "google.cloud.storage.object.v1.finalized"
    _prepare_scan(event["data"])
    response = lf.client("preprocess").post(
        "/", json=event, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert response.status_code == 200
    assert lf.published() == []


def test_dead_letter_records_the_reason_on_the_scan(local_backend):
    push = lf.load("pubsub_push_dead_letter.json")
    msg = _prepare_scan(push)
    assert lf.client("dead_letter").post(DLQ_PATH, json=push).status_code == 200
    scan = lf.deps().docs.get(f"brands/{msg.brand_id}/scans/{msg.scan_id}")
    assert scan["status"] == "dead_lettered"
    assert "5 delivery attempts" in scan["dead_letter_reason"]
    assert "subscription preprocess" in scan["dead_letter_reason"]
    assert "scan-requested-dlq" in scan["dead_letter_reason"]
