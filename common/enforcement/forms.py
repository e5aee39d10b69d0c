"""The notice as marketplaces' takedown forms ask for it: Amazon, eBay VeRO, and a generic DMCA notice.

What the shapes are based on (checked, not guessed; none of these forms has a public machine-readable schema
for rights owners except eBay's API):
- eBay: the VeRO API's ``ReportItemDetails`` (developer.ebay.com/api-docs/commerce/vero/types/ReportItemDetails:
  ``itemId``, ``veroReasonCodeId``, ``brand`` <= 50 chars, ``messageToSeller`` and ``detailedMessage`` <= 1000,
  ``copyEmailToRightsOwner``, ``countries``, ``regions``, ``patent``) plus the Notice of Claimed Infringement
  (NOCI) form's contact block, item numbers / URLs, reason, registration information and signed statements.
  Reason code ids differ per eBay site and are served by ``GET /commerce/vero/v1/vero_reason_code``, so the
  export names the reason in words and leaves ``veroReasonCodeId`` for the sender to fill from that list.
- Amazon: the Report Infringement form / Brand Registry's Report a Violation tool (behind a login; fields as
  described by Amazon Seller Central help and practitioners' guides): rights owner and relationship (owner or
  agent), IP type and infringement type (product is counterfeit; image copied), trademark registration number
  and office, ASIN / listing URL, seller and storefront, optional test-buy order id, contact details, the
  good-faith and accuracy statements and an electronic signature.
- DMCA: the six elements of a notification under 17 U.S.C. 512(c)(3)(A)(i)-(vi), for the copyright claim.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

STATEMENTS = {
    "good_faith": "I have a good-faith belief that the use of the material described in this notice is not "
    "authorised by the rights owner, its agent, or the law.",
    "accuracy": "The information in this notice is accurate.",
    "perjury": "Under penalty of perjury, I am the owner, or authorised to act on behalf of the owner, of the "
    "exclusive rights that are allegedly infringed.",
}
_AMAZON_TYPES = {
    "trademark_counterfeit": ("Trademark", "Product is counterfeit"),
    "copyright": ("Copyright", "Image: listing uses a copy of the rights owner's photograph"),
    "design": ("Design/Patent", "Product infringes a registered design"),
}
_EBAY_REASONS = {
    "trademark_counterfeit": "Trademark - item(s) is a counterfeit product bearing my trademark",
    "copyright": "Copyright - listing(s) use an unauthorised copy of my image",
    "design": "Design - item(s) infringes my registered design",
}


def _party(party: dict[str, Any] | None) -> dict[str, Any]:
    party = party or {}
    return {k: party.get(k) for k in ("legal_name", "address", "email", "phone", "country")}


def _registration_text(claim: dict[str, Any]) -> str:
    out = []
    for reg in claim["registrations"]:
        if claim["kind"] == "copyright":
            out.append(" ".join(str(x) for x in (reg.get("work"), reg.get("number"), reg.get("office")) if x))
        else:
            label = reg.get("mark") or reg.get("title")
            classes = f" classes {','.join(map(str, reg['classes']))}" if reg.get("classes") else ""
            out.append(
                f"{label} {reg.get('number')} ({reg.get('office')}, {reg.get('jurisdiction')}){classes}"
            )
    return "; ".join(out)


def _contact(notice: dict[str, Any]) -> dict[str, Any]:
    """Who files: the agent when the register names one, else the rights owner."""
    return _party(notice.get("authorised_agent") or notice.get("rights_owner"))


def amazon_report(notice: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per claim, in the order of the Report Infringement form."""
    listing, owner, contact = notice["listing"], _party(notice.get("rights_owner")), _contact(notice)
    signatory = notice.get("signatory") or {}
    rows = []
    for claim in notice["claims"]:
        ip_type, infringement = _AMAZON_TYPES[claim["kind"]]
        rows.append(
            {
                "rights_owner_name": owner["legal_name"],
                "relationship_to_rights_owner": "Agent" if notice.get("authorised_agent") else "Rights owner",
                "brand_name": notice["brand_name"],
                "ip_type": ip_type,
                "infringement_type": infringement,
                "registration_numbers": ", ".join(str(r.get("number") or "") for r in claim["registrations"]),
                "registration_details": _registration_text(claim),
                "asin_or_listing_id": listing.get("listing_id"),
                "listing_url": listing.get("url"),
                "seller_name": listing.get("seller_id"),
                "seller_storefront_url": listing.get("store_url"),
                "test_buy_order_id": notice.get("test_buy_order_id"),
                "additional_information": " ".join(claim["facts"])[:2000],
                "contact_name": signatory.get("name"),
                "contact_company": contact["legal_name"],
                "contact_email": contact["email"],
                "contact_phone": contact["phone"],
                "contact_address": contact["address"],
                "good_faith_statement": STATEMENTS["good_faith"],
                "accuracy_statement": STATEMENTS["accuracy"] + " " + STATEMENTS["perjury"],
                "electronic_signature": signatory.get("name"),
            }
        )
    return rows


