"""The embedded default's scan loop: ingest each listing, drain the in-process bus, read the verdict.

It goes through ``ingest.ingest_listing`` and the same step handlers the cloud functions run; there is no
separate CLI code path for detection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common import boundedjson, chain, ingest, pipeline
from common.adapters.local import InProcessBus
from common.bootstrap import Deps, build_deps
from common.brands import get_brand
from common.errors import BadInput, PermanentError
from common.image_source import read_image
from common.messages import (
    LISTING_MAX_JSON_DEPTH,
    LISTING_MAX_JSON_TOKENS,
    Listing,
    Verdict,
    format_validation_error,
)
from common.settings import Settings

MAX_LISTING_LINE_BYTES = 20 * 1024 * 1024  # a line may carry an inline base64 image


@dataclass(frozen=True)
class ListingError:
    """A line or path that could not even become a Listing; reported, never fatal for the batch."""

    listing_id: str
    error: str


def local_runtime(settings: Settings) -> tuple[Deps, InProcessBus]:
    bus = InProcessBus()
    deps = build_deps(settings, publisher=bus)
    chain.wire_local_bus(bus, deps)
    return deps, bus


def listings_from_paths(paths: Iterable[str]) -> Iterator[Listing | ListingError]:
    for raw in paths:
        stem = Path(raw).name or "image"
        listing_id = (
            "".join(c if c.isalnum() or c in "._-" else "-" for c in stem)[:200].lstrip("-._") or "image"
        )
        try:
            yield Listing(listing_id=listing_id, image=raw)
        except ValidationError as exc:
            yield ListingError(stem[:200], format_validation_error(exc))


def listings_from_jsonl(path: Path) -> Iterator[Listing | ListingError]:
    """Raises BadInput when the file itself cannot be read (the batch cannot start)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 — closed by the generator below
    except OSError as exc:
        raise BadInput(f"cannot read listings file {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(_bounded_lines(handle), start=1):
            if line is None:
                yield ListingError(
                    f"line-{number}", f"line {number} is longer than {MAX_LISTING_LINE_BYTES} bytes"
                )
                continue
            if not line.strip():
                continue
            yield _parse_listing_line(line, number)


def _bounded_lines(handle: Any) -> Iterator[bytes | None]:
    while True:
        line = handle.readline(MAX_LISTING_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LISTING_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                line = handle.readline(MAX_LISTING_LINE_BYTES)
            yield None
            continue
        yield line


def _parse_listing_line(line: bytes, number: int) -> Listing | ListingError:
    fallback = f"line-{number}"
    try:
        boundedjson.check_shape(line, max_depth=LISTING_MAX_JSON_DEPTH, max_tokens=LISTING_MAX_JSON_TOKENS)
        raw = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return ListingError(fallback, f"line {number} is not valid UTF-8")
    except boundedjson.JSONTooComplex as exc:  # a JSON bomb costs its bytes only, never the objects
        return ListingError(fallback, f"line {number} is not a listing: {exc}")
    except ValueError as exc:
        return ListingError(fallback, f"line {number} is not valid JSON ({exc.__class__.__name__})")
    if not isinstance(raw, dict):
        return ListingError(fallback, f"line {number} must be a JSON object")
    listing_id = raw.get("listing_id") if isinstance(raw.get("listing_id"), str) else fallback
    try:
        return Listing.model_validate(raw)
    except ValidationError as exc:
        return ListingError(str(listing_id)[:200], f"invalid listing: {format_validation_error(exc)}")


def read_image_bytes(deps: Deps, image: str, *, base_dir: Path | None = None) -> bytes:
    """Image as received, from a local path, gs:// URI, https:// URL (SSRF-safe) or data: URI."""
    return read_image(
        image,
        max_bytes=deps.settings.max_image_bytes,
        allow_private=deps.settings.fetch_allow_private,
        blobs=deps.blobs,
        base_dir=base_dir,
    )


def scan_listings(
    deps: Deps,
    bus: InProcessBus,
    brand_id: str,
    listings: Iterable[Listing | ListingError],
    *,
    evidence_dir: Path | None = None,
    base_dir: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """One record per listing: the verdict's CLI record, or ``{"listing_id", "error"}``."""
    get_brand(deps, brand_id)  # unknown brand: fail before the batch starts
    for item in listings:
        if isinstance(item, ListingError):
            yield {"listing_id": item.listing_id, "error": item.error}
            continue
        yield scan_one(deps, bus, brand_id, item, evidence_dir=evidence_dir, base_dir=base_dir)


def scan_one(
    deps: Deps,
    bus: InProcessBus,
    brand_id: str,
    listing: Listing,
    *,
    evidence_dir: Path | None = None,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    try:
        data = read_image_bytes(deps, listing.image, base_dir=base_dir)
    except PermanentError as exc:
        return {"listing_id": listing.listing_id, "error": str(exc)}
    extra = {"evidence_dir": str(evidence_dir.resolve())} if evidence_dir else {}
    scan_id = ingest.ingest_listing(deps, brand_id, listing, data, f"cli:{uuid.uuid4()}", extra=extra)
    bus.drain()
    return result_record(deps, brand_id, scan_id, listing.listing_id)


def result_record(deps: Deps, brand_id: str, scan_id: str, listing_id: str) -> dict[str, Any]:
    raw = deps.docs.get(pipeline.verdict_path(brand_id, scan_id))
    if raw is not None:
        return Verdict.model_validate(raw).cli_record()
    scan = deps.docs.get(pipeline.scan_path(brand_id, scan_id)) or {}
    reason = (
        scan.get("error") or scan.get("dead_letter_reason") or f"scan ended with status {scan.get('status')}"
    )
    return {"listing_id": listing_id, "error": str(reason), "scan_id": scan_id}
