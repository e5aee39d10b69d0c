"""What ``counterfeit scan`` prints: the human table (cells wrapped at word boundaries) and the progress bar.

Why the care: the bar lives on stderr and the rows on stdout, and in a terminal both are the same screen. A row
printed while the bar's line is on screen lands after it (seen under tmux as every row losing its first
character to the bar). Every line therefore goes through ``Progress.write``, which clears the bar, writes the
line and redraws the bar below it (``tqdm.write``); log records are routed the same way while it runs.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import textwrap
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

TIER_NAMES = {
    1: "Tier 1 high-confidence counterfeit",
    2: "Tier 2 watch (review)",
    3: "Tier 3 low-value similar",
    4: "Tier 4 irrelevant/pass",
}
PROGRESS_MIN_ITEMS = 5  # a bar for fewer items only flickers
TABLE_WIDTH = 120  # when stdout is not a terminal (files, pipes, tests): stable output
MIN_WIDTH, MAX_WIDTH = 100, 200  # a terminal's width, clamped
# (title, width) of the fixed columns; the reason takes the rest of the line. 33 fits every fusion rule name
# ("logo_confirmed_embedding_moderate"); composite rules ("…+secondhand_review") wrap at the "+".
FIXED_COLUMNS = (("listing", 20), ("tier", 4), ("score", 5), ("rule", 33))
MAX_REASON_LINES = 3  # then the reason ends at a word with "…"; --json prints every reason in full


class Progress:
    """Iterates ``items`` with a progress bar on stderr when stderr is a terminal and there are enough items;
    ``write`` prints a stdout line without garbling the bar. Use as a context manager."""

    def __init__(self, items: list[Any], *, desc: str = "scanning", unit: str = "item") -> None:
        self._items = items
        self._desc = desc
        self._unit = unit
        self._bar: Any = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Progress:
        if len(self._items) >= PROGRESS_MIN_ITEMS and bar_fits_the_screen():
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar = self._stack.enter_context(
                tqdm(self._items, desc=self._desc, unit=self._unit, file=sys.stderr, leave=False)
            )
            self._stack.enter_context(logging_redirect_tqdm())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self._bar = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._bar if self._bar is not None else self._items)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)  # clears the bar, writes, redraws it
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()


def bar_fits_the_screen() -> bool:
    """A bar only when stderr is a terminal and nothing but us writes to that screen: stdout is the terminal too
    (rows then go through ``tqdm.write``) or a file (``> out.jsonl``, ``/dev/null``). Piped stdout is left
    alone: the reader (``| jq``, ``| less``) prints to the same screen whenever it likes, over the bar's line."""
    if not sys.stderr.isatty():
        return False
    if sys.stdout.isatty():
        return True
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # no real file descriptor (an in-memory stream)
        return False
    return stat.S_ISREG(mode) or stat.S_ISCHR(mode)


def table_width() -> int:
    if sys.stdout.isatty():
        with contextlib.suppress(OSError, ValueError):
            return max(MIN_WIDTH, min(MAX_WIDTH, os.get_terminal_size(sys.stdout.fileno()).columns))
    return TABLE_WIDTH


def printable(text: str) -> str:
    """Control and format characters (ESC, CR, bidi overrides…) shown as U+FFFD: reasons quote listing text
    and OCR output, which must not move the cursor or recolour the terminal."""
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def wrap_cell(text: str, width: int, *, max_lines: int | None = None) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words (a single word longer than the column is
    the one case that is split). Past ``max_lines`` it ends at a word boundary with " …"."""
    lines = textwrap.wrap(
        printable(text),
        width,
        break_on_hyphens=False,
        max_lines=max_lines,
        placeholder=" …",
    )
    return lines or [""]


class Table:
    """The scan table, row by row through ``write`` (a ``Progress.write``), with the per-tier tally."""

    def __init__(self, write: Any, width: int | None = None) -> None:
        self.write = write
        self.width = width or table_width()
        self.fixed = sum(w + 1 for _, w in FIXED_COLUMNS)
        self.reason_width = max(20, self.width - self.fixed)
        self.counts: dict[str, int] = {}

    def header(self) -> None:
        self.write("".join(f"{title:<{w}} " for title, w in FIXED_COLUMNS) + "reason")
        self.write("-" * self.width)

    def row(self, rec: dict[str, Any]) -> None:
        if "error" in rec:
            self.counts["error"] = self.counts.get("error", 0) + 1
            cells = [str(rec.get("listing_id", "")), "ERR", "-", "-"]
            reason = str(rec["error"])
        else:
            self.counts[str(rec["tier"])] = self.counts.get(str(rec["tier"]), 0) + 1
            cells = [
                rec["listing_id"],
                str(rec["tier"]),
                f"{rec['score']:.2f}",
                rec["rule"].replace("+", " +"),
            ]
            reason = rec["reasons"][0] if rec["reasons"] else ""
            if rec["exemptions"]:
                reason += f" [{', '.join(rec['exemptions'])}]"
        columns = [wrap_cell(text, w) for text, (_, w) in zip(cells, FIXED_COLUMNS, strict=True)]
        columns.append(wrap_cell(reason, self.reason_width, max_lines=MAX_REASON_LINES))
        *fixed, reason_lines = columns
        for i in range(max(len(c) for c in columns)):
            parts = [
                f"{(c[i] if i < len(c) else ''):<{w}} "
                for c, (_, w) in zip(fixed, FIXED_COLUMNS, strict=True)
            ]
            self.write(("".join(parts) + (reason_lines[i] if i < len(reason_lines) else "")).rstrip())
        if rec.get("evidence"):
            self.write(f"{'':<{FIXED_COLUMNS[0][1]}} evidence: {printable(str(rec['evidence']))}")

    def footer(self) -> None:
        self.write("-" * self.width)
        summary = ", ".join(
            f"{TIER_NAMES.get(int(k), k) if k.isdigit() else k}: {v}" for k, v in sorted(self.counts.items())
        )
        self.write(summary or "no items")


def print_table(records: Iterable[dict[str, Any]], width: int | None = None) -> dict[str, int]:
    """The whole table on stdout (no progress bar); returns the per-tier counts (``"error"`` for failures)."""
    table = Table(lambda line: sys.stdout.write(line + "\n"), width)
    table.header()
    for rec in records:
        table.row(rec)
    table.footer()
    return table.counts
