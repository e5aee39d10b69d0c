"""``counterfeit``: the command line of the embedded default (DESIGN.md "CLI" contract).

Every subcommand is registered through ``common.cli_help.add_command`` (help text, examples, exit codes): the
core ones by ``register_core`` below, the others by their own module's ``register_cli(subparsers)`` listed in
``PLUGIN_MODULES``. Exit codes are defined once in ``common.cli_help.EXIT_CODES`` and printed by ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from common.cli_help import (
    EXIT_ALL_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    add_command,
    add_group,
    finish_help,
    package_version,
)
from common.cli_table import Progress, Table
from common.errors import ModelUnavailable, PermanentError
from common.settings import SettingsError, get_settings

# Subcommands owned by other modules: each exposes register_cli(subparsers).
PLUGIN_MODULES = (
    "common.evaluate",
    "common.calibrate",
    "common.review.app",
    "common.clusters.backfill",
    "common.doctor",
    "common.hashlists_cli",
    "common.enforcement.cases_cli",
    "common.authenticate.cli",
    "common.discovery.cli",
)
SCAN_EXIT_CODES = (EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED, EXIT_ALL_FAILED)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        getattr(args, "help_parser", parser).print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except (PermanentError, SettingsError, ModelUnavailable) as exc:
        print(f"counterfeit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("counterfeit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counterfeit",
        description="Counterfeit detection for brand kits, on the embedded default "
        "(state under $COUNTERFEIT_HOME, default ./.counterfeit).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {package_version()}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    register_core(sub)
    for module_name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # an optional plugin that is not installed
            if exc.name != module_name:
                raise
            continue
        module.register_cli(sub)
    finish_help(parser)
    return parser


def register_core(sub: Any) -> None:
    """``brand add``, ``brand list``, ``marketplace add`` and ``scan``."""
    brand = add_group(sub, "brand", help="manage brand kits", dest="brand_command")
    add = add_command(
        brand,
        "add",
        help="register or update a brand kit (idempotent: picks up added, changed and removed files)",
        examples=["counterfeit brand add ./acme-kit", "counterfeit brand add ./acme-kit --json"],
    )
    add.add_argument("kit_dir", type=Path, help="kit folder: brand.json, references/*, logos/*")
    add.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object: {"brand", "version", "added", "updated", "removed", "unchanged"}',
    )
    add.set_defaults(func=cmd_brand_add)
    show = add_command(
        brand,
        "list",
        help="list registered brands",
        examples=["counterfeit brand list", "counterfeit brand list --json"],
    )
    show.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per brand and line: {"brand", "display_name", "version", "updated_at", "discovery"}',
    )
    show.set_defaults(func=cmd_brand_list)

    market = add_group(sub, "marketplace", help="manage webhook senders", dest="marketplace_command")
    madd = add_command(
        market,
        "add",
        help="register a marketplace for brands (webhook access is denied by default)",
        examples=[
            "counterfeit marketplace add shopmarket --brand acme",
            "counterfeit marketplace add shopmarket --brand acme --callback-url https://shop.example/cb --json",
            "counterfeit marketplace add shopmarket --brand acme --policy flag",
        ],
    )
    madd.add_argument("marketplace_id", help="the marketplace's id, as its webhook sends it")
    madd.add_argument("--brand", action="append", required=True, help="a brand it may submit for (repeat)")
    madd.add_argument(
        "--callback-url",
        help="https URL that receives signed actions (hold_for_review, block_listing, release)",
    )
    madd.add_argument(
        "--policy",
        choices=("flag", "block_after_review", "auto_block_tier1"),
        help="when to tell it: block_after_review (default: block only once a reviewer confirms), flag (Tier 1 "
        "asks it to hold the listing for review), auto_block_tier1 (opt-in: block on a Tier-1 verdict)",
    )
    madd.add_argument(
        "--host",
        action="append",
        help="a web host of the marketplace (repeat): discovered pages there are labelled as this marketplace",
    )
    madd.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object: {"marketplace", "brands", "callback_url", "policy", "hosts"}',
    )
    madd.set_defaults(func=cmd_marketplace_add)

    scan = add_command(
        sub,
        "scan",
        help="scan candidate images or listings against a brand",
        examples=[
            "counterfeit scan --brand acme img1.jpg img2.png",
            "counterfeit scan --brand acme --listings listings.jsonl --json --evidence-dir out/",
        ],
        exit_codes=SCAN_EXIT_CODES,
        extra_exit_codes={EXIT_OK: "every item got a verdict, whatever its tier (or there were no items)"},
        description="Scan candidate images or listings against a brand. Each item gets a verdict or an error "
        "record;\nthe batch always goes on, and the exit code says whether items failed.",
    )
    scan.add_argument("--brand", required=True, help="the registered brand to scan against")
    src = scan.add_mutually_exclusive_group(required=True)
    src.add_argument("paths", nargs="*", default=[], help="candidate image files")
    src.add_argument("--listings", type=Path, help="JSON Lines file, one listing per line")
    scan.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per item and line: a verdict record, or {"listing_id", "error"}',
    )
    scan.add_argument("--evidence-dir", type=Path, help="write Tier-1 evidence bundles here")
    scan.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes, each loading the models once (default: the available cores for batches of "
        "8+ items, else 1 = in this process); records keep the input order",
    )
    scan.set_defaults(func=cmd_scan)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def cli_runtime() -> tuple[Any, Any, Any]:
    """(deps scoped to the caller, in-process bus, principal). The caller is the local operator (every brand)
    unless ``COUNTERFEIT_BRANDS`` names the brands this shell may touch (a shared machine or a POC account);
    the chain's own steps on the bus keep the service identity, the entry point is what is checked."""
    from common.authz import principal_from_env, scoped_deps
    from common.scan import local_runtime

    principal = principal_from_env()
    deps, bus = local_runtime(get_settings())
    return scoped_deps(deps, principal), bus, principal


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def cmd_brand_add(args: argparse.Namespace) -> int:
    from common.brands import register_brand

    deps, _, _ = cli_runtime()
    result = register_brand(deps, args.kit_dir)
    if args.json:
        print_json(
            {
                "brand": result.brand_id,
                "version": result.version,
                "added": result.added,
                "updated": result.updated,
                "removed": result.removed,
                "unchanged": result.unchanged,
                "mark_detector": result.mark_detector,
            }
        )
        return EXIT_OK
    print(
        f"brand {result.brand_id} registered (version {result.version}): {len(result.added)} added, "
        f"{len(result.updated)} updated, {len(result.removed)} removed, {len(result.unchanged)} unchanged"
    )
    detector = result.mark_detector
    if detector:
        how = (
            "reused (marks unchanged)"
            if result.mark_detector_reused
            else f"trained in {detector.get('train_seconds')} s"
        )
        print(
            f"mark detector {how}: {', '.join(detector.get('classes') or [])}, "
            f"threshold {detector.get('threshold')}"
        )
    return EXIT_OK


