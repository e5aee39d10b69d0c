"""Cluster a brand's verdicts recorded before the ``cluster`` step existed (or a cluster store restored from
a backup): each verdict goes through the step's own code (``membership.cluster_scan``), oldest first, so the
latest scan of a listing ends as its member. Idempotent: a verdict whose listing's member already holds it or a
later scan is skipped, so a rerun after an interruption only does the rest. ``counterfeit clusters backfill --brand B``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import paths
from common.bootstrap import Deps
from common.clusters.membership import cluster_scan
from common.ports import NotFound, Order, cursor_after

BATCH = 200


@dataclass
class BackfillReport:
    read: int = 0
    clustered: int = 0
    already: int = 0
    no_image: int = 0  # the working copy expired (work bucket retention): nothing to fingerprint

    def line(self, brand: str) -> str:
        return (
            f"{brand}: {self.read} verdicts, {self.clustered} clustered, {self.already} already clustered, "
            f"{self.no_image} without a working copy"
        )


def backfill_clusters(deps: Deps, brand: str) -> BackfillReport:
    order = [Order("created_at"), Order("scan_id")]
    report, cursor = BackfillReport(), None
    while True:
        rows = deps.docs.query(paths.verdicts(brand), order_by=order, limit=BATCH, start_after=cursor)
        for _path, doc in rows:
            report.read += 1
            member: dict[str, Any] = (
                deps.docs.get(paths.cluster_member_path(brand, str(doc["listing_id"]))) or {}
            )
            seen = member.get("verdict_at")
            if member.get("scan_id") == doc["scan_id"] or (
                isinstance(seen, datetime) and seen >= doc["created_at"]
            ):
                report.already += 1
                continue
            try:
                cluster_scan(deps, brand, str(doc["scan_id"]))
                report.clustered += 1
            except NotFound:
                report.no_image += 1
        if len(rows) < BATCH:
            return report
        cursor = cursor_after(*rows[-1], order)


def _cmd_backfill(args: Any) -> int:
    from common.authz import scoped_for_cli_brand
    from common.bootstrap import build_deps
    from common.settings import get_settings

    deps = scoped_for_cli_brand(build_deps(get_settings()), args.brand)
    print(backfill_clusters(deps, args.brand).line(args.brand))
    return 0


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command, add_group

    sub = add_group(subparsers, "clusters", help="clusters of listings (shared photo, seller, store)",
                    dest="clusters_command")  # fmt: skip
    cmd = add_command(
        sub,
        "backfill",
        help="cluster verdicts recorded before the cluster step existed (idempotent)",
        examples=["counterfeit clusters backfill --brand acme   # then open /clusters on the review page"],
    )
    cmd.add_argument("--brand", required=True, help="the brand whose verdicts to cluster")
    cmd.set_defaults(func=_cmd_backfill)
