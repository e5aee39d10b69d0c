"""The brand's discovery opt-in, as brand.json spells it (``"discovery": {...}``).

Why an explicit opt-in: seed 004 promises that reference images never leave our code. Web Detection sends them to
Google, keyword search sends the brand's trademarks to Brave; neither happens unless the brand enabled that source
and said who approved it and when. The kit's words are kept on the brand document and shown by ``brand list`` and
the coverage report, so the record of consent travels with the data it allowed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SOURCES = ("web_detection", "image_search")
# Per-run defaults: one sweep of a 10-reference kit plus a few keyword queries costs cents, and a run can never
# spend more than this whatever the kit says (the brand may lower it, or raise it up to MAX_COST_USD_PER_RUN).
DEFAULT_MAX_COST_USD_PER_RUN = 0.50
MAX_COST_USD_PER_RUN = 100.0
DEFAULT_MAX_REQUESTS_PER_RUN = 50
DEFAULT_MAX_RESULTS = 50  # per reference (Web Detection maxResults) and per query (Brave count)


class SourceOptIn(BaseModel):
    """One source's consent: off unless ``enabled``, and then ``approved_by`` and ``approved_on`` are required."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    approved_by: str | None = Field(default=None, min_length=1, max_length=200)
    approved_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")  # a string: stores as-is

    @field_validator("approved_on")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)  # ValueError for 2026-02-30
        return value

    @model_validator(mode="after")
    def _who_and_when(self) -> SourceOptIn:
        if self.enabled and (self.approved_by is None or self.approved_on is None):
            raise ValueError(
                "enabling a discovery source needs approved_by (who) and approved_on (YYYY-MM-DD)"
            )
        return self


class DiscoveryKit(BaseModel):
    """``brand.json`` ``discovery``: which sources may run, and the per-run caps."""

    model_config = ConfigDict(extra="forbid")

    web_detection: SourceOptIn = Field(default_factory=SourceOptIn)
    image_search: SourceOptIn = Field(default_factory=SourceOptIn)
    max_cost_usd_per_run: float = Field(default=DEFAULT_MAX_COST_USD_PER_RUN, ge=0, le=MAX_COST_USD_PER_RUN)
    # Across the runs of a calendar month (UTC), counted from the run records; None: only the per-run cap.
    max_cost_usd_per_month: float | None = Field(default=None, ge=0, le=100 * MAX_COST_USD_PER_RUN)
    max_requests_per_run: int = Field(default=DEFAULT_MAX_REQUESTS_PER_RUN, ge=1, le=10_000)
    max_results: int = Field(default=DEFAULT_MAX_RESULTS, ge=1, le=200)
    # Keyword search: the queries are each trademark plus the category; extra terms are added to each query.
    query_terms: list[str] = Field(default_factory=list, max_length=10)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")

    def enabled(self) -> list[str]:
        return [name for name in SOURCES if getattr(self, name).enabled]


def discovery_of(brand_doc: dict[str, Any]) -> DiscoveryKit:
    """The opt-in stored on a brand document (brands registered before discovery existed: everything off)."""
    raw = brand_doc.get("discovery")
    return DiscoveryKit.model_validate(raw) if isinstance(raw, dict) else DiscoveryKit()


def describe(kit: DiscoveryKit) -> str:
    """One line for ``brand list``: which sources are on, by whom and when."""
    parts = []
    for name in SOURCES:
        opt: SourceOptIn = getattr(kit, name)
        if opt.enabled:
            parts.append(f"{name} (approved by {opt.approved_by} on {opt.approved_on})")
    return "discovery: " + (", ".join(parts) if parts else "off")
