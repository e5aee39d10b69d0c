"""Replay every saved fuzz finding and every fuzz seed through the same harnesses ``scripts/fuzz.py`` runs.

A crash found by the fuzzer (or by the hostile corpus) is saved as a file under ``regressions/<target>/`` and
stays here for good: the harness must accept it (only documented errors) from then on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import harnesses

HERE = Path(__file__).resolve().parent
# Findings whose fix is still open in the owning module (strict: the test fails once they are fixed, so the
# entry gets removed). Keyed by "<target>/<file>".
OPEN = {
    "listing/nested-arrays-5k.json": "RecursionError escapes common.messages.Message.from_pubsub and "
    "common.webhook._accept (json.loads on deeply nested JSON raises RecursionError, not ValueError)",
    "listing/nested-objects-5k.json": "same as nested-arrays-5k.json",
}


def _params() -> list[object]:
    out: list[object] = []
    for path in sorted(p for p in (HERE / "regressions").rglob("*") if p.is_file()):
        key = f"{path.parent.name}/{path.name}"
        marks = [pytest.mark.xfail(strict=True, reason=OPEN[key])] if key in OPEN else []
        out.append(pytest.param(path, id=key, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_saved_finding_no_longer_crashes(path: Path) -> None:
    harnesses.TARGETS[path.parent.name](path.read_bytes())


def test_fuzz_seeds_pass_every_harness(tmp_path: Path, fuzz_script) -> None:
    seeds = fuzz_script.write_seeds(tmp_path)
    for target, directory in seeds.items():
        files = sorted(directory.iterdir())
        assert files, target
        for path in files:
            harnesses.TARGETS[target](path.read_bytes())
