"""Training the per-brand mark detector at ``brand add``: the kit's optional ``training/`` photos (validated like
any kit input), synthetic composites of its logo files and wordmarks, a scikit-learn head over region features,
an image-level calibration, and the cache rule (an unchanged kit is never retrained).

What a kit may add (the Custom Vision / Teachable Machine material of seed 004, Tool 7):
``KIT/training/*.jpg|png|webp`` photos of the brand's products, and optionally
``KIT/training/annotations.json`` in COCO form (as Custom Vision / Azure ML labelling export it):
``images[{id, file_name, width, height}]``, ``annotations[{image_id, category_id, bbox: [x, y, w, h]}]`` in pixels,
``categories[{id, name}]``. A listed image with boxes gives box-level positives; a listed image without any box is
a negative (Custom Vision's "Negative" tag); a photo in the folder that the file does not list is a positive
without a box (the detector picks its best window). With one logo file every category means that logo; with
several, a category must be named after a logo file (its name without extension).

Why a linear head (logistic regression) over frozen features: it trains in seconds on 2 cores, is calibrated
by construction (log-odds), needs no GPU and no pickle (the weights are plain arrays in an .npz), and it is the
measured winner against the alternatives in docs/vision.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common import boundedjson, paths
from common.errors import BadInput
from common.vision import mark_synthesis as synth
from common.vision.mark_detector import DetectorModel, score_windows
from common.vision.mark_features import FEATURES_VERSION, FeatureExtractor, feature_extractor

if TYPE_CHECKING:
    from common.bootstrap import Deps

TRAINER_VERSION = "2"
TRAINING_DIR = "training"
ANNOTATIONS_FILE = "annotations.json"
TRAINING_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_TRAINING_PHOTOS = 500
MAX_ANNOTATIONS = 5000
MAX_ANNOTATIONS_BYTES = 8 * 1024 * 1024
MAX_WORDMARKS = 2  # trademarks rendered as wordmark classes (the shortest ones: the brand name, not slogans)
MAX_WORDMARK_CHARS = 10
# Synthetic training set (per mark class): canvases at the detector's own scale (marks 12-72 px = 1-4.5 cells).
CANVAS = (256, 192)
MARK_SIDE = (12.0, 72.0)
POSITIVES_PER_CLASS = 80
WORDMARK_SHARE = 0.5  # a wordmark class gets this share of a logo's composites (fewer variations apply)
NEGATIVES = 80
NEG_WINDOWS_PER_CANVAS = 60
POS_WINDOWS_PER_CANVAS = (
    6  # an all-over pattern has hundreds of positive windows: it must not outvote the rest
)
HARD_NEGATIVES_PER_CANVAS = 20
HARD_NEGATIVE_ROUNDS = 2
POSITIVE_IOU = 0.4
NEGATIVE_IOU = 0.1
INSIDE_REGION = 0.8  # a window this much inside an all-over pattern counts as showing it
# Calibration: held-out composites through the full detection path (pyramid over a listing-sized image).
CALIBRATION_SIZE = (512, 384)
CALIBRATION_POSITIVES = 20
CALIBRATION_NEGATIVES = 30
MAX_FALSE_POSITIVE_RATE = 0.01  # the fire threshold keeps at most 1% of held-out negatives above it
# The fire threshold's floor. 30 held-out negatives cannot resolve a 1 % rate: the threshold is their maximum, so
# a brand whose draw of negatives was easy got a low one (0.54-0.64) and fired on a competitor's mark of the same
# layout (p 0.68 on a ZENO mark, probes of seeds 14, 2027, 8181: docs/detection.md, "Detector training round").
MIN_THRESHOLD = 0.75
LOGISTIC_C = 1.0
WORDMARK_VARIATIONS = ("font", "plain", "small", "rotate", "low_contrast", "emboss", "foil", "blur", "occlusion",
                       "tiled", "painterly", "perspective")  # fmt: skip


class CocoImage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    file_name: str = Field(min_length=1, max_length=255)
    width: int = Field(gt=0, le=100_000)
    height: int = Field(gt=0, le=100_000)


class CocoAnnotation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | None = None
    image_id: int
    category_id: int
    bbox: list[float] = Field(min_length=4, max_length=4)


class CocoCategory(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str = Field(min_length=1, max_length=200)


class CocoFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    images: list[CocoImage] = Field(max_length=MAX_TRAINING_PHOTOS)
    annotations: list[CocoAnnotation] = Field(default_factory=list, max_length=MAX_ANNOTATIONS)
    categories: list[CocoCategory] = Field(default_factory=list, max_length=200)


@dataclass(frozen=True)
class TrainingPhoto:
    """One validated ``training/`` photo: ``boxes`` (class name, x0, y0, x1, y1) when annotated, ``negative``
    when listed with no box; neither: a positive without a box."""

    path: Path
    sha256: str
    boxes: tuple[tuple[str, float, float, float, float], ...] | None
    negative: bool = False


Reader = Callable[[Path], bytes]
Decoder = Callable[[bytes], Image.Image]


def validate_training(
    kit_dir: Path,
    logo_names: Sequence[str],
    read: Reader,
    decode: Decoder,
    inside: Callable[[Path], Path],
) -> list[TrainingPhoto]:
    """The kit's ``training/`` folder checked whole (every problem listed, nothing trained on a bad file):
    unreadable or undecodable photos, bad JSON, unknown images or categories, boxes outside their image, and
    file names that lead out of the folder. ``read``/``inside`` are the kit's own guarded reader and path check."""
    folder = Path(kit_dir) / TRAINING_DIR
    if not folder.exists() and not folder.is_symlink():
        return []
    problems: list[str] = []
    try:
        inside(folder)
    except BadInput as exc:
        raise BadInput(f"invalid brand kit:\n  {exc}") from exc
    if not folder.is_dir():
        raise BadInput(f"invalid brand kit:\n  {folder}: not a directory")
    photos: dict[str, tuple[Path, str, tuple[int, int]]] = {}
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    images = [p for p in entries if p.name != ANNOTATIONS_FILE]
    if len(images) > MAX_TRAINING_PHOTOS:
        raise BadInput(f"invalid brand kit:\n  {folder}: {len(images)} files, at most {MAX_TRAINING_PHOTOS}")
    for path in images:
        if path.suffix.lower() not in TRAINING_SUFFIXES:
            problems.append(
                f"{path}: unsupported file type (allowed: {', '.join(sorted(TRAINING_SUFFIXES))})"
            )
            continue
        try:
            data = read(path)
            img = decode(data)
        except BadInput as exc:
            problems.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - the decoder's own error types; each becomes a kit problem
            problems.append(f"{path}: {exc}")
            continue
        photos[path.name] = (path, hashlib.sha256(data).hexdigest(), img.size)
    coco: CocoFile | None = None
    ann_path = folder / ANNOTATIONS_FILE
    if ann_path.exists() or ann_path.is_symlink():
        coco = _parse_coco(ann_path, read, problems)
    boxes: dict[str, list[tuple[str, float, float, float, float]]] = {}
    listed: set[str] = set()
    if coco is not None:
        _check_coco(coco, ann_path, photos, list(logo_names), boxes, listed, problems)
    if problems:
        raise BadInput("invalid brand kit:\n  " + "\n  ".join(problems))
    out = []
    for name, (path, sha, _) in sorted(photos.items()):
        if name in boxes:
            out.append(TrainingPhoto(path, sha, tuple(boxes[name])))
        elif name in listed:
            out.append(TrainingPhoto(path, sha, (), negative=True))
        else:
            out.append(TrainingPhoto(path, sha, None))
    return out


