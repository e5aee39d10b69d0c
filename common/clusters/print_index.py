"""Nearest listing fingerprints behind one port (``ports.PrintIndex``): numpy locally, Firestore in the cloud.

Both read the same documents (``paths.cluster_prints``: ``pdq_vector``, ``embedding``, ``embedding_model``,
``added_at``) written by ``common.clusters.membership`` through the DocumentStore, and answer the same range
question: which stored prints lie within ``min_cosine`` of a query vector.

Local: the brand's prints in two float32 matrices (rows appended, never rebuilt), cached per process
(``Deps.cache``) and topped up on each query with the prints added since the last one (``added_at >=`` the newest seen, minus a margin for writers
whose clocks or commits lag), so a query reads only new documents, then costs one matrix-vector product.
Firestore: ``find_nearest`` (COSINE, ``distance_threshold``) on the collection; production needs single-field
vector indexes on collection group ``cluster_prints`` for ``pdq_vector`` (256) and ``embedding`` (the model's
dimension), declared in infra/modules/firestore; the emulator needs none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from common import paths
from common.ports import DocumentStore, Filter, NearQuery, Order

FIELDS = ("pdq_vector", "embedding")
DISTANCE_FIELD = "vector_distance"
FIRESTORE_MAX_LIMIT = 1000  # find_nearest's own limit
# Prints stamped this long before the newest one seen are read again: a writer stamps ``added_at`` just before
# its commit, so one that commits a little later is not skipped. Small, because everything inside it is re-read
# on every query (30 s made a fast bulk run re-read every print each time).
TOP_UP_MARGIN = timedelta(seconds=5)


class _FieldRows:
    """One vector field of a brand's prints as a growing float32 matrix (rows overwritten in place on a
    re-scan, appended otherwise, capacity doubled), so a new print costs one row, never a rebuild."""

    def __init__(self) -> None:
        self.matrix: np.ndarray | None = None
        self.n = 0
        self.row: dict[str, int] = {}
        self.ids: list[str] = []
        self.models: list[str | None] = []

    def put(self, listing_id: str, value: Any, model: str | None) -> None:
        i = self.row.get(listing_id)
        if not value:
            if i is not None:  # the re-scanned image has no such print: its old row can no longer match
                assert self.matrix is not None
                self.matrix[i] = 0.0
            return
        vec = np.asarray(value, np.float32)
        if self.matrix is None:
            self.matrix = np.zeros((64, len(vec)), np.float32)
        if vec.shape != (self.matrix.shape[1],):
            return  # another model's dimension: never comparable with these rows
        if i is None:
            if self.n == len(self.matrix):
                self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
            i = self.row[listing_id] = self.n
            self.n += 1
            self.ids.append(listing_id)
            self.models.append(model)
        self.matrix[i] = vec
        self.models[i] = model


class _BrandPrints:
    def __init__(self) -> None:
        self.fields = {f: _FieldRows() for f in FIELDS}
        self.newest: datetime | None = None

    def put(self, listing_id: str, doc: dict[str, Any]) -> None:
        model = doc.get("embedding_model")
        for f in FIELDS:
            self.fields[f].put(listing_id, doc.get(f), model if f == "embedding" else None)
        added = doc.get("added_at")
        if isinstance(added, datetime) and (self.newest is None or added > self.newest):
            self.newest = added


class LocalPrintIndex:
    """Local adapter: numpy over the print documents of the DocumentStore (SQLite in the embedded default)."""

    name = "local"

    def __init__(self, docs: DocumentStore, cache: dict[Any, Any]) -> None:
        self.docs = docs
        self.cache = cache
        self._lock = threading.Lock()

    def _prints(self, brand_id: str) -> _BrandPrints:
        key = f"cluster-prints:{brand_id}"
        state = self.cache.get(key)
        if state is None:
            state = self.cache[key] = _BrandPrints()
        filters = [] if state.newest is None else [Filter("added_at", ">=", state.newest - TOP_UP_MARGIN)]
        for path, doc in self.docs.query(paths.cluster_prints(brand_id), filters, [Order("added_at")]):
            state.put(path.rsplit("/", 1)[-1], doc)
        return state

    def near(
        self,
        brand_id: str,
        field: str,
        vector: Sequence[float],
        min_cosine: float,
        limit: int,
        model: str | None = None,
    ) -> list[tuple[str, float]]:
        return self.near_many(brand_id, [NearQuery(field, vector, min_cosine, limit, model)])[0]

    def near_many(self, brand_id: str, queries: Sequence[NearQuery]) -> list[list[tuple[str, float]]]:
        for q in queries:
            if q.field not in FIELDS:
                raise ValueError(f"field must be one of {FIELDS}")
        with self._lock:
            state = self._prints(brand_id)  # one top-up for all the queries
            return [_search(state.fields[q.field], q) for q in queries]


def _search(rows: _FieldRows, q: NearQuery) -> list[tuple[str, float]]:
    if rows.matrix is None or rows.n == 0:
        return []
    query = np.asarray(q.vector, np.float32)
    if query.shape != (rows.matrix.shape[1],):
        return []  # another model's dimension: nothing comparable
    sims = rows.matrix[: rows.n] @ query
    hits = np.flatnonzero(sims >= q.min_cosine)
    out = []
    for i in hits[np.argsort(-sims[hits], kind="stable")]:
        if q.field == "embedding" and q.model is not None and rows.models[i] != q.model:
            continue
        out.append((rows.ids[i], float(sims[i])))
        if len(out) >= q.limit:
            break
    return out


class FirestorePrintIndex:
    """GCP adapter: ``find_nearest`` on ``brands/{brand}/cluster_prints`` with the client the store holds."""

    name = "firestore"

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def near(
        self,
        brand_id: str,
        field: str,
        vector: Sequence[float],
        min_cosine: float,
        limit: int,
        model: str | None = None,
    ) -> list[tuple[str, float]]:
        from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
        from google.cloud.firestore_v1.vector import Vector

        if field not in FIELDS:
            raise ValueError(f"field must be one of {FIELDS}")
        collection = self._client().collection(paths.cluster_prints(brand_id))
        query = collection.find_nearest(
            vector_field=field,
            query_vector=Vector([float(v) for v in vector]),
            distance_measure=DistanceMeasure.COSINE,
            limit=min(limit, FIRESTORE_MAX_LIMIT),
            distance_result_field=DISTANCE_FIELD,
            distance_threshold=1.0 - min_cosine,
        )
        out = []
        for snap in query.get():
            data = snap.to_dict() or {}
            cosine = 1.0 - float(data.get(DISTANCE_FIELD, 2.0))
            if cosine < min_cosine:  # the threshold is the server's; checked again, it is our contract
                continue
            if field == "embedding" and model is not None and data.get("embedding_model") != model:
                continue
            out.append((snap.id, cosine))
        return sorted(out, key=lambda r: -r[1])

    def near_many(self, brand_id: str, queries: Sequence[NearQuery]) -> list[list[tuple[str, float]]]:
        """One ``find_nearest`` per query: Firestore answers each range question on the server."""
        return [self.near(brand_id, q.field, q.vector, q.min_cosine, q.limit, q.model) for q in queries]