def cmd_brand_list(args: argparse.Namespace) -> int:
    deps, _, _ = cli_runtime()
    from common.discovery.optin import describe, discovery_of

    for path, doc in deps.docs.list("brands"):
        brand_id = path.split("/")[-1]
        discovery = discovery_of(doc)  # the opt-in is shown wherever the brand is (seed 004's promise)
        if args.json:
            print_json(
                {
                    "brand": brand_id,
                    "display_name": doc.get("display_name"),
                    "version": doc.get("version"),
                    "updated_at": doc.get("updated_at"),
                    "discovery": discovery.model_dump(include={"web_detection", "image_search"})
                    | {"recorded_at": doc.get("discovery_recorded_at")},
                }
            )
        else:
            print(
                f"{brand_id}\t{doc.get('display_name')}\tversion {doc.get('version')}\t{describe(discovery)}"
            )
    return EXIT_OK


def cmd_marketplace_add(args: argparse.Namespace) -> int:
    """Write ``marketplaces/{id}`` (brands it may submit for, optional callback URL). The webhook's secret is
    configuration (``WEBHOOK_SECRETS`` / Secret Manager), never stored here."""
    from common.authz import MARKETPLACES_COLLECTION, require_brand
    from common.brands import get_brand
    from common.errors import BadInput
    from common.messages import MARKETPLACE_PATTERN

    deps, _, principal = cli_runtime()
    if not re.fullmatch(MARKETPLACE_PATTERN, args.marketplace_id):
        raise BadInput(f"invalid marketplace id {args.marketplace_id[:80]!r}")
    for brand in args.brand:
        require_brand(principal, brand)  # before the lookup, as in scan
        get_brand(deps, brand)  # also refuses ids that are not brand ids
    if args.callback_url is not None and not args.callback_url.lower().startswith(("https://", "http://")):
        raise BadInput("--callback-url must be an http(s) URL")
    path = f"{MARKETPLACES_COLLECTION}/{args.marketplace_id}"
    doc = dict(deps.docs.get(path) or {})
    for brand in doc.get("brands") or []:  # its callback serves those brands too: only their owner edits it
        require_brand(principal, str(brand))
    doc["brands"] = sorted(set(doc.get("brands") or []) | set(args.brand))
    if args.callback_url is not None:
        doc["callback_url"] = args.callback_url
    if args.policy is not None:
        doc["policy"] = args.policy
    if args.host:
        doc["hosts"] = sorted(set(doc.get("hosts") or []) | {_web_host(h) for h in args.host})
    deps.docs.set(path, doc)
    if args.json:
        print_json(
            {
                "marketplace": args.marketplace_id,
                "brands": doc["brands"],
                "callback_url": doc.get("callback_url"),
                "policy": doc.get("policy") or "block_after_review",
                "hosts": doc.get("hosts") or [],
            }
        )
    else:
        print(f"marketplace {args.marketplace_id} may submit for: {', '.join(doc['brands'])}")
    return EXIT_OK


