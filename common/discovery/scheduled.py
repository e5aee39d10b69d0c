"""The scheduled sweep (``functions/discover``): one ``discovery-requested`` message, one sweep per brand.

Cloud Scheduler publishes ``{}`` on its schedule: every brand that enabled a source is swept, one after the
other, each with its own caps. A brand whose sweep fails permanently (discovery turned off since, an unknown
brand) is logged and skipped; anything else raises, so Pub/Sub redelivers the message and the already-swept
brands find their images unchanged (no new scan, no second charge beyond the API calls themselves).
"""

from __future__ import annotations

import logging
from typing import Any

from common.bootstrap import Deps
from common.discovery.optin import discovery_of
from common.discovery.sweep import run_sweep
from common.errors import PermanentError
from common.messages import DiscoveryRequested

log = logging.getLogger(__name__)


def brands_to_sweep(deps: Deps, request: DiscoveryRequested) -> list[str]:
    if request.brand_id is not None:
        return [request.brand_id]
    return sorted(
        path.rsplit("/", 1)[-1] for path, doc in deps.docs.list("brands") if discovery_of(doc).enabled()
    )


# The discover function's timeout is 540 s (infra/locals.tf): fetching stops at 420 s so every sweep ends, and
# records its run, before the function is cut off and the message redelivered.
FUNCTION_TIME_BUDGET_S = 420.0


def sweep_scheduled(
    deps: Deps,
    request: DiscoveryRequested,
    *,
    time_budget_s: float = FUNCTION_TIME_BUDGET_S,
    **sweep_args: Any,
) -> list[dict[str, Any]]:
    """Sweep the requested brand or every opted-in brand, sharing one time budget; returns each run's summary
    (or its refusal)."""
    import time

    deadline = time.monotonic() + time_budget_s
    summaries = []
    for brand_id in brands_to_sweep(deps, request):
        try:
            result = run_sweep(
                deps,
                brand_id,
                max_candidates=request.max_candidates,
                time_budget_s=max(0.0, deadline - time.monotonic()),
                **sweep_args,
            )
        except PermanentError as exc:
            log.warning("discover: %s skipped: %s", brand_id, exc)
            summaries.append({"brand": brand_id, "skipped": str(exc)})
            continue
        summary = result.summary()
        log.info(
            "discover: %s run %s: %d requests, $%.4f, %d found, %d scanned, %d errors",
            brand_id,
            result.run_id,
            result.requests,
            result.cost_usd,
            result.found,
            len(result.scanned),
            len(result.errors),
        )
        summaries.append(summary)
    return summaries
