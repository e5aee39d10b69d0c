"""The FAISS graph index behind the vector-index port: same answers as exact search, persisted, updated in place,
and rebuilt (never trusted) when the persisted file is corrupt or another brand's."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from common import paths
from common.adapters.local import FileBlobStore
from common.brand_model import Brand
from common.embedding import ann
from common.embedding.index import LocalVectorIndex, reference_views
from common.embedding.local_indexes import LocalVectorIndexes

BUCKET = "refs"
MODEL = "m@1"


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _refs(rng: np.random.Generator, n: int, dim: int = 24, crops: int = 5, prefix: str = "r") -> list[dict]:
    out = []
    for i in range(n):
        centre = rng.normal(size=dim)
        views = centre + 0.5 * rng.normal(size=(crops + 1, dim))
        views /= np.linalg.norm(views, axis=1, keepdims=True)
        out.append(
            {
                "ref_id": f"reference:{prefix}{i}.jpg",
                "sha256": f"{prefix}{i}",
                "embedding": views[0].tolist(),
                "embedding_crops": {f"tile{j}": v.tolist() for j, v in enumerate(views[1:])},
                "embedding_model": MODEL,
            }
        )
    return out


def _brand(refs: list[dict], version: str = "v1", brand_id: str = "acme") -> Brand:
    return Brand(brand_id, brand_id.upper(), [], [], [], [], None, None, None, None, version, references=refs)


def _same(got: list, want: list) -> None:
    assert [h.ref_id for h in got] == [h.ref_id for h in want]
    assert [h.cosine for h in got] == pytest.approx([h.cosine for h in want], abs=1e-5)
    assert [(h.query, h.view) for h in got] == [(h.query, h.view) for h in want]


@pytest.mark.parametrize("seed", range(6))
def test_graph_equals_exact_search_on_small_data(seed: int) -> None:
    """Up to 120 rows: the search breadth covers every row, so the graph must give the exact answer, views and
    winning query rows included, for one query and for a candidate's batch of crops."""
    rng = np.random.default_rng(seed)
    refs = _refs(rng, int(rng.integers(3, 21)), crops=int(rng.integers(0, 6)))
    refs.append(
        {"ref_id": "reference:other-model.jpg", "embedding": refs[0]["embedding"], "embedding_model": "x@0"}
    )
    graph = ann.AnnVectorIndex.build("acme", MODEL, refs)
    exact = LocalVectorIndex.from_references(refs, model=MODEL)
    near = np.asarray(refs[1]["embedding"], np.float32) + 0.05 * rng.normal(size=24).astype(np.float32)
    for queries in (_unit(rng, 1, 24), _unit(rng, 15, 24), near[None] / np.linalg.norm(near)):
        for k in (1, 5, 30):
            _same(graph.nearest(queries, k), exact.nearest(queries, k))
    assert all(h.ref_id != "reference:other-model.jpg" for h in graph.nearest(_unit(rng, 4, 24), 50))


def test_graph_finds_near_copies_like_exact_search_at_a_few_thousand_rows() -> None:
    rng = np.random.default_rng(7)
    refs = _refs(rng, 500)  # 3,000 rows: beyond the search breadth, the graph really is approximate here
    graph = ann.AnnVectorIndex.build("acme", MODEL, refs)
    exact = LocalVectorIndex.from_references(refs, model=MODEL)
    agree = 0
    for i in rng.choice(len(refs), 40, replace=False):
        view = np.asarray(reference_views(refs[i])[int(rng.integers(6))][1], np.float32)
        crops = view + 0.1 * rng.normal(size=(15, 24)).astype(np.float32)
        crops /= np.linalg.norm(crops, axis=1, keepdims=True)
        got, want = graph.nearest(crops, 5), exact.nearest(crops, 5)
        assert got[0].ref_id == want[0].ref_id == refs[i]["ref_id"]
        agree += [h.ref_id for h in got] == [h.ref_id for h in want]
    assert agree >= 38  # top-5 lists identical for (nearly) every candidate


