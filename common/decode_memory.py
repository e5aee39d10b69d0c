"""What decoding an image will cost in memory, read from its header, and conversion to 8-bit RGB in strips.

Why: the pixel limit alone does not bound memory. A 49 MP 16-bit grey PNG is 93 KB on disk and was decoded
to float64 temporaries (+1.8 GB); an RGBA or palette PNG went through whole-image compositing copies
(+0.8-0.9 GB); Pillow's WebP decoder holds three full RGBA copies of the canvas; a TIFF written as one strip
needs a raw buffer of the whole image besides the decoded one. So the limit is in bytes: before any pixel is
decoded, ``decode_cost`` adds up what Pillow will hold (the image in its own mode, the decoder's buffers, the
RGB output), and ``to_rgb`` then converts and reduces strip by strip, so no temporary is larger than a strip.
The bound is the decoded size at 8 bits per channel of the largest accepted image, ``max_pixels * RGB_BYTES``
(200 MB at the default 50 MP, in Pillow's 4-byte RGB layout), plus a quarter for the reduced output and one
strip of temporaries.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from PIL import Image

# Pillow stores RGB as 4 bytes per pixel (RGBX), so an 8-bit RGB image of w x h takes w * h * 4 bytes.
RGB_BYTES = 4
# Bytes per pixel of the image Pillow allocates for each mode (Imaging.c: LA/PA/La are 4-byte layouts too).
MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# Pillow's WebP decoder (libwebp's WebPAnimDecoder) keeps the current and the previous canvas (RGBA each),
# returns the frame as a bytes copy, and the lossless decoder has its own ARGB buffer: measured ~15 bytes per
# pixel on 12 MP lossy and lossless files besides the 4-byte image, so 12 is counted on top of it.
WEBP_EXTRA_BYTES = 12
# Pixels converted per strip: a 1 MP strip keeps float32 and RGBA temporaries (~16 bytes/pixel) under ~16 MB.
STRIP_PIXELS = 1024 * 1024
STRIP_BYTES_PER_PIXEL = 16
_WHITE = (255, 255, 255, 255)
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")


def decode_budget(max_pixels: int) -> int:
    """The byte limit that goes with a pixel limit: the 8-bit RGB size of the largest accepted image + 25 %."""
    return max_pixels * RGB_BYTES * 5 // 4


def webp_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP header (VP8, VP8L or VP8X chunk), without decoding; None if unreadable.

    Needed before ``Image.open``: Pillow's WebP plugin creates libwebp's decoder (and its canvases) on open."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def webp_cost(width: int, height: int) -> int:
    return width * height * (RGB_BYTES + WEBP_EXTRA_BYTES)


def jpeg_coefficient_bytes(im: Image.Image) -> int:
    """A progressive JPEG keeps every DCT coefficient of the whole image (int16 per sample) while it decodes,
    whatever the DCT scaling; a baseline one decodes row by row."""
    if not (im.info.get("progressive") or im.info.get("progression")):
        return 0
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
    h_max = max(layer[1] for layer in layers)
    v_max = max(layer[2] for layer in layers)
    width, height = im.size
    samples = sum(
        math.ceil(width * h / h_max / 8) * 8 * math.ceil(height * v / v_max / 8) * 8 for _, h, v, _ in layers
    )
    return samples * 2


def tiff_strip_bytes(im: Image.Image) -> int:
    """The raw buffer libtiff fills per strip (or tile): a file written as one strip needs the whole image."""
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return 0
    width, height = im.size
    bits = tags.get(258, (8,))
    bits_per_sample = max(bits) if isinstance(bits, tuple) and bits else int(bits or 8)
    samples = int(tags.get(277, 1) or 1)
    if 322 in tags and 323 in tags:  # tiled
        tile_w, tile_h = int(tags[322]), int(tags[323])
        return math.ceil(tile_w * samples * bits_per_sample / 8) * tile_h
    rows = min(height, int(tags.get(278, height) or height))
    return math.ceil(width * samples * bits_per_sample / 8) * rows


def reduce_factor(size: tuple[int, int], reduce_to: int | None) -> int:
    """Largest integer box factor that keeps the longest side >= ``reduce_to`` (1: keep every pixel)."""
    if reduce_to is None:
        return 1
    return max(1, max(size) // reduce_to)


def decode_cost(im: Image.Image, fmt: str, factor: int, extra: int = 0) -> int:
    """Bytes the decode will hold at its peak: the image in Pillow's mode, ``extra`` decoder buffers, the RGB
    output at 1/``factor`` and one strip of conversion temporaries. ``im`` is opened, not loaded."""
    width, height = im.size
    native = width * height * MODE_BYTES.get(im.mode, 4)
    if fmt == "TIFF":
        extra += tiff_strip_bytes(im)
    if im.mode == "RGB" and factor == 1:
        output = 0  # the decoded image is the output
    else:
        output = math.ceil(width / factor) * math.ceil(height / factor) * RGB_BYTES
    strip = 0 if im.mode == "RGB" else min(width * height, STRIP_PIXELS) * STRIP_BYTES_PER_PIXEL
    return native + extra + output + strip


def mode_note(im: Image.Image) -> str | None:
    if im.mode == "P" and "transparency" in im.info or im.mode in _ALPHA_MODES:
        return "transparency composited on white"
    if im.mode.startswith("I") or im.mode == "F":
        return f"{im.mode} image scaled to 8 bits"
    return None


def to_rgb(im: Image.Image, factor: int = 1) -> Image.Image:
    """A loaded image in any Pillow mode as 8-bit RGB, box-reduced by ``factor``: alpha composited on white,
    16-bit/float scaled, palettes expanded, one strip of rows at a time (strips are multiples of ``factor``
    rows, so the result equals converting the whole image and then reducing it)."""
    if im.mode == "RGB":
        return im if factor == 1 else im.reduce(factor)
    width, height = im.size
    scale = _scale_to_8_bits(im) if _is_wide(im) else 1.0
    rows = max(factor, STRIP_PIXELS // width // factor * factor)
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    for top in range(0, height, rows):
        strip = _strip_to_rgb(im.crop((0, top, width, min(height, top + rows))), scale)
        out.paste(strip if factor == 1 else strip.reduce(factor), (0, top // factor))
    return out


def _is_wide(im: Image.Image) -> bool:
    return im.mode.startswith("I") or im.mode == "F"


def _strips(im: Image.Image) -> list[tuple[int, int, int, int]]:
    rows = max(1, STRIP_PIXELS // im.width)
    return [(0, top, im.width, min(im.height, top + rows)) for top in range(0, im.height, rows)]


def _scale_to_8_bits(im: Image.Image) -> float:
    """Values <= 1 are taken as 0-1 floats, values over 255 as 16-bit, else as 0-255 (largest finite value)."""
    if im.mode == "F":  # may hold NaN and infinities: find the largest finite value strip by strip
        tops = []
        for box in _strips(im):
            arr = np.asarray(im.crop(box))
            tops.append(float(np.max(np.where(np.isfinite(arr), arr, -np.inf))))
        top = max(tops)
        if top == -math.inf:
            return 0.0
    else:
        extrema = im.getextrema()
        top = float(extrema[1])  # type: ignore[arg-type, index]
    return 255.0 if top <= 1.0 else (255.0 / 65535.0 if top > 255 else 1.0)


def _strip_to_rgb(strip: Image.Image, scale: float) -> Image.Image:
    if _is_wide(strip):
        arr = np.asarray(strip, dtype=np.float32) * np.float32(scale)
        grey = np.clip(np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if strip.mode == "P" and "transparency" in strip.info or strip.mode in _ALPHA_MODES:
        rgba = strip.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return strip.convert("RGB")
