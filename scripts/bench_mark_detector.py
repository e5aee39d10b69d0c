"""Benchmark the per-brand mark detector against SIFT alone on held-out synthetic composites; print markdown.

    .venv/bin/python scripts/bench_mark_detector.py                 # the shipped configuration
    .venv/bin/python scripts/bench_mark_detector.py --quick         # fewer images per class
    .venv/bin/python scripts/bench_mark_detector.py --alternatives  # also the measured alternatives (docs/vision.md)

The demo brand's mark (scripts/make_demo.py, "ACME") is trained exactly as ``brand add`` trains it, except that
the bundled background photos are split: training sees one half, every test image is built on the other half
(and with seeds training never used), so no test background was seen in training. Classes: marks of ~24-40 and
~40-60 px in an 800x600 photo (a listing's working copy), the changes counterfeiters make (tiled all-over
pattern, painterly / cartoon renders, emboss / deboss, foil, a missing element, the wordmark in another font,
mirrored + rotated, low contrast, occlusion). False positives: held-out unrelated photos, photos carrying other
marks (generated ones and the package-shipped logos) and other brands' marks (common.vision.synthetic logos).
Training time is CPU seconds of this process (a busy shared machine inflates wall time, not CPU time); per-image
cost is the median ms of the detector and of SIFT on the same images, with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.vision import mark_synthesis as synth  # noqa: E402
from common.vision import mark_training  # noqa: E402
from common.vision.logo import candidate_features, extract_logo_features, find_logos  # noqa: E402
from common.vision.mark_detector import DetectorModel, detect  # noqa: E402
from common.vision.mark_features import FEATURE_TENSORS, FeatureExtractor, feature_extractor  # noqa: E402
from common.vision.synthetic import synthetic_logo  # noqa: E402

SIZE = (800, 600)
# (class, variation, mark side range in px)
CLASSES: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("plain 24-40 px", "small", (24, 40)),
    ("plain 40-60 px", "plain", (40, 60)),
    ("tiled pattern", "tiled", (24, 60)),
    ("painterly", "painterly", (40, 90)),
    ("cartoon", "cartoon", (40, 90)),
    ("embossed", "emboss", (40, 90)),
    ("debossed", "deboss", (40, 90)),
    ("foil", "foil", (40, 90)),
    ("missing element", "missing", (40, 90)),
    ("wordmark, other font", "font", (50, 120)),
    ("mirrored", "mirror", (40, 90)),
    ("rotated", "rotate", (40, 90)),
    ("low contrast", "low_contrast", (40, 90)),
    ("occluded", "occlusion", (40, 90)),
)
ALTERNATIVES = {
    "stride-16 blocks 10+7 (192-d), logistic": (FEATURE_TENSORS, 16, "logistic"),
    "stride-32 head (1280-d), logistic": (("/_swish_1/Clip_output_0",), 32, "logistic"),
    "stride-16 blocks 10+7 (192-d), linear SVM": (FEATURE_TENSORS, 16, "linear_svm"),
}


def demo_logo() -> Image.Image:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo", Path(__file__).with_name("make_demo.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_logo()  # type: ignore[no-any-return]


def test_set(
    logo: Image.Image, photos: list[str], per_class: int, negatives: int
) -> tuple[list[tuple[str, synth.Composite]], list[tuple[str, Image.Image]]]:
    rng = np.random.default_rng(20261203)  # never a training seed
    mark = synth.mark_rgba(logo)
    positives = [
        (name, synth.compose(mark, variation, rng, SIZE, photos, sides, ["ACME"]))
        for name, variation, sides in CLASSES
        for _ in range(per_class)
    ]
    negs: list[tuple[str, Image.Image]] = [("unrelated photo", synth.photo(p).resize(SIZE)) for p in photos]
    while len(negs) < len(photos) + negatives:
        negs.append(("other marks", synth.negative(rng, SIZE, photos, other_marks=3).image))
    for seed in range(negatives):  # other brands' marks pasted like ours
        other = synth.mark_rgba(synthetic_logo(1000 + seed))
        comp = synth.compose(other, "plain", rng, SIZE, photos, (40, 160))
        negs.append(("other brand's mark", comp.image))
    return positives, negs


def run(
    name: str,
    fx: FeatureExtractor,
    head: str,
    logo: Image.Image,
    train_bg: list[str],
    tests: tuple,
    sift: dict,
) -> dict[str, object]:
    classes = mark_training.mark_classes([("logo:acme-mark.png", logo)], ["ACME", "Acme Roadster"])
    cpu, wall = time.process_time(), time.perf_counter()
    model = mark_training.train_detector(
        "acme",
        classes,
        background_photos=train_bg,
        positives_per_class=mark_training.POSITIVES_PER_CLASS,
        negatives=mark_training.NEGATIVES,
        calibration=(mark_training.CALIBRATION_POSITIVES, mark_training.CALIBRATION_NEGATIVES),
        fx=fx,
        head_kind=head,
    )
    train_cpu, train_wall = time.process_time() - cpu, time.perf_counter() - wall
    positives, negatives = tests
    per_class: dict[str, list[tuple[bool, bool]]] = {}
    ms: list[float] = []
    for cls, comp in positives:
        start = time.perf_counter()
        found = detect(model, comp.image, fx)
        ms.append((time.perf_counter() - start) * 1000)
        per_class.setdefault(cls, []).append((bool(found.hits), sift[id(comp)]))
    fp: dict[str, list[tuple[bool, bool]]] = {}
    for cls, img in negatives:
        fp.setdefault(cls, []).append((bool(detect(model, img, fx).hits), sift[id(img)]))
    return {
        "name": name,
        "model": model,
        "train_cpu": train_cpu,
        "train_wall": train_wall,
        "per_class": per_class,
        "fp": fp,
        "ms": statistics.median(ms),
    }


def share(rows: list[tuple[bool, bool]], which: int | None) -> float:
    hits = [(a or b) if which is None else (a, b)[which] for a, b in rows]
    return sum(hits) / max(1, len(hits))


def print_main(main_result: dict[str, object], per_class: int, sift_ms: list[float]) -> None:
    model: DetectorModel = main_result["model"]  # type: ignore[assignment]
    print(f"## Mark detector vs SIFT ({per_class} held-out images per class, {SIZE[0]}x{SIZE[1]})\n")
    print(f"threshold {model.threshold:.3f}; calibration {model.meta.get('calibration')}\n")
    print("| class | SIFT alone | detector | SIFT or detector |")
    print("|---|---|---|---|")
    rows: dict[str, list[tuple[bool, bool]]] = main_result["per_class"]  # type: ignore[assignment]
    every: list[tuple[bool, bool]] = []
    for cls, r in rows.items():
        every += r
        print(f"| {cls} | {share(r, 1):.2f} | {share(r, 0):.2f} | {share(r, None):.2f} |")
    print(f"| **all** | {share(every, 1):.2f} | {share(every, 0):.2f} | {share(every, None):.2f} |")
    print("\n| false positives on | n | SIFT alone | detector | SIFT or detector |")
    print("|---|---|---|---|---|")
    fp: dict[str, list[tuple[bool, bool]]] = main_result["fp"]  # type: ignore[assignment]
    all_neg: list[tuple[bool, bool]] = []
    for cls, r in fp.items():
        all_neg += r
        print(f"| {cls} | {len(r)} | {share(r, 1):.3f} | {share(r, 0):.3f} | {share(r, None):.3f} |")
    print(
        f"| **all** | {len(all_neg)} | {share(all_neg, 1):.3f} | {share(all_neg, 0):.3f} | {share(all_neg, None):.3f} |"
    )
    tp = sum(a for a, _ in every)
    fpos = sum(a for a, _ in all_neg)
    print(
        f"\ndetector precision {tp / max(1, tp + fpos):.3f} recall {tp / max(1, len(every)):.3f} at threshold "
        f"{model.threshold:.3f} (positives {len(every)}, negatives {len(all_neg)})"
    )
    sift_med = statistics.median(sift_ms)
    print(
        f"\nper image: detector {main_result['ms']:.0f} ms, SIFT {sift_med:.0f} ms (ratio "
        f"{float(main_result['ms']) / sift_med:.2f}); training {main_result['train_cpu']:.1f} s CPU "  # type: ignore[arg-type]
        f"({main_result['train_wall']:.1f} s wall)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 images per class instead of 10")
    parser.add_argument("--alternatives", action="store_true", help="also train and test the alternatives")
    args = parser.parse_args(argv)
    per_class, n_neg = (4, 8) if args.quick else (10, 20)
    photos = list(synth.bundled_photo_names())
    train_bg, test_bg = photos[0::2], photos[1::2]
    logo = demo_logo()
    tests = test_set(logo, test_bg, per_class, n_neg)
    positives, negatives = tests

    # SIFT alone, as the logo channel runs it today (common.vision.logo), on the very same images.
    feats = [extract_logo_features("logo:acme-mark.png", logo)]
    sift: dict[int, bool] = {}
    sift_ms: list[float] = []
    for _, comp in positives:
        start = time.perf_counter()
        sift[id(comp)] = bool(find_logos(candidate_features(comp.image), feats))
        sift_ms.append((time.perf_counter() - start) * 1000)
    for _, img in negatives:
        sift[id(img)] = bool(find_logos(candidate_features(img), feats))

    configs = ALTERNATIVES if args.alternatives else dict(list(ALTERNATIVES.items())[:1])
    results = []
    for name, (tensors, stride, head) in configs.items():
        fx = (
            feature_extractor()
            if tensors == FEATURE_TENSORS
            else FeatureExtractor(feature_extractor().manifest, tensors=tensors, stride=stride)
        )
        results.append(run(name, fx, head, logo, train_bg, tests, sift))
        if len(results) == 1:
            print_main(results[0], per_class, sift_ms)
        if args.alternatives:  # each configuration as soon as it is measured (a long run may be cut short)
            res = results[-1]
            pos = [r for v in res["per_class"].values() for r in v]  # type: ignore[attr-defined]
            neg = [r for v in res["fp"].values() for r in v]  # type: ignore[attr-defined]
            print(
                f"measured: {name}: recall {share(pos, 0):.2f}, false positives {share(neg, 0):.3f}, "
                f"{float(res['ms']):.0f} ms/image, training {float(res['train_cpu']):.1f} s CPU",  # type: ignore[arg-type]
                flush=True,
            )

    if len(results) > 1:
        print("\n## Alternatives (same training and test images)\n")
        print("| features, head | recall | false-positive rate | ms/image | training s CPU |")
        print("|---|---|---|---|---|")
        for res in results:
            pc: dict[str, list[tuple[bool, bool]]] = res["per_class"]  # type: ignore[assignment]
            fps: dict[str, list[tuple[bool, bool]]] = res["fp"]  # type: ignore[assignment]
            pos = [r for v in pc.values() for r in v]
            neg = [r for v in fps.values() for r in v]
            print(
                f"| {res['name']} | {share(pos, 0):.2f} | {share(neg, 0):.3f} | {float(res['ms']):.0f} | "  # type: ignore[arg-type]
                f"{float(res['train_cpu']):.1f} |"  # type: ignore[arg-type]
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
