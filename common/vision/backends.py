"""The candidate-side vision port and its local (offline) implementation.

One call per candidate, `analyze(image, logos, trademarks)`, so a remote backend can send a single request with
every feature. Each job fails on its own: a broken OCR model must not hide a decoded barcode, so failures are
recorded per job in `VisionResult.errors` and become "error" signals.

Only candidate images go through this port. Reference images (the brand's own files) are processed by the
reference extractors in our own code (common.vision.logo_extractor) and never reach a backend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from common.vision.barcode import DecodedCode, decode_codes
from common.vision.logo import (
    SHORTLIST_FROM,
    LogoFeatures,
    LogoHit,
    LogoIndex,
    build_logo_index,
    candidate_features,
    find_logos,
)
from common.vision.ocr import OcrLine, RapidOcrEngine

if TYPE_CHECKING:
    from common.settings import Settings


MAX_CACHED_INDEXES = 16  # brands whose logo index stays in memory per process


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


class VisionBackend(Protocol):
    name: str

    def analyze(
        self, image: Image.Image, logos: Sequence[LogoFeatures], trademarks: Sequence[str]
    ) -> VisionResult: ...


def _timed(result: VisionResult, job: str, fn: Any) -> Any:
    start = time.perf_counter()
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one job's failure becomes that job's error signal
        result.errors[job] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return None
    finally:
        result.timings_ms[job] = round((time.perf_counter() - start) * 1000, 1)


class LocalVisionBackend:
    """Everything offline: SIFT logo matching, RapidOCR, OpenCV QR/barcode decoding."""

    name = "local"

    def __init__(self) -> None:
        self.ocr = RapidOcrEngine()
        # Shortlist indexes keyed by the identity of the logo list, which load_brand_logos caches per
        # (brand, version); the list is kept alive alongside so the id cannot be reused.
        self._indexes: dict[int, tuple[Sequence[LogoFeatures], LogoIndex]] = {}

    def _index(self, logos: Sequence[LogoFeatures]) -> LogoIndex:
        entry = self._indexes.get(id(logos))
        if entry is None or entry[0] is not logos:
            if len(self._indexes) >= MAX_CACHED_INDEXES:
                self._indexes.pop(next(iter(self._indexes)))
            entry = (logos, build_logo_index(logos))
            self._indexes[id(logos)] = entry
        return entry[1]

    def detect_logos(self, image: Image.Image, logos: Sequence[LogoFeatures]) -> list[LogoHit]:
        if not logos:
            return []
        index = self._index(logos) if len(logos) > SHORTLIST_FROM else None
        return find_logos(candidate_features(image), logos, index)

    def analyze(
        self, image: Image.Image, logos: Sequence[LogoFeatures], trademarks: Sequence[str]
    ) -> VisionResult:
        result = VisionResult(backend=self.name)
        result.logos = _timed(result, "logo", lambda: self.detect_logos(image, logos)) or []
        result.text = _timed(result, "ocr", lambda: self.ocr.read(image)) or []
        result.codes = _timed(result, "barcode", lambda: decode_codes(image)) or []
        return result


def build_vision_backend(settings: Settings) -> VisionBackend:
    """Local by default; Cloud Vision only when COUNTERFEIT_VISION_BACKEND=cloud."""
    if settings.vision_backend == "cloud":
        from common.vision.cloud import CloudVisionBackend

        return CloudVisionBackend()
    return LocalVisionBackend()
