"""What a listing image is recognised by across sellers: its PDQ hash and its embedding, with the thresholds.

Why both: PDQ (``common.hashing``: the 256 px product-region copy, as the hash channel hashes it) is exact
about *the same photo* re-encoded or resized, and costs ~2 ms; a crop of more than a few percent or a pasted
banner moves it past any safe threshold. The embedding of the whole image survives those edits but also puts
two *different photos of the same product* close together, so its threshold must sit far above the
embedding channel's "looks like the product" (cosine ~0.62): here it means "the same photo, edited".

PDQ distance as a cosine: the 256 bits as a +-1 vector scaled to unit length, so ``cosine = 1 - 2 d / 256``
and a vector store's nearest search (Firestore ``find_nearest``) answers a Hamming range query exactly.
The mirrored copy's hash is queried too (sellers mirror photos to dodge exact-match filters).

Thresholds: measured by ``scripts/bench_clusters.py`` (docs/evidence_review.md "Clusters").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from common.embedding.extractor import embed_images, model_id
from common.hashing import pdq_hashes

# PDQ bits within which two listing images count as one photo: ThreatExchange's confident match (31 of 256).
# Measured (scripts/bench_clusters.py --seed 7): re-encoded, resized, re-lit and mirrored copies mostly 0-22
# bits (the product-region crop can flip between copies, then 98-136); different photos >= 56, except one
# pair of two mostly plain photos 10 bits apart on seed 11 (a false merge at any threshold); next closest 52
# (seed 11) and 46 (seed 13). 40-48 recovered one more group on seed 7 and 56 made the first false merge.
PDQ_CLUSTER_DISTANCE = 31
# Whole-image embedding cosine from which two listing images count as one (edited) photo: far above the embed
# channel's "shows the product" (~0.62), where different photos of one product still sit. Measured
# (scripts/bench_clusters.py, seeds 7 and 11): different photos reach 0.933 and 0.950 (crops of one textured
# photo: gravel, clock, star field); at 0.94 seed 11 merged 3 clusters falsely, at 0.95 none by embedding,
# for 2 and 1 fewer planted groups recovered; held-out seed 13: 2 false merges at 0.94, none at 0.95. Edited
# copies lie at 0.73-1.0 (crops lowest), which is why PDQ and the exact keys carry the rest. Merging is worse
# than splitting here: a cluster is decided at once.
EMBED_CLUSTER_COSINE = 0.95
PDQ_BITS = 256


def pdq_cosine(distance: int) -> float:
    """The cosine of two +-1 PDQ vectors ``distance`` bits apart."""
    return 1.0 - 2.0 * distance / PDQ_BITS


def pdq_distance(cosine: float) -> int:
    return int(round((1.0 - cosine) * PDQ_BITS / 2.0))


# A hair below the exact cosine of the threshold: float32 vectors must not lose a pair at exactly 31 bits.
PDQ_MIN_COSINE = pdq_cosine(PDQ_CLUSTER_DISTANCE) - 1e-4


def pdq_vector(hex_value: str) -> list[float]:
    """PDQ hex -> unit +-1/16 vector of its 256 bits (most significant bit first)."""
    bits = bin(int(hex_value, 16))[2:].zfill(len(hex_value) * 4)
    scale = 1.0 / math.sqrt(len(bits))
    return [scale if b == "1" else -scale for b in bits]


@dataclass(frozen=True)
class Prints:
    pdq: str | None  # 64 hex digits; None when the image is too flat for a reliable PDQ
    pdq_mirror: str | None  # the mirrored image's PDQ (queried, never stored)
    embedding: list[float] | None  # L2-normalised; None when the model is unavailable
    model: str | None
    why_no_embedding: str | None = None

    def doc(self, listing_id: str, now: Any) -> dict[str, Any]:
        """The stored print (``paths.cluster_print_path``); vectors under the adapters' vector field names."""
        out: dict[str, Any] = {"listing_id": listing_id, "added_at": now, "pdq": self.pdq}
        if self.pdq:
            out["pdq_vector"] = pdq_vector(self.pdq)
        if self.embedding is not None:
            out["embedding"] = [round(float(v), 6) for v in self.embedding]
            out["embedding_model"] = self.model
        return out


def fingerprint(image: Image.Image, model: Any | None) -> Prints:
    """The prints of one listing image; ``model`` None (or failing) leaves the embedding out, with why.

    Only the PDQ of the image and of its mirror are computed: the other transforms and the pHashes are never
    compared. The whole-image embedding is the embed channel's own (the in-process model keeps single-image
    vectors: ``common.embedding.client``), so in one process the model does not run again for it."""
    hashes = pdq_hashes(image, ("", "fliplr"))
    vector: list[float] | None = None
    mid: str | None = None
    why: str | None = None
    if model is not None:
        try:
            vectors, info = embed_images(model, [image.convert("RGB")])
            vector = np.asarray(vectors[0], np.float32).tolist()  # the same values, without a call per number
            mid = model_id(info)
        except Exception as exc:  # noqa: BLE001 - any model failure: cluster by PDQ and keys only, say why
            why = f"image model unavailable: {exc.__class__.__name__}: {str(exc)[:200]}"
    else:
        why = "no image model configured"
    return Prints(hashes.get("pdq"), hashes.get("pdq_fliplr"), vector, mid, why)
