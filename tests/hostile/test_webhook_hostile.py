"""Hostile webhook bodies through functions-framework's test client, then hostile images through the
``preprocess`` function: every case answers a 4xx (or 202 then a recorded scan error), never a 500 or a crash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from common import topics
from tests.support import local_functions as lf
from tests.support.webhooks import signed

PUSH_PATH = "/projects/counterfeit-local/topics/scan-requested"


@pytest.fixture
def webhook(local_backend):
    lf.deps().docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    lf.deps().docs.set("marketplaces/test-market", {"brands": ["acme"]})
    return lf.client("ingest_webhook")


def _bodies(corpus: Path) -> list[tuple[str, bytes]]:
    """Each hostile listings line as a webhook body (JSON objects get the brand the marketplace may use)."""
    out = []
    for number, raw in enumerate((corpus / "listings/hostile.jsonl").read_bytes().splitlines(), start=1):
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            image = parsed.get("image")
            if isinstance(image, str) and image.startswith("../images/"):  # local paths become inline images
                data = (corpus / "listings" / image).read_bytes()
                parsed["image"] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
            raw = json.dumps({"brand": "acme", **parsed}).encode()
        out.append((f"line-{number}", raw))
    return out


def test_hostile_bodies_get_a_clear_4xx_never_a_500(webhook, hostile_corpus):
    answers = {}
    for name, body in _bodies(hostile_corpus):
        if body.startswith((b"[[[", b'{"a":{"a":')):
            continue  # deeply nested: test_deeply_nested_json_body_is_a_400
        response = webhook.post("/", data=body, headers=signed(body)[1])
        answers[name] = response.status_code
        assert response.status_code < 500, (name, response.status_code, body[:80])
        assert response.status_code == 202 or response.get_json()["error"], name
    assert sum(1 for s in answers.values() if s == 202) >= 1  # the RTL/zero-width title is a fine listing


def test_deeply_nested_json_body_is_a_400(webhook):
    """Regression (found by the hostile corpus): json.loads raises RecursionError, not ValueError."""
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        response = webhook.post("/", data=body, headers=signed(body)[1])
        assert response.status_code == 400, response.status_code
        assert "JSON" in response.get_json()["error"]


def test_invalid_utf8_body_is_a_400(webhook):
    body = b'{"brand": "acme", "listing_id": "x", "image": "data:image/png;base64,AA==", "title": "\xff\xfe"}'
    response = webhook.post("/", data=body, headers=signed(body)[1])
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/computeMetadata/v1/",
        "http://metadata.google.internal/",
        "http://127.0.0.1/x.jpg",
        "http://localhost/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://[::1]/x.jpg",
        "file:///etc/passwd",
    ],
)
def test_internal_image_urls_get_422(webhook, url):
    body = json.dumps({"brand": "acme", "listing_id": "ssrf", "image": url}).encode()
    response = webhook.post("/", data=body, headers=signed(body)[1])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == "image"


def test_hostile_inline_images_are_accepted_then_fail_cleanly_in_preprocess(
    webhook, hostile_corpus, image_cases
):
    """The webhook does not decode; preprocess does, in the deployed function code: each bad image ends as a
    failed scan with a reason, the function answers 2xx (acknowledged: retrying cannot help)."""
    chosen = [c for c in image_cases if c["expect"] == "bad_image"][:12]
    chosen += [c for c in image_cases if c["name"].endswith(("bomb_49mp_gray.png", "animated_3000.gif"))]
    accepted = {}
    for i, case in enumerate(chosen):
        data = (hostile_corpus / case["name"]).read_bytes()
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        body = json.dumps({"brand": "acme", "listing_id": f"h{i}", "image": uri}).encode()
        response = webhook.post("/", data=body, headers=signed(body)[1])
        assert response.status_code == 202, (case["name"], response.get_json())
        accepted[response.get_json()["scan_id"]] = case
    preprocess = lf.client("preprocess")
    for n, (_topic, data, attrs) in enumerate(lf.published(topics.SCAN_REQUESTED)):
        push = lf.push_body(data, attrs, f"m{n}", "projects/counterfeit-local/subscriptions/preprocess")
        assert preprocess.post(PUSH_PATH, json=push).status_code < 300
    for scan_id, case in accepted.items():
        scan = lf.deps().docs.get(f"brands/acme/scans/{scan_id}")
        if case["expect"] == "bad_image":
            assert scan["status"] == "failed" and scan["error"], (case["name"], scan.get("status"))
        else:
            assert scan["status"] not in ("failed", "dead_lettered"), (case["name"], scan)
