"""Names every hop of the chain shares with Terraform (infra tests check that both sides agree).

Events are named in the past tense: each topic announces something that happened.
"""

from __future__ import annotations

SCAN_REQUESTED = "scan-requested"  # ingest_gcs / ingest_webhook -> preprocess
SCAN_PREPROCESSED = "scan-preprocessed"  # preprocess -> hash_match
CHANNELS_REQUESTED = "channels-requested"  # hash_match -> embed, logo_ocr (fan-out: one subscription each)
CHANNEL_COMPLETED = "channel-completed"  # hash_match, embed, logo_ocr -> fuse (fan-in)
VERDICT_RECORDED = "verdict-recorded"  # fuse -> evidence (bundle, block-listing callback), cluster
# Cloud Scheduler -> discover (a sweep; its scans go on scan-requested)
DISCOVERY_REQUESTED = "discovery-requested"

TOPICS = (
    SCAN_REQUESTED,
    SCAN_PREPROCESSED,
    CHANNELS_REQUESTED,
    CHANNEL_COMPLETED,
    VERDICT_RECORDED,
    DISCOVERY_REQUESTED,
)
# Topics no function publishes to: Cloud Scheduler does (infra/discovery.tf).
SCHEDULED_TOPICS = (DISCOVERY_REQUESTED,)
# Functions triggered by a topic that are not steps of the scan chain (common/chain.py STEPS).
SCHEDULED_FUNCTIONS: dict[str, str] = {"discover": DISCOVERY_REQUESTED}


def dead_letter_topic(topic: str) -> str:
    """Every subscription dead-letters into the DLQ of the topic it reads."""
    return f"{topic}-dlq"


# function name -> topic it is triggered by (None: HTTP or storage trigger)
SUBSCRIPTIONS: dict[str, str] = {
    "preprocess": SCAN_REQUESTED,
    "hash_match": SCAN_PREPROCESSED,
    "embed": CHANNELS_REQUESTED,
    "logo_ocr": CHANNELS_REQUESTED,
    "fuse": CHANNEL_COMPLETED,
    "evidence": VERDICT_RECORDED,
    "cluster": VERDICT_RECORDED,  # joins the listing to the clusters it shares an image, seller or store with
}

# Channels that run after hash-match (fan-out); fuse waits for exactly these plus "hash".
EXPENSIVE_CHANNELS = ("embed", "logo_ocr")
# logo_ocr's second look, the image's text: fuse requests it on CHANNELS_REQUESTED (channels == [TEXT_LOOK]) only
# when the text could still change the tier (common.funnel), and then waits for it too.
TEXT_LOOK = "ocr"
MAX_DELIVERY_ATTEMPTS = 5
