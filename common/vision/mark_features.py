"""Region features for the per-brand mark detector: the shipped embedding model cut at stride 16, run once per
image at two scales, pooled over windows of a few sizes.

Why this model and this cut: the shipped EfficientNet-Lite0 (common/models, the embedding channel's model, its
file checked against the manifest's sha256) already knows edges, letters and shapes; a per-brand linear head over
its mid-level features learns one mark from a few hundred synthetic composites in seconds, where training a
detector from scratch would need thousands of labelled photos and a GPU. The graph is cut after block 10 (112
channels) and block 7 (80 channels), both at stride 16: mid-level features still describe a mark ~16-30 px across
(the head's stride-32, 1280-channel map blurs it into its surroundings), and the cut skips the last stages (~35% of
the model's cost). Both maps come out of one onnxruntime session over the *whole* image (fully convolutional: the
cut has no fixed-size layer), so a window costs one mean over an integral image, not one model run per crop.
The alternatives measured (crops through the full encoder, HOG) are in docs/vision.md.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from common.embedding.manifest import DEFAULT_MANIFEST, ModelManifest, load_manifest, verify_model_file
from common.native_threads import ort_session_options

# Tensors of the shipped graph the detector reads (names from the torch export; the cut fails loudly if a new
# export renames them, and the manifest's sha256 pins the file).
FEATURE_TENSORS = ("/_blocks.10/Add_output_0", "/_blocks.7/Add_output_0")
STRIDE = 16
# Pyramid: the image's longest side at each level. 640 keeps a mark ~24 px wide in a 1024 px working copy at 15 px
# (one cell); 320 sees marks up to about half the image in a 4-cell window.
LEVELS = (640, 320)
# Windows in cells (rows, cols): squares for round/square marks, 1:2 for wordmarks and badges.
WINDOWS = ((1, 1), (2, 2), (3, 3), (4, 4), (1, 2), (2, 4))
FEATURES_VERSION = "1"


@dataclass(frozen=True)
class WindowSet:
    """Every window of every level of one image: features (n, d) and boxes (n, 4) x0, y0, x1, y1 in the pixels
    of the image that was passed in."""

    features: np.ndarray
    boxes: np.ndarray
    level: np.ndarray  # level index per window


def _cut_model(manifest: ModelManifest, tensors: tuple[str, ...] = FEATURE_TENSORS) -> bytes:
    """The shipped graph up to ``tensors`` with free input height/width (serialised, for onnxruntime)."""
    import onnx
    from onnx import shape_inference, utils

    model = shape_inference.infer_shapes(onnx.load(str(verify_model_file(manifest))))
    sub = utils.Extractor(model).extract_model([manifest.input_name], list(tensors))
    dims = sub.graph.input[0].type.tensor_type.shape.dim
    for i, name in ((0, "n"), (2, "h"), (3, "w")):
        dims[i].ClearField("dim_value")
        dims[i].dim_param = name
    for out in sub.graph.output:
        for d in out.type.tensor_type.shape.dim:
            d.ClearField("dim_value")
            d.dim_param = "?"
    del sub.graph.value_info[:]  # shapes inferred at 224 x 224 would contradict other sizes
    return bytes(sub.SerializeToString())


class FeatureExtractor:
    """One onnxruntime session of the cut graph per process (thread-safe ``maps``)."""

    def __init__(
        self,
        manifest: ModelManifest,
        threads: int | None = None,
        tensors: tuple[str, ...] = FEATURE_TENSORS,
        stride: int = STRIDE,
    ):
        import onnxruntime as ort

        self.manifest = manifest
        self.tensors, self.stride = (
            tensors,
            stride,
        )  # other cuts: alternatives scripts/bench_mark_detector.py measures
        options = ort_session_options(threads)  # the process's thread budget, no spinning
        self._session = ort.InferenceSession(
            _cut_model(manifest, tensors), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()
        self.model_sha256 = manifest.sha256

    def maps(self, image: Image.Image, side: int) -> tuple[np.ndarray, float]:
        """Feature map (h, w, d) at ``self.stride`` of the image with its longest side scaled to ``side`` (never up by more
        than 2x), and the scale applied."""
        rgb = image.convert("RGB")
        scale = min(side / max(rgb.size), 2.0)
        w, h = max(self.stride, round(rgb.width * scale)), max(self.stride, round(rgb.height * scale))
        arr = np.asarray(rgb.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32)
        m = self.manifest
        x = (arr * np.float32(m.pixel_scale) - np.asarray(m.mean, np.float32)) / np.asarray(m.std, np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        with self._lock:
            outs = self._session.run(None, {m.input_name: x})
        rows, cols = min(o.shape[2] for o in outs), min(o.shape[3] for o in outs)
        fmap = np.concatenate([o[0, :, :rows, :cols] for o in outs], axis=0).transpose(1, 2, 0)
        return np.ascontiguousarray(fmap, dtype=np.float32), w / rgb.width

    def windows(self, image: Image.Image) -> WindowSet:
        feats, boxes, levels = [], [], []
        for li, side in enumerate(LEVELS):
            fmap, scale = self.maps(image, side)
            f, b = pool_windows(fmap)
            feats.append(f)
            boxes.append(b * (self.stride / scale))
            levels.append(np.full(len(f), li, np.int16))
        return WindowSet(normalise(np.concatenate(feats)), np.concatenate(boxes), np.concatenate(levels))


def pool_windows(fmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean feature of every window in WINDOWS (integral image), boxes in cell units (x0, y0, x1, y1)."""
    rows, cols, d = fmap.shape
    integral = np.zeros((rows + 1, cols + 1, d), np.float64)
    integral[1:, 1:] = fmap.cumsum(0).cumsum(1)
    feats, boxes = [], []
    for wr, wc in WINDOWS:
        if wr > rows or wc > cols:
            continue
        s = integral[wr:, wc:] - integral[:-wr, wc:] - integral[wr:, :-wc] + integral[:-wr, :-wc]
        nr, nc = s.shape[:2]
        feats.append((s / (wr * wc)).reshape(nr * nc, d).astype(np.float32))
        ys, xs = np.mgrid[0:nr, 0:nc]
        boxes.append(np.stack([xs, ys, xs + wc, ys + wr], axis=-1).reshape(-1, 4).astype(np.float32))
    if not feats:
        return np.zeros((0, d), np.float32), np.zeros((0, 4), np.float32)
    return np.concatenate(feats), np.concatenate(boxes)


def normalise(x: np.ndarray) -> np.ndarray:
    """Signed square root then L2: window means of ReLU-like activations are heavy-tailed; the root evens them
    out so a linear head is not ruled by a few large channels (the usual power normalisation of pooled CNN
    features)."""
    x = np.sign(x) * np.sqrt(np.abs(x))
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)).astype(np.float32)


@functools.lru_cache(maxsize=2)
def feature_extractor(manifest_path: str = str(DEFAULT_MANIFEST)) -> FeatureExtractor:
    return FeatureExtractor(load_manifest(manifest_path))
