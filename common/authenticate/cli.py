"""``counterfeit authenticate`` and ``counterfeit scale-card`` (registered by ``common.cli``'s plugin list)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import BadInput


def register_cli(subparsers: Any) -> None:
    from common.cli_help import add_command

    p = add_command(
        subparsers,
        "authenticate",
        help="close-up authentication of a physical item (scale card in view): SPI, texture, stamp",
        examples=[
            "counterfeit authenticate --brand acme --model tote seam_1.jpg --region stamp=IMG_42.jpg",
            "counterfeit authenticate --brand acme --model tote seam.jpg --json --pdf report.pdf",
        ],
    )
    p.add_argument("--brand", required=True, help="brand id")
    p.add_argument("--model", required=True, help='product model as named under "models" in brand.json')
    p.add_argument(
        "photos", nargs="*", type=Path, help="close-ups named after their region (seam_1.jpg, stamp.png)"
    )
    p.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="REGION=PATH",
        help="a close-up of a named region (repeat): seam=PATH, stamp=PATH, lining=PATH, …",
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--pdf", type=Path, help="also write the report as a PDF here")
    p.set_defaults(func=cmd_authenticate)
    card = add_command(
        subparsers,
        "scale-card",
        help="write the printable ArUco scale card (PDF; print at 100 %%, actual size)",
        examples=["counterfeit scale-card --out card.pdf"],
    )
    card.add_argument("--out", type=Path, default=Path("scale-card.pdf"), help="PDF to write")
    card.set_defaults(func=cmd_scale_card)


def _region_of(path: Path) -> str:
    import re

    from common.authenticate.contract import NAMED_REGIONS

    region = re.split(r"[-_.\s]", path.name.lower(), maxsplit=1)[0]
    if region not in NAMED_REGIONS:
        raise BadInput(f"{path}: say which region it shows: --region seam={path}")
    return region


def photos_from_args(args: argparse.Namespace) -> list[Any]:
    from common.authenticate.contract import REGION_PATTERN
    from common.authenticate.service import Photo

    named: list[tuple[str, Path]] = [(_region_of(p), p) for p in args.photos]
    for spec in args.region:
        region, sep, path = spec.partition("=")
        import re

        if not sep or not re.fullmatch(REGION_PATTERN, region) or not path:
            raise BadInput(f"--region {spec[:100]!r}: expected REGION=PATH (e.g. seam=photo.jpg)")
        named.append((region, Path(path)))
    photos = []
    for region, path in named:
        try:
            photos.append(Photo(region, path.name, path.read_bytes()))
        except OSError as exc:
            raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    return photos


def cmd_authenticate(args: argparse.Namespace) -> int:
    import json

    from common.authenticate.report import render_pdf
    from common.authenticate.service import authenticate
    from common.authz import scoped_for_cli_brand
    from common.scan import local_runtime
    from common.settings import get_settings

    deps, _ = local_runtime(get_settings())
    deps = scoped_for_cli_brand(deps, args.brand)  # before any lookup, as in scan
    report = authenticate(deps, args.brand, args.model, photos_from_args(args))
    if args.pdf is not None:
        args.pdf.write_bytes(render_pdf(report, datetime.now(UTC)))
    if args.json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return 0
    print(f"{report['brand_name']} {report['model']}: {report['result'].upper()}")
    for region in report["regions"]:
        for photo in region["photos"]:
            print(
                f"  {region['region']:<10} {photo['status']:<13} {photo['photo'][:30]:<30} {photo['reason']}"
            )
    for region in report["missing_required_regions"]:
        print(f"  {region:<10} {'inconclusive':<13} {'-':<30} required region not photographed")
    if args.pdf is not None:
        print(f"report: {args.pdf}")
    print(report["note"])
    return 0


def cmd_scale_card(args: argparse.Namespace) -> int:
    from common.authenticate.card import CHECK_BAR_MM, card_pdf

    args.out.write_bytes(card_pdf())
    print(
        f"scale card: {args.out} (print at 100 % / actual size; the bar on the card must measure {CHECK_BAR_MM:g} mm)"
    )
    return 0
