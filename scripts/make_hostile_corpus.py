"""Generate the hostile-input corpus: images, listings files and URLs an attacker (or a broken uploader) sends.

Deterministic (fixed seeds, no clock, no network) so a failure reproduces byte for byte. Tests build it once per
session into a tmp directory (``tests/hostile/conftest.py``); the fuzzer seeds from it. ``manifest.json`` says,
per case, what the real entry points must do with it:

- ``bad_image``: ``imaging.decode`` raises ``BadImage`` (a clear reason, never another exception);
- ``decodes``: a legitimate oddity (CMYK, 16-bit, palette, thousands of frames, absurd EXIF) that must decode;
- ``either``: garbage that a tolerant decoder may still read (e.g. a JPEG with flipped entropy bytes); it must
  end in one of the two outcomes above, nothing else.

Usage: ``python scripts/make_hostile_corpus.py OUT_DIR``
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SEED = 20261122
# A listings line over scan.MAX_LISTING_LINE_BYTES (20 MiB): the CLI must report it and go on.
OVERSIZED_LINE_BYTES = 21 * 1024 * 1024
NESTING_DEPTH = 100_000  # far beyond CPython's recursion limit (1000): json.loads raises RecursionError
ANIMATED_GIF_FRAMES = 3000
ANIMATED_WEBP_FRAMES = 2000
BOMB_SIDE = 20_000  # 400 MP declared, a few hundred KB on disk
# Under the 50 MP pixel limit (so decoded), tiny on disk, but wide per pixel: 16-bit, float, alpha, palette.
WIDE_SIDE = 7000  # 49 MP
WEBP_WIDE = (16383, 2990)  # WebP's largest side; 49 MP


@dataclass(frozen=True)
class Case:
    name: str  # path relative to the corpus root
    kind: str  # image | listings
    expect: str  # bad_image | decodes | either | error_record (listings: every line gets a record)
    why: str


def _photo(width: int = 256, height: int = 192, seed: int = 0) -> Image.Image:
    """A smooth, textured RGB picture (gradients + blocks + noise): compresses like a photo, not like flat fill."""
    rng = np.random.default_rng(SEED + seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1)
    noise = rng.integers(0, 40, size=(height, width, 3))
    arr = np.clip(base + noise, 0, 255).astype(np.uint8)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        arr[y0 : y0 + 20, x0 : x0 + 30] = rng.integers(0, 256, size=3)
    return Image.fromarray(arr, "RGB")


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png(width: int, height: int, rows: bytes | None, bit_depth: int = 1, color_type: int = 0,
         extra: bytes = b"") -> bytes:  # fmt: skip
    """A hand-written PNG: ``rows`` None means all-zero rows, compressed in a stream (a real bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if rows is None:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
        stride = 1 + (width * channels * bit_depth + 7) // 8
        comp = zlib.compressobj(9)
        zero_rows = bytes(stride) * 256
        out = [comp.compress(zero_rows) for _ in range(height // 256)]
        out.append(comp.compress(bytes(stride) * (height % 256)))
        out.append(comp.flush())
        idat = b"".join(out)
    else:
        idat = zlib.compress(rows, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _zeros_stream(stride: int, rows: int) -> bytes:
    """``rows`` all-zero rows of ``stride`` bytes, deflated in a stream (never all in memory at once)."""
    comp = zlib.compressobj(9)
    block = bytes(stride) * 64
    out = [comp.compress(block) for _ in range(rows // 64)]
    out.append(comp.compress(bytes(stride) * (rows % 64)))
    out.append(comp.flush())
    return b"".join(out)


def _wide_png(color_type: int, bit_depth: int) -> bytes:
    """49 MP of zeros in a PNG of ``color_type``/``bit_depth``; palette images get a PLTE and a tRNS chunk."""
    extra = b""
    if color_type == 3:
        extra = _chunk(b"PLTE", bytes(range(256)) * 3) + _chunk(b"tRNS", bytes([0, 128]))
    return _png(WIDE_SIDE, WIDE_SIDE, None, bit_depth=bit_depth, color_type=color_type, extra=extra)


def _wide_tiff(bits: int, sample_format: int, samples: int = 1) -> bytes:
    """A little-endian TIFF, 49 MP of zeros in one deflate strip (SampleFormat 1 = uint, 3 = float)."""
    width = height = WIDE_SIDE
    strip = _zeros_stream(width * samples * bits // 8, height)
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, bits),  # BitsPerSample (one value; readers apply it to every sample here)
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 2 if samples == 3 else 1),  # Photometric: RGB or BlackIsZero
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, samples),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip: the whole image in one strip
        (279, 4, 1, len(strip)),  # StripByteCounts
        (284, 3, 1, 1),  # PlanarConfiguration: contiguous
        (339, 3, 1, sample_format),  # SampleFormat
    ]
    if samples == 3:  # BitsPerSample needs one value per sample: store them after the IFD
        entries[2] = (258, 3, 3, 0)
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    strip_offset = bits_offset + 6
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 273:
            value = strip_offset
        if tag == 258 and count == 3:
            value = bits_offset
        packed = struct.pack("<HH", value, 0) if typ == 3 and count == 1 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<HHH", bits, bits, bits) + strip


def _wide_webp() -> bytes:
    """Lossless WebP at the format's largest side, 16383 x 2990 RGBA (one flat colour: a few KB)."""
    return _encode(Image.new("RGBA", WEBP_WIDE, (200, 30, 30, 128)), "WEBP", lossless=True, method=0)


def _flip(data: bytes, start: float, count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    buf = bytearray(data)
    origin = int(len(buf) * start)
    for i in range(count):
        pos = min(len(buf) - 1, origin + i * 7)
        buf[pos] ^= rng.randrange(1, 256)
    return bytes(buf)


def _exif_orientation(value: int) -> bytes:
    """A JPEG whose EXIF Orientation tag (SHORT) holds ``value`` (valid: 1-8)."""
    exif = Image.Exif()
    exif[0x0112] = value
    return _encode(_photo(seed=3), "JPEG", quality=85, exif=exif.tobytes())


def _gif_header_bomb() -> bytes:
    """Logical screen 65535 x 65535, one 1x1 frame: Pillow reports the screen size (4.3 G pixels)."""
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame + b"\x3b"


def _tiff_header_bomb(width: int, height: int) -> bytes:
    """Baseline little-endian TIFF, 1-bit, one tiny strip, header claiming ``width`` x ``height``."""
    entries = [
        (256, 4, 1, width),  # ImageWidth LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 1),  # BitsPerSample
        (259, 3, 1, 1),  # Compression none
        (262, 3, 1, 1),  # Photometric BlackIsZero
        (273, 4, 1, 8),  # StripOffsets -> right after the header
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd_offset = 8 + 16
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHI", tag, typ, count) + (
            struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        )
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + bytes(16) + ifd


def _animated(fmt: str, frames: int) -> bytes:
    """``frames`` small frames (a moving diagonal band): cheap to encode, every frame different."""
    y, x = np.mgrid[0:48, 0:48]
    palette = [c for i in range(16) for c in (i * 16, 255 - i * 16, (i * 40) % 256)]
    images = []
    for i in range(frames):
        index = (((x + y + i) // 6) % 16).astype(np.uint8)
        frame = Image.fromarray(index, "P")
        frame.putpalette(palette)
        images.append(frame if fmt == "GIF" else frame.convert("RGB"))
    params: dict[str, object] = {"method": 0, "quality": 30} if fmt == "WEBP" else {}
    return _encode(images[0], fmt, save_all=True, append_images=images[1:], duration=10, loop=0, **params)


def _gif_js_polyglot() -> bytes:
    """The classic GIF/JavaScript polyglot: ``GIF89a/*`` ... ``*/=alert(1);`` (width bytes are ``/*``)."""
    body = (
        b"GIF89a/*\x80\x00\x00" + bytes(6) + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00"
    )
    return body + b"\x3b*/=1;alert(document.domain);//"


def images() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, expect, why)."""
    photo = _photo()
    encoded = {
        "jpg": _encode(photo, "JPEG", quality=90),
        "png": _encode(photo, "PNG"),
        "webp": _encode(photo, "WEBP", quality=80),
        "gif": _encode(photo.quantize(64), "GIF"),
        "tif": _encode(photo, "TIFF", compression="tiff_deflate"),
    }
    out: dict[str, tuple[bytes, str, str]] = {}
    for ext, data in encoded.items():
        out[f"truncated_half.{ext}"] = (data[: len(data) // 2], "either" if ext == "gif" else "bad_image",
                                        "cut at 50% of its bytes")  # fmt: skip
        out[f"truncated_header.{ext}"] = (data[:24], "bad_image", "only the first 24 bytes")
        out[f"corrupt_middle.{ext}"] = (
            _flip(data, 0.5, 64, seed=len(ext)),
            "either",
            "64 bytes flipped mid-file",
        )
        out[f"corrupt_start.{ext}"] = (
            _flip(data, 0.02, 24, seed=7),
            "either",
            "24 bytes flipped in the header",
        )
    ok_png = encoded["png"]
    out["bad_crc.png"] = (
        ok_png[:29] + bytes([ok_png[29] ^ 0xFF]) + ok_png[30:],
        "bad_image",
        "IHDR CRC broken",
    )
    # decompression bombs: declared sizes far over the 50 MP limit, tiny on disk
    out["bomb_400mp.png"] = (_png(BOMB_SIDE, BOMB_SIDE, None), "bad_image", "400 MP of zeros, ~60 KB")
    out["bomb_52mp_rgb.png"] = (_png(7200, 7200, None, bit_depth=8, color_type=2), "bad_image", "52 MP RGB")
    out["bomb_49mp_gray.png"] = (_png(7000, 7000, None, bit_depth=8), "decodes",
                                 "49 MP of zeros in 47 KB: just under the pixel limit, so it is decoded")  # fmt: skip
    for name, color_type, depth, why in (
        ("wide_49mp_gray16.png", 0, 16, "16-bit greyscale"),
        ("wide_49mp_rgb48.png", 2, 16, "16-bit-per-channel RGB"),
        ("wide_49mp_rgba.png", 6, 8, "RGBA"),
        ("wide_49mp_la16.png", 4, 16, "16-bit greyscale + alpha"),
        ("wide_49mp_palette_trns.png", 3, 8, "palette + tRNS"),
    ):
        out[name] = (
            _wide_png(color_type, depth),
            "decodes",
            f"49 MP {why} PNG of zeros: under the pixel limit",
        )
    # the decoder's own buffers count in the byte budget (common/decode_memory.py): a one-strip TIFF needs the
    # whole raw image besides the decoded one, Pillow's WebP decoder ~16 bytes per pixel
    out["wide_49mp_float.tif"] = (
        _wide_tiff(32, 3),
        "bad_image",
        "49 MP float TIFF, one 196 MB deflate strip",
    )
    out["wide_49mp_gray16.tif"] = (_wide_tiff(16, 1), "decodes", "49 MP 16-bit greyscale TIFF, one strip")
    out["wide_49mp_rgb48.tif"] = (
        _wide_tiff(16, 1, 3),
        "bad_image",
        "49 MP 16-bit RGB TIFF, one 294 MB strip",
    )
    out["wide_49mp_lossless.webp"] = (_wide_webp(), "bad_image", "lossless RGBA WebP 16383x2990 (49 MP)")
    out["bomb_screen.gif"] = (_gif_header_bomb(), "bad_image", "GIF logical screen 65535x65535")
    out["bomb_400mp.tif"] = (_tiff_header_bomb(BOMB_SIDE, BOMB_SIDE), "bad_image", "TIFF header 400 MP")
    big_zeros = Image.new("1", (9000, 9000))
    out["bomb_81mp_deflate.tif"] = (_encode(big_zeros, "TIFF", compression="tiff_deflate"), "bad_image",
                                    "81 MP deflate TIFF")  # fmt: skip
    text_bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + text_bomb)
    small = np.asarray(photo.convert("L"))[:64, :64]
    rows = b"".join(b"\x00" + small[r].tobytes() for r in range(64))
    out["ztxt_bomb.png"] = (_png(64, 64, rows, bit_depth=8, color_type=0, extra=ztxt), "either",
                            "64 MB zTXt text chunk in a 64x64 PNG")  # fmt: skip
    # absurd dimensions
    out["strip_1x100000.png"] = (_png(1, 100_000, None), "bad_image", "1 x 100000 pixels")
    out["strip_100000x1.png"] = (_png(100_000, 1, None), "bad_image", "100000 x 1 pixels")
    out["tiny_1x1.png"] = (_encode(Image.new("RGB", (1, 1)), "PNG"), "bad_image", "1 x 1 pixel")
    # legitimate oddities that must decode
    out["cmyk.jpg"] = (_encode(photo.convert("CMYK"), "JPEG", quality=90), "decodes", "CMYK JPEG")
    out["progressive.jpg"] = (_encode(photo, "JPEG", progressive=True), "decodes", "progressive JPEG")
    out["gray.jpg"] = (_encode(photo.convert("L"), "JPEG"), "decodes", "greyscale JPEG")
    gray16 = (np.asarray(photo.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    out["gray16.png"] = (_encode(Image.fromarray(gray16), "PNG"), "decodes", "16-bit greyscale PNG")
    rgb48 = _png(256, 192, b"".join(b"\x00" + (np.asarray(photo)[r].astype(">u2") * 257).tobytes()
                                    for r in range(192)), bit_depth=16, color_type=2)  # fmt: skip
    out["rgb48.png"] = (rgb48, "decodes", "16-bit-per-channel RGB PNG")
    pal = photo.quantize(32)
    out["palette_trns.png"] = (_encode(pal, "PNG", transparency=0), "decodes", "palette + tRNS")
    out["rgba.png"] = (_encode(photo.convert("RGBA"), "PNG"), "decodes", "RGBA")
    out["la.png"] = (_encode(photo.convert("LA"), "PNG"), "decodes", "greyscale + alpha")
    out["bilevel.png"] = (_encode(photo.convert("1"), "PNG"), "decodes", "1-bit")
    out["rgba.webp"] = (
        _encode(photo.convert("RGBA"), "WEBP", lossless=True),
        "decodes",
        "lossless WebP alpha",
    )
    floats = np.asarray(photo.convert("L"), dtype=np.float32) / 255.0
    floats[0, :8] = [np.nan, np.inf, -np.inf, 1e30, -1e30, 0, 1, 0.5]
    out["float_nan.tif"] = (
        _encode(Image.fromarray(floats, "F"), "TIFF"),
        "decodes",
        "float TIFF with NaN/inf",
    )
    out["bmp.bmp"] = (_encode(photo, "BMP"), "decodes", "BMP")
    out["animated_3000.gif"] = (_animated("GIF", ANIMATED_GIF_FRAMES), "decodes", "3000-frame GIF")
    out["animated_2000.webp"] = (_animated("WEBP", ANIMATED_WEBP_FRAMES), "decodes", "2000-frame WebP")
    for value in (0, 9, 255, 65535):
        out[f"exif_orientation_{value}.jpg"] = (
            _exif_orientation(value),
            "decodes",
            f"EXIF Orientation={value}",
        )
    garbage_exif = b"\xff\xd8\xff\xe1\x00\x40Exif\x00\x00II*\x00\xff\xff\xff\x7f" + bytes(50)
    out["exif_garbage.jpg"] = (
        garbage_exif + encoded["jpg"][2:],
        "either",
        "APP1 EXIF with a wild IFD offset",
    )
    # polyglots and look-alikes
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("payload.js", "POLYGLOT-ZIP-PAYLOAD;alert(1)")
    out["polyglot_jpeg_zip.jpg"] = (encoded["jpg"] + zbuf.getvalue(), "decodes", "JPEG with a ZIP appended")
    out["polyglot_gif_js.gif"] = (_gif_js_polyglot(), "bad_image", "GIF header that is also JavaScript")
    html_chunk = _chunk(b"tEXt", b"Comment\x00<script>alert('POLYGLOT-PNG-HTML')</script>")
    out["polyglot_png_html.png"] = (
        ok_png[:33] + html_chunk + ok_png[33:],
        "decodes",
        "PNG carrying HTML text",
    )
    svg = (b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
           b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&b;</text>'
           b'<image href="http://169.254.169.254/computeMetadata/v1/"/></svg>')  # fmt: skip
    out["svg_as.jpg"] = (svg, "bad_image", "SVG (with entities and a metadata href) named .jpg")
    out["svg_bare_as.png"] = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
        "bad_image",
        "bare SVG",
    )
    out["html_as.png"] = (b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "bad_image",
                          "HTML page named .png")  # fmt: skip
    out["text_as.webp"] = (b"just some text, not an image\n" * 10, "bad_image", "plain text")
    out["empty.jpg"] = (b"", "bad_image", "0 bytes")
    out["one_byte.png"] = (b"\x89", "bad_image", "1 byte")
    out["riff_not_webp.webp"] = (b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(32), "bad_image", "RIFF/WAVE")
    out["random.jpg"] = (random.Random(SEED).randbytes(4096), "bad_image", "4 KiB of random bytes")
    out["jpeg_magic_only.jpg"] = (
        b"\xff\xd8\xff" + random.Random(5).randbytes(2000),
        "bad_image",
        "JPEG magic",
    )
    return out


# -- listings ------------------------------------------------------------------------------------------------
RTL_TITLE = "\u202eEMCA\u202c genuine \u200bA\u200cC\u200dM\u2060E\ufeff runner \u05e9\u05dc\u05d5\u05dd"


def listing_lines() -> list[tuple[bytes, str]]:
    """(raw line, what the CLI must report): "verdict" (scanned) or "error" (a record, batch goes on)."""
    ok = "../images/cmyk.jpg"  # relative to the listings file
    lines: list[tuple[bytes, str]] = [
        (b"{not json", "error"),
        (b"[" * NESTING_DEPTH + b"]" * NESTING_DEPTH, "error"),
        (b'{"a":' * NESTING_DEPTH + b"1" + b"}" * NESTING_DEPTH, "error"),
        (b'"just a string"', "error"),
        (b"[1, 2, 3]", "error"),
        (b'{"listing_id": "bad-utf8", "image": "x.jpg", "title": "\xff\xfe\xc3\x28"}', "error"),
        (json.dumps({"image": ok}).encode(), "error"),
        (json.dumps({"listing_id": "../../etc/passwd", "image": ok}).encode(), "error"),
        (json.dumps({"listing_id": "nul-title", "image": ok, "title": "a\x00b"}).encode(), "error"),
        (json.dumps({"listing_id": "long-title", "image": ok, "title": "A" * 5000}).encode(), "error"),
        (json.dumps({"listing_id": "neg-price", "image": ok, "price": -1}).encode(), "error"),
        (json.dumps({"listing_id": "nan-price", "image": ok, "price": "NaN"}).encode(), "error"),
        (json.dumps({"listing_id": "passwd", "image": "/etc/passwd"}).encode(), "error"),
        (json.dumps({"listing_id": "devzero", "image": "/dev/zero"}).encode(), "error"),
        (json.dumps({"listing_id": "file-url", "image": "file:///etc/passwd"}).encode(), "error"),
        (
            json.dumps(
                {"listing_id": "metadata", "image": "http://169.254.169.254/computeMetadata/v1/"}
            ).encode(),
            "error",
        ),  # fmt: skip
        (json.dumps({"listing_id": "loopback", "image": "http://127.0.0.1:9/x.jpg"}).encode(), "error"),
        (json.dumps({"listing_id": "bad-data-uri", "image": "data:image/png;base64,!!!!"}).encode(), "error"),
        (json.dumps({"listing_id": "bomb", "image": "../images/bomb_400mp.png"}).encode(), "error"),
        (json.dumps({"listing_id": "svg", "image": "../images/svg_as.jpg"}).encode(), "error"),
        (
            json.dumps(
                {
                    "listing_id": "rtl-title",
                    "image": ok,
                    "title": RTL_TITLE,
                    "description": "\u0410\u0421\u041c\u0415 \u200f\u200e\u2066x\u2069",
                }
            ).encode(),
            "verdict",
        ),
        (
            json.dumps(
                {
                    "listing_id": "unicode-title",
                    "image": "../images/polyglot_jpeg_zip.jpg",
                    "title": "\U0001f45f" * 300 + "\u0300" * 500,
                }
            ).encode(),
            "verdict",
        ),  # fmt: skip
    ]
    return lines


def build(out_dir: Path, *, oversized_line_bytes: int = OVERSIZED_LINE_BYTES) -> list[Case]:
    """Write the corpus under ``out_dir``; returns the cases (also written to ``manifest.json``)."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "listings").mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for name, (data, expect, why) in sorted(images().items()):
        (out_dir / "images" / name).write_bytes(data)
        cases.append(Case(f"images/{name}", "image", expect, why))
    lines = listing_lines()
    (out_dir / "listings" / "hostile.jsonl").write_bytes(b"\n".join(raw for raw, _ in lines) + b"\n")
    (out_dir / "listings" / "hostile.expect.json").write_text(json.dumps([e for _, e in lines]))
    cases.append(Case("listings/hostile.jsonl", "listings", "error_record", "malformed and hostile lines"))
    payload = "A" * oversized_line_bytes
    oversized = json.dumps({"listing_id": "huge", "image": "x.jpg", "description": payload}).encode()
    following = json.dumps({"listing_id": "after-huge", "image": "../images/gray.jpg"}).encode()
    (out_dir / "listings" / "oversized.jsonl").write_bytes(oversized + b"\n" + following + b"\n")
    cases.append(Case("listings/oversized.jsonl", "listings", "error_record", "a line over the 20 MiB cap"))
    (out_dir / "manifest.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile_corpus.py OUT_DIR")
    built = build(Path(sys.argv[1]))
    print(f"{len(built)} cases written to {sys.argv[1]}")
