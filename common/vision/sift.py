"""Local-feature geometry shared by logo matching (``common.vision.logo``) and copy verification
(``common.copyverify``): SIFT, Lowe's ratio test and a RANSAC homography, with the thresholds both rely on.

Why one module: both answer "do these keypoints agree on one planar geometry?", and a threshold tuned in one
place must hold for the other (COMPONENTS.md measured both with the same ratio and inlier count).

The candidate's side at logo matching's operating point is ``candidate_keypoints``. It also serves copy
verification (``copyverify.candidate_features``: up to ``copyverify.FEATURE_SIDE`` its strongest
``copyverify.MAX_FEATURES`` keypoints; above, only the keypoints a 640 px pass would see, by their SIFT size), so
it is computed once per scan and stored in the work bucket next to the working copy (``common.pipeline``: by
preprocess up to 640 px, by hash_match after the short-circuit above): one SIFT pass instead of two
(docs/speed.md, "SIFT once per candidate").
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

RATIO = 0.75  # Lowe (2004) ratio test
RANSAC_REPROJ_PX = 5.0
RANSAC_MAX_ITERS = 2000
RANSAC_CONFIDENCE = 0.995
# COMPONENTS.md: unrelated pairs reach at most 9 inliers; >= 12 inliers + plausibility -> 0 false positives on
# unrelated photos (logos) and ~100% of edited copies confirmed (reference photos).
MIN_INLIERS = 12
# The candidate's one SIFT pass: logo matching's operating point (COMPONENTS.md: at 640 px small logos are lost).
CANDIDATE_MAX_SIDE = 1000
CANDIDATE_MAX_FEATURES = 5000
KEYPOINTS_FORMAT = 2  # 2: with each keypoint's SIFT size (copy verification reads the 640 px scales)


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


def fit_homography(
    src: np.ndarray, dst: np.ndarray, method: int = cv2.RANSAC
) -> tuple[np.ndarray, np.ndarray] | None:
    """Robust homography mapping ``src`` points onto ``dst`` and its inlier mask (bool, one per pair), or None.
    ``method``: OpenCV's RANSAC (logo matching) or one of its USAC estimators (copy verification uses MAGSAC++,
    ``copyverify.GEOMETRY_METHOD``); both seed their own generator on every call, so answers do not vary."""
    hom, mask = cv2.findHomography(
        src.reshape(-1, 1, 2),
        dst.reshape(-1, 1, 2),
        method,
        RANSAC_REPROJ_PX,
        maxIters=RANSAC_MAX_ITERS,
        confidence=RANSAC_CONFIDENCE,
    )
    if hom is None or mask is None:
        return None
    return hom, mask.ravel().astype(bool)


@dataclass(frozen=True)
class Keypoints:
    """One SIFT pass over a candidate: what logo matching and copy verification both start from.

    Descriptors are rounded to whole numbers (0..255, a byte each when stored): OpenCV's float descriptors are
    scaled to that range, so rounding moves each component by at most 0.5 of it, and the copy references and logo
    files are stored the same way. Rounding here, not only when storing, gives a channel that reads the stored
    keypoints exactly the answer of one that computed them itself."""

    points: np.ndarray  # (n, 2) float32 x, y in the pixels of the image SIFT saw (``size``)
    descriptors: np.ndarray  # (n, 128) float32, whole numbers
    responses: np.ndarray  # (n,) float32 detector response (the strength SIFT ranks keypoints by)
    size: tuple[int, int]  # width, height of the image SIFT saw
    scale: float  # that image's pixels per pixel of the candidate image
    sizes: np.ndarray | None = (
        None  # (n,) float32 keypoint diameters (OpenCV's ``KeyPoint.size``), those pixels
    )

    def strongest(self, n: int) -> Keypoints:
        """The ``n`` keypoints of highest response, in their original order: what ``sift(n)`` keeps of the same
        detections (OpenCV ranks by response before describing)."""
        if len(self.responses) <= n:
            return self
        keep = np.sort(np.argsort(-self.responses, kind="stable")[:n])
        return self.subset(keep)

    def subset(self, keep: np.ndarray) -> Keypoints:
        """The keypoints at indices ``keep`` (in that order)."""
        sizes = None if self.sizes is None else self.sizes[keep]
        return Keypoints(
            self.points[keep], self.descriptors[keep], self.responses[keep], self.size, self.scale, sizes
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        arrays: dict[str, np.ndarray] = {
            "format": np.array(KEYPOINTS_FORMAT if self.sizes is not None else 1),  # no sizes: format 1
            "points": self.points.astype(np.float32),
            "descriptors": self.descriptors.astype(np.uint8),
            "responses": self.responses.astype(np.float32),
            "size": np.array(self.size, np.int64),
            "scale": np.array(self.scale, np.float64),
        }
        if self.sizes is not None:
            arrays["sizes"] = self.sizes.astype(np.float32)
        # not compressed: ~0.7 MB at 5,000 keypoints, written once and read twice per scan; the stubs take a
        # **dict for allow_pickle too
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Keypoints:
        """Keypoints written by ``to_bytes`` (a blob crossed a bucket: shapes are checked, nothing is unpickled)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            version = int(z["format"])
            if version not in (1, KEYPOINTS_FORMAT):
                raise ValueError(f"keypoints format {version}, expected {KEYPOINTS_FORMAT}")
            points, descriptors, responses = z["points"], z["descriptors"], z["responses"]
            sizes = z["sizes"] if version >= 2 else None  # a scan stored before sizes were: no 640 px view
            width, height = (int(v) for v in z["size"])
            scale = float(z["scale"])
        n = len(points)
        if points.shape != (n, 2) or descriptors.shape != (n, 128) or responses.shape != (n,):
            raise ValueError("keypoints blob: points, descriptors and responses disagree in shape")
        if sizes is not None and sizes.shape != (n,):
            raise ValueError("keypoints blob: sizes disagree in shape with the points")
        return cls(
            points.astype(np.float32), descriptors.astype(np.float32), responses.astype(np.float32),
            (width, height), scale, None if sizes is None else sizes.astype(np.float32),
        )  # fmt: skip


def candidate_keypoints(image: Image.Image) -> Keypoints:
    """SIFT of the candidate's grey image, its longest side reduced to ``CANDIDATE_MAX_SIDE`` (never enlarged)."""
    gray = np.asarray(image.convert("L"))
    scale = min(1.0, CANDIDATE_MAX_SIDE / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    kps, desc = sift(CANDIDATE_MAX_FEATURES).detectAndCompute(gray, None)
    size = (int(gray.shape[1]), int(gray.shape[0]))
    if desc is None or not kps:
        empty = np.zeros((0, 128), np.float32)
        none = np.zeros(0, np.float32)
        return Keypoints(np.zeros((0, 2), np.float32), empty, none, size, scale, none)
    return Keypoints(
        np.array([k.pt for k in kps], dtype=np.float32),
        np.clip(np.rint(desc), 0, 255).astype(np.float32),
        np.array([k.response for k in kps], dtype=np.float32),
        size,
        scale,
        np.array([k.size for k in kps], dtype=np.float32),
    )
