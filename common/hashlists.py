"""Hash lists: a brand's reference PDQ hashes out to HMA / ThreatExchange, external lists of known-counterfeit
PDQ hashes in as extra match lists of that brand, with their provenance in every verdict they decide.

Why the whole-frame hash on both sides: ThreatExchange and HMA hash a file's full pixels; our matching hash is of
a 256 px product-region copy and is not what they compute. References store the exchange hash at ``brand add``
(``pdq_exchange``, full resolution: 0 bits from ``pdq_from_bytes``); a candidate is compared with imported lists
by its whole-frame hash at LIST_QUERY_SIDE (measured on the ThreatExchange vectors: 4-12 bits from their hash of
the original file, ~3 ms instead of ~35 ms at 1.6 MP) and by its matching hash, and the closer one counts.

Storage (DocumentStore, so the same code runs on SQLite and Firestore; tenant data under ``brands/{brand}``):
``brands/{b}/hashlists/{list}`` holds the provenance (source name, file name and sha256, format, counts, time,
``revision``); entries live in ``brands/{b}/hashlist_chunks/{list}:{revision}:{n}`` as JSON text (CHUNK_ENTRIES
per document, well under Firestore's 1 MiB, and not exploded into indexed fields). A re-import writes the new
revision's chunks, then the list document, then deletes the old chunks: a reader never mixes two revisions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from common import hashing, paths
from common.errors import BadInput
from common.hashlist_formats import ListEntry, parse_list, render_export
from common.imaging import downscale
from common.messages import Signal

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.channels import Candidate

LIST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHUNK_ENTRIES = 500  # <= 500 x ~600 bytes per chunk document
MAX_LIST_ENTRIES = 1_000_000  # the index answers 1M x 256-bit in a few ms (scripts/bench.py)
MAX_LIST_BYTES = 200_000_000
# Candidate whole-frame hash side for list matching: 512 px was 4-12 bits from ThreatExchange's full-resolution
# hash on the reference vectors (1024 px: 0-8 bits but ~20 ms; 256 px: 10-26 bits).
LIST_QUERY_SIDE = 512
LIST_PREFIX = "hashlist"


def lists_collection(brand_id: str) -> str:
    return paths.hashlists(brand_id)


def chunks_collection(brand_id: str) -> str:
    return paths.hashlist_chunks(brand_id)


@dataclass(frozen=True)
class ImportResult:
    brand_id: str
    list_id: str
    format: str
    entries: int
    skipped: dict[str, int]
    revision: str
    replaced: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand_id,
            "source": self.list_id,
            "format": self.format,
            "entries": self.entries,
            "skipped": self.skipped,
            "revision": self.revision,
            "replaced": self.replaced,
        }


def check_list_id(list_id: str) -> str:
    if not LIST_ID.match(list_id or ""):
        raise BadInput(
            f"invalid list name {list_id[:80]!r}: 1-64 of A-Z a-z 0-9 . _ - (starting alphanumeric)"
        )
    return list_id


def import_list(
    deps: Deps, brand_id: str, data: bytes, *, source: str, fmt: str = "auto", filename: str = ""
) -> ImportResult:
    """Store ``data`` (a shared hash list) as the brand's match list ``source``; replaces a list of that name.
    ``deps`` must already be scoped to the caller (common.authz): every path here is under ``brands/{brand}``."""
    from common.brands import get_brand

    check_list_id(source)
    get_brand(deps, brand_id)
    if len(data) > MAX_LIST_BYTES:
        raise BadInput(f"{filename or 'hash list'}: {len(data)} bytes, at most {MAX_LIST_BYTES} allowed")
    parsed = parse_list(data, fmt, filename)
    if len(parsed.entries) > MAX_LIST_ENTRIES:
        raise BadInput(
            f"{filename or 'hash list'}: {len(parsed.entries)} entries, at most {MAX_LIST_ENTRIES}"
        )
    digest = hashlib.sha256(data).hexdigest()
    revision = hashlib.sha256(f"{source}\n{parsed.format}\n{digest}".encode()).hexdigest()[:16]
    chunks = deps.docs.list(chunks_collection(brand_id))
    old_chunks = [p for p, doc in chunks if doc.get("list") == source and doc.get("revision") != revision]
    entries = parsed.entries
    for n, start in enumerate(range(0, len(entries), CHUNK_ENTRIES)):
        part = entries[start : start + CHUNK_ENTRIES]
        deps.docs.set(
            f"{chunks_collection(brand_id)}/{source}:{revision}:{n:05d}",
            {
                "list": source,
                "revision": revision,
                "entries_json": json.dumps(
                    [[e.entry_id, e.pdq, e.quality, e.meta] for e in part], ensure_ascii=False
                ),
            },
        )
    list_path = f"{lists_collection(brand_id)}/{source}"
    replaced = deps.docs.get(list_path) is not None
    deps.docs.set(
        list_path,
        {
            "list": source,
            "revision": revision,
            "format": parsed.format,
            "filename": filename[-200:],
            "sha256": digest,
            "entries": len(entries),
            "chunks": -(-len(entries) // CHUNK_ENTRIES),
            "skipped": dict(parsed.skipped),
            "imported_at": deps.clock(),
        },
    )
    for path in old_chunks:
        deps.docs.delete(path)
    return ImportResult(
        brand_id, source, parsed.format, len(entries), dict(parsed.skipped), revision, replaced
    )


def brand_lists(deps: Deps, brand_id: str) -> list[dict[str, Any]]:
    return [doc for _, doc in sorted(deps.docs.list(lists_collection(brand_id)))]


def remove_list(deps: Deps, brand_id: str, source: str) -> int:
    """Delete list ``source`` and its entries; returns how many entries it had (BadInput if there is none)."""
    check_list_id(source)
    doc = deps.docs.get(f"{lists_collection(brand_id)}/{source}")
    if doc is None:
        raise BadInput(f"brand {brand_id!r} has no hash list {source!r}")
    deps.docs.delete(f"{lists_collection(brand_id)}/{source}")
    for path, chunk in deps.docs.list(chunks_collection(brand_id)):
        if chunk.get("list") == source:
            deps.docs.delete(path)
    return int(doc.get("entries", 0))


# --- export ----------------------------------------------------------------------------------------------------


def export_rows(deps: Deps, brand_id: str) -> list[dict[str, Any]]:
    """The brand's references' exchange hashes; BadInput with the fix if they were hashed by an older version."""
    from common.brands import get_brand

    brand = get_brand(deps, brand_id)
    rows, stale = [], []
    for doc in sorted(brand.references, key=lambda d: str(d.get("ref_id"))):
        if doc.get("kind", "reference") != "reference":
            continue
        exchange = doc.get("pdq_exchange")
        if doc.get("hash_schema", 1) < hashing.HASH_SCHEMA:
            stale.append(str(doc.get("ref_id")))
        elif isinstance(exchange, dict) and exchange.get("pdq"):  # absent: too flat to hash (quality < 50)
            rows.append(
                {
                    "pdq": exchange["pdq"],
                    "quality": exchange.get("quality"),
                    "brand": brand_id,
                    "reference": doc.get("ref_id"),
                    "filename": doc.get("filename"),
                    "sha256": doc.get("sha256"),
                }
            )
    if stale:
        raise BadInput(
            f"brand {brand_id!r}: {len(stale)} reference(s) were hashed before hash schema {hashing.HASH_SCHEMA} "
            f"(e.g. {stale[0]}); run `counterfeit brand add KIT_DIR` again to re-hash them"
        )
    return rows


def export_text(deps: Deps, brand_id: str, fmt: str) -> tuple[str, int]:
    rows = export_rows(deps, brand_id)
    return render_export(rows, fmt), len(rows)


# --- matching --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListIndex:
    index: hashing.HashIndex
    entries: dict[str, tuple[dict[str, Any], ListEntry]]  # row id -> (list doc, entry)

    def __len__(self) -> int:
        return len(self.entries)


def list_index(deps: Deps, brand_id: str) -> ListIndex:
    """The brand's imported lists as one index, cached per process until a list's revision changes."""
    lists = {
        doc["list"]: doc for doc in brand_lists(deps, brand_id) if doc.get("list") and doc.get("revision")
    }
    state = ",".join(f"{name}@{doc['revision']}" for name, doc in sorted(lists.items()))
    key = f"hashlists:{brand_id}:{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    cached = deps.cache.get(key)
    if cached is not None:
        return cached
    prefix = f"hashlists:{brand_id}:"
    for old in [k for k in deps.cache if isinstance(k, str) and k.startswith(prefix)]:
        del deps.cache[old]
    entries: dict[str, tuple[dict[str, Any], ListEntry]] = {}
    if lists:
        for _, chunk in deps.docs.list(chunks_collection(brand_id)):
            doc = lists.get(chunk.get("list", ""))
            if doc is None or chunk.get("revision") != doc["revision"]:
                continue  # another revision's chunk (a re-import in progress or left by a crash)
            for entry_id, pdq, quality, meta in json.loads(chunk.get("entries_json") or "[]"):
                entry = ListEntry(str(entry_id), str(pdq), quality, dict(meta or {}))
                entries[f"{LIST_PREFIX}:{doc['list']}:{entry.entry_id}"] = (doc, entry)
    built = ListIndex(hashing.HashIndex((row, {"pdq": e.pdq}) for row, (_, e) in entries.items()), entries)
    deps.cache[key] = built
    return built


def closest_entry(
    lists: ListIndex, image: Image.Image, region: str | None
) -> tuple[hashing.Match, str] | None:
    """The list row closest to the candidate by its whole-frame hash (at LIST_QUERY_SIDE) or its matching hash
    ``region`` (``compute_hashes(image)["pdq"]``), with which query found it; None when both are missing."""
    queries: dict[str, str] = {}
    frame, quality = hashing.exchange_pdq(downscale(image, LIST_QUERY_SIDE))
    if quality >= hashing.PDQ_MIN_QUALITY:
        queries["whole frame"] = frame
    if region:
        queries["product region"] = region
    # a big list answers only within the match threshold (exact, through the multi-index: ms at 10M rows);
    # a small one also names its closest non-matching entry in the signal's detail
    within = hashing.PDQ_MATCH if len(lists) >= hashing.MIH_MIN_ROWS else None
    found = [
        (m, how) for how, value in queries.items() for m in lists.index.nearest("pdq", value, within=within)
    ]
    if not found:
        return None
    # ties go to the whole-frame hash: it is the one the list's owner computed
    return min(found, key=lambda pair: (pair[0].distance, pair[1] != "whole frame"))


def match_signal(deps: Deps, brand: Brand, image: Image.Image) -> Signal:
    """The ``hash`` signal: the brand's references (common.hashing) and, when the brand has imported lists,
    those lists; a list within PDQ_MATCH fires the signal and names the list and the entry."""
    query = hashing.compute_hashes(image)
    signal = hashing.hash_signal(deps, brand, image, query)
    lists = list_index(deps, brand.brand_id)
    if len(lists) == 0:
        return signal
    closest = closest_entry(lists, image, query.get("pdq"))
    if closest is None:
        return signal
    best, how = closest
    doc, entry = lists.entries[best.ref_id]
    return _with_list_match(signal, best.ref_id, best.distance, how, doc, entry)


def _provenance(doc: Mapping[str, Any], entry: ListEntry) -> dict[str, Any]:
    return {
        "list": doc.get("list"),
        "entry": entry.entry_id,
        "file": doc.get("filename") or None,
        "file_sha256": doc.get("sha256"),
        "format": doc.get("format"),
        "imported_at": str(doc.get("imported_at")),
        "entry_quality": entry.quality,
        "entry_meta": entry.meta,
    }


def _with_list_match(
    signal: Signal, row_id: str, distance: int, how: str, doc: Mapping[str, Any], entry: ListEntry
) -> Signal:
    fired = distance <= hashing.PDQ_MATCH
    detail = dict(signal.detail) | {
        "hashlist": _provenance(doc, entry)
        | {"distance": distance, "threshold": hashing.PDQ_MATCH, "query": how, "matched": fired}
    }
    if not fired:
        return signal.model_copy(update={"detail": detail})
    extra = entry.meta.get("category") or entry.meta.get("note") or entry.meta.get("collab")
    sentence = (
        f"Matches entry {entry.entry_id!r} of imported hash list {doc.get('list')!r}"
        f"{f' ({extra})' if extra else ''} from {doc.get('filename') or doc.get('format')} "
        f"(pdq distance {distance} <= threshold {hashing.PDQ_MATCH}, {how})."
    )
    if signal.status == "fired":  # a reference already matched: it stays the evidence, the list corroborates
        return signal.model_copy(update={"detail": detail, "reason": f"{signal.reason} {sentence}"})
    score = round(0.85 + 0.15 * (1 - distance / hashing.PDQ_MATCH), 4)
    return Signal(name="hash", status="fired", score=score, reference=row_id, reason=sentence, detail=detail)


class HashChannel:
    """The ``hash`` channel: the funnel's cheap first stage (the pipeline's hash_match step)."""

    name = "hash"

    def run(self, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]:
        return {"hash": match_signal(deps, brand, candidate.image)}


CHANNEL = HashChannel()
