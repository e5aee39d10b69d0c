"""Brand colours vs the candidate's dominant colours, in CIELAB with CIEDE2000.

Auxiliary only: a palette is not an identity (many products are red and white), so fusion may use this signal to
nudge, never to decide. ΔE2000 is implemented here (vectorised numpy) and tested against the 34 published pairs of
Sharma, Wu & Dalal (2005), Color Res. Appl. 30(1), Table 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from common.messages import ColorShare, Signal

# /work/shared/COMPONENTS.md: k-means in Lab finds a brand colour covering >= 5% at ΔE2000 <= 2.5 on bundled
# photos; we allow 5.0 (roughly two just-noticeable steps more) for lighting and compression on marketplace photos.
COLOR_PRESENT_DELTA_E = 5.0
COLOR_ZERO_SCORE_DELTA_E = 15.0  # closeness score falls linearly to 0 here
MIN_SHARE = 0.05  # a colour must cover at least 5% of the image to count (COMPONENTS.md)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)


def hex_to_rgb(code: str) -> tuple[int, int, int]:
    h = code.strip().lstrip("#")
    if len(h) != 6:
        raise ValueError(f"not a #RRGGBB colour: {code!r}")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in 0-255 -> CIELAB (D65, 2° observer)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ.T / D65_WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1), broadcasting over leading axes."""
    lab1, lab2 = np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma_zero = (c1p * c2p) == 0

    dLp = L2 - L1
    dCp = c2p - c1p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, np.where(dhp < -180, dhp + 360, dhp))
    dhp = np.where(chroma_zero, 0.0, dhp)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp) / 2)

    Lp_bar = (L1 + L2) / 2
    Cp_bar = (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_bar = np.where(
        np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    hp_bar = np.where(chroma_zero, h_sum, hp_bar)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_bar - 30))
        + 0.24 * np.cos(np.radians(2 * hp_bar))
        + 0.32 * np.cos(np.radians(3 * hp_bar + 6))
        - 0.20 * np.cos(np.radians(4 * hp_bar - 63))
    )
    d_theta = 30 * np.exp(-(((hp_bar - 275) / 25) ** 2))
    cp_bar7 = Cp_bar**7
    r_c = 2 * np.sqrt(cp_bar7 / (cp_bar7 + 25.0**7))
    s_l = 1 + 0.015 * (Lp_bar - 50) ** 2 / np.sqrt(20 + (Lp_bar - 50) ** 2)
    s_c = 1 + 0.045 * Cp_bar
    s_h = 1 + 0.015 * Cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dLp / s_l) ** 2 + (dCp / s_c) ** 2 + (dHp / s_h) ** 2 + r_t * (dCp / s_c) * (dHp / s_h))


def color_signal(brand_colors: Sequence[str], dominant: Sequence[ColorShare]) -> Signal:
    """ "color": how many registered brand colours appear among the candidate's dominant colours."""
    if not brand_colors:
        return Signal.not_run("color", "brand kit registers no colours")
    usable = [c for c in dominant if c.share >= MIN_SHARE]
    if not usable:
        return Signal.not_run("color", "no dominant colour covers at least 5% of the image")
    brand_lab = rgb_to_lab(np.array([hex_to_rgb(c) for c in brand_colors]))
    cand_lab = rgb_to_lab(np.array([c.rgb for c in usable]))
    de = delta_e2000(brand_lab[:, None, :], cand_lab[None, :, :])  # (brands, candidates)
    best = de.argmin(axis=1)
    best_de = de[np.arange(len(brand_colors)), best]
    closeness = np.clip(1 - best_de / COLOR_ZERO_SCORE_DELTA_E, 0, 1)
    present = best_de <= COLOR_PRESENT_DELTA_E
    matches = [
        {
            "brand_color": brand_colors[i],
            "candidate_rgb": list(usable[best[i]].rgb),
            "share": round(usable[best[i]].share, 4),
            "delta_e2000": round(float(best_de[i]), 2),
            "present": bool(present[i]),
        }
        for i in range(len(brand_colors))
    ]
    n_present = int(present.sum())
    fired = n_present * 2 >= len(brand_colors) and n_present > 0
    return Signal(
        name="color",
        status="fired" if fired else "clear",
        score=round(float(closeness.mean()), 4),
        reason=f"{n_present} of {len(brand_colors)} brand colours among the dominant colours (ΔE2000 <= "
        f"{COLOR_PRESENT_DELTA_E:g}); auxiliary evidence only",
        detail={"matches": matches},
    )
