"""One discovery sweep for one brand: ask the enabled sources, fetch what they found, start scans.

The order of things, and why:
1. Only sources the brand enabled in brand.json run (``optin``); references are read only for a source that
   sends them.
2. Every planned call is held against the run's request quota and cost cap *before* it is made, so a run never
   spends more than the kit allows; API errors back off (``port.with_backoff``) and an exhausted quota stops that
   source for the run, the others go on.
3. Found images are fetched through the SSRF-safe fetcher (an API result is a URL someone else chose), then
   deduplicated twice: by URL (``discovered/{sha256(url)}``: the same bytes at the same URL are never rescanned)
   and by content (``discovered_content/{sha256(bytes)}``: the same photo at another URL is one scan).
4. New images enter the chain exactly like a webhook listing (``ingest.ingest_listing``), with ``url`` = the page
   and ``marketplace`` = the page's host; the idempotency key is the content digest, so a redelivered or
   concurrent sweep starts nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from common import fetch, ingest, paths
from common.bootstrap import Deps
from common.brand_model import Brand
from common.brands import get_brand, read_kit_file
from common.discovery import hosts
from common.discovery.optin import DiscoveryKit, discovery_of
from common.discovery.port import (
    ApiError,
    DiscoverySource,
    QuotaExhausted,
    ReferencePhoto,
    Sighting,
    Unit,
    UnitResult,
    with_backoff,
)
from common.errors import BadInput, FetchRefused, PermanentError
from common.messages import MARKETPLACE_PATTERN, Listing, format_validation_error
from common.ports import AlreadyExists, Filter

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 20.0
STOP_STATUSES = frozenset({401, 403})  # bad key, API not enabled, billing off: every further call fails too


@dataclass
class SweepResult:
    brand_id: str
    run_id: str
    sources: list[str]
    requests: int = 0
    billed_units: int = 0
    cost_usd: float = 0.0
    found: int = 0  # sightings as the APIs returned them
    unique_images: int = 0  # after dedup by image URL within the run
    scanned: list[str] = field(default_factory=list)  # scan ids started
    unchanged: int = 0  # URL seen before with the same bytes: not rescanned
    duplicate_content: int = 0  # same bytes seen at another URL
    refused: int = 0  # the fetcher refused the URL (private address, not an image, too big, HTTP error)
    invalid: int = (
        0  # sightings whose image URL is not an http(s) URL of at most MAX_URL_CHARS (never fetched)
    )
    not_fetched_max: int = 0  # left for a later run by --max
    not_fetched_time: int = 0  # left for a later run: the run's time budget was spent (a function's timeout)
    errors: list[str] = field(default_factory=list)
    skipped_units: list[str] = field(default_factory=list)  # calls not made (quota, cost cap, source stopped)
    per_origin: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "brand": self.brand_id,
            "run_id": self.run_id,
            "sources": self.sources,
            "requests": self.requests,
            "billed_units": self.billed_units,
            "cost_usd": round(self.cost_usd, 6),
            "found": self.found,
            "unique_images": self.unique_images,
            "scanned": len(self.scanned),
            "unchanged": self.unchanged,
            "duplicate_content": self.duplicate_content,
            "refused": self.refused,
            "invalid": self.invalid,
            "not_fetched_max": self.not_fetched_max,
            "not_fetched_time": self.not_fetched_time,
            "errors": self.errors,
            "skipped_units": self.skipped_units,
        }


def build_sources(settings: Any) -> dict[str, DiscoverySource]:
    """The real adapters, configured from settings (endpoints default to the public APIs)."""
    from common.discovery.image_search import BraveImageSearchSource
    from common.discovery.web_detection import WebDetectionSource

    return {
        "web_detection": WebDetectionSource(endpoint=settings.discovery_vision_endpoint),
        "image_search": BraveImageSearchSource(
            api_key=settings.brave_api_key, endpoint=settings.discovery_brave_endpoint
        ),
    }


def reference_photos(deps: Deps, brand: Brand) -> list[ReferencePhoto]:
    """The brand's reference photos (not logos): the copy staged in the references bucket at ``brand add``
    (the cloud sweep has no kit folder), else the kit file, checked against the registered digest."""
    photos = []
    for ref in sorted(brand.references, key=lambda r: str(r.get("ref_id"))):
        if ref.get("kind") != "reference":
            continue
        sha = str(ref.get("sha256") or "")
        data: bytes | None = None
        try:
            data = deps.blobs.read(
                deps.settings.references_bucket, paths.discovery_reference(brand.brand_id, sha)
            )
        except Exception:  # noqa: BLE001 — not staged (local store raises its own NotFound): try the kit
            data = None
        if data is None and brand.kit_dir:
            from pathlib import Path

            kit = Path(brand.kit_dir)
            try:
                data = read_kit_file(
                    kit, kit / "references" / str(ref.get("filename")), deps.settings.max_image_bytes
                )
            except BadInput:
                data = None
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            log.warning(
                "discovery: reference %s of %s is not readable as registered",
                ref.get("ref_id"),
                brand.brand_id,
            )
            continue
        photos.append(ReferencePhoto(str(ref["ref_id"]), sha, data))
    return photos


def registered_marketplaces(deps: Deps, brand_id: str) -> dict[str, list[str]]:
    """The brand's registered marketplaces and the hosts they were registered with (``--host``)."""
    rows = deps.docs.query("marketplaces", [Filter("brands", "array_contains", brand_id)])
    return {path.rsplit("/", 1)[-1]: [str(h) for h in doc.get("hosts") or []] for path, doc in rows}


