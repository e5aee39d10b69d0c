"""The candidate-side vision port: one call per candidate, ``analyze(image, logos, trademarks)``, so a remote
backend can send a single request with every feature.

Adapters: ``common.vision.backends.LocalVisionBackend`` (offline) and ``common.vision.cloud.CloudVisionBackend``;
``common.bootstrap.build_vision_backend`` picks one from settings. Each job fails on its own: a broken OCR model
must not hide a decoded barcode, so failures are recorded per job in ``VisionResult.errors`` and become "error"
signals (``timed_job``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from PIL import Image

from common.vision.barcode import DecodedCode
from common.vision.logo import LogoFeatures, LogoHit
from common.vision.ocr import OcrLine
from common.vision.sift import Keypoints

T = TypeVar("T")


@dataclass
class VisionResult:
    logos: list[LogoHit] = field(default_factory=list)
    text: list[OcrLine] = field(default_factory=list)
    codes: list[DecodedCode] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)  # object localisation (Cloud Vision only)
    web: dict[str, Any] = field(default_factory=dict)  # web detection (Cloud Vision only)
    errors: dict[str, str] = field(default_factory=dict)  # job ("logo", "ocr", "barcode") -> reason
    timings_ms: dict[str, float] = field(default_factory=dict)
    backend: str = "local"
    # where the local OCR's detector ran: {"mode": "frame" | "regions", "reason", ...} (ocr_gate)
    ocr_scope: dict[str, Any] = field(default_factory=dict)


class VisionBackend(Protocol):
    name: str
    # True: ``analyze(read_text=False)`` leaves OCR out and ``read_text`` reads it later, at the same result — the
    # chain's second look (``common.funnel``). False (Cloud Vision: one request reads logos and text together):
    # ``analyze`` always reads the text and ``read_text`` is never called.
    reads_text_apart: bool

    def analyze(
        self,
        image: Image.Image,
        logos: Sequence[LogoFeatures],
        trademarks: Sequence[str],
        product_box: tuple[int, int, int, int] | None = None,  # x, y, w, h: where small text is likely
        keypoints: Callable[[], Keypoints]
        | None = None,  # the scan's SIFT pass, for a backend that matches locally
        read_text: bool = True,
    ) -> VisionResult: ...

    def read_text(
        self,
        image: Image.Image,
        trademarks: Sequence[str],
        logo_boxes: Sequence[tuple[int, int, int, int]],  # analyze's logo hits (where the zoom looks first)
        product_box: tuple[int, int, int, int] | None = None,
    ) -> VisionResult: ...


def timed_job(result: VisionResult, job: str, fn: Callable[[], T]) -> T | None:
    """Run one job, recording its time and, instead of raising, its failure."""
    start = time.perf_counter()
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one job's failure becomes that job's error signal
        result.errors[job] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return None
    finally:
        result.timings_ms[job] = round((time.perf_counter() - start) * 1000, 1)
