"""Typed message contracts for every hop of the chain, plus the listing and verdict records.

Why pydantic: the same models validate webhook bodies (field-level errors for marketplaces), Pub/Sub payloads
(a malformed message is dropped with a reason, never retried forever) and the CLI's JSON output.
Every message carries ``schema_version`` so a consumer can refuse what it does not understand.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION: Final = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"
BRAND_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# A marketplace id names the document ``marketplaces/{id}`` and its webhook secrets: one path segment, so no
# "/" (a "/" turned the id into a collection path and the evidence step into a retry loop, issue 11 #6).
MARKETPLACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_MARKETPLACE = re.compile(MARKETPLACE_PATTERN)


class MalformedMessage(ValueError):
    """A payload that can never be processed; handlers drop it (and record why) instead of retrying."""


def format_validation_error(exc: ValidationError) -> str:
    """``field.path: message; ...`` without echoing input values (they may be huge or hostile)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


# An inline data:image/...;base64 URI of ~11 MB of image; also what bounds a webhook body (common.webhook).
MAX_IMAGE_FIELD_CHARS = 15_000_000
# A listing is one flat JSON object; a little nesting is allowed for extra fields a marketplace sends and
# Listing ignores. Checked on the raw bytes before parsing (common.boundedjson): webhook bodies, listings lines.
LISTING_MAX_JSON_DEPTH = 4
LISTING_MAX_JSON_TOKENS = 10_000  # ~12 fields are ~50 tokens


class Listing(BaseModel):
    """A marketplace listing: webhook body, one line of a listings file, or a bare path from the CLI."""

    model_config = ConfigDict(extra="ignore", str_max_length=20_000)

    listing_id: str = Field(pattern=ID_PATTERN)
    image: str = Field(min_length=1, max_length=MAX_IMAGE_FIELD_CHARS)  # path, gs://, https://, data:image/…
    title: str | None = Field(default=None, max_length=2_000)
    description: str | None = Field(default=None, max_length=20_000)
    price: float | None = Field(default=None, ge=0, le=1e9)
    currency: str | None = Field(default=None, max_length=8)
    seller_id: str | None = Field(default=None, max_length=200)
    store_url: str | None = Field(default=None, max_length=4_000)  # the seller's storefront (notices name it)
    inventory: int | None = Field(default=None, ge=0, le=10**9)
    marketplace: str | None = Field(default=None, max_length=100)
    url: str | None = Field(default=None, max_length=4_000)
    spi: float | None = Field(default=None, gt=0, le=200)

    @field_validator("title", "description")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("marketplace", mode="before")
    @classmethod
    def _marketplace_id(cls, value: Any) -> Any:
        """The id as given (the webhook overwrites it with the authenticated sender; whoever else names one is
        recorded, never trusted: see ``common.callbacks``). Blank means none."""
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not _MARKETPLACE.fullmatch(value):
            raise ValueError(
                "must be a marketplace id: 1-100 letters, digits, '.', '_' or '-', starting with a letter or "
                "digit (no '/')"
            )
        return value

    def without_inline_image(self) -> Listing:
        """Copy safe to store in documents and messages (inline base64 images stay in the blob store)."""
        if self.image.startswith("data:"):
            return self.model_copy(update={"image": "data:(inline image, stored as the scan's source blob)"})
        return self


class MarketplaceProvenance(BaseModel):
    """Where a scan's ``listing.marketplace`` came from, recorded by ingest on the scan document.

    Kept apart from ``Listing`` on purpose: a listing is whatever its sender wrote (a listings line or upload
    metadata could claim ``"verified": true``), while this record is written only by our ingest code.
    ``verified`` is true only when the id is the sender of a webhook request whose signature we checked; only
    then may a block-listing callback go to that marketplace (issue 11 #2)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    marketplace: str | None = None
    verified: bool = False
    source: str = "not recorded"  # readable: "webhook signature", "upload metadata (not authenticated)", ...

    @classmethod
    def of_scan(cls, scan: dict[str, Any]) -> MarketplaceProvenance:
        """The scan's record; a scan written before provenance was recorded counts as unverified."""
        raw = scan.get("marketplace_provenance")
        try:
            return cls.model_validate(raw) if isinstance(raw, dict) else cls()
        except ValidationError:
            return cls(source="unreadable provenance record")


class BlobRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(min_length=1, max_length=222)
    name: str = Field(min_length=1, max_length=1024)
    generation: int | None = None

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    @classmethod
    def parse(cls, uri: str) -> BlobRef:
        if not uri.startswith("gs://") or "/" not in uri[5:]:
            raise ValueError(f"not a gs:// URI: {uri[:200]!r}")
        bucket, name = uri[5:].split("/", 1)
        return cls(bucket=bucket, name=name)


SignalStatus = Literal["fired", "clear", "not_run", "error"]


class Signal(BaseModel):
    """One piece of evidence. ``fired``: evidence of infringement; ``clear``: ran and found none;
    ``not_run``: channel absent or skipped (never counts either way); ``error``: ran and failed (same as not_run
    for scoring, but visible)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: SignalStatus
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    reference: str | None = None  # best-matching reference id (e.g. "references/front.jpg")
    reason: str | None = None  # one readable sentence
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def not_run(cls, name: str, why: str) -> Signal:
        return cls(name=name, status="not_run", reason=why)


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    x: int
    y: int
    w: int = Field(gt=0)
    h: int = Field(gt=0)


class ColorShare(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rgb: tuple[int, int, int]
    share: float = Field(ge=0.0, le=1.0)


class Message(BaseModel):
    """Base of every Pub/Sub payload: JSON body, routing facts duplicated into attributes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str] = "message"

    schema_version: Literal[1] = SCHEMA_VERSION
    scan_id: str = Field(pattern=ID_PATTERN)
    brand_id: str = Field(pattern=BRAND_PATTERN)

    def to_pubsub(self) -> tuple[bytes, dict[str, str]]:
        attributes = {
            "kind": self.KIND,
            "schema_version": str(self.schema_version),
            "scan_id": self.scan_id,
            "brand_id": self.brand_id,
        }
        return self.model_dump_json().encode(), attributes

    @classmethod
    def from_pubsub(cls, data: bytes, attributes: dict[str, str] | None = None) -> Self:
        attributes = attributes or {}
        kind = attributes.get("kind")
        if kind is not None and kind != cls.KIND:
            raise MalformedMessage(f"expected a {cls.KIND} message, got kind={kind[:50]!r}")
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: RecursionError
            raise MalformedMessage(f"{cls.KIND}: payload is not JSON ({exc.__class__.__name__})") from exc
        if isinstance(raw, dict) and raw.get("schema_version") not in (None, SCHEMA_VERSION):
            raise MalformedMessage(f"{cls.KIND}: unsupported schema_version {raw.get('schema_version')!r}")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise MalformedMessage(f"{cls.KIND}: {format_validation_error(exc)}") from exc

    @classmethod
    def from_base64(cls, data_b64: str, attributes: dict[str, str] | None = None) -> Self:
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (ValueError, TypeError) as exc:
            raise MalformedMessage(f"{cls.KIND}: message data is not base64") from exc
        return cls.from_pubsub(data, attributes)


