"""``counterfeit``: the command line of the embedded default (DESIGN.md "CLI" contract).

Exit codes: 0 success (per-item errors are records, not failures), 2 bad arguments / unknown brand /
unreadable listings file / invalid kit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from common.errors import PermanentError
from common.settings import SettingsError, get_settings

TIER_NAMES = {
    1: "Tier 1 high-confidence counterfeit",
    2: "Tier 2 watch (review)",
    3: "Tier 3 low-value similar",
    4: "Tier 4 irrelevant/pass",
}
PROGRESS_MIN_ITEMS = 5
# Subcommands owned by other modules: each exposes register_cli(subparsers).
PLUGIN_MODULES = ("common.evaluate", "common.calibrate", "common.review.app")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except (PermanentError, SettingsError) as exc:
        print(f"counterfeit: error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="counterfeit", description="Counterfeit detection for brand kits.")
    sub = parser.add_subparsers(dest="command")

    brand = sub.add_parser("brand", help="manage brand kits").add_subparsers(dest="brand_command")
    add = brand.add_parser("add", help="register or update a brand kit (idempotent)")
    add.add_argument("kit_dir", type=Path)
    add.set_defaults(func=cmd_brand_add)
    show = brand.add_parser("list", help="list registered brands")
    show.set_defaults(func=cmd_brand_list)

    market = sub.add_parser("marketplace", help="manage webhook senders").add_subparsers(
        dest="marketplace_command"
    )
    madd = market.add_parser(
        "add", help="register a marketplace for brands (webhook access is denied by default)"
    )
    madd.add_argument("marketplace_id")
    madd.add_argument("--brand", action="append", required=True, help="a brand it may submit for (repeat)")
    madd.add_argument(
        "--callback-url", help="https URL that receives signed block-listing actions for Tier 1"
    )
    madd.set_defaults(func=cmd_marketplace_add)

    scan = sub.add_parser("scan", help="scan candidate images or listings against a brand")
    scan.add_argument("--brand", required=True)
    src = scan.add_mutually_exclusive_group(required=True)
    src.add_argument("paths", nargs="*", default=[], help="candidate image files")
    src.add_argument("--listings", type=Path, help="JSON Lines file, one listing per line")
    scan.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    scan.add_argument("--evidence-dir", type=Path, help="write Tier-1 evidence bundles here")
    scan.set_defaults(func=cmd_scan)

    for module_name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # an optional plugin that is not installed
            if exc.name != module_name:
                raise
            continue
        module.register_cli(sub)
    return parser


def cli_runtime() -> tuple[Any, Any, Any]:
    """(deps scoped to the caller, in-process bus, principal). The caller is the local operator (every brand)
    unless ``COUNTERFEIT_BRANDS`` names the brands this shell may touch (a shared machine or a POC account);
    the chain's own steps on the bus keep the service identity, the entry point is what is checked."""
    from common.authz import principal_from_env, scoped_deps
    from common.scan import local_runtime

    principal = principal_from_env()
    deps, bus = local_runtime(get_settings())
    return scoped_deps(deps, principal), bus, principal


def cmd_brand_add(args: argparse.Namespace) -> int:
    from common.brands import register_brand

    deps, _, _ = cli_runtime()
    result = register_brand(deps, args.kit_dir)
    print(
        f"brand {result.brand_id} registered (version {result.version}): {len(result.added)} added, "
        f"{len(result.updated)} updated, {len(result.removed)} removed, {len(result.unchanged)} unchanged"
    )
    return 0


def cmd_brand_list(args: argparse.Namespace) -> int:
    deps, _, _ = cli_runtime()
    for path, doc in deps.docs.list("brands"):
        print(f"{path.split('/')[-1]}\t{doc.get('display_name')}\tversion {doc.get('version')}")
    return 0


def cmd_marketplace_add(args: argparse.Namespace) -> int:
    """Write ``marketplaces/{id}`` (brands it may submit for, optional callback URL). The webhook's secret is
    configuration (``WEBHOOK_SECRETS`` / Secret Manager), never stored here."""
    from common.authz import MARKETPLACES_COLLECTION, require_brand
    from common.brands import get_brand
    from common.errors import BadInput

    deps, _, principal = cli_runtime()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", args.marketplace_id):
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
    deps.docs.set(path, doc)
    print(f"marketplace {args.marketplace_id} may submit for: {', '.join(doc['brands'])}")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from common.authz import scoped_for_cli_brand
    from common.brands import get_brand
    from common.scan import listings_from_jsonl, listings_from_paths, local_runtime, scan_listings

    deps, bus = local_runtime(get_settings())
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
    try:
        records = scan_listings(
            deps, bus, args.brand, _progress(items), evidence_dir=args.evidence_dir, base_dir=base_dir
        )
        if args.json:
            for record in records:
                sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                sys.stdout.flush()
        else:
            print_table(records)
    finally:
        chain_log.setLevel(level)
    return 0


def _progress(items: list[Any]) -> Iterable[Any]:
    if len(items) >= PROGRESS_MIN_ITEMS and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(items, desc="scanning", unit="img", file=sys.stderr)
    return items


def print_table(records: Iterator[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    print(f"{'listing':<28} {'tier':<6} {'score':<6} {'rule':<34} reason")
    print("-" * 120)
    for rec in records:
        if "error" in rec:
            counts["error"] = counts.get("error", 0) + 1
            print(f"{rec['listing_id'][:28]:<28} {'ERR':<6} {'-':<6} {'-':<34} {rec['error'][:80]}")
            continue
        counts[str(rec["tier"])] = counts.get(str(rec["tier"]), 0) + 1
        reason = rec["reasons"][0] if rec["reasons"] else ""
        exempt = f" [{', '.join(rec['exemptions'])}]" if rec["exemptions"] else ""
        print(
            f"{rec['listing_id'][:28]:<28} {rec['tier']:<6} {rec['score']:<6.2f} {rec['rule'][:34]:<34} "
            f"{reason[:90]}{exempt}"
        )
        if rec.get("evidence"):
            print(f"{'':<28} evidence: {rec['evidence']}")
    print("-" * 120)
    summary = ", ".join(
        f"{TIER_NAMES.get(int(k), k) if k.isdigit() else k}: {v}" for k, v in sorted(counts.items())
    )
    print(summary or "no items")


if __name__ == "__main__":
    sys.exit(main())
