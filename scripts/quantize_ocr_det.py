#!/usr/bin/env python3
"""Build the int8 OCR text detector shipped in common/models/ (``common.vision.ocr.INT8_DET``) from the float
PP-OCRv6 small detector inside the rapidocr wheel.

Why: the text detector is most of OCR's cost (~0.82 us CPU per pixel in float32, docs/speed.md) and OCR is the
largest part of the chain. onnxruntime's static int8 quantisation (QDQ, int8 weights per output channel, uint8
activations) runs it ~4x cheaper on this machine's CPU (AVX-512 VNNI); detection quality is measured in
docs/speed.md ("OCR's text detector in int8").

How (deterministic: the same inputs give the same file):
1. the float model (checked against rapidocr's registry SHA-256) is converted from opset 11 to 13, the first
   opset with per-channel DequantizeLinear;
2. onnxruntime's pre-processing (shape inference, graph optimisation) and ``quantize_static`` with MinMax
   calibration on the detector inputs of a synthetic calibration set drawn from a seed no benchmark uses
   (``CALIBRATION_SEED``): every scenario of ``common.synthetic_listings`` at the sizes the channel feeds the
   detector (the 480 px coarse look, the whole frame, and a contrast-stretched 800 px zoom crop of the middle);
3. the file and a JSON with the SHA-256 of its source and of itself are written next to the embedding model.

Usage: python scripts/quantize_ocr_det.py [--out common/models]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from common.vision.ocr import COARSE_SIDE, DET_LIMIT_SIDE, INT8_DET, expected_sha256, ocr_models  # noqa: E402

CALIBRATION_SEED = (
    7331  # not a detection-benchmark seed (2027, 14, 5151, 6161, 71, ...): nothing here is measured
)
PER_SCENARIO = 1


def calibration_inputs() -> list[np.ndarray]:
    """Detector input tensors (1 x 3 x H x W, rapidocr's pre-processing) of the calibration images."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from common import synthetic_listings as sl
    from common.vision.ocr_zoom import CROP_MAX_SIDE, stretch_contrast

    mean, std = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
    coarse = DetPreProcess(COARSE_SIDE, "max", mean, std)
    full = DetPreProcess(DET_LIMIT_SIDE, "max", mean, std)
    out: list[np.ndarray] = []
    rng = random.Random(CALIBRATION_SEED)
    for item in sl.generate(CALIBRATION_SEED, PER_SCENARIO):
        image = item.image.convert("RGB")
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        out += [coarse(bgr), full(bgr)]
        w, h = image.size
        cw, ch = int(w * rng.uniform(0.3, 0.6)), int(h * rng.uniform(0.3, 0.6))
        x, y = rng.randrange(0, w - cw + 1), rng.randrange(0, h - ch + 1)
        zoom = min(3.0, CROP_MAX_SIDE / max(cw, ch))
        crop = image.crop((x, y, x + cw, y + ch)).resize((round(cw * zoom), round(ch * zoom)))
        zbgr = np.ascontiguousarray(np.asarray(stretch_contrast(crop))[:, :, ::-1])
        out.append(full(zbgr))
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out_dir: Path) -> Path:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = ocr_models().det
    want = expected_sha256("PP-OCRv6", "det")
    if sha256(src) != want:
        raise SystemExit(f"{src} is not rapidocr's PP-OCRv6 small detector (sha256 {want[:12]}...)")
    inputs = calibration_inputs()

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._it, None)
            return None if batch is None else {"x": batch}

    target = out_dir / INT8_DET
    with tempfile.TemporaryDirectory() as tmp:
        v13, pre = Path(tmp) / "det13.onnx", Path(tmp) / "det13-pre.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(src)), 13), str(v13))
        quant_pre_process(str(v13), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    meta = {
        "file": target.name,
        "sha256": sha256(target),
        "source": src.name,
        "source_sha256": want,
        "how": "scripts/quantize_ocr_det.py: opset 13, onnxruntime quantize_static QDQ, per-channel int8 "
        "weights, uint8 activations, MinMax calibration",
        "calibration": f"common.synthetic_listings seed {CALIBRATION_SEED}, {len(inputs)} detector inputs",
    }
    target.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "common" / "models")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    target = build(args.out)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
