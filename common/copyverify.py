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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np
from PIL import Image

from common import paths
from common.bootstrap import Deps
from common.messages import Signal
from common.vision.sift import MIN_INLIERS, RATIO, Keypoints, fit_homography, kdtree_matcher, sift

if TYPE_CHECKING:
    from common.brand_model import Brand

FEATURE_SIDE = 640  # SIFT at 640 px: ~70 ms per image (COMPONENTS.md), 1000 px costs 3.5x more
MAX_FEATURES = 1500
FULL_SCORE_INLIERS = 50
# Every reference is matched (one shared index); RANSAC runs for the references with the most matches only.
MAX_GEOMETRY_CHECKS = 4
NEIGHBOURS = 8  # k of the shared index's k-NN: enough for a per-reference second neighbour with 2 x many refs
# Brute force for one photo's two orientations; FLANN kd-trees past it. Measured on 18 scikit-image references
# (25,732 rows; docs/vision.md): brute force k=8 340 ms per candidate, kd-trees with 32 checks 23 ms
# (8 references one by one before: 70 ms) with the same copies verified (mirrored 16/18, tiled watermark 14/18).
EXACT_MAX_ROWS = 3_000
FLANN_TREES, FLANN_CHECKS = 4, 32
FLANN_SEED = (
    20261203  # kd-tree construction is randomised: a fixed seed gives every process the same verdicts
)
MIRRORED_BINS = (8 - np.arange(8)) % 8
MIN_PROJECTED_AREA = 0.01  # the matched reference must cover >= 1% of the candidate (plausibility check)
# The homography estimator: MAGSAC++ (OpenCV's USAC framework: PROSAC-ordered sampling, degeneracy checks, local
# optimisation) instead of plain RANSAC. Plain RANSAC ran to its 2,000-iteration cap on every reference with
# tens of ratio-test matches and no geometry (a look-alike, a tiled pattern: ~25 ms each, up to 4 per scan);
# MAGSAC++ gives the same inlier counts within a few on real copies and stops early on clutter. Measured on the
# seed 2027 quick set and scripts/bench_copies.py --geometry: 1/20 of the CPU, no copy crossing MIN_INLIERS
# either way (docs/speed.md, "Copy verification's geometry").
GEOMETRY_METHOD = cv2.USAC_MAGSAC


def _gray(image: Image.Image) -> tuple[np.ndarray, float]:
    scale = min(1.0, FEATURE_SIDE / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY), scale


Features = tuple[np.ndarray, np.ndarray, tuple[int, int]]  # keypoint xy, SIFT descriptors, image size


def sift_features(image: Image.Image) -> Features:
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


def _reference_features(deps: Deps, ref: dict[str, Any]) -> Features:
    with np.load(io.BytesIO(deps.blobs.read(deps.settings.references_bucket, ref["copy_features"]))) as npz:
        return (
            npz["points"],
            npz["descriptors"].astype(np.float32),
            (int(npz["size"][0]), int(npz["size"][1])),
        )


def mirrored(features: Features) -> Features:
    """The features a left-right mirrored copy of the photo would give, without running SIFT again.

    SIFT describes each keypoint in its own frame (x along its orientation): mirroring the image reflects that
    frame, so the 4x4 spatial grid flips along its y axis and each 8-bin orientation histogram reverses
    (bin o -> -o mod 8); the keypoints move to x -> width - x. On scikit-image photos this matches as many
    keypoints as SIFT run on the mirrored photo (e.g. 580 vs 573 inliers on astronaut)."""
    points, descriptors, size = features
    grid = descriptors.reshape(-1, 4, 4, 8)[:, ::-1, :, :][:, :, :, MIRRORED_BINS]
    flipped = points.copy()
    flipped[:, 0] = size[0] - flipped[:, 0]
    return flipped, np.ascontiguousarray(grid.reshape(-1, 128)), size


@dataclass(frozen=True)
class _Group:
    ref_id: str
    mirrored: bool
    features: Features