def test_persistence_round_trip_gives_the_same_answers() -> None:
    rng = np.random.default_rng(3)
    refs = _refs(rng, 30)
    graph = ann.AnnVectorIndex.build("acme", MODEL, refs, kit_version="v1")
    graph.sync(refs[1:], "v2")  # a deleted reference survives the round trip as deleted
    back = ann.AnnVectorIndex.from_bytes(graph.to_bytes(), "acme", MODEL)
    assert back.kit_version == "v2" and len(back) == len(graph) == 29 * 6
    queries = _unit(rng, 15, 24)
    _same(back.nearest(queries, 10), graph.nearest(queries, 10))
    first = np.asarray(refs[0]["embedding"], np.float32)[None]
    assert all(h.ref_id != refs[0]["ref_id"] for h in back.nearest(first, 29))


def test_add_and_remove_update_the_graph_in_place() -> None:
    rng = np.random.default_rng(4)
    refs = _refs(rng, 20)
    graph = ann.AnnVectorIndex.build("acme", MODEL, refs[:19], kit_version="v1")
    rows_before = len(graph.graph)
    changed = dict(refs[5], sha256="new photo", embedding=_unit(rng, 1, 24)[0].tolist(), embedding_crops={})
    kit = [*refs[:5], changed, *refs[7:]]  # r6 removed, r5 changed, r19 added
    added, removed = graph.sync(kit, "v2")
    assert added == sorted([refs[19]["ref_id"], changed["ref_id"]])
    assert removed == [refs[6]["ref_id"]]
    assert len(graph.graph) == rows_before + 6 + 1  # appended, not rebuilt: r19's six views, r5's one
    assert len(graph) == 19 * 6 - 6 - 6 + 6 + 1
    exact = LocalVectorIndex.from_references(kit, model=MODEL)
    for queries in (_unit(rng, 15, 24), np.asarray([changed["embedding"]], np.float32)):
        _same(graph.nearest(queries, 10), exact.nearest(queries, 10))
    old = np.asarray([refs[6]["embedding"], refs[5]["embedding"]], np.float32)
    hits = graph.nearest(old, 100)
    assert refs[6]["ref_id"] not in {h.ref_id for h in hits}
    assert all(h.view == "whole" for h in hits if h.ref_id == changed["ref_id"])  # only its new vector


def _adapter(tmp_path: Path, cache: dict | None = None, threshold: int = 1) -> LocalVectorIndexes:
    return LocalVectorIndexes(
        {} if cache is None else cache, FileBlobStore(tmp_path / "blobs"), BUCKET, threshold
    )


def test_small_brands_keep_exact_search_and_big_ones_get_a_persisted_graph(tmp_path: Path) -> None:
    refs = _refs(np.random.default_rng(5), 10)  # 60 vectors
    brand = _brand(refs)
    assert isinstance(_adapter(tmp_path, threshold=61).index_for(brand, MODEL), LocalVectorIndex)
    assert FileBlobStore(tmp_path / "blobs").list(BUCKET) == []
    _adapter(tmp_path, threshold=60).prepare(brand, MODEL)
    assert FileBlobStore(tmp_path / "blobs").list(BUCKET) == [paths.vector_index("acme", MODEL)]
    assert isinstance(_adapter(tmp_path, threshold=60).index_for(brand, MODEL), ann.AnnVectorIndex)


