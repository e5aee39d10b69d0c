"""Model manifest: everything needed to run an ONNX image encoder the same way everywhere.

Why a manifest: the in-process encoder, the model server and the export script must agree on the input size,
resize rule, pixel normalisation and output; and a model swap (e.g. an OpenCLIP export) must be a file change,
not a code change. Loading verifies the file's sha256 so a truncated or substituted model never runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MANIFEST = MODELS_DIR / "efficientnet-lite0-embed.json"

ResizeRule = Literal["squash", "center_crop", "pad"]
RESIZE_RULES: tuple[str, ...] = ("squash", "center_crop", "pad")


class ManifestError(ValueError):
    """The manifest is malformed or the model file does not match it."""


@dataclass(frozen=True)
class ModelManifest:
    name: str
    version: str
    file: str  # relative to the manifest's directory
    sha256: str
    input_size: tuple[int, int]  # (width, height)
    resize: ResizeRule  # squash: stretch to input_size; center_crop: shorter side then crop; pad: letterbox
    pixel_scale: float  # uint8 pixel * pixel_scale, then (x - mean) / std per channel (RGB)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_dim: int
    pooling: str
    input_name: str = "image"
    output_name: str = "embedding"
    pad_value: tuple[int, int, int] = (255, 255, 255)
    calibration: dict[str, Any] = field(default_factory=dict)  # see common.embedding.calibration
    notes: dict[str, Any] = field(default_factory=dict)  # provenance, licence, export checks
    path: Path | None = None  # where the manifest was read from (not serialised)

    @property
    def model_path(self) -> Path:
        base = self.path.parent if self.path else MODELS_DIR
        return base / self.file

    @property
    def id(self) -> dict[str, str]:
        return {"model": self.name, "version": self.version}

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("path")
        return json.dumps(data, indent=2, sort_keys=False) + "\n"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(path: Path | str = DEFAULT_MANIFEST) -> ModelManifest:
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read model manifest {path}: {exc}") from exc
    try:
        manifest = ModelManifest(
            name=str(raw["name"]),
            version=str(raw["version"]),
            file=str(raw["file"]),
            sha256=str(raw["sha256"]).lower(),
            input_size=(int(raw["input_size"][0]), int(raw["input_size"][1])),
            resize=raw["resize"],
            pixel_scale=float(raw["pixel_scale"]),
            mean=tuple(float(v) for v in raw["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in raw["std"]),  # type: ignore[arg-type]
            output_dim=int(raw["output_dim"]),
            pooling=str(raw["pooling"]),
            input_name=str(raw.get("input_name", "image")),
            output_name=str(raw.get("output_name", "embedding")),
            pad_value=tuple(int(v) for v in raw.get("pad_value", (255, 255, 255))),  # type: ignore[arg-type]
            calibration=dict(raw.get("calibration", {})),
            notes=dict(raw.get("notes", {})),
            path=path,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ManifestError(f"model manifest {path} is missing or has a bad field: {exc!r}") from exc
    if manifest.resize not in RESIZE_RULES:
        raise ManifestError(f"resize must be one of {RESIZE_RULES}, not {manifest.resize!r}")
    if len(manifest.mean) != 3 or len(manifest.std) != 3 or any(s == 0 for s in manifest.std):
        raise ManifestError("mean and std need three values each and std must be non-zero")
    return manifest


def verify_model_file(manifest: ModelManifest) -> Path:
    """The model file's path after checking it exists and matches the manifest's sha256."""
    path = manifest.model_path
    if not path.is_file():
        raise ManifestError(f"model file {path} is missing (run scripts/export_model.py to build it)")
    actual = sha256_file(path)
    if actual != manifest.sha256:
        raise ManifestError(f"model file {path} has sha256 {actual}, manifest says {manifest.sha256}")
    return path
