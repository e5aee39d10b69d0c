"""The one place that builds adapters from settings (cosmicpython's ``bootstrap``).

Clients are built lazily: importing a function module must not open a connection, and the CLI must not load
the ONNX model or the OCR engine unless a channel needs them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.ports import BlobStore, DocumentStore, ModelClient, PrintIndex, Publisher, VectorIndexes
from common.settings import Settings, get_settings

if TYPE_CHECKING:
    from common.vision.port import VisionBackend


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """Everything a handler may touch. ``cache`` holds per-process derived data (brand indexes, models)."""

    settings: Settings
    blobs: BlobStore
    docs: DocumentStore
    publisher: Publisher
    clock: Any = utcnow
    cache: dict[Any, Any] = field(default_factory=dict)
    _model: ModelClient | None = None
    _vision: VisionBackend | None = None
    _vectors: VectorIndexes | None = None  # None: the local index (adapters that have a better one set it)
    _prints: PrintIndex | None = None  # None: the local print index (common.clusters.print_index)

    @property
    def model(self) -> ModelClient:
        if self._model is None:
            from common.embedding.client import build_model_client

            self._model = build_model_client(self.settings)
        return self._model

    @property
    def vision(self) -> VisionBackend:
        """Candidate-only vision backend (local OpenCV/RapidOCR, or Cloud Vision when configured)."""
        if self._vision is None:
            self._vision = build_vision_backend(self.settings)
        return self._vision

    @property
    def vectors(self) -> VectorIndexes:
        """The vector-index port: nearest reference views of a brand (numpy or a FAISS graph locally, Firestore on
        GCP)."""
        if self._vectors is None:
            from common.embedding.local_indexes import LocalVectorIndexes

            self._vectors = LocalVectorIndexes(self.cache, self.blobs, self.settings.references_bucket)
        return self._vectors

    @property
    def prints(self) -> PrintIndex:
        """The print-index port: nearest listing fingerprints of a brand (clusters; numpy locally, Firestore
        ``find_nearest`` on GCP)."""
        if self._prints is None:
            from common.clusters.print_index import LocalPrintIndex

            self._prints = LocalPrintIndex(self.docs, self.cache)
        return self._prints


def build_vision_backend(settings: Settings) -> VisionBackend:
    """Local by default; Cloud Vision only when COUNTERFEIT_VISION_BACKEND=cloud."""
    if settings.vision_backend == "cloud":
        from common.vision.cloud import CloudVisionBackend

        return CloudVisionBackend()
    from common.vision.backends import LocalVisionBackend

    return LocalVisionBackend()


def build_deps(settings: Settings, publisher: Publisher | None = None) -> Deps:
    if settings.backend == "gcp":
        from common.adapters import gcp
        from common.clusters.print_index import FirestorePrintIndex
        from common.embedding.index import FirestoreVectorIndexes

        docs = gcp.FirestoreDocumentStore(settings)
        return Deps(
            settings=settings,
            blobs=gcp.GcsBlobStore(settings),
            docs=docs,
            publisher=publisher or gcp.PubSubPublisher(settings),
            _vectors=FirestoreVectorIndexes(lambda: docs.client),
            _prints=FirestorePrintIndex(lambda: docs.client),
        )
    from common.adapters import local

    bus = publisher or local.InProcessBus()
    return Deps(
        settings=settings,
        blobs=local.FileBlobStore(settings.home / "blobs"),
        docs=local.SqliteDocumentStore(settings.home / "documents.sqlite3"),
        publisher=bus,
    )


@functools.cache
def get_deps() -> Deps:
    """Process-wide dependencies for cloud function handlers (built on first event, not at import)."""
    return build_deps(get_settings())