def _parse_coco(path: Path, read: Reader, problems: list[str]) -> CocoFile | None:
    try:
        data = read(path)
        if len(data) > MAX_ANNOTATIONS_BYTES:
            raise BadInput(f"{path}: {len(data):,} bytes is over the {MAX_ANNOTATIONS_BYTES:,}-byte limit")
        return CocoFile.model_validate(boundedjson.loads(data, max_depth=6, max_tokens=200_000))
    except BadInput as exc:
        problems.append(str(exc))
    except boundedjson.JSONTooComplex as exc:
        problems.append(f"{path}: not valid COCO JSON: {exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: not valid UTF-8 JSON ({exc.__class__.__name__}: {exc})")
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False)[:20]:
            problems.append(f"{path}: {'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}")
    return None


def _check_coco(
    coco: CocoFile,
    path: Path,
    photos: dict[str, tuple[Path, str, tuple[int, int]]],
    logo_names: list[str],
    boxes: dict[str, list[tuple[str, float, float, float, float]]],
    listed: set[str],
    problems: list[str],
) -> None:
    stems = {Path(n).stem: n for n in logo_names}
    categories: dict[int, str] = {}
    for cat in coco.categories:
        if len(logo_names) == 1:
            categories[cat.id] = logo_names[0]
        elif cat.name in stems:
            categories[cat.id] = stems[cat.name]
        else:
            problems.append(
                f"{path}: category {cat.name[:80]!r} names no logo file (with several logos a category is named "
                f"after one: {', '.join(sorted(stems)) or 'none in logos/'})"
            )
    by_id: dict[int, str] = {}
    for img in coco.images:
        name = img.file_name
        if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
            problems.append(
                f"{path}: image {img.id}: file_name {name[:80]!r} must name a file in {TRAINING_DIR}/"
            )
            continue
        if img.id in by_id:
            problems.append(f"{path}: image id {img.id} listed twice")
            continue
        if name not in photos:
            problems.append(
                f"{path}: image {img.id}: {name[:80]!r} is not a readable photo in {TRAINING_DIR}/"
            )
            continue
        actual = photos[name][2]
        if (img.width, img.height) != actual:
            problems.append(
                f"{path}: image {img.id}: says {img.width}x{img.height}, {name} is {actual[0]}x{actual[1]}"
            )
            continue
        by_id[img.id] = name
        listed.add(name)
    sizes = {img.id: (img.width, img.height) for img in coco.images}
    for n, ann in enumerate(coco.annotations):
        where = f"{path}: annotation {ann.id if ann.id is not None else f'#{n}'}"
        if ann.image_id not in by_id:
            if ann.image_id not in sizes:
                problems.append(f"{where}: image_id {ann.image_id} is not in images")
            continue
        if ann.category_id not in categories:
            if not any(c.id == ann.category_id for c in coco.categories):
                problems.append(f"{where}: category_id {ann.category_id} is not in categories")
            continue
        x, y, w, h = ann.bbox
        iw, ih = sizes[ann.image_id]
        if not all(math.isfinite(v) for v in ann.bbox) or w <= 0 or h <= 0:
            problems.append(f"{where}: bbox {ann.bbox} must be finite with a positive width and height")
        elif x < -0.5 or y < -0.5 or x + w > iw + 0.5 or y + h > ih + 0.5:
            problems.append(f"{where}: bbox {ann.bbox} lies outside its {iw}x{ih} image")
        elif max(w, h) < 8:
            problems.append(f"{where}: bbox {ann.bbox} is smaller than 8 px")
        else:
            boxes.setdefault(by_id[ann.image_id], []).append(
                (categories[ann.category_id], max(0.0, x), max(0.0, y), min(iw, x + w), min(ih, y + h))
            )


