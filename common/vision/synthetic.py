"""Generated test material for the vision channel (tests and scripts/bench_vision.py): synthetic logos, logos
pasted/warped into cluttered photos, rendered text, QR codes and EAN-13 barcodes. Deterministic per seed.

Backgrounds are photos that ship inside the scikit-image wheel (astronaut, coffee, chelsea, rocket, ...), so clutter is
real texture, not noise.
"""

from __future__ import annotations

import functools
import io

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND_NAMES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "gravel",
)
EAN_L = (
    "0001101",
    "0011001",
    "0010011",
    "0111101",
    "0100011",
    "0110001",
    "0101111",
    "0111011",
    "0110111",
    "0001011",
)
EAN_PARITY = (
    "LLLLLL",
    "LLGLGG",
    "LLGGLG",
    "LLGGGL",
    "LGLLGG",
    "LGGLLG",
    "LGGGLL",
    "LGLGLG",
    "LGLGGL",
    "LGGLGL",
)


def _invert(bits: str) -> str:
    return "".join("1" if b == "0" else "0" for b in bits)


def ean13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13_image(code: str, module: int = 4, height: int = 160) -> Image.Image:
    """EAN-13 symbol with quiet zones (GS1 General Specifications, 5.2.1.2 encodation)."""
    if len(code) == 12:
        code += ean13_check_digit(code)
    if len(code) != 13 or not code.isdigit() or ean13_check_digit(code[:12]) != code[12]:
        raise ValueError(f"bad EAN-13: {code!r}")
    bits = "101"
    for d, parity in zip(code[1:7], EAN_PARITY[int(code[0])], strict=True):
        left = EAN_L[int(d)]
        bits += left if parity == "L" else _invert(left)[::-1]  # G = reversed R
    bits += "01010"
    bits += "".join(_invert(EAN_L[int(d)]) for d in code[7:])
    bits += "101"
    quiet = 11
    row = np.array([0] * quiet + [int(b) for b in bits] + [0] * quiet, dtype=np.uint8)
    strip = np.repeat(np.where(row == 1, 0, 255).astype(np.uint8), module)
    return Image.fromarray(np.tile(strip, (height, 1))).convert("RGB")


def qr_image(payload: str, module: int = 8) -> Image.Image:
    qr = cv2.QRCodeEncoder.create().encode(payload)
    big = cv2.resize(qr, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    return Image.fromarray(
        cv2.copyMakeBorder(
            big, 4 * module, 4 * module, 4 * module, 4 * module, cv2.BORDER_CONSTANT, value=255
        )
    ).convert("RGB")


def synthetic_logo(seed: int, size: int = 320) -> Image.Image:
    """A distinctive, texture-rich mark on white: random polygons, arcs and a short word. SIFT needs corners,
    so this resembles real wordmarks more than a flat circle would."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(7):
        pts = [tuple(int(v) for v in rng.integers(10, size - 10, 2)) for _ in range(int(rng.integers(3, 6)))]
        draw.polygon(pts, fill=tuple(int(v) for v in rng.integers(0, 200, 3)))
    for _ in range(4):
        x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
        draw.arc(
            (x0, y0, x0 + size // 2, y0 + size // 2),
            int(rng.integers(0, 180)),
            int(rng.integers(180, 360)),
            fill=tuple(int(v) for v in rng.integers(0, 160, 3)),
            width=int(rng.integers(4, 12)),
        )
    word = "".join(chr(int(c)) for c in rng.integers(65, 91, 4))
    draw.text((size // 8, size * 2 // 3), word, fill=(0, 0, 0), font=font(size // 5))
    return img


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed, else Pillow's bundled scalable default (Pillow >= 10.1)."""
    for path in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@functools.cache
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    for path in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    ):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return None


