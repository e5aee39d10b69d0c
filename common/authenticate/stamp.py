"""Logo / heat-stamp geometry in millimetres: keypoints matched to a genuine close-up, residual of a rigid fit.

Why rigid, not similarity or homography: both photos are rectified onto their card planes, so a genuine stamp
is the same physical size on both; only its position and rotation differ. After matching ORB keypoints
(binary, compact enough to store in a document) and keeping the RANSAC-consistent ones, the RMS residual of the
best rotation + translation between the two point sets, in mm, is what changes when letters are a different
size, spaced differently or drawn differently. Grain keypoints do not match across different items: only the
stamp carries consistent geometry.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

from common.authenticate.card import Rectified

MAX_FEATURES = 1500
# Fine pyramid (8 levels of 1.1): a stamp 5-20 % off in size must still match, so that the residual can show it.
ORB_SCALE_STEP, ORB_LEVELS = 1.1, 8
RATIO = 0.85  # Lowe's ratio test, a little looser: RANSAC removes what it lets through
RANSAC_MM = 0.6
MIN_INLIERS = 12  # fewer consistent matches than this: the stamp was not found in this photo
VERSION = "stamp-1"


@dataclass(frozen=True)
class StampFeatures:
    points_mm: np.ndarray  # (n, 2) card-plane mm
    descriptors: np.ndarray  # (n, 32) uint8

    def to_doc(self) -> dict[str, object]:
        return {
            "points_mm": [round(float(v), 3) for v in self.points_mm.ravel()],  # flat: no nested arrays
            "descriptors": base64.b64encode(self.descriptors.tobytes()).decode(),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, object]) -> StampFeatures:
        pts = np.asarray(doc["points_mm"], dtype=np.float64).reshape(-1, 2)
        desc = np.frombuffer(base64.b64decode(str(doc["descriptors"])), np.uint8).reshape(-1, 32)
        return cls(pts, desc)


def features(rect: Rectified) -> StampFeatures:
    gray = rect.image if rect.image.ndim == 2 else cv2.cvtColor(rect.image, cv2.COLOR_RGB2GRAY)
    g8 = (np.clip(gray, 0, 1) * 255).astype(np.uint8)
    g8 = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g8)
    mask = cv2.erode(rect.valid.astype(np.uint8) * 255, np.ones((25, 25), np.uint8))
    orb = cv2.ORB_create(  # type: ignore[attr-defined]  # stubs lag the headless build
        nfeatures=MAX_FEATURES, scaleFactor=ORB_SCALE_STEP, nlevels=ORB_LEVELS, edgeThreshold=15, patchSize=31
    )
    kps, desc = orb.detectAndCompute(g8, mask)
    if desc is None or len(kps) == 0:
        return StampFeatures(np.zeros((0, 2)), np.zeros((0, 32), np.uint8))
    pts = np.array([kp.pt for kp in kps], np.float64) / rect.px_per_mm + np.array(rect.origin_mm)
    return StampFeatures(pts, desc)


def _rigid_rms(src: np.ndarray, dst: np.ndarray) -> float:
    """RMS residual (mm) of the best rotation + translation mapping src onto dst (Kabsch)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(u @ vt))
    rot = (u @ np.diag([1.0, d]) @ vt).T
    resid = (src - cs) @ rot.T + cd - dst
    return float(np.sqrt(np.mean(np.sum(resid**2, axis=1))))


def geometry_distance(a: StampFeatures, b: StampFeatures) -> tuple[float, int]:
    """(RMS rigid residual in mm over consistent matches, number of them); (inf, n) when < MIN_INLIERS."""
    if len(a.descriptors) < 2 or len(b.descriptors) < 2:
        return float("inf"), 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return float("inf"), len(good)
    src = a.points_mm[[m.queryIdx for m in good]]
    dst = b.points_mm[[m.trainIdx for m in good]]
    _, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_MM,
                                             maxIters=4000, confidence=0.999)  # fmt: skip
    if inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return float("inf"), 0 if inliers is None else int(inliers.sum())
    keep = inliers.ravel().astype(bool)
    return _rigid_rms(src[keep], dst[keep]), int(keep.sum())
