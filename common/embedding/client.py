"""ModelClient implementations: the ONNX encoder in-process, or the model endpoint over HTTP.

Why both behind one port: the embedded default must work offline with no server, and the cloud chain calls the
Cloud Run model server so function instances stay small. Both return L2-normalised float32 N x D arrays and
``{"model": name, "version": v}``; ``embed_pil`` lets the embed channel hand over already-decoded crops.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from common.embedding.encoder import OnnxEncoder, l2_normalise
from common.embedding.manifest import DEFAULT_MANIFEST, default_manifest_path, load_manifest
from common.errors import ModelUnavailable

# (connect, read) seconds. Connect fails fast when the service is down; read covers a Cloud Run cold start
# (~5-10 s to load onnxruntime and the model) plus a 64-image batch at ~10 ms/image.
DEFAULT_TIMEOUT = (3.05, 30.0)
# Crops are sent as JPEG no larger than twice the model input: the server resizes to the input anyway and
# quality 95 changes embeddings by < 0.01 cosine (tests/unit/test_embedding_client.py checks the agreement).
UPLOAD_JPEG_QUALITY = 95
UPLOAD_MAX_SIDE_FACTOR = 2
# ID tokens for Cloud Run live 1 h; refresh 5 min early.
_TOKEN_TTL_S = 55 * 60


__all__ = ["HttpModelClient", "InProcessModelClient", "ModelRequestError", "ModelUnavailable"]


class ModelRequestError(ValueError):
    """The endpoint refused the request (4xx); ``status`` and the server's message are kept."""

    def __init__(self, status: int, message: str, index: int | None = None):
        super().__init__(f"model endpoint answered {status}: {message}")
        self.status = status
        self.index = index


@functools.lru_cache(maxsize=4)
def cached_encoder(manifest_path: str) -> OnnxEncoder:
    """One ONNX session per process and manifest (loading verifies the checksum once)."""
    return OnnxEncoder(load_manifest(Path(manifest_path)))


# Single-image vectors kept per process (InProcessModelClient.embed_pil): the embed channel's whole-image crop and
# the cluster step's fingerprint are the same working-copy pixels embedded by the same model (~20 ms CPU on 2
# cores); a scan's steps run one after another, so the last few are all that is reused. 5 KB each.
SINGLE_KEPT = 8
_SINGLE: OrderedDict[tuple[str, str, tuple[int, int], bytes], tuple[np.ndarray, dict[str, str]]] = (
    OrderedDict()
)
_SINGLE_LOCK = threading.Lock()


