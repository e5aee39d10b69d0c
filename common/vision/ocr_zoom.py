"""Second OCR look at enlarged crops where a small wordmark probably is (issue 14: "a wordmark ~60 px wide under
a mark" printed faintly on the product was missed by the full-image pass).

Why crops and not a bigger detector: the full-image pass already sees the image at its own size (the detector's
limit, :data:`common.vision.ocr.DET_LIMIT_SIDE`, only shrinks); a 10-14 px tall grey-on-grey word is simply too
faint and small for the PP-OCRv6 detector to propose a box. Enlarged 2-3x, the same models read it. Running the
detector on the whole image at 3x would cost ~9x; a few crops cost about one full pass each, and only where text
is likely:

- around and below every verified logo hit (the wordmark sits under or beside the mark),
- around and below every small or unsure box the detector found (a mark is often detected as a box and read as
  "O", "0" or a stray letter at low confidence; faint words give low-confidence boxes),
- the preprocessing step's product box, when it is a real sub-region of the image;
- when none of those gives a crop (no logo hit, no detector box or only ones too big to enlarge, a busy
  background so no product box), the middle of the frame, where listing photos put the product: an embossed or debossed wordmark (light and
  shadow only, seed 004) gives the full pass no box to hint at, or one box round the whole product; on 9
  generated embossed / debossed listings (``synthetic_listings.embossed_mark``, seeds 11-13 x 3 brands) the
  brand's text is read on 7 with this crop and on 2 without it.

The zoom runs only when the full-image pass found no brand text (so a listing whose mark is already read pays
nothing), on at most :data:`MAX_CROPS` crops, each enlarged to at most :data:`CROP_MAX_SIDE` px. Lines read in a
crop are mapped back to image pixels and merged with the full-image lines; a crop line overlapping a full-image
line replaces it only when it is more confident. Brand-text rules (common.vision.textmatch) are unchanged, so a
zoomed look-alike word is judged exactly as a full-size one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from common.vision.ocr import MIN_TEXT_SCORE, OcrLine, RapidOcrEngine
from common.vision.ocr_gate import OcrScope
from common.vision.ocr_inputs import OCR_TEXT_FIRE, ocr_match_inputs
from common.vision.textmatch import best_text_score, match_brand_text

Rect = tuple[int, int, int, int]  # x, y, w, h in image pixels

MAX_CROPS = 2
CROP_MAX_SIDE = 800  # an enlarged crop's longest side (the detector sees it as is: below DET_LIMIT_SIDE)
MAX_ZOOM = 3.0  # enlargement cap: beyond 3x the JPEG blocks are what the recogniser reads
# A crop that cannot be enlarged this much adds nothing the full pass did not see (the middle of the frame is read
# instead when nothing else is left). 1.25 let one big unsure box round a whole embossed product (623 x 412 px on
# a 720 x 480 photo, enlarged 1.28x) take the place of the middle crop that reads the word (the int8 detector
# proposed that box where the float one proposed a slightly larger one: tests/unit/test_vision_ocr_zoom.py).
MIN_ZOOM = 1.5
SMALL_BOX_SIDE = (
    160  # a detector box whose longer side is below this (px) is "small" (a mark or a short word)
)
UNSURE_SCORE = 0.8  # or whose recognition is below this
MARK_LIKE_CHARS = 2  # or that reads as at most this many characters (a mark read as "O", "0", "C")
MIN_CROP_SIDE = 120  # crops around tiny boxes are grown to this, so the word beside the box is inside
SAME_BOX_IOU = 0.3  # a crop line and a full-image line this much overlapped are one line
CLAHE_CLIP = 2.0  # local contrast stretch of a crop: grey-on-grey and embossed words become readable
MIDDLE_SHARE = 0.5  # the fallback crop: the middle half of each side of the frame


@dataclass
class ZoomReport:
    """What the zoom did for one image (kept in the vision result's timings for the benchmark and evidence)."""

    ran: bool = False
    crops: list[Rect] = field(default_factory=list)
    new_lines: list[OcrLine] = field(default_factory=list)  # crop lines that were new or replaced one
    ms: float = 0.0
    first_pass: OcrScope = field(default_factory=OcrScope)  # where the full pass's detector ran (ocr_gate)


def has_brand_text(lines: Sequence[OcrLine], trademarks: Sequence[str]) -> bool:
    """The channel's own firing rule (OCR_TEXT_FIRE through textmatch) on these lines."""
    if not trademarks or not lines:
        return False
    score, best = best_text_score(match_brand_text(ocr_match_inputs([ln.text for ln in lines]), trademarks))
    return best is not None and score >= OCR_TEXT_FIRE


def _clip(x0: float, y0: float, x1: float, y1: float, size: tuple[int, int]) -> Rect | None:
    w, h = size
    ix0, iy0 = max(0, int(x0)), max(0, int(y0))
    ix1, iy1 = min(w, int(x1)), min(h, int(y1))
    if ix1 - ix0 < 8 or iy1 - iy0 < 8:
        return None
    return (ix0, iy0, ix1 - ix0, iy1 - iy0)


def around_and_below(box: Rect, size: tuple[int, int]) -> Rect | None:
    """The box, a fifth of its width either side and 1.6 box-heights under it: where a wordmark under or beside
    a mark is (a mark's detector box often spans the mark and its word). Grown to :data:`MIN_CROP_SIDE` around
    its centre for tiny boxes."""
    x, y, w, h = box
    cx = x + w / 2
    half_w = max(0.7 * w, 0.6 * h, MIN_CROP_SIDE / 2)
    top = y - 0.1 * h
    bottom = max(y + 1.6 * h, top + MIN_CROP_SIDE)
    return _clip(cx - half_w, top, cx + half_w, bottom, size)


def _iou(a: Rect, b: Rect) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[0] + outer[2] >= inner[0] + inner[2]
        and outer[1] + outer[3] >= inner[1] + inner[3]
    )


