"""When the logo_ocr channel's trained mark detector still runs (issue 17's funnel: stop when the verdict can no
longer change).

The detector's hits join SIFT's in the ``logo`` signal, whose score is the strongest hit's confidence and whose
reference is that hit's mark (``common.vision.channel.logo_signal``); fusion reads the score, the status and
whether any hit is geometric (``common.fusion.logo_confirmed``). Once SIFT has verified a registered mark at
``SIFT_CEILING`` — the highest confidence any hit can have (``logo._confidence`` tops out at 1.0, the detector's
calibrated probability is rounded to the same four decimals and cannot exceed it) — a detector hit can neither
raise the score, nor take the reference (the sort is stable and SIFT's hits come first), nor change the
confirmation: the verdict is the same with or without it, so its ~60-110 ms CPU per image is skipped. What the
skip loses is only detail: the detector's own best window and hits of *other* mark classes, which no rule reads.
Below the ceiling the detector runs as before (a calibrated p of 0.99 may still lift a SIFT hit of 0.8).
"""

from __future__ import annotations

from collections.abc import Sequence

from common.vision.logo import LogoHit

SIFT_CEILING = 1.0  # the most any logo hit's confidence can be (SIFT's and the detector's alike)


def detector_skip_reason(hits: Sequence[LogoHit]) -> str | None:
    """Why the mark detector need not run on this candidate given SIFT's ``hits``, or None when it must."""
    verified = [h for h in hits if h.method == "sift_homography" and h.confidence >= SIFT_CEILING]
    if not verified:
        return None
    best = verified[0]
    return (
        f"skipped: SIFT verified {best.ref_id} at confidence {best.confidence:.2f} ({best.inliers} inliers), "
        "the most a detector hit could reach, so it could not change the logo signal"
    )
