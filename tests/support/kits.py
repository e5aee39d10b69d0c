"""Brand kits and candidate images for tests: the demo generator when it is present, else a tiny kit."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]


def demo_kit(out: Path) -> dict[str, Path]:
    """``scripts/make_demo.py`` output (kit, candidates, listings); built once per directory."""
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if (out / "kit" / "brand.json").exists():
        return {"kit": out / "kit", "candidates": out / "candidates", "listings": out / "listings.jsonl"}
    return module.build(out)


def pattern_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic, textured RGB image (distinct per seed, far apart in perceptual-hash space)."""
    img = Image.new("RGB", size, (20 + seed * 37 % 200, 60 + seed * 53 % 180, 90 + seed * 71 % 160))
    draw = ImageDraw.Draw(img)
    for i in range(24):
        x = (seed * 97 + i * 131) % size[0]
        y = (seed * 61 + i * 89) % size[1]
        w, h = 30 + (i * seed) % 120, 20 + (i * 7 + seed) % 90
        colour = ((i * 40 + seed * 9) % 256, (i * 90 + seed * 3) % 256, (i * 20 + seed * 17) % 256)
        draw.rectangle((x, y, x + w, y + h), fill=colour)
    return img


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def tiny_kit(out: Path, brand: str = "acme") -> Path:
    """brand.json + two references + a logo: enough for `register_brand` and a hash short-circuit."""
    (out / "references").mkdir(parents=True, exist_ok=True)
    (out / "logos").mkdir(parents=True, exist_ok=True)
    (out / "brand.json").write_text(
        json.dumps(
            {
                "brand": brand,
                "display_name": brand.upper(),
                "trademarks": [brand.upper()],
                "authorized_sellers": [f"{brand}-official"],
                "reference_price": 100.0,
                "currency": "USD",
            }
        )  # fmt: skip
    )
    for i in (1, 2):
        pattern_image(i).save(out / "references" / f"ref-{i}.jpg", "JPEG", quality=95)
    logo = Image.new("RGB", (240, 120), "white")
    ImageDraw.Draw(logo).text((20, 40), brand.upper(), fill="black")
    logo.save(out / "logos" / "logo.png")
    return out
