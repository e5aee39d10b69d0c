"""The regions of the listing image that fired signals matched, in working-copy pixels.

Why one module: the evidence bundle boxes them on its comparison picture and the review page draws them over
the listing image; both must show the same regions. Where each channel reports its regions (``Signal.detail``):
logo ``hits[].box`` (SIFT homography or Cloud Vision), OCR text ``boxes`` (lines holding the matched mark),
copy verification ``box`` (the brand photo's outline projected onto the listing), barcode ``decoded[].box``
(only codes that carry the matched brand code).
"""

from __future__ import annotations

import re
from typing import Any

from common.evidence.compare import MarkedBox
from common.messages import Box, Verdict


def as_box(raw: Any) -> Box | None:
    """``{x, y, w, h}`` or ``[x, y, w, h]`` (both appear in channel details) as a Box, else None."""
    try:
        if isinstance(raw, dict):
            return Box.model_validate({k: round(float(raw[k])) for k in ("x", "y", "w", "h")})
        if isinstance(raw, list | tuple) and len(raw) == 4:
            x, y, w, h = (round(float(v)) for v in raw)
            return Box(x=x, y=y, w=w, h=h)
    except (ValueError, TypeError, KeyError):
        return None
    return None


def _squash(value: Any) -> str:
    return re.sub(r"[\s-]+", "", str(value)).casefold()


def _raw_boxes(detail: dict[str, Any]) -> list[Any]:
    raws = list(detail.get("boxes") or [])
    raws += [hit.get("box") for hit in detail.get("hits") or [] if isinstance(hit, dict)]
    if detail.get("box") is not None:
        raws.append(detail["box"])
    matched = _squash(detail.get("matched") or "")
    for code in detail.get("decoded") or []:
        if isinstance(code, dict) and matched and matched in _squash(code.get("value") or ""):
            raws.append(code.get("box"))
    return raws


def matched_regions(verdict: Verdict) -> list[MarkedBox]:
    """Every region of a fired signal, labelled with the signal's name (signals in name order)."""
    marked: list[MarkedBox] = []
    for name, sig in sorted(verdict.signals.items()):
        if sig.status != "fired":
            continue
        for raw in _raw_boxes(sig.detail):
            box = as_box(raw)
            if box is not None:
                marked.append(MarkedBox(label=name, box=box))
    return marked
