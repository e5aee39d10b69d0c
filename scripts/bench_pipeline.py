#!/usr/bin/env python3
"""Whole-chain benchmark on the embedded default, side by side with two baselines measured on the same images in
the same loop: the JPEG-decode floor (decode only) and a PDQ-only matcher (HMA's approach: decode, PDQ of the
whole frame, lookup among the brand's reference PDQ hashes at distance <= 31). Then batch throughput with 1 and
2 worker processes (``counterfeit scan --workers N``'s pool) on the demo set.

Every demo candidate goes through ingest -> preprocess -> hash-match -> (embed, logo/OCR) -> fuse -> evidence
on the in-process bus; per-step medians come from the chain's own timing records, the split inside embed and
logo/OCR from the signals' own timings. The baselines run right before each chain run so that a shared,
loaded machine slows all three alike; wall and CPU time are both printed for the same reason.

``--before REF`` measures the in-process chain of git ref REF (a temporary worktree, same venv) and of this
checkout on the same demo images, in child processes that alternate (before, after, before, after, ... one pass
over the images each), and prints CPU time per step and per part of the detection channels side by side with
the ratio: on a machine shared with other work both sides see the same load, and CPU time is what a change saves.

Usage: python scripts/bench_pipeline.py [--repeat 3] [--workers 1,2] [--batch 3] [--before REF]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The checkout whose code is measured: this one, or the baseline worktree a --before run hands its children.
CODE = Path(os.environ.get("BENCH_PIPELINE_CODE") or ROOT)
sys.path.insert(0, str(CODE))

from PIL import Image  # noqa: E402

from common import hashing, ingest  # noqa: E402
from common.brands import register_brand  # noqa: E402
from common.messages import Listing  # noqa: E402
from common.ports import Filter  # noqa: E402
from common.scan import local_runtime, result_record  # noqa: E402
from common.scan_pool import WorkerConfig, scan_parallel  # noqa: E402
from common.settings import Settings  # noqa: E402

STEPS = ("preprocess", "hash_match", "embed", "logo_ocr", "fuse", "evidence")
HMA_PDQ_THRESHOLD = 31  # HMA's default PDQ match distance (the same as the hash channel's)
BRAND = "acme"


def load_script(name: str) -> Any:
    """Another script of scripts/ as a module (make_demo's set, bench_detection's baseline worktree)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def demo_paths(work: Path) -> list[Path]:
    return sorted(p for p in (work / "demo" / "candidates").glob("*.jpg") if not p.name.startswith("corrupt"))


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall ms, CPU ms of this process: every thread, onnxruntime's included) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


class PdqOnlyMatcher:
    """HMA's matcher: PDQ of the whole decoded frame (``hashing.exchange_pdq``, what HMA and ThreatExchange
    hash) looked up among the brand's reference PDQ hashes (their ``pdq_exchange`` field, from ``brand add``)."""

    def __init__(self, deps: Any) -> None:
        rows = [
            (doc["filename"], {"pdq": doc["pdq_exchange"]["pdq"]})
            for _, doc in deps.docs.list(f"brands/{BRAND}/references")
            if (doc.get("pdq_exchange") or {}).get("pdq")
        ]
        self.index = hashing.HashIndex(rows)
        self.references = len(rows)

    def match(self, data: bytes) -> list[hashing.Match]:
        hex_value, _quality = hashing.exchange_pdq(decode(data))
        return self.index.nearest("pdq", hex_value, k=1, within=HMA_PDQ_THRESHOLD)


def signal_split(record: dict[str, Any]) -> dict[str, float]:
    """The signals' own timings: inside embed (embedding = crops + search; copy = the rest of the step) and
    inside logo/OCR (SIFT + logo matching, OCR, barcode)."""
    signals = record.get("signals") or {}
    out: dict[str, float] = {}
    ms = ((signals.get("embedding") or {}).get("detail") or {}).get("ms")
    if ms is not None:
        out["embed: crops + embedding + search"] = float(ms)
    for part, value in (((signals.get("logo") or {}).get("detail") or {}).get("timings_ms") or {}).items():
        out[f"logo_ocr: {part}"] = float(value)
    return out


