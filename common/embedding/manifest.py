"""Model manifest: everything needed to run an ONNX image encoder the same way everywhere.

Why a manifest: the in-process encoder, the model server and the export script must agree on the input size,
resize rule, pixel normalisation and output; and a model swap (e.g. an OpenCLIP export) must be a file change,
not a code change. Loading verifies the file's sha256 so a truncated or substituted model never runs.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

# The shipped model is package data of ``common`` (pyproject's package-data), so a wheel, an editable install
# and a checkout all find it next to the code, never relative to a working directory or a repository root.
MODELS_DIR = Path(str(importlib.resources.files("common").joinpath("models")))
DEFAULT_MODEL_NAME = "efficientnet-lite0-embed"
DEFAULT_MANIFEST = MODELS_DIR / f"{DEFAULT_MODEL_NAME}.json"
MODELS_DIR_ENV = "COUNTERFEIT_MODELS_DIR"

ResizeRule = Literal["squash", "center_crop", "pad"]
RESIZE_RULES: tuple[str, ...] = ("squash", "center_crop", "pad")


class ManifestError(ValueError):
    """The manifest is malformed or the model file does not match it."""


def models_dir(settings: Any = None) -> Path:
    """Where model manifests are read: ``COUNTERFEIT_MODELS_DIR`` (settings.models_dir) or the package's."""
    override = getattr(settings, "models_dir", None)
    return Path(override) if override else MODELS_DIR


def default_manifest_path(settings: Any = None) -> Path:
    return models_dir(settings) / f"{DEFAULT_MODEL_NAME}.json"


def model_fix(path: Path) -> str:
    """The one command that puts a missing or damaged model file back, for where ``path`` lives."""
    path = Path(path).resolve()
    if path.parent != MODELS_DIR.resolve():
        return (
            f"unset {MODELS_DIR_ENV} to use the shipped model (or export one there: "
            f"python scripts/export_model.py --out-dir {path.parent})"
        )
    checkout = MODELS_DIR.resolve().parents[1]
    if (checkout / ".git").exists() and (
        checkout / "pyproject.toml"
    ).is_file():  # a checkout / editable install
        return f"git -C {checkout} checkout -- common/models"
    return "reinstall counterfeit: pip install --force-reinstall --no-deps <its checkout or wheel>"


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
        why = "is missing" if isinstance(exc, FileNotFoundError) else f"is unreadable ({exc})"
        raise ManifestError(f"model manifest {path} {why}; fix: {model_fix(path)}") from exc
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
        raise ManifestError(f"model file {path} is missing; fix: {model_fix(path)}")
    actual = sha256_file(path)
    if actual != manifest.sha256:
        raise ManifestError(
            f"model file {path} is damaged (sha256 {actual[:12]}…, manifest says {manifest.sha256[:12]}…); "
            f"fix: {model_fix(path)}"
        )
    return path
