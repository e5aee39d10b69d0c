#!/usr/bin/env python3
"""Clusters on generated listings: planted duplicate groups, how many come back whole, how many false merges.

    .venv/bin/python scripts/bench_clusters.py --seed 7
    .venv/bin/python scripts/bench_clusters.py --seed 7 --image-groups 12 --unrelated 20   # quick

What is planted (every group uses its own sellers, photos and store, so the true clusters are disjoint):
- image groups: one product photo listed 3-5 times by different sellers on different marketplaces, each copy
  edited the way resellers re-upload a batch photo: JPEG re-encoded (q 35-90), resized (0.5-1.3x), cropped
  (2-12 % per side), brightness +-12 %, mirrored, or two of those together;
- seller groups: one seller account listing 3 different photos (linked only by the seller id);
- store groups: 2-3 seller ids on different marketplaces naming one storefront, spelt differently
  (``https://www.`` / ``http://`` / trailing slash / ``?ref=``), each with its own photo;
- unrelated listings: own photo, own seller, no store.
Photos are product shots composed from non-overlapping tiles of the photos that ship with scikit-image and
matplotlib on a plain backdrop (``common.embedding.synthetic``): tiles cut from one source photo are the hard
negatives (same colours and texture, a different image), like two different products of one shop.

Each listing image goes the chain's way: JPEG bytes -> ``imaging.preprocess`` (working copy) ->
``clusters.fingerprints.fingerprint`` (PDQ + embedding with the shipped ONNX model) -> ``membership.add_listing``
on the local SQLite store, in a shuffled order, exactly as the ``cluster`` step runs after each verdict.

Printed: pair distances (same photo vs different photos) that the thresholds sit between, a sweep of both
thresholds (in-memory union-find over the same prints and keys, the same rule as the store's), and the headline
from the real incremental run at the shipped thresholds: share of planted groups recovered (all members in one
cluster holding nothing else), clusters with a false merge, pair precision/recall, ms per listing.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.bootstrap import build_deps  # noqa: E402
from common.clusters import fingerprints as fp  # noqa: E402
from common.clusters import views  # noqa: E402
from common.clusters.keys import listing_keys  # noqa: E402
from common.clusters.membership import add_listing  # noqa: E402
from common.copyverify import sift_features, verify_pair  # noqa: E402
from common.embedding.synthetic import load_rgb, sample_image_paths  # noqa: E402
from common.imaging import open_working, preprocess  # noqa: E402
from common.messages import Verdict  # noqa: E402
from common.settings import Settings  # noqa: E402

MARKETS = ("shopmart", "bazaar", "marketo", "tradepost")
EDITS = ("jpeg", "resize", "crop", "bright", "mirror", "crop+jpeg", "resize+bright")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PDQ_SWEEP = (16, 24, 31, 40, 48, 56)
COS_SWEEP = (0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 1.01)  # 1.01: embedding off


@dataclass
class Item:
    listing: dict[str, Any]
    truth: str  # planted group id (singletons: their own)
    kind: str  # image | seller | store | unrelated
    edit: str
    photo: str  # which composed photo (same photo <=> same image)
    jpeg: bytes = b""
    prints: fp.Prints | None = None
    image: Image.Image | None = None  # the working copy
    ms: dict[str, float] = field(default_factory=dict)


def tiles(rng: random.Random) -> list[tuple[str, Image.Image]]:
    """Non-overlapping 3x3 tiles of every shipped photo: (source name, tile)."""
    out = []
    for path in sample_image_paths():
        img = load_rgb(path, 600)
        w, h = img.size
        for i in range(3):
            for j in range(3):
                out.append(
                    (path.stem, img.crop((i * w // 3, j * h // 3, (i + 1) * w // 3, (j + 1) * h // 3)))
                )
    rng.shuffle(out)
    return out


def compose(tile: Image.Image, rng: random.Random) -> Image.Image:
    """A product shot: the tile as the product on a plain light backdrop, with a price-tag block."""
    backdrop = tuple(rng.randint(225, 255) for _ in range(3))
    canvas = Image.new("RGB", (640, 480), backdrop)
    scale = rng.uniform(0.9, 1.6)
    product = tile.resize((max(40, int(tile.width * scale)), max(40, int(tile.height * scale))))
    product.thumbnail((520, 400))
    x = rng.randint(10, 640 - product.width - 10)
    y = rng.randint(10, 480 - product.height - 10)
    canvas.paste(product, (x, y))
    draw = ImageDraw.Draw(canvas)
    colour = tuple(rng.randint(0, 200) for _ in range(3))
    tx, ty = rng.choice([(20, 420), (500, 20), (500, 420), (20, 20)])
    draw.rectangle((tx, ty, tx + 110, ty + 40), fill=colour)
    return canvas


def edit(img: Image.Image, how: str, rng: random.Random) -> tuple[Image.Image, int]:
    """(edited image, JPEG quality it is uploaded with)."""
    quality = 90
    for part in how.split("+"):
        if part == "jpeg":
            quality = rng.randint(35, 70)
        elif part == "resize":
            f = rng.choice([rng.uniform(0.5, 0.8), rng.uniform(1.1, 1.3)])
            img = img.resize((int(img.width * f), int(img.height * f)), Image.Resampling.BICUBIC)
        elif part == "crop":
            w, h = img.size
            left, top, right, bottom = (rng.uniform(0.02, 0.12) for _ in range(4))
            img = img.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))
        elif part == "bright":
            img = ImageEnhance.Brightness(img).enhance(
                rng.choice([rng.uniform(0.88, 0.95), rng.uniform(1.05, 1.12)])
            )
        elif part == "mirror":
            img = ImageOps.mirror(img)
    return img, quality


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def plant(args: argparse.Namespace) -> list[Item]:
    rng = random.Random(args.seed)
    pool = tiles(rng)
    photos: list[tuple[str, Image.Image]] = []

    def photo() -> tuple[str, Image.Image]:
        source, tile = pool.pop()
        photos.append((source, tile))
        return f"{source}#{len(photos)}", compose(tile, rng)

    items: list[Item] = []
    n = iter(range(1, 10**6))

    def listing(seller: str, market: str, store: str | None = None) -> dict[str, Any]:
        return {
            "listing_id": f"l{next(n):04d}",
            "seller_id": seller,
            "marketplace": market,
            "store_url": store,
        }

    for g in range(args.image_groups):
        name, base = photo()
        copies = rng.randint(3, 5)
        markets = rng.sample(MARKETS, k=min(copies, len(MARKETS))) + [rng.choice(MARKETS)] * copies
        for c in range(copies):
            how = "original" if c == 0 else rng.choice(EDITS)
            img, quality = edit(base, how, rng) if c else (base, rng.randint(80, 95))
            it = Item(listing(f"img{g}-s{c}", markets[c]), f"image{g}", "image", how, name)
            it.jpeg = _jpeg(img, quality)
            items.append(it)
    for g in range(args.seller_groups):
        market = rng.choice(MARKETS)
        for _c in range(3):
            name, img = photo()
            it = Item(listing(f"repeat{g}", market), f"seller{g}", "seller", "own photo", name)
            it.jpeg = _jpeg(img, 88)
            items.append(it)
    spellings = (
        "https://www.{h}/shop/{s}",
        "http://{h}/shop/{s}/",
        "{h}/shop/{s}?ref=feed",
        "https://m.{h}/shop/{s}",
    )
    for g in range(args.store_groups):
        host = f"store{g}.example"
        for c in range(rng.randint(2, 3)):
            name, img = photo()
            url = spellings[c % len(spellings)].format(h=host, s=f"shop{g}")
            it = Item(
                listing(f"st{g}-id{c}", rng.choice(MARKETS), url), f"store{g}", "store", "own photo", name
            )
            it.jpeg = _jpeg(img, 88)
            items.append(it)
    for u in range(args.unrelated):
        name, img = photo()
        it = Item(listing(f"single{u}", rng.choice(MARKETS)), f"single{u}", "unrelated", "own photo", name)
        it.jpeg = _jpeg(img, rng.randint(70, 95))
        items.append(it)
    rng.shuffle(items)
    return items


def fingerprint_all(items: list[Item], deps: Any) -> None:
    model = deps.model
    for it in items:
        start = time.perf_counter()
        _result, working = preprocess(it.jpeg, max_bytes=20_000_000, max_pixels=40_000_000)
        image = it.image = open_working(working)
        mid = time.perf_counter()
        it.prints = fp.fingerprint(image, model)
        it.ms["preprocess"] = (mid - start) * 1000
        it.ms["fingerprint"] = (time.perf_counter() - mid) * 1000


# ---------------------------------------------------------------- scoring


def score(items: list[Item], cluster_of: dict[str, str]) -> dict[str, Any]:
    truth: dict[str, set[str]] = defaultdict(set)
    predicted: dict[str, set[str]] = defaultdict(set)
    for it in items:
        lid = it.listing["listing_id"]
        truth[it.truth].add(lid)
        predicted[cluster_of[lid]].add(lid)
    truth_of = {it.listing["listing_id"]: it.truth for it in items}
    planted = {t: m for t, m in truth.items() if len(m) > 1}
    by_kind: dict[str, list[bool]] = defaultdict(list)
    kind_of = {it.truth: it.kind for it in items}
    for t, members in planted.items():
        clusters = {cluster_of[m] for m in members}
        whole = len(clusters) == 1 and predicted[clusters.pop()] == members
        by_kind[kind_of[t]].append(whole)
    false_clusters = sum(1 for m in predicted.values() if len({truth_of[x] for x in m}) > 1)
    true_pairs = sum(len(m) * (len(m) - 1) // 2 for m in truth.values())
    found_pairs = sum(len(m) * (len(m) - 1) // 2 for m in predicted.values())
    correct = 0
    for members in predicted.values():
        groups: dict[str, int] = defaultdict(int)
        for x in members:
            groups[truth_of[x]] += 1
        correct += sum(k * (k - 1) // 2 for k in groups.values())
    recovered = [w for ws in by_kind.values() for w in ws]
    return {
        "recovered": sum(recovered),
        "planted": len(recovered),
        "by_kind": {k: (sum(v), len(v)) for k, v in sorted(by_kind.items())},
        "false_merge_clusters": false_clusters,
        "false_pairs": found_pairs - correct,
        "precision": correct / found_pairs if found_pairs else 1.0,
        "recall": correct / true_pairs if true_pairs else 1.0,
    }


def simulate(items: list[Item], pdq_max: int, cos_min: float, check: bool = False) -> dict[str, str]:
    """The same linking rule in memory (every pair compared): exact keys, PDQ (and mirror), embedding, and
    (``check``) SIFT verification of the grey zone ``[VERIFY_MIN_COSINE, cos_min)`` without the per-verdict cap."""
    ids = [it.listing["listing_id"] for it in items]
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    holder: dict[str, str] = {}
    for it in items:
        for key in listing_keys(it.listing):
            if key.doc_id in holder:
                join(it.listing["listing_id"], holder[key.doc_id])
            holder.setdefault(key.doc_id, it.listing["listing_id"])
    pdq_d, cos = pair_matrices(items)
    close = (pdq_d <= pdq_max) | (cos >= cos_min)
    if check:
        close |= verified_pairs(items) & (cos >= VERIFY_MIN_COSINE)
    for i, j in zip(*np.nonzero(np.triu(close, 1)), strict=True):
        join(ids[i], ids[j])
    return {i: find(i) for i in ids}


_MATRICES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def pair_matrices(items: list[Item]) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise PDQ distance (best of stored-vs-query and mirror) and embedding cosine, computed once."""
    key = id(items)
    if key not in _MATRICES:
        n = len(items)
        big = 10**6
        stored = np.array(
            [fp.pdq_vector(it.prints.pdq) if it.prints and it.prints.pdq else [0.0] * 256 for it in items]
        )
        mirror = np.array(
            [
                fp.pdq_vector(it.prints.pdq_mirror) if it.prints and it.prints.pdq_mirror else [0.0] * 256
                for it in items
            ]
        )
        has = np.array([bool(it.prints and it.prints.pdq) for it in items])
        sims = np.maximum(stored @ stored.T, np.maximum(mirror @ stored.T, stored @ mirror.T))
        pdq_d = np.where(has[:, None] & has[None, :], np.rint((1 - sims) * 128), big).astype(np.int64)
        dim = len(next(it.prints.embedding for it in items if it.prints and it.prints.embedding))
        emb = np.array(
            [it.prints.embedding if it.prints and it.prints.embedding else [0.0] * dim for it in items]
        )
        cos = emb @ emb.T
        np.fill_diagonal(pdq_d, big)
        np.fill_diagonal(cos, -1)
        _MATRICES[key] = (pdq_d, cos)
        assert pdq_d.shape == (n, n)
    return _MATRICES[key]


