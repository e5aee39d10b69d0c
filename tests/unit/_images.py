"""Small test images, generated in memory: real photos that packages ship, and hand-made hostile files."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image


@functools.cache
def photo(name: str) -> Image.Image:
    """A real photo shipped with scikit-image (astronaut, coffee, chelsea, rocket, motorcycle_left, ...)."""
    import skimage.data

    arr = skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return Image.fromarray(arr[..., :3].astype(np.uint8)).convert("RGB")


# Natural photos (the hash property tests use these; binary/synthetic images such as "horse" are not photos).
PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "motorcycle_left",
    "camera",
    "immunohistochemistry",
    "coins",
    "hubble_deep_field",
    "retina",
)


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG" and "quality" not in params:
        params["quality"] = 90
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (8-bit grey) with a tiny IDAT: checks must refuse it from
    the header alone."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int) -> bytes:
    """A real one-colour ``side x side`` grey PNG; 20000 px -> 400 MP that compresses to well under 1 MB."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    chunks = []
    block = row * max(1, (1 << 22) // len(row))
    rows_per_block = len(block) // len(row)
    for start in range(0, side, rows_per_block):
        n = min(rows_per_block, side - start)
        chunks.append(comp.compress(block if n == rows_per_block else row * n))
    chunks.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(chunks))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_with_claimed_size(width: int, height: int) -> bytes:
    """A valid small JPEG whose SOF header is rewritten to claim ``width x height``."""
    data = bytearray(encode(Image.new("RGB", (64, 64), (10, 120, 200))))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        pos = data.find(marker)
        if pos >= 0:
            data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise AssertionError("no SOF marker")


def with_exif_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes())


def halves(size: tuple[int, int] = (120, 60)) -> Image.Image:
    """Left half red, right half blue: orientation errors show up as wrong colours in known places."""
    img = Image.new("RGB", size, (220, 20, 20))
    img.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return img


def on_white(obj: Image.Image, canvas: tuple[int, int], at: tuple[int, int]) -> Image.Image:
    img = Image.new("RGB", canvas, (255, 255, 255))
    img.paste(obj, at)
    return img
