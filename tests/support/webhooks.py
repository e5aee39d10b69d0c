"""Signed webhook requests as a marketplace would send them."""

from __future__ import annotations

import json
import time
from typing import Any

from common.signing import SIGNATURE_HEADER, sign_header
from common.webhook import MARKETPLACE_HEADER

MARKETPLACE = "test-market"
SECRETS = ("new-secret-2026", "old-secret-2025")  # two at once: rotation


def signed(body: dict[str, Any] | bytes, secret: str = SECRETS[0], marketplace: str = MARKETPLACE,
           timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        MARKETPLACE_HEADER: marketplace,
        SIGNATURE_HEADER: sign_header(secret, raw, ts),
    }
    return raw, headers


def secrets_env() -> str:
    return json.dumps({MARKETPLACE: list(SECRETS)})
