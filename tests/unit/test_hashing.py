"""Perceptual hashes: small edits stay within the match thresholds, unrelated images stay far, the index is exact."""

from __future__ import annotations

import functools
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from _images import PHOTOS, on_white, photo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from common import hashing
from common.bootstrap import build_deps
from common.brands import Brand, ReferenceImage
from common.settings import Settings

# derandomize: property tests on images must not flake in CI; the examples are still generated, not hand-picked.
PROPERTY = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
T = Image.Transpose


@functools.cache
def reference_index() -> hashing.HashIndex:
    return hashing.HashIndex((name, hashing.compute_hashes(photo(name), variants=True)) for name in PHOTOS)


def best(image: Image.Image) -> dict[str, hashing.Match]:
    return reference_index().search(hashing.compute_hashes(image))


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def colour(image: Image.Image, gains: tuple[float, float, float], offset: int) -> Image.Image:
    arr = np.asarray(image, np.float32) * np.asarray(gains) + offset
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


# --- hash values -----------------------------------------------------------------------------------------------


def test_hamming() -> None:
    assert hashing.hamming("ff00", "ff00") == 0
    assert hashing.hamming("ff00", "00ff") == 16
    assert hashing.hamming("0" * 64, "f" * 64) == 256
    with pytest.raises(ValueError):
        hashing.hamming("ff", "ffff")


def test_compute_hashes_shapes_and_variants() -> None:
    plain = hashing.compute_hashes(photo("coffee"))
    assert set(plain) == {"phash", "pdq"}
    assert len(plain["phash"]) == 16 and len(plain["pdq"]) == 64
    full = hashing.compute_hashes(photo("coffee"), variants=True)
    expected = {"phash", "phash_fliplr"} | {hashing._key("pdq", v) for v in hashing.PDQ_VARIANTS}
    assert set(full) == expected
    assert {k: full[k] for k in plain} == plain
    assert int(full["pdq"], 16) != int(full["pdq_fliplr"], 16)


def test_flat_image_has_no_pdq() -> None:
    """PDQ quality < 50 (ThreatExchange): its bits would be noise, so no PDQ key rather than a random one."""
    assert set(hashing.compute_hashes(Image.new("RGB", (300, 200), (40, 90, 200)), variants=True)) <= {
        "phash",
        "phash_fliplr",
    }


def test_hex_layout_is_threatexchange_bit_order() -> None:
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = 1  # bit 0 is the hex string's most significant bit (python-threatexchange pdq_hasher)
    bits[254] = 1
    assert hashing._bits_to_hex(bits) == "8" + "0" * 62 + "2"


# --- small edits stay close, unrelated images stay far -----------------------------------------------------------

EDITS = {
    "jpeg": st.integers(40, 95).map(lambda q: functools.partial(jpeg, quality=q)),
    "resize": st.floats(0.5, 1.5).map(
        lambda f: lambda im: im.resize((max(64, round(im.width * f)), max(64, round(im.height * f))))
    ),
    "colour": st.tuples(
        st.floats(0.92, 1.08), st.floats(0.92, 1.08), st.floats(0.92, 1.08), st.integers(-15, 15)
    ).map(lambda g: lambda im: colour(im, g[:3], g[3])),
}


@given(name=st.sampled_from(PHOTOS), edit=st.one_of(*EDITS.values()))
@PROPERTY
def test_small_edits_match_both_hashes(name: str, edit) -> None:  # type: ignore[no-untyped-def]
    found = best(edit(photo(name)))
    assert found["phash"].ref_id == name and found["phash"].distance <= hashing.PHASH_MATCH
    assert found["pdq"].ref_id == name and found["pdq"].distance <= hashing.PDQ_MATCH


@given(
    name=st.sampled_from(PHOTOS),
    transform=st.sampled_from([v for v in hashing.PDQ_VARIANTS if v]),
    quality=st.integers(60, 95),
)
@PROPERTY
def test_flips_and_rotations_match_the_pdq_variant(name: str, transform: str, quality: int) -> None:
    edited = jpeg(photo(name).transpose(hashing._TRANSPOSE[transform]), quality)
    found = best(edited)["pdq"]
    assert (found.ref_id, found.variant) == (name, transform)
    assert found.distance <= hashing.PDQ_MATCH


@given(name=st.sampled_from(PHOTOS), quality=st.integers(60, 95))
@PROPERTY
def test_mirrored_copy_matches_phash_too(name: str, quality: int) -> None:
    found = best(jpeg(photo(name).transpose(T.FLIP_LEFT_RIGHT), quality))["phash"]
    assert (found.ref_id, found.variant) == (name, "fliplr") and found.distance <= hashing.PHASH_MATCH


