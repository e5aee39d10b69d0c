#!/usr/bin/env python3
"""Reference indexes side by side in one run: PDQ range search and embedding nearest-neighbour search.

    nice .venv/bin/python scripts/bench_index.py pdq      # 100k / 1M / 10M hashes
    nice .venv/bin/python scripts/bench_index.py embed    # 100k vectors, every library installed
    nice .venv/bin/python scripts/bench_index.py port     # exact vs the graph through the vector-index port

``pdq``: every row within PDQ_MATCH (31 bits) of the query, three ways on the same rows and queries: the exact
numpy scan (common.hashing), our multi-index (common.hash_mih) and FAISS's IndexBinaryMultiHash (16 tables of
16 bits, nflip 1: exact at r = 31). Half the queries are stored rows with 5-30 bits flipped (a re-encoded copy),
half are random (the common case: no match). Every method's answer is checked equal to the scan's.

``embed``: top-10 stored vectors by inner product (unit vectors: cosine), exact numpy matmul against hnswlib
0.8.0, usearch 2.26.6 (f32 and i8) and faiss-cpu 1.15.1 HNSW on the same vectors, one library's index in memory
at a time: build CPU seconds, CPU ms per query (median, p95; wall in brackets), a 15-crop batch, recall@10
against exact (all queries, and near copies alone), memory per million vectors. The vectors are shaped like the
shipped model's own (``EmbeddingModel``: fitted to its embeddings of the test photos, six views per product);
queries are near copies of stored views, new views of stored products, unrelated photos, and batches of 15
crops of one product. Recall is also printed per kind of query, for the true neighbours close enough to fire
the channel (cosine >= FIRING_COSINE) and for the best one (top-1). ``ceiling-pcaD``: no graph, the exact top
--rerank rows of the D-d projection re-ranked (what the projection alone allows); ``hnswlib-pcaD``: hnswlib's
graph on the same projection and re-rank; ``--f16``: the faiss-pcaD graphs also re-rank against float16 copies.
``--cache DIR`` keeps the catalogue (memory-mapped on reuse), its queries and exact answers, and every faiss-pcaD
graph on disk, so a later run with other --ef / --rerank loads them instead of rebuilding (a 1M graph: ~1,000 CPU
s); ``--graph-sizes`` builds graphs only at some sizes (exact and ceilings run at all); ``--skip-exact`` leaves out
the exact scan's timing row (its answers are still the truth).
Libraries that are not installed are skipped with a line (``pip install '.[dev]'``).
The full default run (``embed``: 100k; ``pdq``: 100k / 1M / 10M) takes ~10 minutes of CPU; 1M embeddings at
1280-d take ~30 CPU minutes per library to build (docs/indexes.md), so they are opt-in: ``--sizes 1000000``.
Timings share the machine with whatever else runs: read the ratios, and the load average printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Every method on one thread, exact numpy included: on 2 shared cores BLAS's second thread mostly spins, and CPU
# time is the figure these tables report. Set before numpy loads its BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import hash_mih, hashing  # noqa: E402


def _cpu_ms(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU ms of this process, wall ms): the machine is shared, so CPU time is the cost on an idle core."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _flip(rng: np.random.Generator, row: np.ndarray, bits: int) -> np.ndarray:
    out = row.copy()
    for b in rng.choice(256, bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


def bench_pdq(sizes: list[int], queries: int) -> None:
    import faiss

    radius = hashing.PDQ_MATCH
    print(
        f"PDQ range search, radius {radius}, {queries} queries (half near copies, half random); CPU ms per query"
    )
    print(f"{'rows':>11} {'method':<34}{'build s':>9}{'median ms':>11}{'p95 ms':>9}{'x scan':>8}{'MB':>8}")
    for n in sizes:
        rng = np.random.default_rng(n)
        data = rng.integers(0, 2**63, size=(4, n), dtype=np.uint64, endpoint=True)
        qs = [
            _flip(rng, data[:, int(rng.integers(n))], int(rng.integers(5, 31))) for _ in range(queries // 2)
        ]
        qs += list(rng.integers(0, 2**63, size=(queries - len(qs), 4), dtype=np.uint64, endpoint=True))
        ids = [str(i) for i in range(n)]
        scan = hashing.HashIndex.from_words("pdq", data, ids)._kinds["pdq"]
        expected = [
            sorted(np.flatnonzero(np.bitwise_count(data ^ q[:, None]).sum(axis=0) <= radius).tolist())
            for q in qs
        ]
        assert sum(map(len, expected)) >= queries // 2  # the near copies are found

        def scan_all(q: np.ndarray) -> list[int]:  # the exact scan, forced whatever the size
            dist = np.zeros(n, np.uint16)  # noqa: B023 (called in this iteration)
            for i in range(4):
                dist += np.bitwise_count(scan.words[i] ^ q[i])  # noqa: B023 (called in this iteration)
            return np.flatnonzero(dist <= radius).tolist()

        rss = _rss_mb()
        start = time.process_time()
        mih = hash_mih.MultiIndex(data)
        mih_build = time.process_time() - start
        mih_mb = mih.nbytes / 2**20
        codes = np.ascontiguousarray(data.T).astype(">u8").view(np.uint8).reshape(n, 32)  # MSB first
        start = time.process_time()
        fx = faiss.IndexBinaryMultiHash(256, 16, 16)
        fx.nflip = 1
        fx.add(codes)
        faiss_build = time.process_time() - start
        faiss_mb = max(0.0, _rss_mb() - rss) - mih_mb

        def faiss_within(q: np.ndarray) -> list[int]:
            qc = np.ascontiguousarray(q.reshape(1, 4)).astype(">u8").view(np.uint8).reshape(1, 32)
            lims, _, labels = fx.range_search(qc, radius + 1)  # noqa: B023 (faiss keeps distances < radius)
            return sorted(labels[lims[0] : lims[1]].tolist())

        def scan_top1(
            q: np.ndarray,
        ) -> list[int]:  # the blocked top-1 scan HashIndex.nearest uses without `within`
            rows, dists = scan.scan(q, 1)  # noqa: B023 (called in this iteration)
            return expected[qi] if dists[0] <= radius else []  # noqa: B023 (timing only: it finds one row)

        methods: list[tuple[str, float, float, Callable[[np.ndarray], list[int]]]] = [
            ("numpy range scan, whole array", 0.0, data.nbytes / 2**20, scan_all),
            ("numpy top-1 scan, blocked", 0.0, data.nbytes / 2**20, scan_top1),
            (
                "multi-index (common.hash_mih)",
                mih_build,
                mih_mb,
                lambda q: sorted(mih.within(q, radius)[0].tolist()),  # noqa: B023
            ),
            ("faiss IndexBinaryMultiHash", faiss_build, faiss_mb, faiss_within),
        ]
        samples: dict[str, list[float]] = {name: [] for name, *_ in methods}
        for qi, q in enumerate(qs):  # interleaved: each query through every method in turn
            for name, _, _, fn in methods:
                got: list[int] = []
                samples[name].append(_cpu_ms(lambda fn=fn, q=q, got=got: got.extend(fn(q)))[0])
                assert got == expected[qi], (name, qi)
        base = statistics.median(samples[methods[0][0]])
        for name, build, mb, _ in methods:
            med = statistics.median(samples[name])
            p95 = float(np.percentile(samples[name], 95))
            print(f"{n:>11,} {name:<34}{build:>9.2f}{med:>11.2f}{p95:>9.2f}{base / med:>8.1f}{mb:>8.0f}")


EF_SEARCH = [64, 128, 256]  # HNSW search breadth: recall against query time (--ef)
RERANK = [50]  # candidates re-ranked exactly by the faiss-pca / faiss-sq8 methods (--rerank)
NPROBE = [32, 64, 128]  # inverted lists probed by the faiss-pcaD-ivfN methods (--nprobe)
HALF = False  # also re-rank against float16 copies of the vectors, faiss-pcaD methods (--f16)
HALF_DIFF: list[float] = []  # largest |float16 - float32| cosine of a returned row, per query (--f16)
HNSW = {"M": 16, "ef_construction": 100}  # graph degree and build breadth (--m, --ef-construction)
# --cache DIR: the catalogue, queries, exact answers and faiss-pcaD graphs kept on disk, and the current
# catalogue's key there (its size, dimension and number of queries)
CACHE: list[Path] = []
DATA_KEY: list[str] = []
GRAPH_SIZES: list[
    int
] = []  # --graph-sizes: build indexes only at these sizes (exact and ceilings: every size)
SKIP_EXACT = False  # --skip-exact: no timing row for the exact scan (~0.3 s a query at 1M)
BUILD_THREADS = [os.cpu_count() or 1]  # --build-threads: FAISS threads for the graph builds
K = 10
# Raw cosine at which the embedding channel fires with the shipped model (common.embedding.channel.FIRED_SCORE
# = 0.5 on its logistic: cosine ~0.62): the "firing" column is recall@10 of the true neighbours at least this close.
FIRING_COSINE = 0.62
BATCH = 15  # crops of one candidate (common.embedding.regions.candidate_regions: whole, box, 2x2, 3x3)
COMPONENTS = 128  # principal directions kept from the real embeddings (93 % of their variance)


class EmbeddingModel:
    """A generator of embeddings shaped like the shipped model's own (efficientnet-lite0-embed, 1280-d).

    Fitted on the model's vectors of every crop common.embedding.regions makes of the 25 photos the detection
    tests use (synthetic.sample_images: whole, centre, tiles; 475 vectors): their mean (GeM features are
    non-negative, so unrelated photos still share a direction), the variance along their top principal
    directions and the rest spread isotropically, and two cosines: views of one photo (median 0.77) and
    different photos (median 0.28). A reference = a product drawn from that distribution plus a view offset,
    six views per product (what brand add stores: whole, centre, 2x2 tiles), so the catalogue has the cluster
    structure of a real one. Uniform Gaussian vectors would be the worst case for a graph index and unlike any
    real embedding; this is the shape our own model gives."""

    VIEWS = 6

    def __init__(self, rng: np.random.Generator, dim: int) -> None:
        from common.embedding import regions, synthetic
        from common.embedding.client import InProcessModelClient

        model = InProcessModelClient()
        vecs, owner = [], []
        for i, (_, img) in enumerate(sorted(synthetic.sample_images().items())):
            crops = regions.candidate_regions(*img.size) + regions.reference_regions(*img.size)
            vectors, _ = model.embed_pil(regions.crop_all(img, crops))
            vecs.append(vectors)
            owner += [i] * len(vectors)
        real = np.vstack(vecs).astype(np.float64)
        if real.shape[1] != dim:
            raise SystemExit(f"the shipped model gives {real.shape[1]}-d vectors, not --dim {dim}")
        self.dim = dim
        self.mean = real.mean(axis=0)
        centred = real - self.mean
        _, sing, basis = np.linalg.svd(centred, full_matrices=False)
        var = sing**2 / (len(real) - 1)
        self.basis = (np.sqrt(var[:COMPONENTS])[:, None] * basis[:COMPONENTS]).astype(np.float32)
        self.residual = float(np.sqrt(max(var[COMPONENTS:].sum(), 0.0) / dim))
        total = float(var.sum())
        sims = real @ real.T / np.outer(np.linalg.norm(real, axis=1), np.linalg.norm(real, axis=1))
        upper = np.triu_indices(len(real), 1)
        same = (np.asarray(owner)[:, None] == np.asarray(owner)[None, :])[upper]
        self.c_same = float(np.median(sims[upper][same]))
        self.c_diff = float(np.median(sims[upper][~same]))
        # x = mean + a * product + b * view: cos(different products) = m / (m + (a2 + b2) S),
        # cos(two views of one product) = (m + a2 S) / (m + (a2 + b2) S)
        m = float(self.mean @ self.mean)
        spread = m * (1 - self.c_diff) / self.c_diff
        self.a = float(np.sqrt(max(self.c_same * (m + spread) - m, 0.0) / total))
        self.b = float(np.sqrt(max(spread / total - self.a**2, 0.0)))
        self.rng = rng
        self.mean32 = self.mean.astype(np.float32)

    def _offsets(self, n: int, scale: float) -> np.ndarray:
        latent = self.rng.standard_normal((n, COMPONENTS), dtype=np.float32)
        noise = self.rng.standard_normal((n, self.dim), dtype=np.float32)
        return scale * (latent @ self.basis + self.residual * noise)

    def products(self, n: int) -> np.ndarray:
        return self.mean32 + self._offsets(n, self.a)

    def views(self, products: np.ndarray, scale: float = 1.0) -> np.ndarray:
        out = products + self._offsets(len(products), self.b * scale)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def catalogue(self, n: int) -> np.ndarray:
        """n references: n / 6 products with six views each, views of one product next to each other."""
        out = np.empty((n, self.dim), np.float32)
        step = 60_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            prods = self.products(-(-(hi - lo) // self.VIEWS))
            out[lo:hi] = self.views(np.repeat(prods, self.VIEWS, axis=0)[: hi - lo])
        return out


def _rss_now() -> float:
    import gc

    gc.collect()
    return _rss_mb()


class _Method:
    def __init__(self, name: str, build_s: float, mb_per_m: float, one: Callable, batch: Callable) -> None:
        self.name, self.build_s, self.mb_per_m, self.one, self.batch = name, build_s, mb_per_m, one, batch


def _ann_methods(lib: str, data: np.ndarray, threads: int) -> list[_Method]:
    """Build one library's index over ``data`` (all cores) and return its query functions (one thread)."""
    n, dim = data.shape
    out: list[_Method] = []
    rss = _rss_now()
    cpu = time.process_time()
    if lib == "hnswlib":
        import hnswlib

        hx = hnswlib.Index(space="ip", dim=dim)
        hx.init_index(max_elements=n, M=HNSW["M"], ef_construction=HNSW["ef_construction"])
        hx.set_num_threads(os.cpu_count() or 1)
        hx.add_items(data, np.arange(n))
        build = time.process_time() - cpu
        hx.set_num_threads(threads)
        mb = (_rss_now() - rss) * 1e6 / n
        for ef in EF_SEARCH:

            def h_one(q: np.ndarray, ef: int = ef) -> np.ndarray:
                hx.set_ef(ef)
                return hx.knn_query(q, k=K)[0]

            out.append(_Method(f"hnswlib M{HNSW['M']} ef{ef}", build, mb, h_one, h_one))
        return out
    if lib.startswith("usearch"):
        from usearch.index import Index

        dtype = lib.partition("-")[2] or "f32"
        ux = Index(
            ndim=dim, metric="ip", dtype=dtype, connectivity=HNSW["M"], expansion_add=HNSW["ef_construction"]
        )
        ux.add(np.arange(n), data, threads=os.cpu_count() or 1)
        build = time.process_time() - cpu
        mb = (_rss_now() - rss) * 1e6 / n
        for ef in EF_SEARCH:

            def u_query(q: np.ndarray, ef: int = ef) -> np.ndarray:
                ux.expansion_search = ef
                return np.atleast_2d(ux.search(q, K, threads=threads).keys)

            out.append(_Method(f"usearch M{HNSW['M']} ef{ef} {dtype}", build, mb, u_query, u_query))
        return out
    if lib == "faiss":
        import faiss

        faiss.omp_set_num_threads(BUILD_THREADS[0])
        fx = faiss.IndexHNSWFlat(dim, HNSW["M"], faiss.METRIC_INNER_PRODUCT)
        fx.hnsw.efConstruction = HNSW["ef_construction"]
        fx.add(data)
        build = time.process_time() - cpu
        faiss.omp_set_num_threads(threads)
        mb = (_rss_now() - rss) * 1e6 / n
        for ef in EF_SEARCH:

            def f_query(q: np.ndarray, ef: int = ef) -> np.ndarray:
                fx.hnsw.efSearch = ef
                return fx.search(q, K)[1]

            out.append(_Method(f"faiss IndexHNSWFlat M{HNSW['M']} ef{ef}", build, mb, f_query, f_query))
        return out
    if lib.startswith("ceiling-pca"):  # no graph: the projection's exact top candidates, re-ranked
        from common.embedding.ann_graph import fit_projection

        reduced = int(lib.removeprefix("ceiling-pca"))
        projection = fit_projection(data, reduced)
        mb = (data.nbytes + n * reduced * 4) / 2**20 * 1e6 / n
        return _ceilings(f"PCA{reduced}", lambda x: np.ascontiguousarray(x @ projection.T), data, 0.0, mb)
    if lib.startswith("hnswlib-pca"):
        return _hnswlib_reranked(lib, data, threads)
    if lib.startswith("faiss-") and "-ivf" in lib:
        return _ivf_methods(lib, data, threads)
    if lib.startswith("faiss-"):
        return _reranked_methods(lib, data, threads)
    raise SystemExit(
        f"unknown library {lib!r} (hnswlib, usearch, usearch-i8, faiss, faiss-pcaD, faiss-sq8, faiss-pcaD-sq8)"
    )


