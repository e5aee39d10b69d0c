"""Local-feature geometry shared by logo matching (``common.vision.logo``) and copy verification
(``common.copyverify``): SIFT, Lowe's ratio test and a RANSAC homography, with the thresholds both rely on.

Why one module: both answer "do these keypoints agree on one planar geometry?", and a threshold tuned in one
place must hold for the other (COMPONENTS.md measured both with the same ratio and inlier count).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np

RATIO = 0.75  # Lowe (2004) ratio test
RANSAC_REPROJ_PX = 5.0
RANSAC_MAX_ITERS = 2000
RANSAC_CONFIDENCE = 0.995
# COMPONENTS.md: unrelated pairs reach at most 9 inliers; >= 12 inliers + plausibility -> 0 false positives on
# unrelated photos (logos) and ~100% of edited copies confirmed (reference photos).
MIN_INLIERS = 12


def sift(n_features: int) -> Any:
    """A SIFT detector keeping at most ``n_features`` keypoints."""
    return cv2.SIFT_create(nfeatures=n_features)  # type: ignore[attr-defined]  # stubs lag the headless build


# FLANN's kd-trees are randomised at build time: unseeded, the same photo now and then gets another nearest
# neighbour, hence another logo hit or copy verdict, in another process or run. One fixed seed per build.
FLANN_SEED = 20261203


def kdtree_matcher(descriptors: np.ndarray, checks: int, trees: int = 4) -> Any:
    """A trained FLANN kd-tree matcher over ``descriptors``, built from a fixed seed (same answers everywhere)."""
    matcher = cv2.FlannBasedMatcher({"algorithm": 1, "trees": trees}, {"checks": checks})  # 1 = KDTREE
    matcher.add([np.ascontiguousarray(descriptors, dtype=np.float32)])
    cv2.setRNGSeed(FLANN_SEED)
    matcher.train()
    return matcher


def ratio_test(knn: Iterable[Sequence[Any]], ratio: float = RATIO) -> list[tuple[int, int]]:
    """(query, train) index pairs of the k=2 matches whose best neighbour is clearly better than the second."""
    return [
        (m.queryIdx, m.trainIdx)
        for m, n in (p for p in knn if len(p) == 2)
        if m.distance < ratio * n.distance
    ]


def fit_homography(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC homography mapping ``src`` points onto ``dst`` and its inlier mask (bool, one per pair), or None."""
    hom, mask = cv2.findHomography(
        src.reshape(-1, 1, 2),
        dst.reshape(-1, 1, 2),
        cv2.RANSAC,
        RANSAC_REPROJ_PX,
        maxIters=RANSAC_MAX_ITERS,
        confidence=RANSAC_CONFIDENCE,
    )
    if hom is None or mask is None:
        return None
    return hom, mask.ravel().astype(bool)
