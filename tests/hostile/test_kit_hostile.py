"""Hostile brand kits through ``counterfeit brand add``: a clear error and exit 2, nothing read that is not the kit's.

Before the fix: a brand.json nested 100,000 deep escaped as a ``RecursionError`` traceback (exit 1); a symlinked
1 GB reference was read whole before its size was checked (1.16 GB peak); a symlink to a file outside the kit
was registered silently as the brand's own reference.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kits import tiny_kit

ROOT = Path(__file__).resolve().parents[2]
NESTING_DEPTH = 100_000
SPARSE_BYTES = 1024 * 1024 * 1024  # 1 GiB, no disk blocks (truncate)
# A refused kit is refused before any reference is read in full or any extractor (model) is loaded.
REFUSED_PEAK_MB = 300


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from common.settings import get_settings

    env = {"COUNTERFEIT_HOME": str(tmp_path / "home"), "COUNTERFEIT_BACKEND": "local"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def brand_add(kit: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from common.cli import main

    code = main(["brand", "add", str(kit)])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_brand_json_nested_100000_deep_is_exit_2_with_a_clear_message(cli_env, tmp_path, capsys) -> None:
    kit = tiny_kit(tmp_path / "kit")
    (kit / "brand.json").write_text('{"brand": ' + "[" * NESTING_DEPTH + "]" * NESTING_DEPTH + "}")
    code, output = brand_add(kit, capsys)
    assert code == 2
    assert "brand.json: not valid JSON: JSON nested deeper than 8 levels" in output
    assert "Traceback" not in output and "RecursionError" not in output


def test_brand_json_objects_nested_deep_and_oversized_brand_json(cli_env, tmp_path, capsys) -> None:
    kit = tiny_kit(tmp_path / "kit")
    (kit / "brand.json").write_text('{"a":' * NESTING_DEPTH + "1" + "}" * NESTING_DEPTH)
    code, output = brand_add(kit, capsys)
    assert code == 2 and "nested deeper than" in output
    os.truncate(kit / "brand.json", 0)
    os.truncate(kit / "brand.json", SPARSE_BYTES)
    code, output = brand_add(kit, capsys)
    assert code == 2 and "brand.json" in output and "-byte limit" in output


def test_evaluate_labels_nested_deep_is_exit_2(cli_env, tmp_path, capsys) -> None:
    from common.cli import main

    assert main(["brand", "add", str(tiny_kit(tmp_path / "kit"))]) == 0
    labels = tmp_path / "labels.jsonl"
    labels.write_text("[" * NESTING_DEPTH + "]" * NESTING_DEPTH + "\n")
    capsys.readouterr()
    code = main(["evaluate", "--brand", "acme", "--labels", str(labels), "--out", str(tmp_path / "report")])
    captured = capsys.readouterr()
    assert code == 2 and "not JSON (RecursionError)" in captured.out + captured.err


def test_symlink_out_of_the_kit_is_refused_by_name(cli_env, tmp_path, capsys) -> None:
    kit = tiny_kit(tmp_path / "kit")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(kit / "references" / "ref-1.jpg", outside / "other-brand-photo.jpg")
    (kit / "references" / "borrowed.jpg").symlink_to(outside / "other-brand-photo.jpg")
    code, output = brand_add(kit, capsys)
    assert code == 2
    assert "references/borrowed.jpg: symlink to" in output and "outside the kit" in output
    # nothing was registered
    from common.cli import main

    main(["brand", "list"])
    assert "acme" not in capsys.readouterr().out


def test_symlinked_folder_and_brand_json_out_of_the_kit_are_refused(cli_env, tmp_path, capsys) -> None:
    kit = tiny_kit(tmp_path / "kit")
    other = tiny_kit(tmp_path / "other", brand="other")
    shutil.rmtree(kit / "logos")
    (kit / "logos").symlink_to(other / "logos")
    (kit / "brand.json").unlink()
    (kit / "brand.json").symlink_to(other / "brand.json")
    code, output = brand_add(kit, capsys)
    assert code == 2
    assert f"{kit / 'logos'}: symlink to" in output and f"{kit / 'brand.json'}: symlink to" in output


def test_symlink_inside_the_kit_is_fine(cli_env, tmp_path, capsys) -> None:
    kit = tiny_kit(tmp_path / "kit")
    (kit / "originals").mkdir()
    (kit / "references" / "ref-2.jpg").rename(kit / "originals" / "ref-2.jpg")
    (kit / "references" / "ref-2.jpg").symlink_to(kit / "originals" / "ref-2.jpg")
    code, output = brand_add(kit, capsys)
    assert code == 0, output
    assert "3 added" in output


# VmHWM, not ru_maxrss: a forked child's ru_maxrss starts at the parent's (pytest's) high-water mark, VmHWM
# belongs to the process image exec() created.
PEAK_PROBE = r"""
import re, sys
from pathlib import Path
from common.cli import main
code = main(["brand", "add", sys.argv[1]])
peak_kb = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)
print("PEAK", code, int(peak_kb) // 1024)
"""


def test_oversized_symlinked_reference_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A sparse 1 GiB file behind a symlink inside the kit: refused from its size, the child never holds it."""
    kit = tiny_kit(tmp_path / "kit")
    (kit / "raw").mkdir()
    big = kit / "raw" / "huge.jpg"
    with open(big, "wb") as handle:
        handle.truncate(SPARSE_BYTES)
    (kit / "references" / "huge.jpg").symlink_to(big)
    env = {**os.environ, "COUNTERFEIT_HOME": str(tmp_path / "home"), "COUNTERFEIT_BACKEND": "local"}
    env.pop("COUNTERFEIT_BRANDS", None)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(kit)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, peak_mb = proc.stdout.split("PEAK")[-1].split()
    assert int(code) == 2
    assert "references/huge.jpg: 1,073,741,824 bytes is over the" in proc.stderr
    assert int(peak_mb) < REFUSED_PEAK_MB, f"peak {peak_mb} MB: the file was read"


def test_listings_file_nested_deep_is_a_record_not_a_crash(cli_env, tmp_path, capsys) -> None:
    """The scan's listings parser already handled this (kept here next to the kit cases it mirrors)."""
    from common.cli import main

    assert main(["brand", "add", str(tiny_kit(tmp_path / "kit"))]) == 0
    listings = tmp_path / "listings.jsonl"
    listings.write_text("[" * NESTING_DEPTH + "]" * NESTING_DEPTH + "\n")
    capsys.readouterr()
    assert main(["scan", "--brand", "acme", "--json", "--listings", str(listings)]) == 4  # every item failed
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert "nested deeper than" in record["error"]