def test_a_new_process_loads_the_persisted_graph_and_syncs_a_newer_kit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="common.embedding.local_indexes")
    rng = np.random.default_rng(6)
    refs = _refs(rng, 25)
    _adapter(tmp_path).prepare(_brand(refs[:24]), MODEL)
    assert "built over 144 vectors" in caplog.text
    caplog.clear()
    loaded = _adapter(tmp_path).index_for(_brand(refs[:24]), MODEL)  # fresh cache: read from the blob
    assert "built" not in caplog.text and isinstance(loaded, ann.AnnVectorIndex)
    newer = _brand(refs[1:], "v2")  # one added, one removed
    index = _adapter(tmp_path).index_for(newer, MODEL)
    assert "1 references added, 1 removed in place" in caplog.text and "built" not in caplog.text
    queries = _unit(rng, 15, 24)
    _same(
        index.nearest(queries, 8), LocalVectorIndex.from_references(refs[1:], model=MODEL).nearest(queries, 8)
    )
    caplog.clear()
    again = _adapter(tmp_path).index_for(newer, MODEL)  # the update was persisted
    assert caplog.text == "" and isinstance(again, ann.AnnVectorIndex) and again.kit_version == "v2"


def test_many_removals_rebuild_instead_of_piling_up_deleted_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="common.embedding.local_indexes")
    refs = _refs(np.random.default_rng(8), 20)
    cache: dict = {}
    _adapter(tmp_path, cache).prepare(_brand(refs), MODEL)
    index = _adapter(tmp_path, cache).index_for(_brand(refs[:10], "v2"), MODEL)
    assert "rows deleted; rebuilding" in caplog.text
    assert isinstance(index, ann.AnnVectorIndex) and index.deleted_share == 0 and len(index.graph) == 60


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda data, other: b"not an index at all", "shorter than the header"),
        (lambda data, other: data[:-100], "checksum mismatch"),
        (lambda data, other: data[:-1] + bytes([data[-1] ^ 1]), "checksum mismatch"),
        (lambda data, other: b"X" * len(data), "bad magic"),
        (lambda data, other: other, "brand is 'other'"),
    ],
)
def test_corrupt_or_foreign_persisted_index_is_rebuilt_with_a_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage, why: str
) -> None:
    rng = np.random.default_rng(9)
    refs = _refs(rng, 15)
    other_refs = _refs(rng, 15, prefix="theirs")
    blobs = FileBlobStore(tmp_path / "blobs")
    _adapter(tmp_path).prepare(_brand(refs), MODEL)
    _adapter(tmp_path).prepare(_brand(other_refs, brand_id="other"), MODEL)
    name = paths.vector_index("acme", MODEL)
    other = blobs.read(BUCKET, paths.vector_index("other", MODEL))
    blobs.write(BUCKET, name, damage(blobs.read(BUCKET, name), other))
    caplog.set_level(logging.INFO, logger="common.embedding.local_indexes")
    index = _adapter(tmp_path).index_for(_brand(refs), MODEL)
    assert f"{BUCKET}/{name} unusable (" in caplog.text and why in caplog.text and "rebuilding" in caplog.text
    queries = np.vstack(
        [_unit(rng, 10, 24), np.asarray([r["embedding"] for r in other_refs[:5]], np.float32)]
    )
    hits = index.nearest(queries, 15)
    assert {h.ref_id for h in hits} <= {r["ref_id"] for r in refs}  # never another brand's references
    _same(hits, LocalVectorIndex.from_references(refs, model=MODEL).nearest(queries, 15))
    assert ann.AnnVectorIndex.from_bytes(
        blobs.read(BUCKET, name), "acme", MODEL
    )  # the rebuilt one was stored


def test_other_model_or_format_is_stale() -> None:
    data = ann.AnnVectorIndex.build("acme", MODEL, _refs(np.random.default_rng(10), 3)).to_bytes()
    with pytest.raises(ann.StaleIndex, match="model is 'm@1', expected 'm@2'"):
        ann.AnnVectorIndex.from_bytes(data, "acme", "m@2")
    with pytest.raises(ValueError, match="no reference vectors"):
        ann.AnnVectorIndex.build("acme", "m@2", _refs(np.random.default_rng(10), 3))


