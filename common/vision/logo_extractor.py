"""Reference side of logo detection: SIFT features of each kit logo, computed at `brand add` and stored in the
references bucket; the candidate side loads them once per (brand, version) and keeps them in deps.cache.

Reference images are processed here, in our own code only; they are never handed to the vision backend (which
may be Cloud Vision).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common import paths
from common.ports import NotFound
from common.vision.logo import LogoFeatures, extract_logo_features, features_from_npz, features_to_npz

if TYPE_CHECKING:
    from common.bootstrap import Deps
    from common.brand_model import Brand, ReferenceImage

LOGO_FEATURES_VERSION = "1"


class LogoExtractor:
    """ReferenceExtractor "logo": stores an .npz of SIFT keypoints/descriptors for kind == "logo"."""

    name = "logo"
    version = LOGO_FEATURES_VERSION

    def extract(self, deps: Deps, brand_id: str, ref: ReferenceImage) -> dict[str, Any]:
        if ref.kind != "logo":
            return {}
        feats = extract_logo_features(ref.ref_id, ref.image)
        blob = paths.logo_features(brand_id, self.version, ref.sha256)
        deps.blobs.write(deps.settings.references_bucket, blob, features_to_npz(feats))
        return {
            "logo_features": blob,
            "logo_keypoints": int(sum(len(v.keypoints) for v in feats.variants)),
            "logo_variants": [f"{v.background}{'/mirrored' if v.mirrored else ''}" for v in feats.variants],
        }


def load_brand_logos(deps: Deps, brand: Brand) -> list[LogoFeatures]:
    """Every stored logo feature set of the brand, cached per (brand_id, version)."""
    key = ("vision.logos", brand.brand_id, brand.version)
    cached = deps.cache.get(key)
    if cached is not None:
        return cached
    logos: list[LogoFeatures] = []
    for ref in brand.references:
        blob = ref.get("logo_features")
        if ref.get("kind") != "logo" or not blob:
            continue
        try:
            feats = features_from_npz(deps.blobs.read(deps.settings.references_bucket, blob))
        except NotFound:
            continue  # kit re-registered while this process ran; the next version reloads
        feats.ref_id = str(ref.get("ref_id") or feats.ref_id)
        logos.append(feats)
    for old in [k for k in deps.cache if isinstance(k, tuple) and k[:2] == ("vision.logos", brand.brand_id)]:
        deps.cache.pop(old, None)
    deps.cache[key] = logos
    return logos