def _web_host(raw: str) -> str:
    """A ``--host`` value as stored: lower case, no ``www.``; BadInput unless it is a plain DNS name."""
    from common.errors import BadInput

    host = raw.strip().lower().rstrip(".").removeprefix("www.")
    if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}", host):
        raise BadInput(f"--host must be a host name such as shop.example.com, not {raw[:80]!r}")
    return host


def cmd_scan(args: argparse.Namespace) -> int:
    from common.authz import scoped_for_cli_brand
    from common.brands import get_brand
    from common.scan import listings_from_jsonl, listings_from_paths, local_runtime, scan_listings
    from common.scan_pool import WorkerConfig, scan_parallel, workers_for
    from common.scan_summary import ChannelTally

    settings = get_settings()
    deps, bus = local_runtime(settings)
    deps = scoped_for_cli_brand(deps, args.brand)  # before the lookup: unknown and forbidden look the same
    get_brand(deps, args.brand)
    if args.listings is not None:
        items = list(listings_from_jsonl(args.listings))
        base_dir = args.listings.resolve().parent
    else:
        items = list(listings_from_paths(args.paths))
        base_dir = None
    if args.evidence_dir is not None:
        args.evidence_dir.mkdir(parents=True, exist_ok=True)
    # Each item's permanent failure becomes its error record below; the chain's own warning line for it would
    # only interleave with the table. Restored afterwards: main() may run in a longer-lived process.
    chain_log = logging.getLogger("common.chain")
    level = chain_log.level
    chain_log.setLevel(logging.ERROR)
    total = failed = 0
    try:
        tally = ChannelTally()  # which channels did not run, summarised on stderr after the batch
        with Progress(items) as progress:
            table = None if args.json else Table(progress.write)
            if table is not None:
                table.header()
            workers = workers_for(args.workers, len(items))
            if workers > 1:
                config = WorkerConfig(settings, args.brand, evidence_dir=args.evidence_dir, base_dir=base_dir)
                scanned = scan_parallel(config, progress, workers)
            else:
                scanned = scan_listings(
                    deps, bus, args.brand, progress, evidence_dir=args.evidence_dir, base_dir=base_dir
                )
            records = tally.track(scanned)
            for record in records:
                total += 1
                failed += "error" in record
                if table is None:
                    progress.write(json.dumps(record, ensure_ascii=False, default=str))
                else:
                    table.row(record)
        if table is not None:
            table.footer()
        sys.stdout.flush()
        for line in tally.summary_lines():
            print(line, file=sys.stderr)
    finally:
        chain_log.setLevel(level)
    return scan_exit_code(total, failed)


def scan_exit_code(total: int, failed: int) -> int:
    """0 when no item failed (an empty batch included), 4 when every item failed, else 3."""
    if failed == 0:
        return EXIT_OK
    return EXIT_ALL_FAILED if failed == total else EXIT_SOME_FAILED


if __name__ == "__main__":
    sys.exit(main())
