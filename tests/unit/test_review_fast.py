"""Fast review with Flask's client: next item after a decision in the same filtered view, the item page's
controls, neighbours and region boxes, the keyboard script under the CSP, and bulk decisions (note required,
partial failures reported, CSRF like every other form)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.bootstrap import Deps, build_deps
from common.review.app import create_review_app
from common.settings import Settings
from tests.support.review_seed import seed_backlog

ACME = {"Authorization": "Bearer tok-acme"}


@pytest.fixture
def env(tmp_path: Path) -> tuple[Any, Deps, list[str]]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok-acme": ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    order = seed_backlog(deps, tmp_path, "acme", 6)
    seed_backlog(deps, tmp_path, "other", 2)
    return create_review_app(lambda: deps).test_client(), deps, order


def test_a_decision_leads_to_the_next_item_of_the_same_filtered_view(env) -> None:
    client, deps, order = env
    tier2 = [s for s in order if deps.docs.get(f"brands/acme/verdicts/{s}")["tier"] == 2]
    resp = client.post(f"/brands/acme/items/{tier2[0]}/decision?tier=2&show=pending",
                       data={"decision": "reject"}, headers=ACME)  # fmt: skip
    assert resp.status_code == 303
    assert resp.location == (
        f"/brands/acme/items/{tier2[1]}?tier=2&show=pending&decided={tier2[0]}&prev=acme%2F{tier2[0]}"
    )
    last = client.post(f"/brands/acme/items/{tier2[1]}/decision?tier=2", data={"decision": "confirm"},
                       headers=ACME)  # fmt: skip
    assert last.location == f"/?tier=2&show=pending&decided={tier2[1]}"  # nothing left in that view
    page = client.get(last.location, headers=ACME)
    assert "Decision recorded for " + tier2[1] in page.text and "Nothing to review" in page.text


def test_item_page_controls_neighbours_and_boxed_regions(env) -> None:
    client, deps, order = env
    page = client.get(f"/brands/acme/items/{order[0]}?show=pending&prev=acme/{order[1]}", headers=ACME).text
    panel = page.index('id="decision-panel"')
    assert panel < page.index("<h3>Signals</h3>") and panel < page.index('id="reasons"') + 2000
    assert (
        f'id="next-item" href="/brands/acme/items/{order[1]}?show=pending&amp;prev=acme%2F{order[0]}"' in page
    )
    assert f'id="prev-item" href="/brands/acme/items/{order[1]}?show=pending"' in page
    assert 'viewBox="0 0 320 240"' in page  # no working copy: the received 320x240 image's frame
    assert re.search(r'<rect x="40" y="30" width="120" height="80"', page)
    for shown in ("seller-", "EUR", "shopmart" if "shopmart" in page else "bazaar"):
        assert shown in page
    tier2 = next(s for s in order if deps.docs.get(f"brands/acme/verdicts/{s}")["tier"] == 2)
    assert 'id="regions"' not in client.get(f"/brands/acme/items/{tier2}", headers=ACME).text  # logo clear
    last = client.get(f"/brands/acme/items/{order[-1]}", headers=ACME).text
    assert f'id="next-item" href="/brands/acme/items/{order[0]}' in last  # the view wraps round to its top


def test_the_keyboard_script_is_served_and_allowed_by_the_csp(env) -> None:
    client, _, _ = env
    page = client.get("/", headers=ACME)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "script-src 'self' 'unsafe" not in csp
    assert '<script src="/static/review.js" defer></script>' in page.text
    assert "<script>" not in page.text  # no inline script anywhere
    js = client.get("/static/review.js", headers=ACME)
    assert js.status_code == 200 and "javascript" in js.mimetype and b"keydown" in js.data
    assert client.get("/static/review.js").status_code == 401  # behind the same sign-in
    assert client.get("/static/../app.py", headers=ACME).status_code == 404


def test_bulk_decisions_report_each_item_and_need_a_note(env) -> None:
    client, deps, order = env
    items = [f"acme/{order[0]}", f"acme/{order[1]}", "acme/missing-1", "other/other-000", "nonsense"]
    resp = client.post("/bulk", json={"decision": "confirm", "note": "same seller", "items": items},
                       headers=ACME)  # fmt: skip
    assert resp.status_code == 207
    body = resp.get_json()
    assert [d["item"] for d in body["decided"]] == items[:2]
    assert {f["item"]: f["error"] for f in body["failed"]} == {
        "acme/missing-1": "no such item",
        "other/other-000": "not a brand you review",
        "nonsense": "not an item id (brand/scan_id)",
    }
    for scan in order[:2]:
        review = deps.docs.get(f"brands/acme/verdicts/{scan}")["review"]
        assert (review["decision"], review["note"]) == ("confirmed", "same seller")
        assert deps.docs.get(f"brands/acme/cases/{scan}")["state"] == "confirmed"  # same as a single confirm
    assert "review" not in deps.docs.get("brands/other/verdicts/other-000")
    for bad in ({"decision": "confirm", "note": " ", "items": items[:1]},
                {"decision": "not_sure", "note": "x", "items": items[:1]},
                {"decision": "reject", "note": "x", "items": []}):  # fmt: skip
        assert client.post("/bulk", json=bad, headers=ACME).status_code == 400, bad


def test_bulk_form_in_the_browser_needs_the_session_csrf_token(env) -> None:
    client, deps, order = env
    assert client.get("/?token=tok-acme").status_code == 303
    page = client.get("/").text
    token = re.search(r'id="bulk".*?name="csrf_token" value="([^"]+)"', page, re.S)
    assert token
    form = {"decision": "reject", "note": "genuine shop", "item": [f"acme/{order[2]}"]}
    refused = client.post("/bulk", data=form)
    assert refused.status_code == 403 and "review" not in deps.docs.get(f"brands/acme/verdicts/{order[2]}")
    done = client.post("/bulk?show=pending", data={**form, "csrf_token": token[1]})
    assert done.status_code == 200 and "1 decided." in done.text
    assert deps.docs.get(f"brands/acme/verdicts/{order[2]}")["review"]["decision"] == "rejected"
