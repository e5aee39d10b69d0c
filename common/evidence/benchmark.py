"""Evidence-bundle timing: ``python -m common.evidence.benchmark --brand acme`` after a scan of the demo.

Builds a bundle for every stored Tier-1 verdict of the brand into a temporary directory (nothing recorded),
then the first one again with a listing-page screenshot of a page served on 127.0.0.1, and prints medians
next to the baseline of seed 004 (20 minutes of manual takedown preparation per item).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import http.server
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import paths
from common.bootstrap import build_deps
from common.evaluate import MINUTES_PER_ITEM
from common.evidence.bundle import build_bundle_result
from common.ports import Filter
from common.review.queue import verdict_from_doc
from common.settings import get_settings

PAGE = b"<html><body><h1>Listing page</h1><p>benchmark page served on 127.0.0.1</p></body></html>"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brand", default="acme")
    args = parser.parse_args()
    deps = build_deps(dataclasses.replace(get_settings(), fetch_allow_private=True))
    rows = deps.docs.query(paths.verdicts(args.brand), [Filter("tier", "==", 1)])
    verdicts = [verdict_from_doc(doc) for _, doc in rows]
    if not verdicts:
        print("no Tier-1 verdicts stored: run `counterfeit scan` on the demo first")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        plain = []
        for v in verdicts:
            start = time.perf_counter()
            result = build_bundle_result(deps, v, out_dir=Path(tmp) / "plain", record=False)
            plain.append(time.perf_counter() - start)
        sizes = [(Path(result.location) / "report.pdf").stat().st_size // 1024]
        Path(tmp, "site").mkdir()
        Path(tmp, "site", "item.html").write_bytes(PAGE)
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(Path(tmp, "site")))
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        scan_path = paths.scan_path(args.brand, verdicts[0].scan_id)
        scan = deps.docs.get(scan_path) or {}
        original = dict(scan.get("listing") or {})
        try:
            scan["listing"] = {**original, "url": f"http://127.0.0.1:{httpd.server_address[1]}/item.html"}
            deps.docs.set(scan_path, scan)
            shots = []
            for _ in range(3):
                start = time.perf_counter()
                build_bundle_result(deps, verdicts[0], out_dir=Path(tmp) / "shot", record=False)
                shots.append(time.perf_counter() - start)
        finally:
            scan["listing"] = original
            deps.docs.set(scan_path, scan)
            httpd.shutdown()
    manual_s = MINUTES_PER_ITEM * 60
    print(
        f"bundle without screenshot: n={len(plain)} median {statistics.median(plain) * 1000:.0f} ms "
        f"(last PDF {sizes[0]} KB)"
    )
    print(f"bundle with screenshot:    n={len(shots)} median {statistics.median(shots) * 1000:.0f} ms")
    print(
        f"baseline: {MINUTES_PER_ITEM:g} min manual preparation -> "
        f"{manual_s / statistics.median(shots):.0f}x faster with screenshot"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
