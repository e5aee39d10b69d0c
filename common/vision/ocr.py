"""Offline OCR with RapidOCR 3.x (PaddleOCR detection + recognition as ONNX on onnxruntime, from PyPI
`rapidocr`): Latin and Chinese text, no network.

Why the models are pinned by path: `rapidocr` downloads any model it does not find next to itself. We always
hand it the exact files its wheel ships (PP-OCRv6 small det + rec, and the direction classifier) and check each
against the SHA-256 in rapidocr's own model registry (``default_models.yaml``), so a missing or damaged file is
an :class:`OcrUnavailable` naming the fix, never a download attempt or a traceback. ``PP-OCRv4`` (the models of
the old ``rapidocr-onnxruntime`` 1.4.4 wheel, which rapidocr 3.x fetches from the network) can be run from a
directory for comparison in scripts/bench_vision.py.

Settings measured with scripts/bench_vision.py (docs/vision.md "OCR"): ``Det.limit_type="max"`` with the
detector's longest side at :data:`DET_LIMIT_SIDE`, no direction classifier (never loaded). The engine is built
once per process and configuration (:func:`shared_rapidocr`), lazily, because loading the ONNX sessions costs
~1 s and the CLI must not pay it unless the channel runs. Its ONNX sessions are opened again with the process's
options (``common.native_threads``: the thread budget, threads that sleep instead of spin-waiting): rapidocr's
own spin, and on 2 cores shared with the embedding model and other workers that cost 1/3 more CPU for the same
text (docs/vision.md "OCR: where the detector runs"). Where the detector runs on each image: common.vision.ocr_gate.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from common.embedding.manifest import MODELS_DIR, sha256_file
from common.native_threads import ort_session_options
from common.vision.ocr_gate import COARSE_SIDE, COARSE_THRESH, OcrScope, plan_scope

DEFAULT_OCR_VERSION = "PP-OCRv6"
DET_LIMIT_SIDE = 960  # longest side the text detector sees
INPUT_MAX_SIDE = 1280  # shrink before anything else: recognition crops come from this copy
MIN_TEXT_SCORE = 0.5  # RapidOCR's own default recognition-confidence cut-off
REINSTALL_FIX = "pip install --force-reinstall --no-deps 'rapidocr==3.10.0'"
# The text detector quantised to int8 (scripts/quantize_ocr_det.py, from the PP-OCRv6 small detector above):
# ~3.5x less CPU per pixel than float32 on AVX-512 VNNI, for the text gate's coarse look and the text it reads
# (regions, whole frames, zoomed crops) alike. Package data of ``common`` like the embedding model, checked
# against its JSON's SHA-256 (docs/speed.md, "OCR's text detector in int8").
INT8_DET = "PP-OCRv6_det_small.int8.onnx"
# The text gate's cut on an int8 coarse look. Quantisation moves faint probabilities (p ~0.1) by a few hundredths
# either way: at the float look's 0.1 the int8 look keeps 94.6 % of the float look's p > 0.1 pixels of the
# calibration set (scripts/quantize_ocr_det.py), at 0.05 98.0 % (and 12 % more pixels), and it lost a faint
# wordmark whose word is p = 0.105 in the float look and 0.071 in int8 (docs/speed.md).
INT8_COARSE_THRESH = 0.05
INT8_FIX = (
    "reinstall this package (common/models/ ships it) or rebuild it: python scripts/quantize_ocr_det.py"
)

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


def int8_detector() -> Path:
    """The shipped int8 text detector, verified: its JSON names the float model it was built from (this
    install's PP-OCRv6 detector, by the registry's SHA-256) and its own SHA-256."""
    path = MODELS_DIR / INT8_DET
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise OcrUnavailable(f"the int8 OCR text detector {path} is missing; fix: {INT8_FIX}")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("source_sha256") != expected_sha256(DEFAULT_OCR_VERSION, "det"):
        raise OcrUnavailable(
            f"the int8 OCR text detector {path} was built from another detector than rapidocr's "
            f"{DEFAULT_OCR_VERSION} one; fix: {INT8_FIX}"
        )
    if sha256_file(path) != meta.get("sha256"):
        raise OcrUnavailable(f"the int8 OCR text detector {path} is damaged; fix: {INT8_FIX}")
    return path


def _own_sessions(
    engine: Any, models: OcrModels, threads: int | None, int8_det: bool, int8_coarse: bool
) -> None:
    """Replace the sessions rapidocr opened with ones under the process's options
    (``native_threads.ort_session_options``: the thread budget, no spinning). rapidocr 3.10 exposes thread counts
    but not spinning; its ``OrtInferSession`` keeps the onnxruntime session as ``.session``. ``int8_det``: the
    detector session runs :func:`int8_detector` (the default model set only); unless ``int8_coarse``, the text
    gate's coarse look then keeps a float32 session of its own (``engine.coarse_session``)."""
    import onnxruntime as ort

    det = int8_detector() if int8_det else models.det
    engine.coarse_session = None  # None: the coarse look runs on the detector session
    if int8_det and not int8_coarse:
        engine.coarse_session = ort.InferenceSession(
            str(models.det), sess_options=ort_session_options(threads), providers=["CPUExecutionProvider"]
        )
    for holder, path in ((engine.text_det.session, det), (engine.text_rec.session, models.rec)):
        if not isinstance(getattr(holder, "session", None), ort.InferenceSession):
            raise OcrUnavailable(
                f"rapidocr's session layout changed; this code expects rapidocr 3.10 ({holder!r})"
            )
        holder.session = ort.InferenceSession(
            str(path), sess_options=ort_session_options(threads), providers=["CPUExecutionProvider"]
        )


