"""Cloud Vision backend against stored AnnotateImageResponse payloads (REST JSON as the API returns it); no
network. The client is a recording stand-in for google's ImageAnnotatorClient that replays a stored response."""

import io
import json
from pathlib import Path

import pytest
from google.cloud import vision
from PIL import Image

from common.bootstrap import build_deps, build_vision_backend
from common.brands import Brand, ReferenceImage
from common.messages import BlobRef, Preprocessed
from common.settings import Settings
from common.vision import synthetic as syn
from common.vision.backends import LocalVisionBackend
from common.vision.channel import run_logo_ocr_channel
from common.vision.cloud import CloudVisionBackend, parse_response
from common.vision.logo_extractor import LogoExtractor

DATA = Path(__file__).parents[1] / "data" / "vision" / "cloud"


def stored(name: str) -> vision.AnnotateImageResponse:
    # Strict parsing: an unknown field name in the stored payload would raise, so the files keep the real shape.
    return vision.AnnotateImageResponse.from_json((DATA / name).read_text())


class ReplayClient:
    """Replays one stored response and records every request it was given."""

    def __init__(self, name: str) -> None:
        self.response = stored(name)
        self.requests: list[dict] = []

    def annotate_image(self, request: dict) -> vision.AnnotateImageResponse:
        self.requests.append(request)
        return self.response


def test_stored_payloads_are_real_response_shapes():
    for path in DATA.glob("*.json"):
        msg = stored(path.name)
        assert json.loads(vision.AnnotateImageResponse.to_json(msg))  # round-trips through the proto
    assert stored("nike_shoe.json").logo_annotations[0].description == "Nike"


def test_parse_logo_text_objects_and_web():
    res = parse_response(stored("nike_shoe.json"), (640, 480), ["Nike"])
    assert [h.ref_id for h in res.logos] == ["cloud:Nike"]  # Adidas (0.31) is below the score floor
    hit = res.logos[0]
    assert hit.box == (212, 188, 206, 98) and hit.method == "cloud_vision_logo" and hit.confidence > 0.9
    assert [t.text for t in res.text][:2] == ["NIKE", "AIR MAX 90"]
    assert res.objects == [{"name": "Shoe", "score": 0.9114, "box": [77, 120, 486, 312]}]
    assert res.web["best_guess_labels"] == ["nike air max 90"]
    assert res.web["full_matching_images"] == ["https://static.example-shop.com/img/airmax90-white.jpg"]


def test_logo_of_another_brand_is_not_a_hit():
    assert parse_response(stored("nike_shoe.json"), (640, 480), ["ACME"]).logos == []


def test_scaled_upload_boxes_map_back_to_candidate_pixels():
    res = parse_response(stored("nike_shoe.json"), (1280, 960), ["Nike"], scale=0.5)
    assert res.logos[0].box == (424, 376, 412, 196)


def test_error_payload_becomes_job_errors():
    res = parse_response(stored("error_bad_image.json"), (10, 10), ["Nike"])
    assert "Bad image data" in res.errors["cloud"] and res.logos == [] and res.text == []


def _deps(tmp_path, client):
    deps = build_deps(Settings(home=tmp_path, vision_backend="cloud"))
    deps._vision = CloudVisionBackend(client=client)
    return deps


def _pre():
    return Preprocessed(
        working=BlobRef(bucket="w", name="acme/s.png"), sha256="0" * 64, format="PNG", width=640, height=480
    )


def _brand(refs):
    return Brand(
        "acme", "Nike Inc", ["Nike", "耐克"], [], [], [], None, None, None, None, "v1", references=refs
    )


