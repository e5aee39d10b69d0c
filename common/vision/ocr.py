"""Offline OCR with RapidOCR 3.x (PaddleOCR detection + recognition as ONNX on onnxruntime, from PyPI
`rapidocr`): Latin and Chinese text, no network.

Why the models are pinned by path: `rapidocr` downloads any model it does not find next to itself. We always
hand it the exact files its wheel ships (PP-OCRv6 small det + rec, and the direction classifier) and check each
against the SHA-256 in rapidocr's own model registry (``default_models.yaml``), so a missing or damaged file is
an :class:`OcrUnavailable` naming the fix, never a download attempt or a traceback. ``PP-OCRv4`` (the models of
the old ``rapidocr-onnxruntime`` 1.4.4 wheel, which rapidocr 3.x fetches from the network) can be run from a
directory for comparison in scripts/bench_vision.py.

Settings measured with scripts/bench_vision.py (docs/vision.md "OCR"): ``Det.limit_type="max"`` with the
detector's longest side at :data:`DET_LIMIT_SIDE`, no direction classifier. The engine is built once per
process, lazily, because loading the ONNX sessions costs ~1 s and the CLI must not pay it unless the channel runs.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from common.embedding.manifest import sha256_file

DEFAULT_OCR_VERSION = "PP-OCRv6"
DET_LIMIT_SIDE = 960  # longest side the text detector sees
INPUT_MAX_SIDE = 1280  # shrink before anything else: recognition crops come from this copy
MIN_TEXT_SCORE = 0.5  # RapidOCR's own default recognition-confidence cut-off
REINSTALL_FIX = "pip install --force-reinstall --no-deps 'rapidocr==3.10.0'"

# (ocr_version, task) -> key in rapidocr's default_models.yaml (its sha256 is the expected checksum) and the
# file name the rapidocr wheel (v6) or the rapidocr-onnxruntime 1.4.4 wheel (v4) ships it under.
MODEL_FILES: dict[str, dict[str, tuple[str, str]]] = {
    "PP-OCRv6": {
        "det": ("multi_PP-OCRv6_det_small", "PP-OCRv6_det_small.onnx"),
        "rec": ("multi_PP-OCRv6_rec_small", "PP-OCRv6_rec_small.onnx"),
        "cls": ("ch_ppocr_mobile_v2.0_cls_mobile", "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
    },
    "PP-OCRv4": {
        "det": ("ch_PP-OCRv4_det_mobile", "ch_PP-OCRv4_det_infer.onnx"),
        "rec": ("ch_PP-OCRv4_rec_mobile", "ch_PP-OCRv4_rec_infer.onnx"),
        "cls": ("ch_ppocr_mobile_v2.0_cls_mobile", "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    },
}
_REGISTRY_VERSION = {"cls": "PP-OCRv4"}  # rapidocr files the direction classifier under v4 for every version


class OcrUnavailable(RuntimeError):
    """OCR cannot run on this install (package or model file missing or damaged); the message names the fix."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, w, h in the input image's pixels


@dataclass(frozen=True)
class OcrModels:
    """The three ONNX files of one model set and where they are."""

    version: str
    det: Path
    rec: Path
    cls: Path

    def files(self) -> dict[str, Path]:
        return {"det": self.det, "rec": self.rec, "cls": self.cls}


def bundled_models_dir() -> Path:
    """``rapidocr/models`` of the installed package (where its wheel puts the PP-OCRv6 files)."""
    if importlib.util.find_spec("rapidocr") is None:
        raise OcrUnavailable(
            f"the OCR package rapidocr is not installed; fix: {REINSTALL_FIX.replace(' --no-deps', '')}"
        )
    return Path(str(importlib.resources.files("rapidocr") / "models"))


def ocr_models(version: str = DEFAULT_OCR_VERSION, models_dir: Path | None = None) -> OcrModels:
    """The model set ``version`` from ``models_dir`` (default: the files inside the rapidocr package)."""
    if version not in MODEL_FILES:
        raise OcrUnavailable(f"unknown OCR model set {version!r} (known: {', '.join(MODEL_FILES)})")
    directory = models_dir if models_dir is not None else bundled_models_dir()
    names = {task: directory / name for task, (_, name) in MODEL_FILES[version].items()}
    return OcrModels(version=version, det=names["det"], rec=names["rec"], cls=names["cls"])


@functools.cache
def _registry() -> dict[str, Any]:
    import yaml

    path = Path(str(importlib.resources.files("rapidocr") / "default_models.yaml"))
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def expected_sha256(version: str, task: str) -> str:
    key = MODEL_FILES[version][task][0]
    reg_version = _REGISTRY_VERSION.get(task, version)
    try:
        return str(_registry()["onnxruntime"][reg_version][task][key]["SHA256"]).lower()
    except (KeyError, TypeError) as exc:
        raise OcrUnavailable(
            f"rapidocr's model registry has no {reg_version} {task} model {key}; this code expects rapidocr 3.10 "
            f"(fix: {REINSTALL_FIX.replace(' --no-deps', '')})"
        ) from exc


