"""Fictional brands for the detection benchmark (scripts/bench_detection.py): their marks, their products as
photographed scenes, and their brand kits — drawn from images that installed packages ship, nothing downloaded.

Three registered brands with different products, so a benchmark cannot be won by tuning to one photo:
VOLTA (motorbikes: scikit-image's stereo motorcycle pair, a real re-shoot), KAFFEO (espresso cups: the coffee
photo) and NORDA (boxed goods: a box rendered in perspective on varied scikit-image textures). A fourth mark,
ZENO, is registered by nobody: it is the competitor's mark of the competitor-mark negatives. Marks share a
common layout (an emblem over a white band with the wordmark) on purpose: real marks share shapes, and a
detector must not take "a band with a word" for a brand.

Every draw takes a ``random.Random`` so a set is reproducible from its seed.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

MARK_SIZE = 240
SCENE_SIZE = (720, 480)  # rendered scenes (the box); photo scenes keep their shipped size


@dataclass(frozen=True)
class BrandSpec:
    brand_id: str
    name: str  # the wordmark, as registered
    color: tuple[int, int, int]  # the brand colour (mark and product)
    product: str  # "bike" | "cup" | "box"
    category: str
    reference_price: float
    barcode: str  # 12 digits; the EAN-13 check digit is added
    product_words: tuple[str, ...]  # neutral listing words for the product ("retro motorbike")
    leet: str  # the leetspeak spelling counterfeiters use
    registered: bool = True

    @property
    def sellers(self) -> list[str]:
        return [f"{self.brand_id}-official", f"{self.brand_id}-store-eu"]

    @property
    def ean13(self) -> str:
        from common.vision.synthetic import ean13_check_digit

        return self.barcode + ean13_check_digit(self.barcode)


BRANDS: tuple[BrandSpec, ...] = (
    BrandSpec("volta", "VOLTA", (215, 20, 26), "bike", "motorbikes", 4200.0, "400638133393",
              ("retro motorbike", "roadster bike", "cafe racer motorcycle"), "V0LTA"),
    BrandSpec("kaffeo", "KAFFEO", (120, 60, 30), "cup", "tableware", 38.0, "590123412345",
              ("espresso cup", "ceramic coffee cup", "cup and saucer"), "KAFF30"),
    BrandSpec("norda", "NORDA", (20, 70, 170), "box", "outdoor gear", 160.0, "761234567890",
              ("boxed hiking gear", "outdoor kit box", "gift box set"), "N0RDA"),
)  # fmt: skip
COMPETITOR = BrandSpec(
    "zeno", "ZENO", (30, 140, 60), "bike", "motorbikes", 3900.0, "871234567891",
    ("motorbike",), "Z3NO", registered=False,
)  # fmt: skip
BY_ID = {b.brand_id: b for b in (*BRANDS, COMPETITOR)}


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package {module!r} is needed for its bundled images and fonts")
    return Path(spec.origin).parent


@functools.cache
def _shipped_array(name: str) -> np.ndarray:
    with Image.open(package_dir("skimage") / "data" / name) as img:
        return np.asarray(img.convert("RGB")).copy()


def shipped(name: str) -> Image.Image:
    """A photo from scikit-image's data folder (a fresh copy: callers may draw on it)."""
    return Image.fromarray(_shipped_array(name))


FONTS = {
    "sans": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono-Bold.ttf",
    "stix": "STIXGeneralBol.ttf",
    "italic": "DejaVuSerif-BoldItalic.ttf",
}


@functools.cache
def font(size: int, face: str = "sans") -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(package_dir("matplotlib") / "mpl-data" / "fonts" / "ttf" / FONTS[face]), size
    )


# ---- marks -------------------------------------------------------------------------------------------------


