"""Where the text detector runs: a cheap look at the whole frame first, then the full-resolution detector only on
the regions that look like text (issue 17: "OCR only on regions likely to hold text").

Why the detector itself is the text-likelihood gate: rapidocr's text *detection* is ~80 % of OCR's time (it
scans every pixel; recognition only reads the boxes it found), and the cue that sees text the way PP-OCRv6 does
is PP-OCRv6 (hand-made cues such as edges or MSER were not tried). The same detector at a small size
(:data:`COARSE_SIDE`, ~1/4 of the pixels of a 0.4-0.9 MP listing photo) gives its text probability map;
wherever the map exceeds :data:`COARSE_THRESH` — well below the detector's own 0.3 cut, so faint and small text
still shows — a region is kept, padded, and the detector runs there again at full resolution, then recognition
reads what it found. The ``ocr_text`` signal says where the detector ran.

The frame is detected whole, as before, when the regions would cover most of it (:data:`FULL_FRAME_SHARE`:
nothing to save, no region seams) and when the coarse look shows no region at all: skipping such a frame lost a
faint small wordmark that the whole-frame pass and the zoom read (``syn.small_wordmark_scene("NORDA", 2)``: p=0.015
on the word at 480 px, read at 1.0 on the whole frame), and such frames are rare (1 of 92 in the benchmark).

Measured with ``scripts/bench_vision.py --ocr-gate`` (docs/vision.md "OCR: where the detector runs"): the same
brand text found with and without the gate on the OCR text set, the small-wordmark set and the demo images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # x, y, w, h in the pixels of the image OCR reads

COARSE_SIDE = 480  # longest side of the coarse look (multiple of 32, the detector's stride)
COARSE_THRESH = 0.1  # text probability that keeps a pixel (the detector's own box cut is 0.3)
PAD_FRACTION = 1.0  # a region grows by this share of its blob's short side (a text line's thickness) on every
# side: the map marks text shrunk (DB kernels), rapidocr unclips a box by ~0.8 of that (unclip_ratio 1.6)
MIN_PAD = 12  # px at full resolution, at least
MAX_REGIONS = 6  # more regions are merged pairwise (the cheapest union first): each is one detector run
FULL_FRAME_SHARE = 0.5  # regions covering more of the frame than this: detect the whole frame instead
MIN_REGION_SIDE = 32  # a region smaller than this (px, full resolution) is grown to it


@dataclass
class OcrScope:
    """What the first OCR pass covered on one image: the whole frame, some regions, or nothing (and why)."""

    mode: str = "frame"  # "frame" | "regions"
    reason: str = ""
    regions: list[Rect] = field(default_factory=list)
    peak: float | None = None  # highest text probability of the coarse look (None: no coarse look)
    share: float = 1.0  # share of the frame the detector ran on
    coarse_ms: float = 0.0

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "reason": self.reason, "share": round(self.share, 4)}
        if self.peak is not None:
            out["coarse_peak"] = round(self.peak, 4)
        if self.regions:
            out["regions"] = [list(r) for r in self.regions]
        return out


def _union(a: Rect, b: Rect) -> Rect:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def merge_regions(regions: list[Rect], max_regions: int = MAX_REGIONS) -> list[Rect]:
    """Overlapping regions become one; then, while there are more than ``max_regions``, the pair whose union
    adds the least area is merged (few detector calls, little extra area)."""
    out = list(regions)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                if _overlap(out[i], out[j]):
                    out[i] = _union(out[i], out.pop(j))
                    changed = True
                    break
            if changed:
                break
    while len(out) > max_regions:
        best: tuple[int, int, int] | None = None
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                u = _union(out[i], out[j])
                extra = u[2] * u[3] - out[i][2] * out[i][3] - out[j][2] * out[j][3]
                if best is None or extra < best[0]:
                    best = (extra, i, j)
        assert best is not None
        _, i, j = best
        out[i] = _union(out[i], out.pop(j))
        out = merge_regions(out, len(out))  # the union may now overlap a third region
    return sorted(out, key=lambda r: (r[1], r[0]))


def regions_from_map(
    prob: np.ndarray, size: tuple[int, int], scale: tuple[float, float], thresh: float = COARSE_THRESH
) -> list[Rect]:
    """Padded full-resolution rectangles around the connected blobs of ``prob > thresh``. ``size`` is the full
    image (w, h); ``scale`` maps map pixels to image pixels (x, y)."""
    mask = (prob > thresh).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((3, 3), np.uint8)))
    w, h = size
    out: list[Rect] = []
    for i in range(1, n):
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        x0, y0 = bx * scale[0], by * scale[1]
        x1, y1 = (bx + bw) * scale[0], (by + bh) * scale[1]
        pad = max(MIN_PAD, PAD_FRACTION * min(x1 - x0, y1 - y0))  # the line's thickness, either way up
        grow_x = max(pad, (MIN_REGION_SIDE - (x1 - x0)) / 2)
        grow_y = max(pad, (MIN_REGION_SIDE - (y1 - y0)) / 2)
        ix0, iy0 = max(0, int(x0 - grow_x)), max(0, int(y0 - grow_y))
        ix1, iy1 = min(w, int(np.ceil(x1 + grow_x))), min(h, int(np.ceil(y1 + grow_y)))
        if ix1 > ix0 and iy1 > iy0:
            out.append((ix0, iy0, ix1 - ix0, iy1 - iy0))
    return merge_regions(out)


def plan_scope(
    bgr: np.ndarray,
    text_map: Callable[[np.ndarray, int], np.ndarray],
    coarse_side: int = COARSE_SIDE,
    thresh: float = COARSE_THRESH,
) -> OcrScope:
    """Decide where the full-resolution detector runs on ``bgr`` (H x W x 3). ``text_map(bgr, side)`` is the
    detector's probability map of the image shrunk to longest side ``side`` (``common.vision.ocr``)."""
    import time

    h, w = bgr.shape[:2]
    if max(h, w) <= coarse_side:  # the coarse look would cost as much as the real one
        return OcrScope(mode="frame", reason=f"image is at most {coarse_side} px: detected whole")
    start = time.perf_counter()
    prob = text_map(bgr, coarse_side)
    coarse_ms = round((time.perf_counter() - start) * 1000, 1)
    peak = float(prob.max()) if prob.size else 0.0
    regions = regions_from_map(prob, (w, h), (w / prob.shape[1], h / prob.shape[0]), thresh)
    share = sum(r[2] * r[3] for r in regions) / float(w * h)
    if not regions:  # measured: a faint small word can be invisible at the coarse size (p=0.015 at 480 px on
        # syn.small_wordmark_scene("NORDA", 2), read at 1.0 on the whole frame): detect the frame whole
        return OcrScope(
            mode="frame",
            reason=(
                f"no text-like region in the {coarse_side} px look (peak p={peak:.3f} <= {thresh}): detected "
                "whole, since faint small text may not show at that size"
            ),
            peak=peak,
            coarse_ms=coarse_ms,
        )
    if share > FULL_FRAME_SHARE:
        return OcrScope(
            mode="frame",
            reason=f"text-like regions cover {share:.0%} of the frame: detected whole",
            peak=peak,
            coarse_ms=coarse_ms,
        )
    return OcrScope(
        mode="regions",
        reason=f"{len(regions)} text-like region(s), {share:.1%} of the frame, from a {coarse_side} px look",
        regions=regions,
        peak=peak,
        share=share,
        coarse_ms=coarse_ms,
    )
