"""Fuzz harnesses: one function per target, taking raw bytes, raising only on a real bug.

Shared by ``scripts/fuzz.py`` (atheris, coverage-guided) and by the regression tests in ``tests/hostile/`` that
replay every saved crash and every corpus seed. Each harness states which exceptions are the documented ones
(clear errors for bad input); anything else escaping is a crash.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from common.errors import BadImage
from common.settings import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS

# Trademarks the text harness always checks besides the fuzzed ones: Latin, multi-word, CJK, short.
FIXED_MARKS = ("ACME", "Acme Runner", "Louis Vuitton", "耐克", "Gap")
MAX_FUZZED_MARKS = 5
WEBHOOK_MARKETPLACE = "fuzz-market"
WEBHOOK_SECRET = "fuzz-secret"  # a throwaway key for the harness's own signatures


def image_target(data: bytes) -> None:
    """imaging.decode + preprocess: only BadImage may escape."""
    from common import imaging

    try:
        imaging.preprocess(data, max_bytes=DEFAULT_MAX_IMAGE_BYTES, max_pixels=DEFAULT_MAX_IMAGE_PIXELS)
    except BadImage as exc:
        if not str(exc):
            raise AssertionError("BadImage without a reason") from exc


def _offline() -> None:
    """The harness process must not touch the network: name resolution fails at the boundary (so a fuzzed
    image URL is refused quickly and deterministically instead of waiting for a DNS timeout)."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "fuzz harness: offline")

    socket.getaddrinfo = refuse  # type: ignore[assignment]


@functools.cache
def _webhook_deps() -> Any:
    from common.bootstrap import build_deps
    from common.settings import Settings

    _offline()
    home = Path(tempfile.mkdtemp(prefix="fuzz-webhook-"))
    settings = Settings(home=home, webhook_secrets={WEBHOOK_MARKETPLACE: (WEBHOOK_SECRET,)})
    deps = build_deps(settings)
    deps.docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "fuzz"})
    deps.docs.set(f"marketplaces/{WEBHOOK_MARKETPLACE}", {"brands": ["acme"]})
    return deps


def listing_target(data: bytes) -> None:
    """The listing parsers: a listings-file line (never raises: a Listing or a ListingError), every Pub/Sub
    message contract (only MalformedMessage), and the whole signed webhook (an HTTP answer below 500)."""
    from common import messages, scan, signing, webhook

    parsed = scan._parse_listing_line(data, 1)
    if not isinstance(parsed, messages.Listing | scan.ListingError):
        raise AssertionError(f"listing line parser returned {type(parsed).__name__}")
    for kind in (messages.ScanRequested, messages.ScanPreprocessed, messages.ChannelCompleted):
        with contextlib.suppress(messages.MalformedMessage):
            kind.from_pubsub(data)
    deps = _webhook_deps()
    headers = {
        webhook.MARKETPLACE_HEADER: WEBHOOK_MARKETPLACE,
        signing.SIGNATURE_HEADER: signing.sign_header(WEBHOOK_SECRET, data, int(time.time())),
    }
    response = webhook.handle_webhook(deps, headers, data)
    if not 200 <= response.status < 500:
        raise AssertionError(f"webhook answered {response.status}: {response.body}")


def split_text_input(data: bytes) -> tuple[str, list[str]]:
    """Bytes -> (text, trademarks): NUL-separated fields, decoded with ``surrogateescape`` so invalid UTF-8
    becomes lone surrogates (legal ``str`` values some callers may hand over)."""
    fields = data.decode("utf-8", errors="surrogateescape").split("\x00")
    return fields[0], [f for f in fields[1 : 1 + MAX_FUZZED_MARKS] if f]


def textmatch_target(data: bytes) -> None:
    """The brand-text normaliser: no exception on any unicode input, scores within [0, 1]."""
    from common.vision.textmatch import fold, match_brand_text, skeleton

    text, marks = split_text_input(data)
    fold(text)
    skeleton(text)
    for trademarks in (list(FIXED_MARKS), marks):
        for match in match_brand_text([("title", text), ("ocr", text[::-1])], trademarks):
            if not 0.0 <= match.score <= 1.0:
                raise AssertionError(f"score {match.score} out of range")


def preload() -> None:
    """Import every module the harnesses reach, so a coverage instrumenter wrapping this call sees them all
    (the harnesses import lazily to keep replaying cheap)."""
    import PIL.Image

    from common import imaging, messages, scan, webhook  # noqa: F401
    from common.vision import textmatch  # noqa: F401

    PIL.Image.init()  # registers (imports) every format plugin


TARGETS = {"image": image_target, "listing": listing_target, "textmatch": textmatch_target}
