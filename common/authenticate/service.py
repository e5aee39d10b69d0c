"""One authentication: photos of named regions of one item -> per-region findings -> an overall result.

The caller hands in ``deps`` already scoped to its principal (CLI: ``COUNTERFEIT_BRANDS``; HTTP: the signed
marketplace's brands), so another tenant's kit is unreadable here. Nothing is stored: the report goes back to
the caller (and into a PDF on request).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.authenticate import contract, judge, kit, quality, seam, stamp, texture
from common.authenticate.judge import Finding
from common.errors import BadInput

if TYPE_CHECKING:
    from common.bootstrap import Deps

MAX_PHOTOS = 12
DISCLAIMER = ("An aid for a human authenticator, who decides: the checks measure stitch density, texture and "
              "stamp geometry against this kit's genuine close-ups only.")  # fmt: skip


@dataclass(frozen=True)
class Photo:
    region: str
    name: str
    data: bytes


def _spi_finding(cap: quality.Capture, spec: dict[str, Any], genuine: list[dict[str, Any]]) -> Finding:
    assert cap.rectified is not None and cap.detection is not None
    try:
        m = seam.measure_capture(cap)
    except seam.SeamNotFound as exc:
        return Finding("inconclusive", f"retake: {exc}")
    measured_genuine = [float(d["spi"]["spi"]) for d in genuine if "spi" in d]
    authentic_spi = spec.get("spi") or (statistics.median(measured_genuine) if measured_genuine else None)
    if authentic_spi is None:
        return Finding("inconclusive", "the kit records no genuine SPI for this model (models.<model>.spi or "
                       "closeups/<model>/seam/)", {"spi": round(m.spi, 3), "uncertainty": round(m.uncertainty, 3)})  # fmt: skip
    finding = judge.judge_spi(m.spi, m.uncertainty, float(authentic_spi), spec.get("spi_tolerance"))
    finding.measured |= {k: v for k, v in m.to_dict().items() if k not in ("spi", "uncertainty")}
    if measured_genuine:
        finding.genuine["measured_closeups"] = [round(v, 2) for v in measured_genuine]
    return finding


def _distance_finding(cap: quality.Capture, check: str, genuine: list[dict[str, Any]]) -> Finding:
    assert cap.rectified is not None
    if check == "stamp":
        refs = [stamp.StampFeatures.from_doc(d["stamp"]) for d in genuine if "stamp" in d]
        cand = stamp.features(cap.rectified)
        pairwise = [[stamp.geometry_distance(a, b)[0] for b in refs] for a in refs]
        d = min((stamp.geometry_distance(cand, r)[0] for r in refs), default=float("inf"))
        return judge.judge_distance(
            "stamp geometry (rigid-fit residual)", "mm", d, judge.leave_one_out(pairwise)
        )
    vectors = [list(doc["texture"]) for doc in genuine if "texture" in doc]
    try:
        cand_vec = texture.describe(cap.rectified)
    except ValueError as exc:
        return Finding("inconclusive", f"retake: {exc}")
    pairwise = [[texture.distance(a, b) for b in vectors] for a in vectors]
    d = min((texture.distance(cand_vec, v) for v in vectors), default=float("inf"))
    return judge.judge_distance(
        "texture (LBP + Gabor at physical scale)", "", d, judge.leave_one_out(pairwise)
    )


def authenticate(deps: Deps, brand_id: str, model: str, photos: list[Photo]) -> dict[str, Any]:
    """The report (JSON-ready dict). BadInput for an unknown model, no photos or too many."""
    from common.brands import get_brand

    brand = get_brand(deps, brand_id)
    if model not in brand.models:
        known = ", ".join(sorted(brand.models)) or 'none (add "models" to brand.json)'
        raise BadInput(f"unknown model {model[:100]!r} for brand {brand_id}: known models: {known}")
    if not photos or len(photos) > MAX_PHOTOS:
        raise BadInput(f"send 1-{MAX_PHOTOS} photos, got {len(photos)}")
    spec = brand.models[model]
    genuine = kit.genuine_closeups(deps, brand_id, model)
    regions: dict[str, dict[str, Any]] = {}
    for photo in photos:
        check = contract.region_check(photo.region)
        cap = quality.assess(photo.name, photo.data, max_bytes=deps.settings.max_image_bytes,
                             max_pixels=deps.settings.max_image_pixels, max_blur_mm=quality.max_blur_for(check))  # fmt: skip
        if not cap.usable:
            finding = Finding("inconclusive", "retake: " + "; ".join(cap.retake))
        elif check == "spi":
            finding = _spi_finding(cap, spec, genuine.get(photo.region, []))
        else:
            finding = _distance_finding(cap, check, genuine.get(photo.region, []))
        entry = regions.setdefault(photo.region, {"region": photo.region, "check": check, "photos": []})
        entry["photos"].append(
            {"photo": photo.name, "quality": cap.metrics, "retake": cap.retake} | finding.to_dict()
        )
    for entry in regions.values():
        entry["status"] = judge.weakest([p["status"] for p in entry["photos"]])
    required = list(spec.get("required_regions") or [])
    missing = [r for r in required if r not in regions]
    statuses: list[judge.Status] = [e["status"] for e in regions.values()]
    statuses += ["inconclusive"] * len(missing)
    overall = judge.weakest(statuses)
    return {
        "brand": brand_id,
        "brand_name": brand.display_name,
        "model": model,
        "result": overall,
        "regions": list(regions.values()),
        "missing_required_regions": missing,
        "reasons": _reasons(regions, missing),
        "note": DISCLAIMER,
    }


def _reasons(regions: dict[str, dict[str, Any]], missing: list[str]) -> list[str]:
    out = [f"{r}: {p['status']}: {p['reason']}" for r, e in regions.items() for p in e["photos"]]
    out += [f"{r}: required region not photographed" for r in missing]
    return out
