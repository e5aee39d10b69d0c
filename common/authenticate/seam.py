"""Stitches per inch from a rectified close-up: find the seam, read the profile along it, measure its period.

Why this way: after rectification by the card (``card.rectify``) one pixel is a known fraction of a millimetre,
so the stitch period in pixels is a physical length. The seam is the line along which local contrast adds up
coherently (a Radon-style projection of high-pass energy over angles: thread dashes and needle holes repeat
along one line, leather grain does not). Along it the intensity profile is periodic; its spectral peak gives
the period to a frequency bin, and the unwrapped phase of the band-passed profile (a linear ramp whose slope is
the stitch frequency) refines it well below a bin and independently of thread/background polarity. The
residual of that phase fit gives the measurement's own uncertainty; the card's corner residual adds the
scale's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from common.authenticate.card import CARD_H_MM, CARD_W_MM, Rectified

INCH_MM = 25.4
SPI_RANGE = (
    3.0,
    50.0,
)  # seed 003 Table (I) spans 3-90; buttonholes (85-90) are not seams a photo can resolve
DETREND_MM = 10.0  # slower than the slowest stitch period (SPI 3 = 8.5 mm): lighting, not stitches
MIN_PERIODS = 5  # fewer stitches in view than this: the period is not measurable to 0.5 SPI
LOG_BINS = 3000
HARMONICS = 3
ANGLE_CANDIDATES = 4  # strongest contrast lines tried; the most periodic profile among them is the seam
SNAP_BINS = 3  # log-grid bins searched around an expected harmonic
WHITEN_OCTAVES = 0.4
FALSE_ALARM = 1e-3  # chance that a seam-less texture shows a spectral peak as strong as the threshold
COARSE_PX_PER_MM = 2.0
EDGE_MARGIN_MM = (
    6.0  # 3 sigma of the 2 mm high-pass: its ringing at the photo's and card's edges has died out
)
MIN_ROW_MM = 30.0  # a candidate seam line must cross at least this much clean material
BESIDE_MM = 4.0  # the material this far beside the seam: its own periodicity is not the stitches'
BAND_MM = 0.4  # half-width of the band averaged across the seam (a thread is ~0.5-1 mm wide)
PHASE_BAND = 0.2  # +-20 % of the peak: wide enough for stitch jitter, narrow enough to exclude a weave
COVERAGE_SIGMAS = 2.0  # reported uncertainty: +- 2 sigma (~95 %)


@dataclass(frozen=True)
class SpiMeasurement:
    spi: float
    uncertainty: float  # +- COVERAGE_SIGMAS sigma, in SPI
    period_mm: float
    angle_deg: float  # seam direction on the card plane
    length_mm: float  # length of seam measured
    stitches: float  # periods in the measured length
    peak_ratio: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


class SeamNotFound(Exception):
    """Why no stitch period could be measured (returned to the user as the reason)."""


def _fill_invalid(gray: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    v = valid.astype(np.float32)
    num = cv2.GaussianBlur(gray * v, (0, 0), sigma)
    den = cv2.GaussianBlur(v, (0, 0), sigma)
    smooth = num / np.maximum(den, 1e-6)
    return np.where(valid, gray, smooth).astype(np.float32)


def _rotate(img: np.ndarray, angle_deg: float, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Rotate about the centre (same size) so that a line at ``angle_deg`` becomes horizontal."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=interp, borderValue=0)


def _away_from_edges(valid: np.ndarray, px_per_mm: float) -> np.ndarray:
    """``valid`` shrunk by EDGE_MARGIN_MM: the high-pass filter rings along the photo's and the card's edges,
    and those edges are straight lines too."""
    k = int(2 * EDGE_MARGIN_MM * px_per_mm) | 1
    return cv2.erode(valid.astype(np.uint8), np.ones((k, k), np.uint8)) > 0


def _projection_score(energy: np.ndarray, valid: np.ndarray, angle: float) -> tuple[float, int]:
    e = _rotate(energy, angle)
    v = _rotate(valid.astype(np.float32), angle, cv2.INTER_NEAREST)
    counts = v.sum(axis=1)
    long_enough = counts >= MIN_ROW_MM * COARSE_PX_PER_MM
    rows = np.where(long_enough, e.sum(axis=1) / np.maximum(counts, 1), 0.0)
    if not np.any(rows):
        return 0.0, 0
    best = int(np.argmax(rows))
    used = rows[long_enough]
    median = float(np.median(used))
    # In units of the rows' own robust spread: rows along the pixel grid (0 and 90 degrees) are not smoothed by
    # the rotation and vary more, so a raw max-minus-median would favour the grid over a faint slanted seam.
    spread = 1.4826 * float(np.median(np.abs(used - median))) + 1e-12
    return float(rows[best] - median) / spread, best


def find_seam_angle(gray: np.ndarray, valid: np.ndarray, px_per_mm: float) -> float:
    """Direction (degrees, 0 = along +x) of the strongest line of local contrast on the rectified plane."""
    return seam_angle_candidates(gray, valid, px_per_mm, 1)[0]


def seam_angle_candidates(gray: np.ndarray, valid: np.ndarray, px_per_mm: float, k: int) -> list[float]:
    """The ``k`` strongest lines of local contrast (directions at least 6 degrees apart), strongest first:
    a brick's mortar or a crease can out-contrast a faint seam, so the caller keeps the most periodic one."""
    f = COARSE_PX_PER_MM / px_per_mm
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    small_valid = cv2.resize(valid.astype(np.uint8), None, fx=f, fy=f, interpolation=cv2.INTER_NEAREST) > 0
    filled = _fill_invalid(small, small_valid, 3 * COARSE_PX_PER_MM)
    small_valid = _away_from_edges(small_valid, COARSE_PX_PER_MM)
    energy = np.abs(filled - cv2.GaussianBlur(filled, (0, 0), 2.0 * COARSE_PX_PER_MM))
    energy = cv2.GaussianBlur(energy, (0, 0), 1.0) * small_valid  # isotropic: every angle equally smoothed
    scores = {a: _projection_score(energy, small_valid, a)[0] for a in np.arange(0.0, 180.0, 2.0)}
    picked: list[float] = []
    for a in sorted(scores, key=lambda a: -scores[a]):
        if all(min(abs(a - b), 180 - abs(a - b)) >= 6.0 for b in picked):
            picked.append(float(a))
        if len(picked) == k:
            break
    refined = []
    for best in picked:
        fine = {
            a: _projection_score(energy, small_valid, a)[0] for a in np.arange(best - 2.0, best + 2.01, 0.25)
        }
        refined.append(float(max(fine, key=lambda a: fine[a])))
    return refined


