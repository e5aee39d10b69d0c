"""The chain's clustering step: a recorded verdict joins its listing to the clusters it shares something with.

Order matters for concurrent verdicts (function instances run side by side): the listing's print is stored
and its member document written (joined through its exact keys) *before* its near-duplicate search. Of two
near-duplicate listings processed at once, whichever searches second then finds the other's print and member,
so the pair is never missed; the search's unions run in a second transaction. Both transactions touch only the
member, its keys and the roots of the clusters joined (``common.clusters.unionfind``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common import paths
from common.bootstrap import Deps
from common.clusters import fingerprints as fp
from common.clusters.keys import listing_keys, normalise_store_url, seller_value
from common.clusters.unionfind import Link, union
from common.messages import Verdict
from common.ports import NearQuery

log = logging.getLogger(__name__)
NEAR_LIMIT = 50  # nearest prints per query; near-duplicates beyond the 50th are in those clusters already


@dataclass(frozen=True)
class ClusterOutcome:
    cluster_id: str | None
    links: list[Link] = field(default_factory=list)
    embedding: str = "used"  # or why not

    def record(self) -> dict[str, Any]:
        """What the scan document keeps (``scan.cluster``)."""
        return {
            "cluster_id": self.cluster_id,
            "near": [lk.record() for lk in self.links],
            "embedding": self.embedding,
        }


def member_fields(listing: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The member document's own fields for ``verdict`` (the latest of its listing, when it is newer)."""
    seen = verdict.created_at
    return {
        "listing_id": verdict.listing_id,
        "brand_id": verdict.brand_id,
        "scan_id": verdict.scan_id,
        "tier": verdict.tier,
        "score": verdict.score,
        "verdict_at": seen,
        "first_seen": seen,
        "last_seen": seen,
        "seller": seller_value(listing),
        "seller_id": listing.get("seller_id"),
        "marketplace": listing.get("marketplace"),
        "store": normalise_store_url(listing.get("store_url")),
        "store_url": listing.get("store_url"),
        "title": listing.get("title"),
        "price": listing.get("price"),
        "currency": listing.get("currency"),
        "url": listing.get("url"),
    }


def near_links(deps: Deps, brand_id: str, listing_id: str, prints: fp.Prints) -> list[Link]:
    """Listings whose stored print is within the PDQ distance or embedding cosine of these prints."""
    queries = [
        NearQuery("pdq_vector", fp.pdq_vector(hex_value), fp.PDQ_MIN_COSINE, NEAR_LIMIT)
        for hex_value in (prints.pdq, prints.pdq_mirror)
        if hex_value
    ]
    if prints.embedding is not None:
        queries.append(
            NearQuery("embedding", prints.embedding, fp.EMBED_CLUSTER_COSINE, NEAR_LIMIT, model=prints.model)
        )
    best: dict[tuple[str, str], Link] = {}
    for query, found in zip(queries, deps.prints.near_many(brand_id, queries), strict=True):
        for other, cosine in found:
            if query.field == "embedding":
                best[("embedding", other)] = Link("embedding", other, round(cosine, 4))
                continue
            d = fp.pdq_distance(cosine)
            current = best.get(("pdq", other))
            if current is None or d < current.value:
                best[("pdq", other)] = Link("pdq", other, d)
    return [lk for (_, other), lk in sorted(best.items()) if other != listing_id]


def add_listing(deps: Deps, listing: dict[str, Any], verdict: Verdict, prints: fp.Prints) -> ClusterOutcome:
    """Store the prints, join the member through its keys, then through its near-duplicate images."""
    brand_id, listing_id = verdict.brand_id, verdict.listing_id
    now = deps.clock()
    # added_at is the index's own wall clock (the local print index tops up by it), not the verdict's time
    deps.docs.set(paths.cluster_print_path(brand_id, listing_id), prints.doc(listing_id, datetime.now(UTC)))
    member = member_fields(listing, verdict)
    keys = listing_keys(listing)
    root = deps.docs.transaction(lambda txn: union(txn, brand_id, listing_id, member, keys, [], now))
    links = near_links(deps, brand_id, listing_id, prints)
    if links:
        root = deps.docs.transaction(lambda txn: union(txn, brand_id, listing_id, None, [], links, now))
    return ClusterOutcome(
        root, links, "used" if prints.embedding is not None else str(prints.why_no_embedding)
    )


def _model(deps: Deps) -> Any | None:
    try:
        return deps.model
    except Exception as exc:  # noqa: BLE001 - no model here: PDQ and exact keys still cluster
        log.warning("clusters: image model unavailable (%s); clustering without embeddings", exc)
        return None


def cluster_scan(deps: Deps, brand_id: str, scan_id: str) -> ClusterOutcome:
    """The step after the verdict: fingerprint the working copy and join the listing's clusters."""
    from common.imaging import open_working
    from common.review.queue import verdict_from_doc

    vdoc = deps.docs.get(paths.verdict_path(brand_id, scan_id))
    scan = deps.docs.get(paths.scan_path(brand_id, scan_id)) or {}
    if vdoc is None:
        raise LookupError(f"scan {scan_id} has no verdict yet")
    verdict = verdict_from_doc(vdoc)
    listing = dict(scan.get("listing") or {"listing_id": verdict.listing_id})
    working = (scan.get("image") or {}).get("working") or {
        "bucket": deps.settings.work_bucket,
        "name": paths.working_copy(brand_id, scan_id),
    }
    image = open_working(deps.blobs.read(working["bucket"], working["name"]))
    outcome = add_listing(deps, listing, verdict, fp.fingerprint(image, _model(deps)))
    deps.docs.update(paths.scan_path(brand_id, scan_id), {"cluster": outcome.record()})
    return outcome
