"""Parallel scans (``counterfeit scan --workers N``): the same records as in-process, in input order; a worker
that dies costs only the item it held."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import signal
from pathlib import Path

import pytest

from common import cli
from common.adapters.local import SqliteDocumentStore
from common.messages import Listing
from common.scan import ListingError
from common.scan_pool import PARALLEL_MIN_ITEMS, WorkerConfig, available_cores, scan_parallel, workers_for
from common.settings import Settings, get_settings

CANDIDATES = ("s1-exact", "corrupt-truncated", "s7-text")


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    home = tmp_path_factory.mktemp("pool-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COUNTERFEIT_HOME", str(home))
        get_settings.cache_clear()
        assert cli.main(["brand", "add", str(demo_dir / "kit")]) == 0
    get_settings.cache_clear()
    return home


def scan(capsys, monkeypatch, home: Path, demo_dir: Path, workers: int) -> tuple[int, list[dict]]:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(home))
    get_settings.cache_clear()
    capsys.readouterr()
    paths = [str(demo_dir / "candidates" / f"{name}.jpg") for name in CANDIDATES]
    code = cli.main(["scan", "--brand", "acme", "--json", "--workers", str(workers), *paths])
    get_settings.cache_clear()
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def comparable(record: dict) -> dict:
    """What must not depend on the worker count: ids, errors, tiers, rules, each signal's status and score
    (to 2 places: RANSAC samples from OpenCV's per-process RNG, so inlier counts may differ by one)."""
    if "error" in record:
        return {"listing_id": record["listing_id"], "error": record["error"]}
    return {
        "listing_id": record["listing_id"],
        "tier": record["tier"],
        "rule": record["rule"],
        "score": round(record["score"], 2),
        "exemptions": record["exemptions"],
        "signals": {k: (v["status"], round(v["score"] or 0, 2)) for k, v in record["signals"].items()},
    }


def test_two_workers_give_the_in_process_records_in_input_order(capsys, monkeypatch, demo_home, demo_dir):
    code1, one = scan(capsys, monkeypatch, demo_home, demo_dir, 1)
    code2, two = scan(capsys, monkeypatch, demo_home, demo_dir, 2)
    assert code1 == code2 == 3  # the truncated JPEG is an error record: "some items failed"
    assert [r["listing_id"] for r in two] == [f"{n}.jpg" for n in CANDIDATES]
    assert [comparable(r) for r in two] == [comparable(r) for r in one]
    assert {r["scan_id"] for r in one}.isdisjoint(r.get("scan_id") for r in two)  # scanned again, not reread
    assert two[0]["tier"] == 1 and "error" in two[1]


def test_a_dying_worker_costs_only_its_item(demo_home: Path, demo_dir: Path):
    exact = demo_dir / "candidates" / "s1-exact.jpg"
    items = [
        Listing(listing_id="die-first", image=str(exact)),
        Listing(listing_id="ok-1", image=str(exact)),
        ListingError("line-3", "line 3 is not valid JSON"),
        Listing(listing_id="raise-bug", image=str(exact)),
        Listing(listing_id="die-second", image=str(exact)),
        Listing(listing_id="ok-2", image=str(exact)),
    ]
    config = WorkerConfig(Settings(home=demo_home), "acme", task="tests.support.faulty_scan:scan_or_die")
    records = list(scan_parallel(config, items, workers=2))
    assert [r["listing_id"] for r in records] == [
        "die-first", "ok-1", "line-3", "raise-bug", "die-second", "ok-2",
    ]  # fmt: skip
    for died in (records[0], records[4]):
        assert died["error"] == "worker process died (exit code 9) while scanning this item"
    assert records[1]["tier"] == records[5]["tier"] == 1
    assert records[2]["error"] == "line 3 is not valid JSON"
    assert records[3]["error"] == "internal error: RuntimeError: injected bug"


def test_an_abandoned_batch_ends_its_workers_without_waiting_for_their_items(demo_home: Path, demo_dir: Path):
    exact = str(demo_dir / "candidates" / "s1-exact.jpg")
    items = [Listing(listing_id="raise-first", image=exact), Listing(listing_id="slow-second", image=exact)]
    config = WorkerConfig(Settings(home=demo_home), "acme", task="tests.support.faulty_scan:scan_or_die")
    records = scan_parallel(config, items, workers=2)
    assert next(records)["error"] == "internal error: RuntimeError: injected bug"
    workers = multiprocessing.active_children()
    assert len(workers) == 2
    records.close()  # as Ctrl-C or a consumer that stops reading would
    assert not multiprocessing.active_children()
    # ended at once (SIGTERM), not left to finish the slow item and exit 0 as at the end of a complete batch
    assert [w.exitcode for w in workers] == [-signal.SIGTERM, -signal.SIGTERM]


def test_default_workers_are_the_cores_for_big_batches_only():
    assert workers_for(None, PARALLEL_MIN_ITEMS - 1) == 1
    assert workers_for(None, 1000) == available_cores() >= 1
    assert workers_for(4, 3) == 3 and workers_for(2, 1) == 1 and workers_for(1, 1000) == 1


def test_workers_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["scan", "--brand", "acme", "--workers", "0", "x.jpg"])
    assert exit_.value.code == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err


def _increment(path: str, times: int) -> None:
    store = SqliteDocumentStore(Path(path))
    for _ in range(times):
        store.transaction(
            lambda txn: txn.set("counters/c", {"n": (txn.get("counters/c") or {"n": 0})["n"] + 1})
        )


def test_sqlite_store_takes_writers_from_several_processes(tmp_path: Path):
    """The workers' shared store: WAL + busy timeout + BEGIN IMMEDIATE, so no read-modify-write is lost."""
    path = tmp_path / "docs.sqlite"
    SqliteDocumentStore(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(str(path), 60)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert SqliteDocumentStore(path).get("counters/c") == {"n": 180}
    shutil.rmtree(tmp_path, ignore_errors=True)
