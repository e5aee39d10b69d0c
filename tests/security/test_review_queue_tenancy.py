"""The queue's new surfaces hold tenant isolation: exports, JSON pages, cursors and counts only ever carry the
reviewer's own brands, whatever the query string says."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import build_deps
from common.review.app import create_review_app
from common.review.queue_list import encode_cursor
from common.settings import Settings
from tests.support.review_seed import seed_review_data

ACME = {"Authorization": "Bearer tok-acme"}


@pytest.fixture
def client(tmp_path: Path):
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={"tok-acme": ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    seed_review_data(deps, tmp_path)
    return create_review_app(lambda: deps).test_client()


def test_exports_and_json_pages_carry_only_the_reviewers_brands(client) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv?show=all", headers=ACME).text)))
    assert rows and {r["brand_id"] for r in rows} == {"acme"}
    listed = client.get("/export.json?show=all", headers=ACME).get_json()
    assert {r["brand_id"] for r in listed} == {"acme"} and "s-other" not in {r["scan_id"] for r in listed}
    page = client.get("/?show=all", headers=ACME | {"Accept": "application/json"}).get_json()
    assert {r["brand_id"] for r in page} == {"acme"}
    for url in ("/export.csv?brand=other", "/export.json?brand=other", "/?brand=other&show=all"):
        assert client.get(url, headers=ACME).status_code == 403, url
    assert client.get("/export.csv?brand=other").status_code == 401


def test_a_forged_cursor_naming_another_brand_shows_nothing_of_it(client) -> None:
    forged = encode_cursor({"other": [1, "2000-01-01T00:00:00+00:00", "zzz"]})
    page = client.get(f"/?show=all&after={forged}", headers=ACME | {"Accept": "application/json"}).get_json()
    assert {r["brand_id"] for r in page} == {"acme"}
    assert client.get("/?after=%%%", headers=ACME).status_code == 400


def test_csv_cells_from_listings_cannot_run_as_spreadsheet_formulas(client, tmp_path: Path) -> None:
    from common.review.queue_views import _csv_cell

    assert _csv_cell('=HYPERLINK("http://evil")').startswith("'=")
    assert _csv_cell("@SUM(A1)") == "'@SUM(A1)" and _csv_cell("plain") == "plain"
