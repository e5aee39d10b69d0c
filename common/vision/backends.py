"""The local (offline) adapter of the vision port (``common.vision.port``): SIFT logos, RapidOCR, OpenCV codes.

Only candidate images go through this port. Reference images (the brand's own files) are processed by the
reference extractors in our own code (common.vision.logo_extractor) and never reach a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image

from common.vision.barcode import decode_codes
from common.vision.logo import (
    SHORTLIST_FROM,
    LogoFeatures,
    LogoHit,
    LogoIndex,
    build_logo_index,
    candidate_features,
    find_logos,
)
from common.vision.ocr import RapidOcrEngine
from common.vision.ocr_zoom import Rect, ZoomReport, read_with_zoom
from common.vision.port import VisionResult, timed_job
from common.vision.sift import Keypoints

MAX_CACHED_INDEXES = 16  # brands whose logo index stays in memory per process


class LocalVisionBackend:
    """Everything offline: SIFT logo matching, RapidOCR, zxing-cpp QR/barcode decoding."""

    name = "local"
    reads_text_apart = True  # OCR reads only the image and the logo hits' boxes: it can run in a second look

    def __init__(self, ocr_zoom: bool = True) -> None:
        self.ocr = RapidOcrEngine()
        self.ocr_zoom = ocr_zoom  # False: the full-image pass only (scripts/bench_vision.py --zoom compares)
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

    def detect_logos(
        self,
        image: Image.Image,
        logos: Sequence[LogoFeatures],
        keypoints: Callable[[], Keypoints] | None = None,
    ) -> list[LogoHit]:
        """``keypoints``: the scan's one SIFT pass (read only when the brand has logos); None computes it here."""
        if not logos:
            return []
        index = self._index(logos) if len(logos) > SHORTLIST_FROM else None
        return find_logos(candidate_features(image, keypoints() if keypoints else None), logos, index)

    def analyze(
        self,
        image: Image.Image,
        logos: Sequence[LogoFeatures],
        trademarks: Sequence[str],
        product_box: Rect | None = None,
        keypoints: Callable[[], Keypoints] | None = None,
        read_text: bool = True,
    ) -> VisionResult:
        """Logos, then (``read_text``) the text, then codes. ``read_text=False`` leaves ``text`` empty: the same
        reading is ``read_text(image, trademarks, [hit.box for hit in result.logos], product_box)``."""
        result = VisionResult(backend=self.name)
        result.logos = timed_job(result, "logo", lambda: self.detect_logos(image, logos, keypoints)) or []
        if read_text:
            self._read_text_into(result, image, trademarks, [hit.box for hit in result.logos], product_box)
        result.codes = timed_job(result, "barcode", lambda: decode_codes(image)) or []
        return result

    def read_text(
        self,
        image: Image.Image,
        trademarks: Sequence[str],
        logo_boxes: Sequence[Rect],
        product_box: Rect | None = None,
    ) -> VisionResult:
        result = VisionResult(backend=self.name)
        self._read_text_into(result, image, trademarks, logo_boxes, product_box)
        return result

    def _read_text_into(
        self,
        result: VisionResult,
        image: Image.Image,
        trademarks: Sequence[str],
        logo_boxes: Sequence[Rect],
        product_box: Rect | None,
    ) -> None:
        boxes = list(logo_boxes)
        lines, zoom = timed_job(
            result,
            "ocr",
            lambda: read_with_zoom(self.ocr, image, trademarks, boxes, product_box, self.ocr_zoom),
        ) or ([], ZoomReport())
        result.text = lines
        result.ocr_scope = zoom.first_pass.detail()
        if zoom.first_pass.coarse_ms:
            result.timings_ms["ocr_coarse"] = zoom.first_pass.coarse_ms
        if zoom.ran:  # the zoom's share of the "ocr" time (benchmark, evidence)
            result.timings_ms["ocr_zoom"] = zoom.ms
