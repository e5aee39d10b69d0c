"""Copy verification on edited copies of scikit-image / matplotlib photos: the shared reference index (every
reference, as photographed and mirrored) against the earlier one-matcher-per-reference check, same photos, same run.

    .venv/bin/python scripts/bench_copies.py
    .venv/bin/python scripts/bench_copies.py --geometry   # RANSAC vs MAGSAC++ as the homography estimator

Edits (common/embedding/synthetic.py): a mirrored + rotated (6-10 deg) + cropped (20 %) copy, the tiled diagonal
watermark + banner + sticker over more than half of the photo, the older banner watermark; unrelated clutter photos
for false positives. Prints copies verified (with the right reference) and ms per candidate (SIFT excluded).
``--geometry``: the shared index with plain RANSAC (before) and with ``copyverify.GEOMETRY_METHOD`` (now) on the
same candidates: copies verified, unrelated photos verified, the most inliers an unrelated photo reached, and CPU
ms of the geometry checks per candidate.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import copyverify as cv  # noqa: E402
from common.embedding import synthetic as es  # noqa: E402
from common.vision.sift import MIN_INLIERS, RATIO, ratio_test  # noqa: E402

EDITS = {
    "mirrored+rotated+cropped": es.mirrored_rotated_crop,
    "tiled watermark + banner": es.watermark_tiled,
    "banner watermark": es.watermark_heavy,
}


def before(cand: cv.Features, refs: dict[str, cv.Features]) -> tuple[int, str | None]:
    """The earlier check: one brute-force matcher per reference (ref -> candidate), as photographed only."""
    best: tuple[int, str | None] = (0, None)
    for name, ref in refs.items():
        knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(ref[1], cand[1], k=2)
        pairs = [(t, q) for q, t in ratio_test(knn, RATIO)]
        inliers = cv._geometry(pairs, cand, ref)["inliers"]
        best = max(best, (inliers, name), key=lambda b: b[0])
    return best


def after(cand: cv.Features, index: cv.ReferenceFeatureIndex) -> tuple[int, str | None]:
    """The channel's check (``copyverify.best_geometry``): the shared index, geometry for the best groups."""
    inliers, group, _ = cv.best_geometry(index, cand)
    return inliers, group.ref_id if inliers else None


def geometry(
    refs: dict[str, Image.Image], clutter: list[Image.Image], index: cv.ReferenceFeatureIndex
) -> None:
    """The same candidates through the shared index with each homography estimator."""
    methods = {"RANSAC (before)": cv2.RANSAC, "MAGSAC++ (GEOMETRY_METHOD)": cv.GEOMETRY_METHOD}
    cands = [
        (edit, name, cv.sift_features(make(img, random.Random(i))))
        for edit, make in EDITS.items()
        for i, (name, img) in enumerate(sorted(refs.items()))
    ]
    others = [cv.sift_features(img) for img in clutter]
    print(
        "\n| estimator | " + " | ".join(EDITS) + " | unrelated verified | most inliers, unrelated "
        "| geometry CPU ms per candidate |\n|---|" + "---|" * (len(EDITS) + 3)
    )
    chosen = cv.GEOMETRY_METHOD
    try:
        for label, method in methods.items():
            cv.GEOMETRY_METHOD = method
            verified = dict.fromkeys(EDITS, 0)
            start = time.process_time()
            for edit, name, cand in cands:
                inl, got = after(cand, index)
                verified[edit] += inl >= MIN_INLIERS and got == name
            unrelated = [after(cand, index)[0] for cand in others]
            cpu = (time.process_time() - start) * 1000 / (len(cands) + len(others))
            counts = " | ".join(f"{verified[e]}/{len(refs)}" for e in EDITS)
            fp = sum(u >= MIN_INLIERS for u in unrelated)
            print(f"| {label} | {counts} | {fp}/{len(others)} | {max(unrelated, default=0)} | {cpu:.1f} |")
    finally:
        cv.GEOMETRY_METHOD = chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--geometry", action="store_true", help="RANSAC vs GEOMETRY_METHOD, same candidates")
    args = parser.parse_args()
    refs, clutter = es.split_references_and_clutter(es.sample_images())
    features = {n: cv.sift_features(img) for n, img in sorted(refs.items())}
    groups = [
        g for n, f in features.items() for g in (cv._Group(n, False, f), cv._Group(n, True, cv.mirrored(f)))
    ]
    t = time.perf_counter()
    index = cv.ReferenceFeatureIndex(groups)
    build_ms = (time.perf_counter() - t) * 1000
    print(
        f"{len(features)} references, {index.rows} indexed descriptors (x2 mirrored), index built in {build_ms:.0f} ms"
    )
    if args.geometry:
        geometry(refs, clutter, index)
        return
    print("\n| edit | n | verified before | verified now | ms before | ms now |\n|---|---|---|---|---|---|")
    for edit, make in EDITS.items():
        ok_b = ok_a = 0
        ms_b: list[float] = []
        ms_a: list[float] = []
        for i, (name, img) in enumerate(sorted(refs.items())):
            cand = cv.sift_features(make(img, random.Random(i)))
            t = time.perf_counter()
            inl, got = before(cand, features)
            ms_b.append((time.perf_counter() - t) * 1000)
            ok_b += inl >= MIN_INLIERS and got == name
            t = time.perf_counter()
            inl, got = after(cand, index)
            ms_a.append((time.perf_counter() - t) * 1000)
            ok_a += inl >= MIN_INLIERS and got == name
        n = len(refs)
        print(
            f"| {edit} | {n} | {ok_b} | {ok_a} | {statistics.median(ms_b):.0f} | {statistics.median(ms_a):.0f} |"
        )
    fp_b = fp_a = 0
    for img in clutter:
        cand = cv.sift_features(img)
        fp_b += before(cand, features)[0] >= MIN_INLIERS
        fp_a += after(cand, index)[0] >= MIN_INLIERS
    print(f"\nunrelated photos verified as copies: before {fp_b}/{len(clutter)}, now {fp_a}/{len(clutter)}")
    print(f"(numpy {np.__version__}, cv2 {cv2.__version__})")


if __name__ == "__main__":
    main()
