"""JSON bombs in a listings file (``counterfeit scan --listings``): a line under the 20 MiB line cap that is
all arrays gets a one-line error from its shape, before ``json`` builds millions of objects (the same bound as
the webhook body: ``common.boundedjson`` with the listing limits of ``common.messages``)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from common.messages import LISTING_MAX_JSON_DEPTH, LISTING_MAX_JSON_TOKENS, Listing
from common.scan import MAX_LISTING_LINE_BYTES, _parse_listing_line

MB = 1024 * 1024
HEAD = b'{"listing_id": "bomb", "image": "data:image/png;base64,AAAA", "extra": '
# Python-heap peak allowed while refusing one bomb line. json.loads of the 19 MiB line of "[]," below allocates
# ~6.6 M lists (~450 MB); refusing it from its shape allocates next to nothing.
MAX_PEAK_MB = 32


@pytest.mark.parametrize(
    "line, why",
    [
        (HEAD + b"[" + b"[]," * (19 * MB // 3) + b"[]]}\n", "JSON tokens"),
        (HEAD + b"[" * (9 * MB) + b"]" * (9 * MB) + b"}\n", "nested deeper"),
        (
            HEAD + b"{" + b",".join(b'"k%d": 1' % i for i in range(LISTING_MAX_JSON_TOKENS)) + b"}}\n",
            "JSON tokens",
        ),
    ],
)
def test_bomb_lines_are_refused_from_their_shape(line: bytes, why: str) -> None:
    assert len(line) <= MAX_LISTING_LINE_BYTES
    tracemalloc.start()
    try:
        result = _parse_listing_line(line, 7)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not isinstance(result, Listing)
    assert result.listing_id == "line-7" and why in result.error, result.error
    assert peak < MAX_PEAK_MB * MB, f"{peak / MB:.0f} MB allocated refusing a bomb line"


def test_a_listing_with_small_nested_extras_still_parses() -> None:
    nested = "[" * (LISTING_MAX_JSON_DEPTH - 1) + "]" * (LISTING_MAX_JSON_DEPTH - 1)
    line = json.dumps({"listing_id": "ok", "image": "a.jpg", "extra": json.loads(nested)}).encode()
    assert isinstance(_parse_listing_line(line, 1), Listing)
