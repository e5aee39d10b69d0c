"""A discovery sweep on the emulator stack: the ``discover`` handler (as Cloud Scheduler's message reaches it)
on the GCP adapters — Firestore emulator (brand, opt-in, dedup and run documents, the marketplace query), the
storage emulator (staged reference copies, found images) and the Pub/Sub emulator (scan-requested) — while the
stack's own functions run the chain to verdicts. The APIs are the loopback stand-ins with stored responses."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from common import paths, topics
from common.bootstrap import get_deps
from common.brands import register_brand
from common.cloudevents import MESSAGE_PUBLISHED
from common.discovery.report import coverage
from common.entrypoints import run_discover
from common.messages import DiscoveryRequested
from common.settings import get_settings
from tests.support.discovery_apis import BRAVE_PATH, VISION_PATH, stored
from tests.support.emulator_stack import stack_env
from tests.support.kits import demo_kit

pytestmark = pytest.mark.emulator
BRAND = "roadster"  # its own tenant: the other e2e tests use acme
APPROVED = {"enabled": True, "approved_by": "Jane Doe", "approved_on": "2026-11-30"}
VERDICT_WAIT_S = 240  # the first scan in each function process loads the models


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = VERDICT_WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def scheduler_event(message_id: str) -> CloudEvent:
    data, attrs = DiscoveryRequested().to_pubsub()
    return CloudEvent(
        {
            "type": MESSAGE_PUBLISHED,
            "source": f"//pubsub.googleapis.com/projects/counterfeit-local/topics/{topics.DISCOVERY_REQUESTED}",
            "id": message_id,
        },
        {
            "message": {
                "data": base64.b64encode(data).decode(),
                "attributes": attrs,
                "messageId": message_id,
            },
            "subscription": "projects/counterfeit-local/subscriptions/discover-on-discovery-requested",
        },
    )


def test_scheduled_sweep_on_the_emulator_stack(
    emulator_stack, tmp_path, monkeypatch, discovery_api, public_web
):
    demo = demo_kit(tmp_path / "demo")
    kit = tmp_path / "kit"
    shutil.copytree(demo["kit"], kit)
    doc = json.loads((kit / "brand.json").read_text())
    doc |= {"brand": BRAND, "discovery": {"web_detection": APPROVED, "image_search": APPROVED}}
    (kit / "brand.json").write_text(json.dumps(doc))
    public_web.serve("/images/I/71s1exact.jpg", (demo["candidates"] / "s1-exact.jpg").read_bytes())
    public_web.serve("/736x/4f/s1pin.jpg", (demo["candidates"] / "s1-exact.jpg").read_bytes())
    public_web.serve("/images/g/s6composite.jpg", (demo["candidates"] / "s6-composite.jpg").read_bytes())
    discovery_api.script(VISION_PATH, (200, {}, stored("vision_two_references.json", public_web.port)))
    discovery_api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", public_web.port)))

    with stack_env(emulator_stack):
        monkeypatch.setenv("DISCOVERY_VISION_ENDPOINT", discovery_api.endpoint)
        monkeypatch.setenv("DISCOVERY_BRAVE_ENDPOINT", discovery_api.endpoint)
        monkeypatch.setenv("BRAVE_SEARCH_API_KEY", "k")
        get_settings.cache_clear()
        get_deps.cache_clear()
        deps = get_deps()
        assert deps.settings.backend == "gcp"
        register_brand(deps, kit)
        staged = deps.blobs.list(deps.settings.references_bucket, f"{BRAND}/discovery/")
        assert len(staged) == 2  # the two reference photos, in the storage emulator
        deps.docs.set("marketplaces/example-market-e2e", {"brands": [BRAND], "hosts": ["example-market.com"]})

        (summary,) = run_discover(scheduler_event("sched-1"))
        assert summary["brand"] == BRAND and summary["errors"] == []
        assert (summary["requests"], summary["unique_images"], summary["scanned"]) == (3, 10, 2)
        assert summary["duplicate_content"] == 1  # the Pinterest copy of the Amazon image
        (vision_request,) = discovery_api.vision_bodies()
        assert len(vision_request["requests"]) == 2  # read back from the staged copies

        found = {d["image_url"].rsplit("/", 1)[-1]: d for _, d in deps.docs.list(paths.discovered(BRAND))}
        assert found["s3selfshot.jpg"]["registered_marketplace"] == "example-market-e2e"
        amazon = found["71s1exact.jpg"]
        verdict = wait_for(
            "the discovered Amazon copy's verdict",
            lambda: deps.docs.get(paths.verdict_path(BRAND, amazon["scan_id"])),
        )
        assert verdict["tier"] == 1 and verdict["listing_id"].startswith("disc-")
        scan = deps.docs.get(paths.scan_path(BRAND, amazon["scan_id"]))
        assert scan["listing"]["url"] == "https://www.amazon.com/dp/B0CXR7ACME"
        assert scan["listing"]["marketplace"] == "amazon.com"
        ebay = found["s6composite.jpg"]
        wait_for("the eBay find's verdict", lambda: deps.docs.get(paths.verdict_path(BRAND, ebay["scan_id"])))

        # Redelivery (Pub/Sub at-least-once): nothing is scanned twice.
        (again,) = run_discover(scheduler_event("sched-1"))
        assert (again["scanned"], again["unchanged"]) == (0, 3)

        cov = coverage(deps, BRAND)
        assert cov["runs"] == 2 and cov["scans"] == 2 and cov["pending"] == 0
        assert cov["tier_1_2"] >= 1 and cov["product_pages"] == 5
