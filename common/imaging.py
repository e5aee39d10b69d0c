"""Safe decoding of untrusted images and the preprocess step's facts about them.

Why this module is strict: every candidate image comes from the open internet (marketplace listings, bucket
uploads). A hostile file must end in one clear ``BadImage`` reason — never a crash, a hang, a 10 GB allocation
or a silently grey half-decoded picture. So we check bytes, sniff the real format from magic bytes, read the
dimensions from the header *before* decoding pixels (``Image.open`` is lazy) together with the bytes the decode
will hold (``decode_memory``: mode, decoder buffers, output), decode only the first frame, convert to RGB in
strips, reduce while decoding when the caller needs fewer pixels, and wrap anything Pillow raises. Nothing
here changes Pillow's process-wide globals (``MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``): our limits are
passed in and checked locally, so other code cannot weaken them.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from common import decode_memory
from common.errors import BadImage
from common.messages import BlobRef, Box, ColorShare, Preprocessed

# Formats we accept, keyed by the name Pillow uses. Sniffed from magic bytes, never from file names or
# content types (a text file named .jpg must be refused).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

# Resolution check. Below 32 px per side there is nothing to match (pHash itself works on 32x32); strips longer
# than 20:1 are banners or decompression tricks, not product photos (marketplaces cap listing photos far below).
MIN_SIDE = 32
MAX_ASPECT = 20.0
# 32768 px per side: beyond any camera and beyond WebP's 16383 limit; with 50 MP and 20:1 the longest real
# side is ~31,600 px.
MAX_SIDE = 32_768

# The working copy every later channel reads. 1024 px keeps logos/text legible for SIFT and OCR (which work at
# 640-960 px, see COMPONENTS.md) while bounding memory and time.
WORKING_MAX_SIDE = 1024
# Measured (docs/imaging.md): PNG level 1 encode of a 1024 px photo ~94 ms + decode ~38 ms; JPEG q95 encode
# ~5 ms + decode ~6 ms. JPEG q95 4:4:4 is visually lossless and keeps colour edges for logo/colour channels.
WORKING_FORMAT = "JPEG"
WORKING_CONTENT_TYPE = "image/jpeg"
WORKING_EXTENSION = ".jpg"
WORKING_JPEG_QUALITY = 95

# Dominant colours: k-means in Lab, k=5 on a ~100 px copy (COMPONENTS.md: 4 ms, brand colours with >=5% share
# found at dE2000 <= 2.5).
COLOR_K = 5
COLOR_SIDE = 100
COLOR_ITERATIONS = 15
COLOR_TOLERANCE = 0.5  # stop when no centre moves more than 0.5 dE76 (a just-noticeable difference is ~2.3)

# Product box: analysis at 256 px. A border pixel counts as background when within dE76 12 of the border's
# median colour (12 ~ "clearly different" on a studio backdrop; JPEG noise stays < 5). Foreground pixels are
# those > 12 away. Border must be >= 60% uniform or the photo has a busy background and we report no box.
BOX_SIDE = 256
BOX_DELTA_E = 12.0
BOX_BORDER_UNIFORM = 0.60
BOX_MIN_AREA = 0.01  # smaller than 1% of the frame: noise or a watermark, not a product
BOX_FILLS_FRAME = 0.90  # box over 90% of the frame: the object fills it, report None

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
)
_EXIF_ORIENTATION = 0x0112
_OBJECT_REPR = re.compile(r"<[^<>]* object at 0x[0-9a-fA-F]+>")


@dataclass
class Decoded:
    """A decoded RGB image. ``width``/``height`` are the original's after EXIF orientation (``image`` may be
    smaller when the caller asked for a reduced decode)."""

    image: Image.Image
    format: str
    width: int
    height: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class PreprocessResult:
    """Everything in ``messages.Preprocessed`` except ``working`` (the blob the caller stores)."""

    sha256: str
    format: str
    width: int
    height: int
    dominant_colors: list[ColorShare]
    product_box: Box | None
    warnings: list[str]

    def to_message(self, working: BlobRef) -> Preprocessed:
        return Preprocessed(
            working=working,
            sha256=self.sha256,
            format=self.format,
            width=self.width,
            height=self.height,
            dominant_colors=list(self.dominant_colors),
            product_box=self.product_box,
            warnings=list(self.warnings),
        )


def sniff_format(data: bytes) -> str:
    """The real format from magic bytes, or BadImage saying what the bytes look like instead."""
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and (b"<svg" in head or b"svg" in head[:200]):
        raise BadImage("not a raster image: the file is SVG (XML text); only JPEG/PNG/WebP/GIF/BMP/TIFF")
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]:
        raise BadImage("not an image: the file is an HTML page; only JPEG/PNG/WebP/GIF/BMP/TIFF")
    if head.startswith(b"<"):
        raise BadImage("not an image: the file is XML/markup text; only JPEG/PNG/WebP/GIF/BMP/TIFF")
    if _looks_like_text(data[:512]):
        raise BadImage("not an image: the file is plain text; only JPEG/PNG/WebP/GIF/BMP/TIFF")
    return _unknown_format(data)


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def _unknown_format(data: bytes) -> str:
    raise BadImage(
        f"unsupported or unrecognised image format (first bytes {data[:8].hex()}); only JPEG/PNG/WebP/GIF/BMP/TIFF"
    )


def check_dimensions(width: int, height: int, *, max_pixels: int) -> None:
    """Resolution check from header dimensions, before any pixel is decoded."""
    if width <= 0 or height <= 0:
        raise BadImage(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise BadImage(
            f"image too large: {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} (possible decompression bomb)"
        )
    if max(width, height) > MAX_SIDE:
        raise BadImage(f"image too large: {width}x{height} has a side over {MAX_SIDE} px")
    if min(width, height) < MIN_SIDE:
        raise BadImage(f"image too small: {width}x{height}; each side must be at least {MIN_SIDE} px")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise BadImage(
            f"image too elongated: {width}x{height} exceeds the {MAX_ASPECT:g}:1 aspect-ratio limit"
        )


def decode(data: bytes, *, max_bytes: int, max_pixels: int, reduce_to: int | None = None) -> Decoded:
    """Decode untrusted bytes into an RGB image or raise BadImage with a clear reason.

    ``reduce_to``: the caller only needs the longest side >= this many pixels; JPEGs are then decoded with DCT
    scaling (``Image.draft``), other formats box-reduced strip by strip as they are converted to RGB, so the
    full-size RGB copy is never made (JPEG 2-8x cheaper for big photos). Width/height describe the original.
    """
    if not data:
        raise BadImage("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise BadImage(f"file too large: {len(data):,} bytes exceeds the limit of {max_bytes:,}")
    fmt = sniff_format(data)
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            decoded = _decode_checked(data, fmt, max_pixels, reduce_to, notes)
        notes.extend(_pillow_warnings(caught))
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"image too large: {exc} (decompression bomb protection)") from None
    except UnidentifiedImageError:
        raise BadImage(
            f"unreadable {fmt} file: corrupt, or a variant of {fmt} that cannot be decoded here"
        ) from None
    except MemoryError:
        raise BadImage("image needs more memory than allowed to decode") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(f"corrupt or truncated {fmt} file: {_short(exc)}") from None
    except Exception as exc:  # any other Pillow failure: hostile input must never escape as a crash
        raise BadImage(f"could not decode {fmt} file ({type(exc).__name__}: {_short(exc)})") from None
    decoded.warnings = notes
    return decoded


def _decode_checked(
    data: bytes, fmt: str, max_pixels: int, reduce_to: int | None, notes: list[str]
) -> Decoded:
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        notes.append("Pillow LOAD_TRUNCATED_IMAGES is enabled process-wide; truncation may go undetected")
    webp_extra = 0
    if fmt == "WEBP":  # Pillow's WebP plugin allocates its canvases on open: check the header first
        size = decode_memory.webp_size(data)
        if size is None:
            raise BadImage("corrupt or truncated WEBP file: no readable canvas size in the header")
        check_dimensions(*size, max_pixels=max_pixels)
        webp_extra = size[0] * size[1] * decode_memory.WEBP_EXTRA_BYTES + len(data)  # + a bytes copy
        factor = decode_memory.reduce_factor(size, reduce_to)
        output = math.ceil(size[0] / factor) * math.ceil(size[1] / factor) * decode_memory.RGB_BYTES
        _check_cost(size, "RGBA", decode_memory.webp_cost(*size) + len(data) + output, max_pixels)
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        width, height = im.size
        check_dimensions(width, height, max_pixels=max_pixels)
        if getattr(im, "is_animated", False):
            notes.append("animated image: only the first frame was used")
            im.seek(0)
        extra = webp_extra
        if fmt == "JPEG":
            extra += decode_memory.jpeg_coefficient_bytes(im)
        if reduce_to is not None and fmt == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
            # draft keeps both sides >= the requested box, so ask for the image's own aspect ratio
            scale = min(1.0, reduce_to / max(width, height))
            im.draft(im.mode, (math.ceil(width * scale), math.ceil(height * scale)))
        factor = decode_memory.reduce_factor(im.size, reduce_to)
        _check_cost((width, height), im.mode, decode_memory.decode_cost(im, fmt, factor, extra), max_pixels)
        orientation = _orientation(im, notes)  # after the cost check: PNG's getexif() loads the pixels
        im.load()
        if note := decode_memory.mode_note(im):
            notes.append(note)
        image = decode_memory.to_rgb(im, factor)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if orientation in range(2, 9):
        image = _apply_orientation(image, orientation)
    return Decoded(image=image, format=fmt, width=width, height=height)


def _check_cost(size: tuple[int, int], mode: str, cost: int, max_pixels: int) -> None:
    """Refuse from the header when decoding would hold more than the byte budget (see decode_memory)."""
    budget = decode_memory.decode_budget(max_pixels)
    if cost > budget:
        mb = 1024 * 1024
        raise BadImage(
            f"image too large to decode: {size[0]}x{size[1]} {mode} needs ~{cost // mb:,} MB while decoding, "
            f"over the {budget // mb:,} MB limit that goes with {max_pixels:,} pixels (possible memory bomb)"
        )


def _orientation(im: Image.Image, notes: list[str]) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception as exc:  # corrupt EXIF must not lose an otherwise good photo
        notes.append(f"unreadable EXIF ignored ({type(exc).__name__})")
        return 1
    if not isinstance(value, int) or not 1 <= value <= 8:
        notes.append(f"invalid EXIF orientation {value!r} ignored (valid values are 1-8)")
        return 1
    return value


def _apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """Same transposes as ``ImageOps.exif_transpose`` but on an already converted RGB copy."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }[orientation]
    return image.transpose(method)


