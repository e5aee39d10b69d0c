"""The search structure behind ``AnnVectorIndex``: an HNSW graph over vectors projected to fewer dimensions, and
an exact re-rank of the graph's top candidates against the stored float32 vectors.

Why: an HNSW query costs (nodes visited) x (one distance), and at 1280-d the distance is the cost: FAISS's
1280-d ``IndexHNSWFlat`` answered in 1.55-1.83 ms CPU at 100k vectors and was extrapolated to 2.4-3.3 ms at 1M
(docs/indexes.md). The graph only has to *route* to the right neighbourhood, so it walks vectors projected onto
their top principal directions (128 of 1280: a tenth of the work per visited node), and the final order comes
from the exact inner products of the top ``rerank`` candidates with the full vectors, so the cosines returned
are the same float32 numbers the exact index computes and a candidate the projection ranked slightly too low
still comes back first. scripts/bench_index.py measures this against the 1280-d graph, an 8-bit quantised
1280-d graph with the same re-rank, and exact search (docs/indexes.md has the tables and the pick).

The projection is the top eigenvectors of the *uncentred* second moment of the vectors (not PCA about the mean):
an orthogonal projection keeps inner products up to the part of both vectors outside the kept directions, and
the model's embeddings share a large mean direction (GeM features are non-negative) that must stay in the kept
space; centring would drop the term ``mean . x`` that differs per stored vector. It is fitted once, at build,
on an evenly spaced sample, and kept for incremental adds (new views come from the same model; a rebuild at
compaction refits it). A graph of at most ``graph_dim`` dimensions is built on the vectors as they are.

Not thread-safe for adds during searches: ``AnnVectorIndex`` holds a lock.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GRAPH_DIM = 128  # dimensions the graph walks (scripts/bench_index.py: PCA-128 vs 256, docs/indexes.md)
RERANK = 50  # graph candidates re-ranked exactly per query row
# Graph degree and build breadth: M 32 / efConstruction 200 against 16 / 100 at 300k vectors (same data and
# queries, 128-d): recall@10 0.989 / 0.995 against 0.951 / 0.967 at efSearch 128 / 256, for 2.6x the build CPU;
# through the port at 1k-10k vectors the query cost is the same (docs/indexes.md).
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 128
PROJECTION_SAMPLE = 4_096  # vectors the projection is fitted on (their 1,280 x 1,280 second moment: ~1 s)
PROJECTION_ITERATIONS = 6
Buffer = bytes | memoryview


def _faiss() -> Any:
    """FAISS, untyped: its SWIG classes are only partly described by the stubs (no ``SearchParametersHNSW``)."""
    import faiss

    return faiss


def fit_projection(vectors: np.ndarray, dims: int) -> np.ndarray:
    """(dims, d) orthonormal rows spanning the top eigenvectors of the uncentred second moment of an evenly
    spaced sample of ``vectors``, by subspace iteration from a seeded start (deterministic: the same vectors give
    the same projection). Why not ``numpy.linalg.eigh``: a full 1280 x 1280 eigendecomposition costs ~5 s CPU
    here, the iteration ~0.5 s, and the graph only needs the subspace (the re-rank fixes the order). On one BLAS
    thread: OpenBLAS's threaded QR of a 1280 x 288 block took 4.6 s CPU on the shared 2-core machine against
    0.03 s on one thread (its threads spin-wait for each other); threadpoolctl comes with scikit-learn."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_projection(vectors, dims)


def _fit_projection(vectors: np.ndarray, dims: int) -> np.ndarray:
    n, d = vectors.shape
    pick = np.linspace(0, n - 1, min(n, PROJECTION_SAMPLE)).astype(np.int64)
    sample = np.asarray(vectors[pick], np.float32)
    moment = sample.T @ sample
    width = min(d, dims + 32)  # a few extra directions make the top ones converge faster
    basis = np.linalg.qr(np.random.default_rng(0).standard_normal((d, width)).astype(np.float32))[0]
    for _ in range(PROJECTION_ITERATIONS):
        basis = np.linalg.qr(moment @ basis)[0]
    small = (basis.T @ moment @ basis).astype(np.float64)  # Rayleigh-Ritz: the order within the subspace
    _, eigvecs = np.linalg.eigh(small)
    top = basis @ eigvecs[:, ::-1][:, :dims].astype(np.float32)
    return np.ascontiguousarray(np.linalg.qr(top)[0].T, np.float32)


