"""Calibration from review decisions: suggestions checked by hand, through the real review store path."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common import calibrate
from common.bootstrap import Deps, build_deps
from common.messages import Signal, Verdict
from common.review.queue import record_decision, reviewed_verdicts
from common.settings import Settings

NOW = datetime(2026, 11, 22, tzinfo=UTC)
# (embedding score, decision); the embedding channel currently fires at >= 0.5 (every item here).
DECISIONS = [
    (0.9, "confirm"),
    (0.85, "confirm"),
    (0.8, "confirm"),
    (0.7, "confirm"),
    (0.75, "reject"),
    (0.6, "reject"),
    (0.55, "reject"),
    (0.65, "not_sure"),
]


def seed(deps: Deps) -> None:
    deps.docs.set("brands/acme", {"display_name": "ACME"})
    for i, (score, action) in enumerate(DECISIONS):
        signals = {
            "embedding": Signal(name="embedding", status="fired" if score >= 0.5 else "clear", score=score)
        }
        if i < 3:  # logo scores on only three items, all confirmed: too few to suggest anything
            best = {"class": "logo:acme.png", "score": 0.9, "box": [0, 0, 40, 40]}  # the trained detector's
            hit = {"ref_id": best["class"], "confidence": 0.9, "method": "mark_detector"}
            signals["logo"] = Signal(
                name="logo", status="fired", score=0.9, detail={"detector": {"best": best}, "hits": [hit]}
            )
        v = Verdict(
            scan_id=f"s{i}",
            brand_id="acme",
            listing_id=f"l{i}",
            tier=1 if score >= 0.85 else 2,
            score=score,
            signals=signals,
            rule="weighted",
            created_at=NOW,
        )
        deps.docs.set(f"brands/acme/verdicts/s{i}", v.model_dump(mode="python"))
        record_decision(deps.docs, "acme", f"s{i}", action=action, note="", reviewer="r", now=NOW)


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home"))
    seed(d)
    return d


def test_best_f1_threshold_by_hand(deps: Deps) -> None:
    decided = reviewed_verdicts(deps.docs, "acme")
    assert len(decided) == 8  # not-sure is stored too; calibration leaves it out
    by_signal = {s.signal: s for s in calibrate.suggest(decided)}
    emb = by_signal["embedding"]
    assert (emb.confirmed, emb.rejected) == (4, 3)
    assert (emb.current.precision, emb.current.recall) == (pytest.approx(4 / 7), 1.0)  # all fired
    assert emb.current_min_fired_score == 0.55
    # F1 by threshold: .9→.40 .85→.67 .8→.86 .75→.75 .7→.89 .6→.80 .55→.73: best 0.7 (P 4/5, R 1).
    assert emb.threshold == 0.7
    assert (emb.suggested.precision, emb.suggested.recall) == (pytest.approx(0.8), 1.0)
    logo = by_signal["logo"]
    assert logo.threshold is None and "at least 3" in logo.note
    verdict_score = by_signal[calibrate.VERDICT_SCORE]
    assert (verdict_score.current.precision, verdict_score.current.recall) == (1.0, 0.5)  # Tier 1 = .9, .85


def test_target_precision_picks_lowest_threshold_meeting_it(deps: Deps) -> None:
    emb = {s.signal: s for s in calibrate.suggest(reviewed_verdicts(deps.docs, "acme"), 1.0)}["embedding"]
    assert emb.threshold == 0.8
    assert (emb.suggested.precision, emb.suggested.recall) == (1.0, 0.75)


def test_cli_prints_the_table(
    deps: Deps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    get_settings.cache_clear()
    try:
        parser = argparse.ArgumentParser()
        calibrate.register_cli(parser.add_subparsers())
        args = parser.parse_args(["calibrate", "--brand", "acme"])
        assert args.func(args) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "8 reviewed verdicts for acme: 4 confirmed, 3 rejected" in out
    line = next(row for row in out.splitlines() if row.startswith("embedding"))
    assert "0.700" in line and "80.0%" in line
    # The detector's operating points from the same decisions: 3 confirmed verdicts carry its best window.
    assert "images whose best window is a logo class: 3 conf (3 with no other brand mark), 0 rej" in out


def test_alone_table_counts_firings_and_lone_firings() -> None:
    """The data behind fusion's Tier 2 floors: how often a brand mark fires, and fires alone, per class."""
    fired, clear = {"status": "fired", "score": 0.9}, {"status": "clear", "score": 0.1}
    samples = [
        ({"ocr_text": fired, "logo": clear}, True),
        ({"ocr_text": {"status": "fired", "score": 0.8}, "logo": fired}, True),
        ({"ocr_text": Signal(name="ocr_text", status="fired", score=0.76)}, False),
        ({"logo": clear}, False),
    ]
    rows = {r.signal: r for r in calibrate.alone_table(samples)}
    ocr = rows["ocr_text"]
    assert (ocr.fired_positive, ocr.fired_negative, ocr.alone_positive, ocr.alone_negative) == (2, 1, 1, 1)
    assert (ocr.min_positive, ocr.max_negative) == (0.8, 0.76)
    assert ocr.precision == pytest.approx(2 / 3) and ocr.alone_precision == 0.5
    assert (rows["logo"].fired_positive, rows["logo"].alone_positive) == (1, 0)
    assert rows["barcode"].precision is None
    table = calibrate.format_alone(list(rows.values()), "cf", "lg")
    assert table.splitlines()[0].split()[:3] == ["signal", "fired", "cf"] and "66.7%" in table