def draw_mark(spec: BrandSpec, *, drop: str | None = None, face: str = "sans") -> Image.Image:
    """The brand's mark on transparency. ``drop`` removes one element ("emblem" or "band": a mark with an element
    missing); ``face`` redraws the wordmark in another font (a wordmark in another font)."""
    s = MARK_SIZE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    ink, white, col = (15, 15, 15, 255), (255, 255, 255, 255), spec.color + (255,)
    if spec.brand_id == "volta":
        d.ellipse((4, 4, s - 4, s - 4), fill=col, outline=ink, width=8)
        if drop != "emblem":
            d.polygon(
                [(120, 18), (74, 112), (108, 112), (88, 150), (162, 88), (126, 88), (150, 18)], fill=ink
            )
    elif spec.brand_id == "kaffeo":
        d.rounded_rectangle((6, 6, s - 6, s - 6), radius=36, fill=col, outline=ink, width=6)
        if drop != "emblem":
            d.ellipse((78, 22, 162, 140), fill=(245, 230, 200, 255), outline=ink, width=5)
            d.arc((96, 30, 146, 134), 100, 260, fill=ink, width=7)
            d.rectangle((40, 40, 60, 60), fill=white)
            d.rectangle((180, 96, 200, 116), fill=white)
    elif spec.brand_id == "norda":
        d.polygon([(120, 6), (234, 230), (6, 230)], fill=col, outline=ink)
        if drop != "emblem":
            d.polygon([(120, 22), (96, 70), (112, 62), (128, 74), (144, 62)], fill=white)
            d.polygon([(60, 140), (86, 100), (112, 140)], fill=(250, 250, 250, 255), outline=ink)
            d.line((40, 150, 200, 150), fill=ink, width=6)
    else:  # zeno
        hexagon = [(120, 4), (226, 62), (226, 178), (120, 236), (14, 178), (14, 62)]
        d.polygon(hexagon, fill=col, outline=ink)
        if drop != "emblem":
            d.polygon([(70, 30), (170, 30), (170, 52), (104, 124), (170, 124), (170, 146), (70, 146),
                       (70, 124), (136, 52), (70, 52)], fill=white)  # fmt: skip
    if drop != "band":
        d.rectangle((24, 160, 216, 210), fill=white, outline=ink, width=4)
        size = 40 if len(spec.name) <= 5 else 34
        d.text((120, 185), spec.name, font=font(size, face), fill=ink, anchor="mm")
    return img


def on_white(mark: Image.Image) -> Image.Image:
    flat = Image.new("RGBA", mark.size, (255, 255, 255, 255))
    flat.alpha_composite(mark)
    return flat.convert("RGB")


def paste_mark(
    base: Image.Image,
    mark: Image.Image,
    center: tuple[int, int],
    size: int,
    angle: float = 0.0,
    alpha: float = 1.0,
) -> Image.Image:
    out = base.convert("RGB").copy()
    m = mark.resize((size, size), Image.Resampling.LANCZOS)
    if angle:
        m = m.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    if alpha < 1.0:
        m.putalpha(m.getchannel("A").point(lambda a: int(a * alpha)))
    out.paste(m, (center[0] - m.width // 2, center[1] - m.height // 2), m)
    return out


# ---- products and scenes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """A product photo and where its mark sits (centre, size in px) and the product's box (tiled patterns)."""

    image: Image.Image
    mark_center: tuple[int, int]
    mark_size: int
    product_box: tuple[int, int, int, int]


def relight(img: Image.Image, warm: float, brightness: float) -> Image.Image:
    arr = np.asarray(img.convert("RGB")).astype(np.float32)
    arr[..., 0] *= 1 + warm
    arr[..., 2] *= 1 - warm
    return ImageEnhance.Brightness(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))).enhance(brightness)


def perspective(img: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    from common.embedding.synthetic import _perspective_coeffs

    w, h = img.size

    def jitter(x: float, y: float) -> tuple[float, float]:
        return x + rng.uniform(-strength, strength) * w, y + rng.uniform(-strength, strength) * h

    src = [jitter(0, 0), jitter(w, 0), jitter(w, h), jitter(0, h)]
    coeffs = _perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], src)
    return img.transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=(90,) * 3
    )


BOX_TEXTURES = ("brick.png", "grass.png", "gravel.png", "camera.png", "moon.png")


