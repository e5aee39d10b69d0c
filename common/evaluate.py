"""`counterfeit evaluate`: the proof-of-concept report (seed 004, Step 2) from labelled listings.

Labels are JSON Lines ``{"listing_id", "label": counterfeit|review|legit|irrelevant, "scenario"?, ...}``.
Verdicts are read from the store (newest per listing); labelled items without one are scanned first when the
label line (or ``--listings``) gives their image. The report answers the seed's questions in business terms:
precision/recall per tier, confusion matrix, per-scenario table, the share of items legal never has to see,
review hours saved, cost per image per channel, and plots (PR curve, score histograms by class).
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import paths
from common import signals as registry
from common.messages import Listing, Verdict
from common.ports import Filter, iter_chunks
from common.tiers import TIER_EDGES

if TYPE_CHECKING:
    from common.bootstrap import Deps

LABELS = ("counterfeit", "review", "legit", "irrelevant")
COLUMNS = ("1", "2", "3", "4", "error", "missing")
# Seed 004, Step 3: evidence automation "reducing takedown preparation from 20 minutes to a few seconds".
# The same 20 minutes is the assumed manual handling time of one item a legal reviewer would otherwise open.
MINUTES_PER_ITEM = 20.0
# Which tiers count as a correct outcome per label (seed 004 tiers: 1 counterfeit, 2 human review,
# 3 generic look-alike, 4 unrelated; S18 second-hand goes to review, never Tier 1).
EXPECTED_TIERS = {"counterfeit": {1}, "review": {2}, "legit": {3, 4}, "irrelevant": {3, 4}}
SURFACED_TIERS = {1, 2}  # what reaches the legal team's queue
FIRESTORE_IN_LIMIT = 30  # values per "in" filter (Firestore's limit)

# -- cost model --------------------------------------------------------------------------------------------
# Cloud Run / Cloud Functions gen2 tier-1 list prices (request-based billing, 2024 price page):
CPU_USD_PER_VCPU_S = 0.000024
MEM_USD_PER_GIB_S = 0.0000025
USD_PER_INVOCATION = 0.40 / 1_000_000
# Seed 004 appendix: Cloud Vision "$1.50 to $3.50 per 1,000 requests" (first 1,000/month free); lower bound.
CLOUD_VISION_USD_PER_IMAGE = 1.50 / 1000
# Declared per-run times when verdicts carry no measured timings: DESIGN.md quality bar for the hash path
# (<= 15 ms); COMPONENTS.md for embed (EfficientNet-Lite0 6 ms + ~5 ms resize) and logo/OCR (SIFT 67 ms +
# ~25 ms match per logo + RapidOCR ~130 ms); fuse is bookkeeping (~2 ms, declared).
DECLARED_CHANNEL_MS = {"hash": 15.0, "embed": 11.0, "logo_ocr": 222.0, "fuse": 2.0}
CHANNEL_MEMORY_GIB = {"hash": 0.5, "embed": 1.0, "logo_ocr": 1.0, "fuse": 0.25}  # function sizes (declared)
# Which cost row a signal's time belongs to (the registry's channel; the listing channel runs inside fuse).
SIGNAL_CHANNEL = {s.name: "fuse" if s.channel == "listing" else s.channel for s in registry.SIGNALS}
TIMING_KEYS = ("elapsed_ms", "duration_ms", "timing_ms", "ms")


@dataclass(frozen=True)
class LabelledItem:
    listing_id: str
    label: str
    scenario: str | None
    raw: dict[str, Any]


@dataclass
class Outcome:
    item: LabelledItem
    tier: int | None  # None: error or missing
    score: float | None
    status: str  # "scored" | "error" | "missing"
    verdict: Verdict | None = None
    error: str | None = None

    @property
    def column(self) -> str:
        return str(self.tier) if self.status == "scored" else self.status


@dataclass
class Report:
    brand_id: str
    n: int
    counts: dict[str, int]
    tier_metrics: list[dict[str, Any]]
    per_tier: list[dict[str, Any]]
    confusion: dict[str, dict[str, int]]
    scenarios: list[dict[str, Any]]
    share_never_seen: float | None
    hidden_counterfeits: int
    hours: dict[str, float]
    costs: list[dict[str, Any]]
    cost_per_image_usd: float
    intercepted_value: float | None
    notes: list[str] = field(default_factory=list)
    # Search coverage (common/discovery/report.py coverage): what discovery sweeps found for this brand.
    discovery: dict[str, Any] | None = None


class EvaluationError(ValueError):
    """Bad labels file or arguments; the message says what to fix."""


def read_labels(path: Path) -> list[LabelledItem]:
    items: list[LabelledItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
            raise EvaluationError(f"{path}:{number}: not JSON ({exc.__class__.__name__})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("listing_id"), str):
            raise EvaluationError(f"{path}:{number}: needs a string listing_id")
        if raw.get("label") not in LABELS:
            raise EvaluationError(f"{path}:{number}: label must be one of {', '.join(LABELS)}")
        if raw["listing_id"] in seen:
            raise EvaluationError(f"{path}:{number}: listing {raw['listing_id']!r} is labelled twice")
        seen.add(raw["listing_id"])
        scenario = raw.get("scenario")
        items.append(LabelledItem(raw["listing_id"], raw["label"], str(scenario) if scenario else None, raw))
    if not items:
        raise EvaluationError(f"{path}: no labelled items")
    return items


def _verdict_from_doc(doc: dict[str, Any]) -> Verdict:
    return Verdict.model_validate({k: v for k, v in doc.items() if k in Verdict.model_fields})


def stored_outcomes(deps: Deps, brand_id: str, items: Sequence[LabelledItem]) -> list[Outcome]:
    """The newest verdict per labelled listing; failed scans count as errors, the rest as missing."""
    ids = [it.listing_id for it in items]
    newest: dict[str, Verdict] = {}
    for chunk in iter_chunks(ids, FIRESTORE_IN_LIMIT):
        for _path, doc in deps.docs.query(
            paths.verdicts(brand_id), [Filter("listing_id", "in", list(chunk))]
        ):
            v = _verdict_from_doc(doc)
            if v.listing_id not in newest or v.created_at > newest[v.listing_id].created_at:
                newest[v.listing_id] = v
    errors: dict[str, str] = {}
    unscored = [i for i in ids if i not in newest]
    for chunk in iter_chunks(unscored, FIRESTORE_IN_LIMIT):
        rows = deps.docs.query(paths.scans(brand_id), [Filter("listing.listing_id", "in", list(chunk))])
        for _path, doc in rows:
            if doc.get("status") in ("failed", "dead_lettered"):
                lid = doc["listing"]["listing_id"]
                errors[lid] = str(doc.get("error") or doc.get("dead_letter_reason") or doc["status"])
    out = []
    for it in items:
        found = newest.get(it.listing_id)
        if found is not None:
            out.append(Outcome(it, found.tier, found.score, "scored", found))
        elif it.listing_id in errors:
            out.append(Outcome(it, None, None, "error", error=errors[it.listing_id]))
        else:
            out.append(Outcome(it, None, None, "missing"))
    return out


def listings_to_scan(
    items: Sequence[LabelledItem], outcomes: Sequence[Outcome], listings_file: Path | None
) -> list[Listing]:
    """Listings for labelled items with no verdict: from the label line itself, else from ``--listings``."""
    extra: dict[str, dict[str, Any]] = {}
    if listings_file is not None:
        for number, line in enumerate(listings_file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    raw = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    raise EvaluationError(
                        f"{listings_file}:{number}: not JSON ({exc.__class__.__name__})"
                    ) from None
                if isinstance(raw, dict) and isinstance(raw.get("listing_id"), str):
                    extra[raw["listing_id"]] = raw
    missing = {o.item.listing_id for o in outcomes if o.status == "missing"}
    out = []
    for it in items:
        if it.listing_id not in missing:
            continue
        raw = it.raw if it.raw.get("image") else extra.get(it.listing_id)
        if raw:
            out.append(
                Listing.model_validate({k: v for k, v in raw.items() if k not in ("label", "scenario")})
            )
    return out


def run_scans(deps: Deps, bus: Any, brand_id: str, listings: list[Listing], base_dir: Path | None) -> int:
    """Scan listings through the normal chain (``common.scan``); returns how many were scanned."""
    try:
        from common.scan import scan_listings
    except ImportError as exc:  # the scan loop ships with the pipeline; say so instead of a traceback
        raise EvaluationError(
            "scanning unlabelled items needs common.scan.scan_listings, which is not available "
            "in this installation; scan first with `counterfeit scan`"
        ) from exc
    return sum(1 for _ in scan_listings(deps, bus, brand_id, listings, base_dir=base_dir))


# -- metrics -----------------------------------------------------------------------------------------------
def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def tier_metrics(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Precision/recall of "flagged at tier <= k" against the positives each queue is meant to catch."""
    scored = [o for o in outcomes if o.status == "scored"]
    rows = []
    for name, tiers, positives in (
        ("Tier 1 (auto-flag) vs counterfeit", {1}, {"counterfeit"}),
        ("Tier 1-2 (legal queue) vs counterfeit", {1, 2}, {"counterfeit"}),
        ("Tier 1-2 (legal queue) vs counterfeit+review", {1, 2}, {"counterfeit", "review"}),
    ):
        flagged = [o for o in scored if o.tier in tiers]
        tp = sum(1 for o in flagged if o.item.label in positives)
        pos = sum(1 for o in scored if o.item.label in positives)
        p, r = _ratio(tp, len(flagged)), _ratio(tp, pos)
        f1 = 2 * p * r / (p + r) if p and r else None
        rows.append(
            {
                "name": name,
                "flagged": len(flagged),
                "true_positives": tp,
                "positives": pos,
                "precision": p,
                "recall": r,
                "f1": f1,
            }
        )
    return rows


