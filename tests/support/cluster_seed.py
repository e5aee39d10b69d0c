"""A brand's listings clustered by the real code, for the cluster pages' tests (Flask client and browser).

acme: one photo listed five times (re-encoded, resized, slightly cropped) by four sellers on three
marketplaces, one more listing of seller ``dup-2`` with another photo (linked by the seller), one unrelated
listing; other: the same photo once (must never join acme's cluster). Fingerprints are PDQ only (no model
load), through ``membership.add_listing`` as the chain step calls it.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from common.clusters.fingerprints import fingerprint
from common.clusters.membership import add_listing
from common.messages import Signal, Verdict
from common.review.queue_docs import record_verdict
from tests.support.kits import jpeg_bytes, pattern_image

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# (brand, listing, seller, marketplace, tier, photo seed, edit)
LISTINGS = [
    ("acme", "dup-a", "dup-1", "shopmart", 1, 4, "original"),
    ("acme", "dup-b", "dup-2", "bazaar", 1, 4, "jpeg"),
    ("acme", "dup-c", "dup-3", "bazaar", 2, 4, "resize"),
    ("acme", "dup-d", "dup-4", "marketo", 2, 4, "crop"),
    ("acme", "dup-e", "dup-2", "bazaar", 2, 7, "original"),  # same seller account, another photo
    ("acme", "lone", "solo", "shopmart", 1, 9, "original"),
    ("other", "dup-x", "dup-1", "shopmart", 1, 4, "original"),
]


def _edited(seed: int, edit: str) -> Image.Image:
    img = pattern_image(seed, (480, 360))
    if edit == "jpeg":
        return Image.open(io.BytesIO(jpeg_bytes(img, 40))).convert("RGB")
    if edit == "resize":
        return img.resize((360, 270))
    if edit == "crop":
        return img.crop((6, 4, 474, 356))
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seed_clusters(deps: Any, cluster: bool = True) -> dict[str, str]:
    """Scans, verdicts, queue rows, images and (``cluster``) clusters; returns listing id -> scan id."""
    scans = {}
    for i, (brand, listing, seller, market, tier, seed, edit) in enumerate(LISTINGS):
        scan_id = f"sc-{listing}"
        image = _edited(seed, edit)
        work = f"{brand}/{scan_id}.png"
        deps.blobs.write(deps.settings.work_bucket, work, _png(image), "image/png")
        doc = {"listing_id": listing, "image": work, "title": f"{listing} sneaker", "seller_id": seller,
               "marketplace": market, "store_url": f"https://{market}.example/shop/{seller}", "price": 19.0,
               "currency": "USD"}  # fmt: skip
        deps.docs.set(f"brands/{brand}/scans/{scan_id}", {
            "listing": doc, "status": "done",
            "image": {"working": {"bucket": deps.settings.work_bucket, "name": work}},
        })  # fmt: skip
        signal = Signal(name="hash", status="fired", score=0.95, reason="near-duplicate of a reference")
        verdict = Verdict(scan_id=scan_id, brand_id=brand, listing_id=listing, tier=tier, score=0.9,
                          signals={"hash": signal}, rule="weighted", reasons=["seeded"],
                          created_at=T0 + timedelta(hours=i))  # fmt: skip
        deps.docs.set(f"brands/{brand}/verdicts/{scan_id}", verdict.model_dump(mode="python"))
        record_verdict(deps.docs, verdict, doc)
        if cluster:
            add_listing(deps, doc, verdict, fingerprint(image, None))
        scans[listing] = scan_id
    return scans