def test_channel_with_cloud_backend_sends_only_the_candidate(tmp_path):
    client = ReplayClient("nike_shoe.json")
    deps = _deps(tmp_path, client)
    logo = syn.synthetic_logo(5)
    ref = ReferenceImage("logo:mark.png", "logo", "mark.png", tmp_path / "mark.png", "ef" * 32, logo)
    fields = LogoExtractor().extract(deps, "acme", ref)  # brand add: references never reach the backend
    assert client.requests == []

    candidate = syn.text_image("NIKE AIR MAX 90", size=(640, 480))
    signals = run_logo_ocr_channel(
        deps, _brand([{"ref_id": ref.ref_id, "kind": "logo", **fields}]), candidate, _pre(), None
    )
    assert len(client.requests) == 1
    sent = Image.open(io.BytesIO(client.requests[0]["image"]["content"])).convert("RGB")
    assert sent.size == candidate.size and sent.tobytes() == candidate.tobytes()
    assert set(client.requests[0]) == {"image", "features", "image_context"}
    assert signals["logo"].status == "fired" and signals["logo"].reference == "cloud:Nike"
    assert signals["logo"].detail["objects"][0]["name"] == "Shoe"
    assert signals["ocr_text"].status == "fired" and signals["ocr_text"].detail["rule"] == "nfkc_casefold"
    assert signals["barcode"].status == "not_run" and signals["color"].status == "not_run"


def test_cloud_lookalike_without_logo_and_chinese_text(tmp_path):
    deps = _deps(tmp_path, ReplayClient("lookalike_leet.json"))
    img = Image.new("RGB", (320, 200), "white")
    signals = run_logo_ocr_channel(deps, _brand([]), img, _pre(), None)
    assert signals["logo"].status == "clear"  # look-alike: no mark verified
    assert signals["ocr_text"].status == "fired" and signals["ocr_text"].detail["rule"] == "leetspeak"
    deps = _deps(tmp_path, ReplayClient("chinese_text.json"))
    signals = run_logo_ocr_channel(deps, _brand([]), img, _pre(), None)
    assert signals["ocr_text"].reference == "耐克"


def test_cloud_error_yields_error_signals_but_local_barcodes_still_run(tmp_path):
    deps = _deps(tmp_path, ReplayClient("error_bad_image.json"))
    brand = Brand("acme", "ACME", ["ACME"], [], [], ["ACME-QR-1"], None, None, None, None, "v1")
    signals = run_logo_ocr_channel(deps, brand, syn.qr_image("ACME-QR-1"), _pre(), None)
    assert signals["logo"].status == "error" and signals["ocr_text"].status == "error"
    assert signals["barcode"].status == "fired"


def test_backend_selection_is_local_by_default():
    assert isinstance(build_vision_backend(Settings()), LocalVisionBackend)
    backend = build_vision_backend(Settings(vision_backend="cloud"))
    assert isinstance(backend, CloudVisionBackend) and backend._client is None  # no client built at selection


def test_unreachable_client_is_an_error_not_a_crash(tmp_path):
    class Down:
        def annotate_image(self, request):
            raise ConnectionError("no route to vision.googleapis.com")

    deps = _deps(tmp_path, Down())
    signals = run_logo_ocr_channel(deps, _brand([]), Image.new("RGB", (50, 50)), _pre(), None)
    assert signals["logo"].status == "error" and "ConnectionError" in signals["logo"].reason


@pytest.mark.parametrize("name", ["nike_shoe.json", "lookalike_leet.json", "chinese_text.json"])
def test_parse_never_raises_on_stored_payloads(name):
    parse_response(stored(name), (640, 480), ["Nike", "耐克"])


def test_read_text_is_one_annotate_request_that_reads_the_text():
    """Cloud Vision reads logos and text together, so the port's second look is the same one request."""
    client = ReplayClient("nike_shoe.json")
    backend = CloudVisionBackend(client=client)
    assert backend.reads_text_apart is False
    res = backend.read_text(Image.new("RGB", (640, 480), "white"), ["Nike"], logo_boxes=[(0, 0, 10, 10)])
    assert len(client.requests) == 1
    assert [t.text for t in res.text][:2] == ["NIKE", "AIR MAX 90"]
