"""Peak memory of ``counterfeit scan`` and ``counterfeit brand add`` on every hostile file, against a normal photo.

Each command runs in its own subprocess on the embedded default; its peak RSS is the child's own ``ru_maxrss``
from ``os.wait4`` (this parent imports nothing heavy, so what a child inherits at fork stays far below any
command's peak). The baseline is the same command on a normal ~1 MP JPEG photo, measured in the same run
(median of ``--baseline-runs``; for ``scan`` the photo is not the brand's reference, so it takes the full path),
and a square 1024 x 1024 photo: the largest working copy, which every 49 MP square file becomes and which
costs the pipeline more than a 3:2 photo (OCR detects on 960 x 960 instead of 960 x 640). Goal (issue 11):
no accepted input above 1.5x the baseline; every refused input refused from its header (the reason says which
check refused it).

    .venv/bin/python scripts/bench_memory.py                 # every corpus file, both commands (~30 min)
    .venv/bin/python scripts/bench_memory.py --only wide_,bomb_ --json out.json

``brand add`` puts the file alone in a kit's ``references/`` (a kit accepts .jpg/.jpeg/.png/.webp there, so
other suffixes are refused by name); ``scan`` scans it as a candidate path, and the corpus's listings files
with ``--listings``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 1.5
# A refusal made before pixels are decoded (sizes, format, the byte budget) names one of these.
HEADER_REASONS = (
    "image too large",
    "image too small",
    "image too elongated",
    "file too large",
    "empty file",
    "not an image",
    "not a raster image",
    "unsupported",
    "bytes is over the",
    "longer than",
    "not valid JSON",
    "not valid UTF-8",
    "must be a JSON object",
    "invalid listing",
)
PHOTO_SNIPPET = r"""
import sys
import skimage.data
from PIL import Image
for name, out in (("coffee", sys.argv[1]), ("chelsea", sys.argv[2])):
    img = Image.fromarray(getattr(skimage.data, name)())
    scale = (1_000_000 / (img.width * img.height)) ** 0.5
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
    img.save(out, "JPEG", quality=90)
