"""Local vector index vs brute force, crop regions, and the logistic calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.embedding.calibration import auc, calibrated, cosine_at, fit_logistic, tpr_at_fpr
from common.embedding.index import LocalVectorIndex, local_index_for, reference_views
from common.embedding.regions import MIN_TILE_SIDE, candidate_regions, reference_regions


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute_force(queries: np.ndarray, refs: list[dict], k: int) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for ref in refs:
        for _, vec in reference_views(ref):
            for q in queries:
                best[ref["ref_id"]] = max(best.get(ref["ref_id"], -2.0), float(np.dot(q, vec)))
    return sorted(best.items(), key=lambda kv: -kv[1])[:k]


@settings(max_examples=40, deadline=None)
@given(
    n_refs=st.integers(1, 12),
    n_crops=st.integers(0, 4),
    n_queries=st.integers(1, 6),
    k=st.integers(1, 15),
    seed=st.integers(0, 10_000),
)
def test_local_index_equals_brute_force(n_refs: int, n_crops: int, n_queries: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dim = 16
    refs = [
        {
            "ref_id": f"reference:{i}.jpg",
            "embedding": _unit(rng, 1, dim)[0].tolist(),
            "embedding_crops": {f"tile{j}": v.tolist() for j, v in enumerate(_unit(rng, n_crops, dim))},
            "embedding_model": "m@1",
        }
        for i in range(n_refs)
    ]
    queries = _unit(rng, n_queries, dim)
    hits = LocalVectorIndex.from_references(refs, model="m@1").nearest(queries, k)
    want = _brute_force(queries, refs, k)
    assert [h.ref_id for h in hits] == [ref_id for ref_id, _ in want]
    assert [h.cosine for h in hits] == pytest.approx([c for _, c in want], abs=1e-5)
    for hit in hits:  # the reported query row and view really produce the reported cosine
        ref = next(r for r in refs if r["ref_id"] == hit.ref_id)
        vec = dict(reference_views(ref))[hit.view]
        assert float(np.dot(queries[hit.query], vec)) == pytest.approx(hit.cosine, abs=1e-5)


def test_local_index_filters_model_and_empty_cases() -> None:
    rng = np.random.default_rng(1)
    refs = [
        {"ref_id": "a", "embedding": _unit(rng, 1, 8)[0].tolist(), "embedding_model": "m@1"},
        {"ref_id": "b", "embedding": _unit(rng, 1, 8)[0].tolist(), "embedding_model": "old@0"},
        {"ref_id": "c", "kind": "logo"},  # no embedding at all
    ]
    index = LocalVectorIndex.from_references(refs, model="m@1")
    assert index.ref_ids == ["a"]
    assert [h.ref_id for h in index.nearest(_unit(rng, 2, 8), 5)] == ["a"]
    assert LocalVectorIndex.from_references([], model="m@1").nearest(_unit(rng, 1, 8), 3) == []


def test_local_index_is_cached_per_brand_version() -> None:
    class _Deps:
        cache: dict = {}

    class _Brand:
        brand_id, version = "acme", "v1"
        references = [{"ref_id": "a", "embedding": [1.0, 0.0], "embedding_model": "m@1"}]

    deps, brand = _Deps(), _Brand()
    first = local_index_for(deps.cache, brand, "m@1")
    assert local_index_for(deps.cache, brand, "m@1") is first
    brand.version = "v2"
    assert local_index_for(deps.cache, brand, "m@1") is not first


def test_candidate_regions_cover_whole_box_and_tiles() -> None:
    regions = candidate_regions(800, 600, (100, 50, 300, 200))
    names = [r.name for r in regions]
    assert names[:2] == ["whole", "product_box"]
    assert regions[1].box == (100, 50, 400, 250)
    assert sum(n.startswith("tile2_") for n in names) == 4 and sum(n.startswith("tile3_") for n in names) == 9
    for r in regions:
        left, top, right, bottom = r.box
        assert 0 <= left < right <= 800 and 0 <= top < bottom <= 600
    # tiles of each grid together cover the image
    covered = np.zeros((600, 800), bool)
    for r in regions:
        if r.name.startswith("tile3_"):
            covered[r.box[1] : r.box[3], r.box[0] : r.box[2]] = True
    assert covered.all()
    # a box that is nearly the whole image, or tiny, adds no region; tiny images get no tiles
    assert [r.name for r in candidate_regions(800, 600, (0, 0, 800, 600))][1] != "product_box"
    assert "product_box" not in [r.name for r in candidate_regions(800, 600, (5, 5, 10, 10))]
    assert [r.name for r in candidate_regions(MIN_TILE_SIDE, MIN_TILE_SIDE)] == ["whole"]
    assert [r.name for r in reference_regions(640, 480)] == ["centre"] + [
        f"tile2_{i}_{j}" for i in (0, 1) for j in (0, 1)
    ]


def test_fit_logistic_recovers_parameters() -> None:
    rng = np.random.default_rng(0)
    a_true, b_true = 12.0, -7.0
    x = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(size=x.size) < 1 / (1 + np.exp(-(a_true * x + b_true)))).astype(int)
    # balanced weighting shifts b by log(n_neg / n_pos); undo it to compare with the generating model
    a, b = fit_logistic(x, y)
    b_unweighted = b + math.log(y.sum() / (len(y) - y.sum()))
    assert a == pytest.approx(a_true, rel=0.1)
    assert b_unweighted == pytest.approx(b_true, rel=0.1)
    assert calibrated(cosine_at(0.5, a, b), a, b) == pytest.approx(0.5)
    assert 0.0 <= calibrated(-1.0, a, b) < calibrated(1.0, a, b) <= 1.0
    with pytest.raises(ValueError):
        fit_logistic([0.1, 0.2], [1, 1])


def test_auc_and_tpr() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5
    assert tpr_at_fpr([0.9, 0.3], list(np.linspace(0, 0.5, 101)), 0.01) == 0.5


def test_interleaved_owners_equal_contiguous() -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 40, 8)
    owners = rng.integers(0, 7, 40)
    owners[:7] = np.arange(7)  # every reference has a view
    views = [f"v{i}" for i in range(40)]
    queries = _unit(rng, 3, 8)
    interleaved = LocalVectorIndex([f"r{i}" for i in range(7)], vectors, owners, views).nearest(queries, 4)
    order = np.argsort(owners, kind="stable")
    contiguous = LocalVectorIndex(
        [f"r{i}" for i in range(7)], vectors[order], owners[order], [views[i] for i in order]
    ).nearest(queries, 4)
    assert interleaved == contiguous
