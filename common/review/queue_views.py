"""The queue page's request parsing and exports: query-string filters to ``QueueFilters``, CSV/JSON rows.

Why a module of its own: the Flask routes stay thin (parse, call ``queue_list``, render), and the same
parsing serves the HTML page, the JSON view, the exports and the "next item" redirect, so all four always
show the same rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from common.messages import BRAND_PATTERN, ID_PATTERN
from common.review.queue_list import PAGE_MAX, PAGE_SIZE, QUEUE_TIERS, QueueFilters, QueueRow

SHOW_VALUES = ("pending", "not_sure", "decided", "all")
FILTER_KEYS = ("brand", "tier", "show", "marketplace", "seller", "signal", "rule", "since", "until", "n")
TEXT_MAX = 200
EXPORT_COLUMNS = (
    "brand_id",
    "listing_id",
    "scan_id",
    "tier",
    "score",
    "state",
    "decision",
    "reviewer",
    "created_at",
    "marketplace",
    "seller_id",
    "store_url",
    "price",
    "currency",
    "title",
    "url",
    "rule",
    "signals",
    "earlier_scans",
)
EXPORT_MAX_ROWS = 100_000  # one export; larger views are exported filter by filter


class BadFilter(ValueError):
    """A query-string value the queue does not accept (the page answers 400 with this message)."""


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter("dates are YYYY-MM-DD") from None


def _text(args: Mapping[str, str], key: str) -> str | None:
    value = (args.get(key) or "").strip()
    if len(value) > TEXT_MAX:
        raise BadFilter(f"{key} is at most {TEXT_MAX} characters")
    return value or None


def parse_filters(args: Mapping[str, str]) -> QueueFilters:
    tier = args.get("tier") or ""
    if tier not in ("", *map(str, QUEUE_TIERS)):
        raise BadFilter("tier must be 1 or 2")
    show = args.get("show") or "pending"
    if show not in SHOW_VALUES:
        raise BadFilter("show must be pending, not_sure, decided or all")
    signal = _text(args, "signal")
    if signal and not re.fullmatch(r"[a-z0-9_]{1,64}", signal):
        raise BadFilter("signal is a signal name such as embedding or logo")
    return QueueFilters(
        tiers=(int(tier),) if tier else QUEUE_TIERS,
        state=None if show == "all" else show,  # type: ignore[arg-type]
        marketplace=_text(args, "marketplace"),
        seller_id=_text(args, "seller"),
        signal=signal,
        rule=_text(args, "rule"),
        since=_date(args.get("since")),
        until=_date(args.get("until")),
    )


def page_size(args: Mapping[str, str]) -> int:
    raw = args.get("n") or str(PAGE_SIZE)
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise BadFilter(f"n is a page size from 1 to {PAGE_MAX}")
    return int(raw)


def filter_values(args: Mapping[str, str]) -> dict[str, str]:
    """The filters as the form shows them (and as links carry them: next page, item, export)."""
    values = {key: (args.get(key) or "") for key in FILTER_KEYS}
    values["show"] = values["show"] or "pending"
    return values


def query_string(values: Mapping[str, str], **extra: str) -> str:
    merged = {k: v for k, v in {**values, **extra}.items() if v}
    return urlencode(merged)


def safe_id(raw: str | None) -> str | None:
    return raw if raw and re.fullmatch(ID_PATTERN, raw) else None


def item_ref(raw: str | None) -> tuple[str, str] | None:
    """``brand/scan_id`` (the "previous item" and bulk-form values) as a pair, None when malformed. The brand
    is only shape-checked here: every route that reads it checks the reviewer may see it."""
    brand, sep, scan_id = (raw or "").partition("/")
    if not sep or not re.fullmatch(BRAND_PATTERN, brand) or safe_id(scan_id) is None:
        return None
    return brand, scan_id


def export_record(row: QueueRow) -> dict[str, Any]:
    doc = row.doc
    record = {key: doc.get(key) for key in EXPORT_COLUMNS if key != "earlier_scans"}
    record["created_at"] = doc["created_at"].isoformat()
    record["earlier_scans"] = [h.get("scan_id") for h in doc.get("history") or []]
    return record


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    text = "" if value is None else str(value)
    # a spreadsheet runs a cell starting with = + - @ (or a tab/CR) as a formula: listing text is untrusted
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(record.get(c)) for c in EXPORT_COLUMNS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.getvalue():
        yield buf.getvalue()
