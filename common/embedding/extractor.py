"""Reference embeddings at ``brand add`` time: the whole photo plus crops, stored with the brand.

Why crops of references: a listing often shows only part of the genuine product (a close-up of the pattern,
one shoe of a pair, S11), and that part matches a crop of the reference far better than the whole photo.
Logos get the whole image only (the logo channel handles them geometrically).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from common import paths
from common.embedding.index import view_doc_id
from common.embedding.manifest import DEFAULT_MANIFEST
from common.embedding.regions import crop_all, reference_regions

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import ReferenceImage

# Six decimals keep cosines exact to ~1e-6 and halve the stored JSON (float32 reprs are ~18 characters).
STORED_DECIMALS = 6
# Bump when the crop rule (regions.REFERENCE_GRIDS / REFERENCE_CENTRE_FRACTION) changes: re-extracts every kit.
REGIONS_VERSION = "1"


def model_id(info: dict[str, str]) -> str:
    return f"{info['model']}@{info['version']}"


def embed_images(model: Any, images: Sequence[Image.Image]) -> tuple[np.ndarray, dict[str, str]]:
    """Embed decoded images in one call: in-process directly, over HTTP as compact JPEG uploads."""
    if hasattr(model, "embed_pil"):
        return model.embed_pil(images)  # type: ignore[no-any-return]
    from common.embedding.client import encode_for_upload

    return model.embed([encode_for_upload(img) for img in images])  # type: ignore[no-any-return]


def _rounded(vec: np.ndarray) -> list[float]:
    return [round(float(v), STORED_DECIMALS) for v in vec]


class EmbedExtractor:
    name = "embed"

    def __init__(self, manifest_path: Path | str = DEFAULT_MANIFEST):
        try:
            raw = json.loads(Path(manifest_path).read_text())
            self.version = f"{raw['name']}@{raw['version']}+regions{REGIONS_VERSION}"
        except (OSError, ValueError, KeyError):
            self.version = f"unavailable+regions{REGIONS_VERSION}"

    def extract(self, deps: Deps, brand_id: str, ref: ReferenceImage) -> dict[str, Any]:
        fields = reference_fields(deps.model, ref.image, ref.kind)
        views = [("whole", fields["embedding"]), *fields["embedding_crops"].items()]
        for view, vec in views:
            path = f"{paths.reference_views(brand_id)}/{view_doc_id(ref.ref_id, view)}"
            deps.docs.set(
                path,
                {"ref_id": ref.ref_id, "view": view, "model": fields["embedding_model"], "embedding": vec},
            )
        return fields


def reference_fields(model: Any, image: Image.Image, kind: str) -> dict[str, Any]:
    """``embedding`` (whole photo), ``embedding_model`` and ``embedding_crops`` (view name -> vector)."""
    image = image.convert("RGB")
    regions = reference_regions(*image.size) if kind == "reference" else []
    vectors, info = embed_images(model, [image, *crop_all(image, regions)])
    return {
        "embedding": _rounded(vectors[0]),
        "embedding_model": model_id(info),
        "embedding_crops": {r.name: _rounded(vectors[i + 1]) for i, r in enumerate(regions)},
    }
