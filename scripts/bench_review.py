"""Review-page server time per decision: ``python scripts/bench_review.py [--items 40] [--dashboard-rows N]``.

Seeds a throwaway store with a backlog (tests/support/review_seed.py: images, kit reference, logo boxes), then
runs the keyboard reviewer's cycle through the app (Flask's test client, no browser, no network): the decision
POST, the next item's page it redirects to, and that page's two images. Baseline measured in the same run: the
same cycle with the compiled-template cache emptied before every request, which is what every request cost
before templates were compiled once per app (``ReviewContext.template``).

``--dashboard-rows N``: also the time to count the dashboard's figures (14 days) on the embedded store with N
queue rows and N verdicts for one brand (``tests/support/queue_scale.py`` rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.bootstrap import build_deps  # noqa: E402
from common.review.app import create_review_app  # noqa: E402
from common.settings import Settings  # noqa: E402
from tests.support.review_seed import seed_backlog  # noqa: E402

HEADERS = {"Authorization": "Bearer bench"}


def cycle(client: Any, scan: str, forget: Any) -> tuple[float, float, float]:
    """(decision POST, next item page, its two images) in ms."""
    forget()
    t0 = time.perf_counter()
    resp = client.post(f"/brands/bench/items/{scan}/decision?show=pending", data={"decision": "reject"},
                       headers=HEADERS)  # fmt: skip
    assert resp.status_code == 303, resp.status_code
    forget()
    t1 = time.perf_counter()
    assert client.get(resp.location, headers=HEADERS).status_code == 200
    t2 = time.perf_counter()
    for which in ("candidate", "reference"):
        client.get(f"{resp.location.split('?')[0]}/images/{which}", headers=HEADERS)
    t3 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000


def run(items: int, *, cached: bool) -> list[tuple[float, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        deps = build_deps(Settings(home=Path(tmp) / "home", review_tokens={"bench": ("bench",)}))
        deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        order = seed_backlog(deps, Path(tmp), "bench", items + 1)
        app = create_review_app(lambda: deps)
        state = app.extensions["review_context"].state
        client = app.test_client()
        client.get("/", headers=HEADERS)  # first request: store, CSRF key, templates

        def forget() -> None:
            if not cached:
                state.pop("templates", None)

        return [cycle(client, scan, forget) for scan in order[:items]]


def dashboard_time(n: int) -> None:
    from datetime import timedelta

    from common.review.dashboard import build_dashboard
    from common.review.queue_docs import queue_path
    from tests.support.queue_scale import generate_rows

    with tempfile.TemporaryDirectory() as tmp:
        deps = build_deps(Settings(home=Path(tmp) / "home"))
        rows = generate_rows("bench", n)

        def write(txn: Any) -> None:
            for r in rows:
                txn.set(queue_path("bench", r["listing_id"]), r)
                txn.set(
                    f"brands/bench/verdicts/{r['scan_id']}",
                    {k: r[k] for k in ("scan_id", "tier", "created_at")},
                )

        deps.docs.transaction(write)
        now = max(r["created_at"] for r in rows) + timedelta(hours=1)
        started = time.perf_counter()
        d = build_dashboard(deps.docs, ["bench"], {"bench": ["bench"]}, now, 14)
        took = time.perf_counter() - started
        print(f"dashboard, 14 days, {n} queue rows + {n} verdicts (embedded store): {took:.1f} s "
              f"({sum(map(sum, d.per_tier.values()))} verdicts in the span, {d.sellers_read} rows read for sellers)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--dashboard-rows", type=int, default=0)
    args = parser.parse_args()
    if args.dashboard_rows:
        dashboard_time(args.dashboard_rows)
    rows = {}
    for name, cached in (("baseline (compile per request)", False), ("templates compiled once", True)):
        timings = run(args.items, cached=cached)
        med = [statistics.median(t[i] for t in timings) for i in range(3)]
        rows[name] = sum(med)
        print(f"{name:32s} decision {med[0]:6.1f} ms  next item page {med[1]:6.1f} ms  "
              f"images {med[2]:5.1f} ms  cycle {sum(med):6.1f} ms (median of {len(timings)})")  # fmt: skip
    base, now = rows.values()
    print(
        f"server time per keyboard decision: {base / now:.1f}x faster ({60_000 / now:.0f} cycles/min of server time)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
