"""Load run: a burst of N uploads through the emulator stack; upload -> verdict latency, throughput, lost, duplicated.

    python scripts/load_run.py                 # N=1000, starts its own stack on free ports, stops it after
    python scripts/load_run.py -n 200 --json out.json

Each upload is a distinct object under ``load/…`` in the candidates bucket (the demo candidates, cycled), so each
must give exactly one scan and one verdict. Latency is measured from the moment the upload returned to the
verdict document's ``created_at`` (written by fuse on the same machine clock), so polling does not blur it.
lost = uploads with neither a verdict nor a recorded failure when the chain went quiet; duplicated = objects
with more than one scan, or listings with more than one verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import local_stack  # noqa: E402
import make_demo  # noqa: E402

BRAND = "load"
UPLOAD_THREADS = 8  # concurrent uploaders: a burst, as a sync job or many sellers would produce
QUIET_S = 120  # the run ends when no new verdict or failure appeared for this long
POLL_S = 1.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every reported figure is a real observation)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def prepare_kit(work: Path) -> tuple[Path, list[bytes]]:
    """The demo kit under brand ``load`` and the valid demo candidates as upload bodies."""
    paths = make_demo.build(work / "demo")
    kit = work / "kit"
    shutil.copytree(paths["kit"], kit)
    brand = json.loads((kit / "brand.json").read_text())
    brand["brand"] = BRAND
    (kit / "brand.json").write_text(json.dumps(brand))
    bodies = [p.read_bytes() for p in sorted(paths["candidates"].glob("*.jpg")) if "corrupt" not in p.name]
    return kit, bodies


def run(n: int, stack: Any, work: Path) -> dict[str, Any]:
    from common.bootstrap import build_deps
    from common.brands import register_brand
    from common.settings import Settings

    settings = Settings.from_env(os.environ)
    deps = build_deps(settings)
    kit, bodies = prepare_kit(work)
    register_brand(deps, kit)
    bucket = settings.candidates_bucket
    uploaded: dict[str, float] = {}  # listing id -> unix time the upload returned

    def upload(i: int) -> None:
        listing_id = f"load-{i:05d}"
        deps.blobs.write(bucket, f"{BRAND}/load/{listing_id}.jpg", bodies[i % len(bodies)], "image/jpeg",
                         metadata={"listing_id": listing_id, "seller_id": f"seller-{i % 37}"})  # fmt: skip
        uploaded[listing_id] = time.time()

    started = time.time()
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(upload, range(n)))
    upload_s = time.time() - started
    print(f"uploaded {n} objects in {upload_s:.1f}s; waiting for verdicts", flush=True)

    verdicts: dict[str, list[dict[str, Any]]] = {}
    scans: list[dict[str, Any]] = []
    last_change, seen = time.monotonic(), -1
    while True:
        verdict_rows = deps.docs.list(f"brands/{BRAND}/verdicts")
        scans = [doc for _, doc in deps.docs.list(f"brands/{BRAND}/scans")]
        finished = {s["scan_id"] for s in scans if s.get("status") in ("failed", "dead_lettered")}
        count = len(verdict_rows) + len(finished)
        if count != seen:
            seen, last_change = count, time.monotonic()
            print(f"  {len(verdict_rows)} verdicts, {len(finished)} failed", flush=True)
        if len(verdict_rows) + len(finished) >= n or time.monotonic() - last_change > QUIET_S:
            break
        time.sleep(POLL_S)
    for _, doc in verdict_rows:
        verdicts.setdefault(doc["listing_id"], []).append(doc)

    latencies, verdict_times = [], []
    for listing_id, t_upload in uploaded.items():
        docs = verdicts.get(listing_id)
        if docs:
            created = docs[0]["created_at"]
            when = created if isinstance(created, datetime) else datetime.fromisoformat(created)
            verdict_times.append(when.timestamp())
            latencies.append(when.timestamp() - t_upload)
    scans_per_object: dict[str, int] = {}
    for s in scans:
        name = (s.get("source") or {}).get("name", "")
        scans_per_object[name] = scans_per_object.get(name, 0) + 1
    failed = sorted(
        s["listing"]["listing_id"] for s in scans if s.get("status") in ("failed", "dead_lettered")
    )
    lost = sorted(set(uploaded) - set(verdicts) - set(failed))
    duplicated = sum(1 for c in scans_per_object.values() if c > 1) + sum(
        1 for v in verdicts.values() if len(v) > 1
    )
    tiers: dict[int, int] = {}
    for docs in verdicts.values():
        tiers[docs[0]["tier"]] = tiers.get(docs[0]["tier"], 0) + 1
    wall = max((max(verdict_times) if verdict_times else time.time()) - started, 1e-9)
    return {
        "uploads": n,
        "verdicts": sum(len(v) for v in verdicts.values()),
        "failed": len(failed),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "duplicated": duplicated,
        "tiers": dict(sorted(tiers.items())),
        "upload_burst_s": round(upload_s, 2),
        "first_upload_to_last_verdict_s": round(wall, 2),
        "throughput_verdicts_per_s": round(len(latencies) / wall, 2),
        "latency_s": {
            "p50": round(percentile(latencies, 50), 2) if latencies else None,
            "p95": round(percentile(latencies, 95), 2) if latencies else None,
            "p99": round(percentile(latencies, 99), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "machine": f"{os.cpu_count()} cores",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="uploads in the burst (default 1000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs directory")
    args = parser.parse_args(argv)

    # SIGTERM (a CI timeout, `kill`) must still run the finally below, or the stack's processes outlive us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="counterfeit-load-"))
    stack = local_stack.Stack(local_stack.StackConfig(home=work / "stack", fixed_ports=False))
    stack.start()
    try:
        os.environ.update(stack.client_env())
        result = run(args.n, stack, work)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {stack.logs}")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
