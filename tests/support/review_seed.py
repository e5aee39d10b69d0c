"""Verdicts, scans and a kit for review-page tests (unit tests with Flask's client and the browser test)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.messages import Signal, Verdict
from common.review.queue_docs import record_verdict
from tests.support.kits import jpeg_bytes, pattern_image

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def verdict(brand: str, scan_id: str, tier: int, score: float, created: datetime) -> Verdict:
    return Verdict(
        scan_id=scan_id,
        brand_id=brand,
        listing_id=f"listing-{scan_id}",
        tier=tier,
        score=score,
        rule="weighted",
        signals={
            "embedding": Signal(
                name="embedding",
                status="fired",
                score=score,
                reference="reference:front.jpg",
                reason=f"looks like front.jpg ({score:.2f})",
            ),
            "logo": Signal(
                name="logo",
                status="fired" if tier == 1 else "clear",
                score=0.8 if tier == 1 else 0.1,
                reason="ACME logo verified" if tier == 1 else "no logo found",
            ),
            "price": Signal.not_run("price", "no price in listing"),
        },
        reasons=[f"Visual match with front.jpg <b>{scan_id}</b>"],  # markup must show as text, not HTML
        best_reference="reference:front.jpg",
        created_at=created,
    )


def seed_review_data(deps: Any, tmp: Path) -> dict[str, Verdict]:
    """acme: two Tier 1, two Tier 2 (one older), one Tier 3; other: one Tier 1. Images in the stores."""
    kit = tmp / "kit"
    (kit / "references").mkdir(parents=True, exist_ok=True)
    ref = jpeg_bytes(pattern_image(5))
    (kit / "references" / "front.jpg").write_bytes(ref)
    out: dict[str, Verdict] = {}
    specs = [
        ("acme", "s-t1-new", 1, 0.91, T0 + timedelta(hours=5)),
        ("acme", "s-t1-old", 1, 0.95, T0 + timedelta(hours=1)),
        ("acme", "s-t2-new", 2, 0.70, T0 + timedelta(hours=6)),
        ("acme", "s-t2-old", 2, 0.80, T0 - timedelta(days=3)),
        ("acme", "s-t3", 3, 0.50, T0 + timedelta(hours=7)),
        ("other", "s-other", 1, 0.99, T0 + timedelta(hours=2)),
    ]
    for brand in ("acme", "other"):
        deps.docs.set(
            f"brands/{brand}",
            {"display_name": brand.upper(), "trademarks": [brand.upper()], "kit_dir": str(kit)},
        )
        deps.docs.set(
            f"brands/{brand}/references/reference:front.jpg",
            {"kind": "reference", "filename": "front.jpg", "sha256": hashlib.sha256(ref).hexdigest()},
        )
    for i, (brand, scan_id, tier, score, created) in enumerate(specs):
        image = jpeg_bytes(pattern_image(10 + i, (400, 300)))
        name = f"{brand}/{scan_id}.jpg"
        deps.blobs.write(deps.settings.candidates_bucket, name, image, "image/jpeg")
        deps.docs.set(
            f"brands/{brand}/scans/{scan_id}",
            {
                "listing": {
                    "listing_id": f"listing-{scan_id}",
                    "image": name,
                    "title": f"Cheap {brand} runner",
                    "seller_id": "bargain-shop",
                    "price": 20.0,
                    "currency": "USD",
                },
                "source": {"bucket": deps.settings.candidates_bucket, "name": name, "generation": 1},
                "status": "done",
            },
        )
        v = verdict(brand, scan_id, tier, score, created)
        deps.docs.set(f"brands/{brand}/verdicts/{scan_id}", v.model_dump(mode="python"))
        record_verdict(deps.docs, v, deps.docs.get(f"brands/{brand}/scans/{scan_id}")["listing"])
        out[scan_id] = v
    return out


def backlog_title(i: int) -> str:
    """Odd items are replicas (the keyboard test confirms them), even ones genuine (rejected)."""
    return f"{'Replica' if i % 2 else 'Genuine'} runner no. {i}"


def seed_backlog(deps: Any, tmp: Path, brand: str, n: int, *, start: datetime = T0) -> list[str]:
    """``n`` pending items for ``brand`` (scan ids ``{brand}-NNN``, newest last), each with a listing image in
    the candidates bucket, a kit reference, seller / price / marketplace, and on Tier 1 a logo hit box (the
    region the item page draws). Returns the scan ids in queue order (Tier 1 newest first, then Tier 2)."""
    kit = tmp / f"kit-{brand}"
    (kit / "references").mkdir(parents=True, exist_ok=True)
    ref = jpeg_bytes(pattern_image(3, (240, 180)))
    (kit / "references" / "front.jpg").write_bytes(ref)
    deps.docs.set(
        f"brands/{brand}", {"display_name": brand.upper(), "trademarks": [brand.upper()], "kit_dir": str(kit)}
    )
    deps.docs.set(
        f"brands/{brand}/references/reference:front.jpg",
        {"kind": "reference", "filename": "front.jpg", "sha256": hashlib.sha256(ref).hexdigest()},
    )
    made: list[Verdict] = []
    for i in range(n):
        scan_id = f"{brand}-{i:03d}"
        tier = 1 if i % 3 else 2
        name = f"{brand}/{scan_id}.jpg"
        deps.blobs.write(
            deps.settings.candidates_bucket, name, jpeg_bytes(pattern_image(20 + i, (320, 240))), "image/jpeg"
        )
        listing = {
            "listing_id": f"listing-{scan_id}",
            "image": name,
            "title": backlog_title(i),
            "seller_id": f"seller-{i % 4}",
            "marketplace": ("shopmart", "bazaar")[i % 2],
            "price": 10.0 + i,
            "currency": "EUR",
        }
        deps.docs.set(
            f"brands/{brand}/scans/{scan_id}",
            {
                "listing": listing,
                "source": {"bucket": deps.settings.candidates_bucket, "name": name, "generation": 1},
                "status": "done",
            },  # fmt: skip
        )
        v = verdict(brand, scan_id, tier, 0.9 if tier == 1 else 0.7, start + timedelta(minutes=i))
        if tier == 1:
            logo = v.signals["logo"].model_copy(update={"detail": {"hits": [{"box": [40, 30, 120, 80]}]}})
            v = v.model_copy(update={"signals": {**v.signals, "logo": logo}})
        deps.docs.set(f"brands/{brand}/verdicts/{scan_id}", v.model_dump(mode="python"))
        record_verdict(deps.docs, v, listing)
        made.append(v)
    made.sort(key=lambda v: (v.tier, -v.created_at.timestamp()))
    return [v.scan_id for v in made]
