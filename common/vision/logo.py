"""Few-shot logo detection: SIFT keypoints of the brand's own logo files vs the candidate, Lowe ratio test,
RANSAC homography, then a plausibility check of the fitted geometry.

Why SIFT + geometric verification (not a learned detector): a brand registers a handful of logo files and
nothing else; SIFT needs no training, is scale/rotation invariant and tolerant to moderate perspective, and the
homography gives a box plus an inlier count that is hard to reach by chance. Measured on this machine
(COMPONENTS.md): >= 12 inliers with the plausibility check found 73% of pasted logos with 0 false positives;
without the check RANSAC accepts nonsense fits.

What it misses (honest limits): logos under ~100 px wide in the working copy; flat marks with few corners (a
plain circle, a single swoosh on a blank field give too few keypoints); heavy blur; strong non-planar
deformation (a logo on a crumpled bag); and redrawn marks (S4 "modified" logos whose shapes changed) — those
fall to OCR/text matching and the embedding channel. Mirrored marks are found through mirrored reference sets.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from common.vision.sift import (
    MIN_INLIERS,
    Keypoints,
    candidate_keypoints,
    fit_homography,
    kdtree_matcher,
    ratio_test,
    sift,
)

REFERENCE_SIDE = 400  # logos are normalised to this longest side before feature extraction
REFERENCE_PAD = 24  # white margin so keypoints at the logo's edge exist
REFERENCE_MAX_FEATURES = 600
# The candidate side's operating point (1000 px, 5000 features) is common.vision.sift's CANDIDATE_MAX_*: the one
# SIFT pass per scan serves copy verification too.
MIN_AREA_PX2 = 200.0  # COMPONENTS.md: projected outline must cover >= 200 px^2
MIN_INLIER_SPREAD = 0.15  # inliers' bounding box must cover >= 15% of the logo (not one small patch)
MAX_SIDE_RATIO = 6.0  # opposite sides of the projected outline may differ at most this much (perspective)
# Slivers: perspective compresses one axis by cos(tilt) and bends corners away from 90 degrees, but a fit whose
# outline is stretched over 3x its own width : height (a ~70 degree tilt) or has a corner under 25 degrees is a
# sliver, not a view of the logo: e.g. a 1:1 synthetic mark fitted as a 443 x 66 px strip with 11 and 18 degree
# corners across another logo's letters on a cluttered photo (tests/unit/test_vision_logo).
MAX_ASPECT_CHANGE = 3.0
MIN_CORNER_DEG = 25.0
OUTSIDE_MARGIN = (
    0.25  # a mark cropped by the frame may stick out, but not by more than a quarter of the image
)
# Shortlisting (only with more than SHORTLIST_FROM logos): votes needed, how many logos to verify at most, the
# cross-logo ratio and neighbours looked at. Lenient on purpose: verification below is the real test.
SHORTLIST_FROM = 3
SHORTLIST_MIN_VOTES = 6
SHORTLIST_MAX = 3
SHORTLIST_RATIO = 0.8
SHORTLIST_K = 4
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128)}
FOREGROUND_DELTA = 40  # a pixel belongs to the mark if it differs this much from the file's border colour


@dataclass
class LogoVariant:
    background: str
    mirrored: bool
    keypoints: np.ndarray  # (n, 2) float32 x, y in the normalised logo frame
    descriptors: np.ndarray  # (n, 128) float32


@dataclass
class LogoFeatures:
    ref_id: str
    width: int  # normalised logo frame, padding included
    height: int
    outline: np.ndarray  # (4, 2) corners of the mark itself inside the frame
    variants: list[LogoVariant] = field(default_factory=list)


@dataclass(frozen=True)
class LogoHit:
    ref_id: str
    confidence: float
    inliers: int
    matches: int
    box: tuple[int, int, int, int]  # x, y, w, h in candidate pixels
    quad: list[list[float]]  # projected outline corners
    mirrored: bool
    background: str
    method: str = "sift_homography"
    # x, y, w, h of the candidate-side RANSAC inliers: where the matched keypoints are, which can be a part of the
    # projected outline (the wordmark band of a logo file printed as plain letters on a label: fusion.scored)
    inlier_box: tuple[int, int, int, int] | None = None


def _foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the mark: those that differ from the median border colour of the logo file."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    bg = np.median(border, axis=0)
    return np.abs(rgb.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > FOREGROUND_DELTA


def render_variants(logo: Image.Image) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The mark composited on white, black and grey (so its outline edges exist with either contrast), in a
    normalised padded frame; returns grey images per background and the mark's outline corners."""
    rgb = np.asarray(logo.convert("RGB"))
    scale = REFERENCE_SIDE / max(rgb.shape[:2])
    rgb = cv2.resize(
        rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    )
    mask = _foreground_mask(rgb)
    if mask.mean() < 0.01:  # a file with no detectable background: treat everything as the mark
        mask[:] = True
    h, w = mask.shape
    out: dict[str, np.ndarray] = {}
    for name, color in BACKGROUNDS.items():
        canvas = np.empty((h + 2 * REFERENCE_PAD, w + 2 * REFERENCE_PAD, 3), np.uint8)
        canvas[:] = color
        inner = canvas[REFERENCE_PAD : REFERENCE_PAD + h, REFERENCE_PAD : REFERENCE_PAD + w]
        inner[mask] = rgb[mask]
        out[name] = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)
    p = REFERENCE_PAD
    outline = np.array([[p, p], [p + w, p], [p + w, p + h], [p, p + h]], dtype=np.float32)
    return out, outline


