"""CLI conventions (issue 12, item 5): --version, help text on every argument, examples and exit codes in every
--help, --json on the management commands, scan's exit codes, "did you mean" for a misspelt brand.json field,
and a table that never cuts a reason mid-word."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from common import cli, cli_help
from common.cli_table import Table, wrap_cell
from common.settings import get_settings
from tests.support.kits import jpeg_bytes, pattern_image, tiny_kit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def registered(home: Path, capsys) -> Path:
    assert cli.main(["brand", "add", str(tiny_kit(home / "kit"))]) == 0
    capsys.readouterr()
    return home


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for child in cli_help.subcommand_parsers(parser):
        found += all_parsers(child)
    return found


# -- version -------------------------------------------------------------------------------------------------


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"counterfeit {cli_help.package_version()}"


def test_version_through_the_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "common.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=True,
    ).stdout
    assert re.fullmatch(r"counterfeit \d+\.\d+\.\d+\S*( \(source tree, not installed\))?\n", out), out


def test_version_falls_back_to_pyproject_when_not_installed(monkeypatch):
    import importlib.metadata as md

    def missing(name: str) -> str:
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "version", missing)
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert cli_help.package_version() == f"{expected} (source tree, not installed)"


# -- help ----------------------------------------------------------------------------------------------------


def test_every_argument_and_subcommand_has_help_text():
    missing = []
    for parser in all_parsers(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{parser.prog} {c.dest}" for c in action._choices_actions if not c.help]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_every_help_shows_examples_and_exit_codes():
    parsers = all_parsers(cli.build_parser())
    progs = {p.prog for p in parsers}
    assert {"counterfeit", "counterfeit brand add", "counterfeit scan", "counterfeit evaluate"} <= progs
    for parser in parsers:
        text = parser.format_help()
        assert "examples:\n  counterfeit " in text, parser.prog
        examples = text.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        words = parser.prog.split()[1:]
        assert all(" ".join(words) in line for line in examples), (parser.prog, examples)
        assert re.search(r"exit codes:\n  0 +\S", text), parser.prog
        assert re.search(r"\n  2 +bad command line", text), parser.prog
    scan = next(p for p in parsers if p.prog == "counterfeit scan").format_help()
    assert re.search(r"\n  3 +scan: some items failed", scan) and re.search(
        r"\n  4 +scan: every item failed", scan
    )
    top = parsers[0].format_help()
    for code in cli_help.EXIT_CODES:
        assert re.search(rf"\n  {code} +\S", top), code


def test_help_through_the_real_command_line(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["scan", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "counterfeit scan --brand acme" in out and "exit codes:" in out


# -- --json --------------------------------------------------------------------------------------------------


def test_brand_add_and_list_json(home: Path, capsys):
    kit = tiny_kit(home / "kit")
    assert cli.main(["brand", "add", str(kit), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["brand"] == "acme" and len(added["added"]) == 3 and added["unchanged"] == []
    assert cli.main(["brand", "add", str(kit), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["version"] == added["version"] and len(again["unchanged"]) == 3 and again["added"] == []
    assert cli.main(["brand", "add", str(tiny_kit(home / "kit2", "globex")), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["brand", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {b["brand"]: b["display_name"] for b in listed} == {"acme": "ACME", "globex": "GLOBEX"}
    assert all(b["version"] for b in listed)
    assert all(
        b["discovery"]["web_detection"]["enabled"] is False for b in listed
    )  # off unless the kit opts in


def test_marketplace_add_json(registered: Path, capsys):
    argv = ["marketplace", "add", "shop", "--brand", "acme", "--callback-url", "https://shop.example/cb"]
    assert cli.main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "marketplace": "shop",
        "brands": ["acme"],
        "callback_url": "https://shop.example/cb",
        "policy": "block_after_review",  # the safe default: block only after a reviewer confirms
        "hosts": [],
    }
    assert cli.main([*argv, "--policy", "flag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["policy"] == "flag"
    assert cli.main([*argv, "--host", "www.Shop.example", "--host", "m.shop.example", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hosts"] == ["m.shop.example", "shop.example"]
    assert cli.main([*argv, "--host", "http://shop.example/x"]) == 2  # a host, not a URL


def test_evaluate_json(registered: Path, capsys):
    image = registered / "cand.jpg"
    image.write_bytes(jpeg_bytes(pattern_image(1)))  # a copy of ref-1: Tier 1
    labels = registered / "labels.jsonl"
    labels.write_text(json.dumps({"listing_id": "cand", "label": "counterfeit", "image": str(image)}) + "\n")
    out = registered / "report"
    assert (
        cli.main(["evaluate", "--brand", "acme", "--labels", str(labels), "--out", str(out), "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["brand"] == "acme" and summary["items"] == 1
    assert summary["report"] == str(out / "report.html") and Path(summary["report"]).is_file()
    assert {m["name"] for m in summary["tier_metrics"]} and summary["hours"]["total"] >= 0


# -- scan exit codes -----------------------------------------------------------------------------------------


def test_scan_exit_codes_for_none_some_and_all_failed(registered: Path, capsys):
    good = registered / "good.jpg"
    good.write_bytes(jpeg_bytes(pattern_image(1)))
    missing = str(registered / "missing.jpg")
    broken = registered / "broken.jpg"
    broken.write_bytes(jpeg_bytes(pattern_image(3))[:300])
    assert cli.main(["scan", "--brand", "acme", str(good)]) == 0
    assert cli.main(["scan", "--brand", "acme", "--json", str(good), missing]) == 3
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:]]
    assert "tier" in records[0] and "error" in records[1]
    assert cli.main(["scan", "--brand", "acme", missing, str(broken)]) == 4
    assert cli.main(["scan", "--brand", "acme", "--json", missing]) == 4
    empty = registered / "empty.jsonl"
    empty.write_text("")
    assert cli.main(["scan", "--brand", "acme", "--listings", str(empty)]) == 0
    assert cli.main(["scan", "--brand", "nobody", str(good)]) == 2


def test_scan_exit_code_rule():
    assert [cli.scan_exit_code(t, f) for t, f in ((0, 0), (5, 0), (5, 1), (5, 4), (5, 5), (1, 1))] == [
        0,
        0,
        3,
        3,
        4,
        4,
    ]


# -- brand.json: did you mean --------------------------------------------------------------------------------


def test_misspelt_brand_json_field_gets_did_you_mean(home: Path, capsys):
    kit = tiny_kit(home / "kit")
    raw = json.loads((kit / "brand.json").read_text())
    raw["trademark"] = raw.pop("trademarks")
    raw["Colours"] = ["#D7141A"]
    raw["pricing"] = 3
    (kit / "brand.json").write_text(json.dumps(raw))
    assert cli.main(["brand", "add", str(kit)]) == 2
    err = capsys.readouterr().err
    assert "brand.json: 'trademark': unknown field; did you mean 'trademarks'?" in err
    assert "brand.json: 'Colours': unknown field; did you mean 'colors'?" in err
    assert "brand.json: 'pricing': unknown field; known fields: brand, display_name, trademarks" in err
    assert "Traceback" not in err


# -- the table -----------------------------------------------------------------------------------------------

LONG_REASON = (
    "Edited copy of brand photo reference:roadster-tank-detail.jpg: 33 keypoints agree on one geometry, "
    "and the listing title mentions 'ACME' as 'Acme' while the seller is not on the authorized list at all"
)


def table_lines(rec: dict, width: int = 120) -> list[str]:
    lines: list[str] = []
    Table(lines.append, width).row(rec)
    return lines


def test_table_wraps_and_shortens_the_reason_at_word_boundaries():
    rec = {
        "listing_id": "s6-composite",
        "tier": 1,
        "score": 0.97,
        "rule": "logo_confirmed_embedding_moderate+secondhand_review",
        "reasons": [LONG_REASON],
        "exemptions": ["secondhand"],
    }
    lines = table_lines(rec)
    assert all(len(line) <= 120 for line in lines), lines
    reason_col = Table(print, 120).fixed
    shown = " ".join(line[reason_col:] for line in lines).split()
    words = set((LONG_REASON + " [secondhand]").split())
    assert shown[-1] == "…" and all(w in words for w in shown[:-1]), shown  # never half a word
    assert lines[0].startswith("s6-composite ") and "logo_confirmed_embedding_moderate" in lines[0]
    assert "+secondhand_review" in lines[1]  # the composite rule wraps at its "+"
    short = table_lines(rec | {"reasons": ["Near-duplicate of reference x"], "exemptions": []})
    assert len(short) == 2 and short[0].endswith("Near-duplicate of reference x")


def test_table_error_rows_and_hostile_text():
    lines = table_lines(
        {"listing_id": "bad", "error": "preprocess: corrupt\x1b[2J file\r with \u202e tricks"}
    )
    assert lines[0].split()[:2] == ["bad", "ERR"]
    assert not any(c in "".join(lines) for c in "\x1b\r\u202e")


def test_wrap_cell_never_splits_a_word_that_fits():
    text = "alpha beta-gamma delta:epsilon zeta"
    for width in range(len("delta:epsilon"), 40):
        for line in wrap_cell(text, width):
            assert all(word in text.split() for word in line.split()), (width, line)


def test_a_group_without_its_command_prints_the_groups_help(capsys):
    assert cli.main(["brand"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: counterfeit brand ") and "counterfeit brand add ./acme-kit" in err
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("usage: counterfeit [-h]")
