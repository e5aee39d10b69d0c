"""Functions driven in-process through functions-framework's test client, on the local adapters.

``COUNTERFEIT_BACKEND=local`` + a tmp ``COUNTERFEIT_HOME``: the handler code is the deployed code; only the
adapters underneath are the embedded ones (SQLite documents, file blobs, in-process bus whose ``published``
list shows what a handler sent on).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import functions_framework
import pytest

from common.bootstrap import Deps, get_deps
from common.settings import get_settings
from tests.support.webhooks import secrets_env

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "function" / "data"
SIGNATURES = {"ingest_webhook": "http", "verdict_api": "http"}


def reset_caches() -> None:
    get_settings.cache_clear()
    get_deps.cache_clear()


@pytest.fixture
def local_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local adapters under a fresh home; the webhook test marketplace's secrets configured."""
    for var in (
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "MODEL_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WEBHOOK_SECRETS", secrets_env())
    monkeypatch.delenv("COUNTERFEIT_FETCH_ALLOW_PRIVATE", raising=False)
    reset_caches()
    yield tmp_path / "home"
    reset_caches()


def deps() -> Deps:
    return get_deps()


def client(name: str) -> Any:
    app = functions_framework.create_app(
        name, str(ROOT / "functions" / name / "main.py"), SIGNATURES.get(name, "cloudevent")
    )
    return app.test_client()


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def published(topic: str | None = None) -> list[tuple[str, bytes, dict[str, str]]]:
    bus = get_deps().publisher
    return [p for p in bus.published if topic is None or p[0] == topic]  # type: ignore[attr-defined]


def push_body(data: bytes, attributes: dict[str, str], message_id: str, subscription: str) -> dict[str, Any]:
    """A Pub/Sub push request body, as Pub/Sub (and the emulator) POSTs it."""
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": "2026-11-22T08:00:00.000Z",
            "publish_time": "2026-11-22T08:00:00.000Z",
        },
        "subscription": subscription,
        "deliveryAttempt": 1,
    }
