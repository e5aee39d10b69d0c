#!/usr/bin/env python3
"""Which embedding crops carry the signal: read the records a detection run kept and, for every scan whose
embed channel embedded its crops, say which crop group gave the best cosine and what the best cosine would have
been without the 3x3 tiles (the largest group, 9 of 14-15 crops).

The per-crop cosines are the signal's own ``detail.per_region_cosine`` (each crop against the views of the
best reference), so "without" is read, not re-run; docs/speed.md explains why the crops stayed as they are.

Usage: python scripts/bench_detection.py --quick --keep DIR; python scripts/crop_wins.py DIR [home-after]
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path


def group(region: str) -> str:
    return region.split("_")[0] if region.startswith("tile") else region


def main(argv: list[str]) -> int:
    work = Path(argv[0])
    home = argv[1] if len(argv) > 1 else "home-after"
    labels = {
        (row := json.loads(line))["listing_id"]: row
        for line in (work / "set" / "labels.jsonl").read_text().splitlines()
    }
    wins: collections.Counter[str] = collections.Counter()
    print(
        f"{'listing':<30}{'scenario':<26}{'box':>4}{'whole':>7}{'best':>7}  {'best crop':<12}{'w/o 3x3':>8}"
    )
    for line in (work / home / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        detail = ((record.get("signals") or {}).get("embedding") or {}).get("detail") or {}
        if not str(detail.get("crops", "")).startswith("embedded"):
            continue
        regions, cosines = detail["regions"], detail["per_region_cosine"]
        without = max(c for r, c in zip(regions, cosines, strict=True) if group(r) != "tile3")
        wins[group(detail["best_region"])] += 1
        print(
            f"{record['listing_id'][:29]:<30}{labels.get(record['listing_id'], {}).get('scenario', '?'):<26}"
            f"{'yes' if 'product_box' in regions else 'no':>4}{cosines[0]:>7.3f}{max(cosines):>7.3f}  "
            f"{detail['best_region']:<12}{without:>8.3f}"
        )
    total = sum(wins.values())
    print(
        f"\nbest crop group over {total} scans that embedded crops: "
        + ", ".join(f"{k} {v}" for k, v in wins.most_common())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
