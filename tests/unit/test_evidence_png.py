"""The comparison picture's PNG writer (common.evidence.png) and panel sizing (common.evidence.compare): decoded
by Pillow pixel for pixel, and panels never enlarged past the taller picture."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from common.evidence.compare import CAPTION_HEIGHT, MIN_PANEL_HEIGHT, PANEL_HEIGHT, side_by_side
from common.evidence.png import SIGNATURE, encode_rgb
from tests.support.kits import pattern_image


@pytest.mark.parametrize(
    ("size", "mode"),
    [((1, 1), "RGB"), ((37, 5), "RGB"), ((300, 200), "RGB"), ((64, 48), "RGBA"), ((50, 70), "L")],
)
def test_png_decodes_to_the_same_pixels(size: tuple[int, int], mode: str) -> None:
    rng = np.random.default_rng(size[0] * 1000 + size[1])
    shape = (size[1], size[0], len(mode)) if mode != "L" else (size[1], size[0])
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    data = encode_rgb(image)
    assert data.startswith(SIGNATURE) and data.endswith(b"IEND\xaeB`\x82")
    with Image.open(io.BytesIO(data)) as decoded:
        decoded.load()  # checks every chunk's CRC and the zlib stream
        assert decoded.format == "PNG" and decoded.mode == "RGB" and decoded.size == size
        assert np.array_equal(np.asarray(decoded), np.asarray(image.convert("RGB")))


def test_png_of_a_photo_is_compressed() -> None:
    image = pattern_image(3, (400, 300))
    data = encode_rgb(image)
    assert len(data) < 400 * 300 * 3 / 4
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(image))


def test_panels_take_the_taller_pictures_height_within_the_limits() -> None:
    small, tall = pattern_image(1, (300, 200)), pattern_image(2, (400, 500))
    assert side_by_side(small, tall, []).height == CAPTION_HEIGHT + 500  # the taller one at its own size
    big = pattern_image(3, (1200, 900))
    assert side_by_side(big, small, []).height == CAPTION_HEIGHT + PANEL_HEIGHT  # large ones still reduced
    tiny = pattern_image(4, (60, 40))
    assert side_by_side(tiny, None, []).height == CAPTION_HEIGHT + MIN_PANEL_HEIGHT
    assert side_by_side(None, None, []).height == CAPTION_HEIGHT + PANEL_HEIGHT
