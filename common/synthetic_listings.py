"""A labelled listing set over seed 004's scenarios, generated from a seed: the detection benchmark's data
(scripts/bench_detection.py, docs/detection.md).

Each scenario is one way a listing reaches the pipeline — an exact stolen photo, a copy under heavy watermarks,
a counterfeiter's own shot, a tiny mark, a tiled pattern, a redrawn mark, a painterly render, a wordmark alone,
brand name + a 10 % price, a leetspeak name, a brand barcode on a plain box, a secondhand resale, an authorized
dealer, a used item at a used price; and the listings that must not be flagged: look-alikes without a mark (S9 in
the brand colour, S17), a competitor's mark on a similar product, another maker's accessory "compatible with" the
brand at an accessory's price, a dupe whose title says "like <brand>", unrelated photos. A scenario draws its brand, its parameters
(positions, sizes, angles, fonts, prices, sellers) and its image from one ``random.Random`` seeded by
(set seed, scenario, index), so a set is reproducible and adding a scenario does not change the others.

Images come from ``common.synthetic_brands`` (scikit-image photos, matplotlib fonts), marks and codes from
``common.vision.synthetic``'s EAN-13 renderer: no downloads.
"""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from common.embedding.synthetic import mirror_rotate_crop
from common.synthetic_brands import (
    BRANDS,
    BY_ID,
    COMPETITOR,
    FONTS,
    BrandSpec,
    draw_mark,
    face_inset,
    font,
    lookalike,
    marked_product,
    on_white,
    own_product,
    paste_mark,
    photo_lookalike,
    product_scene,
    reference_photos,
    shipped,
    warp_onto,
    write_kit,
)

# What a correct outcome is per label (seed 004 ch. 8): counterfeits reach a human (Tier 1 or 2), a secondhand
# resale goes to review (Tier 2), legit and unrelated listings are filtered (Tier 3 or 4).
COUNTERFEIT, REVIEW, LEGIT = "counterfeit", "review", "legit"
UNRELATED_PHOTOS = ("astronaut.png", "chelsea.png", "hubble_deep_field.jpg", "rocket.jpg", "horse.png",
                    "coins.png", "page.png", "retina.jpg", "ihc.png", "camera.png")  # fmt: skip
UNRELATED_TITLES = ("Poster print A2", "Cat calendar 2027", "Galaxy wall art", "Retro rocket model",
                    "Horse figurine", "Coin collection album", "Vintage book page", "Eye chart print",
                    "Microscope slide art", "Camera strap")  # fmt: skip


@dataclass
class Item:
    """One generated listing: its image and listing fields, and its label."""

    listing_id: str
    brand_id: str
    scenario: str
    label: str
    group: str  # counterfeit class name, "review", or the legit kind ("lookalike", "competitor", ...)
    image: Image.Image
    title: str
    price: float
    seller_id: str
    inventory: int
    quality: int = 88
    notes: dict[str, Any] = field(default_factory=dict)

    def listing(self, image_path: str) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "image": image_path,
            "title": self.title,
            "price": self.price,
            "currency": "USD",
            "seller_id": self.seller_id,
            "inventory": self.inventory,
            "marketplace": "bench-market",
        }


