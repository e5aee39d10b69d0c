"""Local adapters: the embedded default (CLI, POC runs, fast tests) on the filesystem, SQLite and an in-process bus.

They keep the semantics the GCP adapters have (generations, create-if-absent, transactions, attributes,
at-least-once redelivery with a dead-letter topic) so code tested here behaves the same on the emulators.
"""

from __future__ import annotations

import builtins
import collections
import itertools
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from common.adapters import local_query
from common.errors import InvalidPath
from common.ports import (
    AlreadyExists,
    Cursor,
    Delivery,
    Filter,
    NotFound,
    Order,
    PreconditionFailed,
)
from common.topics import MAX_DELIVERY_ATTEMPTS, dead_letter_topic

log = logging.getLogger(__name__)
T = TypeVar("T")


def _safe_parts(*parts: str) -> PurePosixPath:
    """Refuse names that would escape the store root (``..``, absolute paths, NUL)."""
    joined = PurePosixPath(*parts)
    if joined.is_absolute() or any(p in ("..", "") for p in joined.parts) or "\x00" in str(joined):
        raise ValueError(f"unsafe object name: {str(joined)[:200]!r}")
    return joined


class FileBlobStore:
    """Buckets as directories; a sidecar JSON per object holds its generation, content type and metadata."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def _paths(self, bucket: str, name: str) -> tuple[Path, Path]:
        rel = _safe_parts(bucket, name)
        return self.root / "objects" / rel, self.root / "meta" / (str(rel) + ".json")

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        if_generation_match: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> int:
        path, meta = self._paths(bucket, name)
        with self._lock:
            current = self.generation(bucket, name)
            if if_generation_match is not None and (current or 0) != if_generation_match:
                raise PreconditionFailed(
                    f"gs://{bucket}/{name}: generation {current} != {if_generation_match}"
                )
            generation = max((current or 0) + 1, _now_generation()) + next(self._counter) % 1000
            path.parent.mkdir(parents=True, exist_ok=True)
            meta.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
            _atomic_write(
                meta,
                json.dumps(
                    {"generation": generation, "content_type": content_type, "metadata": metadata or {}}
                ).encode(),
            )
            return generation

    def read(self, bucket: str, name: str) -> bytes:
        path, _ = self._paths(bucket, name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"gs://{bucket}/{name}") from None

    def metadata(self, bucket: str, name: str) -> dict[str, Any]:
        _, meta = self._paths(bucket, name)
        try:
            return json.loads(meta.read_text())
        except FileNotFoundError:
            raise NotFound(f"gs://{bucket}/{name}") from None

    def generation(self, bucket: str, name: str) -> int | None:
        try:
            return int(self.metadata(bucket, name)["generation"])
        except NotFound:
            return None

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        base = self.root / "objects" / _safe_parts(bucket)
        # walk only the folder the prefix names (``acme/scan-1/`` -> ``acme/scan-1``), not the whole bucket:
        # an evidence bundle lists its own prefix on every build, and the bucket grows with every bundle
        folder = prefix.rpartition("/")[0]
        try:
            start = base / _safe_parts(folder) if folder else base
        except ValueError:  # no object name holds "..", an empty part or NUL: nothing can match
            return []
        if not start.is_dir():
            return []
        names = (p.relative_to(base).as_posix() for p in start.rglob("*") if p.is_file())
        return sorted(n for n in names if n.startswith(prefix))

    def delete(self, bucket: str, name: str) -> None:
        path, meta = self._paths(bucket, name)
        with self._lock:
            if not path.exists():
                raise NotFound(f"gs://{bucket}/{name}")
            path.unlink()
            meta.unlink(missing_ok=True)

    def local_path(self, bucket: str, name: str) -> str | None:
        path, _ = self._paths(bucket, name)
        return str(path) if path.exists() else None

    def signed_url(self, bucket: str, name: str, expires_s: int) -> str | None:
        return None  # nothing serves these files publicly: links go to the review page


def _now_generation() -> int:
    # GCS generations are microsecond timestamps; mimic that so they stay increasing across processes.
    return int(datetime.now().timestamp() * 1_000_000)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- documents


def _json_default(value: Any) -> Any:
    """What JSON cannot hold as it is: datetimes (tagged, restored by ``_loads``) and numpy values.

    Used as ``json.dumps(default=...)``: the encoder walks the document in C and calls this only for these,
    where a Python walk over every value cost a call per number of every stored vector."""
    if isinstance(value, datetime):
        return {"__datetime__": local_query.encode_datetime(value)}
    if hasattr(value, "tolist"):  # numpy arrays / scalars
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _datetime_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__datetime__" in obj:
        return datetime.fromisoformat(obj["__datetime__"])
    return obj


def _loads(text: str) -> Any:
    """A stored document back to values; json's object hook restores the datetimes (no walk over vectors)."""
    return json.loads(text, object_hook=_datetime_hook)


