"""The POC report: metrics checked by hand on a tiny labelled set, files written, and the demo end to end."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common import evaluate
from common.bootstrap import Deps, build_deps
from common.messages import Signal, Verdict
from common.settings import Settings

T0 = datetime(2026, 11, 21, tzinfo=UTC)
# listing -> (label, scenario, tier, score); None tier: no verdict stored.
TINY = {
    "a": ("counterfeit", "S1", 1, 0.95),
    "b": ("counterfeit", "S1", 2, 0.75),
    "c": ("counterfeit", "S2", 4, 0.20),
    "d": ("review", "S18", 2, 0.70),
    "e": ("legit", "S17", 1, 0.90),
    "f": ("legit", "S17", 3, 0.50),
    "g": ("irrelevant", None, 4, 0.05),
    "h": ("irrelevant", None, None, None),  # never scanned -> missing
    "i": ("irrelevant", None, None, None),  # scan failed -> error
}


def store_verdict(deps: Deps, lid: str, tier: int, score: float, created: datetime, scan_id: str) -> None:
    signals = {
        "hash": Signal(name="hash", status="clear", score=0.1, detail={"elapsed_ms": 4.0}),
        "embedding": Signal(
            name="embedding",
            status="fired" if tier <= 2 else "clear",
            score=score,
            detail={"elapsed_ms": 30.0 if tier == 1 else 10.0},
        ),
        "logo": Signal.not_run("logo", "short-circuit")
        if tier == 1
        else Signal(name="logo", status="clear", detail={"timings_ms": {"logo": 100.0, "ocr": 50.0}}),
    }
    v = Verdict(
        scan_id=scan_id,
        brand_id="acme",
        listing_id=lid,
        tier=tier,
        score=score,
        signals=signals,
        rule="weighted",
        created_at=created,
    )
    deps.docs.set(f"brands/acme/verdicts/{scan_id}", v.model_dump(mode="python"))


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Deps, Path]:
    deps = build_deps(Settings(home=tmp_path / "home"))
    deps.docs.set("brands/acme", {"display_name": "ACME", "reference_price": 100.0})
    lines = []
    for lid, (label, scenario, tier, score) in TINY.items():
        lines.append(
            json.dumps(
                {
                    "listing_id": lid,
                    "label": label,
                    **({"scenario": scenario} if scenario else {}),
                    **({"inventory": 7} if lid == "a" else {}),
                }
            )
        )
        if tier is not None:
            store_verdict(deps, lid, tier, score, T0, f"scan-{lid}")
    store_verdict(deps, "a", 3, 0.45, T0 - timedelta(days=1), "scan-a-old")  # older verdict: ignored
    deps.docs.set(
        "brands/acme/scans/scan-i",
        {
            "listing": {"listing_id": "i", "image": "x"},
            "status": "failed",
            "error": "preprocess: corrupt JPEG",
        },
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(lines) + "\n")
    return deps, labels


def test_metrics_match_a_hand_count(tiny: tuple[Deps, Path], tmp_path: Path) -> None:
    deps, labels = tiny
    report = evaluate.evaluate(deps, "acme", labels, out=tmp_path / "out")
    by_name = {m["name"]: m for m in report.tier_metrics}
    t1 = by_name["Tier 1 (auto-flag) vs counterfeit"]
    assert (t1["flagged"], t1["true_positives"], t1["positives"]) == (2, 1, 3)  # a,e flagged; a,b,c positive
    assert t1["precision"] == 0.5 and t1["recall"] == pytest.approx(1 / 3)
    q = by_name["Tier 1-2 (legal queue) vs counterfeit"]
    assert (q["precision"], q["recall"]) == (0.5, pytest.approx(2 / 3))  # a,b of a,b,d,e
    qr = by_name["Tier 1-2 (legal queue) vs counterfeit+review"]
    assert (qr["precision"], qr["recall"]) == (0.75, 0.75)  # a,b,d of a,b,d,e; of a,b,c,d
    assert report.share_never_seen == pytest.approx(3 / 7)  # c,f,g of 7 scored
    assert report.hidden_counterfeits == 1  # c
    assert report.confusion["counterfeit"] == {"1": 1, "2": 1, "3": 0, "4": 1, "error": 0, "missing": 0}
    assert report.confusion["irrelevant"] == {"1": 0, "2": 0, "3": 0, "4": 1, "error": 1, "missing": 1}
    assert report.hours["screened_out"] == pytest.approx(3 * 20 / 60)
    assert report.hours["evidence_automated"] == pytest.approx(2 * 20 / 60)
    assert report.hours["per_1000_candidates"] == pytest.approx((5 * 20 / 60) / 9 * 1000)
    assert report.intercepted_value == 700.0  # a: reference price 100 x inventory 7
    scen = {s["scenario"]: s for s in report.scenarios}
    assert (scen["S1"]["n"], scen["S1"]["as_expected"]) == (2, 1)
    assert (scen["S17"]["1"], scen["S17"]["3"], scen["S17"]["as_expected"]) == (1, 1, 1)
    assert scen["(none)"]["missing"] == 1 and scen["(none)"]["error"] == 1
    costs = {c["channel"]: c for c in report.costs}
    assert costs["hash"]["timing"] == "measured" and costs["hash"]["ms_per_run"] == 4.0
    assert costs["embed"]["ms_per_run"] == 10.0  # median of a..g: 30,10,10,10,30,10,10
    assert costs["logo_ocr"]["ms_per_run"] == 150.0  # timings_ms stages summed
    assert costs["logo_ocr"]["ran_share"] == pytest.approx(5 / 7)  # not run on the two Tier 1 items
    assert costs["fuse"]["timing"] == "declared"
    assert report.cost_per_image_usd == pytest.approx(sum(c["usd_per_image"] for c in report.costs))
    assert report.notes and "1 labelled item" in report.notes[0]


def test_pr_curve_by_hand(tiny: tuple[Deps, Path]) -> None:
    deps, labels = tiny
    outcomes = evaluate.stored_outcomes(deps, "acme", evaluate.read_labels(labels))
    assert evaluate.pr_curve(outcomes) == [
        (0.95, 1.0, pytest.approx(1 / 3)),
        (0.90, 0.5, pytest.approx(1 / 3)),
        (0.75, pytest.approx(2 / 3), pytest.approx(2 / 3)),
        (0.70, 0.5, pytest.approx(2 / 3)),
        (0.50, 0.4, pytest.approx(2 / 3)),
        (0.20, 0.5, 1.0),
        (0.05, pytest.approx(3 / 7), 1.0),
    ]


def test_report_files(tiny: tuple[Deps, Path], tmp_path: Path) -> None:
    deps, labels = tiny
    evaluate.evaluate(deps, "acme", labels, out=tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.json",
        "pr_curve.png",
        "report.html",
        "score_histogram.png",
    ]
    for png in ("pr_curve.png", "score_histogram.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    assert "42.9%" in page  # share never seen, 3/7
    assert '<img src="pr_curve.png"' in page and "20 min per item" in page
    metrics = json.loads((out / "metrics.json").read_text())
    assert [i["outcome"] for i in metrics["items"]] == ["1", "2", "4", "2", "1", "3", "4", "missing", "error"]
    # Search coverage (seed 004 Step 1): no discovery sweep ran, and the report says how to run one
    assert "Search coverage" in page and "No discovery sweep has run" in page
    assert (
        metrics["discovery"]["runs"] == 0
        and metrics["discovery"]["opt_in"]["web_detection"]["enabled"] is False
    )


def test_bad_labels_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"listing_id": "a", "label": "fake"}\n')
    with pytest.raises(evaluate.EvaluationError, match="label must be one of"):
        evaluate.read_labels(bad)
    bad.write_text('{"listing_id": "a", "label": "legit"}\n{"listing_id": "a", "label": "legit"}\n')
    with pytest.raises(evaluate.EvaluationError, match="labelled twice"):
        evaluate.read_labels(bad)


@pytest.mark.slow
def test_demo_end_to_end_through_the_cli(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scans the demo's labelled listings (no verdicts yet) through the real chain and writes the report."""
    from common.brands import register_brand
    from common.scan import local_runtime
    from common.settings import get_settings

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    get_settings.cache_clear()
    try:
        deps, _bus = local_runtime(get_settings())
        register_brand(deps, demo_dir / "kit")
        parser = argparse.ArgumentParser()
        evaluate.register_cli(parser.add_subparsers())
        args = parser.parse_args(
            [
                "evaluate",
                "--brand",
                "acme",
                "--labels",
                str(demo_dir / "labels.jsonl"),
                "--listings",
                str(demo_dir / "listings.jsonl"),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        assert args.func(args) == 0
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().out
    assert "Tier 1 (auto-flag) vs counterfeit" in printed
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    outcomes = {i["listing_id"]: i["outcome"] for i in metrics["items"]}
    assert outcomes["s1-exact"] == "1" and outcomes["corrupt"] == "error"
    assert all(outcomes[k] in ("3", "4") for k in outcomes if k.startswith("irrelevant-"))
    assert metrics["share_never_seen"] > 0.3
