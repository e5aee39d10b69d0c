"""The embed channel on the embedded default: reference extraction, crops, calibrated signal, not_run cases."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from common.bootstrap import Deps, build_deps
from common.brands import Brand, ReferenceImage
from common.embedding import synthetic
from common.embedding.channel import DECISIVE_SCORE, FIRED_SCORE, run_embed_channel
from common.embedding.client import HttpModelClient
from common.embedding.extractor import EmbedExtractor
from common.messages import BlobRef, Box, Preprocessed, Signal
from common.settings import Settings

REFERENCES = ("coffee", "chelsea", "rocket", "astronaut", "brick")
CLUTTER = ("hubble_deep_field", "ihc", "color", "coins", "camera", "retina")


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return synthetic.sample_images()


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    return build_deps(Settings(home=tmp_path / "home"))


def _brand(deps: Deps, photos: dict[str, Image.Image], names: tuple[str, ...] = REFERENCES) -> Brand:
    extractor = EmbedExtractor()
    refs = []
    for name in names:
        ref = ReferenceImage(
            f"reference:{name}.jpg", "reference", f"{name}.jpg", Path(name), name, photos[name]
        )
        refs.append({"ref_id": ref.ref_id, "kind": "reference", **extractor.extract(deps, "acme", ref)})
    return Brand("acme", "ACME", [], [], [], [], None, None, None, None, "v1", references=refs)


def _pre(img: Image.Image, box: Box | None = None) -> Preprocessed:
    return Preprocessed(working=BlobRef(bucket="w", name="acme/s.png"), sha256="0" * 64, format="PNG",
                        width=img.width, height=img.height, product_box=box)  # fmt: skip


def _run(deps: Deps, brand: Brand, img: Image.Image, box: Box | None = None) -> Signal:
    return run_embed_channel(deps, brand, img, _pre(img, box))["embedding"]


def test_extractor_stores_whole_and_crop_views(deps: Deps, photos: dict[str, Image.Image]) -> None:
    brand = _brand(deps, photos, ("coffee",))
    ref = brand.references[0]
    assert len(ref["embedding"]) == 1280
    assert ref["embedding_model"] == "efficientnet-lite0-embed@1"
    assert sorted(ref["embedding_crops"]) == ["centre", "tile2_0_0", "tile2_0_1", "tile2_1_0", "tile2_1_1"]
    views = deps.docs.list("brands/acme/reference_views")
    assert len(views) == 6 and {doc["ref_id"] for _, doc in views} == {"reference:coffee.jpg"}
    assert EmbedExtractor().version.startswith("efficientnet-lite0-embed@1")
    logo = ReferenceImage("logo:l.png", "logo", "l.png", Path("l.png"), "x", photos["logo"])
    assert EmbedExtractor().extract(deps, "acme", logo)["embedding_crops"] == {}


@pytest.mark.parametrize("transform", ["crop", "watermark_heavy", "reshoot", "flip"])
def test_edited_copy_fires_on_its_reference(
    deps: Deps, photos: dict[str, Image.Image], transform: str
) -> None:
    brand = _brand(deps, photos)
    candidate = synthetic.edited(photos, "rocket", transform, random.Random(5))
    sig = _run(deps, brand, candidate)
    assert sig.status == "fired", sig.reason
    assert sig.reference == "reference:rocket.jpg"
    assert sig.score is not None and sig.score >= FIRED_SCORE
    assert sig.detail["model"] == "efficientnet-lite0-embed" and sig.detail["index"] == "local"
    assert sig.detail["raw_cosine"] == max(sig.detail["per_region_cosine"])
    assert "rocket" in (sig.reason or "")


def test_small_product_in_clutter_is_found_by_a_tile(deps: Deps, photos: dict[str, Image.Image]) -> None:
    brand = _brand(deps, photos)
    scene = synthetic.clutter_scene(photos["coffee"], [photos[n] for n in CLUTTER], random.Random(11))
    sig = _run(deps, brand, scene)
    assert sig.status == "fired", sig.reason
    assert sig.reference == "reference:coffee.jpg"
    assert sig.detail["best_region"] != "whole"  # the whole scene alone does not carry it
    whole = sig.detail["per_region_cosine"][0]
    assert sig.detail["raw_cosine"] > whole


def test_product_box_region_is_used(deps: Deps, photos: dict[str, Image.Image]) -> None:
    brand = _brand(deps, photos)
    scene = Image.new("RGB", (900, 700), (240, 240, 240))
    product = photos["chelsea"].copy()
    product.thumbnail((260, 260))
    scene.paste(product, (600, 60))
    box = Box(x=600, y=60, w=product.width, h=product.height)
    sig = _run(deps, brand, scene, box)
    assert sig.detail["regions"][1] == "product_box"
    assert sig.status == "fired" and sig.reference == "reference:chelsea.jpg"


def test_unrelated_photos_stay_clear(deps: Deps, photos: dict[str, Image.Image]) -> None:
    brand = _brand(deps, photos)
    for name in ("hubble_deep_field", "ihc", "page", "Minduka_Present_Blue_Pack"):
        sig = _run(deps, brand, photos[name])
        assert sig.status == "clear", (name, sig.reason)
        assert sig.score is not None and sig.score < FIRED_SCORE
        assert sig.reason and sig.reason.startswith("No reference looks alike")


def test_not_run_without_embeddings_or_model(
    deps: Deps, photos: dict[str, Image.Image], tmp_path: Path
) -> None:
    empty = Brand("acme", "ACME", [], [], [], [], None, None, None, None, "v0", references=[{"ref_id": "a"}])
    sig = _run(deps, empty, photos["coffee"])
    assert sig.status == "not_run" and "no reference embeddings" in (sig.reason or "")

    brand = _brand(deps, photos, ("coffee",))
    stale = replace(
        brand, version="v2", references=[dict(r, embedding_model="old-model@0") for r in brand.references]
    )
    sig = _run(deps, stale, photos["coffee"])
    assert sig.status == "not_run" and "another model" in (sig.reason or "")

    down = replace(deps, _model=HttpModelClient("http://127.0.0.1:9", timeout=(0.5, 0.5)), cache={})
    sig = _run(down, brand, photos["coffee"])
    assert sig.status == "not_run" and "image model unavailable" in (sig.reason or "")


def test_crops_only_when_the_whole_image_is_not_decisive(deps: Deps, photos: dict[str, Image.Image]) -> None:
    """The funnel: a copy of a reference decides on the whole image (the crops could only raise a score that is
    already >= DECISIVE_SCORE); a small product in clutter needs the crops, and says so."""
    brand = _brand(deps, photos)
    copy = _run(deps, brand, photos["rocket"].convert("RGB"))
    assert copy.status == "fired" and copy.score is not None and copy.score >= DECISIVE_SCORE
    assert copy.detail["regions"] == ["whole"] and copy.detail["crops"].startswith("skipped: the whole image")
    scene = synthetic.clutter_scene(photos["coffee"], [photos[n] for n in CLUTTER], random.Random(11))
    found = _run(deps, brand, scene)
    assert len(found.detail["regions"]) > 1 and found.detail["crops"].startswith("embedded: the whole image")
    assert found.detail["per_region_cosine"][0] < found.detail["raw_cosine"]
