"""Firestore vector search (find_nearest, COSINE) against the real Firestore emulator.

The reference views are written the way production writes them: EmbedExtractor through the GCP
DocumentStore adapter (which stores ``embedding`` as a Firestore Vector); the results must equal the local
numpy index over the same vectors, and the embed channel must give the same signal on both backends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.adapters.gcp import FirestoreDocumentStore
from common.adapters.local import FileBlobStore, InProcessBus
from common.bootstrap import Deps
from common.brands import Brand, ReferenceImage
from common.embedding import synthetic
from common.embedding.channel import run_embed_channel
from common.embedding.client import InProcessModelClient
from common.embedding.extractor import EmbedExtractor
from common.embedding.index import FirestoreVectorIndex, FirestoreVectorIndexes, LocalVectorIndex
from common.messages import BlobRef, Preprocessed
from common.settings import Settings

JAR = Path("/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
pytestmark = pytest.mark.skipif(
    not JAR.exists(), reason="Firestore emulator jar not installed (gcloud component)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        ["java", "-cp", str(JAR), "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Firestore emulator did not start") from None
                time.sleep(0.3)
        yield host
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def gcp_deps(emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deps:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator)
    settings = Settings(backend="gcp", home=tmp_path, project=f"emb-{uuid.uuid4().hex[:10]}")
    docs = FirestoreDocumentStore(settings)
    return Deps(
        settings=settings,
        blobs=FileBlobStore(tmp_path / "blobs"),
        docs=docs,
        publisher=InProcessBus(),
        _model=InProcessModelClient(),
        _vectors=FirestoreVectorIndexes(lambda: docs.client),  # as bootstrap.build_deps wires the GCP backend
    )


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    images = synthetic.sample_images()
    return {k: images[k] for k in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "brick")}


def _register(deps: Deps, brand_id: str, photos: dict[str, Image.Image]) -> Brand:
    extractor = EmbedExtractor()
    refs = []
    for name, img in photos.items():
        ref = ReferenceImage(f"reference:{name}.png", "reference", f"{name}.png", Path(name), name, img)
        doc = {"ref_id": ref.ref_id, "kind": "reference", "filename": ref.filename, "sha256": name}
        doc |= extractor.extract(deps, brand_id, ref)
        deps.docs.set(f"brands/{brand_id}/references/{ref.ref_id}", doc)
        refs.append(deps.docs.get(f"brands/{brand_id}/references/{ref.ref_id}"))
    return Brand(brand_id, brand_id.upper(), [], [], [], [], None, None, None, None, "v1", references=refs)


def test_find_nearest_matches_local_index(gcp_deps: Deps, photos: dict[str, Image.Image]) -> None:
    brand = _register(gcp_deps, "acme", photos)
    # stored as a real Vector, so find_nearest can search it
    raw = gcp_deps.docs.client.document("brands/acme/references/reference:coffee.png").get().to_dict()
    assert type(raw["embedding"]).__name__ == "Vector"

    model = brand.references[0]["embedding_model"]
    # per_query >= stored views: every reference's best view is returned, so the answer is exact
    fs_index = FirestoreVectorIndex(gcp_deps.docs.client, "acme", model, per_query=50)
    local = LocalVectorIndex.from_references(brand.references, model=model)
    assert len(local) == 6 * 6  # whole + centre + 2x2 tiles per reference

    rng = np.random.default_rng(0)
    edited = synthetic.reshoot(photos["coffee"], __import__("random").Random(1))
    queries, _ = InProcessModelClient().embed_pil([edited, photos["rocket"].crop((0, 0, 300, 300))])
    queries = np.vstack([queries, rng.normal(size=(1, queries.shape[1])).astype(np.float32)])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    got = fs_index.nearest(queries, k=6)
    want = local.nearest(queries, k=6)
    assert [h.ref_id for h in got] == [h.ref_id for h in want]
    for g, w in zip(got, want, strict=True):
        assert g.cosine == pytest.approx(w.cosine, abs=1e-4)  # Firestore COSINE distance = 1 - cosine
        assert (g.query, g.view) == (w.query, w.view)
    assert {h.ref_id for h in got[:2]} == {"reference:coffee.png", "reference:rocket.png"}
    # with the default per-query limit the leading references are still exact
    default = FirestoreVectorIndex(gcp_deps.docs.client, "acme", model).nearest(queries, k=2)
    assert [(h.ref_id, round(h.cosine, 4)) for h in default] == [
        (h.ref_id, round(h.cosine, 4)) for h in want[:2]
    ]


def test_removed_references_and_other_models_are_ignored(
    gcp_deps: Deps, photos: dict[str, Image.Image]
) -> None:
    brand = _register(gcp_deps, "beta", {k: photos[k] for k in ("chelsea", "brick")})
    model = brand.references[0]["embedding_model"]
    query, _ = InProcessModelClient().embed_pil([photos["chelsea"]])
    live_only = FirestoreVectorIndex(
        gcp_deps.docs.client, "beta", model, live_ref_ids={"reference:brick.png"}
    )
    assert [h.ref_id for h in live_only.nearest(query, k=5)] == ["reference:brick.png"]
    other_model = FirestoreVectorIndex(gcp_deps.docs.client, "beta", "some-other-model@2")
    assert other_model.nearest(query, k=5) == []
    # tenant isolation: another brand's collection has none of these vectors
    assert FirestoreVectorIndex(gcp_deps.docs.client, "acme-x", model).nearest(query, k=5) == []


def test_embed_channel_same_signal_on_firestore_and_local(
    gcp_deps: Deps, photos: dict[str, Image.Image]
) -> None:
    brand = _register(gcp_deps, "gamma", photos)
    others = synthetic.sample_images()  # clutter from photos that are not references of this brand
    clutter = [others[k] for k in ("hubble_deep_field", "ihc", "color", "coins")]
    scene = synthetic.clutter_scene(photos["rocket"], clutter, __import__("random").Random(3))
    pre = Preprocessed(working=BlobRef(bucket="w", name="gamma/x.png"), sha256="0" * 64, format="PNG",
                       width=scene.width, height=scene.height)  # fmt: skip
    on_firestore = run_embed_channel(gcp_deps, brand, scene, pre)["embedding"]
    local_deps = replace(
        gcp_deps, settings=replace(gcp_deps.settings, backend="local"), cache={}, _vectors=None
    )
    on_local = run_embed_channel(local_deps, brand, scene, pre)["embedding"]
    assert on_firestore.detail["index"] == "firestore"
    assert on_local.detail["index"] == "local"
    assert on_firestore.reference == on_local.reference == "reference:rocket.png"
    assert on_firestore.status == on_local.status == "fired"
    assert on_firestore.score == pytest.approx(on_local.score, abs=1e-3)