def _reranked_methods(lib: str, data: np.ndarray, threads: int) -> list[_Method]:
    """The graph the port ships (common.embedding.ann_graph.RerankedGraph): ``faiss-pca256`` = an HNSW graph
    over the vectors projected to 256-d, ``faiss-sq8`` = a 1280-d graph of 8-bit codes, ``faiss-pca256-sq8``
    both; every one re-ranks its top RERANK candidates by the exact inner product with the stored float32
    vectors. Those vectors are the bench's own array (no copy): the memory column counts them with the graph."""
    import faiss

    from common.embedding.ann_graph import RerankedGraph

    n, dim = data.shape
    spec = lib.removeprefix("faiss-").split("-")
    quantised = "sq8" in spec
    reduced = next((int(s[3:]) for s in spec if s.startswith("pca")), dim)
    faiss.omp_set_num_threads(BUILD_THREADS[0])
    cpu = time.process_time()
    graph = RerankedGraph(dim, reduced, quantised, HNSW["M"], HNSW["ef_construction"])
    cached = _cached_graph(graph, lib, data)
    if cached is None:
        graph.add(data)
        build = time.process_time() - cpu
        _store_graph(graph, lib, build)
    else:
        build = cached
    faiss.omp_set_num_threads(threads)
    mb = graph.nbytes / 2**20 * 1e6 / n  # counted (vectors, graph codes, links): RSS deltas are noise here
    label = "faiss " + (f"PCA{reduced} " if reduced < dim else "") + ("HNSWSQ8" if quantised else "HNSWFlat")
    out = []
    half = data.astype(np.float16) if HALF else None  # the re-rank against float16 copies (memory halved)
    half_mb = (
        mb - data.shape[1] * 2 / 2**20 * 1e6
    )  # counted: the float32 vectors' half saved, graph unchanged
    for ef in EF_SEARCH:
        for depth in RERANK:
            if depth > ef:
                continue

            def r_query(q: np.ndarray, ef: int = ef, depth: int = depth) -> np.ndarray:
                return graph.search(q, K, ef=ef, rerank=depth)[1]

            out.append(_Method(f"{label} ef{ef} rr{depth}", build, mb, r_query, r_query))
            if half is not None:

                def h_query(q: np.ndarray, ef: int = ef, depth: int = depth) -> np.ndarray:
                    return _half_rerank(graph, half, q, ef, depth)

                out.append(_Method(f"{label} ef{ef} rr{depth} f16", build, half_mb, h_query, h_query))
    return out


