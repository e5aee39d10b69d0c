"""Signed JSON bombs on the webhook (finding 4 of issue 11): the body is capped before it is read (413, checked
from Content-Length, and while reading a chunked body) and its shape is bounded before it is parsed (400),
so a validly signed body cannot grow the 512 MiB function. Driven through the deployed function code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from werkzeug.test import EnvironBuilder

from common import topics
from common.webhook import MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_JSON_TOKENS
from tests.support import local_functions as lf
from tests.support.webhooks import signed

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("webhook_memory_child.py")
INLINE = "data:image/png;base64,iVBORw0KGgo="
# Peak-RSS growth allowed for handling one hostile body. Today's main grew by 1,071 MB (30 MB of nested arrays,
# accepted) and 416 MB (16 MiB of flat empty arrays); a refused body now costs at most a copy of itself.
MAX_GROWTH_MB = 100


@pytest.fixture
def webhook(local_backend):
    lf.deps().docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    lf.deps().docs.set("marketplaces/test-market", {"brands": ["acme"]})
    return lf.client("ingest_webhook")


class CountingStream(io.BytesIO):
    """A request body that records how much of it the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.consumed += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.consumed += len(line)
        return line


def _call(body: bytes, headers: dict[str, str], *, chunked: bool) -> tuple[int, dict[str, Any], int]:
    """One raw WSGI request to the function (the test client cannot send a body without a length)."""
    app = functions_framework.create_app(
        "ingest_webhook", str(ROOT / "functions/ingest_webhook/main.py"), "http"
    )
    environ = EnvironBuilder(method="POST", path="/", headers=headers).get_environ()
    stream = CountingStream(body)
    environ["wsgi.input"] = stream
    if chunked:  # what gunicorn hands over for Transfer-Encoding: chunked
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    status: list[str] = []
    answer = b"".join(app(environ, lambda s, _h, *_a: status.append(s)))
    return int(status[0].split()[0]), json.loads(answer), stream.consumed


def _bomb(size: int) -> bytes:
    head = json.dumps({"brand": "acme", "listing_id": "bomb", "image": INLINE})[:-1].encode()
    return head + b', "extra": [' + b"[[]]," * (size // 5) + b"[]]}"


def test_signed_oversized_body_is_413_before_any_of_it_is_read(webhook) -> None:
    body, headers = signed(_bomb(30 * 1024 * 1024))
    status, answer, consumed = _call(body, headers, chunked=False)
    assert status == 413 and str(MAX_BODY_BYTES) in answer["error"]
    assert consumed == 0, f"{consumed} bytes read of a body refused from its Content-Length"
    assert lf.deps().docs.list("webhook_nonces") == []  # not even the signature was computed


def test_signed_oversized_chunked_body_is_413_after_reading_at_most_the_limit(webhook) -> None:
    body, headers = signed(_bomb(30 * 1024 * 1024))
    status, answer, consumed = _call(body, headers, chunked=True)
    assert status == 413 and str(MAX_BODY_BYTES) in answer["error"]
    assert consumed <= MAX_BODY_BYTES + 1
    assert lf.deps().docs.list("webhook_nonces") == []


def test_a_chunked_body_under_the_limit_is_read_whole(webhook) -> None:
    body, headers = signed({"brand": "acme", "listing_id": "chunked", "image": INLINE})
    status, answer, _ = _call(body, headers, chunked=True)
    assert status == 202, answer


@pytest.mark.parametrize(
    "extra, why",
    [
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "nested deeper"),
        ("{" + ",".join(f'"k{i}": 0' for i in range(MAX_JSON_TOKENS)) + "}", "tokens"),
        ("[" + "[]," * MAX_JSON_TOKENS + "[]]", "tokens"),
    ],
)
def test_signed_bodies_beyond_the_json_bounds_are_400_and_start_nothing(
    webhook, extra: str, why: str
) -> None:
    head = json.dumps({"brand": "acme", "listing_id": "deep", "image": INLINE})[:-1]
    body, headers = signed(f'{head}, "extra": {extra}}}'.encode())
    response = webhook.post("/", data=body, headers=headers)
    assert response.status_code == 400, response.get_json()
    assert "JSON" in response.get_json()["error"] and why in response.get_json()["error"]
    assert lf.published(topics.SCAN_REQUESTED) == []


def test_small_nested_extras_a_marketplace_may_send_are_still_accepted(webhook) -> None:
    body, headers = signed(
        {
            "brand": "acme",
            "listing_id": "extras",
            "image": INLINE,
            "attributes": {"sizes": [["S", "M"], ["L"]]},
        }
    )
    assert webhook.post("/", data=body, headers=headers).status_code == 202


@pytest.mark.parametrize(
    "case, status", [("oversized_30mb", 413), ("flat_arrays_under_cap", 400), ("deep_under_cap", 400)]
)
def test_hostile_body_memory_stays_bounded(tmp_path: Path, case: str, status: int) -> None:
    """Peak RSS of a fresh process handling the body, measured after the body is built."""
    run = subprocess.run(
        [sys.executable, str(CHILD), case, str(tmp_path / "home")],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == status, result
    assert result["growth_mb"] < MAX_GROWTH_MB, result
