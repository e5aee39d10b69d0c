#!/usr/bin/env python3
"""Reference indexes side by side in one run: PDQ range search and embedding nearest-neighbour search.

    .venv/bin/python scripts/bench_index.py pdq --sizes 100000,1000000,10000000
    .venv/bin/python scripts/bench_index.py embed --sizes 100000 --dim 1280

``pdq``: every row within PDQ_MATCH (31 bits) of the query, three ways on the same rows and queries: the exact
numpy scan (common.hashing), our multi-index (common.hash_mih) and FAISS's IndexBinaryMultiHash (16 tables of
16 bits, nflip 1: exact at r = 31). Half the queries are stored rows with 5-30 bits flipped (a re-encoded copy),
half are random (the common case: no match). Every method's answer is checked equal to the scan's.

``embed``: top-10 references by cosine, exact numpy matmul against hnswlib, usearch and faiss HNSW on the same
vectors: build time, query ms, recall@10 against exact, memory per million. Synthetic vectors with structure
like an embedding model's (a 64-d latent through a random projection plus noise, L2-normalised: unit Gaussian
noise in 1280-d is the worst case for any graph index and unlike real embeddings); queries are stored vectors
perturbed (a candidate close to a reference) and fresh draws from the same distribution (an unrelated one).
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import hash_mih, hashing  # noqa: E402


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


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
    print(f"PDQ range search, radius {radius}, {queries} queries (half near copies, half random)")
    print(f"{'rows':>11} {'method':<34}{'build s':>9}{'median ms':>11}{'p90 ms':>9}{'x scan':>8}{'MB':>8}")
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
        start = time.perf_counter()
        mih = hash_mih.MultiIndex(data)
        mih_build = time.perf_counter() - start
        mih_mb = mih.nbytes / 2**20
        codes = np.ascontiguousarray(data.T).astype(">u8").view(np.uint8).reshape(n, 32)  # MSB first
        start = time.perf_counter()
        fx = faiss.IndexBinaryMultiHash(256, 16, 16)
        fx.nflip = 1
        fx.add(codes)
        faiss_build = time.perf_counter() - start
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
                samples[name].append(_ms(lambda fn=fn, q=q: got.extend(fn(q))))  # noqa: B023
                assert got == expected[qi], (name, qi)
        base = statistics.median(samples[methods[0][0]])
        for name, build, mb, _ in methods:
            med = statistics.median(samples[name])
            p90 = float(np.percentile(samples[name], 90))
            print(f"{n:>11,} {name:<34}{build:>9.2f}{med:>11.2f}{p90:>9.2f}{base / med:>8.1f}{mb:>8.0f}")


EF_SEARCH = [64, 128, 256]  # HNSW search breadth: recall against query time (--ef)
HNSW = {"M": 16, "ef_construction": 100}  # graph degree and build breadth (--m, --ef-construction)


def _embeddings(rng: np.random.Generator, n: int, dim: int, basis: np.ndarray) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        latent = rng.standard_normal((hi - lo, basis.shape[0]), dtype=np.float32)
        block = latent @ basis + 0.35 * rng.standard_normal((hi - lo, dim), dtype=np.float32)
        out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def bench_embed(sizes: list[int], dim: int, queries: int, libs: list[str]) -> None:
    k = 10
    print(f"embedding top-{k} by cosine, dim {dim}, {queries} queries (half near copies, half unrelated)")
    print(
        f"{'vectors':>10} {'method':<38}{'build s':>9}{'median ms':>11}{'p90 ms':>9}{'recall@10':>11}{'MB/M':>8}"
    )
    for n in sizes:
        rng = np.random.default_rng(n + dim)
        basis = rng.standard_normal((64, dim), dtype=np.float32) / 8
        data = _embeddings(rng, n, dim, basis)
        near = data[rng.integers(0, n, queries // 2)] + 0.02 * rng.standard_normal(
            (queries // 2, dim), dtype=np.float32
        )
        qs = np.vstack([near, _embeddings(rng, queries - len(near), dim, basis)]).astype(np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)

        def exact_top(q: np.ndarray) -> np.ndarray:
            sims = data @ q  # noqa: B023 (called in this iteration)
            top = np.argpartition(-sims, k)[:k]
            return top[np.argsort(-sims[top])]

        exact = [exact_top(q) for q in qs]
        methods: list[tuple[str, float, float, Callable[[np.ndarray], np.ndarray]]] = [
            ("exact numpy matmul", 0.0, data.nbytes / 2**20 * 1e6 / n, exact_top)
        ]
        threads = 1  # one query at a time, one core: the per-candidate cost in a scan worker
        if "hnswlib" in libs:
            import hnswlib

            rss = _rss_mb()
            start = time.perf_counter()
            hx = hnswlib.Index(space="ip", dim=dim)
            hx.init_index(max_elements=n, M=HNSW["M"], ef_construction=HNSW["ef_construction"])
            hx.set_num_threads(os.cpu_count() or 1)
            hx.add_items(data, np.arange(n))
            build = time.perf_counter() - start
            hx.set_num_threads(threads)
            mb = (_rss_mb() - rss) * 1e6 / n
            for ef in EF_SEARCH:

                def hnsw_query(q: np.ndarray, ef: int = ef) -> np.ndarray:
                    hx.set_ef(ef)  # noqa: B023 (called in this iteration)
                    return hx.knn_query(q, k=k)[0][0]  # noqa: B023 (called in this iteration)

                methods.append((f"hnswlib HNSW M{HNSW['M']} ef{ef}", build, mb, hnsw_query))
        if "usearch" in libs:
            from usearch.index import Index

            for dtype in ("f32", "i8"):
                rss = _rss_mb()
                start = time.perf_counter()
                ux = Index(
                    ndim=dim,
                    metric="cos",
                    dtype=dtype,
                    connectivity=HNSW["M"],
                    expansion_add=HNSW["ef_construction"],
                )
                ux.add(np.arange(n), data, threads=os.cpu_count() or 1)
                build = time.perf_counter() - start
                mb = (_rss_mb() - rss) * 1e6 / n
                for ef in EF_SEARCH:

                    def usearch_query(q: np.ndarray, ux: Index = ux, ef: int = ef) -> np.ndarray:
                        ux.expansion_search = ef
                        return ux.search(q, k, threads=threads).keys  # noqa: B023 (called in this iteration)

                    methods.append((f"usearch HNSW M{HNSW['M']} ef{ef} {dtype}", build, mb, usearch_query))
        if "faiss" in libs:
            import faiss

            faiss.omp_set_num_threads(os.cpu_count() or 1)
            rss = _rss_mb()
            start = time.perf_counter()
            fx = faiss.IndexHNSWFlat(dim, HNSW["M"], faiss.METRIC_INNER_PRODUCT)
            fx.hnsw.efConstruction = HNSW["ef_construction"]
            fx.add(data)
            build = time.perf_counter() - start
            mb = (_rss_mb() - rss) * 1e6 / n
            for ef in EF_SEARCH:

                def faiss_query(q: np.ndarray, ef: int = ef) -> np.ndarray:
                    fx.hnsw.efSearch = ef  # noqa: B023 (called in this iteration)
                    return fx.search(q.reshape(1, -1), k)[1][0]  # noqa: B023 (called in this iteration)

                methods.append((f"faiss IndexHNSWFlat M{HNSW['M']} ef{ef}", build, mb, faiss_query))
            faiss.omp_set_num_threads(threads)
        samples: dict[str, list[float]] = {name: [] for name, *_ in methods}
        hits: dict[str, int] = dict.fromkeys(samples, 0)
        for qi, q in enumerate(qs):  # interleaved
            for name, _, _, fn in methods:
                got: list[np.ndarray] = []
                samples[name].append(_ms(lambda fn=fn, q=q: got.append(np.asarray(fn(q)))))  # noqa: B023
                hits[name] += len(set(got[0].tolist()) & set(exact[qi].tolist()))
        for name, build, mb, _ in methods:
            med = statistics.median(samples[name])
            p90 = float(np.percentile(samples[name], 90))
            recall = hits[name] / (k * len(qs))
            print(f"{n:>10,} {name:<38}{build:>9.1f}{med:>11.3f}{p90:>9.3f}{recall:>11.4f}{mb:>8.0f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("pdq", "embed"))
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated index sizes")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dim", type=int, default=1280, help="embedding dimension (embed)")
    parser.add_argument("--libs", default="hnswlib,usearch,faiss", help="ANN libraries to compare (embed)")
    parser.add_argument("--m", type=int, default=16, help="HNSW graph degree (embed)")
    parser.add_argument("--ef-construction", type=int, default=100, help="HNSW build breadth (embed)")
    parser.add_argument("--ef", default="64,128,256", help="HNSW search breadths to try (embed)")
    args = parser.parse_args(argv)
    HNSW.update(M=args.m, ef_construction=args.ef_construction)
    EF_SEARCH[:] = [int(e) for e in args.ef.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.what == "pdq":
        bench_pdq(sizes, args.queries)
    else:
        bench_embed(sizes, args.dim, args.queries, args.libs.split(","))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
