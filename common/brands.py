"""Brand kits: validation, registration (``counterfeit brand add``) and loading for the channels.

Reference images are read, decoded and turned into features here, by our own code only: the images never
leave this process (seed 004: "used only to extract mathematical features"). Re-adding a kit is idempotent:
files whose bytes and extractor versions are unchanged are skipped, removed files lose their reference docs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from common import boundedjson, paths
from common.authenticate.contract import MODEL_PATTERN, ModelSpec
from common.bootstrap import Deps
from common.brand_model import Brand, ReferenceImage
from common.discovery.optin import DiscoveryKit
from common.errors import BadImage, BadInput, UnknownBrand
from common.messages import BRAND_PATTERN
from common.rights import (
    MAX_REGISTRATIONS,
    CopyrightRegistration,
    DesignRegistration,
    Party,
    Signatory,
    TrademarkRegistration,
)

REFERENCE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
LOGO_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_KIT_FILES = 500  # per folder; a kit is a curated set, not a photo dump
# brand.json at its field caps (10,000 sellers and 10,000 barcodes of <= 512 characters, 3 x 500 rights
# registrations of ~1 KB) is ~8 MB.
MAX_BRAND_JSON_BYTES = 16 * 1024 * 1024
# Objects of lists of objects (the rights register: depth 4); at the field caps ~41,000 tokens for the lists
# (two per entry) plus ~160 per registration (fields and up to 45 classes): ~280,000.
BRAND_JSON_MAX_DEPTH = 8
BRAND_JSON_MAX_TOKENS = 400_000
# References are decoded with the longest side reduced to >= 2048 px: every extractor works at <= 640 px
# (hash 256, logo 400, copy SIFT 640, embedding crops resized to 224 from at most 3x3 tiles), so larger
# photos only cost memory (a 49 MP reference held as RGB is 196 MB; every kit photo of <= 2048 px is unchanged).
REFERENCE_DECODE_SIDE = 2048
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class BrandKit(BaseModel):
    """``KIT/brand.json`` exactly as in DESIGN.md "Data contracts"."""

    model_config = ConfigDict(extra="forbid")

    brand: str = Field(pattern=BRAND_PATTERN)
    display_name: str = Field(min_length=1, max_length=200)
    trademarks: list[str] = Field(default_factory=list, max_length=200)
    colors: list[str] = Field(default_factory=list, max_length=20)
    authorized_sellers: list[str] = Field(default_factory=list, max_length=10_000)
    barcodes: list[str] = Field(default_factory=list, max_length=10_000)
    reference_price: float | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    category: str | None = Field(default=None, max_length=100)
    spi: float | None = Field(default=None, gt=0, le=200)
    # The rights register (common/rights.py): optional, what takedown notices are pre-filled with.
    rights_owner: Party | None = None
    authorised_agent: Party | None = None
    signatory: Signatory | None = None
    trademark_registrations: list[TrademarkRegistration] = Field(
        default_factory=list, max_length=MAX_REGISTRATIONS
    )
    copyright_registrations: list[CopyrightRegistration] = Field(
        default_factory=list, max_length=MAX_REGISTRATIONS
    )
    design_registrations: list[DesignRegistration] = Field(default_factory=list, max_length=MAX_REGISTRATIONS)
    # Per product model: genuine SPI and close-up regions for `counterfeit authenticate` (common/authenticate).
    models: dict[str, ModelSpec] = Field(default_factory=dict, max_length=1000)
    # Web discovery (common/discovery): every source off unless enabled here, with who approved it and when.
    discovery: DiscoveryKit = Field(default_factory=DiscoveryKit)

    @field_validator("models")
    @classmethod
    def _models(cls, value: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        for name in value:
            if not re.fullmatch(MODEL_PATTERN, name):
                raise ValueError(f"model names must match {MODEL_PATTERN}, got {name[:120]!r}")
        return value

    @field_validator("trademarks")
    @classmethod
    def _trademarks(cls, value: list[str]) -> list[str]:
        for tm in value:
            if not tm.strip() or len(tm) > 100:
                raise ValueError(f"trademark entries must be 1-100 characters, got {tm[:120]!r}")
        return value

    @field_validator("colors")
    @classmethod
    def _colors(cls, value: list[str]) -> list[str]:
        for color in value:
            if not _HEX_COLOR.match(color):
                raise ValueError(f"colours must look like '#0A84FF', got {color[:20]!r}")
        return [c.upper() for c in value]

    @field_validator("barcodes")
    @classmethod
    def _barcodes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not code or len(code) > 512:
                raise ValueError("barcode entries must be 1-512 characters")
        return value


class ReferenceExtractor(Protocol):
    """Runs at ``brand add`` on each kit image; returns fields merged into the reference doc."""

    name: str
    version: str

    def extract(self, deps: Deps, brand_id: str, ref: ReferenceImage) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RegisterResult:
    brand_id: str
    version: str
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: list[str]
    mark_detector: dict[str, Any] | None = (
        None  # the brand document's record (common/vision/mark_training.py)
    )
    mark_detector_reused: bool = False  # the kit's marks were unchanged: no retraining


def extractors() -> list[ReferenceExtractor]:
    """Every feature extractor that runs at ``brand add`` (hashes, embeddings, logo features)."""
    from common.copyverify import CopyExtractor
    from common.embedding.extractor import EmbedExtractor
    from common.hashing import HashExtractor
    from common.vision.logo_extractor import LogoExtractor

    return [HashExtractor(), CopyExtractor(), EmbedExtractor(), LogoExtractor()]


def kit_path(kit_dir: Path, path: Path) -> Path:
    """The real location of a kit entry; BadInput when it (or a symlink on the way) leads out of the kit.

    Why: a kit is what the brand hands over. A symlink to ``/etc/shadow`` or another brand's photos must not be
    read, hashed and stored as this brand's reference; a symlink inside the kit is fine."""
    root = Path(kit_dir).resolve()
    real = Path(path).resolve()
    if not real.is_relative_to(root):
        raise BadInput(f"{path}: symlink to {real}, outside the kit {root}; kit files must be inside the kit")
    return real