def ebay_vero(notice: dict[str, Any]) -> dict[str, Any]:
    """NOCI contact block + one ``ReportItemDetails``-shaped entry per claim."""
    listing, contact = notice["listing"], _contact(notice)
    signatory = notice.get("signatory") or {}
    items = []
    for claim in notice["claims"]:
        message = f"{_EBAY_REASONS[claim['kind']]}. " + " ".join(claim["facts"])
        items.append(
            {
                "itemId": listing.get("listing_id"),
                "veroReasonCodeId": None,
                "reason": _EBAY_REASONS[claim["kind"]],
                "brand": str(notice["brand_name"])[:50],
                "messageToSeller": message[:1000],
                "detailedMessage": (
                    f"Registration information: {_registration_text(claim) or 'see attached evidence'}. "
                    f"Listing URL: {listing.get('url') or '-'}. Seller: {listing.get('seller_id') or '-'} "
                    f"({listing.get('store_url') or 'no storefront link'})."
                )[:1000],
                "copyEmailToRightsOwner": True,
            }
        )
    return {
        "noci": {
            "rights_owner_name": (notice.get("rights_owner") or {}).get("legal_name"),
            "agent_name": (notice.get("authorised_agent") or {}).get("legal_name"),
            "address": contact["address"],
            "email": contact["email"],
            "phone": contact["phone"],
            "item_numbers_or_urls": [listing.get("listing_id"), listing.get("url")],
            "statements": [STATEMENTS["good_faith"], STATEMENTS["accuracy"] + " " + STATEMENTS["perjury"]],
            "signature_name": signatory.get("name"),
            "signature_title": signatory.get("title"),
            "date": notice["generated_at"][:10],
        },
        "reportItems": items,
    }


def dmca_notice(notice: dict[str, Any]) -> str | None:
    """A 17 U.S.C. 512(c)(3) notification for the copyright claim (None without one)."""
    claim = next((c for c in notice["claims"] if c["kind"] == "copyright"), None)
    if claim is None:
        return None
    listing, contact = notice["listing"], _contact(notice)
    owner = (notice.get("rights_owner") or {}).get("legal_name") or "[rights owner missing from the register]"
    signatory = notice.get("signatory") or {}
    work = _registration_text(claim) or f"the rights owner's product photograph {claim.get('reference')}"
    lines = [
        f"DMCA notification of claimed infringement — {notice['brand_name']}",
        f"Date: {notice['generated_at'][:10]}",
        "",
        f"(ii) Copyrighted work: {work}.",
        f"(iii) Infringing material: the image of listing {listing.get('listing_id')} on "
        f"{listing.get('marketplace') or 'the marketplace'}, at {listing.get('url') or '[listing URL not supplied]'}"
        f" (seller {listing.get('seller_id') or '-'}). {' '.join(claim['facts'])}",
        f"(iv) Contact: {contact['legal_name'] or owner}, {contact['address'] or '-'}, {contact['email'] or '-'}"
        f"{', ' + contact['phone'] if contact['phone'] else ''}.",
        f"(v) {STATEMENTS['good_faith']}",
        f"(vi) {STATEMENTS['accuracy']} {STATEMENTS['perjury']} Rights owner: {owner}.",
        f"(i) Signature: ______________________  {signatory.get('name') or '[signatory missing]'}, "
        f"{signatory.get('title') or ''}",
        "",
        "Evidence: the attached bundle; manifest.json lists the SHA-256 of every file.",
    ]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return out.getvalue().encode()


def to_json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).encode()


def ebay_rows(vero: dict[str, Any]) -> list[dict[str, Any]]:
    noci = vero["noci"]
    return [
        {
            **{k: v for k, v in noci.items() if k not in ("statements", "item_numbers_or_urls")},
            **item,
            "statements": " ".join(noci["statements"]),
        }
        for item in vero["reportItems"]
    ]
