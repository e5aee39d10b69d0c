"""JSON parsing with its cost bounded before any Python object is built.

Why: ``json.loads`` builds every value it meets, so a small body can cost many times its size (``[],`` is three
bytes and a 56-byte list plus an 8-byte slot: a signed 30 MB body of arrays grew a webhook worker to 826 MB),
and deep nesting raises ``RecursionError``. ``loads`` first walks the tokens with one regular expression
(strings matched whole, possessively, so a long string costs no memory and no backtracking) and refuses a
document nested deeper than ``max_depth`` or holding more than ``max_tokens`` tokens; only then is it parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

# One token after optional whitespace (group 1): a whole string (possessive: constant memory and no
# backtracking however long or escaped), one structural character, a run of anything else (numbers, literals,
# garbage for json to reject), or a lone quote (an unterminated string, also left for json to reject).
TOKEN = re.compile(rb'\s*+("[^"\\]*+(?:\\.[^"\\]*+)*+"|[\[\]{}:,]|[^\s"\[\]{}:,]++|")', re.DOTALL)
OPENERS = frozenset(b"[{")
CLOSERS = frozenset(b"]}")


class JSONTooComplex(ValueError):
    """The document is nested deeper, or holds more tokens, than the caller accepts (safe to show)."""


def check_shape(data: bytes, *, max_depth: int, max_tokens: int) -> None:
    """Raise ``JSONTooComplex`` unless ``data`` nests at most ``max_depth`` deep in at most ``max_tokens``
    tokens. At most ``max_tokens + 1`` regex steps, and no allocation proportional to ``data``."""
    depth = pos = tokens = 0
    while (match := TOKEN.match(data, pos)) is not None:
        tokens += 1
        if tokens > max_tokens:
            raise JSONTooComplex(f"more than {max_tokens} JSON tokens")
        pos = match.end()
        head = data[match.start(1)]
        if head in OPENERS:
            depth += 1
            if depth > max_depth:
                raise JSONTooComplex(f"JSON nested deeper than {max_depth} levels")
        elif head in CLOSERS:
            depth -= 1


def loads(data: bytes, *, max_depth: int, max_tokens: int) -> Any:
    """``json.loads`` after ``check_shape``; ``ValueError`` (``JSONTooComplex`` or json's own) when refused."""
    check_shape(data, max_depth=max_depth, max_tokens=max_tokens)
    return json.loads(data)
