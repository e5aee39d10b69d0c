"""``POST /authenticate``: the same authentication over HTTP, signed like the marketplace webhook.

Wire format: body ``{"brand", "model", "photos": [{"region": "seam", "image": "data:image/jpeg;base64,…" |
"https://…"}], "pdf": false}``, headers ``X-Marketplace`` and ``X-Signature`` exactly as for the webhook
(``common.webhook``: HMAC-SHA256 over ``f"{t}.{body}"``, 300 s tolerance, a signature is accepted once). The
sender may authenticate items only for the brands it is registered for (``marketplaces/{id}.brands``).
Answers: 200 the report (``pdf_base64`` when asked); 400 not JSON; 401 signature; 403 brand not allowed;
413 body over 30 MiB; 400 also for JSON deeper than 4 or over 1,000 tokens; 422 field errors, unknown brand or model, refused image.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from common import boundedjson
from common.authenticate.contract import REGION_PATTERN
from common.authenticate.service import MAX_PHOTOS, Photo, authenticate
from common.authz import principal_for_marketplace, scoped_deps
from common.errors import BadInput, FetchRefused, UnknownBrand
from common.messages import BRAND_PATTERN
from common.ports import AlreadyExists
from common.webhook import (
    MARKETPLACE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_TOLERANCE_S,
    SignatureError,
    verify_signature,
)

if TYPE_CHECKING:
    from common.bootstrap import Deps

log = logging.getLogger(__name__)
# Cloud Run refuses requests over 32 MiB; under it, with room for headers: about six phone close-ups as base64.
MAX_BODY_BYTES = 30 * 1024 * 1024
# The body is {brand, model, pdf, photos: [{region, image}] x MAX_PHOTOS}: 3 deep, ~120 tokens. Checked on the
# raw bytes before json builds anything (common.boundedjson), as for the webhook.
MAX_JSON_DEPTH = 4
MAX_JSON_TOKENS = 1000
FETCH_TIMEOUT_S = 10.0
_DATA_URI = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,", re.ASCII)


def _answer(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return status, body


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return headers.get(name.lower()) if value is None else value


def _image(value: object, max_bytes: int, allow_private: bool) -> bytes:
    if not isinstance(value, str):
        raise FetchRefused("image: must be a data:image/...;base64 URI or an https URL")
    match = _DATA_URI.match(value)
    if match:
        encoded = value[match.end() :]
        if len(encoded) > max_bytes * 4 // 3 + 4:
            raise FetchRefused(f"image: inline image larger than {max_bytes} bytes")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise FetchRefused("image: inline data is not valid base64") from None
    if value.lower().startswith(("https://", "http://")):
        from common.fetch import fetch_image

        return fetch_image(value, max_bytes=max_bytes, timeout_s=FETCH_TIMEOUT_S, allow_private=allow_private)
    raise FetchRefused("image: must be a data:image/...;base64 URI or an https URL")


def handle_authenticate(deps: Deps, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
    marketplace = _header(headers, MARKETPLACE_HEADER)
    secrets = deps.settings.webhook_secrets.get(marketplace or "", ())
    if not marketplace or not secrets:
        return _answer(401, {"error": f"unknown or missing {MARKETPLACE_HEADER}"})
    try:
        timestamp, sig = verify_signature(secrets, _header(headers, SIGNATURE_HEADER), body, deps.clock())
    except SignatureError as exc:
        log.warning("authenticate: rejected request from %s: %s", marketplace[:100], exc)
        return _answer(401, {"error": str(exc)})
    nonce = f"webhook_nonces/{hashlib.sha256(f'auth:{marketplace}:{sig}'.encode()).hexdigest()}"
    try:
        expires = datetime.fromtimestamp(timestamp, UTC) + timedelta(seconds=TIMESTAMP_TOLERANCE_S)
        deps.docs.create(nonce, {"marketplace": marketplace, "expires_at": expires})
    except AlreadyExists:
        return _answer(401, {"error": "replayed request (this signature was already used)"})
    try:
        return _authenticate(deps, marketplace, body)
    except Exception:
        deps.docs.delete(nonce)  # a transient failure must not burn the signature
        raise


def _authenticate(deps: Deps, marketplace: str, body: bytes) -> tuple[int, dict[str, Any]]:
    try:
        raw = boundedjson.loads(body, max_depth=MAX_JSON_DEPTH, max_tokens=MAX_JSON_TOKENS)
    except boundedjson.JSONTooComplex as exc:
        return _answer(400, {"error": f"body is not an authentication request: {exc}"})
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _answer(400, {"error": "body is not valid JSON"})
    if not isinstance(raw, dict):
        return _answer(400, {"error": "body must be a JSON object"})
    brand, model, photos = raw.get("brand"), raw.get("model"), raw.get("photos")
    if not isinstance(brand, str) or not re.fullmatch(BRAND_PATTERN, brand):
        return _answer(422, {"error": "invalid request", "field": "brand", "message": "required brand id"})
    if not isinstance(model, str) or not model:
        return _answer(422, {"error": "invalid request", "field": "model", "message": "required model name"})
    principal = principal_for_marketplace(deps, marketplace)
    if not principal.allows(brand):
        return _answer(403, {"error": f"403 forbidden: marketplace {marketplace[:80]!r} is not registered for "
                                      f"brand {brand!r}"})  # fmt: skip
    if not isinstance(photos, list) or not 1 <= len(photos) <= MAX_PHOTOS:
        return _answer(422, {"error": "invalid request", "field": "photos",
                             "message": f"a list of 1-{MAX_PHOTOS} {{region, image}} objects"})  # fmt: skip
    decoded: list[Photo] = []
    for i, item in enumerate(photos):
        region = item.get("region") if isinstance(item, dict) else None
        if not isinstance(region, str) or not re.fullmatch(REGION_PATTERN, region):
            return _answer(422, {"error": "invalid request", "field": f"photos.{i}.region",
                                 "message": f"a region name matching {REGION_PATTERN}"})  # fmt: skip
        try:
            data = _image(item.get("image"), deps.settings.max_image_bytes, deps.settings.fetch_allow_private)
        except FetchRefused as exc:
            return _answer(422, {"error": str(exc), "field": f"photos.{i}.image"})
        decoded.append(Photo(region, f"photos[{i}]", data))
    scoped = scoped_deps(deps, principal)
    try:
        report = authenticate(scoped, brand, model, decoded)
    except (BadInput, UnknownBrand) as exc:
        return _answer(422, {"error": str(exc)})
    if raw.get("pdf") is True:
        from common.authenticate.report import render_pdf

        report["pdf_base64"] = base64.b64encode(render_pdf(report, deps.clock())).decode()
    log.info("authenticate: %s %s/%s -> %s", marketplace[:80], brand, model[:80], report["result"])
    return _answer(200, report)
