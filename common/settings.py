"""Settings read once from the environment.

Why one place: handlers, the CLI and the local stack must agree on bucket names, backends and limits, and
nothing may read ``os.environ`` at import time (Cloud Functions cold starts, tests that change env).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Limits on untrusted images. 40 MB covers any real product photo; 50 MP is ~4x a flagship phone photo and keeps
# a decoded RGB copy under 150 MB, which a 512 MB function can hold.
DEFAULT_MAX_IMAGE_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


class SettingsError(ValueError):
    """An environment variable has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    backend: Literal["local", "gcp"] = "local"
    home: Path = Path(".counterfeit")
    project: str = "counterfeit-local"
    candidates_bucket: str = "counterfeit-candidates"
    evidence_bucket: str = "counterfeit-evidence"
    references_bucket: str = "counterfeit-references"
    work_bucket: str = "counterfeit-work"  # working copies; separate so writes never re-trigger ingest
    firestore_database: str = "(default)"
    model_endpoint: str | None = None  # None: run the ONNX model in-process
    models_dir: Path | None = None  # None: the model files shipped in the package (common/models)
    vision_backend: Literal["local", "cloud"] = "local"
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    webhook_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    review_tokens: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # token -> brands it may see
    fetch_allow_private: bool = False  # only the local emulator stack sets this, never production
    review_trust_iap: bool = False  # trust Identity-Aware Proxy headers on the review page (behind IAP only)
    review_iap_audience: str | None = None  # IAP JWT audience; when set, the signed assertion is verified
    # reviewer id (``token-<digest>`` or IAP e-mail) -> the person's name, recorded on enforcement cases
    review_names: Mapping[str, str] = field(default_factory=dict)
    # the review page's public address: callbacks link to an item there when no signed URL exists (local store)
    review_base_url: str | None = None
    # Discovery (docs/discovery.md): API endpoints (None: the public APIs; tests and proxies set them) and the
    # Brave Search key (Secret Manager in the cloud). Whether a brand's sweep may call them is its brand.json.
    discovery_vision_endpoint: str | None = None
    discovery_brave_endpoint: str | None = None
    brave_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        backend = env.get("COUNTERFEIT_BACKEND", "local")
        if backend not in ("local", "gcp"):
            raise SettingsError(f"COUNTERFEIT_BACKEND must be 'local' or 'gcp', not {backend!r}")
        vision = env.get("COUNTERFEIT_VISION_BACKEND", "local")
        if vision not in ("local", "cloud"):
            raise SettingsError(f"COUNTERFEIT_VISION_BACKEND must be 'local' or 'cloud', not {vision!r}")
        return cls(
            backend=backend,  # type: ignore[arg-type]
            home=Path(env.get("COUNTERFEIT_HOME", ".counterfeit")),
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or "counterfeit-local",
            candidates_bucket=env.get("CANDIDATES_BUCKET", "counterfeit-candidates"),
            evidence_bucket=env.get("EVIDENCE_BUCKET", "counterfeit-evidence"),
            references_bucket=env.get("REFERENCES_BUCKET", "counterfeit-references"),
            work_bucket=env.get("WORK_BUCKET", "counterfeit-work"),
            firestore_database=env.get("FIRESTORE_DATABASE", "(default)"),
            model_endpoint=env.get("MODEL_ENDPOINT_URL") or None,
            models_dir=Path(env["COUNTERFEIT_MODELS_DIR"]) if env.get("COUNTERFEIT_MODELS_DIR") else None,
            vision_backend=vision,  # type: ignore[arg-type]
            max_image_bytes=_positive_int(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES),
            max_image_pixels=_positive_int(env, "MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS),
            webhook_secrets=_secret_map(env, "WEBHOOK_SECRETS"),
            review_tokens=_secret_map(env, "REVIEW_TOKENS"),
            fetch_allow_private=env.get("COUNTERFEIT_FETCH_ALLOW_PRIVATE", "") == "1",
            review_trust_iap=env.get("REVIEW_TRUST_IAP", "") == "1",
            review_iap_audience=env.get("REVIEW_IAP_AUDIENCE") or None,
            review_names=_name_map(env, "REVIEW_NAMES"),
            review_base_url=env.get("REVIEW_BASE_URL") or None,
            discovery_vision_endpoint=env.get("DISCOVERY_VISION_ENDPOINT") or None,
            discovery_brave_endpoint=env.get("DISCOVERY_BRAVE_ENDPOINT") or None,
            brave_api_key=_optional_key(env.get("BRAVE_SEARCH_API_KEY")),
        )


def _optional_key(raw: str | None) -> str | None:
    """An API key, or None when unset, blank or ``-`` (the deployed secret's placeholder when the feature is
    not used: Cloud Functions cannot start without a secret version)."""
    value = (raw or "").strip()
    return None if value in ("", "-") else value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {value}")
    return value


_ABSENT = object()  # unset or empty: distinct from a JSON ``null``, which is malformed like any non-object


def _json_setting(env: Mapping[str, str], name: str, malformed: str) -> Any:
    """The variable's JSON value, or _ABSENT when unset or empty; ``malformed`` is the whole error message (it
    never quotes the value, which may be a secret)."""
    raw = env.get(name)
    if not raw:
        return _ABSENT
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(malformed) from exc


def _name_map(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``{"token-1a2b3c4d5e": "Jane Doe", "jo@acme.example": "Jo Bloggs"}`` (ids, never tokens)."""
    parsed = _json_setting(env, name, f"{name} must be a JSON object of names")
    if parsed is _ABSENT:
        return {}
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and 0 < len(v.strip()) <= 200 for k, v in parsed.items()
    ):
        raise SettingsError(f"{name} must map reviewer ids to names of 1-200 characters")
    return {k.lower() if "@" in k else k: v.strip() for k, v in parsed.items()}


def _secret_map(env: Mapping[str, str], name: str) -> dict[str, tuple[str, ...]]:
    """``{"key": ["secret-new", "secret-old"]}`` as JSON; two values at once make rotation possible."""
    parsed = _json_setting(env, name, f"{name} must be a JSON object of lists (value not shown)")
    if parsed is _ABSENT:
        return {}
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) and s for s in v)
        for k, v in parsed.items()
    ):
        raise SettingsError(f"{name} must map names to lists of non-empty strings (value not shown)")
    return {k: tuple(v) for k, v in parsed.items()}


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    return Settings.from_env(os.environ)
