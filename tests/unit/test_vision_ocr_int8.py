"""The OCR engine's text detector, coarse look included, is the shipped int8 model (scripts/quantize_ocr_det.py),
checked against its JSON before use; it reads what the float detector reads on the channel's texts (a faint
wordmark among them), and a missing or damaged file is an OcrUnavailable that names the fix."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import common.vision.ocr as ocr_module
from common.vision import synthetic as syn
from common.vision.ocr import (
    COARSE_THRESH,
    INT8_COARSE_THRESH,
    INT8_DET,
    OcrUnavailable,
    RapidOcrEngine,
    expected_sha256,
    int8_detector,
)
from common.vision.ocr_zoom import has_brand_text, read_with_zoom

FLOAT_DET = "PP-OCRv6_det_small.onnx"


def _session_path(engine: RapidOcrEngine) -> str:
    return str(engine._get().text_det.session.session._model_path)


def test_the_shipped_int8_detector_is_built_from_this_installs_float_detector():
    path = int8_detector()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert path.name == INT8_DET and meta["file"] == INT8_DET
    assert meta["source_sha256"] == expected_sha256("PP-OCRv6", "det")


def test_the_engine_detects_with_int8_by_default_and_float_on_request():
    shipped = RapidOcrEngine()
    assert Path(_session_path(shipped)).name == INT8_DET
    assert shipped._get().coarse_session is None  # the text gate's look on the int8 session too
    assert shipped.coarse_thresh == INT8_COARSE_THRESH < COARSE_THRESH
    before = RapidOcrEngine(int8_det=False)
    assert Path(_session_path(before)).name == FLOAT_DET and before._get().coarse_session is None
    assert before.coarse_thresh == COARSE_THRESH
    float_look = RapidOcrEngine(int8_coarse=False)
    assert Path(float_look._get().coarse_session._model_path).name == FLOAT_DET
    assert float_look.coarse_thresh == COARSE_THRESH


def test_a_float_coarse_look_beside_the_int8_detector_is_the_float_detectors_map():
    image = syn.small_wordmark_scene("ORBIK", 5004)[0]
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    mixed = RapidOcrEngine(int8_coarse=False).text_map(bgr, 480)
    assert np.array_equal(mixed, RapidOcrEngine(int8_det=False).text_map(bgr, 480))


@pytest.mark.parametrize(
    "image, mark",
    [
        (syn.text_image("ACME Rocket Skates"), "ACME"),
        (syn.small_wordmark_scene("NORDA", 1)[0], "NORDA"),
    ],
    ids=["label", "small faint wordmark"],
)
def test_int8_reads_the_brand_text_the_float_detector_reads(image, mark):
    found = {}
    for int8 in (False, True):
        lines, _ = read_with_zoom(RapidOcrEngine(int8_det=int8), image, [mark])
        found[int8] = has_brand_text(lines, [mark])
    assert found == {False: True, True: True}


def test_a_damaged_or_missing_int8_detector_names_the_fix(tmp_path, monkeypatch):
    for name in (INT8_DET, Path(INT8_DET).with_suffix(".json").name):
        shutil.copy(int8_detector().parent / name, tmp_path / name)
    monkeypatch.setattr(ocr_module, "MODELS_DIR", tmp_path)
    model = tmp_path / INT8_DET
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(
        OcrUnavailable, match=r"int8 OCR text detector .* is damaged; fix: .*quantize_ocr_det"
    ):
        int8_detector()
    model.unlink()
    with pytest.raises(OcrUnavailable, match=r"int8 OCR text detector .* is missing; fix:"):
        int8_detector()