def seam_profile(rect: Rectified, angle_deg: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(profile along the seam, profile of the material beside it, samples per mm) over the longest valid
    stretch. The material beside the seam tells a woven canvas's own period from the stitches'."""
    gray = rect.image if rect.image.ndim == 2 else cv2.cvtColor(rect.image, cv2.COLOR_RGB2GRAY)
    s = rect.px_per_mm
    filled = _fill_invalid(gray, rect.valid, 2 * s)
    hp = filled - cv2.GaussianBlur(filled, (0, 0), 2.0 * s)
    rot = _rotate(filled, angle_deg)
    rot_hp = np.abs(_rotate(hp, angle_deg))
    rot_valid = _rotate(rect.valid.astype(np.float32), angle_deg, cv2.INTER_NEAREST) > 0.5
    rot_inner = (
        _rotate(_away_from_edges(rect.valid, s).astype(np.float32), angle_deg, cv2.INTER_NEAREST) > 0.5
    )
    counts = rot_inner.sum(axis=1)
    energy = np.where(counts >= MIN_ROW_MM * s, (rot_hp * rot_inner).sum(axis=1) / np.maximum(counts, 1), 0)
    weights = counts / max(1, counts.max())
    row = int(np.argmax(energy * np.sqrt(weights)))
    half = max(1, int(round(BAND_MM * s)))
    lo, hi = max(0, row - half), min(rot.shape[0], row + half + 1)
    band_valid = rot_valid[lo:hi].all(axis=0)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], band_valid.astype(np.int8), [0]])))
    if len(runs) < 2:
        raise SeamNotFound("no seam in the part of the photo outside the card")
    starts, ends = runs[0::2], runs[1::2]
    k = int(np.argmax(ends - starts))
    profile = rot[lo:hi, starts[k] : ends[k]].mean(axis=0)
    beside = []
    for side in (-1, 1):
        r0 = row + side * int(round(BESIDE_MM * s))
        b_lo, b_hi = max(0, r0 - half), min(rot.shape[0], r0 + half + 1)
        if b_hi - b_lo > 0 and rot_valid[b_lo:b_hi, starts[k] : ends[k]].mean() > 0.9:
            beside.append(rot[b_lo:b_hi, starts[k] : ends[k]].mean(axis=0))
    off = np.mean(beside, axis=0) if beside else np.zeros_like(profile)
    return profile.astype(np.float64), off.astype(np.float64), s


def _phase_refine(profile: np.ndarray, s: float, f0: float) -> tuple[float, float]:
    """(frequency cycles/mm, its standard error) from the unwrapped phase of the profile band-passed at f0."""
    n = len(profile)
    spec = np.fft.rfft(profile)
    freqs = np.fft.rfftfreq(n, d=1.0 / s)
    spec[np.abs(freqs - f0) > PHASE_BAND * f0] = 0
    analytic = np.fft.ifft(np.concatenate([spec, np.zeros(n - len(spec), complex)]) * 2)
    phase = np.unwrap(np.angle(analytic))
    x = np.arange(n) / s
    trim = max(1, int(round(s / f0)))  # one period at each end: band-pass edge effects
    xs, ps = x[trim:-trim], phase[trim:-trim]
    slope, icept = np.polyfit(xs, ps, 1)
    resid = ps - (slope * xs + icept)
    periods = max(1.0, (xs[-1] - xs[0]) * f0)
    # Residuals are correlated over about a period: the effective sample count is the number of periods.
    se = float(np.std(resid) * math.sqrt(12.0 / periods) / max(xs[-1] - xs[0], 1e-9))
    return float(slope / (2 * math.pi)), se / (2 * math.pi)


def _spectrum(profile: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    detrended = profile - cv2.GaussianBlur(profile.reshape(1, -1), (0, 0), DETREND_MM * s).ravel()
    windowed = (detrended - detrended.mean()) * np.hanning(len(detrended))
    pad = 1 << int(math.ceil(math.log2(len(windowed) * 16)))
    return np.fft.rfftfreq(pad, d=1.0 / s), np.abs(np.fft.rfft(windowed, pad)) ** 2


def _whitened(freqs: np.ndarray, power: np.ndarray, beside: np.ndarray, f_lo: float, f_top: float
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(log-frequency grid, power over its local level). Leather and canvas have far more power at long
    wavelengths than short ones, so a peak is judged against its neighbourhood (+-WHITEN_OCTAVES on a
    log-frequency axis), not against the whole band; and against the material beside the seam."""
    grid = np.geomspace(f_lo, f_top, LOG_BINS)
    logp = np.interp(grid, freqs, power)
    half = int(LOG_BINS * WHITEN_OCTAVES * math.log(2) / math.log(f_top / f_lo))
    padded = np.pad(logp, half, mode="reflect")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    # A peak the material beside the seam shares (a weave) is the material's, not the stitches'.
    level = np.maximum(local, np.interp(grid, freqs, beside))
    return grid, logp / np.maximum(level, 1e-18)


def _fundamental(grid: np.ndarray, white: np.ndarray, f_hi: float, threshold: float) -> tuple[float, float]:
    """(stitch frequency, whitened power of its strongest peak). Dark thread with visible needle holes puts two
    bright bumps in each period, so the strongest peak may be the 2nd (or 3rd) harmonic: a sub-multiple of it
    that is itself a significant peak and collects more harmonic power (sum over HARMONICS multiples) wins."""
    in_band = grid <= f_hi
    j = int(np.argmax(np.where(in_band, white, 0)))
    f_peak, strongest = float(grid[j]), float(white[j])

    def local_max(f: float) -> tuple[float, float]:
        k = int(np.searchsorted(grid, f))
        lo, hi = max(0, k - SNAP_BINS), min(len(grid), k + SNAP_BINS + 1)
        i = lo + int(np.argmax(white[lo:hi]))
        return float(grid[i]), float(white[i])

    def harmonic_sum(f: float) -> float:
        return sum(local_max(h * f)[1] for h in range(1, HARMONICS + 1) if h * f <= grid[-1])

    best, best_score = f_peak, harmonic_sum(f_peak)
    for k in (2, 3):
        if f_peak / k < grid[0]:
            break
        f_sub, w_sub = local_max(f_peak / k)
        if w_sub >= threshold and harmonic_sum(f_sub) > best_score:
            best, best_score = f_sub, harmonic_sum(f_sub)
    return best, strongest


def peak_threshold(length_mm: float) -> float:
    """Peak/median power a periodic seam must beat. Without one, each of the ~(band width x length)
    independent frequency bins holds an exponential power whose median is m; P(bin > x m) = 2^-x, so the
    strongest of N bins exceeds x m with chance ~N 2^-x: x = log2(N / FALSE_ALARM)."""
    bins = max(1.0, (SPI_RANGE[1] - SPI_RANGE[0]) / INCH_MM * length_mm)
    return math.log2(bins / FALSE_ALARM)


def measure_spi(rect: Rectified, card_rms_mm: float = 0.0) -> SpiMeasurement:
    """Stitches per inch of the seam in ``rect``; SeamNotFound when no periodic seam can be measured."""
    gray = rect.image if rect.image.ndim == 2 else cv2.cvtColor(rect.image, cv2.COLOR_RGB2GRAY)
    best: tuple[float, float, float, np.ndarray, np.ndarray, float, float, float] | None = None
    reason = "no regular stitch pattern found along the seam (is the seam in focus and in view?)"
    for angle in seam_angle_candidates(gray, rect.valid, rect.px_per_mm, ANGLE_CANDIDATES):
        try:
            profile, beside, s = seam_profile(rect, angle)
        except SeamNotFound as exc:
            reason = str(exc)
            continue
        length = len(profile) / s
        f_lo, f_hi = SPI_RANGE[0] / INCH_MM, SPI_RANGE[1] / INCH_MM
        if length * f_hi < MIN_PERIODS:  # not even the finest seam would show enough stitches
            reason = f"only {length:.0f} mm of seam in view: show a longer stretch of it"
            continue
        freqs, power = _spectrum(profile, s)
        _, power_beside = _spectrum(beside, s)
        f_top = min(HARMONICS * f_hi, 0.45 * s)  # harmonics up to just below the rectified image's Nyquist
        grid, white = _whitened(freqs, power, power_beside, f_lo, f_top)
        threshold = peak_threshold(length)
        f_grid, ratio = _fundamental(grid, white, f_hi, threshold)
        score = ratio / threshold
        if score >= 1.0 and (best is None or score > best[0]):
            best = (score, angle, f_grid, profile, power, ratio, s, length)
    if best is None:
        raise SeamNotFound(reason)
    _, angle, f_grid, profile, power, ratio, s, length = best
    freqs = np.fft.rfftfreq(2 * (len(power) - 1), d=1.0 / s)
    detrended = profile - cv2.GaussianBlur(profile.reshape(1, -1), (0, 0), DETREND_MM * s).ravel()
    near = (freqs > f_grid * 0.995) & (freqs < f_grid * 1.005)  # snap to the linear spectrum's own maximum
    f0 = float(freqs[near][np.argmax(power[near])]) if np.any(near) else f_grid
    if length * f0 < MIN_PERIODS:
        raise SeamNotFound(f"only {length * f0:.1f} stitches in view: show at least {MIN_PERIODS}")
    f, f_se = _phase_refine(detrended, s, f0)
    if not (0.8 * f0 <= f <= 1.2 * f0):  # the phase fit wandered off the peak (broken seam): keep the peak
        f, f_se = f0, 1.0 / (length * 4)
    spi = f * INCH_MM
    scale_rel = card_rms_mm / math.hypot(CARD_W_MM, CARD_H_MM)
    sigma = math.hypot(f_se * INCH_MM, spi * scale_rel)
    return SpiMeasurement(
        spi=spi,
        uncertainty=max(COVERAGE_SIGMAS * sigma, 0.01),
        period_mm=1.0 / f,
        angle_deg=angle % 180.0,
        length_mm=length,
        stitches=length * f,
        peak_ratio=ratio,
    )