def extract_logo_features(ref_id: str, logo: Image.Image) -> LogoFeatures:
    views, outline = render_variants(logo)
    detector = sift(REFERENCE_MAX_FEATURES)
    first = next(iter(views.values()))
    feats = LogoFeatures(ref_id=ref_id, width=first.shape[1], height=first.shape[0], outline=outline)
    for name, gray in views.items():
        for mirrored in (False, True):
            view = gray[:, ::-1].copy() if mirrored else gray
            kps, desc = detector.detectAndCompute(view, None)
            if desc is None or len(kps) < MIN_INLIERS:
                continue
            pts = np.array([k.pt for k in kps], dtype=np.float32)
            if mirrored:  # express keypoints in the un-mirrored frame so the outline maps the same way
                pts[:, 0] = view.shape[1] - 1 - pts[:, 0]
            feats.variants.append(LogoVariant(name, mirrored, pts, desc.astype(np.float32)))
    return feats


def features_to_npz(feats: LogoFeatures) -> bytes:
    arrays: dict[str, np.ndarray] = {"outline": feats.outline}
    variants: list[dict[str, Any]] = []
    meta = {"ref_id": feats.ref_id, "width": feats.width, "height": feats.height, "variants": variants}
    for i, v in enumerate(feats.variants):
        arrays[f"kp{i}"] = v.keypoints
        # SIFT descriptor components are 0..255 after OpenCV's normalisation: a byte each loses nothing.
        arrays[f"desc{i}"] = np.clip(np.rint(v.descriptors), 0, 255).astype(np.uint8)
        variants.append({"background": v.background, "mirrored": v.mirrored})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def features_from_npz(data: bytes) -> LogoFeatures:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        feats = LogoFeatures(
            meta["ref_id"], int(meta["width"]), int(meta["height"]), z["outline"].astype(np.float32)
        )
        for i, v in enumerate(meta["variants"]):
            feats.variants.append(
                LogoVariant(
                    v["background"], bool(v["mirrored"]), z[f"kp{i}"], z[f"desc{i}"].astype(np.float32)
                )
            )
    return feats


@dataclass
class CandidateFeatures:
    keypoints: np.ndarray  # (n, 2) in candidate pixels (original scale)
    descriptors: np.ndarray
    matcher: cv2.FlannBasedMatcher | None
    image_size: tuple[int, int]


def candidate_features(image: Image.Image, keypoints: Keypoints | None = None) -> CandidateFeatures:
    """The candidate's SIFT keypoints (``keypoints`` when the scan already computed them, else computed here)
    plus a FLANN index over their descriptors: every reference variant is then a query against this index, so
    the ratio test asks "is this reference point unambiguous in the candidate?"."""
    kp = keypoints if keypoints is not None else candidate_keypoints(image)
    size = (image.width, image.height)
    if len(kp.points) < 2:
        return CandidateFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), None, size)
    matcher = kdtree_matcher(kp.descriptors, checks=48)
    return CandidateFeatures(kp.points / np.float32(kp.scale), kp.descriptors, matcher, size)


