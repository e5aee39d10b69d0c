"""Parallel scans for the CLI: worker processes, each with its own deps and models, records in input order.

Why processes: a scan is CPU-bound Python + OpenCV + onnxruntime; threads would share one interpreter lock and
one set of lazily built models that were never written to be shared. Each worker builds ``local_runtime`` once
(its own SQLite connection, in-process bus, model session, OCR engine) and then scans one listing per message,
through the same ``scan.scan_one`` the in-process loop runs: there is no second detection path.

Why "spawn": the parent holds an open SQLite connection and, with a progress bar, a tqdm monitor thread; a forked
child would inherit both mid-state. Spawned workers import the package afresh (the cost is paid once per worker
and is why small batches stay in-process, ``PARALLEL_MIN_ITEMS``).

Why each worker writes the SQLite store itself: the store is in WAL mode with a 30 s busy timeout and takes
``BEGIN IMMEDIATE`` for every write and transaction (``adapters.local.SqliteDocumentStore``), so writers from
several processes queue on SQLite's own lock and readers never block. Funnelling writes to the parent would put
an IPC round trip under every read-after-write the chain makes (idempotency markers, fuse's transaction) for
writes that take well under a millisecond each.

Why one item per message instead of ``ProcessPoolExecutor``: when a worker dies (OOM kill, a segfault in native
code) the executor fails every pending future alike; here the parent knows which listing each worker held, so
that listing alone gets an error record and a fresh worker takes over the rest of the batch.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from common import native_threads
from common.messages import Listing
from common.native_threads import available_cores
from common.scan import ListingError
from common.settings import Settings

# Below this many items the batch runs in the CLI's own process unless --workers is given: a spawned worker
# pays ~2-3 s of imports and model loading on 2 cores before its first verdict, a few items' worth.
PARALLEL_MIN_ITEMS = 8
DEFAULT_TASK = "common.scan_pool:scan_task"
STOP_TIMEOUT_S = 10.0

Record = dict[str, Any]


def workers_for(requested: int | None, items: int) -> int:
    """How many worker processes a batch gets; 1 means scan in-process. An explicit ``--workers`` is obeyed
    (capped at the number of items); the default is the available cores for batches of PARALLEL_MIN_ITEMS+."""
    if requested is None:
        if items < PARALLEL_MIN_ITEMS:
            return 1
        requested = available_cores()
    return max(1, min(requested, items))


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable: it rebuilds its runtime from these in its own process."""

    settings: Settings
    brand_id: str
    evidence_dir: Path | None = None
    base_dir: Path | None = None
    task: str = DEFAULT_TASK  # "module:function" (deps, bus, config, listing) -> record; tests swap in faults


def scan_task(deps: Any, bus: Any, config: WorkerConfig, listing: Listing) -> Record:
    from common.scan import scan_one

    return scan_one(
        deps, bus, config.brand_id, listing, evidence_dir=config.evidence_dir, base_dir=config.base_dir
    )


def _resolve(dotted: str) -> Callable[..., Record]:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """A worker's life: build the runtime once, then ``(index, listing)`` in, ``(index, record)`` out, until
    ``None`` or the parent goes away. Ctrl-C is the parent's to handle (it stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    native_threads.limit_opencv()  # this worker's share of the cores (its environment, set by _Worker)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("common.chain").setLevel(logging.ERROR)  # as in cmd_scan: error records say it
    from common.authz import scoped_for_cli_brand
    from common.scan import local_runtime

    deps, bus = local_runtime(config.settings)
    deps = scoped_for_cli_brand(deps, config.brand_id)
    task = _resolve(config.task)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, listing = message
        try:
            record = task(deps, bus, config, listing)
        except Exception as exc:  # noqa: BLE001 — one item's bug must not end the worker or the batch
            traceback.print_exc(file=sys.stderr)
            record = {
                "listing_id": listing.listing_id,
                "error": f"internal error: {exc.__class__.__name__}: {exc}",
            }
        conn.send((index, record))


class _Worker:
    def __init__(self, ctx: Any, config: WorkerConfig, threads: int) -> None:
        """``threads``: the worker's share of the cores for its native pools (onnxruntime, OpenCV, BLAS), put
        in its environment before it starts: BLAS reads it when numpy loads (common.native_threads)."""
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, config), daemon=True)
        with native_threads.environment(native_threads.worker_environment(threads)):
            self.proc.start()
        child.close()
        self.held: tuple[int, Listing] | None = None

    def give(self, index: int, listing: Listing) -> None:
        self.held = (index, listing)
        self.conn.send((index, listing))

    def stop(self, *, wait: bool = True) -> None:
        """Ask the worker to finish (``wait``), or end it now (the batch was interrupted or abandoned)."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        if wait:
            self.proc.join(STOP_TIMEOUT_S)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(STOP_TIMEOUT_S)
        self.conn.close()


def scan_parallel(
    config: WorkerConfig, items: Iterable[Listing | ListingError], workers: int
) -> Iterator[Record]:
    """One record per item, in input order (a record waits for the items before it). Items are taken from
    ``items`` only when a worker is free, so a progress bar wrapped around them advances as work is handed out."""
    ctx = multiprocessing.get_context("spawn")
    threads = native_threads.per_worker(workers)
    source = iter(enumerate(items))
    finished: dict[int, Record] = {}
    pool: list[_Worker] = []
    next_out = 0
    exhausted = completed = False

    def hand_out(worker: _Worker) -> bool:
        """Give the worker the next listing (error items are recorded on the way); False when none is left."""
        nonlocal exhausted
        while not exhausted:
            try:
                index, item = next(source)
            except StopIteration:
                exhausted = True
                break
            if isinstance(item, ListingError):
                finished[index] = {"listing_id": item.listing_id, "error": item.error}
                continue
            worker.give(index, item)
            return True
        return False

    try:
        for _ in range(workers):
            worker = _Worker(ctx, config, threads)
            pool.append(worker)
            if not hand_out(worker):
                break
        while True:
            busy = [w for w in pool if w.held is not None]
            if not busy:
                break
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
            for worker in busy:
                if worker.conn not in ready and worker.proc.sentinel not in ready:
                    continue
                result = _receive(worker)
                if result is not None:
                    finished[result[0]] = result[1]
                    worker.held = None
                    hand_out(worker)
                elif not worker.proc.is_alive():
                    pool.remove(worker)
                    worker.conn.close()
                    index, listing = worker.held or (-1, None)
                    finished[index] = {
                        "listing_id": listing.listing_id if listing else "",
                        "error": f"worker process died (exit code {worker.proc.exitcode}) while scanning this item",
                    }
                    if not exhausted:
                        replacement = _Worker(ctx, config, threads)
                        pool.append(replacement)
                        hand_out(replacement)
            while next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
        while next_out in finished:  # trailing error items after the last listing handed out
            yield finished.pop(next_out)
            next_out += 1
        completed = True
    finally:  # Ctrl-C or a consumer that stopped reading: no worker finishes the item it holds
        for worker in pool:
            worker.stop(wait=completed)


def _receive(worker: _Worker) -> tuple[int, Record] | None:
    try:
        if worker.conn.poll():
            index, record = worker.conn.recv()
            return int(index), record
    except (EOFError, OSError):
        pass
    return None
