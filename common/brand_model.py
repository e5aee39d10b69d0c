"""What a registered brand is, as the channels and the reference extractors see it: plain types, no I/O.

No imports of our own: any module may type with these. Its own module so that ``common.brands`` (which registers kits and runs the extractors) and the extractors
themselves (``common.vision.logo_extractor``, ``common.hashing`` ...) both import the types without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class ReferenceImage:
    """One decoded kit image handed to the reference extractors."""

    ref_id: str  # "reference:front.jpg" or "logo:mark.png"
    kind: str  # "reference" | "logo"
    filename: str
    path: Path
    sha256: str
    image: Image.Image


@dataclass(frozen=True)
class Brand:
    """A registered brand as the channels see it: kit fields plus its reference docs."""

    brand_id: str
    display_name: str
    trademarks: list[str]
    colors: list[str]
    authorized_sellers: list[str]
    barcodes: list[str]
    reference_price: float | None
    currency: str | None
    category: str | None
    spi: float | None
    version: str
    kit_dir: str | None = None
    references: list[dict[str, Any]] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # brand.json "models" (authenticate)
    # The trained mark detector's record (blob name, training key, threshold; common/vision/mark_training.py),
    # None when the kit trained none.
    mark_detector: dict[str, Any] | None = None