_VERIFIED: dict[int, np.ndarray] = {}
# --sift-check: the geometric check tried for the embedding's grey zone (not shipped: see docs)
VERIFY_MIN_COSINE = 0.75
MIN_INLIERS = 12  # common.vision.sift.MIN_INLIERS
MIN_INLIER_SHARE = 0.5  # of the ratio-test matches: against repetitive textures


def same_photo(own: Any, other: Any) -> bool:
    result = verify_pair(own, other)
    return bool(result["inliers"] >= MIN_INLIERS and result["inliers"] >= MIN_INLIER_SHARE * result["good"])


def verified_pairs(items: list[Item]) -> np.ndarray:
    """SIFT + RANSAC verdict (``same_photo``) for every pair in the grey zone of the sweep, once."""
    key = id(items)
    if key not in _VERIFIED:
        _pdq, cos = pair_matrices(items)
        top = max(c for c in COS_SWEEP if c <= 1)
        out = np.zeros(cos.shape, bool)
        feats: dict[int, Any] = {}
        start, checked = time.perf_counter(), 0
        for i, j in zip(*np.nonzero(np.triu((cos >= VERIFY_MIN_COSINE) & (cos < top), 1)), strict=True):
            for k in (i, j):
                if k not in feats:
                    feats[k] = sift_features(items[k].image)
            out[i, j] = out[j, i] = same_photo(feats[i], feats[j])
            checked += 1
        ms = (time.perf_counter() - start) * 1000 / max(checked, 1)
        print(f"SIFT-checked {checked} grey-zone pairs (cosine {VERIFY_MIN_COSINE}-{top}), {ms:.0f} ms each")
        _VERIFIED[key] = out
    return _VERIFIED[key]


