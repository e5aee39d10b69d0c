"""SpI (stitches per inch) range filters from seed 003 (R. Fattini, "Counterfeit Detection Using SpI", 2012).

A = SpI of a verified authentic item, X = SpI of the unknown item. The seed's Table (V) gives the spread of
acceptable ranges as ratios: lower bound L = low/high (mean .7099, sigma .2539), upper bound h = high/low (mean
1.157, sigma .4186). An unknown item passes when L_filter <= X/A <= h_filter. The seed's formula images are
lost; the bounds below are derived from its text and its 20-trial table (full derivation in docs/vision.md):

* "Tom" (liberal): lower bound shifted up within 1 sigma. The table forces 0.80 < L_T <= 0.8333 (Fendi 8/10
  must fail, Val 15/18 and LV 4/4.8 must pass), i.e. mu + k*sigma with k in (0.355, 0.486]; we take the middle,
  k = 0.42 -> 0.8165.
* "Margaret" (conservative): "tightens the lower bound further": 0.85 < L_M <= 0.95 (Coach 17/20 must fail,
  Coach 19/20 must pass), k in (0.552, 0.946]; middle k = 0.75 -> 0.9003.
* Upper bound for both: the mean 1.157 unshifted, because the table makes Val 26/22 = 1.18 fail: an upward shift
  of more than 0.059 sigma would let it pass.
* Routing (seed): if either SpI <= T = 15 use Tom, else Margaret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from common.messages import Signal

# Seed 003, Table (V): means and sigmas of the lower/upper bound ratios.
LOWER_MEAN, LOWER_SIGMA = 0.7099, 0.2539
UPPER_MEAN, UPPER_SIGMA = 1.157, 0.4186
TOM_LOWER_SIGMAS = 0.42  # middle of the interval the seed's trial table allows, (0.355, 0.486]
MARGARET_LOWER_SIGMAS = 0.75  # middle of (0.552, 0.946]
ROUTING_THRESHOLD = 15.0  # seed 003: "when either spi value is <= 15, the set is fed to Tom"

FilterName = Literal["tom", "margaret"]


@dataclass(frozen=True)
class SpiFilter:
    name: FilterName
    lower: float  # minimum X/A
    upper: float  # maximum X/A

    def passes(self, authentic_spi: float, unknown_spi: float) -> bool:
        """True: the unknown item's SpI hits the target zone (consistent with authentic)."""
        ratio = unknown_spi / authentic_spi
        return self.lower - 1e-9 <= ratio <= self.upper + 1e-9


TOM = SpiFilter("tom", LOWER_MEAN + TOM_LOWER_SIGMAS * LOWER_SIGMA, UPPER_MEAN)
MARGARET = SpiFilter("margaret", LOWER_MEAN + MARGARET_LOWER_SIGMAS * LOWER_SIGMA, UPPER_MEAN)
FILTERS: dict[FilterName, SpiFilter] = {"tom": TOM, "margaret": MARGARET}


def route(authentic_spi: float, unknown_spi: float, threshold: float = ROUTING_THRESHOLD) -> SpiFilter:
    """Tom is more accurate on small SpI values, Margaret on large ones (seed 003)."""
    return TOM if min(authentic_spi, unknown_spi) <= threshold else MARGARET


def spi_signal(brand_spi: float | None, listing_spi: float | None) -> Signal:
    """ "spi" signal: fired = the routed filter says the listing's SpI is outside the authentic target zone."""
    if brand_spi is None or listing_spi is None or brand_spi <= 0 or listing_spi <= 0:
        missing = "brand kit has no SpI" if not brand_spi else "listing has no SpI"
        return Signal.not_run("spi", missing)
    filt = route(brand_spi, listing_spi)
    ratio = listing_spi / brand_spi
    detail = {
        "authentic_spi": brand_spi,
        "listing_spi": listing_spi,
        "ratio": round(ratio, 4),
        "filter": filt.name,
        "zone": [round(filt.lower, 4), round(filt.upper, 4)],
    }
    if filt.passes(brand_spi, listing_spi):
        return Signal(
            name="spi",
            status="clear",
            score=0.0,
            reason=f"SpI {listing_spi:g} vs authentic {brand_spi:g} is inside the {filt.name} filter's zone",
            detail=detail,
        )
    # Distance outside the zone in units of the relevant bound's sigma; one sigma out -> score 1.
    excess = (filt.lower - ratio) / LOWER_SIGMA if ratio < filt.lower else (ratio - filt.upper) / UPPER_SIGMA
    return Signal(
        name="spi",
        status="fired",
        score=round(min(1.0, 0.5 + excess / 2), 4),
        reason=(
            f"SpI {listing_spi:g} vs authentic {brand_spi:g} (ratio {ratio:.3f}) is outside the {filt.name} "
            f"filter's zone {filt.lower:.3f}-{filt.upper:.3f}"
        ),
        detail=detail,
    )
