"""A screenshot of the listing page with headless Debian Chromium, for the evidence bundle.

Why a subprocess and not a browser library: the evidence step runs rarely (Tier 1 only), the system ``chromium``
is what the Debian image ships, and a subprocess in its own session can be killed as a group on timeout.
The listing URL is untrusted: only http(s), and the host must resolve to public addresses (unless
``fetch_allow_private``, set only by the local stack and tests); the checked address is pinned with
``--host-resolver-rules`` so a DNS answer cannot change between the check and the load.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from common import fetch
from common.errors import FetchRefused

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Flags from the issue brief: no GPU/QUIC/first-run/background traffic, a fresh profile per run.
CHROMIUM_FLAGS = (
    "--headless",
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
# A listing page normally renders in 1-5 s; 30 s leaves room for slow marketplaces without stalling the step.
SCREENSHOT_TIMEOUT_S = 30.0


class ScreenshotFailed(RuntimeError):
    """The page could not be captured; the reason is safe to record in the manifest."""


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def _pinned_address(url: str, allow_private: bool) -> tuple[str, str | None]:
    """(host, address to pin or None for an IP literal); the same SSRF rules as ``common.fetch``."""
    _scheme, host, port, _path = fetch._split(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return host, fetch.resolve(host, port, allow_private=allow_private)
    why = fetch.check_address(literal, allow_private=allow_private)
    if why is not None:
        raise FetchRefused(f"refused: the listing URL points at {why}")
    return host, None


def take_screenshot(
    url: str,
    *,
    allow_private: bool = False,
    timeout_s: float = SCREENSHOT_TIMEOUT_S,
    chromium: str | None = None,
) -> bytes:
    """PNG bytes of ``url`` rendered by headless Chromium, or ScreenshotFailed/FetchRefused with the reason."""
    host, pin = _pinned_address(url, allow_private)
    binary = chromium or find_chromium()
    if binary is None:
        raise ScreenshotFailed("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="evidence-shot-") as tmp:
        out = Path(tmp) / "shot.png"
        args = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
            f"--screenshot={out}",
        ]
        if pin is not None:
            args.append(f"--host-resolver-rules=MAP {host} {pin}")
        args.append(url)
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp
        )
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise ScreenshotFailed(f"chromium did not finish within {timeout_s:g} s") from exc
        finally:
            # Chromium leaves helper processes (zygote, GPU, network); end the whole group we started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.returncode != 0 or not out.is_file():
            raise ScreenshotFailed(f"chromium exited with status {proc.returncode} and no screenshot")
        data = out.read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ScreenshotFailed("chromium wrote something that is not a PNG")
    return data
