"""Nearest-reference search behind one port: a vectorised numpy index and Firestore vector search.

Why two: the embedded default keeps a brand's reference vectors in memory (a few hundred references score in
microseconds); the cloud chain asks Firestore's ``find_nearest`` (cosine) so a function instance need not hold
every vector. Both answer the same question: for a set of query vectors (the candidate's crops), the best
cosine per reference over all queries and all stored views of that reference, top ``k`` references first.

Firestore layout: every stored vector (a reference's whole image and each of its crops) is also one document
``brands/{brand}/reference_views/{ref_id}~{view}`` = ``{ref_id, view, model, embedding}``, written by the
EmbedExtractor through the DocumentStore port (the GCP adapter stores ``embedding`` as a
``google.cloud.firestore_v1.vector.Vector``). find_nearest searches one vector field of one collection, so one
document per view lets crops be searched too, and keeps documents far under the 1 MiB limit.
Production needs a single-field vector index on collection group ``reference_views``, field ``embedding``,
the model's dimension (``flat``); the emulator needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from common.ports import Hit, VectorIndex

if TYPE_CHECKING:
    from common.brand_model import Brand

VIEWS_COLLECTION = "reference_views"
VECTOR_FIELD = "embedding"
DISTANCE_FIELD = "vector_distance"
# find_nearest accepts at most 1000 results per query (Firestore limit).
FIRESTORE_MAX_LIMIT = 1000
# Concurrent find_nearest calls per candidate (one per crop); Firestore handles far more, 8 keeps a function
# instance's connection pool small.
FIRESTORE_QUERY_THREADS = 8


def reference_views(ref: dict[str, Any]) -> list[tuple[str, list[float]]]:
    """(view name, vector) pairs stored in one reference document (see EmbedExtractor).

    ``embedding_crops`` is a map view-name -> vector: Firestore forbids arrays of arrays, maps of arrays are fine.
    """
    out: list[tuple[str, list[float]]] = []
    if ref.get(VECTOR_FIELD):
        out.append(("whole", list(ref[VECTOR_FIELD])))
    crops = ref.get("embedding_crops") or {}
    for view in sorted(crops):
        out.append((view, list(crops[view])))
    return out


class LocalVectorIndex:
    """All vectors in one float32 matrix; one matmul per candidate, max-reduced per reference."""

    name = "local"

    def __init__(self, ref_ids: Sequence[str], vectors: np.ndarray, owners: np.ndarray, views: Sequence[str]):
        self.ref_ids = list(ref_ids)
        self.vectors = np.ascontiguousarray(vectors, np.float32)
        self.owners = np.asarray(owners, np.int64)
        self.views = list(views)
        if len(self.vectors) != len(self.owners) or len(self.owners) != len(self.views):
            raise ValueError("vectors, owners and views must have the same length")
        counts = (
            np.bincount(self.owners, minlength=len(self.ref_ids)) if len(self.owners) else np.zeros(0, int)
        )
        self._contiguous = bool(len(self.owners) and np.all(np.diff(self.owners) >= 0) and np.all(counts > 0))
        if self._contiguous:
            self._ends = np.cumsum(counts)
            self._starts = self._ends - counts

    @classmethod
    def from_references(
        cls, references: Iterable[dict[str, Any]], model: str | None = None
    ) -> LocalVectorIndex:
        """Index of the references' stored views; ``model`` keeps only vectors from that model."""
        ref_ids: list[str] = []
        rows: list[list[float]] = []
        owners: list[int] = []
        views: list[str] = []
        for ref in references:
            if model is not None and ref.get("embedding_model") != model:
                continue
            stored = reference_views(ref)
            if not stored:
                continue
            ref_ids.append(str(ref["ref_id"]))
            for view, vec in stored:
                rows.append(vec)
                owners.append(len(ref_ids) - 1)
                views.append(view)
        dim = len(rows[0]) if rows else 0
        matrix = np.asarray(rows, np.float32).reshape(len(rows), dim)
        return cls(ref_ids, matrix, np.asarray(owners, np.int64), views)

    def __len__(self) -> int:
        return len(self.vectors)

    def nearest(self, queries: np.ndarray, k: int) -> list[Hit]:
        if len(self.vectors) == 0 or len(queries) == 0:
            return []
        queries = np.asarray(queries, np.float32).reshape(len(queries), -1)
        sims = queries @ self.vectors.T  # Q x V, one BLAS call
        best = sims.max(axis=0) if len(queries) > 1 else sims[0]
        if self._contiguous:  # views of one reference sit together: a segmented max, O(V)
            per_ref = np.maximum.reduceat(best, self._starts)
        else:
            per_ref = np.full(len(self.ref_ids), -np.inf, np.float32)
            np.maximum.at(per_ref, self.owners, best)
        k = min(k, len(per_ref))
        top = np.argpartition(-per_ref, k - 1)[:k] if k < len(per_ref) else np.arange(len(per_ref))
        top = top[np.argsort(-per_ref[top], kind="stable")]
        hits = []
        for ref in top:  # which view and which query won: only for the k references reported
            views = (
                np.flatnonzero(self.owners == ref)
                if not self._contiguous
                else np.arange(self._starts[ref], self._ends[ref])
            )
            view = int(views[np.argmax(best[views])])
            hits.append(
                Hit(self.ref_ids[ref], float(per_ref[ref]), int(np.argmax(sims[:, view])), self.views[view])
            )
        return hits


