"""Every hostile image through the real decode/preprocess path and through a CLI batch.

Outcomes are exactly two: decoded (RGB working copy, warnings recorded) or ``BadImage`` with a clear one-line
reason. Anything else (another exception, a hang, a huge allocation, a batch that stops) is a failure.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from common import imaging
from common.errors import BadImage
from common.settings import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS

ROOT = Path(__file__).resolve().parents[2]
# Generous bound on the decoder's peak RSS growth for any single hostile file: a 50 MP image (the pixel limit)
# legitimately needs ~200 MB in Pillow's 4-byte RGB layout; 300 MB leaves room for that and nothing more.
PEAK_RSS_GROWTH_LIMIT_MB = 300
MAX_REASON_CHARS = 400


def _outcome(data: bytes) -> tuple[str, str, bytes | None]:
    try:
        result, working = imaging.preprocess(
            data, max_bytes=DEFAULT_MAX_IMAGE_BYTES, max_pixels=DEFAULT_MAX_IMAGE_PIXELS
        )
    except BadImage as exc:
        return "bad_image", str(exc), None
    return "decodes", "; ".join(result.warnings), working


def test_every_image_case_ends_in_its_expected_outcome(hostile_corpus: Path, image_cases) -> None:
    wrong = []
    for case in image_cases:
        outcome, reason, _ = _outcome((hostile_corpus / case["name"]).read_bytes())
        if case["expect"] != "either" and outcome != case["expect"]:
            wrong.append(f"{case['name']}: expected {case['expect']}, got {outcome} ({reason[:120]})")
        if outcome == "bad_image":
            assert reason and "\n" not in reason and len(reason) < MAX_REASON_CHARS, case["name"]
    assert not wrong, "\n".join(wrong)
    assert sum(c["expect"] == "bad_image" for c in image_cases) >= 25
    assert sum(c["expect"] == "decodes" for c in image_cases) >= 20


def test_decoded_oddities_become_plain_rgb_working_copies(hostile_corpus: Path, image_cases) -> None:
    for case in image_cases:
        if case["expect"] != "decodes":
            continue
        outcome, _, working = _outcome((hostile_corpus / case["name"]).read_bytes())
        assert outcome == "decodes" and working is not None, case["name"]
        with Image.open(io.BytesIO(working)) as im:
            assert im.format == "JPEG" and im.mode == "RGB", case["name"]
            assert max(im.size) <= imaging.WORKING_MAX_SIDE
        # polyglot payloads do not survive re-encoding: the working copy is pixels only
        assert b"POLYGLOT" not in working and b"PK\x03\x04" not in working, case["name"]


def test_animated_and_absurd_exif_are_reported_as_warnings(hostile_corpus: Path) -> None:
    _, gif_warnings, _ = _outcome((hostile_corpus / "images/animated_3000.gif").read_bytes())
    assert "only the first frame" in gif_warnings
    _, exif_warnings, _ = _outcome((hostile_corpus / "images/exif_orientation_65535.jpg").read_bytes())
    assert "invalid EXIF orientation 65535" in exif_warnings


MEMORY_PROBE = r"""
import json, re, sys
from pathlib import Path
from common import imaging
from common.errors import BadImage
from common.settings import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS
def rss_mb():  # VmHWM: this process image's peak (ru_maxrss starts at pytest's own after fork)
    return int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024
imaging.preprocess((Path(sys.argv[1]) / "images/gray.jpg").read_bytes(), max_bytes=DEFAULT_MAX_IMAGE_BYTES,
                   max_pixels=DEFAULT_MAX_IMAGE_PIXELS)  # warm up lazy imports and allocator pools
growth = {}
for name in sys.argv[2:]:
    before = rss_mb()
    try:
        imaging.preprocess((Path(sys.argv[1]) / name).read_bytes(), max_bytes=DEFAULT_MAX_IMAGE_BYTES,
                           max_pixels=DEFAULT_MAX_IMAGE_PIXELS)
        outcome = "decoded"
    except BadImage:
        outcome = "refused"
    growth[name] = (rss_mb() - before, outcome)
