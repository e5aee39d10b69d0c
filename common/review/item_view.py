"""What the item page shows beyond the verdict: the matched regions to draw over the listing image, and the
neighbours in the reviewer's filtered view ("next item" after a decision, j/k).

Why regions are drawn in the browser (an SVG over the ``<img>``) and not burnt into a served picture: the
reviewer sees the image exactly as received, the boxes can be told apart from the listing's own graphics, and
no second image is made per view. Regions are in working-copy pixels (``common.evidence.regions``); the SVG's
``viewBox`` is the working copy's size, stretched over the shown image, which is the same picture at another
scale (the working copy is a uniform downscale of the decoded candidate, EXIF orientation applied to both).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from common import imaging, paths
from common.evidence.compare import BOX_COLOURS
from common.evidence.regions import matched_regions
from common.messages import Verdict
from common.ports import NotFound
from common.review.queue_list import QueueFilters, QueueRow, next_row


@dataclass(frozen=True)
class Region:
    label: str
    x: int
    y: int
    w: int
    h: int
    colour: str


@dataclass(frozen=True)
class Overlay:
    width: int
    height: int
    regions: tuple[Region, ...]


def _size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:  # the header only: no pixels decoded
            return img.size
    except Exception:  # noqa: BLE001 - any unreadable or hostile header just means "no overlay"
        return None


def _frame(deps: Any, brand: str, scan_id: str) -> tuple[int, int] | None:
    """The working copy's size: read from it, else derived from the received image (the same downscale)."""
    try:
        size = _size(bytes(deps.blobs.read(deps.settings.work_bucket, paths.working_copy(brand, scan_id))))
        if size:
            return size
    except NotFound:
        pass
    source = (deps.docs.get(paths.scan_path(brand, scan_id)) or {}).get("source") or {}
    bucket, name = source.get("bucket"), str(source.get("name") or "")
    if not bucket or not name.startswith(f"{brand}/"):
        return None
    try:
        size = _size(bytes(deps.blobs.read(bucket, name)))
    except NotFound:
        return None
    if size is None:
        return None
    scale = min(1.0, imaging.WORKING_MAX_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def region_overlay(deps: Any, verdict: Verdict) -> Overlay | None:
    """The regions fired signals matched, with the frame they are measured in; None when there are none."""
    marked = matched_regions(verdict)
    if not marked:
        return None
    frame = _frame(deps, verdict.brand_id, verdict.scan_id)
    if frame is None:
        return None
    colours = {
        label: BOX_COLOURS[i % len(BOX_COLOURS)]
        for i, label in enumerate(dict.fromkeys(m.label for m in marked))
    }
    regions = tuple(
        Region(m.label, m.box.x, m.box.y, m.box.w, m.box.h, "rgb({},{},{})".format(*colours[m.label]))
        for m in marked
    )
    return Overlay(frame[0], frame[1], regions)


def following(docs: Any, brands: list[str], filters: QueueFilters, brand: str, listing_id: str) -> Any:
    """The row after this listing's row in the filtered view (None at the end or without a row)."""
    row = docs.get(paths.queue_path(brand, listing_id))
    return next_row(docs, brands, filters, QueueRow(row)) if row else None
