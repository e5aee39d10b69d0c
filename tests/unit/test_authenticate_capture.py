"""Scale card detection, homography accuracy and the retake checks, on rendered close-ups (synthetic.py)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from common.authenticate import card, quality
from common.authenticate import synthetic as syn

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}


def _gray(data: bytes) -> np.ndarray:
    return cv2.cvtColor(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize("tilt, roll", [(0, 0), (25, 40), (35, -70)])
def test_card_homography_maps_the_photo_to_millimetres(tilt: float, roll: float) -> None:
    cam = syn.Camera(tilt_deg=tilt, tilt_dir_deg=60, roll_deg=roll)
    detection = card.detect_card(_gray(syn.seam_photo(12, seed=2, cam=cam)))
    assert detection is not None and detection.marker_ids == (0, 1, 2, 3)
    assert detection.reprojection_mm < 0.1
    # A world point 80 mm below the card's top-left corner must land 80 mm below it on the card plane.
    world_mm = np.array([[syn.CARD_AT_MM[0] + 10, syn.CARD_AT_MM[1] + 80.0]])
    to_img = syn.camera_homography(cam) @ np.diag([syn.WORLD_PX_PER_MM, syn.WORLD_PX_PER_MM, 1.0])
    img_pt = cv2.perspectiveTransform(world_mm.reshape(1, 1, 2), to_img)[0]
    on_card = detection.image_to_card(img_pt)[0]
    assert on_card == pytest.approx([10.0, 80.0], abs=0.15)


def test_two_markers_are_enough_and_none_is_no_card() -> None:
    face = card.card_image(10.0)
    half = face.copy()
    half[:, face.shape[1] // 2 :] = 255  # the right half (markers 1 and 2) covered
    canvas = np.full((900, 1300), 128, np.uint8)
    canvas[100 : 100 + face.shape[0], 200 : 200 + face.shape[1]] = half
    detection = card.detect_card(canvas)
    assert detection is not None and detection.marker_ids == (0, 3)
    assert card.detect_card(np.full((600, 800), 128, np.uint8)) is None


def test_scale_card_pdf_says_print_at_100_percent_and_holds_the_markers() -> None:
    pdf = card.card_pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    face = card.card_image(24.0)  # the raster embedded in the PDF
    assert face.shape == (round(card.CARD_H_MM * 24), round(card.CARD_W_MM * 24))
    assert card.detect_card(np.pad(face, 40, constant_values=255)).marker_ids == (0, 1, 2, 3)


def test_a_good_photo_passes_and_is_rectified() -> None:
    cap = quality.assess("ok.jpg", syn.seam_photo(12, seed=1, cam=syn.Camera(tilt_deg=15)), **LIMITS)
    assert cap.usable, cap.retake
    assert cap.metrics["tilt_deg"] == pytest.approx(15, abs=1.5)
    assert cap.rectified is not None and cap.rectified.px_per_mm == card.RECT_PX_PER_MM


@pytest.mark.parametrize(
    "cam, why",
    [
        (syn.Camera(blur_px=3.0), "too blurry"),
        (syn.Camera(gain=0.18), "too dark"),
        (syn.Camera(tilt_deg=50, tilt_dir_deg=20), "too oblique"),
    ],
)
def test_bad_captures_get_a_retake_reason(cam: syn.Camera, why: str) -> None:
    cap = quality.assess("x.jpg", syn.seam_photo(12, seed=4, cam=cam), **LIMITS)
    assert not cap.usable
    assert any(r.startswith(why) for r in cap.retake), cap.retake


def test_no_card_and_far_away_and_undecodable() -> None:
    world = syn.leather(3, (0.4, 0.3, 0.2))
    no_card = quality.assess("a.jpg", syn.photograph(world, syn.Camera(), 3), **LIMITS)
    assert no_card.retake and no_card.retake[0].startswith("the scale card is not in the photo")
    small = Image.open(io.BytesIO(syn.seam_photo(12, seed=5))).resize((500, 375))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=95)
    far = quality.assess("far.jpg", buf.getvalue(), **LIMITS)
    assert any(r.startswith("too far") for r in far.retake), far.retake
    broken = quality.assess("b.jpg", b"\xff\xd8\xff\xe0not really", **LIMITS)
    assert broken.retake[0].startswith("unreadable image")


def test_the_jpeg_block_size_is_read_from_the_header() -> None:
    """A phone's 4:2:0 JPEG codes colour in 16 px blocks, a 4:4:4 one in 8 px blocks; a PNG has none (the seam
    estimator refuses colour-only periods on the block grid's multiples only for JPEGs)."""
    rgb = Image.open(io.BytesIO(syn.seam_photo(12, seed=3))).convert("RGB")
    sizes = {}
    for name, kwargs in (("420", {"format": "JPEG", "subsampling": 2}), ("444", {"format": "JPEG", "subsampling": 0}),
                         ("png", {"format": "PNG"})):  # fmt: skip
        out = io.BytesIO()
        rgb.save(out, **kwargs)
        sizes[name] = quality.assess(name, out.getvalue(), **LIMITS).metrics.get("jpeg_block_px")
    assert sizes == {"420": 16.0, "444": 8.0, "png": None}
