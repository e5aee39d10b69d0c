"""The `authenticate` HTTP function through functions-framework's test client, on the local adapters."""

from __future__ import annotations

import base64
import functools

import functions_framework
import pytest

from common.authenticate import synthetic as syn
from tests.support import local_functions as lf
from tests.support.webhooks import MARKETPLACE, signed


@functools.cache
def photo(spi: float | None) -> str:
    if spi is None:  # leather, no card
        data = syn.photograph(syn.leather(5, (0.4, 0.3, 0.2)), syn.Camera(), 5)
    else:
        data = syn.seam_photo(spi, seed=int(spi), cam=syn.Camera(tilt_deg=12, roll_deg=20))
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@pytest.fixture
def client(local_backend):
    docs = lf.deps().docs
    models = {"tote": {"spi": 12.0, "required_regions": ["seam"]}}
    docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1", "models": models})
    docs.set("brands/other", {"brand": "other", "display_name": "Other", "version": "v1", "models": models})
    docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"]})
    app = functions_framework.create_app(
        "authenticate", str(lf.ROOT / "functions/authenticate/main.py"), "http"
    )
    return app.test_client()


def _body(**extra) -> dict:
    return {"brand": "acme", "model": "tote", "photos": [{"region": "seam", "image": photo(12.0)}]} | extra


def test_genuine_seam_is_authentic_with_the_measured_spi_and_a_pdf(client) -> None:
    response = client.post("/", data=signed(_body(pdf=True))[0], headers=signed(_body(pdf=True))[1])
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["result"] == "authentic"
    seam = report["regions"][0]["photos"][0]
    assert abs(seam["measured"]["spi"] - 12.0) < 0.5
    assert seam["genuine"]["zone"][0] < 12.0 < seam["genuine"]["zone"][1]
    assert base64.b64decode(report["pdf_base64"]).startswith(b"%PDF")


def test_low_spi_seam_is_suspect_and_a_photo_without_card_asks_for_a_retake(client) -> None:
    body = _body(photos=[{"region": "seam", "image": photo(8.0)}, {"region": "lining", "image": photo(None)}])
    report = client.post("/", data=(s := signed(body))[0], headers=s[1]).get_json()
    assert report["result"] == "suspect"
    by_region = {r["region"]: r for r in report["regions"]}
    assert by_region["seam"]["status"] == "suspect"
    assert by_region["lining"]["status"] == "inconclusive"
    assert by_region["lining"]["photos"][0]["reason"].startswith("retake: the scale card is not in the photo")


def test_missing_required_region_is_never_authentic(client) -> None:
    body = _body(photos=[{"region": "lining", "image": photo(12.0)}])
    report = client.post("/", data=(s := signed(body))[0], headers=s[1]).get_json()
    assert report["missing_required_regions"] == ["seam"] and report["result"] == "inconclusive"


def test_signature_replay_tenant_and_input_errors(client) -> None:
    raw, headers = signed(_body())
    assert client.get("/").status_code == 405
    assert client.post("/", data=raw, headers={"X-Marketplace": MARKETPLACE}).status_code == 401
    assert client.post("/", data=raw + b" ", headers=headers).status_code == 401
    assert client.post("/", data=raw, headers=headers).status_code == 200
    replay = client.post("/", data=raw, headers=headers)
    assert replay.status_code == 401 and "replayed" in replay.get_json()["error"]
    other = client.post("/", data=(s := signed(_body(brand="other")))[0], headers=s[1])
    assert other.status_code == 403  # registered brand, but not for this marketplace
    unknown = client.post("/", data=(s := signed(_body(model="nope")))[0], headers=s[1])
    assert unknown.status_code == 422 and "known models: tote" in unknown.get_json()["error"]
    bad_region = client.post("/", data=(s := signed(_body(photos=[{"region": "../x", "image": photo(12.0)}])))[0],
                             headers=s[1])  # fmt: skip
    assert bad_region.status_code == 422 and bad_region.get_json()["field"] == "photos.0.region"
    bad_image = client.post("/", data=(s := signed(_body(photos=[{"region": "seam", "image": "file:///etc"}])))[0],
                            headers=s[1])  # fmt: skip
    assert bad_image.status_code == 422 and bad_image.get_json()["field"] == "photos.0.image"
    assert client.post("/", data=(s := signed(b"[1]"))[0], headers=s[1]).status_code == 400
    bomb = client.post("/", data=(s := signed(b"[" * 50 + b"]" * 50))[0], headers=s[1])
    assert bomb.status_code == 400 and "nested deeper" in bomb.get_json()["error"]