@given(name=st.sampled_from(PHOTOS), side=st.sampled_from("lrtb"), fraction=st.floats(0.0, 0.01))
@PROPERTY
def test_one_percent_crop_stays_within_pdq_threshold(name: str, side: str, fraction: float) -> None:
    """PDQ survives ~1 % crops only (measured: 2 % -> up to 52 bits, 5 % -> up to 112; docs/imaging.md).
    Larger crops are the embedding/copy channels' job, not the hash's."""
    img = photo(name)
    cut_x, cut_y = round(img.width * fraction), round(img.height * fraction)
    box = {
        "l": (cut_x, 0, img.width, img.height),
        "r": (0, 0, img.width - cut_x, img.height),
        "t": (0, cut_y, img.width, img.height),
        "b": (0, 0, img.width, img.height - cut_y),
    }[side]
    found = best(img.crop(box))["pdq"]
    assert found.ref_id == name and found.distance <= hashing.PDQ_MATCH


def test_unrelated_photos_stay_far() -> None:
    hashes = {name: hashing.compute_hashes(photo(name)) for name in PHOTOS}
    for a, b in itertools.combinations(PHOTOS, 2):
        assert hashing.hamming(hashes[a]["phash"], hashes[b]["phash"]) > 3 * hashing.PHASH_MATCH, (a, b)
        assert hashing.hamming(hashes[a]["pdq"], hashes[b]["pdq"]) > 2 * hashing.PDQ_MATCH, (a, b)


