"""Safe decode and preprocess: hostile files end in one clear BadImage, odd-but-valid files become correct RGB."""

from __future__ import annotations

import contextlib
import hashlib
import io

import numpy as np
import pytest
from _images import (
    encode,
    halves,
    jpeg_with_claimed_size,
    on_white,
    photo,
    png_bomb,
    png_header_only,
    with_exif_orientation,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from common import imaging
from common.errors import BadImage
from common.messages import BlobRef, Preprocessed

LIMITS = {"max_bytes": 40 * 1024 * 1024, "max_pixels": 50_000_000}


def decode(data: bytes, **kw: object) -> imaging.Decoded:
    return imaging.decode(data, **{**LIMITS, **kw})  # type: ignore[arg-type]


def refused(data: bytes, **kw: object) -> str:
    with pytest.raises(BadImage) as info:
        decode(data, **kw)
    return str(info.value)


def pixel(img: Image.Image, xy: tuple[int, int]) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)[xy[1], xy[0]]


def close(rgb: np.ndarray, expected: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.all(np.abs(rgb - np.asarray(expected)) <= tol))


# --- refusals --------------------------------------------------------------------------------------------------


def test_zero_bytes_refused() -> None:
    assert "empty" in refused(b"")


def test_byte_limit_checked_before_anything_else() -> None:
    data = encode(photo("coffee"))
    assert "file too large" in refused(data, max_bytes=len(data) - 1)


