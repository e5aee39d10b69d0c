"""Block-listing callbacks across tenants (issue 11 #2): our HMAC-signed ``block_listing`` goes only to the
marketplace that sent the listing through its own signed webhook and is registered for the verdict's brand.

Brand "acme" registers marketplace "market-a" (callback URL on a loopback server that records every hit);
brand "globex" is a second tenant. Each scan runs the whole chain on the embedded default (the handlers the
cloud functions run) and ends in a Tier 1 verdict (the candidate is a kit reference: hash short-circuit).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common import ingest, pipeline
from common.brands import register_brand
from common.scan import local_runtime
from common.settings import get_settings
from common.signing import SIGNATURE_HEADER, sign_header, verify_signature
from common.webhook import MARKETPLACE_HEADER, handle_webhook
from tests.support.http_server import LoopbackServer
from tests.support.kits import tiny_kit

MARKET_A = "market-a"
SECRET_A = "market-a-secret-2026"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two brands, market-a registered for acme only with a callback URL on a recording loopback server."""
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WEBHOOK_SECRETS", json.dumps({MARKET_A: [SECRET_A]}))
    monkeypatch.setenv("COUNTERFEIT_FETCH_ALLOW_PRIVATE", "1")  # the marketplace here is on 127.0.0.1
    get_settings.cache_clear()
    server = LoopbackServer().start()
    server.routes["/block"] = lambda _r: (200, {}, b"{}")
    deps, bus = local_runtime(get_settings())
    kits = {brand: tiny_kit(tmp_path / f"kit-{brand}", brand) for brand in ("acme", "globex")}
    for kit in kits.values():
        register_brand(deps, kit)
    deps.docs.set(
        f"marketplaces/{MARKET_A}",
        {"brands": ["acme"], "callback_url": server.url("/block"), "policy": "auto_block_tier1"},
    )
    yield deps, bus, server, kits
    server.stop()
    get_settings.cache_clear()


def _only_verdict(deps, brand: str) -> dict:
    verdicts = [doc for _, doc in deps.docs.list(f"brands/{brand}/verdicts")]
    assert len(verdicts) == 1
    assert verdicts[0]["tier"] == 1, verdicts[0]["reasons"]
    return verdicts[0]


def test_upload_by_brand_b_naming_brand_a_marketplace_sends_nothing_to_a(world) -> None:
    """globex's upload metadata names market-a (registered only for acme) and one of acme's listing ids."""
    deps, bus, server, kits = world
    bucket, name = deps.settings.candidates_bucket, "globex/copy.jpg"
    generation = deps.blobs.write(bucket, name, (kits["globex"] / "references" / "ref-1.jpg").read_bytes())
    metadata = {"marketplace": MARKET_A, "listing_id": "acme-listing-7"}
    scan_id = ingest.ingest_blob(deps, bucket, name, generation, metadata, "evt-upload-1")
    assert scan_id is not None
    bus.drain()

    _only_verdict(deps, "globex")  # the verdict stands
    assert server.received == []  # market-a never heard of it
    scan = deps.docs.get(pipeline.scan_path("globex", scan_id))
    assert scan["marketplace_provenance"] == {
        "marketplace": MARKET_A,
        "verified": False,
        "source": "upload metadata (not authenticated)",
    }
    assert scan["listing"]["marketplace"] == MARKET_A  # recorded as given
    assert scan["callback"]["status"] == "refused"
    assert "upload metadata" in scan["callback"]["detail"] and "never acted on" in scan["callback"]["detail"]
    record = deps.docs.get(f"brands/globex/callbacks/{scan_id}")
    assert record["status"] == "refused" and record["marketplace"] == MARKET_A


def test_cli_listing_naming_a_marketplace_is_never_acted_on(world, tmp_path: Path, capsys) -> None:
    """Even acme's own CLI listing naming acme's own marketplace: the CLI cannot prove who the marketplace is,
    so nothing signed in our name goes out."""
    from common.cli import main

    deps, _bus, server, kits = world
    listings = tmp_path / "listings.jsonl"
    image = str(kits["acme"] / "references" / "ref-2.jpg")
    line = {"listing_id": "acme-listing-9", "image": image, "marketplace": MARKET_A, "verified": True}
    listings.write_text(json.dumps(line) + "\n")
    capsys.readouterr()
    assert main(["scan", "--brand", "acme", "--json", "--listings", str(listings)]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["tier"] == 1
    assert server.received == []
    scan = deps.docs.get(pipeline.scan_path("acme", record["scan_id"]))
    assert scan["marketplace_provenance"]["verified"] is False
    assert scan["callback"]["status"] == "refused" and "not authenticated" in scan["callback"]["detail"]


def test_webhook_listing_from_a_registered_marketplace_still_gets_its_callback(world) -> None:
    deps, bus, server, kits = world
    image = (kits["acme"] / "references" / "ref-1.jpg").read_bytes()
    body = json.dumps(
        {
            "brand": "acme",
            "listing_id": "mkt-a-555",
            "image": "data:image/jpeg;base64," + base64.b64encode(image).decode(),
        }
    ).encode()
    headers = {
        MARKETPLACE_HEADER: MARKET_A,
        SIGNATURE_HEADER: sign_header(SECRET_A, body, int(datetime.now(UTC).timestamp())),
    }
    answer = handle_webhook(deps, headers, body)
    assert answer.status == 202, answer.body
    bus.drain()

    verdict = _only_verdict(deps, "acme")
    assert len(server.received) == 1
    hit = server.received[0]
    assert hit.path == "/block"
    verify_signature((SECRET_A,), hit.headers[SIGNATURE_HEADER], hit.body, datetime.now(UTC))
    sent = json.loads(hit.body)
    assert sent["action"] == "block_listing" and sent["listing_id"] == "mkt-a-555"
    assert sent["marketplace"] == MARKET_A and sent["brand_id"] == "acme"
    assert sent["scan_id"] == verdict["scan_id"] == answer.body["scan_id"]
    scan = deps.docs.get(pipeline.scan_path("acme", answer.body["scan_id"]))
    assert scan["marketplace_provenance"]["verified"] is True
    assert scan["callback"] == {"status": "sent", "detail": "HTTP 200"}
