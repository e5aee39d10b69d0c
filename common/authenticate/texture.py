"""Texture descriptors at the card's physical scale: rotation-invariant LBP histograms and Gabor energies.

Why these: after rectification a pixel is 1/8 mm on every photo, so a radius or a wavelength in millimetres
means the same grain on every close-up (descriptors of unscaled photos mix zoom with texture). Uniform LBP
(riu2) is invariant to monotonic lighting changes and to rotation; Gabor energy shares per wavelength describe
how coarse the grain or weave is, normalised by total energy so exposure cancels. numpy + OpenCV only.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from common.authenticate.card import Rectified

LBP_RADII_MM = (0.25, 0.5, 1.0)
LBP_POINTS = 8
GABOR_WAVELENGTHS_MM = (0.5, 1.0, 2.0, 4.0)
GABOR_ORIENTATIONS = 6
PATCH_MM = 60.0
GABOR_PX_PER_WAVE = 8.0  # each wavelength is filtered on a pyramid level where it spans ~8 px
EDGE_MM = 4.0  # ignore this much next to the card and the photo edge (resampling and mask effects)
VERSION = "texture-1"


def _gray(rect: Rectified) -> np.ndarray:
    img = rect.image if rect.image.ndim == 2 else cv2.cvtColor(rect.image, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(img, dtype=np.float32)


def _patch(rect: Rectified) -> np.ndarray:
    """The largest square of the region fully inside the photo and away from the card (at most PATCH_MM),
    so every close-up is described over comparable, clean area."""
    inner = np.pad(rect.valid.astype(np.uint8), 1)  # OpenCV counts beyond the image as inside: pad with 0
    dist = cv2.distanceTransform(inner, cv2.DIST_C, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    half = int(min(dist[y, x] - EDGE_MM * rect.px_per_mm, PATCH_MM * rect.px_per_mm / 2))
    if half < 5 * rect.px_per_mm:
        raise ValueError("less than 1 cm x 1 cm of the region is visible outside the card")
    return _gray(rect)[y - half : y + half, x - half : x + half]


def _riu2(codes_bits: np.ndarray) -> np.ndarray:
    """Rotation-invariant uniform label (0..P+1) from the P neighbour bits (P, H, W)."""
    p = codes_bits.shape[0]
    transitions = np.sum(codes_bits != np.roll(codes_bits, 1, axis=0), axis=0)
    ones = codes_bits.sum(axis=0)
    return np.where(transitions <= 2, ones, p + 1)


def lbp_histograms(gray: np.ndarray, px_per_mm: float) -> list[float]:
    out: list[float] = []
    for radius_mm in LBP_RADII_MM:
        r = radius_mm * px_per_mm
        bits = []
        for k in range(LBP_POINTS):
            a = 2 * math.pi * k / LBP_POINTS
            shift = np.array([[1, 0, r * math.cos(a)], [0, 1, -r * math.sin(a)]], np.float32)
            neighbour = cv2.warpAffine(gray, shift, gray.shape[::-1], flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REFLECT)  # fmt: skip
            bits.append(neighbour >= gray + 1e-3)
        labels = _riu2(np.array(bits))
        hist = np.bincount(labels.ravel(), minlength=LBP_POINTS + 2).astype(float)
        out.extend((hist / max(hist.sum(), 1)).tolist())
    return out


def gabor_energies(gray: np.ndarray, px_per_mm: float) -> list[float]:
    """Share of band energy per wavelength (orientation-averaged) and its anisotropy (max/mean over angles)."""
    zero_mean_full = gray - cv2.GaussianBlur(gray, (0, 0), 6 * px_per_mm)
    bands, aniso = [], []
    for lam_mm in GABOR_WAVELENGTHS_MM:
        factor = max(1.0, lam_mm * px_per_mm / GABOR_PX_PER_WAVE)
        zero_mean = cv2.resize(
            zero_mean_full, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA
        )
        lam = lam_mm * px_per_mm / factor
        sigma = 0.56 * lam  # one-octave bandwidth
        size = int(6 * sigma) | 1
        per_angle = []
        for k in range(GABOR_ORIENTATIONS):
            theta = math.pi * k / GABOR_ORIENTATIONS
            re = cv2.getGaborKernel((size, size), sigma, theta, lam, 1.0, 0)
            im = cv2.getGaborKernel((size, size), sigma, theta, lam, 1.0, math.pi / 2)
            e = cv2.filter2D(zero_mean, cv2.CV_32F, re) ** 2 + cv2.filter2D(zero_mean, cv2.CV_32F, im) ** 2
            per_angle.append(float(e.mean()) * factor**2)
        bands.append(float(np.mean(per_angle)))
        aniso.append(float(np.max(per_angle) / max(np.mean(per_angle), 1e-12)))
    total = sum(bands) or 1e-12
    return [b / total for b in bands] + aniso


def describe(rect: Rectified) -> list[float]:
    """The texture descriptor of a rectified close-up (outside the card)."""
    gray = _patch(rect)
    return lbp_histograms(gray, rect.px_per_mm) + gabor_energies(gray, rect.px_per_mm)


def distance(a: list[float], b: list[float]) -> float:
    """Chi-square over the LBP histograms plus L1 over log Gabor shares and anisotropies (both unit-free)."""
    n_lbp = len(LBP_RADII_MM) * (LBP_POINTS + 2)
    x, y = np.asarray(a[:n_lbp]), np.asarray(b[:n_lbp])
    chi2 = float(np.sum((x - y) ** 2 / np.maximum(x + y, 1e-12)) / len(LBP_RADII_MM))
    ga, gb = np.log(np.maximum(a[n_lbp:], 1e-9)), np.log(np.maximum(b[n_lbp:], 1e-9))
    return chi2 + float(np.mean(np.abs(ga - gb)))
