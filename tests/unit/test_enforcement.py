"""Notices and enforcement cases on the embedded default: from a confirmed verdict to a filed takedown."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from common.enforcement import cases
from common.enforcement.notice import generate_notice
from common.errors import BadInput
from common.evidence import verify_recorded
from common.evidence.pdf import ReportContext, _Report, render_report
from common.review.queue import record_decision
from tests.unit.test_evidence_bundle import BRAND, NOW, seed
from tests.unit.test_rights_register import REGISTER

REGISTER_DOC = json.loads(json.dumps(REGISTER))


def _seed(tmp_path: Path, *, register: bool = True, tier: int = 1):
    deps, verdict = seed(tmp_path)
    if register:
        doc = deps.docs.get(f"brands/{BRAND}") or {}
        deps.docs.set(f"brands/{BRAND}", doc | REGISTER_DOC)
    if tier != 1:
        verdict = verdict.model_copy(update={"tier": tier})
        deps.docs.set(f"brands/{BRAND}/verdicts/scan-1", verdict.model_dump())
    scan = deps.docs.get(f"brands/{BRAND}/scans/scan-1")
    scan["listing"] |= {
        "url": "https://shopmart.example/item/l-1",
        "store_url": "https://shopmart.example/s/bargain",
    }
    deps.docs.set(f"brands/{BRAND}/scans/scan-1", scan)
    deps.clock = lambda: NOW + timedelta(hours=1)
    return deps, verdict


def _confirm(deps) -> None:
    record_decision(deps.docs, BRAND, "scan-1", action="confirm", note="", reviewer="token-x", now=NOW)
    cases.open_case(
        deps.docs, BRAND, "scan-1", by="Jane Doe", now=NOW, marketplace="shopmart", listing_id="l-1"
    )


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_an_unconfirmed_verdict_gets_no_notice(tmp_path: Path) -> None:
    deps, _ = _seed(tmp_path)
    with pytest.raises(BadInput, match="not confirmed in review"):
        generate_notice(deps, BRAND, "scan-1", by="Jane Doe", screenshot=False)
    record_decision(deps.docs, BRAND, "scan-1", action="reject", note="", reviewer="token-x", now=NOW)
    with pytest.raises(BadInput, match="not confirmed in review"):
        generate_notice(deps, BRAND, "scan-1", by="Jane Doe", screenshot=False)


@pytest.mark.parametrize("tier", [1, 2])
def test_a_confirmed_item_gets_a_filled_notice_under_the_bundle_manifest(tmp_path: Path, tier: int) -> None:
    deps, _ = _seed(tmp_path, tier=tier)
    _confirm(deps)
    result = generate_notice(
        deps, BRAND, "scan-1", by="Jane Doe", test_buy_order_id="112-555", screenshot=False
    )
    root = Path(result.bundle.location)
    for name in ("notice.json", "amazon-report.json", "amazon-report.csv", "ebay-vero.json", "ebay-vero.csv",
                 "dmca-notice.txt", "report.pdf", "candidate.jpg"):  # fmt: skip
        assert (root / name).is_file(), name
    # every added file is under the manifest, whose digest is recorded outside the bundle
    manifest = json.loads((root / "manifest.json").read_text())
    assert {"notice.json", "dmca-notice.txt", "ebay-vero.csv"} <= {f["name"] for f in manifest["files"]}
    assert verify_recorded(deps, BRAND, "scan-1") == []

    notice = json.loads((root / "notice.json").read_text())
    kinds = {c["kind"]: c for c in notice["claims"]}
    assert set(kinds) == {"trademark_counterfeit", "copyright"}  # logo/ocr_text fired; hash fired (S1)
    assert [r["number"] for r in kinds["trademark_counterfeit"]["registrations"]] == [
        "UK00003123456",
        "018123456",
    ]
    assert [r["number"] for r in kinds["copyright"]["registrations"]] == ["VA 2-400-001"]
    assert notice["test_buy_order_id"] == "112-555" and notice["gaps"] == []
    assert notice["listing"]["store_url"] == "https://shopmart.example/s/bargain"

    amazon = list(csv.DictReader(io.StringIO((root / "amazon-report.csv").read_text())))
    assert [r["infringement_type"] for r in amazon] == ["Product is counterfeit",
                                                        "Image: listing uses a copy of the rights owner's photograph"]  # fmt: skip
    assert amazon[0]["relationship_to_rights_owner"] == "Agent"  # the register names an authorised agent
    assert amazon[0]["contact_company"] == "Brandguard LLP" and amazon[0]["test_buy_order_id"] == "112-555"
    vero = json.loads((root / "ebay-vero.json").read_text())
    assert (
        vero["reportItems"][0]["itemId"] == "l-1" and len(vero["reportItems"][0]["messageToSeller"]) <= 1000
    )
    assert vero["noci"]["signature_name"] == "Jane Doe"
    dmca = (root / "dmca-notice.txt").read_text()
    assert (
        "VA 2-400-001" in dmca
        and "penalty of perjury" in dmca
        and "https://shopmart.example/item/l-1" in dmca
    )

    text = " ".join(_pdf_text((root / "report.pdf").read_bytes()))
    for needle in ("ACME Motor Works Ltd.", "Brandguard LLP", "UK00003123456", "https://shopmart.example/s/bargain",
                   "112-555", "Trademark: counterfeit goods", "Copyright: unauthorised copy", "penalty of perjury",
                   "Head of Brand Protection"):  # fmt: skip
        assert needle in text, needle
    assert result.case["state"] == "notice_generated"
    assert cases.verify_trail(deps.docs, BRAND, "scan-1") == []
    (root / "amazon-report.csv").write_text("edited")
    assert any("amazon-report.csv" in p for p in verify_recorded(deps, BRAND, "scan-1"))


def test_a_kit_without_register_gets_a_notice_that_names_what_is_missing(tmp_path: Path) -> None:
    deps, _ = _seed(tmp_path, register=False)
    _confirm(deps)
    result = generate_notice(deps, BRAND, "scan-1", by="Jane Doe", screenshot=False)
    gaps = " ".join(result.notice["gaps"])
    assert "rights_owner" in gaps and "signatory" in gaps
    text = " ".join(_pdf_text((Path(result.bundle.location) / "report.pdf").read_bytes()))
    assert "Missing from the rights register" in text


def test_case_moves_follow_the_states_and_the_trail_is_append_only_and_chained(tmp_path: Path) -> None:
    deps, _ = _seed(tmp_path)
    _confirm(deps)
    with pytest.raises(BadInput, match="can move to notice_generated, not removed"):
        cases.move_case(deps.docs, BRAND, "scan-1", "removed", by="Jane Doe", now=NOW)
    with pytest.raises(BadInput, match="must be named"):
        cases.move_case(deps.docs, BRAND, "scan-1", "notice_generated", by="  ", now=NOW)
    generate_notice(deps, BRAND, "scan-1", by="Jane Doe", screenshot=False)
    cases.move_case(deps.docs, BRAND, "scan-1", "submitted", by="Jo Bloggs", now=NOW + timedelta(hours=2),
                    note="Amazon complaint 123")  # fmt: skip
    case = cases.move_case(
        deps.docs, BRAND, "scan-1", "removed", by="Jo Bloggs", now=NOW + timedelta(hours=26)
    )
    assert case["state"] == "removed" and case["events"] == 4
    events = cases.trail(deps.docs, BRAND, "scan-1")
    assert [(e["from"], e["to"], e["by"]) for e in events] == [
        (None, "confirmed", "Jane Doe"),
        ("confirmed", "notice_generated", "Jane Doe"),
        ("notice_generated", "submitted", "Jo Bloggs"),
        ("submitted", "removed", "Jo Bloggs"),
    ]
    assert cases.verify_trail(deps.docs, BRAND, "scan-1") == []
    # an event is never overwritten by a move: the store refuses to create it twice
    from common.ports import AlreadyExists

    with pytest.raises(AlreadyExists):
        deps.docs.create(f"{cases.events_collection(BRAND, 'scan-1')}/000001", {"to": "removed"})
    # rewriting one behind the code's back breaks the chain
    path = f"{cases.events_collection(BRAND, 'scan-1')}/000003"
    deps.docs.set(path, events[2] | {"by": "someone else"})
    assert any("chain broken" in p for p in cases.verify_trail(deps.docs, BRAND, "scan-1"))
    stats = cases.metrics(cases.list_cases(deps.docs, [BRAND]))
    assert stats["shopmart"]["removed"] == 1 and stats["shopmart"]["removal_rate"] == 1.0
    assert stats["shopmart"]["median_hours_to_takedown"] == 26.0


def test_metrics_per_marketplace() -> None:
    t = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        {"marketplace": "a", "state": "removed", "opened_at": t, "state_at": {"submitted": t, "removed": t + timedelta(hours=10)}},
        {"marketplace": "a", "state": "removed", "opened_at": t, "state_at": {"submitted": t, "removed": t + timedelta(hours=30)}},
        {"marketplace": "a", "state": "rejected", "opened_at": t, "state_at": {"submitted": t, "rejected": t}},
        {"marketplace": "b", "state": "submitted", "opened_at": t, "state_at": {"submitted": t}},
    ]  # fmt: skip
    stats = cases.metrics(rows)
    assert stats["a"]["removal_rate"] == round(2 / 3, 4) and stats["a"]["median_hours_to_takedown"] == 20.0
    assert stats["b"]["removal_rate"] is None and stats["b"]["open"] == 1


def test_no_heading_is_stranded_at_a_page_foot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a section heading near the page foot stayed there while its content (the screenshot, the
    comparison, the signal table) started on the next page."""
    import re

    from PIL import Image

    deps, verdict = _seed(tmp_path)

    shot = io.BytesIO()
    Image.new("RGB", (1280, 1600), "white").save(shot, "PNG")
    comparison = io.BytesIO()
    Image.new("RGB", (1200, 700), "grey").save(comparison, "PNG")
    seen: list[_Report] = []
    original = _Report.__init__

    def keep(self: _Report) -> None:
        original(self)
        seen.append(self)

    monkeypatch.setattr(_Report, "__init__", keep)
    stranded = []
    for n in range(0, 40, 3):
        many = verdict.model_copy(update={"reasons": [f"reason number {i} " * 3 for i in range(n)]})
        data = render_report(ReportContext(verdict=many, brand_name="ACME", trademarks=["ACME"], listing={"listing_id": "l"},
                                    comparison_png=comparison.getvalue(), screenshot_png=shot.getvalue(),
                                    screenshot_note=None, file_digests=[("a", "0" * 64)] * 5,
                                    generated_at=NOW, reference_name=None))  # fmt: skip
        pages = PdfReader(io.BytesIO(data)).pages
        for number, page in enumerate(pages, 1):
            text = page.extract_text()
            sizes = {img.image.size for img in page.images if img.image is not None}
            # a picture's heading is on the page that holds the picture
            for heading, size in (
                ("4. Side-by-side", (1200, 700)),
                ("6. Listing page screenshot", (1280, 1600)),
            ):
                if heading in text and size not in sizes:
                    stranded.append((n, number, heading))
            # a text section's heading is never the last line of its page
            lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("Page ")]
            if lines and re.match(r"^\d+a?\. [A-Z]", lines[-1]) and not lines[-1].startswith(("4. ", "6. ")):
                stranded.append((n, number, lines[-1]))
    assert stranded == []
    assert len(seen) == 14
    for pdf in seen:
        for page, y, keep_mm in pdf.headings:
            assert y + 10 + keep_mm <= pdf.page_break_trigger + 0.01, (page, y, keep_mm)