def _pillow_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"decoder warning: {_short(w.message)}" for w in caught]


def _short(exc: object) -> str:
    """One safe line: no newlines, no Python object reprs, at most 200 characters."""
    text = _OBJECT_REPR.sub("the file", str(exc).replace("\n", " "))
    return text[:200] if text else type(exc).__name__


def working_copy(image: Image.Image) -> Image.Image:
    """RGB copy with the longest side <= WORKING_MAX_SIDE (never upscaled)."""
    if max(image.size) <= WORKING_MAX_SIDE:
        return image.copy()
    return downscale(image, WORKING_MAX_SIDE)


def downscale(image: Image.Image, max_side: int) -> Image.Image:
    """Antialiased downscale: Pillow's bilinear filter widens its support with the scale factor (no aliasing),
    and ``reducing_gap`` box-reduces big factors first. Measured 5x faster than Lanczos at 1200 -> 1024 px."""
    scale = max_side / max(image.size)
    if scale >= 1.0:
        return image.copy()
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def encode_working(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, WORKING_FORMAT, quality=WORKING_JPEG_QUALITY, subsampling=0)
    return buf.getvalue()


def preprocess(data: bytes, *, max_bytes: int, max_pixels: int) -> tuple[PreprocessResult, bytes]:
    """Decode, normalise and describe a candidate: (facts for ``Preprocessed``, working-copy bytes)."""
    decoded = decode(data, max_bytes=max_bytes, max_pixels=max_pixels, reduce_to=WORKING_MAX_SIDE)
    working = working_copy(decoded.image)
    result = PreprocessResult(
        sha256=hashlib.sha256(data).hexdigest(),
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        dominant_colors=dominant_colors(working),
        product_box=product_box(working),
        warnings=list(decoded.warnings),
    )
    return result, encode_working(working)


