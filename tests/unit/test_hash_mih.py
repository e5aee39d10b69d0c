"""Multi-index hashing is exact: the same rows and distances as brute force, on random and planted neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from common import hash_mih, hashing


def _planted(rng: np.random.Generator, n: int, words: int, query: np.ndarray, near: int) -> np.ndarray:
    """n random rows; rows 0..near-1 are the query with 0..near-1 flipped bits (every distance up to near-1)."""
    data = rng.integers(0, 2**63, size=(words, n), dtype=np.uint64, endpoint=True)
    bits = words * 64
    for i in range(near):
        row = query.copy()
        for b in rng.choice(bits, i % bits, replace=False):
            row[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
        data[:, i] = row
    return data


def _brute(data: np.ndarray, query: np.ndarray, radius: int) -> tuple[list[int], list[int]]:
    dist = np.bitwise_count(data ^ query[:, None]).sum(axis=0)
    rows = np.flatnonzero(dist <= radius)
    order = rows[np.lexsort((rows, dist[rows]))]
    return order.tolist(), dist[order].tolist()


@pytest.mark.parametrize(("words", "radius"), [(4, 31), (4, 40), (1, 4), (1, 9)])
def test_within_equals_brute_force(words: int, radius: int) -> None:
    rng = np.random.default_rng(words * 100 + radius)
    query = rng.integers(0, 2**63, size=words, dtype=np.uint64, endpoint=True)
    data = _planted(rng, 20_000, words, query, near=min(64, words * 64))
    index = hash_mih.MultiIndex(data)
    rows, dists = index.within(query, radius)
    expected_rows, expected_dists = _brute(data, query, radius)
    assert len(expected_rows) >= radius + 1  # the planted neighbours (distances 0, 1, 2 ...) are found
    assert rows.tolist() == expected_rows
    assert dists.tolist() == expected_dists
    for q in rng.integers(0, 2**63, size=(5, words), dtype=np.uint64, endpoint=True):  # random queries too
        rows, _ = index.within(q, radius)
        assert rows.tolist() == _brute(data, q, radius)[0]


def test_duplicate_rows_and_empty_buckets() -> None:
    query = np.array([0, 0, 0, 0], np.uint64)
    data = np.zeros((4, 50), np.uint64)  # every row identical: one bucket holds all, the rest are empty
    data[0, 10:] = np.uint64(2**64 - 1)  # 40 rows 64 bits away
    rows, dists = hash_mih.MultiIndex(data).within(query, 31)
    assert rows.tolist() == list(range(10)) and dists.tolist() == [0] * 10


def test_radius_past_the_probe_table_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        hash_mih.MultiIndex(np.zeros((1, 3), np.uint64)).within(np.zeros(1, np.uint64), 64)


def test_hash_index_within_agrees_between_scan_and_multi_index(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    query = rng.integers(0, 2**63, size=4, dtype=np.uint64, endpoint=True)
    data = _planted(rng, 5_000, 4, query, near=60)
    hex_query = "".join(f"{int(w):016x}" for w in query)
    index = hashing.HashIndex.from_words("pdq", data, [f"r{i}" for i in range(data.shape[1])])
    scanned = index.nearest("pdq", hex_query, k=100, within=hashing.PDQ_MATCH)
    monkeypatch.setattr(hashing, "MIH_MIN_ROWS", 1)
    index = hashing.HashIndex.from_words("pdq", data, [f"r{i}" for i in range(data.shape[1])])
    multi = index.nearest("pdq", hex_query, k=100, within=hashing.PDQ_MATCH)
    assert multi == scanned
    assert [m.distance for m in multi] == list(range(hashing.PDQ_MATCH + 1))
    assert index.nearest("pdq", hex_query, k=1)[0] == multi[0]  # the nearest is the same without `within`