def _split(path: str) -> tuple[str, str]:
    parts = path.split("/")
    if len(parts) < 2 or len(parts) % 2 or any(not p for p in parts):
        raise InvalidPath(f"not a document path: {path[:200]!r}")
    return "/".join(parts[:-1]), parts[-1]


def _set_field(doc: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    cur = doc
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _deep_merge(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _SqliteTransaction:
    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self._writes: list[tuple[str, str, Any]] = []

    def get(self, path: str) -> dict[str, Any] | None:
        if self._writes:
            raise RuntimeError("transactions must do all reads before writes (as in Firestore)")
        return self._store._get_locked(path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._writes.append(("set_merge" if merge else "set", path, data))

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._writes.append(("create", path, data))

    def update(self, path: str, fields: dict[str, Any]) -> None:
        self._writes.append(("update", path, fields))

    def delete(self, path: str) -> None:
        self._writes.append(("delete", path, None))


class SqliteDocumentStore:
    """Firestore-shaped documents in one SQLite file (WAL; safe across threads and processes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._wal()
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS docs (path TEXT PRIMARY KEY, collection TEXT NOT NULL, data TEXT NOT NULL)"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS docs_collection ON docs(collection)")

    def _wal(self) -> None:
        """Switch the file to WAL. SQLite does not call its busy handler for this switch, so two processes
        opening a new file at once (``scan --workers 2``) can get "database is locked" despite the timeout:
        retried for up to the same 30 s."""
        for attempt in range(300):
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 299:
                    raise
                time.sleep(0.1)

    # -- primitive operations, caller holds the lock (and usually a SQLite transaction)
    def _get_locked(self, path: str) -> dict[str, Any] | None:
        _split(path)
        row = self._conn.execute("SELECT data FROM docs WHERE path = ?", (path,)).fetchone()
        return None if row is None else _loads(row[0])

    def _put_locked(self, path: str, data: dict[str, Any]) -> None:
        collection, _ = _split(path)
        payload = json.dumps(data, default=_json_default, allow_nan=False)
        self._conn.execute(
            "INSERT INTO docs(path, collection, data) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET data = excluded.data",
            (path, collection, payload),
        )

    def _apply_locked(self, op: str, path: str, data: Any) -> None:
        current = self._get_locked(path)
        if op == "set":
            self._put_locked(path, dict(data))
        elif op == "set_merge":
            self._put_locked(path, _deep_merge(current or {}, data))
        elif op == "create":
            if current is not None:
                raise AlreadyExists(path)
            self._put_locked(path, dict(data))
        elif op == "update":
            if current is None:
                raise NotFound(path)
            for key, value in data.items():
                _set_field(current, key, value)
            self._put_locked(path, current)
        elif op == "delete":
            self._conn.execute("DELETE FROM docs WHERE path = ?", (path,))
        else:
            raise ValueError(op)

    def _write(self, op: str, path: str, data: Any) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._apply_locked(op, path, data)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- DocumentStore
    def get(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            return self._get_locked(path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._write("set_merge" if merge else "set", path, data)

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._write("create", path, data)

    def update(self, path: str, fields: dict[str, Any]) -> None:
        self._write("update", path, fields)

    def delete(self, path: str) -> None:
        self._write("delete", path, None)

    def list(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, data FROM docs WHERE collection = ? ORDER BY path", (collection,)
            ).fetchall()
        return [(p, _loads(d)) for p, d in rows]

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Cursor | None = None,
    ) -> builtins.list[tuple[str, dict[str, Any]]]:
        sql, params = local_query.select_sql(collection, filters, order_by, limit, start_after)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [(p, _loads(d)) for p, d in rows]

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        where, params = local_query.where_sql(collection, filters)
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM docs WHERE {where}", params).fetchone()[0])

    def transaction(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                txn = _SqliteTransaction(self)
                result = fn(txn)
                for op, path, data in txn._writes:
                    self._apply_locked(op, path, data)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result


# ---------------------------------------------------------------- messaging

Handler = Callable[[Delivery], None]


class InProcessBus:
    """Pub/Sub in one process: FIFO, at-least-once, redelivery on exception, dead-lettering after
    MAX_DELIVERY_ATTEMPTS — the same failure semantics the chain relies on in the cloud."""

    def __init__(self, max_attempts: int = MAX_DELIVERY_ATTEMPTS) -> None:
        self.max_attempts = max_attempts
        self._subscriptions: dict[str, list[tuple[str, Handler]]] = collections.defaultdict(list)
        self._queue: collections.deque[tuple[str, str, Handler, Delivery]] = collections.deque()
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:12]
        self.published: list[tuple[str, bytes, dict[str, str]]] = []
        self.dead_letters: list[tuple[str, Delivery, str]] = []
        self._lock = threading.RLock()

    def subscribe(self, topic: str, name: str, handler: Handler) -> None:
        self._subscriptions[topic].append((name, handler))

    def publish(
        self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None
    ) -> str:
        with self._lock:
            # unique across processes: handler idempotency records outlive this bus in the SQLite store
            message_id = f"local-{self._run}-{next(self._ids)}"
            self.published.append((topic, data, dict(attributes)))
            for name, handler in self._subscriptions.get(topic, []):
                delivery = Delivery(topic, data, dict(attributes), message_id, 1, datetime.now())
                self._queue.append((topic, name, handler, delivery))
            return message_id

    def drain(self, max_deliveries: int = 1_000_000) -> int:
        """Deliver until the queue is empty; returns how many deliveries ran."""
        done = 0
        while done < max_deliveries:
            with self._lock:
                if not self._queue:
                    return done
                topic, name, handler, delivery = self._queue.popleft()
            done += 1
            try:
                handler(delivery)
            except Exception as exc:  # noqa: BLE001 — any failure means "nack", exactly as in Pub/Sub
                reason = f"{exc.__class__.__name__}: {exc}"[:500]
                if delivery.delivery_attempt >= self.max_attempts:
                    log.warning(
                        "dead-lettering %s on %s after %d attempts: %s",
                        delivery.message_id,
                        name,
                        delivery.delivery_attempt,
                        reason,
                    )
                    self.dead_letters.append((name, delivery, reason))
                    attrs = dict(delivery.attributes)
                    attrs.update({"dead_letter_subscription": name, "dead_letter_reason": reason})
                    self.publish(dead_letter_topic(topic), delivery.data, attrs)
                else:
                    retry = Delivery(
                        topic,
                        delivery.data,
                        delivery.attributes,
                        delivery.message_id,
                        delivery.delivery_attempt + 1,
                        delivery.publish_time,
                    )
                    with self._lock:
                        self._queue.append((topic, name, handler, retry))
        return done
