"""Optional Cloud Vision backend (COUNTERFEIT_VISION_BACKEND=cloud), for candidate images only.

One `annotate_image` request per candidate with LOGO_DETECTION, TEXT_DETECTION, OBJECT_LOCALIZATION and
WEB_DETECTION. Cloud Vision has no barcode feature, so codes are still decoded locally with zxing-cpp. Google's
logo detector knows famous marks by name, not the brand's own files, so a logo annotation counts only when its
description matches one of the brand's trademarks (brand-text matching). The client is built lazily (no
connection at import) and can be injected, which is how tests drive the parser with stored real response
payloads without network.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from common.vision.barcode import decode_codes
from common.vision.logo import LogoFeatures, LogoHit
from common.vision.ocr import OcrLine
from common.vision.port import VisionResult, timed_job
from common.vision.sift import Keypoints
from common.vision.textmatch import best_text_score, match_brand_text

CLOUD_LOGO_MIN_SCORE = 0.5  # Cloud Vision logo scores below this are mostly wrong brand guesses
LOGO_NAME_MIN_MATCH = 0.9  # description must name the trademark (exact/casefold/spacing/leet/confusable)
MAX_UPLOAD_SIDE = 1600  # Cloud Vision recommends 1024x768+ for OCR; larger only costs upload time
MAX_RESULTS = 20


def _png_bytes(image: Image.Image) -> bytes:
    img = image.convert("RGB")
    scale = min(1.0, MAX_UPLOAD_SIDE / max(img.size))
    if scale < 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _box(vertices: Sequence[Any], scale: float) -> tuple[int, int, int, int]:
    xs = [int(v.x / scale) for v in vertices] or [0]
    ys = [int(v.y / scale) for v in vertices] or [0]
    return min(xs), min(ys), max(1, max(xs) - min(xs)), max(1, max(ys) - min(ys))


def parse_response(
    response: Any, image_size: tuple[int, int], trademarks: Sequence[str], scale: float = 1.0
) -> VisionResult:
    """Turn a google.cloud.vision.AnnotateImageResponse into our VisionResult (codes are added by the caller).
    ``scale`` = uploaded size / original size, to map boxes back to candidate pixels."""
    result = VisionResult(backend="cloud")
    if response.error.message:
        result.errors["cloud"] = f"Cloud Vision error {response.error.code}: {response.error.message[:300]}"
        return result
    for logo in response.logo_annotations:
        if logo.score < CLOUD_LOGO_MIN_SCORE:
            continue
        score, match = best_text_score(match_brand_text([("cloud_logo", logo.description)], trademarks))
        if match is None or score < LOGO_NAME_MIN_MATCH:
            continue
        x, y, w, h = _box(logo.bounding_poly.vertices, scale)
        result.logos.append(
            LogoHit(
                ref_id=f"cloud:{match.trademark}",
                confidence=round(float(logo.score) * score, 4),
                inliers=0,
                matches=0,
                box=(x, y, w, h),
                quad=[[float(v.x / scale), float(v.y / scale)] for v in logo.bounding_poly.vertices],
                mirrored=False,
                background="",
                method="cloud_vision_logo",
            )
        )
    # text_annotations[0] is the whole text; the rest are words. Keep lines from the full text (matching wants
    # "Nik e" together) plus each word with its box.
    annotations = list(response.text_annotations)
    if annotations:
        full = annotations[0]
        for line in full.description.splitlines():
            if line.strip():
                result.text.append(OcrLine(line.strip(), 1.0, _box(full.bounding_poly.vertices, scale)))
        for word in annotations[1:]:
            result.text.append(OcrLine(word.description, 1.0, _box(word.bounding_poly.vertices, scale)))
    w, h = image_size
    for obj in response.localized_object_annotations:
        verts = obj.bounding_poly.normalized_vertices
        xs, ys = [v.x * w for v in verts] or [0.0], [v.y * h for v in verts] or [0.0]
        result.objects.append(
            {
                "name": obj.name,
                "score": round(float(obj.score), 4),
                "box": [round(min(xs)), round(min(ys)), round(max(xs) - min(xs)), round(max(ys) - min(ys))],
            }
        )
    web = response.web_detection
    result.web = {
        "entities": [
            {"description": e.description, "score": round(float(e.score), 4)} for e in web.web_entities
        ][:MAX_RESULTS],
        "best_guess_labels": [lbl.label for lbl in web.best_guess_labels],
        "full_matching_images": [i.url for i in web.full_matching_images][:MAX_RESULTS],
        "pages_with_matching_images": [p.url for p in web.pages_with_matching_images][:MAX_RESULTS],
    }
    return result


class CloudVisionBackend:
    name = "cloud"
    reads_text_apart = False  # one annotate request answers logos and text: no second look

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import vision

            self._client = vision.ImageAnnotatorClient()
        return self._client

    def _request(self, content: bytes) -> dict[str, Any]:
        from google.cloud import vision

        kinds = (
            vision.Feature.Type.LOGO_DETECTION,
            vision.Feature.Type.TEXT_DETECTION,
            vision.Feature.Type.OBJECT_LOCALIZATION,
            vision.Feature.Type.WEB_DETECTION,
        )
        return {
            "image": {"content": content},
            "features": [{"type_": k, "max_results": MAX_RESULTS} for k in kinds],
            "image_context": {"language_hints": ["en", "zh"]},
        }

    def read_text(
        self,
        image: Image.Image,
        trademarks: Sequence[str],
        logo_boxes: Sequence[tuple[int, int, int, int]],
        product_box: tuple[int, int, int, int] | None = None,
    ) -> VisionResult:
        """The port's second look, for completeness: the chain never asks it of this backend
        (``reads_text_apart`` is False, so ``analyze`` already read the text). Cloud Vision has no cheaper
        text-only path worth a second request here, so it is ``analyze``'s one request; ``logo_boxes`` guide
        only the local zoom and are unused."""
        return self.analyze(image, [], trademarks, product_box)

    def analyze(
        self,
        image: Image.Image,
        logos: Sequence[LogoFeatures],
        trademarks: Sequence[str],
        product_box: tuple[int, int, int, int] | None = None,
        keypoints: Callable[[], Keypoints] | None = None,
        read_text: bool = True,
    ) -> VisionResult:
        """``logos`` (reference features) are deliberately unused: nothing derived from references is sent.
        ``product_box`` too: Cloud Vision reads the whole image at its own resolution (no local zoom), and
        ``keypoints`` (the scan's SIFT pass): Cloud Vision finds logos itself. ``read_text`` is ignored: one
        request reads logos and text together (``reads_text_apart`` is False, so the chain never asks for less)."""
        content = _png_bytes(image)
        scale = min(1.0, MAX_UPLOAD_SIDE / max(image.size))
        holder = VisionResult(backend=self.name)
        response = timed_job(holder, "cloud", lambda: self.client.annotate_image(self._request(content)))
        result = holder if response is None else parse_response(response, image.size, trademarks, scale)
        result.timings_ms.update(holder.timings_ms)
        if (
            "cloud" in result.errors
        ):  # the remote call failed: every remote job is in error, codes still local
            for job in ("logo", "ocr"):
                result.errors[job] = result.errors["cloud"]
        result.codes = timed_job(result, "barcode", lambda: decode_codes(image)) or []
        return result
