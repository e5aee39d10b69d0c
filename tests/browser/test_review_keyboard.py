"""Fast review in real Chromium: 50 items decided with keys only (the decision rate is printed, not asserted),
decision controls above the fold of a 1280x900 window, keys silent while typing, the key list, matched regions
drawn where the signal found them, and a bulk decision from ticked rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.bootstrap import Deps, build_deps
from common.evidence.screenshot import find_chromium
from common.settings import Settings
from tests.support.review_keys import WINDOW, review_with_keys, signed_in_page
from tests.support.review_seed import backlog_title, seed_backlog
from tests.support.review_server import served_review_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed"),
]
TOKEN = "keyboard-test-token"
ITEMS = 50


@pytest.fixture
def backlog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Deps, list[str]]]:
    deps = build_deps(Settings(home=tmp_path / "home", review_tokens={TOKEN: ("acme",)}))
    deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    order = seed_backlog(deps, tmp_path, "acme", request.param)
    seed_backlog(deps, tmp_path, "other", 3)  # another tenant's items: never offered, never decided
    with served_review_app(deps) as base:
        yield base, deps, order


@pytest.mark.parametrize("backlog", [ITEMS], indirect=True)
def test_fifty_items_decided_with_keys_only(backlog: tuple[str, Deps, list[str]]) -> None:
    base, deps, order = backlog
    run = review_with_keys(base, TOKEN, ITEMS)
    print(
        f"\nkeyboard review: {len(run.decided)} items in {run.seconds:.1f} s = {run.per_minute:.0f} decisions/min"
        f" (embedded store; controls bottom at {run.controls_bottom_px:.0f} px of {WINDOW['height']})"
    )
    assert list(run.decided) == order  # each decision led to the next item of the view, in queue order
    for i in range(ITEMS):
        review = deps.docs.get(f"brands/acme/verdicts/acme-{i:03d}")["review"]
        want = "confirmed" if "Replica" in backlog_title(i) else "rejected"
        assert review["decision"] == want, (i, review)
    assert run.controls_bottom_px <= WINDOW["height"]
    assert all("review" not in deps.docs.get(f"brands/other/verdicts/other-{i:03d}") for i in range(3))


@pytest.mark.parametrize("backlog", [4], indirect=True)
def test_keys_wait_while_typing_help_regions_and_bulk(backlog: tuple[str, Deps, list[str]]) -> None:
    from playwright.sync_api import expect

    base, deps, order = backlog
    first = order[0]  # a Tier-1 item: its logo hit box [40, 30, 120, 80] in a 320x240 image
    with signed_in_page(base, TOKEN) as page:
        page.goto(f"{base}/brands/acme/items/{first}")
        page.click("textarea[name=note]")
        page.keyboard.type("cru jk")  # every letter a shortcut; none fires inside the field
        assert page.url.endswith(f"/items/{first}")
        assert "review" not in deps.docs.get(f"brands/acme/verdicts/{first}")
        page.keyboard.press("Escape")
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#keys-help")).to_be_hidden()

        page.wait_for_function("() => document.querySelector('#candidate').complete")
        img = page.locator("#candidate").bounding_box()
        rect = page.locator("#regions rect").bounding_box()
        assert img and rect
        scale = img["width"] / 320
        for got, want in ((rect["x"] - img["x"], 40), (rect["y"] - img["y"], 30),
                          (rect["width"], 120), (rect["height"], 80)):  # fmt: skip
            assert abs(got - want * scale) <= 3, (got, want * scale)  # stroke half-width either side

        with page.expect_navigation():
            page.keyboard.press("u")
        review = deps.docs.get(f"brands/acme/verdicts/{first}")["review"]
        assert (review["decision"], review["note"]) == ("not_sure", "cru jk")
        assert page.get_attribute("#decision-panel", "data-scan") == order[1]
        expect(page.locator("#prev-item")).to_have_attribute(
            "href", f"/brands/acme/items/{first}?show=pending"
        )

        page.goto(f"{base}/")  # bulk: tick the first two rows with x, one note, confirm
        for key in ("x", "j", "x"):
            page.keyboard.press(key)
        page.fill("#bulk-note", "same seller, same photo")
        page.click("#bulk-confirm")
        expect(page.locator("#bulk-summary")).to_have_text("2 decided.")
    for scan in order[1:3]:
        review = deps.docs.get(f"brands/acme/verdicts/{scan}")["review"]
        assert (review["decision"], review["note"]) == ("confirmed", "same seller, same photo")


@pytest.mark.parametrize("backlog", [6], indirect=True)
def test_dashboard_charts_render_under_the_csp(backlog: tuple[str, Deps, list[str]]) -> None:
    from playwright.sync_api import expect

    base, _, _ = backlog
    with signed_in_page(base, TOKEN) as page:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.click("#dashboard-link")
        for chart in ("#chart-tiers", "#chart-age", "#chart-reviewers", "#chart-sellers", "#chart-clusters"):
            box = page.locator(chart).bounding_box()
            assert box and box["width"] > 200 and box["height"] > 50, chart
        expect(page.locator("#chart-tiers rect.bar")).to_have_count(2)  # Tier 1 and Tier 2 of one day
        expect(page.locator("#chart-sellers rect.bar").first).to_be_visible()
        assert problems == []  # no CSP refusal, no failed load
