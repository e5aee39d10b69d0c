"""The signal registry: every signal a verdict can carry, declared once.

A signal is one piece of evidence (``messages.Signal``) produced by one channel. Its spec says which channel
produces it, what role it plays in fusion, how much one fully confident firing proves (the noisy-OR weight) and
which reference-side features (``brand add`` extractors) it reads. The pipeline (which signals to expect and in
what order to report them), fusion (weights, primary / brand-mark / auxiliary), the evaluation report (time per
channel), the review page (channel and role per signal) and docs/ARCHITECTURE.md all read this table;
``tests/unit/test_signal_registry.py`` proves each registered signal is produced, fused, reported and documented.

Adding a signal to an existing channel: write its module with ``produce(deps, brand, candidate) -> Signal`` and
add one ``SignalSpec`` below naming it in ``produce``; ``common.channels.run_channel`` calls it after the channel's
own signals. A new channel also needs its step (``common.pipeline``), topic and function (see docs/ARCHITECTURE.md,
"Where to change what").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["brand_mark", "primary", "auxiliary", "info"]
ChannelName = Literal["hash", "embed", "logo_ocr", "listing"]

# Roles, for fusion:
# - brand_mark: evidence of the brand itself (its photo, logo, code or name); counts toward Tier 1's "two primary
#   signals" and lifts the dual-track cap (S17) and the auxiliary gate.
# - primary: strong evidence that is not a brand mark (the embedding: "looks like the product").
# - auxiliary: adds weight only when a brand mark fired (colour, price, SpI: not evidence on their own).
# - info: shown to reviewers, never scored (weight 0).
SCORED_ROLES: tuple[Role, ...] = ("brand_mark", "primary", "auxiliary")


@dataclass(frozen=True)
class SignalSpec:
    name: str
    channel: ChannelName
    role: Role
    weight: float  # noisy-OR reliability: how much one fully confident firing alone proves (0 for info)
    needs: tuple[str, ...]  # reference-side features it reads: brand add extractor names or brand.json fields
    meaning: str  # what the score says (docs/ARCHITECTURE.md's signal table is generated from this)
    produce: str | None = None  # "module:function" for a signal its channel does not produce itself

    @property
    def is_primary(self) -> bool:
        return self.role in ("brand_mark", "primary")


# Report order (how verdicts list their signals). Weights were chosen so that one strong primary signal lands in
# Tier 2 ("only one signal fired; requires human confirmation"), a visual look-alike alone lands in Tier 3 at
# best, and two agreeing primaries reach Tier 1 (seed 004 chapter 8).
SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "hash", "hash", "brand_mark", 0.95, ("hash",),
        "near-duplicate of a reference photo (perceptual hashes within their thresholds) or of an imported "
        "hash-list entry",
    ),
    SignalSpec(
        "copy", "embed", "brand_mark", 0.90, ("copy",),
        "edited copy of a reference photo: SIFT keypoints agree on one homography",
    ),
    SignalSpec(
        "embedding", "embed", "primary", 0.62, ("embed",),
        "calibrated probability-like 0-1 that the candidate shows a reference product",
    ),
    SignalSpec(
        "logo", "logo_ocr", "brand_mark", 0.80, ("logo",),
        "a registered logo is present: a verified SIFT geometric match or the brand's trained mark detector "
        "(calibrated probability; detail says which detector saw it and where)",
    ),
    SignalSpec(
        "ocr_text", "logo_ocr", "brand_mark", 0.60, ("trademarks",),
        "best brand-text match in the text read from the image",
    ),
    SignalSpec(
        "color", "logo_ocr", "auxiliary", 0.15, ("colors",),
        "brand colour presence among the image's dominant colours",
    ),
    SignalSpec(
        "barcode", "logo_ocr", "brand_mark", 0.70, ("barcodes",),
        "a decoded QR/barcode equals a registered brand code",
    ),
    SignalSpec(
        "listing_text", "listing", "brand_mark", 0.45, ("trademarks", "display_name"),
        "brand mention in the listing's title or description",
    ),
    SignalSpec(
        "price", "listing", "auxiliary", 0.20, ("reference_price", "currency"),
        "price anomaly against the brand's reference price",
    ),
    SignalSpec(
        "spi", "listing", "auxiliary", 0.30, ("spi",),
        "the SpI (stitches per inch) filter says counterfeit (seed 003)",
    ),
    SignalSpec(
        "resolution", "hash", "info", 0.0, (),
        "pixel size of the received image and whether small logos and text can still be read (reviewers)",
        produce="common.quality:resolution_signal",
    ),
)  # fmt: skip

BY_NAME: dict[str, SignalSpec] = {s.name: s for s in SIGNALS}
CHANNELS: tuple[ChannelName, ...] = ("hash", "embed", "logo_ocr", "listing")
# The chain step each channel runs in: hash, embed and logo_ocr are steps (and functions) of their own; the
# listing's signals need no image, so fuse computes them when it decides.
CHANNEL_STEP: dict[str, str] = {
    "hash": "hash_match",
    "embed": "embed",
    "logo_ocr": "logo_ocr",
    "listing": "fuse",
}


def spec(name: str) -> SignalSpec | None:
    return BY_NAME.get(name)


def of_channel(channel: str) -> tuple[SignalSpec, ...]:
    return tuple(s for s in SIGNALS if s.channel == channel)


def names(role: Role | None = None) -> tuple[str, ...]:
    return tuple(s.name for s in SIGNALS if role is None or s.role == role)


def weight(name: str) -> float:
    found = BY_NAME.get(name)
    return found.weight if found is not None else 0.0


def fusion_rank(name: str) -> int:
    """Order in which fired signals' reasons are listed: scored roles first, the strongest weight first."""
    ranked = sorted(
        (s for s in SIGNALS if s.role in SCORED_ROLES), key=lambda s: (s.role == "auxiliary", -s.weight)
    )
    order = [s.name for s in ranked]
    return order.index(name) if name in order else 99


def channel_of(name: str) -> str | None:
    found = BY_NAME.get(name)
    return found.channel if found is not None else None
