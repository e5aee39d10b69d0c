"""The ``discover`` function as Cloud Scheduler drives it: a Pub/Sub push of ``{}`` on discovery-requested, through
functions-framework's push -> CloudEvent conversion, on the local adapters. The sweep's scans are published on
scan-requested (the chain's functions take them from there)."""

from __future__ import annotations

import json

from common import paths, topics
from common.brands import register_brand
from common.messages import DiscoveryRequested, ScanRequested
from tests.support import local_functions as lf
from tests.support.discovery_apis import BRAVE_PATH, stored
from tests.support.kits import jpeg_bytes, pattern_image, tiny_kit

PUSH_PATH = f"/projects/counterfeit-local/topics/{topics.DISCOVERY_REQUESTED}"
APPROVED = {"enabled": True, "approved_by": "Jo Bloggs", "approved_on": "2026-12-01"}


def opted_in_kit(tmp_path, brand: str, discovery: dict | None):
    kit = tiny_kit(tmp_path / brand, brand)
    doc = json.loads((kit / "brand.json").read_text())
    if discovery is not None:
        doc["discovery"] = discovery
    (kit / "brand.json").write_text(json.dumps(doc))
    return kit


def test_scheduled_push_sweeps_every_opted_in_brand(
    local_backend, tmp_path, monkeypatch, discovery_api, public_web
):
    monkeypatch.setenv("DISCOVERY_BRAVE_ENDPOINT", discovery_api.endpoint)
    monkeypatch.setenv("BRAVE_SEARCH_API_KEY", "k")
    lf.reset_caches()
    deps = lf.deps()
    register_brand(deps, opted_in_kit(tmp_path, "acme", {"image_search": APPROVED}))
    register_brand(deps, opted_in_kit(tmp_path, "globex", None))  # not opted in: never swept
    discovery_api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", public_web.port)))
    for i, path in enumerate(("/images/g/s6composite.jpg", "/s7text.jpg", "/il/s18used.jpg")):
        public_web.serve(path, jpeg_bytes(pattern_image(10 + i, (96, 72))))

    data, attrs = DiscoveryRequested().to_pubsub()
    assert data == b'{"schema_version":1}'  # what infra/discovery.tf's job sends
    body = lf.push_body(
        data, attrs, "m-1", "projects/counterfeit-local/subscriptions/discover-on-discovery-requested"
    )
    assert lf.client("discover").post(PUSH_PATH, json=body).status_code == 200

    (request,) = discovery_api.requests_to(BRAVE_PATH)
    assert "q=ACME&" in request.path  # acme's trademark; globex was never asked about
    scans = [ScanRequested.from_pubsub(d, a) for _, d, a in lf.published(topics.SCAN_REQUESTED)]
    assert sorted(s.listing.marketplace for s in scans) == ["ebay.com", "etsy.com", "reddit.com"]
    assert {s.brand_id for s in scans} == {"acme"}
    assert [r for _, r in deps.docs.list(paths.discovery_runs("globex"))] == []

    # Redelivered: the same images are unchanged, nothing is published again.
    body = lf.push_body(
        data, attrs, "m-2", "projects/counterfeit-local/subscriptions/discover-on-discovery-requested"
    )
    assert lf.client("discover").post(PUSH_PATH, json=body).status_code == 200
    assert len(lf.published(topics.SCAN_REQUESTED)) == 3


def test_malformed_and_refused_requests_are_acknowledged(local_backend, tmp_path):
    deps = lf.deps()
    register_brand(deps, opted_in_kit(tmp_path, "acme", None))
    for data in (
        b"not json",
        json.dumps({"brand_id": "../x"}).encode(),
        json.dumps({"brand_id": "acme"}).encode(),
    ):
        body = lf.push_body(
            data, {}, "m", "projects/counterfeit-local/subscriptions/discover-on-discovery-requested"
        )
        assert lf.client("discover").post(PUSH_PATH, json=body).status_code == 200  # acked, never retried
    assert lf.published(topics.SCAN_REQUESTED) == []


def test_two_brands_finding_the_same_images_each_get_their_own_scans(
    local_backend, tmp_path, monkeypatch, discovery_api, public_web
):
    monkeypatch.setenv("DISCOVERY_BRAVE_ENDPOINT", discovery_api.endpoint)
    monkeypatch.setenv("BRAVE_SEARCH_API_KEY", "k")
    lf.reset_caches()
    deps = lf.deps()
    for brand in ("acme", "globex"):
        register_brand(deps, opted_in_kit(tmp_path, brand, {"image_search": APPROVED}))
    discovery_api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", public_web.port)))
    for i, path in enumerate(("/images/g/s6composite.jpg", "/s7text.jpg", "/il/s18used.jpg")):
        public_web.serve(path, jpeg_bytes(pattern_image(20 + i, (96, 72))))
    data, attrs = DiscoveryRequested().to_pubsub()
    body = lf.push_body(
        data, attrs, "m-9", "projects/counterfeit-local/subscriptions/discover-on-discovery-requested"
    )
    assert lf.client("discover").post(PUSH_PATH, json=body).status_code == 200
    scans = [ScanRequested.from_pubsub(d, a) for _, d, a in lf.published(topics.SCAN_REQUESTED)]
    by_brand = {b: {s.scan_id for s in scans if s.brand_id == b} for b in ("acme", "globex")}
    assert len(by_brand["acme"]) == len(by_brand["globex"]) == 3 and not by_brand["acme"] & by_brand["globex"]
    for brand in ("acme", "globex"):  # dedup documents and scan ids stay inside each tenant
        found = [d for _, d in deps.docs.list(paths.discovered(brand))]
        assert {d["scan_id"] for d in found} == by_brand[brand]
