"""The printable scale card: four ArUco markers of known size at known places on an ID-1 sized card.

Why ArUco: OpenCV's headless build detects them (``cv2.aruco``) with sub-pixel corners, each marker has an id so
partial views still give known 3-D points, and a laser/inkjet print at 100 % is accurate to well under 1 %.
All card coordinates are millimetres, origin at the card's top-left, x right, y down. The detected corners give
the homography image -> card plane; close-ups are rectified into that plane at ``RECT_PX_PER_MM``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np

CARD_W_MM, CARD_H_MM = 85.6, 54.0  # ISO/IEC 7810 ID-1: fits a wallet, lies flat beside a seam
MARKER_MM = 14.0
MARKER_MARGIN_MM = 4.0
MARKER_IDS = (0, 1, 2, 3)  # top-left, top-right, bottom-right, bottom-left
ARUCO_DICT = cv2.aruco.DICT_4X4_50  # 4x4 bits: the largest cells for a given marker size (easiest to detect)
CHECK_BAR_MM = 50.0  # printed ruler: the user verifies the print scale with any ruler
RECT_PX_PER_MM = 8.0  # rectified working scale: SPI 40 (0.64 mm period) is still 5 px per stitch
MAX_RECT_SIDE_MM = 260.0  # rectify at most this far across the card plane (a close-up, not a room)


def marker_origins() -> dict[int, tuple[float, float]]:
    """Top-left corner (mm) of each marker on the card."""
    m, s = MARKER_MARGIN_MM, MARKER_MM
    return {
        0: (m, m),
        1: (CARD_W_MM - m - s, m),
        2: (CARD_W_MM - m - s, CARD_H_MM - m - s),
        3: (m, CARD_H_MM - m - s),
    }


def marker_corners_mm(marker_id: int) -> np.ndarray:
    """The 4 corners in ArUco order (TL, TR, BR, BL) in card millimetres."""
    x, y = marker_origins()[marker_id]
    s = MARKER_MM
    return np.array([[x, y], [x + s, y], [x + s, y + s], [x, y + s]], dtype=np.float64)


def _dictionary() -> cv2.aruco.Dictionary:
    return cv2.aruco.getPredefinedDictionary(ARUCO_DICT)


def marker_image(marker_id: int, side_px: int) -> np.ndarray:
    """The marker as a uint8 image (black border included), for the PDF and the synthetic renderer."""
    return cv2.aruco.generateImageMarker(_dictionary(), marker_id, side_px)


def card_image(px_per_mm: float) -> np.ndarray:
    """The card face as a grayscale uint8 raster (white paper, four markers, the check bar)."""
    w, h = round(CARD_W_MM * px_per_mm), round(CARD_H_MM * px_per_mm)
    img = np.full((h, w), 255, np.uint8)
    side = round(MARKER_MM * px_per_mm)
    for marker_id, (x, y) in marker_origins().items():
        x0, y0 = round(x * px_per_mm), round(y * px_per_mm)
        img[y0 : y0 + side, x0 : x0 + side] = marker_image(marker_id, side)
    y = round(CARD_H_MM / 2 * px_per_mm)
    x0 = round((CARD_W_MM - CHECK_BAR_MM) / 2 * px_per_mm)
    img[y : y + max(1, round(px_per_mm)), x0 : x0 + round(CHECK_BAR_MM * px_per_mm)] = 0
    return img


def card_pdf() -> bytes:
    """A4 PDF with the card at true size, to print at 100 % ("actual size", no fit-to-page)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 8, "counterfeit scale card - PRINT AT 100 % (actual size, no fit-to-page)", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)  # fmt: skip
    pdf.set_font("helvetica", "", 9)
    pdf.multi_cell(
        0,
        4.5,
        f"Check the print: the bar on the card must measure exactly {CHECK_BAR_MM:g} mm and each marker "
        f"{MARKER_MM:g} mm. Cut along the outline, lay the card flat next to the region (same plane, "
        "e.g. beside the seam), keep all four markers and the region in the photo, shoot straight on.",
    )
    x0, y0 = 20.0, 40.0
    dpmm = 24.0  # ~600 dpi raster: sharp marker edges at any printer resolution
    png = io.BytesIO()
    from PIL import Image

    Image.fromarray(card_image(dpmm)).save(png, format="PNG")
    png.seek(0)
    pdf.image(png, x=x0, y=y0, w=CARD_W_MM, h=CARD_H_MM)
    pdf.set_draw_color(150, 150, 150)
    pdf.rect(x0, y0, CARD_W_MM, CARD_H_MM)
    pdf.set_xy(x0, y0 + CARD_H_MM / 2 + 2)
    pdf.set_font("helvetica", "", 7)
    pdf.cell(CARD_W_MM, 4, f"{CHECK_BAR_MM:g} mm", align="C")
    pdf.set_xy(x0, y0 + CARD_H_MM + 3)
    pdf.set_font("helvetica", "", 8)
    pdf.cell(0, 4, f"ArUco DICT_4X4_50 ids 0-3, {MARKER_MM:g} mm markers, card {CARD_W_MM} x {CARD_H_MM} mm")
    return bytes(pdf.output())


@dataclass(frozen=True)
class CardDetection:
    """Markers found in one photo and the homography image px -> card mm fitted to their corners."""

    marker_ids: tuple[int, ...]
    image_corners: np.ndarray  # (4k, 2) image px
    card_corners: np.ndarray  # (4k, 2) card mm
    homography: np.ndarray  # 3x3, image px -> card mm
    reprojection_mm: float  # RMS corner residual in card mm (print/detection accuracy)

    def image_to_card(self, points: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), self.homography)[:, 0]


