"""Cloud Function `dead_letter`: subscribed to every ``<topic>-dlq``; records why a message was given up on.

Pub/Sub forwards a message here after the source subscription's max delivery attempts, adding
``CloudPubSubDeadLetterSource*`` attributes. We store the reason on the scan (``status: dead_lettered``,
``dead_letter_reason``) and acknowledge: the DLQ is where poison ends, never a new retry loop.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re

import functions_framework
from cloudevents.http.event import CloudEvent

from common import chain, pipeline
from common.bootstrap import Deps, get_deps
from common.messages import BRAND_PATTERN, ID_PATTERN

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
for _name in ("functions", "common"):  # our own decisions at INFO; libraries stay at WARNING
    logging.getLogger(_name).setLevel(logging.INFO)
log = logging.getLogger("functions.dead_letter")


def dead_letter_reason(source: str, attributes: dict[str, str], last_error: str | None) -> str:
    """A readable reason from what Pub/Sub tells us (source subscription, attempts) and the last recorded error."""
    topic = source.rsplit("/topics/", 1)[-1] if "/topics/" in source else "unknown topic"
    subscription = attributes.get("CloudPubSubDeadLetterSourceSubscription") or attributes.get(
        "dead_letter_subscription", "unknown subscription"
    )
    attempts = attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", "max")
    reason = f"gave up after {attempts} delivery attempts on subscription {subscription} (dead-letter topic {topic})"
    detail = last_error or attributes.get("dead_letter_reason")
    return f"{reason}; last error: {detail}" if detail else reason


def _last_error(deps: Deps, attributes: dict[str, str]) -> str | None:
    """The failing step's last error, if the chain recorded one on the scan (``last_error``)."""
    brand_id, scan_id = attributes.get("brand_id", ""), attributes.get("scan_id", "")
    if not (re.match(BRAND_PATTERN, brand_id) and re.match(ID_PATTERN, scan_id)):
        return None
    scan = deps.docs.get(pipeline.scan_path(brand_id, scan_id)) or {}
    error = scan.get("last_error")
    return str(error)[:500] if error else None


@functions_framework.cloud_event
def dead_letter(event: CloudEvent) -> None:
    if event["type"] != MESSAGE_PUBLISHED:
        log.warning("dead_letter: dropping event %s of unexpected type %r", event["id"], event["type"])
        return
    message = (event.data or {}).get("message") or {} if isinstance(event.data, dict) else {}
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        data = b""
    deps = get_deps()
    last_error = _last_error(deps, attributes)
    reason = dead_letter_reason(str(event["source"]), attributes, last_error)
    chain.record_dead_letter(deps, data, attributes, reason)
