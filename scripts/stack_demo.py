"""The README demo on the emulator stack: the same demo brand and candidates as ``scripts/demo.sh``, but every
candidate goes through the cloud chain (storage emulator finalize -> ingest_gcs -> Pub/Sub push -> functions ->
Firestore emulator) and two listings come in through the signed webhook.

    .venv/bin/python scripts/stack_demo.py            # starts its own stack on free ports, stops it after
    .venv/bin/python scripts/stack_demo.py --keep     # keep the stack's logs

Prints one line per verdict as it appears in the Firestore emulator, then the tier table. Exit code 1 when a
candidate got no verdict (or more than one) within the time limit.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import local_stack  # noqa: E402
import make_demo  # noqa: E402

MARKETPLACE = "demo-market"
WEBHOOK_LISTINGS = ("s7-text", "s19-authorized")  # sent through the signed webhook instead of the bucket
TIMEOUT_S = 600
POLL_S = 0.5


def run(stack: Any, work: Path) -> int:
    import requests

    from common.bootstrap import build_deps
    from common.brands import register_brand
    from common.settings import Settings
    from common.signing import SIGNATURE_HEADER, sign_header
    from common.webhook import MARKETPLACE_HEADER

    settings = Settings.from_env(os.environ)
    deps = build_deps(settings)
    demo = make_demo.build(work / "demo")
    result = register_brand(deps, demo["kit"])
    brand = result.brand_id
    deps.docs.set(f"marketplaces/{MARKETPLACE}", {"brands": [brand]})
    print(f"brand {brand} registered in the Firestore emulator ({len(result.added)} reference files)")

    listings = [json.loads(line) for line in demo["listings"].read_text().splitlines() if line.strip()]
    secret = local_stack.DEMO_WEBHOOK_SECRETS[MARKETPLACE][0]
    expected: set[str] = set()
    for listing in listings:
        image = (demo["listings"].parent / listing["image"]).read_bytes()
        if listing["listing_id"] in WEBHOOK_LISTINGS:
            body = dict(listing, brand=brand)
            body["image"] = "data:image/jpeg;base64," + base64.b64encode(image).decode()
            raw = json.dumps(body).encode()
            headers = {
                "Content-Type": "application/json",
                MARKETPLACE_HEADER: MARKETPLACE,
                SIGNATURE_HEADER: sign_header(secret, raw, int(time.time())),
            }
            answer = requests.post(stack.url("ingest_webhook"), data=raw, headers=headers, timeout=60)
            print(f"webhook  {listing['listing_id']:<22} -> HTTP {answer.status_code} {answer.json()}")
        else:
            metadata = {
                k: str(v)
                for k, v in listing.items()
                if k != "image" and v is not None and not isinstance(v, dict)
            }
            # one object per listing: two listings may share a photo (s18-used / s18-voided), and an overwrite
            # makes the first finalize event stale (dropped, as it should be)
            name = f"{brand}/demo/{listing['listing_id']}{Path(listing['image']).suffix}"
            deps.blobs.write(settings.candidates_bucket, name, image, "image/jpeg", metadata=metadata)
            print(f"upload   {listing['listing_id']:<22} -> gs://{settings.candidates_bucket}/{name}")
        expected.add(listing["listing_id"])

    seen: dict[str, list[dict[str, Any]]] = {}
    failed: dict[str, str] = {}
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and len(set(seen) | set(failed)) < len(expected):
        for _, doc in deps.docs.list(f"brands/{brand}/verdicts"):
            rows = seen.setdefault(doc["listing_id"], [])
            if not any(r["scan_id"] == doc["scan_id"] for r in rows):
                rows.append(doc)
                print(
                    f"verdict  {doc['listing_id']:<22} tier {doc['tier']} score {doc['score']:.2f} ({doc['rule']})"
                )
        for _, scan in deps.docs.list(f"brands/{brand}/scans"):
            lid = scan["listing"]["listing_id"]
            if scan.get("status") in ("failed", "dead_lettered") and lid not in failed:
                failed[lid] = str(scan.get("error") or scan.get("dead_letter_reason"))
                print(f"error    {lid:<22} {failed[lid][:90]}")
        time.sleep(POLL_S)

    print()
    print(f"{'listing':<24} {'tier':<5} {'score':<6} {'rule':<38} first reason")
    for listing_id in sorted(expected):
        if listing_id in failed:
            print(f"{listing_id:<24} {'ERR':<5} {'-':<6} {'-':<38} {failed[listing_id][:70]}")
        elif listing_id in seen:
            v = seen[listing_id][0]
            reason = v["reasons"][0] if v.get("reasons") else ""
            print(f"{listing_id:<24} {v['tier']:<5} {v['score']:<6.2f} {v['rule'][:38]:<38} {reason[:70]}")
        else:
            print(f"{listing_id:<24} MISSING")
    missing = expected - set(seen) - set(failed)
    duplicated = [k for k, v in seen.items() if len(v) > 1]
    print(
        f"\n{len(seen)} verdicts, {len(failed)} errors, {len(missing)} missing, {len(duplicated)} duplicated"
    )
    return 0 if not missing and not duplicated else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs directory")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the stack's process groups
    work = Path(tempfile.mkdtemp(prefix="counterfeit-stack-demo-"))
    stack = local_stack.Stack(local_stack.StackConfig(home=work / "stack", fixed_ports=False))
    print(
        "starting the emulator stack (Firestore, Pub/Sub, storage, model endpoint, 9 functions)...",
        flush=True,
    )
    stack.start()
    try:
        os.environ.update(stack.client_env())
        code = run(stack, work)
    finally:
        stack.stop()
        if args.keep:
            print(f"logs kept in {stack.logs}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
