"""Genuine close-ups in the brand kit: ``KIT/closeups/<model>/<region>/*``, measured once at ``brand add``.

Why features, not images: as for references, kit photos are processed by our own code only and what is kept
is what the checks need (SPI measured on a genuine seam, texture descriptors, stamp keypoints in mm), in
``brands/{brand}/closeups`` documents, so authentication in the cloud reads Firestore only. Re-adding a kit
skips unchanged files (same bytes, same extractor version) and drops documents of removed files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import paths
from common.authenticate import contract
from common.errors import BadInput

if TYPE_CHECKING:
    from common.bootstrap import Deps

CLOSEUP_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_CLOSEUPS = 200  # per region folder
VERSION = "closeup-1"


def closeup_files(kit_dir: Path, models: dict[str, Any]) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """((model, region, path) for every close-up, problems found); models must be declared in brand.json."""
    root = Path(kit_dir) / "closeups"
    files: list[tuple[str, str, Path]] = []
    problems: list[str] = []
    if not root.is_dir():
        return files, problems
    for model_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not model_dir.is_dir():
            problems.append(f"{model_dir}: expected closeups/<model>/<region>/ folders")
            continue
        if model_dir.name not in models:
            problems.append(
                f'{model_dir}: model {model_dir.name!r} is not declared under "models" in brand.json'
            )
            continue
        for region_dir in sorted(p for p in model_dir.iterdir() if not p.name.startswith(".")):
            if not region_dir.is_dir() or not re.fullmatch(contract.REGION_PATTERN, region_dir.name):
                problems.append(f"{region_dir}: region folders are lower-case names (seam, stamp, lining, …)")
                continue
            entries = sorted(p for p in region_dir.iterdir() if p.is_file() and not p.name.startswith("."))
            if len(entries) > MAX_CLOSEUPS:
                problems.append(f"{region_dir}: {len(entries)} files, at most {MAX_CLOSEUPS} allowed")
                continue
            for path in entries:
                if path.suffix.lower() not in CLOSEUP_SUFFIXES:
                    problems.append(f"{path}: unsupported file type")
                else:
                    files.append((model_dir.name, region_dir.name, path))
    return files, problems


def closeup_features(
    name: str, data: bytes, region: str, *, max_bytes: int, max_pixels: int
) -> dict[str, Any]:
    """What the region's check needs from one close-up; raises BadInput with the retake reason."""
    from common.authenticate import quality, seam, stamp, texture

    check = contract.region_check(region)
    cap = quality.assess(name, data, max_bytes=max_bytes, max_pixels=max_pixels,
                         max_blur_mm=quality.max_blur_for(check))  # fmt: skip
    if not cap.usable or cap.rectified is None or cap.detection is None:
        raise BadInput(f"{name}: retake: {'; '.join(cap.retake)}")
    doc: dict[str, Any] = {"check": check, "quality": cap.metrics}
    try:
        if check == "spi":
            doc["spi"] = seam.measure_capture(cap).to_dict()
        elif check == "stamp":
            doc["stamp"] = stamp.features(cap.rectified).to_doc()
        else:
            doc["texture"] = texture.describe(cap.rectified)
    except (seam.SeamNotFound, ValueError) as exc:
        raise BadInput(f"{name}: {exc}") from None
    return doc


def register_closeups(
    deps: Deps,
    brand_id: str,
    kit_dir: Path,
    models: dict[str, Any],
    read: Callable[[Path], bytes] | None = None,
) -> dict[str, list[str]]:
    """Measure new or changed close-ups, drop removed ones; BadInput lists every problem (nothing stored).
    ``read``: how a kit file is read (``brands.read_kit_file``: inside the kit, size-bounded)."""
    files, problems = closeup_files(kit_dir, models)
    collection = paths.closeups(brand_id)
    existing = {path.rsplit("/", 1)[1]: doc for path, doc in deps.docs.list(collection)}
    docs: dict[str, dict[str, Any]] = {}
    unchanged: list[str] = []
    for model, region, path in files:
        doc_id = f"{model}:{region}:{path.name}"
        try:
            data = read(path) if read is not None else path.read_bytes()
        except BadInput as exc:
            problems.append(str(exc))
            continue
        sha = hashlib.sha256(data).hexdigest()
        old = existing.get(doc_id)
        if old and old.get("sha256") == sha and old.get("version") == VERSION:
            unchanged.append(doc_id)
            continue
        try:
            features = closeup_features(str(path), data, region, max_bytes=deps.settings.max_image_bytes,
                                        max_pixels=deps.settings.max_image_pixels)  # fmt: skip
        except BadInput as exc:
            problems.append(str(exc))
            continue
        docs[doc_id] = {"model": model, "region": region, "filename": path.name, "sha256": sha,
                        "version": VERSION} | features  # fmt: skip
    if problems:
        raise BadInput("invalid brand kit:\n  " + "\n  ".join(problems))
    for doc_id, doc in docs.items():
        deps.docs.set(f"{collection}/{doc_id}", doc)
    current = {f"{m}:{r}:{p.name}" for m, r, p in files}
    removed = sorted(set(existing) - current)
    for doc_id in removed:
        deps.docs.delete(f"{collection}/{doc_id}")
    return {"added_or_updated": sorted(docs), "unchanged": unchanged, "removed": removed}


def genuine_closeups(deps: Deps, brand_id: str, model: str) -> dict[str, list[dict[str, Any]]]:
    """region -> that model's close-up documents."""
    out: dict[str, list[dict[str, Any]]] = {}
    for _, doc in deps.docs.list(paths.closeups(brand_id)):
        if doc.get("model") == model:
            out.setdefault(str(doc.get("region")), []).append(doc)
    return out