def open_working(data: bytes, reduce_to: int | None = None) -> Image.Image:
    """Open a working copy written by ``preprocess`` (still checked: it crossed a bucket).

    ``reduce_to``: a channel that needs fewer pixels (the hash step: ``hashing.HASH_DECODE_SIDE``) gets a
    DCT-scaled decode, about half the cost.

    Every step after preprocess opens the same working copy (hash_match, embed, logo_ocr, cluster): in one
    process (the CLI, a scan worker) the decoded image is kept for the next step, keyed by the SHA-256 of the
    bytes the caller has read itself (so its store's tenant check has run, and a rewritten blob is a new key).
    Each caller gets its own copy: a channel that draws on its image cannot change the next one's."""
    key = (hashlib.sha256(data).digest(), reduce_to)
    with _DECODED_LOCK:
        kept = _DECODED.get(key)
        if kept is not None:
            _DECODED.move_to_end(key)
    if kept is None:
        limit = WORKING_MAX_SIDE * WORKING_MAX_SIDE
        kept = decode(data, max_bytes=64 * 1024 * 1024, max_pixels=limit, reduce_to=reduce_to).image
        with _DECODED_LOCK:
            _DECODED[key] = kept
            while len(_DECODED) > DECODED_KEPT:
                _DECODED.popitem(last=False)
    return kept.copy()


