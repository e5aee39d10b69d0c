"""Tenant isolation of the review page's case routes: an acme reviewer cannot generate, move or read globex's
(here "other"'s) notices and cases; every route answers 403 and nothing changes."""

from __future__ import annotations

from common.bootstrap import Deps
from common.review.app import create_review_app
from tests.unit.test_cases_entry_points import auth, deps  # noqa: F401, F811  (fixture)


def test_review_case_routes_refuse_another_brand(deps: Deps) -> None:  # noqa: F811
    client = create_review_app(lambda: deps).test_client()
    assert client.post("/brands/other/items/s-other/decision", json={"decision": "confirm"}, headers=auth("tok-other")).status_code == 200  # fmt: skip
    for method, path, body in (
        ("post", "/brands/other/items/s-other/notice", {}),
        ("post", "/brands/other/items/s-other/case", {"state": "submitted"}),
        ("get", "/brands/other/items/s-other/notice/notice.json", None),
    ):
        resp = (
            getattr(client, method)(path, json=body, headers=auth())
            if body is not None
            else client.get(path, headers=auth())
        )
        assert resp.status_code == 403, (path, resp.status_code)
    assert [c["scan_id"] for c in client.get("/cases", headers=auth()).json["cases"]] == []
    assert deps.docs.get("brands/other/cases/s-other")["state"] == "confirmed"  # unchanged
