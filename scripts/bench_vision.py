"""Benchmark the logo_ocr channel's parts on a generated test set and print markdown tables.

    .venv/bin/python scripts/bench_vision.py            # full run (~5-8 min on 2 cores)
    .venv/bin/python scripts/bench_vision.py --quick    # fewer images
    .venv/bin/python scripts/bench_vision.py --ocr-only # only the OCR model/settings comparison
    .venv/bin/python scripts/bench_vision.py --ocr-gate # where the detector runs, and its session options
    .venv/bin/python scripts/bench_vision.py --ocr-int8 # the text detector in float32 vs int8, same images

OCR comparison: the shipped PP-OCRv6 (rapidocr 3.10's wheel) at several detector sizes against PP-OCRv4, the
models of rapidocr-onnxruntime 1.4.4 that this project used before, run through the same rapidocr 3.10 code
(their SHA-256 equals rapidocr's PP-OCRv4 mobile registry entries). The v4 files come from ``--v4-models DIR``
or, by default, from that wheel fetched once with ``pip download`` into ~/.cache/counterfeit/ocr-v4.

Speed: ms/image (median) for logo matching with 1, 10 and 50 registered logos, OCR, colour and barcode decoding,
each also as a ratio to a baseline measured in the same run (RGB -> grey + resize to 1000 px of the same image),
so figures from a busy machine can still be compared. Quality: logo detection rate per distortion and false
positives on unrelated photos; brand-text detection per evasion rule through real OCR + textmatch, and false hits
on ordinary words.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.messages import ColorShare  # noqa: E402
from common.vision import synthetic as syn  # noqa: E402
from common.vision.barcode import PASSES, decode_codes  # noqa: E402
from common.vision.color import color_signal  # noqa: E402
from common.vision.logo import candidate_features, extract_logo_features, find_logos  # noqa: E402
from common.vision.ocr import (  # noqa: E402
    DET_LIMIT_SIDE,
    MODEL_FILES,
    OcrModels,
    RapidOcrEngine,
    ocr_models,
    shared_engine_count,
)
from common.vision.ocr_inputs import ocr_match_inputs  # noqa: E402
from common.vision.ocr_zoom import has_brand_text, read_with_zoom  # noqa: E402
from common.vision.textmatch import match_brand_text  # noqa: E402

SIZE = (1000, 750)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def baseline(img: Image.Image) -> None:
    gray = np.asarray(img.convert("L"))
    cv2.resize(gray, (1000, round(1000 * gray.shape[0] / gray.shape[1])), interpolation=cv2.INTER_AREA)


def occlude(img: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    out = img.copy()
    ImageDraw.Draw(out).rectangle(box, fill=(90, 120, 60))
    return out


def logo_cases(logo: Image.Image, bg: Image.Image) -> dict[str, Image.Image]:
    quad = np.array([[300, 160], [700, 230], [670, 620], [330, 560]])
    return {
        "pasted 260 px": syn.paste(bg, logo, 260, (300, 200)),
        "small 110 px": syn.paste(bg, logo, 110, (500, 400)),
        "tiny 70 px": syn.paste(bg, logo, 70, (500, 400)),
        "perspective": syn.warp_into(bg, logo, quad),
        "rotated 30°": syn.rotate_paste(bg, logo, 280, 30, (500, 380)),
        "rotated 90°": syn.rotate_paste(bg, logo, 280, 90, (500, 380)),
        "mirrored": syn.paste(bg, ImageOps.mirror(logo), 260, (300, 200)),
        "on black product": syn.paste(Image.new("RGB", bg.size, (15, 15, 15)), logo, 260, (300, 200)),
        "30% occluded": occlude(syn.paste(bg, logo, 260, (300, 200)), (300, 200, 378, 460)),
        "JPEG q=40 blur": jpeg_blur(syn.paste(bg, logo, 200, (300, 200))),
    }


def jpeg_blur(img: Image.Image) -> Image.Image:
    import io

    arr = cv2.GaussianBlur(np.asarray(img), (3, 3), 0)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=40)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


TEXT_CASES = [  # (rule, rendered text, trademark, should match)
    ("exact", "ACME Rocket Skates", "ACME", True),
    ("nfkc_casefold", "acme rocket skates", "ACME", True),
    ("fullwidth", "ＡＣＭＥ skates", "ACME", True),
    ("spacing", "A C M E skates", "ACME", True),
    ("punctuation", "N.I.K.E trainers", "Nike", True),
    ("leetspeak", "4CME skates", "ACME", True),
    ("leetspeak", "N1KE Air", "Nike", True),
    ("fuzzy", "Chanell handbag", "Chanel", True),
    ("confusable", "\u039dike Air", "Nike", True),
    ("mixed_script", "N\u0456ke Air", "Nike", True),
    ("chinese", "正品耐克运动鞋", "耐克", True),
    ("negative", "acmeist manifesto", "ACME", False),
    ("negative", "Nikel plated", "Nike", False),
    ("negative", "mike rode a bike", "Nike", False),
    ("negative", "耐用运动鞋", "耐克", False),
]


V4_CACHE = Path.home() / ".cache" / "counterfeit" / "ocr-v4"
V4_WHEEL = "rapidocr-onnxruntime==1.4.4"


def v4_models(directory: Path | None) -> OcrModels:
    """PP-OCRv4 det/rec/cls from ``directory``, or extracted once from the rapidocr-onnxruntime 1.4.4 wheel."""
    if directory is None:
        directory = V4_CACHE
        names = [name for _, name in MODEL_FILES["PP-OCRv4"].values()]
        if not all((directory / n).is_file() for n in names):
            directory.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", V4_WHEEL, "-d", str(directory)],
                check=True,
            )
            [wheel] = directory.glob("rapidocr_onnxruntime-1.4.4-*.whl")
            with zipfile.ZipFile(wheel) as zf:
                for member in zf.namelist():
                    if Path(member).name in names:
                        (directory / Path(member).name).write_bytes(zf.read(member))
    return ocr_models("PP-OCRv4", directory)


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFKC", text).casefold().split()


def degrade(img: Image.Image) -> Image.Image:
    return jpeg_blur(img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR))


TEXT_RENDERINGS: dict[str, Callable[[str], Image.Image]] = {  # how each TEXT_CASES text is drawn
    "plain label": lambda t: syn.text_image(t),
    "band on photo": lambda t: syn.text_image(t, on=syn.background(1, SIZE), font_size=56),
    "small on photo": lambda t: syn.text_image(t, on=syn.background(2, SIZE), font_size=28),
    "half size, blur, JPEG q=40": lambda t: degrade(
        syn.text_image(t, on=syn.background(3, SIZE), font_size=56)
    ),
}


@dataclass
class _OcrStats:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    words: int = 0
    tp: int = 0
    fp: int = 0
    misses: list[str] = field(default_factory=list)


def ocr_comparison(n_runs: int, v4_dir: Path | None) -> None:
    """Same images, same matcher, one engine per configuration; prints one table row per configuration."""
    v6 = ocr_models()
    v4 = v4_models(v4_dir)
    configs = [
        ("PP-OCRv6 small, max side 960 (shipped)", v6, 960, "max"),
        ("PP-OCRv6 small, max side 736", v6, 736, "max"),
        ("PP-OCRv6 small, rapidocr default (min side 736)", v6, 736, "min"),
        ("PP-OCRv4 mobile, max side 960 (before)", v4, 960, "max"),
    ]
    variants = TEXT_RENDERINGS
    images = [
        (rule, text, mark, pos, v, make(text))
        for rule, text, mark, pos in TEXT_CASES
        for v, make in variants.items()
    ]
    print(
        f"OCR model/settings comparison ({len(TEXT_CASES)} texts × {len(variants)} renderings, same matcher):\n"
    )
    print(
        "| configuration | load ms | ms/image wall (median) | CPU ms/image (median) | words read exactly | "
        "evasions matched | false hits | "
        + " | ".join(f"matched: {v}" for v in variants)
        + " |\n|---|---|---|---|---|---|---|"
        + "---|" * len(variants)
    )
    engines = []
    for label, models, side, kind in configs:
        engine = RapidOcrEngine(models, det_limit_side=side, det_limit_type=kind)
        load_ms, _ = timed(engine.load)
        engines.append((label, engine, load_ms))
    # Round-robin: every image goes through every configuration before the next image, so a busy machine
    # slows all configurations alike; CPU time (all threads of this process) is the steadier figure.
    stats = {label: _OcrStats() for label, _, _ in engines}
    per_variant = {label: {v: [0, 0] for v in variants} for label, _, _ in engines}
    words_total = n_pos = n_neg = 0
    for _rule, text, mark, positive, variant, img in images:
        expected = _words(text)
        words_total += len(expected)
        n_pos += positive
        n_neg += not positive
        for label, engine, _ in engines:
            st = stats[label]
            for _ in range(n_runs):
                cpu0 = time.process_time()
                ms, lines = timed(lambda img=img, engine=engine: engine.read(img))
                st.cpu.append((time.process_time() - cpu0) * 1000)
                st.wall.append(ms)
            read = " ".join(line.text for line in lines)
            got = bool(match_brand_text(ocr_match_inputs([line.text for line in lines]), [mark]))
            st.words += sum(w in _words(read) for w in expected)
            if positive:
                st.tp += got
                per_variant[label][variant][0] += got
                per_variant[label][variant][1] += 1
                if not got:
                    st.misses.append(f"{text!r} ({variant}) read {read!r}")
            else:
                st.fp += got
                if got:
                    st.misses.append(f"false hit: {text!r} ({variant}) read {read!r}")
    for label, _, load_ms in engines:
        st = stats[label]
        print(
            f"| {label} | {load_ms:.0f} | {statistics.median(st.wall):.0f} | {statistics.median(st.cpu):.0f} | "
            f"{st.words}/{words_total} ({100 * st.words / words_total:.0f}%) | {st.tp}/{n_pos} | {st.fp}/{n_neg} | "
            + " | ".join(f"{a}/{b}" for a, b in per_variant[label].values())
            + " |"
        )
    print()
    for label, _, _ in engines:
        for miss in stats[label].misses:
            print(f"- {label}: missed {miss}")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images per case")
    ap.add_argument("--ocr-only", action="store_true", help="only the OCR model/settings comparison")
    ap.add_argument(
        "--v4-models", type=Path, help="directory with the PP-OCRv4 files (default: fetch the wheel)"
    )
    ap.add_argument("--barcodes-only", action="store_true", help="only the box-label barcode comparison")
    ap.add_argument("--zoom", action="store_true", help="only the small-wordmark OCR zoom comparison")
    ap.add_argument(
        "--ocr-gate",
        action="store_true",
        help="only the OCR cost comparison: text gate and session options vs the whole frame (same images)",
    )
    ap.add_argument(
        "--ocr-int8",
        action="store_true",
        help="only the OCR text detector in float32 vs int8 on the channel's path (the --ocr-gate images)",
    )
    args = ap.parse_args()
    if args.ocr_gate or args.ocr_int8:
        gate_comparison(args.quick, INT8_CONFIGS if args.ocr_int8 else GATE_CONFIGS)
        return
    if args.zoom:
        zoom_comparison(8 if args.quick else 16, 2 if args.quick else 4)
        return
    if args.barcodes_only:
        barcode_comparison(20 if args.quick else 40)
        return
    print(f"# bench_vision ({'quick' if args.quick else 'full'}); cv2 {cv2.__version__}\n")
    ocr_comparison(1 if args.quick else 2, args.v4_models)
    if args.ocr_only:
        return
    n_bg = 3 if args.quick else len(syn.BACKGROUND_NAMES)
    n_logos_quality = 3 if args.quick else 6

    logos = [syn.synthetic_logo(seed) for seed in range(50)]
    t0 = time.perf_counter()
    feats = [extract_logo_features(f"logo:{i}.png", img) for i, img in enumerate(logos)]
    extract_ms = (time.perf_counter() - t0) * 1000 / len(logos)

    # ---- quality: logo detection
    per_case: dict[str, list[bool]] = {}
    wrong = 0
    for li in range(n_logos_quality):
        for bi in range(n_bg):
            for case, img in logo_cases(logos[li], syn.background(bi, SIZE)).items():
                hits = find_logos(candidate_features(img), feats[:10])
                per_case.setdefault(case, []).append(bool(hits) and hits[0].ref_id == f"logo:{li}.png")
                wrong += sum(h.ref_id != f"logo:{li}.png" for h in hits)
    fp_images = 0
    negatives = [syn.background(i, SIZE) for i in range(len(syn.BACKGROUND_NAMES))]
    negatives += [
        syn.paste(syn.background(i, SIZE), syn.synthetic_logo(1000 + i), 280, (300, 200)) for i in range(n_bg)
    ]
    for img in negatives:
        fp_images += bool(find_logos(candidate_features(img), feats[:10]))

    # ---- speed
    cands = [logo_cases(logos[i % 10], syn.background(i, SIZE))["pasted 260 px"] for i in range(n_bg)]
    base = statistics.median(timed(lambda c=c: baseline(c))[0] for c in cands for _ in range(3))
    sift_ms = []
    match_ms: dict[int, list[float]] = {1: [], 10: [], 50: []}
    for c in cands:
        ms, cf = timed(lambda c=c: candidate_features(c))
        sift_ms.append(ms)
        for k in match_ms:
            match_ms[k].append(timed(lambda cf=cf, k=k: find_logos(cf, feats[:k]))[0])
    ocr = RapidOcrEngine()
    load_ms, _ = timed(lambda: ocr.read(Image.new("RGB", (64, 32), "white")))
    text_imgs = [
        syn.text_image(t, on=syn.background(i, SIZE), font_size=56)
        for i, (_, t, _, _) in enumerate(TEXT_CASES)
    ]
    ocr_ms = [timed(lambda im=im: ocr.read(im))[0] for im in text_imgs[: n_bg * 2]]
    dom = [
        ColorShare(rgb=(200, 30, 40), share=0.3),
        ColorShare(rgb=(240, 240, 240), share=0.5),
        ColorShare(rgb=(20, 20, 20), share=0.2),
    ]
    color_ms = [timed(lambda: color_signal(["#D62828", "#FFFFFF", "#003049"], dom))[0] for _ in range(50)]
    qr_imgs = [
        syn.paste(b, syn.qr_image("https://acme.example/gtin/4006381333931"), 200, (400, 300)) for b in cands
    ]
    ean_imgs = [syn.paste(b, syn.ean13_image("400638133393"), 320, (300, 300)) for b in cands]
    bc_ms = [timed(lambda im=im: decode_codes(im))[0] for im in qr_imgs + ean_imgs + cands]
    qr_ok = sum(any(c.kind == "QR" for c in decode_codes(im)) for im in qr_imgs)
    ean_ok = sum(any(c.kind == "EAN_13" for c in decode_codes(im)) for im in ean_imgs)

    # ---- quality: text through OCR
    text_rows = []
    for (rule, text, mark, positive), plain in zip(
        TEXT_CASES, [syn.text_image(t) for _, t, _, _ in TEXT_CASES], strict=True
    ):
        results = []
        for img in (plain, syn.text_image(text, on=syn.background(1, SIZE), font_size=56)):
            lines = [line.text for line in ocr.read(img)]
            got = match_brand_text(ocr_match_inputs(lines), [mark])
            results.append((bool(got), " ".join(lines), got[0].rule if got else "-"))
        text_rows.append((rule, text, mark, positive, results))

    med = statistics.median
    print(f"Baseline (RGB->grey + resize to 1000 px, same images): {base:.1f} ms\n")
    print("| step | ms/image (median) | × baseline |\n|---|---|---|")
    print(f"| logo reference extraction (`brand add`, per logo, 6 variants) | {extract_ms:.0f} | - |")
    print(
        f"| SIFT on candidate (once per image, ≤1000 px) | {med(sift_ms):.0f} | {med(sift_ms) / base:.0f} |"
    )
    for k, v in match_ms.items():
        total = med(sift_ms) + med(v)
        print(f"| logo matching, {k} logo(s) (+SIFT = {total:.0f}) | {med(v):.0f} | {med(v) / base:.0f} |")
    print(
        f"| OCR (RapidOCR 3.10 PP-OCRv6, warm; first call incl. model load {load_ms:.0f} ms) | {med(ocr_ms):.0f} | "
        f"{med(ocr_ms) / base:.0f} |"
    )
    print(
        f"| colour signal (3 brand colours × 3 dominant, ΔE2000) | {med(color_ms):.2f} | {med(color_ms) / base:.2f} |"
    )
    print(f"| barcode/QR decode (all passes) | {med(bc_ms):.0f} | {med(bc_ms) / base:.0f} |")
    print()
    print(
        f"Logo detection on generated images ({n_logos_quality} logos × {n_bg} photo backgrounds per case, "
        f"brand with 10 registered logos):\n"
    )
    print("| case | found |\n|---|---|")
    total_ok = total_n = 0
    for case, oks in per_case.items():
        print(f"| {case} | {sum(oks)}/{len(oks)} ({100 * sum(oks) / len(oks):.0f}%) |")
        total_ok += sum(oks)
        total_n += len(oks)
    print(f"| **all** | {total_ok}/{total_n} ({100 * total_ok / total_n:.0f}%) |")
    print(
        f"\nFalse positives: {fp_images}/{len(negatives)} unrelated images (photos, and photos with an "
        f"unregistered logo) produced a logo hit; wrong-logo hits on positives: {wrong}."
    )
    print(
        f"QR decoded: {qr_ok}/{len(qr_imgs)}; EAN-13 decoded: {ean_ok}/{len(ean_imgs)} (pasted on photos).\n"
    )
    barcode_comparison(n_bg * 5)
    print("Brand text through OCR + textmatch (plain label / text band over a photo):\n")
    print(
        "| rule | rendered | mark | expected | plain: matched (OCR read, rule) | on photo |\n|---|---|---|---|---|---|"
    )
    for rule, text, mark, positive, res in text_rows:
        cells = [f"{'yes' if ok else 'no'} ({read!r}, {r})" for ok, read, r in res]
        print(
            f"| {rule} | {text} | {mark} | {'match' if positive else 'no match'} | {cells[0]} | {cells[1]} |"
        )
    pos = [r for r in text_rows if r[3]]
    neg = [r for r in text_rows if not r[3]]
    tp = sum(ok for r in pos for ok, _, _ in r[4])
    fp = sum(ok for r in neg for ok, _, _ in r[4])
    print(
        f"\nText detection: {tp}/{2 * len(pos)} positives matched; false hits {fp}/{2 * len(neg)} on negatives."
    )


def opencv_1d(image: Image.Image) -> list[str]:
    """The decoder before zxing-cpp, kept here as the comparison: OpenCV's 1-D detector on a white-padded copy
    with five scale/blur passes (first view that decodes wins)."""
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    pad = int(0.1 * max(bgr.shape[:2]))
    padded = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    detector = cv2.barcode.BarcodeDetector()
    for factor, blur in ((1.0, 0), (1.0, 3), (1.0, 5), (0.5, 0), (0.5, 3)):
        view = padded if factor == 1.0 else cv2.resize(padded, None, fx=factor, fy=factor)
        if blur:
            view = cv2.GaussianBlur(view, (blur, blur), 0)
        ok, values, _, _ = detector.detectAndDecodeWithType(view)
        if ok and any(values):
            return [v for v in values if v]
    return []


def barcode_comparison(n: int) -> None:
    """EAN-13 labels on plain boxes (issue 14's miss class), zxing-cpp passes vs the earlier OpenCV decoder."""
    code = "4006381333931"
    photos = [syn.boxed_label(code, 1000 + i) for i in range(n)]
    base = statistics.median(timed(lambda im=im: baseline(im))[0] for im in photos)
    ours = [timed(lambda im=im: decode_codes(im)) for im in photos]
    theirs = [timed(lambda im=im: opencv_1d(im)) for im in photos]
    ok_ours = sum(any(c.value == code for c in got) for _, got in ours)
    ok_theirs = sum(code in got for _, got in theirs)
    ms_ours = statistics.median(ms for ms, _ in ours)
    ms_theirs = statistics.median(ms for ms, _ in theirs)
    print(f"EAN-13 on a label of a plain box ({n} photos, synthetic.boxed_label seeds 1000+):\n")
    print("| decoder | decoded | ms/image (median) | × baseline |\n|---|---|---|---|")
    print(f"| zxing-cpp, passes {'/'.join(PASSES)} | {ok_ours}/{n} | {ms_ours:.0f} | {ms_ours / base:.0f} |")
    print(f"| OpenCV 1-D, 5 passes (before) | {ok_theirs}/{n} | {ms_theirs:.0f} | {ms_theirs / base:.0f} |\n")


ZOOM_WORDS = ("KAFFEO", "VOLTA", "NORDA", "LUMERA", "ORBIK", "TESSAL")
# Negatives: another word printed the same way, judged against a registered mark it resembles or not.
ZOOM_LOOKALIKES = (("NORDIC", "NORDA"), ("VOLTAGE", "VOLTA"), ("ZENO", "KAFFEO"), ("ORBIT", "ORBIK"))
ZOOM_SEED = 5000  # never looked at while building the zoom (built on seeds 0-12)


def zoom_comparison(n: int, n_photos: int) -> None:
    """Small faint wordmarks under a mark (syn.small_wordmark_scene): brand text found by the full-image OCR
    pass alone vs with the zoomed crops, through textmatch's firing rule; the zoom's cost per image as median
    ms and as a ratio to the full pass in the same run; false hits on unrelated photos and lookalike words."""
    ocr = RapidOcrEngine()
    ocr.load()

    crops_read: list[int] = []  # crops per image on the images the zoom ran on

    def run(img: Image.Image, marks: list[str]) -> tuple[bool, bool, float, float]:
        total, (lines, report) = timed(lambda: read_with_zoom(ocr, img, marks))
        full_hit = not report.ran and has_brand_text(lines, marks)
        if report.ran:
            crops_read.append(len(report.crops))
        return full_hit, has_brand_text(lines, marks), total - report.ms, report.ms

    rows: list[tuple[str, int, int, int]] = []
    full_ms: list[float] = []
    zoom_ms: list[float] = []
    hits_full = hits_zoom = 0
    for i in range(n):
        word = ZOOM_WORDS[i % len(ZOOM_WORDS)]
        img, _ = syn.small_wordmark_scene(word, ZOOM_SEED + i)
        f_hit, z_hit, f_ms, z_ms = run(img, [word])
        hits_full += f_hit
        hits_zoom += z_hit
        full_ms.append(f_ms)
        if z_ms:
            zoom_ms.append(z_ms)
    rows.append(("small faint wordmark under a mark (brand text found)", n, hits_full, hits_zoom))
    neg_full = neg_zoom = 0
    for i, (word, mark) in enumerate(ZOOM_LOOKALIKES * max(1, n // 8)):
        img, _ = syn.small_wordmark_scene(word, ZOOM_SEED + 100 + i)
        f_hit, z_hit, f_ms, z_ms = run(img, [mark])
        neg_full += f_hit
        neg_zoom += z_hit
        full_ms.append(f_ms)
        zoom_ms += [z_ms] if z_ms else []
    n_look = len(ZOOM_LOOKALIKES) * max(1, n // 8)
    rows.append(("lookalike / other word printed the same way (false hits)", n_look, neg_full, neg_zoom))
    photo_full = photo_zoom = 0
    for i in range(n_photos):
        f_hit, z_hit, f_ms, z_ms = run(syn.background(i), list(ZOOM_WORDS))
        photo_full += f_hit
        photo_zoom += z_hit
        full_ms.append(f_ms)
        zoom_ms += [z_ms] if z_ms else []
    rows.append(("unrelated photos, all six marks registered (false hits)", n_photos, photo_full, photo_zoom))
    print("| case | images | full-image OCR | + zoomed crops |\n|---|---:|---:|---:|")
    for name, count, a, b in rows:
        print(f"| {name} | {count} | {a}/{count} | {b}/{count} |")
    med_full = statistics.median(full_ms)
    med_zoom = statistics.median(zoom_ms) if zoom_ms else 0.0
    print(
        f"\nfull-image OCR {med_full:.0f} ms/image (median of {len(full_ms)}); the zoom ran on "
        f"{len(crops_read)} images (no brand text after the full pass) and read {sum(crops_read)} crops on "
        f"{len(zoom_ms)} of them (the others had no likely text region): +{med_zoom:.0f} ms median there "
        f"({med_zoom / med_full:.2f}x the full pass, same run)"
    )


GATE_CONFIGS = [  # label, RapidOcrEngine keyword arguments; the first is the baseline the others are compared to
    (
        "whole frame, ORT default threads, spinning (before)",
        {"gate": False, "threads": None, "spinning": True},
    ),
    (
        "whole frame, 1 thread, no spinning",
        {"gate": False, "threads": 1, "spinning": False, "int8_det": False},
    ),
    (
        "whole frame, 2 threads, no spinning",
        {"gate": False, "threads": 2, "spinning": False, "int8_det": False},
    ),
    (
        "text gate 320 px, p > 0.1, thread budget, no spinning",
        {"gate": True, "coarse_side": 320, "coarse_thresh": 0.1, "int8_det": False},
    ),
    (
        "text gate 480 px, p > 0.03, thread budget, no spinning",
        {"gate": True, "coarse_side": 480, "coarse_thresh": 0.03, "int8_det": False},
    ),
    ("text gate 480 px, p > 0.1, thread budget, no spinning", {"gate": True, "int8_det": False}),
    ("**text gate 480 px, p > 0.1, int8 detector, float32 coarse look (shipped)**", {"gate": True}),
]
# --ocr-int8: the shipped path with the float detector against the int8 one (common.vision.ocr.INT8_DET), with
# the text gate's coarse look in float32 (shipped) or int8
INT8_CONFIGS = [
    ("text gate 480 px, float32 detector (before)", {"gate": True, "int8_det": False}),
    ("**int8 detector, float32 coarse look (shipped)**", {"gate": True}),
    ("int8 detector, int8 coarse look too", {"gate": True, "int8_coarse": True}),
]


def gate_sets(quick: bool) -> list[tuple[str, str, Image.Image, list[str], bool]]:
    """(set, name, image, marks, has the mark): the OCR text set (TEXT_CASES x 4 renderings, as --ocr-only),
    the small faint wordmarks and their negatives (as --zoom), unrelated photos, and the 12 demo candidates."""
    out: list[tuple[str, str, Image.Image, list[str], bool]] = []
    for _rule, text, mark, positive in TEXT_CASES:
        for variant, make in TEXT_RENDERINGS.items():
            out.append(("OCR text set", f"{text!r} ({variant})", make(text), [mark], positive))
    n = 8 if quick else 16
    for i in range(n):
        word = ZOOM_WORDS[i % len(ZOOM_WORDS)]
        out.append(
            (
                "small faint wordmarks",
                f"{word} #{i}",
                syn.small_wordmark_scene(word, ZOOM_SEED + i)[0],
                [word],
                True,
            )
        )
    for i, (word, mark) in enumerate(ZOOM_LOOKALIKES * max(1, n // 8)):
        img = syn.small_wordmark_scene(word, ZOOM_SEED + 100 + i)[0]
        out.append(("wordmark lookalikes", f"{word} for {mark}", img, [mark], False))
    for i in range(len(syn.BACKGROUND_NAMES)):
        out.append(
            ("unrelated photos", syn.BACKGROUND_NAMES[i], syn.background(i, SIZE), list(ZOOM_WORDS), False)
        )
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("make_demo", Path(__file__).with_name("make_demo.py"))
    assert spec is not None and spec.loader is not None
    make_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_demo)
    demo = Path(tempfile.mkdtemp(prefix="bench-vision-demo-"))
    make_demo.build(demo)
    marks = list(make_demo.BRAND["trademarks"])
    for path in sorted((demo / "candidates").glob("*.jpg")):
        if path.name.startswith("corrupt"):
            continue
        positive = not path.stem.startswith(("irrelevant", "s2-mirrored"))
        out.append(("demo candidates", path.stem, Image.open(path).convert("RGB"), marks, positive))
    return out


def gate_comparison(quick: bool, configs: list[tuple[str, dict[str, object]]] = GATE_CONFIGS) -> None:
    """The channel's OCR path (``read_with_zoom``: first pass + zoom) per configuration, round-robin on the same
    images: brand text found per set, what each configuration found that the first did not and the reverse,
    wall and CPU ms per image (CPU: every thread of this process), where the detector ran."""
    items = gate_sets(quick)
    engines = []
    for label, kwargs in configs:
        engine = RapidOcrEngine(**kwargs)  # type: ignore[arg-type]
        load_ms, _ = timed(engine.load)
        engines.append((label, engine, load_ms))
    sets = list(dict.fromkeys(s for s, *_ in items))
    found: dict[str, dict[str, bool]] = {label: {} for label, _, _ in engines}
    wall: dict[str, list[float]] = {label: [] for label, _, _ in engines}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in engines}
    modes: dict[str, dict[str, int]] = {label: {} for label, _, _ in engines}
    shares: dict[str, list[float]] = {label: [] for label, _, _ in engines}
    for set_name, name, img, marks, _positive in items:
        for label, engine, _ in engines:
            cpu0 = time.process_time()
            ms, (lines, report) = timed(lambda e=engine, im=img, m=marks: read_with_zoom(e, im, m))
            cpu[label].append((time.process_time() - cpu0) * 1000)
            wall[label].append(ms)
            found[label][f"{set_name}: {name}"] = has_brand_text(lines, marks)
            mode = report.first_pass.mode
            modes[label][mode] = modes[label].get(mode, 0) + 1
            shares[label].append(report.first_pass.share)
    print(
        f"OCR cost: where the detector runs and its session options ({len(items)} images, the channel's path "
        f"with the zoom; detector limit {DET_LIMIT_SIDE} px; {shared_engine_count()} engines built)\n"
    )
    print(
        "| configuration | load ms | ms/image wall (median) | CPU ms/image (median) | CPU × before | "
        + " | ".join(f"{s}: brand text" for s in sets)
        + " | detector ran on: frame / regions | share of frame detected (mean) |\n|---|---:|---:|---:|---:|"
        + "---:|" * len(sets)
        + "---|---:|"
    )
    med = statistics.median
    base_cpu = med(cpu[engines[0][0]])
    for label, _, load_ms in engines:
        cells = []
        for s in sets:
            pos = [f"{s}: {it[1]}" for it in items if it[0] == s and it[4]]
            neg = [f"{s}: {it[1]}" for it in items if it[0] == s and not it[4]]
            cell = [f"{sum(found[label][k] for k in pos)}/{len(pos)} found"] if pos else []
            cell += [f"{sum(found[label][k] for k in neg)}/{len(neg)} false"] if neg else []
            cells.append(", ".join(cell))
        m = modes[label]
        print(
            f"| {label} | {load_ms:.0f} | {med(wall[label]):.0f} | {med(cpu[label]):.0f} | "
            f"{med(cpu[label]) / base_cpu:.2f} | " + " | ".join(cells) + f" | {m.get('frame', 0)} / "
            f"{m.get('regions', 0)} | {statistics.fmean(shares[label]):.2f} |"
        )
    print("\nCPU ms/image (median) per set:\n")
    print("| configuration | " + " | ".join(sets) + " |\n|---|" + "---:|" * len(sets))
    for label, _, _ in engines:
        per_set = [med([c for c, it in zip(cpu[label], items, strict=True) if it[0] == s]) for s in sets]
        print(f"| {label} | " + " | ".join(f"{v:.0f}" for v in per_set) + " |")
    print()
    base = found[engines[0][0]]
    for label, _, _ in engines[1:]:
        lost = [k for k, v in base.items() if v and not found[label][k]]
        gained = [k for k, v in base.items() if not v and found[label][k]]
        print(f"- {label}: lost {len(lost)} {lost}, gained {len(gained)} {gained}")
    print(f"\nload average {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())} (1/5/15 min)")


if __name__ == "__main__":
    main()