class DiscoveryRequested(BaseModel):
    """``discovery-requested``: Cloud Scheduler's message to the ``discover`` function (infra/discovery.tf).

    Not a scan message (there is no scan yet): no ``scan_id``. ``brand_id`` None sweeps every brand that enabled
    discovery; ``max_candidates`` caps the new scans per brand and run. The scheduler sends ``{}`` (no
    attributes), so every field has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str] = "discovery.requested"

    schema_version: Literal[1] = SCHEMA_VERSION
    brand_id: str | None = Field(default=None, pattern=BRAND_PATTERN)
    max_candidates: int | None = Field(default=None, ge=1, le=10_000)

    def to_pubsub(self) -> tuple[bytes, dict[str, str]]:
        return self.model_dump_json(exclude_none=True).encode(), {"kind": self.KIND}

    @classmethod
    def from_pubsub(cls, data: bytes, attributes: dict[str, str] | None = None) -> DiscoveryRequested:
        kind = (attributes or {}).get("kind")
        if kind is not None and kind != cls.KIND:
            raise MalformedMessage(f"expected a {cls.KIND} message, got kind={kind[:50]!r}")
        try:
            raw = json.loads(data or b"{}")
            return cls.model_validate(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            detail = (
                format_validation_error(exc) if isinstance(exc, ValidationError) else exc.__class__.__name__
            )
            raise MalformedMessage(f"{cls.KIND}: {detail}") from exc


class ScanRequested(Message):
    """Ingest stored the candidate as received and asks for a scan."""

    KIND: ClassVar[str] = "scan.requested"
    listing: Listing
    source: BlobRef
    received_at: datetime


class Preprocessed(BaseModel):
    """What preprocess learned about the candidate; carried by every later message."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    working: BlobRef  # normalised RGB working copy (PNG), longest side <= WORKING_MAX_SIDE
    sha256: str  # of the bytes as received
    format: str
    width: int  # of the original, after EXIF orientation
    height: int
    dominant_colors: list[ColorShare] = Field(default_factory=list)
    product_box: Box | None = None  # in working-copy pixels
    warnings: list[str] = Field(default_factory=list)
    # The working copy's SIFT keypoints (common.vision.sift), computed once by preprocess when one pass serves logo
    # matching and copy verification (working copies <= 640 px); None: each channel runs its own, as before.
    keypoints: BlobRef | None = None


class ScanPreprocessed(Message):
    KIND: ClassVar[str] = "scan.preprocessed"
    listing: Listing
    source: BlobRef
    image: Preprocessed


class TextLook(BaseModel):
    """Fuse's request for logo_ocr's second look: read the image's text (``common.funnel``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # logo_ocr's SIFT hits (x, y, w, h), in the matcher's order: where the OCR zoom looks first, as in one pass
    logo_boxes: list[tuple[int, int, int, int]] = Field(default_factory=list, max_length=100)
    why: str = Field(max_length=2_000)  # why the text could still change the tier


class ChannelsRequested(Message):
    """Hash-match found no short-circuit: the expensive channels should run. Each subscriber runs only what
    ``channels`` names: hash_match asks for ``embed`` and ``logo_ocr``; fuse asks for ``ocr`` alone, logo_ocr's
    second look, when the image's text could still change the tier (``common.funnel``)."""

    KIND: ClassVar[str] = "channels.requested"
    listing: Listing
    source: BlobRef
    image: Preprocessed
    channels: list[str]
    text_look: TextLook | None = None  # with channels == ["ocr"]


class ChannelCompleted(Message):
    """One channel's signals for fan-in at fuse. ``expected`` lists every channel fuse must wait for;
    ``deferred``: signals the channel left to a second look fuse decides on (logo_ocr's "ocr_text")."""

    KIND: ClassVar[str] = "channel.completed"
    channel: str
    signals: dict[str, Signal]
    expected: list[str]
    deferred: list[str] = Field(default_factory=list)


class VerdictRecorded(Message):
    KIND: ClassVar[str] = "verdict.recorded"
    listing_id: str
    tier: int = Field(ge=1, le=4)
    score: float = Field(ge=0.0, le=1.0)


class Verdict(BaseModel):
    """The tiered verdict: stored once per scan, printed by ``counterfeit scan --json``.

    Extra fields are ignored when loading: the stored document also carries the reviewer's decision."""

    model_config = ConfigDict(extra="ignore")

    scan_id: str
    brand_id: str
    listing_id: str
    tier: int = Field(ge=1, le=4)
    score: float = Field(ge=0.0, le=1.0)
    signals: dict[str, Signal]
    exemptions: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    best_reference: str | None = None
    rule: str  # which fusion rule decided the tier ("hash_short_circuit", "weighted", ...)
    evidence: str | None = None  # bundle path or gs:// URI
    created_at: datetime

    def cli_record(self) -> dict[str, Any]:
        """The stable ``--json`` contract from DESIGN.md (extra keys are additive)."""
        return {
            "listing_id": self.listing_id,
            "tier": self.tier,
            "score": round(self.score, 4),
            "signals": {k: v.model_dump(mode="json") for k, v in self.signals.items()},
            "exemptions": list(self.exemptions),
            "reasons": list(self.reasons),
            "evidence": self.evidence,
            "scan_id": self.scan_id,
            "best_reference": self.best_reference,
            "rule": self.rule,
        }
