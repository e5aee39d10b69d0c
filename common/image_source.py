"""Reading a listing's image from where the listing says it is: one resolver for the webhook and the CLI.

Remote forms (every entry point): ``data:image/<type>;base64,...`` inline, or an ``http(s)://`` URL fetched under
the SSRF rules of ``common.fetch``. Local forms (the CLI only, ``local=True``): ``gs://bucket/name`` through the
blob store and a path on disk. The byte limit is checked before anything is decoded or read whole.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from common.errors import BadInput, FetchRefused
from common.ports import BlobStore, NotFound

# Image download budget: a CDN answers in well under a second; 10 s tolerates a slow origin.
FETCH_TIMEOUT_S = 10.0
DATA_URI = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,", re.ASCII)


def read_image(
    image: str,
    *,
    max_bytes: int,
    allow_private: bool,
    blobs: BlobStore | None = None,
    base_dir: Path | None = None,
) -> bytes:
    """The image bytes as received. ``blobs`` given: ``gs://`` and local paths are accepted too (the CLI)."""
    if image.startswith("data:"):
        return _inline(image, max_bytes)
    if image.lower().startswith(("http://", "https://")):
        from common.fetch import fetch_image

        return fetch_image(image, max_bytes=max_bytes, timeout_s=FETCH_TIMEOUT_S, allow_private=allow_private)
    if blobs is None:
        raise FetchRefused("image: must be an http(s) URL or a data:image/...;base64 URI")
    if image.startswith("gs://"):
        from common.messages import BlobRef

        ref = BlobRef.parse(image)
        try:
            return blobs.read(ref.bucket, ref.name)
        except NotFound as exc:
            raise BadInput(f"{image}: no such object") from exc
    if "://" in image:
        raise BadInput(f"unsupported image location scheme: {image.split('://', 1)[0][:20]!r}")
    return _local_file(image, max_bytes, base_dir)


def _inline(image: str, max_bytes: int) -> bytes:
    match = DATA_URI.match(image)
    if not match:
        raise FetchRefused("image: data URIs must be data:image/<type>;base64,<data>")
    encoded = image[match.end() :]
    if len(encoded) > max_bytes * 4 // 3 + 4:
        raise FetchRefused(f"image: inline image larger than {max_bytes} bytes")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FetchRefused("image: inline data is not valid base64") from exc


def _local_file(image: str, max_bytes: int, base_dir: Path | None) -> bytes:
    path = Path(image)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput(f"{image}: {size} bytes is over the {max_bytes}-byte limit")
        if not path.is_file():
            raise BadInput(f"{image}: not a regular file")
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{image}: cannot read ({exc.strerror or exc.__class__.__name__})") from exc