class ReferenceFeatureIndex:
    """Every reference photo of a brand, as photographed and mirrored, in one descriptor matrix: a candidate is
    matched once against all of them (exact brute force, or FLANN's kd-trees past ``EXACT_MAX_ROWS``), instead
    of one matcher per reference for the first few references only.

    Lowe's ratio test needs each keypoint's second-nearest neighbour *within the same reference*; with several
    references in one index, the ``k``-th nearest overall is a lower bound for it when the reference holds only
    one of the ``k`` hits, so the test stays at least as strict as matching each reference alone."""

    def __init__(self, groups: list[_Group]):
        self.groups = groups
        blocks = [g.features[1] for g in groups]
        self.rows = int(sum(len(b) for b in blocks))
        self.owner = (
            np.concatenate([np.full(len(b), i) for i, b in enumerate(blocks)]) if blocks else np.zeros(0)
        )
        self.local = np.concatenate([np.arange(len(b)) for b in blocks]) if blocks else np.zeros(0)
        if self.rows >= 2:
            stacked = np.ascontiguousarray(np.concatenate(blocks).astype(np.float32))
            if self.rows <= EXACT_MAX_ROWS:
                self.matcher: Any = cv2.BFMatcher(cv2.NORM_L2)
                self.matcher.add([stacked])
                self.matcher.train()
            else:
                self.matcher = kdtree_matcher(stacked, checks=FLANN_CHECKS, trees=FLANN_TREES)

    @property
    def references(self) -> int:
        return len({g.ref_id for g in self.groups})

    def good_matches(self, descriptors: np.ndarray) -> dict[int, list[tuple[int, int]]]:
        """Per group: (candidate keypoint, reference keypoint) pairs that pass the ratio test."""
        good: dict[int, list[tuple[int, int]]] = {}
        if self.rows < 2 or len(descriptors) < 2:
            return good
        for hits in self.matcher.knnMatch(np.ascontiguousarray(descriptors, np.float32), k=NEIGHBOURS):
            if len(hits) < 2:
                continue
            kth = hits[-1].distance if len(hits) == NEIGHBOURS else float("inf")
            seen: dict[int, list[Any]] = {}
            for hit in hits:
                seen.setdefault(int(self.owner[hit.trainIdx]), []).append(hit)
            for group, own in seen.items():
                second = own[1].distance if len(own) > 1 else kth
                if own[0].distance < RATIO * second:
                    good.setdefault(group, []).append((own[0].queryIdx, int(self.local[own[0].trainIdx])))
        return good


def reference_index(deps: Deps, brand: Brand) -> ReferenceFeatureIndex:
    """The brand's index, built once per brand version and process (the references bucket holds the features)."""
    key = ("copy-index", brand.brand_id, brand.version)
    if key not in deps.cache:
        groups = []
        for ref in brand.references:
            if ref.get("kind") == "reference" and ref.get("copy_features"):
                features = _reference_features(deps, ref)
                groups.append(_Group(ref["ref_id"], False, features))
                groups.append(_Group(ref["ref_id"], True, mirrored(features)))
        deps.cache[key] = ReferenceFeatureIndex(groups)
    return cast(ReferenceFeatureIndex, deps.cache[key])


def _geometry(pairs: list[tuple[int, int]], cand: Features, ref: Features) -> dict[str, Any]:
    """Inliers of a RANSAC homography from reference to candidate, with a plausibility check."""
    c_pts, _, c_size = cand
    r_pts, _, r_size = ref
    if len(pairs) < MIN_INLIERS:
        return {"inliers": 0, "good": len(pairs)}
    fit = fit_homography(r_pts[[r for _, r in pairs]], c_pts[[c for c, _ in pairs]], GEOMETRY_METHOD)
    if fit is None:
        return {"inliers": 0, "good": len(pairs)}
    homography, mask = fit
    src, dst = r_pts[[r for _, r in pairs]][mask], c_pts[[c for c, _ in pairs]][mask]
    if len(src) >= 8:  # least squares on the RANSAC inliers: a sharper outline than the minimal-sample model
        refined, _ = cv2.findHomography(src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), 0)
        homography = refined if refined is not None else homography
    w, h = r_size
    outline = cv2.perspectiveTransform(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2), homography
    )
    area = abs(cv2.contourArea(outline))
    plausible = (
        cv2.isContourConvex(outline.astype(np.float32)) and area >= MIN_PROJECTED_AREA * c_size[0] * c_size[1]
    )
    inliers = int(mask.sum()) if plausible else 0
    result: dict[str, Any] = {"inliers": inliers, "good": len(pairs), "plausible": bool(plausible)}
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


def verify_pair(cand: Features, ref: Features) -> dict[str, Any]:
    """One reference against one candidate (tests and benchmarks; the channel uses the shared index)."""
    index = ReferenceFeatureIndex([_Group("ref", False, ref)])
    return _geometry(index.good_matches(cand[1]).get(0, []), cand, ref)


def shares_candidate_pass(size: tuple[int, int]) -> bool:
    """Whether copy verification sees the same pixels as the scan's one SIFT pass (``sift.candidate_keypoints``)
    for a working copy of ``size``: at or below ``FEATURE_SIDE``, and then the pass's ``MAX_FEATURES`` strongest
    keypoints are the ones ``sift_features`` keeps (OpenCV ranks by the same response). Up to this size preprocess
    stores the pass (on the hash short-circuit's path too, where it costs what copy's own pass would); above it,
    hash_match does after the short-circuit (``common.pipeline``)."""
    return max(size) <= FEATURE_SIDE