def _graph_path(lib: str) -> Path | None:
    if not CACHE or not DATA_KEY:
        return None
    return CACHE[0] / f"{DATA_KEY[0]}-{lib}-M{HNSW['M']}-efc{HNSW['ef_construction']}"


def _cached_graph(graph: Any, lib: str, data: np.ndarray) -> float | None:
    """Load a graph ``_store_graph`` kept for this catalogue and these parameters into ``graph``: its build CPU
    seconds, or None when there is none (a 1M build takes ~1,000 CPU s)."""
    import json

    import faiss

    path = _graph_path(lib)
    if path is None or not (path / "meta.json").exists():
        return None
    meta = json.loads((path / "meta.json").read_text())
    graph.graph = faiss.read_index(str(path / "graph.faiss"))
    if graph.graph.ntotal != len(data):
        raise SystemExit(f"{path}: {graph.graph.ntotal} rows cached for {len(data)} vectors")
    graph.graph.hnsw.efConstruction = HNSW["ef_construction"]
    if (path / "projection.npy").exists():
        graph.projection = np.load(path / "projection.npy")
    graph._store, graph._n = data, len(data)
    print(f"  {lib}: graph loaded from {path} (built in {meta['build_s']:.1f} CPU s)", flush=True)
    return float(meta["build_s"])


