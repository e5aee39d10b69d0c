"""The takedown package of a verdict confirmed in review (any tier): the evidence bundle with the notice in it.

Added to the bundle, all under the same manifest (``common/evidence/manifest.py``) and its digest recorded in
``brands/{brand}/evidence/{scan_id}``: ``notice.json`` (the whole notice: parties from the rights register,
listing, store, claims with the registrations they rely on, test-buy order, statements), ``amazon-report.json``
/ ``.csv``, ``ebay-vero.json`` / ``.csv``, ``dmca-notice.txt`` (copyright claims only), and ``report.pdf``
rendered with all of it filled in. A verdict that no reviewer confirmed gets no notice: a takedown filed on
an unreviewed match is the false positive that costs most (seed 004, ch. 6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common import paths
from common.enforcement import forms
from common.enforcement.cases import TRANSITIONS, get_case, move_case, open_case
from common.enforcement.claims import claims_for
from common.errors import BadInput
from common.evidence.bundle import BundleResult, build_bundle_result
from common.evidence.manifest import BundleFile
from common.review.queue import get_item
from common.rights import RightsRegister

if TYPE_CHECKING:
    from common.bootstrap import Deps

NOTICE_FORMAT = "counterfeit-notice/1"
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")


@dataclass(frozen=True)
class NoticeResult:
    bundle: BundleResult
    notice: dict[str, Any]
    case: dict[str, Any]


def build_notice(
    deps: Deps, brand: str, scan_id: str, *, by: str, test_buy_order_id: str | None = None
) -> dict:
    """The notice as data (no files written). BadInput when the item is not confirmed in review."""
    item = get_item(deps.docs, brand, scan_id)
    if item is None:
        raise BadInput(f"no verdict {scan_id!r} for brand {brand!r}")
    review = item.review or {}
    if review.get("decision") != "confirmed":
        raise BadInput(
            f"verdict {scan_id} is not confirmed in review: only confirmed items get a takedown notice"
        )
    if test_buy_order_id is not None and not ORDER_ID.match(test_buy_order_id):
        raise BadInput("test-buy order ids are 1-100 letters, digits and . _ : / -")
    brand_doc = deps.docs.get(paths.brand(brand)) or {}
    register = RightsRegister.from_brand_doc(brand_doc)
    scan = deps.docs.get(paths.scan_path(brand, scan_id)) or {}
    listing = dict(scan.get("listing") or {"listing_id": item.verdict.listing_id})
    listing = {
        k: listing.get(k) for k in ("listing_id", "marketplace", "url", "seller_id", "store_url", "title")
    }
    claims = [c.to_json() for c in claims_for(item.verdict, register)]
    gaps = register.missing()
    if not listing.get("url"):
        gaps.append("the listing URL (the scan's listing has none)")
    return {
        "format": NOTICE_FORMAT,
        "brand_id": brand,
        "brand_name": brand_doc.get("display_name") or brand,
        "scan_id": scan_id,
        "listing": listing,
        "verdict": {
            "tier": item.verdict.tier,
            "score": item.verdict.score,
            "rule": item.verdict.rule,
            "created_at": item.verdict.created_at.isoformat(),
        },
        "review": {
            "decision": review.get("decision"),
            "reviewer": review.get("reviewer_name") or review.get("reviewer"),
            "decided_at": str(review.get("decided_at")),
        },
        "rights_owner": register.rights_owner.model_dump() if register.rights_owner else None,
        "authorised_agent": register.authorised_agent.model_dump() if register.authorised_agent else None,
        "signatory": register.signatory.model_dump() if register.signatory else None,
        "claims": claims,
        "test_buy_order_id": test_buy_order_id,
        "statements": dict(forms.STATEMENTS),
        "gaps": gaps,
        "generated_at": deps.clock().isoformat(),
        "generated_by": by,
    }


def notice_files(notice: dict[str, Any]) -> tuple[BundleFile, ...]:
    amazon = forms.amazon_report(notice)
    vero = forms.ebay_vero(notice)
    files = [
        BundleFile("notice.json", forms.to_json(notice), "application/json"),
        BundleFile("amazon-report.json", forms.to_json(amazon), "application/json"),
        BundleFile("amazon-report.csv", forms.to_csv(amazon), "text/csv"),
        BundleFile("ebay-vero.json", forms.to_json(vero), "application/json"),
        BundleFile("ebay-vero.csv", forms.to_csv(forms.ebay_rows(vero)), "text/csv"),
    ]
    dmca = forms.dmca_notice(notice)
    if dmca is not None:
        files.append(BundleFile("dmca-notice.txt", dmca.encode(), "text/plain"))
    return tuple(files)


def generate_notice(
    deps: Deps, brand: str, scan_id: str, *, by: str, test_buy_order_id: str | None = None,
    screenshot: bool = True,
) -> NoticeResult:  # fmt: skip
    """Build the takedown package into the evidence bundle and move the item's case to ``notice_generated``."""
    notice = build_notice(deps, brand, scan_id, by=by, test_buy_order_id=test_buy_order_id)
    item = get_item(deps.docs, brand, scan_id)
    assert item is not None
    existing = get_case(deps.docs, brand, scan_id)
    if existing is not None and "notice_generated" not in TRANSITIONS.get(str(existing.get("state")), ()):
        raise BadInput(f"case {scan_id} is {existing.get('state')}: a new notice is not possible now")
    now = deps.clock()
    if existing is None:  # confirmed before cases existed, or by another path
        open_case(deps.docs, brand, scan_id, by=by, now=now, marketplace=notice["listing"]["marketplace"],
                  listing_id=item.verdict.listing_id)  # fmt: skip
    bundle = build_bundle_result(
        deps, item.verdict, notice=notice, extra_files=notice_files(notice), screenshot=screenshot
    )
    case = move_case(
        deps.docs, brand, scan_id, "notice_generated", by=by, now=now,
        detail={"manifest_sha256": bundle.manifest_sha256, "claims": [c["kind"] for c in notice["claims"]]},
    )  # fmt: skip
    return NoticeResult(bundle, notice, case)
