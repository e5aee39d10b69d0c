"""The cluster view in a real browser (Playwright + Debian's Chromium, the app on a free loopback port): from
the header to the cluster list, open the cluster, check its members (tiers, sellers, marketplaces), override
two members, decide the rest at once, and see the seller ranking count the confirmed listings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.evidence.screenshot import CHROMIUM_FLAGS, find_chromium
from common.review.app import create_review_app, serve
from common.settings import Settings
from tests.support.cluster_seed import seed_clusters

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
    server = serve(create_review_app(lambda: deps), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", deps
    finally:
        server.shutdown()
        server.server_close()


def test_decide_a_cluster_with_overrides_in_a_real_browser(served: tuple[str, Deps]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, deps = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=find_chromium(),
            args=[f for f in CHROMIUM_FLAGS if f != "--headless"],
            headless=True,
        )
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