def build_rapidocr(
    models: OcrModels,
    det_limit_side: int = DET_LIMIT_SIDE,
    det_limit_type: str = "max",
    threads: int | None = None,
    spinning: bool = False,
    int8_det: bool = True,
    int8_coarse: bool = True,
) -> Any:
    """A ``rapidocr.RapidOCR`` on onnxruntime that only ever reads ``models`` (verified first). Its sessions
    run ``threads`` intra-op threads (None: the process's budget) without spinning; ``spinning=True`` keeps
    rapidocr's own sessions (onnxruntime's defaults: a thread per core, spinning; the benchmark's "before").
    ``int8_det``: the text detector is the shipped int8 one (:func:`int8_detector`) when ``models`` is the
    default PP-OCRv6 set; ``False`` (or another set, or ``spinning``) keeps the float detector.
    ``int8_coarse``: the text gate's coarse look on the int8 detector too (else a float32 session of its own)."""
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
        if not spinning:
            int8 = int8_det and _is_default_set(models)
            _own_sessions(engine, models, threads, int8, int8_coarse)
    except OcrUnavailable:
        raise
    except Exception as exc:  # onnxruntime / rapidocr raise many types for an unreadable model
        raise OcrUnavailable(
            f"cannot load the OCR {models.version} models ({exc}); fix: {REINSTALL_FIX}"
        ) from exc
    return engine


def _is_default_set(models: OcrModels) -> bool:
    return (
        models.version == DEFAULT_OCR_VERSION
        and models.det.name == MODEL_FILES[DEFAULT_OCR_VERSION]["det"][1]
    )


_SHARED: dict[tuple[Any, ...], Any] = {}
_SHARED_LOCK = threading.Lock()


def shared_rapidocr(models: OcrModels, *config: Any) -> Any:
    """One built engine per process and configuration (models, detector limit, threads, spinning): every
    vision backend and benchmark in the process reuses it instead of opening its sessions again."""
    key = (models, *config)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = build_rapidocr(models, *config)
        return _SHARED[key]


def shared_engine_count() -> int:
    """How many engines this process has built (1 in a scan; checked by tests and the benchmark)."""
    return len(_SHARED)


