"""A scan task for the worker pool's thread test (``scan_pool.WorkerConfig.task``): instead of scanning, report
the thread limits the worker process runs with."""

from __future__ import annotations

import os
from typing import Any

from common import native_threads


def report_threads(deps: Any, bus: Any, config: Any, listing: Any) -> dict[str, Any]:
    import cv2

    from common.embedding.client import InProcessModelClient

    session = InProcessModelClient().encoder._session
    return {
        "listing_id": listing.listing_id,
        "budget": native_threads.thread_budget(),
        "blas": {key: os.environ.get(key) for key in native_threads.BLAS_ENV},
        "opencv": cv2.getNumThreads(),
        "onnx_intra_op": session.get_session_options().intra_op_num_threads,
    }
