"""Ids that cannot be path segments, and permanent errors in chain steps (issue 11 #6).

A marketplace id with "/" (CLI listing, upload metadata) used to reach the evidence step, where
``marketplaces/a/b`` raised "not a document path" (a plain ValueError): five deliveries, each rebuilding the
bundle, then the DLQ. Now ids are checked where they enter (the Listing contract, the webhook header, upload
metadata) with a clear error, and any PermanentError inside a step is dead-lettered at once with its reason.
Attempts are counted by wrapping the real step function the in-process bus delivers to.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from common import chain, ingest, pipeline, topics
from common.brands import register_brand
from common.cli_help import EXIT_SOME_FAILED
from common.errors import BadInput, InvalidPath
from common.messages import Listing, VerdictRecorded
from common.scan import local_runtime
from common.settings import get_settings
from tests.support import local_functions as lf
from tests.support.kits import tiny_kit
from tests.support.webhooks import signed

BAD_IDS = ["a/b", "acme/../globex", "/lead", "..", "", "x" * 101]


@pytest.fixture
def chain_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND", "WEBHOOK_SECRETS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    deps, bus = local_runtime(get_settings())
    kit = tiny_kit(tmp_path / "kit", "acme")
    register_brand(deps, kit)
    yield deps, bus, kit
    get_settings.cache_clear()


def _count_calls(monkeypatch: pytest.MonkeyPatch, step: str, fn=None) -> list[int]:
    """Replace STEPS[step].fn with a wrapper that counts deliveries (and runs ``fn`` or the real step)."""
    spec = chain.STEPS[step]
    calls: list[int] = []
    inner = fn or spec.fn

    def counted(deps, msg):
        calls.append(1)
        return inner(deps, msg)

    monkeypatch.setitem(chain.STEPS, step, dataclasses.replace(spec, fn=counted))
    return calls


def test_listing_contract_refuses_a_marketplace_id_that_is_not_one_path_segment() -> None:
    for bad in BAD_IDS:
        if bad == "":
            assert (
                Listing(listing_id="l-1", image="x.jpg", marketplace=bad).marketplace is None
            )  # blank = none
            continue
        with pytest.raises(ValidationError, match="must be a marketplace id"):
            Listing(listing_id="l-1", image="x.jpg", marketplace=bad)
    for bad in ("a/b", "../x", "a b"):
        with pytest.raises(ValidationError, match="listing_id"):
            Listing(listing_id=bad, image="x.jpg")
    assert Listing(listing_id="l-1", image="x.jpg", marketplace="market.example-1_eu").marketplace


def test_cli_listing_with_a_slash_in_its_marketplace_is_a_clear_error_and_the_batch_goes_on(
    chain_home, tmp_path: Path, capsys
) -> None:
    from common.cli import main

    deps, _bus, kit = chain_home
    image = str(kit / "references" / "ref-1.jpg")
    listings = tmp_path / "listings.jsonl"
    listings.write_text(
        json.dumps({"listing_id": "slash", "image": image, "marketplace": "a/b"})
        + "\n"
        + json.dumps({"listing_id": "fine", "image": image, "marketplace": "market-a"})
        + "\n"
    )
    capsys.readouterr()
    assert main(["scan", "--brand", "acme", "--json", "--listings", str(listings)]) == EXIT_SOME_FAILED
    records = {r["listing_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert "tier" not in records["slash"]
    assert "marketplace" in records["slash"]["error"] and "no '/'" in records["slash"]["error"]
    assert records["fine"]["tier"] == 1
    assert [doc["listing"]["listing_id"] for _, doc in deps.docs.list("brands/acme/scans")] == ["fine"]


def test_upload_metadata_with_a_slash_in_its_marketplace_is_refused_with_the_reason_on_its_scan(
    local_backend,
) -> None:
    event = lf.load("storage_object_finalized.json")
    data = event["data"]
    data["generation"] = str(lf.deps().blobs.write(data["bucket"], data["name"], b"jpeg bytes"))
    data["metadata"] = {"listing_id": "L-1", "marketplace": "market-a/../other"}
    response = lf.client("ingest_gcs").post(
        "/", json=event, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert response.status_code == 200  # acknowledged: a redelivery could never succeed
    assert lf.published() == []
    [(_path, scan)] = lf.deps().docs.list("brands/acme/scans")
    assert scan["status"] == "failed"
    assert scan["error"].startswith("ingest: invalid listing metadata: marketplace:")
    assert "no '/'" in scan["error"]
    again = lf.client("ingest_gcs").post(
        "/", json=event, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert again.status_code == 200 and len(lf.deps().docs.list("brands/acme/scans")) == 1


def test_webhook_marketplace_header_with_a_slash_is_a_400(local_backend, monkeypatch) -> None:
    """Even when an operator configured secrets under such an id, it is refused with a clear message."""
    monkeypatch.setenv("WEBHOOK_SECRETS", json.dumps({"a/b": ["s3cret-ab"]}))
    lf.reset_caches()
    body = json.dumps({"brand": "acme", "listing_id": "l-1", "image": "https://cdn.example/x.jpg"}).encode()
    _raw, headers = signed(body, secret="s3cret-ab", marketplace="a/b")
    response = lf.client("ingest_webhook").post("/", data=body, headers=headers)
    assert response.status_code == 400
    assert "X-Marketplace must be a marketplace id" in response.get_json()["error"]
    assert lf.published() == []


def test_a_permanent_error_in_any_step_is_dead_lettered_once_never_retried(chain_home, monkeypatch) -> None:
    deps, bus, kit = chain_home

    def refuse(_deps, _msg):
        raise BadInput("this input can never be processed")

    calls = _count_calls(monkeypatch, "hash_match", refuse)
    listing = Listing(listing_id="perm-1", image="ref-1.jpg")
    image = (kit / "references" / "ref-1.jpg").read_bytes()
    scan_id = ingest.ingest_listing(deps, "acme", listing, image, "test:perm-1")
    bus.drain()

    assert len(calls) == 1  # one delivery, no retry loop
    assert bus.dead_letters == []  # the bus never had to give up on it after retries
    dead = [p for p in bus.published if p[0] == topics.dead_letter_topic(topics.SCAN_PREPROCESSED)]
    assert (
        len(dead) == 1 and dead[0][2]["dead_letter_reason"] == "hash_match: this input can never be processed"
    )
    scan = deps.docs.get(pipeline.scan_path("acme", scan_id))
    assert scan["status"] == "failed" and scan["error"] == "hash_match: this input can never be processed"
    assert scan["dead_letter_reason"].startswith("permanent error, dead-lettered at once by hash_match")


def test_invalid_path_from_a_stored_slash_id_is_permanent_and_the_verdict_stays(
    chain_home, monkeypatch
) -> None:
    """The reported case: a Tier-1 scan whose stored listing names marketplace "a/b" (written before ids were
    checked). The evidence step runs once, goes to the DLQ with the reason, and the verdict is kept."""
    deps, bus, kit = chain_home
    listing = Listing(listing_id="legacy-1", image="ref-1.jpg")
    image = (kit / "references" / "ref-1.jpg").read_bytes()
    scan_id = ingest.ingest_listing(deps, "acme", listing, image, "test:legacy-1")
    bus.drain()
    spath, vpath = pipeline.scan_path("acme", scan_id), pipeline.verdict_path("acme", scan_id)
    verdict = deps.docs.get(vpath)
    assert verdict["tier"] == 1 and deps.docs.get(spath)["status"] == "done"

    deps.docs.update(spath, {"listing.marketplace": "a/b"})  # as an older version stored it
    deps.docs.update(vpath, {"evidence": None})  # so the step would rebuild the bundle on every retry
    calls = _count_calls(monkeypatch, "evidence")
    again = VerdictRecorded(scan_id=scan_id, brand_id="acme", listing_id="legacy-1", tier=1, score=0.95)
    bus.publish(topics.VERDICT_RECORDED, *again.to_pubsub())
    bus.drain()

    assert len(calls) == 1 and bus.dead_letters == []
    dead = [p for p in bus.published if p[0] == topics.dead_letter_topic(topics.VERDICT_RECORDED)]
    assert len(dead) == 1 and "marketplace" in dead[0][2]["dead_letter_reason"]
    scan = deps.docs.get(spath)
    assert scan["status"] == "done"  # no verdict is lost
    assert scan["error_step"] == "evidence" and "stored listing is invalid: marketplace" in scan["error"]
    assert deps.docs.get(vpath)["tier"] == 1 and deps.docs.get(vpath)["evidence"]  # bundle built once


def test_document_stores_raise_a_permanent_error_for_a_path_that_is_not_one(tmp_path: Path) -> None:
    from common.adapters.local import SqliteDocumentStore

    assert issubclass(InvalidPath, ValueError)
    with pytest.raises(InvalidPath, match="not a document path"):
        SqliteDocumentStore(tmp_path / "docs.sqlite3").get("marketplaces/a/b")


def test_cli_batch_with_a_corrupt_image_prints_its_error_record_and_no_dead_letter_line(
    chain_home, tmp_path: Path, capsys, caplog
) -> None:
    """The refused item goes through the DLQ path, but the CLI's stderr stays its own summary: a tenant's bad
    input is logged as a warning (which the scan command quiets), only retry-exhausted messages as errors."""
    from common.cli import main

    _deps, _bus, kit = chain_home
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    capsys.readouterr()
    code = main(["scan", "--brand", "acme", "--json", str(bad), str(kit / "references" / "ref-1.jpg")])
    assert code == EXIT_SOME_FAILED
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["error"].startswith("preprocess: ") and records[1]["tier"] == 1
    assert "dead-lettered" not in err
    emitted = [
        r.getMessage() for r in caplog.records if r.name == "common.chain" and r.levelno >= logging.ERROR
    ]
    assert emitted == []
