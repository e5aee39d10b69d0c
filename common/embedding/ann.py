"""Approximate nearest-reference search for big catalogues: a FAISS HNSW graph per brand and model.

Why: the exact index (``LocalVectorIndex``) reads every stored vector per query: 137 ms per crop at 1M vectors
of 1280-d. An HNSW graph visits a few thousand of them instead. scripts/bench_index.py measured hnswlib 0.8.0,
usearch 2.26.6 and faiss-cpu 1.15.1 side by side on vectors shaped like the shipped model's (docs/indexes.md);
FAISS gave the lowest query cost at the same recall, ships manylinux wheels (hnswlib compiles from source with
``-march=native``) and is maintained by Meta's FAISS team. The graph walks the vectors projected to 128
dimensions and re-ranks its top candidates exactly against the stored float32 vectors
(common/embedding/ann_graph.py: a tenth of the work per visited node of the 1280-d graph; measured side by side
with it, with a 256-d projection and with 8-bit codes in docs/indexes.md). Below ``ANN_MIN_VECTORS`` the exact scan is cheaper than the graph (the measured crossover)
and needs nothing built or stored, so small brands keep it.

Same answer as ``LocalVectorIndex.nearest``: the best cosine per reference over all query rows and stored views,
top ``k`` references first. Each query row asks the graph for its ``k * max_views`` nearest rows: a reference in
the exact top ``k`` has its best (query, view) pair beaten, for that query, only by views of the at most
``k - 1`` references above it, so with an exact neighbour list this top list is exact; the graph's recall (>= 0.99
measured to 300k rows with the breadth and re-rank depth of ``SEARCH_TIERS``) is the only approximation. Cosines are the re-rank's inner products of the
stored float32 vectors, the same numbers the exact index computes.

Incremental: rows are appended for added or changed references (HNSW inserts without a rebuild); rows of removed
or changed references are marked deleted (an ``IDSelectorBitmap`` at search time: they still route the graph but
are never returned). Once a quarter of the rows are deleted the graph is rebuilt from the live references.

Persisted through the blob port as one object (``paths.vector_index``): a header with a SHA-256 of the body, the
rows' metadata (brand, model, which reference and view each row holds), the projection, the float32 vectors and
FAISS's own serialisation of the graph. A file that
fails the checksum, belongs to another brand or model, or was written by another format/FAISS version is
discarded and rebuilt from the brand's reference documents (logged): a persisted index is a cache, never the
source of truth.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from common.embedding import ann_graph
from common.embedding.index import reference_views
from common.ports import Hit

log = logging.getLogger(__name__)

# From this many stored vectors (all views of all references of one model) a brand gets a graph; below, the
# exact scan. Measured where the channel pays it (scripts/bench_index.py port, a candidate's 15 crops, k = 5,
# CPU ms on one thread, the 128-d M 32 graph with its re-rank): 2,000 vectors exact 2.8 / graph 2.6 ms; 3,000:
# 3.9 / 2.9; 10,000: 13.0 / 4.2 (docs/indexes.md). A kit of 500 photos (brands.MAX_KIT_FILES) stores ~3,000 views.
ANN_MIN_VECTORS = 3_000
# The graph's parameters (scripts/bench_index.py; docs/indexes.md): dimensions walked, search breadth, candidates
# re-ranked exactly per query row.
GRAPH_DIM = ann_graph.GRAPH_DIM
EF_SEARCH = ann_graph.EF_SEARCH
RERANK = ann_graph.RERANK
# Search breadth (efSearch) and candidates re-ranked exactly per query row, by the graph's rows: the last tier
# whose first row count the graph has reached. Why (scripts/bench_index.py embed, docs/indexes.md): a bigger
# catalogue is more crowded, so both the graph and the 128-d projection need to look further for the same
# recall. The projection alone (its exact top candidates re-ranked, no graph) keeps recall@10 0.998 / 1.000 of the
# exact answer at 100k with 50 / 100 candidates, but 0.994 / 0.998 / 1.000 at 1M with 50 / 100 / 200; the 100k
# graph at efSearch 256 gave 0.998 with 50 and 1.000 with 100 (0.95 -> 1.01 ms CPU per crop; 200: 1.15 ms).
SEARCH_TIERS: tuple[tuple[int, int, int], ...] = (
    (0, EF_SEARCH, RERANK),
    (100_000, 256, 100),
    (500_000, 256, 200),
)


def search_settings(rows: int) -> tuple[int, int]:
    """(efSearch, candidates re-ranked per query row) for a graph of ``rows`` rows (``SEARCH_TIERS``)."""
    if rows < 0:
        raise ValueError(f"{rows} rows")
    ef, rerank = SEARCH_TIERS[0][1:]
    for first, tier_ef, tier_rerank in SEARCH_TIERS:
        if rows >= first:
            ef, rerank = tier_ef, tier_rerank
    return ef, rerank


# Rebuild from the live references once this share of the rows is marked deleted (dead rows cost memory and
# search breadth).
COMPACT_AT_DELETED = 0.25
FORMAT = "counterfeit-ann/2"  # /1 (a 1280-d IndexHNSWFlat) is refused as stale and rebuilt
_MAGIC = b"CFANN\x00\x02\n"
# magic; lengths of the metadata, projection, float32 vectors and FAISS graph; sha256 of the four
_HEAD = struct.Struct("<8sQQQQ32s")


class StaleIndex(ValueError):
    """The persisted index cannot be used (corrupt, another brand/model/format): rebuild it."""


def _faiss() -> Any:
    """FAISS, searching on one thread. Why: a candidate's 15 crops on two OpenMP threads cost 2.2x the CPU of one
    thread (16.2 vs 7.3 ms measured at 3,000 vectors: the second thread mostly waits), and parallel scans run one
    worker per core already. Inserts take every core (``_all_cores``): ``brand add`` runs alone."""
    import faiss

    if not _SEARCH_THREADS_SET:
        faiss.omp_set_num_threads(1)
        _SEARCH_THREADS_SET.append(True)
    return faiss


_SEARCH_THREADS_SET: list[bool] = []


@contextlib.contextmanager
def _all_cores() -> Iterator[None]:
    faiss = _faiss()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


@dataclass
class _Rows:
    """Per row of the graph: the reference it belongs to (index into ``refs``), its view, and whether it is live."""

    refs: list[tuple[str, str]] = field(default_factory=list)  # (ref_id, image sha256)
    owners: list[int] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    live: list[bool] = field(default_factory=list)


def view_count(ref: dict[str, Any]) -> int:
    """How many vectors ``reference_views(ref)`` holds, without copying them."""
    return (1 if ref.get("embedding") else 0) + len(ref.get("embedding_crops") or {})


def wanted_references(references: Iterable[dict[str, Any]], model: str) -> dict[str, dict[str, Any]]:
    """The reference docs whose vectors belong in the index of ``model``, by ref id."""
    return {
        str(ref["ref_id"]): ref
        for ref in references
        if ref.get("embedding_model") == model and view_count(ref)
    }


def vector_count(references: Iterable[dict[str, Any]], model: str) -> int:
    return sum(view_count(ref) for ref in references if ref.get("embedding_model") == model)


class AnnVectorIndex:
    """One brand's reference views of one model in a FAISS HNSW graph with an exact re-rank (unit vectors)."""

    name = "ann"

    def __init__(self, brand_id: str, model: str, dim: int) -> None:
        _faiss()
        self.brand_id = brand_id
        self.model = model
        self.dim = dim
        self.graph = ann_graph.RerankedGraph(dim, GRAPH_DIM)
        self.rows = _Rows()
        self._ref_rows: dict[str, list[int]] = {}  # ref_id -> its live rows
        self._ref_index: dict[str, int] = {}  # ref_id -> index into rows.refs of its live entry
        self.kit_version = ""
        self._lock = threading.Lock()  # FAISS graphs are not safe to search while rows are inserted
        self._shape: tuple[int, int, np.ndarray | None] | None = None

    # ------------------------------------------------------------------ building and updating

    @classmethod
    def build(
        cls, brand_id: str, model: str, references: Iterable[dict[str, Any]], kit_version: str = ""
    ) -> AnnVectorIndex:
        wanted = wanted_references(references, model)
        if not wanted:
            raise ValueError(f"brand {brand_id!r} has no reference vectors for model {model!r}")
        dim = len(reference_views(next(iter(wanted.values())))[0][1])
        index = cls(brand_id, model, dim)
        index._add(list(wanted.values()))
        index.kit_version = kit_version
        return index

    def _add(self, refs: Sequence[dict[str, Any]]) -> None:
        self._shape = None
        vectors: list[list[float]] = []
        for ref in refs:
            ref_id = str(ref["ref_id"])
            owner = len(self.rows.refs)
            self.rows.refs.append((ref_id, str(ref.get("sha256", ""))))
            self._ref_index[ref_id] = owner
            rows = self._ref_rows.setdefault(ref_id, [])
            for view, vec in reference_views(ref):
                if len(vec) != self.dim:
                    raise ValueError(f"{ref_id} view {view}: {len(vec)}-d vector in a {self.dim}-d index")
                rows.append(len(self.rows.owners))
                self.rows.owners.append(owner)
                self.rows.views.append(view)
                self.rows.live.append(True)
                vectors.append(vec)
        if vectors:
            with _all_cores():
                self.graph.add(np.asarray(vectors, np.float32).reshape(len(vectors), self.dim))

    def _remove(self, ref_id: str) -> None:
        self._shape = None
        for row in self._ref_rows.pop(ref_id, []):
            self.rows.live[row] = False
        self._ref_index.pop(ref_id, None)

    def sync(
        self, references: Iterable[dict[str, Any]], kit_version: str = ""
    ) -> tuple[list[str], list[str]]:
        """Bring the index to the brand's current references: (added or changed ref ids, removed ref ids).

        A reference is identified by its id and image digest: a changed photo is removed and added again."""
        with self._lock:
            return self._sync(references, kit_version)

    def _sync(self, references: Iterable[dict[str, Any]], kit_version: str) -> tuple[list[str], list[str]]:
        wanted = wanted_references(references, self.model)
        current = {ref_id: self.rows.refs[i][1] for ref_id, i in self._ref_index.items()}
        removed = sorted(
            r for r, sha in current.items() if r not in wanted or str(wanted[r].get("sha256", "")) != sha
        )
        added = sorted(r for r in wanted if r not in current or r in removed)
        for ref_id in removed:
            self._remove(ref_id)
        self._add([wanted[r] for r in added])
        self.kit_version = kit_version
        return added, [r for r in removed if r not in wanted]

    @property
    def deleted_share(self) -> float:
        total = len(self.rows.live)
        return (total - len(self)) / total if total else 0.0

    def __len__(self) -> int:
        """Live rows (stored views that can be returned)."""
        return self._search_shape()[0]

    # ------------------------------------------------------------------ search

    def _search_shape(self) -> tuple[int, int, np.ndarray | None]:
        """(live rows, most live views of one reference, bitmap of live rows or None when all are): computed
        once per change, not per query (a per-query pass over a million rows would cost more than the search)."""
        if self._shape is None:
            max_views = max((len(rows) for rows in self._ref_rows.values()), default=0)
            live = np.asarray(self.rows.live, bool)
            bitmap = None if live.all() else np.packbits(live, bitorder="little")
            self._shape = (int(live.sum()), max_views, bitmap)
        return self._shape

    def nearest(self, queries: Any, k: int) -> list[Hit]:
        queries = np.asarray(queries, np.float32).reshape(len(queries), -1) if len(queries) else queries
        if len(queries) == 0 or k <= 0:
            return []
        if queries.shape[1] != self.dim:
            raise ValueError(f"{queries.shape[1]}-d queries against a {self.dim}-d index")
        faiss = _faiss()
        with self._lock:
            live_rows, max_views, bitmap = self._search_shape()
            if live_rows == 0:
                return []
            per_query = min(live_rows, k * max_views)
            selector = None
            if bitmap is not None:  # FAISS holds a raw pointer: the array lives in self._shape meanwhile
                selector = faiss.IDSelectorBitmap(len(self.rows.live), faiss.swig_ptr(bitmap))
            ef, rerank = search_settings(len(self.graph))
            sims, rows = self.graph.search(
                queries, per_query, ef=ef, rerank=max(rerank, per_query), selector=selector
            )
        best: dict[int, tuple[float, int, str]] = {}  # owner -> (cosine, query, view)
        for qi in range(len(queries)):
            for sim, row in zip(sims[qi].tolist(), rows[qi].tolist(), strict=True):
                if row < 0:
                    continue
                owner = self.rows.owners[row]
                if owner not in best or sim > best[owner][0]:
                    best[owner] = (sim, qi, self.rows.views[row])
        top = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        return [Hit(self.rows.refs[owner][0], cos, qi, view) for owner, (cos, qi, view) in top]

    # ------------------------------------------------------------------ persistence

    def to_bytes(self) -> bytes:
        faiss = _faiss()
        graph_meta, projection, vectors, graph = self.graph.to_parts()
        meta = json.dumps(
            {
                "format": FORMAT,
                "faiss": faiss.__version__,
                "brand": self.brand_id,
                "model": self.model,
                "dim": self.dim,
                "graph": graph_meta,
                "kit_version": self.kit_version,
                "refs": self.rows.refs,
                "owners": self.rows.owners,
                "views": self.rows.views,
                "dead": [i for i, alive in enumerate(self.rows.live) if not alive],
            },
            separators=(",", ":"),
        ).encode()
        parts = (meta, projection, vectors, graph)
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        return b"".join((_HEAD.pack(_MAGIC, *map(len, parts), digest.digest()), *parts))

    @classmethod
    def from_bytes(cls, data: bytes, brand_id: str, model: str) -> AnnVectorIndex:
        """The persisted index, or StaleIndex saying why it cannot be used."""
        faiss = _faiss()
        if len(data) < _HEAD.size:
            raise StaleIndex(f"{len(data)} bytes: shorter than the header")
        magic, *lengths, digest = _HEAD.unpack_from(data)
        if magic != _MAGIC:
            raise StaleIndex("not a counterfeit vector index of this format (bad magic)")
        body = memoryview(data)[_HEAD.size :]
        if len(body) != sum(lengths) or hashlib.sha256(body).digest() != digest:
            raise StaleIndex("checksum mismatch (truncated or corrupt)")
        ends = np.cumsum(lengths).tolist()
        meta_bytes, projection, vectors, graph = (
            body[lo:hi] for lo, hi in zip([0, *ends[:-1]], ends, strict=True)
        )
        try:
            meta = json.loads(bytes(meta_bytes))
        except ValueError as exc:
            raise StaleIndex(f"unreadable metadata ({exc})") from exc
        for key, want in (
            ("format", FORMAT),
            ("faiss", faiss.__version__),
            ("brand", brand_id),
            ("model", model),
        ):
            if meta.get(key) != want:
                raise StaleIndex(f"{key} is {str(meta.get(key))[:80]!r}, expected {want!r}")
        try:
            reranked = ann_graph.RerankedGraph.from_parts(meta["graph"], projection, vectors, graph)
        except RuntimeError as exc:
            raise StaleIndex(f"FAISS could not read the graph ({str(exc)[:120]})") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise StaleIndex(f"the graph's parts disagree ({exc.__class__.__name__}: {exc})") from exc
        try:
            return cls._from_parts(brand_id, model, meta, reranked)
        except (KeyError, IndexError, TypeError, ValueError) as exc:  # a well-formed file never gets here
            raise StaleIndex(
                f"metadata does not describe the graph ({exc.__class__.__name__}: {exc})"
            ) from exc

    @classmethod
    def _from_parts(
        cls, brand_id: str, model: str, meta: dict[str, Any], graph: ann_graph.RerankedGraph
    ) -> AnnVectorIndex:
        index = cls(brand_id, model, int(meta["dim"]))
        owners, views = list(meta["owners"]), list(meta["views"])
        if graph.dim != index.dim or len(graph) != len(owners) or len(views) != len(owners):
            raise StaleIndex("graph and metadata disagree on the number or size of rows")
        n_refs, n_rows = len(meta["refs"]), len(owners)
        if not all(0 <= o < n_refs for o in owners) or not all(0 <= d < n_rows for d in meta["dead"]):
            raise StaleIndex("metadata points at rows or references that do not exist")
        index.graph = graph
        index.rows = _Rows([(str(r), str(s)) for r, s in meta["refs"]], owners, views, [True] * len(owners))
        for row in meta["dead"]:
            index.rows.live[row] = False
        for row, owner in enumerate(owners):
            if index.rows.live[row]:
                ref_id = index.rows.refs[owner][0]
                index._ref_rows.setdefault(ref_id, []).append(row)
                index._ref_index[ref_id] = owner
        index.kit_version = str(meta.get("kit_version", ""))
        index._shape = None
        return index