class InProcessModelClient:
    def __init__(self, manifest_path: Path | str = DEFAULT_MANIFEST):
        self.manifest_path = str(manifest_path)

    @property
    def encoder(self) -> OnnxEncoder:
        try:
            return cached_encoder(self.manifest_path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(str(exc)) from exc

    def embed(self, images: Sequence[bytes]) -> tuple[np.ndarray, dict[str, str]]:
        return self.encoder.embed(images)

    def embed_pil(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, dict[str, str]]:
        """Batches go straight to the encoder; a single image's vector is kept, keyed by this model and the
        SHA-256 of its pixels (the same pixels give the same vector bit for bit, so a repeat is not computed
        again). Callers get their own copies."""
        if len(images) != 1:
            return self.encoder.embed_pil(images)
        image = images[0]
        key = (self.manifest_path, image.mode, image.size, hashlib.sha256(image.tobytes()).digest())
        with _SINGLE_LOCK:
            kept = _SINGLE.get(key)
            if kept is not None:
                _SINGLE.move_to_end(key)
        if kept is None:
            kept = self.encoder.embed_pil(images)
            with _SINGLE_LOCK:
                _SINGLE[key] = kept
                while len(_SINGLE) > SINGLE_KEPT:
                    _SINGLE.popitem(last=False)
        return kept[0].copy(), dict(kept[1])


class HttpModelClient:
    """``POST {endpoint}/v1/embed`` with base64 images (or gs:// URIs); timeouts and readable errors."""

    def __init__(
        self,
        endpoint: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        id_token_audience: str | None = None,
        session: Any = None,
    ):
        import requests

        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.audience = id_token_audience
        self._session = session or requests.Session()
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()

    def _headers(self) -> dict[str, str]:
        if not self.audience:
            return {}
        with self._token_lock:
            if self._token is None or self._token[1] < time.monotonic():
                import google.auth.transport.requests
                from google.oauth2 import id_token

                token = id_token.fetch_id_token(google.auth.transport.requests.Request(), self.audience)
                self._token = (token, time.monotonic() + _TOKEN_TTL_S)
            return {"Authorization": f"Bearer {self._token[0]}"}

    def _post(self, items: list[dict[str, str]]) -> tuple[np.ndarray, dict[str, str]]:
        import requests

        url = f"{self.endpoint}/v1/embed"
        try:
            resp = self._session.post(
                url, json={"images": items}, timeout=self.timeout, headers=self._headers()
            )
        except requests.Timeout as exc:
            raise ModelUnavailable(f"model endpoint {url} timed out after {self.timeout[1]:.0f}s") from exc
        except requests.RequestException as exc:
            raise ModelUnavailable(f"model endpoint {url} unreachable: {exc.__class__.__name__}") from exc
        try:
            body = resp.json()
        except ValueError:
            body = {"error": resp.text[:200]}
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ModelUnavailable(
                f"model endpoint {url} answered {resp.status_code}: {body.get('error', '')}"
            )
        if resp.status_code != 200:
            raise ModelRequestError(resp.status_code, str(body.get("error", "")), body.get("index"))
        try:
            vectors = np.asarray(body["embeddings"], np.float32).reshape(len(items), -1)
            info = {"model": str(body["model"]), "version": str(body["version"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelUnavailable(f"model endpoint {url} sent a malformed answer ({exc!r})") from exc
        return l2_normalise(vectors), info

    def embed(self, images: Sequence[bytes]) -> tuple[np.ndarray, dict[str, str]]:
        return self._post([{"b64": base64.b64encode(data).decode()} for data in images])

    def embed_uris(self, uris: Sequence[str]) -> tuple[np.ndarray, dict[str, str]]:
        """Images the server reads itself from buckets (``gs://bucket/name``): no upload from the caller."""
        return self._post([{"uri": uri} for uri in uris])

    def embed_pil(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, dict[str, str]]:
        return self.embed([encode_for_upload(img) for img in images])

    def health(self) -> dict[str, Any]:
        import requests

        try:
            resp = self._session.get(
                f"{self.endpoint}/healthz", timeout=self.timeout, headers=self._headers()
            )
            resp.raise_for_status()
            return dict(resp.json())
        except (requests.RequestException, ValueError) as exc:
            raise ModelUnavailable(f"model endpoint {self.endpoint} health check failed: {exc}") from exc


def encode_for_upload(img: Image.Image, max_side: int = 224 * UPLOAD_MAX_SIDE_FACTOR) -> bytes:
    small = img.convert("RGB")
    if max(small.size) > max_side:
        small = small.copy()
        small.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=UPLOAD_JPEG_QUALITY)
    return buf.getvalue()


def build_model_client(settings: Any, manifest_path: Path | str | None = None) -> Any:
    """In-process encoder unless ``settings.model_endpoint`` names a model server. The in-process model is the
    one shipped in the package unless ``COUNTERFEIT_MODELS_DIR`` (settings.models_dir) points elsewhere.

    On the gcp backend an https endpoint is called with a Google ID token (Cloud Run's invoker check).
    """
    endpoint = getattr(settings, "model_endpoint", None)
    if not endpoint:
        return InProcessModelClient(manifest_path or default_manifest_path(settings))
    audience = (
        endpoint
        if getattr(settings, "backend", "local") == "gcp" and endpoint.startswith("https://")
        else None
    )
    return HttpModelClient(endpoint, id_token_audience=audience)
