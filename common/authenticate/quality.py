"""Is a close-up usable? Each check answers with a "retake: why" the user can act on.

Thresholds are physical, measured on the card whose appearance is known (black markers on white paper), so they
do not depend on what the item looks like:
* no card: fewer than 2 of its markers detected (no scale, no homography);
* too dark: the card's paper below ``MIN_PAPER_LEVEL`` of full scale (noise then dominates thread contrast);
* too blurry: the edge spread of the markers on the card plane above ``MAX_BLUR_MM`` (fine texture and stamp
  detail), or ``SEAM_MAX_BLUR_MM`` for a seam, whose estimator then only searches the periods the blur leaves;
  the variance of the Laplacian on the rectified card is reported beside it;
* too oblique: the card plane tilted more than ``MAX_TILT_DEG`` from the image plane (from the homography);
* too far: fewer than ``MIN_PX_PER_MM`` photo pixels per millimetre on the card (SPI 39 would alias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from common.authenticate import card
from common.errors import BadImage
from common.imaging import decode

MIN_PAPER_LEVEL = 0.25
MAX_BLUR_MM = 0.25
# A seam photo is sent back as too blurry only past this edge spread: up to it, coarse stitches are still
# resolved (SPI <= ~20-25 at 0.4 mm) and the SPI search is capped at what the blur leaves (seam.MTF_FLOOR), so a
# finer seam is declined with that reason rather than mis-measured. Texture and stamp detail need MAX_BLUR_MM.
SEAM_MAX_BLUR_MM = 0.4
MAX_TILT_DEG = 40.0
MIN_PX_PER_MM = 4.0
_PAPER_POINTS_MM = np.array([[card.CARD_W_MM / 2, 12.0], [card.CARD_W_MM / 2, card.CARD_H_MM - 12.0],
                             [30.0, card.CARD_H_MM / 2 - 8], [card.CARD_W_MM - 30.0, card.CARD_H_MM / 2 + 8]])  # fmt: skip


def jpeg_block_px(image: object, fmt: str) -> int | None:
    """The photo's JPEG block size in photo px (None: not a JPEG): 8 px blocks, colour on a coarser grid when
    subsampled (the header's sampling factors; a phone's 4:2:0 codes colour in 16 px blocks). ``seam`` refuses
    colour-only periods on this grid's multiples along a seam."""
    if fmt != "JPEG":
        return None
    layer = getattr(image, "layer", None)  # [(component id, h factor, v factor, table)]
    if not layer:
        return 16  # unknown sampling (e.g. re-oriented on decode): as a phone's 4:2:0
    return 8 * max(max(c[1], c[2]) for c in layer)


def max_blur_for(check: str) -> float:
    """The blur limit for a region's check (``contract.region_check``)."""
    return SEAM_MAX_BLUR_MM if check == "spi" else MAX_BLUR_MM


@dataclass
class Capture:
    """One decoded close-up: ``retake`` lists why it cannot be used (empty: usable)."""

    name: str
    retake: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    rgb: np.ndarray | None = None
    detection: card.CardDetection | None = None
    rectified: card.Rectified | None = None

    @property
    def usable(self) -> bool:
        return not self.retake and self.rectified is not None


def _focal_px(h: np.ndarray, width: int) -> float:
    """Focal length (px) from one plane homography, principal point at the image centre and square pixels
    (Zhang's constraints on K^-1 h1, K^-1 h2); a straight-on view leaves it undetermined: then ``width``
    (a 53 degree field of view, typical of a phone's main camera)."""
    (a, b), (c, d), (e, g) = h[0, :2], h[1, :2], h[2, :2]
    estimates = []
    for num, den in ((-(a * b + c * d), e * g), (-(a * a + c * c - b * b - d * d), e * e - g * g)):
        if abs(den) > 1e-12 and num / den > 0:
            estimates.append((abs(den), math.sqrt(num / den)))
    if not estimates:
        return float(width)
    f = max(estimates)[1]
    return f if 0.3 * width <= f <= 10 * width else float(width)


def _tilt_and_scale(detection: card.CardDetection, shape: tuple[int, ...]) -> tuple[float, float]:
    """(tilt of the card plane in degrees, photo px per mm at the card's centre) from the homography."""
    hgt, wid = shape[:2]
    inv = np.linalg.inv(detection.homography)  # card mm -> image px
    centred = np.array([[1.0, 0, -wid / 2], [0, 1.0, -hgt / 2], [0, 0, 1]]) @ inv
    f = _focal_px(centred, wid)
    m = np.diag([1 / f, 1 / f, 1.0]) @ centred
    r1, r2 = m[:, 0] / np.linalg.norm(m[:, 0]), m[:, 1] / np.linalg.norm(m[:, 1])
    normal = np.cross(r1, r2)
    tilt = math.degrees(math.acos(min(1.0, abs(float(normal[2]) / float(np.linalg.norm(normal))))))
    c = np.array([card.CARD_W_MM / 2, card.CARD_H_MM / 2])
    pts = np.array([c, c + [1.0, 0.0], c + [0.0, 1.0]]).reshape(-1, 1, 2)
    img = cv2.perspectiveTransform(pts, inv)[:, 0]
    jac = np.column_stack([img[1] - img[0], img[2] - img[0]])
    return tilt, float(math.sqrt(abs(np.linalg.det(jac))))


