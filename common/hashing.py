"""Perceptual hashes, a vectorised Hamming index, and the ``hash`` signal (the funnel's cheapest stage).

Why two hashes: pHash (imagehash, 64 bits) is the classic near-duplicate hash and degrades gently on small crops;
PDQ (Meta's 256-bit hash, PyPI ``pdqhash``) has 4x the bits, so far fewer chance collisions, and ThreatExchange
publishes its match and quality thresholds. Neither survives real crops, collages or a small copy in clutter
(docs/imaging.md has the measured table): those are the embedding and copy channels' job.

Dihedral variants (flips, 90-degree rotations) are stored on the *reference* side (8 PDQ + 2 pHash rows per
reference) so a candidate costs one hash of each kind and one index query; a brand has at most hundreds of
references, so 8x rows costs nothing, while 8 candidate-side queries would cost 8x on every scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from common.hash_mih import MultiIndex
from common.imaging import downscale, product_box
from common.messages import Box, Signal

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand, ReferenceImage

# Hashes are computed on a copy whose longest side is 256 px: PDQ's own pre-filter costs ~45 ms at 1200 px,
# ~7 ms at 512 px and ~2 ms at 256 px (measured, docs/imaging.md) and both hashes reduce to 64x64 / 32x32 anyway;
# edit and unrelated distances measured at 256 and 512 px were the same within a few bits.
HASH_SIDE = 256
# Callers may decode candidates down to this longest side (JPEG DCT scaling) before hashing: an object filling
# a third of the frame still has ~170 px to hash.
HASH_DECODE_SIDE = 512
# Crop only when the backdrop clearly dominates: a box that appears for one copy and not for another changes
# the hash completely, so the gate sits far from borderline photos (measured: a dark-sky photo toggled at the
# preprocess defaults of 60 % border uniformity / 90 % fill).
HASH_BOX_UNIFORM = 0.90
HASH_BOX_MAX_FILL = 0.60
BOX_PAD = 0.02  # margin kept around the object so a one-pixel box jitter is not a crop of the object itself
REFINE_PAD = 0.15  # margin cut around the coarse box before finding it again at full resolution

BITS = {"phash": 64, "pdq": 256}
# Version of the hash records stored on reference docs (``hash_schema``). 1 (no field): PDQ hex bit-reversed
# relative to ThreatExchange; 2: ThreatExchange's order, plus ``pdq_exchange`` (the whole-frame hash).
HASH_SCHEMA = 2

# PDQ: ThreatExchange PdqSignal.PDQ_CONFIDENT_MATCH_THRESHOLD = 31 (and COMPONENTS.md "match <= 31 of 256").
# Measured here (scripts/bench.py --only hash_quality): JPEG q50, resizes, brightness, mirror, 90-degree
# rotations <= 4; 1 % crop <= 22; unrelated photos >= 104; unrelated products on a white backdrop >= 96.
PDQ_MATCH = 31
# ThreatExchange PdqSignal.QUALITY_THRESHOLD = 50: "images with less than quality 50 are too unreliable to match
# on" (flat or nearly flat images). Low-quality PDQ hashes are not computed or matched.
PDQ_MIN_QUALITY = 50
# pHash: the common "<= 10 of 64" is NOT safe for product photos. Measured on whole-frame hashes of unrelated
# objects pasted on a white backdrop (the usual product-shot layout): minimum distance 6, 5th percentile 10.
# Re-encoding (JPEG q50), resizes and colour shifts stay <= 2 on 90 % of photos (max 4). 4 keeps a margin below
# that 6 even where the product-region crop (hash_image) cannot apply.
PHASH_MATCH = 4
# Distance from which a pair looks unrelated (used only for the "clear" score): unrelated full-frame photos
# are >= 104 PDQ bits apart, whole-frame hashes of white-backdrop products >= 80.
PDQ_UNRELATED = 90

# Dihedral variants stored for each reference: the reference as stored ("") and transformed (rotations are
# counter-clockwise, as Pillow's ROTATE_*).
PDQ_VARIANTS = ("", "rot90", "rot180", "rot270", "flipud", "fliplr", "transpose", "transverse")
_TRANSPOSE = {
    "rot90": Image.Transpose.ROTATE_90,
    "rot180": Image.Transpose.ROTATE_180,
    "rot270": Image.Transpose.ROTATE_270,
    "flipud": Image.Transpose.FLIP_TOP_BOTTOM,
    "fliplr": Image.Transpose.FLIP_LEFT_RIGHT,
    "transpose": Image.Transpose.TRANSPOSE,
    "transverse": Image.Transpose.TRANSVERSE,
}
PHASH_VARIANTS = ("", "fliplr")  # mirroring is the common edit; every extra variant adds chance collisions

# Rows per block of the Hamming scan: 256 KB of uint64 per word column stays in L2. Measured 1M x 256 bits:
# whole-array temporaries 7.5-12.8 ms, blocked 5.6-6.0 ms. Splitting over 2 threads gave ~4 ms on an idle
# machine but 5-10x worse on a loaded one (and nothing on a 1-vCPU function), so the scan stays single-threaded.
_BLOCK = 32_768
# From this many rows of one kind, range queries (``nearest(..., within=r)``) go through a multi-index
# (common.hash_mih, exact) instead of a scan. Measured (scripts/bench_index.py pdq, same run): 20k rows scan
# 0.07 ms vs multi-index 0.10 ms; 100k 0.33 vs 0.15; 1M 5.8 vs 0.73; 10M 130 vs 6.4. Below 100k the scan
# costs under half a millisecond and needs no extra memory (the multi-index adds ~100 MB per million rows).
MIH_MIN_ROWS = 100_000


def _key(kind: str, variant: str) -> str:
    return f"{kind}_{variant}" if variant else kind


def split_key(key: str) -> tuple[str, str]:
    """``"pdq_fliplr"`` -> ``("pdq", "fliplr")``; ``"phash"`` -> ``("phash", "")``."""
    kind, _, variant = key.partition("_")
    return kind, variant


def hash_image(image: Image.Image) -> Image.Image:
    """The normalised copy both sides hash: the product region when it stands on a plain backdrop, RGB,
    longest side <= HASH_SIDE.

    Why the crop: whole-frame hashes of product shots are dominated by the shared white backdrop. Measured:
    unrelated objects filling 30 % of a white canvas came out 0 pHash bits and 24 PDQ bits apart (both "match");
    hashing the object's box instead separates them like unrelated full-frame photos (>= 16 and >= 70 bits).
    The box is found on the small copy and cut from the full-resolution input so the object keeps its pixels.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    small = downscale(rgb, HASH_SIDE)
    box = product_box(small, min_uniform=HASH_BOX_UNIFORM, max_fill=HASH_BOX_MAX_FILL)
    if box is None:
        return small
    # Refine: the coarse box is +-1 px at 256 px, i.e. a few % of a small object, and PDQ moves ~10 bits per 1 %
    # crop. Cut a generous margin, find the box again at full HASH_SIDE resolution of that region.
    coarse = _scaled_region(box, rgb.width / small.width, rgb.height / small.height, REFINE_PAD, rgb.size)
    around = downscale(rgb.crop(coarse), HASH_SIDE)
    fine = product_box(around, min_uniform=HASH_BOX_UNIFORM, max_fill=1.0)
    if fine is None:
        return downscale(
            rgb.crop(
                _scaled_region(box, rgb.width / small.width, rgb.height / small.height, BOX_PAD, rgb.size)
            ),
            HASH_SIDE,
        )
    region = _scaled_region(
        fine,
        (coarse[2] - coarse[0]) / around.width,
        (coarse[3] - coarse[1]) / around.height,
        BOX_PAD,
        (coarse[2] - coarse[0], coarse[3] - coarse[1]),
    )
    return downscale(
        rgb.crop(
            (coarse[0] + region[0], coarse[1] + region[1], coarse[0] + region[2], coarse[1] + region[3])
        ),
        HASH_SIDE,
    )