@pytest.mark.parametrize(
    ("data", "word"),
    [
        (b"hello, this is a text file named photo.jpg\n", "plain text"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
        (b"<svg width='100' height='100'><rect/></svg>", "SVG"),
        (b"<!DOCTYPE html><html><body>not a photo</body></html>", "HTML"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "unrecognised"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "unrecognised"),
    ],
)
def test_non_images_refused_by_content_not_name(data: bytes, word: str) -> None:
    message = refused(data)
    assert word in message
    assert "JPEG/PNG" in message  # says what is accepted


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_files_refused(fmt: str) -> None:
    data = encode(photo("chelsea"), fmt)
    message = refused(data[: len(data) // 2])
    assert "truncated" in message or "corrupt" in message
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_refused_even_when_header_survives() -> None:
    data = encode(photo("astronaut"), "PNG")
    assert "corrupt or truncated PNG" in refused(data[:200])


def test_unreadable_variant_named_without_internal_reprs() -> None:
    data = b"II*\x00" + b"\x08\x00\x00\x00" + b"\xff" * 64  # TIFF magic, garbage directory
    message = refused(data)
    assert "TIFF" in message and "object at 0x" not in message


def test_real_decompression_bomb_refused_before_decoding() -> None:
    bomb = png_bomb(20_000)  # 400 MP of one colour
    assert len(bomb) < 1_000_000
    message = refused(bomb)
    assert "too large" in message and "bomb" in message


def test_bomb_refused_without_pillow_global_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another library switching Pillow's global check off must not open us up."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    message = refused(png_header_only(20_000, 20_000))
    assert "400,000,000 pixels exceeds the limit of 50,000,000" in message


def test_pixel_limit_is_a_parameter() -> None:
    data = encode(photo("coffee"), "PNG")  # 600x400 = 240,000 px
    assert "exceeds the limit of 200,000" in refused(data, max_pixels=200_000)
    assert decode(data, max_pixels=240_000).width == 600


@pytest.mark.parametrize(
    "data",
    [
        png_header_only(100_000, 100_000),
        png_header_only(40_000, 1_000),
        jpeg_with_claimed_size(65_000, 65_000),
    ],
    ids=["png-100k-square", "png-40k-side", "jpeg-65k-square"],
)
def test_huge_claimed_dimensions_refused_from_header(data: bytes) -> None:
    assert "too large" in refused(data)


@pytest.mark.parametrize(
    ("size", "word"),
    [
        ((1, 5000), "too small"),
        ((5000, 1), "too small"),
        ((40, 5000), "aspect-ratio"),
        ((16, 16), "too small"),
    ],
)
def test_resolution_check(size: tuple[int, int], word: str) -> None:
    assert word in refused(encode(Image.new("RGB", size, "gray"), "PNG"))


def test_twenty_to_one_is_still_accepted() -> None:
    assert decode(encode(Image.new("RGB", (640, 32), "gray"), "PNG")).image.size == (640, 32)


@given(st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_files_give_rgb_or_bad_image(data: st.DataObject) -> None:
    """Fuzz: flipped bytes anywhere in real files never escape as another exception type."""
    fmt = data.draw(st.sampled_from(["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"]))
    raw = bytearray(_small_encoded(fmt))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    try:
        out = decode(bytes(raw[:cut]))
    except BadImage as exc:
        assert str(exc)
    else:
        assert out.image.mode == "RGB" and min(out.image.size) >= imaging.MIN_SIDE


_ENCODED: dict[str, bytes] = {}


def _small_encoded(fmt: str) -> bytes:
    if fmt not in _ENCODED:
        _ENCODED[fmt] = encode(photo("chelsea").resize((96, 64)), fmt)
    return _ENCODED[fmt]


# --- odd but valid images --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_allowed_format_decodes_to_rgb(fmt: str) -> None:
    src = photo("coffee")
    out = decode(encode(src, fmt))
    assert out.format == fmt
    assert out.image.mode == "RGB" and out.image.size == src.size == (out.width, out.height)
    diff = np.abs(np.asarray(out.image, np.int16) - np.asarray(src, np.int16)).mean()
    assert diff < 12  # GIF quantises to 256 colours, JPEG/WebP are lossy


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour() -> None:
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # pure red in CMYK
    out = decode(encode(cmyk, "JPEG"))
    assert out.image.mode == "RGB"
    assert close(pixel(out.image, (32, 32)), (255, 0, 0), tol=20)


def test_16_bit_png_scaled_to_8_bits() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (40, 1))
    data = encode(Image.fromarray(ramp), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = decode(data)
    assert out.image.mode == "RGB"
    row = np.asarray(out.image)[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255 and abs(row[128] - 128) <= 2
    assert any("8 bits" in w for w in out.warnings)


def test_transparent_la_png_becomes_white() -> None:
    la = Image.new("LA", (50, 50), (100, 0))  # fully transparent grey -> white
    out = decode(encode(la, "PNG"))
    assert close(pixel(out.image, (10, 10)), (255, 255, 255), tol=0)


def test_palette_with_transparency_composited_on_white() -> None:
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    img.paste(1, (0, 0, 32, 64))
    data = encode(img, "PNG", transparency=0)
    out = decode(data)
    assert close(pixel(out.image, (10, 10)), (200, 30, 30), tol=0)
    assert close(pixel(out.image, (50, 10)), (255, 255, 255), tol=0)  # transparent black -> white, not black
    assert "transparency composited on white" in out.warnings


def test_rgba_alpha_composited_on_white() -> None:
    img = Image.new("RGBA", (64, 64), (0, 0, 255, 0))
    img.paste((0, 0, 255, 255), (0, 0, 32, 64))
    out = decode(encode(img, "WEBP", lossless=True))
    assert close(pixel(out.image, (5, 5)), (0, 0, 255), tol=2)
    assert close(pixel(out.image, (60, 5)), (255, 255, 255), tol=2)


def test_animated_gif_gives_first_frame_only() -> None:
    frames = [Image.new("RGB", (64, 64), (i % 256, 255 - i % 256, 40)) for i in range(300)]
    frames[0] = Image.new("RGB", (64, 64), (250, 0, 0))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=10, loop=0)
    out = decode(buf.getvalue())
    assert close(pixel(out.image, (20, 20)), (250, 0, 0), tol=10)
    assert any("first frame" in w for w in out.warnings)


def test_exif_orientation_6_rotates_and_swaps_dimensions() -> None:
    out = decode(with_exif_orientation(halves((120, 60)), 6))
    assert (out.width, out.height) == (60, 120) and out.image.size == (60, 120)
    # orientation 6 = "rotate 90 CW to display": the stored left (red) half ends up on top
    assert close(pixel(out.image, (30, 10)), (220, 20, 20), tol=30)
    assert close(pixel(out.image, (30, 110)), (20, 20, 220), tol=30)


@pytest.mark.parametrize("value", [0, 9, 9999])
def test_absurd_exif_orientation_ignored_with_warning(value: int) -> None:
    out = decode(with_exif_orientation(halves((120, 60)), value))
    assert out.image.size == (120, 60)
    assert close(pixel(out.image, (10, 30)), (220, 20, 20), tol=30)
    assert any(f"invalid EXIF orientation {value}" in w for w in out.warnings)


def test_reduced_jpeg_decode_keeps_original_dimensions() -> None:
    big = photo("astronaut").resize((2400, 2400))
    out = decode(encode(big), reduce_to=1024)
    assert (out.width, out.height) == (2400, 2400)
    assert 1024 <= max(out.image.size) < 2400


def test_pillow_globals_untouched() -> None:
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    for data in (b"", encode(photo("coffee")), png_header_only(100_000, 100_000)):
        with contextlib.suppress(BadImage):
            decode(data)
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


# --- preprocess ------------------------------------------------------------------------------------------------


def test_preprocess_facts_and_working_copy() -> None:
    src = photo("astronaut").resize((1600, 1200))
    data = encode(src)
    result, working = imaging.preprocess(data, **LIMITS)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.format, result.width, result.height) == ("JPEG", 1600, 1200)
    img = imaging.open_working(working)
    assert img.mode == "RGB" and img.size == (1024, 768)
    shares = [c.share for c in result.dominant_colors]
    assert (
        len(shares) == imaging.COLOR_K
        and abs(sum(shares) - 1) < 0.01
        and shares == sorted(shares, reverse=True)
    )
    assert result.product_box is None  # a full-frame photo: no backdrop to separate from
    message = result.to_message(BlobRef(bucket="work", name="acme/scan.jpg"))
    assert isinstance(message, Preprocessed)
    assert Preprocessed.model_validate_json(message.model_dump_json()) == message


def test_small_images_are_not_upscaled() -> None:
    _, working = imaging.preprocess(encode(photo("coffee")), **LIMITS)
    assert imaging.open_working(working).size == (600, 400)


def test_dominant_colours_find_a_two_colour_design() -> None:
    img = Image.new("RGB", (200, 100), (10, 132, 255))
    img.paste((250, 250, 250), (0, 0, 60, 100))  # 30% near-white
    colours = imaging.dominant_colors(img)
    assert colours[0].share == pytest.approx(0.7, abs=0.03)
    assert close(np.asarray(colours[0].rgb), (10, 132, 255), tol=4)
    assert close(np.asarray(colours[1].rgb), (250, 250, 250), tol=4)
    assert imaging.dominant_colors(img) == colours  # deterministic


def test_dominant_colours_of_a_flat_image() -> None:
    colours = imaging.dominant_colors(Image.new("RGB", (64, 64), (30, 60, 90)))
    assert (
        len(colours) == 1 and colours[0].share == 1.0 and close(np.asarray(colours[0].rgb), (30, 60, 90), 2)
    )


@pytest.mark.parametrize(
    ("canvas", "at", "size"), [((800, 600), (250, 300), (300, 200)), ((900, 900), (40, 60), (200, 400))]
)
def test_product_box_on_a_plain_backdrop(
    canvas: tuple[int, int], at: tuple[int, int], size: tuple[int, int]
) -> None:
    img = on_white(photo("coffee").resize(size), canvas, at)
    _, working = imaging.preprocess(encode(img, "PNG"), **LIMITS)
    box = imaging.product_box(imaging.open_working(working))
    assert box is not None
    scale = 1024 / max(canvas) if max(canvas) > 1024 else 1.0
    expected = np.array([at[0], at[1], size[0], size[1]]) * scale
    assert np.all(np.abs(np.array([box.x, box.y, box.w, box.h]) - expected) <= 6)


def test_no_product_box_for_a_flat_image() -> None:
    assert imaging.product_box(Image.new("RGB", (300, 200), "white")) is None


def test_open_working_keeps_the_decode_but_hands_out_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps after preprocess open the same working copy: decoded once per process, each caller its own
    image, a garbage or other blob never served from what was kept."""
    _, working = imaging.preprocess(encode(photo("coffee")), **LIMITS)
    decodes: list[int | None] = []
    real_decode = imaging.decode

    def counting(data: bytes, **kwargs):
        decodes.append(kwargs.get("reduce_to"))
        return real_decode(data, **kwargs)

    monkeypatch.setattr(imaging, "decode", counting)
    monkeypatch.setattr(imaging, "_DECODED", type(imaging._DECODED)())
    first = imaging.open_working(working)
    first.paste((255, 0, 0), (0, 0, 50, 50))  # a channel drawing on its image
    second = imaging.open_working(working)
    assert decodes == [None]
    assert second is not first and second.getpixel((10, 10)) != (255, 0, 0)
    assert np.array_equal(np.asarray(second), np.asarray(real_decode(working, **LIMITS).image))
    assert imaging.open_working(working, reduce_to=256).size == (300, 200)  # another decode, another entry
    assert decodes == [None, 256]
    others = [encode(Image.new("RGB", (64 + i, 64), (i * 40, 0, 0))) for i in range(imaging.DECODED_KEPT)]
    for data in others:
        imaging.open_working(data)
    assert len(imaging._DECODED) == imaging.DECODED_KEPT
    with pytest.raises(BadImage):
        imaging.open_working(working[: len(working) // 2])  # truncated bytes are a new key and still refused


def test_open_working_refuses_garbage() -> None:
    with pytest.raises(BadImage):
        imaging.open_working(b"not an image at all")
