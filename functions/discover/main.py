"""Cloud Function `discover`: the scheduled discovery sweep (Cloud Scheduler -> ``discovery-requested``).

Each opted-in brand is swept (docs/discovery.md); new images start scans on ``scan-requested`` like webhook
listings, and the chain's functions finish them.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from common.entrypoints import configure_logging, run_discover

configure_logging()


@functions_framework.cloud_event
def discover(event: CloudEvent) -> None:
    run_discover(event)