def _store_graph(graph: Any, lib: str, build: float) -> None:
    import json

    import faiss

    path = _graph_path(lib)
    if path is None:
        return
    path.mkdir(parents=True, exist_ok=True)
    faiss.write_index(graph.graph, str(path / "graph.faiss"))
    if graph.projection is not None:
        np.save(path / "projection.npy", graph.projection)
    (path / "meta.json").write_text(json.dumps({"build_s": build}))


def _half_rerank(graph: Any, half: np.ndarray, q: np.ndarray, ef: int, depth: int) -> np.ndarray:
    """The graph's top ``depth`` re-ranked against float16 copies of the vectors; records the largest cosine
    difference from the float32 re-rank of the rows returned (printed after the table)."""
    import faiss

    untyped: Any = faiss  # its stubs lack SearchParametersHNSW
    q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
    params = untyped.SearchParametersHNSW()
    params.efSearch = max(ef, depth)
    _, cand = graph.graph.search(graph._reduce(q), depth, params=params)
    rows = np.where(cand >= 0, cand, 0)
    sims = np.matmul(half[rows].astype(np.float32), q[:, :, None])[:, :, 0]
    sims[cand < 0] = -np.inf
    top = np.take_along_axis(rows, np.argsort(-sims, axis=1)[:, :K], 1)
    exact = np.matmul(graph.vectors[top], q[:, :, None])[:, :, 0]
    approx = np.matmul(half[top].astype(np.float32), q[:, :, None])[:, :, 0]
    HALF_DIFF.append(float(np.abs(exact - approx).max()))
    return top


