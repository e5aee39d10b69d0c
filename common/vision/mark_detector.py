"""The per-brand mark detector at scan time: a brand's trained head (``common.vision.mark_training``, run at
``brand add``) over the region features of ``common.vision.mark_features``; answers a calibrated score and a box
per mark class. It runs beside SIFT (``common.vision.logo``) inside the logo_ocr channel and feeds the same
``logo`` signal, each hit saying which detector saw the mark and where (``method``).

Why beside and not instead: SIFT's verified homography is near-proof when it fires (a large, sharp, planar copy
of the file) and needs no training; the learned detector sees what SIFT cannot (marks of ~24-60 px, embossed,
foil, painted, redrawn, printed as an all-over pattern) at the price of being a statistical judgement, so its
score is a calibrated probability and its fire threshold was chosen on held-out mark-free images.

Tenant scope: a model is stored under the brand's own blob prefix (``paths.mark_detector``), records the brand it
was trained for, and is refused for any other brand.

The weights are plain arrays in an .npz (no pickle: a blob is data, never code).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from common.vision.logo import LogoHit

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.vision.mark_features import FeatureExtractor

DETECTOR_FORMAT = 1
MAX_HITS = 3  # marks reported per image (one per class, strongest first)
# A logo class fires at its calibrated threshold or at LOGO_FIRE_CAP, whichever is lower. The calibration's
# held-out synthetic negatives set some brands' thresholds far above what listings need (KAFFEO 0.93: its
# stylised and small marks at 0.86-0.90 went unseen); on labelled listings (common.calibrate_detector, tuning
# seed 14 of scripts/bench_detection.py) no legit image's best logo-class window reached 0.49 and the
# counterfeits the detector alone finds scored 0.82-0.97. Wordmark classes keep the calibrated threshold (fusion
# discounts their lone hits: common.fusion.DETECTOR_MARK).
LOGO_FIRE_CAP = 0.80


def fire_threshold(model: DetectorModel, class_name: str) -> float:
    if class_name.startswith("wordmark:"):
        return model.threshold
    return min(model.threshold, LOGO_FIRE_CAP)


class DetectorMismatch(ValueError):
    """A stored model that does not belong to the brand asking, or is not a model of this format."""


@dataclass
class DetectorModel:
    brand_id: str
    classes: list[str]  # classes[0] == "background"
    weights: np.ndarray  # (k, d) float32
    bias: np.ndarray  # (k,)
    platt: tuple[float, float] = (1.0, 0.0)  # p = sigmoid(a * z + b), z = best log-odds mark vs background
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_head(
        cls, brand_id: str, names: list[str], coef: np.ndarray, intercept: np.ndarray, fitted: list[int]
    ) -> DetectorModel:
        """Weights for every class from a scikit-learn head (binary heads give one row; classes without a
        sample get a bias that never wins)."""
        coef, intercept = np.asarray(coef, np.float64), np.asarray(intercept, np.float64)
        if coef.shape[0] == 1 and len(fitted) == 2:
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.array([0.0, float(intercept[0])])
        weights = np.zeros((len(names), coef.shape[1]), np.float32)
        bias = np.full(len(names), -50.0, np.float32)
        for row, label in enumerate(fitted):
            weights[int(label)] = coef[row]
            bias[int(label)] = intercept[row]
        return cls(brand_id, list(names), weights, bias)

    def probability(self, z: np.ndarray | float) -> np.ndarray:
        a, b = self.platt
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(a * np.asarray(z, np.float64) + b, -50, 50))))

    def calibrate(self, pos: np.ndarray, neg: np.ndarray, max_fp_rate: float, min_threshold: float) -> None:
        """Platt scaling of the image-level score on held-out images (a regularised 1-D logistic fit), then the lowest threshold >= ``min_threshold`` that keeps at most ``max_fp_rate`` of
        the held-out negatives above it."""
        from sklearn.linear_model import LogisticRegression

        z = np.concatenate([pos, neg]).astype(np.float64).reshape(-1, 1)
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
        platt = LogisticRegression(C=1.0).fit(z, y)  # regularised: separable scores must not give a step
        a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        self.platt = (float(a), float(b))
        neg_p = np.sort(self.probability(neg))[::-1]
        allowed = int(np.floor(max_fp_rate * len(neg_p)))
        above = float(neg_p[allowed]) + 1e-4 if allowed < len(neg_p) else 0.0
        self.threshold = float(min(0.99, max(min_threshold, above)))
        pos_p = self.probability(pos)
        ranks = np.concatenate([pos, neg]).argsort().argsort()
        auc = (ranks[: len(pos)].sum() - len(pos) * (len(pos) - 1) / 2) / max(1, len(pos) * len(neg))
        self.meta["calibration"] = {
            "positives": len(pos),
            "negatives": len(neg),
            "recall": round(float((pos_p >= self.threshold).mean()) if len(pos) else 0.0, 4),
            "false_positive_rate": round(float((self.probability(neg) >= self.threshold).mean()), 4),
            "auc": round(float(auc), 4),
        }

    def to_npz(self) -> bytes:
        meta = {
            "format": DETECTOR_FORMAT,
            "brand_id": self.brand_id,
            "classes": self.classes,
            "platt": list(self.platt),
            "threshold": self.threshold,
            "meta": self.meta,
        }
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_npz(cls, data: bytes, brand_id: str) -> DetectorModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            weights, bias = z["weights"].astype(np.float32), z["bias"].astype(np.float32)
        if meta.get("format") != DETECTOR_FORMAT:
            raise DetectorMismatch(f"mark detector format {meta.get('format')!r}, expected {DETECTOR_FORMAT}")
        if meta.get("brand_id") != brand_id:
            raise DetectorMismatch(
                f"mark detector trained for {meta.get('brand_id')!r}, not for {brand_id!r}"
            )
        classes = [str(c) for c in meta["classes"]]
        if weights.shape[0] != len(classes) or bias.shape != (len(classes),):
            raise DetectorMismatch("mark detector weights do not match its classes")
        a, b = (float(v) for v in meta["platt"])
        return cls(
            brand_id, classes, weights, bias, (a, b), float(meta["threshold"]), dict(meta.get("meta") or {})
        )


def score_windows(model: DetectorModel, features: np.ndarray) -> np.ndarray:
    """(n, k-1) log-odds of each mark class against background, per window."""
    logits = features @ model.weights.T + model.bias
    return np.asarray(logits[:, 1:] - logits[:, :1])


@dataclass(frozen=True)
class Detection:
    hits: list[LogoHit]
    best: dict[str, Any]  # the strongest window whatever its score (reviewers see what the detector saw)


def detect(model: DetectorModel, image: Image.Image, fx: FeatureExtractor | None = None) -> Detection:
    from common.vision.mark_features import feature_extractor

    ws = (fx or feature_extractor()).windows(image)
    if len(ws.features) == 0:
        return Detection([], {})
    z = score_windows(model, ws.features)
    hits: list[LogoHit] = []
    best: dict[str, Any] = {}
    for c in np.argsort(-z.max(axis=0)):
        i = int(np.argmax(z[:, c]))
        p = float(model.probability(z[i, c]))
        x0, y0, x1, y1 = (float(v) for v in ws.boxes[i])
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(image.width), x1), min(float(image.height), y1)
        box = (round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
        if not best:
            best = {"class": model.classes[int(c) + 1], "score": round(p, 4), "box": list(box)}
        if p >= fire_threshold(model, model.classes[int(c) + 1]) and len(hits) < MAX_HITS:
            hits.append(
                LogoHit(
                    ref_id=model.classes[int(c) + 1],
                    confidence=round(p, 4),
                    inliers=0,
                    matches=int((z[:, c] >= z[i, c] - 1.0).sum()),  # windows agreeing within 1 log-odds unit
                    box=box,
                    quad=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                    mirrored=False,
                    background="",
                    method="mark_detector",
                )
            )
    return Detection(hits, best)


def load_detector(deps: Deps, brand: Brand) -> DetectorModel | None:
    """The brand's own detector (None when its kit trained none), cached per (brand, kit version)."""
    info = brand.mark_detector
    if not info or not info.get("blob"):
        return None
    key = ("vision.mark_detector", brand.brand_id, brand.version)
    cached = deps.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    model = DetectorModel.from_npz(
        deps.blobs.read(deps.settings.references_bucket, str(info["blob"])), brand.brand_id
    )
    for old in [k for k in deps.cache if isinstance(k, tuple) and k[:2] == key[:2]]:
        deps.cache.pop(old, None)
    deps.cache[key] = model
    return model
