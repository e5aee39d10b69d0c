"""Tenant isolation of the verdict API: a marketplace sees only brands registered for it and only listings it
sent through its own signed webhook; another marketplace asking about the same listing id learns nothing."""

from __future__ import annotations

import json

from tests.function.test_api_contract import get_verdict
from tests.function.test_ingest_webhook import _listing
from tests.support import local_functions as lf
from tests.support.webhooks import MARKETPLACE, SECRETS, signed

OTHER, OTHER_SECRET = "other-market", "other-secret-2026"


def test_verdicts_are_scoped_to_the_marketplace_and_its_brands(local_backend, monkeypatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", json.dumps({MARKETPLACE: list(SECRETS), OTHER: [OTHER_SECRET]}))
    lf.reset_caches()
    deps = lf.deps()
    for brand in ("acme", "globex"):
        deps.docs.set(f"brands/{brand}", {"brand": brand, "display_name": brand, "version": "v1"})
    deps.docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"]})
    deps.docs.set(f"marketplaces/{OTHER}", {"brands": ["acme", "globex"]})
    body, headers = signed(_listing())
    assert lf.client("ingest_webhook").post("/", data=body, headers=headers).status_code == 202
    # a globex scan of the same listing id, sent by the other marketplace
    body, headers = signed(_listing(brand="globex"), secret=OTHER_SECRET, marketplace=OTHER)
    assert lf.client("ingest_webhook").post("/", data=body, headers=headers).status_code == 202

    api = lf.client("verdict_api")
    assert get_verdict(api, "acme", "mkt-42").status_code == 200
    assert (
        get_verdict(api, "globex", "mkt-42").status_code == 403
    )  # brand not registered for this marketplace
    # registered for acme too, but it never sent this listing: not found, and nothing of the first one leaks
    other = get_verdict(api, "acme", "mkt-42", secret=OTHER_SECRET, marketplace=OTHER)
    assert other.status_code == 404 and "scan_id" not in other.get_json()
    assert get_verdict(api, "globex", "mkt-42", secret=OTHER_SECRET, marketplace=OTHER).status_code == 200
    # a signature made with the other marketplace's secret does not pass as this one
    assert get_verdict(api, "acme", "mkt-42", secret=OTHER_SECRET).status_code == 401
