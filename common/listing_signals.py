"""The ``listing`` channel: signals read from the listing's own fields, no pixels (``listing_text``, ``price``,
``spi``). Fuse computes them when it decides, so they always run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.brand_model import Brand
from common.messages import Listing, Signal

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.channels import Candidate

# Seed 002: a price far below the reference is a counterfeit marker (auxiliary only).
PRICE_ANOMALY_RATIO = 0.5


def price_signal(brand: Brand, listing: Listing) -> Signal:
    """Seed 002's price threshold, as an auxiliary signal."""
    if listing.price is None or brand.reference_price is None:
        return Signal.not_run("price", "no listing price or no reference price")
    if listing.currency and brand.currency and listing.currency.upper() != brand.currency:
        return Signal.not_run("price", f"listing currency {listing.currency} differs from {brand.currency}")
    ratio = listing.price / brand.reference_price
    detail = {
        "price": listing.price,
        "reference_price": brand.reference_price,
        "ratio": round(ratio, 4),
        "threshold_ratio": PRICE_ANOMALY_RATIO,
    }
    if ratio < PRICE_ANOMALY_RATIO:
        return Signal(
            name="price",
            status="fired",
            score=round(min(1.0, 1.0 - ratio), 4),
            detail=detail,
            reason=f"Price {listing.price:g} is {ratio:.0%} of the reference price {brand.reference_price:g}.",
        )
    return Signal(name="price", status="clear", score=0.0, detail=detail)


def listing_text_signal(brand: Brand, listing: Listing) -> Signal:
    """Brand mentions in the listing's title and description (same matcher as OCR text)."""
    from common.vision.textmatch import best_text_score, match_brand_text

    texts = [(src, t) for src, t in (("title", listing.title), ("description", listing.description)) if t]
    trademarks = list(dict.fromkeys([*brand.trademarks, brand.display_name]))
    if not texts:
        return Signal.not_run("listing_text", "listing has no title or description")
    matches = match_brand_text(texts, trademarks)
    score, match = best_text_score(matches)
    if match is None:
        return Signal(name="listing_text", status="clear", score=0.0)
    detail = {"trademark": match.trademark, "source": match.source, "text": match.text, "rule": match.rule}
    if score >= LISTING_TEXT_FIRE:
        return Signal(
            name="listing_text",
            status="fired",
            score=round(score, 4),
            detail=detail,
            reason=f"Listing {match.source} mentions {match.trademark!r} as {match.text!r} ({match.rule}).",
        )
    return Signal(name="listing_text", status="clear", score=round(score, 4), detail=detail)


LISTING_TEXT_FIRE = (
    0.75  # textmatch scores >= 0.75 are rule-backed matches (exact/spacing/leet/confusable/fuzzy)
)


def spi_listing_signal(brand: Brand, listing: Listing) -> Signal:
    from common.vision.spi import spi_signal

    return spi_signal(brand.spi, listing.spi)


class ListingChannel:
    name = "listing"

    def run(self, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]:
        listing = candidate.listing
        return {
            "listing_text": listing_text_signal(brand, listing),
            "price": price_signal(brand, listing),
            "spi": spi_listing_signal(brand, listing),
        }


CHANNEL = ListingChannel()
