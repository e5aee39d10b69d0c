#!/usr/bin/env python3
"""The benchmark brands' mark detectors on the detection benchmark's own scenario images, without the pipeline.

    .venv/bin/python scripts/probe_mark_detector_scenarios.py --seeds 14,2027 --n 6
    .venv/bin/python scripts/probe_mark_detector_scenarios.py --seeds 8181 --legit competitor_mark,lookalike_s9

Each brand of common.synthetic_brands gets its detector trained exactly as `brand add` trains it (its logo file and
trademark, the trainer's defaults); the images of the chosen scenarios (common.synthetic_listings, JPEG-encoded at
the listing's quality) are scored through the detection pyramid. Prints, per image, the best logo-class and
wordmark-class probability and whether a logo class fires (``mark_detector.fire_threshold``), then per scenario
how many fired and the detector's median CPU ms per image. Fast (a few minutes) where a `bench_detection.py` run
takes tens: for developing the detector's training on the classes the benchmark's channels miss (used seeds only).
The pipeline scores its 1024 px working copy, re-encoded, and skips the detector where SIFT verified the mark, so
its probabilities differ by a few hundredths: the benchmark decides.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.synthetic_brands import BRANDS, draw_mark  # noqa: E402
from common.synthetic_listings import generate  # noqa: E402
from common.vision import mark_training  # noqa: E402
from common.vision.mark_detector import fire_threshold, score_windows  # noqa: E402
from common.vision.mark_features import feature_extractor  # noqa: E402

COUNTERFEIT = "tiled_pattern,embossed_mark,altered_mark,stylised"
LEGIT = "lookalike_s17,lookalike_s9,competitor_mark,accessory_compatible,comparison,unrelated"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="14,2027", help="benchmark set seeds (used ones only)")
    ap.add_argument("--n", type=int, default=6, help="counterfeit listings per scenario")
    ap.add_argument("--scenarios", default=COUNTERFEIT, help="counterfeit scenarios")
    ap.add_argument("--legit", default=LEGIT, help="legit scenarios ('' for none)")
    ap.add_argument("--nlegit", type=int, default=6, help="legit listings per scenario")
    ap.add_argument("--out", type=Path, help="write every image's scores here as JSON")
    args = ap.parse_args(argv)
    fx = feature_extractor()
    models = {}
    for spec in BRANDS:
        cpu = time.process_time()
        classes = mark_training.mark_classes(
            [(f"logo:{spec.brand_id}-mark.png", draw_mark(spec))], [spec.name]
        )
        m = mark_training.train_detector(spec.brand_id, classes, fx=fx)
        models[spec.brand_id] = m
        print(f"trained {spec.brand_id}: threshold {m.threshold:.3f}, logo fires at "
              f"{fire_threshold(m, 'logo:'):.3f}, {m.meta['calibration']}, "
              f"{time.process_time() - cpu:.1f} s CPU", flush=True)  # fmt: skip
    rows, ms = [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        for group, chosen, n in (("cf", args.scenarios, args.n), ("lg", args.legit, args.nlegit)):
            if not chosen:
                continue
            for item in generate(seed, n, chosen.split(",")):
                buf = io.BytesIO()
                item.image.convert("RGB").save(buf, "JPEG", quality=item.quality)
                img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
                m = models[item.brand_id]
                cpu = time.process_time()
                z = score_windows(m, fx.windows(img).features)
                ms.append(1000 * (time.process_time() - cpu))
                best = {"logo": 0.0, "wordmark": 0.0}
                for c in range(z.shape[1]):
                    kind = "wordmark" if m.classes[c + 1].startswith("wordmark:") else "logo"
                    best[kind] = max(best[kind], float(m.probability(z[:, c].max())))
                fired = best["logo"] >= fire_threshold(m, "logo:")
                rows.append({"seed": seed, "listing_id": item.listing_id, "brand_id": item.brand_id,
                             "scenario": item.scenario, "group": group, "notes": item.notes, **best,
                             "fired": fired})  # fmt: skip
                print(f"{seed} {group} {item.brand_id:7} {item.listing_id:26} logo {best['logo']:.3f} "
                      f"wordmark {best['wordmark']:.3f} {'FIRES' if fired else '     '} {item.notes}", flush=True)  # fmt: skip
    print(f"\ndetector CPU per image: median {statistics.median(ms):.0f} ms")
    by: dict[tuple[str, str], list[bool]] = {}
    for r in rows:
        by.setdefault((r["group"], r["scenario"]), []).append(r["fired"])
    for (group, scenario), fired in by.items():
        print(f"{group} {scenario:22} fires on {sum(fired)}/{len(fired)}")
    if args.out:
        args.out.write_text(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
