"""The shipped ONNX model: checksum, manifest, encoder output, and same-vs-different ordering on real photos."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.embedding import synthetic
from common.embedding.calibration import auc
from common.embedding.client import InProcessModelClient, ModelUnavailable, build_model_client
from common.embedding.encoder import BadImageData, OnnxEncoder, resize_for_model, to_tensor
from common.embedding.manifest import (
    DEFAULT_MANIFEST,
    ManifestError,
    load_manifest,
    sha256_file,
    verify_model_file,
)
from common.settings import Settings


@pytest.fixture(scope="module")
def encoder() -> OnnxEncoder:
    return OnnxEncoder(load_manifest())


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return synthetic.sample_images()


def test_shipped_model_matches_manifest_checksum() -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)
    assert sha256_file(manifest.model_path) == manifest.sha256
    assert verify_model_file(manifest) == manifest.model_path
    assert manifest.model_path.stat().st_size < 20 * 1024 * 1024  # shipped in the repo
    assert manifest.output_dim <= 2048  # Firestore vector limit
    assert {"a", "b", "auc"} <= set(manifest.calibration)
    assert manifest.notes["torch_max_abs_diff"] < 1e-4  # export checked against torch


def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    manifest_copy = tmp_path / "m.json"
    shutil.copy(DEFAULT_MANIFEST, manifest_copy)
    model = load_manifest(DEFAULT_MANIFEST).model_path
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / model.name).write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="sha256"):
        OnnxEncoder(load_manifest(manifest_copy))
    (tmp_path / model.name).unlink()
    with pytest.raises(ManifestError, match="missing"):
        verify_model_file(load_manifest(manifest_copy))
    client = InProcessModelClient(manifest_copy)
    with pytest.raises(ModelUnavailable):
        client.embed([b"x"])


def test_malformed_manifest_is_refused(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_MANIFEST.read_text())
    raw["resize"] = "stretch-ish"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="resize"):
        load_manifest(bad)
    del raw["sha256"]
    bad.write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="sha256"):
        load_manifest(bad)


def test_encoder_output_is_float32_unit_rows(encoder: OnnxEncoder, photos: dict[str, Image.Image]) -> None:
    images = list(photos.values())[:5]
    vectors, info = encoder.embed_pil(images)
    assert vectors.dtype == np.float32
    assert vectors.shape == (5, encoder.manifest.output_dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert info == {"model": encoder.manifest.name, "version": encoder.manifest.version}
    # batching does not change a row; bytes and PIL paths agree for a lossless format
    single, _ = encoder.embed_pil(images[2:3])
    assert np.allclose(single[0], vectors[2], atol=1e-5)
    from_bytes, _ = encoder.embed([synthetic.to_png(images[2])])
    assert np.allclose(from_bytes[0], vectors[2], atol=1e-5)
    empty, _ = encoder.embed([])
    assert empty.shape == (0, encoder.manifest.output_dim)


def test_bad_bytes_name_their_index(encoder: OnnxEncoder, photos: dict[str, Image.Image]) -> None:
    good = synthetic.to_jpeg(photos["coffee"])
    with pytest.raises(BadImageData) as err:
        encoder.embed([good, b"not an image", good])
    assert err.value.index == 1
    with pytest.raises(BadImageData) as err:
        encoder.embed([good[: len(good) // 3]])  # truncated JPEG
    assert err.value.index == 0


@pytest.mark.parametrize("rule", ["squash", "center_crop", "pad"])
def test_resize_rules_give_model_input_size(rule: str) -> None:
    from dataclasses import replace

    manifest = replace(load_manifest(), resize=rule)
    for size in [(640, 200), (50, 400), (224, 224)]:
        assert resize_for_model(Image.new("RGB", size), manifest).size == manifest.input_size


@pytest.mark.parametrize("pixel_scale", [1.0, 1 / 255])
def test_tensor_is_the_manifest_normalisation_bit_for_bit(pixel_scale: float) -> None:
    """to_tensor's in-place arithmetic gives exactly (pixels * scale - mean) / std in float32, channels first."""
    from dataclasses import replace

    manifest = replace(load_manifest(), pixel_scale=pixel_scale, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3))
    rng = np.random.default_rng(1)
    images = [Image.fromarray(rng.integers(0, 256, (60 + 9 * i, 80, 3), dtype=np.uint8)) for i in range(3)]
    pixels = np.stack([np.asarray(resize_for_model(img, manifest)) for img in images]).astype(np.float32)
    expected = (pixels * np.float32(pixel_scale) - np.asarray(manifest.mean, np.float32)) / np.asarray(
        manifest.std, np.float32
    )
    got = to_tensor(images, manifest)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected.transpose(0, 3, 1, 2))


def test_build_model_client_selects_by_settings() -> None:
    assert isinstance(build_model_client(Settings()), InProcessModelClient)
    http = build_model_client(Settings(model_endpoint="http://127.0.0.1:9/"))
    assert type(http).__name__ == "HttpModelClient" and http.endpoint == "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def photo_vectors(encoder: OnnxEncoder, photos: dict[str, Image.Image]) -> np.ndarray:
    return encoder.embed_pil(list(photos.values()))[0]


@pytest.mark.parametrize(
    "transform", ["crop", "colour", "watermark_light", "watermark_heavy", "flip", "rotation", "reshoot"]
)
def test_same_product_edits_score_above_different_products(
    encoder: OnnxEncoder, photos: dict[str, Image.Image], photo_vectors: np.ndarray, transform: str
) -> None:
    """Whole-image cosine: an edited copy is closer to its original than to other photos (imagehash-style
    property: small edits stay close, unrelated images stay far)."""
    names = list(photos)
    refs = photo_vectors
    rng = random.Random(7)
    edits = [synthetic.edited(photos, n, transform, rng) for n in names]
    cands, _ = encoder.embed_pil(edits)
    sims = cands @ refs.T
    same = np.diag(sims)
    different = sims[~np.eye(len(names), dtype=bool)]
    assert auc(same, different) > 0.97
    assert (sims.argmax(axis=1) == np.arange(len(names))).mean() >= 0.9


def test_real_reshoot_pair_is_closer_than_other_photos(
    encoder: OnnxEncoder, photos: dict[str, Image.Image]
) -> None:
    left, right = synthetic.reshoot_pair()
    vecs, _ = encoder.embed_pil([left, right])
    others, _ = encoder.embed_pil([img for name, img in photos.items() if name != "motorcycle_left"])
    assert float(vecs[0] @ vecs[1]) > float((others @ vecs[1]).max()) + 0.1


def test_a_single_image_is_embedded_once_per_process(
    photos: dict[str, Image.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embed channel's whole image and the cluster step's fingerprint are the same pixels: one model run."""
    from common.embedding import client as client_module

    monkeypatch.setattr(client_module, "_SINGLE", type(client_module._SINGLE)())
    model = InProcessModelClient()
    runs: list[int] = []
    real = model.encoder.embed_pil
    monkeypatch.setattr(
        type(model.encoder), "embed_pil", lambda self, images: runs.append(len(images)) or real(images)
    )
    coffee, cat = photos["coffee"], photos["chelsea"]
    first, info = model.embed_pil([coffee])
    first[0, 0] = 9.0  # a caller writing into its vector
    again, info_again = model.embed_pil([coffee.copy()])
    assert runs == [1] and info_again == info
    np.testing.assert_array_equal(again, real([coffee])[0])
    model.embed_pil([cat])
    model.embed_pil([coffee, cat])  # batches are not kept
    assert runs == [1, 1, 2]
