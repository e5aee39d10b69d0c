"""The trained mark detector's operating points, from labelled verdicts: how probable must a detector's hit be
before it alone counts as a brand mark, and before it confirms a look-alike as Tier 1?

The detector's own fire threshold is set at ``brand add`` on synthetic held-out images
(``common.vision.mark_training``: mark-free canvases of photos, surfaces and generic marks). Real listings hold
what those canvases do not — a competitor's plain product of the same kind, rendered boxes, cups, gravel and a
skyline behind them — and a hit there is costly: one brand mark floors Tier 2 and lifts the look-alike cap
(``common.fusion``), so every such hit is a Tier 2 false positive; with a high embedding a "confirmed" hit is a
Tier 1 one. Each verdict records the detector's best window whatever its score (``logo.detail.detector.best``:
class, probability, box), so a labelled set of verdicts — a benchmark's (scripts/bench_detection.py) or
reviewers' decisions (``counterfeit calibrate``) — shows per class kind (a logo file, or a wordmark rendered
from the trademark) and per candidate cut what the detector alone adds (counterfeits where it is the only brand
mark) and what it costs (legit listings where it would be).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common import signals as registry

BRAND_MARKS = registry.names("brand_mark")
DETECTOR_METHOD = "mark_detector"  # the method of a trained-detector hit (common.vision.mark_detector)
KINDS = ("logo", "wordmark")  # detector classes are named "logo:<file>" or "wordmark:<text>"
CUTS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97)
EMBEDDING_MODERATE = 0.5  # fusion's logo short-circuit needs at least this embedding (common.fusion)


def class_kind(name: str) -> str:
    return "wordmark" if name.startswith("wordmark:") else "logo"


@dataclass(frozen=True)
class DetectorSample:
    best: float  # the detector's best window probability on the image (fired or not)
    kind: str  # class kind of that window
    positive: bool  # counterfeit (or confirmed by a reviewer)
    other_mark: bool  # another brand mark fired (SIFT logo, copy, hash, brand text, barcode, listing text)
    embedding: float  # the embedding signal's score (0 when it did not run)


@dataclass(frozen=True)
class CutRow:
    cut: float
    positive: int  # positives whose best window reaches the cut
    positive_alone: int  # ... where the detector is the only brand mark: what the cut decides for them
    negative_alone: int  # negatives reaching the cut with no other brand mark: Tier <= 2 false positives
    positive_lookalike: (
        int  # positives reaching the cut with embedding >= EMBEDDING_MODERATE (Tier 1 if confirmed)
    )
    negative_lookalike: int  # negatives doing so: Tier 1 false positives if the cut confirmed a logo


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def detector_best(signals: dict[str, Any]) -> dict[str, Any] | None:
    """The detector's best window recorded on a verdict's logo signal (None: it did not run)."""
    logo = signals.get("logo")
    detail = _get(logo, "detail") if logo is not None else None
    best = ((detail or {}).get("detector") or {}).get("best") or {}
    return best if best.get("score") is not None else None


def other_mark_fired(signals: dict[str, Any]) -> bool:
    """A brand mark other than the trained detector's hit fired (a SIFT / Cloud Vision logo counts)."""
    for name in BRAND_MARKS:
        sig = signals.get(name)
        if sig is None or _get(sig, "status") != "fired":
            continue
        if name != "logo":
            return True
        hits = (_get(sig, "detail") or {}).get("hits") or []
        if not hits or any(h.get("method") != DETECTOR_METHOD for h in hits):
            return True
    return False


def samples_of(labelled: Sequence[tuple[dict[str, Any], bool]]) -> list[DetectorSample]:
    out = []
    for signals, positive in labelled:
        best = detector_best(signals)
        if best is None:
            continue
        emb = signals.get("embedding")
        emb_score = float(_get(emb, "score") or 0.0) if emb is not None else 0.0
        kind = class_kind(str(best.get("class") or ""))
        out.append(DetectorSample(float(best["score"]), kind, positive, other_mark_fired(signals), emb_score))
    return out


def sweep(samples: Sequence[DetectorSample], cuts: Sequence[float] = CUTS) -> list[CutRow]:
    rows = []
    for cut in cuts:
        at = [s for s in samples if s.best >= cut]
        rows.append(
            CutRow(
                cut,
                sum(1 for s in at if s.positive),
                sum(1 for s in at if s.positive and not s.other_mark),
                sum(1 for s in at if not s.positive and not s.other_mark),
                sum(1 for s in at if s.positive and s.embedding >= EMBEDDING_MODERATE),
                sum(1 for s in at if not s.positive and s.embedding >= EMBEDDING_MODERATE),
            )
        )
    return rows


def lowest_clean_cut(samples: Sequence[DetectorSample], step: float = 0.01) -> float | None:
    """The lowest cut (on a ``step`` grid) above every negative's best window that no other brand mark backs:
    where a detector hit alone stops producing the false positives of this data. None without negatives."""
    alone = [s.best for s in samples if not s.positive and not s.other_mark]
    if not alone:
        return None
    return round(min(1.0, (int(max(alone) / step) + 1) * step), 4)


def format_sweep(samples: Sequence[DetectorSample], positive: str = "cf", negative: str = "lg") -> str:
    lines = []
    for kind in KINDS:
        got = [s for s in samples if s.kind == kind]
        if not got:
            continue
        pos_alone = [s.best for s in got if s.positive and not s.other_mark]
        neg_alone = [s.best for s in got if not s.positive and not s.other_mark]
        clean = lowest_clean_cut(got)
        lines += [
            f"trained detector, images whose best window is a {kind} class: "
            f"{sum(1 for s in got if s.positive)} {positive} ({len(pos_alone)} with no other brand mark), "
            f"{sum(1 for s in got if not s.positive)} {negative} ({len(neg_alone)} with no other brand mark)",
            f"{'cut':>6} {positive + '>=cut':>8} {positive + ' alone':>9} {negative + ' alone':>9}   "
            f"{positive + '+emb':>7} {negative + '+emb':>7}",
        ]
        for r in sweep(got):
            lines.append(
                f"{r.cut:>6.2f} {r.positive:>8} {r.positive_alone:>9} {r.negative_alone:>9}   "
                f"{r.positive_lookalike:>7} {r.negative_lookalike:>7}"
            )
        top = f"{max(neg_alone):.3f}" if neg_alone else "-"
        lines.append(
            f"  highest {negative} with no other mark: {top}; lowest clean cut: {'-' if clean is None else clean}"
            f"; {positive} alone at or above it: {sum(1 for b in pos_alone if clean is None or b >= clean)} "
            f"of {len(pos_alone)} (lowest {positive} alone: "
            f"{f'{min(pos_alone):.3f}' if pos_alone else '-'})"
        )
    lines.append(
        f"  (alone: no other brand mark fired, so the cut alone decides Tier 2 for it; +emb: embedding >= "
        f"{EMBEDDING_MODERATE}, where a confirmed logo short-circuits to Tier 1)"
    )
    return "\n".join(lines)
