"""The benchmark's embossed / debossed mark: light and shadow on the product's own surface, never the mark's
colours (seed 004: embossed marks "appear through light, shadow and texture rather than colour contrast")."""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image

from common.synthetic_brands import BY_ID, draw_mark
from common.synthetic_listings import emboss, embossed_mark


def _relief(depth: float) -> tuple[np.ndarray, np.ndarray]:
    base = Image.new("RGB", (200, 160), (150, 90, 60))  # a tan surface
    out = emboss(base, draw_mark(BY_ID["volta"]), (100, 80), 96, depth, math.radians(135), math.radians(40))
    return np.asarray(base, np.float32), np.asarray(out, np.float32)


def test_emboss_only_shades_the_surface_inside_the_mark():
    base, out = _relief(1.0)
    changed = np.abs(out - base).max(axis=2) > 2
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 300  # the mark's strokes are drawn in light and shadow
    assert xs.min() >= 100 - 48 and xs.max() < 100 + 48 and ys.min() >= 80 - 48 and ys.max() < 80 + 48
    ratio = out[changed] / base[changed]  # one factor per pixel on every channel: no colour of the mark
    assert np.abs(ratio - ratio.mean(axis=1, keepdims=True)).max() < 0.05
    assert (ratio > 1.05).any() and (ratio < 0.95).any()  # lit and shadowed sides


def test_deboss_is_the_emboss_lit_the_other_way():
    base, up = _relief(1.0)
    _, down = _relief(-1.0)
    lit_up, lit_down = up[..., 0] > base[..., 0] + 3, down[..., 0] > base[..., 0] + 3
    assert lit_up.sum() > 100 and lit_down.sum() > 100
    assert (
        lit_up & lit_down
    ).sum() < 0.1 * lit_up.sum()  # the lit edges of one are the shadowed of the other


def test_scenario_is_reproducible_and_says_what_it_drew():
    a_img, a = embossed_mark(BY_ID["norda"], random.Random(3))
    b_img, b = embossed_mark(BY_ID["norda"], random.Random(3))
    assert a == b and a_img.tobytes() == b_img.tobytes()
    assert a["relief"] in ("emboss", "deboss") and a["mark_px"] > 40
