"""What the review page reads of the clusters: the list, one cluster with its members, a listing's cluster,
and sellers ranked by repeat offences. Every read is under one brand's path (a cluster never spans brands:
its documents live under ``brands/{brand}``, and the chain only links listings of the verdict's brand)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from common import paths
from common.clusters.keys import Key
from common.clusters.unionfind import MAX_HOPS
from common.ports import DocumentStore, Filter, Order

IN_CHUNK = 30  # Firestore's limit of values in one "in" filter
LIST_MAX = 200
MEMBERS_MAX = 1000
RANKING_ROWS_MAX = 5000  # confirmed queue rows read for the seller ranking


def resolve(docs: DocumentStore, brand: str, cluster_id: str) -> tuple[str, dict[str, Any]] | None:
    """The root of ``cluster_id`` (following merges) and its document; None for an unknown id."""
    current = cluster_id
    for _ in range(MAX_HOPS):
        doc = docs.get(paths.cluster_path(brand, current))
        if doc is None:
            return None
        if not doc.get("parent"):
            return current, doc
        current = str(doc["parent"])
    return None


def list_clusters(
    docs: DocumentStore, brand: str, min_size: int = 2, limit: int = 50
) -> list[dict[str, Any]]:
    """Root clusters of at least ``min_size`` listings, largest first."""
    rows = docs.query(
        paths.clusters(brand),
        [Filter("root", "==", True), Filter("size", ">=", max(1, min_size))],
        [Order("size", descending=True)],
        limit=min(limit, LIST_MAX),
    )
    return [doc for _p, doc in rows]


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), IN_CHUNK):
        yield values[i : i + IN_CHUNK]


def members(docs: DocumentStore, brand: str, root: dict[str, Any]) -> list[dict[str, Any]]:
    """The member documents of a root cluster (nodes it absorbed included), each with its queue row's review
    state, Tier 1 first, then most recently seen."""
    nodes = [str(root["cluster_id"]), *(str(a) for a in root.get("absorbed") or [])]
    out: list[dict[str, Any]] = []
    for chunk in _chunks(nodes):
        out += [
            doc for _p, doc in docs.query(paths.cluster_members(brand), [Filter("cluster_id", "in", chunk)])
        ]
        if len(out) >= MEMBERS_MAX:
            break
    for member in out:
        row = docs.get(paths.queue_path(brand, str(member["listing_id"]))) or {}
        member["state"] = row.get("state", "pending")
        member["decision"] = row.get("decision")
        member["queue_scan_id"] = row.get("scan_id") or member.get("scan_id")
    out.sort(key=lambda m: (int(m.get("tier") or 9), -_ts(m.get("last_seen")), str(m["listing_id"])))
    return out[:MEMBERS_MAX]


def _ts(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else 0.0


def cluster_of_listing(docs: DocumentStore, brand: str, listing_id: str) -> tuple[str, dict[str, Any]] | None:
    member = docs.get(paths.cluster_member_path(brand, listing_id))
    return resolve(docs, brand, str(member["cluster_id"])) if member else None


def seller_ranking(docs: DocumentStore, brand: str, limit: int = 50) -> list[dict[str, Any]]:
    """Sellers by confirmed counterfeits (queue rows whose latest decision is ``confirmed``), the same seller
    id counted across marketplaces, with the accounts its clusters link it to."""
    rows = docs.query(paths.queue(brand), [Filter("decision", "==", "confirmed")], limit=RANKING_ROWS_MAX)
    by_seller: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"confirmed": 0, "marketplaces": defaultdict(int), "listings": [], "clusters": {}}
    )
    for _p, row in rows:
        seller = str(row.get("seller_id") or "").strip()
        if not seller:
            continue
        entry = by_seller[seller]
        entry["confirmed"] += 1
        entry["marketplaces"][str(row.get("marketplace") or "-")] += 1
        entry["listings"].append(str(row.get("listing_id")))
    ranked = sorted(by_seller.items(), key=lambda kv: (-kv[1]["confirmed"], kv[0]))[:limit]
    out = []
    for seller, entry in ranked:
        linked: set[str] = set()
        for market in entry["marketplaces"]:
            key = docs.get(paths.cluster_key_path(brand, Key("seller", f"{market}/{seller}").doc_id))
            found = resolve(docs, brand, str(key["cluster_id"])) if key else None
            if found:
                entry["clusters"][found[0]] = int(found[1].get("size") or 0)
                linked |= set(found[1].get("sellers") or {})
        out.append(
            {
                "seller_id": seller,
                "confirmed": entry["confirmed"],
                "marketplaces": dict(sorted(entry["marketplaces"].items())),
                "listings": sorted(entry["listings"])[:20],
                "clusters": entry["clusters"],
                "linked_accounts": sorted(linked - {f"{m}/{seller}" for m in entry["marketplaces"]}),
            }
        )
    return out
