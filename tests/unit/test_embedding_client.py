"""The HTTP model client against the model server running as a real process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from common.embedding import synthetic
from common.embedding.client import HttpModelClient, InProcessModelClient, ModelRequestError, ModelUnavailable

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    home = tmp_path_factory.mktemp("model-home")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env |= {"COUNTERFEIT_BACKEND": "local", "COUNTERFEIT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "common.embedding.server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"model server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def photos() -> list:
    images = synthetic.sample_images()
    return [images[n] for n in ("coffee", "chelsea", "rocket", "astronaut")]


def test_http_client_equals_in_process(endpoint: str, photos: list) -> None:
    remote = HttpModelClient(endpoint)
    local = InProcessModelClient()
    data = [synthetic.to_png(img) for img in photos]
    got, info = remote.embed(data)
    want, want_info = local.embed(data)
    assert info == want_info
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.allclose(got, want, atol=1e-5)
    # decoded crops travel as JPEG q95 at <= 2x the model input: vectors stay within 0.01 cosine
    crops = [img.crop((0, 0, img.width // 2, img.height // 2)) for img in photos]
    got_pil, _ = remote.embed_pil(crops)
    want_pil, _ = local.embed_pil(crops)
    assert np.min(np.sum(got_pil * want_pil, axis=1)) > 0.99
    assert remote.health()["model"] == info["model"]


def test_http_client_errors_are_clear(endpoint: str, photos: list) -> None:
    remote = HttpModelClient(endpoint)
    with pytest.raises(ModelRequestError) as err:
        remote.embed([synthetic.to_jpeg(photos[0]), b"\x89PNG broken"])
    assert err.value.status == 422 and err.value.index == 1
    with pytest.raises(ModelRequestError) as err:
        remote.embed([b"x"] * 65)
    assert err.value.status == 413
    with pytest.raises(ModelRequestError) as err:
        remote.embed_uris(["gs://not-our-bucket/a.png"])
    assert err.value.status == 403


def test_unreachable_endpoint_is_model_unavailable() -> None:
    dead = HttpModelClient(f"http://127.0.0.1:{_free_port()}", timeout=(0.5, 1.0))
    with pytest.raises(ModelUnavailable, match="unreachable"):
        dead.embed([b"x"])
    with pytest.raises(ModelUnavailable):
        dead.health()


def test_concurrent_requests_are_all_answered(endpoint: str, photos: list) -> None:
    """Threads hitting the server at once (dynamic batching path) each get their own vectors back."""
    from concurrent.futures import ThreadPoolExecutor

    data = [synthetic.to_png(img) for img in photos]
    want, _ = InProcessModelClient().embed(data)
    remote = HttpModelClient(endpoint)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: remote.embed([data[i % 4]])[0][0], range(16)))
    for i, vec in enumerate(results):
        assert np.allclose(vec, want[i % 4], atol=1e-5)
