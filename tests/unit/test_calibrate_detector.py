"""The detector operating-point table: counts checked by hand on verdict-shaped signals."""

from __future__ import annotations

from common import calibrate_detector as cd
from common.messages import Signal


def _logo(best: float, hits: list[str]) -> dict[str, object]:
    return {
        "status": "fired" if hits else "clear",
        "score": best if hits else 0.0,
        "detail": {
            "detector": {"best": {"score": best}},
            "hits": [{"method": m, "confidence": best} for m in hits],
        },
    }


def test_sweep_counts_lone_detector_hits_per_cut() -> None:
    ocr = {"status": "fired", "score": 1.0}
    labelled = [
        ({"logo": _logo(0.92, ["mark_detector"])}, True),  # the detector alone finds it
        ({"logo": _logo(0.72, ["mark_detector"]), "ocr_text": ocr}, True),  # backed by brand text
        ({"logo": _logo(0.6, ["mark_detector", "sift_homography"])}, True),  # SIFT confirms: another mark
        ({"logo": _logo(0.78, ["mark_detector"])}, False),  # a look-alike: a Tier 2 false positive at <= 0.78
        ({"logo": _logo(0.4, [])}, False),
        ({"ocr_text": Signal(name="ocr_text", status="fired", score=1.0)}, False),  # no detector: left out
    ]
    samples = cd.samples_of(labelled)
    assert [(s.positive, s.other_mark) for s in samples] == [
        (True, False), (True, True), (True, True), (False, False), (False, False)
    ]  # fmt: skip
    rows = {r.cut: r for r in cd.sweep(samples, (0.5, 0.75, 0.8, 0.95))}
    assert (rows[0.5].positive, rows[0.5].positive_alone, rows[0.5].negative_alone) == (3, 1, 1)
    assert (rows[0.75].positive, rows[0.75].negative_alone) == (1, 1)
    assert (rows[0.8].positive_alone, rows[0.8].negative_alone) == (1, 0)
    assert rows[0.95].positive == 0
    assert cd.lowest_clean_cut(samples) == 0.79
    text = cd.format_sweep(samples)
    assert "highest lg with no other mark: 0.780; lowest clean cut: 0.79; cf alone at or above it: 1" in text
    assert cd.lowest_clean_cut([s for s in samples if s.positive]) is None
