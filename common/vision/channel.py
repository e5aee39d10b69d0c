"""The logo_ocr channel: one vision pass over the candidate, turned into the signals "logo", "ocr_text",
"color" and "barcode".

Honesty rules fusion relies on (dual track, seed 004): "logo" fires only for a verified geometric match (SIFT +
RANSAC + plausibility, or a Cloud Vision logo that names a registered trademark); a look-alike without the mark
or the name leaves "logo" and "ocr_text" clear, so fusion can cap it at Tier 3. "color" is auxiliary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PIL import Image

from common.embedding.manifest import default_manifest_path
from common.messages import Listing, Preprocessed, Signal
from common.vision.barcode import barcode_signal
from common.vision.color import color_signal
from common.vision.funnel import detector_skip_reason
from common.vision.logo_extractor import load_brand_logos
from common.vision.mark_detector import detect, fire_threshold, load_detector
from common.vision.mark_features import feature_extractor
from common.vision.ocr_inputs import OCR_TEXT_FIRE, ocr_match_inputs
from common.vision.port import VisionResult, timed_job
from common.vision.textmatch import best_text_score, match_brand_text

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.channels import Candidate
    from common.vision.sift import Keypoints

MAX_TEXT_IN_DETAIL = 2000
MAX_LINE_BOXES = 20  # where the text lines are, for fusion: a logo match on the cited letters (fusion.scored)


def _error(name: str, why: str) -> Signal:
    return Signal(name=name, status="error", reason=why)


def logo_signal(result: VisionResult, n_logos: int, detector: dict[str, Any] | None = None) -> Signal:
    """SIFT (or Cloud Vision) hits and the brand's trained mark detector's hits, strongest first; ``detector``
    is what the detector saw (its best window even below threshold, or why it did not run)."""
    if "logo" in result.errors and not any(h.method == "mark_detector" for h in result.logos):
        return _error("logo", f"logo detection failed: {result.errors['logo']}")
    if n_logos == 0 and result.backend == "local":
        return Signal.not_run("logo", "brand kit has no logo files")
    detail: dict[str, Any] = {"backend": result.backend, "logos_checked": n_logos}
    if detector is not None:
        detail["detector"] = detector
    if result.objects:
        detail["objects"] = result.objects
    if result.web:
        detail["web"] = result.web
    if not result.logos:
        return Signal(
            name="logo", status="clear", score=0.0, reason="no registered logo verified", detail=detail
        )
    best = result.logos[0]
    detail["hits"] = [
        {
            "ref_id": h.ref_id,
            "confidence": h.confidence,
            "inliers": h.inliers,
            "matches": h.matches,
            "box": list(h.box),
            "quad": h.quad,
            "mirrored": h.mirrored,
            "background": h.background,
            "method": h.method,
        }
        | ({"inlier_box": list(h.inlier_box)} if h.inlier_box is not None else {})
        for h in result.logos
    ]
    how = {
        "sift_homography": f"{best.inliers} RANSAC inliers",
        "mark_detector": f"the brand's trained mark detector, p={best.confidence:.2f}",
    }.get(best.method, "Cloud Vision logo detection")
    mirrored = " (mirrored)" if best.mirrored else ""
    return Signal(
        name="logo",
        status="fired",
        score=best.confidence,
        reference=best.ref_id,
        reason=f"logo {best.ref_id}{mirrored} found at {list(best.box)} ({how})",
        detail=detail,
    )


def ocr_text_signal(result: VisionResult, trademarks: list[str]) -> Signal:
    if "ocr" in result.errors:
        return _error("ocr_text", f"OCR failed: {result.errors['ocr']}")
    if not trademarks:
        return Signal.not_run("ocr_text", "brand kit registers no trademarks")
    lines = [line.text for line in result.text]
    score, best = best_text_score(match_brand_text(ocr_match_inputs(lines), trademarks))
    full = " | ".join(lines)[:MAX_TEXT_IN_DETAIL]
    detail: dict[str, Any] = {"text": full, "lines": len(lines), "backend": result.backend}
    if result.ocr_scope:  # where the detector ran (whole frame or text-like regions) and why
        detail["scope"] = result.ocr_scope
    if best is None or score < OCR_TEXT_FIRE:
        reason = "no brand text in the image" if lines else "no text read from the image"
        return Signal(name="ocr_text", status="clear", score=round(score, 4), reason=reason, detail=detail)
    boxes = [list(line.box) for line in result.text if best.text in line.text]
    detail |= {"trademark": best.trademark, "matched": best.text, "rule": best.rule, "boxes": boxes[:5]}
    detail["line_boxes"] = [list(line.box) for line in result.text][:MAX_LINE_BOXES]  # every line read
    return Signal(
        name="ocr_text",
        status="fired",
        score=round(score, 4),
        reference=best.trademark,
        reason=f"image text {best.text!r} matches trademark {best.trademark!r} ({best.rule})",
        detail=detail,
    )


def run_logo_ocr_channel(
    deps: Deps,
    brand: Brand,
    image: Image.Image,
    pre: Preprocessed,
    listing: Listing | None = None,
    keypoints: Callable[[], Keypoints] | None = None,
    read_text: bool = True,
) -> dict[str, Signal]:
    """Signals "logo", "ocr_text", "color", "barcode" for one candidate (listing text is fusion's job);
    ``keypoints``: the scan's SIFT pass (``Candidate.keypoints``), None computes it for the logo match.
    ``read_text=False`` (a backend that ``reads_text_apart``): no OCR and no "ocr_text" signal — the chain's
    second look (``text_signal``) reads it if fuse finds the text could still change the tier."""
    logo_load_error: str | None = None
    try:
        logos = load_brand_logos(deps, brand)
    except Exception as exc:  # noqa: BLE001 - unreadable features: logo errors, the rest still runs
        logos, logo_load_error = [], f"{type(exc).__name__}: {exc}"
    box = pre.product_box
    product_box = None if box is None else (box.x, box.y, box.w, box.h)
    result = deps.vision.analyze(
        image, logos, list(brand.trademarks), product_box, keypoints, read_text=read_text
    )
    if logo_load_error:
        result.errors["logo"] = f"could not load logo features: {logo_load_error}"
    detector = run_mark_detector(deps, brand, image, result)
    signals = {
        "logo": logo_signal(result, len(logos), detector),
        **({"ocr_text": ocr_text_signal(result, list(brand.trademarks))} if read_text else {}),
        "color": color_signal(list(brand.colors), pre.dominant_colors),
        "barcode": (
            _error("barcode", f"barcode decoding failed: {result.errors['barcode']}")
            if "barcode" in result.errors
            else barcode_signal(list(brand.barcodes), result.codes)
        ),
    }
    for sig in signals.values():
        sig.detail.setdefault("timings_ms", result.timings_ms)
    return signals


def text_signal(
    deps: Deps,
    brand: Brand,
    image: Image.Image,
    pre: Preprocessed,
    logo_boxes: list[tuple[int, int, int, int]],
) -> Signal:
    """The second look: the "ocr_text" signal ``run_logo_ocr_channel`` would have given, read after it ran with
    ``read_text=False``. ``logo_boxes``: that run's SIFT hits' boxes in their order (``common.funnel.sift_boxes``),
    where the OCR zoom looks first, as in the one-pass run."""
    box = pre.product_box
    product_box = None if box is None else (box.x, box.y, box.w, box.h)
    result = deps.vision.read_text(image, list(brand.trademarks), logo_boxes, product_box)
    sig = ocr_text_signal(result, list(brand.trademarks))
    sig.detail.setdefault("timings_ms", result.timings_ms)
    return sig


def run_mark_detector(
    deps: Deps, brand: Brand, image: Image.Image, result: VisionResult
) -> dict[str, Any] | None:
    """The brand's own trained detector beside SIFT: its hits join ``result.logos`` (strongest first); returns
    the signal detail's ``detector`` entry (None when the kit trained none). A detector failure is reported
    there and leaves SIFT's answer standing."""
    if not brand.mark_detector:
        return None
    info: dict[str, Any] = {"model": brand.mark_detector.get("key")}
    skipped = detector_skip_reason(result.logos)
    if skipped is not None:
        return info | {"skipped": skipped}
    try:
        model = load_detector(deps, brand)
        if model is None:
            return None
        fx = feature_extractor(str(default_manifest_path(deps.settings)))
        if model.meta.get("backbone_sha256") not in (None, fx.model_sha256):
            return info | {"error": "trained on another backbone model; run brand add again to retrain"}
        found = timed_job(result, "mark_detector", lambda: detect(model, image, fx))
    except Exception as exc:  # noqa: BLE001 - an unreadable or foreign model: reported, SIFT still decides
        return info | {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    if found is None:
        return info | {"error": result.errors.pop("mark_detector", "failed")}
    result.logos = sorted([*result.logos, *found.hits], key=lambda h: -h.confidence)
    return info | {
        "threshold": round(model.threshold, 4),
        "logo_threshold": round(fire_threshold(model, "logo:"), 4),
        "fired": bool(found.hits),
        "best": found.best,
    }


class LogoOcrChannel:
    name = "logo_ocr"

    def run(self, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]:
        assert candidate.pre is not None, "the logo_ocr channel runs on a preprocessed image"
        return run_logo_ocr_channel(
            deps,
            brand,
            candidate.image,
            candidate.pre,
            candidate.listing,
            candidate.keypoints,
            read_text=candidate.read_text,
        )


CHANNEL = LogoOcrChannel()
