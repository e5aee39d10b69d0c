#!/usr/bin/env python3
"""Generate the demo brand kit and demo candidates from images that installed packages ship.

No downloads: photos come from scikit-image's data folder (motorcycle stereo pair, coffee, astronaut, Hubble,
cat, textures) and fonts from matplotlib. The brand "acme" (ACME Motors) sells a motorbike whose tank carries
the ACME mark; candidates cover seed-004 scenarios S1, S2 (also mirrored), S3, S6, S7, S18 (and its inventory void),
S19, irrelevant images and one corrupt file.

Usage: python scripts/make_demo.py [OUT_DIR]   (default: $COUNTERFEIT_HOME/demo or .counterfeit/demo)
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

BRAND = {
    "brand": "acme",
    "display_name": "ACME",
    "trademarks": ["ACME", "Acme Roadster"],
    "colors": ["#D7141A"],
    "authorized_sellers": ["acme-official", "acme-store-eu"],
    "barcodes": ["012345678905"],
    "reference_price": 120.0,
    "currency": "USD",
    "category": "motorbike accessories",
    "spi": 12,
    # The rights register (common/rights.py): fictitious entity and numbers, so the demo's notices are filled in.
    "rights_owner": {
        "legal_name": "ACME Motor Works Ltd. (demo)",
        "address": "1 Foundry Lane, Coventry CV1 1AA, United Kingdom",
        "email": "brand-protection@acme.example",
        "phone": "+44 24 7600 0000",
        "country": "GB",
    },
    "signatory": {"name": "Jane Doe", "title": "Head of Brand Protection"},
    "trademark_registrations": [
        {"mark": "ACME", "number": "UK00003999001", "office": "UKIPO", "jurisdiction": "GB", "classes": [12]},
        {"mark": "ACME", "number": "018999001", "office": "EUIPO", "jurisdiction": "EU", "classes": [12, 25]},
        {"mark": "Acme Roadster", "number": "UK00003999002", "office": "UKIPO", "jurisdiction": "GB",
         "classes": [12], "kind": "word"},
    ],
    "copyright_registrations": [
        {"work": "ACME Roadster product photography", "author": "ACME Motor Works Ltd.", "year": 2026,
         "references": ["roadster-left.jpg", "roadster-tank-detail.jpg"], "status": "registered"}
    ],
}  # fmt: skip
LOGO_SIZE = 240
RED = (215, 20, 26)


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SystemExit(
            f"make_demo: the package {module!r} is needed for its bundled images (pip install -e .[dev])"
        )
    return Path(spec.origin).parent


def shipped(name: str) -> Image.Image:
    return Image.open(package_dir("skimage") / "data" / name).convert("RGB")


def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    ttf = (
        package_dir("matplotlib")
        / "mpl-data"
        / "fonts"
        / "ttf"
        / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    )
    return ImageFont.truetype(str(ttf), size)


def make_logo() -> Image.Image:
    """The ACME mark: a red disc with a black lightning bolt and the word ACME — rich in corners for SIFT."""
    img = Image.new("RGBA", (LOGO_SIZE, LOGO_SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, LOGO_SIZE - 4, LOGO_SIZE - 4), fill=RED + (255,), outline=(20, 20, 20, 255), width=8)
    d.polygon(
        [(120, 22), (78, 118), (112, 118), (92, 196), (160, 92), (124, 92), (146, 22)], fill=(15, 15, 15, 255)
    )
    d.rectangle((30, 150, 210, 200), fill=(255, 255, 255, 255), outline=(15, 15, 15, 255), width=4)
    d.text((120, 175), "ACME", font=font(40), fill=(15, 15, 15, 255), anchor="mm")
    return img


def paste_logo(
    base: Image.Image, logo: Image.Image, center: tuple[int, int], size: int, angle: float = 0.0
) -> Image.Image:
    out = base.copy()
    mark = logo.resize((size, size), Image.Resampling.LANCZOS).rotate(
        angle, expand=True, resample=Image.Resampling.BICUBIC
    )
    out.paste(mark, (center[0] - mark.width // 2, center[1] - mark.height // 2), mark)
    return out


def perspective(img: Image.Image, strength: float) -> Image.Image:
    w, h = img.size
    dx, dy = w * strength, h * strength
    # PIL wants coefficients mapping output -> input; a mild keystone.
    src = [(dx, dy * 0.5), (w - dx * 0.3, 0), (w, h), (0, h - dy * 0.4)]
    dst = [(0, 0), (w, 0), (w, h), (0, h)]
    coeffs = _perspective_coeffs(dst, src)
    return img.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)


def _perspective_coeffs(pa: list[tuple[float, float]], pb: list[tuple[float, float]]) -> list[float]:
    matrix = []
    for (x, y), (u, v) in zip(pa, pb, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(matrix, dtype=np.float64)
    b = np.array([c for p in pb for c in p], dtype=np.float64)
    return np.linalg.solve(a, b).tolist()


def relight(img: Image.Image, warm: float, brightness: float) -> Image.Image:
    arr = np.asarray(img).astype(np.float32)
    arr[..., 0] *= 1 + warm
    arr[..., 2] *= 1 - warm
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return ImageEnhance.Brightness(out).enhance(brightness)


def watermark(img: Image.Image, text: str) -> Image.Image:
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.text(
        (img.width // 2, int(img.height * 0.85)),
        text,
        font=font(max(18, img.width // 14)),
        fill=(255, 255, 255, 150),
        anchor="mm",
    )
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def text_card(background: Image.Image, lines: list[str]) -> Image.Image:
    card = background.resize((800, 600)).filter(ImageFilter.GaussianBlur(2))
    d = ImageDraw.Draw(card)
    d.rectangle((60, 160, 740, 440), fill=(245, 245, 240))
    for i, line in enumerate(lines):
        d.text((400, 240 + i * 110), line, font=font(72), fill=(20, 20, 20), anchor="mm")
    return card


def jpeg(img: Image.Image, path: Path, quality: int = 90) -> None:
    img.convert("RGB").save(path, "JPEG", quality=quality)


def build(out: Path) -> dict[str, Path]:
    kit, cands = out / "kit", out / "candidates"
    for d in (kit / "references", kit / "logos", cands):
        d.mkdir(parents=True, exist_ok=True)
    logo = make_logo()
    logo.save(kit / "logos" / "acme-mark.png")
    (kit / "brand.json").write_text(json.dumps(BRAND, indent=2) + "\n")

    left, right = shipped("motorcycle_left.png"), shipped("motorcycle_right.png")
    tank_left, tank_right = (330, 215), (300, 215)  # the same tank spot in the two stereo views
    genuine = paste_logo(left, logo, tank_left, 110)
    jpeg(genuine, kit / "references" / "roadster-left.jpg", 95)
    detail = genuine.crop((170, 60, 560, 360)).resize((780, 600), Image.Resampling.LANCZOS)
    jpeg(detail, kit / "references" / "roadster-tank-detail.jpg", 95)

    fake_shot = relight(perspective(paste_logo(right, logo, tank_right, 100, angle=6), 0.06), 0.08, 0.92)
    used_shot = relight(perspective(paste_logo(right, logo, tank_right, 104, angle=-4), 0.04), -0.05, 1.05)
    # The brand's second shot of the bike (the other stereo view), its mark removed, mirrored and blurred: it
    # looks like a competitor's photo but is the brand's own, so copy verification (which tries the mirrored
    # reference) must see it. Until issue 14 it was the demo's "look-alike" and landed in Tier 3.
    mirrored = ImageOps.mirror(relight(right, 0.12, 0.95)).filter(ImageFilter.GaussianBlur(1.2))
    w, h = genuine.size
    modified = ImageEnhance.Color(genuine.crop((int(w * 0.12), int(h * 0.08), w, h))).enhance(1.5)
    modified = watermark(ImageEnhance.Brightness(modified).enhance(1.1), "BEST PRICE")
    composite = paste_logo(shipped("coffee.png"), logo, (300, 150), 120)
    text_only = text_card(shipped("brick.png"), ["4CME", "R0ADSTER"])

    images = {
        "s1-exact.jpg": (genuine, 85),
        "s2-modified.jpg": (modified, 80),
        "s3-selfshot.jpg": (fake_shot, 88),
        "s6-composite.jpg": (composite, 90),
        "s7-text.jpg": (text_only, 90),
        "s2-mirrored.jpg": (mirrored, 88),
        "s18-used.jpg": (used_shot, 88),
        "s19-authorized.jpg": (genuine, 92),
        "irrelevant-astronaut.jpg": (shipped("astronaut.png"), 90),
        "irrelevant-hubble.jpg": (shipped("hubble_deep_field.jpg"), 90),
        "irrelevant-cat.jpg": (shipped("chelsea.png"), 90),
        "irrelevant-coffee.jpg": (shipped("coffee.png"), 90),
    }
    for name, (img, quality) in images.items():
        jpeg(img, cands / name, quality)
    buf = io.BytesIO()
    genuine.save(buf, "JPEG", quality=90)
    (cands / "corrupt-truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])

    listings = [
        (
            "s1-exact",
            "s1-exact.jpg",
            "Motorbike roadster, fast shipping",
            45.0,
            "shop-123",
            40,
            "S1",
            "counterfeit",
        ),
        (
            "s2-modified",
            "s2-modified.jpg",
            "Roadster bike best price",
            39.0,
            "deals-4u",
            100,
            "S2",
            "counterfeit",
        ),
        (
            "s3-selfshot",
            "s3-selfshot.jpg",
            "Retro motorbike with tank badge",
            60.0,
            "moto-x",
            30,
            "S3",
            "counterfeit",
        ),
        ("s6-composite", "s6-composite.jpg", "Coffee cup", 8.0, "cups-co", 500, "S6", "counterfeit"),
        ("s7-text", "s7-text.jpg", "Original Acme parts, cheap", 20.0, "parts-r-us", 80, "S7", "counterfeit"),
        (
            "s2-mirrored",
            "s2-mirrored.jpg",
            "Retro roadster motorbike",
            115.0,
            "rival-motors",
            5,
            "S2",
            "counterfeit",
        ),
        (
            "s18-used",
            "s18-used.jpg",
            "Used ACME roadster, 9/10 condition",
            70.0,
            "jane-doe",
            1,
            "S18",
            "review",
        ),
        (
            "s18-voided",
            "s18-used.jpg",
            "Used ACME roadster (pre-owned)",
            35.0,
            "bulk-seller",
            250,
            "S18",
            "counterfeit",
        ),
        (
            "s19-authorized",
            "s19-authorized.jpg",
            "ACME Roadster official",
            120.0,
            "acme-official",
            12,
            "S19",
            "legit",
        ),
        (
            "irrelevant-astronaut",
            "irrelevant-astronaut.jpg",
            "Space poster",
            12.0,
            "posters",
            3,
            "irrelevant",
            "irrelevant",
        ),
        (
            "irrelevant-hubble",
            "irrelevant-hubble.jpg",
            "Galaxy print",
            15.0,
            "posters",
            3,
            "irrelevant",
            "irrelevant",
        ),
        ("irrelevant-cat", "irrelevant-cat.jpg", "Cat calendar", 9.0, "pets", 3, "irrelevant", "irrelevant"),
        (
            "irrelevant-coffee",
            "irrelevant-coffee.jpg",
            "Espresso cup",
            7.0,
            "cups-co",
            50,
            "irrelevant",
            "irrelevant",
        ),
        ("corrupt", "corrupt-truncated.jpg", "Broken upload", 10.0, "shop-123", 1, "corrupt", "irrelevant"),
    ]
    with open(out / "listings.jsonl", "w") as fh, open(out / "labels.jsonl", "w") as labels:
        for lid, img, title, price, seller, inventory, scenario, label in listings:
            fh.write(
                json.dumps(
                    {
                        "listing_id": lid,
                        "image": f"candidates/{img}",
                        "title": title,
                        "price": price,
                        "currency": "USD",
                        "seller_id": seller,
                        "inventory": inventory,
                        "marketplace": "demo-market",
                    }
                )
                + "\n"
            )
            labels.write(json.dumps({"listing_id": lid, "label": label, "scenario": scenario}) + "\n")
    return {
        "kit": kit,
        "candidates": cands,
        "listings": out / "listings.jsonl",
        "labels": out / "labels.jsonl",
    }


def main(argv: list[str]) -> int:
    default = Path(os.environ.get("COUNTERFEIT_HOME", ".counterfeit")) / "demo"
    out = Path(argv[1]) if len(argv) > 1 else default
    paths = build(out)
    for key, path in paths.items():
        print(f"{key}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
