"""Matched regions: what the review page and the evidence picture box, read from each channel's detail, and
the copy-verification box (the brand photo's projected outline) landing where the photo was pasted."""

from __future__ import annotations

from datetime import UTC, datetime

from PIL import Image

from common.copyverify import _outline_box, sift_features, verify_pair
from common.embedding import synthetic
from common.evidence.regions import as_box, matched_regions
from common.messages import Signal, Verdict


def _verdict(signals: dict[str, Signal]) -> Verdict:
    return Verdict(scan_id="s1", brand_id="acme", listing_id="l1", tier=1, score=0.9, rule="weighted",
                   signals=signals, reasons=[], created_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def test_regions_come_from_every_channel_that_reports_them_and_only_fired_ones() -> None:
    v = _verdict(
        {
            "logo": Signal(
                name="logo",
                status="fired",
                score=0.9,
                detail={"hits": [{"box": [10, 20, 30, 40]}, {"box": "junk"}]},
            ),
            "ocr_text": Signal(
                name="ocr_text",
                status="fired",
                score=0.8,
                detail={"boxes": [{"x": 1, "y": 2, "w": 3, "h": 4}]},
            ),
            "copy": Signal(name="copy", status="fired", score=0.7, detail={"box": [5, 6, 70, 80]}),
            "barcode": Signal(
                name="barcode",
                status="fired",
                score=1.0,
                detail={
                    "matched": "4006381333931",
                    "decoded": [
                        {"value": "4006381 333931", "box": [100, 100, 50, 20]},
                        {"value": "999", "box": [0, 0, 5, 5]},
                    ],
                },
            ),
            "embedding": Signal(name="embedding", status="clear", score=0.2, detail={"box": [0, 0, 9, 9]}),
        }
    )
    got = [(m.label, m.box.x, m.box.y, m.box.w, m.box.h) for m in matched_regions(v)]
    assert got == [
        ("barcode", 100, 100, 50, 20),  # only the code carrying the brand's code
        ("copy", 5, 6, 70, 80),
        ("logo", 10, 20, 30, 40),
        ("ocr_text", 1, 2, 3, 4),
    ]
    assert as_box([1, 2, 0, 4]) is None and as_box({"x": 1}) is None


def test_copy_box_is_where_the_brand_photo_was_pasted() -> None:
    photo = synthetic.sample_images()["rocket"].convert("RGB")
    photo.thumbnail((300, 300))
    canvas = Image.new("RGB", (800, 600), (235, 235, 235))
    canvas.paste(photo, (420, 150))
    cand = sift_features(canvas)
    result = verify_pair(cand, sift_features(photo))
    assert result["plausible"] and result["inliers"] >= 10
    x, y, w, h = _outline_box(result["outline"], cand[2], canvas)
    # 16 inliers on this low-texture 300 px photo: the outline is good to ~4 % of its size
    assert abs(x - 420) <= 12 and abs(y - 150) <= 12, (x, y)
    assert abs(w - photo.width) <= 30 and abs(h - photo.height) <= 15, (w, h)
