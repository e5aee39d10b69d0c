"""Coverage-guided fuzzing of the untrusted-input parsers, for a bounded time per target.

Targets (harnesses in ``tests/fuzz/harnesses.py``):
- ``image``: ``common.imaging.decode``/``preprocess`` (only ``BadImage`` may escape);
- ``listing``: the listings-file line parser, the Pub/Sub message contracts and the signed webhook
  (only the documented errors / an HTTP answer below 500);
- ``textmatch``: ``common.vision.textmatch.match_brand_text`` on any unicode (no exception at all).

Engine: atheris (libFuzzer for Python, coverage-guided; the target modules and Pillow's Python plugins are
instrumented). Without atheris it falls back to seed-mutation fuzzing with the same harnesses (random byte
flips, truncation, splicing and insertion of interesting values: not coverage-guided, said so in the output).
Seeds come from the hostile corpus (``scripts/make_hostile_corpus.py``) plus a few valid inputs. Each target
runs in its own process; a crash leaves its input in ``--artifacts`` (replay it with
``tests/hostile/test_fuzz_regressions.py`` after copying it to ``tests/hostile/regressions/<target>/``).

Usage: ``python scripts/fuzz.py [--seconds 60] [--targets image,listing,textmatch] [--work build/fuzz]``
Exit status: 0 clean, 1 a target crashed (its input path is printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SECONDS = 60
# libFuzzer limits per input: a legal 50 MP image needs ~200 MB and ~1 s to decode; anything slower than 30 s
# or bigger than 1.5 GB is a finding, not noise.
TIMEOUT_PER_INPUT_S = 30
RSS_LIMIT_MB = 1536
MAX_INPUT_BYTES = {"image": 256 * 1024, "listing": 64 * 1024, "textmatch": 4 * 1024}
VALID_LISTING = {"brand": "acme", "listing_id": "seed-1", "image": "https://cdn.example/p.jpg",
                 "title": "ACME Runner genuine", "price": 19.5, "currency": "USD", "seller_id": "s1"}  # fmt: skip
TEXT_SEEDS = (
    "Genuine ACME runner",
    "A\u200bC\u200cM\u200dE",
    "\u202eEMCA\u202c",
    "4CME R0ADSTER",
    "\u0410\u0421\u041c\u0415",
    "L o u i s V u i t t o n",
    "正品耐克运动鞋",
    "ｌｏｕｉｓ ｖｕｉｔｔｏｎ\x00Louis Vuitton",
    "\ufb01\u0301\u0338\U0001d400\U0001f45f",
)


def _load_corpus_generator() -> object:
    name = "make_hostile_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_hostile_corpus.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def write_seeds(work: Path) -> dict[str, Path]:
    """Seed directories per target, from the hostile corpus (images capped at MAX_INPUT_BYTES)."""
    gen = _load_corpus_generator()
    seeds = {t: work / "seeds" / t for t in MAX_INPUT_BYTES}
    for d in seeds.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for name, (data, _expect, _why) in gen.images().items():  # type: ignore[attr-defined]
        if len(data) <= MAX_INPUT_BYTES["image"]:
            (seeds["image"] / name).write_bytes(data)
    for i, (line, _expect) in enumerate(gen.listing_lines()):  # type: ignore[attr-defined]
        if len(line) <= MAX_INPUT_BYTES["listing"]:
            (seeds["listing"] / f"line-{i:02d}.json").write_bytes(line)
    (seeds["listing"] / "valid.json").write_text(json.dumps(VALID_LISTING))
    for i, text in enumerate((*TEXT_SEEDS, gen.RTL_TITLE)):  # type: ignore[attr-defined]
        (seeds["textmatch"] / f"text-{i:02d}.txt").write_bytes(text.encode("utf-8"))
    return seeds


# -- worker: one target in this process ------------------------------------------------------------------------
def run_atheris(target: str, seconds: int, corpus: Path, seeds: Path, artifacts: Path) -> int:
    import atheris

    with atheris.instrument_imports(include=["common", "PIL", "json"]):
        from tests.fuzz import harnesses

        harnesses.preload()
    fn = harnesses.TARGETS[target]
    argv = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        f"-timeout={TIMEOUT_PER_INPUT_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_INPUT_BYTES[target]}",
        f"-artifact_prefix={artifacts}/{target}-",
        "-print_final_stats=1",
        str(corpus),
        str(seeds),
    ]
    atheris.Setup(argv, fn)
    atheris.Fuzz()
    return 0


INTERESTING = (b"\x00", b"\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xef\xbb\xbf", b"\xed\xa0\x80",
               b"[", b"{", b'"', b"\\", "\u202e".encode(), b"\x80\x00\x00\x00")  # fmt: skip


def mutate(rng: random.Random, data: bytes, others: list[bytes], max_len: int) -> bytes:
    buf = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) or 1)
        if op == 0 and buf:
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = rng.choice(INTERESTING)
        elif op == 2 and len(buf) > 1:
            del buf[pos : pos + rng.randint(1, max(1, len(buf) // 4))]
        elif op == 3 and others:
            other = rng.choice(others)
            cut = rng.randrange(len(other) or 1)
            buf = buf[:pos] + bytearray(other[cut:])
        elif op == 4:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif buf:
            buf[pos % len(buf)] = rng.randrange(256)
    return bytes(buf[:max_len])


def run_mutation(target: str, seconds: int, seeds: Path, artifacts: Path) -> int:
    """The fallback engine (no atheris): random mutations of the seeds, same harness, same crash files."""
    from tests.fuzz import harnesses

    fn = harnesses.TARGETS[target]
    pool = [p.read_bytes() for p in sorted(seeds.iterdir())]
    rng = random.Random(0)
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        data = (
            pool[runs] if runs < len(pool) else mutate(rng, rng.choice(pool), pool, MAX_INPUT_BYTES[target])
        )
        try:
            fn(data)
        except Exception as exc:  # noqa: BLE001 - a crash: keep the input, report, stop like libFuzzer
            path = artifacts / f"{target}-crash-{runs}"
            path.write_bytes(data)
            print(f"CRASH in {target}: {type(exc).__name__}: {str(exc)[:300]}\n  input: {path}", flush=True)
            return 1
        runs += 1
    print(
        f"mutation fuzzing (not coverage-guided): {target}: {runs} runs in {seconds}s, no crash", flush=True
    )
    return 0


# -- driver ----------------------------------------------------------------------------------------------------
def engine() -> str:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return "mutation"
    return "atheris"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="per target (default 60)")
    parser.add_argument("--targets", default=",".join(MAX_INPUT_BYTES), help="comma list")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "fuzz", help="corpus + crash files")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutation"), default="auto")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chosen = engine() if args.engine == "auto" else args.engine
    artifacts = args.work / "crashes"
    artifacts.mkdir(parents=True, exist_ok=True)
    if args.worker:
        seeds = args.work / "seeds" / args.worker
        if chosen == "atheris":
            corpus = args.work / "corpus" / args.worker
            corpus.mkdir(parents=True, exist_ok=True)
            return run_atheris(args.worker, args.seconds, corpus, seeds, artifacts)
        return run_mutation(args.worker, args.seconds, seeds, artifacts)

    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(MAX_INPUT_BYTES)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    write_seeds(args.work)
    print(f"engine: {chosen}; {args.seconds}s per target; work dir {args.work}", flush=True)
    failed = []
    env = os.environ | {"PYTHONPATH": str(ROOT), "COUNTERFEIT_BACKEND": "local"}
    for target in targets:
        before = set(artifacts.iterdir())
        start = time.monotonic()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", target, "--seconds", str(args.seconds),
               "--work", str(args.work), "--engine", chosen]  # fmt: skip
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
        new = sorted(set(artifacts.iterdir()) - before)
        summary = [line for line in (proc.stdout + proc.stderr).splitlines()
                   if line.startswith(("stat::number_of_executed_units", "stat::new_units_added", "#", "CRASH",
                                       "mutation fuzzing", "==", "Uncaught", " === "))]  # fmt: skip
        execs = next((s.split(":")[-1].strip() for s in summary if "number_of_executed_units" in s), "?")
        cov = next((s for s in reversed(summary) if s.startswith("#") and "cov:" in s), "")
        status = "clean" if proc.returncode == 0 and not new else f"CRASH (exit {proc.returncode})"
        print(
            f"[{target}] {status} in {elapsed:.0f}s; executions: {execs}; last: {cov.strip()[:120]}",
            flush=True,
        )
        if status != "clean":
            failed.append(target)
            tail = (proc.stdout + proc.stderr).splitlines()[-40:]
            print("\n".join(f"    {line}" for line in tail), flush=True)
            for path in new:
                print(f"    crashing input: {path}", flush=True)
    print("fuzz run: " + ("clean" if not failed else f"crashes in {', '.join(failed)}"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
