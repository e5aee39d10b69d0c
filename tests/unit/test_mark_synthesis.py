"""The mark detector's training variations (common/vision/mark_synthesis.py): a missing element is one of the
mark's drawn parts removed, an emboss is lit from any direction and may shade the surface as a matte material,
and oil-paint renders flatten the image into patches."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from common.vision import mark_synthesis as synth


def badge_mark() -> Image.Image:
    """A mark of the common layout: a red disc with an ink outline, a black emblem and a white band with a word."""
    img = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, 236, 236), fill=(200, 30, 30, 255), outline=(15, 15, 15, 255), width=8)
    d.polygon([(120, 30), (80, 110), (150, 60)], fill=(15, 15, 15, 255))
    d.rectangle((40, 150, 200, 200), fill=(255, 255, 255, 255), outline=(15, 15, 15, 255), width=4)
    d.text((120, 175), "QZX", font=synth.font("DejaVuSans-Bold.ttf", 36), fill=(15, 15, 15, 255), anchor="mm")
    return synth.mark_rgba(img)


def test_colour_parts_are_the_drawn_elements_with_what_they_enclose():
    mark = badge_mark()
    parts = synth._colour_parts(mark)
    arr = np.asarray(mark)
    band = next(p for p in parts if p[175, 120] or p[160, 60])
    assert band[160:190, 50:190].mean() > 0.95  # the band with its lettering inside it
    assert not band[60, 120]  # not the emblem above it
    assert any(p[60, 110] for p in parts)  # the emblem is a part of its own
    total = (arr[..., 3] > 127).sum()
    assert all(0.02 * total <= p.sum() <= 0.5 * total for p in parts)


def test_missing_element_removes_a_part_and_leaves_the_rest():
    mark = badge_mark()
    before = np.asarray(mark).astype(int)
    changed_parts = 0
    for seed in range(12):
        after = np.asarray(synth._missing_element(mark, np.random.default_rng(seed))).astype(int)
        assert after.shape == before.shape
        diff = np.abs(after - before).max(axis=2) > 0
        assert 0.02 < diff.mean() < 0.5  # something is gone, most of the mark is left
        emblem_gone = (after[50:100, 95:130, :3] == [200, 30, 30]).all(axis=2).mean() > 0.5
        band_gone = after[160:190, 60:180, 3].mean() < 20 or (after[160:190, 60:180, 0] < 230).mean() > 0.9
        changed_parts += emblem_gone or band_gone
    assert changed_parts >= 4  # most draws remove a whole element (emblem painted over, band cut away)


def test_relief_light_comes_from_any_direction_and_matte_shading_keeps_the_colour():
    mark = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    ImageDraw.Draw(mark).rectangle((24, 24, 72, 72), fill=(30, 30, 30, 255))  # a raised square stamp
    patch = Image.new("RGB", mark.size, (150, 90, 60))
    base = np.asarray(patch, np.float32)
    lit = []
    for seed in range(16):
        rgba = np.asarray(synth._relief(mark, patch, 1.0, np.random.default_rng(seed)), np.float32)
        brighter = rgba[..., 0] > base[..., 0] + 8
        ys, xs = np.nonzero(brighter)
        lit.append((xs.mean() - mark.width / 2, ys.mean() - mark.height / 2))
        shaded = (np.abs(rgba[..., :3] - base).max(axis=2) > 6) & (rgba[..., :3].max(axis=2) < 255)
        ratio = rgba[..., :3][shaded] / base[shaded]
        assert shaded.sum() > 200
        if np.abs(ratio - ratio.mean(axis=1, keepdims=True)).max() < 0.03:
            lit.append("matte")
    sides = {(dx > 0, dy > 0) for dx, dy in (p for p in lit if p != "matte")}
    assert len(sides) >= 3  # lit from several quadrants, not a fixed top-left lamp
    assert 2 <= lit.count("matte") <= 14  # both shading models are drawn
    fixed = np.asarray(synth._relief(mark, patch, 1.0), np.float32)  # no rng: the old top-left light
    assert (fixed[..., :3] != base).any()


def test_oil_paint_render_flattens_into_patches():
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    colours_before = len(np.unique(np.asarray(noisy).reshape(-1, 3), axis=0))
    for seed in range(10):
        out = synth._stylise(noisy, "painterly", np.random.default_rng(seed))
        assert out.size == noisy.size
        assert np.asarray(out).std() < np.asarray(noisy).std()  # smoothed either way
    assert colours_before > 15000