def test_brand_add_builds_and_stores_the_graph(tmp_path: Path, runtime, demo_dir: Path) -> None:
    from common.brands import get_brand, register_brand

    deps, _ = runtime
    deps._vectors = LocalVectorIndexes(
        deps.cache, deps.blobs, deps.settings.references_bucket, ann_min_vectors=1
    )
    kit = tmp_path / "kit"
    shutil.copytree(demo_dir / "kit", kit)
    register_brand(deps, kit)
    brand = get_brand(deps, "acme")
    model = next(r["embedding_model"] for r in brand.references if r.get("embedding_model"))
    stored = deps.blobs.read(deps.settings.references_bucket, paths.vector_index("acme", model))
    graph = ann.AnnVectorIndex.from_bytes(stored, "acme", model)
    assert graph.kit_version == brand.version
    assert len(graph) == sum(len(reference_views(r)) for r in brand.references)
    queries = np.asarray([brand.references[0]["embedding"]], np.float32)
    _same(
        graph.nearest(queries, 3),
        LocalVectorIndex.from_references(brand.references, model=model).nearest(queries, 3),
    )


def _reseal(data: bytes, meta_change: dict | None = None, parts_change: dict | None = None) -> bytes:
    """``data`` with its metadata or raw parts changed and a valid checksum again."""
    import hashlib
    import json

    _, *lengths, _ = ann._HEAD.unpack_from(data)
    ends = np.cumsum(lengths).tolist()
    body = data[ann._HEAD.size :]
    parts = [body[lo:hi] for lo, hi in zip([0, *ends[:-1]], ends, strict=True)]
    if meta_change:
        parts[0] = json.dumps(dict(json.loads(parts[0]), **meta_change)).encode()
    for i, value in (parts_change or {}).items():
        parts[i] = value
    digest = hashlib.sha256(b"".join(parts)).digest()
    return ann._HEAD.pack(ann._MAGIC, *map(len, parts), digest) + b"".join(parts)


def test_checksummed_but_inconsistent_metadata_is_stale() -> None:
    """A file with a valid checksum but metadata that does not describe the graph (written by a bug or by
    someone with access to the bucket) is refused, never half-loaded."""
    import json

    data = ann.AnnVectorIndex.build("acme", MODEL, _refs(np.random.default_rng(11), 3)).to_bytes()
    _, meta_len, *_ = ann._HEAD.unpack_from(data)
    meta = json.loads(data[ann._HEAD.size : ann._HEAD.size + meta_len])
    assert ann.AnnVectorIndex.from_bytes(_reseal(data), "acme", MODEL)  # resealing alone keeps it valid
    for change in (
        {"owners": [-1] * len(meta["owners"])},
        {"dead": [10**6]},
        {"views": []},
        {"dim": "x"},
        {"graph": dict(meta["graph"], rows=5)},
        {"graph": dict(meta["graph"], quantised=True)},
        {"graph": "nothing"},
    ):
        with pytest.raises(ann.StaleIndex):
            ann.AnnVectorIndex.from_bytes(_reseal(data, change), "acme", MODEL)
    for part, value in ((2, b"\0" * 12), (1, b"\0" * 8), (3, b"not a faiss index")):
        with pytest.raises(ann.StaleIndex):
            ann.AnnVectorIndex.from_bytes(_reseal(data, parts_change={part: value}), "acme", MODEL)


