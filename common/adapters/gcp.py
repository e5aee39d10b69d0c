"""GCP adapters: google-cloud-storage, google-cloud-firestore and google-cloud-pubsub behind our ports.

The same code talks to real GCP and to the emulators: the libraries honour ``FIRESTORE_EMULATOR_HOST`` and
``PUBSUB_EMULATOR_HOST`` themselves; for ``STORAGE_EMULATOR_HOST`` the storage client needs anonymous
credentials (there is no metadata server to ask). Clients are built on first use, never at import time, so a
function's cold start does not open connections it may not need, and each adapter is safe to share between the
worker threads of one functions-framework process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc

from common.errors import InvalidPath
from common.ports import AlreadyExists, Cursor, Filter, NotFound, Order, PreconditionFailed
from common.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Rows = list[tuple[str, dict[str, Any]]]  # (full document path, data), as DocumentStore.list/query return

# Firestore arrays cannot hold arrays ("Cannot convert an array value in an array value"); an inner list is
# stored as a one-key map and turned back into a list on read, so callers keep plain JSON-like values.
NESTED_ARRAY_KEY = "nested_array_"  # (names like __x__ are reserved by Firestore)
# Fields stored as Firestore vectors so ``find_nearest`` can use them (docs/ARCHITECTURE.md: `embedding`;
# `pdq_vector`: a listing's PDQ bits as a +-1 vector, common/clusters/fingerprints.py).
VECTOR_FIELDS = frozenset({"embedding", "pdq_vector"})
# How long a publish may wait for the server's ack before the handler fails (and Pub/Sub redelivers).
PUBLISH_TIMEOUT_S = 30.0
# Firestore's client retries a contended transaction this many times (its own default is 5; fan-in at fuse
# has up to three writers per scan, so a little more headroom avoids spurious redeliveries).
TRANSACTION_ATTEMPTS = 10


class _Lazy:
    """Builds one client on first use, under a lock (functions-framework serves with threads)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


# ---------------------------------------------------------------- storage


