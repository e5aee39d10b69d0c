"""Tier boundaries on the verdict score (seed 004 chapter 8, "Composite score" node of the flowchart).

Defined once: fusion decides with them, the evaluation report draws them, docs quote them.
"""

from __future__ import annotations

TIER1_MIN = 0.85
TIER2_MIN = 0.65
TIER3_MIN = 0.40
MIN_SIGNALS_FOR_TIER1 = 2  # "≥ 0.85 and multiple signals fired"

# (lower edge, short label) of tiers 3, 2 and 1, lowest first: what a score histogram marks.
TIER_EDGES = ((TIER3_MIN, "T3"), (TIER2_MIN, "T2"), (TIER1_MIN, "T1"))


def tier_of_score(score: float, n_primary_fired: int) -> int:
    """The tier a weighted score alone earns (before short-circuits, exemptions and the dual track)."""
    if score >= TIER1_MIN and n_primary_fired >= MIN_SIGNALS_FOR_TIER1:
        return 1
    if score >= TIER2_MIN:
        return 2
    if score >= TIER3_MIN:
        return 3
    return 4
