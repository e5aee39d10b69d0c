"""A reviewer working the queue with the keyboard only, in real Chromium (Playwright): shared by the embedded
browser test and the Firestore-emulator one, so both measure the same session.

The reviewer opens the queue, opens the first row with ``o`` and decides every item with ``c`` (the title
says replica) or ``r`` (genuine), landing on the next item after each decision, until the view is empty. The
decision rate is measured from the first key press to the queue page after the last decision.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from common.evidence.screenshot import CHROMIUM_FLAGS, find_chromium

WINDOW = {"width": 1280, "height": 900}
CONTROLS = ("#confirm", "#reject", "#not-sure")


@dataclass
class KeyboardRun:
    decided: dict[str, str]  # scan id -> key pressed
    seconds: float
    controls_bottom_px: float  # the lowest decision button's bottom edge on the first item page

    @property
    def per_minute(self) -> float:
        return len(self.decided) * 60.0 / self.seconds


def launch(pw: Any) -> Any:
    return pw.chromium.launch(
        executable_path=find_chromium(),
        args=[f for f in CHROMIUM_FLAGS if f != "--headless"],
        headless=True,
    )


@contextlib.contextmanager
def signed_in_page(base: str, token: str) -> Iterator[Any]:
    """A 1280x900 Chromium page signed in to the review app at ``base`` (the login link, then its cookie)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport=WINDOW)
            page.goto(f"{base}/?token={token}")
            yield page
        finally:
            browser.close()


def controls_bottom(page: Any) -> float:
    """The lowest bottom edge of the three decision buttons, in CSS px from the top of the page."""
    return max(
        page.eval_on_selector(sel, "b => b.getBoundingClientRect().bottom + window.scrollY")
        for sel in CONTROLS
    )


def review_with_keys(base: str, token: str, expected: int, query: str = "") -> KeyboardRun:
    """Decide every item of the view (``query``: the queue's filters) with keys only."""
    from playwright.sync_api import expect

    with signed_in_page(base, token) as page:
        page.goto(f"{base}/?{query}")
        expect(page.locator("#queue tr.item.selected")).to_have_count(1)  # review.js ran under the CSP
        bottom = None
        decided: dict[str, str] = {}
        started = time.perf_counter()
        with page.expect_navigation():
            page.keyboard.press("o")
        while page.locator("#decision-panel").count():
            if bottom is None:
                bottom = controls_bottom(page)
            scan = page.get_attribute("#decision-panel", "data-scan")
            title = page.inner_text("#facts")
            key = "c" if "Replica" in title else "r"
            with page.expect_navigation():
                page.keyboard.press(key)
            decided[str(scan)] = key
            if len(decided) > expected:
                raise AssertionError(f"more than {expected} items were offered")
        seconds = time.perf_counter() - started
        expect(page.locator("#empty")).to_be_visible()
    return KeyboardRun(decided, seconds, bottom if bottom is not None else float("inf"))