def background(index: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    from skimage import data

    name = BACKGROUND_NAMES[index % len(BACKGROUND_NAMES)]
    arr = getattr(data, name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return Image.fromarray(arr[..., :3].astype(np.uint8)).convert("RGB").resize(size)


def paste(bg: Image.Image, logo: Image.Image, width: int, xy: tuple[int, int]) -> Image.Image:
    out = bg.copy()
    w = width
    h = round(logo.height * w / logo.width)
    out.paste(logo.resize((w, h), Image.Resampling.LANCZOS), xy)
    return out


def warp_into(bg: Image.Image, logo: Image.Image, quad: np.ndarray) -> Image.Image:
    """Perspective-warp the logo (white parts transparent-ish: kept opaque, like a printed label) onto quad."""
    src = np.array([[0, 0], [logo.width, 0], [logo.width, logo.height], [0, logo.height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, np.asarray(quad, dtype=np.float32))
    size = bg.size
    warped = cv2.warpPerspective(np.asarray(logo), m, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((logo.height, logo.width), 255, np.uint8), m, size)
    out = np.asarray(bg).copy()
    out[mask > 127] = warped[mask > 127]
    return Image.fromarray(out)


def rotate_paste(
    bg: Image.Image, logo: Image.Image, width: int, angle: float, center: tuple[int, int]
) -> Image.Image:
    w = width
    h = round(logo.height * w / logo.width)
    rot = logo.resize((w, h), Image.Resampling.LANCZOS).convert("RGBA").rotate(angle, expand=True)
    out = bg.copy()
    out.paste(rot, (center[0] - rot.width // 2, center[1] - rot.height // 2), rot)
    return out


def text_image(
    text: str,
    size: tuple[int, int] = (640, 200),
    font_size: int = 64,
    on: Image.Image | None = None,
) -> Image.Image:
    """Dark text on a light band (optionally over a photo), as on packaging."""
    use_cjk = any(ord(c) > 0x2E80 for c in text)
    f = cjk_font(font_size) if use_cjk else font(font_size)
    if f is None:
        raise RuntimeError("no CJK font installed (apt: fonts-noto-cjk or fonts-wqy-microhei)")
    box = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=f)
    if on is None:  # grow the canvas so the whole text fits with a margin
        size = (max(size[0], int(box[2] - box[0]) + 80), max(size[1], int(box[3] - box[1]) + 80))
    img = on.copy() if on is not None else Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(img)
    x = (img.width - (box[2] - box[0])) // 2
    y = (img.height - (box[3] - box[1])) // 2
    draw.rectangle((x - 16, y - 16, x + box[2] - box[0] + 16, y + box[3] - box[1] + 24), fill=(250, 250, 250))
    draw.text((x - box[0], y - box[1]), text, fill=(10, 10, 10), font=f)
    return img


def boxed_label(code: str, seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A plain cardboard box photographed at an angle, with a white product label carrying the EAN-13 on its
    front face (issue 14: "a genuine EAN-13 on a label of a plain box"): the symbol is ~150-260 px wide, seen in
    perspective, slightly rotated, softened and JPEG-compressed, with the human-readable digits under it."""
    rng = np.random.default_rng(seed)
    img = background(int(rng.integers(0, len(BACKGROUND_NAMES))), size)
    w, h = size
    # Front face: a quadrilateral leaning by up to ~15 % (perspective), with a darker side face beside it.
    x0, y0 = rng.uniform(0.12, 0.25) * w, rng.uniform(0.15, 0.3) * h
    fw, fh = rng.uniform(0.5, 0.6) * w, rng.uniform(0.5, 0.62) * h
    lean = rng.uniform(-0.15, 0.15) * fh
    front = np.array([[x0, y0 + lean], [x0 + fw, y0], [x0 + fw, y0 + fh], [x0, y0 + fh + lean * 0.4]])
    depth = rng.uniform(0.12, 0.2) * w
    side = np.array([front[1], front[1] + [depth, -0.08 * h], front[2] + [depth, -0.05 * h], front[2]])
    cardboard = np.array([196, 160, 112]) * rng.uniform(0.8, 1.1)
    draw = ImageDraw.Draw(img)
    draw.polygon([tuple(p) for p in side], fill=tuple(int(c * 0.72) for c in cardboard))
    draw.polygon([tuple(p) for p in front], fill=tuple(int(min(255, c)) for c in cardboard))
    # The label: symbol + digits on white, placed in the lower part of the front face.
    symbol = ean13_image(code, module=3, height=110)
    label = Image.new("RGB", (symbol.width + 40, symbol.height + 70), "white")
    label.paste(symbol, (20, 15))
    ImageDraw.Draw(label).text((40, symbol.height + 22), code, fill=(20, 20, 20), font=font(28))
    # The label's width on the photo: 230-380 px puts the bars at ~2-3.3 px per module (95 modules), what a
    # phone photo of a box's label gives; below ~1.5 px per module no decoder can resolve the bars.
    lw = min(0.9, rng.uniform(230, 380) / fw)  # share of the face's width
    u0, v0 = rng.uniform(0.03, max(0.04, 0.97 - lw)), rng.uniform(0.4, 0.55)
    lh = lw * label.height / label.width * fw / fh

    def on_face(u: float, v: float) -> np.ndarray:  # bilinear position on the front face
        top = front[0] + (front[1] - front[0]) * u
        bottom = front[3] + (front[2] - front[3]) * u
        return top + (bottom - top) * v

    quad = np.array([on_face(u0, v0), on_face(u0 + lw, v0), on_face(u0 + lw, v0 + lh), on_face(u0, v0 + lh)])
    img = warp_into(img, label, quad)
    img = img.rotate(float(rng.uniform(-6, 6)), resample=Image.Resampling.BILINEAR, fillcolor=(90, 90, 90))
    arr = cv2.GaussianBlur(np.asarray(img), (0, 0), float(rng.uniform(0.5, 1.1)))
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=int(rng.integers(70, 90)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


WORDMARK_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)
WORDMARK_STYLES = ("print", "emboss", "deboss")
PHOTO_BACKGROUNDS = (0, 1, 2, 3)  # astronaut, coffee, chelsea, rocket: photos, not micrographs


@functools.cache
def _wordmark_font(index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(WORDMARK_FONTS[index % len(WORDMARK_FONTS)], size)
    except OSError:
        return font(size)


def small_wordmark_scene(
    word: str, seed: int, size: tuple[int, int] = (800, 600)
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A product photographed with a small wordmark printed straight on its surface under the brand's emblem
    (issue 14: "a wordmark ~60 px wide under a mark" was missed): the word is 40-70 px wide, grey on a mid-grey
    surface (contrast 22-45 levels), printed flat or embossed/debossed (a light and a dark edge around a fill
    close to the surface), in a thin, regular, narrow or bold font, turned up to 6°, the product seen in mild
    perspective on a photo, softened and JPEG 75-90. Returns (image, the word's box x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    img = background(int(rng.choice(PHOTO_BACKGROUNDS)), size)
    w, h = size
    # The product's front: a flat panel with a soft vertical light gradient.
    pw, ph = int(rng.uniform(0.32, 0.45) * w), int(rng.uniform(0.4, 0.55) * h)
    grey = float(rng.uniform(95, 165))
    tint = rng.uniform(-12, 12, 3)
    panel = np.zeros((ph, pw, 4), np.float32)
    panel[..., :3] = grey + tint + np.linspace(-14, 14, ph)[:, None, None]
    panel[..., 3] = 255
    # The emblem: a darker disc with a triangle cut out, ~30 % of the panel's width, in the upper half.
    em = int(pw * rng.uniform(0.24, 0.34))
    ex, ey = pw // 2 - em // 2, int(ph * rng.uniform(0.12, 0.22))
    dark = (*(int(v) for v in np.clip(grey + tint - rng.uniform(45, 80), 0, 255)), 255)
    k = em // 4
    triangle = [(ex + k, ey + em - k), (ex + em // 2, ey + k), (ex + em - k, ey + em - k)]
    # The wordmark: rendered big, then shrunk to 40-70 px wide (how a small print really looks after resampling).
    target_w = int(rng.integers(40, 71))
    f = _wordmark_font(int(rng.integers(0, len(WORDMARK_FONTS))), 64)
    box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), word, font=f)
    glyphs = Image.new("L", (int(box[2] - box[0]) + 8, int(box[3] - box[1]) + 8), 0)
    ImageDraw.Draw(glyphs).text((4 - box[0], 4 - box[1]), word, fill=255, font=f)
    th = max(6, round(glyphs.height * target_w / glyphs.width))
    mask = np.asarray(glyphs.resize((target_w, th), Image.Resampling.LANCZOS)).astype(np.float32) / 255
    tx = pw // 2 - target_w // 2 + int(rng.integers(-6, 7))
    ty = ey + em + int(rng.integers(4, 14))
    style = WORDMARK_STYLES[int(rng.integers(0, len(WORDMARK_STYLES)))]
    contrast = float(rng.uniform(22, 45)) * float(rng.choice([-1, 1]))
    region = panel[ty : ty + th, tx : tx + target_w, :3]
    if style == "print":
        region += contrast * mask[..., None]
    else:  # a raised (emboss) or pressed (deboss) word: light edge on one side, shadow on the other
        sign = 1.0 if style == "emboss" else -1.0
        up = np.roll(mask, (-1, -1), axis=(0, 1))
        down = np.roll(mask, (1, 1), axis=(0, 1))
        region += abs(contrast) * sign * (up - down)[..., None] + 0.3 * contrast * mask[..., None]
    panel[ty : ty + th, tx : tx + target_w, :3] = region
    layer = Image.fromarray(np.clip(panel, 0, 255).astype(np.uint8), "RGBA")
    draw = ImageDraw.Draw(layer)
    draw.ellipse((ex, ey, ex + em, ey + em), fill=dark)
    draw.polygon(triangle, fill=(*(int(v) for v in panel[0, 0, :3]), 255))
    # Turn the panel a little, then place it in perspective on the photo.
    angle = float(rng.uniform(-6, 6))
    x0, y0 = rng.uniform(0.1, 0.9 - pw / w) * w, rng.uniform(0.1, 0.9 - ph / h) * h
    j = rng.uniform(-0.06, 0.06, (4, 2)) * [pw, ph]
    quad = np.array([[x0, y0], [x0 + pw, y0], [x0 + pw, y0 + ph], [x0, y0 + ph]]) + j
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    centre = quad.mean(axis=0)
    quad = (quad - centre) @ np.array([[c, s], [-s, c]]) + centre
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    rgba = cv2.warpPerspective(np.asarray(layer), m, size, flags=cv2.INTER_LINEAR)
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    out = np.asarray(img).astype(np.float32) * (1 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    word_quad = cv2.perspectiveTransform(
        np.array([[[tx, ty], [tx + target_w, ty], [tx + target_w, ty + th], [tx, ty + th]]], np.float32), m
    )[0]
    arr = cv2.GaussianBlur(out.astype(np.uint8), (0, 0), float(rng.uniform(0.3, 0.7)))
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=int(rng.integers(75, 91)))
    x_lo, y_lo = word_quad.min(axis=0)
    x_hi, y_hi = word_quad.max(axis=0)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), (int(x_lo), int(y_lo), int(x_hi), int(y_hi))
