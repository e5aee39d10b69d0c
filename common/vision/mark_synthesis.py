"""Synthetic training and test material for the per-brand mark detector: the kit's marks composited onto photos
with the changes counterfeiters make, plus unrelated marks as negatives. Deterministic per seed.

Why synthetic: a brand registers a few logo files, not the 30-50 labelled photos Custom Vision asked for, and a
detector that has only seen the clean file misses the mark at 24 px, embossed into leather, printed as an
all-over pattern or redrawn. Every variation below is one seed 004 / issue 14 names (scale down to ~24 px,
perspective, rotation, mirror, low contrast, emboss/deboss, foil, blur, JPEG, partial occlusion, a missing
element, the wordmark in another font, tiling, painterly/cartoon stylisation). Backgrounds are photos that
installed packages ship (scikit-image's data folder when it is installed, matplotlib's sample data always) plus
generated plain, gradient and textured surfaces (a product on a plain backdrop is the common listing photo):
nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

VARIATIONS = (
    "plain",
    "small",
    "perspective",
    "rotate",
    "mirror",
    "low_contrast",
    "emboss",
    "deboss",
    "foil",
    "blur",
    "jpeg",
    "occlusion",
    "missing",
    "font",
    "tiled",
    "painterly",
    "cartoon",
)
# Photos shipped inside installed packages (package, path inside it). scikit-image is a dev dependency: without it
# the matplotlib photos and the generated surfaces still give variety.
BUNDLED_PHOTOS: tuple[tuple[str, str], ...] = (
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png"),
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/retina.jpg"),
    ("skimage", "data/ihc.png"),
    ("skimage", "data/brick.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/gravel.png"),
    ("skimage", "data/camera.png"),
    ("skimage", "data/coins.png"),
    ("skimage", "data/page.png"),
    ("skimage", "data/horse.png"),
)
# Other organisations' marks that installed packages ship: real logos, so "a mark that is not ours" is learnt
# from real design work too, not only from generated shapes.
BUNDLED_MARKS: tuple[tuple[str, str], ...] = (
    ("skimage", "data/logo.png"),
    ("matplotlib", "mpl-data/sample_data/logo2.png"),
    ("matplotlib", "mpl-data/images/matplotlib_large.png"),
)
FONT_FILES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono-Bold.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "cmss10.ttf",
    "cmr10.ttf",
    "cmtt10.ttf",
)
GENERIC_WORDS = (
    "NOVA", "ZENTH", "Kappa", "ORBIT", "lumen", "VERTA", "Boltz", "QUARK", "AXIOM", "Mira", "HALO", "TREK",
    "FLUX", "Nexo", "PRIMA", "VOLT", "Astra", "ECHO", "Rivo", "SOLIS", "Dune", "PIXEL", "Vela", "OMNI",
)  # fmt: skip
FOREGROUND_DELTA = (
    40  # same rule as common.vision.logo: a pixel is the mark if it differs from the border colour
)


def _package_file(package: str, rel: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / rel
    return path if path.is_file() else None


@functools.cache
def bundled_photo_names() -> tuple[str, ...]:
    return tuple(f"{pkg}:{rel}" for pkg, rel in BUNDLED_PHOTOS if _package_file(pkg, rel) is not None)


@functools.cache
def _load_rgb(name: str, max_side: int = 512) -> Image.Image:
    pkg, rel = name.split(":", 1)
    path = _package_file(pkg, rel)
    assert path is not None, name
    with Image.open(path) as img:
        img.draft("RGB", (max_side, max_side))
        rgb = img.convert("RGB")
    rgb.thumbnail((max_side, max_side))
    return rgb


def photo(name: str) -> Image.Image:
    return _load_rgb(name).copy()


@functools.cache
def bundled_marks() -> tuple[Image.Image, ...]:
    out = []
    for pkg, rel in BUNDLED_MARKS:
        path = _package_file(pkg, rel)
        if path is not None:
            with Image.open(path) as img:
                out.append(mark_rgba(img.convert("RGBA")))
    return tuple(out)


@functools.cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _package_file("matplotlib", f"mpl-data/fonts/ttf/{name}")
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size)


def mark_rgba(logo: Image.Image) -> Image.Image:
    """The mark alone on transparency: the file's own alpha if it has one, else pixels that differ from the
    median border colour (the rule SIFT's reference side uses), cropped to the mark."""
    rgba = logo.convert("RGBA")
    arr = np.asarray(rgba).copy()
    alpha = arr[..., 3]
    if alpha.min() > 250:  # opaque file: key out the border colour
        rgb = arr[..., :3]
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        bg = np.median(border, axis=0)
        mask = np.abs(rgb.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > FOREGROUND_DELTA
        if mask.mean() < 0.01:
            mask[:] = True
        arr[..., 3] = np.where(mask, 255, 0).astype(np.uint8)
    ys, xs = np.nonzero(arr[..., 3] > 16)
    if len(xs) == 0:
        return rgba
    return Image.fromarray(arr).crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def text_mark(
    text: str, font_name: str, size: int = 96, color: tuple[int, int, int] = (20, 20, 20)
) -> Image.Image:
    f = font(font_name, size)
    box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=f)
    img = Image.new("RGBA", (int(box[2] - box[0]) + 8, int(box[3] - box[1]) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((4 - box[0], 4 - box[1]), text, font=f, fill=(*color, 255))
    return img


def generic_mark(rng: np.random.Generator) -> Image.Image:
    """A mark that is nobody's: random shapes with or without a random word, or a package-shipped logo."""
    shipped = bundled_marks()
    if shipped and rng.random() < 0.25:
        return shipped[int(rng.integers(len(shipped)))]
    size = 160
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    colour = tuple(int(v) for v in rng.integers(0, 230, 3))
    kind = int(rng.integers(4))
    if kind == 0:
        d.ellipse((6, 6, size - 6, size - 6), fill=(*colour, 255))
    elif kind == 1:
        pts = [tuple(int(v) for v in rng.integers(5, size - 5, 2)) for _ in range(int(rng.integers(3, 7)))]
        d.polygon(pts, fill=(*colour, 255))
    elif kind == 2:
        d.rectangle((10, 30, size - 10, size - 30), outline=(*colour, 255), width=10)
    word = str(GENERIC_WORDS[int(rng.integers(len(GENERIC_WORDS)))])
    if kind == 3 or rng.random() < 0.6:
        ink = tuple(int(v) for v in rng.integers(0, 255, 3))
        f = font(FONT_FILES[int(rng.integers(len(FONT_FILES)))], 40)
        d.text((size // 2, size // 2), word, font=f, fill=(*ink, 255), anchor="mm")
    return mark_rgba(img)


def surface(rng: np.random.Generator, size: tuple[int, int], photos: Sequence[str]) -> Image.Image:
    """A background: a random crop of a bundled photo, or a plain / gradient / textured surface."""
    w, h = size
    kind = rng.random()
    if photos and kind < 0.6:
        src = photo(photos[int(rng.integers(len(photos)))])
        scale = max(w / src.width, h / src.height) * float(rng.uniform(1.0, 2.2))
        big = src.resize((max(w, round(src.width * scale)), max(h, round(src.height * scale))))
        x, y = int(rng.integers(0, big.width - w + 1)), int(rng.integers(0, big.height - h + 1))
        return big.crop((x, y, x + w, y + h))
    base = rng.integers(0, 256, 3).astype(np.float32)
    arr = np.empty((h, w, 3), np.float32)
    arr[:] = base
    if kind < 0.8:  # gradient (studio backdrop)
        other = rng.integers(0, 256, 3).astype(np.float32)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
        t = t[None, :, None] if t.shape[0] == w else t[:, None, None]
        arr = arr * (1 - t) + other * t
    else:  # fabric / leather-like noise
        noise = cv2.GaussianBlur(
            rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), float(rng.uniform(0.8, 3))
        )
        arr += (noise / (noise.std() + 1e-6) * float(rng.uniform(6, 25)))[..., None]
    return Image.fromarray(np.clip(np.broadcast_to(arr, (h, w, 3)), 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- variations of the mark itself (RGBA in, RGBA out)


def _alpha(mark: Image.Image) -> np.ndarray:
    return np.asarray(mark.getchannel("A"), np.float32) / 255.0


def _height(mark: Image.Image) -> np.ndarray:
    """The mark as a height map: its outline plus its inner drawing (dark strokes raised), 0..1."""
    lum = np.asarray(mark.convert("L"), np.float32) / 255.0
    a = _alpha(mark)
    inner = np.abs(lum - np.median(lum[a > 0.5])) if (a > 0.5).any() else lum
    return np.clip(a * (0.45 + 0.55 * inner / max(float(inner.max()), 1e-3)), 0, 1)


def _ink_height(mark: Image.Image) -> np.ndarray:
    """The mark as a die cut from its artwork would press it: the darkness of its ink over white, 0..1."""
    flat = Image.new("RGBA", mark.size, (255, 255, 255, 255))
    flat.alpha_composite(mark.convert("RGBA"))
    return np.asarray(1.0 - np.asarray(flat.convert("L"), np.float32) / 255.0, np.float32)


def _relief(
    mark: Image.Image, patch: Image.Image, depth: float, rng: np.random.Generator | None = None
) -> Image.Image:
    """Emboss (depth > 0) or deboss (< 0): the mark drawn only as light and shadow on the surface itself, as a
    stamp in leather or a blind-embossed box shows it. The light comes from any direction (a listing photo is lit
    from wherever its lamp stood) and, half the time, the shade multiplies the surface as a matte material would
    (dark products keep dark shadows) instead of adding to it; without ``rng``: top-left light, added shade."""
    # Half the time a die cut from the printed artwork (the darker the ink, the deeper), else the silhouette.
    height = _ink_height(mark) if rng is not None and rng.random() < 0.5 else _height(mark)
    a = cv2.GaussianBlur(height, (0, 0), max(0.6, mark.width / 90))
    gx, gy = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3)
    azimuth = float(rng.uniform(0, 2 * np.pi)) if rng is not None else 0.25 * np.pi
    lx, ly = float(np.cos(azimuth)) * np.sqrt(2), float(np.sin(azimuth)) * np.sqrt(2)
    shade = -(gx * lx + gy * ly) * depth * 255.0  # light from (lx, ly); (1, 1): the top left
    base = np.asarray(patch.convert("RGB"), np.float32)
    if rng is not None and rng.random() < 0.5:
        factor = np.clip(1.0 + shade / 160.0, 0.35, 1.8)  # matte: the surface's own colour, lit or shadowed
        out = np.clip(base * factor[..., None], 0, 255).astype(np.uint8)
    else:
        out = np.clip(base + shade[..., None], 0, 255).astype(np.uint8)
    alpha = np.clip(np.abs(shade) * 4 + _alpha(mark) * 40, 0, 255).astype(np.uint8)
    img = Image.fromarray(out).convert("RGBA")
    img.putalpha(
        Image.fromarray(
            np.maximum(alpha, (cv2.dilate(_alpha(mark), np.ones((3, 3), np.uint8)) * 255).astype(np.uint8))
        )
    )
    return img


def _foil(mark: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Hot-foil print: the mark's shape in gold or silver with a metallic sheen, its own colours gone."""
    h, w = mark.height, mark.width
    metal = np.array([212, 175, 55] if rng.random() < 0.5 else [192, 192, 200], np.float32)
    t = np.linspace(0, np.pi * float(rng.uniform(1.5, 4)), w + h, dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    sheen = (0.65 + 0.45 * np.sin(t[xs + ys])) * (1.15 - 0.5 * _height(mark))
    arr = np.clip(metal * sheen[..., None], 0, 255).astype(np.uint8)
    img = Image.fromarray(arr).convert("RGBA")
    img.putalpha(mark.getchannel("A"))
    return img


def _colour_parts(mark: Image.Image) -> list[np.ndarray]:
    """The mark's drawn parts: connected regions of one colour (quantised) with whatever they enclose (a band
    with its lettering, an emblem with its strokes), 2-50 % of the mark's area, largest first."""
    arr = np.asarray(mark.convert("RGBA"))
    solid = arr[..., 3] > 127
    total = max(1, int(solid.sum()))
    q = (arr[..., :3] // 48).astype(np.int32)
    codes = (q[..., 0] * 36 + q[..., 1] * 6 + q[..., 2]) * solid - (~solid)
    parts = []
    for code in np.unique(codes[solid]):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            (codes == code).astype(np.uint8), connectivity=8
        )
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] < 0.01 * total:
                continue
            region = (labels == i).astype(np.uint8)
            contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            filled = np.zeros_like(region)
            cv2.drawContours(filled, contours, -1, 1, thickness=-1)
            part = (filled > 0) & solid
            if 0.02 * total <= part.sum() <= 0.5 * total:
                parts.append(part)
    return sorted(parts, key=lambda m: -int(m.sum()))


def _missing_element(mark: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A part removed (seed 004 S4: an emblem left out, a band or a stroke missing): one of the mark's drawn
    parts (``_colour_parts``) painted over in the colour around it — or cut away where it reaches the mark's
    outline — else one connected piece of the silhouette, else a wedge of it."""
    arr = np.asarray(mark.convert("RGBA")).copy()
    parts = _colour_parts(mark)
    if parts and rng.random() < 0.75:
        solid = arr[..., 3] > 127
        grow = max(3, round(0.03 * max(mark.size)))  # the part's own outline goes with it
        kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
        part = (cv2.dilate(parts[int(rng.integers(min(len(parts), 4)))].astype(np.uint8), kernel) > 0) & solid
        ring = (cv2.dilate(part.astype(np.uint8), kernel) > 0) & ~part
        around, outside = ring & solid, ring & ~solid
        if outside.sum() > 0.3 * max(1, ring.sum()) or not around.any():
            arr[part, 3] = 0  # on the outline: the part is cut away
        else:  # inside: painted over in the commonest colour around it
            colours, counts = np.unique(arr[around, :3] // 8, axis=0, return_counts=True)
            arr[part, :3] = (colours[int(np.argmax(counts))] * 8 + 4).astype(np.uint8)
        return Image.fromarray(arr)
    a = (_alpha(mark) > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(a)
    if n > 2:
        sizes = stats[1:, cv2.CC_STAT_AREA]
        candidates = [i + 1 for i, s in enumerate(sizes) if s < 0.5 * sizes.sum()]
        if candidates:
            arr[labels == candidates[int(rng.integers(len(candidates)))], 3] = 0
            return Image.fromarray(arr)
    h, w = a.shape
    cx, cy = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.8)
    r = 0.25 * max(w, h)
    ys, xs = np.mgrid[0:h, 0:w]
    arr[((xs - cx) ** 2 + (ys - cy) ** 2) < r * r, 3] = 0
    return Image.fromarray(arr)


def _occlude(img: Image.Image, box: Box, rng: np.random.Generator) -> None:
    """Cover up to ~35% of the mark with a random patch (a finger, a strap, a sticker), in place."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    ow, oh = bw * rng.uniform(0.3, 0.6), bh * rng.uniform(0.3, 0.6)
    ox = x0 + (bw - ow) * (0.0 if rng.random() < 0.5 else 1.0)
    oy = y0 + rng.uniform(0, bh - oh)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    ImageDraw.Draw(img).rectangle((ox, oy, ox + ow, oy + oh), fill=colour)


def _stylise(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """Painterly (edge-preserving smoothing with brush-like flattening) or cartoon (flat colours, dark outlines):
    how generated or redrawn product renders look."""
    arr = np.asarray(img.convert("RGB"))
    if kind == "painterly" and rng.random() < 0.4:  # oil paint: each pixel the commonest colour around it
        pil = img.convert("RGB").filter(ImageFilter.ModeFilter(int(rng.choice([3, 5, 7]))))
        pil = pil.filter(ImageFilter.SMOOTH_MORE)
        return ImageEnhance.Color(pil).enhance(float(rng.uniform(1.0, 1.5)))
    if kind == "painterly":
        out = cv2.stylization(arr, sigma_s=float(rng.uniform(20, 60)), sigma_r=float(rng.uniform(0.3, 0.6)))
    else:
        smooth = cv2.bilateralFilter(arr, 7, 60, 7)
        levels = int(rng.integers(4, 8))
        quant = (smooth // (256 // levels)) * (256 // levels) + (128 // levels)
        edges = cv2.adaptiveThreshold(
            cv2.medianBlur(cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY), 5), 255, cv2.ADAPTIVE_THRESH_MEAN_C,
            cv2.THRESH_BINARY, 9, 3,
        )  # fmt: skip
        out = np.where(edges[..., None] > 0, quant, 20).astype(np.uint8)
    return Image.fromarray(out)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _warp(mark: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    w, h = mark.size
    pad = int(max(w, h) * strength) + 2
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-strength, strength, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    dst = src + jitter + pad
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    out = cv2.warpPerspective(np.asarray(mark), m, (w + 2 * pad, h + 2 * pad), flags=cv2.INTER_LINEAR)
    return mark_crop(Image.fromarray(out))


def mark_crop(mark: Image.Image) -> Image.Image:
    ys, xs = np.nonzero(np.asarray(mark.getchannel("A")) > 16)
    if len(xs) == 0:
        return mark
    return mark.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


@dataclass
class Composite:
    image: Image.Image
    boxes: list[Box] = field(default_factory=list)  # every instance of the mark
    region: Box | None = None  # an all-over pattern: the area it covers
    variation: str = "plain"
    label: int = 0  # class of the mark (0: none)


def _fit(mark: Image.Image, side: float) -> Image.Image:
    scale = side / max(mark.size)
    return mark.resize(
        (max(2, round(mark.width * scale)), max(2, round(mark.height * scale))), Image.Resampling.LANCZOS
    )


def _place(canvas: Image.Image, mark: Image.Image, rng: np.random.Generator, margin: int = 0) -> Box:
    x = int(rng.integers(margin, max(margin + 1, canvas.width - mark.width - margin + 1)))
    y = int(rng.integers(margin, max(margin + 1, canvas.height - mark.height - margin + 1)))
    canvas.paste(mark, (x, y), mark)
    return (float(x), float(y), float(x + mark.width), float(y + mark.height))


def compose(
    mark: Image.Image,
    variation: str,
    rng: np.random.Generator,
    size: tuple[int, int],
    photos: Sequence[str],
    side_range: tuple[float, float],
    wordmarks: Sequence[str] = (),
    label: int = 1,
) -> Composite:
    """One image with the mark under ``variation`` (one of VARIATIONS) at a longest side drawn from
    ``side_range`` (pixels), onto a generated or bundled background."""
    canvas = surface(rng, size, photos)
    lo, hi = side_range
    side = float(rng.uniform(lo, min(hi, lo * 1.6))) if variation == "small" else float(rng.uniform(lo, hi))
    m = mark
    if variation == "font" and wordmarks:
        text = str(wordmarks[int(rng.integers(len(wordmarks)))])
        ink = tuple(int(v) for v in rng.integers(0, 200, 3))
        m = text_mark(text, FONT_FILES[int(rng.integers(len(FONT_FILES)))], 96, ink)  # type: ignore[arg-type]
    if variation == "mirror":
        m = m.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if variation == "missing":
        m = _missing_element(m, rng)
    if variation == "foil":
        m = _foil(m, rng)
    m = _fit(m, side)
    if variation == "rotate":
        m = mark_crop(m.rotate(float(rng.uniform(-35, 35)), expand=True, resample=Image.Resampling.BICUBIC))
    elif variation == "perspective":
        m = _warp(m, rng, 0.18)
    elif variation != "tiled" and rng.random() < 0.5:  # mild pose noise on everything
        m = mark_crop(m.rotate(float(rng.uniform(-8, 8)), expand=True, resample=Image.Resampling.BICUBIC))
    if variation == "low_contrast":
        patch_mean = np.asarray(canvas, np.float32).reshape(-1, 3).mean(0)
        arr = np.asarray(m).astype(np.float32)
        k = float(rng.uniform(0.2, 0.45))
        arr[..., :3] = arr[..., :3] * k + patch_mean * (1 - k)
        m = Image.fromarray(arr.astype(np.uint8))
    out = Composite(canvas, variation=variation, label=label)
    if variation == "tiled":
        tile = _fit(mark, float(rng.uniform(max(10.0, lo * 0.6), max(12.0, lo * 1.4))))
        gap = float(rng.uniform(0.3, 1.2))
        step_x, step_y = int(tile.width * (1 + gap)) + 1, int(tile.height * (1 + gap)) + 1
        rw, rh = int(size[0] * rng.uniform(0.5, 1.0)), int(size[1] * rng.uniform(0.5, 1.0))
        rx, ry = int(rng.integers(0, size[0] - rw + 1)), int(rng.integers(0, size[1] - rh + 1))
        for row, y in enumerate(range(ry, ry + rh - tile.height + 1, step_y)):
            offset = (step_x // 2) * (row % 2)
            for x in range(rx + offset, rx + rw - tile.width + 1, step_x):
                canvas.paste(tile, (x, y), tile)
                out.boxes.append((float(x), float(y), float(x + tile.width), float(y + tile.height)))
        out.region = (float(rx), float(ry), float(rx + rw), float(ry + rh))
    elif variation in ("emboss", "deboss"):
        x = int(rng.integers(0, max(1, size[0] - m.width + 1)))
        y = int(rng.integers(0, max(1, size[1] - m.height + 1)))
        patch = canvas.crop((x, y, x + m.width, y + m.height))
        relief = _relief(m, patch, float(rng.uniform(0.5, 1.2)) * (1 if variation == "emboss" else -1), rng)
        canvas.paste(relief, (x, y), relief)
        out.boxes.append((float(x), float(y), float(x + m.width), float(y + m.height)))
    else:
        out.boxes.append(_place(canvas, m, rng))
    if variation == "occlusion":
        _occlude(canvas, out.boxes[0], rng)
    image = canvas
    if variation in ("painterly", "cartoon"):
        image = _stylise(image, variation, rng)
    if variation == "blur" or rng.random() < 0.2:
        image = _blur(image, rng)
    if variation == "jpeg" or rng.random() < 0.3:
        image = _jpeg(image, int(rng.integers(25, 70) if variation == "jpeg" else rng.integers(60, 95)))
    out.image = image.convert("RGB")
    return out


def _blur(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    arr = cv2.GaussianBlur(np.asarray(img.convert("RGB")), (0, 0), float(rng.uniform(0.6, 1.6)))
    return Image.fromarray(arr)


def negative(
    rng: np.random.Generator, size: tuple[int, int], photos: Sequence[str], other_marks: int = 2
) -> Composite:
    """A background with up to ``other_marks`` marks that are not the brand's (generic shapes and words,
    package-shipped logos), sometimes stylised, blurred or compressed like the positives."""
    canvas = surface(rng, size, photos)
    for _ in range(int(rng.integers(0, other_marks + 1))):
        m = _fit(generic_mark(rng), float(rng.uniform(14, min(size) * 0.6)))
        if rng.random() < 0.3:
            m = mark_crop(m.rotate(float(rng.uniform(-30, 30)), expand=True))
        _place(canvas, m, rng)
    image: Image.Image = canvas
    roll = rng.random()
    if roll < 0.1:
        image = _stylise(image, "painterly" if rng.random() < 0.5 else "cartoon", rng)
    elif roll < 0.25:
        image = _blur(image, rng)
    if rng.random() < 0.3:
        image = _jpeg(image, int(rng.integers(30, 95)))
    return Composite(image.convert("RGB"), variation="negative", label=0)