def read_kit_file(kit_dir: Path, path: Path, max_bytes: int) -> bytes:
    """A kit file's bytes: inside the kit, a regular file, size checked before reading, read bounded."""
    real = kit_path(kit_dir, path)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{path}: not a regular file")
        if info.st_size > max_bytes:
            raise BadInput(f"{path}: {info.st_size:,} bytes is over the {max_bytes:,}-byte limit")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew after the size check
        raise BadInput(f"{path}: more than {max_bytes:,} bytes")
    return data


def _parse_brand_json(kit_dir: Path, problems: list[str]) -> BrandKit | None:
    brand_file = kit_dir / "brand.json"
    if not brand_file.exists() and not brand_file.is_symlink():
        problems.append(f"{brand_file}: missing")
        return None
    try:
        data = read_kit_file(kit_dir, brand_file, MAX_BRAND_JSON_BYTES)
        raw = boundedjson.loads(data, max_depth=BRAND_JSON_MAX_DEPTH, max_tokens=BRAND_JSON_MAX_TOKENS)
        return BrandKit.model_validate(raw)
    except BadInput as exc:
        problems.append(str(exc))
    except boundedjson.JSONTooComplex as exc:  # refused before json.loads builds (or recurses into) anything
        problems.append(f"{brand_file}: not valid JSON: {exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{brand_file}: not valid UTF-8 JSON ({exc.__class__.__name__}: {exc})")
    except ValidationError as exc:
        problems.extend(f"{brand_file}: {part}" for part in kit_problems(exc))
    return None


def _kit_entries(kit_dir: Path, directory: Path, problems: list[str]) -> list[Path]:
    """Visible regular files of a kit folder; entries leading out of the kit are reported, not read."""
    entries = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            kit_path(kit_dir, path)
        except BadInput as exc:
            problems.append(str(exc))
            continue
        if path.is_file():
            entries.append(path)
    return entries


