#!/usr/bin/env python3
"""Whole-chain benchmark on the embedded default: every demo candidate through ingest -> preprocess ->
hash-match -> (embed, logo/OCR) -> fuse -> evidence on the in-process bus, with per-step medians taken from
the chain's own timing records, and ratios to the JPEG-decode floor measured in the same run.

Usage: python scripts/bench_pipeline.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from common import ingest  # noqa: E402
from common.brands import register_brand  # noqa: E402
from common.messages import Listing  # noqa: E402
from common.ports import Filter  # noqa: E402
from common.scan import local_runtime, result_record  # noqa: E402
from common.settings import Settings  # noqa: E402

STEPS = ("preprocess", "hash_match", "embed", "logo_ocr", "fuse", "evidence")


def load_make_demo():
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_floor(paths: list[Path], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        for path in paths:
            data = path.read_bytes()
            start = time.perf_counter()
            Image.open(io.BytesIO(data)).convert("RGB")
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    load_make_demo().build(work / "demo")
    deps, bus = local_runtime(Settings(home=work / "home"))
    start = time.perf_counter()
    register_brand(deps, work / "demo" / "kit")
    brand_add_ms = (time.perf_counter() - start) * 1000
    paths = sorted(
        p for p in (work / "demo" / "candidates").glob("*.jpg") if not p.name.startswith("corrupt")
    )
    # Warm-up: model and OCR engine load once per process (reported separately).
    start = time.perf_counter()
    ingest.ingest_listing(
        deps, "acme", Listing(listing_id="warmup", image="x"), paths[0].read_bytes(), "warmup"
    )
    bus.drain()
    warmup_ms = (time.perf_counter() - start) * 1000

    totals: dict[str, list[float]] = {}
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    for r in range(args.repeat):
        for path in paths:
            listing = Listing(listing_id=path.stem, image=str(path), seller_id="bench")
            start = time.perf_counter()
            scan_id = ingest.ingest_listing(
                deps, "acme", listing, path.read_bytes(), f"bench:{r}:{path.name}"
            )
            bus.drain()
            totals.setdefault(path.stem, []).append((time.perf_counter() - start) * 1000)
            assert "tier" in result_record(deps, "acme", scan_id, path.stem)
            for _, marker in deps.docs.query("processed_events", [Filter("scan_id", "==", scan_id)]):
                per_step[marker["step"]].append(float(marker["elapsed_ms"]))

    floor = decode_floor(paths, args.repeat)
    print(
        f"demo candidates: {len(paths)} JPEGs (~0.3-0.9 MP), repeat {args.repeat}; brand add {brand_add_ms:.0f} ms; "
        f"first scan incl. model/OCR load {warmup_ms:.0f} ms"
    )
    print(f"{'stage':<28}{'median ms':>12}{'x decode floor':>16}")
    print(f"{'decode only (floor)':<28}{floor:>12.1f}{1.0:>16.1f}")
    for step in STEPS:
        if per_step[step]:
            med = statistics.median(per_step[step])
            print(f"{step:<28}{med:>12.1f}{med / floor:>16.1f}   (n={len(per_step[step])})")
    all_totals = [t for ts in totals.values() for t in ts]
    med = statistics.median(all_totals)
    print(f"{'whole chain per image':<28}{med:>12.1f}{med / floor:>16.1f}")
    print("\nper candidate (median ms):")
    for stem, ts in sorted(totals.items()):
        print(f"  {stem:<26}{statistics.median(ts):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
