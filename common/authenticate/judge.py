"""Verdicts per region, judged against what the genuine close-ups themselves show, never a fixed number.

Distances (texture, stamp geometry): the candidate's distance to its nearest genuine close-up is compared with
the leave-one-out distances of the genuine close-ups (each to its nearest other genuine). A new genuine item
exceeds the largest of n such distances with probability about 1/(n+1) (the conformal p-value reported), so:
authentic when the candidate is within the genuine spread (<= the largest leave-one-out distance), suspect when
it lies beyond it by more than the spread's own width (max + (max - min)), inconclusive in between or with fewer
than ``MIN_GENUINE`` close-ups (no spread to judge against).

SPI: seed 003's routed filter (``common.vision.spi.route``, routing on the measured value minus its uncertainty)
gives the target zone around the genuine SPI; the measured SPI +- its uncertainty is authentic when the whole interval is inside the zone, suspect when it is
wholly outside, inconclusive when it straddles a boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from common.vision.spi import route

Status = Literal["authentic", "suspect", "inconclusive"]
STRENGTH: dict[str, int] = {"suspect": 0, "inconclusive": 1, "authentic": 2}
MIN_GENUINE = 3


@dataclass
class Finding:
    status: Status
    reason: str
    measured: dict[str, Any] = field(default_factory=dict)
    genuine: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "measured": self.measured,
            "genuine": self.genuine,
        }


def weakest(statuses: list[Status]) -> Status:
    """The overall result is never stronger than its weakest part (none at all: inconclusive)."""
    if not statuses:
        return "inconclusive"
    return min(statuses, key=lambda s: STRENGTH[s])


def leave_one_out(pairwise: list[list[float]]) -> list[float]:
    n = len(pairwise)
    return [min(pairwise[i][j] for j in range(n) if j != i) for i in range(n)] if n > 1 else []


def judge_distance(what: str, unit: str, candidate: float, loo: list[float]) -> Finding:
    finite = [d for d in loo if math.isfinite(d)]
    genuine: dict[str, Any] = {"closeups": len(loo)}
    if finite:
        genuine |= {"loo_min": round(min(finite), 4), "loo_max": round(max(finite), 4)}
    measured = {"distance": round(candidate, 4) if math.isfinite(candidate) else None, "unit": unit}
    if len(finite) < MIN_GENUINE:
        return Finding("inconclusive", f"{what}: {len(finite)} comparable genuine close-ups in the kit, at least "
                       f"{MIN_GENUINE} needed to know how much genuine items vary", measured, genuine)  # fmt: skip
    if not math.isfinite(candidate):
        return Finding("inconclusive", f"{what}: nothing in the photo could be matched to any genuine close-up",
                       measured, genuine)  # fmt: skip
    lo, hi = min(finite), max(finite)
    p_value = (1 + sum(d >= candidate for d in finite)) / (len(finite) + 1)
    measured["p_value"] = round(p_value, 3)
    if candidate <= hi:
        return Finding("authentic", f"{what}: {candidate:.3f} {unit} from the nearest genuine close-up, within "
                       f"the genuine spread ({lo:.3f}-{hi:.3f})", measured, genuine)  # fmt: skip
    if candidate > hi + (hi - lo):
        return Finding("suspect", f"{what}: {candidate:.3f} {unit} from the nearest genuine close-up, beyond the "
                       f"genuine spread ({lo:.3f}-{hi:.3f}) by more than its width", measured, genuine)  # fmt: skip
    return Finding("inconclusive", f"{what}: {candidate:.3f} {unit}, just outside the genuine spread "
                   f"({lo:.3f}-{hi:.3f})", measured, genuine)  # fmt: skip


def judge_spi(spi: float, uncertainty: float, authentic_spi: float, tolerance: float | None) -> Finding:
    # Seed 003 routes on "either value <= 15": a measurement within its uncertainty of 15 counts as <= 15.
    filt = route(authentic_spi, spi - uncertainty)
    lo, hi = filt.lower * authentic_spi, filt.upper * authentic_spi
    source = f"seed 003 {filt.name} filter"
    if tolerance is not None:  # the brand's own specification narrows the zone
        lo, hi = max(lo, authentic_spi - tolerance), min(hi, authentic_spi + tolerance)
        source += f" within the kit's +-{tolerance:g}"
    measured = {"spi": round(spi, 3), "uncertainty": round(uncertainty, 3)}
    genuine = {"spi": authentic_spi, "zone": [round(lo, 3), round(hi, 3)], "filter": filt.name}
    text = f"SPI {spi:.2f} +- {uncertainty:.2f} vs genuine {authentic_spi:g} ({source}: {lo:.2f}-{hi:.2f})"
    if lo <= spi - uncertainty and spi + uncertainty <= hi:
        return Finding("authentic", text + ": inside", measured, genuine)
    if spi + uncertainty < lo or spi - uncertainty > hi:
        return Finding("suspect", text + ": outside", measured, genuine)
    return Finding("inconclusive", text + ": the uncertainty straddles the zone's edge", measured, genuine)