def _box_scene(
    rng: random.Random, face_colour: tuple[int, int, int], texture: str, tilt: float
) -> tuple[Image.Image, np.ndarray]:
    """A closed box in perspective on a photographed texture: (image, quad of the front face)."""
    w, h = SCENE_SIZE
    bg = shipped(texture).resize((w, h)).filter(ImageFilter.GaussianBlur(1.5))
    bg = ImageEnhance.Brightness(bg).enhance(rng.uniform(0.7, 1.0))
    cx, cy = w // 2 + rng.randint(-40, 40), h // 2 + rng.randint(0, 30)
    fw, fh = rng.randint(250, 290), rng.randint(190, 220)
    depth = int(fw * (0.28 + tilt))
    x0, y0 = cx - fw // 2 - depth // 3, cy - fh // 2 + depth // 4
    front = np.array(
        [[x0, y0], [x0 + fw, y0 + int(fh * tilt * 0.3)], [x0 + fw, y0 + fh], [x0, y0 + fh]], float
    )
    top = [tuple(front[0]), tuple(front[1]), (front[1][0] + depth, front[1][1] - depth * 0.5),
           (front[0][0] + depth, front[0][1] - depth * 0.5)]  # fmt: skip
    side = [tuple(front[1]), (front[1][0] + depth, front[1][1] - depth * 0.5),
            (front[2][0] + depth, front[2][1] - depth * 0.5), tuple(front[2])]  # fmt: skip
    d = ImageDraw.Draw(bg)
    shade = [tuple(int(c * f) for c in face_colour) for f in (1.0, 1.25, 0.7)]
    d.polygon([tuple(p) for p in front], fill=tuple(min(255, c) for c in shade[0]), outline=(20, 20, 20))
    d.polygon(top, fill=tuple(min(255, c) for c in shade[1]), outline=(20, 20, 20))
    d.polygon(side, fill=tuple(min(255, c) for c in shade[2]), outline=(20, 20, 20))
    return bg, front


