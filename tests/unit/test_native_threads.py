"""Thread limits of native libraries (common.native_threads): the budget from the environment, a scan worker's
share of the cores, and that neither the thread count nor spinning changes an embedding."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from common import native_threads
from common.embedding.encoder import OnnxEncoder
from common.embedding.manifest import load_manifest
from common.messages import Listing
from common.scan_pool import WorkerConfig, scan_parallel
from common.settings import Settings


def test_budget_is_the_environment_value_or_the_cores(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(native_threads.ENV, "3")
    assert native_threads.thread_budget() == 3
    for bad in ("0", "-2", "two", ""):
        monkeypatch.setenv(native_threads.ENV, bad)
        assert native_threads.thread_budget() == native_threads.available_cores()
    monkeypatch.delenv(native_threads.ENV)
    assert native_threads.thread_budget() == native_threads.available_cores()


def test_each_worker_gets_its_share_of_the_cores():
    assert native_threads.per_worker(1, cores=2) == 2
    assert native_threads.per_worker(2, cores=2) == 1
    assert native_threads.per_worker(3, cores=2) == 1
    assert native_threads.per_worker(2, cores=8) == 4
    assert native_threads.worker_environment(1) == {
        native_threads.ENV: "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def test_environment_is_restored(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv(native_threads.ENV, raising=False)
    with native_threads.environment(native_threads.worker_environment(1)):
        assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ[native_threads.ENV] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert native_threads.ENV not in os.environ


def test_session_options_take_the_budget_and_do_not_spin(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(native_threads.ENV, "1")
    options = native_threads.ort_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert native_threads.ort_session_options(2).intra_op_num_threads == 2


def test_embeddings_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)) for _ in range(2)]
    one, _ = OnnxEncoder(load_manifest(), threads=1).embed_pil(images)
    two, _ = OnnxEncoder(load_manifest(), threads=2).embed_pil(images)
    assert one.shape == (2, 1280)
    np.testing.assert_array_equal(one, two)


def test_two_workers_each_run_with_their_share(tmp_path):
    config = WorkerConfig(Settings(home=tmp_path), "acme", task="tests.support.thread_probe:report_threads")
    listings = [Listing(listing_id=f"probe-{i}", image="unused") for i in range(2)]
    records = list(scan_parallel(config, listings, 2))
    share = native_threads.per_worker(2)
    assert [r["listing_id"] for r in records] == ["probe-0", "probe-1"]
    for record in records:
        assert record["budget"] == share
        assert record["blas"] == dict.fromkeys(native_threads.BLAS_ENV, str(share))
        assert record["opencv"] == share
        assert record["onnx_intra_op"] == share
    assert native_threads.ENV not in os.environ  # the parent's own environment is left as it was
