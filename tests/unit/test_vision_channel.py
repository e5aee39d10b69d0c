"""The logo_ocr channel end to end with the local backend and local adapters (real SIFT, RapidOCR, OpenCV)."""

import pytest
from PIL import Image, ImageDraw

from common.bootstrap import build_deps
from common.brands import Brand, ReferenceImage
from common.messages import BlobRef, ColorShare, Preprocessed, Signal
from common.settings import Settings
from common.vision import synthetic as syn
from common.vision.channel import run_logo_ocr_channel
from common.vision.logo_extractor import LogoExtractor

LOGO = syn.synthetic_logo(7)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    deps = build_deps(Settings(home=home))
    ref = ReferenceImage("logo:mark.png", "logo", "mark.png", home / "mark.png", "12" * 32, LOGO)
    doc = {
        "ref_id": ref.ref_id,
        "kind": "logo",
        "filename": "mark.png",
        **LogoExtractor().extract(deps, "acme", ref),
    }
    brand = Brand(
        brand_id="acme",
        display_name="ACME",
        trademarks=["ACME", "阿克米"],
        colors=["#D62828"],
        authorized_sellers=[],
        barcodes=["ACME-QR-1"],
        reference_price=None,
        currency=None,
        category=None,
        spi=None,
        version="v1",
        references=[doc],
    )
    return deps, brand


def pre(colors=()):
    return Preprocessed(
        working=BlobRef(bucket="w", name="acme/s.png"),
        sha256="0" * 64,
        format="PNG",
        width=900,
        height=600,
        dominant_colors=list(colors),
    )


def test_counterfeit_listing_photo_fires_logo_text_barcode_and_colour(setup):
    deps, brand = setup
    img = syn.text_image("A C M E  original", on=syn.background(0, size=(900, 600)), font_size=44)
    img = syn.paste(img, LOGO, 200, (40, 40))
    img = syn.paste(img, syn.qr_image("ACME-QR-1"), 180, (680, 380))
    signals = run_logo_ocr_channel(deps, brand, img, pre([ColorShare(rgb=(214, 40, 40), share=0.3)]), None)
    assert set(signals) == {"logo", "ocr_text", "color", "barcode"}
    assert all(isinstance(s, Signal) for s in signals.values())
    logo = signals["logo"]
    assert logo.status == "fired" and logo.reference == "logo:mark.png" and logo.score >= 0.7
    hit = logo.detail["hits"][0]
    assert hit["inliers"] >= 12 and hit["box"][0] < 120 and hit["box"][1] < 120
    text = signals["ocr_text"]
    assert text.status == "fired" and text.reference == "ACME" and text.detail["rule"] in {"spacing", "exact"}
    assert signals["barcode"].status == "fired" and signals["color"].status == "fired"
    assert "ocr" in signals["logo"].detail["timings_ms"]


def test_lookalike_without_mark_or_name_stays_clear(setup):
    deps, brand = setup
    img = syn.background(3, size=(900, 600))
    ImageDraw.Draw(img).rectangle((100, 100, 400, 300), fill=(214, 40, 40))  # brand colour, nothing else
    signals = run_logo_ocr_channel(deps, brand, img, pre([ColorShare(rgb=(214, 40, 40), share=0.2)]), None)
    assert signals["logo"].status == "clear" and signals["logo"].score == 0.0
    assert signals["ocr_text"].status == "clear"
    assert signals["barcode"].status == "clear"
    assert signals["color"].status == "fired"  # auxiliary only: fusion must not decide on it


def test_brand_without_logos_or_codes_reports_not_run(setup):
    deps, _ = setup
    bare = Brand("bare", "Bare", ["Bare Co"], [], [], [], None, None, None, None, "v1", references=[])
    signals = run_logo_ocr_channel(deps, bare, Image.new("RGB", (300, 200), "white"), pre(), None)
    assert signals["logo"].status == "not_run" and signals["barcode"].status == "not_run"
    assert signals["color"].status == "not_run" and signals["ocr_text"].status == "clear"


def test_missing_feature_blob_is_a_logo_error_not_a_crash(setup):
    deps, brand = setup
    broken_ref = dict(brand.references[0], logo_features="acme/features/logo-v1/missing.npz")
    broken = Brand(
        "acme", "ACME", ["ACME"], [], [], [], None, None, None, None, "v-missing", references=[broken_ref]
    )
    signals = run_logo_ocr_channel(deps, broken, Image.new("RGB", (300, 200), "white"), pre(), None)
    assert signals["logo"].status == "not_run"  # the only logo's features are gone: nothing to check