@pytest.mark.parametrize("scale", [0.3, 0.6])
def test_unrelated_products_on_white_stay_far(scale: float) -> None:
    """The product-shot layout: whole-frame hashes of different objects on white would collide (measured 0 pHash
    bits at 30 % size); hashing the object's box keeps them apart."""

    def shot(name: str) -> Image.Image:
        src = photo(name)
        obj = src.resize((round(800 * scale), round(800 * scale * src.height / src.width)))
        return on_white(obj, (800, 800), ((800 - obj.width) // 2, (800 - obj.height) // 2))

    shots = {name: shot(name) for name in PHOTOS}
    index = hashing.HashIndex((n, hashing.compute_hashes(im, variants=True)) for n, im in shots.items())
    for name, im in shots.items():
        query = hashing.compute_hashes(im)
        for kind, limit in (("phash", hashing.PHASH_MATCH), ("pdq", hashing.PDQ_MATCH)):
            others = [m for m in index.nearest(kind, query[kind], k=3) if m.ref_id != name]
            assert others[0].distance > 2 * limit, (name, kind, others[0])
        # ... while the same shot re-encoded still matches itself
        assert index.search(hashing.compute_hashes(jpeg(im, 70)))["pdq"].ref_id == name


@given(
    name=st.sampled_from(PHOTOS),
    canvas=st.tuples(st.integers(500, 1200), st.integers(500, 1200)),
    scale=st.floats(0.6, 1.5),
    where=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
@PROPERTY
def test_product_recomposed_on_another_backdrop_still_matches(name, canvas, scale, where) -> None:  # type: ignore[no-untyped-def]
    """Same product shot pasted at another size/position on another white canvas: the hash follows the object."""
    src = photo(name)
    obj = src.resize((300, round(300 * src.height / src.width)))
    index = hashing.HashIndex(
        [(name, hashing.compute_hashes(on_white(obj, (800, 800), (250, 250)), variants=True))]
    )
    moved = obj.resize((round(obj.width * scale), round(obj.height * scale)))
    # product shots keep a margin: >= 5 % of the canvas on every side (an object touching the frame edge makes
    # the border non-uniform, and the hash falls back to the whole frame; docs/imaging.md)
    width, height = (
        max(canvas[0], round(moved.width / 0.9) + 2),
        max(canvas[1], round(moved.height / 0.9) + 2),
    )
    if moved.width * moved.height > 0.5 * width * height:  # the box gate needs a visible backdrop
        width, height = round(width * 1.5), round(height * 1.5)
    mx, my = round(0.05 * width), round(0.05 * height)
    at = (
        mx + round(where[0] * (width - moved.width - 2 * mx)),
        my + round(where[1] * (height - moved.height - 2 * my)),
    )
    found = index.search(hashing.compute_hashes(on_white(moved, (width, height), at)))
    assert found["pdq"].distance <= hashing.PDQ_MATCH


# --- the index ---------------------------------------------------------------------------------------------------

hex64 = st.integers(0, 2**64 - 1).map(lambda v: f"{v:016x}")
hex256 = st.integers(0, 2**256 - 1).map(lambda v: f"{v:064x}")


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([f"reference:r{i}.jpg" for i in range(12)]),
            st.sampled_from(["phash", "phash_fliplr", "pdq", "pdq_rot90"]),
            st.data(),
        ),
        min_size=1,
        max_size=40,
    ),
    k=st.integers(1, 5),
    data=st.data(),
)
@settings(max_examples=80, deadline=None, derandomize=True)
def test_index_agrees_with_brute_force(rows, k: int, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    docs: dict[str, dict[str, str]] = {}
    for ref_id, key, draw in rows:
        docs.setdefault(ref_id, {})[key] = draw.draw(hex256 if key.startswith("pdq") else hex64)
    index = hashing.HashIndex(docs.items())
    for kind, strategy in (("phash", hex64), ("pdq", hex256)):
        query = data.draw(strategy)
        expected = sorted(
            (
                min(
                    hashing.hamming(query, v)
                    for key, v in hashes.items()
                    if hashing.split_key(key)[0] == kind
                ),
                ref,
            )
            for ref, hashes in docs.items()
            if any(hashing.split_key(key)[0] == kind for key in hashes)
        )[:k]
        got = index.nearest(kind, query, k=k)
        assert [(m.distance, m.ref_id) for m in got] == expected
        for m in got:  # the reported variant really is at that distance
            assert hashing.hamming(query, docs[m.ref_id][hashing._key(kind, m.variant)]) == m.distance


def test_large_index_spanning_many_blocks_stays_exact() -> None:
    rng = np.random.default_rng(7)
    n = 7 * hashing._BLOCK + 12_345
    words = rng.integers(0, 2**63, size=(4, n), dtype=np.uint64, endpoint=True)
    ids = [f"r{i}" for i in range(n)]
    index = hashing.HashIndex.from_words("pdq", words, ids)
    planted = n - 3
    query_words = words[:, planted].copy()
    query_words[0] ^= np.uint64(0b1011)  # 3 bits away from the planted row
    query = "".join(f"{int(w):016x}" for w in query_words)
    got = index.nearest("pdq", query, k=3)
    assert got[0] == hashing.Match(f"r{planted}", "pdq", 3, "")
    brute = np.zeros(n, dtype=np.int64)
    for i in range(4):
        brute += np.bitwise_count(words[i] ^ query_words[i])
    assert [m.distance for m in got] == sorted(brute.tolist())[:3]


def test_complement_hash_is_256_bits_away_not_zero() -> None:
    """Four uint8 popcounts summed must not wrap around at 256."""
    index = hashing.HashIndex([("a", {"pdq": "0" * 64})])
    assert index.nearest("pdq", "f" * 64)[0].distance == 256


def test_unknown_and_malformed_hash_keys_are_ignored() -> None:
    index = hashing.HashIndex([("a", {"phash": "00ff" * 4, "dhash": "12" * 8, "pdq": "abc"})])
    assert index.kinds() == ["phash"] and len(index) == 1


# --- extractor and signal ----------------------------------------------------------------------------------------


def _brand(references: list[dict], version: str = "v1") -> Brand:
    return Brand(
        brand_id="acme",
        display_name="ACME",
        trademarks=["ACME"],
        colors=[],
        authorized_sellers=[],
        barcodes=[],
        reference_price=None,
        currency=None,
        category=None,
        spi=None,
        version=version,
        references=references,
    )


def _reference_doc(name: str, kind: str = "reference") -> dict:
    image = photo(name)
    ref = ReferenceImage(
        ref_id=f"{kind}:{name}.jpg",
        kind=kind,
        filename=f"{name}.jpg",
        path=Path(f"{name}.jpg"),
        sha256="0",
        image=image,
    )
    extractor = hashing.HashExtractor()
    assert (extractor.name, extractor.version) == ("hash", "2")
    return {"ref_id": ref.ref_id, "kind": kind, **extractor.extract(None, "acme", ref)}


@pytest.fixture
def deps(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_deps(Settings(home=tmp_path))


def test_signal_not_run_without_references(deps) -> None:  # type: ignore[no-untyped-def]
    signal = hashing.hash_signal(deps, _brand([]), photo("coffee"))
    assert signal.status == "not_run" and "no reference" in (signal.reason or "")


def test_signal_fires_on_a_mirrored_reencoded_copy(deps) -> None:  # type: ignore[no-untyped-def]
    brand = _brand(
        [_reference_doc("coffee"), _reference_doc("rocket"), _reference_doc("astronaut", kind="logo")]
    )
    signal = hashing.hash_signal(deps, brand, jpeg(photo("coffee").transpose(T.FLIP_LEFT_RIGHT), 75))
    assert signal.name == "hash" and signal.status == "fired"
    assert signal.reference == "reference:coffee.jpg"
    assert signal.score is not None and 0.85 <= signal.score <= 1.0
    assert signal.detail["thresholds"] == {"phash": hashing.PHASH_MATCH, "pdq": hashing.PDQ_MATCH}
    assert signal.detail["variants"]["pdq"] == "fliplr"
    assert signal.detail["distances"]["pdq"] <= hashing.PDQ_MATCH
    assert "mirrored" in (signal.reason or "") and "reference:coffee.jpg" in (signal.reason or "")


def test_signal_clear_for_unrelated_image_and_logos_ignored(deps) -> None:  # type: ignore[no-untyped-def]
    brand = _brand([_reference_doc("coffee"), _reference_doc("astronaut", kind="logo")])
    signal = hashing.hash_signal(deps, brand, photo("astronaut"))  # identical to the *logo*, not a reference
    assert signal.status == "clear"
    assert signal.score is not None and signal.score < 0.5
    assert signal.reference == "reference:coffee.jpg"
    assert "No reference within" in (signal.reason or "")


def test_index_cached_per_brand_version(deps) -> None:  # type: ignore[no-untyped-def]
    v1 = _brand([_reference_doc("coffee")], version="v1")
    first = hashing.brand_index(deps, v1)
    assert hashing.brand_index(deps, v1) is first
    v2 = _brand([_reference_doc("coffee"), _reference_doc("rocket")], version="v2")
    second = hashing.brand_index(deps, v2)
    assert second is not first and len(second) == 2 * len(first)
    assert [k for k in deps.cache if k.startswith("hash-index:acme:")] == ["hash-index:acme:v2"]


def test_score_mapping_is_monotonic() -> None:
    scores = []
    for d in range(0, 257, 4):
        fired, score, _ = hashing.match_score({"pdq": hashing.Match("r", "pdq", d)})
        assert fired == (d <= hashing.PDQ_MATCH)
        scores.append(score)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0 and scores[-1] == 0.0


@pytest.mark.parametrize("n_words, k", [(1, 8), (4, 8), (4, 16), (1, 2)])
def test_block_scan_keeps_exact_rows_and_tie_order(n_words: int, k: int) -> None:
    """The scan skips a block's rows above the running k-th distance; with heavy ties (64-bit distances over
    100k rows repeat constantly) it must still return exactly the brute-force rows, lower row first on ties."""
    rng = np.random.default_rng(n_words * 100 + k)
    n = 3 * hashing._BLOCK + 777
    words = rng.integers(0, 2**63, size=(n_words, n), dtype=np.uint64, endpoint=True)
    words[:, n - 5] = words[:, 10]  # an exact tie across blocks: the earlier row must come first
    index = hashing._KindIndex("x", words, [str(i) for i in range(n)], [""] * n)
    for query in (words[:, 10].copy(), rng.integers(0, 2**63, size=n_words, dtype=np.uint64)):
        rows, dists = index.scan(query, k)
        brute = np.bitwise_count(words ^ query[:, None]).sum(axis=0)
        order = np.lexsort((np.arange(n), brute))[:k]
        assert rows.tolist() == order.tolist()
        assert dists.tolist() == brute[order].tolist()


# --- hash records of an older schema -------------------------------------------------------------------------


def _schema1(doc: dict) -> dict:
    """The record as hash extractor version 1 stored it: PDQ hex bit-reversed, no ``hash_schema``."""
    old = {k: v for k, v in doc.items() if k not in ("hash_schema", "pdq_exchange")}
    old["hashes"] = {
        k: hashing.reverse_pdq_hex(v) if k.startswith("pdq") else v for k, v in doc["hashes"].items()
    }
    return old


def test_reference_doc_carries_schema_and_exchange_hash() -> None:
    doc = _reference_doc("coffee")
    assert doc["hash_schema"] == hashing.HASH_SCHEMA == 2
    assert doc["pdq_exchange"]["pdq"] == hashing.exchange_pdq(photo("coffee"))[0]
    assert doc["pdq_exchange"]["quality"] >= hashing.PDQ_MIN_QUALITY


def test_schema1_record_is_converted_exactly() -> None:
    doc = _reference_doc("coffee")
    assert hashing.current_hashes(_schema1(doc)) == doc["hashes"]
    assert hashing.current_hashes(doc) == doc["hashes"]
    assert hashing.current_hashes({"hashes": doc["hashes"], "hash_schema": 3}) is None  # newer: ignored
    assert hashing.current_hashes({"hash_schema": 2}) is None


def test_schema1_reference_still_matches_until_rehashed(deps) -> None:  # type: ignore[no-untyped-def]
    """A kit registered before the bit-order change keeps matching (its record is converted on read)."""
    brand = _brand([_schema1(_reference_doc("coffee")), _schema1(_reference_doc("rocket"))])
    signal = hashing.hash_signal(deps, brand, jpeg(photo("coffee"), 80))
    assert signal.status == "fired" and signal.reference == "reference:coffee.jpg"
    assert signal.detail["distances"]["pdq"] <= 4
