"""Every signal in the registry (common.signals) is produced by its channel, fused with its registered weight and
role, reported on the verdict, the evaluation report and the review page, and documented in docs/ARCHITECTURE.md.

A new signal that is registered but not wired somewhere fails one of these tests; so does one that is produced
but not registered (the verdict would carry a name the registry does not know).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common import evaluate, ingest, pipeline, topics
from common import signals as registry
from common.brand_model import Brand
from common.brands import register_brand
from common.fusion import IMAGE_MARKS, decide
from common.messages import Listing, Signal, Verdict
from common.review.app import create_review_app
from common.scan import local_runtime
from common.settings import Settings
from common.tiers import TIER2_MIN

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path):
    """One full-chain scan (no hash short-circuit) of a listing that gives every channel something to read."""
    home = tmp_path_factory.mktemp("registry")
    deps, bus = local_runtime(Settings(home=home, review_tokens={"tok": ("acme",)}))
    register_brand(deps, demo_dir / "kit")
    path = demo_dir / "candidates" / "s7-text.jpg"
    listing = Listing(
        listing_id="every-signal", image=str(path), title="ACME roadster", price=20.0, currency="USD", spi=9.0
    )
    scan_id = ingest.ingest_listing(deps, "acme", listing, path.read_bytes(), "registry:every-signal")
    bus.drain()
    verdict = Verdict.model_validate(deps.docs.get(pipeline.verdict_path("acme", scan_id)))
    scan = deps.docs.get(pipeline.scan_path("acme", scan_id)) or {}
    return deps, verdict, scan


def test_every_registered_signal_is_produced_by_its_channel(scanned) -> None:
    _, verdict, scan = scanned
    assert list(verdict.signals) == list(registry.names()), "verdicts list exactly the registry, in its order"
    for spec in registry.SIGNALS:
        signal = verdict.signals[spec.name]
        assert signal.name == spec.name
        assert signal.status != "not_run", f"{spec.name}: {signal.reason}"
        if spec.channel != "listing":  # the listing channel runs inside fuse; the others record their output
            recorded = dict(scan["channels"][spec.channel])
            if spec.channel == "logo_ocr":  # or in its second look, which fuse requested here (common.funnel)
                recorded |= scan["channels"].get(topics.TEXT_LOOK, {})
            assert spec.name in recorded, f"{spec.name} not recorded by {spec.channel}"
    assert "ocr_text" in scan["channels"][topics.TEXT_LOOK]  # this listing's tier depends on its text
    assert scan["text_look"].startswith("read: the image's text could change the tier")


def test_fusion_weighs_each_signal_as_registered() -> None:
    brand_marks = registry.names("brand_mark")
    for spec in registry.SIGNALS:
        fired = {spec.name: Signal(name=spec.name, status="fired", score=1.0, reason=f"{spec.name} fired")}
        alone = _decide(fired)
        if spec.role in ("brand_mark", "primary"):
            # One brand mark read from the image alone is floored at Tier 2's edge (fusion.IMAGE_MARKS).
            floor = TIER2_MIN if spec.name in IMAGE_MARKS else 0.0
            assert alone.score == pytest.approx(max(spec.weight, floor)), spec.name
            assert f"{spec.name} fired" in alone.reasons
        else:  # auxiliary signals add nothing without a brand mark; info signals never score
            assert alone.score == 0.0, spec.name
            assert f"{spec.name} fired" not in alone.reasons
        if spec.role == "auxiliary":
            mark = brand_marks[0]
            with_mark = fired | {mark: Signal(name=mark, status="fired", score=1.0)}
            expected = 1 - (1 - registry.weight(mark)) * (1 - spec.weight)
            assert _decide(with_mark).score == pytest.approx(expected, abs=1e-6), spec.name


def test_every_signal_has_a_cost_row_in_the_evaluation_report() -> None:
    for spec in registry.SIGNALS:
        assert evaluate.SIGNAL_CHANNEL[spec.name] in evaluate.DECLARED_CHANNEL_MS, spec.name


def test_review_page_shows_every_signal_with_its_channel_and_role(scanned) -> None:
    deps, verdict, _ = scanned
    page = (
        create_review_app(lambda: deps)
        .test_client()
        .get(f"/brands/acme/items/{verdict.scan_id}", headers={"Authorization": "Bearer tok"})
    )
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>([a-z_]+)</td>(.*?)</tr>", page.text, re.S)
    shown = {name: cells for name, cells in rows if name in registry.BY_NAME}
    assert set(shown) == set(registry.names())
    for spec in registry.SIGNALS:
        cells = re.findall(r"<td>(.*?)</td>", shown[spec.name], re.S)
        assert cells[-2:] == [spec.channel, spec.role.replace("_", " ")], spec.name
    assert "Received image" in shown["resolution"]  # the info signal's sentence reaches the reviewer


def test_every_signal_is_documented_with_its_channel_and_role() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for spec in registry.SIGNALS:
        row = re.search(rf"^\| `{spec.name}` \| (\S+) \| ([a-z ]+) \| ([0-9.]+) \|", text, re.M)
        assert row is not None, f"docs/ARCHITECTURE.md has no signal row for {spec.name}"
        assert row.groups() == (spec.channel, spec.role.replace("_", " "), f"{spec.weight:g}"), spec.name


def test_reasons_keep_their_order_strongest_primary_first() -> None:
    """Fired signals' reasons are listed primaries first, strongest weight first (the order fusion always used)."""
    scored = sorted(registry.names(role=None), key=registry.fusion_rank)
    scored = [n for n in scored if registry.BY_NAME[n].role in registry.SCORED_ROLES]
    assert scored[:10] == [
        "hash", "copy", "logo", "barcode", "embedding", "ocr_text", "listing_text", "spi", "price", "color",
    ]  # fmt: skip
    assert registry.weight("not-a-signal") == 0.0
    assert registry.fusion_rank("not-a-signal") == registry.fusion_rank("resolution")  # unscored: last


BRAND = Brand(
    brand_id="acme", display_name="ACME", trademarks=["ACME"], colors=[], authorized_sellers=[], barcodes=[],
    reference_price=None, currency=None, category=None, spi=None, version="1",
)  # fmt: skip


def _decide(signals: dict[str, Signal]) -> Verdict:
    return decide(BRAND, Listing(listing_id="x", image="x.jpg"), signals, scan_id="s", now=NOW)