def _rerank(data: np.ndarray, q: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """The top K of the candidate rows by their exact inner product with the full queries."""
    rows = np.where(cand >= 0, cand, 0)
    sims = np.matmul(data[rows], q[:, :, None])[:, :, 0]
    sims[cand < 0] = -np.inf
    return np.take_along_axis(rows, np.argsort(-sims, axis=1)[:, :K], 1)


def _ceilings(
    label: str, reduce: Callable[[np.ndarray], np.ndarray], data: np.ndarray, build: float, mb: float
) -> list[_Method]:
    """What the projection alone allows: the exact top ``depth`` in the projected space (a full scan of the
    projected vectors, no graph), re-ranked like the graph's candidates. The graph's rows can only fall short of
    these; the difference is the graph's own loss. Projected in slices (a 1M x 128 float32 copy: 0.5 GB)."""
    step = 100_000
    reduced = np.vstack([reduce(data[lo : lo + step]) for lo in range(0, len(data), step)])
    out = []
    for depth in RERANK:

        def c_query(q: np.ndarray, depth: int = depth) -> np.ndarray:
            q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
            sims = reduce(q) @ reduced.T
            cand = np.argpartition(-sims, depth, axis=1)[:, :depth]
            return _rerank(data, q, cand)

        out.append(_Method(f"{label} exact scan rr{depth} (ceiling)", build, mb, c_query, c_query))
    return out


def _hnswlib_reranked(lib: str, data: np.ndarray, threads: int) -> list[_Method]:
    """``hnswlib-pca128``: hnswlib 0.8.0's graph over the port's projection (fitted the same way), with the same
    exact re-rank of the top RERANK candidates: the other library on the same reduced vectors, for comparison
    (the port ships FAISS: docs/indexes.md, 'which library')."""
    import hnswlib

    from common.embedding.ann_graph import fit_projection

    n, dim = data.shape
    reduced = int(lib.removeprefix("hnswlib-pca"))
    cpu = time.process_time()
    projection = fit_projection(data, reduced)
    hx = hnswlib.Index(space="ip", dim=reduced)
    hx.init_index(max_elements=n, M=HNSW["M"], ef_construction=HNSW["ef_construction"])
    hx.set_num_threads(os.cpu_count() or 1)
    for lo in range(0, n, 100_000):
        part = np.ascontiguousarray(data[lo : lo + 100_000] @ projection.T)
        hx.add_items(part, np.arange(lo, lo + len(part)))
    build = time.process_time() - cpu
    hx.set_num_threads(threads)
    links = n * (
        2 * HNSW["M"] * 4 + 4 + reduced * 4 + 8 + 8
    )  # level 0: links, vector, label (upper levels: ~1/M)
    mb = (data.nbytes + links + projection.nbytes) / 2**20 * 1e6 / n
    out = []
    for ef in EF_SEARCH:
        for depth in RERANK:
            if depth > ef:
                continue

            def h_query(q: np.ndarray, ef: int = ef, depth: int = depth) -> np.ndarray:
                q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
                hx.set_ef(ef)
                cand = hx.knn_query(np.ascontiguousarray(q @ projection.T), k=depth)[0].astype(np.int64)
                return _rerank(data, q, cand)

            name = f"hnswlib PCA{reduced} M{HNSW['M']} ef{ef} rr{depth}"
            out.append(_Method(name, build, mb, h_query, h_query))
    return out


def _ivf_methods(lib: str, data: np.ndarray, threads: int) -> list[_Method]:
    """``faiss-pca128-ivf4096``: an inverted file (IndexIVFFlat, that many k-means lists) over the projection the
    port's graph walks, probing --nprobe lists, with the same exact re-rank of the top RERANK candidates. Not in
    the port: measured as the next candidate where the graph's recall falls at 1M (docs/indexes.md)."""
    import faiss

    from common.embedding.ann_graph import fit_projection

    n, dim = data.shape
    spec = lib.removeprefix("faiss-").split("-")
    reduced = next(int(s[3:]) for s in spec if s.startswith("pca"))
    lists = next(int(s[3:]) for s in spec if s.startswith("ivf"))
    faiss.omp_set_num_threads(BUILD_THREADS[0])
    cpu = time.process_time()
    projection = fit_projection(data, reduced)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(reduced), reduced, lists, faiss.METRIC_INNER_PRODUCT)
    sample = data[np.linspace(0, n - 1, min(n, 40 * lists)).astype(np.int64)] @ projection.T
    ivf.train(np.ascontiguousarray(sample))
    for lo in range(0, n, 100_000):
        ivf.add(np.ascontiguousarray(data[lo : lo + 100_000] @ projection.T))
    build = time.process_time() - cpu
    faiss.omp_set_num_threads(threads)
    mb = (data.nbytes + n * (reduced * 4 + 8) + lists * reduced * 4) / 2**20 * 1e6 / n
    out = []
    for probes in NPROBE:
        for depth in RERANK:

            def i_query(q: np.ndarray, probes: int = probes, depth: int = depth) -> np.ndarray:
                q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
                params = faiss.SearchParametersIVF()
                params.nprobe = probes
                _, cand = ivf.search(np.ascontiguousarray(q @ projection.T), depth, params=params)
                return _rerank(data, q, cand)

            out.append(
                _Method(f"faiss PCA{reduced} IVF{lists} np{probes} rr{depth}", build, mb, i_query, i_query)
            )
    return out