def _sides(quad: np.ndarray) -> np.ndarray:
    """Side lengths of a four-corner outline, side i from corner i to corner i + 1."""
    return np.asarray(np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1))


def _aspect(sides: np.ndarray) -> float:
    """Width : height of a four-corner outline from its ``_sides`` (mean opposite sides, corner order as the
    outline's)."""
    return float((sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-6))


def _min_corner_deg(quad: np.ndarray) -> float:
    """The smallest interior angle of a convex four-corner outline, in degrees."""
    before, after = np.roll(quad, 1, axis=0) - quad, np.roll(quad, -1, axis=0) - quad
    cos = (before * after).sum(axis=1) / np.maximum(
        np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1), 1e-9
    )
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).min())


def _plausible(quad: np.ndarray, image_size: tuple[int, int], outline: np.ndarray) -> bool:
    """Reject geometrically impossible fits of the logo's ``outline``: twisted or concave outlines, tiny or
    image-dwarfing areas, extreme foreshortening, and the logo stretched into a sliver."""
    if not np.all(np.isfinite(quad)):
        return False
    contour = quad.reshape(-1, 1, 2).astype(np.float32)
    if not cv2.isContourConvex(contour):
        return False
    area = cv2.contourArea(contour)
    w, h = image_size
    if area < MIN_AREA_PX2 or area > 4.0 * w * h:
        return False
    margin_x, margin_y = OUTSIDE_MARGIN * w, OUTSIDE_MARGIN * h
    if (quad[:, 0] < -margin_x).any() or (quad[:, 0] > w + margin_x).any():
        return False
    if (quad[:, 1] < -margin_y).any() or (quad[:, 1] > h + margin_y).any():
        return False
    sides = _sides(quad)
    if sides.min() < 4:
        return False
    if max(sides[0], sides[2]) / min(sides[0], sides[2]) > MAX_SIDE_RATIO:
        return False
    if max(sides[1], sides[3]) / min(sides[1], sides[3]) > MAX_SIDE_RATIO:
        return False
    if _min_corner_deg(quad) < MIN_CORNER_DEG:
        return False
    change = _aspect(sides) / _aspect(_sides(outline.reshape(-1, 2)))
    return bool(max(change, 1.0 / change) <= MAX_ASPECT_CHANGE)


def _signed_area(quad: np.ndarray) -> float:
    return float(cv2.contourArea(quad.reshape(-1, 1, 2).astype(np.float32), oriented=True))


def _confidence(inliers: int, n_matches: int) -> float:
    """0.7 at the inlier threshold, rising to 1.0 at 3x the threshold; scaled by the inlier ratio's support."""
    strength = min(1.0, (inliers - MIN_INLIERS) / (2 * MIN_INLIERS))
    ratio = inliers / max(n_matches, 1)
    return round(min(1.0, 0.7 + 0.3 * strength) * (0.85 + 0.15 * min(1.0, ratio * 2)), 4)


def match_variant(cand: CandidateFeatures, feats: LogoFeatures, variant: LogoVariant) -> LogoHit | None:
    if cand.matcher is None or len(variant.descriptors) < MIN_INLIERS or len(cand.keypoints) < MIN_INLIERS:
        return None
    knn = cand.matcher.knnMatch(variant.descriptors, k=2)
    good = ratio_test(knn)
    if len(good) < MIN_INLIERS:
        return None
    src = variant.keypoints[[q for q, _ in good]]
    dst = cand.keypoints[[t for _, t in good]]
    fit = fit_homography(src, dst)
    if fit is None:
        return None
    hom, inlier = fit
    n_in = int(inlier.sum())
    if n_in < MIN_INLIERS:
        return None
    ref_in = src[inlier]
    spread = np.ptp(ref_in[:, 0]) * np.ptp(ref_in[:, 1])
    outline = feats.outline
    logo_area = np.ptp(outline[:, 0]) * np.ptp(outline[:, 1])
    if spread < MIN_INLIER_SPREAD * logo_area:
        return None
    quad = cv2.perspectiveTransform(outline.reshape(-1, 1, 2), hom).reshape(-1, 2)
    if not _plausible(quad, cand.image_size, outline):
        return None
    # The candidate-side inliers must also spread over the projected outline; a fit whose 12 inliers sit in one
    # corner of an image-sized quad is the nonsense RANSAC returns on clutter.
    cand_in = dst[inlier]
    if np.ptp(cand_in[:, 0]) * np.ptp(cand_in[:, 1]) < MIN_INLIER_SPREAD * cv2.contourArea(
        quad.astype(np.float32)
    ):
        return None
    # Orientation check: mirrored keypoints are stored in the un-mirrored frame, so a true mirrored mark gives
    # an orientation-reversing fit and a normal mark an orientation-preserving one; anything else is nonsense.
    flipped = _signed_area(quad) * _signed_area(outline) < 0
    if flipped != variant.mirrored:
        return None
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    w, h = cand.image_size
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(w, int(x1)), min(h, int(y1))
    if x1 <= x0 or y1 <= y0:
        return None
    ix0, iy0 = np.floor(cand_in.min(axis=0)).astype(int)
    ix1, iy1 = np.ceil(cand_in.max(axis=0)).astype(int)
    return LogoHit(
        ref_id=feats.ref_id,
        confidence=_confidence(n_in, len(good)),
        inliers=n_in,
        matches=len(good),
        box=(x0, y0, x1 - x0, y1 - y0),
        quad=[[round(float(a), 1), round(float(b), 1)] for a, b in quad],
        mirrored=variant.mirrored,
        background=variant.background,
        inlier_box=(int(ix0), int(iy0), int(ix1 - ix0), int(iy1 - iy0)),
    )


