"""Multi-index hashing (Norouzi, Punjani & Fleet, 2012): exact Hamming range search over millions of hashes.

Why: the exact scan in common.hashing reads every stored hash, so a query costs time linear in the index
(≈3 ms per million 256-bit rows, ≈31 ms at 10M). An imported hash list can hold millions of rows, and there
the only question is "which rows lie within the match threshold". Split each hash into 16-bit chunks; by the
pigeonhole principle a row within distance ``r`` of the query has at least one chunk within ``r // chunks``
of the query's chunk. So each chunk keeps its rows sorted by chunk value (a bucket per 16-bit value), a query
probes the few values near each of its chunks (17 per chunk for PDQ at r = 31: the value itself and its 16
one-bit neighbours), and only those candidates get their full distance computed. The answer is exact: every
row within ``r``, nothing else (tests/unit/test_hash_mih.py checks it against brute force).

Layout: ``order[c]`` is the row numbers sorted by chunk ``c``'s value and ``offsets[c, v]`` where value ``v``
starts in it (65,537 entries per chunk); ``rows`` keeps each row's words together so a candidate's distance
costs one cache line. Memory per million 256-bit rows: 64 MB of row numbers + 32 MB of words.
"""

from __future__ import annotations

import numpy as np

CHUNK_BITS = 16
_VALUES = 1 << CHUNK_BITS
_CHUNKS_PER_WORD = 64 // CHUNK_BITS
_POPCOUNT = np.bitwise_count(np.arange(_VALUES, dtype=np.uint16))
# XOR masks of every 16-bit value within Hamming distance s of zero, per s (s = 2 gives 137 probes per chunk).
_MASKS = {s: np.flatnonzero(s >= _POPCOUNT).astype(np.uint16) for s in range(4)}


def _chunks(words: np.ndarray) -> np.ndarray:
    """(n_words, n) uint64 -> (n_words * 4, n) uint16, most significant chunk of each word first."""
    out = np.empty((words.shape[0] * _CHUNKS_PER_WORD, words.shape[1]), np.uint16)
    for w in range(words.shape[0]):
        for j in range(_CHUNKS_PER_WORD):
            shift = np.uint64(64 - CHUNK_BITS * (j + 1))
            out[w * _CHUNKS_PER_WORD + j] = (words[w] >> shift) & np.uint64(_VALUES - 1)
    return out


class MultiIndex:
    """Exact range search: ``within(query, radius)`` -> every row within ``radius`` bits, closest first."""

    def __init__(self, words: np.ndarray) -> None:
        words = np.asarray(words, np.uint64)
        if words.ndim != 2:
            raise ValueError("words must be a (n_words, n) uint64 array")
        self.n_words, n = words.shape
        self.n_chunks = self.n_words * _CHUNKS_PER_WORD
        if n >= 2**31:
            raise ValueError("more than 2**31 rows: row numbers are int32")
        self.rows = np.ascontiguousarray(words.T)  # (n, n_words): one row's words in one cache line
        chunks = _chunks(words)
        self.order = np.empty((self.n_chunks, n), np.int32)
        self.offsets = np.zeros((self.n_chunks, _VALUES + 1), np.int64)
        for c in range(self.n_chunks):
            self.order[c] = np.argsort(chunks[c], kind="stable")  # radix sort for 16-bit keys
            np.cumsum(np.bincount(chunks[c], minlength=_VALUES), out=self.offsets[c, 1:])
            self.offsets[c] += c * n  # offsets into the flattened order array
        self._flat = self.order.reshape(-1)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes + self.order.nbytes + self.offsets.nbytes

    def candidates(self, query: np.ndarray, radius: int) -> np.ndarray:
        """Row numbers sharing a chunk within ``radius // n_chunks`` of the query's (with repeats)."""
        sub = radius // self.n_chunks
        if sub not in _MASKS:
            raise ValueError(f"radius {radius} too large for {self.n_chunks} chunks of {CHUNK_BITS} bits")
        q = _chunks(np.asarray(query, np.uint64).reshape(self.n_words, 1))[:, 0]
        probes = (q[:, None] ^ _MASKS[sub][None, :]).astype(np.int64)  # (chunks, probes)
        chunk = np.arange(self.n_chunks)[:, None]
        starts = self.offsets[chunk, probes].ravel()
        lengths = self.offsets[chunk, probes + 1].ravel() - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, np.int32)
        # concatenate the ranges [start, start + length) without a Python loop
        before = np.cumsum(lengths) - lengths
        return self._flat[np.arange(total) + np.repeat(starts - before, lengths)]

    def within(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of every row within ``radius`` of ``query`` ((n_words,) uint64), closest first
        (ties: lower row first)."""
        cand = self.candidates(query, radius)
        if cand.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.uint16)
        q = np.asarray(query, np.uint64).reshape(1, self.n_words)
        dist = np.bitwise_count(self.rows[cand] ^ q).sum(axis=1, dtype=np.uint16)
        keep = dist <= radius
        rows, first = np.unique(cand[keep].astype(np.int64), return_index=True)
        dists = dist[keep][first]
        order = np.lexsort((rows, dists))
        return rows[order], dists[order]
