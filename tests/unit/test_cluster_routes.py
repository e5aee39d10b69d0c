"""The cluster pages through Flask's test client: the list and one cluster scoped to the reviewer's brands,
a cluster decision with per-member overrides going through the single-item decision code (verdict review,
queue row, enforcement case), CSRF on the form, the seller ranking."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.clusters import views
from common.review.app import create_review_app
from common.settings import Settings
from tests.support.cluster_seed import seed_clusters

TOKENS = {"tok-acme": ("acme",), "tok-other": ("other",)}


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home", review_tokens=TOKENS))
    d.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_clusters(d)
    return d


@pytest.fixture
def client(deps: Deps):
    return create_review_app(lambda: deps).test_client()


def auth(token: str = "tok-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def acme_cluster(deps: Deps) -> str:
    [cluster] = views.list_clusters(deps.docs, "acme")
    return str(cluster["cluster_id"])


def test_cluster_list_and_view_show_only_the_reviewers_brands(client, deps: Deps) -> None:
    listed = client.get("/clusters", headers={**auth(), "Accept": "application/json"}).json
    assert [(c["brand_id"], c["size"]) for c in listed] == [("acme", 5)]
    assert client.get("/clusters", headers={**auth("tok-other"), "Accept": "application/json"}).json == []
    cid = acme_cluster(deps)
    page = client.get(f"/brands/acme/clusters/{cid}", headers=auth())
    assert page.status_code == 200
    # Tier 1 first, then the most recently seen
    assert re.findall(r'class="member" data-listing="([^"]+)"', page.text) == [
        "dup-b", "dup-a", "dup-e", "dup-d", "dup-c"
    ]  # fmt: skip
    assert "bazaar" in page.text and "marketo" in page.text and "Tier 2" in page.text
    item = client.get("/brands/acme/items/sc-dup-c", headers=auth()).text  # the item page links its cluster
    assert f"/brands/acme/clusters/{cid}" in item and "a cluster of 5 listings" in item
    assert 'id="cluster-link"' not in client.get("/brands/acme/items/sc-lone", headers=auth()).text
    assert client.get(f"/brands/acme/clusters/{cid}", headers=auth("tok-other")).status_code == 403
    [other] = views.list_clusters(deps.docs, "other", min_size=1)
    assert client.get(f"/brands/acme/clusters/{other['cluster_id']}", headers=auth()).status_code == 404
    assert client.get("/brands/acme/clusters/not-an-id", headers=auth()).status_code == 404
    assert client.get("/clusters?brand=other", headers=auth()).status_code == 403


def test_cluster_decision_with_overrides_uses_the_item_decision_code(client, deps: Deps) -> None:
    cid = acme_cluster(deps)
    resp = client.post(
        f"/brands/acme/clusters/{cid}/decision",
        data={"decision": "confirm", "note": "one batch", "member:dup-e": "reject", "member:dup-d": "keep"},
        headers=auth(),
    )
    assert resp.status_code == 303 and "decided=4" in resp.headers["Location"]
    reviews = {
        lid: (deps.docs.get(f"brands/acme/verdicts/sc-{lid}") or {}).get("review")
        for lid in ("dup-a", "dup-b", "dup-c", "dup-d", "dup-e")
    }
    assert {k: (v or {}).get("decision") for k, v in reviews.items()} == {
        "dup-a": "confirmed", "dup-b": "confirmed", "dup-c": "confirmed", "dup-d": None, "dup-e": "rejected"
    }  # fmt: skip
    assert reviews["dup-a"]["note"] == f"[cluster {cid}] one batch"
    for lid in ("dup-a", "dup-b", "dup-c"):  # every confirmed member became an enforcement case
        assert deps.docs.get(f"brands/acme/cases/sc-{lid}")["state"] == "confirmed"
    assert deps.docs.get("brands/acme/cases/sc-dup-e") is None
    assert deps.docs.get("brands/acme/queue/dup-a")["state"] == "decided"
    assert deps.docs.get("brands/other/verdicts/sc-dup-x").get("review") is None  # other brand untouched
    # a second cluster decision leaves decided members alone unless they are named
    resp = client.post(f"/brands/acme/clusters/{cid}/decision", json={"decision": "not_sure"}, headers=auth())
    assert [d["listing_id"] for d in resp.json["decided"]] == ["dup-d"]
    assert (
        client.post(
            f"/brands/acme/clusters/{cid}/decision", json={"decision": "x"}, headers=auth()
        ).status_code
        == 400
    )
    bad = {"decision": "confirm", "members": {"dup-a": "delete"}}
    assert client.post(f"/brands/acme/clusters/{cid}/decision", json=bad, headers=auth()).status_code == 400
    forbidden = client.post(f"/brands/acme/clusters/{cid}/decision", json={"decision": "reject"},
                            headers=auth("tok-other"))  # fmt: skip
    assert forbidden.status_code == 403


def test_cluster_form_needs_the_sessions_csrf_token(client, deps: Deps) -> None:
    cid = acme_cluster(deps)
    client.get("/?token=tok-acme")  # cookie session
    refused = client.post(f"/brands/acme/clusters/{cid}/decision", data={"decision": "confirm"})
    assert refused.status_code == 403
    assert deps.docs.get("brands/acme/verdicts/sc-dup-a").get("review") is None
    page = client.get(f"/brands/acme/clusters/{cid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    ok = client.post(
        f"/brands/acme/clusters/{cid}/decision", data={"decision": "confirm", "csrf_token": token[1]}
    )
    assert ok.status_code == 303


def test_seller_ranking_counts_confirmed_counterfeits(client, deps: Deps) -> None:
    cid = acme_cluster(deps)
    client.post(f"/brands/acme/clusters/{cid}/decision", json={"decision": "confirm"}, headers=auth())
    ranked = client.get("/sellers", headers={**auth(), "Accept": "application/json"}).json
    assert [(r["seller_id"], r["confirmed"]) for r in ranked][:1] == [("dup-2", 2)]
    assert ranked[0]["marketplaces"] == {"bazaar": 2} and cid in ranked[0]["clusters"]
    assert "shopmart/dup-1" in ranked[0]["linked_accounts"]
    assert {r["brand_id"] for r in ranked} == {"acme"}
    assert "dup-2" in client.get("/sellers", headers=auth()).text