def in_process(work: Path, paths: list[Path], repeat: int) -> None:
    deps, bus = local_runtime(Settings(home=work / "home"))
    brand_add_ms, _, _ = timed(lambda: register_brand(deps, work / "demo" / "kit"))
    pdq = PdqOnlyMatcher(deps)
    # Warm-up: model and OCR engine load once per process (reported separately).
    warmup_ms, _, _ = timed(
        lambda: (
            ingest.ingest_listing(
                deps, BRAND, Listing(listing_id="warmup", image="x"), paths[0].read_bytes(), "warmup"
            ),
            bus.drain(),
        )
    )
    rows: dict[str, list[float]] = {"decode": [], "decode_cpu": [], "pdq": [], "pdq_cpu": []}
    rows |= {"chain": [], "chain_cpu": []}
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    split: dict[str, list[float]] = {}
    per_candidate: dict[str, list[float]] = {}
    outcome: dict[str, str] = {}
    pdq_hits = 0
    for r in range(repeat):
        for path in paths:
            data = path.read_bytes()
            wall, cpu, _ = timed(lambda data=data: decode(data))
            rows["decode"].append(wall)
            rows["decode_cpu"].append(cpu)
            wall, cpu, hits = timed(lambda data=data: pdq.match(data))
            rows["pdq"].append(wall)
            rows["pdq_cpu"].append(cpu)
            pdq_hits += bool(hits) and r == 0
            listing = Listing(listing_id=path.stem, image=str(path), seller_id="bench")

            def chain(listing: Listing = listing, data: bytes = data, r: int = r) -> str:
                scan_id = ingest.ingest_listing(deps, BRAND, listing, data, f"bench:{r}:{listing.listing_id}")
                bus.drain()
                return scan_id

            wall, cpu, scan_id = timed(chain)
            rows["chain"].append(wall)
            rows["chain_cpu"].append(cpu)
            per_candidate.setdefault(path.stem, []).append(wall)
            record = result_record(deps, BRAND, scan_id, path.stem)
            assert "tier" in record, record
            crops = ((record["signals"].get("embedding") or {}).get("detail") or {}).get("crops", "")
            outcome[path.stem] = f"tier {record['tier']}  score {record['score']:.4f}  {crops.split(':')[0]}"
            for name, value in signal_split(record).items():
                split.setdefault(name, []).append(value)
            for _, marker in deps.docs.query("processed_events", [Filter("scan_id", "==", scan_id)]):
                per_step.setdefault(marker["step"], []).append(float(marker["elapsed_ms"]))

    med = {k: statistics.median(v) for k, v in rows.items()}
    low = {k: min(v) for k, v in rows.items()}
    floor = med["decode"]
    print(
        f"demo candidates: {len(paths)} JPEGs (~0.3-0.9 MP), repeat {repeat}; brand add {brand_add_ms:.0f} ms; "
        f"first scan incl. model/OCR load {warmup_ms:.0f} ms"
    )
    print(f"\n{'in-process, per image':<40}{'median ms':>11}{'x decode':>10}{'CPU ms':>9}{'min ms':>9}")
    print(
        f"{'decode only (floor)':<40}{floor:>11.1f}{1.0:>10.1f}{med['decode_cpu']:>9.1f}{low['decode']:>9.1f}"
    )
    print(
        f"{'PDQ-only matcher (HMA: decode+PDQ+lookup)':<40}{med['pdq']:>11.1f}{med['pdq'] / floor:>10.1f}"
        f"{med['pdq_cpu']:>9.1f}{low['pdq']:>9.1f}   ({pdq_hits}/{len(paths)} candidates matched a reference)"
    )
    for step in [*STEPS, *sorted(set(per_step) - set(STEPS))]:  # steps added since, after the known ones
        if per_step[step]:
            m = statistics.median(per_step[step])
            print(f"{'  step ' + step:<40}{m:>11.1f}{m / floor:>10.1f}{'':>9}   (n={len(per_step[step])})")
    for name, values in sorted(split.items()):
        m = statistics.median(values)
        print(f"{'    ' + name:<40}{m:>11.1f}{m / floor:>10.1f}{'':>9}   (n={len(values)})")
    chain_med = med["chain"]
    print(
        f"{'whole chain per image':<40}{chain_med:>11.1f}{chain_med / floor:>10.1f}{med['chain_cpu']:>9.1f}"
        f"{low['chain']:>9.1f}"
    )
    goal = 150.0  # issue 17: full path <= 150 ms median in-process on 2 cores, <= 125x the decode floor
    print(
        f"ratios, whole chain: {chain_med / floor:.0f}x the decode floor (goal <= 125x; "
        f"CPU {med['chain_cpu'] / max(med['decode_cpu'], 1e-6):.0f}x, min/min {low['chain'] / low['decode']:.0f}x), "
        f"{chain_med / med['pdq']:.1f}x the PDQ-only matcher (CPU {med['chain_cpu'] / max(med['pdq_cpu'], 1e-6):.1f}x); "
        f"median {chain_med:.0f} ms vs goal {goal:.0f} ms"
    )
    print(f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")
    print("\nper candidate: median ms, min ms, verdict (embedding crops)")
    for stem, ts in sorted(per_candidate.items()):
        print(f"  {stem:<26}{statistics.median(ts):>10.1f}{min(ts):>10.1f}   {outcome[stem]}")


def ocr_split(paths: list[Path]) -> None:
    """Where OCR's time goes: the text detector over the whole image vs recognition of the boxes it found
    (rapidocr's own ``elapse_list``; the rest of the call is counted as detection). Recognition already runs
    only on the detected text regions."""
    import numpy as np

    from common.vision.ocr import DET_LIMIT_SIDE, build_rapidocr, ocr_models

    engine = build_rapidocr(ocr_models())
    det, rec, boxes = [], [], []
    for path in paths:
        bgr = np.ascontiguousarray(np.asarray(decode(path.read_bytes()))[:, :, ::-1])
        wall, _, out = timed(lambda bgr=bgr: engine(bgr, use_cls=False))
        elapsed = list(getattr(out, "elapse_list", None) or [])  # empty when the detector found no text
        rec_ms = float(elapsed[2] or 0) * 1000 if len(elapsed) > 2 else 0.0
        rec.append(rec_ms)
        det.append(wall - rec_ms)  # the detector and the engine's own pre/post-processing
        boxes.append(len(out.txts) if getattr(out, "txts", None) is not None else 0)
    d, r = statistics.median(det), statistics.median(rec)
    print(
        f"\nOCR split (rapidocr, detector at max side {DET_LIMIT_SIDE}): detection {d:.1f} ms, recognition "
        f"{r:.1f} ms median per image ({d / max(d + r, 1e-9):.0%} detection); {sum(boxes)} text boxes "
        f"recognised over {len(paths)} images, {sum(1 for b in boxes if b == 0)} images with none"
    )
    gated_split(paths, statistics.median(w + r for w, r in zip(det, rec, strict=True)))


def gated_split(paths: list[Path], whole_ms: float) -> None:
    """The same images through the channel's first OCR pass (``RapidOcrEngine.read_scoped``: the text gate of
    common.vision.ocr_gate, sessions without spinning): the coarse look, where the detector then ran, and the
    whole pass against the whole-frame figure above (same images and sessions, measured right after it)."""
    from common.vision.ocr import RapidOcrEngine

    engine = RapidOcrEngine()
    engine.load()
    total, coarse, shares, modes = [], [], [], {"frame": 0, "regions": 0}
    for path in paths:
        image = decode(path.read_bytes())
        wall, _, (_, scope) = timed(lambda image=image: engine.read_scoped(image))
        total.append(wall)
        coarse.append(scope.coarse_ms)
        shares.append(scope.share)
        modes[scope.mode] = modes.get(scope.mode, 0) + 1
    t = statistics.median(total)
    print(
        f"OCR with the text gate: {t:.1f} ms median per image ({t / max(whole_ms, 1e-9):.2f}x the whole-frame "
        f"pass above), of which the 480 px coarse look {statistics.median(coarse):.1f} ms; detector on "
        f"{modes['regions']} images' text-like regions ({statistics.fmean(shares):.0%} of the frame on average "
        f"over all images), on {modes['frame']} whole frames"
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(work: Path, paths: list[Path], workers: list[int], batch: int) -> None:
    """images/s of the worker pool on the demo set repeated ``batch`` times: overall (worker start and model
    load included, as a user's batch sees it) and after the first record (steady state)."""
    items = [Listing(listing_id=f"{path.stem}-{i}", image=str(path)) for i in range(batch) for path in paths]
    config = WorkerConfig(Settings(home=work / "home"), BRAND)
    print(
        f"\nbatch throughput ({len(items)} items = demo set x {batch}, `counterfeit scan --workers N` pool)"
    )
    print(f"{'workers':>8}{'wall s':>9}{'images/s':>10}{'after first record':>20}{'worker CPU s/image':>20}")
    for n in workers:
        start = time.perf_counter()
        cpu_before = _children_cpu_s()
        arrivals = []
        for record in scan_parallel(config, items, n):
            assert "tier" in record, record
            arrivals.append(time.perf_counter())
        wall = arrivals[-1] - start
        steady = (len(arrivals) - 1) / max(arrivals[-1] - arrivals[0], 1e-9)
        cpu = (_children_cpu_s() - cpu_before) / len(items)  # the workers are joined: their CPU is counted
        print(f"{n:>8}{wall:>9.1f}{len(items) / wall:>10.2f}{steady:>20.2f}{cpu:>20.2f}")
    print(f"goal: >= 8 images/s with 2 workers; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


# Parts of the detection channels timed in CPU by a --before run, as (label, module, attribute): a function or
# ``Class.method`` replaced by a CPU-timing wrapper in the child, where it is looked up (an attribute the
# measured checkout lacks is left out). Nested parts are an "of which" of the part above them.
CPU_PARTS = (
    ("logo_ocr: SIFT + logo matching", "common.vision.backends", "LocalVisionBackend.detect_logos"),
    ("logo_ocr: mark detector", "common.vision.channel", "detect"),
    ("logo_ocr: OCR (incl. zoom)", "common.vision.backends", "read_with_zoom"),
    ("logo_ocr: · OCR coarse look", "common.vision.ocr", "RapidOcrEngine.text_map"),
    ("logo_ocr: barcode", "common.vision.backends", "decode_codes"),
    ("embed: embedding (crops + search)", "common.embedding.channel", "run_embed_channel"),
    ("embed: copy verification", "common.copyverify", "copy_signal"),
    ("embed: · copy's own SIFT pass", "common.copyverify", "sift_features"),
    ("embed: · copy's geometry checks", "common.copyverify", "_geometry"),
    ("SIFT pass 1000 px (preprocess, hash_match or logo)", "common.vision.sift", "candidate_keypoints"),
)


def _cpu_wrapped(fn: Callable[..., Any], totals: dict[str, float], label: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + (time.process_time() - start) * 1000

    return wrapper


def install_cpu_probes(totals: dict[str, float]) -> None:
    """Every chain step and every CPU_PARTS entry of the measured code accumulates its CPU ms into ``totals``
    (the chain's own timing records are wall time)."""
    import dataclasses

    from common import chain

    for step, spec in list(chain.STEPS.items()):
        chain.STEPS[step] = dataclasses.replace(spec, fn=_cpu_wrapped(spec.fn, totals, f"step {step}"))
    for label, module_name, attr in CPU_PARTS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        if owner is not None and callable(getattr(owner, name, None)):
            setattr(owner, name, _cpu_wrapped(getattr(owner, name), totals, label))
    from common.vision import logo  # imported by name there: the same pass, counted once per call

    sift_label = "SIFT pass 1000 px (preprocess, hash_match or logo)"
    if hasattr(logo, "candidate_keypoints"):
        logo.candidate_keypoints = _cpu_wrapped(logo.candidate_keypoints, totals, sift_label)


def child_measure(work: Path, home: Path, paths: list[Path], out: Path) -> None:
    """One pass over the demo candidates with the code on ``sys.path``: per image, CPU ms of each step and
    part (``install_cpu_probes``), the chain's wall and CPU, and each verdict's tier (both sides must agree)."""
    totals: dict[str, float] = {}
    install_cpu_probes(totals)
    deps, bus = local_runtime(Settings(home=home))
    register_brand(deps, work / "demo" / "kit")
    ingest.ingest_listing(
        deps, BRAND, Listing(listing_id="warmup", image="x"), paths[0].read_bytes(), "warmup"
    )
    bus.drain()
    pdq = PdqOnlyMatcher(deps)
    rows: list[dict[str, Any]] = []
    for path in paths:
        data = path.read_bytes()
        floor = timed(lambda data=data: decode(data))
        hma = timed(lambda data=data: pdq.match(data))
        totals.clear()
        listing = Listing(listing_id=path.stem, image=str(path), seller_id="bench")
        key = f"bench:{time.time_ns()}:{path.stem}"
        wall, cpu, scan_id = timed(
            lambda listing=listing, data=data, key=key: (
                ingest.ingest_listing(deps, BRAND, listing, data, key),
                bus.drain(),
            )[0]
        )
        record = result_record(deps, BRAND, scan_id, path.stem)
        rows.append(
            {"image": path.stem, "wall": wall, "cpu": cpu, "tier": record.get("tier"), "parts": dict(totals),
             "decode": floor[0], "decode_cpu": floor[1], "pdq": hma[0], "pdq_cpu": hma[1]}
        )  # fmt: skip
    out.write_text(json.dumps(rows))


def compare(work: Path, paths: list[Path], ref: str, repeat: int) -> None:
    """Before (git ref ``ref``) and after (this checkout), alternating child processes, one pass each."""
    detection = load_script("bench_detection")
    tree = detection.git_ref_worktree(ref)
    sides = {"before": tree, "after": ROOT}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    try:
        for r in range(repeat):
            for side, code in sides.items():
                out = work / f"{side}-{r}.json"
                env = dict(os.environ, BENCH_PIPELINE_CODE=str(code), PYTHONPATH=str(code))
                subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--child", str(out), "--work", str(work),
                     "--home", str(work / f"home-{side}")],
                    env=env, check=True,
                )  # fmt: skip
                runs[side] += json.loads(out.read_text())
    finally:
        detection.remove_worktree(tree)
    print(
        f"\nbefore = {ref} ({_rev(ref)}), after = this checkout ({_rev('HEAD')}{_dirty()}); {len(paths)} demo "
        f"candidates x {repeat} passes per side, alternating processes; CPU ms per image (mean over every scan, "
        "0 where a part did not run; hash short-circuits included)"
    )
    labels = sorted({k for rows in runs.values() for row in rows for k in row["parts"]}, key=_part_order)
    print(f"{'':<46}{'before':>10}{'after':>10}{'after/before':>14}")
    for label in labels:
        b, a = (
            statistics.fmean(row["parts"].get(label, 0.0) for row in runs[s]) for s in ("before", "after")
        )
        print(f"{'  ' + label:<46}{b:>10.1f}{a:>10.1f}{a / b if b else float('nan'):>13.2f}x")
    for name, key, fn in (("whole chain, CPU ms", "cpu", statistics.fmean),
                          ("whole chain, CPU ms (median)", "cpu", statistics.median),
                          ("whole chain, wall ms (median)", "wall", statistics.median)):  # fmt: skip
        b, a = (fn(row[key] for row in runs[s]) for s in ("before", "after"))
        print(f"{name:<46}{b:>10.1f}{a:>10.1f}{a / b:>13.2f}x")
    med = statistics.median
    for name, key in (
        ("decode floor (same loop): wall / CPU ms", "decode"),
        ("PDQ-only matcher: wall / CPU", "pdq"),
    ):
        cells = [f"{med(r[key] for r in runs[s]):.1f} / {med(r[key + '_cpu'] for r in runs[s]):.1f}"
                 for s in ("before", "after")]  # fmt: skip
        print(f"{name:<46}{cells[0]:>14}{cells[1]:>14}")
    for name, num, den in (("whole chain / decode floor, wall (medians)", "wall", "decode"),
                           ("whole chain / decode floor, CPU (medians)", "cpu", "decode_cpu"),
                           ("whole chain / PDQ-only matcher, CPU", "cpu", "pdq_cpu")):  # fmt: skip
        b, a = (
            med(r[num] for r in runs[s]) / max(med(r[den] for r in runs[s]), 1e-6)
            for s in ("before", "after")
        )
        print(f"{name:<46}{b:>9.0f}x{a:>9.0f}x")
    tiers = {s: {row["image"]: row["tier"] for row in runs[s]} for s in runs}
    changed = sorted(k for k in tiers["after"] if tiers["after"][k] != tiers["before"].get(k))
    print(
        f"verdict tiers: {'identical on every image' if not changed else 'CHANGED on ' + ', '.join(changed)}"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")


def _part_order(label: str) -> tuple[int, str]:
    if label.startswith("step "):
        return (STEPS.index(label[5:]) if label[5:] in STEPS else len(STEPS), label)
    return (len(STEPS) + 1 + [p[0] for p in CPU_PARTS].index(label), label)


def _rev(ref: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def _dirty() -> str:
    status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True).stdout  # fmt: skip
    return " + uncommitted changes" if status.strip() else ""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="in-process passes over the demo candidates")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts for the throughput table ('' skips it)"
    )
    parser.add_argument(
        "--batch", type=int, default=3, help="throughput batch = the demo set this many times"
    )
    parser.add_argument(
        "--before", metavar="REF", help="CPU per step and part: git ref REF vs this checkout, in one run"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # a --before side: one pass, JSON here
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_measure(args.work, args.home, demo_paths(args.work), args.child)
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    load_script("make_demo").build(work / "demo")
    paths = demo_paths(work)
    if args.before:
        compare(work, paths, args.before, args.repeat)
        return 0
    in_process(work, paths, args.repeat)
    ocr_split(paths)
    if args.workers:
        throughput(work, paths, [int(n) for n in args.workers.split(",")], args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
