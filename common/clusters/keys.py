"""Exact cluster keys of a listing: the seller account and the storefront URL.

Why a seller key carries its marketplace: seller ids are assigned per marketplace (``s-1`` on one platform is
not ``s-1`` on another), so an id alone would merge strangers. The same person on two platforms is linked by
what they reuse instead: the image (``fingerprints``) or a storefront they name on both.

Why the store URL is normalised to host + path: the same shop is written with and without ``www.``, ``http``
or ``https``, a trailing slash, tracking parameters (``?ref=…``) or a fragment; none of those name a different
shop, while the path does (``/shop/alpha`` and ``/shop/beta`` are two shops on one marketplace host).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

_HOST_PREFIXES = ("www.", "m.")  # mobile and www mirrors of the same storefront
_STORE_MAX = 500


@dataclass(frozen=True)
class Key:
    kind: str  # "seller" | "store"
    value: str  # normalised, readable (shown on the cluster page)

    @property
    def doc_id(self) -> str:
        """Document id of the key: readable kind, digest of the value (values may hold '/' or be long)."""
        return f"{self.kind}~{hashlib.sha256(self.value.encode()).hexdigest()[:32]}"


def normalise_store_url(raw: str | None) -> str | None:
    """``"https://www.Shop.example/store/Alpha/?ref=x#top"`` -> ``"shop.example/store/Alpha"``; None when
    the text names no host (a bare word is not a storefront anyone can be linked by)."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        return None
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
    path = re.sub(r"/{2,}", "/", unquote(parts.path)).rstrip("/")
    for suffix in ("/index.html", "/index.htm", "/index.php"):
        path = path.removesuffix(suffix)
    return (host + path)[:_STORE_MAX]


def seller_value(listing: dict[str, Any]) -> str | None:
    seller = str(listing.get("seller_id") or "").strip()
    if not seller:
        return None
    return f"{listing.get('marketplace') or '-'}/{seller}"


def listing_keys(listing: dict[str, Any]) -> list[Key]:
    """The exact keys of a stored listing (``Listing`` fields as a dict)."""
    out = []
    seller = seller_value(listing)
    if seller:
        out.append(Key("seller", seller))
    store = normalise_store_url(listing.get("store_url"))
    if store:
        out.append(Key("store", store))
    return out
