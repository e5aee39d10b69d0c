"""How many threads the native libraries of one process may use: onnxruntime's intra-op pool, OpenCV's, BLAS's.

Why: each library sizes its pool to the machine (onnxruntime and OpenCV one thread per core, OpenBLAS too), and
onnxruntime's pool threads spin while they wait for the next operator. ``counterfeit scan --workers 2`` on 2 cores
then runs two processes that each want both cores: 4+ busy threads, each worker's spinning stealing the other's
time. So the scan pool gives each worker its share, ``cores // workers`` threads, in ``COUNTERFEIT_THREADS`` (set in
the worker's environment before it starts, with the BLAS variables, which are read when numpy loads), and every
session built in that process reads it (``ort_session_options``); the worker also caps OpenCV's pool. A process
started by anything else (the CLI's own loop, a function instance, the model server) gets the available cores.

Spinning is off for every session built here: measured (docs/speed.md) with 2 threads on the shared 2-core
machine, a batch of 15 crops took 17 % less CPU without it, and a single image half the wall time; the output
is bit-identical whatever the thread count or spinning (tests/unit/test_native_threads.py).
"""

from __future__ import annotations

import os
from typing import Any

from common.environ import overridden

ENV = "COUNTERFEIT_THREADS"
# Read by OpenBLAS / OpenMP / MKL when the library loads (i.e. when numpy or onnxruntime is imported).
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask, as ``os.process_cpu_count`` in Python 3.13)."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        return int(counter() or 1)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_budget() -> int:
    """Threads one native pool of this process may use: ``COUNTERFEIT_THREADS`` when it holds a positive
    integer, else the available cores."""
    raw = os.environ.get(ENV, "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return available_cores()


def per_worker(workers: int, cores: int | None = None) -> int:
    """Each of ``workers`` processes' share of the cores (at least 1)."""
    return max(1, (cores or available_cores()) // max(1, workers))


def worker_environment(threads: int) -> dict[str, str]:
    return {ENV: str(threads), **dict.fromkeys(BLAS_ENV, str(threads))}


# A spawned worker inherits the environment at its start: set its share around the start, restored after.
environment = overridden


def limit_opencv(threads: int | None = None) -> None:
    """Cap OpenCV's pool (SIFT, resizes, colour conversions) at the budget."""
    import cv2

    cv2.setNumThreads(threads or thread_budget())


def ort_session_options(threads: int | None = None) -> Any:
    """onnxruntime session options: intra-op threads = ``threads`` or the budget, one inter-op thread
    (sequential execution: these models are chains), no spinning, all graph optimisations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or thread_budget()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