def _scaled_region(
    box: Box, sx: float, sy: float, pad: float, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """``box`` (small-copy pixels) scaled to the source and padded by ``pad`` of its size, clipped to ``size``."""
    pad_x, pad_y = box.w * pad, box.h * pad
    return (
        max(0, math.floor((box.x - pad_x) * sx)),
        max(0, math.floor((box.y - pad_y) * sy)),
        min(size[0], math.ceil((box.x + box.w + pad_x) * sx)),
        min(size[1], math.ceil((box.y + box.h + pad_y) * sy)),
    )


def _bits_to_hex(bits: np.ndarray) -> str:
    """ThreatExchange's PDQ hex layout: hash bit 0 is the most significant bit of the hex string
    (python-threatexchange ``pdq_hasher``: ``"".join(str(b) for b in hash_vector)`` read as one binary number).
    Checked against the reference test vectors in tests/data/pdq (tests/unit/test_pdq_reference.py)."""
    value = int("".join("1" if b else "0" for b in bits), 2)
    return f"{value:0{len(bits) // 4}x}"


def reverse_pdq_hex(hex_value: str) -> str:
    """Convert a PDQ hex between hash schema 1 (bit-reversed) and 2 (ThreatExchange order); exact both ways."""
    bits = len(hex_value) * 4
    return f"{int(format(int(hex_value, 16), f'0{bits}b')[::-1], 2):0{len(hex_value)}x}"


def current_hashes(doc: Mapping[str, Any]) -> dict[str, str] | None:
    """A reference doc's ``hashes`` in the current schema (HASH_SCHEMA): schema-1 PDQ keys are bit-reversed
    back (exact, so an old record keeps matching until ``brand add`` re-hashes it); a record from a newer
    schema than this code knows is ignored (None) rather than misread."""
    hashes = doc.get("hashes")
    if not isinstance(hashes, dict):
        return None
    schema = doc.get("hash_schema", 1)
    if not isinstance(schema, int) or schema > HASH_SCHEMA:
        return None
    if schema >= HASH_SCHEMA:
        return dict(hashes)
    return {
        key: reverse_pdq_hex(value)
        if split_key(key)[0] == "pdq" and isinstance(value, str) and len(value) * 4 == BITS["pdq"]
        else value
        for key, value in hashes.items()
    }


def exchange_pdq(image: Image.Image) -> tuple[str, int]:
    """(hex, quality) of the whole frame as ThreatExchange / HMA hash an image file (``pdqhash.compute`` on
    the full RGB pixels, no crop, no downscale). This is the hash exported to and matched against shared hash
    lists; the matching hash (``compute_hashes``) is of a 256 px product-region copy and is not comparable
    with other systems' hashes of the same file. Measured on the reference images: 0 bits from
    python-threatexchange's ``pdq_from_bytes``."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return _bits_to_hex(bits), int(quality)


def compute_hashes(image: Image.Image, *, variants: bool = False) -> dict[str, str]:
    """``{"phash": 16 hex, "pdq": 64 hex}``; with ``variants`` also the dihedral keys (``pdq_fliplr``, ...).

    Variants are hashes of the transformed image, not ``pdqhash.compute_dihedral``'s DCT shortcut: PDQ's box
    pre-filter is not mirror-symmetric, so the shortcut puts a real mirrored copy 22-32 bits away (measured)
    where the transformed image's hash is 0-6 bits away. PDQ keys are omitted when PDQ's quality is below
    PDQ_MIN_QUALITY (its bits are noise on flat images).
    """
    small = hash_image(image)
    bits, quality = pdqhash.compute(np.asarray(small))
    out = {"phash": str(imagehash.phash(small))}
    if quality >= PDQ_MIN_QUALITY:
        out["pdq"] = _bits_to_hex(bits)
    if not variants:
        return out
    for variant in PHASH_VARIANTS[1:]:
        out[_key("phash", variant)] = str(imagehash.phash(small.transpose(_TRANSPOSE[variant])))
    if quality >= PDQ_MIN_QUALITY:
        for variant in PDQ_VARIANTS[1:]:
            out[_key("pdq", variant)] = _bits_to_hex(
                pdqhash.compute(np.asarray(small.transpose(_TRANSPOSE[variant])))[0]
            )
    return out


def pdq_hashes(image: Image.Image, variants: Sequence[str] = ("",)) -> dict[str, str]:
    """Only the PDQ keys of ``compute_hashes(image, variants=True)`` for ``variants`` ("" the image as it is),
    the same values; {} when PDQ's quality is too low. For callers that need a mirror, not all eight
    transforms and the pHashes (the clusters: ``pdq`` and ``pdq_fliplr``)."""
    small = hash_image(image)
    bits, quality = pdqhash.compute(np.asarray(small))
    if quality < PDQ_MIN_QUALITY:
        return {}
    return {
        _key("pdq", v): _bits_to_hex(
            bits if not v else pdqhash.compute(np.asarray(small.transpose(_TRANSPOSE[v])))[0]
        )
        for v in variants
    }


def hamming(a_hex: str, b_hex: str) -> int:
    if len(a_hex) != len(b_hex):
        raise ValueError(f"hashes of different lengths ({len(a_hex)} and {len(b_hex)} hex digits)")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def hex_to_words(hex_value: str) -> np.ndarray:
    """A hex hash as uint64 words (16 hex digits each), the index's column layout."""
    if len(hex_value) % 16:
        raise ValueError(f"hash length {len(hex_value)} is not a multiple of 16 hex digits")
    return np.array([int(hex_value[i : i + 16], 16) for i in range(0, len(hex_value), 16)], dtype=np.uint64)


@dataclass(frozen=True)
class Match:
    ref_id: str
    kind: str  # "phash" | "pdq"
    distance: int
    variant: str = ""  # which stored dihedral variant matched ("" = as stored, "fliplr" = mirrored copy...)


class _KindIndex:
    """All rows of one hash kind: words as (n_words, n) uint64 columns, one label per row."""

    def __init__(self, kind: str, words: np.ndarray, ref_ids: Sequence[str], variants: Sequence[str]) -> None:
        self.kind = kind
        self.words = np.ascontiguousarray(words, dtype=np.uint64)
        self.ref_ids = list(ref_ids)
        self.variants = list(variants)
        self._mih: MultiIndex | None = None

    def __len__(self) -> int:
        return self.words.shape[1]

    def within(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Every row within ``radius`` bits, closest first (ties: lower row first); exact either way."""
        if len(self) >= MIH_MIN_ROWS:
            if (
                self._mih is None
            ):  # built on first use: a cached index that is never range-queried pays nothing
                self._mih = MultiIndex(self.words)
            return self._mih.within(query, radius)
        dist = np.zeros(len(self), np.uint16)
        for i in range(self.words.shape[0]):
            dist += np.bitwise_count(self.words[i] ^ query[i])
        rows = np.flatnonzero(dist <= radius)
        order = rows[np.argsort(dist[rows], kind="stable")]
        return order, dist[order]

    def scan(
        self, query: np.ndarray, k: int, start: int = 0, stop: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows in [start, stop), closest first. Works in cache-sized blocks with preallocated buffers
        (measured 2x faster than whole-array temporaries at 1M rows). Once k rows are known, a block only
        contributes the rows at or below the current k-th distance (a cheap compare instead of a partition of
        every block: 1M x 256-bit with k=8 went from ~10 ms to ~3.5 ms, scripts/bench.py)."""
        stop = len(self) if stop is None else stop
        tmp = np.empty(_BLOCK, np.uint64)
        counts = np.empty(_BLOCK, np.uint8)
        dist = np.empty(_BLOCK, np.uint16)  # 256-bit distances reach 256: uint8 would wrap around
        best_rows, best_dists = np.empty(0, np.int64), np.empty(0, np.uint16)
        for lo in range(start, stop, _BLOCK):
            hi = min(stop, lo + _BLOCK)
            m = hi - lo
            for i in range(self.words.shape[0]):
                np.bitwise_xor(self.words[i, lo:hi], query[i], out=tmp[:m])
                np.bitwise_count(tmp[:m], out=counts[:m])
                if i == 0:
                    dist[:m] = counts[:m]
                else:
                    np.add(dist[:m], counts[:m], out=dist[:m])
            if len(best_dists) < k:
                rows, dists = _top_k(dist[:m], k, lo)
            else:
                kept = np.flatnonzero(dist[:m] <= best_dists[-1])
                if kept.size == 0:
                    continue
                sub_rows, sub_dists = _top_k(dist[kept], k, 0)
                rows, dists = kept[sub_rows] + lo, sub_dists
            # _merge concatenates, so a view into this block's buffer is safe to pass
            best_rows, best_dists = _merge([best_rows, rows], [best_dists, dists], k)
        return best_rows, best_dists

    def nearest_rows(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and distances of the k closest rows, closest first (ties: lower row first)."""
        return self.scan(query, k)


def _top_k(dist: np.ndarray, k: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    if k == 1:
        i = int(dist.argmin())
        return np.array([i + offset]), dist[i : i + 1]
    k = min(k, len(dist))
    part = np.argpartition(dist, k - 1)[:k]
    order = part[np.lexsort((part, dist[part]))]
    return order + offset, dist[order]


def _merge(rows: list[np.ndarray], dists: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    all_rows, all_dists = np.concatenate(rows), np.concatenate(dists)
    order = np.lexsort((all_rows, all_dists))[:k]
    return all_rows[order], all_dists[order]


class HashIndex:
    """Exact Hamming nearest-neighbour search over every stored hash, per kind, vectorised with numpy.

    Brute force on purpose: exact, no tuning, and 1,000,000 rows answer in a few ms (scripts/bench.py), far
    more than any brand kit holds. Variant rows let a mirrored or rotated candidate match its reference.
    """

    def __init__(self, rows: Iterable[tuple[str, Mapping[str, str]]]) -> None:
        grouped: dict[str, tuple[list[np.ndarray], list[str], list[str]]] = {}
        for ref_id, hashes in rows:
            for key, value in hashes.items():
                kind, variant = split_key(key)
                if kind not in BITS or len(value) * 4 != BITS[kind]:
                    continue  # unknown kinds (future hashes) are ignored, not fatal
                words, ids, variants = grouped.setdefault(kind, ([], [], []))
                words.append(hex_to_words(value))
                ids.append(ref_id)
                variants.append(variant)
        self._kinds = {
            kind: _KindIndex(kind, np.stack(words, axis=1), ids, variants)
            for kind, (words, ids, variants) in grouped.items()
        }

    @classmethod
    def from_words(cls, kind: str, words: np.ndarray, ref_ids: Sequence[str]) -> HashIndex:
        """Build straight from a (n_words, n) uint64 array (bulk loads, benchmarks)."""
        index = cls(())
        index._kinds[kind] = _KindIndex(kind, words, ref_ids, [""] * len(ref_ids))
        return index

    def __len__(self) -> int:
        return sum(len(k) for k in self._kinds.values())

    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    def nearest(self, kind: str, hex_value: str, k: int = 1, within: int | None = None) -> list[Match]:
        """The k closest *references* (best variant of each), closest first; with ``within``, only those at
        most that many bits away (answered by a multi-index past MIH_MIN_ROWS rows: ms at 10M rows)."""
        index = self._kinds.get(kind)
        if index is None:
            return []
        rows_per_ref = 8 if kind == "pdq" else 2
        if within is not None:
            rows, dists = index.within(hex_to_words(hex_value), within)
        else:
            rows, dists = index.nearest_rows(hex_to_words(hex_value), k * rows_per_ref)
        best: dict[str, Match] = {}
        for row, dist in zip(rows.tolist(), dists.tolist(), strict=True):
            ref_id = index.ref_ids[row]
            if ref_id not in best:
                best[ref_id] = Match(ref_id, kind, int(dist), index.variants[row])
        return sorted(best.values(), key=lambda m: (m.distance, m.ref_id))[:k]

    def search(self, hashes: Mapping[str, str]) -> dict[str, Match]:
        """The best match per kind for a candidate's hashes (its variant keys, if any, are ignored)."""
        out = {}
        for key, value in hashes.items():
            kind, variant = split_key(key)
            if variant or kind not in self._kinds:
                continue
            found = self.nearest(kind, value)
            if found:
                out[kind] = found[0]
        return out


# --- reference extractor and the signal ------------------------------------------------------------------------


class HashExtractor:
    """Stores each reference's hashes (with dihedral variants) in its reference doc at ``brand add``."""

    name = "hash"
    version = "2"  # 2: ThreatExchange bit order (hash_schema 2); a kit hashed by version 1 is re-hashed

    def extract(self, deps: Deps, brand_id: str, ref: ReferenceImage) -> dict[str, Any]:
        out: dict[str, Any] = {"hashes": compute_hashes(ref.image, variants=True), "hash_schema": HASH_SCHEMA}
        hex_value, quality = exchange_pdq(ref.image)
        if quality >= PDQ_MIN_QUALITY:
            out["pdq_exchange"] = {"pdq": hex_value, "quality": quality}
        return out


def _thresholds() -> dict[str, int]:
    return {"phash": PHASH_MATCH, "pdq": PDQ_MATCH}


def brand_index(deps: Deps, brand: Brand) -> HashIndex:
    """The brand's HashIndex, cached per process and per kit version (a re-added kit gets a new version)."""
    key = f"hash-index:{brand.brand_id}:{brand.version}"
    index = deps.cache.get(key)
    if index is None:
        prefix = f"hash-index:{brand.brand_id}:"
        for old in [k for k in deps.cache if isinstance(k, str) and k.startswith(prefix)]:
            del deps.cache[old]
        rows = [
            (doc["ref_id"], hashes)
            for doc in brand.references
            if doc.get("kind", "reference") == "reference"
            and doc.get("ref_id")
            and (hashes := current_hashes(doc)) is not None
        ]
        index = HashIndex(rows)
        deps.cache[key] = index
    return index


def match_score(matches: Mapping[str, Match]) -> tuple[bool, float, Match | None]:
    """(fired, score, deciding match). Score is calibrated to the measured distances, not ``1 - d/bits``
    (which would give unrelated photos ~0.5):

    - within a threshold: 0.85 at the threshold up to 1.0 for identical hashes (best kind, by relative distance);
    - otherwise from PDQ only (pHash near-misses are common between unrelated white-backdrop products):
      0.5 * (PDQ_UNRELATED - d) / (PDQ_UNRELATED - PDQ_MATCH), clipped to 0..0.5 — "looks related, not a copy".
    """
    limits = _thresholds()
    within = [m for m in matches.values() if m.distance <= limits[m.kind]]
    if within:
        best = min(within, key=lambda m: (m.distance / max(limits[m.kind], 1), m.kind))
        return True, round(0.85 + 0.15 * (1 - best.distance / max(limits[best.kind], 1)), 4), best
    pdq = matches.get("pdq")
    if pdq is None:
        return False, 0.0, matches.get("phash")
    score = 0.5 * (PDQ_UNRELATED - pdq.distance) / (PDQ_UNRELATED - PDQ_MATCH)
    return False, round(min(0.5, max(0.0, score)), 4), pdq


def _variant_words(variant: str) -> str:
    return {
        "": "",
        "fliplr": " as a mirrored copy",
        "flipud": " flipped upside down",
        "rot90": " rotated 90°",
        "rot180": " rotated 180°",
        "rot270": " rotated 270°",
        "transpose": " mirrored and rotated",
        "transverse": " mirrored and rotated",
    }.get(variant, f" ({variant})")


def hash_signal(
    deps: Deps, brand: Brand, image: Image.Image, query: Mapping[str, str] | None = None
) -> Signal:
    """Match the candidate's working copy against the brand's reference hashes (``query``: its
    ``compute_hashes``, when the caller already has them)."""
    index = brand_index(deps, brand)
    if len(index) == 0:
        return Signal.not_run("hash", "the brand kit has no reference images with perceptual hashes")
    query = compute_hashes(image) if query is None else query
    matches = index.search(query)
    if not matches:
        return Signal.not_run("hash", "the image is too flat for a reliable perceptual hash")
    fired, score, best = match_score(matches)
    assert best is not None
    detail = {
        "distances": {k: m.distance for k, m in matches.items()},
        "thresholds": {k: v for k, v in _thresholds().items() if k in matches},
        "bits": {k: BITS[k] for k in matches},
        "references": {k: m.ref_id for k, m in matches.items()},
        "variants": {k: m.variant or "original" for k, m in matches.items()},
        "pdq_used": "pdq" in query,
    }
    measured = ", ".join(f"{k} {m.distance}/{BITS[k]} bits" for k, m in sorted(matches.items()))
    if fired:
        reason = (
            f"Near-duplicate of reference {best.ref_id}{_variant_words(best.variant)} "
            f"({best.kind} distance {best.distance} <= threshold {_thresholds()[best.kind]}; {measured})."
        )
    else:
        reason = f"No reference within the perceptual-hash thresholds (closest {best.ref_id}: {measured})."
    return Signal(
        name="hash",
        status="fired" if fired else "clear",
        score=score,
        reference=best.ref_id,
        reason=reason,
        detail=detail,
    )
