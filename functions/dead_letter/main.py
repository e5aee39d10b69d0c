"""Cloud Function `dead_letter`: subscribed to every ``<topic>-dlq``; records why a message was given up on.

Pub/Sub forwards a message here after the source subscription's max delivery attempts, adding
``CloudPubSubDeadLetterSource*`` attributes. We store the reason on the scan (``status: dead_lettered``,
``dead_letter_reason``) and acknowledge: the DLQ is where poison ends, never a new retry loop.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from common.entrypoints import configure_logging, run_dead_letter

configure_logging()


@functions_framework.cloud_event
def dead_letter(event: CloudEvent) -> None:
    run_dead_letter(event)
