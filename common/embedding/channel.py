"""The ``embed`` channel: does the candidate (or a region of it) look like one of the brand's reference photos?

Candidate crops (whole, product box, tile grids; common.embedding.regions) go through the model in one batch;
the vector index returns the best cosine per reference over all crops and stored reference views; the best one
is calibrated into the fusion's 0-1 ``embedding`` signal with the logistic fitted for this model (manifest
``calibration``, docs/embedding.md).

The funnel (docs/speed.md): the whole image is embedded and searched first; the other crops only when its
calibrated score is below DECISIVE_SCORE. The signal is the best over all crops, so the crops can only raise it,
and from DECISIVE_SCORE they can raise it by at most 1 - DECISIVE_SCORE: the fused score (weight 0.62) moves by
less than 0.001, which changes no tier unless the score sits that close to a boundary.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from common.embedding.calibration import calibrated
from common.embedding.client import ModelRequestError, ModelUnavailable
from common.embedding.extractor import embed_images, model_id
from common.embedding.index import (
    Hit,
    VectorIndex,
    local_index_for,
    reference_views,
)
from common.embedding.manifest import MODELS_DIR, ManifestError, load_manifest, models_dir
from common.embedding.regions import candidate_regions, crop_all
from common.messages import Signal

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.channels import Candidate

SIGNAL = "embedding"
# Calibrated score at which the signal fires: the logistic's equal-odds point (classes weighted equally in the
# fit), i.e. raw cosine ~0.62 for the shipped model (common/models/efficientnet-lite0-embed.json, cosine_at_0.5).
FIRED_SCORE = 0.5
TOP_K = 5  # references reported in detail (fusion reads only the best)
# Whole-image score from which the other crops are not embedded (cosine ~0.88 for the shipped model's logistic).
DECISIVE_SCORE = 0.999


@functools.lru_cache(maxsize=8)
def calibration_for(model: str, version: str, models_dir: str = str(MODELS_DIR)) -> dict[str, Any] | None:
    """The calibration stored in the manifest of this exact model (name and version), if we have one."""
    for path in sorted(Path(models_dir).glob("*.json")):
        try:
            manifest = load_manifest(path)
        except ManifestError:
            continue
        if manifest.name == model and manifest.version == version and "a" in manifest.calibration:
            return manifest.calibration
    return None


def _box(pre: Any) -> tuple[int, int, int, int] | None:
    box = getattr(pre, "product_box", None)
    return (box.x, box.y, box.w, box.h) if box is not None else None


def per_region_cosines(vectors: np.ndarray, ref: dict[str, Any]) -> list[float]:
    """For each candidate region, its best cosine against the views of one reference."""
    views = np.asarray([vec for _, vec in reference_views(ref)], np.float32)
    if len(views) == 0:
        return [0.0] * len(vectors)
    return [round(float(v), 4) for v in (vectors @ views.T).max(axis=1)]


def run_embed_channel(deps: Deps, brand: Brand, image: Any, pre: Any) -> dict[str, Signal]:
    started = time.perf_counter()
    if not any(r.get("embedding") for r in brand.references):
        why = "brand has no reference embeddings (run `counterfeit brand add` again with the model available)"
        return {SIGNAL: Signal.not_run(SIGNAL, why)}
    regions = candidate_regions(image.width, image.height, _box(pre))
    rgb = image.convert("RGB")
    try:
        vectors, info = embed_images(deps.model, crop_all(rgb, regions[:1]))
    except (ModelUnavailable, ModelRequestError) as exc:
        return {SIGNAL: Signal.not_run(SIGNAL, f"image model unavailable: {exc}")}
    mid = model_id(info)
    directory = models_dir(deps.settings)
    cal = calibration_for(info["model"], info["version"], str(directory))
    if cal is None:
        why = f"no calibration for model {mid} in {directory}/*.json (export it with scripts/export_model.py)"
        return {SIGNAL: Signal.not_run(SIGNAL, why)}
    refs = [r for r in brand.references if r.get("embedding_model") == mid]
    if not refs:
        why = f"reference embeddings were made with another model; re-run `counterfeit brand add` for {mid}"
        return {SIGNAL: Signal.not_run(SIGNAL, why)}

    index: VectorIndex = deps.vectors.index_for(brand, mid)
    hits = index.nearest(vectors, TOP_K)
    index_name = index.name
    if not hits and index.name != "local":  # views not in Firestore (brand added before this extractor)
        index = local_index_for(deps.cache, brand, mid)
        hits = index.nearest(vectors, TOP_K)
        index_name = f"local (fallback: {index_name} returned no vectors)"
    if not hits:
        return {SIGNAL: Signal.not_run(SIGNAL, f"no reference vectors found for {mid}")}
    whole_score = calibrated(hits[0].cosine, float(cal["a"]), float(cal["b"]))
    if whole_score >= DECISIVE_SCORE or len(regions) == 1:
        crops = (
            f"skipped: the whole image is decisive (calibrated {whole_score:.4f} >= {DECISIVE_SCORE}); "
            f"{len(regions) - 1} crop(s) not embedded"
            if len(regions) > 1
            else "none: the image is too small for crops"
        )
        signal = _signal(hits, vectors, regions[:1], refs, info, cal, index_name, started)
        signal.detail["crops"] = crops
        return {SIGNAL: signal}
    try:
        more, _ = embed_images(deps.model, crop_all(rgb, regions[1:]))
    except (ModelUnavailable, ModelRequestError) as exc:
        return {SIGNAL: Signal.not_run(SIGNAL, f"image model unavailable: {exc}")}
    vectors = np.vstack([vectors, more])
    hits = index.nearest(vectors, TOP_K) or hits
    signal = _signal(hits, vectors, regions, refs, info, cal, index_name, started)
    signal.detail["crops"] = (
        f"embedded: the whole image alone was not decisive (calibrated {whole_score:.4f})"
    )
    return {SIGNAL: signal}


def _signal(
    hits: list[Hit],
    vectors: np.ndarray,
    regions: list[Any],
    refs: list[dict[str, Any]],
    info: dict[str, str],
    cal: dict[str, Any],
    index_name: str,
    started: float,
) -> Signal:
    a, b = float(cal["a"]), float(cal["b"])
    best = hits[0]
    score = calibrated(best.cosine, a, b)
    region = regions[best.query].name
    by_id = {str(r["ref_id"]): r for r in refs}
    detail = {
        "model": info["model"],
        "version": info["version"],
        "raw_cosine": round(best.cosine, 4),
        "best_region": region,
        "best_view": best.view,
        "regions": [r.name for r in regions],
        "per_region_cosine": per_region_cosines(vectors, by_id[best.ref_id]) if best.ref_id in by_id else [],
        "top": [
            {"ref_id": h.ref_id, "cosine": round(h.cosine, 4), "score": round(calibrated(h.cosine, a, b), 4)}
            for h in hits
        ],
        "calibration": {"method": "logistic", "a": a, "b": b, "fired_at_score": FIRED_SCORE},
        "index": index_name,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    where = "the whole image" if region == "whole" else f"the {region.replace('_', ' ')} region"
    status: Literal["fired", "clear"]
    if score >= FIRED_SCORE:
        reason = (
            f"Looks like brand reference {best.ref_id}: cosine {best.cosine:.2f} in {where} "
            f"(calibrated {score:.2f} >= {FIRED_SCORE})."
        )
        status = "fired"
    else:
        reason = (
            f"No reference looks alike: closest is {best.ref_id} with cosine {best.cosine:.2f} "
            f"(calibrated {score:.2f} < {FIRED_SCORE})."
        )
        status = "clear"
    return Signal(
        name=SIGNAL, status=status, score=round(score, 4), reference=best.ref_id, reason=reason, detail=detail
    )


class EmbedChannel:
    """The ``embed`` channel: the embedding, then copy verification, which checks the embedding's best
    reference first."""

    name = "embed"

    def run(self, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]:
        from common.copyverify import copy_signal

        image = candidate.image
        signals = dict(run_embed_channel(deps, brand, image, candidate.pre))
        stored = (
            candidate.keypoints if candidate.load_keypoints is not None else None
        )  # never a pass of its own
        signals["copy"] = copy_signal(deps, brand, image, signals.get("embedding"), stored)
        return signals


CHANNEL = EmbedChannel()