def load_kit(kit_dir: Path) -> tuple[BrandKit, list[tuple[str, Path]]]:
    """Validate a kit directory; raises BadInput listing every problem found (not just the first)."""
    kit_dir = Path(kit_dir)
    problems: list[str] = []
    if not kit_dir.is_dir():
        raise BadInput(f"{kit_dir}: not a directory")
    kit = _parse_brand_json(kit_dir, problems)

    files: list[tuple[str, Path]] = []
    for kind, folder, suffixes in (
        ("reference", "references", REFERENCE_SUFFIXES),
        ("logo", "logos", LOGO_SUFFIXES),
    ):
        directory = kit_dir / folder
        if not directory.is_dir():
            if kind == "reference":
                problems.append(f"{directory}: missing (a kit needs at least one genuine product photo)")
            continue
        try:
            kit_path(kit_dir, directory)
        except BadInput as exc:
            problems.append(str(exc))
            continue
        entries = _kit_entries(kit_dir, directory, problems)
        if len(entries) > MAX_KIT_FILES:
            problems.append(f"{directory}: {len(entries)} files, at most {MAX_KIT_FILES} allowed")
            continue
        for path in entries:
            if path.suffix.lower() not in suffixes:
                problems.append(f"{path}: unsupported file type (allowed: {', '.join(sorted(suffixes))})")
            else:
                files.append((kind, path))
    if kit is not None and not any(kind == "reference" for kind, _ in files):
        problems.append(f"{kit_dir / 'references'}: no genuine product photos found")
    if problems:
        raise BadInput("invalid brand kit:\n  " + "\n  ".join(problems))
    assert kit is not None
    return kit, files


_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "rights_owner": Party,
    "authorised_agent": Party,
    "signatory": Signatory,
    "trademark_registrations": TrademarkRegistration,
    "copyright_registrations": CopyrightRegistration,
    "design_registrations": DesignRegistration,
    "discovery": DiscoveryKit,
}


def kit_problems(exc: ValidationError) -> list[str]:
    """Each problem of ``brand.json`` in words; a misspelt field names the closest known ones ("did you mean"),
    so a kit that says ``trademark`` or ``colours`` is fixed in one go instead of by reading the docs."""
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        if err["type"] == "extra_forbidden" and (len(loc) == 1 or str(loc[0]) in _NESTED_MODELS):
            known = list((_NESTED_MODELS[str(loc[0])] if len(loc) > 1 else BrandKit).model_fields)
            name = str(loc[-1])
            where = ".".join(str(p) for p in loc[:-1])
            close = difflib.get_close_matches(name.lower(), known, n=2, cutoff=0.6)
            hint = (
                f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"known fields: {', '.join(known)}"
            )
            problems.append(f"{where + ': ' if where else ''}{name[:80]!r}: unknown field; {hint}")
        else:
            problems.append(f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}")
    return problems


def _decode_reference(deps: Deps, data: bytes) -> Any:
    from common.imaging import decode

    settings = deps.settings
    return decode(
        data,
        max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
        reduce_to=REFERENCE_DECODE_SIDE,
    )


