"""The cluster view in a real browser (Playwright + Debian's Chromium, the app on a free loopback port): from
the header to the cluster list, open the cluster, check its members (tiers, sellers, marketplaces), override
two members, decide the rest at once, and see the seller ranking count the confirmed listings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.evidence.screenshot import find_chromium
from common.settings import Settings
from tests.support.cluster_seed import seed_clusters
from tests.support.review_keys import launch
from tests.support.review_server import served_review_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed"),
]
TOKEN = "browser-cluster-token"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Deps]]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={TOKEN: ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    seed_clusters(deps)
    with served_review_app(deps) as base:
        yield base, deps


def test_decide_a_cluster_with_overrides_in_a_real_browser(served: tuple[str, Deps]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, deps = served
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/?token={TOKEN}")
            page.get_by_role("link", name="Clusters").click()
            clusters = page.locator("#clusters tr.cluster")
            expect(clusters).to_have_count(1)  # acme's one cluster; the lone listing and brand other: none
            expect(clusters.first).to_contain_text("5")
            clusters.first.get_by_role("link").click()

            members = page.locator("#members tr.member")
            expect(members).to_have_count(5)
            expect(page.locator("#summary")).to_contain_text("4 seller accounts")
            for market in ("shopmart", "bazaar", "marketo"):
                expect(page.locator("#summary")).to_contain_text(market)
            expect(page.locator('tr.member[data-listing="dup-c"] td.t2')).to_have_text("Tier 2")
            first = page.locator("#members img.thumb").first  # thumbnails really load
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle())

            page.select_option('select[name="member:dup-e"]', "reject")  # another photo: not this batch
            page.select_option('select[name="member:dup-d"]', "keep")
            page.fill("textarea[name=note]", "same batch photo")
            page.click("#cluster-confirm")

            expect(page.locator("#flash")).to_contain_text("Decisions recorded for 4 listings")
            expect(page.locator('tr.member[data-listing="dup-a"] td.state')).to_have_text("confirmed")
            expect(page.locator('tr.member[data-listing="dup-e"] td.state')).to_have_text("rejected")
            expect(page.locator('tr.member[data-listing="dup-d"] td.state')).to_have_text("pending")

            page.get_by_role("link", name="Sellers").first.click()
            top = page.locator("#sellers tr.seller").first
            expect(top).to_have_attribute("data-seller", "dup-1")
            expect(top.locator("td.confirmed")).to_have_text("1")
            expect(page.locator("#sellers tr.seller")).to_have_count(3)
        finally:
            browser.close()
    review = deps.docs.get("brands/acme/verdicts/sc-dup-b")["review"]
    assert review["decision"] == "confirmed" and review["note"].endswith("same batch photo")
    assert deps.docs.get("brands/acme/cases/sc-dup-c")["state"] == "confirmed"
    assert deps.docs.get("brands/acme/verdicts/sc-dup-d").get("review") is None