@dataclass
class LogoIndex:
    """All reference descriptors of a brand in one FLANN index, to shortlist logos before verification: with
    many registered logos, verifying every variant of every logo costs ~6 queries per logo; the shortlist makes
    it one query per candidate plus verification of the few logos that collected votes."""

    logos: list[LogoFeatures]
    owner: np.ndarray  # logo position per indexed descriptor
    matcher: cv2.FlannBasedMatcher | None


def build_logo_index(logos: Sequence[LogoFeatures]) -> LogoIndex:
    descs = [v.descriptors for f in logos for v in f.variants]
    owner = np.concatenate(
        [np.full(len(v.descriptors), i, np.int32) for i, f in enumerate(logos) for v in f.variants]
        or [np.zeros(0, np.int32)]
    )
    if not descs:
        return LogoIndex(list(logos), owner, None)
    matcher = kdtree_matcher(np.concatenate(descs), checks=16)
    return LogoIndex(list(logos), owner, matcher)


def shortlist(cand: CandidateFeatures, index: LogoIndex) -> list[int]:
    """Logos worth verifying: candidate descriptors vote for the logo of their nearest reference descriptor
    when it passes a ratio test against the nearest descriptor of a *different* logo (duplicates across one
    logo's background/mirror variants are not ambiguity)."""
    if index.matcher is None or len(cand.descriptors) == 0:
        return []
    votes = np.zeros(len(index.logos), np.int32)
    for neighbours in index.matcher.knnMatch(cand.descriptors, k=SHORTLIST_K):
        if not neighbours:
            continue
        first = neighbours[0]
        logo = index.owner[first.trainIdx]
        other = next((n for n in neighbours[1:] if index.owner[n.trainIdx] != logo), None)
        if other is None or first.distance < SHORTLIST_RATIO * other.distance:
            votes[logo] += 1
    ranked = [int(i) for i in np.argsort(-votes) if votes[i] >= SHORTLIST_MIN_VOTES]
    return ranked[:SHORTLIST_MAX]


def find_logos(
    cand: CandidateFeatures, logos: Sequence[LogoFeatures], index: LogoIndex | None = None
) -> list[LogoHit]:
    """Best verified hit per logo (strongest first). With more than SHORTLIST_FROM logos, only logos that the
    shared index shortlists are verified (pass a cached ``index`` to avoid rebuilding it per candidate)."""
    if len(logos) > SHORTLIST_FROM:
        index = index if index is not None else build_logo_index(logos)
        todo = [index.logos[i] for i in shortlist(cand, index)]
    else:
        todo = list(logos)
    hits: list[LogoHit] = []
    for feats in todo:
        best: LogoHit | None = None
        for variant in feats.variants:
            hit = match_variant(cand, feats, variant)
            if hit is not None and (
                best is None or (hit.inliers, hit.confidence) > (best.inliers, best.confidence)
            ):
                best = hit
        if best is not None:
            hits.append(best)
    return sorted(hits, key=lambda h: (-h.confidence, -h.inliers))
