"""Keyword image search (seed 004 Tool 5: text to image) on the Brave Search API's image endpoint.

Why Brave: the seed names the Bing Image Search API, which Microsoft retired on 11 August 2025 (its replacement,
"Grounding with Bing", returns no image results to the caller). Brave runs its own index, sells the images
endpoint in its Search plan with a documented JSON contract, and its terms allow storing results
(docs/discovery.md "Why Brave"). One GET per query, ``q`` = a trademark plus the brand's category; the image
endpoint has no offset: one page of up to 200 results per query is all it serves.

Errors follow the API's documented headers: 429 with ``X-RateLimit-Remaining`` at 0 for the monthly window is
an exhausted quota (stop), any other 429 waits ``Retry-After`` or the per-second ``X-RateLimit-Reset``; 5xx
retries with backoff; 401/403/422 are the caller's mistake and stop at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.brand_model import Brand
from common.discovery.port import (
    IMAGE_SEARCH,
    ApiError,
    QuotaExhausted,
    ReferencePhoto,
    Sighting,
    Unit,
    UnitResult,
    parse_retry_after,
)

DEFAULT_ENDPOINT = "https://api.search.brave.com"
PATH = "/res/v1/images/search"
MAX_COUNT = 200  # the images endpoint's largest page
USD_PER_1000 = 5.00  # Brave Search plan, per 1,000 requests
TIMEOUT_S = 30.0
MAX_QUERY_CHARS = 400  # documented limit of q (and at most 50 words)


def queries_for(brand: Brand, terms: Sequence[str] = ()) -> list[str]:
    """Each trademark (or the display name when there are none) with the category and the kit's extra terms,
    in kit order, without repeats."""
    marks = brand.trademarks or [brand.display_name]
    extra = " ".join(t.strip() for t in terms if t.strip())
    out: list[str] = []
    for mark in marks:
        query = " ".join(p for p in (mark.strip(), (brand.category or "").strip(), extra) if p)[
            :MAX_QUERY_CHARS
        ]
        if query and query not in out:
            out.append(query)
    return out


def _first_int(header: str | None, index: int) -> float | None:
    """The ``index``-th value of a comma list header such as ``X-RateLimit-Reset: 1, 1419704``."""
    if not header:
        return None
    parts = [p.strip() for p in header.split(",")]
    if index >= len(parts) or not parts[index].isdigit():
        return None
    return float(parts[index])


def api_error(status: int, headers: Any, body: bytes) -> ApiError:
    detail = ""
    try:
        import json

        err = json.loads(body.decode("utf-8", "replace")).get("error") or {}
        detail = f" {err.get('code', '')}: {str(err.get('detail', ''))[:200]}".rstrip(": ")
    except (ValueError, AttributeError):
        pass
    message = f"Brave Search HTTP {status}{detail}"
    if status == 429:
        remaining = headers.get("X-RateLimit-Remaining")
        if _first_int(remaining, 1) == 0:  # the monthly window (second value) is used up
            return QuotaExhausted(
                message + " (monthly quota used up)",
                retry_after=_first_int(headers.get("X-RateLimit-Reset"), 1),
            )
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is None:
            retry_after = _first_int(headers.get("X-RateLimit-Reset"), 0)
        return ApiError(message, status=status, retryable=True, retry_after=retry_after)
    return ApiError(message, status=status, retryable=status >= 500)


def sightings_of(payload: dict[str, Any], query: str) -> tuple[list[Sighting], dict[str, Any]]:
    results = payload.get("results") if isinstance(payload, dict) else None
    found: list[Sighting] = []
    for item in results if isinstance(results, list) else []:
        if not isinstance(item, dict):
            continue
        props = item.get("properties")
        image_url = props.get("url") if isinstance(props, dict) else None
        if not isinstance(image_url, str) or not image_url:
            continue
        page = item.get("url") if isinstance(item.get("url"), str) else None
        title = item.get("title") if isinstance(item.get("title"), str) else None
        found.append(Sighting(image_url, page, title, IMAGE_SEARCH, "keyword", query))
    q = payload.get("query")
    about = {"results": len(found), "altered": (q.get("altered") if isinstance(q, dict) else None) or None}
    return found, about


class BraveImageSearchSource:
    name = IMAGE_SEARCH
    sends_references = False
    usd_per_1000_units = USD_PER_1000

    def __init__(self, api_key: str | None, endpoint: str | None = None, session: Any = None) -> None:
        self._api_key = api_key
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def plan(self, brand: Brand, references: Sequence[ReferencePhoto], settings: Any) -> list[Unit]:
        count = min(MAX_COUNT, int(getattr(settings, "max_results", 50)))
        country = getattr(settings, "country", None)
        terms = list(getattr(settings, "query_terms", []) or [])
        return [
            Unit((q,), 1, {"q": q, "count": count, "country": country}) for q in queries_for(brand, terms)
        ]

    def call(self, unit: Unit) -> UnitResult:
        import requests

        if not self._api_key:
            raise ApiError(
                "Brave Search needs an API key: set BRAVE_SEARCH_API_KEY (docs/discovery.md)",
                status=None,
                retryable=False,
            )
        params = {"q": unit.payload["q"], "count": unit.payload["count"], "safesearch": "strict"}
        if unit.payload.get("country"):
            params["country"] = unit.payload["country"]
        headers = {"Accept": "application/json", "X-Subscription-Token": self._api_key}
        try:
            resp = self.session.get(self._endpoint + PATH, params=params, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise ApiError(
                f"Brave Search unreachable ({exc.__class__.__name__})", status=None, retryable=True
            ) from exc
        if resp.status_code != 200:
            raise api_error(resp.status_code, resp.headers, resp.content[:4096])
        try:
            payload = resp.json()
        except ValueError as exc:
            raise ApiError("Brave Search answered with invalid JSON", status=200, retryable=True) from exc
        found, about = sightings_of(payload if isinstance(payload, dict) else {}, unit.origins[0])
        return UnitResult(sightings=found, about={unit.origins[0]: about})