def detect_card(gray: np.ndarray) -> CardDetection | None:
    """The card in a grayscale photo, or None when fewer than two of its markers are visible (two give eight
    corners: enough for a homography with a residual to check it)."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(_dictionary(), params)
    corners, ids, _ = detector.detectMarkers(gray)
    if ids is None:
        return None
    found: dict[int, np.ndarray] = {}
    for marker_corners, marker_id in zip(corners, ids.ravel(), strict=True):
        if int(marker_id) in MARKER_IDS and int(marker_id) not in found:
            found[int(marker_id)] = marker_corners.reshape(4, 2).astype(np.float64)
    if len(found) < 2:
        return None
    keys = tuple(sorted(found))
    img_pts = np.concatenate([found[k] for k in keys])
    card_pts = np.concatenate([marker_corners_mm(k) for k in keys])
    homography, _ = cv2.findHomography(img_pts, card_pts, 0)
    if homography is None:
        return None
    projected = cv2.perspectiveTransform(img_pts.reshape(-1, 1, 2), homography)[:, 0]
    rms = float(np.sqrt(np.mean(np.sum((projected - card_pts) ** 2, axis=1))))
    return CardDetection(keys, img_pts, card_pts, homography, rms)


CORNER_SIGMA_FLOOR_MM = 0.02  # corners are never better than ~0.15 photo px at the working distance
SCALE_TRIALS = 64


def length_sigma_rel(detection: CardDetection, a_mm: np.ndarray, b_mm: np.ndarray) -> float:
    """Relative standard deviation of the card-plane distance between two points (card mm), from the corners'
    own scatter: the corners are perturbed by the noise their residual shows and the homography refitted.
    Why: the card is 85 mm wide and a seam is measured up to ~150 mm away from it, where a small error of the
    fitted perspective becomes a scale error of the stitch period."""
    pts = detection.card_corners
    dof = max(1, 2 * len(pts) - 8)  # a homography has 8 parameters: the residual under-reads the noise
    sigma = max(detection.reprojection_mm * math.sqrt(2 * len(pts) / dof), CORNER_SIGMA_FLOOR_MM)
    to_image = np.linalg.inv(detection.homography)
    ends_px = cv2.perspectiveTransform(np.array([a_mm, b_mm], np.float64).reshape(-1, 1, 2), to_image)
    rng = np.random.default_rng(0)  # reproducible: the same photo gets the same uncertainty
    lengths = []
    for _ in range(SCALE_TRIALS):
        noisy = pts + rng.normal(0, sigma / math.sqrt(2), pts.shape)
        h, _ = cv2.findHomography(detection.image_corners, noisy, 0)
        if h is not None:
            ends = cv2.perspectiveTransform(ends_px, h)[:, 0]
            lengths.append(float(np.linalg.norm(ends[1] - ends[0])))
    length = float(np.linalg.norm(np.asarray(b_mm) - np.asarray(a_mm)))
    return float(np.std(lengths)) / max(length, 1e-9) if len(lengths) > 2 else 0.0


@dataclass(frozen=True)
class Rectified:
    """A photo resampled onto the card plane: pixel (u, v) is card mm (origin_mm + (u, v) / px_per_mm)."""

    image: np.ndarray  # float32 grayscale 0..1 (or HxWx3 for colour)
    valid: np.ndarray  # bool: inside the photo and outside the card
    origin_mm: tuple[float, float]
    px_per_mm: float

    def card_mask(self, margin_mm: float = 2.0) -> np.ndarray:
        h, w = self.valid.shape
        xs = self.origin_mm[0] + np.arange(w) / self.px_per_mm
        ys = self.origin_mm[1] + np.arange(h) / self.px_per_mm
        in_x = (xs >= -margin_mm) & (xs <= CARD_W_MM + margin_mm)
        in_y = (ys >= -margin_mm) & (ys <= CARD_H_MM + margin_mm)
        return np.asarray(in_y[:, None] & in_x[None, :])


def rectify(image: np.ndarray, detection: CardDetection, px_per_mm: float = RECT_PX_PER_MM) -> Rectified:
    """Resample ``image`` (uint8 gray or RGB) onto the card plane at ``px_per_mm`` over the photo's footprint
    (clipped to ``MAX_RECT_SIDE_MM`` around the card); the card itself is masked out of ``valid``."""
    h, w = image.shape[:2]
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    footprint = detection.image_to_card(corners)
    cx, cy = CARD_W_MM / 2, CARD_H_MM / 2
    half = MAX_RECT_SIDE_MM / 2
    x0, y0 = np.clip(footprint.min(axis=0), [cx - half, cy - half], [cx + half, cy + half])
    x1, y1 = np.clip(footprint.max(axis=0), [cx - half, cy - half], [cx + half, cy + half])
    out_w, out_h = max(1, int((x1 - x0) * px_per_mm)), max(1, int((y1 - y0) * px_per_mm))
    to_out = np.array([[px_per_mm, 0, -x0 * px_per_mm], [0, px_per_mm, -y0 * px_per_mm], [0, 0, 1]])
    warp = to_out @ detection.homography
    resampled = cv2.warpPerspective(image, warp, (out_w, out_h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(
        np.full((h, w), 255, np.uint8), warp, (out_w, out_h), flags=cv2.INTER_NEAREST
    )
    rect = Rectified(
        image=resampled.astype(np.float32) / 255.0,
        valid=np.zeros((out_h, out_w), bool),
        origin_mm=(float(x0), float(y0)),
        px_per_mm=px_per_mm,
    )
    valid = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    return Rectified(rect.image, valid & ~rect.card_mask(), rect.origin_mm, px_per_mm)