def _available(lib: str) -> bool:
    import importlib.util

    if lib.startswith("ceiling-"):
        return True
    module = "usearch" if lib.startswith("usearch") else lib.partition("-")[0]
    if importlib.util.find_spec(module) is None:
        print(f"  {lib}: not installed, skipped (pip install '.[dev]' brings every library compared here)")
        return False
    return True


def _queries(gen: EmbeddingModel, data: np.ndarray, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Single queries (a third each: near copies of a stored view at cosine ~0.96, a new view of a stored
    product, an unrelated photo) and batches of 15 new views of one stored product (one candidate's crops)."""
    n = len(data)
    third = max(1, count // 3)
    stored = data[gen.rng.integers(0, n, third)]
    near = stored + gen._offsets(third, gen.b * 0.6)
    pick = gen.rng.integers(0, n // gen.VIEWS, third) * gen.VIEWS
    # the product behind a stored view is not kept: rebuild it as the mean of its views (close to the centre)
    centres = data[pick[:, None] + np.arange(gen.VIEWS)].mean(axis=1)
    fresh = centres + gen._offsets(third, gen.b)
    unrelated = gen.views(gen.products(count - 2 * third))
    singles = np.vstack([near, fresh, unrelated]).astype(np.float32)
    singles /= np.linalg.norm(singles, axis=1, keepdims=True)
    batches = []
    for p in gen.rng.integers(0, n // gen.VIEWS, max(3, count // 10)) * gen.VIEWS:
        centre = data[p : p + gen.VIEWS].mean(axis=0)
        batches.append(gen.views(np.repeat(centre[None], BATCH, axis=0)).astype(np.float32))
    return singles, batches


def bench_embed(sizes: list[int], dim: int, queries: int, libs: list[str]) -> None:
    threads = 1  # one query at a time on one core: the per-candidate cost in a scan worker
    rng = np.random.default_rng(dim)
    gen = EmbeddingModel(rng, dim)
    print(
        f"embedding top-{K} by inner product (unit vectors: cosine), dim {dim}; vectors shaped like the shipped "
        f"model's (cos views of one photo {gen.c_same:.2f}, different photos {gen.c_diff:.2f}, "
        f"{EmbeddingModel.VIEWS} views per product)"
    )
    print(
        f"{queries} single queries (near copies, new views of stored products, unrelated photos) and "
        f"{max(3, queries // 10)} batches of {BATCH} crops; CPU ms on one thread (wall in brackets); "
        f"build on {os.cpu_count()} threads, CPU s"
    )
    libs = [lib for lib in libs if _available(lib)]
    header = (
        f"{'vectors':>10} {'method':<36}{'build s':>9}{'median ms':>11}{'p95 ms':>9}{'(wall)':>9}"
        f"{'15-crop ms':>12}{'recall@10':>11}{'near copy':>11}{'new view':>10}{'unrelated':>11}{'15-crop':>9}"
        f"{'firing':>9}{'top-1':>7}"
        f"{'MB per M':>10}"
    )
    print(header)
    for n in sizes:
        # each size from the same seed: a size's catalogue and queries do not depend on the sizes run before it
        # (a single-size run draws what it always drew), so a cached one is the one this run would draw
        gen.rng = np.random.default_rng(dim)
        DATA_KEY[:] = [f"embed-n{n}-d{dim}-q{queries}"]
        loaded = _cached_catalogue()
        if loaded is None:
            data = gen.catalogue(n)
            singles, batches = _queries(gen, data, queries)
        else:
            data, singles, batches, truth, truth_batch = loaded

        def exact(q: np.ndarray, data: np.ndarray = data) -> np.ndarray:
            sims = np.atleast_2d(q) @ data.T
            top = np.argpartition(-sims, K, axis=1)[:, :K]
            return np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, 1), axis=1), 1)

        if loaded is None:
            truth = [exact(q[None])[0] for q in singles]
            truth_batch = [exact(b) for b in batches]
            _store_catalogue(data, singles, batches, truth, truth_batch)
        methods = [_Method("exact numpy matmul", 0.0, data.nbytes / 2**20 * 1e6 / n, exact, exact)]
        if SKIP_EXACT:  # its answers are still the truth; only its timing row is left out
            _REPORTED.add((n, methods[0].name))
        for lib in libs:
            if GRAPH_SIZES and n not in GRAPH_SIZES and not lib.startswith("ceiling-"):
                print(f"  {lib}: not built at {n:,} vectors (--graph-sizes)", flush=True)
                continue
            methods += _ann_methods(lib, data, threads)
            _report(n, data, methods, singles, batches, truth, truth_batch)
            methods = methods[:1]  # free this library's index before building the next one
        if not libs:
            _report(n, data, methods, singles, batches, truth, truth_batch)
        del data, exact


def _cached_catalogue() -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list, list] | None:
    """(vectors, single queries, batches, exact answers of both) kept by ``_store_catalogue``, or None."""
    if not CACHE:
        return None
    path = CACHE[0] / DATA_KEY[0]
    if not (path / "done").exists():
        return None
    # memory-mapped: two runs on one cached catalogue share its pages (1M vectors are 4.9 GB)
    data = np.load(path / "vectors.npy", mmap_mode="r")
    batches = np.load(path / "batches.npy")
    truth_batch = np.load(path / "truth_batch.npy")
    print(f"  catalogue, queries and exact answers loaded from {path}", flush=True)
    return (
        data,
        np.load(path / "singles.npy"),
        list(batches),
        list(np.load(path / "truth.npy")),
        list(truth_batch),
    )


def _store_catalogue(
    data: np.ndarray, singles: np.ndarray, batches: list[np.ndarray], truth: list, truth_batch: list
) -> None:
    if not CACHE:
        return
    path = CACHE[0] / DATA_KEY[0]
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "vectors.npy", data)
    np.save(path / "singles.npy", singles)
    np.save(path / "batches.npy", np.stack(batches))
    np.save(path / "truth.npy", np.stack(truth))
    np.save(path / "truth_batch.npy", np.stack(truth_batch))
    (path / "done").write_text("")


