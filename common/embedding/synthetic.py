"""Generated same/different image pairs: the data behind the pooling choice, the calibration and the benchmarks.

Why generated: nothing can be downloaded here, so "the same product, edited or re-shot" is simulated with the
edits counterfeiters use (seed 004 S2, S5, S11, S16) applied to photos that ship inside installed packages
(scikit-image's data directory, matplotlib's sample data). ``motorcycle_left``/``motorcycle_right`` is one real
re-shoot (a stereo pair). Every edit is deterministic for a given seed so figures are reproducible.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

# Package images too small, too synthetic or duplicated to stand for a product photo.
_SKIP = {
    "multipage.tif",
    "multipage_rgb.tif",
    "no_time_for_that_tiny.gif",
    "microaneurysms.png",
    "lfw_subset.npy",
}
_SKIP |= {"chessboard_GRAY.png", "motorcycle_right.png", "bivariate_normal.npy", "logo2.png"}


def sample_image_paths() -> list[Path]:
    """Photos shipped by scikit-image and matplotlib (dev dependencies), sorted by name for stable seeds."""
    import matplotlib
    import skimage.data

    dirs = [Path(skimage.data.__file__).parent, Path(matplotlib.__file__).parent / "mpl-data" / "sample_data"]
    paths = []
    for folder in dirs:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in {".png", ".jpg", ".jpeg"} and path.name not in _SKIP:
                paths.append(path)
    return paths


def load_rgb(path: Path, max_side: int = 640) -> Image.Image:
    """RGB copy on white (RGBA logos flattened), longest side capped like the working copy."""
    with Image.open(path) as raw:
        img = raw.convert("RGBA")
    flat = Image.new("RGBA", img.size, (255, 255, 255, 255))
    flat.alpha_composite(img)
    rgb = flat.convert("RGB")
    rgb.thumbnail((max_side, max_side))
    return rgb


# Photos used only as clutter around a small product (S16), never as references: a clutter scene built from
# other references would contain a true match of another reference and count it as a false positive.
CLUTTER_NAMES = ("cell", "clock_motion", "coins", "hubble_deep_field", "moon", "page", "phantom")


def sample_images() -> dict[str, Image.Image]:
    return {p.stem: load_rgb(p) for p in sample_image_paths()}


def split_references_and_clutter(
    images: dict[str, Image.Image],
) -> tuple[dict[str, Image.Image], list[Image.Image]]:
    """(reference photos, clutter-only photos) for experiments that include small_in_clutter."""
    refs = {k: v for k, v in images.items() if k not in CLUTTER_NAMES}
    return refs, [images[k] for k in CLUTTER_NAMES if k in images]


def reshoot_pair() -> tuple[Image.Image, Image.Image]:
    """The one real re-shoot available offline: scikit-image's stereo motorcycle pair."""
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    return load_rgb(folder / "motorcycle_left.png"), load_rgb(folder / "motorcycle_right.png")


# ---- edits -------------------------------------------------------------------------------------------------


def crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Keep 55-75 % of each side at a random offset (cropped listing photos, S2)."""
    w, h = img.size
    fw, fh = rng.uniform(0.55, 0.75), rng.uniform(0.55, 0.75)
    cw, ch = int(w * fw), int(h * fh)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return img.crop((x, y, x + cw, y + ch))


def colour(img: Image.Image, rng: random.Random) -> Image.Image:
    """Hue rotation by 40-140 degrees plus a saturation change (recoloured copies)."""
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + rng.randint(28, 100)) % 256
    out = Image.fromarray(hsv, "HSV").convert("RGB")
    return ImageEnhance.Color(out).enhance(rng.uniform(0.6, 1.5))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def watermark_light(img: Image.Image, rng: random.Random) -> Image.Image:
    """Semi-transparent repeated text across the photo (marketplace re-uploads)."""
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, base.size[0] // 14)
    text = rng.choice(["SAMPLE", "SHOP-X", "BEST PRICE", "outlet24"])
    for y in range(0, base.size[1], size * 3):
        for x in range(-size, base.size[0], size * 6):
            draw.text((x + (y // 3) % size, y), text, fill=(255, 255, 255, 90), font=_font(size))
    return Image.alpha_composite(base, layer).convert("RGB")


def watermark_heavy(img: Image.Image, rng: random.Random) -> Image.Image:
    """An opaque banner over a third of the photo plus large half-opaque text (S5: banners and stickers)."""
    base = img.convert("RGBA")
    w, h = base.size
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    top = rng.choice([0, h * 2 // 3])
    draw.rectangle((0, top, w, top + h // 3), fill=(rng.randint(0, 255), rng.randint(0, 80), 40, 255))
    size = max(16, w // 7)
    draw.text((w // 10, top + h // 12), "SALE -70%", fill=(255, 255, 255, 255), font=_font(size))
    draw.text((w // 8, h // 2 - size), "FREE SHIP", fill=(255, 255, 0, 150), font=_font(size))
    return Image.alpha_composite(base, layer).convert("RGB")


def watermark_tiled(img: Image.Image, rng: random.Random) -> Image.Image:
    """Issue 14's heavy watermark: diagonal text tiled over the whole photo (half-opaque) plus an opaque banner
    and a sticker, together covering more than half of it (resellers' "protected" re-uploads)."""
    base = img.convert("RGBA")
    w, h = base.size
    size = max(14, w // 12)
    tile = Image.new("RGBA", (w * 2, h * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    text = rng.choice(["COPYRIGHT SHOP-X", "outlet24 PHOTO", "DO NOT COPY", "www.best-deal.example"])
    for y in range(0, h * 2, int(size * 1.8)):
        for x in range(-size * 4, w * 2, size * len(text) // 2 + size):
            draw.text((x + (y // 2) % size, y), text, fill=(255, 255, 255, 150), font=_font(size))
    angle = rng.uniform(25, 40) * rng.choice([-1, 1])
    tile = tile.rotate(angle, resample=Image.Resampling.BILINEAR)
    layer = tile.crop((w // 2, h // 2, w // 2 + w, h // 2 + h))
    band = ImageDraw.Draw(layer)
    top = rng.choice([0, h * 3 // 5])
    band.rectangle((0, top, w, top + h * 2 // 5), fill=(rng.randint(120, 255), rng.randint(0, 60), 30, 255))
    band.text((w // 12, top + h // 10), "SALE -80% TODAY", fill=(255, 255, 255, 255), font=_font(size * 2))
    r = min(w, h) // 5
    cx, cy = rng.randint(r, w - r), rng.randint(r, h - r)
    band.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 210, 0, 255))
    return Image.alpha_composite(base, layer).convert("RGB")


def mirror_rotate_crop(img: Image.Image, angle: float, box: tuple[int, int, int, int]) -> Image.Image:
    """The brand photo mirrored, rotated by ``angle`` degrees on white (same size) and cropped to ``box``."""
    rotated = ImageOps.mirror(img).rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(255, 255, 255)
    )
    return rotated.crop(box)


def mirrored_rotated_crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Issue 14's miss: the brand photo mirrored, rotated by ~8 degrees and cropped by ~20 %."""
    angle = rng.uniform(6, 10) * rng.choice([-1, 1])
    w, h = img.size
    keep = rng.uniform(0.78, 0.82)
    x0, y0 = rng.uniform(0, 1 - keep) * w, rng.uniform(0, 1 - keep) * h
    return mirror_rotate_crop(img, angle, (int(x0), int(y0), int(x0 + keep * w), int(y0 + keep * h)))


def flip(img: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.mirror(img)


def rotation(img: Image.Image, rng: random.Random) -> Image.Image:
    """10-25 degrees either way on a white canvas (hand-held phone shots)."""
    angle = rng.uniform(10, 25) * rng.choice([-1, 1])
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def reshoot(img: Image.Image, rng: random.Random) -> Image.Image:
    """A re-shoot approximated: perspective (corners moved up to 10 %), light, blur, noise, JPEG q60."""
    w, h = img.size
    d = 0.10

    def jitter(x: float, y: float) -> tuple[float, float]:
        return x + rng.uniform(-d, d) * w, y + rng.uniform(-d, d) * h

    src = [jitter(0, 0), jitter(w, 0), jitter(w, h), jitter(0, h)]
    coeffs = _perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], src)
    out = img.transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=(235,) * 3
    )
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.3))
    out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.75, 1.25))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    arr = np.asarray(out).astype(np.float32)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, arr.shape)
    out = Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=60)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """PIL's 8 perspective coefficients mapping output (dst) points to input (src) points."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for pt in src for c in pt], dtype=np.float64)
    return [float(c) for c in np.linalg.solve(a, b)]


def clutter_scene(product: Image.Image, distractors: list[Image.Image], rng: random.Random) -> Image.Image:
    """The product at 25-35 % of the scene width among other photos (S16: small product in a cluttered shot)."""
    width, height = 800, 600
    scene = Image.new("RGB", (width, height), (200, 200, 200))
    for tile in rng.sample(distractors, min(6, len(distractors))):
        t = tile.copy()
        t.thumbnail((rng.randint(200, 380),) * 2)
        scene.paste(t, (rng.randint(0, width - t.size[0]), rng.randint(0, height - t.size[1])))
    p = product.copy()
    p.thumbnail((int(width * rng.uniform(0.25, 0.35)),) * 2)
    scene.paste(p, (rng.randint(0, width - p.size[0]), rng.randint(0, height - p.size[1])))
    return scene


Edit = Callable[[Image.Image, random.Random], Image.Image]
EDITS: dict[str, Edit] = {
    "crop": crop,
    "colour": colour,
    "watermark_light": watermark_light,
    "watermark_heavy": watermark_heavy,
    "flip": flip,
    "rotation": rotation,
    "reshoot": reshoot,
}
TRANSFORMS = [*EDITS, "small_in_clutter"]


def edited(
    images: dict[str, Image.Image],
    name: str,
    transform: str,
    rng: random.Random,
    clutter: list[Image.Image] | None = None,
) -> Image.Image:
    """``images[name]`` after ``transform``; small_in_clutter needs ``clutter`` (photos that are not references)."""
    if transform == "small_in_clutter":
        if not clutter:
            raise ValueError("small_in_clutter needs clutter photos that are not references")
        return clutter_scene(images[name], clutter, rng)
    return EDITS[transform](images[name], rng)


def pairs(
    images: dict[str, Image.Image],
    transforms: list[str],
    seed: int = 0,
    clutter: list[Image.Image] | None = None,
) -> Iterator[tuple[str, str, str, Image.Image]]:
    """(transform, reference name, source name, candidate image) for every image and transform.

    The candidate is derived from ``source``; it is a *same* pair for reference == source and a *different*
    pair against every other reference.
    """
    rng = random.Random(seed)
    for transform in transforms:
        for name in images:
            yield transform, name, name, edited(images, name, transform, rng, clutter)


def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def to_jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()
