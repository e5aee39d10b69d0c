"""Replay every saved fuzz finding and every fuzz seed through the same harnesses ``scripts/fuzz.py`` runs.

A crash found by the fuzzer (or by the hostile corpus) is saved as a file under ``regressions/<target>/`` and
stays here for good: the harness must accept it (only documented errors) from then on.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.fuzz import harnesses

HERE = Path(__file__).resolve().parent
# Findings whose fix is still open in the owning module (strict: the test fails once they are fixed, so the
# entry gets removed). Keyed by "<target>/<file>". Fixed: listing/nested-{arrays,objects}-5k.json (RecursionError
# from json.loads in Message.from_pubsub and webhook._accept).
OPEN: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _restore_name_resolution():
    """The harnesses make their process offline by replacing ``socket.getaddrinfo`` (right for the fuzz
    script's own process); replaying them inside pytest must not leave later tests without DNS."""
    real = socket.getaddrinfo
    yield
    socket.getaddrinfo = real


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