_REPORTED: set[tuple[int, str]] = set()


def _report(
    n: int,
    data: np.ndarray,
    methods: list[_Method],
    singles: np.ndarray,
    batches: list[np.ndarray],
    truth: list[np.ndarray],
    truth_batch: list[np.ndarray],
) -> None:
    for m in methods:
        if (n, m.name) in _REPORTED:
            continue
        _REPORTED.add((n, m.name))
        cpu, wall = [], []
        third = max(
            1, len(singles) // 3
        )  # near copies, new views, unrelated photos, in that order (_queries)
        kinds = [0, 0, 0, 0]  # hits of each kind of single query, then of the batches' crops
        for qi, q in enumerate(singles):
            got: list[np.ndarray] = []
            c, w = _cpu_ms(lambda m=m, q=q, got=got: got.append(np.asarray(m.one(q[None]))))
            cpu.append(c)
            wall.append(w)
            kinds[min(qi // third, 2)] += len(set(got[0].reshape(-1).tolist()) & set(truth[qi].tolist()))
        batch_ms = []
        for bi, b in enumerate(batches):
            got = []
            batch_ms.append(_cpu_ms(lambda m=m, b=b, got=got: got.append(np.asarray(m.batch(b))))[0])
            rows = zip(got[0], truth_batch[bi], strict=True)
            kinds[3] += sum(len(set(r.tolist()) & set(t.tolist())) for r, t in rows)
        counts = [third, third, len(singles) - 2 * third, BATCH * len(batches)]
        # the true neighbours that could fire the channel (cosine >= FIRING_COSINE), and the best one
        firing = [0, 0]
        top1 = 0
        for qi, q in enumerate(singles):
            answer = np.asarray(m.one(q[None])).reshape(-1)
            strong = truth[qi][data[truth[qi]] @ q >= FIRING_COSINE]
            firing[0] += len(set(answer.tolist()) & set(strong.tolist()))
            firing[1] += len(strong)
            top1 += int(answer[0] == truth[qi][0])
        recall = sum(kinds) / (K * sum(counts))
        by_kind = [h / (K * c) if c else float("nan") for h, c in zip(kinds, counts, strict=True)]
        print(
            f"{n:>10,} {m.name:<36}{m.build_s:>9.1f}{statistics.median(cpu):>11.3f}"
            f"{float(np.percentile(cpu, 95)):>9.3f}{f'({statistics.median(wall):.2f})':>9}"
            f"{statistics.median(batch_ms):>12.2f}{recall:>11.4f}{by_kind[0]:>11.4f}{by_kind[1]:>10.4f}"
            f"{by_kind[2]:>11.4f}{by_kind[3]:>9.4f}{firing[0] / max(1, firing[1]):>9.4f}"
            f"{top1 / len(singles):>7.3f}{m.mb_per_m:>10,.0f}",
            flush=True,
        )


_VIEWS = ("whole", "centre", "tile2_0_0", "tile2_0_1", "tile2_1_0", "tile2_1_1")


def _reference_doc(i: int, rows: np.ndarray) -> dict:
    """A reference document as the EmbedExtractor stores it: the whole photo and five crops."""
    return {
        "ref_id": f"reference:{i}.jpg",
        "sha256": str(i),
        "embedding_model": "m@1",
        "embedding": rows[0].tolist(),
        "embedding_crops": {v: r.tolist() for v, r in zip(_VIEWS[1:], rows[1:], strict=False)},
    }


def bench_port(sizes: list[int], dim: int, queries: int) -> None:
    """What the embed channel pays through the vector-index port: ``LocalVectorIndex`` (exact) against
    ``AnnVectorIndex`` (the FAISS graph ``brand add`` builds) on reference documents like the EmbedExtractor's
    (six views each), for a candidate's 15 crops at the channel's k (TOP_K = 5); plus what building,
    persisting, loading and adding one reference cost."""
    gen = EmbeddingModel(np.random.default_rng(dim), dim)
    print(
        f"through the port: {queries} candidates of {BATCH} crops (new views of stored products); CPU ms / s"
    )
    print(
        f"{'vectors':>9}{'exact ms':>10}{'graph ms':>10}{'same top-5':>12}{'same best':>11}{'build s':>9}"
        f"{'blob MB':>9}{'save s':>8}{'load s':>8}{'add 1 ref ms':>14}"
    )
    for n in sizes:
        _port_row(gen, n, queries)


def _port_row(gen: EmbeddingModel, n: int, queries: int) -> None:
    from common.embedding.ann import AnnVectorIndex
    from common.embedding.channel import TOP_K
    from common.embedding.index import LocalVectorIndex

    data = gen.catalogue(n)
    refs = [_reference_doc(i, data[lo : lo + 6]) for i, lo in enumerate(range(0, n, 6))]
    exact = LocalVectorIndex.from_references(refs, model="m@1")
    built: list[AnnVectorIndex] = []
    build = _cpu_ms(lambda: built.append(AnnVectorIndex.build("bench", "m@1", refs, "v1")))[0] / 1000
    graph = built[0]
    blob: list[bytes] = []
    save = _cpu_ms(lambda: blob.append(graph.to_bytes()))[0] / 1000
    load = _cpu_ms(lambda: AnnVectorIndex.from_bytes(blob[0], "bench", "m@1"))[0] / 1000
    exact_ms, graph_ms, same, best = [], [], 0, 0
    for p in gen.rng.integers(0, len(refs), queries):
        centre = data[p * 6 : p * 6 + 6].mean(axis=0)
        crops = gen.views(np.repeat(centre[None], BATCH, axis=0)).astype(np.float32)
        want: list = []
        got: list = []
        exact_ms.append(_cpu_ms(lambda c=crops, w=want: w.extend(exact.nearest(c, TOP_K)))[0])
        graph_ms.append(_cpu_ms(lambda c=crops, g=got: g.extend(graph.nearest(c, TOP_K)))[0])
        same += [h.ref_id for h in got] == [h.ref_id for h in want]
        best += got[0].ref_id == want[0].ref_id
    extra = _reference_doc(len(refs), gen.views(gen.products(1).repeat(6, axis=0)))
    add = _cpu_ms(lambda: graph.sync([*refs, extra], "v2"))[0]  # after the searches: exact lacks it
    print(
        f"{n:>9,}{statistics.median(exact_ms):>10.2f}{statistics.median(graph_ms):>10.2f}"
        f"{same / queries:>12.0%}{best / queries:>11.0%}{build:>9.1f}"
        f"{len(blob[0]) / 2**20:>9.0f}{save:>8.2f}{load:>8.2f}{add:>14.1f}",
        flush=True,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("pdq", "embed", "port"))
    parser.add_argument(
        "--sizes", help="comma-separated index sizes (default: pdq 100000,1000000,10000000; embed 100000)"
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dim", type=int, default=1280, help="embedding dimension (embed)")
    parser.add_argument(
        "--libs", default="hnswlib,usearch,usearch-i8,faiss", help="ANN libraries to compare (embed)"
    )
    parser.add_argument("--m", type=int, default=16, help="HNSW graph degree (embed)")
    parser.add_argument("--ef-construction", type=int, default=100, help="HNSW build breadth (embed)")
    parser.add_argument("--ef", default="64,128,256", help="HNSW search breadths to try (embed)")
    parser.add_argument(
        "--rerank", default="50", help="candidates re-ranked exactly, faiss-pcaD / faiss-sq8 (embed)"
    )
    parser.add_argument(
        "--nprobe", default="32,64,128", help="inverted lists probed, faiss-pcaD-ivfN (embed)"
    )
    parser.add_argument("--f16", action="store_true", help="also re-rank against float16 vectors (embed)")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the catalogue, queries, exact answers and faiss-pcaD graphs in this folder and reuse them (embed)",
    )
    parser.add_argument(
        "--build-threads",
        type=int,
        default=os.cpu_count() or 1,
        help="FAISS build threads (embed; default: cores)",
    )
    parser.add_argument(
        "--graph-sizes",
        help="comma-separated sizes at which indexes are built (embed; default: every size; exact and "
        "ceiling-pcaD run at every size): a 1M graph takes ~1,000 CPU s",
    )
    parser.add_argument("--skip-exact", action="store_true", help="no timing row for the exact scan (embed)")
    args = parser.parse_args(argv)
    global SKIP_EXACT
    SKIP_EXACT = args.skip_exact
    BUILD_THREADS[:] = [args.build_threads]
    GRAPH_SIZES[:] = [int(s) for s in args.graph_sizes.split(",")] if args.graph_sizes else []
    if args.cache:
        CACHE[:] = [args.cache]
    global HALF
    HALF = args.f16
    HNSW.update(M=args.m, ef_construction=args.ef_construction)
    EF_SEARCH[:] = [int(e) for e in args.ef.split(",")]
    RERANK[:] = [int(r) for r in args.rerank.split(",")]
    NPROBE[:] = [int(p) for p in args.nprobe.split(",")]
    default = {"pdq": "100000,1000000,10000000", "embed": "100000", "port": "3000,30000"}[args.what]
    sizes = [int(s) for s in (args.sizes or default).split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.what == "pdq":
        bench_pdq(sizes, args.queries)
    elif args.what == "port":
        bench_port(sizes, args.dim, args.queries)
    else:
        bench_embed(sizes, args.dim, args.queries, args.libs.split(","))
    if HALF_DIFF:
        print(
            f"float16 re-rank: largest cosine difference {max(HALF_DIFF):.2e}, median {np.median(HALF_DIFF):.2e}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
