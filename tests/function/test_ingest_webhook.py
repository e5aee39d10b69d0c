"""The signed marketplace webhook through functions-framework's HTTP test client, on the local adapters."""

from __future__ import annotations

import base64
import json
import time

import pytest

from common import topics
from common.messages import ScanRequested
from tests.support import local_functions as lf
from tests.support.http_server import LoopbackServer
from tests.support.kits import jpeg_bytes, pattern_image
from tests.support.webhooks import MARKETPLACE, SECRETS, signed

IMAGE = jpeg_bytes(pattern_image(7))
INLINE = "data:image/jpeg;base64," + base64.b64encode(IMAGE).decode()


@pytest.fixture
def webhook(local_backend):
    lf.deps().docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"]})
    return lf.client("ingest_webhook")


def _listing(**extra) -> dict:
    return {
        "brand": "acme",
        "listing_id": "mkt-42",
        "image": INLINE,
        "title": "ACME runner",
        "price": 20.0,
    } | extra


def _post(client, body, headers):
    return client.post("/", data=body, headers=headers)


def test_signed_listing_is_accepted_with_its_scan_id(webhook):
    response = _post(webhook, *signed(_listing()))
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "accepted" and answer["listing_id"] == "mkt-42"
    sent = lf.published(topics.SCAN_REQUESTED)
    assert len(sent) == 1
    msg = ScanRequested.from_pubsub(sent[0][1], sent[0][2])
    assert msg.scan_id == answer["scan_id"] and msg.brand_id == "acme"
    assert msg.listing.marketplace == MARKETPLACE
    assert msg.listing.image.startswith("data:(inline")  # the base64 never rides in messages or documents
    assert lf.deps().blobs.read(msg.source.bucket, msg.source.name) == IMAGE


def test_the_body_cannot_claim_another_marketplace(webhook):
    _post(webhook, *signed(_listing(marketplace="someone-else")))
    msg = ScanRequested.from_pubsub(*lf.published(topics.SCAN_REQUESTED)[0][1:])
    assert msg.listing.marketplace == MARKETPLACE


def test_same_listing_resent_maps_to_the_same_scan_and_changed_content_to_a_new_one(webhook):
    first = _post(webhook, *signed(_listing(), timestamp=int(time.time()) - 10)).get_json()["scan_id"]
    again = _post(webhook, *signed(_listing())).get_json()["scan_id"]  # re-signed resend
    assert again == first
    assert len(lf.published(topics.SCAN_REQUESTED)) == 1
    changed = _post(webhook, *signed(_listing(price=25.0))).get_json()["scan_id"]
    assert changed != first


def test_old_secret_still_accepted_during_rotation(webhook):
    assert _post(webhook, *signed(_listing(), secret=SECRETS[1])).status_code == 202


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda body, headers: (body + b" ", headers), "does not match"),
        (lambda body, headers: (body, headers | {"X-Signature": "t=1,v1=zz"}), "malformed"),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "X-Signature"}), "missing"),
        (lambda body, headers: (body, headers | {"X-Marketplace": "unknown"}), "unknown"),
        (lambda body, headers: signed(json.loads(body), secret="wrong-secret"), "does not match"),
        (lambda body, headers: signed(json.loads(body), timestamp=int(time.time()) - 3600), "tolerance"),
    ],
)
def test_unsigned_or_tampered_requests_get_401(webhook, tamper, message):
    body, headers = tamper(*signed(_listing()))
    response = _post(webhook, body, headers)
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert SECRETS[0] not in response.get_data(as_text=True)
    assert lf.published() == []


def test_replayed_request_gets_401(webhook):
    body, headers = signed(_listing())
    assert _post(webhook, body, headers).status_code == 202
    replay = _post(webhook, body, headers)
    assert replay.status_code == 401 and "replayed" in replay.get_json()["error"]


def test_invalid_json_and_field_errors(webhook):
    assert _post(webhook, *signed(b"{not json")).status_code == 400
    assert _post(webhook, *signed(b"[1, 2]")).status_code == 400
    response = _post(webhook, *signed({"brand": "acme", "listing_id": "bad id with spaces", "price": -3}))
    assert response.status_code == 422
    fields = {f["field"] for f in response.get_json()["fields"]}
    assert {"listing_id", "image", "price"} <= fields
    no_brand = _post(webhook, *signed({"listing_id": "x", "image": INLINE}))
    assert no_brand.status_code == 422 and no_brand.get_json()["fields"][0]["field"] == "brand"
    # a brand the marketplace is not registered for is a 403 whether or not it exists (nothing leaks)
    unregistered = _post(webhook, *signed(_listing(brand="nobody")))
    assert unregistered.status_code == 403 and "not registered" in unregistered.get_json()["error"]
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme", "ghost"]})
    unknown = _post(webhook, *signed(_listing(brand="ghost")))
    assert unknown.status_code == 422 and "unknown brand" in unknown.get_json()["error"]


def test_bad_images_get_422_with_a_reason(webhook):
    for image, reason in [
        ("data:image/jpeg;base64,@@@@", "not valid base64"),
        ("data:text/html;base64,PGI+", "data URIs"),
        ("gs://counterfeit-references/acme/secret.jpg", "http(s) URL"),
        ("/etc/passwd", "http(s) URL"),
        ("http://169.254.169.254/computeMetadata/v1/", "metadata"),
        ("http://127.0.0.1:9/a.jpg", "loopback"),
    ]:
        response = _post(webhook, *signed(_listing(image=image)))
        assert response.status_code == 422, image
        assert reason in response.get_json()["error"], (image, response.get_json())
    assert lf.published() == []


def test_oversized_body_gets_413(webhook, monkeypatch):
    monkeypatch.setenv("MAX_IMAGE_BYTES", "1000")
    lf.reset_caches()
    lf.deps().docs.set("brands/acme", {"brand": "acme"})
    response = _post(webhook, *signed(_listing(image="data:image/jpeg;base64," + "A" * 80_000)))
    assert response.status_code == 413


def test_image_url_fetched_when_private_addresses_are_allowed(webhook, monkeypatch):
    monkeypatch.setenv("COUNTERFEIT_FETCH_ALLOW_PRIVATE", "1")
    lf.reset_caches()
    lf.deps().docs.set("brands/acme", {"brand": "acme"})
    server = LoopbackServer().start()
    try:
        url = server.bytes_route("/listing.jpg", IMAGE)
        response = _post(webhook, *signed(_listing(image=url)))
        assert response.status_code == 202, response.get_json()
        msg = ScanRequested.from_pubsub(*lf.published(topics.SCAN_REQUESTED)[0][1:])
        assert msg.listing.image == url
        assert lf.deps().blobs.read(msg.source.bucket, msg.source.name) == IMAGE
    finally:
        server.stop()


def test_only_post_is_allowed(webhook):
    assert webhook.get("/").status_code == 405
