"""A screenshot of the listing page with headless Debian Chromium, for the evidence bundle.

The listing URL and everything its page asks for are untrusted. Chromium is driven by Playwright and never
reaches the network itself: every request (navigation, redirect, frame, image, script, ``fetch()``) is
fetched by ``common.fetch`` under its SSRF rules and a page budget (``page_guard.PageGuard``), websockets are
refused, service workers blocked and downloads off. As a second wall, Chromium's own network stack is pointed at
a proxy port that refuses every connection (loopback included, ``<-loopback>``), so a request the interception
missed fails instead of reaching an internal address.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common import fetch

if TYPE_CHECKING:
    from common.evidence.page_guard import PageBudget, PageGuard

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# No GPU/QUIC/first-run/background traffic (Playwright adds headless mode and a fresh profile per launch).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)
# 1280x1600 shows a typical marketplace product page's image, title, price and seller without scrolling.
WINDOW_SIZE = (1280, 1600)
# Launch + page budget (PageBudget.max_seconds, 20 s) + capture; past it the browser is closed, nothing kept.
SCREENSHOT_TIMEOUT_S = 30.0
# After "load", wait this long at most for the network to go quiet (late images, client-side rendering).
SETTLE_S = 5.0
CAPTURE_TIMEOUT_S = 5.0
DOCUMENT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


class ScreenshotFailed(RuntimeError):
    """The page could not be captured; the reason is safe to record in the manifest."""


@dataclass(frozen=True)
class Screenshot:
    png: bytes
    final_url: str  # the listing URL after redirects
    requests: int  # requests fetched for the page, the listing itself included
    bytes_fetched: int
    refused: tuple[str, ...]  # "url: reason" for the first refused requests
    refused_count: int
    stopped: str | None  # why loading stopped early (page budget, a load error), or None


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def launch_args(proxy_port: int) -> list[str]:
    """Chromium flags for a guarded shot: every connection of its own goes to a port that refuses it."""
    return [
        *CHROMIUM_FLAGS,
        f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",  # Chromium otherwise sends loopback around the proxy
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",  # no STUN/UDP to addresses a page names
    ]


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A 127.0.0.1 port bound but never listening: connections to it are refused at once, and while we hold
    it nothing else can listen there."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def take_screenshot(
    url: str,
    *,
    allow_private: bool = False,
    timeout_s: float = SCREENSHOT_TIMEOUT_S,
    chromium: str | None = None,
    budget: PageBudget | None = None,
) -> Screenshot:
    """``url`` rendered by headless Chromium with every request guarded; ScreenshotFailed/FetchRefused with
    the reason when there is nothing to keep (the listing URL itself refused, no browser, a browser failure)."""
    _scheme, host, port, _path = fetch._split(url)
    fetch.resolve(host, port, allow_private=allow_private)  # refuse before starting anything
    binary = chromium or find_chromium()
    if binary is None:
        raise ScreenshotFailed("chromium is not installed")
    try:
        from common.evidence.page_guard import PageBudget, PageGuard
    except ImportError as exc:
        raise ScreenshotFailed("playwright is not installed (pip install playwright)") from exc
    guard = PageGuard(budget or PageBudget(), allow_private)
    with refusing_port() as proxy_port, ThreadPoolExecutor(1) as pool:
        # A loop of its own in a thread of its own: callers may already run an event loop.
        final_url, png, load_error = pool.submit(
            asyncio.run, _capture(binary, guard, url, proxy_port, timeout_s)
        ).result()
    return Screenshot(
        png=png,
        final_url=final_url,
        requests=guard.requests,
        bytes_fetched=guard.bytes_fetched,
        refused=tuple(guard.refused),
        refused_count=guard.refused_count,
        stopped=guard.exhausted or load_error,
    )


async def _capture(
    binary: str, guard: PageGuard, url: str, proxy_port: int, timeout_s: float
) -> tuple[str, bytes, str | None]:
    from playwright.async_api import Error as PlaywrightError

    try:
        final_url, png, load_error = await asyncio.wait_for(
            _load_and_shoot(binary, guard, url, proxy_port), timeout_s
        )
    except TimeoutError as exc:
        raise ScreenshotFailed(f"the page was not captured within {timeout_s:g} s") from exc
    except PlaywrightError as exc:
        raise ScreenshotFailed(f"chromium failed: {_first_line(exc)}") from exc
    if not png.startswith(b"\x89PNG"):
        raise ScreenshotFailed("chromium returned something that is not a PNG")
    return final_url, png, load_error


async def _load_and_shoot(
    binary: str, guard: PageGuard, url: str, proxy_port: int
) -> tuple[str, bytes, str | None]:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=binary, args=launch_args(proxy_port), headless=True
        )
        try:
            context = await browser.new_context(
                viewport={"width": WINDOW_SIZE[0], "height": WINDOW_SIZE[1]},
                accept_downloads=False,
                service_workers="block",  # a service worker's own requests would bypass context.route
            )
            await context.route("**/*", guard.on_route)
            await context.route_web_socket("**/*", guard.on_websocket)
            page = await context.new_page()
            # The listing itself, fetched as this browser would ask for it (FetchRefused propagates: a listing
            # that redirects inside the network has nothing to show).
            agent = await page.evaluate("navigator.userAgent")
            first = await guard.open_listing(url, {"User-Agent": agent, "Accept": DOCUMENT_ACCEPT})
            context.on("page", lambda popup: asyncio.ensure_future(popup.close()))  # window.open: not ours
            load_error = None
            try:
                await page.goto(first.url, wait_until="load", timeout=_ms(guard.remaining_s()))
            except PlaywrightError as exc:  # a slow or broken page is still captured as far as it got
                load_error = f"the page did not finish loading: {_first_line(exc)}"
            else:
                with contextlib.suppress(PlaywrightError):  # pages that keep polling never go quiet
                    await page.wait_for_load_state(
                        "networkidle", timeout=_ms(min(SETTLE_S, guard.remaining_s()))
                    )
            png = await page.screenshot(timeout=CAPTURE_TIMEOUT_S * 1000)
        finally:
            guard.close()
            await browser.close()
    return first.url, png, load_error


def _ms(seconds: float) -> float:
    return max(1.0, seconds * 1000)  # Playwright reads 0 as "no timeout"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
