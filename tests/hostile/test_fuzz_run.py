"""The fuzz script itself, for a short bounded time per target, as CI runs it: every target must come out clean.

Long runs (``scripts/fuzz.py --seconds 60`` and more) are for people; this keeps the harness, the engine and the
seed set working, and is where a regression that a few thousand coverage-guided inputs find shows up first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_TARGET = 8


@pytest.mark.slow
def test_fuzz_script_runs_clean_for_its_bounded_time(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--seconds", str(SECONDS_PER_TARGET),
         "--work", str(tmp_path / "fuzz")],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS_PER_TARGET * 3 * 10 + 120, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "fuzz run: clean" in out, out[-4000:]
    for target in ("image", "listing", "textmatch"):
        assert f"[{target}] clean" in out, out[-4000:]
    assert not any((tmp_path / "fuzz" / "crashes").iterdir())
