"""Tenant isolation: who may touch which brand's data, enforced at the storage ports.

Why at the ports and not in each handler: every tenant document lives under ``brands/{brand}`` and every tenant
blob's first path segment is the brand (``_listings/{brand}/...`` for inline webhook/CLI images), so one
wrapper around ``deps.docs`` / ``deps.blobs`` covers every read and write an entry point makes, including the
ones a future handler forgets to check. Entry points (CLI, webhook, review page, evaluate) build a
``Principal`` from their credential and work on ``scoped_deps(deps, principal)``; the chain's own steps run as
the internal service identity (``brands=None``), which is authorised by IAM, not by this module.

Errors are ``common.errors.Forbidden`` (a 403): the message names the subject and the brand, never a secret
(token principals are named by a digest, marketplaces by their public id).
"""

from __future__ import annotations

import builtins
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from common.errors import BadInput, Forbidden
from common.messages import BRAND_PATTERN, MARKETPLACE_PATTERN
from common.ports import BlobStore, Cursor, DocumentStore, Filter, Order, Transaction

if TYPE_CHECKING:
    from common.bootstrap import Deps

T = TypeVar("T")

BRANDS_ENV = "COUNTERFEIT_BRANDS"
BRANDS_COLLECTION = "brands"
LISTINGS_BLOB_PREFIX = (
    "_listings"  # ingest.ingest_listing stores inline images as _listings/{brand}/{scan_id}
)
MARKETPLACES_COLLECTION = "marketplaces"
_BRAND = re.compile(BRAND_PATTERN)
_SHOWN_ID_CHARS = 80  # ids in error messages are clipped: they come from the caller and may be hostile


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``brands=None``: every brand (the pipeline's service identity and the local
    operator of the embedded default); an empty set: no brand at all."""

    subject: str
    brands: frozenset[str] | None

    def allows(self, brand_id: str) -> bool:
        return self.brands is None or brand_id in self.brands


SERVICE = Principal("service:pipeline", None)


def _shown(value: str) -> str:
    return repr(value[:_SHOWN_ID_CHARS])


def require_brand(principal: Principal, brand_id: str) -> None:
    """Raise Forbidden (403) unless ``principal`` may read and write ``brand_id``."""
    if not principal.allows(brand_id):
        raise Forbidden(f"403 forbidden: {principal.subject} is not authorised for brand {_shown(brand_id)}")


# -- where the brand sits in a path --------------------------------------------------------------------------
def _unsafe(parts: Sequence[str]) -> bool:
    return any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts)


def doc_brand(path: str) -> str | None:
    """The brand a document or collection path belongs to (``brands/{b}`` and below), else None."""
    parts = path.split("/")
    if parts[0] != BRANDS_COLLECTION or len(parts) < 2:
        return None
    return parts[1]


def blob_brand(name: str) -> str | None:
    """The brand an object name (or a list prefix such as ``acme/``) belongs to: ``{b}/...`` or
    ``_listings/{b}/...``; None for names without a brand segment (``ac``, ``_listings/``)."""
    parts = name.split("/")
    if parts[0] == LISTINGS_BLOB_PREFIX:
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else None


def _check_path(principal: Principal, path: str, what: str) -> None:
    if _unsafe(path.split("/")):
        raise Forbidden(f"403 forbidden: unsafe {what} path {_shown(path)}")
    brand = doc_brand(path) if what == "document" else blob_brand(path)
    if brand is not None:
        require_brand(principal, brand)


def _blob_visible(principal: Principal, name: str) -> bool:
    brand = blob_brand(name)
    return brand is None or principal.allows(brand)


# -- scoped ports --------------------------------------------------------------------------------------------
class ScopedTransaction:
    def __init__(self, inner: Transaction, principal: Principal) -> None:
        self._inner = inner
        self._principal = principal

    def get(self, path: str) -> dict[str, Any] | None:
        _check_path(self._principal, path, "document")
        return self._inner.get(path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        _check_path(self._principal, path, "document")
        self._inner.set(path, data, merge=merge)

    def create(self, path: str, data: dict[str, Any]) -> None:
        _check_path(self._principal, path, "document")
        self._inner.create(path, data)

    def update(self, path: str, fields: dict[str, Any]) -> None:
        _check_path(self._principal, path, "document")
        self._inner.update(path, fields)

    def delete(self, path: str) -> None:
        _check_path(self._principal, path, "document")
        self._inner.delete(path)


class ScopedDocumentStore:
    """A DocumentStore that refuses other brands' documents; listing ``brands`` shows only allowed brands."""

    def __init__(self, inner: DocumentStore, principal: Principal) -> None:
        self._inner = inner
        self.principal = principal

    def get(self, path: str) -> dict[str, Any] | None:
        _check_path(self.principal, path, "document")
        return self._inner.get(path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        _check_path(self.principal, path, "document")
        self._inner.set(path, data, merge=merge)

    def create(self, path: str, data: dict[str, Any]) -> None:
        _check_path(self.principal, path, "document")
        self._inner.create(path, data)

    def update(self, path: str, fields: dict[str, Any]) -> None:
        _check_path(self.principal, path, "document")
        self._inner.update(path, fields)

    def delete(self, path: str) -> None:
        _check_path(self.principal, path, "document")
        self._inner.delete(path)

    def _visible(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        return [(p, d) for p, d in rows if self.principal.allows(p.rsplit("/", 1)[-1])]

    def list(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        _check_path(self.principal, collection, "document")
        rows = self._inner.list(collection)
        return self._visible(rows) if collection == BRANDS_COLLECTION else rows

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Cursor | None = None,
    ) -> builtins.list[tuple[str, dict[str, Any]]]:
        _check_path(self.principal, collection, "document")
        if collection != BRANDS_COLLECTION or self.principal.brands is None:
            return self._inner.query(collection, filters, order_by, limit, start_after)
        rows = self._visible(self._inner.query(collection, filters, order_by, None, start_after))
        return rows[:limit] if limit is not None else rows  # limit after filtering

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        _check_path(self.principal, collection, "document")
        if collection != BRANDS_COLLECTION or self.principal.brands is None:
            return self._inner.count(collection, filters)
        return len(self._visible(self._inner.query(collection, filters)))

    def transaction(self, fn: Callable[[Transaction], T]) -> T:
        return self._inner.transaction(lambda txn: fn(ScopedTransaction(txn, self.principal)))


class ScopedBlobStore:
    """A BlobStore that refuses other brands' objects (``{brand}/...``, ``_listings/{brand}/...``) in every
    bucket; ``list`` only returns objects the principal may see."""

    def __init__(self, inner: BlobStore, principal: Principal) -> None:
        self._inner = inner
        self.principal = principal

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        if_generation_match: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> int:
        _check_path(self.principal, name, "object")
        return self._inner.write(bucket, name, data, content_type, if_generation_match, metadata)

    def read(self, bucket: str, name: str) -> bytes:
        _check_path(self.principal, name, "object")
        return self._inner.read(bucket, name)

    def metadata(self, bucket: str, name: str) -> dict[str, Any]:
        _check_path(self.principal, name, "object")
        return self._inner.metadata(bucket, name)  # type: ignore[attr-defined,no-any-return]

    def generation(self, bucket: str, name: str) -> int | None:
        _check_path(self.principal, name, "object")
        return self._inner.generation(bucket, name)

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        brand = blob_brand(prefix)  # a prefix that names a whole brand: a clear 403
        if brand is not None:
            require_brand(self.principal, brand)
        return [n for n in self._inner.list(bucket, prefix) if _blob_visible(self.principal, n)]

    def delete(self, bucket: str, name: str) -> None:
        _check_path(self.principal, name, "object")
        self._inner.delete(bucket, name)

    def local_path(self, bucket: str, name: str) -> str | None:
        _check_path(self.principal, name, "object")
        return self._inner.local_path(bucket, name)

    def signed_url(self, bucket: str, name: str, expires_s: int) -> str | None:
        _check_path(self.principal, name, "object")
        return self._inner.signed_url(bucket, name, expires_s)


def scoped_deps(deps: Deps, principal: Principal) -> Deps:
    """A copy of ``deps`` whose ``docs`` and ``blobs`` enforce ``principal``. The service identity (all
    brands) gets ``deps`` back unchanged, so the chain keeps its native clients (e.g. Firestore vector search).
    The copy shares settings, publisher, cache and lazily built model/vision clients with the original."""
    if principal.brands is None:
        return deps
    return replace(
        deps,
        docs=ScopedDocumentStore(deps.docs, principal),
        blobs=ScopedBlobStore(deps.blobs, principal),
    )


# -- where principals come from ------------------------------------------------------------------------------
def _brand_set(values: Iterable[Any], source: str) -> frozenset[str]:
    brands = set()
    for value in values:
        brand = str(value).strip()
        if not _BRAND.fullmatch(brand):
            raise BadInput(f"{source}: {_shown(brand)} is not a valid brand id")
        brands.add(brand)
    return frozenset(brands)


def principal_from_env(env: Mapping[str, str] | None = None) -> Principal:
    """The CLI's caller. ``COUNTERFEIT_BRANDS`` unset: the local operator, every brand (the embedded default
    is single-tenant by nature: whoever runs it owns the files). Set: a comma list; set but empty: no brand."""
    env = os.environ if env is None else env
    raw = env.get(BRANDS_ENV)
    if raw is None:
        return Principal("local-operator", None)
    brands = _brand_set((b for b in raw.split(",") if b.strip()), BRANDS_ENV)
    return Principal(f"cli({BRANDS_ENV})", brands)


def scoped_for_cli_brand(deps: Deps, brand_id: str) -> Deps:
    """``deps`` as the CLI caller may use them for ``brand_id``: Forbidden (403) unless ``COUNTERFEIT_BRANDS``
    allows the brand (checked before any lookup, so an unknown and a forbidden brand answer the same)."""
    principal = principal_from_env()
    require_brand(principal, brand_id)
    return scoped_deps(deps, principal)


def principal_for_marketplace(deps: Deps, marketplace_id: str) -> Principal:
    """A webhook sender (already authenticated by its signature): the brands it is registered for, from the
    ``marketplaces/{id}`` document's ``brands`` field. Not registered: no brand (deny by default)."""
    subject = f"marketplace {_shown(marketplace_id)}"
    if not re.fullmatch(MARKETPLACE_PATTERN, marketplace_id or ""):  # one path segment, never "a/b" or ".."
        return Principal(subject, frozenset())
    doc = deps.docs.get(f"{MARKETPLACES_COLLECTION}/{marketplace_id}") or {}
    listed = doc.get("brands")
    if isinstance(listed, list | tuple):
        return Principal(subject, _brand_set(listed, f"{MARKETPLACES_COLLECTION}/{marketplace_id}.brands"))
    return Principal(subject, frozenset())


def token_subject(token: str) -> str:
    """A stable, non-reversible name for a token holder (same form as the review page's reviewer name)."""
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:10]


def principal_for_review_token(token: str, review_tokens: Mapping[str, Sequence[str]]) -> Principal | None:
    """The review page's caller from a bearer token (constant-time compare against every configured token),
    or None when the token is unknown (a 401, not a 403)."""
    import hmac

    found: Principal | None = None
    for known, brands in review_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = Principal(token_subject(token), frozenset(brands))
    return found


def principal_for_identity(email: str, review_tokens: Mapping[str, Sequence[str]]) -> Principal | None:
    """The review page's caller behind Identity-Aware Proxy (the e-mail IAP asserts, looked up in the same
    map as tokens, case-insensitively)."""
    email = email.removeprefix("accounts.google.com:").strip().lower()
    if "@" not in email:
        return None
    for key, brands in review_tokens.items():
        if key.lower() == email:
            return Principal(email, frozenset(brands))
    return None
