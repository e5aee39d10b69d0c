"""The rights register of a brand kit: who owns the rights a takedown notice relies on, and which rights.

Why in the kit: every notice-and-takedown form (Amazon's Report Infringement / Report a Violation, eBay's VeRO
Notice of Claimed Infringement, a DMCA 17 U.S.C. 512(c)(3) notice) asks for the same facts — the rights
owner and a contact, who signs, the registration relied on (number, office, classes) — and a notice is only
as good as those facts. Kept in ``brand.json`` so the brand states them once and every notice is pre-filled.
All fields are optional: a kit without them still registers; its notices say what is missing.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
MAX_REGISTRATIONS = 500  # a large brand's portfolio across offices
NICE_CLASSES = range(1, 46)  # Nice classification: 1-34 goods, 35-45 services
RegistrationStatus = Literal["registered", "pending", "expired", "cancelled"]
# Only these back a notice: a pending application is not an enforceable right on most marketplaces.
ENFORCEABLE = ("registered",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Party(_Strict):
    """A legal entity or person with a postal address and a contact (rights owner, authorised agent)."""

    legal_name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=30)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"not an e-mail address: {value[:80]!r}")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError(f"phone numbers are digits, spaces and + ( ) . / - (5-30), got {value[:40]!r}")
        return value


class Signatory(_Strict):
    """The person who signs notices (their name and title appear under the sworn statement)."""

    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)


class TrademarkRegistration(_Strict):
    mark: str = Field(min_length=1, max_length=200)
    number: str = Field(min_length=1, max_length=50)
    office: str = Field(min_length=1, max_length=100)  # "USPTO", "EUIPO", "UKIPO", "WIPO (Madrid)"
    jurisdiction: str = Field(min_length=2, max_length=10)  # "US", "EU", "GB", "WO"
    classes: list[int] = Field(default_factory=list, max_length=45)
    status: RegistrationStatus = "registered"
    kind: Literal["word", "figurative", "combined"] = "word"

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: list[int]) -> list[int]:
        bad = [c for c in value if c not in NICE_CLASSES]
        if bad:
            raise ValueError(f"Nice classes are 1-45, got {bad[:5]}")
        return sorted(set(value))


class CopyrightRegistration(_Strict):
    """A registered (or claimed) copyright in brand photography; ``references`` names the kit photos it covers
    (file names in ``references/``; empty means every reference photo)."""

    work: str = Field(min_length=1, max_length=300)
    number: str | None = Field(default=None, max_length=50)  # e.g. US Copyright Office "VA 2-123-456"
    office: str | None = Field(default=None, max_length=100)
    jurisdiction: str | None = Field(default=None, max_length=10)
    author: str | None = Field(default=None, max_length=200)
    year: int | None = Field(default=None, ge=1826, le=2200)
    references: list[str] = Field(default_factory=list, max_length=500)
    status: RegistrationStatus = "registered"


class DesignRegistration(_Strict):
    """A registered design (EU RCD, US design patent): protects the product's look, not the mark."""

    title: str = Field(min_length=1, max_length=300)
    number: str = Field(min_length=1, max_length=50)
    office: str = Field(min_length=1, max_length=100)
    jurisdiction: str = Field(min_length=2, max_length=10)
    status: RegistrationStatus = "registered"


RIGHTS_FIELDS = (
    "rights_owner",
    "authorised_agent",
    "signatory",
    "trademark_registrations",
    "copyright_registrations",
    "design_registrations",
)


class RightsRegister(_Strict):
    """The register as notices read it (from a stored brand doc: ``RightsRegister.from_brand_doc``)."""

    rights_owner: Party | None = None
    authorised_agent: Party | None = None
    signatory: Signatory | None = None
    trademark_registrations: list[TrademarkRegistration] = Field(default_factory=list)
    copyright_registrations: list[CopyrightRegistration] = Field(default_factory=list)
    design_registrations: list[DesignRegistration] = Field(default_factory=list)

    @classmethod
    def from_brand_doc(cls, doc: dict[str, Any]) -> RightsRegister:
        """The register stored with a brand (validated at ``brand add``; absent fields stay empty)."""
        return cls.model_validate({k: doc[k] for k in RIGHTS_FIELDS if doc.get(k) is not None})

    def missing(self) -> list[str]:
        """What a notice needs and the register does not say (printed on the notice, never invented)."""
        gaps = []
        if self.rights_owner is None:
            gaps.append("rights_owner (legal entity, address, e-mail)")
        if self.signatory is None:
            gaps.append("signatory (name and title)")
        if not any(t.status in ENFORCEABLE for t in self.trademark_registrations):
            gaps.append("a registered trademark (trademark_registrations with status 'registered')")
        return gaps

    def trademarks_for(self, marks: list[str]) -> list[TrademarkRegistration]:
        """Enforceable registrations of the marks a verdict matched (case-insensitive); all of them when the
        verdict names no mark (an image copy of a product that bears the mark)."""
        enforceable = [t for t in self.trademark_registrations if t.status in ENFORCEABLE]
        wanted = {m.casefold() for m in marks}
        named = [t for t in enforceable if t.mark.casefold() in wanted]
        return named or enforceable

    def copyrights_for(self, reference_file: str | None) -> list[CopyrightRegistration]:
        """Registrations covering the matched reference photo (or all photos)."""
        return [
            c
            for c in self.copyright_registrations
            if c.status in ENFORCEABLE and (not c.references or reference_file in c.references)
        ]