print(json.dumps(growth))
"""


def test_bombs_and_huge_frames_keep_memory_bounded(hostile_corpus: Path, image_cases) -> None:
    """Every risky file decoded in one fresh process after a warm-up: ru_maxrss is a high-water mark, so the
    growth over the warm-up bounds the worst single file (and the per-file growth shows which one it was)."""
    risky = [
        c["name"] for c in image_cases if c["name"].split("/")[-1].startswith(("bomb", "ztxt", "animated"))
    ]
    assert len(risky) >= 8
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(hostile_corpus), *risky],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    total = sum(v for v, _ in report.values())
    assert total < PEAK_RSS_GROWTH_LIMIT_MB, f"peak RSS growth {total:.0f} MB: {report}"
    assert (
        report["images/bomb_49mp_gray.png"][1] == "decoded"
    )  # the probe really decoded the biggest legal one
    print(
        f"peak RSS growth {total:.1f} MB over", {k: (round(v, 1), o) for k, (v, o) in sorted(report.items())}
    )


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from common.settings import get_settings
    from tests.support.kits import tiny_kit

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    for var in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL", "COUNTERFEIT_VISION_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    from common.cli import main

    assert main(["brand", "add", str(tiny_kit(tmp_path / "kit"))]) == 0
    yield tmp_path
    get_settings.cache_clear()


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


CLI_DECODABLE = ("cmyk.jpg", "animated_3000.gif", "polyglot_jpeg_zip.jpg", "exif_orientation_65535.jpg")


def test_cli_batch_of_hostile_images_reports_each_and_goes_on(cli_home, hostile_corpus, image_cases, capsys):
    from common.cli import main

    bad = [c["name"] for c in image_cases if c["expect"] == "bad_image"]
    chosen = [*bad, *(f"images/{n}" for n in CLI_DECODABLE)]
    paths = [str(hostile_corpus / n) for n in chosen]
    assert main(["scan", "--brand", "acme", "--json", *paths]) == 3  # some items failed
    records = _records(capsys)
    assert len(records) == len(chosen)
    errors = [r for r in records if "error" in r]
    assert len(errors) == len(bad), [
        r for r in records if "error" not in r and r["listing_id"].startswith("b")
    ]
    assert all(r["error"] and "Traceback" not in r["error"] for r in errors)
    verdicts = [r for r in records if "tier" in r]
    assert len(verdicts) == len(CLI_DECODABLE) and all(1 <= r["tier"] <= 4 for r in verdicts)


def test_cli_hostile_listings_file_gives_one_record_per_line(cli_home, hostile_corpus, capsys):
    from common.cli import main

    expected = json.loads((hostile_corpus / "listings/hostile.expect.json").read_text())
    assert main(["scan", "--brand", "acme", "--json", "--listings",
                 str(hostile_corpus / "listings/hostile.jsonl")]) == 3  # fmt: skip
    records = _records(capsys)
    assert len(records) == len(expected)
    got = ["error" if "error" in r else "verdict" for r in records]
    assert got == expected, list(zip(records, expected, strict=True))
    by_id = {r["listing_id"]: r for r in records}
    assert "resolves to" in by_id["metadata"]["error"] or "metadata" in by_id["metadata"]["error"]
    assert "loopback" in by_id["loopback"]["error"]
    assert "unsupported" in by_id["file-url"]["error"]


def test_cli_oversized_listing_line_is_reported_and_the_next_line_scanned(cli_home, hostile_corpus, capsys):
    from common.cli import main

    assert main(["scan", "--brand", "acme", "--json", "--listings",
                 str(hostile_corpus / "listings/oversized.jsonl")]) == 3  # fmt: skip
    first, second = _records(capsys)
    assert "longer than" in first["error"]
    assert second["listing_id"] == "after-huge" and "tier" in second
