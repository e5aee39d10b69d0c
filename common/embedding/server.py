"""Model server: any manifest-described ONNX image encoder behind ``POST /v1/embed`` and ``GET /healthz``.

Runs locally as a process (``python -m common.embedding.server --port 8090``, gunicorn with threads) and on
Cloud Run (model_server/Dockerfile). Request body, either:
  * JSON ``{"images": [{"b64": "<base64>"} | {"uri": "gs://bucket/name"} | "<base64>", ...]}``
  * multipart/form-data with one file part per image (order kept).
Answer: ``{"model", "version", "dim", "embeddings": [[...], ...]}`` (L2-normalised float lists).
Errors are JSON ``{"error": "...", "index": i?}``: 400 malformed request, 403 bucket not allowed, 413 too many
images or bytes, 422 an image that cannot be decoded or read (``index`` names it).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from common.embedding.batching import MicroBatcher
from common.embedding.encoder import BadImageData, OnnxEncoder, decode_rgb, to_tensor
from common.embedding.manifest import DEFAULT_MANIFEST, load_manifest

# 64 images per request: the channel sends ~15 crops per candidate; 64 leaves room for small batches of
# candidates while bounding one request's work (~0.5 s on 2 cores).
DEFAULT_MAX_IMAGES = 64
# 32 MiB per request (Cloud Run's HTTP/1 request limit is 32 MiB) and 10 MiB per image after base64 decoding.
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_images: int = DEFAULT_MAX_IMAGES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES


class RequestProblem(Exception):
    def __init__(self, status: int, message: str, index: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.index = index


BlobReader = Callable[[str, str], bytes]  # (bucket, name) -> bytes


def create_app(
    encoder: OnnxEncoder,
    read_blob: BlobReader | None = None,
    allowed_buckets: frozenset[str] = frozenset(),
    limits: Limits = Limits(),
    batcher: MicroBatcher | None = None,
) -> Flask:
    """The WSGI app. ``read_blob`` serves gs:// URIs from ``allowed_buckets`` only (never arbitrary buckets)."""
    app = Flask("embedding-server")
    app.config["MAX_CONTENT_LENGTH"] = limits.max_request_bytes
    batcher = batcher or MicroBatcher(encoder.run_tensor)
    app.extensions["embed_batcher"] = batcher

    @app.errorhandler(RequestProblem)
    def _problem(exc: RequestProblem) -> Any:
        body: dict[str, Any] = {"error": exc.message}
        if exc.index is not None:
            body["index"] = exc.index
        return jsonify(body), exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Any:
        return jsonify({"error": f"request larger than {limits.max_request_bytes} bytes"}), 413

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        return jsonify({"error": exc.description or exc.name}), exc.code

    @app.get("/healthz")
    def healthz() -> Any:
        m = encoder.manifest
        return jsonify(
            {"status": "ok", "model": m.name, "version": m.version, "dim": m.output_dim, "sha256": m.sha256}
        )

    @app.post("/v1/embed")
    def embed() -> Any:
        payloads = _read_payloads(limits, read_blob, allowed_buckets)
        images = [decode_or_422(data, i) for i, data in enumerate(payloads)]
        vectors = batcher.submit(to_tensor(images, encoder.manifest))
        m = encoder.manifest
        return jsonify(
            {
                "model": m.name,
                "version": m.version,
                "dim": int(vectors.shape[1]),
                "embeddings": _rows(vectors),
            }
        )

    return app


def _rows(vectors: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 7) for v in row] for row in vectors]


def decode_or_422(data: bytes, index: int) -> Any:
    try:
        return decode_rgb(data, index)
    except BadImageData as exc:
        raise RequestProblem(422, f"image {index}: {exc.why}", index) from exc


