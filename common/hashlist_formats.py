"""Hash-list file formats shared with ThreatExchange and Hasher-Matcher-Actioner (pure parsing and rendering).

Why these formats: they are what the ecosystem's own tools read and write, so a list moves without a converter.

- ``te``: one ``pdq <64 hex>`` per line. ``threatexchange``'s ``local_file`` collaboration reads exactly this
  (``LocalFileSignalExchangeAPI``: signal type, a space, the signal); ``threatexchange hash photo FILE…`` and
  ``threatexchange dataset -P`` write it (the latter adds the collaboration and category after the hash).
- ``csv`` / ``tsv``: a header row; the hash column is ``signal_str`` (``threatexchange dataset -P --csv``),
  ``pdq``, ``hash`` or ``signal``; optional ``signal_type`` (non-PDQ rows skipped), ``quality``, an id column
  (``id``, ``entry_id``, ``content_id``), and any other columns kept as metadata.
- ``hma``: JSON (an array, or an object holding one) or JSON Lines of HMA bank content as its API returns it
  (``{"id", "signals": {"pdq": …}, "metadata": {"content_id", "content_uri"}, "note", "bank": {"name"}}``) or of
  ``POST /c/bank/{bank}/signal`` bodies (``{"pdq": …, "note": …}``).

PDQ hex is ThreatExchange's layout (common.hashing, hash schema 2) on both sides.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from common.errors import BadInput

FORMATS = ("te", "csv", "tsv", "hma")
EXPORT_FORMATS = ("te", "csv", "hma")
PDQ_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
# PDQ sets a bit where a DCT coefficient is above the median, so a real hash has about half its bits set; the
# all-zero "hash" seen in shared lists (ThreatExchange issue 1609) would match every flat image.
MIN_SET_BITS, MAX_SET_BITS = 32, 224
QUALITY_MIN = 50  # ThreatExchange PdqSignal.QUALITY_THRESHOLD (as common.hashing.PDQ_MIN_QUALITY)
NEGATIVE_CATEGORIES = {"NEGATIVE_CLASS"}  # ThreatExchange: "matching content does not belong"
HASH_COLUMNS = ("signal_str", "pdq", "hash", "signal", "pdq_hash")
ID_COLUMNS = ("id", "entry_id", "content_id")
MAX_META_ITEMS = 8
MAX_META_CHARS = 200
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class ListEntry:
    """One external hash: its id in the source list, the hash, its quality if given, short metadata."""

    entry_id: str
    pdq: str
    quality: int | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedList:
    format: str
    entries: list[ListEntry]
    skipped: Counter[str] = field(default_factory=Counter)


def detect_format(text: str, filename: str = "") -> str:
    name = filename.lower()
    for suffix, fmt in ((".tsv", "tsv"), (".csv", "csv"), (".json", "hma"), (".jsonl", "hma"), (".te", "te")):
        if name.endswith(suffix):
            return fmt
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        return "hma"
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    return "te"


def parse_list(data: bytes, fmt: str = "auto", filename: str = "") -> ParsedList:
    """Every entry of a shared list, or BadInput naming the bad lines (nothing half-imported)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{filename or 'hash list'}: not UTF-8 text ({exc})") from None
    if fmt == "auto":
        fmt = detect_format(text, filename)
    if fmt not in FORMATS:
        raise BadInput(f"unknown hash-list format {fmt!r} (one of: auto, {', '.join(FORMATS)})")
    rows = {"te": _te_rows, "csv": _csv_rows, "tsv": _tsv_rows, "hma": _hma_rows}[fmt](text)
    parsed = ParsedList(fmt, [])
    problems: list[str] = []
    seen: set[str] = set()
    for where, row in rows:
        if isinstance(row, str):  # a skip reason, not an entry
            parsed.skipped[row] += 1
            continue
        try:
            entry = _entry(row, default_id=where)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if entry is None:
            continue
        if isinstance(entry, str):
            parsed.skipped[entry] += 1
            continue
        if entry.entry_id in seen:
            parsed.skipped["duplicate entry id"] += 1
            continue
        seen.add(entry.entry_id)
        parsed.entries.append(entry)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise BadInput(f"{filename or 'hash list'} ({fmt}): invalid entries:\n  " + "\n  ".join(shown) + more)
    if not parsed.entries:
        reasons = ", ".join(f"{n} {why}" for why, n in parsed.skipped.items()) or "the file is empty"
        raise BadInput(f"{filename or 'hash list'} ({fmt}): no PDQ hashes to import ({reasons})")
    return parsed


RawRow = Mapping[str, Any] | str


def _te_rows(text: str) -> Iterable[tuple[str, RawRow]]:
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 1:  # a bare hash (a local_file collab configured with signal_type=pdq)
            yield f"line {number}", {"pdq": parts[0]}
            continue
        if parts[0].lower() != "pdq":
            yield f"line {number}", f"{parts[0][:20]} signals (not PDQ)"
            continue
        row: dict[str, Any] = {"pdq": parts[1]}
        rest = parts[2:]  # `threatexchange dataset -P`: 'collab' CATEGORY [tags]
        if rest:
            row["collab"] = rest[0].strip("'\"")
        if len(rest) > 1:
            row["category"] = rest[1]
        yield f"line {number}", row


