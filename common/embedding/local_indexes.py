"""Local adapter of the vector-index port: exact numpy for small brands, a persisted FAISS graph for big ones.

Why the split: below ``ann.ANN_MIN_VECTORS`` stored vectors the exact scan answers faster than a graph and needs
nothing built or stored (docs/indexes.md "Crossover"); above it the graph (common/embedding/ann.py) answers in
about a millisecond where the scan grows with the catalogue. The graph is built at ``brand add`` (``prepare``),
persisted in the references bucket under ``paths.vector_index(brand, model)`` and, when the kit changes, updated
in place: added references are inserted, removed ones marked deleted, so one added photo costs one insertion,
not a rebuild. A process that finds the brand's kit newer than its cached or persisted graph syncs it the same
way, so a scan never searches references the kit no longer holds.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from common import paths
from common.embedding import ann
from common.embedding.index import local_index_for
from common.ports import BlobStore, NotFound, VectorIndex

if TYPE_CHECKING:
    from common.brand_model import Brand

log = logging.getLogger(__name__)


class LocalVectorIndexes:
    """Exact numpy (``LocalVectorIndex``) or the brand's FAISS graph, cached per process in ``cache``."""

    name = "local"

    def __init__(
        self,
        cache: dict[Any, Any],
        blobs: BlobStore | None = None,
        bucket: str = "",
        ann_min_vectors: int = ann.ANN_MIN_VECTORS,
    ) -> None:
        self.cache = cache
        self.blobs = blobs  # None: graphs are built in memory only (nothing persisted)
        self.bucket = bucket
        self.ann_min_vectors = ann_min_vectors
        self._lock = threading.Lock()  # one load/sync at a time per process; searches do not take it

    def index_for(self, brand: Brand, model: str) -> VectorIndex:
        if not self._wants_graph(brand, model):
            return local_index_for(self.cache, brand, model)
        return self._graph(brand, model)

    def prepare(self, brand: Brand, model: str) -> None:
        if self._wants_graph(brand, model):
            self._graph(brand, model)

    def _wants_graph(self, brand: Brand, model: str) -> bool:
        """Whether the brand's vectors of ``model`` reach the threshold (counted once per kit version)."""
        key = f"embed-count:{brand.brand_id}:{brand.version}:{model}"
        count = self.cache.get(key)
        if count is None:
            count = self.cache[key] = ann.vector_count(brand.references, model)
        return bool(count >= self.ann_min_vectors)

    def _graph(self, brand: Brand, model: str) -> ann.AnnVectorIndex:
        key = f"ann-index:{brand.brand_id}:{model}"
        with self._lock:
            index: ann.AnnVectorIndex | None = self.cache.get(key)
            if index is not None and index.kit_version == brand.version:
                return index
            if index is None:
                index = self._load(brand, model)
            if index is None:
                index = self._rebuild(brand, model)
            elif index.kit_version != brand.version:
                added, removed = index.sync(brand.references, brand.version)
                if index.deleted_share > ann.COMPACT_AT_DELETED:
                    log.info(
                        "vector index %s: %.0f %% of rows deleted; rebuilding",
                        self._name(brand, model),
                        index.deleted_share * 100,
                    )
                    index = self._rebuild(brand, model)
                elif added or removed:
                    log.info(
                        "vector index %s: %d references added, %d removed in place",
                        self._name(brand, model),
                        len(added),
                        len(removed),
                    )
                    self._store(brand, model, index)
            self.cache[key] = index
            return index

    def _name(self, brand: Brand, model: str) -> str:
        return f"{self.bucket}/{paths.vector_index(brand.brand_id, model)}"

    def _load(self, brand: Brand, model: str) -> ann.AnnVectorIndex | None:
        if self.blobs is None:
            return None
        try:
            data = self.blobs.read(self.bucket, paths.vector_index(brand.brand_id, model))
        except NotFound:
            return None
        try:
            return ann.AnnVectorIndex.from_bytes(data, brand.brand_id, model)
        except ann.StaleIndex as exc:
            log.warning(
                "vector index %s unusable (%s); rebuilding it from the brand's references",
                self._name(brand, model),
                exc,
            )
            return None

    def _rebuild(self, brand: Brand, model: str) -> ann.AnnVectorIndex:
        index = ann.AnnVectorIndex.build(brand.brand_id, model, brand.references, brand.version)
        log.info("vector index %s: built over %d vectors", self._name(brand, model), len(index))
        self._store(brand, model, index)
        return index

    def _store(self, brand: Brand, model: str, index: ann.AnnVectorIndex) -> None:
        if self.blobs is not None:
            self.blobs.write(self.bucket, paths.vector_index(brand.brand_id, model), index.to_bytes())
