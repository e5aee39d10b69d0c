"""docs/api: the OpenAPI 3.1 document and its JSON Schemas, checked against real answers of the running handlers
(functions-framework's test client for the webhook and the verdict API; a loopback marketplace for callbacks)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from jsonschema import Draft202012Validator

from common.callbacks import notify_review
from common.enforcement.cases import open_case
from common.messages import Signal, Verdict
from common.review.queue import record_decision
from common.signing import SIGNATURE_HEADER, sign_header
from common.verdict_api import signed_target
from common.webhook import MARKETPLACE_HEADER
from tests.function.test_ingest_webhook import _listing
from tests.support import local_functions as lf
from tests.support.http_server import LoopbackServer
from tests.support.webhooks import MARKETPLACE, SECRETS, signed

API = Path(__file__).resolve().parents[2] / "docs" / "api"


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((API / "schemas" / f"{name}.json").read_text()))


def check(name: str, instance: object) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in schema(name).iter_errors(instance)]
    assert errors == [], (name, errors)


def test_the_openapi_document_is_3_1_and_every_schema_it_names_is_valid() -> None:
    doc = yaml.safe_load((API / "openapi.yaml").read_text())
    assert doc["openapi"] == "3.1.0"
    refs = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#"):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs == {
        f"schemas/{n}.json" for n in ("listing", "webhook_accepted", "error", "verdict_response", "callback")
    }
    for ref in refs:
        Draft202012Validator.check_schema(json.loads((API / ref).read_text()))


@pytest.fixture
def world(local_backend, monkeypatch):
    monkeypatch.setenv("COUNTERFEIT_FETCH_ALLOW_PRIVATE", "1")
    lf.reset_caches()
    server = LoopbackServer().start()
    server.routes["/cb"] = lambda _r: (200, {}, b"{}")
    lf.deps().docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    lf.deps().docs.set("brands/globex", {"brand": "globex", "display_name": "Globex", "version": "v1"})
    lf.deps().docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"], "callback_url": server.url("/cb")})
    yield server
    server.stop()


def get_verdict(
    client, brand: str, listing_id: str, *, secret: str = SECRETS[0], marketplace: str = MARKETPLACE
):
    path, query = "/v1/verdicts", urlencode({"brand": brand, "listing_id": listing_id})
    headers = {MARKETPLACE_HEADER: marketplace,
               SIGNATURE_HEADER: sign_header(secret, signed_target(path, query), int(time.time()))}  # fmt: skip
    return client.get(f"{path}?{query}", headers=headers)


def test_webhook_verdict_api_and_callback_answers_match_their_schemas(world) -> None:
    check("listing", _listing())
    accepted = lf.client("ingest_webhook").post(
        "/", data=signed(_listing())[0], headers=signed(_listing())[1]
    )
    assert accepted.status_code == 202
    check("webhook_accepted", accepted.get_json())
    bad = lf.client("ingest_webhook").post("/", data=b"[]", headers=signed(b"[]")[1])
    assert bad.status_code == 400
    check("error", bad.get_json())
    scan_id = accepted.get_json()["scan_id"]

    api = lf.client("verdict_api")
    scanning = get_verdict(api, "acme", "mkt-42")
    assert scanning.status_code == 200, scanning.get_json()
    check("verdict_response", scanning.get_json())
    assert scanning.get_json()["scan_id"] == scan_id and scanning.get_json()["verdict"] is None

    deps = lf.deps()
    verdict = Verdict(scan_id=scan_id, brand_id="acme", listing_id="mkt-42", tier=1, score=0.97, rule="weighted",
                      signals={"logo": Signal(name="logo", status="fired", score=0.9)}, reasons=["ACME logo"],
                      best_reference=None, created_at=datetime.now(UTC))  # fmt: skip
    deps.docs.set(f"brands/acme/verdicts/{scan_id}", verdict.model_dump())
    record_decision(
        deps.docs, "acme", scan_id, action="confirm", note="", reviewer="r", now=datetime.now(UTC)
    )
    open_case(deps.docs, "acme", scan_id, by="Jane Doe", now=datetime.now(UTC), marketplace=MARKETPLACE,
              listing_id="mkt-42")  # fmt: skip
    answer = get_verdict(api, "acme", "mkt-42").get_json()
    check("verdict_response", answer)
    assert answer["verdict"]["tier"] == 1 and answer["review"]["decision"] == "confirmed"
    assert answer["case"]["state"] == "confirmed"

    assert notify_review(deps, "acme", scan_id).status == "sent"
    check("callback", json.loads(world.received[0].body))

    for status, response in (
        (404, get_verdict(api, "acme", "never-sent")),
        (403, get_verdict(api, "globex", "mkt-42")),
        (401, get_verdict(api, "acme", "mkt-42", secret="wrong")),
        (401, get_verdict(api, "acme", "mkt-42", marketplace="nobody")),
    ):
        assert response.status_code == status, (status, response.get_json())
        check("error", response.get_json())
