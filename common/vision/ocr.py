"""Offline OCR with RapidOCR (PaddleOCR PP-OCRv4 detection + recognition as ONNX, from PyPI
`rapidocr-onnxruntime`): Latin and Chinese text, no network, model files ship inside the wheel.

Settings from /work/shared/COMPONENTS.md: `det_limit_type="max", det_limit_side_len=960, use_cls=False` reads
95% of brand words at ~130 ms/image (defaults: ~270 ms). The engine is built once per process, lazily, because
loading the ONNX sessions costs ~1 s and the CLI must not pay it unless the channel runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

DET_LIMIT_SIDE = 960  # longest side the text detector sees (COMPONENTS.md)
INPUT_MAX_SIDE = 1280  # shrink before anything else: recognition crops come from this copy
MIN_TEXT_SCORE = 0.5  # RapidOCR's own default recognition-confidence cut-off


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, w, h in the input image's pixels


class RapidOcrEngine:
    """Thread-safe lazy wrapper; one ONNX session set per process."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(
                    det_limit_type="max",
                    det_limit_side_len=DET_LIMIT_SIDE,
                    use_cls=False,
                    print_verbose=False,
                )
            return self._engine

    def read(self, image: Image.Image) -> list[OcrLine]:
        rgb = np.asarray(image.convert("RGB"))
        scale = min(1.0, INPUT_MAX_SIDE / max(rgb.shape[:2]))
        if scale < 1.0:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        result, _ = self._get()(
            np.ascontiguousarray(rgb[:, :, ::-1]), use_cls=False, text_score=MIN_TEXT_SCORE
        )
        lines: list[OcrLine] = []
        for points, text, conf in result or []:
            pts = np.asarray(points, dtype=np.float64) / scale
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            box = (int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))
            lines.append(OcrLine(text=str(text), confidence=float(conf), box=box))
        return lines
