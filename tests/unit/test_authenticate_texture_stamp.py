"""Texture and stamp geometry against genuine close-ups, judged by the genuine spread (judge.py).

Textures: scikit-image's real photos (brick, gravel, grass) and procedural leather/canvas laid under the card;
stamps: rendered heat stamps whose size or letter spacing differ from the genuine ones.
"""

from __future__ import annotations

import pytest
from skimage import data

from common.authenticate import judge, quality, stamp, texture
from common.authenticate import synthetic as syn

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}
CAMS = [syn.Camera(tilt_deg=t, tilt_dir_deg=d, roll_deg=r, gradient=g)
        for t, d, r, g in [(0, 0, 0, 0.0), (12, 40, 25, 0.3), (20, 100, 50, 0.2), (8, 200, 80, 0.4)]]  # fmt: skip


def rectified(photo: bytes):
    cap = quality.assess("x.jpg", photo, **LIMITS)
    assert cap.usable and cap.rectified is not None, cap.retake
    return cap.rectified


def _verdict_texture(genuine: list[list[float]], candidate: list[float]) -> judge.Finding:
    pairwise = [[texture.distance(a, b) for b in genuine] for a in genuine]
    d = min(texture.distance(candidate, g) for g in genuine)
    return judge.judge_distance("texture", "", d, judge.leave_one_out(pairwise))


@pytest.fixture(scope="module")
def brick_genuine() -> list[list[float]]:
    return [texture.describe(rectified(syn.texture_photo(syn.photo_texture(data.brick(), 70 + 4 * i), i, cam)))
            for i, cam in enumerate(CAMS)]  # fmt: skip


@pytest.mark.parametrize(
    "name, make, expected",
    [
        ("brick, another photo", lambda: syn.photo_texture(data.brick(), 74), "authentic"),
        ("gravel", lambda: syn.photo_texture(data.gravel(), 70), "suspect"),
        ("grass", lambda: syn.photo_texture(data.grass(), 70), "suspect"),
        ("leather", lambda: syn.leather(3, (0.6, 0.6, 0.6)), "suspect"),
    ],
)
def test_real_texture_photos_against_genuine_brick(brick_genuine, name, make, expected) -> None:
    cand = texture.describe(rectified(syn.texture_photo(make(), 9, syn.Camera(tilt_deg=15, roll_deg=-30))))
    assert _verdict_texture(brick_genuine, cand).status == expected, name


def test_leather_grain_coarser_than_genuine_is_suspect() -> None:
    genuine = [texture.describe(rectified(syn.texture_photo(syn.leather(i, (0.45, 0.27, 0.15)), i, cam)))
               for i, cam in enumerate(CAMS)]  # fmt: skip
    same = texture.describe(rectified(syn.texture_photo(syn.leather(9, (0.45, 0.27, 0.15)), 9, CAMS[1])))
    coarse = texture.describe(
        rectified(syn.texture_photo(syn.leather(9, (0.45, 0.27, 0.15), grain_mm=0.9), 9, CAMS[1]))
    )
    assert _verdict_texture(genuine, same).status == "authentic"
    assert _verdict_texture(genuine, coarse).status == "suspect"


@pytest.fixture(scope="module")
def stamp_genuine() -> list[stamp.StampFeatures]:
    return [stamp.features(rectified(syn.stamp_photo(i, cam))) for i, cam in enumerate(CAMS)]


@pytest.mark.parametrize(
    "kwargs, expected",
    [({}, "authentic"), ({"height_mm": 8.5}, "suspect"), ({"spacing": 1.1}, "suspect")],
)
def test_stamp_geometry_in_mm(stamp_genuine, kwargs, expected) -> None:
    refs = [stamp.StampFeatures.from_doc(f.to_doc()) for f in stamp_genuine]  # through the stored form
    cand = stamp.features(rectified(syn.stamp_photo(20, syn.Camera(tilt_deg=10, roll_deg=-15), **kwargs)))
    pairwise = [[stamp.geometry_distance(a, b)[0] for b in refs] for a in refs]
    d = min(stamp.geometry_distance(cand, r)[0] for r in refs)
    finding = judge.judge_distance("stamp", "mm", d, judge.leave_one_out(pairwise))
    assert finding.status == expected, finding.reason


def test_judgement_is_relative_to_the_genuine_spread() -> None:
    loo = [0.10, 0.12, 0.15]
    assert judge.judge_distance("t", "", 0.14, loo).status == "authentic"
    assert judge.judge_distance("t", "", 0.17, loo).status == "inconclusive"  # beyond max, within one width
    assert judge.judge_distance("t", "", 0.21, loo).status == "suspect"  # 0.15 + (0.15 - 0.10) = 0.20
    scaled = [d * 10 for d in loo]  # the same shape of spread at another scale: the same verdicts
    assert judge.judge_distance("t", "", 1.4, scaled).status == "authentic"
    assert judge.judge_distance("t", "", 2.1, scaled).status == "suspect"
    assert judge.judge_distance("t", "", 0.5, [0.1, 0.2]).status == "inconclusive"  # too few genuine
    assert judge.judge_distance("t", "", float("inf"), loo).status == "inconclusive"  # nothing matched
    assert judge.weakest(["authentic", "inconclusive", "authentic"]) == "inconclusive"
    assert judge.weakest(["authentic", "suspect", "inconclusive"]) == "suspect"
    assert judge.weakest([]) == "inconclusive"
