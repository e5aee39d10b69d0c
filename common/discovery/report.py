"""The coverage report: seed 004 Step 1's "search coverage" checkpoint in numbers.

Read from what the sweeps stored (``discovered``, ``discovery_runs``) and the verdicts of the scans they started:
results per reference or query, the share of e-commerce product pages against social sites, image hosts and
content farms (``hosts``), how many became Tier 1-2, and cost per useful (Tier 1-2) candidate. Printed by
``counterfeit discover --report`` and included in ``counterfeit evaluate``'s POC report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from common import paths
from common.bootstrap import Deps
from common.discovery import hosts
from common.discovery.optin import SOURCES, discovery_of

USEFUL_TIERS = (1, 2)


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def coverage(deps: Deps, brand_id: str) -> dict[str, Any]:
    brand_doc = deps.docs.get(paths.brand(brand_id)) or {}
    kit = discovery_of(brand_doc)
    runs = [doc for _, doc in deps.docs.list(paths.discovery_runs(brand_id))]
    found = [doc for _, doc in deps.docs.list(paths.discovered(brand_id))]
    tiers: dict[str, int] = {}
    for doc in found:
        scan_id = doc.get("scan_id")
        if scan_id and scan_id not in tiers:
            verdict = deps.docs.get(paths.verdict_path(brand_id, scan_id))
            if verdict is not None:
                tiers[scan_id] = int(verdict["tier"])
    by_class = Counter(str(doc.get("host_class") or hosts.OTHER) for doc in found)
    useful_by_class = Counter(
        str(doc.get("host_class") or hosts.OTHER)
        for doc in found
        if tiers.get(str(doc.get("scan_id"))) in USEFUL_TIERS
    )
    product_pages = sum(1 for doc in found if doc.get("product_page"))
    total = len(found)
    cost = sum(float(r.get("cost_usd") or 0.0) for r in runs)
    # every scan a run started (an image that changed at a known URL has had more than one)
    scans = sorted({str(sid) for r in runs for sid in r.get("scan_ids") or []})
    for scan_id in scans:
        if (
            scan_id not in tiers
            and (verdict := deps.docs.get(paths.verdict_path(brand_id, scan_id))) is not None
        ):
            tiers[scan_id] = int(verdict["tier"])
    tier_counts = Counter(tiers[s] for s in scans if s in tiers)
    useful = sum(tier_counts[t] for t in USEFUL_TIERS)
    per_origin: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: str(r.get("run_id"))):  # the latest run's API answer wins
        for origin, about in (run.get("per_origin") or {}).items():
            per_origin.setdefault(origin, {}).update(about)
    for origin, row in per_origin.items():
        mine = [d for d in found if origin in (d.get("origins") or [])]
        row["images"] = len(mine)
        row["by_class"] = dict(Counter(str(d.get("host_class") or hosts.OTHER) for d in mine))
        row["product_pages"] = sum(1 for d in mine if d.get("product_page"))
        row["tier_1_2"] = sum(1 for d in mine if tiers.get(str(d.get("scan_id"))) in USEFUL_TIERS)
    return {
        "brand": brand_id,
        "opt_in": {name: getattr(kit, name).model_dump() for name in SOURCES}
        | {"recorded_at": brand_doc.get("discovery_recorded_at")},
        "runs": len(runs),
        "requests": sum(int(r.get("requests") or 0) for r in runs),
        "billed_units": sum(int(r.get("billed_units") or 0) for r in runs),
        "cost_usd": round(cost, 6),
        "images": total,
        "status": dict(Counter(str(d.get("status")) for d in found)),
        "by_class": {cls: by_class.get(cls, 0) for cls in hosts.CLASSES},
        "share_by_class": {cls: _share(by_class.get(cls, 0), total) for cls in hosts.CLASSES},
        "product_pages": product_pages,
        "share_product_pages": _share(product_pages, total),
        "registered_marketplace_pages": sum(1 for d in found if d.get("registered_marketplace")),
        "scans": len(scans),
        "tiers": {str(t): tier_counts.get(t, 0) for t in (1, 2, 3, 4)},
        "pending": len(scans) - sum(tier_counts.values()),  # scans still running (cloud) or failed
        "tier_1_2": useful,
        "tier_1_2_by_class": {cls: useful_by_class.get(cls, 0) for cls in hosts.CLASSES},
        "cost_per_useful_usd": round(cost / useful, 6) if useful else None,
        "per_origin": per_origin,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_text(cov: dict[str, Any]) -> list[str]:
    """The report as lines for the terminal (the JSON form is ``coverage`` itself)."""
    lines = [f"discovery coverage for {cov['brand']}"]
    for name in SOURCES:
        opt = cov["opt_in"][name]
        state = f"on, approved by {opt['approved_by']} on {opt['approved_on']}" if opt["enabled"] else "off"
        lines.append(f"  {name}: {state}")
    lines.append(
        f"  runs {cov['runs']}, requests {cov['requests']}, billed units {cov['billed_units']}, "
        f"cost ${cov['cost_usd']:.4f}"
    )
    lines.append(
        f"  images found {cov['images']} ({', '.join(f'{k} {v}' for k, v in sorted(cov['status'].items()))})"
    )
    lines.append(
        "  by host: "
        + ", ".join(
            f"{cls} {cov['by_class'][cls]} ({_pct(cov['share_by_class'][cls])})" for cls in hosts.CLASSES
        )
    )
    lines.append(
        f"  e-commerce product pages {cov['product_pages']} ({_pct(cov['share_product_pages'])}), "
        f"on registered marketplaces {cov['registered_marketplace_pages']}"
    )
    tiers = cov["tiers"]
    lines.append(
        f"  scans {cov['scans']}: tier 1 {tiers['1']}, tier 2 {tiers['2']}, tier 3 {tiers['3']}, tier 4 {tiers['4']}"
        f", pending/failed {cov['pending']}"
    )
    per_useful = cov["cost_per_useful_usd"]
    lines.append(
        f"  useful (tier 1-2) {cov['tier_1_2']}; cost per useful candidate "
        + ("-" if per_useful is None else f"${per_useful:.4f}")
    )
    for origin, row in sorted(cov["per_origin"].items()):
        classes = ", ".join(f"{k} {v}" for k, v in sorted(row.get("by_class", {}).items()))
        extra = f"; error: {row['error']}" if row.get("error") else ""
        lines.append(
            f"  {row.get('source', '?')} {origin}: {row.get('images', 0)} images ({classes or 'none'}), "
            f"product pages {row.get('product_pages', 0)}, tier 1-2 {row.get('tier_1_2', 0)}{extra}"
        )
    return lines


def render_html(cov: dict[str, Any], table: Callable[[Sequence[str], Iterable[Sequence[Any]]], str]) -> str:
    """The POC report's "Search coverage" section (``counterfeit evaluate``'s report.html), drawn with the
    report's own ``table`` helper (it escapes every cell)."""
    import html

    if not cov["runs"]:
        return (
            "<p>No discovery sweep has run for this brand. Seed 004 Step 1's checkpoint needs one: enable "
            "<code>web_detection</code> and/or <code>image_search</code> under <code>discovery</code> in brand.json, "
            "run <code>counterfeit brand add</code>, then <code>counterfeit discover --brand "
            f"{html.escape(cov['brand'])}</code> (docs/discovery.md).</p>"
        )
    per_useful = cov["cost_per_useful_usd"]
    lines = [
        f"{cov['images']} images found in {cov['runs']} run(s), {cov['requests']} API requests, "
        f"${cov['cost_usd']:.4f}.",
        f"E-commerce product pages: {cov['product_pages']} ({_pct(cov['share_product_pages'])}); on the brand's "
        f"registered marketplaces: {cov['registered_marketplace_pages']}.",
        f"Scans started: {cov['scans']}; Tier 1-2: {cov['tier_1_2']}; cost per useful (Tier 1-2) candidate: "
        + ("-" if per_useful is None else f"${per_useful:.4f}")
        + ".",
    ]
    opt = [
        [name, "on" if cov["opt_in"][name]["enabled"] else "off", cov["opt_in"][name]["approved_by"] or "",
         cov["opt_in"][name]["approved_on"] or ""]
        for name in SOURCES
    ]  # fmt: skip
    classes = [
        [cls, cov["by_class"][cls], _pct(cov["share_by_class"][cls]), cov["tier_1_2_by_class"][cls]]
        for cls in hosts.CLASSES
    ]
    origins = [
        [
            row.get("source", ""),
            origin,
            row.get("images", 0),
            ", ".join(f"{k} {v}" for k, v in sorted(row.get("by_class", {}).items())),
            row.get("product_pages", 0),
            row.get("tier_1_2", 0),
            ", ".join(str(e["description"]) for e in row.get("entities", [])[:3]),
            row.get("error", ""),
        ]
        for origin, row in sorted(cov["per_origin"].items())
    ]
    return (
        "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
        + table(["source", "enabled", "approved by", "approved on"], opt)
        + table(["host class", "images", "share", "Tier 1-2"], classes)
        + table(["source", "reference / query", "images", "by class", "product pages", "Tier 1-2",
                 "web entities", "error"], origins)
        + "<p>Host classes: docs/discovery.md \"Hosts\". If most results are social sites, image hosts or content "
        "farms rather than e-commerce product pages, seed 004 says the detection strategy needs revisiting.</p>"
    )  # fmt: skip
