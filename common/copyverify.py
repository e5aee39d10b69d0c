"""Copy verification: is the candidate an edited copy of one of the brand's own photos (S2)?

Why: a visual embedding says "looks like the product" — true for a stolen, cropped, recoloured or watermarked
brand photo, and also for a lawful competitor's look-alike (S17). Local-feature geometry separates the two: an
edited copy keeps hundreds of SIFT keypoints in a consistent homography with the reference photo; a different
photo of a similar object does not (COMPONENTS.md: >= 10 inliers confirmed ~100% of edited copies, unrelated
pairs reached at most 9). Reference-side features are extracted at ``brand add``; only derived keypoints and
descriptors are stored.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image

from common import paths
from common.bootstrap import Deps
from common.messages import Signal
from common.vision.sift import MIN_INLIERS, fit_homography, ratio_test, sift

if TYPE_CHECKING:
    from common.brand_model import Brand

FEATURE_SIDE = 640  # SIFT at 640 px: ~70 ms per image (COMPONENTS.md), 1000 px costs 3.5x more
MAX_FEATURES = 1500
FULL_SCORE_INLIERS = 50
MAX_REFERENCES_CHECKED = 8  # bound the cost per candidate; the embedding's best reference goes first
MIN_PROJECTED_AREA = 0.01  # the matched reference must cover >= 1% of the candidate (plausibility check)


def _gray(image: Image.Image) -> tuple[np.ndarray, float]:
    scale = min(1.0, FEATURE_SIDE / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY), scale


def sift_features(image: Image.Image) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    gray, _ = _gray(image)
    keypoints, descriptors = sift(MAX_FEATURES).detectAndCompute(gray, None)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
    if descriptors is None:
        descriptors = np.zeros((0, 128), dtype=np.float32)
    return points, descriptors.astype(np.float32), (gray.shape[1], gray.shape[0])


class CopyExtractor:
    """Reference-side SIFT features for copy verification (references only, not logos)."""

    name = "copy"
    version = "1"

    def extract(self, deps: Deps, brand_id: str, ref: Any) -> dict[str, Any]:
        if ref.kind != "reference":
            return {}
        points, descriptors, size = sift_features(ref.image)
        buf = io.BytesIO()
        np.savez_compressed(buf, points=points, descriptors=descriptors.astype(np.uint8), size=np.array(size))
        blob = paths.copy_features(brand_id, ref.sha256)
        deps.blobs.write(
            deps.settings.references_bucket, blob, buf.getvalue(), content_type="application/x-npz"
        )
        return {"copy_features": blob, "copy_keypoints": int(len(points))}


def _reference_features(deps: Deps, brand_id: str, version: str, ref: dict[str, Any]) -> Any:
    key = ("copy-features", brand_id, version, ref["ref_id"])
    if key not in deps.cache:
        with np.load(
            io.BytesIO(deps.blobs.read(deps.settings.references_bucket, ref["copy_features"]))
        ) as npz:
            deps.cache[key] = (npz["points"], npz["descriptors"].astype(np.float32), tuple(npz["size"]))
    return deps.cache[key]


def verify_pair(
    cand: tuple[np.ndarray, np.ndarray, tuple[int, int]], ref: tuple[np.ndarray, np.ndarray, tuple[int, int]]
) -> dict[str, Any]:
    """Inliers of a RANSAC homography from reference to candidate, with a plausibility check."""
    c_pts, c_desc, c_size = cand
    r_pts, r_desc, r_size = ref
    if len(c_desc) < 2 or len(r_desc) < 2:
        return {"inliers": 0, "good": 0}
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(r_desc, c_desc, k=2)
    good = ratio_test(pairs)
    if len(good) < MIN_INLIERS:
        return {"inliers": 0, "good": len(good)}
    fit = fit_homography(r_pts[[q for q, _ in good]], c_pts[[t for _, t in good]])
    if fit is None:
        return {"inliers": 0, "good": len(good)}
    homography, mask = fit
    w, h = r_size
    outline = cv2.perspectiveTransform(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2), homography
    )
    area = abs(cv2.contourArea(outline))
    plausible = (
        cv2.isContourConvex(outline.astype(np.float32)) and area >= MIN_PROJECTED_AREA * c_size[0] * c_size[1]
    )
    inliers = int(mask.sum()) if plausible else 0
    result: dict[str, Any] = {"inliers": inliers, "good": len(good), "plausible": bool(plausible)}
    if plausible:  # where the brand photo sits in the candidate (feature pixels; copy_signal rescales)
        result["outline"] = [[float(x), float(y)] for x, y in outline.reshape(-1, 2)]
    return result


def _outline_box(outline: list[list[float]], feature_size: tuple[int, int], image: Image.Image) -> list[int]:
    """The projected outline's bounding box in ``image`` pixels (the working copy every region is drawn on),
    clipped to the image: a copy cropped by the seller projects partly outside it."""
    scale = image.width / feature_size[0]
    xs = [min(max(p[0] * scale, 0.0), image.width) for p in outline]
    ys = [min(max(p[1] * scale, 0.0), image.height) for p in outline]
    x0, y0 = round(min(xs)), round(min(ys))
    return [x0, y0, max(1, round(max(xs)) - x0), max(1, round(max(ys)) - y0)]


def copy_signal(deps: Deps, brand: Brand, image: Image.Image, embedding: Signal | None) -> Signal:
    refs = [r for r in brand.references if r.get("kind") == "reference" and r.get("copy_features")]
    if not refs:
        return Signal.not_run("copy", "brand has no reference features for copy verification")
    first = embedding.reference if embedding is not None else None
    refs.sort(key=lambda r: (r["ref_id"] != first, r["ref_id"]))
    cand = sift_features(image)
    best: tuple[int, str, dict[str, Any]] = (0, refs[0]["ref_id"], {})
    for ref in refs[:MAX_REFERENCES_CHECKED]:
        result = verify_pair(cand, _reference_features(deps, brand.brand_id, brand.version, ref))
        if result["inliers"] > best[0]:
            best = (result["inliers"], ref["ref_id"], result)
    inliers, ref_id, result = best
    detail = {
        "inliers": inliers,
        "min_inliers": MIN_INLIERS,
        "checked": min(len(refs), MAX_REFERENCES_CHECKED),
        **{k: v for k, v in result.items() if k not in ("inliers", "outline")},
    }
    if result.get("outline"):
        detail["box"] = _outline_box(result["outline"], cand[2], image)
    if inliers >= MIN_INLIERS:
        score = 0.5 + 0.5 * min(1.0, (inliers - MIN_INLIERS) / (FULL_SCORE_INLIERS - MIN_INLIERS))
        return Signal(
            name="copy",
            status="fired",
            score=round(score, 4),
            reference=ref_id,
            detail=detail,
            reason=f"Edited copy of brand photo {ref_id}: {inliers} keypoints agree on one geometry.",
        )
    return Signal(
        name="copy",
        status="clear",
        score=round(min(0.49, inliers / (2 * MIN_INLIERS)), 4),
        reference=ref_id if inliers else None,
        detail=detail,
    )
