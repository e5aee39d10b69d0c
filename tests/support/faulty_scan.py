"""Scan tasks for the worker pool's tests (``scan_pool.WorkerConfig.task``): the real scan, except that a listing
named ``die-*`` ends the worker process the way an OOM kill or a native crash would, ``raise-*`` raises, and
``slow-*`` takes a few seconds (an item still in a worker when the batch is abandoned)."""

from __future__ import annotations

import os
import time
from typing import Any

from common.scan_pool import scan_task


def scan_or_die(deps: Any, bus: Any, config: Any, listing: Any) -> dict[str, Any]:
    if listing.listing_id.startswith("die-"):
        os._exit(9)
    if listing.listing_id.startswith("slow-"):
        time.sleep(5)
    if listing.listing_id.startswith("raise-"):
        raise RuntimeError("injected bug")
    return scan_task(deps, bus, config, listing)
