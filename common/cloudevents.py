"""Decoding a ``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent (Eventarc, or a push subscription
through functions-framework) into the message it carries: one decoder for every Pub/Sub-triggered handler.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


@dataclass(frozen=True)
class PubSubMessage:
    data: bytes | None  # None: the payload was not valid base64 (each handler decides what that means)
    attributes: dict[str, str]
    message_id: str
    delivery_attempt: int | None


def decode_pubsub(event: Any) -> PubSubMessage:
    body = event.data if isinstance(event.data, dict) else {}
    message = body.get("message") or {}
    if not isinstance(message, dict):
        message = {}
    try:
        data: bytes | None = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        data = None
    attempt = body.get("deliveryAttempt")
    return PubSubMessage(
        data=data,
        attributes={str(k): str(v) for k, v in (message.get("attributes") or {}).items()},
        message_id=str(message.get("messageId") or message.get("message_id") or event["id"]),
        delivery_attempt=int(attempt) if attempt else None,
    )
