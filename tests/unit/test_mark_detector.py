"""The per-brand mark detector (common/vision/mark_training.py, mark_detector.py): trained on a tiny kit with few
samples (seconds), it finds a composited mark near its true box, stays quiet on unrelated photos and other marks,
is stored through the blob port and reused while the kit is unchanged, refuses another brand's model, and
refuses hostile training annotations with a clear error before anything is stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from common import paths
from common.brands import get_brand, register_brand
from common.errors import BadInput
from common.vision import mark_synthesis as synth
from common.vision import mark_training
from common.vision.channel import logo_signal, run_mark_detector
from common.vision.mark_detector import DetectorMismatch, DetectorModel, detect
from common.vision.port import VisionResult
from tests.support.kits import tiny_kit

TINY = {"positives_per_class": 28, "negatives": 20, "calibration": (8, 8)}


def bold_logo() -> Image.Image:
    """A mark as brands register them: an angular emblem and a word (no plain ring: wheels and plates are rings)."""
    img = Image.new("RGB", (240, 160), "white")
    d = ImageDraw.Draw(img)
    d.polygon([(10, 10), (230, 10), (200, 150), (40, 150)], fill=(250, 200, 0), outline=(0, 0, 0), width=6)
    d.line([(30, 40), (70, 20), (110, 60), (150, 20), (190, 60), (215, 30)], fill=(200, 20, 20), width=12)
    d.text((120, 110), "ZQX", fill=(0, 0, 0), anchor="mm", font=synth.font("DejaVuSans-Bold.ttf", 54))
    return img


@pytest.fixture(scope="module")
def model() -> DetectorModel:
    classes = mark_training.mark_classes([("logo:mark.png", bold_logo())], [])
    photos = synth.bundled_photo_names()
    return mark_training.train_detector("acme", classes, background_photos=photos[::2], **TINY)  # type: ignore[arg-type]


def _iou(a: tuple[int, int, int, int], b: tuple[float, float, float, float]) -> float:
    box = np.array([[a[0], a[1], a[0] + a[2], a[1] + a[3]]], np.float32)
    return float(mark_training.iou(box, b)[0])


def test_finds_a_composited_mark_with_its_box_near_the_truth(model: DetectorModel) -> None:
    held_out = list(synth.bundled_photo_names()[1::2])
    mark = synth.mark_rgba(bold_logo())
    found = 0
    for seed in range(3):
        comp = synth.compose(mark, "plain", np.random.default_rng(100 + seed), (480, 360), held_out, (50, 80))
        result = detect(model, comp.image)
        if result.hits:
            hit = result.hits[0]
            assert hit.method == "mark_detector" and hit.ref_id == "logo:mark.png"
            assert _iou(hit.box, comp.boxes[0]) >= 0.25, (hit.box, comp.boxes[0])
            found += 1
    assert found >= 2


def test_rejects_unrelated_photos_and_other_marks(model: DetectorModel) -> None:
    """Even this tiny model (28 composites) keeps nearly every mark-free image below its threshold; the shipped
    sizes are measured by scripts/bench_mark_detector.py (docs/vision.md)."""
    rng = np.random.default_rng(7)
    held_out = list(synth.bundled_photo_names()[1::2])
    images = [synth.negative(rng, (480, 360), held_out, other_marks=2).image for _ in range(4)]
    images += [synth.photo(name) for name in held_out]
    fired = [bool(detect(model, img).hits) for img in images]
    assert sum(fired) <= 1, fired
    mark = synth.compose(synth.mark_rgba(bold_logo()), "plain", rng, (480, 360), held_out, (60, 80))
    scores = [detect(model, img).best["score"] for img in images]
    assert detect(model, mark.image).best["score"] > float(np.median(scores))


def test_model_round_trips_as_data_and_belongs_to_one_brand(model: DetectorModel) -> None:
    data = model.to_npz()
    back = DetectorModel.from_npz(data, "acme")
    assert back.classes == model.classes and back.threshold == model.threshold
    assert np.array_equal(back.weights, model.weights.astype(np.float32))
    with pytest.raises(DetectorMismatch, match="trained for 'acme', not for 'globex'"):
        DetectorModel.from_npz(data, "globex")


@pytest.fixture
def deps(runtime):  # type: ignore[no-untyped-def]
    return runtime[0]


@pytest.fixture
def small_training(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Brand add with the tiny sample sizes; returns the brands each real training ran for."""
    monkeypatch.setattr(
        mark_training, "POSITIVES_PER_CLASS", 10
    )  # plumbing, not quality: as small as it gets
    monkeypatch.setattr(mark_training, "NEGATIVES", 8)
    monkeypatch.setattr(mark_training, "CALIBRATION_POSITIVES", 4)
    monkeypatch.setattr(mark_training, "CALIBRATION_NEGATIVES", 4)
    monkeypatch.setattr(mark_training, "_TRAINED", {})
    trained: list[str] = []
    real = mark_training.train_detector

    def spy(brand_id: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        trained.append(brand_id)
        return real(brand_id, *args, **kwargs)

    monkeypatch.setattr(mark_training, "train_detector", spy)
    return trained


def test_brand_add_trains_stores_and_reuses_while_the_kit_is_unchanged(
    deps, tmp_path: Path, small_training: list[str]
) -> None:
    kit = tiny_kit(tmp_path / "kit")
    bold_logo().save(kit / "logos" / "logo.png")
    first = register_brand(deps, kit)
    record = deps.docs.get(paths.brand("acme"))["mark_detector"]
    assert small_training == ["acme"]
    assert record["blob"] == paths.mark_detector("acme", record["key"])
    assert record["classes"] == ["logo:logo.png", "wordmark:ACME"]
    assert deps.blobs.generation(deps.settings.references_bucket, record["blob"]) is not None

    mark_training._TRAINED.clear()  # a new process: only the stored record and blob remain
    again = register_brand(deps, kit)
    assert small_training == ["acme"], "an unchanged kit must not be retrained"
    assert again.version == first.version
    assert again.mark_detector_reused and not first.mark_detector_reused

    img = Image.open(kit / "logos" / "logo.png").convert("RGB")
    ImageDraw.Draw(img).rectangle((0, 0, 30, 30), fill=(0, 120, 0))
    img.save(kit / "logos" / "logo.png")
    changed = register_brand(deps, kit)
    assert small_training == ["acme", "acme"] and changed.version != first.version
    new_record = deps.docs.get(paths.brand("acme"))["mark_detector"]
    assert new_record["key"] != record["key"]

    brand = get_brand(deps, "acme")
    comp = synth.compose(
        synth.mark_rgba(img),
        "plain",
        np.random.default_rng(3),
        (480, 360),
        synth.bundled_photo_names()[1::2],
        (60, 80),
    )
    result = VisionResult()
    detector = run_mark_detector(deps, brand, comp.image, result)
    assert detector is not None and detector["model"] == new_record["key"]
    assert set(detector) >= {"threshold", "fired", "best"}
    signal = logo_signal(result, 1, detector)
    assert signal.detail["detector"] == detector
    if detector["fired"]:
        assert signal.status == "fired" and "trained mark detector" in signal.reason
        assert signal.detail["hits"][0]["method"] == "mark_detector"


def test_a_brand_never_runs_another_brands_detector(deps, tmp_path: Path, small_training: list[str]) -> None:
    register_brand(deps, tiny_kit(tmp_path / "kit"))
    register_brand(deps, tiny_kit(tmp_path / "k2", "globex"))
    acme = deps.docs.get(paths.brand("acme"))["mark_detector"]
    doc = deps.docs.get(paths.brand("globex"))
    deps.docs.set(paths.brand("globex"), doc | {"mark_detector": acme, "version": "tampered"})
    deps.cache.clear()
    result = VisionResult()
    detector = run_mark_detector(deps, get_brand(deps, "globex"), Image.new("RGB", (320, 240)), result)
    assert detector is not None and "error" in detector
    assert "not for 'globex'" in detector["error"] or "Forbidden" in detector["error"]
    assert result.logos == []


def _kit_with_training(tmp_path: Path, annotations: object | None, photo_name: str = "shot.jpg") -> Path:
    kit = tiny_kit(tmp_path / "kit")
    (kit / "training").mkdir()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(kit / "training" / photo_name)
    if annotations is not None:
        text = annotations if isinstance(annotations, str) else json.dumps(annotations)
        (kit / "training" / "annotations.json").write_text(text)
    return kit


def _coco(bbox: list[float], file_name: str = "shot.jpg", width: int = 320) -> dict[str, object]:
    return {
        "images": [{"id": 1, "file_name": file_name, "width": width, "height": 240}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": bbox}],
        "categories": [{"id": 1, "name": "acme-logo"}],
    }


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ("{not json", "not valid UTF-8 JSON"),
        ({"images": "nope"}, "images: Input should be a valid list"),
        (
            _coco([300, 10, 50, 40]),
            "annotation 5: bbox [300.0, 10.0, 50.0, 40.0] lies outside its 320x240 image",
        ),
        (_coco([10, 10, -5, 40]), "must be finite with a positive width and height"),
        (_coco([10, 10, 50, 40], file_name="../../brand.json"), "must name a file in training/"),
        (_coco([10, 10, 50, 40], file_name="missing.jpg"), "'missing.jpg' is not a readable photo"),
        (_coco([10, 10, 50, 40], width=640), "says 640x240, shot.jpg is 320x240"),
    ],
)
def test_hostile_training_annotations_are_refused_before_anything_is_stored(
    deps, tmp_path: Path, annotations: object, message: str
) -> None:
    kit = _kit_with_training(tmp_path, annotations)
    with pytest.raises(BadInput, match="invalid brand kit") as err:
        register_brand(deps, kit)
    assert message in str(err.value)
    assert deps.docs.get(paths.brand("acme")) is None
    assert list(deps.docs.list(paths.references("acme"))) == []