def per_tier(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    rows = []
    for tier in (1, 2, 3, 4):
        here = [o for o in outcomes if o.status == "scored" and o.tier == tier]
        labels = Counter(o.item.label for o in here)
        rows.append(
            {
                "tier": tier,
                "n": len(here),
                **{lab: labels.get(lab, 0) for lab in LABELS},
                "counterfeit_share": _ratio(labels.get("counterfeit", 0), len(here)),
            }
        )
    return rows


def confusion(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    table = {lab: dict.fromkeys(COLUMNS, 0) for lab in LABELS}
    for o in outcomes:
        table[o.item.label][o.column] += 1
    return table


def scenarios(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.item.scenario or "(none)"].append(o)
    rows = []
    for name in sorted(groups):
        group = groups[name]
        cols = Counter(o.column for o in group)
        expected = sum(1 for o in group if o.tier in EXPECTED_TIERS[o.item.label])
        rows.append(
            {
                "scenario": name,
                "n": len(group),
                "labels": dict(Counter(o.item.label for o in group)),
                **{c: cols.get(c, 0) for c in COLUMNS},
                "as_expected": expected,
                "as_expected_share": _ratio(expected, len(group)),
            }
        )
    return rows


def _signal_ms(detail: dict[str, Any]) -> float | None:
    """A measured time in a signal's detail: ``timings_ms`` (dict of stage -> ms, summed) or a plain number."""
    stages = detail.get("timings_ms")
    if isinstance(stages, dict):
        values = [float(v) for v in stages.values() if isinstance(v, int | float) and not isinstance(v, bool)]
        if values:
            return sum(values)
    for key in TIMING_KEYS:
        value = detail.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def channel_costs(
    outcomes: Sequence[Outcome], vision_backend: str = "local"
) -> tuple[list[dict[str, Any]], float]:
    """Per channel: how often it ran, its time per run (measured if verdicts carry timings, else declared) and
    the resulting cloud cost; plus the expected cost of one image through the funnel."""
    scored = [o.verdict for o in outcomes if o.verdict is not None]
    ran: Counter[str] = Counter()
    measured: dict[str, list[float]] = defaultdict(list)
    for v in scored:
        channels_ran: set[str] = {"fuse"}
        per_channel_ms: dict[str, float] = defaultdict(float)
        for name, sig in v.signals.items():
            channel = SIGNAL_CHANNEL.get(name)
            if channel is None or sig.status == "not_run":
                continue
            channels_ran.add(channel)
            ms = _signal_ms(sig.detail)
            if ms is not None:  # signals of one channel share its timing: keep the largest
                per_channel_ms[channel] = max(per_channel_ms[channel], ms)
        for channel in channels_ran:
            ran[channel] += 1
        for channel, ms in per_channel_ms.items():
            measured[channel].append(ms)
    rows, total = [], 0.0
    n = len(scored)
    for channel, declared in DECLARED_CHANNEL_MS.items():
        ms = statistics.median(measured[channel]) if measured[channel] else declared
        seconds = ms / 1000
        per_run = (
            seconds * (CPU_USD_PER_VCPU_S + MEM_USD_PER_GIB_S * CHANNEL_MEMORY_GIB[channel])
            + USD_PER_INVOCATION
        )
        if channel == "logo_ocr" and vision_backend == "cloud":
            per_run += 2 * CLOUD_VISION_USD_PER_IMAGE  # logo + text detection requests
        share = ran[channel] / n if n else 0.0
        total += share * per_run
        rows.append(
            {
                "channel": channel,
                "ran_share": share,
                "ms_per_run": ms,
                "timing": "measured" if measured[channel] else "declared",
                "usd_per_run": per_run,
                "usd_per_image": share * per_run,
            }
        )
    return rows, total


def build_report(
    brand_id: str,
    outcomes: Sequence[Outcome],
    *,
    minutes_per_item: float = MINUTES_PER_ITEM,
    reference_price: float | None = None,
    vision_backend: str = "local",
) -> Report:
    scored = [o for o in outcomes if o.status == "scored"]
    never_seen = [o for o in scored if o.tier not in SURFACED_TIERS]
    tier1 = [o for o in scored if o.tier == 1]
    hours = {
        "screened_out": len(never_seen) * minutes_per_item / 60,
        "evidence_automated": len(tier1) * minutes_per_item / 60,
    }
    hours["total"] = hours["screened_out"] + hours["evidence_automated"]
    hours["per_1000_candidates"] = hours["total"] / len(outcomes) * 1000 if outcomes else 0.0
    hours["minutes_per_item"] = minutes_per_item
    costs, per_image = channel_costs(outcomes, vision_backend)
    intercepted = None
    if reference_price:
        # Seed 004's "potential revenue loss intercepted": genuine price x units offered (1 when unknown).
        intercepted = reference_price * sum(
            _inventory(o) or 1 for o in tier1 if o.item.label == "counterfeit"
        )
    notes = []
    missing = sum(1 for o in outcomes if o.status == "missing")
    if missing:
        notes.append(
            f"{missing} labelled item(s) have no verdict and no image to scan; they count as 'missing'."
        )
    return Report(
        brand_id=brand_id,
        n=len(outcomes),
        counts=dict(Counter(o.column for o in outcomes)),
        tier_metrics=tier_metrics(outcomes),
        per_tier=per_tier(outcomes),
        confusion=confusion(outcomes),
        scenarios=scenarios(outcomes),
        share_never_seen=_ratio(len(never_seen), len(scored)),
        hidden_counterfeits=sum(1 for o in never_seen if o.item.label == "counterfeit"),
        hours=hours,
        costs=costs,
        cost_per_image_usd=per_image,
        intercepted_value=intercepted,
        notes=notes,
    )


def _inventory(o: Outcome) -> int | None:
    value = o.item.raw.get("inventory")
    return int(value) if isinstance(value, int) and value >= 0 else None


def pr_curve(outcomes: Iterable[Outcome]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of "score >= threshold" for counterfeit, one point per distinct score."""
    pairs = sorted(
        (
            (o.score, o.item.label == "counterfeit")
            for o in outcomes
            if o.status == "scored" and o.score is not None
        ),
        reverse=True,
    )
    positives = sum(1 for _, pos in pairs if pos)
    points, tp = [], 0
    for i, (score, pos) in enumerate(pairs):
        tp += pos
        if i + 1 < len(pairs) and pairs[i + 1][0] == score:
            continue
        points.append((score, tp / (i + 1), tp / positives if positives else 0.0))
    return points


# -- report files ------------------------------------------------------------------------------------------
def write_plots(outcomes: Sequence[Outcome], out: Path) -> list[str]:
    """PR curve and score histograms by class as PNG files; returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    points = pr_curve(outcomes)
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    if points:
        ax.plot([r for _, _, r in points], [p for _, p, _ in points], marker="o", drawstyle="steps-post")
        for threshold, p, r in points[:: max(1, len(points) // 8)]:
            ax.annotate(f"{threshold:.2f}", (r, p), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(
        xlabel="recall (counterfeit)",
        ylabel="precision",
        xlim=(0, 1.02),
        ylim=(0, 1.05),
        title="Precision-recall of the verdict score",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "pr_curve.png")
    plt.close(fig)
    names.append("pr_curve.png")

    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=110)
    bins = [i / 20 for i in range(21)]
    for label in LABELS:
        scores = [o.score for o in outcomes if o.item.label == label and o.score is not None]
        if scores:
            ax.hist(scores, bins=bins, alpha=0.55, label=f"{label} ({len(scores)})")
    for edge, text in TIER_EDGES:  # DESIGN.md tier boundaries (common.tiers)
        ax.axvline(edge, color="grey", linestyle="--", linewidth=0.8)
        ax.text(edge + 0.005, ax.get_ylim()[1] * 0.95, text, fontsize=8, color="grey")
    ax.set(xlabel="verdict score", ylabel="items", title="Score distribution by label")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "score_histogram.png")
    plt.close(fig)
    names.append("score_histogram.png")
    return names


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report, plots: Sequence[str], outcomes: Sequence[Outcome]) -> str:
    from common.discovery.report import render_html as discovery_html

    r = report
    h = r.hours
    summary = [
        f"{r.n} labelled items; {r.counts.get('error', 0)} failed to scan, {r.counts.get('missing', 0)} missing.",
        f"The legal team never has to see {_pct(r.share_never_seen)} of the scanned items (Tier 3/4); "
        f"{r.hidden_counterfeits} labelled counterfeit(s) are among them.",
        f"Estimated review time saved: {h['total']:.1f} h on this set ({h['per_1000_candidates']:.0f} h per 1,000 "
        f"candidates), at {h['minutes_per_item']:g} min per item (seed 004: takedown preparation 20 min).",
        f"Expected cloud cost per image through the funnel: ${r.cost_per_image_usd:.6f}.",
    ]
    if r.intercepted_value is not None:
        summary.append(
            f"Tier-1 counterfeits found represent about {r.intercepted_value:,.0f} in genuine-price "
            "value (reference price x units offered)."
        )
    metrics = _table(
        ["queue / positives", "flagged", "TP", "positives", "precision", "recall", "F1"],
        [
            (
                m["name"],
                m["flagged"],
                m["true_positives"],
                m["positives"],
                _pct(m["precision"]),
                _pct(m["recall"]),
                _pct(m["f1"]),
            )
            for m in r.tier_metrics
        ],
    )
    tiers = _table(
        ["tier", "n", *LABELS, "counterfeit share"],
        [(t["tier"], t["n"], *(t[lab] for lab in LABELS), _pct(t["counterfeit_share"])) for t in r.per_tier],
    )
    conf = _table(
        ["label \\ outcome", *(f"Tier {c}" if c.isdigit() else c for c in COLUMNS)],
        [(lab, *(r.confusion[lab][c] for c in COLUMNS)) for lab in LABELS],
    )
    scen = _table(
        ["scenario", "n", "labels", *COLUMNS, "as expected"],
        [
            (
                s["scenario"],
                s["n"],
                ", ".join(f"{k}:{v}" for k, v in sorted(s["labels"].items())),
                *(s[c] for c in COLUMNS),
                f"{s['as_expected']}/{s['n']}",
            )
            for s in r.scenarios
        ],
    )
    costs = _table(
        ["channel", "runs per image", "ms per run", "timing", "USD per run", "USD per image"],
        [
            (
                c["channel"],
                f"{c['ran_share']:.2f}",
                f"{c['ms_per_run']:.1f}",
                c["timing"],
                f"{c['usd_per_run']:.7f}",
                f"{c['usd_per_image']:.7f}",
            )
            for c in r.costs
        ],
    )
    items = _table(
        ["listing", "label", "scenario", "outcome", "score", "rule / error"],
        [
            (
                o.item.listing_id,
                o.item.label,
                o.item.scenario or "",
                o.column,
                "" if o.score is None else f"{o.score:.3f}",
                (o.verdict.rule if o.verdict else o.error or ""),
            )
            for o in outcomes
        ],
    )
    discovery = "<p>Not computed.</p>" if r.discovery is None else discovery_html(r.discovery, _table)
    figures = "".join(f'<figure><img src="{html.escape(p)}" alt="{html.escape(p)}"></figure>' for p in plots)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in r.notes)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>POC report: {html.escape(r.brand_id)}</title><style>
body{{font:14px/1.5 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1d1d1f}}
table{{border-collapse:collapse;margin:8px 0 20px}}th,td{{border:1px solid #ddd;padding:4px 8px;text-align:left}}
th{{background:#f0f0f2}}figure{{display:inline-block;margin:0 12px 12px 0}}img{{max-width:520px}}
</style></head><body>
<h1>Proof-of-concept report — brand {html.escape(r.brand_id)}</h1>
<h2>Summary</h2><ul>{"".join(f"<li>{html.escape(s)}</li>" for s in summary)}</ul>
<h2>Precision and recall</h2>{metrics}
<p>Positives: items labelled <i>counterfeit</i> (and <i>review</i> where stated). Failed or missing items are
left out of precision/recall and shown in the confusion matrix.</p>
<h2>What each tier holds</h2>{tiers}
<h2>Confusion matrix</h2>{conf}
<h2>Per scenario</h2>{scen}
<p>"As expected": counterfeit in Tier 1, review in Tier 2, legit and irrelevant in Tier 3/4.</p>
<h2>Plots</h2>{figures}
<h2>Cost per image per channel</h2>{costs}
<p>Cloud Run/Functions list prices: ${CPU_USD_PER_VCPU_S:.6f}/vCPU-s, ${MEM_USD_PER_GIB_S:.7f}/GiB-s,
${USD_PER_INVOCATION * 1e6:.2f} per million invocations; "declared" timings come from DESIGN.md and COMPONENTS.md
where verdicts carry no measured timings.</p>
<h2>Search coverage (seed 004 Step 1)</h2>{discovery}
<h2>Items</h2>{items}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>"""


def write_report(report: Report, outcomes: Sequence[Outcome], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(outcomes, out)
    (out / "report.html").write_text(render_html(report, plots, outcomes), encoding="utf-8")
    data = asdict(report)
    data["items"] = [
        {
            "listing_id": o.item.listing_id,
            "label": o.item.label,
            "scenario": o.item.scenario,
            "outcome": o.column,
            "tier": o.tier,
            "score": o.score,
            "error": o.error,
        }
        for o in outcomes
    ]
    data["pr_curve"] = [{"threshold": t, "precision": p, "recall": r} for t, p, r in pr_curve(outcomes)]
    (out / "metrics.json").write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    return {"html": out / "report.html", "metrics": out / "metrics.json", **{p: out / p for p in plots}}


def evaluate(
    deps: Deps,
    brand_id: str,
    labels: Path,
    *,
    out: Path,
    bus: Any = None,
    listings_file: Path | None = None,
    minutes_per_item: float = MINUTES_PER_ITEM,
) -> Report:
    """Read (or first run) verdicts for the labelled items and write the report into ``out``."""
    items = read_labels(labels)
    outcomes = stored_outcomes(deps, brand_id, items)
    to_scan = listings_to_scan(items, outcomes, listings_file)
    if to_scan:
        if bus is None:
            raise EvaluationError(
                f"{len(to_scan)} labelled item(s) have no verdict; scanning needs the local bus"
            )
        base = (listings_file or labels).resolve().parent
        run_scans(deps, bus, brand_id, to_scan, base)
        outcomes = stored_outcomes(deps, brand_id, items)
    brand_doc = deps.docs.get(paths.brand(brand_id)) or {}
    price = brand_doc.get("reference_price")
    report = build_report(
        brand_id,
        outcomes,
        minutes_per_item=minutes_per_item,
        reference_price=float(price) if isinstance(price, int | float) else None,
        vision_backend=deps.settings.vision_backend,
    )
    from common.discovery.report import coverage

    report.discovery = coverage(deps, brand_id)  # seed 004 Step 1's search-coverage checkpoint
    write_report(report, outcomes, out)
    return report


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from common.authz import scoped_for_cli_brand
    from common.scan import local_runtime
    from common.settings import get_settings

    deps, bus = local_runtime(get_settings())
    deps = scoped_for_cli_brand(deps, args.brand)
    if deps.docs.get(paths.brand(args.brand)) is None:
        print(
            f"counterfeit: error: unknown brand {args.brand!r}; register it with `counterfeit brand add KIT_DIR`",
            file=sys.stderr,
        )
        return 2
    try:
        report = evaluate(
            deps,
            args.brand,
            args.labels,
            out=args.out,
            bus=bus,
            listings_file=args.listings,
            minutes_per_item=args.minutes_per_item,
        )
    except (EvaluationError, OSError) as exc:
        print(f"counterfeit: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report_summary(report, args.out), ensure_ascii=False, default=str))
        return 0
    for m in report.tier_metrics:
        print(f"{m['name']:<46} precision {_pct(m['precision']):>7}  recall {_pct(m['recall']):>7}")
    print(
        f"never seen by legal (Tier 3/4): {_pct(report.share_never_seen)}; "
        f"review hours saved: {report.hours['total']:.1f}; cost per image: ${report.cost_per_image_usd:.6f}"
    )
    print(f"report: {args.out / 'report.html'}")
    return 0


def report_summary(report: Report, out: Path) -> dict[str, Any]:
    """``evaluate --json``: the headline figures and where the full report went (metrics.json has it all)."""
    return {
        "brand": report.brand_id,
        "items": report.n,
        "counts": report.counts,
        "tier_metrics": report.tier_metrics,
        "share_never_seen": report.share_never_seen,
        "hidden_counterfeits": report.hidden_counterfeits,
        "hours": report.hours,
        "cost_per_image_usd": report.cost_per_image_usd,
        "intercepted_value": report.intercepted_value,
        "discovery": None
        if report.discovery is None
        else {
            k: report.discovery[k]
            for k in (
                "runs",
                "images",
                "share_product_pages",
                "share_by_class",
                "tier_1_2",
                "cost_per_useful_usd",
            )
        },
        "report": str(out / "report.html"),
        "metrics": str(out / "metrics.json"),
    }


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command

    p = add_command(
        subparsers,
        "evaluate",
        help="POC report from labelled listings (precision/recall, savings)",
        examples=[
            "counterfeit evaluate --brand acme --labels labels.jsonl --out report/",
            "counterfeit evaluate --brand acme --labels labels.jsonl --listings listings.jsonl --json",
        ],
    )
    p.add_argument("--brand", required=True, help="the registered brand the labels are for")
    p.add_argument(
        "--labels",
        type=Path,
        required=True,
        help="JSON Lines: listing_id, label (counterfeit|review|legit|irrelevant), scenario?, image?",
    )
    p.add_argument(
        "--listings", type=Path, help="listings JSON Lines, to scan labelled items with no verdict"
    )
    p.add_argument("--out", type=Path, default=Path("poc-report"), help="report folder (default: poc-report)")
    p.add_argument(
        "--minutes-per-item",
        type=float,
        default=MINUTES_PER_ITEM,
        help=f"manual minutes per item (default {MINUTES_PER_ITEM:g}, seed 004)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (tier metrics, hours, costs, report paths) instead of text",
    )
    p.set_defaults(func=_cmd_evaluate)