class RerankedGraph:
    """Unit vectors in an HNSW graph (inner product) over their projection, searched with an exact re-rank.

    ``quantised``: the graph stores its vectors in 8 bits per dimension (FAISS ``IndexHNSWSQ``) instead of
    float32; the re-rank still uses the float32 vectors. Rows are numbered in insertion order from 0."""

    def __init__(
        self,
        dim: int,
        graph_dim: int = GRAPH_DIM,
        quantised: bool = False,
        m: int = HNSW_M,
        ef_construction: int = EF_CONSTRUCTION,
    ) -> None:
        faiss = _faiss()
        self.dim = dim
        self.graph_dim = min(graph_dim, dim)
        self.quantised = quantised
        self.projection: np.ndarray | None = None  # fitted at the first add when graph_dim < dim
        self.graph: Any
        if quantised:
            qt = faiss.ScalarQuantizer.QT_8bit
            self.graph = faiss.IndexHNSWSQ(self.graph_dim, qt, m, faiss.METRIC_INNER_PRODUCT)
        else:
            self.graph = faiss.IndexHNSWFlat(self.graph_dim, m, faiss.METRIC_INNER_PRODUCT)
        self.graph.hnsw.efConstruction = ef_construction
        self._store = np.empty((0, dim), np.float32)  # capacity >= rows; rows [0, _n) are in use
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def vectors(self) -> np.ndarray:
        """The stored float32 vectors, one row per graph row (a view, not a copy)."""
        return self._store[: self._n]

    @property
    def nbytes(self) -> int:
        """Bytes held: the float32 vectors plus the graph (its vectors and links)."""
        hnsw = self.graph.hnsw
        links = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        code = self.graph_dim if self.quantised else self.graph_dim * 4
        return self._n * self.dim * 4 + self._n * code + int(links)

    def _reduce(self, vectors: np.ndarray) -> np.ndarray:
        if self.projection is None:
            return vectors
        return np.ascontiguousarray(vectors @ self.projection.T)

    def add(self, vectors: np.ndarray) -> None:
        """Append rows. A float32 C-contiguous array given to an empty graph is kept as the store, not copied
        (the bench's 1M vectors stay one copy); later adds grow the store by at least an eighth."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"{vectors.shape} vectors in a {self.dim}-d graph")
        if not len(vectors):
            return
        if self._n == 0:
            if self.graph_dim < self.dim:
                self.projection = fit_projection(vectors, self.graph_dim)
            if self.quantised and not self.graph.is_trained:
                self.graph.train(self._reduce(vectors))
        self._append(vectors)
        step = 100_000  # projected in slices: a 1M x 256 float32 copy would be another GB
        for lo in range(0, len(vectors), step):
            self.graph.add(self._reduce(vectors[lo : lo + step]))

    def _append(self, vectors: np.ndarray) -> None:
        n = self._n + len(vectors)
        if self._n == 0 and self._store.shape[0] == 0:
            self._store = vectors
        elif n > self._store.shape[0] or not self._store.flags.writeable:
            grown = np.empty((max(n, self._n + self._n // 8 + 1024), self.dim), np.float32)
            grown[: self._n] = self._store[: self._n]
            grown[self._n : n] = vectors
            self._store = grown
        else:
            self._store[self._n : n] = vectors
        self._n = n

    def search(
        self,
        queries: np.ndarray,
        k: int,
        ef: int = EF_SEARCH,
        rerank: int = RERANK,
        selector: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(inner products, rows), each (len(queries), k), best first; rows -1 (and -inf) where fewer than k
        rows are live. The graph proposes max(k, rerank) rows per query (``selector``: FAISS IDSelector of the
        rows that may be returned), ranked again by their exact inner product with the full query."""
        faiss = _faiss()
        queries = np.ascontiguousarray(queries, np.float32)
        if self._n == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        depth = min(self._n, max(k, rerank))
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, depth)
        if selector is not None:
            params.sel = selector
        _, cand = self.graph.search(self._reduce(queries), depth, params=params)
        valid = cand >= 0
        rows = np.where(valid, cand, 0)
        sims = np.matmul(self._store[rows], queries[:, :, None])[:, :, 0]
        sims[~valid] = -np.inf
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        sims = np.take_along_axis(sims, order, 1)
        rows = np.where(np.isfinite(sims), np.take_along_axis(rows, order, 1), -1)
        if k > depth:
            pad = k - depth
            sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
            rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
        return sims, rows

    # ------------------------------------------------------------------ persistence

    def to_parts(self) -> tuple[dict[str, Any], bytes, bytes, bytes]:
        """(description, projection bytes, float32 vector bytes, FAISS graph bytes)."""
        faiss = _faiss()
        meta = {"dim": self.dim, "graph_dim": self.graph_dim, "quantised": self.quantised, "rows": self._n}
        projection = b"" if self.projection is None else self.projection.tobytes()
        return meta, projection, self.vectors.tobytes(), faiss.serialize_index(self.graph).tobytes()

    @classmethod
    def from_parts(
        cls, meta: dict[str, Any], projection: Buffer, vectors: Buffer, graph: Buffer
    ) -> RerankedGraph:
        """The graph ``to_parts`` described; ValueError when the parts disagree. The vectors are a read-only view
        of ``vectors`` (no copy); the first add copies them into a growable store."""
        faiss = _faiss()
        out = cls(int(meta["dim"]), int(meta["graph_dim"]), bool(meta["quantised"]))
        rows = int(meta["rows"])
        want = (faiss.IndexHNSWSQ if out.quantised else faiss.IndexHNSWFlat).__name__
        index = faiss.deserialize_index(np.frombuffer(graph, np.uint8))
        if type(index).__name__ != want or index.d != out.graph_dim or index.ntotal != rows:
            raise ValueError(f"graph is a {index.d}-d {type(index).__name__} of {index.ntotal} rows")
        if len(vectors) != rows * out.dim * 4:
            raise ValueError(f"{len(vectors)} bytes of vectors for {rows} rows of {out.dim}")
        if len(projection) != (out.graph_dim * out.dim * 4 if out.graph_dim < out.dim else 0):
            raise ValueError(f"{len(projection)} bytes of projection for {out.graph_dim} x {out.dim}")
        out.graph = index
        out.graph.hnsw.efConstruction = EF_CONSTRUCTION
        if projection:
            out.projection = np.frombuffer(projection, np.float32).reshape(out.graph_dim, out.dim)
        out._store = np.frombuffer(vectors, np.float32).reshape(rows, out.dim)
        out._n = rows
        return out
