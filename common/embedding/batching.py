"""Dynamic batching: concurrent requests share one onnxruntime call.

Why: on CPU a batch of 16 costs far less than 16 batches of 1 (scripts/bench_embed.py prints the ratio), and
the model server receives many small requests from parallel function instances. Request threads decode and
resize their own images (parallel), then hand a ready tensor to the one inference thread, which waits at most
``max_wait_s`` for company before running.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

# 5 ms of waiting is small next to one inference (6-35 ms/image on 2 cores) plus a network round-trip, and
# enough for requests arriving together to meet (scripts/bench_embed.py prints the concurrent-request figures).
DEFAULT_MAX_WAIT_S = 0.005
DEFAULT_MAX_BATCH = 32


class MicroBatcher:
    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        max_batch: int = DEFAULT_MAX_BATCH,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ):
        self._run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[tuple[np.ndarray, Future[np.ndarray]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches_run = 0  # observability: how many inference calls served how many requests
        self.requests_served = 0

    def _ensure_thread(self) -> None:
        # started lazily so a forked server worker (gunicorn) owns its own thread
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="embed-batcher", daemon=True)
                self._thread.start()

    def submit(self, x: np.ndarray) -> np.ndarray:
        """Embed a preprocessed batch; blocks until its rows come back."""
        if len(x) == 0:
            return self._run(x)
        self._ensure_thread()
        fut: Future[np.ndarray] = Future()
        self._queue.put((x, fut))
        return fut.result()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            pending = [first]
            rows = len(first[0])
            deadline = time.monotonic() + self.max_wait_s
            while rows < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                pending.append(item)
                rows += len(item[0])
            self._execute(pending)

    def _execute(self, pending: list[tuple[np.ndarray, Future[np.ndarray]]]) -> None:
        try:
            out = self._run(np.concatenate([x for x, _ in pending]))
        except Exception as exc:  # every waiting request gets the error instead of hanging
            for _, fut in pending:
                fut.set_exception(exc)
            return
        self.batches_run += 1
        self.requests_served += len(pending)
        start = 0
        for x, fut in pending:
            fut.set_result(out[start : start + len(x)])
            start += len(x)
