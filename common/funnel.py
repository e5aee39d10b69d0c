"""The chain's funnel gate that needs fusion (issue 17: stop when the verdict can no longer change).

OCR is the dearest part of a scan (~190 CPU ms of ~560 per demo image, docs/speed.md). The logo_ocr channel
reads the image's text in a *second look* (``pipeline.ocr_step``) that fuse requests only when the text could
still change the tier: once hash, embed and logo_ocr's other signals (logo, colour, barcode) are in, fuse asks
``text_decision`` whether every text reading OCR could return gives the same tier. If so the verdict is
decided without it and its ``ocr_text`` signal is ``not_run`` with that reason; otherwise OCR runs and fuse
decides with its real reading, as before.

The proof is ``common.fusion.decide`` itself, run on a set of stand-in ``ocr_text`` signals that spans
everything fusion reads of that signal (``text_outcomes``):

- *absent* (OCR failed: an error, scored as nothing) and *clear* at 0 and at just under the firing cut
  (``OCR_TEXT_FIRE``): a clear reading adds half its weight times its score to the noisy-OR;
- a *claim* (the brand's name read as the maker's) at the firing cut and at 1.0: it adds weight, a brand mark, a
  primary signal, the Tier 2 floor, and takes independence from a copy up to ``TEXT_EXPLAINED_COPY`` and from
  a logo found only as wordmark-class detector hits (``fusion.independent``);
- a *reference* ("compatible with VOLTA": ``fusion.scored`` clears it) with its lines covering the whole frame
  and with its lines nowhere: clearing the text also clears a copy up to ``TEXT_EXPLAINED_COPY`` and, when every
  counted logo hit is a SIFT match whose inliers lie on the phrase's lines, the logo — so the two cover both
  answers of that test.

Within each kind the tier can only move one way with the score (a higher score raises the noisy-OR and meets the
floor; nothing else reads it), so agreeing at both ends of each kind means agreeing everywhere in it. The rule and
the score may differ (``logo_confirmed_embedding_high`` where the text would have cleared the logo and left
``modified_copy_verified``, say); the tier — what a marketplace and a reviewer act on — cannot.
``tests/unit/test_funnel.py`` checks the claim on random signal sets against random readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from common.brand_model import Brand
from common.messages import Listing, Signal
from common.vision.ocr_inputs import OCR_TEXT_FIRE

TEXT = "ocr_text"
_JUST_BELOW_FIRE = round(OCR_TEXT_FIRE - 1e-4, 4)
_EVERYWHERE = [-1e9, -1e9, 2e9, 2e9]  # a line box round any image
_NOWHERE = [-100.0, -100.0, 1.0, 1.0]  # a line box no inlier box (non-negative pixels) lies inside
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def sift_boxes(logo: Signal | None) -> list[tuple[int, int, int, int]]:
    """The boxes of the SIFT hits of logo_ocr's logo signal, in the matcher's order: the logo boxes the OCR zoom
    looks at first (``LocalVisionBackend.analyze`` passes ``[hit.box for hit in result.logos]`` before the mark
    detector's hits join; ``logo_signal`` lists every hit and the detector's are merged by a stable sort on
    confidence after SIFT's, which the matcher already sorted by confidence, so SIFT's keep their order)."""
    out: list[tuple[int, int, int, int]] = []
    for hit in (logo.detail.get("hits") or []) if logo is not None else []:
        box = hit.get("box") or []
        if hit.get("method") == "sift_homography" and len(box) == 4:
            x, y, w, h = (int(v) for v in box)
            out.append((x, y, w, h))
    return out


def text_outcomes(brand: Brand) -> list[tuple[str, Signal]]:
    """Stand-ins for every kind of ``ocr_text`` signal OCR could produce for ``brand`` (module docstring), as
    (name, signal). A brand that registers no trademarks gets its one signal: not run."""
    if not brand.trademarks:
        return [("no trademarks", Signal.not_run(TEXT, "brand kit registers no trademarks"))]
    mark = str(brand.trademarks[0])
    phrase = f"compatible with {mark}"

    def claim(score: float) -> Signal:
        return Signal(
            name=TEXT,
            status="fired",
            score=score,
            reference=mark,
            detail={"text": mark, "matched": mark, "rule": "exact", "boxes": [], "line_boxes": []},
        )

    def reference(box: list[float]) -> Signal:
        return Signal(
            name=TEXT,
            status="fired",
            score=1.0,
            reference=mark,
            detail={"text": phrase, "matched": mark, "rule": "exact", "boxes": [box], "line_boxes": [box]},
        )

    return [
        ("failed", Signal(name=TEXT, status="error", reason="stand-in: OCR failed")),
        ("nothing read", Signal(name=TEXT, status="clear", score=0.0, detail={"text": ""})),
        ("text just below the cut", Signal(name=TEXT, status="clear", score=_JUST_BELOW_FIRE, detail={})),
        ("the name at the cut", claim(OCR_TEXT_FIRE)),
        ("the name read exactly", claim(1.0)),
        ("the name cited over the whole image", reference(_EVERYWHERE)),
        ("the name cited away from every mark", reference(_NOWHERE)),
    ]


@dataclass(frozen=True)
class TextDecision:
    """Whether the scan still needs OCR, and why (the verdict says it either way)."""

    skip: bool
    reason: str


def text_decision(brand: Brand, listing: Listing, signals: dict[str, Signal]) -> TextDecision:
    """Whether OCR can be left out of this scan given every other signal (``signals``, without ``ocr_text``).
    Pure. Fails safe: a stand-in that fusion does not read as intended (a trademark ``reference_in`` cannot cite)
    means OCR runs."""
    from common.fusion import decide, scored

    if not brand.trademarks:
        return TextDecision(True, "skipped: the brand kit registers no trademarks, so OCR did not run")
    tiers: dict[int, str] = {}
    outcomes = text_outcomes(brand)
    for name, stand_in in outcomes:
        trial = dict(signals) | {TEXT: stand_in}
        if (
            stand_in.detail.get("line_boxes")
            and "reference_phrase" not in scored(trial, listing)[TEXT].detail
        ):
            return TextDecision(
                False, "read: fusion could not be checked against a cited brand name for this kit, so OCR ran"
            )
        verdict = decide(brand, listing, trial, scan_id="text-gate", now=_EPOCH)
        tiers.setdefault(verdict.tier, name)
    if len(tiers) > 1:
        cases = ", ".join(f"Tier {t} if {name}" for t, name in sorted(tiers.items()))
        return TextDecision(False, f"read: the image's text could change the tier ({cases}), so OCR ran")
    (tier,) = tiers
    return TextDecision(
        True,
        f"skipped: the verdict is Tier {tier} whatever the image's text says (fusion checked {len(outcomes)} "
        "readings: none, some text, the brand's name claimed, the name cited), so OCR did not run",
    )
