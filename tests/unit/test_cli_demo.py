"""The CLI contract (DESIGN.md) and the demo's scenarios, through `counterfeit` exactly as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import cli
from common.settings import get_settings

EXPECTED = {  # listing_id -> (allowed tiers, exemption that must be present)
    "s1-exact": ({1}, None),
    "s2-modified": ({1}, None),
    "s3-selfshot": ({1}, None),
    "s6-composite": ({1, 2}, None),
    "s7-text": ({1, 2}, None),
    "s2-mirrored": ({1}, None),
    "s18-used": ({2}, "secondhand"),
    "s18-voided": ({1}, "secondhand_voided_by_inventory"),
    "s19-authorized": ({4}, "authorized_seller"),
    "irrelevant-astronaut": ({4}, None),
    "irrelevant-hubble": ({4}, None),
    "irrelevant-cat": ({4}, None),
    "irrelevant-coffee": ({4}, None),
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def demo_records(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> dict[str, dict]:
    """The README demo, run once for this module: brand add + scan --json of every demo listing."""
    import contextlib
    import io

    home = tmp_path_factory.mktemp("cli-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COUNTERFEIT_HOME", str(home))
        get_settings.cache_clear()
        with contextlib.redirect_stdout(io.StringIO()) as added:
            assert cli.main(["brand", "add", str(demo_dir / "kit")]) == 0
        assert "brand acme registered" in added.getvalue()
        with contextlib.redirect_stdout(io.StringIO()) as scanned:
            code = cli.main(
                [
                    "scan",
                    "--brand",
                    "acme",
                    "--listings",
                    str(demo_dir / "listings.jsonl"),
                    "--json",
                    "--evidence-dir",
                    str(home / "evidence"),
                ]
            )
        assert code == 3  # the demo's truncated JPEG is an error record: "some items failed"
    get_settings.cache_clear()
    lines = [json.loads(line) for line in scanned.getvalue().splitlines()]
    return {r["listing_id"]: r for r in lines}


def test_demo_scenarios_get_their_tiers(demo_records: dict[str, dict]):
    for listing_id, (tiers, exemption) in EXPECTED.items():
        record = demo_records[listing_id]
        assert record["tier"] in tiers, (listing_id, record["tier"], record["reasons"])
        if exemption:
            assert exemption in record["exemptions"], (listing_id, record["exemptions"])
        assert record["reasons"], listing_id
    assert "error" in demo_records["corrupt"]


def test_json_contract_keys_and_types(demo_records: dict[str, dict]):
    for record in demo_records.values():
        if "error" in record:
            assert set(record) >= {"listing_id", "error"} and isinstance(record["error"], str)
            continue
        assert isinstance(record["listing_id"], str)
        assert isinstance(record["tier"], int) and 1 <= record["tier"] <= 4
        assert isinstance(record["score"], float) and 0 <= record["score"] <= 1
        assert isinstance(record["signals"], dict) and isinstance(record["exemptions"], list)
        assert isinstance(record["reasons"], list) and all(isinstance(r, str) for r in record["reasons"])
        assert record["evidence"] is None or isinstance(record["evidence"], str)
        for name, sig in record["signals"].items():
            assert sig["status"] in {"fired", "clear", "not_run", "error"}, name
            assert sig["score"] is None or 0 <= sig["score"] <= 1


def test_tier1_records_carry_a_verifiable_evidence_bundle(demo_records: dict[str, dict]):
    from common.evidence.manifest import verify_bundle

    tier1 = [r for r in demo_records.values() if r.get("tier") == 1]
    assert tier1
    for record in tier1:
        assert record["evidence"] and Path(record["evidence"]).is_dir()
        assert verify_bundle(Path(record["evidence"])) == []
    assert all(r.get("evidence") is None for r in demo_records.values() if r.get("tier", 1) != 1)


def test_unknown_brand_and_unreadable_listings_exit_2(home: Path, capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "scan", "--brand", "nobody", str(tmp_path / "x.jpg"))
    assert code == 2 and "unknown brand 'nobody'" in err
    code, _, err = run_cli(capsys, "scan", "--brand", "Bad Brand!", str(tmp_path / "x.jpg"))
    assert code == 2 and "invalid brand id" in err


def test_unreadable_listings_file_exits_2(home: Path, demo_dir: Path, capsys, tmp_path: Path):
    run_cli(capsys, "brand", "add", str(demo_dir / "kit"))
    code, _, err = run_cli(capsys, "scan", "--brand", "acme", "--listings", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read listings file" in err


def test_bad_lines_and_paths_become_error_records(home: Path, demo_dir: Path, capsys, tmp_path: Path):
    run_cli(capsys, "brand", "add", str(demo_dir / "kit"))
    listings = tmp_path / "l.jsonl"
    listings.write_bytes(
        b'{"listing_id": "ok", "image": "'
        + str(demo_dir / "candidates" / "irrelevant-cat.jpg").encode()
        + b'"}\n'
        b"not json\n"
        b'{"listing_id": "no-image"}\n'
        b'{"listing_id": "missing", "image": "/nonexistent/x.jpg"}\n'
        b'{"listing_id": "ftp", "image": "ftp://example.com/x.jpg"}\n'
        b"\xff\xfe\n" + b"[" * 100_000 + b"\n"
    )
    code, out, _ = run_cli(capsys, "scan", "--brand", "acme", "--listings", str(listings), "--json")
    assert code == 3  # some items failed
    records = [json.loads(line) for line in out.splitlines()]
    assert [("error" in r) for r in records] == [False, True, True, True, True, True, True]
    errors = {r["listing_id"]: r["error"] for r in records if "error" in r}
    assert "not valid JSON" in errors["line-2"]
    assert "image: Field required" in errors["no-image"]
    assert "cannot read" in errors["missing"]
    assert "unsupported image location scheme" in errors["ftp"]
    assert "not valid UTF-8" in errors["line-6"]


def test_readme_demo_output_matches_what_the_demo_prints(demo_records: dict[str, dict], demo_dir: Path):
    """README "What the demo prints": the kit and listings it describes, and the same listings, in order, with
    the same tiers, rules and summary line as the scan prints."""
    import re

    from common.cli_table import Table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    intro, block = readme.split("### What the demo prints", 1)[1].split("```\n", 2)[:2]
    intro = " ".join(intro.split())
    brand = json.loads((demo_dir / "kit" / "brand.json").read_text())
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    assert f'display name "{brand["display_name"]}"' in intro
    assert f"{words[len(list((demo_dir / 'kit' / 'references').iterdir()))]} genuine photos" in intro
    assert all(f'"{tm}"' in intro for tm in brand["trademarks"])
    assert f"{words[len(brand['authorized_sellers'])]} authorized sellers" in intro
    assert f"reference price of {brand['reference_price']:g} {brand['currency']}" in intro
    assert f"SpI of {brand['spi']:g}" in intro
    n_listings = len((demo_dir / "listings.jsonl").read_text().splitlines())
    n_images = len(list((demo_dir / "candidates").iterdir()))
    assert f"{n_listings} listings over {n_images} candidate images" in intro
    rows = re.findall(r"^(\S+) +(\d|ERR) +(\d\.\d\d|-) +(\S+)", block, flags=re.MULTILINE)
    assert [r[0] for r in rows] == list(demo_records)
    for listing_id, tier, _score, rule in rows:
        record = demo_records[listing_id]
        assert tier == str(record.get("tier", "ERR")) and rule == record.get("rule", "-").split("+")[0], (
            listing_id
        )
    lines: list[str] = []
    table = Table(lines.append, 120)
    for record in demo_records.values():
        table.row(record)
    table.footer()
    assert lines[-1] in block.splitlines()
