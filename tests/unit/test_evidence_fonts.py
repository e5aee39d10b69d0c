"""The report's faces parsed once per process (common.evidence.fonts): every PDF still embeds its own subset of
the font, its text still extracts, documents in other threads are as good, and a glyph outside the basic set
(a Cyrillic title) is embedded too."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime

import pytest
from PIL import Image
from pypdf import PdfReader

from common.evidence import fonts
from common.evidence.pdf import UNICODE_FONT_PATHS, ReportContext, _Report, render_report
from common.messages import Signal, Verdict

needs_dejavu = pytest.mark.skipif(
    not any(p.is_file() for p in UNICODE_FONT_PATHS), reason="Debian fonts-dejavu-core is not installed"
)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _context(title: str) -> ReportContext:
    verdict = Verdict(
        scan_id="scan-1",
        brand_id="acme",
        listing_id="l-1",
        tier=1,
        score=0.97,
        rule="hash_match",
        signals={"hash": Signal(name="hash", status="fired", score=0.97, reason="PDQ distance 4")},
        reasons=["the listing image is a copy of a brand reference"],
        created_at=NOW,
    )
    picture = io.BytesIO()
    Image.new("RGB", (64, 32), "grey").save(picture, "PNG")
    return ReportContext(
        verdict=verdict,
        brand_name="ACME",
        trademarks=["ACME"],
        listing={"listing_id": "l-1", "title": title, "description": "word " * 80},
        comparison_png=picture.getvalue(),
        screenshot_png=None,
        screenshot_note="No listing URL was supplied.",
        file_digests=[("candidate.jpg", "ab" * 32)],
        generated_at=NOW,
        reference_name="front.jpg",
    )


def _embedded_fonts(data: bytes) -> list[tuple[str, int]]:
    """(base font name, embedded font-file bytes) of every font the PDF's pages use."""
    out = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            out.append((str(font["/BaseFont"]), len(descriptor["/FontFile2"].get_object().get_data())))
    return out


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@needs_dejavu
def test_two_reports_from_one_process_each_embed_the_fonts_and_extract() -> None:
    first = render_report(_context("Roadster helmet, matte black"))
    second = render_report(_context("Дорожный шлем — копия"))  # Cyrillic: outside the basic pre-subset
    for data, title in ((first, "Roadster helmet, matte black"), (second, "Дорожный шлем — копия")):
        assert data.startswith(b"%PDF")
        embedded = _embedded_fonts(data)
        assert {name.split("+")[1] for name, _ in embedded} == {"DejaVuSansBook", "DejaVuSansBold"}
        assert all(size > 1000 for _, size in embedded)
        text = _text(data)
        assert title in text and "Notice of suspected counterfeit listing" in text
        assert "ab" * 32 in text  # the integrity section's digest
    # each PDF embeds a subset (far below the 740 KB face), not the pre-subset or the whole file
    assert all(size < 60_000 for _, size in _embedded_fonts(first))


@needs_dejavu
def test_a_report_in_another_thread_is_as_good_as_in_the_main_one() -> None:
    main = render_report(_context("Roadster helmet"))
    results: dict[int, bytes] = {}

    def render(i: int) -> None:
        results[i] = render_report(_context(f"Roadster helmet {i} ü"))

    threads = [threading.Thread(target=render, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2]
    for i, data in results.items():
        assert f"Roadster helmet {i} ü" in _text(data)
        assert len(_embedded_fonts(data)) == len(_embedded_fonts(main))


@needs_dejavu
def test_the_face_is_parsed_once_and_documents_get_their_own_subset_state() -> None:
    a, b = _Report(), _Report()
    fa, fb = a.fonts["body"], b.fonts["body"]
    assert fa is not fb and fa.subset is not fb.subset and fa.desc is not fb.desc
    assert fa.cw is fb.cw  # the parsed metrics are shared
    assert fa.ttfont is not fb.ttfont  # whatever writes a document may subset its font in place
    assert len(fonts._faces) >= 1
    # a document written without the cached producer still gets a valid font (the full face, subset)
    a.add_page()
    a.font()
    a.cell(0, 5, "plain output")
    from fpdf import FPDF

    data = bytes(FPDF.output(a))
    assert "plain output" in _text(data) and _embedded_fonts(data)


WRAPPED = [
    "",
    "short",
    "Seller  bargain-shop",
    "x" * 40 + " " + "y" * 30,
    "word " * 40,
    "The listing image is a copy of reference roadster-left.jpg as a mirrored copy (pdq distance 4 <= 31).",
    "trailing and  double  spaces   between words that wrap over more than one line of the row " * 3,
    "a\nb",  # line breaks: left to fpdf2
    "h" * 150,  # one word wider than the line: cut where it overflows
    "prefix words then " + "9f" * 70 + " and more",
    "Дорожный шлем — копия, продавец bargain-shop " * 4,
    "soft\u00adhyphen and\u00a0nbsp " * 6,  # left to fpdf2
]


@pytest.mark.parametrize("text", WRAPPED)
def test_rows_are_broken_and_written_as_fpdf2_would(text: str) -> None:
    """``_Report.multi_cell`` (common.evidence.wrap) leaves the page as fpdf2's own line breaking does, at two
    indents and across a page break."""
    from fpdf import FPDF
    from fpdf.enums import XPos

    def page(shortcut: bool) -> bytes:
        pdf = _Report()
        pdf.compress = False
        pdf.add_page()
        pdf.font()
        for y in (pdf.t_margin, pdf.page_break_trigger - 6):  # the second row starts at the foot of the page
            pdf.set_y(y)
            for x in (pdf.l_margin, pdf.l_margin + 48):
                pdf.set_x(x)
                if shortcut:
                    pdf.multi_cell(0, 5.2, text, new_x=XPos.LMARGIN)
                else:
                    FPDF.multi_cell(pdf, 0, 5.2, text, align="L", new_x=XPos.LMARGIN)
        streams = b"".join(bytes(p.contents or b"") for p in pdf.pages.values())
        # the footer's page-count placeholder is a fresh id per document
        return re.sub(rb"::placeholder:[0-9a-f-]+::", b"", streams) + f"{pdf.page} {pdf.y:.4f}".encode()

    assert page(True) == page(False)
