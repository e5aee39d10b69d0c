"""`counterfeit calibrate`: per-signal threshold suggestions from human review decisions.

Reviewers confirm or reject Tier 1/2 verdicts on the review page. Each decision labels every signal score on
that verdict; for each signal we compare the current operating point (the channel's own ``fired`` decision)
with the score threshold that would have served the reviewers best, and show the expected change in
precision and recall. Recall here is relative to the confirmed items the reviewers saw: Tier 3/4 are never
reviewed, so counterfeits the pipeline buried cannot appear (use ``counterfeit evaluate`` with labels for that).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from common import paths
from common.messages import Verdict

# Below 3 confirmed and 3 rejected scores a suggested threshold is noise (one decision moves it anywhere).
MIN_EACH_CLASS = 3
VERDICT_SCORE = "(verdict score)"  # the fused score, whose threshold is the Tier 1/2 boundary


@dataclass(frozen=True)
class Point:
    precision: float | None
    recall: float | None
    flagged: int


@dataclass(frozen=True)
class Suggestion:
    signal: str
    confirmed: int
    rejected: int
    current: Point  # the signal's own fired/clear decision
    current_min_fired_score: float | None
    threshold: float | None  # None: not enough decisions
    suggested: Point | None
    note: str


def _point(samples: Sequence[tuple[float, bool, bool]], flagged_fn: Any) -> Point:
    flagged = [s for s in samples if flagged_fn(s)]
    tp = sum(1 for s in flagged if s[1])
    positives = sum(1 for s in samples if s[1])
    return Point(tp / len(flagged) if flagged else None, tp / positives if positives else None, len(flagged))


def _f1(p: Point) -> float:
    return 2 * p.precision * p.recall / (p.precision + p.recall) if p.precision and p.recall else 0.0


def best_threshold(
    samples: Sequence[tuple[float, bool, bool]], target_precision: float | None
) -> float | None:
    """The score cut-off (flag when score >= t): the lowest reaching ``target_precision``, else max F1
    (ties go to the higher threshold: fewer items for legal)."""
    best: tuple[float, float] | None = None
    for t in sorted({s[0] for s in samples}, reverse=True):
        point = _point(samples, lambda s, t=t: s[0] >= t)
        if target_precision is not None:
            if point.precision is not None and point.precision >= target_precision:
                best = (0.0, t)  # keep lowering while the target still holds
            continue
        if best is None or _f1(point) > best[0]:
            best = (_f1(point), t)
    return None if best is None else best[1]


def suggest(
    decided: Sequence[tuple[Verdict, dict[str, Any]]], target_precision: float | None = None
) -> list[Suggestion]:
    """One suggestion per signal that has scores on reviewed verdicts (plus the fused verdict score)."""
    samples: dict[str, list[tuple[float, bool, bool]]] = defaultdict(list)  # (score, confirmed, fired)
    for verdict, review in decided:
        decision = review.get("decision")
        if decision not in ("confirmed", "rejected"):
            continue
        positive = decision == "confirmed"
        samples[VERDICT_SCORE].append((verdict.score, positive, verdict.tier == 1))
        for name, sig in verdict.signals.items():
            if sig.status in ("fired", "clear") and sig.score is not None:
                samples[name].append((sig.score, positive, sig.status == "fired"))
    out = []
    for name in sorted(samples):
        rows = samples[name]
        pos = sum(1 for r in rows if r[1])
        neg = len(rows) - pos
        current = _point(rows, lambda s: s[2])
        fired_scores = [r[0] for r in rows if r[2]]
        min_fired = min(fired_scores) if fired_scores else None
        if pos < MIN_EACH_CLASS or neg < MIN_EACH_CLASS:
            out.append(
                Suggestion(
                    name,
                    pos,
                    neg,
                    current,
                    min_fired,
                    None,
                    None,
                    f"needs at least {MIN_EACH_CLASS} confirmed and {MIN_EACH_CLASS} rejected",
                )
            )
            continue
        t = best_threshold(rows, target_precision)
        suggested = _point(rows, lambda s, t=t: t is not None and s[0] >= t) if t is not None else None
        note = (
            "Tier 1 = current operating point" if name == VERDICT_SCORE else "fired = current operating point"
        )
        if t is None:
            note = f"no threshold reaches precision {target_precision}"
        out.append(Suggestion(name, pos, neg, current, min_fired, t, suggested, note))
    return out


# The brand marks fusion's Tier 2 floor lets stand alone (common.fusion.IMAGE_MARKS), plus the listing's own
# evidence, whose pair with a price anomaly is the seed-002 floor.
ALONE_SIGNALS = ("hash", "copy", "logo", "ocr_text", "barcode", "listing_text")


@dataclass(frozen=True)
class Alone:
    """How often a brand-mark signal fires on positives and negatives, and how often it is the only one."""

    signal: str
    fired_positive: int
    fired_negative: int
    alone_positive: int  # fired with no other brand-mark signal fired
    alone_negative: int
    min_positive: float | None  # lowest score among positive firings
    max_negative: float | None  # highest score among negative firings

    @property
    def precision(self) -> float | None:
        n = self.fired_positive + self.fired_negative
        return self.fired_positive / n if n else None

    @property
    def alone_precision(self) -> float | None:
        n = self.alone_positive + self.alone_negative
        return self.alone_positive / n if n else None


def alone_table(samples: Sequence[tuple[dict[str, Any], bool]]) -> list[Alone]:
    """Per brand-mark signal, from (signals, positive) pairs: the data behind fusion's Tier 2 floors. Signals
    are ``messages.Signal`` or their JSON dicts (a benchmark's ``scan --json`` records)."""
    out = []
    for name in ALONE_SIGNALS:
        pos, neg, alone_pos, alone_neg = 0, 0, 0, 0
        pos_scores: list[float] = []
        neg_scores: list[float] = []
        for signals, positive in samples:
            status, score = _status_score(signals.get(name))
            if status != "fired":
                continue
            others = [k for k in ALONE_SIGNALS if k != name and _status_score(signals.get(k))[0] == "fired"]
            if positive:
                pos, alone_pos = pos + 1, alone_pos + (not others)
                pos_scores.append(score)
            else:
                neg, alone_neg = neg + 1, alone_neg + (not others)
                neg_scores.append(score)
        out.append(
            Alone(
                name, pos, neg, alone_pos, alone_neg,
                min(pos_scores) if pos_scores else None, max(neg_scores) if neg_scores else None,
            )
        )  # fmt: skip
    return out


def _status_score(sig: Any) -> tuple[str | None, float]:
    if sig is None:
        return None, 0.0
    if isinstance(sig, dict):
        return sig.get("status"), float(sig.get("score") or 0.0)
    return sig.status, float(sig.score or 0.0)


def format_alone(rows: Sequence[Alone], positive: str = "conf", negative: str = "rej") -> str:
    lines = [
        f"{'signal fired':<14} {positive:>5} {negative:>5} {'prec':>6}  {'alone ' + positive:>11} "
        f"{'alone ' + negative:>10} {'prec':>6}  {'min ' + positive:>9} {'max ' + negative:>8}"
    ]
    for r in rows:
        lines.append(
            f"{r.signal:<14} {r.fired_positive:>5} {r.fired_negative:>5} {_fmt(r.precision)}  "
            f"{r.alone_positive:>11} {r.alone_negative:>10} {_fmt(r.alone_precision)}  "
            f"{'' if r.min_positive is None else f'{r.min_positive:.3f}':>9} "
            f"{'' if r.max_negative is None else f'{r.max_negative:.3f}':>8}"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "   —  " if value is None else f"{100 * value:5.1f}%"


def format_table(suggestions: Sequence[Suggestion]) -> str:
    lines = [
        f"{'signal':<18} {'conf':>4} {'rej':>4}  {'now P':>6} {'now R':>6}  {'min fired':>9}  "
        f"{'suggest':>7}  {'new P':>6} {'new R':>6}  note"
    ]
    for s in suggestions:
        new = s.suggested
        lines.append(
            f"{s.signal:<18} {s.confirmed:>4} {s.rejected:>4}  {_fmt(s.current.precision)} {_fmt(s.current.recall)}  "
            f"{'' if s.current_min_fired_score is None else f'{s.current_min_fired_score:.3f}':>9}  "
            f"{'' if s.threshold is None else f'{s.threshold:.3f}':>7}  "
            f"{_fmt(new.precision if new else None)} {_fmt(new.recall if new else None)}  {s.note}"
        )
    return "\n".join(lines)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from common.authz import scoped_for_cli_brand
    from common.bootstrap import build_deps
    from common.review.queue import reviewed_verdicts
    from common.settings import get_settings

    deps = scoped_for_cli_brand(build_deps(get_settings()), args.brand)
    if deps.docs.get(paths.brand(args.brand)) is None:
        print(f"counterfeit: error: unknown brand {args.brand!r}", file=sys.stderr)
        return 2
    decided = reviewed_verdicts(deps.docs, args.brand)
    suggestions = suggest(decided, args.target_precision)
    if args.json:
        print(json.dumps([asdict(s) for s in suggestions], indent=2))
    else:
        confirmed = sum(1 for _, r in decided if r.get("decision") == "confirmed")
        rejected = sum(1 for _, r in decided if r.get("decision") == "rejected")
        print(
            f"{len(decided)} reviewed verdicts for {args.brand}: {confirmed} confirmed, {rejected} rejected "
            f"(not-sure decisions are left out)"
        )
        print(format_table(suggestions) if suggestions else "no confirmed or rejected decisions yet")
        samples = [(v.signals, r.get("decision") == "confirmed") for v, r in decided
                   if r.get("decision") in ("confirmed", "rejected")]  # fmt: skip
        if samples:
            print("\nbrand-mark signals alone (the data behind fusion's Tier 2 floors):")
            print(format_alone(alone_table(samples)))
            from common.calibrate_detector import format_sweep, samples_of

            detector = samples_of(samples)
            if detector:
                print("\nthe trained mark detector's hit alone (the data behind fusion.DETECTOR_MARK):")
                print(format_sweep(detector, "conf", "rej"))
    return 0


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command

    p = add_command(
        subparsers,
        "calibrate",
        help="per-signal threshold suggestions from review decisions",
        examples=[
            "counterfeit calibrate --brand acme",
            "counterfeit calibrate --brand acme --target-precision 0.95",
        ],
    )
    p.add_argument("--brand", required=True, help="the brand whose reviewed verdicts are used")
    p.add_argument(
        "--target-precision",
        type=float,
        default=None,
        help="suggest the lowest threshold reaching this precision (default: best F1)",
    )
    p.add_argument("--json", action="store_true", help="print the suggestions as one JSON array")
    p.set_defaults(func=_cmd_calibrate)
