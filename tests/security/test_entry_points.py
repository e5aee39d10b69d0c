"""Tenant isolation through every entry point: a caller authorised for "acme" tries to read or write "globex"
(verdicts, references, evidence) and gets a clear 403-style error; nothing of globex changes.

CLI and evaluate: ``common.cli.main([...])`` with ``COUNTERFEIT_BRANDS``; webhook: functions-framework's test
client with the marketplace registered for acme; review page: Flask's test client with an acme token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.settings import get_settings
from tests.support import local_functions as lf
from tests.support.kits import jpeg_bytes, pattern_image, tiny_kit
from tests.support.webhooks import MARKETPLACE, signed


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two brands registered and one globex scan done by the local operator (no COUNTERFEIT_BRANDS)."""
    from common.cli import main

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    for brand in ("acme", "globex"):
        assert main(["brand", "add", str(tiny_kit(tmp_path / f"kit-{brand}", brand))]) == 0
    image = tmp_path / "cand.jpg"
    image.write_bytes(jpeg_bytes(pattern_image(1)))
    assert main(["scan", "--brand", "globex", "--json", str(image)]) == 0
    yield tmp_path
    get_settings.cache_clear()


def _globex_state() -> dict[str, object]:
    from common.bootstrap import build_deps

    deps = build_deps(get_settings())
    return {
        "brand": deps.docs.get("brands/globex"),
        "scans": [p for p, _ in deps.docs.list("brands/globex/scans")],
        "verdicts": [p for p, _ in deps.docs.list("brands/globex/verdicts")],
        "references": [p for p, _ in deps.docs.list("brands/globex/references")],
    }


def test_cli_scan_and_brand_add_refuse_another_brand(home: Path, monkeypatch, capsys) -> None:
    from common.cli import main

    before = _globex_state()
    assert before["verdicts"]
    capsys.readouterr()
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()

    assert main(["scan", "--brand", "globex", "--json", str(home / "cand.jpg")]) == 2
    err = capsys.readouterr().err
    assert "403 forbidden" in err and "'globex'" in err
    assert main(["brand", "add", str(home / "kit-globex")]) == 2
    assert "403 forbidden" in capsys.readouterr().err
    assert _globex_state() == before

    assert main(["brand", "list"]) == 0
    listed = capsys.readouterr().out
    assert "acme" in listed and "globex" not in listed
    assert main(["scan", "--brand", "acme", "--json", str(home / "cand.jpg")]) == 0
    assert "tier" in json.loads(capsys.readouterr().out.splitlines()[0])


def test_cli_unknown_and_forbidden_brands_look_the_same(home: Path, monkeypatch, capsys) -> None:
    """A restricted caller learns nothing about which other brands exist."""
    from common.cli import main

    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["scan", "--brand", "initech", "--json", str(home / "cand.jpg")]) == 2
    assert "403 forbidden" in capsys.readouterr().err


def test_evaluate_refuses_another_brand(home: Path, monkeypatch, capsys) -> None:
    from common.cli import main

    labels = home / "labels.jsonl"
    labels.write_text(json.dumps({"listing_id": "cand.jpg", "label": "counterfeit"}) + "\n")
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    before = _globex_state()
    code = main(["evaluate", "--brand", "globex", "--labels", str(labels), "--out", str(home / "report")])
    captured = capsys.readouterr()
    assert code == 2
    assert "403 forbidden" in captured.err + captured.out
    assert not (home / "report" / "report.html").exists()
    assert _globex_state() == before


@pytest.fixture
def webhook(local_backend):
    deps = lf.deps()
    for brand in ("acme", "globex"):
        deps.docs.set(f"brands/{brand}", {"brand": brand, "display_name": brand.upper(), "version": "v1"})
    deps.docs.set(f"marketplaces/{MARKETPLACE}", {"brands": ["acme"]})
    return lf.client("ingest_webhook")


def _listing(brand: str) -> dict:
    import base64

    inline = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(pattern_image(2))).decode()
    return {"brand": brand, "listing_id": "mkt-1", "image": inline, "title": "runner"}


def test_webhook_refuses_a_brand_the_marketplace_is_not_registered_for(webhook) -> None:
    body, headers = signed(_listing("globex"))
    response = webhook.post("/", data=body, headers=headers)
    assert response.status_code == 403, response.get_json()
    assert "globex" in response.get_json()["error"]
    assert lf.deps().docs.list("brands/globex/scans") == []
    assert lf.deps().docs.list("brands/globex/listings") == []
    assert lf.deps().blobs.list(lf.deps().settings.candidates_bucket, "_listings/globex/") == []
    body, headers = signed(_listing("acme"))
    assert webhook.post("/", data=body, headers=headers).status_code == 202


def test_webhook_from_an_unregistered_marketplace_gets_no_brand(webhook) -> None:
    lf.deps().docs.delete(f"marketplaces/{MARKETPLACE}")
    body, headers = signed(_listing("acme"))
    response = webhook.post("/", data=body, headers=headers)
    assert response.status_code == 403
    assert lf.deps().docs.list("brands/acme/scans") == []


@pytest.fixture
def review(tmp_path: Path):
    from common.bootstrap import build_deps
    from common.review.app import create_review_app
    from common.settings import Settings
    from tests.support.review_seed import seed_review_data

    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok-acme": ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_review_data(deps, tmp_path)
    return deps, create_review_app(lambda: deps).test_client()