def _csv_rows(text: str, delimiter: str = ",") -> Iterable[tuple[str, RawRow]]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    hash_column = next((c for c in HASH_COLUMNS if c in fields), None)
    if hash_column is None:
        raise BadInput(
            f"hash list: the header row ({', '.join(fields)[:200] or 'none'}) has no hash column "
            f"(one of: {', '.join(HASH_COLUMNS)})"
        )
    reader.fieldnames = fields
    for number, raw in enumerate(reader, 2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None and isinstance(v, str)}
        if not any(row.values()):
            continue
        kind = row.pop("signal_type", "") or "pdq"
        if kind.lower() != "pdq":
            yield f"line {number}", f"{kind[:20]} signals (not PDQ)"
            continue
        row["pdq"] = row.pop(hash_column, "")
        yield f"line {number}", row


def _tsv_rows(text: str) -> Iterable[tuple[str, RawRow]]:
    return _csv_rows(text, delimiter="\t")


def _hma_rows(text: str) -> Iterable[tuple[str, RawRow]]:
    stripped = text.strip()
    try:
        items = [json.loads(stripped)]
    except json.JSONDecodeError:
        items = []
        for number, line in enumerate(stripped.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise BadInput(f"hash list (hma): line {number} is not JSON ({exc.msg})") from None
    if len(items) == 1 and isinstance(items[0], list):
        items = items[0]
    elif len(items) == 1 and isinstance(items[0], dict):
        holder = next((v for v in items[0].values() if isinstance(v, list)), None)
        if holder is not None and "signals" not in items[0] and "pdq" not in items[0]:
            items = holder
    for number, item in enumerate(items, 1):
        where = f"item {number}"
        if not isinstance(item, dict):
            yield where, "items that are not JSON objects"
            continue
        signals: dict[str, Any] = _dict(item.get("signals")) or item
        if "pdq" not in signals:
            yield where, "items without a PDQ signal"
            continue
        meta, bank = _dict(item.get("metadata")), _dict(item.get("bank"))
        row: dict[str, Any] = {"pdq": signals["pdq"]}
        entry_id = item.get("id", meta.get("content_id"))
        if entry_id is not None:
            row["id"] = entry_id
        for key, value in (
            ("content_id", meta.get("content_id")),
            ("content_uri", meta.get("content_uri")),
            ("note", item.get("note")),
            ("bank", bank.get("name")),
        ):
            if value is not None:
                row[key] = value
        yield where, row


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entry(row: Mapping[str, Any], default_id: str) -> ListEntry | str | None:
    """A validated entry, a skip reason, or ValueError for a malformed hash."""
    value = str(row.get("pdq", "")).strip()
    if not PDQ_HEX.match(value):
        raise ValueError(f"not a 64-hex-digit PDQ hash: {value[:70]!r}")
    value = value.lower()
    set_bits = int(value, 16).bit_count()
    if not MIN_SET_BITS <= set_bits <= MAX_SET_BITS:
        return f"degenerate hashes ({MIN_SET_BITS}-{MAX_SET_BITS} of 256 bits must be set)"
    quality: int | None = None
    raw_quality = str(row.get("quality", "")).strip()
    if raw_quality:
        try:
            quality = int(float(raw_quality))
        except ValueError:
            raise ValueError(f"quality {raw_quality[:20]!r} is not a number") from None
        if not 0 <= quality <= 100:
            raise ValueError(f"quality {quality} is outside 0-100")
        if quality < QUALITY_MIN:
            return f"low-quality hashes (quality < {QUALITY_MIN}, too unreliable to match on)"
    if str(row.get("category", "")).upper() in NEGATIVE_CATEGORIES:
        return "NEGATIVE_CLASS entries (marked as not belonging to the list)"
    entry_id = next((str(row[c]).strip() for c in ID_COLUMNS if str(row.get(c, "")).strip()), default_id)
    meta = {
        str(k)[:40]: str(v)[:MAX_META_CHARS]
        for k, v in row.items()
        if k not in ("pdq", "quality", *ID_COLUMNS[:2]) and v not in (None, "")
    }
    return ListEntry(entry_id[:MAX_META_CHARS], value, quality, dict(list(meta.items())[:MAX_META_ITEMS]))


def render_export(rows: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """A brand's reference hashes (``{"pdq", "quality", "brand", "reference", "filename", "sha256"}``) in ``fmt``."""
    rows = list(rows)
    if fmt == "te":
        return "".join(f"pdq {row['pdq']}\n" for row in rows)
    if fmt == "csv":
        buf = io.StringIO()
        columns = ["signal_type", "signal_str", "quality", "brand", "reference", "filename", "sha256"]
        writer = csv.DictWriter(buf, columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {"signal_type": "pdq", "signal_str": row["pdq"]} | {c: row.get(c) for c in columns[2:]}
            )
        return buf.getvalue()
    if fmt == "hma":  # bodies for HMA's POST /c/bank/{bank}/signal, one per line
        return "".join(
            json.dumps({"pdq": row["pdq"], "note": f"{row['brand']} {row['reference']}"}) + "\n"
            for row in rows
        )
    raise BadInput(f"unknown export format {fmt!r} (one of: {', '.join(EXPORT_FORMATS)})")
