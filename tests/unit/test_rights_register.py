"""The rights register in brand.json: optional, validated field by field, stored with the brand, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.brands import load_kit, register_brand
from common.errors import BadInput
from common.rights import RightsRegister
from tests.support.kits import jpeg_bytes, pattern_image

REGISTER = {
    "rights_owner": {
        "legal_name": "ACME Motor Works Ltd.",
        "address": "1 Foundry Lane, Coventry CV1 1AA, United Kingdom",
        "email": "legal@acme.example",
        "phone": "+44 24 7600 0000",
        "country": "GB",
    },
    "authorised_agent": {
        "legal_name": "Brandguard LLP",
        "address": "10 Chancery Lane, London WC2A 1AA",
        "email": "notices@brandguard.example",
    },
    "signatory": {"name": "Jane Doe", "title": "Head of Brand Protection"},
    "trademark_registrations": [
        {"mark": "ACME", "number": "UK00003123456", "office": "UKIPO", "jurisdiction": "GB", "classes": [25, 12]},
        {"mark": "ACME", "number": "018123456", "office": "EUIPO", "jurisdiction": "EU", "classes": [12]},
        {"mark": "Acme Roadster", "number": "97123456", "office": "USPTO", "jurisdiction": "US",
         "status": "pending"},
    ],
    "copyright_registrations": [
        {"work": "ACME Roadster product photography 2026", "number": "VA 2-400-001",
         "office": "US Copyright Office", "jurisdiction": "US", "references": ["front.jpg"]}
    ],
}  # fmt: skip


def _kit(root: Path, extra: dict) -> Path:
    (root / "references").mkdir(parents=True)
    (root / "references" / "front.jpg").write_bytes(jpeg_bytes(pattern_image(3)))
    brand = {"brand": "acme", "display_name": "ACME", "trademarks": ["ACME"], **extra}
    (root / "brand.json").write_text(json.dumps(brand))
    return root


def test_a_full_register_is_accepted_stored_and_read_back(tmp_path: Path, runtime):
    kit = _kit(tmp_path / "kit", REGISTER)
    parsed, _files = load_kit(kit)
    assert parsed.trademark_registrations[0].classes == [12, 25]  # sorted, deduplicated
    deps, _ = runtime
    register_brand(deps, kit)
    register = RightsRegister.from_brand_doc(deps.docs.get("brands/acme"))
    assert register.rights_owner and register.rights_owner.legal_name == "ACME Motor Works Ltd."
    assert register.signatory and register.signatory.title == "Head of Brand Protection"
    assert register.missing() == []
    # matched marks pick their registrations; a pending application never backs a notice
    assert [t.number for t in register.trademarks_for(["acme"])] == ["UK00003123456", "018123456"]
    assert [t.number for t in register.trademarks_for(["Acme Roadster"])] == ["UK00003123456", "018123456"]
    assert [c.number for c in register.copyrights_for("front.jpg")] == ["VA 2-400-001"]
    assert register.copyrights_for("other.jpg") == []


def test_a_kit_without_a_register_still_registers_and_says_what_a_notice_lacks(tmp_path: Path, runtime):
    deps, _ = runtime
    register_brand(deps, _kit(tmp_path / "kit", {}))
    register = RightsRegister.from_brand_doc(deps.docs.get("brands/acme"))
    gaps = " ".join(register.missing())
    assert "rights_owner" in gaps and "signatory" in gaps and "registered trademark" in gaps


def test_every_bad_register_field_is_named_with_its_path(tmp_path: Path):
    bad = {
        "rights_owner": {"legal_name": "ACME", "address": "x", "email": "not-an-email", "phone": "call me"},
        "signatory": {"name": "Jane Doe"},
        "trademark_registrations": [
            {"mark": "ACME", "numbr": "1", "office": "UKIPO", "jurisdiction": "GB", "classes": [0, 46]},
            {"mark": "ACME", "number": "2", "office": "UKIPO", "jurisdiction": "GB", "status": "granted"},
        ],
        "copyright_registration": [],
    }
    with pytest.raises(BadInput) as err:
        load_kit(_kit(tmp_path / "kit", bad))
    text = str(err.value)
    for needle in (
        "rights_owner.email: Value error, not an e-mail address",
        "rights_owner.phone:",
        "signatory.title: Field required",
        "trademark_registrations.0: 'numbr': unknown field; did you mean 'number'?",
        "trademark_registrations.0.classes: Value error, Nice classes are 1-45, got [0, 46]",
        "trademark_registrations.1.status:",
        "'copyright_registration': unknown field; did you mean 'copyright_registrations'",
    ):
        assert needle in text, (needle, text)
