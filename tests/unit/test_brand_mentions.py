"""A brand named as a reference ("compatible with VOLTA") is not a brand claim; a plain or disguised claim is."""

from __future__ import annotations

import pytest

from common.brand_mentions import reference_in, reference_phrase


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("Dust cover compatible with VOLTA roadster bike", "compatible with VOLTA"),
        ("Mirror pair fits all VOLTA bikes", "fits all VOLTA"),
        ("Descaling tablets for KAFFEO cup and saucer", "for KAFFEO"),
        ("Foam liner NORDA-compatible outdoor kit box", "NORDA-compatible"),
        ("Espresso cup, KAFFEO style, half the price", "KAFFEO style"),
        ("Retro motorbike, alternative to VOLTA, great value", "alternative to VOLTA"),
        ("Replacement for your VOLTA seat", "Replacement for your VOLTA"),
        ("FITS | VOLTA", "FITS VOLTA"),  # OCR lines, joined by the logo_ocr channel
        ("VOLTA | COMPATIBLE", "VOLTA COMPATIBLE"),
    ],
)
def test_reference_phrases_are_not_claims(text: str, phrase: str):
    name = next(n for n in ("VOLTA", "KAFFEO", "NORDA") if n in text)
    assert reference_phrase(text, name) == phrase


@pytest.mark.parametrize(
    "text",
    [
        "VOLTA cafe racer motorcycle original, new",
        "Used VOLTA roadster bike, quick sale",
        "Like new VOLTA bike",  # "like new" describes the condition, the name is a claim
        "VOLTA cover, fits VOLTA bikes",  # one occurrence claims: the listing claims the brand
        "Genuine VOLTA for sale",  # "for" after the name is no reference
        "Phone mount fits V0LTA",  # the matched span does not occur as written elsewhere
    ],
)
def test_claims_stay_claims(text: str):
    assert reference_phrase(text, "VOLTA") is None


def test_disguised_spellings_are_never_references():
    assert reference_phrase("for V0LTA bikes", "V0LTA", rule="leetspeak") is None
    assert reference_phrase("for VOLTA bikes", "VOLTA", rule="exact") == "for VOLTA"
    assert reference_phrase("for V O L T A bikes", "V O L T A", rule="spacing") is None


def test_reference_over_title_and_description():
    assert reference_in(["Tank bag for VOLTA bikes", "Waterproof, 12 l."], "VOLTA") == "for VOLTA"
    assert reference_in(["Tank bag for VOLTA bikes", "Made by VOLTA in Italy"], "VOLTA") is None
    assert reference_in(["Tank bag", "Fits VOLTA roadsters"], "VOLTA") == "Fits VOLTA"
    assert reference_in(["Tank bag", ""], "VOLTA") is None  # not mentioned at all: nothing to discount
