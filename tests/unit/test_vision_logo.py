"""Logo detection on generated images: found when pasted, warped, rotated, small, mirrored or on a dark product;
not found on unrelated photos; features survive the .npz round trip through the references bucket."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from common.bootstrap import build_deps
from common.brands import Brand, ReferenceImage
from common.settings import Settings
from common.vision import synthetic as syn
from common.vision.logo import (
    MIN_INLIERS,
    candidate_features,
    extract_logo_features,
    features_from_npz,
    features_to_npz,
    find_logos,
)
from common.vision.logo_extractor import LogoExtractor, load_brand_logos

LOGOS = [syn.synthetic_logo(seed) for seed in (1, 2)]


@pytest.fixture(scope="module")
def feats():
    return [
        features_from_npz(features_to_npz(extract_logo_features(f"logo:{i}.png", img)))
        for i, img in enumerate(LOGOS)
    ]


QUAD = np.array([[200, 120], [520, 170], [500, 470], [230, 430]])
CASES = {
    "pasted": lambda bg, logo: syn.paste(bg, logo, 220, (200, 150)),
    "small_110px": lambda bg, logo: syn.paste(bg, logo, 110, (420, 300)),
    "perspective": lambda bg, logo: syn.warp_into(bg, logo, QUAD),
    "rotated_30": lambda bg, logo: syn.rotate_paste(bg, logo, 240, 30, (400, 300)),
    "mirrored": lambda bg, logo: syn.paste(bg, ImageOps.mirror(logo), 220, (200, 150)),
    "on_black": lambda bg, logo: syn.paste(Image.new("RGB", bg.size, (12, 12, 12)), logo, 250, (200, 150)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("which", [0, 1])
def test_logo_found_with_box_on_generated_images(feats, case, which):
    img = CASES[case](syn.background(which + 2), LOGOS[which])
    hits = find_logos(candidate_features(img), feats)
    assert hits, case
    top = hits[0]
    assert top.ref_id == f"logo:{which}.png"
    assert top.inliers >= MIN_INLIERS and 0.7 <= top.confidence <= 1.0
    assert top.mirrored == (case == "mirrored")
    x, y, w, h = top.box
    cx, cy = x + w / 2, y + h / 2
    assert 150 < cx < 650 and 100 < cy < 500  # centred where it was placed
    assert top.inlier_box is not None  # where the matched keypoints are: inside the projected outline
    ix, iy, iw, ih = top.inlier_box
    assert iw > 0 and ih > 0 and x - 3 <= ix and y - 3 <= iy and ix + iw <= x + w + 3 and iy + ih <= y + h + 3
    assert [h.ref_id for h in hits].count(top.ref_id) == 1


@pytest.mark.parametrize("index", range(len(syn.BACKGROUND_NAMES)))
def test_no_logo_on_unrelated_photos(feats, index):
    assert find_logos(candidate_features(syn.background(index)), feats) == []


def test_other_logo_does_not_confirm(feats):
    other = syn.synthetic_logo(99)
    img = syn.paste(syn.background(0), other, 260, (250, 150))
    assert find_logos(candidate_features(img), feats) == []


def test_blank_candidate_has_no_features_and_no_hits(feats):
    cand = candidate_features(Image.new("RGB", (300, 200), "white"))
    assert cand.matcher is None and find_logos(cand, feats) == []


def test_extractor_stores_features_and_loader_caches_per_version(tmp_path: Path):
    deps = build_deps(Settings(home=tmp_path))
    ref = ReferenceImage("logo:mark.png", "logo", "mark.png", tmp_path / "mark.png", "ab" * 32, LOGOS[0])
    fields = LogoExtractor().extract(deps, "acme", ref)
    assert fields["logo_features"] == f"acme/features/logo-v1/{'ab' * 32}.npz"
    assert fields["logo_keypoints"] > 100 and "black/mirrored" in fields["logo_variants"]
    assert deps.blobs.read(deps.settings.references_bucket, fields["logo_features"])[:2] == b"PK"
    photo = ReferenceImage(
        "reference:front.jpg", "reference", "front.jpg", tmp_path / "f.jpg", "cd" * 32, LOGOS[1]
    )
    assert LogoExtractor().extract(deps, "acme", photo) == {}

    doc = {"ref_id": ref.ref_id, "kind": "logo", "filename": "mark.png", **fields}
    brand = Brand("acme", "ACME", ["ACME"], [], [], [], None, None, None, None, "v1", references=[doc])
    loaded = load_brand_logos(deps, brand)
    assert [f.ref_id for f in loaded] == ["logo:mark.png"] and len(loaded[0].variants) == 6
    assert load_brand_logos(deps, brand) is loaded  # cached
    newer = Brand("acme", "ACME", ["ACME"], [], [], [], None, None, None, None, "v2", references=[])
    assert load_brand_logos(deps, newer) == []
    assert ("vision.logos", "acme", "v1") not in deps.cache


def test_many_logos_are_shortlisted_then_verified():
    from common.vision.logo import SHORTLIST_FROM, build_logo_index, shortlist

    many = [extract_logo_features(f"logo:s{i}.png", syn.synthetic_logo(100 + i)) for i in range(8)]
    assert len(many) > SHORTLIST_FROM
    index = build_logo_index(many)
    img = syn.paste(syn.background(4), syn.synthetic_logo(105), 200, (300, 200))
    cand = candidate_features(img)
    assert shortlist(cand, index)[0] == 5
    assert [h.ref_id for h in find_logos(cand, many, index)] == ["logo:s5.png"]
    assert find_logos(candidate_features(syn.background(5)), many, index) == []


def test_logo_hits_do_not_depend_on_what_drew_from_opencvs_rng_before(feats):
    """FLANN's kd-trees are built from a fixed seed (sift.kdtree_matcher) and OpenCV's RANSAC seeds itself per
    call, so a worker that has scanned other images answers exactly as a fresh one (before/after tables honest)."""
    import cv2

    img = CASES["perspective"](syn.background(2), LOGOS[0])
    first = find_logos(candidate_features(img), feats)
    cv2.setRNGSeed(987)
    cv2.randu(np.empty((64, 64), np.float32), 0, 1)
    assert first and find_logos(candidate_features(img), feats) == first