Maker = Callable[[BrandSpec, random.Random], tuple[Image.Image, dict[str, Any]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    group: str  # "counterfeit" | "review" | "lookalike" | "competitor" | "unrelated" | "authorized"
    seed004: str  # the seed's scenario(s) it stands for
    make: Maker
    what: str


# ---- helpers ----------------------------------------------------------------------------------------------


def _neutral_title(spec: BrandSpec, rng: random.Random) -> str:
    extra = rng.choice(["fast shipping", "best price", "new", "free returns", "top quality", "limited stock"])
    return f"{rng.choice(spec.product_words).capitalize()}, {extra}"


def _reference(spec: BrandSpec, rng: random.Random) -> Image.Image:
    photos = list(reference_photos(spec).values())
    return photos[0] if rng.random() < 0.75 else photos[1]


def _jpeg_roundtrip(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _hue_shift(img: Image.Image, rng: random.Random) -> Image.Image:
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + rng.randint(20, 60)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _tiled_text(img: Image.Image, rng: random.Random, alpha: int) -> Image.Image:
    """Diagonal text repeated over the whole photo (marketplace re-upload watermarks)."""
    w, h = img.size
    diag = int(math.hypot(w, h))
    layer = Image.new("RGBA", (diag, diag), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    text = rng.choice(["SAMPLE", "SHOP-X", "BEST PRICE", "outlet24", "DEALS4U"])
    size = max(18, w // rng.randint(10, 14))
    f = font(size)
    for y in range(0, diag, int(size * 2.2)):
        for x in range(-size * 4 + (y // 3) % (size * 3), diag, size * 7):
            d.text((x, y), text, font=f, fill=(255, 255, 255, alpha))
    layer = layer.rotate(rng.choice([-1, 1]) * rng.uniform(25, 40), resample=Image.Resampling.BICUBIC)
    left, top = (diag - w) // 2, (diag - h) // 2
    out = img.convert("RGBA")
    out.alpha_composite(layer.crop((left, top, left + w, top + h)))
    return out.convert("RGB")


# ---- counterfeit scenarios ---------------------------------------------------------------------------------


def exact_copy(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    img = _reference(spec, rng)
    scale = rng.uniform(0.8, 1.0)
    return img.resize((round(img.width * scale), round(img.height * scale))), {}


def modified_copy(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S2: crop to 75-90 %, recolour (hue or saturation), a light watermark."""
    img = _reference(spec, rng)
    w, h = img.size
    f = rng.uniform(0.75, 0.9)
    x, y = rng.randint(0, int(w * (1 - f))), rng.randint(0, int(h * (1 - f)))
    img = img.crop((x, y, x + int(w * f), y + int(h * f)))
    img = (
        _hue_shift(img, rng) if rng.random() < 0.5 else ImageEnhance.Color(img).enhance(rng.uniform(0.4, 1.7))
    )
    return _tiled_text(img, rng, alpha=70), {}


def heavy_watermark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S2/S5: dense diagonal text over all of it plus an opaque banner: together over half the photo."""
    img = _tiled_text(_reference(spec, rng), rng, alpha=rng.randint(140, 200))
    w, h = img.size
    d = ImageDraw.Draw(img)
    band = int(h * rng.uniform(0.28, 0.4))
    top = rng.randint(0, h - band)
    d.rectangle((0, top, w, top + band), fill=(rng.randint(150, 255), rng.randint(0, 60), rng.randint(0, 60)))
    d.text((w // 2, top + band // 2), rng.choice(["SALE -70%", "HOT DEAL", "FREE SHIPPING"]),
           font=font(max(20, band // 2)), fill=(255, 255, 255), anchor="mm")  # fmt: skip
    return img, {"banner_share": round(band / h, 2)}


def mirrored_rotated_cropped(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """The issue's miss: mirrored, rotated 8 degrees, cropped by 20 %."""
    img = _reference(spec, rng)
    angle = rng.choice([-8.0, 8.0])
    w, h = img.size
    x, y = rng.randint(0, int(w * 0.2)), rng.randint(0, int(h * 0.2))
    return mirror_rotate_crop(img, angle, (x, y, x + int(w * 0.8), y + int(h * 0.8))), {"angle": angle}


def self_shot(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S3: the counterfeiter's own photo of a fake that carries the mark."""
    return marked_product(spec, rng, mark=draw_mark(spec)).image, {}


def small_mark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S16-like: the mark only 30-60 px wide on the product."""
    size = rng.randint(30, 60)
    return marked_product(spec, rng, mark=draw_mark(spec), mark_size=size).image, {"mark_px": size}


def tiled_pattern(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S11: the product covered in the brand's mark as an all-over pattern."""
    scene = marked_product(spec, rng, mark=None)
    img = scene.image
    x0, y0, x1, y1 = scene.product_box
    step = rng.randint(40, 60)
    size = int(step * 0.8)
    mark = draw_mark(spec)
    alpha = rng.uniform(0.75, 0.95)
    for row, y in enumerate(range(y0 + size // 2, y1 - size // 2, step)):
        for x in range(x0 + size // 2 + (row % 2) * step // 2, x1 - size // 2, step):
            img = paste_mark(img, mark, (x, y), size, alpha=alpha)
    return img, {"tile_px": size}


def altered_mark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S4: the mark with an element missing, or its wordmark in another font."""
    if rng.random() < 0.5:
        kind, mark = "missing_" + rng.choice(["emblem", "band"]), None
        mark = draw_mark(spec, drop=kind.split("_")[1])
    else:
        kind = "font_" + rng.choice([f for f in FONTS if f != "sans"])
        mark = draw_mark(spec, face=kind.split("_")[1])
    return marked_product(spec, rng, mark=mark).image, {"alteration": kind}


def stylised(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S15: a painterly / cartoon render of a marked product (generated-looking imagery)."""
    img = np.asarray(marked_product(spec, rng, mark=draw_mark(spec)).image)
    style = rng.choice(["stylization", "cartoon", "oil"])
    if style == "stylization":
        out = cv2.stylization(img, sigma_s=rng.uniform(30, 60), sigma_r=rng.uniform(0.25, 0.45))
    elif style == "cartoon":
        smooth = img
        for _ in range(3):
            smooth = cv2.bilateralFilter(smooth, 9, 60, 60)
        levels = rng.choice([6, 8])
        smooth = (smooth // (256 // levels)) * (256 // levels) + (128 // levels)
        edges = cv2.adaptiveThreshold(cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 5), 255,
                                      cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)  # fmt: skip
        out = np.where(edges[..., None] == 0, 20, smooth).astype(np.uint8)
    else:
        pil = Image.fromarray(img).filter(ImageFilter.ModeFilter(5)).filter(ImageFilter.SMOOTH_MORE)
        out = np.asarray(ImageEnhance.Color(pil).enhance(1.4))
    return Image.fromarray(out), {"style": style}


def emboss(
    img: Image.Image,
    mark: Image.Image,
    center: tuple[int, int],
    size: int,
    depth: float,
    azimuth: float,
    elevation: float,
) -> Image.Image:
    """The mark pressed into the surface (seed 004: "they appear through light, shadow and texture rather than
    colour contrast"): its ink as a height map (raised for depth > 0, debossed for < 0), lit by one directional
    light and shaded as a matte surface, multiplying the product's own pixels, so no colour of the mark is
    left. Written independently of the mark detector's training renderer (``mark_synthesis._relief`` adds a
    fixed top-left Sobel shade): another light model, any light direction."""
    out = np.asarray(img.convert("RGB"), np.float32).copy()
    ink = 1.0 - np.asarray(on_white(mark.resize((size, size), Image.Resampling.LANCZOS)).convert("L"),
                           np.float32) / 255.0  # fmt: skip
    height = cv2.GaussianBlur(ink, (0, 0), 0.7 + size / 120) * depth * size / 40
    gx, gy = (
        cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8,
        cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8,
    )
    light = np.array([math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation),
                      math.sin(elevation)], np.float32)  # fmt: skip
    shade = (-gx * light[0] - gy * light[1] + light[2]) / np.sqrt(gx * gx + gy * gy + 1) / light[2]
    x0, y0 = center[0] - size // 2, center[1] - size // 2
    ys, xs = slice(max(y0, 0), min(y0 + size, out.shape[0])), slice(max(x0, 0), min(x0 + size, out.shape[1]))
    patch = shade[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
    out[ys, xs] *= np.clip(patch, 0.35, 1.8)[..., None]
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def embossed_mark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S3 with the mark embossed or debossed (leather goods, blind-embossed boxes): only light and shadow."""
    scene = marked_product(spec, rng, mark=None)
    depth = rng.uniform(0.6, 1.4) * rng.choice([1.0, -1.0])
    azimuth, elevation = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(25, 60))
    size = int(scene.mark_size * rng.uniform(0.9, 1.2))
    img = emboss(scene.image, draw_mark(spec), scene.mark_center, size, depth, azimuth, elevation)
    return img, {"relief": "emboss" if depth > 0 else "deboss", "mark_px": size}


def composite(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S6: the mark pasted onto an unrelated product photo."""
    name = rng.choice([p for p in UNRELATED_PHOTOS if p not in ("page.png",)])
    img = shipped(name).convert("RGB")
    img.thumbnail((720, 720))
    size = rng.randint(90, 150)
    c = (rng.randint(size, img.width - size), rng.randint(size, img.height - size))
    return paste_mark(img, draw_mark(spec), c, size, rng.uniform(-10, 10)), {"photo": name}


def _label_on(img: Image.Image, rng: random.Random, lines: list[tuple[str, int]]) -> Image.Image:
    """Text printed on a light label placed on the photo (packaging, hang tags)."""
    d = ImageDraw.Draw(img)
    boxes = [d.textbbox((0, 0), t, font=font(s)) for t, s in lines]
    lw = int(max(b[2] - b[0] for b in boxes)) + 50
    lh = int(sum(b[3] - b[1] for b in boxes)) + 30 * len(lines) + 20
    x = rng.randint(10, max(11, img.width - lw - 10))
    y = rng.randint(10, max(11, img.height - lh - 10))
    d.rectangle((x, y, x + lw, y + lh), fill=(rng.randint(235, 250),) * 3, outline=(40, 40, 40), width=2)
    cy = float(y + 20)
    for (text, size), b in zip(lines, boxes, strict=True):
        d.text((x + 25 - b[0], cy - b[1]), text, font=font(size), fill=(15, 15, 15))
        cy += b[3] - b[1] + 30
    return img


def _unmarked(spec: BrandSpec, rng: random.Random) -> Image.Image:
    """An unmarked product: a look-alike of the brand's (embedding may agree) or an unrelated own product."""
    return photo_lookalike(spec, rng).image if rng.random() < 0.5 else own_product(spec, rng, mark=None).image


def wordmark_alone(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S7: the exact wordmark printed on an unmarked product, no logo, neutral title."""
    return _label_on(_unmarked(spec, rng), rng, [(spec.name, rng.randint(44, 64))]), {}


def leetspeak(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S7: the name disguised as leetspeak ("V0LTA") on a label."""
    img = _unmarked(spec, rng)
    return _label_on(img, rng, [(spec.leet, rng.randint(44, 64)), ("ORIGINAL", 30)]), {"text": spec.leet}


def title_price(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """Seed 002: the brand named in the title at 10 % of its reference price, an unmarked photo."""
    title = (
        f"{spec.name} {rng.choice(spec.product_words)} original, {rng.choice(['new', 'sealed', 'genuine'])}"
    )
    price = round(spec.reference_price * rng.uniform(0.08, 0.12), 2)
    return _unmarked(spec, rng), {"title": title, "price": price}


def barcode_box(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S10: the brand's EAN-13 on a label of a plain box (no mark)."""
    from common.synthetic_brands import _box_scene
    from common.vision.synthetic import ean13_image

    grey = rng.randint(150, 210)
    img, front = _box_scene(rng, (grey, grey - 10, grey - 25), rng.choice(["grass.png", "gravel.png", "brick.png"]),
                            rng.uniform(0.0, 0.12))  # fmt: skip
    code = ean13_image(spec.ean13, module=3, height=110).convert("RGBA")
    label = Image.new("RGBA", (code.width + 40, code.height + 40), (255, 255, 255, 255))
    label.paste(code, (20, 20))
    # The label's width follows from the resolution a photo of a real label gives: 2-3 px per bar module
    # (95 modules; the symbol is rendered at 3 px per module). Below ~1.5 px per module the bars are not
    # resolved at all — no decoder (nor a person) reads them — so such a photo would test nothing.
    face_px = float(np.linalg.norm(front[1] - front[0]))
    fw = min(0.95, label.width * rng.uniform(2.0, 3.0) / 3 / face_px)
    quad = face_inset(front, rng.uniform(0.02, max(0.03, 0.98 - fw)), rng.uniform(0.3, 0.5), fw, 0.42)
    return warp_onto(img, label, quad), {"code": spec.ean13}


def secondhand(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S18: a private seller's used genuine item (one unit, says so)."""
    title = (
        f"Used {spec.name} {rng.choice(spec.product_words)}, {rng.choice(['9/10 condition', 'pre-owned'])}"
    )
    img = product_scene(spec, "other", rng, mark=draw_mark(spec)).image
    return img, {"title": title, "inventory": 1, "seller_id": f"private-{rng.randint(100, 999)}"}


def authorized(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S19: an authorized dealer selling with the brand's own photo."""
    return _reference(spec, rng), {
        "title": f"{spec.name} {rng.choice(spec.product_words)} official",
        "price": spec.reference_price,
        "seller_id": rng.choice(spec.sellers),
    }


# ---- legit / negatives -------------------------------------------------------------------------------------


def lookalike_s17(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    return lookalike(spec, rng).image, {}


def lookalike_s9(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    return lookalike(spec, rng, colour=spec.color).image, {}


def competitor_mark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S17 with a mark: a competitor's similar product carrying its own mark (ZENO, or another benchmark brand)."""
    other = rng.choice([COMPETITOR, *(b for b in BRANDS if b.brand_id != spec.brand_id)])
    scene = lookalike(spec, rng)
    cx, cy = scene.mark_center
    size = max(56, scene.mark_size)
    return paste_mark(scene.image, draw_mark(other), (cx, cy), size, rng.uniform(-6, 6)), {
        "mark": other.brand_id
    }


def stolen_photo_other_mark(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """The brand's own photography, mirrored, its mark replaced by another brand's: a stolen photo (seed 004
    category 2, S2) even though the mark is not the brand's. This is the earlier attempt's "ZENO on a mirrored
    brand bike" false positive: it was labelled a competitor's look-alike, but its pixels are the brand's."""
    other = rng.choice([COMPETITOR, *(b for b in BRANDS if b.brand_id != spec.brand_id)])
    scene = photo_lookalike(spec, rng, stolen=True)
    img = paste_mark(scene.image, draw_mark(other), scene.mark_center, scene.mark_size, rng.uniform(-6, 6))
    return img, {"mark": other.brand_id}


# Legit listings that name the brand, as real marketplaces have them: the counter-examples that say what naming
# the brand cheaply, or printing its name, costs in false positives (docs/detection.md, "Listings that name the
# brand"). Each names the brand as a reference, never as the product's maker.
ACCESSORIES = {
    "bike": ("phone mount", "tank bag", "dust cover", "brake lever set", "mirror pair", "seat cushion"),
    "cup": ("saucer set", "cup rack", "descaling tablets", "coaster set", "travel case", "cup warmer"),
    "box": ("organiser insert", "carry strap", "replacement lid", "dust bag", "label pack", "foam liner"),
}
REFERENCE_PHRASES = ("compatible with {b}", "for {b}", "fits {b}", "made for {b}", "suits {b}",
                     "for use with {b}", "{b}-compatible", "replacement for {b}")  # fmt: skip
COMPARISONS = ("like {b}", "similar to {b}", "alternative to {b}", "{b} style", "inspired by {b}",
               "as good as {b}")  # fmt: skip


def accessory_compatible(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """Another maker's accessory for the brand's product: the brand in the title ("dust cover compatible with
    VOLTA roadster bikes"), half the time also on its label ("FITS VOLTA"), at an accessory's price (3-20 % of
    the brand's reference price: a price anomaly), photographed as a product of the same kind (a box, a cup
    with saucer: the embedding may agree) or as an unrelated box."""
    thing = rng.choice(ACCESSORIES[spec.product])
    template = rng.choice(REFERENCE_PHRASES)
    phrase = template.format(b=spec.name)
    title = f"{thing.capitalize()} {phrase} {rng.choice(spec.product_words)}"
    img = lookalike(spec, rng).image if rng.random() < 0.5 else own_product(spec, rng, mark=None).image
    labelled = rng.random() < 0.5
    if labelled:  # the phrase printed as on packaging: the words around the name on lines of their own
        before, _, after = (part.strip(" -").upper() for part in template.partition("{b}"))
        lines = [(t, rng.randint(26, 34)) for t in (before,) if t]
        lines += [(spec.name, rng.randint(40, 56))] + [(t, rng.randint(26, 34)) for t in (after,) if t]
        img = _label_on(img, rng, lines)
    price = round(spec.reference_price * rng.uniform(0.03, 0.2), 2)
    return img, {"title": title, "price": price, "label_text": labelled, "phrase": phrase}


def comparison(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """A competitor's look-alike product (S17, no mark) whose title compares it with the brand ("espresso cup,
    like KAFFEO, half the price"), priced like a dupe (20-70 % of the reference: often a price anomaly)."""
    phrase = rng.choice(COMPARISONS).format(b=spec.name)
    title = f"{rng.choice(spec.product_words).capitalize()}, {phrase}, {rng.choice(['half the price', 'new', 'great value'])}"
    img = lookalike(spec, rng, colour=spec.color if rng.random() < 0.5 else None).image
    return img, {
        "title": title,
        "price": round(spec.reference_price * rng.uniform(0.2, 0.7), 2),
        "phrase": phrase,
    }


def secondhand_cheap(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """S18 at a used-goods price: a private seller's genuine item, photographed by its owner with or without the
    mark in view, at 25-50 % of the reference (brand named + a price anomaly + a photo that looks like the
    product, the signals of a title_price counterfeit): expected Tier 2, review, never Tier 1."""
    title = f"Used {spec.name} {rng.choice(spec.product_words)}, {rng.choice(['quick sale', 'pre-owned', 'second hand'])}"
    mark = draw_mark(spec) if rng.random() < 0.5 else None
    img = product_scene(spec, "other", rng, mark=mark).image
    return img, {"title": title, "price": round(spec.reference_price * rng.uniform(0.25, 0.5), 2), "inventory": 1,
                 "seller_id": f"private-{rng.randint(100, 999)}", "mark_in_view": mark is not None}  # fmt: skip


def unrelated(spec: BrandSpec, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    i = rng.randrange(len(UNRELATED_PHOTOS))
    img = shipped(UNRELATED_PHOTOS[i]).convert("RGB")
    img.thumbnail((rng.randint(500, 720),) * 2)
    return img, {"title": UNRELATED_TITLES[i % len(UNRELATED_TITLES)], "photo": UNRELATED_PHOTOS[i]}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("exact_copy", COUNTERFEIT, "counterfeit", "S1", exact_copy, "the brand's photo, re-encoded"),
    Scenario("modified_copy", COUNTERFEIT, "counterfeit", "S2", modified_copy, "cropped, recoloured, watermarked"),
    Scenario("heavy_watermark", COUNTERFEIT, "counterfeit", "S2/S5", heavy_watermark,
             "tiled diagonal text + opaque banner, > 50 % covered"),
    Scenario("mirror_rot8_crop20", COUNTERFEIT, "counterfeit", "S2", mirrored_rotated_cropped,
             "mirrored, rotated 8 degrees, cropped 20 %"),
    Scenario("self_shot", COUNTERFEIT, "counterfeit", "S3", self_shot, "own photo of a fake with the mark"),
    Scenario("small_mark", COUNTERFEIT, "counterfeit", "S3/S16", small_mark, "mark 30-60 px wide"),
    Scenario("tiled_pattern", COUNTERFEIT, "counterfeit", "S11", tiled_pattern, "mark as an all-over pattern"),
    Scenario("altered_mark", COUNTERFEIT, "counterfeit", "S4", altered_mark,
             "an element missing, or the wordmark in another font"),
    Scenario("stylised", COUNTERFEIT, "counterfeit", "S15", stylised, "painterly / cartoon render"),
    Scenario("embossed_mark", COUNTERFEIT, "counterfeit", "S3", embossed_mark,
             "mark embossed / debossed: light and shadow only"),
    Scenario("composite", COUNTERFEIT, "counterfeit", "S6", composite, "mark pasted on an unrelated photo"),
    Scenario("wordmark_alone", COUNTERFEIT, "counterfeit", "S7", wordmark_alone, "exact wordmark on a label"),
    Scenario("leetspeak", COUNTERFEIT, "counterfeit", "S7", leetspeak, "leetspeak name on a label"),
    Scenario("title_price", COUNTERFEIT, "counterfeit", "seed 002", title_price,
             "brand in the title, price at 10 % of reference"),
    Scenario("stolen_photo_other_mark", COUNTERFEIT, "counterfeit", "S2", stolen_photo_other_mark,
             "the brand's photo mirrored, another brand's mark on it"),
    Scenario("barcode_box", COUNTERFEIT, "counterfeit", "S10", barcode_box, "brand EAN-13 on a plain box"),
    Scenario("secondhand", REVIEW, "review", "S18", secondhand, "used, one unit: expected Tier 2"),
    Scenario("secondhand_cheap", REVIEW, "review", "S18", secondhand_cheap,
             "used, one unit, 25-50 % of the price: expected Tier 2"),
    Scenario("authorized", LEGIT, "authorized", "S19", authorized, "authorized dealer: expected Tier 4"),
    Scenario("lookalike_s17", LEGIT, "lookalike", "S17", lookalike_s17, "similar product, no mark"),
    Scenario("lookalike_s9", LEGIT, "lookalike", "S9", lookalike_s9, "similar product in the brand colour"),
    Scenario("competitor_mark", LEGIT, "competitor", "S17", competitor_mark, "similar product, another mark"),
    Scenario("accessory_compatible", LEGIT, "accessory", "-", accessory_compatible,
             "another maker's accessory 'compatible with' the brand, cheap"),
    Scenario("comparison", LEGIT, "comparison", "S17", comparison, "look-alike whose title says 'like <brand>'"),
    Scenario("unrelated", LEGIT, "unrelated", "-", unrelated, "unrelated photo"),
)  # fmt: skip
BY_NAME = {s.name: s for s in SCENARIOS}


def generate(
    seed: int, n: int, scenarios: list[str] | None = None, brands: list[str] | None = None
) -> list[Item]:
    """``n`` items per scenario, the brands in turn from a seeded offset, everything drawn from ``seed``."""
    items = []
    for sc in SCENARIOS:
        if scenarios is not None and sc.name not in scenarios:
            continue
        specs = [b for b in BRANDS if brands is None or b.brand_id in brands]
        offset = random.Random(f"{seed}:{sc.name}").randrange(len(specs))
        for i in range(n):
            rng = random.Random(f"{seed}:{sc.name}:{i}")
            spec = specs[(i + offset) % len(specs)]
            image, extra = sc.make(spec, rng)
            ratio = rng.uniform(0.25, 0.9) if sc.label == COUNTERFEIT else rng.uniform(0.45, 1.1)
            items.append(
                Item(
                    listing_id=f"{sc.name}-{i:03d}",
                    brand_id=spec.brand_id,
                    scenario=sc.name,
                    label=sc.label,
                    group=sc.name if sc.label == COUNTERFEIT else sc.group,
                    image=image,
                    title=str(extra.pop("title", _neutral_title(spec, rng))),
                    price=float(extra.pop("price", round(spec.reference_price * ratio, 2))),
                    seller_id=str(extra.pop("seller_id", f"seller-{rng.randint(1000, 9999)}")),
                    inventory=int(extra.pop("inventory", rng.randint(2, 300))),
                    quality=rng.randint(80, 92),
                    notes=extra,
                )
            )
    return items


def write_set(items: list[Item], out: Path) -> dict[str, Path]:
    """Kits, images and per-brand listings + labels under ``out`` (what `brand add` and `scan` read)."""
    kits = {spec.brand_id: write_kit(spec, out / "kits") for spec in BRANDS}
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    with open(out / "labels.jsonl", "w") as labels:
        for item in items:
            path = images / f"{item.brand_id}-{item.listing_id}.jpg"
            item.image.convert("RGB").save(path, "JPEG", quality=item.quality)
            if item.brand_id not in handles:
                handles[item.brand_id] = open(out / f"listings-{item.brand_id}.jsonl", "w")  # noqa: SIM115
            handles[item.brand_id].write(json.dumps(item.listing(str(path.resolve()))) + "\n")
            labels.write(json.dumps({"listing_id": item.listing_id, "brand_id": item.brand_id,
                                     "label": item.label, "scenario": item.scenario, "group": item.group,
                                     "notes": item.notes}) + "\n")  # fmt: skip
    for handle in handles.values():
        handle.close()
    return {"labels": out / "labels.jsonl", **{f"kit:{k}": v for k, v in kits.items()}}


__all__ = ["BY_ID", "BY_NAME", "SCENARIOS", "Item", "Scenario", "generate", "write_set"]
