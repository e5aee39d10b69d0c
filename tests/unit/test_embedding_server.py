"""Model server routes through Flask's test client (real encoder, real file blob store), and dynamic batching."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from common.adapters.local import FileBlobStore
from common.embedding import synthetic
from common.embedding.batching import MicroBatcher
from common.embedding.encoder import OnnxEncoder
from common.embedding.manifest import load_manifest
from common.embedding.server import Limits, create_app


@pytest.fixture(scope="module")
def encoder() -> OnnxEncoder:
    return OnnxEncoder(load_manifest())


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    images = synthetic.sample_images()
    return {name: synthetic.to_jpeg(images[name]) for name in ("coffee", "chelsea", "rocket")}


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def client(encoder: OnnxEncoder, blobs: FileBlobStore) -> FlaskClient:
    limits = Limits(max_images=4, max_request_bytes=2 * 1024 * 1024, max_image_bytes=512 * 1024)
    app = create_app(encoder, blobs.read, frozenset({"counterfeit-work"}), limits)
    return app.test_client()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_health_names_the_model(client: FlaskClient, encoder: OnnxEncoder) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert (body["model"], body["version"], body["dim"]) == (
        encoder.manifest.name,
        encoder.manifest.version,
        1280,
    )


def test_embed_json_batch_equals_in_process(
    client: FlaskClient, encoder: OnnxEncoder, photos: dict[str, bytes]
) -> None:
    images = [photos["coffee"], photos["chelsea"]]
    resp = client.post("/v1/embed", json={"images": [{"b64": _b64(images[0])}, _b64(images[1])]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    got = np.asarray(body["embeddings"], np.float32)
    want, info = encoder.embed(images)
    assert (body["model"], body["version"]) == (info["model"], info["version"])
    assert got.shape == (2, body["dim"])
    assert np.allclose(got, want, atol=1e-5)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_embed_multipart_keeps_order(
    client: FlaskClient, encoder: OnnxEncoder, photos: dict[str, bytes]
) -> None:
    data = {"images": [(io.BytesIO(photos["rocket"]), "a.jpg"), (io.BytesIO(photos["coffee"]), "b.jpg")]}
    resp = client.post("/v1/embed", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    want, _ = encoder.embed([photos["rocket"], photos["coffee"]])
    assert np.allclose(np.asarray(resp.get_json()["embeddings"]), want, atol=1e-5)


def test_gs_uri_read_through_blob_store(
    client: FlaskClient, encoder: OnnxEncoder, blobs: FileBlobStore, photos: dict[str, bytes]
) -> None:
    blobs.write("counterfeit-work", "acme/scan1.png", photos["chelsea"])
    resp = client.post("/v1/embed", json={"images": [{"uri": "gs://counterfeit-work/acme/scan1.png"}]})
    assert resp.status_code == 200, resp.get_json()
    want, _ = encoder.embed([photos["chelsea"]])
    assert np.allclose(np.asarray(resp.get_json()["embeddings"]), want, atol=1e-5)

    missing = client.post("/v1/embed", json={"images": [{"uri": "gs://counterfeit-work/acme/nope.png"}]})
    assert missing.status_code == 422 and missing.get_json()["index"] == 0
    other = client.post("/v1/embed", json={"images": [{"uri": "gs://someone-elses-bucket/x.png"}]})
    assert other.status_code == 403 and "not readable" in other.get_json()["error"]
    not_gs = client.post("/v1/embed", json={"images": [{"uri": "https://example.com/x.png"}]})
    assert not_gs.status_code == 400


def test_bad_image_is_422_naming_its_index(client: FlaskClient, photos: dict[str, bytes]) -> None:
    resp = client.post("/v1/embed", json={"images": [_b64(photos["coffee"]), _b64(b"GIF89a broken")]})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["index"] == 1 and "image 1" in body["error"]


def test_limits_give_413(client: FlaskClient, photos: dict[str, bytes]) -> None:
    too_many = client.post("/v1/embed", json={"images": [_b64(photos["coffee"])] * 5})
    assert too_many.status_code == 413 and "limit is 4" in too_many.get_json()["error"]
    big = Image.effect_noise((700, 700), 100).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")  # noise PNG ~ 500+ kB > max_image_bytes
    too_big = client.post("/v1/embed", json={"images": [_b64(buf.getvalue())]})
    assert too_big.status_code == 413 and too_big.get_json()["index"] == 0
    huge_body = client.post("/v1/embed", data=b"x" * (3 * 1024 * 1024), content_type="application/json")
    assert huge_body.status_code == 413 and "error" in huge_body.get_json()


def test_malformed_requests_give_400(client: FlaskClient) -> None:
    for body in (
        {},
        {"images": "x"},
        {"images": []},
        {"images": [{"b64": "!!notbase64!!"}]},
        {"images": [7]},
    ):
        resp = client.post("/v1/embed", json=body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]
    assert client.post("/v1/embed", data="not json", content_type="text/plain").status_code == 400
    assert client.get("/v1/embed").status_code == 405


def test_micro_batcher_joins_concurrent_requests() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def run(x: np.ndarray) -> np.ndarray:
        gate.wait(5)  # hold the first batch so the others queue up behind it
        calls.append(len(x))
        return x * 2

    batcher = MicroBatcher(run, max_batch=64, max_wait_s=0.05)
    results: dict[int, np.ndarray] = {}

    def submit(i: int) -> None:
        results[i] = batcher.submit(np.full((i + 1, 2), i, np.float32))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    for i in range(6):  # every request gets exactly its own rows back
        assert np.array_equal(results[i], np.full((i + 1, 2), 2 * i, np.float32))
    assert sum(calls) == sum(i + 1 for i in range(6))
    assert len(calls) < 6  # some requests shared an inference call
    assert batcher.requests_served == 6


def test_micro_batcher_propagates_errors() -> None:
    def boom(x: np.ndarray) -> np.ndarray:
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        MicroBatcher(boom).submit(np.zeros((1, 2), np.float32))


def test_dockerfile_entry_point_serves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What the Cloud Run image runs (no Docker daemon here): gunicorn's app factory from the Dockerfile CMD,
    the manifest its ENV names, and the runtime packages its requirements install."""
    import re

    from gunicorn.util import import_app

    from common.settings import get_settings

    root = Path(__file__).resolve().parents[2]
    dockerfile = (root / "model_server" / "Dockerfile").read_text()
    target = re.search(r'"(common\.embedding\.server:[^"]+)"', dockerfile)
    manifest = re.search(r"MODEL_MANIFEST=/app/(\S+)", dockerfile)
    assert target and manifest
    assert (root / manifest.group(1)).is_file()
    requirements = (root / "model_server" / "requirements.txt").read_text().splitlines()
    names = {line.split("==")[0].lower() for line in requirements if line and not line.startswith("#")}
    assert {"onnxruntime", "numpy", "pillow", "flask", "gunicorn", "google-cloud-storage"} <= names
    assert "torch" not in names

    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path))
    monkeypatch.setenv("MODEL_MANIFEST", str(root / manifest.group(1)))
    get_settings.cache_clear()
    try:
        app = import_app(target.group(1))
        assert app.test_client().get("/healthz").get_json()["status"] == "ok"
    finally:
        get_settings.cache_clear()
