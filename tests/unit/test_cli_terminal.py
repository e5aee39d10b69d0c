"""``counterfeit scan`` in a real terminal: the table rows stay intact while the progress bar runs.

The CLI runs as a subprocess whose stdin, stdout and stderr are one pseudo-terminal (as in a shell, or tmux),
160 columns wide; everything it writes is replayed through pyte, a VT100 emulator, and the test reads the
screen a user would see. The old printer put each row after the bar's line, so every row lost its first
character to the bar (seen under tmux).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from common import cli
from common.settings import get_settings
from tests.support.kits import jpeg_bytes, pattern_image, tiny_kit

pyte = pytest.importorskip("pyte")

ROOT = Path(__file__).resolve().parents[2]
COLUMNS, LINES = 160, 50
TIMEOUT_S = 240.0


def run_in_pty(
    argv: list[str], env: dict[str, str], cwd: Path, stdout: Any = "tty"
) -> tuple[int, bytes, bytes]:
    """(exit code, every byte written to the terminal, what went to a piped stdout). ``stdout``: ``"tty"`` (the
    terminal, as in a shell), ``"pipe"`` (read after the process ended; the outputs here are far below a pipe's
    buffer) or an open file."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    pipe_r, pipe_w = os.pipe() if stdout == "pipe" else (None, None)
    out = slave if stdout == "tty" else pipe_w if stdout == "pipe" else stdout
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=out, stderr=slave, env=env, cwd=cwd, start_new_session=True
    )
    os.close(slave)
    if pipe_w is not None:
        os.close(pipe_w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
            pytest.fail(f"scan in a pty did not finish within {TIMEOUT_S:.0f} s")
        code = proc.wait(timeout=30)
        piped = b""
        if pipe_r is not None:
            with os.fdopen(pipe_r, "rb") as reader:
                pipe_r = None
                piped = reader.read()
        return code, b"".join(chunks), piped
    finally:
        os.close(master)
        if pipe_r is not None:
            os.close(pipe_r)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def screen_of(raw: bytes) -> list[str]:
    screen = pyte.Screen(COLUMNS, LINES)
    pyte.ByteStream(screen).feed(raw)
    return [line.rstrip() for line in screen.display]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    assert cli.main(["brand", "add", str(tiny_kit(tmp_path / "kit")), "--json"]) == 0
    yield tmp_path
    get_settings.cache_clear()


def scan_in_terminal(
    home: Path, tree: Path = ROOT, seeds: tuple[int, ...] = (1, 2, 5, 6, 7), stdout: Any = "tty"
) -> tuple[int, bytes, list[str], list[str], bytes]:
    """(exit code, raw terminal bytes, screen lines, listing ids, piped stdout) of a scan of ``seeds`` plus one
    missing file.
    Seeds 1 and 2 are copies of the kit's references (Tier 1 by hash, fast); others run every channel."""
    paths = []
    for n, seed in enumerate(seeds):
        path = home / f"cand-{n}-{seed}.jpg"
        path.write_bytes(jpeg_bytes(pattern_image(seed)))
        paths.append(str(path))
    paths.append(str(home / "missing.jpg"))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(tree),
        "COUNTERFEIT_HOME": os.environ["COUNTERFEIT_HOME"],
        "COUNTERFEIT_BACKEND": "local",
    }
    argv = [sys.executable, "-m", "common.cli", "scan", "--brand", "acme", *paths]
    code, raw, piped = run_in_pty(argv, env, tree, stdout)
    return code, raw, screen_of(raw), [Path(p).name for p in paths], piped


def test_rows_are_intact_with_the_progress_bar_on(home: Path):
    code, raw, screen, ids, _ = scan_in_terminal(home)
    text = "\n".join(screen)
    assert b"scanning:" in raw, "the progress bar never showed: this test would not test anything"
    assert code == 3, text  # one missing file: some items failed
    header = next(i for i, line in enumerate(screen) if line.startswith("listing "))
    assert screen[header + 1] == "-" * COLUMNS, text
    for listing_id in ids:
        rows = [line for line in screen if line.startswith(listing_id + " ")]
        assert len(rows) == 1, (listing_id, text)  # at column 0, whole, once
        assert re.match(rf"{re.escape(listing_id)} +(\d|ERR) +(\d\.\d\d|-) +\S", rows[0]), rows[0]
    assert not any("scanning:" in line or "%|" in line for line in screen), text  # the bar is cleared
    assert any(line.startswith("Tier 1 high-confidence counterfeit: 2") for line in screen), text


def assert_rows_whole(table: str, ids: list[str]) -> None:
    lines = table.splitlines()
    for listing_id in ids:
        assert sum(line.startswith(listing_id + " ") for line in lines) == 1, (listing_id, table)
    assert "scanning:" not in table and "\r" not in table and "\x1b" not in table, table


def test_stdout_to_a_file_keeps_the_bar_on_the_terminal(home: Path):
    with open(home / "table.txt", "wb") as out:
        code, raw, screen, ids, _ = scan_in_terminal(home, seeds=(1, 2, 1, 2), stdout=out)
    assert code == 3 and b"scanning:" in raw, raw  # the bar showed: nothing else writes to this screen
    assert not any("scanning:" in line for line in screen), screen  # and was cleared at the end
    assert_rows_whole((home / "table.txt").read_text(encoding="utf-8"), ids)


def test_no_bar_when_stdout_is_a_pipe(home: Path):
    """A pipe's reader (``| grep``, ``| less``) prints to the same screen whenever it likes: no bar then."""
    code, raw, _, ids, piped = scan_in_terminal(home, seeds=(1, 2, 1, 2), stdout="pipe")
    assert code == 3 and b"scanning:" not in raw, raw
    assert_rows_whole(piped.decode("utf-8"), ids)