class RapidOcrEngine:
    """Thread-safe lazy wrapper around the process's shared rapidocr engine for its configuration. ``gate``:
    :meth:`read_scoped` runs the detector only where common.vision.ocr_gate finds text-like regions."""

    def __init__(
        self,
        models: OcrModels | None = None,
        det_limit_side: int = DET_LIMIT_SIDE,
        det_limit_type: str = "max",
        threads: int | None = None,
        spinning: bool = False,
        int8_det: bool = True,
        int8_coarse: bool = True,
        gate: bool = True,
        coarse_side: int = COARSE_SIDE,
        coarse_thresh: float | None = None,
    ) -> None:
        self._models = models
        self._config = (det_limit_side, det_limit_type, threads, spinning, int8_det, int8_coarse)
        self.gate = gate
        self.coarse_side = coarse_side
        # the text gate's cut on the coarse look: the float look's, or the int8 look's (INT8_COARSE_THRESH)
        int8_look = int8_det and int8_coarse and not spinning and (models is None or _is_default_set(models))
        self.coarse_thresh = coarse_thresh or (INT8_COARSE_THRESH if int8_look else COARSE_THRESH)
        self._engine: Any = None
        self._failure: OcrUnavailable | None = None  # kept: a broken install must not re-hash per image
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._engine is None:
                try:
                    self._engine = shared_rapidocr(self._models or ocr_models(), *self._config)
                except OcrUnavailable as exc:
                    self._failure = exc
                    raise
            return self._engine

    def load(self) -> None:
        """Open the ONNX sessions now (doctor, benchmarks); raises :class:`OcrUnavailable`."""
        self._get()

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Lines recognised with at least :data:`MIN_TEXT_SCORE`, boxes in ``image`` pixels (whole image)."""
        return [line for line in self.read_all(image) if line.confidence >= MIN_TEXT_SCORE]

    def read_all(self, image: Image.Image) -> list[OcrLine]:
        """Every box the detector found on the whole image with its recognition, however unsure: the
        low-confidence ones are where small or faint text probably is (common.vision.ocr_zoom reads them
        again, enlarged)."""
        rgb, scale = _input_rgb(image)
        return self._lines(np.ascontiguousarray(rgb[:, :, ::-1]), scale, (0, 0))

    def read_scoped(self, image: Image.Image) -> tuple[list[OcrLine], OcrScope]:
        """:meth:`read_all`, but with the detector only on the text-like regions of a coarse look when
        :attr:`gate` is on; returns what was covered and why (the ``ocr_text`` signal reports it)."""
        rgb, scale = _input_rgb(image)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if not self.gate:
            return self._lines(bgr, scale, (0, 0)), OcrScope(reason="the text gate is off: detected whole")
        scope = plan_scope(bgr, self.text_map, self.coarse_side, self.coarse_thresh)
        if scope.mode == "frame":
            return self._lines(bgr, scale, (0, 0)), scope
        lines: list[OcrLine] = []
        for x, y, w, h in scope.regions:
            lines += self._lines(_stride_padded(bgr[y : y + h, x : x + w]), scale, (x, y))
        # regions are the input copy's pixels; report them in the caller's
        scope.regions = [_to_image_rect(r, scale) for r in scope.regions]
        return lines, scope

    def text_map(self, bgr: np.ndarray, side: int) -> np.ndarray:
        """The text detector's probability map (H' x W', values 0-1) of ``bgr`` shrunk to longest side
        ``side`` (rapidocr's own detector pre-processing: multiple of 32, mean/std 0.5)."""
        from rapidocr.ch_ppocr_det.utils import DetPreProcess

        engine = self._get()
        det = engine.text_det
        batch = DetPreProcess(side, "max", det.mean, det.std)(bgr)
        coarse = getattr(engine, "coarse_session", None)  # float32 beside an int8 detector (INT8_DET)
        if coarse is None:
            return np.asarray(det.session(batch))[0, 0]
        return np.asarray(coarse.run(None, {coarse.get_inputs()[0].name: batch})[0])[0, 0]

    def _lines(self, bgr: np.ndarray, scale: float, offset: tuple[int, int]) -> list[OcrLine]:
        """OCR of ``bgr`` (a crop of the input copy at ``offset``), boxes in the caller's image pixels."""
        out = self._get()(bgr, use_cls=False, text_score=0.0)
        boxes = getattr(out, "boxes", None)
        txts = getattr(out, "txts", None)
        scores = getattr(out, "scores", None)
        if boxes is None or txts is None or scores is None:
            return []
        lines: list[OcrLine] = []
        for points, text, conf in zip(boxes, txts, scores, strict=True):
            pts = (np.asarray(points, dtype=np.float64) + offset) / scale
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            box = (int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))
            lines.append(OcrLine(text=str(text), confidence=float(conf), box=box))
        return lines


def _input_rgb(image: Image.Image) -> tuple[np.ndarray, float]:
    """The RGB copy OCR reads (shrunk to :data:`INPUT_MAX_SIDE`) and its scale to ``image``."""
    rgb = np.asarray(image.convert("RGB"))
    scale = min(1.0, INPUT_MAX_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return rgb, scale


def _stride_padded(crop: np.ndarray, stride: int = 32) -> np.ndarray:
    """``crop`` extended right and down (edge pixels repeated) to a multiple of the detector's stride, so
    rapidocr's detector pre-processing does not resize it: rounding a 108 px tall crop to 96 px squeezes the
    text, and its boxes come out measurably looser than on the whole frame."""
    h, w = crop.shape[:2]
    pad_h, pad_w = -h % stride, -w % stride
    if pad_h or pad_w:
        crop = cv2.copyMakeBorder(crop, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(crop)


def _to_image_rect(rect: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    x, y, w, h = rect
    return (int(x / scale), int(y / scale), max(1, round(w / scale)), max(1, round(h / scale)))