def zoom_regions(
    size: tuple[int, int],
    logo_boxes: Sequence[Rect],
    detected: Sequence[OcrLine],
    product_box: Rect | None = None,
) -> list[Rect]:
    """At most :data:`MAX_CROPS` crops, most likely first: logo hits, then small/unsure detector boxes (smallest
    first), then the product box; the middle of the frame when there is none of them. Crops inside an earlier
    crop, and crops too big to enlarge, are dropped."""
    candidates: list[Rect] = []
    for box in logo_boxes:
        if (crop := around_and_below(box, size)) is not None:
            candidates.append(crop)
    hints = [
        ln.box
        for ln in detected
        if max(ln.box[2], ln.box[3]) < SMALL_BOX_SIDE
        or ln.confidence < UNSURE_SCORE
        or len(ln.text.strip()) <= MARK_LIKE_CHARS
    ]
    for box in sorted(hints, key=lambda b: b[2] * b[3]):
        if (crop := around_and_below(box, size)) is not None:
            candidates.append(crop)
    if product_box is not None and product_box[2] * product_box[3] < 0.6 * size[0] * size[1]:
        candidates.append(product_box)
    chosen: list[Rect] = []
    for crop in candidates:
        if CROP_MAX_SIDE / max(crop[2], crop[3]) < MIN_ZOOM:
            continue
        if any(_contains(c, crop) or _iou(c, crop) > 0.5 for c in chosen):
            continue
        chosen.append(crop)
        if len(chosen) == MAX_CROPS:
            break
    if not chosen:  # nothing usable points anywhere: the middle of the frame, where the product is
        w, h = round(size[0] * MIDDLE_SHARE), round(size[1] * MIDDLE_SHARE)
        chosen.append(((size[0] - w) // 2, (size[1] - h) // 2, w, h))
    return chosen


def stretch_contrast(image: Image.Image) -> Image.Image:
    """CLAHE on the lightness of a crop. Measured: a 46 px grey-on-grey "NORDA" under a dark emblem is not
    detected at 2x, 3x or 4x enlargement as is, and read at 1.0 after this (the dark mark no longer sets the
    contrast the faint word is judged against)."""
    lab = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(4, 4)).apply(lab[..., 0])
    return Image.fromarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def read_crop(engine: RapidOcrEngine, image: Image.Image, crop: Rect) -> list[OcrLine]:
    """OCR of ``crop`` enlarged (bicubic, at most :data:`MAX_ZOOM`) and contrast-stretched, boxes mapped back
    to ``image`` pixels."""
    x, y, w, h = crop
    zoom = min(MAX_ZOOM, CROP_MAX_SIDE / max(w, h))
    big = image.crop((x, y, x + w, y + h)).resize(
        (max(1, round(w * zoom)), max(1, round(h * zoom))), Image.Resampling.BICUBIC
    )
    out = []
    for ln in engine.read(stretch_contrast(big)):
        bx, by, bw, bh = ln.box
        box = (x + int(bx / zoom), y + int(by / zoom), max(1, round(bw / zoom)), max(1, round(bh / zoom)))
        out.append(OcrLine(text=ln.text, confidence=ln.confidence, box=box))
    return out


def merge_lines(full: Sequence[OcrLine], zoomed: Sequence[OcrLine]) -> tuple[list[OcrLine], list[OcrLine]]:
    """Full-image lines plus crop lines; overlapping lines (IoU > :data:`SAME_BOX_IOU`) are one line, the more
    confident reading kept. Returns (lines, the crop lines that were new or replaced one)."""
    merged = list(full)
    added: list[OcrLine] = []
    for ln in sorted(zoomed, key=lambda z: -z.confidence):
        same = [i for i, m in enumerate(merged) if _iou(m.box, ln.box) > SAME_BOX_IOU]
        if not same:
            merged.append(ln)
            added.append(ln)
        elif all(merged[i].confidence < ln.confidence for i in same) and all(
            merged[i].text != ln.text for i in same
        ):
            for i in sorted(same, reverse=True):
                merged.pop(i)
            merged.append(ln)
            added.append(ln)
    return merged, added


def read_with_zoom(
    engine: RapidOcrEngine,
    image: Image.Image,
    trademarks: Sequence[str],
    logo_boxes: Sequence[Rect] = (),
    product_box: Rect | None = None,
    zoom: bool = True,
) -> tuple[list[OcrLine], ZoomReport]:
    """The full-image lines (confidence >= MIN_TEXT_SCORE; the detector only on the text-like regions when the
    engine's gate is on), plus the zoomed crops' when the full pass found no brand text for ``trademarks``. The
    crops are read whole, never gated: faint words are what a coarse look is least sure of."""
    detected, scope = engine.read_scoped(image)
    lines = [ln for ln in detected if ln.confidence >= MIN_TEXT_SCORE]
    report = ZoomReport(first_pass=scope)
    if not zoom or not trademarks or has_brand_text(lines, trademarks):
        return lines, report
    start = time.perf_counter()
    report.ran = True
    report.crops = zoom_regions(image.size, logo_boxes, detected, product_box)
    zoomed = [ln for crop in report.crops for ln in read_crop(engine, image, crop)]
    lines, report.new_lines = merge_lines(lines, zoomed)
    report.ms = round((time.perf_counter() - start) * 1000, 1)
    return lines, report