# Decoded working copies kept per process (open_working): a scan's steps run one after another, so the last few
# are all that is ever reused; at most 1024 x 1024 RGB (3 MB) each.
DECODED_KEPT = 4
_DECODED: OrderedDict[tuple[bytes, int | None], Image.Image] = OrderedDict()
_DECODED_LOCK = threading.Lock()


# --- colour -------------------------------------------------------------------------------------------------


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) -> CIE Lab float32 (L 0-100), via OpenCV's float path (D65)."""
    flat = rgb.reshape(1, -1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape[:-1] + (3,))


def _lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.reshape(1, -1, 3).astype(np.float32), cv2.COLOR_Lab2RGB).reshape(-1, 3)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def dominant_colors(image: Image.Image, k: int = COLOR_K) -> list[ColorShare]:
    """k-means in Lab on a ~100 px copy; deterministic (k-means++ seeded), sorted by share (sums to ~1)."""
    lab = _rgb_to_lab(np.asarray(downscale(image.convert("RGB"), COLOR_SIDE))).reshape(-1, 3)
    centres, labels = _kmeans(lab, k)
    counts = np.bincount(labels, minlength=len(centres))
    order = np.argsort(-counts, kind="stable")
    rgb = _lab_to_rgb(centres)
    total = counts.sum()
    return [
        ColorShare(
            rgb=(int(rgb[i, 0]), int(rgb[i, 1]), int(rgb[i, 2])), share=round(float(counts[i] / total), 4)
        )
        for i in order
        if counts[i] > 0
    ]


def _kmeans(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding from a fixed seed: same image, same palette."""
    rng = np.random.default_rng(0)
    norms = (points**2).sum(1)
    centres = points[rng.integers(len(points))][None, :].astype(np.float32)
    for _ in range(1, k):
        d2 = np.maximum(_sq_dist(points, centres, norms).min(axis=1), 0.0).astype(np.float64)
        if d2.sum() <= 1e-6:  # fewer distinct colours than k
            break
        centres = np.vstack([centres, points[rng.choice(len(points), p=d2 / d2.sum())]])
    labels = np.zeros(len(points), np.int64)
    for _ in range(COLOR_ITERATIONS):
        labels = _sq_dist(points, centres, norms).argmin(axis=1)
        counts = np.bincount(labels, minlength=len(centres)).astype(np.float64)
        sums = np.stack(
            [np.bincount(labels, weights=points[:, i], minlength=len(centres)) for i in range(3)], 1
        )
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres).astype(np.float32)
        if np.abs(new - centres).max() < COLOR_TOLERANCE:
            break
        centres = new
    return centres, labels


def _sq_dist(points: np.ndarray, centres: np.ndarray, norms: np.ndarray) -> np.ndarray:
    return norms[:, None] - 2 * points @ centres.T + (centres**2).sum(1)[None, :]


# --- product box --------------------------------------------------------------------------------------------


def product_box(
    image: Image.Image, *, min_uniform: float = BOX_BORDER_UNIFORM, max_fill: float = BOX_FILLS_FRAME
) -> Box | None:
    """Bounding box (working-copy pixels) of the main object against a uniform backdrop, or None when the
    background is busy, nothing stands out, or the object fills the frame."""
    lab = _rgb_to_lab(np.asarray(downscale(image.convert("RGB"), BOX_SIDE)))
    h, w = lab.shape[:2]
    border = max(2, min(h, w) // 50)
    ring = np.concatenate(
        [
            lab[:border].reshape(-1, 3),
            lab[-border:].reshape(-1, 3),
            lab[:, :border].reshape(-1, 3),
            lab[:, -border:].reshape(-1, 3),
        ]
    )
    background = np.median(ring, axis=0)
    if np.mean(np.linalg.norm(ring - background, axis=1) <= BOX_DELTA_E) < min_uniform:
        return None
    mask = (np.linalg.norm(lab - background, axis=2) > BOX_DELTA_E).astype(np.uint8) * 255
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(largest) < BOX_MIN_AREA * h * w:
        return None
    # The object's extent: every sizeable blob that overlaps the largest one's rows or columns belongs to it
    # (a shoe and its shadow, a bottle and its cap), tiny specks elsewhere do not.
    keep = [c for c in contours if cv2.contourArea(c) >= 0.1 * cv2.contourArea(largest)]
    x, y, bw, bh = cv2.boundingRect(np.concatenate(keep))
    if bw * bh >= max_fill * h * w:
        return None
    sx, sy = image.width / w, image.height / h
    x0, y0 = int(x * sx), int(y * sy)
    x1, y1 = min(image.width, int(np.ceil((x + bw) * sx))), min(image.height, int(np.ceil((y + bh) * sy)))
    return Box(x=x0, y=y0, w=max(1, x1 - x0), h=max(1, y1 - y0))
