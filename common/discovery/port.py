"""The discovery port: what a search source must do for a sweep, and how API failures are told apart.

A source plans its billable calls (``plan``) before making any, so the sweep can hold each call against the run's
request quota and cost cap before it is made, then makes them one at a time (``call``). Adapters:
``common.discovery.web_detection`` (Cloud Vision Web Detection, image to image) and
``common.discovery.image_search`` (Brave Search images, text to image).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from common.brand_model import Brand

T = TypeVar("T")

WEB_DETECTION = "web_detection"
IMAGE_SEARCH = "image_search"


@dataclass(frozen=True)
class Sighting:
    """One image a source found: where the image is, the page that shows it (None when the API gave none), and
    how it was found."""

    image_url: str
    page_url: str | None
    page_title: str | None
    source: str  # WEB_DETECTION | IMAGE_SEARCH
    match: str  # "full_matching" | "partial_matching" | "visually_similar" | "keyword"
    origin: str  # the reference id (Web Detection) or the query (keyword search)


@dataclass(frozen=True)
class ReferencePhoto:
    """A reference photo's bytes, handed to a source that sends references (only when the brand opted in)."""

    ref_id: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class Unit:
    """One planned API call: the origins it covers, how many units it bills, what it sends."""

    origins: tuple[str, ...]
    billed_units: int
    payload: Any


@dataclass
class UnitResult:
    sightings: list[Sighting] = field(default_factory=list)
    # origin -> what the API said about it besides images (web entities, best guesses, result counts)
    about: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # origin -> error (a per-image error in a batch)


class DiscoverySource(Protocol):
    name: str
    sends_references: bool  # Web Detection uploads reference photos; keyword search only the brand's words
    usd_per_1000_units: float  # list price after the free tier (docs/discovery.md "Costs")

    def plan(self, brand: Brand, references: Sequence[ReferencePhoto], settings: Any) -> list[Unit]: ...

    def call(self, unit: Unit) -> UnitResult:
        """Make one call. Raises ApiError on a failed exchange (QuotaExhausted when retrying cannot help)."""
        ...


class ApiError(Exception):
    """A failed API call. ``retryable``: 429 and 5xx (and connection failures); ``retry_after``: seconds the
    server asked for (Retry-After, or Brave's X-RateLimit-Reset), None when it named none."""

    def __init__(
        self, message: str, *, status: int | None, retryable: bool, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class QuotaExhausted(ApiError):
    """The plan's quota is used up (a daily or monthly limit): no retry helps, the source stops for this run."""

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None):
        super().__init__(message, status=status, retryable=False, retry_after=retry_after)


MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 32.0
# A server asking for a longer wait than this is treated as a quota for the run: a sweep does not sleep for
# an hour inside a function invocation, the next scheduled run picks up.
MAX_RETRY_AFTER_S = 60.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (RFC 9110: delay-seconds; an HTTP date is read as its distance from now)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def with_backoff(
    fn: Callable[[], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = MAX_ATTEMPTS,
    on_retry: Callable[[ApiError, float], None] | None = None,
) -> T:
    """``fn()``, retried on retryable ApiErrors with capped exponential backoff and full jitter (AWS
    Architecture blog, "Exponential Backoff And Jitter"), or the server's own Retry-After when it gave one.
    The last failure is raised; a Retry-After beyond MAX_RETRY_AFTER_S raises QuotaExhausted at once."""
    for attempt in range(attempts):
        try:
            return fn()
        except QuotaExhausted:
            raise
        except ApiError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
            if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER_S:
                raise QuotaExhausted(
                    f"{exc} (server asks to wait {exc.retry_after:.0f}s; left to the next run)",
                    status=exc.status,
                    retry_after=exc.retry_after,
                ) from exc
            delay = (
                exc.retry_after
                if exc.retry_after is not None
                else random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
            )
            if on_retry is not None:
                on_retry(exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
