"""``counterfeit hashes …``: export a brand's reference PDQ hashes for HMA / ThreatExchange, import shared lists.

Kept out of common/cli.py (registered through its PLUGIN_MODULES) so the command stays next to what it drives.
Every subcommand scopes the caller to the brand first (``COUNTERFEIT_BRANDS``, common.authz), so an import only
ever writes under the brand named and an unknown and a forbidden brand answer the same.

Exit codes: 0 success; 2 bad arguments, unknown or forbidden brand, unreadable or invalid list file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from common.hashlist_formats import EXPORT_FORMATS, FORMATS

EXPORT_DESCRIPTION = """Write the brand's reference PDQ hashes (whole frame, ThreatExchange bit order).

Where HMA / threatexchange runs, load a te file as a local_file collaboration:
  threatexchange config collab edit local_file --create --filename $PWD/acme.te acme
  threatexchange fetch && threatexchange match photo listing.jpg"""


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command, add_group

    group = add_group(
        subparsers, "hashes", help="exchange PDQ hash lists with HMA / ThreatExchange", dest="hashes_command"
    )
    export = add_command(
        group,
        "export",
        help="write the brand's reference PDQ hashes (whole frame, ThreatExchange bit order)",
        examples=[
            "counterfeit hashes export --brand acme --out acme.te",
            "counterfeit hashes export --brand acme --format hma > acme-bank.jsonl",
        ],
        description=EXPORT_DESCRIPTION,
    )
    export.add_argument("--brand", required=True, help="brand id")
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="te",
        help="te: `pdq <hex>` lines (threatexchange local_file); csv: with reference names; "
        "hma: JSON Lines bodies for HMA's POST /c/bank/{bank}/signal (default: te)",
    )
    export.add_argument("--out", type=Path, help="write here instead of stdout")
    export.add_argument(
        "--json", action="store_true", help="print a JSON summary of the written file (needs --out)"
    )
    export.set_defaults(func=cmd_export)

    imp = add_command(
        group,
        "import",
        help="import a shared list of known-counterfeit PDQ hashes into one brand",
        examples=[
            "counterfeit hashes import --brand acme bank.jsonl --source market-bank --json",
            "threatexchange hash photo fakes/*.jpg > fakes.te "
            "&& counterfeit hashes import --brand acme fakes.te --source fakes",
        ],
    )
    imp.add_argument("file", type=Path, help="the list file (te, csv, tsv or HMA JSON / JSON Lines)")
    imp.add_argument(
        "--brand", required=True, help="the brand the list belongs to (only this brand matches it)"
    )
    imp.add_argument(
        "--source",
        required=True,
        help="list name shown in verdicts; importing the same name again replaces it",
    )
    imp.add_argument(
        "--format", choices=("auto", *FORMATS), default="auto", help="file format (default: auto)"
    )
    imp.add_argument("--json", action="store_true", help="print the result as one JSON object")
    imp.set_defaults(func=cmd_import)

    show = add_command(
        group,
        "list",
        help="the brand's imported hash lists and their provenance",
        examples=["counterfeit hashes list --brand acme --json"],
    )
    show.add_argument("--brand", required=True, help="brand id")
    show.add_argument("--json", action="store_true", help="one JSON object per list")
    show.set_defaults(func=cmd_list)

    remove = add_command(
        group,
        "remove",
        help="delete an imported hash list",
        examples=["counterfeit hashes remove --brand acme --source fakes"],
    )
    remove.add_argument("--brand", required=True, help="brand id")
    remove.add_argument("--source", required=True, help="the list name given at import")
    remove.add_argument("--json", action="store_true", help="print the result as one JSON object")
    remove.set_defaults(func=cmd_remove)


def _deps(brand_id: str) -> Any:
    from common.authz import scoped_for_cli_brand
    from common.bootstrap import build_deps
    from common.settings import get_settings

    return scoped_for_cli_brand(build_deps(get_settings()), brand_id)  # checked before any lookup


def cmd_export(args: argparse.Namespace) -> int:
    from common.errors import BadInput
    from common.hashlists import export_text

    if args.json and args.out is None:
        raise BadInput("--json prints a summary of the written file: give --out FILE")
    text, count = export_text(_deps(args.brand), args.brand, args.format)
    if args.out is None:
        sys.stdout.write(text)
        print(f"{count} reference hash(es) of brand {args.brand}", file=sys.stderr)
        return 0
    args.out.write_text(text, encoding="utf-8")
    summary = {"brand": args.brand, "format": args.format, "hashes": count, "out": str(args.out)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {count} reference hash(es) of brand {args.brand} to {args.out} ({args.format})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from common.errors import BadInput
    from common.hashlists import import_list

    deps = _deps(args.brand)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise BadInput(f"{args.file}: cannot read ({exc.strerror or exc})") from None
    result = import_list(deps, args.brand, data, source=args.source, fmt=args.format, filename=args.file.name)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items())
    print(
        f"hash list {result.list_id} {'replaced' if result.replaced else 'imported'} for brand {args.brand}: "
        f"{result.entries} entries ({result.format}){f'; skipped {skipped}' if skipped else ''}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from common.brands import get_brand
    from common.hashlists import brand_lists

    deps = _deps(args.brand)
    get_brand(deps, args.brand)
    for doc in brand_lists(deps, args.brand):
        row = {
            k: doc.get(k)
            for k in ("list", "entries", "format", "filename", "sha256", "imported_at", "skipped")
        }
        if args.json:
            print(json.dumps(row, default=str))
        else:
            print(
                f"{row['list']}\t{row['entries']} entries\t{row['format']}\t{row['filename']}\t{row['imported_at']}"
            )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from common.brands import get_brand
    from common.hashlists import remove_list

    deps = _deps(args.brand)
    get_brand(deps, args.brand)
    count = remove_list(deps, args.brand, args.source)
    if args.json:
        print(json.dumps({"brand": args.brand, "source": args.source, "removed_entries": count}))
    else:
        print(f"hash list {args.source} removed from brand {args.brand} ({count} entries)")
    return 0