square = Image.fromarray(skimage.data.astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC)
square.save(sys.argv[3], "JPEG", quality=90)
"""


@dataclass
class Row:
    command: str
    name: str
    peak_mb: float
    ratio: float  # against the normal 1 MP photo (3:2)
    ratio_square: float  # against the square photo (the largest working copy: 1024 x 1024)
    outcome: str  # accepted | refused
    stage: str  # header | decode | - (accepted)
    reason: str


def counterfeit_cmd() -> list[str]:
    script = Path(sys.executable).parent / "counterfeit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "common.cli"]


def run(args: list[str], home: Path) -> tuple[int, float, str, str]:
    """(exit code, peak RSS MB of that child alone, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COUNTERFEIT_BRANDS", "MODEL_ENDPOINT_URL")}
    env |= {"COUNTERFEIT_HOME": str(home), "COUNTERFEIT_BACKEND": "local", "PYTHONPATH": str(ROOT)}
    env.pop("COUNTERFEIT_VISION_BACKEND", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*counterfeit_cmd(), *args], cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, usage.ru_maxrss / 1024, out.read().decode(), err.read().decode()


def make_kit(kit: Path, references: list[Path], brand: str = "bench") -> Path:
    shutil.rmtree(kit, ignore_errors=True)
    (kit / "references").mkdir(parents=True)
    brand_json = {"brand": brand, "display_name": "Bench", "trademarks": ["BENCH"]}
    (kit / "brand.json").write_text(json.dumps(brand_json))
    for ref in references:
        shutil.copy(ref, kit / "references" / ref.name)
    return kit


def stage_of(reason: str) -> str:
    return "header" if any(key in reason for key in HEADER_REASONS) else "decode"


def scan_outcome(code: int, stdout: str, stderr: str) -> tuple[str, str]:
    records = [json.loads(line) for line in stdout.splitlines() if line.strip().startswith("{")]
    errors = [r["error"] for r in records if "error" in r]
    if code not in (0, 3, 4) or not records:
        return "refused", (stderr.strip().splitlines() or [f"exit {code}"])[-1][:200]
    if errors and len(errors) == len(records):
        return "refused", "; ".join(sorted(set(errors)))[:200]
    if errors:
        return "accepted", f"{len(records) - len(errors)} scanned, {len(errors)} refused: {errors[0][:120]}"
    return "accepted", f"tier {records[0].get('tier')}"


def baseline(command: str, measure: object, photos: list[Path], runs: int) -> tuple[list[Row], float, float]:
    peaks = [statistics.median(measure(p) for _ in range(runs)) for p in photos]  # type: ignore[operator]
    labels = ("normal 1 MP photo (1225x816)", "square photo (1024x1024)")
    rows = [Row(command, label, peak, peak / peaks[0], peak / peaks[1], "accepted", "-", f"median of {runs}")
            for label, peak in zip(labels, peaks, strict=True)]  # fmt: skip
    return rows, peaks[0], peaks[1]


def bench_scan(
    home: Path, files: list[Path], listings: list[Path], photos: list[Path], runs: int
) -> list[Row]:
    rows, base, square = baseline(
        "scan", lambda p: run(["scan", "--brand", "bench", "--json", str(p)], home)[1], photos, runs
    )
    jobs = [(f.name, [str(f)]) for f in files] + [(f.name, ["--listings", str(f)]) for f in listings]
    for name, target in jobs:
        code, peak, out, err = run(["scan", "--brand", "bench", "--json", *target], home)
        outcome, reason = scan_outcome(code, out, err)
        stage = "-" if outcome == "accepted" else stage_of(reason)
        rows.append(Row("scan", name, peak, peak / base, peak / square, outcome, stage, reason))
        print(f"  scan {name}: {peak:.0f} MB {outcome}", file=sys.stderr)
    return rows


def brand_add_once(work: Path, ref: Path) -> tuple[int, float, str]:
    home = work / "home-add"
    shutil.rmtree(home, ignore_errors=True)
    code, peak, out, err = run(["brand", "add", str(make_kit(work / "kit-add", [ref]))], home)
    return code, peak, (out.strip() or err.strip()).replace("\n", " ")


def bench_brand_add(work: Path, files: list[Path], photos: list[Path], runs: int) -> list[Row]:
    rows, base, square = baseline("brand add", lambda p: brand_add_once(work, p)[1], photos, runs)
    for ref in files:
        code, peak, message = brand_add_once(work, ref)
        outcome = "accepted" if code == 0 else "refused"
        reason = message.split("invalid brand kit:", 1)[-1].strip()
        reason = reason.replace(str(work / "kit-add" / "references") + "/", "")[:200]
        stage = "-" if outcome == "accepted" else stage_of(reason)
        rows.append(Row("brand add", ref.name, peak, peak / base, peak / square, outcome, stage, reason))
        print(f"  brand add {ref.name}: {peak:.0f} MB {outcome}", file=sys.stderr)
    return rows


def print_table(rows: list[Row]) -> None:
    print(
        f"{'command':<10} {'file':<34} {'peak MB':>8} {'x normal':>9} {'x square':>9}  {'outcome':<8} "
        f"{'stage':<6} reason"
    )
    for r in rows:
        print(
            f"{r.command:<10} {r.name[:34]:<34} {r.peak_mb:>8.0f} {r.ratio:>9.2f} {r.ratio_square:>9.2f}  "
            f"{r.outcome:<8} {r.stage:<6} {r.reason[:90]}"
        )


def summary(rows: list[Row]) -> list[str]:
    lines = []
    for command in ("scan", "brand add"):
        mine = [r for r in rows if r.command == command]
        if not mine:
            continue
        base, square = mine[0], mine[1]
        accepted = [r for r in mine[2:] if r.outcome == "accepted"]
        refused = [r for r in mine[2:] if r.outcome == "refused"]
        worst = max(accepted, key=lambda r: r.ratio, default=None)
        worst_refused = max(refused, key=lambda r: r.ratio, default=None)
        over = [r.name for r in accepted if r.ratio > GOAL_RATIO]
        over_square = [r.name for r in accepted if r.ratio_square > GOAL_RATIO]
        lines.append(
            f"{command}: normal photo {base.peak_mb:.0f} MB, square photo {square.peak_mb:.0f} MB; "
            f"{len(accepted)} accepted, worst "
            + (f"{worst.peak_mb:.0f} MB = {worst.ratio:.2f}x normal ({worst.name})" if worst else "-")
            + f"; {len(refused)} refused ({sum(r.stage == 'header' for r in refused)} from the header), worst "
            + (f"{worst_refused.ratio:.2f}x ({worst_refused.name})" if worst_refused else "-")
            + f"; above {GOAL_RATIO}x normal: {', '.join(over) if over else 'none'}"
            + f"; above {GOAL_RATIO}x square: {', '.join(over_square) if over_square else 'none'}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="an existing hostile corpus (default: generate one)")
    parser.add_argument("--only", help="comma-separated name prefixes, e.g. wide_,bomb_")
    parser.add_argument("--commands", default="scan,brand add", help="scan and/or 'brand add'")
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "make_hostile_corpus.py"), str(corpus)], check=True
            )
        # the scanned photo is not the brand's reference, so the baseline scan takes the full path (embedding,
        # logo, OCR), not the hash short-circuit
        photo, reference, square = (
            work / "normal_1mp.jpg",
            work / "reference_1mp.jpg",
            work / "square_1mp.jpg",
        )
        subprocess.run(
            [sys.executable, "-c", PHOTO_SNIPPET, str(photo), str(reference), str(square)], check=True
        )
        prefixes = tuple(p for p in (args.only or "").split(",") if p)
        files = sorted(
            p for p in (corpus / "images").iterdir() if not prefixes or p.name.startswith(prefixes)
        )
        listings = [] if prefixes else sorted((corpus / "listings").glob("*.jsonl"))
        commands = {c.strip() for c in args.commands.split(",")}
        rows: list[Row] = []
        if "scan" in commands:
            home = work / "home-scan"
            code, _, out, err = run(["brand", "add", str(make_kit(work / "kit-scan", [reference]))], home)
            if code != 0:
                sys.exit(f"could not register the bench brand: {err or out}")
            rows += bench_scan(home, files, listings, [photo, square], args.baseline_runs)
        if "brand add" in commands:
            rows += bench_brand_add(work, files, [photo, square], args.baseline_runs)
    cpus = os.cpu_count()
    print(f"machine: {cpus} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print_table(rows)
    for line in summary(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
