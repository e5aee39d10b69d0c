"""The delivery infra chose works with CloudEvent handlers: a function deployed without an Eventarc trigger
(Cloud Functions sets FUNCTION_SIGNATURE_TYPE=http for it) and reached by a Pub/Sub push subscription at
``<url>/projects/<p>/topics/<t>`` still gets the messagePublished CloudEvent Eventarc would deliver.

Driven through functions-framework's own app (the server Cloud Functions runs), with a probe handler written
like functions/*/main.py."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

functions_framework = pytest.importorskip("functions_framework")

PROBE = """
import functions_framework

SEEN = []


@functions_framework.cloud_event
def probe(event):
    SEEN.append(event)
"""
MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def _push_body(data: bytes, attributes: dict[str, str]) -> dict:
    """The JSON body Pub/Sub POSTs to a push endpoint (wrapped format)."""
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": "1234567890",
            "publishTime": "2026-11-22T08:00:00.000Z",
        },
        "subscription": "projects/demo/subscriptions/preprocess-on-scan-requested",
    }


def test_raw_push_reaches_a_cloudevent_handler_deployed_as_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "push_probe.py"  # not main.py: keeps sys.modules["main"] for the function tests
    source.write_text(PROBE)
    monkeypatch.setenv("FUNCTION_SIGNATURE_TYPE", "http")  # what a trigger-less deployment gets
    monkeypatch.setattr(sys, "path", list(sys.path))  # functions-framework appends the source directory
    app = functions_framework.create_app(target="probe", source=str(source))
    probe = sys.modules.pop("push_probe")
    payload = {"scan_id": "s1", "brand_id": "acme"}
    response = app.test_client().post(
        "/projects/demo/topics/scan-requested",
        json=_push_body(json.dumps(payload).encode(), {"kind": "ScanRequested"}),
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    [event] = probe.SEEN
    assert event["type"] == MESSAGE_PUBLISHED
    assert event["source"] == "//pubsub.googleapis.com/projects/demo/topics/scan-requested"
    message = event.data["message"]
    assert json.loads(base64.b64decode(message["data"])) == payload
    assert message["attributes"] == {"kind": "ScanRequested"}
    assert event["id"] == "1234567890"
