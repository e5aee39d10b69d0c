"""The README's emulator-stack demo (``scripts/stack_demo.py``) as a user runs it: its own stack on free ports,
the demo candidates through the bucket, two listings through the signed webhook, every verdict in the Firestore
emulator, the same tiers as the embedded default, and every process stopped afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TIERS = {  # listing -> tier, as `scripts/demo.sh` prints them on the embedded default
    "s1-exact": "1",
    "s2-modified": "1",
    "s3-selfshot": "1",
    "s6-composite": "1",
    "s7-text": "1",  # the card's leetspeak text + the brand named at 17 % of the price: corroborated_brand_mark
    "s2-mirrored": "1",
    "s18-used": "2",
    "s18-voided": "1",
    "s19-authorized": "4",
    "irrelevant-cat": "4",
    "corrupt": "ERR",
}


@pytest.mark.emulator
@pytest.mark.slow
def test_stack_demo_prints_the_tiers_from_the_emulators() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "stack_demo.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    table = {
        line.split()[0]: line.split()[1] for line in out.splitlines() if line[:1].isalnum() and "  " in line
    }
    for listing_id, tier in EXPECTED_TIERS.items():
        assert table.get(listing_id) == tier, (listing_id, out[-4000:])
    assert "0 missing, 0 duplicated" in out
    assert "HTTP 202" in out  # the webhook listings were accepted with a signature
