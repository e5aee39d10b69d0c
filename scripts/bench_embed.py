"""Benchmarks of the visual-similarity path: speed, memory, endpoint overhead, search scale, separation.

    .venv/bin/python scripts/bench_embed.py            # everything (~3 min on 2 cores)
    .venv/bin/python scripts/bench_embed.py --quick    # fewer repetitions, 100k search only

Prints markdown tables (copied into docs/embedding.md). Speed figures are medians on this machine, with the
JPEG-decode floor measured in the same run as the baseline. Separation uses generated edits with seed 1,
while the calibration in the manifest was fitted on seed 0 edits of the same photos.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.embedding import regions, synthetic  # noqa: E402
from common.embedding.calibration import auc, calibrated  # noqa: E402
from common.embedding.client import HttpModelClient, InProcessModelClient  # noqa: E402
from common.embedding.extractor import reference_fields  # noqa: E402
from common.embedding.index import LocalVectorIndex  # noqa: E402
from common.embedding.manifest import load_manifest  # noqa: E402


def median_ms(fn: Callable[[], object], reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_mp_jpeg() -> bytes:
    img = synthetic.load_rgb(Path(synthetic.sample_image_paths()[0]).parent / "hubble_deep_field.jpg", 1200)
    return synthetic.to_jpeg(img.resize((1155, 866)), 90)


def bench_model(reps: int) -> InProcessModelClient:
    print("\n## Model speed and memory (in-process onnxruntime, CPU)\n")
    rss0 = rss_mb()
    client = InProcessModelClient()
    t0 = time.perf_counter()
    encoder = client.encoder
    load_ms = (time.perf_counter() - t0) * 1000
    rss1 = rss_mb()
    jpeg = one_mp_jpeg()
    decode_ms = median_ms(lambda: Image.open(__import__("io").BytesIO(jpeg)).convert("RGB"), reps)
    from common.embedding.encoder import to_tensor

    img = Image.open(__import__("io").BytesIO(jpeg)).convert("RGB")
    x1 = to_tensor([img], encoder.manifest)
    x16 = np.repeat(x1, 16, axis=0)
    infer1 = median_ms(lambda: encoder.run_tensor(x1), reps)
    infer16 = median_ms(lambda: encoder.run_tensor(x16), max(3, reps // 4)) / 16
    e2e1 = median_ms(lambda: client.embed([jpeg]), reps)
    e2e16 = median_ms(lambda: client.embed([jpeg] * 16), max(3, reps // 4)) / 16
    rss2 = rss_mb()
    crops_img = synthetic.clutter_scene(img, [img], random.Random(0))
    n_regions = len(regions.candidate_regions(*crops_img.size))
    crops_ms = median_ms(
        lambda: client.embed_pil(regions.crop_all(crops_img, regions.candidate_regions(*crops_img.size))),
        max(3, reps // 4),
    )
    print(f"model: {encoder.manifest.name}@{encoder.manifest.version} ({encoder.manifest.model_path.name}, "
          f"{encoder.manifest.output_dim}-d, {encoder.manifest.pooling})")  # fmt: skip
    print("| measure | value |\n|---|---|")
    print(f"| JPEG decode floor, 1 MP (baseline) | {decode_ms:.1f} ms |")
    print(f"| model load (checksum + session) | {load_ms:.0f} ms |")
    print(f"| inference, batch 1 | {infer1:.1f} ms/image ({infer1 / decode_ms:.1f}x decode) |")
    print(f"| inference, batch 16 | {infer16:.1f} ms/image ({infer1 / infer16:.2f}x faster than batch 1) |")
    print(f"| bytes -> vector (decode + resize + inference), batch 1, 1 MP JPEG | {e2e1:.1f} ms/image |")
    print(f"| bytes -> vector, batch 16 | {e2e16:.1f} ms/image |")
    print(f"| channel crops of an 800x600 candidate ({n_regions} regions, one batch) | {crops_ms:.0f} ms |")
    print(f"| RSS: before load / after load / after batch 16 | {rss0:.0f} / {rss1:.0f} / {rss2:.0f} MB |")
    print(
        f"| peak RSS of this process so far | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB |"
    )
    return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_endpoint(client: InProcessModelClient, reps: int) -> None:
    print("\n## Endpoint round-trip vs in-process (server as a local process, loopback HTTP)\n")
    port = _free_port()
    env = dict(
        os.environ,
        COUNTERFEIT_BACKEND="local",
        COUNTERFEIT_HOME="/tmp/bench-embed-home",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "common.embedding.server", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        remote = HttpModelClient(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                remote.health()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        jpeg = one_mp_jpeg()
        small = synthetic.to_jpeg(
            Image.open(__import__("io").BytesIO(jpeg)).convert("RGB").resize((448, 336)), 95
        )
        print("| call | in-process | endpoint | overhead |\n|---|---|---|---|")
        for label, batch in (("1 image (1 MP JPEG)", [jpeg]), ("16 images (1 MP JPEG)", [jpeg] * 16),
                             ("15 crops as 448 px JPEG (channel)", [small] * 15)):  # fmt: skip
            local_ms = median_ms(
                lambda b=batch: client.embed(b), reps if len(batch) == 1 else max(3, reps // 4)
            )
            remote_ms = median_ms(
                lambda b=batch: remote.embed(b), reps if len(batch) == 1 else max(3, reps // 4)
            )
            print(f"| {label} | {local_ms:.1f} ms | {remote_ms:.1f} ms | {remote_ms - local_ms:+.1f} ms |")
        # dynamic batching: 16 concurrent single-image requests
        with ThreadPoolExecutor(16) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda _: remote.embed([small]), range(64)))
            conc = (time.perf_counter() - t0) * 1000 / 64
        seq = median_ms(lambda: remote.embed([small]), reps)
        print(f"| 64 single-image requests, 16 concurrent (dynamic batching) | - | {conc:.1f} ms/request "
              f"throughput | sequential {seq:.1f} ms/request |")  # fmt: skip
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def bench_search(dim: int, sizes: list[int], reps: int) -> None:
    print(f"\n## Nearest-reference search (numpy, float32, {dim}-d, best per reference)\n")
    rng = np.random.default_rng(0)
    block_n = 100_000
    block = rng.standard_normal((block_n, dim), dtype=np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    print("| vectors | references | queries (crops) | ms per candidate |\n|---|---|---|---|")
    for n in sizes:
        views_per_ref = 6
        index = LocalVectorIndex(
            [f"r{i}" for i in range(block_n // views_per_ref + 1)], block,
            np.arange(block_n) // views_per_ref, ["v"] * block_n,
        )  # fmt: skip
        for q in (1, 15):
            queries = rng.standard_normal((q, dim), dtype=np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            passes = n // block_n  # 1M = 10 passes over a 100k block: same FLOPs, 0.5 GB instead of 5 GB
            ms = median_ms(
                lambda qq=queries, ix=index, p=passes: [ix.nearest(qq, 5) for _ in range(p)],
                max(3, reps // 4),
                1,
            )
            print(f"| {n:,} | {n // views_per_ref:,} | {q} | {ms:.0f} |")


def bench_separation(client: InProcessModelClient) -> None:
    print(
        "\n## Separation per transform (18 reference photos + 7 clutter-only photos shipped by packages; seed-1"
        " edits; same = edited copy vs its original)\n"
    )
    manifest = load_manifest()
    a, b = float(manifest.calibration["a"]), float(manifest.calibration["b"])
    images, clutter = synthetic.split_references_and_clutter(synthetic.sample_images())
    names = list(images)
    refs = [{"ref_id": n, **reference_fields(client, images[n], "reference")} for n in names]
    whole_refs = np.asarray([r["embedding"] for r in refs], np.float32)
    index = LocalVectorIndex.from_references(refs)
    print("| transform | mode | same cosine mean (min) | different cosine p99 (max) | AUC | top-1 | "
          "same fired | different pairs fired | candidates with another reference fired |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    transforms = list(synthetic.TRANSFORMS)
    rows: dict[str, dict[str, tuple[list[float], list[float], list[bool], list[float]]]] = {}
    for transform, ref_name, _src, cand in synthetic.pairs(images, transforms, 1, clutter):
        cand_regions = regions.candidate_regions(*cand.size)
        vecs, _ = client.embed_pil(regions.crop_all(cand, cand_regions))
        whole = whole_refs @ vecs[0]
        hits = {h.ref_id: h.cosine for h in index.nearest(vecs, len(names))}
        chan = np.asarray([hits[n] for n in names])
        for mode, sims in (("whole image", whole), ("channel crops", chan)):
            same, diff, top, other_max = rows.setdefault(transform, {}).setdefault(mode, ([], [], [], []))
            i = names.index(ref_name)
            same.append(float(sims[i]))
            diff.extend(float(s) for j, s in enumerate(sims) if j != i)
            top.append(int(np.argmax(sims)) == i)
            other_max.append(max(float(s) for j, s in enumerate(sims) if j != i))
    # the one real re-shoot: scikit-image's stereo motorcycle pair
    left, right = synthetic.reshoot_pair()
    vecs, _ = client.embed_pil(regions.crop_all(right, regions.candidate_regions(*right.size)))
    hits = {h.ref_id: h.cosine for h in index.nearest(vecs, len(names))}
    real = hits["motorcycle_left"]
    for transform in transforms:
        for mode, (same, diff, top, other_max) in rows[transform].items():
            fired_same = np.mean([calibrated(s, a, b) >= 0.5 for s in same])
            fired_diff = np.mean([calibrated(d, a, b) >= 0.5 for d in diff])
            fired_other = np.mean([calibrated(d, a, b) >= 0.5 for d in other_max])
            print(f"| {transform} | {mode} | {np.mean(same):.3f} ({np.min(same):.3f}) | "
                  f"{np.quantile(diff, 0.99):.3f} ({np.max(diff):.3f}) | {auc(same, diff):.4f} | {np.mean(top):.2f} | "
                  f"{fired_same:.0%} | {fired_diff:.2%} | {fired_other:.0%} |")  # fmt: skip
    others = max(c for r, c in hits.items() if r != "motorcycle_left")
    print(
        f"\nReal re-shoot (motorcycle_right vs reference motorcycle_left, channel crops): cosine {real:.3f} "
        f"-> score {calibrated(real, a, b):.3f}; best other reference {others:.3f}."
    )
    print(
        f"Calibration: score = 1/(1+exp(-({a}*cos {b:+}))); fired at score >= 0.5 (cos >= "
        f"{manifest.calibration.get('cosine_at_0.5')})."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-separation", action="store_true")
    parser.add_argument("--only-separation", action="store_true")
    args = parser.parse_args(argv)
    reps = 10 if args.quick else 30
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, onnxruntime "
          f"{__import__('onnxruntime').__version__}, numpy {np.__version__}")  # fmt: skip
    if args.only_separation:
        bench_separation(InProcessModelClient())
        return 0
    client = bench_model(reps)
    bench_endpoint(client, reps)
    bench_search(client.encoder.manifest.output_dim, [100_000] if args.quick else [100_000, 1_000_000], reps)
    if not args.skip_separation:
        bench_separation(client)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
