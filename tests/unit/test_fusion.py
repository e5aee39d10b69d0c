"""Fusion rules per seed-004 scenario: tiers, short-circuits, exemptions, honest handling of missing channels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.brands import Brand
from common.fusion import decide, scored
from common.listing_signals import price_signal
from common.messages import Listing, Signal

NOW = datetime(2026, 11, 22, tzinfo=UTC)
BRAND = Brand(
    brand_id="acme",
    display_name="ACME",
    trademarks=["ACME"],
    colors=["#D7141A"],
    authorized_sellers=["acme-official"],
    barcodes=["012345678905"],
    reference_price=120.0,
    currency="USD",
    category="motorbike",
    spi=12,
    version="v1",
)


def fired(name: str, score: float, ref: str | None = None) -> Signal:
    return Signal(name=name, status="fired", score=score, reference=ref, reason=f"{name} fired")


def clear(name: str, score: float = 0.1) -> Signal:
    return Signal(name=name, status="clear", score=score)


def listing(**kw) -> Listing:
    return Listing(listing_id=kw.pop("listing_id", "l1"), image="x.jpg", **kw)


def run(signals: dict[str, Signal], **kw):
    return decide(BRAND, listing(**kw), signals, scan_id="s1", now=NOW)


def test_s1_hash_match_short_circuits_to_tier1():
    v = run({"hash": fired("hash", 0.97, "reference:a.jpg")})
    assert (v.tier, v.rule) == (1, "hash_short_circuit")
    assert v.best_reference == "reference:a.jpg"
    assert v.score >= 0.85
    assert "hash fired" in v.reasons


def test_s19_authorized_seller_passes_even_with_hash_match():
    v = run({"hash": fired("hash", 1.0)}, seller_id="ACME-Official ")
    assert v.tier == 4
    assert v.exemptions == ["authorized_seller"]
    assert "authorized seller" in v.reasons[0]


@pytest.mark.parametrize(
    "emb,rule", [(0.9, "logo_confirmed_embedding_high"), (0.6, "logo_confirmed_embedding_moderate")]
)
def test_s3_logo_confirmed_with_visual_similarity_is_tier1(emb, rule):
    v = run(
        {
            "logo": fired("logo", 0.9, "logo:mark.png"),
            "embedding": fired("embedding", emb) if emb >= 0.8 else clear("embedding", emb),
        }
    )
    assert (v.tier, v.rule) == (1, rule)


def test_s6_logo_alone_is_watch_tier2():
    v = run({"logo": fired("logo", 0.95), "embedding": clear("embedding", 0.1)})
    assert v.tier == 2


def test_s17_lookalike_without_mark_is_at_most_tier3():
    v = run(
        {
            "embedding": fired("embedding", 0.99),
            "logo": clear("logo", 0.0),
            "ocr_text": clear("ocr_text", 0.0),
        }
    )
    assert v.tier == 3
    assert v.rule == "lookalike_without_mark"


def test_s2_verified_modified_copy_with_high_similarity_is_tier1():
    v = run({"copy": fired("copy", 0.8, "reference:a.jpg"), "embedding": fired("embedding", 0.9)})
    assert (v.tier, v.rule) == (1, "modified_copy_verified")


def test_weighted_tier1_needs_multiple_signals():
    two = run({"logo": fired("logo", 1.0), "ocr_text": fired("ocr_text", 1.0)})
    assert two.tier == 1 and two.rule == "weighted_multi_signal"
    one = run({"hash": clear("hash", 0.2), "barcode": fired("barcode", 1.0)})
    assert one.tier == 2


def test_s18_secondhand_never_tier1_but_review():
    v = run({"hash": fired("hash", 1.0)}, title="Used ACME jacket, 9/10 condition", inventory=1)
    assert v.tier == 2
    assert "secondhand" in v.exemptions
    assert any("lawful resale" in r for r in v.reasons)


def test_s18_secondhand_exemption_void_with_large_inventory():
    v = run({"hash": fired("hash", 1.0)}, title="Used ACME jacket", inventory=999)
    assert v.tier == 1
    assert "secondhand_voided_by_inventory" in v.exemptions


def test_missing_channels_count_neither_way():
    base = {"logo": fired("logo", 0.95)}
    with_missing = dict(
        base, embedding=Signal.not_run("embedding", "model down"), ocr_text=Signal.not_run("ocr_text", "x")
    )
    assert run(base).score == run(with_missing).score
    assert run(base).tier == run(with_missing).tier
    nothing = run({"embedding": Signal.not_run("embedding", "down")})
    assert nothing.tier == 4
    assert "Not run: embedding" in nothing.reasons[0]


def test_auxiliary_signals_alone_are_not_evidence():
    v = run(
        {"price": fired("price", 0.9), "color": fired("color", 1.0), "embedding": clear("embedding", 0.05)}
    )
    assert v.tier == 4
    boosted = run({"logo": fired("logo", 0.9), "price": fired("price", 0.9)})
    assert boosted.score > run({"logo": fired("logo", 0.9)}).score


def test_irrelevant_is_tier4():
    v = run({"hash": clear("hash", 0.3), "embedding": clear("embedding", 0.05), "logo": clear("logo", 0.0)})
    assert v.tier == 4


def test_price_signal_seed002():
    cheap = price_signal(BRAND, listing(price=30.0, currency="USD"))
    assert cheap.status == "fired" and cheap.score == pytest.approx(0.75)
    normal = price_signal(BRAND, listing(price=110.0))
    assert normal.status == "clear"
    other = price_signal(BRAND, listing(price=10.0, currency="EUR"))
    assert other.status == "not_run"


@pytest.mark.parametrize("mark,score", [("ocr_text", 1.0), ("logo", 0.6), ("barcode", 0.8), ("copy", 0.5)])
def test_one_confident_image_mark_alone_is_at_least_tier2(mark: str, score: float):
    """Seed 004 Tier 2: one brand mark read from the image needs a human, even when its weight alone is short."""
    v = run({mark: fired(mark, score), "embedding": clear("embedding", 0.1), "hash": clear("hash", 0.2)})
    assert (v.tier, v.rule) == (2, "one_brand_mark")
    assert v.score >= 0.65
    assert any("One brand mark" in r for r in v.reasons)


def test_one_mark_floor_never_overrides_the_whitelist():
    v = run({"ocr_text": fired("ocr_text", 1.0)}, seller_id="acme-official")
    assert v.tier == 4 and v.exemptions == ["authorized_seller"]


def test_brand_in_title_with_price_anomaly_is_at_least_tier2():
    """Seed 002: brand name + abnormal price = counterfeit; weights alone gave 0.59-0.63 (Tier 3)."""
    listing_text = fired("listing_text", 1.0)
    v = run(
        {"listing_text": listing_text, "price": fired("price", 0.9), "embedding": clear("embedding", 0.2)}
    )
    assert (v.tier, v.rule) == (2, "brand_named_price_anomaly")
    named_only = run({"listing_text": listing_text, "price": clear("price", 0.0)})
    assert named_only.tier >= 3  # the brand's name at a normal price is a normal listing


def test_lookalike_without_mark_stays_tier3_even_when_cheap():
    v = run(
        {"embedding": fired("embedding", 0.99), "price": fired("price", 0.9), "color": fired("color", 1.0)}
    )
    assert (v.tier, v.rule) == (3, "lookalike_without_mark")


def _detector_logo(confidence: float, ref_id: str = "logo:mark.png") -> Signal:
    hit = {
        "ref_id": ref_id,
        "confidence": confidence,
        "method": "mark_detector",
        "box": [0, 0, 9, 9],
    }
    return Signal(name="logo", status="fired", score=confidence, detail={"hits": [hit]})


def test_detector_hit_alone_does_not_short_circuit_tier1():
    """A trained detector's probability is no geometric confirmation: a competitor's mark of the same layout on
    a look-alike (embedding high) must not reach Tier 1 through the logo short-circuit."""
    v = run({"logo": _detector_logo(0.6), "embedding": fired("embedding", 0.95)})
    assert not v.rule.startswith("logo_confirmed")
    sure = run({"logo": _detector_logo(0.99), "embedding": fired("embedding", 0.95)})
    assert (sure.tier, sure.rule) == (1, "logo_confirmed_embedding_high")
    sift = Signal(name="logo", status="fired", score=0.6,
                  detail={"hits": [{"method": "sift_homography", "confidence": 0.6}]})  # fmt: skip
    assert run({"logo": sift, "embedding": fired("embedding", 0.95)}).rule == "logo_confirmed_embedding_high"


def test_detector_hit_with_lookalike_embedding_is_review_not_tier1():
    """The competitor-mark false positive: an unconfirmed detector hit + a high embedding summed past 0.85."""
    v = run({"logo": _detector_logo(0.79), "embedding": fired("embedding", 0.99)})
    assert (v.tier, v.rule) == (2, "weighted_unverified_mark")
    with_text = run({"logo": _detector_logo(0.79), "embedding": fired("embedding", 0.95),
                     "ocr_text": fired("ocr_text", 1.0)})  # fmt: skip
    assert with_text.tier == 1  # the brand's name read in the image verifies it
    confirmed = run({"logo": _detector_logo(0.8), "embedding": fired("embedding", 0.95)})
    assert (confirmed.tier, confirmed.rule) == (1, "logo_confirmed_embedding_high")
    # A wordmark-class hit never confirms, nor counts as a mark: the wordmark is OCR's to read.
    word = run({"logo": _detector_logo(0.99, "wordmark:ACME"), "embedding": fired("embedding", 0.95)})
    assert (word.tier, word.rule) == (3, "lookalike_without_mark")


def test_wordmark_class_detector_hit_alone_is_not_a_brand_mark():
    """The look-alike false positives (S17, seed 2027: a wordmark-class hit on gravel at p 0.79; seed 8181: an
    18 px window on a competitor's look-alike at 0.915): a wordmark-class hit at any p neither floors Tier 2 nor
    lifts the look-alike cap; it stays in the detail for reviewers."""
    from common.fusion import DETECTOR_MARK

    assert "wordmark" not in DETECTOR_MARK
    for p in (0.79, 0.915, 0.99):
        capped = run({"logo": _detector_logo(p, "wordmark:ACME"), "embedding": fired("embedding", 0.7)})
        assert capped.tier == 3 and capped.rule == "lookalike_without_mark"
        assert any("not scored" in r for r in capped.reasons)
        alone = run({"logo": _detector_logo(p, "wordmark:ACME")})
        assert alone.tier == 4 and alone.score == 0.0 and "No signal found evidence" in alone.reasons[0]
        assert alone.signals["logo"].detail["hits"][0]["ref_id"] == "wordmark:ACME"  # kept for reviewers
    # A logo-class hit stands at the brand's own threshold.
    assert run({"logo": _detector_logo(0.7)}).rule == "one_brand_mark"
    sift = Signal(name="logo", status="fired", score=0.5,
                  detail={"hits": [{"method": "sift_homography", "confidence": 0.5}]})  # fmt: skip
    assert run({"logo": sift}).tier == 2  # a geometric match is never discounted


def _text(name: str, span: str, *, ocr_text: str | None = None, rule: str = "exact") -> Signal:
    detail = {"rule": rule} | (
        {"matched": span, "text": ocr_text} if ocr_text is not None else {"text": span}
    )
    return Signal(name=name, status="fired", score=1.0, detail=detail, reason=f"{name} names {span}")


def test_brand_named_as_a_reference_is_not_a_brand_claim():
    """An accessory "compatible with ACME" at an accessory's price: the listing names the brand, the price is an
    anomaly, the photo may look like the product, and the label may say "FITS ACME" — none of it claims the
    brand, so neither the seed-002 floor nor the one-mark floor applies (docs/detection.md)."""
    signals = {
        "listing_text": _text("listing_text", "ACME"),
        "price": fired("price", 0.95),
        "embedding": fired("embedding", 0.9),
        "ocr_text": _text("ocr_text", "ACME", ocr_text="FITS | ACME"),
    }
    v = run(signals, title="Phone mount compatible with ACME roadsters", price=6.0)
    assert (v.tier, v.rule) == (3, "lookalike_without_mark")
    assert sum("as a reference" in r for r in v.reasons) == 2
    claimed = run(signals, title="ACME roadster phone mount, original", price=6.0)
    assert claimed.tier <= 2  # the same signals with the name as a claim: a human looks
    labelled = {"ocr_text": _text("ocr_text", "ACME", ocr_text="ACME | ORIGINAL")}
    assert run(labelled, title="Phone mount for ACME").rule == "one_brand_mark"  # the label claims it


def test_disguised_name_after_a_reference_phrase_still_counts():
    signals = {"listing_text": _text("listing_text", "AC3ME", rule="leetspeak"), "price": fired("price", 0.9)}
    v = run(signals, title="Tank bag for AC3ME bikes")
    assert (v.tier, v.rule) == (2, "brand_named_price_anomaly")


@pytest.mark.parametrize(
    "signals",
    [
        # seed 14's two-signal counterfeits that the weights left at 0.79-0.85 (docs/detection.md)
        {"ocr_text": fired("ocr_text", 0.9), "embedding": fired("embedding", 0.64)},  # leetspeak, a like photo
        {"listing_text": fired("listing_text", 1.0), "price": fired("price", 0.92),
         "embedding": fired("embedding", 0.73)},  # brand named at 8 % of the price, a photo like the product
        {"barcode": fired("barcode", 1.0), "embedding": fired("embedding", 0.8)},
        {"logo": _detector_logo(0.72), "ocr_text": fired("ocr_text", 1.0)},  # tiled pattern: detector + text
    ],
)  # fmt: skip
def test_two_independent_primaries_with_a_verified_mark_are_tier1(signals: dict[str, Signal]):
    v = run(signals)
    assert (v.tier, v.rule) == (1, "corroborated_brand_mark")
    assert v.score >= 0.85 and any("Independent signals agree" in r for r in v.reasons)
    used = run(signals, title="Used ACME jacket, 9/10 condition", inventory=1)
    assert (used.tier, used.rule) == (2, "corroborated_brand_mark+secondhand_review")
    assert run(signals, seller_id="acme-official").tier == 4


@pytest.mark.parametrize(
    "signals",
    [
        {"logo": _detector_logo(0.79), "embedding": fired("embedding", 0.99)},  # no verified mark
        {"listing_text": fired("listing_text", 1.0), "embedding": fired("embedding", 0.9)},  # normal price
        {"embedding": fired("embedding", 0.99), "price": fired("price", 0.9)},  # a cheap look-alike
    ],
)  # fmt: skip
def test_signals_that_do_not_corroborate_stay_below_tier1(signals: dict[str, Signal]):
    assert run(signals).tier >= 2


def test_a_wordmark_class_hit_does_not_corroborate_the_wordmark_ocr_read():
    from common.fusion import corroborating

    word = {"logo": _detector_logo(0.95, "wordmark:ACME"), "ocr_text": fired("ocr_text", 1.0)}
    assert corroborating(word) == ["ocr_text"]  # one printed word, seen twice
    emblem = {"logo": _detector_logo(0.72), "ocr_text": fired("ocr_text", 1.0)}
    assert corroborating(emblem) == ["logo", "ocr_text"]


def test_a_weak_copy_is_the_printed_name_not_a_second_signal():
    """Seed 14: the brand's name on a label of a counterfeiter's own product made copy verification fire at
    13-20 inliers (0.51-0.61) against the wordmark in the kit's photos: one printed word, not two signals. Where
    the label only cites the brand ("SUITS NORDA"), the copy is not scored either (seed 2027: an accessory at
    Tier 1 by copy 0.50 + embedding 0.95)."""
    from common.fusion import TEXT_EXPLAINED_COPY

    word = {"ocr_text": fired("ocr_text", 1.0), "copy": fired("copy", TEXT_EXPLAINED_COPY)}
    assert run(word).tier == 2 and run(word).rule != "corroborated_brand_mark"
    photo = {"ocr_text": fired("ocr_text", 1.0), "copy": fired("copy", 0.7)}
    assert run(photo).tier == 1  # more inliers than any printed name gave: two signals
    cited = {
        "ocr_text": _text("ocr_text", "ACME", ocr_text="SUITS | ACME"),
        "copy": fired("copy", 0.5),
        "embedding": fired("embedding", 0.95),
    }
    v = run(cited, title="Dust bag suits ACME boxes", price=19.0)
    assert (v.tier, v.rule) == (3, "lookalike_without_mark")
    assert any("no more than the brand's name printed" in r for r in v.reasons)
    stolen = dict(cited, copy=fired("copy", 0.9))  # a real copy of the brand's photo stays one
    assert run(stolen, title="Dust bag suits ACME boxes").rule == "modified_copy_verified"


@pytest.mark.parametrize(
    "mark",
    [
        fired("barcode", 1.0),  # the brand's EAN-13 on a plain box
        _text("ocr_text", "ACME", ocr_text="ACME"),  # the wordmark on a label of an own product
        fired("ocr_text", 0.9),  # a leetspeak name read on the label
        _detector_logo(0.95),  # a logo the trained detector confirms
    ],
)  # fmt: skip
def test_a_brand_mark_in_the_image_at_an_abnormal_price_is_tier1(mark: Signal):
    """Seed 002's two characteristics of an online counterfeit, from two sources: the brand's mark in the image
    and a very low price. A mark alone, or the price beside a look-alike photo, stays below Tier 1."""
    signals = {mark.name: mark, "price": fired("price", 0.7)}
    v = run(signals, title="Cafe racer, top quality", price=36.0)
    assert (v.tier, v.rule) == (1, "corroborated_brand_mark")
    assert run({mark.name: mark}, title="Cafe racer, top quality").tier == 2
    used = run(signals, title="Used cafe racer, pre-owned", price=36.0, inventory=1)
    assert used.tier == 2  # a private resale at a used price: a human looks
    unconfirmed = {"logo": _detector_logo(0.75), "price": fired("price", 0.7)}
    assert run(unconfirmed).tier == 2  # a detector's hit below its confirmation level is not verified


def test_an_accessory_price_is_not_an_anomaly_of_the_brand_it_cites():
    """An accessory, "cup warmer fits ACME", at 12 % of the reference price: the listing cites the brand, so the product is not
    the brand's and the price anomaly says nothing (the price is scored as clear); the image's marks decide."""
    signals = {
        "listing_text": _text("listing_text", "ACME"),
        "price": fired("price", 0.9),
        "barcode": fired("barcode", 1.0),
    }
    v = run(signals, title="Cup warmer fits ACME cups", price=14.0)
    assert (v.tier, v.rule) == (2, "weighted")
    assert scored(signals, listing(title="Cup warmer fits ACME cups"))["price"].status == "clear"
    assert run(signals, title="ACME cup warmer, original", price=14.0).tier == 1  # a claim at that price


def _sift_logo(inlier_box: list[int]) -> Signal:
    hit = {"method": "sift_homography", "confidence": 0.81, "inliers": 22, "box": [212, 53, 340, 325],
           "inlier_box": inlier_box, "ref_id": "logo:acme.png"}  # fmt: skip
    return Signal(name="logo", status="fired", score=0.81, detail={"hits": [hit]}, reason="logo found")


def test_a_logo_match_on_cited_letters_is_the_name_not_the_mark():
    """Seed 6161: SIFT matched the label's letters "FITS KAFFEO" to the wordmark band of the brand's logo file
    (22 inliers, 0.81), all of them on the line OCR read. Where OCR reads that name as a reference, such a match
    is the cited name; a match with inliers off the letters (the emblem) still counts."""
    ocr = _text("ocr_text", "ACME", ocr_text="FITS | ACME")
    lines = {"boxes": [[290, 287, 188, 44]], "line_boxes": [[300, 228, 150, 44], [290, 287, 188, 44]]}
    ocr = ocr.model_copy(update={"detail": ocr.detail | lines})
    title = {"title": "Cup warmer fits ACME cups", "price": 14.0}
    cites = {"ocr_text": ocr, "price": fired("price", 0.9), "listing_text": _text("listing_text", "ACME")}
    v = run(cites | {"logo": _sift_logo([306, 233, 182, 86])}, **title)  # over both lines
    assert v.tier >= 3 and any("not on the mark" in r for r in v.reasons)
    assert not any("trained mark detector" in r for r in v.reasons)
    emblem = cites | {"logo": _sift_logo([230, 70, 300, 260])}
    assert run(emblem, **title).tier == 2  # the emblem matched: one brand mark, a human looks
    # OCR reads emblems as text too: a line over the emblem ("YALMA") is not the cited name's letters.
    emblem_read = {"boxes": [[290, 287, 188, 44]], "line_boxes": [[300, 228, 150, 44], [290, 287, 188, 44]]}
    yalma = _text("ocr_text", "ACME", ocr_text="YALMA | FITS ACME")
    yalma = yalma.model_copy(update={"detail": yalma.detail | emblem_read})
    assert run(cites | {"ocr_text": yalma, "logo": _sift_logo([306, 233, 182, 86])}, **title).tier == 2
    claimed = _text("ocr_text", "ACME", ocr_text="ACME")
    claimed = claimed.model_copy(update={"detail": claimed.detail | {"boxes": [[290, 287, 188, 44]]}})
    assert run({"logo": _sift_logo([296, 290, 170, 36]), "ocr_text": claimed}).tier <= 2


def test_a_sift_logo_on_the_letters_ocr_read_is_one_mark_not_two():
    """The logo file's wordmark band matched to a label's printed name, all inliers on the line OCR read the
    name from: the same printed word seen by two channels, one independent signal (no Tier 1 from the pair);
    a match reaching the emblem, or a detector's logo-class window, is a mark of its own beside the reading."""
    from common.fusion import independent

    claimed = _text("ocr_text", "ACME", ocr_text="ACME")
    claimed = claimed.model_copy(update={"detail": claimed.detail | {"boxes": [[290, 287, 188, 44]]}})
    on_letters = {"logo": _sift_logo([296, 290, 170, 36]), "ocr_text": claimed}
    assert independent(on_letters) == ["ocr_text"]
    assert run(on_letters).tier == 2
    emblem = {"logo": _sift_logo([230, 70, 300, 260]), "ocr_text": claimed}
    assert independent(emblem) == ["logo", "ocr_text"]
    assert run(emblem).tier == 1
    window = {
        "method": "mark_detector",
        "confidence": 0.93,
        "ref_id": "logo:acme.png",
        "box": [280, 280, 200, 60],
    }
    detector = Signal(name="logo", status="fired", score=0.93, detail={"hits": [window]}, reason="logo found")
    assert independent({"logo": detector, "ocr_text": claimed}) == ["logo", "ocr_text"]
    # Without line boxes (an older record) nothing can be told apart: both count, as before.
    bare = _text("ocr_text", "ACME", ocr_text="ACME")
    assert independent({"logo": _sift_logo([296, 290, 170, 36]), "ocr_text": bare}) == ["logo", "ocr_text"]
