"""Stored union-find: cluster nodes as documents, merged inside one transaction per verdict.

Why stored nodes instead of a nightly recompute: a verdict that arrives links its listing to a few others
(a shared seller key, a near-duplicate image); only the clusters of those listings can change, so only their
root documents are read and written. Each node is ``brands/{b}/clusters/{id}``: a root holds the cluster's
summary (size, sellers, marketplaces, stores, tiers, first/last seen, link counts) and the ids of the nodes it
absorbed; a merged node holds only ``parent``. Union by size keeps every path at most log2(size) hops, so
``find`` reads a handful of documents and a merge writes the winner plus one small document per loser, never
the members (a member's ``cluster_id`` names the node it joined; ``find`` resolves it).

The partition does not depend on the order verdicts arrive in (union-find's own property; which node id
survives a merge does: the larger cluster's, ties to the smaller id). Applying the same member twice changes
nothing: its counts enter the summary as the difference from its stored state, and links already recorded
are not counted again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import paths
from common.clusters.keys import Key
from common.ports import Transaction

COUNTERS = ("sellers", "marketplaces", "stores", "tiers")
LINKS_KEPT = 50  # link records kept on a member document (the counts on the root keep every one)
MAX_HOPS = 64  # union by size bounds depth by log2(n); more hops means a corrupt parent chain


@dataclass(frozen=True)
class Link:
    """Why a listing joined a cluster: ``kind`` pdq / embedding (``to`` the near listing, ``value`` the PDQ
    distance or the cosine) or seller / store (``to`` None, ``value`` the shared key)."""

    kind: str
    to: str | None
    value: Any

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "to": self.to, "value": self.value}


def node_id(listing_id: str) -> str:
    """The node a listing creates when it links to nothing yet (deterministic: a rerun finds the same one)."""
    return "c-" + hashlib.sha256(listing_id.encode()).hexdigest()[:20]


def member_counts(member: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """What one member adds to its root's counters."""
    if not member:
        return {name: {} for name in COUNTERS}
    values = {
        "sellers": member.get("seller"),
        "marketplaces": member.get("marketplace"),
        "stores": member.get("store"),
        "tiers": str(member["tier"]) if member.get("tier") is not None else None,
    }
    return {name: ({str(v): 1} if v else {}) for name, v in values.items()}


def empty_root(cluster_id: str, brand_id: str, now: datetime) -> dict[str, Any]:
    return {
        "cluster_id": cluster_id,
        "brand_id": brand_id,
        "root": True,
        "parent": None,
        "size": 0,
        "absorbed": [],
        **{name: {} for name in COUNTERS},
        "links": {},
        "first_seen": None,
        "last_seen": None,
        "best_tier": None,
        "created_at": now,
        "updated_at": now,
    }


def find(txn: Transaction, brand_id: str, cluster_id: str) -> tuple[str, dict[str, Any]]:
    """The root of ``cluster_id`` and its document (reads only)."""
    current = cluster_id
    for _ in range(MAX_HOPS):
        doc = txn.get(paths.cluster_path(brand_id, current))
        if doc is None:
            raise LookupError(f"cluster node {current} of brand {brand_id} does not exist")
        parent = doc.get("parent")
        if not parent:
            return current, doc
        current = str(parent)
    raise LookupError(f"cluster node {cluster_id}: parent chain longer than {MAX_HOPS} hops")


def _add_counts(target: dict[str, Any], counts: dict[str, dict[str, int]], sign: int = 1) -> None:
    for name, values in counts.items():
        bucket = dict(target.get(name) or {})
        for key, n in values.items():
            bucket[key] = int(bucket.get(key, 0)) + sign * n
            if bucket[key] <= 0:
                del bucket[key]
        target[name] = bucket


def _earliest(*values: Any) -> Any:
    present = [v for v in values if isinstance(v, datetime)]
    return min(present) if present else None


def _latest(*values: Any) -> Any:
    present = [v for v in values if isinstance(v, datetime)]
    return max(present) if present else None


def merged(roots: dict[str, dict[str, Any]], now: datetime) -> tuple[str, dict[str, Any]]:
    """Union by size: the winner's id and the summary of all ``roots`` together."""
    winner = min(roots, key=lambda cid: (-int(roots[cid].get("size") or 0), cid))
    out = dict(roots[winner])
    absorbed = list(out.get("absorbed") or [])
    links = dict(out.get("links") or {})
    for cid, doc in sorted(roots.items()):
        if cid == winner:
            continue
        out["size"] = int(out.get("size") or 0) + int(doc.get("size") or 0)
        for name in COUNTERS:
            _add_counts(out, {name: dict(doc.get(name) or {})})
        for kind, n in (doc.get("links") or {}).items():
            links[kind] = int(links.get(kind, 0)) + int(n)
        absorbed += [cid, *(doc.get("absorbed") or [])]
        out["first_seen"] = _earliest(out.get("first_seen"), doc.get("first_seen"))
        out["last_seen"] = _latest(out.get("last_seen"), doc.get("last_seen"))
    out.update({"absorbed": sorted(set(absorbed)), "links": links, "updated_at": now, "root": True})
    out["parent"] = None
    return winner, out


def best_tier(summary: dict[str, Any]) -> int | None:
    tiers = [int(t) for t, n in (summary.get("tiers") or {}).items() if int(n) > 0]
    return min(tiers) if tiers else None


