"""The detection benchmark (scripts/bench_detection.py) on a tiny set: generator + `brand add` + `scan --json`
through the real CLI, then the table's structure and two known outcomes (an exact copy is Tier 1, an unrelated
photo is not flagged)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from common.synthetic_listings import SCENARIOS, generate, write_set

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_detection", ROOT / "scripts" / "bench_detection.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_detection"] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def test_generator_is_reproducible_and_labelled():
    a = generate(5, 1, ["exact_copy", "competitor_mark", "barcode_box"])
    b = generate(5, 1, ["exact_copy", "competitor_mark", "barcode_box"])
    assert [i.listing_id for i in a] == ["exact_copy-000", "barcode_box-000", "competitor_mark-000"]
    assert [i.image.tobytes() == j.image.tobytes() for i, j in zip(a, b, strict=True)] == [True] * 3
    assert [i.label for i in a] == ["counterfeit", "counterfeit", "legit"]
    assert a[2].notes["mark"] != a[2].brand_id  # a competitor's mark is never the brand's own
    assert (
        generate(6, 1, ["exact_copy"])[0].image.tobytes() != generate(5, 1, ["exact_copy"])[0].image.tobytes()
    )
    assert {s.label for s in SCENARIOS} == {"counterfeit", "review", "legit"}


def test_listings_that_name_the_brand_without_claiming_it():
    """The counter-examples for brand-named rules: accessories "compatible with" the brand at an accessory's
    price and dupes "like" it are legit; a used item at a used price is review. Each names the brand."""
    from common.brand_mentions import reference_in
    from common.fusion import SECONDHAND_PATTERN
    from common.synthetic_brands import BY_ID

    items = generate(5, 3, ["secondhand_cheap", "accessory_compatible", "comparison"])
    assert [(i.scenario, i.label) for i in items][::3] == [
        ("secondhand_cheap", "review"), ("accessory_compatible", "legit"), ("comparison", "legit")
    ]  # fmt: skip
    for item in items:
        spec = BY_ID[item.brand_id]
        assert spec.name in item.title
        if item.scenario == "secondhand_cheap":
            assert SECONDHAND_PATTERN.search(item.title) and item.inventory == 1
            assert item.price < 0.5 * spec.reference_price and item.seller_id.startswith("private-")
        else:
            assert reference_in([item.title], spec.name) is not None, item.title
        if item.scenario == "accessory_compatible":
            assert item.price <= 0.2 * spec.reference_price  # a price anomaly against the product it fits
    # Adding these scenarios changed no other scenario's draw.
    alone = generate(5, 1, ["title_price"])[0]
    together = next(
        i for i in generate(5, 1, ["title_price", "accessory_compatible"]) if i.scenario == "title_price"
    )
    assert (alone.title, alone.price, alone.image.tobytes()) == (
        together.title,
        together.price,
        together.image.tobytes(),
    )


def test_tiny_run_table_and_known_outcomes(bench, tmp_path: Path):
    items = generate(3, 1, ["exact_copy", "unrelated"], brands=["volta"])
    write_set(items, tmp_path / "set")
    labels = [json.loads(x) for x in (tmp_path / "set" / "labels.jsonl").read_text().splitlines()]
    summary, results, _ = bench.evaluate(ROOT, tmp_path / "set", labels, tmp_path / "home")
    by_scenario = {r["scenario"]: r for r in summary["scenarios"]}
    assert set(by_scenario) == {"exact_copy", "unrelated"}
    assert by_scenario["exact_copy"]["tier1"] == 1.0 and by_scenario["exact_copy"]["errors"] == 0
    assert by_scenario["unrelated"]["tier2_or_better"] == 0.0
    assert summary["false_positives"]["unrelated"] == {"n": 1, "tier1": 0.0, "tier2_or_better": 0.0}
    assert summary["tier1_recall"] == 1.0
    assert [o.rule for o in results if o.scenario == "exact_copy"] == ["hash_short_circuit"]
    table = bench.format_table(summary, "== after ==")
    assert "exact_copy" in table and "Tier<=2" in table and "goal met" in table
    assert "NOT met" not in table.split("Tier-1 recall >= 0.90")[0].splitlines()[-1]
    deltas = bench.format_deltas(summary, summary)
    assert "+0.0" in deltas


def test_corroboration_table_counts_references_as_claims_only_in_its_last_column(bench):
    """The table behind corroborated_brand_mark: a legit accessory naming the brand as a reference has no
    corroborating signals as fusion reads it, and two if "compatible with" counted as a claim."""
    from common.messages import Listing

    def sig(name: str, score: float, **detail) -> dict:
        return {"name": name, "status": "fired", "score": score, "detail": detail}

    labels = [
        {"brand_id": "volta", "listing_id": "a", "label": "counterfeit", "group": "wordmark_alone"},
        {"brand_id": "volta", "listing_id": "b", "label": "legit", "group": "accessory"},
    ]
    records = [
        {"brand_id": "volta", "listing_id": "a",
         "signals": {"ocr_text": sig("ocr_text", 1.0, text="VOLTA", matched="VOLTA", rule="exact"),
                     "copy": sig("copy", 0.9)}},
        {"brand_id": "volta", "listing_id": "b",
         "signals": {"listing_text": sig("listing_text", 1.0, text="VOLTA", rule="exact"),
                     "price": sig("price", 0.95), "embedding": sig("embedding", 0.9)}},
    ]  # fmt: skip
    listings = {
        ("volta", "b"): Listing(listing_id="b", image="x.jpg", title="Dust cover compatible with VOLTA")
    }
    rows = {
        line.split()[0]: line.split()[1:]
        for line in bench.corroboration_table(labels, records, listings).splitlines()[1:]
    }
    assert rows == {"copy+ocr_text": ["1", "0", "0", "0"], "embedding+listing_text": ["0", "0", "0", "1"]}