def distances(items: list[Item]) -> None:
    pdq_d, cos = pair_matrices(items)
    same_photo = np.array([[a.photo == b.photo for b in items] for a in items])
    np.fill_diagonal(same_photo, False)
    upper = np.triu(np.ones_like(same_photo), 1).astype(bool)
    print("\nPair distances (upper triangle; 'same photo' = copies of one planted photo):")
    print(
        f"{'pairs':<34} {'n':>6} {'PDQ min':>8} {'PDQ p50':>8} {'PDQ max':>8} {'cos min':>8} {'cos p50':>8} {'cos max':>8}"
    )
    edit_of = {it.listing["listing_id"]: it.edit for it in items}
    rows: list[tuple[str, np.ndarray]] = []
    for how in EDITS:
        idx = np.array([edit_of[it.listing["listing_id"]] == how for it in items])
        originals = np.array([it.edit == "original" for it in items])
        mask = same_photo & (idx[:, None] & originals[None, :])
        rows.append((f"same photo: original vs {how}", mask))
    rows.append(("same photo: any two copies", same_photo & upper))
    rows.append(("different photos", ~same_photo & upper))
    sources = [it.photo.split("#")[0] for it in items]
    sibling = np.array([[a == b for b in sources] for a in sources]) & ~same_photo & upper
    rows.append(("different photos, same source photo", sibling))
    for label, mask in rows:
        d = pdq_d[mask]
        d = d[d < 10**6]
        c = cos[mask]
        if c.size == 0:
            continue
        pd = (
            (f"{d.min():>8} {int(np.median(d)):>8} {d.max():>8}") if d.size else f"{'-':>8} {'-':>8} {'-':>8}"
        )
        print(f"{label:<34} {int(mask.sum()):>6} {pd} {c.min():>8.3f} {np.median(c):>8.3f} {c.max():>8.3f}")
    diff = ~same_photo & upper
    for name, matrix, order in (("PDQ", pdq_d, 1), ("cosine", cos, -1)):
        flat = np.flatnonzero(diff.ravel())
        closest = flat[np.argsort(order * matrix.ravel()[flat], kind="stable")[:3]]
        shown = ", ".join(
            f"{items[k // len(items)].photo} ~ {items[k % len(items)].photo} ({matrix.ravel()[k]:.3g})"
            for k in closest
        )
        print(f"closest different photos by {name}: {shown}")