def month_spent_usd(deps: Deps, brand_id: str, now: Any) -> float:
    """What this brand's sweeps spent since the first of ``now``'s month (UTC), from the run documents."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return sum(
        float(doc.get("cost_usd") or 0.0)
        for _, doc in deps.docs.query(paths.discovery_runs(brand_id), [Filter("started_at", ">=", start)])
    )


def _budget(deps: Deps, brand_id: str, kit: DiscoveryKit, now: Any) -> tuple[float, str]:
    """The most this run may spend, and the name of the cap that sets it."""
    if kit.max_cost_usd_per_month is None:
        return kit.max_cost_usd_per_run, "cost cap per run"
    left = max(0.0, kit.max_cost_usd_per_month - month_spent_usd(deps, brand_id, now))
    if left < kit.max_cost_usd_per_run:
        return left, "monthly budget"
    return kit.max_cost_usd_per_run, "cost cap per run"


def _units_within_budget(
    source: DiscoverySource,
    units: list[Unit],
    kit: DiscoveryKit,
    result: SweepResult,
    budget: tuple[float, str],
) -> list[Unit]:
    """The units this run may still pay for; the others are recorded as skipped, with why."""
    cap, cap_name = budget
    allowed: list[Unit] = []
    planned = 0.0
    for unit in units:
        cost = unit.billed_units * source.usd_per_1000_units / 1000
        if result.requests + len(allowed) >= kit.max_requests_per_run:
            result.skipped_units.append(
                f"{source.name} {','.join(unit.origins)[:120]}: request quota per run"
            )
        elif result.cost_usd + planned + cost > cap + 1e-12:
            result.skipped_units.append(f"{source.name} {','.join(unit.origins)[:120]}: {cap_name}")
        else:
            allowed.append(unit)
            planned += cost
    return allowed


def _ask(
    source: DiscoverySource, units: list[Unit], result: SweepResult, sleep: Callable[[float], None]
) -> list[Sighting]:
    found: list[Sighting] = []
    for i, unit in enumerate(units):

        def retried(exc: ApiError, delay: float, unit: Unit = unit) -> None:
            log.info("discovery: %s %s: %s; retrying in %.1fs", source.name, unit.origins[:1], exc, delay)

        def attempt(unit: Unit = unit) -> UnitResult:
            return source.call(unit)

        try:
            answer = with_backoff(attempt, sleep=sleep, on_retry=retried)
        except ApiError as exc:
            result.errors.append(f"{source.name}: {exc}")
            for origin in unit.origins:
                result.per_origin.setdefault(origin, {"source": source.name})["error"] = str(exc)
            if isinstance(exc, QuotaExhausted) or exc.status in STOP_STATUSES:
                result.skipped_units.extend(
                    f"{source.name} {','.join(u.origins)[:120]}: source stopped ({exc.status})"
                    for u in units[i + 1 :]
                )
                return found
            continue
        result.requests += 1
        result.billed_units += unit.billed_units
        result.cost_usd += unit.billed_units * source.usd_per_1000_units / 1000
        for origin, about in answer.about.items():
            result.per_origin.setdefault(origin, {"source": source.name}).update(about)
        for origin, error in answer.errors.items():
            result.per_origin.setdefault(origin, {"source": source.name})["error"] = error
            result.errors.append(f"{source.name} {origin}: {error}")
        found.extend(answer.sightings)
    return found


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


MAX_URL_CHARS = 4000  # Listing.url's limit; image URLs beyond it are not fetched
MAX_TITLE_CHARS = 2000


def _web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL of at most MAX_URL_CHARS, else None. An API answer is data someone
    else wrote: ``javascript:``, ``data:`` and megabyte-long URLs are not ours to store or fetch."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS or hosts.host_of(url) is None:
        return None
    return url


def clean_sighting(s: Sighting) -> Sighting | None:
    """The sighting with a usable image URL (else None), the page URL kept only when usable, and the title
    without control characters (a NUL would make the listing invalid) and at most MAX_TITLE_CHARS."""
    image_url = _web_url(s.image_url)
    if image_url is None:
        return None
    title = None
    if isinstance(s.page_title, str):
        title = (
            "".join(ch for ch in s.page_title if ch >= " " or ch == "\t")[:MAX_TITLE_CHARS].strip() or None
        )
    return Sighting(image_url, _web_url(s.page_url), title, s.source, s.match, s.origin)


def _listing_for(sighting: Sighting, url_digest: str) -> Listing:
    page_host = hosts.host_of(sighting.page_url) or hosts.host_of(sighting.image_url)
    marketplace = page_host if page_host and re.fullmatch(MARKETPLACE_PATTERN, page_host) else None
    return Listing(
        listing_id=f"disc-{url_digest[:24]}",
        image=sighting.image_url,
        url=sighting.page_url or sighting.image_url,
        marketplace=marketplace,
        title=sighting.page_title,
    )


def _record(deps: Deps, brand_id: str, url_digest: str, doc: dict[str, Any]) -> None:
    deps.docs.set(paths.discovered_path(brand_id, url_digest), doc)


def run_sweep(
    deps: Deps,
    brand_id: str,
    *,
    sources: dict[str, DiscoverySource] | None = None,
    max_candidates: int | None = None,
    drain: Callable[[], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    time_budget_s: float | None = None,
) -> SweepResult:
    """Sweep ``brand_id``'s enabled sources; ``max_candidates`` caps the new scans this run starts, ``drain``
    runs the chain after each (the embedded default's in-process bus; None on Pub/Sub). ``time_budget_s``:
    no image is fetched after that many seconds (the rest waits for the next run) — a function that ran into
    its timeout would be redelivered and pay for the API calls again."""
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    brand = get_brand(deps, brand_id)
    kit = discovery_of(deps.docs.get(paths.brand(brand_id)) or {})
    enabled = kit.enabled()
    if not enabled:
        raise BadInput(
            f'discovery is off for brand {brand_id!r}: enable web_detection or image_search under "discovery" '
            "in brand.json (with approved_by and approved_on) and run brand add again (docs/discovery.md)"
        )
    if max_candidates is not None and max_candidates < 1:
        raise BadInput("--max must be at least 1")
    available = sources if sources is not None else build_sources(deps.settings)
    run_id = deps.clock().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    result = SweepResult(brand_id, run_id, [s for s in enabled if s in available])
    started = deps.clock()
    needs_refs = any(available[name].sends_references for name in result.sources)
    refs = reference_photos(deps, brand) if needs_refs else []
    budget = _budget(deps, brand_id, kit, started)
    sightings: list[Sighting] = []
    for name in result.sources:
        source = available[name]
        units = source.plan(brand, refs if source.sends_references else [], kit)
        sightings.extend(
            _ask(source, _units_within_budget(source, units, kit, result, budget), result, sleep)
        )
    result.found = len(sightings)

    by_url: dict[str, list[Sighting]] = {}
    for raw in sightings:
        s = clean_sighting(raw)
        if s is None:
            result.invalid += 1
            continue
        by_url.setdefault(s.image_url, []).append(s)
    result.unique_images = len(by_url)
    market_hosts = registered_marketplaces(deps, brand_id)
    for image_url, seen in by_url.items():
        if max_candidates is not None and len(result.scanned) >= max_candidates:
            result.not_fetched_max += 1
            continue
        if deadline is not None and time.monotonic() >= deadline:
            result.not_fetched_time += 1
            continue
        _visit(deps, brand_id, image_url, seen, market_hosts, result, drain)
    run_doc = result.summary() | {
        "started_at": started,
        "finished_at": deps.clock(),
        "per_origin": result.per_origin,
        "scan_ids": result.scanned,
        "caps": {
            "max_requests_per_run": kit.max_requests_per_run,
            "max_cost_usd_per_run": kit.max_cost_usd_per_run,
            "max_cost_usd_per_month": kit.max_cost_usd_per_month,
        },
    }
    deps.docs.set(paths.discovery_run_path(brand_id, run_id), run_doc)
    return result


def _visit(
    deps: Deps,
    brand_id: str,
    image_url: str,
    seen: list[Sighting],
    market_hosts: dict[str, list[str]],
    result: SweepResult,
    drain: Callable[[], Any] | None,
) -> None:
    """Fetch one found image, dedupe it, and start its scan when it is new."""
    url_digest = _digest(image_url)[:32]
    first = next((s for s in seen if s.page_url), seen[0])
    page_host = hosts.host_of(first.page_url) or hosts.host_of(image_url)
    all_hosts = [h for hs in market_hosts.values() for h in hs]
    host_class = hosts.classify_host(page_host, all_hosts)
    now = deps.clock()
    old = deps.docs.get(paths.discovered_path(brand_id, url_digest)) or {}
    doc: dict[str, Any] = {
        "image_url": image_url,
        "page_url": first.page_url,
        "page_title": first.page_title,
        "page_host": page_host,
        "host_class": host_class,
        "product_page": hosts.is_product_page(first.page_url, host_class),
        "registered_marketplace": hosts.registered_marketplace(page_host, market_hosts),
        "sources": sorted({s.source for s in seen} | set(old.get("sources") or [])),
        "matches": sorted({s.match for s in seen} | set(old.get("matches") or [])),
        "origins": sorted({s.origin for s in seen} | set(old.get("origins") or [])),
        "pages": sorted({s.page_url for s in seen if s.page_url} | set(old.get("pages") or []))[:50],
        "first_seen": old.get("first_seen") or now,
        "last_seen": now,
        "last_run": result.run_id,
        "sha256": old.get("sha256"),
        "scan_id": old.get("scan_id"),
    }
    try:
        data = fetch.fetch_image(
            image_url,
            max_bytes=deps.settings.max_image_bytes,
            timeout_s=FETCH_TIMEOUT_S,
            allow_private=deps.settings.fetch_allow_private,
        )
    except FetchRefused as exc:
        result.refused += 1
        _record(deps, brand_id, url_digest, doc | {"status": "refused", "error": str(exc)[:300]})
        return
    sha = hashlib.sha256(data).hexdigest()
    if old.get("sha256") == sha:
        result.unchanged += 1
        _record(deps, brand_id, url_digest, doc | {"status": old.get("status") or "scanned"})
        return
    content_path = paths.discovered_content_path(brand_id, sha)
    try:
        deps.docs.create(content_path, {"image_url": image_url, "url_digest": url_digest, "at": now})
    except AlreadyExists:
        first_scan = (deps.docs.get(content_path) or {}).get("scan_id")
        if first_scan is not None:
            result.duplicate_content += 1
            _record(
                deps,
                brand_id,
                url_digest,
                doc | {"status": "duplicate_content", "sha256": sha, "scan_id": first_scan},
            )
            return
        # the content record exists without a scan: a sweep died between the two writes; start it now
    try:
        listing = _listing_for(first, url_digest)
    except (
        ValidationError
    ) as exc:  # e.g. a host that is not a marketplace id is dropped, anything else refused
        result.refused += 1
        reason = f"invalid listing: {format_validation_error(exc)}"[:300]
        _record(deps, brand_id, url_digest, doc | {"status": "refused", "sha256": sha, "error": reason})
        return
    origin = {
        "discovery": {
            "run_id": result.run_id,
            "sources": doc["sources"],
            "matches": doc["matches"],
            "origins": doc["origins"],
            "host_class": host_class,
            "registered_marketplace": doc["registered_marketplace"],
        }
    }
    try:
        scan_id = ingest.ingest_listing(
            deps, brand_id, listing, data, f"discover:{brand_id}:{sha}", extra=origin
        )
    except PermanentError as exc:
        result.refused += 1
        _record(
            deps, brand_id, url_digest, doc | {"status": "refused", "sha256": sha, "error": str(exc)[:300]}
        )
        return
    deps.docs.update(content_path, {"scan_id": scan_id})
    _record(deps, brand_id, url_digest, doc | {"status": "scanned", "sha256": sha, "scan_id": scan_id})
    result.scanned.append(scan_id)
    if drain is not None:
        drain()
