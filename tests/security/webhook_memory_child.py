"""Child process for ``test_webhook_limits``: one signed body through the deployed ``ingest_webhook`` function
(functions-framework test client, local adapters), printing the status and the peak-RSS growth it caused.

A fresh process per body: ``ru_maxrss`` is a process-lifetime peak, so the body is built first and the
baseline taken after, leaving only what handling the request cost.

Usage: python tests/security/webhook_memory_child.py CASE HOME_DIR
"""

from __future__ import annotations

import base64
import json
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def body_for(case: str) -> bytes:
    head = b'{"brand": "acme", "listing_id": "bomb", "image": "data:image/png;base64,AAAA", "extra": '
    if case == "oversized_30mb":  # the attack pass's body: 30 MB of nested arrays
        return head + b"[" + b"[[]]," * (30 * MB // 5) + b"[]]}"
    if case == "flat_arrays_under_cap":  # just under the 16 MiB cap: ~5.6 M empty arrays
        return head + b"[" + b"[]," * ((16 * MB - 200) // 3) + b"[]]}"
    if case == "deep_under_cap":  # 8 M levels
        return head + b"[" * (8 * MB - 100) + b"]" * (8 * MB - 100) + b"}"
    if case == "valid_10mb_inline_image":  # the largest real listing: reference for the figures
        image = base64.b64encode(os.urandom(10 * MB)).decode()
        return json.dumps(
            {"brand": "acme", "listing_id": "big", "image": "data:image/jpeg;base64," + image}
        ).encode()
    raise SystemExit(f"unknown case {case}")


def main(case: str, home: str) -> None:
    os.environ.update(COUNTERFEIT_BACKEND="local", COUNTERFEIT_HOME=home)
    sys.path.insert(0, str(ROOT))
    from tests.support import local_functions as lf
    from tests.support.webhooks import secrets_env, signed

    os.environ["WEBHOOK_SECRETS"] = secrets_env()
    lf.reset_caches()
    lf.deps().docs.set("brands/acme", {"brand": "acme", "display_name": "ACME", "version": "v1"})
    lf.deps().docs.set("marketplaces/test-market", {"brands": ["acme"]})
    client = lf.client("ingest_webhook")
    body, headers = signed(body_for(case))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = client.post("/", data=body, headers=headers)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    nonces = len(lf.deps().docs.list("webhook_nonces"))
    print(json.dumps({"case": case, "bytes": len(body), "status": response.status_code,
                      "growth_mb": round((after - before) / 1024, 1), "signature_checked": nonces > 0,
                      "error": (response.get_json() or {}).get("error")}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
