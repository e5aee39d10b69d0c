"""The kit's per-model authentication data (``brand.json`` ``models``) and where close-up features live.

``"models": {"speedy-30": {"spi": 12, "spi_tolerance": 1, "required_regions": ["seam", "stamp"]}}`` — all
fields optional. ``KIT/closeups/<model>/<region>/*`` holds genuine close-ups (scale card in view); their
features are stored at ``brand add`` under ``brands/{brand}/closeups/{model}:{region}:{file}``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
REGION_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
Check = Literal["spi", "stamp", "texture"]
# What is measured on a region, by the region's name; any other name (hardware, lining, material, …) is texture.
REGION_CHECKS: dict[str, Check] = {"seam": "spi", "stitching": "spi", "stamp": "stamp", "logo": "stamp",
                                   "heat_stamp": "stamp"}  # fmt: skip


# Region names a photo's file name may start with (seam_1.jpg); others are named with --region REGION=PATH.
NAMED_REGIONS = frozenset(REGION_CHECKS) | {
    "lining",
    "material",
    "hardware",
    "interior",
    "exterior",
    "handle",
}


def region_check(region: str) -> Check:
    base = region.split("-")[0]
    return REGION_CHECKS.get(base, "texture")


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spi: float | None = Field(default=None, gt=0, le=200)
    spi_tolerance: float | None = Field(default=None, gt=0, le=50)
    required_regions: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("required_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            if not re.fullmatch(REGION_PATTERN, region):
                raise ValueError(f"required region {region[:50]!r} must match {REGION_PATTERN}")
        return value
