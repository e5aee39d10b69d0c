"""The authentication report as a PDF, laid out with the evidence report's helpers (``common.evidence.pdf``).

One page per item: the overall result and why it can be no stronger, then per region each photo's finding with
the measured value beside the genuine range, the capture quality, and the limits of what was checked.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fpdf.enums import XPos, YPos

from common.evidence.pdf import LINE_MM
from common.evidence.pdf import (
    _Report as ReportPdf,
)  # same fonts, headings and field rows as the evidence PDF


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, sort_keys=False, default=str)


def _values(d: dict[str, Any]) -> str:
    return (
        ", ".join(f"{k} {v}" for k, v in d.items() if v is not None and not isinstance(v, list | dict)) or "—"
    )


def render_pdf(report: dict[str, Any], generated_at: datetime) -> bytes:
    pdf = ReportPdf()
    pdf.alias_nb_pages()
    pdf.set_title(pdf.safe(f"Authentication {report['brand']} {report['model']}"))
    pdf.add_page()
    pdf.font(bold=True, size=15)
    pdf.multi_cell(0, 8, pdf.safe("Close-up authentication report"), new_x=XPos.LMARGIN)
    pdf.font(size=9)
    pdf.multi_cell(0, 5, f"Generated {generated_at.isoformat(timespec='seconds')} (UTC)", new_x=XPos.LMARGIN)

    pdf.heading("1. Item")
    pdf.field_row("Brand", f"{report['brand_name']} ({report['brand']})")
    pdf.field_row("Model", report["model"])
    pdf.field_row("Result", str(report["result"]).upper())
    pdf.field_row(
        "Rule", "never stronger than the weakest region (a missing required region is inconclusive)"
    )
    if report["missing_required_regions"]:
        pdf.field_row("Not photographed", ", ".join(report["missing_required_regions"]))

    pdf.heading("2. Regions")
    for region in report["regions"]:
        pdf.font(bold=True)
        pdf.multi_cell(0, LINE_MM, pdf.safe(f"{region['region']} ({region['check']}): {region['status']}"),
                       new_x=XPos.LMARGIN)  # fmt: skip
        pdf.font(size=9)
        for photo in region["photos"]:
            pdf.field_row("Photo", photo["photo"])
            pdf.field_row("Finding", f"{photo['status']}: {photo['reason']}")
            pdf.field_row("Measured", _values(photo["measured"]))
            pdf.field_row("Genuine range", _values(photo["genuine"]))
            pdf.field_row("Capture", _values(photo["quality"]))
        pdf.ln(1)

    pdf.heading("3. Limits")
    pdf.multi_cell(0, LINE_MM, pdf.safe(report["note"]), new_x=XPos.LMARGIN)
    pdf.multi_cell(
        0,
        LINE_MM,
        pdf.safe(
            "Scale comes from the printed card and assumes the region lies in the card's plane. SPI is judged "
            "with seed 003's range filters against the kit's genuine SPI; texture and stamp geometry against "
            "the spread between the kit's genuine close-ups, which bounds what can be told apart. Materials, "
            "hardware weight, smell, construction inside the item and date codes are not checked."
        ),
        new_x=XPos.LMARGIN,
    )
    pdf.ln(4)
    for label in ("Authenticator", "Decision", "Date", "Signature"):
        pdf.cell(48, 8, label)
        pdf.cell(0, 8, "_" * 60, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
