#!/usr/bin/env python3
"""SIFT once per candidate, measured: the two passes the chain ran before (logo matching at 1000 px / 5,000
features, copy verification at 640 px / 1,500) against what it runs now: for working copies up to 640 px one
pass (``sift.candidate_keypoints`` in preprocess, stored in the work bucket, read back by logo_ocr and embed), for
larger ones each channel's own pass as before (``copyverify.shares_candidate_pass``), on the same working copies
in the same loop.

    .venv/bin/python scripts/bench_sift_once.py [--images DIR] [--side 1024] [--repeat 3]
    .venv/bin/python scripts/bench_sift_once.py --copy-scale SET   # SET: a bench_detection --keep DIR's set/

Images: the README demo's candidates (``scripts/make_demo.py``) unless ``--images`` names a directory of JPEG/PNG
files; each is turned into its working copy by ``imaging.preprocess`` (longest side <= 1024 px) and, with
``--side N``, first scaled so its longest side is N (marketplace photos are larger than the demo's 0.3-0.9 MP
images, and SIFT's cost grows with the pixels it sees). Figures are CPU ms of this process per candidate (OpenCV
limited to one thread, so CPU and work agree on a shared machine), median over images of the best of
``--repeat`` runs; the blob round trip is the local adapter's (files under a temporary COUNTERFEIT_HOME).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from common import copyverify  # noqa: E402
from common.bootstrap import build_deps  # noqa: E402
from common.imaging import open_working, preprocess  # noqa: E402
from common.settings import Settings  # noqa: E402
from common.vision.sift import Keypoints, candidate_keypoints  # noqa: E402


def cpu_ms(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, (time.process_time() - start) * 1000)
    return best


def measure(
    img: Image.Image, kp: Keypoints, write: Callable[[bytes], Any], read: Callable[[], bytes], repeat: int
) -> dict[str, float]:
    logo = cpu_ms(lambda: candidate_keypoints(img), repeat)  # logo matching's pass, the same before and after
    copy = cpu_ms(lambda: copyverify.sift_features(img), repeat)
    shared = copyverify.shares_candidate_pass(img.size)  # else copy verification keeps its own pass
    return {
        "logo": logo,
        "copy": copy,
        "one": logo,
        "copy_after": 0.0 if shared else copy,
        "shared": float(shared),
        "write": cpu_ms(lambda: write(kp.to_bytes()), repeat) if shared else 0.0,  # larger: nothing stored
        "read": cpu_ms(lambda: Keypoints.from_bytes(read()), repeat) if shared else 0.0,
        "size": len(kp.to_bytes()) / 1024,
    }


def working_copies(folder: Path, side: int | None) -> list[Image.Image]:
    out = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        if path.name.startswith("corrupt"):
            continue
        data = path.read_bytes()
        if side:
            img = Image.open(path).convert("RGB")
            scale = side / max(img.size)
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=95)
            data = buf.getvalue()
        _, working = preprocess(data, max_bytes=64 * 1024 * 1024, max_pixels=64 * 1024 * 1024)
        out.append(open_working(working))
    return out


# The smallest keypoint a SIFT pass reports, in the pixels it was given: octave -1 (OpenCV doubles the image),
# the first layer less half a layer of sub-layer interpolation: sigma 1.6 x 2^(0.5/3) = 1.796 (a 640 px pass of the
# seed 2027 set: 1.79996 smallest).
SMALLEST_KEYPOINT = 1.6 * 2 ** (0.5 / 3)


def size_filtered(image: Image.Image, strongest: bool) -> copyverify.Features:
    """The 1000 px pass seen at copy verification's 640 px scale: points and sizes rescaled, and (unless
    ``strongest``) only keypoints at least ``SMALLEST_KEYPOINT`` there; then the ``MAX_FEATURES`` strongest."""
    from common.vision.sift import CANDIDATE_MAX_FEATURES, CANDIDATE_MAX_SIDE

    gray = np.asarray(image.convert("L"))
    scale = min(1.0, CANDIDATE_MAX_SIDE / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    kps, desc = cv2.SIFT_create(nfeatures=CANDIDATE_MAX_FEATURES).detectAndCompute(gray, None)  # type: ignore[attr-defined]
    desc = np.clip(np.rint(desc), 0, 255).astype(np.float32)
    to640 = copyverify.FEATURE_SIDE / max(image.size) / scale
    sizes = np.array([k.size for k in kps]) * to640
    responses = np.array([k.response for k in kps])
    idx = np.arange(len(kps)) if strongest else np.flatnonzero(sizes >= SMALLEST_KEYPOINT)
    idx = np.sort(idx[np.argsort(-responses[idx], kind="stable")[: copyverify.MAX_FEATURES]])
    points = np.array([k.pt for k in kps], np.float32) * np.float32(to640)
    s640 = copyverify.FEATURE_SIDE / max(image.size)
    return points[idx], desc[idx], (max(1, round(image.width * s640)), max(1, round(image.height * s640)))


def copy_scale(set_dir: Path) -> None:
    import json

    from common.brands import get_brand, register_brand

    labels = [json.loads(x) for x in (set_dir / "labels.jsonl").read_text().splitlines()]
    passes = {
        "own 640 px pass": copyverify.sift_features,
        "1000 px pass, 1,500 strongest": lambda im: size_filtered(im, strongest=True),
        "1000 px pass, 640 px scales": lambda im: size_filtered(im, strongest=False),
    }
    methods = {"RANSAC": cv2.RANSAC, "MAGSAC++": copyverify.GEOMETRY_METHOD}
    chosen = copyverify.GEOMETRY_METHOD
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        deps = build_deps(Settings(home=Path(tmp) / "home"))
        brands: dict[str, Any] = {}
        for lab in labels:
            b = lab["brand_id"]
            if b not in brands:
                register_brand(deps, set_dir / "kits" / b)
                brands[b] = get_brand(deps, b)
            img = working_copies_of([set_dir / "images" / f"{b}-{lab['listing_id']}.jpg"])[0]
            if copyverify.shares_candidate_pass(img.size):
                continue
            index = copyverify.reference_index(deps, brands[b])
            feats = {name: make(img) for name, make in passes.items()}
            row = {"id": f"{b} {lab['listing_id']}", "label": lab["label"], "group": lab["group"]}
            try:
                for m_name, method in methods.items():
                    copyverify.GEOMETRY_METHOD = method
                    for p_name, cand in feats.items():
                        row[f"{p_name}, {m_name}"] = copyverify.best_geometry(index, cand)[0]
            finally:
                copyverify.GEOMETRY_METHOD = chosen
            rows.append(row)
    cols = [c for c in rows[0] if c not in ("id", "label", "group")] if rows else []
    mi = copyverify.MIN_INLIERS
    print(f"{len(rows)} candidates > {copyverify.FEATURE_SIDE} px; best copy inliers (fires at >= {mi})\n")
    print("| candidate | label | " + " | ".join(cols) + " |\n|---|---|" + "---:|" * len(cols))
    for row in rows:
        print(f"| {row['id']} | {row['label']} | " + " | ".join(str(row[c]) for c in cols) + " |")
    base = cols[0]
    print("\n| pass, estimator | copy fired: counterfeit / review | legit (authorized sellers aside) | changed vs "
          f"{base} | most inliers, legit |\n|---|---:|---:|---|---:|")  # fmt: skip
    legit = [r for r in rows if r["label"] == "legit" and r["group"] != "authorized"]
    for c in cols:
        flagged = sum(r[c] >= mi for r in rows if r["label"] != "legit")
        changed = [f"{r['id']} {r[base]}->{r[c]}" for r in rows if (r[c] >= mi) != (r[base] >= mi)]
        print(f"| {c} | {flagged} | {sum(r[c] >= mi for r in legit)} | {', '.join(changed) or 'none'} | "
              f"{max((r[c] for r in legit), default=0)} |")  # fmt: skip


def working_copies_of(paths: list[Path]) -> list[Image.Image]:
    out = []
    for path in paths:
        _, working = preprocess(path.read_bytes(), max_bytes=64 * 1024 * 1024, max_pixels=64 * 1024 * 1024)
        out.append(open_working(working))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=Path, help="a directory of candidate images (default: the demo's)")
    parser.add_argument("--side", type=int, help="scale each image to this longest side before preprocess")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--copy-scale", type=Path, metavar="SET", help="copy inliers: own pass vs the 1000 px pass"
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    if args.copy_scale:
        copy_scale(args.copy_scale)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.images
        if folder is None:
            spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
            assert spec is not None and spec.loader is not None
            demo = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(demo)
            demo.build(Path(tmp) / "demo")
            folder = Path(tmp) / "demo" / "candidates"
        images = working_copies(folder, args.side)
        deps = build_deps(Settings(home=Path(tmp) / "home"))
        bucket = deps.settings.work_bucket
        rows: dict[str, list[float]] = {
            k: [] for k in ("logo", "copy", "one", "copy_after", "shared", "write", "read", "size")
        }
        for i, img in enumerate(images):
            kp = candidate_keypoints(img)
            blob = f"bench/{i}.sift.npz"
            row = measure(img, kp, lambda data, b=blob: deps.blobs.write(bucket, b, data),
                          lambda b=blob: deps.blobs.read(bucket, b), args.repeat)  # fmt: skip
            for k, v in row.items():
                rows[k].append(v)
    med = {k: statistics.median(v) for k, v in rows.items()}
    stored = [i for i, v in enumerate(rows["shared"]) if v]
    io_ms = {k: statistics.median(rows[k][i] for i in stored) if stored else 0.0 for k in ("write", "read")}
    per_before = [a + b for a, b in zip(rows["logo"], rows["copy"], strict=True)]
    per_after = [
        a + b + w + 2 * r
        for a, b, w, r in zip(rows["one"], rows["copy_after"], rows["write"], rows["read"], strict=True)
    ]
    before, after = statistics.mean(per_before), statistics.mean(per_after)
    shared = len(stored)
    sides = sorted({max(i.size) for i in images})
    print(
        f"{len(images)} working copies, longest sides {sides[0]}-{sides[-1]} px; CPU ms per candidate (median; total: mean)"
    )
    print("| | before: two passes | after: one pass, stored (+ copy's own where > 640 px) |\n|---|---|---|")
    print(f"| logo matching's SIFT (1000 px / 5,000) | {med['logo']:.1f} | {med['one']:.1f} |")
    print(f"| copy verification's SIFT (640 px / 1,500) | {med['copy']:.1f} | {med['copy_after']:.1f} "
          f"(its own pass on the {len(images) - shared} working copies > 640 px) |")  # fmt: skip
    print(
        f"| keypoints blob (<= 640 px): write once, read twice | - | {io_ms['write']:.1f} + 2 x {io_ms['read']:.1f} |"
    )
    print(f"| total, mean per candidate | {before:.1f} | {after:.1f} ({after / before:.2f}x) |")
    print(f"keypoints blob {med['size']:.0f} KB median (max {max(rows['size']):.0f} KB); copy verification used the "
          f"shared pass on {shared} of {len(images)} (working copy <= {copyverify.FEATURE_SIDE} px)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