def sweep(items: list[Item], check: bool) -> None:
    how = ", grey zone SIFT-checked" if check else ""
    print(f"\nThreshold sweep (in-memory, same rule{how}): planted groups recovered / false-merge clusters")
    print(
        f"{'PDQ <= ':>10}"
        + "".join(f"{('cos>=' + format(c, '.2f')) if c <= 1 else 'no embed':>13}" for c in COS_SWEEP)
    )
    for t in PDQ_SWEEP:
        cells = []
        for c in COS_SWEEP:
            s = score(items, simulate(items, t, c, check))
            cells.append(f"{s['recovered']:>3}/{s['planted']:<3} {s['false_merge_clusters']:>3}fm")
        print(f"{t:>10}" + "".join(f"{cell:>13}" for cell in cells))


def run_store(items: list[Item], home: Path) -> tuple[dict[str, str], list[float]]:
    deps = build_deps(Settings(home=home))
    deps.clock = lambda: T0
    costs = []
    for i, it in enumerate(items):
        lid = it.listing["listing_id"]
        verdict = Verdict(scan_id=f"s-{lid}", brand_id="bench", listing_id=lid, tier=1 + i % 3, score=0.9,
                          signals={}, rule="weighted", created_at=T0 + timedelta(minutes=i))  # fmt: skip
        start = time.perf_counter()
        assert it.prints is not None
        add_listing(deps, it.listing, verdict, it.prints)
        costs.append((time.perf_counter() - start) * 1000)
    cluster_of = {}
    for c in views.list_clusters(deps.docs, "bench", min_size=1, limit=10**6):
        for m in views.members(deps.docs, "bench", c):
            cluster_of[m["listing_id"]] = c["cluster_id"]
    return cluster_of, costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated listings")
    parser.add_argument(
        "--image-groups", type=int, default=30, help="planted groups of one photo (3-5 copies)"
    )
    parser.add_argument(
        "--seller-groups", type=int, default=10, help="planted groups of one seller (3 photos)"
    )
    parser.add_argument("--store-groups", type=int, default=8, help="planted groups of one store URL (2-3)")
    parser.add_argument("--unrelated", type=int, default=60, help="unrelated single listings")
    parser.add_argument("--sift-check", action="store_true",
                        help="also sweep with a SIFT + RANSAC check of cosine 0.75..threshold (tried, not shipped)")  # fmt: skip
    args = parser.parse_args(argv)
    print(f"bench_clusters --seed {args.seed} --image-groups {args.image_groups} --seller-groups "
          f"{args.seller_groups} --store-groups {args.store_groups} --unrelated {args.unrelated}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    items = plant(args)
    with tempfile.TemporaryDirectory() as tmp:
        deps = build_deps(Settings(home=Path(tmp) / "fp"))
        fingerprint_all(items, deps)
        flat = sum(1 for it in items if it.prints and it.prints.pdq is None)
        print(
            f"{len(items)} listings; {flat} without a PDQ (flat image); embedding model {items[0].prints.model}"
        )  # type: ignore[union-attr]
        distances(items)
        sweep(items, False)
        cluster_of, costs = run_store(items, Path(tmp) / "store")
        if args.sift_check:
            sweep(items, True)
    s = score(items, cluster_of)
    sim = score(items, simulate(items, fp.PDQ_CLUSTER_DISTANCE, fp.EMBED_CLUSTER_COSINE))
    print(f"\nIncremental run on the local store, shipped thresholds (PDQ <= {fp.PDQ_CLUSTER_DISTANCE}, "
          f"cosine >= {fp.EMBED_CLUSTER_COSINE}), listings in shuffled order:")  # fmt: skip
    print(
        f"  planted groups recovered whole: {s['recovered']}/{s['planted']} ({s['recovered'] / s['planted']:.1%})"
    )
    for kind, (ok, total) in s["by_kind"].items():
        print(f"    {kind:<7} groups: {ok}/{total}")
    print(f"  clusters with a false merge: {s['false_merge_clusters']}  (false pairs {s['false_pairs']})")
    print(f"  pair precision {s['precision']:.3f}, pair recall {s['recall']:.3f}")
    same = (s["recovered"], s["false_merge_clusters"]) == (sim["recovered"], sim["false_merge_clusters"])
    print(f"  in-memory all-pairs rule at the same thresholds: {sim['recovered']}/{sim['planted']}, "
          f"{sim['false_merge_clusters']} false-merge clusters ({'same' if same else 'DIFFERENT'})")  # fmt: skip
    fps = [it.ms["fingerprint"] for it in items]
    print(f"  ms per listing (median): fingerprint {statistics.median(fps):.1f} (PDQ + embedding), "
          f"store update {statistics.median(costs):.1f}; preprocess "
          f"{statistics.median(it.ms['preprocess'] for it in items):.1f}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