# The smallest keypoint a SIFT pass reports, in the pixels it was given: octave -1 (OpenCV doubles the image), the
# first layer less half a layer of sub-layer interpolation: sigma 1.6 x 2^(0.5/3) = 1.796 (a 640 px pass of the
# seed 2027 set: 1.79996 the smallest).
SMALLEST_KEYPOINT = 1.6 * 2 ** (0.5 / 3)


def candidate_features(keypoints: Keypoints, image_size: tuple[int, int]) -> Features | None:
    """Copy verification's view of the scan's one SIFT pass over a working copy of ``image_size``, or None where
    it does not serve (a larger copy's pass stored without keypoint sizes). Above ``FEATURE_SIDE`` the 1000 px
    pass is seen at 640 px: only its keypoints at least ``SMALLEST_KEYPOINT`` there (the scales a 640 px pass
    detects), the ``MAX_FEATURES`` strongest of them, points in 640 px pixels. Measured against copy's own pass on
    the seed 2027 set's 45 candidates > 640 px (``scripts/bench_sift_once.py --copy-scale``, MAGSAC++): every copy
    the own pass verifies on counterfeit listings, and one more (docs/speed.md, "SIFT once per candidate")."""
    if shares_candidate_pass(image_size):
        kp = keypoints.strongest(MAX_FEATURES)
        return kp.points, kp.descriptors, kp.size
    if keypoints.sizes is None:
        return None
    to640 = FEATURE_SIDE / max(image_size) / keypoints.scale  # 640 px pixels per pixel SIFT saw
    at640 = keypoints.subset(np.flatnonzero(keypoints.sizes * to640 >= SMALLEST_KEYPOINT))
    kp = at640.strongest(MAX_FEATURES)
    s640 = FEATURE_SIDE / max(image_size)
    size = (max(1, round(image_size[0] * s640)), max(1, round(image_size[1] * s640)))
    return kp.points * np.float32(to640), kp.descriptors, size


def best_geometry(
    index: ReferenceFeatureIndex, cand: Features, first: str | None = None
) -> tuple[int, _Group, dict[str, Any]]:
    """(inliers, group, ``_geometry`` result) of the best fit among the ``MAX_GEOMETRY_CHECKS`` groups with the
    most ratio-test matches, reference ``first`` (the embedding's best) breaking ties: the matching itself already
    covered every reference. ``(0, index.groups[0], {})`` when nothing fits."""
    good = index.good_matches(cand[1])
    order = sorted(good, key=lambda g: (-len(good[g]), index.groups[g].ref_id != first, g))
    best: tuple[int, _Group, dict[str, Any]] = (0, index.groups[0], {})
    for g in order[:MAX_GEOMETRY_CHECKS]:
        if len(good[g]) <= best[0]:
            # Inliers are a subset of a group's matches and the order is by match count: no group from here on
            # can beat the best fit, so its homography search is skipped with the same answer (docs/speed.md,
            # "Copy verification's geometry").
            break
        result = _geometry(good[g], cand, index.groups[g].features)
        if result["inliers"] > best[0]:
            best = (result["inliers"], index.groups[g], result)
    return best


def copy_signal(
    deps: Deps,
    brand: Brand,
    image: Image.Image,
    embedding: Signal | None,
    keypoints: Callable[[], Keypoints] | None = None,
) -> Signal:
    """``keypoints``: the scan's stored SIFT pass (``Candidate.keypoints``, read only when the brand has
    references), used when it serves (``candidate_features``); otherwise, or without it, copy verification's own
    640 px pass."""
    index = reference_index(deps, brand)
    if not index.groups:
        return Signal.not_run("copy", "brand has no reference features for copy verification")
    shared = candidate_features(keypoints(), image.size) if keypoints is not None else None
    cand = shared if shared is not None else sift_features(image)
    first = embedding.reference if embedding is not None else None
    inliers, group, result = best_geometry(index, cand, first)
    detail = {
        "inliers": inliers,
        "min_inliers": MIN_INLIERS,
        "checked": index.references,
        "mirrored": group.mirrored,
        **{k: v for k, v in result.items() if k not in ("inliers", "outline")},
    }
    if result.get("outline"):
        detail["box"] = _outline_box(result["outline"], cand[2], image)
    if inliers >= MIN_INLIERS:
        score = 0.5 + 0.5 * min(1.0, (inliers - MIN_INLIERS) / (FULL_SCORE_INLIERS - MIN_INLIERS))
        what = "Mirrored, edited copy" if group.mirrored else "Edited copy"
        return Signal(
            name="copy",
            status="fired",
            score=round(score, 4),
            reference=group.ref_id,
            detail=detail,
            reason=f"{what} of brand photo {group.ref_id}: {inliers} keypoints agree on one geometry.",
        )
    return Signal(
        name="copy",
        status="clear",
        score=round(min(0.49, inliers / (2 * MIN_INLIERS)), 4),
        reference=group.ref_id if inliers else None,
        detail=detail,
    )
