"""Stitches per inch from a rectified close-up: find the seam as the most periodic line, measure its period.

Why this way: after rectification by the card (``card.rectify``) one pixel is a known fraction of a millimetre,
so a stitch period in pixels is a physical length and the plausible periods are known (SPI 3-50: 8.5 mm to
0.5 mm). A seam is not the strongest edge in a close-up (a brick's mortar, a crease, a panel edge out-contrast a
thin thread) but the one line along which the colour repeats at one period: thread dashes and needle holes. So

1. *search*: every direction (3 degree steps, followed between steps by small slopes) and every offset (1 mm
   bands) on a 4 px/mm copy is scored by the spectra of 32 mm tiles of the colour profile along that band,
   whitened twice: against all tiles in the same direction (a woven canvas or a brick course repeats in every
   band, a seam in one) and against the tile's own broadband level (a dark mortar line is strong at every
   frequency, a seam at one and its harmonics); a line adds its tiles' evidence at one frequency;
2. *refine*: along each of the best few candidate lines the band-passed stitch energy is located across the
   line segment by segment and a line is fitted through it (the search's direction is only good to ~1 degree);
3. *check*: the periods tried on a line are the search's and, when it is no harmonic of that, the whole
   line's own most prominent one (the search's short tiles can rank a JPEG artefact along a strong seam above
   the stitches), most prominent first; the profile along the refined line is split in pieces; a period is
   accepted only when most pieces show it (a texture's chance peak is not repeated along the line) and it does
   not repeat on lines beside it (a material's pattern does); the fundamental is the peak or the sub-multiple
   the pieces agree on, and their spread enters the uncertainty. A period carried by colour alone that is a
   whole multiple of the rate at which the line crosses the JPEG's block grid is refused (BLOCK_TOLERANCE):
   along a seam, compression makes periods of its own there;
4. *measure*: the unwrapped phase of the band-passed profile (a linear ramp whose slope is the stitch frequency)
   gives the period well below a frequency bin, independently of thread/background polarity. The uncertainty
   combines the phase fit's residual, the segments' disagreement and the card's scale (corner residual and how
   far the seam lies from the card).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from common.authenticate.card import CARD_H_MM, CARD_W_MM, CardDetection, Rectified, length_sigma_rel

if TYPE_CHECKING:
    from common.authenticate.quality import Capture

INCH_MM = 25.4
SPI_RANGE = (
    3.0,
    50.0,
)  # seed 003 Table (I) spans 3-90; buttonholes (85-90) are not seams a photo can resolve
DETREND_MM = 10.0  # slower than the slowest stitch period (SPI 3 = 8.5 mm): lighting, not stitches
HIGHPASS_MM = 2.5  # removes lighting and tone before the search (keeps >75 % of a SPI 3.5 period's contrast)
MIN_PERIODS = 5  # fewer stitches in view than this: the period is not measurable to 0.5 SPI
MIN_ROW_MM = 30.0  # a candidate seam line must cross at least this much clean material
EDGE_MARGIN_MM = (
    4.0  # the high-pass rings along the photo's and the card's edges, which are straight lines too
)
SEARCH_PX_PER_MM = 4.0  # SPI 50 is 2 cycles/mm: still below this grid's Nyquist
SEARCH_STEP_DEG = 3.0
ANTIALIAS_MM = 0.15  # Gaussian sigma before the 4 px/mm copy: keeps 2 % of 2.9 cycles/mm, 38 % of 1.5
SEARCH_SLOPES = (-1.2, -0.6, 0.0, 0.6, 1.2)  # degrees: lines followed between the rotations searched
SEARCH_BAND_MM = 1.0  # band averaged across a candidate line: about a thread's width (0.5-1 mm)
SEARCH_STRIDE_MM = 0.5
SEARCH_TILE_MM = 32.0  # spectra on tiles this long (>= 4 periods of SPI 3.5), half overlapping
MIN_TILES = 3
NOISE_MEAN = 1.0 / math.log(2.0)  # mean of an exponential power over its median: a texture tile's level
EVIDENCE_CAP = 30.0  # one tile cannot make a line: a chance blob is strong in one tile, a seam in all
CAP_TIE_SHARE = 0.01  # share of a tile's evidence above the cap still counted
CANDIDATES = 8  # distinct lines refined and checked, most periodic first
FREQS_PER_LINE = 3  # the strongest periods on each candidate line, each checked as the seam's
REFINE_HALF_MM = 3.0  # the refinement strip: +- this across the candidate line
REFINE_SEGMENT_MM = 15.0
BAND_MM = 0.4  # half-width of the band averaged across the seam for the final profile
PHASE_BAND = 0.2  # +-20 % of the peak: wide enough for stitch jitter, narrow enough to exclude a weave
SEGMENTS = 4  # the seam is split in this many pieces for the consistency check
SEGMENT_AGREE = 0.02  # a segment agrees when its own period is within 2 % of the seam's
MIN_AGREEING = 3  # of SEGMENTS
SEGMENT_PEAK = 8.0  # exponential noise exceeds 8x its median in one bin with chance 2^-8
HARMONICS = 3
BESIDE_MM = (3.0, 5.0)  # lines this far either side of a seam: clear of its thread, holes and groove
BESIDE_SHARE = 0.3
MAX_SUBHARMONIC = 8
SUBHARMONIC_PEAK = 25.0  # a sub-multiple this far above its spectral neighbourhood is a real period
CHROMA_FLOOR = 0.1
# JPEG codes the photo in blocks (8 px; colour in 16 px blocks when subsampled, as a phone's 4:2:0): along a
# high-contrast seam the blocks' quantisation error repeats at whole multiples of the rate at which the line
# crosses block columns or rows. On seed 31 every wrong number was one (39.82 = 4.01x, 29.85 = 3.01x, 17.19 =
# 2.00x the row rate). A period carried by colour alone within this share of such a multiple is refused.
BLOCK_TOLERANCE = 0.01
COVERAGE_SIGMAS = 2.0  # reported uncertainty: +- 2 sigma (~95 %)
# Scale error the corner-noise model (card.length_sigma_rel) does not see (corners shifted alike by blur or
# perspective): on the tuning seed's (19) correctly found seams relative errors reached 0.2 %; 1 sigma = 0.1 %.
SCALE_FLOOR_REL = 0.001
MTF_FLOOR = 0.05  # a period whose contrast the measured blur keeps below this share is not searched for
# Below this share a dark thread on dark leather is often lost in the grain (seeds 19, 23): a declined photo
# says "retake it sharper" when the seam could be finer than the SPI the blur keeps this much of.
SHARP_MTF = 0.15


@dataclass(frozen=True)
class _Grid:
    """How the periodic-line search cuts each direction: tile length along, band width across, direction step
    and the slopes followed between steps, the fewest tiles a line needs; ``local``: each tile's spectrum is
    also judged against its own spectral neighbourhood, and a line takes the colour channel that shows it most
    (instead of the channels' mean)."""

    tile_mm: float = SEARCH_TILE_MM
    band_mm: float = SEARCH_BAND_MM
    step_deg: float = SEARCH_STEP_DEG
    slopes: tuple[float, ...] = SEARCH_SLOPES
    min_tiles: int = MIN_TILES
    local: bool = False


# The second search, run only when no line of the first is accepted (seeds 59 and 71: every such photo on
# canvas and two coarse seams on grass; the seam's line was measurable on each, but not among the first
# search's candidates). A thin thread on canvas is a quarter of a 1 mm band, shows in luminance alone (a third
# of the channels' mean) and the canvas' moire lines outscore it; a coarse seam (SPI < 5) has ~5 periods on a
# 32 mm tile. Tiles twice as long (a seam's prominence grows with its length, a moire's beat does not), bands
# half as wide, 1 degree steps (a long tile needs the direction closer), the best channel, and each frequency
# against its spectral neighbourhood (a moire's and the material's slow variation raise all of it).
FINE_GRID = _Grid(tile_mm=64.0, band_mm=0.5, step_deg=1.0, slopes=(-0.5, 0.0, 0.5), min_tiles=2, local=True)
RING_INNER, RING_OUTER = 0.08, 0.4  # a frequency's spectral neighbourhood: this share of it away, either side
MAX_OF_3_MEAN = 1.8333  # mean of the largest of three unit exponentials (1 + 1/2 + 1/3)
# The polishing pass, only when neither search's lines is accepted: a line the piece check alone refused is
# turned by up to POLISH_DEG (POLISH_STEP_DEG steps, then half a step) about its stretch's middle and moved by
# up to POLISH_MM across, to where its period stands out most (by more than POLISH_GAIN times), then checked
# again like any line. The POLISH_LINES most prominent such lines (prominence >= SUBHARMONIC_PEAK).
POLISH_DEG = 1.5
POLISH_STEP_DEG = 0.25
POLISH_MM = 0.4
POLISH_GAIN = 1.2
POLISH_LINES = 4


@dataclass(frozen=True)
class SpiMeasurement:
    spi: float
    uncertainty: float  # +- COVERAGE_SIGMAS sigma, in SPI
    period_mm: float
    angle_deg: float  # seam direction on the card plane
    length_mm: float  # length of seam measured
    stitches: float  # periods in the measured length
    peak_ratio: float  # whitened power of the seam's spectral peak (the search score)
    segments_agreeing: float = 0.0  # how many of SEGMENTS pieces of the seam show the same period

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


class SeamNotFound(Exception):
    """Why no stitch period could be measured (returned to the user as the reason)."""


@dataclass(frozen=True)
class _Line:
    """A line on the rectified plane (full-resolution px): a point on it and its direction."""

    x: float
    y: float
    angle_deg: float  # 0 = along +x, y down

    def strip_matrix(self, length_px: int, half_px: int) -> np.ndarray:
        """Affine map strip (u along, v across; centre at (length_px/2, half_px)) -> rectified px."""
        a = math.radians(self.angle_deg)
        ux, uy, nx, ny = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        cu, cv = length_px / 2, half_px
        return np.array([[ux, nx, self.x - cu * ux - cv * nx], [uy, ny, self.y - cu * uy - cv * ny]])


def _fill_invalid(img: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    v = valid.astype(np.float32)
    if img.ndim == 3:
        v = v[..., None]
    num = cv2.GaussianBlur(img * v, (0, 0), sigma)
    den = cv2.GaussianBlur(v, (0, 0), sigma)
    if den.ndim == 2 and img.ndim == 3:
        den = den[..., None]
    smooth = num / np.maximum(den, 1e-6)
    return np.where(v > 0, img, smooth).astype(np.float32)


def _away_from_edges(valid: np.ndarray, px_per_mm: float) -> np.ndarray:
    k = int(2 * EDGE_MARGIN_MM * px_per_mm) | 1
    return cv2.erode(valid.astype(np.uint8), np.ones((k, k), np.uint8)) > 0


def _colour_channels(image: np.ndarray) -> np.ndarray:
    """Luminance and two colour-opponent channels: a red thread on brown leather of the same brightness is
    invisible in grey but not in red-green."""
    if image.ndim == 2:
        return image[..., None].astype(np.float32)
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return np.stack([(r + g + b) / 3, r - g, (r + g) / 2 - b], axis=-1).astype(np.float32)


def _contrast(rect: Rectified, px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """(high-passed colour channels, mask of trustworthy pixels) at ``px_per_mm``."""
    f = px_per_mm / rect.px_per_mm
    img, valid = rect.image, rect.valid
    if abs(f - 1.0) > 1e-6:
        # Anti-aliased: a fine seam's second harmonic (SPI 37: 2.9 cycles/mm) lies above this grid's Nyquist
        # and would fold back onto a false period (SPI 26) stronger than the stitches' own. The blur costs no
        # contrast that matters: each frequency is judged against the material at that same frequency.
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), ANTIALIAS_MM * rect.px_per_mm)
        img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        valid = cv2.resize(valid.astype(np.uint8), None, fx=f, fy=f, interpolation=cv2.INTER_NEAREST) > 0
    img = _colour_channels(img)
    filled = _fill_invalid(img, valid, 2 * px_per_mm)
    hp = filled - cv2.GaussianBlur(filled, (0, 0), HIGHPASS_MM * px_per_mm).reshape(filled.shape)
    inner = _away_from_edges(valid, px_per_mm)
    return (hp * inner[..., None]).astype(np.float32), inner


def _kept(blur_mm: float, share: float) -> float:
    """The highest frequency (cycles/mm) whose contrast a Gaussian blur of sigma ``blur_mm`` keeps >= ``share``
    of: exp(-2 pi^2 sigma^2 f^2) = share."""
    return math.sqrt(math.log(1 / share) / (2 * math.pi**2 * blur_mm**2)) if blur_mm > 0 else math.inf


def _band_limits(px_per_mm: float, blur_mm: float) -> tuple[float, float]:
    """Stitch frequencies (cycles/mm) worth searching: SPI_RANGE, capped where the photo's blur (Gaussian
    sigma on the card plane) leaves less than MTF_FLOOR of the contrast, and below the grid's Nyquist."""
    f_lo, f_hi = SPI_RANGE[0] / INCH_MM, min(SPI_RANGE[1] / INCH_MM, _kept(blur_mm, MTF_FLOOR))
    return f_lo, min(f_hi, 0.45 * px_per_mm)


def _fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: an FFT of a length with a large prime factor is many times slower."""
    best = 1 << int(math.ceil(math.log2(n)))
    p3 = 1
    while p3 < best:
        p5 = p3
        while p5 < best:
            p2 = p5
            while p2 < n:
                p2 *= 2
            best = min(best, p2)
            p5 *= 5
        p3 *= 3
    return best


def _rotation(shape: tuple[int, int], angle_deg: float) -> tuple[np.ndarray, int]:
    """src -> dst affine that turns a line at ``angle_deg`` horizontal, on a square canvas holding it all."""
    h, w = shape
    d = int(math.ceil(math.hypot(h, w))) + 2
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    m[:, 2] += np.array([d / 2 - w / 2, d / 2 - h / 2])
    return m, d


def _whiten(power: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """power (bands x channels x freqs) -> one whitened spectrum per band: each channel's power per mm over
    the median band's at that frequency, summed over channels, then over the band's own median level."""
    density = power / np.maximum(lengths, 1.0).astype(np.float32)[:, None, None]
    across = np.median(density[::2], axis=0, keepdims=True)  # every other band: overlapping bands add nothing
    # A grey material has next to no colour contrast (JPEG keeps little chroma): judged against its own
    # near-zero level, any chroma speck would be a "peak". Colour is judged against a share of the grey level.
    across[:, 1:] = np.maximum(across[:, 1:], CHROMA_FLOOR * across[:, :1])
    white = (density / np.maximum(across, 1e-20)).mean(axis=1)
    return white / np.maximum(np.median(white, axis=1, keepdims=True), 1e-9)


def _search(hp: np.ndarray, inner: np.ndarray, c: float, f_lo: float, f_hi: float, grid: _Grid = _Grid()) -> list[tuple[_Line, list[tuple[float, float]]]]:  # fmt: skip
    """Candidate seam lines (line in the search grid's px, its (score, peak frequency) pairs, best first),
    most periodic first, distinct.

    Each direction's rotated copy is cut into bands across (SEARCH_BAND_MM) and tiles along (SEARCH_TILE_MM,
    half overlapping); each tile's spectrum is whitened against all tiles of that direction (a weave or brick
    course repeats everywhere, a seam only on its line) and against its own broadband level. A line's score
    adds its tiles' evidence at one frequency, following small slopes between the directions searched, so a
    thin thread is judged in a band as narrow as itself without needing a fine angle grid."""
    stride = max(1, int(round(SEARCH_STRIDE_MM * c)))
    per_band = max(1, int(round(grid.band_mm / SEARCH_STRIDE_MM)))
    tile = int(round(grid.tile_mm * c))
    hop = tile // 2
    window = np.hanning(tile).astype(np.float32)
    freqs = np.fft.rfftfreq(tile, d=1.0 / c)
    sel = np.flatnonzero((freqs >= f_lo) & (freqs <= f_hi))
    found: list[tuple[float, float, float, float, float]] = []  # (score, angle, point x, y in search px, f)
    ys, xs = np.nonzero(inner)
    if len(ys) == 0:
        return []
    box = np.array([[xs.min(), ys.min(), 1.0], [xs.max() + 1, ys.min(), 1.0], [xs.min(), ys.max() + 1, 1.0],
                    [xs.max() + 1, ys.max() + 1, 1.0]])  # fmt: skip
    inner_f = inner.astype(np.float32)
    for angle in np.arange(0.0, 180.0, grid.step_deg):
        m, d = _rotation(inner.shape, float(angle))
        # Only the rotated copy's part that holds valid pixels (plus the slopes' reach) is computed: rows and
        # columns cut on the band and tile grids, so every band and tile is the one the whole canvas had.
        corners = box @ m.T
        reach = int(math.ceil(math.tan(math.radians(max(map(abs, grid.slopes)))) * d / 2 / stride)) + 2
        r0 = max(0, (int(corners[:, 1].min()) // stride - reach) * stride)
        r1 = min(d, (int(math.ceil(corners[:, 1].max())) // stride + reach + 1) * stride)
        c0 = max(0, int(corners[:, 0].min()) // hop * hop)
        c1 = min(d, int(math.ceil(corners[:, 0].max())) + 1)
        if c1 - c0 < tile or r1 - r0 < per_band * stride:
            continue
        mc = m - np.array([[0.0, 0.0, c0], [0.0, 0.0, r0]])
        size = (c1 - c0, r1 - r0)
        rot = cv2.warpAffine(hp, mc, size, flags=cv2.INTER_LINEAR, borderValue=0)
        rv = cv2.warpAffine(inner_f, mc, size, flags=cv2.INTER_NEAREST, borderValue=0)
        nb, w = size[1] // stride, size[0]
        blocks = cv2.resize(rot[: nb * stride], (w, nb), interpolation=cv2.INTER_AREA).reshape(nb, w, -1)
        vblocks = cv2.resize(rv[: nb * stride], (w, nb), interpolation=cv2.INTER_AREA)
        nbands = nb - per_band + 1
        bands = np.asarray(sum(blocks[i : i + nbands] for i in range(per_band)) / per_band)  # nbands x w x ch
        full = np.asarray(np.min([vblocks[i : i + nbands] for i in range(per_band)], axis=0) > 0.999)
        ntiles = (w - tile) // hop + 1
        starts = np.arange(ntiles) * hop
        idx = starts[:, None] + np.arange(tile)[None, :]
        run = np.concatenate(
            [np.zeros((nbands, 1), np.int32), np.cumsum(full, axis=1, dtype=np.int32)], axis=1
        )
        tile_ok = (run[:, starts + tile] - run[:, starts]) == tile  # nbands x ntiles
        if tile_ok.sum() < 20:
            continue
        bi, ti = np.nonzero(tile_ok)
        pieces = bands[bi[:, None], idx[ti]]  # n x tile x ch
        pieces = pieces - pieces.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(np.ascontiguousarray(pieces.transpose(0, 2, 1)) * window, axis=2)[:, :, sel]
        power = (spec.real**2 + spec.imag**2).astype(np.float32)
        across = np.median(power, axis=0, keepdims=True)
        across[:, 1:] = np.maximum(across[:, 1:], CHROMA_FLOOR * across[:, :1])
        white = power / np.maximum(across, 1e-20)
        # Each channel against its own broadband level in the tile where that is raised (never amplified: a
        # grey material's floored chroma stays small), then averaged: along a high-contrast seam JPEG's chroma
        # blocks (8-16 photo px, ~1 mm: SPI 23-27) raise the chroma at every frequency, and a joint level
        # would bury a dark thread's luminance peak under them.
        white /= np.maximum(np.median(white, axis=2, keepdims=True), 1.0)
        if grid.local:
            white /= np.maximum(_ring_mean(white, freqs[sel]), 1.0)
            raw = (white / NOISE_MEAN).max(axis=1) - MAX_OF_3_MEAN  # zero mean on texture
        else:
            raw = (white / NOISE_MEAN - 1.0).mean(axis=1)  # zero mean on texture
        evidence = np.zeros((nbands, ntiles, len(sel)), np.float32)
        # capped, but the excess breaks ties: a strong seam caps many frequencies of a tile, its own the most
        evidence[bi, ti] = np.minimum(raw, EVIDENCE_CAP) + CAP_TIE_SHARE * np.maximum(raw - EVIDENCE_CAP, 0.0)
        counts = tile_ok.astype(np.float32)
        centre = (c0 + starts + tile / 2 - d / 2) / stride  # tile centres along, in band steps
        for slope in grid.slopes:
            shift = np.round(math.tan(math.radians(slope)) * centre).astype(int)
            rows = np.clip(np.arange(nbands)[:, None] + shift[None, :], 0, nbands - 1)
            ev = evidence[rows, np.arange(ntiles)[None, :]].sum(axis=1)  # nbands x freqs
            n = counts[rows, np.arange(ntiles)[None, :]].sum(axis=1)
            score = np.asarray(ev / np.sqrt(np.maximum(n, 1.0)).reshape(-1, 1))
            score[n < grid.min_tiles] = -np.inf
            best = np.max(score, axis=1)
            inv = cv2.invertAffineTransform(m)
            for b in np.argsort(best)[-4:]:
                if not np.isfinite(best[b]):
                    continue
                y = r0 + (b + per_band / 2) * stride
                px = inv @ np.array([d / 2, y, 1.0])
                for value, f in _frequency_peaks(score[b], freqs[sel]):
                    found.append((value, float(angle + slope), float(px[0]), float(px[1]), f))
    found.sort(key=lambda t: -t[0])
    picked: list[tuple[float, float, float, float, list[tuple[float, float]]]] = []
    for cand in found:
        same = next((p for p in picked if _same_line(cand, p[:4], c)), None)
        if same is None:
            if len(picked) < CANDIDATES:
                picked.append((*cand[:4], [(cand[0], cand[4])]))
        elif len(same[4]) < FREQS_PER_LINE and all(abs(cand[4] - f) > 0.03 * f for _, f in same[4]):
            same[4].append((cand[0], cand[4]))
    return [(_Line(x, y, angle), peaks) for _, angle, x, y, peaks in picked]


def _ring_mean(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Along the last axis (``freqs``, evenly spaced) each frequency's mean power over its spectral
    neighbourhood (RING_INNER-RING_OUTER of it away, either side; cumulative sums, not a loop)."""
    step = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 1.0
    n = len(freqs)
    j = np.arange(n)
    lo = np.maximum(np.floor(RING_INNER * freqs / step).astype(int) + 1, 1)
    hi = np.maximum(np.ceil(RING_OUTER * freqs / step).astype(int) - 1, lo)
    cum = np.concatenate([np.zeros((*power.shape[:-1], 1), power.dtype), np.cumsum(power, axis=-1)], axis=-1)

    def total(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # bins a..b-1, clipped
        a, b = np.clip(a, 0, n), np.clip(b, 0, n)
        return cum[..., b] - cum[..., a], (b - a).astype(power.dtype)

    below, nb = total(j - hi, j - lo + 1)
    above, na = total(j + lo, j + hi + 1)
    return np.asarray((below + above) / np.maximum(nb + na, 1.0))


def _frequency_peaks(score: np.ndarray, freqs: np.ndarray) -> list[tuple[float, float]]:
    """(score, frequency) of the FREQS_PER_LINE strongest local maxima of one line's score over frequency,
    >= 5 % apart. Why more than the strongest: where a seam crosses a weave, the weave's own period can gain
    on the seam's line (the thread hides it, the groove shades it) and outscore the stitches there."""
    inner = np.flatnonzero((score[1:-1] >= score[:-2]) & (score[1:-1] >= score[2:])) + 1
    ends = [i for i in (0, len(score) - 1) if len(score) > 1 and score[i] >= score[1 if i == 0 else i - 1]]
    out: list[tuple[float, float]] = []
    for i in sorted([*inner, *ends], key=lambda i: -score[i]):
        if not np.isfinite(score[i]) or score[i] <= 0 or len(out) == FREQS_PER_LINE:
            break
        if all(abs(freqs[i] - f) > 0.05 * f for _, f in out):
            out.append((float(score[i]), float(freqs[i])))
    return out


def _same_line(p: tuple[float, ...], q: tuple[float, ...], c: float) -> bool:
    """Two candidates on (nearly) one line: directions within 4 degrees, each point within 3 mm of the other's
    line."""
    da = abs(p[1] - q[1]) % 180.0
    if min(da, 180.0 - da) > 4.0:
        return False
    a = math.radians(p[1])
    return abs(-(q[2] - p[2]) * math.sin(a) + (q[3] - p[3]) * math.cos(a)) <= 3.0 * c


def _strip(rect: Rectified, line: _Line, half_px: int) -> tuple[np.ndarray, np.ndarray]:
    """(colour channels along ``line``, high-passed along it: across x along x channels; their validity),
    sampled from the full-resolution rectified photo over its whole length."""
    h, w = rect.valid.shape
    length = int(math.hypot(h, w)) + 2
    m = line.strip_matrix(length, half_px)
    size = (length, 2 * half_px + 1)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    strip = _colour_channels(cv2.warpAffine(rect.image, m, size, flags=flags, borderValue=0))
    inside = cv2.warpAffine(
        rect.valid.astype(np.uint8), m, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    margin = int(2 * rect.px_per_mm) | 1
    valid = cv2.erode(inside, np.ones((1, margin), np.uint8)) > 0
    if strip.ndim == 2:
        strip = strip[..., None]
    v = valid.astype(np.float32)
    sigma = HIGHPASS_MM * rect.px_per_mm
    den = cv2.GaussianBlur(v, (0, 0), sigmaX=sigma, sigmaY=1e-3)
    smooth = cv2.GaussianBlur(strip * v[..., None], (0, 0), sigmaX=sigma, sigmaY=1e-3).reshape(strip.shape)
    hp = (strip - smooth / np.maximum(den, 1e-6)[..., None]) * v[..., None]
    return hp.astype(np.float32), valid


def _bandpass_energy(strip: np.ndarray, s: float, f0: float, f_hi: float = math.inf) -> np.ndarray:
    """Energy (across x along) of the strip's rows band-passed at the stitch frequency and its harmonics, each
    colour channel judged against its own level: a channel's energy over its median across the strip (the
    material's level in that band), weighted by how far its strongest row stands above that level. Why: a
    dark thread on dark leather shows in luminance while JPEG's chroma noise is larger; a red thread on grey
    gravel shows in red-green while the gravel's luminance is far stronger. A plain sum follows the loudest
    channel, not the seam's. Harmonics above ``f_hi`` (what the blur leaves) are left out: there JPEG's blocks
    along the seam, not the stitches, carry the energy, and they lie beside the thread as much as on it."""
    n = strip.shape[1]
    spec = np.fft.rfft(strip, axis=1)
    freqs = np.fft.rfftfreq(n, d=1.0 / s)
    keep = np.zeros_like(freqs, bool)
    for k in range(1, HARMONICS + 1):
        if k == 1 or k * f0 <= f_hi:  # a harmonic the blur has removed is only noise and JPEG blocks
            keep |= np.abs(freqs - k * f0) <= 0.06 * f0 * k
    spec[:, ~keep] = 0
    analytic = np.fft.ifft(
        np.concatenate([spec, np.zeros_like(spec[:, : n - spec.shape[1]])], axis=1), axis=1
    )
    energy = np.abs(analytic) ** 2  # across x along x channels
    rows = energy.sum(axis=1)  # across x channels
    level = np.maximum(np.median(rows, axis=0), 1e-20)
    weight = np.maximum(rows.max(axis=0) / level - 1.0, 0.0)
    if not np.any(weight > 0):
        weight = np.ones_like(level)
    return np.asarray((energy * (weight / level)[None, None, :]).sum(axis=2))


def _refine(rect: Rectified, line: _Line, f0: float, f_hi: float = math.inf) -> _Line:
    """The line through the stitch energy: located across the strip segment by segment, a weighted straight
    fit through the segments' centres (twice: the second pass on the first's line)."""
    s = rect.px_per_mm
    half = int(round(REFINE_HALF_MM * s))
    for _ in range(2):
        strip, valid = _strip(rect, line, half)
        energy = _bandpass_energy(strip, s, f0, f_hi) * valid
        seg = int(REFINE_SEGMENT_MM * s)
        us, vs, ws = [], [], []
        for u0 in range(0, energy.shape[1] - seg + 1, seg // 2):
            block = energy[:, u0 : u0 + seg]
            if valid[:, u0 : u0 + seg].mean() < 0.9:
                continue
            col = cv2.GaussianBlur(block.sum(axis=1).reshape(-1, 1), (1, 0), 0.3 * s).ravel()
            top = int(np.argmax(col))
            contrast = col[top] / max(float(np.median(col)), 1e-12)
            if contrast < 2.0:
                continue
            lo, hi = max(0, top - 1), min(len(col), top + 2)
            vv = float(np.sum(np.arange(lo, hi) * col[lo:hi]) / max(col[lo:hi].sum(), 1e-12))
            us.append(u0 + seg / 2)
            vs.append(vv)
            ws.append(contrast)
        if len(us) < 3:
            return line
        u, v, wt = np.array(us), np.array(vs), np.array(ws)
        for _ in range(3):  # drop segments far off the fit (a crossing crease): robust straight line
            slope, icept = np.polyfit(u, v, 1, w=np.sqrt(wt))
            resid = np.abs(v - (slope * u + icept))
            ok = resid <= max(2.0, 2.5 * float(np.median(resid)))
            if ok.all() or ok.sum() < 3:
                break
            u, v, wt = u[ok], v[ok], wt[ok]
        m = line.strip_matrix(strip.shape[1], half)
        u_mid = float(np.average(u, weights=wt))
        p = m @ np.array([u_mid, slope * u_mid + icept, 1.0])
        line = _Line(float(p[0]), float(p[1]), line.angle_deg + math.degrees(math.atan(slope)))
    return line


def _ring(freqs: np.ndarray, f: float, outer: float = 0.4) -> np.ndarray:
    """The frequencies 8 %-``outer`` away from ``f``: its spectral neighbourhood, what the material and the noise
    give there, against which a peak at ``f`` is judged."""
    return np.asarray((np.abs(freqs - f) > 0.08 * f) & (np.abs(freqs - f) < outer * f))


def _channel_levels(power: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Per colour channel (``power``: freqs x channels) the median power over ``ring``, chroma floored at
    CHROMA_FLOOR of the grey level (JPEG keeps little chroma: a faint chroma level would inflate any peak)."""
    level = np.median(power[ring], axis=0)
    level[1:] = np.maximum(level[1:], CHROMA_FLOOR * level[0])
    return np.asarray(level)


def _channel_weights(colour: np.ndarray, s: float, f0: float) -> np.ndarray:
    """The combination of colour channels (along x channels) in which the stitch period at ``f0`` stands out
    most against the material: each channel scaled to its own level around ``f0`` (the profile's spectrum
    beside the peak; chroma floored at CHROMA_FLOOR of the grey level, as JPEG keeps little chroma), then the
    principal direction of the channels' spectra at the peak (the thread's colour contrast, its sign and
    mix). Why not the raw colour's principal direction: that is the loudest channel's, which is the
    material's whenever the thread's contrast lies in another channel."""
    if colour.shape[1] == 1:
        return np.ones(1)
    n = len(colour)
    spec = np.fft.rfft(colour * np.hanning(n)[:, None], axis=0)
    freqs = np.fft.rfftfreq(n, d=1.0 / s)
    ring = _ring(freqs, f0)
    power = spec.real**2 + spec.imag**2
    if np.any(ring):
        level = _channel_levels(power, ring)
    else:
        level = power.mean(axis=0)
        level[1:] = np.maximum(level[1:], CHROMA_FLOOR * level[0])
    scale = 1.0 / np.sqrt(np.maximum(level, 1e-30))
    # The peak's own bins (+-2 around the strongest within 2 % of f0): a wider band would be mostly material,
    # which every channel has, and a weak seam would not steer the direction.
    near = np.flatnonzero(np.abs(freqs - f0) <= 0.02 * f0 + 1.0 / (n / s))
    top = near[int(np.argmax((power[near] / level).sum(axis=1)))]
    peak = spec[max(0, top - 2) : top + 3] * scale[None, :]
    _, _, vt = np.linalg.svd(np.concatenate([peak.real, peak.imag]), full_matrices=False)
    return np.asarray(vt[0] * scale)


def _stretch(rect: Rectified, line: _Line) -> tuple[np.ndarray, np.ndarray]:
    """(colour channels of a +-BAND_MM band along ``line`` over its longest valid stretch: along x channels,
    zero mean; that stretch's two ends in card mm)."""
    half = max(1, int(round(BAND_MM * rect.px_per_mm)))
    strip, valid = _strip(rect, line, half)
    ok = valid.all(axis=0)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    if len(runs) < 2:
        raise SeamNotFound("no seam in the part of the photo outside the card")
    starts, ends = runs[0::2], runs[1::2]
    k = int(np.argmax(ends - starts))
    colour = strip[:, starts[k] : ends[k]].mean(axis=0)
    m = line.strip_matrix(strip.shape[1], half)
    ends_px = np.array([m @ [starts[k], half, 1.0], m @ [ends[k], half, 1.0]])
    ends_mm = np.asarray(rect.origin_mm) + ends_px / rect.px_per_mm
    return (colour - colour.mean(axis=0)).astype(np.float64), ends_mm


def _profile(rect: Rectified, line: _Line, f0: float, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(scalar profile along the seam over its longest valid stretch, that stretch's two ends in card mm, the
    channel weights used): the colour channels of ``_stretch`` combined as ``_channel_weights`` finds the
    period ``f0`` best (or with the ``weights`` given, to compare other lines with the seam's)."""
    colour, ends_mm = _stretch(rect, line)
    if weights is None:
        weights = _channel_weights(colour, rect.px_per_mm, f0)
    return colour @ weights, ends_mm, weights


def _ring_level(freqs: np.ndarray, power: np.ndarray, f: float, outer: float = 0.4) -> float:
    """The spectrum's level around ``f``: the median power over its ``_ring``."""
    ring = _ring(freqs, f, outer)
    return float(np.median(power[ring])) if np.any(ring) else 0.0


def _prominence(profile: np.ndarray, s: float, f: float) -> float:
    """How far the profile's peak at ``f`` stands above its spectral neighbourhood."""
    freqs, power = _spectrum(profile, s)
    return _peak_near(freqs, power, f, 0.02)[1] / max(_ring_level(freqs, power, f), 1e-30)


def _dominant_frequency(colour: np.ndarray, s: float, f_lo: float, f_hi: float) -> tuple[float, float]:
    """(frequency, prominence) of the line's most prominent periodicity in [f_lo, f_hi], in whichever colour
    channel it stands out most against that channel's own neighbourhood (chroma floored at CHROMA_FLOOR of the
    grey level). Why: the search ranks a line's periods on short, coarse tiles; along a strong seam JPEG's
    chroma blocks beat with the stitches into a faint periodicity of their own, which on the tiles can outscore
    the stitches where the blur has removed the material's contrast. The whole line at full resolution shows
    which period is the line's own."""
    n = len(colour)
    detrended = np.stack([_detrend(colour[:, ch], s) for ch in range(colour.shape[1])], axis=1)
    spec = np.fft.rfft(detrended * np.hanning(n)[:, None], axis=0)
    power = spec.real**2 + spec.imag**2  # freqs x channels
    freqs = np.fft.rfftfreq(n, d=1.0 / s)
    best = (0.0, 0.0)
    for i in np.flatnonzero((freqs >= f_lo) & (freqs <= f_hi)):
        ring = _ring(freqs, float(freqs[i]))
        if not np.any(ring):
            continue
        level = _channel_levels(power, ring)
        ratio = float(np.max(power[i] / np.maximum(level, 1e-30)))
        if ratio > best[1]:
            best = (float(freqs[i]), ratio)
    return best


def _block_multiple(colour: np.ndarray, s: float, f: float, angle_deg: float, ends_mm: np.ndarray,
                    detection: CardDetection | None, block_px: int | None) -> int:  # fmt: skip
    """k when the period ``f`` is carried by colour alone (luminance shows no clear peak there) and lies within
    BLOCK_TOLERANCE of k times the rate (per card mm) at which the measured stretch (``ends_mm``, direction
    ``angle_deg``) crosses the photo's JPEG block columns or rows (at its middle, through the card's
    homography); else 0."""
    if detection is None or not block_px or colour.shape[1] == 1:
        return 0
    if _prominence(colour[:, 0], s, f) >= SEGMENT_PEAK:
        return 0
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), math.sin(a)])
    mid = ends_mm.mean(axis=0)
    card_to_photo = np.linalg.inv(detection.homography)
    ends = np.array([[*(mid - 0.5 * u), 1.0], [*(mid + 0.5 * u), 1.0]]) @ card_to_photo.T
    step = ends[1, :2] / ends[1, 2] - ends[0, :2] / ends[0, 2]  # photo px per card mm along the line
    for rate in np.abs(step) / block_px:
        k = round(f / max(float(rate), 1e-9))
        if k >= 1 and abs(f - k * rate) <= BLOCK_TOLERANCE * f:
            return int(k)
    return 0


def _related(f: float, g: float) -> bool:
    """One frequency a harmonic of the other (within 2 %): the same stitch pattern seen at two orders."""
    r = max(f, g) / max(min(f, g), 1e-12)
    k = round(r)
    return 1 <= k <= MAX_SUBHARMONIC and abs(r - k) <= 0.02 * k


def _beside_share(rect: Rectified, line: _Line, f: float, profile: np.ndarray, weights: np.ndarray) -> float:
    """The largest power at the seam's frequency on lines BESIDE_MM either side of it (their colour combined
    as the seam's), over the seam's own: a seam is one line, a material's pattern (a brick course, an
    embossed grid) repeats beside it."""
    s = rect.px_per_mm
    freqs, power = _spectrum(profile, s)
    own = _peak_near(freqs, power, f, 0.02)[1]
    a = math.radians(line.angle_deg)
    shares = [0.0]
    for offset in (*BESIDE_MM, *(-d for d in BESIDE_MM)):
        moved = _Line(line.x - offset * s * math.sin(a), line.y + offset * s * math.cos(a), line.angle_deg)
        try:
            side = _profile(rect, moved, f, weights)[0]
        except SeamNotFound:
            continue
        if len(side) < 0.5 * len(profile):
            continue
        fs, ps = _spectrum(side, s)
        # power per length: the side line may be shorter than the seam's
        shares.append(_peak_near(fs, ps, f, 0.02)[1] / len(side) / max(own / len(profile), 1e-30))
    return max(shares)


def _refined(profile: np.ndarray, s: float, f_peak: float) -> tuple[float, float]:
    """(frequency, standard error): the phase slope when it agrees with the zero-padded spectral peak to half a
    frequency bin; otherwise (another periodicity near the seam's beats with it and slips the phase) the peak,
    good to a bin's uniform spread."""
    length = len(profile) / s
    f, f_se, _ = _phase_refine(profile, s, f_peak)
    if abs(f - f_peak) <= 0.5 / length:
        return f, f_se
    return f_peak, 1.0 / (length * math.sqrt(12.0))


def _detrend(profile: np.ndarray, s: float) -> np.ndarray:
    return np.asarray(profile - cv2.GaussianBlur(profile.reshape(1, -1), (0, 0), DETREND_MM * s).ravel())


def _spectrum(profile: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    detrended = _detrend(profile, s)
    windowed = (detrended - detrended.mean()) * np.hanning(len(detrended))
    pad = 1 << int(math.ceil(math.log2(len(windowed) * 16)))
    return np.fft.rfftfreq(pad, d=1.0 / s), np.abs(np.fft.rfft(windowed, pad)) ** 2


def _peak_near(freqs: np.ndarray, power: np.ndarray, f: float, rel: float) -> tuple[float, float]:
    near = np.flatnonzero(np.abs(freqs - f) <= rel * f)
    if len(near) == 0:
        return f, 0.0
    i = near[int(np.argmax(power[near]))]
    return float(freqs[i]), float(power[i])


def _fundamentals(profile: np.ndarray, s: float, f_peak: float, f_lo: float) -> list[float]:
    """The frequencies that may be the stitch period behind a spectral peak: the peak itself and each
    sub-multiple f/k (k <= MAX_SUBHARMONIC) that is a clear peak of the profile against the profile's own
    spectrum around it. Why: dark thread with needle holes puts two bumps in each period, and long dashes with
    short gaps (a nearly continuous thread) put power in many harmonics, the high ones standing out most
    against a texture that is weak at short wavelengths."""
    freqs, power = _spectrum(profile, s)
    f0, p0 = _peak_near(freqs, power, f_peak, 0.03)
    out = [f0]
    for k in range(2, MAX_SUBHARMONIC + 1):
        f_sub = f0 / k
        if f_sub < f_lo:
            break
        fs, ps = _peak_near(freqs, power, f_sub, 0.02)
        level = _ring_level(freqs, power, fs, 0.3)
        if ps > SUBHARMONIC_PEAK * max(level, 1e-20) and ps > 0.02 * p0:
            out.append(fs)
    return out


def _fundamental(profile: np.ndarray, s: float, f_peak: float, f_lo: float) -> tuple[tuple[float, float, list[float]] | None, str]:  # fmt: skip
    """((frequency, its standard error, the agreeing pieces' frequencies) or None, why not): which of the peak
    and its significant sub-multiples is the stitch period: the one whose period the seam's pieces agree on
    most (a texture crossing the seam may repeat at a sub-multiple too, but not all along it); on a tie the
    lowest (a harmonic agrees wherever its fundamental does)."""
    length = len(profile) / s
    hypotheses = []
    why = ""
    for f0 in _fundamentals(profile, s, f_peak, f_lo):
        if length * f0 < MIN_PERIODS:
            why = why or f"only {length * f0:.1f} stitches in view: show at least {MIN_PERIODS}"
            continue
        f, f_se = _refined(profile, s, f0)
        agreeing = _agreeing_segments(profile, s, f)
        hypotheses.append((len(agreeing), -f, f_se, agreeing))
    if not hypotheses:
        return None, why
    _, neg_f, f_se, agreeing = max(hypotheses, key=lambda h: (h[0], h[1]))
    return (-neg_f, f_se, agreeing), why


def _phase_refine(profile: np.ndarray, s: float, f0: float) -> tuple[float, float, float]:
    """(frequency cycles/mm, its standard error, phase RMS residual) from the unwrapped phase of the profile
    band-passed at f0."""
    n = len(profile)
    spec = np.fft.rfft(profile)
    freqs = np.fft.rfftfreq(n, d=1.0 / s)
    spec[np.abs(freqs - f0) > PHASE_BAND * f0] = 0
    analytic = np.fft.ifft(np.concatenate([spec, np.zeros(n - len(spec), complex)]) * 2)
    phase = np.unwrap(np.angle(analytic))
    x = np.arange(n) / s
    trim = max(1, int(round(s / f0)))  # one period at each end: band-pass edge effects
    xs, ps, amp = x[trim:-trim], phase[trim:-trim], np.abs(analytic[trim:-trim])
    # Weighted by the envelope: where the thread fades (out of the band, a worn stitch) the phase is noise.
    slope, icept = np.polyfit(xs, ps, 1, w=amp)
    resid = ps - (slope * xs + icept)
    wts = amp**2 / max(float(np.sum(amp**2)), 1e-30)
    rms = math.sqrt(float(np.sum(wts * resid**2)))
    periods = max(1.0, (xs[-1] - xs[0]) * f0)
    # Residuals are correlated over about a period: the effective sample count is the number of periods.
    se = rms * math.sqrt(12.0 / periods) / max(xs[-1] - xs[0], 1e-9)
    return float(slope / (2 * math.pi)), se / (2 * math.pi), rms


def _agreeing_segments(profile: np.ndarray, s: float, f: float) -> list[float]:
    """The stitch frequencies of those of SEGMENTS pieces of the profile that show the seam's period on their
    own: the piece's strongest peak within +-15 % of f lies within SEGMENT_AGREE of f and stands
    SEGMENT_PEAK times above the piece's spectrum around it. (Checked on the spectrum, not on a phase fit:
    band-passed noise has a phase slope near the filter's centre, so a phase fit would always "agree".)"""
    n = len(profile) // SEGMENTS
    if n / s * f < 2.5:
        return []
    out = []
    for i in range(SEGMENTS):
        piece = profile[i * n : (i + 1) * n]
        freqs, power = _spectrum(piece, s)
        fk, pk = _peak_near(freqs, power, f, 0.15)
        level = _ring_level(freqs, power, f)
        if abs(fk - f) <= SEGMENT_AGREE * f and pk >= SEGMENT_PEAK * level:
            out.append(_refined(piece, s, fk)[0])
    return out


@dataclass
class _Weak:
    """A line whose period only the piece check refused (fewer than MIN_AGREEING of SEGMENTS pieces agree):
    kept for the polishing pass, with its whole-line prominence at that period."""

    line: _Line
    f: float
    score: float
    prominence: float
    weights: np.ndarray


def _examine(rect: Rectified, line: _Line, f_peak: float, score: float, f_lo: float, f_hi: float,
             detection: CardDetection | None, block_px: int | None, card_rms_mm: float,
             weak: list[_Weak] | None = None) -> tuple[SpiMeasurement | None, str]:  # fmt: skip
    """(the measurement on ``line`` at the search's period ``f_peak`` or None, why not): the checks of step 3
    and the measurement of step 4 on one refined line. Hypotheses refused only because too few pieces agree
    are appended to ``weak``."""
    s = rect.px_per_mm
    reason = ""
    try:
        colour, ends_mm = _stretch(rect, line)
    except SeamNotFound as exc:
        return None, str(exc)
    length = len(colour) / s
    # The search's period and, when it is no harmonic of it, the line's own most prominent one: each with
    # its sub-multiples is one hypothesis family, tried most prominent first (see _dominant_frequency).
    heads = [f_peak]
    f_dom, dom_ratio = _dominant_frequency(colour, s, f_lo, f_hi)
    if dom_ratio >= SUBHARMONIC_PEAK and not _related(f_dom, f_peak):
        heads.append(f_dom)
    families = []
    for head in heads:
        weights = _channel_weights(colour, s, head)
        profile = colour @ weights
        chosen, why = _fundamental(profile, s, head, f_lo)
        reason = reason or why
        if chosen is not None:
            families.append((_prominence(profile, s, head), chosen, profile, weights))
    accepted = None
    for _, (f, f_se, agreeing), profile, weights in sorted(families, key=lambda t: -t[0]):
        if len(agreeing) < MIN_AGREEING:
            reason = reason or (f"a periodic line was found but its period is not the same along it "
                      f"({len(agreeing)} of {SEGMENTS} pieces agree): not a seam, or the seam is broken/curved")  # fmt: skip
            if weak is not None:
                weak.append(_Weak(line, f, score, _prominence(profile, s, f), weights))
            continue
        k = _block_multiple(colour, s, f, line.angle_deg, ends_mm, detection, block_px)
        if k:
            reason = reason or (f"a periodic line was found but its period is {k} times the rate at which it crosses "
                      "the JPEG's blocks, and only its colour shows it: compression, not stitches")  # fmt: skip
            continue
        if _beside_share(rect, line, f, profile, weights) >= BESIDE_SHARE:
            reason = reason or (f"a periodic line was found but its period repeats {BESIDE_MM[0]:g}-{BESIDE_MM[1]:g} mm "
                      "beside it: a pattern of the material, not a seam")  # fmt: skip
            continue
        accepted = (f, f_se, agreeing)
        break
    if accepted is None:
        return None, reason
    f, f_se, agreeing = accepted
    seg_se = float(np.std(agreeing) / math.sqrt(len(agreeing)))
    spi = f * INCH_MM
    if detection is not None:
        scale_rel = length_sigma_rel(detection, ends_mm[0], ends_mm[1])
    else:
        scale_rel = card_rms_mm / math.hypot(CARD_W_MM, CARD_H_MM)
    scale_rel = math.hypot(scale_rel, SCALE_FLOOR_REL)
    sigma = math.sqrt((f_se * INCH_MM) ** 2 + (seg_se * INCH_MM) ** 2 + (spi * scale_rel) ** 2)
    m = SpiMeasurement(
        spi=spi,
        uncertainty=max(COVERAGE_SIGMAS * sigma, 0.01),
        period_mm=1.0 / f,
        angle_deg=line.angle_deg % 180.0,
        length_mm=length,
        stitches=length * f,
        peak_ratio=score,
        segments_agreeing=float(len(agreeing)),
    )
    return m, reason


def _polished(rect: Rectified, weak: _Weak) -> _Line | None:
    """The line near ``weak.line`` along which the period ``weak.f`` stands out most (its whole-line
    prominence, the line's own channel weights), turned about the middle of its measured stretch by up to
    POLISH_DEG and moved across by up to POLISH_MM; None when no such line beats the original. Why: the refit
    (``_refine``) locates the stitch energy segment by segment, and on a busy material (gravel's dark stones
    beside a black thread) it can settle ~1 degree off the seam: over a 200 mm stretch the band then leaves
    the thread on one half, and the pieces there cannot agree."""
    s = rect.px_per_mm
    try:
        _, ends_mm = _stretch(rect, weak.line)
    except SeamNotFound:
        return None
    mid = (ends_mm.mean(axis=0) - np.asarray(rect.origin_mm)) * s

    def moved(d_angle: float, d_mm: float) -> _Line:
        a = math.radians(weak.line.angle_deg + d_angle)
        return _Line(
            mid[0] - d_mm * s * math.sin(a), mid[1] + d_mm * s * math.cos(a), weak.line.angle_deg + d_angle
        )

    def value(line: _Line) -> float:
        try:
            profile = _stretch(rect, line)[0] @ weak.weights
        except SeamNotFound:
            return 0.0
        if len(profile) / s * weak.f < MIN_PERIODS:
            return 0.0
        return _prominence(profile, s, weak.f)

    base = value(moved(0.0, 0.0))
    best, best_value = (0.0, 0.0), base
    for d_angle in np.arange(-POLISH_DEG, POLISH_DEG + 1e-9, POLISH_STEP_DEG):
        v = value(moved(float(d_angle), 0.0))
        if v > best_value:
            best, best_value = (float(d_angle), 0.0), v
    for d_mm in (-POLISH_MM, -POLISH_MM / 2, POLISH_MM / 2, POLISH_MM):
        v = value(moved(best[0], d_mm))
        if v > best_value:
            best, best_value = (best[0], d_mm), v
    for d_angle in (best[0] - POLISH_STEP_DEG / 2, best[0] + POLISH_STEP_DEG / 2):
        v = value(moved(d_angle, best[1]))
        if v > best_value:
            best, best_value = (d_angle, best[1]), v
    return moved(*best) if best != (0.0, 0.0) and best_value > POLISH_GAIN * base else None


def measure_spi(rect: Rectified, card_rms_mm: float = 0.0, blur_mm: float = 0.0,
                detection: CardDetection | None = None, block_px: int | None = None) -> SpiMeasurement:  # fmt: skip
    """Stitches per inch of the seam in ``rect``; SeamNotFound (with the reason) when no periodic seam line
    can be measured. ``blur_mm`` (the photo's blur on the card plane, from ``quality``) caps the SPI searched
    for at what the photo can resolve, so a blurred fine seam is a "retake", not a wrong number. With the
    card's ``detection`` the scale's share of the uncertainty is that of the measured stretch's length (the
    homography extrapolated from the card's corners to where the seam lies); without it, the corner residual
    over the card's diagonal. ``block_px`` (a JPEG's block size in photo px, from ``quality``; None: not a
    JPEG) with the ``detection``: colour-only periods on the block grid's multiples are refused."""
    c, s = SEARCH_PX_PER_MM, rect.px_per_mm
    f_lo, f_hi = _band_limits(c, blur_mm)
    hp_c, inner_c = _contrast(rect, c)
    reason = ""  # why the most periodic line was refused
    best: SpiMeasurement | None = None
    weak: list[_Weak] = []  # lines refused by the piece check alone
    # The second search (FINE_GRID) only when no line of the first is accepted: a photo the first measures is
    # measured as before. Strongest first, so the first seam all SEGMENTS pieces agree on is the best by
    # (agreeing, score): the rest need not be refined.
    for grid in (_Grid(), FINE_GRID):
        if best is not None:
            break
        searched = sorted(((score, coarse, f) for coarse, peaks in _search(hp_c, inner_c, c, f_lo, f_hi, grid)
                             for score, f in peaks), key=lambda h: -h[0])  # fmt: skip
        for score, coarse, f_peak in searched:
            if best is not None and best.segments_agreeing >= SEGMENTS:
                break
            scale = s / c
            line = _Line(coarse.x * scale, coarse.y * scale, coarse.angle_deg)
            try:
                # the tiles' frequency is good to half a bin (c / tile): sharpen it on the whole line first
                freqs, power = _spectrum(_profile(rect, line, f_peak)[0], s)
                f_peak = _peak_near(freqs, power, f_peak, 0.6 / grid.tile_mm / f_peak)[0]
                line = _refine(rect, line, f_peak, f_hi)
            except SeamNotFound as exc:
                reason = reason or str(exc)
                continue
            m, why = _examine(rect, line, f_peak, score, f_lo, f_hi, detection, block_px, card_rms_mm, weak)
            reason = reason or why
            if m is not None and (
                best is None
                or (m.segments_agreeing, m.peak_ratio) > (best.segments_agreeing, best.peak_ratio)
            ):
                best = m
    if best is None:
        best = _last_pass(rect, weak, f_lo, f_hi, detection, block_px, card_rms_mm)
    if best is None:
        reason = "no regular stitch pattern found along any line (is the seam in focus and in view?)" + (
            f"; the most periodic line: {reason}" if reason else ""
        )
        f_sharp = _kept(blur_mm, SHARP_MTF)
        if f_sharp < SPI_RANGE[1] / INCH_MM:
            reason += (f"; at this blur ({blur_mm:.2f} mm on the card) stitches finer than {f_sharp * INCH_MM:.0f} SPI "
                       f"keep under {SHARP_MTF:.0%} of their contrast (none above {f_hi * INCH_MM:.0f} SPI is "
                       "resolved): retake it sharper if the seam is finer")  # fmt: skip
        raise SeamNotFound(reason)
    return best


def _distinct(lines: list[_Weak], rect: Rectified) -> list[_Weak]:
    """The POLISH_LINES most prominent of ``lines`` (prominence >= SUBHARMONIC_PEAK), one per line and period."""
    out: list[_Weak] = []
    for w in sorted(lines, key=lambda w: -w.prominence):
        if w.prominence < SUBHARMONIC_PEAK or len(out) == POLISH_LINES:
            break
        if not any(_related(w.f, d.f) and _same_line((0, w.line.angle_deg, w.line.x, w.line.y),
                                                     (0, d.line.angle_deg, d.line.x, d.line.y), rect.px_per_mm)
                   for d in out):  # fmt: skip
            out.append(w)
    return out


def _last_pass(rect: Rectified, weak: list[_Weak], f_lo: float, f_hi: float, detection: CardDetection | None,
               block_px: int | None, card_rms_mm: float) -> SpiMeasurement | None:  # fmt: skip
    """When neither search's lines is accepted (so a photo either measures is measured as before): the
    POLISH_LINES most prominent distinct lines the piece check alone refused, each polished (``_polished``)
    and checked again exactly as a searched line is (every check, the pieces included, on the polished line).
    The first accepted is the measurement. (Re-checking lines refused as repeating beside themselves, counting
    only beside lines whose own pieces agree, was tried and dropped: on seed 61 it accepted a brick course at
    10.86 SPI for a 36.58 seam.)"""
    for w in _distinct(weak, rect):
        line = _polished(rect, w)
        if line is None:
            continue
        m, _ = _examine(rect, line, w.f, w.score, f_lo, f_hi, detection, block_px, card_rms_mm)
        if m is not None:
            return m
    return None


def measure_capture(cap: Capture) -> SpiMeasurement:
    """``measure_spi`` on a usable close-up, with the scale and blur its quality check measured."""
    if cap.rectified is None or cap.detection is None:
        raise SeamNotFound("retake: " + ("; ".join(cap.retake) or "the scale card is not in the photo"))
    blur = cap.metrics.get("blur_sigma_mm", 0.0)
    block = cap.metrics.get("jpeg_block_px")
    return measure_spi(cap.rectified, cap.detection.reprojection_mm, blur, cap.detection,
                       int(block) if block else None)  # fmt: skip