def register_brand(deps: Deps, kit_dir: Path) -> RegisterResult:
    """``counterfeit brand add``: validate, extract features locally, store; idempotent."""
    kit, files = load_kit(kit_dir)
    brand_id = kit.brand
    extractor_list = extractors()
    versions = {e.name: e.version for e in extractor_list}
    ref_collection = paths.references(brand_id)
    existing = {path.rsplit("/", 1)[1]: doc for path, doc in deps.docs.list(ref_collection)}

    # Pass 1 validates every file (size before reading, full decode) and keeps only digests: an invalid kit
    # writes nothing, and memory holds one reference at a time, never the whole kit.
    prepared: list[tuple[str, str, Path, str]] = []
    problems: list[str] = []
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    to_extract: list[tuple[str, str, Path, str]] = []
    for kind, path in files:
        ref_id = f"{kind}:{path.name}"
        try:
            data = read_kit_file(kit_dir, path, deps.settings.max_image_bytes)
        except BadInput as exc:
            problems.append(str(exc))
            continue
        sha = hashlib.sha256(data).hexdigest()
        prepared.append((ref_id, kind, path, sha))
        old = existing.get(ref_id)
        if old and old.get("sha256") == sha and old.get("extractors") == versions:
            unchanged.append(ref_id)
            continue
        try:
            _decode_reference(deps, data)
        except BadImage as exc:
            problems.append(f"{path}: {exc}")
            continue
        to_extract.append((ref_id, kind, path, sha))
        (updated if old else added).append(ref_id)
        del data
    if problems:
        raise BadInput("invalid brand kit:\n  " + "\n  ".join(problems))
    from common.vision import mark_training

    def read_image(path: Path) -> bytes:
        return read_kit_file(kit_dir, path, deps.settings.max_image_bytes)

    def decode_image(data: bytes) -> Any:
        return _decode_reference(deps, data).image

    training = (
        mark_training.validate_training(  # KIT/training/ (+ COCO boxes), checked before anything is stored
            Path(kit_dir),
            [path.name for kind, path in files if kind == "logo"],
            read_image,
            decode_image,
            lambda p: kit_path(kit_dir, p),
        )
    )
    from common.authenticate.kit import register_closeups

    register_closeups(  # validates every close-up before storing; read like every other kit file
        deps,
        brand_id,
        Path(kit_dir),
        kit.models,
        lambda p: read_kit_file(kit_dir, p, deps.settings.max_image_bytes),
    )

    for ref_id, kind, path, sha in to_extract:  # pass 2: decode again, extract, store, let go
        data = read_kit_file(kit_dir, path, deps.settings.max_image_bytes)
        if hashlib.sha256(data).hexdigest() != sha:
            raise BadInput(f"{path}: changed while the kit was being registered; run brand add again")
        img = _decode_reference(deps, data)
        ref = ReferenceImage(ref_id, kind, path.name, path, sha, img.image)
        # Same bytes, some extractor newer (e.g. hash records of an older hash_schema): re-run only those and
        # keep the rest (an embedding does not change because the hash layout did).
        old = existing.get(ref.ref_id) or {}
        kept = dict(old) if old.get("sha256") == ref.sha256 else {}
        done = dict(kept.get("extractors") or {})
        doc: dict[str, Any] = kept | {
            "ref_id": ref.ref_id,
            "kind": ref.kind,
            "filename": ref.filename,
            "sha256": ref.sha256,
            "width": img.width,
            "height": img.height,
            "extractors": versions,
        }
        for extractor in extractor_list:
            if done.get(extractor.name) != extractor.version:
                doc.update(extractor.extract(deps, brand_id, ref))
        deps.docs.set(f"{ref_collection}/{ref.ref_id}", doc)
        del data, img, ref

    current_ids = {ref_id for ref_id, *_ in prepared}
    removed = sorted(set(existing) - current_ids)
    for ref_id in removed:
        deps.docs.delete(f"{ref_collection}/{ref_id}")

    # The per-brand mark detector (common/vision/mark_training.py): trained from the logo files, the wordmarks and
    # training/, reused as long as they and the trainer are unchanged.
    old_brand = deps.docs.get(paths.brand(brand_id)) or {}
    detector = mark_training.train_for_kit(
        deps,
        brand_id,
        kit.trademarks,
        [
            (ref_id, sha, decode_image(read_image(path)))
            for ref_id, kind, path, sha in prepared
            if kind == "logo"
        ],
        training,
        read_image,
        decode_image,
        old_brand.get("mark_detector"),
    )
    digest = hashlib.sha256(kit.model_dump_json().encode())
    for ref_id, _, _, sha in sorted(prepared):
        digest.update(f"{ref_id}={sha};".encode())
    digest.update(json.dumps(versions, sort_keys=True).encode())
    digest.update(f"mark_detector={detector['key'] if detector else None}".encode())
    version = digest.hexdigest()[:16]
    _stage_for_discovery(deps, kit, kit_dir, prepared)
    brand_doc = kit.model_dump() | {
        "discovery_recorded_at": _discovery_recorded_at(deps, brand_id, kit),
        "version": version,
        "kit_dir": str(Path(kit_dir).resolve()),
        "updated_at": deps.clock(),
        "mark_detector": detector,
    }
    deps.docs.set(paths.brand(brand_id), brand_doc)
    deps.cache.pop(("brand", brand_id), None)
    prepare_vector_indexes(deps, get_brand(deps, brand_id))
    reused = detector is not None and detector == old_brand.get("mark_detector")
    return RegisterResult(brand_id, version, added, updated, removed, unchanged, detector, reused)