def verify_ocr_models(models: OcrModels) -> None:
    """Raise :class:`OcrUnavailable` unless every file exists and has the registry's SHA-256."""
    for task, path in models.files().items():
        if not path.is_file():
            raise OcrUnavailable(f"OCR {models.version} {task} model {path} is missing; fix: {REINSTALL_FIX}")
        actual = sha256_file(path)
        want = expected_sha256(models.version, task)
        if actual != want:
            raise OcrUnavailable(
                f"OCR {models.version} {task} model {path} is damaged (sha256 {actual[:12]}…, expected "
                f"{want[:12]}…); fix: {REINSTALL_FIX}"
            )


def build_rapidocr(
    models: OcrModels, det_limit_side: int = DET_LIMIT_SIDE, det_limit_type: str = "max"
) -> Any:
    """A ``rapidocr.RapidOCR`` on onnxruntime that only ever reads ``models`` (verified first)."""
    verify_ocr_models(models)
    try:
        from rapidocr import EngineType, OCRVersion, RapidOCR
    except ImportError as exc:
        raise OcrUnavailable(
            f"cannot import rapidocr ({exc}); fix: {REINSTALL_FIX.replace(' --no-deps', '')}"
        ) from exc
    version = OCRVersion(models.version)
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "Global.text_score": MIN_TEXT_SCORE,
        "Global.model_root_dir": str(models.det.parent),  # never the package dir: rapidocr mkdirs it
        "Det.limit_type": det_limit_type,
        "Det.limit_side_len": det_limit_side,
    }
    for section, task in (("Det", "det"), ("Rec", "rec"), ("Cls", "cls")):
        params[f"{section}.engine_type"] = EngineType.ONNXRUNTIME
        params[f"{section}.model_path"] = str(models.files()[task])
        if section != "Cls":
            params[f"{section}.ocr_version"] = version
    try:
        engine = RapidOCR(params=params)
        # rapidocr opens the sessions on first use; open them now so a bad file fails here, not mid-scan.
        engine._load_det_model()
        engine._load_rec_model()
    except Exception as exc:  # onnxruntime / rapidocr raise many types for an unreadable model
        raise OcrUnavailable(
            f"cannot load the OCR {models.version} models ({exc}); fix: {REINSTALL_FIX}"
        ) from exc
    return engine


class RapidOcrEngine:
    """Thread-safe lazy wrapper; one ONNX session set per process."""

    def __init__(
        self,
        models: OcrModels | None = None,
        det_limit_side: int = DET_LIMIT_SIDE,
        det_limit_type: str = "max",
    ) -> None:
        self._models = models
        self._det_limit = (det_limit_side, det_limit_type)
        self._engine: Any = None
        self._failure: OcrUnavailable | None = None  # kept: a broken install must not re-hash per image
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._engine is None:
                try:
                    self._engine = build_rapidocr(self._models or ocr_models(), *self._det_limit)
                except OcrUnavailable as exc:
                    self._failure = exc
                    raise
            return self._engine

    def load(self) -> None:
        """Open the ONNX sessions now (doctor, benchmarks); raises :class:`OcrUnavailable`."""
        self._get()

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Lines recognised with at least :data:`MIN_TEXT_SCORE`, boxes in ``image`` pixels."""
        return [line for line in self.read_all(image) if line.confidence >= MIN_TEXT_SCORE]

    def read_all(self, image: Image.Image) -> list[OcrLine]:
        """Every box the detector found with its recognition, however unsure: the low-confidence ones are
        where small or faint text probably is (common.vision.ocr_zoom reads them again, enlarged)."""
        rgb = np.asarray(image.convert("RGB"))
        scale = min(1.0, INPUT_MAX_SIDE / max(rgb.shape[:2]))
        if scale < 1.0:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out = self._get()(np.ascontiguousarray(rgb[:, :, ::-1]), use_cls=False, text_score=0.0)
        boxes = getattr(out, "boxes", None)
        txts = getattr(out, "txts", None)
        scores = getattr(out, "scores", None)
        if boxes is None or txts is None or scores is None:
            return []
        lines: list[OcrLine] = []
        for points, text, conf in zip(boxes, txts, scores, strict=True):
            pts = np.asarray(points, dtype=np.float64) / scale
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            box = (int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))
            lines.append(OcrLine(text=str(text), confidence=float(conf), box=box))
        return lines
