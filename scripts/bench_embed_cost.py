#!/usr/bin/env python3
"""The embed channel's cost and the working copy's decodes on the demo candidates, before/after side by side in
one run (docs/speed.md).

1. onnxruntime session options for the channel's crop batch (whole image + product box + tiles of each demo
   candidate's working copy): onnxruntime's defaults (one intra-op thread per core, spinning) against this
   code's ``native_threads.ort_session_options`` at the process budget (all cores) and at 1 thread — alone, and
   as 2 concurrent sessions (what 2 scan workers on 2 cores do), as images/s of crops.
2. Crop preprocessing (``encoder.to_tensor``): the former float-temporaries normalisation against the in-place
   one (bit-identical output, checked here).
3. The working copy as the steps after preprocess open it (hash_match, embed, logo_ocr, cluster: 4 opens per
   scan that runs every channel): decoded by each (before) against decoded once and copied (``open_working``).
4. The whole-image vector, embedded by the embed channel and again by the cluster step's fingerprint: two model
   runs (before) against one and a lookup by the pixels' SHA-256 (``InProcessModelClient.embed_pil``).
5. (only with ``--parts 5``) int8: the model dynamically quantised (onnxruntime.quantization) against the float
   model on the same crops at 1 thread, CPU ms per crop and the cosine between their embeddings.

Variants are interleaved per image so that a shared, loaded machine slows them alike; wall and CPU time are
printed (CPU of this process, every thread).

Usage: python scripts/bench_embed_cost.py [--repeat 2] [--parts 1,2,3,4]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common import imaging  # noqa: E402
from common.embedding.encoder import resize_for_model, to_tensor  # noqa: E402
from common.embedding.manifest import ModelManifest, load_manifest, verify_model_file  # noqa: E402
from common.embedding.regions import candidate_regions, crop_all  # noqa: E402
from common.native_threads import available_cores, ort_session_options  # noqa: E402


def demo_working_copies(work: Path) -> list[tuple[str, Image.Image, Any, bytes]]:
    """(name, working copy, product box, working-copy bytes) of each demo candidate, as preprocess makes them."""
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    assert spec and spec.loader
    make_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_demo)
    make_demo.build(work / "demo")
    out = []
    for path in sorted((work / "demo" / "candidates").glob("*.jpg")):
        if path.name.startswith("corrupt"):
            continue
        result, working = imaging.preprocess(path.read_bytes(), max_bytes=1 << 26, max_pixels=50_000_000)
        out.append((path.stem, imaging.open_working(working), result.product_box, working))
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def former_to_tensor(images: list[Image.Image], manifest: ModelManifest) -> np.ndarray:
    """to_tensor as it was before the in-place normalisation (the baseline)."""
    arr = np.stack([np.asarray(resize_for_model(img.convert("RGB"), manifest)) for img in images])
    scaled = arr.astype(np.float32) * np.float32(manifest.pixel_scale)
    x: np.ndarray = (scaled - np.asarray(manifest.mean, np.float32)) / np.asarray(manifest.std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def sessions(manifest: ModelManifest) -> dict[str, Callable[[], Any]]:
    """Factories of a session per option set."""
    import onnxruntime as ort

    path = str(verify_model_file(manifest))
    cores = available_cores()

    def default() -> Any:
        return ort.InferenceSession(path, ort.SessionOptions(), providers=["CPUExecutionProvider"])

    def ours(threads: int) -> Callable[[], Any]:
        return lambda: ort.InferenceSession(
            path, ort_session_options(threads), providers=["CPUExecutionProvider"]
        )

    return {
        "onnxruntime defaults (before)": default,
        f"this code, {cores} threads, no spin": ours(cores),
        "this code, 1 thread, no spin": ours(1),
    }


def bench_sessions(manifest: ModelManifest, batches: list[np.ndarray], repeat: int) -> None:
    factories = sessions(manifest)
    name = manifest.input_name
    alone = {label: make() for label, make in factories.items()}
    for session in alone.values():
        session.run(None, {name: batches[0]})
    wall: dict[str, list[float]] = {k: [] for k in alone}
    cpu: dict[str, list[float]] = {k: [] for k in alone}
    for _ in range(repeat):
        for x in batches:
            for label, session in alone.items():
                w, c = timed(lambda s=session, x=x: s.run(None, {name: x}))
                wall[label].append(w / len(x))
                cpu[label].append(c / len(x))
    crops = sum(len(x) for x in batches)
    print(
        f"\n1. model on the channel's crops ({crops} crops of {len(batches)} demo candidates, one batch each)"
    )
    print(f"{'session options':<40}{'ms/crop':>9}{'CPU ms/crop':>13}{'vs before':>11}")
    base = statistics.median(wall["onnxruntime defaults (before)"])
    for label in alone:
        m = statistics.median(wall[label])
        print(f"{label:<40}{m:>9.1f}{statistics.median(cpu[label]):>13.1f}{m / base:>10.2f}x")

    print("\n   2 concurrent sessions (2 scan workers on the cores), crops/s over both")
    print(f"{'session options':<40}{'crops/s':>9}{'CPU ms/crop':>13}{'vs before':>11}")
    rates: dict[str, float] = {}
    for label, make in factories.items():
        pair = [make(), make()]

        def work(session: Any) -> None:
            for _ in range(repeat):
                for x in batches:
                    session.run(None, {name: x})

        threads = [threading.Thread(target=work, args=(s,)) for s in pair]
        w, c = timed(lambda threads=threads: ([t.start() for t in threads], [t.join() for t in threads]))
        done = 2 * repeat * crops
        rates[label] = done / (w / 1000)
        print(
            f"{label:<40}{rates[label]:>9.1f}{c / done:>13.1f}"
            f"{rates[label] / rates['onnxruntime defaults (before)']:>10.2f}x"
        )


def bench_tensor(manifest: ModelManifest, crops: list[list[Image.Image]], repeat: int) -> None:
    before: list[float] = []
    after: list[float] = []
    for _ in range(repeat):
        for images in crops:
            before.append(timed(lambda images=images: former_to_tensor(images, manifest))[1])
            after.append(timed(lambda images=images: to_tensor(images, manifest))[1])
            same = np.array_equal(former_to_tensor(images, manifest), to_tensor(images, manifest))
            assert same, "to_tensor no longer gives the former tensor bit for bit"
    b, a = statistics.median(before), statistics.median(after)
    print(
        f"\n2. crop preprocessing, CPU ms per candidate ({statistics.median(len(c) for c in crops):.0f} crops)"
    )
    print(f"{'to_tensor':<40}{'CPU ms':>9}{'vs before':>11}")
    print(f"{'former (float temporaries)':<40}{b:>9.1f}{1.0:>10.2f}x")
    print(f"{'in place (bit-identical, checked)':<40}{a:>9.1f}{a / b:>10.2f}x")


def bench_working_opens(blobs: list[bytes], repeat: int, opens: int = 4) -> None:
    limit = imaging.WORKING_MAX_SIDE * imaging.WORKING_MAX_SIDE
    before: list[float] = []
    after: list[float] = []
    for _ in range(repeat):
        for data in blobs:
            before.append(
                timed(
                    lambda data=data: [
                        imaging.decode(data, max_bytes=1 << 26, max_pixels=limit) for _ in range(opens)
                    ]
                )[1]
            )
            imaging._DECODED.clear()  # as a fresh scan: its working copy was never opened
            after.append(timed(lambda data=data: [imaging.open_working(data) for _ in range(opens)])[1])
    b, a = statistics.median(before), statistics.median(after)
    print(f"\n3. the working copy opened by {opens} steps, CPU ms per scan")
    print(f"{'opens':<40}{'CPU ms':>9}{'vs before':>11}")
    print(f"{'decoded by each step (before)':<40}{b:>9.1f}{1.0:>10.2f}x")
    print(f"{'decoded once, copies (open_working)':<40}{a:>9.1f}{a / b:>10.2f}x")


def bench_whole_vector(images: list[Image.Image], repeat: int) -> None:
    from common.embedding import client

    model = client.InProcessModelClient()
    encoder = model.encoder
    before: list[float] = []
    after: list[float] = []
    for _ in range(repeat):
        for image in images:
            rgb = image.convert("RGB")
            before.append(timed(lambda rgb=rgb: [encoder.embed_pil([rgb.copy()]) for _ in range(2)])[1])
            client._SINGLE.clear()  # as a fresh scan
            after.append(timed(lambda rgb=rgb: [model.embed_pil([rgb.copy()]) for _ in range(2)])[1])
    b, a = statistics.median(before), statistics.median(after)
    print("\n4. the whole-image vector (embed channel + cluster step), CPU ms per scan")
    print(f"{'whole image embedded':<40}{'CPU ms':>9}{'vs before':>11}")
    print(f"{'twice (before)':<40}{b:>9.1f}{1.0:>10.2f}x")
    print(f"{'once, then kept (embed_pil)':<40}{a:>9.1f}{a / b:>10.2f}x")


def bench_int8(manifest: ModelManifest, batches: list[np.ndarray]) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from common.embedding.encoder import l2_normalise

    source = str(verify_model_file(manifest))
    quantised = Path(tempfile.mkdtemp(prefix="bench-int8-")) / "int8.onnx"
    quantize_dynamic(source, str(quantised), weight_type=QuantType.QUInt8)
    pair = [
        ort.InferenceSession(str(path), ort_session_options(1), providers=["CPUExecutionProvider"])
        for path in (source, quantised)
    ]
    cpu: list[list[float]] = [[], []]
    cosines: list[float] = []
    for x in batches:
        outs = []
        for i, session in enumerate(pair):
            start = time.thread_time()
            (y,) = session.run(None, {manifest.input_name: x})
            cpu[i].append((time.thread_time() - start) * 1000 / len(x))
            outs.append(l2_normalise(np.asarray(y, np.float32).reshape(len(x), -1)))
        cosines.extend(np.sum(outs[0] * outs[1], axis=1).tolist())
    f32, i8 = statistics.median(cpu[0]), statistics.median(cpu[1])
    print("\n5. int8 (dynamic quantisation) against the float model, 1 thread")
    print(f"{'model':<40}{'CPU ms/crop':>12}{'vs float':>10}")
    print(f"{'float32 (shipped)':<40}{f32:>12.1f}{1.0:>9.2f}x")
    print(f"{'int8 dynamic':<40}{i8:>12.1f}{i8 / f32:>9.2f}x")
    print(
        f"cosine int8 vs float embedding of the same crop: worst {min(cosines):.4f}, "
        f"median {statistics.median(cosines):.4f}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--parts", default="1,2,3,4", help="which of the tables above (default: all)")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    candidates = demo_working_copies(Path(tempfile.mkdtemp(prefix="bench-embed-cost-")))
    crops = []
    for _, image, box, _ in candidates:
        rgb = image.convert("RGB")
        regions = candidate_regions(rgb.width, rgb.height, (box.x, box.y, box.w, box.h) if box else None)
        crops.append(crop_all(rgb, regions))
    batches = [to_tensor(c, manifest) for c in crops]
    print(
        f"{len(candidates)} demo candidates; {available_cores()} cores; load average {os.getloadavg()[0]:.1f}"
    )
    parts = set(args.parts.split(","))
    if "1" in parts:
        bench_sessions(manifest, batches, args.repeat)
    if "2" in parts:
        bench_tensor(manifest, crops, args.repeat)
    if "3" in parts:
        bench_working_opens([c[3] for c in candidates], args.repeat)
    if "4" in parts:
        bench_whole_vector([c[1] for c in candidates], args.repeat)
    if "5" in parts:
        bench_int8(manifest, batches)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
