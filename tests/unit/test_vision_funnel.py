"""The mark detector's gate (common/vision/funnel.py): it is skipped only when a SIFT hit already sits at the
highest confidence any logo hit can have, and the signal then says so; below that, or with only detector hits,
it runs."""

from __future__ import annotations

from PIL import Image

from common.brand_model import Brand
from common.vision.channel import logo_signal, run_mark_detector
from common.vision.funnel import SIFT_CEILING, detector_skip_reason
from common.vision.logo import LogoHit
from common.vision.port import VisionResult


def _hit(confidence: float, method: str = "sift_homography") -> LogoHit:
    return LogoHit(
        ref_id="logo:mark.png",
        confidence=confidence,
        inliers=48 if method == "sift_homography" else 0,
        matches=60,
        box=(10, 10, 50, 40),
        quad=[[10, 10], [60, 10], [60, 50], [10, 50]],
        mirrored=False,
        background="white",
        method=method,
    )


def _brand() -> Brand:
    # A detector record whose blob does not exist: if the detector ran, loading it would fail and say so.
    return Brand(
        brand_id="acme", display_name="Acme", trademarks=[], colors=[], authorized_sellers=[], barcodes=[],
        reference_price=None, currency=None, category=None, spi=None, version="v1",
        mark_detector={"key": "k1", "blob": "acme/mark_detector/missing.npz"},
    )  # fmt: skip


def test_skip_only_at_the_ceiling_and_only_for_sift_hits() -> None:
    assert detector_skip_reason([]) is None
    assert detector_skip_reason([_hit(0.9999)]) is None
    assert detector_skip_reason([_hit(SIFT_CEILING, "mark_detector")]) is None
    reason = detector_skip_reason([_hit(0.8), _hit(SIFT_CEILING)])
    assert reason is not None and reason.startswith("skipped: SIFT verified logo:mark.png at confidence 1.00")


def test_skipped_detector_is_reported_and_leaves_sift_answer(runtime) -> None:  # type: ignore[no-untyped-def]
    deps, image = runtime[0], Image.new("RGB", (320, 240), "white")
    result = VisionResult(logos=[_hit(SIFT_CEILING)])
    detector = run_mark_detector(deps, _brand(), image, result)
    assert detector == {"model": "k1", "skipped": detector_skip_reason([_hit(SIFT_CEILING)])}
    assert "mark_detector" not in result.timings_ms and result.logos == [_hit(SIFT_CEILING)]
    signal = logo_signal(result, 1, detector)
    assert signal.status == "fired" and signal.score == SIFT_CEILING
    assert signal.detail["detector"]["skipped"].startswith("skipped: SIFT verified")


def test_below_the_ceiling_the_detector_runs(runtime) -> None:  # type: ignore[no-untyped-def]
    result = VisionResult(logos=[_hit(0.95)])
    detector = run_mark_detector(runtime[0], _brand(), Image.new("RGB", (320, 240)), result)
    assert detector is not None and "skipped" not in detector
    assert "error" in detector  # it tried: the (missing) model was read
