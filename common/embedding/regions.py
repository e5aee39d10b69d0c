"""Which parts of an image get embedded.

Why crops: one global vector of a cluttered photo describes the clutter, not the small product in it (S16),
and a pattern printed on a different product only matches tile-to-tile (S11). Candidates are embedded as the
whole image, the product box from preprocess and two grids of overlapping tiles; each reference photo as the
whole image plus a centre crop and a 2x2 grid, so a candidate that shows part of a reference still finds it.
Measured on generated small-in-clutter scenes (scripts/bench_embed.py): whole image alone finds few; the tiles
find most (docs/embedding.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

# Tile grids on the candidate: (grid, tile side as a fraction of the image side). 0.6 on a 2x2 grid and 0.45 on a
# 3x3 grid overlap neighbours by ~20 % / ~17 %, so a product straddling a tile border is still inside one tile.
CANDIDATE_GRIDS: tuple[tuple[int, float], ...] = ((2, 0.6), (3, 0.45))
REFERENCE_GRIDS: tuple[tuple[int, float], ...] = ((2, 0.6),)
REFERENCE_CENTRE_FRACTION = 0.6
# Tiles smaller than this (pixels, shorter side) carry too little detail for a 224 px model input.
MIN_TILE_SIDE = 48
# A product box covering nearly the whole image adds nothing beyond the whole-image crop.
MAX_BOX_AREA_SHARE = 0.9


@dataclass(frozen=True)
class Region:
    name: str  # "whole", "product_box", "tile2_0_1", "centre", ...
    box: tuple[int, int, int, int]  # left, top, right, bottom in image pixels


def grid_tiles(width: int, height: int, grid: int, fraction: float) -> list[Region]:
    tw, th = max(1, round(width * fraction)), max(1, round(height * fraction))
    if min(tw, th) < MIN_TILE_SIDE:
        return []
    out = []
    for row in range(grid):
        for col in range(grid):
            left = round(col * (width - tw) / (grid - 1)) if grid > 1 else 0
            top = round(row * (height - th) / (grid - 1)) if grid > 1 else 0
            out.append(Region(f"tile{grid}_{row}_{col}", (left, top, left + tw, top + th)))
    return out


def candidate_regions(
    width: int, height: int, product_box: tuple[int, int, int, int] | None = None
) -> list[Region]:
    """Whole image, the product box (x, y, w, h) when it is a real sub-region, then the tile grids."""
    regions = [Region("whole", (0, 0, width, height))]
    if product_box is not None:
        x, y, w, h = product_box
        left, top = max(0, x), max(0, y)
        right, bottom = min(width, x + w), min(height, y + h)
        area = max(0, right - left) * max(0, bottom - top)
        if min(right - left, bottom - top) >= MIN_TILE_SIDE and area < MAX_BOX_AREA_SHARE * width * height:
            regions.append(Region("product_box", (left, top, right, bottom)))
    for grid, fraction in CANDIDATE_GRIDS:
        regions.extend(grid_tiles(width, height, grid, fraction))
    return regions


def reference_regions(width: int, height: int) -> list[Region]:
    """Extra views stored with a reference photo (the whole image is the main ``embedding``)."""
    cw, ch = round(width * REFERENCE_CENTRE_FRACTION), round(height * REFERENCE_CENTRE_FRACTION)
    regions = []
    if min(cw, ch) >= MIN_TILE_SIDE:
        left, top = (width - cw) // 2, (height - ch) // 2
        regions.append(Region("centre", (left, top, left + cw, top + ch)))
    for grid, fraction in REFERENCE_GRIDS:
        regions.extend(grid_tiles(width, height, grid, fraction))
    return regions


def crop_all(image: Image.Image, regions: list[Region]) -> list[Image.Image]:
    return [image.crop(r.box) for r in regions]