class GcsBlobStore:
    """Objects in Cloud Storage buckets; generations and ``if_generation_match`` are GCS's own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = _Lazy(self._build)

    def _build(self) -> Any:
        from google.cloud import storage  # type: ignore[attr-defined]

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=self.settings.project, credentials=AnonymousCredentials())
        return storage.Client(project=self.settings.project)

    @property
    def client(self) -> Any:
        return self._client.get()

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        if_generation_match: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> int:
        blob = self.client.bucket(bucket).blob(name)
        if metadata:
            blob.metadata = dict(metadata)
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=if_generation_match)
        except gexc.PreconditionFailed as exc:
            raise PreconditionFailed(f"gs://{bucket}/{name}: generation != {if_generation_match}") from exc
        return int(blob.generation)

    def read(self, bucket: str, name: str) -> bytes:
        try:
            return bytes(self.client.bucket(bucket).blob(name).download_as_bytes())
        except gexc.NotFound:
            raise NotFound(f"gs://{bucket}/{name}") from None

    def metadata(self, bucket: str, name: str) -> dict[str, Any]:
        """Generation, content type and custom metadata (what ``FileBlobStore.metadata`` returns)."""
        blob = self.client.bucket(bucket).get_blob(name)
        if blob is None:
            raise NotFound(f"gs://{bucket}/{name}")
        return {
            "generation": int(blob.generation),
            "content_type": blob.content_type,
            "metadata": dict(blob.metadata or {}),
        }

    def generation(self, bucket: str, name: str) -> int | None:
        blob = self.client.bucket(bucket).get_blob(name)
        return None if blob is None else int(blob.generation)

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(b.name for b in self.client.list_blobs(bucket, prefix=prefix or None))

    def delete(self, bucket: str, name: str) -> None:
        try:
            self.client.bucket(bucket).blob(name).delete()
        except gexc.NotFound:
            raise NotFound(f"gs://{bucket}/{name}") from None

    def local_path(self, bucket: str, name: str) -> str | None:
        return None

    def signed_url(self, bucket: str, name: str, expires_s: int) -> str | None:
        """A V4 signed GET URL. A function's runtime credentials hold no private key, so the signature is made
        by IAM signBlob for the function's own service account (Terraform grants it Token Creator on itself);
        credentials with a key (a JSON key file) sign locally. None when nothing can sign (the emulator's
        anonymous client): the caller then links to the review page; a link must never cost the callback."""
        import datetime as _dt

        from google.auth.credentials import AnonymousCredentials

        try:
            blob = self.client.bucket(bucket).blob(name)
            credentials = getattr(self.client, "_credentials", None)
            if credentials is None or isinstance(credentials, AnonymousCredentials):
                return None
            kwargs: dict[str, Any] = {}
            if not hasattr(credentials, "sign_bytes"):
                from google.auth.transport.requests import Request

                credentials.refresh(Request())
                kwargs = {"service_account_email": credentials.service_account_email,
                          "access_token": credentials.token}  # fmt: skip
            expiration = _dt.timedelta(seconds=expires_s)
            return str(blob.generate_signed_url(version="v4", expiration=expiration, method="GET", **kwargs))
        except Exception:
            log.warning("could not sign a URL for gs://%s/%s", bucket, name, exc_info=True)
            return None

    def ensure_buckets(self, names: Sequence[str]) -> None:
        """Create missing buckets (the emulator stack; in GCP Terraform owns them)."""
        for name in names:
            with contextlib.suppress(gexc.Conflict):
                self.client.create_bucket(name)


# ---------------------------------------------------------------- documents


def _to_firestore(value: Any, key: str | None = None) -> Any:
    """JSON-like values -> Firestore values: vectors for VECTOR_FIELDS, numpy to Python, tuples to lists."""
    if key in VECTOR_FIELDS and isinstance(value, list | tuple) and value and not isinstance(value[0], dict):
        from google.cloud.firestore_v1.vector import Vector

        return Vector([float(v) for v in value])
    if hasattr(value, "tolist") and not isinstance(value, datetime):  # numpy arrays and scalars
        return _to_firestore(value.tolist(), key)
    if isinstance(value, dict):
        return {k: _to_firestore(v, k.rsplit(".", 1)[-1]) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wrap_nested(_to_firestore(v)) for v in value]
    return value


def _wrap_nested(value: Any) -> Any:
    return {NESTED_ARRAY_KEY: value} if isinstance(value, list) else value


def _from_firestore(value: Any) -> Any:
    """Firestore values -> what the local adapter returns: plain aware datetimes, vectors as list[float]."""
    from google.cloud.firestore_v1.vector import Vector

    if isinstance(value, Vector):
        return [float(v) for v in value]
    if isinstance(value, datetime):  # DatetimeWithNanoseconds -> datetime (equal, but plain)
        return datetime(
            value.year, value.month, value.day, value.hour, value.minute, value.second,
            value.microsecond, tzinfo=value.tzinfo or UTC,
        )  # fmt: skip
    if isinstance(value, dict):
        if len(value) == 1 and NESTED_ARRAY_KEY in value and isinstance(value[NESTED_ARRAY_KEY], list):
            return _from_firestore(value[NESTED_ARRAY_KEY])
        return {k: _from_firestore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_firestore(v) for v in value]
    return value


def _check_doc_path(path: str) -> None:
    parts = path.split("/")
    if len(parts) < 2 or len(parts) % 2 or any(not p for p in parts):
        raise InvalidPath(f"not a document path: {path[:200]!r}")


def _check_collection_path(path: str) -> None:
    parts = path.split("/")
    if len(parts) % 2 == 0 or any(not p for p in parts):
        raise InvalidPath(f"not a collection path: {path[:200]!r}")


_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "in"}


class _FirestoreTransaction:
    """Our Transaction port over a ``google.cloud.firestore.Transaction``: reads first, then writes."""

    def __init__(self, store: FirestoreDocumentStore, txn: Any) -> None:
        self._store = store
        self._txn = txn

    def get(self, path: str) -> dict[str, Any] | None:
        snap = self._store._doc(path).get(transaction=self._txn)
        return _from_firestore(snap.to_dict()) if snap.exists else None

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._txn.set(self._store._doc(path), _to_firestore(data), merge=merge)

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._txn.create(self._store._doc(path), _to_firestore(data))

    def update(self, path: str, fields: dict[str, Any]) -> None:
        self._txn.update(self._store._doc(path), _to_firestore(fields))

    def delete(self, path: str) -> None:
        self._txn.delete(self._store._doc(path))


class FirestoreDocumentStore:
    """Documents in Firestore (native mode) addressed by slash paths; ``list``/``query`` return full paths,
    as the SQLite store does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = _Lazy(self._build)

    def _build(self) -> Any:
        from google.cloud import firestore

        return firestore.Client(project=self.settings.project, database=self.settings.firestore_database)

    @property
    def client(self) -> Any:
        """The raw client, for Firestore-only features (vector ``find_nearest``)."""
        return self._client.get()

    def _doc(self, path: str) -> Any:
        _check_doc_path(path)
        return self.client.document(path)

    def get(self, path: str) -> dict[str, Any] | None:
        snap = self._doc(path).get()
        return _from_firestore(snap.to_dict()) if snap.exists else None

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._doc(path).set(_to_firestore(data), merge=merge)

    def create(self, path: str, data: dict[str, Any]) -> None:
        try:
            self._doc(path).create(_to_firestore(data))
        except gexc.Conflict as exc:  # AlreadyExists (409) is a Conflict
            raise AlreadyExists(path) from exc

    def update(self, path: str, fields: dict[str, Any]) -> None:
        try:
            self._doc(path).update(_to_firestore(fields))
        except gexc.NotFound as exc:
            raise NotFound(path) from exc

    def delete(self, path: str) -> None:
        self._doc(path).delete()

    def list(self, collection: str) -> Rows:
        return self.query(collection)

    def _where(self, collection: str, filters: Sequence[Filter]) -> Any:
        from google.cloud.firestore_v1.base_query import FieldFilter

        _check_collection_path(collection)
        query: Any = self.client.collection(collection)
        for flt in filters:
            op = "array_contains" if flt.op == "array_contains" else _OPS.get(flt.op)
            if op is None:
                raise ValueError(f"unsupported operator {flt.op!r}")
            value = list(flt.value) if flt.op == "in" else flt.value
            query = query.where(filter=FieldFilter(flt.field, op, value))
        return query

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Cursor | None = None,
    ) -> Rows:
        from google.cloud import firestore

        query = self._where(collection, filters)
        for order in order_by:
            direction = firestore.Query.DESCENDING if order.descending else firestore.Query.ASCENDING
            query = query.order_by(order.field, direction=direction)
        if order_by:  # ties by document id, stated so that a cursor can name the exact row
            last = firestore.Query.DESCENDING if order_by[-1].descending else firestore.Query.ASCENDING
            query = query.order_by("__name__", direction=last)
        if start_after is not None:
            if not order_by:
                raise ValueError("start_after needs order_by")
            query = query.start_after([*start_after.values, start_after.doc_id])
        if limit is not None:
            query = query.limit(limit)
        rows = [(snap.reference.path, _from_firestore(snap.to_dict())) for snap in query.stream()]
        return rows if order_by else sorted(rows, key=lambda r: r[0])

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        """A count aggregation: billed one read per 1,000 index entries, no documents transferred."""
        result = self._where(collection, filters).count(alias="n").get()
        return int(result[0][0].value)

    def transaction(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn`` in a Firestore transaction; the client retries it on contention, so ``fn`` must be
        free of side effects outside the transaction."""
        from google.cloud import firestore

        @firestore.transactional
        def run(txn: Any) -> T:
            return fn(_FirestoreTransaction(self, txn))

        try:
            return run(self.client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
        except gexc.Conflict as exc:  # a create() inside the transaction found the document
            raise AlreadyExists(str(exc)) from exc


# ---------------------------------------------------------------- messaging


class PubSubPublisher:
    """Publishes to ``projects/{project}/topics/{topic}`` and waits for the server's ack, so a handler that
    returns has really handed its output on (at-least-once: a crash before the ack means redelivery)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = _Lazy(self._build)

    def _build(self) -> Any:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        return pubsub_v1.PublisherClient(
            publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
        )

    @property
    def client(self) -> Any:
        return self._client.get()

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.settings.project}/topics/{topic}"

    def publish(
        self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None
    ) -> str:
        path = self.topic_path(topic)
        future = self.client.publish(path, data, ordering_key=ordering_key or "", **attributes)
        try:
            return str(future.result(timeout=PUBLISH_TIMEOUT_S))
        except Exception:
            if ordering_key:
                self.client.resume_publish(path, ordering_key)
            raise
