"""The ``resolution`` signal (info: shown to reviewers, never scored): how many pixels the received image has.

Why: every channel is weaker on a small image (logos under ~100 px wide and small text are missed, COMPONENTS.md),
so a reviewer reading "no logo found" should see at a glance whether the image could have shown one. It reads
only what preprocess measured, so it costs nothing and runs in the hash channel, which every scan passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.messages import Signal

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.channels import Candidate

NAME = "resolution"
# Shorter side below which small marks get lost: the logo matcher misses logos under ~100 px wide and OCR text
# under ~12 px high (COMPONENTS.md); a 300 px image leaves a logo at a third of the frame about that wide.
LOW_SHORT_SIDE = 300
# Shorter side at which the score saturates: the logo matcher works at <= 1000 px, the embedding at 224 px crops.
FULL_SHORT_SIDE = 600


def resolution_signal(deps: Deps, brand: Brand, candidate: Candidate) -> Signal:
    pre = candidate.pre
    if pre is None:
        return Signal.not_run(NAME, "no preprocessed image")
    short = min(pre.width, pre.height)
    low = short < LOW_SHORT_SIDE
    megapixels = round(pre.width * pre.height / 1e6, 2)
    reason = f"Received image {pre.width}x{pre.height} px ({megapixels:g} MP)" + (
        f": low resolution (shorter side under {LOW_SHORT_SIDE} px), small logos and text may be missed."
        if low
        else "."
    )
    detail = {
        "width": pre.width,
        "height": pre.height,
        "megapixels": megapixels,
        "low": low,
        "low_short_side": LOW_SHORT_SIDE,
    }
    return Signal(
        name=NAME,
        status="clear",
        score=round(min(1.0, short / FULL_SHORT_SIDE), 4),
        reason=reason,
        detail=detail,
    )
