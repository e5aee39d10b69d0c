"""The OCR text gate: the detector runs only on the text-like regions of a coarse look and still reads the text
there, detects the whole frame when regions cover most of it or none shows, the ocr_text signal says where it
ran, and the engine is built once per process."""

import numpy as np

from common.vision import synthetic as syn
from common.vision.backends import LocalVisionBackend
from common.vision.channel import ocr_text_signal
from common.vision.ocr import RapidOcrEngine, shared_engine_count
from common.vision.ocr_gate import (
    FULL_FRAME_SHARE,
    MAX_REGIONS,
    merge_regions,
    plan_scope,
    regions_from_map,
)
from common.vision.ocr_zoom import has_brand_text, read_with_zoom
from common.vision.port import VisionResult

ENGINE = RapidOcrEngine()


def test_text_on_a_photo_is_read_from_regions_as_from_the_whole_frame():
    img = syn.text_image("ACME Rocket Skates", on=syn.background(1, (800, 600)), font_size=56)
    lines, scope = ENGINE.read_scoped(img)
    assert scope.mode == "regions" and 0 < scope.share < FULL_FRAME_SHARE and scope.peak is not None
    whole = RapidOcrEngine(gate=False).read_all(img)
    assert {ln.text for ln in lines if ln.confidence >= 0.5} == {
        ln.text for ln in whole if ln.confidence >= 0.5
    }
    word = next(ln for ln in lines if "ACME" in ln.text)
    match = next(ln for ln in whole if "ACME" in ln.text)
    assert all(abs(a - b) <= 6 for a, b in zip(word.box, match.box, strict=True))  # same place, image pixels
    assert any(
        rx <= word.box[0] and word.box[0] + word.box[2] <= rx + rw and ry <= word.box[1] < ry + rh
        for rx, ry, rw, rh in scope.regions
    )


def test_a_frame_without_text_like_regions_is_detected_whole():
    """Skipping it lost a faint wordmark that the whole-frame pass and the zoom read (ocr_gate's docstring)."""
    bgr = np.zeros((600, 900, 3), np.uint8)
    scope = plan_scope(bgr, lambda img, side: np.full((320, 480), 0.01, np.float32))
    assert scope.mode == "frame" and scope.share == 1.0 and scope.regions == []
    assert "no text-like region" in scope.reason and "p=0.010" in scope.reason and scope.coarse_ms >= 0
    img, _ = syn.small_wordmark_scene("NORDA", 2)
    # the float look (p = 0.055 at most, under its 0.1 cut) shows no region: the frame is detected whole
    lines, report = read_with_zoom(RapidOcrEngine(int8_coarse=False), img, ["NORDA"])
    assert report.first_pass.mode == "frame" and has_brand_text(lines, ["NORDA"])
    # the shipped int8 look, at its own cut (ocr.INT8_COARSE_THRESH), finds the word's region and reads it there
    lines, report = read_with_zoom(ENGINE, img, ["NORDA"])
    assert report.first_pass.mode == "regions" and has_brand_text(lines, ["NORDA"])


def test_the_backend_reports_where_the_detector_ran():
    img = syn.text_image("ACME original", on=syn.background(0, (900, 600)), font_size=48)
    result = LocalVisionBackend().analyze(img, [], ["ACME"])
    assert result.ocr_scope["mode"] == "regions" and result.ocr_scope["reason"]
    assert "ocr_coarse" in result.timings_ms
    signal = ocr_text_signal(result, ["ACME"])
    assert signal.status == "fired" and signal.detail["scope"] == result.ocr_scope


def test_small_images_and_text_everywhere_are_detected_whole():
    small = np.zeros((300, 400, 3), np.uint8)
    assert plan_scope(small, lambda bgr, side: np.ones((1, 1))).mode == "frame"
    big = np.zeros((600, 800, 3), np.uint8)
    scope = plan_scope(big, lambda bgr, side: np.full((352, 480), 0.9, np.float32))
    assert scope.mode == "frame" and "cover" in scope.reason and scope.peak is not None and scope.peak > 0.89


def test_regions_are_padded_mapped_to_image_pixels_and_merged():
    prob = np.zeros((100, 200), np.float32)
    prob[40:46, 20:80] = 0.6  # a line of text, 6 map px tall
    prob[41:45, 84:120] = 0.2  # its next word, fainter: one region with the first once padded
    prob[90:92, 190:192] = 0.05  # below the threshold: ignored
    [region] = regions_from_map(prob, (800, 400), (4.0, 4.0))
    x, y, w, h = region
    assert x < 20 * 4 and x + w > 120 * 4 and y < 40 * 4 and y + h > 46 * 4  # covers both words, padded
    assert x >= 0 and y >= 0 and x + w <= 800 and y + h <= 400
    many = [(i * 50, 0, 20, 20) for i in range(MAX_REGIONS + 3)]
    merged = merge_regions(many)
    assert len(merged) == MAX_REGIONS
    assert all(any(m[0] <= r[0] and r[0] + r[2] <= m[0] + m[2] for m in merged) for r in many)


def test_the_engine_is_built_once_per_process_and_configuration():
    ENGINE.load()
    before = shared_engine_count()
    again = RapidOcrEngine()
    again.load()
    LocalVisionBackend().ocr.load()
    assert shared_engine_count() == before and again._get() is ENGINE._get()
    assert isinstance(VisionResult().ocr_scope, dict)
