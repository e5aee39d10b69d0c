"""The ``cluster`` function driven by Pub/Sub pushes of ``verdict-recorded`` (as Pub/Sub POSTs them), on the
local adapters: two listings of one photo (re-encoded and resized) from two sellers on two marketplaces end
in one cluster; a redelivered push changes nothing; a push for another brand never touches this brand's."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image

from common import paths
from common.clusters import views
from common.messages import VerdictRecorded
from tests.support import local_functions as lf
from tests.support.kits import pattern_image

PUSH_PATH = "/projects/counterfeit-local/topics/verdict-recorded"
T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _verdict_recorded(brand: str, scan_id: str, listing: dict, image: Image.Image, tier: int = 1) -> dict:
    """What fuse leaves behind (scan with its working copy, the verdict) and the push it publishes."""
    deps = lf.deps()
    name = paths.working_copy(brand, scan_id)
    deps.blobs.write(deps.settings.work_bucket, name, _png(image), "image/png")
    deps.docs.set(paths.scan_path(brand, scan_id), {
        "scan_id": scan_id, "brand_id": brand, "status": "done", "listing": listing,
        "image": {"working": {"bucket": deps.settings.work_bucket, "name": name}},
    })  # fmt: skip
    deps.docs.set(paths.verdict_path(brand, scan_id), {
        "scan_id": scan_id, "brand_id": brand, "listing_id": listing["listing_id"], "tier": tier,
        "score": 0.9, "signals": {}, "rule": "weighted", "created_at": T0,
    })  # fmt: skip
    msg = VerdictRecorded(
        scan_id=scan_id, brand_id=brand, listing_id=listing["listing_id"], tier=tier, score=0.9
    )
    data, attrs = msg.to_pubsub()
    return lf.push_body(
        data, attrs, f"vr-{brand}-{scan_id}", "projects/p/subscriptions/cluster-on-verdict-recorded"
    )


def test_cluster_function_links_one_photo_across_sellers_and_marketplaces(local_backend) -> None:
    photo = pattern_image(4)
    client = lf.client("cluster")
    first = _verdict_recorded(
        "acme", "s1", {"listing_id": "l1", "seller_id": "a", "marketplace": "m1"}, photo
    )
    assert client.post(PUSH_PATH, json=first).status_code == 200
    resized = photo.resize((480, 360)).convert("RGB")
    second = _verdict_recorded(
        "acme", "s2", {"listing_id": "l2", "seller_id": "b", "marketplace": "m2"}, resized
    )
    assert client.post(PUSH_PATH, json=second).status_code == 200
    other = _verdict_recorded(
        "rival", "s3", {"listing_id": "l3", "seller_id": "a", "marketplace": "m1"}, photo
    )
    assert client.post(PUSH_PATH, json=other).status_code == 200

    docs = lf.deps().docs
    [cluster] = views.list_clusters(docs, "acme")
    members = views.members(docs, "acme", cluster)
    assert {m["listing_id"] for m in members} == {"l1", "l2"}
    assert cluster["marketplaces"] == {"m1": 1, "m2": 1} and "pdq" in cluster["links"]
    scan = docs.get(paths.scan_path("acme", "s2"))
    assert scan["cluster"]["cluster_id"] == cluster["cluster_id"]
    assert views.list_clusters(docs, "rival") == []  # the same photo in another brand stays apart
    assert views.list_clusters(docs, "rival", min_size=1)[0]["size"] == 1

    assert client.post(PUSH_PATH, json=second).status_code == 200  # redelivery: acknowledged, no change
    [again] = views.list_clusters(docs, "acme")
    assert again["size"] == 2 and again["links"] == cluster["links"]
    marker = docs.get(f"processed_events/cluster:{second['message']['messageId']}")
    assert marker["status"] == "done"