def test_an_index_of_the_previous_format_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Graphs persisted before the re-ranked graph (format /1: one 1280-d IndexHNSWFlat) are not read as this
    format: the magic differs, so the adapter logs and rebuilds."""
    import struct

    refs = _refs(np.random.default_rng(12), 10)
    blobs = FileBlobStore(tmp_path / "blobs")
    meta = b"{" + b" " * 98 + b"}"  # a real /1 file is bigger than this format's header
    old = struct.pack("<8sQQ32s", b"CFANN\x00\x01\n", len(meta), 0, bytes(32)) + meta
    blobs.write(BUCKET, paths.vector_index("acme", MODEL), old)
    caplog.set_level(logging.INFO, logger="common.embedding.local_indexes")
    index = _adapter(tmp_path).index_for(_brand(refs), MODEL)
    assert "unusable (not a counterfeit vector index of this format" in caplog.text
    assert isinstance(index, ann.AnnVectorIndex) and len(index) == 60


def _embedding_like(
    rng: np.random.Generator, products: int, dim: int = 1280, noise: float = 0.02
) -> np.ndarray:
    """Vectors with the shape of the model's (scripts/bench_index.py EmbeddingModel, simplified): a shared mean
    direction, most variance in a few dozen directions, isotropic noise in the rest, six views per product."""
    mean = np.abs(rng.normal(size=dim)) / np.sqrt(dim)
    basis = rng.normal(size=(64, dim)) / np.sqrt(dim) * np.linspace(1.5, 0.2, 64)[:, None]

    def offsets(n: int, scale: float) -> np.ndarray:
        return scale * (rng.normal(size=(n, 64)) @ basis + noise * rng.normal(size=(n, dim)))

    centres = mean + offsets(products, 1.0)
    views = np.repeat(centres, 6, axis=0) + offsets(products * 6, 0.6)
    return (views / np.linalg.norm(views, axis=1, keepdims=True)).astype(np.float32)


def test_reduced_graph_recall_against_exact_search() -> None:
    """1280-d vectors, so the graph really walks their projection (128-d): recall@10 of the re-ranked answer
    against exact search, new views of stored products as queries, and cosines equal to the exact ones."""
    from common.embedding.ann_graph import RerankedGraph

    rng = np.random.default_rng(13)
    data = _embedding_like(rng, 1000, noise=0.08)  # enough outside the top directions to matter
    graph = RerankedGraph(1280)
    graph.add(data[:4000])
    graph.add(data[4000:])  # incremental: the projection fitted on the first 4,000 serves the rest
    assert graph.projection is not None and graph.projection.shape == (ann.GRAPH_DIM, 1280) < (1280, 1280)
    assert len(graph) == 6000
    picks = rng.integers(0, 1000, 40) * 6
    queries = data[picks] + 0.3 * (data[picks + 1] - data[picks])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    sims, rows = graph.search(queries, 10)
    exact = queries @ data.T
    truth = np.argsort(-exact, axis=1)[:, :10]
    recall = np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows.tolist(), truth.tolist(), strict=True)])
    assert recall >= 0.98, recall
    assert np.allclose(sims, np.take_along_axis(exact, rows, 1), atol=1e-5)
    assert (rows[:, 0] == truth[:, 0]).all()  # the best stored view is always found
    # ranked by the projected vectors alone (what the graph walks), exactly: it loses neighbours the re-rank finds
    reduced = graph.vectors @ graph.projection.T
    by_projection = np.argsort(-(queries @ graph.projection.T) @ reduced.T, axis=1)[:, :10]
    pairs = zip(by_projection.tolist(), truth.tolist(), strict=True)
    assert np.mean([len(set(r) & set(t)) / 10 for r, t in pairs]) < recall


def test_reduced_graph_round_trip_and_add_after_load() -> None:
    from common.embedding.ann_graph import RerankedGraph

    rng = np.random.default_rng(14)
    data = _embedding_like(rng, 300)
    graph = RerankedGraph(1280, graph_dim=128, quantised=True)
    sims, rows = graph.search(data[:2], 3)  # empty: nothing found, no error
    assert (rows == -1).all() and np.isneginf(sims).all()
    graph.add(data[:1200])
    back = RerankedGraph.from_parts(*graph.to_parts())
    assert back.projection is not None and np.array_equal(back.projection, graph.projection)
    queries = data[::97] + 0.01
    for got, want in zip(back.search(queries, 10), graph.search(queries, 10), strict=True):
        assert np.array_equal(got, want)
    back.add(data[1200:])  # the loaded store is read-only: the add copies it into a growable one
    _, rows = back.search(data[1200:1210], 1)
    assert rows[:, 0].tolist() == list(range(1200, 1210))  # the new rows are found (each is its own nearest)


def test_search_settings_grow_with_the_catalogue() -> None:
    """efSearch and the re-rank depth by graph size: the first tier below 100k rows, then broader and deeper; each
    tier applies from its first row count on, never searches fewer candidates than it re-ranks, and never less
    broadly or deeply than the tier before."""
    assert ann.search_settings(0) == ann.search_settings(99_999) == (ann.EF_SEARCH, ann.RERANK) == (128, 50)
    assert ann.search_settings(100_000) == ann.search_settings(499_999) == (256, 100)
    assert ann.search_settings(500_000) == ann.search_settings(10_000_000) == (256, 200)
    tiers = ann.SEARCH_TIERS
    assert [t[0] for t in tiers] == sorted({t[0] for t in tiers}) and tiers[0][0] == 0
    assert all(a[1] <= b[1] and a[2] <= b[2] for a, b in zip(tiers, tiers[1:], strict=False))
    assert all(ef >= rerank for _, ef, rerank in tiers)
    with pytest.raises(ValueError, match="-1 rows"):
        ann.search_settings(-1)


def test_big_graphs_search_more_broadly_and_rerank_deeper(monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph is searched with its size's tier (``search_settings``), the re-rank never shallower than the rows
    a query needs (k x views); the answers stay the exact ones."""
    rng = np.random.default_rng(15)
    refs = _refs(rng, 20)
    graph = ann.AnnVectorIndex.build("acme", MODEL, refs)
    seen: list[tuple[int, int]] = []
    search = graph.graph.search

    def spy(queries, k, ef=ann.EF_SEARCH, rerank=ann.RERANK, selector=None):  # type: ignore[no-untyped-def]
        seen.append((ef, rerank))
        return search(queries, k, ef=ef, rerank=rerank, selector=selector)

    monkeypatch.setattr(graph.graph, "search", spy)
    queries = _unit(rng, 15, 24)
    exact = LocalVectorIndex.from_references(refs, model=MODEL).nearest(queries, 5)
    _same(graph.nearest(queries, 5), exact)
    monkeypatch.setattr(ann, "SEARCH_TIERS", ((0, 128, 50), (len(graph.graph), 300, 100)))
    _same(graph.nearest(queries, 5), exact)
    _same(
        graph.nearest(queries, 20), LocalVectorIndex.from_references(refs, model=MODEL).nearest(queries, 20)
    )
    # 20 references x 6 views = 120 rows per query row: more than the tier re-ranks, and every one is re-ranked
    assert seen == [(128, 50), (300, 100), (300, 120)]


def test_a_deeper_rerank_recovers_what_the_projection_ranks_too_low() -> None:
    """Where the 128-d projection misorders near neighbours (much of the vectors outside its directions), the
    graph's top 10 alone miss some of the exact top 10; re-ranking its top 100 by the full vectors finds them:
    why big catalogues re-rank deeper (``SEARCH_TIERS``)."""
    from common.embedding.ann_graph import RerankedGraph

    rng = np.random.default_rng(16)
    data = _embedding_like(rng, 1000, noise=0.2)  # 0.905 with the top 10 alone, 1.0 with the top 100
    graph = RerankedGraph(1280)
    graph.add(data)
    picks = rng.integers(0, 1000, 40) * 6
    queries = data[picks] + 0.3 * (data[picks + 1] - data[picks])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]

    def recall(rerank: int) -> float:
        rows = graph.search(queries, 10, ef=256, rerank=rerank)[1]
        return float(
            np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows.tolist(), truth.tolist(), strict=True)])
        )

    shallow, deep = recall(10), recall(100)
    assert shallow < 0.95 and deep >= 0.99, (shallow, deep)
