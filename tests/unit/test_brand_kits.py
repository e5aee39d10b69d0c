"""Brand kit validation (clear error per bad field or file) and idempotent registration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common.brands import get_brand, load_kit, register_brand
from common.errors import BadInput, UnknownBrand


def write_kit(
    root: Path, brand: dict, refs: dict[str, bytes] | None = None, logos: dict[str, bytes] | None = None
) -> Path:
    (root / "references").mkdir(parents=True, exist_ok=True)
    (root / "brand.json").write_text(json.dumps(brand))
    for name, data in (refs or {}).items():
        (root / "references" / name).write_bytes(data)
    if logos:
        (root / "logos").mkdir(exist_ok=True)
        for name, data in logos.items():
            (root / "logos" / name).write_bytes(data)
    return root


def test_every_bad_field_and_file_is_reported(tmp_path: Path):
    kit = write_kit(
        tmp_path / "kit",
        {
            "brand": "Bad Id!",
            "display_name": "",
            "colors": ["blue"],
            "currency": "usd",
            "spi": -3,
            "extra": 1,
        },
        {"notes.txt": b"hello"},
    )
    with pytest.raises(BadInput) as err:
        load_kit(kit)
    text = str(err.value)
    for needle in (
        "brand:",
        "display_name:",
        "colors:",
        "currency:",
        "spi:",
        "'extra': unknown field",
        "notes.txt: unsupported file type",
    ):
        assert needle in text, needle


def test_missing_brand_json_and_references(tmp_path: Path):
    (tmp_path / "kit").mkdir()
    with pytest.raises(BadInput) as err:
        load_kit(tmp_path / "kit")
    assert "brand.json: missing" in str(err.value)
    assert "references: missing" in str(err.value)


def test_unreadable_image_is_named(tmp_path: Path, runtime):
    deps, _ = runtime
    kit = write_kit(
        tmp_path / "kit", {"brand": "acme", "display_name": "ACME"}, {"front.jpg": b"\xff\xd8\xff garbage"}
    )
    with pytest.raises(BadInput) as err:
        register_brand(deps, kit)
    assert "front.jpg" in str(err.value)
    with pytest.raises(UnknownBrand):
        get_brand(deps, "acme")


def test_readd_is_idempotent_and_tracks_added_and_removed_files(tmp_path: Path, runtime, demo_dir: Path):
    deps, _ = runtime
    kit = tmp_path / "kit"
    shutil.copytree(demo_dir / "kit", kit)
    first = register_brand(deps, kit)
    assert len(first.added) == 3 and not first.unchanged
    again = register_brand(deps, kit)
    assert again.added == [] and again.updated == [] and len(again.unchanged) == 3
    assert again.version == first.version

    (kit / "references" / "roadster-tank-detail.jpg").unlink()
    shutil.copy(demo_dir / "candidates" / "s3-selfshot.jpg", kit / "references" / "right.jpg")
    third = register_brand(deps, kit)
    assert third.added == ["reference:right.jpg"]
    assert third.removed == ["reference:roadster-tank-detail.jpg"]
    assert third.version != first.version
    brand = get_brand(deps, "acme")
    ids = sorted(r["ref_id"] for r in brand.references)
    assert ids == ["logo:acme-mark.png", "reference:right.jpg", "reference:roadster-left.jpg"]
    ref = next(r for r in brand.references if r["ref_id"] == "reference:right.jpg")
    assert ref["hashes"] and ref["embedding"] and ref["copy_features"]


def test_readd_rehashes_old_hash_records_only(tmp_path: Path, runtime, demo_dir: Path, monkeypatch):
    """A kit registered by hash extractor version 1 (bit-reversed PDQ, no hash_schema) is re-hashed by the next
    `brand add`; its other features are kept, not recomputed."""
    from common import hashing
    from common.embedding.extractor import EmbedExtractor

    deps, _ = runtime
    kit = tmp_path / "kit"
    shutil.copytree(demo_dir / "kit", kit)
    register_brand(deps, kit)
    fresh = {path: doc for path, doc in deps.docs.list("brands/acme/references")}
    for path, doc in fresh.items():
        old = {k: v for k, v in doc.items() if k not in ("hash_schema", "pdq_exchange")}
        old["hashes"] = {
            k: hashing.reverse_pdq_hex(v) if k.startswith("pdq") else v for k, v in doc["hashes"].items()
        }
        old["extractors"] = doc["extractors"] | {"hash": "1"}
        deps.docs.set(path, old)

    def no_embedding(*args, **kwargs):
        raise AssertionError("the embedding did not change and must not be recomputed")

    monkeypatch.setattr(EmbedExtractor, "extract", no_embedding)
    again = register_brand(deps, kit)
    assert sorted(again.updated) == sorted(doc["ref_id"] for doc in fresh.values()) and not again.added
    for path, doc in deps.docs.list("brands/acme/references"):
        assert doc["hash_schema"] == 2 and doc["hashes"] == fresh[path]["hashes"]
        assert doc["embedding"] == fresh[path]["embedding"]
        assert doc["extractors"]["hash"] == "2"
    assert register_brand(deps, kit).updated == []
