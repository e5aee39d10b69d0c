"""Brand kits: validation, registration (``counterfeit brand add``) and loading for the channels.

Reference images are read, decoded and turned into features here, by our own code only: the images never
leave this process (seed 004: "used only to extract mathematical features"). Re-adding a kit is idempotent:
files whose bytes and extractor versions are unchanged are skipped, removed files lose their reference docs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from common.bootstrap import Deps
from common.errors import BadImage, BadInput, UnknownBrand
from common.messages import BRAND_PATTERN

REFERENCE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
LOGO_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_KIT_FILES = 500  # per folder; a kit is a curated set, not a photo dump
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


@dataclass(frozen=True)
class ReferenceImage:
    """One decoded kit image handed to the reference extractors."""

    ref_id: str  # "reference:front.jpg" or "logo:mark.png"
    kind: str  # "reference" | "logo"
    filename: str
    path: Path
    sha256: str
    image: Image.Image


class ReferenceExtractor(Protocol):
    name: str
    version: str

    def extract(self, deps: Deps, brand_id: str, ref: ReferenceImage) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Brand:
    """A registered brand as the channels see it: kit fields plus its reference docs."""

    brand_id: str
    display_name: str
    trademarks: list[str]
    colors: list[str]
    authorized_sellers: list[str]
    barcodes: list[str]
    reference_price: float | None
    currency: str | None
    category: str | None
    spi: float | None
    version: str
    kit_dir: str | None = None
    references: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RegisterResult:
    brand_id: str
    version: str
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: list[str]


def extractors() -> list[ReferenceExtractor]:
    """Every feature extractor that runs at ``brand add`` (hashes, embeddings, logo features)."""
    from common.copyverify import CopyExtractor
    from common.embedding.extractor import EmbedExtractor
    from common.hashing import HashExtractor
    from common.vision.logo_extractor import LogoExtractor

    return [HashExtractor(), CopyExtractor(), EmbedExtractor(), LogoExtractor()]


def load_kit(kit_dir: Path) -> tuple[BrandKit, list[tuple[str, Path]]]:
    """Validate a kit directory; raises BadInput listing every problem found (not just the first)."""
    kit_dir = Path(kit_dir)
    problems: list[str] = []
    if not kit_dir.is_dir():
        raise BadInput(f"{kit_dir}: not a directory")
    brand_file = kit_dir / "brand.json"
    kit: BrandKit | None = None
    try:
        raw = json.loads(brand_file.read_text(encoding="utf-8"))
        kit = BrandKit.model_validate(raw)
    except FileNotFoundError:
        problems.append(f"{brand_file}: missing")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{brand_file}: not valid UTF-8 JSON ({exc.__class__.__name__}: {exc})")
    except ValidationError as exc:
        problems.extend(f"{brand_file}: {part}" for part in kit_problems(exc))

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
        entries = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
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


def kit_problems(exc: ValidationError) -> list[str]:
    """Each problem of ``brand.json`` in words; a misspelt field names the closest known ones ("did you mean"),
    so a kit that says ``trademark`` or ``colours`` is fixed in one go instead of by reading the docs."""
    known = list(BrandKit.model_fields)
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            name = str(err["loc"][0])
            close = difflib.get_close_matches(name.lower(), known, n=2, cutoff=0.6)
            hint = (
                f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"known fields: {', '.join(known)}"
            )
            problems.append(f"{name[:80]!r}: unknown field; {hint}")
        else:
            problems.append(f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}")
    return problems


def register_brand(deps: Deps, kit_dir: Path) -> RegisterResult:
    """``counterfeit brand add``: validate, extract features locally, store; idempotent."""
    from common.imaging import decode

    kit, files = load_kit(kit_dir)
    brand_id = kit.brand
    extractor_list = extractors()
    versions = {e.name: e.version for e in extractor_list}
    ref_collection = f"brands/{brand_id}/references"
    existing = {path.rsplit("/", 1)[1]: doc for path, doc in deps.docs.list(ref_collection)}

    prepared: list[tuple[str, str, Path, bytes, str]] = []
    problems: list[str] = []
    for kind, path in files:
        data = path.read_bytes()
        prepared.append((f"{kind}:{path.name}", kind, path, data, hashlib.sha256(data).hexdigest()))
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    decoded: list[ReferenceImage] = []
    for ref_id, kind, path, data, sha in prepared:
        old = existing.get(ref_id)
        if old and old.get("sha256") == sha and old.get("extractors") == versions:
            unchanged.append(ref_id)
            continue
        try:
            img = decode(
                data, max_bytes=deps.settings.max_image_bytes, max_pixels=deps.settings.max_image_pixels
            )
        except BadImage as exc:
            problems.append(f"{path}: {exc}")
            continue
        decoded.append(ReferenceImage(ref_id, kind, path.name, path, sha, img.image))
        (updated if old else added).append(ref_id)
    if problems:
        raise BadInput("invalid brand kit:\n  " + "\n  ".join(problems))

    for ref in decoded:
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
            "width": ref.image.width,
            "height": ref.image.height,
            "extractors": versions,
        }
        for extractor in extractor_list:
            if done.get(extractor.name) != extractor.version:
                doc.update(extractor.extract(deps, brand_id, ref))
        deps.docs.set(f"{ref_collection}/{ref.ref_id}", doc)

    current_ids = {ref_id for ref_id, *_ in prepared}
    removed = sorted(set(existing) - current_ids)
    for ref_id in removed:
        deps.docs.delete(f"{ref_collection}/{ref_id}")

    digest = hashlib.sha256(kit.model_dump_json().encode())
    for ref_id, _, _, _, sha in sorted(prepared):
        digest.update(f"{ref_id}={sha};".encode())
    digest.update(json.dumps(versions, sort_keys=True).encode())
    version = digest.hexdigest()[:16]
    brand_doc = kit.model_dump() | {
        "version": version,
        "kit_dir": str(Path(kit_dir).resolve()),
        "updated_at": deps.clock(),
    }
    deps.docs.set(f"brands/{brand_id}", brand_doc)
    deps.cache.pop(("brand", brand_id), None)
    return RegisterResult(brand_id, version, added, updated, removed, unchanged)


def get_brand(deps: Deps, brand_id: str) -> Brand:
    """The brand with its reference docs, cached per process until the kit's version changes."""
    if not re.match(BRAND_PATTERN, brand_id or ""):
        raise UnknownBrand(f"invalid brand id {brand_id[:80]!r}")
    doc = deps.docs.get(f"brands/{brand_id}")
    if doc is None:
        raise UnknownBrand(f"unknown brand {brand_id!r}: register it with `counterfeit brand add KIT_DIR`")
    cached = deps.cache.get(("brand", brand_id))
    if cached is not None and cached.version == doc.get("version"):
        return cached
    refs = [ref for _, ref in deps.docs.list(f"brands/{brand_id}/references")]
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
    )
    deps.cache[("brand", brand_id)] = brand
    return brand