def local_index_for(cache: dict[Any, Any], brand: Brand, model: str) -> LocalVectorIndex:
    """The brand's index, cached per process (``Deps.cache``) by (brand, kit version, model)."""
    key = f"embed-index:{brand.brand_id}:{brand.version}:{model}"
    index = cache.get(key)
    if index is None:
        index = LocalVectorIndex.from_references(brand.references, model=model)
        cache[key] = index
    return index


class FirestoreVectorIndexes:
    """GCP adapter: ``find_nearest`` on the Firestore client the document store already holds."""

    name = "firestore"

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client  # called per index: the document store builds its client lazily

    def index_for(self, brand: Brand, model: str) -> VectorIndex:
        live = {str(r["ref_id"]) for r in brand.references}
        return FirestoreVectorIndex(self._client(), brand.brand_id, model, live_ref_ids=live)

    def prepare(self, brand: Brand, model: str) -> None:
        """Nothing to build: Firestore maintains its vector index as the EmbedExtractor writes view documents."""


def view_doc_id(ref_id: str, view: str) -> str:
    return f"{ref_id}~{view}".replace("/", "_")


class FirestoreVectorIndex:
    """``find_nearest`` (COSINE) over ``brands/{brand}/reference_views``; one query per candidate crop.

    Firestore's COSINE distance is ``1 - cosine similarity``; results are filtered to the current model and,
    when given, to reference ids still in the kit (views of removed references may linger).
    """

    name = "firestore"

    def __init__(
        self,
        client: Any,
        brand_id: str,
        model: str,
        live_ref_ids: set[str] | None = None,
        per_query: int = 20,
    ):
        self.client = client
        self.brand_id = brand_id
        self.model = model
        self.live_ref_ids = live_ref_ids
        self.per_query = min(per_query, FIRESTORE_MAX_LIMIT)

    def _collection(self) -> Any:
        return self.client.collection("brands").document(self.brand_id).collection(VIEWS_COLLECTION)

    def _query(self, vector: np.ndarray) -> list[tuple[str, str, float]]:
        from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
        from google.cloud.firestore_v1.vector import Vector

        query = self._collection().find_nearest(
            vector_field=VECTOR_FIELD,
            query_vector=Vector([float(v) for v in vector]),
            distance_measure=DistanceMeasure.COSINE,
            limit=self.per_query,
            distance_result_field=DISTANCE_FIELD,
        )
        out = []
        for snap in query.get():
            data = snap.to_dict() or {}
            if data.get("model") != self.model:
                continue
            out.append(
                (str(data["ref_id"]), str(data.get("view", "whole")), 1.0 - float(data[DISTANCE_FIELD]))
            )
        return out

    def nearest(self, queries: np.ndarray, k: int) -> list[Hit]:
        queries = np.asarray(queries, np.float32).reshape(len(queries), -1)
        with ThreadPoolExecutor(max_workers=min(FIRESTORE_QUERY_THREADS, max(1, len(queries)))) as pool:
            results = list(pool.map(self._query, queries))
        best: dict[str, Hit] = {}
        for qi, rows in enumerate(results):
            for ref_id, view, cosine in rows:
                if self.live_ref_ids is not None and ref_id not in self.live_ref_ids:
                    continue
                if ref_id not in best or cosine > best[ref_id].cosine:
                    best[ref_id] = Hit(ref_id, cosine, qi, view)
        return sorted(best.values(), key=lambda h: -h.cosine)[:k]


def firestore_client(settings: Any) -> Any:
    from google.cloud import firestore

    return firestore.Client(project=settings.project, database=settings.firestore_database)
