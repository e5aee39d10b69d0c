"""Takedown-notice timing: ``COUNTERFEIT_HOME=… python scripts/bench_notice.py --brand acme`` after a demo scan.

For every Tier-1 verdict of the brand: the plain evidence bundle (the baseline, measured in the same run) and the
whole takedown package (confirm in review, claims, notice.json, Amazon/eBay exports, DMCA text, the filled PDF,
manifest) — both without a listing-page screenshot. Writes into the store: run it on a throwaway home.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import paths
from common.bootstrap import build_deps
from common.enforcement.cases import get_case, open_case
from common.enforcement.notice import generate_notice
from common.evidence.bundle import build_bundle_result
from common.ports import Filter
from common.review.queue import record_decision, verdict_from_doc
from common.settings import get_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brand", default="acme")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    deps = build_deps(get_settings())
    verdicts = [
        verdict_from_doc(d) for _, d in deps.docs.query(paths.verdicts(args.brand), [Filter("tier", "==", 1)])
    ]
    if not verdicts:
        print("no Tier-1 verdicts stored: run `counterfeit scan` on the demo first")
        return 2
    plain: list[float] = []
    notice: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in verdicts:
            record_decision(deps.docs, args.brand, v.scan_id, action="confirm", note="bench", reviewer="bench",
                            now=deps.clock())  # fmt: skip
            if get_case(deps.docs, args.brand, v.scan_id) is None:
                open_case(deps.docs, args.brand, v.scan_id, by="bench", now=deps.clock(), marketplace=None,
                          listing_id=v.listing_id)  # fmt: skip
            for _ in range(args.repeat):
                start = time.perf_counter()
                build_bundle_result(deps, v, out_dir=Path(tmp), record=False, screenshot=False)
                plain.append(time.perf_counter() - start)
                start = time.perf_counter()
                result = generate_notice(deps, args.brand, v.scan_id, by="bench", screenshot=False)
                notice.append(time.perf_counter() - start)
    p, n = statistics.median(plain) * 1000, statistics.median(notice) * 1000
    print(f"{len(verdicts)} Tier-1 verdicts x {args.repeat}; last package: {len(result.bundle.files)} files")
    print(f"evidence bundle (baseline): median {p:.0f} ms")
    print(
        f"takedown package (bundle + notice + exports + filled PDF): median {n:.0f} ms ({n / p:.2f}x the bundle)"
    )
    print(f"vs 20 min manual preparation: {20 * 60 * 1000 / n:.0f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