def _read_payloads(limits: Limits, read_blob: BlobReader | None, allowed: frozenset[str]) -> list[bytes]:
    if request.mimetype == "multipart/form-data":
        files = [f for key in request.files for f in request.files.getlist(key)]
        _check_count(len(files), limits)
        out = []
        for i, f in enumerate(files):
            data = f.read(limits.max_image_bytes + 1)
            _check_size(data, i, limits)
            out.append(data)
        return out
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("images"), list):
        raise RequestProblem(
            400, 'body must be JSON {"images": [...]} or multipart/form-data with image files'
        )
    items = body["images"]
    _check_count(len(items), limits)
    return [_item_bytes(item, i, limits, read_blob, allowed) for i, item in enumerate(items)]


def _check_count(count: int, limits: Limits) -> None:
    if count == 0:
        raise RequestProblem(400, "no images in the request")
    if count > limits.max_images:
        raise RequestProblem(413, f"{count} images in one request; the limit is {limits.max_images}")


def _check_size(data: bytes, index: int, limits: Limits) -> None:
    if len(data) > limits.max_image_bytes:
        raise RequestProblem(413, f"image {index} is larger than {limits.max_image_bytes} bytes", index)


def _item_bytes(
    item: Any, index: int, limits: Limits, read_blob: BlobReader | None, allowed: frozenset[str]
) -> bytes:
    if isinstance(item, str):
        item = {"b64": item}
    if not isinstance(item, dict):
        raise RequestProblem(400, f"image {index}: expected an object with 'b64' or 'uri'", index)
    if isinstance(item.get("b64"), str):
        raw = item["b64"]
        if len(raw) > limits.max_image_bytes * 4 // 3 + 4:
            raise RequestProblem(413, f"image {index} is larger than {limits.max_image_bytes} bytes", index)
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestProblem(400, f"image {index}: 'b64' is not valid base64", index) from exc
        _check_size(data, index, limits)
        return data
    if isinstance(item.get("uri"), str):
        return _read_uri(item["uri"], index, limits, read_blob, allowed)
    raise RequestProblem(
        400, f"image {index}: expected 'b64' (base64 string) or 'uri' (gs://bucket/name)", index
    )


def _read_uri(
    uri: str, index: int, limits: Limits, read_blob: BlobReader | None, allowed: frozenset[str]
) -> bytes:
    if not uri.startswith("gs://") or "/" not in uri[5:]:
        raise RequestProblem(400, f"image {index}: only gs://bucket/name URIs are accepted", index)
    bucket, name = uri[5:].split("/", 1)
    if read_blob is None or bucket not in allowed:
        raise RequestProblem(
            403, f"image {index}: bucket {bucket[:80]!r} is not readable by this server", index
        )
    try:
        data = read_blob(bucket, name)
    except Exception as exc:  # NotFound, permission, transport: the caller sees which image and why
        raise RequestProblem(
            422, f"image {index}: cannot read {uri[:300]} ({exc.__class__.__name__})", index
        ) from exc
    _check_size(data, index, limits)
    return data


def app_from_settings(manifest_path: str | None = None) -> Flask:
    """The app with settings from the environment: blob reads through build_deps(settings).blobs."""
    from common.bootstrap import build_deps
    from common.settings import get_settings

    settings = get_settings()
    manifest = load_manifest(manifest_path or os.environ.get("MODEL_MANIFEST") or DEFAULT_MANIFEST)
    encoder = OnnxEncoder(manifest)
    blobs = build_deps(settings).blobs
    buckets = frozenset({settings.candidates_bucket, settings.work_bucket, settings.references_bucket})
    limits = Limits(
        max_images=int(os.environ.get("EMBED_MAX_IMAGES", DEFAULT_MAX_IMAGES)),
        max_request_bytes=int(os.environ.get("EMBED_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES)),
        max_image_bytes=int(os.environ.get("EMBED_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES)),
    )
    return create_app(encoder, blobs.read, buckets, limits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an ONNX image encoder over HTTP (gunicorn, threads).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8090")))
    parser.add_argument("--manifest", default=None, help="model manifest JSON (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=8, help="request threads (inference is batched)")
    args = parser.parse_args(argv)

    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", 1)  # one model copy; concurrency comes from threads + dynamic batching
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", None)

        def load(self) -> Flask:
            return app_from_settings(args.manifest)

    _Server().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
