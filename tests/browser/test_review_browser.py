"""End to end in a real browser: Playwright drives Debian's Chromium against the review app served on a free
loopback port. Open the queue, open an item, confirm it, see it leave the queue; confirm one, generate its takedown notice and
mark its case submitted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.evidence.screenshot import find_chromium
from common.settings import Settings
from tests.support.review_keys import launch
from tests.support.review_seed import seed_review_data
from tests.support.review_server import served_review_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed"),
]
TOKEN = "browser-test-token"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Deps]]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={TOKEN: ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    seed_review_data(deps, tmp_path)
    with served_review_app(deps) as base:
        yield base, deps


def test_confirm_an_item_in_a_real_browser(served: tuple[str, Deps], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, deps = served
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.goto(f"{base}/?token={TOKEN}")
            assert "token" not in page.url  # the login link is replaced by a cookie
            rows = page.locator("#queue tr.item")
            expect(rows).to_have_count(4)
            assert rows.first.get_attribute("data-scan") == "s-t1-new"

            page.get_by_role("link", name="listing-s-t1-new").click()
            expect(page.locator("#reasons")).to_contain_text("Visual match with front.jpg")
            for image in ("#candidate", "#reference"):  # both pictures really loaded and decoded
                # the page is shown before its images finish loading: wait for each (fails on a broken image)
                page.wait_for_function(
                    "sel => { const img = document.querySelector(sel); return img && img.complete; }",
                    arg=image,
                    timeout=10_000,
                )
                assert page.eval_on_selector(image, "img => img.naturalWidth > 0"), image
            page.fill("textarea[name=note]", "fake tag, same photo")
            page.click("#confirm")

            expect(page.locator("#flash")).to_contain_text("s-t1-new")  # on the next item of the view
            assert page.get_attribute("#decision-panel", "data-scan") == "s-t1-old"
            page.click("#back-to-queue")
            expect(rows).to_have_count(3)
            assert page.locator('tr.item[data-scan="s-t1-new"]').count() == 0
        finally:
            browser.close()
    review = deps.docs.get("brands/acme/verdicts/s-t1-new")["review"]
    assert (review["decision"], review["note"]) == ("confirmed", "fake tag, same photo")


def test_confirm_generate_notice_and_submit_a_case_in_a_real_browser(served: tuple[str, Deps]) -> None:
    """Confirm a Tier-2 item, generate its takedown notice, download notice.json, mark the case submitted."""
    from playwright.sync_api import expect, sync_playwright

    base, deps = served
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.goto(f"{base}/?token={TOKEN}")
            page.goto(f"{base}/brands/acme/items/s-t2-new")
            expect(page.locator("#case-state")).to_contain_text("No case")
            page.click("#confirm")
            page.goto(f"{base}/brands/acme/items/s-t2-new")
            expect(page.locator("#case-state")).to_have_text("confirmed")
            page.fill("input[name=test_buy_order_id]", "TB-42")
            page.click("#generate-notice")
            expect(page.locator("#case-state")).to_have_text("notice_generated")
            expect(page.locator("#notice-files")).to_contain_text("amazon-report.csv")
            with page.expect_download() as info:
                page.get_by_role("link", name="notice.json").click()
            notice_path = info.value.path()
            assert b'"test_buy_order_id": "TB-42"' in Path(notice_path).read_bytes()
            page.fill(
                "input[name=note]", "RAV complaint 77"
            )  # the case form (the decision note is a textarea)
            page.click("#case-submitted")
            expect(page.locator("#case-state")).to_have_text("submitted")
            expect(page.locator("#case-trail li")).to_have_count(3)
        finally:
            browser.close()
    case = deps.docs.get("brands/acme/cases/s-t2-new")
    assert case["state"] == "submitted" and case["events"] == 3