def _card_sharpness(gray: np.ndarray, detection: card.CardDetection) -> tuple[float, float, float, float]:
    """(edge spread sigma mm, variance of Laplacian, paper level, ink level) on the card rectified at the
    working scale, from the marker edges whose true profile is a step."""
    s = card.RECT_PX_PER_MM
    to_out = np.array([[s, 0, 0], [0, s, 0], [0, 0, 1.0]])
    size = (int(card.CARD_W_MM * s), int(card.CARD_H_MM * s))
    face = cv2.warpPerspective(gray, to_out @ detection.homography, size, flags=cv2.INTER_LINEAR).astype(
        float
    )
    face /= 255.0
    paper = float(np.median([face[int(y * s), int(x * s)] for x, y in _PAPER_POINTS_MM]))
    mask = np.zeros(face.shape, bool)
    for marker_id in detection.marker_ids:
        x, y = card.marker_origins()[marker_id]
        m = card.MARKER_MM
        mask[int((y - 1) * s) : int((y + m + 1) * s), int((x - 1) * s) : int((x + m + 1) * s)] = True
    ink = float(np.percentile(face[mask], 5))
    contrast = max(paper - ink, 1e-3)
    gx = cv2.Sobel(face, cv2.CV_64F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(face, cv2.CV_64F, 0, 1, ksize=3) / 8.0
    grad = np.hypot(gx, gy)[mask]
    peak = float(np.percentile(grad, 99.5)) / contrast  # a blurred step's slope peaks at 1/(sigma sqrt(2 pi))
    sigma_px = 1.0 / (math.sqrt(2 * math.pi) * max(peak, 1e-6))
    lap = float(cv2.Laplacian(face, cv2.CV_64F)[mask].var() / contrast**2)
    return sigma_px / s, lap, paper, ink


def assess(
    name: str, data: bytes, *, max_bytes: int, max_pixels: int, max_blur_mm: float = MAX_BLUR_MM
) -> Capture:
    """Decode (the project's safe decoder), find the card, run the checks, rectify when usable. A seam's
    stitch period survives more blur than texture and stamp detail: its check passes ``seam.MAX_BLUR_MM``."""
    cap = Capture(name)
    try:
        decoded = decode(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except BadImage as exc:
        cap.retake.append(f"unreadable image: {exc}")
        return cap
    rgb = np.asarray(decoded.image.convert("RGB"))
    cap.rgb = rgb
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    detection = card.detect_card(gray)
    if detection is None:
        level = float(gray.mean()) / 255.0
        why = "the scale card is not in the photo (at least 2 of its 4 markers must be visible)"
        if level < MIN_PAPER_LEVEL / 2:
            why += f"; the photo is also very dark (mean level {level:.2f})"
        cap.retake.append(why)
        return cap
    cap.detection = detection
    tilt, px_per_mm = _tilt_and_scale(detection, gray.shape)
    blur_mm, lap_var, paper, ink = _card_sharpness(gray, detection)
    cap.metrics = {
        "markers": float(len(detection.marker_ids)),
        "tilt_deg": round(tilt, 2),
        "photo_px_per_mm": round(px_per_mm, 2),
        "blur_sigma_mm": round(blur_mm, 4),
        "laplacian_variance": round(lap_var, 4),
        "paper_level": round(paper, 3),
        "card_residual_mm": round(detection.reprojection_mm, 4),
    }
    block = jpeg_block_px(decoded.image, decoded.format)
    if block is not None:
        cap.metrics["jpeg_block_px"] = float(block)
    if paper < MIN_PAPER_LEVEL:
        cap.retake.append(f"too dark: the card's white reads {paper:.2f} of full scale, at least "
                          f"{MIN_PAPER_LEVEL:.2f} needed (more light, no flash glare)")  # fmt: skip
    if tilt > MAX_TILT_DEG:
        cap.retake.append(f"too oblique: the card is tilted {tilt:.0f} degrees, at most {MAX_TILT_DEG:.0f} "
                          "(shoot straight down on the region)")  # fmt: skip
    if px_per_mm < MIN_PX_PER_MM:
        cap.retake.append(f"too far: {px_per_mm:.1f} photo pixels per mm, at least {MIN_PX_PER_MM:g} "
                          "needed (move closer, keep the card in view)")  # fmt: skip
    if blur_mm > max_blur_mm and paper >= MIN_PAPER_LEVEL:
        cap.retake.append(f"too blurry: edges spread over {blur_mm:.2f} mm on the card, at most "
                          f"{max_blur_mm:g} mm (hold still, focus on the region)")  # fmt: skip
    if not cap.retake:
        cap.rectified = card.rectify(rgb, detection)
    return cap
