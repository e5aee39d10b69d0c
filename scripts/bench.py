#!/usr/bin/env python
"""Per-image benchmarks against the JPEG-decode floor measured in the same run.

    .venv/bin/python scripts/bench.py            # full run (~1 minute on 2 cores)
    .venv/bin/python scripts/bench.py --quick    # fewer repeats and queries (~15 s)
    .venv/bin/python scripts/bench.py --only decode,hash_path

Inputs are real photos that installed packages ship (scikit-image's data directory, matplotlib's
grace_hopper.jpg), resized to ~1 MP and encoded as JPEG q90 in memory. Every section is a function
``(Context) -> list[Row]`` registered in ``SECTIONS``: add a section by writing one and registering it; its rows
are printed with their ratio to the decode floor. Quality bars (DESIGN.md): hash path <= 15 ms median,
1M-hash lookup <= 10 ms, every per-image stage a small constant times the floor.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import hashing, imaging  # noqa: E402

LIMITS = {"max_bytes": 40 * 1024 * 1024, "max_pixels": 50_000_000}
TARGET_PIXELS = 1_000_000
BRAND_REFERENCES = 200  # a large brand kit; each reference stores 2 pHash + 8 PDQ rows
MILLION = 1_000_000


@dataclass
class Row:
    section: str
    name: str
    samples_ms: list[float]
    per_image: bool = True  # ratio to the floor only makes sense for per-image work
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        return float(np.percentile(self.samples_ms, 90))


@dataclass
class Context:
    quick: bool
    images: dict[str, bytes]  # name -> ~1 MP JPEG bytes
    repeats: int
    floor_ms: float | None = None
    cache: dict[str, object] = field(default_factory=dict)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def per_image(ctx: Context, fn: Callable[[bytes], object]) -> list[float]:
    """Per-image medians: each image ``repeats`` times after one warm-up; one sample = one image's median."""
    medians = []
    for data in ctx.images.values():
        fn(data)
        medians.append(statistics.median(timed(lambda d=data: fn(d)) for _ in range(ctx.repeats)))
    return medians


def load_images() -> dict[str, bytes]:
    import matplotlib.cbook
    import skimage.data

    sources = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),
        "rocket": skimage.data.rocket(),
        "motorcycle_left": skimage.data.stereo_motorcycle()[0],
    }
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        sources["grace_hopper"] = np.asarray(Image.open(fh).convert("RGB"))
    out = {}
    for name, arr in sources.items():
        img = Image.fromarray(arr[..., :3]).convert("RGB")
        scale = (TARGET_PIXELS / (img.width * img.height)) ** 0.5
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out[name] = buf.getvalue()
    return out


# --- sections ----------------------------------------------------------------------------------------------------


def bench_decode(ctx: Context) -> list[Row]:
    """The floor: Pillow decoding the JPEG to RGB, nothing else. Then our checked decode of the same bytes."""
    floor = per_image(ctx, lambda d: Image.open(io.BytesIO(d)).convert("RGB"))
    ctx.floor_ms = statistics.median(floor)
    safe = per_image(ctx, lambda d: imaging.decode(d, **LIMITS))
    return [
        Row("decode", "Pillow JPEG decode to RGB (floor)", floor),
        Row("decode", "imaging.decode (sniff, header checks, EXIF, RGB)", safe),
    ]


def bench_preprocess(ctx: Context) -> list[Row]:
    rows = [
        Row(
            "preprocess",
            "imaging.preprocess (decode, 1024 px copy, colours, box, JPEG)",
            per_image(ctx, lambda d: imaging.preprocess(d, **LIMITS)),
        )
    ]
    working = {name: imaging.preprocess(d, **LIMITS)[1] for name, d in ctx.images.items()}
    ctx.cache["working"] = working
    img = imaging.working_copy(imaging.decode(next(iter(ctx.images.values())), **LIMITS).image)
    png = io.BytesIO()
    img.save(png, "PNG", compress_level=1)
    rows.append(
        Row(
            "preprocess",
            "  working copy as JPEG q95 4:4:4 (chosen)",
            [timed(lambda: imaging.encode_working(img)) for _ in range(ctx.repeats)],
        )
    )
    rows.append(
        Row(
            "preprocess",
            "  working copy as PNG level 1 (rejected)",
            [timed(lambda: img.save(io.BytesIO(), "PNG", compress_level=1)) for _ in range(ctx.repeats)],
        )
    )
    rows.append(
        Row(
            "preprocess",
            "  dominant colours (k-means Lab, k=5, 100 px)",
            [timed(lambda: imaging.dominant_colors(img)) for _ in range(ctx.repeats)],
        )
    )
    rows.append(
        Row(
            "preprocess",
            "  product box",
            [timed(lambda: imaging.product_box(img)) for _ in range(ctx.repeats)],
        )
    )
    return rows