def test_training_folder_out_of_the_kit_is_refused(deps, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.new("RGB", (64, 64)).save(outside / "x.jpg")
    kit = tiny_kit(tmp_path / "kit")
    os.symlink(outside, kit / "training")
    with pytest.raises(BadInput, match="outside the kit"):
        register_brand(deps, kit)


def test_valid_annotations_give_boxes_negatives_and_unboxed_positives(tmp_path: Path) -> None:
    kit = _kit_with_training(tmp_path, None)
    Image.new("RGB", (320, 240), (10, 10, 10)).save(kit / "training" / "empty.jpg")
    Image.new("RGB", (320, 240), (200, 10, 10)).save(kit / "training" / "loose.jpg")
    coco = _coco([10, 20, 50, 40])
    coco["images"].append({"id": 2, "file_name": "empty.jpg", "width": 320, "height": 240})  # type: ignore[attr-defined]
    (kit / "training" / "annotations.json").write_text(json.dumps(coco))
    from PIL import Image as PILImage

    photos = mark_training.validate_training(
        kit,
        ["logo.png"],
        lambda p: p.read_bytes(),
        lambda b: PILImage.open(__import__("io").BytesIO(b)),
        lambda p: p,
    )
    by_name = {p.path.name: p for p in photos}
    assert by_name["shot.jpg"].boxes == (("logo.png", 10.0, 20.0, 60.0, 60.0),)
    assert by_name["empty.jpg"].negative and by_name["empty.jpg"].boxes == ()
    assert by_name["loose.jpg"].boxes is None and not by_name["loose.jpg"].negative


def test_logo_classes_fire_at_the_cap_wordmarks_at_the_calibrated_threshold() -> None:
    """A brand whose synthetic calibration set a high threshold (KAFFEO 0.93) still sees a logo at the cap
    derived from labelled listings; wordmark classes keep their calibrated threshold (fusion weighs them)."""
    from common.vision.mark_detector import LOGO_FIRE_CAP, fire_threshold

    names = ["background", "logo:a.png", "wordmark:ACME"]
    strict = DetectorModel(
        "acme", names, np.zeros((3, 4), np.float32), np.zeros(3, np.float32), threshold=0.93
    )
    assert fire_threshold(strict, "logo:a.png") == LOGO_FIRE_CAP < 0.93
    assert fire_threshold(strict, "wordmark:ACME") == 0.93
    loose = DetectorModel(
        "acme", names, np.zeros((3, 4), np.float32), np.zeros(3, np.float32), threshold=0.68
    )
    assert fire_threshold(loose, "logo:a.png") == 0.68  # the cap only ever lowers a threshold


def test_an_easy_draw_of_held_out_negatives_cannot_set_a_low_threshold() -> None:
    """The threshold is the highest held-out negative's probability, floored at ``MIN_THRESHOLD``: a draw of
    negatives the head finds easy (all far below the positives) must not let the brand fire at p 0.55, where a
    competitor's mark of the same layout scores (docs/detection.md)."""
    names = ["background", "logo:a.png"]
    m = DetectorModel("acme", names, np.zeros((2, 4), np.float32), np.zeros(2, np.float32))
    rng = np.random.default_rng(0)
    pos, easy = rng.normal(4.0, 1.0, 20), rng.normal(-4.0, 0.5, 30)
    m.calibrate(pos, easy, mark_training.MAX_FALSE_POSITIVE_RATE, mark_training.MIN_THRESHOLD)
    assert m.threshold == mark_training.MIN_THRESHOLD == 0.75
    assert float(m.probability(easy).max()) < 0.5  # the data alone would have allowed a far lower threshold
    hard = np.concatenate(
        [easy[:-1], [3.5]]
    )  # one negative as sure as a positive: the threshold goes above it
    m.calibrate(pos, hard, mark_training.MAX_FALSE_POSITIVE_RATE, mark_training.MIN_THRESHOLD)
    assert m.threshold > float(m.probability(3.5)) > 0.75
