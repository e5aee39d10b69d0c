"""Rendered close-ups with a scale card in view, for tests and ``scripts/bench_authenticate.py``.

How a photo is made: a flat "world" (the item's surface, ``WORLD_W_MM`` x ``WORLD_H_MM``) is rasterised at
``WORLD_PX_PER_MM`` — a material texture (procedural leather grain, woven canvas, or a real texture photo handed
in as an array), a seam of lock stitches at an exact SPI (thread dashes with needle holes in a pressed groove,
each stitch jittered along the seam), or a heat stamp (pressed letters of a given height and spacing) — and the
printed scale card (``card.card_image``) lies on it. A pinhole camera (focal ``FOCAL_PX``, ``CAMERA_MM`` above
the surface, tilted and rolled) projects the world into a ``IMAGE_W`` x ``IMAGE_H`` photo; lighting (gradient,
gain, gamma), Gaussian blur, sensor noise and JPEG compression follow. The truth (SPI, tilt) is known exactly.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from common.authenticate import card

WORLD_W_MM, WORLD_H_MM = 280.0, 280.0  # larger than the view: no frame edge in a photo
WORLD_PX_PER_MM = 10.0
CARD_AT_MM = ((WORLD_W_MM - card.CARD_W_MM) / 2, 72.0)  # card's top-left in the world: the upper band
IMAGE_W, IMAGE_H = 1600, 1200
CAMERA_MM = 300.0
FOCAL_PX = 2250.0  # ~7.5 px/mm straight on: the photo covers ~213 x 160 mm
INCH_MM = 25.4


@dataclass(frozen=True)
class Camera:
    tilt_deg: float = 0.0  # angle between the optical axis and the surface normal
    tilt_dir_deg: float = 0.0  # direction of the tilt
    roll_deg: float = 0.0
    blur_px: float = 0.5  # extra defocus / shake, photo px (a real lens is never perfectly sharp)
    gain: float = 1.0  # exposure: < 0.3 is a dark photo
    gradient: float = 0.0  # 0..1 strength of a lighting fall-off across the frame
    noise: float = 0.01  # sensor noise sigma, 0..1 units
    jpeg_quality: int = 92


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _world_shape() -> tuple[int, int]:
    return round(WORLD_H_MM * WORLD_PX_PER_MM), round(WORLD_W_MM * WORLD_PX_PER_MM)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise; wide filters run on a coarse grid and are upsampled (same spectrum)."""
    step = max(1, int(sigma_px // 3))
    small = (shape[0] // step + 2, shape[1] // step + 2)
    field = cv2.GaussianBlur(rng.standard_normal(small).astype(np.float32), (0, 0), sigma_px / step)
    if step > 1:
        field = cv2.resize(field, None, fx=step, fy=step, interpolation=cv2.INTER_CUBIC)
    field = np.ascontiguousarray(field[: shape[0], : shape[1]])
    return field / (field.std() + 1e-9)


def leather(
    seed: int | np.random.Generator, color: tuple[float, float, float], grain_mm: float = 0.6
) -> np.ndarray:
    """Pebbled grain: cells of ``grain_mm`` with darker creases between them, plus slow tone variation."""
    rng = _rng(seed)
    shape = _world_shape()
    cells = _smooth_noise(rng, shape, grain_mm * WORLD_PX_PER_MM / 2.5)
    creases = np.exp(-(cells**2) / 0.08)  # zero crossings of the field: the creases
    tone = 1.0 - 0.18 * creases + 0.05 * _smooth_noise(rng, shape, 15 * WORLD_PX_PER_MM)
    return np.clip(tone[..., None] * np.array(color, np.float32)[None, None], 0, 1)


def canvas(
    seed: int | np.random.Generator, color: tuple[float, float, float], weave_mm: float = 0.8
) -> np.ndarray:
    """Plain weave: over/under threads of pitch ``weave_mm`` in both directions, with fibre noise."""
    rng = _rng(seed)
    h, w = _world_shape()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / WORLD_PX_PER_MM
    phase = rng.uniform(0, 2 * np.pi, 2)
    warp = np.sin(2 * np.pi * xx / weave_mm + phase[0])
    weft = np.sin(2 * np.pi * yy / weave_mm + phase[1])
    tone = 0.82 + 0.1 * warp * weft + 0.04 * _smooth_noise(rng, (h, w), 1.5) + 0.03 * np.sign(warp * weft)
    return np.clip(tone[..., None] * np.array(color, np.float32)[None, None], 0, 1)


def photo_texture(gray: np.ndarray, span_mm: float = 70.0) -> np.ndarray:
    """A real texture photo (e.g. scikit-image's ``brick``) laid on the world so that ``span_mm`` covers the
    photo's width, tiled by mirroring to fill the world."""
    scale = span_mm * WORLD_PX_PER_MM / gray.shape[1]
    tile = cv2.resize(
        gray.astype(np.float32) / 255.0, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC
    )
    h, w = _world_shape()
    reps = (math.ceil(h / tile.shape[0]) + 1, math.ceil(w / tile.shape[1]) + 1)
    row = np.concatenate([tile, tile[:, ::-1]] * (reps[1] // 2 + 1), axis=1)
    full = np.concatenate([row, row[::-1]] * (reps[0] // 2 + 1), axis=0)[:h, :w]
    return np.repeat(np.clip(full, 0, 1)[..., None], 3, axis=2)


def draw_seam(
    world: np.ndarray,
    spi: float,
    seed: int | np.random.Generator,
    thread: tuple[float, float, float] = (0.92, 0.88, 0.75),
    angle_deg: float = 0.0,
    y_mm: float = 160.0,  # 34 mm below the card, 20 mm below the view centre: in every view
    thread_mm: float = 0.8,
    jitter: float = 0.02,
) -> None:
    """A lock-stitch seam across the world at exactly ``spi`` stitches per inch (in place).

    Drawn analytically (every pixel from its distance along and across the seam, soft edges) rather than with
    rasterised lines: the staircase of a rasterised slanted line beats with the stitch period into a false
    periodicity that a real camera never sees."""
    rng = _rng(seed)
    s = WORLD_PX_PER_MM
    h, w = world.shape[:2]
    period = INCH_MM / spi * s
    ux, uy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - WORLD_W_MM / 2 * s, yy - y_mm * s
    across_all = -dx * uy + dy * ux
    near = np.abs(across_all) < 4.0 * s  # only the seam's band is drawn (everything else is unchanged)
    along = dx[near] * ux + dy[near] * uy
    across = across_all[near]
    start = float(rng.uniform(0, period))
    k = np.round((along - start) / period).astype(np.int64)
    k_min = int(k.min())
    offsets = rng.normal(0, jitter * period, int(k.max()) - k_min + 1).astype(np.float32)
    t = np.abs(along - (start + k * period + offsets[k - k_min]))
    edge = 0.06 * s

    def inside(distance: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(np.clip(-distance / edge, -30, 30)))

    dash_len = max(0.3 * s, min(0.75 * period, period - 0.3 * s))
    half_w = thread_mm * s / 2
    dashes = (inside(dash_len / 2 - t) * inside(half_w - np.abs(across)))[:, None]
    holes = np.exp(-((t - period / 2) ** 2 + across**2) / (0.22 * s) ** 2)
    groove = np.exp(-((across / (0.9 * s)) ** 2))
    crest = np.clip(1.0 - (across / half_w) ** 2, 0, 1)
    colour = np.array(thread, np.float32)[None] * (0.8 + 0.2 * crest)[:, None]
    band = world[near] * (1.0 - 0.22 * groove - 0.45 * holes)[:, None]
    world[near] = band * (1 - dashes) + colour * dashes


def draw_stamp(
    world: np.ndarray,
    text: str = "ACME",
    height_mm: float = 9.0,
    spacing: float = 1.0,
    centre_mm: tuple[float, float] = (140.0, 165.0),
    depth: float = 0.35,
) -> None:
    """A heat stamp: pressed (darker) letters ``height_mm`` high, letter advance scaled by ``spacing``."""
    s = WORLD_PX_PER_MM
    font = cv2.FONT_HERSHEY_DUPLEX
    (w0, h0), _ = cv2.getTextSize("H", font, 1.0, 2)
    scale = height_mm * s / h0
    thickness = max(2, int(round(scale * 2)))
    advances = [cv2.getTextSize(ch, font, scale, thickness)[0][0] * spacing for ch in text]
    gap = 0.25 * w0 * scale * spacing
    total = sum(advances) + gap * (len(text) - 1)
    mask8 = np.zeros(world.shape[:2], np.uint8)
    x = centre_mm[0] * s - total / 2
    y = centre_mm[1] * s + height_mm * s / 2
    for ch, adv in zip(text, advances, strict=True):
        cv2.putText(mask8, ch, (int(round(x)), int(round(y))), font, scale, 255, thickness, cv2.LINE_AA)
        x += adv + gap
    mask = cv2.GaussianBlur(mask8.astype(np.float32) / 255.0, (0, 0), 0.15 * s)
    rim = np.roll(mask, (-2, -2), axis=(0, 1)) - mask  # light catches the upper-left rim of the impression
    world *= (1.0 - depth * mask + 0.25 * np.clip(rim, 0, 1))[..., None]
    np.clip(world, 0, 1, out=world)


def place_card(world: np.ndarray) -> None:
    """The printed card lies on the item (in place)."""
    s = WORLD_PX_PER_MM
    face = card_face()
    x0, y0 = round(CARD_AT_MM[0] * s), round(CARD_AT_MM[1] * s)
    world[y0 : y0 + face.shape[0], x0 : x0 + face.shape[1]] = face[..., None]


def card_face() -> np.ndarray:
    return card.card_image(WORLD_PX_PER_MM).astype(np.float32) / 255.0 * 0.95  # paper is not a perfect white


def camera_homography(cam: Camera) -> np.ndarray:
    """World raster px -> photo px for a pinhole camera aimed at the world's centre."""
    t, d, r = (math.radians(v) for v in (cam.tilt_deg, cam.tilt_dir_deg, cam.roll_deg))
    axis = np.array([math.cos(d), math.sin(d), 0.0])
    rot_tilt, _ = cv2.Rodrigues(axis * t)
    rot_roll, _ = cv2.Rodrigues(np.array([0.0, 0.0, r]))
    rot = rot_roll @ rot_tilt
    centre = np.array([WORLD_W_MM / 2, WORLD_H_MM / 2, 0.0])
    cam_pos = centre - rot.T @ np.array([0.0, 0.0, CAMERA_MM])
    trans = -rot @ cam_pos
    k = np.array([[FOCAL_PX, 0, IMAGE_W / 2], [0, FOCAL_PX, IMAGE_H / 2], [0, 0, 1]])
    h_mm = k @ np.column_stack([rot[:, 0], rot[:, 1], trans])
    to_mm = np.diag([1 / WORLD_PX_PER_MM, 1 / WORLD_PX_PER_MM, 1.0])
    return h_mm @ to_mm


def photograph(world: np.ndarray, cam: Camera, seed: int | np.random.Generator) -> bytes:
    """JPEG bytes of the world as ``cam`` sees it."""
    rng = _rng(seed)
    # Optics: the lens and the pixel aperture low-pass the scene (about one world pixel at this scale).
    src = cv2.GaussianBlur(world.astype(np.float32), (0, 0), 1.0)
    img = cv2.warpPerspective(src, camera_homography(cam), (IMAGE_W, IMAGE_H), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    if cam.blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), cam.blur_px)
    yy, xx = np.mgrid[0:IMAGE_H, 0:IMAGE_W].astype(np.float32)
    img = np.asarray(img, np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xx / IMAGE_W - 0.5) * math.cos(angle) + (yy / IMAGE_H - 0.5) * math.sin(angle)
    light = cam.gain * (1.0 + cam.gradient * ramp)
    img = img * light[..., None] + np.asarray(rng.normal(0, cam.noise, img.shape), np.float32)
    rgb = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=cam.jpeg_quality)
    return out.getvalue()


def seam_photo(spi: float, seed: int = 0, cam: Camera | None = None, material: str = "leather",
               thread: tuple[float, float, float] = (0.92, 0.88, 0.75), angle_deg: float = 0.0) -> bytes:  # fmt: skip
    """One seam close-up with the card in view (the default: a straight-on, sharp, well-lit photo)."""
    rng = _rng(seed)
    base = (0.45, 0.27, 0.15)
    world = leather(rng, base) if material == "leather" else canvas(rng, (0.75, 0.68, 0.52))
    draw_seam(world, spi, rng, thread=thread, angle_deg=angle_deg)
    place_card(world)
    return photograph(world, cam or Camera(), rng)


def stamp_photo(seed: int = 0, cam: Camera | None = None, height_mm: float = 9.0, spacing: float = 1.0,
                text: str = "ACME") -> bytes:  # fmt: skip
    rng = _rng(seed)
    world = leather(rng, (0.42, 0.25, 0.14))
    draw_stamp(world, text=text, height_mm=height_mm, spacing=spacing)
    place_card(world)
    return photograph(world, cam or Camera(), rng)


def texture_photo(world_texture: np.ndarray, seed: int = 0, cam: Camera | None = None) -> bytes:
    world = world_texture.copy()
    place_card(world)
    return photograph(world, cam or Camera(), seed)