def test_review_page_refuses_another_brand(review) -> None:
    deps, client = review
    auth = {"Authorization": "Bearer tok-acme"}
    other = [p.rsplit("/", 1)[1] for p, _ in deps.docs.list("brands/other/verdicts")]
    assert other
    before = {p: d for p, d in deps.docs.list("brands/other/verdicts")}
    for scan_id in other:
        for path in ("", "/images/candidate", "/images/reference", "/report.pdf"):
            response = client.get(f"/brands/other/items/{scan_id}{path}", headers=auth)
            assert response.status_code == 403, (path, response.status_code)
            assert b"may not review this brand" in response.data
        response = client.post(
            f"/brands/other/items/{scan_id}/decision", data={"decision": "reject"}, headers=auth
        )
        assert response.status_code == 403
    assert client.get("/?brand=other", headers=auth).status_code == 403
    listed = client.get("/", headers=auth | {"Accept": "application/json"}).get_json()
    assert listed and {item["scan_id"] for item in listed}.isdisjoint(other)
    assert {p: d for p, d in deps.docs.list("brands/other/verdicts")} == before
    assert client.get("/brands/other/items/x", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_cli_marketplace_registration_is_scoped(home: Path, monkeypatch, capsys) -> None:
    """`counterfeit marketplace add` opens the webhook for a brand; a restricted caller can do it only for its
    own brands and cannot edit a marketplace that also serves another brand (its callback URL would move)."""
    from common.bootstrap import build_deps
    from common.cli import main

    assert main(["marketplace", "add", "shared-mkt", "--brand", "globex"]) == 0
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["marketplace", "add", "acme-mkt", "--brand", "acme", "--callback-url", "https://m/x"]) == 0
    assert main(["marketplace", "add", "acme-mkt", "--brand", "globex"]) == 2
    assert "403 forbidden" in capsys.readouterr().err
    assert (
        main(["marketplace", "add", "shared-mkt", "--brand", "acme", "--callback-url", "https://evil/"]) == 2
    )
    assert "403 forbidden" in capsys.readouterr().err
    assert main(["marketplace", "add", "bad id", "--brand", "acme"]) == 2
    docs = build_deps(get_settings()).docs
    assert docs.get("marketplaces/acme-mkt") == {"brands": ["acme"], "callback_url": "https://m/x"}
    assert docs.get("marketplaces/shared-mkt") == {"brands": ["globex"]}


def test_calibrate_refuses_another_brand(home: Path, monkeypatch, capsys) -> None:
    from common.cli import main

    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["calibrate", "--brand", "globex"]) == 2
    assert "403 forbidden" in capsys.readouterr().err
    assert main(["calibrate", "--brand", "acme"]) == 0


def test_hash_list_commands_refuse_another_brand(home: Path, monkeypatch, capsys) -> None:
    """`counterfeit hashes …` for globex from an acme shell: 403 before any read, and no globex list appears."""
    from common.bootstrap import build_deps
    from common.cli import main

    listing = home / "list.te"
    listing.write_text(f"pdq {'a5' * 32}\n")
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    for argv in (
        ["hashes", "import", "--brand", "globex", str(listing), "--source", "x"],
        ["hashes", "export", "--brand", "globex"],
        ["hashes", "list", "--brand", "globex"],
        ["hashes", "remove", "--brand", "globex", "--source", "x"],
        ["hashes", "import", "--brand", "initech", str(listing), "--source", "x"],  # unknown looks the same
    ):
        assert main(argv) == 2, argv
        assert "403 forbidden" in capsys.readouterr().err, argv
    assert build_deps(get_settings()).docs.list("brands/globex/hashlists") == []
    assert main(["hashes", "import", "--brand", "acme", str(listing), "--source", "x"]) == 0


def test_cases_commands_refuse_another_brand(home: Path, monkeypatch, capsys) -> None:
    """`counterfeit cases …` for globex from an acme shell: 403 before any read; globex's case stays as it was."""
    from common.bootstrap import build_deps
    from common.cli import main
    from common.enforcement.cases import open_case

    deps = build_deps(get_settings())
    scan_id = deps.docs.list("brands/globex/verdicts")[0][0].rsplit("/", 1)[1]
    now = datetime(2026, 11, 22, tzinfo=UTC)
    open_case(deps.docs, "globex", scan_id, by="Globex Legal", now=now, marketplace=None, listing_id="x")
    before = deps.docs.get(f"brands/globex/cases/{scan_id}")
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "acme")
    get_settings.cache_clear()
    capsys.readouterr()
    for argv in (
        ["cases", "list", "--brand", "globex"],
        ["cases", "show", "--brand", "globex", scan_id],
        ["cases", "export", "--brand", "globex", scan_id, "--out", str(home / "out")],
        ["cases", "set-state", "--brand", "globex", scan_id, "submitted", "--by", "Mallory"],
        ["cases", "notice", "--brand", "globex", scan_id, "--by", "Mallory"],
        ["cases", "list", "--brand", "initech"],  # unknown looks the same
    ):
        assert main(argv) == 2, argv
        assert "403 forbidden" in capsys.readouterr().err, argv
    assert build_deps(get_settings()).docs.get(f"brands/globex/cases/{scan_id}") == before
    assert not (home / "out").exists()
