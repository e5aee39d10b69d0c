"""Word wrapping for the report's text rows, measured per word: the lines fpdf2's ``multi_cell`` would make.

Why not fpdf2's own line breaking: it measures the whole line so far again for every character it adds (the
line's width is recomputed from its fragments each time), so a row costs the square of its length; the report's
rows (listing fields, reasons, signal evidence, digests) made it a third of the report's layout time. Here a
line is measured once per word it is offered.

The same rule as fpdf2's WORD wrapping (``fpdf.line_break``): a line breaks at its last space when the next
character would overflow it (that space is dropped), and a word wider than a whole line is cut where it
overflows. Text holding anything else fpdf2 treats specially (other break or non-breaking spaces, soft
hyphens, line breaks, tabs) is left to fpdf2: ``word_wrap`` returns None for it.
"""

from __future__ import annotations

from collections.abc import Callable

from fpdf.line_break import BREAKING_SPACE_SYMBOLS_STR, NBSP, SOFT_HYPHEN
from fpdf.util import FloatTolerance

_LEFT_TO_FPDF = (set(BREAKING_SPACE_SYMBOLS_STR) - {" "}) | {NBSP, SOFT_HYPHEN, "\n", "\r", "\f", "\t", "\v"}


def _overflows(width: float, room: float) -> bool:
    return FloatTolerance.greater_than(width, room)


def word_wrap(text: str, room: float, width: Callable[[str], float]) -> list[str] | None:
    """The lines of ``text`` in ``room`` (``width``: a string's width in the same units), or None when fpdf2
    must break it (special characters, or not even one character fits)."""
    if not _LEFT_TO_FPDF.isdisjoint(text):
        return None
    lines: list[str] = []
    line: str | None = None
    for word in text.split(" "):
        if line is not None:
            joined = f"{line} {word}"
            if not _overflows(width(joined), room):
                line = joined
                continue
            lines.append(line)
        line = word
        while _overflows(width(line), room):  # wider than a line and no space to break at: cut it
            cut = _fitting_prefix(line, room, width)
            if cut == 0:
                return None
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line or "")
    return lines


def _fitting_prefix(word: str, room: float, width: Callable[[str], float]) -> int:
    used = 0.0
    for i, ch in enumerate(word):
        used += width(ch)
        if _overflows(used, room):
            return i
    return len(word)
