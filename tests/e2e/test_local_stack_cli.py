"""`python scripts/local_stack.py up|status|env|down`: the README demo's one command, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator_stack import _local_stack

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_stack.py"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COUNTERFEIT_HOME=str(home))
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_up_status_env_down(tmp_path):
    home = tmp_path / "home"
    up = _run(home, "up", "--free-ports", "--no-model")
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        assert "ingest_gcs" in up.stdout and (home / "stack.json").exists()
        assert _run(home, "up", "--free-ports").returncode == 1  # already up: refuses a second stack

        status = _run(home, "status")
        assert status.returncode == 0
        lines = [line for line in status.stdout.splitlines() if line.strip()]
        names = {line.split()[0] for line in lines}
        # the three emulators, the dead-letter recorder and every function of the stack (none is forgotten)
        assert names == {"firestore", "pubsub", "storage", "dead_letter", *_local_stack().FUNCTIONS}, (
            status.stdout
        )
        assert all(line.rstrip().endswith("up") for line in lines), status.stdout

        env = _run(home, "env").stdout
        assert (
            "export FIRESTORE_EMULATOR_HOST='127.0.0.1:" in env and "export COUNTERFEIT_BACKEND='gcp'" in env
        )
    finally:
        down = _run(home, "down")
    assert down.returncode == 0 and "stack down" in down.stdout
    assert not (home / "stack.json").exists()
    assert _run(home, "status").returncode == 1