def union(
    txn: Transaction,
    brand_id: str,
    listing_id: str,
    member: dict[str, Any] | None,
    keys: Iterable[Key],
    links: Iterable[Link],
    now: datetime,
) -> str | None:
    """Join the listing's member document (``member``: its new fields; None keeps the stored ones) to the
    clusters its ``keys`` and near ``links`` lead to, merging them. Returns the root, or None when there is
    nothing to join (no member stored and none given). Reads everything first, then writes (Firestore's rule)."""
    keys, links = list(keys), [lk for lk in links if lk.to != listing_id]
    mpath = paths.cluster_member_path(brand_id, listing_id)
    stored = txn.get(mpath)
    if stored is None and member is None:
        return None
    key_docs = {k.doc_id: txn.get(paths.cluster_key_path(brand_id, k.doc_id)) for k in keys}
    near = {lk.to: txn.get(paths.cluster_member_path(brand_id, str(lk.to))) for lk in links if lk.to}
    starts = [stored["cluster_id"]] if stored else []
    starts += [d["cluster_id"] for d in key_docs.values() if d]
    starts += [d["cluster_id"] for d in near.values() if d]
    roots: dict[str, dict[str, Any]] = {}
    for node in starts:
        rid, rdoc = find(txn, brand_id, str(node))
        roots[rid] = rdoc
    if not roots:
        new_id = node_id(listing_id)
        if txn.get(paths.cluster_path(brand_id, new_id)) is None:
            roots[new_id] = empty_root(new_id, brand_id, now)
        else:  # a node of this id exists already (e.g. its member was removed by hand): join its root
            rid, rdoc = find(txn, brand_id, new_id)
            roots[rid] = rdoc
    # ---- writes from here on
    winner, summary = merged(roots, now)
    new_links = _new_links(listing_id, stored, keys, key_docs, links, near)
    after = dict(stored or {}) if member is None else {**(stored or {}), **member}
    if member is not None and (stored is None or _newer_or_same(member, stored)):
        _add_counts(summary, member_counts(stored), -1)
        _add_counts(summary, member_counts(after))
        if stored is None:
            summary["size"] = int(summary.get("size") or 0) + 1
    elif member is not None and stored is not None:  # an older scan arrived late: keep the latest fields
        after = {**stored, "first_seen": _earliest(stored.get("first_seen"), member.get("first_seen"))}
    summary["first_seen"] = _earliest(summary.get("first_seen"), after.get("first_seen"))
    summary["last_seen"] = _latest(summary.get("last_seen"), after.get("last_seen"))
    for lk in new_links:
        summary["links"][lk.kind] = int(summary["links"].get(lk.kind, 0)) + 1
    summary["best_tier"] = best_tier(summary)
    txn.set(paths.cluster_path(brand_id, winner), summary)
    for cid, doc in roots.items():
        if cid != winner:
            txn.set(paths.cluster_path(brand_id, cid), _absorbed_node(cid, brand_id, winner, doc, now))
    recorded = list(after.get("links") or []) + [lk.record() for lk in new_links]
    after.update({"cluster_id": winner, "links": recorded[-LINKS_KEPT:], "keys": sorted(key_docs) or
                  after.get("keys", [])})  # fmt: skip
    txn.set(mpath, after)
    for key in keys:
        if key_docs[key.doc_id] is None:
            txn.set(
                paths.cluster_key_path(brand_id, key.doc_id),
                {"kind": key.kind, "value": key.value, "cluster_id": winner, "first_listing": listing_id,
                 "created_at": now},
            )  # fmt: skip
    return winner


def _newer_or_same(member: dict[str, Any], stored: dict[str, Any]) -> bool:
    new, old = member.get("verdict_at"), stored.get("verdict_at")
    if not isinstance(new, datetime) or not isinstance(old, datetime):
        return True
    return (new, str(member.get("scan_id"))) >= (old, str(stored.get("scan_id")))


def _new_links(
    listing_id: str,
    stored: dict[str, Any] | None,
    keys: list[Key],
    key_docs: dict[str, dict[str, Any] | None],
    links: list[Link],
    near: dict[str, dict[str, Any] | None],
) -> list[Link]:
    """Links not yet on the member: a shared key someone else holds, a near listing that has a member."""
    seen = {(r.get("kind"), r.get("to"), str(r.get("value"))) for r in (stored or {}).get("links") or []}
    seen_to = {(r.get("kind"), r.get("to")) for r in (stored or {}).get("links") or [] if r.get("to")}
    out = []
    for key in keys:
        doc = key_docs[key.doc_id]
        if doc and doc.get("first_listing") != listing_id and (key.kind, None, key.value) not in seen:
            out.append(Link(key.kind, None, key.value))
    for lk in links:
        if near.get(str(lk.to)) and (lk.kind, lk.to) not in seen_to:
            out.append(lk)
            seen_to.add((lk.kind, lk.to))
    return out


def _absorbed_node(
    cid: str, brand_id: str, winner: str, doc: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "cluster_id": cid,
        "brand_id": brand_id,
        "root": False,
        "parent": winner,
        "size": 0,
        "size_at_merge": int(doc.get("size") or 0),
        "merged_at": now,
        "created_at": doc.get("created_at"),
    }
