"""Every request the screenshot browser makes goes through ``common.fetch`` and a page budget, or nowhere.

A listing page is hostile: it can redirect, meta-refresh, frame, embed, ``fetch()`` or open a websocket to
127.0.0.1, the VPC or the metadata server, and whatever Chromium renders lands in the evidence bundle and the
PDF. So Chromium never touches the network itself: ``PageGuard.on_route`` (installed with
``context.route("**/*")``) fetches each request with our SSRF-safe fetcher (address policy, DNS pinned per
connection, redirects followed by the fetcher and re-checked at every hop) and fulfils the route with the answer;
anything the fetcher refuses, or anything past the budget, is aborted and recorded. Websockets are refused
(``on_websocket``). Playwright does not intercept the follow-up of a redirect it did not see, which is why
redirects are followed here and a redirected *navigation* is fulfilled with ``Refresh: 0; url=<final>`` (a new,
intercepted navigation, answered from the fetched result) so relative links resolve against the final URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urldefrag

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route, WebSocketRoute

from common import fetch
from common.errors import FetchRefused
from common.fetch import FetchResult

# Request headers passed on from Chromium (canonical case, so they replace the fetcher's defaults). Never
# Accept-Encoding (the fetcher asks for identity: no decoding, no bombs), Host, Cookie or hop-by-hop headers.
FORWARDED_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Referer", "User-Agent")
# Requests fetched at once: a browser opens ~6 connections per host; the fetches run in worker threads.
CONCURRENT_FETCHES = 6
# Refusals kept word for word in the manifest; the rest are counted.
REFUSALS_KEPT = 20


@dataclass(frozen=True)
class PageBudget:
    """What one listing page may cost. HTTP Archive's median desktop page is about 2 MB in about 70 requests;
    marketplace product pages are heavier, so these are several times that: they admit a real page and stop one
    that loads without end."""

    max_requests: int = 300
    max_total_bytes: int = 30_000_000
    max_resource_bytes: int = 10_000_000  # one response; a product photo or script bundle is far smaller
    max_seconds: float = 20.0  # from the start (browser launch included); then requests are aborted and the
    # page is captured as far as it got
    fetch_timeout_s: float = 10.0  # one request (connect, headers and body), within max_seconds


@dataclass
class PageGuard:
    """Route and websocket handlers for one page load, with what they fetched, refused and why they stopped."""

    budget: PageBudget
    allow_private: bool
    requests: int = 0
    bytes_fetched: int = 0
    refused: list[str] = field(default_factory=list)
    refused_count: int = 0
    exhausted: str | None = None  # why the budget stopped the page, once it did
    _started: float = field(default_factory=time.monotonic)
    _ready: dict[str, FetchResult] = field(default_factory=dict)  # fetched, awaiting its navigation
    _inflight: list[str] = field(default_factory=list)
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_FETCHES))
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(CONCURRENT_FETCHES))
    _closed: bool = False

    def remaining_s(self) -> float:
        return self.budget.max_seconds - (time.monotonic() - self._started)

    def refuse(self, url: str, reason: str) -> None:
        if self._closed:
            return  # requests made while the browser shuts down are not part of the captured page
        self.refused_count += 1
        if len(self.refused) < REFUSALS_KEPT:
            self.refused.append(f"{url[:200]}: {reason[:200]}")

    def _over_budget(self) -> str | None:
        if self.exhausted is None:
            if self.requests >= self.budget.max_requests:
                self.exhausted = f"page budget reached: {self.budget.max_requests} requests"
            elif self.bytes_fetched >= self.budget.max_total_bytes:
                self.exhausted = f"page budget reached: {self.budget.max_total_bytes} bytes"
            elif self.remaining_s() <= 0:
                self.exhausted = f"page budget reached: {self.budget.max_seconds:g} s"
        return self.exhausted

    def admit(self) -> tuple[int, float]:
        """Count one more request: (byte cap, timeout) it may use, or FetchRefused once the budget is spent."""
        if self._closed:
            raise FetchRefused("refused: the page was already captured")
        over = self._over_budget()
        if over is not None:
            raise FetchRefused(f"refused: {over}")
        self.requests += 1
        max_bytes = min(self.budget.max_resource_bytes, self.budget.max_total_bytes - self.bytes_fetched)
        return max_bytes, max(0.1, min(self.budget.fetch_timeout_s, self.remaining_s()))

    async def load(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> FetchResult:
        """One request under the SSRF rules and the budget; FetchRefused with the reason."""
        self._inflight.append(url)
        try:
            async with self._slots:  # admitted when a fetch thread is free, so its timeout is still true
                max_bytes, timeout_s = self.admit()
                call = functools.partial(
                    fetch.request, method, url, max_bytes=max_bytes, timeout_s=timeout_s,
                    allow_private=self.allow_private, body=body, headers=headers,
                )  # fmt: skip
                result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        finally:
            self._inflight.remove(url)
        self.bytes_fetched += len(result.body)
        return result

    async def open_listing(self, url: str, headers: dict[str, str]) -> FetchResult:
        """Fetch the listing page (redirects followed and checked) and keep it for the browser's navigation."""
        result = await self.load("GET", url, headers=headers)
        self._ready[urldefrag(result.url).url] = result
        return result

    async def on_route(self, route: Route) -> None:
        request = route.request
        url = request.url
        result = self._ready.pop(url, None) if request.method == "GET" else None
        if result is None:
            wanted = await request.all_headers()
            headers = {name: wanted[name.lower()] for name in FORWARDED_HEADERS if name.lower() in wanted}
            try:
                result = await self.load(request.method, url, request.post_data_buffer, headers)
            except FetchRefused as exc:
                self.refuse(url, str(exc))
                with contextlib.suppress(PlaywrightError):
                    await route.abort("blockedbyclient")
                return
        with contextlib.suppress(PlaywrightError):  # the page may be gone (budget over, browser closing)
            landed = urldefrag(result.url).url  # Chromium's request URLs carry no fragment
            if request.is_navigation_request() and landed != url:
                self._ready[landed] = result
                await route.fulfill(status=200, headers={"Refresh": f"0; url={result.url}"}, body=b"")
            else:
                ctype = {"Content-Type": result.content_type} if result.content_type else {}
                await route.fulfill(status=result.status, headers=ctype, body=result.body)

    def close(self) -> None:
        """The screenshot is taken: what is still loading is cut off and said so; fetch threads still running
        are left to their own deadline (the caller does not wait for them)."""
        self._over_budget()
        for url in self._inflight:
            self.refuse(url, "not loaded: still loading when the page was captured")
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def on_websocket(self, ws: WebSocketRoute) -> None:
        """Websockets are never opened: the fetcher speaks HTTP only, and a listing screenshot needs none."""
        self.refuse(ws.url, "refused: websockets are not opened by the screenshot browser")
        with contextlib.suppress(PlaywrightError):
            await ws.close(code=1008, reason="refused")
