"""The OCR engine reads only the model files the rapidocr wheel ships (checked by SHA-256), never downloads, and
a missing or damaged model is an OcrUnavailable that names the fix, also inside the logo_ocr channel."""

import shutil
from pathlib import Path

import pytest
from PIL import Image

from common.vision import synthetic as syn
from common.vision.backends import LocalVisionBackend
from common.vision.ocr import (
    DEFAULT_OCR_VERSION,
    OcrUnavailable,
    RapidOcrEngine,
    bundled_models_dir,
    ocr_models,
    verify_ocr_models,
)


def _copy_models(tmp_path: Path) -> Path:
    for path in ocr_models().files().values():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_bundled_models_are_the_rapidocr_wheels_pp_ocrv6_files():
    models = ocr_models()
    assert models.version == DEFAULT_OCR_VERSION == "PP-OCRv6"
    assert all(path.parent == bundled_models_dir() for path in models.files().values())
    verify_ocr_models(models)  # sha256 from rapidocr's own registry


def test_engine_never_downloads(monkeypatch):
    import requests
    from rapidocr.utils.download_file import DownloadFile

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a model")

    monkeypatch.setattr(DownloadFile, "run", refuse)
    monkeypatch.setattr(requests, "get", refuse)
    lines = RapidOcrEngine().read(syn.text_image("ACME Rocket Skates"))
    assert "ACME" in " ".join(line.text for line in lines)


def test_missing_model_names_the_fix(tmp_path):
    models_dir = _copy_models(tmp_path)
    (models_dir / ocr_models().rec.name).unlink()
    with pytest.raises(OcrUnavailable, match=r"rec model .* is missing; fix: pip install --force-reinstall"):
        RapidOcrEngine(ocr_models(models_dir=models_dir)).load()


def test_damaged_model_names_the_fix_and_is_not_retried_per_image(tmp_path, monkeypatch):
    models_dir = _copy_models(tmp_path)
    det = models_dir / ocr_models().det.name
    det.write_bytes(det.read_bytes()[:1000])
    engine = RapidOcrEngine(ocr_models(models_dir=models_dir))
    with pytest.raises(OcrUnavailable, match=r"det model .* is damaged .*; fix: pip install"):
        engine.read(Image.new("RGB", (64, 32), "white"))
    import common.vision.ocr as ocr_module

    monkeypatch.setattr(ocr_module, "sha256_file", lambda path: pytest.fail("re-hashed after a failed load"))
    with pytest.raises(OcrUnavailable):
        engine.read(Image.new("RGB", (64, 32), "white"))


def test_channel_reports_a_broken_ocr_install_as_an_error_with_the_fix(tmp_path):
    models_dir = _copy_models(tmp_path)
    (models_dir / ocr_models().det.name).unlink()
    backend = LocalVisionBackend()
    backend.ocr = RapidOcrEngine(ocr_models(models_dir=models_dir))
    result = backend.analyze(syn.text_image("ACME"), [], ["ACME"])
    assert "OcrUnavailable" in result.errors["ocr"] and "fix: pip install" in result.errors["ocr"]
    assert result.text == []


def test_unknown_model_set_is_refused():
    with pytest.raises(OcrUnavailable, match="unknown OCR model set"):
        ocr_models("PP-OCRv9")
