"""Raw cosine -> calibrated 0-1 score (logistic), and the fit that produced the numbers in the manifest.

Why logistic: fusion adds signals as probability-like scores, and a raw cosine of 0.6 means different things for
different models and crop strategies. ``score = 1 / (1 + exp(-(a * cosine + b)))`` fitted on generated
same/different pairs (common.embedding.synthetic) with classes weighted equally, so 0.5 is the point where
"same product" and "different product" are equally likely at a 50/50 prior. The fit runs in
scripts/export_model.py and is stored in the model manifest under ``calibration``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Newton iterations converge in < 15 steps on 1-D logistic regression; 50 is a safe cap.
_MAX_ITER = 50
# Tiny L2 penalty (weights sum to 1) so perfectly separated data still gives finite coefficients.
_RIDGE = 1e-6


def fit_logistic(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """(a, b) maximising the class-balanced log-likelihood of ``labels`` (1 = same) given ``scores``."""
    x = np.asarray(scores, np.float64)
    y = np.asarray(labels, np.float64)
    if x.size == 0 or y.min() == y.max():
        raise ValueError("need both same (1) and different (0) examples")
    pos = y.sum()
    w = np.where(y == 1, 0.5 / pos, 0.5 / (len(y) - pos))
    design = np.stack([x, np.ones_like(x)], axis=1)
    theta = np.zeros(2)
    for _ in range(_MAX_ITER):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        grad = design.T @ (w * (p - y)) + _RIDGE * theta
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + _RIDGE * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(theta[0]), float(theta[1])


def calibrated(cosine: float, a: float, b: float) -> float:
    z = a * cosine + b
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def cosine_at(score: float, a: float, b: float) -> float:
    """The raw cosine that calibrates to ``score`` (for explaining thresholds)."""
    return (math.log(score / (1 - score)) - b) / a


def auc(same: Sequence[float], different: Sequence[float]) -> float:
    """Probability that a random same pair scores above a random different pair (ties count half)."""
    s = np.asarray(same, np.float64)
    d = np.sort(np.asarray(different, np.float64))
    if s.size == 0 or d.size == 0:
        return float("nan")
    below = np.searchsorted(d, s, side="left")
    ties = np.searchsorted(d, s, side="right") - below
    return float((below + 0.5 * ties).sum() / (s.size * d.size))


def tpr_at_fpr(same: Sequence[float], different: Sequence[float], fpr: float = 0.01) -> float:
    """Share of same pairs above the (1 - fpr) quantile of different pairs."""
    threshold = float(np.quantile(np.asarray(different, np.float64), 1 - fpr))
    return float((np.asarray(same) > threshold).mean())
