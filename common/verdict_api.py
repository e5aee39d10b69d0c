"""The verdict API for marketplaces: ``GET /v1/verdicts?brand=…&listing_id=…`` -> a listing's current verdict
and its enforcement case state (contract: docs/api/openapi.yaml).

Authentication is the webhook's HMAC scheme (common/signing.py) with the request target as the signed bytes:
``X-Marketplace: <id>`` and ``X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.GET {path}?{query}")>``,
the path and query exactly as sent. A read changes nothing, so a replay inside the 300 s window returns what
the marketplace may see anyway: no nonce is kept. Scope: the brand must be registered for the marketplace
(``marketplaces/{id}.brands``), and only listings this marketplace sent through its signed webhook are found;
an unknown listing, another marketplace's listing and a brand it may not see differ only in 403 vs 404.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from common import paths
from common.authz import principal_for_marketplace
from common.bootstrap import Deps
from common.enforcement.cases import get_case
from common.messages import BRAND_PATTERN, ID_PATTERN, MARKETPLACE_PATTERN
from common.ports import Filter
from common.review.queue import verdict_from_doc
from common.signing import SIGNATURE_HEADER, SignatureError, verify_signature
from common.webhook import MARKETPLACE_HEADER, WebhookResponse

log = logging.getLogger(__name__)
PATH = "/v1/verdicts"
SCANS_READ_LIMIT = (
    50  # scans of one listing id read per request (a listing re-sent with new content is a scan)
)


def signed_target(path: str, query: str) -> bytes:
    """The bytes a verdict API request signs: ``GET {path}?{query}``."""
    return f"GET {path}?{query}".encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value is not None else headers.get(name.lower())


def _error(status: int, message: str) -> WebhookResponse:
    return WebhookResponse(status, {"error": message})


def _iso(value: Any) -> str | None:
    return None if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))


def handle_verdict_request(
    deps: Deps, method: str, path: str, query: str, headers: Mapping[str, str]
) -> WebhookResponse:
    if method != "GET":
        return _error(405, "use GET")
    marketplace = _header(headers, MARKETPLACE_HEADER)
    if marketplace and not re.fullmatch(MARKETPLACE_PATTERN, marketplace):
        return _error(400, f"{MARKETPLACE_HEADER} must be a marketplace id ({MARKETPLACE_PATTERN})")
    secrets = deps.settings.webhook_secrets.get(marketplace or "", ())
    if not marketplace or not secrets:
        return _error(401, f"unknown or missing {MARKETPLACE_HEADER}")
    try:
        verify_signature(
            secrets, _header(headers, SIGNATURE_HEADER), signed_target(path, query), deps.clock()
        )
    except SignatureError as exc:
        log.warning("verdict API: rejected request from %s: %s", marketplace, exc)
        return _error(401, str(exc))
    params = parse_qs(query, keep_blank_values=True)
    brand = (params.get("brand") or [""])[0]
    listing_id = (params.get("listing_id") or [""])[0]
    if not re.fullmatch(BRAND_PATTERN, brand) or not re.fullmatch(ID_PATTERN, listing_id):
        return _error(400, "query needs brand=<brand id>&listing_id=<listing id>")
    if not principal_for_marketplace(deps, marketplace).allows(brand):
        return _error(
            403, f"403 forbidden: marketplace {marketplace!r} is not registered for brand {brand!r}"
        )
    return _lookup(deps, marketplace, brand, listing_id)


def _lookup(deps: Deps, marketplace: str, brand: str, listing_id: str) -> WebhookResponse:
    rows = deps.docs.query(
        paths.scans(brand),
        filters=[Filter("listing.listing_id", "==", listing_id)],
        limit=SCANS_READ_LIMIT,
    )
    own = [
        (path.rsplit("/", 1)[1], doc)
        for path, doc in rows
        if (prov := doc.get("marketplace_provenance") or {}).get("verified")
        and prov.get("marketplace") == marketplace
    ]
    if not own:
        return _error(404, f"no listing {listing_id!r} from {marketplace!r} for brand {brand!r}")
    scan_id, scan = max(own, key=lambda row: str(_iso(row[1].get("created_at"))))
    body: dict[str, Any] = {
        "brand_id": brand,
        "listing_id": listing_id,
        "scan_id": scan_id,
        "status": scan.get("status"),
        "received_at": _iso(scan.get("created_at")),
        "verdict": None,
        "review": None,
        "case": None,
    }
    doc = deps.docs.get(paths.verdict_path(brand, scan_id))
    if doc is not None:
        verdict = verdict_from_doc(doc)
        body["verdict"] = {
            "tier": verdict.tier,
            "score": round(verdict.score, 4),
            "rule": verdict.rule,
            "reasons": list(verdict.reasons),
            "created_at": verdict.created_at.isoformat(),
        }
        review = doc.get("review") if isinstance(doc.get("review"), dict) else None
        if review:
            body["review"] = {
                "decision": review.get("decision"),
                "decided_at": _iso(review.get("decided_at")),
            }
    case = get_case(deps.docs, brand, scan_id)
    if case is not None:
        body["case"] = {"state": case.get("state"), "updated_at": _iso(case.get("updated_at"))}
    return WebhookResponse(200, body)
