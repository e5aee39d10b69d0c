"""``counterfeit cases …``: enforcement cases on the command line (list, show, export, set-state, notice).

Every subcommand scopes the caller to one brand first (``COUNTERFEIT_BRANDS``, common.authz), like ``hashes``:
an unknown and a forbidden brand answer the same (exit 2). Moves need ``--by NAME``: the audit trail records a
person, not a shell.

Exit codes: 0 success; 2 bad arguments, unknown or forbidden brand or case, a move the case's state forbids.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.enforcement.cases import STATES

if TYPE_CHECKING:
    from common.bootstrap import Deps


def _default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(value, sort_keys=True, default=_default))


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command, add_group

    group = add_group(subparsers, "cases", help="enforcement cases: from a confirmed item to its takedown",
                      dest="cases_command")  # fmt: skip
    ls = add_command(group, "list", help="the brand's cases, newest move first, with per-marketplace metrics",
                     examples=["counterfeit cases list --brand acme", "counterfeit cases list --brand acme "
                               "--state submitted --json"])  # fmt: skip
    ls.add_argument("--brand", required=True, help="brand id")
    ls.add_argument("--state", choices=STATES, help="only cases in this state")
    ls.add_argument("--json", action="store_true", help="one JSON object per case, then one with the metrics")
    ls.set_defaults(func=cmd_list)

    show = add_command(group, "show", help="one case with its audit trail (and whether the trail verifies)",
                       examples=["counterfeit cases show --brand acme SCAN_ID --json"])  # fmt: skip
    show.add_argument("scan_id", help="the case's scan id")
    show.add_argument("--brand", required=True, help="brand id")
    show.add_argument("--json", action="store_true", help="print the case as one JSON object")
    show.set_defaults(func=cmd_show)

    export = add_command(group, "export", help="copy a case's notice package (bundle + trail) to a directory",
                         examples=["counterfeit cases export --brand acme SCAN_ID --out notices/"])  # fmt: skip
    export.add_argument("scan_id", help="the case's scan id")
    export.add_argument("--brand", required=True, help="brand id")
    export.add_argument("--out", type=Path, required=True, help="directory to write into (created)")
    export.add_argument("--json", action="store_true", help="print a JSON summary")
    export.set_defaults(func=cmd_export)

    move = add_command(group, "set-state", help="move a case (submitted, removed, reinstated, rejected)",
                       examples=['counterfeit cases set-state --brand acme SCAN_ID submitted --by "Jane Doe"'])  # fmt: skip
    move.add_argument("scan_id", help="the case's scan id")
    move.add_argument(
        "state", choices=("submitted", "removed", "reinstated", "rejected"), help="the new state"
    )
    move.add_argument("--brand", required=True, help="brand id")
    move.add_argument("--by", required=True, help="the person making the move (recorded in the audit trail)")
    move.add_argument("--note", default="", help="why (e.g. the platform's complaint id)")
    move.add_argument("--json", action="store_true", help="print the case as one JSON object")
    move.set_defaults(func=cmd_set_state)

    notice = add_command(group, "notice", help="generate the takedown notice of an item confirmed in review",
                         examples=['counterfeit cases notice --brand acme SCAN_ID --by "Jane Doe" '
                                   "--test-buy-order 112-0000000-0000000"])  # fmt: skip
    notice.add_argument("scan_id", help="the confirmed item's scan id")
    notice.add_argument("--brand", required=True, help="brand id")
    notice.add_argument("--by", required=True, help="the person generating it (recorded in the audit trail)")
    notice.add_argument("--test-buy-order", dest="test_buy_order", help="order id of a test purchase, if any")
    notice.add_argument("--no-screenshot", action="store_true", help="do not capture the listing page")
    notice.add_argument("--json", action="store_true", help="print a JSON summary")
    notice.set_defaults(func=cmd_notice)


def _deps(brand_id: str) -> Any:
    from common.authz import scoped_for_cli_brand
    from common.bootstrap import build_deps
    from common.settings import get_settings

    return scoped_for_cli_brand(build_deps(get_settings()), brand_id)  # checked before any lookup


def _case(deps: Deps, brand: str, scan_id: str) -> dict[str, Any]:
    import re

    from common.enforcement.cases import get_case
    from common.errors import BadInput
    from common.messages import ID_PATTERN

    if not re.fullmatch(ID_PATTERN, scan_id):
        raise BadInput(f"not a scan id: {scan_id[:80]!r}")
    case = get_case(deps.docs, brand, scan_id)
    if case is None:
        raise BadInput(
            f"no enforcement case {scan_id!r} for brand {brand!r} (confirm the item in review first)"
        )
    return case


def cmd_list(args: argparse.Namespace) -> int:
    from common.brands import get_brand
    from common.enforcement.cases import list_cases, metrics

    deps = _deps(args.brand)
    get_brand(deps, args.brand)
    rows = list_cases(deps.docs, [args.brand], args.state)
    stats = metrics(list_cases(deps.docs, [args.brand]))
    if args.json:
        for row in rows:
            _print_json(row)
        _print_json({"metrics": stats})
        return 0
    for row in rows:
        print(f"{row['scan_id']}\t{row['state']}\t{row.get('marketplace') or '-'}\t{row['listing_id']}\t"
              f"{_default(row['updated_at'])}\t{row['updated_by']}")  # fmt: skip
    for market, m in stats.items():
        rate = "-" if m["removal_rate"] is None else f"{m['removal_rate']:.0%}"
        hours = "-" if m["median_hours_to_takedown"] is None else f"{m['median_hours_to_takedown']} h"
        print(f"{market}: {m['cases']} case(s), {m['removed']} removed, removal rate {rate}, "
              f"median time to takedown {hours}", file=sys.stderr)  # fmt: skip
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from common.enforcement.cases import trail, verify_trail

    deps = _deps(args.brand)
    case = _case(deps, args.brand, args.scan_id)
    events = trail(deps.docs, args.brand, args.scan_id)
    problems = verify_trail(deps.docs, args.brand, args.scan_id)
    if args.json:
        _print_json({**case, "trail": events, "trail_problems": problems})
        return 0
    print(f"case {case['scan_id']} ({case['listing_id']}, {case.get('marketplace') or 'no marketplace'}): "
          f"{case['state']}")  # fmt: skip
    for e in events:
        print(f"  {_default(e['at'])}  {e['from'] or 'opened'} -> {e['to']}  by {e['by']}"
              f"{'  — ' + e['note'] if e.get('note') else ''}")  # fmt: skip
    print("  trail verifies" if not problems else "  TRAIL PROBLEMS: " + "; ".join(problems))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from common.enforcement.cases import trail
    from common.errors import BadInput
    from common.evidence.bundle import evidence_doc_path, verify_recorded

    deps = _deps(args.brand)
    case = _case(deps, args.brand, args.scan_id)
    record = deps.docs.get(evidence_doc_path(args.brand, args.scan_id))
    if record is None or "notice" not in record:
        raise BadInput(f"case {args.scan_id} has no notice yet: `counterfeit cases notice` generates it")
    problems = verify_recorded(deps, args.brand, args.scan_id)
    if problems:
        raise BadInput("the evidence bundle does not verify: " + "; ".join(problems))
    out = args.out / args.brand / args.scan_id
    out.mkdir(parents=True, exist_ok=True)
    location = str(record["location"])
    names = [*record["files"], "manifest.json"]
    for name in names:
        if location.startswith("gs://"):
            bucket, _, prefix = location[5:].partition("/")
            data = bytes(deps.blobs.read(bucket, prefix.rstrip("/") + "/" + name))
        else:
            data = (Path(location) / name).read_bytes()
        (out / name).write_bytes(data)
    trail_doc = {"case": case, "trail": trail(deps.docs, args.brand, args.scan_id)}
    (out / "case-trail.json").write_text(json.dumps(trail_doc, indent=2, sort_keys=True, default=_default))
    summary = {"brand": args.brand, "scan_id": args.scan_id, "out": str(out), "files": sorted(names),
               "manifest_sha256": record["manifest_sha256"]}  # fmt: skip
    if args.json:
        _print_json(summary)
    else:
        print(f"exported case {args.scan_id} ({len(names)} files, manifest {record['manifest_sha256'][:16]}…) "
              f"to {out}")  # fmt: skip
    return 0


def cmd_set_state(args: argparse.Namespace) -> int:
    from common.enforcement.cases import move_case

    deps = _deps(args.brand)
    _case(deps, args.brand, args.scan_id)
    case = move_case(deps.docs, args.brand, args.scan_id, args.state, by=args.by, now=deps.clock(),
                     note=args.note)  # fmt: skip
    if args.json:
        _print_json(case)
    else:
        print(f"case {args.scan_id} is now {case['state']} (by {case['updated_by']})")
    return 0


def cmd_notice(args: argparse.Namespace) -> int:
    import re

    from common.enforcement.notice import generate_notice
    from common.errors import BadInput
    from common.messages import ID_PATTERN

    deps = _deps(args.brand)
    if not re.fullmatch(ID_PATTERN, args.scan_id):
        raise BadInput(f"not a scan id: {args.scan_id[:80]!r}")
    result = generate_notice(deps, args.brand, args.scan_id, by=args.by, test_buy_order_id=args.test_buy_order,
                             screenshot=not args.no_screenshot)  # fmt: skip
    summary = {"brand": args.brand, "scan_id": args.scan_id, "state": result.case["state"],
               "location": result.bundle.location, "files": list(result.bundle.files),
               "manifest_sha256": result.bundle.manifest_sha256,
               "claims": [c["kind"] for c in result.notice["claims"]], "gaps": result.notice["gaps"]}  # fmt: skip
    if args.json:
        _print_json(summary)
    else:
        print(
            f"notice for {args.scan_id}: {', '.join(summary['claims']) or 'no claim'}; bundle {summary['location']}"
        )
        for gap in summary["gaps"]:
            print(f"  missing: {gap}", file=sys.stderr)
    return 0