def _stage_for_discovery(
    deps: Deps, kit: BrandKit, kit_dir: Path, prepared: list[tuple[str, str, Path, str]]
) -> None:
    """Stage the reference photos for Web Detection while the brand opts in; remove them when it does not."""
    from common.discovery.staging import stage_references

    photos = []
    if kit.discovery.web_detection.enabled:
        for _ref_id, kind, path, sha in prepared:
            if kind == "reference":
                photos.append((sha, read_kit_file(kit_dir, path, deps.settings.max_image_bytes)))
    stage_references(deps, kit.brand, kit.discovery, photos)


def _discovery_recorded_at(deps: Deps, brand_id: str, kit: BrandKit) -> Any:
    """When this registry first recorded the kit's current opt-in (kept while it is unchanged): the kit says
    who approved and on which day, this says when we began acting on it."""
    if not kit.discovery.enabled():
        return None
    old = deps.docs.get(paths.brand(brand_id)) or {}
    same = old.get("discovery") == kit.discovery.model_dump()
    return old.get("discovery_recorded_at") if same and old.get("discovery_recorded_at") else deps.clock()


def prepare_vector_indexes(deps: Deps, brand: Brand) -> None:
    """Build or update the brand's nearest-reference index for every model its references were embedded with
    (a no-op for small brands and on Firestore), so the first scan after ``brand add`` does not pay for it."""
    for model in sorted({str(r["embedding_model"]) for r in brand.references if r.get("embedding_model")}):
        deps.vectors.prepare(brand, model)


def get_brand(deps: Deps, brand_id: str) -> Brand:
    """The brand with its reference docs, cached per process until the kit's version changes."""
    if not re.match(BRAND_PATTERN, brand_id or ""):
        raise UnknownBrand(f"invalid brand id {brand_id[:80]!r}")
    doc = deps.docs.get(paths.brand(brand_id))
    if doc is None:
        raise UnknownBrand(f"unknown brand {brand_id!r}: register it with `counterfeit brand add KIT_DIR`")
    cached = deps.cache.get(("brand", brand_id))
    if cached is not None and cached.version == doc.get("version"):
        return cached
    refs = [ref for _, ref in deps.docs.list(paths.references(brand_id))]
    brand = Brand(
        brand_id=brand_id,
        display_name=doc["display_name"],
        trademarks=list(doc.get("trademarks") or []),
        colors=list(doc.get("colors") or []),
        authorized_sellers=list(doc.get("authorized_sellers") or []),
        barcodes=list(doc.get("barcodes") or []),
        reference_price=doc.get("reference_price"),
        currency=doc.get("currency"),
        category=doc.get("category"),
        spi=doc.get("spi"),
        version=str(doc.get("version")),
        kit_dir=doc.get("kit_dir"),
        references=refs,
        models=dict(doc.get("models") or {}),
        mark_detector=doc.get("mark_detector") or None,
    )
    deps.cache[("brand", brand_id)] = brand
    return brand
