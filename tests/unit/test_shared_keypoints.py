"""SIFT once per candidate (common/vision/sift.py Keypoints, stored next to the working copy: by preprocess up to
640 px, by hash_match after the short-circuit above): the blob round-trips and refuses what it is not, copy
verification's share is what its own SIFT pass keeps (up to 640 px) or the pass's keypoints at the scales a 640 px
pass sees (above), and a scan runs SIFT exactly once for logo matching and copy verification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import copyverify, ingest, paths, pipeline
from common.brands import register_brand
from common.messages import Listing
from common.vision import logo as logo_module
from common.vision import sift as sift_module
from common.vision import synthetic as syn
from common.vision.sift import Keypoints, candidate_keypoints, sift


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return syn.paste(syn.background(3), syn.synthetic_logo(1), 200, (180, 120))


def test_round_trip_is_exact_and_bad_blobs_are_refused(photo: Image.Image) -> None:
    kp = candidate_keypoints(photo)
    assert len(kp.points) > 100 and np.array_equal(kp.descriptors, np.rint(kp.descriptors))
    back = Keypoints.from_bytes(kp.to_bytes())
    for a, b in (
        (kp.points, back.points),
        (kp.descriptors, back.descriptors),
        (kp.responses, back.responses),
        (kp.sizes, back.sizes),
    ):
        assert np.array_equal(a, b)
    assert (back.size, back.scale) == (kp.size, kp.scale)
    with pytest.raises(ValueError, match="disagree in shape"):
        Keypoints.from_bytes(
            Keypoints(kp.points[:3], kp.descriptors[:2], kp.responses[:3], (9, 9), 1.0).to_bytes()
        )
    with pytest.raises(ValueError):
        Keypoints.from_bytes(b"not an npz")


def test_strongest_are_the_keypoints_sift_keeps_of_the_same_detections(photo: Image.Image) -> None:
    kp = candidate_keypoints(photo)  # 800 px wide: the image SIFT sees is the candidate itself
    few = kp.strongest(300)
    own, _ = sift(300).detectAndCompute(np.asarray(photo.convert("L")), None)
    ours = {(round(float(x), 2), round(float(y), 2)) for x, y in few.points}
    theirs = {(round(k.pt[0], 2), round(k.pt[1], 2)) for k in own}
    assert len(few.points) == 300 and len(ours & theirs) >= 0.98 * len(theirs)
    assert few.responses.min() >= np.sort(kp.responses)[::-1][299]
    assert kp.strongest(10**6) is kp


def test_a_large_candidate_is_seen_at_logo_matchings_side(photo: Image.Image) -> None:
    big = photo.resize((2000, 1500))
    kp = candidate_keypoints(big)
    assert max(kp.size) == sift_module.CANDIDATE_MAX_SIDE and kp.scale == pytest.approx(0.5)
    assert kp.points[:, 0].max() < kp.size[0] and len(kp.points) <= sift_module.CANDIDATE_MAX_FEATURES


def test_copy_verification_takes_the_shared_pass_at_its_own_scale(photo: Image.Image) -> None:
    small = candidate_keypoints(photo.resize((640, 480)))  # the pixels copy verification's own pass sees
    shared = copyverify.candidate_features(small, (640, 480))
    assert shared is not None and len(shared[0]) == min(len(small.points), copyverify.MAX_FEATURES)
    assert shared[2] == small.size == (640, 480)
    big = photo.resize((1600, 1200))  # SIFT sees 1000 px, copy verification 640 px
    kp = candidate_keypoints(big)
    points, descriptors, size = copyverify.candidate_features(kp, big.size) or pytest.fail("not shared")
    assert size == (640, 480) and len(points) == len(descriptors) <= copyverify.MAX_FEATURES
    assert points[:, 0].max() < 640 and points[:, 1].max() < 480
    to640 = 640 / 1000
    assert kp.sizes is not None and (kp.sizes * to640 < copyverify.SMALLEST_KEYPOINT).any()  # some dropped
    kept = {tuple(p) for p in np.round(points / to640, 3)}
    small_ones = {tuple(p) for p in np.round(kp.points[kp.sizes * to640 < copyverify.SMALLEST_KEYPOINT], 3)}
    assert not kept & small_ones
    old = Keypoints.from_bytes(  # a blob stored before keypoint sizes were (format 1)
        Keypoints(kp.points, kp.descriptors, kp.responses, kp.size, kp.scale).to_bytes()
    )
    assert old.sizes is None and len(old.points) == len(kp.points)
    assert copyverify.candidate_features(old, big.size) is None  # copy verification runs its own pass


def test_one_sift_pass_per_scan_serves_logo_matching_and_copy_verification(
    runtime, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    deps, bus = runtime
    register_brand(deps, demo_dir / "kit")
    calls: list[str] = []
    real_shared, real_copy = sift_module.candidate_keypoints, copyverify.sift_features

    def shared_pass(image: Image.Image) -> Keypoints:
        calls.append("shared")
        return real_shared(image)

    def copy_pass(image: Image.Image) -> copyverify.Features:
        calls.append("copy's own")
        return real_copy(image)

    monkeypatch.setattr(sift_module, "candidate_keypoints", shared_pass)
    monkeypatch.setattr(logo_module, "candidate_keypoints", shared_pass)
    monkeypatch.setattr(copyverify, "sift_features", copy_pass)
    verdicts, stored = {}, {}
    cases = (("s6-composite", ["shared"]), ("s2-mirrored", ["shared"]), ("s1-exact", []))
    for name, expected in cases:
        path = demo_dir / "candidates" / f"{name}.jpg"
        calls.clear()
        item = Listing(listing_id=name, image=str(path))
        scan_id = ingest.ingest_listing(deps, "acme", item, path.read_bytes(), f"t:{name}")
        bus.drain()
        # 600 px: preprocess's one pass serves both; 741 px: hash_match's, after the short-circuit; the exact
        # copy (741 px) is a hash short-circuit: no SIFT at all
        assert sorted(calls) == expected, (name, calls)
        verdicts[name] = deps.docs.get(pipeline.verdict_path("acme", scan_id))
        stored[name] = deps.blobs.generation(deps.settings.work_bucket, paths.keypoints("acme", scan_id))
    assert stored["s6-composite"] is not None and stored["s2-mirrored"] is not None
    assert stored["s1-exact"] is None and verdicts.pop("s1-exact")["rule"] == "hash_short_circuit"
    for verdict in verdicts.values():
        assert verdict["signals"]["copy"]["status"] in ("fired", "clear")
        assert verdict["signals"]["logo"]["status"] in ("fired", "clear")
    mirrored = verdicts["s2-mirrored"]["signals"]["copy"]
    assert mirrored["status"] == "fired" and mirrored["detail"]["mirrored"]
