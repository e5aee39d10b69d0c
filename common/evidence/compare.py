"""The side-by-side comparison picture: listing image left, brand reference right, matched regions boxed.

Why boxes on the working copy: channels report boxes in working-copy pixels, so drawing on that image (scaled
to the panel) puts each box exactly where the match was found.

Why the panels are no taller than the taller picture (up to ``PANEL_HEIGHT``): enlarging a 500 px photo to
640 px adds pixels, not detail (the PDF prints the picture at page width either way), and every pixel costs
encoding time in the lossless PNG (the evidence step's largest single cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from common.messages import Box

PANEL_HEIGHT = 640  # px; readable when the PDF prints the picture at full page width (A4 at ~150 dpi)
MIN_PANEL_HEIGHT = 360  # px; smaller pictures are enlarged to it: captions and labels stay in proportion
CAPTION_HEIGHT = 44
GAP = 16
BOX_COLOURS = ((230, 25, 75), (0, 130, 200), (245, 130, 48), (60, 180, 75), (145, 30, 180))


@dataclass(frozen=True)
class MarkedBox:
    label: str
    box: Box


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def panel_height(*images: Image.Image | None) -> int:
    """The shared height of the panels: the taller picture's, within ``MIN_PANEL_HEIGHT``-``PANEL_HEIGHT``."""
    heights = [image.height for image in images if image is not None]
    return max(MIN_PANEL_HEIGHT, min(PANEL_HEIGHT, max(heights, default=PANEL_HEIGHT)))


def _panel(image: Image.Image | None, caption: str, boxes: list[MarkedBox], height: int) -> Image.Image:
    if image is None:
        width = height * 3 // 4
        panel = Image.new("RGB", (width, height + CAPTION_HEIGHT), "white")
        draw = ImageDraw.Draw(panel)
        draw.rectangle((0, CAPTION_HEIGHT, width - 1, height + CAPTION_HEIGHT - 1), outline=(160, 160, 160))
        draw.text((20, CAPTION_HEIGHT + height // 2), "not available", fill=(120, 120, 120), font=_font(22))
    else:
        scale = height / image.height
        width = max(1, round(image.width * scale))
        shown = image.convert("RGB")
        if shown.size != (width, height):
            shown = shown.resize((width, height), Image.Resampling.LANCZOS)
        panel = Image.new("RGB", (width, height + CAPTION_HEIGHT), "white")
        panel.paste(shown, (0, CAPTION_HEIGHT))
        draw = ImageDraw.Draw(panel)
        for i, marked in enumerate(boxes):
            colour = BOX_COLOURS[i % len(BOX_COLOURS)]
            b = marked.box
            x0, y0 = b.x * scale, CAPTION_HEIGHT + b.y * scale
            x1, y1 = (b.x + b.w) * scale, CAPTION_HEIGHT + (b.y + b.h) * scale
            draw.rectangle((x0, y0, x1, y1), outline=colour, width=4)
            draw.text((x0 + 4, max(CAPTION_HEIGHT, y0 - 22)), marked.label, fill=colour, font=_font(18))
    ImageDraw.Draw(panel).text((8, 10), caption, fill=(0, 0, 0), font=_font(22))
    return panel


def side_by_side(
    candidate: Image.Image | None,
    reference: Image.Image | None,
    boxes: list[MarkedBox],
    *,
    candidate_caption: str = "Listing image",
    reference_caption: str = "Brand reference",
) -> Image.Image:
    """The two panels next to each other (a missing image shows as an empty labelled panel)."""
    height = panel_height(candidate, reference)
    left = _panel(candidate, candidate_caption, boxes, height)
    right = _panel(reference, reference_caption, [], height)
    canvas = Image.new("RGB", (left.width + GAP + right.width, max(left.height, right.height)), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + GAP, 0))
    return canvas
