"""Starting scans: a finalized upload (``ingest_blob``) or a listing with its image bytes (``ingest_listing``,
the webhook and the CLI). Each writes the scan document once, under a deterministic id, and publishes
``ScanRequested``; a redelivered event or a resent listing finds the scan already started and starts nothing.

Its own module, apart from the delivery mechanics in ``common.chain``: the webhook starts scans and the chain runs
them, and neither needs the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from typing import Any

from common import paths, topics
from common.bootstrap import Deps
from common.errors import BadInput
from common.messages import (
    BRAND_PATTERN,
    BlobRef,
    Listing,
    MarketplaceProvenance,
    ScanRequested,
)
from common.ports import AlreadyExists

log = logging.getLogger(__name__)


LISTING_METADATA_FIELDS = (
    "listing_id",
    "title",
    "description",
    "price",
    "currency",
    "seller_id",
    "inventory",
    "marketplace",
    "url",
    "spi",
)


def ingest_blob(
    deps: Deps, bucket: str, name: str, generation: int, metadata: dict[str, str], event_id: str
) -> str | None:
    """A finalized upload: ``gs://candidates/{brand}/...``; listing fields may ride in object metadata."""
    brand_id = name.split("/", 1)[0] if "/" in name else ""
    if not re.match(BRAND_PATTERN, brand_id):
        log.info("ingest: ignoring gs://%s/%s (not under a brand prefix)", bucket, name[:200])
        return None
    digest = hashlib.sha256(f"{bucket}/{name}#{generation}".encode()).hexdigest()
    scan_id = "g" + digest[:24]
    raw: dict[str, Any] = {
        k: metadata[k] for k in LISTING_METADATA_FIELDS if metadata.get(k) not in (None, "")
    }
    raw.setdefault("listing_id", _listing_id_from_name(name, digest))
    raw["image"] = f"gs://{bucket}/{name}"
    source = BlobRef(bucket=bucket, name=name, generation=generation)
    try:
        listing = _validated_listing(raw)
    except BadInput as exc:  # the upload is refused, and its scan record says why (the brand sees it)
        _record_refused_upload(deps, brand_id, scan_id, name, digest, source, str(exc), event_id)
        raise
    provenance = MarketplaceProvenance(
        marketplace=listing.marketplace, source="upload metadata (not authenticated)"
    )
    return _start_scan(
        deps, brand_id, scan_id, listing, source, origin={"event_id": event_id}, provenance=provenance
    )


def _record_refused_upload(
    deps: Deps,
    brand_id: str,
    scan_id: str,
    name: str,
    digest: str,
    source: BlobRef,
    reason: str,
    event_id: str,
) -> None:
    """A failed scan document for an upload whose metadata is invalid (nothing is published)."""
    listing = Listing(listing_id=_listing_id_from_name(name, digest), image=source.uri)
    doc = {
        "scan_id": scan_id,
        "brand_id": brand_id,
        "listing": listing.model_dump(mode="json"),
        "source": source.model_dump(mode="json"),
        "status": "failed",
        "error": f"ingest: {reason}",
        "created_at": deps.clock(),
        "finished_at": deps.clock(),
        "event_id": event_id,
    }
    with contextlib.suppress(AlreadyExists):  # a redelivered event: the record is already there
        deps.docs.create(paths.scan_path(brand_id, scan_id), doc)


def ingest_listing(
    deps: Deps,
    brand_id: str,
    listing: Listing,
    image_bytes: bytes,
    idempotency_key: str,
    extra: dict[str, Any] | None = None,
    verified_marketplace: str | None = None,
) -> str:
    """A listing with its image bytes (webhook or CLI). The same key always maps to the same scan.

    ``verified_marketplace``: the sender the webhook authenticated by signature (it is also
    ``listing.marketplace``). Without it, a marketplace named in the listing is recorded as given and never
    acted on (no callback)."""
    key_digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    scan_id = "w" + key_digest[:24]
    key_path = paths.listing_key_path(brand_id, key_digest[:40])
    try:
        deps.docs.create(key_path, {"scan_id": scan_id, "listing_id": listing.listing_id, "at": deps.clock()})
    except AlreadyExists:
        existing = deps.docs.get(key_path) or {}
        scan_id = existing.get("scan_id", scan_id)
        scan = deps.docs.get(paths.scan_path(brand_id, scan_id))
        if scan is not None and scan.get("status") != "received":
            return scan_id
    source = BlobRef(bucket=deps.settings.candidates_bucket, name=paths.listing_upload(brand_id, scan_id))
    generation = deps.blobs.write(source.bucket, source.name, image_bytes)
    source = source.model_copy(update={"generation": generation})
    verified = verified_marketplace is not None and verified_marketplace == listing.marketplace
    provenance = MarketplaceProvenance(
        marketplace=listing.marketplace,
        verified=verified,
        source="webhook signature" if verified else "given with the listing (not authenticated)",
    )
    return _start_scan(deps, brand_id, scan_id, listing, source, origin=extra or {}, provenance=provenance)


def _start_scan(
    deps: Deps,
    brand_id: str,
    scan_id: str,
    listing: Listing,
    source: BlobRef,
    origin: dict[str, Any],
    provenance: MarketplaceProvenance,
) -> str:
    spath = paths.scan_path(brand_id, scan_id)
    doc = {
        **origin,
        "scan_id": scan_id,
        "brand_id": brand_id,
        "listing": listing.without_inline_image().model_dump(mode="json"),
        "marketplace_provenance": provenance.model_dump(mode="json"),
        "source": source.model_dump(mode="json"),
        "status": "received",
        "created_at": deps.clock(),
    }
    try:
        deps.docs.create(spath, doc)
    except AlreadyExists:
        if (deps.docs.get(spath) or {}).get("status") != "received":
            return scan_id  # duplicate event: the scan is already under way
    msg = ScanRequested(
        scan_id=scan_id,
        brand_id=brand_id,
        listing=listing.without_inline_image(),
        source=source,
        received_at=deps.clock(),
    )
    payload, attrs = msg.to_pubsub()
    deps.publisher.publish(topics.SCAN_REQUESTED, payload, attrs)
    deps.docs.update(spath, {"status": "requested"})
    return scan_id


def _listing_id_from_name(name: str, digest: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", name.rsplit("/", 1)[-1])[:150].lstrip("-._") or "upload"
    return f"{stem}-{digest[:8]}"


def _validated_listing(raw: dict[str, Any]) -> Listing:
    from pydantic import ValidationError

    from common.messages import format_validation_error

    try:
        return Listing.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"invalid listing metadata: {format_validation_error(exc)}") from exc
