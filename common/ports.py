"""Ports: what the pipeline needs from storage, messaging and documents.

Each port has a local adapter (``common.adapters.local``: filesystem, SQLite, in-process bus) and a GCP adapter
(``common.adapters.gcp``: google-cloud-* clients, which also talk to the emulators through ``*_EMULATOR_HOST``).
The ports promise only what Firestore, GCS and Pub/Sub really do: conditional writes on generations, transactions
with reads before writes, message attributes, at-least-once delivery.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from common.brand_model import Brand

T = TypeVar("T")


class NotFound(KeyError):
    """The blob or document does not exist."""


class AlreadyExists(Exception):
    """``create`` found a document already there (the idempotency primitive)."""


class PreconditionFailed(Exception):
    """A conditional write lost: the blob's generation changed."""


class BlobStore(Protocol):
    """Objects in buckets. Generations increase on every write, as in GCS."""

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        if_generation_match: int | None = None,  # 0: only if absent
        metadata: dict[str, str] | None = None,
    ) -> int: ...

    def read(self, bucket: str, name: str) -> bytes: ...

    def generation(self, bucket: str, name: str) -> int | None: ...

    def list(self, bucket: str, prefix: str = "") -> list[str]: ...

    def delete(self, bucket: str, name: str) -> None: ...

    def local_path(self, bucket: str, name: str) -> str | None:
        """A filesystem path when the blob lives on local disk (CLI evidence), else None."""
        ...

    def signed_url(self, bucket: str, name: str, expires_s: int) -> str | None:
        """A time-limited URL anyone holding it may GET the object with (GCS V4 signed URL), or None where the
        store has none (the local store: callers link to the review page instead). Never an internal path."""
        ...


class Publisher(Protocol):
    def publish(
        self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None
    ) -> str: ...


Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "array_contains"]


@dataclass(frozen=True)
class Filter:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the ``order_by`` values of its last row and that row's document id.

    Both stores order ties by document id in the direction of the last ``Order`` (Firestore's implicit
    ``__name__`` ordering), so ``start_after=Cursor`` continues exactly after that row, however many rows share
    its values, and no row is skipped or repeated when others are written meanwhile."""

    values: tuple[Any, ...]
    doc_id: str


def field_value(doc: dict[str, Any], dotted: str) -> Any:
    """``doc["a"]["b"]`` for ``"a.b"``; None when a part is missing."""
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def cursor_after(path: str, doc: dict[str, Any], order_by: Sequence[Order]) -> Cursor:
    """The cursor that continues after the row ``(path, doc)`` of a query ordered by ``order_by``."""
    return Cursor(tuple(field_value(doc, o.field) for o in order_by), path.rsplit("/", 1)[-1])


class Transaction(Protocol):
    """Reads first, then writes (Firestore's rule); the whole function may be retried on contention."""

    def get(self, path: str) -> dict[str, Any] | None: ...

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None: ...

    def create(self, path: str, data: dict[str, Any]) -> None: ...

    def update(self, path: str, fields: dict[str, Any]) -> None: ...

    def delete(self, path: str) -> None: ...


class DocumentStore(Protocol):
    """Firestore-shaped documents addressed by slash paths (``brands/acme/verdicts/SCAN``).

    Values are JSON-like (str, int, float, bool, None, list, dict) plus ``datetime`` and vectors
    (``list[float]`` stored under a field the vector index knows). Tenant data always lives under
    ``brands/{brand_id}/...`` so a brand-scoped check covers every path.
    """

    def get(self, path: str) -> dict[str, Any] | None: ...

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None: ...

    def create(self, path: str, data: dict[str, Any]) -> None: ...

    def update(self, path: str, fields: dict[str, Any]) -> None: ...

    def delete(self, path: str) -> None: ...

    def list(self, collection: str) -> builtins.list[tuple[str, dict[str, Any]]]: ...

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Cursor | None = None,
    ) -> builtins.list[tuple[str, dict[str, Any]]]:
        """Rows matching every filter (a missing field matches nothing), ordered by ``order_by`` then by
        document id (direction of the last order; by path without ``order_by``), after ``start_after``
        (needs ``order_by``), at most ``limit``. Rows lacking an ``order_by`` field are left out."""
        ...

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        """How many documents ``query(collection, filters)`` would return (an aggregation: no rows read)."""
        ...

    def transaction(self, fn: Callable[[Transaction], T]) -> T: ...


@dataclass(frozen=True)
class Delivery:
    """One message as a subscriber sees it."""

    topic: str
    data: bytes
    attributes: dict[str, str]
    message_id: str
    delivery_attempt: int
    publish_time: Any = None


class ModelClient(Protocol):
    """Image encoder: in-process onnxruntime or the model endpoint over HTTP, same interface."""

    def embed(self, images: Sequence[bytes]) -> tuple[Any, dict[str, str]]:
        """(float32 array N x D, L2-normalised; {"model": name, "version": v})."""
        ...


@dataclass(frozen=True)
class Hit:
    ref_id: str
    cosine: float
    query: int  # row of the query matrix (the candidate crop) that scored best
    view: str  # which stored view of the reference matched ("whole", "centre", "tile2_0_1", ...)


class VectorIndex(Protocol):
    name: str

    def nearest(self, queries: Any, k: int) -> list[Hit]:
        """Best hit per reference over all query rows (a float32 N x D array) and views, highest cosine first,
        at most k."""
        ...


class VectorIndexes(Protocol):
    """The vector-index port: the nearest-reference index of one brand for one model. Adapters in
    ``common.embedding.local_indexes`` (exact numpy in memory; a FAISS HNSW graph for big brands, persisted as
    a blob) and ``common.embedding.index`` (Firestore ``find_nearest``), chosen in ``common.bootstrap``
    with the document store they search, so no channel asks which backend it runs on."""

    name: str

    def index_for(self, brand: Brand, model: str) -> VectorIndex: ...

    def prepare(self, brand: Brand, model: str) -> None:
        """Build, update and persist whatever ``index_for`` will need (run by ``brand add``), so the first scan
        does not pay for it."""
        ...


@dataclass(frozen=True)
class NearQuery:
    """One range question to a ``PrintIndex`` (``near``'s arguments after the brand)."""

    field: str
    vector: Sequence[float]
    min_cosine: float
    limit: int
    model: str | None = None


class PrintIndex(Protocol):
    """Nearest listing fingerprints of one brand (``common.clusters``): which stored listings lie within a
    cosine of a query vector in one vector field (``pdq_vector``: PDQ bits as a unit +-1 vector, so cosine is
    ``1 - 2 * hamming / 256``; ``embedding``: the image model's vector). The prints are documents under
    ``paths.cluster_prints`` written through the DocumentStore; adapters in ``common.clusters.print_index``
    (numpy over the documents locally; Firestore ``find_nearest`` on GCP), chosen in ``common.bootstrap``."""

    name: str

    def near(
        self,
        brand_id: str,
        field: str,
        vector: Sequence[float],
        min_cosine: float,
        limit: int,
        model: str | None = None,
    ) -> builtins.list[tuple[str, float]]:
        """(listing id, cosine) of stored prints with ``cosine >= min_cosine`` (same ``model`` for
        ``embedding``), closest first, at most ``limit``."""
        ...

    def near_many(
        self, brand_id: str, queries: Sequence[NearQuery]
    ) -> builtins.list[builtins.list[tuple[str, float]]]:
        """``near`` for each query, in order, as of one moment: the local index reads the new prints once
        (one read of the brand's print documents instead of one per query)."""
        ...


def iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