def wordmarks(trademarks: Sequence[str]) -> list[str]:
    """Trademarks learnt as wordmarks (drawn in several fonts): the few short ones, i.e. the brand's name."""
    short = sorted({t.strip() for t in trademarks if 2 <= len(t.strip()) <= MAX_WORDMARK_CHARS}, key=len)
    return short[:MAX_WORDMARKS]


def training_key(
    brand_id: str,
    logos: Sequence[tuple[str, str]],
    marks: Sequence[str],
    photos: Sequence[TrainingPhoto],
    model_sha256: str,
) -> str:
    """What the trained detector depends on: the brand, its logo files and wordmarks, training photos with their
    boxes, the backbone and the trainer's version. Equal key: the stored detector is reused, not retrained."""
    digest = hashlib.sha256()
    digest.update(json.dumps([brand_id, TRAINER_VERSION, FEATURES_VERSION, model_sha256]).encode())
    digest.update(json.dumps(sorted(logos)).encode())
    digest.update(json.dumps(list(marks)).encode())
    for p in photos:
        digest.update(json.dumps([p.path.name, p.sha256, p.boxes, p.negative]).encode())
    return digest.hexdigest()[:20]


# ---------------------------------------------------------------- window labelling and the fit


def _overlap(boxes: np.ndarray, box: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Intersection area of each of ``boxes`` (n, 4: x0, y0, x1, y1) with ``box``, and each box's own area."""
    w = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    h = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    return w * h, (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def iou(boxes: np.ndarray, box: Sequence[float]) -> np.ndarray:
    inter, area = _overlap(boxes, box)
    other = (box[2] - box[0]) * (box[3] - box[1])
    return np.asarray(inter / np.maximum(area + other - inter, 1e-6))


def _inside(boxes: np.ndarray, region: Sequence[float]) -> np.ndarray:
    """Share of each box that lies inside ``region``."""
    inter, area = _overlap(boxes, region)
    return np.asarray(inter / np.maximum(area, 1e-6))


def label_windows(
    boxes: np.ndarray,
    marks: Sequence[tuple[int, Sequence[float]]],
    region: tuple[int, Sequence[float]] | None,
) -> np.ndarray:
    """Per window: the class it shows (>0), 0 for background, -1 for ambiguous (partly on a mark: not used).
    A mark's best window counts even below POSITIVE_IOU (a 12 px mark never fills a 16 px cell)."""
    labels = np.zeros(len(boxes), np.int32)
    if not marks and region is None:
        return labels
    best = np.zeros(len(boxes), np.float32)
    for cls, box in marks:
        overlap = iou(boxes, box)
        labels[(overlap >= NEGATIVE_IOU) & (labels == 0)] = -1
        pos = overlap >= POSITIVE_IOU
        top = int(np.argmax(overlap))
        if overlap[top] >= 0.2:
            pos[top] = True
        better = pos & (overlap > best)
        labels[better] = cls
        best[better] = overlap[better]
    if region is not None:
        cls, rbox = region
        inside = _inside(boxes, rbox)
        labels[inside >= INSIDE_REGION] = cls
        labels[(inside > 0.2) & (inside < INSIDE_REGION) & (labels == 0)] = -1
    return labels


@dataclass
class _Samples:
    features: list[np.ndarray]
    labels: list[np.ndarray]

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        if len(x):
            self.features.append(x)
            self.labels.append(y)


def _native_windows(fx: FeatureExtractor, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Windows of an image at its own scale (training canvases are drawn at the detector's scale)."""
    from common.vision.mark_features import normalise, pool_windows

    fmap, scale = fx.maps(image, max(image.size))
    feats, boxes = pool_windows(fmap)
    return normalise(feats), boxes * (fx.stride / scale)


def _take(rng: np.random.Generator, idx: np.ndarray, n: int) -> np.ndarray:
    return idx if len(idx) <= n else rng.choice(idx, n, replace=False)


@dataclass(frozen=True)
class MarkClass:
    name: str  # ref_id of the logo ("logo:mark.png") or "wordmark:ACME"
    image: Image.Image  # RGBA, the mark alone
    variations: tuple[str, ...]


def _texts(cls: MarkClass, texts: Sequence[str]) -> list[str]:
    """What the "font" variation redraws: a wordmark class its own text only."""
    return [cls.name.split(":", 1)[1]] if cls.name.startswith("wordmark:") else list(texts)


def mark_classes(logos: Sequence[tuple[str, Image.Image]], trademarks: Sequence[str]) -> list[MarkClass]:
    # "font" (the wordmark redrawn in another typeface) belongs to the wordmark classes, not to a logo's class.
    logo_variations = tuple(v for v in synth.VARIATIONS if v != "font")
    out = [MarkClass(ref_id, synth.mark_rgba(img), logo_variations) for ref_id, img in logos]
    for text in wordmarks(trademarks):
        out.append(
            MarkClass(f"wordmark:{text}", synth.text_mark(text, synth.FONT_FILES[0]), WORDMARK_VARIATIONS)
        )
    return out


_NEGATIVE_CACHE: dict[tuple[Any, ...], list[np.ndarray]] = {}


def _memo(key: tuple[Any, ...], make: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
    """Mark-free material is the same for every brand (same seed, same backgrounds, same backbone), so a process
    that registers several brands computes it once. Bounded: two entries of each kind."""
    if key not in _NEGATIVE_CACHE:
        for old in [k for k in _NEGATIVE_CACHE if k[0] == key[0]][:-1]:
            _NEGATIVE_CACHE.pop(old)
        _NEGATIVE_CACHE[key] = make()
    return _NEGATIVE_CACHE[key]


def negative_windows(fx: FeatureExtractor, seed: int, n: int, bg: tuple[str, ...]) -> list[np.ndarray]:
    """Window features of ``n`` mark-free training canvases (photos, surfaces, other marks)."""

    def make() -> list[np.ndarray]:
        rng = np.random.default_rng([seed, 1])
        return [_native_windows(fx, synth.negative(rng, CANVAS, bg).image)[0] for _ in range(n)]

    return _memo(("train", fx.model_sha256, fx.tensors, fx.stride, FEATURES_VERSION, seed, n, bg), make)


def calibration_negatives(fx: FeatureExtractor, seed: int, n: int, bg: tuple[str, ...]) -> list[np.ndarray]:
    """Window features (full detection pyramid) of ``n`` held-out mark-free listing-sized images."""

    def make() -> list[np.ndarray]:
        rng = np.random.default_rng([seed, 2])
        return [fx.windows(synth.negative(rng, CALIBRATION_SIZE, bg).image).features for _ in range(n)]

    return _memo(("calibrate", fx.model_sha256, fx.tensors, fx.stride, FEATURES_VERSION, seed, n, bg), make)


def train_detector(
    brand_id: str,
    classes: Sequence[MarkClass],
    photos: Sequence[tuple[TrainingPhoto, Image.Image]] = (),
    *,
    seed: int = 0,
    positives_per_class: int = POSITIVES_PER_CLASS,
    negatives: int = NEGATIVES,
    calibration: tuple[int, int] = (CALIBRATION_POSITIVES, CALIBRATION_NEGATIVES),
    background_photos: Sequence[str] | None = None,
    wordmark_texts: Sequence[str] = (),
    fx: FeatureExtractor | None = None,
    head_kind: str = "logistic",
) -> DetectorModel:
    """Fit the head on synthetic composites (+ the kit's training photos), mine hard negatives twice, then
    calibrate image-level scores on held-out composites run through the real detection path."""
    from sklearn.linear_model import LogisticRegression

    if not classes:
        raise ValueError("a mark detector needs at least one mark")
    start, cpu = time.perf_counter(), time.process_time()
    fx = fx or feature_extractor()
    rng = np.random.default_rng(seed)
    bg = list(synth.bundled_photo_names() if background_photos is None else background_photos)
    names = ["background", *[c.name for c in classes]]
    class_of = {c.name: i + 1 for i, c in enumerate(classes)}
    texts = list(wordmark_texts) or [
        c.name.split(":", 1)[1] for c in classes if c.name.startswith("wordmark:")
    ]
    samples = _Samples([], [])
    negatives_pool: list[np.ndarray] = []

    for ci, cls in enumerate(classes, start=1):
        share = WORDMARK_SHARE if cls.name.startswith("wordmark:") else 1.0
        for n in range(max(1, round(positives_per_class * share))):
            variation = cls.variations[n % len(cls.variations)]
            comp = synth.compose(
                cls.image, variation, rng, CANVAS, bg, MARK_SIDE, _texts(cls, texts), label=ci
            )
            x, boxes = _native_windows(fx, comp.image)
            region = (ci, comp.region) if comp.region is not None else None
            y = label_windows(boxes, [(ci, b) for b in comp.boxes], region)
            pos = _take(rng, np.flatnonzero(y > 0), POS_WINDOWS_PER_CANVAS)
            neg = _take(rng, np.flatnonzero(y == 0), NEG_WINDOWS_PER_CANVAS // 3)
            samples.add(x[pos], y[pos])
            samples.add(x[neg], y[neg])
    for x in negative_windows(fx, seed, negatives, tuple(bg)):
        negatives_pool.append(x)
        idx = _take(rng, np.arange(len(x)), NEG_WINDOWS_PER_CANVAS)
        samples.add(x[idx], np.zeros(len(idx), np.int32))
    unboxed: list[np.ndarray] = []
    for photo, image in photos:
        ws = fx.windows(image)
        if photo.boxes is None:
            unboxed.append(ws.features)
            continue
        marks = [(class_of.get(name, 1), box) for name, *box in photo.boxes]
        y = label_windows(ws.boxes, marks, None)
        pos, neg = np.flatnonzero(y > 0), _take(rng, np.flatnonzero(y == 0), NEG_WINDOWS_PER_CANVAS * 2)
        samples.add(ws.features[pos], y[pos])
        samples.add(ws.features[neg], y[neg])

    def fit() -> Any:
        x, y = np.concatenate(samples.features), np.concatenate(samples.labels)
        if head_kind == "linear_svm":  # the measured alternative (docs/vision.md)
            from sklearn.svm import LinearSVC

            return LinearSVC(C=LOGISTIC_C * 0.1, class_weight="balanced").fit(x, y)
        return LogisticRegression(C=LOGISTIC_C, class_weight="balanced", max_iter=400).fit(x, y)

    head = fit()
    model = DetectorModel.from_head(brand_id, names, head.coef_, head.intercept_, list(head.classes_))
    # Rounds of hard negatives (the windows of mark-free images the current head likes most) and, for photos
    # without boxes, their best window as a positive (multiple-instance learning in its simplest form).
    for _ in range(HARD_NEGATIVE_ROUNDS):
        for x in negatives_pool:
            z = score_windows(model, x).max(axis=1)
            top = np.argsort(-z)[:HARD_NEGATIVES_PER_CANVAS]
            top = top[z[top] > -1.0]  # only windows the head is not already sure about
            samples.add(x[top], np.zeros(len(top), np.int32))
        for x in unboxed:
            z = score_windows(model, x)
            best = int(np.argmax(z.max(axis=1)))
            samples.add(x[best : best + 1], np.array([int(np.argmax(z[best])) + 1], np.int32))
        head = fit()
        model = DetectorModel.from_head(brand_id, names, head.coef_, head.intercept_, list(head.classes_))

    # Calibration: held-out composites at listing size through the same pyramid the scan uses.
    pos_scores, neg_scores = [], []
    n_pos, n_neg = calibration
    # Calibration positives in the classes' training shares (wordmarks fewer), each class's variations in turn.
    weights = np.array([WORDMARK_SHARE if c.name.startswith("wordmark:") else 1.0 for c in classes])
    picks = rng.choice(len(classes), n_pos, p=weights / weights.sum())
    for n, ci in enumerate(picks):
        cls = classes[int(ci)]
        comp = synth.compose(
            cls.image, cls.variations[n % len(cls.variations)], rng, CALIBRATION_SIZE, bg,
            (MARK_SIDE[0] * 2, MARK_SIDE[1] * 3), _texts(cls, texts), label=int(ci) + 1,
        )  # fmt: skip
        pos_scores.append(float(score_windows(model, fx.windows(comp.image).features).max()))
    for x in calibration_negatives(fx, seed, n_neg, tuple(bg)):
        neg_scores.append(float(score_windows(model, x).max()))
    for photo, image in photos:
        s = float(score_windows(model, fx.windows(image).features).max())
        (neg_scores if photo.negative else pos_scores).append(s)
    model.calibrate(np.array(pos_scores), np.array(neg_scores), MAX_FALSE_POSITIVE_RATE, MIN_THRESHOLD)
    model.meta.update(
        {
            "trainer_version": TRAINER_VERSION,
            "features_version": FEATURES_VERSION,
            "backbone_sha256": fx.model_sha256,
            "seed": seed,
            "windows": int(sum(len(f) for f in samples.features)),
            "positives": int(sum(int((y > 0).sum()) for y in samples.labels)),
            "training_photos": len(photos),
            "train_seconds": round(time.perf_counter() - start, 1),
            "train_cpu_seconds": round(time.process_time() - cpu, 1),
        }
    )
    return model


def load_training_photos(
    photos: Sequence[TrainingPhoto], read: Reader, decode: Decoder
) -> list[tuple[TrainingPhoto, Image.Image]]:
    out = []
    for p in photos:
        data = read(p.path)
        if hashlib.sha256(data).hexdigest() != p.sha256:
            raise BadInput(f"{p.path}: changed while the kit was being registered; run brand add again")
        out.append((p, decode(data)))
    return out


def summary(model: DetectorModel) -> dict[str, Any]:
    """What the brand document records about its detector (the blob holds the weights)."""
    return {
        "classes": model.classes[1:],
        "threshold": round(model.threshold, 4),
        "calibration": model.meta.get("calibration", {}),
        "train_seconds": model.meta.get("train_seconds"),
        "train_cpu_seconds": model.meta.get("train_cpu_seconds"),
        "training_photos": model.meta.get("training_photos", 0),
    }


# ---------------------------------------------------------------- at brand add

_TRAINED: dict[
    str, bytes
] = {}  # training key -> model blob, per process (re-registering a kit in one process)
MAX_TRAINED_IN_MEMORY = 8


def train_for_kit(
    deps: Deps,
    brand_id: str,
    trademarks: Sequence[str],
    logos: Sequence[tuple[str, str, Image.Image]],
    photos: Sequence[TrainingPhoto],
    read: Reader,
    decode: Decoder,
    previous: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """Train (or reuse) the brand's detector and store it through the blob port; returns the brand document's
    ``mark_detector`` record, None for a kit without logo files. ``logos`` = (ref_id, sha256, image)."""
    if not logos:
        return None
    from common.embedding.manifest import default_manifest_path

    fx = feature_extractor(str(default_manifest_path(deps.settings)))
    key = training_key(
        brand_id, [(r, s) for r, s, _ in logos], wordmarks(trademarks), photos, fx.model_sha256
    )
    blob = paths.mark_detector(brand_id, key)
    bucket = deps.settings.references_bucket
    stored = previous and previous.get("key") == key and previous.get("blob") == blob
    if stored and deps.blobs.generation(bucket, blob) is not None:
        return previous  # unchanged kit: no retraining
    data = _TRAINED.get(key)
    if data is None:
        classes = mark_classes([(r, img) for r, _, img in logos], trademarks)
        model = train_detector(
            brand_id,
            classes,
            load_training_photos(photos, read, decode),
            positives_per_class=POSITIVES_PER_CLASS,
            negatives=NEGATIVES,
            calibration=(CALIBRATION_POSITIVES, CALIBRATION_NEGATIVES),
            fx=fx,
        )
        data = model.to_npz()
        if len(_TRAINED) >= MAX_TRAINED_IN_MEMORY:
            _TRAINED.pop(next(iter(_TRAINED)))
        _TRAINED[key] = data
    model = DetectorModel.from_npz(data, brand_id)
    deps.blobs.write(bucket, blob, data)
    return {"blob": blob, "key": key, "trained_at": deps.clock(), **summary(model)}