def warp_onto(img: Image.Image, art: Image.Image, quad: np.ndarray) -> Image.Image:
    """``art`` (RGBA) perspective-warped onto ``quad`` of ``img``, its transparency kept."""
    src = np.array([[0, 0], [art.width, 0], [art.width, art.height], [0, art.height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, np.asarray(quad, dtype=np.float32))
    rgba = np.asarray(art.convert("RGBA"))
    warped = cv2.warpPerspective(rgba, m, img.size, flags=cv2.INTER_LINEAR)
    alpha = warped[..., 3:4].astype(np.float32) / 255.0
    base = np.asarray(img.convert("RGB")).astype(np.float32)
    return Image.fromarray((base * (1 - alpha) + warped[..., :3] * alpha).astype(np.uint8))


def face_inset(front: np.ndarray, fx: float, fy: float, fw: float, fh: float) -> np.ndarray:
    """The sub-quad of a face at fractions (fx, fy) of its width/height, fw x fh of it (bilinear)."""

    def at(u: float, v: float) -> np.ndarray:
        top = front[0] + (front[1] - front[0]) * u
        bottom = front[3] + (front[2] - front[3]) * u
        return top + (bottom - top) * v

    return np.array([at(fx, fy), at(fx + fw, fy), at(fx + fw, fy + fh), at(fx, fy + fh)])


def product_scene(
    spec: BrandSpec,
    view: str,
    rng: random.Random,
    *,
    mark: Image.Image | None,
    mark_size: int | None = None,
    colour: tuple[int, int, int] | None = None,
) -> Scene:
    """The brand's product photographed: ``view`` "reference" (the brand's own shot) or "other" (a counterfeiter's
    own shot: another angle, light, perspective). ``mark`` None leaves the product unmarked (a look-alike)."""
    if spec.product == "bike":
        if view == "reference":
            img, center, size = shipped("motorcycle_left.png"), (330, 215), mark_size or 110
        else:
            img, center, size = shipped("motorcycle_right.png"), (300, 215), mark_size or rng.randint(90, 110)
        box = (140, 90, 620, 420)
    elif spec.product == "cup":
        img, center, size = shipped("coffee.png"), (300, 238), mark_size or 70
        box = (170, 20, 420, 290)
        if view == "other":
            size = mark_size or rng.randint(60, 74)
    else:
        texture = BOX_TEXTURES[0] if view == "reference" else rng.choice(BOX_TEXTURES[1:])
        tilt = 0.0 if view == "reference" else rng.uniform(0.05, 0.2)
        # The brand's boxes are pale with the mark in full colour; a look-alike in the brand colour (S9) is not.
        r, g, b = (int(c * 0.25 + 255 * 0.75) for c in spec.color)
        face = colour or (r, g, b)
        local = random.Random(7) if view == "reference" else rng
        img, front = _box_scene(local, face, texture, tilt)
        xs, ys = front[:, 0], front[:, 1]
        box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        size = mark_size or int((box[3] - box[1]) * 0.7)
        center = (int(xs.mean()), int(ys.mean()))
        if mark is not None:
            quad = face_inset(front, 0.5 - size / (2 * (xs.max() - xs.min())), 0.15, size / (xs.max() - xs.min()),
                              0.7)  # fmt: skip
            img = warp_onto(img, mark, quad)
        return Scene(_finish(img, view, rng), center, size, box)
    if colour is not None:
        img = tint(img, colour, box)
    if mark is not None:
        angle = 0.0 if view == "reference" else rng.uniform(-6, 6)
        img = paste_mark(img, mark, center, size, angle)
    return Scene(_finish(img, view, rng), center, size, box)


def own_product(
    spec: BrandSpec, rng: random.Random, *, mark: Image.Image | None, mark_size: int | None = None
) -> Scene:
    """A counterfeiter's own product that shares no pixels with the brand's photos: a box of a random colour,
    angle and backdrop with the mark printed on its front (merchandise fakes, seed 004 S3/S6)."""
    colour = (rng.randint(40, 230), rng.randint(40, 230), rng.randint(40, 230))
    img, front = _box_scene(rng, colour, rng.choice(BOX_TEXTURES), rng.uniform(0.0, 0.2))
    xs, ys = front[:, 0], front[:, 1]
    fw, fh = float(xs.max() - xs.min()), float(ys.max() - ys.min())
    size = mark_size or int(fh * rng.uniform(0.45, 0.7))
    center = (int(xs.mean()), int(ys.mean()))
    if mark is not None:
        quad = face_inset(front, 0.5 - size / (2 * fw), 0.5 - size / (2 * fh), size / fw, size / fh)
        img = warp_onto(img, mark, quad)
    return Scene(
        _finish(img, "other", rng), center, size, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    )


def marked_product(
    spec: BrandSpec, rng: random.Random, *, mark: Image.Image | None, mark_size: int | None = None
) -> Scene:
    """Half the time the brand's product re-shot (another view: copy verification may see the scene), half the
    time the counterfeiter's own product (only the mark is the brand's)."""
    if rng.random() < 0.5:
        return own_product(spec, rng, mark=mark, mark_size=mark_size)
    return product_scene(spec, "other", rng, mark=mark, mark_size=mark_size)


def _finish(img: Image.Image, view: str, rng: random.Random) -> Image.Image:
    if view == "reference":
        return img
    img = perspective(img, rng, 0.04)
    return relight(img, rng.uniform(-0.08, 0.1), rng.uniform(0.85, 1.1))


def tint(img: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """Recolour the saturated parts of ``box`` towards ``colour`` (S9: a product in the brand's colour)."""
    arr = np.asarray(img.convert("RGB")).copy()
    x0, y0, x1, y1 = box
    region = arr[y0:y1, x0:x1].astype(np.float32)
    hsv = cv2.cvtColor(region.astype(np.uint8), cv2.COLOR_RGB2HSV)
    target = cv2.cvtColor(np.array([[colour]], dtype=np.uint8), cv2.COLOR_RGB2HSV)[0, 0]
    sat = hsv[..., 1] > 70
    hsv[..., 0] = np.where(sat, target[0], hsv[..., 0])
    hsv[..., 1] = np.where(sat, np.maximum(hsv[..., 1], target[1]), hsv[..., 1])
    arr[y0:y1, x0:x1] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return Image.fromarray(arr)


def photo_lookalike(spec: BrandSpec, rng: random.Random, *, stolen: bool = False) -> Scene:
    """The brand's own product scene re-shot, mirrored and blurred, without its mark. Derived from the brand's
    photography (the stereo twin, or the same photo), so it is *not* an independent look-alike: a copy
    verifier that tries the mirror image rightly sees the brand's photo in it. Used only under counterfeit
    labels (a stolen photo with the mark removed or replaced).

    ``stolen``: the brand's photograph itself, also for the boxed brand, whose "other" view is a box rendered
    afresh on another backdrop — a look-alike sharing no pixels with the kit, not a stolen photo
    (docs/detection.md: stolen_photo_other_mark)."""
    if stolen and spec.product == "box":
        scene = product_scene(spec, "reference", rng, mark=None)
        img = ImageOps.mirror(scene.image).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.4)))
        return Scene(
            img, (img.width - scene.mark_center[0], scene.mark_center[1]), scene.mark_size, scene.product_box
        )
    scene = product_scene(spec, "other", rng, mark=None)
    img = scene.image
    if spec.product != "box":
        img = ImageOps.mirror(img).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.4)))
    return Scene(
        img, (img.width - scene.mark_center[0], scene.mark_center[1]), scene.mark_size, scene.product_box
    )


