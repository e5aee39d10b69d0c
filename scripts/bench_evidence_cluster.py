#!/usr/bin/env python3
"""The evidence and cluster steps, this tree against another git ref, in one run on the same scans.

Builds the demo (brand kit + 12 candidates) and scans it on the embedded default, unless ``--home`` names a home
that already holds such scans; then times, in child processes that alternate before/after/before/after (so a
busy machine slows both alike), on copies of that home:
- the evidence bundle of every Tier-1 verdict (no screenshot: the listings have no URL), the evidence step's work;
- the cluster step (``cluster_scan``) of every verdict, once right after the whole working copy went through the
  model as the embed channel does in the chain ("after embed"), once without ("cold": the hash short-circuit
  scans, where the embed channel does not run).
CPU ms (this process's ``process_time``) are printed beside wall ms: on a shared machine CPU is the steadier one.

Usage: python scripts/bench_evidence_cluster.py [--before REF] [--home DIR] [--rounds 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BRAND = "acme"


def _script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def build_home(work: Path) -> Path:
    """The demo brand registered and its 12 candidates scanned through the in-process chain."""
    sys.path.insert(0, str(ROOT))
    from common import ingest
    from common.brands import register_brand
    from common.messages import Listing
    from common.scan import local_runtime
    from common.settings import Settings

    _script("make_demo").build(work / "demo")
    deps, bus = local_runtime(Settings(home=work / "home"))
    register_brand(deps, work / "demo" / "kit")
    for path in sorted((work / "demo" / "candidates").glob("*.jpg")):
        if path.name.startswith("corrupt"):
            continue
        listing = Listing(listing_id=path.stem, image=str(path), seller_id="bench")
        ingest.ingest_listing(deps, BRAND, listing, path.read_bytes(), f"bench:{path.stem}")
        bus.drain()
    return work / "home"


def child(tree: Path, home: Path, rounds: int) -> dict[str, Any]:
    """Runs with ``tree``'s own code (its ``common`` first on the path): the APIs used here exist in both."""
    sys.path.insert(0, str(tree))
    from common import paths
    from common.bootstrap import build_deps
    from common.clusters.membership import cluster_scan
    from common.embedding.extractor import embed_images
    from common.evidence.bundle import build_bundle_result
    from common.imaging import open_working
    from common.review.queue import verdict_from_doc
    from common.settings import Settings

    deps = build_deps(Settings(home=home))
    verdicts = [verdict_from_doc(doc) for _, doc in deps.docs.query(paths.verdicts(BRAND), [])]
    tier1 = [v for v in verdicts if v.tier == 1]
    out_dir = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    build_bundle_result(deps, tier1[0], out_dir=out_dir, record=False, screenshot=False)  # first-use costs
    cluster_scan(deps, BRAND, verdicts[0].scan_id)  # model load

    def timed(fn: Any) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

    rows: dict[str, list[tuple[float, float]]] = {
        "evidence": [],
        "cluster after embed": [],
        "cluster cold": [],
    }
    for _ in range(rounds):
        for v in tier1:
            rows["evidence"].append(
                timed(
                    lambda v=v: build_bundle_result(deps, v, out_dir=out_dir, record=False, screenshot=False)
                )
            )
        for mode in ("cluster after embed", "cluster cold"):
            for v in verdicts:
                if mode == "cluster after embed":  # what the embed channel ran on the same pixels
                    blob = deps.blobs.read(deps.settings.work_bucket, paths.working_copy(BRAND, v.scan_id))
                    embed_images(deps.model, [open_working(blob).convert("RGB")])
                rows[mode].append(timed(lambda v=v: cluster_scan(deps, BRAND, v.scan_id)))
    shutil.rmtree(out_dir, ignore_errors=True)
    return {
        name: {
            "n": len(values),
            "wall": statistics.median(w for w, _ in values),
            "cpu": statistics.median(c for _, c in values),
        }
        for name, values in rows.items()
    }


def run_child(tree: Path, home: Path, rounds: int) -> dict[str, Any]:
    copy = Path(tempfile.mkdtemp(prefix="bench-evidence-home-")) / "home"
    shutil.copytree(home, copy)  # the cluster step writes: each run starts from the same documents
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(tree), "--home", str(copy), "--rounds", str(rounds)],
            check=True,
            capture_output=True,
            text=True,
            cwd=tree,
        ).stdout
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="git ref to compare with (a temporary worktree)")
    parser.add_argument("--home", type=Path, help="a home holding the demo's scans (default: build one)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the verdicts per child")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child.resolve(), args.home, args.rounds)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-evidence-cluster-"))
    home = args.home.resolve() if args.home else build_home(work)
    detection = _script("bench_detection")
    tree = detection.git_ref_worktree(args.before) if args.before else None
    try:
        trees = [("before", tree), ("after", ROOT)] if tree else [("after", ROOT)]
        results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in trees}
        for _ in range(2):
            for label, path in trees:
                results[label].append(run_child(path, home, args.rounds))
    finally:
        if tree:
            detection.remove_worktree(tree)
        shutil.rmtree(work, ignore_errors=True)
    best = {  # the lower of the two alternations of each side: the less disturbed one
        label: {step: min((r[step] for r in runs), key=lambda s: s["cpu"]) for step in runs[0]}
        for label, runs in results.items()
    }
    print(
        f"evidence and cluster steps, median per item ({args.rounds} rounds per child, 2 children per side)"
    )
    header = f"{'':<22}{'n':>4}"
    for label in best:
        header += f"{label + ' CPU ms':>18}{label + ' wall ms':>18}"
    print(header + ("   CPU before/after" if tree else ""))
    for step in best["after"]:
        line = f"{step:<22}{best['after'][step]['n']:>4}"
        for label in best:
            line += f"{best[label][step]['cpu']:>18.1f}{best[label][step]['wall']:>18.1f}"
        if tree:
            line += f"   {best['before'][step]['cpu'] / max(best['after'][step]['cpu'], 1e-9):>10.1f}x"
        print(line)
    print(
        f"before = {args.before}" if tree else "",
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