def _brand_index(ctx: Context) -> hashing.HashIndex:
    """A brand-sized index: the bench photos' own hashes plus random references up to BRAND_REFERENCES."""
    if "brand_index" not in ctx.cache:
        rng = np.random.default_rng(0)
        rows = [
            (f"reference:{n}", hashing.compute_hashes(imaging.decode(d, **LIMITS).image, variants=True))
            for n, d in ctx.images.items()
        ]
        for i in range(BRAND_REFERENCES - len(rows)):
            hashes = {
                hashing._key("phash", v): f"{int(rng.integers(0, 2**63)):016x}"
                for v in hashing.PHASH_VARIANTS
            }
            hashes.update(
                {
                    hashing._key("pdq", v): "".join(f"{int(w):016x}" for w in rng.integers(0, 2**63, 4))
                    for v in hashing.PDQ_VARIANTS
                }
            )
            rows.append((f"reference:random{i}", hashes))
        ctx.cache["brand_index"] = hashing.HashIndex(rows)
    return ctx.cache["brand_index"]  # type: ignore[return-value]


def bench_hash_path(ctx: Context) -> list[Row]:
    """decode + hashes + lookup, as the CLI's hash path and as the pipeline's hash step (working copy)."""
    index = _brand_index(ctx)

    def from_upload(data: bytes) -> object:
        img = imaging.decode(data, **LIMITS, reduce_to=hashing.HASH_DECODE_SIDE).image
        return index.search(hashing.compute_hashes(img))

    def from_working(data: bytes) -> object:
        img = imaging.open_working(data, reduce_to=hashing.HASH_DECODE_SIDE)
        return index.search(hashing.compute_hashes(img))

    working = ctx.cache.get("working") or {
        n: imaging.preprocess(d, **LIMITS)[1] for n, d in ctx.images.items()
    }
    step = Context(ctx.quick, dict(working), ctx.repeats)  # type: ignore[arg-type]
    some = imaging.decode(next(iter(ctx.images.values())), **LIMITS, reduce_to=hashing.HASH_DECODE_SIDE).image
    query = hashing.compute_hashes(some)
    for name, data in ctx.images.items():  # every bench photo must find itself
        found = index.search(hashing.compute_hashes(imaging.decode(data, **LIMITS, reduce_to=512).image))
        assert found["pdq"].ref_id == f"reference:{name}", (name, found)
    return [
        Row(
            "hash",
            f"hash path: decode + pHash + PDQ + lookup ({len(index):,} rows)",
            per_image(ctx, from_upload),
        ),
        Row(
            "hash", "  same from the 1024 px working copy (pipeline hash step)", per_image(step, from_working)
        ),
        Row(
            "hash",
            "  compute_hashes only (box, pHash, PDQ at 256 px)",
            [timed(lambda: hashing.compute_hashes(some)) for _ in range(ctx.repeats * 3)],
        ),
        Row(
            "hash",
            "  brand index lookup only",
            [timed(lambda: index.search(query)) for _ in range(ctx.repeats * 3)],
        ),
    ]


def bench_million(ctx: Context) -> list[Row]:
    """One query over 1,000,000 stored hashes (exact brute force), 64-bit and 256-bit."""
    rng = np.random.default_rng(1)
    queries = 10 if ctx.quick else 40
    rows = []
    for kind, words in (("phash", 1), ("pdq", 4)):
        data = rng.integers(0, 2**63, size=(words, MILLION), dtype=np.uint64, endpoint=True)
        index = hashing.HashIndex.from_words(kind, data, [str(i) for i in range(MILLION)])
        hexes = ["".join(f"{int(w):016x}" for w in rng.integers(0, 2**63, words)) for _ in range(queries)]
        index.nearest(kind, hexes[0])
        samples = [timed(lambda h=h, i=index, k=kind: i.nearest(k, h)) for h in hexes]
        rows.append(
            Row("lookup", f"1M x {hashing.BITS[kind]}-bit nearest ({kind})", samples, per_image=False)
        )
    return rows


SECTIONS: dict[str, Callable[[Context], list[Row]]] = {
    "decode": bench_decode,
    "preprocess": bench_preprocess,
    "hash_path": bench_hash_path,
    "million": bench_million,
}


def print_rows(rows: list[Row], floor: float | None) -> None:
    print(f"{'benchmark':<72} {'median ms':>9} {'p90 ms':>8} {'x floor':>8}")
    for row in rows:
        ratio = f"{row.median / floor:8.2f}" if floor and row.per_image else f"{'-':>8}"
        print(f"{row.name:<72} {row.median:9.2f} {row.p90:8.2f} {ratio}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and queries")
    parser.add_argument(
        "--only", help=f"comma-separated sections ({', '.join(SECTIONS)}); decode always runs"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    names = (
        list(SECTIONS) if not args.only else ["decode", *[n for n in args.only.split(",") if n != "decode"]]
    )
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    images = load_images()
    ctx = Context(quick=args.quick, images=images, repeats=3 if args.quick else 15)
    sizes = ", ".join(
        f"{n} {Image.open(io.BytesIO(d)).size[0]}x{Image.open(io.BytesIO(d)).size[1]}"
        for n, d in images.items()
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other processes inflate every figure alike)")
    print(
        f"{len(images)} JPEG q90 photos at ~1 MP ({sizes}); {ctx.repeats} repeats per image; medians of per-image medians"
    )
    rows: list[Row] = []
    for name in names:
        rows.extend(SECTIONS[name](ctx))
    print_rows(rows, ctx.floor_ms)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "floor_ms": ctx.floor_ms,
                    "rows": [
                        {"section": r.section, "name": r.name.strip(), "median_ms": r.median, "p90_ms": r.p90}
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
