"""ΔE2000 against the published Sharma et al. (2005) pairs, Lab conversion anchors, and the colour signal."""

from pathlib import Path

import numpy as np
import pytest

from common.messages import ColorShare
from common.vision.color import color_signal, delta_e2000, hex_to_rgb, rgb_to_lab

SHARMA = np.loadtxt(Path(__file__).parents[1] / "data" / "vision" / "ciede2000_sharma2005.tsv", comments="#")


def test_sharma_table_all_34_pairs_vectorised_and_symmetric():
    assert SHARMA.shape == (34, 7)
    got = delta_e2000(SHARMA[:, 0:3], SHARMA[:, 3:6])
    np.testing.assert_allclose(got, SHARMA[:, 6], atol=1e-4)
    np.testing.assert_allclose(delta_e2000(SHARMA[:, 3:6], SHARMA[:, 0:3]), SHARMA[:, 6], atol=1e-4)


def test_identical_colours_have_zero_difference():
    lab = rgb_to_lab(np.array([[12, 200, 99], [0, 0, 0]]))
    np.testing.assert_allclose(delta_e2000(lab, lab), 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
    ],
)
def test_srgb_to_lab_anchors(rgb, lab):
    np.testing.assert_allclose(rgb_to_lab(np.array(rgb)), lab, atol=0.05)


def test_color_signal_fires_on_brand_palette_and_clears_otherwise():
    brand = ["#E4002B", "#FFFFFF"]
    on_brand = [ColorShare(rgb=(226, 2, 45), share=0.4), ColorShare(rgb=(250, 250, 250), share=0.5)]
    sig = color_signal(brand, on_brand)
    assert sig.status == "fired" and sig.score > 0.8
    assert all(m["present"] for m in sig.detail["matches"])
    off = color_signal(
        brand, [ColorShare(rgb=(20, 90, 200), share=0.9), ColorShare(rgb=(30, 30, 30), share=0.1)]
    )
    assert off.status == "clear" and off.score < 0.3


def test_color_signal_ignores_tiny_areas_and_reports_not_run():
    assert color_signal([], [ColorShare(rgb=(1, 2, 3), share=1.0)]).status == "not_run"
    assert color_signal(["#FF0000"], [ColorShare(rgb=(255, 0, 0), share=0.01)]).status == "not_run"
    assert hex_to_rgb("#0a0B0c") == (10, 11, 12)
