"""``counterfeit discover``: a discovery sweep on the embedded default, or the coverage report (``--report``).

The sweep runs the chain in-process after each new image (the same handlers the cloud functions run), so the
report printed afterwards already has the tiers. In the cloud the same sweep runs in ``functions/discover``
on a Cloud Scheduler trigger and the scans finish in the chain's functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from common.cli_help import EXIT_OK, EXIT_SOME_FAILED


def _cmd_discover(args: argparse.Namespace) -> int:
    from common.authz import scoped_for_cli_brand
    from common.brands import get_brand
    from common.discovery.report import coverage, render_text
    from common.discovery.sweep import run_sweep
    from common.scan import local_runtime
    from common.settings import get_settings

    deps, bus = local_runtime(get_settings())
    deps = scoped_for_cli_brand(deps, args.brand)  # before the lookup: unknown and forbidden look the same
    get_brand(deps, args.brand)
    if args.report:
        cov = coverage(deps, args.brand)
        if args.json:
            print(json.dumps(cov, ensure_ascii=False, default=str))
        else:
            print("\n".join(render_text(cov)))
        return EXIT_OK
    result = run_sweep(deps, args.brand, max_candidates=args.max, drain=bus.drain)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        print(
            f"discovery run {result.run_id} for {args.brand} ({', '.join(result.sources)}): "
            f"{result.requests} requests, ${result.cost_usd:.4f}; {result.found} found, "
            f"{result.unique_images} unique images: {len(result.scanned)} scanned, {result.unchanged} unchanged, "
            f"{result.duplicate_content} duplicate content, {result.refused} refused, {result.invalid} invalid, "
            f"{result.not_fetched_max} left by --max, {result.not_fetched_time} left for lack of time"
        )
        for line in result.skipped_units:
            print(f"  skipped: {line}", file=sys.stderr)
        for line in result.errors:
            print(f"  error: {line}", file=sys.stderr)
        print(f"coverage: counterfeit discover --brand {args.brand} --report")
    return EXIT_SOME_FAILED if result.errors else EXIT_OK


def register_cli(subparsers: Any) -> None:
    from common.cli_help import EXIT_USAGE, add_command

    p = add_command(
        subparsers,
        "discover",
        help="find candidate images on the web for a brand (Web Detection, keyword image search)",
        examples=[
            "counterfeit discover --brand acme --max 50",
            "counterfeit discover --brand acme --report",
            "counterfeit discover --brand acme --report --json",
        ],
        exit_codes=(EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED),
        extra_exit_codes={EXIT_SOME_FAILED: "the sweep ran but an API call failed (see the error lines)"},
        description='Sweep the sources the brand enabled in brand.json ("discovery"; all off by default), fetch\n'
        "what they found through the SSRF-safe fetcher, and scan new images like listings.\n"
        "--report prints the coverage report instead (docs/discovery.md).",
    )
    p.add_argument("--brand", required=True, help="the registered brand to discover for")
    p.add_argument(
        "--max", type=int, help="start at most N new scans this run (the rest wait for the next run)"
    )
    p.add_argument("--report", action="store_true", help="print the coverage report; no API is called")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object (the run summary or the report)"
    )
    p.set_defaults(func=_cmd_discover)
