"""Which rights a confirmed verdict infringes, signal by signal, and the registrations each claim relies on.

Why per signal: marketplaces' forms file trademark, copyright and design complaints separately, and each needs
its own right. A hash match (S1, an exact copy) or a verified copy (S2, an edited copy) is the brand's own photo
reused: copyright in brand photography. A logo, brand text in the image or the listing, or the brand's barcode
is the mark on goods the brand did not make: counterfeit trademark use. A product match by appearance alone is a
design claim, made only when the brand registered a design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from common.messages import Verdict
from common.rights import RightsRegister

ClaimKind = Literal["copyright", "trademark_counterfeit", "design"]
COPY_SIGNALS = ("hash", "copy")  # S1 exact and S2 edited copies of a brand photo
MARK_SIGNALS = ("logo", "ocr_text", "listing_text", "barcode")
DESIGN_SIGNALS = ("embedding",)
CLAIM_TITLES: dict[str, str] = {
    "copyright": "Copyright: unauthorised copy of the rights owner's product photograph",
    "trademark_counterfeit": "Trademark: counterfeit goods bearing the registered mark",
    "design": "Design: product reproduces a registered design",
}


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    signals: tuple[str, ...]
    facts: tuple[str, ...]  # the fired signals' reasons: what was found, in words
    registrations: tuple[dict[str, Any], ...]  # register entries relied on (as dicts, for JSON and the PDF)
    reference: str | None = None  # the brand photo copied (copyright)
    gaps: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return CLAIM_TITLES[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "signals": list(self.signals),
            "facts": list(self.facts),
            "registrations": list(self.registrations),
            "reference": self.reference,
            "gaps": list(self.gaps),
        }


def _fired(verdict: Verdict, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if (s := verdict.signals.get(n)) is not None and s.status == "fired"]


def claims_for(verdict: Verdict, register: RightsRegister) -> list[Claim]:
    """Every claim the verdict's fired signals support, in the order forms list them (trademark first)."""
    claims: list[Claim] = []
    marks_fired = _fired(verdict, MARK_SIGNALS)
    if marks_fired:
        marks = [
            str(verdict.signals[n].detail.get("trademark"))
            for n in marks_fired
            if verdict.signals[n].detail.get("trademark")
        ]
        regs = register.trademarks_for(marks)
        claims.append(
            Claim(
                "trademark_counterfeit",
                tuple(marks_fired),
                tuple(verdict.signals[n].reason or n for n in marks_fired),
                tuple(r.model_dump() for r in regs),
                gaps=() if regs else ("no registered trademark in the rights register",),
            )
        )
    copies = _fired(verdict, COPY_SIGNALS)
    if copies:
        ref_id = next((verdict.signals[n].reference for n in copies if verdict.signals[n].reference), None)
        ref_id = ref_id or verdict.best_reference
        filename = ref_id.split(":", 1)[1] if ref_id and ":" in ref_id else ref_id
        regs_c = register.copyrights_for(filename)
        gap = (
            ()
            if regs_c
            else (
                f"no copyright registration in the rights register covers {filename or 'the photo'}: copyright "
                "subsists on creation, but some platforms ask for a registration number",
            )
        )
        claims.append(
            Claim(
                "copyright",
                tuple(copies),
                tuple(verdict.signals[n].reason or n for n in copies),
                tuple(r.model_dump() for r in regs_c),
                reference=ref_id,
                gaps=gap,
            )
        )
    designs = _fired(verdict, DESIGN_SIGNALS)
    enforceable_designs = [d for d in register.design_registrations if d.status == "registered"]
    if designs and enforceable_designs and not copies:
        claims.append(
            Claim(
                "design",
                tuple(designs),
                tuple(verdict.signals[n].reason or n for n in designs),
                tuple(d.model_dump() for d in enforceable_designs),
            )
        )
    return claims