def _cup_scene(rng: random.Random, colour: tuple[int, int, int]) -> Scene:
    """An espresso cup on its saucer, drawn from above at an angle on a photographed texture: a competitor's
    cup that shares no pixels with the brand's coffee photo."""
    w, h = 600, 400
    bg = shipped(rng.choice(BOX_TEXTURES)).resize((w, h)).filter(ImageFilter.GaussianBlur(2))
    bg = relight(bg, rng.uniform(0.05, 0.2), rng.uniform(0.6, 0.9))
    d = ImageDraw.Draw(bg)
    cx, cy = w // 2 + rng.randint(-40, 40), h // 2 + rng.randint(-10, 20)
    dark = tuple(int(c * 0.6) for c in colour)
    d.ellipse((cx - 200, cy - 80, cx + 200, cy + 150), fill=dark, outline=(30, 20, 15), width=3)  # saucer
    d.ellipse((cx - 170, cy - 60, cx + 170, cy + 125), fill=colour)
    d.rectangle((cx - 120, cy - 110, cx + 120, cy + 40), fill=colour)  # cup body
    d.ellipse((cx - 120, cy, cx + 120, cy + 80), fill=colour)
    d.ellipse((cx - 170, cy - 30, cx - 100, cy + 50), outline=colour, width=18)  # handle
    d.ellipse((cx - 125, cy - 175, cx + 125, cy - 55), fill=(245, 242, 235), outline=(60, 40, 30), width=3)
    d.ellipse((cx - 100, cy - 160, cx + 100, cy - 70), fill=(150, 95, 50))  # crema
    d.ellipse((cx - 60, cy - 140, cx + 40, cy - 95), fill=(190, 130, 75))
    scene = bg.filter(ImageFilter.GaussianBlur(0.8))
    return Scene(_finish(scene, "other", rng), (cx, cy - 20), 64, (cx - 200, cy - 175, cx + 200, cy + 150))


def lookalike(spec: BrandSpec, rng: random.Random, *, colour: tuple[int, int, int] | None = None) -> Scene:
    """A competitor's product of the same kind without any mark (S17), optionally in the brand's colour (S9),
    sharing no pixels with the brand's photography: a freshly rendered box or cup; for the motorbike brand,
    whose only photos are the brand's own stereo pair, a competitor's boxed product (docs/detection.md)."""
    if spec.product == "box":
        return product_scene(spec, "other", rng, mark=None, colour=colour)
    if spec.product == "cup":
        return _cup_scene(rng, colour or (rng.randint(90, 230), rng.randint(30, 200), rng.randint(20, 180)))
    if colour is None:
        return own_product(spec, rng, mark=None)
    img, front = _box_scene(rng, colour, rng.choice(BOX_TEXTURES), rng.uniform(0.0, 0.2))
    xs, ys = front[:, 0], front[:, 1]
    box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    return Scene(_finish(img, "other", rng), (int(xs.mean()), int(ys.mean())), 80, box)


# ---- kits --------------------------------------------------------------------------------------------------


def brand_json(spec: BrandSpec) -> dict[str, object]:
    return {
        "brand": spec.brand_id,
        "display_name": spec.name,
        "trademarks": [spec.name],
        "colors": ["#{:02X}{:02X}{:02X}".format(*spec.color)],
        "authorized_sellers": spec.sellers,
        "barcodes": [spec.ean13],
        "reference_price": spec.reference_price,
        "currency": "USD",
        "category": spec.category,
    }


def reference_photos(spec: BrandSpec) -> dict[str, Image.Image]:
    """The brand's own photography (deterministic: the same kit for every seed)."""
    rng = random.Random(spec.brand_id)
    scene = product_scene(spec, "reference", rng, mark=draw_mark(spec))
    w, h = scene.image.size
    x0, y0, x1, y1 = scene.product_box
    cx, cy = scene.mark_center
    half = max(scene.mark_size * 2, min(w, h) // 3)
    detail = scene.image.crop((max(0, cx - half), max(0, cy - half), min(w, cx + half), min(h, cy + half)))
    return {
        f"{spec.brand_id}-product.jpg": scene.image,
        f"{spec.brand_id}-detail.jpg": detail.resize((600, round(600 * detail.height / detail.width))),
    }


def write_kit(spec: BrandSpec, out: Path) -> Path:
    """``out/<brand>/`` as `counterfeit brand add` reads it: brand.json, references/, logos/."""
    kit = out / spec.brand_id
    (kit / "references").mkdir(parents=True, exist_ok=True)
    (kit / "logos").mkdir(parents=True, exist_ok=True)
    (kit / "brand.json").write_text(json.dumps(brand_json(spec), indent=2) + "\n")
    draw_mark(spec).save(kit / "logos" / f"{spec.brand_id}-mark.png")
    for name, img in reference_photos(spec).items():
        img.convert("RGB").save(kit / "references" / name, "JPEG", quality=95)
    return kit
