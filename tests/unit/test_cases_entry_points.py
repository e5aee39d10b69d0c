"""Cases through the review page (Flask's test client) and the CLI (``common.cli.main``) on the embedded default."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.review.app import create_review_app
from common.review.auth import reviewer_name
from common.settings import Settings, get_settings
from tests.support.review_seed import seed_review_data

TOKENS = {"tok-acme": ("acme",), "tok-other": ("other",)}
NAMES = {reviewer_name("tok-acme"): "Jane Doe"}


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home", review_tokens=TOKENS, review_names=NAMES))
    d.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_review_data(d, tmp_path)
    return d


def auth(token: str = "tok-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_review_page_confirms_generates_and_moves_a_case(deps: Deps) -> None:
    client = create_review_app(lambda: deps).test_client()
    page = client.get("/brands/acme/items/s-t2-new", headers=auth()).text
    assert "No case: confirming the item opens one." in page
    # a notice before confirmation is refused
    assert client.post("/brands/acme/items/s-t2-new/notice", json={}, headers=auth()).status_code == 409
    assert (
        client.post(
            "/brands/acme/items/s-t2-new/decision", data={"decision": "confirm"}, headers=auth()
        ).status_code
        == 303
    )
    case = deps.docs.get("brands/acme/cases/s-t2-new")
    assert case["state"] == "confirmed" and case["updated_by"] == "Jane Doe"  # the person, not token-…
    resp = client.post(
        "/brands/acme/items/s-t2-new/notice", json={"test_buy_order_id": "TB-1"}, headers=auth()
    )
    assert resp.status_code == 200, resp.text
    assert resp.json["state"] == "notice_generated" and "notice.json" in resp.json["files"]  # a Tier-2 item
    page = client.get("/brands/acme/items/s-t2-new", headers=auth()).text
    assert 'id="case-state">notice_generated' in page and "amazon-report.csv" in page
    notice = client.get("/brands/acme/items/s-t2-new/notice/notice.json", headers=auth())
    assert notice.status_code == 200 and notice.json["test_buy_order_id"] == "TB-1"
    assert client.get("/brands/acme/items/s-t2-new/notice/manifest.json", headers=auth()).status_code == 404
    resp = client.post("/brands/acme/items/s-t2-new/case", json={"state": "removed"}, headers=auth())
    assert resp.status_code == 409  # not submitted yet
    resp = client.post(
        "/brands/acme/items/s-t2-new/case", json={"state": "submitted", "note": "RAV 77"}, headers=auth()
    )
    assert resp.status_code == 200 and resp.json["state"] == "submitted"
    listed = client.get("/cases", headers=auth()).json
    assert [c["scan_id"] for c in listed["cases"]] == ["s-t2-new"]
    assert [m["submitted"] for m in listed["metrics"].values()] == [1]


def test_cli_cases_notice_list_show_set_state_export(deps: Deps, tmp_path: Path, monkeypatch, capsys) -> None:
    from common.cli import main
    from common.enforcement.cases import open_case
    from common.review.queue import record_decision

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COUNTERFEIT_BRANDS", raising=False)
    get_settings.cache_clear()
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)
    record_decision(deps.docs, "acme", "s-t1-new", action="confirm", note="", reviewer="x", now=now)
    open_case(deps.docs, "acme", "s-t1-new", by="Jane Doe", now=now, marketplace="shopmart", listing_id="l")
    capsys.readouterr()
    assert main(["cases", "set-state", "--brand", "acme", "s-t1-new", "submitted", "--by", "Jo"]) == 2
    assert "can move to notice_generated, not submitted" in capsys.readouterr().err
    assert (
        main(["cases", "notice", "--brand", "acme", "s-t1-new", "--by", "Jo", "--no-screenshot", "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert (
        summary["state"] == "notice_generated" and "dmca-notice.txt" not in summary["files"]
    )  # no copy signal
    assert (
        main(["cases", "set-state", "--brand", "acme", "s-t1-new", "submitted", "--by", "Jo", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["state"] == "submitted"
    assert main(["cases", "list", "--brand", "acme", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["scan_id"] == "s-t1-new" and "metrics" in rows[-1]
    assert main(["cases", "show", "--brand", "acme", "s-t1-new", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["to"] for e in shown["trail"]] == ["confirmed", "notice_generated", "submitted"]
    assert shown["trail_problems"] == []
    assert (
        main(["cases", "export", "--brand", "acme", "s-t1-new", "--out", str(tmp_path / "out"), "--json"])
        == 0
    )
    out = Path(json.loads(capsys.readouterr().out)["out"])
    assert (out / "notice.json").is_file() and (out / "case-trail.json").is_file()
    from common.evidence.manifest import verify_bundle

    assert [p for p in verify_bundle(out) if "case-trail.json" not in p] == []
    get_settings.cache_clear()
